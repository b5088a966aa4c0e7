"""The ONNX models `graphc bench --onnx` times and the ONNX model tests run (needs onnx; torch for three of them).

- The "light" model-zoo models shipped in the onnx wheel (onnx/backend/test/data/light): AlexNet,
  ZFNet-512, VGG-19, Inception v1 and v2, ResNet-50, DenseNet-121, SqueezeNet, ShuffleNet. Their weights
  are `ConstantOfShape` fills of 0.02 (every output a uniform softmax), so `light()` replaces each fill by
  a random initializer of the same shape, scaled for its role (He-normal convolution and dense weights;
  BatchNorm scales and variances around 1), and sets the batch size (the input's first dimension and the
  leading 1 of every Reshape target that carries activations).
- Three models exported by torch.onnx.export from plain-torch definitions with random weights
  (graphc.bench.torch_models): ResNet-18 and MobileNet-v2 (torchvision's, at 224x224) and a small
  transformer encoder over token ids.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np

if TYPE_CHECKING:
    import onnx

#: the light model-zoo models, by the bench's name -> the file's stem in onnx/backend/test/data/light
LIGHT = {"alexnet": "light_bvlc_alexnet", "zfnet512": "light_zfnet512", "vgg19": "light_vgg19",
         "inception_v1": "light_inception_v1", "inception_v2": "light_inception_v2",
         "resnet50": "light_resnet50", "densenet121": "light_densenet121", "squeezenet": "light_squeezenet",
         "shufflenet": "light_shufflenet"}
#: the torch.onnx.export models (graphc.bench.torch_models)
TORCH = ("resnet18", "mobilenet_v2", "transformer")
MODELS = tuple(LIGHT) + TORCH
#: the batch the light models' logits are tempered on
TEMPER_BATCH = 4


def light_dir() -> str:
    """The folder of the light models in the installed onnx wheel."""
    import onnx
    return os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light")


def _consumers(graph: onnx.GraphProto) -> dict[str, list[tuple[onnx.NodeProto, int]]]:
    out: dict[str, list[tuple[onnx.NodeProto, int]]] = {}
    for node in graph.node:
        for k, name in enumerate(node.input):
            out.setdefault(name, []).append((node, k))
    return out


def _role(name: str, consumers: dict) -> tuple[str, int]:
    """What a filled tensor is for, looking through Unsqueeze and Reshape: ("weight", fan_in axis), ("scale", 0)
    (BatchNorm scale or variance, or a Mul's factor) or ("shift", 0) (biases, means, an Add's term)."""
    for node, k in consumers.get(name, []):
        if node.op_type in ("Unsqueeze", "Reshape") and k == 0:
            return _role(node.output[0], consumers)
        if node.op_type == "Conv" and k == 1:
            return "weight", 1
        if node.op_type == "Gemm" and k == 1:
            trans_b = next((a.i for a in node.attribute if a.name == "transB"), 0)
            return "weight", 1 if trans_b else 0
        if node.op_type == "Gemm" and k == 0:
            trans_a = next((a.i for a in node.attribute if a.name == "transA"), 0)
            return "weight", 0 if trans_a else 1
        if node.op_type == "BatchNormalization" and k == 1 and _residual(node.output[0], consumers):
            return "residual scale", 0
        if (node.op_type == "BatchNormalization" and k in (1, 4)) or node.op_type == "Mul":
            return "scale", 0
    return "shift", 0


def _residual(name: str, consumers: dict) -> bool:
    """Whether `name` (a BatchNorm's output) is summed into a residual connection (through a ReLU or not)."""
    for node, _ in consumers.get(name, []):
        if node.op_type in ("Sum", "Add") or (node.op_type == "Relu" and _residual(node.output[0], consumers)):
            return True
    return False


def _random(shape: tuple[int, ...], role: tuple[str, int], rng: np.random.Generator) -> np.ndarray:
    kind, axis = role
    f32 = np.float32
    if kind == "weight" and len(shape) >= 2:
        fan_in = shape[axis] if axis == 0 else int(np.prod(shape[1:]))
        return rng.standard_normal(shape, f32) * f32(np.sqrt(2.0 / fan_in))
    if kind == "scale":
        return rng.uniform(0.5, 1.5, shape).astype(f32)
    if kind == "residual scale":  # small, so that the sum of branches keeps its scale through many blocks
        return rng.uniform(0.1, 0.3, shape).astype(f32)
    return f32(0.1) * rng.standard_normal(shape, f32)


def _batch_dependent(graph: onnx.GraphProto, inits: set[str]) -> set[str]:
    """Names of the values computed from a graph input (not from initializers and fills alone)."""
    live = {i.name for i in graph.input if i.name not in inits}
    for node in graph.node:  # ONNX nodes are topologically sorted
        if node.op_type != "ConstantOfShape" and any(i in live for i in node.input):
            live.update(node.output)
    return live


def randomize(model: onnx.ModelProto, seed: int = 0) -> onnx.ModelProto:
    """A copy of a light model with every ConstantOfShape fill replaced by a random initializer."""
    import onnx
    from onnx import numpy_helper
    model = onnx.ModelProto.FromString(model.SerializeToString())
    g, rng = model.graph, np.random.default_rng(seed)
    inits = {t.name: t for t in g.initializer}
    consumers = _consumers(g)
    fills = [n for n in g.node if n.op_type == "ConstantOfShape"]
    shapes = {n.input[0] for n in fills}
    for node in fills:
        shape = tuple(int(d) for d in numpy_helper.to_array(inits[node.input[0]]))
        value = _random(shape, _role(node.output[0], consumers), rng)
        g.initializer.append(numpy_helper.from_array(value, node.output[0]))
        if model.ir_version < 4:  # IR 3 lists every initializer among the graph's inputs
            g.input.append(onnx.helper.make_tensor_value_info(node.output[0], onnx.TensorProto.FLOAT, shape))
    for field, keep in ((g.node, [n for n in g.node if n.op_type != "ConstantOfShape"]),
                        (g.initializer, [t for t in g.initializer if t.name not in shapes]),
                        (g.input, [i for i in g.input if i.name not in shapes])):
        del field[:]
        field.extend(keep)
    del g.value_info[:]
    return model


def with_batch(model: onnx.ModelProto, batch: int) -> onnx.ModelProto:
    """A copy of a light model (written for a batch of 1) at `batch`: the data input's and the output's first
    dimension, and the leading 1 of every Reshape target that carries activations."""
    import onnx
    from onnx import numpy_helper
    model = onnx.ModelProto.FromString(model.SerializeToString())
    g = model.graph
    inits = {t.name: t for t in g.initializer}
    live = _batch_dependent(g, set(inits))
    for node in g.node:
        if node.op_type == "Reshape" and node.input[0] in live and node.input[1] in inits:
            target = numpy_helper.to_array(inits[node.input[1]]).copy()
            if target[0] == 1:
                target[0] = batch
                inits[node.input[1]].CopyFrom(numpy_helper.from_array(target, node.input[1]))
    for value in [v for v in g.input if v.name not in inits] + list(g.output):
        value.type.tensor_type.shape.dim[0].dim_value = batch
    return model


def _source(name: str, producer: dict, inits: dict) -> str | None:
    """The initializer that is `name` or that a Reshape of it gives (Inception v1's dense weight), else None."""
    node = producer.get(name)
    if node is not None and node.op_type == "Reshape":
        name = node.input[0]
    return name if name in inits else None


def temper(model: onnx.ModelProto, seed: int = 0, std: float = 2.0) -> onnx.ModelProto:
    """Scale the dense layer that feeds the model's final Softmax so that its logits on TEMPER_BATCH random
    inputs (run in onnxruntime) have standard deviation `std`: random weights through 50 layers leave logits in
    the hundreds and a one-hot softmax, which would check little beyond the arg max. Other endings are left."""
    import onnx
    from onnx import numpy_helper
    import onnxruntime as ort
    g = model.graph
    producer = {o: n for n in g.node for o in n.output}
    last = producer.get(g.output[0].name)
    dense = producer.get(last.input[0]) if last is not None and last.op_type == "Softmax" else None
    inits = {t.name: t for t in g.initializer}
    if dense is None or dense.op_type != "Gemm":
        return model
    weights = [_source(name, producer, inits) for name in dense.input[1:]]
    if None in weights:
        return model
    probe = with_batch(model, TEMPER_BATCH)
    probe.graph.output.append(onnx.ValueInfoProto(name=dense.output[0]))
    session = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    logits = session.run([dense.output[0]], inputs(probe, TEMPER_BATCH, seed))[0]
    factor = np.float32(std / float(logits.std(axis=-1).mean()))
    for name in weights:
        inits[name].CopyFrom(numpy_helper.from_array(numpy_helper.to_array(inits[name]) * factor, name))
    return model


def light(name: str, batch: int = 1, seed: int = 0) -> onnx.ModelProto:
    """The light model-zoo model `name` (a key of LIGHT) with random weights, tempered (`temper`), at `batch`;
    every batch size gets the same weights."""
    import onnx
    model = temper(randomize(onnx.load(os.path.join(light_dir(), LIGHT[name] + ".onnx")), seed), seed)
    return model if batch == 1 else with_batch(model, batch)


@dataclass(frozen=True)
class TorchSpec:
    """A torch.onnx.export model: its builder (seeded torch module), its input's name and one example row."""

    build: Callable[[], object]
    input_name: str
    example: Callable[[int, np.random.Generator], np.ndarray]


def _image(size: int) -> Callable[[int, np.random.Generator], np.ndarray]:
    return lambda batch, rng: rng.standard_normal((batch, 3, size, size)).astype(np.float32)


#: the transformer encoder the bench times: BERT-mini's shape (4 blocks of width 256, 4 heads), 128 tokens
BENCH_TRANSFORMER = {"vocab": 1000, "context": 128, "d": 256, "heads": 4, "mlp": 1024, "blocks": 4, "classes": 10}


def torch_specs(small: bool = False) -> dict[str, TorchSpec]:
    """The torch models at their bench size (torchvision's, 224x224; the transformer BENCH_TRANSFORMER) or,
    `small`, narrower and on 32x32 images, the transformer's defaults (the same architectures, for tests)."""
    from . import torch_models as tm
    size, tokens = (32, 16) if small else (224, BENCH_TRANSFORMER["context"])
    return {
        "resnet18": TorchSpec(lambda: tm.ResNet18(8 if small else 64, 10 if small else 1000), "x", _image(size)),
        "mobilenet_v2": TorchSpec(lambda: tm.MobileNetV2(0.25 if small else 1.0, 10 if small else 1000), "x",
                                  _image(size)),
        "transformer": TorchSpec(tm.TinyTransformer if small else lambda: tm.TinyTransformer(**BENCH_TRANSFORMER),
                                 "ids", lambda batch, rng: rng.integers(0, 100, (batch, tokens)).astype(np.int64)),
    }


def exported(name: str, seed: int = 0, small: bool = False) -> onnx.ModelProto:
    """The torch model `name` with random weights from `seed`, exported (eval mode, a dynamic batch)."""
    import onnx
    import torch

    from . import torch_models as tm
    spec = torch_specs(small)[name]
    torch.manual_seed(seed)
    model = spec.build()
    tm.randomize_batch_norms(model, torch.Generator().manual_seed(seed))
    example = torch.from_numpy(spec.example(2, np.random.default_rng(seed)))
    return onnx.load_from_string(tm.export(model, example, spec.input_name))


def inputs(model: onnx.ModelProto, batch: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Random inputs for the model's graph inputs (the initializers excepted) at `batch`: standard normal
    floats, integers in [0, 100) (the transformer's token ids)."""
    import onnx
    rng = np.random.default_rng(seed)
    inits = {t.name for t in model.graph.initializer}
    out = {}
    for value in model.graph.input:
        if value.name in inits:
            continue
        t = value.type.tensor_type
        shape = [batch if i == 0 else d.dim_value for i, d in enumerate(t.shape.dim)]
        dtype = onnx.helper.tensor_dtype_to_np_dtype(t.elem_type)
        out[value.name] = (rng.integers(0, 100, shape) if dtype.kind == "i" else rng.standard_normal(shape)
                           ).astype(dtype)
    return out
