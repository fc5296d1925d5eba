"""Certified bounds on AT from a truncated conflict-pair set (a pass that did not fit its budget).

Lower: the pair LP (max-flow, solvers.pair_flow) on any SUBSET of the conflict pairs is the value
of (P) restricted to those pair groups, a feasible primal, hence <= AT_2 <= AT.
Upper: a sample is complete when every conflict pair it has is kept, so a pair that is NOT kept
joins two incomplete samples. Take q = the flow dual on the pairs between complete samples and
q = c on the incomplete ones (c fixed). Every other member u of an admissible group S through v
conflicts with v and has its own class; if (u, v) is kept, q_u <= b_vk (the largest q of v's kept
class-k partners), else u is incomplete and q_u = c. So with b_vk raised to c for incomplete v
(`interval_bounds.neighbour_bound(unseen=...)`), M_v = max(1, q_v + the L - 1 largest b_vk)
bounds every group sum through v, q / M is feasible for (D), and U = sum_v p_v (1 - q_v / M_v)
>= AT. The smallest U over a few c (UNSEEN_Q) is kept; both bounds are capped by the trivial ones.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .cliques import ConflictGraph
from .interval_bounds import neighbour_bound
from .pair_flow import pair_flow


UNSEEN_Q = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 1.0 / 3.0, 0.5)


@dataclass(frozen=True, eq=False)
class TruncatedBounds:
    """lower <= AT <= upper from kept pairs; q: the dual behind `upper`; flow_value: pair LP on
    the kept pairs (None when the weights are not integral-scalable)."""

    lower: float
    upper: float
    q: np.ndarray
    flow_value: float | None
    flow_w: np.ndarray | None      # the flow's masses on the kept pairs (I, J)
    kept_pairs: int
    complete: int


def truncated_bounds(labels: np.ndarray, weights: np.ndarray, I: np.ndarray, J: np.ndarray,
                     complete: np.ndarray, n_classes: int, max_size: int,
                     floor: float = 0.0) -> TruncatedBounds:
    """Bounds of the module docstring. I, J: kept conflict pairs (a subset), complete: (n,) bool
    mask of the samples whose every conflict pair is among them, floor: a lower bound known
    otherwise (AT at a smaller eps of a sweep: AT is non-decreasing in eps)."""
    n = labels.size
    p = np.asarray(weights, dtype=np.float64)
    trivial = float(p.sum()) * (1.0 - 1.0 / n_classes)
    pf = pair_flow(n, I, J, p)
    lower = max(floor, pf.value if pf is not None else 0.0)
    both = complete[I] & complete[J]
    pc = pair_flow(n, I[both], J[both], p)
    if pc is None:                                   # no integral flow: q = 1 only where no pair
        base = np.ones(n)
        base[I[both]] = base[J[both]] = 0.0
    else:
        base = pc.q
    g = ConflictGraph(n, I, J, labels, None)
    best_u, best_q = trivial, None
    for c in UNSEEN_Q:
        q = np.where(complete, base, c)
        u = neighbour_bound(g, p, q, max_size, unseen=~complete, unseen_q=c)
        if best_q is None or u < best_u:
            best_u, best_q = u, q
    return TruncatedBounds(lower, min(best_u, trivial), best_q, None if pf is None else pf.value,
                           None if pf is None else pf.w, int(I.size), int(complete.sum()))


def interval_solution(program, bp, floor: float, max_memory: int, classes: tuple[int, ...],
                      floor_attack=None):
    """A Solution with status 'interval' for a GroupLP whose pairs did not fit the memory budget
    (bp: a truncated `pair_budget.BoundedPairs`): `truncated_bounds` on the kept pairs within
    2 eps (an exact subset, `restrict_pairs`), floor: a lower bound known otherwise (AT at a
    smaller eps, proved by floor_attack). Its attack is the kept pairs' flow moved to the pair
    midpoints (or floor_attack when the floor is higher); its certificate re-checks both ends, the
    upper one by a blocked distance pass (robustdsl.group_intervals)."""
    from robustdsl.group_intervals import group_attack, interval_answer, pair_attack

    from .ball_groups import pair_threshold
    from .pairs import restrict_pairs

    t0 = time.perf_counter()
    gi, gj, _ = restrict_pairs(program.X, bp.KI, bp.KJ, bp.KD, pair_threshold(program.eps), program.norm)
    complete = bp.complete()
    tb = truncated_bounds(program.labels, program.weights, gi, gj, complete, program.n_classes,
                          program.group_limit, floor)
    exact = (f"every pair kept up to 2 eps = {bp.exact_threshold:g} (exact there)"
             if bp.exact_threshold >= 0 else "no eps of the grid with every pair kept")
    reason = (f"memory budget max_memory={max_memory}: {bp.total} conflict pairs at 2 eps = "
              f"{bp.threshold:g} do not fit {bp.max_kept} pairs; {exact}; above it the {bp.k} "
              f"nearest partners of each sample ({tb.kept_pairs} pairs within 2 eps = "
              f"{2.0 * program.eps:g}); {tb.complete} of {complete.size} samples complete")
    info = {"reason": reason, "pairs_found_at_largest_eps": bp.total, "kept_pairs": tb.kept_pairs,
            "nearest_k": bp.k, "complete_samples": tb.complete,
            "exact_up_to_threshold": bp.exact_threshold if bp.exact_threshold >= 0 else None,
            "pair_flow_on_kept": tb.flow_value, "lower_from_smaller_eps": floor, "max_memory": max_memory}
    if tb.flow_w is not None and (tb.flow_value >= floor or floor_attack is None):
        attack = pair_attack(program, classes, gi, gj, tb.flow_w)
    elif floor_attack is not None:
        attack = floor_attack
    else:                                  # weights not integral-scalable and no floor: nothing moves
        attack = group_attack(program, classes, [], [])
    lower = min(tb.lower, attack.best_response_risk())
    return interval_answer(program, classes, tb.q, attack, lower, tb.upper, backend="flow",
                           timings={"flow": time.perf_counter() - t0}, info=info)
