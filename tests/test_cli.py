"""The command line: version, datasets, metrics (table, JSON, HTML) and clear errors."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from raikit import __version__


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "raikit.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={"COLUMNS": "200", "PATH": ""},
    )


@pytest.fixture
def predictions(tmp_path):
    rng = np.random.default_rng(0)
    n = 400
    frame = pd.DataFrame(
        {
            "sex": rng.choice(["F", "M"], n),
            "race": rng.choice(["A", "B", "C"], n),
            "y": rng.integers(0, 2, n),
        }
    )
    frame["p"] = np.where(rng.random(n) < 0.8, frame["y"], 1 - frame["y"])
    frame["s"] = np.clip(0.5 * frame["p"] + 0.5 * rng.random(n), 0, 1)
    path = tmp_path / "pred.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_version():
    out = run("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"raikit {__version__}"


def test_datasets_list_shows_provenance():
    out = run("datasets", "list")
    assert out.returncode == 0, out.stderr
    for name in ("adult", "compas", "german_credit"):
        assert name in out.stdout
    assert "CC BY 4.0" in out.stdout


def test_metrics_writes_json_and_html(predictions, tmp_path):
    from raikit import Result

    path, frame = predictions
    out = run(
        "metrics",
        str(path),
        "--target",
        "y",
        "--prediction",
        "p",
        "--sensitive",
        "sex,race",
        "--score",
        "s",
        "--ci",
        "0.9",
        "--n-boot",
        "100",
        "--json",
        str(tmp_path / "m.json"),
        "--html",
        str(tmp_path / "m.html"),
    )
    assert out.returncode == 0, out.stderr
    assert "sex & race" in out.stdout
    result = Result.from_json(str(tmp_path / "m.json"))
    women = frame[frame["sex"] == "F"]
    assert result.by_group.loc[("sex", "F"), "selection_rate"] == pytest.approx(
        women["p"].mean(), abs=1e-12
    )
    assert json.loads((tmp_path / "m.json").read_text())["type"] == "GroupMetricsResult"
    html = (tmp_path / "m.html").read_text()
    # Plotly's JavaScript is inline: the page loads no script from the network.
    assert "Plotly.newPlot" in html and '<script src="http' not in html
    assert html.count('class="figure"') >= 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--target", "yy", "--prediction", "p", "--sensitive", "sex"],
            "Unknown target column 'yy'",
        ),
        (
            ["--target", "y", "--prediction", "p", "--sensitive", "gender"],
            "Unknown sensitive column 'gender'",
        ),
    ],
)
def test_metrics_bad_columns_exit_2_with_a_clear_message(predictions, args, message):
    path, _ = predictions
    out = run("metrics", str(path), *args)
    assert out.returncode == 2
    assert message in out.stderr
    assert "Traceback" not in out.stderr


def test_metrics_corrupt_file(tmp_path):
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not a parquet file")
    out = run("metrics", str(bad), "--target", "y", "--prediction", "p", "--sensitive", "s")
    assert out.returncode == 2 and "corrupt" in out.stderr and "Traceback" not in out.stderr
