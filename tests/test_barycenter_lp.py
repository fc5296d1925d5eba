"""The barycenter group LP: brute force per cost family, limits, the DRO curve, the saddle point."""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

import robustdsl as rd
from robustdsl.errors import UnsupportedProblem
from robustdsl.ir.barycenter_program import BarycenterLP, TransportCost
from robustdsl.lowering import select
from robustdsl.lowering.barycenter_lp import RULE, transport_cost
from robustdsl.solvers.barycenter_lp import solve_barycenter_lp
from robustdsl.solvers.barycenter_saddle import certify

from _barycenter_ref import brute_force_value


def _instance(n=9, K=3, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2)) * scale
    labels = np.arange(n) % K
    w = rng.uniform(0.5, 1.5, n)
    return X, labels, w / w.sum()


def _problem(mu, cost, delta=None):
    f = rd.Agnostic(classes=mu.classes)
    mt = rd.Adversary(mu)
    if delta is None:
        return rd.inf(f, rd.sup(mt, rd.E(mt, rd.ZeroOne(f)) - rd.OT(mu, mt, cost)))
    return rd.inf(f, rd.sup(mt, rd.E(mt, rd.ZeroOne(f)), rd.OT(mu, mt, cost) <= delta))


BRUTE = [
    ("sq-l2", TransportCost(2, 0.5, 2)),
    ("l1-p1", TransportCost(1, 0.8, 1)),
    ("l2-p1", TransportCost(1, 0.7, 2)),
    ("l2-p3", TransportCost(3, 1.0, 2)),
    ("ball+sq-l2", TransportCost(2, 1.0, 2, eps=0.8)),
]


@pytest.mark.parametrize("seed,name,cost", [(i, *b) for i, b in enumerate(BRUTE)])
@pytest.mark.parametrize("delta", [None, 0.05])
def test_matches_brute_force(seed, name, cost, delta):
    """Every group enumerated, B(S) by scipy.optimize.minimize, the full LP by linprog."""
    X, lab, w = _instance(seed=seed)
    prog = BarycenterLP(X, lab, w, 3, cost, delta)
    res = solve_barycenter_lp(prog, "scipy")
    ref = brute_force_value(X, lab, w, cost, 3, delta)
    assert res.lower <= res.upper
    assert res.upper - res.lower <= 1e-8
    assert res.lower == pytest.approx(ref, abs=2e-7)
    cert = certify(prog, res)
    assert cert["ok"], cert
    assert cert["checks"]["classifier_side"].startswith("enumeration")


def test_four_classes_and_group_truncation():
    X, lab, w = _instance(n=12, K=4, seed=5, scale=0.6)
    cost = TransportCost(2, 1.0, 2)
    full = solve_barycenter_lp(BarycenterLP(X, lab, w, 4, cost), "scipy")
    B = lambda P: float(((P - P.mean(0)) ** 2).sum())   # noqa: E731  (squared l2, tau = 1: the mean)
    assert full.lower == pytest.approx(brute_force_value(X, lab, w, cost, 4, B=B), abs=1e-9)
    assert full.groups.counts_by_size().get(4, 0) > 0 or full.groups.counts_by_size().get(3, 0) > 0
    vals = [solve_barycenter_lp(BarycenterLP(X, lab, w, 4, cost, None, L), "scipy").lower for L in (2, 3)]
    refs = [brute_force_value(X, lab, w, cost, L, B=B) for L in (2, 3)]
    assert vals == pytest.approx(refs, abs=1e-9)
    assert vals[0] <= vals[1] + 1e-12 <= full.lower + 2e-12


def test_tau_to_zero_recovers_the_unattacked_risk():
    X, lab, w = _instance(n=12, seed=1)
    vals = [solve_barycenter_lp(BarycenterLP(X, lab, w, 3, TransportCost(2, tau, 2)), "scipy").lower
            for tau in (1.0, 0.1, 1e-3, 1e-6)]
    assert all(a >= b - 1e-12 for a, b in zip(vals, vals[1:]))
    assert vals[-1] == 0.0                      # distinct points: no pair is worth merging
    # two points at one location with different labels: the unattacked optimum is the lighter mass
    Xd = X.copy()
    Xd[1] = Xd[0]
    res = solve_barycenter_lp(BarycenterLP(Xd, lab, w, 3, TransportCost(2, 1e-6, 2)), "scipy")
    assert res.lower == pytest.approx(min(w[0], w[1]), abs=1e-12)


def test_steep_power_approaches_the_ball():
    """(d / eps)^p -> 0 / inf as p grows: AT of the power cost tends to AT of the eps-ball (K = 2)."""
    X, lab, w = _instance(n=14, K=2, seed=2)
    eps = 0.4
    ball = solve_barycenter_lp(BarycenterLP(X, lab, w, 2, TransportCost(None, 1.0, 2, eps=eps)), "scipy").lower
    gaps = []
    for p in (4, 16, 64, 256):
        v = solve_barycenter_lp(BarycenterLP(X, lab, w, 2, TransportCost(p, eps ** p, 2)), "scipy").lower
        gaps.append(abs(v - ball))
    assert gaps[-1] <= 1e-6 and gaps[-1] <= gaps[0]
    assert ball > 0


def test_constrained_value_is_nondecreasing_and_concave_in_delta():
    X, lab, w = _instance(n=12, seed=3)
    cost = TransportCost(2, 1.0, 2)
    deltas = np.linspace(0.0, 0.6, 9)
    vals = np.array([solve_barycenter_lp(BarycenterLP(X, lab, w, 3, cost, d), "scipy").lower for d in deltas])
    assert vals[0] == 0.0
    assert np.all(np.diff(vals) >= -1e-10)
    assert np.all(np.diff(vals, 2) <= 1e-9)
    assert vals[-1] > vals[0]
    # the ball cost: OT is 0 or inf, so the constrained value is the (delta-free) ball value
    ball = TransportCost(None, 1.0, 2, eps=0.5)
    vb = [solve_barycenter_lp(BarycenterLP(X, lab, w, 3, ball, d), "scipy").lower for d in (0.0, 0.3)]
    assert vb[0] == vb[1] == pytest.approx(brute_force_value(X, lab, w, ball, 3, 0.0), abs=1e-9)


def test_front_end_solution_and_certificate(tiny):
    cost = rd.Power(2, 0.5, 2)
    prob = _problem(tiny, cost)
    assert select(prob.form).name == "barycenter_lp"
    sol = prob.solve(certify=True)
    assert sol.status == "optimal" and sol.exact and sol.lower == sol.value <= sol.upper <= sol.value + 1e-8
    cert = sol.certificate()
    assert cert.ok and cert.gap <= 1e-8
    # the attack carries all the mass, with the learner's labels; the classifier is a distribution
    att = sol.attack
    assert att.mass == pytest.approx(tiny.mass)
    moved = np.sum((att.points - tiny.X[att.source]) ** 2, 1) / 0.5
    assert att.best_response_risk() - float(att.masses @ moved) == pytest.approx(sol.value, abs=1e-9)
    P = sol.classifier(np.random.default_rng(0).normal(size=(50, 2)))
    assert P.shape == (50, 3) and np.allclose(P.sum(1), 1.0) and np.all(P >= 0)
    # the price 1/tau as a factor on the OT term is the same problem
    f, mt = rd.Agnostic(classes=tiny.classes), rd.Adversary(tiny)
    scaled = rd.inf(f, rd.sup(mt, rd.E(mt, rd.ZeroOne(f)) - 2.0 * rd.OT(tiny, mt, rd.Power(2, 1.0, 2))))
    assert scaled.solve().value == pytest.approx(sol.value, abs=1e-12)


def test_adversary_best_response_to_the_classifier_on_a_grid():
    """For every sample, max over a fine grid of x~ of (1 - f*_y(x~) - c(x, x~)) stays <= 1 - q_v."""
    X, lab, w = _instance(n=9, seed=4)
    mu = rd.EmpiricalMeasure.from_arrays(X, lab, w)
    sol = _problem(mu, rd.Power(2, 0.5, 2)).solve()
    g = np.linspace(-3, 3, 121)
    G = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    F = sol.classifier(G)
    for v in range(len(X)):
        adv = 1.0 - F[:, lab[v]] - np.sum((G - X[v]) ** 2, 1) / 0.5
        assert adv.max() <= 1.0 - sol.q[v] + 1e-9
    assert sol.classifier.scores(G).sum(1).max() <= 1.0 + 1e-9


def test_certificate_rejects_a_tampered_dual():
    X, lab, w = _instance(seed=6)
    prog = BarycenterLP(X, lab, w, 3, TransportCost(2, 1.0, 2))
    res = solve_barycenter_lp(prog, "scipy")
    assert certify(prog, res)["ok"]
    bad = replace(res, q=np.minimum(res.q + 0.2, 1.0))
    c = certify(prog, bad)
    assert not c["ok"] and not c["checks"]["dual_feasible"]


def test_permutation_and_relabelling_invariance():
    X, lab, w = _instance(n=10, seed=7)
    cost = TransportCost(1, 1.0, 2)
    v = solve_barycenter_lp(BarycenterLP(X, lab, w, 3, cost), "scipy").lower
    perm = np.random.default_rng(0).permutation(10)
    vp = solve_barycenter_lp(BarycenterLP(X[perm], (lab[perm] + 1) % 3, w[perm], 3, cost), "scipy").lower
    assert vp == pytest.approx(v, abs=1e-10)


def test_transport_cost_conversion_and_refusals(tiny):
    assert transport_cost(rd.Ball(0.5, 2) + rd.Power(2, 2.0, 2)) == TransportCost(2, 2.0, 2, 0.5, 2)
    assert transport_cost(rd.Power(2, 2.0, 2) + rd.Power(2, 2.0, 2)).tau == pytest.approx(1.0)
    with pytest.raises(UnsupportedProblem):
        transport_cost(rd.Power(2, 1.0, 2) + rd.Power(1, 1.0, 2))
    # the penalised ball is the group-LP rule's, not this one's
    assert not RULE.accepts(_problem(tiny, rd.Ball(0.5, 2)).form)
    assert RULE.accepts(_problem(tiny, rd.Ball(0.5, 2), delta=0.1).form)
    with pytest.raises(UnsupportedProblem):
        _problem(tiny, rd.Power(2, 1.0, 2) + rd.Power(1, 1.0, 2)).compile(rule="barycenter_lp")


@pytest.mark.parametrize("backend", ["highs", "cvxpy", "pyomo"])
def test_back_ends_agree(tiny, backend):
    ref = _problem(tiny, rd.Power(1, 1.0, 1)).solve("scipy").value
    assert _problem(tiny, rd.Power(1, 1.0, 1)).solve(backend).value == pytest.approx(ref, abs=1e-7)
    refc = _problem(tiny, rd.Power(2, 1.0, 2), 0.1).solve("scipy").value
    assert _problem(tiny, rd.Power(2, 1.0, 2), 0.1).solve(backend).value == pytest.approx(refc, abs=1e-7)


def test_inputs_are_not_mutated():
    X, lab, w = _instance()
    X0, w0 = X.copy(), w.copy()
    mu = rd.EmpiricalMeasure.from_arrays(X, lab, w)
    _problem(mu, rd.Power(2, 1.0, 2)).solve()
    assert np.array_equal(X, X0) and np.array_equal(w, w0)
    assert math.isfinite(float(mu.X.sum()))


@pytest.mark.parametrize("norm", [2, 1, math.inf])
def test_constrained_ball_equals_the_group_lp_rule(tiny, norm):
    """OT of a ball cost is 0 or inf: the constrained form (this rule) equals the penalised
    ball value of the group-LP rule (a separate pipeline: exact MEB / box / l1 tests)."""
    ball = rd.Ball(0.6, norm)
    pen = _problem(tiny, ball).solve()
    assert pen.rule == "group_lp_ball"
    con = _problem(tiny, ball, delta=0.2).solve()
    assert con.rule == "barycenter_lp"
    assert con.value == pytest.approx(pen.value, abs=1e-9)


def test_options_are_checked(tiny):
    from robustdsl.errors import InvalidInput
    prob = _problem(tiny, rd.Power(2, 1.0, 2))
    with pytest.raises(InvalidInput) as ei:
        prob.solve(max_group_sise=2)
    assert ei.value.argument == "options"
    with pytest.raises(InvalidInput) as ei:
        prob.solve(max_group_size=1)
    assert ei.value.argument == "max_group_size"
    with pytest.raises(InvalidInput) as ei:
        prob.solve("sinkhorn", eta=-1.0)
    assert ei.value.argument == "eta"
    trunc = prob.solve(max_group_size=2)
    assert trunc.status == "lower_bound" and trunc.value <= prob.solve().value + 1e-12


@pytest.mark.parametrize("fmt,delta", [("lp", None), ("mps", 0.1)])
def test_export_reads_back_to_the_value(tiny, tmp_path, fmt, delta):
    import highspy
    prob = _problem(tiny, rd.Power(2, 0.5, 2), delta)
    path = prob.compile().export(tmp_path / f"bary.{fmt}")
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    assert h.readModel(str(path)) == highspy.HighsStatus.kOk
    h.run()
    assert abs(h.getInfo().objective_function_value) == pytest.approx(prob.solve().value, abs=1e-9)
    assert "w_" in path.read_text()
