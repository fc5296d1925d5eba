"""The text syntax: one semantics with the Python API, round trips, errors with positions."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import robustdsl as rd
from robustdsl.errors import InvalidInput, ParseError, UnboundName
from robustdsl.expr import PointwiseSup

RNG = np.random.default_rng(3)
MU = rd.EmpiricalMeasure.from_arrays(RNG.normal(size=(9, 2)), np.array([0, 1, 2] * 3))
REG = rd.EmpiricalMeasure.from_arrays(RNG.normal(size=(6, 2)), RNG.normal(size=6), name="nu")
F = rd.Agnostic(classes=MU.classes)
MT = rd.Adversary(MU)
C = rd.Ball(0.5, 2)
BIND = dict(f=F, mu=MU, c=C)


def penalised(cost, factor=None, learner=F, mu=MU, adv=MT, loss=rd.ZeroOne):
    ot = rd.OT(mu, adv, cost)
    return rd.inf(learner, rd.sup(adv, rd.E(adv, loss(learner)) - (ot if factor is None else factor * ot)))


def _problems():
    """(problem, bindings) pairs: at least 15 distinct structures and spellings."""
    g = rd.Agnostic(classes=MU.classes, name="g")
    d = rd.Power(p=1.5, tau=0.25, norm=1, name="d")
    nu_t = rd.Adversary(REG, name="nu~")
    mf = rd.MeanField(activation="relu", width=10)
    sq = rd.SquaredZ(2.0)
    ot = rd.OT(MU, MT, C)
    e = rd.E(MT, rd.ZeroOne(F))
    budget = rd.expr.Budget(ot, 0.3, delta_name="delta")
    return [
        (penalised(C), BIND),
        (penalised(rd.Ball(0.25, "inf")), dict(BIND, c=rd.Ball(0.25, "inf"))),
        (penalised(rd.Ball(1.0, 1)), dict(BIND, c=rd.Ball(1.0, 1))),
        (penalised(C, 2), BIND),
        (penalised(C, 0.5), BIND),
        (rd.inf(F, rd.sup(MT, e - 2 * (3 * ot))), BIND),
        (penalised(C, 1e-7), BIND),
        (rd.inf(F, rd.sup(MT, e, ot <= 0.125)), BIND),
        (rd.inf(F, rd.sup(MT, e, budget)), dict(BIND, delta=0.3)),
        (rd.inf(F, rd.sup(MT, e - 4 * ot, ot <= 2)), BIND),
        (rd.inf(F, rd.E(MU, rd.sup_ball(rd.Ball(0.5, 2), rd.ZeroOne(F)))), BIND),
        (rd.inf(F, rd.E(MU, PointwiseSup(rd.Ball(0.75, "inf"), rd.ZeroOne(F), eps_name="eps"))),
         dict(BIND, eps=0.75)),
        (rd.inf(F, rd.E(MU, rd.sup_ball(rd.Ball(3.0, 1), rd.ZeroOne(F)))), BIND),
        (penalised(rd.Power(p=2, tau=0.5)), dict(BIND, c=rd.Power(p=2, tau=0.5))),
        (penalised(d, learner=g), dict(g=g, mu=MU, d=d)),
        (penalised(C + rd.Power(2, 1.0)), dict(BIND, c=C + rd.Power(2, 1.0))),
        (penalised(sq, learner=mf, mu=REG, adv=nu_t, loss=rd.Squared), dict(f=mf, nu=REG, c=sq)),
        (rd.inf(F, rd.E(MU, rd.ZeroOne(F))), BIND),
        (rd.inf(F, rd.sup(MT, e - (ot - ot))), BIND),
        (rd.inf(F, rd.sup(MT, 2 * (e - ot))), BIND),
        (rd.inf(F, rd.sup(MT, e - ot - 0.5 * ot)), BIND),
    ]


PROBLEMS = _problems()


@pytest.mark.parametrize("problem,bindings", PROBLEMS, ids=[str(i) for i in range(len(PROBLEMS))])
def test_round_trip(problem, bindings):
    text = str(problem)
    back = rd.parse(text, **bindings)
    assert back == problem
    assert str(back) == text


def test_round_trip_problems_are_distinct():
    problems = [p for p, _ in PROBLEMS]
    assert len(problems) >= 15
    assert all(problems[i] != problems[j] for i in range(len(problems)) for j in range(i))


@settings(max_examples=60, deadline=None)
@given(factor=st.floats(1e-9, 1e9), eps=st.floats(0, 1e3), delta=st.floats(0, 1e3),
       norm=st.sampled_from([1, 2, math.inf]), form=st.sampled_from(["pen", "con", "both", "point"]))
def test_round_trip_property(factor, eps, delta, norm, form):
    ball = rd.Ball(eps, norm)
    ot = rd.OT(MU, MT, ball)
    e = rd.E(MT, rd.ZeroOne(F))
    problem = {"pen": lambda: rd.inf(F, rd.sup(MT, e - factor * ot)),
               "con": lambda: rd.inf(F, rd.sup(MT, e, ot <= delta)),
               "both": lambda: rd.inf(F, rd.sup(MT, e - factor * ot, ot <= delta)),
               "point": lambda: rd.inf(F, rd.E(MU, rd.sup_ball(ball, rd.ZeroOne(F))))}[form]()
    assert rd.parse(str(problem), f=F, mu=MU, c=ball) == problem


# ---------------------------------------------------------------- one semantics: spellings
@pytest.mark.parametrize("text", [
    "inf_f sup_{mu~} E_{mu~}[zero_one(f)] - OT_c(mu, mu~)",
    "inf_{f} sup_{mu~} E_{mu~}[zero_one(f)] - OT_{c}(mu, mu~)",
    "inf_f sup_mu~ E_mu~[zero_one(f)] - W_c(mu, mu~)",
    "inf_f sup_{mu~} E_{mu~}[zero_one(f)] − W_{c}(mu,mu~)",
    "# a comment\ninf_f\n  sup_{mu~}\n    E_{mu~}[ zero_one(f) ]\n  - OT_c(mu, mu~)   # penalty\n",
    "inf_f sup_{μ̃} E_{μ̃}[zero_one(f)] - OT_c(μ, μ̃)",
])
def test_spellings_build_the_python_problem(text):
    bindings = dict(BIND, **{"μ": MU})
    assert rd.parse(text, **bindings) == penalised(C)


@pytest.mark.parametrize("text,factor", [
    ("inf_f sup_{mu~} E_{mu~}[zero_one(f)] - 2 * OT_c(mu, mu~)", 2.0),
    ("inf_f sup_{mu~} E_{mu~}[zero_one(f)] - 0.5 OT_c(mu, mu~)", 0.5),
    ("inf_f sup_{mu~} E_{mu~}[zero_one(f)] - 2.5e-1 · OT_c(mu, mu~)", 0.25),
    ("inf_f sup_{mu~} E_{mu~}[zero_one(f)] - lam * OT_c(mu, mu~)", 3.0),
])
def test_scalar_multiplier(text, factor):
    problem = rd.parse(text, lam=3, **BIND)
    assert problem == penalised(C, factor)
    assert problem.form.cost == C  # a ball is invariant under positive scaling


@pytest.mark.parametrize("text", [
    "inf_f sup_{mu~ : OT_c(mu, mu~) <= 0.3} E_{mu~}[zero_one(f)]",
    "inf_f sup_{mu~ : W_c(mu, mu~) ≤ delta} E_{mu~}[zero_one(f)]",
])
def test_constrained_form(text):
    problem = rd.parse(text, delta=0.3, **BIND)
    assert problem == rd.inf(F, rd.sup(MT, rd.E(MT, rd.ZeroOne(F)), rd.OT(MU, MT, C) <= 0.3))
    form = problem.form
    assert form.constrained and form.delta == 0.3 and form.budget_cost == C and form.cost is None


@pytest.mark.parametrize("norm_text,norm", [("", 2.0), ("^{inf}", math.inf), ("^inf", math.inf),
                                            ("^{∞}", math.inf), ("^{1}", 1.0), ("^2", 2.0)])
def test_pointwise_form_is_the_ball_cost(norm_text, norm):
    text = f"inf_f E_mu[ sup_{{x~ in B{norm_text}_eps(x)}} zero_one(f) ]"
    problem = rd.parse(text, f=F, mu=MU, eps=0.5)
    assert problem == rd.inf(F, rd.E(MU, rd.sup_ball(rd.Ball(0.5, norm), rd.ZeroOne(F))))
    ball = penalised(rd.Ball(0.5, norm))
    assert problem.form == ball.form
    assert problem.form.pointwise and not ball.form.pointwise
    assert problem.form.cost == rd.Ball(0.5, norm)
    literal = rd.parse(f"inf_f E_mu[sup_{{x~ ∈ B{norm_text}_{{0.5}}(x)}} zero_one(f)]", f=F, mu=MU)
    assert literal == problem


def test_adversary_binds_automatically_and_explicitly():
    text = "inf_f sup_{nu~} E_{nu~}[zero_one(f)] - OT_c(nu, nu~)"
    auto = rd.parse(text, f=F, nu=MU, c=C)
    assert auto == penalised(C) and str(auto.body.variable) == "nu~"
    explicit = rd.parse(text, f=F, nu=MU, c=C, **{"nu~": MT})
    assert explicit == auto


# ---------------------------------------------------------------- errors
def _caret(err: ParseError) -> tuple[str, int]:
    """(the quoted source line, the caret's column) from the error message."""
    lines = str(err).splitlines()
    assert lines[-1].strip() == "^"
    return lines[-2][4:], len(lines[-1]) - 4


@pytest.mark.parametrize("text,line,column,words", [
    ("inf_f sup_{mu~} E_{mu~}[zero_one(f)] - OT_c(mu, mu~", 1, 52, ["end of input", "')'"]),
    ("inf_f sup_{mu~} E_{mu~}[zero_one(f)] -- OT_c(mu, mu~)", 1, 39, ["unexpected '-'"]),
    ("inf_f\nsup_{mu~}  E_{mu~}[zero_one f]", 2, 29, ["unexpected 'f'", "'('"]),
    ("inf_f E_mu[zero_one(f)] $", 1, 25, ["unexpected character '$'"]),
    ("sup_{mu~} E_{mu~}[zero_one(f)]", 1, 1, ["'inf_'"]),
    ("", 1, 1, ["end of input", "'inf_'"]),
    ("inf_f sup_{mu~ : OT_c(mu, mu~) < 1} E_{mu~}[zero_one(f)]", 1, 32, ["'<='"]),
])
def test_syntax_error_positions(text, line, column, words):
    with pytest.raises(ParseError) as ei:
        rd.parse(text, **BIND)
    err = ei.value
    assert (err.line, err.column) == (line, column)
    src, caret = _caret(err)
    assert src == text.splitlines()[line - 1] if text else src == ""
    assert caret == column
    for w in words:
        assert w in str(err)


@pytest.mark.parametrize("text,name,kind", [
    ("inf_g sup_{mu~} E_{mu~}[zero_one(f)] - OT_c(mu, mu~)", "g", "learner class"),
    ("inf_f sup_{mu~} E_{mu~}[zero_one(f)] - OT_d(mu, mu~)", "d", "cost"),
    ("inf_f sup_{nu~} E_{nu~}[zero_one(f)] - OT_c(nu, nu~)", "nu~", "measure"),
    ("inf_f sup_{mu~ : OT_c(mu, mu~) <= delta} E_{mu~}[zero_one(f)]", "delta", "real number"),
    ("inf_f E_mu[sup_{x~ in B_eps(x)} zero_one(f)]", "eps", "real number"),
])
def test_unbound_names(text, name, kind):
    with pytest.raises(UnboundName) as ei:
        rd.parse(text, **BIND)
    msg = str(ei.value)
    assert f"unbound name {name!r}" in msg and kind in msg
    src, caret = _caret(ei.value)
    assert src[caret - 1:].startswith(name)


@pytest.mark.parametrize("text,bindings,name,kind", [
    ("inf_f sup_{mu~} E_{mu~}[zero_one(f)] - OT_mu(mu, mu~)", {}, "mu", "cost"),
    ("inf_c sup_{mu~} E_{mu~}[zero_one(f)] - OT_c(mu, mu~)", {}, "c", "learner"),
    ("inf_f sup_{mu~} E_{mu~}[zero_one(f)] - OT_c(mu, f)", {}, "f", "measure"),
    ("inf_f sup_{mu~ : OT_c(mu, mu~) <= delta} E_{mu~}[zero_one(f)]", {"delta": "0.1"}, "delta", "real number"),
    ("inf_f sup_{mu~ : OT_c(mu, mu~) <= delta} E_{mu~}[zero_one(f)]", {"delta": True}, "delta", "real number"),
])
def test_wrong_kind_of_object(text, bindings, name, kind):
    with pytest.raises(ParseError) as ei:
        rd.parse(text, **dict(BIND, **bindings))
    assert not isinstance(ei.value, UnboundName)
    assert f"name {name!r} is bound to" in str(ei.value) and kind in str(ei.value)


@pytest.mark.parametrize("text,bindings,argument", [
    ("inf_f sup_{mu~ : OT_c(mu, mu~) <= delta} E_{mu~}[zero_one(f)]", {"delta": -1.0}, "delta"),
    ("inf_f sup_{mu~} E_{mu~}[zero_one(f)] - 0 * OT_c(mu, mu~)", {}, "factor"),
    ("inf_f E_mu[sup_{x~ in B_eps(x)} zero_one(f)]", {"eps": -0.5}, "eps"),
    ("inf_f E_mu[sup_{x~ in B_eps(x)} zero_one(f)]", {"eps": float("nan")}, "eps"),
])
def test_invalid_values_name_the_argument(text, bindings, argument):
    with pytest.raises(InvalidInput) as ei:
        rd.parse(text, **dict(BIND, **bindings))
    assert ei.value.argument == argument


@pytest.mark.parametrize("text,words", [
    ("inf_f sup_{mu~} E_{mu~}[hinge(f)] - OT_c(mu, mu~)", ["unknown loss 'hinge'", "zero_one", "squared"]),
    ("inf_f E_mu[sup_{x~ in B^{3}_eps(x)} zero_one(f)]", ["unknown norm '3'"]),
    ("inf_f E_mu[sup_{x~ in B_eps(y)} zero_one(f)]", ["centred at 'y'"]),
])
def test_semantic_errors_have_positions(text, words):
    with pytest.raises(ParseError) as ei:
        rd.parse(text, eps=0.5, **BIND)
    assert ei.value.line == 1 and ei.value.column is not None
    for w in words:
        assert w in str(ei.value)


def test_parse_refuses_non_text():
    with pytest.raises(InvalidInput) as ei:
        rd.parse(b"inf_f", **BIND)
    assert ei.value.argument == "text"


# ---------------------------------------------------------------- LaTeX through sympy
def test_latex_penalised():
    tex = penalised(C, 0.5).latex()
    assert tex == (r"\inf_{f} \sup_{\tilde{\mu}} \mathbb{E}_{(x, y) \sim \tilde{\mu}}"
                   r"\left[\ell_{0\text{-}1}\left(f; x, y\right)\right] - "
                   r"\frac{\mathrm{OT}_{c}\left(\mu, \tilde{\mu}\right)}{2}")


def test_latex_constrained_and_pointwise():
    con = rd.parse("inf_f sup_{mu~ : OT_c(mu, mu~) <= delta_1} E_{mu~}[zero_one(f)]", delta_1=0.1, **BIND)
    assert r"\sup_{\tilde{\mu} \,:\, \mathrm{OT}_{c}\left(\mu, \tilde{\mu}\right) \leq \delta_{1}}" in con.latex()
    lit = rd.inf(F, rd.sup(MT, rd.E(MT, rd.ZeroOne(F)), rd.OT(MU, MT, C) <= 0.1))
    assert r"\leq \frac{1}{10}" in lit.latex()
    pw = rd.parse("inf_f E_mu[sup_{x~ in B^{inf}_eps(x)} zero_one(f)]", f=F, mu=MU, eps=0.3)
    assert r"\sup_{\tilde{x} \in B^{\infty}_{\varepsilon}(x)} \ell_{0\text{-}1}\left(f; \tilde{x}, y\right)" \
        in pw.latex()
    assert pw.latex().startswith(r"\inf_{f} \mathbb{E}_{(x, y) \sim \mu}")


def test_adversary_of_a_renamed_measure_round_trips():
    nu = rd.EmpiricalMeasure.from_arrays(MU.X, MU.y, name="nu")
    adv = rd.Adversary(nu)
    assert str(adv) == "nu~"
    problem = penalised(C, mu=nu, adv=adv)
    assert str(problem) == "inf_{f} sup_{nu~} E_{nu~}[zero_one(f)] - OT_{c}(nu, nu~)"
    assert rd.parse(str(problem), f=F, nu=nu, c=C) == problem


def test_greek_mu_with_combining_tilde_is_the_adversary_of_mu():
    mu = rd.EmpiricalMeasure.from_arrays(np.array([[0.0], [1.0]]), [0, 1])
    f, c = rd.Agnostic(mu.classes), rd.Ball(1.0)
    ascii_ = rd.parse("inf_f sup_{mu~} E_{mu~}[zero_one(f)] - 2 * OT_c(mu, mu~)", f=f, mu=mu, c=c)
    greek = rd.parse("inf_f sup_{\u03bc\u0303} E_{\u03bc\u0303}[zero_one(f)] \u2212 2 \u00b7 OT_c(mu, \u03bc\u0303)",
                     f=f, mu=mu, c=c)
    assert greek == ascii_ and str(greek) == str(ascii_)
    assert rd.parse("inf_f sup_{\u03bc\u0303} E_{\u03bc\u0303}[zero_one(f)] - OT_c(\u03bc, \u03bc\u0303)",
                    f=f, c=c, **{"\u03bc": mu}) == rd.parse("inf_f sup_{mu~} E_{mu~}[zero_one(f)] - OT_c(mu, mu~)",
                                                             f=f, mu=mu, c=c)
