"""``raikit power``: the rows per group and the detectable difference of the API, on the command
line, with errors in flag words."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest

from raikit.metrics import detectable_difference, required_group_size


@pytest.fixture
def run(monkeypatch, capsys):
    """``raikit ...`` in this process (as ``main()`` runs it: errors in flag words, exit 2)."""
    from raikit import cli
    from raikit.metrics import _cli

    monkeypatch.setattr(_cli.console, "width", 200)
    monkeypatch.setattr(cli.console, "width", 200)

    def invoke(*args: str):
        monkeypatch.setattr(sys, "argv", ["raikit", *args])
        with pytest.raises(SystemExit) as exit_:
            cli.main()
        out = capsys.readouterr()
        return SimpleNamespace(returncode=exit_.value.code, stdout=out.out, stderr=out.err)

    return invoke


def test_rows_per_group_are_the_apis(run):
    out = run("power", "--criterion", "equal_opportunity", "--difference", "0.05",
              "--base-rate", "0.3", "--power", "0.9", "--groups", "3", "--ratio", "2")  # fmt: skip
    assert out.returncode == 0, out.stderr
    n = required_group_size(
        "equal_opportunity", difference=0.05, base_rate=0.3, power=0.9, groups=3, ratio=2.0
    )
    assert f"│ equal_opportunity │ positives  │ {n:,}" in out.stdout
    assert f"{2 * n:,}" in out.stdout  # the second group, twice as large
    assert "over 3 pair(s)" in out.stdout


def test_every_criterion_the_rates_allow_and_the_detectable_difference(run):
    out = run("power", "--difference", "0.1")
    assert out.returncode == 0, out.stderr
    assert "demographic_parity" in out.stdout and "accuracy_parity" in out.stdout
    assert "equal_opportunity" not in out.stdout.split("Left out")[0]
    assert "give --base-rate" in out.stdout
    out = run("power", "--group-size", "800", "--base-rate", "0.4", "--selection-rate", "0.3")
    assert out.returncode == 0, out.stderr
    for name, extra in [
        ("demographic_parity", {}),
        ("equalized_odds", {"base_rate": 0.4}),
        ("predictive_parity", {"selection_rate": 0.3}),
    ]:
        gap = detectable_difference(name, group_size=800, **extra)
        assert f"{gap:.4f}" in out.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--difference", "1.5"], "--difference must be a number in (0, 1)"),
        (["--difference", "0.1", "--group-size", "100"], "exactly one of --difference"),
        ([], "exactly one of --difference"),
        (["--criterion", "equal_opportunity", "--difference", "0.1"], "--base-rate"),
        (["--criterion", "treatment_equality", "--difference", "0.1"], "not proportions"),
        (["--group-size", "100", "--groups", "1"], "--groups must be"),
    ],
)
def test_errors_speak_in_flags(run, args, message):
    out = run("power", *args)
    assert out.returncode == 2
    assert message in " ".join(out.stderr.split())
    assert "Traceback" not in out.stderr


def test_metrics_prints_the_criteria_with_their_detectable_difference(run, tmp_path):
    import numpy as np
    import pandas as pd

    from raikit.metrics import group_metrics

    rng = np.random.default_rng(0)
    n = 600
    frame = pd.DataFrame({"sex": rng.choice(["F", "M"], n), "y": rng.integers(0, 2, n)})
    frame["p"] = np.where(rng.random(n) < 0.8, frame["y"], 1 - frame["y"])
    path = tmp_path / "pred.csv"
    frame.to_csv(path, index=False)
    out = run("metrics", str(path), "-t", "y", "-p", "p", "-s", "sex", "--n-boot", "100",
              "--tolerance", "0.15")  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "Fairness criteria (tolerance 0.15)" in out.stdout
    api = group_metrics(
        frame["y"], frame["p"], sensitive_features=frame["sex"], n_boot=100, random_state=0
    ).fairness(tolerance=0.15)
    for row in api.itertuples(index=False):  # the verdict and the detectable gap of the API
        line = next(x for x in out.stdout.splitlines() if f"│ {row.criterion} " in x)
        assert f"│ {row.verdict} " in line and f"{row.detectable_difference:.3f}" in line
