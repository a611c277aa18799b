"""What `pip install` of a wheel gives a user: every command, the samples, the plugin.

One end-to-end test builds the wheel, installs it (non-editable) into a fresh
venv outside the checkout and uses it from an unrelated folder, as a new user
would; a quick check beside it keeps pyproject's package list complete.
"""

import os
import re
import subprocess
import sys
import textwrap

from umalloc_host import REPO_ROOT

COMMANDS = sorted(p.stem for p in (REPO_ROOT / "tools/umalloc_host/commands").glob("*.py")
                  if not p.stem.startswith("_"))


def _listed_packages():
    text = (REPO_ROOT / "pyproject.toml").read_text()
    block = re.search(r"^packages = \[(.*?)\]", text, re.S | re.M).group(1)
    return set(re.findall(r'"([\w.]+)"', block))


def test_every_folder_of_the_tree_is_a_listed_package():
    # A folder left out of the list is left out of the wheel: refalloc once was, and
    # every command crashed with ModuleNotFoundError after a plain `pip install`.
    tree = {"umalloc"} | {"umalloc_host." + str(p.parent.relative_to(REPO_ROOT / "tools/umalloc_host")
                                                ).replace("/", ".")
                          for p in (REPO_ROOT / "tools/umalloc_host").rglob("*")
                          if p.is_file() and p.suffix in (".py", ".trace")
                          and "__pycache__" not in p.parts}
    tree = {name.replace("umalloc_host..", "umalloc_host") for name in tree}
    assert tree | {"umalloc_host.boards", "umalloc_host.firmware"} == _listed_packages()


def _run(cmd, cwd, env, timeout=600):
    done = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, "%s\n%s\n%s" % (cmd, done.stdout[-3000:], done.stderr[-3000:])
    return done.stdout


def test_wheel_installed_in_a_fresh_venv_works_from_anywhere(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "MICROPYPATH", "PYTEST_ADDOPTS")}
    env["TERM"] = "dumb"
    wheels = tmp_path / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", wheels, REPO_ROOT],
         tmp_path, env)
    wheel = next(wheels.glob("umalloc_tools-*.whl"))
    import zipfile
    names = zipfile.ZipFile(wheel).namelist()
    for arch in ("x64", "armv6m", "armv7m"):         # the C core travels with the package
        assert "umalloc/native/%s/_umcore.mpy" % arch in names
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", venv], tmp_path, env)
    py, umalloc = venv / "bin" / "python", venv / "bin" / "umalloc"
    # Dependencies come through pip's own cache and index, as for any user.
    _run([py, "-m", "pip", "install", "-q", "%s[test]" % wheel], tmp_path, env)

    elsewhere = tmp_path / "elsewhere"           # nothing of the checkout around
    elsewhere.mkdir()
    where = _run([py, "-c", "import umalloc, umalloc_host; print(umalloc.__file__); "
                  "print(umalloc_host.BOARDS_DIR)"], elsewhere, env)
    assert str(REPO_ROOT) not in where and str(venv) in where

    for command in COMMANDS:
        assert "usage: umalloc %s" % command in _run([umalloc, command, "--help"], elsewhere, env)
    boards = _run([umalloc, "boards"], elsewhere, env)
    for name in ("pico", "esp32", "unix"):
        assert "\n%s " % name in boards
    sim = _run([umalloc, "sim", "churn", "--min-arena"], elsewhere, env)   # the bundled sample
    assert "churn: 6000 events" in sim and re.search(r"umalloc/good .* \d\.\d\dx", sim)

    # Another project uses the plugin's fixture: umalloc deployed to the virtual board.
    project = tmp_path / "project"
    project.mkdir()
    (project / "test_mine.py").write_text(textwrap.dedent('''\
        def test_alloc(umalloc_board):
            assert umalloc_board.eval("umalloc.Arena(4096).malloc(100) > 0")
            assert "/lib/umalloc/" in umalloc_board.eval("umalloc.__file__")
        '''))
    out = _run([py, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_mine.py"], project, env)
    assert "1 passed" in out
