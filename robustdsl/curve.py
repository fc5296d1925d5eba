"""The optimal adversarial risk curve eps -> AT(mu, eps) and its truncated lower bounds AT_L.

    AT_2 <= AT_3 <= ... <= AT   (groups of at most L samples keep a lower bound; MATH.md section 2)

Only the public API is used: each point is `problem.solve(backend, max_group_size=L)`.
"""
from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, Iterable, Sequence

from tqdm.auto import tqdm

from . import _check
from ._files import writable
from .costs import Ball, norm_str
from .errors import InvalidInput
from .expr import E, OT, sup
from .learners import Agnostic
from .losses import ZeroOne
from .measures import Adversary, EmpiricalMeasure
from .problem import Problem

TOL = 1e-7  # slack allowed in AT_L <= AT_L' (solver tolerance)
PLOT_SUFFIXES = ("png", "pdf", "svg", "eps", "ps", "jpg", "jpeg", "tif", "tiff", "webp")


def ball_problem(mu: EmpiricalMeasure, eps: float, norm: Any = 2) -> Problem:
    """inf_f sup_{mu~} E_{mu~}[zero_one(f)] - OT_c(mu, mu~) with c the eps-ball cost of the norm."""
    f = Agnostic(classes=mu.classes)
    adv = Adversary(mu)
    return Problem(f, sup(adv, E(adv, ZeroOne(f)) - OT(mu, adv, Ball(eps, norm))))


def label(max_group_size: int | None) -> str:
    """'AT_2', 'AT_3', ... or 'AT' for the exact value (no truncation)."""
    return "AT" if max_group_size is None else f"AT_{max_group_size}"


def _listed(name: str, value: Any) -> list:
    """A sequence argument as a list; one number alone stands for a one-element list."""
    if value is None or isinstance(value, (int, float)):
        return [value]
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise InvalidInput(name, f"got {value!r}", "a list (or one value)")
    return list(value)


def _grid(eps_grid: Iterable[Any]) -> list[float]:
    grid = [_check.real("eps_grid", e, nonneg=True) for e in _listed("eps_grid", eps_grid)]
    if not grid:
        raise InvalidInput("eps_grid", "is empty", "at least one radius eps >= 0")
    return grid


def _sizes(max_group_sizes: Sequence[int | None]) -> list[int | None]:
    sizes = [None if L is None else _check.integer("max_group_sizes", L, minimum=2)
             for L in _listed("max_group_sizes", max_group_sizes)]
    if not sizes:
        raise InvalidInput("max_group_sizes", "is empty", "e.g. (2, 3, None)")
    return sizes


def monotone_in_L(curves: list[dict]) -> bool:
    """True iff at every eps the values do not decrease from one group-size bound to the next."""
    order = sorted(curves, key=lambda c: math.inf if c["max_group_size"] is None else c["max_group_size"])
    return all(a <= b + TOL for lo, hi in zip(order, order[1:]) for a, b in zip(lo["value"], hi["value"]))


def risk_curve(mu: EmpiricalMeasure, eps_grid: Iterable[Any], norm: Any = 2,
               max_group_sizes: Sequence[int | None] = (2, 3, None), backend: str | None = None,
               progress: bool = True, **options: Any) -> dict:
    """Solve the ball-cost problem for every (L, eps); returns a JSON-able dict of the curves.

    Keys: norm, eps, n, classes, backend, curves (one per L: label, max_group_size, value,
    lower, upper, status, seconds), monotone_in_L (the check AT_L <= AT_L').
    """
    if not isinstance(mu, EmpiricalMeasure) or not mu.is_classification:
        raise InvalidInput("mu", "expected an EmpiricalMeasure with class labels")
    grid, sizes = _grid(eps_grid), _sizes(max_group_sizes)
    p = _check.norm("norm", norm)
    curves = [{"label": label(L), "max_group_size": L, "value": [], "lower": [], "upper": [],
               "status": [], "seconds": []} for L in sizes]
    used = backend
    with tqdm(total=len(grid) * len(sizes), desc=f"risk curve l{norm_str(p)}", disable=not progress,
              leave=False) as bar:
        for curve in curves:
            for eps in grid:
                t0 = time.perf_counter()
                sol = ball_problem(mu, eps, p).solve(backend, max_group_size=curve["max_group_size"], **options)
                curve["seconds"].append(time.perf_counter() - t0)
                for key in ("value", "lower", "upper", "status"):
                    curve[key].append(getattr(sol, key))
                used = sol.backend
                bar.update(1)
    return {"norm": norm_str(p), "eps": grid, "n": mu.n, "classes": list(mu.classes), "backend": used,
            "curves": curves, "monotone_in_L": monotone_in_L(curves)}


def plot_curve(results: dict | Sequence[dict], path: str | Path, title: str | None = None,
               xlabel: str | None = None) -> Path:
    """Plot one panel per norm (risk against eps, one line per group-size bound) to a PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    out = writable(path, "path", PLOT_SUFFIXES)      # before any drawing
    runs = [results] if isinstance(results, dict) else list(results)
    if not runs:
        raise InvalidInput("results", "no curve to plot")
    fig = Figure(figsize=(5.0 * len(runs), 4.0))
    FigureCanvasAgg(fig)
    for i, run in enumerate(runs):
        ax = fig.add_subplot(1, len(runs), i + 1)
        curves = sorted(run["curves"], key=lambda c: c["max_group_size"] is not None)  # exact first, below
        for curve, marker in zip(curves, "o+x^sv"):
            exact = curve["max_group_size"] is None
            bound = any(st == "lower_bound" for st in curve.get("status", ()))
            ax.plot(run["eps"], curve["value"], marker=marker, lw=3.0 if exact else 1.0, alpha=0.45 if exact else 1,
                    ls="-" if exact else "--", label=curve["label"] + (" (lower bound)" if bound else " (exact)"))
        ax.set_xlabel(xlabel or r"$\varepsilon$ (l%s ball radius)" % run["norm"].replace("inf", r"$\infty$"))
        ax.set_ylabel("optimal adversarial 0-1 risk")
        ax.set_title(f"l{run['norm']}, n = {run['n']}, classes {run['classes']}")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    try:
        fig.savefig(out, dpi=120)
    except OSError as exc:
        raise InvalidInput("path", f"cannot write {str(out)!r} ({exc.strerror or exc})") from None
    return out


__all__ = ["ball_problem", "label", "monotone_in_L", "plot_curve", "risk_curve"]
