"""Benchmark runner for the exact adversarial risk of MNIST workloads (issues 3 and 6).

For each workload and eps it records, as JSON: the conflict-pair count and time, the
public-API solve (`problem.solve(backend=..., max_group_size=...)`: value, bounds, status,
groups by size, seconds per stage), peak memory (tracemalloc and the process' max RSS),
and once per workload the floor: one blocked float32 cross-class distance pass at the
same size, measured in the same run.

    python benchmarks/run.py --workload W1 W2 W3 --out benchmarks/results.json
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import sys
import time
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MNIST = ROOT.parent / "shared" / "data" / "mnist"


@dataclass(frozen=True)
class Workload:
    """First `n_per_class` training digits of each class in file order, pixels / 255."""

    name: str
    classes: tuple[int, ...]
    n_per_class: int | None          # None: every digit (train + test for FULL)
    eps: tuple[float, ...]
    norm: float = 2.0
    published: dict = field(default_factory=dict)


WORKLOADS = {
    "W1": Workload("W1", (1, 4, 7), 1000, (2.0, 3.0, 4.0), 2.0, {
        "source": "conflict-hypergraph LP, CVXOPT / HiGHS, 2 cores",
        "AT2_eps4": 0.40833, "degree2_cvxopt_eps4_seconds": 44.0,
        "degree3_cvxopt": "did not finish in 15 min", "degree3_highs_seconds": 152.0,
        "note": "K = 3: the degree-3 value is exact, so AT(eps 4) must be 0.40833"}),
    "W2": Workload("W2", tuple(range(10)), 100, (2.0, 3.0, 4.0), 2.0, {
        "source": "CVXOPT / truncated Sinkhorn, 2 cores",
        "AT3_eps4": 0.4505, "degree3_cvxopt_eps4_seconds": 4.4,
        "truncated_multimarginal_cvxopt_seconds": 58.0,
        "sinkhorn_eta0.01_seconds": 668.0, "sinkhorn_eta0.01_value": 0.44698,
        "note": "exact AT(eps 4) >= 0.4505; a pairwise-only (Rips) triple test overstates it (0.479)"}),
    "W3": Workload("W3", (3, 7), 1000, (2.0, 3.0, 4.0), 2.0, {
        "source": "Hungarian matching, 2 cores",
        "AT_eps4": 0.1625, "hungarian_eps4_seconds": 8.6}),
    "FULL": Workload("FULL", tuple(range(10)), None, (1.0, 2.0, 3.0, 4.0), 2.0, {
        "note": "all 70,000 digits (train + test); issue 6"}),
    "FULL_LINF": Workload("FULL_LINF", tuple(range(10)), None, (0.1, 0.2, 0.3), math.inf, {
        "note": "all 70,000 digits (train + test), l_inf; issue 6"}),
}


def load_mnist(directory: Path, part: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """The `part` ('train' or 't10k') digits of an MNIST IDX directory as (X / 255, y)."""
    from robustdsl.data.loaders import load_idx_pair
    from robustdsl.errors import InvalidInput

    imgs = sorted(Path(directory).glob(f"{part}-images-idx3-ubyte*"))
    labs = sorted(Path(directory).glob(f"{part}-labels-idx1-ubyte*"))
    if not imgs or not labs:
        raise InvalidInput("--mnist", f"{str(directory)!r} holds no {part}-images/labels IDX files",
                           f"a directory with {part}-images-idx3-ubyte[.gz] and "
                           f"{part}-labels-idx1-ubyte[.gz]")
    return load_idx_pair(imgs[0], labs[0])


def select(X: np.ndarray, y: np.ndarray, classes, n_per_class: int | None):
    """The first n_per_class samples of each class in file order (grouped by class)."""
    idx = [np.flatnonzero(y == c)[:n_per_class] for c in classes]
    short = [c for c, i in zip(classes, idx) if n_per_class is not None and i.size < n_per_class]
    if short:
        from robustdsl.errors import InvalidInput
        raise InvalidInput("--n-per-class", f"classes {short} have fewer than {n_per_class} digits")
    idx = np.concatenate(idx)
    return X[idx], y[idx]


class Meter:
    """Wall time and peak memory of one stage (tracemalloc peak + the process' max RSS)."""

    def __init__(self, trace: bool):
        self.trace = trace

    def __enter__(self):
        if self.trace:
            tracemalloc.start()
            tracemalloc.reset_peak()
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0
        self.traced_peak = tracemalloc.get_traced_memory()[1] if self.trace else None
        if self.trace:
            tracemalloc.stop()
        self.maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        return False

    def report(self) -> dict:
        return {"seconds": self.seconds, "tracemalloc_peak_bytes": self.traced_peak,
                "maxrss_bytes": self.maxrss}


def build_problem(X, y, eps: float, norm: float):
    import robustdsl as rd

    mu = rd.EmpiricalMeasure.from_arrays(X, y)
    f = rd.Agnostic(classes=mu.classes)
    adv = rd.Adversary(mu)
    return rd.inf(f, rd.sup(adv, rd.E(adv, rd.ZeroOne(f)) - rd.OT(mu, adv, rd.Ball(eps, norm))))


def groups_by_size(info: dict) -> dict | None:
    """The solution's group counts by size, whatever key the rule reports them under."""
    for key in ("groups_by_size", "groups", "group_counts"):
        v = info.get(key)
        if isinstance(v, dict):
            return {str(k): int(c) for k, c in v.items()}
    return None


def solve_stage(X, y, eps, norm, backend, max_group_size, time_limit, trace) -> dict:
    """problem.solve through the public API; errors are recorded, not raised."""
    from robustdsl.errors import RobustDSLError

    opts = {}
    if max_group_size is not None:
        opts["max_group_size"] = max_group_size
    if time_limit is not None:
        opts["time_limit"] = time_limit
    problem = build_problem(X, y, eps, norm)
    try:
        with Meter(trace) as m:
            sol = problem.solve(backend=backend, **opts)
    except RobustDSLError as exc:
        return {"error": f"{type(exc).__name__}: {exc}".splitlines()[0]}
    info = dict(sol.info)
    return {"value": sol.value, "lower": sol.lower, "upper": sol.upper, "status": sol.status,
            "exact": sol.exact, "backend": sol.backend, "rule": sol.rule,
            "groups_by_size": groups_by_size(info),
            "stage_seconds": {k: float(v) for k, v in sol.timings.items()}, **m.report()}


def run_workload(w: Workload, X, y, args) -> dict:
    from robustdsl.solvers.pairs import conflict_pairs, distance_floor

    Xw, yw = select(X, y, w.classes, args.n_per_class or w.n_per_class)
    out = {"name": w.name, "classes": list(w.classes), "n": int(Xw.shape[0]), "d": int(Xw.shape[1]),
           "n_per_class": args.n_per_class or w.n_per_class,
           "norm": "inf" if math.isinf(w.norm) else w.norm, "published": w.published, "runs": []}
    floor_norm = 2.0 if math.isinf(w.norm) else w.norm     # l_inf: the l2 float32 GEMM floor
    with Meter(args.trace) as m:
        floor = distance_floor(Xw, yw, floor_norm, device=args.device, progress=args.progress)
    out["floor"] = {"distances": floor["pairs"], "blocks": floor["blocks"], "norm": floor_norm,
                    **m.report()}
    if args.sweep:
        out["sweep"] = sweep_stage(Xw, yw, args.eps or w.eps, w.norm, args)
        sw = out["sweep"]
        _say(args, f"{w.name} curve: " + (f"{sw['seconds']:.2f}s " + ", ".join(
            f"eps {r['eps']:g}: {r['value']:.6g} ({r['status']})" for r in sw["per_eps"])
            if "seconds" in sw else sw["error"]) + f" (floor {out['floor']['seconds']:.2f}s)")
        return out
    for eps in args.eps or w.eps:
        with Meter(args.trace) as m:
            I, _, _ = conflict_pairs(Xw, yw, 2.0 * eps, w.norm, device=args.device,
                                     distances="screened", progress=args.progress)
        run = {"eps": eps, "pairs": {"count": int(I.size), **m.report()}, "solves": []}
        if not args.skip_solve:
            for L in args.max_group_size:
                for backend in args.backend:
                    res = solve_stage(Xw, yw, eps, w.norm, backend, L, args.time_limit, args.trace)
                    res.update(max_group_size=L, requested_backend=backend)
                    run["solves"].append(res)
                    _say(args, f"{w.name} eps={eps} L={L} {backend}: "
                               + (f"value={res['value']:.6g} ({res['status']}) {res['seconds']:.2f}s"
                                  if "value" in res else res["error"]))
        out["runs"].append(run)
        _say(args, f"{w.name} eps={eps}: {I.size} pairs in {m.seconds:.2f}s "
                   f"(floor {out['floor']['seconds']:.2f}s)")
    return out


def sweep_stage(Xw, yw, grid, norm, args) -> dict:
    """The whole eps grid in one `solve_curve` call (one distance pass, warm-started solves)."""
    from robustdsl.errors import RobustDSLError
    from robustdsl.solvers.sweep import solve_curve

    try:
        with Meter(args.trace) as m:
            sols = solve_curve(Xw, yw, list(grid), norm, device=args.device, progress=args.progress,
                               time_limit=args.time_limit, lp_route=args.lp_route,
                               max_memory=max_memory_bytes(args))
    except RobustDSLError as exc:
        return {"error": f"{type(exc).__name__}: {exc}".splitlines()[0]}
    per_eps = [{"eps": float(e), "value": s.value, "lower": s.lower, "upper": s.upper,
                "status": s.status, "exact": s.exact, "groups_by_size": groups_by_size(dict(s.info)),
                "pairs": s.info.get("pairs"), "components": s.info.get("components"),
                "largest_component": s.info.get("largest_component"),
                "separation_rounds": s.info.get("separation_rounds"),
                "certificate_gap": s.info.get("certificate_gap"),
                **{k: s.info[k] for k in TRUNCATION_KEYS if k in s.info},
                "stage_seconds": {k: float(v) for k, v in s.timings.items()}}
               for e, s in zip(grid, sols)]
    stages: dict = {}
    for r in per_eps:
        for k, v in r["stage_seconds"].items():
            stages[k] = stages.get(k, 0.0) + v
    return {"per_eps": per_eps, "stage_seconds_total": stages, **m.report()}


TRUNCATION_KEYS = ("reason", "pairs_found_at_largest_eps", "kept_pairs", "nearest_k", "complete_samples",
                   "exact_up_to_threshold", "pair_flow_on_kept", "lower_from_smaller_eps", "max_memory")


def max_memory_bytes(args) -> int | None:
    """--max-memory GiB as bytes (None: no budget)."""
    return None if args.max_memory is None else int(args.max_memory * 2 ** 30)


def subsample(X, y, n: int, classes=tuple(range(10))):
    """n digits: the first n / K of each class in file order (all digits when n >= len(X))."""
    if n >= X.shape[0]:
        return X, y
    return select(X, y, classes, n // len(classes))


def fit_exponent(ns, secs) -> float | None:
    """Least-squares slope of log(seconds) against log(n)."""
    ok = [(a, b) for a, b in zip(ns, secs) if b and b > 0]
    if len(ok) < 2:
        return None
    a, b = np.log(np.array(ok, dtype=float)).T
    return float(np.polyfit(a, b, 1)[0])


def run_scaling(X, y, args) -> dict:
    """Time of the exact AT at l2 eps = args.scaling_eps for growing n, with the fitted exponents."""
    from robustdsl.solvers.pairs import distance_floor

    rows = []
    for n in args.scaling:
        Xn, yn = subsample(X, y, n)
        with Meter(args.trace) as fm:
            distance_floor(Xn, yn, 2.0, device=args.device)
        res = sweep_stage(Xn, yn, [args.scaling_eps], 2.0, args)
        row = {"n": int(Xn.shape[0]), "floor_seconds": fm.seconds, "solve": res}
        rows.append(row)
        _say(args, f"scaling n={Xn.shape[0]}: floor {fm.seconds:.2f}s, solve "
                   + (f"{res['seconds']:.2f}s value={res['per_eps'][0]['value']:.6g}"
                      if "seconds" in res else res["error"]))
    ns = [r["n"] for r in rows]
    return {"eps": args.scaling_eps, "norm": 2.0, "rows": rows,
            "exponent_total": fit_exponent(ns, [r["solve"].get("seconds") for r in rows]),
            "exponent_floor": fit_exponent(ns, [r["floor_seconds"] for r in rows])}


def _say(args, text: str) -> None:
    if not args.quiet:
        print(text, file=sys.stderr, flush=True)


def machine() -> dict:
    import torch

    return {"platform": platform.platform(), "python": platform.python_version(),
            "cpus": os.cpu_count(), "numpy": np.__version__, "torch": torch.__version__,
            "torch_threads": torch.get_num_threads()}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workload", nargs="*", default=["W1", "W2", "W3"], choices=sorted(WORKLOADS))
    p.add_argument("--mnist", type=Path, default=DEFAULT_MNIST, help="directory of the MNIST IDX files")
    p.add_argument("--eps", type=float, nargs="+", help="override the workload's eps grid")
    p.add_argument("--n-per-class", type=int, help="override the workload's digits per class")
    p.add_argument("--backend", nargs="+", default=["highs"])
    p.add_argument("--max-group-size", type=lambda s: None if s == "exact" else int(s), nargs="+",
                   default=[None], help="'exact' (default) and/or truncation degrees L")
    p.add_argument("--time-limit", type=float)
    p.add_argument("--max-memory", type=float, metavar="GIB",
                   help="--sweep: memory budget (GiB) for the data, one distance block and the conflict "
                        "pairs; an eps whose pairs do not fit gets a certified interval (solve_curve "
                        "max_memory)")
    p.add_argument("--lp-route", default="split", choices=["colgen", "split", "full", "local"],
                   help="how the group LP of a component runs after the flow (solvers.cutting_plane)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--skip-solve", action="store_true", help="only the pair and floor stages")
    p.add_argument("--sweep", action="store_true",
                   help="solve each workload's eps grid in one solve_curve call (exact, certified)")
    p.add_argument("--scaling", type=int, nargs="*",
                   help="also time n digits of all MNIST (train + test) at l2 --scaling-eps, e.g. "
                        "--scaling 5000 10000 20000 40000 70000")
    p.add_argument("--scaling-eps", type=float, default=3.0)
    p.add_argument("--no-linf-cuts", action="store_true",
                   help="l_inf without the exact cut pruning (the previous torch.cdist screening and "
                        "dense classifier), for comparison")
    p.add_argument("--no-tracemalloc", dest="trace", action="store_false")
    p.add_argument("--progress", action="store_true")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results.json")
    return p.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.no_linf_cuts:
        from robustdsl.solvers import linf_pairs
        linf_pairs.choose_cuts = lambda *a, **k: None   # every l_inf caller falls back to cdist
    t0 = time.perf_counter()
    train = load_mnist(args.mnist, "train")
    everything = None
    result = {"created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": machine(),
              "argv": list(sys.argv[1:] if argv is None else argv),
              "load_seconds": time.perf_counter() - t0, "workloads": []}
    for name in args.workload:
        w = WORKLOADS[name]
        data = train
        if w.n_per_class is None:                    # all digits: training then test
            if everything is None:
                test = load_mnist(args.mnist, "t10k")
                everything = (np.concatenate([train[0], test[0]]), np.concatenate([train[1], test[1]]))
            data = everything
        result["workloads"].append(run_workload(w, *data, args))
    if args.scaling:
        if everything is None:
            test = load_mnist(args.mnist, "t10k")
            everything = (np.concatenate([train[0], test[0]]), np.concatenate([train[1], test[1]]))
        result["scaling"] = run_scaling(*everything, args)
    result["total_seconds"] = time.perf_counter() - t0
    args.out.write_text(json.dumps(result, indent=2, sort_keys=True, allow_nan=False) + "\n")
    _say(args, f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
