"""The MPI world: rank, size and communicator, with faults that end every rank instead of hanging.

mpi4py is imported here and only here, when `init()` (or the first collective) asks for it, so
`import graphc` never needs MPI. A synchronous data-parallel job hangs when one rank stops while the
others wait in a collective; `init()` therefore installs a `sys.excepthook` that prints the error
with its rank and calls `MPI_Abort`, which makes `mpiexec` end every rank with a non-zero status.
A rank killed by a signal is ended the same way by `mpiexec` itself (MPICH's hydra and Open MPI
both tear the job down when a process dies). A rank that neither fails nor dies but stops (a deadlock,
an endless loop) is caught by the optional watchdog, `init(timeout=...)`: a thread that aborts the job
when this rank has waited in one collective for longer than that.
"""
from __future__ import annotations

import contextlib
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from types import ModuleType, TracebackType
from typing import Any, Iterator

import numpy as np

from ..ir import ArgumentError, GraphcError

INSTALL = "pip install 'graphc[mpi]'"


class DistributedError(GraphcError, RuntimeError):
    """A multi-process run cannot go on: MPI is missing, or the ranks disagree (graphs, shapes, batches)."""


def mpi() -> ModuleType:
    """mpi4py's `MPI` module (importing it initializes MPI), or a DistributedError saying how to get it."""
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise DistributedError(f"graphc.distributed needs mpi4py and an MPI library ({e})",
                               fix=f"{INSTALL} (mpi4py and the mpich wheel, which brings mpiexec), then run "
                                   "under `mpiexec -n N python script.py`") from None
    return MPI


@dataclass(frozen=True)
class World:
    """The processes of one job: this process's `rank` among `size`, and the communicator joining them."""

    comm: Any
    rank: int
    size: int
    #: Aborts the job when a collective waits longer than its timeout (None: no watchdog).
    watchdog: Watchdog | None = field(default=None, compare=False)

    @property
    def root(self) -> bool:
        """True on rank 0, the rank that logs, writes checkpoints and whose initial state every rank takes."""
        return self.rank == 0

    def allreduce_(self, buf: np.ndarray) -> np.ndarray:
        """Sum `buf` over the ranks, in place, in one `MPI_Allreduce` (mpi4py releases the GIL meanwhile)."""
        if self.size > 1:
            with self._waiting("an allreduce"):
                self.comm.Allreduce(mpi().IN_PLACE, buf, op=mpi().SUM)
        return buf

    def broadcast_(self, buf: np.ndarray) -> np.ndarray:
        """Rank 0's `buf` on every rank, in place, in one `MPI_Bcast`."""
        if self.size > 1:
            with self._waiting("a broadcast"):
                self.comm.Bcast(buf, root=0)
        return buf

    def agree(self, value: Any) -> Any:
        """Rank 0's `value` (a small Python object: logs, a decision) on every rank."""
        if self.size == 1:
            return value
        with self._waiting("a broadcast"):
            return self.comm.bcast(value, root=0)

    def gather(self, value: Any) -> list[Any]:
        """Every rank's small `value`, in rank order, on every rank."""
        if self.size == 1:
            return [value]
        with self._waiting("an allgather"):
            return self.comm.allgather(value)

    def _waiting(self, what: str) -> contextlib.AbstractContextManager:
        return self.watchdog.waiting(what) if self.watchdog is not None else contextlib.nullcontext()

    def abort(self, code: int = 1) -> None:
        """End every rank of the job now (`MPI_Abort`): what a failed rank must do so the others do not hang."""
        sys.stdout.flush()
        sys.stderr.flush()
        self.comm.Abort(code)


class Watchdog:
    """A daemon thread that aborts the job when this rank has waited in one collective for more than
    `timeout` seconds: some other rank is stuck without failing (MPI releases the GIL while it waits,
    so the thread runs)."""

    def __init__(self, rank: int, comm: Any, timeout: float):
        self.rank, self.comm, self.timeout = rank, comm, timeout
        self.since: float | None = None
        self.what = ""
        threading.Thread(target=self._watch, name="graphc-mpi-watchdog", daemon=True).start()

    @contextlib.contextmanager
    def waiting(self, what: str) -> Iterator[None]:
        """Inside, this rank waits in the collective `what`."""
        self.since, self.what = time.monotonic(), what
        try:
            yield
        finally:
            self.since = None

    def _watch(self) -> None:
        while True:
            time.sleep(min(1.0, self.timeout / 4))
            since = self.since
            if since is not None and time.monotonic() - since > self.timeout:
                _say(self.rank, f"waited more than {self.timeout:g} s in {self.what}: another rank is stuck "
                                "(neither failed nor died); raise init(timeout=...) if its work takes that long")
                self.comm.Abort(1)


_WORLD: World | None = None


def init(abort_on_error: bool = True, timeout: float | None = None) -> World:
    """Join the MPI job (`mpiexec -n N`; one process alone is a world of size 1) and return its World.

    With `abort_on_error` an uncaught exception on any rank prints its traceback, prefixed with the
    rank, and aborts the whole job, so no rank waits forever for a dead peer. With `timeout` (seconds)
    a watchdog aborts the job when a collective of this World waits longer than that (a stuck rank);
    choose it above the slowest legitimate wait (compiling, writing a checkpoint on rank 0). Calling it
    again returns the same World.
    """
    global _WORLD
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                or not timeout > 0):
        raise ArgumentError(f"init: timeout must be a positive number of seconds or None, got {timeout!r}",
                            fix="timeout=600 aborts the job after 10 minutes in one collective")
    if _WORLD is None:
        comm = mpi().COMM_WORLD
        rank, size = comm.Get_rank(), comm.Get_size()
        _WORLD = World(comm, rank, size, Watchdog(rank, comm, timeout) if timeout and size > 1 else None)
        if abort_on_error:
            sys.excepthook = _abort_hook
    return _WORLD


def world() -> World:
    """The World of `init()` (initializing MPI on first use)."""
    return _WORLD if _WORLD is not None else init()


#: Seconds a failing rank waits after writing its error and before the abort: mpiexec forwards each
#: rank's output through its own process, and the abort's teardown may otherwise drop the last lines.
FORWARD_GRACE = 0.5


def _say(rank: int, text: str) -> None:
    """Write `text` to the process's own stderr (a test runner's capture dies with the job), each line
    prefixed with the rank, and that the job is being aborted; then give mpiexec time to forward it."""
    lines = [*text.rstrip().splitlines(), "aborting every rank of the MPI job (MPI_Abort) so that none hangs"]
    out = sys.__stderr__ or sys.stderr
    out.write("".join(f"[graphc rank {rank}] {line}\n" for line in lines))
    out.flush()
    time.sleep(FORWARD_GRACE)


def _report(rank: int, kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    _say(rank, "".join(traceback.format_exception(kind, value, tb)))


def _abort_hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    w = world()
    _report(w.rank, kind, value, tb)
    w.abort(1)


@contextlib.contextmanager
def abort_on_error() -> Iterator[None]:
    """Inside, an exception on this rank aborts the whole job (for code whose exceptions are caught
    before `sys.excepthook` sees them, such as a test under pytest)."""
    try:
        yield
    except BaseException as e:  # noqa: BLE001 - every failure must end the job, KeyboardInterrupt too
        w = world()
        if w.size == 1:
            raise
        _report(w.rank, type(e), e, e.__traceback__)
        w.abort(1)
