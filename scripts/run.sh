#!/usr/bin/env bash
# Installs what Ember needs, builds it (Release), and runs the main job: train
# the fashion-cnn recipe on the real Fashion-MNIST data (Debian's
# dataset-fashion-mnist) with the `ember` CLI and report its test accuracy.
# Checkpoints and TensorBoard logs go to runs/fashion-cnn. Idempotent.
#   bash scripts/run.sh [ember train arguments, e.g. --epochs 1 --threads 2]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release > build.configure.log 2>&1 || { cat build.configure.log; exit 1; }
cmake --build build -j "$(nproc)" --target ember_cli
exec ./build/ember train fashion-cnn "$@"
