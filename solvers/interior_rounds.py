"""Interior-point rounds of column generation, before the exact loop, for large parts of the LP.

On a large H part (solvers.half_split) the dual simplex pays tens of thousands of degenerate pivots
for every warm round (benchmarks/SCALE.md), while an interior-point solve of the same columns costs
a few seconds and needs no basis. So a part of at least IPM_MIN samples first grows its working set
on interior duals: solve (P) by IPX without crossover (q to about 1e-8, not certified), add every
pair and group that is violated or nearly tight, q(S) > 1 - MARGIN (pairs capped as in pricing,
groups of every size by a capped separation), and repeat until fewer than SWITCH * n columns enter.
The exact loop (cutting_plane._lp_loop) then starts from an IPX + crossover basic solution of the
grown set and goes on as before (dual simplex rounds, exact pricing and separation at tolerance
TOL), so the answer and its certificate are those of the exact loop; these rounds only choose the
columns it starts from. Measured on the largest l2 eps-3 part of all of MNIST (12,666 samples, one
process, the part alone): 150 s by dual simplex rounds (18) -> 71 s (4 interior rounds 30 s,
crossover 25 s, one dual round 8 s); the full-MNIST curve eps 1-3 213 -> 139 s, LP 145 -> 73 s
(benchmarks/SCALE.md). Neutral on the 6,797-sample part of n = 40,000 (14.3 s either way), hence
the threshold.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from robustdsl.errors import SolverFailed

from .cliques import ConflictGraph
from .separation import DeadlineReached, Violations, select, violated_groups
from .working_set import PRICE_CAP, WorkingSet, violated_pairs

IPM_MIN = 10_000     # samples in a part from which the interior rounds run
MARGIN = 0.01        # columns with q(S) > 1 - MARGIN at the interior duals enter
SWITCH = 0.05        # fewer entering columns than SWITCH * n ends the rounds


def start_groups(first: dict[int, np.ndarray], q: np.ndarray, n: int) -> dict[int, np.ndarray]:
    """The first groups of a part of n samples (violated at the pair optimum q) cut to what
    separation.select keeps for that size: the 2n largest sums of q and each sample's largest.
    (A part of a component inherits the component's selection, up to 2 x the component's size:
    69,278 triples for the 12,666-sample part above; started from 28,482 instead, its interior
    route took 71 s instead of 112-133 s. The dual simplex route keeps the inherited set: trimmed,
    it took 171 s instead of 150 s.)"""
    v = Violations(dict(first), {k: q[r].sum(1) for k, r in first.items()})
    return select(v, n, max(100, 2 * n))


@dataclass(frozen=True)
class InteriorRounds:
    """What the rounds did: solves, columns added, and whether the time limit stopped them."""

    rounds: int
    added: int
    timed_out: bool


def interior_rounds(ws: WorkingSet, g: ConflictGraph, X: np.ndarray, eps: float, norm: float,
                    max_size: int, deadline: float | None, clock) -> InteriorRounds:
    """Grow the working set `ws` (columns of a HighsGroupLP) on interior-point duals, as described
    in the module docstring. `clock.add(stage, t0)` records the seconds per stage. A time limit
    inside (HiGHS' or the separation's) ends the rounds with timed_out=True; the caller's exact
    loop then sees the deadline too."""
    rounds = added_total = 0
    t0 = time.perf_counter()
    while True:
        left = None if deadline is None else deadline - time.perf_counter()
        if left is not None and left <= 0:
            return InteriorRounds(rounds, added_total, True)
        try:
            it = ws.solver.solve_interior(left)
        except SolverFailed as exc:
            if exc.status and "time limit" in exc.status.lower():
                clock.add("lp", t0)
                return InteriorRounds(rounds, added_total, True)
            raise
        t0 = clock.add("lp", t0)
        rounds += 1
        added = ws.add_pairs(violated_pairs(g, it.q, -MARGIN, cap=PRICE_CAP))
        t0 = clock.add("pricing", t0)
        try:
            viol = violated_groups(g, X, it.q, eps, norm, max_size, tol=-MARGIN, deadline=deadline,
                                   capped=True)
        except DeadlineReached:
            clock.add("separation", t0)
            return InteriorRounds(rounds, added_total + added, True)
        t0 = clock.add("separation", t0)
        if viol.count:
            added += ws.add_closed(select(viol, g.n, viol.count))
        t0 = clock.add("groups", t0)
        added_total += added
        if added < SWITCH * g.n:
            return InteriorRounds(rounds, added_total, False)
