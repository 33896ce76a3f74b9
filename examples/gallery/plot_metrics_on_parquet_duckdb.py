"""
Group metrics on Parquet files with DuckDB
==========================================

A :class:`raikit.Dataset` over a glob of Parquet files is *lazy*: its rows stay in the files.
:func:`raikit.metrics.group_metrics_of` then reduces them where they live, with one DuckDB
``GROUP BY`` to a small table of sufficient statistics (confusion counts and score histograms per
group), and derives every metric and interval from that table: memory grows with the number of
groups, not of rows. The same call runs on Apache Spark for a Spark DataFrame. See
:doc:`/scale` for what each backend computes and the error bound of the binned ROC AUC.

The files here hold two million scored rows, written by the example itself (so nothing is
downloaded); the same code reads a folder of files larger than memory.
"""

# %%
# Write a folder of Parquet files
# -------------------------------
# Scores of a model for two sensitive attributes, in four files of 500,000 rows. The model is a
# little less accurate for group ``B`` of ``region``.
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from raikit import Dataset
from raikit.metrics import group_metrics_of

pd.set_option("display.width", 140)
pd.set_option("display.max_columns", 12)

folder = Path(tempfile.mkdtemp())
rng = np.random.default_rng(0)
for part in range(4):
    n = 500_000
    sex = rng.choice(["F", "M"], n)
    region = rng.choice(["A", "B", "C"], n, p=[0.5, 0.3, 0.2])
    y = rng.binomial(1, 0.3, n)
    noise = np.where(region == "B", 1.3, 1.0)
    logit = 2.2 * (2 * y - 1) + rng.normal(0, noise * 1.6, n)
    score = 1 / (1 + np.exp(-logit))
    frame = pd.DataFrame(
        {"sex": sex, "region": region, "y": y, "score": score, "pred": (score >= 0.5).astype(int)}
    )
    frame.to_parquet(folder / f"part-{part}.parquet", index=False)
print(sorted(p.name for p in folder.glob("*.parquet")))

# %%
# A lazy Dataset and its metrics
# ------------------------------
# ``backend="auto"`` picks DuckDB for a Dataset over files. The intervals come from a bootstrap
# of the statistics, so they cost groups times replicates, not rows times replicates.
data = Dataset(
    str(folder / "*.parquet"),
    target="y",
    prediction="pred",
    score="score",
    sensitive=["sex", "region"],
)
started = time.perf_counter()
result = group_metrics_of(
    data,
    metrics=["count", "accuracy", "true_positive_rate", "false_positive_rate", "roc_auc"],
    n_boot=200,
    random_state=0,
)
print(f"backend {result.meta['backend']}, {time.perf_counter() - started:.1f} s")
print(result.by_group.round(4))

# %%
# The largest gaps between groups, with simultaneous intervals: region ``B`` is where the
# model is worse; the sexes do not differ.
gaps = result.difference(bounds=True)
print(gaps[gaps["metric"] != "count"].round(4).to_string(index=False))

# %%
# The binned ROC AUC differs from the exact one by at most this bound, per slice:
print({k: f"{v:.1e}" for k, v in list(result.meta["roc_auc_error_bound"].items())[:4]})
