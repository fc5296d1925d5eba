"""Imports every rule module so that each registers itself (one line per rule)."""
from . import group_lp_ball  # noqa: F401
from . import barycenter_lp  # noqa: F401  agnostic + zero_one + general cost -> BarycenterLP
