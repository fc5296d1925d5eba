"""The command line: --help everywhere, a run on a spec file, clear one-message errors (exit 2)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import _fake_rule
from _fake_rule import fake_value
from robustdsl.cli import DEMO_CLASSES, DEMO_QUICK, main

TESTS = Path(__file__).resolve().parent
SPEC = "inf_f sup_{mu~} E_{mu~}[zero_one(f)] - OT_c(mu, mu~)\n"
WITH_FAKE = ("import sys; sys.path.insert(0, {tests!r}); import _fake_rule; _fake_rule.install(); "
             "from robustdsl.cli import main; sys.exit(main(sys.argv[1:]))")


def run_cli(*args: str, fake: bool = False) -> subprocess.CompletedProcess:
    code = WITH_FAKE.format(tests=str(TESTS)) if fake else "import sys; from robustdsl.cli import main; " \
                                                          "sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)


@pytest.fixture
def fake():
    rule = _fake_rule.install()
    yield rule
    _fake_rule.uninstall(rule)


@pytest.fixture
def spec(tmp_path):
    p = tmp_path / "ball.rdsl"
    p.write_text(SPEC)
    return p


@pytest.mark.parametrize("sub,words", [
    ([], ["solve", "export", "demo"]),
    (["solve"], ["--data", "--classes", "--per-class", "--eps", "--norm", "--backend", "--max-group-size",
                 "--time-limit", "--max-memory", "--progress", "--json", "--no-timings", "--plot", "--tau"]),
    (["export"], ["--data", "--eps", "OUTPUT"]),
    (["demo"], ["--out", "--quick"]),
])
def test_help_everywhere(sub, words):
    res = run_cli(*sub, "--help")
    assert res.returncode == 0 and res.stderr == ""
    for w in words:
        assert w in res.stdout


def test_console_script_installed():
    script = Path(sys.executable).with_name("robustdsl")
    assert script.exists(), "the `robustdsl` console script is missing: pip install -e . creates it"
    res = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and "demo" in res.stdout


def test_solve_spec_file_subprocess(spec, tmp_path):
    out, png = tmp_path / "out.json", tmp_path / "out.png"
    res = run_cli("solve", str(spec), "--data", "builtin:mnist2000", "--classes", "1,4,7", "--per-class", "5",
                  "--eps", "0.5,1,2", "--max-group-size", "2", "--json", str(out), "--plot", str(png), fake=True)
    assert res.returncode == 0, res.stderr
    data = json.loads(out.read_text())
    assert data["n"] == 15 and data["max_group_size"] == 2
    assert [r["eps"] for r in data["results"]] == [0.5, 1.0, 2.0]
    for r in data["results"]:
        assert r["value"] == pytest.approx(fake_value(r["eps"], 3, 2), abs=1e-15)
        assert r["status"] == "lower_bound" and r["backend"] == "fake"
        assert r["problem"] == SPEC.strip().replace("inf_f", "inf_{f}").replace("sup_{mu~}", "sup_{mu~}") \
            .replace("OT_c", "OT_{c}")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "eps = 2" in res.stdout


def test_solve_unsupported_structure_is_one_message(tmp_path):
    p = tmp_path / "sq.rdsl"
    p.write_text("inf_f sup_{mu~} E_{mu~}[squared(f)] - OT_c(mu, mu~)")
    res = run_cli("solve", str(p), "--data", "builtin:mnist2000", "--classes", "1,7", "--per-class", "3",
                  "--eps", "1")
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    assert res.stderr.startswith("robustdsl solve: error: no lowering rule accepts the structure: "
                                 "agnostic + squared + ball(l2)")


def test_pointwise_spec_uses_eps(tmp_path, fake, capsys):
    p = tmp_path / "pw.rdsl"
    p.write_text("inf_f E_mu[ sup_{x~ in B^{inf}_eps(x)} zero_one(f) ]")
    out = tmp_path / "pw.json"
    assert main(["solve", str(p), "--data", "builtin:mnist2000", "--classes", "1,7", "--per-class", "4",
                 "--eps", "0.1,0.2", "--norm", "inf", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["norm"] == "inf" and data["n"] == 8
    assert [r["value"] for r in data["results"]] == [fake_value(0.1, 2, None), fake_value(0.2, 2, None)]


def test_export(spec, tmp_path, fake, capsys):
    out = tmp_path / "p.lp"
    assert main(["export", str(spec), "--data", "builtin:mnist2000", "--classes", "1,7", "--per-class", "3",
                 "--eps", "1.5", str(out)]) == 0
    assert out.read_text().startswith("\\ fake lp eps=1.5")
    assert main(["export", str(spec), "--data", "builtin:mnist2000", "--eps", "1,2", str(out)]) == 2
    assert "export writes one program" in capsys.readouterr().err
    assert main(["export", str(spec), "--data", "builtin:mnist2000", "--eps", "1", str(tmp_path / "p.txt")]) == 2
    assert "no .lp or .mps suffix" in capsys.readouterr().err


def test_demo_quick_with_fake_rule(tmp_path, fake, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--quick", "--quiet", "--out", str(out)]) == 0
    report = json.loads((out / "demo.json").read_text())
    assert report["classes"] == list(DEMO_CLASSES) and report["quick"]
    assert [run["norm"] for run in report["runs"]] == ["2", "inf"]
    for run in report["runs"]:
        assert run["n"] == DEMO_QUICK["per_class"] * len(DEMO_CLASSES)
        assert run["eps"] == list(DEMO_QUICK["grid"][run["norm"]]) and run["monotone_in_L"]
        assert [c["label"] for c in run["curves"]] == ["AT_2", "AT_3", "AT"]
        for c in run["curves"]:
            assert c["value"] == [fake_value(e, len(DEMO_CLASSES), c["max_group_size"]) for e in run["eps"]]
    assert (out / "demo.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("argv,words", [
    (["solve", "{tmp}/missing.rdsl", "--data", "builtin:mnist2000", "--eps", "1"], ["SPEC_FILE", "does not exist"]),
    (["solve", "{spec}", "--data", "builtin:mnist2000", "--eps", "1", "--json", "{tmp}/no/dir/o.json"],
     ["--json", "does not exist"]),
    (["solve", "{spec}", "--data", "builtin:mnist2000", "--eps", "1", "--plot", "{tmp}"], ["--plot", "writable"]),
    (["solve", "{spec}", "--data", "{tmp}/nothing.npz", "--eps", "1"], ["does not exist"]),
    (["solve", "{spec}", "--data", "builtin:nope", "--eps", "1"], ["unknown built-in data set 'nope'"]),
    (["solve", "{spec}", "--data", "builtin:mnist2000"], ["--eps", "no radius"]),
    (["solve", "{spec}", "--data", "builtin:mnist2000", "--eps", "-1"], ["eps", ">= 0"]),
    (["solve", "{spec}", "--data", "builtin:mnist2000", "--eps", "1", "--norm", "3"], ["norm"]),
    (["solve", "{spec}", "--data", "builtin:mnist2000", "--classes", "1,11", "--eps", "1"], ["classes", "[11]"]),
    (["solve", "{spec}", "--data", "builtin:mnist2000", "--per-class", "0", "--eps", "1"], ["per_class"]),
    (["solve", "{bad}", "--data", "builtin:mnist2000", "--classes", "1,7", "--per-class", "1", "--eps", "1"],
     ["bad.rdsl: syntax error", "line 1, column 38", "^"]),
    (["solve", "{spec}", "--data", "builtin:mnist2000", "--classes", "1,7", "--per-class", "1", "--eps", "1",
      "--time-limit", "0"], ["--time-limit", "> 0"]),
    (["solve", "{spec}", "--data", "builtin:mnist2000", "--classes", "1,7", "--per-class", "1", "--eps", "1",
      "--max-memory", "-2"], ["--max-memory", "> 0"]),
    (["demo", "--out", "{spec}/sub"], ["--out", "cannot create directory"]),
])
def test_errors_are_one_message_exit_2(argv, words, spec, tmp_path, fake, capsys):
    bad = tmp_path / "bad.rdsl"
    bad.write_text("inf_f sup_{mu~} E_{mu~}[zero_one(f)] OT_c(mu, mu~)")
    argv = [a.format(tmp=tmp_path, spec=spec, bad=bad) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"robustdsl {argv[0]}: error:") and "Traceback" not in err
    for w in words:
        assert w in err


@pytest.mark.parametrize("argv", [["solve", "x", "--data", "d", "--classes", "a,b"],
                                  ["solve", "x", "--data", "d", "--eps", "one"], ["frobnicate"], []])
def test_bad_arguments_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as ei:
        main(argv)
    assert ei.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_power_cost_sweep_over_tau(spec, tmp_path, fake, capsys):
    out, png = tmp_path / "tau.json", tmp_path / "tau.png"
    assert main(["solve", str(spec), "--data", "builtin:mnist2000", "--classes", "0,1,2,3", "--per-class", "2",
                 "--tau", "0.5,2", "--p", "1", "--norm", "1", "--json", str(out), "--plot", str(png)]) == 0
    rows = json.loads(out.read_text())["results"]
    assert [r["tau"] for r in rows] == [0.5, 2.0]
    assert [r["value"] for r in rows] == [fake_value(0.5, 4, None), fake_value(2.0, 4, None)]
    assert png.exists() and "tau = 2" in capsys.readouterr().out


def _pair_lp_value(mu, eps: float) -> float:
    """AT for K = 2 by an independent LP: max sum_uv w_uv s.t. sum_{uv contains v} w_uv <= p_v (MATH.md (P))."""
    from scipy.optimize import linprog
    from scipy.spatial.distance import cdist
    d = cdist(mu.X, mu.X)
    u, v = np.nonzero(np.triu((d <= 2 * eps) & (mu.y[:, None] != mu.y[None, :])))
    A = np.zeros((mu.n, u.size))
    A[u, np.arange(u.size)] = A[v, np.arange(u.size)] = 1.0
    res = linprog(-np.ones(u.size), A_ub=A, b_ub=mu.weights, bounds=(0, None), method="highs")
    assert res.status == 0
    return -res.fun


def test_solve_with_the_real_rule_matches_an_independent_lp(spec, tmp_path, capsys):
    """End to end on real digits with the registered group-LP rule (no fake)."""
    from robustdsl.cli import load_measure
    out = tmp_path / "real.json"
    assert main(["solve", str(spec), "--data", "builtin:mnist2000", "--classes", "4,9", "--per-class", "15",
                 "--seed", "0", "--eps", "3,3.5,4", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["results"]
    mu = load_measure("builtin:mnist2000", [4, 9], 15, 0)
    expected = [_pair_lp_value(mu, e) for e in (3.0, 3.5, 4.0)]
    assert expected[-1] > expected[0] > 0
    assert [r["value"] for r in rows] == pytest.approx(expected, abs=1e-7)
    assert all(r["status"] == "optimal" and r["lower"] <= r["value"] <= r["upper"] for r in rows)


def test_solve_under_a_memory_budget_reports_a_certified_interval(spec, tmp_path, capsys):
    """--max-memory that cannot hold the conflict pairs: an interval containing the exact value."""
    from robustdsl.cli import load_measure
    from robustdsl.solvers.pair_budget import PAIR_BYTES
    from robustdsl.solvers.pairs import DEFAULT_MAX_BYTES, conflict_pairs

    out, tight = tmp_path / "exact.json", tmp_path / "tight.json"
    common = [str(spec), "--data", "builtin:mnist2000", "--classes", "1,4,7", "--per-class", "100", "--eps", "4"]
    mu = load_measure("builtin:mnist2000", [1, 4, 7], 100, None)
    pairs = conflict_pairs(mu.X, mu.y, 8.0, 2.0)[0].size
    gib = (12 * mu.X.size + DEFAULT_MAX_BYTES + pairs // 2 * PAIR_BYTES) / 2 ** 30   # room for half the pairs
    assert main(["solve", *common, "--json", str(out)]) == 0
    assert main(["solve", *common, "--max-memory", repr(gib), "--progress", "--json", str(tight)]) == 0
    exact, got = json.loads(out.read_text())["results"][0], json.loads(tight.read_text())["results"][0]
    assert exact["status"] == "optimal" and got["status"] == "interval"
    assert got["lower"] <= exact["value"] <= got["upper"] and got["lower"] < got["upper"]
    assert "memory budget" in got["info"]["reason"]


def test_no_timings_writes_the_same_file_twice(spec, tmp_path, capsys):
    """--no-timings leaves every wall-clock figure out: two runs write identical bytes (with timings
    they differ), and the values are those of the timed run."""
    common = ["solve", str(spec), "--data", "builtin:mnist2000", "--classes", "1,4,7", "--per-class", "30",
              "--eps", "3,4"]
    a, b, t = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "t.json"
    for path, extra in ((a, ["--no-timings"]), (b, ["--no-timings"]), (t, [])):
        assert main([*common, *extra, "--json", str(path)]) == 0
    assert a.read_bytes() == b.read_bytes()
    timed, untimed = json.loads(t.read_text())["results"], json.loads(a.read_text())["results"]
    assert all("seconds" in r and "timings" in r for r in timed)
    assert not any("seconds" in r or "timings" in r for r in untimed)
    assert [r["value"] for r in untimed] == [r["value"] for r in timed] and timed[-1]["value"] > 0
