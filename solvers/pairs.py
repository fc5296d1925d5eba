"""Conflict pairs: cross-class pairs (u, v) with ||x_u - x_v|| <= threshold, by blocks.

Exact and fast: samples are sorted by class and only cross-class blocks are visited.
Each block is screened in float32 (l2: one GEMM, ||a||^2 + ||b||^2 - 2 a.b; l1, l_inf:
torch.cdist) keeping every pair whose float32 value is within a rigorous rounding margin
of the threshold (l_inf, when its cost model prefers it: the exact cut pruning of `linf_pairs`
keeping every pair no cut separates); the candidates are then recomputed coordinate-wise in
float64 (`exact_dist`) and compared with the threshold, so the result is exactly the float64
answer of brute force. Memory is bounded per block (`max_bytes`); blocks can be farmed
out to any concurrent.futures.Executor (local processes, Dask) and run on a torch device.
"""
from __future__ import annotations

import math
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from robustdsl import _check
from robustdsl.errors import InvalidInput, ResourceLimit

from .pair_store import PairStore

DEFAULT_MAX_BYTES = 1 << 30          # working memory per block (1 GiB)
DEFAULT_MAX_PAIRS = 100_000_000      # output bound (24 bytes a pair: 2.4 GB)
_BYTES_PER_ENTRY = 48                # float32 block, mask, candidate indices and distances (worst case)
_U32 = 2.0 ** -24                    # unit roundoff of float32


def pairwise_dist(A: np.ndarray, B: np.ndarray, norm: float) -> np.ndarray:
    """(len(A), len(B)) distances in the given norm (1, 2 or inf); small inputs only."""
    if norm == 2:
        d2 = (A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2.0 * A @ B.T
        return np.sqrt(np.maximum(d2, 0.0))
    diff = np.abs(A[:, None, :] - B[None, :, :])
    return diff.max(-1) if math.isinf(norm) else diff.sum(-1)


def exact_dist(A: np.ndarray, B: np.ndarray, norm: float) -> np.ndarray:
    """Row-wise dist(A[i], B[i]) computed directly from differences (no cancellation)."""
    diff = np.abs(A - B)
    if norm == 2:
        return np.sqrt((diff * diff).sum(1))
    return diff.max(1) if math.isinf(norm) else diff.sum(1)


@dataclass(frozen=True)
class _Screen:
    """What a block needs: threshold, norm, margin factor, torch device, recheck chunk rows,
    and whether every pair gets its exact float64 distance."""

    threshold: float
    norm: float
    k: float
    device: str
    chunk: int
    exact_all: bool = True
    cuts: object = None              # l_inf: a linf_pairs.CutSet (cut pruning) or None (cdist)
    center: np.ndarray | None = field(default=None, compare=False)   # screen_center(X): the screen
    #                                  measures x - center (an array: kept out of == and hash)


def screen_center(X: np.ndarray) -> np.ndarray:
    """The point the float32 screen measures from: the column mean of X (float64). Distances are
    translation invariant, and the screen's rounding error scales with ||x - c|| (squared for l2),
    so data far from the origin (an offset of 1,000 on every pixel) keeps a thin rounding shell.
    Centring in float64 adds a relative error of 2^-53 per coordinate, far inside the margin's
    factor 2 of safety; the rechecks use the original X, so the pair set is unchanged."""
    return np.asarray(X, dtype=np.float64).mean(0)


def _unit_roundoff(device: str) -> float:
    """float32 matmul roundoff on this device (TF32 / bf16 when torch allows lower precision)."""
    if "torch" not in sys.modules and device == "cpu":
        return _U32                  # torch not loaded yet: its precision is still the default
    import torch

    prec = torch.get_float32_matmul_precision()
    u = {"highest": _U32, "high": 2.0 ** -11, "medium": 2.0 ** -8}.get(prec, 2.0 ** -8)
    if device.startswith("cuda") and torch.backends.cuda.matmul.allow_tf32:
        u = max(u, 2.0 ** -11)
    return u


def margin_factor(norm: float, d: int, u: float = _U32) -> float:
    """k with |float32 value - exact value| <= k/2 * (scale_a + scale_b), doubled for safety.

    l2 (squared distance, scale ||x||^2): 2 gamma_d + 10u;  l1 (scale ||x||_1): (d + 4) u;
    l_inf (scale ||x||_inf): 4u.
    """
    if norm == 2:
        return 2.0 * (2 * d + 16) * u
    if math.isinf(norm):
        return 8.0 * u
    return 2.0 * (d + 4) * u


_SMALL = 1 << 26                      # multiply-adds below which a block runs in numpy (no torch)


def _scales(T, norm: float):
    """Per-row scale of the rounding error: ||x||^2, ||x||_1 or ||x||_inf (numpy or torch)."""
    if norm == 2:
        return (T * T).sum(1)
    a = abs(T)
    if not math.isinf(norm):
        return a.sum(1)
    return a.max(1) if isinstance(T, np.ndarray) else a.amax(1)


def _block_numpy(A, B, norm: float):
    """Float32 distance block (squared for l2) in numpy: for small blocks, no torch start-up."""
    if norm == 2:
        return (A @ B.T) * np.float32(-2.0)
    rows = max(1, (1 << 24) // max(1, B.size))        # bound the broadcast temporary (64 MiB)
    out = np.empty((A.shape[0], B.shape[0]), dtype=np.float32)
    for s in range(0, A.shape[0], rows):
        diff = np.abs(A[s:s + rows, None, :] - B[None, :, :])
        out[s:s + rows] = diff.max(-1) if math.isinf(norm) else diff.sum(-1)
    return out


def _block_torch(A, B, norm: float):
    import torch

    if norm == 2:
        return torch.mm(A, B.T).mul_(-2.0)
    return torch.cdist(A[None], B[None], p=norm)[0]


def _screen(A32, B32, scr: _Screen):
    """Candidates (i, j) that may be within the threshold (a superset, never fewer), with
    `sure` marking those certainly within it and `val` their float32 distance (squared for l2)."""
    small = scr.device == "cpu" and A32.shape[0] * B32.shape[0] * A32.shape[1] < _SMALL
    if small:
        A, B = A32, B32
        S = _block_numpy(A, B, scr.norm)
    else:
        import torch
        A = torch.from_numpy(A32).to(scr.device)
        B = torch.from_numpy(B32).to(scr.device)
        S = _block_torch(A, B, scr.norm)
    sa, sb = _scales(A, scr.norm), _scales(B, scr.norm)
    if scr.norm == 2:                                     # ||a||^2 + ||b||^2 - 2 a.b, less the margin
        S += (sa * (1.0 - scr.k))[:, None]
        S += (sb * (1.0 - scr.k))[None, :]
        thr = scr.threshold * scr.threshold
    else:
        S -= (sa * scr.k)[:, None]
        S -= (sb * scr.k)[None, :]
        thr = scr.threshold
    up = float(np.nextafter(np.float32(thr * (1.0 + 1e-12)), np.float32(np.inf)))
    down = float(np.nextafter(np.float32(thr * (1.0 - 1e-12)), np.float32(-np.inf)))
    if small:
        i, j = np.nonzero(S <= up)
    else:
        ij = torch.nonzero(S <= up)
        i, j = ij[:, 0], ij[:, 1]
    pad = scr.k * (sa[i] + sb[j])
    val = S[i, j] + pad                                   # the plain float32 value
    sure = (val + 2.0 * pad) <= down                      # upper end of its error interval inside
    if not small:
        i, j, val, sure = (t.cpu().numpy() for t in (i, j, val, sure))
    return i, j, np.asarray(val, dtype=np.float64), sure


def _recheck(A64, B64, cand, scr: _Screen) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keep candidates whose float64 distance is <= threshold; with scr.exact_all, `exact_dist`
    for every pair, else only for those not surely inside (the rest keep the float32 value)."""
    ii, jj, val, sure = cand
    if scr.exact_all:
        sure = np.zeros(ii.size, dtype=bool)
    dist = np.sqrt(np.maximum(val, 0.0)) if scr.norm == 2 else val
    todo = np.flatnonzero(~sure)
    ok = sure.copy()
    for s in range(0, todo.size, scr.chunk):
        t = todo[s:s + scr.chunk]
        d = exact_dist(A64[ii[t]], B64[jj[t]], scr.norm)
        dist[t] = d
        ok[t] = d <= scr.threshold
    return ii[ok], jj[ok], dist[ok]


def _block_task(A64: np.ndarray, B64: np.ndarray, scr: _Screen):
    """One block shipped to an executor: float64 rows in, exact local pairs out."""
    if scr.cuts is not None:
        from .linf_pairs import block_pairs
        return block_pairs(A64, B64, scr.threshold, scr.cuts, scr.device, scr.chunk)
    c = scr.center if scr.center is not None else 0.0
    return _recheck(A64, B64, _screen((A64 - c).astype(np.float32), (B64 - c).astype(np.float32), scr), scr)


def _recheck_rows(d: int, max_bytes: int) -> int:
    """Candidate rows per exact recheck: about 2 MiB of temporaries (cache-sized; measured 3-4x
    faster than large chunks at d = 784), within max_bytes."""
    return int(max(1, min(max(16, (1 << 18) // max(d, 1)), 1 << 16, max_bytes // (3 * 8 * max(d, 1)))))


def _tasks(counts: np.ndarray, b: int) -> list[tuple[int, int, int, int]]:
    """(r0, r1, c0, c1) in class-sorted order: rows of class c against all later classes."""
    ends = np.cumsum(counts)
    starts = ends - counts
    n = int(ends[-1]) if ends.size else 0
    out = []
    for s, e in zip(starts.tolist(), ends.tolist()):
        for r0 in range(s, e, b):
            for c0 in range(e, n, b):
                out.append((r0, min(r0 + b, e), c0, min(c0 + b, n)))
    return out


def block_size(n: int, d: int, block: int, max_bytes: int) -> int:
    """The largest square block edge <= block whose working set fits in max_bytes."""
    per_row = 2 * d * (4 + 8)                        # float32 + float64 slices of A and B
    b = int((-per_row + math.sqrt(per_row ** 2 + 4 * _BYTES_PER_ENTRY * max_bytes))
            / (2 * _BYTES_PER_ENTRY))
    need = min(64, max(n, 1))
    if b < need:
        est = _BYTES_PER_ENTRY * need * need + per_row * need
        raise ResourceLimit("max_bytes", f"a block of {need} x {need} samples in dimension {d} needs "
                            f"about {est / 2**20:.1f} MiB but max_bytes is {max_bytes} bytes",
                            "raise max_bytes")
    return max(1, min(block, b))


def _check_inputs(X, labels, threshold, norm, block, max_bytes, device):
    X = np.asarray(X)
    if X.ndim != 2:
        raise InvalidInput("X", f"has shape {X.shape}", "an (n, d) array")
    if X.dtype != np.float64:
        X = X.astype(np.float64)
    if not np.all(np.isfinite(X)):
        raise InvalidInput("X", "contains NaN or inf", "finite coordinates")
    labels = np.asarray(labels)
    if labels.shape != (X.shape[0],):
        raise InvalidInput("labels", f"has shape {labels.shape}", f"shape ({X.shape[0]},)")
    threshold = _check.real("threshold", threshold, nonneg=True)
    norm = _check.norm("norm", norm)
    block = _check.integer("block", block, minimum=1)
    max_bytes = _check.integer("max_bytes", max_bytes, minimum=1)
    if not isinstance(device, str) or not (device == "cpu" or device.startswith("cuda")):
        raise InvalidInput("device", f"got {device!r}", "'cpu' or 'cuda[:N]'")
    if device.startswith("cuda"):
        import torch
        if not torch.cuda.is_available():
            raise InvalidInput("device", "torch sees no CUDA device", "'cpu'")
    return X, labels, threshold, norm, block, max_bytes


def _progress(total: int, enabled: bool, desc: str):
    from tqdm.auto import tqdm
    return tqdm(total=total, disable=not enabled, desc=desc, unit="block")


def _serial_block(X, order, scr):
    """task -> exact (global ii, jj, d) of that block, the whole-array preparation done once
    (float32 copy, or for l_inf cuts the bit codes / indicators and the lead columns)."""
    if scr.cuts is not None:
        from .linf_pairs import prune, refine
        P, Q = (M[order] for M in scr.cuts.encode(X, scr.device))
        XL = X[:, scr.cuts.lead]

        def run(t):
            r0, r1, c0, c1 = t
            ii, jj = prune(P[r0:r1], Q[c0:c1], scr.device)
            return refine(X, X, order[r0 + ii], order[c0 + jj], scr.threshold, XL, XL, scr.chunk)
        return run
    Xs = X[order]
    if scr.center is not None:
        Xs -= scr.center
    Xs32 = Xs.astype(np.float32)
    del Xs

    def run(t):
        r0, r1, c0, c1 = t
        ii, jj, val, sure = _screen(Xs32[r0:r1], Xs32[c0:c1], scr)
        return _recheck(X, X, (order[r0 + ii], order[c0 + jj], val, sure), scr)
    return run


def run_blocks(X, order, tasks, scr, executor, progress) -> Iterator:
    """Yield (task, (ii, jj, d)) in task order, serially or through the executor (bounded window)."""
    with _progress(len(tasks), progress, "conflict pairs") as bar:
        if executor is None or executor == "serial":
            run = _serial_block(X, order, scr)
            for t in tasks:
                out = run(t)
                bar.update(1)
                yield t, out
            return
        window = max(2, 2 * int(getattr(executor, "_max_workers", 2) or 2))
        pending: deque = deque()

        def oldest():
            tt, fut = pending.popleft()
            ii, jj, d = fut.result()
            bar.update(1)
            return tt, (order[tt[0] + ii], order[tt[2] + jj], d)

        for t in tasks:
            r0, r1, c0, c1 = t
            try:
                fut = executor.submit(_block_task, X[order[r0:r1]], X[order[c0:c1]], scr)
            except RuntimeError as exc:       # e.g. 'cannot schedule new futures after shutdown'
                raise InvalidInput("executor", f"refused the distance blocks ({exc})",
                                   "an executor that is running (not shut down)") from None
            pending.append((t, fut))
            if len(pending) >= window:
                yield oldest()
        while pending:
            yield oldest()


def length_dtype(scr: _Screen):
    """float32 for screened l2 lengths (float32 values anyway: half the memory), else float64
    (exact lengths: every pair with distances='exact', and l1 / l_inf, whose few pairs keep them)."""
    return np.float32 if (scr.norm == 2 and not scr.exact_all) else np.float64


def plan_pass(X, labels, threshold, norm, block: int = 2048, max_bytes: int = DEFAULT_MAX_BYTES,
              device: str = "cpu", distances: str = "exact"):
    """(X float64, class-sorted order, block tasks, _Screen) of a checked pair pass, or None if
    n < 2; `run_blocks(*plan, executor, progress)` then yields the exact pairs block by block."""
    X, labels, threshold, norm, block, max_bytes = _check_inputs(
        X, labels, threshold, norm, block, max_bytes, device)
    _check.choice("distances", distances, ("exact", "screened"))
    n, d = X.shape
    if n < 2:
        return None
    order = np.argsort(labels, kind="stable")
    _, counts = np.unique(labels[order], return_counts=True)
    b = block_size(n, d, block, max_bytes)
    cuts = None
    if math.isinf(norm):                              # exact 0/1 GEMM pruning (solvers.linf_pairs)
        from .linf_pairs import choose_cuts
        cuts = choose_cuts(X, threshold)
    scr = _Screen(threshold, norm, margin_factor(norm, d, _unit_roundoff(device)), device,
                  _recheck_rows(d, max_bytes), distances == "exact", cuts, screen_center(X))
    return X, order, _tasks(counts, b), scr


class PassStopped(Exception):
    """The pair pass stopped early (deadline or Ctrl-C): `pairs` = (I, J, D) of the finished
    blocks, a subset of the conflict pairs (so any pair value on them is a lower bound)."""

    def __init__(self, pairs, done: int, total: int, interrupted: bool):
        why = "interrupted (Ctrl-C)" if interrupted else "time limit reached"
        super().__init__(f"pair pass {why} after {done} of {total} blocks")
        self.pairs, self.done, self.total, self.interrupted = pairs, done, total, interrupted


def conflict_pairs(X: np.ndarray, labels: np.ndarray, threshold: float, norm: float,
                   block: int = 2048, *, max_bytes: int = DEFAULT_MAX_BYTES,
                   max_pairs: int | None = DEFAULT_MAX_PAIRS, executor=None,
                   device: str = "cpu", progress: bool = False, distances: str = "exact",
                   deadline: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(I, J, D): all u < v with labels[u] != labels[v] and dist(x_u, x_v) <= threshold.

    The pair set is exactly the float64 brute force's, sorted by (I, J), I and J int64.
    distances='exact': D (float64) from `exact_dist` for every pair (O(d) per pair); 'screened':
    only pairs in the rounding shell are recomputed, the others keep the float32 value (l2: error
    in D^2 at most k/2 (||x_u||^2 + ||x_v||^2), k = margin_factor), for l2 stored as float32 (12
    bytes a pair while the pass runs, `pair_store.PairStore`), much faster for many pairs.
    block: block edge in samples (shrunk to fit max_bytes); max_pairs: refuse with
    ResourceLimit once more pairs than this are found (None: no bound); executor: a
    concurrent.futures.Executor for the blocks (local processes: prefer the 'spawn' or
    'forkserver' context once torch is loaded; Dask: `Client(...).get_executor()`), at most
    2 x workers blocks in flight; device: torch device for large blocks ('cuda' if available);
    deadline: a time.perf_counter() value. Past it after a block, or on Ctrl-C, the pass stops
    with PassStopped carrying the pairs of the finished blocks (a subset of the answer).
    """
    plan = plan_pass(X, labels, threshold, norm, block, max_bytes, device, distances)
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    if plan is None:
        return empty
    X, order, tasks, scr = plan
    store = PairStore(X.shape[0], dtype=length_dtype(scr))
    done = 0
    try:
        for done, (_, (gi, gj, dist)) in enumerate(run_blocks(X, order, tasks, scr, executor, progress), 1):
            if max_pairs is not None and store.size + gi.size > max_pairs:
                found = store.size + gi.size
                est = found * len(tasks) / done
                raise ResourceLimit("max_pairs", f"more than {max_pairs} conflict pairs after {done} of "
                                    f"{len(tasks)} blocks (about {est:.3g} pairs, {24 * est / 2**30:.2f} "
                                    f"GiB expected in all)", "raise max_pairs or lower the threshold, or "
                                    "pass a memory budget (solvers.pair_budget.bounded_pairs) for an interval")
            store.append(gi, gj, dist)
            if deadline is not None and done < len(tasks) and time.perf_counter() > deadline:
                raise PassStopped(store.sorted_pairs() if store.size else empty, done, len(tasks), False)
    except KeyboardInterrupt:
        raise PassStopped(store.sorted_pairs() if store.size else empty, done, len(tasks), True) from None
    if store.size == 0:
        return empty
    return store.sorted_pairs()


def distance_floor(X: np.ndarray, labels: np.ndarray, norm: float = 2, block: int = 2048, *,
                   max_bytes: int = DEFAULT_MAX_BYTES, device: str = "cpu",
                   progress: bool = False) -> dict:
    """One blocked float32 cross-class distance pass (no threshold, no recheck): the floor.

    Returns {'pairs': number of cross-class distances computed, 'blocks': blocks visited}.
    """
    import torch

    X, labels, _, norm, block, max_bytes = _check_inputs(X, labels, 0.0, norm, block, max_bytes, device)
    n, d = X.shape
    order = np.argsort(labels, kind="stable")
    _, counts = np.unique(labels[order], return_counts=True)
    tasks = _tasks(counts, block_size(n, d, block, max_bytes))
    Xs = torch.from_numpy(X[order].astype(np.float32)).to(device)
    sq = _scales(Xs, 2.0) if norm == 2 else None
    total = 0
    with _progress(len(tasks), progress, "distance floor") as bar:
        for r0, r1, c0, c1 in tasks:
            A, B = Xs[r0:r1], Xs[c0:c1]
            if norm == 2:
                S = torch.mm(A, B.T).mul_(-2.0).add_(sq[r0:r1, None]).add_(sq[None, c0:c1])
            else:
                S = torch.cdist(A[None], B[None], p=norm)[0]
            total += S.numel()
            bar.update(1)
    return {"pairs": int(total), "blocks": len(tasks)}


def restrict_pairs(X: np.ndarray, I: np.ndarray, J: np.ndarray, D: np.ndarray, threshold: float,
                   norm: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pairs of (I, J, D) with dist <= threshold, exactly, for a threshold below the one that
    produced them with distances='screened' (eps sweeps: one distance pass at the largest eps).

    D holds float32 values (error at most k/2 (s_u + s_v), k = margin_factor, s = ||x - c||^2 for
    l2, the l1 / l_inf norm of x - c otherwise, c = screen_center(X)) or exact ones; pairs within
    twice that margin of the threshold are re-measured by `exact_dist`, the others are decided by
    D. Order is kept."""
    X = np.asarray(X, dtype=np.float64)
    threshold = _check.real("threshold", threshold, nonneg=True)
    val, pad, thr = screen_bounds(X, I, J, D, threshold, norm)
    keep = val + pad <= thr
    unsure = np.flatnonzero((val - pad <= thr) & ~keep)
    del val, pad
    Dout = np.array(D, dtype=np.float64)
    for a in range(0, unsure.size, 8192):
        t = unsure[a:a + 8192]
        d = exact_dist(X[I[t]], X[J[t]], norm)
        Dout[t] = d
        keep[t] = d <= threshold
    return I[keep], J[keep], Dout[keep]


def screen_bounds(X: np.ndarray, I: np.ndarray, J: np.ndarray, D: np.ndarray, threshold: float,
                  norm: float) -> tuple[np.ndarray, np.ndarray, float]:
    """(val, pad, thr): the pair (I, J) is within `threshold` if val + pad <= thr and beyond it if
    val - pad > thr (val = D^2, thr = threshold^2 for l2; D and threshold otherwise). pad is four
    times the screening error bound k/2 (s_u + s_v) (k = margin_factor), which also covers D stored
    in float32 (relative error 2^-24, D^2 <= 2 (s_u + s_v))."""
    k = margin_factor(norm, X.shape[1])
    s = np.zeros(X.shape[0])
    if I.size:                                        # scales of the pairs' rows only
        used = np.zeros(X.shape[0], bool)
        used[I] = used[J] = True
        used = np.flatnonzero(used)
        s[used] = _scales(X[used] - screen_center(X), norm)
    D = np.asarray(D, dtype=np.float64)
    val, thr = (D * D, threshold * threshold) if norm == 2 else (D, threshold)
    pad = s[I]
    pad += s[J]
    pad *= 2.0 * k
    pad += 1e-12 * thr
    return val, pad, thr
