"""Lowering rule: agnostic + zero-one + label-preserving ball cost + empirical measure -> GroupLP.

Source: inf_f sup_mu~ E_mu~[1 - f_y(x)] - OT_{c_eps}(mu, mu~)  (or E_mu[sup_{B_eps(x)} loss]),
        f over all soft classifiers of K classes, c_eps the l1 / l2 / l_inf ball cost.
Target: GroupLP (MATH.md section 2), solved exactly by cutting planes (highs, cvxpy, pyomo),
        or by the pair routes 'flow' (K = 2 or max_group_size=2) and 'pot' (K = 2).

Options: max_group_size (None = exact; L < K gives AT_L, status 'lower_bound'), time_limit
(seconds; an unfinished solve returns status 'interval' with certified bounds), progress,
certify (default True: re-check with the independent certificate, CertificateFailed if it fails),
init_triples (start the working set from all admissible triples), max_pairs / max_bytes (limits of
the conflict-pair search, ResourceLimit beyond them), executor (a concurrent.futures.Executor for
the distance blocks and the components; None, the default: local processes for the components
where they pay, solvers.local_pool; 'serial'), device ('cpu' or 'cuda' for the screening),
lp_route ('split' default:
pair columns priced by the LP duals on the half-valued parts of the flow only; 'colgen': on the
whole component; 'full': every pair at once; 'local': region LP around the violations, see
solvers.cutting_plane.solve), max_memory (bytes for the data, one distance block and the
conflict pairs, solvers.pair_budget: when the pairs do not fit, the result is the certified
interval of solvers.truncated with status 'interval' and info['reason']). Ctrl-C during the cutting-plane
loop raises TimeLimitReached carrying the certified interval found so far (and the interval Solution).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .. import _check, guards
from ..analysis import ProblemForm
from ..costs import Ball
from ..errors import BackendUnavailable, CertificateFailed, InvalidInput, TimeLimitReached
from ..ir import GroupLP
from ..saddle import Classifier
from ..solution import Solution
from . import register
from .base import LoweringRule

OPTIONS = ("backend", "max_group_size", "time_limit", "progress", "certify", "init_triples",
           "max_pairs", "max_bytes", "max_memory", "executor", "device", "lp_route")


@dataclass(frozen=True)
class _Inverse:
    classes: tuple[int, ...]
    certify: bool


def _make_solver(backend: str, time_limit: float | None = None):
    """A factory weights -> GroupLPSolver: robustdsl.solvers.lp_backends if present, else HiGHS."""
    try:
        from ..solvers.lp_backends import make_lp_solver
    except ImportError:
        make_lp_solver = None
    if make_lp_solver is not None:
        return lambda p: make_lp_solver(backend, p)
    if backend != "highs":
        raise BackendUnavailable(f"back end {backend!r} needs robustdsl.solvers.lp_backends, "
                                 "which is not installed; use backend='highs'")
    from ..solvers.lp_highs import HighsGroupLP
    return lambda p: HighsGroupLP(p, time_limit=time_limit)


def _options(options: dict) -> dict:
    bad = sorted(set(options) - set(OPTIONS))
    if bad:
        raise InvalidInput("options", f"unknown option(s) {bad}", ", ".join(OPTIONS))
    out = dict(options)
    L = out.get("max_group_size")
    if L is not None:
        out["max_group_size"] = _check.integer("max_group_size", L, minimum=2)
    tl = out.get("time_limit")
    if tl is not None:
        out["time_limit"] = _check.real("time_limit", tl, positive=True)
    for key in ("max_pairs", "max_bytes", "max_memory"):
        if out.get(key) is not None:
            out[key] = _check.integer(key, out[key], minimum=1)
    _check.executor("executor", out.get("executor"))
    dev = out.get("device", "cpu")
    if not isinstance(dev, str) or not (dev == "cpu" or dev.startswith("cuda")):
        raise InvalidInput("device", f"got {dev!r}", "'cpu' or 'cuda[:N]'")
    route = out.get("lp_route", "split")
    from ..solvers.cutting_plane import ROUTES
    if route not in ROUTES:
        raise InvalidInput("lp_route", f"got {route!r}", "'colgen', 'split', 'local' or 'full'")
    out["lp_route"] = route
    for key in ("progress", "certify", "init_triples"):
        if key in out and not isinstance(out[key], bool):
            raise InvalidInput(key, f"expected True or False, got {out[key]!r}")
    return out


class GroupLPBallRule(LoweringRule):
    name = "group_lp_ball"
    source = "agnostic + zero_one + ball(l1|l2|linf), label-preserving, penalised, empirical measure"
    target = "GroupLP"
    backends = ("highs", "cvxpy", "pyomo", "flow", "pot")
    default_backend = "highs"

    def accepts(self, form: ProblemForm) -> bool:
        return (form.learner == "agnostic" and form.loss == "zero_one" and form.cost_family == "ball"
                and form.label_preserving and not form.constrained and form.targets == "labels"
                and form.measure == "empirical" and isinstance(form.cost, Ball))

    def apply(self, problem: Any, form: ProblemForm, options: dict) -> tuple[GroupLP, _Inverse]:
        opts = _options(options)
        mu, ball = form.mu, form.cost
        guards.check_group_lp(mu, float(ball.eps))
        classes = tuple(form.learner_obj.classes)
        lookup = {c: i for i, c in enumerate(classes)}
        labels = np.array([lookup[int(v)] for v in mu.y], dtype=np.int64)
        program = GroupLP(mu.X, labels, mu.weights, float(ball.eps), float(ball.norm), len(classes),
                          opts.get("max_group_size"))
        self._check_route(program, opts.get("backend", self.default_backend))
        return program, _Inverse(classes, bool(opts.get("certify", True)))

    def _check_route(self, program: GroupLP, backend: str) -> None:
        if backend in ("flow", "pot"):
            from ..solvers.flow import check_domain
            check_domain(program, backend, need_two_classes=backend == "pot")

    def solve(self, program: GroupLP, backend: str, options: dict) -> Any:
        opts = _options(options)
        self.check_backend(backend)
        self._check_route(program, backend)
        if backend == "flow":
            from ..solvers import flow
            raw = flow.solve(program)
        elif backend == "pot":
            from ..solvers import ot_route
            raw = ot_route.solve(program)
        else:
            from ..solvers import cutting_plane
            graph = None
            if opts.get("max_memory") is not None:
                graph = _bounded_graph(program, opts)
                if isinstance(graph, _Budget):           # the pairs did not fit: certified interval
                    return program, graph, False
            # highs: the solver's own choice (None), so its row-form pool route can run
            raw = cutting_plane.solve(program, None if backend == "highs" else
                                      _make_solver(backend, opts.get("time_limit")), graph=graph,
                                      backend=backend, time_limit=opts.get("time_limit"),
                                      progress=bool(opts.get("progress", False)),
                                      init_triples=bool(opts.get("init_triples", False)),
                                      limits={k: opts[k] for k in ("max_pairs", "max_bytes")
                                              if opts.get(k) is not None},
                                      executor=opts.get("executor"), device=opts.get("device", "cpu"),
                                      lp_route=opts["lp_route"])
        return program, raw, bool(opts.get("certify", True))

    def export(self, program: GroupLP, path, fmt: str, options: dict) -> None:
        """Write the explicit LP (P) over every admissible group (rows = samples, columns = groups)."""
        from ..ir import LPData
        from ..solvers.cutting_plane import all_admissible_groups
        from ..solvers.lp_export import write_lp
        write_lp(LPData(program.weights, all_admissible_groups(program)), path, fmt)

    def invert(self, raw: Any, inverse_data: _Inverse) -> Solution:
        program, res, certify = raw
        if isinstance(res, _Budget):
            from ..solvers.truncated import interval_solution
            return interval_solution(program, res.bounded, 0.0, res.max_memory, inverse_data.classes)
        sol = solution_from(program, res, inverse_data.classes, certify)
        if res.info.get("interrupted"):
            raise TimeLimitReached(f"interrupted: AT lies in [{sol.lower!r}, {sol.upper!r}]",
                                   lower=sol.lower, upper=sol.upper, solution=sol, interrupted=True)
        return sol


@dataclass(frozen=True)
class _Budget:
    """The pairs under a memory budget did not fit: bounds from the kept ones (solvers.truncated)."""
    bounded: Any          # solvers.pair_budget.BoundedPairs
    max_memory: int


def _bounded_graph(program: GroupLP, opts: dict):
    """The conflict graph under opts['max_memory'] (solvers.pair_budget), or, when its pairs do not
    fit, a _Budget holding the kept pairs (invert turns it into the interval Solution)."""
    from ..solvers.cliques import ConflictGraph
    from ..solvers.pair_budget import bounded_pairs, budget_pairs
    from ..solvers.ball_groups import pair_threshold
    from ..solvers.pairs import DEFAULT_MAX_BYTES, restrict_pairs

    mb = opts.get("max_bytes") or DEFAULT_MAX_BYTES
    kept = budget_pairs(opts["max_memory"], program.n, program.X.shape[1], max_bytes=mb)
    bp = bounded_pairs(program.X, program.labels, [pair_threshold(program.eps)], program.norm, kept, max_bytes=mb,
                       executor=opts.get("executor"), device=opts.get("device", "cpu"),
                       progress=bool(opts.get("progress", False)))
    if bp.truncated:
        return _Budget(bp, opts["max_memory"])
    I, J, _ = restrict_pairs(program.X, bp.I, bp.J, bp.D, pair_threshold(program.eps), program.norm)
    return ConflictGraph(program.n, I, J, program.labels, None)


def solution_from(program: GroupLP, res, classes: tuple[int, ...], certify: bool) -> Solution:
    """Saddle objects, bounds and the certificate of a raw group-LP result."""
    from ..group_intervals import group_attack, interval_answer
    from ..solvers.group_certificate import certify as run_certificate
    t0 = time.perf_counter()
    X, lab, p = program.X, program.labels, program.weights
    pos = res.w > 0
    rows, ws = [], []
    sizes = res.groups.sizes
    for k in np.unique(sizes[pos]):
        sel = np.flatnonzero(pos & (sizes == k))
        rows.append(res.groups.indices[res.groups.indptr[sel][:, None] + np.arange(k)])
        ws.append(res.w[sel])
    attack = group_attack(program, classes, rows, ws)
    timings = dict(res.timings)
    timings["saddle"] = time.perf_counter() - t0
    mass = float(p.sum())
    if res.status == "interval":  # lower: min with the attack's best-response risk (found without the LP)
        lower, upper = min(res.lower, attack.best_response_risk()), res.upper
        if certify and not lower <= upper + 1e-9:
            raise CertificateFailed(f"interval bounds cross: lower {lower!r} > upper {upper!r}",
                                    status="certificate", backend=res.backend)
        complete = res.info.get("graph_complete", True)
        return interval_answer(program, classes, res.q, attack, lower, upper, value=res.value,
                               backend=res.backend, timings=timings, info=dict(res.info),
                               pairs=(res.graph.I, res.graph.J) if complete else None)
    classifier = Classifier(X, lab, res.q, program.eps, program.norm, classes)

    def check(progress: bool = False):
        # a truncation (L < K) certifies AT_L: f* is optimal only against groups of size <= L
        return run_certificate(X, lab, p, program.eps, program.norm, res.max_size, res.q, res.value,
                               attack, classifier if res.status != "lower_bound" else None,
                               pairs=(res.graph.I, res.graph.J), progress=progress)

    if res.status == "optimal":
        lower = upper = res.value
    else:  # lower_bound
        lower, upper = res.value, mass * (1.0 - 1.0 / program.n_classes)
    sol = Solution(value=res.value, lower=lower, upper=upper, status=res.status, backend=res.backend,
                   rule=GroupLPBallRule.name, timings=timings, attack=attack, classifier=classifier,
                   q=res.q.copy(), info=dict(res.info), certify=check)
    if certify:
        t1 = time.perf_counter()
        cert = check()
        timings["certificate"] = time.perf_counter() - t1
        if not cert.ok:
            raise CertificateFailed(cert.message, status="certificate", backend=res.backend)
        sol = replace(sol, timings=timings, info=dict(res.info, certificate_gap=cert.gap))
    return sol


register(GroupLPBallRule())
