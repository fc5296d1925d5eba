"""Interior-point rounds before the exact column-generation loop (solvers/interior_rounds.py).

The rounds only choose columns; the answer comes from the exact loop that follows (IPX + crossover,
then dual simplex rounds with exact pricing and separation), so it must equal the full LP."""
from __future__ import annotations

import numpy as np
import pytest

from robustdsl.errors import InvalidInput
from robustdsl.ir import GroupLP, GroupSet
from robustdsl.solvers import cutting_plane, interior_rounds, separation
from robustdsl.solvers.lp_highs import HighsGroupLP

from test_colgen import _needs_lp

from group_lp_helpers import make_problem


def _counting(monkeypatch) -> dict:
    """Count interior (and polishing) and 'ipm' (crossover) solves of HighsGroupLP."""
    seen = {"interior": 0, "polish": 0, "ipm": 0}
    solve, interior = HighsGroupLP.solve, HighsGroupLP.solve_interior

    def solve_spy(self, time_limit=None, method="simplex"):
        seen["ipm"] += method == "ipm"
        return solve(self, time_limit, method)

    def interior_spy(self, time_limit=None, tolerance=1e-8):
        seen["interior"] += 1
        seen["polish"] += tolerance < 1e-8
        return interior(self, time_limit, tolerance)

    monkeypatch.setattr(HighsGroupLP, "solve", solve_spy)
    monkeypatch.setattr(HighsGroupLP, "solve_interior", interior_spy)
    return seen


@pytest.mark.parametrize("route", ["colgen", "split"])
@pytest.mark.parametrize("polish", [True, False])
def test_interior_rounds_then_the_exact_loop_give_the_full_lp_value(monkeypatch, route, polish):
    """Polished interior answers, and (polish=False: polishing refused) the crossover start."""
    monkeypatch.setattr(cutting_plane, "IPM_MIN", 0)          # every part takes the interior rounds
    if not polish:
        monkeypatch.setattr(interior_rounds, "polished", lambda *a: None)
    seen = _counting(monkeypatch)
    for prog, full in _needs_lp(3):
        got = cutting_plane.solve(prog, lambda p: HighsGroupLP(p), lp_route=route)
        assert got.status == "optimal"
        assert abs(got.value - full.value) <= 1e-9
        g = got.graph                                           # q feasible for every pair and group
        assert cutting_plane.violated_pairs(g, got.q).size == 0
        assert separation.violated_groups(g, prog.X, got.q, prog.eps, 2.0, 4).count == 0
        # the primal: w >= 0 within the masses, worth the value
        load = np.bincount(got.groups.indices, weights=np.repeat(got.w, got.groups.sizes), minlength=prog.n)
        assert np.all(got.w >= -1e-12) and np.all(load <= prog.weights + 1e-12)
        assert abs(float(np.dot(got.groups.sizes - 1, got.w)) - got.value) <= 1e-9
    assert seen["interior"] >= 3 and seen["polish"] >= 3
    assert seen["ipm"] == (0 if polish else seen["polish"])   # one crossover start after each refusal


def test_the_public_api_certifies_an_answer_of_the_interior_route(monkeypatch):
    monkeypatch.setattr(cutting_plane, "IPM_MIN", 0)
    monkeypatch.setattr(cutting_plane, "build_pool", lambda *a, **k: None)   # no row-form pool route
    seen = _counting(monkeypatch)
    for prog, full in _needs_lp(2):
        sol = make_problem(prog.X, prog.labels, prog.eps, 2, prog.weights).solve()
        assert sol.status == "optimal" and abs(sol.value - full.value) <= 1e-9
        cert = sol.certificate()
        assert cert.ok and cert.gap <= 1e-9
    assert seen["interior"] >= 2


def _random_triples(seed: int, n: int, draws: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct sorted triples of 0..n-1 (three different members) and random masses p."""
    rng = np.random.default_rng(seed)
    rows = np.unique(np.sort(rng.integers(0, n, (draws, 3)), 1), axis=0)
    rows = rows[(rows[:, 0] != rows[:, 1]) & (rows[:, 1] != rows[:, 2])]
    return rows, rng.uniform(0.5, 1.5, n) / n


def test_crossover_start_and_interior_solution_against_the_simplex():
    n = 30
    rows, p = _random_triples(4, n, 120)
    values = []
    for method in ("simplex", "ipm"):
        h = HighsGroupLP(p)
        h.add_groups(GroupSet.from_rows(rows))
        h.add_groups(GroupSet.from_rows(rows[:, :2]))
        values.append(h.solve(method=method).value)
    assert abs(values[0] - values[1]) <= 1e-12
    h = HighsGroupLP(p)
    h.add_groups(GroupSet.from_rows(rows))
    it = h.solve_interior()
    exact = h.solve(method="ipm")
    assert abs(it.value - exact.value) <= 1e-6 and it.q.shape == (n,)
    assert np.all((0 <= it.q) & (it.q <= 1))
    with pytest.raises(InvalidInput):
        h.solve(method="barrier")


@pytest.mark.parametrize("where", ["interior", "separation"])
def test_a_time_limit_inside_the_interior_rounds_keeps_the_pair_value(monkeypatch, where):
    """The deadline passes during the interior rounds (a slow interior solve, or a slow search):
    no exact LP was solved, so the certified lower bound is the flow's pair value AT_2."""
    import time

    monkeypatch.setattr(cutting_plane, "IPM_MIN", 0)
    if where == "interior":
        orig = HighsGroupLP.solve_interior
        monkeypatch.setattr(HighsGroupLP, "solve_interior",
                            lambda self, tl=None, tol=1e-8: (time.sleep(0.3), orig(self, tl, tol))[1])
    else:
        orig = interior_rounds.violated_groups
        monkeypatch.setattr(interior_rounds, "violated_groups",
                            lambda *a, **k: (time.sleep(0.3), orig(*a, **k))[1])
    exact = _counting(monkeypatch)
    for prog, full in _needs_lp(2):
        at2 = cutting_plane.solve(GroupLP(prog.X, prog.labels, prog.weights, prog.eps, 2.0, 4, 2))
        got = cutting_plane.solve(prog, lambda p: HighsGroupLP(p), lp_route="colgen", time_limit=0.2)
        assert got.status == "interval"
        assert abs(got.lower - at2.value) <= 1e-12
        assert got.lower <= full.value + 1e-12 <= got.upper + 2e-12
    assert exact["ipm"] == 0                      # the exact loop never started


def test_start_groups_keep_the_selection_of_the_part_size():
    rng = np.random.default_rng(5)
    n = 40
    first = {3: np.sort(rng.choice(n, (300, 3)), 1)}
    q = rng.uniform(0.3, 0.6, n)
    got = interior_rounds.start_groups(first, q, n)
    ref = separation.select(separation.Violations(first, {3: q[first[3]].sum(1)}), n, max(100, 2 * n))
    assert got.keys() == ref.keys() and np.array_equal(got[3], ref[3])
    assert got[3].shape[0] < 300


def test_capped_separation_over_all_sizes_returns_violated_groups(monkeypatch):
    from test_pool_route import _dense_instance

    X, y, eps, groups, g = _dense_instance()
    q = np.full(y.size, 0.5)
    full = separation.violated_groups(g, X, q, eps, 2.0, 4)
    monkeypatch.setattr(separation, "FIRST_LEVEL_CAP", 3)
    capped = separation.violated_groups(g, X, q, eps, 2.0, 4, capped=True)
    assert 3 <= capped.count < full.count
    admissible = {tuple(S) for S in groups}
    for k, rows in capped.rows.items():
        assert all(tuple(r) in admissible for r in rows.tolist())
        assert np.all(capped.sums[k] > 1 + 1e-9)
    monkeypatch.setattr(separation, "FIRST_LEVEL_CAP", 10 ** 9)   # no cap reached: every size
    assert separation.violated_groups(g, X, q, eps, 2.0, 4, capped=True).count == full.count


def test_polished_answers_are_feasible_and_refused_when_not_accurate():
    from dataclasses import replace

    n = 30
    rows, p = _random_triples(6, n, 150)
    h = HighsGroupLP(p)
    h.add_groups(GroupSet.from_rows(rows))
    h.add_groups(GroupSet.from_rows(np.unique(rows[:, [0, 2]], axis=0)))
    exact = h.solve().value
    groups = h.all_groups()
    it = h.solve_interior(tolerance=interior_rounds.POLISH_TOL)
    sums = np.add.reduceat(it.q[groups.indices], groups.indptr[:-1])
    excess = max(0.0, sums.max() - 1.0)
    res = interior_rounds.polished(it, groups, p, excess)
    assert res is not None and abs(res.value - exact) <= 1e-10
    load = np.bincount(groups.indices, weights=np.repeat(res.w, groups.sizes), minlength=n)
    assert np.all(load <= p * (1 + 1e-15))                      # w feasible: value <= AT
    assert np.add.reduceat(res.q[groups.indices], groups.indptr[:-1]).max() <= 1 + 1e-15   # q feasible
    assert res.value <= exact + 1e-13 and exact <= float(np.dot(p, 1 - res.q)) + 1e-13
    vertex = interior_rounds.basic_primal(res, groups, p, None)   # a basic w on res' support
    assert abs(vertex.value - exact) <= 1e-12 and np.array_equal(vertex.q, res.q)
    assert np.count_nonzero(vertex.w) <= n and np.all(vertex.w[res.w == 0] == 0)
    vload = np.bincount(groups.indices, weights=np.repeat(vertex.w, groups.sizes), minlength=n)
    assert np.all(vload <= p * (1 + 1e-15))
    over = replace(it, w=it.w * 1.01)                           # overloaded w: scaled back to feasible
    res2 = interior_rounds.polished(over, groups, p, excess)
    load2 = np.bincount(groups.indices, weights=np.repeat(res2.w, groups.sizes), minlength=n)
    assert np.all(load2 <= p * (1 + 1e-15)) and abs(res2.value - res.value) <= 1e-12
    # q violating a group by 1e-6: scaled by 1 / (1 + 1e-6), the gap is then too wide: refused
    assert interior_rounds.polished(it, groups, p, excess + 1e-6) is None
    loose = h.solve_interior(tolerance=1e-6)                     # a loose point: refused or accurate
    lsums = np.add.reduceat(loose.q[groups.indices], groups.indptr[:-1])
    lres = interior_rounds.polished(loose, groups, p, max(0.0, lsums.max() - 1.0))
    assert lres is None or abs(lres.value - exact) <= interior_rounds.POLISH_GAP * p.sum()


def test_an_interior_solve_that_fails_hands_over_to_the_simplex(monkeypatch):
    from robustdsl.errors import SolverFailed

    monkeypatch.setattr(cutting_plane, "IPM_MIN", 0)
    calls = []

    def fails(self, time_limit=None, tolerance=1e-8):
        calls.append(tolerance)
        raise SolverFailed("HiGHS did not solve the group LP (interior point): Unknown", status="Unknown")

    monkeypatch.setattr(HighsGroupLP, "solve_interior", fails)
    for prog, full in _needs_lp(2):
        got = cutting_plane.solve(prog, lambda p: HighsGroupLP(p), lp_route="split")
        assert got.status == "optimal" and abs(got.value - full.value) <= 1e-9
    assert calls


class _StoppedShort:
    """A Highs model whose runs end as IPX's 'Unknown' (stopped short of its tolerance), with the
    dual solution status `dual` (2: feasible); everything else forwarded to the real model."""

    def __init__(self, h, dual: int):
        self._h, self._dual = h, dual

    def __getattr__(self, name):
        return getattr(self._h, name)

    def getModelStatus(self):
        import highspy
        return highspy.HighsModelStatus.kUnknown

    def getInfo(self):
        info = self._h.getInfo()
        info.dual_solution_status = self._dual
        return info


def test_an_imprecise_interior_point_with_a_feasible_dual_is_used_else_refused():
    """IPX's 'Unknown' end is accepted by solve_interior only with a feasible dual left behind
    (the rounds need approximate duals; `polished` certifies whatever it is given), and never by
    the exact solves."""
    from robustdsl.errors import SolverFailed

    prog, full = next(iter(_needs_lp(1)))
    groups = cutting_plane.all_admissible_groups(prog)
    for dual, ok in ((2, True), (1, False), (0, False)):
        h = HighsGroupLP(prog.weights)
        h.add_groups(groups)
        h._h = _StoppedShort(h._h, dual)
        if ok:
            it = h.solve_interior()
            assert abs(it.value - full.value) <= 1e-6 and it.q.shape == (prog.n,)
        else:
            with pytest.raises(SolverFailed, match="Unknown"):
                h.solve_interior()
        with pytest.raises(SolverFailed, match="Unknown"):
            h.solve(method="simplex")


def test_group_set_take_keeps_members_costs_and_order():
    gs = GroupSet.concat([GroupSet.from_rows([[0, 1], [2, 5]], cost=[0.5, 0.25]),
                          GroupSet.from_rows([[1, 3, 4]], cost=[0.125])])
    sub = gs.take(np.array([2, 0]))
    assert sub.n_groups == 2 and list(sub.sizes) == [3, 2]
    assert list(sub.group(0)) == [1, 3, 4] and list(sub.group(1)) == [0, 1]
    assert list(sub.cost) == [0.125, 0.5]
    assert gs.take(np.zeros(0, np.int64)).n_groups == 0
