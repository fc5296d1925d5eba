"""Independent re-check of a group-LP answer for a ball cost (the duality certificate).

(a) the attack: every atom comes from one sample, keeps its label, lies within eps of it, and the
    atoms of sample v carry exactly p_v; its best-response risk L (merge identical support points,
    at each keep the heaviest class) is a lower bound on AT;
(b) the classifier f*: f_k(x) = max q_v over class-k samples whose ball holds x, divided by
    max(1, sum_k f_k(x)); the adversary's best point for v lies in the common part of B_eps(x_v) and
    balls of other classes, i.e. it picks an admissible group S containing v, so its worst-case
    risk is at most U = sum_v p_v (1 - q_v / M_v), M_v = max(1, max_{S admissible, v in S} sum_S q),
    an upper bound on AT (computed exactly over the groups of size <= L);
(c) gap U - L <= tol (1e-9 of the total mass, AT scaling linearly with it); for an interval
    answer [lower, upper] instead L >= lower and U <= upper.

The conflict graph, restricted to samples with q_v > 0, is either recomputed here from the
coordinates (float32 Gram distances with an exact float64 recheck near the threshold; l_inf:
the exact cut pruning of solvers.linf_pairs), or, given
the candidate pairs of the exact pair enumeration, re-measured pair by pair in float64
(`conflict_graph_from_pairs`): the optimisation's output is re-checked either way.
"""
from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from robustdsl.solution import Certificate

from ._unique import unique
from .ball_groups import RTOL
from .cliques import ConflictGraph
from .interval_bounds import bound_from_class_max, class_max_by_pass, neighbour_bound
from .pairs import exact_dist, margin_factor, screen_center
from .separation import edge_lengths, violated_groups

GAP_TOL = 1e-9
DIST_RTOL = RTOL     # a point at distance <= eps (1 + DIST_RTOL) is inside the ball (the solver's tolerance)
_BLOCK = 1024


def within(A: np.ndarray, B: np.ndarray, r: float, norm: float,
           with_dist: bool = False):
    """(len(A), len(B)) mask dist(a, b) <= r (1 + DIST_RTOL): Gram distances, exact recheck near r.

    with_dist=True also returns the (approximate, for l2 squared) distances.
    """
    r_hi = r * (1 + DIST_RTOL) + 1e-300
    if norm == 2:
        c = screen_center(B) if B.shape[0] else 0.0   # from B's mean: a thin band far from 0
        Ac, Bc = A - c, B - c
        a2, b2 = (Ac * Ac).sum(1)[:, None], (Bc * Bc).sum(1)[None, :]
        A32, B32 = Ac.astype(np.float32), Bc.astype(np.float32)
        del Ac, Bc
        dist = A32 @ B32.T                            # float32 screening, float64 recheck in the band
        dist *= np.float32(-2.0)
        dist += a2.astype(np.float32)
        dist += b2.astype(np.float32)
        scale = (a2 + b2 + r * r).astype(np.float32)
        scale *= np.float32(max(1e-4, margin_factor(2.0, A.shape[1])))  # rigorous float32 bound
        out = dist <= np.float32(r_hi * r_hi)
        band = np.abs(dist - np.float32(r_hi * r_hi)) <= scale
        ii, jj = np.nonzero(band)
        step = max(1, (1 << 18) // max(1, A.shape[1]))    # about 2 MiB of differences at a time
        for s in range(0, ii.size, step):
            i, j = ii[s:s + step], jj[s:s + step]
            out[i, j] = exact_dist(A[i], B[j], 2.0) <= r_hi
        return (out, dist) if with_dist else out
    dist = np.empty((A.shape[0], B.shape[0]))
    step = max(1, 2_000_000 // max(1, B.shape[0] * A.shape[1]))
    for s in range(0, A.shape[0], step):
        diff = np.abs(A[s:s + step, None, :] - B[None, :, :])
        dist[s:s + step] = diff.max(-1) if math.isinf(norm) else diff.sum(-1)
    out = dist <= r_hi
    return (out, dist) if with_dist else out


def conflict_graph_of(X: np.ndarray, labels: np.ndarray, eps: float, norm: float,
                      keep: np.ndarray) -> ConflictGraph:
    """Conflict graph (dist <= 2 eps, different labels) among the samples `keep`, ids of the full set."""
    Xk, lk = X[keep], labels[keep]
    if math.isinf(norm):                 # exact l_inf pairs by 0/1 pruning, not a dense n x n table
        from .pairs import conflict_pairs
        I, J, _ = conflict_pairs(Xk, lk, 2.0 * eps * (1 + DIST_RTOL) + 1e-300, norm, max_pairs=None)
        return ConflictGraph(X.shape[0], keep[I].astype(np.int64), keep[J].astype(np.int64), labels, None)
    Is, Js = [], []
    for s in range(0, keep.size, _BLOCK):
        for t in range(s, keep.size, _BLOCK):
            m = within(Xk[s:s + _BLOCK], Xk[t:t + _BLOCK], 2.0 * eps, norm)
            ii, jj = np.nonzero(m)
            ii, jj = ii + s, jj + t
            ok = (ii < jj) & (lk[ii] != lk[jj])
            Is.append(keep[ii[ok]])
            Js.append(keep[jj[ok]])
    I = np.concatenate(Is) if Is else np.zeros(0, np.int64)
    J = np.concatenate(Js) if Js else np.zeros(0, np.int64)
    lo, hi = np.minimum(I, J), np.maximum(I, J)
    D = np.sqrt(((X[lo] - X[hi]) ** 2).sum(1)) if norm == 2 else None
    return ConflictGraph(X.shape[0], lo.astype(np.int64), hi.astype(np.int64), labels, D)


def conflict_graph_from_pairs(X: np.ndarray, labels: np.ndarray, eps: float, norm: float,
                              keep: np.ndarray, I: np.ndarray, J: np.ndarray,
                              either: bool = False) -> ConflictGraph:
    """Conflict graph among `keep` from candidate pairs (I, J): cross-class, both ends kept (one
    end with either=True), and
    dist <= 2 eps (1 + DIST_RTOL) by a float64 distance recomputed here from the coordinates.

    The candidate list is the solver's exact pair enumeration (solvers.pairs, checked against
    brute force in its own tests); sharing it keeps the certificate linear in the pairs instead of
    quadratic in n, while everything the optimisation produced (q, the attack, the classifier,
    the groups) is still checked from scratch: each pair is re-measured, the groups are
    re-enumerated, and the bounds are recomputed."""
    mask = np.zeros(X.shape[0], bool)
    mask[keep] = True
    I, J = np.asarray(I, np.int64), np.asarray(J, np.int64)
    ok = ((mask[I] | mask[J]) if either else (mask[I] & mask[J])) & (labels[I] != labels[J])
    lo, hi = np.minimum(I[ok], J[ok]), np.maximum(I[ok], J[ok])
    D = edge_lengths(X, lo, hi, norm)
    inside = D <= 2.0 * eps * (1 + DIST_RTOL) + 1e-300
    return ConflictGraph(X.shape[0], lo[inside], hi[inside], labels,
                         D[inside] if norm == 2 else None)


def same_point_ids(P: np.ndarray) -> np.ndarray:
    """Ids 0..c-1 with equal ids only for identical rows: rows sorted by a deterministic random
    projection, a new id wherever a row differs from the previous one. (Distinct rows sharing a
    projection are never merged; identical rows separated by such a tie would get two ids, which
    can only lower the best-response risk, so the lower bound stays valid.)"""
    P = np.asarray(P, dtype=np.float64)
    if P.shape[0] == 0:
        return np.zeros(0, np.int64)
    r = np.random.default_rng(12345).standard_normal(P.shape[1])
    h = np.empty(P.shape[0])
    for s in range(0, P.shape[0], _BLOCK):          # row by row the same sum: equal rows, equal h
        h[s:s + _BLOCK] = (P[s:s + _BLOCK] * r).sum(1)
    order = np.argsort(h, kind="stable")
    hs = h[order]
    new = np.ones(P.shape[0], bool)
    new[1:] = hs[1:] != hs[:-1]
    tie = np.flatnonzero(~new[1:]) + 1              # only rows whose projections tie are compared
    new[tie] = np.any(P[order[tie]] != P[order[tie - 1]], axis=1)
    ids = np.empty(P.shape[0], np.int64)
    ids[order] = np.cumsum(new) - 1
    return ids


def best_response_risk(points: np.ndarray, labels: np.ndarray, masses: np.ndarray,
                       loc: np.ndarray | None = None) -> float:
    """Risk of the Bayes classifier of a discrete measure: total - sum_x max_k mass(x, k).
    loc: same_point_ids(points) if already known."""
    if masses.size == 0:
        return 0.0
    loc = same_point_ids(points) if loc is None else loc
    _, lab = np.unique(labels, return_inverse=True)
    cell = loc * (lab.max() + 1) + lab
    tot = np.bincount(cell, weights=masses)
    per_point = np.zeros(loc.max() + 1)
    np.maximum.at(per_point, np.arange(tot.size) // (lab.max() + 1), tot)
    return float(masses.sum() - per_point.sum())


def sparse_classifier_risk(X: np.ndarray, labels: np.ndarray, q: np.ndarray, eps: float, norm: float,
                           attack, g: ConflictGraph, loc: np.ndarray | None = None) -> float:
    """Risk on the attack of f* from q (MATH.md section 2), evaluated from the conflict graph g
    (cross-class pairs within 2 eps, re-measured in float64) instead of an atoms x samples pass.

    At an atom location z with sources T (samples whose atoms sit at z, each within eps of z), a
    sample u with dist(x_u, z) <= eps is within 2 eps of every t in T (triangle inequality), so u is
    a neighbour in g of every t of another class: the candidates {T} + N(T) hold every ball through z
    except those of samples sharing the label of all of T. Only locations with one source label
    (the unmoved remainders, z = x_v) need that same-class search, and only while their value is
    below 1; it is one `within` pass per class over those locations. Only candidates with q > 0
    matter (f_k = max(0, ...)). f_k(z) is the max q over the class-k candidates within eps (float64
    distances), normalised by max(1, sum_k f_k); the rest goes to the class of the nearest among the
    sources and the candidates with q > 0 (MATH.md: the rest may go to any class; every allocation
    keeps L <= risk <= U). g needs every pair with one end of q > 0 (conflict_graph_from_pairs,
    either=True). Balls through z at a
    distance in (2 eps, 2 eps (1 + DIST_RTOL)] from a source would be missed: a measure-zero tie.
    The graph is the exact pair enumeration re-measured here, so nothing comes from the LP solve.
    loc: same_point_ids(attack.points) if already known.
    """
    n, K = X.shape[0], int(labels.max()) + 1 if labels.size else 1
    src, pts = np.asarray(attack.source), np.asarray(attack.points, dtype=np.float64)
    loc = same_point_ids(pts) if loc is None else loc
    nloc = int(loc.max()) + 1 if loc.size else 0
    first = np.zeros(nloc, np.int64)
    first[loc[::-1]] = np.arange(loc.size)[::-1]          # a representative atom per location
    A = sp.csr_matrix((np.ones(2 * g.I.size, np.int8), (np.concatenate([g.I, g.J]),
                                                        np.concatenate([g.J, g.I]))), shape=(n, n))
    deg = np.diff(A.indptr)[src]
    rep = np.repeat(np.arange(src.size), deg)
    offs = np.arange(rep.size) - np.repeat(np.cumsum(deg) - deg, deg)
    nb = A.indices[A.indptr[src][rep] + offs].astype(np.int64)
    live = q[nb] > 0                                      # q = 0 adds nothing to any f_k
    nb, rep = nb[live], rep[live]
    cl = np.concatenate([loc, loc[rep]])                  # (location, candidate) pairs
    cu = np.concatenate([src, nb])
    code = unique(cl * n + cu)
    cl, cu = code // n, code % n
    # an unmoved location (z = x_t exactly) reuses the float64 edge lengths of g: dist(z, x_u) = g.dist
    t = src[first]
    at_sample = np.empty(nloc, bool)
    for s in range(0, nloc, _BLOCK):                    # blocks: no (locations, d) temporaries
        at_sample[s:s + _BLOCK] = np.all(pts[first[s:s + _BLOCK]] == X[t[s:s + _BLOCK]], axis=1)
    d = np.full(cl.size, np.nan)
    d[at_sample[cl] & (cu == t[cl])] = 0.0
    if g.dist is not None:
        known = np.flatnonzero(at_sample[cl] & (cu != t[cl]))
        pos = g.edge_pos(t[cl[known]], cu[known])
        d[known[pos >= 0]] = g.dist[pos[pos >= 0]]
    todo = np.flatnonzero(np.isnan(d))
    for s in range(0, todo.size, 256):                  # small chunks: cache-resident temporaries
        k = todo[s:s + 256]
        d[k] = exact_dist(pts[first[cl[k]]], X[cu[k]], norm)
    r_hi = eps * (1 + DIST_RTOL) + 1e-300
    inside = d <= r_hi
    F = np.zeros((nloc, K))
    np.maximum.at(F, (cl[inside], labels[cu[inside]]), q[cu[inside]])
    near = np.full(nloc, -1, np.int64)    # nearest candidate: smallest d per location (cl sorted),
    starts = np.flatnonzero(np.concatenate([[True], cl[1:] != cl[:-1]]))   # the first of ties
    seg = np.repeat(np.arange(starts.size), np.diff(np.append(starts, cl.size)))
    hit = np.flatnonzero(d == np.minimum.reduceat(d, starts)[seg])
    hit = hit[np.concatenate([[True], seg[hit][1:] != seg[hit][:-1]])]
    near[cl[hit]] = cu[hit]
    lab_src = labels[src]
    lo = np.full(nloc, K)
    hi = np.full(nloc, -1)
    np.minimum.at(lo, loc, lab_src)
    np.maximum.at(hi, loc, lab_src)
    one_label = lo == hi
    for k in np.unique(lo[one_label]):
        todo = np.flatnonzero(one_label & (lo == k) & (F[:, k] < 1.0))
        cand = np.flatnonzero((labels == k) & (q > 0))
        if todo.size == 0 or cand.size == 0:
            continue
        for s in range(0, todo.size, _BLOCK):
            t = todo[s:s + _BLOCK]
            for c in range(0, cand.size, 4 * _BLOCK):
                cc = cand[c:c + 4 * _BLOCK]
                ii, jj = np.nonzero(within(pts[first[t]], X[cc], eps, norm))
                np.maximum.at(F, (t[ii], k), q[cc[jj]])
    F /= np.maximum(1.0, F.sum(1, keepdims=True))
    F[np.arange(nloc), labels[near]] += 1.0 - F.sum(1)
    right = F[loc, np.asarray(attack.label_index)]
    return float(np.dot(attack.masses, 1.0 - right))


def _sparse_pays(I: np.ndarray, J: np.ndarray, q: np.ndarray, attack, n: int) -> bool:
    """Sparse classifier evaluation when its gathered distances (atoms x live candidate pairs, plus
    the pairs re-measured for it) are far fewer than the dense GEMM's atoms x samples entries (a
    GEMM entry is ~200x cheaper than a gathered float64 distance, measured on MNIST)."""
    I, J = np.asarray(I, np.int64), np.asarray(J, np.int64)
    live = np.zeros(n)
    np.add.at(live, I, q[J] > 0)
    np.add.at(live, J, q[I] > 0)
    work = float(live[np.asarray(attack.source)].sum()) + float(np.count_nonzero((q[I] > 0) ^ (q[J] > 0)))
    return 200.0 * work < float(attack.masses.size) * n


def _evaluate(classifier, Z: np.ndarray, progress: bool, block: int = 8192) -> np.ndarray:
    """classifier(Z) by row blocks, with a tqdm bar when progress."""
    from tqdm.auto import tqdm

    if not progress:
        return classifier(Z)
    parts = [classifier(Z[s:s + block]) for s in tqdm(range(0, Z.shape[0], block), unit="block",
                                                      desc="certificate: classifier on the attack")]
    return np.concatenate(parts)


def upper_by_pass(X: np.ndarray, labels: np.ndarray, weights: np.ndarray, eps: float, norm: float,
                  max_size: int, q: np.ndarray, progress: bool = False) -> float:
    """U = sum_v p_v (1 - q_v / M_v) >= AT with the neighbour bound M_v of solvers.interval_bounds,
    its b_vk recomputed by one blocked distance pass (no pair list needed: memory O(n K)); when
    L max(q) <= 1 no group sum can exceed 1, M = 1 and no pass is needed."""
    K = int(labels.max()) + 1 if labels.size else 1
    if q.size == 0 or min(max_size, K) * float(q.max()) <= 1.0:
        return float(np.dot(weights, 1.0 - q))
    best = class_max_by_pass(X, labels, q, 2.0 * eps, norm, K, progress=progress)
    return bound_from_class_max(best, weights, q, max_size)


def certify(X: np.ndarray, labels: np.ndarray, weights: np.ndarray, eps: float, norm: float,
            max_size: int, q: np.ndarray, value: float, attack, classifier=None,
            tol: float | None = None, pairs: tuple[np.ndarray, np.ndarray] | None = None,
            claimed: tuple[float, float] | None = None, by_pass: bool = False,
            progress: bool = False) -> Certificate:
    """Check (a), (b), (c) of the module docstring; `attack` has points/labels/masses/source.

    pairs: candidate conflict pairs (I, J) from the exact pair enumeration (see
    `conflict_graph_from_pairs`); None re-screens all pairs among the samples with q > 0.
    claimed: the (lower, upper) of an interval answer: (c) is replaced by lower(attack) >= lower
    and U <= upper (both ends re-checked, the gap is reported, not bounded). by_pass: the upper
    end by `upper_by_pass` (for answers whose pair list is incomplete: a memory budget or a cut
    distance pass) instead of the groups of the pair list. progress: tqdm bars over the blocks of the
    distance pass and of the dense classifier evaluation."""
    checks: dict = {}
    n = X.shape[0]
    if tol is None:
        tol = GAP_TOL * float(np.sum(weights))
    src = np.asarray(attack.source)
    moved = np.zeros(n)
    np.add.at(moved, src, attack.masses)
    checks["attack_masses_nonnegative"] = bool(np.all(attack.masses >= 0))
    checks["attack_marginal_error"] = float(np.max(np.abs(moved - weights) / weights)) if n else 0.0
    checks["attack_labels_preserved"] = bool(np.array_equal(attack.label_index, labels[src]))
    disp = np.empty(src.size)
    for s in range(0, src.size, _BLOCK):               # blocks: no (atoms, d) temporaries
        disp[s:s + _BLOCK] = exact_dist(attack.points[s:s + _BLOCK], X[src[s:s + _BLOCK]], norm)
    checks["attack_max_displacement"] = float(disp.max(initial=0.0))
    attack_ok = (checks["attack_masses_nonnegative"] and checks["attack_labels_preserved"]
                 and checks["attack_marginal_error"] <= 1e-9
                 and checks["attack_max_displacement"] <= eps * (1 + DIST_RTOL) + 1e-300)
    loc = same_point_ids(attack.points)          # atom locations, shared by (a) and the classifier
    lower = best_response_risk(attack.points, attack.label_index, attack.masses, loc)
    sparse = (not by_pass and classifier is not None and attack.masses.size > 0 and pairs is not None
              and _sparse_pays(*pairs, q, attack, n))
    checks["q_in_unit_interval"] = bool(np.all((q >= 0) & (q <= 1)))
    if by_pass:
        upper = upper_by_pass(X, labels, weights, eps, norm, max_size, q, progress=progress)
        checks["upper_from"] = "neighbour bound, one blocked distance pass"
    else:
        keep = np.flatnonzero(q > 0)
        g = (conflict_graph_of(X, labels, eps, norm, keep) if pairs is None
             else conflict_graph_from_pairs(X, labels, eps, norm, keep, *pairs, either=sparse))
        if claimed is not None:   # an interval's upper end: the neighbour bound, one pass over g
            upper = neighbour_bound(g, weights, q, max_size)
            checks["upper_from"] = "neighbour bound over the re-measured conflict pairs"
        if claimed is None or upper > claimed[1] + tol:     # exact M_v by enumerating the groups
            viol = violated_groups(g, X, q, eps, norm, max_size, tol=0.0, min_size=2)
            M = viol.max_sum_per_vertex(n)
            upper = float(np.dot(weights, 1.0 - q / M))
            checks["upper_from"] = "every admissible group through a sample with q > 0"
            checks["violated_groups"] = viol.count
            checks["max_group_sum"] = float(M.max(initial=1.0))
    checks["value"] = float(value)
    if sparse:
        risk = sparse_classifier_risk(X, labels, q, eps, norm, attack, g, loc)   # f* from q, no m x n pass
        checks["classifier_risk_on_attack"] = risk
        checks["classifier_evaluation"] = "sparse"
        cls_ok = lower - tol <= risk <= upper + tol
    elif classifier is not None and attack.masses.size:
        P = _evaluate(classifier.on_support() if hasattr(classifier, "on_support") else classifier,
                      attack.points, progress)
        right = P[np.arange(P.shape[0]), attack.label_index]
        risk = float(np.dot(attack.masses, 1.0 - right))
        checks["classifier_risk_on_attack"] = risk
        checks["classifier_evaluation"] = "dense"
        checks["classifier_sums_to_one"] = bool(np.allclose(P.sum(1), 1.0, atol=1e-12))
        cls_ok = checks["classifier_sums_to_one"] and lower - tol <= risk <= upper + tol
    else:
        cls_ok = True
    # a truncation (L below the number of labels present) certifies AT_L = upper; the attack's
    # best-response risk is then only a lower bound (>= AT_L: coinciding barycenters merge)
    truncated = max_size < np.unique(labels).size
    checks["truncated"] = bool(truncated)
    base = attack_ok and cls_ok and checks["q_in_unit_interval"]
    if claimed is not None:          # an interval: both ends re-checked
        gap = upper - lower
        ok = bool(base and lower >= claimed[0] - tol and upper <= claimed[1] + tol and gap >= -tol)
        msg = "" if ok else (f"interval not certified: attack lower {lower!r} (claimed {claimed[0]!r}), "
                             f"classifier upper {upper!r} (claimed {claimed[1]!r}), "
                             f"attack ok {attack_ok}, classifier ok {cls_ok}")
        return Certificate(ok=ok, lower=lower, upper=upper, gap=gap, checks=checks, message=msg)
    gap = abs(upper - value) if truncated else upper - lower
    ok = bool(base and gap <= tol
              and (lower >= value - tol if truncated else abs(value - lower) <= tol)
              and abs(upper - value) <= tol)
    msg = "" if ok else (f"certificate failed: lower {lower!r}, upper {upper!r}, value {value!r}, "
                         f"attack ok {attack_ok}, classifier ok {cls_ok}")
    return Certificate(ok=ok, lower=lower, upper=upper, gap=gap, checks=checks, message=msg)
