"""The demo end to end on the bundled Adult data."""

from __future__ import annotations

import pytest
from rich.console import Console

from raikit import Result


@pytest.mark.slow
def test_demo_writes_report_and_lossless_evidence(tmp_path):
    from raikit._demo import run_demo

    console = Console(record=True, width=160)
    out = run_demo(out=tmp_path / "demo", seed=0, console=console)
    text = console.export_text()
    assert "Adult test set" in text and "Four-fifths rule violated for sex" in text
    result = Result.from_json(str(out["json"]))
    assert result.ci == 0.95 and result.n_boot == 1000
    assert result.overall["count"] == 16281
    # Women are selected far less often than men on Adult: a real disparity, with a CI.
    sex = result.ratio(attribute="sex", bounds=False)
    assert sex["selection_rate"] < 0.5
    html = out["html"].read_text()
    assert "raikit demo" in html and html.count('class="figure"') >= 6
