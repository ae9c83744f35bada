#!/usr/bin/env bash
# Applies docs/preregistered.md's rule for experiment 1 to the kept members
# (models/candidates/synthetic-late, made by scripts/preregistered_seed.sh): combines each recipe's
# seeds as an ensemble (out/prereg/<R|S|R-zs|S-zs>), scores R and S with scripts/score_recipe.sh,
# calibrates S's band with S-zs as the held-out model (the shipped model's candidate grid,
# models/README.md), and prints the rule's three conditions. With fewer seeds than the rule's three
# (SEEDS="101"), it prints the same figures marked partial: the rule decides only on all three.
# The kept members left the tree when S shipped (stop 28); `git checkout dfaabe5 --
# models/candidates` restores them for a rerun.
#
# Usage: [SEEDS="101 202 303"] scripts/preregistered_verdict.sh [CORPUS_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:-out/corpus}
seeds=(${SEEDS:-101 202 303})
keep=models/candidates/synthetic-late
split=runs/ab/zs-split.json
scripts/held_out_split.sh "$split" > /dev/null
for kind in R S R-zs S-zs; do
  members=()
  for s in "${seeds[@]}"; do members+=("$keep/$kind/seed-$s"); done
  scripts/make_ensemble.sh "out/prereg/$kind" configs/forecast-default.json "${members[@]}"
done
for kind in R S; do
  HELD_OUT_MODEL=out/prereg/$kind-zs HELD_OUT_SPLIT=$split scripts/score_recipe.sh "out/prereg/$kind" "prereg-$kind" "$corpus" \
    > "out/prereg/$kind.score.json"
  cat "out/prereg/$kind.score.json"
done
band=$(scripts/held_out_band.sh out/prereg/S out/prereg/S-zs out/prereg/S.calibration.md "$corpus")
cat out/prereg/S.calibration.md
python3 - "${#seeds[@]}" $band <<'PY'
import json, sys
r, s = (json.load(open(f"out/prereg/{k}.score.json")) for k in "RS")
scale, weight, held_cov = sys.argv[2], sys.argv[3], float(sys.argv[4])
c1 = s["val_score"] / r["val_score"] + s["early_held"] / r["early_held"]
c2 = s["val_score"] / 0.753 + s["early_held"] / 13.45
checks = [("val(S)/val(R) + held(S)/held(R) < 2", c1, c1 < 2),
          ("val(S)/0.753 + held(S)/13.45 < 2", c2, c2 < 2),
          (f"calibrated held-out mean coverage (scale {scale}, weight {weight}) within 70-90 %", held_cov, 70 <= held_cov <= 90)]
for name, value, ok in checks:
    print(f"{'pass' if ok else 'FAIL'}  {name}: {value:.4f}")
if int(sys.argv[1]) < 3:
    print(f"partial ({sys.argv[1]} of 3 seeds): not a verdict")
else:
    print("verdict: " + ("S replaces the shipped model" if all(ok for *_, ok in checks) else "S is not shipped"))
PY
