"""The group LP of one large component, solved on a growing region around the flow's violations.

The pair LP optimum (w0, r0 = 1 - q0, by max-flow) is optimal except near the violated groups.
For a vertex region R, fix w0 on every pair not inside R and solve the LP on the columns inside
R (pairs and groups), rows R with the capacity the fixed pairs leave, p - load0 >= 0. This is a
restriction of (P), so its primal, completed by the fixed w0, is feasible for (P). Its dual r on
R, completed by r0 elsewhere, is a dual candidate. By complementary slackness of (w0, r0) and of
the restricted LP,  dual - primal = sum over fixed pairs e = {a, b} with an end in R of
w0_e (r_a + r_b - 1) (zero where r = r0). When that gap is zero and pricing (pairs) and
separation (groups) find no violated constraint of (D) anywhere in the component, the completed
pair (w, r) is primal-dual optimal for the whole component: AT exactly (and the independent
certificate re-checks it). Otherwise R grows by the ends of the fixed pairs carrying the gap and
the violated constraints; past `max_fraction` of the component the caller falls back to the LP
on the whole component.
"""
from __future__ import annotations

import itertools
import time

import highspy
import numpy as np

from robustdsl.ir import GroupSet

from .cliques import ConflictGraph
from .lp_highs import HighsGroupLP
from .separation import DeadlineReached, violated_groups, select

MAX_FRACTION = 0.6        # a region beyond this share of the component: use the LP on all of it


def _neighbours(g: ConflictGraph, mask: np.ndarray) -> np.ndarray:
    """mask plus every vertex adjacent to it."""
    out = mask.copy()
    out[g.J[mask[g.I]]] = True
    out[g.I[mask[g.J]]] = True
    return out


def _closure(groups: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
    """Groups of size >= 3 with all their sub-groups of size >= 3, deduplicated."""
    by: dict[int, list[np.ndarray]] = {}
    for k, rows in groups.items():
        for s in range(3, k + 1):
            for cols in itertools.combinations(range(k), s):
                by.setdefault(s, []).append(np.sort(rows[:, list(cols)], axis=1))
    return {s: np.unique(np.concatenate(v), axis=0) for s, v in by.items()}


def _isin_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise membership of the rows of a in b (same width, int64)."""
    v = np.dtype((np.void, 8 * a.shape[1]))
    return np.isin(np.ascontiguousarray(a, np.int64).view(v).ravel(),
                   np.ascontiguousarray(b, np.int64).view(v).ravel())


def _merge(a: dict[int, np.ndarray], b: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
    out = dict(a)
    for k, rows in b.items():
        out[k] = np.unique(np.concatenate([out[k], rows]), axis=0) if k in out else rows
    return out


def solve_local(g: ConflictGraph, X: np.ndarray, p: np.ndarray, eps: float, norm: float, L: int,
                pf, first: dict[int, np.ndarray], tol: float, deadline: float | None = None,
                hops: int = 0, max_fraction: float | None = None, depth: int = 3, clock=None) -> dict | None:
    """Exact group LP of the component g (local ids) from the pair flow `pf` and its violated
    groups `first`; a dict like cutting_plane._solve_component's (rows in local ids), or None when
    the region grows past max_fraction of the component. DeadlineReached propagates."""
    n = g.n
    max_fraction = MAX_FRACTION if max_fraction is None else max_fraction
    groups = _closure(first)
    R = np.zeros(n, bool)
    for rows in groups.values():
        R[rows.ravel()] = True
    for _ in range(hops):
        R = _neighbours(g, R)
    r0 = 1.0 - pf.q
    rounds = 0
    lp = HighsGroupLP(p)                      # one row per vertex; rows outside R stay without columns
    inside = np.zeros(g.I.size, bool)         # pair columns already in the LP
    have: dict[int, np.ndarray] = {}          # group columns already in the LP
    cols: list[np.ndarray] = []
    while True:
        if deadline is not None and time.perf_counter() > deadline:
            raise DeadlineReached()
        if R.sum() > max_fraction * n:
            return None
        t0 = time.perf_counter()
        touch = R[g.I] & R[g.J]
        fixed = ~touch
        load = np.zeros(n)
        np.add.at(load, g.I[fixed], pf.w[fixed])
        np.add.at(load, g.J[fixed], pf.w[fixed])
        idx = np.flatnonzero(R)
        cap = np.maximum(p[idx] - load[idx], 0.0)
        lp._h.changeRowsBounds(idx.size, idx.astype(np.int32), np.full(idx.size, -highspy.kHighsInf), cap)
        new_pairs = np.flatnonzero(touch & ~inside)
        inside[new_pairs] = True
        batch = [np.stack([g.I[new_pairs], g.J[new_pairs]], 1)]
        for k, rows in sorted(groups.items()):
            fresh = rows if k not in have else rows[~_isin_rows(rows, have[k])]
            have[k] = rows
            batch.append(fresh)
        for c in batch:
            if c.shape[0]:
                lp.add_groups(GroupSet.from_rows(c))
                cols.append(c)
        res = lp.solve(None if deadline is None else max(1e-3, deadline - time.perf_counter()))
        r = r0.copy()
        r[idx] = res.r[idx]
        q = np.clip(1.0 - r, 0.0, 1.0)
        primal = res.value + float(pf.w[fixed].sum())
        dual = float(np.dot(p, 1.0 - q))
        if clock is not None:
            t0 = clock.add("lp", t0)
        bad_pairs = np.flatnonzero(q[g.I] + q[g.J] > 1.0 + tol)
        viol = violated_groups(g, X, q, eps, norm, L, tol=tol, first_level=True, deadline=deadline) \
            if bad_pairs.size == 0 and L > 2 else None
        if clock is not None:
            clock.add("separation", t0)
        rounds += 1
        n_viol = 0 if viol is None else viol.count
        if abs(primal - dual) <= 1e-9 * max(1.0, abs(dual)) and bad_pairs.size == 0 and n_viol == 0:
            w_fixed = pf.w[fixed]
            keep = w_fixed > 0
            out_rows = [np.stack([g.I[fixed][keep], g.J[fixed][keep]], 1)] + cols
            w = np.concatenate([w_fixed[keep], res.w])
            allg = GroupSet.concat([GroupSet.from_rows(rw) for rw in out_rows])
            return {"value": primal, "q": q, "groups": allg, "w": w, "rounds": rounds,
                    "timed_out": False, "flow": 0, "region": int(R.sum())}
        grow = np.zeros(n, bool)
        moved = np.zeros(n, bool)
        moved[idx[np.abs(res.r[idx] - r0[idx]) > tol]] = True
        for _ in range(depth):                     # follow the fixed flow pairs the gap sits on
            slack = fixed & (pf.w > 0) & (moved[g.I] | moved[g.J])
            moved[g.I[slack]] = moved[g.J[slack]] = True
        grow |= moved
        grow[g.I[bad_pairs]] = grow[g.J[bad_pairs]] = True
        before = sum(r.shape[0] for r in groups.values())
        if n_viol:
            new = _closure(select(viol, n, max(100, 2 * n)))
            groups = _merge(groups, new)
            for rows in new.values():
                grow[rows.ravel()] = True
        grow |= R
        if grow.sum() == R.sum() and sum(r.shape[0] for r in groups.values()) == before:
            return None                                   # nothing to grow by: let the full LP decide
        R = grow
