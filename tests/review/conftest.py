"""Fixtures: real scores of a gradient-boosting model on UCI Adult, behind a tiny model object."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


class ScoreModel:
    """A fitted 'model' whose predict_proba reads the stored score column of Adult."""

    classes_ = np.array([0, 1])

    def predict_proba(self, X):
        score = np.asarray(X["score"], dtype=float)
        return np.column_stack([1 - score, score])

    def predict(self, X):
        return (np.asarray(X["score"]) >= 0.5).astype(int)


@pytest.fixture(scope="session")
def scored_frame(adult_scored) -> pd.DataFrame:
    frame = adult_scored.frame
    return pd.DataFrame(
        {
            "score": frame["score"].to_numpy(dtype=float),
            "y": frame["income"].to_numpy(),
            "sex": frame["sex"].astype(str).to_numpy(),
            "race": frame["race"].astype(str).to_numpy(),
        }
    )


@pytest.fixture
def score_model() -> ScoreModel:
    return ScoreModel()
