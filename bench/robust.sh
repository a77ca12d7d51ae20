#!/usr/bin/env bash
# The robust-safety benchmark (docs/benchmarks.md, "Robust safety"): how long
# `hvsl verify` takes when known VMs are verified against unknown ones.
#  1. The case studies in examples/robust, via bench/examples.sh.
#  2. A scaling family from bench/robust_gen.sh: N VMs, N/2 of them unknown.
#     Each unknown VM adds one FTLR block, so this shows how that check grows.
# Usage: bench/robust.sh [--no-cases] [RUNS [SIZES...]]
#   default: 5 runs; sizes 2 4 8 16 32 (32 VMs take minutes per run);
#   --no-cases skips part 1 (e.g. to time one large size on its own).
# HVSL=path/to/hvsl picks the binary (default build/hvsl; use a Release build
# for figures). Not a test: ctest does not run it.
set -euo pipefail
cd "$(dirname "$0")/.."
cases=yes
if [ "${1:-}" = --no-cases ]; then cases=no; shift; fi
runs=${1:-5}
[ $# -gt 0 ] && shift
[ $# -gt 0 ] || set -- 2 4 8 16 32
export HVSL=${HVSL:-build/hvsl}
hvsl=$HVSL
[ -x "$hvsl" ] || { echo "bench/robust.sh: no $hvsl: build first or set HVSL" >&2; exit 2; }
. bench/measure.sh

if [ "$cases" = yes ]; then
  echo "## Case studies"
  echo
  bench/examples.sh "$runs" examples/robust/run_yield_with_unknown.hvsl \
    examples/robust/mem_trans_msg_send.hvsl examples/robust/unknown_primary.hvsl
  echo
fi

# ratio NEW OLD: " (2.1×)" against the previous size, nothing for the first.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b != "" && b > 0) printf " (%.1f×)", a / b }'; }

echo "## Scaling: N VMs, N/2 unknown (bench/robust_gen.sh)"
echo
echo "medians of $runs runs; times in ms; (×) = growth against the previous row; load average at the start: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
echo
echo "| VMs | unknown | wall | known VMs' blocks | FTLR blocks | Z3 (all blocks) | queries known + FTLR |"
echo "|---:|---:|---:|---:|---:|---:|---:|"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
pw='' pk='' pf=''
for n in "$@"; do
  f=$dir/robust_$n.hvsl
  sh bench/robust_gen.sh "$n" >"$f"
  # Every block must verify: N/2 known VMs with specs and N/2 FTLR blocks,
  # so N in all. If not, measure prints hvsl's output and this stops (set -e).
  row=$(measure "$f" "$runs" "$n")
  read -r wall kt kz kq ft fz fq <<<"$row"
  z=$(awk -v a="$kz" -v b="$fz" 'BEGIN { printf "%.1f", a + b }')   # sum of the two medians
  echo "| $n | $((n / 2)) | $wall$(ratio "$wall" "$pw") | $kt$(ratio "$kt" "$pk") | $ft$(ratio "$ft" "$pf") | $z | $kq + $fq |"
  pw=$wall pk=$kt pf=$ft
done
