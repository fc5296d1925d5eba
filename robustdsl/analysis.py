"""Analysis: read the structure of a Problem into a ProblemForm.

The lowering registry chooses a rule from the form alone (CVXPY-style), never
from a chain of if/else over the user's objects.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .costs import Cost, norm_str
from .errors import InvalidInput, UnsupportedProblem
from .expr import Budget, Difference, Expectation, OT, PointwiseSup, Scaled, Sup, Term
from .learners import Agnostic, Learner
from .losses import Loss
from .measures import Adversary, EmpiricalMeasure


@dataclass(frozen=True)
class ProblemForm:
    """The structure of a problem: what lowering rules match on.

    `cost` is the effective penalty cost (any scalar multiplier folded in), `budget`
    the effective constraint cost with its bound `delta` (constrained form).
    """

    learner: str                 # "agnostic" | "meanfield"
    loss: str                    # "zero_one" | "squared"
    cost_family: str             # "ball" | "power" | "ball+power" | "squared_z" | ...
    norm: float | None           # the norm of the cost, when it has one
    label_preserving: bool
    constrained: bool            # sup over {mu~ : OT_c(mu, mu~) <= delta}
    measure: str                 # "empirical"
    targets: str                 # "labels" | "real"
    n_classes: int
    pointwise: bool = field(default=False, compare=False)  # written as E_mu[sup_{x~ in B_eps(x)} loss]: same structure
    cost: Cost | None = field(default=None, compare=False)
    budget_cost: Cost | None = field(default=None, compare=False)
    delta: float | None = field(default=None, compare=False)
    mu: EmpiricalMeasure | None = field(default=None, compare=False, repr=False)
    learner_obj: Learner | None = field(default=None, compare=False, repr=False)

    def describe(self) -> str:
        """One line naming the structure, e.g. 'agnostic + zero_one + ball(l2), label-preserving, penalised,
        empirical measure with labels targets'."""
        norm = "" if self.norm is None else f"(l{norm_str(self.norm)})"
        lp = "label-preserving" if self.label_preserving else "moves labels"
        form = "constrained" if self.constrained else "penalised"
        return (f"{self.learner} + {self.loss} + {self.cost_family}{norm}, {lp}, {form}, "
                f"{self.measure} measure with {self.targets} targets")


def _unsupported(what: str) -> UnsupportedProblem:
    return UnsupportedProblem(
        f"cannot read the problem's structure: {what}. Expected "
        "inf_f sup_{mu~} E_{mu~}[loss(f)] - [lambda *] OT_c(mu, mu~), "
        "inf_f sup_{mu~ : OT_c(mu, mu~) <= delta} E_{mu~}[loss(f)], or "
        "inf_f E_mu[sup_{x~ in B_eps(x)} loss(f)]")


def _split_objective(body: Term) -> tuple[Expectation, OT | None, float]:
    """body = E[loss] - lambda * OT  ->  (E, OT, lambda);  body = E[loss] -> (E, None, 0)."""
    if isinstance(body, Expectation):
        return body, None, 0.0
    if isinstance(body, Difference) and isinstance(body.left, Expectation):
        right, factor = body.right, 1.0
        while isinstance(right, Scaled):
            factor *= right.factor
            right = right.term
        if isinstance(right, OT):
            return body.left, right, factor
    raise _unsupported(f"objective {body} is not E[loss] - lambda * OT(...)")


def _check_loss(loss: Loss, learner: Learner) -> None:
    if loss.f != learner:
        raise _unsupported(f"the loss is of learner {loss.f!r}, the infimum is over {learner!r}")


def _measure_targets(mu: EmpiricalMeasure, loss: str, learner: Learner) -> str:
    if loss == "zero_one":
        if not mu.is_classification:
            raise InvalidInput("mu", "the 0-1 loss needs integer class labels, the measure has real targets",
                               "EmpiricalMeasure.from_arrays(X, labels) with integer labels")
        if isinstance(learner, Agnostic):
            extra = sorted(set(mu.classes) - set(learner.classes))
            if extra:
                raise InvalidInput("classes", f"the measure has labels {extra} outside the learner's classes "
                                   f"{list(learner.classes)}")
        return "labels"
    return "labels" if mu.is_classification else "real"


def analyze(problem: "Problem") -> ProblemForm:  # noqa: F821
    """Read learner, loss, cost family, label preservation, penalised/constrained, measure type."""
    learner, body = problem.learner, problem.body
    pointwise = False
    budget: Budget | None = None
    if isinstance(body, Sup):
        if not isinstance(body.variable, Adversary):
            raise _unsupported(f"the supremum is over {body.variable}, not an adversary measure mu~")
        adv = body.variable
        mu = adv.base
        expectation, ot, factor = _split_objective(body.body)
        budget = body.constraint
        if expectation.measure != adv:
            raise _unsupported(f"the expectation is under {expectation.measure}, not the adversary {adv}")
        for term in [t for t in (ot, budget.ot if budget else None) if t is not None]:
            if term.target != adv or term.source != mu:
                raise _unsupported(f"{term} must couple the data measure {mu} with the adversary {adv}")
        if ot is None and budget is None:
            raise _unsupported("the adversary is neither penalised nor constrained by a transport cost")
        if not isinstance(expectation.loss, Loss):
            raise _unsupported("a pointwise sup inside an expectation over mu~")
        loss = expectation.loss
        cost = ot.cost.scaled(factor) if ot is not None else None
    elif isinstance(body, Expectation) and isinstance(body.loss, PointwiseSup):
        if not isinstance(body.measure, EmpiricalMeasure):
            raise _unsupported(f"the pointwise form needs the data measure, got {body.measure}")
        mu, loss, cost, pointwise = body.measure, body.loss.loss, body.loss.ball, True
    else:
        raise _unsupported(f"the body {body} is not a supremum over an adversary")
    _check_loss(loss, learner)
    main = cost if cost is not None else budget.ot.cost  # type: ignore[union-attr]
    norm = getattr(main, "norm", None)
    if norm is None and hasattr(main, "terms"):
        norms = {getattr(t, "norm", None) for t in main.terms}
        norm = norms.pop() if len(norms) == 1 else None
    families = [c.family for c in (cost, budget.ot.cost if budget else None) if c is not None]
    return ProblemForm(
        learner=learner.family, loss=loss.family, cost_family="|".join(dict.fromkeys(families)),
        norm=norm, label_preserving=all(c.label_preserving for c in (cost, budget.ot.cost if budget else None)
                                        if c is not None),
        constrained=budget is not None, measure="empirical",
        targets=_measure_targets(mu, loss.family, learner),
        n_classes=getattr(learner, "n_classes", 0), pointwise=pointwise, cost=cost,
        budget_cost=budget.ot.cost if budget else None, delta=budget.delta if budget else None,
        mu=mu, learner_obj=learner)


__all__ = ["ProblemForm", "analyze"]
