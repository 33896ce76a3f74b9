"""`raikit explain` end to end on German credit with a saved model."""

from __future__ import annotations

import subprocess
import sys

import pytest

from raikit import Result, save_model
from raikit.explain import CounterfactualResult, ExplanationResult


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "raikit.cli", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env={"COLUMNS": "200", "PATH": ""},
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory, german, german_forest):
    folder = tmp_path_factory.mktemp("explain-cli")
    german.frame.to_csv(folder / "credit.csv", index=False)
    save_model(german_forest, folder / "model.skops")
    return folder


@pytest.mark.slow
def test_explain_command_writes_html_and_json(files):
    out = run(
        "explain",
        "--data",
        str(files / "credit.csv"),
        "--model",
        str(files / "model.skops"),
        "--target",
        "credit",
        "--sensitive",
        "sex,age_group",
        "--row",
        "7",
        "--counterfactuals",
        "3",
        "--immutable",
        "age",
        "--out",
        str(files / "out"),
    )
    assert out.returncode == 0, out.stderr
    assert "Global importance" in out.stdout and "Row 7: largest attributions" in out.stdout
    result = Result.from_json(str(files / "out" / "explanation.json"))
    assert isinstance(result, ExplanationResult) and 7 in result.attributions.index
    assert result.meta["method"] == "tree"
    cf = Result.from_json(str(files / "out" / "counterfactuals.json"))
    assert isinstance(cf, CounterfactualResult) and len(cf.counterfactuals) >= 1
    assert (cf.counterfactuals["age"] == cf.queries["age"].iloc[0]).all()
    assert (files / "out" / "explanation.html").read_text().count("plotly") > 0


@pytest.mark.slow
def test_explain_command_bad_row_is_a_clean_error(files):
    out = run(
        "explain",
        "--data",
        str(files / "credit.csv"),
        "--model",
        str(files / "model.skops"),
        "--target",
        "credit",
        "--sensitive",
        "sex",
        "--row",
        "5000",
    )
    assert out.returncode == 2
    assert "error:" in out.stderr and "--row must be a row position" in out.stderr
    assert "Traceback" not in out.stderr
