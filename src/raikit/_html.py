"""Self-contained HTML pages: tables, findings and figures, with Plotly's JavaScript inline (no CDN).

Shared by every ``...Result.to_html``, the cards and the dashboard: the one place where HTML is
built. Every string that comes from data (column and category names, file, run, check and model
names, problem-definition answers) goes through :func:`escape`; tables are built by pandas with
escaping on or by :func:`table_html`; links only ever point inside the page or the dashboard
(:func:`safe_href`).

Figures are small: each is a ``<div>`` and its JSON in a ``<script type="application/json">``
block (data, never run), without Plotly's 7 kB template (one shared template per page). A page
holds plotly.js only when it has a figure, and then once: the partial bundle with the scatter,
bar and pie traces (``raikit/_static/plotly-basic.min.js``, 1.2 MB instead of 4.8 MB), followed
by one small script that draws the figures near the viewport first and the rest while the
browser is idle (a figure inside a closed ``<details>`` is drawn when it opens).

Scripts are allowed by a strict Content-Security-Policy, as a second line of defence should an
escape ever be missed. The dashboard serves pages inside :func:`serving`: they load Plotly from
a URL of the dashboard instead of inlining it, and every ``<script>`` that raikit writes carries
the request's nonce (sent in the CSP header). Files written to disk carry the policy in a
``<meta>`` tag that lists the SHA-256 of each script raikit wrote; a script or event handler
that anyone else put into the page does not run.
"""

from __future__ import annotations

import base64
import contextvars
import hashlib
import html
import json
import re
import secrets
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import pandas as pd

__all__ = [
    "escape",
    "escape_markdown",
    "figures_html",
    "findings_html",
    "format_number",
    "fragment_html",
    "frame_html",
    "page_html",
    "plotly_js",
    "readable_frame",
    "safe_href",
    "serving",
    "table_html",
]

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">{policy}<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }}
table {{ border-collapse: collapse; font-size: 0.85rem; margin: 1rem 0; }}
th, td {{ border: 1px solid #ddd; padding: 0.25rem 0.5rem; text-align: left; }}
.status-pass {{ color: #2e7d32; font-weight: bold; }} .status-warn {{ color: #b26a00; font-weight: bold; }}
.status-fail {{ color: #c62828; font-weight: bold; }} .status-not-assessed {{ color: #777; }}
nav ul {{ columns: 2; }}
th {{ background: #f4f4f4; }}
.finding-error {{ color: #b00020; }} .finding-warning {{ color: #8a5a00; }}
.figure {{ margin: 1.5rem 0; }}
.scroll {{ overflow-x: auto; }} td.num, th.num {{ text-align: right; }}
details {{ margin: 0.5rem 0; }} summary {{ cursor: pointer; color: #1a4f8b; }}
.muted {{ color: #666; font-size: 0.85rem; }} .lead {{ font-size: 1.1rem; }}
.nowrap {{ white-space: nowrap; }} td {{ vertical-align: top; }}
</style>
</head><body>
<h1>{title}</h1>
{body}
{scripts}</body></html>
"""

# (nonce, plotly_url) while the dashboard renders a response; None for files written to disk.
_SERVING: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar(
    "raikit_html_serving", default=None
)
# Marks the scripts raikit writes into a file until page_html hashes them, and the figures'
# data blocks until page_html collects their ids (per-process secrets: text from data, which is
# escaped, cannot carry a '<' or a '"' and so cannot forge either).
_SECRET = secrets.token_hex(16)
_MARK = f'<script data-raikit="{_SECRET}">'
_MARKED = re.compile(re.escape(_MARK) + r"(.*?)</script>", re.DOTALL)
_FIGURE = f'<script type="application/json" data-raikit-figure="{_SECRET}" id="'
_FIGURE_IDS = re.compile(re.escape(_FIGURE) + r'(fig-[0-9a-f]{16})-data">')
_STATIC = Path(__file__).parent / "_static"
# What Plotly's default template sets that a reader notices (the colours, the grid), once per page.
_TEMPLATE = {
    "colorway": [
        *("#636efa", "#EF553B", "#00cc96", "#ab63fa", "#FFA15A"),
        *("#19d3f3", "#FF6692", "#B6E880", "#FF97FF", "#FECB52"),
    ],
    "font": {"color": "#2a3f5f"},
    "plot_bgcolor": "#E5ECF6",
    "paper_bgcolor": "white",
    "hovermode": "closest",
    "title": {"x": 0.05},
    "xaxis": {
        "gridcolor": "white",
        "linecolor": "white",
        "zerolinecolor": "white",
        "automargin": True,
        "zerolinewidth": 2,
        "ticks": "",
    },
    "yaxis": {
        "gridcolor": "white",
        "linecolor": "white",
        "zerolinecolor": "white",
        "automargin": True,
        "zerolinewidth": 2,
        "ticks": "",
    },
}
# Draws the page's figures: those near the viewport at once, the others while the browser is
# idle, one at a time; one inside a closed <details> when it opens.
_DRAW = """/* raikit: draw figures */
(function () {
  var ids = %(ids)s, template = {layout: %(template)s}, drawn = {}, queue = ids.slice();
  function draw(id) {
    var div = document.getElementById(id), data = document.getElementById(id + "-data");
    if (drawn[id] || !div || !data || typeof Plotly === "undefined") return;
    drawn[id] = true;
    var figure = JSON.parse(data.textContent);
    figure.layout.template = template;
    Plotly.newPlot(div, figure.data, figure.layout, {responsive: true, displaylogo: false});
  }
  function folded(div) {
    var box = div.closest("details");
    return box !== null && !box.open;
  }
  function idle() {
    var start = Date.now();
    while (queue.length && Date.now() - start < 40) {
      var id = queue.shift(), div = document.getElementById(id);
      if (div && !folded(div)) draw(id);
    }
    if (queue.length) setTimeout(idle, 0);
  }
  if ("IntersectionObserver" in window) {
    var seen = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        if (entry.isIntersecting) { draw(entry.target.id); seen.unobserve(entry.target); }
      });
    }, {rootMargin: "400px"});
    ids.forEach(function (id) { var div = document.getElementById(id); if (div) seen.observe(div); });
  }
  document.addEventListener("toggle", function (event) {
    if (!event.target.open) return;
    event.target.querySelectorAll(".plotly-graph-div").forEach(function (div) {
      if (ids.indexOf(div.id) < 0) return;
      if (drawn[div.id]) Plotly.Plots.resize(div); else draw(div.id);
    });
  }, true);
  setTimeout(idle, 0);
})();
"""
_FILE_CSP = (
    "default-src 'none'; script-src {hashes}; style-src 'unsafe-inline'; img-src data: blob:; "
    "font-src data:; base-uri 'none'; form-action 'none'; object-src 'none'"
)
_NONCE_OK = re.compile(r"[A-Za-z0-9_\-+/=]{8,128}\Z")


def escape(value) -> str:
    """``value`` as text safe inside an HTML element or a quoted attribute.

    Examples
    --------
    >>> escape('<img src=x onerror="alert(1)">')
    '&lt;img src=x onerror=&quot;alert(1)&quot;&gt;'
    >>> escape(None)
    ''
    """
    return "" if value is None else html.escape(str(value), quote=True)


def escape_markdown(value, *, cell: bool = False) -> str:
    r"""``value`` as Markdown text that renders as itself: no raw HTML, no links.

    Markdown renderers pass raw HTML through, so ``<``, ``>`` and ``&`` become entities; ``[``
    and ``]`` are backslash-escaped so that no ``[text](javascript:...)`` link forms. In a table
    cell (``cell=True``) ``|`` is escaped and line breaks become spaces.

    Examples
    --------
    >>> escape_markdown('<script>x</script> [a](javascript:alert(1))')
    '&lt;script&gt;x&lt;/script&gt; \\[a\\](javascript:alert(1))'
    >>> escape_markdown("a|b\nc", cell=True)
    'a\\|b c'
    """
    text = "" if value is None else html.escape(str(value), quote=False)
    text = text.replace("[", "\\[").replace("]", "\\]")
    if cell:
        text = text.replace("|", "\\|").replace("\r", " ").replace("\n", " ")
    return text


def safe_href(url: str) -> str:
    """An escaped link target that stays inside the page or the site (``#...`` or ``/...``).

    Anything else (``javascript:``, ``data:``, other sites, ``//host``) is refused with
    ``ValueError``: raikit never links to a place named by data.

    Examples
    --------
    >>> safe_href("/runs/ab12?x=1&y=2")
    '/runs/ab12?x=1&amp;y=2'
    >>> safe_href("javascript:alert(1)")
    Traceback (most recent call last):
    ...
    ValueError: Refusing link target 'javascript:alert(1)': only '#...' and '/...' links are written.
    """
    text = str(url)
    relative = text.startswith("/") and not text.startswith("//") and "\\" not in text
    if not (relative or text.startswith("#")) or any(ord(c) < 32 for c in text):
        raise ValueError(
            f"Refusing link target {text!r}: only '#...' and '/...' links are written."
        )
    return escape(text)


@contextmanager
def serving(nonce: str, *, plotly_url: str) -> Iterator[None]:
    """Render pages for the dashboard: scripts carry ``nonce``; Plotly is loaded from ``plotly_url``.

    The dashboard serves :func:`plotly_js` at that URL.

    Examples
    --------
    >>> import plotly.graph_objects as go
    >>> with serving("abcdefgh12345678", plotly_url="/static/plotly.js"):
    ...     page = page_html("t", [("Plot", figures_html([go.Figure(go.Bar(x=[1], y=[2]))]))])
    >>> '<script nonce="abcdefgh12345678" src="/static/plotly.js"></script>' in page
    True
    """
    if not _NONCE_OK.match(nonce):
        raise ValueError("A script nonce is 8-128 base64 characters.")
    token = _SERVING.set((nonce, plotly_url))
    try:
        yield
    finally:
        _SERVING.reset(token)


@cache
def plotly_js() -> str:
    """The plotly.js bundle raikit ships: the partial build with scatter, bar and pie traces.

    ``plotly.js-basic-dist-min`` from npm (MIT; see ``raikit/_static/``), the plotly.js version
    the installed plotly.py writes figures for. Pages inline it; the dashboard serves it.

    Examples
    --------
    >>> plotly_js().startswith("/**") and "plotly.js (basic - minified)" in plotly_js()[:80]
    True
    """
    return (_STATIC / "plotly-basic.min.js").read_text(encoding="utf-8")


def _scripts(ids: list[str]) -> str:
    """plotly.js and the script that draws the figures ``ids`` (nothing without a figure)."""
    if not ids:
        return ""
    template = json.dumps(_TEMPLATE, separators=(",", ":"))
    draw = _DRAW % {"ids": json.dumps(ids), "template": template}
    state = _SERVING.get()
    if state is None:
        return f"{_MARK}{plotly_js()}</script>\n{_MARK}{draw}</script>\n"
    nonce = escape(state[0])
    return (
        f'<script nonce="{nonce}" src="{safe_href(state[1])}"></script>\n'
        f'<script nonce="{nonce}">{draw}</script>\n'
    )


def fragment_html(body: str) -> str:
    """HTML built by this module's helpers, made to stand alone inside another page (a notebook
    cell): its figures draw themselves with plotly.js inlined once (nothing without a figure).

    There is no ``<head>`` to carry a policy: the host page's own policy applies.

    Examples
    --------
    >>> import plotly.graph_objects as go
    >>> text = fragment_html("<p>x</p>" + figures_html([go.Figure(go.Bar(x=[1], y=[2]))]))
    >>> text.count("plotly.js (basic - minified)"), "data-raikit" in text
    (1, False)
    >>> fragment_html("<p>no figure</p>")
    '<p>no figure</p>'
    """
    ids = list(dict.fromkeys(_FIGURE_IDS.findall(body)))
    body = body.replace(_FIGURE, '<script type="application/json" id="')
    return _MARKED.sub(lambda m: f"<script>{m.group(1)}</script>", body + _scripts(ids))


def page_html(title: str, sections: list[tuple[str, str]]) -> str:
    """A self-contained page, one ``<h2>`` per section; plotly.js inline once if it has figures.

    ``title`` and the section headings are escaped here; each section's content must already be
    HTML built by this module's helpers.

    Examples
    --------
    >>> page = page_html("<script>x</script>", [("Notes", "<p>ok</p>")])
    >>> "<title>&lt;script&gt;x&lt;/script&gt;</title>" in page
    True

    A page without a figure has no script at all, and its policy allows none:

    >>> policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)[1]
    >>> "<script" in page, "script-src 'none'" in policy
    (False, True)

    With figures, only the scripts raikit wrote (plotly.js and the one that draws) may run, and
    plotly.js is there once however many figures the page has:

    >>> import plotly.graph_objects as go
    >>> plots = figures_html([go.Figure(go.Bar(x=[1], y=[2]))] * 3)
    >>> page = page_html("t", [("A", plots), ("B", plots)])
    >>> policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)[1]
    >>> policy.count("'sha256-"), "unsafe-inline" in policy.split("script-src")[1].split(";")[0]
    (2, False)
    >>> page.count("plotly.js (basic - minified)"), page.count('class="plotly-graph-div"')
    (1, 6)
    """
    body = "\n".join(
        f"<section><h2>{escape(h)}</h2>\n{content}</section>" for h, content in sections
    )
    ids = list(dict.fromkeys(_FIGURE_IDS.findall(body)))
    state = _SERVING.get()  # served, even the data blocks carry the nonce: every <script> does
    nonce = "" if state is None else f' nonce="{escape(state[0])}"'
    body = body.replace(_FIGURE, f'<script type="application/json"{nonce} id="')
    page = _PAGE.format(title=escape(title), body=body, scripts=_scripts(ids), policy="{policy}")
    if _SERVING.get() is not None:  # the dashboard sends its policy as a header
        return page.replace("{policy}", "", 1)
    hashes = []

    def unmark(match: re.Match) -> str:
        digest = hashlib.sha256(match.group(1).encode("utf-8")).digest()
        hashes.append(f"'sha256-{base64.b64encode(digest).decode()}'")
        return f"<script>{match.group(1)}</script>"

    page = _MARKED.sub(unmark, page)
    policy = _FILE_CSP.format(hashes=" ".join(dict.fromkeys(hashes)) or "'none'")
    return page.replace(
        "{policy}", f'<meta http-equiv="Content-Security-Policy" content="{policy}">', 1
    )


_JSON_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def _figure_json(fig) -> tuple[str, int]:
    """The figure's data and layout as JSON safe inside a ``<script>`` block, and its height."""
    from plotly.io.json import to_json_plotly

    spec = fig.to_plotly_json()
    layout = dict(spec.get("layout") or {})
    layout.pop("template", None)  # one shared template per page instead of 7 kB per figure
    # Plotly's encoder turns arrays into base64 and dates into text; re-dumped compactly with
    # '/' left as it is, then '<', '>' and '&' escaped below.
    plain = json.loads(to_json_plotly({"data": spec.get("data", []), "layout": layout}))
    text = json.dumps(_compact(plain), separators=(",", ":"), ensure_ascii=False)
    text = re.sub("[<>&\u2028\u2029]", lambda m: _JSON_ESCAPES[m.group(0)], text)
    return text, int(layout.get("height") or 450)


def _compact(value):
    """Float64 arrays (Plotly's base64 ``{"dtype": "f8", "bdata": ...}``) as float32: seven
    digits are more than a figure shows, in half the bytes."""
    import numpy as np

    if isinstance(value, list):
        return [_compact(v) for v in value]
    if not isinstance(value, dict):
        return value
    if value.get("dtype") == "f8" and isinstance(value.get("bdata"), str):
        numbers = np.frombuffer(base64.b64decode(value["bdata"]), dtype="<f8")
        small = base64.b64encode(numbers.astype("<f4").tobytes()).decode("ascii")
        return {**value, "dtype": "f4", "bdata": small}
    return {k: _compact(v) for k, v in value.items()}


def figures_html(figures: list) -> str:
    r"""Plotly figures as ``<div>``s with their JSON; :func:`page_html` adds what draws them.

    Examples
    --------
    >>> import plotly.graph_objects as go
    >>> text = figures_html([go.Figure(go.Bar(x=["<b>"], y=[1]))])
    >>> text.count('class="plotly-graph-div"'), "<b>" in text, r"\u003cb\u003e" in text
    (1, False, True)

    The JSON writes ``<``, ``>`` and ``&`` as ``\u003c``-style escapes, so no name inside a
    figure can close its block; plotly.js draws text labels as SVG text and drops tags and
    ``javascript:`` links it does not allow.
    """
    parts = []
    for fig in figures:
        text, height = _figure_json(fig)
        name = f"fig-{secrets.token_hex(8)}"
        parts.append(
            f'<div class="figure"><div id="{name}" class="plotly-graph-div" '
            f'style="height:{height}px; width:100%;"></div>{_FIGURE}{name}-data">{text}</script></div>'
        )
    return "\n".join(parts)


def findings_html(findings) -> str:
    """Findings as a list, severity first; every text escaped."""
    if not findings:
        return "<p>No findings.</p>"
    items = "".join(
        f'<li class="finding-{_css_token(f.severity)}"><b>{escape(f.severity)}</b>: '
        f"{escape(f.title)} — {escape(f.detail)}</li>"
        for f in findings
    )
    return f"<ul>{items}</ul>"


def _css_token(value) -> str:
    """A class-name fragment: letters, digits and ``-`` only."""
    return re.sub(r"[^A-Za-z0-9\-]+", "-", str(value))


# Metrics that are counts: shown as whole numbers, without a (bootstrap) interval.
_COUNTS = frozenset({"count", "n", "size", "rows", "support", "n_rows", "effective_n"})


def format_number(value) -> str:
    """A number as a person reads it: thousands separators, rates to three decimals, no ``e+04``.

    Whole numbers get separators; other values keep three decimals below 1 (four significant
    digits up to 1,000); tiny values (p-values) keep two significant digits. Missing is empty.

    Examples
    --------
    >>> [format_number(v) for v in (10860.0, 0.271449, 12.3456, 3.2e-07, float("nan"), True)]
    ['10,860', '0.271', '12.35', '3.2e-07', '', 'True']
    >>> format_number(123456.789), format_number(-0.5), format_number(0.0)
    ('123,457', '-0.500', '0')
    """
    if value is None or isinstance(value, bool | str):
        return "" if value is None else str(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if number != number:
        return ""
    if number in (float("inf"), float("-inf")):
        return "∞" if number > 0 else "−∞"
    size = abs(number)
    if number.is_integer() and size < 1e15:
        return f"{int(number):,}"
    if size >= 1000:
        return f"{number:,.0f}"
    if size >= 1:
        return f"{number:.4g}"
    if size >= 0.001:
        return f"{number:.3f}"
    return f"{number:.2g}"


def readable_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` as text for a report: numbers formatted, no intervals on counts, no key columns.

    Numeric cells go through :func:`format_number`; in a long table (``metric``, ``value``,
    ``lower``, ``upper``) the interval of a count (``count``, ``n``, ...) is left blank;
    structured columns (dicts, lists, slice keys) are dropped. The index is not kept.

    Examples
    --------
    >>> frame = pd.DataFrame({"metric": ["count", "accuracy"], "value": [10860.0, 0.87163],
    ...                       "lower": [10632.2, 0.86628], "upper": [11101.7, 0.8766]})
    >>> readable_frame(frame).values.tolist()
    [['count', '10,860', '', ''], ['accuracy', '0.872', '0.866', '0.877']]
    """
    from raikit._grouping import SliceKey

    shown = frame.reset_index(drop=True)
    structured = [
        c
        for c in shown.columns
        if shown[c].dtype == object
        and shown[c].map(lambda v: isinstance(v, dict | list | SliceKey)).any()
    ]
    shown = shown.drop(columns=structured)
    out = pd.DataFrame(index=shown.index)
    for position, name in enumerate(shown.columns):
        column = shown.iloc[:, position]
        numeric = pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
        out[name] = (
            column.map(format_number)
            if numeric
            else column.map(
                lambda v: "" if v is None or (isinstance(v, float) and v != v) else str(v)
            )
        )
    if {"metric", "lower", "upper"} <= set(shown.columns):
        counts = shown["metric"].isin(_COUNTS).to_numpy()
        out.loc[counts, ["lower", "upper"]] = ""
    return out


def _note(frame: pd.DataFrame, max_rows: int) -> str:
    if len(frame) <= max_rows:
        return ""
    return f"<p><i>First {max_rows} of {len(frame):,} rows; the JSON evidence has them all.</i></p>"


def frame_html(frame: pd.DataFrame, *, max_rows: int = 500) -> str:
    """An HTML table of at most ``max_rows`` rows (aggregates only: reports never dump raw data).

    Cells, column names and the index are escaped.

    Examples
    --------
    >>> import pandas as pd
    >>> "&lt;b&gt;" in frame_html(pd.DataFrame({"<b>": ["<i>"]}))
    True
    """
    shown = frame.head(max_rows)
    return shown.to_html(float_format=format_number, na_rep="", escape=True) + _note(
        frame, max_rows
    )


def table_html(
    frame: pd.DataFrame,
    *,
    links: Mapping[str, Sequence[str | None]] | None = None,
    classes: Mapping[str, Sequence[str | None]] | None = None,
    max_rows: int = 500,
) -> str:
    """A table without index whose cells may be links or carry a CSS class; everything escaped.

    Parameters
    ----------
    frame : DataFrame
        The values to show (as text).
    links : mapping, optional
        Column -> one link target per row (None for no link); targets must pass :func:`safe_href`.
    classes : mapping, optional
        Column -> one CSS class per row (reduced to letters, digits and ``-``).
    max_rows : int, default 500
        Rows shown.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"run": ["<b>x</b>"], "status": ["pass"]})
    >>> text = table_html(frame, links={"run": ["/runs/ab12"]}, classes={"status": ["status-pass"]})
    >>> '<td><a href="/runs/ab12">&lt;b&gt;x&lt;/b&gt;</a></td>' in text
    True
    >>> '<td><span class="status-pass">pass</span></td>' in text
    True
    """
    links = dict(links or {})
    classes = dict(classes or {})
    shown = frame.head(max_rows)
    head = "".join(f"<th>{escape(c)}</th>" for c in shown.columns)
    columns = []
    for position, name in enumerate(shown.columns):
        values = shown.iloc[:, position]
        cells = [
            "" if v is None or (isinstance(v, float) and v != v) else escape(v) for v in values
        ]
        if name in classes:
            cells = [
                f'<span class="{_css_token(k)}">{c}</span>' if k else c
                for c, k in zip(cells, list(classes[name])[: len(shown)], strict=True)
            ]
        if name in links:
            cells = [
                f'<a href="{safe_href(u)}">{c}</a>' if u else c
                for c, u in zip(cells, list(links[name])[: len(shown)], strict=True)
            ]
        columns.append(cells)
    rows = "".join(
        "<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>"
        for row in zip(*columns, strict=True)
    )
    return (
        f'<table class="dataframe"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'
        + _note(frame, max_rows)
    )


# --------------------------------------------------------------------------- notebook cards
# A card is one output of a notebook cell: inline styles only (a <style> in an output would restyle
# the whole notebook), text inherits the notebook's colours so dark themes stay readable.
_SEVERITY_COLOURS = {"error": "#c62828", "warning": "#b26a00", "info": "#1565c0"}
_VERDICT_COLOURS = {"pass": "#2e7d32", "warn": "#b26a00", "fail": "#c62828"}
_MUTED = "color: #888;"
_DETAIL = 300  # characters of a finding's detail a card shows (the full report has it all)
_CELL = "padding: 0.2rem 0.6rem; border-bottom: 1px solid #8884; text-align: left;"
# plotly.js goes out with the first figure a kernel shows; later figures wait for it on the page.
_NOTEBOOK = {"plotly_sent": False}
_READY = "raikit-plotly-ready"  # the event plotly.js's output fires once it has defined Plotly
_NOTEBOOK_DRAW = """<script>(function () {{
  var box = document.getElementById("{div_id}");
  var spec = {spec};
  function draw() {{
    box.innerHTML = "";
    window.Plotly.newPlot(box, spec.data, spec.layout, {{responsive: true}});
  }}
  if (!box) return;
  if (window.Plotly) {{ draw(); return; }}
  box.firstChild.textContent = "Waiting for plotly.js, which raikit sends with the first figure "
    + "of a kernel session. If that output is gone (cleared, or not saved), restart the kernel "
    + "and run the notebook again.";
  window.addEventListener("{ready}", draw, {{once: true}});
}})();</script>"""


def _script_json(text: str) -> str:
    """JSON text that cannot end a ``<script>`` element or open a comment or entity in it."""
    for char, code in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, code)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _notebook_plotly_js() -> str:
    """plotly.js in a ``<script>`` the first time a kernel shows a figure, ``""`` after that.

    Notebook outputs share one page (Jupyter, JupyterLab, VS Code, an HTML export), so one copy
    serves every later figure. Google Colab draws each output in its own frame: there each figure
    carries its own copy.
    """
    import sys

    if _NOTEBOOK["plotly_sent"] and "google.colab" not in sys.modules:
        return ""
    _NOTEBOOK["plotly_sent"] = True
    # no module loader may capture the bundle: it must define window.Plotly
    return (
        f"<script>(function (module, exports, define) {{\n{plotly_js()}\n}})();\n"
        f'window.dispatchEvent(new Event("{_READY}"));</script>'
    )


def notebook_figure_html(figure) -> str:
    """A Plotly figure for a notebook output: offline, plotly.js sent once per kernel session.

    The first figure a kernel shows carries plotly.js inline (no CDN: notebooks often run without
    internet); later figures carry only their data and draw with the plotly.js on the page (or
    wait for it, saying so). Until the drawing script runs (a notebook opened untrusted), the box
    says why there is no figure. The figure's JSON is written so that no text in it can close the
    script.

    Examples
    --------
    >>> import plotly.graph_objects as go
    >>> figure = go.Figure(go.Bar(x=["</script><b>"], y=[1]))
    >>> _NOTEBOOK["plotly_sent"] = False  # as in a new kernel session
    >>> first, second = notebook_figure_html(figure), notebook_figure_html(figure)
    >>> "window.Plotly = Plotly" in first, "window.Plotly = Plotly" in second
    (True, False)
    >>> "</script><b>" in second, second.count("<script>")
    (False, 1)
    """
    import plotly.io as pio

    div_id = f"raikit-figure-{secrets.token_hex(8)}"
    spec = _script_json(pio.to_json(figure, validate=False))
    return (
        _notebook_plotly_js()
        + f'<div id="{div_id}" style="width: 100%; min-height: 320px;"><p style="{_MUTED}">'
        "Interactive figure: run the cell (in a trusted notebook) to draw it.</p></div>"
        + _NOTEBOOK_DRAW.format(div_id=div_id, spec=spec, ready=_READY)
    )


def notebook_card(title: str, parts: Sequence[str], *, kind: str | None = None) -> str:
    """One notebook output: an escaped title (and kind) over HTML parts built by this module.

    Examples
    --------
    >>> text = notebook_card("<b>Report</b>", ["<p>ok</p>"], kind="AuditReport")
    >>> "&lt;b&gt;Report&lt;/b&gt;" in text, "<p>ok</p>" in text
    (True, True)
    """
    kind_html = f' <span style="{_MUTED} font-size: 0.8em;">{escape(kind)}</span>' if kind else ""
    return (
        '<div class="raikit-card" style="border: 1px solid #8886; border-radius: 6px; '
        'padding: 0.6rem 1rem; margin: 0.3rem 0; max-width: 1000px;">'
        f'<div style="font-weight: 600; font-size: 1.1em;">{escape(title)}{kind_html}</div>'
        + "".join(parts)
        + "</div>"
    )


def _more(shown: int, total: int, what: str) -> str:
    if total <= shown:
        return ""
    return f'<p style="{_MUTED}">… and {total - shown:,} more {what}.</p>'


def notebook_findings_html(findings, *, limit: int = 10) -> str:
    """Findings as a short list, the most severe first, each severity in its colour.

    At most ``limit`` are listed, then "and N more". Every text is escaped.

    Examples
    --------
    >>> from raikit._result import Finding
    >>> many = [Finding("info", f"note {i}") for i in range(12)] + [Finding("error", "<x>")]
    >>> text = notebook_findings_html(many, limit=3)
    >>> text.index("&lt;x&gt;") < text.index("note 0"), "and 10 more findings" in text
    (True, True)
    """
    findings = list(findings)
    if not findings:
        return f'<p style="{_MUTED}">No findings.</p>'
    rank = {"error": 0, "warning": 1, "info": 2}
    ordered = sorted(findings, key=lambda f: rank.get(f.severity, 3))  # stable: check order kept
    items = []
    for f in ordered[:limit]:
        colour = _SEVERITY_COLOURS.get(f.severity, "inherit")
        shown = f.slice and f.slice not in f.title  # most titles already name their group
        where = f' <span style="{_MUTED}">({escape(f.slice)})</span>' if shown else ""
        text = f.detail if len(f.detail or "") <= _DETAIL else f.detail[: _DETAIL - 1] + "…"
        detail = f" — {escape(text)}" if text else ""
        items.append(
            f'<li><b style="color: {colour};">{escape(f.severity)}</b>: '
            f"{escape(f.title)}{where}{detail}</li>"
        )
    return f'<ul style="margin: 0.3rem 0; padding-left: 1.2rem;">{"".join(items)}</ul>' + _more(
        limit, len(findings), "findings"
    )


def notebook_tables_html(tables: Mapping[str, pd.DataFrame]) -> str:
    """The names and shapes of a result's tables (never their rows).

    Examples
    --------
    >>> import pandas as pd
    >>> notebook_tables_html({"<by_group>": pd.DataFrame({"a": [1, 2]})})
    '<p style="color: #888;">Tables: <code>&lt;by_group&gt;</code> (2 rows × 1 column).</p>'
    """
    if not tables:
        return ""
    items = [
        f"<code>{escape(name)}</code> ({frame.shape[0]:,} row{'s' * (frame.shape[0] != 1)} × "
        f"{frame.shape[1]:,} column{'s' * (frame.shape[1] != 1)})"
        for name, frame in tables.items()
    ]
    return f'<p style="{_MUTED}">Tables: {", ".join(items)}.</p>'


def notebook_verdicts_html(frame: pd.DataFrame, *, verdict: str) -> str:
    """A small table whose ``verdict`` column is coloured pass / warn / fail; all escaped.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"principle": ["<bias>"], "verdict": ["fail"]})
    >>> text = notebook_verdicts_html(frame, verdict="verdict")
    >>> "&lt;bias&gt;" in text, 'color: #c62828' in text
    (True, True)
    """
    head = "".join(f'<th style="{_CELL}">{escape(c)}</th>' for c in frame.columns)
    rows = []
    for values in frame.itertuples(index=False):
        cells = []
        for name, value in zip(frame.columns, values, strict=True):
            text = "" if value is None or (isinstance(value, float) and value != value) else value
            style = _CELL
            if name == verdict:
                colour = _VERDICT_COLOURS.get(str(value))
                style += f" font-weight: 600; color: {colour};" if colour else f" {_MUTED}"
            cells.append(f'<td style="{style}">{escape(text)}</td>')
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return (
        '<table style="border-collapse: collapse; margin: 0.4rem 0; font-size: 0.9em;">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
