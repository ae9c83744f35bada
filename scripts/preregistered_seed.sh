#!/usr/bin/env bash
# One seed of docs/preregistered.md's experiment 1: the four runs of seed N — R-N (the recipe
# shipped then, stop 21's), S-N (R-N's epoch-30 checkpoint continued with synthetic curves) and
# their held-out twins trained without the five datasets of scripts/held_out_split.sh — under
# runs/ab/, then each finished member (weights, config, data manifest, log; no checkpoints) copied
# to models/candidates/synthetic-late/<R|S|R-zs|S-zs>/seed-N, so that a later session on a new
# machine can combine the three seeds without training them again. (The experiment decided at
# stop 27; at stop 28 S shipped as models/default, its twins became models/default-held-out, and
# the kept members left the tree: `git checkout dfaabe5 -- models/candidates` restores them.)
# Resumable: finished runs are skipped, killed ones resume. About 100 epochs of training in all
# (~45 min alone on 2 cores at stop 26; ~100 min on stop 27's slower machine).
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

train() { # RECIPE(R|S) [SUFFIX]: trains runs/ab/<RECIPE>-<seed><SUFFIX> unless its member is kept;
  # suffix -zs trains the held-out twin (on $split, else the released split as the rule's commands)
  local recipe=$1 suffix=${2:-} split_args=() split_file=splits/v1.json
  [ "$suffix" = -zs ] && { split_args=(--split-file "$split"); split_file=$split; }
  local run=runs/ab/$recipe-$seed$suffix member=$keep/$recipe$suffix/seed-$seed
  [ -f "$member/model.safetensors" ] && { echo "kept: $member"; return; }
  case $recipe in
    R) "$bin" train --corpus "$corpus" --config "$R" --seed "$seed" "${split_args[@]}" --out "$run" --resume ;;
    S) scripts/branch_run.sh "runs/ab/R-$seed$suffix" 30 "$S" "$seed" "$run" "$split_file" "$corpus" ;;
  esac
  scripts/keep_run.sh "$run" "$member"
}
train R
train S
train R -zs
train S -zs
