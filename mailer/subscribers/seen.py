"""Remembering which addresses an import has seen, in 8 bytes each."""

from __future__ import annotations

from array import array
from bisect import bisect_left
from itertools import chain

__all__ = ["SeenHashes"]


class SeenHashes:
    """An exact set of 64-bit hashes for millions of entries.

    A Python set of ints costs about 70 bytes an entry, which a million-row import cannot
    afford within its memory budget; here entries live in sorted arrays of doubling sizes
    (a log-structured merge), 8 bytes each, searched by bisection.
    """

    __slots__ = ("_levels", "_pending")

    def __init__(self) -> None:
        self._levels: list[array[int]] = []
        self._pending: set[int] = set()

    def __contains__(self, value: int) -> bool:
        if value in self._pending:
            return True
        for level in self._levels:
            at = bisect_left(level, value)
            if at < len(level) and level[at] == value:
                return True
        return False

    def add(self, value: int) -> None:
        self._pending.add(value)
        if len(self._pending) >= 4096:
            self._compact()

    def __len__(self) -> int:
        return len(self._pending) + sum(len(level) for level in self._levels)

    def _compact(self) -> None:
        run = array("q", sorted(self._pending))
        self._pending.clear()
        while self._levels and len(self._levels[-1]) <= len(run):
            # sorted() finds the two sorted runs and merges them in linear time.
            run = array("q", sorted(chain(self._levels.pop(), run)))
        self._levels.append(run)
