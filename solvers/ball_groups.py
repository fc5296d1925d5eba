"""Admissibility of groups for ball costs and their barycenter points (MATH.md section 2).

A group S (rows of sample indices) is admissible for the eps-ball in a norm iff the smallest
ball of that norm enclosing {x_v : v in S} has radius <= eps; its centre is the barycenter x'_S.

- l2: exact minimum enclosing ball. Closed form for three points (circumradius if the triangle
  is acute, else half the longest side); for any size an exact support-set search: the MEB is the
  circumscribed ball of a subset T (centre in aff(T)) that encloses every point and whose centre
  has barycentric coordinates >= 0 in T (KKT conditions, sufficient and necessary), computed from
  the Gram matrix of the group, vectorised over groups.
- l_inf: the box test, radius = max_i (max - min) / 2, centre = box centre.
- l1: an LP per group (min r s.t. ||x_v - c||_1 <= r), exact up to the LP tolerance.

Boundary cases are decided with one relative tolerance RTOL on the radius, the same for pairs
(`pair_threshold`), larger groups, the certificate and the classifier's balls: a group admitted
here is one whose members' balls the classifier sees overlapping, and no other.
"""
from __future__ import annotations

import functools
import itertools
import math
import time

import numpy as np

RTOL = 1e-9
_CHUNK_FLOATS = 4_000_000   # floats per chunk of gathered coordinates


def pair_threshold(eps):
    """The conflict-pair distance 2 eps (1 + RTOL): a pair is a group of radius dist / 2."""
    return 2.0 * eps * (1.0 + RTOL)


def _chunks(m: int, k: int, d: int):
    step = max(1, _CHUNK_FLOATS // max(1, k * d))
    for s in range(0, m, step):
        yield slice(s, min(m, s + step))


class DeadlineReached(Exception):
    """A search passed its deadline (a time.perf_counter() value) before finishing."""


def admissible(X: np.ndarray, rows: np.ndarray, eps: float, norm: float,
               deadline: float | None = None) -> np.ndarray:
    """Boolean mask over the groups (rows of an (m, k) index array): radius(S) <= eps.
    deadline: DeadlineReached between the per-group l1 LPs once time.perf_counter() passes it."""
    rows = np.asarray(rows, dtype=np.int64)
    if rows.shape[0] == 0:
        return np.zeros(0, bool)
    thr = eps * (1 + RTOL) + 1e-300
    if norm == 1:        # the bounds decide most groups; an LP only for those between them
        lo, up, _ = l1_bounds(X, rows)
        ok = up <= thr
        for j, i in enumerate(np.flatnonzero(~ok & (lo <= thr))):
            if deadline is not None and j % 16 == 15 and time.perf_counter() > deadline:
                raise DeadlineReached()
            ok[i] = _l1_ball(X[rows[i]])[0] <= thr
        return ok
    return radius(X, rows, norm) <= thr


def l1_bounds(X: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lower, upper, centre) of the smallest enclosing l1 ball of each group, in bulk: lower =
    half the largest pairwise l1 distance (no centre is nearer to both ends of that pair), upper =
    max_v ||x_v - c||_1 at the better of the coordinate-wise midrange and median c (equal for pairs)."""
    m, k = rows.shape
    d = X.shape[1]
    lo, up, C = np.empty(m), np.empty(m), np.empty((m, d))
    ii, jj = np.triu_indices(k, 1)
    for sl in _chunks(m, k * k, d):
        P = X[rows[sl]]
        lo[sl] = 0.5 * np.abs(P[:, ii] - P[:, jj]).sum(2).max(1, initial=0.0)
        best, cbest = None, None
        for c in (0.5 * (P.max(1) + P.min(1)), np.median(P, axis=1)):
            u = np.abs(P - c[:, None, :]).sum(2).max(1)
            if best is None:
                best, cbest = u, c
            else:
                better = u < best
                best, cbest = np.where(better, u, best), np.where(better[:, None], c, cbest)
        up[sl], C[sl] = best, cbest
    return lo, up, C


def radius(X: np.ndarray, rows: np.ndarray, norm: float) -> np.ndarray:
    """Smallest enclosing radius of each group in the given norm (exact for l2/l_inf, LP for l1)."""
    rows = np.asarray(rows, dtype=np.int64)
    if norm == 2:
        if rows.shape[1] == 3:
            return np.sqrt(triple_radius2(X, rows))
        return np.sqrt(meb_l2(X, rows)[0])
    if math.isinf(norm):
        out = np.empty(rows.shape[0])
        for sl in _chunks(*rows.shape, X.shape[1]):
            P = X[rows[sl]]
            out[sl] = (P.max(1) - P.min(1)).max(1) / 2.0
        return out
    return l1_enclosing(X, rows)[1]          # the bulk bounds meet for pairs and most small groups


def centres(X: np.ndarray, rows: np.ndarray, norm: float, eps: float | None = None) -> np.ndarray:
    """(m, d) barycenter points: MEB centre (l2), box centre (l_inf), an optimal l1 centre (with
    eps given, for l1, any centre within eps (1 + RTOL) of every member: the bulk bound's where it is)."""
    rows = np.asarray(rows, dtype=np.int64)
    if norm == 2:
        return meb_l2(X, rows)[1]
    if math.isinf(norm):
        out = np.empty((rows.shape[0], X.shape[1]))
        for sl in _chunks(*rows.shape, X.shape[1]):
            P = X[rows[sl]]
            out[sl] = (P.max(1) + P.min(1)) / 2.0
        return out
    if eps is None:                                      # an optimal centre of every group
        return l1_enclosing(X, rows)[2]
    lo, up, C = l1_bounds(X, rows)
    open_ = np.flatnonzero(up > eps * (1 + RTOL) + 1e-300)   # elsewhere the bulk centre is inside every ball
    if open_.size:
        C[open_] = np.array([_l1_ball(X[r])[1] for r in rows[open_]]).reshape(open_.size, X.shape[1])
    return C


def triple_radius2(X: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Squared MEB radius of triangles: circumradius^2 if acute, else (longest side / 2)^2."""
    out = np.empty(rows.shape[0])
    for sl in _chunks(*rows.shape, X.shape[1]):
        P = X[rows[sl]]
        out[sl] = triangle_radius2(((P[:, 1] - P[:, 2]) ** 2).sum(1), ((P[:, 0] - P[:, 2]) ** 2).sum(1),
                                   ((P[:, 0] - P[:, 1]) ** 2).sum(1))
    return out


def triangle_radius2(s1: np.ndarray, s2: np.ndarray, s3: np.ndarray) -> np.ndarray:
    """Squared MEB radius from the squared side lengths of triangles (closed form)."""
    s = np.sort(np.stack([s1, s2, s3], 1), axis=1)      # a2 <= b2 <= c2
    a2, b2, c2 = s[:, 0], s[:, 1], s[:, 2]
    area16 = 2 * (a2 * b2 + b2 * c2 + c2 * a2) - a2 * a2 - b2 * b2 - c2 * c2   # 16 Area^2
    acute = (a2 + b2 > c2) & (area16 > 0)
    r2 = c2 / 4.0
    r2[acute] = (a2 * b2 * c2)[acute] / area16[acute]
    return r2


def radius2_from_dist2(D2: np.ndarray) -> np.ndarray:
    """Squared l2 MEB radius of groups given their (m, k, k) squared distance matrices
    (Euclidean MEBs depend on distances only): closed forms for k <= 3; for k >= 4 the
    circumscribed ball when its centre lies inside the simplex, else the largest facet radius
    (recursively; see `circumball`)."""
    k = D2.shape[1]
    if k == 2:
        return D2[:, 0, 1] / 4.0
    if k == 3:
        return triangle_radius2(D2[:, 1, 2], D2[:, 0, 2], D2[:, 0, 1])
    r2, mu_min, usable = circumball(D2)
    out = r2
    rest = np.flatnonzero(~(usable & (mu_min > 0)))
    if rest.size:       # the enclosing ball is not the circumscribed one: it is a facet's
        Dr = D2[rest]
        best = np.zeros(rest.size)
        for v in range(k):
            keep = [i for i in range(k) if i != v]
            best = np.maximum(best, radius2_from_dist2(Dr[:, keep][:, :, keep]))
        out[rest] = best
    return out


def circumball(D2: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(R^2, smallest barycentric coordinate of the centre, usable) of the circumscribed balls of
    simplices given by (m, k, k) squared distances: centre x_0 + sum_j lam_j a_j with
    2 H lam = diag(H) (H the Gram matrix of a_j = x_j - x_0), R^2 = lam' H lam.

    The minimum enclosing ball of S is this ball when every barycentric coordinate is > 0 (KKT);
    otherwise, and when S is (nearly) affinely dependent (usable False), its support is a proper
    subset, so its radius is the largest over the facets S - {v} (used by radius2_from_dist2)."""
    H = 0.5 * (D2[:, :1, 1:] + D2[:, 1:, :1] - D2[:, 1:, 1:])
    m, k1, _ = H.shape
    diag = np.einsum("mii->mi", H)
    scale = np.maximum(diag.max(1), 1e-300)
    usable = np.abs(np.linalg.det(H / scale[:, None, None])) > 1e-12
    Hs = H.copy()
    Hs[~usable] = np.eye(k1)
    lam = np.linalg.solve(Hs, 0.5 * diag[..., None])[..., 0]
    r2 = np.einsum("mi,mij,mj->m", lam, H, lam)
    mu_min = np.minimum(1.0 - lam.sum(1), lam.min(1))
    return r2, mu_min, usable


def meb_l2(X: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(R^2, centres) of the exact minimum enclosing l2 balls of each group (support-set search)."""
    m, k = rows.shape
    d = X.shape[1]
    R2 = np.full(m, np.inf)
    C = np.empty((m, d))
    for sl in _chunks(m, k, d):
        P = X[rows[sl]]
        A = P - P[:, :1]                                  # a_0 = 0
        H = np.einsum("mid,mjd->mij", A, A)               # Gram of the group (m, k, k)
        r2, mu = _meb_from_gram(H)
        R2[sl] = r2
        C[sl] = P[:, 0] + np.einsum("mj,mjd->md", mu, A)
    return R2, C


def _meb_from_gram(H: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """From Gram matrices H (m, k, k) of a_j = x_j - x_0: squared radius and centre coefficients mu
    (centre = x_0 + sum_j mu_j a_j), by support sets T of increasing size."""
    m, k, _ = H.shape
    best = np.full(m, np.inf)
    mu_best = np.zeros((m, k))
    done = np.zeros(m, bool)
    diagH = np.einsum("mii->mi", H)
    scale = np.maximum(diagH.max(1), 1e-300)
    for size in range(1, k + 1):
        for T in itertools.combinations(range(k), size):
            live = np.flatnonzero(~done)
            if live.size == 0:
                return best, mu_best
            Hl = H[live]
            t0, rest = T[0], list(T[1:])
            mu = np.zeros((live.size, k))
            if rest:
                Ht = Hl[:, rest][:, :, rest]
                M = Ht - Hl[:, rest, t0][:, :, None] - Hl[:, t0, rest][:, None, :] + Hl[:, t0, t0][:, None, None]
                rhs = 0.5 * np.einsum("mii->mi", M)
                det = np.linalg.det(M)
                ok = np.abs(det) > 1e-12 * scale[live] ** len(rest)
                M[~ok] = np.eye(len(rest))
                lam = np.linalg.solve(M, rhs[..., None])[..., 0]
                lam[~ok] = 0.0
                mu[:, rest] = lam
                mu[:, t0] += 1.0 - lam.sum(1)
                bary_ok = ok & (lam.min(1) >= -1e-9) & (1.0 - lam.sum(1) >= -1e-9)
            else:
                mu[:, t0] = 1.0
                bary_ok = np.ones(live.size, bool)
            Hmu = np.einsum("mij,mj->mi", Hl, mu)
            muHmu = np.einsum("mi,mi->m", mu, Hmu)
            dist2 = np.einsum("mii->mi", Hl) - 2 * Hmu + muHmu[:, None]   # |a_j - c|^2
            r2 = np.maximum(dist2[:, t0], 0.0)
            encl = dist2.max(1) <= r2 * (1 + 1e-9) + 1e-14 * scale[live]
            hit = encl & bary_ok
            better = encl & (r2 < best[live])
            best[live[better]] = r2[better]
            mu_best[live[better]] = mu[better]
            done[live[hit]] = True
    return best, mu_best


@functools.lru_cache(maxsize=64)
def _l1_matrix(k: int, d: int):
    """Constraint matrix of the l1 enclosing-ball LP over [c (d), t (k d), r], built in bulk:
    -c_i - t_vi <= -x_vi,  c_i - t_vi <= x_vi  (rows 2 (v d + i), +1),  sum_i t_vi - r <= 0."""
    from scipy.sparse import csr_matrix
    kd = k * d
    vi = np.arange(kd)
    i, t = vi % d, d + vi
    nv = d + kd + 1
    rows = np.concatenate([np.repeat(2 * vi, 2), np.repeat(2 * vi + 1, 2),
                           2 * kd + vi // d, 2 * kd + np.arange(k)])
    cols = np.concatenate([np.stack([i, t], 1).ravel(), np.stack([i, t], 1).ravel(), t, np.full(k, nv - 1)])
    vals = np.concatenate([np.full(2 * kd, -1.0), np.tile([1.0, -1.0], kd), np.ones(kd), np.full(k, -1.0)])
    return csr_matrix((vals, (rows, cols)), shape=(2 * kd + k, nv))


def l1_dual_bound(P: np.ndarray, lam: np.ndarray) -> float:
    """A lower bound on the smallest enclosing l1 radius of the rows of P from any weights lam >= 0
    summing to one (weak duality): max_v ||x_v - c||_1 >= sum_v lam_v ||x_v - c||_1, whose minimum
    over c splits by coordinate and is attained at a member's coordinate (a weighted median)."""
    dev = np.abs(P[:, None, :] - P[None, :, :])          # (v, u, i): |x_vi - x_ui|, c_i = x_ui
    return float(np.einsum("v,vui->ui", lam, dev).min(0).sum())


def _l1_ball(P: np.ndarray) -> tuple[float, np.ndarray, float]:
    """Smallest l1 ball enclosing the rows of P: min r s.t. sum_i t_vi <= r, |x_vi - c_i| <= t_vi.

    Solved on the group moved to its box centre and scaled by a power of two to unit size (HiGHS'
    tolerances are absolute). Returns (upper, c, lower): upper = max_v ||x_v - c||_1 measured at the
    LP's centre c, lower = l1_dual_bound of the LP's weights on the radius rows (both rigorous up to
    rounding of the sums, and equal to it at an optimal basis).
    """
    from scipy.optimize import linprog        # imported here: scipy.optimize costs ~0.2 s to load
    k, d = P.shape
    mid = (P.max(0) + P.min(0)) / 2.0
    half = float(np.max(np.abs(P - mid)))
    if half == 0.0:
        return 0.0, mid, 0.0
    scale = 2.0 ** -math.ceil(math.log2(half))
    Q = (P - mid) * scale
    cost = np.zeros(d + k * d + 1)
    cost[-1] = 1.0
    rhs = np.concatenate([np.stack([-Q, Q], 2).ravel(), np.zeros(k)])
    bounds = [(None, None)] * d + [(0, None)] * (k * d + 1)
    res = linprog(cost, A_ub=_l1_matrix(k, d), b_ub=rhs, bounds=bounds, method="highs")
    if res.status != 0:  # pragma: no cover - the LP is always feasible and bounded
        from robustdsl.errors import SolverFailed
        raise SolverFailed(f"l1 enclosing-ball LP failed: {res.message}", status=str(res.status),
                           backend="scipy-highs")
    c = mid + res.x[:d] / scale
    lam = np.maximum(-np.asarray(res.ineqlin.marginals[-k:], dtype=np.float64), 0.0)
    lower = l1_dual_bound(P, lam / lam.sum()) if lam.sum() > 0 else 0.0
    return float(np.abs(P - c).sum(1).max()), c, lower


def l1_enclosing(X: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lower, upper, centre) of the smallest enclosing l1 ball of each group: the bulk bounds, and
    for the groups where they differ the LP's measured radius and its dual bound (_l1_ball)."""
    lo, up, C = l1_bounds(X, rows)
    for i in np.flatnonzero(up > lo):
        r, c, low = _l1_ball(X[rows[i]])
        if r < up[i]:
            up[i], C[i] = r, c
        lo[i] = max(lo[i], min(low, up[i]))
    return lo, up, C


def group_test(X: np.ndarray, eps: float, norm: float, dist=None, deadline: float | None = None):
    """A vectorised admissibility test rows -> mask for groups of one size.

    For l2 with `dist(a, b)` (lengths of conflict edges) the exact MEB radius is computed from the
    pairwise distances of the members (no coordinates touched); otherwise from X.
    """
    lim2 = (eps * (1 + RTOL)) ** 2

    def test(rows: np.ndarray) -> np.ndarray:
        m, k = rows.shape
        if k <= 2 or m == 0:
            return np.ones(m, bool)
        if norm == 2 and dist is not None:
            D2 = np.zeros((m, k, k))
            for i, j in itertools.combinations(range(k), 2):
                D2[:, i, j] = D2[:, j, i] = dist(rows[:, i], rows[:, j]) ** 2
            # Jung's theorem: R^2 <= diam^2 (k - 1) / (2k) for k points, so small groups pass at once
            ok = D2.max((1, 2)) * ((k - 1) / (2.0 * k)) <= eps * eps
            rest = np.flatnonzero(~ok)
            if rest.size:
                ok[rest] = radius2_from_dist2(D2[rest]) <= lim2
            return ok
        return admissible(X, rows, eps, norm, deadline)

    return test
