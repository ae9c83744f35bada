#!/usr/bin/env bash
# Training time per epoch: this checkout's `fadecast train` against a reference binary, side by
# side on the same machine, alternating runs; also checks that both trained the same weights.
#
# Usage: bench/train_epoch.sh REF_FADECAST [RUNS]     (RUNS=3 by default)
#
# REF_FADECAST is a `fadecast` binary built from the revision to compare with, e.g.
#   git worktree add /tmp/ref <rev> && (cd /tmp/ref && cargo build --release --locked -p fadecast-cli)
#   bench/train_epoch.sh /tmp/ref/target/release/fadecast
# Each run trains the shipped recipe (configs/train-self-fed-rounds.json, seed 101) for two full
# epochs: epoch 1 as the recipe's first 30 (plain), epoch 2 as its last 10 (self-fed in three
# passes, synthetic and deep cells), which is where the config moves them to. A self-fed epoch's
# cost does not depend on the weights (how many passes a window gets depends on its length), so
# the two epochs time a member's: 30 × epoch 1 + 10 × epoch 2.
set -euo pipefail
cd "$(dirname "$0")/.."
ref=${1:?usage: bench/train_epoch.sh REF_FADECAST [RUNS]}
runs=${2:-3}
out=out/bench/train_epoch
mkdir -p "$out"
cargo build --release --locked -p fadecast-cli
new=${CARGO_TARGET_DIR:-target}/release/fadecast
[ -f out/corpus/cycles.parquet ] || "$new" corpus build --out out/corpus --json > /dev/null
python3 - "$out/config.json" <<'EOF'
import json, sys
c = json.load(open("configs/train-self-fed-rounds.json"))
c["seed"], c["epochs"] = 101, 2
c["self_feed_from_epoch"] = c["synthetic"]["from_epoch"] = c["deep_cells"]["from_epoch"] = 2
json.dump(c, open(sys.argv[1], "w"), indent=2)
EOF

echo "machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
for i in $(seq "$runs"); do
  for side in ref new; do
    bin=$ref; [ "$side" = new ] && bin=$new
    rm -rf "$out/$side-$i"
    /usr/bin/time -f "%e %M" -o "$out/$side-$i.time" "$bin" train --corpus out/corpus \
      --config "$out/config.json" --out "$out/$side-$i" > /dev/null 2> "$out/$side-$i.err"
    echo "$side run $i: $(python3 -c "import json,sys; print(' / '.join(f\"{json.loads(l)['seconds']:.1f}\" for l in open(sys.argv[1])))" "$out/$side-$i/log.jsonl") s (epoch 1 / 2), peak RSS $(awk '{printf "%.0f", $2/1024}' "$out/$side-$i.time") MB"
  done
done

python3 - "$out" "$runs" <<'EOF'
import hashlib, json, statistics, struct, sys
out, runs = sys.argv[1], int(sys.argv[2])
def epochs(side):
    return [[json.loads(l)["seconds"] for l in open(f"{out}/{side}-{i}/log.jsonl")] for i in range(1, runs + 1)]
def tensors(path):  # name -> digest of its bytes (the header's key order may differ)
    b = open(path, "rb").read(); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8 + n])
    return {k: hashlib.sha256(b[8 + n + v["data_offsets"][0]: 8 + n + v["data_offsets"][1]]).hexdigest()
            for k, v in h.items() if k != "__metadata__"}
def logs(side, i):  # the logged figures without the timings
    return [{k: v for k, v in json.loads(l).items() if k != "seconds"} for l in open(f"{out}/{side}-{i}/log.jsonl")]
med = {s: [statistics.median(e[j] for e in epochs(s)) for j in (0, 1)] for s in ("ref", "new")}
member = {s: (30 * med[s][0] + 10 * med[s][1]) / 60 for s in med}
print("\n| | reference | this build | this build / reference |\n|---|---:|---:|---:|")
for j, name in enumerate(["epoch 1 (plain), s", "epoch 2 (self-fed, three passes), s"]):
    print(f"| {name} | {med['ref'][j]:.1f} | {med['new'][j]:.1f} | {med['new'][j] / med['ref'][j]:.2f}× |")
print(f"| a member (30 × epoch 1 + 10 × epoch 2), min | {member['ref']:.1f} | {member['new']:.1f} | {member['new'] / member['ref']:.2f}× |")
print(f"| three members, min | {3 * member['ref']:.0f} | {3 * member['new']:.0f} | |")
same = all(tensors(f"{out}/ref-{i}/model.safetensors") == tensors(f"{out}/new-{i}/model.safetensors")
           and logs("ref", i) == logs("new", i) for i in range(1, runs + 1))
print(f"\nmedians of {runs} alternating runs; same weights and logged losses on both sides: {'yes' if same else 'NO'}")
sys.exit(0 if same else 1)
EOF
