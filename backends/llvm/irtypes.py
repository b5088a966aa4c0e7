"""The bottom of the LLVM backend: IR types, storage layout, `Unsupported` and intrinsic declarations.

Everything that emits IR needs these and nothing else of the backend, so the
modules that codegen.py builds on (the checked build, the scalar printer, the
vector math) import them from here, and imports run downward only.
"""
from __future__ import annotations

from typing import Sequence

from llvmlite import ir

from graphc.ir.errors import BackendError

I1, I8, I32, I64 = ir.IntType(1), ir.IntType(8), ir.IntType(32), ir.IntType(64)
PTR = ir.PointerType()
F32, F64 = ir.FloatType(), ir.DoubleType()

#: bytes every working-memory area and scratch part starts on (a cache line, one AVX-512 vector)
ALIGN = 64


def aligned(n: int) -> int:
    """n bytes rounded up to a multiple of ALIGN."""
    return -(-n // ALIGN) * ALIGN


#: graphc dtype -> LLVM storage type (bool is one byte, like NumPy)
STORAGE = {"bool": I8, "int32": I32, "int64": I64, "float32": F32, "float64": F64}


class Unsupported(BackendError):
    """A kernel this backend cannot compile natively (it then runs through the NumPy callback)."""


def storage_type(dtype: str) -> ir.Type:
    """The LLVM type an element of `dtype` is stored as, or Unsupported."""
    if dtype not in STORAGE:
        raise Unsupported(f"dtype {dtype} has no LLVM storage type")
    return STORAGE[dtype]


def compute_type(dtype: str) -> ir.Type:
    """The float type a kernel producing `dtype` computes its float values in (float32 in float32, the
    rest in double); integers and bools compute in their own types (kernels.value_type)."""
    return F32 if dtype == "float32" else F64


def intrinsic(module: ir.Module, name: str, ret: ir.Type, args: Sequence[ir.Type]) -> ir.Function:
    """Declare (once) an LLVM intrinsic or C library function."""
    if name in module.globals:
        return module.globals[name]
    return ir.Function(module, ir.FunctionType(ret, list(args)), name)
