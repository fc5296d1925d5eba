"""Exact group LP against brute force: every admissible group enumerated, full LP by scipy."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from robustdsl.ir import GroupLP
from robustdsl.solvers import cutting_plane
from robustdsl.solvers.ball_groups import meb_l2, radius, radius2_from_dist2, triple_radius2
from robustdsl.solvers.cliques import ConflictGraph, enumerate_cliques

from group_lp_helpers import (all_groups, classifier_lp, enclosing_radius, full_lp, make_problem,
                              pure_attack_max)

NORMS = [2.0, math.inf, 1.0]


def _instance(seed, n_max=12, k_max=4):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(4, n_max + 1))
    K = int(rng.integers(2, k_max + 1))
    d = int(rng.integers(1, 4))
    X = rng.normal(size=(n, d))
    y = np.arange(n) % K
    rng.shuffle(y)
    p = rng.random(n) + 0.2
    return X, y, p / p.sum(), float(rng.uniform(0.3, 1.3))


@pytest.mark.parametrize("seed", range(24))
def test_value_matches_full_enumeration(seed):
    X, y, p, eps = _instance(seed)
    norm = NORMS[seed % 3]
    groups = all_groups(X, y, eps, norm)
    expected = full_lp(p, groups)
    sol = make_problem(X, y, eps, norm, p).solve()
    assert sol.status == "optimal"
    assert abs(sol.value - expected) <= 1e-7
    cert = sol.certificate()
    assert cert.ok and cert.gap <= 1e-9
    # every group the solver used is admissible by the independent radius computation
    assert sol.attack.displacement(X, norm).max() <= eps * (1 + 1e-9)


@pytest.mark.parametrize("seed", range(6))
def test_truncated_value_matches_full_enumeration(seed):
    X, y, p, eps = _instance(100 + seed, n_max=10, k_max=4)
    for L in (2, 3):
        expected = full_lp(p, all_groups(X, y, eps, 2.0, max_size=L))
        sol = make_problem(X, y, eps, 2.0, p).solve(max_group_size=L)
        assert abs(sol.value - expected) <= 1e-7
        assert sol.status == ("lower_bound" if L < len(set(y.tolist())) else "optimal")


@pytest.mark.parametrize("seed", range(8))
def test_minmax_by_enumeration_small(seed):
    """n <= 6: the classifier-side LP, the pure adversaries, and the saddle objects all meet AT."""
    rng = np.random.default_rng(200 + seed)
    n = int(rng.integers(3, 7))
    K = int(rng.integers(2, 4))
    X = rng.normal(size=(n, 2)) * 0.8
    y = np.arange(n) % K
    p = rng.random(n) + 0.2
    p /= p.sum()
    eps = float(rng.uniform(0.3, 1.0))
    norm = NORMS[seed % 3]
    groups = all_groups(X, y, eps, norm)
    sol = make_problem(X, y, eps, norm, p).solve()
    assert abs(classifier_lp(p, y, groups) - sol.value) <= 1e-7
    assert pure_attack_max(p, y, groups) <= sol.value + 1e-12
    assert abs(sol.attack.best_response_risk() - sol.value) <= 1e-9
    # worst case of f* over the cells: a point of every admissible group's common region
    from robustdsl.solvers.ball_groups import centres
    worst = 1.0 - sol.q                                   # staying put: f*(x_v)_y >= q_v
    P0 = sol.classifier(X)
    worst = np.maximum(worst, 1.0 - P0[np.arange(n), y])
    for S in groups:
        c = centres(X, np.array([S]), norm)
        P = sol.classifier(c)[0]
        for v in S:
            worst[v] = max(worst[v], 1.0 - P[y[v]])
    assert float(p @ worst) <= sol.value + 1e-9


@pytest.mark.parametrize("norm", NORMS)
def test_enclosing_radius_against_generic_method(norm):
    rng = np.random.default_rng(7)
    X = rng.normal(size=(9, 3))
    for k in (2, 3, 4):
        rows = np.array(list(itertools.combinations(range(9), k)))[::3]
        mine = radius(X, rows, norm)
        ref = np.array([enclosing_radius(X[r], norm) for r in rows])
        assert np.allclose(mine, ref, rtol=1e-6, atol=1e-8)


def test_l2_closed_form_and_distance_form_agree_with_coordinates():
    rng = np.random.default_rng(8)
    X = rng.normal(size=(10, 6))
    for k in (3, 4, 5):
        rows = np.array(list(itertools.combinations(range(10), k)))
        R2, C = meb_l2(X, rows)
        P = X[rows]
        D2 = ((P[:, :, None] - P[:, None]) ** 2).sum(-1)
        assert np.allclose(radius2_from_dist2(D2), R2, rtol=1e-10, atol=1e-12)
        # the centre encloses every member at distance <= R
        assert np.all(((P - C[:, None]) ** 2).sum(-1) <= R2[:, None] * (1 + 1e-9) + 1e-12)
        if k == 3:
            assert np.allclose(triple_radius2(X, rows), R2, rtol=1e-10)
    # obtuse triangle: half the longest side; right angle, collinear and duplicate points
    T = np.array([[0.0, 0.0], [4.0, 0.0], [1.0, 0.5], [2.0, 0.0], [0.0, 0.0]])
    assert triple_radius2(T, np.array([[0, 1, 2]]))[0] == pytest.approx(4.0)
    assert triple_radius2(T, np.array([[0, 1, 3]]))[0] == pytest.approx(4.0)
    assert meb_l2(T, np.array([[0, 4, 3, 1]]))[0][0] == pytest.approx(4.0)


def test_cliques_match_brute_force():
    rng = np.random.default_rng(9)
    n = 16
    lab = rng.integers(0, 4, n)
    E = [(i, j) for i in range(n) for j in range(i + 1, n) if lab[i] != lab[j] and rng.random() < 0.6]
    g = ConflictGraph(n, np.array([e[0] for e in E]), np.array([e[1] for e in E]), lab)
    got = enumerate_cliques(g, 4)
    Es = set(E)
    for k in (2, 3, 4):
        bf = [c for c in itertools.combinations(range(n), k) if len(set(lab[list(c)])) == k
              and all((a, b) in Es for a, b in itertools.combinations(c, 2))]
        assert sorted(map(tuple, got.get(k, np.zeros((0, k), int)).tolist())) == bf


def test_cutting_plane_direct_with_initial_triples_and_components():
    X, y, p, eps = _instance(300, n_max=12, k_max=3)
    prog = GroupLP(X, y, p, eps, 2.0, 3)
    a = cutting_plane.solve(prog)
    b = cutting_plane.solve(prog, init_triples=True)
    assert abs(a.value - b.value) <= 1e-9
    assert abs(a.value - full_lp(p, all_groups(X, y, eps, 2.0))) <= 1e-7
    # the working set is downward closed
    for S in (tuple(a.groups.group(i)) for i in range(a.groups.n_groups)):
        for T in itertools.combinations(S, len(S) - 1):
            if len(T) >= 2:
                assert any(tuple(a.groups.group(j)) == T for j in range(a.groups.n_groups))
