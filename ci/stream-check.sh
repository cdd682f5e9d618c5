#!/usr/bin/env bash
# Acceptance check of the EVA engine's streaming: 1,000,000 rows x d = 1024 of activations through
# `eva4j init --activations` with a 512 MiB heap (tau = 1 so no layer converges early; 100 files of rows/100 rows,
# one step per file (--rows-per-step rows/100), 100 steps: every row is consumed once).
# Usage: bash ci/stream-check.sh [ROWS] [DIM]   (writes ~2 GB of F16 files under $TMPDIR, removed afterwards)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rows=${1:-1000000}
dim=${2:-1024}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$root/eva4j" make-activations --out "$work/acts" --rows "$rows" --dim "$dim" --files 100 --dtype f16 2>/dev/null
start=$(date +%s)
EVA4J_JAVA_OPTS="-Xmx512m" "$root/eva4j" init --activations "$work/acts" --out "$work/adapter" --rank 8 \
  --tau 1 --max-steps 100 --accept-unconverged --svd warm --rows-per-step $(( (rows + 99) / 100 )) > "$work/init.log"
tokens=$(grep -o '"tokens" : [0-9]*' "$work/adapter/eva_report.json" | head -n 1 | grep -o '[0-9]*$')
echo "stream-check: $tokens rows x $dim consumed with -Xmx512m in $(( $(date +%s) - start )) s"
[ "$tokens" -eq "$rows" ] || { echo "stream-check: expected $rows rows, the report says $tokens"; exit 1; }
