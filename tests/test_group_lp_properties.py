"""Hypothesis properties of AT over random small instances."""
from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from group_lp_helpers import make_problem

SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def instances(draw, balanced=False):
    seed = draw(st.integers(0, 2**31 - 1))
    K = draw(st.integers(2, 4))
    per = draw(st.integers(1, 3))
    d = draw(st.integers(1, 3))
    norm = draw(st.sampled_from([2.0, math.inf, 1.0]))
    eps = draw(st.floats(0.05, 1.5))
    rng = np.random.default_rng(seed)
    n = K * per
    X = rng.normal(size=(n, d))
    y = np.repeat(np.arange(K), per)
    p = np.full(n, 1.0 / n) if balanced else (rng.random(n) + 0.1)
    return X, y, p / p.sum(), eps, norm


@SETTINGS
@given(instances())
def test_truncations_are_ordered_lower_bounds(inst):
    X, y, p, eps, norm = inst
    prob = make_problem(X, y, eps, norm, p)
    at2 = prob.solve(max_group_size=2).value
    at3 = prob.solve(max_group_size=3).value
    at = prob.solve()
    assert at2 <= at3 + 1e-9 <= at.value + 2e-9
    cert = at.certificate()
    assert cert.ok and cert.gap <= 1e-9 and at.lower == at.upper == at.value


@SETTINGS
@given(instances(), st.floats(1.0, 2.0))
def test_monotone_in_eps(inst, factor):
    X, y, p, eps, norm = inst
    a = make_problem(X, y, eps, norm, p).solve().value
    b = make_problem(X, y, eps * factor, norm, p).solve().value
    assert a <= b + 1e-9


@SETTINGS
@given(instances(balanced=True))
def test_balanced_bound(inst):
    X, y, p, eps, norm = inst
    K = len(set(y.tolist()))
    assert make_problem(X, y, eps, norm, p).solve().value <= 1 - 1 / K + 1e-9
    # eps large enough that all balls meet: exactly 1 - 1/K
    span = np.abs(X[:, None] - X[None]).sum(-1).max()
    assert abs(make_problem(X, y, span + 1.0, norm, p).solve().value - (1 - 1 / K)) <= 1e-9


@SETTINGS
@given(instances(), st.integers(0, 2**31 - 1))
def test_invariant_to_permutation_and_relabelling(inst, seed):
    X, y, p, eps, norm = inst
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(y))
    K = int(y.max()) + 1
    relabel = rng.permutation(K) * 3 + 5          # new labels, a different order
    base = make_problem(X, y, eps, norm, p).solve()
    other = make_problem(X[perm], relabel[y[perm]], eps, norm, p[perm]).solve()
    assert abs(base.value - other.value) <= 1e-9
    # the classifier is equivariant: the probability of the true class at each data point agrees
    P1 = base.classifier(X)[np.arange(len(y)), y]
    order = np.argsort(relabel)
    P2 = other.classifier(X)[np.arange(len(y)), np.searchsorted(relabel[order], relabel[y])]
    assert np.all(P1 >= base.q - 1e-12) and np.all(P2 >= other.q[np.argsort(perm)] - 1e-12)
