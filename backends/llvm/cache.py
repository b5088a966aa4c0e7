"""The on-disk cache of compiled object code: a fresh process skips the O3 pipeline and code generation.

An entry is keyed by the sha256 of its key components: the generated IR text
(itself fixed by the optimized program), the optimization pipeline, the graphc,
llvmlite and LLVM versions and the host CPU's name and features, so anything
that could change the machine code misses. Two files per entry:

- `<key>.obj`: header (magic, format version, key, payload length), the object
  code, footer (sha256 of the object code, end magic), so a corrupt or truncated
  entry is detected (a warning) and rebuilt instead of loaded;
- `<key>.json`: the key components, which `explain` compares to say why a compile missed.

`<fingerprint>.low` entries (same format) hold lowered IR by program fingerprint
(see ircache.py), so a warm process also skips generating the IR, and `<key>.step`
entries whole compiled steps by the graph before the passes (see stepcache.py), so
it also skips the passes.

Files are written to a temporary name and renamed (`os.replace`), so a reader
never sees a partial entry. Location: `$GRAPHC_CACHE_DIR`, else
`$XDG_CACHE_HOME/graphc`, else `~/.cache/graphc`; `GRAPHC_CACHE=0` turns it off.
"""
from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable

import llvmlite
import llvmlite.binding as llvm

from graphc.ir.errors import BackendError

MAGIC, END, FORMAT = b"GRAPHCO\0", b"GRAPHCE\0", 1
HEADER = struct.Struct("<8sI64sQ")  # magic, format version, key (hex), payload length
FOOTER = struct.Struct("<32s8s")  # sha256 of the payload, end magic


def directory() -> str:
    """Where entries live: $GRAPHC_CACHE_DIR, else $XDG_CACHE_HOME/graphc, else ~/.cache/graphc."""
    if os.environ.get("GRAPHC_CACHE_DIR"):
        return os.environ["GRAPHC_CACHE_DIR"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "graphc")


def enabled() -> bool:
    return os.environ.get("GRAPHC_CACHE", "1") != "0"


def host() -> tuple[str, str]:
    """(CPU name, CPU features) the code is generated for (a function so tests can pretend another CPU)."""
    return llvm.get_host_cpu_name(), llvm.get_host_cpu_features().flatten()


@lru_cache(maxsize=1)
def _versions() -> dict[str, str]:
    import graphc  # its __version__: importlib.metadata scans site-packages (13 ms of a warm start)
    return {"graphc": graphc.__version__, "llvmlite": llvmlite.__version__,
            "llvm": ".".join(map(str, llvm.llvm_version_info))}


def components(ir_text: str, pipeline: str) -> dict[str, str]:
    """Everything the machine code depends on (the IR by its hash)."""
    cpu, features = host()
    return {"ir": hashlib.sha256(ir_text.encode()).hexdigest(), "pipeline": pipeline, **_versions(),
            "cpu": cpu, "cpu_features": features}


def source_hash(folders: Iterable[str]) -> str:
    """The sha256 of the Python source under `folders` (each file once, in path order): entries made by
    code that has since changed must miss."""
    files = sorted({os.path.realpath(os.path.join(folder, name))
                    for top in folders for folder, _, names in os.walk(top) for name in names if name.endswith(".py")})
    h = hashlib.sha256()
    for path in files:
        with open(path, "rb") as f:
            h.update(os.path.basename(path).encode() + b"\0" + f.read())
    return h.hexdigest()


def key(parts: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def path(k: str, suffix: str = ".obj") -> str:
    return os.path.join(directory(), k + suffix)


def load(k: str, suffix: str = ".obj") -> bytes | None:
    """The payload stored under key k; None if absent, or (with a warning, after deleting it) corrupt."""
    try:
        with open(path(k, suffix), "rb") as f:
            data = f.read()
    except OSError:
        return None
    why = _corruption(k, data)
    if why is None:
        return data[HEADER.size:len(data) - FOOTER.size]
    warnings.warn(f"graphc cache: entry {path(k, suffix)} is corrupt ({why}); recompiling it", RuntimeWarning,
                  stacklevel=2)
    _remove(k, suffix)
    return None


def _corruption(k: str, data: bytes) -> str | None:
    if len(data) < HEADER.size + FOOTER.size:
        return f"truncated: {len(data)} bytes"
    magic, version, stored_key, size = HEADER.unpack_from(data)
    if magic != MAGIC:
        return "bad magic"
    if version != FORMAT:
        return f"format {version}, expected {FORMAT}"
    if stored_key.decode("ascii", "replace") != k:
        return "it holds another key"
    if len(data) != HEADER.size + size + FOOTER.size:
        return f"truncated or padded: {len(data)} bytes for a {size}-byte payload"
    digest, end = FOOTER.unpack_from(data, HEADER.size + size)
    if end != END:
        return "bad end magic"
    if hashlib.sha256(data[HEADER.size:HEADER.size + size]).digest() != digest:
        return "checksum mismatch"
    return None


def store(k: str, parts: dict[str, str] | None, payload: bytes, suffix: str = ".obj") -> None:
    """Write the entry atomically (its key components first, if given: an object always has them)."""
    header = HEADER.pack(MAGIC, FORMAT, k.encode("ascii"), len(payload))
    footer = FOOTER.pack(hashlib.sha256(payload).digest(), END)
    try:
        os.makedirs(directory(), exist_ok=True)
        if parts is not None:
            write_atomic(path(k, ".json"), json.dumps(parts, indent=1, sort_keys=True).encode())
        write_atomic(path(k, suffix), header + payload + footer)
    except OSError as e:  # a read-only or full disk costs the next process a compile, nothing more
        warnings.warn(f"graphc cache: cannot write {path(k, suffix)} ({e}); the code is not cached", RuntimeWarning,
                      stacklevel=2)


def write_atomic(target: str, data: bytes, mode: int = 0o600) -> None:
    """Write to a temporary file in the same folder, then rename it over `target` (readers never see a part)."""
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(target) + ".", suffix=".tmp", dir=os.path.dirname(target))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        os.unlink(tmp)
        raise


def _remove(k: str, suffix: str) -> None:
    for name in {path(k, suffix), path(k, ".json")}:
        try:
            os.unlink(name)
        except OSError:
            pass


@dataclass
class Summary:
    directory: str
    entries: int
    bytes: int


def _files() -> list[str]:
    folder = directory()
    if not os.path.isdir(folder):
        return []
    return [os.path.join(folder, n) for n in os.listdir(folder)
            if n.endswith((".obj", ".low", ".step", ".json", ".tmp"))]


def info() -> Summary:
    """The cache folder, its number of entries (compiled programs) and the bytes its files take."""
    files = _files()
    return Summary(directory(), sum(f.endswith(".obj") for f in files), sum(_size(f) for f in files))


def clear() -> Summary:
    """Delete every entry (and leftover temporary files); returns what was freed."""
    freed = Summary(directory(), 0, 0)
    for f in _files():
        size = _size(f)
        try:
            os.unlink(f)
        except OSError:
            continue
        freed.entries += f.endswith(".obj")
        freed.bytes += size
    return freed


def _size(f: str) -> int:
    try:
        return os.path.getsize(f)
    except OSError:
        return 0


def nearest(parts: dict[str, str]) -> str:
    """Why `parts` has no entry: the components in which the nearest stored entry differs."""
    best: tuple[int, list[str]] | None = None
    for f in _files():
        if not f.endswith(".json"):
            continue
        try:
            with open(f) as fh:
                other = json.load(fh)
        except (OSError, ValueError):
            continue
        differ = sorted(c for c in parts if other.get(c) != parts[c])
        if best is None or len(differ) < best[0]:
            best = (len(differ), differ)
    if best is None:
        return f"the cache {directory()} is empty"
    if "ir" in best[1]:
        return "no entry for this program"
    if not best[1]:
        return "its entry was missing or corrupt"
    return f"the nearest entry differs in {', '.join(best[1])}"


def explain(fn: Any, *shapes: tuple) -> str:
    """Hit or miss for a compiled `gc.function` (backend="llvm"), and for a miss, why.

    `shapes` picks the variant as in `fn.variant(...)` (default: the last one called).
    """
    machine = getattr(fn.variant(*shapes).executable, "machine", None)
    if machine is None:
        raise BackendError("explain: this function was not compiled by the llvm backend",
                           fix='compile it with backend="llvm"')
    return machine.cache_status
