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

from . import _check
from .solvers.ball_groups import RTOL
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
        """||x~_i - x_source(i)|| per atom (X: the original (n, d) points, norm 1, 2 or inf)."""
        norm = _check.norm("norm", norm)
        X = _check.points("X", X, self.points.shape[1])
        if self.source.size and int(self.source.max()) >= X.shape[0]:
            raise InvalidInput("X", f"has {X.shape[0]} rows but the attack moves sample {int(self.source.max())}",
                               "the measure's own points")
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
    source = np.concatenate(src).astype(np.int64)
    masses = np.concatenate([rest] + mas)
    group = np.concatenate([np.full(n, -1)] + grp).astype(np.int64)
    keep = masses > 0
    points = np.empty((int(keep.sum()), d), dtype=np.result_type(*pts))   # the kept atoms, one copy
    pos = start = 0
    for P in pts:
        kp = keep[start:start + P.shape[0]]
        m = int(kp.sum())
        points[pos:pos + m] = P if m == kp.size else P[kp]
        pos, start = pos + m, start + P.shape[0]
    li = labels[source[keep]]
    cl = np.asarray(classes)
    return Attack(points, cl[li], li, masses[keep], source[keep], group[keep], tuple(classes))


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
        Z = _check.points("x", Z, self.X.shape[1])
        K = len(self.classes)
        if self.norm == 2:
            return self._l2(Z, K)
        if math.isinf(self.norm):                         # exact sparse l_inf ball pairs
            from .solvers.linf_pairs import ball_classifier
            return ball_classifier(self.X, self.label_index, self.q, self.eps * (1 + RTOL) + 1e-300, Z, K)
        out = np.zeros((Z.shape[0], K))
        n, d = self.X.shape
        step = max(1, 4_000_000 // n) if self.norm == 2 else max(1, 2_000_000 // max(1, n * d))
        for s in range(0, Z.shape[0], step):
            Zb = Z[s:s + step]
            inside, dist = within(Zb, self.X, self.eps, self.norm, with_dist=True)
            F = np.zeros((Zb.shape[0], K))
            ii, jj = np.nonzero(inside)                   # sparse: few balls hold a point
            np.maximum.at(F, (ii, self.label_index[jj]), self.q[jj])
            F /= np.maximum(1.0, F.sum(1, keepdims=True))
            rest = 1.0 - F.sum(1)
            F[np.arange(Zb.shape[0]), self.label_index[dist.argmin(1)]] += rest
            out[s:s + step] = F
        return out

    def _l2(self, Z: np.ndarray, K: int) -> np.ndarray:
        """l2 balls: one float32 GEMM per block decides ||z - x||^2 <= eps^2 wherever it is clear by
        more than a rigorous rounding margin; the pairs inside that margin are decided by float64
        coordinate differences; the nearest sample (for the remaining mass) is the float32 argmin."""
        from .solvers.pairs import exact_dist, margin_factor
        n, d = self.X.shape
        cache = self.__dict__.get("_x32")
        if cache is None:
            cache = (self.X.astype(np.float32), (0.5 * (self.X * self.X).sum(1)).astype(np.float32),
                     float((self.X * self.X).sum(1).max(initial=0.0)))
            object.__setattr__(self, "_x32", cache)
        X32, half_x2, max_x2 = cache
        r_hi = self.eps * (1 + RTOL) + 1e-300
        k = margin_factor(2.0, d)
        out = np.zeros((Z.shape[0], K))
        step = max(1, min(4096, (1 << 26) // max(1, n)))     # 256 MiB float32 block
        for s in range(0, Z.shape[0], step):
            Zb = Z[s:s + step]
            z2 = (Zb * Zb).sum(1)
            G = Zb.astype(np.float32) @ X32.T
            G -= half_x2[None, :]                           # = -(||z - x||^2 - ||z||^2) / 2
            # ||z - x||^2 <= r^2  <=>  G >= (z2 - r^2) / 2; margin k (z2 + max x2 + r^2) covers rounding
            base = 0.5 * (z2 - r_hi * r_hi)
            slack = k * (z2 + max_x2 + r_hi * r_hi) + 1e-30
            ii, jj = np.nonzero(G >= (base - slack).astype(np.float32)[:, None])
            near = G.argmax(1)
            unsure = np.flatnonzero(G[ii, jj] < (base + slack).astype(np.float32)[ii])
            ok = np.ones(ii.size, bool)                     # above the margin: inside for sure
            ok[unsure] = exact_dist(Zb[ii[unsure]], self.X[jj[unsure]], 2.0) <= r_hi
            ii, jj = ii[ok], jj[ok]
            F = np.zeros((Zb.shape[0], K))
            np.maximum.at(F, (ii, self.label_index[jj]), self.q[jj])
            F /= np.maximum(1.0, F.sum(1, keepdims=True))
            F[np.arange(Zb.shape[0]), self.label_index[near]] += 1.0 - F.sum(1)
            out[s:s + step] = F
        return out

    def on_support(self) -> "Classifier":
        """The same f* from the samples with q > 0 only (the others add nothing to any f_k); the rest
        mass goes to the nearest of those instead of the nearest sample (MATH.md: any class may take
        it). The certificate evaluates this one: fewer samples to measure against."""
        keep = np.flatnonzero(self.q > 0)
        if keep.size in (0, self.q.size):
            return self
        return Classifier(self.X[keep], self.label_index[keep], self.q[keep], self.eps, self.norm, self.classes)

    def predict(self, Z) -> np.ndarray:
        """The most probable class label of each row."""
        return np.asarray(self.classes)[self(Z).argmax(1)]
