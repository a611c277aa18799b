"""`umalloc devices`: serial ports, matched against the boards' USB ids."""

from .. import profiles


def register(subparsers):
    p = subparsers.add_parser(
        "devices", help="list serial ports and which board profile each one looks like",
        description="List serial ports (pyserial list_ports) and match their USB VID:PID "
                    "against boards/*.json.  Use the port with --port.")
    p.add_argument("--all", action="store_true", help="also list ports with no USB id")
    p.set_defaults(func=run)


def match(ports, profs):
    """[(port, board name or None)] for ports with a USB id (or all ports)."""
    by_id = {}
    for prof in profs:
        for vid_pid in profiles.usb_ids(prof):
            by_id.setdefault(vid_pid, []).append(prof["name"])
    out = []
    for port in ports:
        names = by_id.get((port.vid, port.pid), []) if port.vid is not None else []
        out.append((port, "/".join(names) or None))
    return out


def running_vboard():
    """The pty of a running `umalloc vboard`, or None."""
    from ..serialsource import vboard_port
    return vboard_port()


def run(args):
    from serial.tools import list_ports
    ports = sorted(list_ports.comports(), key=lambda p: p.device)
    if not args.all:
        ports = [p for p in ports if p.vid is not None]
    rows = match(ports, profiles.all_profiles())
    virtual = running_vboard()
    if virtual:
        print("%-16s %s  %-10s %s" % (virtual, "virtual  ", "unix", "`umalloc vboard` (running)"))
    if not rows:
        print("no USB serial ports found.  Plug a board in (a data cable, not charge-only), "
              "or use the virtual board: `umalloc vboard` / `umalloc demo`.")
        return 0
    for port, board in rows:
        ids = "%04X:%04X" % (port.vid, port.pid) if port.vid is not None else "----:----"
        print("%-16s %s  %-10s %s" % (port.device, ids, board or "?",
                                       port.description or ""))
    known = [b for _, b in rows if b]
    if known:
        port, board = next(r for r in rows if r[1])
        print("next: umalloc deploy --port %s --board %s" % (port.device, board.split("/")[0]))
    return 0
