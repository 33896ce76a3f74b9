"""what_if() and flip_test() against brute-force recomputation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from raikit import Result
from raikit._errors import ColumnError, DataError, ParameterError
from raikit.explain import FlipTestResult, flip_test, what_if


def test_what_if_matches_direct_prediction(german, german_logistic):
    row = german.X.iloc[[3]]
    r = what_if(german_logistic, row, changes={"duration_months": 60, "age": 50})
    changed = row.assign(duration_months=60, age=50)
    expected = german_logistic.predict_proba(changed)[0, 1]
    assert r.table["score_after"].iloc[0] == pytest.approx(expected, abs=1e-12)
    before = german_logistic.predict_proba(row)[0, 1]
    assert r.table["score_change"].iloc[0] == pytest.approx(expected - before, abs=1e-12)
    assert "changes" in r.summary or "decision" in r.summary


def test_what_if_categorical_and_errors(adult_sex):
    _, test, model = adult_sex
    rows = test.X.iloc[:50]
    r = what_if(model, rows, changes={"sex": "Female"})
    changed = rows.copy()
    changed["sex"] = pd.Categorical(["Female"] * 50, dtype=rows["sex"].dtype)
    np.testing.assert_array_equal(r.table["prediction_after"], model.predict(changed))
    with pytest.raises(ColumnError, match="not inputs"):
        what_if(model, rows, changes={"gender": "F"})
    with pytest.raises(ParameterError, match="is not a category of 'sex'"):
        what_if(model, rows, changes={"sex": "F"})
    with pytest.raises(ParameterError, match=r"what_if\(\): changes must be a non-empty dict"):
        what_if(model, rows, changes={})
    with pytest.raises(ParameterError, match=r"what_if\(\): model must be a fitted estimator"):
        what_if(None, rows, changes={"sex": "Female"})


def test_flip_test_equals_brute_force(adult_sex):
    _, test, model = adult_sex
    r = flip_test(model, test, attribute="sex")
    X = test.X
    base = model.predict(X)
    swapped = X.copy()
    swapped["sex"] = X["sex"].map({"Male": "Female", "Female": "Male"}).astype(X["sex"].dtype)
    flipped = model.predict(swapped) != base
    for group in ("Male", "Female"):
        mask = (X["sex"] == group).to_numpy()
        row = r.by_group.set_index("group").loc[group]
        assert row["flipped"] == flipped[mask].sum() and row["n"] == mask.sum()
        ci = binomtest(int(flipped[mask].sum()), int(mask.sum())).proportion_ci(method="wilson")
        assert row["lower"] == pytest.approx(ci.low, abs=1e-9)
        assert row["upper"] == pytest.approx(ci.high, abs=1e-9)
    overall = r.by_group.set_index("group").loc["overall"]
    assert overall["flip_rate"] == pytest.approx(flipped.mean(), abs=1e-12)
    pair = r.pairs.set_index(["from", "to"]).loc[("Female", "Male")]
    females = (X["sex"] == "Female").to_numpy()
    went_up = (model.predict(swapped)[females] == 1) & (base[females] == 0)
    assert pair["to_positive"] == pytest.approx(went_up.mean(), abs=1e-12)
    back = Result.from_json(r.to_json())
    assert isinstance(back, FlipTestResult)
    assert len(r.figures()) == 2


def test_flip_test_attribute_that_is_not_an_input(adult_sex):
    _train, test, model = adult_sex
    # race is not an input of this model: nothing can flip, and a finding says why
    r = flip_test(model, test, attribute="race")
    assert (r.by_group["flip_rate"] == 0).all()
    assert any("not a model input" in f.title for f in r.findings)
    assert set(r.pairs["from"]) == set(test.frame["race"].astype(str).unique())


def test_flip_test_errors(adult_sex):
    _, test, model = adult_sex
    with pytest.raises(ColumnError, match="not a sensitive attribute"):
        flip_test(model, test, attribute="age")
    with pytest.raises(ParameterError, match=r"flip_test\(\): data must be a raikit Dataset"):
        flip_test(model, test.X, attribute="sex")
    with pytest.raises(ParameterError, match=r"flip_test\(\): ci must be a number in \(0, 1\)"):
        flip_test(model, test, attribute="sex", ci=95)


def test_flip_test_multi_valued_attribute_counts_any_change(adult_sex):
    from sklearn.ensemble import HistGradientBoostingClassifier

    _, test, _ = adult_sex
    ds = test.replace(features=[*test.feature_names, "race"])
    model = HistGradientBoostingClassifier(
        categorical_features="from_dtype", max_iter=20, random_state=0
    ).fit(ds.X, ds.y)
    ds = ds.subset(np.arange(3000))
    r = flip_test(model, ds, attribute="race")
    X = ds.X
    base = model.predict(X)
    any_flip = np.zeros(len(X), dtype=bool)
    for value in X["race"].cat.categories:  # brute force: every other race value
        other = X.assign(race=pd.Categorical([value] * len(X), dtype=X["race"].dtype))
        any_flip |= (model.predict(other) != base) & (X["race"] != value).to_numpy()
    by = r.by_group.set_index("group")
    for group in X["race"].dropna().unique():
        mask = (X["race"] == group).to_numpy()
        assert by.loc[str(group), "flipped"] == any_flip[mask].sum()
    assert by.loc["overall", "flip_rate"] == pytest.approx(any_flip.mean(), abs=1e-12)
    k = X["race"].nunique()
    assert len(r.pairs) == k * (k - 1)


def test_scores_and_flips_follow_pos_label_not_the_last_class(approval):
    # 'approved' sorts first: classes_[-1] / column 1 would be 'denied'
    ds, model = approval
    rows = ds.X.iloc[:20]
    with pytest.raises(DataError, match="pos_label"):
        what_if(model, rows, changes={"duration_months": 6})
    r = what_if(model, rows, changes={"duration_months": 6}, pos_label="approved")
    expected = model.predict_proba(rows.assign(duration_months=6))[:, 0]
    np.testing.assert_allclose(r.table["score_after"], expected, rtol=0, atol=1e-12)
    assert (r.table["score_change"] > 0).mean() > 0.5  # shorter loans: more approvals

    ds_in = ds.replace(features=[*ds.feature_names, "sex"])
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    pipe = make_pipeline(
        make_column_transformer(
            (OneHotEncoder(), ["sex"]), remainder="passthrough", verbose_feature_names_out=False
        ),
        LogisticRegression(max_iter=2000),
    ).fit(ds_in.X, ds_in.y)
    with pytest.raises(DataError, match="pos_label"):
        flip_test(pipe, ds_in, attribute="sex")
    flips = flip_test(pipe, ds_in, attribute="sex", pos_label="approved")
    X = ds_in.X
    base = pipe.predict(X)
    others = [v for v in X["sex"].unique()]
    first = others[0]
    mask = (X["sex"] == first).to_numpy()
    other = X[mask].assign(sex=others[1])
    if isinstance(X["sex"].dtype, pd.CategoricalDtype):
        other["sex"] = pd.Categorical(other["sex"], dtype=X["sex"].dtype)
    new = pipe.predict(other)
    went_up = ((new == "approved") & (base[mask] != "approved")).mean()
    pair = flips.pairs.set_index(["from", "to"]).loc[(str(first), str(others[1]))]
    assert pair["to_positive"] == pytest.approx(went_up, abs=1e-12)


def test_track_records_one_flip_test_row(tmp_path, adult_sex):
    import json

    import raikit
    from raikit.ledger import Ledger

    _, test, model = adult_sex
    ledger = Ledger(tmp_path / "ledger")
    small = test.subset(np.arange(500))
    with raikit.track("flip", ledger=ledger) as run:
        flip_test(model, small, attribute="sex", ci=0.9)
    evidence = ledger.evidence(run=run.id)
    assert evidence["check_name"].tolist() == ["explain.flip_test"]
    params = json.loads(evidence["params"].iloc[0])
    assert params["attribute"] == "sex" and params["ci"] == 0.9
