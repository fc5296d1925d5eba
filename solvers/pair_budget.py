"""The conflict-pair pass under a memory budget: all pairs if they fit, else a certified subset.

One blocked pass at the largest threshold T of a grid T_1 < ... < T_m (a sweep's 2 eps). Pairs go
to a compact store (`pair_store.PairStore`, 12 bytes a pair) of at most `max_kept` pairs. When it
would overflow: (1) the store is given 1.25 x the projected size of the pairs at the largest smaller grid
threshold whose projection fits in half the budget (nothing if none does), (2) a per-sample
table of its k = (max_kept - that share) / n nearest partners at T (by the screened length) is
started from the stored pairs and kept up to date by every later block, (3) the store drops to
that grid threshold (keeping every pair that may lie within it, decided exactly later by
`restrict_pairs`), and further down whenever it would overflow again.
The degree of every sample at T is counted exactly, so a sample with degree <= k is *complete*:
all its conflict pairs at T (hence at any smaller threshold) are in the kept subset.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from robustdsl import _check
from robustdsl.errors import InvalidInput, ResourceLimit

from .pair_store import PairStore
from .pairs import DEFAULT_MAX_BYTES, length_dtype, plan_pass, run_blocks, screen_bounds

# Peak bytes of the whole pipeline per stored pair (pass store and sort, restrict_pairs, the
# max-flow graph of solvers.pair_flow: measured about 155 bytes a pair at n = 20,000, l2 eps 4).
PAIR_BYTES = 200
_MERGE = 1 << 22            # directed entries buffered before a top-k merge


@dataclass(frozen=True, eq=False)
class BoundedPairs:
    """Result of `bounded_pairs`.

    (I, J, D): sorted int64 pairs with float32 screened lengths holding every conflict pair within
    `exact_threshold` (a superset near it: `restrict_pairs` at any threshold <= exact_threshold is
    exact); exact_threshold = threshold when nothing was dropped, -inf when the store was emptied.
    (KI, KJ, KD): when truncated, the union of every sample's k nearest partners at `threshold`
    (exact pairs, a subset of the conflict pairs); None otherwise. degree: exact number of conflict
    pairs of each sample at `threshold`; total: their number; k: the table width.
    """

    I: np.ndarray
    J: np.ndarray
    D: np.ndarray
    exact_threshold: float
    threshold: float
    degree: np.ndarray
    total: int
    k: int
    max_kept: int
    KI: np.ndarray | None = None
    KJ: np.ndarray | None = None
    KD: np.ndarray | None = None

    @property
    def truncated(self) -> bool:
        return self.exact_threshold < self.threshold

    def complete(self) -> np.ndarray:
        """(n,) bool: samples all of whose conflict pairs at `threshold` are kept."""
        if not self.truncated:
            return np.ones(self.degree.size, bool)
        return self.degree <= self.k


class TopK:
    """For every sample its k nearest partners (by screened length; ties in arrival order),
    int32 / float32 tables (n, k)."""

    def __init__(self, n: int, k: int) -> None:
        self.n, self.k = n, k
        self.nb = np.full((n, k), -1, np.int32)
        self.d = np.full((n, k), np.inf, np.float32)
        self._pending: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._count = 0

    def add(self, i: np.ndarray, j: np.ndarray, d: np.ndarray) -> None:
        """Offer the undirected pairs (i, j) of length d (buffered; merged in bulk)."""
        if self.k == 0 or i.size == 0:
            return
        self._pending.append((np.concatenate([i, j]).astype(np.int32), np.concatenate([j, i]).astype(np.int32),
                              np.concatenate([d, d]).astype(np.float32)))
        self._count += 2 * i.size
        if self._count >= max(_MERGE, self.n * self.k):   # merges cost O(table): amortise
            self.flush()

    def flush(self) -> None:
        """Merge the buffered entries: per source, the k smallest (d, partner) of old and new."""
        if not self._pending:
            return
        src, dst, dd = (np.concatenate(c) for c in zip(*self._pending))
        self._pending, self._count = [], 0
        touched = np.zeros(self.n, bool)
        touched[src] = True
        rows = np.flatnonzero(touched)
        old_nb, old_d = self.nb[rows].ravel(), self.d[rows].ravel()
        had = old_nb >= 0
        src = np.concatenate([np.repeat(rows.astype(np.int32), self.k)[had], src])
        dst = np.concatenate([old_nb[had], dst])
        dd = np.concatenate([old_d[had], dd])
        # one int64 key (source, length): the bits of a float32 >= 0 order like the float
        key = src.astype(np.int64) << 32
        key |= dd.view(np.int32).astype(np.int64)
        o = np.argsort(key, kind="stable")        # stable: ties keep the (deterministic) input order
        del key
        src, dst, dd = src[o], dst[o], dd[o]
        first = np.flatnonzero(np.r_[True, src[1:] != src[:-1]])
        rank = np.arange(src.size) - np.repeat(first, np.diff(np.r_[first, src.size]))
        keep = rank < self.k
        self.nb[rows] = -1
        self.d[rows] = np.inf
        self.nb[src[keep], rank[keep]] = dst[keep]
        self.d[src[keep], rank[keep]] = dd[keep]

    def pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The kept undirected pairs (I < J, int64, sorted) and their float32 lengths."""
        self.flush()
        src = np.repeat(np.arange(self.n, dtype=np.int64), self.k)
        dst = self.nb.ravel().astype(np.int64)
        ok = dst >= 0
        src, dst, dd = src[ok], dst[ok], self.d.ravel()[ok]
        key = np.minimum(src, dst) * self.n + np.maximum(src, dst)
        key, first = np.unique(key, return_index=True)
        return key // self.n, key % self.n, dd[first]


def budget_pairs(max_memory: int, n: int, d: int, max_bytes: int = DEFAULT_MAX_BYTES) -> int:
    """Pairs that `max_memory` bytes can hold beside the data (float64 + float32 copies) and one
    distance block: (max_memory - 12 n d - max_bytes) / PAIR_BYTES; ResourceLimit if negative."""
    max_memory = _check.integer("max_memory", max_memory, minimum=1)
    fixed = 12 * n * d + max_bytes
    if max_memory < fixed:
        raise ResourceLimit("max_memory", f"{max_memory} bytes do not hold the data and one distance "
                            f"block ({fixed} bytes for n = {n}, d = {d}, max_bytes = {max_bytes})",
                            f"at least {fixed} bytes, or a smaller max_bytes")
    return (max_memory - fixed) // PAIR_BYTES


def _thresholds(thresholds) -> list[float]:
    ts = sorted({_check.real("thresholds", t, nonneg=True) for t in np.atleast_1d(thresholds).tolist()})
    if not ts:
        raise InvalidInput("thresholds", "is empty", "at least one threshold >= 0")
    return ts


def bounded_pairs(X: np.ndarray, labels: np.ndarray, thresholds, norm: float, max_kept: int, *,
                  block: int = 2048, max_bytes: int = DEFAULT_MAX_BYTES, executor=None,
                  device: str = "cpu", progress: bool = False) -> BoundedPairs:
    """Conflict pairs at max(thresholds) with at most `max_kept` pairs held (see module docstring).

    thresholds: the grid (a sweep's 2 eps); the store falls back along it. max_kept: pair budget
    (`budget_pairs` converts bytes). Other arguments as `pairs.conflict_pairs` (screened lengths).
    """
    ts = _thresholds(thresholds)
    max_kept = _check.integer("max_kept", max_kept, minimum=0)
    plan = plan_pass(X, labels, ts[-1], norm, block, max_bytes, device, "screened")
    Xc = np.asarray(X, dtype=np.float64)
    n = Xc.shape[0]
    deg = np.zeros(n, np.int64)
    topk, level = None, len(ts) - 1
    store = PairStore(n, limit=max_kept, dtype=np.float32 if plan is None else length_dtype(plan[3]))
    if plan is not None:
        X64, order, tasks, scr = plan
        norm = scr.norm
        for done, (_, (gi, gj, dist)) in enumerate(run_blocks(X64, order, tasks, scr, executor, progress), 1):
            deg += np.bincount(gi, minlength=n)
            deg += np.bincount(gj, minlength=n)
            if topk is not None:
                topk.add(gi, gj, dist)
            if level < 0:
                continue
            if level < len(ts) - 1:
                gi, gj, dist = _maybe_within(X64, gi, gj, dist, ts[level], norm)
            if not store.fits(gi.size):
                if topk is None:                     # first overflow: split the budget, start the table
                    store.limit = _store_share(X64, store, gi, gj, dist, ts[:level], norm, max_kept,
                                               done / len(tasks))
                    topk = TopK(n, (max_kept - store.limit) // n)
                    topk.add(*store.view())
                    topk.add(gi, gj, dist)
                while level >= 0 and not store.fits(gi.size):
                    level -= 1
                    if level < 0:
                        store.keep(np.zeros(store.size, bool))
                        break
                    _, _, _, keep = _maybe_within(X64, *store.view(), ts[level], norm, mask=True)
                    store.keep(keep)
                    gi, gj, dist = _maybe_within(X64, gi, gj, dist, ts[level], norm)
                if level < 0:
                    continue
            store.append(gi, gj, dist)
    I, J, D = store.sorted_pairs()
    kept = topk.pairs() if topk is not None else (None, None, None)
    return BoundedPairs(I, J, D, ts[level] if level >= 0 else -math.inf, ts[-1], deg,
                        int(deg.sum() // 2), 0 if topk is None else topk.k, max_kept, *kept)


def _store_share(X, store, gi, gj, dist, lower: list[float], norm: float, max_kept: int,
                 frac: float) -> int:
    """Pairs of the budget left to the store at the first overflow: 1.25 x the projected final
    size (seen / frac) of the pairs at the largest smaller threshold whose projection fits in half
    the budget; 0 (the whole budget to the k-nearest table) if none does."""
    i, j, d = (np.concatenate([a, b]) for a, b in zip(store.view(), (gi, gj, dist)))
    for t in reversed(lower):
        seen = int(_maybe_within(X, i, j, d, t, norm, mask=True)[3].sum())
        want = int(math.ceil(1.25 * seen / max(frac, 1e-12)))
        if want <= max_kept // 2:
            return want
    return 0


def _maybe_within(X, i, j, d, threshold, norm, mask=False):
    """The pairs that may lie within `threshold` (val - pad <= thr, `pairs.screen_bounds`)."""
    val, pad, thr = screen_bounds(X, i, j, d, threshold, norm)
    keep = val - pad <= thr
    if mask:
        return i, j, d, keep
    return i[keep], j[keep], d[keep]
