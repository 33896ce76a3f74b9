"""Self-contained HTML pages: Plotly's JavaScript inline (no CDN), tables, findings, figures.

Shared by every ``...Result.to_html``, the cards and the dashboard: the one place where HTML is
built. Every string that comes from data (column and category names, file, run, check and model
names, problem-definition answers) goes through :func:`escape`; tables are built by pandas with
escaping on or by :func:`table_html`; links only ever point inside the page or the dashboard
(:func:`safe_href`).

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
import re
import secrets
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import pandas as pd

__all__ = [
    "escape",
    "escape_markdown",
    "figures_html",
    "findings_html",
    "frame_html",
    "page_html",
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
</style>
{plotly}
</head><body>
<h1>{title}</h1>
{body}
</body></html>
"""

# (nonce, plotly_url) while the dashboard renders a response; None for files written to disk.
_SERVING: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar(
    "raikit_html_serving", default=None
)
_PLOTLY_SCRIPT = re.compile(r'<script(?: type="text/javascript")?>')
# Marks the scripts raikit writes into a file until page_html hashes them (a per-process secret:
# text from data cannot carry it).
_MARK = f'<script data-raikit="{secrets.token_hex(16)}">'
_MARKED = re.compile(re.escape(_MARK) + r"(.*?)</script>", re.DOTALL)
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

    Examples
    --------
    >>> with serving("abcdefgh12345678", plotly_url="/static/plotly.js"):
    ...     page = page_html("t", [])
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


def _plotly_tag() -> str:
    state = _SERVING.get()
    if state is None:
        from plotly.offline import get_plotlyjs

        return f"{_MARK}{get_plotlyjs()}</script>"
    nonce, url = state
    return f'<script nonce="{escape(nonce)}" src="{safe_href(url)}"></script>'


def page_html(title: str, sections: list[tuple[str, str]]) -> str:
    """A self-contained page: Plotly's JavaScript inline (no CDN), one ``<h2>`` per section.

    ``title`` and the section headings are escaped here; each section's content must already be
    HTML built by this module's helpers.

    Examples
    --------
    >>> page = page_html("<script>x</script>", [("Notes", "<p>ok</p>")])
    >>> "<title>&lt;script&gt;x&lt;/script&gt;</title>" in page
    True

    A file carries its policy: only the scripts raikit wrote (here plotly.js) may run.

    >>> policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)[1]
    >>> policy.count("'sha256-"), "unsafe-inline" in policy.split("script-src")[1].split(";")[0]
    (1, False)
    """
    body = "\n".join(
        f"<section><h2>{escape(h)}</h2>\n{content}</section>" for h, content in sections
    )
    page = _PAGE.format(title=escape(title), plotly=_plotly_tag(), body=body, policy="{policy}")
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


def figures_html(figures: list) -> str:
    """Plotly figures as ``<div>``s with their drawing scripts (nonce'd when serving).

    Examples
    --------
    >>> import plotly.graph_objects as go
    >>> with serving("abcdefgh12345678", plotly_url="/static/plotly.js"):
    ...     text = figures_html([go.Figure(go.Bar(x=["<b>"], y=[1]))])
    >>> text.count('<script nonce="abcdefgh12345678">'), text.count("<script>"), "<b>" in text
    (1, 0, False)

    Plotly writes the figure's JSON with ``<``, ``>`` and ``&`` as ``\\u003c``-style escapes, so
    no name inside a figure can close the script; Plotly.js draws text labels as SVG text and
    drops tags and ``javascript:`` links it does not allow.
    """
    state = _SERVING.get()
    parts = []
    for fig in figures:
        text = fig.to_html(full_html=False, include_plotlyjs=False, config={"responsive": True})
        opening = _MARK if state is None else f'<script nonce="{escape(state[0])}">'
        text = _PLOTLY_SCRIPT.sub(opening, text)
        parts.append(f'<div class="figure">{text}</div>')
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
    return shown.to_html(float_format=lambda v: f"{v:.4g}", na_rep="", escape=True) + _note(
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
_DRAW = """<script>(function () {{
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
    from plotly.offline import get_plotlyjs

    _NOTEBOOK["plotly_sent"] = True
    # no module loader may capture the bundle: it must define window.Plotly
    return (
        f"<script>(function (module, exports, define) {{\n{get_plotlyjs()}\n}})();\n"
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
        + _DRAW.format(div_id=div_id, spec=spec, ready=_READY)
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
