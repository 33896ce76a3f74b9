"""Tests of DPClassifier (DP-SGD on Opacus)."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("opacus")

from raikit._errors import DataError  # noqa: E402
from raikit.privacy import DPClassifier  # noqa: E402

# Public ranges of Adult's numeric features (from the census codebook, not from the data).
ADULT_RANGES = {
    "age": (17, 90),
    "education_num": (1, 16),
    "capital_gain": (0, 99_999),
    "capital_loss": (0, 4_356),
    "hours_per_week": (1, 99),
}


def adult_numeric(frame):
    columns = []
    for name, (lo, hi) in ADULT_RANGES.items():
        values = frame[name].to_numpy(dtype=float)
        if name.startswith("capital"):
            columns.append(np.log1p(values) / np.log1p(hi))
        else:
            columns.append((values - lo) / (hi - lo))
    return np.column_stack(columns), frame["income"].to_numpy()


@pytest.fixture(scope="module")
def adult():
    from raikit.datasets import load_adult

    return adult_numeric(load_adult(split="train").frame), adult_numeric(
        load_adult(split="test").frame
    )


@pytest.mark.slow
def test_adult_accuracy_and_spent_epsilon(adult):
    (X, y), (X_test, y_test) = adult
    majority = max(y_test.mean(), 1 - y_test.mean())  # 0.764
    private = DPClassifier(target_epsilon=1.0, epochs=3, random_state=0).fit(X, y)
    baseline = DPClassifier(target_epsilon=math.inf, epochs=3, random_state=0).fit(X, y)
    # The accountant spends the budget almost exactly, and never more.
    assert 0.9 <= private.epsilon_ <= 1.0 + 1e-6
    assert private.delta_ == pytest.approx(min(1e-5, 1 / len(X)))
    assert baseline.epsilon_ == math.inf and baseline.noise_multiplier_ == 0
    # Measured: ~0.806 private vs ~0.807 non-private on these 5 features; majority class 0.764.
    assert private.score(X_test, y_test) > majority + 0.02
    assert private.score(X_test, y_test) > baseline.score(X_test, y_test) - 0.02


def test_noise_shrinks_as_epsilon_grows():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 4)).astype(np.float32)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    sigmas = [
        DPClassifier(target_epsilon=eps, epochs=1, random_state=0).fit(X, y).noise_multiplier_
        for eps in (0.5, 2.0, 8.0)
    ]
    assert sigmas[0] > sigmas[1] > sigmas[2] > 0


@pytest.mark.slow
def test_prv_accountant_and_custom_module():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(1500, 3)).astype(np.float32)
    y = np.where(X[:, 0] > 0, "yes", "no")
    net = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    clf = DPClassifier(model=net, target_epsilon=3.0, epochs=4, accountant="prv", random_state=0)
    clf.fit(X, y)
    assert clf.epsilon_ <= 3.0 + 1e-6
    assert set(clf.predict(X)) <= {"no", "yes"}
    assert clf.score(X, y) > 0.8
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert net[0].weight.grad is None  # the user's module was copied, not trained in place


def test_mlp_multiclass():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(1500, 2)).astype(np.float32)
    y = np.digitize(X[:, 0], [-0.5, 0.5])
    clf = DPClassifier(model="mlp", target_epsilon=8.0, epochs=4, random_state=0).fit(X, y)
    assert clf.predict_proba(X).shape == (1500, 3)
    assert clf.score(X, y) > 0.6  # chance is ~0.38


def test_same_seed_same_model():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(600, 2)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    a = DPClassifier(target_epsilon=1.0, epochs=1, random_state=7).fit(X, y).predict_proba(X)
    b = DPClassifier(target_epsilon=1.0, epochs=1, random_state=7).fit(X, y).predict_proba(X)
    np.testing.assert_allclose(a, b)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"target_epsilon": 0}, "target_epsilon must be a positive"),
        ({"target_epsilon": -1.0}, "target_epsilon must be a positive"),
        ({"target_delta": 1.5}, "target_delta"),
        ({"model": "tree"}, "model must be"),
        ({"max_grad_norm": 0}, "max_grad_norm"),
        ({"accountant": "gdp"}, "accountant"),
    ],
)
def test_bad_parameters(params, match):
    X = np.random.default_rng(0).normal(size=(50, 2))
    y = np.arange(50) % 2
    with pytest.raises(DataError, match=match):
        DPClassifier(**params).fit(X, y)


def test_single_class_is_refused():
    with pytest.raises(DataError, match="two classes"):
        DPClassifier().fit(np.zeros((10, 2)), np.ones(10))


@pytest.mark.slow
def test_scikit_learn_estimator_contract():
    from sklearn.utils.estimator_checks import check_estimator

    # Small-data settings: scikit-learn's checks fit tiny sets and expect > 83% train accuracy.
    estimator = DPClassifier(epochs=20, batch_size=32, target_epsilon=8.0, random_state=0)
    results = check_estimator(estimator, on_fail=None)
    failed = [r["check_name"] for r in results if r["status"] == "failed"]
    assert not failed
