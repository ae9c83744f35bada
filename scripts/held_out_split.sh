#!/usr/bin/env bash
# Writes the leave-datasets-out split: splits/v1.json with five seen datasets that have no sibling
# (same cells or lab) among the others — CALCE (LCO), INL_NMC_pouch_fastcharge (NMC pouch), RWTH
# (NMC check-ups, knee), STANFORD_DYNAMIC (check-ups, drive cycles), XJTU (NCM 18650) — also held
# out whole; prints their names. Used by scripts/zero_shot_check.sh and scripts/preregistered_seed.sh.
#
# Usage: scripts/held_out_split.sh OUT_FILE
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: scripts/held_out_split.sh OUT_FILE}
mkdir -p "$(dirname "$out")"
held=(CALCE INL_NMC_pouch_fastcharge RWTH STANFORD_DYNAMIC XJTU)
# (A temp file of its own: two seed scripts started together may both write the split.)
tmp="$out.tmp.$$"
python3 - "$tmp" "${held[@]}" <<'PY'
import json, sys
out, held = sys.argv[1], sys.argv[2:]
s = json.load(open("splits/v1.json"))
for d in held:
    s["datasets"][d] = {"unseen": sorted(c for cells in s["datasets"][d].values() for c in cells)}
s["unseen_datasets"] += held
s["rule"] = "splits/v1.json with " + ", ".join(held) + " also held out whole (scripts/zero_shot_check.sh)"
json.dump(s, open(out, "w"), indent=1)
PY
mv "$tmp" "$out"
echo "${held[@]}"
