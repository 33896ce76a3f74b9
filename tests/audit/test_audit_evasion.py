"""The audit's 'evasion' section (robustness to manipulation): it runs the evasion attack on a
stratified sample of the test rows, informs the robustness mark, and is skipped with its reason
for a model without predict_proba."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from raikit.audit import audit
from raikit.datasets import load_german_credit

FEATURES = ["duration_months", "credit_amount", "age", "installment_rate"]


@pytest.fixture(scope="module")
def credit_split():
    return load_german_credit().replace(features=FEATURES).split(0.3, random_state=0)


def test_the_evasion_section_reports_the_attack(credit_split):
    train, test = credit_split
    model = LogisticRegression(max_iter=1000).fit(train.X, train.y)
    report = audit(model, train=train, test=test, sections=["evasion"], n_boot=50, random_state=0)
    result = report.results["evaluate.evasion_test"]
    assert report.meta["sections"]["evaluate.evasion_test"] == "evasion"
    overall = result.at(0.1).iloc[0]
    assert overall["n"] == test.n_rows  # 300 rows: no sample needed
    accuracy = np.mean(model.predict(test.X) == test.y.to_numpy())
    assert overall["accuracy"] == pytest.approx(accuracy)
    assert overall["robust_accuracy"] == pytest.approx(accuracy * (1 - overall["success_rate"]))
    card = report.scorecard.set_index("principle")
    assert card.loc["robustness", "status"] != "not assessed"
    assert "evaluate.evasion_test" in card.loc["robustness", "evidence"]
    page = report.to_html()
    assert "Can small, plausible changes of the inputs flip decisions?" in page
    assert "Per-row table(s) adversarial_examples are left out" in page


def test_a_model_without_predict_proba_is_skipped_with_its_reason(credit_split):
    train, test = credit_split
    model = LinearSVC().fit(train.X, train.y)
    report = audit(model, train=train, test=test, sections=["evasion"], n_boot=50, random_state=0)
    assert "evaluate.evasion_test" not in report.results
    assert "no predict_proba" in report.meta["skipped"]["evasion"]
    card = report.scorecard.set_index("principle")
    assert card.loc["robustness", "status"] == "not assessed"
    assert "no predict_proba" in card.loc["robustness", "reason"]
