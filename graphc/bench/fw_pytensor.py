"""The workloads in PyTensor: shared variables, pytensor.grad and a function with updates.

PyTensor runs on Numba when Numba is importable, else on its C backend (the worker sets
PYTENSOR_FLAGS before the import). PyTensor 3 has no batched 2-D convolution, so LeNet's
convolutions are written as im2col (shifted slices stacked, then one tensordot).
"""
from __future__ import annotations

from typing import Callable

from .workloads import Problem, dense_layers, layer_names


def build(p: Problem, threads: int) -> Callable[[], object]:
    """One compiled training step; calling it returns the loss before the update."""
    w = p.workload
    if w.model == "gpt":
        raise NotImplementedError("no PyTensor adapter for the GPT decoder: not written (PyTensor was not installed "
                                  "where W6 was added, so one could not be checked)")
    if w.model == "resnet":  # the report shows the reason in the framework's cell
        raise NotImplementedError("no W7 for PyTensor: it has no batched 2-D convolution, and the im2col that stands "
                                  "in for it on W4 has neither strides nor BatchNorm")
    import pytensor
    import pytensor.tensor as pt
    t = {k: pytensor.shared(v, name=k) for k, v in p.params.items()}
    x = pt.tensor("x", dtype="float32", shape=p.x.shape)
    y = pt.tensor("y", dtype="float32", shape=p.y.shape)
    relu = lambda h: pt.maximum(h, 0)  # noqa: E731
    act = {"sigmoid": pt.sigmoid, "tanh": pt.tanh, "relu": relu}[w.activation]

    def conv(h, name, pad, shape):
        n, c, hh, ww = shape
        weight, bias = t[f"{name}.weight"], t[f"{name}.bias"]
        out_c, _, k, _ = p.params[f"{name}.weight"].shape
        if pad:
            h = pt.set_subtensor(pt.zeros((n, c, hh + 2 * pad, ww + 2 * pad), "float32")[:, :, pad:-pad, pad:-pad], h)
            hh, ww = hh + 2 * pad, ww + 2 * pad
        oh, ow = hh - k + 1, ww - k + 1
        cols = pt.stack([h[:, :, i:i + oh, j:j + ow] for i in range(k) for j in range(k)], axis=2)
        cols = cols.reshape((n, c * k * k, oh, ow))
        out = pt.tensordot(weight.reshape((out_c, c * k * k)), cols, axes=[[1], [1]])
        return out.dimshuffle(1, 0, 2, 3) + bias.dimshuffle("x", 0, "x", "x")

    def pool(h, shape):
        n, c, hh, ww = shape
        return h.reshape((n, c, hh // 2, 2, ww // 2, 2)).max(axis=(3, 5))

    def forward():
        if w.model == "mlp":
            return dense_layers(t, x, layer_names(w), act)
        if w.model == "lenet":
            n = w.batch
            h = pool(relu(conv(x, "conv1", 2, (n, 1, 28, 28))), (n, 6, 28, 28))
            h = pool(relu(conv(h, "conv2", 0, (n, 6, 14, 14))), (n, 16, 10, 10))
            return dense_layers(t, h.reshape((n, 400)), layer_names(w), relu)
        hidden = w.sizes[2]
        xw = (pt.dot(x, t["lstm.weight_ih"].T) + t["lstm.bias_ih"]).dimshuffle(1, 0, 2)

        def cell(xt, h, c):
            z = xt + pt.dot(h, t["lstm.weight_hh"].T) + t["lstm.bias_hh"]
            i, f, g, o = (z[:, k * hidden:(k + 1) * hidden] for k in range(4))
            c = pt.sigmoid(f) * c + pt.sigmoid(i) * pt.tanh(g)
            return pt.sigmoid(o) * pt.tanh(c), c
        zeros = pt.zeros((w.batch, hidden), "float32")
        (hs, _cs) = pytensor.scan(cell, sequences=[xw], outputs_info=[zeros, zeros], return_updates=False)
        return pt.dot(hs[-1], t["head.weight"]) + t["head.bias"]

    out = forward()
    if w.loss == "mse":
        loss = pt.mean(pt.sqr(out - y))
    else:
        loss = -pt.mean(pt.sum(y * pt.special.log_softmax(out, axis=-1), axis=-1))
    params = list(t.values())
    grads = pytensor.grad(loss, params)
    updates = []
    if w.optimizer == "sgd":
        updates = [(q, q - w.lr * g) for q, g in zip(params, grads)]
    elif w.optimizer == "momentum":
        for q, g in zip(params, grads):
            v = pytensor.shared(q.get_value() * 0, name=f"{q.name}.velocity")
            v_new = 0.9 * v + g
            updates += [(v, v_new), (q, q - w.lr * v_new)]
    else:
        step = pytensor.shared(0.0, name="step")  # float64, as torch's and graphc's step counters
        k = step + 1.0
        size = pt.cast(w.lr / (1 - 0.9 ** k), "float32")
        bc2 = pt.cast(pt.sqrt(1 - 0.999 ** k), "float32")
        updates.append((step, k))
        for q, g in zip(params, grads):
            m = pytensor.shared(q.get_value() * 0, name=f"{q.name}.m")
            v = pytensor.shared(q.get_value() * 0, name=f"{q.name}.v")
            m_new, v_new = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
            updates += [(m, m_new), (v, v_new), (q, q - size * m_new / (pt.sqrt(v_new) / bc2 + 1e-8))]
    fn = pytensor.function([x, y], loss, updates=updates)
    return lambda: fn(p.x, p.y)
