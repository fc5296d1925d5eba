"""Input guards at the solver boundary: refuse what the numerics cannot answer faithfully.

The group LP's certificate tolerances are absolute (1e-9), HiGHS treats bounds >= 1e20 as
infinite, and distances are screened in float32 (squares overflow above ~1.8e19). So:

- total mass m = sum_v p_v must lie in [MIN_MASS, MAX_MASS] (AT scales linearly with m:
  rescale the weights, e.g. to sum 1, and multiply the answer back);
- coordinates and eps must have magnitude <= MAX_COORD, and (unless 0) >= MIN_COORD (a ball
  cost is scale invariant: divide or multiply X and eps by the same factor);
- a mean-field learner's bounds a_max, b_max must be <= MAX_COORD (the Nash-gap QP squares
  a_max * b_max * |x|, which overflows float64 from about 1e154 on);
- a power cost ||x - x'||^p / tau needs tau in [MIN_TAU, MAX_TAU]: every cost that can matter
  (between 1e-20 and 1e20) then has its d^p inside the normal float range (X / s with tau / s^p
  gives the same answer); and the costs between the data points, D^p / tau with D the diameter
  (and their slopes p D^(p-1) / tau), at most MAX_COST, below which the certified dual bounds
  (which square such numbers) cannot overflow;
- an array copied from user input may not exceed a byte budget (ResourceLimit, before allocating).

Each check raises InvalidInput (or ResourceLimit) naming the argument and how to fix it.
"""
from __future__ import annotations

import math

import numpy as np

from . import _check
from .errors import InvalidInput, ResourceLimit

MIN_MASS = 1e-6
MAX_MASS = 1e6
MAX_COORD = 1e15
MIN_COORD = 1e-30
MIN_TAU = 1e-250
MAX_TAU = 1e250
MAX_COST = 1e100
DEFAULT_MAX_ARRAY_BYTES = 1 << 34      # 16 GiB for one array copied from user input


def check_mass(weights: np.ndarray) -> float:
    """The total mass sum_v p_v, refused outside [MIN_MASS, MAX_MASS]."""
    m = float(np.sum(weights))
    if not (MIN_MASS <= m <= MAX_MASS):
        raise InvalidInput("weights", f"total mass {m:.6g} is outside [{MIN_MASS:g}, {MAX_MASS:g}], "
                           "where the solver's absolute tolerances certify the answer",
                           "weights rescaled, e.g. to sum 1 (AT scales linearly with the mass)")
    return m


def check_scale(X: np.ndarray, eps: float) -> None:
    """Refuse coordinates or a radius too large for float32 distance screening, or so small that
    the enclosing-ball formulas (products of three squared lengths) underflow float64."""
    big = max(float(X.max()), -float(X.min())) if X.size else 0.0    # max |x|, no |X| copy
    if 0.0 < big < MIN_COORD or 0.0 < eps < MIN_COORD:
        what, v = ("X", big) if 0.0 < big < MIN_COORD else ("eps", eps)
        raise InvalidInput(what, f"{'the largest coordinate' if what == 'X' else 'the radius'} {v:.3g} is below "
                           f"{MIN_COORD:g}, where products of squared distances underflow float64",
                           "coordinates and eps multiplied by a common factor (a ball cost is scale "
                           "invariant)" + (", or eps = 0" if what == "eps" else ""))
    if big > MAX_COORD:
        raise InvalidInput("X", f"has a coordinate of magnitude {big:.3g} > {MAX_COORD:g}",
                           "coordinates and eps divided by a common factor (a ball cost is scale invariant)")
    if eps > MAX_COORD:
        raise InvalidInput("eps", f"{eps:.3g} exceeds {MAX_COORD:g}",
                           "eps at most the data's diameter (larger radii give the same answer)")


def check_theta_bound(name: str, value: float) -> float:
    """a_max or b_max of a mean-field learner (already a positive real), refused above MAX_COORD."""
    if value > MAX_COORD:
        raise InvalidInput(name, f"{value:.3g} exceeds {MAX_COORD:g}: the Nash-gap program squares "
                           "a_max * b_max * |x| and would overflow float64", f"0 < {name} <= {MAX_COORD:g}")
    return value


def check_tau(tau: float) -> None:
    """Refuse a power-cost scale tau whose relevant costs d^p / tau would under- or overflow."""
    if not (MIN_TAU <= tau <= MAX_TAU):
        raise InvalidInput("tau", f"{tau:.3g} is outside [{MIN_TAU:g}, {MAX_TAU:g}], where the costs "
                           "||x - x'||^p / tau that matter stay inside the floating-point range",
                           "tau in that range: X / s with tau / s^p gives the same answer")


def check_cost_range(X: np.ndarray, p: float, tau: float, norm: float) -> None:
    """Refuse a power cost whose values between the data points exceed MAX_COST.

    D = the diagonal of the bounding box of X in the cost norm (>= the diameter); the largest
    cost is at most D^p / tau and the largest dual (slope) p D^(p-1) / tau; computed in logs."""
    if X.size == 0:
        return
    span = X.max(0) - X.min(0)
    D = float(np.sqrt(np.sum(span * span)) if norm == 2 else (span.max() if math.isinf(norm) else span.sum()))
    log_cost = -math.inf if D == 0 else p * math.log10(D) - math.log10(tau)
    log_slope = (math.log10(p) - math.log10(tau) if p == 1 else
                 (-math.inf if D == 0 else math.log10(p) + (p - 1) * math.log10(D) - math.log10(tau)))
    worst = max(log_cost, log_slope)
    if worst > math.log10(MAX_COST):
        raise InvalidInput("tau", f"the costs ||x - x'||^p / tau between the data points reach about 1e{worst:.0f} "
                           f"(diameter {D:.3g}, p = {p:g}, tau = {tau:.3g}), above {MAX_COST:g}, where the "
                           "certified bounds overflow",
                           f"tau >= diameter^p / {MAX_COST:g} (and >= p diameter^(p-1) / {MAX_COST:g}), or a smaller "
                           "p (rescaling X and tau together does not change these costs)")


def check_group_lp(mu, eps: float) -> None:
    """All guards of the exact group LP for a ball cost on the empirical measure `mu`."""
    check_mass(mu.weights)
    check_scale(mu.X, eps)


def byte_limit(max_bytes: int | None) -> int:
    """The byte budget of one array: max_bytes (a positive integer) or DEFAULT_MAX_ARRAY_BYTES."""
    return DEFAULT_MAX_ARRAY_BYTES if max_bytes is None else _check.integer("max_bytes", max_bytes, minimum=1)


def array_bytes(name: str, value, dtype=np.float64, max_bytes: int | None = None) -> int:
    """Bytes a float/int copy of `value` would take; ResourceLimit if over `max_bytes` (before copying).

    Only array-like objects with a `.shape` are measured (lists are read first by numpy anyway).
    """
    limit = byte_limit(max_bytes)
    shape = getattr(value, "shape", None)
    if shape is None:
        return 0
    need = math.prod(int(s) for s in shape) * np.dtype(dtype).itemsize
    if need > limit:
        raise ResourceLimit(name, f"has shape {tuple(shape)}: a {np.dtype(dtype).name} copy needs about "
                            f"{need / 2**30:.3g} GiB, over the limit of {limit / 2**30:.3g} GiB",
                            "a smaller array, or raise the limit with max_bytes=")
    return need
