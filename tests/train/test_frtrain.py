"""FR-Train: the robustness weights find flipped labels, the fairness term lowers disparity."""

import numpy as np
import pytest

from raikit import load_model, save_model
from raikit._errors import DataError
from raikit.datasets import make_fairness_synthetic
from raikit.train import FRTrainClassifier

COLS = ["x1", "x2", "z"]


@pytest.fixture(scope="module")
def data():
    frame = make_fairness_synthetic(2700, random_state=0, as_frame=True)
    train, clean, test = frame.iloc[:2000].copy(), frame.iloc[2000:2200], frame.iloc[2200:]
    rng = np.random.default_rng(0)
    flipped = rng.choice(2000, 200, replace=False)
    train.iloc[flipped, train.columns.get_loc("y")] = 1 - train["y"].to_numpy()[flipped]
    return train, clean, test, flipped


def _di(pred, z):
    a, b = pred[z == 0].mean(), pred[z == 1].mean()
    return min(a / b, b / a)


def test_robustness_weights_down_weight_flipped_labels(data):
    train, clean, _, flipped = data
    clf = FRTrainClassifier(lambda_f=0.0, lambda_r=0.3, epochs=300, random_state=0)
    clf.fit(
        train[COLS],
        train["y"],
        sensitive_features=train["z"],
        clean_validation=(clean[COLS], clean["y"], clean["z"]),
    )
    is_flipped = np.zeros(2000, bool)
    is_flipped[flipped] = True
    w = clf.sample_weights_
    assert w.mean() == pytest.approx(1.0, rel=1e-4)
    # measured ~0.3 vs ~1.1: flipped rows get far less weight than clean ones
    assert w[is_flipped].mean() < 0.7 * w[~is_flipped].mean()


def test_fairness_term_raises_disparate_impact(data):
    train, clean, test, _ = data
    kw = {"epochs": 300, "random_state": 0, "lambda_r": 0.2}
    val = (clean[COLS], clean["y"], clean["z"])
    plain = FRTrainClassifier(lambda_f=0.0, **kw).fit(
        train[COLS], train["y"], sensitive_features=train["z"], clean_validation=val
    )
    fair = FRTrainClassifier(lambda_f=0.6, **kw).fit(
        train[COLS], train["y"], sensitive_features=train["z"], clean_validation=val
    )
    z = test["z"].to_numpy()
    assert _di(fair.predict(test[COLS]), z) > _di(plain.predict(test[COLS]), z) + 0.1
    assert fair.score(test[COLS], test["y"]) > 0.7


def test_seed_reproducible_and_skops(data, tmp_path):
    train, clean, _, _ = data
    kw = {"epochs": 20, "random_state": 1}
    val = (clean[COLS], clean["y"], None)
    a = FRTrainClassifier(**kw).fit(
        train[COLS], train["y"], sensitive_features=train["z"], clean_validation=val
    )
    b = FRTrainClassifier(**kw).fit(
        train[COLS], train["y"], sensitive_features=train["z"], clean_validation=val
    )
    np.testing.assert_array_equal(a.coefs_[0], b.coefs_[0])
    loaded = load_model(save_model(a, tmp_path / "fr.skops"))
    np.testing.assert_array_equal(loaded.predict_proba(train[COLS]), a.predict_proba(train[COLS]))


@pytest.mark.parametrize(
    "kwargs, fit_kwargs, message",
    [
        ({"lambda_f": 0.7, "lambda_r": 0.4}, {}, "lambda_f"),
        ({"constraint": "eqopp"}, {}, "constraint"),
        ({}, {"clean_validation": (1, 2)}, "tuple"),
        ({}, {"clean_validation": ([[0.0, 0.0, 0.0]], [0, 1], None)}, "equal lengths"),
    ],
)
def test_bad_input(data, kwargs, fit_kwargs, message):
    train = data[0]
    with pytest.raises(DataError, match=message):
        FRTrainClassifier(epochs=1, **kwargs).fit(
            train[COLS], train["y"], sensitive_features=train["z"], **fit_kwargs
        )
