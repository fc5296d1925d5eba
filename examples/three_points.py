"""The talk's toy: three points of three classes, weights w1, w2, w3, eps growing through four regimes.

Points A = (0, 0), B = (1, 0), C = (0.5, 1.2): |AB| = 1, |AC| = |BC| = 1.3, acute, circumradius
1.69 / 2.4 = 0.7041..., so with the l2 ball of radius eps:
  eps < 0.5            no balls overlap                      AT = 0
  0.5 <= eps < 0.65    only A and B overlap                  AT = min(w1, w2)
  0.65 <= eps < 0.704  all pairs overlap, no common point    AT = min(W / 2, W - max w)   (W = w1 + w2 + w3)
  eps >= 0.7041        all three balls share a point         AT = W - max w

Run: python examples/three_points.py [w1 w2 w3]
"""
from __future__ import annotations

import sys

import numpy as np

import robustdsl as rd

POINTS = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, 1.2]])
CIRCUMRADIUS = 1.69 / 2.4
REGIMES = {"no overlap": 0.4, "one pair": 0.6, "all pairs, no common point": 0.68, "common point": 0.75}


def closed_form(weights, eps: float) -> float:
    """AT of the three-point problem in each regime (module docstring)."""
    w = np.asarray(weights, dtype=float)
    W = w.sum()
    if eps < 0.5:
        return 0.0
    if eps < 0.65:
        return float(min(w[0], w[1]))
    if eps < CIRCUMRADIUS:
        return float(min(W / 2, W - w.max()))
    return float(W - w.max())


def problem(weights, eps: float, norm: float = 2.0) -> rd.Problem:
    mu = rd.EmpiricalMeasure.from_arrays(POINTS, np.array([0, 1, 2]), weights)
    f = rd.Agnostic(classes=(0, 1, 2))
    mt = rd.Adversary(mu)
    return rd.inf(f, rd.sup(mt, rd.E(mt, rd.ZeroOne(f)) - rd.OT(mu, mt, rd.Ball(eps, norm))))


def main(weights=(0.4, 0.35, 0.25)) -> None:
    np.set_printoptions(precision=4, suppress=True)
    for name, eps in REGIMES.items():
        sol = problem(weights, eps).solve()
        print(f"eps = {eps:<5} ({name}): AT = {sol.value:.6f}  (closed form {closed_form(weights, eps):.6f}, "
              f"status {sol.status}, certificate gap {sol.certificate().gap:.1e})")
        a = sol.attack
        for pt, lab, m, src in zip(a.points, a.labels, a.masses, a.source):
            print(f"    attack: sample {src} (class {lab}) sends mass {m:.4f} to {pt}")
        print(f"    q = {sol.q}")
        print(f"    classifier at the data points:\n{sol.classifier(POINTS)}")


if __name__ == "__main__":
    main(tuple(float(v) for v in sys.argv[1:4]) if len(sys.argv) >= 4 else (0.4, 0.35, 0.25))
