"""Determinism: the same input gives the bitwise same JSON (without timings) in one process twice,
in two separate processes with different hash seeds, and a permuted input gives the same value."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import robustdsl as rd

ROOT = Path(__file__).resolve().parents[1]

# (n, d, K, eps, norm, backend, options)
CASES = [
    (60, 3, 3, 0.7, 2, "highs", {}),
    (60, 3, 3, 0.5, "inf", "highs", {}),
    (30, 2, 3, 0.6, 1, "highs", {}),
    (60, 3, 3, 0.7, 2, "highs", {"max_group_size": 2}),
    (60, 3, 2, 0.7, 2, "flow", {}),
    (40, 3, 3, 0.7, 2, "cvxpy", {}),
]


def _problem(n, d, K, eps, norm, seed=0, perm=None, weights=False):
    rng = np.random.default_rng(seed)
    X, y = rng.normal(size=(n, d)), rng.integers(0, K, n)
    w = rng.uniform(0.5, 1.5, n) if weights else None
    if perm is not None:
        X, y = X[perm], y[perm]
        w = None if w is None else w[perm]
    mu = rd.EmpiricalMeasure.from_arrays(X, y, w)
    f = rd.Agnostic(classes=mu.classes)
    mt = rd.Adversary(mu)
    return rd.inf(f, rd.sup(mt, rd.E(mt, rd.ZeroOne(f)) - rd.OT(mu, mt, rd.Ball(eps, norm))))


def results() -> list[str]:
    return [_problem(n, d, K, eps, norm, weights=True).solve(backend, **opts).to_json(include_timings=False)
            for n, d, K, eps, norm, backend, opts in CASES]


CHILD = ("import sys, json; sys.path.insert(0, {tests!r}); import test_determinism as t; "
         "print(json.dumps(t.results()))")


def _start(hash_seed: str) -> subprocess.Popen:
    """results() in a fresh process with this hash seed (collected by _collect)."""
    return subprocess.Popen([sys.executable, "-c", CHILD.format(tests=str(ROOT / "tests"))],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONHASHSEED=hash_seed), cwd=ROOT)


def _collect(p: subprocess.Popen) -> list[str]:
    out, err = p.communicate(timeout=300)
    assert p.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def test_same_json_in_two_processes_and_in_this_one():
    procs = [_start("1"), _start("2")]             # separate processes, different hash seeds
    here = results()
    assert results() == here                       # same process twice
    a, b = (_collect(p) for p in procs)
    assert a == here and b == here
    for text in here:
        d = json.loads(text)
        assert "timings" not in d and d["lower"] <= d["value"] <= d["upper"]


@pytest.mark.parametrize("case", CASES[:4], ids=[f"{c[4]}-{c[5]}-{c[6]}" for c in CASES[:4]])
def test_permuted_input_gives_the_same_value(case):
    n, d, K, eps, norm, backend, opts = case
    base = _problem(n, d, K, eps, norm, weights=True).solve(backend, **opts)
    for s in range(3):
        perm = np.random.default_rng(100 + s).permutation(n)
        sol = _problem(n, d, K, eps, norm, perm=perm, weights=True).solve(backend, **opts)
        assert abs(sol.value - base.value) <= 1e-12 and sol.status == base.status
        # per-sample duals follow the samples
        assert np.allclose(sol.classifier(base.attack.points).sum(1), 1.0)


def test_back_ends_agree():
    vals = {b: _problem(40, 3, 3, 0.7, 2, weights=True).solve(b).value for b in ("highs", "cvxpy", "pyomo")}
    assert max(vals.values()) - min(vals.values()) <= 1e-9, vals
