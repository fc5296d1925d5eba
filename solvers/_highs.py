"""A quiet highspy.Highs(): HiGHS prints its banner to the C-level stdout when the first
instance of a process is built; we build that instance with fd 1 pointed at /dev/null."""
from __future__ import annotations

import os
import sys

import highspy

_quiet_done = False


def new_highs() -> "highspy.Highs":
    """A Highs instance with output_flag off (and no start-up banner)."""
    global _quiet_done
    if not _quiet_done:
        _quiet_done = True
        try:
            sys.stdout.flush()
            saved = os.dup(1)
        except (OSError, ValueError):  # no usable fd 1 (e.g. captured by a host): just build it
            saved = None
        if saved is not None:
            try:
                with open(os.devnull, "w") as null:
                    os.dup2(null.fileno(), 1)
                    h = highspy.Highs()
            finally:
                os.dup2(saved, 1)
                os.close(saved)
            h.setOptionValue("output_flag", False)
            return h
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    return h
