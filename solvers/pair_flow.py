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
    """The pair LP on vertices 0..n-1 with edges (I, J) and weights p; None if p is not integral-scalable.

    Memory: the int32 CSR graph built in place (no COO triplets) and the minimum cut found on a
    BFS graph of the positive middle flows, not on the residual matrix C - F: about 110 bytes a
    pair at the peak (inside scipy's max-flow) instead of 210.
    """
    caps = integral_capacities(p)
    if caps is None:
        return None
    c, unit = caps
    m = I.size
    if m == 0:
        return PairFlow(0.0, np.ones(n), np.zeros(0))
    s, t = 2 * n, 2 * n + 1
    adj = _adjacency(n, I, J)                   # u -> v for both ends of every edge, sorted rows
    C = _double_cover(n, adj, c, s, t)
    res = maximum_flow(C, s, t, method="dinic")
    del C
    fs, u, v, f = _flows(res.flow, n, s)
    reach = _source_side(n, adj, fs < c, u, v)
    r = 0.5 * ((~reach[:n]).astype(float) + reach[n:2 * n].astype(float))
    w = unit * 0.5 * _edge_sums(n, I, J, u, v, f)
    value = 0.5 * unit * float(res.flow_value)
    dual = float(np.dot(p, r))
    if abs(dual - value) > 1e-9 * max(1.0, abs(value)):
        raise SolverFailed(f"pair flow: primal {value} != dual {dual}", status="flow duality gap",
                           backend="flow")
    return PairFlow(value, 1.0 - r, w)


def _adjacency(n: int, I: np.ndarray, J: np.ndarray) -> sp.csr_matrix:
    """(n, n) int8 CSR with sorted rows: u -> v and v -> u for every edge (u, v)."""
    o = np.lexsort((J, I)) if I.size > 1 and not _sorted_pairs(I, J) else None
    lo, hi = (I, J) if o is None else (I[o], J[o])
    U = sp.csr_matrix((np.ones(lo.size, np.int8), hi.astype(np.int32),
                       np.r_[0, np.cumsum(np.bincount(lo, minlength=n))].astype(np.int64)), shape=(n, n))
    A = (U + U.T.tocsr()).tocsr()
    A.sort_indices()
    return A


def _sorted_pairs(I: np.ndarray, J: np.ndarray) -> bool:
    """I < J everywhere and (I, J) in lexicographic order."""
    return bool(np.all(I < J)) and bool(np.all((I[1:] > I[:-1]) | ((I[1:] == I[:-1]) & (J[1:] > J[:-1]))))


def _double_cover(n: int, adj: sp.csr_matrix, c: np.ndarray, s: int, t: int) -> sp.csr_matrix:
    """Capacities of s -> v_L (c_v), v_L -> u_R (big, every edge), u_R -> t (c_u) as an int32 CSR,
    left copies 0..n-1, right copies n..2n-1, rows written directly."""
    N, e = 2 * n + 2, adj.indices.size
    big = int(c.sum()) + 1
    ip = np.empty(N + 1, np.int64)
    ip[:n + 1] = adj.indptr
    ip[n + 1:2 * n + 1] = e + np.arange(1, n + 1)
    ip[2 * n + 1] = e + 2 * n
    ip[2 * n + 2] = e + 2 * n
    ind = np.concatenate([adj.indices.astype(np.int32) + np.int32(n), np.full(n, t, np.int32),
                          np.arange(n, dtype=np.int32)])
    cap = np.concatenate([np.full(e, big, np.int32), c.astype(np.int32), c.astype(np.int32)])
    return sp.csr_matrix((cap, ind, ip), shape=(N, N))


def _flows(F: sp.csr_matrix, n: int, s: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """From scipy's flow matrix: the flow s -> v_L of every v, and the arcs u_L -> v_R with positive
    flow as (u, v, flow)."""
    fp, fi, fd = F.indptr, F.indices, F.data
    fs = np.zeros(n, np.int64)
    fs[fi[fp[s]:fp[s + 1]]] = fd[fp[s]:fp[s + 1]]
    pos = np.flatnonzero(fd[:fp[n]] > 0)
    u = np.searchsorted(fp, pos, side="right") - 1
    v = fi[pos].astype(np.int64) - n
    keep = (v >= 0) & (v < n)
    return fs, u[keep], v[keep], fd[pos][keep].astype(np.int64)


def _source_side(n: int, adj: sp.csr_matrix, free: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(2n,) bool: the source side of the minimum cut, the vertices the residual graph reaches from s.

    Residual arcs that matter: s -> v_L when the flow leaves capacity (free), v_L -> u_R for every
    edge (big is never saturated), u_R -> v_L back along a positive flow; BFS from a super source.
    """
    start = np.flatnonzero(free)
    o = np.argsort(v, kind="stable")
    gp = np.empty(2 * n + 2, np.int64)
    gp[:n + 1] = adj.indptr
    gp[n + 1:2 * n + 1] = adj.indptr[n] + np.cumsum(np.bincount(v, minlength=n))
    gp[2 * n + 1] = gp[2 * n] + start.size
    gi = np.concatenate([adj.indices.astype(np.int32) + np.int32(n), u[o].astype(np.int32), start.astype(np.int32)])
    G = sp.csr_matrix((np.ones(gi.size, np.int8), gi, gp), shape=(2 * n + 1, 2 * n + 1))
    reach = np.zeros(2 * n + 1, bool)
    reach[breadth_first_order(G, 2 * n, directed=True, return_predecessors=False)] = True
    return reach[:2 * n]


def _edge_sums(n: int, I: np.ndarray, J: np.ndarray, u: np.ndarray, v: np.ndarray, f: np.ndarray) -> np.ndarray:
    """(m,) f(u_L, v_R) + f(v_L, u_R) on every edge (I, J), from the positive arcs (u, v, f)."""
    key = np.minimum(I, J).astype(np.int64) * n + np.maximum(I, J)
    o = None if np.all(key[1:] > key[:-1]) else np.argsort(key, kind="stable")
    sk = key if o is None else key[o]
    at = np.searchsorted(sk, np.minimum(u, v) * n + np.maximum(u, v))
    out = np.zeros(I.size)
    np.add.at(out, at if o is None else o[at], f.astype(float))
    return out
