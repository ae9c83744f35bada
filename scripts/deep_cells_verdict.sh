#!/usr/bin/env bash
# Applies docs/preregistered.md's rule for experiment 3 (deep cells drawn more) to the kept members
# in models/candidates/deep-cells (scripts/candidate_verdict.sh says how; ensembles, scores and
# calibration in out/prereg3). With fewer seeds than three (SEEDS="303") the figures are partial.
#
# Usage: [SEEDS="101 202 303"] scripts/deep_cells_verdict.sh [CORPUS_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
exec scripts/candidate_verdict.sh models/candidates/deep-cells E out/prereg3 prereg3 "$@"
