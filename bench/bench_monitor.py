"""Monitor ingestion throughput on UCI Adult rows (replicated to 1,000,000 with model predictions).

Run: ``python bench/bench_monitor.py [--rows N] [--window W] [--batch B] [--ids]``

Prints rows/s of ``Monitor.ingest`` with drift statistics overall and per sensitive group (sex,
race; 12 features + prediction + score, bins fixed on the reference, windows closed and stored in a
ledger) — goal >= 200,000 rows/s — and, side by side on the same windows, a pandas + scipy
baseline (``pd.cut``/``value_counts`` per column and ``scipy.stats.chi2_contingency``, whole window
only: no groups, no ledger) and raikit's full-sample ``raikit.data.drift`` (KS tests on raw values)
run on one window. With ``--ids`` the rows carry ids (each batch also checks and stores its ids,
what makes re-runs idempotent), and the same batches are ingested a second time (all skipped).
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import pandas as pd
from scipy.stats import chi2_contingency
from sklearn.ensemble import HistGradientBoostingClassifier

from raikit.data import drift
from raikit.datasets import load_adult
from raikit.ledger import Ledger
from raikit.monitor import Monitor


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--window", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=50_000)
    parser.add_argument("--ids", action="store_true", help="rows carry ids; re-run is timed too")
    args = parser.parse_args()
    train, test = load_adult(split="train"), load_adult(split="test")
    model = HistGradientBoostingClassifier(
        categorical_features="from_dtype", max_iter=60, random_state=0
    ).fit(train.X, train.y)
    ref = train.with_predictions(model)
    scored = test.with_predictions(model).frame
    reps = int(np.ceil(args.rows / len(scored)))
    prod = pd.concat([scored] * reps, ignore_index=True).iloc[: args.rows]
    prod["age"] = prod["age"] + np.random.default_rng(0).integers(0, 3, len(prod))
    prod["row_id"] = np.arange(len(prod))
    id_column = "row_id" if args.ids else None
    monitor = Monitor(
        ref, ledger=Ledger(tempfile.mkdtemp()), windows=args.window, id_column=id_column
    )
    t0 = time.perf_counter()
    n_windows = 0
    for start in range(0, len(prod), args.batch):
        n_windows += len(monitor.ingest(prod.iloc[start : start + args.batch]))
    elapsed = time.perf_counter() - t0
    print(f"rows={len(prod):,} windows={n_windows} columns={len(monitor.binners)}")
    print(
        f"raikit Monitor.ingest: {elapsed:.2f} s  -> {len(prod) / elapsed:,.0f} rows/s (goal 200,000)"
    )
    if args.ids:
        t0 = time.perf_counter()
        for start in range(0, len(prod), args.batch):
            monitor.ingest(prod.iloc[start : start + args.batch])
        again = time.perf_counter() - t0
        print(
            f"same batches again (all {monitor.n_skipped:,} rows skipped): {again:.2f} s -> "
            f"{len(prod) / again:,.0f} rows/s"
        )

    # Baseline: per window, bin every column with pandas and test with scipy.
    columns = [b.name for b in monitor.binners]
    t0 = time.perf_counter()
    for start in range(0, len(prod), args.window):
        window = prod.iloc[start : start + args.window]
        for column, binner in zip(columns, monitor.binners, strict=True):
            if binner.kind == "numeric":
                edges = np.concatenate([[-np.inf], binner.edges, [np.inf]])
                ref_c = pd.cut(ref.frame[column], edges, right=False).value_counts(sort=False)
                cur_c = pd.cut(window[column], edges, right=False).value_counts(sort=False)
            else:
                ref_c = ref.frame[column].astype(object).value_counts()
                cur_c = (
                    window[column].astype(object).value_counts().reindex(ref_c.index, fill_value=0)
                )
            table = np.vstack([ref_c.to_numpy(), cur_c.to_numpy()])
            table = table[:, table.sum(axis=0) > 0]
            chi2_contingency(table, correction=False)
    base = time.perf_counter() - t0
    print(f"pandas+scipy baseline: {base:.2f} s  -> {len(prod) / base:,.0f} rows/s")
    print(f"ratio baseline / raikit: {base / elapsed:.1f}x")

    window = test.replace(frame=prod.iloc[: args.window].reset_index(drop=True))
    t0 = time.perf_counter()
    drift(reference=train, current=window)
    full = time.perf_counter() - t0
    print(
        f"raikit.data.drift (raw KS, one window of {args.window:,}): {full:.2f} s -> "
        f"{args.window / full:,.0f} rows/s"
    )


if __name__ == "__main__":
    main()
