#!/usr/bin/env bash
# Regenerates docs/baselines.md: every baseline on the early, rolling and eol tasks, test and
# unseen splits (splits/v1.json), scored by `fadecast eval`, then tabulated by `fadecast eval --compare`.
# Usage: scripts/baselines.sh [CORPUS_DIR]   (default out/corpus, built if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p fadecast-cli
bin=${CARGO_TARGET_DIR:-target}/release/fadecast
corpus=${1:-out/corpus}
[ -d "$corpus" ] || "$bin" corpus build --out "$corpus" > /dev/null
models=$("$bin" eval --list-models | awk '$2=="baseline"{print $1}')
runs=()
for task in early rolling eol; do
  for split in test unseen; do
    for model in $models; do
      out="out/eval/$model-$task-$split"
      "$bin" eval --corpus "$corpus" --model "$model" --task "$task" --split "$split" --out "$out"
      runs+=("$out/metrics.json")
    done
  done
done
{
  echo "# Baselines"
  echo
  echo "Every baseline on every task, on the test cells of the seen datasets and on the unseen datasets"
  echo "(split file \`splits/v1.json\`), from \`scripts/baselines.sh\`. Protocol and metric definitions:"
  echo "\`fadecast::eval\` (tasks.rs, metrics.rs); per-run reports and plots are in \`out/eval/\`."
  echo
  "$bin" eval --compare "${runs[@]}"
} > docs/baselines.md.tmp
mv docs/baselines.md.tmp docs/baselines.md
echo "wrote docs/baselines.md"
