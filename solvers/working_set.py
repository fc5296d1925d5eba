"""The working set of column generation for the group LP (P), and the pricing of its pair columns.

The LP solver gets groups as columns; the working set remembers which (pairs by their edge id in
the conflict graph, bigger groups by size), adds a group together with all its sub-groups
(downward closure, so the q of (D) stays feasible on the set), and starts from the pair LP's
optimum given by the max-flow (solvers.pair_basis). A pair column enters when its dual
constraint q_u + q_v <= 1 is violated (its reduced gain in (P) is positive).
"""
from __future__ import annotations

import itertools

import numpy as np

from robustdsl.errors import SolverFailed
from robustdsl.ir import GroupSet

from ._unique import unique
from .cliques import ConflictGraph
from .pair_basis import pair_basis
from .separation import TOL


def void_rows(a: np.ndarray) -> np.ndarray:
    """One opaque (void) scalar per row of an integer array: rows compare, sort and np.isin as wholes."""
    a = np.ascontiguousarray(a, dtype=np.int64)
    return a.view(np.dtype((np.void, a.dtype.itemsize * a.shape[1]))).ravel()


def initial_pairs(g: ConflictGraph, pf, tol: float = TOL) -> np.ndarray:
    """Edge ids of the first pair columns of column generation: the flow's support (w > 0) and the
    pairs tight for its dual (q_u + q_v >= 1 - tol); every other pair has reduced cost < 0 at the
    pair optimum and enters only if pricing asks for it."""
    return np.flatnonzero((pf.w > 0) | (pf.q[g.I] + pf.q[g.J] >= 1.0 - tol))


def start_columns(ws: "WorkingSet", g: ConflictGraph, pf, p: np.ndarray, tol: float = TOL) -> None:
    """The first columns of column generation. Uniform weights and a solver that takes a basis:
    the basic edges of an optimal basis of the pair LP built from the flow (solvers.pair_basis),
    with that basis, so the first LP needs no iteration (measured at eps 3: LP 2.5 -> 1.3 s,
    n = 20,000; 24.9 -> 15.5 s, n = 40,000). Otherwise the flow's support and tight pairs."""
    if hasattr(ws.solver, "set_basis") and p.size and np.all(p == p[0]):
        b = pair_basis(g.n, g.I, g.J, pf.w / p[0], 1.0 - pf.q)
        ws.add_pairs(b.edges)
        ws.solver.set_basis(np.ones(b.edges.size, bool), b.slack)
        return
    ws.add_pairs(initial_pairs(g, pf, tol))


# Pair columns priced in per round at most. Column generation stays exact with any non-empty subset
# of the violated columns; without a cap the first round of all-MNIST l2 eps 4 priced in tens of
# millions of pairs at once and HiGHS' column store outgrew 20 GiB. The full-MNIST eps-3 graph has
# 1.77 M pairs in all, so the cap never binds there.
PRICE_CAP = 2_000_000
_CHUNK = 1 << 22


def violated_pairs(g: ConflictGraph, q: np.ndarray, tol: float = TOL, cap: int | None = None) -> np.ndarray:
    """Pricing of the pair columns: edge ids with q_u + q_v > 1 + tol (the dual constraint of the
    pair is violated, i.e. its column has a positive reduced gain in (P)), in increasing order.
    With `cap`, at most that many: the most violated, ties by the smaller edge id (deterministic)."""
    bad, sums = [], []
    for a in range(0, g.I.size, _CHUNK):      # chunks: no edge-sized float64 temporaries
        s = q[g.I[a:a + _CHUNK]] + q[g.J[a:a + _CHUNK]]
        hit = np.flatnonzero(s > 1.0 + tol)
        bad.append(hit + a)
        sums.append(s[hit])
    bad = np.concatenate(bad) if bad else np.zeros(0, np.int64)
    if cap is None or bad.size <= cap:
        return bad
    sv = np.concatenate(sums)
    cut = np.partition(sv, sv.size - cap)[sv.size - cap]       # the cap-th largest sum
    above = bad[sv > cut]
    ties = bad[sv == cut][:cap - above.size]
    return np.sort(np.concatenate([above, ties]))


class WorkingSet:
    """The groups given to the LP solver: `columns` in insertion order, `have` by size (dedup).

    With a graph (column generation), the pairs are a priced subset of its edges, tracked by a mask
    over the edge ids, and every group enters with all its sub-pairs (downward closure down to 2)."""

    def __init__(self, solver, graph: ConflictGraph | None = None) -> None:
        self.solver = solver
        self.columns: list[np.ndarray] = []
        self.have: dict[int, np.ndarray] = {}
        self.graph = graph
        self.pair_in = None if graph is None else np.zeros(graph.I.size, bool)

    def add_pairs(self, edges: np.ndarray) -> int:
        """Add the graph's edges `edges` (ids) not yet present; return how many were new."""
        edges = unique(edges)
        edges = edges[~self.pair_in[edges]]
        if edges.size == 0:
            return 0
        self.pair_in[edges] = True
        rows = np.stack([self.graph.I[edges], self.graph.J[edges]], 1)
        self.columns.append(rows)
        self.solver.add_groups(GroupSet.from_rows(rows))
        return int(edges.size)

    def add(self, rows: np.ndarray) -> int:
        """Add the rows (one size) not yet present; return how many were new."""
        if rows.shape[0] == 0:
            return 0
        s = rows.shape[1]
        _, first = np.unique(void_rows(rows), return_index=True)
        rows = rows[np.sort(first)]
        if s in self.have:
            rows = rows[~np.isin(void_rows(rows), void_rows(self.have[s]))]
            if rows.shape[0] == 0:
                return 0
        self.have[s] = np.concatenate([self.have[s], rows]) if s in self.have else rows
        self.columns.append(rows)
        self.solver.add_groups(GroupSet.from_rows(rows))
        return int(rows.shape[0])

    def add_closed(self, new: dict[int, np.ndarray]) -> int:
        """Add the new groups with all their sub-groups of size >= 3 (downward closure)."""
        by_size: dict[int, list[np.ndarray]] = {}
        low = 3 if self.graph is None else 2
        for k, rows in new.items():
            for s in range(low, k + 1):
                for cols in itertools.combinations(range(k), s):
                    by_size.setdefault(s, []).append(rows[:, list(cols)])
        added = 0
        if 2 in by_size:
            pairs = np.concatenate(by_size.pop(2))
            pos = self.graph.edge_pos(pairs[:, 0], pairs[:, 1])
            if np.any(pos < 0):
                raise SolverFailed("a group of the working set is not a clique of the conflict graph",
                                   status="inconsistent groups", backend=getattr(self.solver, "backend", None))
            added += self.add_pairs(pos)
        return added + sum(self.add(np.concatenate(by_size[s])) for s in sorted(by_size))
