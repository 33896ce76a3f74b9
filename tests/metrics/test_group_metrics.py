"""group_metrics against scikit-learn and Fairlearn on real data, and its edge cases."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from raikit import RaikitError
from raikit.metrics import count_metric, group_metrics, group_metrics_of

TOL = 1e-9


def _sk(name, y, p, s):
    """scikit-learn's value of a metric on one group, NaN where it is undefined."""
    n = len(y)
    tp = int(((y == 1) & (p == 1)).sum())
    fp = int(((y == 0) & (p == 1)).sum())
    fn = int(((y == 1) & (p == 0)).sum())
    tn = n - tp - fp - fn
    nan = np.nan
    table = {
        "count": lambda: float(n),
        "selection_rate": lambda: p.mean(),
        "base_rate": lambda: y.mean(),
        "accuracy": lambda: skm.accuracy_score(y, p),
        "true_positive_rate": lambda: skm.recall_score(y, p, zero_division=nan),
        "false_positive_rate": lambda: fp / (fp + tn) if fp + tn else nan,
        "true_negative_rate": lambda: skm.recall_score(y, p, pos_label=0, zero_division=nan),
        "false_negative_rate": lambda: fn / (fn + tp) if fn + tp else nan,
        "precision": lambda: skm.precision_score(y, p, zero_division=nan),
        "negative_predictive_value": lambda: skm.precision_score(
            y, p, pos_label=0, zero_division=nan
        ),
        "f1": lambda: skm.f1_score(y, p, zero_division=nan),
        "false_discovery_rate": lambda: fp / (fp + tp) if fp + tp else nan,
        "false_omission_rate": lambda: fn / (fn + tn) if fn + tn else nan,
        "roc_auc": lambda: skm.roc_auc_score(y, s) if 0 < y.sum() < n else nan,
        "brier_score": lambda: skm.brier_score_loss(y, s, pos_label=1),
        "log_loss": lambda: skm.log_loss(y, s, labels=[0, 1]),
    }
    if name == "balanced_accuracy":
        with warnings.catch_warnings():  # sklearn warns when a group has one class only
            warnings.simplefilter("ignore")
            return skm.balanced_accuracy_score(y, p)
    return float(table[name]())


@pytest.mark.slow
def test_every_metric_matches_sklearn_on_adult(adult_scored):
    ds = adult_scored
    result = group_metrics_of(ds, ci=None)
    y = ds.y.to_numpy()
    p = ds.y_pred.to_numpy()
    s = ds.y_score.to_numpy()
    frame = ds.frame
    checked = 0
    for (attribute, group), row in result.by_group.iterrows():
        if attribute == "sex & race":
            sex, race = group.split(" & ")
            mask = ((frame["sex"] == sex) & (frame["race"] == race)).to_numpy()
        else:
            mask = (frame[attribute].astype(str) == group).to_numpy()
        for name in result.metric_names:
            if name == "expected_calibration_error":
                continue
            expected = _sk(name, y[mask], p[mask], s[mask])
            if np.isnan(expected):
                assert np.isnan(row[name]), (attribute, group, name)
            else:
                assert row[name] == pytest.approx(expected, abs=TOL), (attribute, group, name)
            checked += 1
    assert checked > 250
    for name in ("accuracy", "roc_auc", "brier_score", "log_loss"):
        assert result.overall[name] == pytest.approx(_sk(name, y, p, s), abs=TOL)


@pytest.mark.slow
def test_matches_fairlearn_metricframe_single_and_intersectional(adult_scored):
    from fairlearn.metrics import (
        MetricFrame,
        false_negative_rate,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )

    ds = adult_scored
    fl_metrics = {
        "selection_rate": selection_rate,
        "true_positive_rate": true_positive_rate,
        "false_positive_rate": false_positive_rate,
        "false_negative_rate": false_negative_rate,
        "accuracy": skm.accuracy_score,
    }
    ours = group_metrics_of(ds, metrics=list(fl_metrics), ci=None)
    for features, attribute in (
        (["sex"], "sex"),
        (["race"], "race"),
        (["sex", "race"], "sex & race"),
    ):
        frame = MetricFrame(
            metrics=fl_metrics, y_true=ds.y, y_pred=ds.y_pred, sensitive_features=ds.frame[features]
        )
        theirs = frame.by_group
        if len(features) == 1:
            labels = [str(i) for i in theirs.index]
        else:
            labels = [" & ".join(map(str, i)) for i in theirs.index]
        mine = ours.by_group.loc[attribute].loc[labels, list(fl_metrics)]
        np.testing.assert_allclose(mine.to_numpy(), theirs.to_numpy(dtype=float), atol=TOL)
        for method in ("between_groups", "to_overall"):
            np.testing.assert_allclose(
                ours.difference(method, attribute=attribute)[list(fl_metrics)].to_numpy(float),
                frame.difference(method=method).to_numpy(float),
                atol=TOL,
            )
            np.testing.assert_allclose(
                ours.ratio(method, attribute=attribute)[list(fl_metrics)].to_numpy(float),
                frame.ratio(method=method).to_numpy(float),
                atol=TOL,
            )
        np.testing.assert_allclose(
            ours.group_min(attribute=attribute)[list(fl_metrics)].to_numpy(float),
            frame.group_min().to_numpy(float),
            atol=TOL,
        )
        np.testing.assert_allclose(
            ours.group_max(attribute=attribute)[list(fl_metrics)].to_numpy(float),
            frame.group_max().to_numpy(float),
            atol=TOL,
        )


def test_hand_computed_example():
    # group a: y=[1,0,1], p=[1,0,0] -> tp=1 fn=1 tn=1 fp=0 ; group b: y=[1,0,0], p=[1,1,0]
    r = group_metrics([1, 0, 1, 1, 0, 0], [1, 0, 0, 1, 1, 0], sensitive_features=list("aaabbb"))
    a = r.by_group.loc[("sensitive", "a")]
    b = r.by_group.loc[("sensitive", "b")]
    assert a["true_positive_rate"] == 0.5 and b["true_positive_rate"] == 1.0
    assert a["false_positive_rate"] == 0.0 and b["false_positive_rate"] == 0.5
    assert a["precision"] == 1.0 and b["precision"] == 0.5
    assert a["f1"] == pytest.approx(2 / 3) and b["f1"] == pytest.approx(2 / 3)
    assert r.difference()["selection_rate"].iloc[0] == pytest.approx(1 / 3)
    assert r.ratio()["selection_rate"].iloc[0] == pytest.approx(0.5)


def test_expected_calibration_error_by_hand():
    # 10 equal-width bins: scores .05 (bin 0) and .95 (bin 9).
    y = [0, 0, 1, 1, 1, 0]
    s = [0.05, 0.05, 0.05, 0.95, 0.95, 0.95]
    r = group_metrics(
        y,
        [0, 0, 0, 1, 1, 1],
        sensitive_features=["g"] * 6,
        score=s,
        metrics=["expected_calibration_error"],
    )
    # bin 0: mean y 1/3 vs mean s .05 ; bin 9: mean y 2/3 vs .95 -> weights 1/2 each
    expected = 0.5 * abs(1 / 3 - 0.05) + 0.5 * abs(2 / 3 - 0.95)
    assert r.overall["expected_calibration_error"] == pytest.approx(expected, abs=1e-12)


def test_zero_denominator_is_nan_with_a_finding():
    r = group_metrics([0, 0, 1, 1], [0, 0, 1, 0], sensitive_features=["a", "a", "b", "b"])
    assert np.isnan(r.by_group.loc[("sensitive", "a"), "true_positive_rate"])
    assert np.isnan(r.by_group.loc[("sensitive", "a"), "precision"])
    titles = [f.title for f in r.findings]
    assert "Undefined metrics for sensitive=a" in titles


def test_empty_declared_category_is_nan_with_a_finding():
    sensitive = pd.Categorical(["a", "a", "b", "b"], categories=["a", "b", "c"])
    r = group_metrics([0, 1, 1, 0], [0, 1, 1, 1], sensitive_features=pd.Series(sensitive, name="s"))
    assert r.by_group.loc[("s", "c"), "count"] == 0
    assert np.isnan(r.by_group.loc[("s", "c"), "accuracy"])
    assert any(f.title == "Empty group s=c" for f in r.findings)


def test_four_fifths_rule_finding():
    y = np.array([1, 0] * 50)
    p = np.r_[np.ones(50), np.r_[np.ones(10), np.zeros(40)]].astype(int)
    s = ["m"] * 50 + ["f"] * 50
    r = group_metrics(y, p, sensitive_features=pd.Series(s, name="sex"))
    assert r.ratio()["selection_rate"].iloc[0] == pytest.approx(0.2)
    errors = [f for f in r.findings if f.severity == "error"]
    assert len(errors) == 1 and errors[0].slice == "sex=f"


def test_string_labels_with_pos_label():
    y = np.array(["yes", "no", "yes", "no"])
    p = np.array(["yes", "yes", "no", "no"])
    r = group_metrics(y, p, sensitive_features=["a", "a", "b", "b"], pos_label="yes")
    assert r.meta["pos_label"] == "yes"
    assert r.by_group.loc[("sensitive", "a"), "true_positive_rate"] == 1.0
    assert r.by_group.loc[("sensitive", "b"), "true_positive_rate"] == 0.0


def test_regression_matches_sklearn():
    rng = np.random.default_rng(3)
    y = rng.normal(size=500)
    p = y + rng.normal(scale=0.5, size=500)
    g = rng.choice(["a", "b", "c"], size=500)
    r = group_metrics(y, p, sensitive_features=g, ci=0.9, n_boot=200, random_state=0)
    assert r.task == "regression"
    for label in "abc":
        m = g == label
        row = r.by_group.loc[("sensitive", label)]
        assert row["mean_absolute_error"] == pytest.approx(
            skm.mean_absolute_error(y[m], p[m]), abs=TOL
        )
        assert row["mean_squared_error"] == pytest.approx(
            skm.mean_squared_error(y[m], p[m]), abs=TOL
        )
        assert row["r2"] == pytest.approx(skm.r2_score(y[m], p[m]), abs=TOL)
        assert r.by_group_lower.loc[("sensitive", label), "r2"] < row["r2"]
        assert r.by_group_upper.loc[("sensitive", label), "r2"] > row["r2"]
    assert r.overall["r2"] == pytest.approx(skm.r2_score(y, p), abs=TOL)


def test_multiclass_one_vs_rest_and_macro_match_sklearn():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 3, 600)
    p = np.where(rng.random(600) < 0.7, y, rng.integers(0, 3, 600))
    g = rng.choice(["a", "b"], size=600)
    r = group_metrics(y, p, sensitive_features=g, metrics=["accuracy", "recall", "precision"])
    assert r.task == "multiclass"
    for label in "ab":
        m = g == label
        row = r.by_group.loc[("sensitive", label)]
        assert row["accuracy"] == pytest.approx(skm.accuracy_score(y[m], p[m]), abs=TOL)
        recalls = skm.recall_score(y[m], p[m], average=None)
        for k in range(3):
            assert row[f"true_positive_rate[{k}]"] == pytest.approx(recalls[k], abs=TOL)
        assert row["true_positive_rate_macro"] == pytest.approx(
            skm.recall_score(y[m], p[m], average="macro"), abs=TOL
        )
        assert row["precision_macro"] == pytest.approx(
            skm.precision_score(y[m], p[m], average="macro"), abs=TOL
        )


def test_custom_metrics_fast_and_slow_paths_agree():
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 300)
    p = rng.integers(0, 2, 300)
    g = rng.choice(["a", "b", "c"], size=300)

    @count_metric(name="tp_count")
    def tp_count(tn, fp, fn, tp):
        return tp

    def slow_tp(y_true, y_pred):
        return float(((y_true == 1) & (y_pred == 1)).sum())

    r = group_metrics(
        y, p, sensitive_features=g, metrics=[tp_count, slow_tp], ci=0.9, n_boot=50, random_state=0
    )
    np.testing.assert_array_equal(r.by_group["tp_count"], r.by_group["slow_tp"])
    assert (r.by_group_lower["slow_tp"] <= r.by_group["slow_tp"]).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"y_true": [0, 1, 1], "y_pred": [0, 1], "sensitive_features": ["a", "b", "a"]},
            "y_pred has 2",
        ),
        (
            {"y_true": [0, 1], "y_pred": [0, 1], "sensitive_features": ["a", "b", "c"]},
            "sensitive_features has 3",
        ),
        ({"y_true": [0, 1], "y_pred": [0, 1], "sensitive_features": ["a", None]}, "missing value"),
        (
            {"y_true": [0, np.nan], "y_pred": [0, 1], "sensitive_features": ["a", "b"]},
            "y_true has 1 missing",
        ),
        ({"y_true": [], "y_pred": [], "sensitive_features": []}, "empty"),
        (
            {
                "y_true": [0, 1],
                "y_pred": [0, 1],
                "sensitive_features": ["a", "b"],
                "metrics": ["nope"],
            },
            "metrics: unknown metric",
        ),
        (
            {
                "y_true": [0, 1],
                "y_pred": [0, 1],
                "sensitive_features": ["a", "b"],
                "metrics": ["auc"],
            },
            "needs scores",
        ),
        (
            {"y_true": [0, 1], "y_pred": [0, 1], "sensitive_features": ["a", "b"], "ci": 95},
            "ci must be a number in",
        ),
        (
            {
                "y_true": [0, 1],
                "y_pred": [0, 1],
                "sensitive_features": ["a", "b"],
                "score": [0.2, 1.7],
                "metrics": ["brier"],
            },
            "probabilities",
        ),
        (
            {
                "y_true": [0, 1, 2],
                "y_pred": [0, 1, 2],
                "sensitive_features": ["a", "b", "a"],
                "task": "binary",
            },
            "3 values",
        ),
    ],
)
def test_bad_input_gives_a_clear_error(kwargs, message):
    y_true = kwargs.pop("y_true")
    with pytest.raises(RaikitError, match=message):
        group_metrics(y_true, **kwargs)


def test_missing_group_keeps_missing_values_as_a_group():
    r = group_metrics(
        [0, 1, 1, 0],
        [0, 1, 0, 0],
        sensitive_features=pd.Series(["a", None, "a", None], name="s"),
        missing_group="(missing)",
    )
    assert r.by_group.loc[("s", "(missing)"), "count"] == 2


def test_result_json_round_trip_is_lossless(adult_scored):
    from raikit import Result

    r = group_metrics_of(adult_scored, ci=0.9, n_boot=50, random_state=1)
    back = Result.from_json(r.to_json())
    pd.testing.assert_frame_equal(back.table, r.table, check_exact=True)
    pd.testing.assert_frame_equal(back.disparities, r.disparities, check_exact=True)
    assert back.findings == r.findings
    assert back.meta == r.meta and back.ci == r.ci and back.task == r.task
    pd.testing.assert_frame_equal(back.by_group, r.by_group, check_exact=True)


def test_auc_from_a_decision_function_outside_0_1():
    rng = np.random.default_rng(8)
    y = rng.integers(0, 2, 400)
    decision = 3.0 * y + rng.normal(scale=2.0, size=400) - 1.5  # negative and above 1
    g = rng.choice(["a", "b"], 400)
    r = group_metrics(
        y,
        (decision > 0).astype(int),
        sensitive_features=g,
        score=decision,
        metrics=["roc_auc"],
        ci=0.9,
        n_boot=100,
        random_state=0,
    )
    for label in "ab":
        m = g == label
        assert r.by_group.loc[("sensitive", label), "roc_auc"] == pytest.approx(
            skm.roc_auc_score(y[m], decision[m]), abs=TOL
        )
