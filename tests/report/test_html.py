"""Pages are small: plotly.js (the basic bundle) once per page with figures, none without; every
figure raikit draws uses only the traces that bundle has."""

from __future__ import annotations

import ast
import base64
import hashlib
import json
import re
from pathlib import Path

import plotly.graph_objects as go
import pytest
from sklearn.linear_model import LogisticRegression

from raikit._html import figures_html, page_html, plotly_js, serving
from raikit.audit import audit
from raikit.datasets import load_german_credit

SRC = Path(__file__).parents[2] / "src" / "raikit"
BASIC_TRACES = {"Scatter", "Bar", "Pie"}  # what plotly.js-basic-dist-min registers
BUNDLE = "plotly.js (basic - minified)"


@pytest.fixture(scope="module")
def credit_report():
    ds = load_german_credit().replace(features=["duration_months", "credit_amount", "age"])
    train, test = ds.split(0.3, random_state=0)
    model = LogisticRegression(max_iter=1000).fit(train.X, train.y)
    return audit(model, train=train, test=test, n_boot=50, random_state=0)


def _policy_hashes(page: str) -> set[str]:
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)[1]
    return set(re.findall(r"'sha256-([^']+)'", policy))


def _script_hashes(page: str) -> set[str]:
    bodies = re.findall(r"<script>(.*?)</script>", page, re.DOTALL)
    return {base64.b64encode(hashlib.sha256(b.encode()).digest()).decode() for b in bodies}


def test_every_figure_builder_uses_only_the_basic_bundles_traces():
    used = {}
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in {"go", "px"}
            ):
                used.setdefault(f"{node.func.value.id}.{node.func.attr}", set()).add(path.name)
    traces = {name.split(".")[1] for name in used if name.startswith("go.")} - {"Figure"}
    assert traces <= BASIC_TRACES, {t: used[f"go.{t}"] for t in traces - BASIC_TRACES}
    assert not any(name.startswith("px.") for name in used)  # express picks trace types itself
    assert traces == BASIC_TRACES - {"Pie"} or traces == BASIC_TRACES  # the scan found them


def test_the_audits_figures_are_all_basic_traces(credit_report):
    types = {trace.type for fig in credit_report.figures() for trace in fig.data}
    assert types and types <= {"scatter", "bar", "pie"}, types


def test_the_bundle_is_the_basic_build_for_the_plotly_py_version():
    from plotly.offline import get_plotlyjs_version

    text = plotly_js()
    version = re.search(r"plotly\.js \(basic - minified\) v(\S+)", text[:200])[1]
    assert version.split(".")[0] == get_plotlyjs_version().split(".")[0]
    assert 1_000_000 < len(text.encode()) < 1_300_000  # the full bundle is 4.8 MB
    pyproject = (SRC.parents[1] / "pyproject.toml").read_text()
    assert '"raikit" = ["_static/*.js", "_static/*.LICENSE"' in pyproject  # shipped in the wheel
    assert "MIT License" in (SRC / "_static" / "plotly-basic.LICENSE").read_text()


def test_a_page_without_figures_has_no_script(credit_report):
    from raikit.cards import annex_iv, model_card

    for card in (model_card(credit_report), annex_iv(credit_report)):
        page = card.to_html()
        assert "<script" not in page and BUNDLE not in page
        assert "script-src 'none'" in page
        assert len(page.encode()) < 60_000


def test_plotly_is_inlined_once_and_every_figure_is_listed_for_drawing(credit_report):
    page = credit_report.to_html()
    n = page.count('class="plotly-graph-div"')
    assert n == len(credit_report.figures())
    assert page.count(BUNDLE) == 1
    ids = re.findall(r'<div id="(fig-[0-9a-f]{16})" class="plotly-graph-div"', page)
    blocks = re.findall(r'<script type="application/json" id="(fig-[0-9a-f]{16})-data">', page)
    assert ids == blocks and len(set(ids)) == n
    drawn = json.loads(re.search(r"var ids = (\[.*?\])", page)[1])
    assert drawn == ids
    # Exactly two scripts run (plotly.js, the drawer) and the policy allows exactly those.
    assert _policy_hashes(page) == _script_hashes(page) and len(_script_hashes(page)) == 2


def test_figure_json_carries_no_template_and_escapes_markup():
    fig = go.Figure(go.Bar(x=["</script><script>alert(1)</script>", "a&b"], y=[1, 2]))
    text = figures_html([fig])
    data = re.search(r'<script type="application/json"[^>]*>(.*?)</script>', text, re.S)[1]
    assert "<" not in data and ">" not in data and "&" not in data
    spec = json.loads(data)
    assert spec["data"][0]["x"] == ["</script><script>alert(1)</script>", "a&b"]
    assert "template" not in spec["layout"]
    assert len(data) < 1_000  # Plotly's own template alone is 7 kB


def test_served_pages_load_the_bundle_by_url_once():
    plots = figures_html([go.Figure(go.Bar(x=[1], y=[2]))] * 2)
    with serving("abcdefgh12345678", plotly_url="/static/plotly.js"):
        page = page_html("t", [("A", plots)])
        empty = page_html("t", [("A", "<p>none</p>")])
    assert page.count('src="/static/plotly.js"') == 1 and BUNDLE not in page
    assert all('nonce="abcdefgh12345678"' in tag for tag in re.findall(r"<script[^>]*>", page))
    assert "<script" not in empty


def test_the_dashboard_serves_the_basic_bundle(tmp_path):
    pytest.importorskip("fastapi")
    from raikit.server import create_app

    app = create_app(tmp_path / "ledger", token="t0k3n-for-the-test")
    (route,) = [r for r in app.routes if getattr(r, "path", "") == "/static/plotly.js"]
    assert route.endpoint().body.decode("utf-8") == plotly_js()


@pytest.mark.slow
def test_an_adult_audit_report_is_under_one_and_a_half_megabytes(tmp_path):
    """Issue 19: the Adult audit was 6.5 MB (4.8 MB of it plotly.js, 3,912 table rows)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    from raikit.datasets import load_adult

    train, test = load_adult(split="train"), load_adult(split="test")
    model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0)
    model.fit(train.X, train.y)
    report = audit(model, train=train, test=test, n_boot=50, random_state=0)
    page = report.to_html(tmp_path / "audit.html")
    size = (tmp_path / "audit.html").stat().st_size
    assert size == len(page.encode("utf-8")) and size < 1_500_000, size
    assert page.count(BUNDLE) == 1
    assert page.count("<tr>") < 700  # long tables are folded and capped, not dumped


def test_the_shared_template_keeps_plotlys_default_look():
    import plotly.io as pio

    from raikit._html import _TEMPLATE

    default = pio.templates["plotly"].layout.to_plotly_json()
    for key, value in _TEMPLATE.items():
        if isinstance(value, dict):
            assert {k: default[key][k] for k in value} == value, key
        else:
            assert default[key] == value, key


def test_a_fragment_draws_its_own_figures_once():
    from raikit._html import fragment_html

    plots = figures_html([go.Figure(go.Bar(x=[1], y=[2])), go.Figure(go.Pie(values=[1, 2]))])
    text = fragment_html("<p>summary</p>" + plots)
    ids = re.findall(r'<div id="(fig-[0-9a-f]{16})" class="plotly-graph-div"', text)
    assert json.loads(re.search(r"var ids = (\[.*?\])", text)[1]) == ids and len(ids) == 2
    assert text.count(BUNDLE) == 1 and "data-raikit" not in text
