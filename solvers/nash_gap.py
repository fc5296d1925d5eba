"""The Nash (Nikaido-Isoda) gap of a pair (pi, nu) of the mean-field game (MATH.md section 3):

    NI(pi, nu) = sup_{pi' : pi'_z = mu} U(pi', nu) - inf_{nu'} U(pi, nu')  >= 0.

Adversary half: per-point monotone gradient ascent on phi_i(z~) = (f_nu(x~) - y~)^2 - c_a |z~ - Z_i|^2
from several starts (the point, the adversary's best atoms, random points); since those atoms
are among the starts, sup_value >= U(pi, nu). When phi_i is provably
mu_i-strongly concave on a ball holding its maximiser (identity h, or smooth bounded h with c_a large),
max phi_i <= phi_i(z) + |grad phi_i(z)|^2 / (2 mu_i) gives a certified upper bound.
Learner half: F(nu') = U(pi, nu') is convex; a QP (cvxpy) over weights on a sample of Theta
(extreme a = +-a_max, sampled b, plus nu itself as one column) gives inf_value >= inf F, and the
Frank-Wolfe inequality inf F >= F(nu0) + min_Theta U_nu' - integral U_nu' d nu0 a lower bound
(exact for the identity activation, where min_Theta is a closed form; sampled + refined otherwise).
With rounds > 1 the linear-minimisation atoms are added as columns and the QP re-solved (fully
corrective Frank-Wolfe): one round leaves the learner half badly under-resolved on networks of
realistic width (benchmarks/MEANFIELD.md).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from robustdsl.errors import InvalidInput
from robustdsl.ir.particle_game import ParticleGame

from .meanfield_model import ACTIVATIONS, AdversaryMeasure, LearnerMeasure, augment

_CHUNK = 1 << 22   # elements of one (points x particles) block


@dataclass(frozen=True)
class GapResult:
    """Both halves of the Nash gap, their bounds and how far each is certified."""

    sup_value: float    # max of U(., nu) found by ascent (a lower bound of the sup)
    sup_upper: float    # certified upper bound of the sup (inf when not strongly concave)
    sup_status: str     # "strongly_concave" (certified) | "multistart" (estimate)
    inf_value: float    # U(pi, nu0) at the QP's nu0 (an upper bound of the inf)
    inf_lower: float    # Frank-Wolfe lower bound of the inf
    inf_status: str     # "exact" (certified) | "sampled" (estimate)
    qp_status: str      # cvxpy's status word
    U_value: float      # U(pi, nu)
    max_grad: float     # largest gradient norm left by the ascent
    seconds: float

    @property
    def gap(self) -> float:
        """Estimate sup_value - inf_value (<= NI; equal to it up to the ascent/QP accuracy)."""
        return self.sup_value - self.inf_value

    @property
    def gap_upper(self) -> float:
        """sup_upper - inf_lower: an upper bound of NI when `certified`."""
        return self.sup_upper - self.inf_lower

    @property
    def certified(self) -> bool:
        return self.sup_status == "strongly_concave" and self.inf_status == "exact"

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d.update(gap=self.gap, gap_upper=self.gap_upper, certified=self.certified)
        return d


def _t(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64))


class _Model:
    """f_nu and grad_x f_nu in float64 over chunks of query points."""

    def __init__(self, nu: LearnerMeasure):
        self.act = ACTIVATIONS[nu.activation]
        self.B = _t(nu.B)
        self.c = _t(nu.alpha * nu.a)
        self.cBx = self.c[:, None] * self.B[:, :-1]

    def f_grad(self, X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        fs, gs = [], []
        for sl in _blocks(X.shape[0], self.B.shape[0]):
            S = augment(X[sl]) @ self.B.T
            H = self.act.h(S)
            fs.append(H @ self.c)
            gs.append(self.act.dh(S, H) @ self.cBx)
        return torch.cat(fs), torch.cat(gs)


def _phi(model: _Model, Zs: torch.Tensor, Z0: torch.Tensor, c_a: float):
    """phi(z~) = (f(x~) - y~)^2 - c_a |z~ - z|^2 and its gradient, row-wise."""
    f, gx = model.f_grad(Zs[:, :-1])
    r = f - Zs[:, -1]
    disp = Zs - Z0
    val = r * r - c_a * (disp * disp).sum(1)
    grad = torch.cat([2 * r[:, None] * gx, (-2 * r)[:, None]], 1) - 2 * c_a * disp
    return val, grad


def _ascent(model: _Model, Z0: torch.Tensor, starts: torch.Tensor, c_a: float, iters: int, tol: float):
    """Monotone gradient ascent from every start (rows); per-row step sizes grow on success, halve on failure."""
    z = starts.clone()
    v, g = _phi(model, z, Z0, c_a)
    st = torch.full_like(v, 0.25 / c_a)
    for _ in range(iters):
        if float(g.norm(dim=1).max()) <= tol:
            break
        cand = z + st[:, None] * g
        vc, gc = _phi(model, cand, Z0, c_a)
        ok = vc >= v
        z = torch.where(ok[:, None], cand, z)
        v = torch.where(ok, vc, v)
        g = torch.where(ok[:, None], gc, g)
        st = torch.where(ok, st * 1.5, st * 0.5)
    return z, v, g


def _strong_concavity(game: ParticleGame, nu: LearnerMeasure) -> np.ndarray | None:
    """Per-point (mu_i, rho_i): phi_i is mu_i-strongly concave on B(Z_i, rho_i) which holds its
    maximiser; None when no such bound is available (relu, or c_a too small)."""
    act = ACTIVATIONS[nu.activation]
    w = np.abs(nu.alpha * nu.a)
    bx = np.linalg.norm(nu.B[:, :-1], axis=1)
    if nu.activation == "identity":
        mu = 2 * (game.c_a - float(np.sum(nu.beta[:-1] ** 2)) - 1.0)
        return None if mu <= 0 else np.column_stack([np.full(game.n, mu), np.full(game.n, np.inf)])
    if not (math.isfinite(act.sup_h) and math.isfinite(act.sup_d2h)) or game.c_a <= 1:
        return None
    G = float(w @ bx) * act.sup_dh
    Hm = float(w @ bx ** 2) * act.sup_d2h
    Fm = float(w.sum()) * act.sup_h
    rho = (Fm + np.abs(game.y)) / (math.sqrt(game.c_a) - 1.0)
    R = Fm + np.abs(game.y) + rho
    mu = 2 * (game.c_a - G * G - 1.0 - R * Hm)
    return None if np.any(mu <= 0) else np.column_stack([mu, rho])


def adversary_half(game: ParticleGame, nu: LearnerMeasure, pi: AdversaryMeasure | None = None, *,
                   starts: int = 2, random_starts: int = 2, iters: int = 500, tol: float = 1e-10,
                   seed: int = 0) -> tuple[float, float, str, float, np.ndarray]:
    """(sup_value, sup_upper, status, max residual gradient, best z~ per point (n, d+1))."""
    n, D = game.n, game.dim + 1
    Z = np.column_stack([game.X, game.y])
    model = _Model(nu)
    cands = [Z[:, None, :]]
    if pi is not None and starts > 0:
        _check_adversary(game, pi)
        M = pi.Zt.shape[1]
        score = _phi(model, _t(pi.Zt.reshape(n * M, D)), _t(np.repeat(Z, M, axis=0)), game.c_a)[0]
        top = np.argsort(-score.numpy().reshape(n, M), axis=1)[:, :starts]   # the adversary's best atoms
        cands.append(np.take_along_axis(pi.Zt, top[:, :, None], axis=1))
    if random_starts > 0:
        rng = np.random.default_rng(seed)
        r0 = nu(game.X) - game.y
        scale = np.sqrt((r0 ** 2 + 1.0) / game.c_a)[:, None, None]
        cands.append(Z[:, None, :] + scale * rng.standard_normal((n, random_starts, D)) / math.sqrt(D))
    C = np.concatenate(cands, axis=1)                 # (n, R, D)
    R = C.shape[1]
    Z0 = _t(np.repeat(Z, R, axis=0))
    z, v, g = _ascent(model, Z0, _t(C.reshape(n * R, D)), game.c_a, iters, tol)
    v = v.reshape(n, R).numpy()
    best = v.argmax(1)
    vbest = v[np.arange(n), best]
    gbest = g.reshape(n, R, D).numpy()[np.arange(n), best]
    zbest = z.reshape(n, R, D).numpy()[np.arange(n), best]
    sup_value = float(game.weights @ vbest)
    gn = np.linalg.norm(gbest, axis=1)
    sc = _strong_concavity(game, nu)
    if sc is not None and np.all(np.linalg.norm(zbest - Z, axis=1) <= sc[:, 1]):
        return sup_value, float(game.weights @ (vbest + gn ** 2 / (2 * sc[:, 0]))), "strongly_concave", \
            float(gn.max()), zbest
    return sup_value, math.inf, "multistart", float(gn.max()), zbest


def _blocks(rows: int, width: int):
    """Row slices such that one block of a (rows x width) array has at most _CHUNK elements."""
    step = max(1, _CHUNK // max(1, width))
    return [slice(s, s + step) for s in range(0, rows, step)]


def _check_adversary(game: ParticleGame, pi: AdversaryMeasure) -> None:
    if pi.Zt.ndim != 3 or (pi.Zt.shape[0], pi.Zt.shape[2]) != (game.n, game.dim + 1) \
            or pi.omega.shape != pi.Zt.shape[:2]:
        raise InvalidInput("adversary", f"atoms have shape {pi.Zt.shape}, weights {pi.omega.shape}",
                           f"({game.n}, m, {game.dim + 1}) atoms and ({game.n}, m) weights")


def _atoms(game: ParticleGame, pi: AdversaryMeasure):
    _check_adversary(game, pi)
    n, M, D = pi.Zt.shape
    W = (game.weights[:, None] * pi.omega).ravel()
    Zt = pi.Zt.reshape(n * M, D)
    disp2 = ((pi.Zt - np.column_stack([game.X, game.y])[:, None, :]) ** 2).sum(-1).ravel()
    keep = W > 0
    return _t(Zt[keep]), _t(W[keep]), float(W[keep] @ disp2[keep]) * game.c_a


def _sample_ball(rng: np.random.Generator, k: int, D: int, radius: float, sphere: bool) -> np.ndarray:
    u = rng.standard_normal((k, D))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    return radius * u * (1.0 if sphere else rng.random((k, 1)) ** (1.0 / D))


def _solve_qp(G: np.ndarray, lin: np.ndarray, solver: str | None) -> tuple[np.ndarray | None, str]:
    """argmin_w w'Gw - 2 lin'w over the simplex (cvxpy)."""
    import cvxpy as cp
    scale = max(1.0, float(np.abs(np.diag(G)).max()))
    w = cp.Variable(G.shape[0])
    obj = cp.quad_form(w, cp.psd_wrap((G + G.T) / (2 * scale))) - 2 * (lin / scale) @ w
    prob = cp.Problem(cp.Minimize(obj), [w >= 0, cp.sum(w) == 1])
    try:
        prob.solve(solver=solver or "CLARABEL")
    except cp.error.SolverError as exc:
        return None, f"solver_error: {exc}"
    if w.value is None or prob.status not in ("optimal", "optimal_inaccurate"):
        return None, str(prob.status)
    x = np.maximum(np.asarray(w.value, dtype=np.float64), 0.0)
    return x / x.sum(), str(prob.status)


def learner_half(game: ParticleGame, nu: LearnerMeasure, pi: AdversaryMeasure, *, n_theta: int = 200,
                 fw_candidates: int = 2000, refine: int = 8, refine_iters: int = 100, rounds: int = 1,
                 rtol: float = 1e-3, seed: int = 0,
                 solver: str | None = None) -> tuple[float, float, str, str, float]:
    """(inf_value, inf_lower, inf_status, qp_status, U(pi, nu)).

    Fully corrective Frank-Wolfe (column generation): each round solves the QP over the columns so far
    (nu itself, a * h(b . x) for sampled and generated b, both signs of a = a_max), takes the FW lower
    bound at its solution and adds the `refine` best linear-minimisation atoms as new columns; stops
    after `rounds` rounds or when inf_value - inf_lower <= rtol * |inf_value|. inf_lower is the best
    FW bound of all rounds (each is valid)."""
    act = ACTIVATIONS[game.activation]
    rng = np.random.default_rng(seed)
    D = game.dim + 1
    X, W, cost = _atoms(game, pi)
    y = X[:, -1]
    Xa = augment(X[:, :-1])
    own = nu.B[rng.permutation(len(nu.B))[: n_theta // 2]]
    Bs = _t(np.vstack([own, _sample_ball(rng, n_theta - len(own), D, game.b_max, False)]))
    f_nu = _Model(nu).f_grad(X[:, :-1])[0]
    U_value = float(W @ (f_nu - y) ** 2) - cost
    fw_cands = _t(_sample_ball(rng, fw_candidates, D, game.b_max, True))
    best_value, inf_lower, status, qp_status = U_value, -math.inf, "sampled", "not_run"
    for _ in range(max(1, rounds)):
        F0, r0, f0, qp_status = _qp_round(act, game.a_max, Xa, y, W, cost, f_nu, Bs, solver)
        best_value = min(best_value, F0)
        q = 2 * W * r0
        mean_first_variation = float(q @ f0)               # integral U_nu' d nu0
        if game.activation == "identity":
            v = q @ Xa                                     # g(b) = b . v: maximised at b_max v / |v|
            gmax, status = game.b_max * float(v.norm()), "exact"
            new_b = (game.b_max * v / v.norm().clamp(min=1e-300))[None, :]
        else:
            gmax, new_b = _max_abs_g(act, Xa, q, torch.cat([Bs, fw_cands]), game.b_max, refine, refine_iters)
        inf_lower = max(inf_lower, F0 - game.a_max * gmax - mean_first_variation)
        if best_value - inf_lower <= rtol * abs(best_value):
            break
        Bs = torch.cat([Bs, new_b])
    return min(best_value, U_value), inf_lower, status, qp_status, U_value


def _qp_round(act, a_max: float, Xa: torch.Tensor, y: torch.Tensor, W: torch.Tensor, cost: float,
              f_nu: torch.Tensor, Bs: torch.Tensor, solver: str | None):
    """min over the simplex of columns [a_max h(Xa b), -a_max h(Xa b), f_nu]: (F(nu0), r0, f0, status)."""
    Mb = Bs.shape[0]
    G = torch.zeros(2 * Mb + 1, 2 * Mb + 1, dtype=torch.float64)
    lin = torch.zeros(2 * Mb + 1, dtype=torch.float64)
    for sl in _blocks(Xa.shape[0], Mb):                    # Gram matrix of the columns, block by block
        H = act.h(Xa[sl] @ Bs.T)
        Phi = torch.cat([a_max * H, -a_max * H, f_nu[sl, None]], 1)
        WPhi = W[sl, None] * Phi
        G += Phi.T @ WPhi
        lin += WPhi.T @ y[sl]
    w, qp_status = _solve_qp(G.numpy(), lin.numpy(), solver)
    if w is None:                                          # fall back to nu itself (still an upper bound)
        w = np.zeros(2 * Mb + 1)
        w[-1] = 1.0
    wt = _t(w)
    coef = a_max * (wt[:Mb] - wt[Mb:2 * Mb])
    f0 = torch.cat([act.h(Xa[sl] @ Bs.T) @ coef for sl in _blocks(Xa.shape[0], Mb)]) + wt[-1] * f_nu
    r0 = f0 - y
    return float(W @ r0 ** 2) - cost, r0, f0, qp_status


def _max_abs_g(act, Xa: torch.Tensor, q: torch.Tensor, cands: torch.Tensor, b_max: float,
               refine: int, iters: int) -> tuple[float, torch.Tensor]:
    """max_{|b| <= b_max} |g(b)|, g(b) = sum q h(b . xa): best of the candidates, then projected ascent;
    also the refined b's (rows)."""
    g = sum(q[sl] @ act.h(Xa[sl] @ cands.T) for sl in _blocks(Xa.shape[0], cands.shape[0]))
    top = torch.argsort(-g.abs())[:refine]
    b, sgn = cands[top].clone(), torch.sign(g[top])
    val = (g.abs())[top]
    st = torch.full_like(val, 0.1 * b_max)
    for _ in range(iters):
        S = Xa @ b.T
        grad = sgn[:, None] * (act.dh(S, act.h(S)) * q[:, None]).T @ Xa
        nb = grad.norm(dim=1, keepdim=True).clamp(min=1e-300)
        cand = b + st[:, None] * grad / nb
        cand = cand * torch.clamp(b_max / cand.norm(dim=1, keepdim=True).clamp(min=1e-300), max=1.0)
        vc = sgn * (q @ act.h(Xa @ cand.T))
        ok = vc > val
        b = torch.where(ok[:, None], cand, b)
        val = torch.where(ok, vc, val)
        st = torch.where(ok, st * 1.5, st * 0.5)
    return float(max(float(g.abs().max()), float(val.max()))), b


def nash_gap(game: ParticleGame, learner: LearnerMeasure, adversary: AdversaryMeasure, *,
             starts: int = 2, random_starts: int = 2, ascent_iters: int = 500, n_theta: int = 200,
             fw_candidates: int = 2000, rounds: int = 1, seed: int = 0, solver: str | None = None,
             progress: bool = False) -> GapResult:
    """Both halves of NI(adversary, learner) in float64 (see the module docstring); progress: a tqdm
    bar over the two halves (the learner half's convex program is most of the time)."""
    if not isinstance(game, ParticleGame):
        raise InvalidInput("game", f"expected a ParticleGame, got {type(game).__name__}")
    if not isinstance(learner, LearnerMeasure) or not isinstance(adversary, AdversaryMeasure):
        raise InvalidInput("learner", "expected a LearnerMeasure and an AdversaryMeasure")
    from robustdsl import _check
    for name, v, lo in (("starts", starts, 0), ("random_starts", random_starts, 0), ("ascent_iters", ascent_iters, 0),
                        ("n_theta", n_theta, 1), ("fw_candidates", fw_candidates, 0), ("rounds", rounds, 1),
                        ("seed", seed, 0)):
        _check.integer(name, v, minimum=lo)
    t0 = time.perf_counter()
    from tqdm.auto import tqdm
    with tqdm(total=2, desc="Nash gap: adversary half", disable=not progress) as bar:
        sup_value, sup_upper, sup_status, max_grad, _ = adversary_half(
            game, learner, adversary, starts=starts, random_starts=random_starts, iters=ascent_iters, seed=seed)
        bar.update(1)
        bar.set_description("Nash gap: learner half")
        inf_value, inf_lower, inf_status, qp_status, U_value = learner_half(
            game, learner, adversary, n_theta=n_theta, fw_candidates=fw_candidates, rounds=rounds, seed=seed,
            solver=solver)
        bar.update(1)
    return GapResult(sup_value, sup_upper, sup_status, inf_value, inf_lower, inf_status, qp_status,
                     U_value, max_grad, time.perf_counter() - t0)
