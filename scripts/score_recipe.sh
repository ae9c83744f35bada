#!/usr/bin/env bash
# Scores a model the way models/README.md and docs/preregistered.md judge recipes, with
# `fadecast eval` on every figure:
#   val score   mean over the early, rolling and eol tasks of the val split's macro RMSE relative
#               to v3's (9.56 pp, 6.90 pp, 257 cycles): below 1 is better than v3;
#   held-out    with HELD_OUT_MODEL (the same recipe trained with some seen datasets held out whole,
#               scripts/zero_shot_check.sh) and HELD_OUT_SPLIT (its split file): early and rolling
#               macro RMSE on every cell of those datasets;
#   reported    early test and early unseen macro RMSE (reported, never used to choose).
# Bands at interval scale 1 and disagreement weight 1 unless SCALE / WEIGHT say otherwise (the
# median, and so every RMSE, does not depend on them). Prints one JSON line; the eval folders are
# kept under out/score/<label>/.
#
# Usage: scripts/score_recipe.sh MODEL [LABEL] [CORPUS_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:?usage: scripts/score_recipe.sh MODEL [LABEL] [CORPUS_DIR]}
label=${2:-$(basename "$model")}
corpus=${3:-out/corpus}
bin=${FADECAST:-${CARGO_TARGET_DIR:-target}/release/fadecast}
dir=out/score/$label
mkdir -p "$dir"
band=(--interval-scale "${SCALE:-1}" --disagreement-weight "${WEIGHT:-1}")
ev() { # out task split [args...]
  local out=$1; shift
  "$bin" eval --corpus "$corpus" "${band[@]}" --task "$1" --split "$2" --out "$dir/$out" "${@:3}" > "$dir/$out.log" 2>&1 ||
    { cat "$dir/$out.log" >&2; exit 1; }
}
for task in early rolling eol; do ev "$task-val" "$task" val --model "$model"; done
ev early-test early test --model "$model"
ev early-unseen early unseen --model "$model"
if [ -n "${HELD_OUT_MODEL:-}" ]; then
  held=($(python3 -c "
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open('splits/v1.json'))
print(' '.join('--dataset ' + d for d in a['unseen_datasets'] if d not in b['unseen_datasets']))" "${HELD_OUT_SPLIT:?HELD_OUT_MODEL needs HELD_OUT_SPLIT}"))
  for task in early rolling; do
    ev "$task-held" "$task" unseen --model "$HELD_OUT_MODEL" --split-file "$HELD_OUT_SPLIT" "${held[@]}"
  done
fi
python3 - "$dir" "$label" <<'PY'
import json, os, sys
d, label = sys.argv[1], sys.argv[2]
# Each eval folder's macro averages, read once.
macro = {n: json.load(open(os.path.join(d, n, "metrics.json")))["macro"] for n in os.listdir(d) if os.path.isdir(os.path.join(d, n))}
v3 = {"early": 9.56, "rolling": 6.90, "eol": 257.0}
out = {"label": label, **{f"{t}_val": round(macro[f"{t}-val"]["rmse"], 3) for t in v3}}
out["val_score"] = round(sum(macro[f"{t}-val"]["rmse"] / v3[t] for t in v3) / 3, 4)
out["val_coverage"] = round(100 * sum(macro[f"{t}-val"]["coverage_p10_p90"] for t in v3) / 3, 1)
out["early_test"], out["early_unseen"] = round(macro["early-test"]["rmse"], 3), round(macro["early-unseen"]["rmse"], 3)
if "early-held" in macro:
    out["early_held"], out["rolling_held"] = round(macro["early-held"]["rmse"], 3), round(macro["rolling-held"]["rmse"], 3)
print(json.dumps(out))
PY
