"""Weights on the lazy backends: group_metrics_of on a DuckDB (or Spark) Dataset with a weight
role gives the numpy engine's weighted values exactly and, for the same random_state, the same
bootstrap intervals (the same Gamma draws from the same per-cell sums of w and w^2). Weighted score
metrics: tests/metrics/test_duckdb_weighted_scores.py."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from raikit import DataError, Dataset
from raikit.metrics import group_metrics_of

pytest.importorskip("duckdb")

pytestmark = [
    pytest.mark.filterwarnings("ignore:PySpark does not yet:FutureWarning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]
ROLES = dict(target="y", prediction="p", sensitive=["sex", "race"], weight="w")
METRICS = ["count", "selection_rate", "true_positive_rate", "false_positive_rate", "accuracy"]


def _rows(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    sex = rng.choice(["f", "m"], n)
    race = rng.choice(["a", "b", "c"], n, p=[0.6, 0.3, 0.1])
    y = rng.integers(0, 2, n)
    p = np.where(rng.random(n) < 0.75, y, 1 - y)
    w = rng.gamma(2.0, 0.7, n)  # not integers: the effective rows differ from the rows
    return pd.DataFrame({"sex": sex, "race": race, "y": y, "p": p, "w": w})


def _compare(lazy, eager):
    a, b = lazy.by_group, eager.by_group
    assert a.index.equals(b.index)
    for metric in METRICS:
        np.testing.assert_allclose(a[metric], b[metric], rtol=1e-9)
    x, y = lazy.table, eager.table
    assert x[["attribute", "group", "metric"]].equals(y[["attribute", "group", "metric"]])
    for column in ("value", "lower", "upper"):
        np.testing.assert_allclose(x[column], y[column], rtol=1e-6)
    assert x["upper"].gt(x["lower"]).any()


def test_duckdb_weighted_equals_numpy(tmp_path):
    frame = _rows()
    frame.to_parquet(tmp_path / "d.parquet")
    kwargs = dict(metrics=METRICS, n_boot=300, random_state=3)
    lazy = group_metrics_of(Dataset(str(tmp_path / "d.parquet"), lazy=True, **ROLES), **kwargs)
    eager = group_metrics_of(Dataset(frame, **ROLES), **kwargs)
    _compare(lazy, eager)
    # the weights matter: the weighted count is the sum of the weights, not the rows
    sums = frame.groupby("sex")["w"].sum()
    got = lazy.by_group["count"]
    assert got.loc[[("sex", "f")]].iloc[0] == pytest.approx(sums["f"], rel=1e-12)
    unweighted = group_metrics_of(
        Dataset(str(tmp_path / "d.parquet"), lazy=True, **{**ROLES, "weight": None}), **kwargs
    )
    assert not np.allclose(unweighted.by_group["selection_rate"], lazy.by_group["selection_rate"])


def test_bad_weights_raise(tmp_path):
    frame = _rows(n=200)
    frame.loc[5, "w"] = -1.0
    frame.to_parquet(tmp_path / "bad.parquet")
    with pytest.raises(DataError, match="1 missing, infinite or negative"):
        group_metrics_of(Dataset(str(tmp_path / "bad.parquet"), lazy=True, **ROLES), ci=None)
    frame["w"] = 0.0
    frame.to_parquet(tmp_path / "zero.parquet")
    with pytest.raises(DataError, match="sums to 0"):
        group_metrics_of(Dataset(str(tmp_path / "zero.parquet"), lazy=True, **ROLES), ci=None)
    frame["w"], frame["s"] = 1.0, 0.5  # weighted scores are computed now (no ParameterError)
    frame.to_parquet(tmp_path / "score.parquet")
    data = Dataset(str(tmp_path / "score.parquet"), lazy=True, score="s", **ROLES)
    assert group_metrics_of(data, ci=None).overall["brier_score"] == pytest.approx(
        ((0.5 - frame["y"]) ** 2).mean(), rel=1e-12
    )


def test_spark_weighted_equals_numpy(spark):
    frame = _rows(n=600, seed=1)
    kwargs = dict(metrics=METRICS, n_boot=200, random_state=5)
    lazy = group_metrics_of(Dataset(spark.createDataFrame(frame), lazy=True, **ROLES), **kwargs)
    _compare(lazy, group_metrics_of(Dataset(frame, **ROLES), **kwargs))
