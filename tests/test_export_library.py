"""gc.export_library: a step as a shared library with a C header, called from C and through ctypes."""
import ctypes
import importlib.util
import os
import shutil
import subprocess

import numpy as np
import pytest

import graphc as gc
from graphc.backends.llvm import export

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "examples", "c")
needs_cc = pytest.mark.skipif(not any(shutil.which(c) for c in ("cc", "gcc", "clang")) and not os.environ.get("CC"),
                              reason="no C compiler (cc, gcc, clang or $CC) to link the library")


def load_example():
    spec = importlib.util.spec_from_file_location("export_mlp", os.path.join(EXAMPLE, "export_mlp.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@needs_cc
def test_c_program_trains_like_python(tmp_path):
    example = load_example()
    step = example.main(["--out", str(tmp_path)])  # writes libmlp.so and mlp.h
    exe = tmp_path / "train_mlp"
    subprocess.run([*export.c_compiler(), "-std=c11", "-O2", os.path.join(EXAMPLE, "train_mlp.c"), f"-I{tmp_path}",
                    f"-L{tmp_path}", "-lmlp", f"-Wl,-rpath,{tmp_path}", "-lm", "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60, check=True).stdout.splitlines()
    c_losses = [float(line.split()[-1]) for line in out if line.startswith("step")]
    x, y = example.data()
    python_losses = [float(step(x, y)) for _ in c_losses]  # the numpy backend, from the same initial values
    assert len(c_losses) == 30 and c_losses[-1] < c_losses[0] / 2
    np.testing.assert_allclose(c_losses, python_losses, rtol=1e-4)
    assert out[-1] == f"w1[0] after 30 steps: {_w1(step):.6f}"


def _w1(step) -> float:
    (w1,) = [p for p in step.graph.parameters if p.name == "w1"]
    return float(w1.value.ravel()[0])


def classifier():
    """Softmax regression with an int32 label input, a float64 accumulator and two outputs."""
    rng = np.random.default_rng(3)
    x = gc.placeholder((5, 4), name="x")
    labels = gc.placeholder((5,), "int32", name="labels")
    w = gc.parameter(rng.standard_normal((4, 3)).astype(np.float32), name="w")
    seen = gc.parameter(np.zeros((), np.float64), name="seen")
    logits = x @ w
    loss = gc.losses.cross_entropy(logits, gc.one_hot(labels, 3))
    return gc.function([x, labels], [loss, gc.softmax(logits, axis=1)],
                       updates=[(w, w - 0.5 * gc.grad(loss, w)), (seen, seen + 5.0)])


def library(tmp_path, fn, name="clf"):
    out = gc.export_library(fn, str(tmp_path / f"lib{name}.so"))
    lib = ctypes.CDLL(out.library)
    p = out.prefix
    for fname, res in (("create", ctypes.c_void_p), ("param", ctypes.c_void_p), ("input_name", ctypes.c_char_p),
                       ("param_name", ctypes.c_char_p), ("input_dtype", ctypes.c_char_p),
                       ("output_dtype", ctypes.c_char_p), ("param_dtype", ctypes.c_char_p),
                       ("input_shape", ctypes.POINTER(ctypes.c_int64)), ("param_size", ctypes.c_int64),
                       ("output_size", ctypes.c_int64)):
        getattr(lib, f"{p}_{fname}").restype = res
    lib.__dict__["prefix"] = p
    return out, lib


def call(lib, name, *args):
    return getattr(lib, f"{lib.prefix}_{name}")(*args)


def ptr(a: np.ndarray) -> ctypes.c_void_p:
    return ctypes.c_void_p(a.ctypes.data)


@needs_cc
def test_ctypes_run_matches_python_and_updates_parameters_in_place(tmp_path):
    fn = classifier()
    out, lib = library(tmp_path, fn)
    assert out.prefix == "graphc_clf" and os.path.exists(tmp_path / "libclf.h")
    assert [call(lib, n) for n in ("num_inputs", "num_outputs", "num_params")] == [2, 2, 2]
    assert [call(lib, "input_name", i) for i in (0, 1)] == [b"x", b"labels"]
    assert [call(lib, "input_dtype", i) for i in (0, 1)] == [b"float32", b"int32"]
    assert [call(lib, "input_shape", 0)[d] for d in range(call(lib, "input_ndim", 0))] == [5, 4]
    assert [call(lib, "output_dtype", j) for j in (0, 1)] == [b"float32", b"float32"]
    assert call(lib, "output_size", 1) == 15 and call(lib, "output_ndim", 0) == 0
    assert [call(lib, "param_name", j) for j in (0, 1)] == [b"w", b"seen"]
    assert call(lib, "param_dtype", 1) == b"float64" and call(lib, "param_size", 0) == 12
    for bad in (-1, 2, 99):  # bad indices answer NULL / -1 instead of reading out of bounds
        assert call(lib, "param_name", bad) is None and call(lib, "input_ndim", bad) == -1
        assert call(lib, "param_size", bad) == -1 and not call(lib, "input_shape", bad)

    rng = np.random.default_rng(0)
    xs = [rng.standard_normal((5, 4)).astype(np.float32) for _ in range(3)]
    ls = [rng.integers(0, 3, 5).astype(np.int32) for _ in range(3)]
    state, other = call(lib, "create"), call(lib, "create")
    loss, probs = np.zeros((), np.float32), np.zeros((5, 3), np.float32)
    for x, lab in zip(xs, ls):
        expected_loss, expected_probs = fn(x, lab)
        assert call(lib, "run", ctypes.c_void_p(state), ptr(x), ptr(lab), ptr(loss), ptr(probs)) == 0
        np.testing.assert_allclose(loss, expected_loss, rtol=1e-5)
        np.testing.assert_allclose(probs, expected_probs, rtol=1e-5, atol=1e-7)
    w = np.ctypeslib.as_array(ctypes.cast(call(lib, "param", ctypes.c_void_p(state), 0),
                                          ctypes.POINTER(ctypes.c_float)), (4, 3))
    seen = ctypes.cast(call(lib, "param", ctypes.c_void_p(state), 1), ctypes.POINTER(ctypes.c_double))
    (w_param, seen_param) = sorted((p for p in fn.graph.parameters), key=lambda p: p.name, reverse=True)
    np.testing.assert_allclose(w, w_param.value, rtol=1e-5, atol=1e-6)
    assert seen[0] == 15.0 == seen_param.value
    other_seen = ctypes.cast(call(lib, "param", ctypes.c_void_p(other), 1), ctypes.POINTER(ctypes.c_double))
    assert other_seen[0] == 0.0  # states are independent
    call(lib, "reset", ctypes.c_void_p(state))
    assert seen[0] == 0.0
    call(lib, "destroy", ctypes.c_void_p(state))
    call(lib, "destroy", ctypes.c_void_p(other))
    call(lib, "destroy", None)


@needs_cc
def test_gather_out_of_range_returns_the_kernel(tmp_path):
    table = gc.parameter(np.arange(6, dtype=np.float32).reshape(3, 2), name="table")
    idx = gc.placeholder((2,), "int32", name="idx")
    fn = gc.function([idx], gc.sum(gc.take(table, idx, axis=0)))
    _, lib = library(tmp_path, fn, "gather")
    state, out = call(lib, "create"), np.zeros((), np.float32)
    ok = np.array([0, 2], np.int32)
    assert call(lib, "run", ctypes.c_void_p(state), ptr(ok), ptr(out)) == 0
    assert out == fn(ok) == 10.0  # rows 0 and 2: 0 + 1 + 4 + 5
    bad = np.array([0, 7], np.int32)
    assert call(lib, "run", ctypes.c_void_p(state), ptr(bad), ptr(out)) > 0
    call(lib, "destroy", ctypes.c_void_p(state))


def test_kernels_without_native_code_are_refused(tmp_path):
    a, b = gc.placeholder((3, 3), "int32", name="a"), gc.placeholder((3, 3), "int32", name="b")
    fn = gc.function([a, b], a @ b)
    with pytest.raises(gc.BackendError, match=r"cannot go into a library .*k0 matmul \(matmul, matmul of int32"):
        gc.export_library(fn, str(tmp_path / "libint.so"))
    assert os.listdir(tmp_path) == []


def test_scan_loops_are_refused(tmp_path):
    xs = gc.placeholder((4, 2), name="xs")
    w = gc.parameter(np.eye(2, dtype=np.float32), name="w")
    h0 = gc.constant(np.zeros(2, np.float32))
    fn = gc.function([xs], gc.sum(gc.scan(lambda h, x: gc.tanh(h @ w + x), h0, [xs])))
    with pytest.raises(gc.BackendError, match=r"cannot go into a library .*: k\d+ scan \(loop, a loop over"):
        gc.export_library(fn, str(tmp_path / "libscan.so"))
    assert os.listdir(tmp_path) == []


def test_no_c_compiler_is_an_actionable_error(tmp_path, monkeypatch):
    monkeypatch.delenv("CC", raising=False)
    monkeypatch.setattr(export.shutil, "which", lambda name: None)
    x = gc.placeholder((2,), name="x")
    with pytest.raises(gc.BackendError, match="needs a C compiler") as e:
        gc.export_library(gc.function([x], x * 2.0), str(tmp_path / "libx.so"))
    assert "apt install gcc" in e.value.fix and os.listdir(tmp_path) == []


@needs_cc
def test_files_are_replaced_atomically(tmp_path):
    x = gc.placeholder((2,), name="x")
    target = tmp_path / "libtwice.so"
    target.write_bytes(b"old")
    out = gc.export_library(gc.function([x], x * 2.0), str(target), header=str(tmp_path / "twice_api.h"))
    assert sorted(os.listdir(tmp_path)) == ["libtwice.so", "twice_api.h"]  # no temporary file left
    assert target.read_bytes()[:4] == b"\x7fELF" and os.access(target, os.X_OK)
    assert "int graphc_twice_run(graphc_twice_state *state, const float *x, float *out0);" in \
        (tmp_path / "twice_api.h").read_text()
    assert out.header == str(tmp_path / "twice_api.h")


def test_bad_arguments_are_input_errors(tmp_path):
    x = gc.placeholder((None, 2), name="x")
    fn = gc.function([x], x * 2.0)
    with pytest.raises(gc.InputError, match="expected a compiled gc.function"):
        gc.export_library(lambda v: v, str(tmp_path / "liba.so"))
    with pytest.raises(gc.InputError, match="free"):  # never called, and its shapes have a free dim
        gc.export_library(fn, str(tmp_path / "liba.so"))
    with pytest.raises(gc.InputError, match="not a C identifier"):
        gc.export_library(fn, str(tmp_path / "liba.so"), name="my-model", shapes=[(3, 2)])
    with pytest.raises(gc.InputError, match="does not exist"):
        gc.export_library(fn, str(tmp_path / "missing" / "liba.so"), shapes=[(3, 2)])
    with pytest.raises(gc.InputError, match="non-empty string"):
        gc.export_library(fn, "", shapes=[(3, 2)])
    assert os.listdir(tmp_path) == []


def test_library_names():
    assert export.library_name("out/libmodel.so") == "model"
    assert export.library_name("my-net.v2.so") == "my_net"
    assert export.library_name("3d.so") == "m_3d"
    assert export.library_name("lib.so") == "lib"


def test_library_and_header_on_the_same_path_are_refused(tmp_path):
    x = gc.placeholder((2,), name="x")
    fn = gc.function([x], x * 2.0)
    for library, header in (("model.h", None), ("libm.so", "libm.so")):
        with pytest.raises(gc.InputError, match="the library and the header are the same file") as e:
            gc.export_library(fn, str(tmp_path / library), None if header is None else str(tmp_path / header))
        assert "header=" in e.value.fix
    (tmp_path / "libreal.so").write_bytes(b"keep")
    os.symlink(tmp_path / "libreal.so", tmp_path / "alias.h")  # the header would land on the library
    with pytest.raises(gc.InputError, match="same file"):
        gc.export_library(fn, str(tmp_path / "libreal.so"), str(tmp_path / "alias.h"))
    assert (tmp_path / "libreal.so").read_bytes() == b"keep"


def test_folders_and_unwritable_paths_are_graphc_errors(tmp_path):
    x = gc.placeholder((2,), name="x")
    fn = gc.function([x], x * 2.0)
    (tmp_path / "libdir.so").mkdir()
    with pytest.raises(gc.InputError, match=r"the library path .*libdir.so is a folder"):
        gc.export_library(fn, str(tmp_path / "libdir.so"))
    (tmp_path / "hdr.h").mkdir()
    with pytest.raises(gc.InputError, match=r"the header path .*hdr.h is a folder"):
        gc.export_library(fn, str(tmp_path / "libok.so"), str(tmp_path / "hdr.h"))
    assert sorted(os.listdir(tmp_path)) == ["hdr.h", "libdir.so"]


@needs_cc
def test_a_write_that_fails_is_a_graphc_error(tmp_path):
    x = gc.placeholder((2,), name="x")
    # /sys refuses new files even to root (as a read-only or full disk would)
    with pytest.raises(gc.InputError, match=r"cannot write (the library into )?/sys"):
        gc.export_library(gc.function([x], x * 2.0), "/sys/libx.so", str(tmp_path / "x.h"))
    assert os.listdir(tmp_path) == ["x.h"] or os.listdir(tmp_path) == []


HOSTILE = "w */ int injected; /* \" ??/ \\ \n é"


def hostile_function():
    """A parameter and an input whose names would end the header's comment or string literals if copied."""
    x = gc.placeholder((3,), name="x */ evil")
    w = gc.parameter(np.array([1.0, 2.0, 3.0], np.float32), name=HOSTILE)
    y = x * w
    return gc.function([x], [gc.sum(y), y], updates=[(w, w + 1.0)])


@needs_cc
def test_names_cannot_inject_c_into_the_header(tmp_path):
    out, lib = library(tmp_path, hostile_function(), "hostile")
    text = (tmp_path / "libhostile.h").read_text()
    comment = text[:text.index("*/")]
    assert "injected" in comment and "\\x2a\\x2f int injected" in comment  # the whole name, escaped, in the comment
    assert text.count("*/") == text.count("/*")  # every comment closes where it should
    assert "const float *x____evil" in text
    assert call(lib, "param_name", 0).decode() == HOSTILE  # the query returns the exact name
    assert call(lib, "input_name", 0) == b"x____evil"
    # the header compiles cleanly as C and as C++
    src = tmp_path / "use.c"
    src.write_text('#include "libhostile.h"\nint main(void) { return graphc_hostile_num_params() == 1 ? 0 : 1; }\n')
    for lang, std in (("c", "-std=c11"), ("c++", "-std=c++17")):
        subprocess.run([*export.c_compiler(), "-x", lang, std, "-Wall", "-Wextra", "-Werror", "-pedantic",
                        "-fsyntax-only", f"-I{tmp_path}", str(src)], check=True, capture_output=True)


def checked(lib, state, buffers, nbytes, n=None):
    n = len(buffers) if n is None else n
    arr = (ctypes.c_void_p * max(len(buffers), 1))(*[None if b is None else b.ctypes.data for b in buffers])
    sizes = (ctypes.c_size_t * max(len(nbytes), 1))(*nbytes)
    return call(lib, "run_checked", state, arr, sizes, ctypes.c_size_t(n))


@needs_cc
def test_run_checked_refuses_short_and_null_buffers_and_runs_good_ones(tmp_path):
    fn = classifier()
    _, lib = library(tmp_path, fn)
    state = ctypes.c_void_p(call(lib, "create"))
    x = np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32)
    lab = np.array([0, 1, 2, 1, 0], np.int32)
    loss, probs = np.zeros((), np.float32), np.zeros((5, 3), np.float32)
    good = [x, lab, loss, probs]
    sizes = [a.nbytes for a in good]
    assert sizes == [call(lib, "input_nbytes", 0), call(lib, "input_nbytes", 1), call(lib, "output_nbytes", 0),
                     call(lib, "output_nbytes", 1)] == [80, 20, 4, 60]
    EARGS, ENULL, ESIZE = -1, -2, -3
    short = x[:4].copy()
    assert checked(lib, state, [short, lab, loss, probs], [short.nbytes, *sizes[1:]]) == ESIZE
    assert checked(lib, state, good, [80, 20, 4, 59]) == ESIZE
    assert checked(lib, state, [x, None, loss, probs], sizes) == ENULL
    assert checked(lib, state, good, sizes, n=3) == EARGS
    assert checked(lib, None, good, sizes) == EARGS
    assert call(lib, "run_checked", state, None, None, ctypes.c_size_t(4)) == EARGS
    assert not loss.any() and not probs.any()  # a refused call runs nothing: outputs and parameters untouched
    assert ctypes.cast(call(lib, "param", state, 1), ctypes.POINTER(ctypes.c_double))[0] == 0.0
    expected_loss, expected_probs = fn(x, lab)
    assert checked(lib, state, good, sizes) == 0
    np.testing.assert_allclose(loss, expected_loss, rtol=1e-5)
    np.testing.assert_allclose(probs, expected_probs, rtol=1e-5, atol=1e-7)
    assert ctypes.cast(call(lib, "param", state, 1), ctypes.POINTER(ctypes.c_double))[0] == 5.0
    header = (tmp_path / "libclf.h").read_text()
    assert "#define GRAPHC_CLF_ESIZE (-3)" in header
    assert "int graphc_clf_run_checked(graphc_clf_state *state, const void *const *buffers, " \
           "const size_t *nbytes, size_t n);" in header
    call(lib, "destroy", state)


@needs_cc
def test_a_c_program_calls_run_checked(tmp_path):
    x = gc.placeholder((3,), name="x")
    gc.export_library(gc.function([x], gc.sum(x * 2.0)), str(tmp_path / "libdbl.so"))
    src = tmp_path / "main.c"
    src.write_text(r'''#include <stdio.h>
#include "libdbl.h"
int main(void) {
    graphc_dbl_state *s = graphc_dbl_create();
    float x[3] = {1, 2, 3}, y = 0;
    const void *buffers[2] = {x, &y};
    size_t good[2] = {sizeof x, sizeof y}, short_[2] = {2 * sizeof(float), sizeof y};
    int refused = graphc_dbl_run_checked(s, buffers, short_, 2);
    const void *null_out[2] = {x, NULL};
    int null = graphc_dbl_run_checked(s, null_out, good, 2);
    int ok = graphc_dbl_run_checked(s, buffers, good, 2);
    printf("%d %d %d %g\n", refused, null, ok, y);
    graphc_dbl_destroy(s);
    return 0;
}
''')
    exe = tmp_path / "main"
    subprocess.run([*export.c_compiler(), "-std=c11", "-Wall", "-Werror", str(src), f"-I{tmp_path}", f"-L{tmp_path}",
                    "-ldbl", f"-Wl,-rpath,{tmp_path}", "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True, timeout=30, check=True).stdout
    assert out == "-3 -2 0 12\n"
