"""Shared fixtures: small random instances and the shipped digits."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import robustdsl as rd

ROOT = Path(__file__).resolve().parents[1]
MNIST_DIR = ROOT.parent / "shared" / "data" / "mnist"


@pytest.fixture
def tiny():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(9, 2))
    y = np.array([0, 1, 2] * 3)
    return rd.EmpiricalMeasure.from_arrays(X, y)


def ball_problem(mu, eps=0.5, norm=2):
    f = rd.Agnostic(classes=mu.classes)
    mt = rd.Adversary(mu)
    return rd.inf(f, rd.sup(mt, rd.E(mt, rd.ZeroOne(f)) - rd.OT(mu, mt, rd.Ball(eps, norm))))


@pytest.fixture(scope="module")
def one_torch_thread():
    """Small tensors on a shared machine: one torch thread (OpenMP oversubscription costs 10-100x)."""
    import torch
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
