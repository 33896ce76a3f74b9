"""The same ledger on PostgreSQL: evidence, lineage, reproduction, integrity and two writers."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import raikit
from raikit.datasets import load_german_credit
from raikit.ledger import Ledger, LedgerError, train
from raikit.metrics import group_metrics, group_metrics_of

pytestmark = pytest.mark.slow


@pytest.fixture
def ledger(postgres_uri):
    # A fresh schema-less database per test: one database each, created on the server.
    import psycopg

    name = f"t{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_uri, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    uri = postgres_uri.replace("/postgres?", f"/{name}?")
    return Ledger(uri)


def test_evidence_lineage_and_reproduction(ledger):
    ds = load_german_credit()
    ds = ds.replace(features=["duration_months", "credit_amount", "age"])
    model, run = train(LogisticRegression(max_iter=1000), ds, ledger=ledger)
    assert ledger.reproduce(run.id)["match"]
    scored = ds.with_predictions(model)
    with raikit.track("audit", ledger=ledger) as audit_run:
        result = group_metrics_of(scored, ci=0.9, n_boot=50, random_state=0)
    evidence = ledger.evidence(run=audit_run.id)
    back = ledger.load_evidence(evidence["id"].iloc[0][:10])
    pd.testing.assert_frame_equal(back.table, result.table, check_exact=True)
    edges = ledger.lineage(run.id)
    assert ("dataset", "trained", "model") in set(
        zip(edges["src_kind"], edges["relation"], edges["dst_kind"], strict=True)
    )
    assert "raikit@" not in repr(ledger)  # the location is shown without credentials


def test_corrupt_artifact_is_detected(ledger):
    result = group_metrics([1, 0, 1, 0], [1, 0, 0, 0], sensitive_features=["a", "a", "b", "b"])
    evidence_id = ledger.log_evidence(result, check="metrics.group_metrics")
    with ledger._write() as conn:
        conn.execute(
            "UPDATE artifact_data SET data = ? WHERE hash = "
            "(SELECT artifact FROM evidence WHERE id = ?)",
            (b"tampered", evidence_id),
        )
    with pytest.raises(LedgerError, match="corrupt"):
        ledger.load_evidence(evidence_id)


def test_two_processes_write_at_once(ledger):
    script = textwrap.dedent("""
        import sys
        from raikit.ledger import Ledger
        from raikit.metrics import group_metrics, group_metrics_of
        ledger = Ledger(sys.argv[1])
        result = group_metrics([1, 0, 1, 0], [1, 0, 0, 0], sensitive_features=list("aabb"))
        for i in range(20):
            print(ledger.log_evidence(result, check=f"c{i}"), flush=True)
    """)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, ledger.uri],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-400:] for o in outputs]
    assert len(ledger.evidence()) == 40


def test_monitor_windows_and_late_labels_on_postgres(ledger):
    from raikit.monitor import Monitor, monitor_history

    ds = load_german_credit()
    frame = ds.frame.assign(pred=ds.frame["credit"], id=range(len(ds.frame)))
    ref = ds.replace(frame=frame.iloc[:500], prediction="pred", features=["age", "duration_months"])
    with Monitor(ref, ledger=ledger, windows=250, id_column="id", n_boot=20) as monitor:
        assert len(monitor.ingest(frame.iloc[500:])) == 2
    resumed = Monitor.open(ledger)
    assert resumed.add_labels(frame["id"].iloc[500:600], frame["credit"].iloc[500:600]) == 100
    (refreshed,) = resumed.refresh_pending()
    assert (refreshed.window, refreshed.n_labelled) == (0, 100)
    latest = monitor_history(ledger, table="windows", latest=True)
    assert latest["n_labelled"].tolist() == [100, 0]


def test_review_queue_on_postgres(ledger):
    from raikit.review import ReviewError, ReviewQueue

    queue = ReviewQueue(ledger, name="loans")
    ids = queue.add([{"a": 1}, {"a": 2}, {"a": 3}], prediction=[0, 1, 1])
    assert len(queue.pending()) == 3
    assert queue.decide(ids[1], 0, reviewer="ana")["decision"] == 0
    with pytest.raises(ReviewError, match="already decided"):
        queue.decide(ids[1], 1, reviewer="bo")
    again = ReviewQueue(ledger, name="loans")
    assert len(again.pending()) == 2 and again.decisions()["reviewer"].tolist() == ["ana"]


def test_threads_share_one_ledger(ledger):
    import threading
    from concurrent.futures import ThreadPoolExecutor

    result = group_metrics([1, 0, 1, 0], [1, 0, 0, 0], sensitive_features=["a", "a", "b", "b"])
    barrier = threading.Barrier(4)

    def work(thread: int) -> None:
        barrier.wait()
        for i in range(15):
            ledger.log_evidence(result, check=f"t{thread}.{i}")

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(work, range(4)))
    assert len(ledger.evidence()) == 60
    assert set(ledger.runs()["status"]) == {"finished"}
    ledger.close()
    assert len(ledger.evidence()) == 60  # reconnects after close


def test_an_older_ledger_gains_the_writer_column_and_ids_are_checked(ledger):
    with ledger._write() as conn:
        conn.execute("ALTER TABLE runs DROP COLUMN writer")
    again = Ledger(ledger.uri)  # an older ledger: the column is added on open
    run = again.start_run("after-upgrade")
    assert again.run(run.id)["writer"]["pid"] > 0
    with pytest.raises(LedgerError, match="not an artifact id"):
        again.get_artifact("' OR 1=1 --")
