"""The C core (firmware/ccore): its committed native modules match its sources, and the
unix port runs it.

CI has no MicroPython source to build them, so lib/umalloc/native/<arch>/ holds the
built _umcore.mpy and sources.sha256, the sha256 of each C source it was built from
(`make -C firmware natmod ARCH=...` writes both): an edited C file without a rebuild
fails here.  The device tests run on both cores (test_device_on_micropython.py).
"""

import hashlib

import pytest

from umalloc_host import LIB_DIR, REPO_ROOT, unixport

NATIVE = LIB_DIR / "umalloc" / "native"
CCORE_DIR = REPO_ROOT / "firmware" / "ccore"
ARCHES = ("x64", "armv6m", "armv7m")


@pytest.mark.parametrize("arch", ARCHES)
def test_committed_native_module_was_built_from_the_sources_here(arch):
    stamp = NATIVE / arch / "sources.sha256"
    assert (NATIVE / arch / "_umcore.mpy").stat().st_size > 1000
    listed = dict(reversed(line.split()) for line in stamp.read_text().splitlines())
    assert set(listed) == {"umcore.c", "natmod.c", "Makefile"}
    for name, digest in listed.items():
        actual = hashlib.sha256((CCORE_DIR / name).read_bytes()).hexdigest()
        assert actual == digest, "%s changed since the %s build: make -C firmware natmod " \
            "MPY_DIR=... ARCH=%s" % (name, arch, arch)


@pytest.mark.parametrize("arch", ARCHES)
def test_native_module_header_names_its_arch(arch):
    data = (NATIVE / arch / "_umcore.mpy").read_bytes()
    assert data[0] == ord("M") and data[1] == 6              # .mpy version 6
    index = data[2] >> 2                                     # the arch's MP_NATIVE_ARCH_* number
    assert index == {"x64": 2, "armv6m": 4, "armv7m": 5}[arch]


def test_unix_port_runs_the_c_core_and_can_be_switched_to_viper():
    out = unixport.run_code(
        "import umalloc\nfrom umalloc import _core\n"
        "a = umalloc.Arena(4096, partitions=((32, 4),))\n"
        "print(type(a.malloc).__name__, type(a.partitions[0].get).__name__, _core.CCORE.PRIMASK)\n"
        "_core.CCORE = None\n"
        "b = umalloc.Arena(4096, partitions=((32, 4),))\n"
        "print(type(b.malloc).__name__, type(b.partitions[0].get).__name__)\n").stdout.split()
    assert out == ["umcore", "umcore", "0", "closure", "closure"]


def test_c_and_viper_cores_leave_the_same_arena():
    # the same calls on both cores: byte-identical arenas, the same results and refusals
    script = (
        # _coreviper compiled first: compiling viper source needs contiguous blocks of a
        # few KB, which the churn below can leave the 192 KB heap without (it depended on
        # the clone's path length)
        "import umalloc\nfrom umalloc import _core, _coreviper, MemError\n"
        "CCORE = _core.CCORE\n"
        "def named(e):\n"
        "    # a value of no int type: viper's & raises its own TypeError, the C core's refusal\n"
        "    # quotes the value (host_tests/device/test_arena_damage.py checks both wordings)\n"
        "    return 'TypeError' if type(e) is TypeError else repr(e)\n"
        "def run(**options):\n"
        "    a = umalloc.Arena(3000, partitions=((24, 5), (40, 3)), **options)\n"
        "    part = a.partitions[0]\n"
        "    got, live = [], []\n"
        "    for i in range(300):\n"
        "        n = (i * 37) % 200\n"
        "        if i % 3 == 2 and live:\n"
        "            p = live.pop((i * 7) % len(live))\n"
        "            got.append(a.free(p))\n"
        "        else:\n"
        "            p = a.malloc(n)\n"
        "            got.append(p)\n"
        "            if p:\n"
        "                live.append(p)\n"
        "        if i % 5 == 0:\n"
        "            q = part.get()\n"
        "            got.append(q)\n"
        "            if q and i % 10 == 0:\n"
        "                part.put(q)\n"
        "    for bad in (0, 1, -4, live[0] + 4 if live else 5, True, 2 ** 40):\n"
        "        try:\n"
        "            a.free(bad)\n"
        "        except (MemError, TypeError, ValueError) as e:\n"
        "            got.append(named(e))\n"
        "    for bad in (-1, True, 2 ** 40, 'x'):\n"
        "        try:\n"
        "            got.append(a.malloc(bad))\n"
        "        except (MemError, TypeError, ValueError) as e:\n"
        "            got.append(named(e))\n"
        "    for bad in (None, 3, -8, 'x'):\n"
        "        try:\n"
        "            part.put(bad)\n"
        "        except (MemError, TypeError, ValueError) as e:\n"
        "            got.append(named(e))\n"
        "    return got, bytes(a._buf)\n"
        "for options in OPTIONS:\n"
        "    _core.CCORE = CCORE\n"
        "    c_got, c_buf = run(**options)\n"
        "    _core.CCORE = None\n"
        "    v_got, v_buf = run(**options)\n"
        "    print(c_got == v_got, c_buf == v_buf, len(c_got))\n")
    # every policy (first, best and two-ended place through _corecold._find, called from the
    # core), the 4-byte granule, a debug arena (guard bytes, poisoning) and irq=False
    options = ({}, {"policy": "first"}, {"policy": "best"}, {"policy": "twoended"},
               {"policy": "twoended", "small_threshold": 64}, {"align": 4}, {"debug": True},
               {"irq": False})
    proc = unixport.run_code(script.replace("OPTIONS", repr(options)))
    lines = proc.stdout.splitlines()
    assert len(lines) == len(options), proc.stdout + proc.stderr
    for line, option in zip(lines, options):
        same_results, same_bytes, count = line.split()
        assert (same_results, same_bytes) == ("True", "True"), option
        assert int(count) > 300


def test_c_and_viper_cores_agree_on_damaged_arenas():
    # random bit flips anywhere in the arena between calls: both cores refuse the same
    # calls with the same codes and offsets, and leave the same bytes (the C core's damage
    # checks are a translation of the viper ones, shared between calls where they agree)
    script = (
        # _coreviper compiled first: compiling viper source needs contiguous blocks of a
        # few KB, which the churn below can leave the 192 KB heap without (it depended on
        # the clone's path length)
        "import umalloc\nfrom umalloc import _core, _coreviper, MemError\n"
        "CCORE = _core.CCORE\n"
        "def run(seed, options):\n"
        "    state = [seed]\n"
        "    def rnd(n):\n"
        "        state[0] = (state[0] * 1103515245 + 12345) & 0x7FFFFFFF\n"
        "        return (state[0] >> 8) % n\n"
        "    a = umalloc.Arena(2048, partitions=((24, 4),), **options)\n"
        "    part = a.partitions[0]\n"
        "    buf = a._buf\n"
        "    got, live = [], []\n"
        "    for flip in range(4):\n"
        "        for i in range(25):\n"
        "            op = rnd(6)\n"
        "            try:\n"
        "                if op < 3:\n"
        "                    p = a.malloc(rnd(160))\n"
        "                    if p:\n"
        "                        live.append(p)\n"
        "                elif op == 3 and live:\n"
        "                    p = a.free(live.pop(rnd(len(live))))\n"
        "                elif op == 4:\n"
        "                    p = part.get()\n"
        "                    if p:\n"
        "                        live.append(p)\n"
        "                else:\n"
        "                    p = part.put(live.pop(rnd(len(live)))) if live else None\n"
        "            except MemError as e:\n"
        "                p = str(e)\n"
        "            got.append(p)\n"
        "        off = rnd(len(buf))\n"
        "        buf[off] ^= 1 << rnd(8)\n"
        "    return got, bytes(buf)\n"
        "same = refused = 0\n"
        "for seed in range(1, 301):\n"
        "    options = ({}, {'policy': 'first'}, {'align': 4})[seed % 3]\n"
        "    _core.CCORE = CCORE\n"
        "    c = run(seed, options)\n"
        "    _core.CCORE = None\n"
        "    v = run(seed, options)\n"
        "    same += c == v\n"
        "    refused += sum(1 for r in c[0] if type(r) is str and 'damaged' in r)\n"
        "    if c != v:\n"
        "        print('differ', seed, c[0], v[0])\n"
        "print(same, refused)\n")
    proc = unixport.run_code(script)
    last = proc.stdout.splitlines()[-1:]
    assert last and len(last[0].split()) == 2, proc.stdout[-2000:] + proc.stderr
    same, refused = last[0].split()
    assert same == "300", proc.stdout[-2000:] + proc.stderr
    assert int(refused) > 100         # the flips did reach the checks
