"""Column generation over the pair columns, intervals at a time limit, the sparse classifier check."""
from __future__ import annotations

import numpy as np
import pytest

from robustdsl.ir import GroupLP
from robustdsl.saddle import Classifier
from robustdsl.solvers import cutting_plane
from robustdsl.solvers.cliques import ConflictGraph
from robustdsl.solvers.group_certificate import conflict_graph_from_pairs, sparse_classifier_risk
from robustdsl.solvers.pair_flow import pair_flow

from group_lp_helpers import make_problem


def _blobs(seed, n=70, K=4, d=3, spread=0.6):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % K
    X = rng.normal(size=(n, d)) * spread + y[:, None] * 0.3
    return X, y


def _needs_lp(n_wanted=3, eps=0.7):
    """Instances on which the pair value is not exact (a violated triple after the flow)."""
    out = []
    for seed in range(60):
        X, y = _blobs(seed)
        prog = GroupLP(X, y, np.full(y.size, 1 / y.size), eps, 2.0, 4, None)
        full = cutting_plane.solve(prog, lp_route="full")
        if full.info["components_by_flow"] < full.info["components"]:
            out.append((prog, full))
        if len(out) == n_wanted:
            return out
    pytest.fail("no instance needing the LP")


def test_column_generation_equals_the_full_lp():
    for prog, full in _needs_lp():
        cg = cutting_plane.solve(prog, lp_route="colgen")
        assert cg.status == full.status == "optimal"
        assert abs(cg.value - full.value) <= 1e-9
        # an independent reference: every admissible group given to the LP at once
        from robustdsl.solvers.lp_highs import HighsGroupLP
        h = HighsGroupLP(prog.weights)
        h.add_groups(cutting_plane.all_admissible_groups(prog))
        assert abs(h.solve().value - cg.value) <= 1e-9
        # the final q is feasible for every pair and every admissible group (exactness)
        g = cg.graph
        assert np.all(cg.q[g.I] + cg.q[g.J] <= 1 + 1e-9)
        assert cutting_plane.violated_pairs(g, cg.q).size == 0


def _random_graph(seed: int, n: int, draws: int, values) -> tuple[np.ndarray, ConflictGraph, np.ndarray]:
    """Random simple edges (sorted pairs), their graph on labels v % 5, and q drawn from `values`."""
    rng = np.random.default_rng(seed)
    e = np.unique(np.sort(rng.integers(0, n, (draws, 2)), 1), axis=0)
    e = e[e[:, 0] != e[:, 1]]
    return e, ConflictGraph(n, e[:, 0], e[:, 1], np.arange(n) % 5, None), rng.choice(values, n)


def test_pricing_and_initial_pairs_by_brute_force():
    n = 40
    e, g, q = _random_graph(1, n, 150, [0.0, 0.5, 1.0, 0.3, 0.7])
    ref = [k for k, (a, b) in enumerate(e) if q[a] + q[b] > 1 + 1e-9]
    assert cutting_plane.violated_pairs(g, q).tolist() == ref
    pf = pair_flow(n, g.I, g.J, np.full(n, 1 / n))
    init = cutting_plane.initial_pairs(g, pf)
    ref = [k for k, (a, b) in enumerate(e) if pf.w[k] > 0 or pf.q[a] + pf.q[b] >= 1 - 1e-9]
    assert init.tolist() == ref and 0 < init.size


def test_capped_pricing_takes_the_most_violated_pairs(monkeypatch):
    from robustdsl.solvers import working_set
    e, g, q = _random_graph(2, 60, 400, [0.2, 0.5, 0.6, 0.7, 0.9])
    monkeypatch.setattr(working_set, "_CHUNK", 7)                    # several chunks
    viol = [(-(q[a] + q[b]), k) for k, (a, b) in enumerate(e) if q[a] + q[b] > 1 + 1e-9]
    assert cutting_plane.violated_pairs(g, q).tolist() == sorted(k for _, k in viol)
    for cap in (1, 5, 17, len(viol), len(viol) + 3):
        ref = sorted(k for _, k in sorted(viol)[:cap])               # largest sums, then smaller ids
        assert cutting_plane.violated_pairs(g, q, cap=cap).tolist() == ref


def test_column_generation_with_a_tiny_pricing_cap_is_still_exact(monkeypatch):
    from robustdsl.solvers.lp_highs import HighsGroupLP
    monkeypatch.setattr(cutting_plane, "PRICE_CAP", 2)
    priced = []
    real = cutting_plane.violated_pairs
    monkeypatch.setattr(cutting_plane, "violated_pairs",
                        lambda g, q, tol=1e-9, cap=None: priced.append(real(g, q, tol).size) or real(g, q, tol, cap))
    for prog, full in _needs_lp(3):
        for route in ("colgen", "split"):           # a solver given: the working-set loop, not the pool
            cg = cutting_plane.solve(prog, lambda p: HighsGroupLP(p), lp_route=route)
            assert cg.status == "optimal"
            assert abs(cg.value - full.value) <= 1e-9
            assert real(cg.graph, cg.q).size == 0
    assert max(priced) > 2                          # the cap did bind


@pytest.mark.parametrize("limit", [1e-9, 0.05])
def test_interval_at_a_tiny_time_limit_is_valid_and_at_least_the_pair_value(limit):
    for prog, full in _needs_lp(2):
        at2 = cutting_plane.solve(GroupLP(prog.X, prog.labels, prog.weights, prog.eps, 2.0, 4, 2))
        short = cutting_plane.solve(prog, time_limit=limit)
        if short.status == "optimal":                                 # it finished in time
            assert abs(short.value - full.value) <= 1e-9
            continue
        assert short.status == "interval"
        # a pass cut by the deadline keeps only some pairs (tests/test_pass_deadline.py)
        floor = 0.0 if "pair_pass" in short.info else at2.value
        assert floor - 1e-12 <= short.lower <= full.value + 1e-12 <= short.upper + 2e-12
        assert short.upper <= 1 - 1 / 4                                 # never above the trivial bound
        sol = make_problem(prog.X, prog.labels, prog.eps).solve("highs", time_limit=limit)
        assert sol.lower - 1e-12 <= full.value <= sol.upper + 1e-12


def _risk_by_brute_force(X, y, q, eps, att):
    """f* from q at every atom (all samples checked), rest to the nearest of the atom's location
    sources and the samples with q > 0 inside the ball."""
    Z = att.points
    D = np.sqrt(((Z[:, None, :] - X[None, :, :]) ** 2).sum(-1))
    K = int(y.max()) + 1
    F = np.zeros((Z.shape[0], K))
    for k in range(K):
        F[:, k] = np.where((D <= eps) & (y == k)[None, :], q[None, :], 0.0).max(1)
    F /= np.maximum(1.0, F.sum(1, keepdims=True))
    same = (Z[:, None, :] == Z[None, :, :]).all(-1)                   # atoms at one location
    src = np.zeros((Z.shape[0], X.shape[0]), bool)
    src[np.nonzero(same)[0], att.source[np.nonzero(same)[1]]] = True
    allowed = src | ((D <= eps) & (q > 0)[None, :])
    near = np.where(allowed, D, np.inf).argmin(1)
    F[np.arange(Z.shape[0]), y[near]] += 1.0 - F.sum(1)
    return float(np.dot(att.masses, 1 - F[np.arange(Z.shape[0]), att.label_index]))


@pytest.mark.parametrize("seed,eps", [(0, 0.3), (1, 0.4), (2, 0.5), (3, 0.35)])
def test_sparse_classifier_risk_equals_brute_force(seed, eps, monkeypatch):
    from robustdsl.solvers import group_certificate

    X, y = _blobs(seed, n=90, K=3, d=4, spread=0.8)
    sol = make_problem(X, y, eps).solve("highs")
    att, q = sol.attack, sol.q
    assert (att.group >= 0).any() and (att.group < 0).any()           # merged and unmoved atoms
    from robustdsl.solvers.pairs import conflict_pairs
    I, J, _ = conflict_pairs(X, y, 2 * eps, 2.0)
    g = conflict_graph_from_pairs(X, y, eps, 2.0, np.flatnonzero(q > 0), I, J, either=True)
    sparse = sparse_classifier_risk(X, y, q, eps, 2.0, att, g)
    ref = _risk_by_brute_force(X, y, q, eps, att)
    assert abs(sparse - ref) <= 1e-12
    monkeypatch.setattr(group_certificate, "_sparse_pays", lambda *a: True)
    cert = sol.certificate()
    assert cert.ok and cert.checks["classifier_evaluation"] == "sparse"
    assert abs(cert.checks["classifier_risk_on_attack"] - ref) <= 1e-12


def test_sparse_classifier_same_class_search():
    """An unmoved atom whose class-mate (not a conflict neighbour) holds it in a ball with larger q."""
    X = np.array([[0.0, 0.0], [0.5, 0.0], [3.0, 0.0]])
    y = np.array([0, 0, 1])
    q = np.array([0.25, 1.0, 1.0])

    class A:
        points = X.copy()
        source = np.arange(3)
        label_index = y
        masses = np.full(3, 1 / 3)
    g = ConflictGraph(3, np.zeros(0, np.int64), np.zeros(0, np.int64), y, np.zeros(0))
    P = Classifier(X, y, q, 1.0, 2.0, (0, 1))(X)
    dense = float(np.dot(A.masses, 1 - P[np.arange(3), y]))
    assert abs(sparse_classifier_risk(X, y, q, 1.0, 2.0, A, g) - dense) <= 1e-15 and dense == 0.0


def test_sweep_eps_left_unsolved_keeps_the_lower_bound_of_a_smaller_eps(monkeypatch):
    import time

    from robustdsl.solvers import sweep

    X, y = _blobs(3, n=60, K=3)
    exact = sweep.solve_curve(X, y, [0.3, 0.5], 2.0)
    real = cutting_plane.solve

    def slow(*a, **k):                                   # the first eps uses up the time limit
        res = real(*a, **k)
        time.sleep(0.6)
        return res
    monkeypatch.setattr(cutting_plane, "solve", slow)
    first, second = sweep.solve_curve(X, y, [0.3, 0.5], 2.0, time_limit=0.5)
    assert first.status == "optimal" and abs(first.value - exact[0].value) <= 1e-12
    assert second.status == "interval" and second.lower == first.value > 0
    assert second.lower <= exact[1].value <= second.upper


def test_local_region_route_equals_the_full_lp(monkeypatch):
    from robustdsl.solvers import local_lp

    monkeypatch.setattr(cutting_plane, "LOCAL_MIN", 1)
    monkeypatch.setattr(local_lp, "MAX_FRACTION", 1.0)   # small components: never fall back
    regions = []

    def spy(*a, **k):
        out = local_lp.solve_local(*a, **k)
        regions.append(out["region"])
        return out
    monkeypatch.setattr(cutting_plane, "solve_local", spy)
    for prog, full in _needs_lp(3):
        loc = cutting_plane.solve(prog, lp_route="local")
        assert loc.status == "optimal" and abs(loc.value - full.value) <= 1e-9
        assert cutting_plane.violated_pairs(loc.graph, loc.q).size == 0
        load = np.zeros(prog.n)                                     # the primal is feasible
        np.add.at(load, loc.groups.indices, np.repeat(loc.w, loc.groups.sizes))
        assert np.all(load <= prog.weights * (1 + 1e-9)) and np.all(loc.w >= 0)
        gain = float(np.dot(loc.w, loc.groups.sizes - 1))
        assert abs(gain - full.value) <= 1e-9
        sol = make_problem(prog.X, prog.labels, prog.eps).solve("highs")   # certified end to end
        assert abs(sol.value - full.value) <= 1e-9
    assert len(regions) >= 3 and min(regions) < prog.n              # the region route answered
    with pytest.raises(Exception, match="lp_route"):
        cutting_plane.solve(prog, lp_route="nope")


def test_rule_option_lp_route():
    from robustdsl.errors import InvalidInput

    for prog, full in _needs_lp(1):
        prob = make_problem(prog.X, prog.labels, prog.eps)
        vals = [prob.solve("highs", lp_route=r).value for r in ("colgen", "split", "full", "local")]
        assert max(vals) - min(vals) <= 1e-9 and abs(vals[0] - full.value) <= 1e-9
        with pytest.raises(InvalidInput, match="lp_route"):
            prob.solve("highs", lp_route="fast")


@pytest.mark.parametrize("seed", range(3))
def test_split_gives_the_induced_subgraphs_and_their_edge_ids(seed):
    """Split.sub(i) is induced(parts[i]) (edges in the same order, distances carried) and names
    the edges it took; parts in any order, vertices outside every part, edges between parts."""
    rng = np.random.default_rng(seed)
    n = 60
    e = np.unique(np.sort(rng.integers(0, n, (400, 2)), 1), axis=0)
    e = e[e[:, 0] != e[:, 1]]
    e = e[rng.permutation(e.shape[0])]                             # edges in any order
    g = ConflictGraph(n, e[:, 0], e[:, 1], np.arange(n) % 5, rng.random(e.shape[0]))
    perm = rng.permutation(n)
    parts = [perm[:7], perm[7:30], perm[30:31], perm[35:]]       # 31..34 in no part
    split = g.split(parts)
    for i, part in enumerate(parts):
        got, ids = split.sub(i)
        ref, _ = g.induced(part)
        assert got.n == ref.n and np.array_equal(got.labels, ref.labels)
        assert np.array_equal(got.I, ref.I) and np.array_equal(got.J, ref.J)
        assert np.array_equal(got.dist, ref.dist)
        inside = np.isin(g.I, part) & np.isin(g.J, part)
        assert np.array_equal(ids, np.flatnonzero(inside))
        assert np.array_equal(part[np.stack([got.I, got.J], 1)].min(1), np.minimum(g.I, g.J)[ids])


@pytest.mark.parametrize("seed", range(6))
def test_separation_finds_every_violated_group_by_brute_force(seed):
    """violated_groups (with its prefix pruning before the clique test) against every admissible
    group of size 3..4 without a q = 0 member, q drawn with ties near the pruning thresholds."""
    from group_lp_helpers import all_groups
    from robustdsl.solvers import separation

    rng = np.random.default_rng(seed)
    X, y = _blobs(seed, n=16, K=4, d=2, spread=0.5)
    eps = 0.45
    q = rng.choice([0.0, 0.2, 0.25, 1 / 3, 0.34, 0.4, 0.5, 0.6, 0.75], y.size)
    from robustdsl.solvers.pairs import conflict_pairs
    I, J, _ = conflict_pairs(X, y, 2 * eps, 2.0)
    g = ConflictGraph(y.size, I, J, y, None)
    ref = {tuple(s) for s in all_groups(X, y, eps, 2.0, 4)       # (q = 0 members add nothing: left out)
           if len(s) >= 3 and q[list(s)].sum() > 1 + 1e-9 and q[list(s)].min() > 0}
    got = separation.violated_groups(g, X, q, eps, 2.0, 4)
    found = {tuple(int(v) for v in r) for rows in got.rows.values() for r in rows}
    assert found == ref and len(ref) > 0
