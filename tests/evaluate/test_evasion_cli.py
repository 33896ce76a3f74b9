"""`raikit evasion` end to end: a saved model, a CSV, budgets, an immutable column, the training
file for adversarial training; HTML and JSON written; bad options are refused in CLI words."""

from __future__ import annotations

import json
import subprocess

import pytest

from _cli import run as run_cli
from raikit import Result, save_model
from raikit.evaluate import EvasionResult

FEATURES = ["duration_months", "credit_amount", "age", "installment_rate"]


def run(*args: str) -> subprocess.CompletedProcess:
    return run_cli("evasion", *args)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from sklearn.ensemble import HistGradientBoostingClassifier

    from raikit.datasets import load_german_credit

    folder = tmp_path_factory.mktemp("evasion_cli")
    train, test = load_german_credit().replace(features=FEATURES).split(0.3, random_state=0)
    model = HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(train.X, train.y)
    save_model(model, folder / "model.skops")
    train.frame.to_csv(folder / "train.csv", index=False)
    test.frame.to_csv(folder / "test.csv", index=False)
    return folder, train.target


@pytest.mark.slow
def test_evasion_command_writes_the_attack_and_the_mitigation(files):
    folder, target = files
    common = ["--model", str(folder / "model.skops"), "--target", target, "--sensitive", "sex"]
    out = run(
        "--data",
        str(folder / "test.csv"),
        *common,
        "--features",
        ",".join(FEATURES),
        "--budget",
        "0.1,0.5",
        "--immutable",
        "age",
        "--max-steps",
        "3",
        "--train",
        str(folder / "train.csv"),
        "--out",
        str(folder / "out"),
    )
    assert out.returncode == 0, out.stderr
    assert "Evasion attack on test.csv" in out.stdout and "adversarial training" in out.stdout
    result = Result.from_json((folder / "out" / "evasion.json").read_text())
    assert isinstance(result, EvasionResult)
    assert result.meta["budgets"] == [0.1, 0.5] and "age" in result.meta["frozen"]
    assert set(result.mitigation["metric"]) == {"clean_accuracy", "robust_accuracy"}
    assert (folder / "out" / "evasion.html").exists()
    payload = json.loads((folder / "out" / "evasion.json").read_text())
    assert payload["type"] == "EvasionResult"


def test_a_bad_budget_is_refused_in_the_words_of_the_command_line(files):
    folder, target = files
    bad = run(
        *["--data", str(folder / "test.csv"), "--model", str(folder / "model.skops")],
        *["--target", target, "--sensitive", "sex", "--budget", "0.1,lots"],
    )
    assert bad.returncode != 0 and "--budget must be comma-separated numbers" in bad.stderr


def test_input_validation_from_the_command_line(files):
    folder, target = files
    out = run(
        *["--data", str(folder / "test.csv"), "--model", str(folder / "model.skops")],
        *["--target", target, "--sensitive", "sex", "--features", ",".join(FEATURES)],
        *["--budget", "0.5", "--max-steps", "3", "--train", str(folder / "train.csv")],
        *["--mitigation", "input_validation", "--out", str(folder / "validation")],
    )
    assert out.returncode == 0, out.stderr
    assert "input validation" in out.stdout
    assert "Attack minus random, paired on the same rows: budget 0.5" in out.stdout
    result = Result.from_json((folder / "validation" / "evasion.json").read_text())
    assert result.meta["mitigation"] == "input_validation"
    assert {"attacks_caught", "false_alarms"} <= set(result.mitigation["metric"])
    bad = run(
        *["--data", str(folder / "test.csv"), "--model", str(folder / "model.skops")],
        *["--target", target, "--sensitive", "sex", "--train", str(folder / "train.csv")],
        *["--mitigation", "retrain"],
    )
    assert bad.returncode != 0 and "--mitigation" in bad.stderr
