"""Plotly figures of the data stage: one mark per bin, category or group — never one per row."""

from __future__ import annotations

import numpy as np

__all__ = [
    "drift_figures",
    "label_issue_figures",
    "profile_figures",
    "representation_figures",
]

_MAX_FIGURES = 8
_MARGIN = {"l": 10, "r": 10, "t": 50, "b": 40}


def _first_attribute(result) -> str | None:
    return result.sensitive_names[0] if result.sensitive_names else None


def profile_figures(result) -> list:
    """Missing rate per column; per-group histograms of numeric columns and category shares;
    proxy strength per feature."""
    import plotly.graph_objects as go

    figures = []
    overall = result.columns
    fig = go.Figure(go.Bar(x=overall.index.tolist(), y=overall["missing_rate"].to_numpy()))
    fig.update_layout(title="Missing rate per column", yaxis_title="share missing", margin=_MARGIN)
    figures.append(fig)
    attribute = _first_attribute(result)
    features = [c for c, r in result.roles.items() if r in ("feature", "target")]
    hist = result.histograms
    shown = 0
    for column in features:
        if shown >= _MAX_FIGURES:
            break
        part = hist[(hist["column"] == column) & (hist["attribute"] == attribute)]
        if part.empty:
            continue
        fig = go.Figure()
        for group, rows in part.groupby("group", sort=False):
            centres = (rows["left"].to_numpy() + rows["right"].to_numpy()) / 2
            fig.add_trace(
                go.Bar(x=centres, y=rows["share"].to_numpy(), name=str(group), opacity=0.6)
            )
        fig.update_layout(
            title=f"{column}: distribution by {attribute}",
            barmode="overlay",
            xaxis_title=column,
            yaxis_title="share of group",
            legend_title_text=attribute,
            margin=_MARGIN,
        )
        figures.append(fig)
        shown += 1
    cats = result.categories
    shown = 0
    for column in features:
        if shown >= _MAX_FIGURES // 2:
            break
        part = cats[(cats["column"] == column) & (cats["attribute"] == attribute)]
        if part.empty:
            continue
        fig = go.Figure()
        for group, rows in part.groupby("group", sort=False):
            fig.add_trace(
                go.Bar(x=rows["category"].astype(str), y=rows["share"].to_numpy(), name=str(group))
            )
        fig.update_layout(
            title=f"{column}: categories by {attribute}",
            barmode="group",
            yaxis_title="share of group",
            legend_title_text=attribute,
            margin=_MARGIN,
        )
        figures.append(fig)
        shown += 1
    proxies = result.proxies
    if len(proxies):
        fig = go.Figure()
        for attr, rows in proxies.groupby("attribute", sort=False):
            rows = rows.sort_values("auc", ascending=False)
            fig.add_trace(go.Bar(x=rows["feature"], y=rows["auc"], name=str(attr)))
        fig.add_hline(y=result.meta.get("proxy_auc", 0.8), line_dash="dash")
        fig.update_layout(
            title="How well each feature predicts each sensitive attribute (AUC)",
            barmode="group",
            yaxis={"range": [0.4, 1.0], "title": "AUC"},
            legend_title_text="attribute",
            margin=_MARGIN,
        )
        figures.append(fig)
    return figures


def drift_figures(result) -> list:
    """Effect size per column (coloured by decision) and, per attribute, the groups that drift."""
    import plotly.graph_objects as go

    from raikit._plots import cell_grid

    table = result.columns_table
    figures = []
    if len(table):
        colour = np.where(table["drifted"], "#b00020", "#4c78a8")
        fig = go.Figure(
            go.Bar(
                x=table["column"],
                y=table["effect"],
                marker_color=colour,
                customdata=np.stack([table["p_adjusted"], table["effect_name"]], axis=-1),
                hovertemplate="%{x}<br>%{customdata[1]} = %{y:.4f}<br>adjusted p = "
                "%{customdata[0]:.3g}<extra></extra>",
            )
        )
        fig.update_layout(
            title="Drift per column (red: significant after multiple-testing correction)",
            yaxis_title="effect size",
            margin=_MARGIN,
        )
        figures.append(fig)
    groups = result.by_group
    if len(groups):
        for attribute, part in groups.groupby("attribute", sort=False):
            pivot = part.pivot_table(
                index="group", columns="column", values="effect", aggfunc="first", sort=False
            )
            fig = cell_grid(pivot.columns, pivot.index, z=pivot.to_numpy(), hover_name="effect")
            fig.update_layout(title=f"Drift per column and {attribute} group", margin=_MARGIN)
            figures.append(fig)
            if len(figures) > _MAX_FIGURES:
                break
    return figures


def representation_figures(result) -> list:
    """Share of each group (against the reference when given) and base rate per group."""
    import plotly.graph_objects as go

    groups = result.groups
    figures = []
    for attribute, part in groups.groupby("attribute", sort=False):
        fig = go.Figure(go.Bar(x=part["group"].astype(str), y=part["share"], name="data"))
        if part["reference_share"].notna().any():
            fig.add_trace(
                go.Bar(x=part["group"].astype(str), y=part["reference_share"], name="reference")
            )
        fig.update_layout(
            title=f"Share of each {attribute} group",
            barmode="group",
            yaxis_title="share of rows",
            margin=_MARGIN,
        )
        figures.append(fig)
        if part["base_rate"].notna().any():
            err = {
                "type": "data",
                "symmetric": False,
                "array": (part["base_rate_upper"] - part["base_rate"]).fillna(0).to_numpy(),
                "arrayminus": (part["base_rate"] - part["base_rate_lower"]).fillna(0).to_numpy(),
            }
            fig = go.Figure(go.Bar(x=part["group"].astype(str), y=part["base_rate"], error_y=err))
            fig.add_hline(y=result.overall_base_rate, line_dash="dash", annotation_text="overall")
            fig.update_layout(
                title=(
                    f"Base rate (share of positive labels) by {attribute}, "
                    f"{result.meta.get('confidence', 0.95):.0%} Wilson interval"
                ),
                yaxis_title="base rate",
                margin=_MARGIN,
            )
            figures.append(fig)
    return figures


def label_issue_figures(result) -> list:
    """Rate of label issues and outliers per group."""
    import plotly.graph_objects as go

    table = result.by_group
    table = table[table["attribute"] != "overall"]
    figures = []
    for attribute, part in table.groupby("attribute", sort=False):
        fig = go.Figure()
        fig.add_trace(
            go.Bar(x=part["group"].astype(str), y=part["label_issue_rate"], name="label issues")
        )
        fig.add_trace(go.Bar(x=part["group"].astype(str), y=part["outlier_rate"], name="outliers"))
        fig.update_layout(
            title=f"Label issues and outliers by {attribute}",
            barmode="group",
            yaxis_title="share of rows",
            margin=_MARGIN,
        )
        figures.append(fig)
    return figures
