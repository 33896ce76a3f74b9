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


def _saved_models():
    """Every kind of model raikit's API, CLI, demo and tests save, fitted on a COMPAS sample."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    from sklearn.tree import DecisionTreeClassifier

    from raikit.datasets import load_compas
    from raikit.privacy._dp_training import DPClassifier
    from raikit.review._selective import SelectiveClassifier
    from raikit.train import (
        FairBatchClassifier,
        FairlearnClassifier,
        FairlearnRegressor,
        FRTrainClassifier,
        RemapClassifier,
        ReweighingClassifier,
    )
    from raikit.train._compare import make_mitigator

    ds = load_compas()
    sample = ds.frame.sample(600, random_state=0).index
    X, y, S = ds.X.loc[sample], ds.y.loc[sample], ds.sensitive.loc[sample]
    num = list(X.select_dtypes("number").columns)
    cat = [c for c in X.columns if c not in num]
    sex = S["sex"] if "sex" in S else S.iloc[:, 0]
    pre = ColumnTransformer(
        [("num", StandardScaler(), num), ("cat", OneHotEncoder(handle_unknown="ignore"), cat)]
    )
    fair = {"sensitive_features": sex}
    logistic = LogisticRegression(max_iter=500).fit(X[num], y)
    return X, {
        "logistic": (logistic, num, {}),
        "hgb_categorical": (
            HistGradientBoostingClassifier(categorical_features="from_dtype", max_iter=5).fit(X, y),
            None,
            {},
        ),
        "pipeline": (Pipeline([("pre", pre), ("clf", LogisticRegression())]).fit(X, y), None, {}),
        "forest": (RandomForestClassifier(n_estimators=5, random_state=0).fit(X[num], y), num, {}),
        "boosting": (GradientBoostingClassifier(n_estimators=5).fit(X[num], y), num, {}),
        "tree_pipeline": (
            make_pipeline(StandardScaler(), DecisionTreeClassifier()).fit(X[num], y),
            num,
            {},
        ),
        "mlp": (MLPClassifier(max_iter=5).fit(X[num], y), num, {}),
        "knn": (KNeighborsClassifier().fit(X[num], y), num, {}),
        "calibrated": (CalibratedClassifierCV(LogisticRegression()).fit(X[num], y), num, {}),
        "fairbatch": (
            FairBatchClassifier(epochs=2, random_state=0).fit(X, y, **fair),
            None,
            {},
        ),
        "fairbatch_mlp": (
            FairBatchClassifier(network="mlp", epochs=2, random_state=0).fit(X, y, **fair),
            None,
            {},
        ),
        "frtrain": (
            FRTrainClassifier(epochs=4, pretrain_epochs=1, random_state=0).fit(X, y, **fair),
            None,
            {},
        ),
        "threshold": (
            FairlearnClassifier(method="threshold", constraint="dp", random_state=0).fit(
                X, y, **fair
            ),
            None,
            fair,
        ),
        "reweigh": (ReweighingClassifier().fit(X, y, **fair), None, {}),
        "baseline": (make_mitigator("none", "dp").fit(X, y, **fair), None, {}),
        "remap": (RemapClassifier(random_state=0).fit(X, y, **fair), None, fair),
        "bounded_group_loss": (
            FairlearnRegressor(upper_bound=0.2, random_state=0).fit(X, y, **fair),
            None,
            {},
        ),
        "baseline_regressor": (
            make_mitigator("none", "bgl", task="regression").fit(X, y),
            None,
            {},
        ),
        "selective_unfitted": (SelectiveClassifier(logistic, coverage=0.8, prefit=True), None, {}),
        "dp_unfitted": (DPClassifier(target_epsilon=1.0), None, {}),
        "fairlearn_unfitted": (FairlearnClassifier(method="expgrad"), None, {}),
    }


@pytest.fixture(scope="module")
def saved_models():
    return _saved_models()


def _same(name, model, again, X, columns, kwargs) -> None:
    if name.endswith("_unfitted"):
        assert type(again) is type(model)
        assert repr(again.get_params(deep=False)) == repr(model.get_params(deep=False))
        return
    X = X if columns is None else X[columns]
    predict = "predict" if kwargs or not hasattr(model, "predict_proba") else "predict_proba"
    np.testing.assert_array_equal(
        np.asarray(getattr(again, predict)(X, **kwargs), dtype=float),
        np.asarray(getattr(model, predict)(X, **kwargs), dtype=float),
    )


def test_every_model_raikit_saves_loads_by_default(saved_models, tmp_path):
    X, models = saved_models
    for name, (model, columns, kwargs) in models.items():
        path = save_model(model, tmp_path / f"{name}.skops")
        _same(name, model, load_model(path), X, columns, kwargs)


def test_every_model_raikit_saves_loads_from_the_ledger_by_default(saved_models, tmp_path):
    from raikit.ledger import Ledger

    X, models = saved_models
    ledger = Ledger(tmp_path / "ledger")
    for name, (model, columns, kwargs) in models.items():
        _same(name, model, ledger.load_model(ledger.log_model(model)), X, columns, kwargs)


def test_a_model_skops_cannot_save_gives_a_raikit_error_and_no_file(data, tmp_path):
    X, y = data
    model = LogisticRegression().fit(X, y)
    model.steps_ = (i for i in range(3))  # skops has no representation for a generator
    with pytest.raises(RaikitError, match="skops cannot save this LogisticRegression"):
        save_model(model, tmp_path / "m.skops")
    assert not (tmp_path / "m.skops").exists()
