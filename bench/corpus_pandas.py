"""Benchmark reference, not part of the product: a pandas re-implementation of
`fadecast corpus build` for the PINN4SOH-derived datasets MATR, HUST and TJU.

It reads the same raw files (`raw/<DATASET>/cells.csv` and `features_pinn4soh/**/*.csv.gz`) and
applies the same rules as crates/fadecast/src/import/{pinn4soh,clean}.rs, so that its
cycles.parquet can be compared row for row with fadecast's (see corpus_compare.py):

- cycle = 1-based row index (the files have no cycle column); capacity in Ah as written;
- validation: capacity present, finite and > 0, else an error (nothing is repaired);
- order: cycles are the row index, hence already strictly increasing (STRICT: no sort/merge);
- SOH = capacity / nominal capacity (else / median of the first 5 capacities);
- outliers: drop a row when |SOH - median of the 11-row window centred on it (shifted inwards at
  the edges)| > max(5 * 1.4826 * MAD, 0.02), for cells with >= 11 rows;
- descriptors: five mapped columns, non-finite -> null; the three CC-window descriptors are
  nulled where `CC Q` < 0.01 Ah (feature-extraction glitches); the row itself is kept.

Usage: python bench/corpus_pandas.py --raw RAW --datasets MATR HUST TJU --out DIR
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

FEATURES_DIR = "features_pinn4soh"
REPO = "wang-fujin/PINN4SOH@bf7a93148de6a7e249c1b053bd60fe3c9a3dc1f0"
LICENSE = "none stated (no LICENSE file in wang-fujin/PINN4SOH)"
MIN_CC_WINDOW_AH = 0.01
INITIAL_OBSERVATIONS, WINDOW, K, FLOOR = 5, 11, 5.0, 0.02

DESCRIPTORS = [
    "charge_time_s", "cc_charge_time_s", "cv_charge_time_s", "charge_voltage_mean_v",
    "charge_voltage_std_v", "discharge_voltage_mean_v", "charge_current_mean_a",
    "temperature_c", "resistance_ohm", "coulombic_efficiency",
]
# source column -> descriptor (pinn4soh.rs); the rest of DESCRIPTORS stay null.
MAPPED = {
    "CC charge time": "cc_charge_time_s", "CV charge time": "cv_charge_time_s",
    "voltage mean": "charge_voltage_mean_v", "voltage std": "charge_voltage_std_v",
    "current mean": "charge_current_mean_a",
}
CC_WINDOW = ["cc_charge_time_s", "charge_voltage_mean_v", "charge_voltage_std_v"]
USECOLS = ["capacity", "CC Q", *MAPPED]


def num(v: str) -> str:
    """f64 as Rust's `{}` prints it (no trailing `.0`), for the protocol texts."""
    x = float(v)
    return str(int(x)) if x.is_integer() else repr(x)


def describe_matr(r):
    return dict(temperature_c=30.0, discharge_c_rate=4.0, protocol=(
        f"batch {r['batch']}: multi-step fast charge (per-cell policy not in these files), "
        "4C discharge, 30 °C chamber (Severson et al. 2019)"))


def describe_hust(r):
    return dict(dod=1.0, protocol=(
        f"{r['charge_protocol']}; discharge {num(r['discharge_C_rate_SOC100_60'])}C (100→60 % SOC), "
        f"{num(r['discharge_C_rate_SOC60_40'])}C (60→40 %), {num(r['discharge_C_rate_SOC40_20'])}C "
        f"(40→20 %), then {num(r['discharge_C_rate_SOC20_to_2V'])}C to 2.0 V; "
        f"window {r['voltage_window_V']} V"))


def describe_tju(r):
    t, c, d = (num(r[k]) for k in ("temperature_C_from_name", "charge_C_rate_from_name",
                                     "discharge_C_rate_from_name"))
    return dict(temperature_c=float(t), charge_c_rate=float(c), discharge_c_rate=float(d),
                protocol=f"{r['subset']}: {c}C charge, {d}C discharge at {t} °C "
                         "(Zhu et al. 2022, from the file name)")


# In fadecast's DATASETS order, which fixes the row order of the output.
DATASETS = {
    "MATR": ("Severson et al., Nature Energy 4, 383–391 (2019), doi:10.1038/s41560-019-0356-8; "
             "raw data data.matr.io/1/projects/5c48dd2bc625d700019f3204", describe_matr),
    "HUST": ("Ma et al., Energy & Environmental Science (2022), doi:10.1039/D2EE01676A; "
             "raw data data.mendeley.com/datasets/nsc7hnsg4s/2", describe_hust),
    "TJU": ("Zhu et al., Nature Communications 13, 2261 (2022), doi:10.1038/s41467-022-29837-w; "
            "raw data Zenodo record 6405084", describe_tju),
}


def load_labels(raw: Path) -> dict:
    """BatteryLife EOL labels: `*label*.json` files one level below raw/ (labels.rs)."""
    labels = {}
    for f in sorted(p for p in raw.glob("*/*") if p.is_file()
                    and p.name.lower().endswith(".json") and "label" in p.name.lower()):
        for k, v in json.loads(f.read_text()).items():
            k = k.strip()
            labels[k[:-4] if k.lower().endswith(".pkl") else k] = float(v)
    return labels


def opt(s: pd.Series) -> pd.Series:
    """Empty text fields are unknown."""
    return s.where(s.ne(""))


def split_chemistry(text):
    bare = text.split(" (")[0].strip()
    cathode, _, anode = bare.partition("/")
    return cathode.strip() or None, anode.strip() or None


def read_dataset(raw: Path, name: str, labels: dict):
    """One dataset -> (cell metadata frame, raw per-cycle frame in cells.csv order)."""
    citation, describe = DATASETS[name]
    d = raw / name
    cells = pd.read_csv(d / "cells.csv", dtype=str, keep_default_na=False)
    cells = cells.apply(lambda s: s.str.strip())
    assert cells.cell_id.ne("").all() and cells.cell_id.is_unique, f"{d}/cells.csv: bad cell_id"
    # A feature file that cells.csv does not list would silently vanish from the corpus.
    unlisted = {str(p.relative_to(d)) for p in (d / FEATURES_DIR).rglob("*.csv.gz")} - set(cells.file)
    assert not unlisted, f"{d}: feature files not in cells.csv: {sorted(unlisted)[:3]}"

    frames = []
    for cell_id, file in zip(cells.cell_id, cells.file):
        f = pd.read_csv(d / file, usecols=USECOLS)
        if not all(pd.api.types.is_float_dtype(t) or pd.api.types.is_integer_dtype(t) for t in f.dtypes):
            raise ValueError(f"{d / file}: non-numeric values in {dict(f.dtypes)}")
        frames.append(f.astype("float64").assign(cycle=np.arange(1.0, len(f) + 1)))
    rows = pd.concat(frames, keys=cells.cell_id, names=["cell_id", None]).reset_index(0)

    n = rows.groupby("cell_id", sort=False).size().reindex(cells.cell_id).to_numpy()
    bad = n != cells.n_rows.astype(float).to_numpy()
    assert not bad.any(), f"{name}: row counts differ from cells.csv n_rows for {list(cells.cell_id[bad])[:3]}"
    cap = rows.capacity.to_numpy()
    bad = ~(np.isfinite(cap) & (cap > 0))
    if bad.any():
        i = np.flatnonzero(bad)[0]
        raise ValueError(f"{name}/{rows.cell_id.iat[i]}: capacity {cap[i]} at cycle {rows.cycle.iat[i]:.0f} "
                         "is missing, non-finite or <= 0")

    meta = pd.DataFrame({"dataset": name, "cell_id": cells.cell_id,
                         "chemistry": opt(cells.chemistry), "form_factor": opt(cells.form_factor),
                         "nominal_capacity_ah": pd.to_numeric(opt(cells.nominal_capacity_Ah))})
    meta["cathode"], meta["anode"] = zip(*cells.chemistry.map(split_chemistry))
    extra = pd.DataFrame([describe(r) for r in cells.to_dict("records")], index=cells.index)
    meta = meta.join(extra)
    meta["source"] = f"{citation}; per-cycle features from {REPO} `" + cells.source_path + "`"
    meta["license"] = LICENSE
    # A label matches the cell id, or `<dataset>_<cell id>` (labels.rs; none match these three).
    meta["eol_cycle_label"] = [labels.get(i, np.nan if i.startswith(f"{name}_") else labels.get(f"{name}_{i}", np.nan))
                               for i in cells.cell_id]
    return meta, rows


def outlier_keep(soh: np.ndarray, starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """Rolling median/MAD filter over all cells at once; `True` = keep."""
    pos = np.arange(len(soh))
    cs, ln = np.repeat(starts, lens), np.repeat(lens, lens)
    keep = np.ones(len(soh), bool)
    big = ln >= WINDOW  # shorter cells are not filtered
    # Window start, shifted inwards at the cell's edges so it always holds WINDOW rows.
    st = np.clip(pos[big] - WINDOW // 2, cs[big], cs[big] + ln[big] - WINDOW)
    w = soh[st[:, None] + np.arange(WINDOW)]
    med = np.median(w, axis=1)
    mad = np.median(np.abs(w - med[:, None]), axis=1)
    keep[big] = np.abs(soh[big] - med) <= np.maximum(K * 1.4826 * mad, FLOOR)
    return keep


def build(raw: Path, names: list[str]):
    labels = load_labels(raw)
    metas, parts = zip(*(read_dataset(raw, n, labels) for n in names))
    meta = pd.concat(metas, ignore_index=True)
    rows = pd.concat(parts, keys=names, names=["dataset", None]).reset_index(0).reset_index(drop=True)

    # SOH reference: nominal capacity, else the median of the first few capacities.
    first = rows.groupby(["dataset", "cell_id"], sort=False).capacity.agg(
        lambda c: c.iloc[:INITIAL_OBSERVATIONS].median())
    nominal = meta.set_index(["dataset", "cell_id"]).nominal_capacity_ah
    has_nominal = nominal.gt(0)
    meta["reference_capacity_ah"] = nominal.where(has_nominal, first).to_numpy()
    meta["reference_rule"] = np.where(has_nominal, "nominal", "initial")
    ref = rows[["dataset", "cell_id"]].merge(meta[["dataset", "cell_id", "reference_capacity_ah"]],
                                             how="left", sort=False).reference_capacity_ah
    rows["soh"] = rows.capacity.to_numpy() / ref.to_numpy()

    # Descriptors: mapped columns, non-finite -> null, CC-window glitches masked.
    out = rows[["dataset", "cell_id", "cycle", "capacity", "soh"]].rename(columns={"capacity": "capacity_ah"})
    for d in DESCRIPTORS:
        out[d] = np.nan
    for src, d in MAPPED.items():
        out[d] = rows[src].where(np.isfinite(rows[src]))
    out.loc[rows["CC Q"].lt(MIN_CC_WINDOW_AH), CC_WINDOW] = np.nan
    out["descriptor_mask"] = (out[DESCRIPTORS].notna().to_numpy() << np.arange(len(DESCRIPTORS))).sum(1).astype("uint16")

    lens = out.groupby(["dataset", "cell_id"], sort=False).size().to_numpy()
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
    keep = outlier_keep(out.soh.to_numpy(), starts, lens)
    meta["rows_read"] = lens
    meta["outliers_removed"] = np.add.reduceat(~keep, starts)
    out = out[keep].reset_index(drop=True)
    meta["n_cycles"] = meta.rows_read - meta.outliers_removed
    meta["rows_dropped_by_importer"] = meta["duplicates_merged"] = 0
    meta["axis"], meta["observation"] = "cycle", "per_cycle"
    return meta, out


def write(df: pd.DataFrame, schema: pa.Schema, path: Path):
    pq.write_table(pa.Table.from_pandas(df[schema.names], schema=schema, preserve_index=False),
                   path, compression="snappy")


S, F, U32 = pa.string(), pa.float64(), pa.uint32()
NOT_NULL = {"dataset", "cell_id", "cycle", "soh", "descriptor_mask", "axis", "observation",
            "reference_rule", "n_cycles"}
CYCLES_SCHEMA = pa.schema([pa.field(n, t, n not in NOT_NULL) for n, t in
                           [("dataset", S), ("cell_id", S), ("cycle", F), ("capacity_ah", F), ("soh", F),
                            *((d, F) for d in DESCRIPTORS), ("descriptor_mask", pa.uint16())]])
CELLS_SCHEMA = pa.schema([pa.field(n, t, n not in NOT_NULL) for n, t in [
    ("dataset", S), ("cell_id", S), ("chemistry", S), ("cathode", S), ("anode", S), ("form_factor", S),
    ("nominal_capacity_ah", F), ("temperature_c", F), ("charge_c_rate", F), ("discharge_c_rate", F),
    ("dod", F), ("protocol", S), ("source", S), ("license", S), ("axis", S), ("observation", S),
    ("eol_cycle_label", F), ("reference_capacity_ah", F), ("reference_rule", S), ("n_cycles", U32),
    ("rows_read", U32), ("rows_dropped_by_importer", U32), ("duplicates_merged", U32),
    ("outliers_removed", U32)]])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--raw", type=Path, required=True)
    ap.add_argument("--datasets", nargs="+", default=list(DATASETS))
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    wanted = {n.upper() for n in a.datasets}
    unknown = wanted - set(DATASETS)
    if unknown:
        ap.error(f"only {list(DATASETS)} are implemented, not {sorted(unknown)}")
    t0 = time.perf_counter()
    meta, cycles = build(a.raw, [n for n in DATASETS if n in wanted])
    for c in CELLS_SCHEMA.names:  # columns no dataset sets
        if c not in meta:
            meta[c] = np.nan
    a.out.mkdir(parents=True, exist_ok=True)
    write(cycles, CYCLES_SCHEMA, a.out / "cycles.parquet")
    write(meta, CELLS_SCHEMA, a.out / "cells.parquet")
    print(json.dumps({"cells": len(meta), "rows": len(cycles), "seconds": round(time.perf_counter() - t0, 3)}))


if __name__ == "__main__":
    main()
