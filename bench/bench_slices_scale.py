"""Slice finding at scale: SliceLine at depth 3 over 50 columns of a Parquet file, on DuckDB.

Run: ``python bench/bench_slices_scale.py [--rows 10000000] [--peer-rows 1000000]
[--method sliceline] [--folder /tmp/raikit-slices] [--keep]``

Writes a seeded synthetic table in row groups (never the whole table in memory): 25 categorical
columns (2 to 8 levels) and 25 numeric ones, a binary target and a prediction that is wrong on 8 %
of the rows, and on 50 % inside a planted slice of three conditions (``c0 = v0 & c1 = v0 & x0 >=
0.9``, 1.7 % of the rows; ``x0`` is uniform, so its top decile bin is the third condition).
Then, each in its own process so that peak memory is its own:

* ``find_slices`` on the lazy Dataset over the file (``--rows`` rows; the item statistics are one
  ``GROUP BY GROUPING SETS`` query per level in DuckDB);
* the peer: the in-memory ``find_slices`` on the first ``--peer-rows`` rows loaded with pandas.

Prints rows, seconds, rows per second, peak RSS (``resource.getrusage`` in each process), the ratio
of rows per second, and whether the planted slice was found (its three conditions are the top
slice). The lattice method evaluates every candidate of every level (all C(50, 3) feature sets at
depth 3 when nothing is significant earlier), in memory as in SQL; SliceLine's score bounds prune
the lattice and are the method for tables this wide. Files are deleted afterwards (``--keep``
keeps them).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

N_CATEGORICAL = 25
N_NUMERIC = 25
CHUNK = 500_000
PLANTED = ["c0 = v0", "c1 = v0", "x0 >= 0.9"]

_RUN = """
import json, resource, sys, time
import pandas as pd
from raikit import Dataset
from raikit.evaluate import find_slices

path, rows, method, lazy = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4] == "lazy"
roles = dict(target="y", prediction="p", sensitive=["c0"])
start = time.perf_counter()
if lazy:
    data = Dataset(path, lazy=True, **roles)
else:
    import pyarrow.parquet as pq
    frame = pq.ParquetFile(path).iter_batches(batch_size=rows)
    data = Dataset(next(frame).to_pandas(), **roles)
loaded = time.perf_counter() - start
result = find_slices(None, data, loss="zero_one", method=method, max_features=3, k=5)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"rows": data.n_rows, "seconds": seconds, "load_seconds": loaded,
                  "peak_mb": peak, "slices": result.slices["slice"].tolist(),
                  "levels": result.levels.to_dict("list")}))
"""


def write_table(path: Path, rows: int, seed: int = 0) -> None:
    """The synthetic table, ``CHUNK`` rows at a time (one row group each)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    levels = [2 + i % 7 for i in range(N_CATEGORICAL)]
    writer = None
    for start in range(0, rows, CHUNK):  # one row group per chunk: bounded memory
        n = min(CHUNK, rows - start)
        rng = np.random.default_rng([seed, start])
        columns = {}
        for i, k in enumerate(levels):
            columns[f"c{i}"] = pa.array(
                np.array([f"v{j}" for j in range(k)])[rng.integers(0, k, n)]
            )
        for i in range(N_NUMERIC):
            columns[f"x{i}"] = rng.random(n) if i % 2 == 0 else rng.normal(size=n)
        planted = (
            (columns["c0"].to_numpy(zero_copy_only=False) == "v0")
            & (columns["c1"].to_numpy(zero_copy_only=False) == "v0")
            & (columns["x0"] >= 0.9)
        )
        y = rng.integers(0, 2, n)
        wrong = rng.random(n) < np.where(planted, 0.5, 0.08)
        columns["y"] = y
        columns["p"] = np.where(wrong, 1 - y, y)
        table = pa.table(columns)
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table, row_group_size=CHUNK)
    writer.close()


def run(path: Path, rows: int, method: str, mode: str) -> dict:
    """One find_slices in its own process (its own peak RSS)."""
    done = subprocess.run(
        [sys.executable, "-c", _RUN, str(path), str(rows), method, mode],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"{mode} run failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def found(slices: list[str]) -> bool:
    """Whether the top slice is the planted one: its three conditions, in any order, the last
    as the top decile bin of ``x0`` (``x0 >= 0.9`` up to the sample quantile's error)."""
    if not slices:
        return False
    parts = set(slices[0].split(" & "))
    cut = [p for p in parts if p.startswith("x0 >= ")]
    near = len(cut) == 1 and abs(float(cut[0].removeprefix("x0 >= ")) - 0.9) < 0.01
    return len(parts) == 3 and {"c0 = v0", "c1 = v0"} <= parts and near


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--peer-rows", type=int, default=1_000_000)
    parser.add_argument("--method", default="sliceline", choices=["sliceline", "lattice"])
    parser.add_argument("--folder", default="/tmp/raikit-slices")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    folder = Path(args.folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"slices_{args.rows}.parquet"
    try:
        start = time.perf_counter()
        if not path.exists():
            write_table(path, args.rows)
        size = path.stat().st_size / 1e9
        print(
            f"table: {args.rows:,} rows x {N_CATEGORICAL + N_NUMERIC} features "
            f"({N_CATEGORICAL} categorical, {N_NUMERIC} numeric), {size:.2f} GB Parquet, "
            f"written in {time.perf_counter() - start:.1f} s; planted: {' & '.join(PLANTED)}"
        )
        lazy = run(path, args.rows, args.method, "lazy")
        peer = run(path, min(args.peer_rows, args.rows), args.method, "memory")
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"find_slices(method={args.method!r}, max_features=3, loss='zero_one', k=5)")
    header = f"{'':28}{'rows':>12}{'seconds':>10}{'rows/s':>12}{'peak RSS MB':>13}  planted found"
    print(header)
    for name, r in (("lazy (DuckDB over Parquet)", lazy), ("in memory (pandas)", peer)):
        rate = r["rows"] / r["seconds"]
        print(
            f"{name:28}{r['rows']:>12,}{r['seconds']:>10.1f}{rate:>12,.0f}{r['peak_mb']:>13,.0f}"
            f"  {found(r['slices'])}"
        )
    ratio = (lazy["rows"] / lazy["seconds"]) / (peer["rows"] / peer["seconds"])
    print(f"rows/s ratio, lazy / in memory: {ratio:.2f}")
    print(f"in-memory load (pandas): {peer['load_seconds']:.1f} s of its {peer['seconds']:.1f} s")
    print(f"lazy levels: {lazy['levels']}")
    print(f"lazy top slices: {lazy['slices'][:3]}")


if __name__ == "__main__":
    main()
