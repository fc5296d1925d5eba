"""A transport cost written as a sympy expression in x and x~, with family detection.

Two conventions for the vectors x and x~:

1. Vector symbols (any dimension): `x, xt = sympy.symbols("x xt")` and the norm of a difference
   written with `norm(x - xt, p)` (p in 1, 2, oo; `norm` is the sympy function exported here).
   Known families, in sums of terms in `s = norm(x - xt, p)`:
       a * s**r                           -> Power(p=r, tau=1/a, norm=p)      (a > 0, r >= 1)
       Piecewise((0, s <= eps), (oo, True)) -> Ball(eps, norm=p)
   e.g.  norm(x - xt, 2)**2 / 3 + Piecewise((0, norm(x - xt, 2) <= 1), (oo, True))
         -> Ball(1, 2) + Power(2, 3, 2).
2. Coordinates: x and x~ given as equal-length sequences of scalar symbols.  The expression
   must be a * ||x - x~||^r in one of the norms 1, 2, oo; r and a are read off at e_1 and
   2 e_1 and the identity E == a * ||z||^r is then PROVED symbolically (sympy simplification to 0
   with real z), never guessed.

Anything else raises UnsupportedProblem at construction, naming what was not recognised;
malformed arguments (not an expression, x and x~ not distinct symbols, a cost that does not
depend on them, a radius that is not a real number) raise InvalidInput.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import sympy

from .costs import Ball, Cost, Power, SumCost
from .errors import InvalidInput, UnsupportedProblem

norm = sympy.Function("norm")
"""norm(z, p): the p-norm of a vector expression z (p in 1, 2, oo)."""

_NORMS = {sympy.Integer(1): 1.0, sympy.Integer(2): 2.0, sympy.oo: math.inf}


def _positive_number(e: Any, what: str) -> float:
    if not (e.is_number and e.is_real):
        raise UnsupportedProblem(f"ExprCost: {what} {e} is not a real number")
    v = float(e)
    if not v > 0 or not math.isfinite(v):
        raise UnsupportedProblem(f"ExprCost: {what} {e} must be finite and > 0")
    return v


def _kind(v: Any) -> str:
    if isinstance(v, (list, tuple, sympy.MatrixBase)):
        return f"a sequence of {len(v)} coordinates"
    return f"{type(v).__name__} {v!r}"


def _power(expr: Any, r: float, a: float, norm_p: float) -> Power:
    """Power(r, 1 / a, norm_p), its refusals (exponent above MAX_POWER, ...) naming the expression."""
    try:
        return Power(p=r, tau=1.0 / a, norm=norm_p)
    except InvalidInput as exc:
        raise InvalidInput("expr", f"{expr}: the power's {exc.argument} {exc.problem}", exc.accepted) from None


def _coord_norm(z: Sequence[sympy.Symbol], p: float) -> sympy.Expr:
    if p == 2:
        return sympy.sqrt(sum(zi ** 2 for zi in z))
    if p == 1:
        return sum(sympy.Abs(zi) for zi in z)
    return sympy.Max(*[sympy.Abs(zi) for zi in z])


@dataclass(frozen=True, eq=False)
class ExprCost(Cost):
    """c(x, x~) given as a sympy expression; `detect()` returns the equal Ball / Power / sum."""

    expr: Any
    x: Any
    x_tilde: Any
    name: str = field(default="c", compare=False)

    def __post_init__(self) -> None:
        try:
            e = sympy.sympify(self.expr)
        except (sympy.SympifyError, TypeError) as exc:
            raise InvalidInput("expr", f"cannot be read as a sympy expression ({exc})") from None
        if not isinstance(e, sympy.Expr):
            raise InvalidInput("expr", f"expected a sympy expression in x and x_tilde, got {type(self.expr).__name__} "
                               f"{self.expr!r}", "an expression such as norm(x - xt, 2)**2")
        object.__setattr__(self, "expr", e)
        object.__setattr__(self, "_detected", self._detect())

    # ------------------------------------------------------------------ detection
    def _detect(self) -> Cost:
        both = "both sympy Symbols (vector form) or both sequences of distinct Symbols of one length"
        seq_x, seq_xt = (isinstance(v, (list, tuple, sympy.MatrixBase)) for v in (self.x, self.x_tilde))
        if seq_x != seq_xt:
            bad = "x_tilde" if seq_x else "x"
            raise InvalidInput(bad, f"x is {_kind(self.x)} but x_tilde is {_kind(self.x_tilde)}", both)
        if seq_x:
            xs, xts = list(self.x), list(self.x_tilde)
            if len(xs) != len(xts) or not xs:
                raise InvalidInput("x_tilde", f"has {len(xts)} coordinates, x has {len(xs)}", "equal lengths >= 1")
        else:
            if not isinstance(self.x, sympy.Symbol) or not isinstance(self.x_tilde, sympy.Symbol):
                raise InvalidInput("x", "x and x_tilde must both be sympy Symbols or both sequences of Symbols")
            xs, xts = [self.x], [self.x_tilde]
        for name, group in (("x", xs), ("x_tilde", xts)):
            odd = [v for v in group if not isinstance(v, sympy.Symbol)]
            if odd:
                raise InvalidInput(name, f"coordinate {odd[0]!r} is not a sympy Symbol", both)
        syms = xs + xts
        if len(set(syms)) != len(syms):
            raise InvalidInput("x_tilde", f"repeats a symbol of x ({self.x} and {self.x_tilde}): the cost of a "
                               "displacement needs the point and its copy as distinct symbols", both)
        if not self.expr.free_symbols & set(syms):
            raise InvalidInput("expr", f"{self.expr} does not depend on x or x_tilde (a constant is no transport cost)",
                               "a cost of the displacement, e.g. norm(x - xt, 2)**2")
        return self._detect_coordinates() if seq_x else self._detect_vector()

    def _detect_vector(self) -> Cost:
        e, x, xt = self.expr, self.x, self.x_tilde
        subs: dict = {}
        svars: dict = {}
        for call in e.atoms(sympy.Function):
            if isinstance(call, sympy.Piecewise):
                continue
            if call.func != norm:
                raise UnsupportedProblem(f"ExprCost: function {call.func} is not `norm`; known families are "
                                         "a * norm(x - xt, p)**r and Piecewise((0, norm(x - xt, p) <= eps), (oo, True))")
            if len(call.args) != 2 or call.args[1] not in _NORMS:
                raise UnsupportedProblem(f"ExprCost: {call} must be norm(x - xt, p) with p in 1, 2, oo")
            arg = sympy.expand(call.args[0])
            if sympy.expand(arg - (x - xt)) != 0 and sympy.expand(arg + (x - xt)) != 0:
                raise UnsupportedProblem(f"ExprCost: {call} is not a norm of x - xt (the cost must depend on the "
                                         "displacement only)")
            p = _NORMS[call.args[1]]
            s = svars.setdefault(p, sympy.Symbol(f"s_{call.args[1]}", nonnegative=True))
            subs[call] = s
        for rel in e.atoms(sympy.core.relational.Relational):
            for side in (rel.lhs, rel.rhs):
                if side.is_number and side.is_extended_real is not True:
                    raise InvalidInput("expr", f"the condition {rel} compares with {side}, not a real number",
                                       "a ball Piecewise((0, norm(x - xt, p) <= eps), (oo, True)) with a real eps >= 0")
        try:
            e = e.xreplace(subs)
        except (TypeError, ValueError) as exc:   # sympy re-evaluates every condition
            raise InvalidInput("expr", f"cannot be evaluated with norm(x - xt, p) >= 0 ({exc})") from None
        if e.free_symbols & {x, xt}:
            raise UnsupportedProblem(f"ExprCost: {self.expr} uses x or xt outside norm(x - xt, p)")
        terms = [self._term(t, svars) for t in sympy.Add.make_args(sympy.expand(e, deep=False))]
        return terms[0] if len(terms) == 1 else SumCost(tuple(terms))

    def _term(self, t: sympy.Expr, svars: dict) -> Cost:
        by_sym = {s: p for p, s in svars.items()}
        used = [s for s in t.free_symbols if s in by_sym]
        if len(used) != 1 or t.free_symbols - set(used):
            raise UnsupportedProblem(f"ExprCost: term {t} is not a function of one norm(x - xt, p)")
        s = used[0]
        p = by_sym[s]
        if isinstance(t, sympy.Piecewise):
            return self._ball(t, s, p)
        coeff, rest = t.as_coeff_Mul()
        base_exp = rest.as_base_exp()
        if base_exp[0] != s:
            raise UnsupportedProblem(f"ExprCost: term {t} is not a * norm(x - xt, p)**r")
        r = _positive_number(base_exp[1], "exponent")
        a = _positive_number(coeff, "coefficient")
        if r < 1:
            raise UnsupportedProblem(f"ExprCost: exponent {r} < 1 is not a convex power")
        return _power(self.expr, r, a, p)

    def _ball(self, t: sympy.Piecewise, s: sympy.Symbol, p: float) -> Ball:
        pieces = t.args
        first = pieces[0].cond if pieces else None
        ok = (len(pieces) == 2 and pieces[0].expr == 0 and pieces[1].expr == sympy.oo
              and isinstance(first, sympy.Le) and first.lhs == s
              and (pieces[1].cond == sympy.true or pieces[1].cond == sympy.Gt(s, first.rhs)))
        if not ok:
            raise UnsupportedProblem(f"ExprCost: {t} is not Piecewise((0, norm(x - xt, p) <= eps), (oo, True))")
        eps = pieces[0].cond.rhs
        if not (eps.is_number and eps.is_real and float(eps) >= 0):
            raise UnsupportedProblem(f"ExprCost: ball radius {eps} must be a number >= 0")
        return Ball(float(eps), p)

    def _detect_coordinates(self) -> Cost:
        x, xt = list(self.x), list(self.x_tilde)      # (equal lengths >= 1: checked in _detect)
        z = [sympy.Symbol(f"z{i}", real=True) for i in range(len(x))]
        e = sympy.expand(self.expr.subs({xi: xti + zi for xi, xti, zi in zip(x, xt, z)}, simultaneous=True))
        if e.free_symbols - set(z):
            raise UnsupportedProblem(f"ExprCost: {self.expr} does not depend on x - x~ only")
        at1 = e.subs({zi: (1 if i == 0 else 0) for i, zi in enumerate(z)})
        at2 = e.subs({zi: (2 if i == 0 else 0) for i, zi in enumerate(z)})
        a = _positive_number(sympy.nsimplify(at1), "c(e_1)")
        ratio = sympy.nsimplify(sympy.simplify(at2 / at1))
        r = sympy.nsimplify(sympy.log(ratio, 2))
        rv = _positive_number(r, "exponent")
        if rv < 1:
            raise UnsupportedProblem(f"ExprCost: exponent {r} < 1 is not a convex power")
        for pn, p in ((2, 2.0), (1, 1.0), (sympy.oo, math.inf)):
            cand = sympy.nsimplify(at1) * _coord_norm(z, p) ** r
            if sympy.simplify(e - cand) == 0:
                return _power(self.expr, float(r), a, p)
        raise UnsupportedProblem(f"ExprCost: {self.expr} is not a * ||x - x~||^r in the 1, 2 or oo norm "
                                 "(no generic barycenter is offered for other costs)")

    # ------------------------------------------------------------------ the Cost interface
    def detect(self) -> Cost:
        """The known family equal to this expression (Power, Ball or their sum)."""
        return self._detected  # type: ignore[attr-defined]

    @property
    def family(self) -> str:  # type: ignore[override]
        return self.detect().family

    @property
    def norm(self) -> float | None:
        return getattr(self.detect(), "norm", None)

    @property
    def terms(self) -> tuple[Cost, ...]:
        d = self.detect()
        return d.terms if isinstance(d, SumCost) else (d,)

    def scaled(self, factor: float) -> Cost:
        return self.detect().scaled(factor)

    def __repr__(self) -> str:
        return f"ExprCost({self.expr}) = {self.detect()!r}"

    def __str__(self) -> str:
        return str(self.expr)


__all__ = ["ExprCost", "norm"]
