"""The group pool, its row-form cutting-plane route, and the fast enclosing-ball radius.

Every check is against an independent computation: the coordinate support-set MEB (meb_l2) and a
generic optimiser for radii, the level-by-level clique enumeration with the coordinate test for
the pool, the column-form working-set loop (lp_route='full') and the explicit full LP for values.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from robustdsl.ir import GroupLP
from robustdsl.solvers import cutting_plane, lp_highs, pool_cg
from robustdsl.solvers.ball_groups import group_test, meb_l2, radius2_from_dist2
from robustdsl.solvers.cliques import ConflictGraph, enumerate_cliques
from robustdsl.solvers.group_pool import build_pool, dense_l2_test, screen_ok
from robustdsl.solvers.pool_cg import repair_overflow

from group_lp_helpers import all_groups, enclosing_radius, full_lp, make_problem


def _dist2(X, rows):
    P = X[rows]
    return ((P[:, :, None, :] - P[:, None, :, :]) ** 2).sum(-1)


@pytest.mark.parametrize("seed", range(6))
def test_radius_from_distances_matches_coordinate_meb(seed):
    rng = np.random.default_rng(seed)
    for k in (4, 5, 6, 7):
        d = int(rng.integers(1, 7))
        X = rng.normal(size=(60 * k, d))
        if seed % 2:
            X = np.round(X)                       # ties, repeated points, affinely dependent groups
        rows = rng.permutation(60 * k).reshape(60, k)
        R2 = meb_l2(X, rows)[0]
        got = radius2_from_dist2(_dist2(X, rows))
        assert np.allclose(got, R2, rtol=1e-9, atol=1e-12)
    for r in rows[:5]:                            # and a generic optimiser on a few
        assert math.sqrt(radius2_from_dist2(_dist2(X, r[None]))[0]) == pytest.approx(
            enclosing_radius(X[r], 2.0), rel=1e-5, abs=1e-6)


def test_jung_bound_never_accepts_a_group_outside_the_ball():
    """diam^2 (k - 1) / (2k) >= R^2 (Jung): every group the bound accepts has exact radius <= eps."""
    rng = np.random.default_rng(3)
    accepted = 0
    for k in (3, 4, 5, 6):
        X = rng.normal(size=(4000 * k, int(rng.integers(2, 9))))
        rows = np.arange(4000 * k).reshape(4000, k)
        D2 = _dist2(X, rows)
        eps = float(np.median(np.sqrt(D2.max((1, 2)) * (k - 1) / (2 * k))))
        jung = D2.max((1, 2)) * (k - 1) / (2.0 * k) <= eps * eps
        accepted += int(jung.sum())
        assert np.all(meb_l2(X, rows[jung])[0] <= eps * eps * (1 + 1e-12))
    assert accepted > 1000


def _instance(seed, n=36, K=4, d=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    if seed % 3 == 0:
        X[5:9] = X[0]                             # repeated points
    y = np.arange(n) % K
    rng.shuffle(y)
    return X, y


def _graph(X, y, eps, norm):
    prog = GroupLP(X, y, np.full(len(y), 1 / len(y)), eps, norm, int(y.max()) + 1, None)
    return cutting_plane.conflict_graph(prog)


def _sorted_rows(R):
    R = np.sort(R, axis=1)
    return R[np.lexsort(R.T[::-1])]


@pytest.mark.parametrize("norm", [2.0, math.inf])
@pytest.mark.parametrize("seed", range(5))
def test_pool_is_every_admissible_group(seed, norm):
    X, y = _instance(seed, K=3 + seed % 3)
    for eps in (0.0, 0.5, 0.9, 1.4):
        g = _graph(X, y, eps, norm)
        pool = build_pool(g, X, eps, norm, int(y.max()) + 1)
        ref = enumerate_cliques(g, int(y.max()) + 1, keep=group_test(X, eps, norm))
        ref = {k: r for k, r in ref.items() if k >= 3 and r.shape[0]}
        assert sorted(pool.rows) == sorted(ref)
        for k in ref:
            assert np.array_equal(_sorted_rows(pool.rows[k]), _sorted_rows(ref[k]))
            assert np.all(pool.locate(k, ref[k][:, ::-1]) >= 0)           # any member order
        assert pool.locate(3, np.array([[0, 0, 0]])).tolist() == [-1] or 3 not in pool.rows


def test_pool_refuses_l1_big_graphs_and_big_levels():
    X, y = _instance(1)
    g = _graph(X, y, 1.0, 2.0)
    assert build_pool(g, X, 1.0, 1.0, 4) is None                             # l1: an LP a group
    assert build_pool(g, X, 1.0, 2.0, 4, cap=1) is None                      # over the cap
    big = ConflictGraph(3000, np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(3000, np.int64))
    assert build_pool(big, np.zeros((3000, 2)), 1.0, 2.0, 4) is None        # beyond DENSE_N


def test_gram_screen_rechecks_the_band_exactly():
    """Groups placed exactly on the threshold and just inside / outside of the boundary tolerance
    RTOL = 1e-9 (far below the screen's band) get the decisions of the exact-distance test."""
    t = np.array([[0.0, 0.0], [2.0, 0.0], [1.0, math.sqrt(3.0)]])           # equilateral, R = 2/sqrt(3)
    R = 2.0 / math.sqrt(3.0)
    X = np.concatenate([t + 100.0 * i for i in range(3)])
    rows = np.arange(9).reshape(3, 3)
    for eps, want in ((R, True), (R * (1 + 1e-9), True), (R * (1 - 0.5e-9), True), (R * (1 - 3e-9), False)):
        assert screen_ok(X, eps)
        assert dense_l2_test(X, eps)(rows).tolist() == [want] * 3
        exact = group_test(X, eps, 2.0)(rows)
        assert exact.tolist() == [want] * 3


@pytest.mark.parametrize("seed", range(8))
def test_repair_overflow_gives_a_feasible_primal(seed):
    """Row duals over-covering samples: afterwards every sample carries at most min(load, p_v), every
    piece is a sub-group of an input group, and the gain sum (|S| - 1) w drops by exactly the
    removed excess sum_v e_v (no piece loses every member when each group has at most one
    over-covered member; dropped single-member pieces have gain 0)."""
    rng = np.random.default_rng(seed)
    n = 15
    rows, y = {}, {}
    for k in (2, 3, 4):
        if seed % 2:                                      # at most one of 0..4 (over-covered) a group
            R = np.stack([np.concatenate([rng.choice(5, 1), rng.choice(np.arange(5, n), k - 1, replace=False)])
                          for _ in range(12)])
        else:
            R = np.stack([rng.choice(n, k, replace=False) for _ in range(12)])
        rows[k], y[k] = np.sort(R, axis=1), rng.random(12)
    load = np.zeros(n)
    for k in rows:
        np.add.at(load, rows[k].ravel(), np.repeat(y[k], k))
    p = load * rng.uniform(0.4, 1.6, n)                   # about half the samples over-covered
    if seed % 2:
        p = np.where(np.arange(n) < 5, 0.5 * load, 1.5 * load)
    prow, pmass = repair_overflow(rows, y, p)
    new = np.zeros(n)
    for k in prow:
        assert np.all(pmass[k] > 0) and prow[k].shape[1] == k
        np.add.at(new, prow[k].ravel(), np.repeat(pmass[k], k))
    over = load > p
    assert over.any() and (~over).any()
    assert np.all(new <= np.minimum(load, p) * (1 + 1e-12) + 1e-12)
    sets = [set(r) for k in rows for r in rows[k].tolist()]
    for k in prow:
        for r in prow[k].tolist():
            assert any(set(r) <= s for s in sets)
    gain = sum((k - 1) * pmass[k].sum() for k in pmass)
    want = sum((k - 1) * y[k].sum() for k in y) - float(np.maximum(load - p, 0).sum())
    assert gain >= want - 1e-12
    single = all(np.count_nonzero(over[r]) <= 1 for k in rows for r in rows[k])
    if single:
        assert gain == pytest.approx(want, abs=1e-12)
    assert single == bool(seed % 2)


def _needs_lp(seed):
    rng = np.random.default_rng(seed)
    n, K, d = 80, int(rng.integers(3, 6)), 2
    X = rng.normal(size=(n, d))
    y = np.arange(n) % K
    rng.shuffle(y)
    return X, y, rng.random(n) + 0.5, 0.45


@pytest.mark.parametrize("seed", range(6))
def test_pool_route_equals_the_column_route_and_certifies(seed, monkeypatch):
    X, y, p, eps = _needs_lp(seed)
    p = p / p.sum()
    made = []
    orig = lp_highs.HighsCutLP.__init__

    def counting(self, *a, **k):
        made.append(1)
        orig(self, *a, **k)

    monkeypatch.setattr(lp_highs.HighsCutLP, "__init__", counting)
    for w in (p, np.full(len(y), 1 / len(y))):     # uneven weights: no flow; uniform: flow first
        prog = GroupLP(X, y, w, eps, 2.0, int(y.max()) + 1, None)
        pooled = cutting_plane.solve(prog)
        column = cutting_plane.solve(prog, lp_route="full")
        assert pooled.status == column.status == "optimal"
        assert abs(pooled.value - column.value) <= 1e-9
        sol = make_problem(X, y, eps, 2, w).solve()
        assert abs(sol.value - column.value) <= 1e-9
        cert = sol.certificate()
        assert cert.ok and cert.gap <= 1e-9
    assert made                                        # the row-form route did run


@pytest.mark.parametrize("seed", range(4))
def test_pool_route_matches_full_enumeration(seed):
    X, y, p, eps = _needs_lp(100 + seed)
    X, y, p = X[:24], y[:24], np.full(24, 1 / 24)
    expected = full_lp(p, all_groups(X, y, eps * 1.6, 2.0))
    got = cutting_plane.solve(GroupLP(X, y, p, eps * 1.6, 2.0, int(y.max()) + 1, None))
    assert abs(got.value - expected) <= 1e-9
    # the returned primal is feasible for (P) and attains the value
    load = np.zeros(24)
    sizes = got.groups.sizes
    for i in np.flatnonzero(got.w > 0):
        load[got.groups.group(i)] += got.w[i]
    assert np.all(load <= p * (1 + 1e-9))
    assert abs(float(np.dot(sizes - 1, got.w)) - got.value) <= 1e-9


def test_cut_lp_equals_column_lp_on_a_closed_working_set():
    from robustdsl.ir import GroupSet

    X, y, p, eps = _needs_lp(7)
    p = p / p.sum()
    found = enumerate_cliques(_graph(X, y, eps, 2.0), int(y.max()) + 1, keep=group_test(X, eps, 2.0))
    groups = [tuple(r) for k in sorted(found) for r in found[k].tolist()]
    sets = GroupSet.concat([GroupSet.from_rows(found[k]) for k in sorted(found)])
    cut, col = lp_highs.HighsCutLP(p), lp_highs.HighsGroupLP(p)
    cut.add_groups(sets)
    col.add_groups(sets)
    a, b = cut.solve(), col.solve()
    assert abs(a.value - b.value) <= 1e-10 and abs(a.value - full_lp(p, groups)) <= 1e-9
    assert np.all(a.q >= 0) and np.all(a.q <= 1)
    assert np.all(sets.incidence(len(p)) @ a.q <= 1 + 1e-9)


@pytest.mark.parametrize("norm", [math.inf, 2.0])
def test_pool_route_on_denser_instances_matches_the_column_route(norm):
    """Uniform points in [0, 1]^4, five classes, eps up to the point where groups of five abound."""
    rng = np.random.default_rng(1)
    X, y = rng.random((160, 4)), rng.integers(0, 5, 160)
    for eps in (0.1, 0.16 if math.isinf(norm) else 0.2):
        prog = GroupLP(X, y, np.full(160, 1 / 160), eps, norm, 5, None)
        pooled, column = cutting_plane.solve(prog), cutting_plane.solve(prog, lp_route="full")
        assert pooled.status == column.status == "optimal"
        assert abs(pooled.value - column.value) <= 1e-9
    assert pooled.info["groups_by_size"].get(4, 0) > 0


def _dense_instance():
    """30 points with many admissible groups: X, y, eps, every admissible group, the pair graph."""
    X, y, _, eps = _needs_lp(7)
    X, y = X[:30], y[:30]
    eps *= 1.6
    groups = all_groups(X, y, eps, 2.0)
    pairs = np.array([S for S in groups if len(S) == 2])
    return X, y, eps, groups, ConflictGraph(y.size, pairs[:, 0], pairs[:, 1], y, None)


def test_first_level_separation_stops_at_its_cap_and_the_loop_stays_exact(monkeypatch):
    """A first_level search keeps at most about FIRST_LEVEL_CAP violated groups (a subset, each
    truly violated and admissible); the cutting-plane loop still reaches the exact value, since
    only a search that finds nothing ends it."""
    from robustdsl.solvers import cliques, separation

    X, y, eps, groups, g = _dense_instance()
    n = y.size
    q = np.full(n, 0.5)
    full = separation.violated_groups(g, X, q, eps, 2.0, 3, min_size=3)
    assert full.count > 6
    monkeypatch.setattr(cliques, "_MAX_EXPAND", 4)          # many small spans
    monkeypatch.setattr(separation, "FIRST_LEVEL_CAP", 3)
    capped = separation.violated_groups(g, X, q, eps, 2.0, 3, min_size=3, first_level=True)
    assert 3 <= capped.count < full.count
    admissible = {tuple(S) for S in groups}
    assert all(tuple(r) in admissible for r in capped.rows[3].tolist())
    assert np.all(capped.sums[3] > 1 + 1e-9)
    p = np.full(n, 1 / n)
    expected = full_lp(p, groups)
    monkeypatch.setattr(separation, "FIRST_LEVEL_CAP", 1)
    got = cutting_plane.solve(GroupLP(X, y, p, eps, 2.0, int(y.max()) + 1, None), lp_route="full")
    assert got.status == "optimal" and abs(got.value - expected) <= 1e-9


def test_cut_lp_drops_non_binding_rows_without_moving_the_optimum():
    """HighsCutLP.drop_rows: rows with y_S = 0 and slack go, the optimum and the remaining rows stay,
    the re-solve starts from the kept basis (no pivot); positions outside the LP are refused."""
    from robustdsl.errors import InvalidInput
    from robustdsl.ir import GroupSet

    X, y, p, eps = _needs_lp(7)
    p = p / p.sum()
    found = enumerate_cliques(_graph(X, y, eps, 2.0), int(y.max()) + 1, keep=group_test(X, eps, 2.0))
    sets = GroupSet.concat([GroupSet.from_rows(found[k]) for k in sorted(found)])
    cut = lp_highs.HighsCutLP(p)
    cut.add_groups(sets)
    a = cut.solve()
    slack = sets.incidence(len(p)) @ a.q < 1 - 1e-9
    loose = np.flatnonzero((a.w <= 0) & slack)
    assert 0 < loose.size < sets.n_groups
    cut.drop_rows(loose)
    b = cut.solve()
    assert cut.n_rows == sets.n_groups - loose.size and b.w.size == cut.n_rows
    assert abs(a.value - b.value) <= 1e-12 and b.iterations == 0
    kept = np.setdiff1d(np.arange(sets.n_groups), loose)
    assert np.array_equal(cut.all_groups().indices, sets.take(kept).indices)
    with pytest.raises(InvalidInput):
        cut.drop_rows(np.array([cut.n_rows]))


def _primal_ok(got, p):
    """The returned (groups, w) is feasible for (P) and its value sum (|S| - 1) w_S is got.lower."""
    load = np.zeros(p.size)
    for i in np.flatnonzero(got.w > 0):
        load[got.groups.group(i)] += got.w[i]
    assert np.all(load <= p * (1 + 1e-9))
    assert abs(float(np.dot(got.groups.sizes - 1, got.w)) - got.lower) <= 1e-9


def _deleting_every_round(seed, monkeypatch):
    """(40 uniform-weight points of _needs_lp(seed) at 1.6 eps as a GroupLP, p), with the pool loop
    set to delete rows idle for one optimum and to add 5 pairs / 3 groups a round."""
    X, y, _, eps = _needs_lp(seed)
    X, y, p = X[:40], y[:40], np.full(40, 1 / 40)
    monkeypatch.setattr(pool_cg, "IDLE_ROUNDS", 1)
    monkeypatch.setattr(pool_cg, "PAIR_CAP", 5)
    monkeypatch.setattr(pool_cg, "POOL_TOP", 3)
    return GroupLP(X, y, p, eps * 1.6, 2.0, int(y.max()) + 1, None), p


@pytest.mark.parametrize("seed", range(4))
def test_row_deletion_keeps_the_pool_loop_exact(seed, monkeypatch):
    """Rows idle for one optimum deleted in every round (small batches, so many rounds): the value
    is still the full LP's, rows were deleted, and the primal from the last LP is feasible."""
    prog, p = _deleting_every_round(100 + seed, monkeypatch)
    dropped = []
    orig = lp_highs.HighsCutLP.drop_rows
    monkeypatch.setattr(lp_highs.HighsCutLP, "drop_rows",
                        lambda self, rows: (dropped.append(len(rows)), orig(self, rows))[1])
    got = cutting_plane.solve(prog)
    assert got.status == "optimal" and sum(dropped) > 0
    assert abs(got.value - full_lp(p, all_groups(prog.X, prog.labels, prog.eps, 2.0))) <= 1e-9
    _primal_ok(got, p)


def test_interrupt_after_rows_entered_and_left_keeps_the_last_solved_lp(monkeypatch):
    """Ctrl-C inside the third LP solve, after rows were added and deleted since the second: the
    answer is the second LP's restriction (a lower bound below AT) with a feasible primal."""
    prog, p = _deleting_every_round(101, monkeypatch)
    exact = cutting_plane.solve(prog).value
    calls, values = [], []
    orig = lp_highs.HighsCutLP.solve

    def solve(self, time_limit=None):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        res = orig(self, time_limit)
        values.append(res.value)
        return res

    monkeypatch.setattr(lp_highs.HighsCutLP, "solve", solve)
    got = cutting_plane.solve(prog)
    assert got.info["interrupted"] and got.status == "interval"
    assert abs(got.lower - values[-1]) <= 1e-9 and got.lower <= exact + 1e-9 <= got.upper + 2e-9
    _primal_ok(got, p)
