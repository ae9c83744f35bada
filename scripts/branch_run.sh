#!/usr/bin/env bash
# Continues a training run's checkpoint with another config: the run that config would have
# made from scratch, when the two configs train alike until that epoch (self-feeding and
# synthetic curves from a later epoch are built so: `self_feed_from_epoch`, `synthetic.from_epoch`).
# Copies the epoch's checkpoint and log into OUT, writes the config there (with --seed's seed), and
# resumes; a finished OUT (its final weights written) is left alone, a killed one resumes.
#
# Usage: scripts/branch_run.sh FROM_RUN EPOCH CONFIG SEED OUT [SPLIT_FILE] [CORPUS_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
from=${1:?usage: scripts/branch_run.sh FROM_RUN EPOCH CONFIG SEED OUT [SPLIT_FILE] [CORPUS_DIR]}
epoch=${2:?epoch} config=${3:?config} seed=${4:?seed} out=${5:?out}
split=${6:-splits/v1.json} corpus=${7:-out/corpus}
bin=${FADECAST:-${CARGO_TARGET_DIR:-target}/release/fadecast}
ckpt=$(printf '%s/checkpoints/epoch-%04d' "$from" "$epoch")
[ -f "$ckpt/state.json" ] || { echo "branch_run: no checkpoint $ckpt" >&2; exit 1; }
epochs=$("$bin" train --config "$config" --print-config | python3 -c 'import json,sys; print(json.load(sys.stdin)["epochs"])')
if [ -f "$out/checkpoints/$(printf 'epoch-%04d' "$epochs")/state.json" ]; then
  echo "branch_run: $out is finished" >&2; exit 0
fi
if [ ! -d "$out/checkpoints" ]; then
  mkdir -p "$out/checkpoints"
  cp -r "$ckpt" "$out/checkpoints/"
  head -n "$epoch" "$from/log.jsonl" > "$out/log.jsonl"
  "$bin" train --config "$config" --seed "$seed" --print-config > "$out/config.json"
fi
"$bin" train --corpus "$corpus" --config "$config" --seed "$seed" --split-file "$split" --out "$out" --resume
