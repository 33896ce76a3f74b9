"""The audit's shape_constraints section: runs only when constraints are declared (in the call or
the problem definition), marks explainability from what it found, and feeds the model card."""

from __future__ import annotations

import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from raikit import ColumnError
from raikit.audit import audit
from raikit.cards import load_problem, model_card
from raikit.train import fit_constrained

SPEC = {"hours_per_week": "increasing", "education_num": "increasing", "race": "must_not_use"}


@pytest.fixture(scope="module")
def adult():
    from raikit.datasets import load_adult

    train, test = load_adult().sample(6000, random_state=1).split(0.3, random_state=0)
    constrained = fit_constrained(
        HistGradientBoostingClassifier(max_iter=30), train, constraints=SPEC, random_state=0
    )
    free = HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(train.X, train.y)
    return train, test, constrained, free


def _run(model, adult, **kwargs):
    train, test, *_ = adult
    return audit(
        model,
        train=train,
        test=test,
        sections=["shape_constraints"],
        n_boot=50,
        random_state=0,
        **kwargs,
    )


def test_constrained_model_passes_and_the_card_says_so(adult):
    report = _run(adult[2], adult, constraints=SPEC)
    result = report.results["evaluate.verify_constraints"]
    assert result.table["n_violating"].tolist() == [0, 0, 0]
    assert result.table["status"].tolist() == ["satisfied", "satisfied", "not an input"]
    mark = report.scorecard.set_index("principle").loc["explainability"]
    assert mark["status"] == "pass" and mark["evidence"] == "evaluate.verify_constraints"
    assert report.meta["shape_constraints"] == SPEC
    card = model_card(report)
    entry = card.fields_table.set_index("field").loc["Shape constraints"]
    assert entry["answer"].startswith("Declared: hours_per_week: increasing;")
    assert "no violation found" in entry["answer"]
    assert "evaluate.verify_constraints" in entry["source"]


def test_problem_definition_declares_them_and_violations_fail_explainability(adult, tmp_path):
    path = tmp_path / "problem.yaml"
    path.write_text(
        "name: Income screen\nshape_constraints:\n  hours_per_week: increasing\n",
        encoding="utf-8",
    )
    report = _run(adult[3], adult, problem=str(path))
    result = report.results["evaluate.verify_constraints"]
    row = result.table.iloc[0]
    assert row["status"] == "violated" and row["n_violating"] > 0
    assert row["prediction_from"] - row["prediction_to"] == pytest.approx(row["worst_violation"])
    mark = report.scorecard.set_index("principle").loc["explainability"]
    assert mark["status"] == "fail" and "hours_per_week" in mark["reason"]
    answer = model_card(report, problem=str(path)).fields_table.set_index("field")
    assert "violations found for hours_per_week" in answer.loc["Shape constraints", "answer"]


def test_without_constraints_the_section_is_skipped_with_its_reason(adult):
    report = _run(adult[2], adult)
    assert "evaluate.verify_constraints" not in report.results
    assert "No shape constraints were declared" in report.meta["skipped"]["shape_constraints"]
    mark = report.scorecard.set_index("principle").loc["explainability"]
    assert mark["status"] == "not assessed" and "No shape constraints" in mark["reason"]
    fields = set(model_card(report).fields_table["field"])
    assert "Shape constraints" not in fields  # nothing declared: no entry, no invented text


def test_a_bad_spec_is_refused_before_any_section_runs(adult):
    with pytest.raises(ColumnError, match=r"\['salary'\].*not in the test data; columns available"):
        _run(adult[2], adult, constraints={"salary": "increasing"})


def test_problem_yaml_round_trip(tmp_path):
    from raikit.cards import problem_template

    path = tmp_path / "problem.yaml"
    text = problem_template()
    assert "shape_constraints:\n#   hours_per_week: increasing" in text
    path.write_text(
        text.replace(
            "shape_constraints:\n",
            "shape_constraints:\n  age: Decreasing\n  x: -1\n  race: must-not-use\n",
        ),
        encoding="utf-8",
    )
    loaded = load_problem(str(path))
    assert loaded["shape_constraints"] == {
        "age": "decreasing",
        "x": "decreasing",
        "race": "must_not_use",
    }
    import yaml

    assert load_problem(yaml.safe_dump(loaded)) == loaded  # written back, read the same
    from raikit import FileFormatError, ParameterError

    with pytest.raises(ParameterError, match="problem definition's shape constraint of 'age'"):
        load_problem({"shape_constraints": {"age": "bigger"}})
    with pytest.raises(FileFormatError, match="shape_constraints must be a mapping"):
        load_problem("shape_constraints: age increasing\n")


def test_options_not_taken_stay_out_of_a_scorecard_that_has_evidence(adult):
    """Without constraints or a client column, the explainability and bias marks rest on the
    sections that ran and do not list every opt-in section as "Not run"; meta still says why."""
    train, test, model, *_ = adult
    report = audit(
        model,
        train=train,
        test=test,
        sections=["bias", "explainability", "shape_constraints", "federated"],
        n_boot=50,
        random_state=0,
    )
    marks = report.scorecard.set_index("principle")["reason"]
    assert "shape_constraints" in report.meta["skipped"] and "federated" in report.meta["skipped"]
    assert "No shape constraints" not in marks["explainability"]
    assert "No client column" not in marks["bias"]
