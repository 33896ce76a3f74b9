"""PDF documents printed from the HTML pages raikit already renders (WeasyPrint, offline).

A PDF is the object's own ``to_html`` page laid out for paper by a print stylesheet: whatever the
page shows, the PDF shows, in the same order. WeasyPrint runs no JavaScript, so the scripts are
removed and each interactive Plotly figure becomes either a note ("Interactive figure ...: see
the HTML report") or, with ``figures="static"``, an SVG drawn offline by Kaleido in a local
Chrome (plotly.js from the installed plotly package, MathJax off). Content the page folds away
behind a closed ``<details>`` stays folded: the PDF says it is in the HTML report.

Nothing is ever fetched: the only resources a page may load are ``data:`` URLs (inline images
and fonts); a link, stylesheet, image or font at ``http(s):``, ``file:`` or any other URL is
refused, whatever the page holds.
"""

from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path

from raikit._errors import ParameterError, RaikitError

__all__ = ["FIGURE_MODES", "html_to_pdf"]

FIGURE_MODES = ("omit", "static")

_INSTALL = "pip install 'raikit[pdf]'"
_SCRIPT = re.compile(r"<script\b.*?</script\s*>", re.IGNORECASE | re.DOTALL)
_NEW_PLOT = re.compile(r'Plotly\.newPlot\(\s*"([^"\\]+)"\s*,\s*')
_DATA_BLOCK = re.compile(
    r'<script type="application/json"[^>]*\bid="([^"]+)-data">(.*?)</script\s*>', re.DOTALL
)
_PLOTLY_DIV = re.compile(
    r'<div\b[^>]*\bid="([^"]*)"[^>]*\bclass="[^"]*\bplotly-graph-div\b[^"]*"[^>]*>\s*</div>',
    re.IGNORECASE,
)
# A table (with the heading right before it) on a landscape page when its first row has more
# cells than fit across portrait A4; beyond LANDSCAPE_CELLS its text is smaller.
_TABLE = re.compile(
    r"(?:<h([2-4])\b[^>]*>(?:(?!</h\1>).)*</h\1>\s*)?<table\b.*?</table\s*>",
    re.IGNORECASE | re.DOTALL,
)
_FIRST_ROW = re.compile(r"<tr\b.*?</tr\s*>", re.IGNORECASE | re.DOTALL)
_CELL = re.compile(r"<t[hd]\b", re.IGNORECASE)
_HEAD_END = re.compile(r"</head\s*>", re.IGNORECASE)
_TEXT = re.compile(r"(?<=>)[^<>]+(?=<)")  # text between tags
PORTRAIT_CELLS, LANDSCAPE_CELLS = 9, 12
# Trace types drawn from the figure's own numbers only (maps fetch tiles and outlines).
_OFFLINE_TRACES = frozenset(
    "bar barpolar box candlestick contour funnel heatmap histogram histogram2d "
    "histogram2dcontour indicator ohlc parcats parcoords pie sankey scatter scattergl "
    "scatterpolar scatterpolargl scatterternary sunburst table treemap violin waterfall".split()
)

PRINT_CSS = """
@page {
  size: A4; margin: 16mm 14mm 18mm 14mm;
  @bottom-left { content: string(raikit-title); font-size: 7.5pt; color: #666; }
  @bottom-right { content: "Page " counter(page) " of " counter(pages); font-size: 7.5pt;
                  color: #666; }
}
html { font-size: 9.5pt; font-family: "DejaVu Sans", "Liberation Sans", sans-serif; }
body { margin: 0; max-width: none; font-family: inherit; line-height: 1.35; }
h1 { font-size: 16pt; string-set: raikit-title content(); margin: 0 0 0.6em 0; }
h2 { font-size: 12.5pt; margin-top: 1.4em; break-after: avoid; bookmark-level: 1; }
h3 { font-size: 10.5pt; break-after: avoid; bookmark-level: 2; }
p, li, dd { orphans: 2; widows: 2; }
dt { break-after: avoid; margin-top: 0.5em; }
table { width: 100%; font-size: 7.5pt; border-collapse: collapse; margin: 0.5em 0; }
thead { display: table-header-group; }
tr, img, svg, .raikit-pdf-figure { break-inside: avoid; }
th, td { padding: 1.5pt 3pt; overflow-wrap: break-word; vertical-align: top; }
a { color: inherit; text-decoration: none; }
nav ul { columns: 2; }
@page raikit-landscape { size: A4 landscape; }
body > *, section > * { page: raikit-portrait; }
.raikit-wide { page: raikit-landscape; }
.raikit-very-wide table { font-size: 6pt; }
.raikit-very-wide th, .raikit-very-wide td { padding: 1pt 2pt; }
.plotly-graph-div { display: none; }
.raikit-pdf-figure { margin: 0.8em 0; }
.raikit-pdf-figure img { width: 100%; height: auto; }
.raikit-pdf-note { color: #555; font-style: italic; border-left: 2pt solid #bbb;
                   padding: 2pt 6pt; margin: 0.5em 0; }
details:not([open]) > :not(summary) { display: none; }
details:not([open]) > summary::after { content: " (folded: see the HTML report)";
                                       color: #555; font-style: italic; }
"""


def _weasyprint():
    """The ``weasyprint`` module, or an error naming the extra (and the system libraries)."""
    try:
        import weasyprint
    except ImportError as error:
        raise RaikitError(f"Writing a PDF needs WeasyPrint: {_INSTALL}.") from error
    except OSError as error:  # the Python package is there, Pango is not
        raise RaikitError(
            "WeasyPrint is installed but cannot load its system libraries "
            f"({error}); install Pango (Debian: apt-get install libpango-1.0-0 "
            "libpangoft2-1.0-0 libharfbuzz-subset0)."
        ) from error
    if not hasattr(weasyprint, "URLFetcher"):
        raise RaikitError(
            f"WeasyPrint {weasyprint.__version__} is too old to lock out the network; {_INSTALL}."
        )
    return weasyprint


def _offline_fetcher(weasyprint):
    """A URL fetcher that serves ``data:`` URLs only and refuses everything else."""

    class OfflineFetcher(weasyprint.URLFetcher):
        def fetch(self, url, headers=None):
            scheme = str(url).strip().split(":", 1)[0].lower()
            if scheme != "data":
                raise ValueError(f"raikit PDFs load nothing from outside the document: {url!r}")
            return super().fetch(url, headers)

    return OfflineFetcher(allowed_protocols={"data"}, allow_redirects=False, timeout=1)


def _plotly_figures(page: str) -> dict[str, dict]:
    """Figure id -> ``{"data", "layout"}`` of every figure in the page: the JSON data blocks that
    :func:`raikit._html.figures_html` writes, and any ``Plotly.newPlot`` call in its scripts."""
    decoder = json.JSONDecoder()
    found = {}
    for key, text in _DATA_BLOCK.findall(page):
        try:
            figure = json.loads(text)
        except ValueError:
            continue
        if isinstance(figure, dict) and isinstance(figure.get("data"), list):
            found[html.unescape(key)] = {
                "data": figure["data"],
                "layout": figure.get("layout") or {},
            }
    for script in _SCRIPT.findall(page):
        for match in _NEW_PLOT.finditer(script):
            try:
                data, end = decoder.raw_decode(script, match.end())
                rest = re.match(r"\s*,\s*", script[end:])
                layout = decoder.raw_decode(script, end + rest.end())[0] if rest else {}
            except (ValueError, AttributeError):
                continue
            if isinstance(data, list) and isinstance(layout, dict):
                found[match.group(1)] = {"data": data, "layout": layout}
    return found


def _figure_title(figure: dict | None) -> str:
    title = (figure or {}).get("layout", {}).get("title")
    text = title.get("text") if isinstance(title, dict) else title
    return re.sub(r"<[^>]*>", "", text) if isinstance(text, str) and text.strip() else ""


def _note(figure: dict | None) -> str:
    title = _figure_title(figure)
    named = f" “{html.escape(title)}”" if title else ""
    return (
        f'<p class="raikit-pdf-note">Interactive figure{named} left out of the PDF: '
        "see the HTML report.</p>"
    )


def _drawable(figure: dict) -> bool:
    """True when the figure draws from its own numbers (no map tiles, images or outlines)."""
    traces = figure["data"]
    return all(isinstance(t, dict) and t.get("type", "scatter") in _OFFLINE_TRACES for t in traces)


def _without_pictures(layout: dict) -> dict:
    """The layout without pictures or map settings, its template's layout included."""
    dropped = ("images", "mapbox", "map", "geo")
    out = {k: v for k, v in layout.items() if k not in dropped}
    template = out.get("template")
    if isinstance(template, dict) and isinstance(template.get("layout"), dict):
        out["template"] = {**template, "layout": _without_pictures(template["layout"])}
    return out


def _static_svgs(figures: dict[str, dict], *, timeout: float) -> dict[str, bytes]:
    """SVG of each figure, drawn by Kaleido in a local Chrome with the installed plotly.js."""
    try:
        import kaleido
    except ImportError as error:
        raise RaikitError(f'figures="static" needs Kaleido: {_INSTALL}.') from error
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    import plotly

    plotly_js = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not plotly_js.is_file():
        raise RaikitError(
            f'figures="static" draws with the plotly.js of the plotly package, which is missing '
            f'({plotly_js}); reinstall plotly or write the PDF with figures="omit".'
        )
    wanted = {}
    for key, figure in figures.items():
        if not _drawable(figure):
            continue
        layout = _without_pictures(figure["layout"])
        height = layout.get("height") if isinstance(layout.get("height"), int | float) else 450
        wanted[key] = ({"data": figure["data"], "layout": layout}, int(height))

    async def draw() -> dict[str, bytes]:
        out = {}
        # A proxy nobody listens on: should Chrome try a network request, it fails.
        async with kaleido.Kaleido(
            n=1,
            timeout=timeout,
            mathjax=False,
            plotlyjs=plotly_js.as_uri(),
            proxy_server="127.0.0.1:9",
        ) as k:
            for key, (figure, height) in wanted.items():
                opts = {"format": "svg", "width": 900, "height": height}
                out[key] = await k.calc_fig(figure, opts=opts)
        return out

    if not wanted:
        return {}
    try:  # a thread of its own: works inside a running event loop (Jupyter) too
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, draw()).result()
    except Exception as error:
        raise RaikitError(
            f"Kaleido could not draw the figures ({type(error).__name__}: {error}); it needs "
            'Chrome or Chromium installed, or write the PDF with figures="omit".'
        ) from error


def _tables_for_paper(page: str) -> str:
    """A table too wide for portrait A4 is wrapped (with its heading) for a landscape page, and
    the names in it may break after ``_``."""

    def wrap(match: re.Match) -> str:
        row = _FIRST_ROW.search(match.group(0))
        cells = len(_CELL.findall(row.group(0))) if row else 0
        if cells <= PORTRAIT_CELLS:
            return match.group(0)
        table = _TEXT.sub(lambda t: t.group(0).replace("_", "_<wbr>"), match.group(0))
        kind = "raikit-wide" + (" raikit-very-wide" if cells > LANDSCAPE_CELLS else "")
        return f'<div class="{kind}">{table}</div>'

    return _TABLE.sub(wrap, page)


def _print_page(page: str, *, figures: str, timeout: float) -> str:
    """The page ready for WeasyPrint: scripts out, each Plotly figure an SVG or a note, wide
    tables on landscape pages, and the print stylesheet."""
    found = _plotly_figures(page)
    svgs = _static_svgs(found, timeout=timeout) if figures == "static" and found else {}

    def replace(match: re.Match) -> str:
        key = html.unescape(match.group(1))
        if key not in svgs:
            return _note(found.get(key))
        src = "data:image/svg+xml;base64," + base64.b64encode(svgs[key]).decode("ascii")
        alt = html.escape(_figure_title(found[key]) or "figure")
        return f'<div class="raikit-pdf-figure"><img src="{src}" alt="{alt}"></div>'

    page = _tables_for_paper(_PLOTLY_DIV.sub(replace, _SCRIPT.sub("", page)))
    # The print stylesheet goes after the page's own: an author sheet too, it wins on ties.
    head_end = _HEAD_END.search(page)
    at = head_end.start() if head_end else 0
    return f"{page[:at]}<style>{PRINT_CSS}</style>{page[at:]}"


def html_to_pdf(page: str, path=None, *, figures: str = "omit", timeout: float = 120.0) -> bytes:
    """Print an HTML page that raikit rendered as a PDF document (offline, no network).

    Parameters
    ----------
    page : str
        A page from a ``to_html`` method.
    path : str or path, optional
        Where to write the PDF.
    figures : {"omit", "static"}, default "omit"
        ``"omit"`` replaces each interactive figure by a note pointing at the HTML report;
        ``"static"`` draws it as an SVG with Kaleido (needs Chrome or Chromium; about 0.3 s a
        figure after a few seconds to start the browser).
    timeout : float, default 120
        Seconds Kaleido may take to draw the figures (``figures="static"`` only).

    Returns
    -------
    bytes
        The PDF.

    Examples
    --------
    >>> pdf = html_to_pdf("<html><body><h1>Audit</h1><p>accuracy 0.812</p></body></html>")
    >>> pdf[:5], pdf.rstrip().endswith(b"%%EOF")
    (b'%PDF-', True)

    Nothing is fetched: an image at another site is not loaded.

    >>> pdf = html_to_pdf('<img src="http://127.0.0.1:9/x.png"><p>text</p>')
    >>> pdf[:5]
    b'%PDF-'
    """
    if figures not in FIGURE_MODES:
        raise ParameterError(f"figures must be one of {FIGURE_MODES}, got {figures!r}.")
    weasyprint = _weasyprint()
    printable = _print_page(str(page), figures=figures, timeout=timeout)
    fetcher = _offline_fetcher(weasyprint)
    pdf = weasyprint.HTML(string=printable, url_fetcher=fetcher, base_url=None).write_pdf()
    if path is not None:
        Path(path).write_bytes(pdf)
    return pdf
