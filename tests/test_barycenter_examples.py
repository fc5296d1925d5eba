"""The two barycenter examples run end to end on small data and produce sensible, certified curves."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
sys.path.insert(0, str(EXAMPLES))

import dro_curve  # noqa: E402
import price_of_attack  # noqa: E402


def test_price_of_attack(tmp_path):
    res = price_of_attack.main(["--out", str(tmp_path), "--n", "5", "--prices", "6"])
    at = np.array([r["AT"] for r in res["curve"]])
    assert np.all(np.diff(at) <= 1e-12)                  # a dearer attack never raises the risk
    assert all(r["certified"] and r["status"] == "optimal" for r in res["curve"])
    assert at[0] <= 2.0 / 3.0 + 1e-12                    # <= 1 - 1/K for balanced classes
    assert (tmp_path / "price_of_attack.png").stat().st_size > 0
    assert json.loads((tmp_path / "price_of_attack.json").read_text())["curve"][0]["AT"] == at[0]


def test_dro_curve(tmp_path):
    curves = dro_curve.main(["--out", str(tmp_path), "--n", "4"])
    for c in curves.values():
        assert c["nondecreasing"] and c["concave"]
        assert c["points"][0]["AT"] == 0.0              # no budget, distinct points: no attack
        assert all(p["certified"] for p in c["points"])
    assert (tmp_path / "dro_curve.png").stat().st_size > 0
