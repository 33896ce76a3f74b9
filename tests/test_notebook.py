"""Results in a notebook: ``_repr_html_`` cards (summary, findings, main figure, table names),
escaped, cheap and never raising; plotly.js sent once per kernel session."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import raikit._html as raikit_html
from raikit import Dataset, Finding, Result
from raikit.datasets import load_german_credit

HOSTILE = "<script>alert(1)</script>"
HOSTILE_GROUP = '<img src=x onerror="alert(2)">'
OUR_SCRIPT = re.compile(r"<script>\(function \((?:module, exports, define|)\) \{.*?</script>", re.S)


def _without_our_scripts(card: str) -> str:
    """The card with raikit's own drawing scripts (and plotly.js) cut out."""
    return OUR_SCRIPT.sub("", card)


def _assert_escaped(card: str) -> None:
    text = _without_our_scripts(card)
    assert (
        "<script" not in text
        and "<img" not in text
        and "onerror=" not in text.replace("onerror=&quot;", "")
    )


@pytest.fixture(autouse=True)
def _new_kernel_session(monkeypatch):
    """Each test starts as a fresh kernel: plotly.js not sent yet."""
    monkeypatch.setitem(raikit_html._NOTEBOOK, "plotly_sent", False)


@pytest.fixture(scope="module")
def german():
    ds = load_german_credit().replace(features=["duration_months", "credit_amount", "age"])
    train, test = ds.split(0.3, random_state=0)
    model = LogisticRegression(max_iter=1000).fit(train.X, train.y)
    return model, train, test


@pytest.fixture(scope="module")
def hostile():
    """Predictions on a table whose sensitive column and groups are scripts."""
    rng = np.random.default_rng(0)
    n = 600
    group = rng.choice(["ok", HOSTILE_GROUP], size=n, p=[0.6, 0.4])
    x = rng.normal(size=n)
    y = (x + rng.normal(size=n) > 0).astype(int)
    pred = ((x > 0) | ((group == HOSTILE_GROUP) & (x > -1))).astype(int)
    frame = pd.DataFrame({"x": x, HOSTILE: group, "y": y, "pred": pred})
    return Dataset(frame, target="y", prediction="pred", sensitive=[HOSTILE])


# --------------------------------------------------------------------------- group metrics
def test_group_metrics_card_holds_summary_numbers_findings_figure_and_tables(hostile):
    from raikit.metrics import group_metrics_of

    result = group_metrics_of(hostile, n_boot=100, random_state=0)
    card = result._repr_html_()
    assert "Metrics by group" in card and "GroupMetricsResult" in card
    ratio = result.ratio()["selection_rate"].min()
    assert f"lowest selection-rate ratio {ratio:.3f}" in card  # the object's own number
    assert f"{len(result.findings)} finding(s)" in card
    assert result.findings and all(
        raikit_html.escape(f.title) in card for f in result.findings[:10]
    )
    # the first figure, with plotly.js (the first figure of this "kernel")
    assert card.count('class="raikit-figure"') + card.count('id="raikit-figure-') == 1
    assert "window.Plotly = Plotly" in card
    rows, columns = result.table.shape
    assert f"<code>table</code> ({rows:,} rows × {columns:,} columns)" in card
    assert "<table" not in card  # names and shapes, never the rows
    _assert_escaped(card)
    assert raikit_html.escape(HOSTILE) in card


def test_group_metrics_main_figure_is_the_first_of_its_figures(hostile):
    from raikit.metrics import group_metrics_of

    result = group_metrics_of(hostile, n_boot=20, random_state=0)
    assert result._main_figure().to_json() == result.figures()[0].to_json()


def test_plotly_js_goes_out_once_per_kernel_session(hostile, monkeypatch):
    from raikit.metrics import group_metrics_of

    result = group_metrics_of(hostile, n_boot=20, random_state=0)
    first, second, third = (result._repr_html_() for _ in range(3))
    assert "window.Plotly = Plotly" in first
    assert "window.Plotly = Plotly" not in second and "window.Plotly = Plotly" not in third
    assert len(second) < 200_000 < 1_000_000 < len(first)
    # every figure still draws itself once plotly.js is on the page
    assert "window.Plotly.newPlot(box" in second
    # Colab draws each output in its own frame: there every figure carries plotly.js
    monkeypatch.setitem(sys.modules, "google.colab", type(sys)("google.colab"))
    assert "window.Plotly = Plotly" in result._repr_html_()


def test_figure_json_cannot_close_its_script():
    import plotly.graph_objects as go

    text = raikit_html.notebook_figure_html(
        go.Figure(go.Bar(x=[f"</script>{HOSTILE}<!--", "a & b"], y=[1, 2]))
    )
    draw = text[text.index('<div id="raikit-figure-') :]
    assert draw.count("<script>") == 1 and draw.count("</script>") == 1
    assert "<!--" not in draw and "\\u003c!--" in draw and draw.count("\\u003cscript\\u003e") == 1
    assert "a \\u0026 b" in draw


# --------------------------------------------------------------------------- profile and slices
def test_profile_card(german):
    from raikit.data import profile

    _, train, _ = german
    result = profile(train, proxy_sample=0, random_state=0)
    card = result._repr_html_()
    assert "Data profile" in card
    assert raikit_html.escape(result.summary) in card
    assert f"{result.n_rows:,} rows" in card
    strong = result.strong_proxies
    assert len(strong) and all(f"{f} is a strong proxy" in card for f in strong["feature"])
    shapes = {name: frame.shape for name, frame in result.tables().items()}
    for name, (rows, columns) in shapes.items():
        assert f"<code>{name}</code> ({rows:,} row" in card
        assert f"× {columns:,} column" in card
    assert 'id="raikit-figure-' in card


def test_profile_card_escapes_hostile_names(hostile):
    from raikit.data import profile

    card = profile(hostile, proxy_sample=0, random_state=0)._repr_html_()
    _assert_escaped(card)


def test_slice_card_lists_the_slices_found(german):
    from raikit.evaluate import find_slices

    model, _, test = german
    # a model that only sees age: its loss is worse for some durations and amounts
    result = find_slices(model, test, random_state=0, effect_size=0.2, alpha=0.2)
    card = result._repr_html_()
    assert "Slices where the model does worse" in card and "SliceResult" in card
    assert raikit_html.escape(result.summary) in card
    n = len(result.slices)
    assert f"{n} problematic slice(s)" in card
    assert f"<code>slices</code> ({n:,} row" in card
    assert len(result.findings) >= 1
    for finding in sorted(result.findings, key=lambda f: f.severity != "warning")[:3]:
        assert raikit_html.escape(finding.title) in card


def test_slice_card_names_a_hostile_slice_escaped_with_its_numbers():
    from raikit.evaluate import find_slices

    rng = np.random.default_rng(1)
    n = 600
    group = rng.choice(["ok", HOSTILE_GROUP], size=n, p=[0.6, 0.4])
    y = rng.integers(0, 2, size=n)
    wrong = np.where(group == HOSTILE_GROUP, rng.random(n) < 0.8, rng.random(n) < 0.1)
    frame = pd.DataFrame({HOSTILE: group, "y": y, "pred": np.where(wrong, 1 - y, y)})
    data = Dataset(frame, target="y", prediction="pred", sensitive=[HOSTILE])
    result = find_slices(None, data, loss="zero_one", random_state=0)
    top = result.slices.iloc[0]
    assert top["slice"] == f"{HOSTILE} = {HOSTILE_GROUP}"  # the planted slice is found
    card = result._repr_html_()
    _assert_escaped(card)
    escaped = raikit_html.escape(top["slice"])
    assert f"top: {escaped} ({top['size']:,} rows, mean zero_one {top['mean_loss']:.4f}" in card
    assert f"Model underperforms on {escaped}" in card
    assert f"effect size {top['effect_size']:.2f}" in card


# --------------------------------------------------------------------------- robustness
@dataclass(frozen=True, eq=False)
class _BrokenResult(Result):
    table: pd.DataFrame
    findings: tuple = ()

    @property
    def summary(self) -> str:
        return f"Checked {len(self.table)} rows of {HOSTILE}."

    def figures(self) -> list:
        raise RuntimeError(f"no figure for {HOSTILE}")


@dataclass(frozen=True, eq=False)
class _PlainResult(Result):
    table: pd.DataFrame


def test_a_failing_figure_leaves_the_summary_and_says_so():
    findings = (
        *(Finding("warning", f"problem {i}") for i in range(13)),
        Finding("error", f"worst {HOSTILE}", slice=HOSTILE_GROUP),
    )
    result = _BrokenResult(table=pd.DataFrame({HOSTILE: [1, 2, 3]}), findings=findings)
    card = result._repr_html_()
    assert "Checked 3 rows of &lt;script&gt;" in card
    assert "The figure could not be drawn (RuntimeError: no figure for &lt;script&gt;" in card
    # the error first, then 9 warnings, then "and 4 more"
    assert card.index("worst &lt;script&gt;") < card.index("problem 0")
    assert "problem 8" in card and "problem 9" not in card and "and 4 more findings" in card
    assert "<code>table</code> (3 rows × 1 column)" in card
    _assert_escaped(card)


def test_a_failing_summary_does_not_hide_the_rest():
    @dataclass(frozen=True, eq=False)
    class _NoSummary(Result):
        findings: tuple = ()

        @property
        def summary(self) -> str:
            raise KeyError("value")

    card = _NoSummary(findings=(Finding("info", "still here"),))._repr_html_()
    assert "The summary could not be written (KeyError" in card and "still here" in card


@dataclass(frozen=True, eq=False)
class _TwoFigures(Result):
    first_is_empty: bool

    def figures(self) -> list:
        import plotly.graph_objects as go

        empty = go.Figure(go.Bar(x=[], y=[]), layout={"title": "nothing found"})
        return [empty, go.Figure(go.Bar(x=["a"], y=[3]), layout={"title": "the numbers"})][
            : 2 if self.first_is_empty else 1
        ]


def test_the_main_figure_is_the_first_with_something_to_draw():
    card = _TwoFigures(first_is_empty=True)._repr_html_()
    assert "the numbers" in card and "nothing found" not in card
    card = _TwoFigures(first_is_empty=False)._repr_html_()  # only an empty chart: none shown
    assert "raikit-figure-" not in card and "could not" not in card


def test_the_card_says_where_to_html_wrote_the_page(hostile, tmp_path):
    from raikit.metrics import group_metrics_of

    result = group_metrics_of(hostile, n_boot=20, random_state=0)
    before = result.to_dict()
    assert "Full report" not in result._repr_html_()
    result.to_html()  # no file: nothing to point at
    assert "Full report" not in result._repr_html_()
    path = tmp_path / "metrics.html"
    result.to_html(path)
    assert f"Full report: <code>{path}</code>" in result._repr_html_()
    assert result.to_dict() == before  # not a field: JSON and the ledger are unchanged
    base = _PlainResult(table=pd.DataFrame({"a": [1]}))
    base.to_html(tmp_path / "base.html")  # the base class's page
    assert str(tmp_path / "base.html") in base._repr_html_()


def test_card_rendering_recomputes_nothing(german, monkeypatch):
    """The card reads the result: no metric engine, no bootstrap, no model call."""
    import raikit._grouping as grouping
    import raikit.metrics._engine as engine
    from raikit.metrics import group_metrics_of

    model, _, test = german
    result = group_metrics_of(test.with_predictions(model), n_boot=20, random_state=0)
    expected = result._repr_html_()

    def refuse(*args, **kwargs):
        raise AssertionError("recomputed")

    for module, name in [(grouping, "encode_groups"), (type(model), "predict")] + [
        (engine, name) for name in ("build_slices", "confusion_counts", "poisson_scale")
    ]:
        monkeypatch.setattr(module, name, refuse)
    card = result._repr_html_()
    assert "could not" not in _without_our_scripts(card) and 'id="raikit-figure-' in card
    assert len(_without_our_scripts(card)) == len(_without_our_scripts(expected))


# --------------------------------------------------------------------------- the audit
def test_audit_card_shows_verdicts_numbers_top_findings_and_where_the_report_is(german, tmp_path):
    from raikit.audit import audit
    from raikit.ledger import Ledger

    model, train, test = german
    report = audit(
        model,
        train=train,
        test=test,
        sections=["bias", "accuracy"],
        n_boot=50,
        random_state=0,
        name=HOSTILE,
        ledger=Ledger(tmp_path / "ledger"),
    )
    card = report._repr_html_()
    assert f"Audit of {raikit_html.escape(HOSTILE)}" in card
    _assert_escaped(card)
    # one row per principle: its verdict, coloured, and the reason with its numbers
    for row in report.scorecard.itertuples(index=False):
        principle = row.principle.replace("_", " ").capitalize()
        assert re.search(
            rf"<td[^>]*>{re.escape(principle)}</td><td[^>]*>{re.escape(row.status)}</td>"
            rf"<td[^>]*>{re.escape(raikit_html.escape(row.reason))}</td>",
            card,
        ), principle
    accuracy = report.results["metrics.group_metrics"].overall["accuracy"]
    assert f"Test accuracy {accuracy:.3f}" in card
    # the most severe findings first, at most five, then how many more
    shown = re.findall(r"<li><b style=\"color: [^\"]+;\">(\w+)</b>", card)
    assert 1 <= len(shown) <= 5
    rank = {"error": 0, "warning": 1, "info": 2}
    assert shown == sorted(shown, key=rank.get)
    worst = min(rank[f.severity] for f in report.findings)
    assert rank[shown[0]] == worst
    distinct = len({(f.severity, f.title) for f in report.findings})
    if distinct > 5:
        assert f"and {distinct - 5} more findings" in card
    # where the full report is: the ledger run, then the file once written
    assert report.meta["run_id"][:12] in card and 'report.to_html("audit.html")' in card
    report.to_html(tmp_path / "audit.html")
    card = report._repr_html_()
    assert f"Full report: <code>{tmp_path / 'audit.html'}</code>" in card
    assert "<script" not in card  # no figure inline: the card is the summary
    assert len(card) < 30_000


def test_audit_card_leads_with_one_finding_per_check_and_merges_repeats():
    from raikit.audit._audit import AuditReport

    def f(severity, check, title, group=None):
        return Finding(severity, f"[{check}] {title}", "x" * 400, slice=group)

    findings = (
        *(f("warning", "metrics", f"small group {g}", g) for g in "abcd"),
        *(f("warning", "stress", "fails under noise", g) for g in "abc"),
        f("info", "profile", "note"),
        f("warning", "profile", "strong proxy"),
        f("error", "slices", "bad slice", HOSTILE_GROUP),
    )
    scorecard = pd.DataFrame(
        {"principle": ["bias"], "status": ["warn"], "reason": ["r"], "evidence": [""]}
    )
    card = AuditReport(scorecard=scorecard, results={}, findings=findings)._repr_html_()
    shown = re.findall(r"</b>: \[(\w+)\] ([^<—]+)", card)
    assert shown == [
        ("slices", "bad slice "),
        ("metrics", "small group a "),
        ("stress", "fails under noise (3 times) "),
        ("profile", "strong proxy "),
        ("metrics", "small group b "),
    ]
    assert "and 3 more findings" in card  # 8 distinct lines, 5 shown
    assert "x" * 299 + "…" in card and "x" * 300 not in card  # details cut short
    _assert_escaped(card)


def test_audit_card_of_a_report_read_back_from_json(german):
    from raikit.audit import audit
    from raikit.audit._audit import AuditReport

    model, train, test = german
    report = audit(model, train=train, test=test, sections=["bias"], n_boot=20, random_state=0)
    back = AuditReport.from_json(report.to_json())
    assert back._repr_html_() == report._repr_html_()


# --------------------------------------------------------------------------- in a browser
_BOXES = "div[id^='raikit-figure-']"  # the figure boxes of notebook cards


def _page(path, outputs) -> str:
    """A page holding notebook outputs, as an HTML export of the notebook does; its URL."""
    path.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>"
        + "".join(f'<div class="output">{output}</div>' for output in outputs)
        + "</body></html>",
        encoding="utf-8",
    )
    return path.as_uri()


@pytest.mark.slow
def test_cards_draw_every_figure_in_a_browser_with_one_plotly_js(german, tmp_path, browser):
    """Outputs as a notebook page (or its HTML export) holds them: every figure draws, offline,
    with plotly.js sent once, and the page logs no error."""
    from selenium.webdriver.common.by import By

    from raikit.data import profile
    from raikit.evaluate import find_slices
    from raikit.metrics import group_metrics_of

    model, train, test = german
    cards = [
        group_metrics_of(test.with_predictions(model), n_boot=50, random_state=0)._repr_html_(),
        profile(train, proxy_sample=0, random_state=0)._repr_html_(),
        find_slices(model, test, random_state=0)._repr_html_(),
    ]
    assert sum("window.Plotly = Plotly" in card for card in cards) == 1
    drawn = sum('id="raikit-figure-' in card for card in cards)
    assert drawn >= 2
    browser.set_window_size(1200, 2400)
    drawn_now = (
        "return [...document.querySelectorAll(\"div[id^='raikit-figure-']\")]"
        ".filter(box => box.querySelector('svg.main-svg')).length"
    )
    # in order, and with the output holding plotly.js last (outputs rendered out of order)
    for name, outputs in (("notebook", cards), ("reordered", [*cards[1:], cards[0]])):
        browser.open(_page(tmp_path / f"{name}.html", outputs))
        # every figure box is on the page, then every one of them is drawn
        assert len(browser.find_elements(By.CSS_SELECTOR, _BOXES)) == drawn
        assert browser.wait_for_plots(_BOXES, at_least=drawn, timeout=30) == drawn
        assert browser.find_elements(By.CSS_SELECTOR, "div[id^='raikit-figure-'] g.trace")
        assert browser.console_errors() == []
        assert "Waiting for plotly.js" not in browser.find_element(By.TAG_NAME, "body").text
    browser.save_screenshot(str(tmp_path / "notebook.png"))
    # without the output that held plotly.js (cleared, or not saved): a figure says why
    browser.open(_page(tmp_path / "cleared.html", cards[1:]))
    assert "Waiting for plotly.js" in browser.find_element(By.TAG_NAME, "body").text
    assert browser.execute_script(drawn_now) == 0
