#!/usr/bin/env bash
# Builds everything and runs every test. Tests that read the real data find it in
# $FADECAST_DATA or ../shared/data/raw (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
# One build from scratch gains nothing from incremental caches, which add ~2 GB of disk.
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}
cargo test --workspace --locked
