"""Entropic multimarginal route (Garcia Trillos, Jacobs, Kim) for the penalised BarycenterLP.

The group LP is a multimarginal OT problem over K marginals, marginal k being the class-k points
plus an "absent" atom 0 whose mass is free: a tuple (i_1, ..., i_K) is the group S of its present
members, with gain g_S = |S| - 1 - B(S).  With regularisation eta > 0,

    max_pi <g, pi> + eta H(pi)   s.t.   sum_{tuples with i_k = v} pi = p_v  (v a point of class k)

(entropy relative to the geometric mean of the members' masses) is solved by log-domain Sinkhorn
(block updates of the potentials phi_k, phi_k[absent] = 0; eta-scaling from 1 down to eta with warm
starts) until the l1 marginal error is <= tol.  The output is turned into a CERTIFIED interval:

- lower (the value reported): the plan rounded to a feasible primal, w_S = pi_S min_{v in S}
  min(1, p_v / marg_v), keeping gains > 0 computed with the attained B_hi -> a real attack;
- upper: q = clip(1 - phi, 0, 1) shifted to q' = max(q - m/2, 0), m = max_S (sum_S q - 1 - B_lo(S))^+
  over every group (exact: the tensor holds them all) -> dual feasible, sum_v p_v (1 - q'_v) >= AT.

The tensor has prod_k (n_k + 1) entries: a ResourceLimit is raised above `max_entries`.
"""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

import numpy as np
from scipy.special import logsumexp

from robustdsl.errors import InvalidInput, ResourceLimit, UnsupportedProblem
from robustdsl.ir.barycenter_program import BarycenterLP

from .barycenters import barycenters


@dataclass(frozen=True, eq=False)
class SinkhornResult:
    """lower <= AT <= upper (lower_from / upper_from say how); q the shifted feasible dual."""

    lower: float
    upper: float
    entropic_value: float
    q: np.ndarray
    eta: float
    tol: float
    iterations: int
    marginal_error: float
    converged: bool
    lower_from: str = "plan rounded to a feasible primal (an attack): a lower bound on AT"
    upper_from: str = "potentials shifted to a feasible dual q': an upper bound on AT"
    timings: dict = field(default_factory=dict)
    kind: str = "sinkhorn"


def gain_tensors(prog: BarycenterLP, max_entries: int = 20_000_000) -> tuple[np.ndarray, np.ndarray, list]:
    """(G_hi, G_lo_cost, members): gains with B_hi and B_lo over the (n_1+1) x ... x (n_K+1) tensor.

    G_hi = |S| - 1 - B_hi(S) (-inf for B = inf, and for the empty tuple); B_lo as a tensor too.
    members[k] = the sample indices of class k (tensor index i >= 1 is members[k][i - 1]).
    """
    K = prog.n_classes
    members = [np.flatnonzero(prog.labels == k) for k in range(K)]
    shape = tuple(m.size + 1 for m in members)
    size = int(np.prod(shape, dtype=np.float64))
    if size > max_entries:
        raise ResourceLimit("max_entries", f"the multimarginal tensor would have {size} entries "
                            f"(classes of sizes {[m.size for m in members]})", f"<= {max_entries}")
    G = np.full(shape, -np.inf)
    Blo = np.zeros(shape)
    for k in range(K):
        idx = [0] * K
        idx[k] = slice(1, None)
        G[tuple(idx)] = 0.0
    for size_S in range(2, K + 1):
        for cls in itertools.combinations(range(K), size_S):
            grids = np.meshgrid(*[members[c] for c in cls], indexing="ij")
            rows = np.stack([g.ravel() for g in grids], 1)
            bc = barycenters(prog.X[rows], prog.cost)
            sub = tuple(members[c].size for c in cls)
            idx = tuple(slice(1, None) if k in cls else 0 for k in range(K))
            G[idx] = (size_S - 1.0 - bc.upper).reshape(sub)
            Blo[idx] = bc.lower.reshape(sub)
    return G, Blo, members


def _broadcast(vec: np.ndarray, k: int, K: int) -> np.ndarray:
    shape = [1] * K
    shape[k] = vec.size
    return vec.reshape(shape)


def solve_sinkhorn(prog: BarycenterLP, eta: float = 0.01, tol: float = 1e-6, max_iter: int = 20000,
                   max_entries: int = 20_000_000) -> SinkhornResult:
    """Log-domain multimarginal Sinkhorn with certified rounding (see the module docstring)."""
    if prog.budget is not None:
        raise UnsupportedProblem("the Sinkhorn back end solves the penalised form only "
                                 "(use an LP back end for OT_c(mu, mu~) <= delta)")
    if prog.group_limit < prog.n_classes:
        raise UnsupportedProblem("the Sinkhorn back end holds every group; max_group_size is not supported")
    if not eta > 0:
        raise InvalidInput("eta", f"must be > 0, got {eta}")
    if not tol > 0:
        raise InvalidInput("tol", f"must be > 0, got {tol}")
    t0 = time.perf_counter()
    G, Blo, members = gain_tensors(prog, max_entries)
    t1 = time.perf_counter()
    K = prog.n_classes
    logp = [np.log(prog.weights[m]) for m in members]
    phi = [np.zeros(m.size + 1) for m in members]
    # reference measure of a tuple: the geometric mean of its members' masses, so that neither an
    # unused point's potential (~eta log(1 / p_v) with no reference) nor a large group's gain
    # (~-eta (|S| - 1) log(1 / p) with the product reference) is biased
    others = [tuple(a for a in range(K) if a != k) for k in range(K)]
    lsum, count = np.zeros(G.shape), np.zeros(G.shape)
    for k in range(K):
        lsum = lsum + _broadcast(np.concatenate([[0.0], logp[k]]), k, K)
        count = count + _broadcast(np.concatenate([[0.0], np.ones(members[k].size)]), k, K)
    logref = lsum / np.maximum(count, 1.0)
    err, it = np.inf, 0
    # eta-scaling: warm-started stages eta_0 = max(eta, 1) halving down to eta
    stages = [eta]
    while stages[-1] * 2 < 1.0:
        stages.append(stages[-1] * 2)
    for j, e in enumerate(reversed(stages)):
        final = j == len(stages) - 1
        M = G / e + logref
        for k in range(K):
            M = M - _broadcast(phi[k], k, K) / e
        stage_tol = tol if final else max(tol, 1e-3)
        while it < max_iter:
            for k in range(K):
                step = logsumexp(M, axis=others[k])[1:] - logp[k]
                phi[k][1:] += e * step
                M -= _broadcast(np.concatenate([[0.0], step]), k, K)
            it += 1
            if it % 5 == 0 or it == max_iter:
                err = sum(float(np.abs(np.exp(logsumexp(M, axis=others[k]))[1:] - prog.weights[members[k]]).sum())
                          for k in range(K))
                if err <= stage_tol:
                    break
    t2 = time.perf_counter()
    pi = np.exp(M)
    n = prog.n
    marg = np.zeros(n)
    for k in range(K):
        marg[members[k]] = pi.sum(axis=others[k])[1:]
    ratio = np.minimum(1.0, prog.weights / np.maximum(marg, 1e-300))
    R = np.ones(G.shape)
    for k in range(K):
        R = np.minimum(R, _broadcast(np.concatenate([[1.0], ratio[members[k]]]), k, K))
    gain = np.where(np.isfinite(G), G, 0.0)
    lower = float(np.sum(np.where(gain > 0, pi * R * gain, 0.0)))
    entropic = float(np.sum(np.where(np.isfinite(G), pi * gain, 0.0)))
    q = np.zeros(n)
    for k in range(K):
        q[members[k]] = np.clip(1.0 - phi[k][1:], 0.0, 1.0)
    Q = np.zeros(G.shape)
    for k in range(K):
        Q = Q + _broadcast(np.concatenate([[0.0], q[members[k]]]), k, K)
    excess = np.where((count >= 2) & np.isfinite(Blo), Q - 1.0 - Blo, -np.inf)
    m = max(float(excess.max()), 0.0)
    qf = np.maximum(q - m / 2.0, 0.0) if m > 0 else q
    upper = float(prog.weights @ (1.0 - qf))
    t3 = time.perf_counter()
    return SinkhornResult(lower, upper, entropic, qf, float(eta), float(tol), it, float(err), bool(err <= tol),
                          timings={"tensor": t1 - t0, "sinkhorn": t2 - t1, "rounding": t3 - t2, "total": t3 - t0})
