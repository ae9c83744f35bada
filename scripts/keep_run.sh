#!/usr/bin/env bash
# Keeps a finished training run in the repository: copies its files (weights, model and training
# config, data manifest, log, run.json, forecast.json; not its checkpoints) into DEST, replacing
# what DEST held. The copy is written beside DEST and renamed into place, so an interrupted copy
# never leaves a half-filled DEST (at worst DEST is missing and the next call makes it again).
# Used by scripts/results.sh (models/ablations) and scripts/preregistered_seed.sh.
#
# Usage: scripts/keep_run.sh RUN_DIR DEST
set -euo pipefail
run=${1:?usage: scripts/keep_run.sh RUN_DIR DEST} dest=${2:?usage: scripts/keep_run.sh RUN_DIR DEST}
[ -f "$run/model.safetensors" ] || { echo "keep_run: $run has no final weights (model.safetensors)" >&2; exit 1; }
rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
find "$run" -maxdepth 1 -type f -exec cp {} "$dest.tmp/" \;
rm -rf "$dest" && mv "$dest.tmp" "$dest"
