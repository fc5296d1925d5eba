"""One exception hierarchy for everything robustdsl refuses or fails to do.

Every error names the offending argument (or token) and what would be accepted.
"""
from __future__ import annotations

from typing import Any


class RobustDSLError(Exception):
    """Base class of every error robustdsl raises on purpose."""


class InvalidInput(RobustDSLError, ValueError):
    """An argument the user wrote is malformed: wrong shape, NaN, out of range, ..."""

    def __init__(self, argument: str, problem: str, accepted: str | None = None):
        self.argument = argument
        self.problem = problem
        self.accepted = accepted
        msg = f"invalid {argument}: {problem}"
        if accepted:
            msg += f" (accepted: {accepted})"
        super().__init__(msg)


class DataFormatError(InvalidInput):
    """A data file (IDX, npz, CSV) is malformed or missing what is expected."""


class ResourceLimit(InvalidInput):
    """A request would need more memory than allowed (refused before allocating), or the machine
    ran out of memory on the way (`out_of_memory`)."""


def out_of_memory(stage: str, exc: BaseException) -> ResourceLimit:
    """The ResourceLimit that replaces a MemoryError raised inside a solver while `stage` ran."""
    return ResourceLimit("problem size", f"the machine ran out of memory while {stage}: {exc}".rstrip(": "),
                         "max_memory=<bytes> for the group LP (a certified interval within that budget), "
                         "fewer samples, or a machine with more memory")


class UnsupportedProblem(RobustDSLError):
    """No lowering rule accepts the structure of a problem."""

    def __init__(self, message: str, form: Any = None, supported: tuple[str, ...] = ()):
        self.form = form
        self.supported = tuple(supported)
        if supported:
            message += "\nsupported structures:\n" + "\n".join(f"  - {s}" for s in supported)
        super().__init__(message)


class ParseError(RobustDSLError):
    """Text in the robustdsl syntax could not be parsed or bound."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None,
                 text: str | None = None):
        self.line = line
        self.column = column
        if line is not None and column is not None and text is not None:
            lines = text.splitlines() or [""]
            src = lines[line - 1] if 0 < line <= len(lines) else ""
            message = (f"{message}\n  at line {line}, column {column}:\n"
                       f"    {src}\n    {' ' * (column - 1)}^")
        super().__init__(message)


class UnboundName(ParseError):
    """A name in the text is not bound to any object."""


class BackendUnavailable(RobustDSLError):
    """The requested back end is unknown or its package is not installed."""


class SolverFailed(RobustDSLError):
    """A numerical back end returned no trustworthy answer (status is the solver's own)."""

    def __init__(self, message: str, status: str | None = None, backend: str | None = None):
        self.status = status
        self.backend = backend
        super().__init__(message)


class CertificateFailed(SolverFailed):
    """The independent check of an answer failed; the number is not returned."""


class TimeLimitReached(RobustDSLError):
    """A time limit or an interruption stopped a solve; carries the best certified interval
    (None where the solve was stopped before any bound was certified); `interrupted`: Ctrl-C."""

    def __init__(self, message: str, lower: float | None = None, upper: float | None = None,
                 solution: Any = None, interrupted: bool = False):
        self.lower = lower
        self.upper = upper
        self.solution = solution
        self.interrupted = interrupted
        super().__init__(message)
