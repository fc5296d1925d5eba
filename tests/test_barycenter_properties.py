"""Property-based checks (hypothesis) of the barycenter LP on random small instances."""
from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from robustdsl.ir.barycenter_program import BarycenterLP, TransportCost
from robustdsl.solvers.barycenter_lp import solve_barycenter_lp
from robustdsl.solvers.barycenter_saddle import certify

from _barycenter_ref import brute_force_value


@st.composite
def instances(draw):
    n = draw(st.integers(4, 8))
    K = draw(st.integers(2, 3))
    seed = draw(st.integers(0, 10_000))
    rng = np.random.default_rng(seed)
    X = np.round(rng.normal(size=(n, 2)), 2)          # rounding to 0.01 allows ties
    labels = rng.integers(0, K, size=n)
    w = rng.uniform(0.2, 1.0, size=n)
    tau = draw(st.sampled_from([0.2, 1.0, 5.0]))
    return X, labels, w / w.sum(), K, tau


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_squared_l2_properties(inst):
    X, lab, w, K, tau = inst
    cost = TransportCost(2, tau, 2)
    res = solve_barycenter_lp(BarycenterLP(X, lab, w, K, cost), "scipy")
    B = lambda P: float(((P - P.mean(0)) ** 2).sum() / tau)     # noqa: E731  (the mean: closed form)
    assert abs(res.lower - brute_force_value(X, lab, w, cost, K, B=B)) <= 1e-9
    assert res.upper - res.lower <= 1e-9
    assert res.lower <= 1.0 - 1.0 / K + 1e-12                    # uniform guessing bounds AT
    if K == 3:
        at2 = solve_barycenter_lp(BarycenterLP(X, lab, w, K, cost, None, 2), "scipy").lower
        assert at2 <= res.lower + 1e-12
    dearer = solve_barycenter_lp(BarycenterLP(X, lab, w, K, TransportCost(2, tau / 2, 2)), "scipy").lower
    assert dearer <= res.lower + 1e-12                            # a dearer attack never helps
    cert = certify(BarycenterLP(X, lab, w, K, cost), res)
    assert cert["ok"] and abs(cert["gap"]) <= 1e-9
