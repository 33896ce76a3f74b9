"""flip_labels: exact budgets, the influence estimate vs real retraining, attack strength."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from raikit._errors import DataError, ParameterError
from raikit.datasets import make_fairness_synthetic
from raikit.train import flip_labels
from raikit.train._poison import _fit_logistic, _influence_scores

COLS = ["x1", "x2", "z"]


@pytest.fixture(scope="module")
def frames():
    out = []
    for seed in range(3):
        frame = make_fairness_synthetic(3000, random_state=seed, as_frame=True)
        out.append((frame.iloc[:2000], frame.iloc[2000:]))
    return out


@pytest.mark.parametrize("method", ["paudice", "confident", "random"])
@pytest.mark.parametrize("share", [0.0, 0.1, 0.237])
def test_flipped_count_is_exact_and_types_are_kept(frames, method, share):
    train = frames[0][0].iloc[:500]
    labels = train["y"].map({0: "no", 1: "yes"})  # string labels and a non-default index
    poisoned, flipped = flip_labels(train[COLS], labels, share=share, method=method, random_state=0)
    expected = round(share * 500)
    assert len(flipped) == expected == int((poisoned != labels).sum())
    assert np.all(np.diff(flipped) > 0)
    assert isinstance(poisoned, pd.Series) and poisoned.index.equals(labels.index)
    assert set(poisoned.unique()) <= {"no", "yes"}
    # only the listed rows changed, and each changed to the other class
    changed = np.flatnonzero(poisoned.to_numpy() != labels.to_numpy())
    np.testing.assert_array_equal(changed, flipped)


def test_influence_estimate_matches_retraining():
    """The first-order score ranks single flips like their true effect after a refit."""
    train = make_fairness_synthetic(300, random_state=4, as_frame=True)
    X1 = np.column_stack([(train[COLS] - train[COLS].mean()) / train[COLS].std(), np.ones(300)])
    y = train["y"].to_numpy().astype(float)
    theta = _fit_logistic(X1, y, 1.0)
    scores = _influence_scores(X1, y, theta, X1, y, 1.0)

    def val_loss(th):
        p = 1 / (1 + np.exp(-(X1 @ th)))
        return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))

    base = val_loss(theta)
    rows = np.random.default_rng(0).choice(300, 40, replace=False)
    true = []
    for i in rows:
        flipped = y.copy()
        flipped[i] = 1 - flipped[i]
        true.append(val_loss(_fit_logistic(X1, flipped, 1.0)) - base)
    true = np.array(true)
    assert np.corrcoef(scores[rows], true)[0, 1] > 0.95
    np.testing.assert_allclose(scores[rows], true, rtol=0.5, atol=2e-4)


def test_paudice_hurts_more_than_random(frames):
    """Same share of flips: the greedy attack costs far more test accuracy than random noise."""
    drops = {"paudice": [], "random": []}
    for seed, (train, test) in enumerate(frames):
        clean = LogisticRegression().fit(train[COLS], train["y"]).score(test[COLS], test["y"])
        for method in drops:
            y_bad, _ = flip_labels(
                train[COLS], train["y"], share=0.1, method=method, random_state=seed
            )
            model = LogisticRegression().fit(train[COLS], y_bad)
            drops[method].append(clean - model.score(test[COLS], test["y"]))
    # measured: paudice ~0.07, random ~0.00
    assert np.mean(drops["paudice"]) > np.mean(drops["random"]) + 0.03
    assert min(drops["paudice"]) > max(drops["random"])


def test_clean_validation_set_and_reproducible(frames):
    train, test = frames[1]
    a = flip_labels(
        train[COLS], train["y"], validation=(test[COLS], test["y"]), n_rounds=5, random_state=0
    )
    b = flip_labels(
        train[COLS], train["y"], validation=(test[COLS], test["y"]), n_rounds=5, random_state=0
    )
    np.testing.assert_array_equal(a.flipped, b.flipped)
    r1 = flip_labels(train[COLS], train["y"], method="random", random_state=1).flipped
    r2 = flip_labels(train[COLS], train["y"], method="random", random_state=2).flipped
    assert not np.array_equal(r1, r2)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"share": 0.7}, "share"),
        ({"share": -0.1}, "share"),
        ({"method": "worst"}, "method"),
        ({"n_rounds": 0}, "n_rounds"),
        ({"C": 0}, "C must"),
        ({"validation": (1,)}, "tuple"),
    ],
)
def test_bad_input(frames, kwargs, message):
    train = frames[0][0]
    with pytest.raises(ParameterError, match=message):
        flip_labels(train[COLS], train["y"], **kwargs)


def test_bad_labels():
    X = np.zeros((6, 2))
    with pytest.raises(DataError, match="binary"):
        flip_labels(X, [0, 1, 2, 0, 1, 2])
    with pytest.raises(DataError, match="rows"):
        flip_labels(X, [0, 1, 0])
    with pytest.raises(DataError, match="missing"):
        flip_labels(X, [0, 1, None, 0, 1, 1])
