"""Exact solve of a BarycenterLP by cutting planes (column generation on (P), separation on (D)).

Working set: candidate pairs; then, until no group is violated,
    solve (P) on the working set -> (w, q = clip(1 - r, 0, 1), t = budget dual or 1)
    separate: every admissible S (distinct labels, |S| <= L) with sum_{v in S} q_v > 1 + t B(S).
Separation is an exhaustive search over cliques of the pair graph {u, v : t B({u, v}) < L - 1}
(B is monotone under inclusion, so a violated S has all its pairs in that graph; its distance
radius per family is TransportCost.pair_radius, searched with pairs.conflict_pairs), growing
cliques by one vertex (cliques.extend) and pruning S when sum_S q + (L - |S|) max q - 1 - t b(S)
<= 0 for a lower bound b(S) <= B(S), which bounds the violation of every extension.  B(S) is
computed (certified, solvers.barycenters) per surviving candidate.

Certified interval: lower = the primal value with the attained costs B_hi (a real attack);
upper = sum_v p_v (1 - q'_v) + delta t with q' = max(q - m/2, 0), m = the largest violation
found (with B_lo) over all groups: q' is dual feasible for every admissible group.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from robustdsl.errors import InvalidInput, SolverFailed
from robustdsl.ir.barycenter_program import BarycenterLP, TransportCost
from robustdsl.ir.group_lp import GroupSet, LPData, LPResult

from .barycenters import barycenters
from .cliques import ConflictGraph, extend
from .pairs import conflict_pairs, exact_dist

VIOLATION_TOL = 1e-9
MAX_BUDGET_COST = 1e15   # HiGHS' large_matrix_value: a larger coefficient is a model error (every LP back end)


@dataclass(frozen=True)
class Groups:
    """Groups of one size k: member rows (m, k) sorted, with certified B and barycenters
    (points None for the pair graph: midpoints are formed only for pairs that enter the LP)."""

    rows: np.ndarray
    upper: np.ndarray
    lower: np.ndarray
    points: np.ndarray | None


@dataclass(frozen=True, eq=False)
class BarycenterLPResult:
    """lower <= AT <= upper; w over `groups` (B = attained cost), their barycenters `points`."""

    lower: float
    upper: float
    w: np.ndarray
    groups: GroupSet
    points: np.ndarray
    q: np.ndarray
    t: float
    max_violation: float
    rounds: int
    backend: str
    separation: str
    timings: dict = field(default_factory=dict)
    lp: LPResult | None = None

    @property
    def value(self) -> float:
        return self.lower


# ----------------------------------------------------------------------------- LP back ends
def solve_lp_scipy(data: LPData) -> LPResult:
    """(P) through scipy.optimize.linprog (HiGHS), tight tolerances; duals from the marginals."""
    from scipy.optimize import linprog
    t0 = time.perf_counter()
    n, m = data.n, data.groups.n_groups
    A = data.groups.incidence(n).T.tocsr()
    b = np.asarray(data.weights, dtype=float)
    if data.budget is not None:
        A = sp.vstack([A, sp.csr_matrix(data.groups.cost[None, :])]).tocsr()
        b = np.append(b, data.budget)
    if m == 0:
        return LPResult(0.0, np.zeros(0), np.zeros(n), np.ones(n), 0.0 if data.budget is not None else None,
                        "optimal", "scipy", 0.0)
    res = linprog(-data.gains, A_ub=A, b_ub=b, bounds=(0, None), method="highs",
                  options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10})
    if res.status != 0:
        raise SolverFailed(f"linprog did not solve the group LP: {res.message}", status=str(res.status),
                           backend="scipy")
    duals = -np.asarray(res.ineqlin.marginals)
    r = np.maximum(duals[:n], 0.0)
    t = float(max(duals[n], 0.0)) if data.budget is not None else None
    return LPResult(float(-res.fun), np.maximum(res.x, 0.0), r, np.clip(1.0 - r, 0.0, 1.0), t,
                    "optimal", "scipy", time.perf_counter() - t0, int(getattr(res, "nit", 0)))


def solve_lp(backend: str, data: LPData) -> LPResult:
    """Dispatch to robustdsl.solvers.lp_backends when present; 'scipy' is the built-in stand-in."""
    if backend == "scipy":
        return solve_lp_scipy(data)
    try:
        from . import lp_backends  # landed from the lpback branch
    except ImportError:
        if backend == "highs":
            return solve_lp_scipy(data)
        from robustdsl.errors import BackendUnavailable
        raise BackendUnavailable(f"LP back end {backend!r} needs robustdsl.solvers.lp_backends") from None
    return lp_backends.solve_lp(backend, data)


# ----------------------------------------------------------------------------- groups
def pair_graph(X: np.ndarray, labels: np.ndarray, cost: TransportCost, bound: float) -> Groups:
    """All cross-label pairs with B({u, v}) < bound (their radius from TransportCost.pair_radius)."""
    thr, nrm = cost.pair_radius(bound)
    D = None
    if math.isinf(thr):
        I, J = np.triu_indices(X.shape[0], 1)
        keep = labels[I] != labels[J]
        I, J = I[keep].astype(np.int64), J[keep].astype(np.int64)
    else:
        I, J, D = conflict_pairs(X, labels, thr, nrm)    # D: exact distances in the norm nrm

    def dist(norm: float) -> np.ndarray:
        return D if D is not None and norm == nrm else exact_dist(X[I], X[J], norm)

    dp = dist(cost.norm) if cost.has_power else np.zeros(I.size)
    db = dist(cost.ball_norm) if cost.has_ball else None
    B = cost.pair_cost(dp, db)
    keep = B < bound
    I, J, B = I[keep], J[keep], B[keep]
    return Groups(np.stack([I, J], 1), B, B.copy(), None)


def _subset(g: Groups, keep: np.ndarray, X: np.ndarray | None = None) -> Groups:
    """Rows `keep` of g; pairs without points get their midpoints (the barycenters) from X."""
    pts = g.points[keep] if g.points is not None else None
    if pts is None and X is not None:
        r = g.rows[keep]
        pts = 0.5 * (X[r[:, 0]] + X[r[:, 1]])
    return Groups(g.rows[keep], g.upper[keep], g.lower[keep], pts)


def scaled(t: float, B: np.ndarray) -> np.ndarray:
    """t B with t * inf = inf also for t = 0 (a group whose balls do not meet stays inadmissible)."""
    return np.where(np.isfinite(B), t * np.where(np.isfinite(B), B, 0.0), np.inf)


def _sq_l2(cost: TransportCost) -> bool:
    return cost.has_power and not cost.has_ball and cost.p == 2 and cost.norm == 2


def separate(X: np.ndarray, labels: np.ndarray, cost: TransportCost, q: np.ndarray, t: float,
             L: int, pairs: Groups) -> tuple[list[Groups], float]:
    """Groups violated with their attained cost (sum q - 1 - t B_hi > VIOLATION_TOL: to add), and
    the largest violation sum q - 1 - t B_lo over ALL admissible groups (exhaustive clique
    search with a valid prune; >= 0).

    Prune of a candidate S (before computing B(S)): B(S) >= max(B(S - v), max pair B, sum of
    pair B / (|S| - 1)) (monotonicity; summing c(x_u, y) + c(x_v, y) >= B({u, v}) over the pairs
    of S counts every member |S| - 1 times).  Squared l2: B(S) = (2 / |S|) sum of pair B exactly.
    """
    qmax = float(q.max()) if q.size else 0.0
    found: list[Groups] = []
    worst = 0.0
    rows, up, lo, psum = pairs.rows, pairs.upper, pairs.lower, pairs.lower
    level: Groups | None = None      # the current size's groups with their B and points (k > 2)
    # the pair graph, its edge 'lengths' being the exact pair costs B({u, v})
    g = ConflictGraph(X.shape[0], pairs.rows[:, 0], pairs.rows[:, 1], labels, pairs.lower)
    k = 2
    while rows.shape[0]:
        qs = q[rows].sum(1) - 1.0
        viol = qs - scaled(t, lo)
        if viol.size:
            worst = max(worst, float(viol.max()))
        bad = np.isfinite(up) & (qs - scaled(t, up) > VIOLATION_TOL)
        if bad.any():   # the very B (and points) judged here enter the LP: no second computation
            if k == 2:
                found.append(_subset(pairs, bad, X))
            elif level is not None and level.points is not None:
                found.append(_subset(level, bad))
            else:
                found.append(_groups(X, rows[bad], cost))
        if k >= L:
            break
        grow = viol + (L - k) * qmax > 0.0
        parents, parent_lo, parent_sum = rows[grow], lo[grow], psum[grow]
        k += 1
        box: dict = {}

        def promising(new: np.ndarray, k=k, parents=parents, parent_lo=parent_lo, parent_sum=parent_sum,
                      box=box) -> np.ndarray:
            pi = _parent_index(parents, new)
            bound, tot = parent_lo[pi], parent_sum[pi].copy()
            for j in range(k - 1):
                e = g.edge_dist(new[:, j], new[:, -1])
                bound = np.maximum(bound, e)
                tot = tot + e
            bound = np.maximum(bound, tot / (k - 1))
            keep = q[new].sum(1) + (L - k) * qmax - 1.0 - scaled(t, bound) > 0.0
            box.setdefault("sum", []).append(tot[keep])
            return keep

        cand = extend(g, parents, promising)
        if cand.shape[0] == 0:
            break
        psum = np.concatenate(box["sum"])
        if _sq_l2(cost):
            up = lo = (2.0 / k) * psum
            level = None
        else:
            level = _groups(X, cand, cost)
            up, lo = level.upper, level.lower
        rows = cand
    return found, worst


def _groups(X: np.ndarray, rows: np.ndarray, cost: TransportCost) -> Groups:
    """Groups with their certified barycenters, computed in blocks."""
    parts = [barycenters(X[rows[s:s + 4096]], cost) for s in range(0, rows.shape[0], 4096)]
    return Groups(rows, np.concatenate([p.upper for p in parts]), np.concatenate([p.lower for p in parts]),
                  np.concatenate([p.points for p in parts]))


def _parent_index(parents: np.ndarray, cand: np.ndarray) -> np.ndarray:
    """Row index in `parents` of cand[:, :-1] (parents sorted lexicographically by construction)."""
    pk = np.ascontiguousarray(parents).view([("", parents.dtype)] * parents.shape[1]).ravel()
    ck = np.ascontiguousarray(cand[:, :-1]).view([("", cand.dtype)] * parents.shape[1]).ravel()
    srt = np.argsort(pk, kind="stable")
    return srt[np.searchsorted(pk[srt], ck)]


# ----------------------------------------------------------------------------- driver
def _drop_known(g: Groups, work: list[Groups]) -> Groups:
    """g without the groups already in the working set (row membership through a void view)."""
    k = g.rows.shape[1]
    known = [w.rows for w in work if w.rows.shape[1] == k and w.rows.shape[0]]
    if not known:
        return g
    vt = np.dtype((np.void, 8 * k))
    table = np.ascontiguousarray(np.concatenate(known), dtype=np.int64).view(vt).ravel()
    keys = np.ascontiguousarray(g.rows, dtype=np.int64).view(vt).ravel()
    new = ~np.isin(keys, table)
    return _subset(g, new)


def _as_groupset(parts: list[Groups]) -> tuple[GroupSet, np.ndarray]:
    gs = GroupSet.concat([GroupSet.from_rows(g.rows, g.upper) for g in parts])
    pts = np.concatenate([g.points for g in parts]) if parts else np.zeros((0, 0))
    return gs, pts


def _check_budget_row(cost: np.ndarray) -> None:
    """Refuse a budget row the LP solvers cannot hold (they failed with 'Empty', 'Model error',
    'unbounded' or a raw ValueError from CVXPY)."""
    fin = cost[np.isfinite(cost)]
    big = float(fin.max()) if fin.size else 0.0
    if big > MAX_BUDGET_COST:
        raise InvalidInput("tau", f"the constrained form's budget row needs a group of transport cost {big:.3g}, "
                           f"beyond the LP solvers' coefficient limit {MAX_BUDGET_COST:g} (the costs "
                           "||x - x'||^p / tau between the data points reach that size)",
                           f"a larger tau or a smaller p, so that costs between data points stay below "
                           f"{MAX_BUDGET_COST:g} (or the penalised form, which has no budget row)")


def solve_barycenter_lp(prog: BarycenterLP, backend: str = "highs", max_rounds: int = 200,
                        progress: bool = False) -> BarycenterLPResult:
    """Cutting planes to the exact value (see the module docstring); raises SolverFailed if the
    round limit is hit with violated groups left."""
    X, lab, cost = prog.X, prog.labels, prog.cost
    L = prog.group_limit
    tm: dict[str, float] = {"pairs": 0.0, "separation": 0.0, "lp": 0.0}
    t0 = time.perf_counter()
    graph_t: float | None = None
    graph: Groups | None = None
    if prog.budget is None:   # t = 1 throughout: one pair graph serves the start and the separation
        graph_t = float(L - 1)
        graph = pair_graph(X, lab, cost, graph_t)
        start = _subset(graph, graph.upper < 1.0, X)
    else:
        start = pair_graph(X, lab, cost, 1.0)
        start = _subset(start, np.isfinite(start.upper), X)
    tm["pairs"] += time.perf_counter() - t0
    work: list[Groups] = [start]
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(desc="cutting-plane rounds (LP + separation)", unit="round")   # no total: rounds end
        # when separation finds no violated group, usually long before max_rounds
    for rnd in range(1, max_rounds + 1):
        gs, pts = _as_groupset(work)
        if prog.budget is not None:
            _check_budget_row(gs.cost)
        data = LPData(prog.weights, gs, prog.budget)
        t1 = time.perf_counter()
        res = solve_lp(backend, data)
        tm["lp"] += time.perf_counter() - t1
        q = np.clip(1.0 - res.r, 0.0, 1.0)
        t = 1.0 if prog.budget is None else float(res.budget_dual or 0.0)
        t2 = time.perf_counter()
        bound = (L - 1) / t if t > 0 else math.inf
        if graph is None or graph_t is None or bound > graph_t:
            graph = pair_graph(X, lab, cost, bound)
            graph_t = bound
        found, worst = separate(X, lab, cost, q, t, L, graph)
        new = [g for g in (_drop_known(g, work) for g in found) if g.rows.shape[0]]
        tm["separation"] += time.perf_counter() - t2
        if bar is not None:
            bar.update(1)
            bar.set_postfix(groups=gs.n_groups, new=sum(g.rows.shape[0] for g in new))
        if not new:
            break
        work.extend(new)
    else:
        raise SolverFailed(f"cutting planes did not converge in {max_rounds} rounds", status="round_limit",
                           backend=backend)
    if bar is not None:
        bar.close()
    m = max(worst, 0.0)
    qf = np.maximum(q - m / 2.0, 0.0) if m > 0 else q
    upper = float(prog.weights @ (1.0 - qf) + (prog.budget * t if prog.budget is not None else 0.0))
    lower = float(res.w @ data.gains)
    tm["total"] = time.perf_counter() - t0
    sep = (f"exhaustive clique search over pairs with t B(u, v) < {L - 1} (t = {t:.6g}), groups up to size {L}, "
           "B(S) computed per candidate")
    if upper < lower - 1e-7 * (float(prog.weights.sum()) + abs(lower)):   # relative to the mass: AT <= mass
        raise SolverFailed(f"inconsistent bounds: primal {lower!r} > certified dual {upper!r}",
                           status="inconsistent", backend=backend)
    return BarycenterLPResult(lower, max(upper, lower), res.w, gs, pts, qf, t, m, rnd, res.backend, sep, tm, res)


__all__ = ["BarycenterLPResult", "Groups", "pair_graph", "separate", "solve_barycenter_lp",
           "solve_lp", "solve_lp_scipy"]
