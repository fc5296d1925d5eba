"""The distance pass itself honours time_limit and Ctrl-C: a certified interval, never an overrun.

Lower bound: the pair value on the pairs of the finished blocks (a subset of the conflict pairs,
so a restriction of (P)); upper bound: the uniform classifier, (1 - 1/K) of the mass.
"""
from __future__ import annotations

import numpy as np
import pytest

import robustdsl as rd
from robustdsl.errors import TimeLimitReached
from robustdsl.ir import GroupLP
from robustdsl.solvers import cutting_plane, pairs
from robustdsl.solvers.pairs import PassStopped, conflict_pairs
from robustdsl.solvers.sweep import solve_curve

from conftest import ball_problem


def _blobs(seed=0, per_class=40, k=3, d=4, spread=1.2):
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal(size=(per_class, d)) + spread * c for c in range(k)])
    y = np.repeat(np.arange(k), per_class)
    return X, y


def _pair_lp(I, J, n):
    """max sum_e w_e s.t. sum_{e at v} w_e <= 1/n: the pair LP (P) restricted to these pairs (scipy)."""
    from scipy.optimize import linprog
    A = np.zeros((n, I.size))
    A[I, np.arange(I.size)] = A[J, np.arange(I.size)] = 1.0
    return -linprog(-np.ones(I.size), A_ub=A, b_ub=np.full(n, 1.0 / n), bounds=(0, None), method="highs").fun


def _pair_set(I, J):
    return set(zip(I.tolist(), J.tolist()))


def test_deadline_stops_after_first_block_with_a_subset_of_the_pairs():
    X, y = _blobs()
    full = _pair_set(*conflict_pairs(X, y, 3.0, 2)[:2])
    with pytest.raises(PassStopped) as info:
        conflict_pairs(X, y, 3.0, 2, deadline=0.0)      # long past
    exc = info.value
    assert not exc.interrupted and 1 == exc.done < exc.total
    part = _pair_set(*exc.pairs[:2])
    assert part <= full and 0 < len(part) < len(full)


def test_ctrl_c_in_the_pass_keeps_the_finished_blocks(monkeypatch):
    X, y = _blobs()
    real = pairs.run_blocks

    def one_then_interrupt(*args, **kw):
        gen = real(*args, **kw)
        yield next(gen)
        raise KeyboardInterrupt
    monkeypatch.setattr(pairs, "run_blocks", one_then_interrupt)
    with pytest.raises(PassStopped) as info:
        conflict_pairs(X, y, 3.0, 2)
    assert info.value.interrupted and info.value.done == 1


def test_cut_pass_gives_flow_lower_bound_and_trivial_upper():
    X, y = _blobs()
    p = np.full(y.size, 1.0 / y.size)
    exact = cutting_plane.solve(GroupLP(X, y, p, 1.5, 2.0, 3, None))
    assert exact.status == "optimal" and exact.value > 0.05
    X0, y0 = X.copy(), y.copy()
    res = cutting_plane.solve(GroupLP(X, y, p, 1.5, 2.0, 3, None), time_limit=1e-9)
    assert res.status == "interval" and res.info["pair_pass"]["blocks_done"] == 1
    assert res.upper == pytest.approx(1.0 - 1.0 / 3.0) and np.allclose(res.q, 1.0 / 3.0)
    assert 0.0 < res.lower <= exact.value + 1e-12
    # independent: the fractional matching value of the kept pairs is the pair LP on them
    I, J = res.graph.I, res.graph.J
    assert _pair_set(I, J) <= _pair_set(exact.graph.I, exact.graph.J)
    assert res.lower == pytest.approx(_pair_lp(I, J, y.size), abs=1e-12)
    assert np.array_equal(X, X0) and np.array_equal(y, y0)


def test_problem_solve_with_tiny_time_limit_returns_interval_around_exact():
    X, y = _blobs(seed=1)
    mu = rd.EmpiricalMeasure.from_arrays(X, y)
    exact = ball_problem(mu, eps=1.5).solve()
    sol = ball_problem(mu, eps=1.5).solve(time_limit=1e-9)
    assert sol.status == "interval"
    assert sol.lower <= exact.value + 1e-9 <= sol.upper + 2e-9
    assert "pair_pass" in sol.info


def test_problem_solve_ctrl_c_in_pass_raises_time_limit_with_interval(monkeypatch):
    X, y = _blobs(seed=2)
    mu = rd.EmpiricalMeasure.from_arrays(X, y)
    real = pairs.run_blocks

    def interrupt_first(*args, **kw):
        raise KeyboardInterrupt
        yield from real(*args, **kw)     # unreachable: makes this a generator like run_blocks
    monkeypatch.setattr(pairs, "run_blocks", interrupt_first)
    with pytest.raises(TimeLimitReached) as info:
        ball_problem(mu, eps=1.5).solve()
    assert info.value.lower == 0.0 and info.value.upper == pytest.approx(2.0 / 3.0)


def test_curve_with_time_limit_in_the_pass_gives_pair_values_of_the_found_pairs(monkeypatch):
    X, y = _blobs(seed=3)
    exact = solve_curve(X, y, [1.0, 1.5])
    monkeypatch.setattr(pairs, "time", _an_hour_later())
    sols = solve_curve(X, y, [1.5, 1.0], time_limit=5.0)[::-1]
    with pytest.raises(PassStopped) as info:                 # the same first block, independently
        conflict_pairs(X, y, 3.0, 2, deadline=0.0)
    I, J = info.value.pairs[:2]
    dist = np.linalg.norm(X[I] - X[J], axis=1)
    for s, e, eps in zip(sols, exact, (1.0, 1.5)):
        assert s.status == "interval" and s.upper == pytest.approx(2.0 / 3.0)
        assert 0.0 < s.lower <= e.value + 1e-12 and "blocks" in s.info["reason"]
        keep = dist <= 2 * eps
        assert s.lower == pytest.approx(_pair_lp(I[keep], J[keep], y.size), abs=1e-12)
    assert sols[0].lower <= sols[1].lower                     # monotone in eps


def _an_hour_later():
    """The time module as solvers.pairs sees it: perf_counter one hour ahead (the deadline passes)."""
    import time
    import types
    return types.SimpleNamespace(perf_counter=lambda: time.perf_counter() + 3600.0)
