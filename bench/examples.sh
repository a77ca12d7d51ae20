#!/usr/bin/env bash
# Times `hvsl verify` on the verified examples (examples/ffa, the tutorial):
# per file, the median wall time of the whole command (parsing, checking the
# hypercall spec file, verifying every VM) over N runs, and the verifier's
# own and Z3 times from --stats (median over the runs, summed over the VMs).
# Usage: bench/examples.sh [RUNS] (default 7). See docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-7}
hvsl=${HVSL:-build/hvsl}
[ -x "$hvsl" ] || { echo "bench/examples.sh: build first (bash scripts/setup.sh)" >&2; exit 2; }
median() { sort -n | awk '{a[NR]=$1} END {if (NR == 0) print 0; else print a[int((NR + 1) / 2)]}'; }
printf '%-48s %10s %12s %10s\n' file "wall ms" "verify ms" "z3 ms"
for f in examples/ffa/*.hvsl examples/tutorial/*.hvsl; do
  walls=() verifies=() z3s=()
  for _ in $(seq "$runs"); do
    t0=$(date +%s%N)
    out=$("$hvsl" verify --stats "$f" 2>&1 || true)
    t1=$(date +%s%N)
    walls+=("$(( (t1 - t0) / 1000 ))")
    # "..., 0.7 ms, 0.0 ms in Z3)" per VM: sum them
    verifies+=("$(grep -o '[0-9.]* ms, [0-9.]* ms in Z3' <<<"$out" | awk '{s += $1} END {printf "%.1f", s}')")
    z3s+=("$(grep -o '[0-9.]* ms in Z3' <<<"$out" | awk '{s += $1} END {printf "%.1f", s}')")
  done
  w=$(printf '%s\n' "${walls[@]}" | median)
  v=$(printf '%s\n' "${verifies[@]}" | median)
  z=$(printf '%s\n' "${z3s[@]}" | median)
  printf '%-48s %10.1f %12s %10s\n' "$f" "$(awk -v w="$w" 'BEGIN {print w / 1000}')" "$v" "$z"
done
