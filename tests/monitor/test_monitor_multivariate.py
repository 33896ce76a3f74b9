"""Monitor(multivariate=...): each window's features taken together against the reference's."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from raikit import Dataset, ParameterError
from raikit.monitor import Monitor


def _frame(rng, n: int, rho: float, start: int = 0) -> pd.DataFrame:
    values = rng.multivariate_normal([0.0, 0.0], [[1.0, rho], [rho, 1.0]], n)
    frame = pd.DataFrame(values, columns=["a", "b"])
    frame["sex"] = np.where(np.arange(n) % 2, "F", "M")
    frame["pred"] = (frame["a"] > 0).astype(int)
    frame["id"] = np.arange(start, start + n)
    return frame


@pytest.fixture
def reference():
    frame = _frame(np.random.default_rng(0), 1000, 0.0)
    return Dataset(frame.drop(columns="id"), target=None, sensitive="sex", prediction="pred")


def test_a_window_whose_columns_now_move_together_alerts(tmp_path, reference):
    rng = np.random.default_rng(1)
    monitor = Monitor(
        reference, ledger=tmp_path, windows=600, id_column="id", multivariate="classifier"
    )
    same, changed = _frame(rng, 600, 0.0), _frame(rng, 600, 0.9, start=600)
    first, second = monitor.ingest(pd.concat([same, changed], ignore_index=True))
    # the per-column tests see nothing in either window: the marginals did not move
    assert not first.drift["drifted"].any() and not second.drift["drifted"].any()
    assert first.multivariate["method"].unique().tolist() == ["classifier"]
    assert not first.multivariate["drifted"].any()
    overall = second.multivariate[second.multivariate["attribute"] == "overall"].iloc[0]
    assert bool(overall["drifted"]) and overall["lower"] > 0.6
    assert any("told apart" in f.title for f in second.findings)
    # a later session re-evaluates the stored window from the features kept in its log
    later = Monitor.open(tmp_path)
    assert later.multivariate == ["classifier"]
    again = later.refresh(1)
    pd.testing.assert_frame_equal(again.multivariate, second.multivariate)


def test_off_by_default_and_bad_values_refused(tmp_path, reference):
    monitor = Monitor(reference, ledger=tmp_path / "a", windows=500)
    (result,) = monitor.ingest(_frame(np.random.default_rng(2), 500, 0.9).drop(columns="id"))
    assert result.multivariate.empty
    with pytest.raises(ParameterError, match=r"Monitor\(\): multivariate must be"):
        Monitor(reference, ledger=tmp_path / "b", multivariate="mmd")


def test_cli_ingest_with_multivariate_stores_the_joint_table(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    import raikit
    from raikit.ledger import Ledger

    rng = np.random.default_rng(3)
    _frame(rng, 800, 0.0).to_csv(tmp_path / "ref.csv", index=False)
    _frame(rng, 600, 0.9).to_csv(tmp_path / "prod.csv", index=False)
    source = str(Path(raikit.__file__).resolve().parents[1])  # the raikit under test
    args = ["monitor", "ingest", str(tmp_path / "prod.csv"), "--reference"]
    args += [str(tmp_path / "ref.csv"), "-t", "pred", "-s", "sex", "-p", "pred", "--id", "id"]
    args += ["--features", "a,b", "--window", "600", "--ledger", str(tmp_path / "l")]
    out = subprocess.run(
        [sys.executable, "-m", "raikit.cli", *args, "--multivariate", "pca"],
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "", "OMP_NUM_THREADS": "1", "PYTHONPATH": source, "COLUMNS": "200"},
    )
    assert out.returncode == 0, out.stderr
    ledger = Ledger(tmp_path / "l")
    ids = ledger.evidence(check="monitor.window")["id"].tolist()
    assert len(ids) == 1
    window = ledger.load_evidence(ids[0])
    assert window.multivariate["method"].unique().tolist() == ["pca"]
    overall = window.multivariate[window.multivariate["attribute"] == "overall"].iloc[0]
    assert bool(overall["drifted"])  # the correlation appeared: the error fell
