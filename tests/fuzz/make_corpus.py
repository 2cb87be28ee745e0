"""Writes the safetensors fuzzer's seed corpus: small valid files as the
reference writer (the Python package) produces them.
Run with the project venv:  .venv/bin/python tests/fuzz/make_corpus.py
"""
import pathlib

import numpy as np
from safetensors.numpy import save

here = pathlib.Path(__file__).parent / "corpus" / "fuzz_safetensors"


def write(name, data):
    here.mkdir(parents=True, exist_ok=True)
    (here / name).write_bytes(data)


# safetensors: every dtype Ember reads, scalars, empty tensors, metadata, and
# an Ember checkpoint's layout.
write("empty", b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
write("one_f32", save({"w": np.arange(6, dtype=np.float32).reshape(2, 3)}))
write("dtypes", save({
    "f64": np.array([1.5, -2.0]), "f16": np.array([0.5], np.float16), "i64": np.array([-7, 1 << 40]),
    "i32": np.array([1, 2, 3], np.int32), "i8": np.array([-1, 1], np.int8), "u8": np.array([255], np.uint8),
    "b": np.array([True, False]), "scalar": np.array(4.0, np.float32), "empty": np.zeros((0, 3), np.float32),
}, metadata={"source": "seed"}))
write("checkpoint", save({
    "model.fc.weight": np.ones((2, 2), np.float32), "model.fc.bias": np.zeros(2, np.float32),
    "optimizer.state.0.momentum_buffer": np.full((2, 2), 0.5, np.float32),
}, metadata={"format": "ember.checkpoint", "format_version": "1", "epoch": "2", "step": "40",
             "sections": "model,optimizer,scheduler", "optimizer.lr": "0.1", "scheduler.last_epoch": "2",
             "rng.default.seed": "42", "rng.default.offset": "1024", "info.recipe": "fashion-mlp"}))
