"""Real models shared by the explain-stage tests (German credit and UCI Adult)."""

from __future__ import annotations

import pytest

NUMERIC = ["duration_months", "credit_amount", "age", "installment_rate"]


@pytest.fixture(scope="session")
def german():
    from raikit.datasets import load_german_credit

    ds = load_german_credit()
    return ds.replace(features=[c for c in NUMERIC if c in ds.frame.columns])


@pytest.fixture(scope="session")
def german_forest(german):
    from sklearn.ensemble import RandomForestClassifier

    model = RandomForestClassifier(n_estimators=30, max_depth=5, random_state=0)
    return model.fit(german.X, german.y)


@pytest.fixture(scope="session")
def german_logistic(german):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=2000).fit(german.X, german.y)


@pytest.fixture(scope="session")
def adult_sex():
    """Adult train/test whose model inputs include ``sex``, and a boosting model on them."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    from raikit.datasets import load_adult

    train, test = load_adult(split="train"), load_adult(split="test")
    features = [*train.feature_names, "sex"]
    train = train.replace(features=features)
    test = test.replace(features=features)
    model = HistGradientBoostingClassifier(
        categorical_features="from_dtype", max_iter=40, random_state=0
    ).fit(train.X, train.y)
    return train, test, model


@pytest.fixture(scope="session")
def approval():
    """German credit with the target as 'approved'/'denied' ('approved' is ``classes_[0]``, so the
    positive class is *not* predict_proba's column 1) and a logistic regression on it."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from raikit.datasets import load_german_credit

    ds = load_german_credit()
    ds = ds.replace(features=[c for c in NUMERIC if c in ds.frame.columns])
    frame = ds.frame.copy()
    frame[ds.target] = np.where(frame[ds.target] == 1, "approved", "denied")
    ds = ds.replace(frame)
    model = LogisticRegression(max_iter=2000).fit(ds.X, ds.y)
    assert list(model.classes_) == ["approved", "denied"]
    return ds, model
