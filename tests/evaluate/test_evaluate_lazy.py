"""``evaluate`` on a lazy Dataset (Parquet through DuckDB, a Spark DataFrame): every table from one
aggregate where the rows live, no row loaded, and the in-memory numbers wherever the binning allows
(counts, count metrics, calibration deciles exactly; ROC AUC within the bound it reports)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import raikit.dataset
from _cli import run
from raikit import DataError, Dataset
from raikit._result import result_from_dict
from raikit.evaluate import evaluate

pytest.importorskip("duckdb")

EXACT_SCORE = ["brier_score", "log_loss", "expected_calibration_error"]


@pytest.fixture
def adult_pair(adult_scored, tmp_path, monkeypatch):
    """Adult's scored test split in memory and the same rows as a lazy Parquet Dataset, with any
    full load of more than 1,000 rows refused."""
    path = tmp_path / "test.parquet"
    adult_scored.frame.to_parquet(path)
    lazy = Dataset(
        str(path),
        target=adult_scored.target,
        sensitive=adult_scored.sensitive_names,
        features=adult_scored.feature_names,
        prediction=adult_scored.prediction,
        score=adult_scored.score,
        lazy=True,
    )
    monkeypatch.setattr(raikit.dataset, "MATERIALIZE_LIMIT", 1000)
    return adult_scored, lazy


def _merged(a, b):
    keys = ["threshold", "attribute", "group", "metric"]
    merged = a.metrics.merge(b.metrics, on=keys, suffixes=("_memory", "_lazy"), how="outer")
    assert len(merged) == len(a.metrics) == len(b.metrics)
    return merged


def test_lazy_adult_matches_memory(adult_pair):
    memory, lazy = adult_pair
    thresholds = [0.25, 0.5]
    a = evaluate(None, memory, thresholds=thresholds, n_boot=100, random_state=0)
    b = evaluate(None, lazy, thresholds=thresholds, n_boot=100, random_state=0)
    assert b.meta["backend"] == "duckdb" and b.meta["binning"]["score_bins"] == 1000
    assert b.thresholds == thresholds and b.meta["n_rows"] == memory.n_rows
    # confusion matrices at the thresholds: exact, and by hand for the whole table
    pd.testing.assert_frame_equal(a.confusion, b.confusion)
    y = memory.y.to_numpy() == 1
    above = memory.y_score.to_numpy() >= 0.5
    overall = b.confusion.query("threshold == 0.5 and group == 'overall'").iloc[0]
    assert (overall.tp, overall.fp) == ((above & y).sum(), (above & ~y).sum())
    # count metrics and the exact score metrics equal; ROC AUC within the reported bound
    merged = _merged(a, b)
    gap = (merged["value_memory"] - merged["value_lazy"]).abs()
    auc = merged["metric"] == "roc_auc"
    exact = ~auc
    assert gap[exact].max() < 1e-12
    bound = pd.Series(b.meta["roc_auc_error_bound"])
    keys = merged[auc].apply(
        lambda r: "overall" if r.attribute == "overall" else _key(r.attribute, r.group), axis=1
    )
    assert (gap[auc].to_numpy() <= bound[keys].to_numpy() + 1e-12).all()
    assert gap[auc].max() > 0  # the lazy AUC is really binned
    assert set(EXACT_SCORE) <= set(merged["metric"])
    # calibration: the same deciles, the same counts, the same rates and Wilson intervals
    pd.testing.assert_frame_equal(a.calibration, b.calibration, check_exact=False, atol=1e-12)
    # fairness verdicts from the same count metrics
    fair = ["threshold", "criterion", "attribute", "difference"]
    pd.testing.assert_frame_equal(a.fairness[fair], b.fairness[fair], atol=1e-12)


def _key(attribute: str, group: str) -> str:
    names, values = attribute.split(" & "), group.split(" & ")
    return " & ".join(f"{n}={v}" for n, v in zip(names, values, strict=True))


def test_lazy_roc_points_are_exact_at_bin_edges(adult_pair):
    memory, lazy = adult_pair
    b = evaluate(None, lazy, n_boot=50, random_state=0)  # the model's own predictions
    roc = b.roc.query("group == 'overall'")
    edges = roc["threshold"].to_numpy()
    assert 10 <= len(edges) <= 101 and np.all(np.diff(edges) > 0)
    np.testing.assert_allclose(edges * 1000, np.round(edges * 1000), atol=1e-9)  # bin edges
    score, y = memory.y_score.to_numpy(), memory.y.to_numpy() == 1
    bins = np.floor(score * 1000)
    above = bins[None, :] >= np.round(edges * 1000)[:, None]
    tpr = (above & y).sum(axis=1) / y.sum()
    fpr = (above & ~y).sum(axis=1) / (~y).sum()
    np.testing.assert_array_equal(roc["true_positive_rate"].to_numpy(), tpr)
    np.testing.assert_array_equal(roc["false_positive_rate"].to_numpy(), fpr)
    # the bands bracket the points, and the model's predictions give the in-memory counts
    assert (roc["true_positive_rate_lower"] <= roc["true_positive_rate"] + 1e-12).all()
    a = evaluate(None, memory, n_boot=50, random_state=0)
    pd.testing.assert_frame_equal(a.confusion, b.confusion)
    assert a.summary.split(", ROC AUC")[0] == b.summary.split(", ROC AUC")[0]


def test_lazy_weighted_matches_memory(tmp_path):
    rng = np.random.default_rng(3)
    n = 3000
    frame = pd.DataFrame(
        {
            "g": rng.choice(["a", "b", "c"], n),
            "y": rng.integers(0, 2, n),
            "s": (rng.integers(0, 1000, n) + 0.5) / 1000,  # bin centres
            "w": rng.integers(1, 4, n).astype(float),
        }
    )
    frame["p"] = (frame["s"] > 0.4).astype(int)
    path = tmp_path / "w.parquet"
    frame.to_parquet(path)
    roles = dict(target="y", sensitive="g", prediction="p", score="s", weight="w")
    a = evaluate(None, Dataset(frame, **roles), thresholds=[0.3, 0.7], n_boot=50, random_state=1)
    b = evaluate(
        None,
        Dataset(str(path), lazy=True, **roles),
        thresholds=[0.3, 0.7],
        n_boot=50,
        random_state=1,
    )
    pd.testing.assert_frame_equal(a.confusion, b.confusion, check_exact=False, atol=1e-9)
    pd.testing.assert_frame_equal(a.calibration, b.calibration, check_exact=False, atol=1e-9)
    merged = _merged(a, b)
    counted = merged["metric"] != "roc_auc"
    assert (merged["value_memory"] - merged["value_lazy"]).abs()[counted].max() < 1e-9
    # scores at the centres of the 1,000 bins: distinct scores never share a bin, so the
    # binned ROC AUC is the exact one
    auc = merged[merged["metric"] == "roc_auc"]
    np.testing.assert_allclose(auc["value_lazy"], auc["value_memory"], atol=1e-9)
    assert b.confusion["tp"].dtype == float  # sums of weights


def test_lazy_bad_input(tmp_path):
    frame = pd.DataFrame(
        {"g": list("ab") * 50, "y": [0, 1, 2, 1] * 25, "s": np.linspace(0, 1, 100), "p": 1}
    )
    path = tmp_path / "bad.parquet"
    frame.to_parquet(path)
    lazy = Dataset(str(path), target="y", sensitive="g", prediction="p", score="s", lazy=True)
    with pytest.raises(DataError, match="binary target"):
        evaluate(None, lazy, n_boot=10)
    frame.assign(y=frame["y"] % 2, s=frame["s"] * 3).to_parquet(path)
    lazy = Dataset(str(path), target="y", sensitive="g", prediction="p", score="s", lazy=True)
    with pytest.raises(DataError, match=r"outside \[0, 1\]"):
        evaluate(None, lazy, thresholds=[0.5], n_boot=10)
    unscored = Dataset(str(path), target="y", sensitive="g", prediction="p", lazy=True)
    with pytest.raises(DataError, match="thresholds need scores"):
        evaluate(None, unscored, thresholds=[0.5])


@pytest.mark.filterwarnings("ignore:PySpark does not yet:FutureWarning")
@pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")
def test_spark_dataframe_gives_the_duckdb_result(spark, adult_pair):
    memory, lazy = adult_pair
    columns = [*memory.sensitive_names, memory.target, memory.prediction, memory.score]
    frame = memory.frame[columns].copy()
    for name in memory.sensitive_names:
        frame[name] = frame[name].astype(str)
    on_spark = Dataset(
        spark.createDataFrame(frame),
        target=memory.target,
        sensitive=memory.sensitive_names,
        prediction=memory.prediction,
        score=memory.score,
    )
    settings = dict(thresholds=[0.5], n_boot=100, random_state=0)
    s = evaluate(None, on_spark, **settings)
    d = evaluate(None, lazy, **settings)
    assert s.meta["backend"] == "spark"
    for name in ("metrics", "confusion", "roc", "calibration"):
        pd.testing.assert_frame_equal(
            getattr(s, name), getattr(d, name), check_exact=False, atol=1e-12
        )


def test_cli_on_a_glob_evaluates_where_the_rows_live(adult_scored, tmp_path):
    frame = adult_scored.frame
    half = len(frame) // 2
    frame.iloc[:half].to_parquet(tmp_path / "part-0.parquet")
    frame.iloc[half:].to_parquet(tmp_path / "part-1.parquet")
    out = tmp_path / "out"
    done = run(
        "evaluate", "--data", str(tmp_path / "part-*.parquet"), "--target",
        adult_scored.target, "--sensitive", ",".join(adult_scored.sensitive_names),
        "--prediction", adult_scored.prediction, "--score", adult_scored.score,
        "--thresholds", "0.5", "--n-boot", "50", "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = result_from_dict(json.loads((out / "evaluation.json").read_text()))
    assert result.meta["backend"] == "duckdb"
    memory = evaluate(None, adult_scored, thresholds=[0.5], n_boot=50, random_state=0)
    pd.testing.assert_frame_equal(
        memory.confusion, result.confusion, check_dtype=False, check_index_type=False
    )
