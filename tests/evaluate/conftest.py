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
