"""Readers for IDX (gzipped or not), .npz and CSV files, with clear errors on malformed input.

uint8 images are scaled to [0, 1] (x / 255) unless scale=False.
"""
from __future__ import annotations

import gzip
import os
import zipfile
from pathlib import Path

import numpy as np

from .. import _check
from ..errors import DataFormatError, InvalidInput

_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
HERE = Path(__file__).resolve().parent
BUILTIN = {"mnist2000": HERE / "mnist2000.npz"}


def _path(path, argument: str) -> Path:
    """`path` as a Path to an existing file (InvalidInput naming `argument` otherwise)."""
    if not isinstance(path, (str, os.PathLike)):
        raise InvalidInput(argument, f"expected a file path, got {type(path).__name__} {path!r}")
    p = Path(path)
    if not p.is_file():
        raise InvalidInput(argument, f"file {str(p)!r} does not exist")
    return p


def _read_bytes(path: str | Path, argument: str) -> bytes:
    p = _path(path, argument)
    raw = p.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise DataFormatError(argument, f"{p.name}: corrupt gzip data ({exc})") from None
    return raw


def load_idx(path: str | Path, argument: str = "path") -> np.ndarray:
    """Read one IDX file: magic 0x0000 TT NN, NN big-endian uint32 dimensions, then the data."""
    raw = _read_bytes(path, argument)
    name = Path(path).name
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise DataFormatError(argument, f"{name}: bad IDX magic number {raw[:4].hex() or '(empty)'}",
                              "00 00 TT NN with TT in 08,09,0B,0C,0D,0E")
    ndim = raw[3]
    if ndim == 0 or len(raw) < 4 + 4 * ndim:
        raise DataFormatError(argument, f"{name}: truncated IDX header ({len(raw)} bytes, {ndim} dims)")
    shape = tuple(int(v) for v in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dt = np.dtype(_IDX_TYPES[raw[2]])
    expected = int(np.prod(shape, dtype=np.int64)) * dt.itemsize
    body = len(raw) - 4 - 4 * ndim
    if body != expected:
        raise DataFormatError(argument, f"{name}: header promises {shape} ({expected} bytes of data), "
                              f"file holds {body} bytes (truncated or padded)")
    return np.frombuffer(raw, dtype=dt, offset=4 + 4 * ndim).reshape(shape).copy()


def _scale(images: np.ndarray, scale: bool) -> np.ndarray:
    X = images.reshape(images.shape[0], int(np.prod(images.shape[1:]))) if images.ndim > 2 else images
    if images.ndim == 1:
        X = images.reshape(-1, 1)
    if scale and X.dtype == np.uint8:
        return X.astype(np.float64) / 255.0
    return X.astype(np.float64)


def load_idx_pair(images: str | Path, labels: str | Path, scale: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Images (n, h, w) and labels (n,) from two IDX files; counts must agree."""
    imgs = load_idx(images, "images")
    labs = load_idx(labels, "labels")
    if labs.ndim != 1:
        raise DataFormatError("labels", f"label file has shape {labs.shape}", "a 1-D IDX label file")
    if imgs.shape[0] != labs.shape[0]:
        raise DataFormatError("labels", f"{imgs.shape[0]} images but {labs.shape[0]} labels",
                              "as many labels as images")
    return _scale(imgs, scale), _integer_labels(labs, "labels")


def _integer_labels(labs: np.ndarray, argument: str) -> np.ndarray:
    """Class labels as int64; float labels only when every one is a finite integer."""
    if labs.dtype.kind == "f":
        bad = ~np.isfinite(labs) | (labs != np.round(labs)) | (np.abs(labs) >= 2.0 ** 53)
        if bad.any():
            raise DataFormatError(argument, f"label {labs[bad][0]!r} is not an integer class label",
                                  "integer labels")
    return labs.astype(np.int64)


def load_npz(path: str | Path, scale: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(X, y, weights or None) from an .npz holding images/labels or X/y."""
    p = _path(path, "path")
    try:
        z = np.load(p, allow_pickle=False)
        if not isinstance(z, np.lib.npyio.NpzFile):
            raise DataFormatError("path", f"{p.name} holds a single array, not an .npz archive",
                                  "an .npz from np.savez with 'images'/'labels' or 'X'/'y'")
        with z:
            keys = set(z.files)
            for xk, yk in (("images", "labels"), ("X", "y")):
                if xk in keys and yk in keys:
                    X, y = z[xk], z[yk]
                    w = z["weights"] if "weights" in keys else None
                    break
            else:
                raise DataFormatError("path", f"{p.name} holds arrays {sorted(keys)}",
                                      "'images' and 'labels', or 'X' and 'y'")
    except DataFormatError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise DataFormatError("path", f"{p.name} is not a readable .npz file ({exc})") from None
    if X.shape[:1] != y.shape[:1]:
        raise DataFormatError("path", f"{p.name}: {X.shape[0]} samples but {y.shape[0]} targets")
    return _scale(X, scale), y, w


def load_csv(path: str | Path, target: int = -1, delimiter: str = ",") -> tuple[np.ndarray, np.ndarray]:
    """Numeric CSV (an optional non-numeric header row is skipped); column `target` is y."""
    p = _path(path, "path")
    try:
        text = p.read_text()
    except UnicodeDecodeError as exc:
        raise DataFormatError("path", f"{p.name} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    lines = [ln for ln in text.splitlines() if ln.strip()]
    rows: list[list[float]] = []
    for i, ln in enumerate(lines, start=1):
        cells = [c.strip() for c in ln.split(delimiter)]
        try:
            rows.append([float(c) for c in cells])
        except ValueError:
            if i == 1:
                continue  # header
            raise DataFormatError("path", f"{p.name}, line {i}: non-numeric cell in {ln!r}") from None
        if len(rows[-1]) != len(rows[0]):
            raise DataFormatError("path", f"{p.name}, line {i}: {len(rows[-1])} columns, "
                                  f"expected {len(rows[0])} (ragged row)")
    if not rows:
        raise DataFormatError("path", f"{p.name} holds no data rows")
    A = np.array(rows)
    if A.shape[1] < 2:
        raise DataFormatError("path", f"{p.name} has one column", "features and a target column")
    t = _check.integer("target", target)
    if not -A.shape[1] <= t < A.shape[1]:
        raise InvalidInput("target", f"column {t} of a file with {A.shape[1]} columns",
                           f"-{A.shape[1]} <= target < {A.shape[1]}")
    t %= A.shape[1]
    y = A[:, t]
    X = np.delete(A, t, axis=1)
    if np.all(np.isfinite(y)) and np.all(y == np.round(y)) and np.all(np.abs(y) < 2.0 ** 53):
        y = y.astype(np.int64)             # integral targets read as class labels
    return X, y


def load_builtin(name: str) -> tuple[np.ndarray, np.ndarray]:
    """A data set shipped in the package: 'mnist2000' (200 MNIST test digits per class)."""
    if not isinstance(name, str) or name not in BUILTIN:
        raise InvalidInput("name", f"unknown built-in data set {name!r}", ", ".join(sorted(BUILTIN)))
    X, y, _ = load_npz(BUILTIN[name])
    return X, y.astype(np.int64)


def resolve(spec: str, scale: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Data from 'builtin:NAME', an IDX images path (labels beside it), .npz or .csv."""
    if spec.startswith("builtin:"):
        return load_builtin(spec.split(":", 1)[1])
    p = Path(spec)
    if p.is_dir():
        imgs = sorted(p.glob("*images-idx3-ubyte*"))
        labs = sorted(p.glob("*labels-idx1-ubyte*"))
        if not imgs or not labs:
            raise InvalidInput("data", f"directory {spec!r} holds no IDX image/label pair")
        return load_idx_pair(imgs[0], labs[0], scale)
    if p.suffix == ".npz":
        X, y, _ = load_npz(p, scale)
        return X, y
    if p.suffix == ".csv":
        return load_csv(p)
    if "images" in p.name:
        lab = p.with_name(p.name.replace("images-idx3", "labels-idx1"))
        return load_idx_pair(p, lab, scale)
    raise InvalidInput("data", f"cannot tell the format of {spec!r}",
                       "builtin:NAME, a directory of IDX files, *images-idx3-ubyte[.gz], .npz or .csv")



