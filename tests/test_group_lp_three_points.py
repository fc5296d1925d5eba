"""The talk's three-point toy: values against closed forms in the four eps regimes, saddle objects."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from group_lp_helpers import all_groups, full_lp

_spec = importlib.util.spec_from_file_location(
    "three_points", Path(__file__).resolve().parents[1] / "examples" / "three_points.py")
tp = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tp)

WEIGHTS = [(1 / 3, 1 / 3, 1 / 3), (0.4, 0.35, 0.25), (0.6, 0.3, 0.1), (0.2, 0.5, 0.3)]


@pytest.mark.parametrize("weights", WEIGHTS)
@pytest.mark.parametrize("regime", list(tp.REGIMES))
def test_three_points_closed_form(weights, regime):
    eps = tp.REGIMES[regime]
    sol = tp.problem(weights, eps).solve()
    w = np.array(weights)
    expected = {"no overlap": 0.0, "one pair": min(w[0], w[1]),
                "all pairs, no common point": min(w.sum() / 2, w.sum() - w.max()),
                "common point": w.sum() - w.max()}[regime]
    assert sol.value == pytest.approx(expected, abs=1e-12)
    assert tp.closed_form(weights, eps) == pytest.approx(expected, abs=1e-12)
    groups = all_groups(tp.POINTS, np.array([0, 1, 2]), eps, 2.0)
    assert full_lp(w, groups) == pytest.approx(expected, abs=1e-9)     # brute force agrees
    cert = sol.certificate()
    assert cert.ok and cert.gap <= 1e-9
    assert sol.attack.best_response_risk() == pytest.approx(expected, abs=1e-12)
    assert sol.attack.displacement(tp.POINTS, 2.0).max() <= eps * (1 + 1e-9)
    assert sol.attack.mass == pytest.approx(1.0)


def test_equal_weights_values_and_regime_geometry():
    w = (1 / 3, 1 / 3, 1 / 3)
    vals = [tp.problem(w, e).solve().value for e in tp.REGIMES.values()]
    assert np.allclose(vals, [0.0, 1 / 3, 1 / 2, 2 / 3], atol=1e-12)
    # the circumradius is the threshold of the common point
    assert tp.problem(w, tp.CIRCUMRADIUS * (1 - 1e-6)).solve().value == pytest.approx(0.5)
    assert tp.problem(w, tp.CIRCUMRADIUS * (1 + 1e-6)).solve().value == pytest.approx(2 / 3)


def test_classifier_of_the_common_point_regime():
    sol = tp.problem((0.4, 0.35, 0.25), 0.75).solve()
    # the attack merges the three at the circumcentre; f* there cannot exceed 1 in total
    P = sol.classifier(np.array([[0.5, 1.2 - tp.CIRCUMRADIUS], [10.0, 10.0]]))
    assert np.allclose(P.sum(1), 1.0) and np.all(P >= 0)
    assert sol.q.sum() <= 1 + 1e-9                # the three balls share a point
    assert set(np.round(sol.q, 12)) <= {0.0, 1.0}
