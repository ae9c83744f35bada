#!/usr/bin/env bash
# One seed of docs/preregistered.md's experiment 5 (self-feeding in three passes): F-N and its
# held-out twin F-N-zs, branched from experiment 1's R-N[-zs] at epoch 30 with
# configs/train-self-fed-rounds.json and kept in models/candidates/feed-rounds
# (scripts/candidate_seed.sh says how).
#
# Usage: scripts/feed_rounds_seed.sh SEED [CORPUS_DIR] [member|twin|both]
set -euo pipefail
cd "$(dirname "$0")/.."
seed=${1:?usage: scripts/feed_rounds_seed.sh SEED [CORPUS_DIR] [member|twin|both]}
exec scripts/candidate_seed.sh models/candidates/feed-rounds F configs/train-self-fed-rounds.json "$seed" "${@:2}"
