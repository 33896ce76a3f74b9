"""The dashboard over HTTP (a real uvicorn server): token, traversal and size limits, pages, and a
review decision made with a real click in headless Chromium."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest

from raikit.ledger import Ledger
from raikit.metrics import group_metrics
from raikit.review import ReviewQueue

TOKEN = "test-token-123"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory, adult_scored):
    import uvicorn

    from raikit.monitor import Monitor
    from raikit.server import create_app

    ledger = Ledger(tmp_path_factory.mktemp("ui") / "ledger")
    frame = adult_scored.frame
    result = group_metrics(
        frame["income"], frame["prediction"], sensitive_features=frame[["sex"]], ci=0.95, n_boot=50
    )
    evidence_id = ledger.log_evidence(result, check="metrics.group_metrics")
    queue = ReviewQueue(ledger)
    ids = queue.add(
        frame[["age", "education"]].head(3),
        prediction=[1, 0, 1],
        confidence=[0.51, 0.55, 0.6],
        item_ids=["a", "b", "c"],
    )
    ref = adult_scored.replace(frame=frame.iloc[:6000].reset_index(drop=True))
    Monitor(ref, ledger=ledger, windows=3000, n_boot=20).ingest(frame.iloc[6000:12000])
    port = _free_port()
    config = uvicorn.Config(
        create_app(ledger, token=TOKEN), host="127.0.0.1", port=port, log_level="warning"
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(100):
        if srv.started:
            break
        time.sleep(0.05)
    yield {"url": f"http://127.0.0.1:{port}", "evidence": evidence_id, "ids": ids, "ledger": ledger}
    srv.should_exit = True
    thread.join(timeout=10)


def _get(url, *, token=TOKEN, data=None, headers=None):
    request = urllib.request.Request(url, data=data, headers=dict(headers or {}))
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_token_is_required(server):
    assert _get(server["url"] + "/", token=None)[0] == 401
    assert _get(server["url"] + "/", token="wrong")[0] == 401
    assert _get(server["url"] + "/login?token=wrong", token=None)[0] == 401
    status, body = _get(server["url"] + "/")
    assert status == 200 and "metrics.group_metrics" in body


def test_traversal_and_oversized_requests_are_refused(server):
    for path in (
        "/evidence/..%2F..%2Fetc%2Fpasswd",
        "/evidence/../../etc/passwd",
        "/runs/%2e%2e",
        "/review?queue=../x",
    ):
        status, _ = _get(server["url"] + path)
        assert status in (400, 404), path
    big = b"x" * (70 * 1024)
    status, _ = _get(server["url"] + f"/review/{server['ids'][0]}/decide", data=big)
    assert status == 413


def test_pages_render(server):
    status, body = _get(server["url"] + f"/evidence/{server['evidence']}")
    assert status == 200 and "selection" in body.lower()
    status, body = _get(server["url"] + "/monitor")
    assert status == 200 and "Drift (PSI) per window" in body
    status, body = _get(server["url"] + "/review")
    assert status == 200 and "3 item(s)" in body
    # a form post without the form token is refused (no cross-site decisions)
    status, _ = _get(
        server["url"] + f"/review/{server['ids'][2]}/decide", data=b"decision=1&reviewer=eve"
    )
    assert status == 403


@pytest.mark.slow
def test_decide_a_review_item_with_a_real_click(browser, server):  # no Chromium: skip first
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.open(server["url"] + "/review")
    assert "Unauthorised" in browser.page_source  # no token, no page
    browser.open(server["url"] + f"/login?token={TOKEN}")
    browser.open(server["url"] + f"/evidence/{server['evidence']}")
    assert browser.wait_for_plots(at_least=1, timeout=30) >= 1
    browser.open(server["url"] + "/review")
    item = server["ids"][1]
    row = browser.find_element(By.ID, f"item-{item}")
    row.find_element(By.NAME, "decision").send_keys("0")
    row.find_element(By.NAME, "reviewer").send_keys("ana")
    browser.find_element(By.ID, f"decide-{item}").click()
    # the click posts the form and reloads the page: elements of the old page go stale
    WebDriverWait(
        browser.driver,
        30,
        ignored_exceptions=(StaleElementReferenceException, NoSuchElementException),
    ).until(lambda d: "decided" in d.find_element(By.ID, f"item-{item}").text)
    stored = ReviewQueue(Ledger(server["ledger"].root)).get(item)
    assert stored["status"] == "decided" and stored["decision"] == 0
    assert stored["reviewer"] == "ana"
    assert json.loads(json.dumps(stored["decision"])) == np.int64(0)
