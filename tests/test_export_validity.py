"""Exported LP/MPS files of compiled problems: read by HiGHS and by an independent reader
(tests/test_export.py's parsers + scipy linprog) to the solved AT, with no NaN or inf anywhere."""
from __future__ import annotations

import math

import numpy as np
import pytest

import robustdsl as rd
from robustdsl.cli import main
from test_export import highs_read_value, parse_lp, parse_mps, solve_parsed

NON_FINITE = {"nan", "inf", "-inf", "+inf", "infinity", "-infinity", "+infinity"}


def finite_coefficients(text: str) -> bool:
    """True iff no token of an exported file reads as NaN or +-inf (names never do: w_..., s_...)."""
    return not any(tok.lower() in NON_FINITE for tok in text.replace(":", " ").split())


def _problem(norm, seed=0, n=24, K=3, eps=0.6):
    rng = np.random.default_rng(seed)
    mu = rd.EmpiricalMeasure.from_arrays(rng.normal(size=(n, 2)), rng.integers(0, K, n), rng.uniform(0.2, 2.0, n))
    f = rd.Agnostic(classes=mu.classes)
    mt = rd.Adversary(mu)
    return rd.inf(f, rd.sup(mt, rd.E(mt, rd.ZeroOne(f)) - rd.OT(mu, mt, rd.Ball(eps, norm))))


def _numbers_finite(text: str) -> bool:
    vals = []
    for tok in text.replace(":", " ").split():
        try:
            vals.append(float(tok))
        except ValueError:
            continue
    return bool(vals) and all(math.isfinite(v) for v in vals)


@pytest.mark.parametrize("norm", [2, "inf", 1])
@pytest.mark.parametrize("L", [None, 2])
@pytest.mark.parametrize("fmt", ["lp", "mps"])
def test_exported_file_solves_to_at(tmp_path, norm, L, fmt):
    prob = _problem(norm)
    value = prob.solve(max_group_size=L).value
    path = prob.compile(max_group_size=L).export(tmp_path / f"p.{fmt}")
    text = path.read_text()
    assert finite_coefficients(text) and _numbers_finite(text)
    assert abs(highs_read_value(path) - value) <= 1e-9
    obj, rows = (parse_lp if fmt == "lp" else parse_mps)(text)
    assert abs(solve_parsed(obj, rows) - value) <= 1e-9


def test_finite_check_catches_nan_and_inf():
    assert not finite_coefficients("obj: nan w_0_1")
    assert not finite_coefficients(" s_0: w_0_1 <= inf")
    assert finite_coefficients(" s_0: w_0_1 + 2 w_0_1_2 <= 0.5")


def test_cli_export_of_a_real_problem(tmp_path, capsys):
    spec = tmp_path / "s.rdsl"
    spec.write_text("inf_f sup_{mu~} E_{mu~}[zero_one(f)] - OT_c(mu, mu~)\n")
    out = tmp_path / "mnist.mps"
    code = main(["export", str(spec), "--data", "builtin:mnist2000", "--classes", "1,4,7", "--per-class", "12",
                 "--eps", "3.5", str(out)])
    assert code == 0, capsys.readouterr().err
    mu = rd.EmpiricalMeasure.builtin().subset([1, 4, 7], 12)
    f = rd.Agnostic(classes=mu.classes)
    mt = rd.Adversary(mu)
    at = rd.inf(f, rd.sup(mt, rd.E(mt, rd.ZeroOne(f)) - rd.OT(mu, mt, rd.Ball(3.5)))).solve().value
    assert at > 0 and abs(highs_read_value(out) - at) <= 1e-9
    assert finite_coefficients(out.read_text())


@pytest.mark.parametrize("norm", [2, "inf"])
@pytest.mark.filterwarnings("ignore:PULP_CBC_CMD is deprecated:DeprecationWarning")   # the CBC bundled with PuLP < 4
def test_mps_read_and_solved_by_pulp_cbc(tmp_path, norm):
    """A second, unrelated reader and solver: PuLP parses the MPS file and CBC solves it to AT."""
    import pulp

    prob = _problem(norm, seed=3)
    value = prob.solve().value
    path = prob.compile().export(tmp_path / "p.mps")
    text = path.read_text()
    assert "OBJSENSE" in text and "MAX" in text
    _, lp = pulp.LpProblem.fromMPS(str(path), sense=pulp.LpMaximize)
    cons = lp.constraints              # a list from a call in PuLP >= 3.3, a dict before
    names = [c.name for c in cons()] if callable(cons) else list(cons)
    assert names and all(name.startswith("s_") for name in names)  # rows named after samples
    assert len(names) <= prob.form.mu.n  # (PuLP drops the empty rows of isolated samples)
    status = lp.solve(pulp.PULP_CBC_CMD(msg=0))
    assert pulp.LpStatus[status] == "Optimal"
    assert abs(pulp.value(lp.objective) - value) <= 1e-7
