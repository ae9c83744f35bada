#!/usr/bin/env bash
# The main job: build fadecast, build the corpus from the public datasets, then forecast real
# cells with the shipped model — the held-out test cells of the corpus scored against what really
# happened (out/eval/universal-early-test), and real BatteryLife cells and a real cycler export
# forecast end to end (out/forecast/).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p fadecast-cli
bin=${CARGO_TARGET_DIR:-target}/release/fadecast
data=${FADECAST_DATA:-../shared/data/raw}
fixtures=$(dirname "$data")/fixtures
"$bin" corpus build --out out/corpus
"$bin" corpus info out/corpus
"$bin" eval --corpus out/corpus --model default --task early --split test --out out/eval/universal-early-test
mkdir -p out/forecast
"$bin" forecast --input "$fixtures/batterylife_pkl" --plot out/forecast/batterylife.svg
"$bin" forecast --input "$fixtures/batterylife_pkl" --json > out/forecast/batterylife.json
echo "wrote out/forecast/batterylife.svg and out/forecast/batterylife.json"
