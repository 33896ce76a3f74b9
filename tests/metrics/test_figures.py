"""Figures and the HTML page of a GroupMetricsResult: aggregates with error bars."""

from __future__ import annotations

import numpy as np
import pytest

from raikit.metrics import group_metrics


@pytest.fixture(scope="module")
def result():
    rng = np.random.default_rng(2)
    n = 2000
    y = rng.integers(0, 2, n)
    p = np.where(rng.random(n) < 0.8, y, 1 - y)
    s = np.clip(0.4 * p + 0.6 * rng.random(n), 0, 1)
    sensitive = {"sex": rng.choice(["F", "M"], n), "race": rng.choice(list("ABC"), n)}
    return group_metrics(
        y, p, sensitive_features=sensitive, score=s, ci=0.95, n_boot=200, random_state=0
    )


def test_one_bar_per_group_with_error_bars(result):
    figures = result.figures()
    metric_figures, disparity = figures[:-1], figures[-1]
    assert len(metric_figures) == 6  # the six headline metrics present
    first = metric_figures[0]
    assert first.layout.title.text.startswith("selection rate by group")
    # one trace per attribute family; 2 + 3 + 6 groups in all
    assert [len(t.x) for t in first.data] == [2, 3, 6]
    bars = first.data[0]
    value = result.by_group.loc["sex", "selection_rate"].to_numpy()
    upper = result.by_group_upper.loc["sex", "selection_rate"].to_numpy()
    np.testing.assert_allclose(bars.x, value)
    np.testing.assert_allclose(bars.error_x.array, upper - value)
    assert len(disparity.data) == 3 and disparity.layout.barmode == "group"


def test_page_renders_tables_findings_and_figures(result, tmp_path):
    html = result.to_html(tmp_path / "page.html", title="Test page")
    assert (tmp_path / "page.html").read_text() == html
    assert html.count('class="figure"') == 7
    assert "<h2>By group</h2>" in html and "<h2>Findings</h2>" in html
    assert "sex &amp; race" in html
