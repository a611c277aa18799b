"""How every command writes a partition layout: block size first, then the count.

`16x64 64x32` means 64 blocks of 16 bytes and 32 blocks of 64 bytes, the order of
Arena(partitions=((16, 64), (64, 32))) and of boards/*.json.
"""

HEADING = "partitions (block size x count)"


def partition_text(block_size, count):
    return "%dx%d" % (block_size, count)


def partitions_text(partitions, none="none"):
    """`16x64 64x32` for ((16, 64), (64, 32)); `none` for an empty layout."""
    return " ".join(partition_text(s, c) for s, c in partitions) or none
