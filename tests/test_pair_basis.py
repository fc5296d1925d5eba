"""The optimal pair-LP basis built from the max-flow (solvers.pair_basis) and its use as the
start of column generation: HiGHS must accept it as optimal (no iteration) on random graphs and
on the hand-made cases of every branch, and the group LP must keep its exact value."""
from __future__ import annotations

import numpy as np
import pytest

from robustdsl.ir import GroupLP, GroupSet
from robustdsl.solvers import cutting_plane
from robustdsl.solvers.lp_highs import HighsGroupLP
from robustdsl.solvers.pair_basis import basic_w, pair_basis
from robustdsl.solvers.pair_flow import pair_flow


def _check_basis(n, I, J, w, r, value):
    """The basis has n members, HiGHS solves from it in 0 iterations to `value`, duals r."""
    p = np.full(n, 1.0 / n)
    b = pair_basis(n, I, J, w, r)
    assert b.edges.size + int(b.slack.sum()) == n
    assert abs(b.w.sum() / n - value) <= 1e-12                  # same value, now basic
    assert np.all(b.r[I] + b.r[J] >= 1 - 1e-12) and np.all(b.r >= 0)
    lp = HighsGroupLP(p)
    lp.add_groups(GroupSet.from_rows(np.stack([I[b.edges], J[b.edges]], 1)))
    lp.set_basis(np.ones(b.edges.size, bool), b.slack)
    res = lp.solve()
    assert res.iterations == 0
    assert abs(res.value - value) <= 1e-12
    np.testing.assert_allclose(res.r, b.r, atol=1e-9)
    return b


@pytest.mark.parametrize("seed", range(40))
def test_flow_basis_is_optimal_on_random_graphs(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(4, 60))
    m = int(rng.integers(n // 2, 3 * n))
    e = np.unique(np.sort(rng.integers(0, n, (m, 2)), 1), axis=0)
    e = e[e[:, 0] != e[:, 1]]
    if e.shape[0] == 0:
        return
    I, J = e[:, 0].copy(), e[:, 1].copy()
    p = np.full(n, 1.0 / n)
    pf = pair_flow(n, I, J, p)
    # the value of the pair LP, independently of the flow: HiGHS from scratch
    ref = HighsGroupLP(p)
    ref.add_groups(GroupSet.from_rows(e))
    assert abs(ref.solve().value - pf.value) <= 1e-12
    _check_basis(n, I, J, pf.w * n, 1.0 - pf.q, pf.value)


def test_branches_even_cycle_odd_cycle_and_loose_trees():
    # even 4-cycle at w = 1/2, r = 1/2: rounded to a matching; its r = 1/2 tree is bipartite and
    # has no odd cycle, so r is shifted to 0 / 1 and one slack roots it
    I, J = np.array([0, 1, 2, 0]), np.array([1, 2, 3, 3])
    w, cycles = basic_w(4, I, J, np.full(4, 0.5))
    assert cycles == [] and sorted(w.tolist()) == [0.0, 0.0, 1.0, 1.0]
    b = _check_basis(4, I, J, np.full(4, 0.5), np.full(4, 0.5), 0.5)
    assert set(b.r.tolist()) == {0.0, 1.0} and b.slack.sum() == 1
    # odd 5-cycle at w = 1/2: kept, r = 1/2, no slack
    I, J = np.array([0, 1, 2, 3, 0]), np.array([1, 2, 3, 4, 4])
    b = _check_basis(5, I, J, np.full(5, 0.5), np.full(5, 0.5), 0.5)
    assert b.slack.sum() == 0 and b.edges.size == 5
    # triangle a b c with a pendant d on a, w* a perfect matching, r = 1/2: the tree needs an
    # odd-cycle closing edge of the triangle
    I, J = np.array([0, 0, 1, 0]), np.array([1, 2, 2, 3])
    w = np.array([0.0, 0.0, 1.0, 1.0])
    b = _check_basis(4, I, J, w, np.full(4, 0.5), 0.5)
    assert b.slack.sum() == 0 and np.all(b.r == 0.5)
    # a half path of two edges (load 1/2 at both ends) is rounded, one end gets the slack
    I, J = np.array([0, 1]), np.array([1, 2])
    _check_basis(3, I, J, np.full(2, 0.5), np.array([0.0, 1.0, 0.0]), 1 / 3)
    # an even 6-cycle and a half path of four edges side by side, vertex ids interleaved
    cyc = [(1, 3), (3, 5), (5, 7), (7, 9), (9, 11), (1, 11)]
    pth = [(0, 2), (2, 4), (4, 6), (6, 8)]
    e = np.array(cyc + pth)
    r = np.full(12, 0.5)
    r[[0, 4, 8]] = 0.0
    r[[2, 6]] = 1.0
    r[10] = 0.0                                            # isolated vertex
    w, cycles = basic_w(12, e[:, 0], e[:, 1], np.full(10, 0.5))
    assert cycles == []
    load = np.bincount(e.ravel(), weights=np.repeat(w, 2), minlength=12)
    assert set(w.tolist()) == {0.0, 1.0} and load.max() == 1.0 and w.sum() == 5.0
    _check_basis(12, e[:, 0].copy(), e[:, 1].copy(), np.full(10, 0.5), r, 5 / 12)


def _blobs(seed, n=70, K=4, d=3, spread=0.6):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % K
    return rng.normal(size=(n, d)) * spread + y[:, None] * 0.3, y


def test_column_generation_from_the_flow_basis_keeps_the_exact_value(monkeypatch):
    calls = []
    orig = HighsGroupLP.set_basis

    def spy(self, cols, rows):
        calls.append(cols.size)
        return orig(self, cols, rows)

    monkeypatch.setattr(HighsGroupLP, "set_basis", spy)
    checked = 0
    for seed in range(40):
        X, y = _blobs(seed)
        prog = GroupLP(X, y, np.full(y.size, 1 / y.size), 0.7, 2.0, 4, None)
        # a solver factory turns the pool route off: the component goes through column generation
        cg = cutting_plane.solve(prog, lambda p: HighsGroupLP(p), lp_route="colgen")
        if cg.info["components_by_flow"] == cg.info["components"]:
            continue
        ref = HighsGroupLP(prog.weights)
        ref.add_groups(cutting_plane.all_admissible_groups(prog))
        assert cg.status == "optimal"
        assert abs(ref.solve().value - cg.value) <= 1e-9
        checked += 1
        if checked == 3:
            break
    assert checked == 3 and calls


def test_set_basis_checks_its_sizes():
    lp = HighsGroupLP(np.full(3, 1 / 3))
    lp.add_groups(GroupSet.from_rows(np.array([[0, 1]])))
    with pytest.raises(Exception, match="basis"):
        lp.set_basis(np.ones(2, bool), np.zeros(3, bool))
