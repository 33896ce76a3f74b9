"""
Group metrics on Apache Spark
=============================

A :class:`raikit.Dataset` over a Spark DataFrame is reduced where its rows live: one
``groupBy().agg()`` turns the rows into a small table of sufficient statistics (confusion counts
per intersection group), and raikit derives every metric and interval from that table in its own
code, the same code as for numpy and DuckDB. So the numbers on a cluster are the numbers on a
laptop: the same counts, the same metrics and, for the same ``random_state``, the same intervals.

This example starts Spark in local mode on two cores (Java 17+ and ``pip install "raikit[scale]"``)
and uses ProPublica's COMPAS table. On a cluster, pass your own ``SparkSession``'s DataFrame (for
instance ``spark.read.parquet("s3://bucket/scores/")``) instead: nothing else changes. See
:doc:`/scale` for what each backend computes.
"""

# %%
# A local Spark session and a Spark DataFrame
# -------------------------------------------
# :func:`raikit.metrics.local_session` starts (or reuses) a local session with its web UI off.
import time
import warnings

import numpy as np
import pandas as pd

from raikit import Dataset
from raikit.datasets import load_compas
from raikit.metrics import group_metrics_of, local_session

pd.set_option("display.width", 140)
pd.set_option("display.max_columns", 12)

compas = load_compas()
frame = compas.frame[["race", "sex", "two_year_recid", "decile_score"]].copy()
frame["high_risk"] = (frame["decile_score"] >= 5).astype(int)  # ProPublica's "medium or high"
frame = frame[frame["race"].isin(["African-American", "Caucasian"])]
frame[["race", "sex"]] = frame[["race", "sex"]].astype(str)  # drop the four other races' labels

# pyspark 4 warns that it does not support pandas 3 when it converts a frame; raikit hands it
# plain dtypes only.
warnings.filterwarnings("ignore", "PySpark does not yet", FutureWarning)
spark = local_session("local[2]")
rows = spark.createDataFrame(frame)
print(type(rows).__module__, rows.count(), "rows")

# %%
# The same Dataset on Spark and in memory
# ---------------------------------------
# ``backend="auto"`` picks Spark for a Dataset over a Spark DataFrame.
metrics = ["count", "selection_rate", "false_positive_rate", "false_negative_rate"]
roles = {"target": "two_year_recid", "prediction": "high_risk", "sensitive": ["race", "sex"]}

started = time.perf_counter()
on_spark = group_metrics_of(Dataset(rows, **roles), metrics=metrics, n_boot=200, random_state=0)
print(f"backend {on_spark.meta['backend']}, {time.perf_counter() - started:.1f} s")
print(on_spark.by_group.round(3))

in_memory = group_metrics_of(Dataset(frame, **roles), metrics=metrics, n_boot=200, random_state=0)

# %%
# The two agree: equal counts and metrics, and equal intervals for the same seed.
same = np.allclose(on_spark.by_group.to_numpy(), in_memory.by_group.to_numpy(), atol=1e-12)
same_ci = np.allclose(
    on_spark.by_group_upper.to_numpy(), in_memory.by_group_upper.to_numpy(), equal_nan=True
)
print("same metrics:", same, "| same intervals:", same_ci)

# %%
# The disparities, with simultaneous intervals: Black defendants who did not reoffend were
# labelled high risk about twice as often as white defendants who did not.
gaps = on_spark.difference(bounds=True)
print(gaps[gaps["metric"] != "count"].round(3).to_string(index=False))
spark.stop()
