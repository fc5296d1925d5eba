"""Problem (the top node inf_f ...) and Compiled (its inspectable IR, CVXPY's get_problem_data)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from .analysis import ProblemForm, analyze
from .errors import InvalidInput, TimeLimitReached, out_of_memory
from .expr import Expectation, Sup, Term
from .learners import Learner
from .solution import Solution


@dataclass(frozen=True)
class Problem:
    """inf over a learner class of a (usually sup) objective."""

    learner: Learner
    body: Union[Sup, Term]

    def __post_init__(self) -> None:
        if not isinstance(self.learner, Learner):
            raise InvalidInput("learner", f"expected a learner class (Agnostic, MeanField), "
                               f"got {type(self.learner).__name__}")
        if not isinstance(self.body, (Sup, Expectation, Term)):
            raise InvalidInput("body", f"expected sup(...) or E(...), got {type(self.body).__name__}")

    def __str__(self) -> str:
        return f"inf_{{{self.learner}}} {self.body}"

    @property
    def form(self) -> ProblemForm:
        """The structure the analysis reads (what picks the lowering rule)."""
        return analyze(self)

    def latex(self) -> str:
        """LaTeX of the problem, rendered through sympy."""
        from .latex import to_latex
        return to_latex(self)

    def compile(self, backend: str | None = None, *, rule: str | None = None, **options: Any) -> "Compiled":
        """Analyse, choose the lowering rule and build the IR program (not yet solved)."""
        from .lowering import select
        t0 = time.perf_counter()
        form = analyze(self)
        chosen = select(form, rule)
        backend = chosen.check_backend(backend or chosen.default_backend)
        t1 = time.perf_counter()
        program, inverse = chosen.apply(self, form, dict(options, backend=backend))
        t2 = time.perf_counter()
        return Compiled(self, form, chosen, program, inverse, backend, dict(options),
                        {"analysis": t1 - t0, "lowering": t2 - t1})

    def solve(self, backend: str | None = None, **options: Any) -> Solution:
        """compile(...).solve()."""
        return self.compile(backend, **options).solve()


@dataclass
class Compiled:
    """A lowered problem: `program` is the IR (inspect it, export it, solve it later)."""

    problem: Problem
    form: ProblemForm
    rule: Any
    program: Any
    inverse_data: Any
    backend: str
    options: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)

    def solve(self, backend: str | None = None, **options: Any) -> Solution:
        """Run the back end on the program and map the result back to the user's objects."""
        backend = self.rule.check_backend(backend or self.backend)
        opts = dict(self.options, **options)
        t0 = time.perf_counter()
        stage = "solving"
        try:
            raw = self.rule.solve(self.program, backend, opts)
            t1 = time.perf_counter()
            stage = "building and certifying the answer"
            sol = self.rule.invert(raw, self.inverse_data)
        except KeyboardInterrupt:   # Ctrl-C outside the loops that keep a certified interval of their own
            raise TimeLimitReached(f"interrupted while {stage} ({self.rule.name}): no certified answer yet",
                                   interrupted=True) from None
        except MemoryError as exc:  # the frames (and their arrays) are freed when this block ends
            oom = out_of_memory(f"{stage} ({self.rule.name})", exc)
        else:
            oom = None
        if oom is not None:
            raise oom
        t2 = time.perf_counter()
        timings = dict(self.timings)
        timings.update(sol.timings)
        timings.setdefault("solve", t1 - t0)
        timings["invert"] = t2 - t1
        from dataclasses import replace
        return replace(sol, timings=timings)

    def export(self, path: str | Path, format: str | None = None) -> Path:
        """Write the program as .lp or .mps (format from the suffix unless given)."""
        from ._files import writable
        if format is not None and not isinstance(format, str):
            raise InvalidInput("format", f"got {format!r}", "'lp', 'mps' or None (from the suffix)")
        p = writable(path, "path")
        fmt = (format or p.suffix.lstrip(".")).lower()
        if fmt not in ("lp", "mps"):
            raise InvalidInput("path", f"unknown export format {fmt!r}", ".lp or .mps")
        self.rule.export(self.program, p, fmt, self.options)
        return p
