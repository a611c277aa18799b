"""A rich progress bar on stderr for long host-side runs (quiet when stderr is not a terminal)."""

import contextlib
import sys


@contextlib.contextmanager
def steps(what, total):
    """Yields advance(); the bar disappears when done so printed tables stay clean."""
    if not sys.stderr.isatty():
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}"),
                  TimeElapsedColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(what, total=total)
        yield lambda: bar.advance(task)
