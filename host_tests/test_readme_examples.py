"""Every `>>>` example in README.md runs, on CPython and on the MicroPython unix port,
and prints exactly what the README shows (so the README cannot go stale).

A block preceded by `<!-- examples: boot BOARD -->` runs after firmware/boot.py has
reserved BOARD's arena (from its profile), as on that board after a reset.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from umalloc_host import FIRMWARE_DIR, LIB_DIR, REPO_ROOT, profiles, unixport

README = REPO_ROOT / "README.md"
RUNNER = Path(__file__).with_name("_readme_runner.py")


def blocks():
    """[(line number, board or None, [(source, expected output)])] for each block with >>>."""
    out = []
    lines = README.read_text().splitlines()
    board = None
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        m = re.match(r"<!-- examples: boot (\w+) -->", line)
        if m:
            board = m.group(1)
        if line.startswith("```python"):
            start, examples = i + 1, []
            i += 1
            indent = len(lines[i - 1]) - len(lines[i - 1].lstrip())   # a block inside a list item
            while not lines[i].strip().startswith("```"):
                text = lines[i][indent:].rstrip()
                if text.startswith(">>> "):
                    examples.append([text[4:], []])
                elif examples and text:
                    examples[-1][1].append(text)
                i += 1
            if examples:
                out.append((start, board, [(s, "\n".join(e)) for s, e in examples]))
            board = None
        i += 1
    return out


def _strip_comment(src):
    # `# ...` after code explains it to the reader; strings in the examples hold no '#'
    return src.split("  #")[0].rstrip() if "  #" in src else src


def _run(vm, block, tmp_path):
    _, board, examples = block
    spec = []
    path = [str(tmp_path)]
    if board:
        (tmp_path / "umalloc_board.py").write_text(profiles.config_module(profiles.load(board)))
        spec.append("B " + str(FIRMWARE_DIR / "boot.py"))
    spec += ["S " + _strip_comment(src) for src, _ in examples]
    (tmp_path / "examples.txt").write_text("\n".join(spec))
    if vm == "micropython":
        proc = unixport.run([RUNNER, tmp_path / "examples.txt"], path=path, timeout=120)
    else:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(path + [str(LIB_DIR)]))
        proc = subprocess.run([sys.executable, str(RUNNER), str(tmp_path / "examples.txt")],
                              capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    got = proc.stdout.split("\x1e")[1:]
    return [g.split("\n", 1)[1].rstrip("\n") if "\n" in g else "" for g in got]


def test_the_readme_has_examples():
    found = blocks()
    assert len(found) >= 2 and sum(len(b[2]) for b in found) >= 15


@pytest.mark.parametrize("vm", ["cpython", "micropython"])
@pytest.mark.parametrize("block", blocks(), ids=lambda b: "README.md:%d" % b[0])
def test_readme_examples_print_what_the_readme_shows(vm, block, tmp_path):
    outputs = _run(vm, block, tmp_path)
    examples = block[2]
    assert len(outputs) == len(examples)
    # a traceback is shown as doctest does: its first line, "...", the exception line
    shown = [">>> %s\n%s" % (src, expected) for src, expected in examples]
    ran = [">>> %s\n%s" % (src, got) for (src, _), got in zip(examples, outputs)]
    assert "\n".join(ran) == "\n".join(shown), "README.md examples on %s" % vm


def test_every_frame_the_readme_shows_decodes():
    # a frame line is an example too: the one codec must read it (a stale checksum is damage)
    from umalloc.frame import decode
    frames = [ln.strip() for ln in README.read_text().splitlines() if ln.strip().startswith("@UM1 ")]
    assert frames
    for line in frames:
        assert decode(line)["seq"] >= 0, line
