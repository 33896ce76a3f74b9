"""Inequality and individual-fairness metrics (issue 23, item 5): equal to AIF360's on the same
predictions, the exact between/within decomposition, bootstrap intervals that cover, and errors
that name the keyword.

The Adult setup: ``raikit.datasets.load_adult(split=...)``, a scikit-learn pipeline (numeric
columns standardised, categorical columns one-hot encoded, ``LogisticRegression(max_iter=1000)``)
fitted on 8,000 rows of the original UCI train file (``random_state=0``) and predicting the
16,281 rows of the original test file; the protected attribute is ``sex`` with ``Male``
privileged (AIF360's convention for Adult). AIF360 is fed the same labels, predictions and
attribute through its classic API (``BinaryLabelDataset`` / ``ClassificationMetric``) and its
scikit-learn API. The issue's numbers (Theil 0.122432, GE(2) 0.080826) come from AIF360's own
Adult preprocessing and split, which are not reproduced here; this setup gives Theil 0.1190 and
GE(2) 0.0790 (0.1191 and 0.0792 when fitted on the whole train file), and raikit equals AIF360
on it to 1e-9.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd
import pytest

from raikit import DataError, ParameterError
from raikit._result import result_from_dict
from raikit.metrics import (
    InequalityResult,
    average_odds_difference,
    between_group_generalized_entropy_index,
    between_group_theil_index,
    consistency,
    generalized_entropy_index,
    inequality_metrics,
    theil_index,
    within_group_generalized_entropy_index,
    within_group_theil_index,
)
from raikit.metrics._inequality import _index

TOL = 1e-9


def _aif360():
    logging.getLogger().setLevel(logging.ERROR)  # aif360 logs its missing optional extras
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import aif360.metrics
        import aif360.sklearn.metrics
    return aif360


@pytest.fixture(scope="module")
def adult():
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from raikit.datasets import load_adult

    train = load_adult(as_frame=True, split="train").sample(8000, random_state=0)
    test = load_adult(as_frame=True, split="test")
    features = [c for c in train.columns if c not in ("income", "split")]
    numeric = [c for c in features if train[c].dtype.kind in "if"]
    categorical = [c for c in features if c not in numeric]
    model = make_pipeline(
        make_column_transformer(
            (StandardScaler(), numeric), (OneHotEncoder(handle_unknown="ignore"), categorical)
        ),
        LogisticRegression(max_iter=1000),
    ).fit(train[features], train["income"])
    return {
        "y": test["income"].to_numpy(),
        "pred": model.predict(test[features]),
        "sex": test["sex"].astype(str).to_numpy(),
        "race": test["race"].astype(str).to_numpy(),
        "X": StandardScaler().fit_transform(test[numeric].to_numpy(float)),
    }


@pytest.fixture(scope="module")
def aif_metric(adult):
    aif360 = _aif360()
    from aif360.datasets import BinaryLabelDataset

    frame = pd.DataFrame(
        {"sex": (adult["sex"] == "Male").astype(float), "income": adult["y"].astype(float)}
    )
    truth = BinaryLabelDataset(df=frame, label_names=["income"], protected_attribute_names=["sex"])
    predicted = truth.copy()
    predicted.labels = adult["pred"].reshape(-1, 1).astype(float)
    return aif360.metrics.ClassificationMetric(
        truth, predicted, unprivileged_groups=[{"sex": 0}], privileged_groups=[{"sex": 1}]
    )


# --------------------------------------------------------------------------- AIF360 on Adult
def test_adult_indices_equal_aif360(adult, aif_metric):
    y, pred, sex = adult["y"], adult["pred"], adult["sex"]
    assert theil_index(y, pred) == pytest.approx(aif_metric.theil_index(), abs=TOL)
    assert generalized_entropy_index(y, pred) == pytest.approx(
        aif_metric.generalized_entropy_index(alpha=2), abs=TOL
    )
    for order in (0.5, 3):
        assert generalized_entropy_index(y, pred, order=order) == pytest.approx(
            aif_metric.generalized_entropy_index(alpha=order), abs=TOL
        )
    assert between_group_theil_index(y, pred, sensitive_features=sex) == pytest.approx(
        aif_metric.between_group_theil_index(), abs=TOL
    )
    assert between_group_generalized_entropy_index(
        y, pred, sensitive_features=sex
    ) == pytest.approx(aif_metric.between_group_generalized_entropy_index(alpha=2), abs=TOL)
    assert average_odds_difference(
        y, pred, sensitive_features=sex, privileged="Male"
    ) == pytest.approx(aif_metric.average_odds_difference(), abs=TOL)
    # the model is far from trivial: the numbers compared are not zeros
    assert 0.1 < theil_index(y, pred) < 0.15
    assert aif_metric.average_odds_difference() < -0.05


def test_adult_result_rows_equal_aif360(adult, aif_metric):
    result = inequality_metrics(
        adult["y"],
        adult["pred"],
        sensitive_features={"sex": adult["sex"]},
        privileged="Male",
        ci=None,
    )
    assert result.value("theil_index") == pytest.approx(aif_metric.theil_index(), abs=TOL)
    assert result.value("between_group_theil_index", "sex") == pytest.approx(
        aif_metric.between_group_theil_index(), abs=TOL
    )
    assert result.value("average_odds_difference", "sex") == pytest.approx(
        aif_metric.average_odds_difference(), abs=TOL
    )


def test_adult_consistency_equals_aif360(adult):
    aif360 = _aif360()
    from aif360.datasets import BinaryLabelDataset
    from aif360.metrics import BinaryLabelDatasetMetric

    X, pred = adult["X"][:3000], adult["pred"][:3000]
    for k in (1, 5, 10):
        expected = aif360.sklearn.metrics.consistency_score(X, pred, n_neighbors=k)
        assert consistency(X, pred, n_neighbors=k) == pytest.approx(expected, abs=TOL)
    # the classic API: features are every non-label column of the dataset
    frame = pd.DataFrame(X[:, :3], columns=["a", "b", "c"]).assign(y=pred.astype(float))
    dataset = BinaryLabelDataset(df=frame, label_names=["y"], protected_attribute_names=["a"])
    classic = BinaryLabelDatasetMetric(dataset).consistency(n_neighbors=5)
    assert consistency(X[:, :3], pred, n_neighbors=5) == pytest.approx(float(classic[0]), abs=TOL)


def test_consistency_with_ties_equals_aif360():
    # integer features with many exact duplicates: ties at the k-th neighbour everywhere
    aif360 = _aif360()
    rng = np.random.default_rng(8)
    X = rng.integers(0, 4, size=(600, 2)).astype(float)
    pred = rng.integers(0, 2, 600)
    for k in (3, 5, 8):
        expected = aif360.sklearn.metrics.consistency_score(X, pred, n_neighbors=k)
        result = inequality_metrics(pred, pred, X=X, n_neighbors=k, n_boot=50, random_state=0)
        assert result.value("consistency") == pytest.approx(expected, abs=TOL)
        assert consistency(X, pred, n_neighbors=k) == pytest.approx(expected, abs=TOL)


# --------------------------------------------------------------------------- AIF360, many groups
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_between_group_with_several_groups_equals_aif360(seed):
    aif360 = _aif360()
    rng = np.random.default_rng(seed)
    n = 500
    group = rng.choice(["a", "b", "c", "d"], n, p=[0.4, 0.3, 0.2, 0.1])
    y = rng.integers(0, 2, n)
    pred = np.where(rng.random(n) < np.where(group == "a", 0.9, 0.6), y, 1 - y)
    y_series = pd.Series(y, index=pd.Index(group, name="g"))
    for order in (1, 2, 0.5):
        expected = aif360.sklearn.metrics.between_group_generalized_entropy_error(
            y_series, pred, prot_attr="g", alpha=order
        )
        got = between_group_generalized_entropy_index(
            y, pred, sensitive_features=group, order=order
        )
        assert got == pytest.approx(expected, abs=TOL)
        assert generalized_entropy_index(y, pred, order=order) == pytest.approx(
            aif360.sklearn.metrics.generalized_entropy_error(y, pred, alpha=order), abs=TOL
        )
    # privileged vs everyone else, as AIF360's sklearn average_odds_difference(priv_group=)
    expected = aif360.sklearn.metrics.average_odds_difference(
        y_series, pred, prot_attr="g", priv_group="a"
    )
    got = average_odds_difference(y, pred, sensitive_features=group, privileged="a")
    assert got == pytest.approx(expected, abs=TOL)


def test_largest_pairwise_average_odds_is_the_max_over_pairs_of_aif360s():
    aif360 = _aif360()
    rng = np.random.default_rng(5)
    n = 900
    group = rng.choice(["a", "b", "c"], n)
    y = rng.integers(0, 2, n)
    pred = np.where(rng.random(n) < np.select([group == "a", group == "b"], [0.9, 0.7], 0.5), y, 1)
    pairs = []
    for priv in "abc":
        for other in "abc":
            if other == priv:
                continue
            keep = np.isin(group, [priv, other])
            pairs.append(
                aif360.sklearn.metrics.average_odds_difference(
                    pd.Series(y[keep], index=pd.Index(group[keep], name="g")),
                    pred[keep],
                    prot_attr="g",
                    priv_group=priv,
                )
            )
    got = average_odds_difference(y, pred, sensitive_features=group)
    assert got == pytest.approx(max(pairs), abs=TOL)
    # two groups: the absolute value of AIF360's signed number
    two = group != "c"
    signed = average_odds_difference(
        y[two], pred[two], sensitive_features=group[two], privileged="a"
    )
    assert average_odds_difference(
        y[two], pred[two], sensitive_features=group[two]
    ) == pytest.approx(abs(signed), abs=TOL)


def test_order_zero_is_the_mean_log_deviation():
    aif360 = _aif360()
    # no false negative: benefits 1, 2, 1, 1, mean 1.25
    y, pred = [1, 0, 0, 1], [1, 1, 0, 1]
    b = np.array([1.0, 2.0, 1.0, 1.0])
    expected = -np.mean(np.log(b / b.mean()))
    assert generalized_entropy_index(y, pred, order=0) == pytest.approx(expected, abs=1e-15)
    # AIF360's code divides it by the mean benefit too (its docstring's formula does not)
    aif = aif360.sklearn.metrics.generalized_entropy_error(np.array(y), np.array(pred), alpha=0)
    assert aif == pytest.approx(expected / b.mean(), abs=1e-15)
    # a false negative makes it infinite in both
    assert generalized_entropy_index([1, 0], [0, 0], order=0) == np.inf


# --------------------------------------------------------------------------- properties
@pytest.mark.parametrize("order", [0.5, 1, 2, 3])
def test_between_plus_within_is_the_whole_index(order):
    rng = np.random.default_rng(3)
    n = 2000
    sex = rng.choice(["F", "M"], n)
    race = rng.choice(["A", "B", "C"], n)
    y = rng.integers(0, 2, n)
    pred = np.where(rng.random(n) < np.where(sex == "F", 0.7, 0.9), y, 1 - y)
    weights = rng.integers(1, 4, n).astype(float)
    for w in (None, weights):
        total = generalized_entropy_index(y, pred, order=order, sample_weight=w)
        frame = pd.DataFrame({"sex": sex, "race": race})
        between = between_group_generalized_entropy_index(
            y, pred, sensitive_features=frame, order=order, sample_weight=w
        )
        within = within_group_generalized_entropy_index(
            y, pred, sensitive_features=frame, order=order, sample_weight=w
        )
        assert between > 0 and within > 0
        assert between + within == pytest.approx(total, abs=1e-12)
    assert within_group_theil_index(y, pred, sensitive_features=sex) == pytest.approx(
        theil_index(y, pred) - between_group_theil_index(y, pred, sensitive_features=sex),
        abs=1e-12,
    )


def test_integer_weights_equal_duplicated_rows():
    rng = np.random.default_rng(4)
    n = 300
    group = rng.choice(["a", "b"], n)
    y, pred = rng.integers(0, 2, n), rng.integers(0, 2, n)
    w = rng.integers(0, 4, n)
    rep = np.repeat(np.arange(n), w)
    assert generalized_entropy_index(y, pred, sample_weight=w) == pytest.approx(
        generalized_entropy_index(y[rep], pred[rep]), abs=1e-12
    )
    assert between_group_theil_index(
        y, pred, sensitive_features=group, sample_weight=w
    ) == pytest.approx(between_group_theil_index(y[rep], pred[rep], sensitive_features=group[rep]))
    assert average_odds_difference(
        y, pred, sensitive_features=group, privileged="a", sample_weight=w
    ) == pytest.approx(
        average_odds_difference(y[rep], pred[rep], sensitive_features=group[rep], privileged="a")
    )


def test_hand_computed_values():
    # benefits 1, 2, 0, 1: mean 1; Theil = (2 ln 2) / 4; GE(2) = ((4 - 1) + (0 - 1) + 0 + 0) / 8
    y, pred = [1, 0, 1, 0], [1, 1, 0, 0]
    assert theil_index(y, pred) == pytest.approx(np.log(2) / 2, abs=1e-15)
    assert generalized_entropy_index(y, pred) == pytest.approx(0.25, abs=1e-15)
    # a perfect classifier: every benefit 1, no inequality
    assert theil_index([1, 0, 1], [1, 0, 1]) == 0.0
    # string labels with pos_label
    assert theil_index(["yes", "no", "yes", "no"], ["yes", "yes", "no", "no"], pos_label="yes") == (
        pytest.approx(np.log(2) / 2, abs=1e-15)
    )
    # every row a false negative: the mean benefit is 0 and the index undefined
    assert np.isnan(theil_index([1, 1], [0, 0]))


# --------------------------------------------------------------------------- intervals
def test_intervals_contain_the_estimate_and_shrink_with_n():
    widths = []
    for n in (400, 6400):
        rng = np.random.default_rng(n)
        group = rng.choice(["a", "b", "c"], n)
        y = rng.integers(0, 2, n)
        pred = np.where(rng.random(n) < np.where(group == "a", 0.9, 0.7), y, 1 - y)
        X = rng.normal(size=(n, 2)) + y[:, None]
        result = inequality_metrics(
            y, pred, sensitive_features=group, X=X, n_boot=300, random_state=0
        )
        table = result.table
        assert (table["lower"] <= table["value"]).all() and (table["value"] <= table["upper"]).all()
        assert (table["upper"] > table["lower"]).all()  # never of zero width
        widths.append((table["upper"] - table["lower"]).to_numpy())
    # 16 times the rows: intervals about 4 times narrower (at least 2.5 times for every row)
    assert (widths[0] / widths[1] > 2.5).all()


def test_perfect_predictions_still_get_an_interval():
    y = np.tile([0, 1], 100)
    result = inequality_metrics(y, y, sensitive_features=np.repeat(["a", "b"], 100), n_boot=200)
    theil = result.table.query("metric == 'theil_index'").iloc[0]
    assert theil["value"] == 0 and theil["lower"] == 0 and theil["upper"] > 0


def test_theil_interval_covers_the_population_value():
    # benefits drawn as 0 (false negative), 1 and 2 (false positive) with known probabilities
    probs = np.array([0.15, 0.7, 0.15])
    truth_theil = float(_index(probs, 1.0))
    truth_ge = float(_index(probs, 2.0))
    rng = np.random.default_rng(123)
    covered = np.zeros(2)
    n_sims = 150
    for _ in range(n_sims):
        benefit = rng.choice(3, 500, p=probs)
        y = np.where(benefit == 0, 1, np.where(benefit == 2, 0, rng.integers(0, 2, 500)))
        pred = benefit - 1 + y
        result = inequality_metrics(y, pred, n_boot=200, random_state=rng, ci=0.9)
        table = result.table.set_index("metric")
        for i, (name, truth) in enumerate(
            (("theil_index", truth_theil), ("generalized_entropy_index", truth_ge))
        ):
            covered[i] += table.loc[name, "lower"] <= truth <= table.loc[name, "upper"]
    assert (covered / n_sims >= 0.84).all(), covered / n_sims


def test_consistency_interval_covers_its_expectation():
    # features fixed, predictions a smooth rule flipped at random with probability 0.2: the
    # expected consistency (by Monte Carlo) must lie in the 90% interval about 90% of the time.
    # A bootstrap of the rows' terms alone covered 69%: neighbouring terms share predictions.
    rng = np.random.default_rng(9)
    X = rng.uniform(size=(400, 1))
    rule = X[:, 0] > 0.5

    def draw():
        return ((rng.random(400) < 0.2) ^ rule).astype(int)

    truth = np.mean([consistency(X, draw()) for _ in range(200)])
    n_sims = 50
    hits = 0
    for _ in range(n_sims):
        pred = draw()
        result = inequality_metrics(pred, pred, X=X, n_boot=200, random_state=rng, ci=0.9)
        row = result.table.set_index("metric").loc["consistency"]
        hits += row["lower"] <= truth <= row["upper"]
    assert 0.85 <= hits / n_sims <= 1.0, hits / n_sims


def test_consistency_influence_is_the_brute_force_jackknife():
    from raikit.metrics._inequality import _consistency_influence, _neighbour_graph

    rng = np.random.default_rng(1)
    n, k = 40, 4
    X = rng.normal(size=(n, 2))
    pred = (X[:, 0] + rng.normal(size=n) > 0).astype(int)
    left_out = np.array(
        [consistency(np.delete(X, j, axis=0), np.delete(pred, j), n_neighbors=k) for j in range(n)]
    )
    expected = (n - 1) * (left_out.mean() - left_out)
    got = _consistency_influence(*_neighbour_graph(X, k), pred.astype(float))
    np.testing.assert_allclose(got, expected, atol=1e-12)


# --------------------------------------------------------------------------- the result
def test_result_round_trips_and_draws_one_bar_figure():
    rng = np.random.default_rng(0)
    n = 600
    frame = pd.DataFrame({"sex": rng.choice(["F", "M"], n), "race": rng.choice(["A", "B"], n)})
    y, pred = rng.integers(0, 2, n), rng.integers(0, 2, n)
    result = inequality_metrics(
        y, pred, sensitive_features=frame, X=rng.normal(size=(n, 3)), n_boot=100, random_state=1
    )
    assert isinstance(result, InequalityResult)
    back = result_from_dict(result.to_dict())
    pd.testing.assert_frame_equal(back.table, result.table)
    assert back.summary == result.summary
    assert set(result.attributes) == {"sex", "race", "sex & race"}
    figures = result.figures()
    assert len(figures) == 1
    assert {trace.type for trace in figures[0].data} <= {"bar", "scatter"}
    assert len(figures[0].data[0].y) == len(result.table)
    assert "Theil index" in result.summary and "consistency (k=5)" in result.summary


def test_same_seed_same_intervals():
    rng = np.random.default_rng(2)
    y, pred = rng.integers(0, 2, 300), rng.integers(0, 2, 300)
    group = rng.choice(["a", "b"], 300)
    a = inequality_metrics(y, pred, sensitive_features=group, n_boot=100, random_state=7)
    b = inequality_metrics(y, pred, sensitive_features=group, n_boot=100, random_state=7)
    pd.testing.assert_frame_equal(a.table, b.table)


def test_privileged_with_several_attributes():
    rng = np.random.default_rng(6)
    n = 800
    frame = pd.DataFrame({"sex": rng.choice(["F", "M"], n), "race": rng.choice(["A", "B"], n)})
    y, pred = rng.integers(0, 2, n), rng.integers(0, 2, n)
    both = {"sex": "M", "race": "A"}
    value = average_odds_difference(y, pred, sensitive_features=frame, privileged=both)
    key = frame["sex"] + "|" + frame["race"]
    assert value == pytest.approx(
        average_odds_difference(y, pred, sensitive_features=key, privileged="M|A"), abs=TOL
    )
    result = inequality_metrics(y, pred, sensitive_features=frame, privileged="M", ci=None)
    sex_value = result.value("average_odds_difference", "sex")
    assert sex_value == pytest.approx(
        average_odds_difference(y, pred, sensitive_features=frame["sex"], privileged="M")
    )
    assert result.meta["privileged"] == {"sex": "M"}


# --------------------------------------------------------------------------- bad input
def test_bad_input_names_the_keyword():
    y, pred, group = [0, 1, 1, 0], [0, 1, 0, 0], ["a", "a", "b", "b"]
    with pytest.raises(DataError, match="binary labels"):
        theil_index([0, 1, 2, 0], [0, 1, 2, 1])
    with pytest.raises(ParameterError, match="order must be a finite number"):
        generalized_entropy_index(y, pred, order=float("nan"))
    with pytest.raises(ParameterError, match="order"):
        generalized_entropy_index(y, pred, order="2")
    with pytest.raises(ParameterError, match="order"):
        inequality_metrics(y, pred, order=True)
    with pytest.raises(DataError, match="y_true has 4 rows but y_pred has 3"):
        theil_index(y, pred[:3])
    with pytest.raises(DataError, match="sensitive"):
        between_group_theil_index(y, pred, sensitive_features=group[:3])
    with pytest.raises(DataError, match="sample_weight"):
        theil_index(y, pred, sample_weight=[1, 1, -1, 1])
    with pytest.raises(ParameterError, match="privileged 'c' is not one of the groups"):
        average_odds_difference(y, pred, sensitive_features=group, privileged="c")
    with pytest.raises(ParameterError, match="privileged must name a value of each"):
        average_odds_difference(
            y, pred, sensitive_features={"s": group, "t": ["x", "y"] * 2}, privileged="a"
        )
    with pytest.raises(
        ParameterError, match="privileged 'c' is not one of the groups of sensitive"
    ):
        inequality_metrics(y, pred, sensitive_features=group, privileged="c", ci=None)
    with pytest.raises(ParameterError, match="n_neighbors"):
        consistency([[0.0], [1.0]], [0, 1], n_neighbors=0)
    with pytest.raises(ParameterError, match="n_neighbors must be at most"):
        consistency([[0.0], [1.0]], [0, 1], n_neighbors=3)
    with pytest.raises(DataError, match="X has 3 rows but y_pred has 2"):
        consistency([[0.0], [1.0], [2.0]], [0, 1])
    with pytest.raises(DataError, match=r"non-numeric column\(s\) \['city'\]"):
        consistency(pd.DataFrame({"city": ["x", "y"], "age": [1, 2]}), [0, 1], n_neighbors=1)
    with pytest.raises(DataError, match="missing or infinite"):
        consistency([[0.0], [np.nan]], [0, 1], n_neighbors=1)
    with pytest.raises(ParameterError, match="ci"):
        inequality_metrics(y, pred, ci=1.5)
    with pytest.raises(ParameterError, match="n_boot"):
        inequality_metrics(y, pred, n_boot=1)


def test_hostile_group_names_stay_data():
    group = ["<script>alert(1)</script>"] * 2 + ["b & c=d"] * 2
    result = inequality_metrics(
        [0, 1, 1, 0], [0, 1, 0, 0], sensitive_features=group, privileged="b & c=d", ci=None
    )
    assert result.meta["privileged"] == {"sensitive": "b & c=d"}
    html = result.to_html()
    assert "<script>alert(1)</script>" not in html


def test_recorded_once_with_a_replayable_seed(tmp_path):
    import json

    import raikit
    from raikit.ledger import Ledger

    ledger = Ledger(tmp_path / "ledger")
    y, pred, group = [0, 1, 1, 0] * 10, [0, 1, 0, 0] * 10, list("aabb") * 10
    with raikit.track("inequality", ledger=ledger) as run:
        first = inequality_metrics(y, pred, sensitive_features=group, n_boot=50)
        theil_index(y, pred)  # a number, not evidence
    evidence = ledger.evidence(run=run.id)
    assert evidence["check_name"].tolist() == ["metrics.inequality_metrics"]
    params = json.loads(evidence["params"].iloc[0])
    assert isinstance(params["random_state"], int) and params["n_boot"] == 50
    again = inequality_metrics(
        y, pred, sensitive_features=group, n_boot=50, random_state=params["random_state"]
    )
    pd.testing.assert_frame_equal(again.table, first.table)
