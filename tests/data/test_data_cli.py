"""`raikit data ...` end to end in a subprocess, on German credit and COMPAS files."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from _cli import run as cli
from raikit.data import DriftResult, LabelIssuesResult, ProfileResult


def run(*args: str, cwd=None) -> subprocess.CompletedProcess:
    """``raikit data *args`` (the shared runner keeps PYTHONPATH: a checkout tests itself)."""
    return cli("data", *args, cwd=cwd, env={"OMP_NUM_THREADS": "1"})


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from raikit.datasets import load_compas, load_german_credit

    folder = tmp_path_factory.mktemp("cli")
    load_german_credit().frame.to_csv(folder / "german.csv", index=False)
    compas = load_compas().frame
    compas.to_csv(folder / "compas.csv", index=False)
    shifted = compas.copy()
    shifted["priors_count"] = shifted["priors_count"] + 20
    shifted.to_csv(folder / "compas_later.csv", index=False)
    return folder


@pytest.mark.slow
def test_profile_representation_label_issues(files):
    out = files / "out"
    common = ["--target", "credit", "--sensitive", "sex,age_group", "--out", str(out)]
    result = run("profile", str(files / "german.csv"), *common)
    assert result.returncode == 0, result.stderr
    assert "personal_status" in result.stdout and "JSON written to" in result.stdout
    profile = ProfileResult.from_json(str(out / "profile.json"))
    assert profile.n_rows == 1000 and (out / "profile.html").stat().st_size > 100_000
    (files / "ref.json").write_text(json.dumps({"sex": {"Female": 0.5, "Male": 0.5}}))
    result = run(
        "representation", str(files / "german.csv"), *common, "--reference", str(files / "ref.json")
    )
    assert result.returncode == 0, result.stderr
    assert "sex=Female is under-represented" in result.stdout
    result = run(
        "label-issues",
        str(files / "german.csv"),
        *common,
        "--cv",
        "3",
        "--rows",
        str(files / "rows.csv"),
    )
    assert result.returncode == 0, result.stderr
    issues = LabelIssuesResult.from_json(str(out / "label-issues.json"))
    assert (files / "rows.csv").read_text().count("\n") == len(issues.issues) + 1


@pytest.mark.slow
def test_schema_validate_and_drift(files):
    schema = files / "schema.json"
    result = run("schema", str(files / "compas.csv"), "-o", str(schema), "-s", "race,sex")
    assert result.returncode == 0, result.stderr
    assert json.loads(schema.read_text())["roles"]["sensitive"] == ["race", "sex"]
    result = run(
        "validate",
        str(files / "compas.csv"),
        "--schema",
        str(schema),
        "--json",
        str(files / "v.json"),
        "--html",
        str(files / "v.html"),
    )
    assert result.returncode == 0 and "match the schema" in result.stdout
    result = run(
        "validate",
        str(files / "compas_later.csv"),
        "--schema",
        str(schema),
        "--json",
        str(files / "v2.json"),
        "--html",
        str(files / "v2.html"),
    )
    assert result.returncode == 1  # priors_count beyond its range in > 1 % of rows: an error
    assert "priors_count: out of range" in result.stdout
    result = run(
        "drift",
        str(files / "compas.csv"),
        str(files / "compas_later.csv"),
        "-s",
        "race,sex",
        "-t",
        "two_year_recid",
        "--out",
        str(files / "d"),
    )
    assert result.returncode == 0, result.stderr
    drift = DriftResult.from_json(str(files / "d" / "drift.json"))
    assert drift.drifted_columns == ["priors_count"]


@pytest.mark.slow
def test_datasheet_template_and_answers(files):
    template = files / "answers.yaml"
    result = run("datasheet", "--template", str(template))
    assert result.returncode == 0 and template.exists()
    text = template.read_text().replace("  purpose: ''", "  purpose: 'Credit research.'")
    template.write_text(text)
    result = run(
        "datasheet",
        str(files / "german.csv"),
        "-t",
        "credit",
        "-s",
        "sex",
        "--answers",
        str(template),
        "--markdown",
        str(files / "sheet.md"),
        "--out",
        str(files / "ds"),
    )
    assert result.returncode == 0, result.stderr
    markdown = (files / "sheet.md").read_text()
    assert "Credit research." in markdown and "_Unanswered._" in markdown


def test_errors_are_one_line_with_exit_code_2(files):
    result = run(
        "profile",
        str(files / "german.csv"),
        "-t",
        "credit",
        "-s",
        "gender",
        "--out",
        str(files / "e"),
    )
    assert result.returncode == 2
    assert "error:" in result.stderr and "Unknown sensitive column 'gender'" in result.stderr
    assert "Traceback" not in result.stderr
    result = run("validate", str(files / "german.csv"), "--schema", str(files / "none.json"))
    assert result.returncode == 2 and "Schema file not found" in result.stderr


# ------------------------------------------------------------- README commands, as written
@pytest.fixture(scope="module")
def readme_files(tmp_path_factory):
    """Small CSVs from bundled Adult as a README reader has them: a labelled train.csv (label
    ``y``; a random sample, so some race x sex slices have only a few rows), and serving.csv and
    pool.csv without the label; the pool holds few rows of most slices."""
    from raikit.datasets import load_adult

    folder = tmp_path_factory.mktemp("readme")
    frame = load_adult(as_frame=True).drop(columns="split").rename(columns={"income": "y"})
    train = frame.sample(1_500, random_state=0)
    rest = frame.drop(train.index)
    serving = rest.sample(1_500, random_state=1)
    rest = rest.drop(serving.index)
    # 3 rows of each slice, and 200 of White & Male: no other slice can supply what it is asked.
    pool = rest.groupby(["race", "sex"], observed=True).sample(3, random_state=2)
    rest = rest.drop(pool.index)
    white_men = rest[(rest["race"] == "White") & (rest["sex"] == "Male")]
    pool = pd.concat([pool, white_men.sample(200, random_state=3)])
    train.to_csv(folder / "train.csv", index=False)
    serving.drop(columns="y").to_csv(folder / "serving.csv", index=False)
    pool.drop(columns="y").to_csv(folder / "pool.csv", index=False)
    pool.to_csv(folder / "labelled_pool.csv", index=False)
    pool.assign(y=None).to_csv(folder / "empty_label_pool.csv", index=False)
    return folder


def invoke_in(folder, monkeypatch, command: str):
    """Run a README command line in ``folder`` in-process (relative paths as in the README)."""
    import shlex

    from typer.testing import CliRunner

    from raikit.cli import app

    argv = shlex.split(command)
    assert argv[0] == "raikit"
    monkeypatch.chdir(folder)
    return CliRunner().invoke(app, argv[1:], env={"COLUMNS": "200"})


def test_readme_drift_runs_on_serving_data_without_the_label(readme_files, monkeypatch):
    # Used to fail: "The current data lacks column(s) ['y']", as serving data has no label.
    out = invoke_in(
        readme_files,
        monkeypatch,
        "raikit data drift train.csv serving.csv --sensitive sex,race --out data/",
    )
    assert out.exit_code == 0, out.output
    drift = DriftResult.from_json(str(readme_files / "data" / "drift.json"))
    assert "y" not in set(drift.table["column"])
    assert {"age", "education", "hours_per_week"} <= set(drift.table["column"])
    assert drift.meta["not_compared"] == {"missing_from_current": ["y"]}
    missing = [f for f in drift.findings if "missing from the current data" in f.title]
    assert len(missing) == 1 and missing[0].severity == "warning"
    assert "['y']" in missing[0].detail and "--target" in missing[0].detail
    assert (readme_files / "data" / "drift.html").exists()
    # A column the user names must still be in both tables.
    out = invoke_in(
        readme_files,
        monkeypatch,
        "raikit data drift train.csv serving.csv --sensitive sex,race --columns age,y --out e/",
    )
    assert out.exit_code != 0 and "lacks column(s) ['y']" in str(out.exception)
    # what the user reads: raikit.cli.main words the fix as the command's flag
    from raikit._cli_utils import cli_words

    shown = cli_words(str(out.exception), {"columns": ("--columns", False)})
    assert "Pass --columns A,B to compare fewer" in shown


def test_readme_acquire_plan_with_an_unlabelled_pool(readme_files, monkeypatch):
    # Used to fail: the plan asked slices for more rows than the pool held, and an unlabelled
    # pool could not be used at all.
    out = invoke_in(
        readme_files,
        monkeypatch,
        "raikit data acquire-plan train.csv --target y --slices race,sex --budget 200 "
        "--pool pool.csv --out data/",
    )
    assert out.exit_code == 0, out.output
    from raikit._result import Result

    result = Result.from_json(str(readme_files / "data" / "acquire-plan.json"))
    allocation = result.slices.set_index("slice")["allocation"]
    assert not result.acquired
    # Every slice but White & Male holds 3 pool rows: none is asked for more.
    assert (allocation.drop("White & Male") <= 3).all() and allocation.sum() == 200
    # The slices with too few training rows for a learning curve are left out and reported.
    train = pd.read_csv(readme_files / "train.csv")
    per_slice = (train["race"] + " & " + train["sex"]).value_counts()
    left_out = result.meta["left_out"]
    assert set(left_out) == set(per_slice.index) - set(allocation.index)
    assert set(per_slice[per_slice < 20].index) <= set(left_out)
    assert any("too small to plan for" in f.title for f in result.findings)
    to_label = pd.read_csv(readme_files / "data" / "to-label.csv")
    assert "y" not in to_label.columns and len(to_label) == 200
    drawn = (to_label["race"] + " & " + to_label["sex"]).value_counts()
    assert drawn.to_dict() == {k: v for k, v in allocation.items() if v > 0}
    assert "rows to label written to" in out.output


def test_acquire_plan_splits_the_budget_between_the_pool_and_a_synthetic_source(
    readme_files, monkeypatch
):
    out = invoke_in(
        readme_files,
        monkeypatch,
        "raikit data acquire-plan train.csv --target y --slices race,sex --budget 200 "
        "--pool pool.csv --synthetic-cost 0.2 --synthetic-worth 0.5 --out two/",
    )
    assert out.exit_code == 0, out.output
    from raikit._result import Result

    plan = Result.from_json(str(readme_files / "two" / "sources-plan.json"))
    pool = pd.read_csv(readme_files / "pool.csv")
    held = (pool["race"] + " & " + pool["sex"]).value_counts()
    real = plan.allocation("real")
    assert all(real[name] <= held.get(name, 0) for name in real.index)  # the pool's rows only
    assert plan.spent == pytest.approx(real.sum() * 1.0 + plan.allocation("synthetic").sum() * 0.2)
    assert plan.spent <= 200 + 1e-9 and plan.spent > 199
    assert "Real and synthetic rows" in out.output


@pytest.mark.slow
def test_readme_acquire_plan_with_a_labelled_pool_too_small_for_the_budget(
    readme_files, monkeypatch
):
    out = invoke_in(
        readme_files,
        monkeypatch,
        "raikit data acquire-plan train.csv --target y --slices race,sex --budget 500 "
        "--pool labelled_pool.csv --out run/",
    )
    assert out.exit_code == 0, out.output
    from raikit._result import Result

    result = Result.from_json(str(readme_files / "run" / "acquire-plan.json"))
    planned = result.slices["slice"]
    pool = pd.read_csv(readme_files / "labelled_pool.csv")
    held = (pool["race"] + " & " + pool["sex"]).value_counts()[planned].sum()
    assert held < 500  # the whole pool of the planned slices is taken, no more
    assert result.acquired and result.overall["spent"] == held
    assert len(pd.read_csv(readme_files / "run" / "acquired.csv")) == held
    assert any(f.title.startswith("Not enough examples") for f in result.findings)
    # A pool whose label column is empty is an unlabelled pool: the rows to label are listed.
    out = invoke_in(
        readme_files,
        monkeypatch,
        "raikit data acquire-plan train.csv --target y --slices race,sex --budget 200 "
        "--pool empty_label_pool.csv --out empty/",
    )
    assert out.exit_code == 0, out.output
    assert len(pd.read_csv(readme_files / "empty" / "to-label.csv")) == 200


def test_representation_pos_label_flag(tmp_path, monkeypatch, capsys):
    from raikit import Result
    from raikit.cli import main

    frame = pd.DataFrame(
        {
            "s": ["a"] * 40 + ["b"] * 10,
            "y": ["approved"] * 10 + ["denied"] * 30 + ["approved"] * 6 + ["denied"] * 4,
        }
    )
    frame.to_csv(tmp_path / "t.csv", index=False)
    args = ["raikit", "data", "representation", str(tmp_path / "t.csv"), "--target", "y"]
    args += ["--sensitive", "s", "--json", str(tmp_path / "r.json"), "--pos-label", "approved"]
    args += ["--out", str(tmp_path / "out")]
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr(sys, "argv", args)
    try:
        main()
    except SystemExit as done:
        assert not done.code
    assert "positive label 'approved'" in capsys.readouterr().out
    result = Result.from_json((tmp_path / "r.json").read_text())
    assert result.groups.set_index("group")["base_rate"]["b"] == pytest.approx(0.6)


def test_weight_flag_weights_profile_drift_and_representation(tmp_path, monkeypatch):
    """--weight is the weight role on `raikit data profile`, `drift` and `representation`: the
    written results are those of the Python functions on a weighted Dataset."""
    from raikit import Dataset
    from raikit.data import RepresentationResult, profile, representation

    frame = pd.DataFrame(
        {
            "x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0] * 10,
            "s": ["a", "b"] * 30,
            "y": [0, 1, 1] * 20,
            "w": [1.0, 1.0, 1.0, 4.0, 1.0, 1.0] * 10,
        }
    )
    frame.to_csv(tmp_path / "t.csv", index=False)
    base = "--sensitive s --target y --weight w"
    for command in ("profile t.csv", "representation t.csv --pos-label 1", "drift t.csv t.csv"):
        out = invoke_in(tmp_path, monkeypatch, f"raikit data {command} {base} --out o/")
        assert out.exit_code == 0, out.output
    ds = Dataset(frame, target="y", sensitive="s", weight="w")
    got = ProfileResult.from_json(str(tmp_path / "o" / "profile.json"))
    want = profile(ds, random_state=0)
    assert got.columns.loc["x", "mean"] == pytest.approx(want.columns.loc["x", "mean"])
    assert got.columns.loc["x", "mean"] == pytest.approx(33 / 9)  # per block of six rows
    assert got.meta["weight"] == "w"
    shares = RepresentationResult.from_json(str(tmp_path / "o" / "representation.json")).groups
    assert shares.set_index("group").loc["b", "share"] == pytest.approx(
        representation(ds, pos_label=1).groups.set_index("group").loc["b", "share"]
    )
    assert shares.set_index("group").loc["b", "share"] == pytest.approx(6 / 9)  # 1 + 4 + 1 of 9
