"""Small Plotly helpers shared by every stage's figures."""

from __future__ import annotations

import pandas as pd

__all__ = ["error_bars"]


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
