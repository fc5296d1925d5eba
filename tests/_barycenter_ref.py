"""Independent references for the barycenter tests: a generic optimiser for B(S) and the full LP."""
from __future__ import annotations

import itertools

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
