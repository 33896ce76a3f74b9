"""Small Plotly helpers shared by every stage's figures."""

from __future__ import annotations

import pandas as pd

__all__ = ["error_bars", "has_data"]

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
