#!/usr/bin/env bash
# The band the pre-registered experiments choose for an ensemble (docs/preregistered.md):
# scripts/calibrate_intervals.sh on MODEL with HELD_OUT_MODEL, its twins trained without the five
# datasets of scripts/held_out_split.sh, over the shipped model's candidate grid (scales 0.5–1,
# weights 1–64). Writes the calibration table to OUT_MD (once complete) and prints one line: the
# chosen scale, weight, and that pair's p10–p90 coverage on the held-out datasets averaged over
# the early, rolling and eol tasks (%), which the experiments' rules bound to 70–90 %.
#
# Usage: scripts/held_out_band.sh MODEL HELD_OUT_MODEL OUT_MD [CORPUS_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:?usage: scripts/held_out_band.sh MODEL HELD_OUT_MODEL OUT_MD [CORPUS_DIR]}
held=${2:?held-out model} out=${3:?calibration table} corpus=${4:-out/corpus}
split=runs/ab/zs-split.json
scripts/held_out_split.sh "$split" > /dev/null
HELD_OUT_MODEL=$held HELD_OUT_SPLIT=$split WEIGHTS="1 4 9 16 25 36 64" SCALES="0.5 0.625 0.75 0.875 1" \
  scripts/calibrate_intervals.sh "$model" "$corpus" > "$out.partial"
mv "$out.partial" "$out" # a killed or failed calibration leaves no table that looks finished
python3 - "$out" "$(basename "$model")" <<'PY'
import json, re, sys
table, tag = sys.argv[1:]
scale, weight = re.search(r"chosen: interval_scale (\S+), disagreement_weight (\S+?) ", open(table).read()).groups()
cov = [json.load(open(f"out/calibrate/{tag}-held-out-{scale}-{weight}-{t}/metrics.json"))["macro"]["coverage_p10_p90"] for t in ("early", "rolling", "eol")]
print(scale, weight, 100 * sum(cov) / 3)
PY
