"""Fairlearn adapters and Kamiran-Calders reweighing, checked against Fairlearn and by hand."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from raikit import load_model, save_model
from raikit._errors import DataError, ParameterError
from raikit.datasets import load_compas, make_fairness_synthetic
from raikit.train import (
    FairlearnClassifier,
    ReweighingClassifier,
    TabularEncoder,
    reweighing_weights,
)


def test_reweighing_by_hand_and_independence():
    y = np.array([1, 1, 1, 0, 1, 0, 0, 0])
    z = np.array(["a"] * 4 + ["b"] * 4)
    w = reweighing_weights(y, z)
    # P(y=1)=.5, P(a)=.5, P(y=1, a)=3/8 -> w = .25 / .375 = 2/3; P(y=0, a)=1/8 -> w = 2
    np.testing.assert_allclose(w, [2 / 3, 2 / 3, 2 / 3, 2, 2, 2 / 3, 2 / 3, 2 / 3], rtol=1e-12)
    assert w.sum() == pytest.approx(len(y))


def test_reweighing_makes_label_independent_of_many_groups():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"race": rng.choice(["A", "B", "C", "D"], 5000), "sex": rng.choice(["F", "M"], 5000)}
    )
    y = (rng.random(5000) < np.where(frame["race"] == "A", 0.7, 0.3)).astype(int)
    w = reweighing_weights(y, frame)
    cells = frame["race"] + "&" + frame["sex"]
    weighted_rate = pd.Series(w * y).groupby(cells).sum() / pd.Series(w).groupby(cells).sum()
    np.testing.assert_allclose(weighted_rate, y.mean(), atol=1e-12)  # exact by construction


def test_reweighing_errors():
    with pytest.raises(DataError, match="rows"):
        reweighing_weights([0, 1, 1], ["a", "b"])
    with pytest.raises(DataError, match="empty"):
        reweighing_weights([], [])


@pytest.mark.parametrize(
    "constraint, moment", [("dp", "DemographicParity"), ("eqodds", "EqualizedOdds")]
)
def test_expgrad_matches_fairlearn_directly(constraint, moment):
    import fairlearn.reductions as red
    from sklearn.linear_model import LogisticRegression

    ds = make_fairness_synthetic(600, random_state=0)
    ours = FairlearnClassifier(method="expgrad", constraint=constraint, random_state=0)
    ours.fit(ds.X, ds.y, sensitive_features=ds.sensitive["z"])
    x = ours.encoder_.transform(ds.X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = red.ExponentiatedGradient(
            LogisticRegression(max_iter=1000), getattr(red, moment)(), eps=0.01
        )
        ref.fit(x, ds.y, sensitive_features=ds.sensitive["z"].to_numpy())
    np.testing.assert_allclose(ours.predict_proba(ds.X), ref._pmf_predict(x), atol=1e-10)


def test_threshold_optimizer_equalises_selection_rates_on_compas(tmp_path):
    ds = load_compas()
    train, test = ds.split(0.3, random_state=0)
    clf = FairlearnClassifier(method="threshold", constraint="dp", random_state=0)
    clf.fit(train.X, train.y, sensitive_features=train.sensitive["race"])
    pred = clf.predict(test.X, sensitive_features=test.sensitive["race"])
    rates = pd.Series(pred).groupby(test.sensitive["race"].to_numpy()).mean()
    big = test.sensitive["race"].value_counts()
    big = big[big > 300].index
    assert rates[big].max() - rates[big].min() < 0.06  # unmitigated gap on COMPAS is ~0.2
    with pytest.raises(ParameterError, match="sensitive_features"):
        clf.predict(test.X)
    path = save_model(clf, tmp_path / "t.skops")
    again = load_model(path, trusted=True)
    np.testing.assert_array_equal(
        again.predict(test.X, sensitive_features=test.sensitive["race"]), pred
    )


def test_gridsearch_and_reweigh_on_intersections():
    ds = make_fairness_synthetic(500, random_state=3)
    sens = pd.DataFrame({"z": ds.sensitive["z"], "half": np.arange(500) % 2})
    gs = FairlearnClassifier(method="gridsearch", constraint="eqopp", grid_size=5).fit(
        ds.X, ds.y, sensitive_features=sens
    )
    assert len(gs.group_labels_) == 4 and gs.predict_proba(ds.X).shape == (500, 2)
    rw = ReweighingClassifier().fit(ds.X, ds.y, sensitive_features=sens)
    np.testing.assert_allclose(rw.weights_, reweighing_weights(ds.y, sens))


def test_adapter_bad_input():
    ds = make_fairness_synthetic(100, random_state=0)
    with pytest.raises(ParameterError, match="method"):
        FairlearnClassifier(method="magic").fit(ds.X, ds.y, sensitive_features=ds.sensitive)
    with pytest.raises(ParameterError, match="constraint"):
        FairlearnClassifier(constraint="fair").fit(ds.X, ds.y, sensitive_features=ds.sensitive)
    with pytest.raises(DataError, match="Only binary classification is supported"):
        FairlearnClassifier().fit(ds.X, np.arange(100) % 3, sensitive_features=ds.sensitive)


def test_frozen_thresholds_match_fairlearn_probabilities():
    """Our application of the fitted interpolation equals fairlearn's own formula."""
    from fairlearn.postprocessing import ThresholdOptimizer
    from sklearn.linear_model import LogisticRegression

    ds = make_fairness_synthetic(800, random_state=5)
    clf = FairlearnClassifier(method="threshold", constraint="eqodds", random_state=0)
    clf.fit(ds.X, ds.y, sensitive_features=ds.sensitive["z"])
    x = clf.encoder_.transform(ds.X)
    groups = ds.sensitive["z"].to_numpy()
    ref = ThresholdOptimizer(
        estimator=LogisticRegression(max_iter=1000),
        constraints="equalized_odds",
        predict_method="predict_proba",
    ).fit(x, ds.y, sensitive_features=groups)
    scores = ref.interpolated_thresholder_.estimator_.predict_proba(x)[:, 1]
    expected = np.zeros(len(x))
    for g, interp in ref.interpolated_thresholder_.interpolation_dict.items():
        s = pd.Series(scores[groups == g])
        p = interp.p0 * interp.operation0(s) + interp.p1 * interp.operation1(s)
        if "p_ignore" in interp:
            p = interp.p_ignore * interp.prediction_constant + (1 - interp.p_ignore) * p
        expected[groups == g] = p
    np.testing.assert_allclose(clf._threshold_pmf(x, groups), expected, atol=1e-12)


def test_reweighing_with_sample_weights_is_independent_in_the_weighted_data():
    rng = np.random.default_rng(1)
    z = rng.choice(["a", "b", "c"], 3000)
    y = (rng.random(3000) < np.where(z == "a", 0.7, 0.3)).astype(int)
    sw = rng.integers(0, 4, 3000).astype(float)
    w = reweighing_weights(y, z, sample_weight=sw)
    total = sw * w
    for g in "abc":
        rate = (total * y)[z == g].sum() / total[z == g].sum()
        assert rate == pytest.approx((sw * y).sum() / sw.sum(), abs=1e-12)
    # integer weights are duplicated rows
    rows = np.repeat(np.arange(3000), sw.astype(int))
    np.testing.assert_allclose(reweighing_weights(y[rows], z[rows]), w[rows], rtol=1e-12)
    frame = pd.DataFrame({"x": rng.normal(size=3000) + y})
    clf = ReweighingClassifier().fit(frame, y, sensitive_features=z, sample_weight=sw)
    from sklearn.linear_model import LogisticRegression

    direct = LogisticRegression(max_iter=1000).fit(
        clf.encoder_.transform(frame), y, sample_weight=w * sw
    )
    np.testing.assert_allclose(clf.estimator_.coef_, direct.coef_, rtol=1e-10)
    with pytest.raises(DataError, match="sample_weight"):
        reweighing_weights(y, z, sample_weight=-sw)


def test_difference_bound_sets_the_fairness_level_of_the_reduction():
    import fairlearn.reductions as red
    from sklearn.linear_model import LogisticRegression

    ds = make_fairness_synthetic(1000, random_state=1)
    z = ds.sensitive["z"]
    gaps = {}
    for bound in (0.01, 0.3):
        clf = FairlearnClassifier(method="expgrad", constraint="dp", difference_bound=bound)
        clf.fit(ds.X, ds.y, sensitive_features=z)
        rate = pd.Series(clf.predict_proba(ds.X)[:, 1]).groupby(z.to_numpy()).mean()
        gaps[bound] = rate.max() - rate.min()
        if bound == 0.3:  # equal to Fairlearn given the same bound
            x = clf.encoder_.transform(ds.X)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ref = red.ExponentiatedGradient(
                    LogisticRegression(max_iter=1000), red.DemographicParity(difference_bound=0.3)
                ).fit(x, ds.y, sensitive_features=z.to_numpy())
            np.testing.assert_allclose(clf.predict_proba(ds.X), ref._pmf_predict(x), atol=1e-10)
    # expected selection-rate gap on the training rows: within the bound (x2: two groups about
    # the overall rate) up to the solver's tolerance, and far wider when the bound is loose
    assert gaps[0.01] < 0.05 < gaps[0.3]
    with pytest.raises(ParameterError, match="difference_bound"):
        FairlearnClassifier(difference_bound=2).fit(ds.X, ds.y, sensitive_features=z)


def _replicated_reference(method, moment, x, y, z, weights):
    """Fairlearn itself, on rows repeated as many times as their integer weight."""
    import fairlearn.reductions as red
    from sklearn.linear_model import LogisticRegression

    rows = np.repeat(np.arange(len(y)), weights)
    base = LogisticRegression(max_iter=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method == "expgrad":
            ref = red.ExponentiatedGradient(base, getattr(red, moment)(), eps=0.01)
            ref.fit(x[rows], y[rows], sensitive_features=z[rows])
            return ref._pmf_predict(x)
        ref = red.GridSearch(base, getattr(red, moment)(), grid_size=10)
        ref.fit(x[rows], y[rows], sensitive_features=z[rows])
        return ref.predict_proba(x)


@pytest.mark.parametrize(
    ("method", "constraint", "moment"),
    [
        ("expgrad", "dp", "DemographicParity"),
        ("expgrad", "eqopp", "TruePositiveRateParity"),
        ("gridsearch", "eqodds", "EqualizedOdds"),
    ],
)
def test_reductions_with_sample_weight_equal_fairlearn_on_repeated_rows(method, constraint, moment):
    # Fairlearn's reductions take no sample_weight (it used to raise "load_data() got an
    # unexpected keyword argument 'sample_weight'"): an integer weight k must act as k copies
    # of the row, and a zero weight as the row left out.
    ds = make_fairness_synthetic(300, random_state=0)
    y, z = ds.y.to_numpy(), ds.sensitive["z"].to_numpy()
    weights = np.random.default_rng(0).integers(0, 4, len(y))
    clf = FairlearnClassifier(method=method, constraint=constraint, random_state=0)
    clf.fit(ds.X, y, sensitive_features=z, sample_weight=weights)
    x = clf.encoder_.transform(ds.X)
    expected = _replicated_reference(method, moment, x, y, z, weights)
    np.testing.assert_allclose(clf.predict_proba(ds.X), expected, atol=1e-6)
    # ... and the weights matter: the unweighted model is a different one.
    plain = FairlearnClassifier(method=method, constraint=constraint, random_state=0)
    plain.fit(ds.X, y, sensitive_features=z)
    assert np.abs(plain.predict_proba(ds.X) - expected).max() > 0.05


def test_reduction_sample_weight_errors():
    ds = make_fairness_synthetic(100, random_state=0)
    z = ds.sensitive["z"].to_numpy()
    clf = FairlearnClassifier(method="expgrad", constraint="dp")
    with pytest.raises(DataError, match="one value per row"):
        clf.fit(ds.X, ds.y, sensitive_features=z, sample_weight=np.ones(5))
    with pytest.raises(DataError, match="non-negative"):
        clf.fit(ds.X, ds.y, sensitive_features=z, sample_weight=-np.ones(100))
    with pytest.raises(DataError, match="positive weight in every group"):
        clf.fit(ds.X, ds.y, sensitive_features=z, sample_weight=(z == z[0]).astype(float))


def test_wrappers_accept_lists():
    # X as a list of rows, y and sensitive_features as lists (they crashed on X.shape).
    ds = make_fairness_synthetic(200, random_state=0)
    X, y, z = ds.X.to_numpy().tolist(), ds.y.tolist(), ds.sensitive["z"].tolist()
    array = ds.X.to_numpy()
    for clf in (
        FairlearnClassifier(method="expgrad", constraint="dp", random_state=0),
        FairlearnClassifier(method="threshold", constraint="dp", random_state=0),
        ReweighingClassifier(),
    ):
        listed = clone(clf).fit(X, y, sensitive_features=z)
        arrays = clone(clf).fit(array, ds.y.to_numpy(), sensitive_features=np.asarray(z))
        kw = {"sensitive_features": z} if getattr(clf, "method", None) == "threshold" else {}
        np.testing.assert_array_equal(listed.predict(X, **kw), arrays.predict(array, **kw))
        assert listed.n_features_in_ == array.shape[1]
    with pytest.raises(ValueError, match="Expected 2D array"):
        ReweighingClassifier().fit([1.0, 2.0, 3.0], [0, 1, 0], sensitive_features=["a", "b", "a"])


def test_integer_column_names():
    # TabularEncoder looked integer column labels up as strings (KeyError: "None of ['0', ...]").
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({0: rng.normal(size=200), 1: rng.choice(["u", "v"], 200)})
    y = (frame[0] + (frame[1] == "u") > 0.5).astype(int).to_numpy()
    encoder = TabularEncoder().fit(frame)
    named = frame.rename(columns=str)
    np.testing.assert_array_equal(
        encoder.transform(frame), TabularEncoder().fit(named).transform(named)
    )
    assert encoder.transform(frame).shape == (200, 3)
    z = rng.choice(["a", "b"], 200)
    clf = ReweighingClassifier().fit(frame, y, sensitive_features=z)
    assert clf.score(frame, y) > 0.8
    from raikit.train import FairBatchClassifier

    fb = FairBatchClassifier(epochs=3, random_state=0).fit(frame, y, sensitive_features=z)
    np.testing.assert_array_equal(fb.predict_proba(frame), fb.predict_proba(named))
    with pytest.raises(DataError, match="missing the column"):
        encoder.transform(frame.drop(columns=[1]))
    with pytest.raises(DataError, match="duplicated"):
        TabularEncoder().fit(pd.DataFrame([[1, 2]], columns=[1, "1"]))
