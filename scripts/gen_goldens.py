"""Writes tests/golden/<family>.safetensors from PyTorch.

Run by developers (never by CI) through scripts/gen_goldens.sh, which
provides a venv with torch. For each case of scripts/goldens/<family>.py it
stores, under "<case>/":
  in<i>    the inputs
  out<j>   the outputs
  gout<j>  a random gradient for each floating output
  grad<i>  d(sum_j out_j * gout_j)/d in_i for each floating input (if case.grad)
"""
import importlib
import pathlib
import sys

import torch
from safetensors.torch import save_file

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts" / "goldens"))
from common import materialize, seed_of  # noqa: E402


def run_case(case):
    gen = torch.Generator().manual_seed(seed_of(case.name))
    inputs = [materialize(spec, gen) for spec in case.inputs]
    diff = [case.grad and t.is_floating_point() for t in inputs]
    args = [t.detach().clone().requires_grad_(d) for t, d in zip(inputs, diff)]
    out = case.fn(*args)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    record = {}
    for i, t in enumerate(inputs):
        record[f"in{i}"] = t
    gouts = []
    for j, o in enumerate(outs):
        record[f"out{j}"] = o.detach()
        if o.is_floating_point() and o.requires_grad:
            g = torch.randn(o.shape, generator=gen, dtype=torch.float64).to(o.dtype)
            record[f"gout{j}"] = g
            gouts.append((o, g))
    wrt = [a for a, d in zip(args, diff) if d]
    if wrt and gouts:
        grads = torch.autograd.grad([o for o, _ in gouts], wrt, [g for _, g in gouts], allow_unused=True)
        k = 0
        for i, d in enumerate(diff):
            if not d:
                continue
            g = grads[k]
            k += 1
            record[f"grad{i}"] = torch.zeros_like(inputs[i]) if g is None else g.detach()
    # clone: outputs and gradients may share memory (safetensors refuses that).
    return {f"{case.name}/{k}": v.detach().clone().contiguous() for k, v in record.items()}


def generate(family):
    module = importlib.import_module(family)
    tensors = {}
    names = set()
    for case in module.cases():
        if case.name in names:
            raise SystemExit(f"{family}: duplicate case name {case.name}")
        names.add(case.name)
        try:
            tensors.update(run_case(case))
        except Exception as e:  # name the case: the traceback alone does not
            raise SystemExit(f"{family}: case {case.name} failed in PyTorch: {e}") from e
    out = ROOT / "tests" / "golden" / f"{family}.safetensors"
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(out), metadata={"torch_version": torch.__version__, "family": family})
    print(f"{family}: {len(names)} cases -> {out.relative_to(ROOT)} ({out.stat().st_size} bytes)")


def main():
    torch.use_deterministic_algorithms(True)
    families = sys.argv[1:] or sorted(p.stem for p in (ROOT / "scripts" / "goldens").glob("*.py") if p.stem != "common")
    for family in families:
        generate(family)


if __name__ == "__main__":
    main()
