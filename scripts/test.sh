#!/usr/bin/env bash
# The whole test suite: installs and builds if needed, then runs every unit
# and regression test through ctest, twice:
#   1. the normal build (build/);
#   2. a build with AddressSanitizer, LeakSanitizer and UBSan (build-asan/,
#      -DHVSL_SANITIZE=ON, non-recovering), where any sanitizer report fails.
# HVSL_SKIP_SANITIZE=1 skips the second pass (quick local runs only; CI runs
# both). HVSL_ASAN_DIFFTEST_CASES sets the differential tester's case count
# in the second pass (default below). See docs/testing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
ctest --test-dir build --output-on-failure -j "$(nproc)"

if [ "${HVSL_SKIP_SANITIZE:-0}" = 1 ]; then
  echo "test.sh: HVSL_SKIP_SANITIZE=1, sanitizer pass skipped"
  exit 0
fi

echo "test.sh: sanitizer pass (ASan + LSan + UBSan) in build-asan/"
# -Werror stays in the normal build: GCC 12 with -fsanitize=address reports
# -Wmaybe-uninitialized false positives inside <regex>. -g1 (line tables,
# enough for the reports' stack traces) compiles a quarter faster than -g.
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHVSL_SANITIZE=ON \
  -DHVSL_WERROR=OFF -DCMAKE_CXX_FLAGS=-Wno-maybe-uninitialized \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG" >/dev/null
cmake --build build-asan -j "$(nproc)"

# Every report stops the process with SIGABRT (exit 134), which fails the
# test that ran it. Two tests (api.inspect_vcs.*) pass on their output's
# regex and ignore the exit code, so every test's full output is also
# scanned for reports below.
export ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1:check_initialization_order=1:strict_init_order=1
export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1
junit="$PWD/build-asan/ctest-junit.xml"
rm -f "$junit"
status=0
# The differential tester runs separately with fewer cases (ASan makes it
# several times slower). Three tests that check properties other than
# memory safety, on the same inputs the regression tests already run, are
# left to the normal pass: z3/cvc5 agreement (its time is the solvers'),
# byte-identical output across runs, and mutation testing.
ctest --test-dir build-asan --output-on-failure -j "$(nproc)" \
  -E '^(difftest|solvers/z3_cvc5_agree|determinism/verify_output|mutation/examples)$' \
  --output-junit "$junit" --test-output-size-passed 10000000 --test-output-size-failed 10000000 || status=1

logs=("$junit")
difftest_log="$PWD/build-asan/difftest.log"
if [ -x build-asan/tests/difftest/difftest ]; then
  logs+=("$difftest_log")
  cases="${HVSL_ASAN_DIFFTEST_CASES:-150}"
  echo "test.sh: difftest --cases $cases --seed 20240603 (sanitized)"
  if build-asan/tests/difftest/difftest --cases "$cases" --seed 20240603 --no-save >"$difftest_log" 2>&1; then
    tail -n 1 "$difftest_log"
  else
    cat "$difftest_log"
    echo "test.sh: difftest failed under the sanitizers"
    status=1
  fi
fi

reports='ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|SUMMARY: UndefinedBehaviorSanitizer'
if grep -E -q "$reports" "${logs[@]}"; then
  echo "test.sh: sanitizer reports in the test output:"
  grep -E -n "$reports" "${logs[@]}" | head -n 40
  status=1
fi
if [ "$status" -ne 0 ]; then
  echo "test.sh: the sanitizer pass failed"
  exit 1
fi
echo "test.sh: sanitizer pass: all tests passed, no sanitizer reports"
