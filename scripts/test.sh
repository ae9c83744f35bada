#!/usr/bin/env bash
# Builds everything and runs every test. Tests that read the real data find it in
# $FADECAST_DATA or ../shared/data/raw (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --locked
