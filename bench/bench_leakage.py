"""``leakage`` and ``scan_pii`` at a million training and a million test rows, in memory and lazy.

Run: ``python bench/bench_leakage.py [--rows N] [--workdir DIR]``

Resamples UCI Adult (bundled, offline) to ``--rows`` training and ``--rows`` test rows with
replacement, as ``bench/bench_audit_report.py`` does, and times, as the audit calls them
(``max_rows=10_000``, 200 bootstrap replicates):

1. ``leakage(train=, test=)`` on the in-memory Datasets;
2. the same on lazy Datasets over Parquet files (DuckDB): exact duplicates and conflicting labels
   from every row where the rows live, the rest on stratified samples;
3. ``scan_pii`` of the training Dataset, in memory and lazy.

The peer is what a user would write for one of leakage's checks: a pandas ``merge`` of the test
rows on the distinct training rows (exact duplicates only); the ratio of the whole leakage check
to it is printed.

The lazy runs set ``raikit.dataset.MATERIALIZE_LIMIT`` to 100,000, so any full load of the
tables would raise: they are checked without loading them. The exact counts of (1) and (2) are
compared and must be equal.

Times are CPU seconds of this process (``time.process_time``: the machine is shared, and wall
time there measures the neighbours) with the wall seconds beside them. DuckDB's worker threads
are CPU time of this process too.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def _timed(label: str, call):
    """``(result, cpu seconds)`` of ``call()``, printed with the wall seconds."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = call()
    spent = time.process_time() - cpu
    print(f"{label:<44} cpu {spent:7.2f} s   wall {time.perf_counter() - wall:7.2f} s")
    return out, spent


def _pandas_exact(train, test, columns) -> int:
    """The peer: test rows that are exact copies of a training row, by a pandas merge."""
    keys = train.frame[columns].drop_duplicates()
    return len(test.frame[columns].merge(keys, on=columns, how="inner"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()

    import raikit.dataset
    from raikit import Dataset
    from raikit.data import leakage, scan_pii
    from raikit.datasets import load_adult

    ds = load_adult()
    sides = []
    for seed in (0, 1):
        rng = np.random.default_rng(seed)
        rows = rng.integers(0, ds.n_rows, size=args.rows)
        sides.append(ds.replace(ds.frame.iloc[rows].reset_index(drop=True)))
    train, test = sides
    settings = {"max_rows": 10_000, "n_boot": 200, "random_state": 0}
    print(f"{args.rows:,} training + {args.rows:,} test rows (Adult resampled)")
    columns = [*ds.feature_names, ds.target]
    _, peer = _timed(
        "peer: pandas merge, exact duplicates only", lambda: _pandas_exact(train, test, columns)
    )
    in_memory, ours = _timed(
        "leakage, in memory", lambda: leakage(train=train, test=test, **settings)
    )
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="raikit-bench-leakage-"))
    workdir.mkdir(parents=True, exist_ok=True)
    roles = {
        "target": ds.target,
        "sensitive": ds.sensitive_names,
        "features": ds.feature_names,
        "lazy": True,
    }
    lazy = []
    for side, name in ((train, "train"), (test, "test")):
        path = workdir / f"{name}.parquet"
        side.frame.to_parquet(path, index=False)
        lazy.append(Dataset(str(path), name=name, **roles))
    raikit.dataset.MATERIALIZE_LIMIT = 100_000  # a full load of either table would raise
    on_files, lazy_cpu = _timed(
        "leakage, lazy (DuckDB over Parquet)",
        lambda: leakage(train=lazy[0], test=lazy[1], **settings),
    )
    exact = [r.duplicates[r.duplicates["kind"] == "exact"] for r in (in_memory, on_files)]
    pd.testing.assert_frame_equal(exact[0], exact[1])
    pd.testing.assert_frame_equal(in_memory.conflicts, on_files.conflicts)
    print("exact duplicates and conflicts: equal in memory and lazy")
    print(
        f"ratio leakage (every check) / pandas exact-duplicate merge: in memory "
        f"{ours / peer:.2f}, lazy {lazy_cpu / peer:.2f}"
    )
    print(on_files.summary)
    _timed("scan_pii (training rows), in memory", lambda: scan_pii(train, random_state=0))
    _timed("scan_pii (training rows), lazy", lambda: scan_pii(lazy[0], random_state=0))


if __name__ == "__main__":
    main()
