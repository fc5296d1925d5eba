"""Empirical measures mu = sum_v p_v delta_(x_v, y_v) and the adversary variable mu~."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from . import _check, guards
from .errors import InvalidInput


def _as_array(name: str, value: Any) -> np.ndarray:
    """np.asarray, refusing ragged or non-numeric input with an error naming the argument."""
    _check.not_masked(name, value)
    try:
        return np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(name, f"cannot be read as an array ({exc})") from None


def _class_list(classes: Any) -> tuple[int, ...]:
    """A declared class list as a non-empty tuple of ints."""
    if isinstance(classes, (str, bytes)) or not hasattr(classes, "__iter__"):
        raise InvalidInput("classes", f"expected a list of integer labels, got {classes!r}")
    out = tuple(_check.integer("classes", c) for c in classes)
    if not out:
        raise InvalidInput("classes", "is empty", "at least one class label")
    return out


def _frozen(name: str, value: Any, ndim: int, dtype) -> np.ndarray:
    """`value` itself if it is already a finite read-only array owning its data (from_arrays'
    copies), else a checked read-only copy (the direct constructor never keeps a caller's array)."""
    if (isinstance(value, np.ndarray) and not value.flags.writeable and value.base is None
            and value.dtype == dtype and value.ndim == ndim):
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            raise InvalidInput(name, "contains NaN or inf", "finite numbers")
        return value
    arr = _as_array(name, value)
    if name == "y" and np.dtype(dtype).kind == "i" and arr.dtype.kind not in "biu":
        raise InvalidInput("y", f"class labels have dtype {arr.dtype}", "integer labels")
    return _check.frozen_array(name, arr, ndim=ndim, dtype=dtype)


@dataclass(frozen=True, eq=False)
class EmpiricalMeasure:
    """mu = sum_v p_v delta_(x_v, y_v); targets y are integer class labels or real numbers.

    Arrays are read-only copies: nothing the caller passed is ever modified.
    `classes` is the declared label list (classification) or None (real targets).
    """

    X: np.ndarray
    y: np.ndarray
    weights: np.ndarray
    classes: tuple[int, ...] | None
    name: str = field(default="mu", compare=False)

    def __post_init__(self) -> None:
        for key, ndim, dtype in (("X", 2, np.float64), ("weights", 1, np.float64),
                                 ("y", 1, np.float64 if self.classes is None else np.int64)):
            object.__setattr__(self, key, _frozen(key, getattr(self, key), ndim, dtype))
        X, y, w = self.X, self.y, self.weights
        n, d = X.shape
        if n == 0:
            raise InvalidInput("X", "the measure is empty (n = 0)", "at least one sample")
        if d == 0:
            raise InvalidInput("X", "has d = 0 features", "d >= 1")
        if self.classes is not None:
            object.__setattr__(self, "classes", _class_list(self.classes))
        if y.shape != (n,):
            raise InvalidInput("y", f"has shape {y.shape} but X has {n} rows", f"shape ({n},)")
        if w.shape != (n,):
            raise InvalidInput("weights", f"has shape {w.shape} but X has {n} rows", f"shape ({n},)")
        if not np.all(w > 0):
            raise InvalidInput("weights", f"has {int(np.sum(~(w > 0)))} entries <= 0", "weights > 0")
        if self.classes is not None:
            if y.dtype.kind not in "iu":
                raise InvalidInput("y", f"class labels have dtype {y.dtype}", "integer labels")
            bad = ~np.isin(y, np.asarray(self.classes))
            if bad.any():
                raise InvalidInput("y", f"label {y[bad][0]} is not in the declared classes "
                                   f"{list(self.classes)}", "labels from the class list")
            if len(set(self.classes)) != len(self.classes):
                raise InvalidInput("classes", f"has repeated entries {list(self.classes)}")

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_arrays(cls, X: Any, y: Any, weights: Any = None, *, classes: Sequence[int] | None = None,
                    task: str | None = None, name: str = "mu",
                    max_bytes: int | None = None) -> "EmpiricalMeasure":
        """Build from features X (n, d) [or (n, h, w) images, flattened], targets y (n,), weights p (n,).

        task='classification' requires integer labels (float labels are refused);
        task='regression' takes real targets; None infers it from y's dtype.
        Default weights are 1/n (total mass 1). max_bytes bounds the copy of X (default 16 GiB):
        larger inputs are refused with ResourceLimit before anything is allocated.
        """
        task = _check.choice("task", task, (None, "classification", "regression"))
        Xa = _as_array("X", X)
        guards.array_bytes("X", Xa, max_bytes=max_bytes)
        if Xa.ndim > 2:
            Xa = Xa.reshape(Xa.shape[0], int(np.prod(Xa.shape[1:])))
        Xf = _check.frozen_array("X", Xa, ndim=2)
        ya = _as_array("y", y)
        if ya.ndim != 1:
            raise InvalidInput("y", f"has shape {ya.shape}", "a 1-D array of targets")
        if task is None:
            task = "classification" if ya.dtype.kind in "iub" or classes is not None else "regression"
        if task == "classification":
            if ya.dtype.kind == "b":
                ya = ya.astype(np.int64)
            if ya.dtype.kind not in "iu":
                raise InvalidInput("y", f"class labels must be integers, got dtype {ya.dtype}",
                                   "integer class labels (use task='regression' for real targets)")
            yf = _check.frozen_array("y", ya, ndim=1, dtype=np.int64)
            if classes is None:
                cl = tuple(int(c) for c in np.unique(yf))
            else:
                cl = _class_list(classes)
        else:
            yf = _check.frozen_array("y", ya, ndim=1, dtype=np.float64)
            cl = None
        n = Xf.shape[0]
        if weights is None:
            wf = np.full(n, 1.0 / max(n, 1))
            wf.setflags(write=False)
        else:
            wf = _check.frozen_array("weights", weights, ndim=1)
        return cls(Xf, yf, wf, cl, name)

    @classmethod
    def from_idx(cls, images: str | Path, labels: str | Path, *, scale: bool = True,
                 **kw: Any) -> "EmpiricalMeasure":
        """Read IDX image and label files (gzipped or not); uint8 pixels scaled to [0, 1]."""
        from .data import load_idx_pair
        X, y = load_idx_pair(images, labels, scale=scale)
        return cls.from_arrays(X, y, **kw)

    @classmethod
    def from_npz(cls, path: str | Path, *, scale: bool = True, **kw: Any) -> "EmpiricalMeasure":
        """Read an .npz holding `images`/`labels` or `X`/`y` (optionally `weights`)."""
        from .data import load_npz
        X, y, w = load_npz(path, scale=scale)
        if w is not None and "weights" not in kw:
            kw["weights"] = w
        return cls.from_arrays(X, y, **kw)

    @classmethod
    def from_csv(cls, path: str | Path, *, target: int = -1, **kw: Any) -> "EmpiricalMeasure":
        """Read a numeric CSV; column `target` holds y, the others x."""
        from .data import load_csv
        X, y = load_csv(path, target=target)
        return cls.from_arrays(X, y, **kw)

    @classmethod
    def builtin(cls, name: str = "mnist2000", **kw: Any) -> "EmpiricalMeasure":
        """A data set shipped with robustdsl (see robustdsl.data.BUILTIN)."""
        from .data import load_builtin
        X, y = load_builtin(name)
        return cls.from_arrays(X, y, **kw)

    # ------------------------------------------------------------------ views
    @property
    def n(self) -> int:
        return int(self.X.shape[0])

    @property
    def dim(self) -> int:
        return int(self.X.shape[1])

    @property
    def mass(self) -> float:
        return float(self.weights.sum())

    @property
    def is_classification(self) -> bool:
        return self.classes is not None

    @property
    def n_classes(self) -> int:
        return 0 if self.classes is None else len(self.classes)

    def label_index(self) -> np.ndarray:
        """Labels as indices 0..K-1 into `classes`."""
        if self.classes is None:
            raise InvalidInput("y", "this measure has real targets, not class labels",
                               "a classification measure")
        order = np.asarray(self.classes)
        sorter = np.argsort(order)
        return sorter[np.searchsorted(order, self.y, sorter=sorter)].astype(np.int64)

    def subset(self, classes: Sequence[int] | None = None, per_class: int | None = None,
               seed: int | None = None, name: str | None = None) -> "EmpiricalMeasure":
        """Keep `classes` (in that declared order) and at most `per_class` samples of each.

        seed=None keeps the first `per_class` samples of each class in data order;
        an integer seed draws them at random (kept in data order: deterministic).
        Weights of kept samples are renormalised to the original total mass.
        """
        if self.classes is None:
            raise InvalidInput("classes", "subset by class needs class labels", "a classification measure")
        cl = self.classes if classes is None else _class_list(classes)
        missing = [c for c in cl if c not in self.classes]
        if missing:
            raise InvalidInput("classes", f"{missing} not among the measure's classes {list(self.classes)}")
        if per_class is not None:
            per_class = _check.integer("per_class", per_class, minimum=1)
        rng = None if seed is None else np.random.default_rng(_check.integer("seed", seed, minimum=0))
        keep = []
        for c in cl:
            idx = np.flatnonzero(self.y == c)
            if per_class is not None and idx.size > per_class:
                idx = idx[:per_class] if rng is None else np.sort(rng.choice(idx, per_class, replace=False))
            keep.append(idx)
        ix = np.sort(np.concatenate(keep))
        if ix.size == 0:
            raise InvalidInput("classes", f"no samples of classes {list(cl)}")
        w = self.weights[ix]
        w = w * (self.mass / w.sum())
        return EmpiricalMeasure.from_arrays(self.X[ix], self.y[ix], w, classes=cl,
                                            task="classification", name=name or self.name)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EmpiricalMeasure):
            return NotImplemented
        return (self is other) or (
            self.classes == other.classes and self.X.shape == other.X.shape
            and np.array_equal(self.X, other.X) and np.array_equal(self.y, other.y)
            and np.array_equal(self.weights, other.weights))

    def __hash__(self) -> int:
        return hash((self.X.shape, self.classes, float(self.weights.sum())))

    def __repr__(self) -> str:
        kind = f"classes={list(self.classes)}" if self.classes is not None else "real targets"
        return f"EmpiricalMeasure(n={self.n}, d={self.dim}, {kind}, mass={self.mass:.6g})"

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Adversary:
    """The decision variable mu~: a measure the adversary chooses, anchored at `base`."""

    base: EmpiricalMeasure
    name: str = field(default="", compare=False)  # default: the base measure's name + "~" (mu -> mu~)

    def __post_init__(self) -> None:
        if not isinstance(self.base, EmpiricalMeasure):
            raise InvalidInput("base", f"expected an EmpiricalMeasure, got {type(self.base).__name__}")
        if not self.name:
            object.__setattr__(self, "name", f"{self.base.name}~")

    def __str__(self) -> str:
        return self.name
