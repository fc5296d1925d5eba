"""A cheap certified upper bound on AT from any q in [0, 1]^n (for time limits and interruption).

Every member u != v of an admissible group S containing v conflicts with v (pairwise balls meet)
and has its own class, so sum_S q <= q_v + (sum of the L - 1 largest b_vk), where
b_vk = max q_u over class-k neighbours u of v. With M_v = max(1, that bound) >= the exact
max group sum, U = sum_v p_v (1 - q_v / M_v) bounds the worst-case risk of the classifier
built from q (normalised by M) from above, hence AT <= U. One pass over the conflict edges
(`neighbour_bound`), or, without stored pairs, one blocked distance pass over the samples with
q > 0 (`class_max_by_pass`, memory O(n K) beside one block).
"""
from __future__ import annotations

import numpy as np

from .cliques import ConflictGraph


def bound_from_class_max(best: np.ndarray, weights: np.ndarray, q: np.ndarray, max_size: int) -> float:
    """U = sum_v p_v (1 - q_v / M_v), M_v = max(1, q_v + the L - 1 largest b_vk); best: (n, K) b_vk."""
    K = best.shape[1]
    others = max(0, min(max_size, K) - 1)
    top = np.sort(best, axis=1)[:, K - others:].sum(1) if others else np.zeros(q.size)
    M = np.maximum(1.0, q + top)
    return float(np.dot(weights, 1.0 - q / M))


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
    return bound_from_class_max(best, weights, q, max_size)


def class_max_by_pass(X: np.ndarray, labels: np.ndarray, q: np.ndarray, radius: float, norm: float,
                      n_classes: int, block: int = 2048, progress: bool = False) -> np.ndarray:
    """(n, K) b_vk = max q_u over the samples u of class k != label v with dist(x_u, x_v) <= radius
    (0 where none) for every v with q_v > 0 (rows with q_v = 0 stay 0: their term p_v (1 - q_v / M_v)
    does not depend on M_v), recomputed from the coordinates: blocks of the samples with q > 0
    against each other (a pair with q_u = 0 adds nothing), each pair decided by
    `group_certificate.within` (float32 screening with a rigorous margin, float64 recheck near the
    radius). No pair is stored."""
    from tqdm.auto import tqdm

    from .group_certificate import within

    lab = np.asarray(labels, dtype=np.int64)
    best = np.zeros((q.size, n_classes))
    keep = np.flatnonzero(q > 0)
    Xk, lk, qk = X[keep], lab[keep], q[keep]
    starts = range(0, keep.size, block)
    for s in tqdm(starts, desc="certificate pass", unit="block", disable=not progress):
        for t in range(s, keep.size, block):
            ii, jj = np.nonzero(within(Xk[s:s + block], Xk[t:t + block], radius, norm))
            ii, jj = ii + s, jj + t
            ok = lk[ii] != lk[jj]
            ii, jj = ii[ok], jj[ok]
            np.maximum.at(best, (keep[ii], lk[jj]), qk[jj])
            np.maximum.at(best, (keep[jj], lk[ii]), qk[ii])
    return best
