#!/usr/bin/env bash
# Times `hvsl verify` on verified examples: per file, the median wall time of
# the whole command (parsing, checking the hypercall spec file, verifying
# every block) over RUNS runs, and from --stats the medians of the time, Z3
# time and queries of the known VMs' blocks and of the unknown VMs' blocks
# (the automated FTLR) separately. Prints a markdown table.
# Usage: bench/examples.sh [RUNS [FILE...]] (default 7 runs of examples/ffa
# and the tutorial; bench/robust.sh passes examples/robust). HVSL=path/to/hvsl
# picks the binary (default build/hvsl). See docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-7}
[ $# -gt 0 ] && shift
[ $# -gt 0 ] || set -- examples/ffa/*.hvsl examples/tutorial/*.hvsl examples/nova/*.hvsl
hvsl=${HVSL:-build/hvsl}
[ -x "$hvsl" ] || { echo "bench/examples.sh: no $hvsl: build first (bash scripts/setup.sh) or set HVSL" >&2; exit 2; }
. bench/measure.sh

echo "medians of $runs runs; times in ms; load average at the start: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
echo
echo "| file | wall | known VMs | of which Z3 | queries | FTLR | of which Z3 | queries |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for f in "$@"; do
  row=$(measure "$f" "$runs")   # set -e: stops here if a run failed
  read -r wall kt kz kq ft fz fq <<<"$row"
  echo "| ${f#examples/} | $wall | $kt | $kz | $kq | $ft | $fz | $fq |"
done
