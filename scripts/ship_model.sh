#!/usr/bin/env bash
# Copies finished training runs into models/default (the weights `--model default` loads), with
# everything needed to reproduce them: the config, the data manifest, the loss log, the command
# line, and the rollout settings chosen on the val split (forecast.json).
# One run: models/default is that run. Several (the same config from several seeds): an ensemble,
# models/default/ensemble.json naming one sub-folder per run (named as the run folder).
# Usage: scripts/ship_model.sh RUN_DIR [RUN_DIR...] FORECAST_JSON
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: scripts/ship_model.sh RUN_DIR [RUN_DIR...] FORECAST_JSON" >&2; exit 2; }
runs=("${@:1:$#-1}")
forecast=${!#}
tmp=models/default.tmp
rm -rf "$tmp"
mkdir -p "$tmp"
copy_run() { # run dest
  mkdir -p "$2"
  for f in model.json model.safetensors config.json manifest.json log.jsonl run.json; do
    cp "$1/$f" "$2/$f"
  done
  chmod 644 "$2"/*
}
if [ ${#runs[@]} -eq 1 ]; then
  copy_run "${runs[0]}" "$tmp"
else
  names=()
  for r in "${runs[@]}"; do
    name=$(basename "$r")
    copy_run "$r" "$tmp/$name"
    # A member used alone (--model models/default/NAME) forecasts as its run did: the rollout
    # settings `fadecast train` wrote, interval scale 1.
    cp "$r/forecast.json" "$tmp/$name/forecast.json"
    names+=("\"$name\"")
  done
  (IFS=,; echo "{\"members\": [${names[*]}]}") | python3 -m json.tool > "$tmp/ensemble.json"
fi
cp "$forecast" "$tmp/forecast.json"
chmod 644 "$tmp"/*.json
rm -rf models/default
mv "$tmp" models/default
du -sh models/default
