"""IR of the group linear program (MATH.md section 2).

    (P)  max_w  sum_S w_S g_S   s.t.  sum_{S contains v} w_S <= p_v,  [sum_S w_S B(S) <= delta],  w >= 0
    (D)  min_r  sum_v p_v r_v [+ delta t]  s.t.  sum_{v in S} r_v + B(S) t >= g_S,  r, t >= 0

with g_S = |S| - 1 - B(S) (penalised) or |S| - 1 (constrained, budget row present),
and q_v = 1 - r_v (the probability that the optimal classifier labels v correctly).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import scipy.sparse as sp

from .base import Program


def _ro(a: np.ndarray, dtype) -> np.ndarray:
    out = np.ascontiguousarray(a, dtype=dtype)
    if out is a:
        out = out.copy()
    out.setflags(write=False)
    return out


@dataclass(frozen=True, eq=False)
class GroupSet:
    """Groups S as CSR rows of sorted sample indices, with barycenter costs B(S)."""

    indptr: np.ndarray    # (m + 1,) int64
    indices: np.ndarray   # (nnz,) int64, sorted within each group
    cost: np.ndarray      # (m,) float64, B(S) (0 for ball costs)

    def __post_init__(self) -> None:
        object.__setattr__(self, "indptr", _ro(self.indptr, np.int64))
        object.__setattr__(self, "indices", _ro(self.indices, np.int64))
        object.__setattr__(self, "cost", _ro(self.cost, np.float64))
        if self.cost.shape != (self.indptr.size - 1,):
            raise ValueError("GroupSet: cost must have one entry per group")

    @classmethod
    def from_rows(cls, rows: np.ndarray, cost: np.ndarray | None = None) -> "GroupSet":
        """Groups of one size k from an (m, k) array of sample indices (sorted per row here)."""
        rows = np.sort(np.asarray(rows, dtype=np.int64), axis=1)
        m, k = rows.shape
        c = np.zeros(m) if cost is None else np.asarray(cost, dtype=np.float64)
        return cls(np.arange(m + 1, dtype=np.int64) * k, rows.ravel(), c)

    @classmethod
    def empty(cls) -> "GroupSet":
        return cls(np.zeros(1, np.int64), np.zeros(0, np.int64), np.zeros(0))

    @classmethod
    def concat(cls, parts: "list[GroupSet]") -> "GroupSet":
        parts = [p for p in parts if p.n_groups]
        if not parts:
            return cls.empty()
        offs = np.cumsum([0] + [p.indices.size for p in parts[:-1]])
        indptr = np.concatenate([[0]] + [p.indptr[1:] + o for p, o in zip(parts, offs)])
        return cls(indptr, np.concatenate([p.indices for p in parts]),
                   np.concatenate([p.cost for p in parts]))

    def take(self, ids: np.ndarray) -> "GroupSet":
        """The groups `ids` (indices into this set, in that order)."""
        ids = np.asarray(ids, dtype=np.int64)
        sizes = self.sizes[ids]
        starts = np.repeat(self.indptr[ids] - np.concatenate([[0], np.cumsum(sizes)[:-1]]), sizes)
        return GroupSet(np.concatenate([[0], np.cumsum(sizes)]),
                        self.indices[starts + np.arange(int(sizes.sum()))], self.cost[ids])

    @property
    def n_groups(self) -> int:
        return int(self.indptr.size - 1)

    @property
    def sizes(self) -> np.ndarray:
        return np.diff(self.indptr)

    def incidence(self, n: int) -> sp.csr_matrix:
        """(m x n) 0/1 matrix: row S has ones at its members."""
        data = np.ones(self.indices.size)
        return sp.csr_matrix((data, self.indices, self.indptr), shape=(self.n_groups, n))

    def group(self, i: int) -> np.ndarray:
        return self.indices[self.indptr[i]:self.indptr[i + 1]]

    def counts_by_size(self) -> dict[int, int]:
        s, c = np.unique(self.sizes, return_counts=True)
        return {int(a): int(b) for a, b in zip(s, c)}


@dataclass(frozen=True, eq=False)
class LPData(Program):
    """The explicit LP (P) over a finite group set (what LP back ends and LP/MPS export consume)."""

    weights: np.ndarray        # (n,) p_v > 0
    groups: GroupSet
    budget: float | None = None  # delta of the constrained form (adds the row sum w_S B(S) <= delta)
    kind = "LPData"

    @property
    def gains(self) -> np.ndarray:
        g = self.groups.sizes - 1.0
        return g if self.budget is not None else g - self.groups.cost

    @property
    def n(self) -> int:
        return int(self.weights.size)

    def summary(self) -> dict:
        return {"kind": self.kind, "n": self.n, "groups": self.groups.counts_by_size(),
                "budget": self.budget}


@dataclass(frozen=True, eq=False)
class LPResult:
    """Optimal w (primal), r (row duals >= 0), q = clip(1 - r, 0, 1), budget dual t."""

    value: float
    w: np.ndarray
    r: np.ndarray
    q: np.ndarray
    budget_dual: float | None
    status: str          # the back end's own status word for an optimal solve
    backend: str
    seconds: float
    iterations: int = 0


class GroupLPSolver(Protocol):
    """An LP back end that can grow the group set (column generation) and re-solve warm."""

    backend: str

    def add_groups(self, groups: GroupSet) -> None: ...

    def solve(self, time_limit: float | None = None) -> LPResult: ...
