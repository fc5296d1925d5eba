"""Compact growable storage of conflict pairs: int32 endpoints and float32 lengths (12 bytes a pair).

Blocks append (i, j, d); the buffers grow geometrically up to `limit` pairs (never above), may be
filtered in place, and are finally sorted by (min, max) through one int64 key, so the peak beside
the result is about 24 bytes a pair instead of the 3-4 copies of int64 / float64 lists that
concatenate + lexsort need.
"""
from __future__ import annotations

import numpy as np

from robustdsl.errors import InvalidInput

_I32_MAX = np.iinfo(np.int32).max


class PairStore:
    """Pairs (i, j, d) in preallocated int32 / int32 / `dtype` buffers of at most `limit` rows
    (float32 lengths for screened values, float64 where they are exact)."""

    def __init__(self, n: int, limit: int | None = None, start: int = 1 << 16,
                 dtype=np.float32) -> None:
        if n > _I32_MAX:
            raise InvalidInput("X", f"has {n} rows", f"at most {_I32_MAX} samples (int32 pair indices)")
        self.n = n
        self.limit = limit
        self.size = 0
        cap = start if limit is None else max(0, min(start, limit))
        self._i = np.empty(cap, np.int32)
        self._j = np.empty(cap, np.int32)
        self._d = np.empty(cap, dtype)

    def fits(self, extra: int) -> bool:
        """Whether `extra` more pairs stay within the limit."""
        return self.limit is None or self.size + extra <= self.limit

    def _grow(self, need: int) -> None:
        cap = max(need, 2 * self._i.size)
        if self.limit is not None:
            cap = min(cap, self.limit)
        for name in ("_i", "_j", "_d"):
            old = getattr(self, name)
            new = np.empty(cap, old.dtype)
            new[:self.size] = old[:self.size]
            setattr(self, name, new)

    def append(self, i: np.ndarray, j: np.ndarray, d: np.ndarray) -> None:
        """Append pairs (caller checks `fits` first when a limit is set)."""
        m = i.size
        need = self.size + m
        if self.limit is not None and need > self.limit:
            raise InvalidInput("pairs", f"{need} pairs exceed the store's limit {self.limit}")
        if need > self._i.size:
            self._grow(need)
        s = slice(self.size, need)
        self._i[s], self._j[s], self._d[s] = i, j, d
        self.size = need

    def view(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The stored (i, j, d), without copying (valid until the next append / filter)."""
        return self._i[:self.size], self._j[:self.size], self._d[:self.size]

    def keep(self, mask: np.ndarray) -> None:
        """Keep only the pairs where mask is True (in place, order kept)."""
        idx = np.flatnonzero(mask)
        cap = self._i.size
        if self.limit is not None and cap > max(self.limit, idx.size):
            cap = max(self.limit, idx.size)              # the limit was lowered: give memory back
        for name in ("_i", "_j", "_d"):
            buf = getattr(self, name)
            kept = buf[:self.size][idx]
            if cap < buf.size:
                buf = np.empty(cap, buf.dtype)
                setattr(self, name, buf)
            buf[:idx.size] = kept
        self.size = int(idx.size)

    def sorted_pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(I, J, D): I = min, J = max as int64, sorted by (I, J); D in the store's dtype.
        Empties the store (its buffers are released)."""
        i, j, d = self.view()
        key = np.minimum(i, j).astype(np.int64)
        key *= self.n
        key += np.maximum(i, j)
        del i, j
        self._i = self._j = np.empty(0, np.int32)
        perm = np.argsort(key, kind="stable")
        key = key[perm]
        D = d[perm]
        del perm, d
        self._d = np.empty(0, self._d.dtype)
        self.size = 0
        I = key // self.n
        key -= I * self.n
        return I, key, D
