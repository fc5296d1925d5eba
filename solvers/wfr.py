"""Wasserstein-Fisher-Rao ascent-descent particle system for the mean-field game (MATH.md section 3).

Pure Optax-style interface: `state = init(game, config)`, `state = step(state)` over a frozen
`WFRState`; `run(...)` is the driver (history, progress). One step of method "wfr":

    Z~_ij  += eta_adv * grad_z~ U_pi(Z_i, Z~_ij)              omega_ij *= exp(+kappa_adv (U_pi - <U_pi>_omega_i))
    theta_k = P_Theta(theta_k - eta * grad U_nu(theta_k))   alpha_k  *= exp(-kappa (U_nu - <U_nu>_alpha))

(both players use the gradients at the same iterate; weights renormalised). "gda" drops the
Fisher-Rao steps (weights stay uniform). "wrm" (Sinha et al. 2018): one adversarial point per
sample, found from Z_i by `inner_steps` gradient-ascent steps on loss - c_a |z - z~|^2, then a
gradient step on the finite network (uniform weights). Theta = [-a_max, a_max] x {|b| <= b_max}
is kept by Euclidean projection (clip a, rescale b onto the ball).
Time averages: snapshots at equally spaced times (spacing doubles whenever `snapshots` is
exceeded, so memory stays bounded); nu_bar / pi_bar are their uniform mixtures.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from numbers import Real
from typing import Any, Callable, Union

import numpy as np
import torch

from robustdsl.errors import InvalidInput
from robustdsl.ir.particle_game import ParticleGame

from .meanfield_kernel import Evaluation, Workspace, evaluate
from .meanfield_model import AdversaryMeasure, LearnerMeasure

Schedule = Union[float, Callable[[int], float]]
METHODS = ("wfr", "gda", "wrm")
DTYPES = {"float32": torch.float32, "float64": torch.float64}
_ITEMSIZE = {"float32": 4, "float64": 8}


def _schedule(name: str, value: Any, allow_zero: bool) -> Schedule:
    """A step size: a number > 0 (>= 0 if allow_zero), or a callable t -> size, called once here with t = 0."""
    if callable(value):
        _at(value, 0, name, allow_zero)
        return value
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(float(value)) \
            or float(value) < 0 or (float(value) == 0 and not allow_zero):
        raise InvalidInput(name, f"got {value!r}", "a positive number or a callable t -> step size")
    return float(value)


def _at(s: Schedule, t: int, name: str, allow_zero: bool = True) -> float:
    """The size of schedule `s` at step t, refused (naming `name`) unless a finite real >= 0 (> 0 if not allow_zero)."""
    if callable(s):
        try:
            v = s(t)
        except Exception as exc:   # a user callable: any failure is a bad argument, not a solver fault
            raise InvalidInput(name, f"calling the schedule with t={t} raised {type(exc).__name__}: {exc}",
                               "a number or a callable of one argument t (the step) -> step size") from None
    else:
        v = s
    if isinstance(v, bool) or not isinstance(v, Real) or not math.isfinite(float(v)) or float(v) < 0 \
            or (float(v) == 0 and not allow_zero):
        raise InvalidInput(name, f"schedule returned {v!r} at step {t}",
                           "a finite number >= 0" if allow_zero else "a finite number > 0")
    return float(v)


@dataclass(frozen=True)
class WFRConfig:
    """Method, particle counts, step sizes (numbers or schedules t -> size), precision, device, seed."""

    method: str = "wfr"
    m: int = 8                       # adversarial particles per data point (wrm uses 1)
    eta: Schedule = 0.05             # learner Wasserstein step
    kappa: Schedule = 0.5            # learner Fisher-Rao step
    eta_adv: Schedule | None = None  # adversary Wasserstein step (default: eta)
    kappa_adv: Schedule | None = None  # adversary Fisher-Rao step (default: kappa)
    inner_steps: int = 5             # wrm: ascent steps per outer step
    init_radius: float = 0.1         # adversarial atoms start at Z_i + init_radius * N(0, I)
    snapshots: int = 32              # memory bound of the time averages
    dtype: str = "float64"
    device: str = "cpu"
    seed: int = 0
    max_bytes: int | None = None     # limit of the particle arrays (particle_bytes); None: 16 GiB

    def __post_init__(self) -> None:
        from robustdsl import _check
        _check.choice("method", self.method, METHODS)
        object.__setattr__(self, "m", _check.integer("m", self.m, minimum=1))
        object.__setattr__(self, "inner_steps", _check.integer("inner_steps", self.inner_steps, minimum=1))
        object.__setattr__(self, "snapshots", _check.integer("snapshots", self.snapshots, minimum=2))
        object.__setattr__(self, "seed", _check.integer("seed", self.seed, minimum=0))
        if self.seed >= 2 ** 64:
            raise InvalidInput("seed", f"{self.seed} does not fit the 64 bits of torch's generator seed",
                               "an integer in [0, 2**64)")
        if self.max_bytes is not None:
            object.__setattr__(self, "max_bytes", _check.integer("max_bytes", self.max_bytes, minimum=1))
        object.__setattr__(self, "init_radius", _check.real("init_radius", self.init_radius, nonneg=True))
        _check.choice("dtype", self.dtype, tuple(DTYPES))
        for name, zero in (("eta", False), ("kappa", True), ("eta_adv", False), ("kappa_adv", True)):
            v = getattr(self, name)
            if v is not None:
                object.__setattr__(self, name, _schedule(name, v, zero))
        dev = str(self.device)
        if dev != "cpu" and not dev.startswith("cuda"):
            raise InvalidInput("device", f"got {self.device!r}", "'cpu' or 'cuda[:k]'")
        if dev.startswith("cuda") and not torch.cuda.is_available():
            raise InvalidInput("device", "CUDA is not available on this machine", "'cpu'")

    @property
    def particles_per_point(self) -> int:
        return 1 if self.method == "wrm" else self.m


@dataclass(frozen=True, eq=False)
class GameTensors:
    """The game on the device: Z = (x, y) (n, d+1), p (n,), constants."""

    Z: torch.Tensor
    p: torch.Tensor
    c_a: float
    a_max: float
    b_max: float
    activation: str
    workspace: Workspace = field(default_factory=Workspace)   # scratch buffers of the fused kernel

    @property
    def d(self) -> int:
        return self.Z.shape[1] - 1


@dataclass(frozen=True, eq=False)
class WFRState:
    """All of the particle system at step t (immutable; `step` returns a new state)."""

    config: WFRConfig
    game: GameTensors
    a: torch.Tensor           # (K,)
    B: torch.Tensor           # (K, d+1)
    log_alpha: torch.Tensor   # (K,)
    Zt: torch.Tensor          # (n, m, d+1)
    log_omega: torch.Tensor   # (n, m)
    t: int = 0
    grad_evals: int = 0
    U: float = math.nan       # U at the iterate the last step started from
    snap_learner: tuple = ()
    snap_adversary: tuple = ()
    snap_times: tuple = ()
    snap_interval: int = 1


def particle_bytes(game: ParticleGame, config: WFRConfig) -> tuple[int, int]:
    """(learner, adversary) bytes the particle arrays of a run take at their peak: the iterate and up to
    snapshots + 1 snapshots in config.dtype, then the float64 time averages (a copy of every kept
    snapshot and their concatenation). The learner holds K (d + 3) numbers, the adversary n m (d + 2)."""
    per_copy = _ITEMSIZE[config.dtype] * (config.snapshots + 2) + 8 * 2 * (config.snapshots + 1)
    D = game.dim + 1
    return per_copy * game.width * (D + 2), per_copy * game.n * config.particles_per_point * (D + 1)


def check_memory(game: ParticleGame, config: WFRConfig) -> int:
    """particle_bytes in all; ResourceLimit naming width or m (the larger part) over config.max_bytes."""
    from robustdsl.errors import ResourceLimit
    from robustdsl.guards import byte_limit
    learner, adversary = particle_bytes(game, config)
    need = learner + adversary
    limit = byte_limit(config.max_bytes)
    if need > limit:
        name = "width" if learner >= adversary else "m"
        raise ResourceLimit(name, f"the particle arrays would need about {need / 2**30:.3g} GiB (width {game.width}, "
                            f"n {game.n} x m {config.particles_per_point} adversarial atoms, d {game.dim}, "
                            f"{config.snapshots} snapshots, {config.dtype}), over the limit of "
                            f"{limit / 2**30:.3g} GiB", "a smaller width, m or snapshots, or raise the limit "
                            "with max_bytes=")
    return need


def init(game: ParticleGame, config: WFRConfig | None = None) -> WFRState:
    """Learner: a ~ U[-1, 1] * min(1, a_max), b ~ N(0, I) projected on the ball, alpha uniform;
    adversary: Z~_ij = Z_i + init_radius * N(0, I) (wrm: Z~_i = Z_i), omega uniform."""
    if not isinstance(game, ParticleGame):
        raise InvalidInput("game", f"expected a ParticleGame, got {type(game).__name__}")
    config = config or WFRConfig()
    if not isinstance(config, WFRConfig):
        raise InvalidInput("config", f"expected a WFRConfig, got {type(config).__name__}")
    check_memory(game, config)
    dt, dev = DTYPES[config.dtype], torch.device(config.device)
    gen = torch.Generator().manual_seed(config.seed)
    K, n, d = game.width, game.n, game.dim
    Z = torch.from_numpy(np.column_stack([game.X, game.y])).to(dt)
    a = (2 * torch.rand(K, generator=gen, dtype=torch.float64) - 1) * min(1.0, game.a_max)
    B = _project_ball(torch.randn(K, d + 1, generator=gen, dtype=torch.float64), game.b_max)
    m = config.particles_per_point
    Zt = Z.to(torch.float64)[:, None, :].repeat(1, m, 1)
    if config.method != "wrm":
        Zt = Zt + config.init_radius * torch.randn(n, m, d + 1, generator=gen, dtype=torch.float64)
    gt = GameTensors(Z.to(dev), torch.tensor(game.weights, dtype=dt, device=dev), game.c_a, game.a_max,
                     game.b_max, game.activation)
    return WFRState(config, gt, a.to(dt).to(dev), B.to(dt).to(dev),
                    torch.full((K,), -math.log(K), dtype=dt, device=dev), Zt.to(dt).to(dev),
                    torch.full((n, m), -math.log(m), dtype=dt, device=dev))


def _project_ball(B: torch.Tensor, radius: float) -> torch.Tensor:
    norms = B.norm(dim=1, keepdim=True)
    return B * torch.clamp(radius / torch.clamp(norms, min=1e-300), max=1.0)


def _evaluate(g: GameTensors, a, B, alpha, Zt, omega, learner: bool = True) -> Evaluation:
    """First variations and their gradients at one iterate, all particles at once (meanfield_kernel)."""
    return evaluate(g.workspace, g.activation, g.Z, g.p, g.c_a, a, B, alpha, Zt, omega, learner)


def _learner_update(s: WFRState, e: Evaluation, fisher_rao: bool) -> tuple:
    g, t = s.game, s.t
    eta = _at(s.config.eta, t, "eta")
    a = torch.clamp(s.a - eta * e.grad_a, -g.a_max, g.a_max)
    B = _project_ball(s.B - eta * e.grad_B, g.b_max)
    log_alpha = s.log_alpha
    if fisher_rao:
        kappa = _at(s.config.kappa, t, "kappa")
        alpha = log_alpha.exp()
        log_alpha = torch.log_softmax(log_alpha - kappa * (e.U_nu - alpha @ e.U_nu), dim=0)
    return a, B, log_alpha


def _adv_sizes(s: WFRState) -> tuple[float, float]:
    """The adversary's step sizes at step t (eta / kappa where eta_adv / kappa_adv are unset; errors name
    the option the size came from)."""
    c = s.config
    eta = _at(c.eta, s.t, "eta") if c.eta_adv is None else _at(c.eta_adv, s.t, "eta_adv")
    kappa = _at(c.kappa, s.t, "kappa") if c.kappa_adv is None else _at(c.kappa_adv, s.t, "kappa_adv")
    return eta, kappa


def step(state: WFRState) -> WFRState:
    """One step of the configured method; returns a new state (the input is not modified)."""
    s, g = state, state.game
    with torch.no_grad():
        alpha = s.log_alpha.exp()
        eta_adv, kappa_adv = _adv_sizes(s)
        if s.config.method == "wrm":
            Zt, omega, evals = g.Z[:, None, :].clone(), s.log_omega.exp(), 0
            for _ in range(s.config.inner_steps):
                Zt = Zt + eta_adv * _evaluate(g, s.a, s.B, alpha, Zt, omega, learner=False).grad_Zt
                evals += 1
            e = _evaluate(g, s.a, s.B, alpha, Zt, omega)
            a, B, log_alpha = _learner_update(s, e, fisher_rao=False)
            log_omega = s.log_omega
            evals += 1
        else:
            fr = s.config.method == "wfr"
            omega = s.log_omega.exp()
            e = _evaluate(g, s.a, s.B, alpha, s.Zt, omega)
            Zt = s.Zt + eta_adv * e.grad_Zt
            log_omega = s.log_omega
            if fr:
                mean = (omega * e.U_pi).sum(1, keepdim=True)
                log_omega = torch.log_softmax(log_omega + kappa_adv * (e.U_pi - mean), dim=1)
            a, B, log_alpha = _learner_update(s, e, fisher_rao=fr)
            evals = 1
    if not all(bool(torch.isfinite(v).all()) for v in (a, B, Zt)):
        from robustdsl.errors import SolverFailed
        if eta_adv * g.c_a >= 1:   # z~ - z is multiplied by 1 - 2 eta_adv c_a per step: the penalty overshoots
            hint = (f"eta_adv * c_a = {eta_adv * g.c_a:.3g} >= 1, so each adversarial step overshoots the "
                    f"transport penalty c_a |z~ - z|^2; set eta_adv below 1 / c_a = {1 / g.c_a:.3g}")
        else:
            hint = "reduce eta / eta_adv or increase c_a"
        raise SolverFailed(f"the particle system diverged at step {s.t + 1} (non-finite particles); {hint}",
                           status="diverged", backend="wfr")
    new = replace(s, a=a, B=B, log_alpha=log_alpha, Zt=Zt, log_omega=log_omega, t=s.t + 1,
                  grad_evals=s.grad_evals + evals, U=e.U)
    return _snapshot(new)


def _snapshot(s: WFRState) -> WFRState:
    """Record (nu_t, pi_t) every `snap_interval` steps; thin to every other and double when full."""
    if s.t % s.snap_interval:
        return s
    L = s.snap_learner + ((s.a, s.B, s.log_alpha.exp()),)
    A = s.snap_adversary + ((s.Zt, s.log_omega.exp()),)
    T = s.snap_times + (s.t,)
    iv = s.snap_interval
    if len(T) > s.config.snapshots:
        keep = [k for k, t in enumerate(T) if t % (2 * iv) == 0]
        L, A, T, iv = tuple(L[k] for k in keep), tuple(A[k] for k in keep), tuple(T[k] for k in keep), 2 * iv
    return replace(s, snap_learner=L, snap_adversary=A, snap_times=T, snap_interval=iv)


def _np(x: torch.Tensor) -> np.ndarray:
    return x.detach().to("cpu", torch.float64).numpy().copy()


def last(state: WFRState) -> tuple[LearnerMeasure, AdversaryMeasure]:
    """(nu_t, pi_t): the last iterates as float64 numpy measures."""
    return (LearnerMeasure(_np(state.a), _np(state.B), _np(state.log_alpha.exp()), state.game.activation),
            AdversaryMeasure(_np(state.Zt), _np(state.log_omega.exp())))


def averaged(state: WFRState, tail: float = 0.0) -> tuple[LearnerMeasure, AdversaryMeasure]:
    """(nu_bar, pi_bar): uniform mixtures of the snapshots taken at times > tail * t.

    tail = 0 is the time average of the theory over [0, t]; tail in (0, 1) averages over the
    last (1 - tail) fraction only. Before any snapshot the last iterates are returned.
    """
    from robustdsl import _check
    tail = _check.real("tail", tail, nonneg=True)
    if tail >= 1:
        raise InvalidInput("tail", f"must be < 1, got {tail}")
    idx = [k for k, t in enumerate(state.snap_times) if t > tail * state.t]
    if not idx:
        return last(state)
    act = state.game.activation
    nus = [LearnerMeasure(_np(state.snap_learner[k][0]), _np(state.snap_learner[k][1]),
                          _np(state.snap_learner[k][2]), act) for k in idx]
    pis = [AdversaryMeasure(_np(state.snap_adversary[k][0]), _np(state.snap_adversary[k][1])) for k in idx]
    return LearnerMeasure.mixture(nus), AdversaryMeasure.mixture(pis)


def value(state: WFRState, learner: LearnerMeasure | None = None,
          adversary: AdversaryMeasure | None = None) -> float:
    """U(pi, nu) in float64 for the given measures (default: the last iterates)."""
    nu, pi = last(state)
    nu, pi = learner or nu, adversary or pi
    Z = _np(state.game.Z)
    p = _np(state.game.p)
    d = Z.shape[1] - 1
    n, M, _ = pi.Zt.shape
    f = nu(pi.Zt[..., :d].reshape(n * M, d)).reshape(n, M)
    U_pi = (f - pi.Zt[..., d]) ** 2 - state.game.c_a * ((pi.Zt - Z[:, None, :]) ** 2).sum(-1)
    return float((p[:, None] * pi.omega * U_pi).sum())


@dataclass(frozen=True, eq=False)
class WFRRun:
    """Result of `run`: final state, averaged and last measures, history, timing."""

    state: WFRState
    learner_avg: LearnerMeasure
    adversary_avg: AdversaryMeasure
    learner_last: LearnerMeasure
    adversary_last: AdversaryMeasure
    history: tuple            # of dicts: step, grad_evals, U (iterate), and gap halves if asked
    seconds: float
    steps: int

    @property
    def steps_per_second(self) -> float:
        return self.steps / self.seconds if self.seconds > 0 else math.inf


def run(game: ParticleGame, config: WFRConfig | None = None, steps: int = 1000, *,
        history_every: int = 0, history_gap: dict | None = None, tail: float = 0.0,
        progress: bool = False, state: WFRState | None = None) -> WFRRun:
    """init (or continue `state`) and take `steps` steps; every `history_every` steps record U of the
    iterate and, if `history_gap` is a dict of nash_gap options, both halves of the gap of the averages."""
    from robustdsl import _check
    steps = _check.integer("steps", steps, minimum=0)
    history_every = _check.integer("history_every", history_every, minimum=0)
    s = state if state is not None else init(game, config)
    hist: list[dict] = []
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=steps, desc=f"{s.config.method} steps")
    t0 = time.perf_counter()
    spent = 0.0
    for k in range(steps):
        s = step(s)
        if bar is not None:
            bar.update(1)
        if history_every and (k + 1) % history_every == 0:
            spent += time.perf_counter() - t0
            hist.append(_record(game, s, history_gap, tail))
            t0 = time.perf_counter()
    if s.config.device.startswith("cuda"):
        torch.cuda.synchronize()
    spent += time.perf_counter() - t0
    if bar is not None:
        bar.close()
    nu_bar, pi_bar = averaged(s, tail)
    nu, pi = last(s)
    return WFRRun(s, nu_bar, pi_bar, nu, pi, tuple(hist), spent, steps)


def _record(game: ParticleGame, s: WFRState, gap_opts: dict | None, tail: float) -> dict:
    rec = {"step": s.t, "grad_evals": s.grad_evals, "U": s.U}
    if gap_opts is not None:
        from .nash_gap import nash_gap
        nu_bar, pi_bar = averaged(s, tail)
        r = nash_gap(game, nu_bar, pi_bar, **gap_opts)
        rec.update(U_avg=r.U_value, sup=r.sup_value, inf=r.inf_value, gap=r.gap,
                   inf_lower=r.inf_lower, gap_upper=r.gap_upper)
    return rec
