"""glassbox_baseline(): both models scored on the same held-out rows."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, roc_auc_score

from raikit import Result
from raikit._errors import DataError, ParameterError
from raikit.explain import GlassboxResult, glassbox_baseline


@pytest.fixture(scope="module")
def credit():
    from raikit.datasets import load_german_credit

    return load_german_credit()


def test_comparison_matches_sklearn_scores(credit):
    from sklearn.ensemble import HistGradientBoostingClassifier

    train, test = credit.split(0.3, random_state=0)
    black = HistGradientBoostingClassifier(
        categorical_features="from_dtype", max_iter=50, random_state=0
    ).fit(train.X, train.y)
    r = glassbox_baseline(black, train, test=test, n_boot=50, random_state=0)
    overall = r.comparison[r.comparison["attribute"] == "overall"].set_index(["model", "metric"])
    assert overall.loc[("black box", "accuracy"), "value"] == pytest.approx(
        accuracy_score(test.y, black.predict(test.X)), abs=1e-12
    )
    assert overall.loc[("black box", "roc_auc"), "value"] == pytest.approx(
        roc_auc_score(test.y, black.predict_proba(test.X)[:, 1]), abs=1e-12
    )
    cost = r.cost.set_index("metric")
    np.testing.assert_allclose(cost["difference"], cost["blackbox"] - cost["glassbox"])
    assert 0.6 < cost.loc["accuracy", "glassbox"] <= 1
    assert set(r.shapes["feature"]) == set(train.feature_names)
    # an additive model's shape functions are centred per feature
    np.testing.assert_allclose(r.shapes.groupby("feature")["contribution"].mean(), 0, atol=1e-12)
    assert isinstance(Result.from_json(r.to_json()), GlassboxResult)
    assert len(r.figures()) == 2 and "glass box" in r.summary


def test_glassbox_is_additive(credit):
    """Changing one feature moves the glass box's log-odds by the same amount for every row."""
    from raikit.explain._glassbox import _glassbox

    model, name = _glassbox(0)
    model.fit(credit.X, credit.y)
    X = credit.X.iloc[:40].reset_index(drop=True)
    for feature, value in (("duration_months", 48), ("credit_amount", 9000)):
        moved = X.assign(**{feature: value})
        delta = model.decision_function(moved) - model.decision_function(X)
        same_start = (X[feature] == X[feature].iloc[0]).to_numpy()
        # rows with the same starting value of the feature get exactly the same shift
        np.testing.assert_allclose(delta[same_start], delta[same_start][0], atol=1e-9)
    r = glassbox_baseline(None, credit, n_boot=20, random_state=1)
    assert r.meta["glassbox"] == name and r.meta["n_test"] == 300


def test_errors(credit):
    with pytest.raises(ParameterError, match=r"glassbox_baseline\(\): test_size must be"):
        glassbox_baseline(None, credit, test_size=1.5)
    with pytest.raises(ParameterError, match=r"glassbox_baseline\(\): n_boot must be"):
        glassbox_baseline(None, credit, n_boot=0)
    with pytest.raises(ParameterError, match=r"glassbox_baseline\(\): model must be"):
        glassbox_baseline(credit, credit)  # the old glassbox_baseline(ds) order
    with pytest.raises(ParameterError, match="raikit Dataset"):
        glassbox_baseline(None, credit.frame)


def test_string_labels_use_pos_label_and_its_probability_column(approval):
    ds, model = approval
    train, test = ds.split(0.3, random_state=0)
    with pytest.raises(DataError, match="pos_label"):
        glassbox_baseline(model, train, test=test, n_boot=20)
    r = glassbox_baseline(model, train, test=test, n_boot=20, pos_label="approved")
    assert r.meta["pos_label"] == "approved" and "'approved'" in r.summary
    overall = r.comparison[r.comparison["attribute"] == "overall"].set_index(["model", "metric"])
    y = test.y == "approved"
    assert overall.loc[("black box", "roc_auc"), "value"] == pytest.approx(
        roc_auc_score(y, model.predict_proba(test.X)[:, 0]),
        abs=1e-12,  # 'approved': column 0
    )
    assert overall.loc[("black box", "roc_auc"), "value"] > 0.6


def test_ci_sets_the_level_of_the_comparison(credit):
    train, test = credit.split(0.3, random_state=0)
    kwargs = {"test": test, "n_boot": 200, "random_state": 0}
    wide = glassbox_baseline(None, train, **kwargs).comparison
    narrow = glassbox_baseline(None, train, ci=0.5, **kwargs).comparison
    np.testing.assert_allclose(narrow["value"], wide["value"], rtol=0, atol=0)
    overall = (wide["attribute"] == "overall") & (wide["metric"] == "accuracy")
    assert (narrow["upper"] - narrow["lower"])[overall].max() < (wide["upper"] - wide["lower"])[
        overall
    ].min()


def test_track_records_one_row_and_nested_checks_record_nothing(tmp_path, credit):
    # glassbox_baseline calls partial_dependence inside: only the outer call is evidence
    import json

    import raikit
    from raikit.ledger import Ledger

    ledger = Ledger(tmp_path / "ledger")
    with raikit.track("glassbox", ledger=ledger) as run:
        glassbox_baseline(None, credit, n_boot=20, test_size=0.5)
    evidence = ledger.evidence(run=run.id)
    assert evidence["check_name"].tolist() == ["explain.glassbox_baseline"]
    params = json.loads(evidence["params"].iloc[0])
    assert params["test_size"] == 0.5 and params["n_boot"] == 20 and params["ci"] == 0.95
    assert isinstance(params["random_state"], int)
