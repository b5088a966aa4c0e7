"""The CUDA backend's dispatch tables, keyed by op class (llvm/registry.py's `Registry`).

`EMITTERS` fill one `GpuKernel` (the LLVM backend's emitters wherever their
items are independent, registered in lowering.py, and the GPU's own in
kernels.py); `PLANS` turn a kernel into several steps, GEMMs and launches
(matmul in lowering.py, convolutions in conv.py). An op in neither runs on the
host.
"""
from __future__ import annotations

from ..llvm.registry import Registry

#: op class -> `emit(ctx, kernel, gpu_kernel)`
EMITTERS: Registry = Registry("cuda emitters")
#: op class -> `plan(ctx, index, kernel, module, host) -> list[Step]`
PLANS: Registry = Registry("cuda plans")
