"""risk_curve / plot_curve through the public API (with the test-only fake rule)."""
from __future__ import annotations

import math

import numpy as np
import pytest

import _fake_rule
import robustdsl as rd
from _fake_rule import fake_value
from robustdsl.curve import ball_problem, label, monotone_in_L, plot_curve, risk_curve
from robustdsl.errors import InvalidInput, UnsupportedProblem


@pytest.fixture
def fake():
    rule = _fake_rule.install()
    yield rule
    _fake_rule.uninstall(rule)


def test_ball_problem_is_the_text_problem(tiny):
    text = "inf_f sup_{mu~} E_{mu~}[zero_one(f)] - OT_c(mu, mu~)"
    assert ball_problem(tiny, 0.5, "inf") == rd.parse(text, f=rd.Agnostic(tiny.classes), mu=tiny,
                                                     c=rd.Ball(0.5, math.inf))


def test_risk_curve_values(tiny, fake):
    out = risk_curve(tiny, [0, 0.5, 2], "inf", (2, 3, None), progress=False)
    assert out["norm"] == "inf" and out["n"] == 9 and out["classes"] == [0, 1, 2] and out["backend"] == "fake"
    assert [c["label"] for c in out["curves"]] == ["AT_2", "AT_3", "AT"]
    for c in out["curves"]:
        assert c["value"] == [fake_value(e, 3, c["max_group_size"]) for e in (0.0, 0.5, 2.0)]
        assert c["lower"] == c["value"] == c["upper"] and len(c["seconds"]) == 3
    assert out["curves"][0]["status"] == ["lower_bound"] * 3 and out["curves"][2]["status"] == ["optimal"] * 3
    assert out["monotone_in_L"]


def test_risk_curve_takes_one_radius_and_one_group_size(tiny, fake):
    out = risk_curve(tiny, 0.5, "inf", 2, progress=False)
    assert out["eps"] == [0.5] and [c["label"] for c in out["curves"]] == ["AT_2"]
    assert out["curves"][0]["value"] == [fake_value(0.5, 3, 2)]


def test_monotone_check_detects_violation():
    curves = [{"max_group_size": None, "value": [0.3, 0.5]}, {"max_group_size": 2, "value": [0.2, 0.6]}]
    assert not monotone_in_L(curves)
    curves[1]["value"] = [0.2, 0.5]
    assert monotone_in_L(curves)


def test_risk_curve_without_rule_is_unsupported(tiny):
    with pytest.raises(UnsupportedProblem):
        risk_curve(tiny, [0.5], 2, (None,), progress=False, rule="no-such")


@pytest.mark.parametrize("kwargs,argument", [
    (dict(eps_grid=[]), "eps_grid"),
    (dict(eps_grid=[-1.0]), "eps_grid"),
    (dict(eps_grid=[float("nan")]), "eps_grid"),
    (dict(max_group_sizes=(1,)), "max_group_sizes"),
    (dict(max_group_sizes=()), "max_group_sizes"),
    (dict(norm=3), "norm"),
])
def test_risk_curve_refuses(tiny, kwargs, argument):
    args = dict(eps_grid=[0.5], norm=2, max_group_sizes=(2,))
    args.update(kwargs)
    with pytest.raises(InvalidInput) as ei:
        risk_curve(tiny, progress=False, **args)
    assert ei.value.argument == argument


def test_risk_curve_refuses_regression_measure():
    mu = rd.EmpiricalMeasure.from_arrays(np.zeros((3, 1)), np.array([0.1, 0.2, 0.3]))
    with pytest.raises(InvalidInput) as ei:
        risk_curve(mu, [0.5], progress=False)
    assert ei.value.argument == "mu"


def test_plot_curve_writes_png(tiny, fake, tmp_path):
    runs = [risk_curve(tiny, [0.1, 0.2], n, (2, None), progress=False) for n in (2, "inf")]
    out = plot_curve(runs, tmp_path / "c.png", title="t")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 5000
    with pytest.raises(InvalidInput):
        plot_curve([], tmp_path / "d.png")
    assert label(None) == "AT" and label(3) == "AT_3"
