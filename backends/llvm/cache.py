"""The on-disk cache of compiled object code: a fresh process skips the O3 pipeline and code generation.

An entry is keyed by the sha256 of its key components: the generated IR text
(itself fixed by the optimized program), the optimization pipeline, the graphc,
llvmlite and LLVM versions and the host CPU's name and features, so anything
that could change the machine code misses. Two files per entry:

- `<key>.obj`: header (magic, format version, key, payload length), the object
  code, footer (sha256 of the object code, end magic), so a corrupt or truncated
  entry is detected (a warning) and rebuilt instead of loaded;
- `<key>.key`: the key components (JSON, same format), which `explain` compares to
  say why a compile missed.

`<fingerprint>.low` entries (same format) hold lowered IR by program fingerprint
(see ircache.py), so a warm process also skips generating the IR, and `<key>.step`
entries whole compiled steps by the graph before the passes (see stepcache.py), so
it also skips the passes.

Files are written to a temporary name and renamed (`os.replace`), so a reader
never sees a partial entry. Location: `$GRAPHC_CACHE_DIR`, else
`$XDG_CACHE_HOME/graphc`, else `~/.cache/graphc`; `GRAPHC_CACHE=0` turns it off.

A cache entry is code (docs/backends.md, "Trust model of the disk cache"): the
checksums catch accidents, not forgeries; what keeps others out is that graphc
uses only a folder that is yours and that no one else can write (made 0700), and
reads only regular files that are yours, no one else can write, and are under
`MAX_BYTES`. `clear` deletes only files with graphc's names and its magic.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import stat
import struct
import tempfile
import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, BinaryIO

import llvmlite
import llvmlite.binding as llvm

from graphc.ir.errors import BackendError

MAGIC, END, FORMAT = b"GRAPHCO\0", b"GRAPHCE\0", 1
HEADER = struct.Struct("<8sI64sQ")  # magic, format version, key (hex), payload length
FOOTER = struct.Struct("<32s8s")  # sha256 of the payload, end magic
#: the largest file graphc reads from the cache or writes to it (a bigger entry is not cached)
MAX_BYTES = 1 << 30
#: graphc's file names: <sha256>.<kind>, and the temporary files `write_atomic` renames into them
NAME = re.compile(r"(?P<key>[0-9a-f]{64})\.(?P<kind>obj|key|low|step)(\.[a-z0-9_]{8}\.tmp)?")


class Refused(Exception):
    """A cache file or folder graphc will not use: others could have written it, or it is not a regular file."""


def directory() -> str:
    """Where entries live: $GRAPHC_CACHE_DIR, else $XDG_CACHE_HOME/graphc, else ~/.cache/graphc."""
    if os.environ.get("GRAPHC_CACHE_DIR"):
        return os.environ["GRAPHC_CACHE_DIR"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "graphc")


_WARNED: set[str] = set()  # folders refused (and warned about) in this process


def disabled() -> str | None:
    """Why this process compiles without the disk cache (None: it uses it): GRAPHC_CACHE=0, or a folder
    someone else could write (warned about once)."""
    if os.environ.get("GRAPHC_CACHE", "1") == "0":
        return "GRAPHC_CACHE=0"
    folder = directory()
    try:
        st = os.stat(folder)
        why = _foreign(st) if stat.S_ISDIR(st.st_mode) else "it is not a folder"
    except FileNotFoundError:
        return None  # made, private, when the first entry is stored
    except OSError as e:
        why = f"it cannot be read ({e.strerror})"
    if why is not None and folder not in _WARNED:
        _WARNED.add(folder)
        warnings.warn(f"graphc cache: not using {folder}: {why}; compiling without the disk cache (its entries "
                      "are code; see 'Trust model of the disk cache' in docs/backends.md)", RuntimeWarning,
                      stacklevel=3)
    return f"{folder} refused: {why}" if why is not None else None


def enabled() -> bool:
    return disabled() is None


def _foreign(st: os.stat_result) -> str | None:
    """Why a file or folder with this status could hold someone else's code (None: only you can write it)."""
    if st.st_uid != os.geteuid():
        return f"it belongs to uid {st.st_uid}, not to you (uid {os.geteuid()})"
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"others can write it (mode {stat.S_IMODE(st.st_mode):o})"  # group or world
    return None


def host() -> tuple[str, str]:
    """(CPU name, CPU features) the code is generated for (a function so tests can pretend another CPU): the
    host's, except that on an AVX-512 CPU LLVM's tuning preference for 256-bit vectors is turned off. That
    preference guards against the clock drop of 512-bit code on early AVX-512 parts; graphc's kernels are
    long vector loops (vmath's exp, log, tanh), which run 1.5-2x faster in 512-bit registers (docs/backends.md)."""
    features = llvm.get_host_cpu_features().flatten()
    if "+avx512f" in features.split(","):
        features += ",-prefer-256-bit"
    return llvm.get_host_cpu_name(), features


@lru_cache(maxsize=1)
def _versions() -> dict[str, str]:
    from graphc.version import __version__  # importlib.metadata scans site-packages (13 ms of a warm start)
    return {"graphc": __version__, "llvmlite": llvmlite.__version__,
            "llvm": ".".join(map(str, llvm.llvm_version_info))}


def components(ir_text: str, pipeline: str) -> dict[str, str]:
    """Everything the machine code depends on (the IR by its hash)."""
    cpu, features = host()
    return {"ir": hashlib.sha256(ir_text.encode()).hexdigest(), "pipeline": pipeline, **_versions(),
            "cpu": cpu, "cpu_features": features}


@lru_cache(maxsize=1)
def sources() -> str:
    """The hash of every source file of graphc and its backends: the IR and step caches' entries depend on
    all of them (ops, passes, schedule, lowering), so an edit anywhere must miss. Once per process."""
    import graphc.backends
    from graphc import version  # a module of the package folder (not the facade, which imports every layer)
    return source_hash([os.path.realpath(os.path.dirname(m.__file__)) for m in (version, graphc.backends)])


def source_hash(folders: list[str]) -> str:
    """The sha256 of the source files (.py, .c, .h) under `folders`, by relative path and content (a folder
    inside another, as the installed backends are inside graphc, counts once): about 1.5 ms for 160 files."""
    tops = [t for t in folders if not any(t.startswith(other + os.sep) for other in folders)]
    h = hashlib.sha256()
    for top in tops:
        for rel in sorted(_source_files(top)):
            with open(os.path.join(top, rel), "rb") as f:
                h.update(f"{os.path.basename(top)}/{rel}\0".encode() + f.read() + b"\0")
    return h.hexdigest()


def _source_files(top: str) -> list[str]:
    """The source files under `top`, relative to it (without `__pycache__`, not following links to folders)."""
    found, stack = [], [""]
    while stack:
        rel = stack.pop()
        with os.scandir(os.path.join(top, rel)) as entries:
            for e in entries:
                if e.is_dir(follow_symlinks=False):
                    if e.name != "__pycache__":
                        stack.append(os.path.join(rel, e.name))
                elif e.name.endswith((".py", ".c", ".h")):
                    found.append(os.path.join(rel, e.name))
    return found


def key(parts: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def path(k: str, suffix: str = ".obj") -> str:
    return os.path.join(directory(), k + suffix)


def load(k: str, suffix: str = ".obj") -> bytes | None:
    """The payload stored under key k; None if absent, or (with a warning) refused or corrupt: the
    compile that follows stores a sound entry in its place."""
    if not enabled():
        return None
    try:
        return _payload(k, suffix)
    except FileNotFoundError:
        return None
    except (Refused, OSError) as e:
        reject(k, suffix, str(e))
        return None


def reject(k: str, suffix: str, why: str) -> None:
    """Report that entry k cannot be used (corrupt, refused, or unlike what its loader expects)."""
    warnings.warn(f"graphc cache: entry {path(k, suffix)} is not used ({why}); recompiling it", RuntimeWarning,
                  stacklevel=3)


def _payload(k: str, suffix: str) -> bytes:
    data = read_private(path(k, suffix))
    why = _corruption(k, data)
    if why is not None:
        raise Refused(f"it is corrupt: {why}")
    return data[HEADER.size:len(data) - FOOTER.size]


def read_private(name: str) -> bytes:
    """The bytes of a regular file that is yours, that no one else can write, of at most MAX_BYTES."""
    f, st = _open_regular(name)
    with f:
        why = _foreign(st)
        if why is not None:
            raise Refused(why)
        if st.st_size > MAX_BYTES:
            raise Refused(f"{st.st_size} bytes, over the {MAX_BYTES}-byte limit")
        data = f.read(st.st_size + 1)
    if len(data) != st.st_size:
        raise Refused("it changed while it was read")
    return data


def _open_regular(name: str) -> tuple[BinaryIO, os.stat_result]:
    """The file open for reading, and its status: never through a symbolic link, never waiting on a FIFO
    or a device (raises Refused for those)."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise Refused("it is a symbolic link") from None
        raise
    f = os.fdopen(fd, "rb")
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        f.close()
        raise Refused("it is not a regular file")
    return f, st


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
    if not enabled():
        return
    files = [(path(k, ".key"), _framed(k, json.dumps(parts, indent=1, sort_keys=True).encode()))] \
        if parts is not None else []
    files.append((path(k, suffix), _framed(k, payload)))
    try:
        if len(files[-1][1]) > MAX_BYTES:
            raise Refused(f"{len(files[-1][1])} bytes, over the {MAX_BYTES}-byte limit")
        os.makedirs(directory(), mode=0o700, exist_ok=True)
        if not enabled():  # a folder someone else made in the meantime
            return
        for target, data in files:
            if os.path.lexists(target) and not stat.S_ISREG(os.lstat(target).st_mode):
                raise Refused("a link or special file has its name; graphc leaves it alone")
            write_atomic(target, data)
    except (OSError, Refused) as e:  # a read-only or full disk costs the next process a compile, nothing more
        warnings.warn(f"graphc cache: cannot write {path(k, suffix)} ({e}); the code is not cached", RuntimeWarning,
                      stacklevel=2)


def _framed(k: str, payload: bytes) -> bytes:
    return HEADER.pack(MAGIC, FORMAT, k.encode("ascii"), len(payload)) + payload + \
        FOOTER.pack(hashlib.sha256(payload).digest(), END)


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


@dataclass
class Summary:
    directory: str
    entries: int
    bytes: int


def own_files() -> list[tuple[str, int]]:
    """(path, size) of graphc's files in the cache folder: a graphc name and, inside, graphc's magic and
    that name's key (a temporary file a writer left empty counts too). Nothing else is ever counted or
    deleted, whatever else the folder holds."""
    folder = directory()
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    found = []
    for name in names:
        match = NAME.fullmatch(name)
        if match is None:
            continue
        try:
            f, st = _open_regular(os.path.join(folder, name))
        except (OSError, Refused):
            continue
        with f:
            head = f.read(HEADER.size)
        left_empty = not head and name.endswith(".tmp")
        if left_empty or (len(head) == HEADER.size and head[:len(MAGIC)] == MAGIC
                          and HEADER.unpack(head)[2] == match["key"].encode()):
            found.append((os.path.join(folder, name), st.st_size))
    return found


def info() -> Summary:
    """The cache folder, its number of entries (compiled programs) and the bytes graphc's files take."""
    files = own_files()
    return Summary(directory(), sum(f.endswith(".obj") for f, _ in files), sum(size for _, size in files))


def clear() -> Summary:
    """Delete graphc's entries and leftover temporary files (nothing else); returns what was freed."""
    freed = Summary(directory(), 0, 0)
    for f, size in own_files():
        try:
            os.unlink(f)
        except OSError:
            continue
        freed.entries += f.endswith(".obj")
        freed.bytes += size
    return freed


def nearest(parts: dict[str, str], besides: str | None = None) -> str:
    """Why `parts` had no entry: the components in which the nearest stored entry differs (other
    than its own, `besides`, stored since)."""
    best: tuple[int, list[str]] | None = None
    for f, _ in own_files():
        if not f.endswith(".key") or os.path.basename(f) == f"{besides}.key":
            continue
        try:
            other = json.loads(_payload(os.path.basename(f)[:-4], ".key"))
        except (OSError, Refused, ValueError):
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
