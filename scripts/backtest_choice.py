#!/usr/bin/env python3
"""A measured probe, not shipped (models/README.md, *Choosing per cell by a backtest*): per cell,
the shipped model or the linear baseline, whichever better forecast the second half of the
cell's own early-task context from its first half (a backtest that reads nothing past the
origin). Scores the early task from the two evaluations' per-cell RMSEs (a dataset's RMSE is
the mean of its cells', as in `fadecast eval`).

  scripts/backtest_choice.py SPLIT MODEL_METRICS_JSON LINEAR_METRICS_JSON [MODEL_DIR]

MODEL_METRICS_JSON / LINEAR_METRICS_JSON: `fadecast eval --task early --split SPLIT` of the model
and of `--model linear`. Needs out/corpus, target/release/fadecast, numpy and pyarrow (the bench
venv has them: bench/.venv/bin/python).
"""
import collections, csv, json, math, os, subprocess, sys, tempfile

import numpy as np
import pyarrow.parquet as pq

split, model_metrics, linear_metrics = sys.argv[1:4]
model_dir = sys.argv[4] if len(sys.argv) > 4 else "models/default"
FRACTION, MIN_PC, MIN_CU, CUT = 0.2, 50, 3, 0.5

cells_t = pq.read_table("out/corpus/cells.parquet", columns=["dataset", "cell_id", "observation"]).to_pylist()
obs = {(c["dataset"], c["cell_id"]): c["observation"] for c in cells_t}
cyc = pq.read_table("out/corpus/cycles.parquet", columns=["dataset", "cell_id", "cycle", "soh"]).to_pydict()
series = collections.defaultdict(lambda: ([], []))
for d, c, x, s in zip(cyc["dataset"], cyc["cell_id"], cyc["cycle"], cyc["soh"]):
    series[(d, c)][0].append(x)
    series[(d, c)][1].append(s)

M = json.load(open(model_metrics))
L = json.load(open(linear_metrics))
lin = {(c["dataset"], c["cell_id"]): c["rmse"] for c in L["cells"]}
mod = {(c["dataset"], c["cell_id"]): c["rmse"] for c in M["cells"]}
keys = [k for k in mod if k in lin]


def context_len(x, key):
    cutoff = x[0] + FRACTION * (x[-1] - x[0])
    n = sum(1 for v in x if v <= cutoff)
    m = MIN_CU if "check" in str(obs[key]).lower() else MIN_PC
    return min(max(n, m), len(x))


def recent_line(x, y, fraction=0.25):
    n = len(x)
    k = min(max(round(n * fraction), min(3, n)), n)
    xs = np.array(x[n - k:]) - x[-1]
    ys = np.array(y[n - k:])
    if k < 2 or np.ptp(xs) == 0:
        return ys.mean(), 0.0
    slope, level = np.polyfit(xs, ys, 1)
    return level, min(slope, 0.0)


rows, backtest = [], {}
for key in keys:
    x, y = series[key]
    n = context_len(x, key)
    cx, cy = x[:n], y[:n]
    cut = cx[0] + CUT * (cx[-1] - cx[0])
    h = sum(1 for v in cx if v <= cut)
    if h < 3 or h >= n:
        continue
    backtest[key] = (cx[:h], cy[:h], cx[h:], cy[h:])
    name = f"{key[0]}__{key[1]}"
    for a, b in zip(cx[:h], cy[:h]):
        rows.append((name, a, b))

tmp = tempfile.mkdtemp(prefix="backtest-")
path = os.path.join(tmp, f"{split}.csv")
with open(path, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["cell_id", "cycle", "capacity_ah", "nominal_ah"])
    for name, a, b in rows:
        w.writerow([name, repr(float(a)), repr(float(b)), 1.0])
out = subprocess.run(["target/release/fadecast", "forecast", "--model", model_dir, "--input", path, "--json"],
                     capture_output=True, text=True, check=True)
fc = {c["cell_id"]: c for c in json.loads(out.stdout)["cells"]}

choice = {}
for key, (hx, hy, tx, ty) in backtest.items():
    c = fc[f"{key[0]}__{key[1]}"]
    gx = [p["cycle"] for p in c["trajectory"]]
    gy = [p["p50"] for p in c["trajectory"]]
    # the history's own last point anchors the path at the cut
    gx, gy = [hx[-1]] + gx, [hy[-1]] + gy
    keep = [i for i, t in enumerate(tx) if t <= gx[-1]]
    if not keep:
        continue
    t = np.array(tx)[keep]
    truth = np.array(ty)[keep]
    pm = np.interp(t, gx, gy)
    level, slope = recent_line(hx, hy)
    pl = level + slope * (t - hx[-1])
    bm = math.sqrt(np.mean((pm - truth) ** 2))
    bl = math.sqrt(np.mean((pl - truth) ** 2))
    choice[key] = "linear" if bl < bm else "model"

by_ds = collections.defaultdict(lambda: {"model": [], "linear": [], "chosen": [], "n_linear": 0})
for key in keys:
    d = by_ds[key[0]]
    d["model"].append(mod[key])
    d["linear"].append(lin[key])
    pick = choice.get(key, "model")
    d["chosen"].append(lin[key] if pick == "linear" else mod[key])
    d["n_linear"] += pick == "linear"
print(f"{split}: {len(keys)} cells, {len(choice)} backtested, {sum(v == 'linear' for v in choice.values())} choose linear")
print("| dataset | cells | model | linear | chosen | cells choosing linear |")
print("|---|---:|---:|---:|---:|---:|")
mac = {"model": [], "linear": [], "chosen": []}
for ds in sorted(by_ds):
    d = by_ds[ds]
    vals = {k: float(np.mean(d[k])) for k in ("model", "linear", "chosen")}
    for k in mac:
        mac[k].append(vals[k])
    print(f"| {ds} | {len(d['model'])} | {vals['model']:.2f} | {vals['linear']:.2f} | {vals['chosen']:.2f} | {d['n_linear']} |")
print(f"| **macro** | | {np.mean(mac['model']):.3f} | {np.mean(mac['linear']):.3f} | {np.mean(mac['chosen']):.3f} | |")
