#!/usr/bin/env bash
# Copies a finished training run into models/default (the weights `--model default` loads), with
# everything needed to reproduce it: the config, the data manifest, the loss log, the command
# line, and the rollout settings chosen on the val split (forecast.json).
# Usage: scripts/ship_model.sh RUN_DIR FORECAST_JSON
set -euo pipefail
cd "$(dirname "$0")/.."
run=${1:?usage: scripts/ship_model.sh RUN_DIR FORECAST_JSON}
forecast=${2:?usage: scripts/ship_model.sh RUN_DIR FORECAST_JSON}
tmp=models/default.tmp
rm -rf "$tmp"
mkdir -p "$tmp"
for f in model.json model.safetensors config.json manifest.json log.jsonl run.json; do
  cp "$run/$f" "$tmp/$f"
done
cp "$forecast" "$tmp/forecast.json"
chmod 644 "$tmp"/*
rm -rf models/default
mv "$tmp" models/default
du -sh models/default
