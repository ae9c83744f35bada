#!/usr/bin/env bash
# Experiment 7 of docs/preregistered.md: the shipped model adapted to each seen dataset with
# LoRA on that dataset's train cells, scored on its val (deciding) and test (reported) cells on
# the early task, against the shipped model and every baseline.
#
#   adapters  out/adapters/<label>/<dataset>/      (fadecast finetune; LABEL below)
#   scores    out/score/<label>/<dataset>-early-<split>/
#   needs     out/eval/<model>-early-<split>/ for the shipped model ("default") and every
#             baseline, val and test (scored here when missing)
#
# Usage: scripts/dataset_adapters.sh [CORPUS_DIR]
# ADAPT_ARGS adds finetune options and LABEL names the run (default "adapted": the pre-registered
# setting); e.g. ADAPT_ARGS=--base-windows LABEL=adapted-bw, measured after the verdict. The
# adapters are teacher-forced (--no-self-feed, finetune's default when the experiment ran) unless
# ADAPT_ARGS says --self-feed (LABEL=adapted-sf, after experiment 8).
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:-out/corpus}
bin=${FADECAST:-${CARGO_TARGET_DIR:-target}/release/fadecast}
label=${LABEL:-adapted}
extra=(--no-self-feed ${ADAPT_ARGS:-})   # a later --self-feed overrides
band=(--interval-scale 0.625 --disagreement-weight 16)   # the shipped band
baselines=$("$bin" eval --list-models | awk '$2=="baseline"{print $1}')
datasets=$(jq -r '.datasets | to_entries[] | select(.value.train | length > 0) | .key' splits/v1.json)

# The reference runs: the shipped model and every baseline on the whole split.
for split in val test; do
  for model in default $baselines; do
    out=out/eval/$model-early-$split
    [ -f "$out/metrics.json" ] || "$bin" eval --corpus "$corpus" --model "$model" --task early --split "$split" --out "$out" > /dev/null
  done
done

for ds in $datasets; do
  adapter=out/adapters/$label/$ds
  if [ ! -f "$adapter/adapter.json" ]; then
    cells=$(jq -r --arg d "$ds" '.datasets[$d].train | map($d + "/" + .) | join(",")' splits/v1.json)
    "$bin" finetune --base default --corpus "$corpus" --cells "$cells" "${extra[@]}" --out "$adapter" > /dev/null
  fi
  for split in val test; do
    out=out/score/$label/$ds-early-$split
    "$bin" eval --corpus "$corpus" "${band[@]}" --adapter "$adapter" --task early --split "$split" \
      --dataset "$ds" --out "$out" > /dev/null
  done
  echo "adapted $ds" >&2
done

BASELINES="$baselines" python3 - "$label" $datasets <<'PY'
import json, os, sys
label, datasets = sys.argv[1], sys.argv[2:]
baselines = os.environ["BASELINES"].split()
def per_dataset(path):
    return json.load(open(f"{path}/metrics.json"))["datasets"]
for split in ["val", "test"]:
    shipped = per_dataset(f"out/eval/default-early-{split}")
    base = {b: per_dataset(f"out/eval/{b}-early-{split}") for b in baselines}
    rows, wins = [], {"shipped": 0, "adapted": 0}
    for d in datasets:
        a = per_dataset(f"out/score/{label}/{d}-early-{split}")[d]
        best = min(baselines, key=lambda b: base[b][d]["rmse"])
        bf = base[best][d]["rmse"]
        s = shipped[d]
        wins["shipped"] += s["rmse"] < bf
        wins["adapted"] += a["rmse"] < bf
        rows.append((d, s["rmse"], s["coverage_p10_p90"], a["rmse"], a["coverage_p10_p90"], best, bf))
    print(f"\n## early, {split}\n")
    print("| dataset | shipped RMSE (cov) | adapted RMSE (cov) | best baseline |")
    print("|---|---:|---:|---:|")
    for d, s, sc, a, ac, b, bf in rows:
        mark = lambda x: f"**{x:.2f}**" if x < bf else f"{x:.2f}"
        print(f"| {d} | {mark(s)} ({100*sc:.0f} %) | {mark(a)} ({100*ac:.0f} %) | {b} {bf:.2f} |")
    n = len(rows)
    mean = lambda i: sum(r[i] for r in rows) / n
    best_macro = min(sum(base[b][d]["rmse"] for d in datasets) / n for b in baselines)
    print(f"| **macro** | {mean(1):.3f} ({100*mean(2):.1f} %) | {mean(3):.3f} ({100*mean(4):.1f} %) | {best_macro:.3f} |")
    print(f"\nwins of {n}: shipped {wins['shipped']}, adapted {wins['adapted']}")
    if split == "val":
        ok1 = mean(3) < mean(1) and wins["adapted"] >= wins["shipped"]
        ok2 = 0.70 <= mean(4) <= 0.90
        print(f"{'pass' if ok1 else 'FAIL'}  val macro RMSE adapted {mean(3):.3f} < shipped {mean(1):.3f} and wins {wins['adapted']} >= {wins['shipped']}")
        print(f"{'pass' if ok2 else 'FAIL'}  val p10-p90 coverage adapted {100*mean(4):.1f} % within 70-90 %")
        verdict = "shipped in models/adapters/" if ok1 and ok2 else "not shipped"
        print(f"verdict: the dataset adapters are {verdict}")
PY
