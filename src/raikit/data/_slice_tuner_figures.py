"""Figures of a :class:`~raikit.data.SliceTunerResult`: learning curves with bands, the allocation,
and the slices' losses before and after acquisition (all aggregates: one mark per slice or size)."""

from __future__ import annotations

import numpy as np

from raikit._plots import error_bars

__all__ = ["slice_tuner_figures"]


def slice_tuner_figures(result) -> list:
    """Learning curves, allocation bar chart and (after acquisition) before/after losses."""
    import plotly.graph_objects as go
    from plotly.colors import qualitative

    palette = qualitative.Plotly
    table = result.slices
    curves = _learning_curves_figure(result, table, palette)
    allocation = go.Figure(
        go.Bar(
            x=table["slice"],
            y=table["allocation"],
            text=[f"{int(v)}" for v in table["allocation"]],
            textposition="auto",
            marker={"color": [palette[i % len(palette)] for i in range(len(table))]},
        )
    )
    allocation.update_layout(
        title=f"Examples to acquire per slice ({result.method}, budget "
        f"{result.overall['budget']:g}, λ={result.meta.get('lam', float('nan')):g})",
        xaxis_title="slice",
        yaxis_title="examples",
    )
    figures = [curves, allocation]
    losses = go.Figure()
    losses.add_trace(go.Bar(x=table["slice"], y=table["loss_before"], name="before"))
    if result.acquired:
        losses.add_trace(go.Bar(x=table["slice"], y=table["loss_after"], name="after"))
    losses.add_trace(
        go.Bar(x=table["slice"], y=table["predicted_loss_after"], name="predicted after (curve)")
    )
    losses.update_layout(
        barmode="group",
        title="Validation log loss per slice: before, after and as the curves predicted",
        xaxis_title="slice",
        yaxis_title="validation log loss",
    )
    figures.append(losses)
    return figures


def _learning_curves_figure(result, table, palette):
    """Per slice: the measured losses with intervals, the fitted power law and its band."""
    import plotly.graph_objects as go

    first_round = result.curve_points[result.curve_points["round"] == 0]
    curves = go.Figure()
    for i, row in enumerate(table.itertuples(index=False)):
        colour = palette[i % len(palette)]
        points = first_round[first_round["slice"] == row.slice]
        curves.add_trace(
            go.Scatter(
                x=points["n"],
                y=points["mean_loss"],
                mode="markers",
                name=f"{row.slice} (measured)",
                legendgroup=row.slice,
                marker={"color": colour},
                error_y=error_bars(points["mean_loss"], points["lower"], points["upper"]),
            )
        )
        # the fitted power law, from the smallest subsample to the size after acquisition
        low = float(points["n"].min()) if len(points) else float(row.n_before)
        high = max(float(row.n_after), float(row.n_before))
        grid = np.linspace(low, high, 60)
        fitted = row.b * grid**-row.a
        curves.add_trace(
            go.Scatter(
                x=grid,
                y=fitted,
                mode="lines",
                name=f"{row.slice}: {row.b:.3g}·n^-{row.a:.3g}",
                legendgroup=row.slice,
                line={"color": colour},
            )
        )
        # band of the fit from the exponent's standard error (other parameter held)
        if row.a_se == row.a_se and row.a_se > 0:
            upper = row.b * grid ** -(max(row.a - row.a_se, 0.0))
            lower = row.b * grid ** -(row.a + row.a_se)
            curves.add_trace(
                go.Scatter(
                    x=np.r_[grid, grid[::-1]],
                    y=np.r_[upper, lower[::-1]],
                    fill="toself",
                    fillcolor=colour,
                    opacity=0.15,
                    line={"width": 0},
                    hoverinfo="skip",
                    showlegend=False,
                    legendgroup=row.slice,
                )
            )
    curves.update_layout(
        title="Learning curve per slice: validation log loss vs slice training rows "
        f"(points: mean with {result.meta.get('ci', 0.95):.0%} CI over repeats; band: exponent "
        "± 1 s.e.)",
        xaxis_title="training rows of the slice",
        yaxis_title="validation log loss",
    )
    return curves
