"""The lowering-rule interface (CVXPY reductions): accepts / apply / solve / invert."""
from __future__ import annotations

import abc
from pathlib import Path
from typing import Any

from ..analysis import ProblemForm
from ..errors import BackendUnavailable, UnsupportedProblem
from ..ir import Program
from ..solution import Solution


class LoweringRule(abc.ABC):
    """Turns problems of one structure into one IR program and maps raw results back.

    `source` names the structure accepted, `target` the program produced (as JuMP's
    bridges document source node / target nodes).
    """

    name: str = "rule"
    source: str = ""
    target: str = ""
    backends: tuple[str, ...] = ()
    default_backend: str = ""

    @abc.abstractmethod
    def accepts(self, form: ProblemForm) -> bool:
        """True iff this rule lowers problems of this structure."""

    @abc.abstractmethod
    def apply(self, problem: Any, form: ProblemForm, options: dict) -> tuple[Program, Any]:
        """problem -> (IR program, inverse data)."""

    @abc.abstractmethod
    def solve(self, program: Program, backend: str, options: dict) -> Any:
        """Run a back end on the program; returns the raw result."""

    @abc.abstractmethod
    def invert(self, raw: Any, inverse_data: Any) -> Solution:
        """raw result -> Solution in terms of the user's objects."""

    def check_backend(self, backend: str) -> str:
        if backend not in self.backends:
            raise BackendUnavailable(
                f"back end {backend!r} does not solve {self.target} programs; "
                f"available for this problem: {', '.join(self.backends)}")
        return backend

    def export(self, program: Program, path: Path, fmt: str, options: dict) -> None:
        """Write the program to a file (LP/MPS); rules without a file format refuse."""
        raise UnsupportedProblem(f"{self.target} programs cannot be exported to .{fmt}")

    def structure(self) -> str:
        return f"{self.source}  ->  {self.target} [{self.name}; back ends: {', '.join(self.backends)}]"
