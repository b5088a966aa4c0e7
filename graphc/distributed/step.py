"""The data-parallel train step: two compiled functions around one allreduce per bucket.

`gradients` computes the rank's loss and the gradient of every parameter into one flat buffer per
dtype (the loss rides at the end of its dtype's bucket, so the mean loss needs no message of its
own), and applies the rank's state updates (BatchNorm running statistics). The buckets are summed
over the ranks in place with one `MPI_Allreduce` each (mpi4py releases the GIL while MPI works), and
`update` slices them back into per-parameter gradients, divides by the number of ranks (so the
gradient is the global batch's mean) and runs the optimizer natively. A step is therefore a few
native calls and one message per dtype, never a Python loop over parameters.
"""
from __future__ import annotations

import hashlib
from typing import Sequence

import numpy as np

from .. import ops
from ..autodiff import grad
from ..function import Function, function
from ..ir import Constant, Graph, NonFiniteError, Tensor, placeholder
from ..nn.module import Module
from ..optim.base import Optimizer
from .job import DistributedError, World

Updates = Sequence[tuple[Tensor, Tensor]]


def fingerprint(graph: Graph) -> str:
    """A hash of a graph's structure, ops and attributes, shapes, dtypes and constants: equal on every
    rank that built the same step (it never includes addresses, names or parameter values)."""
    index: dict[Tensor, int] = {}
    h = hashlib.sha256()
    for i, n in enumerate(graph.nodes):
        index[n] = i
        attrs = "" if n.op.is_leaf else repr(n.op.attrs())
        h.update(f"{type(n.op).__name__}|{attrs}|{n.shape}|{n.dtype}|{[index[x] for x in n.inputs]};".encode())
        if isinstance(n.op, Constant):
            h.update(np.ascontiguousarray(n.op.value).tobytes())
    for part in (graph.inputs, graph.outputs, [p for p, _ in graph.updates], [v for _, v in graph.updates]):
        h.update(repr([index[t] for t in part]).encode())
    return h.hexdigest()[:16]


def check_same(world: World, what: str, value: str) -> None:
    """Raise a DistributedError on every rank unless every rank has the same `value` (a hash, or a short
    description), naming which ranks have which."""
    values = world.gather(value)
    if len(set(values)) > 1:
        groups: dict[str, list[int]] = {}
        for rank, v in enumerate(values):
            groups.setdefault(v, []).append(rank)
        listing = "; ".join(f"ranks {ranks}: {v}" for v, ranks in groups.items())
        raise DistributedError(f"the ranks have different {what} ({listing})",
                               fix="run the same script on the same data on every rank (no rank-dependent "
                                   "sizes, hyper-parameters or arguments)")


def broadcast_state(world: World, tensors: Sequence[Tensor]) -> None:
    """Give every rank rank 0's values of `tensors` (parameters, buffers, optimizer state): one
    `MPI_Bcast` per dtype, of all of them packed together."""
    by_dtype: dict[str, list[Tensor]] = {}
    for t in dict.fromkeys(tensors):
        by_dtype.setdefault(t.dtype, []).append(t)
    for dtype, ts in sorted(by_dtype.items()):
        buf = np.concatenate([np.asarray(t.value, dtype).reshape(-1) for t in ts])
        world.broadcast_(buf)
        offset = 0
        for t in ts:
            size = int(np.prod(t.shape, dtype=np.int64))
            t.value = buf[offset:offset + size].reshape(t.shape)
            offset += size


class DataParallelStep:
    """One synchronous data-parallel train step: `step(x, y)` on this rank's rows returns the mean
    loss over every rank's rows, after the same optimizer update on every rank.

    Building it is collective: every rank compares the hash of its compiled graphs (a DistributedError
    names the ranks that differ) and takes rank 0's parameters, buffers and optimizer state.
    """

    def __init__(self, world: World, model: Module, inputs: Sequence[Tensor], loss: Tensor, optimizer: Optimizer,
                 state_updates: Updates = (), backend: str = "auto", check_finite: bool = True):
        self.world, self.check_finite = world, check_finite
        grads = grad(loss, optimizer.params, disconnected="zero")
        dtypes = sorted({p.dtype for p in optimizer.params} | {loss.dtype})
        members = {d: [i for i, p in enumerate(optimizer.params) if p.dtype == d] for d in dtypes}
        flats = [ops.concatenate([ops.reshape(grads[i], (-1,)) for i in members[d]]
                                 + ([ops.reshape(loss, (1,))] if d == loss.dtype else [])) for d in dtypes]
        self.loss_bucket = dtypes.index(loss.dtype)
        self.gradients: Function = function(list(inputs), flats, updates=list(state_updates),
                                            allow_input_downcast=True, backend=backend, check_finite=False)
        #: Gradient elements each step allreduces, per dtype (the loss adds one to its bucket).
        self.bucket_sizes = {d: f.shape[0] for d, f in zip(dtypes, flats)}
        received = [placeholder(f.shape, d, name=f"bucket_{d}") for d, f in zip(dtypes, flats)]
        mean_grads: list[Tensor] = [None] * len(grads)  # type: ignore[list-item]
        for d, bucket in zip(dtypes, received):
            offset = 0
            for i in members[d]:
                p = optimizer.params[i]
                size = int(np.prod(p.shape, dtype=np.int64))
                mean_grads[i] = ops.reshape(bucket[offset:offset + size], p.shape) * (1.0 / world.size)
                offset += size
        self.update: Function = function(received, [], updates=optimizer.updates(mean_grads), backend=backend,
                                         check_finite=check_finite)
        check_same(world, "train steps",
                   fingerprint(self.gradients.graph) + fingerprint(self.update.graph) + str(world.size))
        buffers = [b for _, b in model.named_buffers()]
        broadcast_state(world, [*model.parameters(), *buffers, *optimizer.state_parameters(),
                                *(p for p, _ in state_updates)])

    @property
    def bytes_per_step(self) -> int:
        """Bytes each rank sends into the allreduces of one step (gradients and the loss)."""
        return sum(n * np.dtype(d).itemsize for d, n in self.bucket_sizes.items())

    def __call__(self, x: np.ndarray, y: np.ndarray) -> float:
        return self.apply(self.reduce(self.local(x, y)))

    def local(self, x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
        """This rank's gradient buckets (its loss last in its bucket), its state updates applied."""
        return [np.require(b, requirements=("C", "W")) for b in self.gradients(x, y)]

    def reduce(self, buckets: list[np.ndarray]) -> list[np.ndarray]:
        """The buckets summed over the ranks, in place: one allreduce each."""
        for b in buckets:
            self.world.allreduce_(b)
        return buckets

    def apply(self, buckets: list[np.ndarray]) -> float:
        """The optimizer update from the summed buckets; returns the global batch's mean loss."""
        loss = float(buckets[self.loss_bucket][-1]) / self.world.size
        if self.check_finite and not all(np.isfinite(b).all() for b in buckets):
            raise NonFiniteError("the gradients summed over the ranks are not all finite (the loss is "
                                 f"{loss}); the update was not applied",
                                 fix="lower the learning rate, or clip gradients (clip_norm=...)")
        self.update(*buckets)
        return loss
