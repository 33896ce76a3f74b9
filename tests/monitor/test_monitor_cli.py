"""`raikit monitor ingest|history` in a subprocess, on Adult predictions."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SRC = str(Path(__file__).parents[2] / "src")


def _run(*args):
    return subprocess.run(
        [sys.executable, "-m", "raikit.cli", *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.slow
def test_monitor_ingest_and_history(tmp_path, adult_scored):
    frame = adult_scored.frame.copy()
    frame["id"] = np.arange(len(frame))
    frame.iloc[:6000].to_csv(tmp_path / "ref.csv", index=False)
    frame.iloc[6000:].to_csv(tmp_path / "prod.csv", index=False)
    frame.iloc[6000:9000][["id", "income"]].to_csv(tmp_path / "labels.csv", index=False)
    frame.iloc[9000:12000][["id", "income"]].to_csv(tmp_path / "late.csv", index=False)
    out = _run(
        "monitor",
        "ingest",
        str(tmp_path / "prod.csv"),
        "--reference",
        str(tmp_path / "ref.csv"),
        "-t",
        "income",
        "-s",
        "sex,race",
        "-p",
        "prediction",
        "--score",
        "score",
        "--id",
        "id",
        "--labels",
        str(tmp_path / "labels.csv"),
        "--label-column",
        "income",
        "--window",
        "5000",
        "--ledger",
        str(tmp_path / "l"),
        "--out",
        str(tmp_path / "o"),
    )
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "o" / "monitor_window.html").exists()
    hist = _run("monitor", "history", "--ledger", str(tmp_path / "l"))
    assert hist.returncode == 0, hist.stderr
    assert "3 window(s)" in hist.stdout  # 10,281 rows in windows of 5,000: 5,000 + 5,000 + 281
    # labels that arrive later (another process): joined, and the windows they touch re-evaluated
    late = _run(
        "monitor", "labels", str(tmp_path / "late.csv"), "--id", "id", "--label-column", "income",
        "--ledger", str(tmp_path / "l"),
    )  # fmt: skip
    assert late.returncode == 0, late.stderr
    assert "3,000 label(s) matched" in late.stdout and "2 window(s) re-evaluated" in late.stdout
    from raikit.monitor import monitor_history

    windows = monitor_history(tmp_path / "l", table="windows")
    # window 0 (rows 6,000-10,999) had 3,000 labels and gets 2,000 more; window 1 gets 1,000
    assert windows.groupby("window")["n_labelled"].last().tolist() == [5000, 1000, 0]
    bad = _run(
        "monitor",
        "ingest",
        str(tmp_path / "nope.csv"),
        "--reference",
        str(tmp_path / "ref.csv"),
        "-t",
        "income",
        "-s",
        "sex",
        "-p",
        "prediction",
        "--ledger",
        str(tmp_path / "l"),
    )
    assert bad.returncode == 2 and "does not exist" in " ".join(bad.stderr.split())


def _readme_commands(prefix: str) -> list[str]:
    """The README's "Command line" lines that start with ``prefix``, exactly as written."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("Command line:", 1)[1].split("```", 2)[1]
    return [line.strip() for line in section.splitlines() if line.strip().startswith(prefix)]


def _small_files(folder: Path) -> pd.DataFrame:
    """train.csv (features, sex, y: no predictions, no ids), logs/*.parquet, outcomes.csv."""
    rng = np.random.default_rng(0)

    def rows(n, start):
        x = rng.normal(size=n)
        return pd.DataFrame(
            {
                "id": np.arange(start, start + n),
                "x": x,
                "age": rng.integers(18, 80, n),
                "sex": rng.choice(["F", "M"], n),
                "y": (x + rng.normal(size=n) > 0).astype(int),
                "y_hat": (x > 0).astype(int),
            }
        )

    rows(2000, -2000).drop(columns=["id", "y_hat"]).to_csv(folder / "train.csv", index=False)
    (folder / "logs").mkdir()
    prod = pd.concat([rows(1500, 1500 * i) for i in range(3)], ignore_index=True)
    for i in range(3):
        part = prod.iloc[1500 * i : 1500 * (i + 1)]
        part.drop(columns=["y"]).to_parquet(folder / "logs" / f"part{i}.parquet")
    prod.iloc[:2000][["id", "y"]].to_csv(folder / "outcomes.csv", index=False)
    return prod


@pytest.mark.slow
def test_readme_monitor_commands_run_as_written(tmp_path):
    commands = _readme_commands("raikit monitor")
    assert [c.split()[2] for c in commands] == ["ingest", "labels"]
    _small_files(tmp_path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")])}
    outputs = []
    for command in commands + commands[:1]:  # the ingest again: a no-op
        args = [sys.executable, "-m", "raikit.cli", *shlex.split(command)[1:]]
        done = subprocess.run(
            args, cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120
        )
        assert done.returncode == 0, done.stderr
        outputs.append(" ".join(done.stdout.split()))
    from raikit.monitor import monitor_history

    windows = monitor_history(tmp_path / ".raikit", table="windows", latest=True)
    assert windows["n_rows"].tolist() == [4500]  # 3 files x 1,500 rows, one (partial) window
    assert windows["n_labelled"].tolist() == [2000]
    assert "2,000 label(s) matched" in outputs[1]
    assert "4,500 row(s) already stored were skipped" in outputs[2]
    series = monitor_history(tmp_path / ".raikit", latest=True)
    assert "id" not in set(series.loc[series["kind"] == "psi", "name"])  # never a feature


@pytest.mark.slow
def test_pos_label_and_bad_predictions_on_the_command_line(tmp_path):
    prod = _small_files(tmp_path)
    train = pd.read_csv(tmp_path / "train.csv")
    train["y"] = np.where(train["y"] == 1, "yes", "no")
    train.to_csv(tmp_path / "text.csv", index=False)
    text = prod.drop(columns=["y"]).assign(y_hat=np.where(prod["y_hat"] == 1, "yes", "no"))
    text.to_parquet(tmp_path / "text.parquet")
    base = ["monitor", "ingest", str(tmp_path / "text.parquet"), "--reference",
            str(tmp_path / "text.csv"), "-t", "y", "-p", "y_hat", "-s", "sex", "--id", "id",
            "--ledger", str(tmp_path / "l")]  # fmt: skip
    refused = _run(*base)
    assert refused.returncode == 2 and "--pos-label" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert _run(*base, "--pos-label", "yes").returncode == 0
    # predictions written as text ("1") against numeric labels: an error naming column and row
    bad = prod.drop(columns=["y"]).astype({"y_hat": str})
    bad.to_parquet(tmp_path / "bad.parquet")
    out = _run("monitor", "ingest", str(tmp_path / "bad.parquet"), "--reference",
               str(tmp_path / "train.csv"), "-t", "y", "-p", "y_hat", "-s", "sex", "--id", "id",
               "--ledger", str(tmp_path / "l2"))  # fmt: skip
    message = " ".join(out.stderr.split())
    assert out.returncode == 2 and "'y_hat'" in message and "row 0 (id 0)" in message
    assert "Traceback" not in out.stderr
