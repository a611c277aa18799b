# Runs README examples on CPython or MicroPython and prints what a REPL would show.
# usage: python|micropython _readme_runner.py EXAMPLES_FILE
# EXAMPLES_FILE: one source line per example ("S <line>"), or "B <path>" to exec a boot file.
# Before each example's output a line "\x1e<n>" marks where it starts.
import sys


def show(value):
    if value is not None:
        print(repr(value))


def run(src, g):
    """Like the REPL: the value of the last expression statement is printed."""
    try:
        show(eval(src, g))
        return
    except SyntaxError:
        pass
    parts = src.split("; ")
    if len(parts) > 1:
        exec("\n".join(parts[:-1]), g)
    try:
        show(eval(parts[-1], g))
    except SyntaxError:
        exec(parts[-1], g)


g = {"__name__": "__main__"}
n = 0
with open(sys.argv[1]) as f:
    lines = f.read().split("\n")
for line in lines:
    kind, _, src = line.partition(" ")
    if kind == "B":
        exec(open(src).read(), {"__name__": "__main__"})
    elif kind == "S":
        print("\x1e%d" % n)
        n += 1
        try:
            run(src, g)
        except Exception as e:
            print("Traceback (most recent call last):\n  ...\n%s: %s" % (type(e).__name__, e))
