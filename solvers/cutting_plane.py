"""The exact group LP by cutting planes on (D) / column generation on (P), per component.

For every connected component of the conflict graph (scipy.sparse.csgraph): start from all
conflict pairs (optionally all admissible triples), solve (P), take q = clip(1 - r, 0, 1), find the
admissible groups with sum q > 1 + tol (solvers.separation), add a selection of them together with
all their sub-groups (the working set stays downward closed, so q is feasible for (D) on it), and
re-solve warm, until no admissible group is violated: then q is feasible for the full (D) and the
LP value is AT exactly. Isolated samples have q = 1.

With the default HiGHS solver and lp_route 'split' or 'colgen', a component whose admissible
groups fit in a pool (solvers.group_pool: at most cliques.DENSE_N samples, l2 or l_inf) takes the
row-form route of solvers.pool_cg instead: the groups enumerated once, (D) grown by rows and
re-solved warm by the dual simplex, separation a vectorised sum over the pool. A larger component
goes through column generation from the flow; with lp_route 'split' (the default) the flow's
samples with q = 0 or 1 are fixed first (solvers.half_split: some optimum of the group LP keeps
them) and only the connected parts of the half-valued samples are solved, each as an LP of its own.

With `time_limit`, an unfinished solve returns the certified interval
[lower = value of (P) on the current working set (a restriction), upper = worst-case risk bound of
the classifier built from the current q (solvers.interval_bounds, one pass over the conflict edges)]
with status 'interval'.
Ctrl-C (KeyboardInterrupt) during the component loop does the same, with info['interrupted'] = True.
If the distance pass itself is cut (deadline or Ctrl-C), lower = the pair value by max-flow on the
pairs found so far (a subset: a restriction of (P); 0 after Ctrl-C) and upper = the trivial mass (1 - 1/K) of the
uniform classifier (q = 1/K, feasible for every group); info['pair_pass'] says how far it got.
"""
from __future__ import annotations

import time
from concurrent.futures import BrokenExecutor
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from tqdm.auto import tqdm

from robustdsl.errors import InvalidInput, SolverFailed
from robustdsl.ir import GroupLP, GroupSet

from ._unique import unique
from .ball_groups import group_test, pair_threshold
from .cliques import ConflictGraph, enumerate_cliques
from .group_pool import build_pool
from .half_split import merge, part_problems, split_half
from .interior_rounds import IPM_MIN, interior_rounds, start_groups
from .interval_bounds import neighbour_bound
from .local_lp import solve_local
from . import local_pool as pools
from .lp_highs import HighsGroupLP
from .pair_flow import pair_flow as solve_pair_flow
from .pairs import PassStopped, conflict_pairs
from .pool_cg import solve_with_pool
from .result_checks import check_lp_result
from .separation import TOL, DeadlineReached, violated_groups, select
from .working_set import PRICE_CAP, WorkingSet, initial_pairs, start_columns, violated_pairs  # noqa: F401 (public)

SolverFactory = Callable[[np.ndarray], object]
ROUTES = ("colgen", "split", "local", "full")
POOL_ROUTES = ("colgen", "split")   # routes on which a small component may take the pool route
LOCAL_MIN = 2000          # smallest component for lp_route="local" (region around its violations)


@dataclass(frozen=True, eq=False)
class GroupSolve:
    """Raw result of the group LP: working set with its primal w, dual q, and certified bounds."""

    value: float
    lower: float
    upper: float
    status: str                 # 'optimal' | 'lower_bound' | 'interval'
    groups: GroupSet            # final working set (sample ids of the whole measure)
    w: np.ndarray               # (n_groups,) primal masses
    q: np.ndarray               # (n,) dual: probability of labelling v correctly
    graph: ConflictGraph        # conflict pairs with their lengths
    max_size: int               # largest group size of the problem solved (L or K)
    backend: str
    info: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)


class _Clock:
    """Seconds per stage; `listener(key, clock)` (a progress bar's postfix) is told of every stage
    that ends, so that a bar over components shows the work inside a long one."""

    def __init__(self, listener: Callable[[str, "_Clock"], None] | None = None) -> None:
        self.t: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self.listener = listener

    def add(self, key: str, t0: float) -> float:
        t1 = time.perf_counter()
        self.t[key] = self.t.get(key, 0.0) + t1 - t0
        self.calls[key] = self.calls.get(key, 0) + 1
        if self.listener is not None:
            self.listener(key, self)
        return t1


def _postfix(bar) -> Callable[[str, _Clock], None]:
    """A clock listener writing the stage just ended, the LP solves so far and their seconds."""
    def show(key: str, clock: _Clock) -> None:
        bar.set_postfix_str(f"{key} done; {clock.calls.get('lp', 0)} LP solves, "
                            f"{clock.t.get('lp', 0.0):.1f} s in LP")
    return show


def conflict_graph(program: GroupLP, *, executor=None, device: str = "cpu",
                   progress: bool = False, deadline: float | None = None, **limits) -> ConflictGraph:
    """Cross-class pairs whose eps-balls meet: dist(x_u, x_v) <= 2 eps (any norm), exact pair set.

    limits: max_pairs / max_bytes of solvers.pairs.conflict_pairs (ResourceLimit beyond them).
    Edge lengths are not kept (dist=None): the few that separation needs are recomputed exactly
    for the candidate vertices only (solvers.separation), which is much cheaper than an exact
    float64 distance for every pair."""
    I, J, _ = conflict_pairs(program.X, program.labels, pair_threshold(program.eps), program.norm,
                             executor=executor, device=device, progress=progress,
                             distances="screened", deadline=deadline, **limits)
    return ConflictGraph(program.n, I, J, program.labels, None)


def components(g: ConflictGraph) -> list[np.ndarray]:
    """Vertex sets of the connected components with an edge, largest first (isolated vertices dropped)."""
    n = g.n
    active = np.zeros(n, bool)
    active[g.I] = active[g.J] = True
    adj = sp.coo_matrix((np.ones(g.I.size), (g.I, g.J)), shape=(n, n))
    ncomp, comp = connected_components(adj, directed=False)
    comp = np.where(active, comp, ncomp)                  # isolated vertices in one bin, dropped
    order = np.argsort(comp, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(comp, minlength=ncomp + 1))])
    members = [order[bounds[c]:bounds[c + 1]] for c in range(ncomp) if bounds[c + 1] - bounds[c] > 1]
    members.sort(key=len, reverse=True)
    return members


def solve(program: GroupLP, make_solver: SolverFactory | None = None, *, backend: str = "highs",
          time_limit: float | None = None, progress: bool = False, init_triples: bool = False,
          top: int | None = None, tol: float = TOL, limits: dict | None = None,
          graph: ConflictGraph | None = None, seed: dict[int, np.ndarray] | None = None,
          executor=None, device: str = "cpu", pair_flow: bool = True,
          parallel_min: int = 256, lp_route: str = "split", partial_graph: bool = False) -> GroupSolve:
    """AT (or AT_L) of the program; see the module docstring.

    limits: max_pairs / max_bytes of the pair search; graph: the conflict graph if already known
    (eps sweeps); seed: groups {size: rows of sample ids} admissible for this program to start
    the working sets from (warm start of a sweep); executor / device: for the distance blocks,
    and the executor also solves every component of at least `parallel_min` samples (default
    HiGHS solver only; results merged in component order, so the answer equals the serial one);
    executor=None (default): local processes for the components where they pay
    (solvers.local_pool: two or more of at least POOL_MIN samples), 'serial': all in this process;
    pair_flow: solve the pair level by integer max-flow first (uniform or integral-ratio
    weights) and call the LP only if separation finds a violated group; lp_route: how the LP then
    runs: 'colgen' starts from the flow's optimal pair basis and prices the other pair columns
    with the LP duals (column generation), 'split' (default) does that on the half-valued parts
    of the flow only (solvers.half_split; exact, smaller LPs: the full-MNIST curve's LP took 141 s
    against 177 s, benchmarks/SCALE.md), 'local' first solves on a growing region around the
    violations with the flow fixed elsewhere (solvers.local_lp; components of at least LOCAL_MIN
    samples; exact, but measured slower on MNIST: many warm rounds), falling back to 'colgen';
    'full' gives HiGHS every pair from the start; partial_graph: `graph`
    holds only some of the conflict pairs (a cut distance pass): pair values by max-flow, no LP,
    trivial upper bound."""
    if lp_route not in ROUTES:
        raise InvalidInput("lp_route", f"got {lp_route!r}", "'colgen', 'split', 'local' or 'full'")
    auto = executor is None                  # the default: local processes where they pay
    executor = None if executor == "serial" else executor
    farm = make_solver is None               # workers build the default HiGHS solver themselves
    use_pool = make_solver is None and backend == "highs" and lp_route in POOL_ROUTES
    make_solver = make_solver or (lambda p: HighsGroupLP(p))
    clock = _Clock()
    start = t0 = time.perf_counter()
    L = program.group_limit
    stopped = None               # the pair pass stopped early: g holds a subset of the pairs
    partial = partial_graph
    try:
        g = graph if graph is not None else conflict_graph(
            program, executor=executor, device=device, progress=progress,
            deadline=None if time_limit is None else start + time_limit, **(limits or {}))
    except PassStopped as exc:
        stopped, partial = exc, True
        g = ConflictGraph(program.n, exc.pairs[0], exc.pairs[1], program.labels, None)
    t0 = clock.add("distances", t0)
    members = components(g)
    edges = g.split(members)
    seeds = _seed_by_component(program.n, members, seed)
    pool = pools.local_pool([vs.size for vs in members], pools.POOL_MIN) if auto and farm else None
    runner, min_farm = (pool, pools.POOL_MIN) if pool is not None else (executor, parallel_min)
    clock.add("groups", t0)
    q = np.ones(program.n)
    lower = 0.0
    parts, ws, rounds, by_flow = [], [], [], 0
    timed_out, interrupted = partial, stopped is not None and stopped.interrupted
    futures = {}
    if runner is not None and farm:
        for c, vs in enumerate(members):
            if vs.size >= min_farm:
                sub, _ = edges.sub(c)
                futures[c] = runner.submit(
                    _component_job, GroupLP(program.X[vs], program.labels[vs], program.weights[vs],
                                            program.eps, program.norm, program.n_classes,
                                            program.max_group_size),
                    sub.I, sub.J, init_triples, top, tol, time_limit, pair_flow, seeds.get(c), lp_route)
    bar = tqdm(members, desc="group LP components", disable=not progress, unit="comp")
    if progress:
        clock.listener = _postfix(bar)
    finished = False
    try:
        for c, vs in enumerate(bar):
            remaining = None if time_limit is None else time_limit - (time.perf_counter() - start)
            if c in futures and not interrupted:
                try:
                    comp_res, t_job = futures[c].result()
                except KeyboardInterrupt:  # Ctrl-C while a worker solves it: the component counts 0
                    timed_out = interrupted = True
                    q[vs] = 0.0
                    continue
                except BrokenExecutor as exc:   # a worker died (killed, out of memory)
                    raise SolverFailed(f"the worker solving a component of {vs.size} samples died "
                                       f"({type(exc).__name__}: {exc})", status="worker died",
                                       backend=backend) from None
                comp_res["groups"] = _to_global(comp_res["groups"], vs)
                for k, v in t_job.items():
                    clock.t[k] = clock.t.get(k, 0.0) + v
            elif interrupted or partial or (remaining is not None and remaining <= 0):
                timed_out = True
                comp_res = _pair_bound(program, edges.sub(c)[0], vs) if pair_flow and not interrupted else None
                if comp_res is None:
                    q[vs] = 0.0
                    continue
            else:
                try:
                    comp_res = _solve_component(program, edges.sub(c)[0], vs, L, make_solver, init_triples,
                                                top, tol, clock, start, time_limit, pair_flow, seeds.get(c),
                                                lp_route, use_pool=use_pool)
                except KeyboardInterrupt:  # Ctrl-C outside the LP loop (flow, separation): the component counts 0
                    timed_out = interrupted = True
                    q[vs] = 0.0
                    continue
            lower += comp_res["value"]
            q[vs] = comp_res["q"]
            parts.append(comp_res["groups"])
            ws.append(comp_res["w"])
            rounds.append(comp_res["rounds"])
            by_flow += comp_res["flow"]
            timed_out |= comp_res["timed_out"]
            interrupted |= comp_res.get("interrupted", False)
            bar.set_postfix(rounds=comp_res["rounds"], groups=comp_res["groups"].n_groups)
        finished = True
    finally:                       # an error or Ctrl-C: cancel what the pool still holds
        pools.close(pool, interrupted or not finished)
    groups = GroupSet.concat(parts)
    w = np.concatenate(ws) if ws else np.zeros(0)
    upper = lower
    if timed_out:  # the neighbour bound is one pass over the edges: the deadline is kept
        t0 = time.perf_counter()
        trivial = float(program.weights.sum()) * (1.0 - 1.0 / program.n_classes)  # uniform f
        upper = trivial if partial else neighbour_bound(g, program.weights, q, L)
        if partial or upper >= trivial:  # q may violate pairs never seen, or does worse than the
            q[:] = 1.0 / program.n_classes    # uniform f: q = 1/K is feasible and its risk is `trivial`
            upper = trivial
        clock.add("separation", t0)
    status = "interval" if timed_out else ("optimal" if program.exact else "lower_bound")
    info = {"groups_by_size": groups.counts_by_size(), "pairs": int(g.I.size),
            "components": len(members), "largest_component": int(len(members[0])) if members else 1,
            "components_by_flow": by_flow,
            "separation_rounds": int(sum(rounds)), "max_rounds": int(max(rounds, default=0)),
            "max_group_size": L, "tolerance": tol, "graph_complete": not partial,
            "executor": pools.describe(runner if futures else None)}
    if interrupted:
        info["interrupted"] = True
    if stopped is not None:
        info["pair_pass"] = {"stopped": str(stopped), "blocks_done": stopped.done,
                             "blocks": stopped.total}
    return GroupSolve(value=lower, lower=lower, upper=upper, status=status, groups=groups, w=w, q=q,
                      graph=g, max_size=L, backend=backend, info=info, timings=dict(clock.t))


def _to_global(groups: GroupSet, vs: np.ndarray) -> GroupSet:
    """A component's groups (local sample ids) in the program's sample ids."""
    return GroupSet(groups.indptr, vs[groups.indices], groups.cost)


def _flow_result(pf, vs: np.ndarray, sub: ConflictGraph, *, timed_out: bool, flow: int,
                 rounds: int = 0, interrupted: bool = False) -> dict:
    """The component's pair value by max-flow as its result: exact when no group is violated,
    else a certified lower bound (AT_2 <= AT)."""
    return {"value": pf.value, "q": pf.q, "groups": GroupSet.from_rows(vs[sub.pairs()]), "w": pf.w,
            "rounds": rounds, "timed_out": timed_out, "interrupted": interrupted, "flow": flow}


def _pair_bound(program: GroupLP, sub: ConflictGraph, vs: np.ndarray) -> dict | None:
    """A component (samples vs, its graph sub in their local ids) reached after the time limit: its
    pair LP by max-flow (AT_2 <= AT of the component, a certified lower bound; the flow is cheap
    beside the LP), or None if p is not integral-scalable."""
    pf = solve_pair_flow(vs.size, sub.I, sub.J, program.weights[vs])
    if pf is None:
        return None
    return _flow_result(pf, vs, sub, timed_out=True, flow=0)


def _component_job(sub_program: GroupLP, I: np.ndarray, J: np.ndarray, init_triples: bool,
                   top: int | None, tol: float, time_limit: float | None, use_flow: bool,
                   seed: dict[int, np.ndarray] | None, lp_route: str = "split") -> tuple[dict, dict]:
    """One connected component solved in an executor worker (HiGHS); groups in component ids."""
    clock = _Clock()
    g = ConflictGraph(sub_program.n, I, J, sub_program.labels, None)
    res = _solve_component(sub_program, g, np.arange(sub_program.n), sub_program.group_limit,
                           lambda p: HighsGroupLP(p), init_triples, top, tol, clock,
                           time.perf_counter(), time_limit, use_flow, seed, lp_route,
                           use_pool=lp_route in POOL_ROUTES)
    return res, clock.t


def _seed_by_component(n: int, members: list[np.ndarray], seed) -> dict[int, dict[int, np.ndarray]]:
    """Split seed groups {size: rows of sample ids} by component, in component-local ids."""
    if not seed:
        return {}
    comp = np.full(n, -1)
    local = np.zeros(n, np.int64)
    for c, vs in enumerate(members):
        comp[vs] = c
        local[vs] = np.arange(vs.size)
    out: dict[int, dict[int, np.ndarray]] = {}
    for k, rows in seed.items():
        rows = np.asarray(rows, np.int64)
        if rows.shape[0] == 0:
            continue
        cr = comp[rows[:, 0]]
        same = np.all(comp[rows] == cr[:, None], axis=1) & (cr >= 0)
        for c in unique(cr[same]):
            out.setdefault(int(c), {})[k] = local[rows[same & (cr == c)]]
    return out


def classifier_upper(g: ConflictGraph, program: GroupLP, q: np.ndarray, L: int, tol: float = TOL) -> float:
    """Worst-case risk bound of the classifier from q: sum_v p_v (1 - q_v / M_v),
    M_v = max(1, max sum q over admissible groups containing v) (exact enumeration)."""
    v = violated_groups(g, program.X, q, program.eps, program.norm, L, tol=0.0, min_size=2)
    M = v.max_sum_per_vertex(program.n)
    return float(np.dot(program.weights, 1.0 - q / M))


def _solve_component(program: GroupLP, sub: ConflictGraph, vs: np.ndarray, L: int,
                     make_solver: SolverFactory, init_triples: bool, top: int | None, tol: float,
                     clock: _Clock, start: float, time_limit: float | None, use_flow: bool = True,
                     seed: dict[int, np.ndarray] | None = None, lp_route: str = "split",
                     use_pool: bool = False) -> dict:
    """One component (samples vs, its graph `sub` in their local ids): pair flow, then (use_pool
    and a small component: solvers.pool_cg) cutting planes over the group pool, else the
    working-set loop below."""
    t0 = time.perf_counter()
    if program.norm == 2 and sub.dist is None:         # lengths measured lazily by separation
        sub = ConflictGraph(sub.n, sub.I, sub.J, sub.labels, np.full(sub.I.size, np.nan))
    Xc = program.X[vs]
    Lc = min(L, int(np.unique(sub.labels).size))
    top_given = top
    top = top if top is not None else max(100, 2 * vs.size)
    first = pf = None
    if use_flow and not init_triples:
        pf = solve_pair_flow(vs.size, sub.I, sub.J, program.weights[vs])
        if pf is not None:
            t0 = clock.add("flow", t0)
            viol, stopped, halted = None, False, False
            pool = build_pool(sub, Xc, program.eps, program.norm, Lc) if (Lc > 2 and use_pool) else None
            if pool is not None:
                t0 = clock.add("groups", t0)
                viol0 = pool.violated(pf.q, tol)
                if not viol0:                          # no violated group: the pair value is exact
                    return _flow_result(pf, vs, sub, timed_out=False, flow=1)
                res = solve_with_pool(sub, program.weights[vs], pool, pf, viol0, tol=tol,
                                      top=top_given, clock=clock,
                                      deadline=None if time_limit is None else start + time_limit,
                                      seed=seed)
                res["groups"] = _to_global(res["groups"], vs)
                return res
            if Lc > 2:
                try:
                    viol = violated_groups(sub, Xc, pf.q, program.eps, program.norm, Lc, tol=tol,
                                           first_level=True,
                                           deadline=None if time_limit is None else start + time_limit)
                except DeadlineReached:                # the pair value stays a valid lower bound
                    stopped = True
                except KeyboardInterrupt:              # Ctrl-C: likewise, flagged as interrupted
                    stopped = halted = True
                t0 = clock.add("separation", t0)
            if stopped or viol is None or viol.count == 0:  # no violated group: the pair value is exact
                return _flow_result(pf, vs, sub, timed_out=stopped, interrupted=halted, flow=1)
            first = select(viol, vs.size, top)
            split = split_half(sub, pf.q, pf.w, program.weights[vs], components) \
                if lp_route == "split" else None
            if split is not None:      # the flow's integral part persists: LPs on the half-valued parts
                seeds = _seed_by_component(vs.size, split.parts, seed)
                results = []
                for i, (psub, ppf, pfirst) in enumerate(part_problems(sub, pf, split, first)):
                    part = split.parts[i]
                    results.append(_lp_loop(program, psub, vs[part], min(L, int(np.unique(psub.labels).size)),
                                            make_solver, ppf, pfirst, seeds.get(i), top, tol, clock, start,
                                            time_limit, init_triples, True)
                                   if pfirst else _flow_result(ppf, vs[part], psub, timed_out=False, flow=1))
                return merge(split, pf.q, vs, results)
            if lp_route == "local" and vs.size >= LOCAL_MIN:
                try:
                    loc = solve_local(sub, Xc, program.weights[vs], program.eps, program.norm, Lc, pf, first,
                                      tol, None if time_limit is None else start + time_limit, clock=clock)
                except (DeadlineReached, KeyboardInterrupt, SolverFailed) as exc:
                    if isinstance(exc, SolverFailed) and "time limit" not in (exc.status or "").lower():
                        raise
                    return _flow_result(pf, vs, sub, rounds=1, timed_out=True,   # a certified lower bound
                                        interrupted=isinstance(exc, KeyboardInterrupt), flow=0)
                if loc is not None:
                    loc["groups"] = _to_global(loc["groups"], vs)
                    return loc
    return _lp_loop(program, sub, vs, Lc, make_solver, pf, first, seed, top, tol, clock, start, time_limit,
                    init_triples, pf is not None and lp_route != "full", t0)


def _lp_loop(program: GroupLP, sub: ConflictGraph, vs: np.ndarray, Lc: int, make_solver: SolverFactory,
             pf, first: dict | None, seed: dict | None, top: int, tol: float, clock: _Clock, start: float,
             time_limit: float | None, init_triples: bool, colgen: bool, t0: float | None = None) -> dict:
    """The LP of the samples vs (graph sub, local ids) by rounds of pricing (colgen: the pair columns
    from the flow pf's basis on) and separation, from the groups `first` and `seed`."""
    t0 = time.perf_counter() if t0 is None else t0
    Xc = program.X[vs]
    ws = WorkingSet(make_solver(program.weights[vs]), sub if colgen else None)
    if colgen:
        start_columns(ws, sub, pf, program.weights[vs], tol)
    else:
        init = {2: sub.pairs()}
        if init_triples and Lc >= 3:
            init = enumerate_cliques(sub, 3, keep=group_test(Xc, program.eps, program.norm))
        for rows in init.values():
            ws.add(rows)
    interior = colgen and vs.size >= IPM_MIN and hasattr(ws.solver, "solve_interior")
    if seed:
        ws.add_closed({k: r for k, r in seed.items() if 3 <= k <= Lc})
    if first:
        ws.add_closed(start_groups(first, pf.q, vs.size) if interior else first)
    t0 = clock.add("groups", t0)
    res, rounds, timed_out, interrupted = None, int(first is not None), False, False
    deadline = None if time_limit is None else start + time_limit
    method = None              # the first exact solve after interior rounds: IPX + crossover
    done = False               # the interior rounds' polished answer is final
    if interior:
        try:
            ir = interior_rounds(ws, sub, Xc, program.eps, program.norm, Lc, program.weights[vs],
                                 deadline, clock)
            rounds += ir.rounds
            timed_out, method = ir.timed_out, ir.start
            if ir.result is not None:  # polished: feasible, within POLISH_GAP, nothing violated
                res = check_lp_result(ir.result, vs.size)
                done = True
        except KeyboardInterrupt:      # no exact LP solved yet: the flow's pair value stays
            timed_out = interrupted = True
        t0 = time.perf_counter()
    while not (timed_out or done):
        left = None if time_limit is None else time_limit - (time.perf_counter() - start)
        if left is not None and left <= 0:
            timed_out = True
            break
        try:
            try:
                lp = ws.solver.solve(left) if method is None else ws.solver.solve(left, method=method)
                method = None
                res = check_lp_result(lp, vs.size)
            except SolverFailed as exc:
                if exc.status and "time limit" in exc.status.lower():
                    timed_out = True
                    t0 = clock.add("lp", t0)
                    break
                raise
            t0 = clock.add("lp", t0)
            if colgen:
                priced = ws.add_pairs(violated_pairs(sub, res.q, tol, cap=PRICE_CAP))
                t0 = clock.add("pricing", t0)
                if priced:
                    rounds += 1
                    continue
            if Lc <= 2:
                break
            viol = violated_groups(sub, Xc, res.q, program.eps, program.norm, Lc, tol=tol, first_level=True,
                                   deadline=None if time_limit is None else start + time_limit)
            t0 = clock.add("separation", t0)
            if viol.count == 0:
                break
            added = ws.add_closed(select(viol, vs.size, top))
        except KeyboardInterrupt:  # Ctrl-C: the last solved LP is still a valid restriction
            timed_out = interrupted = True
            break
        except DeadlineReached:
            timed_out = True
            break
        if added == 0:
            raise SolverFailed("separation found only groups already in the working set "
                               "(LP tolerances looser than the separation tolerance)",
                               status="stalled", backend=getattr(ws.solver, "backend", None))
        rounds += 1
        t0 = clock.add("groups", t0)
    allg = GroupSet.concat([GroupSet.from_rows(vs[r]) for r in ws.columns])
    w = np.zeros(allg.n_groups)
    if pf is not None and (res is None or (timed_out and pf.value > res.value)):
        # the pair LP (flow) solved: its value bounds AT from below (a restricted LP may be lower)
        return _flow_result(pf, vs, sub, rounds=rounds, timed_out=True, interrupted=interrupted, flow=0)
    if res is None:
        return {"value": 0.0, "q": np.zeros(vs.size), "groups": allg, "w": w, "rounds": rounds,
                "timed_out": True, "interrupted": interrupted, "flow": 0}
    w[:res.w.size] = res.w
    return {"value": res.value, "q": res.q, "groups": allg, "w": w, "rounds": rounds,
            "timed_out": timed_out, "interrupted": interrupted, "flow": 0}


def all_admissible_groups(program: GroupLP) -> GroupSet:
    """Every admissible group of size 2..L (full enumeration: the explicit LP (P), e.g. for export)."""
    g = conflict_graph(program)
    test = group_test(program.X, program.eps, program.norm)
    found = enumerate_cliques(g, program.group_limit, keep=test)
    return GroupSet.concat([GroupSet.from_rows(found[k]) for k in sorted(found)])
