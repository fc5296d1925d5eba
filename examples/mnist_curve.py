"""The optimal adversarial risk curve of MNIST digits against eps (l2 and l_inf).

    AT_2 <= AT_3 <= AT(eps)   (truncated group LPs are lower bounds; AT is exact and certified)

Default: all ten classes, 100 digits each, from the digits shipped with robustdsl
(`builtin:mnist2000`); `--mnist DIR` takes the first N training digits of each class from the IDX files.

    python examples/mnist_curve.py --out out/mnist_curve            # JSON + PNG
    python examples/mnist_curve.py --mnist ../shared/data/mnist --classes 1,4,7 --per-class 1000
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import robustdsl as rd
from robustdsl.curve import plot_curve, risk_curve
from robustdsl.data.loaders import resolve

L2_GRID = (1.0, 2.0, 3.0, 3.5, 4.0)
LINF_GRID = (0.3, 0.49, 0.494, 0.496)


def load(args: argparse.Namespace) -> rd.EmpiricalMeasure:
    """The digits: shipped subset, or the IDX training set in `args.mnist`."""
    if args.mnist:
        X, y = resolve(str(Path(args.mnist) / "train-images-idx3-ubyte.gz"))
    else:
        X, y = resolve("builtin:mnist2000")
    mu = rd.EmpiricalMeasure.from_arrays(X, y)
    return mu.subset(classes=[int(c) for c in args.classes.split(",")], per_class=args.per_class)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mnist", default=None, help="directory of the MNIST IDX files (default: shipped digits)")
    ap.add_argument("--classes", default="0,1,2,3,4,5,6,7,8,9")
    ap.add_argument("--per-class", type=int, default=100)
    ap.add_argument("--l2", default=",".join(map(str, L2_GRID)), help="l2 radii")
    ap.add_argument("--linf", default=",".join(map(str, LINF_GRID)), help="l_inf radii")
    ap.add_argument("--out", default="out/mnist_curve", help="output directory")
    args = ap.parse_args(argv)
    mu = load(args)
    runs = []
    for norm, grid in ((2, args.l2), ("inf", args.linf)):
        eps = [float(e) for e in grid.split(",") if e]
        if eps:
            runs.append(risk_curve(mu, eps, norm, max_group_sizes=(2, 3, None)))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report = {"n": mu.n, "classes": list(mu.classes), "runs": runs}
    (out / "mnist_curve.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    plot_curve(runs, out / "mnist_curve.png", title=f"optimal adversarial risk, {mu.n} MNIST digits")
    for run in runs:
        for c in run["curves"]:
            print(f"l{run['norm']:>3} {c['label']:>4}: " + ", ".join(f"{v:.4f}" for v in c["value"]))
    print(f"wrote {out / 'mnist_curve.json'} and {out / 'mnist_curve.png'}")
    return report


if __name__ == "__main__":
    main()
