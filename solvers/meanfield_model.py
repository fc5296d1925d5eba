"""The mean-field learner f_nu(x) = sum_k alpha_k a_k h(b_k . [x, 1]) and the adversary's atoms.

Shared by the particle system (wfr), the Nash-gap estimate (nash_gap) and the front end's solution.
Activation table: h, h' (from s and h(s)), and sup|h|, sup|h'|, sup|h''| (for concavity bounds).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from robustdsl import _check


@dataclass(frozen=True)
class Activation:
    """h and its derivative; bounds sup|h|, sup|h'|, sup|h''| (inf when unbounded or undefined)."""

    name: str
    h: Callable[[torch.Tensor], torch.Tensor]
    dh: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]   # (s, h(s)) -> h'(s)
    sup_h: float
    sup_dh: float
    sup_d2h: float


def _tanh(s: torch.Tensor) -> torch.Tensor:
    """tanh(s) = 2 sigmoid(2s) - 1 (absolute error ~ machine epsilon; torch's CPU sigmoid is 4-7x faster)."""
    return torch.sigmoid(2.0 * s).mul_(2.0).sub_(1.0)


ACTIVATIONS: dict[str, Activation] = {
    "tanh": Activation("tanh", _tanh, lambda s, hs: 1.0 - hs * hs, 1.0, 1.0,
                       4.0 / (3.0 * math.sqrt(3.0))),
    "sigmoid": Activation("sigmoid", torch.sigmoid, lambda s, hs: hs * (1.0 - hs), 1.0, 0.25,
                          1.0 / (6.0 * math.sqrt(3.0))),
    "relu": Activation("relu", torch.relu, lambda s, hs: (s > 0).to(s.dtype), math.inf, 1.0, math.inf),
    "identity": Activation("identity", lambda s: s, lambda s, hs: torch.ones_like(s), math.inf, 1.0, 0.0),
}


def augment(x: torch.Tensor) -> torch.Tensor:
    """[x, 1]: append the bias coordinate on the last axis."""
    return torch.cat([x, torch.ones_like(x[..., :1])], dim=-1)


@dataclass(frozen=True, eq=False)
class LearnerMeasure:
    """nu = sum_k alpha_k delta_(a_k, b_k); b_k in R^(d+1) (last entry multiplies the bias 1)."""

    a: np.ndarray       # (K,)
    B: np.ndarray       # (K, d+1)
    alpha: np.ndarray   # (K,) >= 0, sums to 1
    activation: str

    def __call__(self, X: np.ndarray, chunk: int = 4096) -> np.ndarray:
        """f_nu(X) for an (n, d) array, in float64."""
        X = np.array(_check.points("X", X, self.B.shape[1] - 1))  # a private, contiguous copy
        act = ACTIVATIONS[self.activation]
        B = torch.from_numpy(self.B)
        c = torch.from_numpy(self.alpha * self.a)
        out = [act.h(augment(torch.from_numpy(X[s:s + chunk])) @ B.T) @ c for s in range(0, len(X), chunk)]
        return torch.cat(out).numpy() if out else np.zeros(0)

    @property
    def beta(self) -> np.ndarray:
        """sum_k alpha_k a_k b_k: the linear map f(x) = beta . [x, 1] when h is the identity."""
        return (self.alpha * self.a) @ self.B

    @staticmethod
    def mixture(parts: "list[LearnerMeasure]") -> "LearnerMeasure":
        """The uniform mixture (1/S) sum_s nu_s (f is linear in nu, so f_mix = mean of f_s)."""
        S = len(parts)
        return LearnerMeasure(np.concatenate([p.a for p in parts]), np.concatenate([p.B for p in parts]),
                              np.concatenate([p.alpha for p in parts]) / S, parts[0].activation)


@dataclass(frozen=True, eq=False)
class AdversaryMeasure:
    """pi = sum_i p_i sum_j omega_ij delta_(Z_i, Z~_ij); Z~ = (x~, y~) in R^(d+1), omega rows sum to 1."""

    Zt: np.ndarray      # (n, m, d+1)
    omega: np.ndarray   # (n, m)

    @staticmethod
    def mixture(parts: "list[AdversaryMeasure]") -> "AdversaryMeasure":
        S = len(parts)
        return AdversaryMeasure(np.concatenate([p.Zt for p in parts], axis=1),
                                np.concatenate([p.omega for p in parts], axis=1) / S)

    def barycenters(self) -> np.ndarray:
        """(n, d+1) the mean displaced point of every sample."""
        return np.einsum("nm,nmk->nk", self.omega, self.Zt)
