"""Conflict pairs: blocked float32 screening + float64 recheck equals the float64 brute force."""
from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from robustdsl.errors import InvalidInput, ResourceLimit
from robustdsl.solvers.pairs import (block_size, conflict_pairs, distance_floor, exact_dist,
                                     margin_factor)

NORMS = [1.0, 2.0, np.inf]


def brute(X, labels, threshold, norm):
    """All u < v of different labels with exact_dist <= threshold, from the full n x n table."""
    n = len(X)
    u, v = np.triu_indices(n, 1)
    keep = labels[u] != labels[v]
    u, v = u[keep], v[keep]
    d = exact_dist(X[u], X[v], norm)
    ok = d <= threshold
    return u[ok], v[ok], d[ok]


def assert_same(got, want):
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)


def check_both(X, labels, thr, norm, block):
    """'exact' equals brute force bit for bit; 'screened' has the same pairs and close distances."""
    want = brute(X, labels, thr, norm)
    assert_same(conflict_pairs(X, labels, thr, norm, block=block), want)
    I, J, D = conflict_pairs(X, labels, thr, norm, block=block, distances="screened")
    assert_same((I, J), want[:2])
    scale = np.abs(X).max() * X.shape[1] + 1.0
    np.testing.assert_allclose(D, want[2], rtol=0, atol=1e-3 * scale)
    return want


def at_pair_distance(X, labels, norm, q):
    """A threshold equal to an actual cross-class distance (so a pair sits exactly on it)."""
    _, _, d = brute(X, labels, np.inf, norm)
    return float(np.sort(d)[int(q * (d.size - 1))])


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("q", [0.0, 0.1, 0.5])
def test_random_gaussian_with_exact_ties(norm, q):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(150, 5))
    labels = rng.integers(0, 3, 150)
    thr = at_pair_distance(X, labels, norm, q)
    assert check_both(X, labels, thr, norm, 17)[0].size >= 1


@pytest.mark.parametrize("norm", NORMS)
def test_integer_grid_many_points_on_the_threshold(norm):
    rng = np.random.default_rng(2)
    X = rng.integers(0, 5, size=(120, 3)).astype(float)
    labels = rng.integers(0, 4, 120)
    for thr in (0.0, 1.0, 2.0, 5.0 ** 0.5, 3.0):
        check_both(X, labels, thr, norm, 32)
    # distance exactly 5 between (0,0,0) and (3,4,0) in l2, 7 in l1, 4 in l_inf
    X2 = np.array([[0.0, 0, 0], [3, 4, 0], [3, 4, 1e-6]])
    for nm, thr in ((2.0, 5.0), (1.0, 7.0), (np.inf, 4.0)):
        I, J, D = conflict_pairs(X2, np.array([0, 1, 1]), thr, nm)
        assert_same((I, J, D), brute(X2, np.array([0, 1, 1]), thr, nm))
        assert (I[0], J[0], D[0]) == (0, 1, thr)
        assert (I.size == 2) == (nm == np.inf)   # (0, 2) is 1e-6 beyond except in l_inf


@pytest.mark.parametrize("norm", NORMS)
def test_high_dimension_and_large_offset(norm):
    rng = np.random.default_rng(3)
    X = rng.random((90, 784))
    labels = np.repeat([0, 1, 2], 30)
    thr = at_pair_distance(X, labels, norm, 0.3)
    check_both(X, labels, thr, norm, 25)
    Y = 1e4 + rng.normal(scale=1e-2, size=(60, 4))          # norms far larger than distances
    lab = rng.integers(0, 2, 60)
    thr = at_pair_distance(Y, lab, norm, 0.2)
    check_both(Y, lab, thr, norm, 16)


@pytest.mark.parametrize("norm", [1.0, 2.0])
def test_offset_data_keeps_a_thin_rounding_shell(monkeypatch, norm):
    """The screen measures from the column mean: an offset of 1e4 on every coordinate leaves the
    float64 rechecks to the pairs near the threshold (without centring all 1,900 would be rechecked)."""
    from robustdsl.solvers import pairs
    rng = np.random.default_rng(5)
    Y = rng.normal(scale=1e-2, size=(100, 4))
    lab = np.repeat([0, 1], 50)
    thr = at_pair_distance(Y, lab, norm, 0.3)
    seen = {"candidates": 0, "rechecked": 0}
    real = pairs._recheck

    def counting(A, B, cand, scr):
        seen["candidates"] += cand[0].size
        seen["rechecked"] += int((~cand[3]).sum())
        return real(A, B, cand, scr)
    monkeypatch.setattr(pairs, "_recheck", counting)
    want = brute(Y + 1e4, lab, thr, norm)
    I, J, _ = conflict_pairs(Y + 1e4, lab, thr, norm, distances="screened")
    assert_same((I, J), want[:2])
    assert want[0].size > 300 and seen["candidates"] < 1.2 * want[0].size
    assert seen["rechecked"] < 0.2 * want[0].size


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 30), st.integers(1, 4), st.integers(0, 10**6), st.sampled_from(NORMS),
       st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.5]))
def test_property_equals_brute_force(n, d, seed, norm, thr):
    rng = np.random.default_rng(seed)
    X = rng.integers(-2, 3, size=(n, d)) * 0.5               # many ties at the thresholds
    labels = rng.integers(0, 3, n)
    check_both(X, labels, thr, norm, 7)


def test_process_pool_gives_identical_output():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(300, 8))
    labels = rng.integers(0, 4, 300)
    thr = at_pair_distance(X, labels, 2.0, 0.2)
    serial = conflict_pairs(X, labels, thr, 2.0, block=40)
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as ex:
        par = conflict_pairs(X, labels, thr, 2.0, block=40, executor=ex)
        par_inf = conflict_pairs(X, labels, 2.0, np.inf, block=40, executor=ex)
    assert_same(par, serial)
    assert_same(serial, brute(X, labels, thr, 2.0))
    assert_same(par_inf, conflict_pairs(X, labels, 2.0, np.inf, block=40))


def test_margin_is_safe_against_float32_extremes():
    # a pair whose float32 screen value lands just above the threshold while the float64 one is on it
    rng = np.random.default_rng(5)
    base = rng.random((100, 784)).astype(np.float32).astype(np.float64)
    X = np.vstack([base, base + rng.choice([-1, 1], size=base.shape) * 1e-3])
    labels = np.repeat([0, 1], 100)
    d = exact_dist(base, X[100:], 2.0)
    for thr in (d.min(), np.median(d), d.max()):
        check_both(X, labels, thr, 2.0, 64)
    assert margin_factor(2.0, 784) > 2 * 784 * 2.0 ** -24


def test_resource_limits():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(200, 50))
    labels = rng.integers(0, 2, 200)
    with pytest.raises(ResourceLimit, match="max_bytes") as err:
        conflict_pairs(X, labels, 1.0, 2.0, max_bytes=10_000)
    assert "MiB" in str(err.value)
    with pytest.raises(ResourceLimit, match="max_pairs"):
        conflict_pairs(X, labels, 100.0, 2.0, block=32, max_pairs=50)
    assert block_size(10**6, 784, 4096, 1 << 28) < 4096      # shrunk to fit the memory bound
    assert block_size(10**6, 784, 512, 1 << 30) == 512


def test_bad_input_and_no_mutation():
    X = np.arange(12.0).reshape(6, 2)
    labels = np.array([0, 1, 0, 1, 2, 2])
    X0, l0 = X.copy(), labels.copy()
    conflict_pairs(X, labels, 3.0, 2)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(labels, l0)
    bad = X.copy(); bad[0, 0] = np.nan
    with pytest.raises(InvalidInput, match="X"):
        conflict_pairs(bad, labels, 1.0, 2)
    with pytest.raises(InvalidInput, match="labels"):
        conflict_pairs(X, labels[:3], 1.0, 2)
    with pytest.raises(InvalidInput, match="threshold"):
        conflict_pairs(X, labels, -1.0, 2)
    with pytest.raises(InvalidInput, match="norm"):
        conflict_pairs(X, labels, 1.0, 3)
    with pytest.raises(InvalidInput, match="distances"):
        conflict_pairs(X, labels, 1.0, 2, distances="fast")
    with pytest.raises(InvalidInput, match="device"):
        conflict_pairs(X, labels, 1.0, 2, device="tpu")
    import torch
    if not torch.cuda.is_available():
        with pytest.raises(InvalidInput, match="CUDA"):
            conflict_pairs(X, labels, 1.0, 2, device="cuda")
    I, J, D = conflict_pairs(X[:1], labels[:1], 1.0, 2)
    assert I.size == J.size == D.size == 0


def test_single_class_has_no_pairs_and_floor_counts_cross_pairs():
    X = np.random.default_rng(7).normal(size=(50, 3))
    assert conflict_pairs(X, np.zeros(50, int), 100.0, 2)[0].size == 0
    labels = np.repeat([0, 1, 2, 3, 4], 10)
    for norm in NORMS:
        out = distance_floor(X, labels, norm, block=7)
        assert out["pairs"] == (50 * 50 - 5 * 100) // 2


def test_dask_executor_gives_identical_output():
    from dask import distributed
    rng = np.random.default_rng(8)
    X = rng.normal(size=(200, 6))
    labels = rng.integers(0, 3, 200)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        par = conflict_pairs(X, labels, 2.5, 1.0, block=30, executor=client.get_executor())
    assert_same(par, brute(X, labels, 2.5, 1.0))


@pytest.mark.parametrize("norm", NORMS)
def test_torch_blocks_equal_numpy_blocks(monkeypatch, norm):
    import torch

    from robustdsl.solvers import pairs
    rng = np.random.default_rng(9)
    X = rng.random((120, 60))
    labels = rng.integers(0, 3, 120)
    thr = at_pair_distance(X, labels, norm, 0.05)
    small = check_both(X, labels, thr, norm, 50)            # numpy blocks
    monkeypatch.setattr(pairs, "_SMALL", 0)                  # every block through torch
    assert_same(check_both(X, labels, thr, norm, 50), small)
    old = torch.get_float32_matmul_precision()
    try:
        torch.set_float32_matmul_precision("medium")         # bf16 allowed: a wider margin
        assert pairs._unit_roundoff("cpu") == 2.0 ** -8
        assert_same(check_both(X, labels, thr, norm, 50), small)
    finally:
        torch.set_float32_matmul_precision(old)
