"""`raikit data ...` end to end in a subprocess, on German credit and COMPAS files."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from raikit.data import DriftResult, LabelIssuesResult, ProfileResult


def run(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "raikit.cli", "data", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env={"COLUMNS": "200", "PATH": "", "OMP_NUM_THREADS": "1"},
    )


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
