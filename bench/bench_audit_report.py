"""The audit report's size and time to interactive, from Adult to a million rows (issue 19).

Resamples UCI Adult to ``--rows`` training and ``--rows`` test rows (with replacement, so the
groups keep their shares), fits a HistGradientBoosting pipeline on the raw frame, runs the whole
audit, writes ``audit.html`` and opens it in headless Chromium. Prints, per size, the audit's
wall time, the report's bytes, and the page's ``domInteractive`` and load-event times.

The report renders aggregates only, so its size should not grow with the rows: that is the
claim this benchmark checks. No peer renders this report; the figure to compare with is the
6.5 MB, 10-11 s-to-interactive Adult report raikit wrote before issue 19.

Run::

    python bench/bench_audit_report.py --rows 48842 1000000 --n-boot 200

Needs Debian's ``chromium`` and ``chromium-driver`` for the browser timings (skipped without).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np


def _pipeline(ds):
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OrdinalEncoder

    frame = ds.X
    categorical = [c for c in frame.columns if str(frame[c].dtype) == "category"]
    encode = make_column_transformer(
        (
            OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
            categorical,
        ),
        remainder="passthrough",
    )
    first = len(categorical)
    model = HistGradientBoostingClassifier(categorical_features=list(range(first)), random_state=0)
    return make_pipeline(encode, model)


def _resampled(ds, rows: int, seed: int):
    rng = np.random.default_rng(seed)
    frame = ds.frame.iloc[rng.integers(0, ds.n_rows, size=rows)].reset_index(drop=True)
    return ds.replace(frame)


# every figure not folded away holds the SVG plotly draws into once it has rendered (folded
# ones are drawn when opened)
_ALL_DRAWN = (
    "var g = document.querySelectorAll('.plotly-graph-div');"
    "return Array.prototype.every.call(g, function (e) {"
    " return e.closest('details:not([open])') !== null"
    " || e.querySelector('svg.main-svg') !== null; });"
)


def _browser_timings(path: Path) -> dict | None:
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or driver_path is None:
        return None
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1600"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        times = []
        for _ in range(3):  # the first open also warms the disk cache; report the median
            driver.get(path.as_uri())
            WebDriverWait(driver, 120).until(
                lambda d: d.execute_script("return performance.timing.loadEventEnd > 0")
            )
            WebDriverWait(driver, 120).until(lambda d: d.execute_script(_ALL_DRAWN))
            times.append(
                driver.execute_script(
                    "var t = performance.timing;"
                    "return [t.domInteractive - t.navigationStart,"
                    " t.loadEventEnd - t.navigationStart, performance.now()];"
                )
            )
        interactive, load, drawn = np.median(np.array(times, dtype=float), axis=0)
        return {"interactive_ms": interactive, "load_ms": load, "drawn_ms": drawn}
    finally:
        driver.quit()


def run(rows: int, n_boot: int, folder: Path) -> dict:
    from raikit.audit import audit
    from raikit.datasets import load_adult

    adult = load_adult()
    train = _resampled(adult.replace(adult.frame[adult.frame["split"] == "train"]), rows, 0)
    test = _resampled(adult.replace(adult.frame[adult.frame["split"] == "test"]), rows, 1)
    model = _pipeline(train).fit(train.X, train.y)
    start = time.perf_counter()
    report = audit(model, train=train, test=test, n_boot=n_boot, random_state=0)
    seconds = time.perf_counter() - start
    path = folder / f"audit-{rows}.html"
    report.to_html(path)
    timings = _browser_timings(path) or {}
    sections = {k: v for k, v in report.meta["seconds"].items() if k != "total"}
    return {
        "rows": rows,
        "audit_s": seconds,
        "bytes": path.stat().st_size,
        "sections": sections,
        **timings,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[48_842, 1_000_000])
    parser.add_argument("--n-boot", type=int, default=200)
    parser.add_argument("--keep", type=Path, help="folder to keep the reports in")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="raikit-bench-report-"))
    folder.mkdir(parents=True, exist_ok=True)
    results = []
    print(
        f"{'rows':>10} {'audit s':>9} {'report MB':>10} {'interactive s':>14} {'load s':>8}"
        f" {'all figures drawn s':>20}"
    )
    for rows in args.rows:
        r = run(rows, args.n_boot, folder)
        interactive = r.get("interactive_ms", float("nan")) / 1000
        load = r.get("load_ms", float("nan")) / 1000
        drawn = r.get("drawn_ms", float("nan")) / 1000
        print(
            f"{r['rows']:>10,} {r['audit_s']:>9.1f} {r['bytes'] / 1e6:>10.2f}"
            f" {interactive:>14.2f} {load:>8.2f} {drawn:>20.2f}",
            flush=True,
        )
        results.append(r)
    print("\nseconds per audit section")
    print(f"{'section':>22}" + "".join(f" {r['rows']:>12,}" for r in results))
    for name in results[0]["sections"]:
        print(f"{name:>22}" + "".join(f" {r['sections'].get(name, 0):>12.1f}" for r in results))
    print(f"reports in {folder}")


if __name__ == "__main__":
    main()
