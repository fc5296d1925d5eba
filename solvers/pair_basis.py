"""An optimal simplex basis of the pair LP built from its max-flow solution (uniform weights).

    (P2)  max sum_e w_e  s.t.  sum_{e contains v} w_e <= p_v (= unit),  w >= 0
    (D2)  min sum_v p_v r_v  s.t.  r_u + r_v >= 1 (every pair),  r >= 0

The double-cover flow (solvers.pair_flow) gives an optimal half-integral pair (w, r) with every
vertex on at most two support edges. A basis (n basic variables among the edge columns and the
row slacks) is optimal iff its basic solution is w* >= 0 and its duals are r: every basic edge
tight (r_u + r_v = 1), every basic slack at r_v = 0, the basic columns independent. This module
builds one: w is first made basic (half-valued even cycles and paths rounded alternately to 0/1,
same value), then the basic set is a spanning forest of the tight edges in which every tree has
one slack (an r = 0 vertex) or one odd cycle (r = 1/2 vertices); a bipartite r = 1/2 tree gets
r shifted to 0/1 on its two sides (same value; tight edges stay tight). Used to start the group
LP's column generation at the pair optimum instead of from scratch (solvers.cutting_plane).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order, connected_components, minimum_spanning_tree

from ._unique import unique

_EPS = 1e-9


@dataclass(frozen=True, eq=False)
class PairBasis:
    """Basic edges (ids into the given I, J), basic slacks (vertex mask), the basic w* (units of
    p) on every given edge and the basis duals r (r = 1 - q of the pair optimum)."""

    edges: np.ndarray
    slack: np.ndarray
    w: np.ndarray
    r: np.ndarray


def basic_w(n: int, I: np.ndarray, J: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """(w* with the same value and the odd half cycles only, [edge ids of each odd cycle]).
    w in units {0, 1/2, 1}; half edges form paths and cycles (max degree 2)."""
    w = w.copy()
    half = np.flatnonzero(np.abs(w - 0.5) < _EPS)
    if half.size == 0:
        return w, []
    A = sp.coo_matrix((np.ones(half.size), (I[half], J[half])), shape=(n, n)).tocsr()
    A = (A + A.T).tocsr()
    deg = np.diff(A.indptr)
    ncomp, lab = connected_components(A, directed=False)
    vcount = np.bincount(lab, minlength=ncomp)
    ecount = np.bincount(lab[I[half]], minlength=ncomp)
    active = ecount > 0
    cycle = active & (ecount == vcount)
    odd = cycle & (vcount % 2 == 1)
    roll = active & ~odd
    # start of each path / cycle: a path's end (degree 1), a cycle's smallest vertex
    verts = np.arange(n)
    key = np.where(deg == 1, 0, 1) * (n + 1) + verts
    key[deg == 0] = 2 * (n + 1) + n
    first = np.full(ncomp, -1, np.int64)
    order = np.lexsort((key, lab))
    firsts = np.ones(n, bool)
    firsts[1:] = lab[order][1:] != lab[order][:-1]
    first[lab[order[firsts]]] = order[firsts]
    # even cycles become paths: cut one of the two half edges at their start vertex
    ring = np.zeros(n, bool)
    ring[first[cycle & ~odd]] = True
    at_ring = half[ring[I[half]] | ring[J[half]]]
    _, one = np.unique(np.where(ring[I[at_ring]], I[at_ring], J[at_ring]), return_index=True)
    cut = at_ring[one]
    on_roll = half[roll[lab[I[half]]]]
    path = np.setdiff1d(on_roll, cut)
    P = sp.coo_matrix((np.ones(path.size), (I[path], J[path])), shape=(n, n)).tocsr()
    depth = _forest_depth((P + P.T).tocsr(), first[roll], n)
    # an edge's position along its path is the depth of its end nearer the start
    w[path] = np.where(np.minimum(depth[I[path]], depth[J[path]]) % 2 == 0, 1.0, 0.0)
    w[cut] = 0.0                                 # the last edge of an even cycle (odd position)
    odd_edges = half[odd[lab[I[half]]]]
    comp_of = lab[I[odd_edges]]
    cycles = [odd_edges[comp_of == c] for c in np.flatnonzero(odd)]
    return w, cycles


def pair_basis(n: int, I: np.ndarray, J: np.ndarray, w: np.ndarray, r: np.ndarray) -> PairBasis:
    """An optimal basis of (P2) restricted to the edges (I, J) from an optimal half-integral
    primal w (units of p, on the same edges) and dual r (every edge feasible, complementary)."""
    w, cycles = basic_w(n, I, J, w)
    r = r.copy()
    tight = np.abs(r[I] + r[J] - 1.0) < _EPS
    load = np.bincount(np.concatenate([I, J]), weights=np.concatenate([w, w]), minlength=n)
    z = n                                          # the artificial root: a slack edge z - v
    drop = np.array([c[0] for c in cycles], np.int64)          # closed again after the tree
    roots = np.array([I[c[0]] for c in cycles], np.int64)      # one vertex per odd cycle
    weight = np.where(w > _EPS, 1.0, 2.0)
    weight[drop] = 2.0
    is_zero = np.abs(r) < _EPS
    free = np.flatnonzero(is_zero)
    sw = np.where(load[free] < 1.0 - _EPS, 1.0, 2.0)
    te = np.flatnonzero(tight)
    rows = np.concatenate([I[te], free, roots])
    cols = np.concatenate([J[te], np.full(free.size, z), np.full(roots.size, z)])
    wts = np.concatenate([weight[te], sw, np.ones(roots.size)])
    eid = np.concatenate([te, -1 - free, np.full(roots.size, -(n + 2))])   # -(n+2): cycle root
    G = sp.coo_matrix((wts, (rows, cols)), shape=(n + 1, n + 1)).tocsr()
    T = minimum_spanning_tree(G).tocoo()
    key = np.minimum(T.row, T.col).astype(np.int64) * (n + 1) + np.maximum(T.row, T.col)
    all_key = np.minimum(rows, cols).astype(np.int64) * (n + 1) + np.maximum(rows, cols)
    srt = np.argsort(all_key, kind="stable")
    hit = srt[np.searchsorted(all_key[srt], key)]
    chosen = eid[hit]
    edges = [chosen[chosen >= 0], drop]
    slack = np.zeros(n, bool)
    slack[-1 - chosen[(chosen < 0) & (chosen > -(n + 1))]] = True
    # trees not reached from z: r = 1/2 components without an odd cycle of w*
    F = sp.coo_matrix((np.ones(chosen.size), (T.row, T.col)), shape=(n + 1, n + 1)).tocsr()
    F = (F + F.T).tocsr()
    _, lab = connected_components(F, directed=False)
    loose = lab != lab[z]
    loose[z] = False
    if loose.any():
        closing, shift_slack = _close_loose(n, I, J, tight, F, lab, loose, r)
        edges.append(closing)
        slack[shift_slack] = True
    edges = unique(np.concatenate(edges))
    return PairBasis(edges=edges, slack=slack, w=w, r=r)


def _forest_depth(F: sp.csr_matrix, starts: np.ndarray, size: int) -> np.ndarray:
    """Depth of every vertex of the forest F (size x size) below its tree's start vertex (0 for
    vertices in no started tree): one scipy BFS from a virtual root joined to the starts, then
    pointer doubling over the BFS parents."""
    link = sp.coo_matrix((np.ones(starts.size), (np.full(starts.size, size), starts)),
                         shape=(size + 1, size + 1)).tocsr()
    G = sp.bmat([[F, None], [None, sp.csr_matrix((1, 1))]]).tocsr() + link
    _, pred = breadth_first_order(G, size, directed=False, return_predecessors=True)
    idx = np.arange(size + 1)
    a = np.where(pred < 0, idx, pred)          # parent; unreached vertices point to themselves
    a[starts] = starts
    d = (a != idx).astype(np.int64)            # distance to a
    while np.any(a != a[a]):
        d, a = d + d[a], a[a]
    return d[:size]


def _close_loose(n, I, J, tight, F, lab, loose, r):
    """For each spanning tree of r = 1/2 vertices with no root: a tight non-tree edge closing an
    odd cycle, else (bipartite) r shifted to 0 / 1 on the two colour classes (in place) and a
    slack on one r = 0 vertex. Returns (closing edge ids, slack vertices)."""
    verts = np.flatnonzero(loose[:n])
    _, first = np.unique(lab[verts], return_index=True)
    parity = np.zeros(n + 1, np.int64)
    parity[:n + 1] = _forest_depth(F, verts[first], n + 1) % 2
    e = np.flatnonzero(tight & loose[I] & (parity[I] == parity[J]))
    done, at = np.unique(lab[I[e]], return_index=True)
    closing = e[at]
    bip = loose[:n] & ~np.isin(lab[:n], done)
    bv = np.flatnonzero(bip)
    r[bv] = np.where(parity[bv] == 0, 0.0, 1.0)
    zero_side = bv[parity[bv] == 0]
    _, at0 = np.unique(lab[zero_side], return_index=True)
    return closing.astype(np.int64), zero_side[at0].astype(np.int64)
