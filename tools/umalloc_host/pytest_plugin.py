"""pytest plugin (entry point `umalloc`): test MicroPython code on a board over serial.

Options: --port PORT (or env UMALLOC_PORT), --qemu IMAGE (or env UMALLOC_QEMU_IMAGE),
--board NAME, --baud N, --no-deploy, --board-timeout SECONDS.  Without --port a
virtual board is started for the session — only if some test asks for the `board`
or `umalloc_board` fixture: the MicroPython unix port behind a pty (see
umalloc_host.vboard), or with --qemu a bare-metal MicroPython image in QEMU (see
umalloc_host.qemuboard; build one with `make -C firmware qemu`).

Fixtures:
  board          a connected umalloc_host.board.Board (raw REPL), shared by the session
  umalloc_board  the same, with lib/umalloc deployed once per session and the
                 board soft-reset before each test (fresh heap, no arena left over:
                 an arena a boot.py reserved at reset is released again)
Markers:
  board          the test needs a device (added automatically to tests using the fixtures)
  hardware       only meaningful on real silicon: skipped on the virtual board
Code that raises on the device raises Board's DeviceError (the MicroPython
traceback is its message); code still running after --board-timeout raises
BoardTimeout, and the board is interrupted and reset for the next test.
"""

import os
import time

import pytest

from . import unixport
from .errors import UserError

BOARD_FIXTURES = ("board", "umalloc_board")
DEFAULT_TIMEOUT = 10.0


def pytest_addoption(parser):
    group = parser.getgroup("umalloc", "MicroPython board over serial (umalloc plugin)")
    group.addoption("--port", default=os.environ.get("UMALLOC_PORT"), metavar="PORT",
                    help="serial port of a MicroPython board, e.g. /dev/ttyACM0 (env UMALLOC_PORT); "
                    "default: start a virtual board (MicroPython unix port on a pty)")
    group.addoption("--qemu", dest="umalloc_qemu", metavar="IMAGE",
                    default=os.environ.get("UMALLOC_QEMU_IMAGE"),
                    help="instead of the unix-port virtual board, run this MicroPython firmware.elf "
                    "in qemu-system-arm (env UMALLOC_QEMU_IMAGE; `make -C firmware qemu` builds one)")
    group.addoption("--board", dest="umalloc_board_name", default=None, metavar="NAME",
                    help="board profile used to deploy umalloc (pico, esp32, qemu, unix); default: "
                    "detected, or 'unix' / 'qemu' for the virtual boards")
    group.addoption("--baud", type=int, default=115200, help="serial speed (default 115200)")
    group.addoption("--no-deploy", action="store_true",
                    help="use the umalloc already on the board instead of copying lib/umalloc")
    group.addoption("--board-timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                    help="longest one device call may run before it is interrupted "
                    "(default %.0f)" % DEFAULT_TIMEOUT)


def pytest_configure(config):
    config.addinivalue_line("markers", "board: the test needs a MicroPython device (real or virtual)")
    config.addinivalue_line("markers", "hardware: only meaningful on real silicon; "
                            "skipped on the virtual board")
    taken = _value_read_as_a_test_path(config)
    if taken:
        option, value = taken
        raise pytest.UsageError(
            "pytest read %s's value %s as a test path (it looks for its rootdir before it knows "
            "this plugin's options), so its rootdir became %s and a pytest.ini or pyproject.toml "
            "of your project goes unread: write %s=%s%s"
            % (option, value, config.rootpath, option, value,
               ", or set UMALLOC_PORT" if option == "--port" else ""))
    port = config.getoption("port")
    if port and "://" not in port and not os.path.exists(port):
        raise pytest.UsageError("--port %s does not exist: list boards with `umalloc devices`, "
                                "or leave out --port to use the virtual board" % port)
    if port and config.getoption("umalloc_qemu"):
        raise pytest.UsageError("give --port or --qemu, not both")
    if config.getoption("board_timeout") <= 0:
        raise pytest.UsageError("--board-timeout must be a positive number of seconds")


def _value_read_as_a_test_path(config):
    """(option, value) when `--port /dev/ttyACM0` (two words) made pytest look for its rootdir
    and ini file from the value (/dev) instead of from the folder it runs in."""
    here = config.invocation_params.dir
    ini = config.inipath
    if config.getoption("rootdir", None) or (ini is not None and (ini.parent == here or
                                                                   ini.parent in here.parents)):
        return None          # the project's own ini was found: the value did no harm
    args = [str(a) for a in config.invocation_params.args]
    for i, word in enumerate(args[:-1]):
        if word in ("--port", "--qemu") and os.path.exists(args[i + 1]):
            value = (here / args[i + 1]).resolve()
            if value == config.rootpath or config.rootpath in value.parents:
                return word, args[i + 1]
    return None


# sys.platform of MicroPython's unix port (the virtual board) and of its QEMU port
VIRTUAL_PLATFORMS = unixport.PLATFORMS + ("qemu",)


def _uses_board(item):
    return any(name in BOARD_FIXTURES for name in getattr(item, "fixturenames", ()))


@pytest.hookimpl(tryfirst=True)     # before -m selection, so -m "not board" sees the marker
def pytest_collection_modifyitems(session, config, items):
    wanted = [item for item in items if _uses_board(item)]
    for item in wanted:
        item.add_marker(pytest.mark.board)
    port = config.getoption("port")
    reason = None
    if not port:
        reason = "needs real silicon: running on the virtual board (pass --port to use a board)"
    elif wanted or any(item.get_closest_marker("hardware") for item in items):
        # One clear error before any test runs, not the same one per test; and what the port
        # leads to: a virtual board (the unix port, or QEMU) behind a --port is no silicon either
        from .board import Board
        try:
            board = Board(port, baud=config.getoption("baud"), timeout=config.getoption("board_timeout"))
            try:
                platform = board.eval("__import__('sys').platform")
            finally:
                board.close()
        except UserError as exc:
            raise pytest.UsageError(str(exc)) from None
        if platform in VIRTUAL_PLATFORMS:
            reason = "needs real silicon: %s is a virtual board (sys.platform %r)" % (port, platform)
    if reason:
        for item in items:
            if item.get_closest_marker("hardware"):
                item.add_marker(pytest.mark.skip(reason=reason))


class _Session:
    """What the board fixtures share over a session: the port, the open Board, deploy state."""

    def __init__(self, config):
        self.config = config
        self.port = config.getoption("port")
        self.virtual = None
        self.board = None
        self.deployed = False

    def start(self):
        if not self.port and self.config.getoption("umalloc_qemu"):
            from .qemuboard import QemuBoard
            self.virtual = QemuBoard(self.config.getoption("umalloc_qemu")).start()
            self.port = self.virtual.port
        elif not self.port:
            from .vboard import VirtualBoard
            self.virtual = VirtualBoard().start()
            self.port = self.virtual.port
        self.open()

    @property
    def default_board_name(self):
        if self.virtual is None:
            return None                      # a real board: deploy detects it
        return "qemu" if self.config.getoption("umalloc_qemu") else "unix"

    def open(self):
        from .board import Board
        self.board = Board(self.port, baud=self.config.getoption("baud"),
                           timeout=self.config.getoption("board_timeout"))

    def close_board(self):
        if self.board is not None:
            self.board.close()
            self.board = None

    def stop(self):
        self.close_board()
        if self.virtual is not None:
            self.virtual.stop()
            self.virtual = None

    def deploy(self):
        """lib/umalloc onto the board, once, as .mpy for its arch (umalloc_host.deploy)."""
        if self.deployed or self.config.getoption("no_deploy"):
            return
        from . import deploy
        started = time.monotonic()
        name = self.config.getoption("umalloc_board_name") or self.default_board_name
        self.close_board()    # deploy opens the port itself
        try:
            deploy.deploy(self.port, board=name, mode="mpy", progress=None,
                          baud=self.config.getoption("baud"))
        finally:
            self.open()
        self.deployed = True
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter:
            reporter.write_line("umalloc: deployed lib/umalloc to %s in %.1f s"
                                % (self.port, time.monotonic() - started))


@pytest.fixture(scope="session")
def _umalloc_session(request):
    state = _Session(request.config)
    try:
        state.start()
    except UserError as exc:
        state.stop()
        pytest.exit("umalloc: %s" % exc, returncode=2)
    yield state
    state.stop()


@pytest.fixture
def board(_umalloc_session):
    """A connected Board (raw REPL) on --port or on the session's virtual board."""
    if _umalloc_session.board is None:
        _umalloc_session.open()
    return _umalloc_session.board


def reset_fresh(board):
    """Soft reset to the heap a board has without an app, then `import umalloc`.

    A soft reset runs boot.py, and `deploy --app`'s boot.py reserves the default
    arena (64 KB of a 192 KB heap) for the board's program.  Tests want the heap
    without it: /umalloc_skipboot tells firmware/boot.py to skip one boot (boot.py
    deletes it); an arena that another boot.py made is released.
    """
    board.skip_app_boot()
    board.reset()
    board.exec("import sys, umalloc\napi = sys.modules.get('umalloc._api')\n"   # init() loads it
               "if api is not None:\n api._default = None\nimport gc\ngc.collect()")


@pytest.fixture
def umalloc_board(_umalloc_session):
    """A Board with umalloc deployed, soft-reset before the test: fresh heap, umalloc importable."""
    state = _umalloc_session
    if state.board is None:
        state.open()
    state.deploy()
    from .board import DeviceError
    try:
        reset_fresh(state.board)
    except DeviceError as exc:
        if "ImportError" in exc.exception_line and state.config.getoption("no_deploy"):
            pytest.fail("umalloc is not installed on %s and --no-deploy was given: run "
                        "`umalloc deploy --port %s` or drop --no-deploy" % (state.port, state.port),
                        pytrace=False)
        raise
    return state.board
