"""Hostile inputs of the mean-field route: each is refused with InvalidInput / ResourceLimit naming the
argument, before any particle is allocated or step taken, and the user's arrays are left unchanged."""
from __future__ import annotations

import numpy as np
import pytest

import robustdsl as rd
from robustdsl.errors import InvalidInput, ResourceLimit, SolverFailed
from robustdsl.ir import ParticleGame
from robustdsl.solvers import wfr
from robustdsl.solvers.meanfield_model import AdversaryMeasure, LearnerMeasure
from robustdsl.solvers.nash_gap import nash_gap


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    """One torch thread for every test of this module (conftest.one_torch_thread)."""


def _data(n=10, d=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, X @ np.linspace(0.5, -0.3, d) + 0.2 + 0.1 * rng.normal(size=n)


def _problem(X, y, activation="identity", width=10, c_a=5.0, a_max=3.0, b_max=3.0):
    mu = rd.EmpiricalMeasure.from_arrays(X, y, task="regression")
    f = rd.MeanField(activation, width, a_max, b_max)
    mt = rd.Adversary(mu)
    return rd.inf(f, rd.sup(mt, rd.E(mt, rd.Squared(f)) - rd.OT(mu, mt, rd.SquaredZ(c_a))))


def _game(width=10, **kw):
    X, y = _data()
    return ParticleGame(X, y, np.full(10, 0.1), kw.pop("activation", "tanh"), width,
                        kw.pop("a_max", 2.0), kw.pop("b_max", 2.0), kw.pop("c_a", 4.0))


# (option dict, error type, argument named, words in the message): refused by compile(), i.e. before solving
OPTION_CASES = [
    ({"m": 10 ** 9}, ResourceLimit, "m", "GiB"),
    ({"seed": 2 ** 70}, InvalidInput, "seed", "2**64"),
    ({"seed": -1}, InvalidInput, "seed", ">= 0"),
    ({"n_theta": -1}, InvalidInput, "n_theta", ">= 1"),
    ({"n_theta": 0}, InvalidInput, "n_theta", ">= 1"),
    ({"n_theta": 10 ** 6}, ResourceLimit, "n_theta", "Gram"),
    ({"fw_candidates": -1}, InvalidInput, "fw_candidates", ">= 0"),
    ({"gap_starts": -1}, InvalidInput, "gap_starts", ">= 0"),
    ({"gap_random_starts": 1.5}, InvalidInput, "gap_random_starts", "integer"),
    ({"gap_iters": -5}, InvalidInput, "gap_iters", ">= 0"),
    ({"gap_rounds": 0}, InvalidInput, "gap_rounds", ">= 1"),
    ({"gap_tol": -1}, InvalidInput, "gap_tol", ">= 0"),
    ({"gap_tol": float("nan")}, InvalidInput, "gap_tol", "NaN"),
    ({"gap_tol": "x"}, InvalidInput, "gap_tol", "real number"),
    ({"history_gap": "yes"}, InvalidInput, "history_gap", "True or False"),
    ({"progress": "no"}, InvalidInput, "progress", "True or False"),
    ({"progress": 1}, InvalidInput, "progress", "True or False"),
    ({"history_every": -1}, InvalidInput, "history_every", ">= 0"),
    ({"tail": 1.0}, InvalidInput, "tail", "< 1"),
    ({"eta": lambda: 1}, InvalidInput, "eta", "TypeError"),
    ({"kappa": lambda t, u: 1}, InvalidInput, "kappa", "TypeError"),
    ({"eta": lambda t: -1}, InvalidInput, "eta", "returned -1"),
    ({"eta": lambda t: 0.0}, InvalidInput, "eta", "> 0"),
    ({"eta_adv": lambda t: float("nan")}, InvalidInput, "eta_adv", "returned nan"),
    ({"kappa_adv": lambda t: "0.1"}, InvalidInput, "kappa_adv", "returned '0.1'"),
    ({"max_bytes": 0}, InvalidInput, "max_bytes", ">= 1"),
    ({"max_bytes": 1000}, ResourceLimit, "m", "max_bytes="),
]


@pytest.mark.parametrize("opts,err,arg,words", OPTION_CASES,
                         ids=[f"{a}-{i}" for i, (_, _, a, _) in enumerate(OPTION_CASES)])
def test_bad_options_refused_at_compile(opts, err, arg, words):
    X, y = _data()
    X0, y0 = X.copy(), y.copy()
    with pytest.raises(err) as e:
        _problem(X, y).compile(**dict({"steps": 3, "m": 2}, **opts))
    assert type(e.value) is err and e.value.argument == arg and words in str(e.value)
    assert np.array_equal(X, X0) and np.array_equal(y, y0)


def test_bad_options_refused_at_solve_time_too():
    """Options given to Compiled.solve (after compile) are checked the same way."""
    X, y = _data()
    compiled = _problem(X, y).compile(steps=3, m=2)
    with pytest.raises(InvalidInput) as e:
        compiled.solve(gap_tol="x")
    assert e.value.argument == "gap_tol"


def test_huge_width_is_a_resource_limit():
    X, y = _data()
    with pytest.raises(ResourceLimit) as e:
        _problem(X, y, width=10 ** 12).compile(steps=3, m=2)
    assert e.value.argument == "width" and "16 GiB" in str(e.value)
    with pytest.raises(ResourceLimit) as e:                     # the solver's own entry point too
        wfr.init(_game(width=10 ** 12), wfr.WFRConfig(m=2))
    assert e.value.argument == "width"
    with pytest.raises(ResourceLimit) as e:
        wfr.run(_game(), wfr.WFRConfig(m=10 ** 9), 1)
    assert e.value.argument == "m"


def test_max_bytes_raises_the_limit_and_wrm_counts_one_atom():
    game = _game()
    learner, adversary = wfr.particle_bytes(game, wfr.WFRConfig(m=2))
    assert learner > 0 and adversary > 0
    need = wfr.check_memory(game, wfr.WFRConfig(m=2))
    assert need == learner + adversary
    with pytest.raises(ResourceLimit):
        wfr.check_memory(game, wfr.WFRConfig(m=2, max_bytes=need - 1))
    assert wfr.check_memory(game, wfr.WFRConfig(m=2, max_bytes=need)) == need
    # wrm keeps one adversarial point per sample whatever m says
    assert wfr.check_memory(_game(), wfr.WFRConfig(method="wrm", m=10 ** 9)) < 10 ** 7


@pytest.mark.parametrize("name", ["a_max", "b_max"])
def test_absurd_theta_bounds_refused(name):
    X, y = _data()
    with pytest.raises(InvalidInput) as e:
        rd.MeanField("tanh", 10, **{name: 1e308})
    assert e.value.argument == name and "1e+15" in str(e.value)
    with pytest.raises(InvalidInput) as e:
        _game(**{name: 1e200})
    assert e.value.argument == name
    _problem(X, y, **{name: 1e15}).compile(steps=3, m=2)        # the bound itself is accepted


def test_seed_range():
    assert wfr.WFRConfig(seed=2 ** 64 - 1).seed == 2 ** 64 - 1   # torch's largest seed
    wfr.init(_game(), wfr.WFRConfig(m=2, seed=2 ** 64 - 1))
    with pytest.raises(InvalidInput) as e:
        wfr.WFRConfig(seed=2 ** 64)
    assert e.value.argument == "seed"


def test_schedule_failing_later_names_its_option():
    """eta is also the adversary's step when eta_adv is unset: a bad value is reported against eta."""
    game = _game()
    bad_later = lambda t: 0.05 if t < 2 else -1.0   # noqa: E731
    with pytest.raises(InvalidInput) as e:
        wfr.run(game, wfr.WFRConfig(m=2, eta=bad_later), 5)
    assert e.value.argument == "eta" and "step 2" in str(e.value)
    with pytest.raises(InvalidInput) as e:
        wfr.run(game, wfr.WFRConfig(m=2, eta_adv=lambda t: 0.05 if t < 2 else 1 / (t - 2)), 5)
    assert e.value.argument == "eta_adv" and "ZeroDivisionError" in str(e.value)


def test_nash_gap_options_checked():
    game = _game()
    nu = LearnerMeasure(np.ones(1), np.ones((1, 3)), np.ones(1), "tanh")
    pi = AdversaryMeasure(np.zeros((10, 1, 3)), np.ones((10, 1)))
    for kw, arg in (({"n_theta": -1}, "n_theta"), ({"starts": -1}, "starts"), ({"ascent_iters": -5}, "ascent_iters"),
                    ({"rounds": 0}, "rounds"), ({"fw_candidates": -1}, "fw_candidates"), ({"seed": -1}, "seed")):
        with pytest.raises(InvalidInput) as e:
            nash_gap(game, nu, pi, **kw)
        assert e.value.argument == arg


def test_boundary_options_still_run():
    """The smallest accepted values give an answer (no change for valid input)."""
    X, y = _data()
    sol = _problem(X, y, "relu").solve(steps=3, m=2, n_theta=1, fw_candidates=0, gap_starts=0,
                                       gap_random_starts=0, gap_iters=0, gap_tol=0, history_gap=True,
                                       history_every=1, kappa=lambda t: 0.0, progress=False)
    assert np.isfinite(sol.value) and len(sol.history) == 3
    assert not sol.certificate().ok


def test_divergence_with_huge_c_a_blames_the_step_not_c_a():
    X, y = _data()
    with pytest.raises(SolverFailed) as e:
        _problem(X, y, c_a=1e300).solve(steps=5, m=2)
    msg = str(e.value)
    assert e.value.status == "diverged" and "eta_adv * c_a" in msg and "increase c_a" not in msg


@pytest.mark.parametrize("bad", [[[np.nan, 0.0]], [[np.inf, 1.0]], [[1j, 0.0]], [["a", "b"]], [[0.0, 1.0, 2.0]]])
def test_learner_refuses_bad_query_points(bad):
    nu = LearnerMeasure(np.ones(3), np.ones((3, 3)), np.full(3, 1 / 3), "tanh")
    with pytest.raises(InvalidInput) as err:
        nu(np.array(bad) if not isinstance(bad[0][0], str) else bad)
    assert err.value.argument == "X"
    assert nu(np.zeros((4, 2))[::-1]).shape == (4,) and nu(np.zeros(2)).shape == (1,)
