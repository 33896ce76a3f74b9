"""review_metrics: automated vs reviewed precision/recall per group, checked against scikit-learn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import precision_score, recall_score

from raikit._errors import DataError, ParameterError
from raikit._result import Result
from raikit.review import ReviewMetricsResult, review_metrics


@pytest.fixture(scope="module")
def period(scored_frame):
    # A review period on Adult: the 20% least confident rows went to a reviewer who is right 95%
    # of the time; the others kept the model's decision.
    frame = scored_frame
    rng = np.random.default_rng(0)
    conf = np.maximum(frame["score"], 1 - frame["score"]).to_numpy()
    reviewed = conf < np.quantile(conf, 0.2)
    model = (frame["score"].to_numpy() >= 0.5).astype(int)
    human = np.where(rng.random(len(frame)) < 0.95, frame["y"], 1 - frame["y"])
    decision = np.where(reviewed, human, model)
    return frame["y"].to_numpy(), decision, reviewed, frame["sex"].to_numpy()


def test_values_match_sklearn(period):
    y, decision, reviewed, sex = period
    result = review_metrics(
        y, decision, reviewed=reviewed, sensitive_features=sex, n_boot=100, random_state=0
    )
    t = result.table.set_index(["share", "attribute", "group", "metric"])["value"]
    for share, rows in (("automated", ~reviewed), ("reviewed", reviewed)):
        for group in ("Female", "Male"):
            m = rows & (sex == group)
            assert t[(share, "group", group, "precision")] == pytest.approx(
                precision_score(y[m], decision[m]), abs=1e-12
            )
            assert t[(share, "group", group, "recall")] == pytest.approx(
                recall_score(y[m], decision[m]), abs=1e-12
            )
    auto = result.automation.set_index(["attribute", "group"])["automated_share"]
    assert auto[("group", "Female")] == pytest.approx(np.mean(~reviewed[sex == "Female"]))


def test_gate_widens_only_when_every_group_meets_targets(period):
    y, decision, reviewed, sex = period
    loose = review_metrics(
        y,
        decision,
        reviewed=reviewed,
        sensitive_features=sex,
        targets={"accuracy": 0.8},
        n_boot=100,
        random_state=0,
    )
    assert loose.recommendation == "widen" and loose.gate["meets"].all()
    strict = review_metrics(
        y,
        decision,
        reviewed=reviewed,
        sensitive_features=sex,
        targets={"precision": 0.9, "recall": 0.5},
        n_boot=100,
        random_state=0,
    )
    assert strict.recommendation == "hold"
    failing = strict.gate[~strict.gate["meets"]]
    assert len(failing) > 0 and (failing["lower"] < failing["target"]).all()
    assert any("below target" in f.title for f in strict.findings)
    back = Result.from_json(strict.to_json())
    assert isinstance(back, ReviewMetricsResult)
    pd.testing.assert_frame_equal(back.gate, strict.gate)
    assert len(strict.figures()) == 2
    assert "hold" in strict.summary


def test_bad_input(period):
    y, decision, reviewed, sex = period
    with pytest.raises(ParameterError, match=r"review_metrics\(\): targets names unknown"):
        review_metrics(y, decision, reviewed=reviewed, sensitive_features=sex, targets={"f1": 0.5})
    with pytest.raises(ParameterError, match=r"targets\['recall'\] must be a number in \[0, 1\]"):
        review_metrics(
            y, decision, reviewed=reviewed, sensitive_features=sex, targets={"recall": 2}
        )
    with pytest.raises(DataError, match="differ in length"):
        review_metrics(y, decision[:10], reviewed=reviewed, sensitive_features=sex)
    with pytest.raises(DataError, match="both automated and reviewed"):
        review_metrics(y, decision, reviewed=np.zeros(len(y), bool), sensitive_features=sex)
    with pytest.raises(DataError, match="True/False"):
        review_metrics(y, decision, reviewed=np.full(len(y), 3), sensitive_features=sex)
    with pytest.raises(ParameterError, match=r"review_metrics\(\): ci must be"):
        review_metrics(y, decision, reviewed=reviewed, sensitive_features=sex, ci=1.5)
    with pytest.raises(ParameterError, match=r"review_metrics\(\): n_boot must be"):
        review_metrics(y, decision, reviewed=reviewed, sensitive_features=sex, n_boot=0)
    with pytest.raises(TypeError, match="sensitive"):  # the old keyword is gone
        review_metrics(y, decision, reviewed=reviewed, sensitive=sex)


def test_string_labels_need_pos_label_and_use_it(period):
    y, decision, reviewed, sex = period
    names = np.array(["denied", "approved"], dtype=object)
    y_text, d_text = names[y], names[decision]  # 'approved' is the label 1
    with pytest.raises(DataError, match="pos_label"):
        review_metrics(y_text, d_text, reviewed=reviewed, sensitive_features=sex, n_boot=20)
    for positive, code in (("approved", 1), ("denied", 0)):
        result = review_metrics(
            y_text,
            d_text,
            reviewed=reviewed,
            sensitive_features=sex,
            pos_label=positive,
            n_boot=20,
            random_state=0,
        )
        assert result.pos_label == positive and repr(positive) in result.summary
        t = result.table.set_index(["share", "attribute", "group", "metric"])["value"]
        m = ~reviewed & (sex == "Female")
        hits = ((y[m] == code) & (decision[m] == code)).sum()
        assert t[("automated", "group", "Female", "precision")] == pytest.approx(
            hits / (decision[m] == code).sum(), abs=1e-12
        )
        assert t[("automated", "group", "Female", "recall")] == pytest.approx(
            hits / (y[m] == code).sum(), abs=1e-12
        )


def test_track_records_one_row_with_its_parameters(period, tmp_path):
    """The two group_metrics calls inside record nothing; the call is one row with every
    parameter."""
    import json

    import raikit
    from raikit.ledger import Ledger

    y, decision, reviewed, sex = period
    ledger = Ledger(tmp_path / "ledger")
    with raikit.track("review", ledger=ledger) as run:
        review_metrics(
            y,
            decision,
            reviewed=reviewed,
            sensitive_features=sex,
            targets={"accuracy": 0.8},
            n_boot=30,
        )
    evidence = ledger.evidence(run=run.id)
    assert evidence["check_name"].tolist() == ["review.metrics"]
    params = json.loads(evidence["params"].iloc[0])
    assert params["targets"] == {"accuracy": 0.8} and params["n_boot"] == 30
    assert params["ci"] == 0.95 and isinstance(params["random_state"], int)
