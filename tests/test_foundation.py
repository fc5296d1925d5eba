"""Value objects, analysis and the registry's refusal."""
from __future__ import annotations

import numpy as np
import pytest

import robustdsl as rd
from robustdsl.errors import InvalidInput, UnsupportedProblem

from conftest import ball_problem


def test_measure_copies_and_freezes_input():
    X = np.arange(6.0).reshape(3, 2)
    y = np.array([0, 1, 0])
    mu = rd.EmpiricalMeasure.from_arrays(X, y)
    assert mu.X is not X and not mu.X.flags.writeable
    assert mu.classes == (0, 1) and mu.mass == pytest.approx(1.0)
    X[0, 0] = 99
    assert mu.X[0, 0] == 0


@pytest.mark.parametrize("kwargs,arg", [
    (dict(X=[[0.0, np.nan]], y=[0]), "X"),
    (dict(X=[[0.0], [1.0]], y=[0]), "y"),
    (dict(X=[[0.0], [1.0]], y=[0, 1], weights=[1.0, -1.0]), "weights"),
    (dict(X=[[0.0], [1.0]], y=[0, 1], weights=[1.0, 0.0]), "weights"),
    (dict(X=[[0.0], [1.0]], y=[0, 5], classes=[0, 1]), "y"),
    (dict(X=np.zeros((0, 2)), y=np.zeros(0, dtype=int)), "X"),
    (dict(X=np.zeros((2, 0)), y=[0, 1]), "X"),
    (dict(X=[[0.0], [1.0]], y=[0.5, 1.0], task="classification"), "y"),
])
def test_measure_refuses(kwargs, arg):
    with pytest.raises(InvalidInput) as ei:
        rd.EmpiricalMeasure.from_arrays(**kwargs)
    assert ei.value.argument == arg


@pytest.mark.parametrize("make,arg", [
    (lambda: rd.Ball(-1.0, 2), "eps"),
    (lambda: rd.Ball(float("nan"), 2), "eps"),
    (lambda: rd.Ball(float("inf"), 2), "eps"),
    (lambda: rd.Ball(1.0, 3), "norm"),
    (lambda: rd.Power(p=0.5, tau=1.0), "p"),
    (lambda: rd.Power(p=2, tau=0.0), "tau"),
    (lambda: rd.SquaredZ(-2.0), "c_a"),
    (lambda: rd.Agnostic(classes=[1]), "classes"),
    (lambda: rd.Agnostic(classes=[1, 1]), "classes"),
    (lambda: rd.MeanField(activation="swish"), "activation"),
    (lambda: rd.MeanField(width=0), "width"),
])
def test_objects_refuse(make, arg):
    with pytest.raises(InvalidInput) as ei:
        make()
    assert ei.value.argument == arg and arg in str(ei.value)


def test_analysis_reads_structure(tiny):
    form = ball_problem(tiny, 0.5, float("inf")).form
    assert (form.learner, form.loss, form.cost_family, form.norm) == ("agnostic", "zero_one", "ball", float("inf"))
    assert form.label_preserving and not form.constrained and form.targets == "labels"


def test_registry_refuses_unknown_structure(tiny):
    f = rd.Agnostic(classes=tiny.classes)
    mt = rd.Adversary(tiny)
    prob = rd.inf(f, rd.sup(mt, rd.E(mt, rd.ZeroOne(f)) - rd.OT(tiny, mt, rd.SquaredZ(1.0))))
    with pytest.raises(UnsupportedProblem) as ei:
        prob.compile()
    assert "squared_z" in str(ei.value)


# ---------------------------------------------------------------- every object validates its arguments
import math  # noqa: E402

from robustdsl.errors import BackendUnavailable  # noqa: E402
from robustdsl.expr import Budget, Difference, Expectation, PointwiseSup, Scaled, Sup  # noqa: E402
from robustdsl.lowering import select  # noqa: E402

_MU = rd.EmpiricalMeasure.from_arrays(np.arange(8.0).reshape(4, 2), np.array([0, 1, 2, 0]))
_REG = rd.EmpiricalMeasure.from_arrays(np.arange(8.0).reshape(4, 2), np.array([0.5, 1.0, 2.0, 0.0]))
_F = rd.Agnostic(classes=(0, 1, 2))
_MT = rd.Adversary(_MU)
_OT = rd.OT(_MU, _MT, rd.Ball(1.0))
_E = rd.E(_MT, rd.ZeroOne(_F))


@pytest.mark.parametrize("make,arg", [
    (lambda: rd.EmpiricalMeasure.from_arrays([[0.0]], [0], task="ranking"), "task"),
    (lambda: rd.EmpiricalMeasure.from_arrays([[0.0], [1.0]], [[0, 1]]), "y"),
    (lambda: rd.EmpiricalMeasure.from_arrays([[0.0], [1.0]], [0, 1], weights=[1.0]), "weights"),
    (lambda: rd.EmpiricalMeasure.from_arrays([[0.0], [1.0, 2.0]], [0, 1]), "X"),
    (lambda: rd.EmpiricalMeasure.from_arrays([[np.inf], [1.0]], [0, 1]), "X"),
    (lambda: rd.EmpiricalMeasure.from_arrays([[0.0], [1.0]], [0, 1], weights=[np.nan, 1.0]), "weights"),
    (lambda: rd.EmpiricalMeasure.from_arrays([[0.0], [1.0]], [0, 1], classes=[0, 1, 1]), "classes"),
    (lambda: _MU.subset(classes=[0, 7]), "classes"),
    (lambda: _MU.subset(per_class=0), "per_class"),
    (lambda: _MU.subset(per_class=1, seed="x"), "seed"),
    (lambda: _REG.subset(classes=[0]), "classes"),
    (lambda: _REG.label_index(), "y"),
    (lambda: rd.Adversary(np.zeros(3)), "base"),
    (lambda: rd.Ball("big", 2), "eps"),
    (lambda: rd.Ball(True, 2), "eps"),
    (lambda: rd.Ball(1.0, "l3"), "norm"),
    (lambda: rd.Ball(1.0).scaled(0.0), "factor"),
    (lambda: rd.Power(p=float("nan")), "p"),
    (lambda: rd.Power(p=2, tau=1.0, norm=4), "norm"),
    (lambda: rd.Power(p=2, tau=1.0).scaled(-1.0), "factor"),
    (lambda: rd.SquaredZ(float("inf")), "c_a"),
    (lambda: rd.SumCost((rd.Ball(1.0),)), "terms"),
    (lambda: rd.SumCost((rd.Ball(1.0), "c")), "terms"),
    (lambda: rd.Agnostic(classes=5), "classes"),
    (lambda: rd.Agnostic(classes=[1.5, 2]), "classes"),
    (lambda: rd.MeanField(a_max=0.0), "a_max"),
    (lambda: rd.MeanField(b_max=-1.0), "b_max"),
    (lambda: rd.MeanField(width=1.5), "width"),
    (lambda: rd.ZeroOne("f"), "f"),
    (lambda: rd.Squared(None), "f"),
    (lambda: Expectation("mu", rd.ZeroOne(_F)), "measure"),
    (lambda: Expectation(_MT, "zero_one"), "loss"),
    (lambda: PointwiseSup(rd.Power(2, 1.0), rd.ZeroOne(_F)), "ball"),
    (lambda: PointwiseSup(rd.Ball(1.0), _F), "loss"),
    (lambda: rd.OT("mu", _MT, rd.Ball(1.0)), "source"),
    (lambda: rd.OT(_MU, None, rd.Ball(1.0)), "target"),
    (lambda: rd.OT(_MU, _MT, 1.0), "cost"),
    (lambda: Scaled(-1.0, _OT), "factor"),
    (lambda: 0 * _OT, "factor"),
    (lambda: math.inf * _OT, "factor"),
    (lambda: Scaled(2.0, "ot"), "term"),
    (lambda: Difference(_E, "ot"), "right"),
    (lambda: Difference(3, _OT), "left"),
    (lambda: Budget("ot", 1.0), "ot"),
    (lambda: _OT <= -1.0, "delta"),
    (lambda: _OT <= math.nan, "delta"),
    (lambda: Sup("mu~", _E), "variable"),
    (lambda: Sup(_MT, "body"), "body"),
    (lambda: Sup(_MT, _E, constraint=_OT), "constraint"),
    (lambda: rd.inf("f", rd.sup(_MT, _E - _OT)), "learner"),
    (lambda: rd.inf(_F, "body"), "body"),
])
def test_every_object_refuses(make, arg):
    with pytest.raises(InvalidInput) as ei:
        make()
    assert ei.value.argument == arg and arg in str(ei.value)


def test_sum_cost_flattens_and_scales():
    s = rd.Ball(1.0) + rd.Power(2, 2.0) + rd.Power(1, 1.0, norm=1)
    assert len(s.terms) == 3 and s.family == "ball+power+power"
    assert s.scaled(4.0).terms[1] == rd.Power(2, 0.5)
    assert rd.SquaredZ(2.0).scaled(3.0) == rd.SquaredZ(6.0)


# ---------------------------------------------------------------- the analysis labels each structure
def _pen(cost, factor=1.0, mu=_MU, learner=_F, loss=rd.ZeroOne):
    adv = rd.Adversary(mu)
    return rd.inf(learner, rd.sup(adv, rd.E(adv, loss(learner)) - factor * rd.OT(mu, adv, cost)))


@pytest.mark.parametrize("problem,expected", [
    (_pen(rd.Ball(1.0)), ("agnostic", "zero_one", "ball", 2.0, True, False, "labels", 3, False)),
    (_pen(rd.Ball(1.0, "inf")), ("agnostic", "zero_one", "ball", math.inf, True, False, "labels", 3, False)),
    (_pen(rd.Ball(1.0, 1)), ("agnostic", "zero_one", "ball", 1.0, True, False, "labels", 3, False)),
    (_pen(rd.Power(2, 1.0), 2.0), ("agnostic", "zero_one", "power", 2.0, True, False, "labels", 3, False)),
    (_pen(rd.Ball(1.0) + rd.Power(2, 1.0)),
     ("agnostic", "zero_one", "ball+power", 2.0, True, False, "labels", 3, False)),
    (_pen(rd.Ball(1.0, "inf") + rd.Power(2, 1.0)),
     ("agnostic", "zero_one", "ball+power", None, True, False, "labels", 3, False)),
    (rd.inf(_F, rd.sup(_MT, _E, _OT <= 0.5)), ("agnostic", "zero_one", "ball", 2.0, True, True, "labels", 3, False)),
    (rd.inf(_F, rd.sup(_MT, _E - rd.OT(_MU, _MT, rd.Power(2, 1.0)), _OT <= 0.5)),
     ("agnostic", "zero_one", "power|ball", 2.0, True, True, "labels", 3, False)),
    (rd.inf(_F, rd.E(_MU, rd.sup_ball(rd.Ball(0.5, "inf"), rd.ZeroOne(_F)))),
     ("agnostic", "zero_one", "ball", math.inf, True, False, "labels", 3, True)),
    (_pen(rd.SquaredZ(2.0), mu=_REG, learner=rd.MeanField(), loss=rd.Squared),
     ("meanfield", "squared", "squared_z", None, False, False, "real", 0, False)),
    (_pen(rd.Power(2, 1.0), mu=_MU, learner=rd.MeanField(), loss=rd.Squared),
     ("meanfield", "squared", "power", 2.0, True, False, "labels", 0, False)),
])
def test_analysis_labels(problem, expected):
    f = problem.form
    got = (f.learner, f.loss, f.cost_family, f.norm, f.label_preserving, f.constrained, f.targets,
           f.n_classes, f.pointwise)
    assert got == expected
    assert f.measure == "empirical" and f.mu is (_REG if f.targets == "real" else _MU)
    assert f.describe().startswith(f"{expected[0]} + {expected[1]} + {expected[2]}")


def test_analysis_folds_the_multiplier_into_the_cost():
    form = _pen(rd.Power(2, 1.0), 4.0).form
    assert form.cost == rd.Power(2, 0.25)
    assert _pen(rd.SquaredZ(1.5), 2.0, mu=_REG, learner=rd.MeanField(), loss=rd.Squared).form.cost == \
        rd.SquaredZ(3.0)
    assert rd.inf(_F, rd.sup(_MT, _E - 2 * (3 * _OT))).form.cost == rd.Ball(1.0)


def test_pointwise_and_ball_forms_are_equal():
    point = rd.inf(_F, rd.E(_MU, rd.sup_ball(rd.Ball(0.5, "inf"), rd.ZeroOne(_F))))
    assert point.form == _pen(rd.Ball(0.5, "inf")).form
    assert point.form != _pen(rd.Ball(0.5, 2)).form


_OTHER = rd.EmpiricalMeasure.from_arrays(np.ones((4, 2)), np.array([0, 1, 2, 0]))


@pytest.mark.parametrize("problem,words", [
    (rd.inf(_F, rd.sup(_MU, rd.E(_MU, rd.ZeroOne(_F)) - _OT)), "not an adversary"),
    (rd.inf(_F, rd.sup(_MT, rd.E(_MU, rd.ZeroOne(_F)) - _OT)), "not the adversary"),
    (rd.inf(_F, rd.sup(_MT, _E - rd.OT(_OTHER, _MT, rd.Ball(1.0)))), "must couple"),
    (rd.inf(_F, rd.sup(_MT, _E)), "neither penalised nor constrained"),
    (rd.inf(_F, rd.sup(_MT, _E - _E)), "is not E[loss] - lambda * OT"),
    (rd.inf(_F, _E), "not a supremum"),
    (rd.inf(rd.Agnostic((0, 1, 2), name="g"), rd.sup(_MT, rd.E(_MT, rd.ZeroOne(rd.Agnostic((0, 1, 3)))) - _OT)),
     "the loss is of learner"),
])
def test_analysis_refuses_unreadable_structures(problem, words):
    with pytest.raises(UnsupportedProblem) as ei:
        problem.form
    assert words in str(ei.value)


@pytest.mark.parametrize("problem,arg", [
    (_pen(rd.Ball(1.0), mu=_REG), "mu"),
    (_pen(rd.Ball(1.0), learner=rd.Agnostic((0, 1))), "classes"),
])
def test_analysis_refuses_mismatched_data(problem, arg):
    with pytest.raises(InvalidInput) as ei:
        problem.form
    assert ei.value.argument == arg


def test_registry_lists_supported_structures():
    import _fake_rule
    rule = _fake_rule.install()
    try:
        prob = _pen(rd.SquaredZ(1.0))
        with pytest.raises(UnsupportedProblem) as ei:
            prob.compile()
        msg = str(ei.value)
        assert "agnostic + zero_one + squared_z" in msg and "supported structures:" in msg
        assert rule.structure() in msg and ei.value.form == prob.form
        assert rule.structure() in ei.value.supported
        with pytest.raises(UnsupportedProblem, match="no lowering rule named 'nope'"):
            select(prob.form, "nope")
        with pytest.raises(BackendUnavailable, match="'gurobi'"):
            _pen(rd.Ball(1.0)).compile("gurobi", rule="fake-ball")
        assert _pen(rd.Ball(2.0)).solve(rule="fake-ball", max_group_size=2).value == \
            _fake_rule.fake_value(2.0, 3, 2)
    finally:
        _fake_rule.uninstall(rule)
