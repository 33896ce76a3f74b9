"""Model Card Toolkit JSON validates against the official MCT schema v0.0.2 (vendored test data),
and the card shows the problem's name and readable hyper-parameters."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from sklearn.ensemble import BaggingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.tree import DecisionTreeClassifier

from raikit import DataError
from raikit.audit import audit
from raikit.cards import annex_iv, model_card
from raikit.datasets import load_german_credit
from raikit.ledger import Ledger

SCHEMA = json.loads((Path(__file__).parent / "data" / "model_card.schema.json").read_text())
VALIDATOR = jsonschema.Draft7Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
PROBLEM = {
    "name": "Credit pre-screen",
    "version": "2.1",
    "provider": "Example Bank, risk team",
    "intended_use": "Rank loan applications for a credit officer.",
    "intended_users": "Credit officers",
    "out_of_scope_uses": "Automatic rejection.",
    "ethical_considerations": "Age is a protected attribute.",
    "consequences_of_failure": "A good applicant waits longer.",
}


class Scorer:
    """A plain object without a repr: it printed as ``<...Scorer object at 0x...>``."""

    def __call__(self, x):
        return x


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    ds = load_german_credit().replace(features=["duration_months", "credit_amount", "age"])
    train, test = ds.split(0.3, random_state=0)
    model = make_pipeline(
        FunctionTransformer(np.log1p), StandardScaler(), LogisticRegression(C=0.5, max_iter=500)
    ).fit(train.X, train.y)
    ledger = Ledger(tmp_path_factory.mktemp("mct") / "ledger")
    report = audit(model, train=train, test=test, ledger=ledger, n_boot=50, sections=["bias"])
    return report, ledger


def _errors(document) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in VALIDATOR.iter_errors(document)]


def test_the_vendored_schema_refuses_the_old_layout():
    """What raikit used to write: data as an object, null overview and version name, string
    metric values."""
    old = {
        "model_details": {"name": "m", "overview": None, "version": {"name": None}},
        "model_parameters": {"model_architecture": "x", "data": {"train": {"name": "train"}}},
        "quantitative_analysis": {"performance_metrics": [{"type": "accuracy", "value": "0.7"}]},
        "considerations": {"users": []},
    }
    messages = " | ".join(_errors(old))
    assert "['model_details', 'overview']: None is not of type 'string'" in messages
    assert "['model_details', 'version', 'name']: None is not of type 'string'" in messages
    assert "['model_parameters', 'data']: {'train'" in messages
    assert "'0.7' is not of type 'number'" in messages


@pytest.mark.parametrize("problem", [None, PROBLEM], ids=["bare", "answered"])
def test_model_card_toolkit_json_validates(audited, problem):
    report, _ = audited
    card = model_card(report, problem=problem)
    document = card.to_model_card_toolkit()
    assert _errors(document) == []
    json.dumps(document, allow_nan=False)  # strict JSON: no NaN sneaks in
    details = document["model_details"]
    data = document["model_parameters"]["data"]
    assert [d["name"] for d in data] == [
        f"{report.meta[role]['name']} ({report.meta[role]['rows']:,} rows)"
        for role in ("train", "test")
    ]
    assert data[1]["description"] == "Dataset of the quantitative analyses."
    if problem is None:
        assert details == {"name": report.meta["model"]}  # gaps are left out, never null
        assert document["considerations"]["users"] == []
    else:
        assert details["name"] == "Credit pre-screen"
        assert details["overview"] == PROBLEM["intended_use"]
        assert details["version"] == {"name": "2.1"}
        assert details["owners"] == [{"name": "Example Bank, risk team"}]
        assert document["considerations"]["users"] == [{"description": "Credit officers"}]
        risks = document["considerations"]["ethical_considerations"]
        assert risks[1] == {"name": PROBLEM["consequences_of_failure"]}


def test_metric_values_are_the_evidence_numbers(audited):
    report, _ = audited
    document = model_card(report).to_model_card_toolkit()
    metrics = document["quantitative_analysis"]["performance_metrics"]
    table = report.results["metrics.group_metrics"].by_group
    lower = report.results["metrics.group_metrics"].by_group_lower
    intersections = 0
    for attribute, group in table.index:
        # the one slice text: attribute=value for each attribute of an intersection
        names, values = attribute.split(" & "), group.split(" & ")
        where = " & ".join(f"{a}={v}" for a, v in zip(names, values, strict=True))
        intersections += len(names) > 1
        entry = next(m for m in metrics if m["slice"] == where and m["type"] == "accuracy")
        assert entry["value"] == pytest.approx(table.loc[(attribute, group), "accuracy"], abs=0)
        assert entry["confidence_interval"]["lower_bound"] == pytest.approx(
            lower.loc[(attribute, group), "accuracy"], abs=0
        )
        assert isinstance(entry["value"], float)
    assert intersections > 0  # "sex & race=F & A" was the old, wrong text of an intersection


def test_only_model_cards_have_the_toolkit_layout(audited):
    report, _ = audited
    with pytest.raises(DataError, match="Only a model card"):
        annex_iv(report).to_model_card_toolkit()


def test_cli_writes_mct_json(audited, tmp_path):
    from typer.testing import CliRunner

    from raikit.cli import app

    report, ledger = audited
    problem = tmp_path / "problem.yaml"
    problem.write_text("name: Credit pre-screen\nversion: '2.1'\n", encoding="utf-8")
    out = tmp_path / "cards" / "mct.json"
    result = CliRunner().invoke(
        app,
        [
            "card",
            "model",
            report.meta["run_id"][:10],
            "--ledger",
            str(ledger.root),
            "--problem",
            str(problem),
            "--out",
            str(tmp_path / "cards"),
            "--mct-json",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text(encoding="utf-8"))
    assert _errors(document) == []
    assert document["model_details"]["name"] == "Credit pre-screen"
    assert document["model_details"]["version"] == {"name": "2.1"}
    assert (tmp_path / "cards" / "model_card.html").exists()


def test_card_title_is_the_problem_definition_name(audited):
    report, _ = audited
    card = model_card(report, problem={"name": "Credit pre-screen"})
    assert card.title == "Model card: Credit pre-screen"
    assert "<title>Model card: Credit pre-screen</title>" in card.to_html()
    assert card.to_markdown().startswith("# Model card: Credit pre-screen")
    iv = annex_iv(report, problem={"name": "Credit pre-screen"})
    assert iv.title == "EU AI Act Annex IV technical documentation: Credit pre-screen"
    assert model_card(report).title == f"Model card: {report.meta['model']}"


def test_parameters_are_readable(audited):
    report, _ = audited
    params = model_card(report).fields_table.set_index("field").loc["Parameters", "answer"]
    assert " at 0x" not in params
    assert "FunctionTransformer(func=numpy.log1p)" in params
    assert "LogisticRegression(C=0.5, max_iter=500)" in params
    assert "StandardScaler()" in params


def test_objects_without_a_repr_are_shown_by_class(tmp_path):
    ds = load_german_credit().replace(features=["duration_months", "age"])
    train, test = ds.split(0.3, random_state=0)
    model = BaggingClassifier(
        DecisionTreeClassifier(max_depth=2, random_state=0), n_estimators=3, random_state=0
    ).fit(train.X, train.y)
    model.set_params(estimator=DecisionTreeClassifier(max_depth=2))  # (not refitted: display only)
    report = audit(model, train=train, test=test, n_boot=20, sections=["bias"])
    assert report.meta["model_params"]["estimator"] == "DecisionTreeClassifier(max_depth=2)"
    assert report.meta["model_params"]["n_estimators"] == 3
    # A parameter holding a plain object, as recorded by older versions, is shown by its class.
    old = dict(report.meta["model_params"], estimator=repr(Scorer()))
    assert " at 0x" in old["estimator"]
    report.meta["model_params"] = old
    text = model_card(report).fields_table.set_index("field").loc["Parameters", "answer"]
    assert "estimator=tests.cards.test_mct.Scorer" in text or "estimator=test_mct.Scorer" in text
    assert " at 0x" not in text
