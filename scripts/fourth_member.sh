#!/usr/bin/env bash
# Experiment 9 of docs/preregistered.md (a fourth member): trains seed 404 by the shipped members'
# recipe, and its held-out twin, side by side (scripts/candidate_seed.sh, each half in its own
# process), keeping them in models/candidates/fourth/<F4|F4-zs>/seed-404 beside links to the
# shipped members and twins; `verdict` then applies the rule (scripts/candidate_verdict.sh with
# the four seeds; ensembles, scores and calibration in out/prereg9).
#
# Usage: scripts/fourth_member.sh [train|verdict] [CORPUS_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
keep=models/candidates/fourth
corpus=${2:-out/corpus}
for s in 101 202 303; do
  mkdir -p "$keep/F4" "$keep/F4-zs"
  ln -sfn "../../../default/seed-$s" "$keep/F4/seed-$s"
  ln -sfn "../../../default-held-out/seed-$s" "$keep/F4-zs/seed-$s"
done
case ${1:-train} in
  train)
    scripts/candidate_seed.sh "$keep" F4 configs/train-self-fed-rounds.json 404 "$corpus" member > out/prereg9-member.log 2>&1 &
    member=$!
    scripts/candidate_seed.sh "$keep" F4 configs/train-self-fed-rounds.json 404 "$corpus" twin > out/prereg9-twin.log 2>&1 &
    twin=$!
    wait "$member" && wait "$twin" ;;
  verdict)
    SEEDS="101 202 303 404" scripts/candidate_verdict.sh "$keep" F4 out/prereg9 prereg9 "$corpus" ;;
  *) echo "usage: scripts/fourth_member.sh [train|verdict] [CORPUS_DIR]" >&2; exit 2 ;;
esac
