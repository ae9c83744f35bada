#!/usr/bin/env bash
# Leave-datasets-out check: how well a training recipe forecasts datasets it never saw, measured
# without touching the unseen split (which reports zero-shot accuracy and so must not choose it).
#
# Five seen datasets with no sibling (same cells or lab) among the others — CALCE (LCO),
# INL_NMC_pouch_fastcharge (NMC pouch), RWTH (NMC check-ups, knee), STANFORD_DYNAMIC (check-ups,
# drive cycles), XJTU (NCM 18650) — are held out whole: the recipe is trained on the other nine
# seen datasets' train cells, then scored by `fadecast eval` on every cell of the five (early and
# rolling tasks), beside linear extrapolation on the same cells.
#
# Usage: scripts/zero_shot_check.sh CONFIG OUT_DIR [CORPUS_DIR]   (~11 min of training on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
config=${1:?usage: scripts/zero_shot_check.sh CONFIG OUT_DIR [CORPUS_DIR]}
out=${2:?usage: scripts/zero_shot_check.sh CONFIG OUT_DIR [CORPUS_DIR]}
corpus=${3:-out/corpus}
cargo build --release --locked -p fadecast-cli
bin=${CARGO_TARGET_DIR:-target}/release/fadecast
[ -d "$corpus" ] || "$bin" corpus build --out "$corpus" > /dev/null
held_out=($(scripts/held_out_split.sh "$out/split.json"))

"$bin" train --corpus "$corpus" --config "$config" --split-file "$out/split.json" --out "$out/run" --resume
only=(); for d in "${held_out[@]}"; do only+=(--dataset "$d"); done
for task in early rolling; do
  for model in "$out/run" linear; do
    "$bin" eval --corpus "$corpus" --model "$model" --split-file "$out/split.json" --task "$task" --split unseen \
      "${only[@]}" --out "$out/eval-$(basename "$model")-$task" | tail -n 1
  done
done
