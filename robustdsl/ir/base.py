"""Common base of IR programs."""
from __future__ import annotations


class Program:
    """Marker base class of IR programs (GroupLP, BarycenterLP, ParticleGame)."""

    kind: str = "program"

    def summary(self) -> dict:
        """A small JSON-able description (sizes, parameters) for printing and logs."""
        return {"kind": self.kind}
