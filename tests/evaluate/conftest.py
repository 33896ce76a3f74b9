"""Real models on COMPAS shared by the evaluation tests."""

from __future__ import annotations

import pytest


def logistic_pipeline():
    from sklearn.compose import make_column_selector, make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    columns = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), make_column_selector(dtype_include="category")),
        (StandardScaler(), make_column_selector(dtype_include="number")),
    )
    return make_pipeline(columns, LogisticRegression(max_iter=1000))


@pytest.fixture(scope="session")
def compas_split():
    from raikit.datasets import load_compas

    return load_compas().split(0.3, random_state=0)


@pytest.fixture(scope="session")
def compas_logistic(compas_split):
    train, _ = compas_split
    return logistic_pipeline().fit(train.X, train.y)


@pytest.fixture(scope="session")
def compas_boosting(compas_split):
    from sklearn.ensemble import HistGradientBoostingClassifier

    train, _ = compas_split
    return HistGradientBoostingClassifier(
        categorical_features="from_dtype", max_iter=50, random_state=0
    ).fit(train.X, train.y)


@pytest.fixture(scope="session")
def make_logistic():
    """A factory of unfitted logistic-regression pipelines (one-hot + scaling)."""
    return logistic_pipeline


@pytest.fixture(scope="session")
def approval():
    """A loan table labelled 'approved'/'denied' (alphabetically 'approved' is ``classes_[0]``)
    and a logistic regression on it: the positive class is *not* predict_proba's column 1."""
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    from raikit import Dataset

    rng = np.random.default_rng(0)
    n = 600
    frame = pd.DataFrame(
        {
            "income": rng.normal(size=n),
            "debt": rng.normal(size=n),
            "sex": rng.choice(["F", "M"], size=n),
        }
    )
    logit = 1.5 * frame["income"] - frame["debt"] + 0.5 * (frame["sex"] == "M")
    frame["decision"] = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "approved", "denied")
    ds = Dataset(frame, target="decision", sensitive="sex", features=["income", "debt"])
    model = LogisticRegression().fit(ds.X, ds.y)
    assert list(model.classes_) == ["approved", "denied"]
    return ds, model
