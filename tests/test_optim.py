"""gc.optim trajectories against torch.optim: 20 steps, float64, identical weights and data."""
import math

import numpy as np
import pytest

import graphc as gc
from graphc import optim
from torchref import reference

RNG = np.random.default_rng(0)
X = RNG.standard_normal((16, 3))
Y = RNG.standard_normal((16, 2))
W1, B1 = RNG.standard_normal((3, 5)) * 0.5, RNG.standard_normal(5) * 0.1
W2, B2 = RNG.standard_normal((5, 2)) * 0.5, RNG.standard_normal(2) * 0.1
STEPS = 20

OPTIMIZERS = {  # name: (learning rate, graphc factory, torch factory of (torch, params, lr, weight decay))
    "sgd": (0.1, lambda p, lr, **kw: optim.SGD(p, lr=lr, **kw),
            lambda torch, p, lr, wd: torch.optim.SGD(p, lr=lr, weight_decay=wd)),
    "momentum": (0.05, lambda p, lr, **kw: optim.Momentum(p, lr=lr, momentum=0.9, **kw),
                 lambda torch, p, lr, wd: torch.optim.SGD(p, lr=lr, momentum=0.9, weight_decay=wd)),
    "nesterov": (0.05, lambda p, lr, **kw: optim.Nesterov(p, lr=lr, momentum=0.8, **kw),
                 lambda torch, p, lr, wd: torch.optim.SGD(p, lr=lr, momentum=0.8, nesterov=True, weight_decay=wd)),
    "adagrad": (0.1, lambda p, lr, **kw: optim.AdaGrad(p, lr=lr, **kw),
                lambda torch, p, lr, wd: torch.optim.Adagrad(p, lr=lr, weight_decay=wd)),
    "rmsprop": (0.01, lambda p, lr, **kw: optim.RMSProp(p, lr=lr, rho=0.9, **kw),
                lambda torch, p, lr, wd: torch.optim.RMSprop(p, lr=lr, alpha=0.9, weight_decay=wd)),
    "adam": (0.05, lambda p, lr, **kw: optim.Adam(p, lr=lr, betas=(0.8, 0.99), **kw),
             lambda torch, p, lr, wd: torch.optim.Adam(p, lr=lr, betas=(0.8, 0.99), weight_decay=wd)),
    "adamw": (0.05, lambda p, lr, **kw: optim.AdamW(p, lr=lr, **kw),
              lambda torch, p, lr, wd: torch.optim.AdamW(p, lr=lr, weight_decay=wd)),
}


def _warmup_cosine(k):  # Warmup(4, 0.25, Cosine(15, min_lr=0.1 lr)) as a multiplier for torch's LambdaLR
    return (0.25 + 0.75 * min(k, 4) / 4) * (0.1 + 0.9 * (1 + math.cos(math.pi * min(k, 15) / 15)) / 2)


SETTINGS = {  # name: (graphc options given lr, torch weight decay, L1 weight, clip norm, torch multiplier)
    "plain": (lambda lr: {}, 0.0, 0.0, None, None),
    "decay_clip_schedule": (lambda lr: {"weight_decay": 0.05, "clip_norm": 0.5,
                                        "schedule": optim.Warmup(4, 0.25, optim.Cosine(15, min_lr=0.1 * lr))},
                            0.05, 0.0, 0.5, _warmup_cosine),
    "l1_step": (lambda lr: {"l1": 0.01, "schedule": optim.StepDecay(6, 0.5)}, 0.0, 0.01, None,
                lambda k: 0.5 ** (k // 6)),
    "exponential": (lambda lr: {"schedule": optim.ExponentialDecay(0.9)}, 0.0, 0.0, None, lambda k: 0.9 ** k),
}


def _graphc_trajectory(make, lr, options, *, backend):
    params = [gc.parameter(v) for v in (W1, B1, W2, B2)]
    x, y = gc.placeholder((None, 3), "float64", "x"), gc.placeholder((None, 2), "float64", "y")
    out = gc.tanh(x @ params[0] + params[1]) @ params[2] + params[3]
    loss = gc.mean(gc.square(out - y))
    opt = make(params, lr, **options)
    step = gc.function([x, y], loss, updates=opt.updates(loss), backend=backend)
    trajectory = []
    for _ in range(STEPS):
        step(X, Y)
        trajectory.append([p.value.copy() for p in params])
    assert opt.step_count.value == STEPS
    return trajectory


def _torch_trajectory(make, lr, wd, l1, clip, schedule) -> dict:
    """The four parameters after each of torch's STEPS steps, each stacked as (STEPS, *shape)."""
    import torch
    params = [torch.tensor(v, requires_grad=True) for v in (W1, B1, W2, B2)]
    opt = make(torch, params, lr, wd)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule) if schedule else None
    trajectory = []
    for _ in range(STEPS):
        opt.zero_grad()
        out = torch.tanh(torch.tensor(X) @ params[0] + params[1]) @ params[2] + params[3]
        loss = ((out - torch.tensor(Y)) ** 2).mean()
        if l1:
            loss = loss + l1 * sum(p.abs().sum() for p in params)
        loss.backward()
        if clip:
            torch.nn.utils.clip_grad_norm_(params, clip)
        opt.step()
        if sched:
            sched.step()
        trajectory.append([p.detach().numpy().copy() for p in params])
    return {f"param{i}": np.stack(values) for i, values in enumerate(zip(*trajectory))}


@pytest.mark.parametrize("setting", list(SETTINGS))
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_trajectory_matches_torch(name, setting, backend, torch_key):
    lr, ours_make, torch_make = OPTIMIZERS[name]
    options, wd, l1, clip, schedule = SETTINGS[setting]
    options = options(lr)
    if name == "adamw" and not wd:  # AdamW's point is its decay: always exercise it
        options, wd = {**options, "weight_decay": 0.02}, 0.02
    ours = _graphc_trajectory(ours_make, lr, options, backend=backend)
    stored = reference(torch_key, lambda: _torch_trajectory(torch_make, lr, wd, l1, clip, schedule))
    ref = [[stored[f"param{i}"][k] for i in range(4)] for k in range(STEPS)]
    worst = max(np.abs(a - b).max() / np.abs(b).max() for sa, sb in zip(ours, ref) for a, b in zip(sa, sb))
    assert worst < 1e-6, f"{name}/{setting}: relative trajectory error {worst:.2e}"
    assert np.abs(ours[-1][0] - W1).max() > 1e-3  # the parameters really moved


def _torch_rates(theirs, steps) -> dict:
    """The learning rate torch's scheduler theirs(torch.optim.lr_scheduler, optimizer) gives SGD(lr=0.5) at
    each step."""
    import torch
    t_opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.5)
    sched = theirs(torch.optim.lr_scheduler, t_opt)
    rates = []
    for _ in range(steps):
        rates.append(sched.get_last_lr()[0])
        t_opt.step()
        sched.step()
    return {"lr": np.array(rates)}


@pytest.mark.parametrize("ours,theirs,steps", [
    (optim.StepDecay(5, 0.3), lambda s, o: s.StepLR(o, 5, 0.3), 30),
    (optim.ExponentialDecay(0.95), lambda s, o: s.ExponentialLR(o, 0.95), 30),
    (optim.Cosine(25, 0.01), lambda s, o: s.CosineAnnealingLR(o, 25, 0.01), 25),
    (optim.Warmup(10, 0.1), lambda s, o: s.LinearLR(o, 0.1, total_iters=10), 30),
], ids=["step", "exponential", "cosine", "warmup"])
def test_schedules_match_torch_schedulers(ours, theirs, steps, backend, torch_key):
    opt = optim.SGD([gc.parameter(np.zeros(1))], lr=0.5, schedule=ours)
    advance = gc.function([], opt.learning_rate(), updates=[(opt.step_count, opt.step_count + 1.0)], backend=backend)
    want = reference(torch_key, lambda: _torch_rates(theirs, steps))["lr"]
    for k in range(steps):
        assert float(advance()) == pytest.approx(want[k], rel=1e-12), f"step {k}"


def test_clip_by_global_norm_values(backend):
    a, b = gc.placeholder((2,), "float64"), gc.placeholder((1,), "float64")
    f = gc.function([a, b], optim.clip_by_global_norm([a, b], 1.0), backend=backend)
    ga, gb = f(np.array([3.0, 0.0]), np.array([4.0]))
    np.testing.assert_allclose(np.r_[ga, gb], np.array([3.0, 0.0, 4.0]) / (5 + 1e-6))
    small = f(np.array([0.3, 0.0]), np.array([0.4]))  # inside the norm ball: unchanged
    np.testing.assert_allclose(np.r_[small[0], small[1]], [0.3, 0.0, 0.4])


def test_optimizer_errors_and_state():
    with pytest.raises(gc.GraphcError, match="got no parameters"):
        optim.Adam([])
    with pytest.raises(gc.GraphcError, match="not a parameter"):
        optim.SGD([gc.placeholder((2,))])
    with pytest.raises(gc.GraphcError, match="nesterov=True needs momentum"):
        optim.SGD([gc.parameter(np.zeros(2))], nesterov=True)
    p = gc.parameter(np.zeros(2))
    opt = optim.Adam([p])
    assert len(list(opt.state_parameters())) == 3  # counter, m, v
    with pytest.raises(gc.GraphcError, match="got 2 gradients for 1 parameters"):
        opt.updates([p, p])
