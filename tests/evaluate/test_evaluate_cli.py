"""`raikit evaluate` and `raikit slices` end to end on COMPAS with a saved model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import raikit
from raikit import Result, save_model
from raikit.evaluate import EvaluationResult, SliceResult


def run(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "raikit.cli", *args],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=cwd,
        # the raikit under test (a worktree's src/), not whichever one the venv installed
        env={"COLUMNS": "200", "PATH": "", "PYTHONPATH": str(Path(raikit.__file__).parents[1])},
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory, compas_split, compas_boosting):
    folder = tmp_path_factory.mktemp("cli")
    _, test = compas_split
    test.frame.to_parquet(folder / "test.parquet")
    test.frame.to_csv(folder / "test.csv", index=False)
    save_model(compas_boosting, folder / "model.skops")
    return folder


@pytest.mark.slow
def test_evaluate_command_writes_html_and_json(files):
    out = run(
        "evaluate",
        "--data",
        str(files / "test.parquet"),
        "--model",
        str(files / "model.skops"),
        "--trust",
        "functools.partial",
        "--target",
        "two_year_recid",
        "--sensitive",
        "race,sex",
        "--thresholds",
        "0.4,0.6",
        "--n-boot",
        "100",
        "--out",
        str(files / "ev"),
    )
    assert out.returncode == 0, out.stderr
    assert "Evaluation of test.parquet" in out.stdout and "threshold 0.4" in out.stdout
    result = Result.from_json(str(files / "ev" / "evaluation.json"))
    assert isinstance(result, EvaluationResult) and result.thresholds == [0.4, 0.6]
    assert (files / "ev" / "evaluation.html").read_text().startswith("<!DOCTYPE html>")


@pytest.mark.slow
def test_slices_command_without_sensitive_attributes(files):
    out = run(
        "slices",
        "--data",
        str(files / "test.csv"),
        "--model",
        str(files / "model.skops"),
        "--trust",
        "functools.partial",
        "--target",
        "two_year_recid",
        "--method",
        "lattice",
        "--loss",
        "zero_one",
        "--effect-size",
        "0.2",
        "--out",
        str(files / "sl"),
    )
    assert out.returncode == 0, out.stderr
    data = json.loads((files / "sl" / "slices.json").read_text())
    result = Result.from_dict(data)
    assert isinstance(result, SliceResult)
    assert "sex" not in result.overall["features"]  # only the model's inputs are searched
    assert "problematic slice" in out.stdout


@pytest.mark.slow
def test_cli_errors_exit_with_code_2(files):
    out = run(
        "slices",
        "--data",
        str(files / "test.csv"),
        "--model",
        str(files / "model.skops"),
        "--trust",
        "functools.partial",
        "--target",
        "nope",
    )
    assert out.returncode == 2 and "error:" in out.stderr and "nope" in out.stderr
    out = run(
        "evaluate",
        "--data",
        str(files / "test.csv"),
        "--prediction",
        "decile_score",
        "--target",
        "two_year_recid",
        "--sensitive",
        "race",
        "--thresholds",
        "a,b",
    )
    assert out.returncode == 2 and "--thresholds" in out.stderr


def test_slices_pos_label_flag(tmp_path, monkeypatch, capsys):
    import numpy as np
    import pandas as pd

    from raikit.cli import main

    rng = np.random.default_rng(0)
    n = 400
    frame = pd.DataFrame({"colour": rng.choice(["red", "blue"], n), "s": rng.choice(["F", "M"], n)})
    frame["y"] = rng.choice(["approved", "denied"], n)
    frame["p"] = np.clip(rng.random(n), 0.01, 0.99)  # probability of 'approved'
    frame.to_csv(tmp_path / "scored.csv", index=False)
    args = ["raikit", "slices", "--data", str(tmp_path / "scored.csv"), "--target", "y"]
    args += ["--sensitive", "s", "--score", "p", "--out", str(tmp_path / "out")]
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr(sys, "argv", args)
    with pytest.raises(SystemExit) as refused:
        main()
    err = capsys.readouterr().err
    assert refused.value.code != 0 and "--pos-label" in err and "Traceback" not in err
    monkeypatch.setattr(sys, "argv", [*args, "--pos-label", "approved"])
    try:
        main()
    except SystemExit as done:
        assert not done.code
    assert "positive label 'approved'" in capsys.readouterr().out
    saved = Result.from_json((tmp_path / "out" / "slices.json").read_text())
    approved = (frame["y"] == "approved").to_numpy()
    expected = -np.where(approved, np.log(frame["p"]), np.log1p(-frame["p"])).mean()
    assert saved.overall["pos_label"] == "approved"
    assert saved.overall["mean_loss"] == pytest.approx(expected, rel=1e-12)


def test_evaluate_and_slices_take_a_weight_column(tmp_path):
    # --weight is the Dataset's weight role on the command line: the evaluation's accuracy per
    # group is the weighted one, and slices are searched with the weights
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    n = 600
    frame = pd.DataFrame(
        {
            "s": rng.choice(["f", "m"], n),
            "a": rng.choice(["x", "y", "z"], n),
            "y": rng.integers(0, 2, n),
            "w": rng.integers(1, 4, n).astype(float),
        }
    )
    frame["p"] = np.where((frame["a"] == "x") & (rng.random(n) < 0.7), 1 - frame["y"], frame["y"])
    frame.to_parquet(tmp_path / "d.parquet")
    base = ["--data", str(tmp_path / "d.parquet"), "--target", "y", "--sensitive", "s"]
    out = run(
        "evaluate",
        *base,
        "--prediction",
        "p",
        "--weight",
        "w",
        "--n-boot",
        "50",
        "--out",
        str(tmp_path / "ev"),
    )
    assert out.returncode == 0, out.stderr
    result = Result.from_json(str(next((tmp_path / "ev").glob("*.json"))))
    women = frame[frame["s"] == "f"]
    expected = np.average(women["y"] == women["p"], weights=women["w"])
    assert result.at().loc[("s", "f"), "accuracy"] == pytest.approx(expected, abs=1e-12)
    out = run(
        "slices",
        *base,
        "--prediction",
        "p",
        "--weight",
        "w",
        "--loss",
        "zero_one",
        "--features",
        "a",
        "--out",
        str(tmp_path / "sl"),
    )
    assert out.returncode == 0, out.stderr
    found = Result.from_json(str(next((tmp_path / "sl").glob("*.json"))))
    top = found.slices.iloc[0]
    assert top["slice"] == "a = x"
    assert top["size"] == pytest.approx(frame.loc[frame["a"] == "x", "w"].sum())
