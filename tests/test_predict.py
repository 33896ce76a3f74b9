"""One pass of the model for both outputs: exactly what predict and predict_proba return."""

from __future__ import annotations

import lightgbm
import numpy as np
import pytest
from sklearn.ensemble import (
    ExtraTreesClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.linear_model import LogisticRegression

import raikit._predict
from raikit._predict import _one_pass, model_outputs
from raikit.datasets import load_adult, load_german_credit


def _pipeline(ds):
    """Adult's categories ordinal-encoded, then boosted trees with native categoricals."""
    from sklearn.compose import make_column_transformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OrdinalEncoder

    categorical = [c for c in ds.X.columns if str(ds.X[c].dtype) == "category"]
    encode = make_column_transformer(
        (OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), categorical),
        remainder="passthrough",
    )
    boosting = HistGradientBoostingClassifier(
        categorical_features=list(range(len(categorical))), random_state=0
    )
    return make_pipeline(encode, boosting)


@pytest.fixture(scope="module")
def adult():
    train, test = load_adult().split(0.3, random_state=0)
    return train, test.sample(4000, random_state=0)


def _numeric(ds):
    return ds.X.select_dtypes("number")


@pytest.mark.parametrize(
    "make, how",
    [
        (lambda: RandomForestClassifier(n_estimators=20, random_state=0), "argmax"),
        (lambda: ExtraTreesClassifier(n_estimators=20, random_state=0), "argmax"),
        (lambda: lightgbm.LGBMClassifier(n_estimators=30, verbose=-1), "argmax"),
        (lambda: HistGradientBoostingClassifier(random_state=0), "logit"),
        (lambda: LogisticRegression(max_iter=300), None),
    ],
)
def test_one_pass_equals_predict_and_predict_proba_exactly(adult, make, how, monkeypatch):
    train, test = adult
    model = make().fit(_numeric(train), train.y)
    assert _one_pass(model) == how
    monkeypatch.setattr(raikit._predict, "BATCH_ROWS", 1500)
    for column in (1, 0):
        prediction, score = model_outputs(model, _numeric(test), column=column)
        np.testing.assert_array_equal(prediction, model.predict(_numeric(test)))
        np.testing.assert_array_equal(score, model.predict_proba(_numeric(test))[:, column])


def test_a_pipeline_is_judged_by_its_last_step_and_a_subclass_is_not_trusted(adult):
    train, test = adult
    pipeline = _pipeline(train).fit(train.X, train.y)
    assert _one_pass(pipeline) == "logit"
    prediction, score = model_outputs(pipeline, test.X, column=1)
    np.testing.assert_array_equal(prediction, pipeline.predict(test.X))
    np.testing.assert_array_equal(score, pipeline.predict_proba(test.X)[:, 1])

    class Cautious(RandomForestClassifier):  # predict no longer the argmax of the probabilities
        def predict(self, X):
            return np.where(self.predict_proba(X)[:, 1] > 0.8, self.classes_[1], self.classes_[0])

    cautious = Cautious(n_estimators=10, random_state=0).fit(_numeric(train), train.y)
    assert _one_pass(cautious) is None
    prediction, _ = model_outputs(cautious, _numeric(test), column=1)
    np.testing.assert_array_equal(prediction, cautious.predict(_numeric(test)))


def test_multiclass_boosting_predicts_with_predict(monkeypatch):
    ds = load_german_credit()
    frame = ds.X.select_dtypes("number")
    labels = np.digitize(frame["credit_amount"], [2000, 5000])
    model = HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(
        frame.drop(columns="credit_amount"), labels
    )
    assert _one_pass(model) is None
    prediction, score = model_outputs(model, frame.drop(columns="credit_amount"), column=None)
    assert score is None
    np.testing.assert_array_equal(prediction, model.predict(frame.drop(columns="credit_amount")))
