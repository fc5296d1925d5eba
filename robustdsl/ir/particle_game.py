"""IR of the mean-field adversarial regression game (MATH.md section 3).

    min_nu max_{pi : pi_z = mu}  U(pi, nu) = E_pi[(f_nu(x~) - y~)^2] - c_a E_pi[|z - z~|^2],
    f_nu(x) = integral a h(b . [x, 1]) d nu(a, b),  Theta = [-a_max, a_max] x {|b|_2 <= b_max}.

Back ends (robustdsl.solvers.wfr) consume the arrays; nothing here runs a solver.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import _check, guards
from ..errors import InvalidInput
from .base import Program

ACTIVATIONS = ("tanh", "relu", "sigmoid", "identity")


@dataclass(frozen=True, eq=False)
class ParticleGame(Program):
    """The game data: samples (X, y) with weights p, the learner's Theta and activation, the price c_a."""

    X: np.ndarray          # (n, d) features
    y: np.ndarray          # (n,) real targets
    weights: np.ndarray    # (n,) p_i > 0 (the data measure mu)
    activation: str
    width: int             # number of learner particles K
    a_max: float
    b_max: float
    c_a: float
    kind = "ParticleGame"

    def __post_init__(self) -> None:
        X = _check.frozen_array("X", self.X, ndim=2)
        n = X.shape[0]
        if n == 0 or X.shape[1] == 0:
            raise InvalidInput("X", f"has shape {X.shape}", "n >= 1 samples with d >= 1 features")
        y = _check.frozen_array("y", self.y, ndim=1)
        if y.shape != (n,):
            raise InvalidInput("y", f"has shape {y.shape} but X has {n} rows", f"shape ({n},)")
        w = _check.frozen_array("weights", self.weights, ndim=1)
        if w.shape != (n,) or not np.all(w > 0):
            raise InvalidInput("weights", f"shape {w.shape}, min {w.min() if w.size else 'n/a'}",
                               f"({n},) positive weights")
        object.__setattr__(self, "X", X)
        object.__setattr__(self, "y", y)
        object.__setattr__(self, "weights", w)
        _check.choice("activation", self.activation, ACTIVATIONS)
        object.__setattr__(self, "width", _check.integer("width", self.width, minimum=1))
        for name in ("a_max", "b_max", "c_a"):
            object.__setattr__(self, name, _check.real(name, getattr(self, name), positive=True))
        for name in ("a_max", "b_max"):
            guards.check_theta_bound(name, getattr(self, name))

    @property
    def n(self) -> int:
        return int(self.X.shape[0])

    @property
    def dim(self) -> int:
        return int(self.X.shape[1])

    def summary(self) -> dict:
        return {"kind": self.kind, "n": self.n, "d": self.dim, "activation": self.activation,
                "width": self.width, "a_max": self.a_max, "b_max": self.b_max, "c_a": self.c_a}
