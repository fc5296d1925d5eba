"""Solution objects of the group LP: info, timings, attack, classifier, intervals, certificate failure."""
from __future__ import annotations

import numpy as np
import pytest

import robustdsl as rd
import robustdsl.saddle  # noqa: F401
from robustdsl.errors import CertificateFailed
from robustdsl.ir import GroupLP
from robustdsl.solvers import cutting_plane
from robustdsl.solvers.group_certificate import certify

from group_lp_helpers import all_groups, full_lp, make_problem


def _clustered(seed=0, n=36, K=4):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(6, 3)) * 2
    X = centres[rng.integers(0, 6, n)] + rng.normal(size=(n, 3)) * 0.5
    y = np.arange(n) % K
    return X, y


def test_solution_fields():
    X, y = _clustered()
    prob = make_problem(X, y, 0.6, 2.0)
    comp = prob.compile()
    assert comp.program.kind == "GroupLP" and comp.program.summary()["K"] == 4
    sol = comp.solve()
    assert sol.rule == "group_lp_ball" and sol.backend == "highs" and sol.exact
    for key in ("distances", "groups", "lp", "certificate"):
        assert key in sol.timings
    for key in ("groups_by_size", "components", "separation_rounds", "pairs"):
        assert key in sol.info
    assert sol.q.shape == (len(y),) and np.all((0 <= sol.q) & (sol.q <= 1))
    assert sol.value == pytest.approx(float(np.dot(np.full(len(y), 1 / len(y)), 1 - sol.q)), abs=1e-9)
    m = sol.attack.to_measure()
    assert m.mass == pytest.approx(1.0) and set(m.classes) == set(range(4))
    P = sol.classifier(X)
    assert P.shape == (len(y), 4) and np.allclose(P.sum(1), 1.0)
    assert np.all(P[np.arange(len(y)), y] >= sol.q - 1e-12)
    assert sol.classifier.predict(X[:1]).shape == (1,)
    assert sol.to_json()


def test_interval_bounds_are_valid():
    X, y = _clustered(1)
    prog = GroupLP(X, y, np.full(len(y), 1 / len(y)), 0.7, 2.0, 4)
    exact = cutting_plane.solve(prog).value
    pairs_only = GroupLP(X, y, prog.weights, 0.7, 2.0, 4, max_group_size=2)
    r2 = cutting_plane.solve(pairs_only)
    upper = cutting_plane.classifier_upper(r2.graph, prog, r2.q, 4)
    assert r2.value <= exact + 1e-9 <= upper + 2e-9
    sol = make_problem(X, y, 0.7, 2.0).solve(time_limit=1e-9)
    assert sol.status == "interval" and sol.lower <= exact + 1e-9 and sol.upper >= exact - 1e-9


def test_exact_value_on_a_four_class_instance_uses_higher_groups():
    X, y = _clustered(6, n=20, K=4)                 # AT_3 = 0.55833 < AT = 0.575 here
    sol = make_problem(X, y, 0.8, 2.0).solve()
    groups = all_groups(X, y, 0.8, 2.0)
    assert max(len(S) for S in groups) == 4
    assert sol.value == pytest.approx(full_lp(np.full(20, 1 / 20), groups), abs=1e-7)
    assert sol.value > make_problem(X, y, 0.8, 2.0).solve(max_group_size=3).value + 1e-3
    assert sol.info["groups_by_size"].get(4, 0) >= 1


def test_certificate_rejects_a_wrong_dual_and_a_far_attack():
    X, y = _clustered(3, n=20, K=3)
    sol = make_problem(X, y, 0.8, 2.0).solve()
    p = np.full(20, 1 / 20)
    good = certify(X, y, p, 0.8, 2.0, 3, sol.q, sol.value, sol.attack, sol.classifier)
    assert good.ok
    bad_q = certify(X, y, p, 0.8, 2.0, 3, np.ones(20), sol.value, sol.attack)
    assert not bad_q.ok and bad_q.upper > sol.value
    far = rd.saddle.Attack(sol.attack.points + 1.0, sol.attack.labels, sol.attack.label_index,
                           sol.attack.masses, sol.attack.source, sol.attack.group, sol.attack.classes)
    assert not certify(X, y, p, 0.8, 2.0, 3, sol.q, sol.value, far).ok


def test_certificate_failure_raises(monkeypatch):
    X, y = _clustered(4, n=20, K=3)
    from robustdsl.solvers import cutting_plane as cp
    real = cp.solve

    def corrupted(*a, **k):
        res = real(*a, **k)
        from dataclasses import replace
        return replace(res, q=np.ones_like(res.q))
    monkeypatch.setattr(cp, "solve", corrupted)
    with pytest.raises(CertificateFailed):
        make_problem(X, y, 0.8, 2.0).solve()
    assert make_problem(X, y, 0.8, 2.0).solve(certify=False).value >= 0


def test_user_arrays_untouched():
    X, y = _clustered(5, n=15, K=3)
    X0, y0 = X.copy(), y.copy()
    make_problem(X, y, 0.8, 1.0).solve()
    assert np.array_equal(X, X0) and np.array_equal(y, y0)


def test_pointwise_form_and_extra_learner_class():
    X, y = _clustered(6, n=16, K=3)
    mu = rd.EmpiricalMeasure.from_arrays(X, y)
    f = rd.Agnostic(classes=(0, 1, 2))
    pointwise = rd.inf(f, rd.E(mu, rd.sup_ball(rd.Ball(0.8, 2), rd.ZeroOne(f))))
    ref = make_problem(X, y, 0.8, 2.0).solve()
    assert pointwise.solve().value == pytest.approx(ref.value, abs=1e-12)
    g = rd.Agnostic(classes=(0, 1, 2, 9))            # a class without samples
    mt = rd.Adversary(mu)
    wide = rd.inf(g, rd.sup(mt, rd.E(mt, rd.ZeroOne(g)) - rd.OT(mu, mt, rd.Ball(0.8, 2))))
    sol = wide.solve()
    assert sol.value == pytest.approx(ref.value, abs=1e-12)
    assert sol.classifier(X).shape == (16, 4)


@pytest.mark.parametrize("fmt", ["lp", "mps"])
def test_export_of_the_full_lp_reads_back_to_the_same_value(tmp_path, fmt):
    import highspy
    X, y = _clustered(6, n=14, K=3)
    comp = make_problem(X, y, 0.8, 2.0).compile()
    path = comp.export(tmp_path / f"model.{fmt}")
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.readModel(str(path))
    h.run()
    value = abs(h.getInfo().objective_function_value)
    assert value == pytest.approx(comp.solve().value, abs=1e-9)
    assert value == pytest.approx(full_lp(np.full(14, 1 / 14), all_groups(X, y, 0.8, 2.0)), abs=1e-9)


@pytest.mark.parametrize("norm", [2.0, float("inf"), 1.0])
def test_eps_zero_merges_only_identical_points(norm):
    X = np.array([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [1.0, 1.0]])
    sol = make_problem(X, np.array([0, 1, 2, 0]), 0.0, norm).solve()
    assert sol.value == pytest.approx(0.5, abs=1e-12)          # 3/4 merged, 1/4 of it kept right
    assert sol.certificate().ok


def test_far_offset_data_solves_and_certifies_like_centred_data():
    """AT is translation invariant; far from the origin (1e4 on every coordinate) the float32
    screens of the pair pass and of the certificate measure from a mean, so both stay exact."""
    from robustdsl.solvers.group_certificate import within
    from robustdsl.solvers.pairs import exact_dist
    rng = np.random.default_rng(8)
    X = rng.normal(size=(60, 5)) * 0.5
    y = np.arange(60) % 3
    near = make_problem(X, y, 0.45, 2.0).solve("highs")
    far = make_problem(X + 1e4, y, 0.45, 2.0).solve("highs")
    assert near.value > 0 and abs(near.value - far.value) <= 1e-9
    assert far.certificate().gap <= 1e-9
    A, B = X[:20] + 1e4, X[20:] + 1e4
    u, v = np.meshgrid(np.arange(20), np.arange(40), indexing="ij")
    want = (exact_dist(A[u.ravel()], B[v.ravel()], 2.0) <= 0.9 * (1 + 1e-9)).reshape(20, 40)
    np.testing.assert_array_equal(within(A, B, 0.9, 2.0), want)
