"""Small Plotly helpers shared by every stage's figures."""

from __future__ import annotations

import pandas as pd

__all__ = ["cell_grid", "error_bars", "has_data"]

# Where each common trace type keeps its values.
_VALUES = {
    kind: ("x", "y")
    for kind in ("bar", "scatter", "scattergl", "box", "violin", "histogram", "funnel")
} | {"heatmap": ("z",), "pie": ("values",), "scatterpolar": ("r",)}


def error_bars(value, lower, upper) -> dict | None:
    """Plotly asymmetric error bars from point estimates and interval bounds (None without CIs).

    Examples
    --------
    >>> import pandas as pd
    >>> bars = error_bars(pd.Series([0.5]), pd.Series([0.4]), pd.Series([0.7]))
    >>> bars["arrayminus"].round(3).tolist(), bars["array"].round(3).tolist()
    ([0.1], [0.2])
    """
    value, lower, upper = (pd.Series(v).reset_index(drop=True) for v in (value, lower, upper))
    if lower.isna().all():
        return None
    return {
        "type": "data",
        "symmetric": False,
        "array": (upper - value).clip(lower=0).fillna(0).to_numpy(),
        "arrayminus": (value - lower).clip(lower=0).fillna(0).to_numpy(),
    }


def has_data(figure) -> bool:
    """Whether a Plotly figure has a trace with at least one value (an empty chart says nothing).

    Traces of other types (tables, maps, ...) count as data.

    Examples
    --------
    >>> import plotly.graph_objects as go
    >>> has_data(go.Figure(go.Bar(x=[], y=[]))), has_data(go.Figure(go.Bar(x=["a"], y=[1])))
    (False, True)
    >>> has_data(go.Figure())
    False
    """
    for trace in figure.data:
        names = _VALUES.get(trace.type)
        if names is None or any(_length(getattr(trace, name, None)) for name in names):
            return True
    return False


def _length(values) -> int:
    return 0 if values is None or isinstance(values, str) else len(values)


def cell_grid(
    x,
    y,
    *,
    z=None,
    text=None,
    colors=None,
    colorscale: str = "Reds",
    colorbar_title: str | None = None,
    hover_name: str = "value",
):
    """A grid of cells (a heatmap, or a small table) drawn as a scatter of squares.

    raikit ships plotly.js's basic bundle (scatter, bar and pie traces), which has no heatmap
    or table trace: a heatmap is one square marker per cell, coloured by ``z`` on
    ``colorscale`` (cells where ``z`` is NaN are left out), or by ``colors`` (one CSS colour per
    cell); ``text`` writes a label in each cell. One mark per cell: the grid shows aggregates.

    Parameters
    ----------
    x, y : sequence of str
        Column and row labels (shown in this order, the first row on top).
    z : array of shape (len(y), len(x)), optional
        The values that colour the cells.
    text : array of str of shape (len(y), len(x)), optional
        A label per cell.
    colors : array of str of shape (len(y), len(x)), optional
        A colour per cell (instead of ``z``).
    colorscale, colorbar_title : str
        The colours of ``z`` and the title of its colour bar.
    hover_name : str
        What ``z`` is, in the hover text.

    Examples
    --------
    >>> fig = cell_grid(["a", "b"], ["r1", "r2"], z=[[0.1, float("nan")], [0.3, 0.4]])
    >>> trace = fig.data[0]
    >>> trace.type, list(trace.x), list(trace.y), list(trace.marker.color)
    ('scatter', ['a', 'a', 'b'], ['r1', 'r2', 'r2'], [0.1, 0.3, 0.4])
    """
    import numpy as np
    import plotly.graph_objects as go

    x, y = [str(v) for v in x], [str(v) for v in y]
    shape = (len(y), len(x))
    columns = np.tile(np.arange(len(x)), len(y)).reshape(shape)
    rows = np.repeat(np.arange(len(y)), len(x)).reshape(shape)
    keep = np.ones(shape, bool)
    values = None if z is None else np.asarray(z, dtype=float).reshape(shape)
    if values is not None:
        keep = np.isfinite(values)
    mask = keep.T.ravel()  # column by column, so that the category axes keep their order

    def flat(cells) -> list:
        return np.asarray(cells).reshape(shape).T.ravel()[mask].tolist()

    height = max(260, 34 * len(y) + 150)
    size = float(np.clip(min((height - 150) / max(len(y), 1), 900 / max(len(x), 1)) * 0.9, 6, 40))
    marker = {"symbol": "square", "size": size, "line": {"width": 0}}
    if colors is not None:
        marker["color"] = flat(np.asarray(colors, dtype=object))
    elif values is not None:
        marker |= {
            "color": flat(values),
            "colorscale": colorscale,
            "showscale": True,
            "colorbar": {"title": {"text": colorbar_title or hover_name}},
        }
    trace = go.Scatter(
        x=[x[i] for i in flat(columns)],
        y=[y[i] for i in flat(rows)],
        mode="markers" if text is None else "markers+text",
        text=None if text is None else [str(t) for t in flat(np.asarray(text, dtype=object))],
        marker=marker,
        hovertemplate="%{y} · %{x}"
        + ("" if values is None else f"<br>{hover_name} = %{{marker.color:.4g}}")
        + "<extra></extra>",
    )
    fig = go.Figure(trace)
    fig.update_layout(
        height=height,
        xaxis={"type": "category", "categoryorder": "array", "categoryarray": x, "showgrid": False},
        yaxis={
            "type": "category",
            "categoryorder": "array",
            "categoryarray": y,
            "autorange": "reversed",
            "showgrid": False,
        },
    )
    return fig
