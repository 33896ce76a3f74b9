"""Score metrics at scale: binned ROC AUC within its stated bound, exact Brier / log loss / ECE, and
clear errors for globs that match nothing, files that lack a column and columns of the wrong type."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from raikit import ColumnError, DataError, Dataset, FileFormatError, ParameterError
from raikit._grouping import SliceKey
from raikit.metrics import group_metrics, group_metrics_of

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


SCORE_METRICS = ["roc_auc", "brier_score", "log_loss", "expected_calibration_error"]


@pytest.fixture(scope="module")
def adult_frame(adult_scored):
    frame = adult_scored.frame[["sex", "race", "income", "prediction", "score"]].copy()
    frame["sex"] = frame["sex"].astype(str)
    frame["race"] = frame["race"].astype(str)
    return frame


@pytest.fixture(scope="module")
def adult_file(adult_frame, tmp_path_factory):
    path = tmp_path_factory.mktemp("scores") / "adult.parquet"
    adult_frame.to_parquet(path, index=False)
    return str(path)


def _backend(path, **kwargs):
    return on_files(
        path, target="income", prediction="prediction", sensitive=["sex", "race"], **kwargs
    )


def test_binned_auc_is_within_its_bound_of_sklearn(adult_file, adult_frame):
    result = _backend(adult_file, score="score")
    assert result.meta["backend"] == "duckdb" and result.meta["score_bins"] == 1000
    bounds = result.meta["roc_auc_error_bound"]
    checked = 0
    for (attribute, group), row in result.by_group.iterrows():
        if attribute == "sex & race":
            sex, race = group.split(" & ")
            rows = (adult_frame["sex"] == sex) & (adult_frame["race"] == race)
        else:
            rows = adult_frame[attribute] == group
        part = adult_frame[rows]
        if part["income"].nunique() < 2:
            assert np.isnan(row["roc_auc"])
            continue
        exact = roc_auc_score(part["income"], part["score"])
        bound = bounds[str(SliceKey(zip(attribute.split(" & "), group.split(" & "), strict=True)))]
        # The bound is 0.5 * P(a positive and a negative share one of the 1,000 bins).
        same_bin = np.floor(part["score"].to_numpy() * 1000).clip(0, 999)
        y = part["income"].to_numpy()
        pos, neg = same_bin[y == 1], same_bin[y == 0]
        shared = sum((pos == b).sum() * (neg == b).sum() for b in np.unique(pos))
        assert bound == pytest.approx(0.5 * shared / (len(pos) * len(neg)), abs=1e-15)
        assert abs(row["roc_auc"] - exact) <= bound + 1e-15
        checked += 1
    assert checked >= 12
    overall = roc_auc_score(adult_frame["income"], adult_frame["score"])
    assert abs(result.overall["roc_auc"] - overall) <= bounds["overall"]
    assert bounds["overall"] < 1e-3  # 1,000 bins on 16k Adult rows: AUC to 3 decimals


def test_sum_based_score_metrics_match_sklearn_and_the_numpy_engine(adult_file, adult_frame):
    on_disk = _backend(adult_file, score="score", metrics=["accuracy", *SCORE_METRICS])
    y, s = adult_frame["income"], adult_frame["score"]
    assert on_disk.overall["brier_score"] == pytest.approx(brier_score_loss(y, s), abs=1e-12)
    assert on_disk.overall["log_loss"] == pytest.approx(log_loss(y, s), abs=1e-12)
    in_memory = group_metrics(
        y,
        adult_frame["prediction"],
        sensitive_features=adult_frame[["sex", "race"]],
        score=s,
        metrics=["accuracy", *SCORE_METRICS],
    )
    exact = ["accuracy", "brier_score", "log_loss", "expected_calibration_error"]
    pd.testing.assert_frame_equal(
        on_disk.by_group[exact], in_memory.by_group[exact], check_exact=False, rtol=0, atol=1e-12
    )


def test_finer_bins_tighten_the_bound(adult_file):
    coarse = _backend(adult_file, score="score", metrics=["roc_auc"], score_bins=100)
    fine = _backend(adult_file, score="score", metrics=["roc_auc"], score_bins=10_000)
    assert (
        fine.meta["roc_auc_error_bound"]["overall"]
        < coarse.meta["roc_auc_error_bound"]["overall"] / 5
    )
    with pytest.raises(ParameterError, match="multiple of 10"):
        _backend(adult_file, score="score", score_bins=999)


def test_decile_scores_give_the_exact_auc(tmp_path):
    """COMPAS decile scores fall in distinct bins: every same-bin pair is a true tie."""
    from raikit.datasets import load_compas

    frame = load_compas().frame
    table = pd.DataFrame(
        {
            "race": frame["race"].astype(str),
            "sex": frame["sex"].astype(str),
            "y": frame["two_year_recid"],
            "p": (frame["decile_score"] >= 5).astype(int),
            "s": frame["decile_score"] / 10,
        }
    )
    path = tmp_path / "compas.parquet"
    table.to_parquet(path, index=False)
    result = on_files(
        str(path), target="y", prediction="p", sensitive=["race"], score="s", metrics=["roc_auc"]
    )
    for race, part in table.groupby("race"):
        if part["y"].nunique() == 2:
            expected = roc_auc_score(part["y"], part["s"])
            assert result.by_group.loc[("race", race), "roc_auc"] == pytest.approx(
                expected, abs=1e-12
            )


def test_score_bootstrap_intervals_cover_the_estimate(adult_file):
    result = _backend(adult_file, score="score", ci=0.95, n_boot=200, random_state=0)
    rows = result.table[result.table["metric"].isin(SCORE_METRICS)].dropna()
    assert len(rows) > 40
    assert (rows["lower"] <= rows["value"] + 1e-9).all()
    assert (rows["value"] <= rows["upper"] + 1e-9).all()
    again = _backend(adult_file, score="score", ci=0.95, n_boot=200, random_state=0)
    pd.testing.assert_frame_equal(result.table, again.table)


def test_bad_files_and_columns(adult_frame, tmp_path):
    with pytest.raises(FileFormatError, match="No file matches"):
        _backend(str(tmp_path / "nothing-*.parquet"))
    adult_frame.iloc[:100].to_parquet(tmp_path / "part-0.parquet", index=False)
    adult_frame.iloc[100:200].drop(columns="race").to_parquet(
        tmp_path / "part-1.parquet", index=False
    )
    with pytest.raises(ColumnError, match=r"part-1.parquet' lacks \['race'\]"):
        _backend(str(tmp_path / "part-*.parquet"))
    mixed = adult_frame.iloc[:200].copy()
    mixed["income"] = mixed["income"].map({0: "low", 1: "high"})
    mixed.to_csv(tmp_path / "mixed.csv", index=False)
    with pytest.raises(DataError, match="cast both columns to the same type"):
        _backend(str(tmp_path / "mixed.csv"))
    bad = adult_frame.iloc[:200].copy()
    bad["score"] = bad["score"] * 4 - 2  # a decision function, not probabilities
    bad.to_parquet(tmp_path / "logits.parquet", index=False)
    with pytest.raises(DataError, match=r"value\(s\) outside \[0, 1\]"):
        _backend(str(tmp_path / "logits.parquet"), score="score")
    bad["score"] = np.where(np.arange(200) < 3, np.nan, adult_frame["score"].iloc[:200])
    bad.to_parquet(tmp_path / "holes.parquet", index=False)
    with pytest.raises(DataError, match=r"3 value\(s\) missing"):
        _backend(str(tmp_path / "holes.parquet"), score="score")
    with pytest.raises(ParameterError, match="backend must be one of"):
        _backend(str(tmp_path / "holes.parquet"), backend="beam")
    in_memory = Dataset(pd.DataFrame({"y": [0, 1], "s": ["a", "b"]}), target="y", sensitive="s")
    with pytest.raises(ParameterError, match="backend='duckdb' reads files"):
        group_metrics_of(in_memory.replace(prediction="y"), backend="duckdb")


def test_histogram_bootstrap_agrees_with_the_numpy_engine(adult_file, adult_frame):
    """Two different bootstraps of the same statistics: their interval widths must agree."""
    kwargs = {"ci": 0.95, "n_boot": 300, "random_state": 4, "metrics": SCORE_METRICS}
    on_disk = _backend(adult_file, score="score", **kwargs)
    in_memory = group_metrics(
        adult_frame["income"],
        adult_frame["prediction"],
        sensitive_features=adult_frame[["sex", "race"]],
        score=adult_frame["score"],
        **kwargs,
    )
    widths = [
        r.table.set_index(["attribute", "group", "metric"]).eval("upper - lower")
        for r in (on_disk, in_memory)
    ]
    rows = [("overall", "overall"), ("sex", "Female"), ("sex", "Male"), ("race", "White")]
    for attribute, group in rows:
        for metric in SCORE_METRICS:
            key = (attribute, group, metric)
            ratio = widths[0][key] / widths[1][key]
            assert 0.7 < ratio < 1.4, (key, ratio)


def test_a_lazy_dataset_is_reduced_where_its_rows_live(adult_file):
    from raikit import Dataset

    lazy = Dataset(
        adult_file,
        lazy=True,
        target="income",
        sensitive=["sex", "race"],
        prediction="prediction",
        score="score",
    )
    kwargs = {"ci": 0.9, "n_boot": 50, "random_state": 0}
    result = group_metrics_of(lazy, **kwargs)
    direct = _backend(adult_file, score="score", **kwargs)
    assert result.meta["backend"] == "duckdb"
    pd.testing.assert_frame_equal(result.table, direct.table)
    with pytest.raises(DataError, match="no prediction column"):
        group_metrics_of(lazy.replace(prediction=None, score=None))


def test_nan_scores_that_parquet_statistics_hide_raise_a_data_error(tmp_path):
    """pyarrow writes Parquet statistics that skip NaN, and DuckDB then folds ``isnan(score)`` to
    FALSE: the NaN reaches the score bin's cast. It is still a DataError naming the score."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = pd.DataFrame({"y": [0, 1] * 20, "p": [0, 1] * 20, "g": ["a"] * 40})
    scores = [0.2, 0.8] * 20
    scores[3] = float("nan")
    table = pa.Table.from_pandas(frame, preserve_index=False)
    column = pa.array(scores, type=pa.float64(), from_pandas=False)  # a NaN, not a null
    pq.write_table(table.append_column("s", column), tmp_path / "nan.parquet")
    with pytest.raises(DataError, match=r"score 's' has NaN value\(s\) in .*nan\.parquet"):
        on_files(
            str(tmp_path / "nan.parquet"), target="y", prediction="p", sensitive=["g"], score="s"
        )
