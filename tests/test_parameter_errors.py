"""A bad ARGUMENT raises ParameterError (not DataError), naming the function and the keyword.

One case per module whose hand-written parameter checks moved from DataError to ParameterError
(issue 18, item 2). ParameterError and DataError are siblings: catching one must not catch the
other, so a caller can tell "fix your call" from "fix your data".
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from raikit import Dataset
from raikit._errors import DataError, ParameterError


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(0)
    n = 120
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "z": rng.normal(size=n),
            "sex": np.where(rng.random(n) < 0.5, "F", "M"),
            "y": (rng.random(n) < 0.5).astype(int),
        }
    )
    ds = Dataset(frame, target="y", sensitive="sex", features=["x", "z"])
    model = LogisticRegression().fit(ds.X, ds.y)
    return frame, ds, model


class _NoProba:
    def predict(self, X):
        return np.zeros(len(X), dtype=int)


def _dataset_sensitive(small, tmp_path):
    Dataset(small[0], target="y", sensitive=[])


def _dataset_sample(small, tmp_path):
    small[1].sample(0)


def _check_dataset(small, tmp_path):
    from raikit.data import profile

    profile(small[0])


def _drift(small, tmp_path):
    from raikit.data import drift

    drift(reference=[1, 2, 3], current=small[0])


def _schema(small, tmp_path):
    from raikit.data import infer_schema

    infer_schema([1, 2, 3])


def _clean(small, tmp_path):
    from raikit.data import clean

    clean(small[0])


def _allocate(small, tmp_path):
    from raikit.data import allocate_budget

    allocate_budget([0.5, 0.5], [1.0, 1.0], n=[10, 10], budget=10, cost=[1.0, -1.0])


def _register_section(small, tmp_path):
    from raikit.audit import register_section

    register_section("x", principle="vibes")


def _model_card(small, tmp_path):
    from raikit.cards import model_card

    model_card(None)


def _cost(small, tmp_path):
    from raikit.evaluate import cost_analysis

    cost_analysis(_NoProba(), small[1], cost_matrix=[[0, 1], [5, 0]])


def _slice_mask(small, tmp_path):
    from raikit.evaluate import find_slices

    result = find_slices(small[2], small[1], min_size=10, max_features=1)
    result.mask(small[1], len(result.slices) + 5)


def _what_if(small, tmp_path):
    from raikit.explain import what_if

    frame = small[0].assign(sex=small[0]["sex"].astype("category"))
    model = LogisticRegression().fit(frame[["x", "z"]], frame["y"])
    what_if(model, frame[["x", "z", "sex"]].head(2), changes={"sex": "X"})


def _unknown_metric(small, tmp_path):
    from raikit.metrics import group_metrics

    frame = small[0]
    group_metrics(frame["y"], frame["y"], sensitive_features=frame["sex"], metrics=["vibes"])


def _pos_label(small, tmp_path):
    from raikit.metrics import group_metrics

    frame = small[0]
    group_metrics(frame["y"], frame["y"], sensitive_features=frame["sex"], pos_label=7)


def _criterion(small, tmp_path):
    from raikit.metrics import DemographicParity, group_metrics

    frame = small[0]
    result = group_metrics(frame["y"], frame["y"], sensitive_features=frame["sex"])
    DemographicParity().evaluate(result, min_group_size=0)


def _monitor(small, tmp_path):
    from raikit.monitor import Monitor

    Monitor(small[0], ledger=tmp_path / "ledger")


def _monitor_history(small, tmp_path):
    from raikit.ledger import Ledger
    from raikit.monitor import monitor_history

    monitor_history(Ledger(tmp_path / "ledger"), table="vibes")


def _epsilon(small, tmp_path):
    from raikit.privacy import PrivacySource

    PrivacySource.register("survey", epsilon=-1, budget_path=tmp_path / "budget.db")


def _domain(small, tmp_path):
    from raikit.privacy import PrivacySource, PrivateTable

    PrivacySource.register("survey", epsilon=1.0, budget_path=tmp_path / "budget.db")
    PrivateTable(
        small[0], source="survey", budget_path=tmp_path / "budget.db", domains={"sex": "F"}
    )


def _synth_bounds(small, tmp_path):
    from raikit.privacy import PrivacySource, synthesize

    PrivacySource.register("survey", epsilon=1.0)
    synthesize(small[1], source="survey", epsilon=0.5)


def _membership(small, tmp_path):
    from raikit.privacy import membership_inference

    membership_inference(_NoProba(), train=small[1], test=small[1])


def _queue(small, tmp_path):
    from raikit.review import ReviewQueue

    ReviewQueue(tmp_path / "queue").items(status="vibes")


def _poison(small, tmp_path):
    from raikit.train import flip_labels

    flip_labels(small[0][["x", "z"]], small[0]["y"], share=0.9)


def _compare(small, tmp_path):
    from raikit.train import compare_mitigations

    train, test = small[1].split(0.5, random_state=0)
    with pytest.raises(ParameterError, match=r"compare_mitigations\(\): methods must be a list"):
        compare_mitigations(train=train, test=test, methods=["none", "vibes"])
    compare_mitigations(train=train, test=test, methods=["none"], clean_validation=0.9)


CASES = {  # module: (call, the words the message must contain)
    "dataset": (_dataset_sensitive, ["Dataset()", "sensitive"]),
    "dataset.sample": (_dataset_sample, ["Dataset.sample()", "n must be"]),
    "_validation": (_check_dataset, ["profile()", "data must be"]),
    "data._drift": (_drift, ["drift()", "reference must be"]),
    "data._schema_check": (_schema, ["infer_schema()", "data must be"]),
    "data._mlclean": (_clean, ["clean()", "data must be"]),
    "data._slice_tuner": (_allocate, ["allocate_budget()", "cost must be"]),
    "audit": (_register_section, ["register_section()", "principle must be"]),
    "cards": (_model_card, ["model_card()", "report", "ledger="]),
    "evaluate._cost": (_cost, ["cost_analysis()", "model needs predict_proba"]),
    "evaluate._slices": (_slice_mask, ["SliceResult.mask()", "slice index"]),
    "explain._whatif": (_what_if, ["what_if()", "changes['sex']"]),
    "metrics._definitions": (_unknown_metric, ["metrics: unknown metric 'vibes'"]),
    "metrics._group_metrics": (_pos_label, ["pos_label=7"]),
    "metrics._fairness": (_criterion, ["evaluate()", "min_group_size must be"]),
    "monitor": (_monitor, ["Monitor()", "reference must be"]),
    "monitor.history": (_monitor_history, ["monitor_history()", "table must be"]),
    "privacy._source": (_epsilon, ["PrivacySource.register()", "epsilon must be"]),
    "privacy._table": (_domain, ["domains['sex']", "list of values"]),
    "privacy._synth": (_synth_bounds, ["bounds"]),
    "privacy._membership": (_membership, ["membership_inference()", "model needs predict_proba"]),
    "review._queue": (_queue, ["ReviewQueue.items()", "status must be"]),
    "train._poison": (_poison, ["flip_labels()", "share must be"]),
    "train._compare": (_compare, ["compare_mitigations()", "clean_validation"]),
}


@pytest.mark.parametrize("module", list(CASES))
def test_a_bad_argument_is_a_parameter_error_naming_the_keyword(
    module, small, tmp_path, monkeypatch
):
    monkeypatch.setenv("HOME", str(tmp_path))
    call, words = CASES[module]
    with pytest.raises(ParameterError) as caught:
        call(small, tmp_path)
    assert not isinstance(caught.value, DataError)  # siblings: "fix the call", not "fix the data"
    message = str(caught.value)
    for word in words:
        assert word in message, (word, message)


def test_data_problems_stay_data_errors(small):
    """The converse: a real data problem (an empty table, missing labels) is still a DataError."""
    from raikit.metrics import group_metrics

    with pytest.raises(DataError, match="empty") as caught:
        Dataset(small[0].iloc[:0], target="y", sensitive="sex")
    assert not isinstance(caught.value, ParameterError)
    with pytest.raises(DataError, match="missing value"):
        group_metrics(
            np.array([0.0, np.nan]), np.array([0, 1]), sensitive_features=np.array(["a", "b"])
        )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["privacy", "register", "survey", "--budget=-1"], "--budget must be a positive"),
        (["metrics", "{data}", "-t", "y", "-p", "y", "-s", "sex", "--ci", "5"], "--ci must be"),
    ],
)
def test_the_command_line_names_the_flag_not_the_python_function(args, expected, tmp_path):
    """A ParameterError's ``fn(): keyword`` lead becomes the command's flag; exit code 2."""
    import os
    import subprocess
    import sys

    frame = pd.DataFrame({"x": range(40), "sex": ["F", "M"] * 20, "y": [0, 1, 1, 0] * 10})
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    run = subprocess.run(
        [sys.executable, "-m", "raikit.cli", *(a.format(data=path) for a in args)],
        capture_output=True,
        text=True,
        env={**os.environ, "HOME": str(tmp_path), "COLUMNS": "200"},
    )
    assert run.returncode == 2, run.stderr
    line = " ".join(run.stderr.split())
    assert f"error: {expected}" in line, line
    assert "()" not in line and "Traceback" not in line
