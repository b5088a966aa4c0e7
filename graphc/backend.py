"""What a backend is (`Backend`, `Executable` and the optional capabilities, as `typing.Protocol`s),
and the registry that finds one by name.

The core never imports a backend: `gc.function` asks the registry for a name, and the registry
imports the module registered for it (`importlib`, on first use) and takes the backend object from
it. The built-in backends live in `graphc.backends.<name>`; another one plugs in with `register`.
A backend class subclasses `Backend` to inherit the defaults of its optional members.
"""
from __future__ import annotations

import importlib
from abc import abstractmethod
from typing import Any, Callable, ClassVar, Protocol, Sequence, TypeVar, runtime_checkable

from .ir import Graph, Tensor
from .ir.errors import BackendError
from .schedule import KernelProgram


class Executable(Protocol):
    """A compiled step: called with the validated input arrays, it returns the output arrays and
    applies the parameter updates itself, after computing every output and new value."""

    def __call__(self, args: Sequence[Any]) -> list[Any]: ...


class StepCache(Protocol):
    """Compiled steps kept across processes, keyed by the specialized graph before the passes."""

    def load(self, graph: Graph, level: str | int, program: Callable[[], KernelProgram]) -> Executable | None:
        """The stored step (None on a miss); `program` makes the kernel program if the step needs it."""

    def store(self, graph: Graph, level: str | int, exe: Executable) -> None: ...


@runtime_checkable
class Backend(Protocol):
    """A code generator. `consumes` says what `compile` takes: "graph" (the optimized
    `graphc.ir.Graph`) or "program" (the scheduled `graphc.schedule.KernelProgram`)."""

    name: str
    consumes: str
    #: The exception types `compile` raises for a graph it cannot build (never for a user's error):
    #: `backend="auto"` then compiles that graph on the reference instead.
    unsupported: ClassVar[tuple[type[Exception], ...]] = ()
    #: Compiled steps kept across processes (None: every process compiles).
    step_cache: StepCache | None = None

    @abstractmethod
    def available(self) -> str | None:
        """None when this backend can run here, else why not (shown by `graphc info`)."""

    @abstractmethod
    def compile(self, source: Graph | KernelProgram) -> Executable:
        """The step for the graph or kernel program (see `consumes`)."""

    def device_input(self, value: Any, x: Tensor, label: str) -> Any | None:
        """`value` as this backend's device array for input `x` (checked against it), or None for values
        the function converts to NumPy as usual (the default: a backend without device memory)."""
        return None


@runtime_checkable
class NativeCode(Protocol):
    """An executable compiled to native code, which shows it and times its kernels (`fn.llvm_ir`,
    `fn.asm`, `fn.profile`)."""

    def llvm_ir(self, optimized: bool = False) -> str: ...

    def asm(self) -> str: ...

    def profile(self, args: Sequence[Any], calls: int) -> Any: ...


@runtime_checkable
class GeneratesPtx(Protocol):
    """A backend that prints a kernel program as PTX (`fn.ptx`), with no GPU needed."""

    def ptx(self, program: KernelProgram, arch: str) -> str: ...


@runtime_checkable
class ExportsLibraries(Protocol):
    """A backend that writes a kernel program as a native shared library with a C header
    (`gc.export_library`); returns the paths and the symbol prefix."""

    def export_library(self, program: KernelProgram, library: str, header: str, name: str | None) -> Any: ...


# -- the registry ---------------------------------------------------------------------------------

#: Preference order for `backend="auto"`: the fastest one that is available wins.
PREFERENCE = ("llvm", "numpy")
#: The backend that compiles every graph, where "auto" ends when the faster ones cannot be used.
REFERENCE = "numpy"
#: backend name -> (module path, attribute of the module holding the backend object)
KNOWN: dict[str, tuple[str, str]] = {
    "numpy": ("graphc.backends.numpy", "BACKEND"), "numpy-kernels": ("graphc.backends.numpy", "KERNELS"),
    "llvm": ("graphc.backends.llvm", "BACKEND"), "llvm-checked": ("graphc.backends.llvm", "CHECKED"),
    "cuda": ("graphc.backends.cuda", "BACKEND"), "cuda-host": ("graphc.backends.cuda", "HOST_OUTPUTS"),
    "cuda-emulate": ("graphc.backends.cuda", "EMULATED"),
}


def register(name: str, module: str, attribute: str = "BACKEND") -> None:
    """Make `backend=name` the object `attribute` of the module `module` (a module path), imported on
    first use: how a backend outside graphc plugs in."""
    KNOWN[name] = (module, attribute)


def _load(name: str) -> Backend:
    module, attribute = KNOWN[name]
    backend = getattr(importlib.import_module(module), attribute, None)
    if backend is None:
        raise ImportError(f"{module} defines no {attribute}")
    return backend


def _loaded(name: str) -> Backend:
    """The backend object `name`, whether or not it can run here; a BackendError if it cannot be imported."""
    if name not in KNOWN:
        raise BackendError(f"unknown backend {name!r}", fix=f"use one of {', '.join(KNOWN)} or 'auto'")
    try:
        return _load(name)
    except (ImportError, BackendError) as e:  # BackendError: the platform lacks what its module needs
        raise BackendError(f"backend {name!r} is not available: {getattr(e, 'what', e)}") from None


def get(name: str) -> Backend:
    """The backend called `name`, or a BackendError saying why it cannot be used."""
    if name == "auto":
        return best()
    backend = _loaded(name)
    why = backend.available()
    if why is not None:
        raise BackendError(f"backend {name!r} is not available: {why}")
    return backend


Capability = TypeVar("Capability")


def capability(name: str, kind: type[Capability]) -> Capability:
    """The backend `name` as `kind`, one of the capability protocols (`GeneratesPtx`, ...), whether or
    not it can run here: generating code for a target needs no device."""
    backend = _loaded(name)
    if not isinstance(backend, kind):
        raise BackendError(f"backend {name!r} has no {kind.__name__} capability")
    return backend


def status() -> dict[str, str | None]:
    """For each known backend: None if usable, else the reason it is not."""
    out: dict[str, str | None] = {}
    for name in KNOWN:
        try:
            out[name] = _load(name).available()
        except ImportError as e:
            out[name] = f"not built yet ({e})"
        except BackendError as e:
            out[name] = e.what
    return out


def choose(name: str) -> tuple[Backend, str | None]:
    """The backend `name` asks for, and for "auto" why its first preference is not the one (else None):
    "auto" takes the first of PREFERENCE that is available."""
    if name != "auto":
        return get(name), None
    reasons = []
    for preferred in PREFERENCE:
        try:
            return get(preferred), "; ".join(reasons) or None
        except BackendError as e:
            reasons.append(e.what)
    raise BackendError(f"no backend is available: {'; '.join(reasons)}")


def best() -> Backend:
    """The backend `backend="auto"` runs: the first of PREFERENCE that is available."""
    return choose("auto")[0]
