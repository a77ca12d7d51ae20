#!/usr/bin/env bash
# Same input, same output: runs `hvsl verify` on every example
# (examples/**/*.hvsl and tests/regress/verify/*.hvsl) twice in text and twice
# in JSON, without --stats (which prints timings), and checks that standard
# output, standard error and the exit code are byte-identical between the two
# runs. See docs/testing.md.
#
# Usage: tests/determinism/check_determinism.sh HVSL
# Exit: 0 identical, 1 a difference (each one is listed with a diff).
set -uo pipefail
cd "$(dirname "$0")/../.."

hvsl=${1:?usage: check_determinism.sh HVSL}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

files=$(find examples -name '*.hvsl' | sort; ls tests/regress/verify/*.hvsl)
n_files=0 n_pairs=0
differences=()
for f in $files; do
  n_files=$((n_files + 1))
  for format in text json; do
    for run in 1 2; do
      "$hvsl" verify --format "$format" "$f" >"$tmp/$run.stdout" 2>"$tmp/$run.stderr"
      echo "exit code $?" >"$tmp/$run.exit"
    done
    n_pairs=$((n_pairs + 1))
    for part in stdout stderr exit; do
      if ! cmp -s "$tmp/1.$part" "$tmp/2.$part"; then
        differences+=("$f ($format, $part)")
        echo "DIFFERENT: $f (--format $format, $part):"
        diff "$tmp/1.$part" "$tmp/2.$part" | head -20
      fi
    done
  done
done

echo "determinism: $n_files files, $n_pairs pairs of runs (text and JSON), ${#differences[@]} differences"
[ "$n_files" -gt 0 ] && [ ${#differences[@]} -eq 0 ]
