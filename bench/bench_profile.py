"""Profile of 1,000,000 rows x 30 columns: raikit ``profile`` vs pandas, side by side.

Run: ``python bench/bench_profile.py [--rows N]``

The peer is what a careful user would write with pandas alone: ``DataFrame.describe(include="all")``
for the overall part, plus ``groupby(...).describe()`` of the numeric columns and of the categorical
columns for each sensitive attribute and for their intersection (the per-group part). pandas gives
fewer numbers (no histograms, no top-k shares per group, no associations, no proxies), so raikit is
also timed without proxies and associations.

ydata-profiling is not compared: it pins ``pandas<3`` and ``numpy<2.4`` and would downgrade both in
raikit's environment (checked with ``pip install --dry-run ydata-profiling``).

Goal: raikit's full profile in under 10 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd


def make_data(n_rows: int, seed: int = 0) -> pd.DataFrame:
    """30 columns: 2 sensitive, 1 binary target, 17 numeric (3 with missing values), 10 categorical."""
    rng = np.random.default_rng(seed)
    sex = rng.integers(0, 2, n_rows)
    race = rng.choice(5, n_rows, p=[0.6, 0.15, 0.12, 0.08, 0.05])
    data: dict[str, object] = {
        "sex": pd.Categorical.from_codes(sex, ["female", "male"]),
        "race": pd.Categorical.from_codes(race, list("ABCDE")),
    }
    for i in range(17):
        values = rng.normal(loc=sex * 0.3 * (i % 3), scale=1 + i % 4, size=n_rows)
        if i % 5 == 0:
            values = np.round(np.abs(values) * 10)  # integer-like, many ties
        if i < 3:
            values[rng.random(n_rows) < 0.05 * (1 + sex)] = np.nan
        data[f"num_{i:02d}"] = values
    for i in range(10):
        k = [3, 5, 8, 12, 20, 40, 60, 100, 7, 4][i]
        codes = (rng.integers(0, k, n_rows) + race * (i % 2)) % k
        data[f"cat_{i:02d}"] = pd.Categorical.from_codes(codes, [f"c{j}" for j in range(k)])
    logit = 0.4 * np.nan_to_num(data["num_03"])
    data["target"] = (rng.random(n_rows) < 1 / (1 + np.exp(-logit))).astype(np.int8)
    return pd.DataFrame(data)


def pandas_profile(frame: pd.DataFrame, sensitive: list[str]) -> None:
    numeric = frame.select_dtypes("number").columns
    categorical = [c for c in frame.select_dtypes("category").columns if c not in sensitive]
    frame.describe(include="all")
    for keys in [[s] for s in sensitive] + [sensitive]:
        grouped = frame.groupby(keys, observed=True)
        grouped[list(numeric)].describe()
        grouped[categorical].describe()


def timed(func) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()

    from raikit import Dataset
    from raikit.data import profile

    frame = make_data(args.rows)
    print(f"{len(frame):,} rows x {frame.shape[1]} columns (sensitive: sex x race)")
    ds = Dataset(frame, target="target", sensitive=["sex", "race"])

    t_pandas = timed(lambda: pandas_profile(frame, ["sex", "race"]))
    t_basic = timed(lambda: profile(ds, proxies=False, association_sample=0))
    t_full = timed(lambda: profile(ds))
    print(f"pandas describe + groupby describe (overall, sex, race, sex x race): {t_pandas:7.2f} s")
    print(f"raikit profile, statistics + histograms + top categories only:    {t_basic:7.2f} s")
    print(f"raikit profile, full (associations + proxies):                  {t_full:7.2f} s")
    print(f"ratio pandas / raikit (statistics only): {t_pandas / t_basic:6.2f}x")
    print(f"ratio pandas / raikit (full profile):    {t_pandas / t_full:6.2f}x")
    print(f"goal: full profile under 10 s -> {'met' if t_full < 10 else 'NOT met'}")


if __name__ == "__main__":
    main()
