"""Validation helpers: every check raises InvalidInput naming the argument."""
from __future__ import annotations

import math
from numbers import Real
from typing import Any

import numpy as np

from .errors import InvalidInput


def real(name: str, value: Any, *, positive: bool = False, nonneg: bool = False,
         finite: bool = True, allow_inf: bool = False) -> float:
    """Return `value` as a float, refusing non-numbers, NaN, and values out of range."""
    if isinstance(value, bool) or not isinstance(value, (Real, np.floating, np.integer)):
        raise InvalidInput(name, f"expected a real number, got {type(value).__name__} {value!r}")
    v = float(value)
    if math.isnan(v):
        raise InvalidInput(name, "is NaN", "a finite real number")
    if math.isinf(v) and not (allow_inf and v > 0):
        raise InvalidInput(name, f"is {v}", "a finite real number")
    if positive and not v > 0:
        raise InvalidInput(name, f"must be > 0, got {v}")
    if nonneg and not v >= 0:
        raise InvalidInput(name, f"must be >= 0, got {v}")
    return v


def integer(name: str, value: Any, *, minimum: int | None = None) -> int:
    """Return `value` as an int (no bools, no floats with a fractional part)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidInput(name, f"expected an integer, got {type(value).__name__} {value!r}")
    v = int(value)
    if minimum is not None and v < minimum:
        raise InvalidInput(name, f"must be >= {minimum}, got {v}")
    return v


def choice(name: str, value: Any, options: tuple) -> Any:
    """Refuse `value` unless it is one of `options`."""
    if value not in options:
        raise InvalidInput(name, f"got {value!r}", " | ".join(map(repr, options)))
    return value


def norm(name: str, value: Any) -> float:
    """A norm exponent: 1, 2 or inf (also 'inf', 'l1', 'l2', 'linf')."""
    aliases = {"inf": math.inf, "linf": math.inf, "l_inf": math.inf, "l2": 2.0, "l1": 1.0,
               "1": 1.0, "2": 2.0}
    if isinstance(value, str):
        if value.lower() not in aliases:
            raise InvalidInput(name, f"got {value!r}", "1, 2 or inf")
        return aliases[value.lower()]
    v = real(name, value, allow_inf=True)
    if v not in (1.0, 2.0, math.inf):
        raise InvalidInput(name, f"got {value!r}", "1, 2 or inf")
    return v


def not_masked(name: str, value: Any) -> None:
    """Refuse a masked array with masked entries (np.asarray would silently drop the mask)."""
    if np.ma.is_masked(value):
        raise InvalidInput(name, f"is a masked array with {int(np.ma.count_masked(value))} masked entries",
                           "a plain array (fill or drop the masked entries first)")


def frozen_array(name: str, value: Any, *, ndim: int, dtype=np.float64,
                 finite: bool = True) -> np.ndarray:
    """A read-only copy of `value` as an array of `ndim` dimensions (the input is never modified)."""
    try:
        src = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(name, f"cannot be read as an array ({exc})") from None
    if src.dtype.kind == "c":
        raise InvalidInput(name, f"has complex dtype {src.dtype}", "real numbers")
    if src.dtype.kind in "USVMm":
        raise InvalidInput(name, f"has non-numeric dtype {src.dtype}", "real numbers")
    not_masked(name, value)
    if np.dtype(dtype).kind in "iu" and src.dtype.kind in "iu" and src.size and (
            src.max() > np.iinfo(dtype).max or src.min() < np.iinfo(dtype).min):
        raise InvalidInput(name, f"holds integers outside the {np.dtype(dtype).name} range",
                           f"integers in [{np.iinfo(dtype).min}, {np.iinfo(dtype).max}]")
    try:
        arr = np.array(src, dtype=dtype, copy=True)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidInput(name, f"cannot be read as a {np.dtype(dtype).name} array ({exc})") from None
    if arr.ndim != ndim:
        raise InvalidInput(name, f"has shape {arr.shape}", f"an array with {ndim} dimension(s)")
    if finite and arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        bad = int(np.flatnonzero(~np.isfinite(arr.ravel()))[0])
        raise InvalidInput(name, f"contains NaN or inf (first at flat index {bad})",
                           "finite numbers")
    arr.setflags(write=False)
    return arr


def points(name: str, value: Any, d: int) -> np.ndarray:
    """Query points as a float64 (m, d) array (one point may be given as a (d,) vector);
    refuses non-numeric, complex, NaN or infinite entries and a wrong number of columns."""
    try:
        src = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(name, f"cannot be read as an array ({exc})") from None
    if src.dtype.kind not in "biuf":
        raise InvalidInput(name, f"has dtype {src.dtype}", "real numbers")
    Z = np.asarray(src, dtype=np.float64)
    if Z.ndim == 1:
        Z = Z[None, :]
    if Z.ndim != 2 or Z.shape[1] != d:
        raise InvalidInput(name, f"has shape {np.shape(src)}", f"an (m, {d}) array or one ({d},) point")
    if not np.all(np.isfinite(Z)):
        raise InvalidInput(name, "contains NaN or inf", "finite coordinates")
    return Z


def executor(name: str, value: Any) -> Any:
    """A concurrent.futures.Executor instance (or anything with .submit, e.g. Dask's
    client.get_executor()), None (local processes where they pay) or 'serial'; an Executor class
    instead of an instance is refused."""
    if isinstance(value, str) and value == "serial":
        return value
    if value is not None and (isinstance(value, type) or not callable(getattr(value, "submit", None))):
        raise InvalidInput(name, f"got {value!r}", "a concurrent.futures.Executor instance, e.g. "
                           "ProcessPoolExecutor(2), or Dask's client.get_executor(), None (the default: "
                           "local processes where they pay) or 'serial'")
    return value
