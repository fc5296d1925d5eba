"""The mean-field example and benchmark run end to end on tiny sizes and write what they promise."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load(rel: str):
    spec = importlib.util.spec_from_file_location(rel.replace("/", "_")[:-3], ROOT / rel)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    """One torch thread for every test of this module (conftest.one_torch_thread)."""


def test_benchmark_quick_json(tmp_path):
    bench = _load("benchmarks/meanfield.py")
    out = tmp_path / "b.json"
    res = bench.main(["--quick", "--dims", "2", "--n", "30", "--width", "16", "--m", "2", "--steps", "20",
                      "--gap-iters", "20", "--gap-rounds", "3", "--mm-size", "256", "--out", str(out)])
    data = json.loads(out.read_text())
    assert data == res
    (w,) = data["workloads"]
    assert [r["method"] for r in w["results"]] == ["wfr", "gda", "wrm"]
    for r in w["results"]:
        assert r["grad_evals"] == 20 and r["steps_per_second"] > 0 and 0 < r["fraction_of_matmul"]
        assert r["fraction_of_matmul_with_elementwise"] > r["fraction_of_matmul"]
        for key in ("gap_avg", "gap_avg_tail", "gap_last"):
            g = r[key]
            assert g["sup_value"] >= g["U_value"] - 1e-9 >= g["inf_value"] - 2e-9
            assert g["inf_lower"] <= g["inf_value"] + 1e-12
    assert w["gda_over_wfr_gap_avg"] == w["results"][1]["gap_avg"]["gap"] / w["results"][0]["gap_avg"]["gap"]
    # split by method and merged: the same rows and ratios
    parts = []
    for meth in ("gda", "wfr"):
        parts.append(tmp_path / f"{meth}.json")
        bench.main(["--quick", "--dims", "2", "--n", "20", "--width", "8", "--m", "2", "--steps", "10",
                    "--gap-iters", "10", "--gap-rounds", "1", "--mm-size", "128", "--methods", meth,
                    "--out", str(parts[-1])])
    (tw,) = bench.main(["--quick", "--dims", "2", "--n", "20", "--width", "8", "--m", "2", "--time-steps", "3",
                        "--mm-size", "128", "--methods", "wfr", "gda"])["workloads"]
    assert [r["steps"] for r in tw["results"]] == [3, 3] and "gda_over_wfr_gap_avg" not in tw
    assert all(r["grad_evals_per_second"] == r["steps_per_second"] > 0 for r in tw["results"])
    relu = bench.main(["--quick", "--dims", "2", "--n", "20", "--width", "8", "--m", "2", "--time-steps", "3",
                       "--mm-size", "128", "--methods", "wfr", "--activation", "relu"])
    assert relu["config"]["activation"] == "relu" and relu["workloads"][0]["results"][0]["steps"] == 3
    assert bench.make_game(10, 2, 4, 0, "relu").activation == "relu"
    (mw,) = bench.main(["--merge", *map(str, parts), "--out", str(tmp_path / "m.json")])["workloads"]
    assert [r["method"] for r in mw["results"]] == ["gda", "wfr"]
    assert mw["gda_over_wfr_gap_last"] == mw["results"][0]["gap_last"]["gap"] / mw["results"][1]["gap_last"]["gap"]


def test_example_quick(tmp_path):
    # the diabetes data set comes from scikit-learn (in the 'test' extra, which CI installs)
    ex = _load("examples/meanfield_regression.py")
    rep = ex.main(["--quick", "--evals", "20", "--width", "8", "--points", "2", "--out", str(tmp_path)])
    assert set(rep) == {"1d", "5d", "diabetes"}
    for name in rep:
        assert (tmp_path / f"meanfield_{name}.png").stat().st_size > 1000
        assert rep[name]["wrm"]["grad_evals"] == rep[name]["wfr"]["grad_evals"] == 20
    assert json.loads((tmp_path / "meanfield_report.json").read_text()) == json.loads(json.dumps(rep))
