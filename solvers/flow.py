"""AT_2 (and AT itself when K = 2) by max-flow on the bipartite double cover.

The pair LP  max sum_e w_e  s.t.  sum_{e contains v} w_e <= p_v  is a fractional matching; its
dual r_u + r_v >= 1 is a fractional vertex cover, half-integral, equal to half the minimum weight
vertex cover of the double cover (v_L, v_R; edges u_L v_R and v_L u_R), i.e. half a max-flow
s -> v_L (cap p_v) -> u_R (cap inf) -> t (cap p_u). From a minimum cut (S, T):
r_v = (1[v_L in T] + 1[v_R in S]) / 2, and w_uv = (f(u_L, v_R) + f(v_L, u_R)) / 2.
Integer max-flow (scipy, solvers.pair_flow) when p / min p is integral, else networkx preflow-push
on float capacities; the certificate re-checks the result.
"""
from __future__ import annotations

import time

import networkx as nx
import numpy as np
from networkx.algorithms.flow import preflow_push

from robustdsl.errors import UnsupportedProblem
from robustdsl.ir import GroupLP, GroupSet

from ._unique import unique
from .cutting_plane import GroupSolve, _Clock, conflict_graph
from .pair_flow import pair_flow


def check_domain(program: GroupLP, route: str, need_two_classes: bool) -> None:
    """Refuse a route outside its domain (K = 2, or L = 2 for the flow route)."""
    k_present = int(np.unique(program.labels).size)
    ok = k_present <= 2 or (not need_two_classes and program.group_limit <= 2)
    if not ok:
        need = "K = 2 classes" if need_two_classes else "K = 2 classes or max_group_size=2"
        raise UnsupportedProblem(f"the {route!r} route solves the pair LP only: it needs {need} "
                                 f"(this problem has {k_present} classes, groups up to "
                                 f"{program.group_limit}); use backend 'highs', 'cvxpy' or 'pyomo'")


def solve(program: GroupLP) -> GroupSolve:
    """The pair LP (exact AT when K = 2, AT_2 otherwise) by max-flow / min-cut."""
    check_domain(program, "flow", need_two_classes=False)
    clock = _Clock()
    t0 = time.perf_counter()
    g = conflict_graph(program)
    t0 = clock.add("distances", t0)
    n, p = program.n, program.weights
    fast = pair_flow(n, g.I, g.J, p)              # integer max-flow (scipy) when p / min p is integral
    if fast is not None:
        return _result(program, g, fast.value, fast.q, fast.w, clock, t0)
    s, t = 2 * n, 2 * n + 1
    G = nx.DiGraph()
    active = unique(np.concatenate([g.I, g.J]))
    G.add_edges_from((s, int(v), {"capacity": float(p[v])}) for v in active)
    G.add_edges_from((int(n + v), t, {"capacity": float(p[v])}) for v in active)
    G.add_edges_from((int(u), int(n + v)) for u, v in zip(g.I, g.J))
    G.add_edges_from((int(v), int(n + u)) for u, v in zip(g.I, g.J))
    R = preflow_push(G, s, t) if active.size else None
    q = np.ones(n)
    w = np.zeros(g.I.size)
    value = 0.0
    if R is not None:
        reach = _residual_reach(R, s)
        inS = np.zeros(2 * n, bool)
        inS[[v for v in reach if v < 2 * n]] = True
        r = 0.5 * ((~inS[:n]).astype(float) + inS[n:].astype(float))
        r[np.setdiff1d(np.arange(n), active)] = 0.0
        q = 1.0 - r
        f_uv = np.array([R[int(u)][int(n + v)]["flow"] for u, v in zip(g.I, g.J)], float)
        f_vu = np.array([R[int(v)][int(n + u)]["flow"] for u, v in zip(g.I, g.J)], float)
        w = np.maximum(0.5 * (f_uv + f_vu), 0.0)
        value = 0.5 * float(R.graph["flow_value"])
    return _result(program, g, value, q, w, clock, t0)


def _result(program: GroupLP, g, value: float, q: np.ndarray, w: np.ndarray, clock: _Clock,
            t0: float) -> GroupSolve:
    clock.add("flow", t0)
    groups = GroupSet.from_rows(g.pairs())
    status = "optimal" if program.exact else "lower_bound"
    info = {"groups_by_size": groups.counts_by_size(), "pairs": int(g.I.size), "components": None,
            "separation_rounds": 0, "max_group_size": 2, "route": "max-flow double cover"}
    return GroupSolve(value=value, lower=value, upper=value, status=status, groups=groups, w=w, q=q,
                      graph=g, max_size=2, backend="flow", info=info, timings=dict(clock.t))


def _residual_reach(R: nx.DiGraph, s: int) -> set:
    """Vertices reachable from s along arcs with residual capacity (the source side of a min cut)."""
    seen, stack = {s}, [s]
    while stack:
        u = stack.pop()
        for v, attr in R[u].items():
            if v not in seen and attr["capacity"] - attr["flow"] > 0:
                seen.add(v)
                stack.append(v)
    return seen
