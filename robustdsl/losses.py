"""Losses of a learner f at a point (x, y)."""
from __future__ import annotations

from dataclasses import dataclass

from .errors import InvalidInput
from .learners import Learner


@dataclass(frozen=True)
class Loss:
    """Base class: a loss of the learner `f`."""

    f: Learner

    def __post_init__(self) -> None:
        if not isinstance(self.f, Learner):
            raise InvalidInput("f", f"expected a learner (Agnostic, MeanField), got {type(self.f).__name__}")

    keyword = ""
    family = ""

    def __str__(self) -> str:
        return f"{self.keyword}({self.f})"


@dataclass(frozen=True)
class ZeroOne(Loss):
    """loss(f; x, y) = 1 - f_y(x) for a soft classifier f: R^d -> simplex(K)."""

    keyword = "zero_one"
    family = "zero_one"


@dataclass(frozen=True)
class Squared(Loss):
    """loss(f; x, y) = (f(x) - y)^2 for a real-valued f."""

    keyword = "squared"
    family = "squared"
