"""Every raikit estimator meets scikit-learn's estimator contract, and routes sensitive features.

``parametrize_with_checks`` runs scikit-learn's whole battery of estimator checks on each of them
(small numbers of epochs and iterations through the estimators' own parameters keep it fast).
The few expected failures are listed with their reason; each is a property of the algorithm,
not a shortcut. The metadata-routing tests show that ``sensitive_features`` reach the estimator
inside ``GridSearchCV`` and a ``Pipeline`` — and reach it unchanged.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import sklearn
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import parametrize_with_checks

from raikit._errors import RaikitWarning
from raikit.privacy import DPClassifier
from raikit.review import SelectiveClassifier
from raikit.train import (
    FairBatchClassifier,
    FairlearnClassifier,
    FairlearnRegressor,
    FRTrainClassifier,
    RemapClassifier,
    ReweighingClassifier,
)
from raikit.train._compare import make_mitigator

# scikit-learn's checks fit without sensitive features: the documented fallback (one group, no
# constraint) warns every time; the warning itself is tested below.
pytestmark = pytest.mark.filterwarnings("ignore::raikit.RaikitWarning")

STOCHASTIC_WEIGHTS = (
    "FairBatch acts on sample_weight through random minibatch draws (a row of weight 2 is drawn "
    "twice as often), which equals repeating the row in expectation only"
)
FLOAT32_TRAINING = (
    "the network trains in float32: weights and repeated rows give the same objective, but "
    "float32 sums differ by ~1e-7, beyond the check's rtol of 1e-7"
)

HELD_OUT_SPLIT = (
    "the remapping is solved on out-of-fold predictions over random folds: a row of weight 2 "
    "stays in one fold, its two copies may fall in two folds and be predicted by other models"
)

EXPECTED_FAILED = {
    "RemapClassifier": {"check_sample_weight_equivalence_on_dense_data": HELD_OUT_SPLIT},
    "FairBatchClassifier": {"check_sample_weight_equivalence_on_dense_data": STOCHASTIC_WEIGHTS},
    "FRTrainClassifier": {"check_sample_weight_equivalence_on_dense_data": FLOAT32_TRAINING},
}

ESTIMATORS = [
    FairBatchClassifier(epochs=20, learning_rate=0.05, batch_size=16, random_state=0),
    FairBatchClassifier(
        constraint="eqodds", learning_rate=0.05, batch_size=16, max_epochs=60, random_state=0
    ),
    FRTrainClassifier(epochs=60, pretrain_epochs=50, learning_rate=0.1, random_state=0),
    FairlearnClassifier(method="expgrad", random_state=0),
    FairlearnClassifier(method="gridsearch", random_state=0),
    FairlearnClassifier(method="threshold", random_state=0),
    ReweighingClassifier(),
    FairlearnRegressor(method="expgrad", random_state=0),
    FairlearnRegressor(method="gridsearch"),
    RemapClassifier(random_state=0),
    DPClassifier(epochs=10, batch_size=32, target_epsilon=8.0, random_state=0),
    SelectiveClassifier(LogisticRegression(), coverage=0.8, group_aware=False, random_state=0),
    make_mitigator("none", "dp"),  # compare_mitigations' unmitigated baseline (private class)
]


def _expected_failed(estimator) -> dict[str, str]:
    return EXPECTED_FAILED.get(type(estimator).__name__, {})


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def _raikit_estimator_classes() -> set[type]:
    """Every public class of raikit that subclasses scikit-learn's BaseEstimator."""
    import raikit.privacy
    import raikit.review
    import raikit.train

    found = set()
    for module in (raikit, raikit.train, raikit.privacy, raikit.review):
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj) and issubclass(obj, BaseEstimator):
                found.add(obj)
    return found


def test_every_raikit_estimator_is_checked():
    checked = {type(est) for est in ESTIMATORS}
    assert _raikit_estimator_classes() == checked - {type(make_mitigator("none", "dp"))}


@pytest.mark.parametrize(
    "estimator, multi_class",
    [
        (FairBatchClassifier(), False),  # eqopp: the positive label's rate
        (FairBatchClassifier(constraint="dp"), False),
        (FairBatchClassifier(constraint="eqodds"), True),
        (FRTrainClassifier(), False),
        (FairlearnClassifier(), False),
        (ReweighingClassifier(), True),
        (RemapClassifier(), True),
        (DPClassifier(), True),
        (SelectiveClassifier(LogisticRegression(), coverage=0.8), True),
    ],
    ids=lambda value: type(value).__name__ if not isinstance(value, bool) else str(value),
)
def test_binary_only_estimators_say_so_in_their_tags(estimator, multi_class):
    tags = get_tags(estimator)
    assert tags.classifier_tags.multi_class is multi_class
    assert tags.non_deterministic is False
    assert tags.classifier_tags.poor_score is False


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_unfitted_estimators_raise_not_fitted_error(estimator):
    X = np.zeros((3, 2))
    with pytest.raises(NotFittedError):
        clone(estimator).predict(X)


@pytest.fixture(scope="module")
def fair_data():
    rng = np.random.default_rng(0)
    n = 240
    s = rng.integers(0, 3, n)
    X = rng.normal(size=(n, 3)) + s[:, None] * 0.5
    y = (X[:, 0] + 0.5 * rng.normal(size=n) > 0.5).astype(int)
    return X, y, s


@pytest.mark.parametrize(
    "estimator",
    [
        FairBatchClassifier(epochs=3, random_state=0),
        FRTrainClassifier(epochs=20, pretrain_epochs=10, random_state=0),
        FairlearnClassifier(method="expgrad", random_state=0),
        ReweighingClassifier(),
        FairlearnRegressor(random_state=0),
        RemapClassifier(random_state=0),
    ],
    ids=lambda e: type(e).__name__,
)
def test_without_sensitive_features_the_fallback_warns_and_is_one_group(estimator, fair_data):
    X, y, _ = fair_data
    with pytest.warns(RaikitWarning, match="no sensitive_features"):
        fitted = clone(estimator).fit(X, y)
    assert fitted.group_labels_ == ["all"]


def test_selective_without_sensitive_features_warns_and_calibrates_one_threshold(fair_data):
    X, y, _ = fair_data
    with pytest.warns(RaikitWarning, match="one\\s+threshold for everyone"):
        fitted = SelectiveClassifier(LogisticRegression(), coverage=0.8, random_state=0).fit(X, y)
    assert fitted.thresholds_.index.tolist() == ["overall"]


@pytest.fixture
def routing():
    with sklearn.config_context(enable_metadata_routing=True):
        yield
    assert sklearn.get_config()["enable_metadata_routing"] is False


def test_grid_search_routes_sensitive_features_to_every_fit(routing, fair_data):
    X, y, s = fair_data
    clf = FairBatchClassifier(epochs=3, random_state=0).set_fit_request(sensitive_features=True)
    search = GridSearchCV(
        clf, {"step_size": [0.001, 0.01]}, cv=KFold(2, shuffle=True, random_state=0)
    )
    search.fit(X, y, sensitive_features=s)
    best = search.best_estimator_
    assert best.group_labels_ == ["0", "1", "2"]  # the refit saw the three groups
    assert best.mixing_weights_.shape == (2, 3)
    # The refit on all rows equals a direct fit with the same sensitive features.
    direct = clone(best).fit(X, y, sensitive_features=s)
    np.testing.assert_array_equal(best.coefs_[0], direct.coefs_[0])


def test_pipeline_routes_sensitive_features_unchanged(routing, fair_data):
    X, y, s = fair_data
    clf = FairBatchClassifier(epochs=3, random_state=0).set_fit_request(sensitive_features=True)
    pipe = make_pipeline(StandardScaler(), clf).fit(X, y, sensitive_features=s)
    direct = clone(clf).fit(StandardScaler().fit_transform(X), y, sensitive_features=s)
    np.testing.assert_array_equal(pipe[-1].coefs_[0], direct.coefs_[0])
    np.testing.assert_array_equal(pipe[-1].mixing_weights_, direct.mixing_weights_)
    # Without the features the groups differ (one group), so the routing is what made them equal.
    with pytest.warns(RaikitWarning):
        alone = clone(clf).fit(StandardScaler().fit_transform(X), y)
    assert alone.mixing_weights_.shape == (2, 1)


@pytest.mark.parametrize(
    "estimator",
    [
        FRTrainClassifier(epochs=20, pretrain_epochs=10, random_state=0),
        FairlearnClassifier(method="expgrad", constraint="dp", random_state=0),
        ReweighingClassifier(),
        SelectiveClassifier(LogisticRegression(), coverage=0.8, random_state=0),
        FairlearnRegressor(method="gridsearch"),
        RemapClassifier(random_state=0),
    ],
    ids=lambda e: type(e).__name__,
)
def test_every_fair_estimator_takes_routed_sensitive_features(routing, estimator, fair_data):
    X, y, s = fair_data
    clf = clone(estimator).set_fit_request(sensitive_features=True)
    pipe = make_pipeline(StandardScaler(), clf).fit(X, y, sensitive_features=s)
    fitted = pipe[-1]
    if isinstance(fitted, SelectiveClassifier):
        assert fitted.thresholds_.index.tolist() == ["0", "1", "2", "overall"]
    else:
        assert fitted.group_labels_ == ["0", "1", "2"]


def test_unrequested_sensitive_features_are_refused_with_routing(routing, fair_data):
    X, y, s = fair_data
    pipe = make_pipeline(StandardScaler(), FairBatchClassifier(epochs=2, random_state=0))
    with pytest.raises(ValueError, match="sensitive_features"):
        pipe.fit(X, y, sensitive_features=s)
