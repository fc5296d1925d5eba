"""Geometry of balls for the barycenter route: the minimum enclosing ball of each group (exact on
a line, for l_inf, for l1 in the plane and for l2; an LP with its dual bound for l1 in 3+
dimensions), moving a point into the exact balls, and the exact (rational) test that l2 balls
meeting in a single point pin it."""
from __future__ import annotations

import itertools
import math

import numpy as np

from robustdsl.ir.barycenter_program import TransportCost, norm_rows


def pinned_point(P: np.ndarray, c: np.ndarray, eps: float) -> bool:
    """True iff, in exact rational arithmetic, every ||x_v - c||_2 <= eps and c is a convex
    combination of the members at distance exactly eps: then c is the only point of every ball
    (for any y, the convex combination gives max_v ||y - x_v||^2 >= ||y - c||^2 + eps^2)."""
    from fractions import Fraction
    e2 = Fraction(float(eps)) ** 2
    cf = [Fraction(float(t)) for t in c]
    rows = [[Fraction(float(t)) for t in x] for x in P]
    d2 = [sum((a - b) ** 2 for a, b in zip(x, cf)) for x in rows]
    if any(v > e2 for v in d2):
        return False
    T = [x for x, v in zip(rows, d2) if v == e2]
    dim = len(cf)
    for size in range(1, min(len(T), dim + 1) + 1):
        for sub in itertools.combinations(T, size):
            lam = exact_affine(list(sub), cf)
            if lam is not None and all(v >= 0 for v in lam):
                return True
    return False


def exact_affine(T: list, c: list):
    """The unique coefficients lam with sum lam_i t_i = c, sum lam_i = 1 (Fractions), or None
    (no solution, or the t_i affinely dependent)."""
    s, dim = len(T), len(c)
    M = [[T[j][i] for j in range(s)] + [c[i]] for i in range(dim)] + [[1] * s + [1]]
    r = 0
    for col in range(s):
        p = next((i for i in range(r, len(M)) if M[i][col] != 0), None)
        if p is None:
            return None          # dependent columns: a smaller subset is tried instead
        M[r], M[p] = M[p], M[r]
        for i in range(len(M)):
            if i != r and M[i][col] != 0:
                f = M[i][col] / M[r][col]
                M[i] = [a - f * b for a, b in zip(M[i], M[r])]
        r += 1
    if any(M[i][s] != 0 for i in range(r, len(M))):
        return None
    return [M[i][s] / M[i][i] for i in range(s)]


def into_balls(Xg: np.ndarray, Y: np.ndarray, cost: TransportCost, C: np.ndarray) -> np.ndarray:
    """Move solver points into the exact balls (radius cost.ball_limit).

    On a line and for l_inf balls the common part is a box: y is clipped to it (coordinate-wise);
    l1 balls in the plane are l_inf balls in the coordinates (a + b, a - b): clipped there.
    Otherwise (and where clipping is spoilt by rounding) y + a (C - y) with the smallest a in
    [0, 1] that satisfies every ball (C the enclosing-ball centre, a = 1 gives C itself)."""
    m, k, d = Xg.shape
    lim, bn = cost.ball_limit, cost.ball_norm
    out = Y.copy()
    rot = bn == 1 and d == 2

    def fwd(Z):
        return np.stack([Z[..., 0] + Z[..., 1], Z[..., 0] - Z[..., 1]], -1) if rot else Z

    def inside(P):
        return norm_rows(P[:, None, :] - Xg, bn).max(1) <= lim

    if d == 1 or math.isinf(bn) or rot:
        Xr, Yr = fwd(Xg), fwd(Y)
        lo_b, hi_b = Xr.max(1) - lim, Xr.min(1) + lim
        Yc = np.clip(Yr, np.minimum(lo_b, hi_b), np.maximum(lo_b, hi_b))
        if rot:
            Yc = np.stack([0.5 * (Yc[:, 0] + Yc[:, 1]), 0.5 * (Yc[:, 0] - Yc[:, 1])], -1)
        good = inside(Yc)
        out[good] = Yc[good]
    todo = np.flatnonzero(~inside(out))
    if todo.size:
        Xt, Yt, Ct = Xg[todo], out[todo], C[todo]
        r = norm_rows(Ct[:, None, :] - Xt, bn).max(1)
        dist = norm_rows(Yt[:, None, :] - Xt, bn)
        over = dist - lim
        den = np.maximum(dist - r[:, None], 1e-300)
        a0 = np.where(over > 0, over / den, 0.0).max(1)
        # the smallest step that is inside once rounded: a little more each try, C itself last
        for grow, add in ((1e-9, 0.0), (1e-6, 1e-15), (1e-3, 1e-12), (0.1, 1e-9), (math.inf, 1.0)):
            a = np.clip(a0 * (1.0 + grow) + add, 0.0, 1.0)
            Yn = np.where((a >= 1.0)[:, None], Ct, Yt + a[:, None] * (Ct - Yt))
            ok = norm_rows(Yn[:, None, :] - Xt, bn).max(1) <= lim
            out[todo[ok]] = Yn[ok]
            keep = ~ok
            todo, Xt, Yt, Ct, a0 = todo[keep], Xt[keep], Yt[keep], Ct[keep], a0[keep]
            if not todo.size:
                break
        if todo.size:           # not even C is inside (rounding at a tie): upper = +inf, honestly
            out[todo] = Ct
    return out


def enclosing_radius(Xg: np.ndarray, norm: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lower, upper, centre) of the minimum enclosing ball radius per group.

    Exact (up to rounding): l_inf and any norm on a line (half the largest coordinate range, the
    box centre); l1 in the plane (l_inf in the coordinates (a + b, a - b)); |S| = 2: half the
    distance; l2 with |S| = 3: circumradius if acute, else half the longest side; l2 otherwise:
    the support-set search of ball_groups.meb_l2 (upper: the largest distance from its centre,
    lower 1e-9 below).  l1 in 3 or more dimensions: ball_groups.l1_enclosing (bulk bounds, else an
    LP per group with its dual bound below).
    """
    m, k, d = Xg.shape
    if math.isinf(norm) or d == 1:
        lo_c, hi_c = Xg.min(1), Xg.max(1)
        r = 0.5 * (hi_c - lo_c).max(1)
        return r, r.copy(), 0.5 * (lo_c + hi_c)
    if k == 2:
        r = 0.5 * norm_rows(Xg[:, 0] - Xg[:, 1], norm)
        return r, r.copy(), 0.5 * (Xg[:, 0] + Xg[:, 1])
    if norm == 1 and d == 2:
        R = np.stack([Xg[..., 0] + Xg[..., 1], Xg[..., 0] - Xg[..., 1]], -1)
        lo_c, hi_c = R.min(1), R.max(1)
        r = 0.5 * (hi_c - lo_c).max(1)
        cr = 0.5 * (lo_c + hi_c)
        return r, r.copy(), np.stack([0.5 * (cr[:, 0] + cr[:, 1]), 0.5 * (cr[:, 0] - cr[:, 1])], -1)
    if norm == 2 and k == 3:
        return meb3(Xg)
    if norm == 2:
        from .ball_groups import meb_l2
        _, C = meb_l2(Xg.reshape(m * k, d), np.arange(m * k).reshape(m, k))
        rr = norm_rows(Xg - C[:, None, :], 2.0).max(1)
        return rr * (1 - 1e-9), rr, C
    from .ball_groups import l1_enclosing
    return l1_enclosing(Xg.reshape(m * k, d), np.arange(m * k).reshape(m, k))


def meb3(Xg: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    A, B, C = Xg[:, 0], Xg[:, 1], Xg[:, 2]
    sides = np.stack([norm_rows(B - C, 2.0), norm_rows(A - C, 2.0), norm_rows(A - B, 2.0)], 1)
    mids = np.stack([(B + C) / 2, (A + C) / 2, (A + B) / 2], 1)
    i = np.argmax(sides, 1)
    r = sides[np.arange(len(i)), i] / 2
    centre = mids[np.arange(len(i)), i]
    inside = norm_rows(Xg - centre[:, None, :], 2.0).max(1) <= r * (1 + 1e-12)
    # acute triangles: circumcentre in the plane of the triangle
    u, v = B - A, C - A
    uu, vv, uv = (u * u).sum(1), (v * v).sum(1), (u * v).sum(1)
    den = 2.0 * (uu * vv - uv * uv)
    safe = np.where(den > 0, den, 1.0)
    a = vv * (uu - uv) / safe
    b = uu * (vv - uv) / safe
    cc = A + a[:, None] * u + b[:, None] * v
    rc = norm_rows(Xg - cc[:, None, :], 2.0).max(1)
    use_c = ~inside & (den > 0)
    r = np.where(use_c, rc, r)
    centre = np.where(use_c[:, None], cc, centre)
    return r, r.copy(), centre
