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


def test_local_pool_only_where_two_components_are_large(monkeypatch):
    assert local_pool.local_pool([9000, 40, 3], 5000, cpus=8) is None          # one large component
    assert local_pool.local_pool([9000, 6000], 5000, cpus=1) is None          # one CPU
    pool = local_pool.local_pool([9000, 6000, 7000], 5000, cpus=2)
    try:
        assert isinstance(pool, ProcessPoolExecutor) and pool._max_workers == 2
        assert local_pool.describe(pool) == "local processes (2)"
    finally:
        local_pool.close(pool, cancel=False)
    assert local_pool.describe(None) == "serial"
    monkeypatch.setattr(local_pool.sys, "platform", "darwin")                # forked workers: Linux only
    assert local_pool.local_pool([9000, 6000, 7000], 5000, cpus=2) is None


SCRIPT = """
import numpy as np
import robustdsl.solvers.local_pool as lp
from robustdsl.solvers.sweep import solve_curve
lp.POOL_MIN = 20
lp.os.cpu_count = lambda: 2
rng = np.random.default_rng(0)
y = np.arange(120) % 3
X = rng.normal(size=(120, 3)) * 0.5 + y[:, None] * 0.3
X[60:] += 100.0
s = solve_curve(X, y, [0.7], 2.0)[0]
print("RESULT", s.info["executor"], repr(s.value))
"""


def test_default_pool_in_a_script_without_main_guard(tmp_path):
    """The workers are forked: a script with its solve at top level runs once (a spawned worker
    would re-import it and run its solve again)."""
    import subprocess
    import sys
    path = tmp_path / "unguarded.py"
    path.write_text(SCRIPT)
    out = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT")]
    assert len(lines) == 1 and "local processes (2)" in lines[0]


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


def _running(pid: int) -> bool:
    """The process exists and is not a zombie (the pool's own thread may reap it at any time)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_cancelled_pool_stops_its_workers():
    pool = local_pool.local_pool([10, 10], 5, cpus=2)
    futs = [pool.submit(time.sleep, 30) for _ in range(4)]
    time.sleep(1.0)                                    # the workers are running the first two
    pids = [p.pid for p in pool._processes.values()]
    local_pool.close(pool, cancel=True)
    deadline = time.perf_counter() + 10
    while any(map(_running, pids)) and time.perf_counter() < deadline:
        time.sleep(0.05)
    assert not any(map(_running, pids))                # stopped, not left to sleep their 30 s
    for f in futs:                                     # none ran to its end: cancelled or broken
        assert f.cancelled() or f.exception(timeout=10) is not None


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


def _die(*args, **kwargs):
    import os
    os._exit(9)                                        # a worker killed mid-component (e.g. OOM)


def test_a_dead_worker_is_a_typed_solver_failure(monkeypatch):
    from robustdsl.errors import SolverFailed
    from robustdsl.solvers import cutting_plane

    X, y = _two_islands(0)
    monkeypatch.setattr(local_pool, "POOL_MIN", 20)
    monkeypatch.setattr(local_pool.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(cutting_plane, "_component_job", _die)      # forked workers see the patch
    with pytest.raises(SolverFailed) as info:
        solve_curve(X, y, [0.7], 2.0)
    assert info.value.status == "worker died" and "died" in str(info.value)
