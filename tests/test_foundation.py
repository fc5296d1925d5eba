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
