#!/usr/bin/env bash
# The whole test suite: installs and builds if needed, then runs every unit
# and regression test through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
ctest --test-dir build --output-on-failure -j "$(nproc)"
