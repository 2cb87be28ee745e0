"""Writes the fuzzers' seed corpora: small valid safetensors files as the
reference writer (the Python package) produces them, .ember model files
built from the format's description, and .npy arrays as numpy saves them.
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


# .ember model files (docs/FORMATS.md, ".ember"), written here independently
# of Ember's writer: a safetensors file whose metadata holds the graph JSON.
models = pathlib.Path(__file__).parent / "corpus" / "fuzz_model_file"


def write_model(name, graph, tensors):
    import json
    models.mkdir(parents=True, exist_ok=True)
    metadata = {"format": "ember", "format_version": "1", "graph": json.dumps(graph)}
    (models / name).write_bytes(save(tensors, metadata=metadata))


def value(kind, dtype, sizes, **extra):
    return {"kind": kind, "dtype": dtype, "sizes": sizes, **extra}


def node(op, inputs, outputs, attrs=(), **extra):
    return {"op": op, "version": 1, "inputs": inputs, "outputs": outputs, "attrs": list(attrs), **extra}


def graph(values, nodes, inputs, outputs, symbols=(), updates=()):
    return {"symbols": list(symbols), "values": values, "nodes": nodes, "inputs": inputs, "outputs": outputs,
            "updates": list(updates)}


two = value("constant", "float64", [], tensor="two", wrapped_number=True)
weights = {"fc.weight": np.ones((4, 3), np.float32), "fc.bias": np.zeros(4, np.float32), "two": np.array(2.0)}

# relu(linear(x)) + 2, static and with a dynamic batch.
for name, symbols, dyn in [("linear_relu", [], lambda n: {}),
                           ("dynamic_batch", ["batch"], lambda n: {"dims": [[0, 1, 0], [-1, 0, n]]})]:
    write_model(name, graph(
        [value("input", "float32", [2, 3], name="x", **dyn(3)),
         value("parameter", "float32", [4, 3], name="fc.weight", tensor="fc.weight"),
         value("parameter", "float32", [4], name="fc.bias", tensor="fc.bias"), two,
         value("node", "float32", [2, 4], **dyn(4)), value("node", "float32", [2, 4], **dyn(4)),
         value("node", "float32", [2, 4], **dyn(4))],
        [node("linear", [0, 1, 2], [4]), node("relu", [4], [5]),
         node("add", [5, 3], [6], [["alpha", "scalar_int", 1]])],
        inputs=[0], outputs=[6], symbols=symbols), weights)

# A view whose size follows the batch: [batch, 6] -> [batch, 3, 2].
write_model("view_symbolic", graph(
    [value("input", "float32", [2, 6], name="x", dims=[[0, 1, 0], [-1, 0, 6]]),
     value("node", "float32", [2, 3, 2], dims=[[0, 1, 0], [-1, 0, 3], [-1, 0, 2]])],
    [node("view", [0], [1], [["size", "ints", [2, 3, 2]]], sym_attrs=[["size", 0, [0, 1, 0]]])],
    inputs=[0], outputs=[1], symbols=["batch"]), {})

# Every attribute encoding on one node (relu's shape rule reads none).
write_model("attributes", graph(
    [value("input", "float32", [3], name="x"), value("node", "float32", [3])],
    [node("relu", [0], [1], [["i", "int", -3], ["f", "float", 0.5], ["nan", "float", "nan"], ["b", "bool", True],
                             ["ints", "ints", [1, 2]], ["s", "string", "mean"], ["dt", "dtype", "bfloat16"],
                             ["sb", "scalar_bool", False], ["si", "scalar_int", 7], ["sf", "scalar_float", "-inf"],
                             ["fs", "floats", [1.5, "inf"]]])],
    inputs=[0], outputs=[1]), {})

# cond(pred, x) {x * 2} {-x}, and while_loop(i) {i < 10} {i + 1}.
arg = value("input", "float32", [3], name="arg0")
write_model("cond", graph(
    [value("input", "bool", [], name="pred"), value("input", "float32", [3], name="x"), value("node", "float32", [3])],
    [node("cond", [0, 1], [2], [["num_operands", "int", 1], ["then_captures", "int", 0]], subgraphs=[
        graph([arg, two, value("node", "float32", [3])], [node("mul", [0, 1], [2])], inputs=[0], outputs=[2]),
        graph([arg, value("node", "float32", [3])], [node("neg", [0], [1])], inputs=[0], outputs=[1])])],
    inputs=[0, 1], outputs=[2]), {"two": np.array(2.0)})
counter = value("input", "int64", [], name="arg0")
write_model("while_loop", graph(
    [value("input", "int64", [], name="i"), value("node", "int64", [])],
    [node("while_loop", [0], [1], [["num_state", "int", 1], ["cond_captures", "int", 0]], subgraphs=[
        graph([counter, value("constant", "int64", [], tensor="ten", wrapped_number=True), value("node", "bool", [])],
              [node("lt", [0, 1], [2])], inputs=[0], outputs=[2]),
        graph([counter, value("constant", "int64", [], tensor="one", wrapped_number=True), value("node", "int64", [])],
              [node("add", [0, 1], [2], [["alpha", "scalar_int", 1]])], inputs=[0], outputs=[2])])],
    inputs=[0], outputs=[1]), {"ten": np.array(10), "one": np.array(1)})

# A convolution, its ReLU and its 2x2 max-pooling as graph mode fuses them.
write_model("conv_pool", graph(
    [value("input", "float32", [1, 2, 6, 6], name="x"),
     value("parameter", "float32", [3, 2, 3, 3], name="conv.weight", tensor="conv.weight"),
     value("parameter", "float32", [3], name="conv.bias", tensor="conv.bias"),
     value("node", "float32", [1, 3, 3, 3])],
    [node("fused_conv2d_max_pool2d", [0, 1, 2], [3],
          [["stride", "ints", [1, 1]], ["padding", "ints", [1, 1]], ["dilation", "ints", [1, 1]],
           ["groups", "int", 1], ["activation", "string", "relu"], ["pool_kernel_size", "ints", [2, 2]],
           ["pool_stride", "ints", [2, 2]], ["pool_padding", "ints", [0, 0]], ["pool_ceil_mode", "bool", False],
           ["pool_dilation", "ints", [1, 1]]])],
    inputs=[0], outputs=[3]), {"conv.weight": np.ones((3, 2, 3, 3), np.float32), "conv.bias": np.zeros(3, np.float32)})

# fuzz_model_graph takes the graph JSON alone (the tensors are its own).
graphs = pathlib.Path(__file__).parent / "corpus" / "fuzz_model_graph"
graphs.mkdir(parents=True, exist_ok=True)
for path in sorted(models.iterdir()):
    from safetensors import safe_open
    with safe_open(str(path), "np") as f:
        (graphs / path.name).write_text(f.metadata()["graph"])

# .npy arrays as numpy writes them (versions 1.0 and 2.0).
arrays = pathlib.Path(__file__).parent / "corpus" / "fuzz_npy"
arrays.mkdir(parents=True, exist_ok=True)
for name, a in {"f32": np.arange(6, dtype=np.float32).reshape(2, 3), "bool": np.array([True, False]),
                "scalar": np.array(3, np.int64), "empty": np.zeros((0, 2), np.uint8)}.items():
    np.save(arrays / (name + ".npy"), a)
with open(arrays / "v2.npy", "wb") as f:
    np.lib.format.write_array(f, np.array([1.5, -2.0], np.float64), version=(2, 0))
