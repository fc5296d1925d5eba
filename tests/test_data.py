"""Data loaders on the real MNIST IDX files and on malformed files, with clear errors."""
from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

import robustdsl as rd
from robustdsl.data.loaders import (BUILTIN, load_builtin, load_csv, load_idx, load_idx_pair, load_npz,
                                    resolve)
from robustdsl.errors import DataFormatError, InvalidInput

from conftest import MNIST_DIR


def idx_bytes(arr: np.ndarray, type_code: int = 0x08) -> bytes:
    """An IDX file written independently of the reader: magic 00 00 TT NN, big-endian dims, data."""
    header = bytes([0, 0, type_code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


@pytest.fixture
def pair(tmp_path):
    rng = np.random.default_rng(1)
    imgs = rng.integers(0, 256, size=(5, 3, 4), dtype=np.uint8)
    labs = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    (tmp_path / "x-images-idx3-ubyte").write_bytes(idx_bytes(imgs))
    (tmp_path / "x-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(labs)))
    return tmp_path, imgs, labs


@pytest.mark.skipif(not MNIST_DIR.is_dir(), reason="the shared MNIST directory is absent on this machine")
def test_real_mnist_idx_and_the_shipped_subset():
    X, y = load_idx_pair(MNIST_DIR / "t10k-images-idx3-ubyte.gz", MNIST_DIR / "t10k-labels-idx1-ubyte.gz")
    assert X.shape == (10000, 784) and y.shape == (10000,)
    assert X.min() == 0.0 and X.max() == 1.0
    assert np.bincount(y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    raw = gzip.decompress((MNIST_DIR / "t10k-images-idx3-ubyte.gz").read_bytes())
    assert raw[:4] == b"\x00\x00\x08\x03"
    direct = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(10000, 784)
    assert np.array_equal(X, direct / 255.0)
    # the shipped digits are the first 200 of each class of the test set, in file order
    with np.load(BUILTIN["mnist2000"]) as z:
        src = z["source_index"]
        assert np.array_equal(z["images"].reshape(2000, 784), direct[src])
        assert np.array_equal(z["labels"], y[src])
    first = np.concatenate([np.flatnonzero(y == k)[:200] for k in range(10)])
    assert np.array_equal(np.sort(src), np.sort(first))
    Xd, yd = resolve(str(MNIST_DIR))  # a directory: the first images/labels pair (t10k)
    assert Xd.shape[1] == 784 and Xd.shape[0] == yd.shape[0]


def test_builtin_mnist2000():
    X, y = load_builtin("mnist2000")
    assert X.shape == (2000, 784) and np.bincount(y).tolist() == [200] * 10
    assert 0.0 <= X.min() and X.max() <= 1.0
    mu = rd.EmpiricalMeasure.builtin().subset(classes=[1, 4, 7], per_class=10, seed=0)
    assert mu.n == 30 and mu.classes == (1, 4, 7) and mu.mass == pytest.approx(1.0)


def test_idx_pair_roundtrip_gzip_and_plain(pair):
    d, imgs, labs = pair
    X, y = load_idx_pair(d / "x-images-idx3-ubyte", d / "x-labels-idx1-ubyte.gz")
    assert np.array_equal(X, imgs.reshape(5, 12) / 255.0) and y.tolist() == labs.tolist()
    X2, _ = load_idx_pair(d / "x-images-idx3-ubyte", d / "x-labels-idx1-ubyte.gz", scale=False)
    assert np.array_equal(X2, imgs.reshape(5, 12).astype(float))
    Xr, yr = resolve(str(d))
    assert np.array_equal(Xr, X) and np.array_equal(yr, y)
    mu = rd.EmpiricalMeasure.from_idx(d / "x-images-idx3-ubyte", d / "x-labels-idx1-ubyte.gz")
    assert mu.classes == (1, 3, 4, 5) and mu.dim == 12


def test_idx_other_dtypes(tmp_path):
    a = np.arange(6, dtype=np.float32).reshape(2, 3) / 7
    (tmp_path / "f.idx").write_bytes(idx_bytes(a, 0x0D))
    assert np.array_equal(load_idx(tmp_path / "f.idx"), a)
    b = np.array([-3, 70000], dtype=np.int32)
    (tmp_path / "i.idx").write_bytes(idx_bytes(b, 0x0C))
    assert load_idx(tmp_path / "i.idx").tolist() == [-3, 70000]


@pytest.mark.parametrize("make,argument,words", [
    (lambda a, i, l: i.write_bytes(idx_bytes(a)[:-7]), "images", ["truncated", "header promises (5, 3, 4)"]),
    (lambda a, i, l: i.write_bytes(idx_bytes(a)[:10]), "images", ["truncated IDX header"]),
    (lambda a, i, l: i.write_bytes(b"\x00\x01" + idx_bytes(a)[2:]), "images", ["bad IDX magic number 0001"]),
    (lambda a, i, l: i.write_bytes(b"\x00\x00\x07\x03" + idx_bytes(a)[4:]), "images", ["bad IDX magic number"]),
    (lambda a, i, l: i.write_bytes(b""), "images", ["(empty)"]),
    (lambda a, i, l: i.write_bytes(gzip.compress(idx_bytes(a))[:-12]), "images", ["corrupt gzip"]),
    (lambda a, i, l: l.write_bytes(idx_bytes(np.zeros(4, np.uint8))), "labels", ["5 images but 4 labels"]),
    (lambda a, i, l: l.write_bytes(idx_bytes(np.zeros((5, 2), np.uint8))), "labels", ["1-D IDX label file"]),
    (lambda a, i, l: l.unlink(), "labels", ["does not exist"]),
])
def test_malformed_idx(tmp_path, make, argument, words):
    imgs = np.zeros((5, 3, 4), np.uint8)
    i, l = tmp_path / "images.idx", tmp_path / "labels.idx"
    i.write_bytes(idx_bytes(imgs))
    l.write_bytes(idx_bytes(np.arange(5, dtype=np.uint8)))
    make(imgs, i, l)
    with pytest.raises(InvalidInput) as ei:
        load_idx_pair(i, l)
    assert ei.value.argument == argument
    for w in words:
        assert w in str(ei.value)


def test_npz(tmp_path):
    X, y, w = np.arange(6.0).reshape(3, 2), np.array([0, 1, 1]), np.array([0.2, 0.3, 0.5])
    np.savez(tmp_path / "a.npz", X=X, y=y, weights=w)
    mu = rd.EmpiricalMeasure.from_npz(tmp_path / "a.npz")
    assert np.array_equal(mu.X, X) and np.array_equal(mu.weights, w)
    np.savez(tmp_path / "b.npz", images=np.full((2, 2, 2), 255, np.uint8), labels=np.array([1, 2]))
    Xb, yb, wb = load_npz(tmp_path / "b.npz")
    assert np.array_equal(Xb, np.ones((2, 4))) and wb is None and yb.tolist() == [1, 2]


@pytest.mark.parametrize("write,words", [
    (lambda p: np.savez(p, foo=np.zeros(3)), ["holds arrays ['foo']", "'images' and 'labels', or 'X' and 'y'"]),
    (lambda p: np.savez(p, X=np.zeros((3, 2)), y=np.zeros(4)), ["3 samples but 4 targets"]),
    (lambda p: p.write_bytes(b"not a zip file"), ["not a readable .npz file"]),
])
def test_malformed_npz(tmp_path, write, words):
    p = tmp_path / "bad.npz"
    write(p)
    with pytest.raises(DataFormatError) as ei:
        load_npz(p)
    msg = str(ei.value)
    for w in words:
        assert w in msg
    assert msg.count("invalid path") == 1  # one clear message, not a wrapped one


def test_csv(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("x1,x2,label\n0.5,1.5,1\n2.0,3.0,0\n\n")
    X, y = load_csv(p)
    assert X.tolist() == [[0.5, 1.5], [2.0, 3.0]] and y.tolist() == [1, 0] and y.dtype == np.int64
    Xr, yr = resolve(str(p))
    assert np.array_equal(Xr, X)
    p.write_text("1,0.25\n2,0.5\n")
    X2, y2 = load_csv(p)
    assert y2.dtype == np.float64 and y2.tolist() == [0.25, 0.5]
    X3, y3 = load_csv(p, target=0)
    assert y3.tolist() == [1, 2] and X3.tolist() == [[0.25], [0.5]]


@pytest.mark.parametrize("text,words", [
    ("1,2,0\n3,4\n", ["line 2", "2 columns, expected 3 (ragged row)"]),
    ("a,b\n1,2\nx,3\n", ["line 3", "non-numeric"]),
    ("a,b\n", ["no data rows"]),
    ("1\n2\n", ["one column"]),
])
def test_malformed_csv(tmp_path, text, words):
    p = tmp_path / "bad.csv"
    p.write_text(text)
    with pytest.raises(DataFormatError) as ei:
        load_csv(p)
    for w in words:
        assert w in str(ei.value)


@pytest.mark.parametrize("spec,words", [
    ("builtin:nope", ["unknown built-in data set 'nope'", "mnist2000"]),
    ("{tmp}/file.txt", ["cannot tell the format"]),
    ("{tmp}", ["holds no IDX image/label pair"]),
    ("{tmp}/missing.csv", ["does not exist"]),
])
def test_resolve_refuses(tmp_path, spec, words):
    (tmp_path / "file.txt").write_text("1,2\n")
    with pytest.raises(InvalidInput) as ei:
        resolve(spec.format(tmp=tmp_path))
    for w in words:
        assert w in str(ei.value)
