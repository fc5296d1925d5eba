"""Data loaders (IDX, npz, CSV) and the data sets shipped with robustdsl."""
from .loaders import BUILTIN, load_builtin, load_csv, load_idx, load_idx_pair, load_npz

__all__ = ["BUILTIN", "load_builtin", "load_csv", "load_idx", "load_idx_pair", "load_npz"]
