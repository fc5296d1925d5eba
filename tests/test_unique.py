"""solvers._unique.unique: np.unique by one sort (NumPy 2.4's hash path is slow on many values)."""
from __future__ import annotations

import numpy as np
import pytest

from robustdsl.solvers._unique import unique


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint16, np.int8])
def test_unique_equals_numpy(dtype):
    rng = np.random.default_rng(3)
    hi = min(np.iinfo(dtype).max, 10**6)
    for size in (0, 1, 2, 7, 5000):
        a = rng.integers(0, hi, size).astype(dtype)
        got, ref = unique(a), np.unique(a)
        assert got.dtype == ref.dtype and np.array_equal(got, ref)
    a = rng.integers(-50, 50, (40, 3)).astype(np.int64)         # any shape: flattened, like np.unique
    before = a.copy()
    assert np.array_equal(unique(a), np.unique(a))
    assert np.array_equal(a, before)                            # the input is left as it was
