"""Boundary cases of the barycenter route: balls that only touch, power and ball in different
norms, tie groups of a pure ball cost in the constrained form, truncated prices, and the
certificate's treatment of a rounding-level dual excess.  Every value is checked against the
brute force of _barycenter_ref (all groups enumerated, B(S) by an independent search) or a
hand-derived closed form."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import robustdsl as rd
from robustdsl.ir.barycenter_program import BALL_RTOL, TransportCost
from robustdsl.lowering.barycenter_lp import transport_cost
from robustdsl.solvers.ball_groups import RTOL
from robustdsl.solvers.barycenters import barycenters

from _barycenter_ref import brute_force_value, generic_barycenter, nested_barycenter


def _problem(X, y, cost, w=None, delta=None):
    mu = rd.EmpiricalMeasure.from_arrays(np.asarray(X, float), np.asarray(y), None if w is None else np.asarray(w))
    f, m = rd.Agnostic(classes=mu.classes), rd.Adversary(mu)
    if delta is None:
        return rd.inf(f, rd.sup(m, rd.E(m, rd.losses.ZeroOne(f)) - rd.OT(mu, m, cost))), mu
    text = "inf_f sup_{mu~ : OT_c(mu, mu~) <= delta} E_{mu~}[zero_one(f)]"
    return rd.parse(text, f=f, mu=mu, c=cost, delta=delta), mu


def _brute(X, y, mu, cost, delta=None):
    tc = transport_cost(cost)
    X = np.asarray(X, float)
    return brute_force_value(X, np.asarray(y), mu.weights, tc, len(mu.classes), delta,
                             B=lambda P: nested_barycenter(P, tc))


def test_one_ball_tolerance_shared_with_the_ball_rule():
    assert BALL_RTOL == RTOL


# ----------------------------------------------------------------------------- (7) truncated prices
def test_truncated_price_classifier_returns_probabilities():
    """Three coincident points of three classes, B = 0 for every group: AT_2 = 1/2 (w = 1/6 on
    each pair), AT = 2/3 (the triple).  The AT_2 prices q = 1/2 are feasible for pairs only; at
    the common point their scores sum to 3/2, and the classifier divides by that sum."""
    X, y = np.zeros((3, 1)), [0, 1, 2]
    prob, mu = _problem(X, y, rd.Power(2, 1, 2))
    trunc = prob.solve(max_group_size=2)
    assert trunc.status == "lower_bound" and trunc.value == pytest.approx(0.5, abs=1e-9)
    tc = transport_cost(rd.Power(2, 1, 2))
    assert trunc.value == pytest.approx(brute_force_value(X, np.array(y), mu.weights, tc, 2), abs=1e-9)
    Z = np.array([[0.0], [0.3], [5.0]])
    P = trunc.classifier(Z)
    assert np.all(P >= 0) and np.allclose(P.sum(1), 1.0)
    assert np.allclose(P[0], 1.0 / 3.0)                     # symmetric prices: the uniform vector
    exact = prob.solve()
    assert exact.status == "optimal" and exact.value == pytest.approx(2.0 / 3.0, abs=1e-9)
    F = exact.classifier.scores(Z)
    assert F.sum(1).max() <= 1.0 + 1e-9                    # exact prices: no rescaling needed
    assert np.allclose(exact.classifier(Z).sum(1), 1.0)


# ----------------------------------------------------------------------------- (8) ball + power
def test_ball_and_power_in_different_norms_closes():
    """X on a line: every norm is |.|, so Ball(0.3, l2) + Power(2, 1, l1) is the l2 problem.  The
    triple's barycenter sits on the ball boundary (y = 0.51, B = 0.2254); value 0.5915333..."""
    X, y = [[0.76], [0.21], [0.78]], [0, 1, 2]
    for pn in (1, 2, math.inf):
        cost = rd.Ball(0.3, 2) + rd.Power(2, 1, pn)
        prob, mu = _problem(X, y, cost)
        sol = prob.solve()
        assert sol.status == "optimal" and sol.certificate().ok
        assert sol.value == pytest.approx(_brute(X, y, mu, cost), abs=1e-9)
        assert sol.value == pytest.approx((2.0 - 0.2254) / 3.0, abs=1e-9)


@pytest.mark.parametrize("bn,pn", [(2, 1), (math.inf, 2), (1, math.inf), (2, math.inf), (1, 2)])
def test_mixed_norm_groups_match_the_independent_search(bn, pn):
    """In the plane the split dual (a power part and a ball part per member) closes B(S)'s
    interval where the two norms differ; the values agree with the nested search."""
    rng = np.random.default_rng(11)
    Xg = rng.uniform(0.0, 1.0, size=(8, 3, 2))
    cost = TransportCost(2.0, 1.0, pn, eps=0.45, ball_norm=bn)
    res = barycenters(Xg, cost)
    for i in range(Xg.shape[0]):
        ref = nested_barycenter(Xg[i], cost)
        if not np.isfinite(ref):
            assert res.upper[i] == np.inf
            continue
        assert res.lower[i] <= ref + 1e-9 and res.upper[i] - res.lower[i] <= 1e-8 * (1 + ref), (i, res.lower[i], res.upper[i])
        assert res.upper[i] == pytest.approx(ref, abs=1e-8)


def test_ball_boundary_tie_on_a_line():
    """X = 0, 1, 0 with eps = 1/2: the triple's balls share the single point 1/2 (B = 3/8 with
    Power(1, 4)); the LP picks the triple with w = 1/3: value (2 - 3/8) / 3 = 13/24."""
    X, y = [[0.0], [1.0], [0.0]], [0, 1, 2]
    cost = rd.Ball(0.5, 2) + rd.Power(1, 4, 2)
    prob, mu = _problem(X, y, cost)
    sol = prob.solve()
    assert sol.status == "optimal" and sol.certificate().ok
    assert sol.value == pytest.approx(13.0 / 24.0, abs=1e-12)
    assert sol.value == pytest.approx(_brute(X, y, mu, cost), abs=1e-9)


def test_touching_l2_balls_in_the_plane():
    """(0, 0) and (2, 0) with eps = 1: the balls touch at (1, 0), the only admissible barycenter of
    any group holding both (no Lagrange multiplier exists there, the point is recognised exactly).
    With (1, 1/2) and Power(2, 4): B = (1 + 1 + 1/4) / 4, value (2 - 9/16) / 3 = 23/48."""
    X, y = [[0.0, 0.0], [2.0, 0.0], [1.0, 0.5]], [0, 1, 2]
    cost = rd.Ball(1.0, 2) + rd.Power(2, 4, 2)
    res = barycenters(np.array([X]), transport_cost(cost))
    assert res.lower[0] == res.upper[0] == pytest.approx(9.0 / 16.0, abs=1e-15)
    assert np.array_equal(res.points[0], [1.0, 0.0])
    prob, mu = _problem(X, y, cost)
    sol = prob.solve()
    assert sol.status == "optimal" and sol.certificate().ok
    assert sol.value == pytest.approx(23.0 / 48.0, abs=1e-12)
    assert sol.value == pytest.approx(_brute(X, y, mu, cost), abs=1e-9)


@pytest.mark.parametrize("bn", [1, math.inf])
def test_polyhedral_ball_ties_in_the_plane(bn):
    """Integer points whose l1 / l_inf balls meet in a segment or a point: B(S) closes and the
    value matches the brute force."""
    X = [[0.0, 0.0], [2.0, 0.0], [1.0, 1.0], [1.0, 2.0], [0.0, 1.0]]
    y = [0, 1, 2, 0, 1]
    cost = rd.Ball(1.0, bn) + rd.Power(2, 2, 2)
    prob, mu = _problem(X, y, cost)
    sol = prob.solve()
    assert sol.status == "optimal" and sol.certificate().ok
    assert sol.value == pytest.approx(_brute(X, y, mu, cost), abs=1e-8)


# ----------------------------------------------------------------------------- (9) DRO ball ties
@pytest.mark.parametrize("backend", ["highs", "scipy", "cvxpy"])
def test_constrained_ball_tie_groups(backend):
    """l1 balls on a line, radius 1, points 1, 2, 3 (a group of radius exactly 1): B is 0 for every
    admissible group (so the budget never binds) and the value is the ball rule's (independent
    route) and the brute force's: 0.6."""
    X, y = [[3.0], [1.0], [2.0], [3.0], [0.0]], [0, 1, 2, 3, 0]
    prob, mu = _problem(X, y, rd.Ball(1.0, 1), delta=0.01)
    sol = prob.solve(backend)
    assert sol.status == "optimal" and sol.certificate().ok
    assert sol.value == pytest.approx(0.6, abs=1e-9)
    assert sol.value == pytest.approx(_brute(X, y, mu, rd.Ball(1.0, 1), 0.01), abs=1e-9)
    pen, _ = _problem(X, y, rd.Ball(1.0, 1))
    assert sol.value == pytest.approx(pen.solve().value, abs=1e-9)


def test_constrained_ball_tie_triple():
    X, y = [[3.0], [1.0], [2.0]], [0, 1, 2]
    prob, mu = _problem(X, y, rd.Ball(1.0, 1), delta=0.1)
    sol = prob.solve()
    assert sol.status == "optimal" and sol.value == pytest.approx(2.0 / 3.0, abs=1e-12)


def test_l1_enclosing_ball_in_three_dimensions_is_decided_exactly():
    """l1 enclosing radii in 3+ dimensions: the LP's measured radius above, its dual (weighted
    median) bound below, both within 1e-12 of scipy's LP (an independent formulation); on the
    integer group below (radius exactly 4 while the bulk bounds say [4, 5]) they meet at 4."""
    from robustdsl.solvers.ball_geometry import enclosing_radius

    from group_lp_helpers import enclosing_radius as reference

    rng = np.random.default_rng(11)
    Xg = rng.normal(size=(40, 4, 5)) * 3.0
    lo, up, C = enclosing_radius(Xg, 1)
    ref = np.array([reference(P, 1) for P in Xg])
    assert np.all(lo <= ref * (1 + 1e-12)) and np.all(up >= ref * (1 - 1e-12))
    assert np.max((up - lo) / up) < 1e-12
    assert np.allclose(np.abs(Xg - C[:, None, :]).sum(2).max(1), up, rtol=0, atol=1e-12)
    lo, up, _ = enclosing_radius(np.array([[[2.0, 3, 4], [0, 0, 4], [4, 1, 1]]]), 1)
    assert lo[0] == up[0] == 4.0


def test_constrained_l1_ball_tie_in_three_dimensions():
    """The DRO form (barycenter route) with l1 balls in 3-D whose triple has radius exactly eps:
    decided admissible (it raised CertificateFailed, the radius left in [r (1 - 1e-7), r]); the
    value is the penalised ball rule's (group LP, an independent route)."""
    X = np.array([[2.0, 3, 4], [0, 0, 4], [4, 1, 1], [9, 9, 9]])
    y = [0, 1, 2, 0]
    prob, _ = _problem(X, y, rd.Ball(4.0, 1), delta=0.01)
    sol = prob.solve()
    assert sol.status == "optimal" and sol.certificate().ok
    pen, _ = _problem(X, y, rd.Ball(4.0, 1))
    assert sol.value == pytest.approx(pen.solve().value, abs=1e-12) and sol.value == pytest.approx(0.5)


def test_ball_power_l1_tie_in_three_dimensions_is_an_honest_interval():
    """Ball(4, l1) + Power(2, 20): the three l1 balls meet in a set without interior (enclosing
    radius exactly 4) and the convex program's point (solved at a relaxed radius) cannot be moved
    into all of them, so B of the triple is known only within [0.95, 1.075]. By hand: B = 19/20
    at z = (2, 1, 3), the triple's gain 2 - 0.95 = 1.05 per unit beats every pair (0.675, 0.575,
    0.35 for two units), so AT = 1.05 / 3 = 0.35. The answer is a certified interval holding it
    (it raised CertificateFailed); a reported end moved past what the objects prove fails."""
    from dataclasses import replace

    from robustdsl.solvers.barycenter_lp import solve_barycenter_lp
    from robustdsl.solvers.barycenter_saddle import certify

    X, y = [[2.0, 3, 4], [0, 0, 4], [4, 1, 1]], [0, 1, 2]
    prob, _ = _problem(X, y, rd.Ball(4.0, 1) + rd.Power(2, 20.0, 2))
    sol = prob.solve()
    cert = sol.certificate()
    assert sol.status == "interval" and cert.ok, cert.message
    assert sol.lower - 1e-12 <= 0.35 <= sol.upper + 1e-12 and sol.upper - sol.lower < 0.07
    prog = prob.compile().program
    res = solve_barycenter_lp(prog, "highs")
    assert certify(prog, res)["ok"]
    assert not certify(prog, replace(res, lower=res.lower + 0.01))["ok"]
    assert not certify(prog, replace(res, upper=res.upper - 0.01))["ok"]


def test_pure_ball_admissibility_and_cost_agree():
    """Every group judged admissible by barycenters() has a finite cost at its own point, in every
    norm, on integer ties (radius exactly eps)."""
    rng = np.random.default_rng(5)
    for norm in (1, 2, math.inf):
        tc = TransportCost(None, 1.0, norm, eps=1.0, ball_norm=norm)
        for k in (3, 4):
            for d in (1, 2, 3):
                Xg = rng.integers(0, 3, size=(60, k, d)).astype(float)
                res = barycenters(Xg, tc)
                fin = np.isfinite(res.upper)
                assert np.all(np.isfinite(tc(Xg[fin], res.points[fin][:, None, :]).sum(1)))
                assert np.all(res.lower <= res.upper)
                if d <= 2:
                    for i in range(0, 60, 7):
                        assert np.isfinite(nested_barycenter(Xg[i], tc)) == fin[i], (norm, k, d, Xg[i])


# ----------------------------------------------------------------------------- (10) certificate
X10 = [[0.6498852891512121, 1.6124306620540871], [0.6329041748089803, 0.2980771670671116],
       [1.3970239806366216, 0.8970882015207524], [1.597878981926268, 0.47103291461234287],
       [0.6395693086365726, 1.5997590521099068], [1.0141362778467826, 1.012770002843142]]
W10 = [0.13582579108682996, 0.89492680147361, 0.4178807389115167, 1.0010229811957994,
       0.4494252615788064, 0.9864420618420031]


def test_constrained_power_certificate_pays_for_rounding_excess():
    """Power(3, 0.5, l_inf), delta = 0.5: B's convex program leaves ~1e-11 t B between its bounds,
    which the certificate turns into a lowered price (upper bound raised by <= excess / 2 x mass)
    instead of refusing the answer."""
    y = [0, 1, 2, 2, 0, 0]
    cost = rd.Power(3, 0.5, math.inf)
    prob, mu = _problem(X10, y, cost, W10, delta=0.5)
    sol = prob.solve()
    cert = sol.certificate()
    assert cert.ok and sol.status == "optimal"
    ref = brute_force_value(np.array(X10), np.array(y), mu.weights, transport_cost(cost), 3, 0.5,
                            B=lambda P: generic_barycenter(P, transport_cost(cost)))
    assert sol.value == pytest.approx(ref, abs=1e-7)
    assert sol.value == pytest.approx(2.2504679409, abs=1e-9)
    assert cert.lower <= ref + 1e-7 and cert.upper >= ref - 1e-7


def test_certificate_upper_bound_stays_sound_under_a_small_violation():
    """Raise one price slightly: the excess is paid for, so the certificate's upper end is still
    above the brute-force value; a visible violation fails."""
    from dataclasses import replace

    from robustdsl.ir.barycenter_program import BarycenterLP
    from robustdsl.solvers.barycenter_lp import solve_barycenter_lp
    from robustdsl.solvers.barycenter_saddle import certify
    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.5, 0.5]])
    lab = np.array([0, 1, 2, 0, 1])
    w = np.full(5, 0.2)
    cost = TransportCost(2, 1.0, 2)
    prog = BarycenterLP(X, lab, w, 3, cost)
    res = solve_barycenter_lp(prog, "scipy")
    ref = brute_force_value(X, lab, w, cost, 3)
    for bump in (1e-10, 1e-6, 0.05):
        c = certify(prog, replace(res, q=np.minimum(res.q + bump, 1.0)))
        assert c["upper"] >= ref - 1e-12
        assert c["ok"] == (bump < 1e-8), bump


def test_group_pairs_enumerated_once():
    """A sanity check of the pair-graph tie rule for pure balls: pairs at distance exactly 2 eps
    are conflict pairs (as in the ball rule), for every norm."""
    from robustdsl.solvers.barycenter_lp import pair_graph
    X = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    lab = np.array([0, 1, 2, 3])
    for norm in (1, 2, math.inf):
        g = pair_graph(X, lab, TransportCost(None, 1.0, norm, eps=1.0, ball_norm=norm), 1.0)
        got = {tuple(r) for r in g.rows.tolist()}
        want = {(i, j) for i, j in itertools.combinations(range(4), 2)
                if np.linalg.norm(X[i] - X[j], ord=norm) <= 2.0}
        assert got == want, (norm, got, want)


def test_a_failing_group_program_is_isolated(monkeypatch):
    """If Clarabel fails on one group, the others are still solved exactly (the batch is split in
    halves) and the failed group keeps an honest interval [lower <= B <= upper]."""
    import robustdsl.solvers.barycenters as bc
    real = bc._cvxpy_solve

    def flaky(Xg, cost, relax=0.0):
        if np.any(Xg[:, 0, 0] == 7.0):
            from robustdsl.errors import SolverFailed
            raise SolverFailed("simulated", status="numerical", backend="cvxpy")
        return real(Xg, cost, relax)

    monkeypatch.setattr(bc, "_cvxpy_solve", flaky)
    rng = np.random.default_rng(3)
    Xg = rng.uniform(0.0, 1.0, size=(9, 3, 2))
    Xg[4] += 6.8
    Xg[4, 0, 0] = 7.0
    cost = TransportCost(3.0, 1.0, 1, eps=0.6, ball_norm=2)
    res = bc.barycenters(Xg, cost)
    for i in range(9):
        ref = nested_barycenter(Xg[i], cost)
        if not np.isfinite(ref):
            continue
        assert res.lower[i] <= ref + 1e-9 and res.upper[i] >= ref - 1e-9
        if i != 4:
            assert res.upper[i] - res.lower[i] <= 1e-8 * (1 + ref)
