#!/usr/bin/env bash
# Applies docs/preregistered.md's rule for experiment 5 (self-feeding in three passes) to the kept
# members in models/candidates/feed-rounds (scripts/candidate_verdict.sh says how; ensembles, scores
# and calibration in out/prereg5; the shipped model, E, is the one compared). With fewer seeds than
# three (SEEDS="303") the figures are partial.
#
# Usage: [SEEDS="101 202 303"] scripts/feed_rounds_verdict.sh [CORPUS_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
exec scripts/candidate_verdict.sh models/candidates/feed-rounds F out/prereg5 prereg5 "$@"
