"""ExprCost: sympy costs detected as known families (or refused), and solved like the family."""
from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

import robustdsl as rd
from robustdsl.costs import ExprCost
from robustdsl.costs_expr import norm
from robustdsl.errors import InvalidInput, UnsupportedProblem

x, xt = sp.symbols("x xt")
a, b = sp.symbols("a0:3"), sp.symbols("b0:3")


@pytest.mark.parametrize("expr,expected", [
    (norm(x - xt, 2) ** 2 / 3, rd.Power(2, 3.0, 2)),
    (2 * norm(xt - x, 1), rd.Power(1, 0.5, 1)),
    (norm(x - xt, sp.oo) ** 3, rd.Power(3, 1.0, math.inf)),
    (sp.Piecewise((0, norm(x - xt, sp.oo) <= sp.Rational(1, 2)), (sp.oo, True)), rd.Ball(0.5, math.inf)),
    (norm(x - xt, 2) ** 2 / 4 + sp.Piecewise((0, norm(x - xt, 2) <= 1), (sp.oo, True)),
     rd.Power(2, 4.0, 2) + rd.Ball(1.0, 2)),
])
def test_vector_form_detection(expr, expected):
    got = ExprCost(expr, x, xt).detect()
    key = lambda c: sorted(map(repr, c.terms)) if isinstance(c, rd.SumCost) else [repr(c)]  # noqa: E731
    assert key(got) == key(expected)
    assert ExprCost(expr, x, xt).family == expected.family


@pytest.mark.parametrize("expr,expected", [
    (sum((ai - bi) ** 2 for ai, bi in zip(a, b)) / 2, rd.Power(2, 2.0, 2)),
    (sum(sp.Abs(ai - bi) for ai, bi in zip(a, b)), rd.Power(1, 1.0, 1)),
    (5 * sp.sqrt(sum((ai - bi) ** 2 for ai, bi in zip(a, b))), rd.Power(1, 0.2, 2)),
    (sp.Max(*[sp.Abs(ai - bi) for ai, bi in zip(a, b)]) ** 2, rd.Power(2, 1.0, math.inf)),
])
def test_coordinate_form_detection(expr, expected):
    assert repr(ExprCost(expr, a, b).detect()) == repr(expected)


@pytest.mark.parametrize("expr,vars_", [
    (sp.exp(norm(x - xt, 2)), (x, xt)),
    (norm(x, 2), (x, xt)),
    (norm(x - xt, 2) ** sp.Rational(1, 2), (x, xt)),
    (norm(x - xt, 3), (x, xt)),
    (sp.sin(x - xt), (x, xt)),
    (sum((ai - bi) ** 4 for ai, bi in zip(a, b)), (a, b)),
    (sum((ai - bi) ** 2 for ai, bi in zip(a, b)) + a[0], (a, b)),
])
def test_unknown_costs_are_refused(expr, vars_):
    with pytest.raises(UnsupportedProblem):
        ExprCost(expr, *vars_)


def test_malformed_variables():
    with pytest.raises(InvalidInput) as ei:
        ExprCost(norm(x - xt, 2), a[:2], b)
    assert ei.value.argument == "x_tilde"


@pytest.mark.parametrize("expr,vars_,argument", [
    (None, (x, xt), "expr"),                                        # was AttributeError
    ({1: 2}, (x, xt), "expr"),                                      # was AttributeError
    (x < xt, (x, xt), "expr"),
    ((a[0] - b[0]) ** 2, ([a[0]], xt), "x_tilde"),                  # was TypeError: 'Symbol' object is not iterable
    ((a[0] - b[0]) ** 2, (x, [b[0]]), "x"),
    (norm(x - x, 2) ** 2, (x, x), "x_tilde"),                       # was read as Power(2)
    ((a[0] - a[1]) ** 2, ([a[0], a[1]], [a[1], a[0]]), "x_tilde"),
    ((a[0] - b[0]) ** 2, ([a[0] + 1], [b[0]]), "x"),
    (sp.Integer(0), (x, xt), "expr"),                               # a cost that does not depend on x, xt
    (sp.Integer(0), (a, b), "expr"),
    (norm(x - xt, 2) ** 31, (x, xt), "expr"),                       # exponent above rd.costs.MAX_POWER
])
def test_malformed_expression_costs_name_the_argument(expr, vars_, argument):
    with pytest.raises(InvalidInput) as ei:
        ExprCost(expr, *vars_)
    assert ei.value.argument == argument


@pytest.mark.parametrize("radius", [sp.nan, sp.I, sp.zoo])
def test_ball_radius_must_be_real(radius):
    """sympy refuses `norm(...) <= nan` when it evaluates the comparison, so the unevaluated form
    reached ExprCost and its substitution raised a raw TypeError."""
    ball = sp.Piecewise((0, sp.Le(norm(x - xt, 2), radius, evaluate=False)), (sp.oo, True), evaluate=False)
    with pytest.raises(InvalidInput, match="not a real number") as ei:
        ExprCost(norm(x - xt, 2) ** 2 + ball, x, xt)
    assert ei.value.argument == "expr"


def test_expression_cost_solves_like_its_family(tiny):
    f, mt = rd.Agnostic(classes=tiny.classes), rd.Adversary(tiny)

    def value(cost):
        return rd.inf(f, rd.sup(mt, rd.E(mt, rd.ZeroOne(f)) - rd.OT(tiny, mt, cost))).solve().value

    c_expr = ExprCost(norm(x - xt, 2) ** 2 / sp.Rational(1, 2), x, xt)
    assert value(c_expr) == pytest.approx(value(rd.Power(2, 0.5, 2)), abs=1e-12)
    s0, s1 = sp.symbols("s0:2")
    t0, t1 = sp.symbols("t0:2")
    c_coord = ExprCost(sp.Abs(s0 - t0) + sp.Abs(s1 - t1), (s0, s1), (t0, t1))
    assert value(c_coord) == pytest.approx(value(rd.Power(1, 1.0, 1)), abs=1e-12)
