"""Group metrics on 1,000,000 rows: raikit's engine vs Fairlearn's MetricFrame, side by side.

Run: ``python bench/bench_metrics.py [--rows N] [--fairlearn-boot B]``

Prints, for two sets of sensitive attributes (2 x 5 levels = 10 intersections; one attribute with
200 levels):

* raikit ``group_metrics`` without CIs vs ``MetricFrame`` without CIs (goal: >= 100x faster);
* raikit without CIs vs one raw ``np.bincount`` pass over the same columns (the memory-bandwidth
  floor; goal: within 10x);
* raikit with 1,000-replicate bootstrap CIs vs without (goal: < 2x), and vs ``MetricFrame``'s own
  bootstrap (``n_boot``). MetricFrame's bootstrap re-computes every metric on every resample, so it
  is run with a few replicates and its time per replicate is extrapolated to 1,000 (marked as such).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

METRICS = ["selection_rate", "accuracy", "true_positive_rate", "false_positive_rate", "precision"]


def make_data(n_rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n_rows, dtype=np.int8)
    flip = rng.random(n_rows) < 0.2
    p = np.where(flip, 1 - y, y).astype(np.int8)
    sex = pd.Categorical.from_codes(rng.integers(0, 2, n_rows), ["female", "male"])
    race = pd.Categorical.from_codes(rng.integers(0, 5, n_rows), list("ABCDE"))
    region = pd.Categorical.from_codes(
        rng.integers(0, 200, n_rows), [f"r{i:03d}" for i in range(200)]
    )
    return pd.DataFrame({"y": y, "p": p, "sex": sex, "race": race, "region": region})


def best_of(func, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def fairlearn_metrics():
    from fairlearn.metrics import (
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )
    from sklearn.metrics import accuracy_score, precision_score

    return {
        "selection_rate": selection_rate,
        "accuracy": accuracy_score,
        "true_positive_rate": true_positive_rate,
        "false_positive_rate": false_positive_rate,
        "precision": lambda y, p: precision_score(y, p, zero_division=0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--fairlearn-boot",
        type=int,
        default=3,
        help="MetricFrame bootstrap replicates actually run (then extrapolated)",
    )
    parser.add_argument("--boot", type=int, default=1000)
    args = parser.parse_args()

    from fairlearn.metrics import MetricFrame
    from rich.console import Console
    from rich.table import Table

    from raikit.metrics import group_metrics

    console = Console(width=220)
    data = make_data(args.rows)
    y, p = data["y"].to_numpy(), data["p"].to_numpy()
    console.print(
        f"[bold]bench_metrics[/bold]: {args.rows:,} rows, {len(METRICS)} metrics, "
        f"{args.boot:,} bootstrap replicates"
    )
    table = Table(
        title="raikit group_metrics vs Fairlearn MetricFrame (seconds; ratio = theirs/ours)"
    )
    for column in (
        "sensitive",
        "groups",
        "raw bincount",
        "raikit",
        "raikit /bincount",
        "MetricFrame",
        "speed-up",
        "raikit CI",
        "CI / no-CI",
        "MetricFrame CI",
        "CI speed-up",
    ):
        table.add_column(column, justify="right")
    fl_metrics = fairlearn_metrics()
    for columns in (["sex", "race"], ["region"]):
        sensitive = data[columns]
        n_groups = int(np.prod([data[c].cat.categories.size for c in columns]))
        codes = [data[c].cat.codes.to_numpy() for c in columns]

        def floor(codes=codes, n_groups=n_groups):
            group = codes[0].astype(np.int64)
            for extra, size in zip(codes[1:], [5], strict=False):
                group = group * size + extra
            return np.bincount(group * 4 + 2 * y + p, minlength=n_groups * 4)

        ours = best_of(
            lambda s=sensitive: group_metrics(y, p, sensitive_features=s, metrics=METRICS, ci=None)
        )
        ours_ci = best_of(
            lambda s=sensitive: group_metrics(
                y,
                p,
                sensitive_features=s,
                metrics=METRICS,
                ci=0.95,
                n_boot=args.boot,
                random_state=0,
            )
        )
        raw = best_of(floor, repeat=5)
        theirs = best_of(
            lambda s=sensitive: MetricFrame(
                metrics=fl_metrics, y_true=y, y_pred=p, sensitive_features=s
            ),
            repeat=1,
        )
        start = time.perf_counter()
        MetricFrame(
            metrics=fl_metrics,
            y_true=y,
            y_pred=p,
            sensitive_features=sensitive,
            n_boot=args.fairlearn_boot,
            ci_quantiles=[0.025, 0.975],
            random_state=0,
        )
        boot_total = time.perf_counter() - start
        per_replicate = max(boot_total - theirs, 0.0) / args.fairlearn_boot
        theirs_ci = theirs + per_replicate * args.boot
        table.add_row(
            "+".join(columns),
            str(n_groups),
            f"{raw:.4f}",
            f"{ours:.4f}",
            f"{ours / raw:.1f}x",
            f"{theirs:.2f}",
            f"{theirs / ours:.0f}x",
            f"{ours_ci:.4f}",
            f"{ours_ci / ours:.2f}x",
            f"~{theirs_ci:,.0f} (extrap.)",
            f"~{theirs_ci / ours_ci:,.0f}x",
        )
        console.print(f"  done: {'+'.join(columns)}")
    console.print(table)
    console.print("Goals: speed-up >= 100x; raikit within 10x of raw bincount; CI / no-CI < 2x.")


if __name__ == "__main__":
    main()
