"""Reference allocators, for comparison with umalloc only (never used on a board).

Both have the Arena's replay interface: malloc/free/realloc/stats, pointers are
ints (offsets), None when out of memory, and stats() carries the DESIGN.md
figure names (free, largest_free, frag, min_ever_free, fail, fail_fragmented...).
"""

from .buddy import BuddyAllocator
from .firstfit8 import FirstFit8

__all__ = ["BuddyAllocator", "FirstFit8"]
