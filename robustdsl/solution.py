"""Solutions: the value, its certified bounds, the saddle objects and how they were found."""
from __future__ import annotations

import inspect
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from .errors import InvalidInput


@dataclass(frozen=True)
class Certificate:
    """An independent re-check of a solution: `ok` iff every check passed and gap <= tol."""

    ok: bool
    lower: float
    upper: float
    gap: float
    checks: Mapping[str, Any]
    message: str = ""

    def to_dict(self) -> dict:
        return {"ok": self.ok, "lower": _jsonable(self.lower), "upper": _jsonable(self.upper),
                "gap": _jsonable(self.gap),
                "checks": _jsonable(dict(self.checks)), "message": self.message}


@dataclass(frozen=True)
class Solution:
    """value with certified bounds lower <= value <= upper (equal when exact).

    status: 'optimal' (exact), 'lower_bound' (a truncation, e.g. max_group_size),
    'interval' (time limit / interruption), or a rule-specific word (documented by the rule).
    """

    value: float
    lower: float
    upper: float
    status: str
    backend: str
    rule: str
    timings: Mapping[str, float] = field(default_factory=dict)
    attack: Any = None
    classifier: Any = None
    q: np.ndarray | None = None
    info: Mapping[str, Any] = field(default_factory=dict)
    certify: Callable[..., Certificate] | None = field(default=None, repr=False, compare=False)

    @property
    def exact(self) -> bool:
        return self.status == "optimal"

    def certificate(self, progress: bool = False) -> Certificate:
        """Re-check the answer independently of the solver that produced it (progress: a tqdm bar
        over the blocks of the re-check, where the rule's certificate has long passes)."""
        if self.certify is None:
            raise InvalidInput("certificate", f"rule {self.rule!r} provides no certificate")
        if progress and "progress" in inspect.signature(self.certify).parameters:
            return self.certify(progress=True)
        return self.certify()

    def to_dict(self, include_timings: bool = True) -> dict:
        d: dict[str, Any] = {
            "value": _jsonable(self.value), "lower": _jsonable(self.lower), "upper": _jsonable(self.upper),
            "status": self.status,
            "exact": self.exact, "backend": self.backend, "rule": self.rule,
            "info": _jsonable(dict(self.info) if include_timings else _untimed(dict(self.info))),
        }
        if include_timings:
            d["timings"] = {k: _jsonable(float(v)) for k, v in self.timings.items()}
        return d

    def to_json(self, path: str | Path | None = None, include_timings: bool = True) -> str:
        """Deterministic JSON (sorted keys; an infinite bound is written as the string "inf");
        written to `path` if given."""
        from ._files import write_text
        text = json.dumps(self.to_dict(include_timings), sort_keys=True, indent=2, allow_nan=False)
        if path is not None:
            write_text(path, text + "\n", "path")
        return text


def _untimed(x: Any) -> Any:
    """x without wall-clock entries (keys ending in 'seconds' or 'per_second'), at any depth: what
    to_json(include_timings=False) writes is the same on every run."""
    if isinstance(x, dict):
        return {k: _untimed(v) for k, v in x.items()
                if not (isinstance(k, str) and (k.endswith("seconds") or k.endswith("per_second")))}
    return x


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        v = float(x)
        return v if math.isfinite(v) else str(v)
    return x
