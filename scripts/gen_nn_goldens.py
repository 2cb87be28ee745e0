"""Writes tests/golden/nn_modules.safetensors: small models built in PyTorch,
with their weights, an input, the output, the loss and the parameter
gradients, for tests/nn/test_nn_golden.cpp to rebuild in Ember and compare.

Run with the developers' PyTorch venv:
    ~/.cache/ember/torch-venv/bin/python scripts/gen_nn_goldens.py

Keys: "<model>/state/<name>" (state_dict, loaded by the C++ test, which also
proves the names match), "<model>/input...", "<model>/output", "<model>/loss",
"<model>/grad/<name>", and for batch norm models "<model>/after/<name>" (the
buffers after the train-mode forward) and "<model>/output_eval". The metadata
holds each model's state_dict key order and repr.
"""
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "golden", "nn_modules.safetensors")


class Net(nn.Module):
    """The fashion CNN of the `fashion-cnn` recipe, named as in docs/design.md."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 32, 3, padding=1)
        self.c2 = nn.Conv2d(32, 64, 3, padding=1)
        self.f1 = nn.Linear(64 * 7 * 7, 128)
        self.f2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.c1(x)), 2)
        x = F.max_pool2d(F.relu(self.c2(x)), 2)
        return self.f2(F.relu(self.f1(x.flatten(1))))


class Residual(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(x + self.bn2(self.conv2(y)))


class ResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.block = Residual(8)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4))

    def forward(self, x):
        return self.head(self.block(self.stem(x)))


class TextNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(11, 8, padding_idx=0)
        self.norm = nn.LayerNorm(8)
        self.act = nn.GELU()
        self.proj = nn.Linear(8, 3)

    def forward(self, idx):
        return self.proj(self.act(self.norm(self.emb(idx))))


def randomize(model, gen):
    """Moves every parameter off its default so that a wrong mapping shows
    (batch norm and layer norm start as ones/zeros otherwise)."""
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p + 0.1 * torch.randn(p.shape, generator=gen))


def record(out, meta, name, model, inputs, loss_fn, train=True, eval_after=False):
    model.train(train)
    meta[f"{name}/keys"] = ",".join(model.state_dict().keys())
    meta[f"{name}/repr"] = repr(model)
    for k, v in model.state_dict().items():
        out[f"{name}/state/{k}"] = v.clone()
    for i, x in enumerate(inputs):
        out[f"{name}/input{i}"] = x
    y = model(*inputs)
    loss = loss_fn(y)
    loss.backward()
    out[f"{name}/output"] = y.detach()
    out[f"{name}/loss"] = loss.detach()
    for k, p in model.named_parameters():
        out[f"{name}/grad/{k}"] = p.grad
    for i, x in enumerate(inputs):
        if x.requires_grad:
            out[f"{name}/input{i}_grad"] = x.grad
    if train:
        for k, b in model.named_buffers():
            out[f"{name}/after/{k}"] = b.clone()
    if eval_after:
        model.eval()
        with torch.no_grad():
            out[f"{name}/output_eval"] = model(*inputs)


def main():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1234)
    out, meta = {}, {"torch_version": torch.__version__}

    # MLP with batch norm 1d, as a Sequential (children "0", "1", ...).
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(20, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 16), nn.Tanh(),
                        nn.Linear(16, 5))
    randomize(mlp, gen)
    x = torch.randn(6, 4, 5, generator=gen)
    target = torch.randint(0, 5, (6,), generator=gen)
    out["mlp/target"] = target
    record(out, meta, "mlp", mlp, [x], lambda y: F.cross_entropy(y, target), eval_after=True)

    # The fashion CNN.
    cnn = Net()
    x = torch.randn(2, 1, 28, 28, generator=gen)
    target = torch.randint(0, 10, (2,), generator=gen)
    out["cnn/target"] = target
    record(out, meta, "cnn", cnn, [x], lambda y: F.cross_entropy(y, target))

    # A residual block with batch norm 2d, train then eval.
    res = ResNet()
    randomize(res, gen)
    x = torch.randn(3, 3, 6, 6, generator=gen)
    target = torch.randint(0, 4, (3,), generator=gen)
    out["res/target"] = target
    record(out, meta, "res", res, [x], lambda y: F.cross_entropy(y, target, label_smoothing=0.1), eval_after=True)

    # Embedding + LayerNorm + GELU.
    text = TextNet()
    randomize(text, gen)
    idx = torch.randint(0, 11, (4, 7), generator=gen)
    idx[0, :3] = 0  # padding rows get no gradient
    target = torch.randn(4, 7, 3, generator=gen)
    out["text/target"] = target
    record(out, meta, "text", text, [idx], lambda y: F.mse_loss(y, target))

    # Transposed and grouped convolutions, group norm, pooling, activations.
    conv = nn.Sequential(nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1), nn.GroupNorm(2, 4),
                         nn.SiLU(), nn.AvgPool2d(2), nn.Conv2d(4, 6, 3, padding=1, groups=2), nn.LeakyReLU(0.1),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 2), nn.Softplus(beta=2.0))
    randomize(conv, gen)
    x = torch.randn(2, 3, 5, 5, generator=gen)
    target = torch.randn(2, 2, generator=gen)
    out["conv/target"] = target
    record(out, meta, "conv", conv, [x], lambda y: F.huber_loss(y, target, delta=0.5))

    # Conv1d, ELU, LogSoftmax and NLL.
    seq1d = nn.Sequential(nn.Conv1d(2, 4, 3, stride=2, padding=1), nn.ELU(), nn.Flatten(), nn.Linear(16, 3),
                          nn.LogSoftmax(dim=1))
    x = torch.randn(3, 2, 8, generator=gen)
    target = torch.randint(0, 3, (3,), generator=gen)
    out["seq1d/target"] = target
    record(out, meta, "seq1d", seq1d, [x], lambda y: F.nll_loss(y, target))

    # Bilinear (a composed op in Ember), with input gradients.
    bil = nn.Bilinear(5, 4, 3)
    x1 = torch.randn(2, 3, 5, generator=gen, requires_grad=True)
    x2 = torch.randn(2, 3, 4, generator=gen, requires_grad=True)
    record(out, meta, "bilinear", bil, [x1, x2], lambda y: (y * y).sum())

    # Huber loss (composed) with each reduction.
    a = torch.randn(5, 4, generator=gen) * 2
    b = torch.randn(5, 4, generator=gen)
    out["huber/input"], out["huber/target"] = a, b
    for reduction in ("none", "mean", "sum"):
        ar = a.clone().requires_grad_()
        loss = F.huber_loss(ar, b, reduction=reduction, delta=0.7)
        loss.sum().backward()
        out[f"huber/{reduction}/loss"] = loss.detach()
        out[f"huber/{reduction}/grad"] = ar.grad

    save_file({k: v.contiguous() for k, v in out.items()}, OUT, metadata=meta)
    print(f"wrote {len(out)} tensors to {OUT}")


if __name__ == "__main__":
    main()
