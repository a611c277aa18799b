"""The report frame: one text line carrying an arena's figures, shared by device and host.

    @UM1 seq,ms,arena_size,heap_size,live_blocks;PART/PART...;HEAP;W:MAP*crc32

    PART = block_size,nblks,nfree,min_free,fail       (one per partition, '/' between)
    HEAP = free,used,largest_free,free_fragments,min_ever_free,fail,fail_fragmented
    MAP  = W cells of arena.map(W), run-length coded: [count]char, count left out when 1;
           chars '#' metadata, 'P'/'p' partition used/free, 'U'/'.' heap used/free, '_' empty
    crc32 = 8 lowercase hex digits of binascii.crc32 over everything between "@UM1 " and "*"

All numbers are plain decimal without sign or leading zeros.  `frag` and each
partition's `nused` are not sent: decode() derives them (frag = 1 - largest_free / free,
the definition in DESIGN.md).  The CRC makes a damaged, truncated or interleaved line
fail to decode instead of being misread.

encode() reads stats() and map(), which build Python objects: it must NOT run under
micropython.heap_lock() nor in a hard IRQ handler (schedule it, as report.Reporter
does).  It never changes the arena.  It builds the line in one reused bytearray, so
the only new objects are the ones stats()/map() make and the returned str.
"""

import binascii
import time

VERSION = 1
MARK = "@UM"                     # every version starts so; the digit after it is the version
PREFIX = "@UM1 "
MAP_WIDTH = 64                   # cells of the memory map in a frame
BUDGET = 256                     # bytes a frame may take for the default board layouts
CELLS = "#PpU._"                 # map characters as sent ('_' stands for a blank cell)
_MAP_CHARS = "#PpU. "            # the same, as arena.map() draws them
_DIGITS = "0123456789"
_HEX = "0123456789abcdef"
TICKS_MASK = 0x3FFFFFFF          # MicroPython's ticks_ms() period; seq wraps there too
# Decoder bounds: a line with a valid checksum still only yields figures an arena can have.
MAX_MAP_WIDTH = 1024             # cells; a wider map would be a frame far over any budget
MAX_ARENA = 0x1000000            # arena offsets and sizes fit 24 bits (umalloc.arena.MAX_ARENA)
MAX_COUNT = 0xFFFFFFFF           # counters are 32-bit words of the arena


class FrameError(ValueError):
    """The line carries the frame mark but is damaged (bad checksum, bad field, cut short)."""


try:
    _crc32 = binascii.crc32
except AttributeError:           # firmware built without binascii.crc32: same result, slower
    def _crc32(data):
        crc = 0xFFFFFFFF
        for b in data:
            crc ^= b
            for _ in range(8):
                crc = (crc >> 1) ^ (0xEDB88320 if crc & 1 else 0)
        return crc ^ 0xFFFFFFFF

try:
    _ticks_ms = time.ticks_ms
except AttributeError:           # CPython: a monotonic clock in ms, wrapped like ticks_ms
    def _ticks_ms():
        return int(time.monotonic() * 1000) & TICKS_MASK

_seq = [0]


def next_seq():
    """The sequence number for the next frame of this device (shared by all senders)."""
    s = _seq[0]
    _seq[0] = (s + 1) & TICKS_MASK
    return s


class _Line:
    """A reusable byte buffer the frame is written into, digit by digit."""

    def __init__(self, size):
        self.buf = bytearray(size)
        self.n = 0
        self.busy = False

    def byte(self, b):
        if self.n >= len(self.buf):
            self.buf.extend(bytearray(len(self.buf)))
        self.buf[self.n] = b
        self.n += 1

    def num(self, v):
        if v < 0:                # figures are never negative; keep the frame decodable anyway
            v = 0
        k, t = 1, v
        while t >= 10:
            t //= 10
            k += 1
        if self.n + k > len(self.buf):
            self.buf.extend(bytearray(len(self.buf) + k))
        i = self.n + k
        self.n = i
        while k:
            i -= 1
            self.buf[i] = 48 + v % 10
            v //= 10
            k -= 1


_line = [None]


def _buffer():
    ln = _line[0]
    if ln is None or ln.busy:    # first use, or a second sender mid-frame (thread/IRQ)
        ln = _Line(BUDGET + 64)
        if _line[0] is None:
            _line[0] = ln
    ln.n = 0
    return ln


def encode(arena, seq=None, ms=None, width=MAP_WIDTH, end=""):
    """One frame line for `arena`'s figures now, then `end` ("\n" to send it in one write).

    Not under heap_lock nor in a hard IRQ: stats() and map() allocate.
    """
    return encode_figures(arena.stats(), arena.map(width), seq, ms, end)


def encode_figures(st, cells, seq=None, ms=None, end=""):
    """One frame line from a stats() dict and a map() string (what encode() sends)."""
    if seq is None:
        seq = next_seq()
    if ms is None:
        ms = _ticks_ms()
    ln = _buffer()
    ln.busy = True
    try:
        for c in PREFIX:
            ln.byte(ord(c))
        start = ln.n
        for v in (seq, ms, st["arena_size"], st["heap_size"], st["live_blocks"]):
            ln.num(v)
            ln.byte(44)                          # ','
        ln.n -= 1
        ln.byte(59)                              # ';'
        first = True
        for q in st["partitions"]:
            if not first:
                ln.byte(47)                      # '/'
            first = False
            for v in (q["block_size"], q["nblks"], q["nfree"], q["min_free"], q["fail"]):
                ln.num(v)
                ln.byte(44)
            ln.n -= 1
        ln.byte(59)
        for v in (st["free"], st["used"], st["largest_free"], st["free_fragments"],
                  st["min_ever_free"], st["fail"], st["fail_fragmented"]):
            ln.num(v)
            ln.byte(44)
        ln.n -= 1
        ln.byte(59)
        _put_map(ln, cells)
        crc = _crc32(memoryview(ln.buf)[start:ln.n]) & 0xFFFFFFFF
        ln.byte(42)                              # '*'
        for shift in (28, 24, 20, 16, 12, 8, 4, 0):
            ln.byte(ord(_HEX[(crc >> shift) & 15]))
        for c in end:
            ln.byte(ord(c))
        return str(memoryview(ln.buf)[:ln.n], "ascii")
    finally:
        ln.busy = False


def _put_map(ln, cells):
    ln.num(len(cells))
    ln.byte(58)                                  # ':'
    i, n = 0, len(cells)
    while i < n:
        c = cells[i]
        j = i + 1
        while j < n and cells[j] == c:
            j += 1
        if j - i > 1:
            ln.num(j - i)
        k = _MAP_CHARS.find(c)
        ln.byte(ord(CELLS[k if k >= 0 else 5]))
        i = j


def _uint(s):
    if not s or len(s) > 10 or (s[0] == "0" and len(s) > 1):
        raise FrameError("bad number %r" % s[:12])
    for c in s:
        if c not in _DIGITS:
            raise FrameError("bad number %r" % s[:12])
    return int(s)


def _uints(s, count, what):
    parts = s.split(",")
    if len(parts) != count:
        raise FrameError("%s: %d fields, expected %d" % (what, len(parts), count))
    return [_uint(p) for p in parts]


def _cells(s):
    colon = s.find(":")
    if colon < 0:
        raise FrameError("map without width")
    width = _uint(s[:colon])
    if not 1 <= width <= MAX_MAP_WIDTH:
        raise FrameError("map width %d out of range 1..%d" % (width, MAX_MAP_WIDTH))
    rle = s[colon + 1:]
    out = []
    total, i, n = 0, 0, len(rle)
    while i < n:
        j = i
        while j < n and rle[j] in _DIGITS:
            j += 1
        count = _uint(rle[i:j]) if j > i else 1
        if j >= n or count < 1:
            raise FrameError("map run cut short")
        k = CELLS.find(rle[j])
        if k < 0:
            raise FrameError("bad map cell %r" % rle[j])
        total += count
        if total > width:
            raise FrameError("map longer than its width")
        out.append(_MAP_CHARS[k] * count)
        i = j + 1
    if total != width or width < 1:
        raise FrameError("map has %d cells, width says %d" % (total, width))
    return "".join(out)


def decode(line):
    """The figures in `line` as a dict; None if it is no frame; FrameError if damaged.

    Text before the frame mark on the same line is ignored (a print() without newline
    just before a frame).  Never raises anything but FrameError.
    """
    try:
        if isinstance(line, (bytes, bytearray)):
            try:
                line = bytes(line).decode()
            except Exception:
                if b"@UM" in line:
                    raise FrameError("frame with bytes that are not text")
                return None
        elif not isinstance(line, str):
            return None
        at = line.find(MARK)
        if at < 0:
            return None
        body = line[at:].rstrip("\r\n")
        if not body.startswith(PREFIX):
            rest = body[len(MARK):len(MARK) + 1]
            if rest and rest in _DIGITS:
                raise FrameError("frame version %r not understood" % body[:6])
            return None
        body = body[len(PREFIX):]
        if MARK in body:
            raise FrameError("two frames interleaved on one line")
        return _parse(body, len(PREFIX) + len(body))
    except FrameError:
        raise
    except Exception as exc:     # belt and braces: decode() must never crash the host
        raise FrameError("unreadable frame (%s)" % type(exc).__name__)


def _parse(body, size):
    star = body.rfind("*")
    if star < 0 or len(body) - star != 9:
        raise FrameError("frame cut short (no checksum)")
    crc_text = body[star + 1:]
    for c in crc_text:
        if c not in _HEX:
            raise FrameError("bad checksum digits")
    payload = body[:star]
    try:
        data = payload.encode()
    except Exception:
        raise FrameError("frame with characters that are not text")
    if (_crc32(data) & 0xFFFFFFFF) != int(crc_text, 16):
        raise FrameError("checksum mismatch")
    sections = payload.split(";")
    if len(sections) != 4:
        raise FrameError("%d sections, expected 4" % len(sections))
    seq, ms, arena_size, heap_size, live = _uints(sections[0], 5, "head")
    if seq > TICKS_MASK or ms > TICKS_MASK or arena_size >= MAX_ARENA or heap_size > arena_size \
            or live > arena_size:
        raise FrameError("head figures out of range")
    parts = []
    room = arena_size            # every partition's blocks lie inside the arena
    if sections[1]:
        for p in sections[1].split("/"):
            bs, nblks, nfree, min_free, fail = _uints(p, 5, "partition")
            room -= bs * nblks
            if nfree > nblks or min_free > nblks or room < 0 or fail > MAX_COUNT:
                raise FrameError("partition counts out of range")
            parts.append({"block_size": bs, "nblks": nblks, "nfree": nfree,
                          "nused": nblks - nfree, "min_free": min_free, "fail": fail})
    free, used, largest, frags, min_ever, fail, fail_frag = _uints(sections[2], 7, "heap")
    if largest > free or free > heap_size or used > heap_size or min_ever > heap_size \
            or frags > heap_size or fail_frag > fail or fail > MAX_COUNT:
        raise FrameError("heap figures out of range")
    cells = _cells(sections[3])
    return {
        "v": VERSION, "seq": seq, "ms": ms, "arena_size": arena_size, "heap_size": heap_size,
        "live_blocks": live, "partitions": parts,
        "free": free, "used": used, "largest_free": largest, "free_fragments": frags,
        "frag": (1 - largest / free) if free else 0.0, "min_ever_free": min_ever,
        "fail": fail, "fail_fragmented": fail_frag, "map": cells, "bytes": size,
    }
