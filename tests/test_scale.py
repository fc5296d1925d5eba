"""Scale pipeline: pair max-flow, pair restriction for sweeps, solve_curve (serial, warm/cold, Dask)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from robustdsl.errors import InvalidInput
from robustdsl.ir import GroupSet
from robustdsl.solvers.lp_highs import HighsGroupLP
from robustdsl.solvers.pair_flow import integral_capacities, pair_flow
from robustdsl.solvers.pairs import conflict_pairs, restrict_pairs
from robustdsl.solvers.sweep import solve_curve

from group_lp_helpers import make_problem


def _graph(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 40))
    I, J = rng.integers(0, n, 3 * n), rng.integers(0, n, 3 * n)
    e = np.unique(np.stack([np.minimum(I, J), np.maximum(I, J)], 1)[I != J], axis=0)
    return n, e, rng


@pytest.mark.parametrize("seed", range(12))
def test_pair_flow_matches_highs(seed):
    n, e, rng = _graph(seed)
    p = rng.integers(1, 4, n) / 7.0
    f = pair_flow(n, e[:, 0], e[:, 1], p)
    h = HighsGroupLP(p)
    h.add_groups(GroupSet.from_rows(e))
    assert abs(f.value - h.solve().value) <= 1e-9
    load = np.zeros(n)
    np.add.at(load, e[:, 0], f.w)
    np.add.at(load, e[:, 1], f.w)
    assert np.all(f.w >= 0) and np.all(load <= p + 1e-12)          # primal feasible
    assert np.all(f.q[e[:, 0]] + f.q[e[:, 1]] <= 1 + 1e-12)       # dual feasible
    assert set(np.unique(2 * f.q)) <= {0.0, 1.0, 2.0}              # half-integral
    assert abs(np.dot(p, 1 - f.q) - f.value) <= 1e-12 and abs(f.w.sum() - f.value) <= 1e-12


def test_integral_capacities_refuses_irrational_ratios():
    assert integral_capacities(np.array([0.1, 0.3, 0.2]))[0].tolist() == [1, 3, 2]
    assert integral_capacities(np.array([1.0, math.sqrt(2)])) is None


@pytest.mark.parametrize("norm,big", [(2.0, 3.0), (math.inf, 0.95), (1.0, 12.0)])
def test_restrict_pairs_is_the_exact_pair_set(norm, big):
    rng = np.random.default_rng(3)
    X, y = rng.random((300, 30)), rng.integers(0, 3, 300)
    I, J, D = conflict_pairs(X, y, big, norm, distances="screened")
    for t in np.linspace(0.5 * big, big, 6):
        a = conflict_pairs(X, y, t, norm)
        b = restrict_pairs(X, I, J, D, t, norm)
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
        assert np.allclose(a[2], b[2], rtol=1e-5)


def _blobs(seed, n=60, K=3, d=3):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % K
    X = rng.normal(size=(n, d)) * 0.6 + y[:, None] * 0.4
    return X, y


@pytest.mark.parametrize("seed,norm", [(0, 2.0), (1, 2.0), (2, math.inf), (3, 1.0)])
def test_solve_curve_matches_separate_solves(seed, norm):
    X, y = _blobs(seed)
    grid = [0.6, 0.2, 0.4] if norm != 1.0 else [0.9, 0.4]
    curve = solve_curve(X, y, grid, norm)
    cold = solve_curve(X, y, grid, norm, warm=False)
    vals = []
    for e, s, c in zip(grid, curve, cold):
        ref = make_problem(X, y, e, norm).solve("highs", certify=True)
        assert s.status == "optimal" and abs(s.value - ref.value) <= 1e-9
        assert abs(c.value - ref.value) <= 1e-9
        assert s.certificate().gap <= 1e-9
        vals.append(s.value)
    order = np.argsort(grid)
    assert np.all(np.diff(np.asarray(vals)[order]) >= -1e-12)      # AT is monotone in eps
    assert max(vals) > 0                                            # the grid is not trivial


def test_solve_curve_general_weights_use_the_lp():
    X, y = _blobs(5)
    w = np.random.default_rng(0).random(X.shape[0]) + 0.5
    w[0] *= math.sqrt(2)                                           # no integral scaling: LP path
    (s,) = solve_curve(X, y, [0.5], 2.0, weights=w / w.sum())
    ref = make_problem(X, y, 0.5, 2.0, w / w.sum()).solve("highs")
    assert abs(s.value - ref.value) <= 1e-9 and s.info["components_by_flow"] == 0


def test_solve_curve_rejects_bad_input():
    X, y = _blobs(0)
    with pytest.raises(InvalidInput, match="eps"):
        solve_curve(X, y, [-1.0])
    with pytest.raises(InvalidInput, match="weights"):
        solve_curve(X, y, [0.1], weights=np.zeros(X.shape[0]))
    X0 = X.copy()
    solve_curve(X, y, [0.3])
    assert np.array_equal(X, X0)


@pytest.mark.parametrize("grid", [[1.0, 1.0], [0.71, 0.72], [1.0, 1.0000001], [0.5, 0.71, 0.72, 0.8, 1.0]])
def test_solve_curve_grid_with_an_unchanged_conflict_graph(grid):
    # the warm seed at the second eps already holds every violated group of the start point:
    # the first LP must solve it, not report a stalled separation
    X, y = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]), np.array([0, 1, 2])
    curve = solve_curve(X, y, grid)
    for e, s in zip(grid, curve):
        ref = make_problem(X, y, e, 2.0).solve("highs")
        assert s.status == "optimal" and abs(s.value - ref.value) <= 1e-12
    # the triangle's enclosing ball has radius sqrt(2)/2: all three classes meet above it
    assert [s.value for s in curve] == pytest.approx([2 / 3 if e > 0.7072 else 1 / 3 for e in grid])


@pytest.mark.parametrize("kwargs,argument", [
    (dict(eps=[1e300]), "eps"), (dict(X=np.zeros((0, 2)), y=np.zeros(0, int)), "X"),
    (dict(X=np.zeros((3, 0)), y=np.arange(3)), "X"), (dict(y=np.array(["a", "b", "c"])), "y"),
    (dict(y=np.array([0.0, 1.0, 2.0])), "y"), (dict(X=np.array([[np.nan, 0], [1, 0], [0, 1]])), "X"),
    (dict(weights=[1e-300] * 3), "weights"), (dict(max_group_size=2.0), "max_group_size"),
    (dict(max_group_size=1), "max_group_size"), (dict(executor=object()), "executor"),
    (dict(X=np.array([["a", "b"]] * 3)), "X")])
def test_solve_curve_refuses_where_written(kwargs, argument):
    args = dict(X=np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]), y=np.array([0, 1, 2]), eps=[0.5])
    args.update(kwargs)
    with pytest.raises(InvalidInput) as info:
        solve_curve(args.pop("X"), args.pop("y"), args.pop("eps"), **args)
    assert info.value.argument == argument


def test_solve_curve_on_dask_matches_serial():
    import distributed  # in the test extra: a missing Dask fails the test, it does not skip it
    X, y = _blobs(7, n=400, d=40)
    grid = [2.4, 2.0]
    serial = solve_curve(X, y, grid, 2.0)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        par = solve_curve(X, y, grid, 2.0, executor=client.get_executor(), max_bytes=1 << 20,
                          parallel_min=2)                  # every component through Dask too
    assert max(s.value for s in serial) > 0
    for a, b in zip(serial, par):
        assert a.status == b.status == "optimal" and abs(a.value - b.value) <= 1e-12
        assert a.info["components"] == b.info["components"] and b.certificate().gap <= 1e-9


def test_components_through_a_process_pool_match_serial():
    from concurrent.futures import ProcessPoolExecutor

    X, y = _blobs(11, n=90, K=4)
    serial = solve_curve(X, y, [0.5, 0.9], 2.0)
    with ProcessPoolExecutor(2) as ex:
        par = solve_curve(X, y, [0.5, 0.9], 2.0, executor=ex, parallel_min=2)
    assert max(s.value for s in serial) > 0
    for a, b in zip(serial, par):
        assert abs(a.value - b.value) <= 1e-12 and b.status == "optimal"
        assert b.certificate().gap <= 1e-9


@pytest.mark.parametrize("seed", range(3))
def test_flow_route_uniform_weights_uses_integer_flow(seed):
    X, y = _blobs(seed, n=45, K=3)
    prob = make_problem(X, y, 0.5, 2.0)
    a = prob.solve("flow", max_group_size=2)
    b = prob.solve("highs", max_group_size=2)
    assert a.value > 0 and abs(a.value - b.value) <= 1e-9 and "flow" in a.timings
    assert a.certificate().gap <= 1e-9


def test_solve_curve_time_limit_gives_certified_intervals():
    X, y = _blobs(2)
    exact = solve_curve(X, y, [0.3, 0.6], 2.0)
    short = solve_curve(X, y, [0.3, 0.6], 2.0, time_limit=1e-9)
    for e, s in zip(exact, short):
        assert s.status == "interval" and s.lower - 1e-12 <= e.value <= s.upper + 1e-12
        assert s.upper <= 1.0 - 1.0 / 3 + 1e-12


def test_rule_accepts_executor_and_device():
    from concurrent.futures import ThreadPoolExecutor

    X, y = _blobs(4)
    prob = make_problem(X, y, 0.5, 2.0)
    with ThreadPoolExecutor(2) as ex:
        a = prob.solve("highs", executor=ex, device="cpu")
    assert abs(a.value - prob.solve("highs").value) <= 1e-12 and a.value > 0
    with pytest.raises(InvalidInput, match="executor"):
        prob.solve("highs", executor=3)
    with pytest.raises(InvalidInput, match="device"):
        prob.solve("highs", device="tpu")


def test_l2_classifier_matches_float64_brute_force():
    from robustdsl.saddle import Classifier

    rng = np.random.default_rng(8)
    X = rng.normal(size=(300, 20))
    lab = rng.integers(0, 4, 300)
    q = rng.random(300)
    Z = np.concatenate([X[:50] + 0.3 * rng.normal(size=(50, 20)), rng.normal(size=(200, 20))])
    eps = 4.5
    f = Classifier(X, lab, q, eps, 2.0, (0, 1, 2, 3))
    D = np.sqrt(((Z[:, None, :] - X[None, :, :]) ** 2).sum(-1))
    ref = np.zeros((Z.shape[0], 4))
    for k in range(4):
        inside = (D <= eps) & (lab == k)[None, :]
        ref[:, k] = np.where(inside, q[None, :], 0.0).max(1)
    ref /= np.maximum(1.0, ref.sum(1, keepdims=True))
    ref[np.arange(Z.shape[0]), lab[D.argmin(1)]] += 1.0 - ref.sum(1)
    assert 0 < (D <= eps).sum() < D.size                       # balls neither empty nor everything
    assert np.allclose(f(Z), ref, atol=1e-12)
    assert np.array_equal(f.predict(Z), np.asarray((0, 1, 2, 3))[ref.argmax(1)])


def test_l2_classifier_decides_points_on_the_ball_boundary_exactly():
    """z at distance eps (1 -+ 1e-7) from a sample a (inside the float32 rounding band: decided in
    float64) or eps (1 -+ 0.05) (decided by the float32 screening), with a sample b of another class
    at distance 1 from z: f(z) = (1/2, 1/2) if a's ball holds z, else (0, 1)."""
    from robustdsl.saddle import Classifier

    rng = np.random.default_rng(3)
    m, d, eps = 120, 784, 4.0
    A = rng.random((m, d))
    u = rng.normal(size=(m, d))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    scale = np.array([1 - 1e-7, 1 + 1e-7, 0.95, 1.05])[np.arange(m) % 4]
    Z = A + eps * scale[:, None] * u
    v = rng.normal(size=(m, d))
    B = Z + v / np.linalg.norm(v, axis=1, keepdims=True)
    X = np.concatenate([A, B])
    lab = np.concatenate([np.zeros(m, np.int64), np.ones(m, np.int64)])
    q = np.concatenate([np.full(m, 0.5), np.full(m, 0.25)])
    D = np.sqrt(((Z[:, None, :] - X[None, :, :]) ** 2).sum(-1))
    inside = np.sqrt(((Z - A) ** 2).sum(1)) <= eps
    assert np.array_equal(inside, scale < 1) and np.all((D <= eps).sum(1) == 1 + inside)
    want = np.where(inside[:, None], [0.5, 0.5], [0.0, 1.0])
    assert np.allclose(Classifier(X, lab, q, eps, 2.0, (0, 1))(Z), want, atol=1e-12)


def test_same_point_ids_groups_identical_rows_only():
    from robustdsl.solvers.group_certificate import same_point_ids

    rng = np.random.default_rng(0)
    P = rng.random((50, 6))
    P = np.concatenate([P, P[::3], P[:5] + 1e-15])
    ids = same_point_ids(P)
    ref = np.unique(P, axis=0, return_inverse=True)[1].ravel()
    assert np.array_equal(ids[:, None] == ids[None, :], ref[:, None] == ref[None, :])


def test_lp_time_limit_after_flow_keeps_the_pair_value_as_lower_bound():
    from robustdsl.errors import SolverFailed
    from robustdsl.ir import GroupLP
    from robustdsl.solvers import cutting_plane

    class OutOfTime:
        def __init__(self, p):
            self.backend = "fake"

        def add_groups(self, groups):
            pass

        def solve(self, time_limit=None):
            raise SolverFailed("no time", status="Time limit reached", backend="fake")

    for seed in range(20):
        X, y = _blobs(seed, n=60, K=3)
        prog = GroupLP(X, y, np.full(60, 1 / 60), 0.7, 2.0, 3, None)
        exact = cutting_plane.solve(prog)
        if exact.info["components_by_flow"] < exact.info["components"]:
            break
    else:
        pytest.fail("no instance needing the LP")
    at2 = cutting_plane.solve(GroupLP(X, y, np.full(60, 1 / 60), 0.7, 2.0, 3, 2))
    cut = cutting_plane.solve(prog, lambda p: OutOfTime(p))
    assert cut.status == "interval" and at2.value > 0
    assert abs(cut.lower - at2.value) <= 1e-12                 # every component kept its pair value
    assert cut.lower <= exact.value + 1e-12 <= cut.upper + 2e-12
