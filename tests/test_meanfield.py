"""Mean-field WFR particle system: closed form with h = identity, gap halves, baselines, errors."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize as so

import robustdsl as rd
from robustdsl.errors import InvalidInput, SolverFailed, UnsupportedProblem
from robustdsl.ir import ParticleGame
from robustdsl.solvers import wfr
from robustdsl.solvers.meanfield_model import AdversaryMeasure, LearnerMeasure
from robustdsl.solvers.nash_gap import adversary_half, learner_half, nash_gap

C_A = 5.0


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    """One torch thread for every test of this module (conftest.one_torch_thread)."""


def _data(n=20, d=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = X @ np.linspace(0.5, -0.3, d) + 0.2 + 0.1 * rng.normal(size=n)
    return X, y


def _problem(X, y, activation="identity", width=50, c_a=C_A, a_max=3.0, b_max=3.0):
    mu = rd.EmpiricalMeasure.from_arrays(X, y, task="regression")
    f = rd.MeanField(activation, width, a_max, b_max)
    mt = rd.Adversary(mu)
    return rd.inf(f, rd.sup(mt, rd.E(mt, rd.Squared(f)) - rd.OT(mu, mt, rd.SquaredZ(c_a))))


def _closed_form_value(X, y, c_a):
    """V* = min_beta c_a MSE(beta) / (c_a - |beta_x|^2 - 1) (convex; BFGS from least squares)."""
    Xa = np.column_stack([X, np.ones(len(X))])

    def g(beta):
        s = c_a - beta[:-1] @ beta[:-1] - 1
        return np.mean((Xa @ beta - y) ** 2) * c_a / s if s > 0 else 1e10
    res = so.minimize(g, np.linalg.lstsq(Xa, y, rcond=None)[0], method="BFGS", options={"gtol": 1e-13})
    return res.fun, res.x


@pytest.fixture(scope="module")
def identity_solution():
    X, y = _data()
    sol = _problem(X, y).solve(method="wfr", steps=2000, m=2, history_every=1000, history_gap=True)
    return X, y, sol


def test_identity_reaches_closed_form(identity_solution):
    X, y, sol = identity_solution
    v_star, beta_star = _closed_form_value(X, y, C_A)
    assert sol.status == "certified"
    assert abs(sol.value - v_star) <= 1e-3 * v_star          # required accuracy
    assert abs(sol.value - v_star) <= 1e-8 * v_star          # what it actually reaches
    assert sol.lower <= v_star + 1e-12 and v_star <= sol.upper + 1e-12
    assert sol.gap.gap_upper <= 1e-6 * v_star                # the Nash gap goes to ~0
    assert np.allclose(sol.classifier.beta, beta_star, atol=1e-5)
    assert [h["step"] for h in sol.history] == [1000, 2000]
    assert sol.history[-1]["gap_upper"] <= sol.history[0]["gap_upper"]
    cert = sol.certificate()
    assert cert.ok and cert.checks["closed_form_agrees"] and cert.lower <= v_star <= cert.upper


def test_adversary_half_matches_closed_form():
    """For any linear learner, sup = c_a MSE(beta) / (c_a - |beta_x|^2 - 1) per MATH.md."""
    X, y = _data(15, 3, seed=1)
    game = ParticleGame(X, y, np.full(15, 1 / 15), "identity", 4, 2.0, 2.0, C_A)
    rng = np.random.default_rng(3)
    nu = LearnerMeasure(rng.uniform(-1, 1, 4), rng.normal(size=(4, 4)) * 0.4, np.full(4, 0.25), "identity")
    beta = nu.beta
    closed = C_A * np.mean((np.column_stack([X, np.ones(15)]) @ beta - y) ** 2) / (C_A - beta[:-1] @ beta[:-1] - 1)
    sup, upper, status, gmax, _ = adversary_half(game, nu)
    assert status == "strongly_concave"
    assert abs(sup - closed) <= 1e-10 * closed and closed <= upper + 1e-12 and upper - sup <= 1e-10


def test_learner_half_brackets_least_squares():
    """inf_nu U(pi, nu) for h = identity is a least-squares problem in beta (|beta| <= a_max b_max)."""
    X, y = _data(12, 2, seed=2)
    n = 12
    game = ParticleGame(X, y, np.full(n, 1 / n), "identity", 3, 2.0, 2.0, C_A)
    rng = np.random.default_rng(4)
    Z = np.column_stack([X, y])
    pi = AdversaryMeasure(Z[:, None, :] + 0.1 * rng.normal(size=(n, 3, 3)), np.full((n, 3), 1 / 3))
    nu = LearnerMeasure(np.array([1.0, -0.5]), rng.normal(size=(2, 3)), np.array([0.5, 0.5]), "identity")
    Xt = pi.Zt.reshape(-1, 3)
    w = (np.full(n, 1 / n)[:, None] * pi.omega).ravel()
    A = np.sqrt(w)[:, None] * np.column_stack([Xt[:, :2], np.ones(len(Xt))])
    beta = np.linalg.lstsq(A, np.sqrt(w) * Xt[:, 2], rcond=None)[0]
    assert np.linalg.norm(beta) < 4.0                       # the ball constraint is inactive
    truth = np.sum(w * (A @ beta / np.sqrt(w) - Xt[:, 2]) ** 2) - C_A * np.sum(w * ((pi.Zt - Z[:, None]) ** 2).sum(-1).ravel())
    inf_value, inf_lower, status, qp_status, U = learner_half(game, nu, pi, n_theta=300)
    assert status == "exact" and qp_status.startswith("optimal")
    assert inf_lower <= truth + 1e-12 <= inf_value + 2e-12
    assert inf_value - inf_lower <= 1e-5 and inf_value <= U


@pytest.mark.parametrize("method", ["gda", "wrm"])
def test_baselines_same_interface(method):
    X, y = _data()
    v_star, _ = _closed_form_value(X, y, C_A)
    sol = _problem(X, y).solve(method=method, steps=300, m=2, inner_steps=3)
    assert sol.info["method"] == method
    assert sol.info["grad_evals"] == (300 * 4 if method == "wrm" else 300)
    assert sol.status == "certified"
    assert sol.value >= v_star - 1e-9 * v_star                # sup at any learner is >= the game value
    assert sol.lower <= v_star <= sol.upper + 1e-12
    assert 0 <= sol.gap.gap_upper < 0.1 * v_star


def test_wfr_beats_gda_at_equal_steps_identity():
    X, y = _data()
    gaps = {m: _problem(X, y).solve(method=m, steps=500, m=2).gap.gap for m in ("wfr", "gda")}
    assert 0 <= gaps["wfr"] < gaps["gda"]


def test_determinism_and_seed():
    X, y = _data(10, 2)
    game = ParticleGame(X, y, np.full(10, 0.1), "tanh", 16, 2.0, 2.0, 4.0)
    runs = [wfr.run(game, wfr.WFRConfig(m=3, seed=s), 30) for s in (7, 7, 8)]
    assert np.array_equal(runs[0].learner_avg.B, runs[1].learner_avg.B)
    assert np.array_equal(runs[0].adversary_last.Zt, runs[1].adversary_last.Zt)
    assert not np.array_equal(runs[0].learner_last.B, runs[2].learner_last.B)


def test_step_is_pure_and_snapshots_bounded():
    X, y = _data(8, 2)
    game = ParticleGame(X, y, np.full(8, 1 / 8), "sigmoid", 10, 2.0, 2.0, 4.0)
    s0 = wfr.init(game, wfr.WFRConfig(m=2, snapshots=4))
    a0 = s0.a.clone()
    s1 = wfr.step(s0)
    assert s0.t == 0 and s1.t == 1 and np.array_equal(s0.a.numpy(), a0.numpy())
    s = s1
    for _ in range(99):
        s = wfr.step(s)
    assert len(s.snap_times) <= 4 and 100 - s.snap_interval < s.snap_times[-1] <= 100
    assert set(np.diff(s.snap_times)) == {s.snap_interval}
    nu, pi = wfr.averaged(s)
    assert abs(nu.alpha.sum() - 1) < 1e-12 and np.allclose(pi.omega.sum(1), 1)
    assert np.all(np.abs(nu.a) <= 2.0) and np.all(np.linalg.norm(nu.B, axis=1) <= 2.0 + 1e-12)


def test_float32_and_schedules_and_tanh_gap_is_consistent():
    X, y = _data(15, 2, seed=5)
    game = ParticleGame(X, np.tanh(y), np.full(15, 1 / 15), "tanh", 32, 2.0, 2.0, 6.0)
    cfg = dict(m=3, eta=lambda t: 0.1 / (1 + t) ** 0.25, kappa=0.5)
    r32 = wfr.run(game, wfr.WFRConfig(dtype="float32", **cfg), 200)
    r64 = wfr.run(game, wfr.WFRConfig(dtype="float64", **cfg), 200)
    assert r32.state.a.dtype.itemsize == 4
    v32, v64 = wfr.value(r32.state), wfr.value(r64.state)
    assert abs(v32 - v64) <= 1e-4 * max(1.0, abs(v64))
    g = nash_gap(game, r64.learner_avg, r64.adversary_avg, n_theta=100, fw_candidates=300)
    assert g.inf_lower <= g.inf_value + 1e-12 <= g.U_value + 2e-12 and g.U_value <= g.sup_value + 1e-12
    assert g.inf_status == "sampled" and g.gap >= -1e-10
    # the ascent's value is at least the value at the data points (the adversary may stay put)
    assert g.sup_value >= float(np.mean((r64.learner_avg(X) - np.tanh(y)) ** 2)) - 1e-12


def test_relu_runs_and_input_not_mutated():
    X, y = _data(10, 2)
    X0, y0 = X.copy(), y.copy()
    sol = _problem(X, y, "relu", width=20).solve(steps=50, m=2, n_theta=50, fw_candidates=100)
    assert np.array_equal(X, X0) and np.array_equal(y, y0)
    assert sol.status == "estimate" and np.isfinite(sol.value) and sol.gap.sup_status == "multistart"
    assert not sol.certificate().ok


@pytest.mark.parametrize("opts,arg", [
    ({"method": "adam"}, "method"), ({"eta": -0.1}, "eta"), ({"dtype": "float16"}, "dtype"),
    ({"device": "tpu"}, "device"), ({"m": 0}, "m"), ({"bogus": 1}, "options"),
    ({"steps": -1}, "steps"), ({"tail": 1.0}, "tail"), ({"snapshots": 1}, "snapshots"),
])
def test_invalid_options(opts, arg):
    X, y = _data(6, 2)
    with pytest.raises(InvalidInput) as e:
        _problem(X, y).solve(**dict({"steps": 2}, **opts))
    assert e.value.argument == arg


def test_invalid_game_and_structure():
    X, y = _data(6, 2)
    with pytest.raises(InvalidInput, match="X"):
        ParticleGame(np.where(X > 0, np.nan, X), y, np.full(6, 1 / 6), "tanh", 4, 1.0, 1.0, 1.0)
    with pytest.raises(InvalidInput, match="weights"):
        ParticleGame(X, y, np.full(5, 0.2), "tanh", 4, 1.0, 1.0, 1.0)
    with pytest.raises(InvalidInput, match="c_a"):
        ParticleGame(X, y, np.full(6, 1 / 6), "tanh", 4, 1.0, 1.0, 0.0)
    game = ParticleGame(X, y, np.full(6, 1 / 6), "tanh", 4, 1.0, 1.0, 1.0)
    nu = LearnerMeasure(np.ones(1), np.ones((1, 3)), np.ones(1), "tanh")
    with pytest.raises(InvalidInput, match="adversary"):
        nash_gap(game, nu, AdversaryMeasure(np.zeros((5, 1, 3)), np.ones((5, 1))))
    with pytest.raises(InvalidInput, match="X"):
        nu(np.zeros((2, 5)))
    mu = rd.EmpiricalMeasure.from_arrays(X, (y > 0).astype(int))
    f = rd.MeanField("tanh", 4)
    mt = rd.Adversary(mu)
    with pytest.raises(UnsupportedProblem):
        rd.inf(f, rd.sup(mt, rd.E(mt, rd.Squared(f)) - rd.OT(mu, mt, rd.SquaredZ(1.0)))).compile()


def test_cuda_device_or_refusal():
    """device='cuda' runs where a GPU exists (same numbers as the CPU in float64), else is refused."""
    import torch
    X, y = _data(8, 2)
    game = ParticleGame(X, y, np.full(8, 1 / 8), "tanh", 8, 2.0, 2.0, 4.0)
    if not torch.cuda.is_available():
        with pytest.raises(InvalidInput) as e:
            wfr.WFRConfig(device="cuda")
        assert e.value.argument == "device"
        return
    r_gpu = wfr.run(game, wfr.WFRConfig(m=2, device="cuda"), 20)
    r_cpu = wfr.run(game, wfr.WFRConfig(m=2), 20)
    assert np.allclose(r_gpu.learner_avg.B, r_cpu.learner_avg.B, atol=1e-10)


def test_divergence_is_a_typed_error():
    X, y = _data(6, 2)
    game = ParticleGame(X, 100 * y, np.full(6, 1 / 6), "identity", 4, 50.0, 50.0, 0.01)
    with pytest.raises(SolverFailed) as e:
        wfr.run(game, wfr.WFRConfig(m=1, eta=50.0, eta_adv=50.0), 200)
    assert e.value.status == "diverged"
