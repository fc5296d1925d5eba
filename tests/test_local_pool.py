"""The default executor: local processes for the components where they pay (solvers.local_pool)."""
from __future__ import annotations

import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

from robustdsl.errors import InvalidInput
from robustdsl.solvers import local_pool
from robustdsl.solvers.sweep import solve_curve

from group_lp_helpers import make_problem


def _two_islands(seed, n=120, K=3, d=3):
    """Two far-apart clouds of mixed classes: (at least) two large conflict components."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % K
    X = rng.normal(size=(n, d)) * 0.5 + y[:, None] * 0.3
    X[n // 2:] += 100.0
    return X, y


def test_local_pool_only_where_two_components_are_large():
    assert local_pool.local_pool([9000, 40, 3], 5000, cpus=8) is None          # one large component
    assert local_pool.local_pool([9000, 6000], 5000, cpus=1) is None          # one CPU
    pool = local_pool.local_pool([9000, 6000, 7000], 5000, cpus=2)
    try:
        assert isinstance(pool, ProcessPoolExecutor) and pool._max_workers == 2
        assert local_pool.describe(pool) == "local processes (2)"
    finally:
        local_pool.close(pool, cancel=False)
    assert local_pool.describe(None) == "serial"


def test_default_solves_large_components_in_local_processes(monkeypatch):
    X, y = _two_islands(0)
    serial = solve_curve(X, y, [0.35, 0.7], 2.0, executor="serial")
    monkeypatch.setattr(local_pool, "POOL_MIN", 20)              # the islands count as large here
    monkeypatch.setattr(local_pool.os, "cpu_count", lambda: 2)
    default = solve_curve(X, y, [0.35, 0.7], 2.0)
    assert max(s.value for s in serial) > 0
    for a, b in zip(serial, default):
        assert a.info["executor"] == "serial" and b.info["executor"] == "local processes (2)"
        assert a.status == b.status == "optimal" and abs(a.value - b.value) <= 1e-12
        assert b.certificate().gap <= 1e-9


def test_default_stays_in_this_process_for_small_components():
    X, y = _two_islands(1)
    sol = make_problem(X, y, 0.5, 2.0).solve("highs")
    assert sol.info["executor"] == "serial" and sol.status == "optimal"


def test_cancelled_pool_stops_its_workers():
    pool = local_pool.local_pool([10, 10], 5, cpus=2)
    futs = [pool.submit(time.sleep, 30) for _ in range(4)]
    time.sleep(1.0)                                    # the workers are running the first two
    procs = list(pool._processes.values())
    t0 = time.perf_counter()
    local_pool.close(pool, cancel=True)
    for p in procs:
        p.join(timeout=10)
    assert time.perf_counter() - t0 < 10 and not any(p.is_alive() for p in procs)
    assert futs[-1].cancelled()                        # queued behind the running ones: dropped


def test_executor_argument_refuses_other_strings():
    X, y = _two_islands(2, n=30)
    with pytest.raises(InvalidInput) as info:
        solve_curve(X, y, [0.5], 2.0, executor="processes")
    assert info.value.argument == "executor"


def test_ctrl_c_while_workers_solve_gives_a_certified_interval(monkeypatch):
    from concurrent.futures import Future

    X, y = _two_islands(0)
    exact = solve_curve(X, y, [0.7], 2.0, executor="serial")[0]
    monkeypatch.setattr(local_pool, "POOL_MIN", 20)
    monkeypatch.setattr(local_pool.os, "cpu_count", lambda: 2)
    closed = []
    real_close = local_pool.close
    monkeypatch.setattr(local_pool, "close", lambda pool, cancel: (closed.append(cancel), real_close(pool, cancel)))

    def interrupted(self, timeout=None):
        raise KeyboardInterrupt
    monkeypatch.setattr(Future, "result", interrupted)
    sol = solve_curve(X, y, [0.7], 2.0)[0]
    assert sol.info.get("interrupted") and sol.status == "interval" and closed == [True]
    assert sol.lower <= exact.value <= sol.upper
