"""Profile a Parquet file of 10M+ rows: raikit's lazy path against loading it into pandas.

Run: ``python bench/bench_scale_data.py [--rows 10000000] [--folder /tmp/raikit-scale-data]``

Writes a seeded synthetic Parquet file in chunks (never the whole table in memory): sensitive
attributes ``sex`` (2 levels) and ``race`` (5), a 20-level ``region``, integer ``age`` and ``hours``,
a float ``income`` with 2 % missing values, a float ``score`` and a binary label. Then, each in its
own process so that peak memory is its own, measures wall time, rows/s and peak RSS of:

* raikit lazy ``profile`` (DuckDB, ``memory_limit="1GB"``): counts, missing values, distinct
  counts, means, standard deviations, histogram quantiles with their error bound, histograms and top
  categories, overall and for every sex, race and sex x race group — no row loaded into pandas;
* the same with associations and proxies on a 200,000-row sample drawn by DuckDB (the default);
* pandas ``read_parquet`` + ``describe`` + ``groupby`` (count, mean, std, min, quantiles, max per
  group and attribute, and category counts per group) — what a user would write today;
* raikit's in-memory ``profile`` on the same rows (``read_parquet`` first);
* ``drift`` of a second file of as many rows (another seed, ``age`` shifted by one year) against
  the first, lazily (binned KS with its bound, exact chi-square / PSI) and in memory (exact KS).

The peer numbers printed beside ours are the pandas ones (and, for drift, raikit's in-memory drift)
measured here, on the same machine.

Last run (10,000,000 rows, 173 MB per file, 2026-11-23, 2 cores, machine otherwise idle; one
process per line; under load from other jobs every time was 2-4x longer):

                                                 seconds     rows/s   peak RSS MB
    raikit lazy profile (DuckDB)                     4.5  2,207,000           413
    raikit lazy profile + proxies (200k sample)      6.8  1,467,000           432
    pandas read_parquet + describe + groupby        16.3    613,000         1,909   (peer)
    raikit in-memory profile (read_parquet first)   15.2    659,000         2,030
    raikit lazy drift (DuckDB, 2 x 10M rows)        10.8  1,848,000           543
    raikit in-memory drift (read_parquet first)    132.6    151,000         5,620   (peer)

No row was loaded into pandas by the lazy profile. Quantile error bounds (2,048-bin histogram):
age 0, hours 0, y 0, income 448 (values ~10^4-10^5), score 4.9e-4. KS error bounds of the lazy
drift: age 0, hours 0, income 0.0105, score 0.00085; both drift runs flag the same columns (age,
score, y). At 30,000,000 rows (520 MB) the lazy profile ran in 12.7 s (2.4M rows/s) with a peak
RSS of 477 MB: memory does not grow with the rows.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

_PRELUDE = """
import json, resource, time
import pandas as pd
start = time.perf_counter()
"""

_EPILOGUE = """
elapsed = time.perf_counter() - start
print("RESULT " + json.dumps({"seconds": elapsed,
      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, **EXTRA}))
"""

_RUNNERS = {
    "raikit lazy profile (DuckDB)": """
from raikit import Dataset
from raikit.data import profile
ds = Dataset(PATH, target="y", sensitive=["sex", "race"], lazy=True)
result = profile(ds, proxies=False, association_sample=0)
EXTRA = {"quantile_error": result.meta["quantile_error"], "loaded": ds._cache is not None}
""",
    "raikit lazy profile + proxies (200k sample)": """
from raikit import Dataset
from raikit.data import profile
ds = Dataset(PATH, target="y", sensitive=["sex", "race"], lazy=True)
result = profile(ds)
EXTRA = {"proxy_rows": result.meta["proxy_rows"], "loaded": ds._cache is not None}
""",
    "pandas read_parquet + describe + groupby": """
df = pd.read_parquet(PATH)
numeric = ["age", "hours", "income", "score", "y"]
described = df.describe(include="all")
stats = ["count", "mean", "std", "min", "max"]
quantiles = [0.05, 0.25, 0.5, 0.75, 0.95]
for keys in (["sex"], ["race"], ["sex", "race"]):
    grouped = df.groupby(keys, observed=True)
    grouped[numeric].agg(stats)
    grouped[numeric].quantile(quantiles)
    for column in ("region", "sex", "race"):
        grouped[column].value_counts()
EXTRA = {}
""",
    "raikit lazy drift (DuckDB, 2 files)": """
from raikit import Dataset
from raikit.data import drift
ref = Dataset(PATH, target="y", sensitive=["sex", "race"], lazy=True)
cur = Dataset(CURRENT, target="y", sensitive=["sex", "race"], lazy=True)
result = drift(reference=ref, current=cur)
EXTRA = {"ks_error_bound": result.meta["ks_error_bound"], "drifted": result.drifted_columns}
""",
    "raikit in-memory drift (read_parquet first)": """
from raikit import Dataset
from raikit.data import drift
ref = Dataset(pd.read_parquet(PATH), target="y", sensitive=["sex", "race"])
cur = Dataset(pd.read_parquet(CURRENT), target="y", sensitive=["sex", "race"])
result = drift(reference=ref, current=cur)
EXTRA = {"drifted": result.drifted_columns}
""",
    "raikit in-memory profile (read_parquet first)": """
from raikit import Dataset
from raikit.data import profile
ds = Dataset(pd.read_parquet(PATH), target="y", sensitive=["sex", "race"])
profile(ds, proxies=False, association_sample=0)
EXTRA = {}
""",
}


def write_parquet(
    path: Path, rows: int, *, chunk: int = 2_000_000, seed: int = 0, age_shift: int = 0
) -> None:
    """A seeded synthetic table, written chunk by chunk."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    races = np.array(["A", "B", "C", "D", "E"])
    regions = np.array([f"region-{i:02d}" for i in range(20)])
    writer = None
    try:
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            sex = rng.random(n) < 0.45
            race = rng.choice(5, size=n, p=[0.6, 0.2, 0.12, 0.06, 0.02])
            age = rng.integers(18, 90, n) + age_shift
            income = np.round(rng.lognormal(10.5, 0.6, n) * (1 + 0.1 * sex), 2)
            income[rng.random(n) < 0.02] = np.nan
            score = 1 / (1 + np.exp(-(0.02 * (age - 45) + 0.3 * sex + rng.normal(0, 1, n))))
            frame = pd.DataFrame(
                {
                    "sex": pd.Categorical.from_codes(sex.astype(int), ["Female", "Male"]),
                    "race": pd.Categorical.from_codes(race, races),
                    "region": pd.Categorical.from_codes(rng.integers(0, 20, n), regions),
                    "age": age,
                    "hours": rng.integers(1, 100, n),
                    "income": income,
                    "score": score,
                    "y": (rng.random(n) < score).astype(np.int64),
                }
            )
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema)
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()


def run(name: str, path: Path, current: Path) -> dict:
    code = _RUNNERS[name].replace("CURRENT", repr(str(current))).replace("PATH", repr(str(path)))
    code = _PRELUDE + code + _EPILOGUE
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if out.returncode != 0 or line is None:
        return {"error": (out.stderr or out.stdout).strip().splitlines()[-1:]}
    return json.loads(line[len("RESULT ") :])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--folder", type=Path, default=Path("/tmp/raikit-scale-data"))
    parser.add_argument("--only", nargs="*", default=None, help="Run only these runners.")
    args = parser.parse_args()
    args.folder.mkdir(parents=True, exist_ok=True)
    path = args.folder / f"synthetic-{args.rows}.parquet"
    current = args.folder / f"synthetic-{args.rows}-current.parquet"
    for target, seed, shift in ((path, 0, 0), (current, 1, 1)):
        if not target.exists():
            start = time.perf_counter()
            write_parquet(target, args.rows, seed=seed, age_shift=shift)
            size = target.stat().st_size / 1e6
            print(f"wrote {target} ({size:,.0f} MB) in {time.perf_counter() - start:.1f} s")
    results = {}
    for name in _RUNNERS:
        if args.only and not any(o in name for o in args.only):
            continue
        results[name] = run(name, path, current)
        print(name, results[name], flush=True)
    peer = results.get("pandas read_parquet + describe + groupby", {})
    print()
    memory_drift = results.get("raikit in-memory drift (read_parquet first)", {})
    print(f"{'':48s} {'seconds':>9s} {'rows/s':>13s} {'peak RSS MB':>12s} {'vs peer':>10s}")
    for name, result in results.items():
        if "error" in result:
            print(f"{name:48s} failed: {result['error']}")
            continue
        # profile runners against pandas; drift runners (2 x rows) against the in-memory drift
        versus = memory_drift if "drift" in name else peer
        rows = 2 * args.rows if "drift" in name else args.rows
        ratio = versus["seconds"] / result["seconds"] if "seconds" in versus else float("nan")
        print(
            f"{name:48s} {result['seconds']:9.1f} {rows / result['seconds']:13,.0f} "
            f"{result['peak_mb']:12,.0f} {ratio:9.2f}x"
        )
    lazy = results.get("raikit lazy profile (DuckDB)", {})
    if "quantile_error" in lazy:
        print(f"\nquantile error bounds (lazy, histogram of 2,048 bins): {lazy['quantile_error']}")
        print(f"rows loaded into pandas by the lazy profile: {'yes' if lazy['loaded'] else 'none'}")
    lazy_drift = results.get("raikit lazy drift (DuckDB, 2 files)", {})
    if "ks_error_bound" in lazy_drift:
        print(f"KS error bounds (lazy drift): {lazy_drift['ks_error_bound']}")
        print(f"drifted (lazy): {lazy_drift['drifted']}; in memory: {memory_drift.get('drifted')}")


if __name__ == "__main__":
    main()
