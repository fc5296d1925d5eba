"""K = 2: AT as optimal transport between the two class measures (POT, ot.emd).

With the cost M_ij = 1[d(x_i, x_j) > 2 eps] between class A (mass m_A >= m_B) and class B padded
by a dummy atom of mass m_A - m_B at cost 1 to everything, any partial matching W of conflict pairs
extends to a coupling of cost m_A - W, so AT = max W = m_A - OT cost (unequal masses handled
exactly). The dual q comes from the optimal plan by Koenig's construction: Z = samples reachable
from unsaturated A-samples by alternating paths (A -> B on conflict edges, B -> A on plan > 0);
the vertex cover (A \\ Z) u (B n Z) gets r = 1, the rest r = 0.
"""
from __future__ import annotations

import time

import numpy as np
import ot
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order

from robustdsl.errors import SolverFailed
from robustdsl.ir import GroupLP, GroupSet

from .cutting_plane import GroupSolve, _Clock, conflict_graph
from .flow import check_domain

_SAT = 1e-12


def solve(program: GroupLP) -> GroupSolve:
    """Exact AT for two classes by ot.emd; raises UnsupportedProblem for K > 2."""
    check_domain(program, "pot", need_two_classes=True)
    clock = _Clock()
    t0 = time.perf_counter()
    g = conflict_graph(program)
    t0 = clock.add("distances", t0)
    n, p, lab = program.n, program.weights, program.labels
    cls = np.unique(lab)
    q = np.ones(n)
    w = np.zeros(g.I.size)
    value = 0.0
    if cls.size == 2 and g.I.size:
        A, B = (np.flatnonzero(lab == c) for c in cls)
        if p[A].sum() < p[B].sum():
            A, B = B, A
        posA = np.full(n, -1)
        posA[A] = np.arange(A.size)
        posB = np.full(n, -1)
        posB[B] = np.arange(B.size)
        ea = np.where(posA[g.I] >= 0, posA[g.I], posA[g.J])
        eb = np.where(posB[g.I] >= 0, posB[g.I], posB[g.J])
        mA, mB = p[A].sum(), p[B].sum()
        M = np.ones((A.size, B.size + 1))
        M[ea, eb] = 0.0
        b = np.concatenate([p[B], [max(mA - mB, 0.0)]])
        b *= mA / b.sum()                     # equal totals up to rounding, as ot.emd requires
        plan, log = ot.emd(p[A], b, M, numItermax=10_000_000, log=True)
        if log.get("warning"):
            raise SolverFailed(f"ot.emd did not converge: {log['warning']}", status=str(log["warning"]),
                               backend="pot")
        w = np.maximum(plan[ea, eb], 0.0)
        value = float(w.sum())
        q = _koenig(n, A, B, ea, eb, w, p)
    clock.add("lp", t0)
    groups = GroupSet.from_rows(g.pairs())
    info = {"groups_by_size": groups.counts_by_size(), "pairs": int(g.I.size),
            "separation_rounds": 0, "max_group_size": 2, "route": "POT ot.emd"}
    return GroupSolve(value=value, lower=value, upper=value, status="optimal", groups=groups, w=w, q=q,
                      graph=g, max_size=2, backend="pot", info=info, timings=dict(clock.t))


def _koenig(n, A, B, ea, eb, w, p) -> np.ndarray:
    """q = 1 - r from a maximum matching w (Koenig's theorem); SolverFailed if w is not maximum.

    Saturation is judged to _SAT of the total mass (ot.emd's plan is accurate to rounding of the
    total, not of each weight): the cover (A \\ Z) + (B & Z) covers every edge whatever the
    tolerance, and its weight exceeds the matching's by at most n * tol (the certificate's gap).
    """
    na, nb = A.size, B.size
    tol = _SAT * float(p.sum())
    rowsum = np.bincount(ea, weights=w, minlength=na)
    colsum = np.bincount(eb, weights=w, minlength=nb)
    free_a = np.flatnonzero(p[A] - rowsum > tol)
    # nodes: 0..na-1 (A), na..na+nb-1 (B), na+nb (super source)
    src = na + nb
    used = w > tol
    rows = np.concatenate([ea, na + eb[used], np.full(free_a.size, src)])
    cols = np.concatenate([na + eb, ea[used], free_a])
    Gd = sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(src + 1, src + 1))
    reach = breadth_first_order(Gd, src, directed=True, return_predecessors=False)
    Z = np.zeros(src + 1, bool)
    Z[reach] = True
    zb = Z[na:na + nb]
    if np.any(zb & (p[B] - colsum > tol)):
        raise SolverFailed("the transport plan is not a maximum matching (augmenting path found)",
                           status="not optimal", backend="pot")
    r = np.zeros(n)
    r[A[~Z[:na]]] = 1.0
    r[B[zb]] = 1.0
    return 1.0 - r
