#!/usr/bin/env bash
# Applies the rule of docs/preregistered.md's experiment 4: the shipped ensemble (models/default)
# and its held-out twins (models/default-held-out) forecasting with their median blended with the
# line through the recent history, at each trend weight of the grid (T_w, w = 0 being the shipped
# model itself). Scores each with scripts/score_recipe.sh (labels prereg4-T<w>), picks the weight
# that minimises val(T_w)/val(E) + held(T_w)/held(E), calibrates its band with its twins and prints
# the rule's two conditions. Everything lands in out/prereg4/.
# With `below`, experiment 6 instead: the median only ever lowered towards the line
# (`trend_below_only`), on its own grid of weights, labels prereg6-T<w>, in out/prereg6/.
#
# Usage: scripts/trend_verdict.sh [CORPUS_DIR] [below]
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:-out/corpus}
below=${2:-}
case $below in
  "") out=out/prereg4 label=prereg4 weights=(0 0.1 0.2 0.3 0.4 0.5) ;;
  below) out=out/prereg6 label=prereg6 weights=(0 0.1 0.2 0.3 0.4 0.5 0.75 1) ;;
  *) echo "usage: scripts/trend_verdict.sh [CORPUS_DIR] [below]" >&2; exit 2 ;;
esac
split=runs/ab/zs-split.json
mkdir -p "$out"
scripts/held_out_split.sh "$split" > /dev/null
members() { python3 -c 'import json, sys; print(" ".join(f"{sys.argv[1]}/{m}" for m in json.load(open(f"{sys.argv[1]}/ensemble.json"))["members"]))' "$1"; }
for w in "${weights[@]}"; do
  python3 - "$w" "$out/forecast-$w.json" "$below" <<'PY'
import json, sys
config = json.load(open("models/default/forecast.json"))
config["trend_weight"] = float(sys.argv[1])
if sys.argv[3] == "below":
    config["trend_below_only"] = True
json.dump(config, open(sys.argv[2], "w"), indent=2)
PY
  scripts/make_ensemble.sh "$out/T$w" "$out/forecast-$w.json" $(members models/default)
  scripts/make_ensemble.sh "$out/T$w-zs" "$out/forecast-$w.json" $(members models/default-held-out)
  HELD_OUT_MODEL="$out/T$w-zs" HELD_OUT_SPLIT=$split scripts/score_recipe.sh "$out/T$w" "$label-T$w" "$corpus" > "$out/T$w.score.json"
  cat "$out/T$w.score.json"
done
best=$(python3 - "$out" "${weights[@]}" <<'PY'
import json, sys
out, ws = sys.argv[1], sys.argv[2:]
s = {w: json.load(open(f"{out}/T{w}.score.json")) for w in ws}
e = s["0"]
ratio = {w: s[w]["val_score"] / e["val_score"] + s[w]["early_held"] / e["early_held"] for w in ws if w != "0"}
for w in ratio:
    print(f"  w {w}: val(T)/val(E) + held(T)/held(E) = {ratio[w]:.4f}", file=sys.stderr)
print(min(ratio, key=ratio.get))
PY
)
echo "chosen weight: $best"
band=$(scripts/held_out_band.sh "$out/T$best" "$out/T$best-zs" "$out/T$best.calibration.md" "$corpus")
cat "$out/T$best.calibration.md"
python3 - "$out" "$best" $band <<'PY'
import json, sys
out, w, scale, weight, held_cov = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])
e, t = (json.load(open(f"{out}/T{k}.score.json")) for k in ("0", w))
c1 = t["val_score"] / e["val_score"] + t["early_held"] / e["early_held"]
checks = [(f"val(T{w})/val(E) + held(T{w})/held(E) < 1.98", c1, c1 < 1.98),
          (f"calibrated held-out mean coverage (scale {scale}, weight {weight}) within 70-90 %", held_cov, 70 <= held_cov <= 90)]
for name, value, ok in checks:
    print(f"{'pass' if ok else 'FAIL'}  {name}: {value:.4f}")
print(f"chosen band: interval_scale {scale}, disagreement_weight {weight}")
print("verdict: " + (f"T{w} (trend_weight {w}) replaces the shipped forecast settings" if all(ok for *_, ok in checks) else f"T{w} is not shipped"))
PY
