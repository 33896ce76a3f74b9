"""Predictions streamed through a model in batches (raikit._predict) on DuckDB tables: CSV and
Parquet input give the in-memory predictions; the model's category inputs come back from string
columns; a model that fails on a batch names the dataset and the rows, and leaves no file."""

from __future__ import annotations

import lightgbm
import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

import raikit._predict
from raikit import DataError, Dataset, ParameterError
from raikit._predict import as_model_inputs, model_categories

pytest.importorskip("duckdb")

FEATURES = ["age", "hours", "colour"]
ROLES = {"target": "y", "sensitive": ["sex"], "features": FEATURES}


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 700
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "hours": rng.normal(40, 10, n).round(1),
            "colour": pd.Categorical(rng.choice(["red", "green", "blue"], n)),
            "sex": rng.choice(["F", "M"], n),
        }
    )
    frame["y"] = ((frame["age"] / 80 + (frame["colour"] == "red") * 0.3) > 0.8).astype(int)
    return frame


@pytest.fixture(scope="module")
def model(table):
    return HistGradientBoostingClassifier(
        categorical_features="from_dtype", max_iter=15, random_state=0
    ).fit(table[FEATURES], table["y"])


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_lazy_predictions_in_small_batches_equal_the_in_memory_ones(
    table, model, tmp_path, monkeypatch, suffix
):
    path = tmp_path / f"data{suffix}"
    table.to_csv(path, index=False) if suffix == ".csv" else table.to_parquet(path)
    monkeypatch.setattr(raikit._predict, "BATCH_ROWS", 128)  # 6 batches, the last one short
    seen = []
    lazy = Dataset(str(path), lazy=True, name="scoring", **ROLES)
    scored = lazy.with_predictions(
        model, out=tmp_path / "out" / "scored.parquet", progress=lambda *a: seen.append(a)
    )
    assert scored.is_lazy and scored.prediction == "prediction" and scored.score == "score"
    written = pd.read_parquet(tmp_path / "out" / "scored.parquet")
    # the CSV's colour column is a string column: the model gets it back as its categories
    expected = Dataset(table, **ROLES).with_predictions(model).frame
    np.testing.assert_array_equal(written["prediction"], expected["prediction"])
    np.testing.assert_allclose(written["score"], expected["score"], rtol=0, atol=1e-12)
    assert written["prediction"].dtype == np.int64
    done = [d for d, _ in seen]  # after each batch of at most 128 rows
    assert len(seen) >= 6 and done[-1] == 700 and {t for _, t in seen} == {700}
    assert all(0 < b - a <= 128 for a, b in zip([0, *done], done, strict=False))
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["scored.parquet"]


def test_a_model_failing_on_a_batch_names_the_rows_and_leaves_no_file(table, tmp_path, monkeypatch):
    table.to_parquet(tmp_path / "data.parquet")
    monkeypatch.setattr(raikit._predict, "BATCH_ROWS", 200)
    fitted = LogisticRegression().fit(table[["age", "hours"]], table["y"])

    class FailsOnLateRows:
        classes_ = fitted.classes_
        feature_names_in_ = fitted.feature_names_in_

        def __init__(self):
            self.calls = 0

        def predict(self, X):
            self.calls += 1
            if self.calls == 3:
                raise ValueError("input contains NaN")
            return fitted.predict(X)

        def predict_proba(self, X):
            return fitted.predict_proba(X)

    out = tmp_path / "out" / "scored.parquet"
    out.parent.mkdir()
    out.write_bytes(b"an older complete file")  # a failed run must not leave a partial one
    lazy = Dataset(
        str(tmp_path / "data.parquet"), lazy=True, name="scoring", target="y", sensitive="sex"
    )
    with pytest.raises(DataError, match=r"'scoring', rows 400 to 599 .*ValueError: input contains"):
        lazy.with_predictions(FailsOnLateRows(), out=out)
    assert [p.name for p in out.parent.iterdir()] == ["scored.parquet"]  # no temporary left
    assert out.read_bytes() == b"an older complete file"


def test_a_rerun_replaces_the_predictions_file(table, model, tmp_path):
    table.to_parquet(tmp_path / "data.parquet")
    lazy = Dataset(str(tmp_path / "data.parquet"), lazy=True, name="scoring", **ROLES)
    out = tmp_path / "scored.parquet"
    out.write_bytes(b"stale")
    lazy.with_predictions(model, out=out)
    assert len(pd.read_parquet(out)) == len(table)


def test_the_model_categories_of_lightgbm_and_of_a_plain_model(table):
    X = table[FEATURES]
    booster = lightgbm.LGBMClassifier(n_estimators=5, verbose=-1).fit(X, table["y"])
    categories = model_categories(booster)
    assert list(categories) == ["colour"]
    assert categories["colour"].categories.tolist() == ["blue", "green", "red"]
    as_strings = X.assign(colour=X["colour"].astype(str))
    with pytest.raises(ValueError, match="categorical_feature do not match"):
        booster.predict_proba(as_strings)  # LightGBM refuses strings for a category input
    np.testing.assert_array_equal(
        booster.predict_proba(as_model_inputs(as_strings, categories)), booster.predict_proba(X)
    )
    plain = LogisticRegression().fit(table[["age", "hours"]], table["y"])
    assert model_categories(plain) == {}
    assert as_model_inputs(as_strings, {}) is as_strings  # nothing to convert: not copied


def test_the_predictions_never_replace_a_folder_of_other_files(table, model, tmp_path):
    table.to_parquet(tmp_path / "data.parquet")
    lazy = Dataset(str(tmp_path / "data.parquet"), lazy=True, name="scoring", **ROLES)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    with pytest.raises(ParameterError, match=r"holds other files \(thesis.tex\)"):
        lazy.with_predictions(model, out=mine)
    assert (mine / "thesis.tex").read_text() == "years of work"
    # an earlier Spark output (part files, _SUCCESS, checksums) is replaced
    spark_like = tmp_path / "scored.parquet"
    spark_like.mkdir()
    for name in ("part-00000.snappy.parquet", "_SUCCESS", ".part-00000.snappy.parquet.crc"):
        (spark_like / name).write_bytes(b"old")
    lazy.with_predictions(model, out=spark_like)
    assert spark_like.is_file() and len(pd.read_parquet(spark_like)) == len(table)


def test_a_numeric_column_is_not_turned_into_text_categories():
    X = pd.DataFrame({"code": [1, 2, 3], "colour": ["red", "blue", "red"]})
    text = {"code": pd.CategoricalDtype(["1", "2"]), "colour": pd.CategoricalDtype(["red"])}
    out = as_model_inputs(X, text)
    assert out["code"].dtype == np.int64  # numbers against text categories: left alone
    assert out["colour"].tolist()[:1] == ["red"] and out["colour"].isna().tolist() == [
        False,
        True,
        False,
    ]
    numbers = as_model_inputs(X, {"code": pd.CategoricalDtype([1, 2, 3])})
    assert isinstance(numbers["code"].dtype, pd.CategoricalDtype)
    assert numbers["code"].tolist() == [1, 2, 3]
