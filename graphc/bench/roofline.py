"""The roofline of one training step: its FLOPs, the bytes it must move, and the time neither can beat.

FLOPs are counted on the graph graphc compiles for the step (forward, gradient and update, as
autodiff and the optimizer build it, before graphc's own rewrites): a matmul 2*m*n*k, a convolution
(or either of its gradients) 2 * output elements * weights per output channel, an elementwise op one
per output element (a cast none; a transcendental also one, so the bound stays a bound: fewer counted
FLOPs can only lower it), a reduction one per input element, a softmax five per input element (max,
subtract, exp, sum, normalize), a scan its body times its length; reshapes, transposes, broadcasts,
slices, gathers and scatters move data and count none.

Bytes are a model of the least traffic any implementation needs (`step_bytes`): every tensor the
step updates (parameters, optimizer state, step counters) read once and written once, every gradient
written once and read once, the inputs read once, and the activations the backward pass needs
written once in the forward pass and read once in the backward pass (`activations`).

The bound is max(FLOPs / peak FMA rate, bytes / triad bandwidth) with this machine's measured peaks
(graphc.bench.peaks); a framework's fraction of the roofline is the bound over its step time.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..control.loop import Scan
from ..ir import Graph, Tensor
from .peaks import Peaks
from .suite import Results
from .workloads import CIFAR, Problem, Workload, problem, resnet_blocks

#: FLOPs per input element of a softmax-kind op: max, subtract, exp, sum, normalize
SOFTMAX_FLOPS = 5


def _conv_flops(node: Tensor) -> int:
    """2 * (elements of the convolution's output) * (weights per output channel), for the op or its gradients."""
    name = node.op.name
    if name.endswith("d"):  # conv1d/2d/3d
        out, weight = node, node.inputs[1]
    elif name.endswith("_grad_input"):
        out, weight = node.inputs[0], node.inputs[1]
    else:  # the weight gradient: (x, gy, donor) -> the weight's shape
        out, weight = node.inputs[1], node
    return 2 * out.size * (weight.size // weight.shape[0])


def node_flops(node: Tensor) -> tuple[str, int]:
    """The kernel kind of one node and the FLOPs it counts (module docstring)."""
    kind = node.op.kernel_kind
    if kind == "matmul":
        k = node.inputs[0].shape[-1]
        return kind, 2 * node.size * k
    if kind == "conv":
        return kind, _conv_flops(node)
    if kind == "elementwise":
        return kind, 0 if node.op.name == "cast" else node.size
    if kind == "reduce":
        return kind, node.inputs[0].size
    if kind == "softmax":
        return kind, SOFTMAX_FLOPS * node.inputs[0].size
    if isinstance(node.op, Scan):
        inner = flops_by_kind(node.op.body.order)
        return kind, node.op.length * sum(inner.values())
    return kind, 0


def flops_by_kind(nodes: tuple[Tensor, ...] | list[Tensor]) -> dict[str, int]:
    """FLOPs of the nodes, summed per kernel kind (matmul, conv, elementwise, reduce, softmax, loop)."""
    out: dict[str, int] = {}
    for node in nodes:
        kind, n = node_flops(node)
        if n:
            out[kind] = out.get(kind, 0) + n
    return out


def activations(w: Workload) -> int:
    """Elements of the activations the backward pass must read, stored once by the forward pass.

    MLP: each hidden layer's output after its nonlinearity (the next layer's input, which its weight
    gradient needs, and the source of the nonlinearity's derivative). LeNet: the same for the dense
    layers, plus each convolution's ReLU output (its derivative and the max pool's argmax) and each pool's
    output (the next layer's input). LSTM: per time step the hidden and cell states and the four gate
    activations. ResNet: each convolution's output (its BatchNorm's input, from which the backward pass
    recomputes the normalized values), each ReLU's output (its derivative and the next convolution's input) and
    the pooled features. GPT, per token and block: the two LayerNorms' outputs (the inputs of the products after
    them), the queries, keys and values, each head's softmax log-sum-exp (from which FlashAttention's backward pass
    recomputes the probabilities) and the attention output, and the MLP's pre-activation (GELU's derivative and,
    recomputed, the second product's input); plus the final LayerNorm's output. The network's input is counted
    as an input; the logits feed the loss gradient at once."""
    b = w.batch
    if w.model == "mlp":
        return b * sum(w.sizes[1:-1])
    if w.model == "lenet":
        conv = 6 * 28 * 28 + 6 * 14 * 14 + 16 * 10 * 10 + 16 * 5 * 5  # ReLU, pool, ReLU, pool outputs
        return b * (conv + 120 + 84)  # and the two hidden dense layers' (workloads.LENET)
    if w.model == "lstm":
        seq, _, hidden, _ = w.sizes
        return seq * 6 * b * hidden
    if w.model == "resnet":
        side, c = CIFAR[1], w.sizes[0]
        n = 2 * c * side * side  # the stem conv's output (its BatchNorm's input) and its ReLU's
        for _, _, c, stride, shortcut in resnet_blocks(w):
            side //= stride  # conv1 and conv2's outputs, the ReLUs after bn1 and after the add, the shortcut conv's
            n += (4 + shortcut) * c * side * side
        return b * (n + w.sizes[-2])  # and the pooled features (the dense layer's input)
    if w.model == "gpt":
        _, context, blocks, d, heads, mlp = w.sizes
        return b * context * (blocks * (6 * d + heads + mlp) + d)
    raise ValueError(f"no activation model for the {w.model!r} network")


@dataclass(frozen=True)
class StepCost:
    """One training step's counted FLOPs (per kernel kind) and modelled bytes, and its element dtype."""

    flops_by_kind: dict[str, int]
    bytes: int
    dtype: str

    @property
    def flops(self) -> int:
        """All kinds together."""
        return sum(self.flops_by_kind.values())

    @property
    def intensity(self) -> float:
        """FLOPs per byte: above peak FLOP/s over bandwidth the step is compute-bound."""
        return self.flops / self.bytes

    def compute_s(self, peaks: Peaks) -> float:
        """The FLOPs at the peak FMA rate."""
        return self.flops / (peaks.gflops[self.dtype] * 1e9)

    def memory_s(self, peaks: Peaks) -> float:
        """The bytes at the triad bandwidth."""
        return self.bytes / (peaks.bandwidth_gbs * 1e9)

    def bound_s(self, peaks: Peaks) -> float:
        """The roofline: the least time the step can take on a machine with these peaks."""
        return max(self.compute_s(peaks), self.memory_s(peaks))


def _dtype(p: Problem) -> np.dtype:
    """The element type the step computes in: its parameters' (the data may be integer token ids)."""
    return next(iter(p.params.values())).dtype


def step_bytes(graph: Graph, p: Problem) -> int:
    """The modelled least traffic of a step (module docstring): updates, gradients, inputs, activations."""
    itemsize = _dtype(p).itemsize
    updated = sum(target.size * np.dtype(target.dtype).itemsize for target, _ in graph.updates)
    grads = sum(v.nbytes for v in p.params.values())
    inputs = sum(x.size * np.dtype(x.dtype).itemsize for x in graph.inputs)
    return 2 * updated + 2 * grads + inputs + 2 * itemsize * activations(p.workload)


def step_graph(p: Problem) -> Graph:
    """The graph graphc compiles for the workload's step, before its rewrites, at the problem's shapes."""
    from . import fw_graphc
    return fw_graphc.step_function(p, "numpy").specialize([p.x.shape, p.y.shape])


@lru_cache(maxsize=None)
def step_cost(name: str) -> StepCost:
    """The FLOPs and bytes of workload `name`'s training step (cached: the graph takes a moment to build)."""
    p = problem(name)
    graph = step_graph(p)
    return StepCost(flops_by_kind(graph.nodes), step_bytes(graph, p), _dtype(p).name)


def fraction(cost: StepCost, peaks: Peaks, run: dict) -> float | None:
    """The share of the roofline a framework's run reached (bound / its median step time), if it was timed."""
    return cost.bound_s(peaks) * 1e3 / run["step_ms"] if "step_ms" in run else None


def summary(res: Results) -> dict:
    """The roofline as JSON-ready data: the peaks and, per workload, its costs, bound and every fraction
    (a workload without a cost model gets {"na": why})."""
    if res.peaks is None:
        return {}
    out: dict = {"peaks": res.peaks.as_dict(), "workloads": {}}
    for name, runs in res.runs.items():
        try:
            cost = step_cost(name)
        except ValueError as e:
            out["workloads"][name] = {"na": str(e)}
            continue
        out["workloads"][name] = {
            "flops": cost.flops, "flops_by_kind": cost.flops_by_kind, "bytes": cost.bytes,
            "intensity": cost.intensity, "bound_ms": cost.bound_s(res.peaks) * 1e3,
            "bound_by": "compute" if cost.compute_s(res.peaks) >= cost.memory_s(res.peaks) else "memory",
            "fraction": {fw: fraction(cost, res.peaks, run) for fw, run in runs.items()},
            "graphc_llvm_profile": runs.get("graphc-llvm", {}).get("profile")}
    return out


#: below this share of its roofline, the report says where graphc-llvm's step time goes
HALF = 0.5


def where_lines(res: Results) -> list[str]:
    """For each workload where graphc-llvm reaches less than half its roofline: its profiled step's kernel time
    by kind (fn.profile(), the median over the rounds) and the rest of the call, largest first, as shares of the
    profiled step."""
    lines = []
    for name, row in summary(res).get("workloads", {}).items():
        share, prof = row.get("fraction", {}).get("graphc-llvm"), row.get("graphc_llvm_profile")
        if share is None or share >= HALF or not prof:
            continue
        outside = prof["step_ms"] - sum(prof["kinds_ms"].values())  # the call itself: arguments, dispatch
        kinds = sorted([*prof["kinds_ms"].items(), ("outside kernels", max(outside, 0.0))], key=lambda kv: -kv[1])
        parts = [f"{kind} {100 * ms / prof['step_ms']:.0f}% ({ms:.3f} ms)" for kind, ms in kinds
                 if ms >= 0.01 * prof["step_ms"]]
        lines.append(f"- {name} (graphc-llvm at {100 * share:.0f}% of its roofline; profiled step "
                     f"{prof['step_ms']:.3f} ms): " + ", ".join(parts))
    return lines


def table(res: Results) -> list[str]:
    """The roofline table: workload, FLOPs, bytes, intensity, bound, then each framework's fraction."""
    data = summary(res)
    if not data:
        return []
    fws = res.settings.frameworks
    rows = ["| workload | MFLOP per step | MB per step | FLOP/byte | roofline ms (bound by) | "
            + " | ".join(f"{fw} % of roofline" for fw in fws) + " |", "|---" * (len(fws) + 5) + "|"]
    for name, row in data["workloads"].items():
        if "na" in row:
            rows.append(f"| {name} | n/a ({row['na']}) |" + " |" * (len(fws) + 3))
            continue
        cells = ["n/a" if row["fraction"].get(fw) is None else f"{100 * row['fraction'][fw]:.1f}%" for fw in fws]
        rows.append(f"| {name} | {row['flops'] / 1e6:.4g} | {row['bytes'] / 1e6:.4g} | {row['intensity']:.3g} | "
                    f"{row['bound_ms']:.4g} ({row['bound_by']}) | " + " | ".join(cells) + " |")
    return rows
