"""``evaluate``: sliced evaluation with confidence intervals, Fairness-Indicators style.

Metrics per group come from :func:`raikit.metrics.group_metrics` (one call per decision threshold);
confusion matrices, ROC, precision–recall and calibration curves per group come from one histogram
of (group, score bin, label) counts, so no loop runs over rows or groups. The pointwise bands of the
ROC and precision–recall curves come from a Poisson bootstrap of those same counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from raikit._errors import DataError, ParameterError
from raikit._recording import recorded
from raikit._result import Finding, Result
from raikit._validation import CI, RANDOM_STATE, Interval, check_dataset, validate_params
from raikit.metrics._stats import wilson_interval

__all__ = ["EvaluationResult", "evaluate"]

N_CURVE_POINTS = 101
N_CALIBRATION_BINS = 10
_MAX_BOOT_CELLS = 2_000_000  # bootstrap counts drawn at once for the curve bands


# --------------------------------------------------------------------------- helpers
def _binary_labels(ds, model, pos_label=None):
    """The target as 0/1, the positive and the negative label.

    The positive label is ``pos_label``, or inferred only as scikit-learn does (0/1, -1/1,
    False/True) from the labels and the model's classes; never from their alphabetical order.
    """
    from raikit.metrics._group_metrics import resolve_pos_label

    ds.check_binary_target()
    y = ds.y.to_numpy()
    classes = getattr(model, "classes_", None) if model is not None else None
    if classes is not None and len(classes) == 2:
        labels = list(classes)
    else:
        labels = list(pd.unique(y))
        if ds.prediction is not None:
            labels = list(pd.unique(np.concatenate([y, ds.y_pred.to_numpy()])))
    positive = resolve_pos_label(labels, pos_label)
    others = [v for v in labels if v != positive]
    negative = others[0] if others else None
    return (y == positive).astype(np.int64), positive, negative


def _families(ds):
    """Per-row slice index for ``overall`` and each sensitive attribute's groups."""
    return slice_families(ds._encoding, ds.n_rows)


def slice_families(encoding, n: int):
    """``(slice_attr, slice_group, codes, n_slices)`` of a group encoding of ``n`` rows (or
    aggregated rows): ``overall``, then each attribute's groups, one code array per family."""
    names, groups, codes = ["overall"], ["overall"], [np.zeros(n, dtype=np.int64)]
    offset = 1
    for i, name in enumerate(encoding.names):  # loop over attributes, not groups or rows
        labels = encoding.labels(i)
        names += [name] * len(labels)
        groups += labels
        codes.append(encoding.codes[i] + offset)
        offset += len(labels)
    return names, groups, codes, offset


def _histogram(codes, n_slices, bins, n_bins, y01, weights=None):
    """Counts (or sums of ``weights``) per (slice, bin, label), shape (slices, bins, 2)."""
    out = np.zeros(n_slices * n_bins * 2)
    for c in codes:  # one bincount per attribute family
        key = (c * n_bins + bins) * 2 + y01
        out += np.bincount(key, weights=weights, minlength=n_slices * n_bins * 2)
    return out.reshape(n_slices, n_bins, 2)


def _rates(counts):
    """TPR, FPR and precision at each threshold from (..., bins, 2) counts per (score bin, label).

    Leading axes (replicates, slices) are kept; ``score >= t_j`` means ``bin >= j``, so the counts
    above each threshold are reversed cumulative sums over the bin axis.
    """
    above = np.flip(np.flip(counts, axis=-2).cumsum(axis=-2), axis=-2)
    tp, fp = above[..., 1], above[..., 0]
    pos, neg = tp[..., :1], fp[..., :1]  # the lowest threshold keeps every row
    with np.errstate(divide="ignore", invalid="ignore"):
        tpr = np.where(pos > 0, tp / pos, np.nan)
        fpr = np.where(neg > 0, fp / neg, np.nan)
        precision = np.where(tp + fp > 0, tp / (tp + fp), np.nan)
    return tpr, fpr, precision


def _curve_bands(counts, ci, n_boot, random_state, squares=None):
    """Pointwise percentile bands of TPR, FPR and precision, each (slices, bins), or NaN without CI.

    Poisson bootstrap on the aggregated counts, as :mod:`raikit.metrics._engine` does for its
    score strata (its confusion-table rates use a Bayesian bootstrap instead): the rows of
    one (slice, score bin, label) cell are identical for these curves, so the cell's replicate count
    is ``Poisson(count)`` and the replicate is exact. Weighted counts (``squares`` holds each
    cell's sum of squared weights) redraw a cell as ``Poisson(n_eff) * sum w^2 / sum w`` with
    ``n_eff = (sum w)^2 / sum w^2``: the mean and variance of a Poisson bootstrap of its weighted
    rows. Replicates are drawn in chunks that bound the memory; nothing loops over rows or groups.
    """
    from raikit._validation import rng_from
    from raikit.metrics import percentile_bounds

    if ci is None or n_boot < 1:
        nan = np.full(counts.shape[:2], np.nan)
        return {name: (nan, nan) for name in ("tpr", "fpr", "precision")}
    rng = rng_from(random_state)
    means, scale = counts, 1.0
    if squares is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            means = np.where(squares > 0, counts**2 / squares, 0.0)
            scale = np.where(counts > 0, squares / counts, 0.0)
    chunk = max(1, _MAX_BOOT_CELLS // counts.size)
    replicates: list[tuple] = []
    for start in range(0, n_boot, chunk):  # chunks of replicates, each fully vectorised
        size = min(chunk, n_boot - start)
        draws = rng.poisson(means, size=(size, *counts.shape)) * scale
        replicates.append(_rates(draws))
    out = {}
    for i, name in enumerate(("tpr", "fpr", "precision")):
        stacked = np.concatenate([r[i] for r in replicates], axis=0)
        out[name] = percentile_bounds(stacked, ci)
    return out


def _curves(
    y01, score, slice_attr, slice_group, codes, n_slices, *, ci, n_boot, random_state, weights=None
):
    """ROC and precision-recall points per group on a grid of thresholds, with bootstrap bands.

    The grid is the (weighted) quantiles of the scores, each an observed score (the inverted-CDF
    quantile), so integer weights give the curves of duplicated rows; ``n_positive`` and
    ``n_negative`` are then sums of weights.
    """
    grid = np.linspace(0, 1, N_CURVE_POINTS)
    # one quantile rule with and without weights (numpy's unweighted inverted CDF breaks ties
    # at the grid points differently), so constant weights leave the grid unchanged
    mass = np.ones(len(score)) if weights is None else weights
    thresholds = np.unique(np.quantile(score, grid, weights=mass, method="inverted_cdf"))
    bins = np.searchsorted(thresholds, score, side="right") - 1  # score >= t_j  <=>  bin >= j
    bins = np.maximum(bins, 0)  # a zero-weight score below the weighted minimum
    counts = _histogram(codes, n_slices, bins, len(thresholds), y01, weights=weights)
    squares = None
    if weights is not None:
        squares = _histogram(codes, n_slices, bins, len(thresholds), y01, weights=weights**2)
    return curve_frame(
        counts,
        squares,
        thresholds,
        slice_attr,
        slice_group,
        ci=ci,
        n_boot=n_boot,
        random_state=random_state,
    )


def curve_frame(
    counts, squares, thresholds, slice_attr, slice_group, *, ci, n_boot, random_state
) -> pd.DataFrame:
    """The ROC/precision-recall table from (slices, thresholds, 2) counts per (threshold's bin,
    label): rates at each threshold and their bootstrap bands (``squares``: the cells' sums of
    squared weights, or None)."""
    n_slices = counts.shape[0]
    tpr, fpr, precision = _rates(counts)
    bands = _curve_bands(counts, ci, n_boot, random_state, squares)
    pos, neg = counts[..., 1].sum(axis=1, keepdims=True), counts[..., 0].sum(axis=1, keepdims=True)
    shape = (n_slices, len(thresholds))
    roc = pd.DataFrame(
        {
            "attribute": np.repeat(slice_attr, len(thresholds)),
            "group": np.repeat(slice_group, len(thresholds)),
            "threshold": np.tile(thresholds, n_slices),
            "false_positive_rate": fpr.ravel(),
            "true_positive_rate": tpr.ravel(),
            "precision": precision.ravel(),
            "false_positive_rate_lower": bands["fpr"][0].ravel(),
            "false_positive_rate_upper": bands["fpr"][1].ravel(),
            "true_positive_rate_lower": bands["tpr"][0].ravel(),
            "true_positive_rate_upper": bands["tpr"][1].ravel(),
            "precision_lower": bands["precision"][0].ravel(),
            "precision_upper": bands["precision"][1].ravel(),
            "n_positive": np.broadcast_to(pos, shape).ravel(),
            "n_negative": np.broadcast_to(neg, shape).ravel(),
        }
    )
    return roc


def _calibration(y01, score, slice_attr, slice_group, codes, n_slices, *, ci, weights=None):
    """Mean score and observed positive rate per group and score decile, with Wilson intervals.

    With ``weights`` both are weighted means, ``count`` is the bin's sum of weights and the
    interval uses the bin's effective number of rows ``(sum w)^2 / sum w^2``.
    """
    bins = np.minimum((score * N_CALIBRATION_BINS).astype(np.int64), N_CALIBRATION_BINS - 1)
    counts = _histogram(codes, n_slices, bins, N_CALIBRATION_BINS, y01, weights=weights)
    scored = score if weights is None else score * weights
    sums = _histogram(codes, n_slices, bins, N_CALIBRATION_BINS, y01, weights=scored)
    squares = None
    if weights is not None:
        squares = _histogram(codes, n_slices, bins, N_CALIBRATION_BINS, y01, weights**2)
    return calibration_frame(counts, sums, squares, slice_attr, slice_group, ci=ci)


def calibration_frame(counts, sums, squares, slice_attr, slice_group, *, ci) -> pd.DataFrame:
    """The calibration table from (slices, bins, 2) counts (or weight sums), sums of the
    (weighted) score and, with weights, sums of squared weights (None without)."""
    n_slices = counts.shape[0]
    n = counts.sum(axis=-1)
    positives = counts[..., 1]
    effective = n
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_score = sums.sum(axis=-1) / n
        observed = positives / n
        if squares is not None:
            effective = np.where(n > 0, n**2 / squares.sum(axis=-1), 0.0)
    if ci is None:
        lower = upper = np.full(n.shape, np.nan)
    else:
        lower, upper = wilson_interval(observed * effective, effective, ci=ci)
    frame = pd.DataFrame(
        {
            "attribute": np.repeat(slice_attr, N_CALIBRATION_BINS),
            "group": np.repeat(slice_group, N_CALIBRATION_BINS),
            "bin": np.tile(np.arange(N_CALIBRATION_BINS), n_slices),
            "mean_score": mean_score.ravel(),
            "observed_rate": observed.ravel(),
            "lower": lower.ravel(),
            "upper": upper.ravel(),
            "count": n.ravel() if squares is not None else n.ravel().astype(np.int64),
        }
    )
    return frame[frame["count"] > 0].reset_index(drop=True)


def _confusion(
    y01, pred01, threshold, slice_attr, slice_group, codes, n_slices, weights=None, *, rows=False
):
    """``tn, fp, fn, tp`` per slice: row counts, or sums of ``weights`` (floats) when given
    (``rows=True``: the weights are counts of rows, aggregated ones, so the cells stay integers)."""
    cells = _histogram(codes, n_slices, pred01, 2, y01, weights=weights)  # (slices, pred, true)
    whole = weights is None or rows
    cast = (lambda c: c.astype(np.int64)) if whole else (lambda c: c)
    return pd.DataFrame(
        {
            "threshold": threshold,
            "attribute": slice_attr,
            "group": slice_group,
            "tn": cast(cells[:, 0, 0]),
            "fp": cast(cells[:, 1, 0]),
            "fn": cast(cells[:, 0, 1]),
            "tp": cast(cells[:, 1, 1]),
        }
    )


# --------------------------------------------------------------------------- the result
@dataclass(frozen=True, eq=False)
class EvaluationResult(Result):
    """Overall and per-group metrics with CIs at one or several thresholds, and the curves.

    Attributes
    ----------
    metrics : DataFrame
        Tidy, from :func:`raikit.metrics.group_metrics`: ``threshold``, ``attribute``, ``group``,
        ``metric``, ``value``, ``lower``, ``upper``. ``threshold`` is NaN for the model's own
        ``predict``.
    fairness : DataFrame
        One row per (threshold, criterion, attribute): the largest between-group difference, its CI,
        the ratio and whether it exceeds ``tolerance``.
    confusion : DataFrame
        ``tn``, ``fp``, ``fn``, ``tp`` per (threshold, attribute, group): row counts, or sums of
        the weights when the Dataset has a weight role.
    roc : DataFrame
        ROC and precision–recall points per group on a grid of score thresholds, with pointwise
        bootstrap bands at each threshold: ``false_positive_rate_lower``/``_upper``,
        ``true_positive_rate_lower``/``_upper`` and ``precision_lower``/``_upper`` (NaN when
        ``ci`` is None). A replicate redraws each (group, label, score bin) count as
        ``Poisson(count)``, as the metrics engine does for its score strata.
    calibration : DataFrame
        Mean score and observed positive rate (Wilson interval at ``ci``; NaN without ``ci``)
        per group and score decile.
    thresholds : list
        The decision thresholds evaluated (NaN: the model's ``predict``).
    ci, tolerance : float
    sensitive_names : list of str
    findings : tuple of Finding
        One per violated fairness criterion, with its CI, plus small-group warnings.
    meta : dict

    See Also
    --------
    evaluate : computes it.

    Examples
    --------
    >>> import pandas as pd
    >>> from raikit import Dataset
    >>> from raikit.evaluate import evaluate
    >>> frame = pd.DataFrame({"s": list("aabb") * 10, "y": [1, 0, 1, 0] * 10,
    ...                       "p": [0.9, 0.2, 0.4, 0.1] * 10})
    >>> r = evaluate(None, Dataset(frame, target="y", sensitive="s", score="p"), thresholds=[0.5],
    ...              ci=None)
    >>> r.thresholds, sorted(r.confusion["group"].unique())
    ([0.5], ['a', 'b', 'overall'])
    """

    metrics: pd.DataFrame
    fairness: pd.DataFrame
    confusion: pd.DataFrame
    roc: pd.DataFrame
    calibration: pd.DataFrame
    thresholds: list
    ci: float | None
    tolerance: float
    sensitive_names: list
    findings: tuple = field(default_factory=tuple)
    meta: dict = field(default_factory=dict)

    def at(self, threshold=None) -> pd.DataFrame:
        """Metrics per group (wide, index ``(attribute, group)``) at one threshold."""
        rows = self.metrics
        if threshold is None:
            threshold = self.thresholds[0]
        pick = rows["threshold"].isna() if pd.isna(threshold) else rows["threshold"] == threshold
        if not pick.any():
            raise ParameterError(
                f"EvaluationResult.at(): threshold {threshold} was not evaluated; choose from "
                f"{self.thresholds}."
            )
        part = rows[pick]
        wide = part.pivot(index=["attribute", "group"], columns="metric", values="value")
        order = pd.MultiIndex.from_frame(part[["attribute", "group"]].drop_duplicates())
        wide = wide.reindex(order)[list(pd.unique(part["metric"]))]
        wide.columns.name = None
        return wide

    @property
    def summary(self) -> str:
        first = self.at()
        accuracy = first["accuracy"].iloc[0] if "accuracy" in first else float("nan")
        fair = self.fairness
        if "verdict" in fair:  # results recorded before verdicts carry only "violated"
            violated = fair[fair["verdict"] == "fail"]
        else:
            violated = fair[fair["violated"]] if len(fair) else []
        t = self.thresholds[0]
        where = "model predictions" if pd.isna(t) else f"threshold {t:g}"
        auc = ""
        if "roc_auc" in first:
            auc = f", ROC AUC {first['roc_auc'].iloc[0]:.3f}"
        return (
            f"Accuracy {accuracy:.3f}{auc} at {where} on {int(first['count'].iloc[0]):,} rows"
            + (
                f" (positive label {self.meta['positive_label']!r}); "
                if "positive_label" in self.meta
                else "; "
            )
            + f"{len(self.thresholds)} threshold(s), {len(violated)} fairness violation(s) beyond "
            f"tolerance {self.tolerance:g}."
        )

    def tables(self) -> dict[str, pd.DataFrame]:
        wide = []
        for t in self.thresholds:  # a few thresholds
            part = self.at(t).reset_index()
            part.insert(0, "threshold", t)
            wide.append(part)
        calibration = self.calibration.round(4)
        return {
            "metrics by group": pd.concat(wide, ignore_index=True),
            "fairness": self.fairness,
            "confusion matrices": self.confusion,
            "calibration": calibration,
        }

    def figures(self) -> list:
        from raikit.evaluate._figures import evaluation_figures

        return evaluation_figures(self)


# --------------------------------------------------------------------------- the check
@recorded("evaluate.evaluate")
@validate_params(
    ci=[CI, None],
    tolerance=Interval(float, 0, None),
    n_boot=Interval(int, 1, None),
    random_state=RANDOM_STATE,
)
def evaluate(
    model,
    data,
    *,
    metrics: Sequence[str] | None = None,
    thresholds: Sequence[float] | None = None,
    ci: float | None = 0.95,
    criteria=None,
    tolerance: float = 0.1,
    n_boot: int = 1000,
    random_state=None,
    ledger=None,
    pos_label=None,
) -> EvaluationResult:
    """Evaluate a binary classifier overall and per group, with confidence intervals.

    Parameters
    ----------
    model : fitted classifier or None
        With ``None`` the Dataset's ``prediction`` and ``score`` columns are evaluated.
    data : Dataset
        Labelled test data with sensitive attributes. Its weight role is honoured: weighted
        metrics (effective-count intervals), confusion cells, ROC/precision-recall points and
        calibration bins, all sums or means of the weights (integer weights give the values of
        duplicated rows). A lazy Dataset (Parquet/CSV files, a Spark DataFrame) is never
        loaded: one aggregate computed where its rows live gives every table. The confusion
        matrices, count metrics (and their intervals, as :func:`raikit.metrics.group_metrics_of`
        draws them), Brier score, log loss and calibration deciles equal the in-memory ones;
        ROC AUC comes from 1,000 score bins, within ``meta["roc_auc_error_bound"]``; the ROC
        and precision-recall points sit at the bins' lower edges (``meta["binning"]`` says
        so). Scores must then be probabilities in [0, 1].
    metrics : list of str, optional
        Metric names for :func:`raikit.metrics.group_metrics` (default: all; ``count`` and
        ``accuracy`` are always added).
    thresholds : list of float, optional
        Decision thresholds applied to the score (as Fairness Indicators does). Default: the
        model's own ``predict``.
    ci : float or None, default 0.95
        Confidence level of the bootstrap intervals; ``None`` computes no intervals.
    criteria : list of FairnessCriterion, optional
        Default: every criterion the metrics allow.
    tolerance : float, default 0.1
        Largest acceptable between-group difference of a criterion's metric.
    n_boot : int, default 1000
        Bootstrap replicates.
    random_state : int, Generator or None, default None
        Seed of the bootstrap; ``None`` draws a fresh seed, recorded in the ledger.
    ledger : raikit.ledger.Ledger or path, optional
        Record the result as evidence (inside :func:`raikit.track` it is recorded anyway).
    pos_label : optional
        The positive label; needed unless the labels are 0/1, False/True or -1/1 (it is never
        inferred from the labels' order). Reported in ``meta["positive_label"]`` and the summary.

    Returns
    -------
    EvaluationResult

    See Also
    --------
    raikit.metrics.group_metrics : the engine behind the metrics.
    raikit.evaluate.find_slices : where the model fails.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from raikit.datasets import load_german_credit
    >>> from raikit.evaluate import evaluate
    >>> ds = load_german_credit()
    >>> ds = ds.replace(features=["duration_months", "credit_amount", "age"])
    >>> model = LogisticRegression(max_iter=1000).fit(ds.X, ds.y)
    >>> r = evaluate(model, ds, thresholds=[0.5, 0.7], n_boot=200)
    >>> r.thresholds
    [0.5, 0.7]
    >>> sorted(r.confusion.columns)
    ['attribute', 'fn', 'fp', 'group', 'threshold', 'tn', 'tp']
    """
    ds = _predicted_dataset(model, data, pos_label)
    wanted = None
    if metrics is not None:
        wanted = list(dict.fromkeys(["count", "accuracy", *metrics]))
    settings = {"ci": ci, "n_boot": n_boot, "random_state": random_state}
    if ds.is_lazy:
        from raikit.evaluate._lazy import lazy_parts

        parts = lazy_parts(ds, model, pos_label, thresholds, wanted, **settings)
    else:
        parts = _memory_parts(ds, model, pos_label, thresholds, wanted, **settings)

    findings, tables, fairness = [], [], []
    if model is not None:
        from raikit._features import sensitive_input_finding

        uses_sensitive = sensitive_input_finding(ds)
        if uses_sensitive is not None:
            findings.append(uses_sensitive)
    seen_titles: set[str] = set()
    for t, gm in zip(parts.thresholds, parts.metrics, strict=True):  # a handful of thresholds
        table = gm.table.copy()
        table.insert(0, "threshold", t)
        tables.append(table)
        fair = gm.fairness(criteria, tolerance=tolerance)
        if len(fair):
            fair.insert(0, "threshold", t)
            fairness.append(fair)
            findings += _fairness_findings(fair, t, ci, tolerance)
        for f in gm.findings:
            if f.severity != "error" and f.title not in seen_titles:
                seen_titles.add(f.title)
                findings.append(f)
    positive = parts.positive
    result = EvaluationResult(
        metrics=pd.concat(tables, ignore_index=True),
        fairness=pd.concat(fairness, ignore_index=True) if fairness else pd.DataFrame(),
        confusion=pd.concat(parts.confusion, ignore_index=True),
        roc=parts.roc,
        calibration=parts.calibration,
        thresholds=parts.thresholds,
        ci=ci,
        tolerance=tolerance,
        sensitive_names=list(ds.sensitive_names),
        findings=tuple(findings),
        meta={
            "n_rows": ds.n_rows,
            "positive_label": positive.item() if hasattr(positive, "item") else positive,
            "n_boot": n_boot,
            "random_state": random_state,
            **parts.meta,
        },
    )
    return result


@dataclass
class _Parts:
    """What each path (rows in memory, or aggregated where they live) hands to :func:`evaluate`:
    the positive label, the thresholds, one GroupMetricsResult and confusion table per
    threshold, the curves and anything to add to the result's meta."""

    positive: object
    thresholds: list
    metrics: list
    confusion: list
    roc: pd.DataFrame
    calibration: pd.DataFrame
    meta: dict = field(default_factory=dict)


def _memory_parts(ds, model, pos_label, thresholds, wanted, *, ci, n_boot, random_state):
    """The evaluation of rows in memory: ``group_metrics`` per threshold (exact ROC AUC), the
    curves on the scores' quantiles and the calibration deciles from the rows."""
    from raikit.metrics import group_metrics

    y01, positive, negative = _binary_labels(ds, model, pos_label)
    score, thresholds = _scores_and_thresholds(ds, thresholds)
    y = ds.y.to_numpy()
    families = _families(ds)  # (slice_attr, slice_group, codes, n_slices)
    weights = ds.weights
    results, confusion = [], []
    for t in thresholds:  # one group_metrics call per threshold (a handful)
        pred, pred01 = _predictions_at(t, ds, score, positive, negative)
        results.append(
            group_metrics(
                y,
                pred,
                sensitive_features=ds.sensitive,
                score=score,
                sample_weight=weights,
                metrics=wanted,
                ci=ci,
                n_boot=n_boot,
                random_state=random_state,
                pos_label=positive,
                task="binary",
            )
        )
        confusion.append(_confusion(y01, pred01, t, *families, weights=weights))
    roc = calibration = pd.DataFrame()
    if score is not None:
        roc = _curves(
            y01, score, *families, ci=ci, n_boot=n_boot, random_state=random_state, weights=weights
        )
        if score.min() >= 0 and score.max() <= 1:
            calibration = _calibration(y01, score, *families, ci=ci, weights=weights)
    return _Parts(positive, thresholds, results, confusion, roc, calibration)


def _predicted_dataset(model, data, pos_label):
    """The Dataset with the model's predictions (and scores) added, or its own columns."""
    ds = check_dataset(data, need=["target"], caller="evaluate")
    if model is not None:
        if not hasattr(model, "predict"):
            raise ParameterError(
                f"evaluate(): model must be a fitted classifier with predict, got {model!r}."
            )
        return ds.with_predictions(model, pos_label=pos_label)
    if ds.prediction is None and ds.score is None:
        raise DataError(
            "Pass a fitted model, or a Dataset with prediction= (and score=) columns to evaluate."
        )
    return ds


def _predictions_at(t, ds, score, positive, negative):
    """Predicted labels and their 0/1 codes at threshold ``t`` (NaN: the model's own labels)."""
    if np.isnan(t):
        pred = ds.y_pred.to_numpy()
        return pred, (pred == positive).astype(np.int64)
    pred01 = (score >= t).astype(np.int64)
    return np.where(pred01 == 1, positive, negative), pred01


def _scores_and_thresholds(ds, thresholds):
    """The score column (or None) and the thresholds evaluated (NaN: the model's own labels)."""
    score = None
    if ds.score is not None:
        score = ds.y_score.to_numpy(dtype=float)
        if np.isnan(score).any():
            raise DataError(f"The score column {ds.score!r} has missing values.")
    return score, threshold_list(ds, thresholds)


def threshold_list(ds, thresholds) -> list[float]:
    """The thresholds evaluated, as floats (``[nan]``: the model's own labels), checked against
    the Dataset's prediction and score roles (no rows read)."""
    if thresholds is None:
        if ds.prediction is None:
            raise DataError("No prediction column; pass thresholds=[...] to threshold the score.")
        return [float("nan")]
    thresholds = [float(t) for t in thresholds]
    if not thresholds:
        raise ParameterError(
            "evaluate(): thresholds is empty; pass e.g. thresholds=[0.3, 0.5, 0.7]."
        )
    if ds.score is None:
        raise DataError(
            "thresholds need scores: pass a model with predict_proba or a Dataset with score=."
        )
    return thresholds


def _fairness_findings(fair: pd.DataFrame, t: float, ci, tolerance: float) -> list:
    """One finding per failed (error) or straddling (warning) criterion at threshold ``t``."""
    findings = []
    where = "the model's predictions" if np.isnan(t) else f"threshold {t:g}"
    doubtful = fair[fair["verdict"].isin(["fail", "warn"])]
    for row in doubtful.itertuples(index=False):  # failed or straddling criteria
        interval = ""
        if np.isfinite(row.lower):
            interval = f" ({ci:.0%} CI {row.lower:.3f} to {row.upper:.3f})"
        conclusive = row.verdict == "fail"
        findings.append(
            Finding(
                "error" if conclusive else "warning",
                f"{row.criterion} {'violated' if conclusive else 'uncertain'} for "
                f"{row.attribute} at {where}",
                f"Largest between-group difference in {row.metric} is "
                f"{row.difference:.3f}{interval}"
                + (
                    f", beyond the tolerance {tolerance:g}."
                    if conclusive
                    else f"; the interval includes the tolerance {tolerance:g}."
                ),
                slice=row.attribute,
            )
        )
    return findings
