"""Hostile inputs: each is refused with the right robustdsl.errors type, its message naming the
argument, and every array the user passed left unchanged (compared with copies).

Legal corner cases (duplicate points with different labels, n = 1, one observed class of two
declared) must give the right answer, checked by hand.
"""
from __future__ import annotations

import gzip
import json
import importlib.util
import struct
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import sympy as sp

import robustdsl as rd
from robustdsl.costs_expr import ExprCost, norm
from robustdsl.cli import main
from robustdsl.curve import plot_curve, risk_curve
from robustdsl.data import loaders
from robustdsl.errors import (BackendUnavailable, DataFormatError, InvalidInput, ParseError,
                              ResourceLimit, UnboundName, UnsupportedProblem)
from robustdsl.solvers import lp_backends

X0 = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [3.0, 3.0]])
Y0 = np.array([0, 1, 2, 0])
W0 = np.array([0.25, 0.25, 0.25, 0.25])
SX, SXT = sp.symbols("x xt")
SA, SC = sp.symbols("a c")


def radius_ball(eps):
    """Piecewise((0, norm(x - xt, 2) <= eps), (oo, True)) built unevaluated (sympy itself refuses
    nan or I in an evaluated comparison; ExprCost re-evaluates it)."""
    cond = sp.Le(norm(SX - SXT, 2), eps, evaluate=False)
    return sp.Piecewise((0, cond), (sp.oo, True), evaluate=False)
SPEC = "inf_f sup_{mu~} E_{mu~}[zero_one(f)] - OT_c(mu, mu~)"


def ball_problem(mu, eps=1.0, norm=2, classes=None):
    f = rd.Agnostic(classes=classes if classes is not None else mu.classes)
    mt = rd.Adversary(mu)
    return rd.inf(f, rd.sup(mt, rd.E(mt, rd.ZeroOne(f)) - rd.OT(mu, mt, rd.Ball(eps, norm))))


def power_problem(mu, cost=None, delta=None):
    """The general-cost (barycenter) route: a power cost, penalised or constrained (OT_c <= delta)."""
    f = rd.Agnostic(classes=mu.classes)
    mt = rd.Adversary(mu)
    c = rd.Power(2.0) if cost is None else cost
    if delta is None:
        return rd.inf(f, rd.sup(mt, rd.E(mt, rd.ZeroOne(f)) - rd.OT(mu, mt, c)))
    return rd.inf(f, rd.sup(mt, rd.E(mt, rd.ZeroOne(f)), rd.OT(mu, mt, c) <= delta))


def _read_only(a):
    a.setflags(write=False)
    return a


def _shut_down():
    ex = ThreadPoolExecutor(1)
    ex.shutdown()
    return ex


def measure(X=None, y=None, w=None, **kw):
    return rd.EmpiricalMeasure.from_arrays(X0 if X is None else X, Y0 if y is None else y,
                                           W0 if w is None else w, **kw)


def with_nan(a, i=0, v=np.nan):
    a = np.array(a, dtype=float)
    a.flat[i] = v
    return a


def _idx(arr: np.ndarray, code: int = 0x08) -> bytes:
    return bytes([0, 0, code, arr.ndim]) + struct.pack(">" + "I" * arr.ndim, *arr.shape) + arr.tobytes()


def _write_idx(tmp_path, images: bytes, labels: bytes):
    i, l = tmp_path / "t10k-images-idx3-ubyte", tmp_path / "t10k-labels-idx1-ubyte"
    i.write_bytes(images)
    l.write_bytes(labels)
    return i, l


IMGS = np.zeros((3, 2, 2), np.uint8)
LABS = np.array([0, 1, 2], np.uint8)

# (id, error type, argument named, callable(arrays, tmp_path), arrays handed to the call)
CASES = [
    ("nan-in-X", InvalidInput, "X", lambda a, t: measure(X=a[0]), [with_nan(X0)]),
    ("inf-in-X", InvalidInput, "X", lambda a, t: measure(X=a[0]), [with_nan(X0, 3, np.inf)]),
    ("nan-weight", InvalidInput, "weights", lambda a, t: measure(w=a[0]), [with_nan(W0)]),
    ("inf-weight", InvalidInput, "weights", lambda a, t: measure(w=a[0]), [with_nan(W0, 1, np.inf)]),
    ("zero-weight", InvalidInput, "weights", lambda a, t: measure(w=a[0]), [np.array([0.5, 0.5, 0.0, 0.5])]),
    ("negative-weight", InvalidInput, "weights", lambda a, t: measure(w=a[0]), [np.array([0.5, -0.1, 0.3, 0.3])]),
    ("weights-too-short", InvalidInput, "weights", lambda a, t: measure(w=a[0]), [np.array([0.5, 0.5])]),
    ("labels-too-short", InvalidInput, "y", lambda a, t: measure(y=a[0]), [np.array([0, 1, 2])]),
    ("labels-2d", InvalidInput, "y", lambda a, t: measure(y=a[0]), [Y0[:, None].copy()]),
    ("one-class-data", InvalidInput, "classes",
     lambda a, t: ball_problem(measure(y=a[0])), [np.zeros(4, np.int64)]),
    ("float-labels", InvalidInput, "y",
     lambda a, t: measure(y=a[0], task="classification"), [np.array([0.0, 1.0, 2.5, 0.0])]),
    ("string-labels", InvalidInput, "y",
     lambda a, t: measure(y=a[0], task="classification"), [np.array(["a", "b", "d", "a"])]),
    ("label-not-declared", InvalidInput, "y",
     lambda a, t: measure(y=a[0], classes=[0, 1]), [Y0.copy()]),
    ("label-outside-learner", InvalidInput, "classes",
     lambda a, t: ball_problem(measure(X=a[0]), classes=[0, 1]).solve(), [X0.copy()]),
    ("labels-overflow-int64", InvalidInput, "y",
     lambda a, t: measure(y=a[0]), [np.array([2 ** 63 + 5, 0, 1, 0], dtype=np.uint64)]),
    ("empty-measure", InvalidInput, "X",
     lambda a, t: rd.EmpiricalMeasure.from_arrays(a[0], a[1]), [np.zeros((0, 2)), np.zeros(0, np.int64)]),
    ("d-equals-0", InvalidInput, "X", lambda a, t: measure(X=a[0]), [np.zeros((4, 0))]),
    ("complex-X", InvalidInput, "X", lambda a, t: measure(X=a[0]), [X0 + 1j]),
    ("ragged-X", InvalidInput, "X", lambda a, t: measure(X=[[0.0, 1.0], [1.0], [2.0, 2.0], [3.0, 3.0]]), []),
    ("eps-negative", InvalidInput, "eps", lambda a, t: rd.Ball(-0.5), []),
    ("eps-nan", InvalidInput, "eps", lambda a, t: rd.Ball(float("nan")), []),
    ("eps-inf", InvalidInput, "eps", lambda a, t: rd.Ball(float("inf")), []),
    ("eps-huge", InvalidInput, "eps", lambda a, t: ball_problem(measure(), eps=1e300).solve(), []),
    ("norm-3", InvalidInput, "norm", lambda a, t: rd.Ball(1.0, 3), []),
    ("p-below-1", InvalidInput, "p", lambda a, t: rd.Power(p=0.5), []),
    ("p-nan", InvalidInput, "p", lambda a, t: rd.Power(p=float("nan")), []),
    ("tau-zero", InvalidInput, "tau", lambda a, t: rd.Power(p=2, tau=0.0), []),
    ("tau-inf", InvalidInput, "tau", lambda a, t: rd.Power(p=2, tau=float("inf")), []),
    ("repeated-classes", InvalidInput, "classes", lambda a, t: rd.Agnostic(classes=[0, 1, 1]), []),
    ("mass-too-large", InvalidInput, "weights",
     lambda a, t: ball_problem(measure(w=a[0])).solve(), [np.full(4, 1e300)]),
    ("mass-too-small", InvalidInput, "weights",
     lambda a, t: ball_problem(measure(w=a[0])).solve(), [np.full(4, 1e-300)]),
    ("coordinates-too-small", InvalidInput, "X",
     lambda a, t: ball_problem(measure(X=a[0]), eps=3e-171).solve(), [X0 * 1e-170]),
    ("eps-too-small", InvalidInput, "eps", lambda a, t: ball_problem(measure(), eps=1e-40).solve(), []),
    ("power-mass-too-small", InvalidInput, "weights",
     lambda a, t: power_problem(measure(w=a[0])).solve(), [np.full(4, 1e-10)]),
    ("power-mass-too-small-constrained", InvalidInput, "weights",
     lambda a, t: power_problem(measure(w=a[0]), delta=8e-11).solve(), [np.full(4, 1e-10)]),
    ("power-mass-too-small-truncated", InvalidInput, "weights",
     lambda a, t: power_problem(measure(w=a[0])).solve(max_group_size=2), [np.full(4, 1e-10)]),
    ("power-mass-tiny-sinkhorn", InvalidInput, "weights",
     lambda a, t: power_problem(measure(w=a[0])).solve("sinkhorn"), [np.full(4, 1e-300)]),
    ("power-mass-too-large", InvalidInput, "weights",
     lambda a, t: power_problem(measure(w=a[0])).solve(), [np.full(4, 1e10)]),
    ("power-mass-huge-sinkhorn", InvalidInput, "weights",
     lambda a, t: power_problem(measure(w=a[0])).solve("sinkhorn"), [np.full(4, 1e300)]),
    ("power-coordinates-too-large", InvalidInput, "X",
     lambda a, t: power_problem(measure(X=a[0])).solve(), [X0 * 1e200]),
    ("power-tau-underflow", InvalidInput, "tau",
     lambda a, t: power_problem(measure(X=a[0]), rd.Power(2.0, tau=1e-320)).solve(), [X0 * 1e-160]),
    ("power-tau-overflow", InvalidInput, "tau",
     lambda a, t: power_problem(measure(), rd.Power(3.0, tau=1e300)).solve("sinkhorn"), []),
    ("power-p-above-range", InvalidInput, "p", lambda a, t: rd.Power(p=50), []),
    ("power-p-huge", InvalidInput, "p", lambda a, t: rd.Power(p=1e300), []),
    ("power-costs-overflow", InvalidInput, "tau",
     lambda a, t: power_problem(measure(X=a[0]), rd.Power(30.0)).solve("sinkhorn"), [X0 * 1e10]),
    ("power-budget-row-too-large", InvalidInput, "tau",
     lambda a, t: power_problem(measure(X=a[0]), rd.Power(10.0), delta=0.05).solve(), [X0 * 100.0]),
    ("expr-none", InvalidInput, "expr", lambda a, t: ExprCost(None, SX, SXT), []),
    ("expr-radius-nan", InvalidInput, "expr", lambda a, t: ExprCost(radius_ball(sp.nan), SX, SXT), []),
    ("expr-radius-imaginary", InvalidInput, "expr", lambda a, t: ExprCost(radius_ball(sp.I), SX, SXT), []),
    ("expr-coordinates-vs-symbol", InvalidInput, "x_tilde",
     lambda a, t: ExprCost((SA - SC) ** 2, [SA], SXT), []),
    ("expr-same-symbols", InvalidInput, "x_tilde",
     lambda a, t: ExprCost(norm(SX - SX, 2) ** 2, SX, SX), []),
    ("expr-constant-cost", InvalidInput, "expr", lambda a, t: ExprCost(sp.Integer(3), SX, SXT), []),
    ("expr-exponent-above-range", InvalidInput, "expr",
     lambda a, t: ExprCost(norm(SX - SXT, 2) ** 50, SX, SXT), []),
    ("coordinates-too-large", InvalidInput, "X",
     lambda a, t: ball_problem(measure(X=a[0]), eps=1e200).solve(), [X0 * 1e200]),
    ("overflow-sized-X", ResourceLimit, "X",
     lambda a, t: rd.EmpiricalMeasure.from_arrays(np.broadcast_to(0.0, (10 ** 7, 10 ** 5)),
                                                  np.zeros(10 ** 7, np.int64)), []),
    ("too-many-pairs", ResourceLimit, "max_pairs",
     lambda a, t: ball_problem(measure(X=a[0]), eps=10.0).solve(max_pairs=2), [X0.copy()]),
    ("pair-block-memory", ResourceLimit, "max_bytes",
     lambda a, t: ball_problem(measure(X=a[0]), eps=10.0).solve(max_bytes=100), [X0.copy()]),
    ("unknown-option", InvalidInput, "options", lambda a, t: ball_problem(measure()).solve(speed=11), []),
    ("group-size-1", InvalidInput, "max_group_size",
     lambda a, t: ball_problem(measure()).solve(max_group_size=1), []),
    ("time-limit-negative", InvalidInput, "time_limit",
     lambda a, t: ball_problem(measure()).solve(time_limit=-1.0), []),
    ("time-limit-nan", InvalidInput, "time_limit",
     lambda a, t: ball_problem(measure()).solve(time_limit=float("nan")), []),
    ("idx-bad-magic", DataFormatError, "images",
     lambda a, t: loaders.load_idx_pair(*_write_idx(t, b"\x00\x01" + _idx(IMGS)[2:], _idx(LABS))), []),
    ("idx-truncated", DataFormatError, "images",
     lambda a, t: loaders.load_idx_pair(*_write_idx(t, _idx(IMGS)[:-3], _idx(LABS))), []),
    ("idx-truncated-gzip", DataFormatError, "images",
     lambda a, t: loaders.load_idx_pair(*_write_idx(t, gzip.compress(_idx(IMGS))[:-9], _idx(LABS))), []),
    ("idx-count-mismatch", DataFormatError, "labels",
     lambda a, t: loaders.load_idx_pair(*_write_idx(t, _idx(IMGS), _idx(LABS[:2]))), []),
    ("npz-without-arrays", DataFormatError, "path",
     lambda a, t: (np.savez(t / "d.npz", A=a[0], b=a[1]), rd.EmpiricalMeasure.from_npz(t / "d.npz")),
     [X0.copy(), Y0.copy()]),
    ("csv-ragged-row", DataFormatError, "path",
     lambda a, t: ((t / "d.csv").write_text("x1,x2,y\n0,0,0\n1,0\n0,1,1\n"), rd.EmpiricalMeasure.from_csv(t / "d.csv")),
     []),
    ("spec-syntax-error", ParseError, "column",
     lambda a, t: rd.parse(SPEC.replace("- OT", "- - OT"), f=rd.Agnostic([0, 1, 2]), mu=measure(),
                           c=rd.Ball(1.0)), []),
    ("spec-unknown-name", UnboundName, "'g'",
     lambda a, t: rd.parse(SPEC.replace("zero_one(f)", "zero_one(g)"), f=rd.Agnostic([0, 1, 2]),
                           mu=measure(), c=rd.Ball(1.0)), []),
    ("spec-type-error", ParseError, "'c'",
     lambda a, t: rd.parse(SPEC, f=rd.Agnostic([0, 1, 2]), mu=measure(), c=measure()), []),
    ("spec-unsupported", UnsupportedProblem, "agnostic + squared",
     lambda a, t: rd.parse(SPEC.replace("zero_one", "squared"), f=rd.Agnostic([0, 1, 2]), mu=measure(),
                           c=rd.Ball(1.0)).solve(), []),
    ("spec-nested-too-deep", ParseError, "nested too deeply",
     lambda a, t: rd.parse(SPEC.replace("- OT", "- " + "2 * " * 5000 + "OT"), f=rd.Agnostic([0, 1, 2]),
                           mu=measure(), c=rd.Ball(1.0)), []),
    ("spec-not-a-string", InvalidInput, "text", lambda a, t: rd.parse(SPEC.encode(), mu=measure()), []),
    ("weights-scalar", InvalidInput, "weights", lambda a, t: measure(w=0.25), []),
    ("X-with-None", InvalidInput, "X", lambda a, t: measure(X=[[None, 1.0]] * 4), []),
    ("backend-unknown", BackendUnavailable, "gurobi", lambda a, t: ball_problem(measure()).solve("gurobi"), []),
    ("csv-infinite-label", InvalidInput, "y",
     lambda a, t: ((t / "d.csv").write_text("0,0,0\n1,0,inf\n0,1,1\n"), rd.EmpiricalMeasure.from_csv(t / "d.csv")),
     []),
    ("csv-target-out-of-range", InvalidInput, "target",
     lambda a, t: ((t / "d.csv").write_text("0,0,0\n1,0,1\n"), rd.EmpiricalMeasure.from_csv(t / "d.csv", target=5)),
     []),
    ("csv-target-a-name", InvalidInput, "target",
     lambda a, t: ((t / "d.csv").write_text("0,0,0\n1,0,1\n"), rd.EmpiricalMeasure.from_csv(t / "d.csv", target="y")),
     []),
    ("csv-not-utf8", DataFormatError, "path",
     lambda a, t: ((t / "d.csv").write_bytes(b"0,0,0\n\xff\xfe,1\n"), rd.EmpiricalMeasure.from_csv(t / "d.csv")), []),
    ("npz-corrupt", DataFormatError, "path",
     lambda a, t: ((t / "d.npz").write_bytes(b"PK\x03\x04garbage"), rd.EmpiricalMeasure.from_npz(t / "d.npz")), []),
    ("npz-is-an-npy", DataFormatError, "path",
     lambda a, t: (np.save(t / "d.npy", a[0]), (t / "d.npy").rename(t / "d.npz"),
                   rd.EmpiricalMeasure.from_npz(t / "d.npz")), [X0.copy()]),
    ("idx-path-none", InvalidInput, "images", lambda a, t: rd.EmpiricalMeasure.from_idx(None, None), []),
    ("idx-fractional-labels", DataFormatError, "labels",
     lambda a, t: loaders.load_idx_pair(*_write_idx(t, _idx(IMGS), _idx(np.array([0, 0.5, 1], ">f8"), 0x0E))), []),
    ("idx-zero-images", InvalidInput, "X",
     lambda a, t: rd.EmpiricalMeasure.from_idx(*_write_idx(t, _idx(IMGS[:0]), _idx(LABS[:0]))), []),
    ("empty-image-stack", InvalidInput, "X",
     lambda a, t: rd.EmpiricalMeasure.from_arrays(np.zeros((0, 2, 2)), []), []),
    ("classes-not-a-list", InvalidInput, "classes", lambda a, t: measure(classes=5), []),
    ("subset-no-classes", InvalidInput, "classes", lambda a, t: measure().subset(classes=[]), []),
    ("subset-negative-seed", InvalidInput, "seed", lambda a, t: measure().subset(per_class=1, seed=-1), []),
    ("builtin-not-a-name", InvalidInput, "name", lambda a, t: rd.EmpiricalMeasure.builtin([]), []),
    ("max-bytes-not-a-number", InvalidInput, "max_bytes", lambda a, t: measure(max_bytes="x"), []),
    ("masked-X", InvalidInput, "X", lambda a, t: measure(X=np.ma.masked_array(X0, X0 > 2)), []),
    ("float-labels-with-classes", InvalidInput, "y",
     lambda a, t: measure(y=a[0], classes=[0, 1, 2]), [np.array([0.0, 1.0, 2.0, 0.0])]),
    ("string-targets", InvalidInput, "y", lambda a, t: measure(y=np.array(["0", "1", "2", "0"])), []),
    ("constructor-nan-X", InvalidInput, "X",
     lambda a, t: rd.EmpiricalMeasure(a[0], Y0.copy(), W0.copy(), (0, 1, 2)), [with_nan(X0)]),
    ("constructor-read-only-nan-X", InvalidInput, "X",
     lambda a, t: rd.EmpiricalMeasure(_read_only(with_nan(X0)), Y0.copy(), W0.copy(), (0, 1, 2)), []),
    ("constructor-float-labels", InvalidInput, "y",
     lambda a, t: rd.EmpiricalMeasure(X0.copy(), a[0], W0.copy(), (0, 1, 2)), [np.array([0.0, 1.5, 2.0, 0.0])]),
    ("executor-class-not-instance", InvalidInput, "executor",
     lambda a, t: ball_problem(measure()).solve(executor=ThreadPoolExecutor), []),
    ("executor-shut-down", InvalidInput, "executor",
     lambda a, t: ball_problem(measure()).solve(executor=_shut_down()), []),
    ("curve-eps-string", InvalidInput, "eps_grid", lambda a, t: risk_curve(measure(), "0.5"), []),
    ("classifier-nan-point", InvalidInput, "x",
     lambda a, t: ball_problem(measure()).solve().classifier(a[0]), [np.array([[np.nan, 0.0]])]),
    ("classifier-inf-point", InvalidInput, "x",
     lambda a, t: ball_problem(measure(), norm=np.inf).solve().classifier(a[0]), [np.array([np.inf, 0.0])]),
    ("classifier-string-point", InvalidInput, "x",
     lambda a, t: ball_problem(measure(), norm=1).solve().classifier([["a", "b"]]), []),
    ("classifier-complex-point", InvalidInput, "x",
     lambda a, t: ball_problem(measure()).solve().classifier(a[0]), [np.array([[1j, 0.0]])]),
    ("power-classifier-nan", InvalidInput, "x",
     lambda a, t: power_problem(measure()).solve().classifier(a[0]), [np.array([[np.nan, 0.0]])]),
    ("displacement-norm-3", InvalidInput, "norm",
     lambda a, t: ball_problem(measure()).solve().attack.displacement(X0, 3), []),
    ("displacement-wrong-X", InvalidInput, "X",
     lambda a, t: ball_problem(measure()).solve().attack.displacement(X0[:1], 2), []),
    ("to-json-missing-dir", InvalidInput, "path",
     lambda a, t: ball_problem(measure()).solve().to_json(t / "no" / "s.json"), []),
    ("to-json-into-a-directory", InvalidInput, "path", lambda a, t: ball_problem(measure()).solve().to_json(t), []),
    ("export-format-not-a-string", InvalidInput, "format",
     lambda a, t: ball_problem(measure()).compile().export(t / "p.lp", format=3), []),
    ("export-onto-a-directory", InvalidInput, "path",
     lambda a, t: ((t / "x.lp").mkdir(), ball_problem(measure()).compile().export(t / "x.lp")), []),
    ("plot-unknown-suffix", InvalidInput, "path",
     lambda a, t: plot_curve({"curves": [], "eps": [], "norm": "2", "n": 1, "classes": []}, t / "c.xyz"), []),
    ("plot-missing-dir", InvalidInput, "path",
     lambda a, t: plot_curve({"curves": [], "eps": [], "norm": "2", "n": 1, "classes": []}, t / "no" / "c.png"),
     []),
]


@pytest.mark.parametrize("exc,argument,call,arrays", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_input_refused(exc, argument, call, arrays, tmp_path):
    before = [np.array(a, copy=True) for a in arrays]
    flags = [a.flags.writeable for a in arrays]
    with pytest.raises(exc) as err:
        call(arrays, tmp_path)
    e = err.value
    if isinstance(e, InvalidInput):
        assert e.argument == argument, str(e)
    assert argument in str(e), str(e)
    for a, b, wf in zip(arrays, before, flags):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
        assert a.flags.writeable == wf


def test_enough_distinct_hostile_inputs():
    assert len({c[0] for c in CASES}) == len(CASES) >= 30


def test_memory_refusal_carries_estimate_and_how_to_raise_it():
    big = np.broadcast_to(0.0, (10 ** 7, 10 ** 5))
    with pytest.raises(ResourceLimit) as err:
        rd.EmpiricalMeasure.from_arrays(big, np.zeros(10 ** 7, np.int64))
    msg = str(err.value)
    assert "7.45e+03 GiB" in msg and "max_bytes=" in msg       # 1e12 floats * 8 bytes
    # the same array is accepted (lazily refused for a different reason) once the limit is raised
    small = np.broadcast_to(0.0, (2, 3))
    with pytest.raises(ResourceLimit):
        rd.EmpiricalMeasure.from_arrays(small, [0, 1], max_bytes=40)
    assert rd.EmpiricalMeasure.from_arrays(small, [0, 1], max_bytes=48).X.shape == (2, 3)


def test_too_many_pairs_message_has_estimate():
    with pytest.raises(ResourceLimit) as err:
        ball_problem(measure(), eps=10.0).solve(max_pairs=2)
    assert "GiB expected" in str(err.value) and "raise max_pairs" in str(err.value)
    # raising the limit gives the answer
    assert ball_problem(measure(), eps=10.0).solve(max_pairs=100).value == pytest.approx(0.5, abs=1e-9)


def test_power_certificate_is_relative_to_the_mass():
    """At total mass 4e-10 the LP's w may break the rows p_v = 1e-10 within HiGHS' absolute
    feasibility tolerance (value 1e-10, truth 6.67e-11): the certificate must not pass it (its gap
    tolerance is tol * mass), while the front end refuses the mass before solving. The same data
    at mass 1 and 1e-6 is certified with the same relative value."""
    from robustdsl.ir.barycenter_program import BarycenterLP, TransportCost
    from robustdsl.solvers.barycenter_lp import solve_barycenter_lp
    from robustdsl.solvers.barycenter_saddle import certify
    vals = {}
    for m in (4e-10, 1e-6, 1.0):
        prog = BarycenterLP(X0, Y0, np.full(4, m / 4), 3, TransportCost(2.0, 1.0, 2.0))
        res = solve_barycenter_lp(prog, "highs")
        cert = certify(prog, res)
        assert cert["lower"] <= m / 6 * (1 + 1e-12) and cert["upper"] >= m / 6 * (1 - 1e-12)
        vals[m] = (cert["ok"], res.lower / m)
    assert vals[4e-10][0] is False
    assert vals[1e-6][0] and vals[1.0][0]
    assert vals[1e-6][1] == pytest.approx(1 / 6, rel=1e-9) and vals[1.0][1] == pytest.approx(1 / 6, rel=1e-9)
    # the front end, every back end: the mass guard of the ball route
    for backend in ("highs", "sinkhorn"):
        with pytest.raises(InvalidInput, match="total mass 4e-10") as err:
            power_problem(measure(w=np.full(4, 1e-10))).solve(backend)
        assert err.value.argument == "weights"
    sol = power_problem(measure(w=np.full(4, 2.5e-7))).solve()
    assert sol.status == "optimal" and sol.value == pytest.approx(1e-6 / 6, rel=1e-9) and sol.certificate().ok


@pytest.mark.parametrize("p", [1, 1.5, 2, 3, 5, 10, 20, 30])
def test_power_exponent_range(p):
    """Inside 1 <= p <= 30 the route is exact on the audit's data (a far point at (3, 3)) for the
    LP and Sinkhorn back ends, and again on the same problem written 100 times larger (tau * 100^p);
    the default back end used to fail from p = 20 ('Clarabel failed' / 'infeasible')."""
    from _barycenter_ref import brute_force_value
    from robustdsl.ir.barycenter_program import TransportCost
    ref = brute_force_value(X0, Y0, W0, TransportCost(p, 1.0, 2), 3)
    for scale in (1.0, 100.0):
        mu = measure(X=X0 * scale)
        cost = rd.Power(p, tau=scale ** p)
        sol = power_problem(mu, cost).solve()
        assert sol.status == "optimal" and sol.value == pytest.approx(ref, abs=1e-8)
        sk = power_problem(mu, cost).solve("sinkhorn")
        assert sk.lower - 1e-9 <= ref <= sk.upper + 1e-9
    with pytest.raises(InvalidInput, match=r"1 <= p <= 30") as err:
        rd.Power(p=30.5)
    assert err.value.argument == "p"


# ------------------------------------------------------------------ command line
@pytest.mark.parametrize("argv,argument", [
    (["solve", "{tmp}/missing.rdsl", "--data", "builtin:mnist2000", "--eps", "1"], "SPEC_FILE"),
    (["solve", "{spec}", "--data", "builtin:mnist2000", "--eps", "1", "--json", "{tmp}/no/such/dir/o.json"],
     "--json"),
    (["export", "{spec}", "--data", "builtin:mnist2000", "--classes", "1,7", "--eps", "1",
      "{tmp}/nodir/out.lp"], "OUTPUT"),
    (["solve", "{spec}", "--data", "{tmp}/missing.npz", "--eps", "1"], "missing.npz"),
    (["solve", "{spec}", "--data", "builtin:mnist2000", "--eps", "1", "--plot", "{tmp}/o.xyz"], "--plot"),
    (["solve", "{spec}", "--data", "builtin:mnist2000", "--eps", "1", "--tau", "1"], "--eps"),
    (["solve", "{spec}", "--data", "builtin:mnist2000", "--tau", "1", "--time-limit", "5"], "--time-limit"),
    (["solve", "{spec}", "--data", "builtin:mnist2000", "--eps", "1", "--max-memory", "1e-12"], "--max-memory"),
    (["solve", "{spec}", "--data", "builtin:mnist2000", "--eps", "1", "--per-class", "1", "--seed", "-1"],
     "seed"),
])
def test_cli_refuses_with_one_message(argv, argument, tmp_path, capsys):
    spec = tmp_path / "s.rdsl"
    spec.write_text(SPEC + "\n")
    code = main([a.format(tmp=tmp_path, spec=spec) for a in argv])
    err = capsys.readouterr().err
    assert code == 2 and argument in err and "Traceback" not in err and err.count("\n") == 1


# ------------------------------------------------------------------ back end not installed
def test_backend_not_installed(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(lp_backends.importlib.util, "find_spec",
                        lambda name, *a: None if name == "pyomo" else real(name, *a))
    mu = measure()
    with pytest.raises(BackendUnavailable, match="'pyomo' needs the package 'pyomo'.*not installed"):
        ball_problem(mu).solve("pyomo")
    assert ball_problem(mu).solve("highs").value == pytest.approx(0.5, abs=1e-9)


# ------------------------------------------------------------------ legal corner cases
@pytest.mark.parametrize("norm", [1, 2, np.inf])
def test_duplicate_points_with_different_labels(norm):
    """Three samples at one point with labels 0, 1, 2 and weights .2, .3, .5 (eps = 0): any
    classifier must pick one label there; the best keeps the heaviest (0.5), so AT = 0.5.
    A fourth sample, far away, alone in its class region, adds nothing."""
    X = np.array([[1.0, 1.0], [1.0, 1.0], [1.0, 1.0], [9.0, 9.0]])
    y = np.array([0, 1, 2, 1])
    w = np.array([0.2, 0.3, 0.4, 0.1])
    Xc, yc, wc = X.copy(), y.copy(), w.copy()
    sol = ball_problem(rd.EmpiricalMeasure.from_arrays(X, y, w), eps=0.0, norm=norm).solve()
    assert sol.value == pytest.approx(0.5, abs=1e-12) and sol.exact
    # with eps = 0 only exact coincidences conflict; the two-class duplicate alone gives min weight
    sol2 = ball_problem(rd.EmpiricalMeasure.from_arrays(X[:2], y[:2], w[:2] / 0.5), eps=0.0, norm=norm).solve()
    assert sol2.value == pytest.approx(0.4, abs=1e-12)
    assert np.array_equal(X, Xc) and np.array_equal(y, yc) and np.array_equal(w, wc)


def test_single_sample_and_one_observed_class():
    one = rd.EmpiricalMeasure.from_arrays(np.array([[0.5, 0.5]]), np.array([1]), classes=[0, 1])
    assert ball_problem(one, eps=3.0, classes=[0, 1]).solve().value == 0.0
    same = rd.EmpiricalMeasure.from_arrays(X0, np.zeros(4, np.int64), classes=[0, 1])
    sol = ball_problem(same, eps=100.0, classes=[0, 1]).solve()
    assert sol.value == 0.0 and sol.lower == sol.upper == 0.0


def test_to_json_writes_an_infinite_bound_as_a_string(tmp_path):
    # a mean-field estimate has no finite upper bound: JSON has no inf, the bound is written "inf"
    sol = rd.Solution(value=0.25, lower=0.125, upper=float("inf"), status="estimate", backend="wfr", rule="r",
                      timings={"solve": 1.0})
    data = json.loads(sol.to_json(tmp_path / "s.json"))
    assert data["upper"] == "inf" and data["value"] == 0.25 and data["lower"] == 0.125
    assert json.loads((tmp_path / "s.json").read_text()) == data


def test_direct_constructor_copies_freezes_and_normalises():
    X, y, w = X0.copy(), [0, 1, 2, 0], W0.copy()
    mu = rd.EmpiricalMeasure(X, y, w, [0, 1, 2])
    X[0, 0] = 99.0                                          # the caller's array, changed afterwards
    assert mu.X[0, 0] == 0.0 and not mu.X.flags.writeable and mu.y.dtype == np.int64
    assert mu.classes == (0, 1, 2) and hash(mu) == hash(measure())
    assert mu == measure() and rd.EmpiricalMeasure(X0, Y0, W0, None).y.dtype == np.float64


def test_to_json_without_timings_drops_wall_clock_info():
    sol = rd.Solution(value=0.25, lower=0.125, upper=0.5, status="estimate", backend="wfr", rule="r",
                      info={"steps": 10, "steps_per_second": 123.4, "nash_gap": {"seconds": 2.5, "gap": 0.01}})
    data = json.loads(sol.to_json(include_timings=False))
    assert data["info"] == {"steps": 10, "nash_gap": {"gap": 0.01}} and "timings" not in data
    assert json.loads(sol.to_json())["info"]["nash_gap"]["seconds"] == 2.5
