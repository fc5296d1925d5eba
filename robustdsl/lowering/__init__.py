"""The registry of lowering rules: the analysis' ProblemForm decides which rule applies."""
from __future__ import annotations

from ..analysis import ProblemForm
from ..errors import UnsupportedProblem
from .base import LoweringRule

RULES: list[LoweringRule] = []


def register(rule: LoweringRule) -> LoweringRule:
    """Add a rule to the registry (rules are tried in registration order)."""
    if any(r.name == rule.name for r in RULES):
        raise ValueError(f"a rule named {rule.name!r} is already registered")
    RULES.append(rule)
    return rule


def supported_structures() -> tuple[str, ...]:
    return tuple(r.structure() for r in RULES)


def select(form: ProblemForm, rule: str | None = None) -> LoweringRule:
    """The rule for this structure (or the named rule, if it accepts it)."""
    candidates = [r for r in RULES if rule is None or r.name == rule]
    if rule is not None and not candidates:
        raise UnsupportedProblem(f"no lowering rule named {rule!r}", form, supported_structures())
    for r in candidates:
        if r.accepts(form):
            return r
    raise UnsupportedProblem(f"no lowering rule accepts the structure: {form.describe()}",
                             form, supported_structures())


# Rules register themselves on import (one file per rule).
from . import _rules  # noqa: E402,F401

__all__ = ["LoweringRule", "RULES", "register", "select", "supported_structures"]
