"""A kernel program as a native shared library with a C header (ahead-of-time compilation).

The library holds the program's `run` function (optimized for the host CPU,
position-independent), one read-only data blob with the initial parameter values
and the constants, and a generated C wrapper that owns the memory: `create`
allocates a state (arena, scratch, staging, a copy of every parameter), `run`
executes one step (outputs, then the parameter updates in place, as in Python),
`run_checked` does the same behind checks of every pointer and byte count (for
callers who cannot vouch for their buffers), and query functions describe the
inputs, outputs and parameters. Names reach the header only escaped. The system C
compiler links it (`$CC`, else cc, gcc or clang). Matmuls use the generated loop
kernel: the library cannot reach SciPy's BLAS. Programs with kernels that
run through NumPy callbacks cannot be exported.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass

import llvmlite.binding as llvm
import numpy as np

from graphc.ir.errors import BackendError, InputError
from graphc.schedule import KernelProgram

from .cache import write_atomic
from .codegen import ALIGN, aligned
from .lowering import Lowered, lower_program
from .runtime import host_target_machine, optimized_module, target_machine

#: graphc dtype -> C element type (bool is one byte, like NumPy)
#: graphc dtype -> C type of its elements (16-bit floats: their bits, as C has no portable half type)
C_TYPES = {"float32": "float", "float64": "double", "int8": "int8_t", "int16": "int16_t", "int32": "int32_t",
           "int64": "int64_t", "uint8": "uint8_t", "uint16": "uint16_t", "uint32": "uint32_t", "uint64": "uint64_t",
           "float16": "uint16_t", "bfloat16": "uint16_t", "bool": "uint8_t"}

#: the description functions of every kind of tensor: (C return type, name)
KINDS = ("input", "output", "param")
QUERIES = (("const char *", "name"), ("int ", "ndim"), ("const int64_t *", "shape"), ("const char *", "dtype"),
           ("int64_t ", "size"), ("int64_t ", "nbytes"))

#: what `<prefix>_run_checked` returns when it refuses a call (before running anything)
CHECK_ERRORS = (("EARGS", -1, "state, buffers or nbytes is NULL, or n is not num_inputs + num_outputs"),
                ("ENULL", -2, "a buffer is NULL"),
                ("ESIZE", -3, "a buffer's byte count differs from its input_nbytes / output_nbytes"))


@dataclass(frozen=True)
class Exported:
    """What `export_program` wrote: the library, its header, and the prefix of every C symbol."""

    library: str
    header: str
    prefix: str


@dataclass(frozen=True)
class Tensor:
    """One input, output or parameter as the C API describes it."""

    name: str
    shape: tuple[int, ...]
    dtype: str

    @property
    def ctype(self) -> str:
        return C_TYPES[self.dtype]

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * np.dtype(self.dtype).itemsize


def export_program(program: KernelProgram, library: str, header: str, name: str | None = None) -> Exported:
    """Compile `program` into the shared library `library` and its C header `header` (both written atomically)."""
    name = name if name is not None else library_name(library)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise InputError(f"export_library: name {name!r} is not a C identifier",
                         fix="pass name= with letters, digits and underscores")
    prefix = f"graphc_{name}"
    _check_paths(library, header)
    for b in program.buffers:
        if b.role != "temp" and b.dtype not in C_TYPES:
            raise BackendError(f"export_library: {b.role} {b.name or b.id} has dtype {b.dtype}, which the C API "
                               f"does not have", fix=f"use one of {', '.join(C_TYPES)}")
    lowered = lower_program(program, blas=0)
    unsupported = dict(lowered.fallbacks)
    if lowered.loops or lowered.private_slots:  # a loop's body is a second executable the library would need
        unsupported.update({i: "a loop over a nested program, which libraries do not support yet"
                            for i, k in enumerate(program.kernels) if k.kind == "loop"})
    if unsupported:
        kernels = "; ".join(f"k{i} {program.kernels[i].name} ({program.kernels[i].kind}, {why})"
                            for i, why in sorted(unsupported.items()))
        raise BackendError(f"export_library: these kernels cannot go into a library (no native code, or "
                           f"they need Python at run time): {kernels}",
                           fix="export a graph without these ops; see docs/backends.md for what compiles natively")
    compiler = c_compiler()
    data, offsets = _data_blob(program)
    obj = _object_code(lowered.ir, prefix, data)
    api = Api(program, lowered, prefix, offsets)
    header_text = api.header(os.path.basename(header))
    with tempfile.TemporaryDirectory(prefix="graphc-export-") as work:
        paths = {n: os.path.join(work, n) for n in ("model.o", "wrapper.c", "model.h", "lib.so")}
        with open(paths["model.o"], "wb") as f:
            f.write(obj)
        with open(paths["model.h"], "w") as f:
            f.write(header_text)
        with open(paths["wrapper.c"], "w") as f:
            f.write(api.wrapper("model.h"))
        cmd = [*compiler, "-std=c11", "-O2", "-fPIC", "-shared", "-o", paths["lib.so"], paths["wrapper.c"],
               paths["model.o"], "-lm"]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise BackendError(f"export_library: {' '.join(cmd[:1])} failed to link the library: "
                               f"{(done.stderr or done.stdout).strip()[-600:]}")
        with open(paths["lib.so"], "rb") as f:
            binary = f.read()
    _write(header, header_text.encode(), 0o644)
    _write(library, binary, 0o755)
    return Exported(os.path.abspath(library), os.path.abspath(header), prefix)


def library_name(path: str) -> str:
    """The C name a library file suggests: libmodel.so -> model (other characters become '_')."""
    stem = os.path.basename(path).split(".")[0]
    stem = stem[3:] if stem.startswith("lib") and len(stem) > 3 else stem
    stem = re.sub(r"[^A-Za-z0-9_]", "_", stem)
    return stem if stem and not stem[0].isdigit() else f"m_{stem}"


def c_compiler() -> list[str]:
    """The command of the system C compiler: $CC, else cc, gcc or clang."""
    if os.environ.get("CC"):
        return os.environ["CC"].split()
    for candidate in ("cc", "gcc", "clang"):
        found = shutil.which(candidate)
        if found:
            return [found]
    raise BackendError("export_library needs a C compiler to link the shared library, and none was found "
                       "($CC is unset; no cc, gcc or clang on PATH)",
                       fix="install one (e.g. apt install gcc) or set CC to its path")


def _check_paths(library: str, header: str) -> None:
    """Refuse, before any work, paths that would overwrite each other, a folder, or that cannot be written."""
    if os.path.realpath(library) == os.path.realpath(header) or (
            os.path.exists(library) and os.path.exists(header) and os.path.samefile(library, header)):
        raise InputError(f"export_library: the library and the header are the same file ({os.path.abspath(library)}"
                         f"): the header would overwrite the library",
                         fix="give the library a .so (.dylib, .dll) name, or pass header= another path")
    for role, path in (("library", library), ("header", header)):
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise InputError(f"export_library: the {role}'s folder {folder} does not exist", fix="create it first")
        if os.path.isdir(path):
            raise InputError(f"export_library: the {role} path {os.path.abspath(path)} is a folder",
                             fix="give a file name inside it")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise InputError(f"export_library: cannot write the {role} into {folder} (permission denied)",
                             fix="choose a folder you can write")


def _write(path: str, data: bytes, mode: int) -> None:
    """Write atomically (a temporary file renamed over `path`); an OS failure becomes a graphc error."""
    try:
        write_atomic(os.path.abspath(path), data, mode)
    except OSError as e:
        raise InputError(f"export_library: cannot write {os.path.abspath(path)}: {e.strerror or e}",
                         fix="choose a path in a folder you can write, on a disk with free space") from e



def _data_blob(program: KernelProgram) -> tuple[bytes, dict[int, int]]:
    """The initial parameter values and the constants, each 64-byte aligned: (bytes, buffer id -> offset)."""
    parts, offsets, at = [], {}, 0
    for b in program.buffers:
        if b.role not in ("param", "const"):
            continue
        value = b.data.array if b.role == "param" else b.data
        raw = np.ascontiguousarray(value, dtype=b.dtype).tobytes()
        offsets[b.id] = at
        parts.append(raw + bytes(aligned(len(raw)) - len(raw)))
        at += aligned(len(raw))
    return b"".join(parts) or bytes(ALIGN), offsets


def _object_code(ir_text: str, prefix: str, data: bytes) -> bytes:
    """Host object code (PIC) of the program, its `run` renamed and hidden, with the data blob linked in."""
    target_machine()  # initializes LLVM's native target
    tm = host_target_machine(reloc="pic", codemodel="default", jit=False)
    module = optimized_module(ir_text, tm)
    run = module.get_function("run")
    run.name = f"{prefix}_kernels"
    run.visibility = "hidden"
    blob = llvm.parse_assembly(f'@{prefix}_data = hidden constant [{len(data)} x i8] c"\\{data.hex(chr(92))}", '
                               f"align {ALIGN}\n")
    blob.triple, blob.data_layout = module.triple, module.data_layout
    module.link_in(blob)
    return tm.emit_object(module)


class Api:
    """The C source of the header and of the wrapper that implements it."""

    def __init__(self, program: KernelProgram, lowered: Lowered, prefix: str, offsets: dict[int, int]):
        self.program, self.lowered, self.prefix, self.offsets = program, lowered, prefix, offsets
        bufs = program.buffers
        self.outputs = [Tensor(f"out{j}", v.shape, bufs[v.buffer].dtype) for j, v in enumerate(program.outputs)]
        names = _c_names([bufs[b].name for b in program.inputs], {t.name for t in self.outputs})
        self.inputs = [Tensor(n, bufs[b].shape, bufs[b].dtype) for n, b in zip(names, program.inputs)]
        self.params = [b for b in bufs if b.role == "param"]

    def header(self, filename: str) -> str:
        p, guard = self.prefix, f"{self.prefix.upper()}_H"
        ins = "".join(f"\n *   {t.name}: {t.dtype}{list(t.shape)}" for t in self.inputs)
        outs = "".join(f"\n *   {t.name}: {t.dtype}{list(t.shape)}" for t in self.outputs)
        params = "".join(f"\n *   {j}: {_comment(b.name or f'param{j}')}: {b.dtype}{list(b.shape)}"
                         for j, b in enumerate(self.params))
        errors = "".join(f"\n#define {p.upper()}_{code} ({value}) /* {why} */" for code, value, why in CHECK_ERRORS)
        return f"""/* {_comment(filename)}: the C API of a graphc training step, written by gc.export_library.
 *
 * Usage: s = {p}_create(); then {p}_run(s, inputs..., outputs...) once per step;
 * {p}_destroy(s). A state holds the working memory and its own copy of the
 * parameters, initialized to their values at export time; every run computes the
 * outputs from the current parameters, then applies the updates to them in place
 * (as the compiled Python function does). States are independent; one state must
 * not run in two threads at once. Arrays are dense, row-major (C order); an
 * output array must not overlap an input.
 *
 * Inputs (in the order run takes them):{ins or " none"}
 * Outputs (written by run):{outs or " none"}
 * Parameters (read and write them through {p}_param):{params or " none"}
 */
#ifndef {guard}
#define {guard}

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {{
#endif

typedef struct {p}_state {p}_state;

/* A state with the parameters' initial values; NULL when out of memory. */
{p}_state *{p}_create(void);
/* Frees a state (NULL is allowed). */
void {p}_destroy({p}_state *state);
/* Resets the parameters to their values at export time. */
void {p}_reset({p}_state *state);
/* One step. Returns 0, or k + 1 when kernel k found an index out of range (a gather
   or scatter; parameters written before that kernel keep their new values). Checks
   nothing else: every pointer must be valid and hold the compiled shape. */
int {p}_run({self._run_params()});
/* The same step, checked first: buffers[0 .. num_inputs) are the inputs and the
   outputs follow, in run's order; nbytes[i] is the size in bytes of buffers[i],
   which must equal {p}_input_nbytes / {p}_output_nbytes. Returns what run
   returns, or one of these (negative) codes without running anything: */{errors}
int {p}_run_checked({p}_state *state, const void *const *buffers, const size_t *nbytes, size_t n);

/* Descriptions: count, name, number of dims, shape (NULL for a bad index), dtype
   (one of graphc's: "float32", "int8", "uint16", "bfloat16", "bool", ...; a float16 or bfloat16
   element is its 16 bits as a uint16_t), number of elements and of bytes. */
{self._query_declarations()}
/* The current value of parameter i in this state (writable; NULL for a bad index). */
void *{p}_param(const {p}_state *state, int i);

#ifdef __cplusplus
}}
#endif

#endif
"""

    def _query_declarations(self) -> str:
        lines = [f"int {self.prefix}_num_{kind}s(void);" for kind in KINDS]
        lines += [f"{ret}{self.prefix}_{kind}_{query}(int i);" for ret, query in QUERIES for kind in KINDS]
        return "\n".join(lines)

    def _run_params(self) -> str:
        args = [f"{self.prefix}_state *state"]
        args += [f"const {t.ctype} *{t.name}" for t in self.inputs]
        args += [f"{t.ctype} *{t.name}" for t in self.outputs]
        return ", ".join(args)

    def wrapper(self, header: str) -> str:
        p, low, plan = self.prefix, self.lowered, self.program.plan
        scratch_at, staging_at, end = low.areas(plan.arena_bytes)
        memory = aligned(end) or ALIGN
        temps = "".join(f"    s->slots[{b}] = s->memory + {off};\n" for b, off in sorted(plan.offsets.items()))
        consts = "".join(f"    s->slots[{b.id}] = (void *)({p}_data + {self.offsets[b.id]});\n"
                         for b in self.program.buffers if b.role == "const")
        params = "".join(f"    s->slots[{b.id}] = s->params[{j}] = "
                         f"aligned_alloc({ALIGN}, {aligned(b.nbytes) or ALIGN});\n"
                         f"    if (!s->params[{j}]) {{ {p}_destroy(s); return NULL; }}\n"
                         for j, b in enumerate(self.params))
        resets = "".join(f"    memcpy(s->params[{j}], {p}_data + {self.offsets[b.id]}, {b.nbytes});\n"
                         for j, b in enumerate(self.params))
        ins = "".join(f"    state->slots[{b}] = (void *){t.name};\n" for b, t in zip(self.program.inputs, self.inputs))
        outs = "".join(f"    state->slots[{low.n_buffers + j}] = {t.name};\n" for j, t in enumerate(self.outputs))
        n_params = max(len(self.params), 1)
        return f"""/* Generated by gc.export_library: the state and the queries around the compiled kernels. */
#include <stdlib.h>
#include <string.h>

#include "{header}"

int {p}_kernels(void **slots, int (*callback)(int));
extern const unsigned char {p}_data[];

struct {p}_state {{
    void *slots[{low.n_slots}];
    unsigned char *memory;
    void *params[{n_params}];
}};

/* Every kernel of an exported program is native: the callback is never called. */
static int no_callback(int kernel) {{ (void)kernel; return 1; }}

{p}_state *{p}_create(void) {{
    {p}_state *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->memory = aligned_alloc({ALIGN}, {memory});
    if (!s->memory) {{ {p}_destroy(s); return NULL; }}
    memset(s->memory, 0, {memory});
{temps}    s->slots[{low.scratch_slot}] = s->memory + {scratch_at};
    s->slots[{low.staging_slot}] = s->memory + {staging_at};
{consts}{params}    {p}_reset(s);
    return s;
}}

void {p}_destroy({p}_state *s) {{
    if (!s) return;
    for (int j = 0; j < {len(self.params)}; j++) free(s->params[j]);
    free(s->memory);
    free(s);
}}

void {p}_reset({p}_state *s) {{
    (void)s;
{resets}}}

int {p}_run({self._run_params()}) {{
{ins}{outs}    return {p}_kernels(state->slots, no_callback);
}}

{self._run_checked()}

void *{p}_param(const {p}_state *state, int i) {{
    return i >= 0 && i < {len(self.params)} ? state->params[i] : NULL;
}}

{self._queries()}"""

    def _run_checked(self) -> str:
        """`run` behind checks of the pointers, the number of buffers and each one's byte count."""
        p, tensors = self.prefix, self.inputs + self.outputs
        codes = {code: f"{p.upper()}_{code}" for code, _, _ in CHECK_ERRORS}
        nbytes = ", ".join(str(t.nbytes) for t in tensors) or "0"
        args = [f"(const {t.ctype} *)buffers[{i}]" for i, t in enumerate(self.inputs)]
        args += [f"({t.ctype} *)buffers[{len(self.inputs) + j}]" for j, t in enumerate(self.outputs)]
        return f"""static const size_t {p}_buffer_nbytes[] = {{{nbytes}}};

int {p}_run_checked({p}_state *state, const void *const *buffers, const size_t *nbytes, size_t n) {{
    if (!state || !buffers || !nbytes || n != {len(tensors)}) return {codes["EARGS"]};
    for (size_t i = 0; i < n; i++) {{
        if (!buffers[i]) return {codes["ENULL"]};
        if (nbytes[i] != {p}_buffer_nbytes[i]) return {codes["ESIZE"]};
    }}
    return {p}_run({", ".join(["state", *args])});
}}"""

    def _queries(self) -> str:
        params = [Tensor(b.name or f"param{j}", b.shape, b.dtype) for j, b in enumerate(self.params)]
        groups = dict(zip(KINDS, (self.inputs, self.outputs, params)))
        out = []
        for kind, ts in groups.items():
            n, p = len(ts), f"{self.prefix}_{kind}"
            for j, t in enumerate(ts):
                out.append(f"static const int64_t {p}_shape{j}[] = {{{', '.join(map(str, t.shape)) or '0'}}};")
            table = ", ".join(f"{p}_shape{j}" for j in range(n)) or "NULL"
            names = ", ".join(_c_string(t.name) for t in ts) or "NULL"
            dtypes = ", ".join(_c_string(t.dtype) for t in ts) or "NULL"
            ndims = ", ".join(str(len(t.shape)) for t in ts) or "0"
            sizes = ", ".join(str(int(np.prod(t.shape, dtype=np.int64))) for t in ts) or "0"
            nbytes = ", ".join(str(t.nbytes) for t in ts) or "0"
            out.append(f"""static const int64_t *const {p}_shapes[] = {{{table}}};
static const char *const {p}_names[] = {{{names}}};
static const char *const {p}_dtypes[] = {{{dtypes}}};
static const int {p}_ndims[] = {{{ndims}}};
static const int64_t {p}_sizes[] = {{{sizes}}};
static const int64_t {p}_nbytess[] = {{{nbytes}}};
int {self.prefix}_num_{kind}s(void) {{ return {n}; }}
const char *{p}_name(int i) {{ return i >= 0 && i < {n} ? {p}_names[i] : NULL; }}
int {p}_ndim(int i) {{ return i >= 0 && i < {n} ? {p}_ndims[i] : -1; }}
const int64_t *{p}_shape(int i) {{ return i >= 0 && i < {n} ? {p}_shapes[i] : NULL; }}
const char *{p}_dtype(int i) {{ return i >= 0 && i < {n} ? {p}_dtypes[i] : NULL; }}
int64_t {p}_size(int i) {{ return i >= 0 && i < {n} ? {p}_sizes[i] : -1; }}
int64_t {p}_nbytes(int i) {{ return i >= 0 && i < {n} ? {p}_nbytess[i] : -1; }}
""")
        return "\n".join(out)


def _c_names(names: list[str], taken: set[str]) -> list[str]:
    """C parameter names for the inputs: their names made identifiers, else in0, in1, ...; distinct, and never
    a C keyword, `state` or a name in `taken`."""
    out: list[str] = []
    for i, n in enumerate(names):
        c = re.sub(r"[^A-Za-z0-9_]", "_", n or "")
        if not c or c[0].isdigit() or c in _RESERVED or re.match(r"_[A-Z_]|graphc_", c) or c in taken or c in out:
            c = f"in{i}"
        out.append(c)
    return out


#: C and C++ keywords, the header's type and macro names, and the names the wrapper's `run` uses
_RESERVED = {"state", "no_callback", "NULL", "size_t", "int32_t", "int64_t", "uint8_t", "auto", "break", "case",
             "char", "const", "continue", "default", "do", "double", "else", "enum", "extern", "float", "for", "goto",
             "if", "inline", "int", "long", "register", "restrict", "return", "short", "signed", "sizeof", "static",
             "struct", "switch", "typedef", "union", "unsigned", "void", "volatile", "while", "bool", "true", "false",
             "class", "delete", "new", "namespace", "operator", "private", "protected", "public", "template", "this",
             "throw", "try", "catch", "typename", "virtual", "friend", "mutable", "explicit", "using", "and", "or",
             "not", "xor", "asm", "nullptr", "constexpr", "decltype", "noexcept", "static_assert", "thread_local"}


#: characters that print as themselves in the header: nothing that can end a comment or a string
_PLAIN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 _-.,:[]()")


def _c_string(s: str) -> str:
    """`s` as a C string literal: its UTF-8 bytes, every byte but the plain characters as a 3-digit octal escape."""
    return '"' + "".join(chr(b) if chr(b) in _PLAIN else f"\\{b:03o}" for b in s.encode("utf-8", "replace")) + '"'


def _comment(s: str) -> str:
    """`s` for a C comment: plain characters as they are, the rest as \\xNN or \\u{NNNN} (so no `*/`)."""
    return "".join(c if c in _PLAIN else f"\\x{ord(c):02x}" if ord(c) < 256 else f"\\u{{{ord(c):04x}}}" for c in s)
