#!/usr/bin/env bash
# Installs what the tests need, builds Ember twice (Release, and ASan+UBSan),
# runs every test in both, and prints one summary line. Exits non-zero on any
# failure. Idempotent; incremental builds are fast (Ninja + ccache).
#   bash scripts/test.sh
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
bash scripts/setup.sh
jobs="$(nproc)"

summary=()
status=0
run_suite() {  # name build-dir cmake-args...
  local name="$1" dir="$2"
  shift 2
  echo "== $name: configure and build ($dir)"
  cmake -S . -B "$dir" -G Ninja "$@" > "$dir.configure.log" 2>&1 || { cat "$dir.configure.log"; exit 1; }
  cmake --build "$dir" -j "$jobs"
  echo "== $name: test"
  rm -rf "$dir/gtest-xml"
  local rc=0
  GTEST_OUTPUT="xml:$here/$dir/gtest-xml/" ctest --test-dir "$dir" --output-on-failure -j "$jobs" || rc=$?
  # Count the GoogleTest cases (each CTest test is one executable holding many).
  local tests failures
  read -r tests failures < <(cat "$dir"/gtest-xml/*.xml 2>/dev/null |
    awk 'match($0, /<testsuites tests="[0-9]+" failures="[0-9]+"/) {
           split(substr($0, RSTART, RLENGTH), f, "\""); t += f[2]; x += f[4] } END { print t + 0, x + 0 }')
  summary+=("$name: ${tests:-0} tests, ${failures:-0} failed, ctest exit $rc")
  [ "$rc" -eq 0 ] || status=1
}

run_suite release build -DCMAKE_BUILD_TYPE=Release
# The sanitizer build runs the same unit tests with AddressSanitizer and
# UndefinedBehaviorSanitizer (and internal debug asserts on), so memory errors
# fail CI. -O1 -g1 keeps its compile time down on 2-core CI machines.
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  run_suite sanitizers build-asan -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -g1" -DEMBER_SANITIZE=ON

# The CUDA backend skeleton must keep compiling wherever nvcc exists.
if command -v nvcc > /dev/null 2>&1 || [ -x /usr/local/cuda/bin/nvcc ]; then
  echo "== cuda: build the backend skeleton (build-cuda)"
  cmake -S . -B build-cuda -G Ninja -DCMAKE_BUILD_TYPE=Release -DEMBER_CUDA=ON -DEMBER_TESTS=OFF \
    -DCMAKE_CUDA_COMPILER="$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)" > build-cuda.configure.log 2>&1 &&
    cmake --build build-cuda -j "$jobs" --target ember_cuda && summary+=("cuda: skeleton compiled") ||
    { cat build-cuda.configure.log; summary+=("cuda: skeleton FAILED to compile"); status=1; }
else
  summary+=("cuda: no nvcc, skipped")
fi

echo
echo "ember test summary: ${summary[0]}; ${summary[1]}; ${summary[2]}"
if [ "$status" -eq 0 ]; then echo "ALL TESTS PASSED"; else echo "SOME TESTS FAILED"; fi
exit "$status"
