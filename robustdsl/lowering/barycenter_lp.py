"""Rule: agnostic + zero_one + label-preserving general cost  ->  BarycenterLP.

Source: inf_f sup_{mu~} E_{mu~}[1 - f_y] - OT_c(mu, mu~)   (penalised), or
        inf_f sup_{mu~ : OT_c(mu, mu~) <= delta} E_{mu~}[1 - f_y]   (constrained, DRO ball),
        with c a Power, Ball + Power, a detected sympy ExprCost, or (constrained only) a Ball
        (the penalised ball cost is the group-LP rule's), mu empirical.
Target: BarycenterLP (MATH.md section 2 with finite B(S) and the optional budget row).
Back ends: highs | cvxpy | pyomo (LP back ends through solvers.lp_backends; 'scipy' is
scipy.optimize.linprog), and 'sinkhorn' (entropic multimarginal route: certified interval).
Options: max_group_size (L < K: AT_L, status 'lower_bound'), max_rounds, progress, lp_backend,
certify (re-check independently inside solve; CertificateFailed if it fails; default True,
sol.certificate() runs it on demand); Sinkhorn: eta, tol, max_iter, max_entries.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import guards
from ..analysis import ProblemForm
from ..costs import Ball, Cost, Power, SumCost
from ..errors import CertificateFailed, InvalidInput, UnsupportedProblem
from ..ir.barycenter_program import BarycenterLP, TransportCost
from ..solution import Certificate, Solution
from . import register
from .base import LoweringRule

EXACT_TOL = 1e-8
OPTIONS = ("backend", "max_group_size", "max_rounds", "progress", "lp_backend", "certify",  # LP route
           "eta", "tol", "max_iter", "max_entries")                                         # Sinkhorn route


def _options(options: dict) -> dict:
    """Refuse unknown options and check the known ones where they are written."""
    from .. import _check
    bad = sorted(set(options) - set(OPTIONS))
    if bad:
        raise InvalidInput("options", f"unknown option(s) {bad}", ", ".join(OPTIONS))
    out = dict(options)
    if out.get("max_group_size") is not None:
        out["max_group_size"] = _check.integer("max_group_size", out["max_group_size"], minimum=2)
    for key in ("max_rounds", "max_iter", "max_entries"):
        if key in out:
            out[key] = _check.integer(key, out[key], minimum=1)
    for key in ("eta", "tol"):
        if key in out:
            out[key] = _check.real(key, out[key], positive=True)
    for key in ("progress", "certify"):
        if key in out and not isinstance(out[key], bool):
            raise InvalidInput(key, f"expected True or False, got {out[key]!r}")
    if "lp_backend" in out:
        _check.choice("lp_backend", out["lp_backend"], ("highs", "cvxpy", "pyomo", "scipy"))
    return out


def transport_cost(cost: Cost) -> TransportCost:
    """The IR cost of a front-end cost: at most one ball and one power part (equal powers merge)."""
    detect = getattr(cost, "detect", None)
    if callable(detect):
        cost = detect()
    terms = cost.terms if isinstance(cost, SumCost) else (cost,)
    balls = [t for t in terms if isinstance(t, Ball)]
    powers = [t for t in terms if isinstance(t, Power)]
    other = [t for t in terms if not isinstance(t, (Ball, Power))]
    if other:
        raise UnsupportedProblem(f"cost term {other[0]!r} is not a ball or a power cost")
    if len({b.norm for b in balls}) > 1:
        raise UnsupportedProblem("balls in different norms cannot be combined into one barycenter program")
    if len({(p.p, p.norm) for p in powers}) > 1:
        raise UnsupportedProblem("power costs with different exponents or norms are not supported in one sum")
    eps = min(b.eps for b in balls) if balls else None
    bnorm = balls[0].norm if balls else 2.0
    if powers:
        for p in powers:                 # before 1 / tau can overflow; the sum's tau checked again
            guards.check_tau(p.tau)
        tau = 1.0 / sum(1.0 / p.tau for p in powers)
        guards.check_tau(tau)
        return TransportCost(powers[0].p, tau, powers[0].norm, eps, bnorm)
    return TransportCost(None, 1.0, bnorm, eps, bnorm)


class BarycenterLPRule(LoweringRule):
    name = "barycenter_lp"
    source = ("agnostic + zero_one + label-preserving power | ball+power | expression cost "
              "(penalised or OT_c <= delta; ball only constrained) + empirical measure")
    target = "BarycenterLP"
    backends = ("highs", "cvxpy", "pyomo", "scipy", "sinkhorn")
    default_backend = "highs"

    def _cost(self, form: ProblemForm) -> Cost | None:
        if (form.cost is None) == (form.budget_cost is None):
            return None
        return form.cost if form.cost is not None else form.budget_cost

    def accepts(self, form: ProblemForm) -> bool:
        if (form.learner, form.loss, form.measure) != ("agnostic", "zero_one", "empirical"):
            return False
        if not form.label_preserving or form.pointwise or form.targets != "labels":
            return False
        cost = self._cost(form)
        if cost is None:
            return False
        try:
            tc = transport_cost(cost)
        except UnsupportedProblem:
            return False
        return tc.has_power or form.constrained

    def apply(self, problem: Any, form: ProblemForm, options: dict) -> tuple[BarycenterLP, dict]:
        mu = form.mu
        classes = tuple(form.learner_obj.classes)  # type: ignore[union-attr]
        options = _options(options)
        cls = np.asarray(classes)
        order = np.argsort(cls)
        labels = order[np.searchsorted(cls[order], mu.y)]
        L = options.get("max_group_size")
        tc = transport_cost(self._cost(form))  # type: ignore[arg-type]
        guards.check_mass(mu.weights)            # every back end (LP and Sinkhorn) is built on this
        guards.check_scale(mu.X, tc.eps if tc.eps is not None else 0.0)   # (tau: in transport_cost)
        if tc.has_power:
            guards.check_cost_range(mu.X, tc.p, tc.tau, tc.norm)
        prog = BarycenterLP(mu.X, labels, mu.weights, len(classes), tc, form.delta, L)
        return prog, {"mu": mu, "classes": classes, "cost": tc}

    def solve(self, program: BarycenterLP, backend: str, options: dict) -> Any:
        options = _options(options)
        if backend == "sinkhorn":
            from ..solvers.mot_sinkhorn import solve_sinkhorn
            kw = {k: options[k] for k in ("eta", "tol", "max_iter", "max_entries") if k in options}
            return program, solve_sinkhorn(program, **kw)
        from ..solvers.barycenter_lp import solve_barycenter_lp
        backend_lp = options.get("lp_backend", backend)
        res = solve_barycenter_lp(program, backend_lp, max_rounds=int(options.get("max_rounds", 200)),
                                  progress=bool(options.get("progress", False)))
        if options.get("certify", True):
            from ..solvers.barycenter_saddle import certify
            cert = certify(program, res, tol=EXACT_TOL)
            if not cert["ok"] and program.group_limit == program.n_classes:
                raise CertificateFailed(f"the independent certificate failed: {cert}", status="certificate",
                                        backend=backend_lp)
        return program, res

    def export(self, program: BarycenterLP, path, fmt: str, options: dict) -> None:
        """Solve by cutting planes, then write the final working-set LP (P) (.lp / .mps, readable
        names): by the exhaustive separation its optimum is the exact value (AT_L if truncated)."""
        from ..ir.group_lp import LPData
        from ..solvers.barycenter_lp import solve_barycenter_lp
        from ..solvers.lp_export import write_lp
        opts = _options(options)
        res = solve_barycenter_lp(program, opts.get("lp_backend", "highs"),
                                  max_rounds=int(opts.get("max_rounds", 200)))
        write_lp(LPData(program.weights, res.groups, program.budget), path, fmt)

    def invert(self, raw: Any, inverse_data: dict) -> Solution:
        prog, res = raw
        if getattr(res, "kind", "") == "sinkhorn":
            return _sinkhorn_solution(prog, res, inverse_data)
        from ..saddle import build_attack
        from ..solvers.barycenter_saddle import PriceClassifier, certify, is_interval
        classes = inverse_data["classes"]
        truncated = prog.group_limit < prog.n_classes
        attack = _attack(prog, res, classes, build_attack)
        clf = PriceClassifier(prog.X, prog.labels, res.q, res.t, prog.cost, prog.n_classes)
        lower, upper = res.lower, res.upper
        if truncated:
            status = "lower_bound"
            upper = float(prog.weights.sum() * (1.0 - 1.0 / prog.n_classes))
        else:
            status = "interval" if is_interval(lower, upper, float(prog.weights.sum()), EXACT_TOL) else "optimal"

        def _certify() -> Certificate:
            c = certify(prog, res, tol=EXACT_TOL)
            msg = ("attack side: best response of any classifier at the merged support minus the plan's "
                   f"cost; classifier side: {c['checks']['classifier_side']}")
            if truncated:
                msg += f"; groups truncated at size {prog.group_limit}: certifies AT_L only"
            return Certificate(c["ok"], c["lower"], c["upper"], c["gap"], c["checks"], msg)

        info = {"groups": res.groups.counts_by_size(), "rounds": res.rounds, "budget_dual": res.t,
                "max_violation": res.max_violation, "separation": res.separation,
                "cost": prog.cost.family, "constrained": prog.constrained, "lp_backend": res.backend,
                "value_is": "the primal value of a real attack (lower end of the certified interval)"}
        return Solution(value=lower, lower=lower, upper=upper, status=status, backend=res.backend,
                        rule=self.name, timings=dict(res.timings), attack=attack, classifier=clf, q=res.q,
                        info=info, certify=_certify)


def _attack(prog: BarycenterLP, res: Any, classes: tuple, build_attack) -> Any:
    """robustdsl.saddle.Attack: w_S of each member of S at the barycenter x'_S, the rest unmoved."""
    gs, w = res.groups, np.maximum(res.w, 0.0)
    rows, ws, cs = [], [], []
    for k in np.unique(gs.sizes):
        sel = np.flatnonzero((gs.sizes == k) & (w > 0))
        if sel.size:
            rows.append(gs.indices[gs.indptr[sel][:, None] + np.arange(k)])
            ws.append(w[sel])
            cs.append(res.points[sel])
    return build_attack(prog.X, prog.labels, prog.weights, classes, rows, ws, cs)


def _sinkhorn_solution(prog: BarycenterLP, res: Any, inverse_data: dict) -> Solution:
    from ..solvers.barycenter_saddle import PriceClassifier
    clf = PriceClassifier(prog.X, prog.labels, res.q, 1.0, prog.cost, prog.n_classes)

    def _certify() -> Certificate:
        return Certificate(True, res.lower, res.upper, res.upper - res.lower,
                           {"lower_from": res.lower_from, "upper_from": res.upper_from, "eta": res.eta,
                            "iterations": res.iterations, "marginal_error": res.marginal_error},
                           "both ends are certified bounds on AT (see mot_sinkhorn)")

    info = {"eta": res.eta, "iterations": res.iterations, "marginal_error": res.marginal_error,
            "bound_direction": "lower <= AT <= upper; value = lower (from the rounded plan)",
            "entropic_value": res.entropic_value}
    status = "optimal" if res.upper - res.lower <= EXACT_TOL * float(prog.weights.sum()) else "interval"
    return Solution(value=res.lower, lower=res.lower, upper=res.upper, status=status, backend="sinkhorn",
                    rule="barycenter_lp", timings=dict(res.timings), attack=None, classifier=clf, q=res.q,
                    info=info, certify=_certify)


RULE = register(BarycenterLPRule())

__all__ = ["BarycenterLPRule", "RULE", "transport_cost"]
