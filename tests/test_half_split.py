"""Persistence of the flow's integral part in the group LP (solvers.half_split): the LP with q fixed
to the pair optimum off its half-valued samples has the same optimum (checked by scipy on every
admissible group), the split route returns the exact value with a feasible primal, and the public
API certifies it."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog

from robustdsl.ir import GroupLP
from robustdsl.solvers import cutting_plane
from robustdsl.solvers.lp_highs import HighsGroupLP
from robustdsl.solvers.pair_flow import pair_flow

from group_lp_helpers import all_groups, full_lp, make_problem, slow_lp_solves

SPLIT_SEEDS = (8, 30, 33, 35, 37, 48)       # n = 24, eps 0.7: the flow has q = 0 / 1 samples and a violated group


def _blobs(seed, n=24, K=4):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % K
    return rng.normal(size=(n, 3)) * 0.6 + y[:, None] * 0.3, y


def _dual_value(p, groups, fixed: dict[int, float]) -> float:
    """max sum p q s.t. sum_{v in S} q_v <= 1 for every group, 0 <= q <= 1, q_v = fixed[v]."""
    A = np.zeros((len(groups), p.size))
    for j, S in enumerate(groups):
        A[j, list(S)] = 1
    bounds = [(fixed[v], fixed[v]) if v in fixed else (0, 1) for v in range(p.size)]
    res = linprog(-p, A_ub=A, b_ub=np.ones(len(groups)), bounds=bounds, method="highs")
    assert res.status == 0
    return float(p.sum() + res.fun)            # AT = sum p (1 - q)


def _spy(monkeypatch):
    seen = []
    orig = cutting_plane.merge

    def spy(split, *a):
        seen.append(split)
        return orig(split, *a)

    monkeypatch.setattr(cutting_plane, "merge", spy)
    return seen


@pytest.mark.parametrize("seed", SPLIT_SEEDS)
def test_fixing_the_flow_integral_part_keeps_the_group_lp_optimum(seed):
    X, y = _blobs(seed)
    p = np.full(y.size, 1 / y.size)
    groups = all_groups(X, y, 0.7, 2.0)
    pairs = np.array([S for S in groups if len(S) == 2])
    pf = pair_flow(y.size, pairs[:, 0], pairs[:, 1], p)
    fixed = {v: float(pf.q[v]) for v in range(y.size) if abs(pf.q[v] - 0.5) > 1e-9}
    assert fixed and len(fixed) < y.size
    free = _dual_value(p, groups, {})
    assert abs(_dual_value(p, groups, fixed) - free) <= 1e-9
    assert abs(free - full_lp(p, groups)) <= 1e-9
    assert free > pf.value + 1e-6                       # the groups matter here


@pytest.mark.parametrize("seed", SPLIT_SEEDS)
def test_split_route_is_exact_with_a_feasible_primal(seed, monkeypatch):
    seen = _spy(monkeypatch)
    X, y = _blobs(seed)
    p = np.full(y.size, 1 / y.size)
    prog = GroupLP(X, y, p, 0.7, 2.0, 4, None)
    got = cutting_plane.solve(prog, lambda w: HighsGroupLP(w), lp_route="split")   # a factory: no pool
    assert seen and got.status == "optimal"
    assert abs(got.value - full_lp(p, all_groups(X, y, 0.7, 2.0))) <= 1e-9
    load = np.zeros(y.size)
    for i in np.flatnonzero(got.w > 0):
        load[got.groups.group(i)] += got.w[i]
    assert np.all(load <= p * (1 + 1e-9))
    assert abs(float(np.dot(got.groups.sizes - 1, got.w)) - got.value) <= 1e-12
    n_seen = len(seen)
    whole = cutting_plane.solve(prog, lambda w: HighsGroupLP(w), lp_route="colgen")   # no split
    assert abs(whole.value - got.value) <= 1e-12
    assert len(seen) == n_seen


def _two_triangles():
    """Two admissible triangles (classes 0, 1, 2) joined only through a class-3 sample c whose two
    class-0 leaves make c = 0 and the leaves = 1 in the pair optimum: H is the two triangles."""
    ang = np.array([np.pi, np.pi / 3, -np.pi / 3])
    tri = 0.5 * np.stack([np.cos(ang), np.sin(ang)], 1)
    X = np.concatenate([tri + [-1.9, 0], -tri + [1.9, 0], [[0, 0], [0, 1.9], [0, -1.9]]])
    y = np.array([0, 1, 2, 0, 1, 2, 3, 0, 0])
    return X, y


def test_two_half_parts_solved_separately(monkeypatch):
    seen = _spy(monkeypatch)
    X, y = _two_triangles()
    prog = GroupLP(X, y, np.full(9, 1 / 9), 1.0, 2.0, 4, None)
    got = cutting_plane.solve(prog, lambda w: HighsGroupLP(w), lp_route="split")
    (split,) = seen
    assert sorted(sorted(part.tolist()) for part in split.parts) == [[0, 1, 2], [3, 4, 5]]
    assert abs(split.fixed_value - 1 / 9) <= 1e-15            # c: q = 0
    assert abs(got.value - 5 / 9) <= 1e-12                    # q: leaves 1, c 0, each triangle sums to 1
    assert abs(got.value - full_lp(prog.weights, all_groups(X, y, 1.0, 2.0))) <= 1e-12
    np.testing.assert_array_equal(got.q[6:], [0, 1, 1])


@pytest.mark.parametrize("seed", SPLIT_SEEDS[:3])
def test_public_api_certifies_the_split_route(seed, monkeypatch):
    seen = _spy(monkeypatch)
    monkeypatch.setattr(cutting_plane, "build_pool", lambda *a, **k: None)   # as for a large component
    X, y = _blobs(seed)
    sol = make_problem(X, y, 0.7, 2).solve(lp_route="split")
    assert seen and sol.status == "optimal"
    assert abs(sol.value - full_lp(np.full(y.size, 1 / y.size), all_groups(X, y, 0.7, 2.0))) <= 1e-9
    cert = sol.certificate()
    assert cert.ok and cert.gap <= 1e-9


@pytest.mark.parametrize("seed", SPLIT_SEEDS[:2])
def test_split_route_under_a_time_limit_keeps_a_certified_interval(seed, monkeypatch):
    """The deadline passes inside a half part's LP loop (each solve slowed down): the result is
    an interval containing AT, its lower bound at least the pair value."""
    seen = _spy(monkeypatch)
    slow_lp_solves(monkeypatch, HighsGroupLP)
    X, y = _blobs(seed)
    p = np.full(y.size, 1 / y.size)
    prog = GroupLP(X, y, p, 0.7, 2.0, 4, None)
    got = cutting_plane.solve(prog, lambda w: HighsGroupLP(w), lp_route="split", time_limit=0.2)
    exact = full_lp(p, all_groups(X, y, 0.7, 2.0))
    assert seen and got.status == "interval"
    assert got.lower <= exact + 1e-9 <= got.upper + 2e-9
    groups = all_groups(X, y, 0.7, 2.0)
    pairs = np.array([S for S in groups if len(S) == 2])
    assert got.lower >= pair_flow(y.size, pairs[:, 0], pairs[:, 1], p).value - 1e-12
