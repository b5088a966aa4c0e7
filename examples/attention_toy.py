"""A one-block transformer learns to reverse sequences of 6 tokens (vocabulary of 8).

Token and learned position embeddings -> one TransformerEncoderLayer (2 heads,
pre-norm) -> per-position logits. Nothing but attention can move a token to the
mirrored position, so per-token accuracy near 100% means attention learned it. Saves the
loss per step as attention_toy.png in --out (--quick: 100 steps instead of 200).

    python examples/attention_toy.py [--out DIR] [--quick]
"""
from __future__ import annotations

import time

import numpy as np

import graphc as gc
from _common import parse_args, training_result
from graphc import losses, nn, optim

LENGTH, VOCAB, WIDTH = 6, 8, 32


class Reverser(nn.Module):
    def __init__(self, seed: int = 0):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.tokens = nn.Embedding(VOCAB, WIDTH, rng=rng)
        self.positions = nn.Embedding(LENGTH, WIDTH, rng=rng)
        self.block = nn.TransformerEncoderLayer(WIDTH, 2, 64, norm_first=True, rng=rng)
        self.out = nn.Dense(WIDTH, VOCAB, rng=rng)

    def forward(self, ids: gc.Tensor) -> gc.Tensor:
        h = self.tokens(ids) + self.positions(gc.constant(np.arange(LENGTH)))
        return self.out(self.block(h))


def train(iterations: int = 200, seed: int = 0) -> tuple[float, list[float]]:
    """Train on fresh random sequences; return per-token accuracy on 1000 new ones and the loss per step."""
    rng = np.random.default_rng(seed)
    model = Reverser(seed)
    ids = gc.placeholder((None, LENGTH), "int64", name="ids")
    target = gc.placeholder((None, LENGTH), "int64", name="reversed")
    logits = model(ids)
    loss = losses.cross_entropy(logits, target)
    step = gc.function([ids, target], loss, updates=optim.Adam(model.parameters(), lr=3e-3).updates(loss))
    curve = []
    for i in range(iterations):
        x = rng.integers(0, VOCAB, (64, LENGTH))
        curve.append(float(step(x, x[:, ::-1])))
        if (i + 1) % 50 == 0:
            print(f"step {i + 1:4d}  loss {curve[-1]:.4f}")
    x = rng.integers(0, VOCAB, (1000, LENGTH))
    return float(np.mean(gc.function([ids], gc.argmax(logits, axis=-1))(x) == x[:, ::-1])), curve


def main(argv: list[str] | None = None) -> dict[str, float]:
    args = parse_args(__doc__, argv)
    start = time.perf_counter()
    acc, curve = train(100 if args.quick else 200)
    print(f"transformer reversing {LENGTH} tokens: per-token test accuracy {acc:.2%} "
          f"({time.perf_counter() - start:.1f} s)")
    return training_result(curve, acc, args.out, "attention_toy.png", "Adam step (64 fresh sequences each)",
                           f"reversing {LENGTH} tokens")


if __name__ == "__main__":
    main()
