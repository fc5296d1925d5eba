"""Group LP (P) through Pyomo, built in bulk from the CSR structure, solved by HiGHS (highspy).

    max g.w  s.t.  A^T w <= p  [dual r >= 0],  c.w <= delta  [dual t >= 0],  w >= 0

The rows are one indexed Constraint whose rule reads the CSR structure of A^T and
returns a LinearExpression (coefficients and variables as lists, no expression
arithmetic); the solver is pyomo.contrib.solver's HiGHS interface (highspy, no
external binary). Rows of samples in no group are trivial (0 <= p_v) and left out.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .lp_common import GroupLPBase, fail, lp_matrices


class PyomoGroupLP(GroupLPBase):
    """GroupLPSolver through Pyomo + highspy (model rebuilt when groups were added)."""

    backend = "pyomo"

    def __init__(self, weights, budget=None, time_limit: float | None = None,
                 highs_options: dict | None = None):
        """highs_options: HiGHS options, e.g. {'solver': 'ipm'} (default: HiGHS' own choice)."""
        super().__init__(weights, budget)
        self.time_limit = time_limit
        self.highs_options = dict(highs_options or {})

    @staticmethod
    def build(data):
        """The Pyomo model of (P): var w[j] per group, Constraint `rows[i]` per row with entries."""
        import pyomo.environ as pyo
        from pyomo.core.expr.numeric_expr import LinearExpression

        At, g, c = lp_matrices(data)
        m = At.shape[1]
        upper = np.asarray(data.weights, dtype=np.float64)
        if data.budget is not None:
            At = sp.vstack([At, sp.csr_matrix(c[None, :])], format="csr")
            upper = np.append(upper, data.budget)
        model = pyo.ConcreteModel(name="robustdsl_group_lp")
        model.w = pyo.Var(range(m), domain=pyo.NonNegativeReals)
        x = [model.w[j] for j in range(m)]
        model.obj = pyo.Objective(expr=LinearExpression(constant=0.0, linear_coefs=g.tolist(),
                                                        linear_vars=x), sense=pyo.maximize)
        ptr, idx, val = At.indptr, At.indices, At.data
        live = np.flatnonzero(np.diff(ptr) > 0).tolist()

        def row(mdl, i):
            sl = slice(ptr[i], ptr[i + 1])
            expr = LinearExpression(constant=0.0, linear_coefs=val[sl].tolist(),
                                    linear_vars=[x[j] for j in idx[sl]])
            return expr <= float(upper[i])

        model.rows = pyo.Constraint(live, rule=row)
        return model, x

    def _solve(self, data, time_limit):
        from pyomo.contrib.solver.common.results import SolutionStatus, TerminationCondition
        from pyomo.contrib.solver.solvers.highs import Highs

        model, x = self.build(data)
        opt = Highs()
        limit = time_limit if time_limit is not None else self.time_limit
        res = opt.solve(model, load_solutions=False, raise_exception_on_nonoptimal_result=False,
                        time_limit=limit, solver_options=self.highs_options)
        tc = res.termination_condition
        if tc != TerminationCondition.convergenceCriteriaSatisfied or \
                res.solution_status != SolutionStatus.optimal:
            raise fail(self.backend, f"{tc.name}/{res.solution_status.name}", "pyomo highs")
        prim = res.solution_loader.get_vars(x)
        duals = res.solution_loader.get_duals()
        y = np.zeros(data.n + (data.budget is not None))
        for i, con in model.rows.items():
            y[i] = duals[con]
        w = np.array([prim[v] for v in x])
        t = y[data.n] if data.budget is not None else None
        return (res.incumbent_objective, w, y[:data.n], t, tc.name, 0)
