"""cost_analysis(): expected cost checked by brute force, the matrix and dict forms agree, intervals
contain the estimate, and bad cost matrices are refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from raikit import Dataset, Result
from raikit._errors import DataError, ParameterError
from raikit.evaluate import CostResult, cost_analysis


def test_tiny_example_by_hand():
    frame = pd.DataFrame({"s": list("aabb"), "y": [1, 0, 1, 0], "p": [0.9, 0.6, 0.4, 0.1]})
    ds = Dataset(frame, target="y", sensitive="s", score="p")
    r = cost_analysis(None, ds, cost_matrix={"fp": 1, "fn": 2}, thresholds=[0.3, 0.5, 0.7], ci=None)
    curve = r.curve.set_index(["group", "threshold"])["expected_cost"]
    # threshold 0.7: row 2 (y=0, p=.6) is now negative -> correct; rows 3 (y=1, .4) FN costs 2.
    assert curve[("overall", 0.7)] == pytest.approx(2 / 4)
    assert curve[("overall", 0.5)] == pytest.approx((1 + 2) / 4)
    assert curve[("overall", 0.3)] == pytest.approx(1 / 4)
    assert curve[("b", 0.3)] == 0 and curve[("a", 0.7)] == 0
    opt = r.optimum.set_index("group")
    assert opt.loc["a", "threshold"] == 0.7 and opt.loc["b", "threshold"] == 0.3
    per_group = r.per_group_thresholds.iloc[0]
    assert per_group["per_group_cost"] == 0 and per_group["saving"] == pytest.approx(0.25)


def test_brute_force_on_compas(compas_split, compas_boosting):
    _, test = compas_split
    r = cost_analysis(compas_boosting, test, cost_matrix=[[0, 1], [5, 0]], n_boot=200)
    y = test.y.to_numpy()
    score = compas_boosting.predict_proba(test.X)[:, 1]
    for t in (0.2, 0.35, 0.5, 0.8):
        pred = score >= t
        expected = (1 * (pred & (y == 0)).sum() + 5 * (~pred & (y == 1)).sum()) / len(y)
        got = r.curve[(r.curve["attribute"] == "overall") & np.isclose(r.curve["threshold"], t)]
        assert got["expected_cost"].iloc[0] == pytest.approx(expected, abs=1e-12)
    overall = r.curve[r.curve["attribute"] == "overall"]
    assert r.optimum.iloc[0]["expected_cost"] == pytest.approx(overall["expected_cost"].min())
    assert (overall["lower"] <= overall["expected_cost"] + 1e-12).all()
    assert (overall["expected_cost"] <= overall["upper"] + 1e-12).all()
    o = r.optimum.iloc[0]
    assert o["threshold_lower"] <= o["threshold"] <= o["threshold_upper"]
    assert len(r.figures()) == 3
    back = Result.from_json(r.to_json())
    assert isinstance(back, CostResult)
    pd.testing.assert_frame_equal(back.optimum, r.optimum)


def test_matrix_and_dict_forms_agree(compas_split, compas_logistic):
    _, test = compas_split
    a = cost_analysis(compas_logistic, test, cost_matrix={"fp": 2, "fn": 3, "tp": -1}, ci=None)
    b = cost_analysis(compas_logistic, test, cost_matrix=[[0, 2], [3, -1]], ci=None)
    pd.testing.assert_frame_equal(a.curve, b.curve)


def test_bad_cost_matrices(compas_split, compas_logistic):
    _, test = compas_split
    with pytest.raises(ParameterError, match="2x2"):
        cost_analysis(compas_logistic, test, cost_matrix=[1, 2, 3])
    with pytest.raises(ParameterError, match="unknown key"):
        cost_analysis(compas_logistic, test, cost_matrix={"false_positive": 1})
    with pytest.raises(ParameterError, match="finite"):
        cost_analysis(compas_logistic, test, cost_matrix={"fp": np.inf})
    with pytest.raises(DataError, match="needs scores"):
        cost_analysis(None, test, cost_matrix={"fp": 1})


def test_string_labels_use_pos_label_and_its_probability_column(approval):
    ds, model = approval
    with pytest.raises(DataError, match="pos_label"):
        cost_analysis(model, ds, cost_matrix={"fp": 1, "fn": 5}, ci=None)
    r = cost_analysis(
        model,
        ds,
        cost_matrix={"fp": 1, "fn": 5},
        thresholds=[0.3, 0.6],
        ci=None,
        pos_label="approved",
    )
    assert r.pos_label == "approved" and "'approved'" in r.summary
    y = (ds.y == "approved").to_numpy()
    score = model.predict_proba(ds.X)[:, 0]  # 'approved' is classes_[0]
    for t in (0.3, 0.6):
        pred = score >= t
        expected = ((pred & ~y).sum() + 5 * (~pred & y).sum()) / len(y)
        got = r.curve[(r.curve["attribute"] == "overall") & np.isclose(r.curve["threshold"], t)]
        assert got["expected_cost"].iloc[0] == pytest.approx(expected, abs=1e-12)


def test_bad_parameters_raise_parameter_error_naming_the_keyword(compas_split, compas_logistic):
    _, test = compas_split
    with pytest.raises(ParameterError, match=r"cost_analysis\(\): ci must be"):
        cost_analysis(compas_logistic, test, cost_matrix={"fp": 1}, ci=1.5)
    with pytest.raises(ParameterError, match=r"cost_analysis\(\): default_threshold must be"):
        cost_analysis(compas_logistic, test, cost_matrix={"fp": 1}, default_threshold=2.0)
    with pytest.raises(ParameterError, match=r"cost_analysis\(\): thresholds must be"):
        cost_analysis(compas_logistic, test, cost_matrix={"fp": 1}, thresholds=[])


def test_track_records_one_row_with_its_parameters(tmp_path, compas_split, compas_logistic):
    import json

    import raikit
    from raikit.ledger import Ledger

    _, test = compas_split
    ledger = Ledger(tmp_path / "ledger")
    with raikit.track("cost", ledger=ledger) as run:
        cost_analysis(compas_logistic, test, cost_matrix={"fp": 1, "fn": 3}, n_boot=20)
    evidence = ledger.evidence(run=run.id)
    assert evidence["check_name"].tolist() == ["evaluate.cost_analysis"]
    params = json.loads(evidence["params"].iloc[0])
    assert params["n_boot"] == 20 and params["default_threshold"] == 0.5
    assert isinstance(params["random_state"], int)
