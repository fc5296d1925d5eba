"""How the optimal adversarial risk depends on the price of a squared-l2 attack.

Data: three Gaussian classes in the plane (seeded).  Cost c(x, x~) = ||x - x~||_2^2 / tau, so
1/tau is the price per unit of squared displacement.  For each price the exact AT (barycenter
group LP, certified) is computed; tau -> 0 recovers the unattacked risk (0 here: distinct
points), a cheap attack merges whole groups at their means.  The figure shows AT against the
price and, for one price, the attack: each merged group moves to its barycenter (the mean).

Run: python examples/price_of_attack.py [--out examples/out] [--n 30]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

import robustdsl as rd


def three_gaussians(n: int, seed: int = 0) -> rd.EmpiricalMeasure:
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [2.0, 0.0], [1.0, 1.7]])
    y = np.repeat(np.arange(3), n)
    return rd.EmpiricalMeasure.from_arrays(centres[y] + 0.7 * rng.normal(size=(3 * n, 2)), y)


def problem(mu: rd.EmpiricalMeasure, price: float) -> rd.Problem:
    f, mt = rd.Agnostic(classes=mu.classes), rd.Adversary(mu)
    return rd.inf(f, rd.sup(mt, rd.E(mt, rd.ZeroOne(f)) - price * rd.OT(mu, mt, rd.Power(2, 1.0, 2))))


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="examples/out")
    ap.add_argument("--n", type=int, default=30, help="points per class")
    ap.add_argument("--prices", type=int, default=13, help="number of prices in [0.1, 100]")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    mu = three_gaussians(args.n)
    prices = np.geomspace(0.1, 100.0, args.prices)
    rows, shown = [], None
    for price in prices:
        sol = problem(mu, float(price)).solve()
        cert = sol.certificate()
        rows.append({"price": float(price), "tau": 1.0 / float(price), "AT": sol.value, "upper": sol.upper,
                     "status": sol.status, "certified": cert.ok, "gap": cert.gap, "groups": sol.info["groups"]})
        print(f"price 1/tau = {price:8.3f}: AT = {sol.value:.6f}  groups {sol.info['groups']}  "
              f"certificate {'ok' if cert.ok else 'FAILED'} (gap {cert.gap:.1e})")
        if shown is None and sol.info["groups"].get(3, 0) > 0 and price >= 1.0:
            shown = (float(price), sol)
    if shown is None:
        shown = (float(prices[len(prices) // 2]), problem(mu, float(prices[len(prices) // 2])).solve())
    result = {"data": f"three Gaussians, {args.n} points per class, seed 0", "curve": rows,
              "attack_shown_at_price": shown[0]}
    (out / "price_of_attack.json").write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    _plot(mu, prices, [r["AT"] for r in rows], shown, out / "price_of_attack.png")
    print(f"wrote {out / 'price_of_attack.json'} and {out / 'price_of_attack.png'}")
    return result


def _plot(mu, prices, values, shown, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.5))
    a1.semilogx(prices, values, "o-")
    a1.set_xlabel("price of the attack 1/tau (cost ||x - x~||^2 / tau)")
    a1.set_ylabel("optimal adversarial risk AT")
    a1.set_title("AT against the price of a squared-l2 attack")
    a1.grid(True, which="both", alpha=0.3)
    price, sol = shown
    colours = np.array(["tab:blue", "tab:orange", "tab:green"])
    a2.scatter(mu.X[:, 0], mu.X[:, 1], c=colours[mu.label_index()], s=18, alpha=0.6)
    att = sol.attack
    moved = att.group >= 0
    for g in np.unique(att.group[moved]):
        members = np.flatnonzero(att.group == g)
        c = att.points[members[0]]
        for s in att.source[members]:
            a2.plot([mu.X[s, 0], c[0]], [mu.X[s, 1], c[1]], "k-", lw=0.6, alpha=0.6)
        a2.scatter([c[0]], [c[1]], marker="*", s=60 + 4000 * att.masses[members].sum(),
                   c="k" if members.size > 2 else "grey", zorder=3)
    a2.set_title(f"attack at price {price:.3g}: groups move to their means (stars)")
    a2.set_aspect("equal")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
