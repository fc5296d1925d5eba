"""The expression tree of an adversarial problem.

    inf_f sup_{mu~ [: OT_c(mu, mu~) <= delta]}  E_{mu~}[loss(f)] - lambda * OT_c(mu, mu~)

Nodes are frozen dataclasses; `str(node)` prints the text syntax that
`robustdsl.parse` reads back to an equal node (one semantics).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

from . import _check
from .costs import Ball, Cost, norm_str
from .errors import InvalidInput
from .learners import Learner
from .losses import Loss
from .measures import Adversary, EmpiricalMeasure

Measure = Union[EmpiricalMeasure, Adversary]


def _fmt(x: float) -> str:
    """A number as the grammar reads it back exactly (repr of the float, integers without '.0')."""
    v = float(x)
    return str(int(v)) if v.is_integer() and abs(v) < 1e16 else repr(v)


def _wrap(term: object) -> str:
    """Parenthesise a difference where precedence would otherwise regroup it."""
    return f"({term})" if isinstance(term, Difference) else str(term)


class Term:
    """A scalar-valued term of the objective; supports `a - b` and `lambda * a`."""

    def __sub__(self, other: object) -> "Difference":
        if not isinstance(other, Term):
            return NotImplemented
        return Difference(self, other)

    def __rmul__(self, factor: object) -> "Scaled":
        return Scaled(_check.real("factor", factor, positive=True), self)

    __mul__ = __rmul__


@dataclass(frozen=True)
class Expectation(Term):
    """E_{measure}[loss]: the expected loss under a measure (usually the adversary mu~)."""

    measure: Measure
    loss: Union[Loss, "PointwiseSup"]

    def __post_init__(self) -> None:
        if not isinstance(self.measure, (EmpiricalMeasure, Adversary)):
            raise InvalidInput("measure", f"expected a measure or the adversary, got {type(self.measure).__name__}")
        if not isinstance(self.loss, (Loss, PointwiseSup)):
            raise InvalidInput("loss", f"expected a loss (ZeroOne, Squared), got {type(self.loss).__name__}")

    def __str__(self) -> str:
        return f"E_{{{self.measure}}}[{self.loss}]"


@dataclass(frozen=True)
class PointwiseSup:
    """sup_{x~ in B_eps(x)} loss: the pointwise worst case inside a ball (same as the Ball cost)."""

    ball: Ball
    loss: Loss
    eps_name: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.ball, Ball):
            raise InvalidInput("ball", f"expected a Ball, got {type(self.ball).__name__}")
        if not isinstance(self.loss, Loss):
            raise InvalidInput("loss", f"expected a loss, got {type(self.loss).__name__}")

    def __str__(self) -> str:
        eps = self.eps_name or _fmt(self.ball.eps)
        norm = "" if self.ball.norm == 2 else f"^{{{norm_str(self.ball.norm)}}}"
        return f"sup_{{x~ in B{norm}_{{{eps}}}(x)}} {self.loss}"


@dataclass(frozen=True)
class OT(Term):
    """OT_c(mu, mu~) = min over couplings pi of integral c dpi (the transport cost)."""

    source: Measure
    target: Measure
    cost: Cost

    def __post_init__(self) -> None:
        for arg in ("source", "target"):
            v = getattr(self, arg)
            if not isinstance(v, (EmpiricalMeasure, Adversary)):
                raise InvalidInput(arg, f"expected a measure, got {type(v).__name__}")
        if not isinstance(self.cost, Cost):
            raise InvalidInput("cost", f"expected a cost (Ball, Power, SquaredZ), got {type(self.cost).__name__}")

    def __le__(self, delta: object) -> "Budget":  # type: ignore[override]
        return Budget(self, _check.real("delta", delta, nonneg=True))

    def __str__(self) -> str:
        return f"OT_{{{self.cost}}}({self.source}, {self.target})"


@dataclass(frozen=True)
class Scaled(Term):
    """factor * term, factor > 0."""

    factor: float
    term: Term

    def __post_init__(self) -> None:
        object.__setattr__(self, "factor", _check.real("factor", self.factor, positive=True))
        if not isinstance(self.term, Term):
            raise InvalidInput("term", f"expected a term, got {type(self.term).__name__}")

    def __str__(self) -> str:
        return f"{_fmt(self.factor)} * {_wrap(self.term)}"


@dataclass(frozen=True)
class Difference(Term):
    """left - right."""

    left: Term
    right: Term

    def __post_init__(self) -> None:
        for arg in ("left", "right"):
            if not isinstance(getattr(self, arg), Term):
                raise InvalidInput(arg, f"expected a term (E(...), OT(...), factor * term), "
                                   f"got {type(getattr(self, arg)).__name__}")

    def __str__(self) -> str:
        return f"{self.left} - {_wrap(self.right)}"


@dataclass(frozen=True)
class Budget:
    """The constraint OT_c(mu, mu~) <= delta of the DRO-ball form."""

    ot: OT
    delta: float
    delta_name: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.ot, OT):
            raise InvalidInput("ot", f"expected an OT term, got {type(self.ot).__name__}")
        object.__setattr__(self, "delta", _check.real("delta", self.delta, nonneg=True))

    def __str__(self) -> str:
        return f"{self.ot} <= {self.delta_name or _fmt(self.delta)}"


@dataclass(frozen=True)
class Sup:
    """sup over the adversary's measure, optionally subject to a budget."""

    variable: Measure
    body: Term
    constraint: Budget | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.variable, (Adversary, EmpiricalMeasure)):
            raise InvalidInput("variable", f"expected the adversary mu~, got {type(self.variable).__name__}")
        if not isinstance(self.body, Term):
            raise InvalidInput("body", f"expected a term, got {type(self.body).__name__}")
        if self.constraint is not None and not isinstance(self.constraint, Budget):
            raise InvalidInput("constraint", f"expected OT(...) <= delta, got {type(self.constraint).__name__}")

    def __str__(self) -> str:
        sub = f"{self.variable}" if self.constraint is None else f"{self.variable} : {self.constraint}"
        return f"sup_{{{sub}}} {self.body}"


def inf(learner: Learner, body: Union[Sup, Term]) -> "Problem":
    """inf over the learner class of body (usually a sup)."""
    from .problem import Problem
    return Problem(learner, body)


def sup(variable: Measure, body: Term, constraint: Budget | None = None) -> Sup:
    """sup over the adversary's measure of body, optionally s.t. `OT(mu, mu~, c) <= delta`."""
    return Sup(variable, body, constraint)


def E(measure: Measure, loss: Any) -> Expectation:
    """Expectation of a loss under a measure."""
    return Expectation(measure, loss)


def sup_ball(ball: Ball, loss: Loss) -> PointwiseSup:
    """The pointwise form sup_{x~ in B_eps(x)} loss, to be used inside E_mu[...]."""
    return PointwiseSup(ball, loss)
