"""Independent references for the barycenter tests: a generic optimiser for B(S) and the full LP."""
from __future__ import annotations

import itertools
import math

import numpy as np
from scipy.optimize import linprog, minimize

from robustdsl.ir.barycenter_program import TransportCost


def generic_barycenter(P: np.ndarray, cost: TransportCost) -> float:
    """min_y sum_v c(x_v, y) by scipy.optimize.minimize (Nelder-Mead, restarted) from the mean and
    a member; with an l2 ball, SLSQP under the ball constraints (+inf if no start ends inside)."""
    starts = [P.mean(0), P[0]]

    def power(y):
        return float(cost.phi(np.linalg.norm(P - y, ord=cost.norm, axis=1)).sum()) if cost.has_power else 0.0

    if cost.has_ball:
        assert cost.ball_norm == 2 and (not cost.has_power or cost.norm == 2)
        return _ball_reference(P, cost, starts)
    best = np.inf
    for s in starts:
        r = minimize(power, s, method="Nelder-Mead",
                     options={"xatol": 1e-12, "fatol": 1e-14, "maxiter": 40000, "maxfev": 40000})
        r = minimize(power, r.x, method="Nelder-Mead",      # a restart polishes a stalled simplex
                     options={"xatol": 1e-12, "fatol": 1e-14, "maxiter": 40000, "maxfev": 40000})
        best = min(best, r.fun)
    return best


def _ball_reference(P, cost, starts) -> float:
    """SLSQP on the l2 power part (smoothed sqrt(s^2 + 1e-18)) with the constraints ||x_v - y||^2 <= eps^2."""
    def smooth(y):
        s = np.sqrt(np.sum((P - y) ** 2, axis=1) + 1e-18)
        return float(cost.phi(s).sum()) if cost.has_power else 0.0

    def grad(y):
        if not cost.has_power:
            return np.zeros_like(y)
        s = np.sqrt(np.sum((P - y) ** 2, axis=1) + 1e-18)
        return ((cost.p * s ** (cost.p - 2) / cost.tau)[:, None] * (y - P)).sum(0)

    cons = [{"type": "ineq", "fun": (lambda y, v=v: cost.eps ** 2 - np.sum((P[v] - y) ** 2)),
             "jac": (lambda y, v=v: 2.0 * (P[v] - y))} for v in range(len(P))]
    best = np.inf
    for s in starts:
        r = minimize(smooth, s, jac=grad, method="SLSQP", constraints=cons, options={"ftol": 1e-15, "maxiter": 500})
        if np.all(np.linalg.norm(P - r.x, axis=1) <= cost.eps * (1 + 1e-9)):
            best = min(best, float(cost.phi(np.linalg.norm(P - r.x, axis=1)).sum()) if cost.has_power else 0.0)
    return best


def all_groups(labels: np.ndarray, L: int):
    n = labels.size
    for k in range(2, L + 1):
        for S in itertools.combinations(range(n), k):
            if len(set(labels[list(S)].tolist())) == k:
                yield S


def brute_force_value(X, labels, weights, cost, K, delta=None, B=None) -> float:
    """Every group enumerated, B(S) by the generic optimiser (or `B`), the full LP by linprog."""
    groups, costs = [], []
    for S in all_groups(labels, K):
        b = generic_barycenter(X[list(S)], cost) if B is None else B(X[list(S)])
        if np.isfinite(b):
            groups.append(S)
            costs.append(b)
    A = np.zeros((len(X), len(groups)))
    for j, S in enumerate(groups):
        A[list(S), j] = 1.0
    gain = np.array([len(S) - 1.0 for S in groups])
    c = np.array(costs)
    if delta is None:
        gain, A_ub, b_ub = gain - c, A, weights
    else:
        A_ub, b_ub = np.vstack([A, c[None, :]]), np.append(weights, delta)
    if not groups:
        return 0.0
    res = linprog(-gain, A_ub=A_ub, b_ub=b_ub, bounds=(0, None), method="highs")
    assert res.status == 0
    return float(-res.fun)


# ----------------------------------------------------------------------------- d <= 2, any norms
_G = (math.sqrt(5.0) - 1.0) / 2.0


def _norm(z, n) -> float:
    if n == 1:
        return sum(abs(t) for t in z)
    if n == 2:
        return math.sqrt(sum(t * t for t in z))
    return max(abs(t) for t in z)


def _golden(f, a: float, b: float, it: int = 90) -> float:
    """min of a convex function on [a, b] by golden-section search (the best value seen)."""
    if b <= a:
        return f(a)
    c, d = b - _G * (b - a), a + _G * (b - a)
    fc, fd = f(c), f(d)
    for _ in range(it):
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - _G * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + _G * (b - a)
            fd = f(d)
    return min(fc, fd, f(a), f(b))


def nested_barycenter(P: np.ndarray, cost: TransportCost) -> float:
    """min_y sum_v c(x_v, y) for d <= 2 and any norms, by a nested golden-section search over the
    exact common part of the closed balls (a convex set: for each first coordinate a, the second
    ranges over an interval computed from the ball's norm; the a-range is where that interval is
    non-empty, found by minimising its (convex) excess and bisecting).  Where the balls only touch,
    the one common point is reached within ~1e-12 (an interval empty by <= 1e-12 eps is its
    midpoint).  +inf when the balls have no common point."""
    pts = [[float(t) for t in r] for r in np.asarray(P)]
    d = len(pts[0])
    assert d in (1, 2)
    eps = cost.eps

    def obj(y):
        if not cost.has_power:
            return 0.0
        return sum(_norm([a - b for a, b in zip(x, y)], cost.norm) ** cost.p for x in pts) / cost.tau

    if eps is None:
        lo_a, hi_a = min(x[0] for x in pts), max(x[0] for x in pts)
    else:
        lo_a, hi_a = max(x[0] for x in pts) - eps, min(x[0] for x in pts) + eps
        if lo_a > hi_a:
            return math.inf
    if d == 1:
        return _golden(lambda a: obj([a]), lo_a, hi_a)

    def b_range(a):
        if eps is None:
            return min(x[1] for x in pts), max(x[1] for x in pts)
        lo, hi = -math.inf, math.inf
        for x in pts:
            t = abs(a - x[0])
            if cost.ball_norm == 1:
                r = eps - t
            elif cost.ball_norm == 2:
                r = math.sqrt(max(eps * eps - t * t, 0.0)) if t <= eps else -1.0
            else:
                r = eps if t <= eps else -1.0
            lo, hi = max(lo, x[1] - r), min(hi, x[1] + r)
        return lo, hi

    tol = 1e-12 * max(eps or 1.0, 1e-300)

    def excess(a):
        lo, hi = b_range(a)
        return lo - hi

    a1, a2 = lo_a, hi_a
    if eps is not None:
        # the a-range: where the b-interval is non-empty (a convex excess <= 0)
        best_a, best = lo_a, excess(lo_a)
        lo, hi = lo_a, hi_a
        for _ in range(150):
            c, dd = lo + (hi - lo) / 3, hi - (hi - lo) / 3
            if excess(c) <= excess(dd):
                hi = dd
            else:
                lo = c
        a0 = 0.5 * (lo + hi)
        for cand in (a0, lo_a, hi_a):
            if excess(cand) < best:
                best_a, best = cand, excess(cand)
        if best > tol:
            return math.inf

        def edge(outer, inner):
            for _ in range(200):
                mid = 0.5 * (outer + inner)
                if excess(mid) <= tol:
                    inner = mid
                else:
                    outer = mid
            return inner

        a1 = lo_a if excess(lo_a) <= tol else edge(lo_a, best_a)
        a2 = hi_a if excess(hi_a) <= tol else edge(hi_a, best_a)

    def inner(a):
        lo, hi = b_range(a)
        if lo > hi:
            return obj([a, 0.5 * (lo + hi)]) if lo - hi <= tol else math.inf
        return _golden(lambda b: obj([a, b]), lo, hi)

    if not cost.has_power:
        return 0.0
    return _golden(inner, a1, a2)
