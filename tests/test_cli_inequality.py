"""``raikit metrics --inequality``: the inequality metrics from a file of predictions, equal to
the API's, with errors in flag words."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from raikit import Result
from raikit.metrics import average_odds_difference, consistency, theil_index
from test_cli import run


@pytest.fixture(scope="module")
def predictions(tmp_path_factory):
    rng = np.random.default_rng(0)
    n = 400
    frame = pd.DataFrame(
        {
            "sex": rng.choice(["F", "M"], n),
            "race": rng.choice(["A", "B", "C"], n),
            "age": rng.integers(18, 80, n),
            "city": rng.choice(["x", "y"], n),
            "y": rng.integers(0, 2, n),
        }
    )
    frame["p"] = np.where(
        rng.random(n) < np.where(frame["sex"] == "F", 0.7, 0.9), frame["y"], 1 - frame["y"]
    )
    path = tmp_path_factory.mktemp("inequality") / "pred.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_inequality_flag_prints_and_writes_the_api_values(predictions, tmp_path):
    path, frame = predictions
    out_json = tmp_path / "inequality.json"
    base = ["metrics", str(path), "-t", "y", "-p", "p", "-s", "sex,race", "--n-boot", "100"]
    extra = ["--inequality", "--privileged", "M", "--features", "age,city"]
    out = run(*base, *extra, "--inequality-json", str(out_json))
    assert out.returncode == 0, out.stderr
    assert "Inequality and individual fairness" in out.stdout
    assert "theil index" in out.stdout and "consistency" in out.stdout
    result = Result.from_json(str(out_json))
    assert result.value("theil_index") == pytest.approx(
        theil_index(frame["y"], frame["p"]), abs=1e-12
    )
    assert result.value("average_odds_difference", "sex") == pytest.approx(
        average_odds_difference(
            frame["y"], frame["p"], sensitive_features=frame["sex"], privileged="M"
        ),
        abs=1e-12,
    )
    X = pd.get_dummies(frame[["age", "city"]], dtype=float)
    assert result.value("consistency") == pytest.approx(consistency(X, frame["p"]), abs=1e-12)
    table = result.table
    assert ((table["lower"] <= table["value"]) & (table["value"] <= table["upper"])).all()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--inequality", "--privileged", "Q"], "--privileged 'Q' is not one of the groups of sex"),
        (["--features", "age"], "--features only apply with --inequality"),
        (["--inequality", "--order", "nan"], "--order must be a finite number"),
        (["--inequality", "--features", "nope"], "--features: unknown column(s) ['nope']"),
    ],
)
def test_inequality_errors_speak_in_flags(predictions, args, message):
    path, _ = predictions
    out = run("metrics", str(path), "-t", "y", "-p", "p", "-s", "sex", "--n-boot", "50", *args)
    assert out.returncode == 2, out.stdout
    assert message in out.stderr
    assert "Traceback" not in out.stderr
