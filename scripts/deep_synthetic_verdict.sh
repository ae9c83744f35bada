#!/usr/bin/env bash
# Applies docs/preregistered.md's rule for experiment 2 (deep synthetic curves) to the kept members
# in models/candidates/deep-synthetic (scripts/candidate_verdict.sh says how; ensembles, scores and
# calibration in out/prereg2). With fewer seeds than three (SEEDS="303") the figures are partial.
# The members left the tree at stop 32: `git checkout ef67eb8 -- models/candidates/deep-synthetic`
# restores them.
#
# Usage: [SEEDS="101 202 303"] scripts/deep_synthetic_verdict.sh [CORPUS_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
exec scripts/candidate_verdict.sh models/candidates/deep-synthetic D out/prereg2 prereg2 "$@"
