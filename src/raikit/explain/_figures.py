"""Plotly figures of the explain stage; every figure shows aggregates, never one mark per row."""

from __future__ import annotations

import numpy as np
import pandas as pd

from raikit._plots import error_bars

__all__ = ["counterfactual_table", "explanation_figures"]


def explanation_figures(result) -> list:
    imp = result.importance.sort_values("mean_abs", ascending=True)
    units = result.meta.get("units", "")
    level = f"{result.meta.get('ci', 0.95):.0%} CI"
    figures = _importance_figures(result, imp, units=units, level=level)
    figures.append(_beeswarm_figure(result.distribution, list(imp["feature"]), units=units))
    figures += _group_importance_figures(result, units=units, level=level)
    return figures


def _importance_figures(result, imp: pd.DataFrame, *, units: str, level: str) -> list:
    """Global mean |SHAP| with intervals, and the permutation cross-check when computed."""
    import plotly.graph_objects as go

    figures = []
    fig = go.Figure(
        go.Bar(
            x=imp["mean_abs"],
            y=imp["feature"],
            orientation="h",
            name="mean |SHAP|",
            error_x=error_bars(imp["mean_abs"], imp["lower"], imp["upper"]),
        )
    )
    fig.update_layout(
        title=f"Global importance: mean |SHAP| ({units}, {level})",
        xaxis_title=f"mean |SHAP value| ({units})",
        height=max(300, 24 * len(imp) + 120),
    )
    figures.append(fig)
    if "permutation_mean" in imp.columns:
        fig = go.Figure(
            go.Bar(
                x=imp["permutation_mean"],
                y=imp["feature"],
                orientation="h",
                name="permutation importance",
                error_x=error_bars(
                    imp["permutation_mean"], imp["permutation_lower"], imp["permutation_upper"]
                ),
            )
        )
        spearman = result.agreement.get("spearman")
        fig.update_layout(
            title=f"Cross-check: permutation importance (score drop, {level})"
            + (f" — Spearman with SHAP {spearman:.2f}" if spearman is not None else ""),
            xaxis_title=f"drop in {result.agreement.get('scoring', 'score')}",
            height=max(300, 24 * len(imp) + 120),
        )
        figures.append(fig)
    return figures


def _beeswarm_figure(dist: pd.DataFrame, order: list, *, units: str):
    """Beeswarm as aggregates: one marker per (feature, SHAP bin), size = rows, colour = value."""
    import plotly.graph_objects as go

    dist = dist.assign(position=dist["feature"].map({f: i for i, f in enumerate(order)}))
    biggest = max(float(dist["count"].max()), 1.0)
    fig = go.Figure(
        go.Scatter(
            x=dist["shap"],
            y=dist["feature"],
            mode="markers",
            marker={
                "size": 4 + 22 * np.sqrt(dist["count"] / biggest),
                "color": dist["feature_level"],
                "colorscale": "RdBu_r",
                "cmin": 0,
                "cmax": 1,
                "colorbar": {"title": "feature value<br>(low → high)"},
                "line": {"width": 0},
            },
            customdata=dist["count"],
            hovertemplate="%{y}: SHAP %{x:.3f}, %{customdata} rows<extra></extra>",
        )
    )
    fig.update_layout(
        title="Beeswarm (binned): SHAP values per feature; marker size = rows, colour = value "
        "(grey: categorical)",
        xaxis_title=f"SHAP value ({units})",
        yaxis={"categoryorder": "array", "categoryarray": order},
        height=max(320, 26 * len(order) + 140),
    )
    return fig


def _group_importance_figures(result, *, units: str, level: str) -> list:
    """One grouped bar chart per sensitive attribute: the top features' importance per group."""
    import plotly.graph_objects as go

    figures = []
    gi = result.group_importance
    top = list(result.importance.head(8)["feature"])
    for attribute, part in gi.groupby("attribute", sort=False):  # one figure per attribute
        part = part[part["feature"].isin(top)]
        fig = go.Figure()
        for group, g in part.groupby("group", sort=False):
            g = g.set_index("feature").reindex(top[::-1])
            fig.add_trace(
                go.Bar(
                    x=g["mean_abs"],
                    y=g.index,
                    orientation="h",
                    name=f"{group} (n={int(g['n'].iloc[0]):,})",
                    error_x=error_bars(g["mean_abs"], g["lower"], g["upper"]),
                )
            )
        fig.update_layout(
            title=f"Importance per {attribute} group: mean |SHAP| ({level})",
            barmode="group",
            xaxis_title=f"mean |SHAP value| ({units})",
            height=max(340, 16 * len(part) + 160),
        )
        figures.append(fig)
    return figures


def counterfactual_table(query: pd.Series, counterfactuals: pd.DataFrame, features, *, title: str):
    """The original row and its counterfactuals as a grid of cells; changed cells highlighted."""
    from raikit._plots import cell_grid

    header = ["", *features, "prediction", "score"]
    rows = [["original", *[query[f] for f in features], query["prediction"], query["score"]]]
    fills = [["#f4f4f4"] * len(header)]
    for i, (_, cf) in enumerate(counterfactuals.iterrows()):  # at most n counterfactuals
        changed = [not _same(cf[f], query[f]) for f in features]
        rows.append([f"#{i + 1}", *[cf[f] for f in features], cf["prediction"], cf["score"]])
        fills.append(
            ["#f4f4f4", *["#ffe08a" if c else "#f4f4f4" for c in changed], "#d9f2d9", "#d9f2d9"]
        )
    text = [[_fmt(v) for v in row] for row in rows]
    fig = cell_grid(
        header[1:],
        [row[0] for row in rows],
        text=[t[1:] for t in text],
        colors=[f[1:] for f in fills],
    )
    fig.update_traces(marker_size=40, textfont_size=11, hovertemplate="%{y} · %{x}: %{text}")
    fig.update_layout(title=title)
    return fig


def _same(a, b) -> bool:
    if pd.isna(a) and pd.isna(b):
        return True
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _fmt(value) -> str:
    if isinstance(value, float | np.floating):
        return "" if np.isnan(value) else f"{value:.4g}"
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)
