"""The MPI world: rank, size and communicator, with faults that end every rank instead of hanging.

mpi4py is imported here and only here, when `init()` (or the first collective) asks for it, so
`import graphc` never needs MPI. A synchronous data-parallel job hangs when one rank stops while the
others wait in a collective; `init()` therefore installs a `sys.excepthook` that prints the error
with its rank and calls `MPI_Abort`, which makes `mpiexec` end every rank with a non-zero status.
A rank killed by a signal is ended the same way by `mpiexec` itself (MPICH's hydra and Open MPI
both tear the job down when a process dies).
"""
from __future__ import annotations

import contextlib
import sys
import traceback
from dataclasses import dataclass
from types import ModuleType, TracebackType
from typing import Any, Iterator

import numpy as np

from ..ir import GraphcError

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

    @property
    def root(self) -> bool:
        """True on rank 0, the rank that logs, writes checkpoints and whose initial state every rank takes."""
        return self.rank == 0

    def allreduce_(self, buf: np.ndarray) -> np.ndarray:
        """Sum `buf` over the ranks, in place, in one `MPI_Allreduce` (mpi4py releases the GIL meanwhile)."""
        if self.size > 1:
            self.comm.Allreduce(mpi().IN_PLACE, buf, op=mpi().SUM)
        return buf

    def broadcast_(self, buf: np.ndarray) -> np.ndarray:
        """Rank 0's `buf` on every rank, in place, in one `MPI_Bcast`."""
        if self.size > 1:
            self.comm.Bcast(buf, root=0)
        return buf

    def agree(self, value: Any) -> Any:
        """Rank 0's `value` (a small Python object: logs, a decision) on every rank."""
        return self.comm.bcast(value, root=0) if self.size > 1 else value

    def gather(self, value: Any) -> list[Any]:
        """Every rank's small `value`, in rank order, on every rank."""
        return self.comm.allgather(value) if self.size > 1 else [value]

    def abort(self, code: int = 1) -> None:
        """End every rank of the job now (`MPI_Abort`): what a failed rank must do so the others do not hang."""
        sys.stdout.flush()
        sys.stderr.flush()
        self.comm.Abort(code)


_WORLD: World | None = None


def init(abort_on_error: bool = True) -> World:
    """Join the MPI job (`mpiexec -n N`; one process alone is a world of size 1) and return its World.

    With `abort_on_error` an uncaught exception on any rank prints its traceback, prefixed with the
    rank, and aborts the whole job, so no rank waits forever for a dead peer. Calling it again returns
    the same World.
    """
    global _WORLD
    if _WORLD is None:
        comm = mpi().COMM_WORLD
        _WORLD = World(comm, comm.Get_rank(), comm.Get_size())
        if abort_on_error:
            sys.excepthook = _abort_hook
    return _WORLD


def world() -> World:
    """The World of `init()` (initializing MPI on first use)."""
    return _WORLD if _WORLD is not None else init()


def _report(rank: int, kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    text = "".join(traceback.format_exception(kind, value, tb))
    out = sys.__stderr__ or sys.stderr  # the process's own stderr: a test runner's capture dies with the job
    out.write("".join(f"[graphc rank {rank}] {line}\n" for line in text.rstrip().splitlines()))
    out.write(f"[graphc rank {rank}] aborting every rank of the MPI job (MPI_Abort) so that none hangs\n")
    out.flush()


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
