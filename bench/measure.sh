# shellcheck shell=bash disable=SC2154  # $hvsl: set by the script that sources this file
# Shared by bench/examples.sh and bench/robust.sh (sourced, bash): times
# `hvsl verify --stats` on one file. Not a test: see docs/benchmarks.md.
#
# Needs $hvsl (the hvsl binary). Defines:
#   median                     reads numbers, one per line; prints their median
#   measure FILE RUNS [BLOCKS] prints one line of medians over RUNS runs:
#     wall_ms known_ms known_z3_ms known_queries ftlr_ms ftlr_z3_ms ftlr_queries
# "known" sums the blocks of known VMs (their specs), "ftlr" the blocks of
# unknown VMs (the automated FTLR: one step of that VM keeps to its reach).
# Each column's median is taken on its own, so a row need not be one run.
# A run that does not exit 0 (a block failed or was inconclusive, or the
# input is bad), or that verifies other than BLOCKS blocks when BLOCKS is
# given, prints hvsl's output and stops the benchmark: a time for a check
# that did not pass would mean nothing.

median() { sort -n | awk '{a[NR] = $1} END {if (NR == 0) print 0; else print a[int((NR + 1) / 2)]}'; }

# The unknown VMs of FILE, space-separated with a space at both ends, so
# that awk can test membership with index(list, " " vm " ").
unknown_vms() { printf ' %s ' "$(sed -n 's/^[[:space:]]*vm[[:space:]]\{1,\}\([A-Za-z0-9_]*\)[[:space:]]\{1,\}unknown\b.*/\1/p' "$1" | tr '\n' ' ')"; }

# One run: wall_ms and the sums of the block lines, which look like
#   FILE: vm2: verified (0 failures, 3 paths, 5 queries, 1.2 ms, 0.4 ms in Z3): never terminates ...
measure_once() {
  local f=$1 unknown=$2 blocks=$3 t0 t1 out rc=0
  t0=$(date +%s%N)
  out=$("$hvsl" verify --stats "$f" 2>&1) || rc=$?
  t1=$(date +%s%N)
  if [ "$rc" -ne 0 ] || { [ -n "$blocks" ] && ! grep -qx "hvsl: $blocks verified, 0 failed, 0 inconclusive" <<<"$out"; }; then
    printf '%s\n' "$out" >&2
    echo "bench: hvsl verify $f: exit code $rc${blocks:+, expected $blocks blocks verified}; stopping (see its output above)" >&2
    return 1
  fi
  awk -v wall="$(( (t1 - t0) / 1000 ))" -v unknown="$unknown" '
    / ms in Z3\)/ {
      split($0, p, ": "); vm = p[2]
      s = $0; sub(/^[^(]*\(/, "", s); sub(/\).*$/, "", s)
      split(s, f, ", ")   # "0 failures", "3 paths", "5 queries", "1.2 ms", "0.4 ms in Z3"
      if (index(unknown, " " vm " ")) { ft += f[4]; fz += f[5]; fq += f[3] }
      else                            { kt += f[4]; kz += f[5]; kq += f[3] }
    }
    END { printf "%.1f %.1f %.1f %d %.1f %.1f %d\n", wall / 1000, kt, kz, kq, ft, fz, fq }' <<<"$out"
}

measure() {
  local f=$1 runs=$2 blocks=${3:-} unknown lines c meds=()
  unknown=$(unknown_vms "$f")
  lines=$(for _ in $(seq "$runs"); do measure_once "$f" "$unknown" "$blocks" || exit 1; done) || return 1
  for c in 1 2 3 4 5 6 7; do
    meds+=("$(cut -d' ' -f"$c" <<<"$lines" | median)")
  done
  echo "${meds[*]}"
}
