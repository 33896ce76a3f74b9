"""The positive label is explicit: inferred only as scikit-learn does, otherwise required."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from raikit import DataError, ParameterError
from raikit.metrics import group_metrics

Y = np.array(["approved", "denied", "denied", "approved", "denied", "denied"])
P = np.array(["approved", "denied", "approved", "approved", "denied", "denied"])
S = ["a", "a", "a", "b", "b", "b"]


def test_string_labels_without_pos_label_are_refused_with_the_labels_listed():
    """Today the "selection rate" of approved/denied is silently the denial rate."""
    with pytest.raises(DataError, match="pos_label") as info:
        group_metrics(Y, P, sensitive_features=S)
    message = str(info.value)
    assert "'approved'" in message and "'denied'" in message and "--pos-label" in message


def test_pos_label_decides_what_is_selected():
    r = group_metrics(Y, P, sensitive_features=S, pos_label="approved", metrics=["selection_rate"])
    assert r.meta["pos_label"] == "approved"
    assert r.by_group["selection_rate"].tolist() == pytest.approx([2 / 3, 1 / 3])
    assert "positive label 'approved'" in r.summary
    r = group_metrics(Y, P, sensitive_features=S, pos_label="denied", metrics=["selection_rate"])
    assert r.by_group["selection_rate"].tolist() == pytest.approx([1 / 3, 2 / 3])


@pytest.mark.parametrize(
    ("y", "p", "positive"),
    [
        ([0, 1, 1, 0], [0, 1, 0, 0], 1),
        ([False, True, True, False], [False, True, False, False], True),
        ([-1, 1, 1, -1], [-1, 1, -1, -1], 1),
        ([0.0, 1.0, 1.0, 0.0], [0.0, 1.0, 0.0, 0.0], 1),
    ],
)
def test_inferred_as_scikit_learn_does(y, p, positive):
    r = group_metrics(y, p, sensitive_features=["a", "a", "b", "b"], metrics=["true_positive_rate"])
    assert r.meta["pos_label"] == positive
    assert r.by_group["true_positive_rate"].tolist() == [1.0, 0.0]


def test_pos_label_zero_on_zero_one_labels():
    r = group_metrics(
        [0, 1, 1, 0],
        [0, 1, 0, 0],
        sensitive_features=["a", "a", "b", "b"],
        pos_label=0,
        metrics=["selection_rate"],
    )
    assert r.meta["pos_label"] == 0
    assert r.by_group["selection_rate"].tolist() == [0.5, 1.0]


def test_a_pos_label_that_is_not_a_label_is_refused():
    with pytest.raises(ParameterError, match="not one of the labels"):
        group_metrics(Y, P, sensitive_features=S, pos_label="maybe")


def test_a_command_line_string_matches_a_numeric_label():
    r = group_metrics(
        [0, 1, 1, 0], [0, 1, 0, 0], sensitive_features=["a", "a", "b", "b"], pos_label="1"
    )
    assert r.meta["pos_label"] == 1


@pytest.mark.parametrize(
    ("y", "p"),
    [
        (["Yes", "yes", "No"], ["Yes", "No", "No"]),
        (["Yes", "No", "No"], ["yes", "No", "No"]),
        (["a ", "a", "b"], ["a", "b", "b"]),
    ],
)
def test_case_variant_labels_are_refused(y, p):
    """Today 'Yes'/'yes' silently become three classes."""
    with pytest.raises(DataError, match="differ only by case"):
        group_metrics(y, p, sensitive_features=["g", "g", "h"])


def test_multiclass_needs_no_pos_label():
    r = group_metrics(["a", "b", "c", "a"], ["a", "b", "b", "a"], sensitive_features=["g"] * 4)
    assert r.task == "multiclass" and r.meta["pos_label"] is None


def test_evaluate_refuses_string_labels_without_pos_label_and_reports_the_choice():
    from raikit import Dataset
    from raikit.evaluate import evaluate

    frame = pd.DataFrame({"y": np.tile(Y, 10), "pred": np.tile(P, 10), "g": S * 10})
    ds = Dataset(frame, target="y", sensitive=["g"], prediction="pred")
    with pytest.raises(DataError, match="pos_label"):
        evaluate(None, ds, n_boot=20)
    r = evaluate(None, ds, n_boot=20, pos_label="approved")
    assert r.meta["positive_label"] == "approved"
    assert "positive label 'approved'" in r.summary
    rates = r.at().loc[("g", "a"), "selection_rate"]
    assert rates == pytest.approx(2 / 3)


def test_cli_metrics_takes_pos_label_and_names_it(tmp_path):
    path = tmp_path / "preds.csv"
    pd.DataFrame({"y": np.tile(Y, 10), "p": np.tile(P, 10), "s": S * 10}).to_csv(path, index=False)

    def run(*extra):
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "raikit.cli",
                "metrics",
                str(path),
                "-t",
                "y",
                "-p",
                "p",
                "-s",
                "s",
                *extra,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "COLUMNS": "200"},
        )

    refused = run()
    assert refused.returncode == 2
    assert "--pos-label" in refused.stderr and "Traceback" not in refused.stderr
    done = run("--pos-label", "approved")
    assert done.returncode == 0, done.stderr
    assert "positive label: 'approved'" in " ".join(done.stdout.split())
