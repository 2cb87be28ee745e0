#!/usr/bin/env python3
"""Ember vs PyTorch vs TensorFlow on the CPU, alternating within one invocation.

    bench/setup.sh                    # once: venv with torch + tensorflow-cpu, Release build
    ~/.cache/ember/torch-venv/bin/python bench/run.py
    ~/.cache/ember/torch-venv/bin/python bench/run.py --only graph   # graph mode alone (docs/graph_mode.md)

For each thread count and workload it runs `rounds` rounds; in each round every
framework (Ember first in round 1, then rotated) runs `warmup` untimed and
`reps` timed repetitions of `inner` iterations. The median and min-max are over
all rounds' repetitions. Each framework lives in one long-running process per
thread count (Ember: build-bench/ember_bench --serve; peers: bench/peer.py
--serve), so imports and thread-pool start-up are not timed. The table is
printed and written to docs/BENCHMARKS.md; the graph-mode table (eager against
compiled, every framework) also replaces the generated part of
docs/graph_mode.md's benchmark section.
"""
import argparse
import datetime
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# name: (inner iterations per repetition, warm-up iterations, what to report)
WORKLOADS = {
    "fma": (1, 1, "peak"),
    "gemm256": (20, 5, "gflops"),
    "gemm1024": (3, 2, "gflops"),
    "gemm2048": (1, 1, "gflops"),
    "conv_fashion_fwd": (5, 2, "gflops"),
    "conv_fashion_fwdbwd": (3, 2, "gflops"),
    "conv_resnet_fwd": (1, 1, "gflops"),
    "conv_resnet_fwdbwd": (1, 1, "gflops"),
    "add1": (1, 1, "us"),
    "linear16_fwdbwd": (1, 1, "us"),
    "cnn_step": (5, 3, "img"),
    "stream_copy": (3, 1, "bwpeak"),
    "stream_triad": (3, 1, "bwpeak"),
}
# Elementwise ops / reductions: many iterations at 1K and 64K, one per
# repetition at 16M (each is tens of ms there).
EW_OPS = {"add": "add a+b", "muladd": "mul+add a·b+c", "gelu": "gelu (erf)", "sum": "sum (all elements)",
          "softmax": "softmax (rows of 1024)", "layernorm": "layer_norm (1024, w+b)"}
EW_SIZES = {"1k": (300, 50), "64k": (30, 5), "16m": (1, 1)}
for _op in EW_OPS:
    for _tag, (_inner, _warm) in EW_SIZES.items():
        WORKLOADS[f"{_op}_{_tag}"] = (_inner, _warm, "gbs")
WORKLOADS.update({
    "mlp_step": (10, 3, "img"),
    "mlp_infer1": (100, 20, "ms"),
    "mlp_infer64": (10, 3, "ms"),
    "cnn_infer1": (20, 5, "ms"),
    "cnn_infer64": (3, 2, "ms"),
    "cnn_epoch": (1, 0, "img"),
    "mlp_epoch": (1, 0, "img"),
    "sdpa_512": (3, 1, "gflops"),
    "sdpa_512_fwdbwd": (1, 1, "gflops"),
    "sdpa_2048": (1, 1, "gflops"),
    "sdpa_2048_fwdbwd": (1, 1, "gflops"),
    "sdpa_2048_causal": (1, 1, "gflops"),
    "sdpa_2048_causal_fwdbwd": (1, 1, "gflops"),
})
# PyTorch's C++ API (build-bench/libtorch_peer, Debian's libtorch 1.13) runs
# only the dispatch-overhead workloads; it gets its own table.
LIBTORCH_WORKLOADS = ("add1", "linear16_fwdbwd")
# Whole epochs run in a fresh process per repetition, so that the process's
# peak RSS (VmHWM) is that epoch's: reported as an extra "<name>_rss" row.
FRESH = ("cnn_epoch", "mlp_epoch")
LABELS = {
    "fma": "FP32 FMA peak (16 chains/thread)",
    "gemm256": "GEMM 256³",
    "gemm1024": "GEMM 1024³",
    "gemm2048": "GEMM 2048³",
    "conv_fashion_fwd": "conv 64×32→64×14² 3×3 fwd",
    "conv_fashion_fwdbwd": "conv 64×32→64×14² 3×3 fwd+bwd",
    "conv_resnet_fwd": "conv 32×64→64×56² 3×3 fwd",
    "conv_resnet_fwdbwd": "conv 32×64→64×56² 3×3 fwd+bwd",
    "add1": "eager add, 1-elem tensors",
    "linear16_fwdbwd": "Linear(16,16) fwd+bwd, batch 1",
    "cnn_step": "fashion-cnn train step, batch 64, Adam",
    "stream_copy": "STREAM-like copy, 64 MiB arrays",
    "stream_triad": "STREAM-like triad, 64 MiB arrays",
    "mlp_step": "fashion-mlp train step, batch 128, SGD m=0.9",
    "mlp_infer1": "fashion-mlp inference, batch 1",
    "mlp_infer64": "fashion-mlp inference, batch 64",
    "cnn_infer1": "fashion-cnn inference, batch 1",
    "cnn_infer64": "fashion-cnn inference, batch 64",
    "cnn_epoch": "fashion-cnn epoch from the files (60k images, batch 64, Adam)",
    "mlp_epoch": "fashion-mlp epoch from the files (60k images, batch 128, SGD)",
    "sdpa_512": "attention 4×8 heads, S=512, d=64, fwd",
    "sdpa_512_fwdbwd": "attention 4×8 heads, S=512, d=64, fwd+bwd",
    "sdpa_2048": "attention 4×8 heads, S=2048, d=64, fwd",
    "sdpa_2048_fwdbwd": "attention 4×8 heads, S=2048, d=64, fwd+bwd",
    "sdpa_2048_causal": "causal attention 4×8 heads, S=2048, d=64, fwd",
    "sdpa_2048_causal_fwdbwd": "causal attention 4×8 heads, S=2048, d=64, fwd+bwd",
    "cnn_epoch_rss": "peak RSS, fashion-cnn epoch process",
    "mlp_epoch_rss": "peak RSS, fashion-mlp epoch process",
}
for _op, _label in EW_OPS.items():
    for _tag in EW_SIZES:
        LABELS[f"{_op}_{_tag}"] = f"{_label}, {_tag.upper()} elems"
# Graph mode (issue 5): every framework eagerly and compiled (Ember: the graph
# executor on an optimized trace for inference, ember::compile for the
# training step; PyTorch: torch.compile; TensorFlow: tf.function). A request
# names "<workload>_eager" or "<workload>_compiled"; compilation happens before
# the timed repetitions (bench/peer.py, bench/ember_bench.cpp).
GRAPH_WORKLOADS = {
    "graph_mlp_infer1": (100, 20, "ms"),
    "graph_mlp_infer64": (10, 3, "ms"),
    "graph_cnn_infer1": (20, 5, "ms"),
    "graph_cnn_infer64": (3, 2, "ms"),
    "graph_mlp_step": (10, 3, "img"),
    "graph_cnn_step": (5, 3, "img"),
}
LABELS.update({
    "graph_mlp_infer1": "fashion-mlp inference, batch 1",
    "graph_mlp_infer64": "fashion-mlp inference, batch 64",
    "graph_cnn_infer1": "fashion-cnn inference, batch 1",
    "graph_cnn_infer64": "fashion-cnn inference, batch 64",
    "graph_mlp_step": "fashion-mlp train step, batch 128, SGD m=0.9",
    "graph_cnn_step": "fashion-cnn train step, batch 64, Adam",
})
GRAPH_COLUMNS = {("ember", "eager"): "Ember eager", ("ember", "compiled"): "Ember compiled",
                 ("torch", "eager"): "PyTorch eager", ("torch", "compiled"): "torch.compile",
                 ("tf", "eager"): "TF eager", ("tf", "compiled"): "tf.function"}
GRAPH_BEGIN, GRAPH_END = "<!-- graph-bench:begin (bench/run.py writes this part) -->", "<!-- graph-bench:end -->"
UNITS = {"peak": "GFLOP/s", "gflops": "GFLOP/s", "us": "µs/op", "img": "images/s", "bwpeak": "GB/s",
         "gbs": "GB/s", "ms": "ms", "mb": "MB"}
LOWER_IS_BETTER = ("us", "ms", "mb")


class Server:
    def __init__(self, name, argv):
        self.name = name
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
                                  env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
        self.version = ""
        if name != "ember":
            self.version = self._read().get("version", "")

    def _read(self):
        while True:
            line = self.p.stdout.readline()
            if not line:
                raise RuntimeError(f"{self.name} exited")
            line = line.strip()
            if line.startswith("{"):
                return json.loads(line)

    def ask(self, request):
        self.p.stdin.write(request + "\n")
        self.p.stdin.flush()
        out = self._read()
        if "error" in out:
            raise RuntimeError(f"{self.name}: {request}: {out['error']}")
        return out

    def close(self):
        self.p.stdin.close()
        self.p.wait()


def start_server(f, t, ember_bench):
    """One framework's long-lived process at t threads."""
    if f == "ember":
        return Server("ember", [ember_bench, "--serve"])
    if f == "libtorch":
        return Server(f, [os.path.join(os.path.dirname(ember_bench), "libtorch_peer"), "--threads", str(t), "--serve"])
    return Server(f, [sys.executable, os.path.join(ROOT, "bench", "peer.py"),
                      "--framework", f, "--threads", str(t), "--serve"])


def metric(kind, t, flops, items, nbytes=0):
    """The reported figure for one per-iteration time t (seconds)."""
    if kind in ("peak", "gflops"):
        return flops / t / 1e9
    if kind in ("bwpeak", "gbs"):
        return nbytes / t / 1e9
    if kind == "ms":
        return t * 1e3
    if kind == "us":
        return t / items * 1e6
    return items / t


def fmt(x):
    return f"{x:.3g}" if x < 100 else f"{x:.0f}"


def lscpu_model():
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def busy_cpus(interval=0.3):
    """CPUs' worth of busy time over `interval` seconds, machine-wide (our
    servers sit idle between requests, so this is everyone else)."""
    import time

    def sample():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v), v[3] + v[4]  # total, idle + iowait
    t0, i0 = sample()
    time.sleep(interval)
    t1, i1 = sample()
    return (os.cpu_count() or 1) * (1 - (i1 - i0) / max(1, t1 - t0))


QUIET = {"waits": 0, "waited_s": 0.0, "gave_up": 0}


def wait_quiet(limit_s, threshold=0.3):
    """Waits (up to limit_s) until other processes use < threshold CPUs, so a
    shared machine's builds do not land inside a timed round."""
    import time
    start = time.monotonic()
    first = True
    while busy_cpus() >= threshold:
        if first:
            QUIET["waits"] += 1
            first = False
        if time.monotonic() - start > limit_s:
            QUIET["gave_up"] += 1
            break
    QUIET["waited_s"] += time.monotonic() - start


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def run_graph(threads, peers, rounds, reps, quiet_wait, ember_bench):
    """The graph-mode table: each framework eager and compiled on the same
    workloads, alternating as in the main table (rounds x reps, order rotated
    per round). Ember's requests also measure one iteration's allocator peak
    (--mem). Returns the markdown (table + memory table) and the peers'
    versions."""
    cols = [c for c in GRAPH_COLUMNS if c[0] == "ember" or c[0] in peers]
    med = {}  # (threads, workload, column) -> median of the metric
    mem = {}  # (threads, workload, mode) -> MB above the baseline, median
    versions = {}
    for t in threads:
        servers = {f: start_server(f, t, ember_bench) for f in dict.fromkeys(f for f, _ in cols)}
        versions.update({f: s.version for f, s in servers.items() if f != "ember"})
        for w, (inner, warmup, kind) in GRAPH_WORKLOADS.items():
            times = {c: [] for c in cols}
            peaks = {c: [] for c in cols if c[0] == "ember"}
            meta = {}
            for r in range(rounds):
                for c in cols[r % len(cols):] + cols[:r % len(cols)]:
                    if quiet_wait > 0:
                        wait_quiet(quiet_wait)
                    f, mode = c
                    request = f"{w}_{mode} --threads {t} --warmup {warmup} --reps {reps} --inner {inner}"
                    out = servers[f].ask(request + (" --mem" if f == "ember" else ""))
                    times[c] += out["times"]
                    meta[c] = (out["flops"], out["items"], out.get("bytes", 0))
                    if c in peaks:
                        peaks[c].append(out["step_peak_bytes"] / 1e6)
            for c in cols:
                med[(t, w, c)] = metric(kind, statistics.median(times[c]), *meta[c])
            for (f, mode), v in peaks.items():
                mem[(t, w, mode)] = statistics.median(v)
            print(f"[{t} thr] {w:20s} {UNITS[kind]:9s} "
                  + "  ".join(f"{GRAPH_COLUMNS[c]} {fmt(med[(t, w, c)])}" for c in cols)
                  + f"  | Ember MB eager {fmt(mem[(t, w, 'eager')])} compiled {fmt(mem[(t, w, 'compiled')])}",
                  flush=True)
        for server in servers.values():
            server.close()

    def speedup(kind, slow, fast):  # > 1: `fast` is faster
        return slow / fast if kind in LOWER_IS_BETTER else fast / slow

    hdr = ["workload", "thr", "unit"] + [GRAPH_COLUMNS[c] for c in cols[:2]] + ["Ember compiled/eager"]
    hdr += [GRAPH_COLUMNS[c] for c in cols[2:]]
    if ("torch", "compiled") in cols:
        hdr.append("Ember compiled/torch.compile")
    rows = []
    for t in threads:
        for w, (_, _, kind) in GRAPH_WORKLOADS.items():
            v = {c: med[(t, w, c)] for c in cols}
            row = [LABELS[w], str(t), UNITS[kind], fmt(v[("ember", "eager")]), fmt(v[("ember", "compiled")]),
                   f"{speedup(kind, v[('ember', 'eager')], v[('ember', 'compiled')]):.2f}×"]
            row += [fmt(v[c]) for c in cols[2:]]
            if ("torch", "compiled") in cols:
                row.append(f"{speedup(kind, v[('torch', 'compiled')], v[('ember', 'compiled')]):.2f}×")
            rows.append(row)
    table = ["| " + " | ".join(hdr) + " |", "|" + "|".join("---" for _ in hdr) + "|"]
    table += ["| " + " | ".join(r) + " |" for r in rows]
    table += ["", "Ember's memory per iteration above what outlives it (caching allocator, MB):", "",
              "| workload | thr | eager | compiled | compiled vs eager |", "|---|---|---|---|---|"]
    for t in threads:
        for w in GRAPH_WORKLOADS:
            e, c = mem[(t, w, "eager")], mem[(t, w, "compiled")]
            table.append(f"| {LABELS[w]} | {t} | {fmt(e)} | {fmt(c)} | {100 * (c - e) / e:+.0f}% |" if e > 0 else
                         f"| {LABELS[w]} | {t} | {fmt(e)} | {fmt(c)} | — |")

    # Issue 5's targets: (what, [(workload, ratio)], the bar each ratio must reach).
    short = {"graph_mlp_infer1": "MLP batch 1", "graph_mlp_infer64": "MLP batch 64", "graph_cnn_infer1": "CNN batch 1",
             "graph_cnn_infer64": "CNN batch 64", "graph_mlp_step": "MLP step", "graph_cnn_step": "CNN step"}

    def ratios(t, workloads, other):
        return [(w, speedup(GRAPH_WORKLOADS[w][2], med[(t, w, other)], med[(t, w, ("ember", "compiled"))]))
                for w in workloads]
    for t in threads:
        targets = [("Ember compiled ≥ 1.5× eager, inference at batch 1",
                    ratios(t, ["graph_mlp_infer1", "graph_cnn_infer1"], ("ember", "eager")), 1.5),
                   ("Ember compiled ≥ 1.15× eager, training step",
                    ratios(t, ["graph_mlp_step", "graph_cnn_step"], ("ember", "eager")), 1.15),
                   ("Ember memory per iteration ≥ 30% below eager (eager/compiled ≥ 1.43×)",
                    [(w, mem[(t, w, "eager")] / max(mem[(t, w, "compiled")], 1e-12)) for w in GRAPH_WORKLOADS],
                    1 / 0.7)]
        if ("torch", "compiled") in cols:
            targets.insert(1, ("Ember compiled ≥ torch.compile, inference",
                               ratios(t, [w for w in GRAPH_WORKLOADS if "_infer" in w], ("torch", "compiled")), 1.0))
        table += ["", f"Issue 5's targets ({t} threads):", ""]
        for what, got, bar in targets:
            met = all(r >= bar for _, r in got)
            table.append(f"- {what}: **{'met' if met else 'not met'}** ("
                         + ", ".join(f"{short[w]} {r:.2f}×" for w, r in got) + ")")
    return "\n".join(table), versions


def graph_section(started, load_before, load_after, quiet_wait, versions, ember_bench, cmd, table):
    """The generated part of docs/graph_mode.md's benchmark section."""
    vers = ", ".join(f"{NAMES[f]} {v}" for f, v in versions.items())
    return f"""- **Date:** {started.strftime('%Y-%m-%d %H:%M UTC')}
- **Machine:** {lscpu_model()}, {os.cpu_count()} logical CPUs ({platform.system()} {platform.release()})
- **Load average (1/5/15 min):** {load_before} before, {load_after} after; before each request the
  driver waited for other processes to use < 0.3 CPUs (waited {QUIET['waits']} times,
  {QUIET['waited_s']:.0f} s in all; {QUIET['gave_up']} requests ran after giving up at {quiet_wait:.0f} s)
- **Peers:** {vers}; Ember: `{os.path.relpath(ember_bench, ROOT)}` (Release)
- **Command:**

```sh
bench/setup.sh   # once: venv with torch + tensorflow-cpu (torch.compile needs g++ and Python headers)
{cmd}
```

{table}"""


def write_graph_section(path, text):
    """Replaces the generated part of the graph-mode page (between the
    GRAPH_BEGIN / GRAPH_END markers), keeping the hand-written rest."""
    doc = open(path).read() if os.path.exists(path) else ""
    if GRAPH_BEGIN in doc and GRAPH_END in doc:
        head, rest = doc.split(GRAPH_BEGIN, 1)
        doc = head + GRAPH_BEGIN + "\n" + text + "\n" + GRAPH_END + rest.split(GRAPH_END, 1)[1]
    else:
        doc += f"\n## Benchmarks\n\n{GRAPH_BEGIN}\n{text}\n{GRAPH_END}\n"
    with open(path, "w") as fh:
        fh.write(doc)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--frameworks", default="torch,tf,libtorch",
                    help="peers: torch, tf, libtorch (comma-separated)")
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--ember-bench", default=os.path.join(ROOT, "build-bench", "ember_bench"))
    ap.add_argument("--quiet-wait", type=float, default=60,
                    help="before each request, wait up to this many seconds for other CPU use to drop (0: off)")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "BENCHMARKS.md"), help="'' to skip writing")
    ap.add_argument("--only", choices=["all", "main", "graph"], default="all",
                    help="main: the side-by-side table only; graph: the graph-mode table only (eager vs compiled)")
    ap.add_argument("--graph-threads", default="2")
    ap.add_argument("--graph-out", default=os.path.join(ROOT, "docs", "graph_mode.md"),
                    help="page whose generated benchmark section the graph table replaces ('' to skip writing)")
    a = ap.parse_args()
    threads = [int(t) for t in a.threads.split(",")]
    peers = [f for f in a.frameworks.split(",") if f]
    workloads = a.workloads.split(",")
    for w in workloads:
        if w not in WORKLOADS:
            sys.exit(f"unknown workload {w}; known: {', '.join(WORKLOADS)}")
    if not os.path.exists(a.ember_bench):
        sys.exit(f"{a.ember_bench} missing: run bench/setup.sh (or build target ember_bench)")

    started = datetime.datetime.now(datetime.timezone.utc)
    load_before = loadavg()
    results = {}  # (threads, workload, framework) -> (median, lo, hi) of the metric
    versions = {}
    libtorch_peer = os.path.join(os.path.dirname(a.ember_bench), "libtorch_peer")
    if "libtorch" in peers and not os.path.exists(libtorch_peer):
        print(f"note: {libtorch_peer} missing (bench/setup.sh builds it); no libtorch column", flush=True)
        peers.remove("libtorch")
    cmd = "~/.cache/ember/torch-venv/bin/python bench/run.py" + "".join(
        f" {shlex.quote(x)}" for x in sys.argv[1:])

    def graph():
        """Runs the graph-mode table; writes it into --graph-out. Returns it."""
        g_threads = [int(t) for t in a.graph_threads.split(",")]
        g_peers = [f for f in peers if f in ("torch", "tf")]
        g_started, g_load = datetime.datetime.now(datetime.timezone.utc), loadavg()
        text, g_versions = run_graph(g_threads, g_peers, a.rounds, a.reps, a.quiet_wait, a.ember_bench)
        print()
        print(text)
        print(f"quiet-wait: {QUIET}; load {g_load} -> {loadavg()}")
        if a.graph_out:
            write_graph_section(a.graph_out, graph_section(g_started, g_load, loadavg(), a.quiet_wait, g_versions,
                                                           a.ember_bench, cmd, text))
            print(f"\nwrote {os.path.relpath(a.graph_out, ROOT)}")
        return text

    if a.only == "graph":
        graph()
        return

    def start(f, t):
        return start_server(f, t, a.ember_bench)

    def show(t, w, kind, fws):
        line = "  ".join(f"{f} {fmt(results[(t, w, f)][0])}" for f in fws)
        print(f"[{t} thr] {w:22s} {UNITS[kind]:9s} {line}", flush=True)

    for t in threads:
        servers = {"ember": start("ember", t)}
        for f in peers:
            servers[f] = start(f, t)
            versions[f] = servers[f].version
        names = list(servers)
        for w in workloads:
            inner, warmup, kind = WORKLOADS[w]
            fws = ["ember"] if kind in ("peak", "bwpeak") else [
                f for f in names if f != "libtorch" or w in LIBTORCH_WORKLOADS]
            fresh = w in FRESH
            times = {f: [] for f in fws}
            peak_rss = {f: [] for f in fws}
            meta = {}
            for r in range(a.rounds):
                order = fws[r % len(fws):] + fws[:r % len(fws)]
                for f in order:
                    if a.quiet_wait > 0:
                        wait_quiet(a.quiet_wait)
                    server = start(f, t) if fresh else servers[f]
                    reps = 1 if fresh else a.reps
                    out = server.ask(f"{w} --threads {t} --warmup {warmup} --reps {reps} --inner {inner}")
                    if fresh:
                        server.close()
                        peak_rss[f].append(out["peak_rss_mb"])
                    times[f] += out["times"]
                    meta[f] = (out["flops"], out["items"], out.get("bytes", 0))
            for f in fws:
                ms = sorted(metric(kind, x, *meta[f]) for x in times[f])
                results[(t, w, f)] = (metric(kind, statistics.median(times[f]), *meta[f]), ms[0], ms[-1])
                if fresh:
                    results[(t, w + "_rss", f)] = (statistics.median(peak_rss[f]), min(peak_rss[f]),
                                                   max(peak_rss[f]))
            show(t, w, kind, fws)
            if fresh:
                show(t, w + "_rss", "mb", fws)
        for s in servers.values():
            s.close()
    graph_text = graph() if a.only == "all" else ""
    load_after = loadavg()

    # The table.
    table_peers = [f for f in peers if f != "libtorch"]
    hdr = ["workload", "thr", "unit", "Ember median (min–max)"]
    for f in table_peers:
        hdr += [f"{NAMES[f]} median (min–max)", f"Ember/{NAMES[f]}"]
    hdr.append("Ember % of peak")
    rows = []
    for t in threads:
        for w, kind in [(x, k) for w in workloads
                        for x, k in [(w, WORKLOADS[w][2])] + ([(w + "_rss", "mb")] if w in FRESH else [])]:
            e = results[(t, w, "ember")]
            row = [LABELS[w], str(t), UNITS[kind], f"{fmt(e[0])} ({fmt(e[1])}–{fmt(e[2])})"]
            for f in table_peers:
                if (t, w, f) not in results:
                    row += ["—", "—"]
                    continue
                p = results[(t, w, f)]
                # Ratio as a speed-up: > 1 means Ember is faster (for µs/op, lower is better).
                ratio = p[0] / e[0] if kind in LOWER_IS_BETTER else e[0] / p[0]
                row += [f"{fmt(p[0])} ({fmt(p[1])}–{fmt(p[2])})", f"{ratio:.2f}×"]
            peak = results.get((t, "fma", "ember"))
            bw = results.get((t, "stream_triad", "ember"))
            if kind == "gflops" and peak:
                row.append(f"{100 * e[0] / peak[0]:.0f}%")
            elif kind in ("gbs", "bwpeak") and bw and w != "stream_triad":
                row.append(f"{100 * e[0] / bw[0]:.0f}% of triad")
            else:
                row.append("")
            rows.append(row)
    table = ["| " + " | ".join(hdr) + " |", "|" + "|".join("---" for _ in hdr) + "|"]
    table += ["| " + " | ".join(r) + " |" for r in rows]
    table = "\n".join(table)
    cpp_rows = [(t, w) for t in threads for w in workloads if (t, w, "libtorch") in results]
    if cpp_rows:
        table += ("\n\n**Against PyTorch's C++ API** (libtorch, `build-bench/libtorch_peer`, same"
                  " workloads, same process protocol):\n\n"
                  "| workload | thr | unit | Ember median (min–max) | libtorch median (min–max) | Ember/libtorch |\n"
                  "|---|---|---|---|---|---|\n")
        for t, w in cpp_rows:
            e, p = results[(t, w, "ember")], results[(t, w, "libtorch")]
            kind = WORKLOADS[w][2]
            table += (f"| {LABELS[w]} | {t} | {UNITS[kind]} | {fmt(e[0])} ({fmt(e[1])}–{fmt(e[2])}) | "
                      f"{fmt(p[0])} ({fmt(p[1])}–{fmt(p[2])}) | {p[0] / e[0]:.2f}× |\n")
    print()
    print(table)
    print(f"quiet-wait: {QUIET}; load {load_before} -> {load_after}")

    if not a.out:
        return
    vers = ", ".join(f"{NAMES[f]} {versions[f]}" for f in peers)
    doc = f"""# Benchmarks

Ember against its peers on the CPU, measured in one invocation of one command,
the frameworks alternating workload by workload (issue 4). Generated by
`bench/run.py`; do not edit by hand — rerun it.

- **Date:** {started.strftime('%Y-%m-%d %H:%M UTC')}
- **Machine:** {lscpu_model()}, {os.cpu_count()} logical CPUs ({platform.system()} {platform.release()})
- **Load average (1/5/15 min):** {load_before} before, {load_after} after; before each
  request the driver waited for other processes to use < 0.3 CPUs (waited {QUIET['waits']} times,
  {QUIET['waited_s']:.0f} s in all; {QUIET['gave_up']} requests ran after giving up at {a.quiet_wait:.0f} s)
- **Peers:** {vers}; Ember Release build (`build-bench/`, `-march=x86-64-v3`; the FMA peak file `-O3 -march=native`)
- **Command:**

```sh
bench/setup.sh   # once: venv ~/.cache/ember/torch-venv with torch + tensorflow-cpu, libtorch-dev; Release build in build-bench/
{cmd}
```

## Method

- Every framework runs in its own long-lived process per thread count (Ember:
  `build-bench/ember_bench --serve`; PyTorch/TensorFlow: `bench/peer.py
  --serve`), so imports and pool start-up are not timed. Threads:
  `ember::set_num_threads`, `torch.set_num_threads`, TensorFlow's intra- and
  inter-op pools.
- For each thread count and workload: {a.rounds} rounds; in each round every
  framework (order rotated per round) runs warm-up iterations and then {a.reps}
  timed repetitions; medians and min–max are over all {a.rounds * a.reps}
  repetitions of each framework.
- **Ember/peer** is a speed ratio: above 1× Ember is faster (for µs/op and ms
  it is peer time / Ember time).
- **% of peak** divides Ember's GFLOP/s by the FMA peak measured in the same
  run at the same thread count (`bench/fma_peak.cpp`: 16 independent
  AVX-512 FMA chains per thread). Convolution FLOPs are 2·N·Cout·H·W·Cin·9
  forward and 3× that forward+backward (dx, dw, db).
- Same shapes, f32, same math everywhere. TensorFlow's convolutions are NHWC
  (its CPU layout); its eager ops run as eager ops; its CNN training step is a
  `tf.function` (what Keras `fit` does). PyTorch and Ember run eagerly.
  Inference latency (ms per forward pass, batch 1 or 64) runs under
  `ember::autograd::InferenceModeGuard` / `torch.inference_mode()` / a
  `tf.function` of `model(x, training=False)` (what Keras `predict` compiles).
  The fashion-mlp step is 784-512-512-10 with ReLU, SGD lr 0.01 momentum 0.9,
  cross-entropy, batch 128 (TensorFlow: a `tf.function`, as for the CNN).
- **GB/s** for elementwise ops and reductions is logical bytes read + written
  per call divided by time (add 3·4n, a·b+c 4·4n, gelu/softmax/layer_norm
  2·4n, sum 4n; temporaries and write-allocate traffic not counted), at n =
  1K, 64K and 16M f32 elements; softmax and layer_norm are over the last dim
  in rows of 1024 (layer_norm with weight and bias, eps 1e-5; TensorFlow:
  `tf.nn.moments` + `tf.nn.batch_normalization`). Their **% of triad**
  divides by the STREAM-like triad bandwidth (`a = b + s·c` over three 64 MiB
  arrays, OpenMP static schedule, `bench/fma_peak.cpp`) measured in the same
  run at the same thread count; 1K and 64K fit in cache, so they can exceed
  100%. Iterations per repetition: 300 at 1K, 30 at 64K, 1 at 16M.
- **Epochs** (`cnn_epoch`, `mlp_epoch`) are one full training epoch timed
  from the files: read Debian's gzipped Fashion-MNIST IDX files, normalize,
  then 60,000 shuffled images in batches through each framework's own input
  pipeline (Ember's DataLoader with one worker thread; PyTorch's DataLoader;
  `tf.data` with prefetch and a `tf.function` step) into the training step.
  Each repetition runs in a **fresh process**, and its peak resident memory
  (VmHWM, the whole process: libraries, data and training) is the
  **peak RSS** row ({a.rounds} epochs per framework).
  Forward+backward conv workloads differentiate `sum(conv2d(x, w, b))` with
  respect to x, w and b (gradients accumulate across iterations in all three).

## Results

{table}
"""
    if graph_text:
        doc += f"""
## Graph mode

Each framework eagerly and compiled, same models and inputs (Ember: the graph
executor / `ember::compile`; PyTorch: `torch.compile`; TensorFlow:
`tf.function`); method in [graph_mode.md](graph_mode.md#benchmarks). Ratios
above 1× mean the compiled column is faster.

{graph_text}
"""
    with open(a.out, "w") as fh:
        fh.write(doc)
    print(f"\nwrote {os.path.relpath(a.out, ROOT)}")


NAMES = {"torch": "PyTorch", "tf": "TensorFlow", "libtorch": "libtorch"}

if __name__ == "__main__":
    main()
