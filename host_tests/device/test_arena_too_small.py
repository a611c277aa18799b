# An arena too small for its layout is a size error that names the smallest size that works.
import umalloc
from umalloc import Arena, MemError
from _check import raises


def _least(exc):
    """The number after 'at least' in the message."""
    text = str(exc)
    return int(text[text.index("at least ") + 9:].split()[0])


def _fits(size, **kw):
    try:
        Arena(size, **kw)
        return True
    except MemError:
        return False


def test_partitions_too_large_say_the_minimum():
    parts = ((16, 64), (64, 32))
    exc = raises(MemError, lambda: Arena(2048, partitions=parts))     # 16x64 64x32 do not fit
    assert exc.code == umalloc.ERR_MEM_INVALID_SIZE
    assert "ERR_MEM_INVALID_SIZE" in str(exc) and "16x64 64x32" in str(exc)
    least = _least(exc)
    assert _fits(least, partitions=parts) and not _fits(least - 4, partitions=parts)


def test_default_layout_too_small_says_the_minimum():
    exc = raises(MemError, Arena, 64)            # the default layout is all heap: metadata only
    assert exc.code == umalloc.ERR_MEM_INVALID_SIZE
    least = _least(exc)
    assert _fits(least) and not _fits(least - 4)


def test_minimum_is_exact_for_other_layouts():
    for kw in ({"partitions": ()}, {"partitions": ((10, 100),)}, {"partitions": ((7, 3), (9, 5))},
               {"trace": 20}, {"align": 8, "partitions": ((16, 8),)}, {"debug": True}):
        exc = raises(MemError, lambda: Arena(64, **kw))
        assert exc.code == umalloc.ERR_MEM_INVALID_SIZE
        least = _least(exc)
        assert _fits(least, **kw) and not _fits(least - 4, **kw), (kw, least)
