#!/usr/bin/env bash
# Cross-checks the solver: dumps every verification condition (VC) of the
# example suite (examples/**/*.hvsl and tests/regress/verify/*.hvsl) with
# `hvsl verify --dump-smt`, gives each file to the z3 and cvc5 binaries and
# checks that they agree on sat/unsat. An `unknown` (or a time-out) from
# either solver is counted separately, not as a disagreement. See
# docs/testing.md.
#
# Usage: tests/solvers/compare_solvers.sh HVSL [KEEP_DIR]
#   HVSL      the hvsl binary
#   KEEP_DIR  keep the dumped and normalised VCs there (default: a temporary
#             directory, removed at the end)
# Environment: SOLVER_TIMEOUT seconds per solver and VC (default 20);
#   VCS_PER_FILE queries of each file, evenly spread (default 60; 0: all).
# Exit: 0 agreement, 1 a disagreement or a VC a solver could not read,
#       77 skipped (cvc5 or z3 not installed; ctest shows it as skipped).
set -uo pipefail
cd "$(dirname "$0")/../.."

hvsl=${1:?usage: compare_solvers.sh HVSL [KEEP_DIR]}
timeout_s=${SOLVER_TIMEOUT:-20}
for solver in cvc5 z3; do
  if ! command -v "$solver" >/dev/null; then
    echo "SKIP: $solver is not installed (scripts/setup.sh installs it: apt-get install $solver)"
    exit 77
  fi
done

if [ $# -ge 2 ]; then
  work=$2
  rm -rf "$work" && mkdir -p "$work"
else
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
fi

# One dump directory per input file: the numbering of dumped queries starts
# again for every file, so a shared directory would lose VCs.
files=$(find examples -name '*.hvsl' | sort; ls tests/regress/verify/*.hvsl)
n_files=0
for f in $files; do
  dir="$work/$(echo "${f%.hvsl}" | tr '/' '_')"
  "$hvsl" verify --dump-smt "$dir" "$f" >/dev/null 2>&1
  case $? in
    0|1|4) n_files=$((n_files + 1)) ;;
    2) ;;  # an input error (tests/regress/verify has some on purpose): no VCs
    *) echo "ERROR: hvsl verify $f exited with $?"; exit 1 ;;
  esac
done

# The answer of one solver: sat, unsat, unknown, or error (the output).
answer() {
  local out
  out=$("$@" 2>&1)
  case $out in
    sat | unsat | unknown) echo "$out" ;;
    timeout | *"interrupted by timeout"* | *"resource limit"*) echo unknown ;;
    *) echo "error: $(echo "$out" | head -3 | tr '\n' ' ')" ;;
  esac
}

# At most VCS_PER_FILE queries of each file, spread evenly over its dump
# (every k-th): a file with an automated-FTLR block dumps hundreds, which
# would otherwise make up most of the run without covering more kinds of
# query. Then normalise and deduplicate, and solve the distinct VCs with
# both solvers, as many at a time as there are cores.
per_file=${VCS_PER_FILE:-60}
vcs=0 unique=0 sampled=0
declare -A seen
: >"$work/distinct"
for dir in $(find "$work" -mindepth 1 -maxdepth 1 -type d | sort); do
  mapfile -t dumped < <(find "$dir" -name '*.smt2' | sort)
  vcs=$((vcs + ${#dumped[@]}))
  step=1
  if [ "$per_file" -gt 0 ] && [ ${#dumped[@]} -gt "$per_file" ]; then
    step=$(( (${#dumped[@]} + per_file - 1) / per_file ))
  fi
  for ((i = 0; i < ${#dumped[@]}; i += step)); do echo "${dumped[$i]}"; done
done >"$work/sampled"
while read -r vc; do
  sampled=$((sampled + 1))
  # The dumps are Z3's own SMT-LIB, some with hvsl's (set-logic ...): z3
  # rejects the constant arrays it prints, (as const (Array Int Bool)), under
  # QF_AUFLIA, and cvc5 wants a logic. ALL keeps the formula and suits both.
  if grep -q '^(set-logic ' "$vc"; then
    sed 's/^(set-logic [A-Za-z_]*)$/(set-logic ALL)/' "$vc" >"$vc.all"
  else
    { echo '(set-logic ALL)'; cat "$vc"; } >"$vc.all"
  fi
  # The same formula (twin files share queries, and a hypercall spec file's
  # checks would repeat for every file) is solved once; the comments name
  # the query and differ.
  key=$(grep -v '^;' "$vc.all" | md5sum | cut -d' ' -f1)
  [ -n "${seen[$key]:-}" ] && continue
  seen[$key]=$vc
  unique=$((unique + 1))
  echo "$vc" >>"$work/distinct"
done <"$work/sampled"

# Solves one VC with both solvers; prints "z3-answer cvc5-answer".
solve_both() {
  local vc=$1 cvc5_in=$1.all
  # Z3 prints set difference and union on its array-encoded sets as
  # (setminus a b) and (union a b), which cvc5 does not know: cvc5 gets them
  # as functions with their defining axiom (quantified, so cvc5 may answer
  # unknown on such a query; it never changes a decided answer).
  if grep -q '(setminus \|(union ' "$vc.all"; then
    cvc5_in="$vc.cvc5"
    {
      echo '(set-logic ALL)'
      echo '(declare-fun setminus ((Array Int Bool) (Array Int Bool)) (Array Int Bool))'
      echo '(assert (forall ((a (Array Int Bool)) (b (Array Int Bool)) (x Int)) (= (select (setminus a b) x) (and (select a x) (not (select b x))))))'
      echo '(declare-fun union ((Array Int Bool) (Array Int Bool)) (Array Int Bool))'
      echo '(assert (forall ((a (Array Int Bool)) (b (Array Int Bool)) (x Int)) (= (select (union a b) x) (or (select a x) (select b x)))))'
      grep -v '^(set-logic ' "$vc.all"
    } >"$cvc5_in"
  fi
  local z c
  z=$(answer timeout $((timeout_s + 5)) z3 -smt2 -T:"$timeout_s" "$vc.all")
  c=$(answer timeout $((timeout_s + 5)) cvc5 --lang=smt2 --tlimit=$((timeout_s * 1000)) "$cvc5_in")
  printf '%s\n%s\n' "$z" "$c" >"$vc.answers"
}
export -f answer solve_both
export timeout_s
xargs -a "$work/distinct" -P "$(nproc)" -I{} bash -c 'solve_both "$1"' _ {}

agree=0 agree_sat=0 agree_unsat=0 z3_unknown=0 cvc5_unknown=0 both_unknown=0
disagreements=() errors=()
while read -r vc; do
  { read -r z; read -r c; } <"$vc.answers"
  name=${vc#"$work"/}
  if [[ $z == error* || $c == error* ]]; then
    errors+=("$name: z3 ${z}; cvc5 ${c}")
  elif [ "$z" = unknown ] || [ "$c" = unknown ]; then
    if [ "$z" = unknown ] && [ "$c" = unknown ]; then both_unknown=$((both_unknown + 1))
    elif [ "$z" = unknown ]; then z3_unknown=$((z3_unknown + 1))
    else cvc5_unknown=$((cvc5_unknown + 1)); fi
    echo "unknown: $name (z3 $z, cvc5 $c)"
  elif [ "$z" = "$c" ]; then
    agree=$((agree + 1))
    if [ "$z" = sat ]; then agree_sat=$((agree_sat + 1)); else agree_unsat=$((agree_unsat + 1)); fi
  else
    disagreements+=("$name: z3 $z, cvc5 $c")
  fi
done <"$work/distinct"

echo "solvers: $(z3 --version | head -1); $(cvc5 --version | head -1)"
echo "VCs: $vcs from $n_files files, $sampled sampled (at most $per_file per file), $unique distinct; agree: $agree ($agree_unsat unsat, $agree_sat sat);" \
     "unknown: $((z3_unknown + cvc5_unknown + both_unknown)) (z3 only $z3_unknown, cvc5 only $cvc5_unknown, both $both_unknown);" \
     "disagreements: ${#disagreements[@]}; unreadable: ${#errors[@]}"
for d in "${disagreements[@]}"; do echo "DISAGREEMENT: $d"; done
for e in "${errors[@]}"; do echo "UNREADABLE: $e"; done
if [ "$vcs" -eq 0 ]; then echo "ERROR: no VC was dumped"; exit 1; fi
[ ${#disagreements[@]} -eq 0 ] && [ ${#errors[@]} -eq 0 ]
