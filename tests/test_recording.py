"""Recording at the boundary: one evidence row per outermost call, every parameter, a replayable seed."""

from __future__ import annotations

import json
import threading

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import raikit
from raikit import Dataset
from raikit._recording import inside_check, recorded
from raikit.evaluate import evaluate
from raikit.ledger import Ledger, paused


@pytest.fixture(scope="module")
def scored():
    rng = np.random.default_rng(3)
    n = 600
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "sex": rng.choice(["F", "M"], n),
        }
    )
    frame["y"] = (frame["x"] + rng.normal(scale=0.8, size=n) > 0).astype(int)
    ds = Dataset(frame, target="y", sensitive="sex")
    model = LogisticRegression().fit(ds.X, ds.y)
    return model, ds


def test_track_around_evaluate_records_one_row(tmp_path, scored):
    model, ds = scored
    ledger = Ledger(tmp_path / "ledger")
    with raikit.track("one check", ledger=ledger) as run:
        evaluate(model, ds, n_boot=50, random_state=0)
    evidence = ledger.evidence(run=run.id)
    # evaluate calls group_metrics once per threshold; only the outer call is evidence
    assert evidence["check_name"].tolist() == ["evaluate.evaluate"]


def test_every_parameter_is_recorded_and_none_seed_replays(tmp_path, scored):
    model, ds = scored
    ledger = Ledger(tmp_path / "ledger")
    first = evaluate(model, ds, n_boot=60, thresholds=[0.4, 0.6], ledger=ledger)
    evidence = ledger.evidence()
    assert evidence["check_name"].tolist() == ["evaluate.evaluate"]
    params = json.loads(evidence["params"].iloc[0])
    expected = {
        "metrics",
        "thresholds",
        "ci",
        "criteria",
        "tolerance",
        "n_boot",
        "random_state",
        "pos_label",
    }
    assert expected <= set(params), sorted(params)
    assert params["n_boot"] == 60 and params["thresholds"] == [0.4, 0.6]
    seed = params["random_state"]
    assert isinstance(seed, int)  # None became a fresh, recorded seed
    again = evaluate(model, ds, n_boot=60, thresholds=[0.4, 0.6], random_state=seed)
    pd.testing.assert_frame_equal(first.metrics, again.metrics)


def test_paused_records_nothing_even_with_ledger(tmp_path, scored):
    model, ds = scored
    ledger = Ledger(tmp_path / "ledger")
    with paused():
        evaluate(model, ds, n_boot=20, random_state=0, ledger=ledger)
    assert len(ledger.evidence()) == 0


def test_depth_is_per_thread():
    seen = {}

    @recorded("test.slow")
    def slow(event_in, event_out):
        event_in.set()
        event_out.wait(5)
        return None

    started, release = threading.Event(), threading.Event()
    worker = threading.Thread(target=slow, args=(started, release))
    worker.start()
    started.wait(5)
    seen["main"] = inside_check()  # another thread is inside a check; this one is not
    release.set()
    worker.join(5)
    assert seen == {"main": False}


def test_failed_validation_records_nothing(tmp_path, scored):
    model, ds = scored
    ledger = Ledger(tmp_path / "ledger")
    with pytest.raises(raikit.ParameterError, match="n_boot must be an integer >= 1; got 0"):
        evaluate(model, ds, n_boot=0, ledger=ledger)
    assert len(ledger.evidence()) == 0


def test_track_around_evaluate_and_learning_curve_records_two_rows(tmp_path, scored):
    # before issue 18 the pair wrote 7 extra group_metrics rows (one per inner call)
    from raikit.evaluate import learning_curve

    model, ds = scored
    ledger = Ledger(tmp_path / "ledger")
    with raikit.track("two checks", ledger=ledger) as run:
        evaluate(model, ds, n_boot=20, random_state=0)
        learning_curve(LogisticRegression(), ds, sizes=[0.5, 1.0], cv=2, random_state=0)
    evidence = ledger.evidence(run=run.id)
    assert evidence["check_name"].tolist() == ["evaluate.evaluate", "evaluate.learning_curve"]
    params = json.loads(evidence["params"].iloc[1])
    assert params["cv"] == 2 and params["sizes"] == [0.5, 1.0] and params["random_state"] == 0


def test_rows_never_reach_the_ledger_through_parameters(tmp_path):
    """A check's row-aligned and table arguments are recorded by shape, never by value."""
    from raikit.metrics import group_metrics

    ledger = Ledger(tmp_path / "ledger")
    secret = np.array(["Alice-7731", "Bob-1182", "Alice-7731", "Bob-1182"])
    group_metrics([1, 0, 1, 0], [1, 0, 0, 0], sensitive_features=secret, ledger=ledger, n_boot=10)
    params = json.loads(ledger.evidence()["params"].iloc[0])
    assert "Alice-7731" not in json.dumps(params)
    assert params["sensitive_features"] == "ndarray(shape=(4,))"
    assert params["y_true"] == "list(len=4)" and params["n_boot"] == 10


def test_clean_and_selective_evaluate_record_once_at_the_boundary(tmp_path, scored):
    """The two checks that used to record from inside their bodies (a class's run method and an
    estimator's evaluate) now record through the decorator: one row each, every parameter."""
    from raikit.data import clean
    from raikit.review import SelectiveClassifier

    model, ds = scored
    ledger = Ledger(tmp_path / "ledger")
    with raikit.track("clean and review", ledger=ledger) as run:
        clean(ds, cv=3, random_state=0)
        selective = SelectiveClassifier(model, prefit=True, coverage=0.8, random_state=0)
        selective.fit(ds.X, ds.y, sensitive_features=ds.sensitive)
        selective.evaluate(ds.X, ds.y, sensitive_features=ds.sensitive, ci=0.9)
    evidence = ledger.evidence(run=run.id)
    assert evidence["check_name"].tolist() == ["data.mlclean", "review.selective"]
    cleaning, review = (json.loads(p) for p in evidence["params"])
    assert cleaning["cv"] == 3 and cleaning["sanitize"] and "duplicate_tolerance" in cleaning
    assert review["ci"] == 0.9 and review["X"] == f"DataFrame(shape=({ds.n_rows}, 1))"
    assert evidence["model_id"].iloc[1] is not None  # the classifier that evaluated itself
