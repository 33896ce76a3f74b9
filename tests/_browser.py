"""Headless Chromium for the browser tests: one driver per test session (per pytest-xdist worker).

:func:`start` launches Debian's chromium through its chromedriver; :class:`Browser` wraps the
driver with what the tests share: :meth:`Browser.open` navigates and then waits for the page's
load (Selenium's ``get()`` can return before it on a loaded machine), the severe console messages,
the page's navigation and resource timings, and a wait for every Plotly figure to be drawn.
Every other attribute (``find_element``, ``execute_script``, ...) is the driver's own.
"""

from __future__ import annotations

import shutil
from pathlib import Path

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
MISSING = "needs Debian's chromium and chromium-driver (make test installs them as root)"
WINDOW = (1280, 1600)  # the default window; a test may resize, the next one starts from this
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
LOAD_TIMEOUT = 120  # seconds for a page and its scripts to load (a shared CI runner is slow)
GRAPHS = ".plotly-graph-div"  # a Plotly figure; once drawn it holds an <svg class="main-svg">

_DRAWN = (
    "return Array.from(document.querySelectorAll(arguments[0]))"
    ".filter(function (d) { return d.querySelector('svg.main-svg'); }).length;"
)
_TIMING = (
    "var t = performance.getEntriesByType('navigation')[0];"
    "return t && t.loadEventEnd > 0 ? {interactive: t.domInteractive, loaded: t.loadEventEnd,"
    " content_loaded: t.domContentLoadedEventEnd} : null;"
)
_RESOURCES = (
    "return performance.getEntriesByType('resource').map(function (r) { return {"
    "name: r.name, transfer_size: r.transferSize, encoded_size: r.encodedBodySize,"
    " delivery_type: r.deliveryType === undefined ? null : r.deliveryType,"
    " duration: r.duration}; });"
)


def start():
    """A new headless Chromium driver (the caller quits it); its console log is kept."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--window-size={WINDOW[0]},{WINDOW[1]}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(LOAD_TIMEOUT)
    return driver


class Browser:
    """A Chromium driver with the waits and readings the browser tests share."""

    def __init__(self, driver) -> None:
        self.driver = driver

    def __getattr__(self, name):
        return getattr(self.driver, name)

    def reset(self) -> None:
        """A clean slate for the next test: a blank page, no cookies, no cache, an empty console
        log and the default window size (the driver itself is shared by the whole session)."""
        self.driver.get("about:blank")
        self.driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
        self.driver.execute_cdp_cmd("Network.clearBrowserCache", {})
        self.driver.set_window_size(*WINDOW)
        self.clear_console()

    def open(self, target: str | Path, *, timeout: float = LOAD_TIMEOUT) -> str:
        """Navigate to ``target`` (a URL, or a local file's path) and wait for its load event.

        Returns the URL. Raises ``TimeoutException`` naming the URL if the document is not
        ``complete`` within ``timeout`` seconds.
        """
        from selenium.common.exceptions import JavascriptException
        from selenium.webdriver.support.ui import WebDriverWait

        url = target.as_uri() if isinstance(target, Path) else str(target)
        self.driver.get(url)
        WebDriverWait(self.driver, timeout, ignored_exceptions=(JavascriptException,)).until(
            lambda d: d.execute_script("return document.readyState") == "complete",
            message=f"{url}: document.readyState did not become 'complete' in {timeout} s",
        )
        return url

    def clear_console(self) -> None:
        """Forget the console messages logged so far (the log is read destructively)."""
        self.driver.get_log("browser")

    def console_errors(self) -> list[dict]:
        """The SEVERE console messages logged since the last read of the log."""
        return [entry for entry in self.driver.get_log("browser") if entry["level"] == "SEVERE"]

    def timings(self, *, timeout: float = LOAD_TIMEOUT) -> dict[str, float]:
        """Milliseconds from the start of navigation to ``interactive`` (DOM parsed),
        ``content_loaded`` (its handlers run) and ``loaded`` (the load event's handlers run).

        Waits for the load event to end first: until then the navigation entry reads 0.
        """
        from selenium.webdriver.support.ui import WebDriverWait

        return WebDriverWait(self.driver, timeout).until(
            lambda d: d.execute_script(_TIMING),
            message=f"{self.driver.current_url}: the load event did not end in {timeout} s",
        )

    def resources(self, suffix: str = "") -> list[dict]:
        """Performance entries of the resources the page loaded whose URL ends in ``suffix``:
        ``name``, ``transfer_size`` (0 when served from the browser's cache), ``encoded_size``,
        ``delivery_type`` ("cache" for a cache hit where the browser reports it) and
        ``duration`` in milliseconds."""
        return [r for r in self.driver.execute_script(_RESOURCES) if r["name"].endswith(suffix)]

    def wait_for_plots(
        self, selector: str = GRAPHS, *, at_least: int = 0, timeout: float = 60, where: str = ""
    ) -> int:
        """Wait until every figure matching ``selector`` (and at least ``at_least`` of them) has
        been drawn; the number drawn."""
        from selenium.webdriver.support.ui import WebDriverWait

        counts: list[int] = []

        def drawn(driver) -> bool:
            present = len(driver.find_elements("css selector", selector))
            counts.append(driver.execute_script(_DRAWN, selector))
            return counts[-1] >= max(present, at_least)

        WebDriverWait(self.driver, timeout).until(
            drawn, message=f"{where or self.driver.current_url}: not every figure was drawn"
        )
        return counts[-1]
