"""The entropic multimarginal (Sinkhorn) back end: its certified interval brackets the exact value."""
from __future__ import annotations

import numpy as np
import pytest

import robustdsl as rd
from robustdsl.errors import InvalidInput, ResourceLimit, UnsupportedProblem
from robustdsl.ir.barycenter_program import BarycenterLP, TransportCost
from robustdsl.solvers.barycenter_lp import solve_barycenter_lp
from robustdsl.solvers.mot_sinkhorn import solve_sinkhorn


def _prog(n=12, K=3, seed=0, cost=TransportCost(2, 0.5, 2), delta=None):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    w = rng.uniform(0.5, 1.5, n)
    return BarycenterLP(X, np.arange(n) % K, w / w.sum(), K, cost, delta)


@pytest.mark.parametrize("cost", [TransportCost(2, 0.5, 2), TransportCost(1, 1.0, 1),
                                  TransportCost(2, 1.0, 2, eps=0.9)])
def test_bounds_bracket_the_exact_value(cost):
    prog = _prog(cost=cost, seed=1)
    exact = solve_barycenter_lp(prog, "scipy").lower
    widths = []
    for eta in (0.2, 0.05):
        s = solve_sinkhorn(prog, eta=eta, tol=1e-7)
        assert s.lower <= exact + 1e-9 <= s.upper + 2e-9
        widths.append(s.upper - s.lower)
        assert "lower bound" in s.lower_from and "upper bound" in s.upper_from
    assert widths[1] < widths[0]


def test_front_end_backend_and_direction(tiny):
    f, mt = rd.Agnostic(classes=tiny.classes), rd.Adversary(tiny)
    prob = rd.inf(f, rd.sup(mt, rd.E(mt, rd.ZeroOne(f)) - rd.OT(tiny, mt, rd.Power(2, 0.5, 2))))
    exact = prob.solve().value
    sol = prob.solve("sinkhorn", eta=0.05, tol=1e-7)
    assert sol.backend == "sinkhorn" and sol.lower <= exact + 1e-9 <= sol.upper + 2e-9
    assert "lower <= AT <= upper" in sol.info["bound_direction"]
    assert sol.certificate().lower == sol.lower


def test_refusals():
    with pytest.raises(UnsupportedProblem):
        solve_sinkhorn(_prog(delta=0.1))
    with pytest.raises(ResourceLimit):
        solve_sinkhorn(_prog(n=60), max_entries=1000)
    with pytest.raises(InvalidInput):
        solve_sinkhorn(_prog(), eta=0.0)
