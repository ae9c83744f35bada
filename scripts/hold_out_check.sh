#!/usr/bin/env bash
# Does `fadecast finetune --hold-out`'s check tell the truth? On nine datasets the base model
# never saw, adapters are trained with a quarter of the given cells held back; the check's verdict
# (adapted early RMSE on those cells above or below the base's) is set beside the verdict on the
# dataset's other cells, which neither the adapters nor the check saw.
#
#   - the five datasets held out of the twins' training (models/default-held-out): the given
#     cells are the dataset's train cells of splits/v1.json; the other cells its val and test cells;
#   - the four unseen datasets (the shipped model): the given cells are every other cell of the
#     split file's list; the other cells the rest.
#
#   adapters  out/adapters/holdcheck/<dataset>/   (check.json inside)
#   scores    out/score/holdcheck/<dataset>-<base|adapted>-<split>/
#
# Usage: scripts/hold_out_check.sh [CORPUS_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:-out/corpus}
bin=${FADECAST:-${CARGO_TARGET_DIR:-target}/release/fadecast}
held_out="CALCE INL_NMC_pouch_fastcharge RWTH STANFORD_DYNAMIC XJTU"
unseen="Oxford RolstonLab_Molicel21700_EIS STROEBL_NCA TBSI_Sunwoda"

run() { # dataset base given-cells split [exclude-for-base]
  local ds=$1 base=$2 given=$3 split=$4 exclude=${5:-}
  local adapter=out/adapters/holdcheck/$ds
  if [ ! -f "$adapter/check.json" ]; then
    local n; n=$(tr ',' '\n' <<< "$given" | wc -l)
    local k=$(( (n + 2) / 4 )); [ "$k" -ge 1 ] || k=1
    "$bin" finetune --base "$base" --corpus "$corpus" --cells "$given" --hold-out "$k" --out "$adapter" > /dev/null 2>&1
  fi
  # The adapted model scores every cell but the adapters' own; leave the held-back ones out too.
  local held; held=$(jq -r '.cells | join(",")' "$adapter/check.json")
  local ex=(); [ -n "$exclude" ] && ex=(--exclude-cells "$exclude")
  "$bin" eval --corpus "$corpus" --model "$base" --task early --split "$split" --dataset "$ds" "${ex[@]}" \
    --out "out/score/holdcheck/$ds-base-$split" > /dev/null 2> >(sed '/^wrote /d' >&2)
  "$bin" eval --corpus "$corpus" --model "$base" --adapter "$adapter" --exclude-cells "${exclude:-$held}" \
    --task early --split "$split" --dataset "$ds" --out "out/score/holdcheck/$ds-adapted-$split" > /dev/null 2> >(sed '/^wrote /d' >&2)
}

for ds in $held_out; do
  given=$(jq -r --arg d "$ds" '.datasets[$d].train | map($d + "/" + .) | join(",")' splits/v1.json)
  for split in val test; do run "$ds" models/default-held-out "$given" "$split"; done
  echo "checked $ds" >&2
done
for ds in $unseen; do
  given=$(jq -r --arg d "$ds" '.datasets[$d].unseen | to_entries | map(select(.key % 2 == 0) | $d + "/" + .value) | join(",")' splits/v1.json)
  run "$ds" default "$given" unseen "$given"
  echo "checked $ds" >&2
done

python3 - $held_out $unseen <<'PY'
import json, os, sys
rmse = lambda p: json.load(open(f"{p}/metrics.json"))["macro"]["rmse"]
print("| dataset | given / held back | check: base → adapted | other cells: base → adapted | agree |")
print("|---|---:|---|---|---|")
agree = 0
for d in sys.argv[1:]:
    c = json.load(open(f"out/adapters/holdcheck/{d}/check.json"))
    given = len(json.load(open(f"out/adapters/holdcheck/{d}/adapter.json"))["cells"]) + len(c["cells"])
    early = c["tasks"][0]
    cb, ca = early["base"]["rmse"], early["adapted"]["rmse"]
    splits = [s for s in ("val", "test", "unseen") if os.path.exists(f"out/score/holdcheck/{d}-base-{s}")]
    ob = sum(rmse(f"out/score/holdcheck/{d}-base-{s}") for s in splits) / len(splits)
    oa = sum(rmse(f"out/score/holdcheck/{d}-adapted-{s}") for s in splits) / len(splits)
    same = (ca < cb) == (oa < ob)
    agree += same
    print(f"| {d} | {given} / {len(c['cells'])} | {cb:.2f} → {ca:.2f} | {ob:.2f} → {oa:.2f} ({'+'.join(splits)}) | {'yes' if same else 'no'} |")
print(f"\nthe check's verdict agrees with the other cells' on {agree} of {len(sys.argv) - 1} datasets")
PY
