"""Injected solver faults and wrong answers: SolverFailed / CertificateFailed, never a number.

Each LP back end is made to report infeasible, unbounded or numerical trouble (monkeypatched at
the library boundary: highspy, cvxpy, pyomo), or to return NaN; a wrong value or a wrong dual
injected after the solve is caught by the independent certificate.
"""
from __future__ import annotations

import dataclasses
import types

import cvxpy as cp
import highspy
import numpy as np
import pytest

import robustdsl as rd
from robustdsl.errors import CertificateFailed, SolverFailed
from robustdsl.solvers import cutting_plane, flow, ot_route

X0 = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [3.0, 3.0], [3.5, 3.0]])
Y0 = np.array([0, 1, 2, 0, 1])
AT0 = 0.4 + 0.2   # triple at the origin merges 1/5 each (2 * 0.2) + the far pair (0.2)


def problem(eps=1.0, norm=2):
    mu = rd.EmpiricalMeasure.from_arrays(X0, Y0)
    f = rd.Agnostic(classes=mu.classes)
    mt = rd.Adversary(mu)
    return rd.inf(f, rd.sup(mt, rd.E(mt, rd.ZeroOne(f)) - rd.OT(mu, mt, rd.Ball(eps, norm))))


def test_reference_value_by_hand():
    sol = problem().solve()
    assert sol.value == pytest.approx(AT0, abs=1e-12) and sol.exact


@pytest.mark.parametrize("status,word", [
    (highspy.HighsModelStatus.kInfeasible, "Infeasible"),
    (highspy.HighsModelStatus.kUnbounded, "Unbounded"),
    (highspy.HighsModelStatus.kUnboundedOrInfeasible, "infeasible"),
    (highspy.HighsModelStatus.kSolveError, "error"),
    (highspy.HighsModelStatus.kIterationLimit, "Iteration limit"),
])
def test_highs_status_is_reported(monkeypatch, status, word):
    monkeypatch.setattr(highspy.Highs, "getModelStatus", lambda self: status)
    with pytest.raises(SolverFailed) as err:
        problem().solve("highs")
    assert err.value.backend == "highs" and word.lower() in err.value.status.lower()
    assert not isinstance(err.value, CertificateFailed)


@pytest.mark.parametrize("status", ["infeasible", "unbounded", "optimal_inaccurate", "infeasible_inaccurate"])
def test_cvxpy_status_is_reported(monkeypatch, status):
    monkeypatch.setattr(cp.Problem, "status", property(lambda self: status))
    with pytest.raises(SolverFailed) as err:
        problem().solve("cvxpy")
    assert err.value.backend == "cvxpy" and status in err.value.status


def test_cvxpy_solver_error_is_reported(monkeypatch):
    def boom(self, *a, **k):
        raise cp.error.SolverError("numerical trouble in the interior point method")
    monkeypatch.setattr(cp.Problem, "solve", boom)
    with pytest.raises(SolverFailed, match="numerical trouble") as err:
        problem().solve("cvxpy")
    assert err.value.status == "solver_error"


@pytest.mark.parametrize("tc,ss", [("provenInfeasible", "noSolution"), ("unbounded", "noSolution"),
                                   ("minStepLength", "feasible"), ("error", "noSolution"),
                                   ("iterationLimit", "feasible")])
def test_pyomo_status_is_reported(monkeypatch, tc, ss):
    from pyomo.contrib.solver.common.results import SolutionStatus, TerminationCondition
    from pyomo.contrib.solver.solvers.highs import Highs

    def fake(self, model, **kw):
        return types.SimpleNamespace(termination_condition=getattr(TerminationCondition, tc),
                                     solution_status=getattr(SolutionStatus, ss))
    monkeypatch.setattr(Highs, "solve", fake)
    with pytest.raises(SolverFailed) as err:
        problem().solve("pyomo")
    assert err.value.backend == "pyomo" and tc in err.value.status


@pytest.mark.parametrize("attr", ["row_dual", "col_value"])
def test_highs_nan_output_is_refused(monkeypatch, attr):
    orig = highspy.Highs.getSolution

    def nan_solution(self):
        s = orig(self)
        setattr(s, attr, [float("nan")] * len(getattr(s, attr)))
        return s
    monkeypatch.setattr(highspy.Highs, "getSolution", nan_solution)
    with pytest.raises(SolverFailed) as err:
        problem().solve("highs", certify=False)      # refused even when the certificate is off
    assert err.value.status == "non-finite result"


def test_highs_nan_objective_is_refused(monkeypatch):
    orig = highspy.Highs.getInfo

    def nan_info(self):
        i = orig(self)
        i.objective_function_value = float("nan")
        return i
    monkeypatch.setattr(highspy.Highs, "getInfo", nan_info)
    with pytest.raises(SolverFailed, match="value"):
        problem().solve("highs")


# ------------------------------------------------------------------ wrong answers
def _wrong_value(res, delta=1e-3):
    return dataclasses.replace(res, value=res.value + delta, lower=res.lower + delta, upper=res.upper + delta)


def _wrong_q(res):
    q = res.q.copy()
    q[np.argmax(q)] *= 0.5
    return dataclasses.replace(res, q=q)


@pytest.mark.parametrize("inject", [_wrong_value, _wrong_q, lambda r: _wrong_value(r, -1e-6)],
                         ids=["value+1e-3", "q-halved", "value-1e-6"])
@pytest.mark.parametrize("module,backend", [(cutting_plane, "highs"), (cutting_plane, "cvxpy"),
                                            (flow, "flow"), (ot_route, "pot")])
def test_wrong_answer_fails_certificate(monkeypatch, inject, module, backend):
    orig = module.solve
    monkeypatch.setattr(module, "solve", lambda *a, **k: inject(orig(*a, **k)))
    # K = 2 for the pair routes
    mu = rd.EmpiricalMeasure.from_arrays(X0, Y0 % 2)
    f = rd.Agnostic(classes=mu.classes)
    mt = rd.Adversary(mu)
    p = rd.inf(f, rd.sup(mt, rd.E(mt, rd.ZeroOne(f)) - rd.OT(mu, mt, rd.Ball(1.0, 2))))
    with pytest.raises(CertificateFailed) as err:
        p.solve(backend)
    assert err.value.status == "certificate" and "certificate failed" in str(err.value)
    # the caller may ask for the unchecked number explicitly
    assert p.solve(backend, certify=False).status in ("optimal", "lower_bound")


def test_certificate_is_run_on_every_exact_solve(monkeypatch):
    from robustdsl.solvers import group_certificate
    calls = []
    orig = group_certificate.certify
    monkeypatch.setattr(group_certificate, "certify", lambda *a, **k: calls.append(1) or orig(*a, **k))
    for backend in ("highs", "cvxpy", "pyomo"):
        sol = problem().solve(backend)
        assert sol.value == pytest.approx(AT0, abs=1e-9) and "certificate_gap" in sol.info
    assert len(calls) == 3
    problem().solve("highs", certify=False)
    assert len(calls) == 3


def test_crossing_interval_bounds_fail_the_certificate(monkeypatch):
    orig = cutting_plane.solve

    def crossed(*a, **k):
        res = orig(*a, **k)
        return dataclasses.replace(res, status="interval", lower=res.value, upper=res.value - 0.1)
    monkeypatch.setattr(cutting_plane, "solve", crossed)
    with pytest.raises(CertificateFailed, match="interval bounds cross"):
        problem().solve("highs")
    assert problem().solve("highs", certify=False).status == "interval"


def test_running_out_of_memory_inside_a_solver_is_a_resource_limit(monkeypatch):
    from robustdsl.errors import ResourceLimit
    from robustdsl.solvers import pair_flow
    from robustdsl.solvers.sweep import solve_curve

    def oom(*args, **kwargs):
        raise MemoryError("Unable to allocate 2.01 GiB for an array")

    monkeypatch.setattr(pair_flow, "maximum_flow", oom)
    with pytest.raises(ResourceLimit, match=r"ran out of memory while solving \(.*2\.01 GiB") as err:
        problem().solve()
    assert "max_memory" in err.value.accepted and err.value.__cause__ is None
    with pytest.raises(ResourceLimit, match=r"solve_curve.*2\.01 GiB"):
        solve_curve(X0, Y0, [1.0])
    monkeypatch.undo()
    assert problem().solve().value == pytest.approx(AT0, abs=1e-12)    # nothing left behind
