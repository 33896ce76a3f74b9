"""`raikit estimate`: label-free estimates per group on the command line, errors in CLI words."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import raikit
from raikit import Result
from raikit.evaluate import PerformanceEstimateResult


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "raikit.cli", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env={"COLUMNS": "250", "PATH": "", "PYTHONPATH": str(Path(raikit.__file__).parents[1])},
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("estimate")
    rng = np.random.default_rng(0)
    n = 1200
    frame = pd.DataFrame({"sex": rng.choice(["F", "M"], n), "p": rng.uniform(0.02, 0.98, n)})
    frame["pred"] = (frame["p"] >= 0.5).astype(int)
    frame["y"] = (rng.random(n) < frame["p"] ** 2).astype(int)  # the scores run high
    frame.iloc[:600].to_csv(folder / "ref.csv", index=False)
    frame.iloc[600:].drop(columns="y").to_csv(folder / "cur.csv", index=False)
    return folder


@pytest.mark.slow
def test_estimate_command_prints_the_table_and_writes_json(files):
    out = run(
        "estimate",
        "--data", str(files / "cur.csv"),
        "--reference", str(files / "ref.csv"),
        "--target", "y",
        "--sensitive", "sex",
        "--prediction", "pred",
        "--score", "p",
        "--n-boot", "100",
        "--out", str(files / "out"),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "Estimated without labels on cur.csv (calibration: platt" in out.stdout
    assert "Calibration: platt" in out.stdout  # what calibrate='auto' decided, and why
    result = Result.from_json((files / "out" / "estimate.json").read_text())
    assert isinstance(result, PerformanceEstimateResult)
    assert result.calibrate == "platt"
    # the calibrated estimate corrects the high scores: accuracy near what p**2 implies
    accuracy = result.by_group().loc[("overall", "overall"), "accuracy"]
    assert 0.6 < accuracy < 0.8
    assert json.loads((files / "out" / "estimate.json").read_text())
    assert (files / "out" / "estimate.html").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--reference", "REF"], "--reference needs --target"),
        (["--calibrate", "magic"], "--calibrate must be one of"),
    ],
)
def test_estimate_command_errors_speak_in_flags(files, extra, message):
    extra = [str(files / "ref.csv") if e == "REF" else e for e in extra]
    out = run(
        "estimate", "--data", str(files / "cur.csv"), "--sensitive", "sex", "--score", "p", *extra
    )
    assert out.returncode == 2
    assert message in out.stderr
    assert "Traceback" not in out.stderr and "estimate_performance()" not in out.stderr


def test_estimate_command_without_a_score_says_which_flag(files):
    out = run("estimate", "--data", str(files / "cur.csv"), "--sensitive", "sex")
    assert out.returncode == 2
    assert "name it with --score COLUMN, or pass --model FILE" in out.stderr
