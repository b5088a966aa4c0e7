"""The checked build: every address a kernel computes is compared with the extent of its storage.

`backend="llvm-checked"` (or `GRAPHC_LLVM_CHECKED=1` with `"llvm"`) lowers with a
`Bounds`: codegen's `element`, the one place addresses are computed, then emits
`if ((unsigned) offset >= extent) { record (site, offset) in @graphc_fault; return 2; }`
before the address is used (BLAS calls check the first and last element of each
matrix). The runtime turns a recorded fault into a BackendError naming the
kernel, its op and source line, the storage and the bad index, so a wrong view
is an error instead of a read or write of memory the storage does not own.
The checks keep LLVM from vectorizing most loops: a build for tests and debugging.
"""
from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Callable

from llvmlite import ir

from graphc.ir.errors import BackendError
from graphc.schedule import KernelProgram

from .irtypes import I32, I64

#: name of the module global `[2 x i64]` holding (site number + 1, bad offset) of the first fault
FAULT = "graphc_fault"
#: status a kernel returns after recording a fault (1 is a gather index out of range)
FAULT_STATUS = 2
_ITEMSIZE = {"i8": 1, "i16": 2, "i32": 4, "i64": 8, "half": 2, "float": 4, "double": 8}
_ROLES = {"input": "input", "param": "parameter", "const": "constant", "temp": "temporary"}


@dataclass(frozen=True)
class Site:
    """One checked address: the function computing it, its storage slot and how many elements that holds."""

    function: str
    storage: int
    limit: int


class Bounds:
    """The checks of one module: `extent(storage)` gives the bytes a storage slot holds when a check is emitted."""

    def __init__(self, module: ir.Module, extent: Callable[[int], int]):
        self.extent = extent
        self.sites: list[Site] = []
        cell = ir.ArrayType(I64, 2)
        self.fault = ir.GlobalVariable(module, cell, FAULT)
        self.fault.initializer = ir.Constant(cell, [0, 0])

    def check(self, b: ir.IRBuilder, storage: int, etype: ir.Type, offset: ir.Value) -> None:
        """Return FAULT_STATUS from the kernel unless 0 <= offset < the storage's element count."""
        limit = self.extent(storage) // _ITEMSIZE[str(etype)]
        self.sites.append(Site(b.function.name, storage, limit))
        with b.if_then(b.icmp_unsigned(">=", offset, ir.Constant(I64, limit)), likely=False):
            for i, value in enumerate((ir.Constant(I64, len(self.sites)), offset)):
                b.store(value, b.gep(self.fault, [ir.Constant(I32, 0), ir.Constant(I32, i)], inbounds=True))
            b.ret(ir.Constant(I32, FAULT_STATUS))


def fault_cell(address: int) -> ctypes.Array:
    """The fault record of a compiled module, given the address of its FAULT global."""
    return (ctypes.c_int64 * 2).from_address(address)


def fault_error(cell: ctypes.Array, sites: list[Site], program: KernelProgram, kernel: int | None,
                n_buffers: int) -> BackendError | None:
    """The error for a recorded fault (clearing the record), or None if no check failed."""
    site_no, index = cell[0], cell[1]
    if not site_no:
        return None
    cell[0] = cell[1] = 0
    site = sites[site_no - 1]
    where = _storage_name(program, site.storage, n_buffers)
    what = f"{site.function}: index {index} is out of bounds for {where}, which holds {site.limit} elements"
    loc = None
    if kernel is not None:
        k = program.kernels[kernel]
        what = f"{k.kind} kernel of {k.name}, {what}"
        loc = k.node.loc
    return BackendError(f"llvm-checked: {what}", loc=loc, locate=loc is not None,
                        fix="this is a bug in graphc's generated code: please report it with the IR "
                            "(GRAPHC_DUMP_IR=dir) and the graph")


def _storage_name(program: KernelProgram, storage: int, n_buffers: int) -> str:
    if storage < n_buffers:
        buf = program.buffers[storage]
        name = f" {buf.name!r}" if buf.name else ""
        return f"{_ROLES.get(buf.role, buf.role)} buffer b{buf.id}{name} ({buf.dtype}{list(buf.shape)})"
    j = storage - n_buffers
    if j < len(program.outputs):
        return f"output {j}"
    return "the scratch area" if j == len(program.outputs) else "the staging area"
