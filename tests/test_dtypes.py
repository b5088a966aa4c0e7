"""The thirteen dtypes: promotion, casts, per-op results against NumPy on each backend, 16-bit float
rounding, mod/fmod and bit ops, their gradients and errors, checkpoints (docs/dtypes.md).

Integers compare exactly (wraparound, NumPy's division and shift rules). float16 compares exactly
where NumPy's own float16 ufunc computes in float32 and rounds once (arithmetic), and within one
float16 step for the transcendental functions (libm's float32 and graphc's differ in the last float32
bit); bfloat16 compares with ml_dtypes, which computes each op in float32 and rounds once too.
"""
from __future__ import annotations

import importlib
import warnings

import numpy as np
import pytest

import graphc as gc
from graphc.ir.dtypes import DTYPES, FLOATS, INTS, promote, to_numpy

BACKENDS = ["numpy", "llvm"]
NUMBERS = [d for d in DTYPES if d != "bool"]
SHAPE = (3, 4)


def _needs(dtype: str) -> None:
    if dtype == "bfloat16":
        pytest.importorskip("ml_dtypes", reason="bfloat16 arrays are ml_dtypes arrays")


def _draw(dtype: str, seed: int, full: bool = True) -> np.ndarray:
    """Random values of `dtype`: ints over their whole range (so arithmetic wraps), floats normal * 4."""
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        return rng.random(SHAPE) < 0.5
    if dtype in INTS:
        info = np.iinfo(dtype)
        lo, hi = (info.min, info.max) if full else (max(info.min, -9), min(info.max, 9))
        return rng.integers(lo, hi, SHAPE, dtype=dtype, endpoint=True)
    return (rng.normal(size=SHAPE) * 4).astype(to_numpy(dtype))


def _run(backend: str, dtype: str, make, *arrays: np.ndarray) -> list[np.ndarray]:
    xs = [gc.placeholder(a.shape, a.dtype.name) for a in arrays]
    fn = gc.function(xs, list(make(*xs)), backend=backend)
    out = fn(*arrays)
    if backend == "llvm":  # native code, not the NumPy callback
        assert fn._last.executable.lowered.fallbacks == {}, fn._last.executable.lowered.fallbacks
    return out


def _same(got: np.ndarray, want: np.ndarray, ulps: int = 0) -> None:
    """Equal dtypes, and values equal (NaN where NaN), or within `ulps` steps of the dtype."""
    want = np.asarray(want)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    if ulps == 0 or got.dtype.name not in FLOATS:
        if got.dtype.name in FLOATS:
            g, w = got.astype(np.float64), want.astype(np.float64)
            assert np.array_equal(g, w, equal_nan=True), (got, want)
        else:
            np.testing.assert_array_equal(got, want)
        return
    step = np.abs(np.spacing(want.astype(np.float32)).astype(np.float64))
    eps = float(np.finfo(np.float32).eps) if got.dtype.name == "float32" else {
        "float16": 2.0 ** -10, "bfloat16": 2.0 ** -7, "float64": 2.0 ** -52}[got.dtype.name]
    step = np.maximum(step, np.abs(want.astype(np.float64)) * eps)
    g, w = got.astype(np.float64), want.astype(np.float64)
    with np.errstate(invalid="ignore"):
        close = (g == w) | (np.abs(g - w) <= ulps * step) | (np.isnan(g) & np.isnan(w))
    assert np.all(close), (got, want)


# -- promotion -------------------------------------------------------------------------------------

@pytest.mark.parametrize("a, b, joined", [
    ("int32", "float32", "float32"), ("int64", "float16", "float16"), ("int8", "bfloat16", "bfloat16"),
    ("uint8", "int8", "int16"), ("uint16", "int16", "int32"), ("uint32", "int32", "int64"),
    ("uint64", "int64", "float64"), ("float16", "bfloat16", "float32"), ("bool", "uint8", "uint8"),
    ("uint8", "uint32", "uint32"), ("float16", "float64", "float64"), ("bool", "bool", "bool"),
])
def test_promotion_is_jax_lattice_join(a, b, joined):
    assert promote(a, b) == promote(b, a) == joined


def test_promotion_agrees_with_numpy_among_ints_and_among_floats():
    """Within one kind NumPy and JAX agree (across kinds JAX keeps the float: int64 + float16 is float16)."""
    ints = [d for d in INTS]
    for a in ints:
        for b in ints:
            if {a, b} != {"int64", "uint64"}:
                assert promote(a, b) == np.promote_types(a, b).name, (a, b)
    assert promote("int64", "uint64") == np.promote_types("int64", "uint64").name  # float64, NumPy's answer
    assert all(promote("float16", f) == np.promote_types("float16", f).name for f in ("float32", "float64"))


def test_weak_python_scalars_keep_the_tensor_dtype():
    for dtype in ("uint8", "int16", "float16"):
        assert (gc.placeholder((2,), dtype) * 2).dtype == dtype
    assert (gc.placeholder((2,), "bfloat16") * 2.5).dtype == "bfloat16" if importlib.util.find_spec("ml_dtypes") \
        else True
    assert (gc.placeholder((2,), "uint8") * 2.5).dtype == "float32"
    with pytest.raises(gc.DTypeError, match=r"add: the Python int 300 does not fit the uint8 operand .*0\.\.255"):
        gc.placeholder((2,), "uint8") + 300
    with pytest.raises(gc.DTypeError, match=r"-1 does not fit the uint16"):
        gc.placeholder((2,), "uint16") + (-1)


# -- casts -----------------------------------------------------------------------------------------

CAST_VALUES = [0, 1, -1, 0.5, -0.5, 2.5, -2.5, 3.7, -3.7, 100.5, 127, 128, 255, 256, -129, 1000, 40000, 65504,
               70000, 2.0 ** 31, -2.0 ** 31, 1e10, -1e10, 2.0 ** 63, 2.0 ** 64, np.inf, -np.inf, np.nan]


def _cast_source(dtype: str) -> np.ndarray:
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        a = np.array(CAST_VALUES, np.float64)
        if dtype in INTS or dtype == "bool":
            a = np.nan_to_num(a, posinf=0, neginf=0).astype(np.int64).astype(dtype)  # in-range ints, wrapped
        return a.astype(np.float32).astype(to_numpy(dtype)) if dtype == "bfloat16" else a.astype(to_numpy(dtype))


def _numpy_cast(a: np.ndarray, to: str) -> np.ndarray:
    """NumPy's astype where it is defined; graphc's documented rule where it is not (a float out of an
    int's range saturates, NaN becomes 0: NumPy's result is platform-dependent there)."""
    if a.dtype.name in FLOATS and to in INTS:
        info = np.iinfo(to)
        t = np.trunc(a.astype(np.float64))
        out = np.zeros(a.shape, to)
        ok = (t >= info.min) & (t <= info.max)   # the float of info.max may round up: checked below
        ok &= t < 2.0 ** (info.bits - (info.min < 0))
        out[ok] = t[ok].astype(to)
        out[t >= 2.0 ** (info.bits - (info.min < 0))] = info.max
        out[t < info.min] = info.min
        return out
    return a.astype(to_numpy(to))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("src", DTYPES)
def test_casts_between_all_dtypes_match_numpy(backend, src):
    _needs(src)
    have_bfloat16 = importlib.util.find_spec("ml_dtypes") is not None
    targets = [d for d in DTYPES if d != src and (have_bfloat16 or d != "bfloat16")]
    a = _cast_source(src)
    for to, got in zip(targets, _run(backend, src, lambda x: [gc.cast(x, d) for d in targets], a)):
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            want = _numpy_cast(a.astype(np.float32) if src == "float64" and to == "bfloat16" else a, to)
        _same(got, want)


def test_float_to_int_saturates_and_nan_is_zero():
    x = gc.placeholder((5,), "float32")
    a = np.array([np.nan, 1e10, -1e10, 255.9, -0.9], np.float32)
    for backend in BACKENDS:
        out = gc.function([x], [gc.cast(x, "uint8"), gc.cast(x, "int32")], backend=backend)(a)
        np.testing.assert_array_equal(out[0], [0, 255, 0, 255, 0])
        np.testing.assert_array_equal(out[1], [0, 2 ** 31 - 1, -2 ** 31, 255, 0])


def test_bfloat16_rounding_matches_ml_dtypes():
    """Round to nearest even (ties included), NaN stays a quiet NaN of its sign, overflow is inf."""
    ml_dtypes = pytest.importorskip("ml_dtypes", reason="bfloat16 arrays are ml_dtypes arrays")
    bits = np.arange(0, 2 ** 32, 65521, dtype=np.uint64).astype(np.uint32)   # float32 bit patterns, all exponents
    extra = np.array([0x3F808000, 0x3F818000, 0x7F7FFFFF, 0xFF800001, 0x7FC00001, 0x00008000], np.uint32)  # ties, NaNs
    a = np.concatenate([bits, extra]).view(np.float32)
    x = gc.placeholder(a.shape, "float32")
    for backend in BACKENDS:
        got = gc.function([x], gc.cast(x, "bfloat16"), backend=backend)(a)
        with np.errstate(invalid="ignore"):
            want = a.astype(ml_dtypes.bfloat16)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got.view(np.uint16), want.view(np.uint16))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("to", ["float16", "bfloat16"])
def test_doubles_and_wide_ints_round_once_to_16_bit_floats(backend, to):
    """Near every tie, a double or an int64 rounds to the 16-bit float directly, as NumPy and ml_dtypes
    do: through float32 it would round twice (1 + 2**-8 + 2**-30 is 1 + 2**-8 in float32, a bfloat16 tie)."""
    _needs(to)
    rng = np.random.default_rng(12)
    base = rng.normal(size=300) * 2.0 ** rng.integers(-20, 15, 300)
    with np.errstate(all="ignore"):
        near = base.astype(to_numpy(to)).astype(np.float64)
        ties = near + np.abs(np.spacing(base.astype(to_numpy(to)))).astype(np.float64) / 2
    doubles = np.concatenate([ties, ties * (1 + 2.0 ** -40), ties * (1 - 2.0 ** -40), [np.nan, np.inf, -0.0, 1e300]])
    ints = np.concatenate([rng.integers(-2 ** 40, 2 ** 40, 300), [2 ** 24 + 2 ** 16 + 1, 2 ** 11 + 1, 2049]])
    for a in (doubles, ints.astype(np.int64)):
        with np.errstate(all="ignore"):
            want = a.astype(to_numpy(to))
        got = _run(backend, a.dtype.name, lambda x: [gc.cast(x, to)], a)[0]
        np.testing.assert_array_equal(got.view(np.uint16), want.view(np.uint16))


# -- ops per dtype ---------------------------------------------------------------------------------

def _arith(x, y):
    return [x + y, x - y, x * y, gc.maximum(x, y), gc.minimum(x, y), gc.square(x), gc.where(x > y, x, y),
            gc.abs(x), x < y, gc.equal(x, y)]


def _arith_np(a, b):
    return [a + b, a - b, a * b, np.maximum(a, b), np.minimum(a, b), np.square(a), np.where(a > b, a, b),
            np.abs(a), a < b, a == b]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", NUMBERS)
def test_arithmetic_matches_numpy(backend, dtype):
    """Wrapping ints; one rounding per op for 16-bit floats, also inside a fused kernel."""
    _needs(dtype)
    a, b = _draw(dtype, 1), _draw(dtype, 2)
    with np.errstate(all="ignore"):
        want = _arith_np(a, b) + [((a * b) + a) - b]
    got = _run(backend, dtype, lambda x, y: _arith(x, y) + [((x * y) + x) - y], a, b)
    for g, w in zip(got, want):
        _same(g, w)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_float_functions_round_once_per_op(backend, dtype):
    """exp, tanh, sqrt, log, sigmoid of 16-bit floats: computed in float32, rounded once per op."""
    _needs(dtype)
    a, b = _draw(dtype, 3), _draw(dtype, 4)
    wide = np.float32

    def rounded(v):
        with np.errstate(over="ignore"):
            return np.asarray(v, wide).astype(to_numpy(dtype))
    a32 = a.astype(wide)
    e = rounded(np.exp(a32 / 4))
    want = [e, rounded(np.tanh(a32)), rounded(np.sqrt(np.abs(a32))), rounded(np.log(np.abs(a32) + 1)),
            rounded(a32 / b.astype(wide)), rounded(np.floor(a32)), rounded(np.exp(e.astype(wide)) * 0.5)]
    got = _run(backend, dtype, lambda x, y: [gc.exp(x / 4), gc.tanh(x), gc.sqrt(gc.abs(x)), gc.log(gc.abs(x) + 1),
                                             x / y, gc.floor(x), gc.exp(gc.exp(x / 4)) * 0.5], a, b)
    for g, w in zip(got, want):
        _same(g, w, ulps=1)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", NUMBERS)
def test_reductions_match_numpy(backend, dtype):
    """Max/min/argmax exactly; sums keep the dtype (ints wrap); 16-bit sums accumulate wide and round
    once (NumPy's float16 sum pairs in float32, ml_dtypes' bfloat16 sum rounds every partial sum)."""
    _needs(dtype)
    a = _draw(dtype, 5, full=False)
    got = _run(backend, dtype, lambda x: [gc.sum(x, 1), gc.max(x, 0), gc.min(x), gc.argmax(x, 1)], a)
    with np.errstate(all="ignore"):
        total = np.sum(a.astype(np.float64), 1).astype(a.dtype) if dtype in ("float16", "bfloat16") else \
            np.sum(a, 1, dtype=a.dtype)   # graphc's sum keeps the dtype (wrapping): NumPy widens small ints
    for g, w in zip(got, [total, np.max(a, 0), np.min(a), np.argmax(a, 1)]):
        _same(g, w, ulps=0 if dtype in INTS or dtype in ("float16", "bfloat16") else 4)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", NUMBERS)
def test_floor_divide_mod_and_fmod_match_numpy(backend, dtype):
    """np.floor_divide, np.remainder and np.fmod, with integer division by 0 (0), MIN % -1 (0), MIN // -1
    (MIN), and float signs of zero, infinities and NaN."""
    _needs(dtype)
    a, b = _draw(dtype, 6), _draw(dtype, 7, full=False)
    if dtype in INTS:
        info = np.iinfo(dtype)
        a.flat[:3] = [info.min, info.min, 7]
        b.flat[:3] = [np.array(-1).astype(dtype) if info.min < 0 else 1, 0, 0]
    else:
        a.flat[:8] = np.array([5, -5, 0, np.inf, -0.0, 7, np.nan, 1], np.float32).astype(a.dtype)
        b.flat[:8] = np.array([0, 3, -2, 2, 2, -np.inf, 1, -0.0], np.float32).astype(a.dtype)
    wide = a.astype(np.float32) if dtype in ("float16", "bfloat16") else a  # a 16-bit op computes in float32
    with np.errstate(all="ignore"):
        want = [np.remainder(a, b), np.fmod(a, b), a % b, np.floor_divide(wide, b.astype(wide.dtype)).astype(a.dtype)]
    got = _run(backend, dtype, lambda x, y: [gc.mod(x, y), gc.fmod(x, y), x % y, x // y], a, b)
    for g, w in zip(got, want):
        _same(g, w)
    signs = [np.signbit(v.astype(np.float64)) for v in (got[3], want[3])]
    assert dtype in INTS or np.array_equal(*signs)
    if dtype in INTS:  # ONNX's truncating integer Div, exactly: floor_divide(x - fmod(x, y), y)
        (div,) = _run(backend, dtype, lambda x, y: [gc.floor_divide(x - gc.fmod(x, y), y)], a, b)
        ok = b != 0
        with np.errstate(all="ignore"):
            c_div = np.where(ok, np.fix(a.astype(np.float64) / np.where(ok, b, 1)), 0)
        info = np.iinfo(dtype)  # where float64 holds the quotient exactly, and it does not overflow
        fine = ok & (np.abs(a.astype(np.float64)) < 2 ** 52) & (c_div >= info.min) & (c_div <= info.max)
        np.testing.assert_array_equal(div[fine].astype(np.float64), c_div[fine])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", INTS)
def test_bit_ops_and_shifts_match_numpy(backend, dtype):
    """Shifts by every amount from -3 to 2 * width, NumPy's rules (0, or -1 for a negative signed value)."""
    a, b = _draw(dtype, 8), _draw(dtype, 9)
    width = np.iinfo(dtype).bits
    amounts = np.arange(-3 if dtype.startswith("int") else 0, 2 * width)
    n = np.resize(amounts, a.size).reshape(SHAPE).astype(dtype)
    with np.errstate(all="ignore"):
        want = [a & b, a | b, a ^ b, ~a, np.left_shift(a, n), np.right_shift(a, n)]
    got = _run(backend, dtype, lambda x, y, k: [x & y, x | y, x ^ y, ~x, x << k, x >> k], a, b, n)
    for g, w in zip(got, want):
        _same(g, w)


def test_bitwise_ops_on_bools_are_logical():
    p, q = gc.placeholder((4,), "bool"), gc.placeholder((4,), "bool")
    assert [(p & q).op.name, (p | q).op.name, (p ^ q).op.name, (~p).op.name] == \
        ["logical_and", "logical_or", "not_equal", "logical_not"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_mod_and_fmod_gradients_match_finite_differences(backend):
    x, y = gc.placeholder((6,), "float64"), gc.placeholder((6,), "float64")
    cost = gc.sum(gc.mod(x, y) * gc.cos(x) + gc.square(gc.fmod(x, y)))
    fn = gc.function([x, y], gc.grad(cost, [x, y]), backend=backend)
    a = np.array([5.3, -5.3, 7.1, -2.2, 0.4, 9.9])
    b = np.array([2.1, 2.1, -3.3, -0.7, 1.5, -4.0])

    def f(a, b):
        return np.sum(np.remainder(a, b) * np.cos(a) + np.fmod(a, b) ** 2)
    eps = 1e-6
    ga = [(f(a + eps * e, b) - f(a - eps * e, b)) / (2 * eps) for e in np.eye(6)]
    gb = [(f(a, b + eps * e) - f(a, b - eps * e)) / (2 * eps) for e in np.eye(6)]
    got = fn(a, b)
    np.testing.assert_allclose(got[0], ga, rtol=1e-6)
    np.testing.assert_allclose(got[1], gb, rtol=1e-6)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_16_bit_gradients_flow_in_their_dtype(dtype):
    _needs(dtype)
    x = gc.placeholder((4,), dtype)
    (g,) = gc.grad(gc.sum(gc.tanh(x) * gc.mod(x, 1.5)), [x])
    assert g.dtype == dtype
    a = np.array([0.25, -1.0, 2.0, 3.5], np.float32).astype(to_numpy(dtype))
    got = [gc.function([x], g, backend=b)(a) for b in BACKENDS]
    a32 = a.astype(np.float64)
    want = (1 - np.tanh(a32) ** 2) * np.remainder(a32, 1.5) + np.tanh(a32)
    for r in got:
        assert r.dtype == to_numpy(dtype)
        np.testing.assert_allclose(r.astype(np.float64), want, rtol=3e-2, atol=3e-2)
    _same(got[1], got[0])


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_random_uniform_of_16_bit_floats_is_below_1_and_the_same_everywhere(dtype):
    """11 (float16) or 8 (bfloat16) random bits per number: exact, so never rounded up to 1."""
    _needs(dtype)
    key = gc.parameter(np.array([7, 0], np.int64))
    r = gc.random_uniform(key, (3000,), dtype)
    draws = [gc.function([], r, backend=b)() for b in [*BACKENDS, "cuda-emulate"]]
    bits = {"float16": 11, "bfloat16": 8}[dtype]
    first = draws[0].astype(np.float64)
    assert first.min() >= 0 and 0.99 < first.max() <= 1 - 2.0 ** -bits and abs(first.mean() - 0.5) < 0.02
    assert np.array_equal(first * 2 ** bits, np.round(first * 2 ** bits))
    for d in draws[1:]:
        assert d.dtype == draws[0].dtype and d.tobytes() == draws[0].tobytes()


# -- bad inputs ------------------------------------------------------------------------------------

@pytest.mark.parametrize("make, message", [
    (lambda f, b, i: gc.left_shift(f, 1), r"left_shift: needs integer operands, got float32\[3\]"),
    (lambda f, b, i: gc.mod(b, b), r"mod: needs int or float operands, not bool, got bool\[3\] and bool\[3\]"),
    (lambda f, b, i: gc.fmod(b, b), r"fmod: needs int or float operands, not bool"),
    (lambda f, b, i: f & f, r"bitwise_and: needs integer operands, got float32\[3\] and float32\[3\]"),
    (lambda f, b, i: ~f, r"bitwise_not: needs integer operands, got float32\[3\]"),
    (lambda f, b, i: i >> 1.5, r"right_shift: needs integer operands, got uint8\[3\] and float32\[\]"),
    (lambda f, b, i: gc.bitwise_xor(i, f), r"bitwise_xor: needs integer operands, got uint8\[3\] and float32\[3\]"),
])
def test_bad_operands_are_clear_dtype_errors(make, message):
    f, b, i = gc.placeholder((3,)), gc.placeholder((3,), "bool"), gc.placeholder((3,), "uint8")
    with pytest.raises(gc.DTypeError, match=message) as e:
        make(f, b, i)
    assert "fix: cast with gc.cast" in str(e.value)


def test_bfloat16_without_ml_dtypes_is_a_clear_error(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "ml_dtypes", None)   # import ml_dtypes now raises ImportError
    with pytest.raises(gc.DTypeError, match=r"placeholder: bfloat16 arrays are ml_dtypes.bfloat16 arrays, and "
                                            r"ml_dtypes is not installed") as e:
        gc.placeholder((2,), "bfloat16")
    assert "pip install ml_dtypes" in str(e.value)


# -- state and the GPU code generator ----------------------------------------------------------------

def test_parameters_of_every_dtype_round_trip_through_a_checkpoint(tmp_path):
    pytest.importorskip("ml_dtypes", reason="bfloat16 arrays are ml_dtypes arrays")
    from graphc.nn.state import read_archive, save_state
    arrays = {d: (np.arange(6).reshape(2, 3) * 1.5).astype(to_numpy(d)) for d in DTYPES}
    save_state(arrays, tmp_path / "all.npz")
    header, back = read_archive(tmp_path / "all.npz")
    assert header is None and sorted(back) == sorted(arrays)
    for d, a in arrays.items():
        assert back[d].dtype == a.dtype and back[d].tobytes() == a.tobytes(), d


def test_a_bfloat16_model_trains_and_its_checkpoint_restores(tmp_path):
    pytest.importorskip("ml_dtypes", reason="bfloat16 arrays are ml_dtypes arrays")
    model = gc.nn.Dense(3, 2, dtype="bfloat16")
    x, t = gc.placeholder((4, 3), "bfloat16"), gc.placeholder((4, 2), "bfloat16")
    loss = gc.mean(gc.square(model(x) - t))
    opt = gc.optim.SGD(model.parameters(), lr=0.1)
    step = gc.function([x, t], loss, updates=opt.updates(loss), backend="llvm")
    a = np.random.default_rng(0).normal(size=(4, 3)).astype(to_numpy("bfloat16"))
    zeros = np.zeros((4, 2), to_numpy("bfloat16"))
    losses = [float(step(a, zeros)) for _ in range(4)]
    assert losses[-1] < losses[0]
    gc.checkpoint.save_checkpoint(tmp_path / "c.npz", model, opt)
    again = gc.nn.Dense(3, 2, dtype="bfloat16")
    gc.checkpoint.load_checkpoint(tmp_path / "c.npz", again, gc.optim.SGD(again.parameters(), lr=0.1))
    for p, q in zip(model.parameters(), again.parameters()):
        assert q.value.dtype == p.value.dtype and q.value.tobytes() == p.value.tobytes()


@pytest.mark.parametrize("dtype", NUMBERS)
def test_cuda_emulate_and_ptx_cover_the_new_dtypes(dtype):
    """The CUDA code generator compiles every dtype natively (PTX text; the host-grid emulation runs the
    same kernels against the NumPy reference)."""
    _needs(dtype)
    from graphc.backends import cuda
    from graphc.backends.cuda.lowering import lower_program
    a, b = _draw(dtype, 10, full=False), _draw(dtype, 11, full=False)

    def make(x, y):
        extra = [x & y, x << 2, x >> 1] if dtype in INTS else [gc.softmax(x, 1), gc.exp(x / 4)]
        return [x * y + x, gc.sum(x, 1), gc.mod(x, y), gc.cast(x, "float32"), gc.argmax(x, 1)] + extra
    want = _run("numpy", dtype, make, a, b)
    got = _run("cuda-emulate", dtype, make, a, b)
    for g, w in zip(got, want):
        _same(g, w, ulps=0 if dtype in INTS else 1)
    xs = [gc.placeholder(SHAPE, dtype), gc.placeholder(SHAPE, dtype)]
    program = gc.function(xs, make(*xs), backend="numpy").kernel_program()
    assert not lower_program(program).fallbacks
    ptx = cuda.generate_ptx(program, "sm_90")
    assert ".visible .entry" in ptx


def test_cuda_refuses_bfloat16_before_touching_a_device():
    pytest.importorskip("ml_dtypes", reason="bfloat16 arrays are ml_dtypes arrays")
    from graphc.backends import cuda
    x = gc.placeholder((3,), "bfloat16")
    program = gc.function([x], x * 2, backend="numpy").kernel_program()
    with pytest.raises(gc.BackendError, match=r"cuda: bfloat16 tensors have no CuPy array type") as e:
        cuda.BACKEND.compile(program)
    assert "float16 or float32" in str(e.value)
