"""The duckdb backend returns the numpy engine's numbers: counts exact, metrics and CIs identical."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from raikit import ColumnError, Dataset, FileFormatError, ParameterError, Result
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


@pytest.fixture(scope="module")
def adult_files(adult_scored, tmp_path_factory):
    folder = tmp_path_factory.mktemp("parquet")
    frame = adult_scored.frame[["sex", "race", "income", "prediction"]].copy()
    frame["sex"] = frame["sex"].astype(str)
    frame["race"] = frame["race"].astype(str)
    for i, rows in enumerate(np.array_split(np.arange(len(frame)), 3)):  # a glob of three files
        frame.iloc[rows].to_parquet(folder / f"part-{i}.parquet", index=False)
    frame.to_csv(folder / "all.csv", index=False)
    return folder, frame


@pytest.mark.parametrize("pattern", ["part-*.parquet", "all.csv"])
def test_same_numbers_as_the_numpy_engine(adult_files, pattern):
    folder, frame = adult_files
    kwargs = {"ci": 0.95, "n_boot": 200, "random_state": 7}
    on_disk = on_files(
        str(folder / pattern),
        target="income",
        prediction="prediction",
        sensitive=["sex", "race"],
        **kwargs,
    )
    in_memory = group_metrics(
        frame["income"], frame["prediction"], sensitive_features=frame[["sex", "race"]], **kwargs
    )
    assert on_disk.meta["backend"] == "duckdb" and on_disk.meta["n_rows"] == len(frame)
    counts = on_disk.by_group["count"]
    np.testing.assert_array_equal(counts.to_numpy(), in_memory.by_group["count"].to_numpy())
    pd.testing.assert_frame_equal(
        on_disk.table, in_memory.table, check_exact=False, rtol=0, atol=1e-12
    )
    pd.testing.assert_frame_equal(
        on_disk.disparities, in_memory.disparities, check_exact=False, rtol=0, atol=1e-12
    )


def test_numpy_backend_on_a_path_agrees(adult_files):
    folder, _ = adult_files
    a = on_files(
        str(folder / "all.csv"),
        target="income",
        prediction="prediction",
        sensitive="sex",
        backend="numpy",
        metrics=["accuracy", "tpr"],
    )
    b = on_files(
        str(folder / "all.csv"),
        target="income",
        prediction="prediction",
        sensitive="sex",
        backend="duckdb",
        metrics=["accuracy", "tpr"],
    )
    pd.testing.assert_frame_equal(a.by_group, b.by_group, check_exact=False, rtol=0, atol=1e-12)


def test_clear_errors(adult_files, tmp_path):
    folder, _ = adult_files
    with pytest.raises(FileFormatError, match="No file matches"):
        on_files(
            str(tmp_path / "none-*.parquet"),
            target="income",
            prediction="prediction",
            sensitive=["sex"],
        )
    with pytest.raises(ColumnError, match="Unknown sensitive column 'gender'"):
        on_files(
            str(folder / "part-*.parquet"),
            target="income",
            prediction="prediction",
            sensitive=["gender"],
        )
    with pytest.raises(ColumnError, match="data has no target column"):
        on_files(str(folder / "all.csv"), target=None, prediction=None, sensitive=["sex"])
    with pytest.raises(ColumnError, match="Unknown score column 'score'"):
        on_files(
            str(folder / "all.csv"),
            target="income",
            prediction="prediction",
            sensitive=["sex"],
            score="score",
        )
    with pytest.raises(ParameterError, match="no regression or custom callables"):
        on_files(
            str(folder / "all.csv"),
            target="income",
            prediction="prediction",
            sensitive=["sex"],
            task="regression",
        )
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(FileFormatError, match=r"Cannot read .*bad\.parquet.* as Parquet"):
        on_files(str(tmp_path / "bad.parquet"), target="y", prediction="p", sensitive=["s"])


def test_cli_duckdb_backend_on_a_glob(adult_files, tmp_path):
    import subprocess
    import sys

    folder, frame = adult_files
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "raikit.cli",
            "metrics",
            str(folder / "part-*.parquet"),
            "--target",
            "income",
            "--prediction",
            "prediction",
            "--sensitive",
            "sex,race",
            "--backend",
            "duckdb",
            "--json",
            str(tmp_path / "m.json"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={"COLUMNS": "200", "PATH": ""},
    )
    assert result.returncode == 0, result.stderr
    saved = Result.from_json(str(tmp_path / "m.json"))
    assert saved.meta["backend"] == "duckdb" and saved.meta["n_rows"] == len(frame)
