"""Benchmark of the mean-field particle system (issue 5): wfr vs gda vs wrm.

Workloads: n = 1000 points, m = 8 adversarial particles per point, 1000 learner particles,
d = 5 and d = 10, 2000 steps (wrm: the same number of gradient evaluations). Reports steps/s,
the fraction of the measured torch.mm float32 throughput a step achieves (FLOPs of its matrix
products / step time), and the Nash gaps of the time-averaged and last iterates.

    python benchmarks/meanfield.py [--quick] [--steps N] [--dims 5 10] [--out results.json]
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

from robustdsl.ir import ParticleGame
from robustdsl.solvers import wfr
from robustdsl.solvers.nash_gap import nash_gap


def matmul_gflops(device: str, size: int = 2048, reps: int = 10) -> float:
    """Measured float32 torch.mm throughput (GFLOP/s) on this machine, now."""
    A = torch.randn(size, size, device=device)
    B = torch.randn(size, size, device=device)
    A @ B
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(reps):
        A @ B
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return 2 * size ** 3 * reps / (time.perf_counter() - t0) / 1e9


def step_flops(n: int, m: int, K: int, d: int, learner: bool = True) -> float:
    """FLOPs of the matrix products of one step (meanfield_kernel): the (N, d+1) x (d+1, K) pre-activation
    GEMM, (d, K) x (K, N) for grad_x, (d+1, N) x (N, K) for grad_B, and the mat-vecs P c and q P
    (an adversary-only pass, wrm's inner steps, skips the last GEMM and mat-vec)."""
    N, D = n * m, d + 1
    return 2.0 * N * K * (D + d + 1) + (2.0 * N * K * (D + 1) if learner else 0.0)


def step_elementwise(n: int, m: int, K: int) -> float:
    """Elementwise operations on the (N, K) blocks of one step: a sigmoid (counted as 1) and P - P^2 (2)."""
    return 3.0 * n * m * K


def make_game(n: int, d: int, K: int, seed: int = 0, activation: str = "tanh") -> ParticleGame:
    """y = sum_j tanh(w_j . x) / 3 + 0.1 noise, x ~ N(0, I/d) (a 3-unit teacher network); the
    learner's activation h is `activation` (the workload's is tanh)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) / np.sqrt(d) * 2
    Wt = rng.normal(size=(3, d))
    y = np.tanh(X @ Wt.T).sum(1) / 3 + 0.1 * rng.normal(size=n)
    return ParticleGame(X, y, np.full(n, 1.0 / n), activation, K, 5.0, 5.0, 10.0)


def _sizes(method: str, args) -> dict:
    """Step sizes of a method: --eta/--kappa/... unless overridden by --gda-eta / --wrm-eta etc."""
    out = {"eta": args.eta, "kappa": args.kappa, "eta_adv": args.eta_adv, "kappa_adv": args.kappa_adv}
    for k in out:
        v = getattr(args, f"{method}_{k}", None)
        if v is not None:
            out[k] = v
    return out


def run_method(game: ParticleGame, method: str, evals: int, args) -> dict:
    inner = args.inner_steps
    steps = evals // (inner + 1) if method == "wrm" else evals
    sizes = _sizes(method, args)
    cfg = wfr.WFRConfig(method=method, m=args.m, inner_steps=inner, snapshots=args.snapshots,
                        dtype="float32", device=args.device, seed=args.seed, **sizes)
    res = wfr.run(game, cfg, steps, progress=args.progress)
    gap_kw = dict(starts=1, random_starts=1, ascent_iters=args.gap_iters, n_theta=200, fw_candidates=500,
                  rounds=args.gap_rounds)
    gaps = {}
    for name, tail in (("gap_avg", 0.0), ("gap_avg_tail", args.tail), ("gap_last", None)):
        nu, pi = (res.learner_last, res.adversary_last) if tail is None else wfr.averaged(res.state, tail)
        gaps[name] = nash_gap(game, nu, pi, **gap_kw).to_dict()
    return {"method": method, "step_sizes": sizes, "steps": steps, "grad_evals": res.state.grad_evals,
            "seconds": res.seconds, "steps_per_second": res.steps_per_second,
            "grad_evals_per_second": res.state.grad_evals / res.seconds, **gaps}


def time_steps(game: ParticleGame, method: str, steps: int, args) -> dict:
    """Throughput only: `steps` timed steps after 3 warm-up steps (no gap, no history)."""
    cfg = wfr.WFRConfig(method=method, m=args.m, inner_steps=args.inner_steps, snapshots=args.snapshots,
                        dtype="float32", device=args.device, seed=args.seed, **_sizes(method, args))
    s = wfr.init(game, cfg)
    for _ in range(3):
        s = wfr.step(s)
    t0 = time.perf_counter()
    for _ in range(steps):
        s = wfr.step(s)
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    sec = time.perf_counter() - t0
    return {"method": method, "steps": steps, "seconds": sec, "steps_per_second": steps / sec,
            "grad_evals_per_second": (s.grad_evals - (3 * (args.inner_steps + 1) if method == "wrm" else 3)) / sec}


def _ratios(w: dict) -> None:
    """gda's gap over wfr's (gap = the lower estimate sup_value - inf_value) for each averaging."""
    by = {r["method"]: r for r in w["results"]}
    if "wfr" in by and "gda" in by and "gap_avg" in by["wfr"]:
        for key in ("gap_avg", "gap_avg_tail", "gap_last"):
            w[f"gda_over_wfr_{key}"] = by["gda"][key]["gap"] / max(by["wfr"][key]["gap"], 1e-300)


def merge(paths: list[str]) -> dict:
    """One report from runs split by method (each run under the 10-minute limit): workloads of equal
    (n, m, width, d, grad_evals) are joined, their per-run machine and config kept beside the rows."""
    out: dict = {"merged_from": [], "workloads": []}
    index: dict = {}
    for path in paths:
        data = json.loads(Path(path).read_text())
        out["merged_from"].append({"file": Path(path).name, "machine": data["machine"], "config": data["config"]})
        for w in data["workloads"]:
            key = tuple(w[k] for k in ("n", "m", "width", "d", "grad_evals"))
            for r in w["results"]:
                r["matmul_gflops"] = [w["matmul_gflops_before"], w["matmul_gflops_after"]]
                r["source"] = Path(path).name
            if key in index:
                index[key]["results"].extend(w["results"])
            else:
                index[key] = {k: w[k] for k in ("n", "m", "width", "d", "grad_evals")} | {"results": list(w["results"])}
                out["workloads"].append(index[key])
    for w in out["workloads"]:
        _ratios(w)
    return out


def _clean(x):
    """Strict JSON: non-finite floats become the strings 'inf', '-inf', 'nan'."""
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, float) and not np.isfinite(x):
        return str(x)
    return x


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="n=200, width=200, 200 steps (a smoke run)")
    ap.add_argument("--steps", type=int, default=None, help="gradient evaluations per method (default 2000)")
    ap.add_argument("--dims", type=int, nargs="+", default=[5, 10])
    ap.add_argument("--n", type=int, default=None)
    ap.add_argument("--width", type=int, default=None)
    ap.add_argument("--m", type=int, default=8)
    ap.add_argument("--activation", default="tanh", choices=["tanh", "sigmoid", "relu", "identity"],
                    help="the learner's activation (default tanh, the workload's)")
    ap.add_argument("--eta", type=float, default=1.0)
    ap.add_argument("--kappa", type=float, default=0.3)
    ap.add_argument("--eta-adv", dest="eta_adv", type=float, default=0.02)
    ap.add_argument("--kappa-adv", dest="kappa_adv", type=float, default=0.3)
    ap.add_argument("--inner-steps", dest="inner_steps", type=int, default=4)
    ap.add_argument("--snapshots", type=int, default=8)
    for meth in ("wfr", "gda", "wrm"):
        for k in ("eta", "kappa", "eta_adv", "kappa_adv"):
            ap.add_argument(f"--{meth}-{k.replace('_', '-')}", dest=f"{meth}_{k}", type=float, default=None)
    ap.add_argument("--gap-iters", dest="gap_iters", type=int, default=150)
    ap.add_argument("--gap-rounds", dest="gap_rounds", type=int, default=30,
                    help="column-generation rounds of the learner half of the gap")
    ap.add_argument("--tail", type=float, default=0.5, help="gap_avg_tail averages over times > tail * T")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    ap.add_argument("--methods", nargs="+", default=["wfr", "gda", "wrm"])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--mm-size", dest="mm_size", type=int, default=2048, help="size of the torch.mm probe")
    ap.add_argument("--progress", action="store_true")
    ap.add_argument("--out", default=None, help="write the JSON here (also printed)")
    ap.add_argument("--time-steps", dest="time_steps", type=int, default=0,
                    help="only time this many steps per method (throughput; no gap)")
    ap.add_argument("--merge", nargs="+", default=None, help="join these result files into --out, run nothing")
    args = ap.parse_args(argv)
    if args.merge:
        text = json.dumps(_clean(merge(args.merge)), indent=2, sort_keys=True, allow_nan=False)
        if args.out:
            Path(args.out).write_text(text + "\n")
        print(text)
        return json.loads(text)
    if args.threads:
        torch.set_num_threads(args.threads)
    n = args.n or (200 if args.quick else 1000)
    K = args.width or (200 if args.quick else 1000)
    evals = args.steps or (200 if args.quick else 2000)
    out = {"machine": {"platform": platform.platform(), "torch": torch.__version__, "device": args.device,
                       "threads": torch.get_num_threads()},
           "config": {k: v for k, v in vars(args).items() if k not in ("out", "progress")},
           "workloads": []}
    for d in args.dims:
        game = make_game(n, d, K, args.seed, args.activation)
        mm = matmul_gflops(args.device, args.mm_size)
        rows = [time_steps(game, meth, args.time_steps, args) if args.time_steps else run_method(game, meth, evals, args)
                for meth in args.methods]
        mm_after = matmul_gflops(args.device, args.mm_size)
        for r in rows:   # a wrm step: inner_steps adversary passes + one full pass, one point per sample
            per_step = (step_flops(n, 1, K, d, False) * args.inner_steps + step_flops(n, 1, K, d)
                        if r["method"] == "wrm" else step_flops(n, args.m, K, d))
            elem = (step_elementwise(n, 1, K) * (args.inner_steps + 1) if r["method"] == "wrm"
                    else step_elementwise(n, args.m, K))
            r["gemm_flops_per_step"], r["elementwise_ops_per_step"] = per_step, elem
            r["step_gflops"] = per_step * r["steps_per_second"] / 1e9
            r["fraction_of_matmul"] = r["step_gflops"] / max(mm, mm_after)
            r["fraction_of_matmul_with_elementwise"] = (per_step + elem) * r["steps_per_second"] / 1e9 / max(mm, mm_after)
        w = {"n": n, "m": args.m, "width": K, "d": d, "grad_evals": evals,
             "matmul_gflops_before": mm, "matmul_gflops_after": mm_after, "results": rows}
        _ratios(w)
        out["workloads"].append(w)
        print(json.dumps(_clean(w), indent=1), file=sys.stderr)
        text = json.dumps(_clean(out), indent=2, sort_keys=True, allow_nan=False)
        if args.out:                       # written after every workload: a cut run keeps what it did
            Path(args.out).write_text(text + "\n")
    print(text)
    return _clean(out)


if __name__ == "__main__":
    main()
