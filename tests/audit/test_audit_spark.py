"""The audit on Spark DataFrames (local mode): predictions through ``mapInPandas`` equal the
in-memory ones, and every section listed in ``LAZY_SECTIONS`` runs on Spark with the numbers of
the same audit on the Parquet files (DuckDB) and, where the lazy path is exact, in memory.

The run's one local SparkSession (tests/conftest.py; the JVM takes ~10 s to start) serves it
and the three audits run once (a module fixture), so the tests are few and each checks a lot. A section made
lazy-capable is added to ``LAZY_SECTIONS``; nothing else needs to change.
"""

from __future__ import annotations

import inspect
import math

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

from raikit import DataError, Dataset
from raikit.audit import _audit, audit
from raikit.data import profile

pytest.importorskip("pyspark")
pytest.importorskip("duckdb")

pytestmark = [  # pyspark's own notices about pandas 3 (createDataFrame); not about raikit
    pytest.mark.filterwarnings("ignore:PySpark does not yet:FutureWarning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]

# The sections expected to run on a lazy Dataset, each with the most rows it may load into memory
# (0: aggregates only, computed where the rows live; else the size of the sample it draws).
LAZY_SECTIONS = {
    "bias": 0,
    "accuracy": 0,
    "data_profile": inspect.signature(profile).parameters["association_sample"].default,
    "data_representation": 0,
    "data_drift": 0,
    "multivariate_drift": _audit._MULTIVARIATE_ROWS,
}
# The other sections also run on Spark. Those that need rows draw their sample where the rows
# live, in Spark's row order, which is not the files' order: their numbers are compared with
# in-memory ones by the MATERIALIZE_LIMIT tests of each check, not here. The ones listed with 0
# must load no row at all.
SPARK_ONLY_SECTIONS = {
    "evaluation": 0,
    "inequality": None,
    "slices": 0,
    "performance_estimate": None,
    "robustness": None,
    "data_leakage": None,
    "privacy": None,
    "explainability": None,
    "glassbox": None,
    "shape_constraints": None,
    "sensitive_data": None,
    "federated": 0,
    "evasion": None,
}
FEATURES = ["age", "hours", "colour"]
ROLES = {"target": "y", "sensitive": ["sex"], "features": FEATURES}
SCORE_METRICS = {"roc_auc", "brier_score", "log_loss", "expected_calibration_error"}


def _table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "id": np.arange(n),
            "age": rng.integers(18, 80, n),
            "hours": rng.normal(40, 10, n).round(2),
            "colour": pd.Categorical(rng.choice(["red", "green", "blue"], n)),
            "sex": rng.choice(["F", "M"], n, p=[0.35, 0.65]),
        }
    )
    signal = frame["age"] / 80 + (frame["colour"] == "red") * 0.3 + (frame["sex"] == "M") * 0.1
    frame["y"] = (signal + rng.normal(0, 0.3, n) > 0.75).astype(int)
    return frame


def _on_spark(spark, frame: pd.DataFrame):
    """The frame as Spark holds it: category columns become strings."""
    plain = frame.assign(**{c: frame[c].astype(str) for c in frame if frame[c].dtype == "category"})
    return spark.createDataFrame(plain)


@pytest.fixture(scope="module")
def data():
    train, test = _table(1500, 0), _table(900, 1)
    # trained on a pandas category column: on Spark the column is a string column
    model = HistGradientBoostingClassifier(
        categorical_features="from_dtype", max_iter=30, random_state=0
    ).fit(train[FEATURES], train["y"])
    return model, train, test


@pytest.fixture(scope="module")
def audits(spark, data, tmp_path_factory):
    """The same audit of LAZY_SECTIONS in memory, on Parquet files (DuckDB) and on Spark."""
    model, train, test = data
    folder = tmp_path_factory.mktemp("audit")
    settings = {"sections": list(LAZY_SECTIONS), "n_boot": 50, "random_state": 0}
    train.to_parquet(folder / "train.parquet")
    test.to_parquet(folder / "test.parquet")
    memory = audit(
        model,
        train=Dataset(train, name="train", **ROLES),
        test=Dataset(test, name="test", **ROLES),
        **settings,
    )
    files = audit(
        model,
        train=Dataset(str(folder / "train.parquet"), name="train", lazy=True, **ROLES),
        test=Dataset(str(folder / "test.parquet"), name="test", lazy=True, **ROLES),
        predictions_dir=folder / "duckdb",
        **settings,
    )
    loads = []  # (step, rows) of every lazy Dataset loaded into memory during the audit
    current = ["predictions"]  # the step running: the predictions, then each section
    every = [*LAZY_SECTIONS, *SPARK_ONLY_SECTIONS]

    def step(done, total, description):
        if description and description.startswith("Predicting"):
            current.append("predictions")
        else:
            current.append(every[min(done, total - 1)])

    def materialize(ds, *args, **kwargs):
        if ds._cache is None:
            loads.append((current[-1], ds.n_rows))
        return materialize.original(ds, *args, **kwargs)

    materialize.original = Dataset.materialize
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Dataset, "materialize", materialize)
        on_spark = audit(
            model,
            train=Dataset(_on_spark(spark, train), name="train", lazy=True, **ROLES),
            test=Dataset(_on_spark(spark, test), name="test", lazy=True, **ROLES),
            predictions_dir=folder / "spark",
            progress=step,
            **{**settings, "sections": every},
            clients="sex",
            constraints={"age": "increasing"},
        )
    on_spark.meta["loaded"] = loads
    return memory, files, on_spark, folder


def _differences(a, b, path: str = "") -> list:
    """Where two results' ``to_dict()`` differ: numbers beyond 1e-9 (relative), anything else
    unequal; the backend's name, which says where the rows were, is not compared."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = [] if set(a) == set(b) else [(path, sorted(set(a) ^ set(b)))]
        return out + [d for k in set(a) & set(b) for d in _differences(a[k], b[k], f"{path}/{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [(path, len(a), len(b))]
        if len(a) == 2 and a[0] == b[0] == "backend":  # a meta item as (key, value)
            return []
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in _differences(x, y, f"{path}[{i}]")
        ]
    if isinstance(a, float | int) and isinstance(b, float | int) and not isinstance(a, bool):
        both_nan = a != a and b != b
        return [] if both_nan or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12) else [(path, a, b)]
    return [] if a == b else [(path, a, b)]


@pytest.mark.parametrize("section", LAZY_SECTIONS)
def test_section_runs_on_spark_with_the_numbers_of_duckdb(audits, section):
    memory, files, on_spark, _ = audits
    checks = [c for c, s in memory.meta["sections"].items() if s == section]
    assert checks, f"{section} produced no result in memory"
    assert section not in on_spark.meta["skipped"]
    for check in checks:
        assert on_spark.meta["sections"][check] == section
        differences = _differences(
            files.results[check].to_dict(), on_spark.results[check].to_dict()
        )
        assert differences == [], f"{check}: Spark and DuckDB differ at {differences[:5]}"
    assert (on_spark.meta["test"]["backend"], files.meta["test"]["backend"]) == ("spark", "duckdb")
    # no more rows in memory than the section's sample (none for an aggregate section)
    loaded = [rows for where, rows in on_spark.meta["loaded"] if where == section]
    assert all(rows <= LAZY_SECTIONS[section] for rows in loaded), loaded


@pytest.mark.parametrize("section", SPARK_ONLY_SECTIONS)
def test_every_other_section_runs_on_spark(audits, section):
    on_spark = audits[2]
    assert section not in on_spark.meta["skipped"], on_spark.meta["skipped"].get(section)
    checks = [c for c, s in on_spark.meta["sections"].items() if s == section]
    assert checks and all(on_spark.results[c].summary for c in checks)
    if SPARK_ONLY_SECTIONS[section] == 0:  # aggregates only: no row reached Python
        assert [rows for where, rows in on_spark.meta["loaded"] if where == section] == []


def test_group_metrics_on_spark_equal_the_in_memory_ones(audits):
    memory, _, on_spark, _ = audits
    for check in ("metrics.group_metrics", "metrics.group_metrics.train"):
        exact, lazy = memory.results[check], on_spark.results[check]
        assert lazy.meta["backend"] == "spark"
        # counts and every metric of counts: identical values and bootstrap intervals
        counted = [m for m in exact.by_group.columns if m not in SCORE_METRICS]
        assert {"selection_rate", "accuracy"} <= set(counted)
        for frame in ("by_group", "by_group_lower", "by_group_upper"):
            pd.testing.assert_frame_equal(
                getattr(lazy, frame)[counted],
                getattr(exact, frame)[counted],
                check_exact=False,
                rtol=0,
                atol=1e-12,
            )
        # the AUC from 1,000 score bins: within the error bound the result states
        bound = lazy.meta["roc_auc_error_bound"]
        assert abs(lazy.overall["roc_auc"] - exact.overall["roc_auc"]) <= bound["overall"]
        for (attribute, group), value in lazy.by_group["roc_auc"].items():
            gap = abs(value - exact.by_group.loc[(attribute, group), "roc_auc"])
            assert gap <= bound[f"{attribute}={group}"]


def test_spark_predictions_are_the_in_memory_ones(audits, data, spark):
    model, _, test = data
    _, _, on_spark, folder = audits
    written = pd.read_parquet(folder / "spark" / "test.parquet").sort_values("id")
    expected = Dataset(test, **ROLES).with_predictions(model).frame
    # the category model on Spark's string column: same labels, same probabilities
    np.testing.assert_array_equal(written["prediction"].to_numpy(), expected["prediction"])
    np.testing.assert_allclose(written["score"].to_numpy(), expected["score"], rtol=0, atol=1e-12)
    assert written["prediction"].dtype == np.int64
    assert on_spark.meta["test"]["rows"] == len(test)
    # the rows were scored where they live: none was loaded into memory to predict
    assert [rows for where, rows in on_spark.meta["loaded"] if where == "predictions"] == []


def test_a_lightgbm_model_on_category_columns_predicts_on_spark_strings(spark, data, tmp_path):
    """LightGBM refuses a string column where it learned a category: each batch gets the
    model's categories back (in memory the column is a category already)."""
    lightgbm = pytest.importorskip("lightgbm")
    _, train, test = data
    model = lightgbm.LGBMClassifier(n_estimators=20, verbose=-1, random_state=0)
    model.fit(train[FEATURES], train["y"])
    lazy = Dataset(_on_spark(spark, test), lazy=True, name="test", **ROLES)
    got = lazy.with_predictions(model, out=tmp_path / "scored").table.frame.toPandas()
    got = got.sort_values("id")
    np.testing.assert_array_equal(got["prediction"].to_numpy(), model.predict(test[FEATURES]))
    np.testing.assert_allclose(
        got["score"].to_numpy(), model.predict_proba(test[FEATURES])[:, 1], rtol=0, atol=1e-12
    )


@pytest.mark.parametrize(
    ("labels", "pos_label"),
    [({0: False, 1: True}, None), ({0: "no", 1: "yes"}, "yes"), ({0: "yes", 1: "no"}, "yes")],
)
def test_prediction_types_and_the_positive_label_on_spark(spark, data, tmp_path, labels, pos_label):
    _, train, test = data
    numeric = ["age", "hours"]
    model = LogisticRegression(max_iter=500).fit(train[numeric], train["y"].map(labels))
    frame = test.assign(y=test["y"].map(labels))
    roles = {"target": "y", "sensitive": ["sex"], "features": numeric}
    lazy = Dataset(_on_spark(spark, frame), lazy=True, name="test", **roles)
    scored = lazy.with_predictions(model, pos_label=pos_label, out=tmp_path / "scored")
    assert scored.is_lazy and scored.score == "score"
    got = scored.table.frame.toPandas().sort_values("id")
    expected = Dataset(frame, **roles).with_predictions(model, pos_label=pos_label).frame
    np.testing.assert_array_equal(got["prediction"].to_numpy(), expected["prediction"].to_numpy())
    assert type(got["prediction"].iloc[0]) is type(expected["prediction"].iloc[0])
    # the score is the positive label's probability, whatever the classes' order
    positive = pos_label if pos_label is not None else True
    column = list(model.classes_).index(positive)
    np.testing.assert_allclose(
        got["score"].to_numpy(), model.predict_proba(frame[numeric])[:, column], atol=1e-12
    )


def test_a_model_failing_on_spark_names_the_rows_and_leaves_no_file(spark, data, tmp_path):
    _, _, test = data
    test = test.assign(age=np.where(test["id"] >= 800, 120, test["age"]))  # the last rows

    class Fails:
        classes_ = np.array([0, 1])
        feature_names_in_ = np.array(["age", "hours"])

        def predict(self, X):
            if (X["age"] > 100).any():
                raise ValueError("age out of range")
            return np.zeros(len(X), dtype=int)

    lazy = Dataset(_on_spark(spark, test), lazy=True, name="scoring", target="y", sensitive="sex")
    out = tmp_path / "scored"
    with pytest.raises(DataError, match=r"'scoring'.*rows \d[\d,]* to \d[\d,]*.*age out of range"):
        lazy.with_predictions(Fails(), out=out)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # nor the temporary folder
