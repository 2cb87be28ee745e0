"""Peer side of the benchmark suite: the workloads of bench/ember_bench.cpp in
PyTorch or TensorFlow, same shapes, dtype f32 and math. One process per
(framework, thread count); bench/run.py drives it over stdin/stdout with the
same line protocol as `ember_bench --serve`:

    python bench/peer.py --framework torch --threads 2 --serve
    > gemm1024 --threads 2 --warmup 1 --reps 5 --inner 3
    < {"workload": "gemm1024", "threads": 2, "times": [...], "flops": ..., "items": 1}
"""
import argparse
import json
import os
import sys
import time


def conv_flops(n, cin, cout, hw, k=3):
    return 2.0 * n * cout * hw * hw * cin * k * k


CONVS = {"conv_fashion": (64, 32, 64, 14), "conv_resnet": (32, 64, 64, 56)}
SIZES = {"1k": 1024, "64k": 65536, "16m": 16 << 20}
ELEMENTWISE = ("add", "muladd", "gelu", "sum", "softmax", "layernorm")


def elementwise(name):
    """(op, n, rows, cols, bytes read + written) for 'gelu_64k' etc., else None."""
    op, _, tag = name.rpartition("_")
    if op not in ELEMENTWISE or tag not in SIZES:
        return None
    n = SIZES[tag]
    rows = max(1, n // 1024)
    cols = n // rows
    e = 4.0 * n
    nbytes = {"add": 3 * e, "muladd": 4 * e, "gelu": 2 * e, "sum": e + 4, "softmax": 2 * e,
              "layernorm": 2 * e + 8.0 * cols}[op]
    return op, n, rows, cols, nbytes


SDPA_SHAPE = (4, 8, 64)  # batch, heads, head dim (bench/ember_bench.cpp make_sdpa)


def sdpa(name):
    """(seq len, causal, backward, FLOPs) for 'sdpa_2048_causal_fwdbwd' etc., else None.
    FLOPs count the two products (4 B H L S E), halved when causal; the
    backward counts 2.5x the forward (FlashAttention's convention)."""
    parts = name.split("_")
    if parts[0] != "sdpa" or len(parts) < 2 or not parts[1].isdigit():
        return None
    s, causal, backward = int(parts[1]), "causal" in parts, parts[-1] == "fwdbwd"
    b, h, e = SDPA_SHAPE
    fwd = 4.0 * b * h * s * s * e * (0.5 if causal else 1.0)
    return s, causal, backward, fwd * (3.5 if backward else 1.0)


GRAPH = ("graph_mlp_infer1", "graph_mlp_infer64", "graph_cnn_infer1", "graph_cnn_infer64", "graph_mlp_step",
         "graph_cnn_step")


def graph_workload(name):
    """(cnn, batch, training step?, compiled?) for 'graph_cnn_infer64_compiled'
    etc., else None. Graph mode (issue 5): eager against compiled on the
    built-in recipes' models (tools/ember/recipe.cpp); a training step has the
    recipe's batch size (fashion-mlp 128, fashion-cnn 64)."""
    base, _, mode = name.rpartition("_")
    if base not in GRAPH or mode not in ("eager", "compiled"):
        return None
    cnn, step = "_cnn_" in base, base.endswith("_step")
    batch = (64 if cnn else 128) if step else (1 if base.endswith("infer1") else 64)
    return cnn, batch, step, mode == "compiled"


FASHION_DIR = "/usr/share/datasets/fashion-mnist"


def load_fashion_mnist():
    """Debian's Fashion-MNIST training split: (images f32 [N, 1, 28, 28]
    normalized as `ember train` does, labels i64 [N]) as numpy arrays."""
    import gzip
    import numpy as np
    with gzip.open(f"{FASHION_DIR}/train-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
    with gzip.open(f"{FASHION_DIR}/train-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)
    return (images.astype(np.float32) / 255 - 0.2860) / 0.3530, labels


def rss_mb():
    """(peak, current) resident size of this process in MB (VmHWM, VmRSS)."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmHWM:", "VmRSS:")):
                out[line[:5]] = int(line.split()[1]) / 1024
    return out.get("VmHWM", 0), out.get("VmRSS", 0)


class Torch:
    def __init__(self, threads):
        import torch
        torch.set_num_threads(threads)
        self.t = torch
        self.version = torch.__version__

    def make(self, name):
        torch = self.t
        nn = torch.nn
        torch.manual_seed(0)
        if name.startswith("gemm"):
            n = int(name[4:])
            a, b = torch.randn(n, n), torch.randn(n, n)
            return (lambda: torch.matmul(a, b)), 2.0 * n ** 3, 1
        for key, (n, cin, cout, hw) in CONVS.items():
            if name.startswith(key):
                x = torch.randn(n, cin, hw, hw)
                w, b = torch.randn(cout, cin, 3, 3) * 0.05, torch.zeros(cout)
                f = conv_flops(n, cin, cout, hw)
                if name.endswith("_fwd"):
                    def fwd():
                        with torch.no_grad():
                            torch.nn.functional.conv2d(x, w, b, padding=1)
                    return fwd, f, 1
                x.requires_grad_(); w.requires_grad_(); b.requires_grad_()
                return (lambda: torch.nn.functional.conv2d(x, w, b, padding=1).sum().backward()), 3 * f, 1
        if name == "add1":
            a, b = torch.randn(1), torch.randn(1)
            def add():
                for _ in range(10000):
                    a + b
            return add, 0, 10000
        if name == "linear16_fwdbwd":
            lin, x = nn.Linear(16, 16), torch.randn(1, 16)
            def lin_step():
                for _ in range(1000):
                    lin(x).sum().backward()
            return lin_step, 0, 1000
        if name == "cnn_step":
            net = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                                nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))
            opt = torch.optim.Adam(net.parameters(), lr=1e-3)
            x, y = torch.randn(64, 1, 28, 28), torch.randint(0, 10, (64,))
            def step():
                opt.zero_grad()
                torch.nn.functional.cross_entropy(net(x), y).backward()
                opt.step()
            return step, 0, 64
        ew = elementwise(name)
        if ew:
            op, n, rows, cols, nbytes = ew
            a, b, c = torch.randn(rows, cols), torch.randn(rows, cols), torch.randn(rows, cols)
            g, h = torch.randn(cols), torch.randn(cols)
            F = torch.nn.functional
            fn = {"add": lambda: a + b, "muladd": lambda: a * b + c, "gelu": lambda: F.gelu(a),
                  "sum": lambda: a.sum(), "softmax": lambda: torch.softmax(a, -1),
                  "layernorm": lambda: F.layer_norm(a, (cols,), g, h)}[op]
            return fn, 0, 1, nbytes
        if name == "mlp_step":
            net = self.mlp()
            opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
            x, y = torch.randn(128, 784), torch.randint(0, 10, (128,))
            def mlp_step():
                opt.zero_grad()
                torch.nn.functional.cross_entropy(net(x), y).backward()
                opt.step()
            return mlp_step, 0, 128
        if name in ("cnn_epoch", "mlp_epoch"):
            cnn = name == "cnn_epoch"
            F = torch.nn.functional

            def epoch():
                images, labels = load_fashion_mnist()
                x = torch.from_numpy(images) if cnn else torch.from_numpy(images).reshape(-1, 784)
                data = torch.utils.data.TensorDataset(x, torch.from_numpy(labels))
                loader = torch.utils.data.DataLoader(data, batch_size=64 if cnn else 128, shuffle=True)
                net = self.cnn() if cnn else self.mlp()
                opt = (torch.optim.Adam(net.parameters(), lr=1e-3) if cnn
                       else torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9))
                for xb, yb in loader:
                    opt.zero_grad()
                    F.cross_entropy(net(xb), yb).backward()
                    opt.step()
            return epoch, 0, 60000
        if name in INFER:
            cnn, batch = INFER[name]
            net = (self.cnn() if cnn else self.mlp()).eval()
            x = torch.randn(batch, 1, 28, 28) if cnn else torch.randn(batch, 784)
            def infer():
                with torch.inference_mode():
                    net(x)
            return infer, 0, 1
        if graph_workload(name):
            return self.graph(*graph_workload(name))
        if sdpa(name):
            s, causal, backward, flops = sdpa(name)
            b, h, e = SDPA_SHAPE
            q, k, v = (torch.randn(b, h, s, e, requires_grad=backward) for _ in range(3))
            g = torch.randn(b, h, s, e)

            def attend():
                return torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
            return ((lambda: torch.autograd.grad(attend(), (q, k, v), g)) if backward else attend), flops, 1
        raise ValueError(f"unknown workload {name!r}")

    def mlp(self):
        nn = self.t.nn
        return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))

    def recipe_model(self, cnn):
        """fashion-mlp / fashion-cnn as the recipes build them (a leading
        Flatten; Dropout(0.25) before the CNN's last Linear)."""
        nn = self.t.nn
        if not cnn:
            return nn.Sequential(nn.Flatten(), *self.mlp())
        layers = list(self.cnn())
        layers.insert(-1, nn.Dropout(0.25))
        return nn.Sequential(*layers)

    def graph(self, cnn, batch, step, compiled):
        """Eager (eval + no_grad for inference) or torch.compile (inductor,
        shapes specialized), with the recipe's optimizer for a training step.
        Compilation happens here, before any timing."""
        torch = self.t
        if compiled:
            torch._dynamo.reset()  # each workload compiles afresh, within dynamo's recompile limit
        net = self.recipe_model(cnn)
        x = torch.randn(batch, 1, 28, 28) if cnn else torch.randn(batch, 784)
        if not step:
            net.eval()
            fwd = torch.compile(net, dynamic=False) if compiled else net

            def infer():
                with torch.no_grad():
                    return fwd(x)
            fn, items = infer, 1
        else:
            y = torch.randint(0, 10, (batch,))
            opt = (torch.optim.Adam(net.parameters(), lr=1e-3) if cnn
                   else torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9))
            smoothing = 0.1 if cnn else 0.0

            def train_step():
                opt.zero_grad()
                loss = torch.nn.functional.cross_entropy(net(x), y, label_smoothing=smoothing)
                loss.backward()
                opt.step()
                return loss
            fn, items = (torch.compile(train_step, dynamic=False) if compiled else train_step), batch
        if compiled:
            for _ in range(2):
                fn()
        return fn, 0, items

    def cnn(self):
        nn = self.t.nn
        return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                             nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))


INFER = {"mlp_infer1": (False, 1), "mlp_infer64": (False, 64), "cnn_infer1": (True, 1), "cnn_infer64": (True, 64)}


class TF:
    def __init__(self, threads):
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import tensorflow as tf
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
        self.tf = tf
        self.version = tf.__version__

    def make(self, name):
        tf = self.tf
        tf.random.set_seed(0)
        if name.startswith("gemm"):
            n = int(name[4:])
            a, b = tf.random.normal((n, n)), tf.random.normal((n, n))
            return (lambda: tf.linalg.matmul(a, b)), 2.0 * n ** 3, 1
        for key, (n, cin, cout, hw) in CONVS.items():
            if name.startswith(key):
                # TensorFlow's CPU convolution is NHWC; the math is the same.
                x = tf.random.normal((n, hw, hw, cin))
                w, b = tf.random.normal((3, 3, cin, cout)) * 0.05, tf.zeros((cout,))
                f = conv_flops(n, cin, cout, hw)
                if name.endswith("_fwd"):
                    return (lambda: tf.nn.bias_add(tf.nn.conv2d(x, w, 1, "SAME"), b)), f, 1
                xv, wv, bv = tf.Variable(x), tf.Variable(w), tf.Variable(b)
                def fwdbwd():
                    with tf.GradientTape() as tape:
                        loss = tf.reduce_sum(tf.nn.bias_add(tf.nn.conv2d(xv, wv, 1, "SAME"), bv))
                    tape.gradient(loss, [xv, wv, bv])  # eager CPU ops run synchronously
                return fwdbwd, 3 * f, 1
        if name == "add1":
            a, b = tf.random.normal((1,)), tf.random.normal((1,))
            def add():
                for _ in range(10000):
                    tf.add(a, b)
            return add, 0, 10000
        if name == "linear16_fwdbwd":
            lin, x = tf.keras.layers.Dense(16), tf.random.normal((1, 16))
            lin.build((1, 16))
            def lin_step():
                for _ in range(1000):
                    with tf.GradientTape() as tape:
                        loss = tf.reduce_sum(lin(x))
                    tape.gradient(loss, lin.trainable_variables)
            return lin_step, 0, 1000
        if name == "cnn_step":
            L = tf.keras.layers
            net = tf.keras.Sequential([tf.keras.Input((28, 28, 1)),
                                       L.Conv2D(32, 3, padding="same", activation="relu"), L.MaxPool2D(2),
                                       L.Conv2D(64, 3, padding="same", activation="relu"), L.MaxPool2D(2),
                                       L.Flatten(), L.Dense(128, activation="relu"), L.Dense(10)])
            opt = tf.keras.optimizers.Adam(1e-3)
            lossf = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
            x = tf.random.normal((64, 28, 28, 1))
            y = tf.random.uniform((64,), 0, 10, dtype=tf.int64)

            @tf.function  # Keras' own fit() path compiles the step the same way
            def step():
                with tf.GradientTape() as tape:
                    loss = lossf(y, net(x, training=True))
                opt.apply_gradients(zip(tape.gradient(loss, net.trainable_variables), net.trainable_variables))
                return loss
            return (lambda: step().numpy()), 0, 64
        ew = elementwise(name)
        if ew:
            op, n, rows, cols, nbytes = ew
            a, b, c = (tf.random.normal((rows, cols)) for _ in range(3))
            g, h = tf.random.normal((cols,)), tf.random.normal((cols,))

            def layernorm():
                mean, var = tf.nn.moments(a, axes=[-1], keepdims=True)
                return tf.nn.batch_normalization(a, mean, var, h, g, 1e-5)
            fn = {"add": lambda: a + b, "muladd": lambda: a * b + c,
                  "gelu": lambda: tf.nn.gelu(a, approximate=False), "sum": lambda: tf.reduce_sum(a),
                  "softmax": lambda: tf.nn.softmax(a, axis=-1), "layernorm": layernorm}[op]
            return fn, 0, 1, nbytes
        if name == "mlp_step":
            net = self.mlp()
            opt = tf.keras.optimizers.SGD(0.01, momentum=0.9)
            lossf = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
            x = tf.random.normal((128, 784))
            y = tf.random.uniform((128,), 0, 10, dtype=tf.int64)

            @tf.function
            def mlp_step():
                with tf.GradientTape() as tape:
                    loss = lossf(y, net(x, training=True))
                opt.apply_gradients(zip(tape.gradient(loss, net.trainable_variables), net.trainable_variables))
                return loss
            return (lambda: mlp_step().numpy()), 0, 128
        if name in ("cnn_epoch", "mlp_epoch"):
            cnn = name == "cnn_epoch"
            lossf = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)

            def epoch():
                images, labels = load_fashion_mnist()
                x = images.transpose(0, 2, 3, 1) if cnn else images.reshape(-1, 784)  # NHWC
                data = (tf.data.Dataset.from_tensor_slices((x, labels)).shuffle(len(labels))
                        .batch(64 if cnn else 128).prefetch(tf.data.AUTOTUNE))
                net = self.cnn() if cnn else self.mlp()
                opt = tf.keras.optimizers.Adam(1e-3) if cnn else tf.keras.optimizers.SGD(0.01, momentum=0.9)

                @tf.function  # as Keras fit() compiles its train step
                def step(xb, yb):
                    with tf.GradientTape() as tape:
                        loss = lossf(yb, net(xb, training=True))
                    opt.apply_gradients(zip(tape.gradient(loss, net.trainable_variables), net.trainable_variables))
                    return loss
                for xb, yb in data:
                    step(xb, yb)
            return epoch, 0, 60000
        if name in INFER:
            cnn, batch = INFER[name]
            net = self.cnn() if cnn else self.mlp()
            x = tf.random.normal((batch, 28, 28, 1) if cnn else (batch, 784))
            fwd = tf.function(lambda: net(x, training=False))  # what Keras predict() compiles
            return (lambda: fwd().numpy()), 0, 1
        if graph_workload(name):
            return self.graph(*graph_workload(name))
        if sdpa(name):
            # TensorFlow has no fused attention op: softmax(Q K^T / sqrt(E) + causal bias) V.
            s, causal, backward, flops = sdpa(name)
            b, h, e = SDPA_SHAPE
            q, k, v = (tf.Variable(tf.random.normal((b, h, s, e))) for _ in range(3))
            g = tf.random.normal((b, h, s, e))
            pos = tf.range(s)
            bias = tf.where(pos[None, :] > pos[:, None], float("-inf"), 0.0) if causal else None

            def attend():
                scores = tf.matmul(q, k, transpose_b=True) * (e ** -0.5)
                if bias is not None:
                    scores = scores + bias
                return tf.matmul(tf.nn.softmax(scores, axis=-1), v)

            @tf.function
            def fwdbwd():
                with tf.GradientTape() as tape:
                    out = attend()
                return tape.gradient(out, [q, k, v], output_gradients=g)
            fn = fwdbwd if backward else tf.function(attend)
            return (lambda: [t.numpy() for t in tf.nest.flatten(fn())]), flops, 1
        raise ValueError(f"unknown workload {name!r}")

    def mlp(self):
        L = self.tf.keras.layers
        return self.tf.keras.Sequential([self.tf.keras.Input((784,)), L.Dense(512, activation="relu"),
                                         L.Dense(512, activation="relu"), L.Dense(10)])

    def cnn(self, dropout=0.0):
        tf = self.tf
        L = tf.keras.layers
        return tf.keras.Sequential([tf.keras.Input((28, 28, 1)),
                                    L.Conv2D(32, 3, padding="same", activation="relu"), L.MaxPool2D(2),
                                    L.Conv2D(64, 3, padding="same", activation="relu"), L.MaxPool2D(2),
                                    L.Flatten(), L.Dense(128, activation="relu")]
                                   + ([L.Dropout(dropout)] if dropout else []) + [L.Dense(10)])

    def graph(self, cnn, batch, step, compiled):
        """Eager Keras calls or the same function under tf.function, with the
        recipe's models (the CNN NHWC, Dropout(0.25)) and optimizer. Tracing
        happens here, before any timing."""
        tf = self.tf
        tf.random.set_seed(0)
        L = tf.keras.layers
        net = (self.cnn(dropout=0.25) if cnn else
               tf.keras.Sequential([tf.keras.Input((784,)), L.Flatten(), L.Dense(512, activation="relu"),
                                    L.Dense(512, activation="relu"), L.Dense(10)]))
        x = tf.random.normal((batch, 28, 28, 1) if cnn else (batch, 784))
        if not step:
            def infer():
                return net(x, training=False)
            fn, items = infer, 1
        else:
            y = tf.one_hot(tf.random.uniform((batch,), 0, 10, dtype=tf.int64), 10)
            opt = tf.keras.optimizers.Adam(1e-3) if cnn else tf.keras.optimizers.SGD(0.05, momentum=0.9)
            lossf = tf.keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1 if cnn else 0.0)

            def train_step():
                with tf.GradientTape() as tape:
                    loss = lossf(y, net(x, training=True))
                opt.apply_gradients(zip(tape.gradient(loss, net.trainable_variables), net.trainable_variables))
                return loss
            fn, items = train_step, batch
        if compiled:
            fn = tf.function(fn)
            fn()
        return (lambda: fn().numpy()), 0, items


# The graph workloads made for the current base workload ('graph_cnn_step'):
# compiling is slow (inductor runs a C++ compiler), so later rounds' requests
# reuse them; moving to another base drops them, since that one's
# torch._dynamo.reset() would make them recompile inside a timed region.
GRAPH_MADE = {}


def make(fw, name):
    if not graph_workload(name):
        return fw.make(name)
    base = name.rpartition("_")[0]
    if any(not k.startswith(base + "_") for k in GRAPH_MADE):
        GRAPH_MADE.clear()
    if name not in GRAPH_MADE:
        GRAPH_MADE[name] = fw.make(name)
    return GRAPH_MADE[name]


def run(fw, threads, line):
    p = argparse.ArgumentParser()
    p.add_argument("workload")
    p.add_argument("--threads", type=int, default=threads)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--inner", type=int, default=1)
    a = p.parse_args(line.split())
    if a.threads != threads:
        raise ValueError(f"this process runs {threads} threads, asked for {a.threads}")
    fn, flops, items, *rest = make(fw, a.workload)
    nbytes = rest[0] if rest else 0
    rss_before = rss_mb()[1]
    for _ in range(a.warmup):
        fn()
    times = []
    for _ in range(a.reps):
        t0 = time.perf_counter()
        for _ in range(a.inner):
            fn()
        times.append((time.perf_counter() - t0) / a.inner)
    # Peak RSS covers the process's whole life: meaningful for a fresh process
    # per request (bench/run.py does that for the epoch workloads).
    return {"workload": a.workload, "threads": threads, "times": times, "flops": flops, "items": items,
            "bytes": nbytes, "rss_before_mb": rss_before, "peak_rss_mb": rss_mb()[0]}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--framework", choices=["torch", "tf"], required=True)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--serve", action="store_true")
    p.add_argument("request", nargs="*")
    a = p.parse_args()
    fw = (Torch if a.framework == "torch" else TF)(a.threads)
    print(json.dumps({"ready": a.framework, "version": fw.version}), flush=True)
    lines = sys.stdin if a.serve else [" ".join(a.request)]
    for line in lines:
        if not line.strip():
            continue
        try:
            out = run(fw, a.threads, line)
        except Exception as e:  # noqa: BLE001 - reported to the driver
            out = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
