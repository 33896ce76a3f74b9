"""The audit on real data: scorecard marks follow the evidence, the report is complete and offline."""

from __future__ import annotations

import pytest
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression

from raikit import DataError, ParameterError, Result
from raikit.audit import audit
from raikit.datasets import load_german_credit
from raikit.ledger import Ledger
from raikit.metrics import theil_index

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
        "metrics.inequality_metrics",
        "evaluate.evaluate",
        "evaluate.find_slices",
        "evaluate.estimate_performance",
        "evaluate.stress_test",
        "evaluate.evasion_test",
        "data.profile",
        "data.representation",
        "data.drift",
        "data.multivariate_drift",
        "data.leakage",
        "data.scan_pii",
        "data.scan_pii.test",
        "privacy.membership_inference",
        "explain.explain",
        "explain.glassbox_baseline",
    }
    assert card.loc["robustness", "status"] != "not assessed"
    inequality = report.results["metrics.inequality_metrics"]  # AIF360's measures, on the test set
    assert inequality.value("theil_index") == pytest.approx(
        theil_index(test.y, model.predict(test.X))
    )
    assert "metrics.inequality_metrics" in card.loc["bias", "evidence"]
    # a random split: the columns taken together do not tell train from test (the seed is
    # fresh, so a 5% level would fail one run in twenty: no p-value is tiny)
    joint = report.results["data.multivariate_drift"].overall.set_index("method")
    assert list(joint.index) == ["classifier", "pca"] and joint["p_value"].min() > 0.001
    assert "data.multivariate_drift" in card.loc["robustness", "evidence"]
    assert report.meta["sections"]["data.multivariate_drift"] == "multivariate_drift"
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
    # The report reads top-down (issue 19): a summary, then one section per reviewer question
    # linked from the summary; every check is one sub-section; plotly.js inline once.
    train, test = credit_split
    model = LogisticRegression(max_iter=1000).fit(train.X, train.y)
    report = audit(model, train=train, test=test, n_boot=100)
    html = report.to_html(tmp_path / "audit.html")
    for anchor in ("fair", "fail", "why", "leak", "robust", "reproduce", "undocumented"):
        assert f'<a id="{anchor}"></a>' in html and html.count(f'href="#{anchor}"') == 2
    for check in report.results:
        assert html.count(f'<span class="muted">({check})</span></h3>') == 1
    assert html.index("<h2>Summary</h2>") < html.index("<h2>Is it fair?</h2>")
    assert "Plotly.newPlot" in html and '<script src="http' not in html
    assert html.count("plotly.js (basic - minified)") == 1
    # every figure the report lists is drawn; under one question a title is drawn once (the
    # evaluation's bars per group repeat the group metrics'), and a note says so
    drawn = report.figures()
    assert html.count('class="figure"') == len(drawn)
    every = sum(len(r.figures()) for r in report.results.values())
    if "evaluate.evaluate" in report.results:
        assert len(drawn) < every and "repeat one drawn above" in html
    from raikit.audit._render import check_principles

    principles = check_principles(report)
    titled, untitled = set(), 0
    for check, result in report.results.items():
        for figure in result.figures():
            title = figure.layout.title.text
            untitled += not title
            titled |= {(principles[check], title)} if title else set()
    assert len(drawn) == len(titled) + untitled


def test_bad_sections_and_unlabelled_data(credit_split):
    train, test = credit_split
    model = LogisticRegression(max_iter=1000).fit(train.X, train.y)
    with pytest.raises(ParameterError, match=r"audit\(\): unknown section\(s\) \['vibes'\]"):
        audit(model, train=train, test=test, sections=["vibes"])
    with pytest.raises(ParameterError, match=r"audit\(\): ci must be a number in \(0, 1\)"):
        audit(model, train=train, test=test, ci=95)
    with pytest.raises(ParameterError, match=r"audit\(\): n_boot must be an integer >= 1"):
        audit(model, train=train, test=test, n_boot=0)
    with pytest.raises(ParameterError, match=r"audit\(\): min_group_size must be"):
        audit(model, train=train, test=test, min_group_size=0)
    with pytest.raises(TypeError):  # the pair is keyword-only
        audit(model, train, test)
    with pytest.raises(ParameterError, match=r"audit\(\): train must be a raikit Dataset"):
        audit(model, train=train.frame, test=test)
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


SECTIONS = ["bias", "accuracy", "privacy", "data_drift"]


def _checks_per_name(ledger, run_id):
    return ledger.evidence(run=run_id)["check_name"].value_counts().to_dict()


def test_each_check_is_one_evidence_row(credit_split, tmp_path):
    """With ledger=, every check the audit ran is one row under its audit name, plus the
    report; the checks called inside (group_metrics twice, membership_inference's own
    group_metrics calls) add nothing."""
    train, test = credit_split
    model = LogisticRegression(max_iter=1000).fit(train.X, train.y)
    ledger = Ledger(tmp_path / "own")
    report = audit(model, train=train, test=test, ledger=ledger, n_boot=50, sections=SECTIONS)
    expected = {check: 1 for check in report.results} | {"audit.report": 1}
    assert _checks_per_name(ledger, report.meta["run_id"]) == expected
    assert set(report.results) == {
        "metrics.group_metrics",
        "metrics.group_metrics.train",
        "privacy.membership_inference",
        "data.drift",
    }
    assert len(ledger.evidence()) == len(expected)  # nothing outside the audit's run


def test_inside_track_the_audit_records_into_the_active_run(credit_split, tmp_path):
    import raikit

    train, test = credit_split
    model = LogisticRegression(max_iter=1000).fit(train.X, train.y)
    ledger = Ledger(tmp_path / "tracked")
    with raikit.track("my study", ledger=ledger) as run:
        report = audit(model, train=train, test=test, n_boot=50, sections=SECTIONS)
    expected = {check: 1 for check in report.results} | {"audit.report": 1}
    assert _checks_per_name(ledger, run.id) == expected
    assert report.meta["run_id"] == run.id
    assert len(ledger.runs()) == 1


def test_none_seed_is_recorded_and_replays(credit_split):
    train, test = credit_split
    model = LogisticRegression(max_iter=1000).fit(train.X, train.y)
    first = audit(model, train=train, test=test, n_boot=50, sections=["bias", "privacy"])
    seed = first.meta["random_state"]
    assert isinstance(seed, int)
    again = audit(
        model, train=train, test=test, n_boot=50, sections=["bias", "privacy"], random_state=seed
    )
    assert again.scorecard.equals(first.scorecard)
    for check in first.results:
        for name, frame in first.results[check].tables().items():
            assert frame.equals(again.results[check].tables()[name]), (check, name)


def test_the_readme_call_works(credit_split, tmp_path):
    """README: `raikit.audit(model, train=..., test=..., ledger=...)`; raikit.audit stays the
    package too."""
    import re
    from pathlib import Path

    import raikit

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert re.search(r"raikit\.audit\(model, train=\.\.\., test=\.\.\., ledger=\.\.\.\)", readme)
    train, test = credit_split
    model = LogisticRegression(max_iter=1000).fit(train.X, train.y)
    ledger = tmp_path / "ledger"
    report = raikit.audit(
        model, train=train, test=test, ledger=ledger, sections=["bias"], n_boot=50
    )
    assert isinstance(report, raikit.audit.AuditReport)
    assert report.meta["run_id"] in set(Ledger(ledger).runs()["id"])
    assert raikit.audit.available_sections()["section"].iloc[0] == "bias"
    from raikit.audit import audit as function

    assert callable(function) and function is not raikit.audit
