"""``evaluate`` on a lazy Dataset: every table from one aggregate computed where the rows live.

A lazy Dataset (Parquet/CSV through DuckDB, or a Spark DataFrame) is reduced by one SQL
``GROUP BY`` to a row per (sensitive values, label, prediction, score bin, score decile,
thresholds passed) with its count and the score sums of the group-metrics backends
(:mod:`raikit.metrics._duckdb`). Everything :func:`raikit.evaluate.evaluate` reports follows from
that table, with the same code as for rows in memory:

- the metrics at each threshold: the backends' engine (``counts_from_table`` then
  ``_from_counts``), so the count metrics and their intervals are those of
  :func:`raikit.metrics.group_metrics_of`, and ROC AUC is binned within the bound it reports;
- the confusion matrices: exact at every threshold (``score >= t`` is evaluated in SQL);
- the calibration deciles: exact (the decile ``floor(score * 10)`` is computed in SQL with the
  in-memory code's float operations);
- the ROC and precision-recall points: at the lower edges of the score bins (``floor(score *
  1000)``) nearest below the scores' quantiles, with the same Poisson bootstrap of the counts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from raikit._errors import DataError

__all__ = ["lazy_parts"]

SCORE_BINS = 1000  # equal-width bins of the curves and the binned ROC AUC (the backends' default)
# what result.meta["binning"] says of a lazy evaluation
_BINNING = {
    "score_bins": SCORE_BINS,
    "roc": f"ROC and precision-recall points at the lower edges of {SCORE_BINS:,} equal-width "
    f"score bins on [0, 1] (bin floor(score * {SCORE_BINS})), the bins holding the scores' "
    f"101 quantiles; a point counts the rows whose bin is at or above its threshold's",
    "roc_auc": "from the score bins: |binned - exact| <= meta['roc_auc_error_bound'] per slice",
    "calibration": "exact: 10 bins min(floor(score * 10), 9), as in memory",
    "confusion": "exact: score >= threshold",
}


def lazy_parts(ds, model, pos_label, thresholds, wanted, *, ci, n_boot, random_state):
    """The parts of :func:`raikit.evaluate.evaluate` for a lazy Dataset (no row loaded)."""
    from raikit._grouping import encode_groups
    from raikit.evaluate._evaluate import _confusion, _Parts, slice_families, threshold_list
    from raikit.metrics._duckdb import counts_from_table
    from raikit.metrics._group_metrics import _from_counts
    from raikit.metrics._stats import MIN_GROUP_SIZE

    thresholds = threshold_list(ds, thresholds)
    cuts = sorted({t for t in thresholds if not np.isnan(t)})
    table = _cells(ds, cuts)
    positive, negative = _labels(ds, model, table, pos_label)
    y01 = _is(table["__y"].to_numpy(), positive)
    names = list(ds.sensitive_names)
    encoding = encode_groups(table[names], missing_group=ds.missing_group)
    families = slice_families(encoding, len(table))
    weighted = ds.weight is not None
    mass = table["__w" if weighted else "__n"].to_numpy(float)
    squares = table["__w2"].to_numpy(float) if weighted else None
    backend = "spark" if ds.table.format == "spark" else "duckdb"
    source = "the Spark DataFrame" if backend == "spark" else ds.table.source
    results, confusion = [], []
    for t in thresholds:  # one reduction of the same table per threshold (a handful)
        if np.isnan(t):
            predicted = table["__p"].to_numpy()
            pred01 = _is(predicted, positive)
        else:
            pred01 = (table["__c"].to_numpy() >= cuts.index(t) + 1).astype(np.int64)
            predicted = np.where(pred01 == 1, positive, negative)
        aggregated = counts_from_table(
            table.assign(__p=predicted),
            source=source,
            target=ds.target,
            prediction=ds.prediction or "the thresholded score",
            sensitive=names,
            score=ds.score,
            score_bins=SCORE_BINS,
            pos_label=positive,
            missing_group=ds.missing_group,
            backend=backend,
            weight=ds.weight,
        )
        results.append(
            _from_counts(
                aggregated,
                metrics=wanted,
                ci=ci,
                n_boot=n_boot,
                random_state=random_state,
                task="binary",
                min_group_size=MIN_GROUP_SIZE,
            )
        )
        confusion.append(_confusion(y01, pred01, t, *families, weights=mass, rows=not weighted))
    meta = {"backend": backend}
    roc = calibration = pd.DataFrame()
    if ds.score is not None:
        roc, calibration = _curves(
            table, families, y01, mass, squares, ci=ci, n_boot=n_boot, random_state=random_state
        )
        meta["binning"] = _BINNING
        bound = results[0].meta.get("roc_auc_error_bound")
        if bound is not None:
            meta["roc_auc_error_bound"] = bound
    return _Parts(positive, thresholds, results, confusion, roc, calibration, meta)


def _curves(table, families, y01, mass, squares, *, ci, n_boot, random_state):
    """The ROC/precision-recall table at the score bins' edges and the calibration deciles, from
    the aggregated rows (``mass``: their counts or weight sums; ``squares``: their sums of
    squared weights, or None)."""
    from raikit.evaluate._evaluate import (
        N_CALIBRATION_BINS,
        N_CURVE_POINTS,
        _histogram,
        calibration_frame,
        curve_frame,
    )

    slice_attr, slice_group, codes, n_slices = families
    bins = table["__b"].to_numpy(np.int64)
    edges = _edge_bins(bins, mass, N_CURVE_POINTS)
    point = np.maximum(np.searchsorted(edges, bins, side="right") - 1, 0)
    counts = _histogram(codes, n_slices, point, len(edges), y01, weights=mass)
    sq = None
    if squares is not None:
        sq = _histogram(codes, n_slices, point, len(edges), y01, weights=squares)
    roc = curve_frame(
        counts,
        sq,
        edges / SCORE_BINS,
        slice_attr,
        slice_group,
        ci=ci,
        n_boot=n_boot,
        random_state=random_state,
    )
    decile, k = table["__d"].to_numpy(np.int64), N_CALIBRATION_BINS
    counts = _histogram(codes, n_slices, decile, k, y01, weights=mass)
    sums = _histogram(codes, n_slices, decile, k, y01, weights=table["__s1"].to_numpy(float))
    sq = None if squares is None else _histogram(codes, n_slices, decile, k, y01, weights=squares)
    return roc, calibration_frame(counts, sums, sq, slice_attr, slice_group, ci=ci)


def _is(values: np.ndarray, label) -> np.ndarray:
    """0/1 codes of ``values == label``."""
    return (pd.Series(values) == label).to_numpy(np.int64)


def _cells(ds, cuts: list[float]) -> pd.DataFrame:
    """The one aggregate: a row per (sensitive values, label, prediction, score bin, decile,
    number of ``cuts`` at or below the score) with the count, weight and score sums."""
    from raikit.evaluate._evaluate import N_CALIBRATION_BINS
    from raikit.metrics._duckdb import score_sql, weight_sql

    table = ds.table
    d = table.dialect
    q = d.ident
    select = [q(c) for c in ds.sensitive_names] + [f"{q(ds.target)} AS __y"]
    if ds.prediction is not None:
        select.append(f"{q(ds.prediction)} AS __p")
    sums = ["COUNT(*) AS __n"]
    if ds.weight is not None:
        sums += weight_sql(ds.weight, d)
    if ds.score is not None:
        bin_sql, score_sums = score_sql(ds.score, SCORE_BINS, d, weight=ds.weight)
        s = f"CAST({q(ds.score)} AS DOUBLE)"
        k = N_CALIBRATION_BINS
        # the in-memory decile, min(int(score * 10), 9), with the same float product
        decile = (
            f"CASE WHEN {s} >= 0 AND {s} <= 1 THEN LEAST(CAST(FLOOR({s} * {d.double(k)}) AS "
            f"BIGINT), {k - 1}) ELSE -1 END"
        )
        select += [f"{bin_sql} AS __b", f"{decile} AS __d"]
        if cuts:
            above = " + ".join(f"(CASE WHEN {s} >= {d.double(t)} THEN 1 ELSE 0 END)" for t in cuts)
            select.append(f"CAST({above} AS BIGINT) AS __c")
        sums += score_sums
    return table.query(f"SELECT {', '.join(select + sums)} FROM {{table}} GROUP BY ALL")


def _labels(ds, model, table: pd.DataFrame, pos_label):
    """The positive and negative labels, as :func:`raikit.evaluate._evaluate._binary_labels`
    infers them, from the aggregated labels and predictions."""
    from raikit.metrics._group_metrics import resolve_pos_label

    y = table["__y"]
    values = pd.unique(y.dropna())
    if len(values) != 2:
        shown = sorted(map(str, values))[:10]
        raise DataError(
            f"This check needs a binary target but {ds.target!r} has {len(values)} distinct "
            f"value(s): {shown}. Map it to 0/1 first (e.g. df[col] = (df[col] == 'yes'))."
        )
    classes = getattr(model, "classes_", None) if model is not None else None
    if classes is not None and len(classes) == 2:
        labels = list(classes)
    elif "__p" in table:
        labels = list(pd.unique(np.concatenate([y.to_numpy(), table["__p"].to_numpy()])))
    else:
        labels = list(pd.unique(y))
    positive = resolve_pos_label(labels, pos_label)
    others = [v for v in labels if v != positive]
    return positive, others[0] if others else None


def _edge_bins(bins: np.ndarray, mass: np.ndarray, n_points: int) -> np.ndarray:
    """The score bins holding the (weighted, inverted-CDF) quantiles of the scores on a grid of
    ``n_points`` probabilities: the lower edges of the curves' thresholds, in bins."""
    per_bin = np.bincount(bins, weights=mass, minlength=SCORE_BINS)
    cumulative = np.cumsum(per_bin)
    grid = np.linspace(0, 1, n_points) * cumulative[-1]
    found = np.searchsorted(cumulative, grid, side="left")
    first = int(np.flatnonzero(per_bin > 0)[0])
    return np.unique(np.clip(found, first, SCORE_BINS - 1))
