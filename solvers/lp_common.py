"""Shared pieces of the group-LP back ends: input checks, the growing group set, results.

Every back end solves the same LP (P) of robustdsl.ir.group_lp,

    max_w g.w   s.t.  A^T w <= p  (one row per sample),  [c.w <= delta],  w >= 0,

where A is the (m x n) group/sample incidence, and reports the row duals r >= 0 of
(D) min p.r [+ delta t] s.t. A r + c t >= g, r, t >= 0, with q = clip(1 - r, 0, 1).
"""
from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from robustdsl.errors import InvalidInput, SolverFailed
from robustdsl.ir.group_lp import GroupSet, LPData, LPResult


def check_weights(weights) -> np.ndarray:
    """A read-only float64 copy of the sample weights p (1-D, finite, >= 0)."""
    p = np.array(weights, dtype=np.float64, copy=True)
    if p.ndim != 1:
        raise InvalidInput("weights", f"has shape {p.shape}", "a 1-D array of sample weights")
    if not np.all(np.isfinite(p)):
        raise InvalidInput("weights", "contains NaN or inf", "finite weights >= 0")
    if np.any(p < 0):
        raise InvalidInput("weights", f"has a negative entry (min {p.min()!r})", "weights >= 0")
    p.setflags(write=False)
    return p


def check_budget(budget) -> float | None:
    """None (penalised form) or a finite delta >= 0 (constrained form)."""
    if budget is None:
        return None
    if isinstance(budget, bool) or not np.isscalar(budget) or not np.isfinite(budget) or budget < 0:
        raise InvalidInput("budget", f"got {budget!r}", "None or a finite number >= 0")
    return float(budget)


def check_time_limit(time_limit) -> float | None:
    if time_limit is None:
        return None
    if isinstance(time_limit, bool) or not np.isscalar(time_limit) or not time_limit >= 0:
        raise InvalidInput("time_limit", f"got {time_limit!r}", "None or seconds >= 0")
    return float(time_limit)


class GroupLPBase:
    """Holds p, delta and the groups added so far; subclasses implement `_solve`."""

    backend = "base"

    def __init__(self, weights, budget=None):
        self.weights = check_weights(weights)
        self.budget = check_budget(budget)
        self._parts: list[GroupSet] = []
        self._groups: GroupSet | None = GroupSet.empty()

    def add_groups(self, groups: GroupSet) -> None:
        """Append groups (columns of (P)); members must be sample indices < n."""
        if not isinstance(groups, GroupSet):
            raise InvalidInput("groups", f"expected a GroupSet, got {type(groups).__name__}")
        if groups.indices.size and (groups.indices.min() < 0 or groups.indices.max() >= self.n):
            raise InvalidInput("groups", f"member index out of range 0..{self.n - 1}")
        if not np.all(np.isfinite(groups.cost)):
            raise InvalidInput("groups", "a barycenter cost is NaN or inf", "finite costs")
        self._parts.append(groups)
        self._groups = None

    @property
    def n(self) -> int:
        return int(self.weights.size)

    @property
    def groups(self) -> GroupSet:
        if self._groups is None:
            self._groups = GroupSet.concat(self._parts)
            self._parts = [self._groups]
        return self._groups

    @property
    def data(self) -> LPData:
        return LPData(self.weights, self.groups, self.budget)

    def solve(self, time_limit: float | None = None) -> LPResult:
        time_limit = check_time_limit(time_limit)
        data = self.data
        if data.groups.n_groups == 0:
            return empty_result(data, self.backend)
        t0 = time.perf_counter()
        value, w, r, t, status, iters = self._solve(data, time_limit)
        return make_result(data, value, w, r, t, status, self.backend,
                           time.perf_counter() - t0, iters)

    def _solve(self, data: LPData, time_limit: float | None):  # pragma: no cover - abstract
        raise NotImplementedError


def lp_matrices(data: LPData) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """(A^T as n x m CSR, gains g, costs c) of (P)."""
    At = data.groups.incidence(data.n).T.tocsr()
    return At, np.asarray(data.gains, dtype=np.float64), np.asarray(data.groups.cost)


def empty_result(data: LPData, backend: str) -> LPResult:
    """No groups: (P) has no variables, value 0, r = 0, q = 1."""
    n = data.n
    return LPResult(0.0, np.zeros(0), np.zeros(n), np.ones(n),
                    0.0 if data.budget is not None else None, "optimal (no groups)", backend, 0.0)


def make_result(data: LPData, value, w, r, t, status, backend, seconds, iters=0) -> LPResult:
    """Clean tiny sign noise (|x| < 1e-12 of the wrong sign) and build the LPResult."""
    w = np.maximum(np.asarray(w, dtype=np.float64), 0.0)
    r = np.asarray(r, dtype=np.float64)
    if np.any(r < -1e-7):
        raise SolverFailed(f"{backend}: a row dual is negative ({r.min():.3g}); dual sign convention broken",
                           status=status, backend=backend)
    r = np.maximum(r, 0.0)
    q = np.clip(1.0 - r, 0.0, 1.0)
    bd = None if data.budget is None else max(float(t), 0.0)
    return LPResult(float(value), w, r, q, bd, status, backend, float(seconds), int(iters))


def fail(backend: str, status: str, detail: str = "") -> SolverFailed:
    msg = f"{backend} did not solve the group LP: status {status!r}"
    return SolverFailed(msg + (f" ({detail})" if detail else ""), status=status, backend=backend)
