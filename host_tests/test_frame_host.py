"""Frames across VMs, the frame budget per board profile, and a fuzz of the host parser."""

import random
import time

import pytest

import umalloc
from umalloc import frame
from umalloc_host import framebench, profiles, unixport
from umalloc_host.monitor import LineSplitter, scan_line

WORKLOAD = """
buf = bytearray(32768)      # reserved first, as boot.py does: compiling umalloc from source needs room
import umalloc
from umalloc import frame
a = umalloc.Arena(buf=buf, partitions=((16, 128), (32, 64), (64, 32), (256, 16)), policy=%r)
x, live = 11, []
for step in range(8):
    for _ in range(60):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        if live and x %% 5 < 2:
            a.free(live.pop(x %% len(live)))
        else:
            p = a.malloc((8, 16, 30, 64, 100, 256, 700, 1500, 4000)[x %% 9])
            if p is not None:
                live.append(p)
    print("step", step)
    print(frame.encode(a, seq=step, ms=250 * step))
"""


@pytest.mark.parametrize("policy", ["first", "best"])
def test_micropython_frames_decode_and_match_cpython_byte_for_byte(policy):
    proc = unixport.run_code(WORKLOAD % policy, timeout=120)
    assert proc.returncode == 0, proc.stderr
    mp_frames = [ln for ln in proc.stdout.splitlines() if ln.startswith(frame.PREFIX)]
    assert len(mp_frames) == 8
    # the same workload on CPython, same allocator code: the very same lines
    cp_out = []
    import builtins
    code = compile(WORKLOAD % policy, "workload", "exec")
    exec(code, {"print": lambda *a: cp_out.append(" ".join(map(str, a))), "__builtins__": builtins})
    cp_frames = [ln for ln in cp_out if ln.startswith(frame.PREFIX)]
    assert mp_frames == cp_frames
    for k, line in enumerate(mp_frames):
        d = frame.decode(line)
        assert d["seq"] == k and d["ms"] == 250 * k
        # re-encoding the decoded figures on CPython gives back the device's bytes
        again = frame.encode_figures(d, d["map"], seq=d["seq"], ms=d["ms"])
        assert again == line


def test_frame_size_within_budget_for_every_board_profile():
    for name in profiles.names():
        typical, ceiling = framebench.frame_sizes(name)
        assert 60 < typical <= ceiling <= frame.BUDGET, (name, typical, ceiling)
        assert framebench.frames_per_s(ceiling) >= 40


def _real_frames(n=60):
    a = framebench.layout_arena("pico")
    out = []
    for i, _ in enumerate(framebench.churn(a, steps=n * 5, seed=5)):
        if i % 5 == 0:
            out.append(frame.encode(a))
    return out


NOISE = ["MPY: soft reboot", ">>> ", "\x1b[2K", "raw REPL; CTRL-B to exit", "\x00\x01\x04",
         "@UM", "@UM1 ", "*", ";", "Traceback (most recent call last):", "é☃"]


def _mutate(rng, line, others):
    if len(line) < 2:
        return line + "@UM1 1*"
    kind = rng.randrange(9)
    i = rng.randrange(len(line))
    if kind == 0:                                   # one character changed
        return line[:i] + chr(rng.randrange(1, 0x250)) + line[i + 1:]
    if kind == 1:                                   # one character lost
        return line[:i] + line[i + 1:]
    if kind == 2:                                   # one character too many
        return line[:i] + rng.choice("0123456789,;/:#.PpU*@") + line[i:]
    if kind == 3:                                   # cut short
        return line[:i]
    if kind == 4:                                   # another frame starts mid-line
        return line[:i] + rng.choice(others)[rng.randrange(len(line) // 2):]
    if kind == 5:                                   # neighbours swapped
        j = min(i + 1, len(line) - 1)
        return line[:i] + line[j] + line[i] + line[j + 1:]
    if kind == 6:                                   # reset banner / noise inside the frame
        return line[:i] + rng.choice(NOISE) + line[i:]
    if kind == 7:                                   # a digit bumped (the figures lie)
        digits = [k for k, c in enumerate(line) if c in "0123456789"]
        if not digits:
            return line + "7"
        k = rng.choice(digits)
        return line[:k] + str((int(line[k]) + rng.randrange(1, 10)) % 10) + line[k + 1:]
    # several changes at once
    for _ in range(rng.randrange(2, 5)):
        line = _mutate(rng, line, others) or "x"
    return line


def test_fuzz_parser_rejects_every_damaged_frame():
    rng = random.Random(20261122)
    frames = _real_frames()
    truth = {frame.decode(f)["seq"]: frame.decode(f) for f in frames}
    mutated = crashes = accepted_bad = accepted_intact = 0
    t0 = time.monotonic()
    while mutated < 100_000:
        src = rng.choice(frames)
        line = _mutate(rng, src, frames)
        if line == src:
            continue
        mutated += 1
        try:
            events = scan_line(line)
        except Exception:                          # noqa: BLE001 - counting is the test
            crashes += 1
            continue
        for kind, value in events:
            if kind != "frame":
                continue
            want = truth.get(value["seq"])
            got = dict(value)
            if want is None or {**got, "bytes": 0} != {**want, "bytes": 0}:
                accepted_bad += 1
            else:
                accepted_intact += 1           # e.g. noise before an intact frame
    elapsed = time.monotonic() - t0
    print("fuzz: %d mutated frames, %d crashes, %d damaged accepted, %d intact kept, %.1f s"
          % (mutated, crashes, accepted_bad, accepted_intact, elapsed))
    assert crashes == 0
    assert accepted_bad == 0
    assert elapsed < 60


def test_fuzz_stream_in_random_chunks_keeps_exactly_the_intact_frames():
    rng = random.Random(7)
    frames = _real_frames(40)
    stream, intact = [], []
    for k in range(3000):
        d = frame.decode(rng.choice(frames))
        f = frame.encode_figures(d, d["map"], seq=100000 + k, ms=k)
        r = rng.random()
        if r < 0.5:
            stream.append(f)
            intact.append(k)
        elif r < 0.7:
            bad = _mutate(rng, f, frames)
            stream.append(bad)
            if bad == f:
                intact.append(k)
        elif r < 0.85:
            stream.append(rng.choice(NOISE) + " user output %d" % k)
        else:
            stream.append(f[:rng.randrange(len(f))])  # cut: the rest never arrives
        if rng.random() < 0.05:
            stream.append(bytes(rng.randrange(256) for _ in range(30)).decode("latin-1"))
    data = "\r\n".join(stream).encode("utf-8") + b"\r\n"
    splitter, got, pos = LineSplitter(), [], 0
    while pos < len(data):
        n = rng.randrange(1, 300)
        for line in splitter.feed(data[pos:pos + n]):
            got += [v["seq"] for kind, v in scan_line(line) if kind == "frame"]
        pos += n
    # a mutation may splice in a whole frame of the pool: intact, so rightly kept
    pool = {frame.decode(f)["seq"] for f in frames}
    assert [g - 100000 for g in got if g >= 100000] == intact
    assert {g for g in got if g < 100000} <= pool
    assert len(intact) > 1400


def test_parse_rate_is_far_above_the_line_rate():
    rate = framebench.parse_rate(n=3000)
    assert rate > 10 * framebench.frames_per_s(frame.BUDGET), rate


def test_bench_parse_command_prints_sizes_and_rate(capsys):
    from umalloc_host.cli import main
    assert main(["monitor", "--bench-parse"]) == 0
    out = capsys.readouterr().out
    for name in profiles.names():
        assert "  %s " % name in out
    assert "OVER" not in out and out.count("budget 256 B ok") == len(profiles.names())
    rate = float(out.split("host parse rate:")[1].split()[0])
    assert rate > 1000


def test_readme_frame_sizes_are_what_bench_parse_prints():
    # the README said 156/143 B and 73 frames/s; the command printed 157/144 in a fresh process
    # and 158/145 later in this suite (encode()'s sequence number and ms clock had more digits)
    framebench.frame_sizes("pico")                 # frames made before must not change it
    import re
    from umalloc_host import REPO_ROOT
    text = " ".join((REPO_ROOT / "README.md").read_text().split())
    m = re.search(r"Pico layout (\d+) B typical .*?, (\d+) B ceiling .*? at least (\d+) frames/s at "
                  r"115200 baud \((\d+) typical\); ESP32 (\d+)/(\d+) B", text)
    assert m, "the README's --bench-parse sentence changed: update this test"
    pico, esp32 = framebench.frame_sizes("pico"), framebench.frame_sizes("esp32")
    assert [int(g) for g in m.groups()] == [
        pico[0], pico[1], round(framebench.frames_per_s(pico[1])),
        round(framebench.frames_per_s(pico[0])), esp32[0], esp32[1]]


def _with_crc(payload):
    import binascii
    return frame.PREFIX + payload + "*%08x" % (binascii.crc32(payload.encode()) & 0xFFFFFFFF)


def test_valid_checksum_frames_with_impossible_fields_are_refused():
    good = "1,2,4096,3000,1;16,8,8,8,0;2900,100,2900,1,2900,0,0;64:#63."
    assert frame.decode(_with_crc(good))["map"] == "#" + "." * 63
    for bad in ("1,2,4096,3000,1;16,8,8,8,0;2900,100,2900,1,2900,0,0;300000000:300000000.",
                "1,2,4096,3000,1;16,8,8,8,0;2900,100,2900,1,2900,0,0;2000:2000.",
                "1,2,99999999,3000,1;16,8,8,8,0;2900,100,2900,1,2900,0,0;64:#63.",   # > 24-bit arena
                "1,2,4096,3000,1;4000,8,8,8,0;2900,100,2900,1,2900,0,0;64:#63.",     # blocks > arena
                "1,2,4096,3000,1;16,8,8,8,0;3900,100,2900,1,2900,0,0;64:#63.",       # free > heap
                "1,2,4096,3000,1;16,8,8,8,0;2900,100,2900,1,9999,0,0;64:#63.",       # min_ever > heap
                "1,2,4096,3000,1;16,8,8,8,0;2900,100,2900,1,2900,9999999999,0;64:#63.",
                "1999999999,2,4096,3000,1;16,8,8,8,0;2900,100,2900,1,2900,0,0;64:#63."):
        with pytest.raises(frame.FrameError):
            frame.decode(_with_crc(bad))
