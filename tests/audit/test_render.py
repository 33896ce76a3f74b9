"""The audit report reads top-down: summary first, questions next, findings de-duplicated,
near-duplicate slices merged, tables formatted, every name escaped."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from raikit._html import format_number, readable_frame
from raikit._result import Finding
from raikit.audit import audit
from raikit.audit._render import group_findings, headline, merge_slices
from raikit.dataset import Dataset
from raikit.datasets import load_german_credit

HOSTILE = "<img src=x onerror=alert(1)>"
ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"


def _stress(group: str, perturbation: str, level: float) -> Finding:
    return Finding(
        "warning",
        f"[evaluate.stress_test] {group} is more fragile under {perturbation}",
        f"Flip rate 4.5% (95% CI 4.1% to 4.9%) at level {level}, above the overall interval.",
        slice=group,
    )


def test_stress_warnings_per_level_and_group_become_one_line_per_perturbation():
    findings = [
        Finding(
            "warning",
            "[evaluate.stress_test] Predictions unstable under numeric_noise at level 0.05",
            "7.3% of predictions flip.",
        ),
        Finding(
            "warning",
            "[evaluate.stress_test] Predictions unstable under numeric_noise at level 0.1",
            "7.9% of predictions flip.",
        ),
        _stress("sex=Male", "numeric_noise", 0.01),
        _stress("sex=Male", "numeric_noise", 0.05),
        _stress("sex=Male", "numeric_noise", 0.1),
        _stress("race=Asian-Pac-Islander", "categorical_swap", 0.01),
        _stress("sex=Male", "categorical_swap", 0.05),
        _stress("sex=Male", "categorical_swap", 0.1),
    ]
    lines = group_findings(findings)
    assert [line.text() for line in lines] == [
        "Predictions unstable under numeric_noise (levels 0.05, 0.1)",
        "sex=Male is more fragile under numeric_noise (levels 0.01, 0.05, 0.1)",
        "… is more fragile under categorical_swap: race=Asian-Pac-Islander (level 0.01); "
        "sex=Male (levels 0.05, 0.1)",
    ]
    assert [line.n for line in lines] == [2, 3, 3]
    assert lines[0].detail == "7.3% of predictions flip."  # the first finding's numbers


def test_four_fifths_for_train_and_test_become_one_line_naming_both():
    def four_fifths(check, attribute, group):
        return Finding(
            "error",
            f"[{check}] Four-fifths rule violated for {attribute}",
            "ratio below 0.8",
            key=[[a, v] for a, v in zip(attribute.split(" & "), group, strict=True)],
        )

    findings = [
        four_fifths("metrics.group_metrics", "sex", ["Female"]),
        four_fifths("metrics.group_metrics", "race", ["Black"]),
        four_fifths("metrics.group_metrics", "sex & race", ["Female", "Other"]),
        four_fifths("metrics.group_metrics.train", "sex", ["Female"]),
        four_fifths("metrics.group_metrics.train", "race", ["Other"]),
        Finding("warning", "[data.profile] workclass has missing values", "5.6% missing"),
        Finding("warning", "[data.profile] occupation has missing values", "5.7% missing"),
    ]
    lines = group_findings(findings)
    assert len(lines) == 3  # one four-fifths line; the two columns stay two problems
    (four,) = [line for line in lines if "Four-fifths" in line.title]
    assert four.check == "metrics.group_metrics" and four.n == 5
    assert four.text() == (
        "Four-fifths rule violated for …: sex=Female (test and train); race=Black (test); "
        "sex=Female & race=Other (test); race=Other (train)"
    )
    assert lines[0] is four  # errors first


def test_absorbed_slices_leave_the_findings():
    findings = [
        Finding("warning", f"[evaluate.find_slices] Model underperforms on {s}", slice=s)
        for s in ("a = 1", "a = 1 & b = 2", "c = 3")
    ]
    (line,) = group_findings(findings, absorbed={("evaluate.find_slices", "a = 1 & b = 2")})
    assert line.text() == "Model underperforms on …: a = 1; c = 3" and line.n == 2


def _slices(sizes, losses):
    return pd.DataFrame(
        {"slice": [f"s{i}" for i in range(len(sizes))], "size": sizes, "mean_loss": losses}
    )


def test_merge_slices_by_containment_and_by_shared_rows():
    slices = _slices([100, 30, 95, 60, 159, 159], [0.6, 0.7, 0.5, 0.4, 0.3, 0.3])
    predicates = pd.DataFrame(
        {
            "slice_id": [0, 1, 1, 2, 3, 4, 5],
            "feature": ["a", "a", "b", "c", "d", "e", "f"],
            "op": ["=="] * 7,
            "code": [1, 1, 2, 3, 4, 5, 6],
        }
    )
    # s1 contains s0's condition; s2 shares 90 rows with s0 (Jaccard 90/105 = 0.857);
    # s3 shares 50 of its 60 rows with s0 (Jaccard 50/110 = 0.45: kept).
    overlap = np.zeros((6, 6), int)
    np.fill_diagonal(overlap, slices["size"])
    overlap[0, 2] = overlap[2, 0] = 90
    overlap[0, 3] = overlap[3, 0] = 50
    overlap[4, 5] = overlap[5, 4] = 159
    kept, merged = merge_slices(slices, predicates, overlap.tolist())
    assert kept["slice"].tolist() == ["s0", "s3", "s4"]
    assert kept["also"].tolist() == ["s1; s2", "", "s5"]
    assert merged == ["s1", "s2", "s5"]
    # Without the overlaps only containment and identical (size, loss) pairs merge.
    kept, merged = merge_slices(slices, predicates)
    assert kept["slice"].tolist() == ["s0", "s2", "s3", "s4"] and merged == ["s1", "s5"]


def test_readable_frame_formats_counts_and_drops_their_intervals():
    frame = pd.DataFrame(
        {
            "attribute": ["overall"] * 3,
            "metric": ["count", "accuracy", "p_value"],
            "value": [16281.0, 0.871630, 2.2e-152],
            "lower": [16036.755, 0.866278, np.nan],
            "upper": [16541.43, 0.876596, np.nan],
        },
        index=[7, 8, 9],
    )
    shown = readable_frame(frame)
    assert shown.values.tolist() == [
        ["overall", "count", "16,281", "", ""],
        ["overall", "accuracy", "0.872", "0.866", "0.877"],
        ["overall", "p_value", "2.2e-152", "", ""],
    ]
    assert list(shown.index) == [0, 1, 2]


@pytest.fixture(scope="module")
def hostile_report():
    """German credit with its sensitive attribute renamed to a script payload."""
    ds = load_german_credit()
    frame = ds.frame.rename(columns={"sex": HOSTILE})
    data = Dataset(
        frame,
        target=ds.target,
        sensitive=[HOSTILE, "age_group"],
        features=["duration_months", "credit_amount", "age"],
    )
    train, test = data.split(0.3, random_state=0)
    model = LogisticRegression(max_iter=1000).fit(train.X, train.y)
    sections = ["bias", "accuracy", "evaluation", "slices", "data_representation"]
    return audit(model, train=train, test=test, n_boot=50, random_state=0, sections=sections)


def test_a_hostile_column_name_is_escaped_in_the_summary_and_the_questions(hostile_report):
    page = hostile_report.to_html()
    assert HOSTILE not in page and "<img" not in page
    summary = page.split("<h2>Summary</h2>")[1].split("<h2>Is it fair?</h2>")[0]
    fair = page.split("<h2>Is it fair?</h2>")[1].split("<h2>Where does it fail?</h2>")[0]
    assert ESCAPED in summary and ESCAPED in fair
    assert ESCAPED in summary.split("</table>")[0]  # in the verdict table itself
    assert re.search(r"<ol>.*" + re.escape(ESCAPED) + r".*</ol>", summary, re.S) or (
        "No warnings" in summary
    )


def test_the_verdict_table_holds_the_scorecards_numbers(hostile_report):
    report = hostile_report
    table = report.results["metrics.group_metrics"].table
    accuracy = table[(table["attribute"] == "overall") & (table["metric"] == "accuracy")].iloc[0]
    assert headline(report, "practical_accuracy") == (
        "test accuracy",
        f"{accuracy['value']:.3f}",
        f"[{accuracy['lower']:.3f}, {accuracy['upper']:.3f}]",
    )
    fairness = report.results["metrics.group_metrics"].fairness(tolerance=0.1)
    main = fairness[fairness["criterion"].isin(["demographic_parity", "equalized_odds"])]
    status = report.scorecard.set_index("principle").loc["bias", "status"]
    verdict = {"fail": "fail", "warn": "warn", "pass": "pass"}.get(status, "warn")
    worst = main[main["verdict"] == verdict].sort_values("difference").iloc[-1]
    what, value, interval = headline(report, "bias")
    assert worst["attribute"] in what and value == f"{worst['difference']:.3f}"
    assert interval == f"[{format_number(worst['lower'])}, {format_number(worst['upper'])}]"
    summary = report.summary_html()
    row = summary.split(">Fairness</a></td>")[1].split("</tr>")[0]
    assert f"<td>{value}</td>" in row and interval in row and f"status-{status}" in row
    # Counts have no interval in the report's tables.
    page = report.to_html()
    assert re.search(r"<td>count</td><td>[\d,]+</td><td></td><td></td>", page)


def test_the_audit_records_slice_overlaps_and_documentation_gaps():
    # The model fails where c == "b" (labels flipped there); k is a near-copy of c (5% of rows
    # re-drawn), so Slice Finder reports "c = b" and "k = b": two slices with mostly the same
    # rows, which the audit counts pairwise and the page merges.
    rng = np.random.default_rng(0)
    n = 3000
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "c": rng.choice(["a", "b", "d"], n, p=[0.5, 0.25, 0.25]),
            "s": rng.choice(["f", "m"], n),
        }
    )
    redraw = rng.random(n) < 0.05
    frame["k"] = np.where(redraw, rng.choice(["a", "b", "d"], n), frame["c"])
    frame["y"] = ((frame["x"] > 0) ^ (frame["c"] == "b")).astype(int)
    data = Dataset(frame, target="y", sensitive=["s"], features=["x", "c", "k"])
    train, test = data.split(0.5, random_state=0)
    model = LogisticRegression().fit(train.X[["x"]], train.y)
    model.feature_names_in_ = np.array(["x"], dtype=object)

    class OnX:  # predicts from x alone, whatever else the frame holds
        classes_ = model.classes_

        def predict(self, X):
            return model.predict(X[["x"]])

        def predict_proba(self, X):
            return model.predict_proba(X[["x"]])

    report = audit(OnX(), train=train, test=test, n_boot=20, random_state=0, sections=["slices"])
    result = report.results["evaluate.find_slices"]
    assert {"c = b", "k = b"} <= set(result.slices["slice"])
    overlap = np.array(report.meta["slice_overlap"]["evaluate.find_slices"])
    assert overlap.shape == (len(result.slices),) * 2
    masks = np.stack([result.mask(test, i) for i in range(len(result.slices))]).astype(int)
    assert (overlap == masks @ masks.T).all()
    assert (np.diag(overlap) == result.slices["size"].to_numpy()).all()  # a slice's own rows
    gaps = report.meta["documentation_gaps"]
    assert set(gaps) == {"model_card", "annex_iv"} and all(gaps.values())
    total = sum(len(g) for g in gaps.values())
    assert f"{total} documentation gap(s)" in report.scorecard.iloc[-1]["reason"]
    # The weaker of the two is merged into the stronger in the page (and its finding folded).
    page = report.to_html()
    _, merged = merge_slices(result.slices, result.predicates, overlap.tolist())
    stronger, weaker = result.slices["slice"].iloc[0], result.slices["slice"].iloc[1]
    assert {stronger, weaker} == {"c = b", "k = b"} and merged == [weaker]
    assert f"<td>{stronger}</td>" in page and f"<td>{weaker}</td>" in page  # "merged in" cell
    items = re.findall(r"<li class=\"finding-[a-z]+\">(.*?)</li>", page, re.S)
    slice_lines = [item for item in items if "underperforms" in item]
    assert slice_lines and all(weaker not in item and stronger in item for item in slice_lines)


def test_the_advice_names_only_functions_that_exist():
    import importlib

    from raikit.audit._render import ADVICE, TASK_ADVICE

    texts = [*ADVICE.values(), *(t for per in TASK_ADVICE.values() for t in per.values())]
    named = {n for text in texts for n in re.findall(r"raikit(?:\.\w+)+", text)}
    assert named  # the advice points somewhere
    for name in named:
        module, _, attribute = name.rpartition(".")
        try:
            importlib.import_module(name)  # a module (raikit.train)
        except ImportError:
            assert hasattr(importlib.import_module(module), attribute), name


def test_long_evidence_tables_show_a_preview_and_short_ones_show_twenty_rows():
    """A table of row-level evidence (histogram bins, curve points) previews 8 rows; a table of
    groups or columns (up to 60 rows) shows 20; the JSON keeps every row either way."""
    from raikit.audit._render import _table_block

    def shown(n):
        html = _table_block("table", pd.DataFrame({"x": range(n)}))
        return html.count("<tr>") - 1  # the header row

    assert [shown(n) for n in (18, 40, 60, 61, 2520)] == [18, 20, 20, 8, 8]
    assert "The first 8 of 2,520 rows" in _table_block("t", pd.DataFrame({"x": range(2520)}))
