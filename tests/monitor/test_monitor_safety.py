"""Attacks on the monitor: SIGKILL mid-ingest, re-runs, concurrent writers, hostile batches.

Every check reads the ledger back directly (its tables), not the monitor's own view of itself.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest

from raikit._errors import DataError
from raikit.dataset import Dataset
from raikit.ledger import Ledger
from raikit.monitor import Monitor, monitor_history

SRC = os.path.join(os.path.dirname(__file__), "..", "..", "src")


def _frame(n: int, *, start: int = 0, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    sex = rng.choice(["F", "M"], n)
    return pd.DataFrame(
        {
            "id": np.arange(start, start + n),
            "x": x,
            "c": rng.choice(["a", "b", "c"], n),
            "sex": sex,
            "y": (x + rng.normal(size=n) > 0).astype(int),
            "pred": (x > 0).astype(int),
        }
    )


def _reference() -> Dataset:
    frame = _frame(2000, start=-2000)
    return Dataset(frame, target="y", sensitive=["sex"], prediction="pred", features=["x", "c"])


def _stored(ledger_dir) -> dict:
    """What the ledger holds, read from its tables."""
    ledger = Ledger(ledger_dir)
    logs = ledger._query(
        'SELECT "window", log_artifact, n_rows FROM monitor_logs ORDER BY "window"'
    )
    ids = [
        pd.read_parquet(__import__("io").BytesIO(ledger.get_artifact(a)))["id"]
        for a in logs["log_artifact"]
    ]
    chunks = ledger._query("SELECT n_rows FROM monitor_chunks")
    evaluated = set(monitor_history(ledger, table="windows")["window"].astype(int))
    return {
        "windows": logs["window"].astype(int).tolist(),
        "rows": int(logs["n_rows"].sum()),
        "open_rows": int(chunks["n_rows"].sum()) if len(chunks) else 0,
        "ids": pd.concat(ids, ignore_index=True) if ids else pd.Series(dtype=int),
        "evaluated": evaluated,
    }


_INGEST = textwrap.dedent(
    """
    import os, signal, sys
    sys.path.insert(0, {src!r})
    import numpy as np, pandas as pd
    from raikit.dataset import Dataset
    from raikit.ledger import Ledger
    from raikit.monitor import Monitor
    import raikit.ledger._store as store

    kill_at, point = {kill_at!r}, {point!r}
    calls = {{"n": 0}}

    def maybe_kill():
        calls["n"] += 1
        if calls["n"] == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    if point == "evidence":  # inside a batch's transaction, while a closed window is evaluated
        original = store.Ledger.log_evidence
        def log_evidence(self, *a, **k):
            maybe_kill()
            return original(self, *a, **k)
        store.Ledger.log_evidence = log_evidence
    elif point == "artifact":  # inside a transaction, while a chunk or a window log is written
        original = store.Ledger.put_artifact
        def put_artifact(self, *a, **k):
            maybe_kill()
            return original(self, *a, **k)
        store.Ledger.put_artifact = put_artifact
    ref = pd.read_parquet({ref!r})
    reference = Dataset(ref, target="y", sensitive=["sex"], prediction="pred")
    monitor = Monitor(reference, ledger=Ledger({ledger!r}), windows=1500, id_column="id",
                      n_boot=20, min_group_size=50)
    progress = (lambda done, total: maybe_kill()) if point == "between" else None
    monitor.ingest_file({data!r}, batch_size=700, progress=progress)
    if {flush!r}:
        monitor.flush()
    """
)


def _script(tmp_path, *, kill_at=0, point="none", flush=True, data=None, ledger=None) -> str:
    text = _INGEST.format(
        src=os.path.abspath(SRC),
        kill_at=kill_at,
        point=point,
        ref=str(tmp_path / "ref.parquet"),
        ledger=str(ledger or tmp_path / "ledger"),
        data=str(data or tmp_path / "prod.parquet"),
        flush=flush,
    )
    path = tmp_path / f"ingest_{point}_{kill_at}_{time.monotonic_ns()}.py"
    path.write_text(text)
    return str(path)


def _run(script: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, script], capture_output=True, text=True, timeout=120, **kwargs
    )


@pytest.fixture
def files(tmp_path):
    _frame(2000, start=-2000).to_parquet(tmp_path / "ref.parquet")
    prod = _frame(6000, seed=1)
    prod.drop(columns=["y"]).to_parquet(tmp_path / "prod.parquet")
    return prod


@pytest.mark.slow
@pytest.mark.parametrize(
    ("point", "kill_at"),
    [("evidence", 1), ("evidence", 3), ("artifact", 2), ("artifact", 7), ("between", 5)],
)
def test_sigkill_mid_ingest_then_rerun_stores_every_row_once(tmp_path, files, point, kill_at):
    killed = _run(_script(tmp_path, kill_at=kill_at, point=point))
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    before = _stored(tmp_path / "ledger")
    # what survived the kill is whole: every stored window evaluated, numbers 0..k-1
    assert before["windows"] == list(range(len(before["windows"])))
    assert before["evaluated"] == set(before["windows"])
    assert not before["ids"].duplicated().any()
    # reopen (another process) and run the same ingest again
    again = _run(_script(tmp_path))
    assert again.returncode == 0, again.stderr
    after = _stored(tmp_path / "ledger")
    assert after["rows"] == len(files) and after["open_rows"] == 0
    assert sorted(after["ids"].tolist()) == files["id"].tolist()
    assert after["windows"] == list(range(len(after["windows"])))
    assert after["evaluated"] == set(after["windows"])


@pytest.mark.slow
def test_sigkill_at_random_moments(tmp_path, files):
    rng = np.random.default_rng(7)
    for delay in rng.uniform(2.0, 4.0, size=2):  # bounded: two kills at random moments
        process = subprocess.Popen([sys.executable, _script(tmp_path, flush=False)])
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
    assert _run(_script(tmp_path)).returncode == 0
    after = _stored(tmp_path / "ledger")
    assert after["rows"] == len(files) and after["open_rows"] == 0
    assert sorted(after["ids"].tolist()) == files["id"].tolist()
    assert after["evaluated"] == set(after["windows"])


@pytest.mark.slow
def test_two_concurrent_processes_get_unique_window_numbers(tmp_path):
    _frame(2000, start=-2000).to_parquet(tmp_path / "ref.parquet")
    halves = [_frame(3000, seed=2), _frame(3000, start=3000, seed=3)]
    for i, half in enumerate(halves):
        half.to_parquet(tmp_path / f"half{i}.parquet")
    processes = [
        subprocess.Popen(
            [sys.executable, _script(tmp_path, data=tmp_path / f"half{i}.parquet", flush=False)],
            stderr=subprocess.PIPE,
        )
        for i in range(2)
    ]
    for process in processes:
        assert process.wait(timeout=120) == 0, process.stderr.read()
    stored = _stored(tmp_path / "ledger")
    assert stored["windows"] == [0, 1, 2, 3]  # 6,000 rows in windows of 1,500: no 0,0,1,1
    assert stored["rows"] == 6000 and stored["open_rows"] == 0
    assert sorted(stored["ids"].tolist()) == list(range(6000))
    assert stored["evaluated"] == {0, 1, 2, 3}


def test_the_same_ingest_twice_counts_nothing_twice(tmp_path):
    prod = _frame(5000, seed=4)
    monitor = Monitor(_reference(), ledger=tmp_path, windows=2000, id_column="id", n_boot=20)
    assert [r.window for r in monitor.ingest(prod)] == [0, 1]
    assert monitor.ingest(prod) == [] and monitor.n_skipped == 5000
    # overlapping batches: only the new rows count, and duplicates inside a batch once
    more = pd.concat([prod.iloc[4000:], _frame(1500, start=5000, seed=5)])
    more = pd.concat([more, more.iloc[-10:]])
    (closed,) = monitor.ingest(more)
    assert closed.n_rows == 2000 and monitor.n_skipped == 5000 + 1000 + 10
    monitor.flush()
    again = Monitor.open(tmp_path)  # a new session re-runs everything: still a no-op
    assert again.ingest(prod) == [] and again.flush() is None
    stored = _stored(tmp_path)
    assert stored["rows"] == 6500 and not stored["ids"].duplicated().any()
    assert stored["windows"] == [0, 1, 2, 3]


def test_without_ids_an_identical_batch_is_skipped(tmp_path):
    prod = _frame(3000, seed=4).drop(columns=["id"])
    monitor = Monitor(_reference(), ledger=tmp_path, windows=1000, n_boot=20)
    assert len(monitor.ingest(prod)) == 3
    assert monitor.ingest(prod) == [] and monitor.n_skipped == 3000
    assert len(monitor.ingest(prod.iloc[:1000])) == 1  # a different batch is new rows


def test_the_open_window_survives_the_session(tmp_path):
    prod = _frame(1500, seed=6)
    Monitor(_reference(), ledger=tmp_path, windows=1000, id_column="id").ingest(prod)
    # no flush, no context manager: the 500 rows of the open window are in the ledger
    later = Monitor.open(tmp_path)
    assert later._n == 500
    (closed,) = later.ingest(_frame(500, start=1500, seed=7))
    assert (closed.window, closed.n_rows, closed.start, closed.end) == (1, 1000, "1000", "1999")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([np.nan] * 10, r"'pred' \(the prediction\) is missing at row 0 \(id 0\)"),
        (["1"] * 10, r"holds text \('1' at row 0 \(id 0\)\) but the declared labels are numbers"),
        ([1] * 9 + [np.inf], r"non-finite value inf at row 9"),
        ([1] * 9 + [2], r"holds 2 at row 9 \(id 9\), which is not one of the declared labels"),
        ([0] * 9 + ["1"], r"holds text \('1' at row 9"),
    ],
)
def test_bad_predictions_are_refused_and_nothing_is_stored(tmp_path, values, message):
    monitor = Monitor(_reference(), ledger=tmp_path, windows=5, id_column="id")
    batch = _frame(10).assign(pred=pd.Series(values, dtype=object))
    with pytest.raises(DataError, match=message):
        monitor.ingest(batch)  # two full windows come before the bad row: none is stored
    stored = _stored(tmp_path)
    assert stored["windows"] == [] and stored["open_rows"] == 0
    assert len(Ledger(tmp_path)._query("SELECT id FROM monitor_ids")) == 0
    assert [r.window for r in monitor.ingest(_frame(10))] == [0, 1]  # not wedged


def test_text_labels_accept_text_and_refuse_numbers(tmp_path):
    frame = _frame(400).assign(pred=lambda d: np.where(d["pred"] == 1, "approved", "denied"))
    frame["y"] = np.where(frame["y"] == 1, "approved", "denied")
    ref = Dataset(frame, target="y", sensitive=["sex"], prediction="pred")
    with pytest.raises(DataError, match=r"'approved', 'denied'.*pos_label="):
        Monitor(ref, ledger=tmp_path, windows=100)
    monitor = Monitor(ref, ledger=tmp_path, windows=100, pos_label="approved", n_boot=20)
    (r,) = monitor.ingest(frame.iloc[:100])
    expected = (frame["pred"].iloc[:100] == "approved").mean()
    sel = r.selection.set_index(["attribute", "group"])["window_rate"]
    assert sel[("overall", "overall")] == pytest.approx(expected, abs=1e-12)
    with pytest.raises(DataError, match="not text"):
        monitor.ingest(frame.iloc[100:110].assign(pred=1))


def test_all_selection_rates_are_the_true_ones_not_zero(tmp_path):
    # the tester saw 0.0 for a true rate of 0.532: predictions stored as they were sent
    prod = _frame(1000, seed=8)
    monitor = Monitor(_reference(), ledger=tmp_path, windows=1000, n_boot=20)
    (r,) = monitor.ingest(prod.assign(pred=prod["pred"].astype(float)))
    sel = r.selection.set_index(["attribute", "group"])["window_rate"]
    assert sel[("overall", "overall")] == pytest.approx(prod["pred"].mean(), abs=1e-12)
    women = prod[prod["sex"] == "F"]
    assert sel[("sex", "F")] == pytest.approx(women["pred"].mean(), abs=1e-12)


def test_an_id_type_change_is_refused_and_does_not_wedge(tmp_path):
    monitor = Monitor(_reference(), ledger=tmp_path, windows=100, id_column="id", n_boot=20)
    monitor.ingest(_frame(50))
    text_ids = _frame(100, start=50).assign(id=lambda d: "row-" + d["id"].astype(str))
    with pytest.raises(
        DataError, match="holds text ids in this batch, but monitor 'monitor' stored"
    ):
        monitor.ingest(text_ids)
    mixed = _frame(10, start=50).astype({"id": object})
    mixed.loc[3, "id"] = "x"
    with pytest.raises(DataError, match="mixes types"):
        monitor.ingest(mixed)
    (r,) = monitor.ingest(_frame(100, start=50))  # later good batches still ingest
    assert r.n_rows == 100
    # also across sessions (the id type is stored)
    with pytest.raises(DataError, match="holds text ids"):
        Monitor.open(tmp_path).ingest(text_ids)


def test_a_window_stored_without_evaluation_is_evaluated_on_open(tmp_path):
    monitor = Monitor(_reference(), ledger=tmp_path, windows=500, id_column="id", n_boot=20)
    monitor.ingest(_frame(1000))
    ledger = Ledger(tmp_path)
    with ledger.transaction() as conn:  # as an interrupted writer of an older raikit left it
        conn.execute('DELETE FROM monitor_windows WHERE "window" = 1')
    assert set(monitor_history(ledger, table="windows")["window"]) == {0}
    Monitor.open(tmp_path)
    assert set(monitor_history(ledger, table="windows")["window"]) == {0, 1}


def test_ledger_transaction_rolls_back_every_write(tmp_path):
    ledger = Ledger(tmp_path)
    with pytest.raises(RuntimeError):
        with ledger.transaction():
            ledger.start_run("inside")
            raise RuntimeError("crash")
    assert len(ledger.runs()) == 0
    with ledger.transaction():
        ledger.start_run("kept")
    assert ledger.runs()["name"].tolist() == ["kept"]


def test_selection_rate_divergence_alerts_at_ingest_without_labels(tmp_path):
    prod = _frame(2000, seed=9)
    women = prod["sex"] == "F"
    rng = np.random.default_rng(0)
    prod.loc[women, "pred"] = (rng.random(int(women.sum())) < 0.2).astype(int)
    prod.loc[~women, "pred"] = (rng.random(int((~women).sum())) < 0.6).astype(int)
    monitor = Monitor(_reference(), ledger=tmp_path, windows=2000, id_column="id", n_boot=200)
    (r,) = monitor.ingest(prod)
    assert r.n_labelled == 0
    titles = {f.title: f.severity for f in r.findings}
    assert titles["Selection rates differ across sex (demographic parity)"] == "error"
    rates = prod.groupby("sex")["pred"].mean()
    d = r.parity.set_index("kind").loc["difference"]
    assert d["value"] == pytest.approx(rates["M"] - rates["F"], abs=1e-12)
    assert d["lower"] <= d["value"] <= d["upper"] and d["lower"] > 0.1
    q = r.parity.set_index("kind").loc["ratio"]
    assert q["value"] == pytest.approx(rates["F"] / rates["M"], abs=1e-12)
    sel = r.selection.set_index(["attribute", "group"])
    assert (sel["lower"] <= sel["window_rate"]).all() and (sel["window_rate"] <= sel["upper"]).all()
    # in the stored alerts and series at once, no labels ever sent
    assert "Selection rates differ across sex (demographic parity)" in set(
        monitor.alerts()["title"]
    )
    series = monitor.history()
    assert len(series[series["kind"] == "demographic_parity_difference"]) == 1
    # a fair window raises nothing of the kind
    (fair,) = monitor.ingest(_frame(2000, start=2000, seed=10))
    assert not any("demographic parity" in f.title for f in fair.findings)
    assert bool(fair.parity["assessable"].all())


def test_parity_is_not_assessable_with_one_large_group(tmp_path):
    prod = _frame(500, seed=11).assign(sex="F")
    monitor = Monitor(_reference(), ledger=tmp_path, windows=500, n_boot=20)
    (r,) = monitor.ingest(prod)
    assert not r.parity["assessable"].any() and r.parity["value"].isna().all()
    assert not any("demographic parity" in f.title for f in r.findings)


def test_reference_without_predictions_compares_with_its_labels(tmp_path):
    train = _frame(2000, start=-2000).drop(columns=["pred"])
    ref = Dataset(train, target="y", sensitive=["sex"])
    monitor = Monitor(ref, ledger=tmp_path, windows=1000, id_column="id", prediction="pred")
    assert "id" not in [b.name for b in monitor.binners]  # the id is never a feature
    (r,) = monitor.ingest(_frame(1000, seed=12))
    sel = r.selection.set_index(["attribute", "group"])["reference_rate"]
    assert sel[("overall", "overall")] == pytest.approx(train["y"].mean(), abs=1e-12)
    assert Monitor.open(tmp_path).prediction == "pred"


def test_equalized_odds_when_labels_arrive(tmp_path):
    prod = _frame(3000, seed=13)
    monitor = Monitor(_reference(), ledger=tmp_path, windows=3000, id_column="id", n_boot=50)
    (r,) = monitor.ingest(prod)
    assert "equalized_odds" not in set(r.disparities["metric"])  # no labels yet
    monitor.add_labels(prod["id"], prod["y"])
    (again,) = monitor.refresh_pending()
    d = again.disparities.set_index("metric")
    expected = max(d.loc["true_positive_rate", "value"], d.loc["false_positive_rate", "value"])
    assert d.loc["equalized_odds", "value"] == pytest.approx(expected, abs=1e-12)
    m = prod[prod["sex"] == "M"]
    f = prod[prod["sex"] == "F"]
    tpr = abs(m.loc[m["y"] == 1, "pred"].mean() - f.loc[f["y"] == 1, "pred"].mean())
    assert d.loc["true_positive_rate", "value"] == pytest.approx(tpr, abs=1e-12)
    series = monitor.history()
    assert len(series[series["kind"] == "equalized_odds_difference"]) == 1
    with pytest.raises(DataError, match=r"labels holds 7 at row 0 \(id 0\)"):
        monitor.add_labels([0], [7])  # not a declared label: refused, nothing stored


def test_a_monitor_stored_by_an_older_raikit_is_continued_once(tmp_path):
    prod = _frame(1500, seed=14)
    monitor = Monitor(_reference(), ledger=tmp_path, windows=1000, id_column="id", n_boot=20)
    monitor.ingest(prod.iloc[:1000])
    ledger = Ledger(tmp_path)
    with ledger.transaction() as conn:  # what a ledger written before this version holds
        conn.execute(
            "UPDATE monitor_config SET fingerprint = ?", (monitor._fingerprint(legacy=True),)
        )
        for table in ("monitor_state", "monitor_ids", "monitor_chunks"):
            conn.execute(f"DELETE FROM {table}")
    later = Monitor.open(tmp_path)
    assert later.windows_closed == 1
    assert later.ingest(prod.iloc[:1000]) == [] and later.n_skipped == 1000  # ids backfilled
    assert later.flush() is None
    (r,) = [*later.ingest(prod.iloc[500:1500]), later.flush()]
    assert (r.window, r.n_rows) == (1, 500)


def test_a_failure_inside_the_transaction_leaves_the_monitor_as_stored(tmp_path, monkeypatch):
    monitor = Monitor(_reference(), ledger=tmp_path, windows=100, id_column="id", n_boot=20)
    monitor.ingest(_frame(150))
    calls = {"n": 0}
    original = Ledger.log_evidence

    def failing(self, *args, **kwargs):  # the second window's evaluation fails
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Ledger, "log_evidence", failing)
    with pytest.raises(OSError, match="disk full"):
        monitor.ingest(_frame(300, start=150))
    assert (monitor.windows_closed, monitor._n) == (1, 50)  # as stored, not as attempted
    stored = _stored(tmp_path)
    assert stored["windows"] == [0] and stored["open_rows"] == 50
    monkeypatch.setattr(Ledger, "log_evidence", original)
    assert [r.window for r in monitor.ingest(_frame(300, start=150))] == [1, 2, 3]
