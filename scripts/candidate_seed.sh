#!/usr/bin/env bash
# One seed of a docs/preregistered.md experiment that branches a recipe from experiment 1's R-N:
# LABEL-N, R-N continued from its epoch-30 checkpoint with CONFIG, and its held-out twin LABEL-N-zs
# from R-N-zs (trained without the five datasets of scripts/held_out_split.sh). Where runs/ab/R-N[-zs]
# has no epoch-30 checkpoint (a new machine), it is trained again with experiment 1's command up to
# that checkpoint and stopped there (the 40-epoch config, so its learning-rate schedule is the one
# S-N branched from); its epoch log must then match the one the shipped member S-N kept
# (models/default[-held-out]/seed-N/log.jsonl) loss for loss, or the script stops: LABEL-N must
# continue the very checkpoint S-N did (a seed with no shipped member has nothing to repeat). Each finished member (weights, config, manifest, log; no
# checkpoints) is kept in KEEP_DIR/<LABEL|LABEL-zs>/seed-N. Resumable: kept members are skipped,
# killed runs resume. PART `member` or `twin` does only that half: the two halves touch different
# runs, so they may run side by side (at stop 29 two trainings side by side on the 2 cores
# together kept the pace of one alone; three lost about a third).
#
# Usage: scripts/candidate_seed.sh KEEP_DIR LABEL CONFIG SEED [CORPUS_DIR] [member|twin|both]
set -euo pipefail
cd "$(dirname "$0")/.."
usage="usage: scripts/candidate_seed.sh KEEP_DIR LABEL CONFIG SEED [CORPUS_DIR] [member|twin|both]"
keep=${1:?$usage} label=${2:?$usage} config=${3:?$usage} seed=${4:?$usage}
corpus=${5:-out/corpus}
case ${6:-both} in member) suffixes=("") ;; twin) suffixes=(-zs) ;; both) suffixes=("" -zs) ;;
  *) echo "candidate_seed: PART must be member, twin or both" >&2; exit 2 ;; esac
bin=${FADECAST:-${CARGO_TARGET_DIR:-target}/release/fadecast}
split=runs/ab/zs-split.json
scripts/held_out_split.sh "$split" > /dev/null

r_to_epoch_30() { # RUN SPLIT_FILE: trains experiment 1's R-N into RUN until its epoch-30 checkpoint
  local run=$1 split_file=$2 pid
  [ -f "$run/checkpoints/epoch-0030/state.json" ] && return
  "$bin" train --corpus "$corpus" --config configs/train-self-fed.json --seed "$seed" --split-file "$split_file" \
    --out "$run" --resume &
  pid=$!
  # A checkpoint is complete once its state.json exists; a killed run resumes from it.
  until [ -f "$run/checkpoints/epoch-0030/state.json" ]; do
    kill -0 "$pid" 2>/dev/null || { wait "$pid"; echo "candidate_seed: $run ended before epoch 30" >&2; exit 1; }
    sleep 10
  done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

same_first_30_epochs() { # LOG_A LOG_B: their first 30 lines agree on every loss to 1e-9 (times may differ;
  # a log rewritten on --resume may round a loss's last digit differently)
  python3 - "$1" "$2" <<'PY'
import json, math, sys
a, b = ([json.loads(l) for l in open(f)][:30] for f in sys.argv[1:])
same = lambda x, y: x.keys() == y.keys() and all(k == "seconds" or math.isclose(x[k], y[k], rel_tol=1e-9) for k in x)
if len(a) != 30 or len(b) != 30 or not all(map(same, a, b)):
    sys.exit(f"candidate_seed: {sys.argv[1]} does not repeat the first 30 epochs of {sys.argv[2]}")
PY
}

for suffix in "${suffixes[@]}"; do
  member=$keep/$label$suffix/seed-$seed
  [ -f "$member/model.safetensors" ] && { echo "kept: $member"; continue; }
  split_file=splits/v1.json shipped=models/default/seed-$seed
  [ "$suffix" = -zs ] && { split_file=$split; shipped=models/default-held-out/seed-$seed; }
  r=runs/ab/R-$seed$suffix
  r_to_epoch_30 "$r" "$split_file"
  # A seed no shipped member has (a new member) has no log to repeat.
  [ ! -f "$shipped/log.jsonl" ] || same_first_30_epochs "$r/log.jsonl" "$shipped/log.jsonl"
  scripts/branch_run.sh "$r" 30 "$config" "$seed" "runs/ab/$label-$seed$suffix" "$split_file" "$corpus"
  scripts/keep_run.sh "runs/ab/$label-$seed$suffix" "$member"
done
