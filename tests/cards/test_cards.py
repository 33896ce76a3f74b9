"""Cards: answers come from evidence or the problem definition; everything else is a gap."""

from __future__ import annotations

import json

import pytest
from sklearn.linear_model import LogisticRegression

from raikit import DataError, FileFormatError, Result
from raikit.audit import audit
from raikit.cards import PROBLEM_QUESTIONS, annex_iv, load_problem, model_card, problem_template
from raikit.datasets import load_german_credit
from raikit.ledger import Ledger


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    ds = load_german_credit()
    ds = ds.replace(features=["duration_months", "credit_amount", "age"])
    train, test = ds.split(0.3, random_state=0)
    model = LogisticRegression(max_iter=1000).fit(train.X, train.y)
    ledger = Ledger(tmp_path_factory.mktemp("ledger"))
    return audit(model, train=train, test=test, ledger=ledger, n_boot=100), ledger


def test_model_card_from_the_ledger_equals_the_card_from_the_report(audited):
    report, ledger = audited
    from_report = model_card(report)
    from_ledger = model_card(ledger=ledger, run=report.meta["run_id"][:8])
    left = from_report.fields_table.drop(columns="source")
    right = from_ledger.fields_table.drop(columns="source")
    assert left.equals(right)


def test_unanswered_questions_are_gaps_and_answers_fill_them(audited):
    report, _ = audited
    bare = model_card(report)
    gap_fields = set(bare.gaps["field"])
    assert {"Intended use", "Intended users", "Human oversight", "Impact on workers"} <= gap_fields
    answers = {
        "intended_use": "Pre-screen loan applications for a credit officer.",
        "intended_users": "Credit officers",
        "human_oversight": "Officer decides.",
        "worker_impact": "None: officers keep the decision.",
        "version": "1.0",
        "provider": "Example Bank",
        "out_of_scope_uses": "Automatic rejection.",
        "consequences_of_failure": "A good applicant is refused credit.",
    }
    filled = model_card(report, problem=answers)
    table = filled.fields_table.set_index("field")
    assert table.loc["Intended use", "answer"] == answers["intended_use"]
    assert table.loc["Intended use", "source"] == "problem definition"
    assert len(filled.gaps) == len(bare.gaps) - 8
    # Evidence-backed fields cite the audit run.
    assert report.meta["run_id"] in table.loc["Model type", "source"]
    markdown = filled.to_markdown()
    assert "**Gap.**" not in markdown.split("## Intended use")[1].split("##")[0]


def test_per_group_numbers_with_cis_match_the_evidence(audited):
    report, _ = audited
    card = model_card(report)
    per_group = card.quantitative["Quantitative analysis per group"]
    evidence = report.results["metrics.group_metrics"]
    row = per_group[(per_group["group"] == "Female") & (per_group["metric"] == "accuracy")]
    assert row["value"].iloc[0] == evidence.by_group.loc[("sex", "Female"), "accuracy"]
    assert row["lower"].iloc[0] == evidence.by_group_lower.loc[("sex", "Female"), "accuracy"]
    mct = card.to_model_card_toolkit()
    entries = [
        m
        for m in mct["quantitative_analysis"]["performance_metrics"]
        if m["slice"] == "sex=Female" and m["type"] == "accuracy"
    ]
    # The MCT schema's metric values are numbers (they were strings, which it refuses).
    assert entries[0]["value"] == row["value"].iloc[0]
    assert entries[0]["confidence_interval"]["lower_bound"] == row["lower"].iloc[0]
    json.dumps(mct, allow_nan=False)


def test_annex_iv_lists_the_declaration_as_a_gap_and_round_trips(audited):
    report, _ = audited
    card = annex_iv(report)
    assert "Declaration" in set(card.gaps["field"])
    assert card.fields_table["section"].iloc[0].startswith("1. General description")
    back = Result.from_json(card.to_json())
    assert back.fields_table.equals(card.fields_table) and back.summary == card.summary


def test_problem_definition_template_and_validation(tmp_path):
    path = tmp_path / "problem.yaml"
    problem_template(path)
    assert load_problem(str(path)) == dict.fromkeys(PROBLEM_QUESTIONS)
    path.write_text("intended_use: Screening\nmood: happy\n")
    with pytest.raises(DataError, match=r"Unknown problem-definition key\(s\) \['mood'\]"):
        load_problem(str(path))
    path.write_text("intended_use: [unclosed\n")
    with pytest.raises(FileFormatError, match="not valid YAML"):
        load_problem(str(path))


def test_performance_measures_name_the_bootstrap_the_engine_uses(audited):
    """The card said "Poisson-bootstrap" for every interval; rates use a Bayesian bootstrap."""
    report, _ = audited
    evidence = report.results["metrics.group_metrics"]
    assert evidence.meta["bootstrap"].startswith("bayesian (Jeffreys prior) for counts")
    table = model_card(report).fields_table.set_index("field")
    answer = table.loc["Performance measures", "answer"]
    assert "rates: a Bayesian bootstrap with the Jeffreys prior" in answer
    assert "score metrics: a Poisson bootstrap" in answer


def test_model_card_quotes_the_glass_box_evidence(audited):
    """The audit's glass box (InterpretML's EBM) answers "is the complex model worth it?"."""
    report, _ = audited
    glassbox = report.results["explain.glassbox_baseline"]
    card = model_card(report)
    table = card.fields_table.set_index("field")
    answer = table.loc["Interpretable alternative", "answer"]
    assert answer.startswith(glassbox.summary) and glassbox.findings[0].title in answer
    assert report.meta["run_id"] in table.loc["Interpretable alternative", "source"]
    gap = card.quantitative["Glass box gap per group"]
    assert gap.equals(glassbox.gap) and gap.iloc[0]["attribute"] == "overall"
    # without the glass box's evidence the field is a gap, never invented
    from dataclasses import replace

    results = {k: v for k, v in report.results.items() if k != "explain.glassbox_baseline"}
    without = model_card(replace(report, results=results))
    assert "Interpretable alternative" in set(without.gaps["field"])
    assert "Glass box gap per group" not in without.quantitative
