"""The fused first-variation kernel against autograd of U (an independent computation), and the
column-generation learner half of the gap (monotone in the rounds, brackets the optimum)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from robustdsl.ir import ParticleGame
from robustdsl.solvers import wfr
from robustdsl.solvers.meanfield_kernel import Workspace, evaluate
from robustdsl.solvers.meanfield_model import AdversaryMeasure, LearnerMeasure
from robustdsl.solvers.nash_gap import learner_half


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    """One torch thread for every test of this module (conftest.one_torch_thread)."""


def _autograd_reference(act, Z, p, c_a, a, B, alpha, Zt, omega):
    """U(pi, nu) built from torch primitives; first variations from its partial derivatives."""
    h = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu, "identity": lambda s: s}[act]
    a, B, alpha, Zt, omega = (t.clone().requires_grad_(True) for t in (a, B, alpha, Zt, omega))
    d = Z.shape[1] - 1
    xa = torch.cat([Zt[..., :d], torch.ones_like(Zt[..., :1])], -1)
    f = h(xa @ B.T) @ (alpha * a)
    U = (p[:, None] * omega * ((f - Zt[..., d]) ** 2 - c_a * ((Zt - Z[:, None]) ** 2).sum(-1))).sum()
    ga, gB, gal, gZ, gom = torch.autograd.grad(U, (a, B, alpha, Zt, omega))
    w, alpha = (p[:, None] * omega).detach(), alpha.detach()
    return dict(U=float(U.detach()), U_pi=gom / p[:, None], grad_Zt=gZ / w[..., None], U_nu=gal,
                grad_a=ga / alpha, grad_B=gB / alpha[:, None])


@pytest.mark.parametrize("act", ["tanh", "sigmoid", "relu", "identity"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_kernel_matches_autograd(act, dtype):
    g = torch.Generator().manual_seed(1)
    n, m, K, d = 100, 3, 3000, 3         # 3000 columns: several row blocks of the workspace
    Z = torch.randn(n, d + 1, generator=g, dtype=torch.float64)
    p = torch.rand(n, generator=g, dtype=torch.float64) + 0.5
    p /= p.sum()
    a, B = torch.randn(K, generator=g, dtype=torch.float64), torch.randn(K, d + 1, generator=g, dtype=torch.float64)
    alpha = torch.softmax(torch.randn(K, generator=g, dtype=torch.float64), 0)
    Zt = Z[:, None] + 0.3 * torch.randn(n, m, d + 1, generator=g, dtype=torch.float64)
    omega = torch.softmax(torch.randn(n, m, generator=g, dtype=torch.float64), 1)
    ref = _autograd_reference(act, Z, p, 2.5, a, B, alpha, Zt, omega)
    args = [t.to(dtype) for t in (Z, p)] + [2.5] + [t.to(dtype) for t in (a, B, alpha, Zt, omega)]
    ws = Workspace()
    assert ws.buffers(K, dtype, torch.device("cpu"))[0].shape[0] * 3 < n * m
    e = evaluate(ws, act, *args)
    tol = 1e-12 if dtype == torch.float64 else 2e-5
    assert abs(e.U - ref["U"]) <= tol * max(1.0, abs(ref["U"]))
    for key in ("U_pi", "grad_Zt", "U_nu", "grad_a", "grad_B"):
        got, want = getattr(e, key).double(), ref[key]
        assert float((got - want).abs().max()) <= tol * max(1.0, float(want.abs().max())), key
    e2 = evaluate(ws, act, *args, learner=False)       # the adversary-only pass agrees and reuses buffers
    assert e2.U_nu is None and torch.equal(e2.grad_Zt, e.grad_Zt)


def _tanh_game(n=30, d=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = np.tanh(X @ np.array([1.0, -2.0][:d])) + 0.1 * rng.normal(size=n)
    return ParticleGame(X, y, np.full(n, 1 / n), "tanh", 20, 2.0, 3.0, 4.0)


def test_column_generation_improves_and_brackets():
    game = _tanh_game()
    res = wfr.run(game, wfr.WFRConfig(m=2, eta=0.5, kappa=1.0, eta_adv=0.05), 100)
    out = [learner_half(game, res.learner_last, res.adversary_last, n_theta=20, fw_candidates=200,
                        rounds=r) for r in (1, 15)]
    (v1, lo1, *_), (v15, lo15, *_) = out
    assert v15 <= v1 + 1e-12 and lo15 >= lo1 - 1e-12 and lo15 <= v15 + 1e-12
    assert v15 < 0.8 * v1                                      # one round was far from the optimum
    assert v15 - lo15 <= 2e-3 * v15                            # the bracket closes: feasible QP vs FW bound


def test_column_generation_closes_for_identity():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(25, 2))
    y = X @ np.array([0.4, -0.2]) + 0.1 * rng.normal(size=25)
    game = ParticleGame(X, y, np.full(25, 1 / 25), "identity", 4, 2.0, 2.0, 5.0)
    Z = np.column_stack([X, y])
    pi = AdversaryMeasure(Z[:, None, :] + 0.1 * rng.normal(size=(25, 2, 3)), np.full((25, 2), 0.5))
    nu = LearnerMeasure(np.array([1.0]), np.array([[0.1, 0.1, 0.0]]), np.array([1.0]), "identity")
    v, lo, status, _, _ = learner_half(game, nu, pi, n_theta=4, rounds=40, rtol=1e-6)
    assert status == "exact" and lo <= v and v - lo <= 1e-5 * abs(v)
