"""`raikit explain` end to end on German credit with a saved model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import raikit
from raikit import Result, save_model
from raikit.explain import CounterfactualResult, ExplanationResult


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "raikit.cli", *args],
        capture_output=True,
        text=True,
        timeout=180,
        # the raikit under test (a worktree's src/), not whichever one the venv installed
        env={"COLUMNS": "200", "PATH": "", "PYTHONPATH": str(Path(raikit.__file__).parents[1])},
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


@pytest.mark.slow
def test_pos_label_reaches_explain_and_counterfactuals(tmp_path, approval):
    # 'approved' sorts first: without --pos-label the class is not guessed from the order
    import numpy as np

    ds, model = approval
    ds.frame.to_csv(tmp_path / "loans.csv", index=False)
    save_model(model, tmp_path / "model.skops")
    args = [
        "explain",
        "--data",
        str(tmp_path / "loans.csv"),
        "--model",
        str(tmp_path / "model.skops"),
        "--target",
        ds.target,
        "--sensitive",
        "sex",
        "--row",
        "2",
        "--counterfactuals",
        "2",
        "--max-rows",
        "40",
        "--out",
        str(tmp_path / "out"),
    ]
    refused = run(*args)
    assert refused.returncode != 0 and "pos" in (refused.stdout + refused.stderr).lower()
    out = run(*args, "--pos-label", "approved")
    assert out.returncode == 0, out.stderr
    result = Result.from_json(str(tmp_path / "out" / "explanation.json"))
    assert result.meta["pos_label"] == "approved"
    cf = Result.from_json(str(tmp_path / "out" / "counterfactuals.json"))
    row = ds.X.iloc[[2]]
    np.testing.assert_allclose(cf.queries["score"], model.predict_proba(row)[:, 0], atol=1e-9)


@pytest.mark.slow
def test_explain_glassbox_fits_the_ebm_on_train_and_compares_on_data(files, german):
    from raikit.explain import GlassboxResult

    train, test = german.split(0.3, random_state=0)
    train.frame.to_csv(files / "train.csv", index=False)
    test.frame.to_csv(files / "test.csv", index=False)
    args = ["--model", str(files / "model.skops"), "--target", "credit", "--sensitive", "sex"]
    out = run(
        "explain", "--data", str(files / "test.csv"), *args, "--glassbox", "--train",
        str(files / "train.csv"), "--out", str(files / "gb"),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "Is the complex model worth it?" in out.stdout and "Glass box terms" in out.stdout
    result = Result.from_json(str(files / "gb" / "glassbox.json"))
    assert isinstance(result, GlassboxResult)
    assert result.meta["n_test"] == test.n_rows and result.meta["n_train"] == train.n_rows
    assert result.meta["glassbox"] == "ExplainableBoostingClassifier (InterpretML)"
    assert list(result.gap["group"]) == ["overall", "Female", "Male"]
    # --train without --glassbox is refused in the words of the command line
    bad = run("explain", "--data", str(files / "test.csv"), *args, "--train", "x.csv")
    assert bad.returncode != 0 and "--glassbox" in bad.stdout + bad.stderr
