"""Entropic multimarginal (Sinkhorn) route vs the exact barycenter LP, written as JSON.

Workloads: K Gaussian blobs in the plane (n per class, seeded) and the first digits of MNIST
classes {1, 4, 7} (pixels in [0, 1]), squared-l2 penalty ||x - x'||^2 / tau.  For every eta it
records the certified interval [lower, upper] of the Sinkhorn route (lower: rounded plan,
upper: shifted potentials), its distance to the exact value, iterations, marginal error and
seconds, next to the exact LP (cutting planes, HiGHS) value and seconds.

    python benchmarks/sinkhorn.py --out benchmarks/sinkhorn.json [--quick]
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from robustdsl.ir.barycenter_program import BarycenterLP, TransportCost
from robustdsl.solvers.barycenter_lp import solve_barycenter_lp
from robustdsl.solvers.mot_sinkhorn import solve_sinkhorn


def blobs(K: int, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = np.stack([np.cos(2 * np.pi * np.arange(K) / K), np.sin(2 * np.pi * np.arange(K) / K)], 1)
    y = np.repeat(np.arange(K), n)
    return centres[y] + 0.6 * rng.normal(size=(K * n, 2)), y


def mnist(n: int) -> tuple[np.ndarray, np.ndarray]:
    from robustdsl import EmpiricalMeasure
    mu = EmpiricalMeasure.builtin("mnist2000").subset(classes=(1, 4, 7), per_class=n)
    return np.asarray(mu.X), mu.label_index()


def run_one(name: str, X: np.ndarray, y: np.ndarray, tau: float, etas, max_iter: int) -> dict:
    K = int(y.max()) + 1
    prog = BarycenterLP(X, y, np.full(len(y), 1.0 / len(y)), K, TransportCost(2, tau, 2))
    t0 = time.perf_counter()
    exact = solve_barycenter_lp(prog, "highs")
    t_exact = time.perf_counter() - t0
    rec = {"workload": name, "n": int(len(y)), "K": K, "tau": tau, "exact": exact.lower,
           "exact_upper": exact.upper, "exact_seconds": t_exact,
           "exact_groups": exact.groups.counts_by_size(), "sinkhorn": []}
    for eta in etas:
        t0 = time.perf_counter()
        s = solve_sinkhorn(prog, eta=eta, tol=1e-6, max_iter=max_iter)
        rec["sinkhorn"].append({
            "eta": eta, "lower": s.lower, "upper": s.upper, "entropic_value": s.entropic_value,
            "exact_minus_lower": exact.lower - s.lower, "upper_minus_exact": s.upper - exact.lower,
            "bracket_ok": bool(s.lower <= exact.lower + 1e-9 and exact.lower <= s.upper + 1e-9),
            "iterations": s.iterations, "marginal_error": s.marginal_error, "converged": s.converged,
            "seconds": time.perf_counter() - t0, "tensor_seconds": s.timings["tensor"],
            "speedup_vs_exact": t_exact / (time.perf_counter() - t0)})
    return rec


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="benchmarks/sinkhorn.json")
    ap.add_argument("--quick", action="store_true", help="small sizes only (a smoke run)")
    ap.add_argument("--max-iter", type=int, default=3000)
    args = ap.parse_args(argv)
    etas = (0.1, 0.03, 0.01)
    sizes = (5, 10) if args.quick else (5, 10, 20, 40)
    X, y = blobs(3, 3)                    # warm-up: imports and solver start-up are not timed
    run_one("warm-up", X, y, 0.5, (0.1,), 10)
    results = []
    for n in sizes:
        X, y = blobs(3, n)
        results.append(run_one(f"blobs K=3 n={n}/class", X, y, 0.5, etas, args.max_iter))
    if not args.quick:
        X, y = blobs(4, 8)
        results.append(run_one("blobs K=4 n=8/class", X, y, 0.5, etas, args.max_iter))
        X, y = mnist(20)
        results.append(run_one("MNIST {1,4,7} x 20", X, y, 40.0, etas, args.max_iter))
    out = {"machine": platform.platform(), "python": platform.python_version(), "results": results}
    Path(args.out).write_text(json.dumps(out, indent=2, sort_keys=True) + "\n")
    for r in results:
        print(f"{r['workload']:>24}: exact {r['exact']:.6f} in {r['exact_seconds']:.2f}s")
        for s in r["sinkhorn"]:
            print(f"{'':>26}eta {s['eta']:<5} [{s['lower']:.6f}, {s['upper']:.6f}] {s['seconds']:.2f}s "
                  f"it {s['iterations']} bracket {'ok' if s['bracket_ok'] else 'FAILED'}")
    return 0 if all(s["bracket_ok"] for r in results for s in r["sinkhorn"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
