#!/usr/bin/env bash
# Replaces the committed corpus tests/fuzz/corpus/TARGET with a minimised one
# (docs/testing.md, "Fuzzing the parsers"): the fewest files that reach
# every edge the inputs reach, picked greedily (most new edges first, the
# smaller file on a tie). Needs build-fuzz/ from run_fuzz.sh.
#
#   bash tests/fuzz/minimize_corpus.sh TARGET [DIR...]
#
# DIRs default to the working corpus build-fuzz/work/TARGET/corpus and the
# committed corpus.
set -euo pipefail
cd "$(dirname "$0")/../.."

target=${1:?usage: minimize_corpus.sh parse_machine|parse_abi [DIR...]}
shift
bin=build-fuzz/tests/fuzz/fuzz_$target
[ -x "$bin" ] || { echo "minimize_corpus.sh: $bin not built (run tests/fuzz/run_fuzz.sh first)" >&2; exit 2; }
dirs=("$@")
[ ${#dirs[@]} -gt 0 ] || dirs=("build-fuzz/work/$target/corpus" "tests/fuzz/corpus/$target")

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export ASAN_OPTIONS=detect_leaks=0
# 1. libFuzzer's merge on edges only (no hit counters): a first, size-ordered cut.
mkdir "$tmp/merged"
"$bin" -merge=1 -use_counters=0 -merge_control_file="$tmp/control" "$tmp/merged" "${dirs[@]}" \
  >"$tmp/merge.log" 2>&1 || { cat "$tmp/merge.log"; exit 1; }
# 2. The edges of each remaining file, one process per file.
mkdir "$tmp/cov"
for f in "$tmp"/merged/*; do
  rm -rf "$tmp/one" "$tmp/out" "$tmp/cf" && mkdir "$tmp/one" "$tmp/out" && cp "$f" "$tmp/one/"
  "$bin" -merge=1 -use_counters=0 -merge_control_file="$tmp/cf" "$tmp/out" "$tmp/one" >/dev/null 2>&1
  grep '^COV' "$tmp/cf" | cut -d' ' -f3- >"$tmp/cov/$(basename "$f")"
done
# 3. Greedy set cover.
python3 - "$tmp/cov" "$tmp/merged" "$tmp/chosen" <<'PY'
import os, shutil, sys
covdir, indir, outdir = sys.argv[1:4]
edges = {n: set(open(os.path.join(covdir, n)).read().split()) for n in os.listdir(covdir)}
size = {n: os.path.getsize(os.path.join(indir, n)) for n in edges}
universe = set().union(*edges.values()) if edges else set()
covered, chosen = set(), []
while covered != universe:
    best = max(edges, key=lambda n: (len(edges[n] - covered), -size[n]))
    chosen.append(best)
    covered |= edges[best]
os.makedirs(outdir)
for n in chosen:
    shutil.copy(os.path.join(indir, n), os.path.join(outdir, n))
print(f"{len(universe)} edges, {len(chosen)} files, {sum(size[n] for n in chosen)} bytes")
PY
rm -rf "tests/fuzz/corpus/$target"
mkdir -p "tests/fuzz/corpus/$target"
cp "$tmp"/chosen/* "tests/fuzz/corpus/$target/"
echo "tests/fuzz/corpus/$target: $(ls "tests/fuzz/corpus/$target" | wc -l) files"
