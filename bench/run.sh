#!/bin/sh
# Builds hvsl_bench in a Release build (build-bench/, next to build/) and runs
# it. Arguments go to hvsl_bench: bench/run.sh --runs 11, bench/run.sh --quick.
# See docs/benchmarks.md.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build-bench"
generator=
if [ ! -f "$build/CMakeCache.txt" ] && command -v ninja >/dev/null 2>&1; then
  generator="-G Ninja"
fi
# -Wno-error=restrict: at -O3, g++ 12 reports a false -Wrestrict inside
# std::string's operator+ (GCC PR 105651; here from logic/term.cpp). It stays a
# warning so it is still seen; every other warning is still an error.
# shellcheck disable=SC2086  # $generator is empty or two words
cmake -S "$root" -B "$build" $generator -DCMAKE_BUILD_TYPE=Release -DHVSL_WERROR=ON \
  -DCMAKE_CXX_FLAGS=-Wno-error=restrict >/dev/null
cmake --build "$build" --target hvsl_bench -j "$(nproc 2>/dev/null || echo 2)"
exec "$build/bench/hvsl_bench" "$@"
