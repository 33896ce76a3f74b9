"""``raikit constraints fit`` and ``raikit constraints verify`` end to end in a subprocess."""

from __future__ import annotations

import json

import pytest

from _cli import run
from raikit.datasets import load_german_credit


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("constraints_cli")
    load_german_credit().frame.to_csv(folder / "credit.csv", index=False)
    (folder / "problem.yaml").write_text(
        "name: Credit\nshape_constraints:\n  duration_months: decreasing\n  age: must_not_use\n",
        encoding="utf-8",
    )
    return folder


def test_fit_then_verify_keeps_the_constraints(folder):
    fit = run(
        "constraints", "fit", "-d", "credit.csv", "-t", "credit", "-s", "sex",
        "--features", "duration_months,credit_amount,age",
        "--constraints", "problem.yaml", "--out", "m.skops", cwd=folder,
    )  # fmt: skip
    assert fit.returncode == 0, fit.stderr
    assert "no violation found" in fit.stdout and (folder / "m.skops").exists()
    verify = run(
        "constraints", "verify", "-m", "m.skops", "-d", "credit.csv", "-s", "sex",
        "--constraints", "problem.yaml", "--out", "out", cwd=folder,
    )  # fmt: skip
    assert verify.returncode == 0, verify.stderr
    saved = json.loads((folder / "out" / "constraints.json").read_text())
    assert saved["type"] == "ConstraintResult"
    assert "not an input" in verify.stdout and "satisfied" in verify.stdout


def test_verify_exits_1_on_a_violation_and_shows_the_worst_example(folder):
    verify = run(
        "constraints", "verify", "-m", "m.skops", "-d", "credit.csv", "-s", "sex",
        "--increasing", "duration_months", "--out", "out2", cwd=folder,
    )  # fmt: skip
    assert verify.returncode == 1, verify.stderr
    assert "violated" in verify.stdout and "row " in verify.stdout and "->" in verify.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "Declare at least one constraint"),
        (("--increasing", "age", "--decreasing", "age"), "declared both increasing and decreasing"),
    ],
)
def test_verify_errors_say_what_to_do(folder, args, message):
    done = run(
        "constraints", "verify", "-m", "m.skops", "-d", "credit.csv", "-s", "sex", *args,
        cwd=folder,
    )  # fmt: skip
    assert done.returncode == 2 and message in done.stderr, done.stderr


def test_verify_names_the_missing_sensitive_option():
    """A Dataset needs its sensitive attributes: the command says so in its own words (it said
    "Dataset(): sensitive names no attribute" when --sensitive was optional in the help)."""
    from typer.testing import CliRunner

    from raikit.cli import app

    out = CliRunner().invoke(app, ["constraints", "verify", "-m", "m.skops", "-d", "d.csv"])
    assert out.exit_code == 2 and "--sensitive" in out.output
