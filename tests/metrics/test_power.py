"""Power analysis of fairness criteria: rows per group against the textbook formula and a
simulation of the tests, the detectable difference as its inverse, the criteria table's column,
and the audit's sentence beside a pass."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from raikit import ParameterError
from raikit.metrics import (
    DemographicParity,
    FairnessCriterion,
    TreatmentEquality,
    detectable_difference,
    group_metrics,
    required_group_size,
)


def textbook_rows(p1, p2, *, alpha=0.05, power=0.8, ratio=1.0, pairs=1):
    """Fleiss' unpooled normal-approximation sample size of the two-sided two-proportion test
    (the far tail ignored): n1 = (z_{1-a/2} + z_{power})^2 (p1 q1 + p2 q2 / r) / (p1 - p2)^2."""
    z = norm.ppf(1 - alpha / pairs / 2) + norm.ppf(power)
    variance = max(p1 * (1 - p1) + p2 * (1 - p2) / ratio, p2 * (1 - p2) + p1 * (1 - p1) / ratio)
    return z * z * variance / (p1 - p2) ** 2


def exact_power(n1, n2, p1, p2, *, alpha=0.05):
    """Power of the two-sided Wald test, both tails."""
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    z = norm.ppf(1 - alpha / 2)
    t = abs(p2 - p1) / se
    return norm.cdf(t - z) + norm.cdf(-t - z)


@pytest.mark.parametrize(
    ("difference", "rate", "alpha", "power"),
    [(0.1, 0.5, 0.05, 0.8), (0.05, 0.3, 0.05, 0.9), (0.2, 0.8, 0.01, 0.8), (0.03, 0.1, 0.1, 0.7)],
)
def test_rows_equal_the_textbook_formula(difference, rate, alpha, power):
    p1, p2 = rate - difference / 2, rate + difference / 2
    expected = math.ceil(textbook_rows(p1, p2, alpha=alpha, power=power))
    got = required_group_size(
        "demographic_parity", difference=difference, rate=rate, alpha=alpha, power=power
    )
    # the far tail (included here, ignored by the textbook) is below 1e-4 of the power
    assert got in (expected - 1, expected)
    # and the answer is the smallest n with the power: n reaches it, n - 1 does not
    assert exact_power(got, got, p1, p2, alpha=alpha) >= power
    assert exact_power(got - 1, got - 1, p1, p2, alpha=alpha) < power


def test_hand_computed_value():
    # d = 0.1 around 0.5: (1.959964 + 0.841621)^2 * (0.45*0.55 + 0.55*0.45) / 0.01 = 388.45
    assert required_group_size("demographic_parity", difference=0.1) == 389
    # the default rate is the worst case: any other needs fewer rows
    assert required_group_size("demographic_parity", difference=0.1, rate=0.2) < 389


def test_denominator_follows_the_criterion():
    rows = textbook_rows(0.25, 0.35)
    assert required_group_size("demographic_parity", difference=0.1, rate=0.3) == math.ceil(rows)
    assert required_group_size("accuracy_parity", difference=0.1, rate=0.3) == math.ceil(rows)
    eo = required_group_size("equal_opportunity", difference=0.1, rate=0.3, base_rate=0.2)
    assert eo == math.ceil(rows / 0.2)  # the true positive rate counts the positives only
    odds = required_group_size("equalized_odds", difference=0.1, rate=0.3, base_rate=0.7)
    assert odds == math.ceil(rows / 0.3)  # the false positive rate's negatives are scarcer
    pp = required_group_size("predictive_parity", difference=0.1, rate=0.3, selection_rate=0.4)
    assert pp == math.ceil(rows / 0.4)  # precision counts the predicted positives
    assert required_group_size(DemographicParity(), difference=0.1, rate=0.3) == math.ceil(rows)


def test_allocation_ratio_and_bonferroni():
    p1, p2 = 0.2, 0.3
    got = required_group_size("demographic_parity", difference=0.1, rate=0.25, ratio=3.0)
    assert got == math.ceil(textbook_rows(p1, p2, ratio=3.0))
    # the larger variance goes to the smaller group: swapping the groups never needs fewer rows
    assert got >= math.ceil(textbook_rows(p2, p1, ratio=3.0) - 1e-9)
    # four groups: alpha is split over their six pairs, as the engine's intervals are
    four = required_group_size("demographic_parity", difference=0.1, rate=0.25, groups=4)
    assert four == math.ceil(textbook_rows(p1, p2, pairs=6))
    assert four == required_group_size(
        "demographic_parity", difference=0.1, rate=0.25, alpha=0.05 / 6
    )


def test_simulated_power_of_the_wald_test_and_of_the_engines_interval():
    """At the planned n, two groups with a true gap of 0.1 are found different ~80 % of the
    time, by the Wald test and by the engine's interval (Bayesian bootstrap of the selection
    rates, Beta(k + 1, n - k + 1), percentile interval of the difference excluding 0)."""
    n = required_group_size("demographic_parity", difference=0.1, rate=0.3)
    rng = np.random.default_rng(0)
    sims, draws = 2000, 400
    k1, k2 = rng.binomial(n, 0.25, sims), rng.binomial(n, 0.35, sims)
    p1, p2 = k1 / n, k2 / n
    se = np.sqrt(p1 * (1 - p1) / n + p2 * (1 - p2) / n)
    wald = np.mean(np.abs(p2 - p1) / se > norm.ppf(0.975))
    assert wald == pytest.approx(0.8, abs=0.035)  # 0.8 +- 4 binomial standard errors
    r1 = rng.beta(k1[:, None] + 1, n - k1[:, None] + 1, (sims, draws))
    r2 = rng.beta(k2[:, None] + 1, n - k2[:, None] + 1, (sims, draws))
    lower, upper = np.quantile(r2 - r1, [0.025, 0.975], axis=1)
    engine = np.mean((lower > 0) | (upper < 0))
    assert engine == pytest.approx(0.8, abs=0.04)
    # half the rows: clearly underpowered (the formula's power there is 0.51)
    h = n // 2
    q1, q2 = rng.binomial(h, 0.25, sims) / h, rng.binomial(h, 0.35, sims) / h
    se = np.sqrt(q1 * (1 - q1) / h + q2 * (1 - q2) / h)
    assert np.mean(np.abs(q2 - q1) / se > norm.ppf(0.975)) == pytest.approx(
        exact_power(h, h, 0.25, 0.35), abs=0.04
    )


def test_simulated_power_of_equal_opportunity_counts_the_positives():
    n = required_group_size("equal_opportunity", difference=0.1, rate=0.7, base_rate=0.25)
    rng = np.random.default_rng(1)
    sims = 4000
    positives = rng.binomial(n, 0.25, (2, sims))
    tp = rng.binomial(positives, np.array([[0.65], [0.75]]))
    tpr = tp / positives
    se = np.sqrt((tpr * (1 - tpr) / positives).sum(axis=0))
    found = np.mean(np.abs(tpr[1] - tpr[0]) / se > norm.ppf(0.975))
    assert found == pytest.approx(0.8, abs=0.035)


def test_simulated_power_with_three_groups_splits_alpha():
    n = required_group_size("demographic_parity", difference=0.1, rate=0.5, groups=3)
    rng = np.random.default_rng(2)
    sims = 4000
    p = rng.binomial(n, np.array([[0.45], [0.55]]), (2, sims)) / n
    se = np.sqrt((p * (1 - p) / n).sum(axis=0))
    found = np.mean(np.abs(p[1] - p[0]) / se > norm.ppf(1 - 0.05 / 3 / 2))
    assert found == pytest.approx(0.8, abs=0.035)


@pytest.mark.parametrize("rows", [40, 389, 1000, 25_000])
@pytest.mark.parametrize(
    ("criterion", "extra"),
    [
        ("demographic_parity", {}),
        ("equal_opportunity", {"base_rate": 0.3, "rate": 0.8}),
        ("equalized_odds", {"base_rate": 0.6}),
        ("predictive_parity", {"selection_rate": 0.2, "ratio": 2.5, "groups": 3}),
    ],
)
def test_detectable_difference_inverts_the_rows_needed(rows, criterion, extra):
    gap = detectable_difference(criterion, group_size=rows, **extra)
    back = required_group_size(criterion, difference=gap, **extra)
    assert back == rows or abs(back - rows) <= 1  # up to the rounding up to whole rows
    # a gap 1 % smaller needs more rows than there are
    assert required_group_size(criterion, difference=gap * 0.99, **extra) > rows


def test_detectable_difference_shrinks_with_rows_as_one_over_root_n():
    small = detectable_difference("accuracy_parity", group_size=1_000, rate=0.9)
    large = detectable_difference("accuracy_parity", group_size=100_000, rate=0.9)
    assert large < small
    assert small / large == pytest.approx(10, rel=0.05)  # ten times the root of the rows


def _two_groups(rates, sizes, seed=0):
    """Labels and predictions with exact selection rates per group."""
    y_pred, groups = [], []
    for g, (rate, n) in enumerate(zip(rates, sizes, strict=True)):
        k = round(rate * n)
        y_pred += [1] * k + [0] * (n - k)
        groups += [f"g{g}"] * n
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 2, len(y_pred))
    return y_true, np.array(y_pred), np.array(groups)


def test_criteria_table_reports_the_worst_pair():
    sizes, rates = [100, 400, 900], [0.3, 0.4, 0.5]
    y_true, y_pred, groups = _two_groups(rates, sizes)
    result = group_metrics(
        y_true, y_pred, sensitive_features=groups, metrics=["selection_rate"], ci=0.9, n_boot=50
    )
    got = DemographicParity().evaluate(result)["detectable_difference"].iloc[0]
    expected = []
    for i, j in [(0, 1), (0, 2), (1, 2)]:
        centre = (rates[i] * sizes[i] + rates[j] * sizes[j] + 0.5) / (sizes[i] + sizes[j] + 1)
        expected.append(
            detectable_difference(
                "demographic_parity",
                group_size=sizes[i],
                ratio=sizes[j] / sizes[i],
                rate=centre,
                alpha=0.1,  # 1 - ci
                groups=3,
            )
        )
    assert got == pytest.approx(max(expected), rel=1e-9)
    assert max(expected) == expected[0]  # the two smallest groups see least


def test_criteria_table_counts_positives_for_equal_opportunity():
    # group a: 300 rows, 90 positives with TPR 0.6; group b: 500 rows, 250 positives with TPR 0.7
    def block(n, positives, tp):
        y_true = [1] * positives + [0] * (n - positives)
        y_pred = [1] * tp + [0] * (positives - tp) + [0] * (n - positives)
        return y_true, y_pred

    ta, pa = block(300, 90, 54)
    tb, pb = block(500, 250, 175)
    groups = ["a"] * 300 + ["b"] * 500
    result = group_metrics(ta + tb, pa + pb, sensitive_features=groups, n_boot=50, random_state=0)
    table = result.fairness()
    eo = table[table["criterion"] == "equal_opportunity"].iloc[0]
    centre = (54 + 175 + 0.5) / (90 + 250 + 1)
    expected = detectable_difference(
        "equal_opportunity", group_size=300, base_rate=0.3, ratio=250 / 90, rate=centre
    )
    assert eo["detectable_difference"] == pytest.approx(expected, rel=1e-9)
    # not a proportion: no detectable difference
    f1 = FairnessCriterion("f1_parity", ("f1",)).evaluate(result)
    assert np.isnan(f1["detectable_difference"].iloc[0])


def test_estimate_only_pass_needs_the_power_to_see_the_tolerance():
    # equal selection rates; without intervals the estimate (0) is within 0.1 in both cases
    y_true, y_pred, groups = _two_groups([0.5, 0.5], [60, 60])
    small = group_metrics(
        y_true, y_pred, sensitive_features=groups, metrics=["selection_rate"], ci=None
    )
    row = DemographicParity().evaluate(small).iloc[0]
    assert row["difference"] == 0 and row["detectable_difference"] > 0.1
    assert row["verdict"] == "not assessable"  # 60 rows could not have told 0.1 from 0
    y_true, y_pred, groups = _two_groups([0.5, 0.5], [2000, 2000])
    large = group_metrics(
        y_true, y_pred, sensitive_features=groups, metrics=["selection_rate"], ci=None
    )
    row = DemographicParity().evaluate(large).iloc[0]
    assert row["detectable_difference"] < 0.1 and row["verdict"] == "pass"


@pytest.mark.parametrize(
    ("call", "keyword"),
    [
        (lambda: required_group_size("demographic_parity", difference=0.0), "difference"),
        (lambda: required_group_size("demographic_parity", difference=1.5), "difference"),
        (lambda: required_group_size("demographic_parity", difference=0.1, power=1.0), "power"),
        (lambda: required_group_size("demographic_parity", difference=0.1, alpha=0), "alpha"),
        (lambda: required_group_size("demographic_parity", difference=0.1, power=0.01), "power"),
        (lambda: required_group_size("demographic_parity", difference=0.1, groups=1), "groups"),
        (lambda: required_group_size("demographic_parity", difference=0.1, ratio=0), "ratio"),
        (lambda: required_group_size("equal_opportunity", difference=0.1), "base_rate"),
        (lambda: required_group_size("predictive_parity", difference=0.1), "selection_rate"),
        (lambda: required_group_size("treatment_equality", difference=0.1), "criterion"),
        (lambda: required_group_size(TreatmentEquality(), difference=0.1), "criterion"),
        (lambda: detectable_difference("demographic_parity", group_size=0), "group_size"),
        (lambda: detectable_difference("demographic_parity", group_size=10, rate=1.0), "rate"),
    ],
)
def test_bad_values_are_parameter_errors_naming_the_keyword(call, keyword):
    with pytest.raises(ParameterError, match=keyword) as error:
        call()
    assert "required_group_size()" in str(error.value) or "detectable_difference()" in str(
        error.value
    )


def test_audit_reads_a_pass_at_its_resolution():
    from sklearn.linear_model import LogisticRegression

    from raikit import Dataset
    from raikit.audit import audit

    rng = np.random.default_rng(0)
    n = 6000
    x = rng.normal(size=n)
    frame = pd.DataFrame(
        {"x": x, "sex": rng.choice(["F", "M"], n), "y": (x + rng.normal(size=n) > 0).astype(int)}
    )
    train, test = Dataset(frame, target="y", sensitive=["sex"], features=["x"]).split(
        0.5, random_state=0
    )
    model = LogisticRegression().fit(train.X, train.y)
    report = audit(model, train=train, test=test, sections=["bias"], n_boot=200, random_state=0)
    bias = report.scorecard.set_index("principle").loc["bias"]
    assert bias["status"] == "pass"
    fairness = report.results["metrics.group_metrics"].fairness(tolerance=0.1)
    main = fairness[fairness["criterion"].isin(["demographic_parity", "equalized_odds"])]
    mdd = main["detectable_difference"].max()
    assert 0.02 < mdd < 0.1
    sentence = f"this audit could only have detected a difference of {mdd:.3f} or larger"
    assert sentence in bias["reason"]
    assert sentence in report.to_html()
    from raikit.audit._render import headline

    assert "could only have detected" in headline(report, "bias")[0]  # the summary's number
    assert not [f for f in report.findings if "Underpowered" in f.title]
    # a tolerance below what 3,000 rows can see: the same audit warns that it is underpowered
    strict = audit(
        model, train=train, test=test, sections=["bias"], n_boot=200, random_state=0,
        tolerance=0.03,
    )  # fmt: skip
    under = [f for f in strict.findings if "Underpowered" in f.title]
    assert {f.title.split(": ")[1].split(" on ")[0] for f in under} == {
        "demographic_parity",
        "equalized_odds",
    }
    assert "Underpowered" in strict.to_html()


def test_a_failing_criterion_is_not_also_called_underpowered():
    """40 rows of group b select 0.9 against a's 0.2: the gap fails over its whole interval, so
    the audit does not add that it could only have detected a gap of ~0.3 (it detected 0.7)."""
    import pandas as pd
    from sklearn.dummy import DummyClassifier

    from raikit import Dataset
    from raikit.audit import audit

    rng = np.random.default_rng(3)
    g = np.r_[np.full(2000, "a"), np.full(40, "b")]
    y = (rng.random(len(g)) < np.where(g == "a", 0.2, 0.9)).astype(int)
    frame = pd.DataFrame({"x": y + rng.normal(0, 0.01, len(g)), "g": g, "y": y})
    ds = Dataset(frame, target="y", sensitive="g", features=["x"])
    model = DummyClassifier().fit(ds.X, ds.y)
    model.predict = lambda X: (X["x"].to_numpy() > 0.5).astype(int)  # selects exactly y == 1
    report = audit(model, train=ds, test=ds, sections=["bias"], n_boot=200, random_state=0)
    fairness = report.results["metrics.group_metrics"].fairness(tolerance=0.1)
    dp = fairness.set_index("criterion").loc["demographic_parity"]
    assert dp["verdict"] == "fail" and dp["detectable_difference"] > 0.1
    under = [f.title for f in report.findings if "Underpowered" in f.title]
    assert not [t for t in under if "demographic_parity" in t]
