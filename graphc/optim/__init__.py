"""`gc.optim`: optimizers whose updates are graphs, compiled into the training step.

    opt = gc.optim.Adam(model.parameters(), lr=1e-3, schedule=gc.optim.Cosine(1000))
    step = gc.function([x, y], loss, updates=opt.updates(loss))
"""
from .base import Optimizer, clip_by_global_norm
from .rules import SGD, AdaGrad, Adam, AdamW, Momentum, Nesterov, RMSProp
from .schedules import Cosine, ExponentialDecay, Schedule, StepDecay, Warmup

__all__ = ["Optimizer", "clip_by_global_norm", "SGD", "AdaGrad", "Adam", "AdamW", "Momentum", "Nesterov",
           "RMSProp", "Cosine", "ExponentialDecay", "Schedule", "StepDecay", "Warmup"]
