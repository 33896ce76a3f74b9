"""``raikit.testing.assert_fair``: passes fair predictions, fails unfair ones with the numbers."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

from raikit import ParameterError, RaikitWarning
from raikit.metrics import group_metrics
from raikit.testing import assert_fair

GROUPS = np.repeat(["a", "b"], 200)
Y = np.tile([0, 1], 200)


def predictions(rate_a: float, rate_b: float) -> np.ndarray:
    """Predictions with exactly these selection rates in groups a and b (200 rows each)."""
    out = np.zeros(400, dtype=int)
    out[: round(rate_a * 200)] = 1
    out[200 : 200 + round(rate_b * 200)] = 1
    return out


def test_fair_predictions_pass():
    result = assert_fair(Y, predictions(0.5, 0.5), sensitive_features=GROUPS, random_state=0)
    assert result.passed
    assert result.table["value"].tolist() == [0.0]


def test_unfair_predictions_fail_with_value_interval_threshold_and_groups():
    y_pred = predictions(0.8, 0.3)  # a difference of exactly 0.5
    with pytest.raises(AssertionError) as error:
        assert_fair(Y, y_pred, sensitive_features=GROUPS, max=0.1, random_state=0)
    message = str(error.value)
    reference = group_metrics(
        Y, y_pred, sensitive_features=GROUPS, metrics=["selection_rate"], random_state=0
    ).difference(bounds=True)
    low, high = reference.loc[0, ["lower", "upper"]]
    assert f"= 0.500 [{low:.3f}, {high:.3f}] (95% CI)" in message
    assert "max 0.1" in message and "demographic_parity_difference on sensitive" in message
    assert "selection_rate by group: a=0.800, b=0.300" in message
    assert low > 0.1  # the whole interval is beyond: a fail under the default rule


def test_the_interval_rule_and_the_estimate_rule():
    # 0.13 vs 0.10 on 200 rows a group: beyond, but the interval reaches back over 0.1
    y_pred = predictions(0.5, 0.37)
    with pytest.warns(RaikitWarning, match=re.escape("possibly beyond max 0.1")):
        result = assert_fair(Y, y_pred, sensitive_features=GROUPS, random_state=0)
    assert result.table["verdict"].tolist() == ["warn"]
    assert result.table["value"].iloc[0] == pytest.approx(0.13)
    with pytest.raises(AssertionError, match=re.escape("= 0.130 [")):
        assert_fair(Y, y_pred, sensitive_features=GROUPS, when="estimate", random_state=0)


def test_a_ratio_criterion_defaults_to_four_fifths():
    # 0.5 / 0.3 -> ratio 0.6, wholly below 0.8
    with pytest.raises(AssertionError, match=re.escape("min 0.8")):
        assert_fair(
            Y,
            predictions(0.5, 0.3),
            sensitive_features=GROUPS,
            criterion="demographic_parity_ratio",
            random_state=0,
        )
    assert_fair(Y, predictions(0.5, 0.3), sensitive_features=GROUPS,
                criterion="demographic_parity_ratio", min=0.5, when="estimate")  # fmt: skip


def test_equalized_odds_reads_tpr_and_fpr():
    y_pred = Y.copy()
    y_pred[200:] = 1  # group b: TPR 1, FPR 1; group a: TPR 1, FPR 0
    with pytest.raises(
        AssertionError, match=re.escape("false_positive_rate by group: a=0.000, b=1.000")
    ):
        assert_fair(Y, y_pred, sensitive_features=GROUPS, criterion="equalized_odds_difference")


def test_too_few_rows_is_not_a_silent_pass():
    groups = np.array(["a"] * 390 + ["b"] * 10)
    y_pred = predictions(0.5, 0.5)
    with pytest.warns(RaikitWarning, match="fewer than two groups"):
        result = assert_fair(Y, y_pred, sensitive_features=groups, random_state=0)
    assert result.table["assessed"].tolist() == [False]
    with pytest.raises(AssertionError, match="not assessed"):
        assert_fair(Y, y_pred, sensitive_features=groups, on_not_assessed="fail")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_fair(Y, y_pred, sensitive_features=groups, on_not_assessed="pass")


def test_bad_arguments_are_parameter_errors():
    with pytest.raises(ParameterError, match="criterion 'parity' is unknown"):
        assert_fair(Y, Y, sensitive_features=GROUPS, criterion="parity")
    with pytest.raises(ParameterError, match="not both"):
        assert_fair(Y, Y, sensitive_features=GROUPS, max=0.1, min=0.8)
    with pytest.raises(ParameterError, match="when"):
        assert_fair(Y, Y, sensitive_features=GROUPS, when="sometimes")
