"""The command line over the ledger: audit, runs, lineage, reproduce, cards."""

from __future__ import annotations

import json

import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from _cli import run
from raikit import save_model
from raikit.datasets import load_german_credit
from raikit.ledger import Ledger, train

FEATURES = ["duration_months", "credit_amount", "age"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    ds = load_german_credit()
    ds = ds.replace(features=FEATURES)
    train_ds, test_ds = ds.split(0.3, random_state=0)
    train_ds.frame.to_csv(folder / "train.csv", index=False)
    test_ds.frame.to_csv(folder / "test.csv", index=False)
    save_model(LogisticRegression(max_iter=1000).fit(train_ds.X, train_ds.y), folder / "m.skops")
    return folder


@pytest.mark.slow
def test_audit_from_a_csv_and_a_model(files):
    out = files / "out"
    result = run(
        "audit",
        "--train",
        str(files / "train.csv"),
        "--test",
        str(files / "test.csv"),
        "--model",
        str(files / "m.skops"),
        "--target",
        "credit",
        "--sensitive",
        "sex,age_group",
        "--features",
        ",".join(FEATURES),
        "--n-boot",
        "100",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    assert "practical_accuracy" in result.stdout and "Report:" in result.stdout
    for name in (
        "audit.html",
        "audit.json",
        "model_card.md",
        "model_card.html",
        "model_card.json",
        "annex_iv.md",
    ):
        assert (out / name).exists(), name
    report = json.loads((out / "audit.json").read_text())
    assert report["type"] == "AuditReport"
    ledger_dir = str(out / ".raikit")
    listed = run("runs", "list", "--ledger", ledger_dir)
    assert listed.returncode == 0 and "audit: m.skops" in listed.stdout
    run_id = Ledger(ledger_dir).runs()["id"].iloc[0]
    shown = run("runs", "show", run_id[:10], "--ledger", ledger_dir)
    assert "metrics.group_metrics" in shown.stdout and "audit.report" in shown.stdout
    lineage = run(
        "lineage", run_id[:10], "--ledger", ledger_dir, "--html", str(files / "lineage.html")
    )
    assert lineage.returncode == 0 and "produced" in lineage.stdout
    assert (files / "lineage.html").stat().st_size > 1000
    cards = run("card", "model", run_id[:10], "--ledger", ledger_dir, "--out", str(files / "cards"))
    assert cards.returncode == 0 and (files / "cards" / "annex_iv.json").exists()


def test_reproduce_command(tmp_path):
    ds = load_german_credit()
    ds = ds.replace(features=FEATURES)
    ledger = Ledger(tmp_path)
    _, recorded = train(LogisticRegression(max_iter=1000), ds, ledger=ledger)
    ok = run("reproduce", recorded.id[:10], "--ledger", str(tmp_path))
    assert ok.returncode == 0 and "reproduced" in ok.stdout
    _, unseeded = train(
        RandomForestClassifier(n_estimators=5, random_state=None), ds, ledger=ledger
    )
    differs = run("reproduce", unseeded.id[:10], "--ledger", str(tmp_path))
    assert differs.returncode == 1 and "not reproduced" in differs.stdout


def test_ledger_commands_need_a_ledger(tmp_path):
    result = run("runs", "list", "--ledger", str(tmp_path / "nothing"))
    assert result.returncode == 2 and "No ledger at" in result.stderr


def test_audit_refuses_a_pickled_model(files, tmp_path):
    import pickle

    (tmp_path / "m.pkl").write_bytes(pickle.dumps(LogisticRegression()))
    result = run(
        "audit",
        "--train",
        str(files / "train.csv"),
        "--test",
        str(files / "test.csv"),
        "--model",
        str(tmp_path / "m.pkl"),
        "--target",
        "credit",
        "--sensitive",
        "sex",
    )
    assert result.returncode == 2 and "Refusing to load pickle" in result.stderr
