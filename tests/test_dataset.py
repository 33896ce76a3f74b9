"""Dataset: roles, schema, groups, split and the errors for bad input."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from raikit import ColumnError, DataError, Dataset, FileFormatError, ParameterError
from raikit._schema import Schema


@pytest.fixture
def frame():
    return pd.DataFrame(
        {
            "age": [25, 47, 33, 51, 29, 62],
            "income": [30.5, 80.0, 45.2, 99.9, 38.0, 70.1],
            "sex": ["F", "M", "F", "M", "F", "M"],
            "race": pd.Categorical(["A", "A", "B", "B", "A", "B"]),
            "joined": pd.to_datetime(
                ["2020-01-01", "2021-06-01", "2019-03-04", "2022-02-02", "2020-05-05", "2018-08-08"]
            ),
            "member": [True, False, True, True, False, False],
            "hired": [1, 0, 0, 1, 1, 0],
        }
    )


def test_roles_and_default_features_exclude_sensitive(frame):
    ds = Dataset(frame, target="hired", sensitive=["sex", "race"])
    assert list(ds.X.columns) == ["age", "income", "joined", "member"]
    assert ds.y.tolist() == [1, 0, 0, 1, 1, 0]
    assert list(ds.sensitive.columns) == ["sex", "race"]
    explicit = Dataset(frame, target="hired", sensitive="sex", features=["age", "sex"])
    assert list(explicit.X.columns) == ["age", "sex"]


def test_schema_kinds_ranges_and_json_round_trip(frame, tmp_path):
    ds = Dataset(frame, target="hired", sensitive="sex")
    schema = ds.schema
    kinds = {c.name: c.kind for c in schema.columns}
    assert kinds == {
        "age": "numeric",
        "income": "numeric",
        "sex": "categorical",
        "race": "categorical",
        "joined": "datetime",
        "member": "boolean",
        "hired": "boolean",
    }
    assert schema["age"].min == 25 and schema["age"].max == 62
    assert schema["joined"].min == "2018-08-08T00:00:00"
    assert schema["race"].categories == ["A", "B"]
    assert schema["sex"].nullable is False
    path = tmp_path / "schema.json"
    schema.to_json(path)
    assert Schema.from_json(str(path)) == schema
    assert schema.roles["target"] == "hired"


def test_groups_intersectional_and_single(frame):
    ds = Dataset(frame, target="hired", sensitive=["sex", "race"])
    codes, labels = ds.groups()
    # F&A, M&A, F&B, M&B -> codes ordered by (sex, race)
    assert labels.to_dict("list") == {"sex": ["F", "F", "M", "M"], "race": ["A", "B", "A", "B"]}
    assert codes.tolist() == [0, 2, 1, 3, 0, 3]
    sex_codes, sex_labels = ds.groups(intersectional=False, attribute="sex")
    assert sex_codes.tolist() == [0, 1, 0, 1, 0, 1]
    assert sex_labels["sex"].tolist() == ["F", "M"]
    with pytest.raises(ParameterError, match="Pass attribute="):
        ds.groups(intersectional=False)


def test_split_is_stratified_and_reproducible():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=1000),
            "s": rng.choice(["a", "b", "c"], 1000, p=[0.6, 0.3, 0.1]),
            "y": rng.integers(0, 2, 1000),
        }
    )
    ds = Dataset(frame, target="y", sensitive="s")
    train, test = ds.split(0.3, random_state=1)
    again, _ = ds.split(0.3, random_state=1)
    assert len(train) + len(test) == 1000
    assert train.frame["x"].equals(again.frame["x"])
    full = frame.groupby(["s", "y"]).size() / 1000
    part = test.frame.groupby(["s", "y"]).size() / len(test)
    np.testing.assert_allclose(part.to_numpy(), full.to_numpy(), atol=0.01)


def test_polars_and_files(frame, tmp_path):
    import polars as pl

    plain = frame.drop(columns=["race"])
    assert Dataset(pl.from_pandas(plain), target="hired", sensitive="sex").n_rows == 6
    plain.to_csv(tmp_path / "t.csv", index=False)
    plain.to_parquet(tmp_path / "t.parquet")
    with gzip.open(tmp_path / "t.csv.gz", "wt") as handle:
        plain.to_csv(handle, index=False)
    for name in ("t.csv", "t.parquet", "t.csv.gz"):
        ds = Dataset(tmp_path / name, target="hired", sensitive="sex")
        assert ds.y.tolist() == [1, 0, 0, 1, 1, 0] and ds.name == "t"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"target": "hird", "sensitive": "sex"}, ColumnError, "Did you mean 'hired'"),
        ({"target": "hired", "sensitive": "gender"}, ColumnError, "Unknown sensitive column"),
        (
            {"target": "hired", "sensitive": ["sex", "hired"]},
            ColumnError,
            "also listed as sensitive",
        ),
        (
            {"target": "hired", "sensitive": "sex", "features": ["age", "hired"]},
            ColumnError,
            "listed as a feature",
        ),
        ({"target": "hired", "sensitive": []}, ParameterError, r"Dataset\(\): sensitive names no"),
    ],
)
def test_bad_roles(frame, kwargs, error, message):
    with pytest.raises(error, match=message):
        Dataset(frame, **kwargs)


def test_missing_sensitive_values(frame):
    frame.loc[2, "sex"] = None
    with pytest.raises(DataError, match=r"'sex' has 1 missing value.*missing_group"):
        Dataset(frame, target="hired", sensitive="sex")
    ds = Dataset(frame, target="hired", sensitive="sex", missing_group="(missing)")
    assert ds.sensitive["sex"].tolist()[2] == "(missing)"
    assert ds.groups(intersectional=False)[1]["sex"].tolist() == ["(missing)", "F", "M"]


def test_empty_and_unreadable_inputs(tmp_path):
    with pytest.raises(DataError, match="empty"):
        Dataset(pd.DataFrame({"y": [], "s": []}), target="y", sensitive="s")
    with pytest.raises(FileFormatError, match="not found"):
        Dataset(tmp_path / "missing.csv", target="y", sensitive="s")
    (tmp_path / "data.xlsx").write_text("x")
    with pytest.raises(FileFormatError, match="unsupported file type"):
        Dataset(tmp_path / "data.xlsx", target="y", sensitive="s")
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(FileFormatError, match="corrupt"):
        Dataset(tmp_path / "bad.parquet", target="y", sensitive="s")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(FileFormatError, match="empty"):
        Dataset(tmp_path / "empty.csv", target="y", sensitive="s")
    with pytest.raises(ParameterError, match="DataFrame or a path"):
        Dataset([[1, 2]], target="y", sensitive="s")


def test_binary_target_check(frame):
    frame["grade"] = ["a", "b", "c", "a", "b", "c"]
    ds = Dataset(frame, target="grade", sensitive="sex")
    assert ds.task == "multiclass"
    with pytest.raises(DataError, match="binary target but 'grade' has 3"):
        ds.check_binary_target()
    assert Dataset(frame, target="hired", sensitive="sex").task == "binary"
    assert Dataset(frame, target="income", sensitive="sex").task == "regression"


def test_with_predictions_adds_columns(frame):
    from sklearn.linear_model import LogisticRegression

    ds = Dataset(frame, target="hired", sensitive="sex", features=["age", "income"])
    model = LogisticRegression().fit(ds.X, ds.y)
    scored = ds.with_predictions(model)
    np.testing.assert_array_equal(scored.y_pred, model.predict(ds.X))
    np.testing.assert_allclose(scored.y_score, model.predict_proba(ds.X)[:, 1])
    assert list(scored.X.columns) == ["age", "income"]
    # the rows are shared, not copied: the caller's frame gains no column and keeps its values
    assert "prediction" not in ds.frame.columns and "prediction" not in frame.columns
    scored.frame.loc[scored.frame.index[0], "age"] = -1
    assert ds.frame["age"].iloc[0] != -1 and frame["age"].iloc[0] != -1


def test_split_by_named_columns_and_unstratified():
    frame = pd.DataFrame(
        {
            "x": range(200),
            "s": ["a"] * 100 + ["b"] * 100,
            "region": ["n", "s", "e", "w"] * 50,
            "y": [0, 1] * 100,
        }
    )
    ds = Dataset(frame, target="y", sensitive="s")
    _, test = ds.split(0.5, stratify="region", random_state=0)
    assert test.frame["region"].value_counts().tolist() == [25, 25, 25, 25]
    plain_train, plain_test = ds.split(0.5, stratify=False, random_state=0)
    assert len(plain_train) == len(plain_test) == 100
    with pytest.raises(ColumnError, match="Unknown stratify column 'regio'"):
        ds.split(0.5, stratify=["regio"])


# --------------------------------------------------------------------------- lazy and sample
def test_allocate_sample_hand_computed():
    from raikit.dataset import allocate_sample

    # minimums 50, 50, 50, 10 (the last group has only 10); 840 left, shared by what is left
    # (8950, 850, 40, 0): 764.02, 72.56, 3.41 -> floors 764, 72, 3 and the last row to 72.56
    assert allocate_sample([9000, 900, 90, 10], 1000, 50).tolist() == [814, 123, 53, 10]
    # asking for more than there is returns everything; minimums alone may exceed n
    assert allocate_sample([5, 7], 100, 3).tolist() == [5, 7]
    assert allocate_sample([100, 100, 100], 10, 5).tolist() == [5, 5, 5]


def test_sample_by_columns_and_plain(frame):
    ds = Dataset(frame, target="hired", sensitive=["sex", "race"])
    plain = ds.sample(3, random_state=0)
    assert len(plain) == 3 and plain.sampling["population"].tolist() == [len(frame)]
    by_race = ds.sample(4, stratify="race", min_per_group=2, random_state=0)
    assert sorted(by_race.frame["race"].value_counts().tolist()) == [2, 2]
    assert by_race.weights.sum() == pytest.approx(len(frame))
    assert by_race.weight == "sample_weight" and "sample_weight" not in by_race.feature_names


def test_lazy_csv_glob_has_the_roles_of_an_in_memory_dataset(frame, tmp_path):
    frame.iloc[:3].to_csv(tmp_path / "part-a.csv", index=False)
    frame.iloc[3:].to_csv(tmp_path / "part-b.csv", index=False)
    lazy = Dataset(str(tmp_path / "part-*.csv"), target="hired", sensitive=["sex", "race"])
    eager = Dataset(frame, target="hired", sensitive=["sex", "race"])
    assert lazy.is_lazy and not eager.is_lazy
    assert lazy.n_rows == eager.n_rows and lazy.feature_names == eager.feature_names
    assert lazy._cache is None
    expected = pd.concat(
        [pd.read_csv(tmp_path / "part-a.csv"), pd.read_csv(tmp_path / "part-b.csv")],
        ignore_index=True,
    )
    pd.testing.assert_frame_equal(lazy.frame, expected)  # as pandas reads the files
    loaded = Dataset(str(tmp_path / "part-*.csv"), target="hired", sensitive="sex", lazy=False)
    assert not loaded.is_lazy and loaded.n_rows == len(frame)


def test_with_predictions_scores_the_positive_label_not_column_one():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=200), "s": rng.choice(["a", "b"], 200)})
    frame["y"] = np.where(frame["x"] + rng.normal(size=200) > 0, "approved", "denied")
    ds = Dataset(frame, target="y", sensitive="s", features=["x"])
    model = LogisticRegression().fit(ds.X, ds.y)
    assert list(model.classes_) == ["approved", "denied"]
    scored = ds.with_predictions(model, pos_label="approved")
    np.testing.assert_array_equal(scored.y_score, model.predict_proba(ds.X)[:, 0])
    unknown = ds.with_predictions(model)  # no positive label: no score, never column 1
    assert unknown.score is None and unknown.prediction == "prediction"
    with pytest.raises(ParameterError, match="pos_label='granted' is not one of the labels"):
        ds.with_predictions(model, pos_label="granted")
    binary = Dataset(
        frame.assign(y=(frame["y"] == "approved").astype(int)),
        target="y",
        sensitive="s",
        features=["x"],
    )
    fitted = LogisticRegression().fit(binary.X, binary.y)
    np.testing.assert_array_equal(
        binary.with_predictions(fitted).y_score, fitted.predict_proba(binary.X)[:, 1]
    )
