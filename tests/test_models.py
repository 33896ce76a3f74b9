"""Model files: skops round trip, pickle refused unless trusted, corrupt files detected."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

from raikit import FileFormatError, RaikitError, load_model, save_model


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    return X, (X[:, 0] + 0.1 * rng.normal(size=200) > 0).astype(int)


def test_skops_round_trip_predicts_identically(data, tmp_path):
    X, y = data
    for model in (
        LogisticRegression().fit(X, y),
        HistGradientBoostingClassifier(max_iter=10).fit(X, y),
    ):
        path = save_model(model, tmp_path / "m.skops")
        np.testing.assert_array_equal(load_model(path).predict_proba(X), model.predict_proba(X))


def test_pickle_is_refused_unless_trusted(data, tmp_path):
    X, y = data
    model = LogisticRegression().fit(X, y)
    path = tmp_path / "m.pkl"
    path.write_bytes(pickle.dumps(model))
    with pytest.raises(RaikitError, match="Refusing to load pickle"):
        load_model(path)
    np.testing.assert_array_equal(load_model(path, trusted=True).predict(X), model.predict(X))


def test_corrupt_and_wrong_files(tmp_path):
    bad = tmp_path / "bad.skops"
    bad.write_bytes(b"not a zip archive")
    with pytest.raises(FileFormatError, match="corrupt"):
        load_model(bad)
    with pytest.raises(FileFormatError, match="not found"):
        load_model(tmp_path / "none.skops")
    with pytest.raises(RaikitError, match=r"\.skops"):
        save_model(LogisticRegression(), tmp_path / "m.pkl")


class Doubler(LogisticRegression):
    """A user-defined type that skops does not know."""


def test_unknown_types_need_explicit_trust(data, tmp_path):
    X, y = data
    path = save_model(Doubler().fit(X, y), tmp_path / "d.skops")
    with pytest.raises(RaikitError, match="does not trust"):
        load_model(path)
    name = f"{Doubler.__module__}.Doubler"
    assert isinstance(load_model(path, trusted=[name]), Doubler)
