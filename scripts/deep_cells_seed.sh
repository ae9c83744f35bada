#!/usr/bin/env bash
# One seed of docs/preregistered.md's experiment 3 (deep cells drawn more): E-N and its held-out
# twin E-N-zs, branched from experiment 1's R-N[-zs] at epoch 30 with
# configs/train-self-fed-deep-cells.json and kept in models/candidates/deep-cells
# (scripts/candidate_seed.sh says how).
#
# Usage: scripts/deep_cells_seed.sh SEED [CORPUS_DIR] [member|twin|both]
set -euo pipefail
cd "$(dirname "$0")/.."
seed=${1:?usage: scripts/deep_cells_seed.sh SEED [CORPUS_DIR] [member|twin|both]}
exec scripts/candidate_seed.sh models/candidates/deep-cells E configs/train-self-fed-deep-cells.json "$seed" "${@:2}"
