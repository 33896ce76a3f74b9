"""partial_dependence(): overall curves equal scikit-learn's brute-force partial dependence."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from raikit import Result
from raikit._errors import ColumnError, DataError, ParameterError
from raikit.explain import PartialDependenceResult, partial_dependence


def test_overall_curve_equals_sklearn(german, german_forest):
    from sklearn.inspection import partial_dependence as sk_pd

    r = partial_dependence(german_forest, german, features=["age"], max_rows=None)
    overall = r.curves[r.curves["attribute"] == "overall"]
    grid = overall["value_num"].to_numpy()
    np.testing.assert_array_equal(grid, np.round(grid))
    ref = sk_pd(
        german_forest,
        german.X.astype(float),  # scikit-learn refuses integer columns; the grid is integral
        ["age"],
        method="brute",
        kind="average",
        response_method="predict_proba",
        custom_values={"age": grid},
    )
    np.testing.assert_allclose(overall["mean"], ref["average"][0], rtol=1e-10)


def test_group_curves_are_group_means_of_ice(german, german_logistic):
    r = partial_dependence(german_logistic, german, features=["duration_months"], max_rows=None)
    c = r.curves
    grid = c[c["attribute"] == "overall"]["value_num"].to_numpy()
    X = german.X
    female = (german.frame["sex"] == "Female").to_numpy()
    manual = [
        german_logistic.predict_proba(X.assign(duration_months=v))[:, 1][female].mean()
        for v in grid
    ]
    got = c[(c["attribute"] == "sex") & (c["group"] == "Female")]["mean"]
    np.testing.assert_allclose(got, manual, rtol=1e-12)
    # ICE spread brackets the mean curve
    overall = c[c["attribute"] == "overall"]
    assert (overall["ice_q10"] <= overall["ice_q90"]).all()


def test_categorical_feature_on_adult(adult_sex):
    _, test, model = adult_sex
    r = partial_dependence(model, test, features=["relationship", "age"], max_rows=300)
    rel = r.curves[(r.curves["feature"] == "relationship") & (r.curves["attribute"] == "overall")]
    assert set(rel["value"]) == set(test.X["relationship"].dropna().astype(str).unique())
    assert rel["value_num"].isna().all()
    back = Result.from_json(r.to_json())
    assert isinstance(back, PartialDependenceResult)
    pd.testing.assert_frame_equal(back.curves, r.curves)
    assert len(r.figures()) == 2 and "largest effect" in r.summary


def test_errors(german, german_forest):
    with pytest.raises(ColumnError, match="not model inputs"):
        partial_dependence(german_forest, german, features=["height"])
    with pytest.raises(ParameterError, match=r"partial_dependence\(\): grid_resolution must be"):
        partial_dependence(german_forest, german, grid_resolution=1)
    with pytest.raises(ParameterError, match=r"partial_dependence\(\): max_rows must be"):
        partial_dependence(german_forest, german, max_rows=0)
    with pytest.raises(
        ParameterError, match=r"partial_dependence\(\): data must be a raikit Dataset"
    ):
        partial_dependence(german_forest, german.X)


def test_ci_sets_the_interval_level(german, german_logistic):
    from scipy.stats import norm

    kwargs = {
        "features": ["duration_months"],
        "grid_resolution": 4,
        "max_rows": 200,
        "random_state": 0,
    }
    wide = partial_dependence(german_logistic, german, **kwargs).curves
    narrow = partial_dependence(german_logistic, german, ci=0.5, **kwargs).curves
    np.testing.assert_allclose(narrow["mean"], wide["mean"], rtol=0, atol=0)
    ratio = (narrow["upper"] - narrow["lower"]) / (wide["upper"] - wide["lower"])
    np.testing.assert_allclose(ratio, norm.ppf(0.75) / norm.ppf(0.975), rtol=1e-12)
    with pytest.raises(ParameterError, match="ci must be"):
        partial_dependence(german_logistic, german, ci=1.5, **kwargs)


def test_pos_label_picks_the_probability_column(approval):
    ds, model = approval
    kwargs = {"features": ["duration_months"], "grid_resolution": 4, "max_rows": None}
    with pytest.raises(DataError, match="pos_label"):
        partial_dependence(model, ds, **kwargs)
    r = partial_dependence(model, ds, pos_label="approved", **kwargs)
    assert r.meta["pos_label"] == "approved" and "'approved'" in r.meta["output"]
    overall = r.curves[r.curves["attribute"] == "overall"]
    manual = [
        model.predict_proba(ds.X.assign(duration_months=v))[:, 0].mean()  # classes_[0]
        for v in overall["value_num"]
    ]
    np.testing.assert_allclose(overall["mean"], manual, rtol=1e-12)


def test_track_records_one_partial_dependence_row(tmp_path, german, german_logistic):
    import json

    import raikit
    from raikit.ledger import Ledger

    ledger = Ledger(tmp_path / "ledger")
    with raikit.track("pdp", ledger=ledger) as run:
        partial_dependence(german_logistic, german, features=["age"], grid_resolution=3)
    evidence = ledger.evidence(run=run.id)
    assert evidence["check_name"].tolist() == ["explain.partial_dependence"]
    params = json.loads(evidence["params"].iloc[0])
    assert params["features"] == ["age"] and params["grid_resolution"] == 3
