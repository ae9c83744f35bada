#!/usr/bin/env python3
"""How much of a comparison is the luck of which cells were scored: a paired bootstrap over cells,
resampled within each dataset (the same draws for every model), from `fadecast eval` outputs.

  scripts/bootstrap.py wins UNIVERSAL_EARLY_TEST_DIR [BASELINE_DIR_PATTERN]
      How often the universal model beats every baseline on >= 10 of the seen datasets (issue 4's
      two thirds). BASELINE_DIR_PATTERN defaults to out/eval/{model}-early-test.
  scripts/bootstrap.py verdict F_LABEL T_LABEL [SCORE_DIR]
      The distribution of experiments 4 and 6's deciding sum, val(T)/val(F) + held(T)/held(F),
      from score_recipe.sh's runs in SCORE_DIR/<label>/ (default out/score).

Reported, never deciding: the pre-registered rules in docs/preregistered.md are what decide.
Standard library only; 2,000 draws, fixed seeds.
"""
import json
import math
import random
import sys
from collections import Counter, defaultdict

BASELINES = ["persistence", "linear", "exp", "exp2", "power", "gp", "per_dataset"]
V3 = {"early": 9.56, "rolling": 6.90, "eol": 257.0}  # the val score's reference, as in score_recipe.sh
DRAWS = 2000


def cell_rmse(run_dir):
    """dataset -> cell id -> that cell's RMSE, from a run's metrics.json."""
    by = defaultdict(dict)
    for c in json.load(open(f"{run_dir}/metrics.json"))["cells"]:
        by[c["dataset"]][c["cell_id"]] = c["rmse"]
    return by


def macro(by, picks, eol=False):
    """The evaluator's macro RMSE over `picks` (dataset -> cell ids): a dataset's RMSE is its
    cells' mean (the root mean square for the eol task), the macro their mean."""
    per = []
    for ds, cells in picks.items():
        xs = [by[ds][c] for c in cells]
        per.append(math.sqrt(sum(x * x for x in xs) / len(xs)) if eol else sum(xs) / len(xs))
    return sum(per) / len(per)


def resample(full, rng):
    return {ds: rng.choices(cells, k=len(cells)) for ds, cells in full.items()}


def wins(universal_dir, pattern="out/eval/{model}-early-test"):
    uni = cell_rmse(universal_dir)
    bases = [cell_rmse(pattern.format(model=m)) for m in BASELINES]

    def count(picks):
        return sum(
            macro(uni, {ds: c}) < min(macro(b, {ds: c}) for b in bases if ds in b) for ds, c in picks.items()
        )

    full = {ds: list(cells) for ds, cells in uni.items()}
    rng = random.Random(11)
    draws = [count(resample(full, rng)) for _ in range(DRAWS)]
    print(f"observed: better than every baseline on {count(full)} of {len(full)} datasets")
    print("bootstrap wins (count of draws):", dict(sorted(Counter(draws).items())))
    print(f"P(wins >= 10) = {sum(w >= 10 for w in draws) / DRAWS:.3f}")


def verdict(f_label, t_label, score_dir="out/score"):
    runs = ["early-val", "rolling-val", "eol-val", "early-held"]
    F = {r: cell_rmse(f"{score_dir}/{f_label}/{r}") for r in runs}
    T = {r: cell_rmse(f"{score_dir}/{t_label}/{r}") for r in runs}

    def total(picks):
        val = lambda m: sum(macro(m[f"{t}-val"], picks[f"{t}-val"], t == "eol") / V3[t] for t in V3) / 3
        held = lambda m: macro(m["early-held"], picks["early-held"])
        return val(T) / val(F) + held(T) / held(F)

    full = {r: {ds: list(c) for ds, c in F[r].items()} for r in runs}
    rng = random.Random(7)
    draws = sorted(total({r: resample(full[r], rng) for r in runs}) for _ in range(DRAWS))
    q = lambda p: draws[int(p * DRAWS)]
    print(f"observed sum {total(full):.4f}")
    print(f"bootstrap median {q(0.5):.4f}; 90 % interval {q(0.05):.4f} - {q(0.95):.4f}; 95 % {q(0.025):.4f} - {q(0.975):.4f}")
    print(f"P(sum < 2) = {sum(x < 2 for x in draws) / DRAWS:.3f}; P(sum < 1.98) = {sum(x < 1.98 for x in draws) / DRAWS:.3f}")


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in ("wins", "verdict"):
        sys.exit(__doc__)
    {"wins": wins, "verdict": verdict}[sys.argv[1]](*sys.argv[2:])
