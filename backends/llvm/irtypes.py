"""The bottom of the LLVM backend: IR types, storage layout, `Unsupported` and intrinsic declarations.

Everything that emits IR needs these and nothing else of the backend, so the
modules that codegen.py builds on (the checked build, the scalar printer, the
vector math) import them from here, and imports run downward only.
"""
from __future__ import annotations

from typing import Sequence

from llvmlite import ir

from graphc.ir.dtypes import HALVES
from graphc.ir.errors import BackendError

I1, I8, I16, I32, I64 = ir.IntType(1), ir.IntType(8), ir.IntType(16), ir.IntType(32), ir.IntType(64)
PTR = ir.PointerType()
F16, F32, F64 = ir.HalfType(), ir.FloatType(), ir.DoubleType()


class UIntType(ir.IntType):
    """An unsigned integer: LLVM's iN, tagged so that the printer picks unsigned compares, divisions,
    shifts and conversions. It differs from the signed type of its width (llvmlite then refuses to mix
    them in one instruction, so every signedness change is an explicit conversion)."""

    _instance_cache: dict = {}

    def __eq__(self, other):
        return type(other) is type(self) and other.width == self.width

    def __hash__(self):
        return hash((type(self), self.width))


class BF16Type(UIntType):
    """A bfloat16 as stored: its 16 bits (LLVM's bfloat has no arithmetic on most CPUs); values
    compute in float32 and round to nearest even on the way back (`scalar.convert`)."""

    _instance_cache: dict = {}


BF16 = BF16Type(16)

#: bytes every working-memory area and scratch part starts on (a cache line, one AVX-512 vector)
ALIGN = 64


def aligned(n: int) -> int:
    """n bytes rounded up to a multiple of ALIGN."""
    return -(-n // ALIGN) * ALIGN


#: graphc dtype -> LLVM storage type (bool is one byte, like NumPy; bfloat16 its 16 bits)
STORAGE = {"bool": I8, "int8": I8, "int16": I16, "int32": I32, "int64": I64,
           "uint8": UIntType(8), "uint16": UIntType(16), "uint32": UIntType(32), "uint64": UIntType(64),
           "float16": F16, "bfloat16": BF16, "float32": F32, "float64": F64}


class Unsupported(BackendError):
    """A kernel this backend cannot compile natively (it then runs through the NumPy callback)."""


def storage_type(dtype: str) -> ir.Type:
    """The LLVM type an element of `dtype` is stored as, or Unsupported."""
    if dtype not in STORAGE:
        raise Unsupported(f"dtype {dtype} has no LLVM storage type")
    return STORAGE[dtype]


def compute_type(dtype: str) -> ir.Type:
    """The float type a kernel producing `dtype` computes its float values in (float32 for float32 and
    the 16-bit floats, which x86 has no arithmetic for: F16C converts; double for the rest); integers
    and bools compute in their own types (kernels.value_type)."""
    return F32 if dtype in HALVES or dtype == "float32" else F64


def is_unsigned(t: ir.Type) -> bool:
    """An unsigned integer type (not the bits of a bfloat16)."""
    return isinstance(t, UIntType) and not isinstance(t, BF16Type)


def float_width(t: ir.Type) -> int:
    return 16 if isinstance(t, ir.HalfType) else 32 if isinstance(t, ir.FloatType) else 64


def intrinsic(module: ir.Module, name: str, ret: ir.Type, args: Sequence[ir.Type]) -> ir.Function:
    """Declare (once) an LLVM intrinsic or C library function."""
    if name in module.globals:
        return module.globals[name]
    return ir.Function(module, ir.FunctionType(ret, list(args)), name)
