#!/usr/bin/env bash
# Makes ENS_DIR a model folder that `fadecast eval --model ENS_DIR` reads as the ensemble of the
# MEMBER run folders (their median and bands combined as for the shipped model): an ensemble.json
# naming them relative to ENS_DIR and FORECAST_JSON as its forecast.json. Used by the
# pre-registered verdict scripts to combine kept seeds without copying them. Every member is
# checked before anything is written.
#
# Usage: scripts/make_ensemble.sh ENS_DIR FORECAST_JSON MEMBER...
set -euo pipefail
python3 - "$@" <<'PY'
import json, os, shutil, sys
if len(sys.argv) < 4:
    sys.exit("usage: scripts/make_ensemble.sh ENS_DIR FORECAST_JSON MEMBER...")
ens, forecast, members = sys.argv[1], sys.argv[2], sys.argv[3:]
for m in members:
    if not os.path.isfile(os.path.join(m, "model.safetensors")):
        sys.exit(f"make_ensemble: {m} is not a finished run (no model.safetensors)")
os.makedirs(ens, exist_ok=True)
shutil.copyfile(forecast, os.path.join(ens, "forecast.json"))
json.dump({"members": [os.path.relpath(m, ens) for m in members]}, open(os.path.join(ens, "ensemble.json"), "w"))
PY
