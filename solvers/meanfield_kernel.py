"""Fused first variations of the mean-field game for all particles at once (the hot loop of wfr).

With N = n*m adversarial atoms x~ (rows of Xa = [x~, 1]), K learner atoms and r = f(x~) - y~:

    S = Xa (s0 B)^T,  H = h(S) = alpha_h P + beta_h,  h'(S) = gamma_h Q,   P = p(S), Q = q(P)
    r = H c - y~                      grad_x~ U_pi = 2 r h'(S) (c * B_x) - 2 c_a (z~ - z)
    U_nu = a * (q_w @ H)             grad_B U_nu = a * (Xa^T diag(q_w) h'(S))^T,   q_w = 2 p_i omega_ij r

where p (a cheap elementwise map) and its affine link to h avoid slow kernels: tanh(s) = 2 sigmoid(2s) - 1
and tanh' = 4 P (1 - P) (torch's sigmoid is ~7x faster than its tanh on CPU). Rows are processed in
blocks of about 2^18 elements so S/P and Q stay in cache; both (block, K) buffers live in a workspace
reused across steps (the particle state itself is never written). GEMMs per block: S (b x D x K),
c_B^T Q^T (d x K x b), (q Xa)^T Q (D x b x K); mat-vecs P c and q_w P.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

_BLOCK_ELEMS = 1 << 18          # CPU: a (block, K) float32 buffer of 1 MiB stays in L2
_GPU_BLOCK_ELEMS = 1 << 25      # GPU: few, large launches


@dataclass(frozen=True)
class FusedActivation:
    """h = alpha P + beta and h' = gamma Q with P = p(s0 * S) in place and Q = q(P) (into a buffer)."""

    s0: float
    p_: Callable[[torch.Tensor], torch.Tensor]                 # in place on the pre-activation buffer
    q: Callable[[torch.Tensor, torch.Tensor], None] | None      # (P, out) -> None; None: h' = 1
    alpha: float
    beta: float
    gamma: float


def _q_logistic(P: torch.Tensor, out: torch.Tensor) -> None:
    torch.addcmul(P, P, P, value=-1.0, out=out)                 # P - P^2


def _q_step(P: torch.Tensor, out: torch.Tensor) -> None:
    torch.sign(P, out=out)                                      # relu'(s) = 1[s > 0] = sign(relu(s))


FUSED: dict[str, FusedActivation] = {
    "tanh": FusedActivation(2.0, torch.sigmoid_, _q_logistic, 2.0, -1.0, 4.0),
    "sigmoid": FusedActivation(1.0, torch.sigmoid_, _q_logistic, 1.0, 0.0, 1.0),
    "relu": FusedActivation(1.0, torch.relu_, _q_step, 1.0, 0.0, 1.0),
    "identity": FusedActivation(1.0, lambda s: s, None, 1.0, 0.0, 1.0),
}


class Workspace:
    """Two (block, K) scratch buffers per (K, dtype, device); reused by every step of a run."""

    def __init__(self) -> None:
        self._bufs: dict = {}

    def buffers(self, K: int, dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        key = (K, dtype, str(device))
        if key not in self._bufs:
            b = max(1, (_BLOCK_ELEMS if torch.device(device).type == "cpu" else _GPU_BLOCK_ELEMS) // K)
            self._bufs[key] = (torch.empty(b, K, dtype=dtype, device=device),
                               torch.empty(b, K, dtype=dtype, device=device))
        return self._bufs[key]


@dataclass(frozen=True, eq=False)
class Evaluation:
    """First variations and their gradients at one iterate."""

    U_pi: torch.Tensor        # (n, m)
    grad_Zt: torch.Tensor     # (n, m, d+1)
    U: float
    U_nu: torch.Tensor | None = None     # (K,)
    grad_a: torch.Tensor | None = None   # (K,)
    grad_B: torch.Tensor | None = None   # (K, d+1)


def evaluate(ws: Workspace, activation: str, Z: torch.Tensor, p: torch.Tensor, c_a: float,
             a: torch.Tensor, B: torch.Tensor, alpha: torch.Tensor, Zt: torch.Tensor, omega: torch.Tensor,
             learner: bool = True) -> Evaluation:
    """U_pi, grad_z~ U_pi, U and (if `learner`) U_nu, grad_a U_nu, grad_B U_nu in one blocked pass."""
    fa = FUSED[activation]
    n, m, D = Zt.shape
    d, N, K = D - 1, n * m, B.shape[0]
    P_buf, Q_buf = ws.buffers(K, B.dtype, B.device)
    rows = P_buf.shape[0]
    flat = Zt.reshape(N, D)
    Xa = torch.cat([flat[:, :d], torch.ones_like(flat[:, :1])], 1)          # (N, D)
    Bt = (fa.s0 * B).T.contiguous()                                          # (D, K)
    c = alpha * a
    cBxT = (fa.gamma * c[:, None] * B[:, :d]).T.contiguous()                 # (d, K)
    w = (p[:, None] * omega).reshape(N)
    sum_c = float(c.sum()) * fa.beta
    r = torch.empty(N, dtype=B.dtype, device=B.device)
    gxT = torch.empty(d, N, dtype=B.dtype, device=B.device)
    if learner:
        gP = torch.zeros(K, dtype=B.dtype, device=B.device)
        gBT = torch.zeros(D, K, dtype=B.dtype, device=B.device)
    for s in range(0, N, rows):
        e = min(N, s + rows)
        P, Q = P_buf[: e - s], Q_buf[: e - s]
        xa = Xa[s:e]
        torch.mm(xa, Bt, out=P)
        P = fa.p_(P)
        rb = r[s:e]
        torch.mv(P, c, out=rb)
        rb.mul_(fa.alpha).add_(sum_c - flat[s:e, d])
        if fa.q is None:
            Q = Q.fill_(1.0)
        else:
            fa.q(P, Q)
        gxT[:, s:e] = cBxT @ Q.T
        if learner:
            qw = 2.0 * w[s:e] * rb
            gP.addmv_(P.T, qw)
            gBT.addmm_((qw[:, None] * xa).T, Q)
    disp = Zt - Z[:, None, :]
    U_pi = (r * r).reshape(n, m) - c_a * (disp * disp).sum(-1)
    grad = torch.cat([2.0 * r[:, None] * gxT.T, -2.0 * r[:, None]], 1).reshape(n, m, D) - 2.0 * c_a * disp
    U = float((w.reshape(n, m) * U_pi).sum())
    if not learner:
        return Evaluation(U_pi, grad, U)
    gH = fa.alpha * gP + fa.beta * float((2.0 * w * r).sum())               # q_w @ H
    grad_B = (fa.gamma * a)[:, None] * gBT.T
    return Evaluation(U_pi, grad, U, a * gH, gH, grad_B)
