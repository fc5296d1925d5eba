"""l1 enclosing balls: the bulk bounds bracket the LP radius, decide most groups without an LP, and
the per-group LPs stop at a deadline (time limits hold in l1 separation)."""
from __future__ import annotations

import time

import numpy as np
import pytest

from robustdsl.solvers import ball_groups
from robustdsl.solvers.ball_groups import DeadlineReached, _l1_ball, admissible, centres, l1_bounds, radius


@pytest.mark.parametrize("k,d", [(2, 3), (3, 2), (3, 5), (4, 4)])
def test_bulk_bounds_bracket_the_lp_radius(k, d):
    rng = np.random.default_rng(k * 10 + d)
    X = rng.integers(-3, 4, size=(60, d)).astype(float) + rng.normal(size=(60, d)) * (k % 2)
    rows = rng.choice(60, size=(80, k))
    lo, up, C = l1_bounds(X, rows)
    lp = np.array([_l1_ball(X[r])[0] for r in rows])
    assert np.all(lo <= lp * (1 + 1e-12) + 1e-12) and np.all(lp <= up * (1 + 1e-12) + 1e-12)
    assert np.allclose(np.abs(X[rows] - C[:, None, :]).sum(2).max(1), up)      # up is attained at C
    if k == 2:
        assert np.allclose(lo, up)                                              # pairs: exact
    assert np.allclose(radius(X, rows, 1.0), lp, rtol=1e-9, atol=1e-12)
    for eps in (np.median(lp), lp.max(), lp.min()):
        assert np.array_equal(admissible(X, rows, eps, 1.0), lp <= eps * (1 + 1e-9) + 1e-300)
        C2 = centres(X, rows, 1.0, eps)
        ok = lp <= eps * (1 + 1e-9)
        assert np.all(np.abs(X[rows[ok]] - C2[ok][:, None, :]).sum(2).max(1) <= eps * (1 + 1e-9) + 1e-12)


def test_open_groups_stop_at_the_deadline(monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 6))
    rows = rng.choice(40, size=(200, 4))
    lo, up, _ = l1_bounds(X, rows)
    eps = float(np.median((lo + up) / 2))                 # many groups strictly between the bounds
    assert np.sum((lo <= eps) & (up > eps)) > 20
    calls = []
    monkeypatch.setattr(ball_groups, "_l1_ball", lambda P: calls.append(1) or (0.0, P[0]))
    with pytest.raises(DeadlineReached):
        admissible(X, rows, eps, 1.0, deadline=time.perf_counter() - 1.0)
    assert len(calls) == 15                               # checked every 16 LPs
