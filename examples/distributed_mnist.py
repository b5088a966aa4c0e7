"""Data-parallel training on MPI: a small CNN with synchronized BatchNorm on the 8x8 digits.

Every rank builds the same model; `gc.distributed.fit` broadcasts rank 0's weights, gives each rank
its slice of every global batch of 64 images, sums the gradients with one allreduce per step and
applies the same Adam update everywhere, so 2 ranks train exactly as one process with batch 64.
Rank 0 alone prints, and writes the loss curve (distributed_mnist.png) and the checkpoint
(distributed_mnist.npz) into --out (--quick: 2 epochs instead of 10). Needs `pip install 'graphc[mpi]'`.

    mpiexec -n 2 python examples/distributed_mnist.py [--out DIR] [--quick]
"""
from __future__ import annotations

import os
import time

import numpy as np

import graphc as gc
from _common import parse_args, training_result, wrote
from graphc import data, losses, nn, optim
from graphc import distributed as dist


def small_cnn(seed: int = 0) -> nn.Sequential:
    """conv 3x3 (8 maps, no bias: the BatchNorm cancels it) -> SyncBatchNorm -> relu -> pool -> 10 logits."""
    rng = np.random.default_rng(seed)
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, bias=False, rng=rng), dist.SyncBatchNorm(8), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Dense(8 * 4 * 4, 10, rng=rng))


def main(argv: list[str] | None = None) -> dict[str, float]:
    args = parse_args(__doc__, argv)
    world = dist.init()
    x, y = data.digits()
    (x_tr, y_tr), (x_te, y_te) = data.train_val_split(x.reshape(-1, 1, 8, 8), y, val_fraction=0.2, seed=0)
    model = small_cnn()
    checkpoint = os.path.join(args.out, "distributed_mnist.npz")
    start = time.perf_counter()
    history = dist.fit(model, losses.cross_entropy, optim.Adam(model.parameters(), lr=3e-3), x_tr, y_tr,
                       epochs=2 if args.quick else 10, batch_size=64, drop_last=True, checkpoint=checkpoint)
    seconds = time.perf_counter() - start
    acc = gc.train.evaluate(model, losses.cross_entropy, x_te, y_te,
                            {"accuracy": lambda t, p: gc.metrics.accuracy(t, gc.train.classify(p))})["accuracy"]
    if not world.root:
        return {"accuracy": acc}
    for epoch, loss in enumerate(history["loss"]):
        print(f"epoch {epoch + 1:2d}  loss {loss:.4f}")
    print(f"{world.size} ranks, global batch 64: test accuracy {acc:.2%} ({seconds:.1f} s)")
    wrote(checkpoint)
    return training_result(history["loss"], acc, args.out, "distributed_mnist.png", "epoch",
                           f"{world.size} ranks", log=False)


if __name__ == "__main__":
    main()
