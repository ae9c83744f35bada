#!/usr/bin/env bash
# Side-by-side performance figures: fadecast against PyTorch (forecasting, a training step) and
# pandas (corpus build), measured in the same run on the same machine with the same thread count,
# printed as ratios and written to docs/performance.md.
#
# Sets up what it needs: a Python venv from PyPI (bench/requirements.txt) in bench/.venv (or
# $FADECAST_BENCH_VENV), the release binaries, and the corpus (out/corpus, built if missing).
# Usage: bench/run.sh            (THREADS=2 CELLS=10000 UNBATCHED_CELLS=1000 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${THREADS:-2}
cells=${CELLS:-10000}
unbatched_cells=${UNBATCHED_CELLS:-1000}
venv=${FADECAST_BENCH_VENV:-bench/.venv}
target=${CARGO_TARGET_DIR:-target}
raw=${FADECAST_DATA:-../shared/data/raw}
out=out/bench
mkdir -p "$out"

# 1. Set-up.
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import torch, pandas, pyarrow, safetensors" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r bench/requirements.txt
fi
py="$venv/bin/python"
cargo build --release --locked -p fadecast-cli -p fadecast-model --examples --bin fadecast
fadecast="$target/release/fadecast"
examples="$target/release/examples"
# The fadecast binary sets glibc's allocator thresholds itself (crates/fadecast-cli/src/alloc.rs);
# the example binaries that stand in for it here get the same settings from glibc's variables.
as_product=(env MALLOC_MMAP_THRESHOLD_=268435456 MALLOC_TRIM_THRESHOLD_=1073741824 MALLOC_TOP_PAD_=268435456)
[ -f out/corpus/cycles.parquet ] || "$fadecast" corpus build --out out/corpus --json > /dev/null

export RAYON_NUM_THREADS=$threads OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads
results="$out/results.jsonl"
: > "$results"
# Runs a command under /usr/bin/time; appends {"name", "wall_s", "rss_mb", "stdout": <its JSON line>}.
measure() { # name command...
  local name=$1; shift
  local line
  line=$(/usr/bin/time -f "__time %e %M" "$@" 2> "$out/$name.err" | tail -n 1) || { cat "$out/$name.err" >&2; return 1; }
  read -r _ wall rss < <(grep '^__time' "$out/$name.err" | tail -n 1)
  [[ $line == "{"*"}" ]] || line=null  # only a one-line JSON object is kept
  echo "{\"name\": \"$name\", \"wall_s\": $wall, \"rss_mb\": $(awk "BEGIN{print $rss/1024}"), \"stdout\": $line}" >> "$results"
  echo "$name: wall ${wall}s, peak RSS $(awk "BEGIN{printf \"%.0f\", $rss/1024}") MB  $line"
}

echo "machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $threads threads each"

# 2. Forecast throughput: every corpus cell's first 20 % of span, repeated to $cells cells, rolled
#    out to end of life with the shipped weights. Where they are an ensemble, its first member
#    with the ensemble's rollout settings: the PyTorch mirror forecasts one model, and an ensemble
#    of K members does K such rollouts.
model=models/default
if [ -f models/default/ensemble.json ]; then
  member=$(python3 -c "import json; print(json.load(open('models/default/ensemble.json'))['members'][0])")
  model="$out/model"
  rm -rf "$model" && mkdir -p "$model"
  cp "models/default/$member/model.json" "models/default/$member/model.safetensors" models/default/forecast.json "$model/"
fi
"$examples/bench_forecast" make-cells --corpus out/corpus --cells "$cells" --out "$out/cells.csv" 2> /dev/null
head -n "$(awk -F, -v n="$unbatched_cells" 'NR>1 && $1!=last {k++; last=$1} k>n {print NR-1; exit}' "$out/cells.csv")" "$out/cells.csv" > "$out/cells-unbatched.csv"
measure forecast_fadecast "${as_product[@]}" "$examples/bench_forecast" run --model "$model" --cells "$out/cells.csv" --batch 64 --out "$out/forecasts_rust.json" --write "$unbatched_cells"
measure forecast_torch "$py" bench/torch_forecast.py --model "$model" --cells "$out/cells.csv" --batch 64 --threads "$threads"
measure forecast_fadecast_unbatched "${as_product[@]}" "$examples/bench_forecast" run --model "$model" --cells "$out/cells-unbatched.csv" --batch 1
# The shipped ensemble itself (every member, combined), on the same cells as the first member.
if [ -f models/default/ensemble.json ]; then
  measure forecast_fadecast_member "${as_product[@]}" "$examples/bench_forecast" run --model "$model" --cells "$out/cells-unbatched.csv" --batch 64
  measure forecast_fadecast_ensemble "${as_product[@]}" "$examples/bench_forecast" run --model models/default --cells "$out/cells-unbatched.csv" --batch 64
fi
measure forecast_torch_unbatched "$py" bench/torch_forecast.py --model "$model" --cells "$out/cells-unbatched.csv" --batch 1 --threads "$threads"
# Same forecasts? In float32 (what the product runs): free-running rollouts compared path by path
# (float32 round-off grows over thousands of fed-back points, so --tol 1e-1 only stops the run on
# a gross mismatch; the report gives the figures), and every
# predicted patch compared with Rust's rollouts replayed step by step (--teacher-forced). In
# float64 on both sides, free of that round-off: whole free-running rollouts (the report judges
# them against 1e-4; --tol 1e-2 here stops the run on a gross mismatch only) and every predicted
# patch replayed step by step.
measure forecast_match "$py" bench/torch_forecast.py --model "$model" --cells "$out/cells-unbatched.csv" --batch 64 --threads "$threads" \
  --out "$out/forecasts_torch.json" --write "$unbatched_cells" --compare "$out/forecasts_rust.json" --teacher-forced --tol 1e-1
"$examples/bench_forecast" run --model "$model" --cells "$out/cells-unbatched.csv" --batch 64 --dtype f64 \
  --out "$out/forecasts_rust_f64.json" --write "$unbatched_cells" > /dev/null
measure forecast_match_f64 "$py" bench/torch_forecast.py --model "$model" --cells "$out/cells-unbatched.csv" --batch 64 --threads "$threads" \
  --dtype float64 --out "$out/forecasts_torch_f64.json" --write "$unbatched_cells" --compare "$out/forecasts_rust_f64.json" --teacher-forced --tol 1e-2

# 3. One training step, batch 64, default config (the same batch and initial weights on both sides),
#    five alternating runs of 20 steps each: this machine's timings drift from run to run, and the
#    ratio of the medians is steadier than one pair (more steps per run is not the fix: past ~20
#    steps the two sides' float32 losses drift apart and they no longer train the same).
for i in 1 2 3 4 5; do
  measure "train_fadecast_$i" "${as_product[@]}" "$examples/bench_train_step" --corpus out/corpus --steps 20 --out "$out"
  measure "train_torch_$i" "$py" bench/torch_train_step.py --init "$out/train_init.safetensors" --batch-json "$out/train_batch.json" --threads "$threads"
done

# 4. Corpus build from the raw files of MATR, HUST and TJU (five runs each, alternating).
for i in 1 2 3 4 5; do
  measure "corpus_fadecast_$i" "$fadecast" corpus build --raw "$raw" --dataset MATR --dataset HUST --dataset TJU --out "$out/corpus-fadecast" --json
  measure "corpus_pandas_$i" "$py" bench/corpus_pandas.py --raw "$raw" --datasets MATR HUST TJU --out "$out/corpus-pandas"
done
measure corpus_match "$py" bench/corpus_compare.py --pandas "$out/corpus-pandas" --fadecast "$out/corpus-fadecast"

# 5. The report.
"$py" bench/report.py --results "$results" --threads "$threads" --cells "$cells" --unbatched-cells "$unbatched_cells" > docs/performance.md.tmp
mv docs/performance.md.tmp docs/performance.md
echo "wrote docs/performance.md"
