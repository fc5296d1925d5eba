"""robustdsl: a modeling language for adversarial training and distributionally robust learning.

    import robustdsl as rd
    mu = rd.EmpiricalMeasure.from_arrays(X, y)
    f = rd.Agnostic(classes=mu.classes)
    mu_t = rd.Adversary(mu)
    problem = rd.inf(f, rd.sup(mu_t, rd.E(mu_t, rd.losses.ZeroOne(f)) - rd.OT(mu, mu_t, rd.costs.Ball(3.0, 2))))
    sol = problem.solve()
"""
from __future__ import annotations

from . import costs, errors, losses
from .analysis import ProblemForm, analyze
from .costs import Ball, Power, SquaredZ, SumCost
from .errors import (InvalidInput, ParseError, RobustDSLError, SolverFailed, TimeLimitReached,
                     UnsupportedProblem)
from .expr import OT, E, inf, sup, sup_ball
from .learners import Agnostic, MeanField
from .losses import Squared, ZeroOne
from .measures import Adversary, EmpiricalMeasure
from .problem import Compiled, Problem
from .solution import Certificate, Solution

__version__ = "0.1.0"


def parse(text: str, **bindings):
    """Parse the text syntax into the same objects the Python API builds."""
    from .parser import parse as _parse
    return _parse(text, **bindings)


__all__ = [
    "Adversary", "Agnostic", "Ball", "Certificate", "Compiled", "E", "EmpiricalMeasure",
    "InvalidInput", "MeanField", "OT", "ParseError", "Power", "Problem", "ProblemForm",
    "RobustDSLError", "Solution", "SolverFailed", "Squared", "SquaredZ", "SumCost",
    "TimeLimitReached", "UnsupportedProblem", "ZeroOne", "analyze", "costs", "errors", "inf",
    "losses", "parse", "sup", "sup_ball",
]
