"""Output paths: refused where they are written (missing directory, a directory, not writable,
an unknown suffix), before any work, and write errors reported as InvalidInput naming the argument."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from .errors import InvalidInput


def writable(path, argument: str, suffixes: Iterable[str] | None = None) -> Path:
    """`path` as a Path whose directory exists and which can be written; suffix among `suffixes`."""
    if not isinstance(path, (str, os.PathLike)):
        raise InvalidInput(argument, f"expected a file path, got {type(path).__name__} {path!r}")
    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise InvalidInput(argument, f"cannot write {str(p)!r}: directory {str(parent)!r} does not exist")
    if p.is_dir() or not os.access(parent, os.W_OK) or (p.exists() and not os.access(p, os.W_OK)):
        raise InvalidInput(argument, f"cannot write {str(p)!r}: not a writable file path")
    if suffixes is not None:
        allowed = tuple(suffixes)
        if p.suffix.lower().lstrip(".") not in allowed:
            raise InvalidInput(argument, f"{str(p)!r} has suffix {p.suffix or '(none)'!r}",
                               ", ".join("." + s for s in allowed))
    return p


def write_text(path, text: str, argument: str = "path") -> Path:
    """Write `text` to `path` (checked by `writable`); an OS error is reported against `argument`."""
    p = writable(path, argument)
    try:
        p.write_text(text)
    except OSError as exc:
        raise InvalidInput(argument, f"cannot write {str(p)!r} ({exc.strerror or exc})") from None
    return p
