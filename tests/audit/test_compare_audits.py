"""compare_audits and ``raikit compare``: what each mitigation gained and cost, with intervals
and reasons."""

from __future__ import annotations

import html as htmllib
import json
import re

import numpy as np
import pandas as pd
import pytest
from rich.console import Console
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

from raikit import Result
from raikit._errors import DataError, FileFormatError, ParameterError
from raikit._result import Finding
from raikit.audit import AuditReport, compare_audits
from raikit.cli import app, print_findings
from raikit.metrics import group_metrics

# Per group 1,000 positive and 1,000 negative rows. (true positives, false positives) per group:
# the baseline has equal TPRs (0.8) but FPRs 0.1 and 0.3; the "mitigated" model lowers group
# B's TPR to 0.5 and its FPR to 0.2. Hand-computed:
#   TPR gap 0.0 -> 0.3 (worse), FPR gap 0.2 -> 0.1 (better), selection-rate gap 0.1 -> 0.1
#   (no change), accuracy 0.80 -> 0.75 (worse), balanced accuracy 0.80 -> 0.75 (worse),
#   accuracy gap 0.10 -> 0.20 (worse).
CELLS = {
    "baseline": {"A": (800, 100), "B": (800, 300)},
    "mitigated": {"A": (800, 100), "B": (500, 200)},
}
N = 1000


def _arrays(cells: dict):
    y, pred, sex = [], [], []
    for group, (tp, fp) in cells.items():
        y += [1] * N + [0] * N
        pred += [1] * tp + [0] * (N - tp) + [1] * fp + [0] * (N - fp)
        sex += [group] * (2 * N)
    return np.array(y), np.array(pred), np.array(sex, dtype=object)


def _report(name, cells, *, score=True, ci=0.95, sensitive=None, results=True, **kwargs):
    y, pred, sex = _arrays(cells)
    features = pd.DataFrame({"sex": sex}) if sensitive is None else sensitive(sex)
    result = group_metrics(
        y,
        pred,
        sensitive_features=features,
        score=(0.25 + 0.5 * pred + 0.1 * y) if score else None,
        ci=ci,
        n_boot=200,
        random_state=0,
        **kwargs,
    )
    scorecard = pd.DataFrame(
        {
            "principle": ["bias", "privacy"],
            "status": ["fail", "not assessed"],
            "reason": ["TPR gap over tolerance.", f"No privacy check ran for {name}."],
            "evidence": ["metrics.group_metrics", ""],
        }
    )
    return AuditReport(
        scorecard=scorecard,
        results={"metrics.group_metrics": result} if results else {},
        meta={"model": name, "sensitive": list(features.columns), "ci": ci},
    )


@pytest.fixture(scope="module")
def pair():
    return {
        "baseline": _report("baseline", CELLS["baseline"]),
        "mitigated": _report("mitigated", CELLS["mitigated"]),
    }


@pytest.fixture(scope="module")
def result(pair):
    return compare_audits(pair, attribute="sex")


def _row(result, criterion, model="mitigated"):
    rows = result.changes[
        (result.changes["criterion"] == criterion) & (result.changes["model"] == model)
    ]
    assert len(rows) == 1, (criterion, model)
    return rows.iloc[0]


@pytest.mark.parametrize(
    ("criterion", "base", "value", "higher", "verdict"),
    [
        ("accuracy", 0.80, 0.75, True, "worse"),
        ("balanced accuracy", 0.80, 0.75, True, "worse"),
        ("TPR gap", 0.0, 0.3, False, "worse"),
        ("FPR gap", 0.2, 0.1, False, "better"),
        ("selection-rate gap", 0.1, 0.1, False, "no clear change"),
        ("accuracy gap", 0.1, 0.2, False, "worse"),
    ],
)
def test_verdicts_numbers_and_directions(result, criterion, base, value, higher, verdict):
    row = _row(result, criterion)
    assert row["baseline_value"] == pytest.approx(base, abs=1e-12)
    assert row["value"] == pytest.approx(value, abs=1e-12)
    assert row["change"] == pytest.approx(value - base, abs=1e-12)
    assert bool(row["higher_is_better"]) is higher
    assert row["verdict"] == verdict and row["reason"] == ""
    # the interval of the change holds the change, and decides the verdict
    assert row["change_lower"] <= row["change"] <= row["change_upper"]
    if verdict == "no clear change":
        assert row["change_lower"] < 0 < row["change_upper"]
    else:
        assert row["change_lower"] > 0 or row["change_upper"] < 0


def test_change_interval_is_the_mover_combination_of_both_intervals(result):
    """Each side adds the two distances that push the change that way, in quadrature; it is
    wider than either audit's own interval and narrower than the sum of both."""
    c = result.changes.dropna(subset=["change_lower"])
    assert len(c) >= 6
    low = c["change"] - np.hypot(c["value"] - c["lower"], c["baseline_upper"] - c["baseline_value"])
    high = c["change"] + np.hypot(
        c["upper"] - c["value"], c["baseline_value"] - c["baseline_lower"]
    )
    np.testing.assert_allclose(c["change_lower"], low, atol=1e-12)
    np.testing.assert_allclose(c["change_upper"], high, atol=1e-12)
    width = c["change_upper"] - c["change_lower"]
    own = np.maximum(c["upper"] - c["lower"], c["baseline_upper"] - c["baseline_lower"])
    both = (c["upper"] - c["lower"]) + (c["baseline_upper"] - c["baseline_lower"])
    assert (width >= own - 1e-12).all() and (width <= both + 1e-12).all()


def test_a_model_against_itself_never_changes(pair):
    same = compare_audits({"a": pair["baseline"], "b": pair["baseline"]}, attribute="sex")
    assessed = same.changes[same.changes["verdict"] != "not assessed"]
    assert len(assessed) >= 6
    assert (assessed["change"] == 0).all()
    assert set(assessed["verdict"]) == {"no clear change"}
    assert not [f for f in same.findings if f.severity == "warning"]


def test_findings_name_the_cost_with_both_intervals_and_the_gain(result):
    warnings = [f for f in result.findings if f.severity == "warning"]
    assert len(warnings) == 1  # one per mitigation that made something worse
    cost = warnings[0]
    assert "mitigated" in cost.title and "TPR gap on sex" in cost.title
    row = _row(result, "TPR gap")
    expected = (
        f"raised the TPR gap between sex groups from 0.000 [{row['baseline_lower']:.3f}, "
        f"{row['baseline_upper']:.3f}] (baseline) to 0.300 [{row['lower']:.3f}, "
        f"{row['upper']:.3f}]; change +0.300 [{row['change_lower']:+.3f}, "
        f"{row['change_upper']:+.3f}]"
    )
    assert expected in cost.detail
    assert "lowered accuracy from 0.800" in cost.detail
    assert "selection-rate gap" not in cost.title  # no clear change is not a cost
    gains = [f for f in result.findings if f.severity == "info" and "better" in f.title]
    assert len(gains) == 1 and "FPR gap on sex" in gains[0].title
    assert "lowered the FPR gap between sex groups from 0.200" in gains[0].detail
    titles = [f.title for f in result.findings]
    assert "Most accurate model: baseline" in titles
    # largest of the selection-rate/TPR/FPR gaps: baseline 0.2 (FPR), mitigated 0.3 (TPR)
    assert "Fairest model on sex: baseline" in titles


def test_baseline_keyword_turns_the_directions_around(pair):
    flipped = compare_audits(pair, attribute="sex", baseline="mitigated")
    assert set(flipped.changes["model"]) == {"baseline"}
    assert _row(flipped, "TPR gap", "baseline")["verdict"] == "better"
    assert _row(flipped, "FPR gap", "baseline")["verdict"] == "worse"
    assert _row(flipped, "accuracy", "baseline")["verdict"] == "better"
    assert flipped.meta["baseline"] == "mitigated"


def test_not_assessed_cells_say_why():
    base = _report("base", CELLS["baseline"])
    reports = {
        "base": base,
        "no score": _report("no score", CELLS["mitigated"], score=False),
        "skipped": _report("skipped", CELLS["mitigated"], results=False),
        "no ci": _report("no ci", CELLS["mitigated"], ci=None),
    }
    result = compare_audits(reports, attribute="sex")
    reason = {(r.model, r.criterion): r.reason for r in result.changes.itertuples() if r.reason}
    verdict = {(r.model, r.criterion): r.verdict for r in result.changes.itertuples()}
    assert "no score column" in reason[("no score", "ROC AUC")]
    assert "no score column" in reason[("no score", "calibration-error gap")]
    assert ("no score", "TPR gap") not in reason and verdict[("no score", "TPR gap")] == "worse"
    assert "bias section did not run in the audit of skipped" in reason[("skipped", "TPR gap")]
    assert "no confidence interval" in reason[("no ci", "accuracy")]
    # the change is still shown where both values exist; only the verdict is withheld
    assert _row(result, "accuracy", "no ci")["change"] == pytest.approx(-0.05)
    for key in reason:
        assert verdict[key] == "not assessed", key
    # the scorecards' "not assessed" cells come with their reason
    assert result.scorecard_reasons.at["privacy", "skipped"] == "No privacy check ran for skipped."
    page = result.to_html()
    assert "No privacy check ran for skipped." in page and "no score column" in page


def test_groups_too_small_and_undefined_metrics_are_not_assessed():
    def with_region(sex):
        # region "north" has 10 rows (fewer than min_group_size=30); "pos" holds no negatives
        region = np.where(np.arange(len(sex)) < 10, "north", "south")
        only = np.where(np.arange(len(sex)) < 1000, "pos", "mixed")  # rows 0..999 positives of A
        return pd.DataFrame({"sex": sex, "region": region, "slice": only})

    reports = {
        "base": _report("base", CELLS["baseline"], sensitive=with_region),
        "other": _report("other", CELLS["mitigated"], sensitive=with_region),
    }
    region = compare_audits(reports, attribute="region")
    row = _row(region, "TPR gap", "other")
    assert row["verdict"] == "not assessed"
    assert "fewer than two region groups have at least 30 rows" in row["reason"]
    assert _row(region, "accuracy", "other")["verdict"] == "worse"  # overall still judged
    undefined = compare_audits(reports, attribute="slice")
    row = _row(undefined, "FPR gap", "other")
    assert row["verdict"] == "not assessed"
    assert "false_positive_rate is undefined in slice group(s) pos of other" in row["reason"]
    assert "fewer than two groups are left to compare" in row["reason"]
    assert "no negative labels" in row["reason"]


def test_different_confidence_levels_are_not_judged(pair):
    other = _report("mitigated", CELLS["mitigated"], ci=0.9)
    result = compare_audits({"baseline": pair["baseline"], "mitigated": other}, attribute="sex")
    assert set(result.changes["verdict"]) == {"not assessed"}
    assert result.changes["reason"].str.contains("different confidence levels").all()


def test_every_attribute_by_default(pair):
    def two(sex):
        return pd.DataFrame({"sex": sex, "age": np.tile(["young", "old"], len(sex) // 2)})

    reports = {
        "baseline": _report("baseline", CELLS["baseline"], sensitive=two),
        "mitigated": _report("mitigated", CELLS["mitigated"], sensitive=two),
    }
    result = compare_audits(reports)
    assert set(result.changes["attribute"]) == {"overall", "sex", "age", "sex & age"}
    assert result.meta["attributes"] == ["sex", "age", "sex & age"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"attribute": "race"}, "attribute 'race' was not audited; choose from ['sex']"),
        ({"baseline": "nope"}, "baseline 'nope' is not one of the reports"),
    ],
)
def test_bad_arguments_are_refused(pair, kwargs, message):
    with pytest.raises(ParameterError, match=re.escape(message)):
        compare_audits(pair, **kwargs)


def test_bad_reports_are_refused(pair):
    with pytest.raises(ParameterError, match="at least two AuditReports"):
        compare_audits({"only": pair["baseline"]})
    with pytest.raises(ParameterError, match=r"reports\['x'\] is not an AuditReport"):
        compare_audits({"baseline": pair["baseline"], "x": object()})


def test_json_round_trip(result):
    back = Result.from_json(result.to_json())
    pd.testing.assert_frame_equal(back.changes, result.changes)
    assert back.findings == result.findings and back.summary == result.summary


def test_page_opens_on_the_formatted_gains_and_costs_table(result):
    page = result.to_html(title="t")
    headings = re.findall(r"<h2>(.*?)</h2>", page)
    assert headings[0] == "What each model gained and cost"
    first = page.split("<h2>What each model gained and cost</h2>", 1)[1].split("<h2>", 1)[0]
    table = re.search(r"<table.*?</table>", first, re.DOTALL).group(0)
    header = re.findall(r"<th>(.*?)</th>", table)
    assert header[0] == "model"  # no index column
    cells = re.findall(r"<td>(.*?)</td>", table)
    assert '<span class="verdict-worse">worse</span>' in cells
    row = _row(result, "TPR gap")
    change = f"+0.300 [{row['change_lower']:+.3f}, {row['change_upper']:+.3f}]"
    assert f'<span class="number">{change}</span>' in cells  # numbers do not wrap
    cells = [
        htmllib.unescape(re.sub(r'^<span class="[a-z-]+">(.*)</span>$', r"\1", c)) for c in cells
    ]
    assert "TPR gap on sex" in cells and "lower" in cells
    assert "equal opportunity, equalized odds" in cells and "demographic parity" in cells
    assert not any(re.search(r"\d\.\d{4,}", c) for c in cells)  # rounded to three places
    # the tidy tables are folded away behind a disclosure
    assert re.search(r"<details><summary>.*?</summary>.*?<table", page, re.DOTALL)


def test_figure_has_one_mark_per_model_with_error_bars(result):
    (fig,) = result.figures()
    panels = {(t.xaxis, t.yaxis) for t in fig.data}
    assert len(panels) == len(fig.data)  # one trace per panel
    for trace in fig.data:
        assert trace.type == "scatter" and len(trace.x) == 2  # two models: two marks
        assert trace.error_y.array is not None
    titles = [a.text for a in fig.layout.annotations]
    assert "TPR gap (sex): lower is better" in titles and "accuracy: higher is better" in titles


def test_hostile_names_are_escaped():
    attack = "<script>alert(1)</script>"

    def hostile(sex):
        return pd.DataFrame({attack: np.where(sex == "A", "<img src=x onerror=alert(2)>", "B")})

    reports = {
        attack: _report("a", CELLS["baseline"], sensitive=hostile),
        '"><svg onload=alert(3)>': _report("b", CELLS["mitigated"], sensitive=hostile),
    }
    result = compare_audits(reports, attribute=attack)
    page = result.to_html(title=attack)
    for raw in (attack, "<svg onload", "<img src=x"):
        assert raw not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&quot;&gt;&lt;svg onload=alert(3)&gt;" in page
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", page, re.DOTALL)
    assert all("alert(" not in s.replace("\\u003c", "").split('"')[0] for s in scripts)


# --------------------------------------------------------------------------- raikit compare


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("compare")
    for name in ("baseline", "mitigated"):
        (root / name).mkdir()
        _report(name, CELLS[name]).to_json(root / name / "audit.json")
    return root


def test_compare_files_and_folders_with_the_cli_flags(folders):
    out = folders / "out"
    result = CliRunner().invoke(
        app,
        [
            "compare",
            str(folders / "mitigated" / "audit.json"),
            str(folders / "baseline"),  # a folder written by `raikit audit --out`
            "--baseline",
            "baseline",
            "--attribute",
            "sex",
            "--out",
            str(out),
        ],
        env={"COLUMNS": "220"},
    )
    assert result.exit_code == 0, result.output
    assert "Against the baseline baseline" in result.output
    assert "TPR gap on sex" in result.output and "+0.300" in result.output
    assert "warning: mitigated made" in result.output
    comparison = Result.from_json(str(out / "comparison.json"))
    assert comparison.meta["baseline"] == "baseline"
    tpr = comparison.changes.set_index("criterion").loc["TPR gap"]
    assert tpr["model"] == "mitigated" and tpr["verdict"] == "worse"
    assert (out / "comparison.html").read_text().count("What each model gained and cost") == 1


def test_compare_runs_of_a_ledger(tmp_path):
    from raikit.audit import audit
    from raikit.datasets import load_german_credit
    from raikit.ledger import Ledger

    ds = load_german_credit().replace(features=["duration_months", "credit_amount", "age"])
    train, test = ds.split(0.3, random_state=0)
    ledger = Ledger(tmp_path / ".raikit")
    runs = []
    for name, model in (
        ("logistic", LogisticRegression(max_iter=1000)),
        ("constant", DummyClassifier(strategy="most_frequent")),
    ):
        report = audit(
            model.fit(train.X, train.y),
            train=train,
            test=test,
            sections=["bias"],
            n_boot=50,
            random_state=0,
            ledger=ledger,
            name=name,
        )
        runs.append(report.meta["run_id"][:12])
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        ["compare", *runs, "--ledger", str(ledger.root), "--out", str(out)],
        env={"COLUMNS": "220"},
    )
    assert result.exit_code == 0, result.output
    comparison = Result.from_json(str(out / "comparison.json"))
    assert comparison.meta["models"] == ["logistic", "constant"]
    # a constant model selects everyone (or no one): its selection-rate gaps are 0
    gaps = comparison.table[
        (comparison.table["model"] == "constant")
        & (comparison.table["quantity"] == "selection_rate difference")
    ]
    assert (gaps["value"] == 0).all() and len(gaps) == 3  # sex, age_group, sex & age_group


def test_a_run_without_an_audit_report_is_refused(tmp_path, folders):
    from raikit.ledger import Ledger, track

    ledger = Ledger(tmp_path / ".raikit")
    with track("not an audit", ledger=ledger) as run:
        pass
    result = CliRunner().invoke(
        app, ["compare", run.id[:12], str(folders / "baseline"), "--ledger", str(ledger.root)]
    )
    assert isinstance(result.exception, DataError)
    assert "holds no audit report" in str(result.exception)


def test_a_file_that_is_not_an_audit_is_refused(tmp_path, folders):
    path = tmp_path / "other.json"
    path.write_text(
        json.dumps(_report("x", CELLS["baseline"]).results["metrics.group_metrics"].to_dict())
    )
    result = CliRunner().invoke(app, ["compare", str(path), str(folders / "baseline")])
    assert isinstance(result.exception, FileFormatError)
    assert "holds a GroupMetricsResult, not an audit report" in str(result.exception)


def test_findings_print_names_as_text_not_markup():
    """A model or column name in rich markup (``[/bold]``) once raised a MarkupError."""
    console = Console(record=True, width=200)
    print_findings([Finding("warning", "[/bold] model [red]x", "[link=javascript:1]y")], to=console)
    assert "[/bold] model [red]x — [link=javascript:1]y" in console.export_text()


@pytest.mark.parametrize(("rho", "floor", "ceiling"), [(0.0, 0.94, 0.96), (0.6, 0.99, 1.0)])
def test_change_interval_coverage_by_simulation(rho, floor, ceiling):
    """Normal estimates with 95% intervals: the interval of the change covers the true change in
    95% of draws when the audits are independent (within 1 point over 20,000 draws, 3 standard
    errors), and more often when they are positively correlated (two audits of the same rows).
    Under no true change, "better"/"worse" is then as rare as the interval's level promises."""
    from raikit.audit._compare import _changes

    rng = np.random.default_rng(0)
    n, sd_b, sd_m, z = 20_000, 0.02, 0.03, 1.959964
    shared = rng.standard_normal(n)
    noise_b = np.sqrt(rho) * shared + np.sqrt(1 - rho) * rng.standard_normal(n)
    noise_m = np.sqrt(rho) * shared + np.sqrt(1 - rho) * rng.standard_normal(n)
    true_b, true_m = 0.10, 0.10  # no true change
    b, m = true_b + sd_b * noise_b, true_m + sd_m * noise_m
    keys = [f"c{i}" for i in range(n)]

    def frame(model, value, sd):
        return pd.DataFrame(
            {
                "model": model, "attribute": "sex", "criterion": keys, "metric": "x",
                "measures": "", "higher_is_better": False, "value": value,
                "lower": value - z * sd, "upper": value + z * sd, "reason": "",
            }
        )  # fmt: skip

    values = pd.concat([frame("base", b, sd_b), frame("new", m, sd_m)], ignore_index=True)
    changes = _changes(values, "base", {"base": 0.95, "new": 0.95})
    covered = (changes["change_lower"] <= 0) & (changes["change_upper"] >= 0)
    assert floor <= covered.mean() <= ceiling
    assert (changes["verdict"] != "no clear change").mean() == pytest.approx(1 - covered.mean())


def test_audits_on_different_test_data_are_flagged(pair):
    assert not [f for f in compare_audits(pair).findings if "different test data" in f.title]
    other = _report("mitigated", CELLS["mitigated"])
    other.meta["test"] = {"name": "serving", "rows": 4000}
    pair_meta = dict(pair["baseline"].meta, test={"name": "test", "rows": 4000})
    base = AuditReport(
        scorecard=pair["baseline"].scorecard, results=pair["baseline"].results, meta=pair_meta
    )
    findings = compare_audits({"baseline": base, "mitigated": other}).findings
    flagged = [f for f in findings if f.title == "The audits were run on different test data"]
    assert len(flagged) == 1 and flagged[0].severity == "warning"
    assert "'serving' (4000 rows)" in flagged[0].detail
