"""Verdicts follow the interval: fail only when the whole interval is beyond the tolerance, warn
when it straddles it, pass only when it is within, and "not assessable" (never pass) when fewer
than two groups have ``min_group_size`` rows. The four-fifths rule follows the same rule."""

from __future__ import annotations

import numpy as np
import pytest

from raikit.metrics import MIN_GROUP_SIZE, DemographicParity, group_metrics


def _rates(sizes, rates, seed=0):
    """Binary predictions with exactly ``round(rate * n)`` positives per group."""
    rng = np.random.default_rng(seed)
    group, pred = [], []
    for i, (n, rate) in enumerate(zip(sizes, rates, strict=True)):  # a handful of groups
        k = round(rate * n)
        pred.append(rng.permutation(np.r_[np.ones(k, int), np.zeros(n - k, int)]))
        group += [f"g{i}"] * n
    pred = np.concatenate(pred)
    y = rng.integers(0, 2, len(pred))
    return y, pred, np.array(group)


def _dp(sizes, rates, tolerance=0.1, **kwargs):
    y, p, g = _rates(sizes, rates)
    r = group_metrics(y, p, sensitive_features=g, ci=0.95, n_boot=1000, random_state=0, **kwargs)
    return r, DemographicParity().evaluate(r, tolerance=tolerance).iloc[0]


def test_the_policy_is_one_named_constant():
    assert MIN_GROUP_SIZE == 30
    r, row = _dp([100, 100], [0.5, 0.5])
    assert r.min_group_size == MIN_GROUP_SIZE and row["min_group_size"] == MIN_GROUP_SIZE


def test_fail_only_when_the_whole_interval_is_beyond_the_tolerance():
    _, row = _dp([2000, 2000], [0.2, 0.5])
    assert row["lower"] > 0.1 and row["verdict"] == "fail"


def test_warn_when_the_interval_straddles_the_tolerance():
    _, row = _dp([60, 60], [0.3, 0.45])  # estimate 0.15 above 0.1, interval reaches below
    assert row["lower"] <= 0.1 < row["upper"]
    assert row["violated"] and row["verdict"] == "warn"
    _, row = _dp([60, 60], [0.3, 0.35])  # estimate 0.05 within, interval reaches above
    assert not row["violated"] and row["verdict"] == "warn"


def test_pass_only_when_the_whole_interval_is_within():
    _, row = _dp([5000, 5000], [0.3, 0.31])
    assert row["upper"] <= 0.1 and row["verdict"] == "pass"


def test_everyone_in_one_group_is_not_assessable_never_pass():
    """Today: 'bias: pass — within 0.1 for every attribute' with a single group."""
    y, p, _ = _rates([400], [0.3])
    r = group_metrics(y, p, sensitive_features=["only"] * 400, ci=0.95, n_boot=300, random_state=0)
    fair = r.fairness(tolerance=0.1)
    assert len(fair) and (fair["verdict"] == "not assessable").all()
    assert (fair["groups_assessable"] == 1).all()


def test_one_big_group_and_tiny_ones_is_not_assessable():
    _, row = _dp([500, 3, 1], [0.3, 1.0, 1.0])
    assert row["groups_assessable"] == 1 and row["verdict"] == "not assessable"


def test_min_group_size_is_a_parameter():
    r, row = _dp([40, 40], [0.3, 0.3], min_group_size=50)
    assert row["verdict"] == "not assessable" and r.min_group_size == 50
    small = [f for f in r.findings if f.title.startswith("Small group")]
    assert len(small) == 2 and "min_group_size=50" in small[0].detail
    row = DemographicParity().evaluate(r, min_group_size=10).iloc[0]
    assert row["verdict"] != "not assessable"


def test_four_fifths_rule_warns_when_its_interval_contains_0_8():
    """Today: an error for 'ratio 0.771 (95% CI 0.582 to 0.843) < 0.8'."""
    r, _ = _dp([150, 150], [0.38, 0.5])
    ratio = r.ratio(bounds=True).set_index("metric").loc["selection_rate"]
    assert ratio["value"] < 0.8 < ratio["upper"]
    rule = [f for f in r.findings if "Four-fifths" in f.title]
    assert len(rule) == 1 and rule[0].severity == "warning"
    assert "possibly violated" in rule[0].title


def test_four_fifths_rule_errors_when_the_whole_interval_is_below_0_8():
    r, _ = _dp([3000, 3000], [0.3, 0.5])
    rule = [f for f in r.findings if "Four-fifths" in f.title]
    assert len(rule) == 1 and rule[0].severity == "error"


def test_four_fifths_rule_with_a_one_row_group_is_not_an_error():
    """Today: a 1-row group gets 1.0 [1.0, 1.0] and a four-fifths error."""
    r, _ = _dp([200, 1], [0.3, 1.0])
    rule = [f for f in r.findings if "Four-fifths" in f.title]
    assert len(rule) == 1 and rule[0].severity == "info" and "not assessable" in rule[0].title
    assert not any(f.severity == "error" for f in r.findings)


@pytest.mark.parametrize("ci", [None, 0.95])
def test_without_intervals_the_estimate_decides(ci):
    y, p, g = _rates([300, 300], [0.2, 0.5])
    r = group_metrics(y, p, sensitive_features=g, ci=ci, n_boot=300, random_state=0)
    assert DemographicParity().evaluate(r).iloc[0]["verdict"] == "fail"
