"""Shared fixtures: a real model trained once on UCI Adult."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def adult_scored():
    """Adult test split with predictions and scores of a gradient-boosting model."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    from raikit.datasets import load_adult

    train, test = load_adult(split="train"), load_adult(split="test")
    model = HistGradientBoostingClassifier(
        categorical_features="from_dtype", max_iter=60, random_state=0
    ).fit(train.X, train.y)
    return test.with_predictions(model)
