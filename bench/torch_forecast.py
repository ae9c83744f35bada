"""PyTorch mirror of fadecast's forecasting procedure (`Forecaster::forecast_many` in
crates/fadecast-model/src/forecast.rs), for benchmarking against the Rust one. Not the product.

    torch_forecast.py --model models/default --cells out/bench/cells.csv --batch 64 --threads 2 \
        --out out/bench/forecasts_torch.json [--write 200] [--compare out/bench/forecasts_rust.json]
    torch_forecast.py --compare-only --out forecasts_torch.json --compare forecasts_rust.json

Per cell: the history is resampled onto a grid ending at the origin (at the coarsest training
stride leaving `min_context_patches` patches), its last patches are normalised and encoded, then
each quantile path rolls out patch by patch with a KV cache, feeding back its own quantile,
re-anchoring on its latest patches when the context window is full, until every reported quantile
(the paths ordered and widened by `interval_scale`) has crossed the end-of-life threshold (or the
median has, 3× its remaining life ago) or `max_rollout_patches`.
`--batch K` runs cells with equal context length in lockstep, K at a time, one row per (cell, path),
dropping finished cells from the batch and the cache; `--batch 1` runs one cell at a time.
Host-side arithmetic is float64 and model inputs float32, as in Rust.

`--compare` checks the paths against Rust's (max abs SOH difference ≤ `--tol`, default 1e-4).
A free-running rollout amplifies float32 round-off over thousands of points, so long rollouts can
differ by a few 1e-4 however exact the mirror; `--teacher-forced` also replays Rust's rollouts
step by step (feeding back Rust's own paths) to check every predicted patch on its own.
"""

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from torch_model import load_model

FORECAST_DEFAULTS = {
    "eol_threshold": 0.8, "max_rollout_patches": 1024, "feedback": "own_quantile",
    "checkup_subdivide": 4, "strides": [1, 2, 4, 8], "min_context_patches": 2, "reanchor_patches": 8,
    "refine_short_context": False, "whole_history_patches": 0, "whole_history_min_span": 0.0,
    "interval_scale": 1.0, "smooth_patches": False,
}

# ───────────────────────────── host-side helpers (windows.rs, forecast.rs) ─────────────────────────────


def interpolate(xs, ys, x):
    """Linear interpolation at x (an array), clamped at the ends; as windows.rs `interpolate`."""
    i = np.searchsorted(xs, x, side="left")  # Rust: partition_point(|v| v < x)
    j = np.clip(i, 1, len(xs) - 1)
    x0, x1, y0, y1 = xs[j - 1], xs[j], ys[j - 1], ys[j]
    with np.errstate(divide="ignore", invalid="ignore"):
        inner = np.where(x1 == x0, y1, y0 + (y1 - y0) * (x - x0) / (x1 - x0))
    return np.where(i == 0, ys[0], np.where(i >= len(xs), ys[-1], inner))


def grid_spacing(cycles, observation, subdivide):
    """Median positive cycle gap; check-up data divides it by `checkup_subdivide`."""
    gaps = np.sort(np.diff(cycles)[np.diff(cycles) > 0])
    gap = gaps[len(gaps) // 2] if len(gaps) else 1.0
    return gap / max(subdivide, 1) if observation == "check_up" else gap


def first_crossing(cycles, soh, threshold):
    """First cycle at or below threshold, interpolated from the last point above."""
    below = np.flatnonzero(np.asarray(soh) <= threshold)
    if len(below) == 0:
        return None
    i = below[0]
    if i == 0:
        return float(cycles[0])
    x0, x1, y0, y1 = cycles[i - 1], cycles[i], soh[i - 1], soh[i]
    return float(x0 + (x1 - x0) * (y0 - threshold) / (y0 - y1))


def series_norm(values, min_scale):
    """Mean and floored (population) std over the last axis: (loc, scale)."""
    loc = values.mean(axis=-1)
    scale = np.maximum(np.sqrt(((values - loc[..., None]) ** 2).mean(axis=-1)), min_scale)
    return loc, scale


def side_channels(spacing, loc, scale, patch_start, age_channel=True):
    """model.rs `side_channels`, broadcast over arrays (float64; the caller casts). Without the
    model's `age_channel` the last channel is 0."""
    spacing, loc, scale, patch_start = np.broadcast_arrays(spacing, loc, scale, patch_start)
    age = np.log(1.0 + np.maximum(patch_start, 0.0)) / 8.0 if age_channel else np.zeros_like(patch_start)
    return np.stack([
        np.log(np.maximum(spacing, 1e-3)) / 5.0,
        (loc - 0.9) * 5.0,
        np.log(scale) / 5.0 + 0.5,
        age,
    ], axis=-1)


# ───────────────────────────────────────────── one cell ─────────────────────────────────────────────


def prepare(cycles, soh, observation, fc, mc):
    """Rollout::new: the grid ending at the origin and the context on it."""
    p = mc["patch_len"]
    origin = cycles[-1]
    base = grid_spacing(cycles, observation, fc["checkup_subdivide"])

    def points(spacing):
        return math.floor((origin - cycles[0]) / spacing + 1e-9) + 1

    fits = [s for s in fc["strides"] if s >= 1 and points(base * s) // p >= fc["min_context_patches"]]
    spacing = base * (max(fits) if fits else 1)
    need = max(fc["min_context_patches"], 1) * p
    if fc["refine_short_context"] and points(spacing) < need and origin > cycles[0]:
        spacing = (origin - cycles[0]) / (need - 1)  # a few check-ups, resampled to fill the context
    whole = min(fc["whole_history_patches"], mc["max_context_patches"])
    if whole > 0 and origin > cycles[0] and origin - cycles[0] >= fc["whole_history_min_span"]:
        spacing = (origin - cycles[0]) / (whole * p - 1)  # the whole history on `whole` patches
    n = min(max(points(spacing) // p, 1), mc["max_context_patches"])
    back = np.arange(n * p - 1, -1, -1, dtype=np.float64)
    ctx = interpolate(cycles, soh, np.maximum(origin - back * spacing, cycles[0]))  # [n·P]
    return {
        "origin": float(origin), "spacing": float(spacing), "n_patches": n, "context": ctx,
        "horizon": float(origin),  # no `at` cycles are requested: the origin is the horizon
        "observed_eol": first_crossing(cycles, soh, fc["eol_threshold"]), "last_soh": float(soh[-1]),
    }


def bands(paths, median, scale, axis=0):
    """Forecast::quantiles: per point the paths' values in increasing order, widened about the
    middle one by `scale` and floored at 0 (paths: [Q, L], or levels along `axis`)."""
    b = np.sort(paths, axis=axis)
    if scale != 1.0:
        mid = np.take(b, [median], axis=axis)
        b = np.maximum(mid + scale * (b - mid), 0.0)
    return b


def smooth_over_patch(start, path, p):
    """forecast.rs `smooth_over_patch`: the centred moving average over one patch of grid points
    (P + 1 points, the ends weighted a half, for even P), `start` (the origin's SOH) before the
    first point, the window narrowing symmetrically near the ends."""
    v = np.concatenate(([start], path))
    h, out = p // 2, np.empty(len(path))
    for i in range(1, len(v)):
        w = min(h, i, len(v) - 1 - i)
        if w == h and p % 2 == 0:
            out[i - 1] = (v[i + 1 - w:i + w].sum() + 0.5 * (v[i - w] + v[i + w])) / p
        else:
            out[i - 1] = v[i - w:i + w + 1].sum() / (2 * w + 1)
    return out


def finish(cell, grid, paths, fc, mc):
    """Rollout::finish: end of life where each reported quantile (Forecast::quantiles on the grid) first
    crosses, remaining life."""
    origin, thr = cell["origin"], fc["eol_threshold"]
    median = mc["quantiles"].index(0.5)
    if fc.get("smooth_patches") and len(grid):
        paths = np.stack([smooth_over_patch(cell["last_soh"], path, mc["patch_len"]) for path in paths])
    if cell["observed_eol"] is not None:
        c = cell["observed_eol"]
        eol = {"point": c, "lower": c, "upper": c}
    else:
        gx = np.concatenate(([origin], grid))
        crossings = [first_crossing(gx, np.concatenate(([cell["last_soh"]], band)), thr)
                     for band in bands(paths, median, fc["interval_scale"])]
        reached = [c for c in crossings if c is not None]
        eol = {"point": crossings[median], "lower": min(reached) if reached else None,
               "upper": max(reached) if reached and len(reached) == len(crossings) else None}
    rul = {k: None if v is None else max(v - origin, 0.0) for k, v in eol.items()}
    return {
        "origin": origin, "quantile_levels": mc["quantiles"], "at": [], "values": [[] for _ in paths],
        "grid": grid.tolist(), "paths": paths.tolist(), "origin_soh": cell["last_soh"],
        "eol_threshold": thr, "eol": eol, "rul": rul,
    }


# ────────────────────────────────────── a batch in lockstep ──────────────────────────────────────


def roll_out(model, cells, fc, mc):
    """Forecaster::roll_out for cells with equal context length; returns one forecast per cell."""
    p, levels, m = mc["patch_len"], mc["quantiles"], mc.get("output_patches", 1)
    q, median = len(levels), levels.index(0.5)
    rows = q if fc["feedback"] == "own_quantile" else 1
    row_of = [lv if rows > 1 else 0 for lv in range(q)]  # the row each level's path is read from
    fed_level = [r if rows > 1 else median for r in range(rows)]  # the level each row feeds back
    n_ctx, max_steps, thr = cells[0]["n_patches"], fc["max_rollout_patches"], fc["eol_threshold"]
    nb = len(cells)
    f32 = np.float32 if model.head.weight.dtype == torch.float32 else np.float64  # float64: diagnostics only

    origin = np.array([c["origin"] for c in cells])  # [nb]
    spacing = np.array([c["spacing"] for c in cells])
    horizon = np.array([c["horizon"] for c in cells])
    observed = np.array([c["observed_eol"] is not None for c in cells])
    # Per row: raw SOH on the grid (context, then its own rollout) and its normalisation.
    series = np.zeros((nb, rows, (n_ctx + max_steps) * p))  # [nb, R, L]
    series[:, :, :n_ctx * p] = np.stack([c["context"] for c in cells])[:, None, :]
    loc, scale = series_norm(series[:, :, :n_ctx * p], mc["min_scale"])  # [nb, R]
    length = n_ctx * p
    grid = np.zeros((nb, max_steps * p))
    paths = np.zeros((nb, q, max_steps * p))
    first_cross = np.full((nb, q), -1)  # grid index where each path first reached the threshold
    steps_done = np.zeros(nb, dtype=int)
    # Teacher forcing (a check, see `teacher_forced`): each row is fed the given paths instead.
    forced = cells[0].get("forced") is not None
    if forced:
        forced_paths = np.zeros((nb, q, max_steps * p))
        forced_steps = np.array([c["forced"].shape[1] // p for c in cells])
        for i, c in enumerate(cells):
            forced_paths[i, :, :c["forced"].shape[1]] = c["forced"]
        forced_diff = np.zeros(nb)

    def patch_start(a, t):  # cycle where patch t starts (t < 0: context), [len(a), ...]
        return origin[a, None] + (np.asarray(t) * p + 1.0) * spacing[a, None]

    def encode(a, patches, first):
        """Each row's last `patches` patches, normalised on its own norm, with side channels."""
        z = (series[a, :, length - patches * p:length] - loc[a, :, None]) / scale[a, :, None]
        starts = patch_start(a, np.arange(first, first + patches))  # [A, patches]
        side = side_channels(spacing[a, None, None], loc[a, :, None], scale[a, :, None], starts[:, None, :], mc.get("age_channel", True))
        z = torch.from_numpy(z.astype(f32)).reshape(len(a) * rows, patches, p)  # [A·R, n, P]
        return z, torch.from_numpy(side.astype(np.float32).astype(f32)).reshape(len(a) * rows, patches, -1)  # [A·R, n, 4]

    active = np.arange(nb)
    cache = model.new_cache()
    out, _ = model(*encode(active, n_ctx, -n_ctx), cache)  # [A·R, n, M·P, Q]
    positions = n_ctx
    step = 0  # patches rolled out so far; each pass takes the M patches the model predicts
    while step < max_steps:
        nxt_all = out[:, -1].numpy().reshape(len(active), rows, m, p, q)  # [A, R, M, P, Q] float32
        a = active
        going = np.ones(len(a), dtype=bool)  # cells still taking patches in this pass
        feed_all = np.zeros((len(a), rows, m * p), dtype=f32)  # [A, R, M·P], what is fed back
        for j in range(m):
            g, nxt = a[going], nxt_all[going, :, j]  # [G], [G, R, P, Q]
            # Push: extend grid and paths, and each row's series by the patch it feeds back.
            feed = np.stack([nxt[:, r, :, fed_level[r]] for r in range(rows)], axis=1)  # [G, R, P]
            at = slice((step + j) * p, (step + j + 1) * p)
            grid[g, at] = origin[g, None] + ((step + j) * p + np.arange(p) + 1.0) * spacing[g, None]
            for lv in range(q):
                r = row_of[lv]  # capacity cannot go below zero
                paths[g, lv, at] = np.maximum(nxt[:, r, :, lv] * scale[g, r, None] + loc[g, r, None], 0.0)
            if forced:
                gap = np.abs(paths[g, :, at] - forced_paths[g, :, at]).max(axis=(1, 2))  # [G]
                forced_diff[g] = np.maximum(forced_diff[g], gap)
                paths[g, :, at] = forced_paths[g, :, at]
                feed = ((forced_paths[g][:, fed_level, at] - loc[g, :, None]) / scale[g, :, None]).astype(f32)
            feed_all[going, :, j * p:(j + 1) * p] = feed
            series[g, :, length:length + p] = feed * scale[g, :, None] + loc[g, :, None]
            length += p
            steps_done[g] = step + j + 1
            # Stopping rule (Rollout::should_stop): first crossings of the reported quantiles (the
            # paths ordered and widened, as `bands`), tracked incrementally.
            below = bands(paths[g, :, at], median, fc["interval_scale"], axis=1) <= thr  # [G, Q, P]
            new = (first_cross[g] < 0) & below.any(axis=2)
            first_cross[g] = np.where(new, (step + j) * p + below.argmax(axis=2), first_cross[g])
            end = grid[g, at.stop - 1]
            fm = first_cross[g, median]
            e = grid[g, np.maximum(fm, 0)]
            all_crossed = observed[g] | (first_cross[g] >= 0).all(axis=1)
            far_enough = (fm >= 0) & (end - origin[g] >= 3.0 * (e - origin[g]))
            stop = ((end >= horizon[g]) & (all_crossed | far_enough)) | (step + j + 1 == max_steps)
            if forced:
                stop = step + j + 1 >= forced_steps[g]
            going[np.flatnonzero(going)[stop]] = False
            if not going.any():
                break
        if not going.any():
            break
        step += m
        reanchor = positions + m > mc["max_context_patches"]
        still = a[going]
        if not going.all() and not reanchor:
            # Finished cells leave the batch: drop their rows from the KV cache.
            kept = (np.flatnonzero(going)[:, None] * rows + np.arange(rows)).ravel()
            cache.select(torch.from_numpy(kept))
        active = still
        if reanchor:
            # A fresh context: the last `keep` patches, normalised on themselves.
            keep = min(max(fc["reanchor_patches"], 1), mc["max_context_patches"] - 1)
            loc[active], scale[active] = series_norm(series[active, :, length - keep * p:length], mc["min_scale"])
            cache = model.new_cache()
            out, _ = model(*encode(active, keep, step - keep), cache)  # [A·R, keep, M·P, Q]
            positions = keep
        else:
            z = torch.from_numpy(feed_all[going]).reshape(len(active) * rows, m, p)  # [A·R, M, P]
            starts = patch_start(active, np.arange(step - m, step))  # [A, M]
            side = side_channels(spacing[active, None, None], loc[active][:, :, None], scale[active][:, :, None], starts[:, None, :], mc.get("age_channel", True))
            side = torch.from_numpy(side.astype(np.float32).astype(f32)).reshape(len(active) * rows, m, -1)  # [A·R, M, 4]
            out, _ = model(z, side, cache)  # [A·R, M, M·P, Q]
            positions += m

    results = [finish(c, grid[i, :steps_done[i] * p], paths[i, :, :steps_done[i] * p], fc, mc)
               for i, c in enumerate(cells)]
    for i, r in enumerate(results if forced else []):
        r["teacher_forced_max_diff"] = float(forced_diff[i])
    return results


def forecast_many(model, histories, fc, batch):
    """Groups cells by context length (stable order), rolls out groups of up to `batch` cells."""
    mc = model.cfg
    cells = [{**prepare(h["cycles"], h["soh"], h["observation"], fc, mc), "forced": h.get("forced")}
             for h in histories]
    if batch <= 1:
        return [roll_out(model, [c], fc, mc)[0] for c in cells]
    order = sorted(range(len(cells)), key=lambda i: cells[i]["n_patches"])
    results = [None] * len(cells)
    i = 0
    while i < len(order):
        j = i
        while j < len(order) and j - i < batch and cells[order[j]]["n_patches"] == cells[order[i]]["n_patches"]:
            j += 1
        for k, f in zip(order[i:j], roll_out(model, [cells[k] for k in order[i:j]], fc, mc)):
            results[k] = f
        i = j
    return results


# ─────────────────────────────────────────── I/O and compare ───────────────────────────────────────────


def read_cells(path):
    """cell,observation,cycle,soh rows grouped by cell, in file order."""
    df = pd.read_csv(path, dtype={"cell": str, "observation": str})
    keys = df["cell"].to_numpy()
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    bounds = np.r_[starts, len(df)]
    cyc, soh, obs = df["cycle"].to_numpy(np.float64), df["soh"].to_numpy(np.float64), df["observation"].to_numpy()
    return [{"key": keys[s], "observation": obs[s], "cycles": cyc[s:e], "soh": soh[s:e]}
            for s, e in zip(bounds[:-1], bounds[1:])]


def _clean(v):
    """JSON-safe: NaN -> null, as serde_json writes it."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_clean(x) for x in v]
    return v


def compare(ours_path, rust_path, tol=1e-4, patch_len=16):
    """Paths and end of life of the cells present in both files; returns (summary, ok)."""
    ours = {c["cell"]: c["forecast"] for c in json.loads(Path(ours_path).read_text())["cells"]}
    rust = {c["cell"]: c["forecast"] for c in json.loads(Path(rust_path).read_text())["cells"]}
    common = [k for k in rust if k in ours]
    per_cell, first_patch, grid, eol, eol_none, length_mismatch = [], 0.0, 0.0, 0.0, 0, []
    for k in common:
        a, b = ours[k], rust[k]
        if len(a["grid"]) != len(b["grid"]):
            length_mismatch.append({"cell": k, "torch": len(a["grid"]), "rust": len(b["grid"])})
        n = min(len(a["grid"]), len(b["grid"]))
        if n:  # on the common prefix when the lengths differ
            grid = max(grid, float(np.abs(np.array(a["grid"][:n]) - np.array(b["grid"][:n])).max()))
            d = np.abs(np.array([x[:n] for x in a["paths"]], dtype=float)
                       - np.array([x[:n] for x in b["paths"]], dtype=float))  # [Q, n]
            per_cell.append(float(d.max()))
            # The first predicted patch is one forward pass: it isolates the model from the rollout.
            first_patch = max(first_patch, float(d[:, :patch_len].max()))
        for key in ("point", "lower", "upper"):
            x, y = a["eol"][key], b["eol"][key]
            if (x is None) != (y is None):
                eol_none += 1
            elif x is not None:
                eol = max(eol, abs(x - y))
    diffs = np.array(per_cell or [0.0])
    soh = float(diffs.max())
    ok = bool(common) and soh <= tol and grid <= 1e-9 and not length_mismatch and eol_none == 0
    summary = {"compared": len(common), "max_abs_soh_diff": soh,
               "worst_cell": common[int(diffs.argmax())] if per_cell else None,
               "cells_over_tolerance": int((diffs > tol).sum()),
               "cells_over": {f"{t:.0e}": int((diffs > t).sum()) for t in (1e-6, 1e-4, 1e-3)},
               "per_cell_max_diff_p50_p90_p99": [float(v) for v in np.percentile(diffs, [50, 90, 99])],
               "first_patch_max_abs_diff": first_patch, "max_abs_grid_diff": grid,
               "max_abs_eol_diff_cycles": eol, "eol_presence_mismatches": eol_none,
               "grid_length_mismatches": len(length_mismatch), "length_mismatch_examples": length_mismatch[:5],
               "tolerance": tol, "ok": ok}
    return summary, ok


def teacher_forced(model, histories, rust_path, fc, batch):
    """Replays each Rust rollout step by step, feeding back Rust's own paths, and compares every
    predicted patch with Rust's: per-step agreement, free of the round-off that a free-running
    rollout amplifies over thousands of points. A path floored at 0 hides the value fed back, so
    each replay stops before the first patch with a 0."""
    p = model.cfg["patch_len"]
    rust = {c["cell"]: c["forecast"] for c in json.loads(Path(rust_path).read_text())["cells"]}
    picked = []
    for h in histories:
        f = rust.get(h["key"])
        if f is None or not f["grid"]:
            continue
        paths = np.array(f["paths"], dtype=float)  # [Q, L]
        zero = np.flatnonzero((paths == 0.0).any(axis=0))
        steps = (zero[0] if len(zero) else paths.shape[1]) // p
        if steps:
            picked.append({**h, "forced": paths[:, :steps * p]})
    diffs = np.array([f["teacher_forced_max_diff"] for f in forecast_many(model, picked, fc, batch)])
    return {"teacher_forced_cells": len(picked), "teacher_forced_max_abs_soh_diff": float(diffs.max()),
            "teacher_forced_p50_p99": [float(v) for v in np.percentile(diffs, [50, 99])]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="models/default")
    ap.add_argument("--cells", default="out/bench/cells.csv")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default="")
    ap.add_argument("--write", type=int, default=200)
    ap.add_argument("--compare", default="", help="Rust forecasts JSON to check --out against")
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"],
                    help="float64 runs the model in double precision (a diagnostic, not what Rust does)")
    ap.add_argument("--tol", type=float, default=1e-4, help="largest SOH difference --compare accepts")
    ap.add_argument("--teacher-forced", action="store_true",
                    help="also replay the --compare file's rollouts step by step (see teacher_forced)")
    ap.add_argument("--compare-only", action="store_true", help="skip forecasting; compare --out with --compare")
    args = ap.parse_args()

    forced = {}
    if not args.compare_only:
        torch.set_num_threads(args.threads)
        model = load_model(args.model).to(getattr(torch, args.dtype))
        fc = {**FORECAST_DEFAULTS, **json.loads((Path(args.model) / "forecast.json").read_text())}
        histories = read_cells(args.cells)
        started = time.perf_counter()
        with torch.inference_mode():
            forecasts = forecast_many(model, histories, fc, args.batch)
        seconds = time.perf_counter() - started
        if args.teacher_forced and args.compare:
            with torch.inference_mode():
                forced = teacher_forced(model, histories[:args.write], args.compare, fc, args.batch)
        if args.out:
            cells = [{"cell": h["key"], "forecast": f} for h, f in zip(histories[:args.write], forecasts)]
            Path(args.out).write_text(json.dumps(_clean({"cells": cells})))
        print(json.dumps({"cells": len(histories), "seconds": seconds, "cells_per_s": len(histories) / seconds,
                          "grid_points": sum(len(f["grid"]) for f in forecasts),
                          "threads": args.threads, "batch": args.batch}))
    if args.compare:
        summary, ok = compare(args.out, args.compare, args.tol)
        print(json.dumps({**summary, **forced}))
        if not ok:
            sys.exit(1)


if __name__ == "__main__":
    main()
