"""LaTeX of a problem, rendered through sympy.

Names become sympy symbols (`mu~` -> \\tilde{\\mu}, `delta_1` -> \\delta_{1}); the objective is
a sympy expression (differences, exact rational multipliers) printed with `sympy.latex`
in the order written; the inf / sup prefixes are composed around it.
"""
from __future__ import annotations

import sympy

from .costs import norm_str
from .expr import Budget, Difference, Expectation, OT, PointwiseSup, Scaled, Sup, Term
from .losses import Loss, Squared, ZeroOne

_LOSS_TEX = {ZeroOne: r"\ell_{0\text{-}1}", Squared: r"\ell_{2}"}
_ALIASES = {"eps": "varepsilon", "lam": "lambda"}  # common ASCII short names of Greek letters


def name_tex(name: str) -> str:
    """A printed name as LaTeX through sympy's symbol printer (a trailing ~ is a tilde)."""
    base, tilde = (name[:-1], "tilde") if name.endswith("~") else (name, "")
    return sympy.latex(sympy.Symbol(_ALIASES.get(base, base) + tilde))


def number(x: float) -> sympy.Rational:
    """The exact rational of a float as written (0.5 -> 1/2, 0.1 -> 1/10)."""
    return sympy.Rational(repr(float(x)))


def _loss_tex(loss: Loss, point: str) -> str:
    return rf"{_LOSS_TEX.get(type(loss), loss.keyword)}\left({name_tex(str(loss.f))}; {point}\right)"


def _integrand(node: Loss | PointwiseSup) -> str:
    if isinstance(node, PointwiseSup):
        norm = "" if node.ball.norm == 2 else "^{" + norm_str(node.ball.norm).replace("inf", r"\infty") + "}"
        eps = name_tex(node.eps_name) if node.eps_name else sympy.latex(number(node.ball.eps))
        return (rf"\sup_{{\tilde{{x}} \in B{norm}_{{{eps}}}(x)}} "
                + _loss_tex(node.loss, r"\tilde{x}, y"))
    return _loss_tex(node, "x, y")


def _ot_tex(ot: OT) -> str:
    return rf"\mathrm{{OT}}_{{{name_tex(str(ot.cost))}}}\left({name_tex(str(ot.source))}, {name_tex(str(ot.target))}\right)"


def to_sympy(term: Term) -> sympy.Expr:
    """The objective as an unevaluated sympy expression (atoms are LaTeX-named symbols)."""
    if isinstance(term, Expectation):
        return sympy.Symbol(rf"\mathbb{{E}}_{{(x, y) \sim {name_tex(str(term.measure))}}}"
                            rf"\left[{_integrand(term.loss)}\right]")
    if isinstance(term, OT):
        return sympy.Symbol(_ot_tex(term))
    if isinstance(term, Scaled):
        return sympy.Mul(number(term.factor), to_sympy(term.term), evaluate=False)
    if isinstance(term, Difference):
        right = sympy.Mul(sympy.S.NegativeOne, to_sympy(term.right), evaluate=False)
        return sympy.Add(to_sympy(term.left), right, evaluate=False)
    raise TypeError(f"no LaTeX for {type(term).__name__}")


def _budget_tex(b: Budget) -> str:
    delta = name_tex(b.delta_name) if b.delta_name else sympy.latex(number(b.delta))
    return rf"{_ot_tex(b.ot)} \leq {delta}"


def to_latex(problem) -> str:
    """\\inf_{f} \\sup_{\\tilde{\\mu} [: OT <= delta]} <objective printed by sympy>."""
    body = problem.body
    parts = [rf"\inf_{{{name_tex(str(problem.learner))}}}"]
    if isinstance(body, Sup):
        var = name_tex(str(body.variable))
        parts.append(rf"\sup_{{{var}}}" if body.constraint is None
                     else rf"\sup_{{{var} \,:\, {_budget_tex(body.constraint)}}}")
        body = body.body
    parts.append(sympy.latex(to_sympy(body), order="none"))
    return " ".join(parts)


__all__ = ["to_latex", "to_sympy", "name_tex"]
