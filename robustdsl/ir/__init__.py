"""IR programs: plain dataclasses of numpy/torch arrays that back ends consume.

Back ends (robustdsl.solvers) import these types and nothing else from the front end
(besides robustdsl.errors). One module per program type.
"""
from __future__ import annotations

from .base import Program

__all__ = ["Program"]

from .group_lp import GroupLPSolver, GroupSet, LPData, LPResult  # noqa: E402

__all__ += ["GroupLPSolver", "GroupSet", "LPData", "LPResult"]
from .group_program import GroupLP  # noqa: E402

__all__ += ["GroupLP"]
from .barycenter_program import BarycenterLP, TransportCost  # noqa: E402
__all__ += ["BarycenterLP", "TransportCost"]
