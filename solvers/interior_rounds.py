"""Interior-point rounds of column generation for large parts of the LP, polished to a certified answer.

On a large H part (solvers.half_split) the dual simplex pays tens of thousands of degenerate pivots
for every warm round (benchmarks/SCALE.md), while an interior-point solve of the same columns costs
a few seconds and needs no basis. So a part of at least IPM_MIN samples grows its working set on
interior duals: solve (P) by IPX without crossover, add every pair and group that is violated or
nearly tight, q(S) > 1 - MARGIN (pairs capped as in pricing, groups of every size by a capped
search), and repeat until fewer than SWITCH * n columns enter. Then polish: IPX to a 1e-12
tolerance, the same searches, columns added while any q(S) exceeds 1 + TOL; once none does, the
interior point is certified as it stands (`polished`: w scaled down to feasibility for (P), q
scaled down by the largest excess over every admissible group to feasibility for (D), the two
bounds within POLISH_GAP of the mass, a quarter of what the certificate accepts). If that fails
(or IPX does not converge), the exact loop of cutting_plane._lp_loop starts from an IPX +
crossover basic solution (or the simplex) and goes on by dual simplex rounds as before.
Measured on the H parts of the l2 eps-3 component of the first n digits of all MNIST (the part
alone, one process): n = 70,000, 12,666 samples: 150 s by dual simplex rounds -> 53 s (4 coarse
rounds, one polish round); n = 40,000, 6,797 samples: 15.5 -> 11.8 s; n = 20,000, 3,181 samples:
1.9 -> 2.3 s (hence IPM_MIN).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from robustdsl.errors import SolverFailed
from robustdsl.ir import LPResult

from .cliques import ConflictGraph
from .separation import FIRST_LEVEL_CAP, TOL, DeadlineReached, Violations, select, violated_groups
from .working_set import PRICE_CAP, WorkingSet, violated_pairs

IPM_MIN = 5_000      # samples in a part from which the interior rounds run
MARGIN = 0.01        # columns with q(S) > 1 - MARGIN at the interior duals enter
SWITCH = 0.05        # fewer entering columns than SWITCH * n ends the coarse rounds
POLISH_TOL = 1e-12   # IPX optimality tolerance of the polishing rounds
POLISH_GAP = 2.5e-10  # largest certified gap (relative to the mass) of a polished answer: a quarter
#                        of what the certificate accepts
POLISH_ROUNDS = 20   # polishing rounds at most before falling back to the crossover start
PRUNE = 1e-9         # column masses below PRUNE * min p are dropped from a polished answer


def start_groups(first: dict[int, np.ndarray], q: np.ndarray, n: int) -> dict[int, np.ndarray]:
    """The first groups of a part of n samples (violated at the pair optimum q) cut to what
    separation.select keeps for that size: the 2n largest sums of q and each sample's largest.
    (A part of a component inherits the component's selection, up to 2 x the component's size:
    69,278 triples for the 12,666-sample part above; started from 28,482 instead, its interior
    rounds took 71 s instead of 112-133 s (with a crossover start, before polishing). The dual
    simplex route keeps the inherited set: trimmed, it took 171 s instead of 150 s.)"""
    v = Violations(dict(first), {k: q[r].sum(1) for k, r in first.items()})
    return select(v, n, max(100, 2 * n))


@dataclass(frozen=True)
class InteriorRounds:
    """What the rounds did: solves, columns added, whether the time limit stopped them, and the
    polished answer (None: the exact loop starts from a crossover instead)."""

    rounds: int
    added: int
    timed_out: bool
    result: LPResult | None = None
    start: str = "ipm"          # how the exact loop starts without a result: IPX + crossover, or
    #                             'simplex' (from scratch) after IPX itself failed


def polished(it, groups, p: np.ndarray, excess: float) -> LPResult | None:
    """A certified answer from an interior point (w, q) of (P) over `groups` (GroupSet, column
    order), given `excess` = max(0, max_S q(S) - 1) over EVERY admissible group (the caller's
    complete search):
      w without its entries below PRUNE min p (an interior point spreads tiny masses over every
        column: 157,607 of them for 65,043 that matter in the 12,666-sample part), made feasible
        for (P) by feasible_w, so value = sum (|S| - 1) w_S <= AT;
      q' = q / (1 + excess): feasible for (D), so sum p (1 - q') >= AT.
    The answer (value, w, q') if those two bounds are within POLISH_GAP of the mass, else None."""
    w = feasible_w(np.where(it.w > PRUNE * p.min(), it.w, 0.0), groups, p)   # dust would be atoms
    value = float(np.dot(groups.sizes - 1.0, w))
    q = it.q / (1.0 + max(0.0, excess))
    if float(np.dot(p, 1.0 - q)) - value > POLISH_GAP * float(p.sum()):
        return None
    return LPResult(value=value, w=w, r=1.0 - q, q=q, budget_dual=None, status="Optimal",
                    backend="highs", seconds=it.seconds, iterations=it.iterations)


def feasible_w(w: np.ndarray, groups, p: np.ndarray) -> np.ndarray:
    """w >= 0 scaled down on each column by its members' largest overload max(1, load_v / p_v),
    load_v = sum_{S ni v} w_S: feasible for (P) whatever the solver's tolerances."""
    w = np.maximum(w, 0.0)
    if w.size == 0:
        return w
    load = np.bincount(groups.indices, weights=np.repeat(w, groups.sizes), minlength=p.size)
    over = np.maximum(load / p, 1.0)
    return w / np.maximum.reduceat(over[groups.indices], groups.indptr[:-1])


def basic_primal(res: LPResult, groups, p: np.ndarray, time_limit: float | None) -> LPResult:
    """`res` with its interior w replaced by a basic optimal solution of (P) restricted to the
    columns with w > 0 (the dual simplex from scratch on them: the 65,043 columns of the
    12,666-sample part in 3.7 s, 6,743 of them left positive), made feasible by feasible_w; the
    attack built from w then has about one atom per sample instead of several (the certificate
    evaluates the classifier on every atom: 74.7 s against 11.8 s at n = 70,000, eps 3). q is
    kept. `res` unchanged if that solve fails or its value is not within POLISH_GAP of q's bound."""
    from .lp_highs import HighsGroupLP

    cols = np.flatnonzero(res.w > 0)
    sub = groups.take(cols)
    lp = HighsGroupLP(p)
    lp.add_groups(sub)
    try:
        vertex = lp.solve(time_limit)
    except SolverFailed:
        return res
    w = np.zeros(res.w.size)
    w[cols] = feasible_w(vertex.w, sub, p)
    value = float(np.dot(groups.sizes - 1.0, w))
    if float(np.dot(p, 1.0 - res.q)) - value > POLISH_GAP * float(p.sum()):
        return res
    return replace(res, w=w, value=value, seconds=res.seconds + vertex.seconds)


def interior_rounds(ws: WorkingSet, g: ConflictGraph, X: np.ndarray, eps: float, norm: float,
                    max_size: int, p: np.ndarray, deadline: float | None, clock) -> InteriorRounds:
    """Grow the working set `ws` (columns of a HighsGroupLP) on interior-point duals, as described
    in the module docstring, then polish. `clock.add(stage, t0)` records the seconds per stage. A
    time limit inside (HiGHS' or the separation's) ends the rounds with timed_out=True."""
    rounds = added_total = polish = 0
    t0 = time.perf_counter()
    while True:
        left = None if deadline is None else deadline - time.perf_counter()
        if left is not None and left <= 0:
            return InteriorRounds(rounds, added_total, True)
        try:
            it = ws.solver.solve_interior(left, POLISH_TOL if polish else 1e-8)
        except SolverFailed as exc:   # a time limit, or IPX did not converge: the simplex goes on
            clock.add("lp", t0)
            timed = bool(exc.status and "time limit" in exc.status.lower())
            return InteriorRounds(rounds, added_total, timed, start="simplex")
        rounds += 1
        t0 = clock.add("lp", t0)
        q = it.q
        pairs = violated_pairs(g, q, -MARGIN, cap=PRICE_CAP)
        t0 = clock.add("pricing", t0)
        try:
            viol = violated_groups(g, X, q, eps, norm, max_size, tol=-MARGIN, deadline=deadline,
                                   capped=True)
        except DeadlineReached:
            clock.add("separation", t0)
            return InteriorRounds(rounds, added_total, True)
        t0 = clock.add("separation", t0)
        excess = _excess(g, q, pairs, viol)
        if polish and excess <= TOL:            # nothing violated: certify the interior point
            complete = pairs.size < PRICE_CAP and viol.count < FIRST_LEVEL_CAP
            groups = ws.solver.all_groups()
            res = polished(it, groups, p, excess) if complete else None
            if res is not None:
                res = basic_primal(res, groups, p, None if deadline is None else deadline - time.perf_counter())
            clock.add("lp", t0)
            return InteriorRounds(rounds, added_total, False, res)
        added = ws.add_pairs(pairs)
        if viol.count:
            added += ws.add_closed(select(viol, g.n, viol.count))
        t0 = clock.add("groups", t0)
        added_total += added
        if polish or added < SWITCH * g.n:
            polish += 1
            if polish > POLISH_ROUNDS or (polish > 1 and added == 0):
                return InteriorRounds(rounds, added_total, False)


def _excess(g: ConflictGraph, q: np.ndarray, pairs: np.ndarray, viol) -> float:
    """max(0, largest q(S) - 1) over the near-tight pairs and groups the margin searches found
    (all of them with q(S) > 1 - MARGIN, when neither search reached its cap)."""
    top = float(np.max(q[g.I[pairs]] + q[g.J[pairs]])) if pairs.size else 0.0
    for s in viol.sums.values():
        top = max(top, float(s.max()))
    return max(0.0, top - 1.0)
