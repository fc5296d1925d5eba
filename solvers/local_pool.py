"""The default executor of the component stage: local processes, started only where they pay.

`cutting_plane.solve` with `executor=None` (the default) solves the connected components in a
ProcessPoolExecutor of this machine when at least two of them have POOL_MIN samples or more:
the group LPs of different components are independent (MATH.md section 2: (P) and (D) decompose
over them), a worker costs little (a fork) and a component of that size several seconds.
Otherwise, or with `executor="serial"`, everything runs here. The distance pass stays in this
process either way: its BLAS / torch threads already use every core. The pool is shut down when
the solve returns; on Ctrl-C its queued components are cancelled and its workers stopped.

The workers are forked (Linux only; elsewhere the default stays serial): a 'spawn' or
'forkserver' worker re-imports the user's main script, which reruns every solve of a script
without an `if __name__ == "__main__":` guard (measured: the workers printed the script's own
results and the pool broke). A forked worker runs only numpy, scipy and HiGHS (never torch,
whose OpenMP threads are the usual fork hazard).
"""
from __future__ import annotations

import multiprocessing
import os
import sys
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
    """A pool of min(cpus, #components of >= minimum samples) forked local processes, or None when
    fewer than two such components, fewer than two CPUs or not Linux (then the solve stays here)."""
    big = sum(1 for s in sizes if s >= minimum)
    workers = min(cpus if cpus is not None else (os.cpu_count() or 1), big)
    if workers < 2 or not sys.platform.startswith("linux"):
        return None
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))


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
