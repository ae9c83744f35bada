#!/usr/bin/env bash
# Makes ENS_DIR a model folder that `fadecast eval --model ENS_DIR` reads as the ensemble of the
# MEMBER run folders (their median and bands combined as for the shipped model): an ensemble.json
# naming them relative to ENS_DIR and FORECAST_JSON as its forecast.json. Used by the
# pre-registered verdict scripts to combine kept seeds without copying them.
#
# Usage: scripts/make_ensemble.sh ENS_DIR FORECAST_JSON MEMBER...
set -euo pipefail
ens=${1:?usage: scripts/make_ensemble.sh ENS_DIR FORECAST_JSON MEMBER...} forecast=${2:?forecast.json}
shift 2
mkdir -p "$ens"
cp "$forecast" "$ens/forecast.json"
python3 - "$ens" "$@" <<'PY'
import json, os, sys
ens, members = sys.argv[1], sys.argv[2:]
if not members:
    sys.exit("make_ensemble: no members")
for m in members:
    if not os.path.isfile(os.path.join(m, "model.safetensors")):
        sys.exit(f"make_ensemble: {m} is not a finished run (no model.safetensors)")
json.dump({"members": [os.path.relpath(m, ens) for m in members]}, open(os.path.join(ens, "ensemble.json"), "w"))
PY
