"""Real-weight models in plain PyTorch, exported with torch.onnx.export (needs torch: import this module lazily).

torchvision is not a dependency, so its ResNet-18 and MobileNet-v2 are written here layer for layer
(torchvision's module structure and initialization), with a width knob so that tests can run the same
architecture small; plus a small transformer encoder (token and position embeddings, pre-LayerNorm blocks
with multi-head self-attention and an exact-GELU MLP, mean pooling, a classifier). Weights are random from
a seed: what these models check is that graphc computes what onnxruntime computes on the graph
torch.onnx.export writes (every op with real values), not accuracy.

The exporter is the TorchScript one (`dynamo=False`): torch 2.13's default, the torch.export-based
exporter, needs `onnxscript`, which graphc does not depend on; the TorchScript exporter is self-contained.
"""
from __future__ import annotations

import io
import math
import warnings

import torch
from torch import nn
from torch.nn import functional as F

#: the opset the models are exported at (LayerNormalization is an ONNX op from 17)
OPSET = 17


def _conv_bn(c_in: int, c_out: int, k: int, stride: int = 1, groups: int = 1, relu: str | None = "relu"
             ) -> nn.Sequential:
    """conv (no bias) - BatchNorm - activation, torchvision's Conv2dNormActivation."""
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, k, stride, (k - 1) // 2, groups=groups, bias=False),
                               nn.BatchNorm2d(c_out)]
    if relu == "relu":
        layers.append(nn.ReLU(inplace=True))
    elif relu == "relu6":
        layers.append(nn.ReLU6(inplace=True))
    return nn.Sequential(*layers)


class BasicBlock(nn.Module):
    """torchvision's ResNet basic block: conv3x3(stride)-BN-ReLU-conv3x3-BN + shortcut, ReLU."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.downsample = None
        if stride != 1 or c_in != c_out:
            self.downsample = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


class ResNet18(nn.Module):
    """torchvision.models.resnet18: stem conv7x7/2-BN-ReLU-maxpool3x3/2, four stages of two basic blocks
    (width, 2, 4, 8 times `width` channels; stride 2 into stages 2-4), global average pooling, a linear head."""

    def __init__(self, width: int = 64, classes: int = 1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        stages, c_in = [], width
        for i in range(4):
            c_out = width * 2 ** i
            stages.append(nn.Sequential(BasicBlock(c_in, c_out, 1 if i == 0 else 2), BasicBlock(c_out, c_out, 1)))
            c_in = c_out
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.fc = nn.Linear(c_in, classes)
        for m in self.modules():  # torchvision's initialization
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def _divisible(v: float, divisor: int = 8) -> int:
    """torchvision's _make_divisible: round channels to a multiple of 8, never below 90% of v."""
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * v else new


class InvertedResidual(nn.Module):
    """MobileNet-v2's block: 1x1 expand-BN-ReLU6 (unless expansion 1), depthwise 3x3-BN-ReLU6, 1x1 project-BN;
    a residual connection where stride is 1 and the channels match."""

    def __init__(self, c_in: int, c_out: int, stride: int, expand: int):
        super().__init__()
        hidden = c_in * expand
        layers = [] if expand == 1 else [_conv_bn(c_in, hidden, 1, relu="relu6")]
        layers += [_conv_bn(hidden, hidden, 3, stride, groups=hidden, relu="relu6"),
                   _conv_bn(hidden, c_out, 1, relu=None)]
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.residual else self.conv(x)


class MobileNetV2(nn.Module):
    """torchvision.models.mobilenet_v2 with its width multiplier; dropout is identity in eval mode."""

    #: (expansion, channels, repeats, first stride) per stage, torchvision's table
    STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))

    def __init__(self, width_mult: float = 1.0, classes: int = 1000):
        super().__init__()
        c_in = _divisible(32 * width_mult)
        last = _divisible(1280 * max(1.0, width_mult))
        layers: list[nn.Module] = [_conv_bn(3, c_in, 3, 2, relu="relu6")]
        for t, c, n, s in self.STAGES:
            c_out = _divisible(c * width_mult)
            for i in range(n):
                layers.append(InvertedResidual(c_in, c_out, s if i == 0 else 1, t))
                c_in = c_out
        layers.append(_conv_bn(c_in, last, 1, relu="relu6"))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(last, classes))
        for m in self.modules():  # torchvision's initialization
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(x, 1))


class EncoderBlock(nn.Module):
    """A pre-LayerNorm transformer encoder block: x + attn(ln1(x)), then x + mlp(ln2(x)); bidirectional
    multi-head attention with separate query, key and value projections; exact (erf) GELU."""

    def __init__(self, d: int, heads: int, mlp: int):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.q, self.k, self.v, self.proj = (nn.Linear(d, d) for _ in range(4))
        self.fc, self.out = nn.Linear(d, mlp), nn.Linear(mlp, d)
        self.heads = heads

    def attend(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = (f(x).reshape(b, t, self.heads, d // self.heads).transpose(1, 2) for f in (self.q, self.k, self.v))
        scores = q @ k.transpose(-2, -1) / math.sqrt(d // self.heads)
        return self.proj((scores.softmax(-1) @ v).transpose(1, 2).reshape(b, t, d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attend(self.ln1(x))
        return x + self.out(F.gelu(self.fc(self.ln2(x))))


class TinyTransformer(nn.Module):
    """A small transformer encoder classifier over token ids (batch, tokens): embeddings, blocks, a final
    LayerNorm, mean over tokens, a linear head."""

    def __init__(self, vocab: int = 100, context: int = 16, d: int = 32, heads: int = 4, mlp: int = 64,
                 blocks: int = 2, classes: int = 10):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, d), nn.Parameter(0.02 * torch.randn(context, d))
        self.blocks = nn.Sequential(*(EncoderBlock(d, heads, mlp) for _ in range(blocks)))
        self.ln_f, self.head = nn.LayerNorm(d), nn.Linear(d, classes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        h = self.blocks(self.wte(ids) + self.wpe[:ids.shape[1]])
        return self.head(self.ln_f(h).mean(1))


class SmallCNN(nn.Module):
    """The fine-tuning model: conv3x3-(BN)-ReLU-maxpool2, conv3x3-ReLU, global average pooling, a linear head."""

    def __init__(self, channels: tuple[int, int] = (8, 16), classes: int = 10, batch_norm: bool = False):
        super().__init__()
        c1, c2 = channels
        self.conv1 = nn.Conv2d(3, c1, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(c1) if batch_norm else nn.Identity()
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)
        self.fc = nn.Linear(c2, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.relu(self.conv2(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def randomize_batch_norms(model: nn.Module, generator: torch.Generator) -> None:
    """Give every BatchNorm non-trivial running statistics and affine parameters, so that the exported
    (folded or not) normalization is exercised with real values rather than torchvision's identity at init."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            with torch.no_grad():
                m.weight.copy_(0.5 + torch.rand(c, generator=generator))
                m.bias.copy_(0.1 * torch.randn(c, generator=generator))
                m.running_mean.copy_(0.1 * torch.randn(c, generator=generator))
                m.running_var.copy_(0.5 + torch.rand(c, generator=generator))


def export(model: nn.Module, example: torch.Tensor, input_name: str, *, training: bool = False,
           dynamic_batch: bool = True) -> bytes:
    """The model as ONNX bytes, from the TorchScript exporter at OPSET; eval mode folds BatchNorm into the
    convolutions (as a deployed model is), training mode keeps BatchNormalization nodes with training_mode=1
    and every parameter as an initializer named as in the state dict."""
    mode = torch.onnx.TrainingMode.TRAINING if training else torch.onnx.TrainingMode.EVAL
    model.train(training)
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(model, (example,), f, dynamo=False, opset_version=OPSET, input_names=[input_name],
                          output_names=["logits"], training=mode, do_constant_folding=not training,
                          dynamic_axes={input_name: {0: "batch"}, "logits": {0: "batch"}} if dynamic_batch else None)
    return f.getvalue()
