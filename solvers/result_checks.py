"""Sanity of a raw LP result before anything is built on it: finite numbers of the right shapes.

A back end that returns NaN or inf (numerical trouble it did not report) is refused with
SolverFailed, status 'non-finite result', never passed on as a number.
"""
from __future__ import annotations

import numpy as np

from robustdsl.errors import SolverFailed
from robustdsl.ir import LPResult


def check_lp_result(res: LPResult, n: int) -> LPResult:
    """Return `res` unchanged, or raise SolverFailed if its value, w, r or q is not finite / mis-shaped."""
    bad = [name for name, a in (("value", res.value), ("w", res.w), ("r", res.r), ("q", res.q))
           if not np.all(np.isfinite(np.asarray(a, dtype=np.float64)))]
    if np.shape(res.q) != (n,) or np.shape(res.r) != (n,):
        bad.append(f"shape of q/r {np.shape(res.q)}/{np.shape(res.r)} (expected ({n},))")
    if bad:
        raise SolverFailed(f"{res.backend} returned a non-finite or malformed result ({', '.join(bad)}) "
                           f"with status {res.status!r}", status="non-finite result", backend=res.backend)
    return res
