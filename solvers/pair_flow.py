"""The pair LP (L = 2) by integer max-flow on the bipartite double cover (scipy.sparse.csgraph).

    max sum_e w_e  s.t.  sum_{e contains v} w_e <= p_v   =   min sum_v p_v r_v  s.t.  r_u + r_v >= 1

is half of the max-flow s -> v_L (cap c_v) -> u_R (cap big, both directions of every edge {u, v})
-> t (cap c_u), with c = p / unit integral (MATH.md section 2: half-integral fractional vertex cover).
From the source side S of the minimum cut found from the residual graph:
r_v = (1[v_L not in S] + 1[v_R in S]) / 2 and w_uv = unit (f(u_L, v_R) + f(v_L, u_R)) / 2.
Weak duality sum_e w_e = sum_v p_v r_v holds exactly, which `pair_flow` asserts.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order, maximum_flow

from robustdsl.errors import SolverFailed

_INT_MAX = 2 ** 31 - 1


@dataclass(frozen=True, eq=False)
class PairFlow:
    """Value of the pair LP, its dual q = 1 - r (half-integral) and primal w on the edges (I, J)."""

    value: float
    q: np.ndarray
    w: np.ndarray


def integral_capacities(p: np.ndarray, max_total: int = _INT_MAX // 4) -> tuple[np.ndarray, float] | None:
    """(c, unit) with p = unit * c, c positive integers, sum c small enough for int32 flows; else None.

    unit = min p: exact for uniform weights (c = 1) and for weights that are integer multiples of the smallest.
    """
    unit = float(p.min())
    c = np.rint(p / unit)
    if not np.all(np.abs(c * unit - p) <= 1e-12 * p) or 4 * c.sum() + 4 > max_total:
        return None
    return c.astype(np.int64), unit


def pair_flow(n: int, I: np.ndarray, J: np.ndarray, p: np.ndarray) -> PairFlow | None:
    """The pair LP on vertices 0..n-1 with edges (I, J) and weights p; None if p is not integral-scalable."""
    caps = integral_capacities(p)
    if caps is None:
        return None
    c, unit = caps
    m = I.size
    if m == 0:
        return PairFlow(0.0, np.ones(n), np.zeros(0))
    s, t = 2 * n, 2 * n + 1
    big = int(c.sum()) + 1
    verts = np.arange(n)
    rows = np.concatenate([np.full(n, s), n + verts, I, J])
    cols = np.concatenate([verts, np.full(n, t), n + J, n + I])
    cap = np.concatenate([c, c, np.full(2 * m, big)]).astype(np.int32)
    C = sp.csr_matrix((cap, (rows, cols)), shape=(2 * n + 2, 2 * n + 2))
    res = maximum_flow(C, s, t, method="dinic")
    F = res.flow.tocsr()
    # residual capacity C - F (reverse arcs carry -flow with capacity 0): reachable set from s
    R = (C.astype(np.int64) - F.astype(np.int64)).tocsr()
    R.data = (R.data > 0).astype(np.int8)
    R.eliminate_zeros()
    reach = np.zeros(2 * n + 2, bool)
    reach[breadth_first_order(R, s, directed=True, return_predecessors=False)] = True
    r = 0.5 * ((~reach[:n]).astype(float) + reach[n:2 * n].astype(float))
    f_uv = np.asarray(F[I, n + J]).ravel().astype(float)
    f_vu = np.asarray(F[J, n + I]).ravel().astype(float)
    w = unit * 0.5 * (f_uv + f_vu)
    value = 0.5 * unit * float(res.flow_value)
    dual = float(np.dot(p, r))
    if abs(dual - value) > 1e-9 * max(1.0, abs(value)):
        raise SolverFailed(f"pair flow: primal {value} != dual {dual}", status="flow duality gap",
                           backend="flow")
    return PairFlow(value, 1.0 - r, w)
