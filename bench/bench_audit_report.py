"""The audit report's size and time to interactive, from Adult to a million rows (issue 19).

Resamples UCI Adult to ``--rows`` training and ``--rows`` test rows (with replacement, so the
groups keep their shares), fits a HistGradientBoosting pipeline on the raw frame, runs the whole
audit, writes ``audit.html`` and opens it in headless Chromium. Prints, per size, the audit's
wall time, the report's bytes, and the page's ``domInteractive`` and load-event times.

The report renders aggregates only, so its size should not grow with the rows: that is the
claim this benchmark checks. The peer is Plotly's own HTML export of the same figures
(``report.figures()``), measured in the same run at the first ``--rows`` size: one minimal HTML
document of ``plotly.io.to_html(fig, full_html=False)`` per figure, the full plotly.js bundle
inline with the first (``include_plotlyjs=True``, as raikit wrote before issue 19) and not again
with the rest. The script prints raikit's page bytes beside that page's (ratio raikit / Plotly;
raikit's page also holds the tables, findings and text), and with Chromium the same browser
timings for both ("all figures drawn" counts, on raikit's page, the figures not folded away:
folded ones are drawn when opened; the Plotly page draws every figure at load). Before issue 19
raikit's Adult report was 6.5 MB, 10-11 s to interactive.

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


def _plotly_page(figures: list, path: Path) -> None:
    """The peer: Plotly's export of ``figures``, plotly.js inline once, in one HTML document."""
    import plotly.io as pio

    parts = [
        pio.to_html(fig, full_html=False, include_plotlyjs=index == 0)
        for index, fig in enumerate(figures)
    ]
    body = "\n".join(parts)
    path.write_text(
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>plotly export</title></head>'
        f"<body>\n{body}\n</body></html>\n",
        encoding="utf-8",
    )


def run(rows: int, n_boot: int, folder: Path, *, peer: bool = False) -> dict:
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
    extra = {}
    if peer:
        figures = report.figures()
        peer_path = folder / f"plotly-{rows}.html"
        _plotly_page(figures, peer_path)
        extra = {
            "peer": {
                "figures": len(figures),
                "bytes": peer_path.stat().st_size,
                **(_browser_timings(peer_path) or {}),
            }
        }
    return {
        "rows": rows,
        "audit_s": seconds,
        "bytes": path.stat().st_size,
        "sections": sections,
        **timings,
        **extra,
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
    for index, rows in enumerate(args.rows):
        r = run(rows, args.n_boot, folder, peer=index == 0)
        interactive = r.get("interactive_ms", float("nan")) / 1000
        load = r.get("load_ms", float("nan")) / 1000
        drawn = r.get("drawn_ms", float("nan")) / 1000
        print(
            f"{r['rows']:>10,} {r['audit_s']:>9.1f} {r['bytes'] / 1e6:>10.2f}"
            f" {interactive:>14.2f} {load:>8.2f} {drawn:>20.2f}",
            flush=True,
        )
        results.append(r)
    first, peer = results[0], results[0]["peer"]
    print(
        f"\npeer at {first['rows']:,} rows: Plotly's to_html of the same {peer['figures']}"
        " figures (plotly.js inline once), one HTML document; raikit draws its folded figures"
        " when opened, Plotly draws all at load"
    )
    print(f"{'page':>22} {'MB':>8} {'interactive s':>14} {'load s':>8} {'all figures drawn s':>20}")
    for name, r in (("raikit report", first), ("plotly export", peer)):
        print(
            f"{name:>22} {r['bytes'] / 1e6:>8.2f}"
            + "".join(
                f" {r.get(key, float('nan')) / 1000:>{width}.2f}"
                for key, width in (("interactive_ms", 14), ("load_ms", 8), ("drawn_ms", 20))
            )
        )
    ratios = [f"bytes {first['bytes'] / peer['bytes']:.2f}"]
    for key, label in (("interactive_ms", "interactive"), ("drawn_ms", "all drawn")):
        if key in first and key in peer:
            ratios.append(f"{label} {first[key] / peer[key]:.2f}")
    print(f"{'ratio raikit / plotly':>22} " + ", ".join(ratios))
    print("\nseconds per audit section")
    print(f"{'section':>22}" + "".join(f" {r['rows']:>12,}" for r in results))
    for name in results[0]["sections"]:
        print(f"{name:>22}" + "".join(f" {r['sections'].get(name, 0):>12.1f}" for r in results))
    print(f"reports in {folder}")


if __name__ == "__main__":
    main()
