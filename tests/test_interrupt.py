"""Time limits and Ctrl-C: a solve stops promptly and reports a certified interval containing AT.

Ctrl-C is a real SIGINT sent to a subprocess while it is inside the cutting-plane loop (the LP
back end is slowed down there so the signal lands mid-solve); the child catches
TimeLimitReached and prints its interval, which must contain the exact AT computed here.
"""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import robustdsl as rd
from robustdsl.errors import TimeLimitReached
from robustdsl.solvers import lp_highs

ROOT = Path(__file__).resolve().parents[1]


def instance(n=200, d=4, K=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.integers(0, K, n)


def problem(X, y, eps=0.6, norm=2):
    mu = rd.EmpiricalMeasure.from_arrays(X, y)
    f = rd.Agnostic(classes=mu.classes)
    mt = rd.Adversary(mu)
    return rd.inf(f, rd.sup(mt, rd.E(mt, rd.ZeroOne(f)) - rd.OT(mu, mt, rd.Ball(eps, norm))))


# A runner may start the suite with SIGINT ignored (a background job: `cmd &` in a script), and
# children inherit that; each child restores Python's own Ctrl-C handler, as in a user's session.
RESTORE = "import signal; signal.signal(signal.SIGINT, signal.default_int_handler)"

CHILD = RESTORE + r"""
import json, sys, time
import numpy as np
sys.path.insert(0, {tests!r})
from test_interrupt import instance, problem
from robustdsl.errors import TimeLimitReached
from robustdsl.solvers import lp_highs

calls = [0]
def slowed(orig):
    def slow(self, time_limit=None):
        res = orig(self, time_limit)
        calls[0] += 1
        print("LP", calls[0], flush=True)
        if calls[0] >= 2:
            time.sleep(120)          # Ctrl-C lands here, inside the cutting-plane loop
        return res
    return slow
for cls in (lp_highs.HighsGroupLP, lp_highs.HighsCutLP):   # column form and row (pool) form
    cls.solve = slowed(cls.solve)
try:
    sol = problem(*instance()).solve()
    print(json.dumps({{"finished": True, "value": sol.value}}), flush=True)
except TimeLimitReached as exc:
    print(json.dumps({{"lower": exc.lower, "upper": exc.upper, "status": exc.solution.status,
                      "interrupted": exc.solution.info.get("interrupted", False), "message": str(exc)}}),
          flush=True)
"""


@pytest.fixture(scope="module")
def exact():
    sol = problem(*instance()).solve()
    assert sol.exact and sol.info["separation_rounds"] >= 2      # the loop has rounds to interrupt
    return sol.value


def test_sigint_returns_certified_interval(exact):
    code = CHILD.format(tests=str(ROOT / "tests"))
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=ROOT)
    try:
        t_end = time.monotonic() + 120
        seen = []
        while time.monotonic() < t_end:
            line = proc.stdout.readline()
            if not line:
                break
            seen.append(line.strip())
            if line.startswith("LP 2"):
                time.sleep(0.2)
                proc.send_signal(signal.SIGINT)
                t0 = time.monotonic()
                out, err = proc.communicate(timeout=60)
                stopped_in = time.monotonic() - t0
                break
        else:
            pytest.fail(f"the child never reached its second LP: {seen}")
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    res = json.loads(out.strip().splitlines()[-1])
    assert res["status"] == "interval" and res["interrupted"] is True
    assert "interrupted" in res["message"]
    assert res["lower"] <= exact + 1e-9 <= res["upper"] + 2e-9
    assert res["lower"] > 0.0                                  # the first LP round's restriction is kept
    assert stopped_in < 30


def test_time_limit_mid_loop_gives_interval_containing_at(exact, monkeypatch):
    calls = []

    def slowed(orig):
        def slow(self, time_limit=None):
            res = orig(self, time_limit)
            calls.append(1)
            if len(calls) >= 2:
                time.sleep(0.6)
            return res
        return slow

    for cls in (lp_highs.HighsGroupLP, lp_highs.HighsCutLP):   # column form and row (pool) form
        monkeypatch.setattr(cls, "solve", slowed(cls.solve))
    t0 = time.perf_counter()
    sol = problem(*instance()).solve(time_limit=0.5)
    assert time.perf_counter() - t0 < 10
    assert sol.status == "interval" and not sol.exact
    assert 0 < sol.lower <= exact + 1e-9 and sol.upper >= exact - 1e-9
    assert json.loads(sol.to_json(include_timings=False))["status"] == "interval"


def test_time_limit_on_a_problem_too_big_to_finish():
    """5 classes, 800 points in 5-D, large eps: an exact solve takes far longer than 1 s."""
    X, y = instance(n=800, d=5, K=5, seed=0)
    t0 = time.perf_counter()
    sol = problem(X, y, eps=0.8).solve(time_limit=1.0)
    elapsed = time.perf_counter() - t0
    assert sol.status == "interval" and elapsed < 15
    assert 0 <= sol.lower <= sol.upper <= 1.0
    # AT_2 <= AT <= upper (components not reached by the deadline count 0 in the lower end)
    at2 = problem(X, y, eps=0.8).solve("flow", max_group_size=2).value
    assert sol.upper >= at2


def test_time_limit_before_any_lp_keeps_trivial_valid_bounds(exact):
    sol = problem(*instance()).solve(time_limit=1e-9)
    assert sol.status == "interval" and sol.lower <= exact <= sol.upper


def test_interval_error_carries_bounds():
    err = TimeLimitReached("x", lower=0.1, upper=0.2)
    assert (err.lower, err.upper) == (0.1, 0.2)


def test_cli_sweep_stops_at_an_interrupt_and_writes_what_it_has(tmp_path, monkeypatch, capsys):
    import types

    from robustdsl.cli import main
    from robustdsl.problem import Problem

    calls = []

    def interrupted_solve(self, backend=None, **opts):
        calls.append(1)
        raise TimeLimitReached("interrupted", lower=0.1, upper=0.3,
                               solution=types.SimpleNamespace(info={"interrupted": True}), interrupted=True)
    monkeypatch.setattr(Problem, "solve", interrupted_solve)
    spec = tmp_path / "s.rdsl"
    spec.write_text("inf_f sup_{mu~} E_{mu~}[zero_one(f)] - OT_c(mu, mu~)\n")
    out = tmp_path / "r.json"
    code = main(["solve", str(spec), "--data", "builtin:mnist2000", "--classes", "1,7", "--per-class", "5",
                 "--eps", "1,2,3", "--json", str(out)])
    assert code == 130 and len(calls) == 1
    rows = json.loads(out.read_text())["results"]
    assert len(rows) == 1 and rows[0]["lower"] == 0.1 and rows[0]["upper"] == 0.3
    assert "interrupted at eps = 1" in capsys.readouterr().err


CHILD_REAL = RESTORE + r"""
import json, sys
sys.path.insert(0, {tests!r})
from test_interrupt import instance, problem
from robustdsl.errors import TimeLimitReached
problem(*instance(n=12, d=2, K=3, seed=1), eps=0.3).solve()  # warm-up: every solver module imported
p = problem(*instance(n=800, d=5, K=5, seed=0), eps=0.8)
print("start", flush=True)
try:
    sol = p.solve()
    print(json.dumps({{"finished": True}}), flush=True)
except TimeLimitReached as exc:
    print(json.dumps({{"lower": exc.lower, "upper": exc.upper, "status": exc.solution.status}}), flush=True)
"""


@pytest.mark.parametrize("delay", [0.4, 1.5])
def test_sigint_during_an_unpatched_long_solve(delay):
    """No instrumentation: Ctrl-C `delay` s into a solve that would run for minutes (early: the pair
    flow / first separation; later: the LP loop)."""
    proc = subprocess.Popen([sys.executable, "-c", CHILD_REAL.format(tests=str(ROOT / "tests"))],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert proc.stdout.readline().startswith("start")
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    res = json.loads(out.strip().splitlines()[-1])
    assert res["status"] == "interval" and 0 <= res["lower"] <= res["upper"] <= 1


def test_highs_time_limit_is_per_solve_not_cumulative():
    """HiGHS measures time_limit against its run time summed over all runs of one object: passing
    the remaining seconds stopped later warm re-solves early (a solve with a 60 s limit ended at 33 s).
    The limit handed to HiGHS must be the run time so far plus the seconds left."""
    from robustdsl.ir import GroupSet
    rng = np.random.default_rng(0)
    n = 300
    solver = lp_highs.HighsGroupLP(rng.uniform(0.1, 1.0, n))
    solver.add_groups(GroupSet.from_rows(np.array([rng.choice(n, 3, replace=False) for _ in range(2000)])))
    solver.solve()
    before = solver._h.getRunTime()
    assert before > 0
    solver.add_groups(GroupSet.from_rows(np.array([rng.choice(n, 2, replace=False) for _ in range(500)])))
    res = solver.solve(time_limit=1e-3 + before / 2)
    assert res.status == "Optimal"
    opt = solver._h.getOptionValue("time_limit")
    opt = opt[1] if isinstance(opt, tuple) else opt
    assert opt == pytest.approx(before + 1e-3 + before / 2)


def _raise_on_call(n):
    """A stand-in that raises KeyboardInterrupt on its n-th call (1-based), as Ctrl-C would there."""
    count = []

    def wrap(orig):
        def inner(*a, **k):
            count.append(1)
            if len(count) == n:
                raise KeyboardInterrupt
            return orig(*a, **k)
        return inner
    return wrap


@pytest.mark.parametrize("route", ["group", "power"])
def test_ctrl_c_outside_the_lp_loop_is_a_typed_interruption(route, monkeypatch):
    # Ctrl-C while the answer is built or certified (group LP), or anywhere in the barycenter route:
    # TimeLimitReached(interrupted=True), not a raw KeyboardInterrupt from inside a solver
    from robustdsl.lowering.barycenter_lp import BarycenterLPRule
    from robustdsl.lowering.group_lp_ball import GroupLPBallRule
    X, y = instance(n=30, d=2, K=3, seed=2)
    X0 = X.copy()
    if route == "group":
        monkeypatch.setattr(GroupLPBallRule, "invert", _raise_on_call(1)(GroupLPBallRule.invert))
        p = problem(X, y, eps=0.5)
    else:
        monkeypatch.setattr(BarycenterLPRule, "solve", _raise_on_call(1)(BarycenterLPRule.solve))
        mu = rd.EmpiricalMeasure.from_arrays(X, y)
        f, mt = rd.Agnostic(mu.classes), rd.Adversary(mu)
        p = rd.inf(f, rd.sup(mt, rd.E(mt, rd.ZeroOne(f)) - rd.OT(mu, mt, rd.Power(2.0, tau=0.5))))
    with pytest.raises(TimeLimitReached) as err:
        p.solve()
    assert err.value.interrupted and "interrupted" in str(err.value) and np.array_equal(X, X0)


def test_solve_curve_stops_at_ctrl_c(monkeypatch):
    # Ctrl-C while the second eps is certified: the first keeps its exact value, the second and third
    # are certified intervals [floor, mass (1 - 1/K)] and are not solved (the sweep stops)
    import robustdsl.lowering.group_lp_ball as glb
    from robustdsl.solvers import cutting_plane
    from robustdsl.solvers.sweep import solve_curve
    X, y = instance(n=40, d=2, K=3, seed=3)
    calls = []
    monkeypatch.setattr(cutting_plane, "solve", (lambda orig: lambda *a, **k: calls.append(1) or orig(*a, **k))(
        cutting_plane.solve))
    monkeypatch.setattr(glb, "solution_from", _raise_on_call(2)(glb.solution_from))
    curve = solve_curve(X, y, [0.2, 0.4, 0.6])
    assert len(calls) == 2 and curve[0].status == "optimal"
    assert [s.status for s in curve[1:]] == ["interval", "interval"]
    for s in curve[1:]:
        assert s.lower == pytest.approx(curve[0].value) and "interrupted" in s.info["reason"]
        assert s.certificate().ok


def test_cli_ctrl_c_in_a_certificate_writes_the_rows_so_far(tmp_path, monkeypatch):
    from robustdsl.cli import main
    from robustdsl.lowering.group_lp_ball import GroupLPBallRule
    monkeypatch.setattr(GroupLPBallRule, "invert", _raise_on_call(2)(GroupLPBallRule.invert))
    spec = tmp_path / "s.rdsl"
    spec.write_text("inf_f sup_{mu~} E_{mu~}[zero_one(f)] - OT_c(mu, mu~)\n")
    out = tmp_path / "r.json"
    code = main(["solve", str(spec), "--data", "builtin:mnist2000", "--classes", "1,7", "--per-class", "5",
                 "--eps", "1,2,3", "--json", str(out)])
    rows = json.loads(out.read_text())["results"]
    assert code == 130 and len(rows) == 2 and rows[0]["status"] == "optimal" and rows[1]["lower"] is None


def test_demo_ctrl_c_exits_130(tmp_path, monkeypatch, capsys):
    from robustdsl import cli
    monkeypatch.setattr(cli, "DEMO_QUICK", {"per_class": 3, "grid": {"2": (2.0,), "inf": (0.3,)}})
    monkeypatch.setattr(rd.Problem, "solve", lambda self, *a, **k: (_ for _ in ()).throw(
        TimeLimitReached("interrupted", interrupted=True)))
    assert cli.main(["demo", "--quick", "--quiet", "--out", str(tmp_path)]) == 130
    assert "interrupted" in capsys.readouterr().err


def test_group_lp_bar_reports_the_work_inside_a_component(capsys):
    """progress=True: the bar over components also shows the stages and LP solves inside one (a
    single big component used to sit at 0/1 for the whole solve); the value is unchanged."""
    X, y = instance()
    quiet = problem(X, y).solve()
    shown = problem(X, y).solve(progress=True)
    err = capsys.readouterr().err
    assert shown.value == quiet.value and quiet.info["separation_rounds"] > 1
    assert "group LP components" in err and "LP solves" in err and "s in LP" in err
