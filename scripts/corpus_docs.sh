#!/usr/bin/env bash
# Regenerates docs/corpus.md from the shared data: builds the corpus, then prints its summary.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p fadecast-cli
${CARGO_TARGET_DIR:-target}/release/fadecast corpus build --out out/corpus > /dev/null
${CARGO_TARGET_DIR:-target}/release/fadecast corpus info out/corpus --markdown > docs/corpus.md.tmp
mv docs/corpus.md.tmp docs/corpus.md
echo "wrote docs/corpus.md"
