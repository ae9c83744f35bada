#!/usr/bin/env bash
# Regenerates docs/results.md: the universal model (models/default) against every baseline on the
# early, rolling and eol tasks (test and unseen), the ablations, and the LoRA adaptation demo —
# every figure from `fadecast eval`, tabulated by `fadecast eval --compare`.
#
# The ablation runs are kept in the repository, models/ablations/<NAME> (weights, config, data
# manifest, log; no checkpoints), so that regenerating this file on a new machine only evaluates.
# A missing one is trained in runs/<NAME> (a killed one resumes; ~15–20 min each on 2 cores), then kept:
#   seed-42          the default config, seed 42                        (ablation a)
#   no-contrastive   the default config with contrastive_weight 0        (ablation b)
#   only-<DATASET>   the default config on one dataset's train cells     (ablation c)
# Usage: scripts/results.sh [CORPUS_DIR]   (default out/corpus, built if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p fadecast-cli
bin=${CARGO_TARGET_DIR:-target}/release/fadecast
corpus=${1:-out/corpus}
[ -d "$corpus" ] || "$bin" corpus build --out "$corpus" > /dev/null
ablation_datasets=(MATR HUST TJU)
lora_dataset=${LORA_DATASET:-TBSI_Sunwoda}
lora_cells=${LORA_CELLS:-4}

eval_run() { # model task split out [extra args...]
  local model=$1 task=$2 split=$3 out=$4; shift 4
  [ -f "$out/metrics.json" ] && [ -z "${FRESH:-}" ] || "$bin" eval --corpus "$corpus" --model "$model" --task "$task" --split "$split" --out "$out" "$@"
}

# 1. The shipped model against every baseline.
main_runs=()
for task in early rolling eol; do
  for split in test unseen; do
    out="out/eval/universal-$task-$split"
    FRESH=1 eval_run default "$task" "$split" "$out"
    main_runs+=("$out/metrics.json")
    for model in $("$bin" eval --list-models | awk '$2=="baseline"{print $1}'); do
      eval_run "$model" "$task" "$split" "out/eval/$model-$task-$split"
      main_runs+=("out/eval/$model-$task-$split/metrics.json")
    done
  done
done

# 1b. From the first N cycles of every cell (`--task first`, and `--task eol` where N is not the
# eol task's usual 100): the early task's origin moves with each cell's life; this one is where a
# user forecasting a new cell stands.
first_cycles=(20 100)
first_runs=()
for n in "${first_cycles[@]}"; do
  tasks=(first)
  [ "$n" = 100 ] || tasks=(eol first)
  for task in "${tasks[@]}"; do
    for split in test unseen; do
      out="out/eval/universal-$task$n-$split"
      FRESH=1 eval_run default "$task" "$split" "$out" --context-cycles "$n"
      first_runs+=("$out/metrics.json")
      for model in $("$bin" eval --list-models | awk '$2=="baseline"{print $1}'); do
        eval_run "$model" "$task" "$split" "out/eval/$model-$task$n-$split" --context-cycles "$n"
        first_runs+=("out/eval/$model-$task$n-$split/metrics.json")
      done
    done
  done
done

# 2. Ablations: (a) the full recipe, (b) without the contrastive term, (c) one dataset alone — one
# run each, same config (configs/train-default.json) and seed. The shipped ensemble's members are
# that recipe trained twice as long, the last quarter self-fed with synthetic fade curves mixed in
# and the cells tested far past end of life drawn more, from three seeds
# (configs/train-self-fed-deep-cells.json), which a single 20-epoch run against the
# two others isolates as an ensemble would not.
kept=models/ablations
full=$kept/seed-42 full_label=universal:seed-42
train_once() { # name train-args...: uses models/ablations/NAME, else trains runs/NAME and keeps it
  local name=$1; shift
  local run=runs/$name member=$kept/$name
  [ -f "$member/model.safetensors" ] && return
  [ -f "$run/model.safetensors" ] || "$bin" train --corpus "$corpus" --out "$run" --resume "$@"
  scripts/keep_run.sh "$run" "$member"
}
train_once seed-42 --config configs/train-default.json
train_once no-contrastive --config configs/train-no-contrastive.json
for d in "${ablation_datasets[@]}"; do
  train_once "only-$d" --config configs/train-default.json --dataset "$d"
done
ablation_runs=()
for split in test unseen; do
  FRESH=1 eval_run "$full" early "$split" "out/eval/ablation-full-early-$split"
  ablation_runs+=("out/eval/ablation-full-early-$split/metrics.json")
  FRESH=1 eval_run "$kept/no-contrastive" early "$split" "out/eval/ablation-no-contrastive-early-$split"
  ablation_runs+=("out/eval/ablation-no-contrastive-early-$split/metrics.json")
done
for d in "${ablation_datasets[@]}"; do
  FRESH=1 eval_run "$kept/only-$d" early test "out/eval/ablation-only-$d-early-test" --dataset "$d"
  ablation_runs+=("out/eval/ablation-only-$d-early-test/metrics.json")
done

# 3. LoRA: adapters trained on a few cells of one unseen dataset, scored on its other cells; once on
# the first cells by name, and (TBSI_Sunwoda) once on one cell per test temperature.
keys=$(python3 -c "
import json,sys
s=json.load(open('splits/v1.json'))['datasets']['$lora_dataset']['unseen']
print(','.join('$lora_dataset/'+c for c in sorted(s)[:$lora_cells]))")
lora_sets=("$lora_dataset:$keys")
# TBSI_Sunwoda's cell names end in their test temperature (T25, T35, T45, T55); its first four
# cells by name are all at 35 °C.
if [ "$lora_dataset" = TBSI_Sunwoda ]; then
  lora_sets+=("$lora_dataset-per-temperature:TBSI_Sunwoda/B1T25,TBSI_Sunwoda/B10T35,TBSI_Sunwoda/B19T45,TBSI_Sunwoda/B26T55")
fi
for set in "${lora_sets[@]}"; do
  name=${set%%:*} cells=${set#*:}
  "$bin" finetune --corpus "$corpus" --cells "$cells" --out "runs/lora-$name"
  FRESH=1 eval_run default early unseen "out/eval/lora-zero-shot-$name" --dataset "$lora_dataset" --exclude-cells "$cells"
  FRESH=1 eval_run default early unseen "out/eval/lora-adapted-$name" --dataset "$lora_dataset" --adapter "runs/lora-$name"
done

{
  echo "# Results"
  echo
  echo "Generated by \`scripts/results.sh\` from \`fadecast eval\` runs (split file \`splits/v1.json\`;"
  echo "protocol and metrics: \`fadecast::eval\`). \`universal\` is the shipped model (\`models/default\`,"
  echo "see \`models/README.md\`). Lower is better for RMSE / MAE / MAPE; 80 % is the calibrated p10–p90"
  echo "coverage; the bias (median − truth) is best closest to 0, and its sign says which way a model"
  echo "errs. Per-run reports and plots are in \`out/eval/<run>/\`."
  echo
  echo "# 1. The universal model against every baseline"
  echo
  "$bin" eval --compare "${main_runs[@]}" | tail -n +2
  echo
  ns=$(printf '%s, ' "${first_cycles[@]}")
  echo "# 1b. Forecasting from the first N cycles (N = ${ns%, })"
  echo
  echo "Task \`first<N>\` (\`fadecast eval --task first --context-cycles N\`): every cell's observations"
  echo "before its first cycle + N are the context (at least 3; cells with fewer are left out), every later"
  echo "one is scored: the same number of cycles into every test, as a user forecasting a new cell has it,"
  echo "where the \`early\` task's origin moves with each cell's life. Check-up datasets with fewer than"
  echo "three check-ups in that span are left out, so fewer datasets are scored than above. Where a"
  echo "forecast ends before the cell's last observation (the universal model's rollout has a limit in"
  echo "grid points, forecast.json's \`max_rollout_patches\`), the evaluator scores the rest as SOH 0."
  echo "Task \`eol<N>\` (\`--task eol --context-cycles N\`) is the \`eol\` task of section 1 from the first N"
  echo "cycles instead of 100: the cells that reach SOH 0.8 after those cycles."
  echo
  "$bin" eval --compare "${first_runs[@]}" | tail -n +2
  echo
  echo "# 2. Ablations (early task)"
  echo
  echo "(a) \`$full_label\`: the default config (\`configs/train-default.json\`, 20 epochs, seed 42; the shipped"
  echo "ensemble's members are this recipe trained for 40 epochs, the last 10 self-fed in up to three passes with"
  echo "synthetic fade curves mixed in and the cells tested far past end of life drawn more,"
  echo "\`configs/train-self-fed-rounds.json\`, from three seeds);"
  echo "(b) \`universal:no-contrastive\`: the same config with contrastive_weight 0; (c) \`universal:only-<D>\`:"
  echo "the same config and architecture trained on dataset D's train cells alone, scored on D's test cells only."
  echo
  "$bin" eval --compare "${ablation_runs[@]}" | tail -n +2
  echo
  echo "# 3. LoRA adaptation on an unseen dataset ($lora_dataset)"
  echo
  echo "Adapters (\`fadecast finetune --corpus $corpus --cells ...\`, rank 4, one set per member, self-fed as the"
  echo "members' last epochs were: finetune's default since stop 38, docs/preregistered.md experiment 8) trained on a"
  echo "few of $lora_dataset's cells; the two columns of each table score the dataset's other cells only."
  for set in "${lora_sets[@]}"; do
    name=${set%%:*} cells=${set#*:}
    echo
    echo "## Adapted on $cells"
    "$bin" eval --compare "out/eval/lora-zero-shot-$name/metrics.json" "out/eval/lora-adapted-$name/metrics.json" | tail -n +2 | sed 's/^## /### /'
  done
} > docs/results.md.tmp
mv docs/results.md.tmp docs/results.md
echo "wrote docs/results.md"
