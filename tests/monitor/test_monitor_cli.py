"""`raikit monitor ingest|history` in a subprocess, on Adult predictions."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest


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
