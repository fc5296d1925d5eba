"""Every admissible group of a small component, enumerated once, so that separation is a sum.

For a component of at most cliques.DENSE_N samples whose clique counts stay under `cap`, the
admissible groups of size 3..L (cliques of the conflict graph with distinct labels whose minimum
enclosing ball has radius <= eps) are enumerated level by level (cliques.extend on a dense
adjacency table; subsets of admissible groups are admissible, so pruning a level loses nothing).
Separation in every later round is then exact and vectorised: S is violated iff
sum_{v in S} q_v > 1 + tol over the pool (no search, no distance).

l2 decisions (`dense_l2_test`): squared distances from one float64 Gram product; a group is
decided by Jung's bound R^2 <= diam^2 (k - 1) / (2k) (accept) or by its exact minimum enclosing
ball from the distances (ball_groups.radius2_from_dist2). Groups whose screened value lies within a
relative band BAND of the threshold are re-decided from member distances measured coordinate-wise
(pairs.exact_dist), so the decisions are those of ball_groups.group_test on exact edge lengths
(the Gram error is ~1e-12 relative, six orders of magnitude inside the band).
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from .ball_groups import RTOL, admissible, circumball, radius2_from_dist2, triangle_radius2
from .cliques import DENSE_N, ConflictGraph, extend
from .pairs import exact_dist, margin_factor

BAND = 1e-6                  # relative band of the l2 screen re-decided from exact distances
POOL_CAP = 3_000_000         # largest number of candidate cliques materialised for one level


def gram_dist2(X: np.ndarray) -> np.ndarray:
    """(n, n) squared l2 distances ||a||^2 + ||b||^2 - 2 a.b in float64 (clipped at 0)."""
    sq = np.einsum("ij,ij->i", X, X)
    D2 = X @ X.T
    D2 *= -2.0
    D2 += sq[:, None]
    D2 += sq[None, :]
    np.maximum(D2, 0.0, out=D2)
    return D2


def _decide(D2: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """(admissible, screened value / threshold) of groups from (m, k, k) squared distances:
    Jung's bound first, the exact enclosing ball where it does not accept."""
    m, k, _ = D2.shape
    lim2 = (eps * (1 + RTOL)) ** 2
    jung = D2.max((1, 2)) * ((k - 1) / (2.0 * k))
    ok = jung <= eps * eps
    ratio = jung / max(eps * eps, 1e-300)
    rest = np.flatnonzero(~ok)
    if rest.size:
        r2 = radius2_from_dist2(D2[rest])
        ok[rest] = r2 <= lim2
        ratio[rest] = r2 / max(lim2, 1e-300)
    return ok, ratio


def _decide3(src, rows: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """_decide for triples from the three squared sides src(a, b) (no (m, 3, 3) table)."""
    s3, s2, s1 = src(rows[:, 0], rows[:, 1]), src(rows[:, 0], rows[:, 2]), src(rows[:, 1], rows[:, 2])
    lim2 = (eps * (1 + RTOL)) ** 2
    jung = np.maximum(np.maximum(s1, s2), s3) * (1.0 / 3.0)
    ok = jung <= eps * eps
    ratio = jung / max(eps * eps, 1e-300)
    rest = np.flatnonzero(~ok)
    if rest.size:
        r2 = triangle_radius2(s1[rest], s2[rest], s3[rest])
        ok[rest] = r2 <= lim2
        ratio[rest] = r2 / max(lim2, 1e-300)
    return ok, ratio


def _decide_rows(src, rows: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """(admissible, screened value / threshold) of the groups `rows` from squared distances src."""
    if rows.shape[1] == 3:
        return _decide3(src, rows, eps)
    return _decide(_member_dist2(src, rows), eps)


def _member_dist2(src, rows: np.ndarray) -> np.ndarray:
    """(m, k, k) squared distances of the members of each group: src(a, b) for every member pair."""
    m, k = rows.shape
    D2 = np.zeros((m, k, k))
    for i, j in itertools.combinations(range(k), 2):
        D2[:, i, j] = D2[:, j, i] = src(rows[:, i], rows[:, j])
    return D2


def facet_l2_test(X: np.ndarray, eps: float, D2: np.ndarray, facets) -> object:
    """rows -> mask for candidate k-cliques (k >= 4) whose prefix (first k - 1 members) is
    admissible: S is admissible iff its other facets S - {v} are (`facets(rows) -> mask`) and,
    when the circumcentre of S lies inside the simplex (all barycentric coordinates > 0, so the
    circumscribed ball is the minimum enclosing ball), its circumradius is <= eps; otherwise the
    enclosing ball of S is that of a facet. Degenerate or borderline groups (barycentric
    coordinate within 1e-9 of 0, radius within BAND of eps) go to the general test."""
    general = dense_l2_test(X, eps, D2)
    lim2 = (eps * (1 + RTOL)) ** 2
    screened = screen_ok(X, eps)

    def test(rows: np.ndarray) -> np.ndarray:
        m, k = rows.shape
        if k <= 3 or m == 0 or not screened:
            return general(rows)
        ok = facets(rows)
        idx = np.flatnonzero(ok)
        if idx.size == 0:
            return ok
        r2, mu_min, usable = circumball(_member_dist2(lambda a, b: D2[a, b], rows[idx]))
        ratio = r2 / max(lim2, 1e-300)
        unsure = ~usable | (np.abs(mu_min) <= 1e-9) | ((mu_min > 0) & (np.abs(ratio - 1.0) <= BAND))
        ok[idx] = (mu_min <= 0) | (ratio <= 1.0)
        if unsure.any():
            u = idx[unsure]
            ok[u] = general(rows[u])
        return ok

    return test


def screen_ok(X: np.ndarray, eps: float) -> bool:
    """Whether the float64 Gram distances of X are accurate enough for the BAND screen at eps:
    their absolute error bound (pairs.margin_factor with the float64 unit roundoff, times the
    largest ||x||^2) is below BAND eps^2 / 100 (else every group is decided from exact distances)."""
    if X.shape[0] == 0:
        return True
    err = 2.0 * margin_factor(2.0, X.shape[1], 2.0 ** -53) * float(np.einsum("ij,ij->i", X, X).max())
    return err <= 1e-2 * BAND * eps * eps


def dense_l2_test(X: np.ndarray, eps: float, D2: np.ndarray | None = None):
    """rows -> mask, the l2 admissibility test of the module docstring (X: the n <= DENSE_N points
    the rows index; D2: their Gram squared distances if already computed)."""
    G = gram_dist2(X) if D2 is None else D2
    screened = screen_ok(X, eps)

    def test(rows: np.ndarray) -> np.ndarray:
        m, k = rows.shape
        if k <= 2 or m == 0:
            return np.ones(m, bool)
        def exact(a, b):
            return exact_dist(X[a], X[b], 2.0) ** 2

        if not screened:
            return _decide_rows(exact, rows, eps)[0]
        ok, ratio = _decide_rows(lambda a, b: G[a, b], rows, eps)
        near = np.flatnonzero(np.abs(ratio - 1.0) <= BAND)
        if near.size:
            ok[near] = _decide_rows(exact, rows[near], eps)[0]
        return ok

    return test


@dataclass(frozen=True, eq=False)
class GroupPool:
    """Admissible groups {size k >= 3: (m_k, k) rows of increasing vertex ids < n}."""

    n: int
    rows: dict[int, np.ndarray]
    _codes: dict = field(default_factory=dict, repr=False)

    @property
    def count(self) -> int:
        return int(sum(r.shape[0] for r in self.rows.values()))

    def sums(self, q: np.ndarray) -> dict[int, np.ndarray]:
        """{k: sum of q over each group of size k}."""
        return {k: q[R].sum(1) for k, R in self.rows.items()}

    def violated(self, q: np.ndarray, tol: float) -> dict[int, np.ndarray]:
        """{k: ids (into rows[k]) of the groups with sum q > 1 + tol} (sizes with none left out)."""
        out = {}
        for k, s in self.sums(q).items():
            bad = np.flatnonzero(s > 1.0 + tol)
            if bad.size:
                out[k] = bad
        return out

    def locate(self, k: int, rows: np.ndarray) -> np.ndarray:
        """Ids into rows[k] of the given groups (any member order), -1 for groups not in the pool."""
        rows = np.sort(np.asarray(rows, np.int64), axis=1)
        if k not in self.rows or rows.shape[0] == 0:
            return np.full(rows.shape[0], -1, np.int64)
        if k not in self._codes:
            codes = _keys(self.rows[k], self.n)
            order = np.argsort(codes)
            self._codes[k] = (codes[order], order)
        codes, order = self._codes[k]
        key = _keys(rows, self.n)
        pos = np.minimum(np.searchsorted(codes, key), codes.size - 1)
        return np.where(codes[pos] == key, order[pos], -1)


def _keys(a: np.ndarray, n: int) -> np.ndarray:
    """Order-preserving keys of rows of increasing ids < n: packed into one int64 (12 bits an id)
    when n <= 4096 and there are at most 5 members, else a void view of the row."""
    a = np.ascontiguousarray(a, dtype=np.int64)
    k = a.shape[1]
    if k <= 5 and n <= 4096:
        key = np.zeros(a.shape[0], np.int64)
        for j in range(k):
            key = (key << 12) | a[:, j]
        return key
    return a.view(np.dtype((np.void, a.dtype.itemsize * k))).ravel()


def build_pool(g: ConflictGraph, X: np.ndarray, eps: float, norm: float, max_size: int,
               cap: int = POOL_CAP) -> GroupPool | None:
    """Every admissible group of size 3..max_size of the graph g on the points X (ids of g), or
    None when the pool is not for this graph: more than DENSE_N vertices, the l1 norm (an LP per
    group), or a level with more than `cap` candidate cliques."""
    if g.n > DENSE_N or not (norm == 2 or math.isinf(norm)):
        return None
    out: dict[int, np.ndarray] = {}
    pool = GroupPool(g.n, out)
    if norm == 2:
        def facets(rows):              # every facet through the last member is in the pool
            ok = np.ones(rows.shape[0], bool)
            k = rows.shape[1]
            for drop in range(k - 1):
                ok &= pool.locate(k - 1, np.delete(rows, drop, axis=1)) >= 0
            return ok
        test = facet_l2_test(X, eps, gram_dist2(X), facets)
    else:
        def test(rows):
            return admissible(X, rows, eps, norm)
    deg = np.diff(g.up.indptr)
    rows = g.pairs()
    for k in range(3, max_size + 1):
        if rows.shape[0] == 0:
            break
        if int(deg[rows[:, -1]].sum()) > cap:
            return None
        rows = extend(g, rows, test)
        if rows.shape[0]:
            out[k] = rows
    return pool
