"""`gc.function`: compile a graph into one callable step.

The call path is: validate the arguments (count, dtype, shape) -> pick the
variant compiled for these concrete shapes (on first use: specialize free dims,
run the optimization passes, schedule a kernel program if the backend takes
one, compile; or load the step from the backend's step cache, which skips the
passes until something asks for their results) -> run it, which computes the
outputs and then applies the updates.
"""
from __future__ import annotations

import threading
import warnings
from collections import OrderedDict
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from . import backend as registry
from . import finite
from .backend import Executable, GeneratesPtx, NativeCode
from .ir import Graph, Parameter, Placeholder, Tensor, placeholder, placeholders_of, remake
from .ir.dtypes import canonical, is_float
from .ir.errors import ArgumentError, BackendFallbackWarning, DTypeError, InputError, ShapeError
from .ir.modes import Modes
from .ir.source import user_stacklevel
from .ir.stategroup import hold, join
from .ops import cast
from .ops.elementwise import Elementwise
from .ops.operands import as_tensors
from .passes import LEVELS, PassReport, optimize
from .passes.manager import level_number, pipeline_key
from .schedule import KernelProgram, lower

Updates = Sequence[tuple[Tensor, Any]] | Mapping[Tensor, Any] | None

#: How many input-shape variants a function keeps compiled by default (the least recently used goes).
MAX_VARIANTS = 32
#: The fallback reasons already warned about in this process: each is said once, kept on every function.
_WARNED: set[str] = set()


class Variant:
    """What was compiled for one signature of input shapes.

    A step the LLVM backend loaded from its step cache has not run the passes: the optimized graph,
    the report and the kernel program are made (by the same deterministic passes) when first asked for."""

    def __init__(self, graph: Graph, executable: Executable,
                 passes: tuple[Graph, PassReport, KernelProgram | None] | Callable[[], tuple]):
        self.graph = graph  # specialized, before the passes
        self.executable = executable
        self._passes = passes

    def _results(self) -> tuple[Graph, PassReport, KernelProgram | None]:
        if callable(self._passes):
            self._passes = self._passes()
        return self._passes

    @property
    def optimized(self) -> Graph:
        return self._results()[0]

    @property
    def report(self) -> PassReport:
        return self._results()[1]

    @property
    def program(self) -> KernelProgram | None:
        return self._results()[2]


class Function:
    """A compiled graph. Call it with one array per input (positionally or by name).

    `backend` names the build that runs (never "auto"); `backend_reason` says why backend="auto" runs the
    NumPy reference instead of llvm (None when it does not). Safe to call from several threads: the
    first call of each shape compiles once, and a call holds the one lock of the parameters its step
    reads or updates (stategroup.py), so calls with updates
    are serialized and no function sharing a parameter sees it half updated."""

    def __init__(self, inputs: Sequence[Tensor], outputs: Any, updates: Updates = None,
                 backend: str = "auto", allow_input_downcast: bool = False, optimize: str = "O2",
                 snapshots: bool = False, check_finite: bool | None = None,
                 fast_math: bool = False, max_variants: int = MAX_VARIANTS):
        self.inputs = _check_inputs(inputs)
        self._single = isinstance(outputs, Tensor)
        self._kind = tuple if isinstance(outputs, tuple) else list
        outs = [outputs] if self._single else list(outputs if outputs is not None else [])
        for o in outs:
            if not isinstance(o, Tensor):
                raise InputError(f"function: outputs must be tensors, got {type(o).__name__}")
        self.outputs = tuple(outs)
        self.updates = _check_updates(updates)
        self.graph = Graph(self.inputs, self.outputs, self.updates)
        _check_closed(self.graph)
        self._modes = Modes.of(self.graph)  # the train/eval mode of each mode-dependent layer, checked per call
        if self.updates:
            self._modes.warn_stale_state([p for p, _ in self.updates], stacklevel=3)
        self._backend, reason = registry.choose(backend)
        self.backend: str = self._backend.name  # the build that runs, never "auto"
        self.backend_reason: str | None = None  # why "auto" runs a slower build than llvm (None when it does not)
        self._auto = backend == "auto"
        self.allow_input_downcast = allow_input_downcast
        self.optimize = _check_level(optimize)
        self.snapshots = snapshots
        self.fast_math = fast_math
        self.check_finite = finite.enabled(check_finite)
        self.max_variants = _check_max_variants(max_variants)
        self._variants: OrderedDict[tuple, Variant] = OrderedDict()  # least recently used first
        self._last: Variant | None = None
        self._compiling = threading.Lock()
        self._churned = False  # warned that shapes change more often than variants are kept
        self._state = join(p.op.state for p in self.graph.parameters)  # the one to hold in a call
        self._names = {t.name: i for i, t in enumerate(self.inputs) if t.name}
        self._dtypes = tuple(np.dtype(t.dtype) for t in self.inputs)
        if reason is not None:
            self._fall_back(reason)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._modes.layers:
            self._modes.check()
        variant = None if kwargs else self._fast_variant(args)
        if variant is None:
            arrays = self._arguments(args, kwargs)
            variant = self._variant_for(tuple(a.shape for a in arrays))
        else:
            arrays = args
        self._last = variant
        outs = self._held(finite.checked_call, variant, arrays, self.backend) if self.check_finite else \
            self._held(variant.executable, arrays)
        if self._single:
            return outs[0]
        return self._kind(outs)

    def _held(self, run: Callable, *args: Any) -> Any:
        """`run(*args)` holding the lock of the parameters this function reads or updates (if any)."""
        if self._state is None:
            return run(*args)
        lock = hold(self._state)
        try:
            return run(*args)
        finally:
            lock.release()

    def _fast_variant(self, args: tuple) -> Variant | None:
        """The compiled variant when every argument already is a C-contiguous array of its input's
        dtype with a compiled shape (nothing to convert or check: the common training-loop call)."""
        if len(args) != len(self._dtypes):
            return None
        for a, dtype in zip(args, self._dtypes):
            if type(a) is not np.ndarray or a.dtype is not dtype or not a.flags.c_contiguous:
                return None
        return self._lookup(tuple(a.shape for a in args))

    def _lookup(self, signature: tuple) -> Variant | None:
        """The variant compiled for `signature`, marked most recently used (None if it is not kept)."""
        variant = self._variants.get(signature)
        if variant is not None and variant is not self._last:
            try:
                self._variants.move_to_end(signature)
            except KeyError:  # another thread dropped it meanwhile: it still runs this call
                pass
        return variant

    def specialize(self, shapes: Sequence[tuple]) -> Graph:
        """The graph with every free dim fixed to the given input shapes."""
        mapping = {}
        for x, shape in zip(self.inputs, shapes):
            if shape != x.shape:
                mapping[x] = placeholder(shape, x.dtype, name=x.name)
        if not mapping:
            return self.graph
        try:
            return self.graph.replace(mapping, _sized)
        except ShapeError as e:
            where = f" (at {e.loc.describe()})" if e.loc is not None else ""
            raise InputError(f"the input shapes {', '.join(map(str, shapes))} do not fit together "
                             f"in this graph: {e.what}{where}",
                             fix="free (None) dims that meet in an op must agree") from None

    def _variant_for(self, signature: tuple) -> Variant:
        """The variant compiled for these input shapes, compiling it on first use (once, whatever the
        threads calling), and dropping the least recently used beyond `max_variants`."""
        variant = self._lookup(signature)
        if variant is not None:
            return variant
        with self._compiling:
            variant = self._variants.get(signature) or self._compile(signature)
            while len(self._variants) > self.max_variants:
                self._variants.popitem(last=False)
                self._warn_churn()
        return variant

    def _warn_churn(self) -> None:
        if not self._churned:
            self._churned = True
            warnings.warn(f"function: more than max_variants={self.max_variants} input shapes were compiled, so "
                          f"the least recently used is dropped and compiled again when it comes back; inputs whose "
                          f"free (None) dims change on most calls compile on most calls. Pad or bucket the "
                          f"inputs to a few sizes, or raise gc.function(..., max_variants=...)",
                          RuntimeWarning, stacklevel=4)

    def _compile(self, signature: tuple) -> Variant:
        try:
            return self._build(signature)
        except self._unsupported() as e:
            self._fall_back(f"the {self.backend} backend cannot compile this graph: {getattr(e, 'what', e)}")
            return self._build(signature)

    def _unsupported(self) -> tuple[type[Exception], ...]:
        """What makes backend="auto" fall back while compiling: the backend's own "cannot build this graph"
        (a user's error, a bad shape or dtype, is raised as it is)."""
        return tuple(self._backend.unsupported) if self._auto else ()

    def _fall_back(self, reason: str) -> None:
        """Run on the reference from now on (backend="auto" only), and say why: once per reason in a process."""
        if self._backend.name != registry.REFERENCE:
            self._backend = registry.get(registry.REFERENCE)
            self._variants.clear()
            self._last = None
        self.backend, self.backend_reason = self._backend.name, " ".join(reason.split())
        if self.backend_reason not in _WARNED:
            _WARNED.add(self.backend_reason)
            warnings.warn(f"backend=\"auto\" compiles with {self.backend}, the slower reference, because "
                          f"{self.backend_reason}; backend=\"{self.backend}\" chooses it without this warning",
                          BackendFallbackWarning, stacklevel=user_stacklevel())

    def _build(self, signature: tuple) -> Variant:
        graph = self.specialize(signature)
        done: list[tuple] = []

        def passes() -> tuple[Graph, PassReport, KernelProgram | None]:
            if not done:
                optimized, report = optimize(graph, self.optimize, self.snapshots, fast_math=self.fast_math)
                done.append((optimized, report, lower(optimized) if self._backend.consumes == "program" else None))
            return done[0]
        steps = self._backend.step_cache if not self.snapshots else None
        level = pipeline_key(self.optimize, self.fast_math)
        exe = steps.load(graph, level, lambda: passes()[2]) if steps is not None else None
        if exe is None:
            optimized, _, program = passes()
            exe = self._backend.compile(program if program is not None else optimized)
            if steps is not None:
                steps.store(graph, level, exe)
        variant = self._variants[signature] = Variant(graph, exe, passes if not done else done[0])
        return variant

    def variant(self, *shapes: tuple) -> Variant:
        """The compiled variant for these input shapes (default: the last one called, or compile
        the declared shapes when they have no free dims)."""
        if shapes:
            return self._variant_for(tuple(tuple(s) for s in shapes))
        if self._last is not None:
            return self._last
        if any(None in x.shape for x in self.inputs):
            raise InputError("this function has free (None) dims: call it once, or pass the input shapes",
                             fix="fn.variant((32, 2), (32, 1))")
        return self.variant(*(x.shape for x in self.inputs))

    def passes_report(self, *shapes: tuple) -> PassReport:
        """Per pass: nodes before/after, rewrites by rule, time (snapshots if compiled with snapshots=True)."""
        return self.variant(*shapes).report

    def optimized_graph(self, *shapes: tuple) -> Graph:
        """The graph of a variant after the pass pipeline (what the backend compiled)."""
        return self.variant(*shapes).optimized

    def kernel_program(self, *shapes: tuple) -> KernelProgram:
        """The scheduled kernel program (built on demand for backends that take graphs)."""
        v = self.variant(*shapes)
        return v.program if v.program is not None else lower(v.optimized)

    def llvm_ir(self, *shapes: tuple, optimized: bool = False) -> str:
        """The LLVM IR of a variant (backend="llvm"): as generated, or after optimization."""
        return self._native(self.variant(*shapes), "llvm_ir").llvm_ir(optimized)

    def profile(self, *args: Any, calls: int = 20) -> Any:
        """Time each kernel of the step over `calls` calls with these arguments (backend="llvm"):
        a profiling build of the same program, so the calls update the parameters like steps do."""
        self._modes.check()
        arrays = self._arguments(args, {})
        variant = self._variant_for(tuple(a.shape for a in arrays))
        return self._held(self._native(variant, "profile").profile, arrays, calls)

    def asm(self, *shapes: tuple) -> str:
        """The host assembly of a variant (backend="llvm")."""
        return self._native(self.variant(*shapes), "asm").asm()

    def _native(self, variant: Variant, what: str) -> NativeCode:
        """The variant's executable as native code, or an InputError naming the backend that has none."""
        if not isinstance(variant.executable, NativeCode):
            raise InputError(f"{what}: the {self.backend} backend compiles no native code (no IR, assembly or "
                             f"kernel timers)",
                             fix="compile with backend=\"llvm\"")
        return variant.executable

    def ptx(self, *shapes: tuple, arch: str = "sm_90") -> str:
        """The PTX the cuda backend generates for a variant's kernel program (no GPU needed)."""
        return registry.capability("cuda", GeneratesPtx).ptx(self.kernel_program(*shapes), arch)

    @property
    def variants(self) -> list[tuple]:
        """The input-shape signatures kept compiled, least recently used first (at most `max_variants`)."""
        return list(self._variants)

    def _arguments(self, args: tuple, kwargs: dict) -> list[np.ndarray]:
        values: list[Any] = list(args) + [None] * (len(self.inputs) - len(args))
        if len(args) > len(self.inputs):
            raise InputError(f"function takes {len(self.inputs)} input(s), got {len(args)}",
                             fix=f"pass one value for each of {_names(self.inputs)}")
        for key, v in kwargs.items():
            if key not in self._names:
                raise InputError(f"function has no input named {key!r}; its inputs are {_names(self.inputs)}")
            if values[self._names[key]] is not None:
                raise InputError(f"input {key!r} was given twice")
            values[self._names[key]] = v
        missing = [self.inputs[i] for i, v in enumerate(values) if v is None]
        if missing:
            raise InputError(f"missing value(s) for {_names(missing)}",
                             fix=f"pass one value for each of {_names(self.inputs)}")
        return [self._convert(i, v) for i, v in enumerate(values)]

    def _convert(self, i: int, v: Any) -> np.ndarray:
        x = self.inputs[i]
        label = f"input {x.name or i!r}"
        if isinstance(v, Tensor):
            raise InputError(f"{label}: got a symbolic tensor; a compiled function takes arrays",
                             fix="pass NumPy arrays (or build the expression into the graph)")
        on_device = self._backend.device_input(v, x, label)  # a GPU backend takes GPU arrays in place
        if on_device is not None:
            return on_device
        if isinstance(v, np.ndarray) or hasattr(v, "__array__") and not isinstance(v, (list, tuple)):
            a = np.asarray(v)
            if a.dtype != self._dtypes[i]:  # another dtype, or another byte order: native code reads native
                ok = np.can_cast(a.dtype, x.dtype, casting="safe") or (
                    self.allow_input_downcast and np.can_cast(a.dtype, x.dtype, casting="same_kind"))
                if not ok:
                    canonical(a.dtype, f"function {label}")  # an unsupported dtype: the DTypeError of every entry point
                    raise InputError(f"{label} expects {x.type_str()}, got an array of {a.dtype}",
                                     fix=f"convert it with .astype(np.{x.dtype}), or compile with "
                                         f"allow_input_downcast=True", loc=None)
                a = a.astype(x.dtype)
        else:
            try:
                a = np.asarray(v)
                if a.dtype.kind not in "biuf" or (a.dtype.kind == "f" and not is_float(x.dtype)):
                    raise TypeError
                a = a.astype(x.dtype)
            except (TypeError, ValueError):
                raise InputError(f"{label} expects {x.type_str()}, got {type(v).__name__} {v!r:.60}",
                                 loc=None) from None
        if a.ndim != len(x.shape) or any(s is not None and s != d for d, s in zip(a.shape, x.shape)):
            raise InputError(f"{label} expects shape {x.type_str()}, got an array of shape {a.shape}",
                             fix="'?' dims may take any size; the others must match", loc=None)
        return np.require(a, requirements="C")


def function(inputs: Sequence[Tensor], outputs: Any, updates: Updates = None, backend: str = "auto",
             allow_input_downcast: bool = False, optimize: str = "O2", snapshots: bool = False,
             check_finite: bool | None = None, fast_math: bool = False,
             max_variants: int = MAX_VARIANTS) -> Function:
    """Compile `outputs` (a tensor or a list/tuple) as a function of the placeholders `inputs`.

    `updates` lists `(parameter, new_value)` pairs: every new value is computed from
    the old parameter values, and all are stored after the outputs are computed.
    `optimize` is the pass level ("O0", "O1", "O2"); `snapshots=True` keeps the
    graph after every pass in `fn.passes_report()` (for visualization).
    `check_finite=True` (or GRAPHC_CHECK_FINITE=1 when it is None) makes a call that
    computes a NaN or an infinity raise `gc.NonFiniteError` naming the first op that
    made it, with its source line, and leave the parameters as they were.
    `fast_math=True` lets the optimizer assume every value is finite (`0 * x` and `x - x`
    become 0 even where x is inf or NaN); by default every rewrite keeps IEEE semantics.
    `max_variants` bounds the input-shape variants kept compiled (least recently used dropped first).
    `backend="auto"` compiles native code with "llvm" where llvmlite can build it for this host and
    graph, else runs the NumPy reference and says why in one `gc.BackendFallbackWarning`; `fn.backend`
    names the build chosen and `fn.backend_reason` the reason for a fallback. `backend="numpy"` is the
    reference, "llvm-checked" the bounds-checked build, "cuda" the GPU (docs/backends.md).
    """
    return Function(inputs, outputs, updates, backend, allow_input_downcast, optimize, snapshots, check_finite,
                    fast_math, max_variants=max_variants)


def _sized(node: Tensor, inputs: tuple[Tensor, ...]) -> Tensor:
    """`node` rebuilt for the call's sizes, refusing a free dim that broadcasts there: gradients are
    built when a graph is declared, treating free dims that meet in an op as equal sizes (so the
    gradient of x[:1] - x is not summed back to one row), so a size 1 against n there would make a
    gradient of the wrong shape."""
    new = remake(node, inputs)
    if isinstance(node.op, Elementwise) and new is not node:
        for old_in, new_in in zip(node.inputs, inputs):
            lead = new.ndim - new_in.ndim
            for axis, (was, now) in enumerate(zip(old_in.shape, new_in.shape)):
                if was is None and now == 1 and new.shape[lead + axis] != 1:
                    raise ShapeError(f"{node.op.name}: a free dim of {old_in.type_str()} has size 1 at this call and "
                                     f"broadcasts against {new.shape[lead + axis]}; free dims that meet in an op "
                                     "must be equal at every call", loc=node.loc)
    return new


def _names(ts: Sequence[Tensor]) -> str:
    return ", ".join(repr(t.name) if t.name else f"#{i}" for i, t in enumerate(ts))


def _check_inputs(inputs: Sequence[Tensor]) -> tuple[Tensor, ...]:
    if isinstance(inputs, Tensor):
        inputs = [inputs]
    seen, named = set(), {}
    for x in inputs:
        if not isinstance(x, Tensor) or not isinstance(x.op, Placeholder):
            raise InputError(f"function: inputs must be placeholders, got {x!r}",
                             fix="declare inputs with gc.placeholder; parameters are state, not inputs")
        if x in seen:
            raise InputError(f"function: input {x!r} is listed twice", fix="list each placeholder once")
        if x.name in named:
            raise InputError(f"function: two inputs are named {x.name!r} (declared at {named[x.name].loc} and "
                             f"{x.loc}), so a call by name could not tell them apart",
                             fix="give each placeholder its own name")
        seen.add(x)
        if x.name is not None:
            named[x.name] = x
    return tuple(inputs)


def _check_max_variants(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ArgumentError(f"function: max_variants must be a positive int, got {n!r}",
                            fix=f"the default keeps {MAX_VARIANTS} input shapes compiled")
    return int(n)


def _check_level(level: str | int) -> str | int:
    """The pass level, checked when the function is declared rather than when it first compiles."""
    try:
        level_number(level)
    except (ValueError, TypeError):
        raise ArgumentError(f"function: unknown optimization level optimize={level!r}",
                            fix=f"use one of {', '.join(map(repr, LEVELS))}") from None
    return level


def _check_updates(updates: Updates) -> tuple[tuple[Tensor, Tensor], ...]:
    if updates is None:
        return ()
    pairs = list(updates.items()) if isinstance(updates, Mapping) else list(updates)
    out, seen = [], set()
    for pair in pairs:
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise InputError(f"function: updates must be (parameter, new_value) pairs, got {pair!r:.80}")
        p, v = pair
        if not isinstance(p, Tensor) or not isinstance(p.op, Parameter):
            raise InputError(f"function: only parameters can be updated, got {p!r}",
                             fix="declare state with gc.parameter(initial_value)")
        if p in seen:
            raise InputError(f"function: parameter {p!r} is updated twice", loc=p.loc)
        seen.add(p)
        out.append((p, _as_update_value(p, v)))
    return tuple(out)


def _as_update_value(p: Tensor, v: Any) -> Tensor:
    (v,) = as_tensors(v) if isinstance(v, Tensor) else as_tensors(np.asarray(v, dtype=p.dtype))
    if v.shape != p.shape:
        raise ShapeError(f"function: the update of {p!r} has shape {v.type_str()}",
                         fix="an update must keep the parameter's shape", loc=v.loc)
    if v.dtype != p.dtype:
        if not (is_float(v.dtype) and is_float(p.dtype)) and not np.can_cast(v.dtype, p.dtype, "safe"):
            raise DTypeError(f"function: the update of {p!r} has dtype {v.dtype}",
                             fix=f"cast it with gc.cast(value, {p.dtype!r})", loc=v.loc)
        v = cast(v, p.dtype)
    return v


def _check_closed(graph: Graph) -> None:
    given = set(graph.inputs)
    for x in placeholders_of(graph.roots()):
        if x not in given:
            raise InputError(f"function: the outputs depend on placeholder {x!r}, which is not among the inputs",
                             fix="add it to the inputs list", loc=x.loc)
