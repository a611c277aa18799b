"""The monitor's two faces: a live rich screen on a terminal, compact lines elsewhere."""

import time

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

SPARK = "▁▂▃▄▅▆▇█"
# Memory-map cell styles, by the characters of Arena.map().
CELL_STYLE = {"#": ("█", "grey50"), "P": ("█", "magenta"), "p": ("▒", "magenta"),
              "U": ("█", "red"), ".": ("░", "green"), " ": (" ", "")}
CELL_NAMES = (("#", "metadata"), ("P", "partition used"), ("p", "partition free"),
              ("U", "heap used"), (".", "heap free"))


def sparkline(values, width=60):
    vals = list(values)[-width:]
    return "".join(SPARK[min(len(SPARK) - 1, int(max(0.0, v) * len(SPARK)))] for v in vals)


def bar(fraction, width=24, style="cyan"):
    fraction = min(1.0, max(0.0, fraction))
    full = int(round(fraction * width))
    return Text("█" * full, style=style) + Text("░" * (width - full), style="grey30")


def map_strip(cells, scale=1):
    """The map as coloured blocks, each cell `scale` characters wide."""
    t = Text()
    for c in cells:
        ch, style = CELL_STYLE.get(c, ("?", "yellow"))
        t.append(ch * scale, style=style)
    return t


def compact_line(f):
    """One line per frame for logs and pipes (what the view shows without a TTY)."""
    parts = " ".join("%d:%d/%d" % (q["block_size"], q["nused"], q["nblks"])
                     for q in f["partitions"])
    return ("#%d free=%d largest=%d frag=%.2f min_ever=%d fail=%d(frag %d) live=%d parts[%s] |%s|"
            % (f["seq"], f["free"], f["largest_free"], f["frag"], f["min_ever_free"],
               f["fail"], f["fail_fragmented"], f["live_blocks"], parts, f["map"]))


class PlainView:
    """Without a terminal: frames as compact lines, user output as it came."""

    def __init__(self, state, title="", out=None):
        self.state = state
        self.title = title
        self.out = out or (lambda s: print(s, flush=True))

    def __enter__(self):
        if self.title:
            self.out("== umalloc monitor: %s" % self.title)
        return self

    def __exit__(self, *exc):
        s = self.state
        self.out("== %d frames, %d damaged, %d lost, %d text lines"
                 % (s.frames, s.bad, s.lost, s.text))
        return False

    def frame(self, f):
        self.out(compact_line(f))

    def text(self, line):
        self.out(line)

    def bad(self, reason):
        self.out("!! damaged frame skipped (%s)" % reason)

    def status(self, msg):
        self.out("-- %s" % msg)


class RichView:
    """The live screen: figures, partition bars, memory map, frag sparkline, user output."""

    def __init__(self, state, title="", console=None, fps=8):
        self.state = state
        self.title = title
        self.console = console or Console()
        self.min_gap = 1.0 / fps
        self._shown = 0.0
        self._live = Live(console=self.console, auto_refresh=False, transient=False,
                          redirect_stdout=False, redirect_stderr=False)

    def __enter__(self):
        self._live.__enter__()
        self._refresh(force=True)
        return self

    def __exit__(self, *exc):
        self._refresh(force=True)
        return self._live.__exit__(*exc)

    def frame(self, f):
        self._refresh()

    def text(self, line):
        self._refresh()

    def bad(self, reason):
        self._refresh()

    def status(self, msg):
        self._refresh(force=True)

    def _refresh(self, force=False):
        now = time.monotonic()
        if force or now - self._shown >= self.min_gap:
            self._shown = now
            self._live.update(self.render(), refresh=True)

    def render(self):
        s = self.state
        f = s.last
        head = Text.assemble(
            ("umalloc monitor ", "bold"), (self.title + "  " if self.title else ""),
            (s.status, "bold red" if "disconnected" in s.status else "green"),
            "   frames %d  damaged %d  lost %d  resets %d" % (s.frames, s.bad, s.lost, s.restarts))
        if f is None:
            body = Text("no frames yet: call umalloc.report() or start a umalloc.Reporter "
                        "on the device", style="yellow")
            return Group(head, body, self._output_panel())
        heap = Table.grid(padding=(0, 1))
        heap.add_column(justify="right", style="bold")
        heap.add_column()
        hs = f["heap_size"] or 1
        heap.add_row("free", Text.assemble(bar(f["free"] / hs, style="green"),
                                           " %d of %d B" % (f["free"], f["heap_size"])))
        heap.add_row("largest free", Text.assemble(
            bar(f["largest_free"] / hs, style="cyan"), " %d B" % f["largest_free"]))
        heap.add_row("frag", Text.assemble(
            ("%.3f  " % f["frag"], "bold red" if f["frag"] > 0.5 else "bold"),
            (sparkline(s.frag_history), "yellow"), "  (max %.2f)" % s.max_frag))
        heap.add_row("min ever free", "%d B   free fragments %d   live blocks %d"
                     % (f["min_ever_free"], f["free_fragments"], f["live_blocks"]))
        heap.add_row("failed", Text("%d requests, %d of them fragmented"
                                    % (f["fail"], f["fail_fragmented"]),
                                    style="bold red" if f["fail"] else ""))
        parts = Table(box=None, padding=(0, 1), show_edge=False)
        for col in ("block", "used", "", "min free", "fail"):
            parts.add_column(col, justify="right" if col != "" else "left")
        for q in f["partitions"]:
            parts.add_row("%d B" % q["block_size"], "%d/%d" % (q["nused"], q["nblks"]),
                          bar(q["nused"] / (q["nblks"] or 1), width=20, style="magenta"),
                          str(q["min_free"]), Text(str(q["fail"]), "bold red" if q["fail"] else ""))
        legend = Text("  ").join(map_strip(c) + Text(" " + n) for c, n in CELL_NAMES)
        scale = max(1, (self.console.width - 4) // max(1, len(f["map"])))
        strip = Group(map_strip(f["map"], scale), legend)
        return Group(
            head,
            Panel(heap, title="heap  (seq %d, device %.1f s)" % (f["seq"], f["ms"] / 1000),
                  title_align="left"),
            Panel(parts, title="partitions", title_align="left"),
            Panel(strip, title="memory map, %d B arena" % f["arena_size"], title_align="left"),
            self._output_panel())

    def _output_panel(self, rows=8):
        lines = list(self.state.output)[-rows:]
        return Panel(Text("\n".join(lines) if lines else "(no output)", overflow="ellipsis",
                          no_wrap=True), title="device output", title_align="left")


def make_view(state, title="", plain=None, console=None):
    """RichView on a terminal, PlainView otherwise (or when plain=True)."""
    given = console is not None
    console = console or Console()
    if plain is None:
        plain = not console.is_terminal
    if not plain:
        return RichView(state, title, console=console)
    if given:
        return PlainView(state, title, out=lambda s: console.print(
            s, markup=False, highlight=False, soft_wrap=True))
    return PlainView(state, title)
