"""The saddle objects of the group LP (MATH.md section 2): the optimal attack and classifier.

Attack (from the primal w): mass w_S of every member of S moves to the barycenter x'_S of S
(the centre of the smallest enclosing ball), the rest p_v - sum_{S contains v} w_S stays at x_v.
Classifier (from the dual q): f_k(x) = max q_v over class-k samples v with x in B_eps(x_v),
normalised by max(1, sum_k f_k(x)); the remaining mass goes to the class of the nearest sample.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import InvalidInput
from .measures import EmpiricalMeasure


@dataclass(frozen=True, eq=False)
class Attack:
    """A discrete measure mu~: atoms `points` with class labels, `masses`, and the sample each came from.

    `group[i]` is the index of the merged group of atom i (-1: the sample's unmoved remainder).
    """

    points: np.ndarray        # (m, d)
    labels: np.ndarray        # (m,) class labels (the user's values)
    label_index: np.ndarray   # (m,) 0..K-1
    masses: np.ndarray        # (m,)
    source: np.ndarray        # (m,) original sample index
    group: np.ndarray         # (m,) group index or -1
    classes: tuple[int, ...]

    @property
    def mass(self) -> float:
        return float(self.masses.sum())

    def displacement(self, X: np.ndarray, norm: float) -> np.ndarray:
        """||x~_i - x_source(i)|| per atom."""
        diff = np.abs(self.points - X[self.source])
        return np.sqrt((diff ** 2).sum(1)) if norm == 2 else (
            diff.max(1) if math.isinf(norm) else diff.sum(1))

    def best_response_risk(self) -> float:
        """min over classifiers of E_mu~[1 - f_y(x)]: at each support point keep the heaviest class."""
        from .solvers.group_certificate import best_response_risk
        return best_response_risk(self.points, self.label_index, self.masses)

    def to_measure(self, name: str = "mu~*") -> EmpiricalMeasure:
        """The attack as an EmpiricalMeasure (atoms with positive mass)."""
        keep = self.masses > 0
        return EmpiricalMeasure.from_arrays(self.points[keep], self.labels[keep], self.masses[keep],
                                            classes=self.classes, task="classification", name=name)


def build_attack(X: np.ndarray, labels: np.ndarray, weights: np.ndarray, classes: tuple[int, ...],
                 rows: list[np.ndarray], w: list[np.ndarray], centres: list[np.ndarray]) -> Attack:
    """Atoms from groups of each size (rows (m_k, k), masses w (m_k,), barycenters (m_k, d)).

    w is first made exactly feasible: w_S <- w_S * min_{v in S} min(1, p_v / load_v).
    """
    n, d = X.shape
    load = np.zeros(n)
    for R, m in zip(rows, w):
        np.add.at(load, R.ravel(), np.repeat(m, R.shape[1]))
    shrink = np.minimum(1.0, weights / np.maximum(load, 1e-300))
    pts, src, mas, grp = [X], [np.arange(n)], [], []
    moved = np.zeros(n)
    offset = 0
    for R, m, C in zip(rows, w, centres):
        m = np.maximum(m, 0.0) * shrink[R].min(1)
        k = R.shape[1]
        pts.append(np.repeat(C, k, axis=0))
        src.append(R.ravel())
        mas.append(np.repeat(m, k))
        grp.append(np.repeat(np.arange(offset, offset + R.shape[0]), k))
        np.add.at(moved, R.ravel(), np.repeat(m, k))
        offset += R.shape[0]
    rest = np.maximum(weights - moved, 0.0)
    points = np.concatenate(pts) if len(pts) > 1 else X.copy()
    source = np.concatenate(src).astype(np.int64)
    masses = np.concatenate([rest] + mas)
    group = np.concatenate([np.full(n, -1)] + grp).astype(np.int64)
    keep = masses > 0
    li = labels[source[keep]]
    cl = np.asarray(classes)
    return Attack(points[keep], cl[li], li, masses[keep], source[keep], group[keep], tuple(classes))


@dataclass(frozen=True, eq=False)
class Classifier:
    """f*(x) from the dual q: vectorised over an (m, d) array, returns (m, K) class probabilities."""

    X: np.ndarray
    label_index: np.ndarray
    q: np.ndarray
    eps: float
    norm: float
    classes: tuple[int, ...]

    def __call__(self, Z) -> np.ndarray:
        from .solvers.group_certificate import within
        Z = np.asarray(Z, dtype=np.float64)
        if Z.ndim == 1:
            Z = Z[None, :]
        if Z.ndim != 2 or Z.shape[1] != self.X.shape[1]:
            raise InvalidInput("x", f"has shape {Z.shape}", f"an (m, {self.X.shape[1]}) array")
        K = len(self.classes)
        out = np.zeros((Z.shape[0], K))
        n, d = self.X.shape
        step = max(1, 4_000_000 // n) if self.norm == 2 else max(1, 2_000_000 // max(1, n * d))
        for s in range(0, Z.shape[0], step):
            Zb = Z[s:s + step]
            inside, dist = within(Zb, self.X, self.eps, self.norm, with_dist=True)
            F = np.zeros((Zb.shape[0], K))
            qi = np.where(inside, self.q[None, :], -np.inf)
            for k in range(K):
                cols = self.label_index == k
                if cols.any():
                    F[:, k] = np.maximum(qi[:, cols].max(1), 0.0)
            F /= np.maximum(1.0, F.sum(1, keepdims=True))
            rest = 1.0 - F.sum(1)
            F[np.arange(Zb.shape[0]), self.label_index[dist.argmin(1)]] += rest
            out[s:s + step] = F
        return out

    def predict(self, Z) -> np.ndarray:
        """The most probable class label of each row."""
        return np.asarray(self.classes)[self(Z).argmax(1)]
