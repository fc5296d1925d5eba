"""Exact l_inf ball pairs: pruning by coordinate "cuts" (packed bits or a 0/1 GEMM), then float64.

A cut (k, t, s) on coordinate k has s < t - r. If x_ik >= t and x_jk < s, then
x_ik - x_jk > t - s > r, so ||x_i - x_j||_inf > r: the pair is certainly not within r. With
H = [X[:, k] >= t] and L = [X[:, k] < s] over F cuts, a pair (a, b) is separated when
H_a & L_b or L_a & H_b is nonzero. On the CPU the bits are packed into words (H in the low
half, L in the high half of A's words, the halves swapped for B): one AND per pair and word,
integer arithmetic, exact. On a GPU the 0/1 product [H_A, L_A] [L_B, H_B]^T counts the
separating cuts; every term is 0 or 1, so the float32 (or TF32 / bf16) sum is 0 exactly when
no cut separates the pair (any 1 makes the sum >= 1). Only pairs no cut separates survive;
they are decided in float64 from coordinate differences (`refine`), so the result is exactly
the brute force's {(a, b): max_k fl(|a_k - b_k|) <= r}.

Rounding of the cuts: s = fl(fl(t - r) - delta) with delta = 1e-9 (1 + |t| + r) gives, in
exact arithmetic, t - s >= r + delta - 3u(1 + |t| + r) > r + delta / 2, so a pruned pair has
a - b > r + delta / 2 and, rounding being monotone, fl(|a - b|) >= fl(r + delta / 2) > r.
The cuts (one per coordinate, the t maximising the chance 2 P(x >= t) P(x < s) that a random
pair is separated) and their number F are chosen on a seeded sample of rows, minimising an
estimated cost (bit AND per pair and word, plus a refine per survivor) against the plain cdist.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .pairs import exact_dist

_LEVELS = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 0.99, 1.0)   # sample quantiles tried as t
_SAMPLE = 2048                       # rows sampled to choose the cuts
_COUNTS = (8, 16, 32, 64, 128)       # numbers of cuts tried
_NS_WORD, _NS_SURVIVOR, _NS_CDIST = 1.2, 900.0, 1.8    # measured ns per pair (word) / survivor
_ROWS = 64                           # rows per bit-AND chunk (the chunk stays in cache)
_LEAD = 64                           # coordinates of the first (gathered) refine stage


@dataclass(frozen=True)
class CutSet:
    """F cuts: coordinate `dims[f]`, high side x >= high[f], low side x < low[f]; `lead`: the
    coordinates refine checks first (most separating first)."""

    dims: np.ndarray
    high: np.ndarray
    low: np.ndarray
    lead: np.ndarray

    @property
    def size(self) -> int:
        return int(self.dims.size)

    @property
    def words(self) -> int:
        """64-bit words per row (32 cuts a word: H and L halves); 1 uint32 for <= 16 cuts."""
        return max(1, -(-self.size // 32))

    def codes(self, A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(a, b) of shape (len(A), words): a packs H (low half) and L (high half), b the
        halves swapped, so (a_i & b_j) != 0 in some word iff a cut separates rows i and j."""
        V = A[:, self.dims]
        H, L = V >= self.high, V < self.low
        half = 16 if self.size <= 16 else 32
        dt = np.uint32 if half == 16 else np.uint64
        a = np.zeros((A.shape[0], self.words), dt)
        b = np.zeros_like(a)
        for f in range(self.size):
            w, bit = divmod(f, half)
            hi, lo = H[:, f].astype(dt), L[:, f].astype(dt)
            a[:, w] |= (hi << dt(bit)) | (lo << dt(bit + half))
            b[:, w] |= (hi << dt(bit + half)) | (lo << dt(bit))
        return a, b

    def encode(self, A: np.ndarray, device: str) -> tuple[np.ndarray, np.ndarray]:
        """What `prune` takes on this device: bit codes on the CPU, 0/1 indicators otherwise."""
        return self.codes(A) if device == "cpu" else self.indicators(A)

    def indicators(self, A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """([H, L], [L, H]) as float32 0/1 arrays of shape (len(A), 2F), from float64 rows."""
        V = A[:, self.dims]
        H = (V >= self.high).astype(np.float32)
        L = (V < self.low).astype(np.float32)
        return np.concatenate([H, L], 1), np.concatenate([L, H], 1)


def low_side(t: np.ndarray, r: float) -> np.ndarray:
    """s with t - s > r + delta / 2 rigorously (module docstring), delta = 1e-9 (1 + |t| + r)."""
    return (t - r) - 1e-9 * (1.0 + np.abs(t) + r)


def _best_cuts(S: np.ndarray, r: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per coordinate of the column-sorted sample S (m, d): the t among its quantiles maximising
    2 P(x >= t) P(x < s); returns (t, s, score)."""
    m = S.shape[0]
    best_t, best_s, best = S[-1].copy(), low_side(S[-1], r), np.full(S.shape[1], -1.0)
    for lev in _LEVELS:
        t = S[min(m - 1, int(lev * (m - 1)))]
        s = low_side(t, r)
        score = 2.0 * (S >= t).mean(0) * (S < s).mean(0)
        up = score > best
        best_t[up], best_s[up], best[up] = t[up], s[up], score[up]
    return best_t, best_s, best


def choose_cuts(X: np.ndarray, r: float, seed: int = 0) -> CutSet | None:
    """Cuts for the threshold r on data like X (a seeded sample), or None when pruning is
    estimated to cost more than the plain distance computation."""
    n, d = X.shape
    if n < 4 or d == 0:
        return None
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(n, min(n, _SAMPLE), replace=False))
    sample = X[rows]
    t, s, score = _best_cuts(np.sort(sample, axis=0), r)
    order = np.argsort(-score, kind="stable")
    useful = int((score > 0).sum())
    if useful == 0:
        return None
    half = sample.shape[0] // 2
    best_cost, best = _NS_CDIST * d, None
    for F in _COUNTS:
        f = min(F, useful)
        cuts = CutSet(order[:f], t[order[:f]], s[order[:f]], order[:min(d, _LEAD)])
        a, _ = cuts.codes(sample[:half])
        _, b = cuts.codes(sample[half:])
        surv = prune_codes(a, b)[0].size / (half * (sample.shape[0] - half))
        cost = _NS_WORD * cuts.words + _NS_SURVIVOR * surv
        if cost < best_cost:
            best_cost, best = cost, cuts
        if f == useful:
            break
    return best


def prune_codes(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(i, j) with a_i & b_j == 0 in every word (no cut separates them), by cache-sized chunks
    into reused buffers (a flat nonzero: about 5x faster than the 2-D one)."""
    nb = b.shape[0]
    M = np.empty((_ROWS, nb), a.dtype)
    T = np.empty_like(M) if a.shape[1] > 1 else None
    Z = np.empty((_ROWS, nb), bool)
    out = []
    for s in range(0, a.shape[0], _ROWS):
        r = min(_ROWS, a.shape[0] - s)
        np.bitwise_and(a[s:s + r, 0, None], b[None, :, 0], out=M[:r])
        for w in range(1, a.shape[1]):
            np.bitwise_and(a[s:s + r, w, None], b[None, :, w], out=T[:r])
            M[:r] |= T[:r]
        np.equal(M[:r], 0, out=Z[:r])
        out.append(np.flatnonzero(Z[:r]) + s * nb)
    flat = np.concatenate(out) if out else np.zeros(0, np.int64)
    i, j = np.divmod(flat.astype(np.int64), max(nb, 1))
    return i, j


def prune(P, Q, device: str = "cpu") -> tuple[np.ndarray, np.ndarray]:
    """(i, j) with no cut separating them: bit codes (P, Q) = codes() on the CPU, or on a torch
    device the indicators P = [H, L], Q = [L, H] and one 0/1 GEMM (count 0: not separated)."""
    return prune_codes(P, Q) if device == "cpu" else prune_gemm(P, Q, device)


def prune_gemm(P, Q, device: str) -> tuple[np.ndarray, np.ndarray]:
    """(i, j) with [H_i, L_i] . [L_j, H_j] == 0: one 0/1 GEMM on the torch device (exact)."""
    import torch

    S = torch.mm(torch.as_tensor(P, device=device), torch.as_tensor(Q, device=device).T)
    ij = torch.nonzero(S == 0).cpu().numpy().astype(np.int64)
    return ij[:, 0], ij[:, 1]


def refine(A: np.ndarray, B: np.ndarray, ii: np.ndarray, jj: np.ndarray, r: float,
           LA: np.ndarray, LB: np.ndarray, rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Survivors (ii, jj) decided in float64: first the lead coordinates only (LA = A[:, lead],
    LB = B[:, lead], contiguous: a pair with some fl(|a_k - b_k|) > r is out), then the full
    `exact_dist` <= r; returns (ii, jj, dist)."""
    keep = np.ones(ii.size, bool)
    for a in range(0, ii.size, rows):
        i, j = ii[a:a + rows], jj[a:a + rows]
        keep[a:a + rows] = np.abs(LA[i] - LB[j]).max(1, initial=0.0) <= r
    ii, jj = ii[keep], jj[keep]
    dist = np.empty(ii.size)
    for a in range(0, ii.size, rows):
        dist[a:a + rows] = exact_dist(A[ii[a:a + rows]], B[jj[a:a + rows]], math.inf)
    ok = dist <= r
    return ii[ok], jj[ok], dist[ok]


def block_pairs(A: np.ndarray, B: np.ndarray, r: float, cuts: CutSet, device: str, rows: int,
                P: np.ndarray | None = None, Q: np.ndarray | None = None,
                LA: np.ndarray | None = None, LB: np.ndarray | None = None):
    """All (i, j) with ||A_i - B_j||_inf <= r, exactly, for float64 blocks A, B (prune + refine);
    P, Q: the codes / indicators of A and B, LA, LB: A[:, lead], B[:, lead], when already made."""
    P = cuts.encode(A, device)[0] if P is None else P
    Q = cuts.encode(B, device)[1] if Q is None else Q
    ii, jj = prune(P, Q, device)
    LA = A[:, cuts.lead] if LA is None else LA
    LB = B[:, cuts.lead] if LB is None else LB
    return refine(A, B, ii, jj, r, LA, LB, rows)


def _dense_chunks(A: np.ndarray, B: np.ndarray):
    """Yield (row offset, float64 l_inf table of a chunk of A rows against B), 32 MiB each."""
    step = max(1, (1 << 22) // max(1, B.size))
    for s in range(0, A.shape[0], step):
        yield s, np.abs(A[s:s + step, None, :] - B[None, :, :]).max(-1, initial=0.0)


def ball_pairs(Z: np.ndarray, X: np.ndarray | None, r: float, *, device: str = "cpu",
               block: int = 4096) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(iz, jx, dist): every (z, x) with ||Z_iz - X_jx||_inf <= r exactly (float64 decision),
    by blocks of Z rows and X rows, sorted by (iz, jx). X None: the self-join of Z, from the
    blocks on and above the diagonal only (the table is symmetric: fl|a - b| = fl|b - a|)."""
    sym = X is None
    X = Z if sym else X
    cuts = choose_cuts(X, r)
    rows = max(16, (1 << 18) // max(1, X.shape[1]))
    QX = None if cuts is None else cuts.encode(X, device)[1]
    XL = None if cuts is None else X[:, cuts.lead]
    out_i, out_j, out_d = [], [], []
    for a in range(0, Z.shape[0], block):
        A = Z[a:a + block]
        PA = None if cuts is None else cuts.encode(A, device)[0]
        AL = None if cuts is None else A[:, cuts.lead]
        for b in range(a if sym else 0, X.shape[0], block):
            B = X[b:b + block]
            if cuts is None:
                for s0, D in _dense_chunks(A, B):
                    i, j = np.nonzero(D <= r)
                    found = (i + s0, j, D[i, j])
            else:
                found = block_pairs(A, B, r, cuts, device, rows, PA, QX[b:b + block], AL,
                                    XL[b:b + block])
            i, j, dist = found
            out_i.append(i + a); out_j.append(j + b); out_d.append(dist)
            if sym and b != a:
                out_i.append(j + b); out_j.append(i + a); out_d.append(dist)
    if not out_i:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    I, J, D = np.concatenate(out_i), np.concatenate(out_j), np.concatenate(out_d)
    o = np.lexsort((J, I))
    return I[o].astype(np.int64), J[o].astype(np.int64), D[o]


def nearest(Z: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Index of the l_inf-nearest row of X for each row of Z (first on ties), brute force."""
    out = np.empty(Z.shape[0], np.int64)
    for s, D in _dense_chunks(Z, X):
        out[s:s + D.shape[0]] = D.argmin(1)
    return out


def twins(Z: np.ndarray, X: np.ndarray) -> np.ndarray:
    """For each row of Z the index of a bitwise-identical row of X, or -1 (a missed twin only
    costs time: that row goes through the general path)."""
    out = np.full(Z.shape[0], -1, np.int64)
    if X.shape[0] == 0:
        return out
    w = np.random.default_rng(7).standard_normal(X.shape[1])
    hx, hz = (X * w).sum(1), (Z * w).sum(1)        # identical rows, identical row sums
    o = np.argsort(hx, kind="stable")
    pos = np.minimum(np.searchsorted(hx[o], hz), X.shape[0] - 1)
    cand = o[pos]
    ok = hx[cand] == hz
    idx = np.flatnonzero(ok)
    for s in range(0, idx.size, 4096):
        t = idx[s:s + 4096]
        same = np.all(Z[t] == X[cand[t]], axis=1)
        out[t[same]] = cand[t[same]]
    return out


def _ball_pairs_reusing_twins(Z: np.ndarray, X: np.ndarray, r: float, device: str):
    """ball_pairs(Z, X, r), with the rows of Z that equal a sample answered from the symmetric
    self-join of X (half the blocks) instead of a full Z x X pass."""
    tw = twins(Z, X)
    hit = np.flatnonzero(tw >= 0)
    if hit.size < X.shape[0] // 2:
        return ball_pairs(Z, X, r, device=device)
    u, v, d = ball_pairs(X, None, r, device=device)          # sorted by u
    start = np.searchsorted(u, np.arange(X.shape[0] + 1))
    deg = np.diff(start)[tw[hit]]
    take = np.repeat(start[tw[hit]] - np.r_[0, np.cumsum(deg)[:-1]], deg) + np.arange(deg.sum())
    parts = [(np.repeat(hit, deg), v[take], d[take])]
    miss = np.flatnonzero(tw < 0)
    if miss.size:
        i, j, dd = ball_pairs(Z[miss], X, r, device=device)
        parts.append((miss[i], j, dd))
    I, J, D = (np.concatenate(p) for p in zip(*parts))
    o = np.lexsort((J, I))
    return I[o], J[o], D[o]


def ball_classifier(X: np.ndarray, label_index: np.ndarray, q: np.ndarray, r: float,
                    Z: np.ndarray, K: int, device: str = "cpu") -> np.ndarray:
    """(m, K): f_k(z) = max q_v over class-k samples v with ||z - x_v||_inf <= r, divided by
    max(1, sum_k f_k), the rest to the class of the nearest sample (first index on ties): the
    same numbers as the dense evaluation, from the exact sparse ball pairs."""
    m = Z.shape[0]
    ii, jj, dist = _ball_pairs_reusing_twins(Z, X, r, device)
    F = np.zeros((m, K))
    np.maximum.at(F, (ii, label_index[jj]), q[jj])
    F /= np.maximum(1.0, F.sum(1, keepdims=True))
    near = np.full(m, -1, np.int64)
    if ii.size:
        o = np.lexsort((jj, dist, ii))                   # per row: smallest distance, then index
        first = o[np.r_[True, ii[o][1:] != ii[o][:-1]]]
        near[ii[first]] = jj[first]
    lost = np.flatnonzero(near < 0)                       # no sample within r: brute force
    if lost.size:
        near[lost] = nearest(Z[lost], X)
    F[np.arange(m), label_index[near]] += 1.0 - F.sum(1)
    return F
