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

# Every file loader under libFuzzer with ASan+UBSan (tests/fuzz), for a
# bounded time each; a crash, leak, hang or sanitizer report fails the run.
fuzz_seconds="${EMBER_FUZZ_SECONDS:-30}"
echo "== fuzz: configure and build (build-fuzz)"
if cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEMBER_FUZZ=ON -DEMBER_TESTS=OFF \
     -DCMAKE_CXX_COMPILER=clang++ > build-fuzz.configure.log 2>&1 &&
   cmake --build build-fuzz -j "$jobs" --target ember_fuzzers; then
  fuzz_targets=(build-fuzz/tests/fuzz/fuzz_*)
  fuzz_failed=()
  mkdir -p build-fuzz/artifacts
  for exe in "${fuzz_targets[@]}"; do
    name="$(basename "$exe")"
    echo "== fuzz: $name for ${fuzz_seconds}s"
    corpora=("build-fuzz/corpus/$name")  # new inputs go here; the committed seeds stay as they are
    mkdir -p "${corpora[0]}"
    [ -d "tests/fuzz/corpus/$name" ] && corpora+=("tests/fuzz/corpus/$name")
    dict=()
    [ -f "tests/fuzz/$name.dict" ] && dict=(-dict="tests/fuzz/$name.dict")
    "$exe" -max_total_time="$fuzz_seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "${dict[@]}" \
      -artifact_prefix="build-fuzz/artifacts/$name-" "${corpora[@]}" > "build-fuzz/$name.log" 2>&1 ||
      { tail -n 60 "build-fuzz/$name.log"; fuzz_failed+=("$name"); }
    grep -E "stat::number_of_executed_units|Done [0-9]+ runs" "build-fuzz/$name.log" | tail -n 1 || true
  done
  summary+=("fuzz: ${#fuzz_targets[@]} targets x ${fuzz_seconds}s, ${#fuzz_failed[@]} failed${fuzz_failed[*]:+ (${fuzz_failed[*]})}")
  [ "${#fuzz_failed[@]}" -eq 0 ] || status=1
else
  tail -n 30 build-fuzz.configure.log
  summary+=("fuzz: build FAILED")
  status=1
fi

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
joined="$(printf '%s; ' "${summary[@]}")"
echo "ember test summary: ${joined%; }"
if [ "$status" -eq 0 ]; then echo "ALL TESTS PASSED"; else echo "SOME TESTS FAILED"; fi
exit "$status"
