"""Flow and POT routes agree with HiGHS on their domains; back-end refusals; the HiGHS column solver."""
from __future__ import annotations

import math

import numpy as np
import pytest

from robustdsl.errors import BackendUnavailable, InvalidInput, SolverFailed, UnsupportedProblem
from robustdsl.ir import GroupSet
from robustdsl.solvers.lp_highs import HighsGroupLP

from group_lp_helpers import make_problem


def _data(seed, n, K, unequal=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    y = rng.integers(0, K, n)
    y[:K] = np.arange(K)
    p = rng.random(n) + 0.1
    if unequal:
        p[y == 0] *= 3.0                       # unequal class masses
    return X, y, p / p.sum()


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("norm", [2.0, math.inf, 1.0])
def test_two_classes_flow_pot_highs_agree(seed, norm):
    X, y, p = _data(seed, 40, 2, unequal=seed % 2 == 0)
    prob = make_problem(X, y, 0.35, norm, p)
    vals = {b: prob.solve(b) for b in ("highs", "flow", "pot")}
    for b, sol in vals.items():
        assert abs(sol.value - vals["highs"].value) <= 1e-9, b
        assert sol.status == "optimal"
        assert sol.certificate().gap <= 1e-9
    assert set(np.unique(vals["pot"].q)) <= {0.0, 1.0}          # Koenig: an integral cover


@pytest.mark.parametrize("tiny", [1e-9, 1e-12])
def test_pot_route_with_weights_of_very_different_sizes(tiny):
    # ot.emd's plan is exact to rounding of the total mass, not of a 1e-12 weight: Koenig's
    # saturation test must not mistake that rounding for an augmenting path
    prob = make_problem(np.array([[0.0], [1.0]]), [0, 1], 1.0, 2.0, [1.0, tiny])
    ref = prob.solve("highs")
    sol = prob.solve("pot")
    assert abs(sol.value - ref.value) <= 1e-9 and sol.certificate().ok
    assert ref.value == pytest.approx(tiny, rel=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_flow_gives_at2_for_three_classes(seed):
    X, y, p = _data(10 + seed, 30, 3)
    prob = make_problem(X, y, 0.4, 2.0, p)
    a = prob.solve("flow", max_group_size=2)
    b = prob.solve("highs", max_group_size=2)
    assert abs(a.value - b.value) <= 1e-9 and a.status == b.status == "lower_bound"
    assert set(np.unique(2 * a.q)) <= {0.0, 1.0, 2.0}            # half-integral


def test_routes_refuse_outside_their_domain():
    X, y, p = _data(0, 12, 3)
    prob = make_problem(X, y, 0.4, 2.0, p)
    with pytest.raises(UnsupportedProblem):
        prob.solve("flow")
    with pytest.raises(UnsupportedProblem):
        prob.solve("pot", max_group_size=2)
    with pytest.raises(BackendUnavailable):
        prob.solve("gurobi")


def test_options_are_checked():
    X, y, p = _data(0, 12, 3)
    prob = make_problem(X, y, 0.4, 2.0, p)
    for kw, arg in [({"max_group_size": 1}, "max_group_size"), ({"time_limit": -1.0}, "time_limit"),
                    ({"certify": "yes"}, "certify"), ({"tolerance": 1}, "options")]:
        with pytest.raises(InvalidInput) as ei:
            prob.solve(**kw)
        assert ei.value.argument == arg


def test_highs_solver_protocol_duals_and_warm_restart():
    p = np.array([0.3, 0.2, 0.5])
    s = HighsGroupLP(p)
    s.add_groups(GroupSet.from_rows(np.array([[0, 1], [1, 2], [0, 2]])))
    r1 = s.solve()
    assert r1.value == pytest.approx(0.5) and r1.status == "Optimal"
    assert float(p @ r1.r) == pytest.approx(r1.value)             # strong duality, sign of the duals
    s.add_groups(GroupSet.from_rows(np.array([[0, 1, 2]])))
    r2 = s.solve()
    assert r2.value == pytest.approx(0.5) and float(p @ r2.r) == pytest.approx(0.5)
    assert np.all(r2.q == np.clip(1 - r2.r, 0, 1))
    with pytest.raises(InvalidInput):
        HighsGroupLP(np.array([0.5, -0.1]))
    with pytest.raises(InvalidInput):
        s.add_groups(GroupSet.from_rows(np.array([[0, 7]])))


def test_highs_budget_row_and_failure_status():
    s = HighsGroupLP(np.array([1.0, 1.0]), budget=0.25)
    s.add_groups(GroupSet.from_rows(np.array([[0, 1]]), cost=np.array([1.0])))
    r = s.solve()
    assert r.value == pytest.approx(0.25) and r.budget_dual == pytest.approx(1.0)
    s2 = HighsGroupLP(np.array([1.0, 1.0]))
    s2.add_groups(GroupSet(np.array([0, 2]), np.array([0, 1]), np.array([-5.0])))  # negative B: gain 6
    s2._h.changeColBounds(0, 0.0, 1.0)
    s2._h.changeRowBounds(0, 2.0, 3.0)          # row 0 needs w >= 2 but w <= 1: infeasible
    with pytest.raises(SolverFailed) as ei:
        s2.solve()
    assert ei.value.status == "Infeasible" and ei.value.backend == "highs"


@pytest.mark.parametrize("backend", ["cvxpy", "pyomo"])
def test_other_lp_backends_agree_or_are_refused(backend):
    """Through robustdsl.solvers.lp_backends when it is installed; a typed refusal before that."""
    import importlib.util
    X, y, p = _data(3, 20, 3)
    prob = make_problem(X, y, 0.5, 2.0, p)
    ref = prob.solve("highs").value
    if importlib.util.find_spec("robustdsl.solvers.lp_backends") is None:
        with pytest.raises(BackendUnavailable):
            prob.solve(backend)
    else:
        assert abs(prob.solve(backend).value - ref) <= 1e-7


@pytest.mark.parametrize("norm", [1.0, 2.0, math.inf])
@pytest.mark.parametrize("scale", [1e-25, 1e-8, 1e-7, 1.0, 1e5, 1e12])
def test_value_is_invariant_under_scaling(norm, scale):
    # a ball cost is scale invariant: AT(s X, s eps) = AT(X, eps). The l1 enclosing-ball LP is
    # solved at unit size (HiGHS' tolerances are absolute: at s = 1e-7 it moved points past eps)
    X = np.array([[-3.0, -3.0, 0.0], [1.0, 0.0, 2.0], [3.0, -2.0, -2.0], [-2.0, 2.0, -2.0]])
    eps = {1.0: 4.6, 2.0: 3.3, math.inf: 3.0}[norm]     # l_inf: the four boxes meet exactly at 3
    ref = make_problem(X, [0, 1, 2, 3], eps, norm).solve()
    sol = make_problem(X * scale, [0, 1, 2, 3], eps * scale, norm).solve()
    assert ref.value > 0.5 and sol.value == pytest.approx(ref.value, abs=1e-12)
    assert sol.certificate().ok and np.all(sol.attack.displacement(X * scale, norm) <= eps * scale * (1 + 1e-9))


@pytest.mark.parametrize("init_triples", [False, True])
def test_one_boundary_tolerance_for_pairs_groups_and_classifier(init_triples):
    # five points on a circle of radius 2.5, eps = 2.5 (1 - 1e-12): every pair and every triple has
    # radius within the boundary tolerance. A pair treated exactly while triples were admitted by the
    # tolerance gave different answers with and without init_triples, and a failing certificate
    X = np.array([[2.75, 0.25], [-2.25, 0.25], [1.75, -1.75], [0.25, 2.75], [0.25, -2.25]])
    w = np.array([0.30686052888017046, 1.0202748452996913, 0.4554690585371747, 0.29888501104312426,
                  0.5302455156208079])
    sol = make_problem(X, np.arange(5), 2.5 * (1 - 1e-12), 2.0, w).solve(init_triples=init_triples)
    tie = make_problem(X, np.arange(5), 2.5, 2.0, w).solve()
    assert sol.certificate().ok and sol.value == pytest.approx(tie.value, abs=1e-12)


@pytest.mark.parametrize("mass", [1.001e-6, 1e-3, 1e3, 0.999e6])
def test_value_scales_with_the_mass_and_certifies_relative_to_it(mass):
    # AT is linear in the weights; the certificate's gap tolerance is 1e-9 of the mass
    X, y, p = _data(3, 40, 3)
    ref = make_problem(X, y, 0.35, 2.0, p).solve()
    sol = make_problem(X, y, 0.35, 2.0, p * mass).solve()
    cert = sol.certificate()
    assert sol.value == pytest.approx(ref.value * mass, rel=1e-12) and cert.ok and cert.gap <= 1e-9 * mass
