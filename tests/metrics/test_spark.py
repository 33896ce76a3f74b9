"""The spark backend (local mode) returns the numpy and duckdb backends' numbers: counts exact,
metrics to 1e-12 and the same bootstrap intervals for the same random_state.

One local SparkSession serves the whole module (the JVM takes ~10 s to start), so the tests are few
and each checks a lot.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from raikit import ColumnError, DataError, Dataset, ParameterError, Result
from raikit._grouping import SliceKey
from raikit.metrics import group_metrics, group_metrics_of

pytest.importorskip("pyspark")
pytest.importorskip("duckdb")


def on_files(source, *, target, prediction, sensitive, score=None, missing_group=None, **kwargs):
    """group_metrics_of on a lazy Dataset over ``source`` (files, a glob or a Spark DataFrame)."""
    data = Dataset(
        source,
        target=target,
        prediction=prediction,
        sensitive=sensitive,
        score=score,
        missing_group=missing_group,
        lazy=True,
    )
    return group_metrics_of(data, **kwargs)


# pyspark's own notices about pandas 3 (createDataFrame); not about raikit.
pytestmark = [
    pytest.mark.filterwarnings("ignore:PySpark does not yet:FutureWarning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]

SCORES = ["roc_auc", "brier_score", "log_loss", "expected_calibration_error"]
EXACT = ["brier_score", "log_loss", "expected_calibration_error"]


def _close(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=0, atol=1e-12)


def _three_backends(spark, frame, path, *, target, prediction, sensitive, score, ci_kwargs):
    """Results of numpy (in memory), duckdb (the Parquet file) and spark (a Spark DataFrame)."""
    columns = {"target": target, "prediction": prediction, "sensitive": sensitive}
    frame.to_parquet(path, index=False)
    spark_frame = spark.createDataFrame(frame)
    out = {}
    for with_score in (False, True):
        extra = {"score": score} if with_score else {}
        numpy = group_metrics(
            frame[target],
            frame[prediction],
            sensitive_features=frame[sensitive],
            score=frame[score] if with_score else None,
            **ci_kwargs,
        )
        duck = on_files(str(path), **columns, **extra, **ci_kwargs)
        on_spark = on_files(spark_frame, **columns, **extra, **ci_kwargs)
        out[with_score] = numpy, duck, on_spark
    return out


def _check(results, frame, *, target, score, sensitive):
    # Count metrics: identical values and intervals on all three backends.
    numpy, duck, on_spark = results[False]
    assert (duck.meta["backend"], on_spark.meta["backend"]) == ("duckdb", "spark")
    np.testing.assert_array_equal(
        on_spark.by_group["count"].to_numpy(), numpy.by_group["count"].to_numpy()
    )
    _close(on_spark.table, numpy.table)
    _close(duck.table, numpy.table)
    _close(on_spark.disparities, numpy.disparities)
    assert on_spark.table["lower"].notna().sum() > 0
    # With scores: duckdb and spark agree on everything, intervals included ...
    numpy, duck, on_spark = results[True]
    _close(on_spark.table, duck.table)
    _close(on_spark.disparities, duck.disparities)
    # ... and with the numpy engine on the sum-based score metrics; binned AUC within its bound.
    _close(on_spark.by_group[EXACT], numpy.by_group[EXACT])
    bounds = on_spark.meta["roc_auc_error_bound"]
    gap = (on_spark.by_group["roc_auc"] - numpy.by_group["roc_auc"]).abs()
    for (attribute, group), value in gap.dropna().items():
        assert (
            value
            <= bounds[str(SliceKey(zip(attribute.split(" & "), group.split(" & "), strict=True)))]
            + 1e-15
        )
    exact = roc_auc_score(frame[target], frame[score])
    assert abs(on_spark.overall["roc_auc"] - exact) <= bounds["overall"] + 1e-15


@pytest.mark.slow
def test_three_backends_agree_on_adult(spark, adult_scored, tmp_path):
    frame = adult_scored.frame[["sex", "race", "income", "prediction", "score"]].copy()
    for column in ("sex", "race"):
        frame[column] = frame[column].astype(str)
    kwargs = {"target": "income", "score": "score", "sensitive": ["sex", "race"]}
    results = _three_backends(
        spark,
        frame,
        tmp_path / "adult.parquet",
        prediction="prediction",
        ci_kwargs={"ci": 0.95, "n_boot": 100, "random_state": 11},
        **kwargs,
    )
    _check(results, frame, **kwargs)


def test_three_backends_agree_on_compas(spark, tmp_path):
    from raikit.datasets import load_compas

    source = load_compas().frame
    frame = pd.DataFrame(
        {
            "race": source["race"].astype(str),
            "sex": source["sex"].astype(str),
            "recid": source["two_year_recid"],
            "high_risk": (source["decile_score"] >= 5).astype(int),
            "decile": source["decile_score"] / 10,
        }
    )
    kwargs = {"target": "recid", "score": "decile", "sensitive": ["race", "sex"]}
    results = _three_backends(
        spark,
        frame,
        tmp_path / "compas.parquet",
        prediction="high_risk",
        ci_kwargs={"ci": 0.9, "n_boot": 100, "random_state": 5},
        **kwargs,
    )
    _check(results, frame, **kwargs)
    # Decile scores fall in distinct bins, so the binned AUC is the exact one.
    numpy, _, on_spark = results[True]
    _close(on_spark.by_group[["roc_auc"]], numpy.by_group[["roc_auc"]])
    # A Dataset over a Spark DataFrame is reduced by Spark too.
    from raikit import Dataset

    lazy = Dataset(
        spark.createDataFrame(frame),
        target="recid",
        sensitive=["race", "sex"],
        prediction="high_risk",
        score="decile",
    )
    via_dataset = group_metrics_of(lazy, ci=0.9, n_boot=100, random_state=5)
    assert via_dataset.meta["backend"] == "spark"
    _close(via_dataset.table, on_spark.table)


@pytest.mark.slow
def test_two_hundred_groups_from_a_path_glob(spark, tmp_path):
    rng = np.random.default_rng(2024)
    n = 40_000
    region = rng.integers(0, 40, n)
    y = (rng.random(n) < 0.2 + 0.015 * (region % 20)).astype(np.int64)
    score = np.clip(0.35 * y + 0.65 * rng.random(n), 0, 1)
    frame = pd.DataFrame(
        {
            "region": np.char.add("r", region.astype(str)),
            "tier": np.array(list("ABCDE"))[rng.integers(0, 5, n)],
            "y": y,
            "p": (score > 0.5).astype(np.int64),
            "s": score,
        }
    )
    for i, rows in enumerate(np.array_split(np.arange(n), 4)):
        frame.iloc[rows].to_parquet(tmp_path / f"part-{i}.parquet", index=False)
    glob = str(tmp_path / "part-*.parquet")
    columns = {"target": "y", "prediction": "p", "sensitive": ["region", "tier"], "score": "s"}
    kwargs = {"ci": 0.95, "n_boot": 50, "random_state": 1}
    seen = []
    on_spark = on_files(
        glob,
        backend="spark",
        progress=lambda done, total: seen.append(done / total),
        **columns,
        **kwargs,
    )
    duck = on_files(glob, backend="duckdb", **columns, **kwargs)
    assert on_spark.meta["n_groups"] == 200 and on_spark.meta["n_rows"] == n
    _close(on_spark.table, duck.table)
    assert seen and seen[-1] == 1.0 and seen == sorted(seen)
    numpy = group_metrics(
        frame["y"],
        frame["p"],
        sensitive_features=frame[["region", "tier"]],
        metrics=["accuracy", "tpr"],
        ci=None,
    )
    fewer = on_files(
        glob, backend="spark", **{**columns, "score": None}, metrics=["accuracy", "tpr"], ci=None
    )
    _close(fewer.table, numpy.table)
    # A column missing from one file of the glob is named, not read as nulls.
    frame.iloc[:10].drop(columns="tier").to_parquet(tmp_path / "part-9.parquet", index=False)
    with pytest.raises(ColumnError, match=r"part-9.parquet' lacks \['tier'\]"):
        on_files(glob, backend="spark", **columns)


def test_spark_frames_with_wrong_types_or_columns(spark):
    rows = pd.DataFrame(
        {"y": ["yes", "no", "yes"], "p": [1, 0, 0], "a": ["u", "v", "u"], "s": ["0.1"] * 3}
    )
    frame = spark.createDataFrame(rows)
    with pytest.raises(DataError, match="cast both columns to the same type"):
        on_files(frame, target="y", prediction="p", sensitive=["a"])
    with pytest.raises(ColumnError, match="Unknown sensitive column 'race'"):
        on_files(frame, target="p", prediction="p", sensitive=["race"])
    with pytest.raises(DataError, match="score column 's' has Spark type string"):
        on_files(frame, target="p", prediction="p", sensitive=["a"], score="s")
    nested = spark.sql("SELECT 1 AS y, 0 AS p, array('u', 'v') AS a")
    with pytest.raises(DataError, match="Sensitive attribute 'a' holds values that are not labels"):
        on_files(nested, target="y", prediction="p", sensitive=["a"])
    with pytest.raises(ParameterError, match="reduced by Spark"):
        on_files(frame, target="p", prediction="p", sensitive=["a"], backend="numpy")
    with pytest.raises(ColumnError, match="group_metrics_of\\(\\): data has no target column"):
        on_files(frame, target=None, prediction=None, sensitive=["a"])


def test_cli_spark_backend_with_a_local_master(spark, adult_scored, tmp_path):
    from typer.testing import CliRunner

    from raikit.cli import app

    frame = adult_scored.frame[["sex", "income", "prediction", "score"]].copy()
    frame["sex"] = frame["sex"].astype(str)
    frame.to_parquet(tmp_path / "scored.parquet", index=False)
    out = tmp_path / "m.json"
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "metrics",
            str(tmp_path / "*.parquet"),
            "--target",
            "income",
            "--prediction",
            "prediction",
            "--sensitive",
            "sex",
            "--score",
            "score",
            "--backend",
            "spark",
            "--spark-master",
            "local[1]",
            "--ci",
            "0.95",
            "--n-boot",
            "50",
            "--json",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    saved = Result.from_json(str(out))
    assert saved.meta["backend"] == "spark" and saved.meta["n_rows"] == len(frame)
    direct = on_files(
        str(tmp_path / "scored.parquet"),
        target="income",
        prediction="prediction",
        sensitive=["sex"],
        score="score",
        ci=0.95,
        n_boot=50,
        random_state=0,
    )
    _close(saved.table, direct.table)
    assert "Scanning with spark" in result.output


def test_weighted_scores_on_spark_are_duckdbs(spark, tmp_path):
    """A weight and a score role on a Spark DataFrame: the same weighted histograms as DuckDB
    (values and intervals for the same random_state), scikit-learn's weighted ROC AUC within the
    bound, and a bad weight refused by name, whatever the (hostile) column name."""
    rng = np.random.default_rng(8)
    n, weight = 600, "w`; DROP TABLE t; -- \"q\" 'x'"
    y = rng.integers(0, 2, n)
    frame = pd.DataFrame(
        {
            "sex": rng.choice(["f", "m"], n),
            "y": y,
            "s": np.clip(0.3 * y + 0.7 * rng.random(n), 0, 1),
            weight: rng.gamma(2.0, 0.7, n),
        }
    )
    frame["p"] = (frame["s"] >= 0.5).astype(int)
    frame.to_parquet(tmp_path / "w.parquet", index=False)
    roles = dict(target="y", prediction="p", sensitive=["sex"], score="s", weight=weight)
    kwargs = dict(metrics=["selection_rate", *SCORES], ci=0.9, n_boot=100, random_state=2)
    on_spark = group_metrics_of(Dataset(spark.createDataFrame(frame), lazy=True, **roles), **kwargs)
    duck = group_metrics_of(Dataset(str(tmp_path / "w.parquet"), lazy=True, **roles), **kwargs)
    assert on_spark.meta["backend"] == "spark" and on_spark.meta["weighted"]
    _close(on_spark.table, duck.table)
    expected = roc_auc_score(frame["y"], frame["s"], sample_weight=frame[weight])
    bound = on_spark.meta["roc_auc_error_bound"]["overall"]
    assert abs(on_spark.overall["roc_auc"] - expected) <= bound + 1e-12
    bad = frame.assign(**{weight: np.where(np.arange(n) == 5, -1.0, frame[weight])})
    with pytest.raises(DataError, match=r"weight column .*DROP TABLE.* has 1 missing, infinite"):
        group_metrics_of(Dataset(spark.createDataFrame(bad), lazy=True, **roles), ci=None)
