"""Conflict pairs: cross-class pairs (u, v) with ||x_u - x_v|| <= threshold, by blocks.

Reference implementation (float64, blocked, vectorised); the interface is what the
rest of the solvers rely on.
"""
from __future__ import annotations

import math

import numpy as np


def pairwise_dist(A: np.ndarray, B: np.ndarray, norm: float) -> np.ndarray:
    """(len(A), len(B)) distances in the given norm (1, 2 or inf)."""
    if norm == 2:
        d2 = (A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2.0 * A @ B.T
        return np.sqrt(np.maximum(d2, 0.0))
    diff = np.abs(A[:, None, :] - B[None, :, :])
    return diff.max(-1) if math.isinf(norm) else diff.sum(-1)


def conflict_pairs(X: np.ndarray, labels: np.ndarray, threshold: float, norm: float,
                   block: int = 2048) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(I, J, D): all u < v with labels[u] != labels[v] and dist(x_u, x_v) <= threshold.

    Exact: distances near the threshold are recomputed coordinate-wise in float64.
    Sorted by (I, J).
    """
    n = X.shape[0]
    Is, Js, Ds = [], [], []
    for s in range(0, n, block):
        A = X[s:s + block]
        for t in range(s, n, block):
            B = X[t:t + block]
            D = pairwise_dist(A, B, norm)
            ii, jj = np.nonzero(D <= threshold * (1 + 1e-9) + 1e-12)
            gi, gj = ii + s, jj + t
            keep = (gi < gj) & (labels[gi] != labels[gj])
            gi, gj = gi[keep], gj[keep]
            d = exact_dist(X[gi], X[gj], norm)
            ok = d <= threshold
            Is.append(gi[ok]); Js.append(gj[ok]); Ds.append(d[ok])
    I = np.concatenate(Is) if Is else np.zeros(0, np.int64)
    J = np.concatenate(Js) if Js else np.zeros(0, np.int64)
    D = np.concatenate(Ds) if Ds else np.zeros(0)
    order = np.lexsort((J, I))
    return I[order].astype(np.int64), J[order].astype(np.int64), D[order]


def exact_dist(A: np.ndarray, B: np.ndarray, norm: float) -> np.ndarray:
    """Row-wise dist(A[i], B[i]) computed directly from differences (no cancellation)."""
    diff = np.abs(A - B)
    if norm == 2:
        return np.sqrt((diff * diff).sum(1))
    return diff.max(1) if math.isinf(norm) else diff.sum(1)
