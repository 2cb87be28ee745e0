"""Goldens for ember::optim: optimizer trajectories, LR schedules, clipping.

Run with the developers' PyTorch venv:
    ~/.cache/ember/torch-venv/bin/python scripts/gen_optim_goldens.py
writes tests/golden/optim.safetensors, read by tests/optim/test_goldens.cpp.
The C++ test builds the same configurations by name; keep the two tables in
step.

Keys:
  opt/params.<j>                 initial parameters (float32), shared
  opt/grads.<s>.<j>              gradient of parameter j at step s, shared
  opt/<config>/after.<s>.<j>     parameter j after step s (s = 0..9)
  sched/<config>/lr              float64 [31, groups]: lr after construction
                                 and after each of 30 steps
  sched/<config>/momentum        the same for the cycled momentum (OneCycleLR)
  sched/plateau*/metrics         the metric fed to ReduceLROnPlateau.step
  clip/grads.<j>                 gradients before clipping, shared
  clip/<config>/grads.<j>        gradients after clipping
  clip/<config>/total_norm       float64 scalar: the returned norm
"""
import os

import torch
from safetensors.torch import save_file

STEPS = 10
SCHED_STEPS = 30
SHAPES = [(4, 3), (5,), (2, 3, 2)]
# Steps at which a "skip" configuration leaves parameter 1 without a gradient.
SKIP_STEPS = (2, 3, 6)

gen = torch.Generator().manual_seed(1234)


def uniform(shape, low, high):
    return (low + (high - low) * torch.rand(shape, generator=gen, dtype=torch.float64)).float()


init = [uniform(s, -1, 1) for s in SHAPES]
grads = [[uniform(s, -1, 1) for s in SHAPES] for _ in range(STEPS)]


def groups_of(params, group1):
    """Parameters 0, 1 in group 0 (defaults), parameter 2 in group 1."""
    return [{"params": params[:2]}, {"params": params[2:], **group1}]


def single(params, _):
    return params


# name -> (torch optimizer class, how params are grouped, group-1 overrides,
# constructor options, skip gradients?)
OPTIMIZERS = {
    "sgd/default": (torch.optim.SGD, single, {}, dict(lr=0.1), False),
    "sgd/momentum": (torch.optim.SGD, single, {}, dict(lr=0.1, momentum=0.9), False),
    "sgd/dampening_wd": (torch.optim.SGD, single, {}, dict(lr=0.05, momentum=0.9, dampening=0.5, weight_decay=0.01), False),
    "sgd/nesterov": (torch.optim.SGD, single, {}, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3), False),
    "sgd/maximize": (torch.optim.SGD, single, {}, dict(lr=0.1, momentum=0.5, maximize=True), False),
    "sgd/groups": (torch.optim.SGD, groups_of, dict(lr=0.01, weight_decay=0.1), dict(lr=0.1, momentum=0.9), False),
    "sgd/skip": (torch.optim.SGD, single, {}, dict(lr=0.1, momentum=0.9), True),
    "adam/default": (torch.optim.Adam, single, {}, dict(lr=0.01), False),
    "adam/weight_decay": (torch.optim.Adam, single, {}, dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1), False),
    "adam/amsgrad": (torch.optim.Adam, single, {}, dict(lr=0.01, betas=(0.9, 0.5), amsgrad=True), False),
    "adam/maximize": (torch.optim.Adam, single, {}, dict(lr=0.01, maximize=True), False),
    "adam/groups": (torch.optim.Adam, groups_of, dict(lr=0.001, weight_decay=0.05), dict(lr=0.01), False),
    "adam/skip": (torch.optim.Adam, single, {}, dict(lr=0.01), True),
    "adamw/default": (torch.optim.AdamW, single, {}, dict(lr=0.01), False),
    "adamw/amsgrad": (torch.optim.AdamW, single, {}, dict(lr=0.01, betas=(0.9, 0.6), weight_decay=0.1, amsgrad=True), False),
    "adamw/groups": (torch.optim.AdamW, groups_of, dict(lr=0.002, weight_decay=0.0), dict(lr=0.01, weight_decay=0.05), False),
    "rmsprop/default": (torch.optim.RMSprop, single, {}, dict(lr=0.01), False),
    "rmsprop/momentum": (torch.optim.RMSprop, single, {}, dict(lr=0.01, momentum=0.5), False),
    "rmsprop/centered": (torch.optim.RMSprop, single, {}, dict(lr=0.01, centered=True), False),
    "rmsprop/centered_momentum_wd": (torch.optim.RMSprop, single, {}, dict(lr=0.01, alpha=0.9, momentum=0.9, centered=True, weight_decay=0.01), False),
    "rmsprop/groups": (torch.optim.RMSprop, groups_of, dict(lr=0.001, momentum=0.9), dict(lr=0.01), False),
    "adagrad/default": (torch.optim.Adagrad, single, {}, dict(lr=0.1), False),
    "adagrad/options": (torch.optim.Adagrad, single, {}, dict(lr=0.1, lr_decay=0.01, weight_decay=0.01, initial_accumulator_value=0.1, eps=1e-8), False),
    "adagrad/groups": (torch.optim.Adagrad, groups_of, dict(lr=0.01, lr_decay=0.1), dict(lr=0.1), False),
    "adagrad/skip": (torch.optim.Adagrad, single, {}, dict(lr=0.1), True),
}


def optimizer_goldens(out):
    for j, p in enumerate(init):
        out[f"opt/params.{j}"] = p
    for s, gs in enumerate(grads):
        for j, g in enumerate(gs):
            out[f"opt/grads.{s}.{j}"] = g
    for name, (cls, grouping, group1, options, skip) in OPTIMIZERS.items():
        params = [p.clone().requires_grad_() for p in init]
        opt = cls(grouping(params, group1), foreach=False, **options)
        for s in range(STEPS):
            for j, p in enumerate(params):
                p.grad = None if (skip and j == 1 and s in SKIP_STEPS) else grads[s][j].clone()
            opt.step()
            for j, p in enumerate(params):
                out[f"opt/{name}/after.{s}.{j}"] = p.detach().clone()


def two_group_sgd():
    a = torch.zeros(1, requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    return torch.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.05}], lr=0.1, momentum=0.9)


def two_group_adam():
    a = torch.zeros(1, requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    return torch.optim.Adam([{"params": [a]}, {"params": [b], "lr": 0.05}], lr=0.1)


S = torch.optim.lr_scheduler
PLATEAU_METRICS = [1.0, 0.9, 0.85, 0.85, 0.849, 0.86, 0.84, 0.84, 0.84, 0.84,
                   0.7, 0.7, 0.71, 0.69, 0.695, 0.69, 0.5, 0.5, 0.5, 0.5,
                   0.5, 0.49, 0.52, 0.53, 0.54, 0.55, 0.3, 0.3, 0.31, 0.3]

# name -> (optimizer factory, scheduler factory, momentum option or None)
SCHEDULERS = {
    "step": (two_group_sgd, lambda o: S.StepLR(o, step_size=7, gamma=0.5), None),
    "multistep": (two_group_sgd, lambda o: S.MultiStepLR(o, milestones=[12, 5, 12, 20], gamma=0.3), None),
    "exponential": (two_group_sgd, lambda o: S.ExponentialLR(o, gamma=0.9), None),
    "cosine": (two_group_sgd, lambda o: S.CosineAnnealingLR(o, T_max=10, eta_min=0.001), None),
    "cosine_long": (two_group_sgd, lambda o: S.CosineAnnealingLR(o, T_max=30), None),
    "linear_warmup": (two_group_sgd, lambda o: S.LinearLR(o, start_factor=0.1, total_iters=8), None),
    "linear_decay": (two_group_sgd, lambda o: S.LinearLR(o, start_factor=1.0, end_factor=0.2, total_iters=10), None),
    "warmup_cosine": (two_group_sgd, lambda o: S.SequentialLR(
        o, [S.LinearLR(o, start_factor=0.1, total_iters=5), S.CosineAnnealingLR(o, T_max=25)], milestones=[5]), None),
    "warmup_step_exp": (two_group_sgd, lambda o: S.SequentialLR(
        o, [S.LinearLR(o, start_factor=0.25, total_iters=4), S.StepLR(o, step_size=3, gamma=0.5),
            S.ExponentialLR(o, gamma=0.8)], milestones=[6, 15]), None),
    "onecycle": (two_group_sgd, lambda o: S.OneCycleLR(o, max_lr=1.0, total_steps=30), "momentum"),
    "onecycle_three_phase_linear": (two_group_adam, lambda o: S.OneCycleLR(
        o, max_lr=[1.0, 0.5], epochs=3, steps_per_epoch=11, anneal_strategy="linear", three_phase=True,
        pct_start=0.25, div_factor=10.0, final_div_factor=100.0), "betas"),
    "plateau": (two_group_sgd, lambda o: S.ReduceLROnPlateau(
        o, mode="min", factor=0.5, patience=2, threshold=0.01, cooldown=1, min_lr=0.01), None),
    "plateau_max_abs": (two_group_sgd, lambda o: S.ReduceLROnPlateau(
        o, mode="max", factor=0.2, patience=1, threshold=0.05, threshold_mode="abs", min_lr=[0.001, 0.02]), None),
}


def scheduler_goldens(out):
    for name, (make_opt, make_sched, momentum) in SCHEDULERS.items():
        opt = make_opt()
        sched = make_sched(opt)
        plateau = isinstance(sched, S.ReduceLROnPlateau)
        # Plateau metrics run the other way for mode max.
        metrics = [m if "max" not in name else -m for m in PLATEAU_METRICS]

        def momenta():
            if momentum == "betas":
                return [g["betas"][0] for g in opt.param_groups]
            return [g["momentum"] for g in opt.param_groups]

        lrs = [[g["lr"] for g in opt.param_groups]]
        moms = [momenta()] if momentum else None
        for s in range(SCHED_STEPS):
            opt.step()
            if plateau:
                sched.step(metrics[s])
            else:
                sched.step()
            lrs.append([g["lr"] for g in opt.param_groups])
            if momentum:
                moms.append(momenta())
        out[f"sched/{name}/lr"] = torch.tensor(lrs, dtype=torch.float64)
        if momentum:
            out[f"sched/{name}/momentum"] = torch.tensor(moms, dtype=torch.float64)
        if plateau:
            out[f"sched/{name}/metrics"] = torch.tensor(metrics, dtype=torch.float64)


# name -> (max_norm, norm_type) for clip_grad_norm_, or clip value for clip_grad_value_
CLIPS = {
    "norm2": (1.0, 2.0),
    "norm2_no_clip": (100.0, 2.0),
    "norm1": (2.0, 1.0),
    "norm_inf": (0.5, float("inf")),
    "norm3": (0.7, 3.0),
    "value": 0.3,
}


def clip_goldens(out):
    clip_grads = [uniform(s, -1, 1) for s in SHAPES]
    for j, g in enumerate(clip_grads):
        out[f"clip/grads.{j}"] = g
    for name, config in CLIPS.items():
        params = [torch.zeros(s, requires_grad=True) for s in SHAPES]
        for p, g in zip(params, clip_grads):
            p.grad = g.clone()
        if isinstance(config, tuple):
            total = torch.nn.utils.clip_grad_norm_(params, max_norm=config[0], norm_type=config[1], foreach=False)
            out[f"clip/{name}/total_norm"] = torch.tensor(float(total), dtype=torch.float64)
        else:
            torch.nn.utils.clip_grad_value_(params, clip_value=config, foreach=False)
        for j, p in enumerate(params):
            out[f"clip/{name}/grads.{j}"] = p.grad.clone()


def main():
    out = {}
    optimizer_goldens(out)
    scheduler_goldens(out)
    clip_goldens(out)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.path.join(root, "tests", "golden", "optim.safetensors")
    save_file({k: v.contiguous() for k, v in out.items()}, path, metadata={"torch": torch.__version__})
    print(f"wrote {len(out)} tensors to {path}")


if __name__ == "__main__":
    main()
