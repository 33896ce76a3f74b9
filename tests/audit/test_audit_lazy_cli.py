"""``raikit audit`` on a quoted glob of Parquet files: the rows stay in the files (DuckDB), the
predictions are streamed to ``<out>/predictions``, and the report holds the numbers of the
same audit in memory."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from raikit import Dataset, save_model
from raikit.audit import AuditReport, audit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/_cli.py, the CLI runner
from _cli import run

pytest.importorskip("duckdb")

FEATURES = ["age", "hours", "colour"]
SECTIONS = ["bias", "accuracy", "data_profile"]


def _table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "hours": rng.normal(40, 10, n).round(1),
            "colour": pd.Categorical(rng.choice(["red", "green", "blue"], n)),
            "sex": rng.choice(["F", "M"], n),
        }
    )
    signal = frame["age"] / 80 + (frame["colour"] == "red") * 0.3
    frame["y"] = (signal + rng.normal(0, 0.3, n) > 0.75).astype(int)
    return frame


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """train/ and test/ folders of two Parquet files each, a model file, and the tables."""
    folder = tmp_path_factory.mktemp("glob")
    train, test = _table(800, 0), _table(600, 1)
    for name, frame in (("train", train), ("test", test)):
        (folder / name).mkdir()
        half = len(frame) // 2
        frame.iloc[:half].to_parquet(folder / name / "part-0.parquet")
        frame.iloc[half:].to_parquet(folder / name / "part-1.parquet")
    model = HistGradientBoostingClassifier(
        categorical_features="from_dtype", max_iter=20, random_state=0
    ).fit(train[FEATURES], train["y"])
    save_model(model, folder / "model.skops")
    return folder, model, train, test


def _audit(folder: Path, *extra: str, train: str = "train/*.parquet"):
    return run(
        "audit",
        "--train",
        train,
        "--test",
        "test/*.parquet",
        "--model",
        "model.skops",
        "--target",
        "y",
        "--sensitive",
        "sex",
        "--n-boot",
        "50",
        "--sections",
        ",".join(SECTIONS),
        *extra,
        cwd=folder,
    )


def test_audit_of_a_glob_on_duckdb_writes_the_report_and_the_predictions(files):
    folder, model, train, test = files
    out = _audit(folder, "--backend", "duckdb", "--out", "report")
    assert out.returncode == 0, out.stderr
    report = AuditReport.from_json((folder / "report" / "audit.json").read_text())
    assert (folder / "report" / "audit.html").stat().st_size > 0
    # the glob reached the Dataset unexpanded: both files of each side, read where they lie
    train_meta = report.meta["train"]
    assert (train_meta["name"], train_meta["rows"], train_meta["backend"]) == (
        "train",
        800,
        "duckdb",
    )
    assert Path(train_meta["predictions"]) == folder / "report" / "predictions" / "train.parquet"
    assert report.meta["test"]["rows"] == 600 and report.meta["test"]["backend"] == "duckdb"
    assert sorted(report.meta["sections"].values()) == sorted(SECTIONS)
    # the scored rows in <out>/predictions: every row once, the model's own predictions
    written = pd.read_parquet(folder / "report" / "predictions" / "test.parquet")
    assert len(written) == 600
    np.testing.assert_array_equal(written["prediction"], model.predict(test[FEATURES]))
    np.testing.assert_allclose(
        written["score"], model.predict_proba(test[FEATURES])[:, 1], rtol=0, atol=1e-12
    )
    assert sorted(p.name for p in (folder / "report" / "predictions").iterdir()) == [
        "test.parquet",
        "train.parquet",
    ]
    # the group metrics of the report are those of the audit in memory (counts exactly)
    roles = {"target": "y", "sensitive": ["sex"]}
    memory = audit(
        model,
        train=Dataset(train, name="train", **roles),
        test=Dataset(test, name="test", **roles),
        sections=["bias"],
        n_boot=50,
        random_state=0,
    )
    exact = memory.results["metrics.group_metrics"].by_group
    lazy = report.results["metrics.group_metrics"].by_group
    for metric in ("count", "selection_rate", "accuracy"):
        np.testing.assert_allclose(lazy[metric], exact[metric], rtol=0, atol=1e-12)


def test_audit_numpy_backend_loads_the_glob_and_custom_predictions_folder(files, tmp_path):
    folder, *_ = files
    out = _audit(folder, "--backend", "numpy", "--out", str(tmp_path / "r"), "--predictions", "p")
    assert out.returncode == 0, out.stderr
    report = AuditReport.from_json((tmp_path / "r" / "audit.json").read_text())
    assert report.meta["train"] == {"name": "train", "rows": 800, "backend": "numpy"}
    assert not (folder / "p").exists()  # in memory: predicted in memory, nothing written


@pytest.mark.parametrize("backend", ["duckdb", "numpy"])
def test_a_glob_that_matches_nothing_is_a_clear_error_naming_train(files, tmp_path, backend):
    folder, *_ = files
    out = _audit(
        folder, "--backend", backend, "--out", str(tmp_path / "r"), train="trian/*.parquet"
    )
    assert out.returncode == 2
    assert "--train 'trian/*.parquet'" in out.stderr
    assert "No file matches" in out.stderr
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "r").exists()


def test_an_unknown_backend_is_refused(files, tmp_path):
    folder, *_ = files
    out = _audit(folder, "--backend", "polars", "--out", str(tmp_path / "r"))
    assert out.returncode == 2 and "--backend must be numpy, duckdb, spark or auto" in out.stderr
