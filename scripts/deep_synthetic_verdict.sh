#!/usr/bin/env bash
# Applies docs/preregistered.md's rule for experiment 2 (deep synthetic curves) to the kept members
# (models/candidates/deep-synthetic, made by scripts/deep_synthetic_seed.sh): combines D's seeds
# and their held-out twins as ensembles (out/prereg2/<D|D-zs>), scores D and the shipped model S
# (models/default, its twins models/default-held-out) with scripts/score_recipe.sh, calibrates D's
# band with D-zs on the shipped model's candidate grid, and prints the rule's two conditions. With
# fewer seeds than three (SEEDS="303") the figures are marked partial: the rule decides only on all three.
#
# Usage: [SEEDS="101 202 303"] scripts/deep_synthetic_verdict.sh [CORPUS_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:-out/corpus}
seeds=(${SEEDS:-101 202 303})
keep=models/candidates/deep-synthetic
split=runs/ab/zs-split.json
scripts/held_out_split.sh "$split" > /dev/null
for kind in D D-zs; do
  members=()
  for s in "${seeds[@]}"; do members+=("$keep/$kind/seed-$s"); done
  scripts/make_ensemble.sh "out/prereg2/$kind" configs/forecast-default.json "${members[@]}"
done
HELD_OUT_MODEL=models/default-held-out HELD_OUT_SPLIT=$split scripts/score_recipe.sh models/default prereg2-S "$corpus" \
  > out/prereg2/S.score.json
HELD_OUT_MODEL=out/prereg2/D-zs HELD_OUT_SPLIT=$split scripts/score_recipe.sh out/prereg2/D prereg2-D "$corpus" \
  > out/prereg2/D.score.json
cat out/prereg2/S.score.json out/prereg2/D.score.json
band=$(scripts/held_out_band.sh out/prereg2/D out/prereg2/D-zs out/prereg2/D.calibration.md "$corpus")
cat out/prereg2/D.calibration.md
python3 - "${#seeds[@]}" $band <<'PY'
import json, sys
s, d = (json.load(open(f"out/prereg2/{k}.score.json")) for k in "SD")
scale, weight, held_cov = sys.argv[2], sys.argv[3], float(sys.argv[4])
c1 = d["val_score"] / s["val_score"] + d["early_held"] / s["early_held"]
checks = [("val(D)/val(S) + held(D)/held(S) < 2", c1, c1 < 2),
          (f"calibrated held-out mean coverage (scale {scale}, weight {weight}) within 70-90 %", held_cov, 70 <= held_cov <= 90)]
for name, value, ok in checks:
    print(f"{'pass' if ok else 'FAIL'}  {name}: {value:.4f}")
if int(sys.argv[1]) < 3:
    print(f"partial ({sys.argv[1]} of 3 seeds): not a verdict")
else:
    print("verdict: " + ("D replaces the shipped model" if all(ok for *_, ok in checks) else "D is not shipped"))
PY
