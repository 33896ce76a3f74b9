"""Plotly figures and a self-contained HTML page for group metrics.

Figures draw one mark per group (an aggregate), never one per row, so they stay light on any number
of rows.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from raikit._html import figures_html, findings_html, page_html
from raikit._plots import error_bars

__all__ = ["disparity_figure", "metric_figures", "result_html"]

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


def metric_figures(result, *, limit: int = _MAX_FIGURES) -> list:
    """One horizontal bar chart per headline metric (the first ``limit``): every group, with CI
    error bars, and a line at the overall value."""
    import plotly.graph_objects as go

    names = [m for m in HEADLINE if m in result.metric_names]
    if not names:
        names = [m for m in result.metric_names if m != "count"][:_MAX_FIGURES]
    figures = []
    by_group, lower, upper = result.by_group, result.by_group_lower, result.by_group_upper
    overall = result.overall
    for metric in names[:limit]:
        fig = go.Figure()
        for attribute in result.attributes:
            part = by_group.loc[attribute, metric]
            fig.add_trace(
                go.Bar(
                    x=part.to_numpy(),
                    y=[f"{attribute}: {g}" for g in part.index],
                    orientation="h",
                    name=attribute,
                    error_x=error_bars(
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
                error_y=error_bars(part["value"], part["lower"], part["upper"]),
            )
        )
    fig.update_layout(
        title=f"Largest difference between groups ({method.replace('_', ' ')})",
        barmode="group",
        yaxis_title="difference",
        margin={"l": 10, "r": 10, "t": 50, "b": 120},
    )
    return fig


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
