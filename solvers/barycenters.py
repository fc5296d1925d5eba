"""Barycenter costs B(S) = min_x' sum_{v in S} c(x_v, x'), vectorised over groups of one size.

Every value comes as a certified interval lower <= B(S) <= upper:
- upper = sum_v c(x_v, x') evaluated at the returned point x' (always attained, +inf if x'
  leaves a ball), so it is the cost of a real attack;
- lower = a Fenchel dual bound  -sum_v (u_v . x_v + phi*(||u_v||_* - lam_v)^+ + lam_v eps)
  for any u with sum_v u_v = 0 and lam >= 0 (phi(s) = s^p / tau), built from subgradients
  at x'.  It equals B(S) at the true minimiser, so the interval closes as x' converges.

Closed forms (lower == upper): |S| = 2 (midpoint, B = 2^(1-p) d^p / tau in any norm),
squared l2 (the mean), l1 with p = 1 (coordinate-wise median).  l2 with p = 1: the geometric
median (vertex test, then Weiszfeld until upper - lower <= tol (1 + upper)).  Everything else
(other p or norms, ball + power): a convex program through cvxpy (Clarabel) with the same
dual bound, each group solved in its own centre and length scale (so the program does not depend
on the units of X and tau, and a far group's large cost does not swamp a near group's precision).
Pure ball costs: B is 0 iff the minimum enclosing ball has radius <= eps.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from robustdsl.errors import SolverFailed
from robustdsl.ir.barycenter_program import TransportCost, norm_rows

TOL = 1e-10


@dataclass(frozen=True)
class Barycenters:
    """lower <= B(S) <= upper per group; points (m, d) attain `upper`; method names the route."""

    upper: np.ndarray
    lower: np.ndarray
    points: np.ndarray
    method: str

    @property
    def value(self) -> np.ndarray:
        return self.upper


def _grad_norm(Z: np.ndarray, norm: float) -> np.ndarray:
    """A subgradient of ||z||_norm (dual norm <= 1), zero at z = 0."""
    if norm == 2:
        s = norm_rows(Z, 2.0)[..., None]
        return np.divide(Z, s, out=np.zeros_like(Z), where=s > 0)
    if norm == 1:
        return np.sign(Z)
    idx = np.argmax(np.abs(Z), axis=-1)[..., None]
    G = np.zeros_like(Z)
    np.put_along_axis(G, idx, np.sign(np.take_along_axis(Z, idx, -1)), -1)
    return G


def _phi_prime(cost: TransportCost, s: np.ndarray) -> np.ndarray:
    if not cost.has_power:
        return np.zeros_like(s)
    if cost.p == 1:
        return np.full_like(s, 1.0 / cost.tau)
    return cost.p * s ** (cost.p - 1.0) / cost.tau


def _phi_star(cost: TransportCost, t: np.ndarray) -> np.ndarray:
    """phi*(t) = sup_s t s - s^p / tau for t >= 0 (p > 1)."""
    s = (cost.tau * t / cost.p) ** (1.0 / (cost.p - 1.0))
    return t * s - s ** cost.p / cost.tau


def dual_lower_bound(Xg: np.ndarray, Y: np.ndarray, cost: TransportCost,
                     lam: np.ndarray | None = None, U: np.ndarray | None = None) -> np.ndarray:
    """A certified lower bound on B(S) per group from dual information at the candidate points Y.

    u_v = given duals U, or the subgradients phi'(||y - x_v||) g_v [+ lam_v g_v] (g_v a
    subgradient of the norm); balanced to sum_v u_v = 0 (terms with y = x_v take the remainder);
    then, for the ball part, the best lam_v = max(0, ||u_v||_* - phi'(eps)).  Any such (u, lam)
    gives a valid bound (weak duality); both signs of given duals are tried.
    """
    m, k, d = Xg.shape
    same_norm = (not cost.has_ball) or cost.ball_norm == cost.norm or not cost.has_power
    use_ball = cost.has_ball and same_norm
    bnorm = cost.ball_norm if use_ball else cost.norm
    Z = Y[:, None, :] - Xg
    if U is None:
        s = norm_rows(Z, cost.norm)
        U = _phi_prime(cost, s)[..., None] * _grad_norm(Z, cost.norm)
        if use_ball and lam is not None:
            U = U + np.asarray(lam)[..., None] * _grad_norm(Z, bnorm)
        free = norm_rows(Z, bnorm) <= 1e-300
        nfree = free.sum(1)
        total = U.sum(1)
        share = np.where(nfree[:, None] > 0, total / np.maximum(nfree, 1)[:, None], total / k)
        where = np.where(nfree[:, None] > 0, free, True)
        U = U - where[..., None] * share[:, None, :]
        return _bound_from_u(Xg, U, cost, use_ball, bnorm)
    U = np.asarray(U, dtype=np.float64)
    U = U - U.mean(1, keepdims=True)
    return np.maximum(_bound_from_u(Xg, U, cost, use_ball, bnorm), _bound_from_u(Xg, -U, cost, use_ball, bnorm))


def _bound_from_u(Xg: np.ndarray, U: np.ndarray, cost: TransportCost, use_ball: bool,
                  bnorm: float) -> np.ndarray:
    """-sum_v (u_v . x_v + phi*((||u_v||_* - lam_v)^+) + lam_v eps), sum_v u_v = 0."""
    a = norm_rows(U, 2.0 if bnorm == 2 else (math.inf if bnorm == 1 else 1.0))
    lin = -np.einsum("mkd,mkd->m", U, Xg - Xg.mean(1, keepdims=True))
    if use_ball:
        thr = float(_phi_prime(cost, np.array([cost.eps]))[0]) if cost.has_power else 0.0
        lam_opt = np.maximum(0.0, a - thr)
        rest = a - lam_opt
        conj = (_phi_star(cost, rest) if cost.has_power and cost.p > 1 else 0.0) + lam_opt * cost.eps
        return lin - np.sum(conj, axis=1)
    if cost.p == 1:
        amax = a.max(1)
        scale = np.where(amax > 1.0 / cost.tau, (1.0 / cost.tau) / np.maximum(amax, 1e-300), 1.0)
        return lin * scale
    return lin - _phi_star(cost, a).sum(1)


def group_cost_at(Xg: np.ndarray, Y: np.ndarray, cost: TransportCost) -> np.ndarray:
    """sum_{v in S} c(x_v, y_S) evaluated directly (an upper bound on B(S), +inf off the ball)."""
    return cost(Xg, Y[:, None, :]).sum(1)


def _pair(Xg: np.ndarray, cost: TransportCost) -> Barycenters:
    Y = 0.5 * (Xg[:, 0] + Xg[:, 1])
    dp = norm_rows(Xg[:, 0] - Xg[:, 1], cost.norm)
    db = norm_rows(Xg[:, 0] - Xg[:, 1], cost.ball_norm) if cost.has_ball else None
    B = cost.pair_cost(dp, db)
    return Barycenters(B, B.copy(), Y, "midpoint")


def _closed(Xg: np.ndarray, cost: TransportCost, Y: np.ndarray, method: str) -> Barycenters:
    B = group_cost_at(Xg, Y, cost)
    return Barycenters(B, B.copy(), Y, method)


def geometric_median(Xg: np.ndarray, cost: TransportCost, tol: float = TOL,
                     max_iter: int = 5000) -> Barycenters:
    """l2, p = 1: a data point x_j is optimal iff ||sum_{v: x_v != x_j} unit(x_v - x_j)|| <= #{v: x_v = x_j};
    otherwise Weiszfeld's iteration (from the mean) until upper - lower <= tol (1 + upper)."""
    m, k, d = Xg.shape
    D = Xg[:, None, :, :] - Xg[:, :, None, :]             # [g, j, v] = x_v - x_j
    dist = norm_rows(D, 2.0)
    unit = np.divide(D, dist[..., None], out=np.zeros_like(D), where=dist[..., None] > 0)
    R = norm_rows(unit.sum(2), 2.0)
    mult = (dist == 0).sum(2)
    ok = R <= mult
    tot = np.where(ok, dist.sum(2), np.inf)
    j = np.argmin(tot, axis=1)
    vertex = np.isfinite(tot[np.arange(m), j])
    Y = Xg.mean(1)
    Y[vertex] = Xg[vertex, j[vertex]]
    act = np.flatnonzero(~vertex)
    it = 0
    while act.size and it < max_iter:
        Xa, Ya = Xg[act], Y[act]
        for _ in range(20):
            dd = np.maximum(norm_rows(Xa - Ya[:, None, :], 2.0), 1e-300)
            wv = 1.0 / dd
            Ya = (wv[..., None] * Xa).sum(1) / wv.sum(1)[:, None]
        it += 20
        Y[act] = Ya
        hi = group_cost_at(Xa, Ya, cost)
        lo = dual_lower_bound(Xa, Ya, cost)
        act = act[hi - lo > tol * (1.0 + hi)]
    up = group_cost_at(Xg, Y, cost)
    lo = np.minimum(dual_lower_bound(Xg, Y, cost), up)
    return Barycenters(up, lo, Y, "geometric median (vertex test + Weiszfeld)")


def _cvxpy_solve(Xg: np.ndarray, cost: TransportCost, shrink: float = 0.0):
    """All groups in one separable convex program min sum_j phi(||z_j||), z_j = x_j - y
    [, ||z_j||_ball <= eps (1 - shrink)]; returns (Y, ball duals, duals of z_j = x_j - y).

    Group g is solved in the units x' = (x - c_g) / ell_g (c_g its mean, ell_g its largest distance
    from it) with objective sum_j ||z'_j||^p = (tau / ell_g^p) x its cost: the same minimiser, an
    objective of order 1 for every group whatever the scale of X and tau (solved in raw units,
    Clarabel lost precision or failed once ||z||^p left ~[1e-6, 1e6], e.g. p = 3 at coordinates
    1e3, p >= 5 at 1e-2, p = 20 on points 3 apart); duals are mapped back below."""
    import cvxpy as cp
    m, k, d = Xg.shape
    # each group centred at its mean and measured in its own length scale ell (the largest distance
    # of a member from the mean): the minimiser is unchanged, every group's objective is of order 1
    C = Xg.mean(1)
    ell = norm_rows(Xg - C[:, None, :], cost.norm).max(1)
    ell = np.where(ell > 0, ell, 1.0)
    Xn = (Xg - C[:, None, :]) / ell[:, None, None]
    Y = cp.Variable((m, d))
    Zs = [cp.Variable((m, d)) for _ in range(k)]
    eqs = [Zs[j] == Xn[:, j, :] - Y for j in range(k)]
    terms, balls = [], []
    for j in range(k):
        nj = cp.norm(Zs[j], cost.norm, axis=1)
        terms.append(cp.sum(nj if cost.p == 1 else cp.power(nj, cost.p)))
        if cost.has_ball:
            balls.append(cp.norm(Zs[j], cost.ball_norm, axis=1) <= cost.eps * (1.0 - shrink) / ell)
    prob = cp.Problem(cp.Minimize(cp.sum(terms)), eqs + balls)
    try:
        with warnings.catch_warnings():  # 'inaccurate' is fine: the interval is certified below
            warnings.simplefilter("ignore", UserWarning)
            prob.solve(solver="CLARABEL", tol_gap_abs=1e-11, tol_gap_rel=1e-11, tol_feas=1e-11)
    except cp.error.SolverError as exc:
        raise SolverFailed(f"cvxpy barycenter program failed: {exc}", status="solver_error",
                           backend="cvxpy") from None
    if prob.status not in ("optimal", "optimal_inaccurate") or Y.value is None:
        raise SolverFailed(f"cvxpy barycenter program ended with status {prob.status}",
                           status=prob.status, backend="cvxpy")
    # back to the original units: the objective of group g was scaled by tau / ell^p, lengths by 1 / ell
    back = ell ** (cost.p - 1.0) / cost.tau
    U = np.stack([np.asarray(e.dual_value, dtype=float).reshape(m, d) for e in eqs], 1) * back[:, None, None]
    lam = None
    if balls:
        lam = np.stack([np.maximum(np.asarray(c.dual_value, dtype=float).reshape(m), 0.0) for c in balls], 1)
        lam = lam * back[:, None]
    return C + ell[:, None] * np.asarray(Y.value, dtype=float), lam, U


def convex_barycenter(Xg: np.ndarray, cost: TransportCost) -> Barycenters:
    """General p / norms, and ball + power: one cvxpy program over all groups whose balls
    surely meet, certified by the dual bound (the best of the subgradient and solver duals)."""
    m, k, d = Xg.shape
    up, lo, Y = np.full(m, np.inf), np.full(m, np.inf), Xg.mean(1)
    todo = np.arange(m)
    if cost.has_ball:
        r_lo, r_hi, centre = enclosing_radius(Xg, cost.ball_norm)
        todo = np.flatnonzero(r_hi <= cost.eps * (1.0 - 1e-6))
        unsure = np.flatnonzero((r_lo <= cost.eps) & (r_hi > cost.eps * (1.0 - 1e-6)))
        if unsure.size:  # the constraint only raises B: the unconstrained bound stays valid
            free = TransportCost(cost.p, cost.tau, cost.norm)
            lo[unsure] = barycenters(Xg[unsure], free).lower
    if todo.size:
        Xt = Xg[todo]
        Yt, lam, U = _cvxpy_solve(Xt, cost)
        if cost.has_ball:
            Yt = _into_balls(Xt, Yt, cost, r_hi[todo], centre[todo])
        up[todo] = group_cost_at(Xt, Yt, cost)
        lo_t = np.fmax(dual_lower_bound(Xt, Yt, cost, lam), dual_lower_bound(Xt, Yt, cost, lam, U))
        lo[todo] = np.minimum(np.where(np.isnan(lo_t), 0.0, lo_t), up[todo])   # (B >= 0 always holds)
        Y[todo] = Yt
    return Barycenters(up, lo, Y, "convex program (cvxpy/Clarabel) + dual bound")


def _into_balls(Xg: np.ndarray, Y: np.ndarray, cost: TransportCost, r: np.ndarray,
                C: np.ndarray) -> np.ndarray:
    """Pull solver points slightly outside a ball back in, towards the enclosing-ball centre C
    (radius r < eps): y + a (C - y) with the smallest a in [0, 1] that satisfies every ball."""
    dist = norm_rows(Y[:, None, :] - Xg, cost.ball_norm)
    over = dist - cost.eps
    den = np.maximum(dist - r[:, None], 1e-300)
    a = np.clip(np.where(over > 0, over / den, 0.0).max(1) * (1 + 1e-9), 0.0, 1.0)
    return Y + a[:, None] * (C - Y)


def enclosing_radius(Xg: np.ndarray, norm: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lower, upper, centre) of the minimum enclosing ball radius per group.

    l_inf: exact (half the largest coordinate range); |S| = 2: half the distance; l2 with
    |S| = 3: exact (circumradius if acute, else half the longest side); otherwise cvxpy,
    with the interval [r (1 - 1e-7), r (1 + 1e-7)] as its stated tolerance.
    """
    m, k, d = Xg.shape
    if math.isinf(norm):
        lo_c, hi_c = Xg.min(1), Xg.max(1)
        r = 0.5 * (hi_c - lo_c).max(1)
        return r, r.copy(), 0.5 * (lo_c + hi_c)
    if k == 2:
        r = 0.5 * norm_rows(Xg[:, 0] - Xg[:, 1], norm)
        return r, r.copy(), 0.5 * (Xg[:, 0] + Xg[:, 1])
    if norm == 2 and k == 3:
        return _meb3(Xg)
    import cvxpy as cp
    Y, r = cp.Variable((m, d)), cp.Variable(m)
    prob = cp.Problem(cp.Minimize(cp.sum(r)), [cp.norm(Xg[:, j, :] - Y, norm, axis=1) <= r for j in range(k)])
    prob.solve(solver="CLARABEL")
    if prob.status != "optimal":
        raise SolverFailed(f"enclosing-ball program ended with status {prob.status}", prob.status, "cvxpy")
    C = np.asarray(Y.value, dtype=float)
    rr = norm_rows(Xg - C[:, None, :], norm).max(1)
    return rr * (1 - 1e-7), rr, C


def _meb3(Xg: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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


def _ball_only(Xg: np.ndarray, cost: TransportCost) -> Barycenters:
    lo, hi, C = enclosing_radius(Xg, cost.ball_norm)
    up = np.where(hi <= cost.eps, 0.0, np.inf)
    low = np.where(lo <= cost.eps, 0.0, np.inf)
    return Barycenters(up, low, C, "minimum enclosing ball")


def barycenters(Xg: np.ndarray, cost: TransportCost, tol: float = TOL) -> Barycenters:
    """B(S) for every group: Xg is (m, k, d), the k members of each of m groups."""
    Xg = np.asarray(Xg, dtype=np.float64)
    m, k, d = Xg.shape
    if m == 0:
        z = np.zeros(0)
        return Barycenters(z, z.copy(), np.zeros((0, d)), "none")
    if k == 1:
        return Barycenters(np.zeros(m), np.zeros(m), Xg[:, 0].copy(), "identity")
    if k == 2:
        return _pair(Xg, cost)
    if not cost.has_power:
        return _ball_only(Xg, cost)
    if not cost.has_ball:
        if cost.p == 2 and cost.norm == 2:
            return _closed(Xg, cost, Xg.mean(1), "mean")
        if cost.p == 1 and cost.norm == 1:
            return _closed(Xg, cost, np.median(Xg, axis=1), "coordinate-wise median")
        if cost.p == 1 and cost.norm == 2:
            return geometric_median(Xg, cost, tol)
    return convex_barycenter(Xg, cost)
