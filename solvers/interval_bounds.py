"""A cheap certified upper bound on AT from any q in [0, 1]^n (for time limits and interruption).

Every member u != v of an admissible group S containing v conflicts with v (pairwise balls meet)
and has its own class, so sum_S q <= q_v + (sum of the L - 1 largest b_vk), where
b_vk = max q_u over class-k neighbours u of v. With M_v = max(1, that bound) >= the exact
max group sum, U = sum_v p_v (1 - q_v / M_v) bounds the worst-case risk of the classifier
built from q (normalised by M) from above, hence AT <= U. One pass over the conflict edges.
"""
from __future__ import annotations

import numpy as np

from .cliques import ConflictGraph


def neighbour_bound(g: ConflictGraph, weights: np.ndarray, q: np.ndarray, max_size: int,
                    unseen: np.ndarray | None = None, unseen_q: float = 0.0) -> float:
    """U = sum_v p_v (1 - q_v / M_v) with the neighbour over-estimate M_v of the module docstring.

    unseen: (n,) bool, samples that may have conflict partners missing from g, all of them with
    q <= unseen_q: their b_vk is raised to unseen_q for every other class k."""
    n = q.size
    lab = np.asarray(g.labels, dtype=np.int64)
    K = int(lab.max()) + 1 if n else 1
    best = np.zeros((n, K))
    np.maximum.at(best, (g.I, lab[g.J]), q[g.J])
    np.maximum.at(best, (g.J, lab[g.I]), q[g.I])
    if unseen is not None and unseen_q > 0:
        rows = np.flatnonzero(unseen)
        raised = np.maximum(best[rows], unseen_q)
        raised[np.arange(rows.size), lab[rows]] = best[rows, lab[rows]]   # own class: no partner
        best[rows] = raised
    others = max(0, min(max_size, K) - 1)
    top = np.sort(best, axis=1)[:, K - others:].sum(1) if others else np.zeros(n)
    M = np.maximum(1.0, q + top)
    return float(np.dot(weights, 1.0 - q / M))
