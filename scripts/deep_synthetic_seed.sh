#!/usr/bin/env bash
# One seed of docs/preregistered.md's experiment 2 (deep synthetic curves): D-N and its held-out
# twin D-N-zs, branched from experiment 1's R-N[-zs] at epoch 30 with
# configs/train-self-fed-deep-synthetic.json and kept in models/candidates/deep-synthetic
# (scripts/candidate_seed.sh says how).
#
# Usage: scripts/deep_synthetic_seed.sh SEED [CORPUS_DIR] [member|twin|both]
set -euo pipefail
cd "$(dirname "$0")/.."
seed=${1:?usage: scripts/deep_synthetic_seed.sh SEED [CORPUS_DIR] [member|twin|both]}
exec scripts/candidate_seed.sh models/candidates/deep-synthetic D configs/train-self-fed-deep-synthetic.json "$seed" "${@:2}"
