"""Write the group LP (P) as CPLEX LP or free MPS with readable names.

    max sum_S g_S w_S   s.t.  row s_v:    sum_{S contains v} w_S <= p_v
                              row budget: sum_S B(S) w_S <= delta   (constrained form only)
                              w >= 0

Columns are named after their (sorted) members, `w_3_17_402`; a repeated group gets
`__2`, `__3`, ... Rows are `s_<sample>`; samples in no group give no row (their row
would read 0 <= p_v). Numbers are written with Python's shortest round-trip repr.
Everything is assembled with numpy string operations over whole arrays.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from robustdsl._files import writable, write_text
from robustdsl.errors import InvalidInput
from robustdsl.ir.group_lp import LPData

FORMATS = ("lp", "mps")
TERMS_PER_LINE = 6


def write_lp(data: LPData, path, fmt: str | None = None) -> Path:
    """Write `data` to `path` as 'lp' (CPLEX LP) or 'mps' (free MPS); fmt defaults to the suffix."""
    if not isinstance(data, LPData):
        raise InvalidInput("data", f"expected LPData, got {type(data).__name__}")
    p = Path(path)
    fmt = (fmt or p.suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        raise InvalidInput("fmt", f"got {fmt!r}", "'lp' or 'mps'")
    writable(p, "path")
    model = _Model.of(data)
    return write_text(p, model.lp_text() if fmt == "lp" else model.mps_text(), "path")


def column_names(data: LPData) -> np.ndarray:
    """'w_' + members joined by '_' for every group (disambiguated when repeated)."""
    gs = data.groups
    names = np.empty(gs.n_groups, dtype=object)
    sizes = gs.sizes
    for k in np.unique(sizes):                     # one vectorised pass per group size
        sel = np.flatnonzero(sizes == k)
        members = gs.indices[gs.indptr[sel][:, None] + np.arange(k)].astype(str)
        joined = np.full(sel.size, "w", dtype=object)
        for c in range(k):
            joined = joined + "_" + members[:, c].astype(object)
        names[sel] = joined
    uniq, inverse, counts = np.unique(names.astype(str), return_inverse=True, return_counts=True)
    if np.any(counts > 1):
        order = np.argsort(inverse, kind="stable")
        first = np.concatenate([[0], np.cumsum(counts)[:-1]])
        rank = np.empty(names.size, dtype=np.int64)
        rank[order] = np.arange(names.size) - np.repeat(first, counts)
        dup = rank > 0
        names[dup] = names[dup] + "__" + (rank[dup] + 1).astype(str).astype(object)
    return names


def _num(values: np.ndarray) -> np.ndarray:
    """Shortest round-trip decimal strings ('1' for 1.0)."""
    s = np.array(list(map(repr, np.asarray(values, dtype=np.float64).tolist())), dtype=object)
    whole = np.array([t.endswith(".0") for t in s], dtype=bool) if s.size else np.zeros(0, bool)
    s[whole] = np.array([t[:-2] for t in s[whole]], dtype=object)
    return s


class _Model:
    """(P) as named rows of a column-wise sparse matrix, ready to print."""

    def __init__(self, data, cols, rows, row_ptr, row_col, row_val, rhs, obj):
        self.data, self.cols, self.rows = data, cols, rows
        self.row_ptr, self.row_col, self.row_val, self.rhs, self.obj = row_ptr, row_col, row_val, rhs, obj

    @classmethod
    def of(cls, data: LPData) -> "_Model":
        gs = data.groups
        if gs.n_groups == 0:
            raise InvalidInput("data", "has no groups: no samples of different classes conflict, so the LP "
                               "has no variables and its value is 0 (nothing to export)",
                               "a radius at which some samples conflict")
        weights = np.asarray(data.weights, dtype=np.float64)
        if weights.shape != (data.n,) or not np.all(np.isfinite(weights)):
            raise InvalidInput("data", "weights contain NaN or inf", "finite weights")
        if not np.all(np.isfinite(gs.cost)):
            raise InvalidInput("data", "a group cost is NaN or inf", "finite costs")
        At = gs.incidence(data.n).T.tocsr()
        live = np.flatnonzero(np.diff(At.indptr) > 0)
        At = At[live]
        rows = np.array(["s_%d" % v for v in live], dtype=object) if live.size else np.zeros(0, object)
        ptr, col, val, rhs = At.indptr, At.indices, At.data, weights[live]
        if data.budget is not None:
            nz = np.flatnonzero(gs.cost != 0)
            bcol = nz if nz.size else np.array([0])
            ptr = np.append(ptr, ptr[-1] + bcol.size)
            col = np.concatenate([col, bcol])
            val = np.concatenate([val, gs.cost[bcol]])
            rows = np.append(rows, "budget").astype(object)
            rhs = np.append(rhs, data.budget)
        return cls(data, column_names(data), rows, ptr, col, val, rhs,
                   np.asarray(data.gains, dtype=np.float64))

    def _header(self, comment: str) -> str:
        d = self.data
        form = "constrained (budget row)" if d.budget is not None else "penalised"
        sizes = ", ".join(f"{k}: {c}" for k, c in d.groups.counts_by_size().items())
        return (f"{comment} robustdsl group LP (P), {form} form: {d.n} samples, "
                f"{d.groups.n_groups} groups (by size {sizes})\n"
                f"{comment} max sum_S g_S w_S  s.t.  sum_(S contains v) w_S <= p_v (row s_v), w >= 0\n")

    @staticmethod
    def _terms(ptr, col, val, names) -> np.ndarray:
        """One string per nonzero: ' + 2 w_0_1' with a line break every TERMS_PER_LINE terms."""
        nnz = col.size
        pos = np.arange(nnz) - np.repeat(ptr[:-1], np.diff(ptr))
        neg = val < 0
        coef = _num(np.abs(val))
        coef[coef == "1"] = ""
        coef = np.where(coef == "", "", coef + " ")
        sign = np.where(neg, "- ", np.where(pos == 0, "", "+ "))
        lead = np.where(pos == 0, "", np.where(pos % TERMS_PER_LINE == 0, "\n    ", " "))
        return lead + sign + coef + names[col]

    def lp_text(self) -> str:
        m = self.cols.size
        obj_terms = self._terms(np.array([0, m]), np.arange(m), self.obj, self.cols)
        out = [self._header("\\"), "Maximize\n obj: ", "".join(obj_terms), "\nSubject To\n"]
        terms = self._terms(self.row_ptr, self.row_col, self.row_val, self.cols)
        starts, ends = self.row_ptr[:-1], self.row_ptr[1:] - 1
        terms[starts] = " " + self.rows + ": " + terms[starts]
        terms[ends] = terms[ends] + " <= " + _num(self.rhs) + "\n"
        out += ["".join(terms), "End\n"]
        return "".join(out)

    def mps_text(self) -> str:
        m = self.cols.size
        nnz = self.row_col.size
        rid = np.repeat(np.arange(self.rows.size), np.diff(self.row_ptr))
        # column-major entries: the objective first, then the rows in order
        col = np.concatenate([np.arange(m), self.row_col])
        sub = np.concatenate([np.full(m, -1), rid])
        order = np.lexsort((sub, col))
        rname = np.concatenate([np.full(m, "obj", dtype=object), self.rows[rid] if nnz else []])
        vals = _num(np.concatenate([self.obj, self.row_val]))
        lines = "    " + self.cols[col[order]] + " " + rname[order] + " " + vals[order] + "\n"
        rhs = "    RHS " + self.rows + " " + _num(self.rhs) + "\n"
        kinds = " L  " + self.rows + "\n"
        return "".join([self._header("*"), "NAME robustdsl_group_lp\nOBJSENSE\n    MAX\nROWS\n N  obj\n",
                        "".join(kinds), "COLUMNS\n", "".join(lines), "RHS\n", "".join(rhs), "ENDATA\n"])
