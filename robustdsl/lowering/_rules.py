"""Imports every rule module so that each registers itself (one line per rule)."""
from . import group_lp_ball  # noqa: F401
