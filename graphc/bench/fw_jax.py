"""The workloads in JAX: jax.jit of value_and_grad plus a hand-written optimizer update, float32."""
from __future__ import annotations

from typing import Callable

from .workloads import Problem, Workload, batch_norms, dense_layers, gpt, layer_names, resnet


def build(p: Problem, threads: int) -> Callable[[], object]:
    """One jitted training step (threads come from XLA_FLAGS, set before JAX loads); returns the loss."""
    import jax
    import jax.numpy as jnp
    from jax import lax
    jax.config.update("jax_enable_x64", False)
    w = p.workload
    act = {"sigmoid": jax.nn.sigmoid, "tanh": jnp.tanh, "relu": jax.nn.relu}[w.activation]
    pool = lambda h: lax.reduce_window(h, -jnp.inf, lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")  # noqa: E731

    def conv(h, weight, bias, pad):
        out = lax.conv_general_dilated(h, weight, (1, 1), [(pad, pad)] * 2, dimension_numbers=("NCHW", "OIHW", "NCHW"))
        return out + bias[None, :, None, None]

    def forward(t, x):
        if w.model == "gpt":
            return gpt_logits(t, x, w)
        if w.model == "mlp":
            return dense_layers(t, x, layer_names(w), act)
        if w.model == "lenet":
            h = pool(jax.nn.relu(conv(x, t["conv1.weight"], t["conv1.bias"], 2)))
            h = pool(jax.nn.relu(conv(h, t["conv2.weight"], t["conv2.bias"], 0))).reshape(x.shape[0], -1)
            return dense_layers(t, h, layer_names(w), jax.nn.relu)
        n = w.sizes[2]
        xw = jnp.swapaxes(x @ t["lstm.weight_ih"].T + t["lstm.bias_ih"], 0, 1)  # time first

        def cell(state, xt):
            h, c = state
            z = xt + h @ t["lstm.weight_hh"].T + t["lstm.bias_hh"]
            i, f, g, o = (z[:, k * n:(k + 1) * n] for k in range(4))
            c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
            return (jax.nn.sigmoid(o) * jnp.tanh(c), c), None
        zeros = jnp.zeros((x.shape[0], n), jnp.float32)
        (h, _c), _ = lax.scan(cell, (zeros, zeros), xw)
        return h @ t["head.weight"] + t["head.bias"]

    def loss_fn(t, stats, x, y):
        out, stats = resnet_forward(t, stats, x, w) if w.model == "resnet" else (forward(t, x), stats)
        if w.loss == "mse":
            return jnp.mean(jnp.square(out - y)), stats
        if w.model == "gpt":  # integer next-token targets
            return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(out, axis=-1), y[..., None], axis=-1)), stats
        return -jnp.mean(jnp.sum(y * jax.nn.log_softmax(out, axis=-1), axis=-1)), stats

    def update(t, state, grads):
        if w.clip_norm is not None:  # torch.nn.utils.clip_grad_norm_
            norm = jnp.sqrt(sum(jnp.sum(jnp.square(g)) for g in grads.values()))
            coef = jnp.minimum(w.clip_norm / (norm + 1e-6), 1.0)
            grads = {k: g * coef for k, g in grads.items()}
        if w.optimizer == "adamw":  # decoupled weight decay before the Adam step, as torch.optim.AdamW
            t = {k: q * (1 - w.lr * w.weight_decay) for k, q in t.items()}
        elif w.weight_decay:  # torch.optim's coupled L2
            grads = {k: grads[k] + w.weight_decay * t[k] for k in t}
        if w.optimizer == "sgd":
            return {k: t[k] - w.lr * grads[k] for k in t}, state
        if w.optimizer == "momentum":
            v = {k: 0.9 * state[k] + grads[k] for k in t}
            return {k: t[k] - w.lr * v[k] for k in t}, v
        m, v, step = state
        step = step + 1.0
        m = {k: 0.9 * m[k] + 0.1 * grads[k] for k in t}
        v = {k: 0.999 * v[k] + 0.001 * grads[k] ** 2 for k in t}
        size, bc2 = w.lr / (1 - 0.9 ** step), jnp.sqrt(1 - 0.999 ** step)
        return {k: t[k] - size * m[k] / (jnp.sqrt(v[k]) / bc2 + 1e-8) for k in t}, (m, v, step)

    @jax.jit
    def train_step(t, state, stats, x, y):
        (loss, stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(t, stats, x, y)
        t, state = update(t, state, grads)
        return loss, t, state, stats

    t = {k: jnp.asarray(v) for k, v in p.params.items()}
    zeros = {k: jnp.zeros_like(v) for k, v in t.items()}
    state = (zeros, dict(zeros), jnp.float32(0)) if w.optimizer in ("adam", "adamw") else zeros
    stats = {name: (jnp.zeros(c), jnp.ones(c)) for name, c in batch_norms(w)} if w.model == "resnet" else {}
    x, y = jnp.asarray(p.x), jnp.asarray(p.y)

    def step():
        nonlocal t, state, stats
        loss, t, state, stats = train_step(t, state, stats, x, y)
        return loss.block_until_ready()
    return step


def resnet_forward(t: dict, stats: dict, x, w: Workload) -> tuple:
    """A ResNet's logits and its BatchNorms' new running statistics (name -> (mean, var)), updated as torch does:
    momentum 0.1, the unbiased batch variance."""
    import jax
    import jax.numpy as jnp
    from jax import lax
    new = {}

    def conv(h, weight, stride):
        pad = weight.shape[-1] // 2
        return lax.conv_general_dilated(h, weight, (stride, stride), [(pad, pad)] * 2,
                                        dimension_numbers=("NCHW", "OIHW", "NCHW"))

    def norm(h, name):
        mean, var = jnp.mean(h, (0, 2, 3)), jnp.var(h, (0, 2, 3))
        n = h.size // h.shape[1]
        old_mean, old_var = stats[name]
        new[name] = (0.9 * old_mean + 0.1 * mean, 0.9 * old_var + 0.1 * var * (n / (n - 1)))
        shape = (1, -1, 1, 1)
        scaled = (h - mean.reshape(shape)) * lax.rsqrt(var.reshape(shape) + 1e-5)
        return scaled * t[f"{name}.weight"].reshape(shape) + t[f"{name}.bias"].reshape(shape)
    out = resnet(t, x, conv, norm, jax.nn.relu, lambda h: jnp.mean(h, (2, 3)), w)
    return out, new


def gpt_logits(t: dict, ids, w: Workload):
    """A GPT decoder's logits (workloads.gpt): LayerNorm and causal softmax attention written out, exact GELU."""
    import jax
    import jax.numpy as jnp
    d, heads = w.sizes[3], w.sizes[4]
    n = ids.shape[1]
    causal = jnp.tril(jnp.ones((n, n), bool))

    def norm(h, name):  # torch's LayerNorm: biased variance, eps 1e-5
        mean = jnp.mean(h, axis=-1, keepdims=True)
        var = jnp.mean(jnp.square(h - mean), axis=-1, keepdims=True)
        return (h - mean) / jnp.sqrt(var + 1e-5) * t[f"{name}.weight"] + t[f"{name}.bias"]

    def attend(q, k, v):
        scores = jnp.where(causal, q @ k.swapaxes(-1, -2) / jnp.sqrt(jnp.float32(d // heads)), -jnp.inf)
        return jax.nn.softmax(scores, axis=-1) @ v

    return gpt(t, ids, w, lambda i: t["wte"][i], norm, attend, lambda z: jax.nn.gelu(z, approximate=False))
