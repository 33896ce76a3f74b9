"""Stored XSS: every HTML output escapes every name that comes from data.

One hostile dataset carries script payloads in its column names, category values, dataset, model,
file, run, check, monitor-group and review-item names and in every problem-definition field. Each
report (audit, group metrics, profile, drift, datasheet, evaluation, model card, Annex IV,
comparison), every file the CLI writes, and every dashboard page is rendered from it, then

- checked statically: no payload appears unescaped, no element carries an ``on*`` handler or a
  ``javascript:`` link, and every ``<script>`` is one that raikit wrote (Plotly's);
- opened in headless Chromium: no payload runs (``window.__pwned`` stays unset, the title unchanged).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from html.parser import HTMLParser
from urllib.parse import urlencode

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from raikit import save_model
from raikit._html import plotly_js
from raikit.dataset import Dataset

# Each payload, if it ever ran, would set window.__pwned (and the title).
PAYLOADS = {
    "script": "<script>window.__pwned=1;document.title='PWNED'</script>",
    "img": "<img src=x onerror=\"window.__pwned=2;document.title='PWNED'\">",
    "svg": '"><svg onload=window.__pwned=3>',
    "link": '<a href="javascript:window.__pwned=4">click</a>',
    "attr": "' onmouseover='window.__pwned=5' x='",
    "js": "javascript:window.__pwned=6",
    "close": "</title></textarea></style><script>window.__pwned=7</script>",
}
SENSITIVE = "sex<script>window.__pwned=11</script>"
AGE = "age<img src=x onerror=window.__pwned=12>"
INCOME = 'income"><svg onload=window.__pwned=13>'
JOB = "job<a href=javascript:window.__pwned=14>j</a>"
TARGET = "label<script>window.__pwned=15</script>"
MODEL_FILE = "<img src=x onerror=window.__pwned=16>.skops"  # a file name the CLI records
PROBLEM = {
    "name": PAYLOADS["svg"],
    "provider": PAYLOADS["script"],
    "version": PAYLOADS["close"],
    "intended_use": PAYLOADS["link"],
    "intended_users": PAYLOADS["img"],
    "out_of_scope_uses": PAYLOADS["attr"],
    "consequences_of_failure": PAYLOADS["js"],
    "human_oversight": PAYLOADS["script"],
    "worker_impact": PAYLOADS["img"],
    "ethical_considerations": PAYLOADS["svg"],
    "risk_management": PAYLOADS["link"],
    "standards": PAYLOADS["close"],
    "post_market_monitoring": PAYLOADS["img"],
}
# The strings that must never appear as they are (they would open a tag).
# The dashboard loads plotly.js from a URL naming its content's SHA-256.
PLOTLY_SRC = f"/static/plotly-{hashlib.sha256(plotly_js().encode()).hexdigest()[:12]}.min.js"
RAW = [p for p in [*PAYLOADS.values(), SENSITIVE, AGE, INCOME, JOB, TARGET, MODEL_FILE] if "<" in p]


def hostile_frame(n: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age, income = rng.normal(size=n), rng.normal(size=n)
    group = rng.choice([PAYLOADS["img"], PAYLOADS["svg"], PAYLOADS["script"]], n)
    label = (age + rng.normal(size=n) + (group == PAYLOADS["img"]) > 0).astype(int)
    return pd.DataFrame(
        {
            SENSITIVE: group,
            AGE: age,
            INCOME: income,
            JOB: rng.choice([PAYLOADS["js"], PAYLOADS["link"], PAYLOADS["attr"]], n),
            TARGET: label,
        }
    )


def hostile_dataset(frame=None, *, name=PAYLOADS["script"]) -> Dataset:
    frame = hostile_frame() if frame is None else frame
    return Dataset(frame, target=TARGET, sensitive=[SENSITIVE], features=[AGE, INCOME], name=name)


class _Audit(HTMLParser):
    """Collects what a payload would need: handlers, script links, foreign tags and scripts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.scripts: list[tuple[dict, str]] = []
        self._in_script: dict | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in {"img", "svg", "iframe", "object", "embed", "base", "meta"} and tag != "meta":
            self.problems.append(f"foreign <{tag}>")
        for key, value in attrs.items():
            if key.startswith("on"):
                self.problems.append(f"handler {key}={value!r} on <{tag}>")
            if key in {"href", "src", "action", "formaction", "xlink:href"} and value:
                if value.strip().lower().startswith(("javascript:", "data:", "vbscript:")):
                    self.problems.append(f"{key}={value!r} on <{tag}>")
        if tag == "script":
            self._in_script, self._text = attrs, []

    def handle_data(self, data):
        if self._in_script is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "script" and self._in_script is not None:
            self.scripts.append((self._in_script, "".join(self._text)))
            self._in_script = None


def assert_inert(page: str, *, where: str) -> None:
    """No payload is unescaped; the only scripts are Plotly's bundle and figure scripts."""
    leaked = [p for p in RAW if p in page]
    assert leaked == [], f"{where}: unescaped payload(s) {leaked}"
    parser = _Audit()
    parser.feed(page)
    assert parser.problems == [], f"{where}: {parser.problems}"
    for attrs, text in parser.scripts:
        body = text.lstrip()
        if attrs.get("type") == "application/json":  # a figure's data: parsed, never run
            assert set(attrs) - {"nonce"} == {"type", "id"} and attrs["id"].startswith("fig-")
            json.loads(body)  # valid JSON: nothing spills out of the block
            assert "<" not in body and ">" not in body, f"{where}: raw tag text in figure data"
            continue
        ours = (
            attrs.get("src") == PLOTLY_SRC
            or body.startswith("/**")  # the inlined plotly.js bundle
            or body.startswith("/* raikit: draw figures */")  # draws the page's figures
        )
        assert ours, f"{where}: a script raikit did not write: {body[:80]!r}"


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """Every report, rendered from the hostile data (name -> HTML text)."""
    from raikit.audit import audit, compare_audits
    from raikit.cards import annex_iv, model_card
    from raikit.data import datasheet, drift, profile
    from raikit.evaluate import evaluate
    from raikit.metrics import group_metrics

    ds = hostile_dataset()
    train, test = ds.split(0.4, random_state=0)
    model = LogisticRegression().fit(train.X, train.y)
    report = audit(model, train=train, test=test, n_boot=30, name=PAYLOADS["img"], problem=PROBLEM)
    other = audit(model, train=train, test=test, n_boot=30, name=PAYLOADS["svg"])
    frame = test.frame
    pages = {
        "audit": report.to_html(),
        "audit (custom title)": report.to_html(title=PAYLOADS["close"]),
        "model card": model_card(report, problem=PROBLEM).to_html(),
        "annex iv": annex_iv(report, problem=PROBLEM).to_html(),
        "comparison": compare_audits({PAYLOADS["img"]: report, PAYLOADS["script"]: other}).to_html(
            title=PAYLOADS["svg"]
        ),
        "group metrics": group_metrics(
            frame[TARGET], model.predict(test.X), sensitive_features=frame[[SENSITIVE]], n_boot=30
        ).to_html(title=PAYLOADS["script"]),
        "profile": profile(ds).to_html(title=PAYLOADS["img"]),
        "drift": drift(reference=train, current=test).to_html(),
        "datasheet": datasheet(ds).to_html(),
        "evaluate": evaluate(model, test, n_boot=30).to_html(),
    }
    return pages


@pytest.mark.parametrize(
    "name",
    [
        "audit",
        "audit (custom title)",
        "model card",
        "annex iv",
        "comparison",
        "group metrics",
        "profile",
        "drift",
        "datasheet",
        "evaluate",
    ],
)
def test_report_escapes_every_name(reports, name):
    page = reports[name]
    assert_inert(page, where=name)
    # The names are still there, escaped (the report stays useful).
    assert "sex&lt;script&gt;window.__pwned=11&lt;/script&gt;" in page or name in {
        "datasheet",
        "evaluate",
        "profile",
        "drift",
    }


def test_card_title_and_fields_show_the_escaped_problem_definition(reports):
    page = reports["model card"]
    assert "<title>Model card: &quot;&gt;&lt;svg onload=window.__pwned=3&gt;</title>" in page
    assert "&lt;a href=&quot;javascript:window.__pwned=4&quot;&gt;click&lt;/a&gt;" in page


def test_the_old_scorecard_hole_is_closed(reports):
    """The scorecard used ``escape=False``: a sensitive column named ``<script>`` ran in audit.html."""
    page = reports["audit"]
    table = page.split('<a id="summary"></a>')[1].split("</table>")[0]  # the verdict table
    assert "&lt;script&gt;" in table or "script" not in table
    assert '<span class="status-' in table  # statuses keep their colour classes


@pytest.fixture(scope="module")
def cli_out(tmp_path_factory):
    """The CLI's audit of a model whose file name is a payload: audit.html, cards, the ledger."""
    from typer.testing import CliRunner

    from raikit.cli import app

    folder = tmp_path_factory.mktemp("cli")
    frame = hostile_frame()
    frame.iloc[:360].to_csv(folder / "train.csv", index=False)
    frame.iloc[360:].to_csv(folder / "test.csv", index=False)
    model = LogisticRegression().fit(frame[[AGE, INCOME]].iloc[:360], frame[TARGET].iloc[:360])
    save_model(model, folder / MODEL_FILE)
    problem = folder / "problem.yaml"
    import yaml

    problem.write_text(yaml.safe_dump(PROBLEM), encoding="utf-8")
    out = folder / "out"
    result = CliRunner().invoke(
        app,
        [
            "audit",
            "--train",
            str(folder / "train.csv"),
            "--test",
            str(folder / "test.csv"),
            "--model",
            str(folder / MODEL_FILE),
            "--target",
            TARGET,
            "--sensitive",
            SENSITIVE,
            "--features",
            f"{AGE},{INCOME}",
            "--n-boot",
            "20",
            "--problem",
            str(problem),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    return out


def test_markdown_cards_carry_no_raw_html_or_links(cli_out):
    """Markdown renderers pass raw HTML through: the cards' Markdown escapes it, and links."""
    import re

    for name in ("model_card.md", "annex_iv.md"):
        text = (cli_out / name).read_text(encoding="utf-8")
        assert [p for p in RAW if p in text] == [], name
        assert not re.search(r"<[a-zA-Z/!]", text), name  # no tag at all
        assert not re.search(r"(?<!\\)\]\(", text), name  # no [text](target) link
        assert "&lt;svg onload=window.__pwned=3&gt;" in text  # the answers are still there


def test_cli_audit_files_are_inert(cli_out):
    pages = sorted(cli_out.glob("*.html"))
    assert {p.name for p in pages} >= {"audit.html", "model_card.html", "annex_iv.html"}
    for path in pages:
        assert_inert(path.read_text(encoding="utf-8"), where=path.name)


# --------------------------------------------------------------------------- the dashboard
TOKEN = "xss-test-token-0123456789"


@pytest.fixture(scope="module")
def dashboard(cli_out):
    """A live dashboard over the CLI's ledger plus hostile evidence, monitor and review queue."""
    import socket

    import uvicorn

    from raikit.ledger import Ledger
    from raikit.metrics import group_metrics
    from raikit.monitor import Monitor
    from raikit.review import ReviewQueue
    from raikit.server import create_app

    ledger = Ledger(cli_out / ".raikit")
    frame = hostile_frame(seed=1)
    result = group_metrics(
        frame[TARGET], frame[TARGET], sensitive_features=frame[[SENSITIVE]], n_boot=20
    )
    run = ledger.start_run(PAYLOADS["img"], kind=PAYLOADS["svg"], params={JOB: PAYLOADS["link"]})
    evidence = run.log_evidence(result, check=PAYLOADS["script"])
    run.end()
    reference = hostile_dataset(frame.iloc[:300].reset_index(drop=True))
    reference = reference.replace(
        frame=reference.frame.assign(prediction=reference.frame[TARGET]), prediction="prediction"
    )
    current = frame.iloc[300:].assign(prediction=frame[TARGET].iloc[300:].to_numpy())
    Monitor(reference, ledger=ledger, windows=100, n_boot=10, name="m").ingest(current)
    ReviewQueue(ledger, name="q").add(
        frame[[AGE, JOB]].head(3),
        prediction=[PAYLOADS["img"], 0, 1],
        confidence=[0.5, 0.6, 0.7],
        group=[PAYLOADS["svg"], PAYLOADS["script"], PAYLOADS["attr"]],
        item_ids=[PAYLOADS["script"], PAYLOADS["img"], PAYLOADS["link"]],
    )
    audit_run = ledger.evidence(check="audit.report")["run_id"].iloc[0]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(ledger, token=TOKEN), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    paths = [
        "/",
        f"/runs/{audit_run}",
        f"/runs/{run.id}",
        f"/evidence/{evidence}",
        f"/lineage/{audit_run}",
        f"/cards/{audit_run}",
        "/monitor?name=m",
        "/review?queue=q",
    ]
    audit_evidence = ledger.run(audit_run)["evidence"]["id"].tolist()
    paths += [f"/evidence/{e}" for e in audit_evidence[:3]]  # the rest render like reports
    # the dashboard's own views: cohorts of hostile groups (one picked by its hostile name),
    # the audit's slices, its Annex IV view and the comparison page
    hostile_group = str(frame[SENSITIVE].iloc[0])
    query = urlencode({"attribute": SENSITIVE, "group": hostile_group})
    paths += [f"/cohorts/{run.id}", f"/cohorts/{run.id}?{query}", f"/cohorts/{audit_run}"]
    paths += [f"/cards/{audit_run}/annex-iv", "/compare"]
    if len(ledger.evidence(run=audit_run, check="evaluate.find_slices")):
        paths.append(f"/slices/{audit_run}")
    yield {"url": f"http://127.0.0.1:{port}", "paths": paths}
    server.should_exit = True
    thread.join(timeout=10)


def _fetch(url: str) -> tuple[int, str]:
    import urllib.request

    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status, response.read().decode()


def test_every_dashboard_page_is_inert(dashboard):
    for path in dashboard["paths"]:
        status, page = _fetch(dashboard["url"] + path)
        assert status == 200, path
        assert_inert(page, where=path)
    status, index = _fetch(dashboard["url"] + "/")
    # The model file's name is shown, escaped, in the runs table, and the audit links its card.
    assert "&lt;img src=x onerror=window.__pwned=16&gt;" in index
    assert f'href="/cards/{dashboard["paths"][1].split("/")[-1]}"' in index


# --------------------------------------------------------------------------- in a real browser
def _assert_nothing_ran(browser, where: str) -> None:
    from selenium.webdriver.common.by import By

    browser.wait_for_plots(timeout=30, where=where)
    # Hover over every legend and tick label: hover text is where Plotly shows names too.
    from selenium.webdriver.common.action_chains import ActionChains

    for element in browser.find_elements(By.CSS_SELECTOR, "g.legendtext, g.xtick text")[:6]:
        try:
            ActionChains(browser).move_to_element(element).perform()
        except Exception:
            continue
    for element in browser.find_elements(By.CSS_SELECTOR, "g.trace.bars path, g.points path")[:6]:
        try:
            ActionChains(browser).move_to_element(element).perform()
        except Exception:
            continue
    # After Plotly has drawn every label: no element anywhere (SVG included) carries an event
    # handler or a script link, and no foreign element was created.
    found = browser.execute_script(
        """
        const bad = [];
        for (const el of document.querySelectorAll('*')) {
          const tag = el.tagName.toLowerCase();
          if (['img', 'iframe', 'object', 'embed'].includes(tag)) bad.push(tag);
          for (const a of el.attributes) {
            const v = (a.value || '').trim().toLowerCase();
            if (a.name.startsWith('on')) bad.push(tag + ' ' + a.name);
            if (a.name.endsWith('href') && v.startsWith('javascript:')) bad.push(tag + ' ' + v);
          }
        }
        return bad;
        """
    )
    assert found == [], f"{where}: {found[:5]}"
    pwned = browser.execute_script("return window.__pwned === undefined ? null : window.__pwned;")
    assert pwned is None, f"{where}: payload {pwned} ran"
    assert browser.title != "PWNED", where


@pytest.mark.parametrize("name", ["audit", "model card", "annex iv", "comparison", "profile"])
@pytest.mark.slow
def test_no_payload_runs_in_reports(reports, browser, tmp_path, name):
    path = tmp_path / "page.html"
    path.write_text(reports[name], encoding="utf-8")
    browser.open(path)
    _assert_nothing_ran(browser, name)


@pytest.mark.slow
def test_no_payload_runs_on_dashboard_pages(dashboard, browser):
    browser.open(f"{dashboard['url']}/login?token={TOKEN}")
    browser.clear_console()
    for path in dashboard["paths"]:
        browser.open(dashboard["url"] + path)
        _assert_nothing_ran(browser, path)
        # raikit's own scripts all carry the nonce: the policy blocks nothing on a clean page.
        blocked = [
            entry["message"]
            for entry in browser.get_log("browser")
            if "Content Security Policy" in entry["message"]
        ]
        assert blocked == [], (path, blocked)


@pytest.mark.slow
def test_a_script_slipped_into_a_saved_report_is_blocked_by_its_policy(reports, browser, tmp_path):
    """Defence in depth: were an escape ever missed, the file's CSP still stops the script."""
    page = reports["audit"]
    assert page.count('http-equiv="Content-Security-Policy"') == 1
    injected = page.replace(
        "<h2>Summary</h2>",
        "<h2>Summary</h2><script>window.__pwned=90</script>"
        "<img src=x onerror=window.__pwned=91><svg onload=window.__pwned=92></svg>",
        1,
    )
    assert injected != page
    path = tmp_path / "tampered.html"
    path.write_text(injected, encoding="utf-8")
    browser.open(path)
    browser.wait_for_plots(timeout=30)  # raikit's own scripts (plotly.js and every figure) run
    time.sleep(0.5)
    assert browser.execute_script("return window.__pwned === undefined;")
