"""The exact group LP of one component by cutting planes over its group pool (rows = groups).

For a component whose admissible groups fit in a pool (solvers.group_pool), (D) is solved by
HiGHS with the groups as rows (lp_highs.HighsCutLP: a new row keeps the basis dual feasible, so
the dual simplex re-solves warm), starting from the pair max-flow's support, and pricing every
round by vectorised sums over the pool and the conflict pairs:

    add the pairs with q_u + q_v > 1 + tol, the `top` most violated pool groups and, for every
    sample, the most violated pool group containing it; stop when nothing is violated.

Rows non-binding with a zero dual at IDLE_ROUNDS successive optima are deleted in the first
DROP_ROUNDS rounds (the optimum does not move; they re-enter if violated later): the LP stays
near its active set and each dual simplex pivot costs less (W2 eps 4: at most 2,244 rows instead
of 5,388 at the end, LP 0.38 -> 0.21 s for about the same 3,300 pivots).

The pool holds every admissible group of size >= 3 and the graph every pair, so the final q is
feasible for the whole (D) and the LP value is AT of the component exactly (MATH.md section 2).
The row duals y are turned into a feasible w of (P) by `repair_overflow`.
"""
from __future__ import annotations

import itertools
import time

import numpy as np

from robustdsl.errors import SolverFailed
from robustdsl.ir import GroupSet

from ._unique import unique
from .cliques import ConflictGraph
from .group_pool import GroupPool
from .lp_highs import HighsCutLP
from .result_checks import check_lp_result

LIFT = True
PAIR_CAP = 300          # most violated pairs added per round
POOL_TOP = 200           # most violated pool groups added per round (besides one per sample)
IDLE_ROUNDS = 2          # rows non-binding (y_S = 0, slack) at this many successive optima are deleted
DROP_ROUNDS = 30         # ... in the first rounds only: afterwards rows only enter, so the loop ends


def repair_overflow(rows: dict[int, np.ndarray], y: dict[int, np.ndarray],
                    p: np.ndarray) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
    """A feasible w of (P) with the same value from row duals y that over-cover some samples.

    The LP dual of (D) with 0 <= q <= 1 is min sum_S y_S + sum_v z_v s.t. A'y + z >= p: at a
    sample with q_v = 0 the groups may carry more than p_v (e_v = load_v - p_v > 0). Every group S
    containing v is then tight and so is S - {v}; removing v from mass e_v of those groups (in row
    order) changes neither sum_S y_S nor feasibility, and afterwards A'y + z = p, so
    sum_S (|S| - 1) y_S = sum p - (sum y + sum z) = AT. A group S whose members v are removed on
    the mass intervals [0, r_Sv) splits into at most |S| + 1 pieces (members kept: those with
    r_Sv <= the piece's start); pieces with fewer than two members are dropped (gain 0).
    Returns ({size: rows}, {size: masses}), masses > 0."""
    sizes = [k for k in sorted(rows) if rows[k].shape[0]]
    offs = np.cumsum([0] + [rows[k].shape[0] for k in sizes])
    mass = np.concatenate([y[k] for k in sizes]) if sizes else np.zeros(0)
    gid = np.concatenate([np.repeat(np.arange(rows[k].shape[0]) + o, k) for k, o in zip(sizes, offs)]) \
        if sizes else np.zeros(0, np.int64)
    mem = np.concatenate([rows[k].ravel() for k in sizes]) if sizes else np.zeros(0, np.int64)
    load = np.bincount(mem, weights=mass[gid], minlength=p.size)
    excess = np.maximum(load - p, 0.0)
    cut = np.zeros(mem.size)                            # r_Sv per (group, member) entry
    hit = np.flatnonzero(excess[mem] > 0)
    if hit.size:
        order = hit[np.lexsort((gid[hit], mem[hit]))]
        v, m = mem[order], mass[gid[order]]
        csum = np.cumsum(m)
        first = np.ones(order.size, bool)
        first[1:] = v[1:] != v[:-1]
        seg_start = np.maximum.accumulate(np.where(first, np.arange(order.size), 0))
        before = csum - m - (csum[seg_start] - m[seg_start])
        cut[order] = np.clip(excess[v] - before, 0.0, m)
    out_rows: dict[int, list] = {}
    out_mass: dict[int, list] = {}
    pos = 0
    for k, o in zip(sizes, offs):
        R = rows[k]
        r = cut[pos:pos + R.size].reshape(R.shape)
        pos += R.size
        yk = mass[o:o + R.shape[0]]
        srt = np.argsort(r, axis=1, kind="stable")
        rs = np.take_along_axis(r, srt, axis=1)
        members = np.take_along_axis(R, srt, axis=1)
        for j in range(2, k + 1):                       # piece j keeps the j members cut least
            start = rs[:, j - 1]
            end = rs[:, j] if j < k else yk
            w = end - start
            keep = w > 0
            if keep.any():
                out_rows.setdefault(j, []).append(np.sort(members[keep, :j], axis=1))
                out_mass.setdefault(j, []).append(w[keep])
    return ({j: np.concatenate(v) for j, v in out_rows.items()},
            {j: np.concatenate(v) for j, v in out_mass.items()})


def _pick(viol: dict[int, np.ndarray], sums: dict[int, np.ndarray], pool: GroupPool,
          top: int) -> dict[int, np.ndarray]:
    """{k: pool ids}: the `top` largest sums over all sizes, plus each sample's largest-sum group."""
    ks = sorted(viol)
    size = np.concatenate([np.full(viol[k].size, k) for k in ks])
    ids = np.concatenate([viol[k] for k in ks])
    s = np.concatenate([sums[k][viol[k]] for k in ks])
    order = np.argsort(-s, kind="stable")
    chosen = np.zeros(s.size, bool)
    chosen[order[:top]] = True
    ent = np.concatenate([pool.rows[k][viol[k]].ravel() for k in ks])       # members, in id order
    owner = np.concatenate([np.repeat(np.flatnonzero(size == k), k) for k in ks])
    best = np.lexsort((-s[owner], ent))                  # per sample, its largest sum first
    firsts = np.ones(best.size, bool)
    firsts[1:] = ent[best][1:] != ent[best][:-1]
    chosen[owner[best[firsts]]] = True
    return {k: ids[chosen & (size == k)] for k in ks if np.any(chosen & (size == k))}


class _PairLift:
    """For a violated pair {u, v}, the pool group containing it with the largest sum of q: its
    row implies the pair's (q >= 0) and cuts deeper, so the LP needs fewer pair rows and rounds."""

    def __init__(self, g: ConflictGraph, pool: GroupPool) -> None:
        edge, size, gid = [], [], []
        for k, R in pool.rows.items():
            for a, b in itertools.combinations(range(k), 2):
                edge.append(g.edge_pos(R[:, a], R[:, b]))
                size.append(np.full(R.shape[0], k))
                gid.append(np.arange(R.shape[0]))
        self.m = g.I.size
        if edge:
            e = np.concatenate(edge)
            order = np.argsort(e, kind="stable")
            self.edge, self.size, self.gid = e[order], np.concatenate(size)[order], np.concatenate(gid)[order]
        else:
            self.edge = self.size = self.gid = np.zeros(0, np.int64)
        self.start = np.searchsorted(self.edge, np.arange(self.m + 1))

    def best(self, pairs: np.ndarray, sums: dict[int, np.ndarray]) -> tuple[np.ndarray, dict[int, np.ndarray]]:
        """(pairs in no pool group, {k: pool ids of the best group of every other pair})."""
        cnt = self.start[pairs + 1] - self.start[pairs]
        alone = pairs[cnt == 0]
        has = pairs[cnt > 0]
        if has.size == 0:
            return alone, {}
        c = cnt[cnt > 0]
        owner = np.repeat(np.arange(has.size), c)
        ent = np.repeat(self.start[has], c) + np.arange(owner.size) - np.repeat(np.cumsum(c) - c, c)
        val = np.zeros(ent.size)
        for k, s in sums.items():
            sel = self.size[ent] == k
            val[sel] = s[self.gid[ent[sel]]]
        order = np.lexsort((-val, owner))
        first = np.ones(order.size, bool)
        first[1:] = owner[order][1:] != owner[order][:-1]
        top = ent[order[first]]
        return alone, {int(k): self.gid[top[self.size[top] == k]] for k in np.unique(self.size[top])}


class _Rows:
    """The working set of HighsCutLP: pair rows by edge id, pool rows by (size, pool id), one
    entry per LP row in row order (size[i], ids[i]); `idle[i]` counts the solves since row i
    was last binding."""

    def __init__(self, lp: HighsCutLP, g: ConflictGraph, pool: GroupPool) -> None:
        self.lp, self.g, self.pool = lp, g, pool
        self.have = {k: np.zeros(R.shape[0], bool) for k, R in pool.rows.items()}
        self.have[2] = np.zeros(g.I.size, bool)
        self.size = np.zeros(0, np.int64)
        self.ids = np.zeros(0, np.int64)
        self.idle = np.zeros(0, np.int64)

    def add(self, k: int, ids: np.ndarray) -> int:
        ids = unique(ids)
        mask = self.have[k]
        ids = ids[~mask[ids]]
        if ids.size == 0:
            return 0
        mask[ids] = True
        self.lp.add_groups(GroupSet.from_rows(self.rows_of(k, ids)))
        self.size = np.concatenate([self.size, np.full(ids.size, k)])
        self.ids = np.concatenate([self.ids, ids])
        self.idle = np.concatenate([self.idle, np.zeros(ids.size, np.int64)])
        return int(ids.size)

    def rows_of(self, k: int, ids: np.ndarray) -> np.ndarray:
        return np.stack([self.g.I[ids], self.g.J[ids]], 1) if k == 2 else self.pool.rows[k][ids]

    def by_size(self, size: np.ndarray, ids: np.ndarray):
        """(mask of the entries of size k, their (m, k) member rows) for each size present."""
        for k in np.unique(size):
            sel = size == k
            yield sel, self.rows_of(int(k), ids[sel])

    def age(self, q: np.ndarray, y: np.ndarray, tol: float) -> None:
        """One more solve: rows with y_S = 0 and sum_S q < 1 - tol idle one round longer, the
        others reset."""
        act = np.zeros(self.size.size)
        for sel, R in self.by_size(self.size, self.ids):
            act[sel] = q[R].sum(1)
        self.idle = np.where((y <= 0) & (act < 1.0 - tol), self.idle + 1, 0)

    def drop_idle(self, rounds: int) -> int:
        """Delete the rows idle for `rounds` solves (they may enter again if violated later)."""
        drop = np.flatnonzero(self.idle >= rounds)
        if drop.size == 0:
            return 0
        self.lp.drop_rows(drop)
        for k in np.unique(self.size[drop]):
            self.have[int(k)][self.ids[drop[self.size[drop] == k]]] = False
        keep = np.ones(self.size.size, bool)
        keep[drop] = False
        self.size, self.ids, self.idle = self.size[keep], self.ids[keep], self.idle[keep]
        return int(drop.size)


def solve_with_pool(g: ConflictGraph, p: np.ndarray, pool: GroupPool, pf, viol0: dict[int, np.ndarray],
                    *, tol: float, top: int | None, deadline: float | None, clock,
                    seed: dict[int, np.ndarray] | None = None) -> dict:
    """AT of one component (local ids 0..n-1 of g) by cutting planes over `pool`; pf: the pair
    max-flow (its support starts the LP), viol0: pool ids violated by the flow's q.
    Returns the component dict of cutting_plane._solve_component (local ids)."""
    t0 = time.perf_counter()
    n = g.n
    top = POOL_TOP if top is None else top
    ws = _Rows(HighsCutLP(p), g, pool)
    lift = _PairLift(g, pool) if LIFT else None
    ws.add(2, np.flatnonzero(pf.w > 0))
    for k, rows in (seed or {}).items():
        if k in pool.rows:
            ids = pool.locate(k, rows)
            ws.add(k, ids[ids >= 0])
    viol, sums, q = viol0, pool.sums(pf.q), pf.q
    res, rounds, timed_out, interrupted = None, 0, False, False
    solved = (ws.size, ws.ids)
    t0 = clock.add("groups", t0)
    try:
        while True:
            bad_pairs = np.flatnonzero(q[g.I] + q[g.J] > 1.0 + tol)
            if bad_pairs.size == 0 and not viol:
                break
            if rounds <= DROP_ROUNDS:
                ws.drop_idle(IDLE_ROUNDS)
            added = 0
            if bad_pairs.size:
                if PAIR_CAP and bad_pairs.size > PAIR_CAP:
                    sv = q[g.I[bad_pairs]] + q[g.J[bad_pairs]]
                    bad_pairs = bad_pairs[np.argsort(-sv, kind="stable")[:PAIR_CAP]]
                alone, lifted = lift.best(bad_pairs, sums) if lift else (bad_pairs, {})
                added += ws.add(2, alone)
                for k, ids in lifted.items():
                    added += ws.add(k, ids)
            for k, ids in (_pick(viol, sums, pool, top).items() if viol else ()):
                added += ws.add(k, ids)
            if added == 0 and res is not None:    # (the first LP solves the start rows and the seed)
                raise SolverFailed("pool separation found only groups already in the LP "
                                   "(LP tolerances looser than the separation tolerance)",
                                   status="stalled", backend="highs")
            t0 = clock.add("separation", t0)
            left = None if deadline is None else deadline - time.perf_counter()
            if left is not None and left <= 0:
                timed_out = True
                break
            try:
                res = check_lp_result(ws.lp.solve(left), n)
                solved = (ws.size, ws.ids)         # the rows res belongs to (add / drop make new arrays)
            except SolverFailed as exc:
                if exc.status and "time limit" in exc.status.lower():
                    timed_out = True
                    clock.add("lp", t0)
                    break
                raise
            t0 = clock.add("lp", t0)
            rounds += 1
            q = res.q
            ws.age(q, res.w, tol)
            sums = pool.sums(q)
            viol = {k: np.flatnonzero(s > 1.0 + tol) for k, s in sums.items()}
            viol = {k: v for k, v in viol.items() if v.size}
    except KeyboardInterrupt:            # Ctrl-C: the last solved LP is still a valid restriction
        timed_out = interrupted = True
    t0 = clock.add("separation", t0)
    if res is None or (timed_out and pf.value > res.value):
        return {"value": pf.value, "q": pf.q, "groups": GroupSet.from_rows(g.pairs()), "w": pf.w,
                "rounds": rounds, "timed_out": True, "interrupted": interrupted, "flow": 0}
    groups, w = _primal(ws, solved, res, p)
    clock.add("groups", t0)
    return {"value": res.value, "q": res.q, "groups": groups, "w": w, "rounds": rounds,
            "timed_out": timed_out, "interrupted": interrupted, "flow": 0}


def _primal(ws: _Rows, solved: tuple[np.ndarray, np.ndarray], res,
            p: np.ndarray) -> tuple[GroupSet, np.ndarray]:
    """The working set (w = 0) and, with their masses, the groups of a feasible w of (P) built
    from the row duals (repair_overflow); checks that its value equals the LP value.
    solved: (sizes, ids) of the rows of the LP that gave res (rows may have entered since)."""
    y = np.asarray(res.w)
    size, ids = solved
    rows, ys, idle = {}, {}, []
    for sel, R in ws.by_size(size, ids):
        yk = y[sel]
        act = yk > 0
        rows.setdefault(R.shape[1], []).append(R[act])
        ys.setdefault(R.shape[1], []).append(yk[act])
        idle.append(R[~act])
    rows = {k: np.concatenate(v) for k, v in rows.items()}
    ys = {k: np.concatenate(v) for k, v in ys.items()}
    prow, pmass = repair_overflow(rows, ys, p)
    value = float(sum((k - 1) * pmass[k].sum() for k in pmass))
    if abs(value - res.value) > 1e-8 * max(1.0, float(p.sum())):
        raise SolverFailed(f"primal from the row duals has value {value!r}, the LP {res.value!r}",
                           status="primal-dual mismatch", backend="highs")
    parts = [GroupSet.from_rows(R) for R in idle if R.shape[0]]
    parts += [GroupSet.from_rows(prow[k]) for k in sorted(prow)]
    w = np.concatenate([np.zeros(sum(R.shape[0] for R in idle))] + [pmass[k] for k in sorted(pmass)])
    return GroupSet.concat(parts), w
