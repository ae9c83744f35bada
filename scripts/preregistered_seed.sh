#!/usr/bin/env bash
# One seed of docs/preregistered.md's experiment 1: the four runs of seed N — R-N (the shipped
# recipe), S-N (R-N's epoch-30 checkpoint continued with synthetic curves) and their held-out twins
# trained without the five datasets of scripts/held_out_split.sh — under runs/ab/, then each
# finished member (weights, config, data manifest, log; no checkpoints) copied to
# models/candidates/synthetic-late/<R|S|R-zs|S-zs>/seed-N, so that a later session on a new machine
# can combine the three seeds without training them again. Resumable: finished runs are skipped,
# killed ones resume. About 100 epochs of training in all (~90 min on 2 cores).
#
# Usage: scripts/preregistered_seed.sh SEED [CORPUS_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
seed=${1:?usage: scripts/preregistered_seed.sh SEED [CORPUS_DIR]}
corpus=${2:-out/corpus}
bin=${FADECAST:-${CARGO_TARGET_DIR:-target}/release/fadecast}
keep=models/candidates/synthetic-late
split=runs/ab/zs-split.json
scripts/held_out_split.sh "$split" > /dev/null
R=configs/train-self-fed.json S=configs/train-self-fed-synthetic.json

train() { # name: trains runs/ab/<name> unless its member is already kept
  local name=$1 kind=${1%-$seed*} args=()
  [[ $name == *-zs ]] && { kind=$kind-zs; args=(--split-file "$split"); }
  [ -f "$keep/$kind/seed-$seed/model.safetensors" ] && { echo "kept: $kind/seed-$seed"; return; }
  case $name in
    R-*) "$bin" train --corpus "$corpus" --config "$R" --seed "$seed" --out "runs/ab/$name" "${args[@]}" --resume ;;
    S-*) scripts/branch_run.sh "runs/ab/R-${name#S-}" 30 "$S" "$seed" "runs/ab/$name" "${args[1]:-splits/v1.json}" "$corpus" ;;
  esac
  mkdir -p "$keep/$kind/seed-$seed.tmp"
  find "runs/ab/$name" -maxdepth 1 -type f -exec cp {} "$keep/$kind/seed-$seed.tmp/" \;
  mv "$keep/$kind/seed-$seed.tmp" "$keep/$kind/seed-$seed"
}
for name in "R-$seed" "S-$seed" "R-$seed-zs" "S-$seed-zs"; do train "$name"; done
