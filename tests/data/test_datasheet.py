"""datasheet: evidence from the data, answers from YAML, unanswered questions stay unanswered."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

from raikit import FileFormatError, ParameterError, Result
from raikit.data import (
    QUESTIONS,
    DatasheetResult,
    datasheet,
    datasheet_template,
    profile,
    representation,
)


@pytest.fixture(scope="module")
def german():
    from raikit.datasets import load_german_credit

    return load_german_credit()


def test_template_lists_every_question_and_parses(tmp_path):
    path = tmp_path / "answers.yaml"
    text = datasheet_template(path, name="german")
    loaded = yaml.safe_load(path.read_text())
    assert text == path.read_text()
    ids = {f"{section}.{qid}" for section, items in loaded.items() for qid in items}
    assert ids == {f"{s}.{q}" for s, q, _ in QUESTIONS}
    assert len(QUESTIONS) == 50
    assert all(value == "" for items in loaded.values() for value in items.values())


def test_answers_and_evidence(german, tmp_path):
    answers = yaml.safe_load(datasheet_template())
    answers["motivation"]["purpose"] = "Benchmark for credit scoring."
    answers["composition"]["count"] = "One row per loan applicant."
    path = tmp_path / "answers.yaml"
    path.write_text(yaml.safe_dump(answers))
    sheet = datasheet(german, answers=path)
    q = sheet.questions.set_index("id")
    assert q.loc["motivation.purpose", "answer"] == "Benchmark for credit scoring."
    assert q.loc["motivation.purpose", "source"] == "answer"
    assert q.loc["composition.count", "source"] == "answer+evidence"
    assert q.loc["composition.count", "evidence"].startswith("1,000 rows and 23 columns")
    assert q.loc["composition.label", "evidence"] == (
        "Yes: column 'credit' with values 1: 700 (70.0%), 0: 300 (30.0%)."
    )
    assert q.loc["composition.missing", "evidence"] == "No missing values in any column."
    sub = q.loc["composition.subpopulations", "evidence"]
    assert "sex: Female 310 (31.0%" in sub and "age_group" in sub
    # questions nobody answered stay unanswered: no evidence is invented for them
    assert q.loc["maintenance.contact", "source"] == "unanswered"
    assert q.loc["maintenance.contact", "answer"] == q.loc["maintenance.contact", "evidence"] == ""
    evidence_ids = set(q.index[q["evidence"] != ""])
    assert evidence_ids <= {i for i in q.index if i.startswith("composition.")}
    assert len(sheet.unanswered) == 50 - 2 - len(evidence_ids - {"composition.count"})


def test_markdown_json_and_html(german, tmp_path):
    sheet = datasheet(german, answers={"uses": {"avoid": "Individual credit decisions."}})
    text = sheet.to_markdown(tmp_path / "sheet.md")
    assert text.startswith("# Datasheet: german_credit")
    assert "Individual credit decisions." in text
    assert text.count("_Unanswered._") == len(sheet.unanswered)
    back = Result.from_json(sheet.to_json())
    assert isinstance(back, DatasheetResult)
    pd.testing.assert_frame_equal(back.questions, sheet.questions)
    assert "Datasheet questions per section" in sheet.to_html()


def test_evidence_uses_given_results_and_reports_missing_values():
    from raikit.datasets import load_adult

    ds = load_adult()
    prof = profile(ds, proxy_sample=0)
    rep = representation(ds)
    sheet = datasheet(ds, profile=prof, representation=rep)
    q = sheet.questions.set_index("id")
    assert "occupation 2,809 (5.8%)" in q.loc["composition.missing", "evidence"]
    assert "relationship is a strong proxy for sex" in q.loc["composition.sensitive", "evidence"]
    duplicates = int(ds.frame.duplicated().sum())
    assert q.loc["composition.errors", "evidence"].startswith(f"{duplicates:,} duplicated row(s)")


def test_bad_answers(german, tmp_path):
    with pytest.raises(ParameterError, match=r"did you mean 'motivation\.purpose'"):
        datasheet(german, answers={"motivation": {"purpose_": "x"}})
    broken = tmp_path / "broken.yaml"
    broken.write_text("motivation: [unclosed")
    with pytest.raises(FileFormatError, match="not valid YAML"):
        datasheet(german, answers=broken)
    bad_json = tmp_path / "answers.json"
    bad_json.write_text("{")
    with pytest.raises(FileFormatError, match="not valid JSON"):
        datasheet(german, answers=bad_json)
    with pytest.raises(FileFormatError, match="not found"):
        datasheet(german, answers=tmp_path / "absent.yaml")
    with pytest.raises(ParameterError, match=r"datasheet\(\): answers must be a dict"):
        datasheet(german, answers=["purpose"])
    with pytest.raises(ParameterError, match=r"datasheet\(\): profile must be a ProfileResult"):
        datasheet(german, profile={"stats": []})
    with pytest.raises(ParameterError, match=r"datasheet\(\): data must be a raikit Dataset"):
        datasheet(german.frame)
    ok = tmp_path / "ok.json"
    ok.write_text(json.dumps({"maintenance.contact": "data@example.org"}))
    sheet = datasheet(german, answers=ok)
    assert sheet.questions.set_index("id").loc["maintenance.contact", "source"] == "answer"


def test_proxy_evidence_prints_the_computed_auc_with_its_decimals():
    """The datasheet used to cut each proxy finding at its first '.', printing "(AUC 0)"."""
    import re

    from raikit.datasets import load_adult

    ds = load_adult()
    prof = profile(ds, proxy_sample=2_000, random_state=0)
    strong = prof.strong_proxies
    assert {"relationship", "(all features)"} <= set(strong["feature"])
    assert (strong["auc"] >= prof.meta["proxy_auc"]).all()
    evidence = (
        datasheet(ds, profile=prof)
        .questions.set_index("id")
        .loc["composition.sensitive", "evidence"]
    )
    listed = evidence.split(" Proxies: ", 1)[1].removesuffix(".").split("; ")
    pattern = r"(.+) \(AUC (\d\.\d{3})(?:, normalized mutual information (\d\.\d{3}))?\)"
    printed = [re.fullmatch(pattern, item).groups(default="") for item in listed]
    assert len(printed) == len(strong)
    for (title, auc, mi), row in zip(printed, strong.itertuples(index=False), strict=True):
        if row.feature == "(all features)":
            assert title == f"The features together predict {row.attribute}"
            assert mi == ""
        else:
            assert title == f"{row.feature} is a strong proxy for {row.attribute}"
            assert float(mi) == pytest.approx(row.normalized_mi, abs=5e-4)
        assert float(auc) == pytest.approx(row.auc, abs=5e-4)
        assert float(auc) >= 0.8  # not the "(AUC 0)" of the truncated detail
    # The same numbers after a JSON round trip of the profile.
    back = Result.from_json(prof.to_json())
    pd.testing.assert_frame_equal(back.strong_proxies, strong)


def test_track_records_the_datasheet_once_not_its_profile(german, tmp_path):
    import raikit
    from raikit.ledger import Ledger

    ledger = Ledger(tmp_path / "ledger")
    with raikit.track("datasheet", ledger=ledger) as run:
        datasheet(german, random_state=3)
    evidence = ledger.evidence(run=run.id)
    # the profile and representation it computes are parts of it, not evidence of their own
    assert evidence["check_name"].tolist() == ["data.datasheet"]
    assert json.loads(evidence["params"].iloc[0])["random_state"] == 3
