"""Metric definitions as vectorised functions of per-slice sufficient statistics.

Every function takes arrays whose last axis holds the statistics of one slice and may have any
leading axes (slices, bootstrap replicates); nothing loops over groups. Undefined values (a zero
denominator) are NaN, never a silent 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "BINARY_METRICS",
    "METRIC_ALIASES",
    "REGRESSION_METRICS",
    "SCORE_METRICS",
    "CountMetric",
    "count_metric",
    "resolve_metric_names",
]


def _divide(numerator, denominator):
    numerator = np.asarray(numerator, dtype=float)
    denominator = np.asarray(denominator, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = numerator / denominator
    return np.where(denominator == 0, np.nan, out)


@dataclass(frozen=True)
class CountMetric:
    """A metric computed from the confusion counts ``tn, fp, fn, tp`` (fast path).

    Parameters
    ----------
    name : str
        Column name in results.
    func : callable
        ``func(tn, fp, fn, tp) -> array``; receives float arrays of any shape and must be vectorised.
    description : str
        One line for reports.

    See Also
    --------
    count_metric : declares one with a decorator.

    Examples
    --------
    >>> from raikit.metrics import CountMetric, group_metrics
    >>> j = CountMetric("youden_j", lambda tn, fp, fn, tp: tp / (tp + fn) - fp / (fp + tn))
    >>> r = group_metrics([1, 0, 1, 0], [1, 0, 0, 0], sensitive_features=["a", "a", "b", "b"],
    ...                   metrics=[j])
    >>> r.by_group["youden_j"].tolist()
    [1.0, 0.0]
    """

    name: str
    func: Callable
    description: str = ""

    def __call__(self, counts: np.ndarray) -> np.ndarray:
        tn, fp, fn, tp = (counts[..., i].astype(float) for i in range(4))
        return np.asarray(self.func(tn, fp, fn, tp), dtype=float)


def count_metric(func: Callable | None = None, *, name: str | None = None, description: str = ""):
    """Declare a custom metric of the confusion counts, so it runs on the fast path with CIs.

    Parameters
    ----------
    func : callable, optional
        ``func(tn, fp, fn, tp) -> array``, vectorised; omitted when used as ``@count_metric(...)``.
    name : str, optional
        The metric's column name (default: the function's name).
    description : str, optional
        One line for reports.

    Returns
    -------
    CountMetric
        The metric, to pass in ``metrics=[...]``.

    See Also
    --------
    CountMetric : the object it builds.

    Examples
    --------
    >>> import numpy as np
    >>> from raikit.metrics import count_metric, group_metrics
    >>> @count_metric(name="youden_j")
    ... def youden(tn, fp, fn, tp):
    ...     return tp / (tp + fn) - fp / (fp + tn)
    >>> r = group_metrics([1, 0, 1, 0], [1, 0, 0, 0], sensitive_features=["a", "a", "b", "b"],
    ...                   metrics=["accuracy", youden])
    >>> r.by_group["youden_j"].tolist()
    [1.0, 0.0]
    """

    def wrap(f: Callable) -> CountMetric:
        return CountMetric(name or f.__name__, f, description or (f.__doc__ or "").strip())

    return wrap(func) if func is not None else wrap


def _balanced_accuracy(tn, fp, fn, tp):
    tpr = _divide(tp, tp + fn)
    tnr = _divide(tn, tn + fp)
    # As scikit-learn does: average the recall of the classes present in y_true.
    both = np.stack([tpr, tnr], axis=-1)
    with np.errstate(invalid="ignore"):
        present = ~np.isnan(both)
        total = np.where(present, both, 0.0).sum(axis=-1)
        return _divide(total, present.sum(axis=-1))


BINARY_METRICS: dict[str, CountMetric] = {
    m.name: m
    for m in (
        CountMetric("count", lambda tn, fp, fn, tp: tn + fp + fn + tp, "number of rows"),
        CountMetric(
            "selection_rate",
            lambda tn, fp, fn, tp: _divide(tp + fp, tn + fp + fn + tp),
            "share predicted positive",
        ),
        CountMetric(
            "base_rate",
            lambda tn, fp, fn, tp: _divide(tp + fn, tn + fp + fn + tp),
            "share actually positive",
        ),
        CountMetric(
            "accuracy",
            lambda tn, fp, fn, tp: _divide(tp + tn, tn + fp + fn + tp),
            "share predicted correctly",
        ),
        CountMetric("balanced_accuracy", _balanced_accuracy, "mean of TPR and TNR"),
        CountMetric(
            "true_positive_rate",
            lambda tn, fp, fn, tp: _divide(tp, tp + fn),
            "recall: positives found",
        ),
        CountMetric(
            "false_positive_rate",
            lambda tn, fp, fn, tp: _divide(fp, fp + tn),
            "negatives wrongly flagged",
        ),
        CountMetric(
            "true_negative_rate", lambda tn, fp, fn, tp: _divide(tn, tn + fp), "specificity"
        ),
        CountMetric(
            "false_negative_rate", lambda tn, fp, fn, tp: _divide(fn, fn + tp), "positives missed"
        ),
        CountMetric(
            "precision", lambda tn, fp, fn, tp: _divide(tp, tp + fp), "positive predictive value"
        ),
        CountMetric(
            "negative_predictive_value",
            lambda tn, fp, fn, tp: _divide(tn, tn + fn),
            "share of predicted negatives that are negative",
        ),
        CountMetric(
            "f1",
            lambda tn, fp, fn, tp: _divide(2 * tp, 2 * tp + fp + fn),
            "harmonic mean of precision and recall",
        ),
        CountMetric(
            "false_discovery_rate",
            lambda tn, fp, fn, tp: _divide(fp, tp + fp),
            "share of predicted positives that are negative",
        ),
        CountMetric(
            "false_omission_rate",
            lambda tn, fp, fn, tp: _divide(fn, tn + fn),
            "share of predicted negatives that are positive",
        ),
        CountMetric(
            "fn_fp_ratio",
            lambda tn, fp, fn, tp: _divide(fn, fp),
            "false negatives per false positive (treatment equality)",
        ),
    )
}

SCORE_METRICS = ("roc_auc", "brier_score", "log_loss", "expected_calibration_error")

REGRESSION_METRICS = (
    "count",
    "mean_absolute_error",
    "mean_squared_error",
    "root_mean_squared_error",
    "r2",
    "mean_prediction",
    "mean_target",
)

METRIC_ALIASES = {
    "n": "count",
    "tpr": "true_positive_rate",
    "recall": "true_positive_rate",
    "sensitivity": "true_positive_rate",
    "fpr": "false_positive_rate",
    "tnr": "true_negative_rate",
    "specificity": "true_negative_rate",
    "fnr": "false_negative_rate",
    "ppv": "precision",
    "npv": "negative_predictive_value",
    "fdr": "false_discovery_rate",
    "for": "false_omission_rate",
    "f1_score": "f1",
    "auc": "roc_auc",
    "brier": "brier_score",
    "ece": "expected_calibration_error",
    "mae": "mean_absolute_error",
    "mse": "mean_squared_error",
    "rmse": "root_mean_squared_error",
    "r2_score": "r2",
}

DEFAULT_BINARY = (
    "count",
    "selection_rate",
    "base_rate",
    "accuracy",
    "balanced_accuracy",
    "true_positive_rate",
    "false_positive_rate",
    "true_negative_rate",
    "false_negative_rate",
    "precision",
    "negative_predictive_value",
    "f1",
    "false_discovery_rate",
    "false_omission_rate",
)


def resolve_metric_names(names, *, task: str, has_score: bool):
    """Split the requested metrics into count metrics, score metrics, regression metrics and
    slow-path callables, resolving aliases and rejecting unknown names with a clear error."""
    from raikit._errors import DataError, ParameterError

    if names is None:
        if task == "regression":
            names = list(REGRESSION_METRICS)
        else:
            names = list(DEFAULT_BINARY)
            if has_score and task == "binary":
                names += list(SCORE_METRICS)
    elif isinstance(names, str | CountMetric) or callable(names):
        names = [names]
    count, score, regression, slow = [], [], [], []
    for item in names:
        if isinstance(item, CountMetric):
            if task == "regression":
                raise DataError(f"Count metric {item.name!r} needs classification labels.")
            count.append(item)
            continue
        if callable(item):
            slow.append(item)
            continue
        name = METRIC_ALIASES.get(str(item).lower(), str(item).lower())
        if task == "regression":
            if name not in REGRESSION_METRICS:
                raise ParameterError(
                    f"metrics: unknown regression metric {item!r}. Choose from "
                    f"{list(REGRESSION_METRICS)}."
                )
            regression.append(name)
        elif name in BINARY_METRICS:
            count.append(BINARY_METRICS[name])
        elif name in SCORE_METRICS:
            if not has_score:
                raise DataError(
                    f"Metric {name!r} needs scores; pass score=<probability of the positive class>."
                )
            if task != "binary":
                raise DataError(
                    f"Metric {name!r} is defined here for binary targets only; the target is {task}."
                )
            score.append(name)
        else:
            known = sorted(BINARY_METRICS) + list(SCORE_METRICS)
            raise ParameterError(
                f"metrics: unknown metric {item!r}. Choose from {known}, or pass a callable."
            )
    return count, score, regression, slow
