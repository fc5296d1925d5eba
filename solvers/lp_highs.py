"""The group LP (P) through highspy, growing by columns and re-solving warm.

    (P)  max sum_S g_S w_S  s.t.  sum_{S contains v} w_S <= p_v  (rows = samples),
         [sum_S B(S) w_S <= delta],  w >= 0

Row duals of (P) are the r_v >= 0 of (D); q = clip(1 - r, 0, 1).
"""
from __future__ import annotations

from ._highs import new_highs

import time
from dataclasses import dataclass

import highspy
import numpy as np

from robustdsl.errors import InvalidInput, SolverFailed
from robustdsl.ir import GroupSet, LPResult

_TOL = 1e-10


def _weights(weights: np.ndarray) -> np.ndarray:
    """The sample masses p as float64; InvalidInput unless 1-D, finite and positive."""
    p = np.asarray(weights, dtype=np.float64)
    if p.ndim != 1 or not np.all(np.isfinite(p)) or not np.all(p > 0):
        raise InvalidInput("weights", "must be a 1-D array of finite positive numbers")
    return p


# HiGHS' dual cost perturbation, x10 for the column form: the degenerate group LP of the largest
# full-MNIST component (uniform weights, integer gains) needed fewer pivots (curve LP 177 -> 151 s,
# n = 40,000 component 14.0 -> 11.8 s; x0.1 slower, x30 / x100 alike; benchmarks/SCALE.md).
COST_PERTURBATION = 10.0


def _maximiser() -> highspy.Highs:
    """A silent HiGHS model with tight feasibility tolerances, maximising."""
    h = new_highs()
    h.setOptionValue("output_flag", False)
    for opt in ("primal_feasibility_tolerance", "dual_feasibility_tolerance"):
        h.setOptionValue(opt, _TOL)
    h.changeObjectiveSense(highspy.ObjSense.kMaximize)
    return h


def _check_members(groups: GroupSet, n: int) -> None:
    if groups.indices.size and (groups.indices.min() < 0 or groups.indices.max() >= n):
        raise InvalidInput("groups", f"member indices must lie in 0..{n - 1}")


def _run(h: highspy.Highs, time_limit: float | None, what: str, method: str = "simplex",
         crossover: bool = True, imprecise_ok: bool = False) -> tuple[str, float]:
    """Run warm; HiGHS compares time_limit with its run time accumulated over all runs of the
    object, hence the offset. (status word, seconds); SolverFailed unless Optimal.
    method 'simplex' (dual, warm from the last basis) or 'ipm' (IPX; with crossover a basic
    optimal solution, as exact as the simplex's, without it an interior approximation).
    imprecise_ok: also accept IPX's 'Unknown' end (it stopped short of its tolerance) when it left
    a primal solution and a feasible dual one (status word 'Imprecise')."""
    if method not in ("simplex", "ipm"):
        raise InvalidInput("method", f"got {method!r}", "'simplex' or 'ipm'")
    h.setOptionValue("time_limit", h.getRunTime() + float(time_limit) if time_limit is not None
                     else highspy.kHighsInf)
    h.setOptionValue("solver", "ipm" if method == "ipm" else "choose")    # 'choose': HiGHS' default
    h.setOptionValue("run_crossover", "on" if crossover else "off")
    t0 = time.perf_counter()
    h.run()
    secs = time.perf_counter() - t0
    status = h.getModelStatus()
    word = h.modelStatusToString(status)
    if imprecise_ok and status == highspy.HighsModelStatus.kUnknown and h.getSolution().value_valid \
            and h.getInfo().dual_solution_status == 2:          # 2: kSolutionStatusFeasible
        return "Imprecise", secs
    if status != highspy.HighsModelStatus.kOptimal:
        raise SolverFailed(f"HiGHS did not solve the {what}: {word}", status=word, backend="highs")
    return word, secs


@dataclass(frozen=True)
class Interior:
    """An interior-point solution of (P): objective, column values w, duals q (not certified)."""

    value: float
    w: np.ndarray
    q: np.ndarray
    seconds: float
    iterations: int


class HighsGroupLP:
    """GroupLPSolver on HiGHS (dual simplex, warm restarts after add_groups).

    The default dual simplex is kept: primal simplex was 5x faster on one MNIST pair LP (W2) but
    50x slower on another (W1, eps 4)."""

    backend = "highs"

    def __init__(self, weights: np.ndarray, budget: float | None = None,
                 time_limit: float | None = None):
        p = _weights(weights)
        if budget is not None and not (np.isfinite(budget) and budget >= 0):
            raise InvalidInput("budget", f"must be finite and >= 0, got {budget}")
        self.n = p.size
        self.budget = budget
        self.time_limit = time_limit
        self.groups: list[GroupSet] = []
        self.n_cols = 0
        h = _maximiser()
        h.setOptionValue("dual_simplex_cost_perturbation_multiplier", COST_PERTURBATION)
        m = self.n + (budget is not None)
        upper = np.concatenate([p, [budget]]) if budget is not None else p.copy()
        h.addRows(m, np.full(m, -highspy.kHighsInf), upper, 0, np.zeros(m, np.int32),
                  np.zeros(0, np.int32), np.zeros(0))
        self._h = h

    def add_groups(self, groups: GroupSet) -> None:
        """Append one column per group: ones on its members' rows (+ B(S) on the budget row)."""
        m = groups.n_groups
        if m == 0:
            return
        _check_members(groups, self.n)
        sizes = groups.sizes.astype(np.float64)
        if self.budget is not None:
            gain = sizes - 1.0
            k = groups.sizes + 1
            indptr = np.concatenate([[0], np.cumsum(k)])
            idx = np.empty(indptr[-1], np.int64)
            val = np.ones(indptr[-1])
            last = indptr[1:] - 1
            body = np.ones(indptr[-1], bool)
            body[last] = False
            idx[body] = groups.indices
            idx[last] = self.n
            val[last] = groups.cost
        else:
            gain = sizes - 1.0 - groups.cost
            indptr, idx, val = groups.indptr, groups.indices, np.ones(groups.indices.size)
        self._h.addCols(m, gain, np.zeros(m), np.full(m, highspy.kHighsInf), int(indptr[-1]),
                        np.asarray(indptr[:-1], np.int32), np.asarray(idx, np.int32),
                        np.asarray(val, np.float64))
        self.groups.append(groups)
        self.n_cols += m

    def set_basis(self, col_basic: np.ndarray, row_basic: np.ndarray) -> None:
        """Start the next solve from this basis: columns basic where col_basic (the others at 0),
        sample rows' slacks basic where row_basic (the others at their bound p_v); the budget
        row, if any, basic. SolverFailed if HiGHS rejects it (wrong count or singular)."""
        col_basic = np.asarray(col_basic, bool)
        row_basic = np.asarray(row_basic, bool)
        if col_basic.size != self.n_cols or row_basic.size != self.n:
            raise InvalidInput("basis", f"needs {self.n_cols} column and {self.n} row flags")
        st = highspy.HighsBasisStatus
        basis = highspy.HighsBasis()
        basis.col_status = [st.kBasic if b else st.kLower for b in col_basic.tolist()]
        basis.row_status = [st.kBasic if b else st.kUpper for b in row_basic.tolist()] + \
            ([st.kBasic] if self.budget is not None else [])
        basis.valid = True
        if self._h.setBasis(basis) != highspy.HighsStatus.kOk:
            raise SolverFailed("HiGHS rejected the starting basis", status="bad basis", backend="highs")

    def solve(self, time_limit: float | None = None, method: str = "simplex") -> LPResult:
        """Solve (the dual simplex warm from the last basis, or method='ipm': interior point and
        crossover, for a start without a usable basis); SolverFailed unless HiGHS reports Optimal."""
        h = self._h
        if self.n_cols == 0:  # no group: nothing can be merged, AT = 0, r = 0 (q = 1)
            return LPResult(value=0.0, w=np.zeros(0), r=np.zeros(self.n), q=np.ones(self.n),
                            budget_dual=0.0 if self.budget is not None else None,
                            status="Optimal", backend="highs", seconds=0.0)
        word, secs = _run(h, time_limit if time_limit is not None else self.time_limit, "group LP", method)
        sol = h.getSolution()
        info = h.getInfo()
        duals = np.maximum(np.asarray(sol.row_dual, dtype=np.float64), 0.0)
        r = duals[:self.n].copy()
        w = np.maximum(np.asarray(sol.col_value, dtype=np.float64), 0.0)
        return LPResult(value=float(info.objective_function_value), w=w, r=r,
                        q=np.clip(1.0 - r, 0.0, 1.0),
                        budget_dual=float(duals[self.n]) if self.budget is not None else None,
                        status=word, backend="highs", seconds=secs,
                        iterations=int(info.simplex_iteration_count))

    def solve_interior(self, time_limit: float | None = None, tolerance: float = 1e-8) -> Interior:
        """An interior-point solution (IPX without crossover, optimality tolerance `tolerance`):
        the objective, the column values w and q = clip(1 - r, 0, 1) from the row duals r. Not a
        basic solution, and feasible only to the tolerance (see interior_rounds.polished), or less
        where IPX stopped short of it with a feasible dual ('Imprecise': measured once on a
        129,735-column LP of all-MNIST eps 3, primal infeasibility 7e-6); it leaves no basis, so a
        following simplex solve should use method='ipm'."""
        if self.n_cols == 0:
            return Interior(0.0, np.zeros(0), np.ones(self.n), 0.0, 0)
        self._h.setOptionValue("ipm_optimality_tolerance", float(tolerance))
        _, secs = _run(self._h, time_limit if time_limit is not None else self.time_limit,
                       "group LP (interior point)", "ipm", crossover=False, imprecise_ok=True)
        info = self._h.getInfo()
        sol = self._h.getSolution()
        r = np.maximum(np.asarray(sol.row_dual, dtype=np.float64)[:self.n], 0.0)
        return Interior(float(info.objective_function_value), np.asarray(sol.col_value, dtype=np.float64),
                        np.clip(1.0 - r, 0.0, 1.0), secs, int(info.ipm_iteration_count))

    def all_groups(self) -> GroupSet:
        """Every column added so far, in column order."""
        return GroupSet.concat(self.groups)


class HighsCutLP:
    """(D) through highspy with the groups as ROWS, grown by cutting planes and re-solved warm by
    the dual simplex (new rows keep the basis dual feasible):

        max sum_v p_v q_v  s.t.  sum_{v in S} q_v <= 1 + B(S)  (S in the working set),  0 <= q <= 1

    value = sum_v p_v - optimum (= AT of the working set). The row duals y >= 0 solve the LP dual
    min sum_S (1 + B(S)) y_S + sum_v z_v s.t. sum_{S contains v} y_S + z_v >= p_v, which is (P) up to
    over-coverage at vertices with q_v = 0 (see repair_overflow). The working set need not be
    downward closed: q >= 0 is a bound here."""

    backend = "highs"

    def __init__(self, weights: np.ndarray, time_limit: float | None = None):
        p = _weights(weights)
        self.n = p.size
        self.p = p
        self.time_limit = time_limit
        self.groups: list[GroupSet] = []
        self.n_rows = 0
        h = _maximiser()
        h.addCols(self.n, p, np.zeros(self.n), np.ones(self.n), 0, np.zeros(self.n, np.int32),
                  np.zeros(0, np.int32), np.zeros(0))
        self._h = h

    def add_groups(self, groups: GroupSet) -> None:
        """Append one row per group: ones on its members' columns, upper bound 1 + B(S)."""
        m = groups.n_groups
        if m == 0:
            return
        _check_members(groups, self.n)
        self._h.addRows(m, np.full(m, -highspy.kHighsInf), 1.0 + groups.cost, int(groups.indptr[-1]),
                        np.asarray(groups.indptr[:-1], np.int32), np.asarray(groups.indices, np.int32),
                        np.ones(groups.indices.size))
        self.groups.append(groups)
        self.n_rows += m

    def drop_rows(self, rows: np.ndarray) -> None:
        """Delete the rows at these positions (the others keep their order). Rows whose slack is
        basic leave the basis valid: a row non-binding at the last optimum with y_S = 0 can go
        without changing that optimum, and the next solve starts warm from it."""
        rows = np.unique(np.asarray(rows, dtype=np.int64))
        if rows.size == 0:
            return
        if rows[0] < 0 or rows[-1] >= self.n_rows:
            raise InvalidInput("rows", f"row positions must lie in 0..{self.n_rows - 1}")
        self._h.deleteRows(int(rows.size), rows.astype(np.int32))
        keep = np.ones(self.n_rows, bool)
        keep[rows] = False
        self.groups = [GroupSet.concat(self.groups).take(np.flatnonzero(keep))]
        self.n_rows -= int(rows.size)

    def solve(self, time_limit: float | None = None) -> LPResult:
        """Solve (warm from the last basis); SolverFailed unless HiGHS reports Optimal.
        w = the row duals y (one per group, in row order), q = the column values."""
        h = self._h
        if self.n_rows == 0:
            return LPResult(value=0.0, w=np.zeros(0), r=np.zeros(self.n), q=np.ones(self.n),
                            budget_dual=None, status="Optimal", backend="highs", seconds=0.0)
        word, secs = _run(h, time_limit if time_limit is not None else self.time_limit,
                          "cutting-plane LP")
        sol = h.getSolution()
        info = h.getInfo()
        q = np.clip(np.asarray(sol.col_value, dtype=np.float64), 0.0, 1.0)
        y = np.maximum(np.asarray(sol.row_dual, dtype=np.float64), 0.0)
        return LPResult(value=float(self.p.sum() - info.objective_function_value), w=y, r=1.0 - q, q=q,
                        budget_dual=None, status=word, backend="highs", seconds=secs,
                        iterations=int(info.simplex_iteration_count))

    def all_groups(self) -> GroupSet:
        """Every row added so far, in row order."""
        return GroupSet.concat(self.groups)
