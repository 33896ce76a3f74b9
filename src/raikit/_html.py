"""Self-contained HTML pages: Plotly's JavaScript inline (no CDN), tables, findings, figures.

Shared by every ``...Result.to_html`` and by the reports built on them.
"""

from __future__ import annotations

import html

import pandas as pd

__all__ = ["figures_html", "findings_html", "frame_html", "page_html"]

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
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
<script>{plotly}</script>
</head><body>
<h1>{title}</h1>
{body}
</body></html>
"""


def page_html(title: str, sections: list[tuple[str, str]]) -> str:
    """A self-contained page: Plotly's JavaScript inline (no CDN), one ``<h2>`` per section."""
    from plotly.offline import get_plotlyjs

    body = "\n".join(
        f"<section><h2>{html.escape(h)}</h2>\n{content}</section>" for h, content in sections
    )
    return _PAGE.format(title=html.escape(title), plotly=get_plotlyjs(), body=body)


def figures_html(figures: list) -> str:
    return "\n".join(
        '<div class="figure">'
        + fig.to_html(full_html=False, include_plotlyjs=False, config={"responsive": True})
        + "</div>"
        for fig in figures
    )


def findings_html(findings) -> str:
    if not findings:
        return "<p>No findings.</p>"
    items = "".join(
        f'<li class="finding-{f.severity}"><b>{html.escape(f.severity)}</b>: '
        f"{html.escape(f.title)} — {html.escape(f.detail)}</li>"
        for f in findings
    )
    return f"<ul>{items}</ul>"


def frame_html(frame: pd.DataFrame, *, max_rows: int = 500) -> str:
    """An HTML table of at most ``max_rows`` rows (aggregates only: reports never dump raw data)."""
    shown = frame.head(max_rows)
    note = (
        f"<p><i>First {max_rows} of {len(frame):,} rows; the JSON evidence has them all.</i></p>"
        if len(frame) > max_rows
        else ""
    )
    return shown.to_html(float_format=lambda v: f"{v:.4g}", na_rep="") + note
