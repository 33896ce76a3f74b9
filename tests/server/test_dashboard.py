"""The dashboard on a ledger holding real audits (a small Adult sample), a monitor with time
windows and runs with hostile names: every page over HTTP, then in headless Chromium (no console
errors, every figure drawn, the numbers shown equal the ledger's, labels apart, real clicks)."""

from __future__ import annotations

import hashlib
import html
import re
import socket
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import raikit
from raikit.ledger import Ledger, track
from raikit.metrics import group_metrics

TOKEN = "dashboard-token-0123"
SHOTS = Path("/tmp/dashboard-shots")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _fill(ledger: Ledger) -> dict:
    """Two audits (one with slices), a monitor over three days and two hostile runs."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    from raikit.audit import audit
    from raikit.datasets import load_adult
    from raikit.monitor import Monitor

    ds = load_adult()
    ds = ds.replace(
        frame=ds.frame.sample(6000, random_state=0).reset_index(drop=True),
        features=["age", "education_num", "hours_per_week", "marital_status"],
    )
    train, test = ds.split(0.5, random_state=0)
    boosted = HistGradientBoostingClassifier(
        categorical_features="from_dtype", max_iter=30, random_state=0
    ).fit(train.X, train.y)
    a = audit(boosted, train=train, test=test, n_boot=50, ledger=ledger, random_state=0,
              sections=["bias", "accuracy", "slices"])  # fmt: skip
    numeric = ds.replace(features=["age", "education_num", "hours_per_week"])
    train2, test2 = numeric.split(0.5, random_state=0)
    linear = LogisticRegression(max_iter=500).fit(train2.X, train2.y)
    b = audit(linear, train=train2, test=test2, n_boot=50, ledger=ledger, random_state=0,
              sections=["bias", "accuracy"])  # fmt: skip
    scored = test.with_predictions(boosted)
    frame = scored.frame
    current = frame.iloc[1500:].reset_index(drop=True)
    current["ts"] = pd.Timestamp("2026-03-01") + pd.to_timedelta(np.arange(len(current)), "min")
    reference = scored.replace(frame=frame.iloc[:1500].reset_index(drop=True))
    monitor = Monitor(reference, ledger=ledger, windows="8h", time_column="ts", n_boot=20)
    monitor.ingest(current)
    monitor.flush()
    small = group_metrics([1, 0, 1, 0], [1, 0, 0, 0], sensitive_features=list("aabb"), ci=None)
    for name in ("<script>alert(1)</script>", "../../etc/passwd"):
        with track(name, ledger=ledger) as run:
            run.log_evidence(small, check="metrics.group_metrics")
    # a ledger edited by hand: a run whose id is a path and whose name is a link
    with sqlite3.connect(ledger.db_path) as db:
        db.execute(
            "INSERT INTO runs (id, name, kind, status, started_at) VALUES (?, ?, ?, ?, ?)",
            ("../../etc/passwd", "javascript:alert(2)", "run", "finished", "2026-01-01T00:00:00"),
        )
    regression = group_metrics(
        [1.0, 2.0, 3.0, 4.0], [1.5, 2.0, 2.5, 4.5], sensitive_features=list("aabb"), n_boot=20
    )
    with track("regression", ledger=ledger) as run:
        run.log_evidence(regression, check="metrics.group_metrics")
    return {"a": a.meta["run_id"], "b": b.meta["run_id"]}


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    import uvicorn

    from raikit.server import create_app

    ledger = Ledger(tmp_path_factory.mktemp("dashboard") / "ledger")
    runs = _fill(ledger)
    port = _free_port()
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
    yield {"url": f"http://127.0.0.1:{port}", "ledger": ledger, **runs}
    server.should_exit = True
    thread.join(timeout=10)


def _get(url: str) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _response(url: str, *, token: str | None = TOKEN) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (lower-case names) and body bytes of a GET."""
    request = urllib.request.Request(url)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return (
                response.status,
                {k.lower(): v for k, v in response.headers.items()},
                response.read(),
            )
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def _evidence(ledger: Ledger, run: str, check: str):
    records = ledger.evidence(run=run, check=check)
    return records["id"].iloc[-1], ledger.load_evidence(records["id"].iloc[-1])


def _pages(d) -> dict[str, str]:
    a, b = d["a"], d["b"]
    return {
        "runs": "/",
        "run": f"/runs/{a}",
        "cohorts": f"/cohorts/{a}?attribute=sex&group=Female",
        "cohorts-intersection": f"/cohorts/{a}?attribute=sex+%26+race&group=Female+%26+Black"
        "&group=Male+%26+Black",
        "slices": f"/slices/{a}?sort=size&order=desc",
        "compare": f"/compare?a={a}&b={b}",
        "monitor": "/monitor",
        "model-card": f"/cards/{a}",
        "annex-iv": f"/cards/{a}/annex-iv",
        "lineage": f"/lineage/{a}",
        "report": f"/evidence/{_evidence(d['ledger'], a, 'audit.report')[0]}",
    }


# --------------------------------------------------------------------------- over HTTP
def test_every_page_answers(dashboard):
    for name, path in _pages(dashboard).items():
        status, body = _get(dashboard["url"] + path)
        assert status == 200, (name, body[:300])


def test_audit_runs_link_their_report_and_cards(dashboard):
    """The model-card column was always empty (it looked for runs of kind "audit")."""
    _, body = _get(dashboard["url"] + "/")
    for run in (dashboard["a"], dashboard["b"]):
        assert f'href="/cards/{run}"' in body and f'href="/cards/{run}/annex-iv"' in body
        report, _ = _evidence(dashboard["ledger"], run, "audit.report")
        assert f'href="/evidence/{report}"' in body
    assert f'href="/slices/{dashboard["a"]}"' in body
    assert f'href="/slices/{dashboard["b"]}"' not in body  # no slices section in that audit
    assert body.count('href="/cards/') == 4  # the hostile runs hold no audit: no card links


def test_hostile_run_names_stay_text(dashboard):
    _, body = _get(dashboard["url"] + "/")
    assert "<script>alert(1)" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert body.count("../../etc/passwd") == 1  # the hostile name, shown; the crafted id is not
    assert "javascript:alert(2)" in body  # a name, as text
    hrefs = re.findall(r'href="([^"]*)"', body)
    assert all(h.startswith("/") and not h.startswith("//") and ".." not in h for h in hrefs)
    assert _get(dashboard["url"] + "/cohorts/..%2F..%2Fetc")[0] in (400, 404)
    status, _ = _get(dashboard["url"] + f"/slices/{dashboard['a']}?sort=__class__")
    assert status == 400


def test_a_run_without_the_evidence_says_so(dashboard):
    ledger = dashboard["ledger"]
    hostile = ledger.runs().set_index("name").loc["../../etc/passwd", "id"]
    status, body = _get(dashboard["url"] + f"/cards/{hostile}")
    assert status == 404 and "holds no audit report" in body
    status, body = _get(dashboard["url"] + f"/slices/{dashboard['b']}")
    assert status == 404 and "holds no slices" in body
    status, body = _get(dashboard["url"] + f"/cohorts/{hostile}")  # a tiny binary table: fine
    assert status == 200 and "Cohort metrics" in body


def test_a_filter_on_the_group_table_pools_every_matching_group(dashboard):
    _, result = _evidence(dashboard["ledger"], dashboard["a"], "metrics.group_metrics")
    table = result.table.set_index(["attribute", "group", "metric"])["value"]
    women = table[("sex", "Female", "count")]
    query = "attribute=sex+%26+race&fa=sex&fv=Female&fa=race&fv="
    status, body = _get(dashboard["url"] + f"/cohorts/{dashboard['a']}?{query}")
    assert status == 200
    assert f"<tr><td>cohort</td><td>{women:,.0f}</td>" in body
    races = [g for g in result.table["group"].unique() if str(g).startswith("Female & ")]
    assert len(races) >= 3 and all(f"<tr><td>{html.escape(g)}</td>" in body for g in races)
    nobody = "attribute=sex+%26+race&fa=sex&fv=Nobody"
    status, body = _get(dashboard["url"] + f"/cohorts/{dashboard['a']}?{nobody}")
    assert "No recorded group matches the filter" in body


def test_a_regression_run_lacks_cohort_statistics(dashboard):
    run = dashboard["ledger"].runs().set_index("name").loc["regression", "id"]
    status, body = _get(dashboard["url"] + f"/cohorts/{run}")
    assert status == 200 and "lacks the sufficient statistics" in body


# --------------------------------------------------------------------------- plotly.js, cached
BUNDLE = Path(raikit.__file__).parent / "_static" / "plotly-basic.min.js"
IMMUTABLE = "public, max-age=31536000, immutable"
PLOTLY_TAG = re.compile(
    r'<script nonce="[^"]+" src="(/static/plotly-[0-9a-f]{12}\.min\.js)"></script>'
)


def test_plotly_js_is_served_at_its_content_hash_and_cached_for_good(dashboard):
    """Issue 19: every page downloaded the 1.4 MB bundle again (``no-store``)."""
    url = dashboard["url"]
    status, headers, page = _response(url + _pages(dashboard)["report"])
    assert status == 200 and headers["cache-control"] == "no-store"  # pages are never stored
    (src,) = PLOTLY_TAG.findall(page.decode())
    content = BUNDLE.read_bytes()
    assert src == f"/static/plotly-{hashlib.sha256(content).hexdigest()[:12]}.min.js"
    assert all(PLOTLY_TAG.findall(_get(url + p)[1]) == [src] for p in ("/monitor", "/compare"))
    status, headers, body = _response(url + src)
    assert status == 200 and body == content
    assert headers["cache-control"] == IMMUTABLE
    assert headers["content-type"].startswith("text/javascript")
    assert headers["x-content-type-options"] == "nosniff"  # the other headers stay
    assert headers["content-security-policy"].startswith("default-src 'none'")
    # any other digest (or spelling of this one) is no bundle, and that answer is not kept
    wrong = src.replace(src[15:27], f"{int(src[15:27], 16) ^ 1:012x}")
    for other in (wrong, src.upper(), src.replace(".min.js", ".js"), "/static/plotly-.min.js"):
        status, headers, _ = _response(url + other)
        assert status == 404 and headers["cache-control"] == "no-store", other
    status, headers, _ = _response(url + src, token=None)  # the token still guards it
    assert status == 401 and headers["cache-control"] == "no-store"
    status, headers, _ = _response(url + src, token="wrong")
    assert status == 401 and headers["cache-control"] == "no-store"


@pytest.mark.slow
def test_the_next_page_takes_plotly_js_from_the_browser_cache(dashboard, browser):
    """In Chromium: the first page downloads the bundle, the next pages do not."""
    pages = _pages(dashboard)
    assert _open(browser, dashboard["url"] + pages["report"]) == []
    (first,) = browser.resources(".min.js")  # the cache was empty at the start of the test
    assert first["transfer_size"] > BUNDLE.stat().st_size // 10  # fetched (compressed or not)
    assert first["delivery_type"] == ""
    for name in ("monitor", "compare", "report"):
        assert _open(browser, dashboard["url"] + pages[name]) == []
        (again,) = browser.resources(".min.js")
        assert again["name"] == first["name"]
        assert again["transfer_size"] == 0 and again["delivery_type"] == "cache", (name, again)


# --------------------------------------------------------------------------- in Chromium
@pytest.fixture
def browser(browser, dashboard):
    """The session's Chromium (tests/conftest.py), signed in to the dashboard."""
    browser.set_window_size(1280, 1400)
    browser.open(dashboard["url"] + f"/login?token={TOKEN}")
    return browser


def _open(browser, url: str) -> list:
    """Load ``url``, wait until every figure is drawn; the page's severe console messages."""
    browser.clear_console()  # drop messages of earlier pages
    browser.open(url)
    browser.wait_for_plots(timeout=30)
    time.sleep(0.2)
    return browser.console_errors()


FIGURES = {"cohorts": 1, "cohorts-intersection": 1, "slices": 1, "compare": 1, "monitor": 2,
           "lineage": 1}  # fmt: skip
SHOTS_OF = ("runs", "cohorts-intersection", "slices", "compare", "monitor", "lineage")


@pytest.mark.parametrize("name", ["runs", "run", "cohorts", "cohorts-intersection", "slices",
                                  "compare", "monitor", "model-card", "annex-iv", "lineage",
                                  "report"])  # fmt: skip
@pytest.mark.slow
def test_page_renders_without_console_errors(dashboard, browser, name):
    from selenium.webdriver.common.by import By

    severe = _open(browser, dashboard["url"] + _pages(dashboard)[name])
    assert severe == [], severe
    assert "Unauthorised" not in browser.page_source
    divs = browser.find_elements(By.CSS_SELECTOR, ".plotly-graph-div")
    drawn = browser.find_elements(By.CSS_SELECTOR, ".plotly-graph-div svg.main-svg")
    assert len(drawn) >= len(divs) >= FIGURES.get(name, 0)
    if name in SHOTS_OF:
        SHOTS.mkdir(parents=True, exist_ok=True)
        height = browser.execute_script("return document.body.scrollHeight")
        browser.set_window_size(1280, min(max(900, height + 40), 4000))
        assert browser.save_screenshot(str(SHOTS / f"{name}.png"))
        browser.set_window_size(1280, 1400)


def _cell(browser, table_css: str, row_text: str, column: str) -> str:
    from selenium.webdriver.common.by import By

    table = browser.find_element(By.CSS_SELECTOR, table_css)
    heads = [th.text.strip() for th in table.find_elements(By.CSS_SELECTOR, "thead th")]
    for tr in table.find_elements(By.CSS_SELECTOR, "tbody tr"):
        cells = [td.text.strip() for td in tr.find_elements(By.TAG_NAME, "td")]
        if row_text in cells:
            return cells[heads.index(column)]
    raise AssertionError(f"no row {row_text!r}")


@pytest.mark.slow
def test_cohort_numbers_equal_the_ledger_and_a_click_changes_the_cohort(dashboard, browser):
    from selenium.webdriver.common.by import By

    _, result = _evidence(dashboard["ledger"], dashboard["a"], "metrics.group_metrics")
    table = result.table.set_index(["attribute", "group", "metric"])["value"]
    assert _open(browser, dashboard["url"] + f"/cohorts/{dashboard['a']}?attribute=sex") == []
    shown = _cell(browser, "section table", "Female", "selection_rate")
    assert shown.startswith(f"{table[('sex', 'Female', 'selection_rate')]:.3f} [")
    rows = _cell(browser, "section table", "Female", "rows")
    assert rows == f"{table[('sex', 'Female', 'count')]:,.0f}"
    cohort = _cell(browser, "section table", "cohort", "accuracy")  # the cohort is Female alone
    assert cohort == _cell(browser, "section table", "Female", "accuracy")
    # tick Male too: the cohort becomes everyone, and its accuracy the overall one
    browser.find_element(By.CSS_SELECTOR, 'input[name="group"][value="Male"]').click()
    browser.find_element(By.ID, "cohort-submit").click()
    deadline = time.monotonic() + 30  # the form's GET lands on a URL naming both groups
    while "Male" not in browser.current_url and time.monotonic() < deadline:
        time.sleep(0.1)
    _open(browser, browser.current_url)
    overall = table[("overall", "overall", "accuracy")]
    assert _cell(browser, "section table", "cohort", "accuracy").startswith(f"{overall:.3f} [")
    assert _cell(browser, "section table", "rest", "rows") == "0"


@pytest.mark.slow
def test_slices_table_equals_the_ledger_and_sorts_on_click(dashboard, browser):
    from selenium.webdriver.common.by import By

    _, result = _evidence(dashboard["ledger"], dashboard["a"], "evaluate.find_slices")
    assert _open(browser, dashboard["url"] + f"/slices/{dashboard['a']}") == []
    table = browser.find_element(By.ID, "slice-table")
    rows = [
        [td.text for td in tr.find_elements(By.TAG_NAME, "td")]
        for tr in table.find_elements(By.CSS_SELECTOR, "tbody tr")
    ]
    assert [r[1] for r in rows] == list(result.slices["slice"])
    assert [r[3] for r in rows] == [f"{v:,}" for v in result.slices["size"]]
    browser.find_element(By.ID, "sort-size").click()  # descending by size
    _open(browser, browser.current_url)
    table = browser.find_element(By.ID, "slice-table")
    sizes = [
        int(tr.find_elements(By.TAG_NAME, "td")[3].text.replace(",", ""))
        for tr in table.find_elements(By.CSS_SELECTOR, "tbody tr")
    ]
    assert sizes == sorted(result.slices["size"], reverse=True)
    tree = browser.find_element(By.ID, "slice-tree")
    assert len(tree.find_elements(By.CSS_SELECTOR, "li[data-slice]")) >= len(result.slices)


@pytest.mark.slow
def test_compare_shows_both_runs_numbers_and_their_difference(dashboard, browser):
    a = _evidence(dashboard["ledger"], dashboard["a"], "metrics.group_metrics")[1].overall
    b = _evidence(dashboard["ledger"], dashboard["b"], "metrics.group_metrics")[1].overall
    assert (
        _open(browser, dashboard["url"] + f"/compare?a={dashboard['a']}&b={dashboard['b']}") == []
    )
    from selenium.webdriver.common.by import By

    tables = browser.find_elements(By.CSS_SELECTOR, "table.dataframe")
    headline = tables[-1]
    for tr in headline.find_elements(By.CSS_SELECTOR, "tbody tr"):
        cells = [td.text for td in tr.find_elements(By.TAG_NAME, "td")]
        if cells[:2] == ["overall", "accuracy"]:
            assert cells[2].startswith(f"{a['accuracy']:.3f} [")
            assert cells[3].startswith(f"{b['accuracy']:.3f} [")
            assert cells[4] == f"{b['accuracy'] - a['accuracy']:+.3f}"
            break
    else:
        raise AssertionError("no overall accuracy row")


@pytest.mark.slow
def test_lineage_labels_do_not_overlap(dashboard, browser):
    assert _open(browser, dashboard["url"] + f"/lineage/{dashboard['a']}") == []
    boxes = browser.execute_script(
        "return Array.from(document.querySelectorAll('.plotly-graph-div g.textpoint text'))"
        ".map(t => { const r = t.getBoundingClientRect(); "
        "return [r.left, r.top, r.right, r.bottom, t.textContent]; });"
    )
    assert len(boxes) >= 8  # 2 datasets, the run, the model, 4 evidence
    for i, (l1, t1, r1, b1, s1) in enumerate(boxes):
        for l2, t2, r2, b2, s2 in boxes[i + 1 :]:
            apart = r1 <= l2 or r2 <= l1 or b1 <= t2 or b2 <= t1
            assert apart, (s1, s2)


@pytest.mark.slow
def test_monitor_axis_shows_dates_not_window_numbers(dashboard, browser):
    assert _open(browser, dashboard["url"] + "/monitor") == []
    ticks = browser.execute_script(
        "return Array.from(document.querySelectorAll('.plotly-graph-div g.xtick text'))"
        ".map(t => t.textContent);"
    )
    assert ticks and all(re.search(r"[A-Z][a-z]{2}|\d\d:\d\d", t) for t in ticks), ticks
