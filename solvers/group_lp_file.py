"""The explicit LP (P) of a GroupLP program, for LP/MPS export: every admissible group enumerated.

Columns: all admissible groups S with 2 <= |S| <= min(K, L) (distinct labels, eps-balls sharing a
point: cliques of the conflict graph filtered by the exact enclosing-ball test), B(S) = 0 for ball
costs; rows: samples. Its optimum is AT (AT_L for a truncation), so any LP solver can check it.
Refuses (ResourceLimit) beyond `max_groups` columns, before writing anything.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from robustdsl.errors import ResourceLimit
from robustdsl.ir import GroupLP, GroupSet
from robustdsl.ir.group_lp import LPData

from .ball_groups import group_test
from .cliques import enumerate_cliques
from .cutting_plane import conflict_graph
from .lp_export import write_lp

DEFAULT_MAX_GROUPS = 2_000_000


def lp_data(program: GroupLP, max_groups: int = DEFAULT_MAX_GROUPS, **limits) -> LPData:
    """LPData of (P) over all admissible groups of the program (ResourceLimit past max_groups)."""
    g = conflict_graph(program, **limits)
    test = group_test(program.X, program.eps, program.norm,
                      dist=g.edge_dist if program.norm == 2 else None)
    by_size = enumerate_cliques(g, program.group_limit, keep=test)
    total = sum(r.shape[0] for r in by_size.values())
    if total > max_groups:
        raise ResourceLimit("max_groups", f"the LP has {total} admissible groups (columns), more than "
                            f"{max_groups}", "raise max_groups, lower eps or set max_group_size")
    groups = GroupSet.concat([GroupSet.from_rows(r) for _, r in sorted(by_size.items())])
    return LPData(program.weights, groups)


def export(program: GroupLP, path: Path, fmt: str, max_groups: int = DEFAULT_MAX_GROUPS, **limits) -> Path:
    """Write (P) of the program as .lp or .mps."""
    return write_lp(lp_data(program, max_groups, **limits), path, fmt)


def finite_coefficients(text: str) -> bool:
    """True iff no token of an exported file reads as NaN or +-inf (names never do: w_..., s_...)."""
    toks = np.array(text.replace(":", " ").split())
    low = np.char.lower(toks)
    return not np.any(np.isin(low, ["nan", "inf", "-inf", "+inf", "infinity", "-infinity", "+infinity"]))
