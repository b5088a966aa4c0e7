"""Running a lowered program on a device: storages, resident parameters, the steps, outputs and updates.

The executable only talks to a `Device` (runtime.py: CuPy on a GPU;
emulate.py: NumPy and host-compiled kernels), so everything here is exercised
without a GPU by the emulation. Temporaries live in one device arena placed by
the memory plan; constants are copied once; parameters stay on the device
between calls (see `Resident`); outputs are fresh device arrays.
"""
from __future__ import annotations

import threading
from typing import Any, Sequence

import numpy as np

from graphc.ir import GraphcError
from graphc.schedule import KernelProgram, View

from .kernels import INDEX_CHECKS
from .lowering import Lowered, lower_program
from .steps import Gemm, Host, Launch, Zero


class Resident:
    """A parameter's current value on a device, set as `ParamState.owner`.

    While it is the owner, the device copy is the value; reading the parameter's
    `.array` on the host downloads it and hands ownership back to the host.
    """

    def __init__(self, device: Any, array: Any):
        self.device, self.array = device, array

    def download(self) -> np.ndarray:
        return self.device.download(self.array)


def resident(device: Any, state: Any) -> Any:
    """The device array of a parameter state, uploading it when the host (or another device) owns it."""
    owner = state.owner
    if isinstance(owner, Resident) and owner.device is device:
        return owner.array
    array = device.upload(np.ascontiguousarray(state.array))
    state.owner = Resident(device, array)
    return array


class Executable:
    """Called with the validated inputs (NumPy or device arrays); returns device arrays (or NumPy ones)."""

    def __init__(self, program: KernelProgram, device: Any, host_outputs: bool = False):
        self.program, self.device, self.host_outputs = program, device, host_outputs
        self.lowered: Lowered = lower_program(program, host=device.host_code)
        self.module = device.load(self.lowered)
        plan = program.plan
        self._arena = device.empty(plan.arena_bytes)
        self._scratch = device.empty(self.lowered.scratch_bytes)
        self._status = device.upload(np.zeros(1, np.int32))
        self._fixed: dict[int, Any] = {}  # storage -> flat device array (constants and temporaries)
        for b in program.buffers:
            n = int(np.prod(b.shape, dtype=np.int64))
            if b.role == "const":
                self._fixed[b.id] = device.upload(np.ascontiguousarray(b.data).reshape(-1))
            elif b.id in plan.offsets and b.id not in plan.in_place:
                self._fixed[b.id] = device.flat(self._arena, plan.offsets[b.id], b.dtype, n)
        self._fixed[self.lowered.scratch] = self._scratch
        self._params = [b for b in program.buffers if b.role == "param"]
        # a temporary that is returned whole gets fresh memory every call and is returned without a copy
        self._fresh = {v.buffer: b for v in program.outputs
                       if (b := program.buffers[v.buffer]).role == "temp" and v.buffer not in plan.in_place
                       and v == View.contiguous(v.buffer, b.shape)}
        # only index kernels can fail; checking costs a device sync, so programs without them skip it
        self._checks = any(isinstance(s, Launch) and isinstance(program.kernels[s.index].node.op, INDEX_CHECKS)
                           for s in self.lowered.steps)
        self._lock = threading.Lock()

    def source(self) -> str:
        """What the device loaded: PTX on a GPU, the host IR in the emulation."""
        return self.device.source(self.module)

    def __call__(self, args: Sequence[Any]) -> list[Any]:
        prog, dev = self.program, self.device
        with self._lock:
            flat = dict(self._fixed)
            for b, a in zip(prog.inputs, args):
                flat[b] = dev.as_input(a).reshape(-1)
            for b in self._params:
                flat[b.id] = resident(dev, b.data).reshape(-1)
            for t, p in prog.plan.in_place.items():
                flat[t] = flat[p]
            for b in self._fresh.values():
                flat[b.id] = dev.new(b.dtype, int(np.prod(b.shape, dtype=np.int64)))
            for step in self.lowered.steps:
                self._run(step, flat)
            if self._checks:
                self._check_status(flat)
            outs, returned = [], set()
            for v in prog.outputs:
                size = int(np.prod(prog.buffers[v.buffer].shape, dtype=np.int64))
                whole = v.buffer in self._fresh and v.buffer not in returned and v.offset == 0 and v.is_dense() \
                    and int(np.prod(v.shape, dtype=np.int64)) == size  # handed out as it is, not a slice of it
                outs.append(flat[v.buffer].reshape(v.shape) if whole else dev.copy_of(self._view(flat, v)))
                returned.add(v.buffer)
            self._update(flat)
        return [dev.download(o) for o in outs] if self.host_outputs else outs

    def _view(self, flat: dict[int, Any], v: View) -> Any:
        """A program view (of a buffer, which may live in its parameter's storage)."""
        s = self.program.plan.in_place.get(v.buffer, v.buffer)
        return self.device.strided(flat[s], v.offset, v.shape, v.strides)

    def _storage_view(self, flat: dict[int, Any], v: View, dtype: str) -> Any:
        """A view whose buffer is a storage id; the scratch area's raw bytes are read as `dtype`."""
        base = flat[v.buffer]
        if v.buffer == self.lowered.scratch:
            base = self.device.flat(base, 0, dtype, base.nbytes // np.dtype(dtype).itemsize)
        return self.device.strided(base, v.offset, v.shape, v.strides)

    def _run(self, step: Any, flat: dict[int, Any]) -> None:
        dev, prog = self.device, self.program
        if isinstance(step, Launch):
            dev.launch(self.module, step.name, [flat[s] for s in step.storages] + [self._status], step.items,
                       step.per_block)
        elif isinstance(step, Zero):
            dev.zero(flat[step.storage])
        elif isinstance(step, Gemm):
            a, b, out = (self._storage_view(flat, v, step.dtype) for v in (step.a, step.b, step.out))
            dev.matmul(a, b, out)
        elif isinstance(step, Host):
            k = prog.kernels[step.index]
            ins = [dev.download(self._view(flat, v)) for v in k.inputs]
            try:
                with np.errstate(all="ignore"):
                    value = np.asarray(k.node.op.numpy(*ins), prog.buffers[k.output].dtype)
            except GraphcError as e:  # the op's own run-time check (an index out of range)
                raise e.located(k.node.loc) from None
            except Exception as e:  # noqa: BLE001 - any failure of the op's rule is reported with its source line
                raise GraphcError(f"{k.name} failed at run time: {e}", loc=k.node.loc) from e
            out = self._view(flat, View.contiguous(k.output, prog.buffers[k.output].shape))
            dev.assign(out, dev.upload(np.ascontiguousarray(value)))

    def _check_status(self, flat: dict[int, Any]) -> None:
        """A take or scatter_add kernel that met a bad index wrote its kernel index + 1 to the status word;
        the op's NumPy rule, run on its operands, names the index (unless later kernels overwrote them)."""
        status = int(self.device.download(self._status)[0])
        if status:
            self.device.zero(self._status)
            k = self.program.kernels[status - 1]
            try:
                with np.errstate(all="ignore"):
                    k.node.op.numpy(*[self.device.download(self._view(flat, v)) for v in k.inputs])
            except GraphcError as e:
                raise e.located(k.node.loc) from None
            except (ValueError, IndexError, TypeError) as e:
                raise GraphcError(f"{k.name} failed at run time: {e}", loc=k.node.loc) from None
            raise GraphcError(f"{k.name} failed at run time: an index is out of range", loc=k.node.loc,
                              fix="indices must lie in [-n, n) for an axis of size n")

    def _update(self, flat: dict[int, Any]) -> None:
        """New values are all read (values held in parameter or input storage copied first), then written."""
        prog, dev = self.program, self.device
        pending = []
        for param, v in prog.updates:
            if v.buffer in prog.plan.in_place:
                continue
            src = self._view(flat, v)
            if prog.buffers[prog.plan.in_place.get(v.buffer, v.buffer)].role != "temp":
                src = dev.copy_of(src)
            pending.append((param, v, src))
        for param, v, src in pending:
            dst = dev.strided(flat[param], 0, v.shape, _contiguous(v.shape))
            dev.assign(dst, src)


def _contiguous(shape: tuple[int, ...]) -> tuple[int, ...]:
    return View.contiguous(0, shape).strides

