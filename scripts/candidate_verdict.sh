#!/usr/bin/env bash
# Applies the rule of docs/preregistered.md's experiments 2 and 3 to a candidate recipe's kept
# members (KEEP_DIR/<LABEL|LABEL-zs>/seed-N, made by scripts/candidate_seed.sh): combines LABEL's
# seeds and their held-out twins as ensembles (OUT_DIR/<LABEL|LABEL-zs>), scores LABEL and the
# shipped model S (models/default, its twins models/default-held-out) with scripts/score_recipe.sh
# (score labels PREFIX-S and PREFIX-LABEL), calibrates LABEL's band with LABEL-zs on the shipped
# model's candidate grid, and prints the rule's two conditions. With fewer seeds than three
# (SEEDS="303") the figures are marked partial: the rule decides only on all three.
#
# Usage: [SEEDS="101 202 303"] scripts/candidate_verdict.sh KEEP_DIR LABEL OUT_DIR PREFIX [CORPUS_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
usage="usage: [SEEDS=...] scripts/candidate_verdict.sh KEEP_DIR LABEL OUT_DIR PREFIX [CORPUS_DIR]"
keep=${1:?$usage} label=${2:?$usage} out=${3:?$usage} prefix=${4:?$usage}
corpus=${5:-out/corpus}
seeds=(${SEEDS:-101 202 303})
split=runs/ab/zs-split.json
scripts/held_out_split.sh "$split" > /dev/null
for kind in "$label" "$label-zs"; do
  members=()
  for s in "${seeds[@]}"; do members+=("$keep/$kind/seed-$s"); done
  scripts/make_ensemble.sh "$out/$kind" configs/forecast-default.json "${members[@]}"
done
HELD_OUT_MODEL=models/default-held-out HELD_OUT_SPLIT=$split scripts/score_recipe.sh models/default "$prefix-S" "$corpus" \
  > "$out/S.score.json"
HELD_OUT_MODEL="$out/$label-zs" HELD_OUT_SPLIT=$split scripts/score_recipe.sh "$out/$label" "$prefix-$label" "$corpus" \
  > "$out/$label.score.json"
cat "$out/S.score.json" "$out/$label.score.json"
band=$(scripts/held_out_band.sh "$out/$label" "$out/$label-zs" "$out/$label.calibration.md" "$corpus")
cat "$out/$label.calibration.md"
python3 - "${#seeds[@]}" "$out" "$label" $band <<'PY'
import json, sys
n, out, x = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s, d = (json.load(open(f"{out}/{k}.score.json")) for k in ("S", x))
scale, weight, held_cov = sys.argv[4], sys.argv[5], float(sys.argv[6])
c1 = d["val_score"] / s["val_score"] + d["early_held"] / s["early_held"]
checks = [(f"val({x})/val(S) + held({x})/held(S) < 2", c1, c1 < 2),
          (f"calibrated held-out mean coverage (scale {scale}, weight {weight}) within 70-90 %", held_cov, 70 <= held_cov <= 90)]
for name, value, ok in checks:
    print(f"{'pass' if ok else 'FAIL'}  {name}: {value:.4f}")
if n < 3:
    print(f"partial ({n} of 3 seeds): not a verdict")
else:
    print("verdict: " + (f"{x} replaces the shipped model" if all(ok for *_, ok in checks) else f"{x} is not shipped"))
PY
