"""The `robustdsl` command line: solve / export a text spec on a data set, or run the demo.

    robustdsl solve spec.rdsl --data builtin:mnist2000 --classes 1,4,7 --per-class 50 --eps 0.5,1,2 --json out.json
    robustdsl export spec.rdsl --data builtin:mnist2000 --classes 1,7 --eps 2 out.lp
    robustdsl demo --quick

Spec files hold the text syntax with the names f (the learner), mu (the data), mu~ (the adversary),
c (the cost from --eps/--norm, or --tau/--p for a power cost), eps and delta (numbers).
Errors print one message (no traceback) and exit with status 2.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from . import _check
from ._files import writable, write_text
from .costs import Ball, Power, norm_str
from .curve import PLOT_SUFFIXES
from .errors import InvalidInput, ParseError, RobustDSLError, TimeLimitReached
from .learners import Agnostic, MeanField
from .measures import EmpiricalMeasure

EXIT_ERROR = 2
DEMO_CLASSES = tuple(range(10))  # all ten digits: AT_2 < AT_3 < AT becomes visible at large eps
# eps grids of the demo (pixels in [0, 1]; 784 pixels): l2 radii and l_inf radii.
# Raw MNIST: distinct-class digits are >= 3.0 apart in l2 and >= 250/255 in l_inf (some pixel is black in
# one and white in the other), so the l_inf risk is 0 until eps ~ 0.49 and then rises steeply.
DEMO_GRID = {"2": (1.0, 2.0, 2.5, 3.0, 3.5, 4.0), "inf": (0.2, 0.4, 0.49, 0.494, 0.496, 0.498)}
DEMO_PER_CLASS = 100  # 1,000 digits: every point of both curves, certified, in 15-25 s on 2 cores
DEMO_QUICK = {"per_class": 15, "grid": {"2": (2.0, 3.0, 4.0, 5.0), "inf": (0.3, 0.49, 0.496, 0.498)}}


# ---------------------------------------------------------------------------- argument types
def _floats(argument: str):
    def parse(text: str) -> list[float]:
        try:
            return [float(t) for t in text.split(",") if t.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"{argument}: expected comma-separated numbers, got {text!r}")
    return parse


def _ints(text: str) -> list[int]:
    try:
        out = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--classes: expected comma-separated integers, got {text!r}")
    if not out:
        raise argparse.ArgumentTypeError(f"--classes: no class in {text!r}")
    return out


def _group_size(text: str) -> int | None:
    if text.lower() in ("none", "exact", "all"):
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--max-group-size: expected an integer >= 2 or 'exact', got {text!r}")


# ---------------------------------------------------------------------------- checks on paths
def _writable(path: str | None, argument: str, suffixes=None) -> Path | None:
    """Refuse an output path whose directory is missing or not writable (before any solving)."""
    return None if path is None else writable(path, argument, suffixes)


def _read_spec(path: str) -> str:
    p = Path(path)
    if not p.is_file():
        raise InvalidInput("SPEC_FILE", f"file {path!r} does not exist")
    try:
        return p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput("SPEC_FILE", f"cannot read {path!r} ({exc})") from None


# ---------------------------------------------------------------------------- data and bindings
def load_measure(data: str, classes: Sequence[int] | None, per_class: int | None,
                 seed: int | None) -> EmpiricalMeasure:
    """The data measure from --data, restricted to --classes / --per-class."""
    from .data.loaders import resolve
    X, y = resolve(data)
    mu = EmpiricalMeasure.from_arrays(X, y)
    if mu.is_classification and (classes or per_class is not None):
        mu = mu.subset(classes or None, per_class, seed)
    elif classes:
        raise InvalidInput("--classes", f"the data {data!r} has real targets, not class labels")
    return mu


def _costs(args: argparse.Namespace) -> list[tuple[str, float, Any]]:
    """(parameter name, value, cost) for each point of the sweep: eps balls or tau powers."""
    if args.tau is not None or args.p is not None:
        if args.eps:
            raise InvalidInput("--eps", "cannot be combined with --tau/--p (a ball or a power cost)",
                               "--eps for a ball cost, or --tau/--p for a power cost")
        taus = args.tau or [1.0]
        p = 2.0 if args.p is None else args.p
        return [("tau", t, Power(p=p, tau=t, norm=args.norm)) for t in taus]
    if not args.eps:
        raise InvalidInput("--eps", "no radius given", "--eps 0.5,1,2 (or --tau/--p for a power cost)")
    return [("eps", e, Ball(e, args.norm)) for e in args.eps]


def bindings(mu: EmpiricalMeasure, cost: Any, param: str, value: float, delta: float | None) -> dict:
    """The names a spec file may use: f, mu, mu~ (implicit), c, eps/tau, delta."""
    f = Agnostic(classes=mu.classes) if mu.is_classification else MeanField()
    out = {"f": f, "mu": mu, "c": cost, param: value}
    if delta is not None:
        out["delta"] = delta
    return out


def _problems(args: argparse.Namespace):
    """Yield (parameter name, value, problem) for the spec on the data, one per sweep point."""
    from .parser import parse
    text = _read_spec(args.spec)
    mu = load_measure(args.data, args.classes, args.per_class, args.seed)
    for param, value, cost in _costs(args):
        try:
            problem = parse(text, **bindings(mu, cost, param, value, args.delta))
        except ParseError as exc:  # name the file; keep the type, line and column
            err = type(exc)(f"{args.spec}: {exc}")
            err.line, err.column = exc.line, exc.column
            raise err from None
        yield param, value, mu, problem


# ---------------------------------------------------------------------------- commands
def _solve_options(args: argparse.Namespace) -> dict:
    opts: dict[str, Any] = {"max_group_size": args.max_group_size}
    for flag, given in (("--time-limit", args.time_limit), ("--max-memory", args.max_memory)):
        if given is not None and (args.tau is not None or args.p is not None):
            raise InvalidInput(flag, "applies to ball costs (--eps) only", f"no {flag} with --tau/--p")
    if args.time_limit is not None:
        opts["time_limit"] = _check.real("--time-limit", args.time_limit, positive=True)
    if args.max_memory is not None:
        opts["max_memory"] = int(_check.real("--max-memory", args.max_memory, positive=True) * 2 ** 30)
        if opts["max_memory"] < 2 ** 20:
            raise InvalidInput("--max-memory", f"{args.max_memory:g} GiB is below 1 MiB", "a budget in GiB, e.g. 8")
    if args.progress:
        opts["progress"] = True
    return opts


def cmd_solve(args: argparse.Namespace) -> int:
    json_path, plot_path = _writable(args.json, "--json"), _writable(args.plot, "--plot", PLOT_SUFFIXES)
    rows, mu, param, interrupted = [], None, "eps", False
    points = _problems(args)
    while True:
        try:
            param, value, mu, problem = next(points)
        except StopIteration:
            break
        except KeyboardInterrupt:        # Ctrl-C between two solves: keep the rows so far
            interrupted = True
            print("robustdsl solve: interrupted; writing the results so far", file=sys.stderr)
            break
        t0 = time.perf_counter()
        try:
            sol = problem.solve(args.backend, **_solve_options(args))
            row = dict(sol.to_dict(include_timings=not args.no_timings))
        except TimeLimitReached as exc:  # Ctrl-C inside a solve: keep its interval, stop the sweep
            row = {"value": None, "lower": exc.lower, "upper": exc.upper, "status": "interval"}
            interrupted = exc.interrupted
        seconds = time.perf_counter() - t0
        row.update({param: value, "problem": str(problem)} | ({} if args.no_timings else {"seconds": seconds}))
        rows.append(row)
        lo, hi = row["lower"], row["upper"]
        print(f"{param} = {value:<8g} value = {row['value']!s:<22} [{lo}, {hi}]  {row['status']}"
              f"  ({seconds:.2f} s)", flush=True)
        if interrupted:
            print(f"robustdsl solve: interrupted at {param} = {value:g}; writing the results so far",
                  file=sys.stderr)
            break
    if mu is None:                       # interrupted before the data were read: nothing to write
        return 130
    out = {"spec": args.spec, "data": args.data, "n": mu.n, "norm": norm_str(_check.norm("--norm", args.norm)),
           "max_group_size": args.max_group_size, "results": rows}
    if json_path:
        write_text(json_path, json.dumps(out, indent=2, sort_keys=True, default=str) + "\n", "--json")
        print(f"wrote {json_path}")
    if plot_path:
        from .curve import label, plot_curve
        curve = {"label": label(args.max_group_size), "max_group_size": args.max_group_size,
                 "value": [r["value"] if r["value"] is not None else r["lower"] for r in rows]}
        run = {"norm": out["norm"], "eps": [r[param] for r in rows], "n": mu.n,
               "classes": list(mu.classes or []), "curves": [curve]}
        plot_curve(run, plot_path, title=Path(args.spec).name, xlabel=None if param == "eps" else param)
        print(f"wrote {plot_path}")
    return 130 if interrupted else 0


def cmd_export(args: argparse.Namespace) -> int:
    out = _writable(args.output, "OUTPUT")
    if Path(args.output).suffix.lower() not in (".lp", ".mps"):
        raise InvalidInput("OUTPUT", f"{args.output!r} has no .lp or .mps suffix")
    points = list(_problems(args))
    if len(points) != 1:
        raise InvalidInput("--eps", f"export writes one program; got {len(points)} parameter values")
    compiled = points[0][3].compile(args.backend, max_group_size=args.max_group_size)
    compiled.export(out)
    print(f"wrote {out}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .curve import plot_curve, risk_curve
    outdir = Path(args.out)
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInput("--out", f"cannot create directory {args.out!r} ({exc.strerror})") from None
    json_path, png_path = _writable(str(outdir / "demo.json"), "--out"), _writable(str(outdir / "demo.png"), "--out")
    per_class = DEMO_QUICK["per_class"] if args.quick else DEMO_PER_CLASS
    grids = DEMO_QUICK["grid"] if args.quick else DEMO_GRID
    mu = load_measure("builtin:mnist2000", list(DEMO_CLASSES), per_class, 0)
    print(f"robustdsl demo: {mu.n} MNIST digits of classes {list(DEMO_CLASSES)}; "
          f"optimal adversarial risk AT and its lower bounds AT_2, AT_3 (l2 and l_inf balls)", flush=True)
    t0 = time.perf_counter()
    try:
        runs = [risk_curve(mu, grids[norm], norm, (2, 3, None), backend=args.backend, progress=not args.quiet)
                for norm in ("2", "inf")]
    except TimeLimitReached as exc:
        if not exc.interrupted:
            raise
        print(f"robustdsl demo: interrupted ({exc})", file=sys.stderr)
        return 130
    for run in runs:
        for curve in run["curves"]:
            vals = ", ".join(f"{v:.4f}" for v in curve["value"])
            print(f"  l{run['norm']:<3} {curve['label']:<4}: {vals}")
        if not run["monotone_in_L"]:
            print(f"  warning: AT_2 <= AT_3 <= AT fails for l{run['norm']} (solver tolerance?)")
    report = {"data": "builtin:mnist2000", "classes": list(DEMO_CLASSES), "quick": bool(args.quick),
              "seconds": time.perf_counter() - t0, "runs": runs}
    write_text(json_path, json.dumps(report, indent=2, sort_keys=True, default=str) + "\n", "--out")
    plot_curve(runs, png_path, title=f"robustdsl demo: optimal adversarial risk of {mu.n} MNIST digits")
    print(f"wrote {json_path} and {png_path} ({report['seconds']:.1f} s)")
    return 0


# ---------------------------------------------------------------------------- parser
def _problem_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("spec", metavar="SPEC_FILE", help="text spec (names: f, mu, mu~, c, eps, delta)")
    p.add_argument("--data", required=True, help="builtin:NAME (builtin:mnist2000), an IDX directory or "
                   "*images-idx3-ubyte[.gz] file, a .npz (images/labels or X/y) or a .csv")
    p.add_argument("--classes", type=_ints, help="comma-separated class labels to keep, e.g. 1,4,7")
    p.add_argument("--per-class", type=int, help="at most N samples of each class")
    p.add_argument("--seed", type=int, default=None, help="draw --per-class samples at random with this seed "
                   "(default: the first N in data order)")
    p.add_argument("--eps", type=_floats("--eps"), help="ball radii, comma-separated (cost c = Ball(eps, norm))")
    p.add_argument("--norm", default="2", help="norm of the cost: 1, 2 or inf (default 2)")
    p.add_argument("--tau", type=_floats("--tau"), help="power cost ||x - x~||^p / tau instead of a ball "
                   "(comma-separated taus)")
    p.add_argument("--p", type=float, help="exponent of the power cost (default 2)")
    p.add_argument("--delta", type=float, help="the budget bound to the name delta")
    p.add_argument("--backend", default=None, help="back end (default: the lowering rule's default, e.g. highs)")
    p.add_argument("--max-group-size", type=_group_size, default=None, metavar="L",
                   help="keep groups of at most L samples (a lower bound AT_L); default exact")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="robustdsl", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    sub = ap.add_subparsers(dest="command", metavar="{solve,export,demo}")
    sub.required = True
    s = sub.add_parser("solve", help="solve a spec for each eps (or tau) on a data set",
                       description="Solve the spec file's problem on the data for each value of --eps (or --tau).")
    _problem_options(s)
    s.add_argument("--time-limit", type=float, metavar="S", help="seconds per solve of a ball cost (a certified "
                   "interval is reported when reached)")
    s.add_argument("--max-memory", type=float, metavar="GIB", help="memory budget (GiB) for the data, one "
                   "distance block and the conflict pairs of a ball cost; when the pairs do not fit, a certified "
                   "interval is reported")
    s.add_argument("--progress", action="store_true", help="progress bars (distance blocks, components)")
    s.add_argument("--json", metavar="OUT.json", help="write the results as JSON")
    s.add_argument("--no-timings", action="store_true", help="leave wall-clock times out of the JSON (the same "
                   "input then writes the same file)")
    s.add_argument("--plot", metavar="OUT.png", help="plot the value against eps (or tau)")
    s.set_defaults(run=cmd_solve)
    e = sub.add_parser("export", help="write the lowered program as .lp or .mps",
                       description="Compile the spec file's problem on the data and write the IR program.")
    _problem_options(e)
    e.add_argument("output", metavar="OUTPUT", help="out.lp or out.mps")
    e.set_defaults(run=cmd_export)
    d = sub.add_parser("demo", help="the optimal adversarial risk curve of the shipped MNIST digits",
                       description="Risk curves AT, AT_2, AT_3 against eps (l2 and l_inf) on builtin:mnist2000, "
                                   f"all ten classes, {DEMO_PER_CLASS} digits each; writes demo.json and demo.png.")
    d.add_argument("--out", default="out/demo", help="output directory (default out/demo)")
    d.add_argument("--quick", action="store_true", help=f"{DEMO_QUICK['per_class']} digits per class and 4 radii per norm")
    d.add_argument("--backend", default=None, help="back end (default: the rule's default)")
    d.add_argument("--quiet", action="store_true", help="no progress bars")
    d.set_defaults(run=cmd_demo)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (0 ok, 2 on any error, with one message on stderr)."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (RobustDSLError, OSError) as exc:
        print(f"robustdsl {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"robustdsl {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
