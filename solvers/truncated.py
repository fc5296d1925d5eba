"""Certified bounds on AT from a truncated conflict-pair set (a pass that did not fit its budget).

Lower: the pair LP (max-flow, solvers.pair_flow) on any SUBSET of the conflict pairs is the value
of (P) restricted to those pair groups, a feasible primal, hence <= AT_2 <= AT.
Upper: a sample is complete when every conflict pair it has is kept. Take q = the flow dual on the
pairs between complete samples and q = 0 on the others. A group S meets its complete members S'
(a sub-group, so pairwise within the kept pairs) and q vanishes on S \\ S', so the neighbour
over-estimate M_v (solvers.interval_bounds) on the complete-complete pairs bounds every group sum
through v, and U = sum_v p_v (1 - q_v / M_v) >= AT (q / M is feasible for (D)); the incomplete
samples each count their whole mass p_v. Both bounds are also capped by the trivial ones.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .cliques import ConflictGraph
from .interval_bounds import neighbour_bound
from .pair_flow import pair_flow


@dataclass(frozen=True, eq=False)
class TruncatedBounds:
    """lower <= AT <= upper from kept pairs; q: the dual behind `upper`; flow_value: pair LP on
    the kept pairs (None when the weights are not integral-scalable)."""

    lower: float
    upper: float
    q: np.ndarray
    flow_value: float | None
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
    Ic, Jc = I[both], J[both]
    pc = pair_flow(n, Ic, Jc, p)
    if pc is None:                                   # no integral flow: q = 1 only where no pair
        q = np.ones(n)
        q[Ic] = q[Jc] = 0.0
    else:
        q = pc.q.copy()
    q[~complete] = 0.0
    upper = neighbour_bound(ConflictGraph(n, Ic, Jc, labels, None), p, q, max_size)
    return TruncatedBounds(lower, min(upper, trivial), q, None if pf is None else pf.value,
                           int(I.size), int(complete.sum()))
