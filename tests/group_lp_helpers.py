"""Independent reference computations for the group-LP tests (brute force, scipy linprog)."""
from __future__ import annotations

import itertools
import math

import numpy as np
from scipy.optimize import linprog, minimize

import robustdsl as rd


def make_problem(X, y, eps, norm=2, weights=None, classes=None):
    mu = rd.EmpiricalMeasure.from_arrays(X, y, weights, classes=classes)
    f = rd.Agnostic(classes=classes if classes is not None else mu.classes)
    mt = rd.Adversary(mu)
    return rd.inf(f, rd.sup(mt, rd.E(mt, rd.ZeroOne(f)) - rd.OT(mu, mt, rd.Ball(eps, norm))))


def enclosing_radius(P: np.ndarray, norm: float) -> float:
    """min_c max_j ||x_j - c|| by a generic method (SLSQP for l2, LP for l_inf / l1 via scipy)."""
    k, d = P.shape
    if math.isinf(norm):
        return float((P.max(0) - P.min(0)).max() / 2)
    if norm == 2:
        c0 = P.mean(0)
        t0 = float(((P - c0) ** 2).sum(1).max())
        cons = [{"type": "ineq", "fun": (lambda z, j=j: z[-1] - ((P[j] - z[:-1]) ** 2).sum())} for j in range(k)]
        res = minimize(lambda z: z[-1], np.append(c0, t0), constraints=cons, method="SLSQP",
                       options={"ftol": 1e-14, "maxiter": 500})
        return float(math.sqrt(max(res.x[-1], 0.0)))
    # l1: variables c (d), u (k, d) >= |x - c|, t; min t, sum_i u_ji <= t
    nv = d + k * d + 1
    A, b = [], []
    for j in range(k):
        for i in range(d):
            for sgn in (1.0, -1.0):
                row = np.zeros(nv)
                row[i] = -sgn
                row[d + j * d + i] = -1.0
                A.append(row)
                b.append(-sgn * P[j, i])
        row = np.zeros(nv)
        row[d + j * d:d + (j + 1) * d] = 1.0
        row[-1] = -1.0
        A.append(row)
        b.append(0.0)
    c = np.zeros(nv)
    c[-1] = 1
    res = linprog(c, A_ub=np.array(A), b_ub=np.array(b), bounds=[(None, None)] * d + [(0, None)] * (k * d + 1))
    return float(res.fun)


def all_groups(X, y, eps, norm, max_size=None):
    """Every admissible group (distinct labels, enclosing radius <= eps), by brute force."""
    n = len(y)
    K = len(set(y.tolist()))
    L = K if max_size is None else min(K, max_size)
    diff = np.abs(X[:, None] - X[None])
    D = np.sqrt((diff ** 2).sum(-1)) if norm == 2 else (diff.max(-1) if math.isinf(norm) else diff.sum(-1))
    out = []
    for k in range(2, L + 1):
        for S in itertools.combinations(range(n), k):
            if len(set(y[list(S)].tolist())) < k or D[np.ix_(S, S)].max() > 2 * eps:
                continue                  # necessary: every pair of balls meets
            if enclosing_radius(X[list(S)], norm) <= eps:
                out.append(S)
    return out


def full_lp(weights, groups) -> float:
    """max sum w_S (|S| - 1) s.t. sum_{S contains v} w_S <= p_v, by scipy linprog (all groups)."""
    if not groups:
        return 0.0
    A = np.zeros((len(weights), len(groups)))
    for j, S in enumerate(groups):
        A[list(S), j] = 1
    res = linprog(-np.array([len(S) - 1.0 for S in groups]), A_ub=A, b_ub=weights, bounds=(0, None),
                  method="highs")
    assert res.status == 0
    return -float(res.fun)


def classifier_lp(weights, labels, groups) -> float:
    """min over per-cell classifiers f_S of sum_v p_v max_{cells S containing v} (1 - f_S(y_v)),
    cells = admissible groups and singletons (the min-max written from the classifier's side)."""
    n = len(weights)
    cells = [(v,) for v in range(n)] + list(groups)
    K = int(labels.max()) + 1
    nf = len(cells) * K
    nv = nf + n
    A, b = [], []
    for c, S in enumerate(cells):
        row = np.zeros(nv)
        row[c * K:(c + 1) * K] = 1.0
        A.append(row)
        b.append(1.0)
        for v in S:                      # 1 - f_S(y_v) <= t_v
            row = np.zeros(nv)
            row[c * K + labels[v]] = -1.0
            row[nf + v] = -1.0
            A.append(row)
            b.append(-1.0)
    cost = np.concatenate([np.zeros(nf), weights])
    res = linprog(cost, A_ub=np.array(A), b_ub=np.array(b), bounds=(0, None), method="highs")
    assert res.status == 0
    return float(res.fun)


def pure_attack_max(weights, labels, groups) -> float:
    """max over pure adversaries (each sample moves all its mass to one cell containing it) of the
    best-response risk sum_cells (mass - heaviest class mass): a lower bound on AT."""
    n = len(weights)
    options = [[(v,)] + [S for S in groups if v in S] for v in range(n)]
    best = 0.0
    for choice in itertools.product(*options):
        cell_mass: dict = {}
        for v, S in enumerate(choice):
            cell_mass.setdefault(S, {})
            cell_mass[S][labels[v]] = cell_mass[S].get(labels[v], 0.0) + weights[v]
        risk = sum(sum(m.values()) - max(m.values()) for m in cell_mass.values())
        best = max(best, risk)
    return best


def slow_lp_solves(monkeypatch, cls, seconds: float = 0.3) -> None:
    """Make every cls.solve (an LP back end) sleep `seconds` after solving: a time limit then
    passes inside the cutting-plane loop."""
    import time

    orig = cls.solve

    def slow(self, time_limit=None):
        res = orig(self, time_limit)
        time.sleep(seconds)
        return res

    monkeypatch.setattr(cls, "solve", slow)
