"""The group LP keeps the integral part of the pair LP's optimum (persistence, as Nemhauser-Trotter).

q0: an optimal, half-integral solution of the pair LP of a component (the max-flow), V1 = {q0 = 1},
V0 = {q0 = 0}, H = {q0 = 1/2}. For any optimum q* of (D), q' = (1 on V1, 0 on V0, q* on H) is
feasible (a V1 sample has only V0 neighbours, and q' <= q* elsewhere) and no worse: q0 moved a small
step towards q* on V0 u V1 stays feasible for the pair LP, so sum_V0 p q* <= sum_V1 p (1 - q*).
So (D) reduces to the groups inside H (a group meeting V0 is implied by its part in H), and (P) is
solved by w0 on its V1-V0 pairs (they fill every V0 sample exactly, by complementary slackness)
plus an optimum on H:  AT = p(V0) + AT(H), each connected component of the conflict graph on H
on its own (`lp_route="split"`, the default). Measured on the largest l2 eps-3 component of all
of MNIST (33,880 samples, 13,610 in H, largest H part 12,666): LP 164 -> 112 s and 186 -> 165 s
on the saved component, 177 -> 155 s and (with the cost perturbation of lp_highs) 151 -> 141 s in
the benchmark curve; no change at n = 20,000 / 40,000 (benchmarks/SCALE.md).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robustdsl.ir import GroupSet

from .cliques import ConflictGraph
from .pair_flow import PairFlow

HALF_TOL = 1e-9


@dataclass(frozen=True, eq=False)
class HalfSplit:
    """The pair optimum split: `half` mask of H, the fixed V1-V0 pairs (local rows, masses w0),
    their value p(V0), and the H components (local ids, largest first)."""

    half: np.ndarray
    fixed_rows: np.ndarray
    fixed_w: np.ndarray
    fixed_value: float
    parts: list[np.ndarray]


def split_half(sub: ConflictGraph, q0: np.ndarray, w0: np.ndarray, p: np.ndarray,
               components) -> HalfSplit | None:
    """The split of a component (local graph `sub`, pair optimum q0 / w0 on its edges), or None
    when it reduces nothing (every sample in H, or none). `components(graph)` lists the connected
    components of a graph (vertex sets, largest first)."""
    half = np.abs(q0 - 0.5) <= HALF_TOL
    nh = int(half.sum())
    if nh == 0 or nh == q0.size:
        return None
    keep = (w0 > 0) & ~half[sub.I] & ~half[sub.J]
    rows = np.stack([sub.I[keep], sub.J[keep]], 1)
    idx = np.flatnonzero(half)
    hsub, _ = sub.induced(idx)
    parts = [idx[c] for c in components(hsub)]
    return HalfSplit(half, rows, w0[keep], float(p[q0 <= HALF_TOL].sum()), parts)


def merge(split: HalfSplit, q0: np.ndarray, vs: np.ndarray, results: list[dict]) -> dict:
    """The component's result from the fixed pairs and the H components' results (`results[i]`
    for `split.parts[i]`, groups already in the program's sample ids): q = q0 off H, 1 on an H
    sample with no H neighbour (all its neighbours have q = 0), the parts' q on them."""
    q = np.where(split.half, 1.0, q0)
    for part, res in zip(split.parts, results):
        q[part] = res["q"]
    groups = GroupSet.concat([GroupSet.from_rows(vs[split.fixed_rows])] + [r["groups"] for r in results])
    w = np.concatenate([split.fixed_w] + [np.asarray(r["w"], float) for r in results])
    return {"value": split.fixed_value + sum(r["value"] for r in results), "q": q,
            "groups": groups, "w": w, "rounds": sum(r["rounds"] for r in results),
            "timed_out": any(r["timed_out"] for r in results),
            "interrupted": any(r.get("interrupted", False) for r in results), "flow": 0}


def part_problems(sub: ConflictGraph, pf, split: HalfSplit, groups: dict[int, np.ndarray]):
    """Per H part (in order): its graph (part ids), its pair optimum (q = 1/2, w0 on its edges: the
    flow fills every H sample with H-H pairs only, so this is optimal for the part), and the
    violated groups `groups` ({size: rows of component ids}) cut to their H members (a group meeting
    V0 is violated through those; with >= 3 members they lie in one part), in part ids."""
    edges = sub.split(split.parts)
    where, local = edges.where, edges.local                    # part of each sample, its id there
    cut: list[dict[int, list[np.ndarray]]] = [{} for _ in split.parts]
    for rows in groups.values():
        inside = where[rows] >= 0
        count = inside.sum(1)
        for c in np.unique(count[count >= 3]):
            R = rows[count == c]
            keep = np.take_along_axis(R, np.argsort(~inside[count == c], axis=1, kind="stable"), 1)[:, :c]
            owner = where[keep[:, 0]]
            for i in np.unique(owner):
                cut[i].setdefault(int(c), []).append(local[keep[owner == i]])
    out = []
    for i, part in enumerate(split.parts):
        psub, mine = edges.sub(i)                              # the part's graph and its edge ids
        ppf = PairFlow(value=float(pf.w[mine].sum()), q=np.full(part.size, 0.5), w=pf.w[mine])
        rows = {k: np.unique(np.sort(np.concatenate(v), 1), axis=0) for k, v in cut[i].items()}
        out.append((psub, ppf, rows))
    return out
