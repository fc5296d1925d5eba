"""Learner classes: the set F the infimum ranges over."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from . import _check, guards
from .errors import InvalidInput

ACTIVATIONS = ("tanh", "relu", "sigmoid", "identity")


class Learner:
    """Base class of learner classes."""

    name: str
    family = ""

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Agnostic(Learner):
    """All measurable soft classifiers f: R^d -> simplex(K) over the given classes."""

    classes: tuple[int, ...]
    name: str = field(default="f", compare=False)
    family = "agnostic"

    def __init__(self, classes: Sequence[int], name: str = "f"):
        try:
            cl = tuple(_check.integer("classes", c) for c in classes)
        except TypeError:
            raise InvalidInput("classes", f"expected a sequence of integer labels, got {classes!r}") from None
        if len(cl) < 2:
            raise InvalidInput("classes", f"needs at least two classes, got {list(cl)}", "K >= 2 labels")
        if len(set(cl)) != len(cl):
            raise InvalidInput("classes", f"has repeated labels {list(cl)}")
        object.__setattr__(self, "classes", cl)
        object.__setattr__(self, "name", name)

    @property
    def n_classes(self) -> int:
        return len(self.classes)


@dataclass(frozen=True)
class MeanField(Learner):
    """f_nu(x) = integral a h(b . [x, 1]) d nu(a, b), |a| <= a_max, ||b||_2 <= b_max, width particles."""

    activation: str = "tanh"
    width: int = 1000
    a_max: float = 10.0
    b_max: float = 10.0
    name: str = field(default="f", compare=False)
    family = "meanfield"

    def __post_init__(self) -> None:
        _check.choice("activation", self.activation, ACTIVATIONS)
        object.__setattr__(self, "width", _check.integer("width", self.width, minimum=1))
        for key in ("a_max", "b_max"):
            object.__setattr__(self, key, guards.check_theta_bound(key, _check.real(key, getattr(self, key),
                                                                                   positive=True)))
