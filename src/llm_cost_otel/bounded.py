"""``BoundedDict``: the one bounded map for what the package remembers across calls.

No lock: every method is one or a few C-level ``OrderedDict`` operations, each atomic, so a
thread, a garbage-collector finaliser that runs in the middle of another operation, or a
forked child (which inherits no lock) can always use it. Two evictions racing may drop one
extra old entry; neither raises.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from typing import TypeVar

__all__ = ["BoundedDict"]

K = TypeVar("K")
V = TypeVar("V")


class BoundedDict(OrderedDict[K, V]):
    """An insertion-ordered dict that forgets its oldest entries past ``max_size``.

    ``put`` keeps the bound; the plain dict operations (``d[k] = v``, ``setdefault``) do not,
    so a caller with its own rule (a budget other than the entry count) uses them and then
    ``trim`` or ``pop_oldest``. ``touch`` makes an entry the newest (least recently used
    first out)."""

    def __init__(self, max_size: int) -> None:
        super().__init__()
        self.max_size = max_size

    def __reduce__(self) -> tuple[object, ...]:
        # copy and pickle rebuild through the constructor: give it the bound
        return (type(self), (self.max_size,), None, None, iter(self.items()))

    def copy(self) -> BoundedDict[K, V]:
        new: BoundedDict[K, V] = type(self)(self.max_size)
        new.update(self)
        return new

    def put(self, key: K, value: V) -> None:
        self[key] = value
        if len(self) > self.max_size:
            self.trim()

    def touch(self, key: K) -> None:
        """Make ``key`` the newest entry, if it is still there."""
        with contextlib.suppress(KeyError):  # evicted by another thread since the caller looked
            self.move_to_end(key)

    def pop_oldest(self) -> bool:
        """Forget the oldest entry; False if there was none (another thread emptied the map)."""
        try:
            self.popitem(last=False)
        except KeyError:
            return False
        return True

    def trim(self, max_size: int | None = None) -> None:
        """Forget the oldest entries until at most ``max_size`` (default: the bound) are left."""
        limit = self.max_size if max_size is None else max_size
        while len(self) > limit and self.pop_oldest():
            pass
