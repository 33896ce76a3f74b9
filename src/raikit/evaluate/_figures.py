"""Plotly figures of the evaluation stage: one mark per group, threshold or bin (aggregates only),
and error bars on every metric that has an interval."""

from __future__ import annotations

import numpy as np
import pandas as pd

from raikit._plots import error_bars
from raikit.metrics._stats import wilson_interval

__all__ = ["error_bars", "evaluation_figures"]

_HEADLINE = (
    "accuracy",
    "selection_rate",
    "true_positive_rate",
    "false_positive_rate",
    "precision",
    "roc_auc",
)


def _label(t) -> str:
    return "model predict" if pd.isna(t) else f"threshold {t:g}"


def evaluation_figures(result) -> list:
    import plotly.graph_objects as go

    figures = []
    table = result.metrics
    groups = table[table["attribute"] != "overall"]
    names = [m for m in _HEADLINE if m in set(table["metric"])]
    ci = f" ({result.ci:.0%} bootstrap CI)" if result.ci else ""
    for metric in names:
        if metric == "roc_auc" and len(result.thresholds) > 1:
            thresholds = result.thresholds[:1]  # AUC does not depend on the threshold
        else:
            thresholds = result.thresholds
        fig = go.Figure()
        for t in thresholds:  # a few thresholds: one trace each
            pick = groups["threshold"].isna() if pd.isna(t) else groups["threshold"] == t
            part = groups[pick & (groups["metric"] == metric)]
            fig.add_trace(
                go.Bar(
                    x=part["value"],
                    y=part["attribute"] + ": " + part["group"].astype(str),
                    orientation="h",
                    name=_label(t) if metric != "roc_auc" else "ROC AUC",
                    error_x=error_bars(part["value"], part["lower"], part["upper"]),
                )
            )
            overall = table[
                (table["attribute"] == "overall")
                & (table["metric"] == metric)
                & (table["threshold"].isna() if pd.isna(t) else table["threshold"] == t)
            ]["value"]
            if len(overall) and len(thresholds) == 1:
                fig.add_vline(
                    x=float(overall.iloc[0]),
                    line_dash="dash",
                    annotation_text=f"overall {float(overall.iloc[0]):.3f}",
                )
        n_bars = groups[["attribute", "group"]].drop_duplicates().shape[0]
        fig.update_layout(
            title=f"{metric.replace('_', ' ')} by group{ci}",
            barmode="group",
            yaxis={"autorange": "reversed"},
            height=max(280, 22 * n_bars * len(thresholds) + 120),
            margin={"l": 10, "r": 10, "t": 50, "b": 30},
        )
        figures.append(fig)
    if len(result.fairness):
        fig = go.Figure()
        fair = result.fairness
        for t in result.thresholds:
            part = fair[fair["threshold"].isna() if pd.isna(t) else fair["threshold"] == t]
            fig.add_trace(
                go.Bar(
                    x=part["criterion"] + " / " + part["attribute"],
                    y=part["difference"],
                    name=_label(t),
                    error_y=error_bars(part["difference"], part["lower"], part["upper"]),
                )
            )
        fig.add_hline(
            y=result.tolerance, line_dash="dash", annotation_text=f"tolerance {result.tolerance:g}"
        )
        fig.update_layout(
            title=f"Fairness criteria: largest difference between groups{ci}",
            barmode="group",
            yaxis_title="difference",
            margin={"l": 10, "r": 10, "t": 50, "b": 160},
        )
        figures.append(fig)
    if len(result.roc):
        figures += _curve_figures(result)
    if len(result.calibration):
        figures.append(_calibration_figure(result))
    figures.append(_confusion_figure(result))
    return figures


def _auc_labels(result) -> dict:
    table = result.metrics
    first = result.thresholds[0]
    pick = table["threshold"].isna() if pd.isna(first) else table["threshold"] == first
    auc = table[pick & (table["metric"] == "roc_auc")]
    out = {}
    for row in auc.itertuples(index=False):  # one label per group
        interval = f" [{row.lower:.3f}, {row.upper:.3f}]" if np.isfinite(row.lower) else ""
        out[(row.attribute, row.group)] = f"AUC {row.value:.3f}{interval}"
    return out


def _rgba(colour: str, alpha: float) -> str:
    """``#rrggbb`` as a Plotly ``rgba(...)`` string."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _moves(*columns) -> np.ndarray:
    """Which points of a line to draw: the first, and each one where a coordinate changes (a run
    of identical points, common at the thresholds of a small group, draws the same line once)."""
    values = np.column_stack([np.asarray(c, float) for c in columns])
    changed = np.any(values[1:] != values[:-1], axis=1)
    return np.r_[True, changed] if len(values) else np.zeros(0, dtype=bool)


def _band(fig, x, lower, upper, colour, legendgroup) -> None:
    """A shaded band: a hidden lower trace, then an upper trace filled down to it (``tonexty``)."""
    import plotly.graph_objects as go

    keep = np.isfinite(np.asarray(x, float)) & np.isfinite(lower) & np.isfinite(upper)
    x, lower, upper = np.asarray(x)[keep], np.asarray(lower)[keep], np.asarray(upper)[keep]
    keep = _moves(x, lower, upper)
    if not keep.any():
        return
    common = {
        "mode": "lines",
        "line": {"width": 0, "color": colour},
        "showlegend": False,
        "legendgroup": legendgroup,
        "hoverinfo": "skip",
    }
    fig.add_trace(go.Scatter(x=x[keep], y=lower[keep], **common))
    fig.add_trace(
        go.Scatter(x=x[keep], y=upper[keep], fill="tonexty", fillcolor=_rgba(colour, 0.2), **common)
    )


def _every_other(n: int) -> np.ndarray:
    """Every second threshold of the grid, and the last (51 of the 101 points): the drawn curve
    keeps its shape at half the page weight; the table keeps every point."""
    keep = np.arange(n) % 2 == 0
    keep[-1:] = True
    return keep


# the columns of the ROC table the curves draw (a threshold that moves none of them adds nothing)
_DRAWN = (
    "false_positive_rate",
    "true_positive_rate",
    "precision",
    "true_positive_rate_lower",
    "true_positive_rate_upper",
    "precision_lower",
    "precision_upper",
)


def _curve_figures(result) -> list:
    import plotly.graph_objects as go
    from plotly.colors import qualitative

    auc = _auc_labels(result)
    roc = result.roc
    has_bands = "true_positive_rate_lower" in roc and roc["true_positive_rate_lower"].notna().any()
    palette = qualitative.Plotly
    roc_fig, pr_fig = go.Figure(), go.Figure()
    parts = roc.groupby(["attribute", "group"], sort=False)
    for i, ((attribute, group), part) in enumerate(parts):  # one line (and band) per group
        name = "overall" if attribute == "overall" else f"{attribute}: {group}"
        label = auc.get((attribute, group), "")
        colour = palette[i % len(palette)]
        part = part[_moves(*(part[c] for c in _DRAWN if c in part)) & _every_other(len(part))]
        fpr = part["false_positive_rate"].to_numpy()
        tpr = part["true_positive_rate"].to_numpy()
        if has_bands:
            _band(
                roc_fig,
                fpr,
                part["true_positive_rate_lower"].to_numpy(),
                part["true_positive_rate_upper"].to_numpy(),
                colour,
                attribute,
            )
            _band(
                pr_fig,
                tpr,
                part["precision_lower"].to_numpy(),
                part["precision_upper"].to_numpy(),
                colour,
                attribute,
            )
        roc_fig.add_trace(
            go.Scatter(
                x=fpr,
                y=tpr,
                mode="lines",
                line={"color": colour},
                name=f"{name} ({label})" if label else name,
                legendgroup=attribute,
            )
        )
        pr_fig.add_trace(
            go.Scatter(
                x=tpr,
                y=part["precision"],
                mode="lines",
                line={"color": colour},
                name=name,
                legendgroup=attribute,
            )
        )
    band = ""
    if has_bands and result.ci:
        band = f"; shaded: pointwise {result.ci:.0%} bootstrap band at each threshold"
    roc_fig.add_shape(type="line", x0=0, y0=0, x1=1, y1=1, line={"dash": "dot", "color": "grey"})
    roc_fig.update_layout(
        title=f"ROC curve per group (AUC with its bootstrap CI in the legend{band})",
        xaxis_title="false positive rate",
        yaxis_title="true positive rate",
    )
    pr_fig.update_layout(
        title=f"Precision–recall curve per group{f' ({band[2:]})' if band else ''}",
        xaxis_title="recall",
        yaxis_title="precision",
    )
    return [roc_fig, pr_fig]


def _calibration_figure(result):
    import plotly.graph_objects as go

    fig = go.Figure()
    for (attribute, group), part in result.calibration.groupby(["attribute", "group"], sort=False):
        name = "overall" if attribute == "overall" else f"{attribute}: {group}"
        fig.add_trace(
            go.Scatter(
                x=part["mean_score"],
                y=part["observed_rate"],
                mode="lines+markers",
                name=name,
                legendgroup=attribute,
                error_y=error_bars(part["observed_rate"], part["lower"], part["upper"]),
            )
        )
    fig.add_shape(type="line", x0=0, y0=0, x1=1, y1=1, line={"dash": "dot", "color": "grey"})
    fig.update_layout(
        title=(
            "Calibration per group (observed rate"
            + (f" with {result.ci:.0%} Wilson interval" if result.ci else "")
            + " per score decile)"
        ),
        xaxis_title="mean predicted probability",
        yaxis_title="observed positive rate",
    )
    return fig


def _confusion_figure(result):
    import plotly.graph_objects as go

    first = result.thresholds[0]
    conf = result.confusion
    part = conf[conf["threshold"].isna() if pd.isna(first) else conf["threshold"] == first]
    total = part[["tn", "fp", "fn", "tp"]].sum(axis=1).replace(0, np.nan)
    labels = part["attribute"] + ": " + part["group"].astype(str)
    fig = go.Figure()
    for cell, colour in (
        ("tn", "#4c78a8"),
        ("fp", "#f58518"),
        ("fn", "#e45756"),
        ("tp", "#54a24b"),
    ):
        share = part[cell] / total
        low, high = wilson_interval(
            part[cell].to_numpy(float), total.to_numpy(float), ci=result.ci or 0.95
        )
        fig.add_trace(
            go.Bar(
                x=share,
                y=labels,
                orientation="h",
                name=cell.upper(),
                marker_color=colour,
                error_x=error_bars(share, low, high),
            )
        )
    fig.update_layout(
        title=(
            f"Confusion matrix per group, as shares of the group ({_label(first)}; "
            f"{result.ci or 0.95:.0%} Wilson)"
        ),
        barmode="group",
        yaxis={"autorange": "reversed"},
        height=max(300, 60 * len(part) + 120),
        margin={"l": 10, "r": 10, "t": 50, "b": 30},
    )
    return fig
