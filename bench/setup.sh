#!/bin/sh
# Idempotent: the peers' venv (outside the source tree) and Ember's Release
# build of the benchmark in build-bench/. Then: see docs/BENCHMARKS.md.
set -eu
cd "$(dirname "$0")/.."
VENV="${EMBER_BENCH_VENV:-$HOME/.cache/ember/torch-venv}"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -c 'import torch' 2>/dev/null || "$VENV/bin/pip" install torch numpy
"$VENV/bin/python" -c 'import tensorflow' 2>/dev/null || "$VENV/bin/pip" install tensorflow-cpu
cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DEMBER_TESTS=OFF
cmake --build build-bench --target ember_bench
