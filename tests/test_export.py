"""LP/MPS export of (P): golden files, round trip through HiGHS and through an independent parser."""
from __future__ import annotations

import re
from pathlib import Path

import highspy
import numpy as np
import pytest
from scipy.optimize import linprog

from robustdsl.errors import InvalidInput
from robustdsl.ir.group_lp import GroupSet, LPData
from robustdsl.solvers.lp_backends import solve_lp
from robustdsl.solvers.lp_export import column_names, write_lp

GOLDEN = Path(__file__).resolve().parent / "golden"


def tiny() -> LPData:
    """5 samples; pairs (one repeated, one with B > 1 so a negative gain), one triple."""
    gs = GroupSet.concat([
        GroupSet.from_rows([[0, 1], [2, 1], [2, 3], [1, 0], [3, 4]], [0.0, 0.25, 0.0, 0.0, 1.5]),
        GroupSet.from_rows([[0, 1, 2]], [1.5]),
    ])
    return LPData(np.array([0.25, 0.25, 0.25, 0.125, 0.125]), gs)


def random_lp(seed: int, budget: bool) -> LPData:
    rng = np.random.default_rng(seed)
    n, parts = 30, []
    for k in (2, 3, 4):
        rows = np.array([rng.choice(n, k, replace=False) for _ in range(40)])
        parts.append(GroupSet.from_rows(rows, rng.uniform(0, k, 40) * (rng.random(40) < 0.6)))
    return LPData(rng.uniform(0.01, 1, n), GroupSet.concat(parts), 0.7 if budget else None)


def highs_read_value(path: Path) -> float:
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    assert h.readModel(str(path)) == highspy.HighsStatus.kOk
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    assert h.getLp().sense_ == highspy.ObjSense.kMaximize
    return h.getInfo().objective_function_value


TERM = re.compile(r"([+-])?\s*(\d[0-9.eE+-]*\s+)?(w_[0-9_]+)")


def parse_lp(text: str):
    """A small independent reader of the LP subset we write: (obj, rows, rhs) as dicts."""
    body = re.sub(r"\\[^\n]*\n", "", text)
    assert body.startswith("Maximize\n")
    obj_part, cons_part = body[len("Maximize\n"):].split("Subject To\n")
    cons_part = cons_part.split("End")[0]

    def terms(s):
        out = {}
        for sign, coef, name in TERM.findall(s):
            v = float(coef) if coef.strip() else 1.0
            out[name] = out.get(name, 0.0) + (-v if sign == "-" else v)
        return out

    obj = terms(obj_part.split(":", 1)[1])
    rows = {}
    for chunk in re.findall(r"\s*(\w+):(.*?)<=\s*([0-9.eE+-]+)\n", cons_part, flags=re.S):
        rows[chunk[0]] = (terms(chunk[1]), float(chunk[2]))
    return obj, rows


def parse_mps(text: str):
    """An independent reader of the free MPS subset we write."""
    lines = [ln.split() for ln in text.splitlines() if ln and not ln.startswith("*")]
    sec, obj, rows, rhs = None, {}, {}, {}
    for tok in lines:
        if len(tok) == 1 and tok[0] in ("ROWS", "COLUMNS", "RHS", "ENDATA", "OBJSENSE"):
            sec = tok[0]
        elif sec == "ROWS" and tok[0] == "L":
            rows[tok[1]] = {}
        elif sec == "COLUMNS":
            (obj if tok[1] == "obj" else rows[tok[1]])[tok[0]] = float(tok[2])
        elif sec == "RHS":
            rhs[tok[1]] = float(tok[2])
        elif sec == "OBJSENSE":
            assert tok == ["MAX"]
    return obj, {k: (v, rhs[k]) for k, v in rows.items()}


def solve_parsed(obj, rows) -> float:
    names = sorted(set(obj) | {c for r, _ in rows.values() for c in r})
    col = {c: j for j, c in enumerate(names)}
    A = np.zeros((len(rows), len(names)))
    b = np.zeros(len(rows))
    for i, (r, ub) in enumerate(rows.values()):
        for c, v in r.items():
            A[i, col[c]] = v
        b[i] = ub
    cvec = np.array([obj.get(c, 0.0) for c in names])
    res = linprog(-cvec, A_ub=A, b_ub=b, bounds=(0, None), method="highs")
    assert res.status == 0
    return -res.fun


@pytest.mark.parametrize("fmt", ["lp", "mps"])
def test_golden(tmp_path, fmt):
    out = write_lp(tiny(), tmp_path / f"tiny.{fmt}")
    assert out.read_text() == (GOLDEN / f"tiny.{fmt}").read_text()


def test_column_names():
    names = column_names(tiny())
    assert list(names) == ["w_0_1", "w_1_2", "w_2_3", "w_0_1__2", "w_3_4", "w_0_1_2"]
    big = LPData(np.ones(500), GroupSet.from_rows([[402, 3, 17]]))
    assert list(column_names(big)) == ["w_3_17_402"]


@pytest.mark.parametrize("budget", [False, True])
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("fmt", ["lp", "mps"])
def test_round_trip_same_optimum(tmp_path, seed, budget, fmt):
    data = random_lp(seed, budget)
    path = write_lp(data, tmp_path / f"p.{fmt}")
    text = path.read_text()
    assert "nan" not in text.lower() and "inf" not in text.lower()
    value = solve_lp("highs", data).value
    assert abs(highs_read_value(path) - value) <= 1e-7
    parsed = parse_lp(text) if fmt == "lp" else parse_mps(text)
    assert abs(solve_parsed(*parsed) - value) <= 1e-7
    assert ("budget" in parsed[1]) == budget


def test_fmt_argument_and_line_length(tmp_path):
    data = LPData(np.ones(60) / 60, GroupSet.from_rows(np.column_stack([np.zeros(59, int), np.arange(1, 60)])))
    path = write_lp(data, tmp_path / "model.txt", fmt="lp")
    text = path.read_text()
    assert max(map(len, text.splitlines())) < 255
    assert text.count("w_0_59 ") + text.count("w_0_59\n") == 3  # objective, s_0, s_59
    with pytest.raises(InvalidInput, match="fmt"):
        write_lp(data, tmp_path / "model.txt")
    with pytest.raises(InvalidInput, match="path"):
        write_lp(data, tmp_path / "missing" / "m.lp")


def test_refuses_non_finite_and_empty(tmp_path):
    with pytest.raises(InvalidInput, match="NaN or inf"):
        write_lp(LPData(np.array([1.0, np.inf]), GroupSet.from_rows([[0, 1]])), tmp_path / "a.lp")
    with pytest.raises(InvalidInput, match="NaN or inf"):
        write_lp(LPData(np.ones(2), GroupSet.from_rows([[0, 1]], [np.nan])), tmp_path / "a.lp")
    with pytest.raises(InvalidInput, match="no groups"):
        write_lp(LPData(np.ones(2), GroupSet.empty()), tmp_path / "a.mps")
