"""The command line: version, datasets, metrics (table, JSON, HTML) and clear errors."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import raikit
from _cli import ENV, run
from raikit import __version__


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


def test_the_cli_subprocess_imports_the_raikit_under_test(tmp_path):
    """The runner keeps PYTHONPATH: tests/test_cli_ledger.py's own runner dropped it, so from a
    source checkout it ran whichever raikit the environment had installed."""
    where = subprocess.run(
        [sys.executable, "-c", "import raikit; print(raikit.__file__)"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,  # not the checkout: its folder on sys.path would hide a missing PYTHONPATH
        env=ENV,
    )
    assert where.returncode == 0, where.stderr
    assert where.stdout.strip() == raikit.__file__


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


def test_metrics_gives_intervals_by_default_and_weights_rows(predictions, tmp_path):
    # the command line follows the Python default (ci=0.95): intervals unless --no-ci; --weight
    # makes the weight column a role, so selection rates are weighted means
    path, frame = predictions
    frame["w"] = np.arange(len(frame)) % 3
    frame.to_csv(path, index=False)
    base = ["metrics", str(path), "-t", "y", "-p", "p", "-s", "sex", "--n-boot", "50"]
    out = run(*base, "--json", str(tmp_path / "ci.json"))
    assert out.returncode == 0, out.stderr
    from raikit import Result

    with_ci = Result.from_json(str(tmp_path / "ci.json"))
    assert with_ci.by_group_lower.notna().all().all()
    out = run(*base, "--no-ci", "--weight", "w", "--json", str(tmp_path / "w.json"))
    assert out.returncode == 0, out.stderr
    weighted = Result.from_json(str(tmp_path / "w.json"))
    assert weighted.by_group_lower.isna().all().all()
    women = frame[frame["sex"] == "F"]
    assert weighted.by_group.loc[("sex", "F"), "selection_rate"] == pytest.approx(
        np.average(women["p"], weights=women["w"]), abs=1e-12
    )


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


# --------------------------------------------------------------------------- model inputs
@pytest.fixture(scope="module")
def adult_files(tmp_path_factory):
    """Small CSVs from the bundled Adult data, a Pipeline and a plain HGB that both use `sex`."""
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    from raikit import save_model
    from raikit.datasets import load_adult

    folder = tmp_path_factory.mktemp("adult")
    columns = ["age", "education_num", "hours_per_week", "capital_gain", "sex", "race", "income"]

    def sample(split, n):
        frame = load_adult(split=split).frame[columns].rename(columns={"income": "y"})
        frame = frame.sample(n, random_state=0).reset_index(drop=True)
        return frame.astype({"sex": str, "race": str})

    train, test = sample("train", 600), sample("test", 120)
    train.to_csv(folder / "train.csv", index=False)
    test.to_csv(folder / "test.csv", index=False)
    inputs = ["age", "education_num", "hours_per_week", "capital_gain", "sex"]
    pipe = make_pipeline(
        make_column_transformer(
            (OneHotEncoder(handle_unknown="ignore"), ["sex"]), remainder="passthrough"
        ),
        LogisticRegression(max_iter=2000),
    ).fit(train[inputs], train["y"])
    save_model(pipe, folder / "pipeline.skops")
    # A plain HGB on numeric inputs: `sex` coded 0/1 in its own pair of files.
    coded = {"Male": 1, "Female": 0}
    for name, frame in (("train", train), ("test", test)):
        frame.assign(sex=frame["sex"].map(coded)).to_csv(folder / f"{name}_coded.csv", index=False)
    hgb = HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(
        train[inputs].assign(sex=train["sex"].map(coded)), train["y"]
    )
    assert list(hgb.feature_names_in_) == inputs
    save_model(hgb, folder / "hgb.skops")
    return folder


@pytest.mark.slow
@pytest.mark.parametrize(("model", "suffix"), [("pipeline", ""), ("hgb", "_coded")])
def test_audit_of_a_model_that_uses_sex_works_without_features(adult_files, model, suffix):
    """The newcomer's command from the README, on a model trained with `sex` as an input."""
    out = run(
        "audit",
        "--train",
        str(adult_files / f"train{suffix}.csv"),
        "--test",
        str(adult_files / f"test{suffix}.csv"),
        "--model",
        str(adult_files / f"{model}.skops"),
        "--target",
        "y",
        "--sensitive",
        "sex,race",
        "--n-boot",
        "50",
        "--out",
        str(adult_files / f"audit_{model}"),
    )
    assert out.returncode == 0, out.stderr
    assert "the model uses sensitive attribute(s) sex as input" in out.stdout
    report = json.loads((adult_files / f"audit_{model}" / "audit.json").read_text())
    assert "sex" in json.dumps(report["fields"]["meta"])
    from raikit.audit import AuditReport

    loaded = AuditReport.from_json((adult_files / f"audit_{model}" / "audit.json").read_text())
    assert loaded.meta["sensitive_inputs"] == ["sex"]
    assert loaded.meta["features"] == [
        "age",
        "education_num",
        "hours_per_week",
        "capital_gain",
        "sex",
    ]


def test_evaluate_and_privacy_report_of_a_model_that_uses_sex(adult_files):
    out = run(
        "evaluate",
        "--data",
        str(adult_files / "test.csv"),
        "--model",
        str(adult_files / "pipeline.skops"),
        "--target",
        "y",
        "--sensitive",
        "sex,race",
        "--n-boot",
        "50",
        "--out",
        str(adult_files / "eval"),
    )
    assert out.returncode == 0, out.stderr
    assert "The model uses sensitive attribute(s) sex as input" in out.stdout
    out = run(
        "privacy",
        "report",
        "--train",
        str(adult_files / "train.csv"),
        "--holdout",
        str(adult_files / "test.csv"),
        "--model",
        str(adult_files / "pipeline.skops"),
        "--target",
        "y",
        "--sensitive",
        "sex",
        "--attacks",
        "threshold",
        "--out",
        str(adult_files / "privacy"),
    )
    assert out.returncode == 0, out.stderr


@pytest.mark.parametrize("command", ["audit", "evaluate", "privacy"])
def test_a_model_whose_inputs_are_missing_gets_one_clear_error(adult_files, tmp_path, command):
    """The data lacks `hours_per_week`, an input of the model: exit 2, no traceback."""
    for name in ("train", "test"):
        frame = pd.read_csv(adult_files / f"{name}.csv").drop(columns=["hours_per_week"])
        frame.assign(id=range(len(frame))).to_csv(tmp_path / f"{name}.csv", index=False)
    model = str(adult_files / "pipeline.skops")
    train, test = str(tmp_path / "train.csv"), str(tmp_path / "test.csv")
    common = ["--target", "y", "--sensitive", "sex,race", "--out", str(tmp_path / "o")]
    args = {
        "audit": ["audit", "--train", train, "--test", test, "--model", model, *common],
        "evaluate": ["evaluate", "--data", test, "--model", model, *common],
        "privacy": ["privacy", "report", "--train", train, "--holdout", test, "--model", model],
    }[command]
    if command == "privacy":
        args += common
    out = run(*args)
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr
    assert "needs input column(s) ['hours_per_week']" in out.stderr
    assert "does not use: ['id']" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_errors_from_other_libraries_are_one_line_too(adult_files, tmp_path):
    """A value the model never saw as a float: scikit-learn's ValueError, printed cleanly."""
    frame = pd.read_csv(adult_files / "test.csv")
    frame["age"] = "old"
    frame.to_csv(tmp_path / "test.csv", index=False)
    out = run(
        "evaluate",
        "--data",
        str(tmp_path / "test.csv"),
        "--model",
        str(adult_files / "pipeline.skops"),
        "--target",
        "y",
        "--sensitive",
        "sex",
        "--out",
        str(tmp_path / "o"),
    )
    assert out.returncode == 2
    assert "Traceback" not in out.stderr and out.stderr.startswith("error: ValueError")
    assert "RAIKIT_DEBUG=1" in out.stderr


def test_train_records_a_run_that_reproduce_refits(tmp_path):
    """The README's `raikit train ...` then `raikit reproduce RUN_ID --ledger .raikit`."""
    import sqlite3

    from raikit.datasets import make_fairness_synthetic

    frame = make_fairness_synthetic(400, random_state=0, as_frame=True)
    frame.assign(z=np.where(frame["z"] == 1, "a", "b")).to_csv(tmp_path / "train.csv", index=False)
    out = run(
        *("train", "--data", "train.csv", "--target", "y", "--sensitive", "z"),
        *("--method", "fairbatch", "--epochs", "3"),
        cwd=tmp_path,
        env={"OMP_NUM_THREADS": "1"},
    )
    assert out.returncode == 0, out.stderr
    with sqlite3.connect(tmp_path / ".raikit" / "ledger.sqlite") as conn:
        (run_id,) = conn.execute("SELECT run_id FROM trainings").fetchone()
    assert f"raikit reproduce {run_id[:12]} --ledger .raikit" in " ".join(out.stdout.split())
    again = run(
        "reproduce", run_id[:12], "--ledger", ".raikit", cwd=tmp_path, env={"OMP_NUM_THREADS": "1"}
    )
    assert again.returncode == 0, again.stderr
    assert "reproduced" in again.stdout and "not reproduced" not in again.stdout


# --------------------------------------------------------------------------- errors in CLI words
def test_errors_name_the_flags_of_the_command_not_python_keywords(predictions, tmp_path):
    path, frame = predictions
    frame.loc[3, "sex"] = None
    frame.to_csv(tmp_path / "nan.csv", index=False)
    out = run("metrics", str(tmp_path / "nan.csv"), "-t", "y", "-p", "p", "-s", "sex")
    assert out.returncode == 2
    assert "pass --missing-group '(missing)' to keep them" in out.stderr
    assert "missing_group=" not in out.stderr
    frame.drop(columns=["y"]).dropna().to_csv(tmp_path / "serving.csv", index=False)
    args = ["data", "drift", str(path), str(tmp_path / "serving.csv"), "-s", "race"]
    out = run(*args, "--columns", "p,y", "--out", str(tmp_path / "d"))
    assert out.returncode == 2 and "Pass --columns A,B to compare fewer" in out.stderr


def test_a_feature_mismatch_names_the_features_flag(adult_files, tmp_path):
    out = run(
        "evaluate",
        "--data",
        str(adult_files / "test.csv"),
        "--model",
        str(adult_files / "pipeline.skops"),
        "-t",
        "y",
        "-s",
        "sex",
        "--features",
        "age,race",
        "--out",
        str(tmp_path),
    )
    assert out.returncode == 2
    assert "missing ['education_num', 'hours_per_week', 'capital_gain', 'sex']" in out.stderr
    assert "extra ['race']. Leave --features out" in out.stderr


def test_cli_words_leave_unknown_keywords_and_prose_alone():
    from raikit._cli_utils import cli_words

    options = {"ci": ("--ci", False), "trust": ("--trust", False), "flag": ("--flag", True)}
    assert cli_words("ci=0.9 or specific=1", options) == "--ci 0.9 or specific=1"
    assert cli_words("trusted=['x'] vs trust='x'", options) == "trusted=['x'] vs --trust 'x'"
    assert cli_words("set flag=True", options) == "set --flag"


@pytest.mark.parametrize(
    "args",
    [
        ["privacy", "query", "x.csv", "--sql", "SELECT 1", "--epsilon", "abc"],  # not a number
        ["metrics", "x.csv", "--target"],  # an option without its value
        ["audit", "--train", "a.csv"],  # required options missing
    ],
)
def test_usage_errors_are_one_message_not_a_traceback(args):
    out = run(*args)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr and "Error" in out.stderr
