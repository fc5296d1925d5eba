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
Pure ball costs: B is 0 iff the minimum enclosing ball has radius <= cost.ball_limit (the ball
rule's boundary tolerance).

Ball + power (the closed ball of radius eps exactly): the program is solved with the radius
eps (1 + BALL_RELAX), so that it stays strictly feasible where the balls only just meet (ties from
integer data); its point is then moved into the exact balls (clipped for l_inf, for l1 in the
plane, which is l_inf rotated, and on a line; pulled towards the enclosing-ball centre otherwise)
and the weak-duality bound is evaluated at the exact radius.  The dual variables come split into a
power part and a ball part (one equality z_v = x_v - y per part), so the bound holds, and closes,
when the power and the ball are measured in different norms.  Where l2 balls only touch, the
feasible set is one point and no multiplier exists: that case is recognised exactly (the centre c
of the enclosing ball, checked in rational arithmetic to lie at distance <= eps of every member and
in the convex hull of those at distance exactly eps, is then the only point of every ball), and B
is the cost at c.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from robustdsl.errors import SolverFailed
from robustdsl.ir.barycenter_program import TransportCost, norm_rows

from .ball_geometry import enclosing_radius, into_balls, pinned_point

TOL = 1e-10
BALL_RELAX = 1e-10   # relative radius slack of the ball + power program (its duals are checked at eps)


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
                     lam: np.ndarray | None = None, U: np.ndarray | None = None,
                     Ub: np.ndarray | None = None) -> np.ndarray:
    """A certified lower bound on B(S) per group from dual information at the candidate points Y.

    Weak duality: for u_v = a_v + b_v with sum_v u_v = 0 (a_v: power part, b_v: ball part),
        B(S) >= -sum_v (u_v . x_v + phi*(||a_v||_*) + eps ||b_v||_*)
    (phi(s) = s^p / tau, dual norms of the power's and the ball's norms).  Candidates:
    - U None: a_v = phi'(||y - x_v||) g_v, b_v = lam_v h_v (g, h subgradients of the norms at
      y - x_v), balanced to sum 0 (members with y = x_v take the remainder);
    - U given: the solver's duals, U the power part and Ub the ball part (both signs tried).
    Where the ball and the power share a norm, the total u_v is also re-split optimally
    (b_v's norm = max(0, ||u_v||_* - phi'(eps))).  The best valid bound is returned.
    """
    m, k, d = Xg.shape
    if U is None:
        Z = Y[:, None, :] - Xg
        s = norm_rows(Z, cost.norm)
        A = _phi_prime(cost, s)[..., None] * _grad_norm(Z, cost.norm)
        Bb = np.zeros_like(A)
        if cost.has_ball and lam is not None:
            Bb = np.asarray(lam, dtype=np.float64)[..., None] * _grad_norm(Z, cost.ball_norm)
        free = s <= 1e-300
        nfree = free.sum(1)
        total = (A + Bb).sum(1)
        share = np.where(nfree[:, None] > 0, total / np.maximum(nfree, 1)[:, None], total / k)
        where = np.where(nfree[:, None] > 0, free, True)
        A = A - where[..., None] * share[:, None, :]
        return np.fmax(_bound_split(Xg, A, Bb, cost), _bound_from_u(Xg, A + Bb, cost))
    U = np.asarray(U, dtype=np.float64)
    Ub = np.zeros_like(U) if Ub is None else np.asarray(Ub, dtype=np.float64)
    U = U - (U + Ub).mean(1, keepdims=True)
    out = np.full(m, -np.inf)
    for sg in (1.0, -1.0):
        out = np.fmax(out, _bound_split(Xg, sg * U, sg * Ub, cost))
        out = np.fmax(out, _bound_from_u(Xg, sg * (U + Ub), cost))
    return out


def _bound_split(Xg: np.ndarray, A: np.ndarray, Bb: np.ndarray, cost: TransportCost) -> np.ndarray:
    """-sum_v ((a_v + b_v) . x_v + phi*(||a_v||_*) + eps ||b_v||_*), sum_v (a_v + b_v) = 0 given.

    p = 1 (phi* = 0 on [0, 1 / tau], +inf beyond): (a, b) is scaled down to max_v ||a_v||_* <= 1 / tau."""
    lin = -np.einsum("mkd,mkd->m", A + Bb, Xg - Xg.mean(1, keepdims=True))
    na = norm_rows(A, _dual_norm(cost.norm)) if cost.has_power else np.zeros(A.shape[:2])
    ball = cost.eps * norm_rows(Bb, _dual_norm(cost.ball_norm)).sum(1) if cost.has_ball else 0.0
    if not cost.has_ball:
        ball = np.where(np.any(Bb != 0, axis=(1, 2)), np.inf, 0.0)
    if not cost.has_power:
        return lin - ball - np.where(na.max(1) > 0, np.inf, 0.0)
    if cost.p == 1:
        amax = na.max(1)
        scale = np.where(amax > 1.0 / cost.tau, (1.0 / cost.tau) / np.maximum(amax, 1e-300), 1.0)
        return (lin - ball) * scale
    return lin - ball - _phi_star(cost, na).sum(1)


def _dual_norm(norm: float) -> float:
    return 2.0 if norm == 2 else (math.inf if norm == 1 else 1.0)


def _bound_from_u(Xg: np.ndarray, U: np.ndarray, cost: TransportCost) -> np.ndarray:
    """-sum_v (u_v . x_v + f_v*(u_v)), sum_v u_v = 0, with f_v* bounded by the best split of u_v
    when the ball and the power share a norm (or there is no power part); otherwise the ball is
    dropped (the bound of the unconstrained problem, still below B)."""
    same_norm = (not cost.has_ball) or cost.ball_norm == cost.norm or not cost.has_power
    use_ball = cost.has_ball and same_norm
    bnorm = cost.ball_norm if use_ball else cost.norm
    a = norm_rows(U, _dual_norm(bnorm))
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


def _cvxpy_solve(Xg: np.ndarray, cost: TransportCost, relax: float = 0.0):
    """All groups in one separable convex program min sum_j phi(||z_j||), z_j = x_j - y
    [, w_j = x_j - y, ||w_j||_ball <= eps (1 + relax)]; returns (Y, ball multipliers, duals of
    z_j = x_j - y (the power part), duals of w_j = x_j - y (the ball part) or None).

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
    terms, balls, beqs = [], [], []
    for j in range(k):
        nj = cp.norm(Zs[j], cost.norm, axis=1)
        terms.append(cp.sum(nj if cost.p == 1 else cp.power(nj, cost.p)))
        if cost.has_ball:     # a copy w_j of z_j carries the ball: its dual is the ball part of u_j
            W = cp.Variable((m, d))
            beqs.append(W == Xn[:, j, :] - Y)
            balls.append(cp.norm(W, cost.ball_norm, axis=1) <= cost.eps * (1.0 + relax) / ell)
    prob = cp.Problem(cp.Minimize(cp.sum(terms)), eqs + beqs + balls)
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

    def duals(cons):
        return np.stack([np.asarray(e.dual_value, dtype=float).reshape(m, d) for e in cons], 1) * back[:, None, None]

    U = duals(eqs)
    lam = Ub = None
    if balls:
        lam = np.stack([np.maximum(np.asarray(c.dual_value, dtype=float).reshape(m), 0.0) for c in balls], 1)
        lam = lam * back[:, None]
        Ub = duals(beqs)
    return C + ell[:, None] * np.asarray(Y.value, dtype=float), lam, U, Ub


def _solve_blocks(Xg: np.ndarray, cost: TransportCost, relax: float):
    """_cvxpy_solve on all groups at once; if that program fails, on each half (recursively), so
    a group whose own program fails is isolated in a few solves and returned as failed (ok False,
    zero duals): its B keeps an honest interval."""
    m, k, d = Xg.shape
    try:
        Y, lam, U, Ub = _cvxpy_solve(Xg, cost, relax)
        return Y, lam, U, Ub, np.ones(m, bool)
    except SolverFailed:
        if m == 1:
            z = np.zeros((1, k, d))
            return (Xg.mean(1), np.zeros((1, k)) if cost.has_ball else None, z,
                    z.copy() if cost.has_ball else None, np.zeros(1, bool))
    h = m // 2
    parts = [_solve_blocks(Xg[:h], cost, relax), _solve_blocks(Xg[h:], cost, relax)]
    cat = [None if parts[0][i] is None else np.concatenate([parts[0][i], parts[1][i]]) for i in range(5)]
    return tuple(cat)


def convex_barycenter(Xg: np.ndarray, cost: TransportCost) -> Barycenters:
    """General p / norms, and ball + power: one cvxpy program over all groups whose balls meet,
    certified by the dual bound (the best of the subgradient and solver duals).

    Ball + power: groups with enclosing radius r_lo > eps have B = +inf; l2 groups whose balls only
    touch (exactly one common point, checked in rational arithmetic) have B = the cost there; the
    others with r_hi <= eps are solved at the radius eps (1 + BALL_RELAX) and their points moved into
    the exact balls; a group whose radius is not decided (r_lo <= eps < r_hi) keeps the bound of the
    unconstrained program (the ball only raises B) and the cost at its centre if that is inside."""
    m, k, d = Xg.shape
    up, lo, Y = np.full(m, np.inf), np.full(m, np.inf), Xg.mean(1)
    todo = np.arange(m)
    if cost.has_ball:
        eps = cost.eps
        r_lo, r_hi, centre = enclosing_radius(Xg, cost.ball_norm)
        Y = centre.copy()
        maybe = r_lo * (1.0 - 1e-12) <= eps      # (the closed-form radii are exact up to a few ulps)
        pinned = np.zeros(m, bool)
        if cost.ball_norm == 2 or d == 1:
            for i in np.flatnonzero(maybe & (r_hi >= eps * (1.0 - 1e-12))):
                pinned[i] = pinned_point(Xg[i], centre[i], eps)
        if pinned.any():     # the centre is the only point of every ball: B is the cost there
            up[pinned] = lo[pinned] = group_cost_at(Xg[pinned], centre[pinned], cost)
        todo = np.flatnonzero(maybe & ~pinned & (r_hi <= eps))
        unsure = np.flatnonzero(maybe & ~pinned & (r_hi > eps))
        if unsure.size:  # the constraint only raises B: the unconstrained bound stays valid
            free = TransportCost(cost.p, cost.tau, cost.norm)
            up[unsure] = group_cost_at(Xg[unsure], centre[unsure], cost)
            lo[unsure] = np.minimum(barycenters(Xg[unsure], free).lower, up[unsure])
    if todo.size:
        Xt = Xg[todo]
        Yt, lam, U, Ub, _ = _solve_blocks(Xt, cost, BALL_RELAX if cost.has_ball else 0.0)
        if cost.has_ball:
            Yt = into_balls(Xt, Yt, cost, centre[todo])
        up[todo] = group_cost_at(Xt, Yt, cost)
        lo_t = np.fmax(dual_lower_bound(Xt, Yt, cost, lam), dual_lower_bound(Xt, Yt, cost, lam, U, Ub))
        lo[todo] = np.minimum(np.where(np.isnan(lo_t), 0.0, np.maximum(lo_t, 0.0)), up[todo])   # (B >= 0)
        Y[todo] = Yt
    return Barycenters(up, lo, Y, "convex program (cvxpy/Clarabel) + dual bound")


def _ball_only(Xg: np.ndarray, cost: TransportCost) -> Barycenters:
    """B = 0 iff the enclosing radius is <= cost.ball_limit (the ball rule's tolerance), else +inf."""
    lo, hi, C = enclosing_radius(Xg, cost.ball_norm)
    up = np.where(hi <= cost.ball_limit, 0.0, np.inf)
    low = np.where(lo <= cost.ball_limit, 0.0, np.inf)
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
