"""Exact l_inf pairs by bit-code pruning (solvers.linf_pairs) equal the float64 brute force."""
from __future__ import annotations

import math
import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import robustdsl as rd
from robustdsl.saddle import Classifier
from robustdsl.solvers import linf_pairs
from robustdsl.solvers.group_certificate import conflict_graph_of
from robustdsl.solvers.linf_pairs import (CutSet, ball_classifier, ball_pairs, block_pairs,
                                          choose_cuts, low_side, prune_codes,
                                          prune_gemm, twins)
from robustdsl.solvers.pairs import conflict_pairs, exact_dist, restrict_pairs
from robustdsl.solvers.sweep import solve_curve

INF = math.inf


@pytest.fixture(autouse=True)
def _always_prune(monkeypatch):
    """Test the pruning path even where the cost model would prefer the plain cdist."""
    monkeypatch.setattr(linf_pairs, "_NS_CDIST", 1e9)


def brute(X, labels, r):
    """All u < v of different labels with float64 max_k |x_uk - x_vk| <= r (full table)."""
    u, v = np.triu_indices(len(X), 1)
    keep = labels[u] != labels[v]
    u, v = u[keep], v[keep]
    d = exact_dist(X[u], X[v], INF)
    ok = d <= r
    return u[ok], v[ok], d[ok]


def brute_ball(Z, X, r):
    D = np.abs(Z[:, None, :] - X[None, :, :]).max(-1)
    i, j = np.nonzero(D <= r)
    return i, j, D[i, j]


def pixels(rng, n, d, dup=0):
    """Digit-like data: values k/255, a few 0/1 stroke patterns shared across labels with some
    pixels greyed by up to 0.6 (so distances spread over [0, 1]), some duplicated rows."""
    protos = rng.choice([0, 0, 255, 254], size=(6, d))
    k = protos[rng.integers(0, 6, n)]
    k = np.abs(k - rng.integers(0, 154, (n, d)) * (rng.random((n, d)) < .3))
    X = k / 255.0
    if dup:
        X[rng.choice(n, dup, replace=False)] = X[rng.choice(n, dup, replace=False)]
    return X


def same(got, want):
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("r", [50 / 255, 0.2, 100 / 255, 153 / 255, 0.6, 0.8])
def test_quantised_pixels_equal_brute_force(r):
    rng = np.random.default_rng(3)
    X = pixels(rng, 400, 60, dup=30)
    labels = rng.integers(0, 4, 400)
    assert choose_cuts(X, r) is not None                     # the pruning path is the one tested
    want = brute(X, labels, r)
    same(conflict_pairs(X, labels, r, INF, block=97), want)
    same(conflict_pairs(X, labels, r, INF, block=97, distances="screened"), want)
    assert want[0].size > 0


@pytest.mark.parametrize("q", [0.0, 0.01, 0.1])
def test_threshold_exactly_at_a_pair_distance(q):
    """Ties: the threshold equals an actual cross-class distance (that pair must be kept)."""
    rng = np.random.default_rng(5)
    X = pixels(rng, 300, 40, dup=10)
    labels = rng.integers(0, 3, 300)
    d = np.sort(brute(X, labels, INF)[2])
    r = float(d[int(q * (d.size - 1))])
    want = brute(X, labels, r)
    assert choose_cuts(X, r) is not None
    got = conflict_pairs(X, labels, r, INF, block=64)
    same(got, want)
    assert np.any(got[2] == r)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), r=st.sampled_from([0.0, 0.05, 0.25, 0.5, 1.0]),
       scale=st.sampled_from([1.0, 1e-3, 1e3]))
def test_any_cuts_are_sound(seed, r, scale):
    """Whatever the cuts (t taken from data values, so ties sit on them), the pairs are the brute
    force's: no cut ever separates a pair within r (the rounding argument of low_side)."""
    rng = np.random.default_rng(seed)
    X = np.round(rng.normal(size=(40, 6)), 2) * scale
    r = r * scale
    F = int(rng.integers(1, 40))
    dims = rng.integers(0, 6, F)
    high = X[rng.integers(0, 40, F), dims] + rng.choice([0.0, r, -r], F)
    cuts = CutSet(dims, high, low_side(high, r), np.arange(6))
    i, j, dist = block_pairs(X[:20], X[20:], r, cuts, "cpu", 7)
    same((i, j, dist), brute_ball(X[:20], X[20:], r))


def test_gpu_gemm_pruning_equals_bit_codes():
    """The 0/1 GEMM used on a torch device (run here on the CPU) prunes exactly like the codes."""
    rng = np.random.default_rng(21)
    X = pixels(rng, 300, 80)
    for r in (0.1, 0.6):
        for F in (5, 16, 17, 32, 33, 70):                 # uint32, one and several uint64 words
            dims = rng.integers(0, 80, F)
            high = X[rng.integers(0, 300, F), dims]
            cuts = CutSet(dims, high, low_side(high, r), np.arange(80))
            (a, _), (_, b) = cuts.codes(X[:120]), cuts.codes(X[120:])
            (P, _), (_, Q) = cuts.indicators(X[:120]), cuts.indicators(X[120:])
            got = prune_gemm(P, Q, "cpu")
            same(got, prune_codes(a, b))
            sep = ((P[:, None, :] * Q[None, :, :]).sum(-1) == 0)
            same(got, np.nonzero(sep))


def test_boundary_of_the_low_side():
    """x = t and y just below t - r (one float64 step): the pair is at distance > r and may be
    pruned; y = t - r exactly is at distance r in exact arithmetic and must survive."""
    r, t = 0.3, 0.9
    s = low_side(np.array([t]), r)[0]
    assert s < t - r and (t - s) > r
    y_in = t - r
    X = np.array([[t], [y_in], [np.nextafter(s, -1.0)]])
    cuts = CutSet(np.array([0]), np.array([t]), np.array([s]), np.array([0]))
    i, j, _ = block_pairs(X[:1], X[1:], r, cuts, "cpu", 4)
    same((i, j), brute_ball(X[:1], X[1:], r)[:2])


def test_weights_executor_and_sweep_restriction():
    rng = np.random.default_rng(8)
    X = pixels(rng, 500, 50, dup=40)
    labels = rng.integers(0, 5, 500)
    big = conflict_pairs(X, labels, 0.6, INF, distances="screened", block=128)
    with ThreadPoolExecutor(2) as ex:
        same(conflict_pairs(X, labels, 0.6, INF, block=128, executor=ex), big)
    for r in (0.1, 0.3, 0.45):
        same(restrict_pairs(X, *big, r, INF), brute(X, labels, r))


def test_process_pool_ships_the_cuts():
    """Spawned workers get the cuts with each block (chosen here, pickled) and agree exactly."""
    rng = np.random.default_rng(9)
    X = pixels(rng, 300, 40, dup=20)
    labels = rng.integers(0, 3, 300)
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as ex:
        got = conflict_pairs(X, labels, 0.6, INF, block=64, executor=ex)
    same(got, brute(X, labels, 0.6))
    assert got[0].size > 0


def test_ball_pairs_and_classifier_equal_dense():
    """Z against all samples (any class), and the classifier's numbers, equal the dense table."""
    rng = np.random.default_rng(11)
    X = pixels(rng, 300, 30, dup=20)
    lab = rng.integers(0, 3, 300)
    Z = np.concatenate([X[:150], X[rng.integers(0, 300, 40)] + rng.uniform(-.1, .1, (40, 30)),
                        rng.uniform(0, 1, (10, 30))])
    r = 0.3 * (1 + 1e-9) + 1e-300
    same(ball_pairs(Z, X, r, block=64), brute_ball(Z, X, r))
    same(ball_pairs(X, None, r, block=64), brute_ball(X, X, r))      # symmetric self-join
    tw = twins(Z, X)
    assert np.all(tw[:150] >= 0) and np.array_equal(Z[:150], X[tw[:150]]) and np.all(tw[150:] < 0)
    q = rng.uniform(0, 1, 300)
    D = np.abs(Z[:, None, :] - X[None, :, :]).max(-1)       # the dense evaluation, as before
    F = np.zeros((Z.shape[0], 3))
    ii, jj = np.nonzero(D <= r)
    np.maximum.at(F, (ii, lab[jj]), q[jj])
    F /= np.maximum(1.0, F.sum(1, keepdims=True))
    F[np.arange(Z.shape[0]), lab[D.argmin(1)]] += 1.0 - F.sum(1)
    np.testing.assert_array_equal(ball_classifier(X, lab, q, r, Z, 3), F)
    np.testing.assert_array_equal(Classifier(X, lab, q, 0.3, INF, (0, 1, 2))(Z), F)


def test_certificate_graph_without_pairs():
    rng = np.random.default_rng(13)
    X = pixels(rng, 200, 30, dup=15)
    labels = rng.integers(0, 3, 200)
    keep = np.sort(rng.choice(200, 150, replace=False))
    g = conflict_graph_of(X, labels, 0.25, INF, keep)
    I, J, _ = brute(X[keep], labels[keep], 0.5 * (1 + 1e-9) + 1e-300)
    same((g.I, g.J), (keep[I], keep[J]))


def _old_path(monkeypatch):
    """The previous l_inf path: no cuts (torch.cdist screening, dense classifier)."""
    monkeypatch.setattr(linf_pairs, "choose_cuts", lambda *a, **k: None)


@pytest.mark.parametrize("weighted", [False, True])
def test_end_to_end_curve_equals_previous_path(monkeypatch, weighted):
    rng = np.random.default_rng(17)
    X = pixels(rng, 240, 20, dup=25)
    y = rng.integers(0, 3, 240)
    w = rng.uniform(0.5, 2.0, 240) if weighted else None
    w = None if w is None else w / w.sum()
    grid = [0.1, 0.2, 0.3]
    new = solve_curve(X, y, grid, INF, weights=w)
    with monkeypatch.context() as m:
        _old_path(m)
        old = solve_curve(X, y, grid, INF, weights=w)
    for a, b in zip(new, old):
        assert a.status == b.status == "optimal"
        assert a.value == pytest.approx(b.value, abs=1e-12)
        assert a.info["pairs"] == b.info["pairs"]
        assert a.info["certificate_gap"] <= 1e-9
    assert new[-1].value > 0 and new[-1].info["pairs"] > 0


def test_public_api_solve_linf(monkeypatch):
    rng = np.random.default_rng(19)
    X = pixels(rng, 120, 16, dup=10)
    y = rng.integers(0, 2, 120)

    def solve():
        mu = rd.EmpiricalMeasure.from_arrays(X, y)
        f = rd.Agnostic(classes=mu.classes)
        adv = rd.Adversary(mu)
        prob = rd.inf(f, rd.sup(adv, rd.E(adv, rd.ZeroOne(f)) - rd.OT(mu, adv, rd.Ball(0.25, INF))))
        return prob.solve(backend="highs")

    new = solve()
    with monkeypatch.context() as m:
        _old_path(m)
        old = solve()
    assert new.value == pytest.approx(old.value, abs=1e-12) and new.value > 0
    np.testing.assert_array_equal(new.classifier(X), old.classifier(X))


def test_no_cut_possible_falls_back_to_cdist():
    """r beyond the data's range: no cut can separate anything, so the plain path is used (and
    every cross pair is returned)."""
    rng = np.random.default_rng(23)
    X = rng.uniform(0, 1, (60, 5))
    labels = rng.integers(0, 2, 60)
    assert choose_cuts(X, 1.5) is None
    got = conflict_pairs(X, labels, 1.5, INF)
    same(got, brute(X, labels, 1.5))
    assert got[0].size == int((labels[:, None] != labels[None, :]).sum() // 2)
