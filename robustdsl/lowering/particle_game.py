"""Rule `particle_game`.

Source: MeanField(activation, width, a_max, b_max) learner + Squared loss + SquaredZ(c_a) cost
(penalised, moves x and y) + empirical measure with real targets.
Target: ParticleGame (robustdsl.ir), solved by the torch Wasserstein-Fisher-Rao particle system
(back end "wfr"; option method = "wfr" | "gda" | "wrm"). The solution's value is the worst-case risk
sup_pi U(pi, nu_bar) of the time-averaged learner; [lower, upper] come from the Nash gap estimate
(certified only when both halves are: identity activation with c_a > |beta|^2 + 1).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import _check
from ..errors import InvalidInput, ResourceLimit
from ..ir import ParticleGame
from ..solution import Certificate, Solution
from . import register
from .base import LoweringRule

_CONFIG_KEYS = ("method", "m", "eta", "kappa", "eta_adv", "kappa_adv", "inner_steps", "init_radius",
                "snapshots", "dtype", "device", "seed", "max_bytes")
_RUN_KEYS = ("steps", "history_every", "history_gap", "tail", "progress")
_GAP_KEYS = ("gap_starts", "gap_random_starts", "gap_iters", "n_theta", "fw_candidates", "gap_rounds", "gap_tol")


@dataclass(frozen=True, eq=False)
class ParticleSolution(Solution):
    """A Solution that also carries the averaged and last measures and the history.

    attack = pi_bar (AdversaryMeasure), classifier = nu_bar (LearnerMeasure, callable on X);
    learner_last / adversary_last the last iterates; history a tuple of dicts.
    """

    learner_last: Any = None
    adversary_last: Any = None
    history: tuple = ()
    gap: Any = None

    @property
    def learner_avg(self) -> Any:
        return self.classifier

    @property
    def adversary_avg(self) -> Any:
        return self.attack


# (option, smallest value) of the integer run and gap options
_INT_MIN = (("steps", 0), ("history_every", 0), ("gap_starts", 0), ("gap_random_starts", 0), ("gap_iters", 0),
            ("n_theta", 1), ("fw_candidates", 0), ("gap_rounds", 1))
_QP_REFINE = 8   # columns nash_gap's learner half adds per round (learner_half's `refine`)


def _options(options: dict):
    """Check every option of the rule before any work (unknown keys, types, ranges); returns
    (WFRConfig, the run and gap options normalised). The config keys are checked by WFRConfig."""
    from ..solvers.wfr import WFRConfig
    unknown = sorted(set(options) - set(_CONFIG_KEYS + _RUN_KEYS + _GAP_KEYS + ("backend",)))
    if unknown:
        raise InvalidInput("options", f"unknown option(s) {unknown} for rule {ParticleGameRule.name!r}",
                           ", ".join(_CONFIG_KEYS + _RUN_KEYS + _GAP_KEYS))
    config = WFRConfig(**{k: options[k] for k in _CONFIG_KEYS if k in options})
    opts = {k: options[k] for k in _RUN_KEYS + _GAP_KEYS if k in options}
    for key, lo in _INT_MIN:
        if key in opts:
            opts[key] = _check.integer(key, opts[key], minimum=lo)
    if "tail" in opts:
        opts["tail"] = _check.real("tail", opts["tail"], nonneg=True)
        if opts["tail"] >= 1:
            raise InvalidInput("tail", f"must be < 1, got {opts['tail']}", "a fraction in [0, 1)")
    if "gap_tol" in opts:
        opts["gap_tol"] = _check.real("gap_tol", opts["gap_tol"], nonneg=True)
    for key in ("history_gap", "progress"):
        if key in opts:
            if not isinstance(opts[key], (bool, np.bool_)):
                raise InvalidInput(key, f"expected True or False, got {opts[key]!r}")
            opts[key] = bool(opts[key])
    return config, opts


def _check_memory(game: ParticleGame, config, opts: dict) -> None:
    """ResourceLimit before allocating: the particle arrays (wfr.check_memory) and the learner half's
    QP Gram matrix, (2 (n_theta + 8 rounds) + 1)^2 float64 numbers (named n_theta)."""
    from ..guards import byte_limit
    from ..solvers.wfr import check_memory
    check_memory(game, config)
    limit = byte_limit(config.max_bytes)
    cols = 2 * (opts.get("n_theta", 200) + _QP_REFINE * opts.get("gap_rounds", 1)) + 1
    if 8 * cols * cols > limit:
        raise ResourceLimit("n_theta", f"the Nash-gap QP over {cols} columns needs a Gram matrix of about "
                            f"{8 * cols * cols / 2**30:.3g} GiB, over the limit of {limit / 2**30:.3g} GiB",
                            "a smaller n_theta or gap_rounds, or raise the limit with max_bytes=")


def _gap_kwargs(options: dict) -> dict:
    keymap = {"gap_starts": "starts", "gap_random_starts": "random_starts", "gap_iters": "ascent_iters",
              "n_theta": "n_theta", "fw_candidates": "fw_candidates", "gap_rounds": "rounds"}
    return {keymap[k]: options[k] for k in keymap if k in options}


class ParticleGameRule(LoweringRule):
    name = "particle_game"
    source = "meanfield + squared + squared_z (moves x and y), penalised, empirical measure with real targets"
    target = "ParticleGame"
    backends = ("wfr",)
    default_backend = "wfr"

    def accepts(self, form) -> bool:
        return (form.learner == "meanfield" and form.loss == "squared" and form.cost_family == "squared_z"
                and not form.constrained and not form.pointwise and form.targets == "real")

    def apply(self, problem: Any, form, options: dict) -> tuple[ParticleGame, Any]:
        config, opts = _options(options)     # refuse bad options at compile time
        mu, f = form.mu, form.learner_obj
        game = ParticleGame(mu.X, mu.y, mu.weights, f.activation, f.width, f.a_max, f.b_max, form.cost.c_a)
        _check_memory(game, config, opts)
        return game, {"game": game}

    def solve(self, program: ParticleGame, backend: str, options: dict) -> dict:
        from ..solvers.nash_gap import nash_gap
        from ..solvers.wfr import run
        config, options = _options(options)
        _check_memory(program, config, options)
        gap_kw = _gap_kwargs(options)
        hist_gap = dict(gap_kw) if options.get("history_gap", False) else None
        res = run(program, config, options.get("steps", 2000), history_every=options.get("history_every", 0),
                  history_gap=hist_gap, tail=options.get("tail", 0.0), progress=options.get("progress", False))
        gap = nash_gap(program, res.learner_avg, res.adversary_avg, seed=config.seed,
                       progress=options.get("progress", False), **gap_kw)
        return {"run": res, "gap": gap, "config": config, "gap_kw": gap_kw,
                "gap_tol": options.get("gap_tol", 1e-3)}

    def invert(self, raw: dict, inverse_data: Any) -> ParticleSolution:
        res, gap, game = raw["run"], raw["gap"], inverse_data["game"]
        status = "certified" if gap.certified else "estimate"
        info = {"method": raw["config"].method, "steps": res.steps, "grad_evals": res.state.grad_evals,
                "steps_per_second": res.steps_per_second, "snapshots": len(res.state.snap_times),
                "nash_gap": gap.to_dict(), "game": game.summary()}
        sol = ParticleSolution(
            value=gap.sup_value, lower=gap.inf_lower, upper=gap.sup_upper, status=status, backend="wfr",
            rule=self.name, timings={"particles": res.seconds, "nash_gap": gap.seconds},
            attack=res.adversary_avg, classifier=res.learner_avg, info=info,
            learner_last=res.learner_last, adversary_last=res.adversary_last, history=res.history, gap=gap)
        from dataclasses import replace
        return replace(sol, certify=lambda: certify(game, sol, raw["gap_kw"], raw["gap_tol"]))


def certify(game: ParticleGame, sol: ParticleSolution, gap_kw: dict, gap_tol: float) -> Certificate:
    """Re-check: measures valid (weights, Theta), the gap recomputed with other random starts and
    Theta samples, and for h = identity the adversary's closed form c_a MSE / (c_a - |beta_x|^2 - 1)."""
    from ..solvers.nash_gap import nash_gap
    nu, pi = sol.classifier, sol.attack
    kw = dict(gap_kw)
    kw["random_starts"] = max(4, kw.get("random_starts", 2))
    g = nash_gap(game, nu, pi, seed=12345, **kw)
    b_norm = np.linalg.norm(nu.B, axis=1)
    checks: dict[str, Any] = {
        "alpha_sums_to_one": bool(abs(nu.alpha.sum() - 1) <= 1e-9 and np.all(nu.alpha >= 0)),
        "omega_rows_sum_to_one": bool(np.allclose(pi.omega.sum(1), 1, atol=1e-9) and np.all(pi.omega >= 0)),
        "theta_in_bounds": bool(np.all(np.abs(nu.a) <= game.a_max * (1 + 1e-9))
                                and np.all(b_norm <= game.b_max * (1 + 1e-9))),
        "recomputed_sup": g.sup_value, "recomputed_gap": g.gap, "recomputed_gap_upper": g.gap_upper,
        "sup_agrees": bool(abs(g.sup_value - sol.value) <= 1e-6 * max(1.0, abs(sol.value))),
        "sup_status": g.sup_status, "inf_status": g.inf_status,
    }
    if game.activation == "identity":
        beta = nu.beta
        s = game.c_a - float(beta[:-1] @ beta[:-1]) - 1.0
        mse = float(game.weights @ (np.column_stack([game.X, np.ones(game.n)]) @ beta - game.y) ** 2)
        closed = game.c_a / s * mse if s > 0 else math.inf
        checks["closed_form_sup"] = closed
        checks["closed_form_agrees"] = bool(abs(closed - g.sup_value) <= 1e-8 * max(1.0, abs(closed)))
    tol = gap_tol * max(1.0, abs(sol.value))
    passed = all(v for k, v in checks.items() if isinstance(v, bool))
    ok = passed and g.certified and g.gap_upper <= tol
    msg = ("certified: Nash gap <= %.3g" % g.gap_upper if ok else
           "not certified: " + ("a check failed" if not passed else
                                f"halves are {g.sup_status}/{g.inf_status}, gap_upper {g.gap_upper:.3g}"
                                f" vs tol {tol:.3g}"))
    return Certificate(ok, g.inf_lower, g.sup_upper, g.gap_upper, checks, msg)


register(ParticleGameRule())
