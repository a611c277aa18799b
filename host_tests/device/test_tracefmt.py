# The trace parser takes plain decimal ints only and quotes at most 80 characters of a bad line.
from umalloc import tracefmt
from _check import raises


def test_plain_decimal_events_parse():
    assert tracefmt.parse_line("a 0 100\n") == ("a", 0, 100)
    assert tracefmt.parse_line("  r 12 4096 ") == ("r", 12, 4096)
    assert tracefmt.parse_line("f 7") == ("f", 7, 0)
    assert tracefmt.parse_line("# a comment") is None and tracefmt.parse_line("   ") is None


def test_anything_but_plain_decimal_is_refused():
    for line in ("a 1_000 5", "a 1 1_000", "a 1 -5", "a +1 5", "a 1 0x10", "a 1 5.0",
                 "a 1 \u0661\u0662", "f \u0663", "a 1 12345678901", "a 1", "f 1 2", "x 1 2"):
        raises(ValueError, tracefmt.parse_line, line)


def test_a_long_bad_line_is_quoted_short():
    line = "a 1 " + "9" * 5000
    msg = str(raises(ValueError, tracefmt.parse_line, line))
    assert len(msg) < 140 and "..." in msg
    msg = str(raises(ValueError, tracefmt.parse_line, "q" * 5000))
    assert len(msg) < 140
