"""The exact adversarial-risk curve eps -> AT(eps) for a ball cost, in one call.

One blocked distance pass at the largest eps (solvers.pairs.conflict_pairs, screened distances)
gives every conflict pair of the grid: the pair set at a smaller eps is a subset, recovered
exactly by `restrict_pairs` (only pairs near the new threshold are re-measured). The eps are
solved in increasing order and each working set is seeded with the previous one's groups of
size >= 3: a group admissible at eps is admissible at every eps' > eps (the enclosing ball only
has to be <= eps'), so the seed is valid and the cutting-plane loop starts where the last stopped.
Every value keeps its own certificate (solution_from, certify=True).
"""
from __future__ import annotations

import time

import numpy as np

from robustdsl import _check, guards
from robustdsl.errors import InvalidInput, out_of_memory
from robustdsl.group_intervals import unsolved, with_floor

from .ball_groups import pair_threshold
from .cliques import ConflictGraph
from .pair_budget import bounded_pairs, budget_pairs
from .pairs import PassStopped, conflict_pairs, restrict_pairs
from .truncated import interval_solution


def _inputs(X, y, weights) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, ...]]:
    """(X, label indices 0..K-1, weights, classes), refused as EmpiricalMeasure refuses them
    (finite (n, d) X with n, d >= 1, integer labels, positive weights, default 1/n, total mass
    guarded); X is read in place when it is already float64 (no copy of a large data set)."""
    try:
        src = np.asarray(X)
    except (TypeError, ValueError) as exc:
        raise InvalidInput("X", f"cannot be read as an array ({exc})") from None
    if src.dtype.kind not in "biuf":
        raise InvalidInput("X", f"has dtype {src.dtype}", "real numbers")
    X = np.asarray(src, dtype=np.float64)
    if X.ndim != 2 or 0 in X.shape:
        raise InvalidInput("X", f"has shape {X.shape}", "an (n, d) array with n, d >= 1")
    if not np.all(np.isfinite(X)):
        raise InvalidInput("X", "contains NaN or inf", "finite numbers")
    ya = np.asarray(y)
    if ya.dtype.kind not in "biu":
        raise InvalidInput("y", f"class labels have dtype {ya.dtype}", "integer class labels")
    ya = _check.frozen_array("y", ya, ndim=1, dtype=np.int64)
    if ya.size != X.shape[0]:
        raise InvalidInput("y", f"has {ya.size} labels for {X.shape[0]} samples", "one label per row of X")
    classes, lab = np.unique(ya, return_inverse=True)
    n = X.shape[0]
    p = np.full(n, 1.0 / n) if weights is None else _check.frozen_array("weights", weights, ndim=1)
    if p.shape != (n,) or np.any(p <= 0):
        raise InvalidInput("weights", f"has shape {p.shape} or entries <= 0", f"{n} positive numbers")
    guards.check_mass(p)
    return X, lab.astype(np.int64), p, tuple(int(c) for c in classes)


def _eps_grid(eps) -> np.ndarray:
    grid = np.atleast_1d(np.asarray(eps, dtype=np.float64))
    if grid.ndim != 1 or grid.size == 0 or not np.all(np.isfinite(grid)) or np.any(grid < 0):
        raise InvalidInput("eps", f"got {eps!r}", "a non-empty list of finite eps >= 0")
    return grid


def solve_curve(X, y, eps, norm: float = 2.0, *, weights=None, max_group_size: int | None = None,
                executor=None, device: str = "cpu", progress: bool = False,
                time_limit: float | None = None, certify: bool = True, warm: bool = True,
                max_bytes: int | None = None, max_memory: int | None = None, **cp_options) -> list:
    """[Solution for each eps of the grid, in the given order]: AT(eps) (or AT_L) with certificates.

    X (n, d), y (n,) class labels, weights (n,) positive (default uniform 1/n), norm 1, 2 or inf.
    executor: a concurrent.futures.Executor for the distance blocks and the components (processes,
    or Dask through `client.get_executor()`); None (default): local processes for the components
    where they pay (solvers.local_pool), 'serial': everything in this process;
    device: torch device of the screening ('cpu', 'cuda');
    time_limit: seconds for the whole curve (an unfinished eps gets status 'interval', the later
    ones are not solved and get the largest certified lower bound of a smaller eps and the trivial
    upper bound); warm: seed each working set
    from the previous eps; max_bytes: memory of one distance block; max_memory: bytes for the data,
    one block and the conflict pairs (`pair_budget.budget_pairs`, PAIR_BYTES a pair): when the
    pairs at 2 max(eps) do not fit, the pass keeps every pair up to the largest eps of the grid
    that fits (solved exactly) and a subset of k nearest partners per sample above it; those eps
    get status 'interval' with the bounds of `truncated.truncated_bounds` and info['reason'];
    cp_options: passed to cutting_plane.solve (e.g. parallel_min: smallest component sent to the
    executor). Ctrl-C stops the curve: the eps being solved keeps the certified interval found so far
    (info['interrupted']), or, outside the LP loop, [floor, mass (1 - 1/K)]; larger eps are not solved.
    """
    try:
        return _solve_curve(X, y, eps, norm, weights, max_group_size, executor, device, progress, time_limit,
                            certify, warm, max_bytes, max_memory, cp_options)
    except MemoryError as exc:    # the frames (and their arrays) are freed when this block ends
        oom = out_of_memory("solving the curve (solve_curve)", exc)
    raise oom


def _solve_curve(X, y, eps, norm, weights, max_group_size, executor, device, progress, time_limit,
                 certify, warm, max_bytes, max_memory, cp_options) -> list:
    """solve_curve's body (its arguments in order, cp_options as a dict)."""
    from robustdsl.ir import GroupLP
    from robustdsl.lowering.group_lp_ball import solution_from
    from . import cutting_plane

    X, lab, p, classes = _inputs(X, y, weights)
    norm = _check.norm("norm", norm)
    grid = _eps_grid(eps)
    guards.check_scale(X, float(grid.max()))
    n = X.shape[0]
    if max_group_size is not None:
        max_group_size = _check.integer("max_group_size", max_group_size, minimum=2)
    _check.executor("executor", executor)
    if time_limit is not None:
        time_limit = _check.real("time_limit", time_limit, positive=True)
    K = len(classes)
    start = time.perf_counter()
    t0 = time.perf_counter()
    kw = {} if max_bytes is None else {"max_bytes": max_bytes}
    bounded = None
    if max_memory is None:
        try:
            I, J, D = conflict_pairs(X, lab, pair_threshold(float(grid.max())), norm, executor=executor,
                                     device=device, progress=progress, distances="screened",
                                     deadline=None if time_limit is None else start + time_limit, **kw)
        except PassStopped as exc:     # the time ran out in the distance pass (Ctrl-C keeps its meaning)
            if exc.interrupted:
                raise KeyboardInterrupt from exc
            return _partial_curve(X, lab, p, grid, norm, classes, max_group_size, exc)
    else:
        kept = budget_pairs(max_memory, n, X.shape[1], **kw)
        bounded = bounded_pairs(X, lab, pair_threshold(grid), norm, kept, executor=executor, device=device,
                                progress=progress, **kw)
        I, J, D = bounded.I, bounded.J, bounded.D
    shared = time.perf_counter() - t0
    out: dict = {}
    seed, low = None, _Floor()
    stopped = None
    for i in np.argsort(grid, kind="stable"):
        e = float(grid[i])
        program = GroupLP(X, lab, p, e, float(norm), K, max_group_size)
        if stopped is not None:          # Ctrl-C at a smaller eps: the curve stops there
            out[int(i)] = unsolved(program, classes, low.value, low.attack, stopped)
            continue
        try:
            t0 = time.perf_counter()
            if bounded is not None and pair_threshold(e) > bounded.exact_threshold:
                sol = interval_solution(program, bounded, low.value, max_memory, classes, low.attack)
                sol.timings["distances"] = shared if not out else 0.0
                out[int(i)] = low.update(sol)
                continue
            gi, gj, _ = restrict_pairs(X, I, J, D, pair_threshold(e), norm)
            graph = ConflictGraph(n, gi, gj, lab, None)
            t_filter = time.perf_counter() - t0
            left = None if time_limit is None else time_limit - (time.perf_counter() - start)
            if left is not None and left <= 0:
                out[int(i)] = unsolved(program, classes, low.value, low.attack, "time limit reached before this eps")
                continue
            res = cutting_plane.solve(program, graph=graph, seed=seed if warm else None, time_limit=left,
                                      progress=progress, executor=executor, **cp_options)
            res.timings["distances"] = t_filter + (shared if not out else 0.0)
            out[int(i)] = low.update(with_floor(program, classes, solution_from(program, res, classes, certify),
                                                low.value, low.attack))
            if res.status != "interval":
                seed = _bigger_groups(res.groups)
        except KeyboardInterrupt:        # outside the LP loop (pairs, certificate): nothing certified here
            stopped = f"interrupted (Ctrl-C) at eps = {e:g}"
            out[int(i)] = unsolved(program, classes, low.value, low.attack, stopped)
            continue
        if out[int(i)].info.get("interrupted"):
            stopped = f"interrupted (Ctrl-C) at eps = {e:g}"
    return [out[i] for i in range(grid.size)]


class _Floor:
    """The largest certified lower bound of the smaller eps solved so far and the attack proving it
    (AT is non-decreasing in eps, and an attack at a smaller eps is one at every larger eps)."""

    def __init__(self) -> None:
        self.value, self.attack = 0.0, None

    def update(self, sol):
        if sol.lower >= self.value and sol.attack is not None:
            self.value, self.attack = sol.lower, sol.attack
        return sol


def _bigger_groups(groups) -> dict[int, np.ndarray]:
    """{size: rows} of the groups of size >= 3 of a working set (global sample ids)."""
    sizes = groups.sizes
    out = {}
    for k in np.unique(sizes[sizes >= 3]):
        sel = np.flatnonzero(sizes == k)
        out[int(k)] = groups.indices[groups.indptr[sel][:, None] + np.arange(k)]
    return out


def _partial_curve(X, lab, p, grid, norm, classes, max_group_size, stopped) -> list:
    """Every eps when the distance pass was cut: [max(pair value by max-flow on the pairs found,
    lower bound of a smaller eps), 1 - 1/K of the mass] (cutting_plane.solve, partial_graph)."""
    from robustdsl.ir import GroupLP
    from robustdsl.lowering.group_lp_ball import solution_from
    from . import cutting_plane

    I, J, D = stopped.pairs
    out, low = {}, _Floor()
    for i in np.argsort(grid, kind="stable"):
        program = GroupLP(X, lab, p, float(grid[i]), float(norm), len(classes), max_group_size)
        gi, gj, _ = restrict_pairs(X, I, J, D, pair_threshold(float(grid[i])), norm)
        res = cutting_plane.solve(program, graph=ConflictGraph(X.shape[0], gi, gj, lab, None),
                                  partial_graph=True)
        res.info["reason"] = str(stopped)
        sol = solution_from(program, res, classes, certify=True)   # interval: the bounds' order only
        out[int(i)] = low.update(with_floor(program, classes, sol, low.value, low.attack))
    return [out[i] for i in range(grid.size)]
