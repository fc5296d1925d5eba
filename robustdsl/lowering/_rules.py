"""Imports every rule module so that each registers itself (one line per rule)."""
from . import particle_game  # noqa: F401  (meanfield + squared + squared_z -> ParticleGame)
