#!/usr/bin/env bash
# Fuzzes one of the parsers with libFuzzer (docs/testing.md, "Fuzzing the
# parsers"). Run scripts/setup.sh once first (the project's dependencies);
# this script installs clang if needed, builds the target in build-fuzz/
# (clang, -DHVSL_FUZZ=ON: ASan + UBSan + libFuzzer), seeds a working corpus
# and runs on one core.
#
#   bash tests/fuzz/run_fuzz.sh TARGET [SECONDS] [-- LIBFUZZER_OPTIONS...]
#
# TARGET is parse_machine or parse_abi; SECONDS defaults to 1800. The
# working corpus is build-fuzz/work/TARGET/corpus (kept between runs; it
# starts from the committed corpus tests/fuzz/corpus/TARGET and the
# repository's .hvsl files), crashes and hangs go to build-fuzz/work/TARGET/
# (crash-*, timeout-*, oom-*), and the log to build-fuzz/work/TARGET/fuzz-0.log.
set -euo pipefail
cd "$(dirname "$0")/../.."

target=${1:?usage: run_fuzz.sh parse_machine|parse_abi [SECONDS] [-- LIBFUZZER_OPTIONS...]}
shift
seconds=1800
if [ $# -gt 0 ] && [ "$1" != "--" ]; then seconds=$1; shift; fi
[ $# -gt 0 ] && [ "$1" = "--" ] && shift
case $target in
  parse_machine) seeds=(tests/regress examples) ;;
  parse_abi) seeds=(specs tests/regress/abi_errors tests/regress/spec_errors) ;;
  *) echo "run_fuzz.sh: unknown target $target (parse_machine or parse_abi)" >&2; exit 2 ;;
esac

# Debian 12: clang 14 and its runtime libraries (libFuzzer, ASan, UBSan);
# python3 for minimize_corpus.sh.
packages=(clang libclang-rt-14-dev python3)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# -Werror off: clang warns about things GCC does not (the GCC build is where
# warnings are enforced).
cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DHVSL_FUZZ=ON -DHVSL_WERROR=OFF >/dev/null
cmake --build build-fuzz --target "fuzz_$target" -j "$(nproc)"

work=build-fuzz/work/$target
mkdir -p "$work/corpus" "$work/seeds"
cp tests/fuzz/corpus/"$target"/* "$work/corpus/"
find "${seeds[@]}" -name '*.hvsl' | while read -r f; do cp "$f" "$work/seeds/$(echo "$f" | tr / _)"; done

export ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
cd "$work"
echo "fuzzing $target for $seconds s (log: $work/fuzz-0.log)"
status=0
"../../tests/fuzz/fuzz_$target" corpus seeds -dict=../../../tests/fuzz/hvsl.dict -jobs=1 -workers=1 \
  -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=50000 -print_final_stats=1 \
  -artifact_prefix=./ "$@" || status=$?
grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE)' fuzz-0.log | tail -n 1 || true
tail -n 6 fuzz-0.log
ls crash-* timeout-* oom-* leak-* 2>/dev/null && { echo "run_fuzz.sh: findings above (in $work)"; exit 1; }
exit $status
