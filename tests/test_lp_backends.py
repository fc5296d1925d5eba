"""LP back ends of (P): highs, cvxpy, pyomo and scipy.linprog agree; duals are right; failures are typed."""
from __future__ import annotations

import importlib.util

import highspy
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linprog

from robustdsl.errors import BackendUnavailable, InvalidInput, SolverFailed
from robustdsl.ir.group_lp import GroupSet, LPData
from robustdsl.solvers import lp_backends
from robustdsl.solvers.lp_backends import (LP_BACKENDS, HighsReference, available_backends,
                                           make_lp_solver, solve_lp)

TOL = 1e-7


def random_lp(seed: int, n: int = 14, m: int = 25, budget: bool = False) -> LPData:
    """Groups of sizes 2..4 with random members and costs; some samples in no group."""
    rng = np.random.default_rng(seed)
    parts = []
    for k in (2, 3, 4):
        rows = np.array([rng.choice(n - 2, k, replace=False) for _ in range(m)])
        cost = rng.uniform(0.0, 1.2 * (k - 1), m) * (rng.random(m) < 0.7)
        parts.append(GroupSet.from_rows(rows, cost))
    return LPData(rng.uniform(0.05, 1.0, n), GroupSet.concat(parts),
                  float(rng.uniform(0.1, 2.0)) if budget else None)


def linprog_reference(data: LPData):
    """(value, r, t) by scipy's linprog on min -g.w (independent assembly)."""
    A = data.groups.incidence(data.n).toarray().T
    b = np.array(data.weights, dtype=float)
    if data.budget is not None:
        A = np.vstack([A, data.groups.cost[None, :]])
        b = np.append(b, data.budget)
    res = linprog(-data.gains, A_ub=A, b_ub=b, bounds=(0, None), method="highs")
    assert res.status == 0
    y = -res.ineqlin.marginals
    return -res.fun, y[:data.n], (y[data.n] if data.budget is not None else None)


def check_optimality(data: LPData, res) -> None:
    """Primal and dual feasibility, equal objectives, complementary slackness."""
    A = data.groups.incidence(data.n)
    g, c, p = data.gains, data.groups.cost, data.weights
    w, r = res.w, res.r
    t = res.budget_dual if data.budget is not None else 0.0
    assert np.all(w >= 0) and np.all(r >= 0) and t >= 0
    load = A.T @ w
    assert np.all(load <= p + TOL)
    reduced = A @ r + c * t - g                     # dual slack of each group, >= 0
    assert np.all(reduced >= -TOL)
    dual_obj = p @ r + (t * data.budget if data.budget is not None else 0.0)
    assert abs(dual_obj - res.value) <= TOL
    assert abs(g @ w - res.value) <= TOL
    assert np.all(np.abs(w * reduced) <= TOL)       # w_S > 0  ->  group tight in (D)
    assert np.all(np.abs(r * (p - load)) <= TOL)    # r_v > 0  ->  row v tight in (P)
    if data.budget is not None:
        assert abs(t * (data.budget - c @ w)) <= TOL
    np.testing.assert_allclose(res.q, np.clip(1 - r, 0, 1))


@pytest.mark.parametrize("budget", [False, True])
@pytest.mark.parametrize("seed", range(4))
def test_backends_agree_with_linprog(seed, budget):
    data = random_lp(seed, budget=budget)
    ref_val, ref_r, ref_t = linprog_reference(data)
    for backend in LP_BACKENDS:
        res = solve_lp(backend, data)
        assert res.backend == backend
        assert abs(res.value - ref_val) <= TOL, (backend, res.value, ref_val)
        check_optimality(data, res)
        if budget:
            assert res.budget_dual is not None
        else:
            assert res.budget_dual is None
    ref = HighsReference(data.weights, data.budget)
    ref.add_groups(data.groups)
    assert abs(ref.solve().value - ref_val) <= TOL


def test_clarabel_through_cvxpy():
    data = random_lp(7, budget=True)
    res = make_lp_solver("cvxpy", data.weights, data.budget, solver="CLARABEL")
    res.add_groups(data.groups)
    out = res.solve()
    assert abs(out.value - linprog_reference(data)[0]) <= 1e-6
    assert "CLARABEL" in out.status


@pytest.mark.parametrize("backend", LP_BACKENDS)
def test_incremental_groups_equal_one_shot(backend):
    data = random_lp(11)
    gs = data.groups
    half = gs.n_groups // 2
    first = GroupSet(gs.indptr[:half + 1], gs.indices[:gs.indptr[half]], gs.cost[:half])
    rest = GroupSet(gs.indptr[half:] - gs.indptr[half], gs.indices[gs.indptr[half]:], gs.cost[half:])
    solver = make_lp_solver(backend, data.weights)
    solver.add_groups(first)
    v1 = solver.solve().value
    solver.add_groups(rest)
    v2 = solver.solve().value
    full = solve_lp(backend, data).value
    assert v1 <= v2 + TOL
    assert abs(v2 - full) <= TOL
    assert abs(linprog_reference(LPData(data.weights, first))[0] - v1) <= TOL


@pytest.mark.parametrize("backend", LP_BACKENDS)
def test_no_groups_is_zero(backend):
    res = make_lp_solver(backend, np.ones(3) / 3).solve()
    assert res.value == 0.0 and np.all(res.q == 1.0) and res.w.size == 0


def test_hand_checked_triangle():
    # three samples of three classes, every pair and the triple admissible, equal weights 1/3:
    # merging all three gives 2 * 1/3; pairs alone give at most 1/2 -> AT = 2/3 (q sums to 1).
    gs = GroupSet.concat([GroupSet.from_rows([[0, 1], [0, 2], [1, 2]]), GroupSet.from_rows([[0, 1, 2]])])
    data = LPData(np.full(3, 1 / 3), gs)
    for backend in LP_BACKENDS:
        res = solve_lp(backend, data)
        assert abs(res.value - 2 / 3) <= TOL
        assert abs(res.q.sum() - 1.0) <= TOL and abs(res.w[3] - 1 / 3) <= TOL


@pytest.mark.parametrize("backend", LP_BACKENDS)
def test_time_limit_raises_solver_failed(backend):
    rng = np.random.default_rng(0)
    n = 300
    rows = np.array([rng.choice(n, 3, replace=False) for _ in range(2000)])
    data = LPData(rng.uniform(0.1, 1, n), GroupSet.from_rows(rows))
    with pytest.raises(SolverFailed) as err:
        solve_lp(backend, data, time_limit=0.0)
    assert err.value.backend == backend
    assert err.value.status and "time" in err.value.status.lower() or err.value.status == "user_limit"


@pytest.mark.parametrize("backend", ["cvxpy", "pyomo", "reference"])
def test_highs_ipm_option_gives_same_value(backend):
    data = random_lp(12, budget=True)
    opts = {"solver": "ipm"}
    if backend == "cvxpy":
        solver = make_lp_solver("cvxpy", data.weights, data.budget, solver="HIGHS",
                                solver_opts={"highs_options": opts})
    elif backend == "pyomo":
        solver = make_lp_solver("pyomo", data.weights, data.budget, highs_options=opts)
    else:
        solver = HighsReference(data.weights, data.budget, highs_options=opts)
    solver.add_groups(data.groups)
    res = solver.solve()
    assert abs(res.value - linprog_reference(data)[0]) <= TOL
    check_optimality(data, res)
    with pytest.raises(InvalidInput, match="highs_options"):
        bad = HighsReference(data.weights, highs_options={"no_such_option": 1})
        bad.add_groups(data.groups)
        bad.solve()


def test_monkeypatched_status_raises(monkeypatch):
    data = random_lp(3)
    monkeypatch.setattr(highspy.Highs, "getModelStatus",
                        lambda self: highspy.HighsModelStatus.kUnbounded)
    with pytest.raises(SolverFailed, match="Unbounded") as err:
        solve_lp("highs", data) if not _has_lp_highs() else _ref_solve(data)
    assert "unbounded" in err.value.status.lower()


def test_cvxpy_iteration_limit_raises():
    data = random_lp(5, n=40, m=120)
    solver = make_lp_solver("cvxpy", data.weights, solver="CLARABEL", solver_opts={"max_iter": 1})
    solver.add_groups(data.groups)
    with pytest.raises(SolverFailed) as err:
        solver.solve()
    assert err.value.status and err.value.status != "optimal"


def _has_lp_highs() -> bool:
    return importlib.util.find_spec("robustdsl.solvers.lp_highs") is not None


def _ref_solve(data):
    ref = HighsReference(data.weights, data.budget)
    ref.add_groups(data.groups)
    return ref.solve()


def test_unknown_or_missing_backend(monkeypatch):
    with pytest.raises(BackendUnavailable, match="highs"):
        make_lp_solver("gurobi", np.ones(2))
    real = importlib.util.find_spec
    monkeypatch.setattr(lp_backends.importlib.util, "find_spec",
                        lambda name, *a: None if name == "pyomo" else real(name, *a))
    with pytest.raises(BackendUnavailable, match="not installed") as err:
        make_lp_solver("pyomo", np.ones(2))
    assert "cvxpy" in str(err.value)
    assert "pyomo" not in available_backends()


def test_bad_input_is_refused_and_not_mutated():
    with pytest.raises(InvalidInput, match="weights"):
        make_lp_solver("cvxpy", [1.0, np.nan])
    with pytest.raises(InvalidInput, match="weights"):
        make_lp_solver("pyomo", [1.0, -0.5])
    with pytest.raises(InvalidInput, match="budget"):
        make_lp_solver("highs", [1.0, 1.0], budget=-1.0)
    s = make_lp_solver("cvxpy", [1.0, 1.0])
    with pytest.raises(InvalidInput, match="groups"):
        s.add_groups(GroupSet.from_rows([[0, 5]]))
    with pytest.raises(InvalidInput, match="time_limit"):
        s.solve(time_limit=-1)
    p = np.array([0.5, 0.25, 0.25])
    solver = make_lp_solver("cvxpy", p)
    solver.add_groups(GroupSet.from_rows([[0, 1], [1, 2]]))
    solver.solve()
    np.testing.assert_array_equal(p, [0.5, 0.25, 0.25])


def test_sparse_assembly_matches_dense():
    data = random_lp(2, budget=True)
    At, g, c = lp_backends.lp_matrices(data)
    assert sp.issparse(At) and At.shape == (data.n, data.groups.n_groups)
    np.testing.assert_array_equal(At.toarray(), data.groups.incidence(data.n).toarray().T)
    np.testing.assert_array_equal(g, data.groups.sizes - 1.0)
