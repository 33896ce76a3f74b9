"""The one rule that says what kind of target a column holds."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["MANY_VALUES", "infer_task"]

MANY_VALUES = 20  # a numeric target with more distinct values than this is a regression target


def infer_task(y) -> tuple[str, str]:
    """What a target is, and why: ``(task, reason)`` in words for results and the CLI.

    Regression: a numeric target (not boolean) with fractional values or more than
    ``MANY_VALUES`` (20) distinct values. Otherwise labels: binary with at most two distinct
    values, multiclass with more. Missing values are ignored. Every part of raikit that infers a
    task (``Dataset.task``, ``group_metrics(task="auto")``, ``compare_mitigations``, the audit)
    uses this rule; pass ``task=`` where a function takes it to override it.

    Parameters
    ----------
    y : array-like
        The target values (or, for a pair of label arrays, both concatenated).

    Returns
    -------
    tuple of str
        ``"binary"``, ``"multiclass"`` or ``"regression"``, and the reason
        (``"inferred: fractional values"``...).

    See Also
    --------
    raikit.metrics.group_metrics : uses it when ``task="auto"``.

    Examples
    --------
    >>> from raikit.metrics import infer_task
    >>> infer_task([0.5, 1.25, 3.0])
    ('regression', 'inferred: fractional values')
    >>> infer_task(["a", "b", "a"])[0], infer_task([0, 1, 2])[0], infer_task(list(range(30)))[0]
    ('binary', 'multiclass', 'regression')
    """
    values = pd.Series(np.asarray(y) if not isinstance(y, pd.Series) else y).dropna()
    n_values = int(values.nunique())
    if values.dtype.kind in "iuf" and len(values):
        numbers = values.to_numpy(dtype=float)
        fractional = values.dtype.kind == "f" and not np.array_equal(numbers, np.round(numbers))
        if fractional or n_values > MANY_VALUES:
            why = "fractional values" if fractional else f"{n_values} distinct numeric values"
            return "regression", f"inferred: {why}"
    if n_values <= 2:
        return "binary", f"inferred: {n_values} distinct labels"
    return "multiclass", f"inferred: {n_values} distinct labels"
