"""Interval answers of the ball-cost group LP, each with a certificate that re-checks both ends.

An interval [lower, upper] comes with an attack (lower <= its best-response risk <= AT: any
classifier loses at least that much on it) and a q in [0, 1]^n (the classifier f from q has
worst-case risk <= sum_v p_v (1 - q_v / M_v) for any M_v >= the largest sum of q over an
admissible group through v, so AT <= that; solvers.group_certificate). An attack built at a
smaller eps is an attack at this one too (it moves no point further), which is how a floor
carried along an eps sweep keeps its certificate.
"""
from __future__ import annotations

import numpy as np

from .ir import GroupLP
from .saddle import Attack, Classifier, build_attack
from .solution import Solution

FLOOR_TOL = 1e-9   # the certificate's gap tolerance: a smaller raise of the floor is rounding


def group_attack(program: GroupLP, classes: tuple[int, ...], rows: list[np.ndarray],
                 masses: list[np.ndarray]) -> Attack:
    """The attack moving mass masses[i][j] of every member of the group rows[i][j] to its
    barycenter (ball_groups.centres), the rest of each sample unmoved."""
    from .solvers.ball_groups import centres

    keep = [(R, w) for R, w in zip(rows, masses) if R.shape[0]]
    return build_attack(program.X, program.labels, program.weights, classes, [R for R, _ in keep],
                        [w for _, w in keep], [centres(program.X, R, program.norm, program.eps) for R, _ in keep])


def pair_attack(program: GroupLP, classes: tuple[int, ...], I: np.ndarray, J: np.ndarray,
                w: np.ndarray) -> Attack:
    """group_attack of the pairs (I, J) carrying the masses w > 0 (a pair flow)."""
    pos = np.asarray(w) > 0
    return group_attack(program, classes, [np.stack([I[pos], J[pos]], 1)], [np.asarray(w)[pos]])


def interval_answer(program: GroupLP, classes: tuple[int, ...], q: np.ndarray, attack: Attack,
                    lower: float, upper: float, *, value: float | None = None, backend: str,
                    timings: dict, info: dict,
                    pairs: tuple[np.ndarray, np.ndarray] | None = None) -> Solution:
    """Solution with status 'interval': sol.certificate() re-checks lower <= the attack's
    best-response risk and the classifier's worst-case bound <= upper, over the groups of `pairs`
    (every conflict pair) or, with pairs=None (the pair list is incomplete), by one blocked
    distance pass (group_certificate.upper_by_pass)."""
    from .solvers.group_certificate import certify as run_certificate

    q = np.array(q, dtype=np.float64)
    classifier = Classifier(program.X, program.labels, q, program.eps, program.norm, classes)

    def check(progress: bool = False):
        return run_certificate(program.X, program.labels, program.weights, program.eps, program.norm,
                               program.group_limit, q, lower, attack, classifier, pairs=pairs,
                               claimed=(lower, upper), by_pass=pairs is None, progress=progress)

    return Solution(value=lower if value is None else value, lower=lower, upper=upper, status="interval",
                    backend=backend, rule="group_lp_ball", timings=timings, attack=attack,
                    classifier=classifier, q=q, info=info, certify=check)


def with_floor(program: GroupLP, classes: tuple[int, ...], sol: Solution, floor: float,
               floor_attack: Attack | None) -> Solution:
    """sol with its lower end raised to `floor` (AT at a smaller eps: AT is non-decreasing in eps),
    the attack that proves it being `floor_attack`, built at that smaller eps. A floor above sol.lower
    by less than FLOOR_TOL of the mass is LP rounding (AT_L is monotone too), not information."""
    if floor_attack is None or floor <= sol.lower + FLOOR_TOL * float(program.weights.sum()):
        return sol
    return interval_answer(program, classes, sol.q, floor_attack, floor, sol.upper, backend=sol.backend,
                           timings=dict(sol.timings), info=dict(sol.info))


def unsolved(program: GroupLP, classes: tuple[int, ...], floor: float, floor_attack: Attack | None,
             reason: str) -> Solution:
    """An eps left unsolved: [floor, mass (1 - 1/K)]: the floor's attack, and q = 1/K everywhere
    (the uniform classifier: no group of at most K members sums above 1)."""
    q = np.full(program.n, 1.0 / program.n_classes)
    attack = floor_attack if floor_attack is not None else group_attack(program, classes, [], [])
    upper = float(program.weights.sum()) * (1.0 - 1.0 / program.n_classes)
    return interval_answer(program, classes, q, attack, floor, upper, backend="highs", timings={},
                           info={"reason": reason})
