#!/usr/bin/env bash
# Chooses a model's interval_scale (its forecast.json) on the val split: scores the early, rolling
# and eol tasks with each candidate --interval-scale and picks the one whose p10–p90 coverage,
# averaged over the three tasks, is nearest the nominal 80 %. The median, and so every RMSE, is
# the same for every scale. The candidates narrow as well as widen: a band that covers more than
# 80 % on val is as miscalibrated as one that covers less.
# Usage: scripts/calibrate_intervals.sh [MODEL] [CORPUS_DIR]   (defaults: default, out/corpus)
#        SCALES="1 1.25 1.5 2" to change the candidates.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p fadecast-cli
bin=${CARGO_TARGET_DIR:-target}/release/fadecast
model=${1:-default}
corpus=${2:-out/corpus}
[ -d "$corpus" ] || "$bin" corpus build --out "$corpus" > /dev/null
scales=(${SCALES:-0.75 0.875 1 1.125 1.25 1.5 2})
tag=$(basename "$model")
printf '| interval_scale | early val coverage | rolling val coverage | eol val coverage | mean | early val pinball | rolling val pinball |\n|---:|---:|---:|---:|---:|---:|---:|\n'
best="" best_gap=""
for s in "${scales[@]}"; do
  covs=() pins=()
  for task in early rolling eol; do
    out="out/calibrate/$tag-$s-$task-val"
    "$bin" eval --corpus "$corpus" --model "$model" --task "$task" --split val --interval-scale "$s" --out "$out" > /dev/null 2>&1 \
      || { echo "fadecast eval failed for scale $s, task $task (rerun it for the message)" >&2; exit 1; }
    covs+=("$(jq '.macro.coverage_p10_p90' "$out/metrics.json")")
    pins+=("$(jq '.macro.pinball' "$out/metrics.json")")
  done
  read -r mean gap < <(python3 -c "m=(${covs[0]}+${covs[1]}+${covs[2]})/3; print(m, abs(m-0.8))")
  python3 -c "print('| $s | %.1f %% | %.1f %% | %.1f %% | %.1f %% | %.3f | %.3f |' % (${covs[0]}*100, ${covs[1]}*100, ${covs[2]}*100, $mean*100, ${pins[0]}, ${pins[1]}))"
  if [ -z "$best" ] || python3 -c "import sys; sys.exit(0 if $gap < $best_gap else 1)"; then best=$s best_gap=$gap; fi
done
echo
echo "chosen interval_scale: $best (set it in the model's forecast.json)"
