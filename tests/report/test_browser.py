"""The audit report in a real browser: headless Chromium opens it offline, with no console errors,
and every figure renders."""

from __future__ import annotations

import shutil

import pytest
from sklearn.linear_model import LogisticRegression

from raikit.audit import audit
from raikit.datasets import load_german_credit

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None or CHROMEDRIVER is None,
        reason="needs Debian's chromium and chromium-driver (make test installs them as root)",
    ),
]


@pytest.fixture(scope="module")
def report_path(tmp_path_factory):
    ds = load_german_credit()
    ds = ds.replace(features=["duration_months", "credit_amount", "age"])
    train, test = ds.split(0.3, random_state=0)
    model = LogisticRegression(max_iter=1000).fit(train.X, train.y)
    path = tmp_path_factory.mktemp("report") / "audit.html"
    audit(model, train=train, test=test, n_boot=100).to_html(path)
    return path


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,1600",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def test_report_renders_every_figure_without_console_errors(report_path, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(report_path.as_uri())
    figures = browser.find_elements(By.CSS_SELECTOR, "div.figure .plotly-graph-div")
    assert len(figures) >= 7
    # Plotly draws an <svg class="main-svg"> inside each graph once it has rendered.
    WebDriverWait(browser, 30).until(
        lambda d: (
            len(d.find_elements(By.CSS_SELECTOR, "div.figure .plotly-graph-div svg.main-svg"))
            >= len(figures)
        )
    )
    bars = browser.find_elements(By.CSS_SELECTOR, "g.trace.bars path")
    assert len(bars) > 0
    severe = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert severe == []
    assert browser.find_element(By.CSS_SELECTOR, 'a[href="#fair"]').is_displayed()
    shot = tmp_path / "report.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
