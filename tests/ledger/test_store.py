"""The ledger: lineage, reproduction, and what survives crashes, concurrency and corruption."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

import raikit
from raikit.datasets import load_german_credit
from raikit.ledger import Ledger, LedgerError, train
from raikit.metrics import group_metrics, group_metrics_of


@pytest.fixture
def credit():
    ds = load_german_credit()
    return ds.replace(features=["duration_months", "credit_amount", "age"])


def test_evidence_round_trip_and_lineage(tmp_path, credit):
    ledger = Ledger(tmp_path / "ledger")
    model = LogisticRegression(max_iter=500).fit(credit.X, credit.y)
    scored = credit.with_predictions(model)
    with raikit.track("audit", ledger=ledger, params={"tolerance": 0.1}) as run:
        result = group_metrics_of(scored, ci=0.9, n_boot=50, random_state=0)
        run.log_model(model)
    record = ledger.evidence(run=run.id)
    assert record["check_name"].tolist() == ["metrics.group_metrics"]
    assert record["dataset_id"].iloc[0] == raikit.ledger.dataset_hash(scored.frame)
    back = ledger.load_evidence(record["id"].iloc[0][:10])  # a unique prefix is enough
    pd.testing.assert_frame_equal(back.table, result.table, check_exact=True)
    info = ledger.run(run.id)
    assert info["status"] == "finished" and info["params"] == {"tolerance": 0.1}
    assert info["environment"]["packages"]["numpy"] == np.__version__
    assert set(info["code"]) == {"git_commit", "git_dirty"}
    edges = ledger.lineage(run.id)
    relations = set(zip(edges["src_kind"], edges["relation"], edges["dst_kind"], strict=True))
    assert ("dataset", "input", "run") in relations
    assert ("run", "produced", "evidence") in relations
    assert ("model", "input", "run") in relations
    assert ("dataset", "evaluated", "evidence") in relations


def test_failed_block_marks_the_run_failed(tmp_path):
    ledger = Ledger(tmp_path)
    with pytest.raises(ZeroDivisionError), raikit.track("broken", ledger=ledger):
        1 / 0  # noqa: B018
    runs = ledger.runs()
    assert runs["status"].tolist() == ["failed"]


def test_reproduce_matches_deterministic_training_and_catches_a_nondeterministic_one(
    tmp_path, credit
):
    ledger = Ledger(tmp_path)
    model, run = train(LogisticRegression(max_iter=500), credit, ledger=ledger)
    outcome = ledger.reproduce(run.id)
    assert outcome["match"] and outcome["metrics_match"]
    np.testing.assert_array_equal(
        ledger.load_model(ledger.models()["id"].iloc[0]).predict(credit.X), model.predict(credit.X)
    )
    _, unseeded = train(
        RandomForestClassifier(n_estimators=5, random_state=None), credit, ledger=ledger
    )
    assert ledger.reproduce(unseeded.id)["match"] is False


def test_corrupt_artifact_is_detected_by_its_hash(tmp_path):
    ledger = Ledger(tmp_path)
    result = group_metrics([1, 0, 1, 0], [1, 0, 0, 0], sensitive_features=["a", "a", "b", "b"])
    evidence_id = ledger.log_evidence(result, check="metrics.group_metrics")
    digest = ledger._query("SELECT artifact FROM evidence")["artifact"].iloc[0]
    path = ledger._artifact_path(digest)
    data = bytearray(path.read_bytes())
    data[10] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(LedgerError, match="corrupt"):
        ledger.load_evidence(evidence_id)
    report = ledger.verify()
    assert report.set_index("hash").loc[digest, "ok"] == False  # noqa: E712


def test_unreadable_database_gives_a_clear_error(tmp_path):
    (tmp_path / "ledger.sqlite").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(
        LedgerError, match=r"file is not a database\. If the file is damaged, move it aside"
    ):
        Ledger(tmp_path)


_WRITER = textwrap.dedent("""
    import sys
    from raikit.ledger import Ledger
    from raikit.metrics import group_metrics, group_metrics_of
    ledger = Ledger(sys.argv[1])
    result = group_metrics([1, 0, 1, 0, 1], [1, 0, 0, 0, 1], sensitive_features=list("aabbb"))
    for i in range(int(sys.argv[2])):
        evidence_id = ledger.log_evidence(result, check=f"check-{i}")
        print(evidence_id, flush=True)
""")


@pytest.mark.slow
def test_sigkill_while_writing_loses_nothing_committed(tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(_WRITER)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "l"), "100000"],
        stdout=subprocess.PIPE,
        text=True,
    )
    committed = [proc.stdout.readline().strip() for _ in range(25)]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    ledger = Ledger(tmp_path / "l")
    conn = sqlite3.connect(ledger.db_path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    for evidence_id in committed:
        assert ledger.load_evidence(evidence_id).overall["count"] == 5
    assert len(ledger.evidence()) >= 25
    # and the ledger still takes writes
    ledger.log_evidence(ledger.load_evidence(committed[0]), check="after-crash")


@pytest.mark.slow
def test_two_processes_writing_at_once_both_succeed(tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(_WRITER)
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(tmp_path / "l"), "40"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-500:] for o in outputs]
    ids = [line for out, _ in outputs for line in out.split()]
    assert len(ids) == len(set(ids)) == 80
    assert len(Ledger(tmp_path / "l").evidence()) == 80


def test_a_lazy_dataset_is_recorded_by_its_files_without_loading_rows(tmp_path):
    from raikit import Dataset
    from raikit.datasets import load_german_credit
    from raikit.metrics import group_metrics_of

    frame = load_german_credit().frame.assign(pred=lambda f: f["credit"])
    frame.iloc[:600].to_parquet(tmp_path / "part-1.parquet")
    frame.iloc[600:].to_parquet(tmp_path / "part-2.parquet")
    lazy = Dataset(str(tmp_path / "part-*.parquet"), target="credit", sensitive="sex",
                   prediction="pred")  # fmt: skip
    ledger = Ledger(tmp_path / "ledger")
    first = ledger.log_dataset(lazy)
    assert lazy._cache is None  # no row reached pandas
    assert ledger.log_dataset(lazy) == first
    row = ledger.datasets().set_index("id").loc[first]
    assert (row["n_rows"], row["n_columns"]) == (1000, frame.shape[1])
    again = Dataset(str(tmp_path / "part-*.parquet"), target="credit", sensitive="sex")
    assert ledger.log_dataset(again) == first  # same bytes, same id
    frame.iloc[600:].assign(age=frame["age"].iloc[600:] + 1).to_parquet(tmp_path / "part-2.parquet")
    changed = Dataset(str(tmp_path / "part-*.parquet"), target="credit", sensitive="sex")
    assert ledger.log_dataset(changed) != first
    result = group_metrics_of(lazy, metrics=["accuracy"], ci=None, ledger=ledger)
    assert result.overall["accuracy"] == 1.0 and lazy._cache is None
    edges = ledger.edges()
    assert (first, "evidence") in set(zip(edges["src_id"], edges["dst_kind"], strict=True))


def test_a_fair_learner_is_trained_and_reproduced_with_its_sensitive_attributes(tmp_path):
    """`raikit train` records FairBatch, whose fit needs sensitive_features; reproduce refits it."""
    from raikit.datasets import make_fairness_synthetic
    from raikit.train import FairBatchClassifier

    ds = make_fairness_synthetic(400, random_state=0)
    ledger = Ledger(tmp_path)
    estimator = FairBatchClassifier(constraint="eqopp", epochs=3, random_state=0)
    calls = []
    model, run = train(
        estimator, ds, ledger=ledger, fit_params={"callback": lambda *a: calls.append(a)}
    )
    assert len(calls) == 3  # the progress callback reached this fit
    outcome = ledger.reproduce(run.id)
    assert outcome["match"] and outcome["metrics_match"]
    direct = FairBatchClassifier(constraint="eqopp", epochs=3, random_state=0).fit(
        ds.X, ds.y, sensitive_features=ds.sensitive["z"]
    )
    np.testing.assert_array_equal(model.predict(ds.X), direct.predict(ds.X))
