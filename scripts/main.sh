#!/usr/bin/env bash
# The main job: build fadecast, build the corpus from the public datasets, print its summary.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p fadecast-cli
./target/release/fadecast corpus build --out out/corpus
./target/release/fadecast corpus info out/corpus
