"""The benchmark runner on a tiny fake MNIST directory: structure, pair counts, floor counts."""
from __future__ import annotations

import gzip
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from robustdsl.solvers.pairs import exact_dist

ROOT = Path(__file__).resolve().parents[1]


def _runner():
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "benchmarks" / "run.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["bench_run"] = mod          # dataclasses look their module up here
    spec.loader.exec_module(mod)
    return mod


def _write_idx(path: Path, arr: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, arr.ndim]) + np.array(arr.shape, dtype=">u4").tobytes()
    path.write_bytes(gzip.compress(header + arr.astype(np.uint8).tobytes()))


def pair_lp(n: int, I: np.ndarray, J: np.ndarray) -> float:
    """max sum_e w_e s.t. sum_{e at v} w_e <= 1/n, w >= 0 (scipy linprog)."""
    from scipy.optimize import linprog

    if I.size == 0:
        return 0.0
    A = np.zeros((n, I.size))
    A[I, np.arange(I.size)] = 1.0
    A[J, np.arange(I.size)] = 1.0
    res = linprog(-np.ones(I.size), A_ub=A, b_ub=np.full(n, 1.0 / n), bounds=(0, None), method="highs")
    assert res.status == 0
    return -res.fun


@pytest.fixture
def fake_mnist(tmp_path):
    rng = np.random.default_rng(0)
    for part, n in (("train", 120), ("t10k", 30)):
        labels = rng.permutation(np.arange(n) % 10)
        base = rng.integers(0, 256, size=(10, 28, 28))
        noise = rng.integers(-40, 41, size=(n, 28, 28))
        imgs = np.clip(base[labels] + noise, 0, 255)
        _write_idx(tmp_path / f"{part}-images-idx3-ubyte.gz", imgs)
        _write_idx(tmp_path / f"{part}-labels-idx1-ubyte.gz", labels)
    return tmp_path


def test_runner_writes_json_with_every_stage(fake_mnist, tmp_path):
    run = _runner()
    out = tmp_path / "res.json"
    res = run.main(["--workload", "W1", "W3", "--n-per-class", "6", "--eps", "2", "4",
                    "--mnist", str(fake_mnist), "--out", str(out), "--quiet"])
    assert json.loads(out.read_text()) == json.loads(json.dumps(res))
    X, y = run.load_mnist(fake_mnist, "train")
    assert X.shape == (120, 784) and X.max() <= 1.0 and X.min() >= 0.0
    for w, classes in zip(res["workloads"], ((1, 4, 7), (3, 7))):
        assert w["classes"] == list(classes) and w["n"] == 6 * len(classes)
        idx = np.concatenate([np.flatnonzero(y == c)[:6] for c in classes])   # file order
        Xw, yw = X[idx], y[idx]
        u, v = np.triu_indices(len(yw), 1)
        cross = yw[u] != yw[v]
        assert w["floor"]["distances"] == int(cross.sum())
        assert w["floor"]["seconds"] >= 0 and w["floor"]["maxrss_bytes"] > 0
        d = exact_dist(Xw[u[cross]], Xw[v[cross]], 2.0)
        assert [r["eps"] for r in w["runs"]] == [2.0, 4.0]
        for r in w["runs"]:
            assert r["pairs"]["count"] == int((d <= 2 * r["eps"]).sum())
            assert r["pairs"]["tracemalloc_peak_bytes"] > 0
            (s,) = r["solves"]
            assert s["requested_backend"] == "highs" and s["max_group_size"] is None
            assert s["status"] == "optimal" and s["lower"] == s["value"] == s["upper"]
            assert 0.0 <= s["value"] <= 1.0 - 1.0 / len(classes) + 1e-9 and s["seconds"] > 0
            assert sum(s["groups_by_size"].values()) >= (1 if r["pairs"]["count"] else 0)
            assert s["stage_seconds"]
            if len(classes) == 2:       # K = 2: AT is the pair LP, solved here by scipy
                edge = d <= 2 * r["eps"]
                assert abs(s["value"] - pair_lp(len(yw), u[cross][edge], v[cross][edge])) <= 1e-7


def test_runner_full_workload_uses_train_then_test(fake_mnist, tmp_path):
    run = _runner()
    res = run.main(["--workload", "FULL_LINF", "--eps", "0.3", "--skip-solve", "--mnist",
                    str(fake_mnist), "--out", str(tmp_path / "r.json"), "--quiet", "--no-tracemalloc"])
    (w,) = res["workloads"]
    assert w["n"] == 150 and w["norm"] == "inf"
    assert w["runs"][0]["solves"] == [] and w["runs"][0]["pairs"]["tracemalloc_peak_bytes"] is None


def test_runner_refuses_missing_data(tmp_path):
    from robustdsl.errors import InvalidInput
    run = _runner()
    with pytest.raises(InvalidInput, match="--mnist"):
        run.main(["--mnist", str(tmp_path), "--out", str(tmp_path / "r.json"), "--quiet"])
