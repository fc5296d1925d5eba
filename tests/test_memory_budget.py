"""Memory budget of the pair pass (issue 6): compact store, bounded pass, certified intervals."""
from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest

from robustdsl.errors import InvalidInput, ResourceLimit
from robustdsl.ir import GroupLP
from robustdsl.solvers.cutting_plane import all_admissible_groups
from robustdsl.solvers.pair_budget import PAIR_BYTES, bounded_pairs, budget_pairs
from robustdsl.solvers.pair_store import PairStore
from robustdsl.solvers.pairs import conflict_pairs, margin_factor, pairwise_dist, restrict_pairs
from robustdsl.solvers.sweep import solve_curve
from robustdsl.solvers.truncated import truncated_bounds

BLOCK = 1 << 20                                      # max_bytes of one distance block in these tests


def _instance(seed, n=150, d=4, K=3):
    rng = np.random.default_rng(seed)
    return rng.random((n, d)), rng.integers(0, K, n)


def _brute(X, y, thr):
    """Every cross-class pair within thr (float64 brute force), as a set, and the degrees."""
    D = pairwise_dist(X, X, 2.0)
    ok = (D <= thr) & (y[:, None] != y[None, :])
    I, J = np.nonzero(np.triu(ok, 1))
    return set(zip(I.tolist(), J.tolist())), ok.sum(1)


def _memory(X, pairs):
    """A max_memory that holds exactly `pairs` pairs beside the data and one block."""
    return 12 * X.size + BLOCK + pairs * PAIR_BYTES


def test_pair_store_grows_filters_and_sorts_like_lexsort():
    rng = np.random.default_rng(0)
    n = 500
    store = PairStore(n, start=4)
    parts = [(rng.integers(0, n, m), rng.integers(0, n, m), rng.random(m)) for m in (3, 50, 0, 700)]
    for i, j, d in parts:
        store.append(i, j, d)
    i, j, d = (np.concatenate(c) for c in zip(*parts))
    keep = d > 0.3
    store.keep(keep)
    I, J, D = store.sorted_pairs()
    a, b = np.minimum(i, j)[keep], np.maximum(i, j)[keep]
    o = np.lexsort((b, a))
    assert I.dtype == np.int64 and J.dtype == np.int64
    assert np.array_equal(I, a[o]) and np.array_equal(J, b[o])
    assert np.array_equal(D, d[keep][o].astype(np.float32))
    full = PairStore(n, limit=5)
    assert full.fits(5) and not full.fits(6)
    with pytest.raises(InvalidInput):
        full.append(*(np.zeros(6, np.int64),) * 2, np.zeros(6))


@pytest.mark.parametrize("seed", range(4))
def test_bounded_pass_is_exact_where_it_fits_and_a_certified_subset_above(seed):
    X, y = _instance(seed)
    ts = [0.2, 0.3, 0.4]
    want, deg = _brute(X, y, ts[-1])
    for cap in (10 ** 6, len(want), len(want) - 1, len(want) // 3, 160, 40, 0):
        bp = bounded_pairs(X, y, ts, 2.0, cap, block=32)
        assert bp.total == len(want) and np.array_equal(bp.degree, deg)
        if cap >= len(want):
            assert not bp.truncated and bp.KI is None and bp.exact_threshold == ts[-1]
        else:
            assert bp.truncated
            # the memory held: store pairs + k-nearest tables stay within the pair budget
            assert bp.I.size + X.shape[0] * bp.k <= cap
            kept = set(zip(bp.KI.tolist(), bp.KJ.tolist()))
            assert kept <= want                                  # a subset of the true pairs
            comp = bp.complete()
            assert np.array_equal(comp, deg <= bp.k)
            assert all((u, v) in kept for u, v in want if comp[u] or comp[v])
            assert all(len([1 for e in kept if u in e]) >= min(bp.k, deg[u]) for u in range(0, 150, 7))
        if bp.exact_threshold >= 0:                               # exact below the store's threshold
            gi, gj, _ = restrict_pairs(X, bp.I, bp.J, bp.D, bp.exact_threshold, 2.0)
            got = set(zip(gi.tolist(), gj.tolist()))
            assert got == _brute(X, y, bp.exact_threshold)[0]


def _pair_value_networkx(n, I, J):
    """Pair LP with p = 1/n: half the maximum matching of the bipartite double cover, over n."""
    G = nx.Graph()
    G.add_nodes_from(range(2 * n))
    G.add_edges_from([(int(u), n + int(v)) for u, v in zip(I, J)] + [(int(v), n + int(u)) for u, v in zip(I, J)])
    m = nx.bipartite.maximum_matching(G, top_nodes=range(n))
    return len(m) / 2 / 2 / n


@pytest.mark.parametrize("seed", range(3))
def test_tiny_budget_gives_an_interval_around_the_exact_value(seed):
    X, y = _instance(seed, n=120)
    X0, y0 = X.copy(), y.copy()
    grid = [0.1, 0.15, 0.2]
    exact = solve_curve(X, y, grid)
    want, _ = _brute(X, y, 2 * grid[-1])
    intervals = 0
    for cap in (len(want) // 2, 150, 0):
        sols = solve_curve(X, y, grid, max_bytes=BLOCK, max_memory=_memory(X, cap))
        floor = 0.0
        for e, a, b in zip(grid, exact, sols):
            assert b.lower - 1e-9 <= a.value <= b.upper + 1e-9
            if b.status == "optimal":
                assert b.value == pytest.approx(a.value, abs=1e-9)
            else:
                assert b.status == "interval" and "memory budget" in b.info["reason"]
                intervals += 1
                assert b.info["pairs_found_at_largest_eps"] == len(want)
                # the lower bound is the pair LP on the kept pairs (networkx), or a smaller eps' value
                bp = bounded_pairs(X, y, 2 * np.array(grid), 2.0, budget_pairs(_memory(X, cap), *X.shape,
                                                                                 max_bytes=BLOCK))
                gi, gj, _ = restrict_pairs(X, bp.KI, bp.KJ, bp.KD, 2 * e, 2.0)
                flow = _pair_value_networkx(X.shape[0], gi, gj)
                assert b.info["pair_flow_on_kept"] == pytest.approx(flow, abs=1e-12)
                assert b.lower == pytest.approx(max(flow, floor), abs=1e-12)
                assert b.upper <= (1 - 1 / 3) + 1e-12
            floor = max(floor, b.lower)
    assert intervals >= 4
    assert np.array_equal(X, X0) and np.array_equal(y, y0)


@pytest.mark.parametrize("seed", range(3))
def test_truncated_upper_bound_dominates_the_exact_classifier_bound(seed):
    """U from truncated_bounds >= sum p (1 - q / M_exact), M_exact = max(1, largest sum of q over the
    admissible groups through v, all enumerated), which is >= AT: so U is a valid upper bound."""
    X, y = _instance(seed, n=60, d=3)
    e = 0.17
    lab = y.astype(np.int64)
    p = np.full(60, 1 / 60)
    bp = bounded_pairs(X, lab, [2 * e], 2.0, 70)
    assert bp.truncated
    tb = truncated_bounds(lab, p, bp.KI, bp.KJ, bp.complete(), 3, 3)
    groups = all_admissible_groups(GroupLP(X, lab, p, e, 2.0, 3, None))
    M = np.ones(60)
    for g in range(groups.n_groups):
        rows = groups.indices[groups.indptr[g]:groups.indptr[g + 1]]
        M[rows] = np.maximum(M[rows], tb.q[rows].sum())
    exact_u = float(np.dot(p, 1 - tb.q / M))
    at = solve_curve(X, y, [e])[0].value
    assert at <= exact_u + 1e-12 <= tb.upper + 2e-12
    assert tb.lower <= at + 1e-12


def test_bad_budgets_are_refused():
    X, y = _instance(0, n=30)
    for bad in (0, -5, 1.5, "8GB", True, None.__class__):
        with pytest.raises(InvalidInput, match="max_memory"):
            solve_curve(X, y, [0.1], max_memory=bad)
    with pytest.raises(ResourceLimit, match="max_memory"):
        solve_curve(X, y, [0.1], max_memory=1000)
    with pytest.raises(InvalidInput, match="max_kept"):
        bounded_pairs(X, y, [0.2], 2.0, -1)
    with pytest.raises(InvalidInput, match="thresholds"):
        bounded_pairs(X, y, [], 2.0, 10)


def test_budget_pairs_counts_bytes():
    assert budget_pairs(12 * 10 * 4 + 100 + 5 * PAIR_BYTES + 3, 10, 4, max_bytes=100) == 5


def test_conflict_pairs_store_keeps_the_exact_answer_and_dtypes():
    X, y = _instance(5)
    want, _ = _brute(X, y, 0.3)
    I, J, D = conflict_pairs(X, y, 0.3, 2.0, block=16)
    assert set(zip(I.tolist(), J.tolist())) == want and D.dtype == np.float64
    assert np.all(np.diff(I * 150 + J) > 0)
    I2, J2, D2 = conflict_pairs(X, y, 0.3, 2.0, block=16, distances="screened")
    assert np.array_equal(I, I2) and np.array_equal(J, J2) and D2.dtype == np.float32
    s = (X * X).sum(1)                                # screening error bound of D^2 (pairs.margin_factor)
    err = np.abs(D2.astype(np.float64) ** 2 - D ** 2)
    assert np.all(err <= margin_factor(2.0, X.shape[1]) / 2 * (s[I] + s[J]) + 4e-7 * D ** 2)
    for a, b in itertools.islice(zip(I, J), 5):
        assert np.linalg.norm(X[a] - X[b]) <= 0.3


def test_problem_solve_with_max_memory():
    """The public API: max_memory that fits gives the exact value, a tiny one a certified interval."""
    import robustdsl as rd

    X, y = _instance(1, n=90)
    mu = rd.EmpiricalMeasure.from_arrays(X, y)
    f = rd.Agnostic(classes=mu.classes)
    adv = rd.Adversary(mu)
    problem = rd.inf(f, rd.sup(adv, rd.E(adv, rd.ZeroOne(f)) - rd.OT(mu, adv, rd.Ball(0.2, 2))))
    exact = problem.solve()
    assert exact.status == "optimal" and exact.value > 0
    roomy = problem.solve(max_memory=_memory(X, 10 ** 5), max_bytes=BLOCK)
    assert roomy.status == "optimal" and roomy.value == pytest.approx(exact.value, abs=1e-12)
    tiny = problem.solve(max_memory=_memory(X, 60), max_bytes=BLOCK)
    assert tiny.status == "interval" and "memory budget" in tiny.info["reason"]
    assert tiny.lower - 1e-12 <= exact.value <= tiny.upper + 1e-12 and tiny.lower < tiny.upper
    with pytest.raises(InvalidInput, match="max_memory"):
        problem.solve(max_memory=-1)


def test_runner_max_memory_writes_the_interval(tmp_path):
    """benchmarks/run.py --max-memory: the eps whose pairs do not fit is an interval in the JSON."""
    import json

    from test_benchmark_runner import _runner, _write_idx

    rng = np.random.default_rng(0)
    for part, n in (("train", 120), ("t10k", 30)):
        labels = rng.permutation(np.arange(n) % 10)
        _write_idx(tmp_path / f"{part}-images-idx3-ubyte.gz", rng.integers(0, 256, size=(n, 28, 28)))
        _write_idx(tmp_path / f"{part}-labels-idx1-ubyte.gz", labels)
    out = tmp_path / "res.json"
    gib = (12 * 150 * 784 + (1 << 30) + 300 * PAIR_BYTES) / 2 ** 30
    _runner().main(["--workload", "FULL", "--mnist", str(tmp_path), "--sweep", "--eps", "4", "5.8",
                    "--max-memory", repr(gib), "--no-tracemalloc", "--quiet", "--out", str(out)])
    per_eps = json.loads(out.read_text())["workloads"][0]["sweep"]["per_eps"]
    assert per_eps[0]["status"] == "optimal"
    last = per_eps[1]
    assert last["status"] == "interval" and "memory budget" in last["reason"]
    assert last["lower"] <= last["upper"] and last["pairs_found_at_largest_eps"] > 300


@pytest.mark.parametrize("norm", [1.0, np.inf])
def test_tiny_budget_interval_in_other_norms(norm):
    X, y = _instance(7, n=100, d=3)
    grid = [0.1, 0.2] if norm == np.inf else [0.2, 0.35]
    exact = solve_curve(X, y, grid, norm)
    sols = solve_curve(X, y, grid, norm, max_bytes=BLOCK, max_memory=_memory(X, 120))
    assert sols[-1].status == "interval"
    for a, b in zip(exact, sols):
        assert b.lower - 1e-9 <= a.value <= b.upper + 1e-9
