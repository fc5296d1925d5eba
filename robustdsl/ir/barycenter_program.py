"""IR of the barycenter group LP (MATH.md section 2, general label-preserving costs).

The transport cost is the IR-level `TransportCost`

    c(x, x') = ||x - x'||_norm^p / tau   +   (0 if ||x - x'||_ball_norm <= eps else +inf)

(either part may be absent).  Ball boundaries: with a power part the ball is the closed ball of
radius eps exactly (B(S) moves continuously with it: a relative slack r would shift B by up to
O(sqrt(r)) where two l2 balls touch); a pure ball cost only admits or refuses, and decides its
boundary cases like the ball rule (solvers.ball_groups.RTOL): inside iff the distance is
<= eps (1 + BALL_RTOL), one tolerance for the pair graph, B(S), the attack and the classifier.
Groups S (distinct labels) have the barycenter cost
B(S) = min_x' sum_{v in S} c(x_v, x'), and

    (P)  max_w  sum_S w_S g_S   s.t.  sum_{S contains v} w_S <= p_v,  [sum_S w_S B(S) <= delta],  w >= 0

with g_S = |S| - 1 - B(S) (penalised) or |S| - 1 (constrained: the budget row is present).
Its dual is  min sum_v p_v (1 - q_v) [+ delta t]  s.t.  sum_{v in S} q_v <= 1 + t B(S)
(t = 1 in the penalised form), 0 <= q <= 1.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .base import Program

BALL_RTOL = 1e-9   # = solvers.ball_groups.RTOL (the ball rule's boundary tolerance; checked by a test)


def _dual_norm(norm: float) -> float:
    return 2.0 if norm == 2 else (math.inf if norm == 1 else 1.0)


def norm_rows(Z: np.ndarray, norm: float) -> np.ndarray:
    """||z||_norm along the last axis."""
    A = np.abs(Z)
    if norm == 2:
        return np.sqrt((A * A).sum(-1))
    return A.max(-1) if math.isinf(norm) else A.sum(-1)


@dataclass(frozen=True)
class TransportCost:
    """c(x, x') = ||x - x'||_norm^p / tau  [+ indicator(||x - x'||_ball_norm <= eps)].

    p is None when there is no power part, eps is None when there is no ball part.
    """

    p: float | None = 2.0
    tau: float = 1.0
    norm: float = 2.0
    eps: float | None = None
    ball_norm: float = 2.0

    def __post_init__(self) -> None:
        if self.p is None and self.eps is None:
            raise ValueError("TransportCost needs a power part, a ball part or both")
        if self.p is not None and (self.p < 1 or not self.tau > 0):
            raise ValueError("TransportCost: p >= 1 and tau > 0 are required")
        if self.eps is not None and not self.eps >= 0:
            raise ValueError("TransportCost: eps >= 0 is required")

    @property
    def has_power(self) -> bool:
        return self.p is not None

    @property
    def has_ball(self) -> bool:
        return self.eps is not None

    @property
    def ball_limit(self) -> float:
        """The largest distance counted inside the ball: eps with a power part, else the ball
        rule's eps (1 + BALL_RTOL) (+1e-300 so that eps = 0 admits coincident points)."""
        if self.eps is None:
            return math.inf
        return float(self.eps) if self.has_power else float(self.eps) * (1.0 + BALL_RTOL) + 1e-300

    @property
    def family(self) -> str:
        parts = (["ball"] if self.has_ball else []) + (["power"] if self.has_power else [])
        return "+".join(parts)

    def phi(self, s: np.ndarray) -> np.ndarray:
        """The power part as a function of the distance: s^p / tau (0 without power part)."""
        s = np.asarray(s, dtype=np.float64)
        return s ** self.p / self.tau if self.has_power else np.zeros_like(s)

    def __call__(self, A: np.ndarray, B: np.ndarray) -> np.ndarray:
        """c(A, B) along the last axis (broadcasting); +inf outside the ball."""
        Z = np.asarray(A, dtype=np.float64) - np.asarray(B, dtype=np.float64)
        out = self.phi(norm_rows(Z, self.norm)) if self.has_power else np.zeros(Z.shape[:-1])
        if self.has_ball:
            out = np.where(norm_rows(Z, self.ball_norm) <= self.ball_limit, out, np.inf)
        return out

    def pair_cost(self, d_power: np.ndarray, d_ball: np.ndarray | None = None) -> np.ndarray:
        """B({u, v}) from the distances: 2^(1-p) d^p / tau (the midpoint), +inf if d_ball > 2 ball_limit.

        Exact for every norm: ||a - x|| + ||b - x|| >= d and s -> s^p is convex.
        """
        d = np.asarray(d_power, dtype=np.float64)
        out = 2.0 ** (1.0 - self.p) * d ** self.p / self.tau if self.has_power else np.zeros_like(d)
        if self.has_ball:
            db = d if d_ball is None else np.asarray(d_ball, dtype=np.float64)
            out = np.where(db <= 2.0 * self.ball_limit, out, np.inf)
        return out

    def pair_radius(self, bound: float) -> tuple[float, float]:
        """(threshold, norm) such that B({u, v}) < bound implies dist(x_u, x_v) <= threshold.

        power: 2^(1-p) d^p / tau < bound  <=>  d < (bound tau 2^(p-1))^(1/p);
        ball: d_ball <= 2 ball_limit.  With both parts, the smaller radius in its own norm.
        """
        cands = []
        if self.has_power and math.isfinite(bound):
            cands.append(((max(bound, 0.0) * self.tau * 2.0 ** (self.p - 1.0)) ** (1.0 / self.p), self.norm))
        if self.has_ball:
            cands.append((2.0 * self.ball_limit, self.ball_norm))
        if not cands:
            return math.inf, self.norm
        return min(cands, key=lambda c: c[0])

    @property
    def dual_norm(self) -> float:
        return _dual_norm(self.norm)


@dataclass(frozen=True, eq=False)
class BarycenterLP(Program):
    """The barycenter group LP over an empirical measure (groups are generated by the back end).

    X (n, d) points, labels (n,) in 0..K-1, weights (n,) p_v > 0; `cost` the transport cost;
    `budget` = delta of the constrained form (None: penalised).  `max_group_size` L < K gives
    the truncated lower bound AT_L.
    """

    X: np.ndarray
    labels: np.ndarray
    weights: np.ndarray
    n_classes: int
    cost: TransportCost
    budget: float | None = None
    max_group_size: int | None = None
    names: tuple[str, ...] = field(default=())
    kind = "BarycenterLP"

    def __post_init__(self) -> None:
        for name, dt in (("X", np.float64), ("labels", np.int64), ("weights", np.float64)):
            a = np.array(getattr(self, name), dtype=dt, copy=True)
            a.setflags(write=False)
            object.__setattr__(self, name, a)
        if self.X.ndim != 2 or self.labels.shape != (self.X.shape[0],) or self.weights.shape != self.labels.shape:
            raise ValueError("BarycenterLP: X (n, d), labels (n,), weights (n,) are required")

    @property
    def n(self) -> int:
        return int(self.X.shape[0])

    @property
    def group_limit(self) -> int:
        L = self.n_classes if self.max_group_size is None else min(self.max_group_size, self.n_classes)
        return int(L)

    @property
    def constrained(self) -> bool:
        return self.budget is not None

    def summary(self) -> dict:
        return {"kind": self.kind, "n": self.n, "d": int(self.X.shape[1]), "K": self.n_classes,
                "cost": self.cost.family, "p": self.cost.p, "tau": self.cost.tau, "norm": self.cost.norm,
                "eps": self.cost.eps, "budget": self.budget, "max_group_size": self.max_group_size}
