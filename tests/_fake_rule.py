"""A test-only lowering rule with a closed-form 'value', to exercise the CLI and the curve plumbing.

    value(eps, K, L) = (1 - exp(-eps)) * min(L, K) / K      (L = None means L = K; tau for power costs)

It is non-decreasing in L and equals the L = K value from L = K on, like AT_L <= AT.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from robustdsl.ir import Program
from robustdsl.lowering import RULES, LoweringRule
from robustdsl.solution import Solution


def fake_value(eps: float, n_classes: int, max_group_size: int | None) -> float:
    L = n_classes if max_group_size is None else min(max_group_size, n_classes)
    return (1.0 - math.exp(-eps)) * L / n_classes


@dataclass(frozen=True)
class FakeProgram(Program):
    eps: float
    n_classes: int
    max_group_size: int | None
    kind = "fake"


class FakeRule(LoweringRule):
    name = "fake-ball"
    source = "agnostic + zero_one + ball (test only)"
    target = "FakeProgram"
    backends = ("fake",)
    default_backend = "fake"

    def accepts(self, form) -> bool:
        return form.loss == "zero_one" and form.cost is not None and form.cost_family in ("ball", "power")

    def apply(self, problem, form, options):
        param = form.cost.eps if form.cost_family == "ball" else form.cost.tau  # tau for power costs
        prog = FakeProgram(param, form.n_classes, options.get("max_group_size"))
        return prog, prog

    def solve(self, program, backend, options):
        return fake_value(program.eps, program.n_classes, program.max_group_size)

    def invert(self, raw, inverse_data):
        L = inverse_data.max_group_size
        exact = L is None or L >= inverse_data.n_classes
        return Solution(raw, raw, raw, "optimal" if exact else "lower_bound", "fake", self.name)

    def export(self, program, path: Path, fmt: str, options) -> None:
        path.write_text(f"\\ fake {fmt} eps={program.eps}\nMaximize\n obj: x\nBounds\n x <= 1\nEnd\n")


def install() -> FakeRule:
    """Put the fake rule first in the registry (remove it with uninstall)."""
    rule = FakeRule()
    RULES.insert(0, rule)
    return rule


def uninstall(rule: FakeRule) -> None:
    RULES.remove(rule)
