"""Group LP (P) through CVXPY, assembled in bulk from the sparse incidence matrix.

    max g.w  s.t.  A^T w <= p  [dual r >= 0],  c.w <= delta  [dual t >= 0],  w >= 0

One vector constraint for all sample rows (no per-group Python constraint). The LP
solver is HiGHS through CVXPY when installed, else Clarabel.
"""
from __future__ import annotations

import warnings

import numpy as np

from robustdsl.errors import BackendUnavailable

from .lp_common import GroupLPBase, fail, lp_matrices

_PREFERENCE = ("HIGHS", "CLARABEL")


def default_cvxpy_solver() -> str:
    """The first LP-capable solver of _PREFERENCE installed in CVXPY."""
    import cvxpy as cp

    installed = set(cp.installed_solvers())
    for name in _PREFERENCE:
        if name in installed:
            return name
    raise BackendUnavailable(f"CVXPY has no LP solver among {_PREFERENCE}; installed: {sorted(installed)}")


class CvxpyGroupLP(GroupLPBase):
    """GroupLPSolver through CVXPY (the problem is rebuilt when groups were added)."""

    backend = "cvxpy"

    def __init__(self, weights, budget=None, time_limit: float | None = None, solver: str | None = None,
                 solver_opts: dict | None = None):
        """solver: CVXPY's solver name; solver_opts: passed to it
        (HiGHS: {'highs_options': {'solver': 'ipm'}})."""
        super().__init__(weights, budget)
        self.solver_opts = dict(solver_opts or {})
        self.time_limit = time_limit
        self.solver = solver or default_cvxpy_solver()

    def _solve(self, data, time_limit):
        import cvxpy as cp

        At, g, c = lp_matrices(data)
        w = cp.Variable(At.shape[1], nonneg=True)
        rows = At @ w <= data.weights
        cons = [rows]
        if data.budget is not None:
            cons.append(c @ w <= data.budget)
        prob = cp.Problem(cp.Maximize(g @ w), cons)
        limit = time_limit if time_limit is not None else self.time_limit
        opts = dict(self.solver_opts)
        if limit is not None:
            opts["time_limit"] = float(limit)
        try:
            with warnings.catch_warnings():  # an inaccurate result is reported as SolverFailed
                warnings.simplefilter("ignore", UserWarning)
                prob.solve(solver=self.solver, **opts)
        except cp.error.SolverError as exc:
            raise fail(self.backend, "solver_error", f"{self.solver}: {exc}") from None
        if prob.status != cp.OPTIMAL or rows.dual_value is None:
            raise fail(self.backend, str(prob.status), self.solver)
        t = float(np.asarray(cons[1].dual_value)) if data.budget is not None else None
        stats = prob.solver_stats
        return (prob.value, w.value, np.asarray(rows.dual_value), t,
                f"{prob.status} ({self.solver})", stats.num_iters or 0)
