"""The default executor of the component stage: local processes, started only where they pay.

`cutting_plane.solve` with `executor=None` (the default) solves the connected components in a
ProcessPoolExecutor of this machine when at least two of them have POOL_MIN samples or more:
the group LPs of different components are independent (MATH.md section 2: (P) and (D) decompose
over them), a worker starts in about a second (a fresh interpreter importing numpy, scipy and
highspy; 'forkserver', since torch's threads in this process make 'fork' unsafe) and a component
of that size costs several. Otherwise, or with `executor="serial"`, everything runs here. The
distance pass stays in this process either way: its BLAS / torch threads already use every core.
The pool is shut down when the solve returns; on Ctrl-C its queued components are cancelled and
its workers stopped.
"""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Sequence

POOL_MIN = 5_000            # samples: a component at least this large is worth a worker


def describe(executor) -> str:
    """How the components run, for Solution.info: 'serial', 'local processes (k)' or the type."""
    if executor is None:
        return "serial"
    if isinstance(executor, ProcessPoolExecutor):
        return f"local processes ({executor._max_workers})"
    return type(executor).__name__


def local_pool(sizes: Sequence[int], minimum: int = POOL_MIN,
               cpus: int | None = None) -> ProcessPoolExecutor | None:
    """A pool of min(cpus, #components of >= minimum samples) local processes, or None when fewer
    than two such components or fewer than two CPUs (then the solve stays in this process)."""
    big = sum(1 for s in sizes if s >= minimum)
    workers = min(cpus if cpus is not None else (os.cpu_count() or 1), big)
    if workers < 2:
        return None
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    return ProcessPoolExecutor(workers, mp_context=ctx)


def close(pool: Executor | None, cancel: bool) -> None:
    """Shut a pool made by local_pool down: wait for its workers, or (cancel: after Ctrl-C or an
    error) drop what is queued and stop the running workers, whose components are not counted."""
    if pool is None:
        return
    if not cancel:
        pool.shutdown(wait=True)
        return
    procs = list((getattr(pool, "_processes", None) or {}).values())   # CPython's workers (shutdown
    pool.shutdown(wait=False, cancel_futures=True)                     # forgets them)
    for proc in procs:
        proc.terminate()
