#!/usr/bin/env python3
"""Measured probes, not shipped (models/README.md, *Choosing per cell by a backtest* and *Choosing
per cell by the members' disagreement*): per cell, the shipped model or the linear baseline,
chosen from what is known at the origin. Scores the early task from the two evaluations'
per-cell RMSEs (a dataset's RMSE is the mean of its cells', as in `fadecast eval`).

  scripts/backtest_choice.py SPLIT MODEL_METRICS_JSON LINEAR_METRICS_JSON [MODEL_DIR]
      The line for a cell where it better forecast the second half of the cell's own early-task
      context from its first half (a backtest that reads nothing past the origin).
  scripts/backtest_choice.py SPLIT MODEL_METRICS_JSON LINEAR_METRICS_JSON MODEL_DIR disagreement [T]
      The line for a cell where the ensemble's members disagree by more than T SOH pp: the RMS,
      over the cycles the evaluator scores, of the spread (standard deviation) of the members'
      medians forecast from the early-task context. Without T, prints the split's quartiles of
      that disagreement and how the model fares against the line in each, and chooses nothing.

MODEL_METRICS_JSON / LINEAR_METRICS_JSON: `fadecast eval --task early --split SPLIT` of the model
and of `--model linear`; MODEL_DIR: the ensemble they scored (default models/default). Needs
out/corpus, target/release/fadecast, numpy and pyarrow (the bench venv has them:
bench/.venv/bin/python).
"""
import collections, csv, json, math, os, subprocess, sys, tempfile

import numpy as np
import pyarrow.parquet as pq

split, model_metrics, linear_metrics = sys.argv[1:4]
model_dir = sys.argv[4] if len(sys.argv) > 4 else "models/default"
by = sys.argv[5] if len(sys.argv) > 5 else "backtest"
threshold = float(sys.argv[6]) if len(sys.argv) > 6 else None
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


def forecast(model, contexts, horizon=None):
    """`fadecast forecast --json` of `model` on {key: (cycles, soh)}: cell name -> its forecast."""
    tmp = tempfile.mkdtemp(prefix="choice-")
    path = os.path.join(tmp, f"{split}.csv")
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["cell_id", "cycle", "capacity_ah", "nominal_ah"])
        for key, (hx, hy) in contexts.items():
            for a, b in zip(hx, hy):
                w.writerow([f"{key[0]}__{key[1]}", repr(float(a)), repr(float(b)), 1.0])
    args = ["--horizon", str(horizon), "--every", "1"] if horizon else []
    out = subprocess.run(["target/release/fadecast", "forecast", "--model", model, "--input", path, "--json", *args],
                         capture_output=True, text=True, check=True)
    return {c["cell_id"]: c for c in json.loads(out.stdout)["cells"]}


def median_at(c, x0, y0, t):
    """The forecast's median at cycles `t`, its path anchored at the history's last point."""
    gx = [x0] + [p["cycle"] for p in c["trajectory"]]
    gy = [y0] + [p["p50"] for p in c["trajectory"]]
    return np.interp(t, gx, gy)


def choose_by_backtest():
    backtest = {}
    for key in keys:
        x, y = series[key]
        n = context_len(x, key)
        cx, cy = x[:n], y[:n]
        cut = cx[0] + CUT * (cx[-1] - cx[0])
        h = sum(1 for v in cx if v <= cut)
        if h < 3 or h >= n:
            continue
        backtest[key] = (cx[:h], cy[:h], cx[h:], cy[h:])
    fc = forecast(model_dir, {k: (v[0], v[1]) for k, v in backtest.items()})
    choice = {}
    for key, (hx, hy, tx, ty) in backtest.items():
        c = fc[f"{key[0]}__{key[1]}"]
        last = c["trajectory"][-1]["cycle"] if c["trajectory"] else hx[-1]
        keep = [i for i, t in enumerate(tx) if t <= last]
        if not keep:
            continue
        t = np.array(tx)[keep]
        truth = np.array(ty)[keep]
        pm = median_at(c, hx[-1], hy[-1], t)
        level, slope = recent_line(hx, hy)
        pl = level + slope * (t - hx[-1])
        bm = math.sqrt(np.mean((pm - truth) ** 2))
        bl = math.sqrt(np.mean((pl - truth) ** 2))
        choice[key] = "linear" if bl < bm else "model"
    print(f"{split}: {len(keys)} cells, {len(choice)} backtested, {sum(v == 'linear' for v in choice.values())} choose linear")
    return choice


def choose_by_disagreement():
    contexts, scored = {}, {}
    for key in keys:
        x, y = series[key]
        n = context_len(x, key)
        if n >= len(x):
            continue
        contexts[key] = (x[:n], y[:n])
        scored[key] = np.array(x[n:])
    horizon = int(max(t[-1] - contexts[k][0][-1] for k, t in scored.items())) + 1
    members = json.load(open(os.path.join(model_dir, "ensemble.json")))["members"]
    fcs = [forecast(os.path.join(model_dir, m), contexts, horizon) for m in members]
    spread = {}
    for key, (hx, hy) in contexts.items():
        name = f"{key[0]}__{key[1]}"
        meds = np.array([median_at(fc[name], hx[-1], hy[-1], scored[key]) for fc in fcs])
        spread[key] = 100 * math.sqrt(np.mean(meds.var(axis=0)))
    ranked = sorted(spread, key=spread.get)
    if threshold is None:
        print(f"{split}: {len(ranked)} cells; members' disagreement (SOH pp) by quartile, the model's and the line's mean RMSE there")
        print("| quartile | disagreement | model | linear | cells the model forecasts better |")
        print("|---|---|---:|---:|---:|")
        for i in range(4):
            part = ranked[i * len(ranked) // 4:(i + 1) * len(ranked) // 4]
            print(f"| {i + 1} | {spread[part[0]]:.2f}–{spread[part[-1]]:.2f} | {np.mean([mod[k] for k in part]):.2f} | "
                  f"{np.mean([lin[k] for k in part]):.2f} | {sum(mod[k] < lin[k] for k in part)} of {len(part)} |")
        return None
    choice = {k: "linear" if spread[k] > threshold else "model" for k in spread}
    print(f"{split}: {len(keys)} cells, {len(choice)} forecast, {sum(v == 'linear' for v in choice.values())} above {threshold} pp choose linear")
    return choice


choice = choose_by_backtest() if by == "backtest" else choose_by_disagreement()
if choice is None:
    sys.exit(0)

by_ds = collections.defaultdict(lambda: {"model": [], "linear": [], "chosen": [], "n_linear": 0})
for key in keys:
    d = by_ds[key[0]]
    d["model"].append(mod[key])
    d["linear"].append(lin[key])
    pick = choice.get(key, "model")
    d["chosen"].append(lin[key] if pick == "linear" else mod[key])
    d["n_linear"] += pick == "linear"
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
