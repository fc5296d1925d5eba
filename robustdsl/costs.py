"""Transport costs c(x, x~) between a data point and its displaced copy.

Label-preserving costs are +inf whenever the label changes; `SquaredZ` moves (x, y).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from . import _check
from .errors import InvalidInput


def norm_str(p: float) -> str:
    return "inf" if math.isinf(p) else str(int(p))


class Cost:
    """Base class. Costs combine with `+` (a budgeted attack with a price) and scale by `*`."""

    name: str
    label_preserving: bool = True

    @property
    def family(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def scaled(self, factor: float) -> "Cost":
        """The cost factor * c (factor > 0)."""
        raise InvalidInput("cost", f"{type(self).__name__} cannot be scaled")

    def __add__(self, other: object) -> "Cost":
        if not isinstance(other, Cost):
            return NotImplemented
        return SumCost((self, other))

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Ball(Cost):
    """c_eps(x, x~) = 0 if ||x - x~||_norm <= eps else +inf (labels preserved)."""

    eps: float
    norm: float = 2.0
    name: str = field(default="c", compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "eps", _check.real("eps", self.eps, nonneg=True))
        object.__setattr__(self, "norm", _check.norm("norm", self.norm))

    family = "ball"

    def scaled(self, factor: float) -> "Ball":
        _check.real("factor", factor, positive=True)
        return self

    def __repr__(self) -> str:
        return f"Ball(eps={self.eps:g}, norm={norm_str(self.norm)})"


MAX_POWER = 30.0
"""Largest exponent of a Power cost. Up to it the general-cost route (barycenter LP and Sinkhorn)
certifies its answer at any scale of the data (checked against brute force and between back ends
for p = 1, 1.5, 2, 3, 5, 10, 20, 30; norms 1, 2, inf; K = 3 and 4; coordinates 1e-3 .. 1e3).
Beyond it the convex barycenter programs of groups of 3 or more stop closing to the certificate's
1e-12 dual feasibility (K = 4: from p = 50 in l_inf, p = 75 in l1, p = 100 in l2), and 2^p, d^p
overflow for huge p (p = 1e300: OverflowError, ZeroDivisionError in CVXPY). At p = 30 the cost
(d / r)^30 already goes from 0.04 to 17 as d goes from 0.9 r to 1.1 r: a steeper cost is a Ball
(the limit of ||x - x~||^p / eps^p as p -> inf)."""


@dataclass(frozen=True)
class Power(Cost):
    """c(x, x~) = ||x - x~||_norm^p / tau (a Wasserstein-p penalty; labels preserved), 1 <= p <= MAX_POWER."""

    p: float = 2.0
    tau: float = 1.0
    norm: float = 2.0
    name: str = field(default="c", compare=False)

    def __post_init__(self) -> None:
        p = _check.real("p", self.p, positive=True)
        if p < 1:
            raise InvalidInput("p", f"must be >= 1, got {p}", "p >= 1 (a convex power)")
        if p > MAX_POWER:
            raise InvalidInput("p", f"{p:g} is above {MAX_POWER:g}, where the barycenter programs stop being "
                               "certified to working precision",
                               f"1 <= p <= {MAX_POWER:g}; for a steeper cost Ball(eps), the limit of "
                               "||x - x~||^p / eps^p as p -> inf")
        object.__setattr__(self, "p", p)
        object.__setattr__(self, "tau", _check.real("tau", self.tau, positive=True))
        object.__setattr__(self, "norm", _check.norm("norm", self.norm))

    family = "power"

    def scaled(self, factor: float) -> "Power":
        f = _check.real("factor", factor, positive=True)
        return Power(self.p, self.tau / f, self.norm, self.name)

    def __repr__(self) -> str:
        return f"Power(p={self.p:g}, tau={self.tau:g}, norm={norm_str(self.norm)})"


@dataclass(frozen=True)
class SquaredZ(Cost):
    """c((x, y), (x~, y~)) = c_a (||x - x~||_2^2 + |y - y~|^2): moves features and targets."""

    c_a: float
    name: str = field(default="c", compare=False)
    label_preserving = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "c_a", _check.real("c_a", self.c_a, positive=True))

    family = "squared_z"

    def scaled(self, factor: float) -> "SquaredZ":
        f = _check.real("factor", factor, positive=True)
        return SquaredZ(self.c_a * f, self.name)

    def __repr__(self) -> str:
        return f"SquaredZ(c_a={self.c_a:g})"


@dataclass(frozen=True)
class SumCost(Cost):
    """c = c_1 + c_2 + ... (for example a ball constraint plus a power price)."""

    terms: tuple[Cost, ...]
    name: str = field(default="c", compare=False)

    def __post_init__(self) -> None:
        flat: list[Cost] = []
        for t in self.terms:
            if not isinstance(t, Cost):
                raise InvalidInput("terms", f"expected costs, got {type(t).__name__}")
            flat.extend(t.terms if isinstance(t, SumCost) else (t,))
        if len(flat) < 2:
            raise InvalidInput("terms", "a sum of costs needs at least two terms")
        object.__setattr__(self, "terms", tuple(flat))

    @property
    def label_preserving(self) -> bool:  # type: ignore[override]
        return all(t.label_preserving for t in self.terms)

    @property
    def family(self) -> str:
        return "+".join(sorted(t.family for t in self.terms))

    def scaled(self, factor: float) -> "SumCost":
        return SumCost(tuple(t.scaled(factor) for t in self.terms), self.name)

    def __repr__(self) -> str:
        return " + ".join(repr(t) for t in self.terms)

from .costs_expr import ExprCost  # noqa: E402,F401  (a sympy cost with family detection)
