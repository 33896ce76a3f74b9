"""Plotly figures and a self-contained HTML page for group metrics.

Figures draw one mark per group (an aggregate), never one per row, so they stay light on any number
of rows.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

__all__ = ["disparity_figure", "metric_figures", "page_html", "result_html"]

HEADLINE = (
    "selection_rate",
    "true_positive_rate",
    "false_positive_rate",
    "accuracy",
    "precision",
    "roc_auc",
    "expected_calibration_error",
    "mean_absolute_error",
    "r2",
)
_MAX_FIGURES = 6


def _error_bars(value: pd.Series, lower: pd.Series, upper: pd.Series) -> dict | None:
    if lower.isna().all():
        return None
    return {
        "type": "data",
        "symmetric": False,
        "array": (upper - value).clip(lower=0).fillna(0).to_numpy(),
        "arrayminus": (value - lower).clip(lower=0).fillna(0).to_numpy(),
    }


def metric_figures(result) -> list:
    """One horizontal bar chart per headline metric: every group, with CI error bars, and a
    line at the overall value."""
    import plotly.graph_objects as go

    names = [m for m in HEADLINE if m in result.metric_names]
    if not names:
        names = [m for m in result.metric_names if m != "count"][:_MAX_FIGURES]
    figures = []
    by_group, lower, upper = result.by_group, result.by_group_lower, result.by_group_upper
    overall = result.overall
    for metric in names[:_MAX_FIGURES]:
        fig = go.Figure()
        for attribute in result.attributes:
            part = by_group.loc[attribute, metric]
            fig.add_trace(
                go.Bar(
                    x=part.to_numpy(),
                    y=[f"{attribute}: {g}" for g in part.index],
                    orientation="h",
                    name=attribute,
                    error_x=_error_bars(
                        part, lower.loc[attribute, metric], upper.loc[attribute, metric]
                    ),
                    hovertemplate="%{y}<br>" + metric + " = %{x:.4f}<extra></extra>",
                )
            )
        fig.add_vline(
            x=float(overall[metric]),
            line_dash="dash",
            annotation_text=f"overall {overall[metric]:.3f}",
        )
        n_bars = len(by_group)
        ci = f" ({result.ci:.0%} bootstrap CI)" if result.ci else ""
        fig.update_layout(
            title=f"{metric.replace('_', ' ')} by group{ci}",
            height=max(260, 22 * n_bars + 120),
            yaxis={"autorange": "reversed"},
            margin={"l": 10, "r": 10, "t": 50, "b": 30},
            legend_title_text="attribute",
        )
        figures.append(fig)
    return figures


def disparity_figure(result, *, method: str = "between_groups"):
    """Bars of the largest between-group difference of each metric, per attribute, with CIs."""
    import plotly.graph_objects as go

    table = result.difference(method, bounds=True)
    table = table[table["metric"] != "count"]
    fig = go.Figure()
    for attribute, part in table.groupby("attribute", sort=False):
        fig.add_trace(
            go.Bar(
                x=part["metric"],
                y=part["value"],
                name=attribute,
                error_y=_error_bars(part["value"], part["lower"], part["upper"]),
            )
        )
    fig.update_layout(
        title=f"Largest difference between groups ({method.replace('_', ' ')})",
        barmode="group",
        yaxis_title="difference",
        margin={"l": 10, "r": 10, "t": 50, "b": 120},
    )
    return fig


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }}
table {{ border-collapse: collapse; font-size: 0.85rem; margin: 1rem 0; }}
th, td {{ border: 1px solid #ddd; padding: 0.25rem 0.5rem; text-align: right; }}
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


def _format_table(result) -> pd.DataFrame:
    value = result.by_group
    if result.ci is None:
        return value.map(lambda v: "" if pd.isna(v) else f"{v:.4g}")
    low, high = result.by_group_lower, result.by_group_upper
    out = value.copy().astype(object)
    for column in value.columns:
        out[column] = [
            "" if pd.isna(v) else (f"{v:.4g}" if pd.isna(lo) else f"{v:.3f} [{lo:.3f}, {hi:.3f}]")
            for v, lo, hi in zip(value[column], low[column], high[column], strict=True)
        ]
    return out


def result_html(result, *, title: str) -> str:
    """The page of a :class:`GroupMetricsResult`: summary, findings, figures and tables."""
    overall = result.overall.to_frame().T
    disparity = result.difference(bounds=True)
    disparity = disparity.assign(
        interval=np.where(
            disparity["lower"].isna(),
            "",
            "["
            + disparity["lower"].round(4).astype(str)
            + ", "
            + disparity["upper"].round(4).astype(str)
            + "]",
        )
    )
    sections = [
        ("Summary", f"<p>{html.escape(result.summary)}</p>"),
        ("Findings", findings_html(result.findings)),
        ("Figures", figures_html(result.figures())),
        ("Overall", overall.to_html(float_format=lambda v: f"{v:.4g}")),
        ("By group", _format_table(result).to_html()),
        (
            "Differences between groups",
            disparity.drop(columns=["lower", "upper"]).to_html(
                index=False, float_format=lambda v: f"{v:.4g}"
            ),
        ),
    ]
    return page_html(title, sections)
