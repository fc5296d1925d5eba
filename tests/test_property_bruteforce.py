"""Property-based tests at scale: >= 2,000 random tiny instances per run (derandomized hypothesis)
across ball costs (l2, l_inf, l1), norms, weights, group-size limits and class counts, each compared
with brute force: every admissible group enumerated independently (exact minimum enclosing balls from
support sets for l2, the box for l_inf, an LP for l1) and the full LP (P) solved by scipy linprog.

Coordinates lie on a half-integer grid and eps on a quarter grid, so exact ties (points on each
other's ball boundary, duplicate points with different labels) are frequent.
Counts per run: l2 900, l_inf 700, l1 400 (2,000 in all), plus 300 checks of the interval bound.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import robustdsl as rd
from group_lp_helpers import enclosing_radius, full_lp

TOL = 1e-9
COUNT = {"instances": 0}
EPS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0)


def _settings(n: int):
    return settings(max_examples=n, derandomize=True, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))


@st.composite
def instances(draw, max_n=6, max_d=3, max_k=4):
    K = draw(st.integers(2, max_k))
    n = draw(st.integers(1, max_n))
    d = draw(st.integers(1, max_d))
    X = np.array(draw(st.lists(st.integers(-4, 4), min_size=n * d, max_size=n * d)), float).reshape(n, d) * 0.5
    y = np.array(draw(st.lists(st.integers(0, K - 1), min_size=n, max_size=n)), np.int64)
    w = np.array(draw(st.lists(st.integers(1, 4), min_size=n, max_size=n)), float)
    w /= w.sum()
    eps = draw(st.sampled_from(EPS))
    L = draw(st.sampled_from([None, None, 2, 3]))
    return X, y, w, K, eps, L


# ------------------------------------------------------------------ brute force (independent of the solver)
def meb_radius_l2(P: np.ndarray) -> float:
    """Exact l2 minimum enclosing ball radius: the smallest circumball (centre in the affine hull of a
    support set T, |T| <= d + 1) that holds every point."""
    k, d = P.shape
    best = math.inf
    for size in range(1, min(k, d + 1) + 1):
        for T in itertools.combinations(range(k), size):
            B = P[list(T)]
            A = B[1:] - B[0]
            if size == 1:
                c = B[0]
            else:
                G = A @ A.T
                if abs(np.linalg.det(G)) < 1e-12:
                    continue                         # degenerate support set
                c = B[0] + A.T @ np.linalg.solve(2.0 * G, np.diag(G))
            r = float(np.sqrt(((B[0] - c) ** 2).sum()))
            if np.sqrt(((P - c) ** 2).sum(1)).max() <= r * (1 + 1e-12) + 1e-12:
                best = min(best, r)
    return best


def radius(P: np.ndarray, norm: float) -> float:
    if math.isinf(norm):
        return float((P.max(0) - P.min(0)).max() / 2)
    if len(P) == 2:                                  # any norm: half the distance
        diff = np.abs(P[0] - P[1])
        return float(np.sqrt((diff ** 2).sum()) if norm == 2 else diff.sum()) / 2
    return meb_radius_l2(P) if norm == 2 else enclosing_radius(P, 1.0)


def brute_groups(X, y, eps, norm, L):
    n = len(y)
    out = []
    for k in range(2, L + 1):
        for S in itertools.combinations(range(n), k):
            if len(set(y[list(S)].tolist())) == k and radius(X[list(S)], norm) <= eps * (1 + 1e-9):
                out.append(S)
    return out


def brute_at(X, y, w, eps, norm, L) -> float:
    return full_lp(w, brute_groups(X, y, eps, norm, L))


def _problem(X, y, w, K, eps, norm):
    mu = rd.EmpiricalMeasure.from_arrays(X, y, w, classes=list(range(K)))
    f = rd.Agnostic(classes=list(range(K)))
    mt = rd.Adversary(mu)
    return rd.inf(f, rd.sup(mt, rd.E(mt, rd.ZeroOne(f)) - rd.OT(mu, mt, rd.Ball(eps, norm))))


def check(inst, norm):
    X, y, w, K, eps, L = inst
    X0, y0, w0 = X.copy(), y.copy(), w.copy()
    Lk = K if L is None else min(K, L)
    ref = brute_at(X, y, w, eps, norm, Lk)
    sol = _problem(X, y, w, K, eps, norm).solve(max_group_size=L)
    assert abs(sol.value - ref) <= TOL, (sol.value, ref)
    assert sol.status == ("optimal" if Lk >= K else "lower_bound")
    assert sol.lower - TOL <= ref <= sol.upper + TOL
    if K == 2 and norm != 1:                         # the max-flow route must agree
        assert abs(_problem(X, y, w, K, eps, norm).solve("flow").value - ref) <= TOL
    assert np.array_equal(X, X0) and np.array_equal(y, y0) and np.array_equal(w, w0)
    COUNT["instances"] += 1


@_settings(900)
@given(instances())
def _run_l2(inst):
    check(inst, 2.0)


@_settings(700)
@given(instances())
def _run_linf(inst):
    check(inst, math.inf)


@_settings(400)
@given(instances(max_n=5, max_d=2, max_k=3))
def _run_l1(inst):
    check(inst, 1.0)


@pytest.mark.parametrize("run,target", [(_run_l2, 900), (_run_linf, 700), (_run_l1, 400)],
                         ids=["l2", "linf", "l1"])
def test_random_instances_match_brute_force(run, target):
    before = COUNT["instances"]
    run()
    # hypothesis may stop early only if it exhausted the space; it must not here
    assert COUNT["instances"] - before >= 0.95 * target


@_settings(300)
@given(instances(max_n=6, max_d=2, max_k=4), st.sampled_from([1.0, 2.0, math.inf]),
       st.lists(st.floats(0, 1), min_size=6, max_size=6))
def _run_interval_bound(inst, norm, qs):
    """The one-pass interval bound is >= AT for any q in [0, 1]^n (used on time limits)."""
    from robustdsl.ir import GroupLP
    from robustdsl.solvers.cutting_plane import conflict_graph
    from robustdsl.solvers.interval_bounds import neighbour_bound
    X, y, w, K, eps, _ = inst
    q = np.array(qs[:len(y)])
    prog = GroupLP(X, y, w, eps, norm, K)
    ub = neighbour_bound(conflict_graph(prog), w, q, K)
    assert ub >= brute_at(X, y, w, eps, norm, K) - TOL
    COUNT["interval"] = COUNT.get("interval", 0) + 1


def test_interval_bound_is_an_upper_bound():
    before = COUNT.get("interval", 0)
    _run_interval_bound()
    assert COUNT["interval"] - before >= 285


def test_brute_force_helpers_by_hand():
    # right triangle: the MEB is half the hypotenuse; equilateral: the circumradius 1/sqrt(3)
    assert meb_radius_l2(np.array([[0.0, 0], [2, 0], [0, 2]])) == pytest.approx(math.sqrt(2))
    assert meb_radius_l2(np.array([[0.0, 0], [1, 0], [0.5, math.sqrt(3) / 2]])) == pytest.approx(1 / math.sqrt(3))
    assert radius(np.array([[0.0, 0], [1, 1]]), 1.0) == 1.0
    assert radius(np.array([[0.0, 0], [1, 3]]), math.inf) == 1.5
    # three points of three classes, pairwise 1 apart on a line segment? no: an equilateral triangle
    X = np.array([[0.0, 0], [1, 0], [0.5, math.sqrt(3) / 2]])
    y = np.array([0, 1, 2])
    w = np.full(3, 1 / 3)
    assert brute_at(X, y, w, 0.6, 2.0, 3) == pytest.approx(2 / 3)      # the triple merges
    assert brute_at(X, y, w, 0.55, 2.0, 3) == pytest.approx(0.5)       # pairs only: fractional cover


@pytest.mark.parametrize("norm", [1.0, 2.0, math.inf])
def test_truncation_with_coinciding_barycenters_is_certified(norm):
    """Found by the property run: three samples of three classes at one point, L = 2. AT_2 = 1/2
    (a fractional cover of the triangle of pairs) while the pair barycenters coincide, so the
    attack's best response risk is 2/3 = AT. The certificate must accept AT_2 (it used to fail)."""
    X = np.zeros((3, 2))
    y = np.array([0, 1, 2])
    sol = _problem(X, y, np.full(3, 1 / 3), 3, 0.0, norm).solve(max_group_size=2)
    assert sol.value == pytest.approx(0.5, abs=1e-12) and sol.status == "lower_bound"
    cert = sol.certificate()
    assert cert.ok and cert.checks["truncated"] and cert.lower == pytest.approx(2 / 3)
