"""Model inputs come from the model: the one feature resolver (raikit._features) and its users."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from raikit import Dataset
from raikit._errors import ColumnError
from raikit._features import model_feature_names


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(0)
    n = 600
    sex = rng.choice(["F", "M"], n)
    race = rng.choice(["A", "B", "C"], n)
    age = rng.integers(18, 70, n)
    score = rng.normal(600, 80, n).round()  # a credit score: a model input, not the model's score
    logit = 0.04 * (age - 40) + 1.5 * (sex == "M") + 0.01 * (score - 600)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({"age": age, "score": score, "sex": sex, "race": race, "y": y})


@pytest.fixture(scope="module")
def pipeline(frame):
    """A Pipeline trained with `sex` as an input (one-hot inside a ColumnTransformer)."""
    X = frame[["age", "score", "sex"]]
    model = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["sex"]), remainder="passthrough"),
        LogisticRegression(max_iter=2000),
    )
    return model.fit(X, frame["y"])


def test_model_feature_names_through_pipeline_and_meta_estimators(frame, pipeline):
    assert model_feature_names(pipeline) == ["age", "score", "sex"]

    class Wrapper:  # a fitted meta-estimator that keeps its model in estimator_ (Fairlearn style)
        def __init__(self, inner):
            self.estimator_ = inner

    assert model_feature_names(Wrapper(pipeline)) == ["age", "score", "sex"]
    plain = LogisticRegression().fit(frame[["age"]].to_numpy(), frame["y"])
    assert model_feature_names(plain) is None


def test_default_features_become_the_models_inputs_sensitive_included(frame, pipeline):
    ds = Dataset(frame, target="y", sensitive=["sex", "race"])
    assert ds.feature_names == ["age", "score"] and not ds.features_explicit
    resolved = ds.for_model(pipeline)
    assert resolved.feature_names == ["age", "score", "sex"]
    assert resolved.sensitive_inputs == ["sex"]
    assert list(resolved.X.columns) == ["age", "score", "sex"]
    # the original Dataset is unchanged
    assert ds.feature_names == ["age", "score"]
    # the model's order wins over the table's order
    model = LogisticRegression(max_iter=1000).fit(frame[["score", "age"]], frame["y"])
    assert ds.for_model(model).feature_names == ["score", "age"]


def test_predictions_match_a_direct_call(frame, pipeline):
    ds = Dataset(frame, target="y", sensitive=["sex", "race"])
    scored = ds.with_predictions(pipeline)
    expected = pipeline.predict_proba(frame[["age", "score", "sex"]])[:, 1]
    np.testing.assert_allclose(scored.y_score.to_numpy(), expected, rtol=0, atol=0)
    assert scored.feature_names == ["age", "score", "sex"]


def test_an_input_called_score_is_neither_refused_nor_overwritten(frame, pipeline):
    ds = Dataset(frame, target="y", sensitive=["sex", "race"])
    scored = ds.with_predictions(pipeline)
    assert scored.score == "score_1" and scored.prediction == "prediction"
    # the user's credit score is intact and still a model input
    np.testing.assert_array_equal(scored.frame["score"].to_numpy(), frame["score"].to_numpy())
    assert "score" in scored.feature_names
    # explicit features that include `score` are accepted when no role is called `score`
    explicit = Dataset(frame, target="y", sensitive="sex", features=["age", "score", "sex"])
    assert explicit.with_predictions(pipeline).score == "score_1"
    # a second round of predictions replaces raikit's own columns, never the user's
    again = scored.with_predictions(pipeline)
    assert (again.prediction, again.score) == ("prediction", "score_1")
    assert list(again.frame.columns) == list(scored.frame.columns)


def test_a_role_the_user_named_is_still_refused_as_a_feature(frame):
    with pytest.raises(ColumnError, match="'score' is listed as a feature but was named as the"):
        Dataset(frame, target="y", sensitive="sex", score="score", features=["age", "score"])


def test_mismatch_names_missing_and_extra_columns(frame, pipeline):
    explicit = Dataset(frame, target="y", sensitive="sex", features=["age", "race"])
    with pytest.raises(ColumnError) as info:
        explicit.for_model(pipeline)
    message = str(info.value)
    assert "missing ['score', 'sex']" in message and "extra ['race']" in message
    lacking = Dataset(frame.drop(columns=["score"]), target="y", sensitive="sex")
    with pytest.raises(ColumnError, match=r"needs input column\(s\) \['score'\].*does not use: "):
        lacking.for_model(pipeline)


def test_explicit_features_in_another_order_follow_the_model(frame, pipeline):
    explicit = Dataset(frame, target="y", sensitive="sex", features=["sex", "score", "age"])
    assert explicit.for_model(pipeline).feature_names == ["age", "score", "sex"]


def test_a_model_input_that_is_the_target_is_refused(frame):
    leaky = LogisticRegression(max_iter=1000).fit(frame[["age", "y"]], frame["y"])
    ds = Dataset(frame, target="y", sensitive="sex")
    with pytest.raises(ColumnError, match="takes column 'y' as an input, but it was named as the"):
        ds.for_model(leaky)


def test_a_model_without_names_is_checked_by_width(frame):
    ds = Dataset(frame, target="y", sensitive=["sex", "race"])  # features: age, score
    two = LogisticRegression(max_iter=1000).fit(frame[["age", "score"]].to_numpy(), frame["y"])
    assert ds.for_model(two).feature_names == ["age", "score"]
    one = LogisticRegression(max_iter=1000).fit(frame[["age"]].to_numpy(), frame["y"])
    with pytest.raises(ColumnError, match="takes 1 input column"):
        ds.for_model(one)


def test_default_features_follow_replace_split_and_subset(frame):
    ds = Dataset(frame, target="y", sensitive="sex")
    assert not ds.replace(name="x").features_explicit
    assert not ds.split(0.5, random_state=0)[0].features_explicit
    assert not ds.subset(np.arange(10)).features_explicit
    # new roles re-derive the defaults: race stops being a feature once it is sensitive
    assert ds.replace(sensitive=["sex", "race"]).feature_names == ["age", "score"]
    pinned = Dataset(frame, target="y", sensitive="sex", features=["age"])
    assert pinned.split(0.5, random_state=0)[1].feature_names == ["age"]


def test_checks_that_predict_use_the_models_inputs(frame, pipeline):
    from raikit.evaluate import evaluate, find_slices, stress_test
    from raikit.explain import explain, flip_test
    from raikit.privacy import membership_inference

    ds = Dataset(frame, target="y", sensitive=["sex", "race"])
    result = evaluate(pipeline, ds, n_boot=50)
    titles = [f.title for f in result.findings]
    assert "The model uses sensitive attribute(s) sex as input" in titles
    assert find_slices(pipeline, ds, method="lattice", max_features=1).slices is not None
    assert len(stress_test(pipeline, ds, noise=[0.1], swap_rate=[], missing_rate=[]).perturbations)
    flips = flip_test(pipeline, ds, attribute="sex").by_group
    assert flips["flip_rate"].max() > 0  # sex is an input, so flipping it changes decisions
    importance = explain(pipeline, ds, max_rows=30, background=20, permutation=False).importance
    assert "sex" in set(importance["feature"])
    train, holdout = ds.split(0.5, random_state=0)
    report = membership_inference(
        pipeline, train=train, test=holdout, attacks=("threshold",), n_boot=50
    )
    assert 0 <= report.attacks["auc"].iloc[0] <= 1


def test_audit_says_the_model_uses_a_sensitive_attribute(frame):
    from raikit.audit import audit

    X = frame[["age", "score", "sex"]].assign(sex=(frame["sex"] == "M").astype(int))
    model = HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(X, frame["y"])
    coded = frame.assign(sex=X["sex"])
    train = Dataset(coded.iloc[:400], target="y", sensitive=["sex", "race"], name="train")
    test = Dataset(coded.iloc[400:], target="y", sensitive=["sex", "race"], name="test")
    report = audit(model, train=train, test=test, sections=["bias"], n_boot=50)
    assert report.meta["sensitive_inputs"] == ["sex"]
    assert report.meta["features"] == ["age", "score", "sex"]
    assert report.findings[0].title == "The model uses sensitive attribute(s) sex as input"
