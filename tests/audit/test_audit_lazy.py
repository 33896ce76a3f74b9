"""The audit on a lazy Dataset: predictions streamed to Parquet, aggregates where the rows live."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from sklearn.linear_model import LogisticRegression

import raikit._predict
import raikit.dataset
from raikit import Dataset
from raikit.audit import audit
from raikit.datasets import load_adult

_FEATURES = ["age", "education_num", "hours_per_week", "capital_gain"]


@pytest.fixture(scope="module")
def adult(tmp_path_factory):
    """Adult split, a model on four numeric columns, and the two halves as Parquet: the test
    set as a glob of two files."""
    ds = load_adult().replace(features=_FEATURES)
    train, test = ds.split(0.3, random_state=0)
    model = LogisticRegression(max_iter=500).fit(train.X, train.y)
    folder = tmp_path_factory.mktemp("adult")
    train.frame.to_parquet(folder / "train.parquet")
    half = test.n_rows // 2
    (folder / "test").mkdir()
    test.frame.iloc[:half].to_parquet(folder / "test" / "part-0.parquet")
    test.frame.iloc[half:].to_parquet(folder / "test" / "part-1.parquet")
    return ds, train, test, model, folder


def _lazy(ds, source, name):
    return Dataset(
        str(source),
        target=ds.target,
        sensitive=ds.sensitive_names,
        features=_FEATURES,
        name=name,
        lazy=True,
    )


def test_streamed_predictions_equal_in_memory_ones_batch_by_batch(adult, tmp_path, monkeypatch):
    ds, _, test, model, folder = adult
    monkeypatch.setattr(raikit._predict, "BATCH_ROWS", 997)  # batches that straddle the files
    monkeypatch.setattr(raikit.dataset, "MATERIALIZE_LIMIT", 1000)  # no full load allowed
    calls = []
    lazy = _lazy(ds, folder / "test" / "*.parquet", "test")
    scored = lazy.with_predictions(
        model, out=tmp_path / "scored.parquet", progress=lambda d, t: calls.append((d, t))
    )
    assert scored.is_lazy and scored.source == str(tmp_path / "scored.parquet")
    assert (scored.prediction, scored.score) == ("prediction", "score")
    assert calls[-1] == (test.n_rows, test.n_rows) and len(calls) >= test.n_rows // 997
    written = pd.read_parquet(tmp_path / "scored.parquet")
    expected = model.predict_proba(test.X)[:, 1]
    np.testing.assert_array_equal(written["prediction"].to_numpy(), model.predict(test.X))
    np.testing.assert_allclose(written["score"].to_numpy(), expected, rtol=0, atol=1e-15)
    assert list(written.columns[: len(test.columns)]) == list(test.columns)  # every column kept


def test_a_string_label_gets_the_score_of_the_named_positive_label(adult, tmp_path):
    ds, train, test, _, _ = adult
    labels = np.where(train.y.to_numpy() == 1, "high", "low")
    model = LogisticRegression(max_iter=500).fit(train.X, labels)
    frame = test.frame.assign(income=np.where(test.y.to_numpy() == 1, "high", "low"))
    frame.to_parquet(tmp_path / "t.parquet")
    lazy = Dataset(
        str(tmp_path / "t.parquet"),
        target="income",
        sensitive=ds.sensitive_names,
        features=_FEATURES,
        lazy=True,
    )
    scored = lazy.with_predictions(model, pos_label="high", out=tmp_path / "s.parquet")
    assert scored.score == "score" and scored.is_lazy
    written = pd.read_parquet(tmp_path / "s.parquet")
    column = list(model.classes_).index("high")
    np.testing.assert_allclose(written["score"], model.predict_proba(test.X)[:, column], atol=1e-15)
    assert set(written["prediction"]) <= {"high", "low"}
    # without a positive label no class's probability is taken as the score
    unscored = lazy.with_predictions(model, out=tmp_path / "u.parquet")
    assert unscored.score is None and "score" not in pd.read_parquet(tmp_path / "u.parquet")


def test_the_lazy_audit_equals_the_in_memory_one_on_its_aggregates(adult, tmp_path, monkeypatch):
    ds, train, test, model, folder = adult
    monkeypatch.setattr(raikit.dataset, "MATERIALIZE_LIMIT", 1000)
    sections = ["bias", "accuracy", "data_representation"]
    lazy = audit(
        model,
        train=_lazy(ds, folder / "train.parquet", "train"),
        test=_lazy(ds, folder / "test" / "*.parquet", "test"),
        sections=sections,
        n_boot=100,
        random_state=0,
        predictions_dir=tmp_path / "predictions",
    )
    monkeypatch.setattr(raikit.dataset, "MATERIALIZE_LIMIT", 5_000_000)
    eager = audit(model, train=train, test=test, sections=sections, n_boot=100, random_state=0)
    assert lazy.meta["test"]["backend"] == "duckdb" and eager.meta["test"]["backend"] == "numpy"
    assert lazy.meta["test"]["predictions"] == str(tmp_path / "predictions" / "test.parquet")
    assert (tmp_path / "predictions" / "train.parquet").is_file()
    assert lazy.meta["task"] == eager.meta["task"] == "binary"
    for check in ("metrics.group_metrics", "metrics.group_metrics.train"):
        got, want = lazy.results[check].by_group, eager.results[check].by_group
        assert_frame_equal(
            got.drop(columns=[c for c in got if "roc_auc" in c]),
            want.drop(columns=[c for c in want if "roc_auc" in c]),
            check_exact=False,
            rtol=1e-9,
            check_dtype=False,
        )
    assert lazy.scorecard["status"].tolist() == eager.scorecard["status"].tolist()
    page = lazy.to_html()
    assert "DuckDB (out of core)" in page and "numpy (in memory)" in eager.to_html()
    assert str(tmp_path / "predictions" / "test.parquet") in page


def test_the_task_is_inferred_from_the_lazy_target_without_loading_it(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=3000), "g": rng.choice(["a", "b"], 3000)})
    frame["y"] = 2.0 * frame["x"] + rng.normal(size=3000)  # fractional: a regression target
    frame.to_parquet(tmp_path / "r.parquet")
    from sklearn.linear_model import LinearRegression

    model = LinearRegression().fit(frame[["x"]], frame["y"])
    monkeypatch.setattr(raikit.dataset, "MATERIALIZE_LIMIT", 1000)
    lazy = Dataset(
        str(tmp_path / "r.parquet"), target="y", sensitive="g", features=["x"], lazy=True
    )
    report = audit(
        model,
        train=lazy,
        test=lazy,
        sections=["data_representation"],
        n_boot=20,
        random_state=0,
        predictions_dir=tmp_path / "p",
    )
    assert report.meta["task"] == "regression"
    assert report.meta["task_source"] == "inferred: fractional values"
