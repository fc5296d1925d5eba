"""The pair LP by max-flow (solvers.pair_flow) on edges in any order and orientation, with
integral-ratio weights: its value, dual q and primal w against scipy's LP on the same graph."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog

from robustdsl.solvers.pair_flow import pair_flow


def _pair_lp(n, I, J, p):
    """min sum p r  s.t.  r_u + r_v >= 1 on every edge, 0 <= r <= 1 (scipy HiGHS)."""
    A = np.zeros((I.size, n))
    A[np.arange(I.size), I] = -1.0
    A[np.arange(I.size), J] = -1.0
    res = linprog(p, A_ub=A, b_ub=-np.ones(I.size), bounds=(0, 1), method="highs")
    assert res.status == 0
    return res.fun


@pytest.mark.parametrize("seed", range(30))
def test_flow_value_dual_and_primal_for_edges_in_any_order(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 40))
    e = np.unique(np.sort(rng.integers(0, n, (int(rng.integers(1, 3 * n)), 2)), 1), axis=0)
    e = e[e[:, 0] != e[:, 1]]
    if e.shape[0] == 0:
        return
    e = e[rng.permutation(e.shape[0])]                  # any order ...
    flip = rng.random(e.shape[0]) < 0.5                 # ... and orientation
    e[flip] = e[flip, ::-1]
    I, J = e[:, 0].copy(), e[:, 1].copy()
    p = rng.integers(1, 4, n).astype(float)
    p /= p.sum()
    before = (I.copy(), J.copy(), p.copy())
    pf = pair_flow(n, I, J, p)
    assert all(np.array_equal(a, b) for a, b in zip(before, (I, J, p)))     # inputs untouched
    ref = _pair_lp(n, I, J, p)
    assert abs(pf.value - ref) <= 1e-12
    r = 1.0 - pf.q
    assert set(np.unique(2 * r).tolist()) <= {0.0, 1.0, 2.0}               # half-integral
    assert np.all(r[I] + r[J] >= 1 - 1e-12) and abs(p @ r - ref) <= 1e-12   # dual optimal
    cover = np.bincount(I, pf.w, n) + np.bincount(J, pf.w, n)
    assert np.all(pf.w >= 0) and np.all(cover <= p + 1e-12)                 # primal feasible ...
    assert abs(pf.w.sum() - ref) <= 1e-12                                   # ... and optimal


def test_flow_without_edges_and_with_weights_not_integral_scalable():
    assert pair_flow(3, np.zeros(0, np.int64), np.zeros(0, np.int64), np.full(3, 1 / 3)).value == 0.0
    assert pair_flow(2, np.array([0]), np.array([1]), np.array([1.0, np.sqrt(2)])) is None
