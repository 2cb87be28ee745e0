#!/usr/bin/env bash
# Installs what Ember needs, builds it (Release), and runs the main job: train
# a model on the real Fashion-MNIST data (Debian's dataset-fashion-mnist) and
# report its test accuracy. Idempotent.
#   bash scripts/run.sh [ember_demo arguments]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release > build.configure.log 2>&1 || { cat build.configure.log; exit 1; }
cmake --build build -j "$(nproc)" --target ember_demo
exec ./build/ember_demo "$@"
