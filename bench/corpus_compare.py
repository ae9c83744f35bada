"""Benchmark check, not part of the product: compares the cycles table written by
bench/corpus_pandas.py with fadecast's `corpus build` output for the same datasets.

Passes when both hold the same cells, the same (cell, cycle) rows, and every numeric column
agrees within 1e-9 relative or 1e-12 absolute (NaN/null == NaN/null). Where both folders have a
cells.parquet, the shared cells are compared too (text exactly, numbers with the same tolerance).
Prints a JSON summary; exits 1 with the first mismatches otherwise.

Usage: python bench/corpus_compare.py --pandas DIR_A --fadecast DIR_B [--datasets MATR HUST TJU]
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REL, ABS = 1e-9, 1e-12


def close(a: pd.Series, b: pd.Series) -> np.ndarray:
    a, b = a.to_numpy("float64", na_value=np.nan), b.to_numpy("float64", na_value=np.nan)
    both_nan = np.isnan(a) & np.isnan(b)
    with np.errstate(invalid="ignore"):
        ok = np.abs(a - b) <= np.maximum(REL * np.maximum(np.abs(a), np.abs(b)), ABS)
    return both_nan | ok


def compare(a: pd.DataFrame, b: pd.DataFrame, keys: list[str], what: str, errors: list[str]) -> dict:
    """Outer-joins on `keys`; records missing rows and out-of-tolerance cells in `errors`."""
    if set(a.columns) != set(b.columns):
        errors.append(f"{what}: columns differ: only pandas {sorted(set(a) - set(b))}, "
                      f"only fadecast {sorted(set(b) - set(a))}")
    m = a.merge(b, on=keys, how="outer", suffixes=("_pd", "_fc"), indicator=True)
    for side, label in (("left_only", "only in pandas"), ("right_only", "only in fadecast")):
        extra = m[m._merge == side]
        if len(extra):
            errors.append(f"{what}: {len(extra)} rows {label}, first: {extra[keys].head(5).to_dict('records')}")
    m = m[m._merge == "both"]
    max_diff = {}
    for c in sorted((set(a.columns) & set(b.columns)) - set(keys)):
        x, y = m[c + "_pd"], m[c + "_fc"]
        if pd.api.types.is_numeric_dtype(x) and pd.api.types.is_numeric_dtype(y):
            ok = close(x, y)
            d = np.abs(x.to_numpy("float64", na_value=np.nan) - y.to_numpy("float64", na_value=np.nan))
            max_diff[c] = float(np.nanmax(d)) if np.isfinite(d).any() else 0.0
        else:
            ok = ((x.isna() & y.isna()) | (x == y).fillna(False)).to_numpy(bool)
        if not ok.all():
            bad = m.loc[~ok, keys + [c + "_pd", c + "_fc"]].head(5)
            errors.append(f"{what}: column {c}: {int((~ok).sum())} mismatches, first:\n{bad.to_string()}")
    return {"rows": len(m), "max_abs_diff": max_diff}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pandas", type=Path, required=True)
    ap.add_argument("--fadecast", type=Path, required=True)
    ap.add_argument("--datasets", nargs="+", default=["MATR", "HUST", "TJU"])
    a = ap.parse_args()

    def load(d: Path, name: str) -> pd.DataFrame:
        df = pd.read_parquet(d / name)
        return df[df.dataset.isin(a.datasets)].reset_index(drop=True)

    errors: list[str] = []
    pd_cy, fc_cy = load(a.pandas, "cycles.parquet"), load(a.fadecast, "cycles.parquet")
    if len(pd_cy) == 0:
        errors.append(f"no rows for {a.datasets} in {a.pandas}/cycles.parquet")
    keys = ["dataset", "cell_id"]
    summary = {"cycles": compare(pd_cy, fc_cy, keys + ["cycle"], "cycles", errors)}
    summary["cycles"]["cells"] = int(pd_cy[keys].drop_duplicates().shape[0])
    # Same rows in the same order (cells in cells.csv order, cycles ascending) is not required
    # for a pass but is reported.
    summary["cycles"]["same_row_order"] = bool(
        len(pd_cy) == len(fc_cy) and (pd_cy[keys + ["cycle"]] == fc_cy[keys + ["cycle"]]).all().all())
    if (a.pandas / "cells.parquet").exists() and (a.fadecast / "cells.parquet").exists():
        summary["cells"] = compare(load(a.pandas, "cells.parquet"), load(a.fadecast, "cells.parquet"),
                                   keys, "cells", errors)
    summary["ok"] = not errors
    print(json.dumps(summary))
    if errors:
        print("MISMATCH\n" + "\n".join(errors), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
