"""The text front end: `parse(text, **bindings)` -> the same Problem the Python API builds.

    parse("inf_f sup_{mu~} E_{mu~}[zero_one(f)] - OT_c(mu, mu~)", f=f, mu=mu, c=cost)

The grammar is grammar/robustdsl.lark (LALR(1)); a Lark Transformer maps each rule to
the expression-tree constructors of robustdsl.expr, so there is one semantics.
Names are looked up in `bindings`; `X~` defaults to `Adversary(X)` when X is a bound measure.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from numbers import Real
from typing import Any

import numpy as np
from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, VisitError

from . import _check
from .costs import Ball, Cost
from .errors import InvalidInput, ParseError, UnboundName
from .expr import Budget, Difference, Expectation, OT, PointwiseSup, Scaled, Sup
from .learners import Learner
from .losses import Squared, ZeroOne
from .measures import Adversary, EmpiricalMeasure
from .problem import Problem

LOSSES = {"zero_one": ZeroOne, "squared": Squared}

# What may be bound to a name in each position (for UnboundName / wrong-kind messages).
KINDS: dict[str, tuple[tuple[type, ...], str]] = {
    "learner": ((Learner,), "a learner class (Agnostic, MeanField)"),
    "measure": ((EmpiricalMeasure, Adversary), "a measure (EmpiricalMeasure) or the adversary (Adversary)"),
    "cost": ((Cost,), "a cost (Ball, Power, SquaredZ, SumCost)"),
    "number": ((Real, np.floating, np.integer), "a real number"),
}

_READABLE = {
    "INF": "'inf_'", "SUP": "'sup_'", "EXP": "'E_'", "OTK": "'OT_' or 'W_'", "BALL": "'B_'",
    "IN": "'in'", "LE": "'<='", "MINUS": "'-'", "STAR": "'*'", "NAME": "a name", "NUMBER": "a number",
    "LBRACE": "'{'", "RBRACE": "'}'", "LSQB": "'['", "RSQB": "']'", "LPAR": "'('", "RPAR": "')'",
    "COMMA": "','", "COLON": "':'", "$END": "end of input",
}


@lru_cache(maxsize=1)
def grammar() -> Lark:
    """The LALR parser built from the packaged grammar (built once)."""
    return Lark.open_from_package("robustdsl.grammar", "robustdsl.lark", ("",), parser="lalr",
                                  maybe_placeholders=True)


@dataclass(frozen=True)
class _Name:
    """A name as written, with its position (for error messages)."""

    text: str
    line: int
    column: int


def _canonical(name: str) -> str:
    return name.replace("\u0303", "~")


def _norm_of(token: Token) -> float:
    """The norm written in B^{p}_ (2 when absent)."""
    text = str(token)
    if "^" not in text:
        return 2.0
    raw = text[text.index("^") + 1:-1].strip("{} \t").replace("\u221e", "inf")
    try:
        return _check.norm("norm", raw)
    except InvalidInput:
        raise ParseError(f"unknown norm {raw!r} in {text!r}; accepted: B_ (l2), B^{{1}}_, B^{{2}}_, B^{{inf}}_",
                         token.line, token.column) from None


@v_args(inline=True)
class _Build(Transformer):
    """Builds robustdsl objects from the parse tree, resolving names in `bindings`."""

    def __init__(self, bindings: dict[str, Any]):
        super().__init__()
        self.bindings = bindings

    # ------------------------------------------------------------ names and values
    def name(self, tok: Token) -> _Name:
        return _Name(_canonical(str(tok)), tok.line, tok.column)

    def sub(self, name: _Name) -> _Name:
        return name

    def value(self, v: Any) -> tuple[float, str | None, _Name | None]:
        if isinstance(v, _Name):
            return float(self.lookup(v, "number")), v.text, v
        return float(v), None, None

    def value_sub(self, v: tuple) -> tuple:
        return v

    def lookup(self, name: _Name, kind: str) -> Any:
        types, what = KINDS[kind]
        # the name as written, then its ASCII spelling (a Greek mu reads as mu: μ̃ is mu~)
        spellings = [name.text] + (["mu" + name.text[1:]] if name.text.startswith("\u03bc") else [])
        bound = [t for t in spellings if t in self.bindings]
        base = [t for t in spellings if kind == "measure" and t.endswith("~")
                and isinstance(self.bindings.get(t[:-1]), EmpiricalMeasure)]
        if bound:
            obj = self.bindings[bound[0]]
        elif base:
            obj = Adversary(self.bindings[base[0][:-1]], name=base[0])
        else:
            hint = (f" (or bind {name.text[:-1]!r} to an EmpiricalMeasure: {name.text} is then its adversary)"
                    if kind == "measure" and name.text.endswith("~") else "")
            raise UnboundName(f"unbound name {name.text!r}: bind it to {what}{hint}, "
                              f"e.g. parse(text, **{{{name.text!r}: ...}})", name.line, name.column)
        if isinstance(obj, bool) or not isinstance(obj, types):
            raise ParseError(f"name {name.text!r} is bound to {type(obj).__name__}, but {what} is expected here",
                             name.line, name.column)
        return obj

    # ------------------------------------------------------------ terms
    def loss(self, keyword: _Name, learner: _Name):
        if keyword.text not in LOSSES:
            raise ParseError(f"unknown loss {keyword.text!r}; known losses: {', '.join(LOSSES)}",
                             keyword.line, keyword.column)
        return LOSSES[keyword.text](self.lookup(learner, "learner"))

    def ot(self, _tok: Token, cost: _Name, source: _Name, target: _Name) -> OT:
        return OT(self.lookup(source, "measure"), self.lookup(target, "measure"), self.lookup(cost, "cost"))

    def pointwise(self, _sup: Token, var: _Name, _in: Token, ball: Token, eps: tuple, centre: _Name, loss):
        if not var.text.endswith("~") or centre.text != var.text[:-1]:
            raise ParseError(f"the pointwise sup must read sup_{{x~ in B_eps(x)}}: the ball is centred at "
                             f"{centre.text!r} but the variable is {var.text!r}", centre.line, centre.column)
        value, eps_name, _ = eps
        return PointwiseSup(Ball(value, _norm_of(ball)), loss, eps_name=eps_name)

    def expectation(self, _tok: Token, measure: _Name, integrand) -> Expectation:
        return Expectation(self.lookup(measure, "measure"), integrand)

    def scaled(self, factor: tuple, *rest) -> Scaled:
        return Scaled(factor[0], rest[-1])

    def difference(self, left, _minus: Token, right) -> Difference:
        return Difference(left, right)

    def budget(self, ot: OT, _le: Token, delta: tuple) -> Budget:
        return Budget(ot, delta[0], delta_name=delta[1])

    def sup_braced(self, _tok: Token, var: _Name, budget: Budget | None, body) -> Sup:
        return Sup(self.lookup(var, "measure"), body, budget)

    def sup_bare(self, _tok: Token, var: _Name, body) -> Sup:
        return Sup(self.lookup(var, "measure"), body)

    def problem(self, _tok: Token, learner: _Name, body) -> Problem:
        return Problem(self.lookup(learner, "learner"), body)

    def start(self, problem: Problem) -> Problem:
        return problem


def _syntax_error(exc: UnexpectedInput, text: str) -> ParseError:
    """A ParseError with line, column and caret from Lark's exception."""
    line, column = getattr(exc, "line", -1), getattr(exc, "column", -1)
    at_end = isinstance(exc, UnexpectedEOF) or getattr(getattr(exc, "token", None), "type", "") == "$END"
    if at_end or line is None or line < 1:
        lines = text.splitlines() or [""]
        line, column = len(lines), len(lines[-1]) + 1
    expected = (getattr(exc, "accepts", None) or getattr(exc, "expected", None)
                or getattr(exc, "allowed", None) or ())
    want = ", ".join(sorted({_READABLE.get(e, e) for e in expected}))
    if isinstance(exc, UnexpectedCharacters):
        what = f"unexpected character {exc.char!r}"
    elif at_end:
        what = "unexpected end of input"
    else:
        what = f"unexpected {str(exc.token)!r}"  # type: ignore[attr-defined]
    return ParseError(f"syntax error: {what}" + (f"; expected {want}" if want else ""), line, column, text)


def parse(text: str, **bindings: Any) -> Problem:
    """Parse the robustdsl text syntax into a Problem, resolving names from `bindings`.

    Raises ParseError (line, column, caret) on a syntax error, UnboundName for a name not bound,
    ParseError when a name is bound to the wrong kind of object.
    """
    if not isinstance(text, str):
        raise InvalidInput("text", f"expected a string, got {type(text).__name__}")
    try:
        tree = grammar().parse(text)
    except UnexpectedInput as exc:
        raise _syntax_error(exc, text) from None
    try:
        return _Build(bindings).transform(tree)
    except RecursionError:
        raise ParseError("the expression is nested too deeply to build (Python's recursion limit); "
                         "write repeated factors as one number, e.g. 8 * OT_c(mu, mu~)") from None
    except VisitError as exc:
        orig = exc.orig_exc
        if isinstance(orig, ParseError) and orig.line is not None and "\n  at line" not in str(orig):
            raise type(orig)(str(orig), orig.line, orig.column, text) from None
        raise orig from None


__all__ = ["parse", "grammar", "LOSSES", "KINDS"]
