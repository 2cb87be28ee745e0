#!/bin/sh
# Idempotent: the peers' venv (outside the source tree), libtorch (PyTorch's
# C++ API, the C++ peer for the dispatch workloads), what torch.compile needs
# (the graph-mode table) and Ember's Release build of the benchmark in
# build-bench/. Then: see docs/BENCHMARKS.md.
# Bench only: scripts/setup.sh and CI never need libtorch.
set -eu
cd "$(dirname "$0")/.."
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
VENV="${EMBER_BENCH_VENV:-$HOME/.cache/ember/torch-venv}"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -c 'import torch' 2>/dev/null || "$VENV/bin/pip" install torch numpy
"$VENV/bin/python" -c 'import tensorflow' 2>/dev/null || "$VENV/bin/pip" install tensorflow-cpu
# torch.compile's CPU backend (inductor) compiles C++ with the system g++
# against the venv Python's headers.
if ! command -v g++ >/dev/null || ! "$VENV/bin/python" -c 'import os, sysconfig
assert os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h"))' 2>/dev/null; then
  $SUDO apt-get install -y --no-install-recommends g++ python3-dev
fi
if [ ! -f /usr/include/torch/csrc/api/include/torch/torch.h ]; then
  $SUDO apt-get install -y --no-install-recommends libtorch-dev
fi
cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DEMBER_TESTS=OFF
cmake --build build-bench --target ember_bench
# Outside the CMake build: libtorch 1.13's headers want C++17 and its own flags.
if [ ! build-bench/libtorch_peer -nt bench/libtorch_peer.cpp ]; then
  g++ -std=c++17 -O2 -DNDEBUG bench/libtorch_peer.cpp -I/usr/include/torch/csrc/api/include \
    -ltorch -ltorch_cpu -lc10 -o build-bench/libtorch_peer
fi
