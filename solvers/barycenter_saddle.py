"""Saddle objects of a solved BarycenterLP and their independent re-check.

Attack mu~*: mass w_S of every v in S moves to the barycenter x'_S; the rest stays at x_v.
Classifier: f*_k(x) = max(0, max_{v : y_v = k} (q_v - t c(x_v, x))), the remaining mass
1 - sum_k f*_k(x) >= 0 spread evenly over the K classes (t = 1 penalised, t = budget dual).
With L < K (the truncated lower bound AT_L) q is dual feasible only for groups of size <= L, so
where more than L classes' prices reach a point the scores can sum above 1: there the row is
divided by its sum (as the ball rule's classifier does), so every output row is a probability
vector; with an exact dual (L = K) the sum is <= 1 and nothing is rescaled.

Certificate:
- attack side (a lower bound on AT): the plan's transport cost sum_S w_S sum_v c(x_v, x'_S)
  recomputed from the points (>= OT_c(mu, mu~*)); the best response of ANY classifier to
  mu~* is, at each distinct support point, to predict its heaviest label; so
  AT >= risk(mu~*) - cost (penalised), or risk(mu~*) with cost <= delta (constrained).
- classifier side (an upper bound): sup_{mu~} E loss(f*) - t OT_c <= sum_v p_v (1 - q_v) as
  soon as sup_x sum_k f*_k(x) <= 1, i.e. max_S (sum_{v in S} q_v - t B(S)) <= 1 over all groups.
  The largest excess m = max_S (sum_S q - 1 - t B_lo(S)) (B_lo the certified lower end of B) is
  paid for, not forgiven: q' = max(q - m / 2, 0) is dual feasible for every group, and the upper
  bound is computed from q' (it rises by at most m / 2 times the mass).  So the bound is sound for
  any m; m itself is dimensionless (q, 1 and t B(S) are in units of mass fractions, and any group
  with t B(S) >= K - 1 can never be violated), and is reported as dual feasible up to `tol`: the
  rounding of B's convex program, about 1e-11 t B(S), passes; a real violation fails both checks.
  'enumeration': every group with distinct labels enumerated, B(S) (its meeting point) by the
  certified barycenter routines (exact); 'separation': the exhaustive pruned clique search of
  barycenter_lp (used when enumeration would be too large).
- an interval answer (B of some group known only within its bounds, e.g. a group of balls that
  meet in a set without interior, where no float point is found inside all of them): ok needs
  the attack's bound to reach the reported lower end and the classifier's the reported upper end.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from robustdsl import _check
from robustdsl.ir.barycenter_program import BarycenterLP, TransportCost

from .barycenter_lp import BarycenterLPResult, pair_graph, scaled, separate
from .barycenters import barycenters


@dataclass(frozen=True, eq=False)
class PriceClassifier:
    """f*_k(x) = max(0, max_{v: y_v = k} (q_v - t c(x_v, x))); rows of the output sum to 1
    (scores above 1 in total, possible only for a truncated dual, are divided by their sum)."""

    X: np.ndarray
    labels: np.ndarray
    q: np.ndarray
    t: float
    cost: TransportCost
    n_classes: int
    block: int = 512

    def scores(self, Xq: np.ndarray) -> np.ndarray:
        """(m, K) array of f*_k (unnormalised: sum <= 1 where q is dual feasible for every group)."""
        Xq = _check.points("x", Xq, self.X.shape[1])
        out = np.zeros((Xq.shape[0], self.n_classes))
        step = max(1, min(self.block, 4_000_000 // max(1, self.X.size)))   # (b, n, d) temporaries
        for s in range(0, Xq.shape[0], step):
            C = self.cost(self.X[None, :, :], Xq[s:s + step, None, :])   # (b, n)
            val = self.q[None, :] - (self.t * C if self.t > 0 else np.where(np.isfinite(C), 0.0, np.inf))
            for k in range(self.n_classes):
                cols = self.labels == k
                if cols.any():
                    out[s:s + step, k] = np.maximum(0.0, val[:, cols].max(1))
        return out

    def __call__(self, Xq: np.ndarray) -> np.ndarray:
        f = self.scores(Xq)
        f = f / np.maximum(1.0, f.sum(1, keepdims=True))
        rest = np.maximum(1.0 - f.sum(1, keepdims=True), 0.0)
        return f + rest / self.n_classes

    def predict(self, Xq: np.ndarray) -> np.ndarray:
        """The most probable class index (0..K-1) of each row."""
        return self(Xq).argmax(1)


@dataclass(frozen=True, eq=False)
class Attack:
    """mu~*: support points, label index per point, masses; `plan_cost` = sum_S w_S sum_v c(x_v, x'_S)."""

    X: np.ndarray
    labels: np.ndarray
    weights: np.ndarray
    plan_cost: float
    scale: float


def build_attack(prog: BarycenterLP, res: BarycenterLPResult, tiny: float = 1e-15) -> Attack:
    """Move w_S of each member of S to x'_S; scale w down if the LP's rounding broke a row."""
    gs, w = res.groups, np.maximum(res.w, 0.0)
    n = prog.n
    used = gs.incidence(n).T @ w
    scale = float(min(1.0, np.min(np.where(used > 0, prog.weights / np.maximum(used, 1e-300), np.inf))))
    members = gs.indices
    gid = np.repeat(np.arange(gs.n_groups), gs.sizes)
    per = gs.incidence(n)
    plan = cost_of_plan(prog, res, w * scale)
    if prog.budget is not None and plan > prog.budget:
        s2 = prog.budget / plan
        scale *= s2
        plan *= s2
    w = w * scale
    used = per.T @ w
    keep = w[gid] > tiny
    pts = np.concatenate([res.points[gid[keep]], prog.X])
    lab = np.concatenate([prog.labels[members[keep]], prog.labels])
    mass = np.concatenate([w[gid[keep]], np.maximum(prog.weights - used, 0.0)])
    ok = mass > tiny
    return Attack(pts[ok], lab[ok], mass[ok], float(plan), scale)


def cost_of_plan(prog: BarycenterLP, res: BarycenterLPResult, w: np.ndarray) -> float:
    """sum_S w_S sum_{v in S} c(x_v, x'_S), from the points (independent of B's computation)."""
    gs = res.groups
    if gs.n_groups == 0:
        return 0.0
    gid = np.repeat(np.arange(gs.n_groups), gs.sizes)
    c = prog.cost(prog.X[gs.indices], res.points[gid])
    c = np.where(w[gid] > 0, c, 0.0)
    return float(np.sum(w[gid] * c))


def best_response_risk(att: Attack, n_classes: int) -> float:
    """inf_f E_{mu~} [1 - f_y(x)]: at each distinct point, total mass minus the heaviest label's mass."""
    if att.weights.size == 0:
        return 0.0
    _, loc = np.unique(att.X, axis=0, return_inverse=True)
    loc = loc.ravel()
    M = np.zeros((loc.max() + 1, n_classes))
    np.add.at(M, (loc, att.labels), att.weights)
    return float(M.sum() - M.max(1).sum())


def n_groups_total(labels: np.ndarray, L: int) -> int:
    """Number of groups with distinct labels and 2 <= |S| <= L (no enumeration)."""
    counts = np.bincount(labels)
    # elementary symmetric polynomials of the class counts
    e = np.zeros(len(counts) + 1)
    e[0] = 1.0
    for c in counts:
        e[1:] = e[1:] + c * e[:-1]
    return int(sum(e[2:L + 1]))


def max_group_excess(prog: BarycenterLP, q: np.ndarray, t: float,
                     enumerate_limit: int = 20000) -> tuple[float, str]:
    """max over admissible groups of sum_S q - 1 - t B_lo(S) (>= the truth), and the method used."""
    L = prog.group_limit
    if n_groups_total(prog.labels, L) <= enumerate_limit:
        worst = -math.inf
        n = prog.n
        for k in range(2, L + 1):
            rows = np.fromiter(itertools.chain.from_iterable(itertools.combinations(range(n), k)),
                               dtype=np.int64).reshape(-1, k)
            lab = np.sort(prog.labels[rows], axis=1)
            rows = rows[np.all(lab[:, 1:] != lab[:, :-1], axis=1)]
            if rows.shape[0] == 0:
                continue
            B = barycenters(prog.X[rows], prog.cost).lower
            worst = max(worst, float(np.max(q[rows].sum(1) - 1.0 - scaled(t, B))))
        return worst, "enumeration of every group and its meeting point"
    bound = (L - 1) / t if t > 0 else math.inf
    _, worst = separate(prog.X, prog.labels, prog.cost, q, t, L, pair_graph(prog.X, prog.labels, prog.cost, bound))
    return worst, "exhaustive pruned clique separation over the pair graph"


def is_interval(lower: float, upper: float, mass: float, tol: float) -> bool:
    """The LP's ends differ by more than tol (mass + |lower|): some B(S) is known only within its
    bounds, and the answer is an interval, not the exact value."""
    return upper - lower > tol * (mass + abs(lower))


def certify(prog: BarycenterLP, res: BarycenterLPResult, tol: float = 1e-8) -> dict:
    """Both sides recomputed; returns lower, upper, gap and the checks (see module docstring).

    `tol` is relative to the total mass m = sum_v p_v (0 <= AT <= m and AT scales with m): ok needs
    gap <= tol m and the reported value res.lower <= upper + tol m.  (An absolute tolerance passed
    any answer once m < tol: at m = 4e-10 an LP value 1e-10 whose w broke the rows p_v within
    the solver's feasibility tolerance was certified against the true 6.67e-11.)
    """
    att = build_attack(prog, res)
    risk = best_response_risk(att, prog.n_classes)
    lower = risk if prog.budget is not None else risk - att.plan_cost
    excess, method = max_group_excess(prog, res.q, res.t)
    clf = PriceClassifier(prog.X, prog.labels, res.q, res.t, prog.cost, prog.n_classes)
    active = res.points[res.w > 0] if res.points.size else res.points
    at_points = float(clf.scores(active).sum(1).max()) if active.size else 0.0   # at the attack's atoms
    m_ex = max(float(excess), 0.0)
    q_ok = np.maximum(res.q - m_ex / 2.0, 0.0) if m_ex > 0 else res.q      # dual feasible for every group
    upper = float(prog.weights @ (1.0 - q_ok) + (prog.budget * res.t if prog.budget is not None else 0.0))
    feasible = excess <= tol
    gap = upper - lower
    mass = float(prog.weights.sum())
    checks = {"attack_plan_cost": att.plan_cost, "attack_scale": att.scale, "attack_risk": risk,
              "budget_respected": prog.budget is None or att.plan_cost <= prog.budget * (1 + 1e-12),
              "classifier_max_excess": excess, "classifier_side": method,
              "prices_lowered_by": m_ex / 2.0,
              "classifier_mass_at_attack_barycenters": at_points, "dual_feasible": bool(feasible),
              "mass": mass, "reported_value_below_upper": bool(res.lower <= upper + tol * mass)}
    checks["interval"] = is_interval(res.lower, res.upper, mass, tol)
    if checks["interval"]:   # B known only within bounds somewhere: both reported ends re-proved
        tight = lower >= res.lower - tol * mass and upper <= res.upper + tol * mass
    else:
        tight = gap <= tol * mass and checks["reported_value_below_upper"]
    ok = bool(feasible and checks["budget_respected"] and tight and lower <= upper + 1e-12 * mass)
    return {"ok": ok, "lower": float(lower), "upper": upper, "gap": float(gap), "checks": checks}
