"""The audit on real data: scorecard marks follow the evidence, the report is complete and offline."""

from __future__ import annotations

import pytest
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression

from raikit import DataError, Result
from raikit.audit import audit
from raikit.datasets import load_german_credit
from raikit.ledger import Ledger

FEATURES = ["duration_months", "credit_amount", "age", "installment_rate"]


@pytest.fixture(scope="module")
def credit_split():
    ds = load_german_credit()
    ds = ds.replace(features=FEATURES)
    return ds.split(0.3, random_state=0)


def test_scorecard_follows_the_evidence(credit_split, tmp_path):
    train, test = credit_split
    model = LogisticRegression(max_iter=1000).fit(train.X, train.y)
    ledger = Ledger(tmp_path)
    report = audit(model, train=train, test=test, ledger=ledger, n_boot=200, name="logit")
    card = report.scorecard.set_index("principle")
    assert list(card.index) == [
        "bias",
        "practical_accuracy",
        "explainability",
        "privacy",
        "robustness",
        "reproducibility",
        "documentation",
    ]
    # The bias mark agrees with the fairness table it cites.
    fairness = report.results["metrics.group_metrics"].fairness(tolerance=0.1)
    main = fairness[fairness["criterion"].isin(["demographic_parity", "equalized_odds"])]
    expected = (
        "fail" if (main["lower"] > 0.1).any() else "warn" if main["violated"].any() else "pass"
    )
    # ... or worse, when other bias sections (proxies, representation) raise findings.
    rank = {"pass": 0, "warn": 1, "fail": 2}
    assert rank[card.loc["bias", "status"]] >= rank[expected]
    if expected == "fail":
        assert card.loc["bias", "status"] == "fail"
    assert card.loc["documentation", "status"] == "warn"  # no problem definition was given
    assert card.loc["privacy", "status"] in ("pass", "warn")  # a regularised model barely leaks
    # Every result is in the ledger once, plus the report itself.
    checks = sorted(ledger.evidence(run=report.meta["run_id"])["check_name"])
    assert checks == sorted(["audit.report", *report.results])
    assert set(report.results) == {
        "metrics.group_metrics",
        "metrics.group_metrics.train",
        "evaluate.evaluate",
        "evaluate.find_slices",
        "evaluate.stress_test",
        "data.profile",
        "data.representation",
        "data.drift",
        "privacy.membership_inference",
        "explain.explain",
    }
    assert card.loc["robustness", "status"] != "not assessed"
    back = Result.from_json(report.to_json())
    assert back.scorecard.equals(report.scorecard)


def test_a_useless_model_fails_practical_accuracy(credit_split):
    train, test = credit_split
    # Always predicting the minority class is worse than the majority-class baseline.
    model = DummyClassifier(strategy="constant", constant=0).fit(train.X, train.y)
    report = audit(model, train=train, test=test, n_boot=200, sections=["bias", "accuracy"])
    card = report.scorecard.set_index("principle")
    assert card.loc["practical_accuracy", "status"] == "fail"
    assert card.loc["reproducibility", "status"] == "warn"  # no ledger


def test_report_html_has_navigation_every_check_and_inline_plotly(credit_split, tmp_path):
    train, test = credit_split
    model = LogisticRegression(max_iter=1000).fit(train.X, train.y)
    report = audit(model, train=train, test=test, n_boot=100)
    html = report.to_html(tmp_path / "audit.html")
    assert '<a href="#scorecard">' in html and html.count('href="#check-') == len(report.results)
    assert "Plotly.newPlot" in html and '<script src="http' not in html
    assert html.count('class="figure"') >= 1 + sum(
        len(r.figures()) for r in report.results.values()
    )


def test_bad_sections_and_unlabelled_data(credit_split):
    train, test = credit_split
    model = LogisticRegression(max_iter=1000).fit(train.X, train.y)
    with pytest.raises(DataError, match="Unknown audit section"):
        audit(model, train=train, test=test, sections=["vibes"])
    unlabelled = test.replace(test.frame.drop(columns=["credit"]), target=None)
    with pytest.raises(DataError, match="has no target"):
        audit(model, train=train, test=unlabelled)


def test_a_registered_section_informs_its_principle(credit_split):
    from raikit import Finding
    from raikit.audit import register_section
    from raikit.audit._audit import _SECTIONS
    from raikit.metrics import group_metrics_of

    @register_section("toy_robustness", principle="robustness", description="toy")
    def _toy(ctx):
        result = group_metrics_of(ctx.test, metrics=["accuracy"])
        flagged = type(result)(
            **{
                **result.__dict__,
                "findings": (
                    Finding("error", "Accuracy collapses under noise", "made up for the test"),
                ),
            }
        )
        return {"toy.robustness": flagged}

    try:
        train, test = credit_split
        model = LogisticRegression(max_iter=1000).fit(train.X, train.y)
        report = audit(
            model, train=train, test=test, n_boot=50, sections=["bias", "toy_robustness"]
        )
        card = report.scorecard.set_index("principle")
        assert card.loc["robustness", "status"] == "fail"
        assert "Accuracy collapses under noise" in card.loc["robustness", "reason"]
        assert card.loc["explainability", "status"] == "not assessed"
    finally:
        _SECTIONS.pop("toy_robustness")


def test_bias_is_not_assessed_when_everyone_is_in_one_group(credit_split):
    """Today: 'bias: pass — within 0.1 for every attribute' on a one-group test set."""
    train, test = credit_split
    one_group = test.replace(frame=test.frame.assign(sex="everyone", age_group="all"))
    model = LogisticRegression(max_iter=1000).fit(train.X, train.y)
    report = audit(model, train=train, test=one_group, sections=["bias"], n_boot=100)
    row = report.scorecard.set_index("principle").loc["bias"]
    assert row["status"] == "not assessed"
    assert "min_group_size=30" in row["reason"]
    assert report.meta["min_group_size"] == 30
    report = audit(
        model, train=train, test=test, sections=["bias"], n_boot=100, min_group_size=10_000
    )
    row = report.scorecard.set_index("principle").loc["bias"]
    assert row["status"] == "not assessed" and "min_group_size=10000" in row["reason"]
