"""Interval answers of the group LP (memory budget, time limits, a cut distance pass, eps left
unsolved) carry a certificate that re-checks both ends: lower <= the attack's best-response risk,
and the classifier bound from q <= upper (issue 6: 'the best certified interval')."""
from __future__ import annotations

import math

import numpy as np
import pytest

from robustdsl.group_intervals import group_attack, interval_answer, with_floor
from robustdsl.ir import GroupLP
from robustdsl.solvers import cutting_plane
from robustdsl.solvers.cliques import ConflictGraph
from robustdsl.solvers.group_certificate import upper_by_pass
from robustdsl.solvers.interval_bounds import class_max_by_pass, neighbour_bound
from robustdsl.solvers.lp_highs import HighsCutLP, HighsGroupLP
from robustdsl.solvers.pair_budget import PAIR_BYTES
from robustdsl.solvers.sweep import solve_curve

from group_lp_helpers import make_problem, slow_lp_solves

BLOCK = 1 << 20


def _blobs(seed, n=90, K=3, d=3):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % K
    return rng.normal(size=(n, d)) * 0.6 + y[:, None] * 0.4, y


def _dist(X, norm):
    diff = np.abs(X[:, None, :] - X[None, :, :])
    return np.sqrt((diff ** 2).sum(-1)) if norm == 2 else (diff.max(-1) if math.isinf(norm) else diff.sum(-1))


def _memory(X, pairs):
    return 12 * X.size + BLOCK + pairs * PAIR_BYTES


def _attack_ok(sol, X, eps, norm):
    a = sol.attack
    moved = np.bincount(a.source, weights=a.masses, minlength=X.shape[0])
    diff = np.abs(a.points - X[a.source])
    disp = np.sqrt((diff ** 2).sum(1)) if norm == 2 else (diff.max(1) if math.isinf(norm) else diff.sum(1))
    return np.allclose(moved, 1.0 / X.shape[0], atol=1e-12) and disp.max() <= eps * (1 + 1e-9)


@pytest.mark.parametrize("norm", [2.0, 1.0, math.inf])
def test_class_max_pass_matches_brute_force(norm):
    """b_vk = max q_u over class-k samples within the radius, by blocks, against a float64 table."""
    rng = np.random.default_rng(int(norm) if norm != math.inf else 7)
    X, y = _blobs(3, n=70, K=4)
    q = np.where(rng.random(70) < 0.3, 0.0, rng.random(70))
    r = {2.0: 1.0, 1.0: 1.6, math.inf: 0.7}[norm]
    D = _dist(X, norm)
    want = np.zeros((70, 4))
    for v in range(70):
        for u in range(70):
            if y[u] != y[v] and D[u, v] <= r:
                want[v, y[u]] = max(want[v, y[u]], q[u])
    got = class_max_by_pass(X, y, q, r, norm, 4, block=16)
    live = q > 0                                      # rows with q_v = 0 do not enter U: left at 0
    assert np.array_equal(got[live], want[live]) and not got[~live].any() and want[live].max() > 0


@pytest.mark.parametrize("norm", [2.0, math.inf])
def test_pass_bound_equals_the_graph_bound_and_bounds_at(norm):
    """With every conflict pair, the pass gives neighbour_bound's U exactly; U >= AT."""
    X, y = _blobs(1)
    eps = 0.45 if norm == 2 else 0.3
    D = _dist(X, norm)
    I, J = np.nonzero(np.triu((D <= 2 * eps) & (y[:, None] != y[None, :]), 1))
    exact = make_problem(X, y, eps, norm).solve()
    q = np.clip(exact.q + 0.2, 0, 1)                 # a q whose groups overflow: M > 1 somewhere
    p = np.full(y.size, 1 / y.size)
    u = upper_by_pass(X, y, p, eps, norm, 3, q)
    assert u == pytest.approx(neighbour_bound(ConflictGraph(y.size, I, J, y, None), p, q, 3), abs=1e-15)
    assert u >= exact.value - 1e-12 and exact.value > 0


@pytest.mark.parametrize("norm,eps", [(2.0, 0.5), (math.inf, 0.35), (1.0, 0.8)])
def test_memory_budget_interval_is_certified_through_the_public_api(norm, eps):
    X, y = _blobs(2)
    exact = make_problem(X, y, eps, norm).solve()
    D = _dist(X, norm)
    pairs = int(np.triu((D <= 2 * eps) & (y[:, None] != y[None, :]), 1).sum())
    sol = make_problem(X, y, eps, norm).solve(max_memory=_memory(X, pairs // 2), max_bytes=BLOCK)
    assert sol.status == "interval" and "memory budget" in sol.info["reason"]
    assert 0 < sol.lower < exact.value < sol.upper and sol.info["nearest_k"] >= 1
    assert _attack_ok(sol, X, eps, norm) and sol.classifier(X).shape == (y.size, 3)
    cert = sol.certificate()
    assert cert.ok and cert.checks["upper_from"].startswith("neighbour bound")
    assert sol.lower - 1e-12 <= cert.lower <= exact.value + 1e-12 <= cert.upper + 2e-12 <= sol.upper + 3e-12


def test_budget_sweep_intervals_all_certified():
    X, y = _blobs(0, n=120)
    grid = [0.15, 0.3, 0.45]
    exact = solve_curve(X, y, grid)
    D = _dist(X, 2)
    pairs = int(np.triu((D <= 0.9) & (y[:, None] != y[None, :]), 1).sum())
    sols = solve_curve(X, y, grid, max_bytes=BLOCK, max_memory=_memory(X, pairs // 4))
    assert [s.status for s in sols].count("interval") >= 1
    for e, a, s in zip(grid, exact, sols):
        cert = s.certificate()
        assert cert.ok, cert.message
        assert cert.lower - 1e-12 <= a.value <= cert.upper + 1e-12 and _attack_ok(s, X, e, 2)


def test_floor_from_a_smaller_eps_keeps_its_attack_and_false_claims_fail():
    X, y = _blobs(4)
    classes = (0, 1, 2)
    small, big = make_problem(X, y, 0.35).solve(), 0.5
    prog = GroupLP(X, y.astype(np.int64), np.full(y.size, 1 / y.size), big, 2.0, 3, None)
    loose = interval_answer(prog, classes, np.full(y.size, 1 / 3), group_attack(prog, classes, [], []),
                            0.0, 2 / 3, backend="highs", timings={}, info={})
    raised = with_floor(prog, classes, loose, small.value, small.attack)
    cert = raised.certificate()
    assert raised.lower == small.value > 0 and cert.ok and cert.lower >= small.value - 1e-12
    assert _attack_ok(raised, X, 0.35, 2)                  # the attack of the smaller eps
    lie = interval_answer(prog, classes, raised.q, small.attack, small.value + 0.05, raised.upper,
                          backend="highs", timings={}, info={})
    assert not lie.certificate().ok and "not certified" in lie.certificate().message
    exact_big = make_problem(X, y, big).solve()
    tight = interval_answer(prog, classes, exact_big.q, exact_big.attack, exact_big.value,
                            exact_big.value - 0.05, backend="highs", timings={}, info={})
    assert not tight.certificate().ok


@pytest.mark.parametrize("cls", [HighsCutLP, HighsGroupLP])
def test_time_limit_interval_is_certified(cls, monkeypatch):
    """The deadline passes inside the LP loop (each solve slowed down): ok, both ends re-checked."""
    X, y = _blobs(1, n=80, K=4)
    want = make_problem(X, y, 0.5).solve().value      # exact (several LP rounds on either route)
    slow_lp_solves(monkeypatch, cls)
    if cls is HighsGroupLP:                             # no group pool: the column-form LP runs
        monkeypatch.setattr(cutting_plane, "build_pool", lambda *a, **k: None)
    sol = make_problem(X, y, 0.5).solve(time_limit=0.2)
    assert sol.status == "interval"
    cert = sol.certificate()
    assert cert.ok, cert.message
    assert sol.lower - 1e-12 <= cert.lower <= want + 1e-9 <= cert.upper + 2e-9 <= sol.upper + 3e-9


def test_unsolved_and_cut_pass_intervals_are_certified():
    X, y = _blobs(5)
    exact = solve_curve(X, y, [0.3, 0.6])
    for s, e in zip(solve_curve(X, y, [0.3, 0.6], time_limit=1e-9), exact):
        cert = s.certificate()
        assert s.status == "interval" and cert.ok and cert.lower - 1e-12 <= e.value <= cert.upper + 1e-12


def test_certificate_progress_bars_change_nothing(capsys):
    """certificate(progress=True): tqdm bars over the pass and the classifier blocks, same result;
    rules whose certificate takes no progress option accept the call too."""
    X, y = _blobs(2)
    D = _dist(X, 2)
    pairs = int(np.triu((D <= 1.0) & (y[:, None] != y[None, :]), 1).sum())
    sol = make_problem(X, y, 0.5).solve(max_memory=_memory(X, pairs // 2), max_bytes=BLOCK)
    a, b = sol.certificate(), sol.certificate(progress=True)
    assert a.ok and (a.lower, a.upper, a.checks) == (b.lower, b.upper, b.checks)
    err = capsys.readouterr().err
    assert "certificate pass" in err and "classifier on the attack" in err
    exact = make_problem(X, y, 0.5).solve()
    assert exact.certificate(progress=True).ok


def test_time_limit_before_any_lp_certifies_the_uniform_classifier():
    # no LP solved: q = 0 would be the nearest-neighbour classifier (risk 1 here); the trivial
    # upper bound mass (1 - 1/K) is the uniform classifier's, so q must be 1/K
    prob = make_problem(np.array([[0.0], [1.0]]), [0, 1], 1.0, 2.0, [0.3, 0.7])
    sol = prob.solve(time_limit=1e-6)
    assert sol.status == "interval" and sol.upper == pytest.approx(0.5)
    assert np.allclose(sol.q, 0.5) and sol.certificate().ok


@pytest.mark.parametrize("L", [None, 2])
def test_floor_within_rounding_keeps_the_exact_status(L):
    # the value at eps 1 equals the one at eps .5 up to one ulp: the sweep's floor must not turn the
    # exact (or AT_L) answer into an interval whose classifier cannot meet the raised bound
    X, y = np.array([[0.0], [1.0], [0.0], [2.0], [1.0]]), [0, 1, 2, 0, 2]
    w = np.array([0.28, 1.0, 0.4, 0.51, 0.19])
    if L == 2:
        X, y, w = np.array([[0.0], [1.0], [1.0], [2.0]]), [0, 1, 2, 2], np.array([0.38, 0.47000000000000003, 0.09, 0.02])
    curve = solve_curve(X, y, [0.5, 1.0], math.inf, weights=w, max_group_size=L)
    want = "optimal" if L is None else "lower_bound"
    assert [s.status for s in curve] == [want, want] and curve[1].certificate().ok
    assert curve[1].value == pytest.approx(curve[0].value, abs=1e-12)


@pytest.mark.parametrize("norm", [1.0, 2.0])
def test_interval_upper_end_by_neighbour_bound_or_exact_groups(norm):
    """An interval's upper end is re-checked by the neighbour bound over the re-measured pairs (one
    pass; it was one l1 LP per open group: minutes on 500 digits); a claimed upper below it (but at
    or above the exact bound over every admissible group, by brute force here) falls back to the
    groups, and a claim below the exact bound fails."""
    from robustdsl.saddle import Attack
    from robustdsl.solvers.group_certificate import certify

    from group_lp_helpers import all_groups

    X, y = _blobs(6, n=24, K=4, d=2)
    eps = 0.55 if norm == 1 else 0.4
    n = y.size
    p = np.full(n, 1 / n)
    q = np.clip(make_problem(X, y, eps, norm).solve().q + 0.3, 0, 1)
    D = _dist(X, norm)
    I, J = np.nonzero(np.triu((D <= 2 * eps) & (y[:, None] != y[None, :]), 1))
    M = np.ones(n)
    for S in all_groups(X, y, eps, norm):
        M[list(S)] = np.maximum(M[list(S)], q[list(S)].sum())
    exact = float(np.dot(p, 1 - q / M))
    nb = neighbour_bound(ConflictGraph(n, I, J, y, None), p, q, 4)
    assert exact < nb - 1e-3                             # the two bounds differ on this instance
    still = Attack(points=X.copy(), labels=y.copy(), label_index=y.copy(), masses=p.copy(),
                   source=np.arange(n), group=np.full(n, -1), classes=(0, 1, 2, 3))

    def run(claim):
        return certify(X, y, p, eps, norm, 4, q, 0.0, still, pairs=(I, J), claimed=(0.0, claim))

    a, b, c = run(nb), run(exact), run(exact - 1e-3)
    assert a.ok and a.checks["upper_from"].startswith("neighbour") and a.upper == pytest.approx(nb, abs=1e-15)
    assert b.ok and b.checks["upper_from"].startswith("every admissible") and b.upper == pytest.approx(exact, abs=1e-12)
    assert not c.ok and "not certified" in c.message


@pytest.mark.parametrize("norm", [2.0, 1.0, math.inf])
def test_classifier_on_its_support_is_the_same_f_star(norm):
    """Classifier.on_support (what the certificate evaluates: only samples with q > 0) gives the
    f* of MATH.md computed here by brute force (max q over the balls holding z, normalised), the rest
    mass on the class of the nearest sample with q > 0; the full classifier differs at most in where
    that rest goes."""
    from robustdsl.saddle import Classifier

    X, y = _blobs(8, n=60, K=3)
    rng = np.random.default_rng(3)
    q = np.where(rng.random(60) < 0.5, 0.0, rng.random(60))
    eps = 0.5
    full = Classifier(X, y, q, eps, norm, (0, 1, 2))
    sup = full.on_support()
    Z = np.concatenate([X, X + rng.normal(size=X.shape) * 0.3])
    diff = np.abs(Z[:, None, :] - X[None, :, :])
    D = np.sqrt((diff ** 2).sum(-1)) if norm == 2 else (diff.max(-1) if math.isinf(norm) else diff.sum(-1))
    F = np.zeros((Z.shape[0], 3))
    for k in range(3):
        F[:, k] = np.where((D <= eps) & (y == k)[None, :], q[None, :], 0.0).max(1)
    F /= np.maximum(1.0, F.sum(1, keepdims=True))
    rest = 1.0 - F.sum(1)
    live = np.flatnonzero(q > 0)
    want = F.copy()
    want[np.arange(Z.shape[0]), y[live[D[:, live].argmin(1)]]] += rest
    assert sup.X.shape[0] == live.size < 60 and np.allclose(sup(Z), want, atol=1e-12)
    P = full(Z)
    assert np.all(P >= F - 1e-12) and np.allclose((P - F).sum(1), rest, atol=1e-12) and rest.max() > 0.1
    assert Classifier(X, y, np.full(60, 0.3), eps, norm, (0, 1, 2)).on_support().X is X
