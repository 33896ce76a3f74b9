"""``raikit train`` and ``raikit mitigations`` end to end in a subprocess."""

import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import pandas as pd
import pytest

from raikit import load_model
from raikit.datasets import make_fairness_synthetic

# `raikit train` records into ./.raikit: run in a scratch folder, not in the checkout.
_CWD = tempfile.mkdtemp(prefix="raikit-train-cli-")


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "raikit.cli", *args],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=_CWD,
        env={"COLUMNS": "200", "PATH": "", "OMP_NUM_THREADS": "1"}
        # a source checkout (PYTHONPATH=src) is tested as itself, from the scratch folder
        | (
            {"PYTHONPATH": os.path.abspath(os.environ["PYTHONPATH"])}
            if "PYTHONPATH" in os.environ
            else {}
        ),
    )


@pytest.fixture(scope="module")
def csvs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("train_cli")
    train = make_fairness_synthetic(800, random_state=0, as_frame=True)
    test = make_fairness_synthetic(400, random_state=1, as_frame=True)
    train["z"] = np.where(train["z"] == 1, "a", "b")
    test["z"] = np.where(test["z"] == 1, "a", "b")
    train.to_csv(folder / "train.csv", index=False)
    test.to_csv(folder / "test.csv", index=False)
    return folder, test


@pytest.mark.slow  # one subprocess per method: ~15 s each on a loaded machine
@pytest.mark.parametrize("method", ["fairbatch", "frtrain", "threshold", "reweigh", "none"])
def test_train_writes_a_loadable_model(csvs, method):
    folder, test = csvs
    out = folder / f"{method}.skops"
    proc = run(
        "train",
        "--data",
        str(folder / "train.csv"),
        "--target",
        "y",
        "--sensitive",
        "z",
        "--method",
        method,
        "--constraint",
        "eqodds",
        "--epochs",
        "200" if method == "frtrain" else "5",  # frtrain: 1 classifier step per 5 epochs
        "--learning-rate",
        "0.02",
        "--out",
        str(out),
        "--test",
        str(folder / "test.csv"),
        "--clean",
        str(folder / "test.csv"),
    )
    assert proc.returncode == 0, proc.stderr
    model = load_model(out)
    X = test[["x1", "x2"]]
    if method == "threshold":
        pred = model.predict(X, sensitive_features=test["z"])
    else:
        pred = model.predict(X)
    saved = json.loads((folder / f"{method}.json").read_text())
    assert saved["type"] == "GroupMetricsResult"
    accuracy = float((pred == test["y"].to_numpy()).mean())
    assert accuracy > 0.7
    assert f"{accuracy:.3f}" in proc.stdout  # the printed overall accuracy is the model's


def test_mitigations_command(csvs):
    folder, _ = csvs
    proc = run(
        "mitigations",
        "--train",
        str(folder / "train.csv"),
        "--test",
        str(folder / "test.csv"),
        "--target",
        "y",
        "--sensitive",
        "z",
        "--methods",
        "none,reweigh",
        "--constraint",
        "dp",
        "--out",
        str(folder / "cmp"),
    )
    assert proc.returncode == 0, proc.stderr
    assert (folder / "cmp" / "mitigations.html").exists()
    assert "reweigh" in proc.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["--method", "magic"], "--method"),
        (["--method", "frtrain"], "--clean"),
        (["--constraint", "fair"], "constraint"),
        (["--target", "nope"], "nope"),
        (["--out", "model.pkl"], ".skops"),
    ],
)
def test_train_errors(csvs, args, message):
    folder, _ = csvs
    base = {
        "--data": str(folder / "train.csv"),
        "--target": "y",
        "--sensitive": "z",
        "--out": str(folder / "e.skops"),
    }
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    proc = run(
        "train",
        *[x for kv in base.items() for x in kv],
        *[a for a in args if a not in base and a not in base.values()],
    )
    assert proc.returncode == 2
    assert "error:" in proc.stderr and message in proc.stderr


@pytest.mark.slow
def test_mitigations_with_frtrain_and_a_clean_file(csvs):
    folder, _ = csvs
    proc = run(
        "mitigations",
        "--train",
        str(folder / "train.csv"),
        "--test",
        str(folder / "test.csv"),
        "--target",
        "y",
        "--sensitive",
        "z",
        "--methods",
        "none,frtrain",
        "--constraint",
        "dp",
        "--frtrain-epochs",
        "200",
        "--clean",
        str(folder / "test.csv"),
        "--out",
        str(folder / "cmp_fr"),
    )
    assert proc.returncode == 0, proc.stderr
    from raikit._result import Result

    meta = Result.from_json((folder / "cmp_fr" / "mitigations.json").read_text()).meta
    assert meta["frtrain_n_clean"] == 400
    assert meta["frtrain_clean_source"] == "dataset"
    assert "frtrain" in proc.stdout


@pytest.mark.slow
def test_train_fairbatch_uses_the_estimators_default_rule(csvs):
    """Without --epochs / --learning-rate the command trains FairBatch with its own default
    (epochs='auto', learning rate 1e-3), not a fixed epoch count that stops before it settles."""
    folder, _ = csvs
    out = folder / "auto.skops"
    proc = run(
        "train", "--data", str(folder / "train.csv"), "--target", "y", "--sensitive", "z",
        "--constraint", "eqopp", "--out", str(out), "--no-ledger",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    model = load_model(out)
    assert model.epochs == "auto" and model.learning_rate == pytest.approx(1e-3)
    assert model.n_epochs_ < model.max_epochs  # stopped by the rule, not by the cap


@pytest.mark.parametrize("value", ["abc", "0", "-3", "2.5"])
def test_train_refuses_a_bad_epochs_value_naming_the_flag(csvs, value):
    folder, _ = csvs
    proc = run("train", "--data", str(folder / "train.csv"), "-t", "y", "-s", "z",
               "--epochs", value, "--no-ledger")  # fmt: skip
    assert proc.returncode == 2
    assert "--epochs must be 'auto' or a positive whole number" in proc.stderr


def test_mitigations_pos_label_flag(csvs, tmp_path, monkeypatch, capsys):
    import pandas as pd

    from raikit.cli import main

    folder, _ = csvs
    for name in ("train", "test"):
        frame = pd.read_csv(folder / f"{name}.csv")
        frame["y"] = np.where(frame["y"] == 1, "approved", "denied")
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    args = [
        "raikit",
        "mitigations",
        "--train",
        str(tmp_path / "train.csv"),
        "--test",
        str(tmp_path / "test.csv"),
        "--target",
        "y",
        "--sensitive",
        "z",
        "--methods",
        "none",
        "--out",
        str(tmp_path / "out"),
    ]
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr(sys, "argv", args)
    with pytest.raises(SystemExit) as refused:
        main()
    err = capsys.readouterr().err
    assert refused.value.code != 0 and "--pos-label" in err and "Traceback" not in err
    monkeypatch.setattr(sys, "argv", [*args, "--pos-label", "approved"])
    try:
        main()
    except SystemExit as done:
        assert not done.code
    assert "positive label 'approved'" in capsys.readouterr().out
    from raikit import Result

    saved = Result.from_json((tmp_path / "out" / "mitigations.json").read_text())
    assert saved.meta["pos_label"] == "approved"


def test_train_network_flag_picks_the_architecture(csvs):
    folder, _ = csvs
    out = folder / "mlp.skops"
    common = ["--target", "y", "--sensitive", "z", "--method", "fairbatch", "--epochs", "5"]
    common += ["--learning-rate", "0.02"]
    proc = run(
        "train", "--data", str(folder / "train.csv"), *common, "--network", "mlp", "--out", str(out)
    )
    assert proc.returncode == 0, proc.stderr
    model = load_model(out)
    assert model.network == "mlp" and len(model.coefs_) == 2  # one hidden layer, one output
    old = run("train", "--data", str(folder / "train.csv"), *common, "--model", "mlp")
    assert old.returncode != 0 and "--model" in old.stderr  # the old flag is gone


def test_mitigations_command_on_regression_and_multiclass_targets(tmp_path):
    from raikit._result import Result

    rng = np.random.default_rng(0)
    n = 600
    frame = pd.DataFrame({"x0": rng.normal(size=n), "x1": rng.normal(size=n)})
    frame["g"] = np.where(rng.random(n) < 0.3, "b", "a")
    frame["value"] = frame["x0"] * np.where(frame["g"] == "b", 3.0, 1.0) + rng.normal(size=n)
    frame["grade"] = np.array(["A", "B", "C"])[np.digitize(frame["value"], [-0.5, 0.5])]
    frame.iloc[:400].to_csv(tmp_path / "train.csv", index=False)
    frame.iloc[400:].to_csv(tmp_path / "test.csv", index=False)
    common = ["--train", str(tmp_path / "train.csv"), "--test", str(tmp_path / "test.csv")]
    common += ["--sensitive", "g", "--features", "x0,x1"]
    proc = run("mitigations", *common, "--target", "value", "--out", str(tmp_path / "reg"))
    assert proc.returncode == 0, proc.stderr
    assert "Task: regression (inferred: fractional values)" in proc.stdout
    assert "Mitigations (bgl)" in proc.stdout
    assert "worst_group_error" in proc.stdout and "gridsearch" in proc.stdout
    result = Result.from_json((tmp_path / "reg" / "mitigations.json").read_text())
    assert result.task == "regression"
    assert result.table["method"].tolist() == ["none", "expgrad", "gridsearch"]
    proc = run(
        "mitigations", *common, "--target", "grade", "--constraint", "eqopp",
        "--out", str(tmp_path / "mc"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "Task: multiclass (inferred: 3 distinct labels)" in proc.stdout
    assert "Mitigations (eqopp)" in proc.stdout and "remap" in proc.stdout
    html = (tmp_path / "mc" / "mitigations.html").read_text()
    assert "true_positive_rate[C]" in html  # the per-group, per-class table
    proc = run(
        "mitigations", *common, "--target", "value", "--methods", "none,threshold",
        "--out", str(tmp_path / "bad"),
    )  # fmt: skip
    assert proc.returncode == 2
    assert "do not support a regression target" in proc.stderr


def test_train_remap_on_a_multiclass_target(tmp_path):
    rng = np.random.default_rng(0)
    n = 600
    frame = pd.DataFrame({"x0": rng.normal(size=n), "x1": rng.normal(size=n)})
    frame["g"] = np.where(rng.random(n) < 0.3, "b", "a")
    value = frame["x0"] * np.where(frame["g"] == "b", 3.0, 1.0) + rng.normal(size=n)
    frame["grade"] = np.array(["A", "B", "C"])[np.digitize(value, [-0.5, 0.5])]
    frame.to_csv(tmp_path / "mc.csv", index=False)
    out = tmp_path / "remap.skops"
    args = ["--data", str(tmp_path / "mc.csv"), "--target", "grade", "--sensitive", "g"]
    proc = run("train", *args, "--method", "remap", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    model = load_model(out)
    X = frame[["x0", "x1"]]
    pred = model.predict(X, sensitive_features=frame["g"])
    accuracy = float((pred == frame["grade"].to_numpy()).mean())
    assert f"{accuracy:.3f}" in proc.stdout and "true_positive_rate[C]" in proc.stdout
    proc = run("train", *args, "--method", "reweigh", "--out", str(tmp_path / "rw.skops"))
    assert proc.returncode == 2 and "binary target" in proc.stderr  # the others stay binary
