"""Automatic discovery of problematic slices: Slice Finder (lattice, tree) and SliceLine.

A *slice* is a conjunction of predicates ``feature = value`` (numeric features are binned by
quantiles first, so ``age in [25, 33)`` is a value). The model's per-row loss is compared inside
the slice and on the rest of the data.

* ``method="lattice"`` follows Slice Finder (Chung et al., ICDE 2019): breadth-first search over the
  lattice of conjunctions; a slice whose effect size reaches ``effect_size`` is tested with a
  one-sided Welch t-test; significant slices are reported and not expanded further, the others are
  expanded by one more predicate; slices smaller than ``min_size`` are skipped. False discoveries
  are controlled by alpha-investing (default) or Benjamini–Hochberg.
* ``method="tree"`` is Slice Finder's alternative: a regression tree on the loss, whose nodes are
  the candidate slices, tested the same way.
* ``method="sliceline"`` is SliceLine (Sagadeeva & Boehm, SIGMOD 2021): the exact top-k slices by
  ``score = w (slice error / average error - 1) - (1 - w) (n / slice size - 1)`` found by a
  level-wise enumeration with size and score upper-bound pruning.

Every level is evaluated without a Python loop over rows or slices: the slices of one set of
features share a mixed-radix code per row, so their sizes and loss sums are one ``np.bincount``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from raikit._errors import ColumnError, DataError, ParameterError
from raikit._recording import recorded
from raikit._result import Finding, Result
from raikit._validation import (
    ALPHA,
    CI,
    RANDOM_STATE,
    Interval,
    Options,
    check_dataset,
    rng_from,
    validate_params,
)
from raikit.metrics._stats import z_value

__all__ = ["SliceResult", "find_slices", "row_losses"]

_EPS = 1e-15
LOSSES = ("log_loss", "zero_one", "squared_error", "absolute_error")


# --------------------------------------------------------------------------- losses
def _is_loss(value) -> bool:
    """one of 'log_loss', 'zero_one', 'squared_error', 'absolute_error' or a callable"""
    return callable(value) or (isinstance(value, str) and value in LOSSES)


def _model_outputs(model, X: pd.DataFrame, *, need_proba: bool):
    if need_proba:
        if not hasattr(model, "predict_proba"):
            raise ParameterError(
                f"find_slices(): loss='log_loss' needs predicted probabilities but "
                f"{type(model).__name__} has no "
                f"predict_proba. Use loss='zero_one' (or a callable loss)."
            )
        return model.predict_proba(X), getattr(model, "classes_", None)
    return model.predict(X), None


@validate_params(loss=_is_loss)
def row_losses(model, data, *, loss="log_loss", pos_label=None) -> np.ndarray:
    """The model's loss on every row of a Dataset.

    Parameters
    ----------
    model : fitted estimator or None
        With ``None``, the Dataset's ``prediction`` (and ``score``) columns are used.
    data : Dataset
        Data with a target.
    loss : {"log_loss", "zero_one", "squared_error", "absolute_error"} or callable
        A callable gets ``(y_true, y_pred)`` as numpy arrays and returns one loss per row; ``y_pred``
        is the positive-class probability for a binary model with ``predict_proba`` and the
        prediction otherwise.
    pos_label : optional
        The positive label, where the loss needs one: a binary score column (``log_loss`` with
        ``model=None``: the score is its probability) or a callable loss given a binary model's
        probabilities (the column of ``pos_label`` in ``model.classes_``). Inferred only for
        0/1, False/True and -1/1 labels.

    Returns
    -------
    ndarray of float, one loss per row.

    See Also
    --------
    raikit.evaluate.find_slices : searches slices of these losses.

    Examples
    --------
    >>> import pandas as pd
    >>> from raikit import Dataset
    >>> frame = pd.DataFrame({"s": list("aabb"), "y": [1, 0, 1, 0], "p": [1, 1, 1, 0]})
    >>> row_losses(None, Dataset(frame, target="y", sensitive="s", prediction="p"),
    ...            loss="zero_one").tolist()
    [0.0, 1.0, 0.0, 0.0]
    """
    ds = check_dataset(data, need=["target"], caller="row_losses")
    return _row_losses(model, ds, loss, pos_label)[0]


def _row_losses(model, ds, loss, pos_label):
    """``(loss per row, the positive label it used or None)``."""
    from raikit.metrics._group_metrics import _label_list, positive_column, resolve_pos_label

    positive = None
    if model is not None:
        ds = ds.for_model(model)
    y = ds.y.to_numpy()
    if pd.isna(y).any():
        raise DataError(
            f"The target {ds.target!r} has {int(pd.isna(y).sum())} missing value(s); drop those "
            f"rows before computing losses."
        )
    if callable(loss):
        if model is None:
            out = ds.y_score if ds.score is not None else ds.y_pred
            out = out.to_numpy()
        else:
            proba = hasattr(model, "predict_proba") and ds.y.nunique() == 2
            if proba:
                classes = _label_list(getattr(model, "classes_", [0, 1]))
                column = positive_column(classes, pos_label)
                positive = classes[column]
                out = np.asarray(model.predict_proba(ds.X))[:, column]
            else:
                out = model.predict(ds.X)
        values = np.asarray(loss(y, out), dtype=float)
        if values.shape != (len(y),):
            raise ParameterError(
                f"find_slices(): the loss callable must return one value per row ({len(y)}), got shape "
                f"{values.shape}."
            )
    elif loss == "log_loss":
        if model is None:
            if ds.score is None:
                raise DataError(
                    "loss='log_loss' needs scores: pass a model with predict_proba, a Dataset with "
                    "score='column', or use loss='zero_one'."
                )
            p1 = np.clip(ds.y_score.to_numpy(dtype=float), _EPS, 1 - _EPS)
            classes = pd.unique(y)
            if len(classes) > 2:
                raise DataError("A score column only gives log loss for a binary target.")
            positive = resolve_pos_label(classes, pos_label)
            values = -np.where(y == positive, np.log(p1), np.log1p(-p1))
        else:
            proba, classes = _model_outputs(model, ds.X, need_proba=True)
            classes = np.asarray(classes if classes is not None else np.arange(proba.shape[1]))
            index = pd.Index(classes).get_indexer(y)
            if (index < 0).any():
                bad = y[index < 0][0]
                raise DataError(
                    f"Label {bad!r} of {ds.target!r} is not one of the model's classes "
                    f"{classes.tolist()}; was the model trained on this target?"
                )
            picked = proba[np.arange(len(y)), index]
            values = -np.log(np.clip(picked, _EPS, 1.0))
    elif loss in ("zero_one", "squared_error", "absolute_error"):
        pred = ds.y_pred.to_numpy() if model is None else np.asarray(model.predict(ds.X))
        if loss == "zero_one":
            values = (pred != y).astype(float)
        else:
            diff = pred.astype(float) - y.astype(float)
            values = diff**2 if loss == "squared_error" else np.abs(diff)
    else:
        raise ParameterError(f"loss must be one of {LOSSES} or a callable, got {loss!r}.")
    if not np.isfinite(values).all():
        raise DataError("The loss has NaN or infinite values; check the model's outputs.")
    if (values < 0).any():
        raise DataError("Slice search needs non-negative losses; the loss returned negatives.")
    return values, positive


# --------------------------------------------------------------------------- feature encoding
@dataclass
class _Encoded:
    names: list[str]
    codes: np.ndarray | None  # (n, m) int64, one column per feature; None for a lazy table
    sizes: np.ndarray  # levels per feature
    offsets: np.ndarray  # first item id of each feature
    bins: pd.DataFrame  # feature, code, label, kind, low, high

    @property
    def n_items(self) -> int:
        return int(self.sizes.sum())

    @property
    def item_feature(self) -> np.ndarray:
        return np.repeat(np.arange(len(self.names)), self.sizes)


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _range_rows(name: str, edges: np.ndarray) -> list[tuple]:
    """The bins table rows of a numeric feature cut at ``edges`` (code ``i``: ``[e_i, e_i+1)``)."""
    bounds = np.concatenate([[-np.inf], edges, [np.inf]])
    rows = []
    for i in range(len(edges) + 1):  # loop over bins (at most n_bins)
        low, high = bounds[i], bounds[i + 1]
        if np.isinf(low):
            label = f"{name} < {_fmt(high)}"
        elif np.isinf(high):
            label = f"{name} >= {_fmt(low)}"
        else:
            label = f"{_fmt(low)} <= {name} < {_fmt(high)}"
        rows.append((name, i, label, "range", low, high))
    return rows


def _category_rows(name: str, uniques) -> list[tuple]:
    """The bins table rows of a feature whose values are its levels (in code order)."""
    return [(name, i, f"{name} = {v}", "category", np.nan, np.nan) for i, v in enumerate(uniques)]


def _missing_row(name: str, code: int) -> tuple:
    return (name, code, f"{name} is missing", "missing", np.nan, np.nan)


def _is_binnable(dtype) -> bool:
    """Whether a column of this dtype is cut into quantile bins when it has many values."""
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def _cut_points(qs: np.ndarray, low: float, above=None) -> np.ndarray:
    """Bin edges from the quantiles ``qs`` of a column whose minimum is ``low``; a first edge at
    the minimum would leave an empty bin. ``above`` (called when no edge is left: a point mass
    at the minimum, e.g. capital_gain = 0) returns the minimum and the quantiles at
    ``linspace(0, 1, n_bins)[1:-1]`` of the values above ``low``, which are binned instead."""
    edges = np.unique(qs)
    edges = edges[edges > low]
    if len(edges) == 0 and above is not None:
        smallest, qs = above()
        edges = np.unique(np.concatenate([[smallest], qs]))
    return edges


def _encode_column(name: str, series: pd.Series, n_bins: int):
    """Integer codes (0..K-1) for one column and the table describing each code."""
    missing = series.isna().to_numpy()
    if _is_binnable(series.dtype) and series.nunique() > n_bins:
        x = series.to_numpy(dtype=float, na_value=np.nan)

        def above():
            rest = x[x > np.nanmin(x)]
            return rest.min(), np.quantile(rest, np.linspace(0, 1, n_bins)[1:-1])

        qs = np.nanquantile(x, np.linspace(0, 1, n_bins + 1)[1:-1])
        edges = _cut_points(qs, np.nanmin(x), above)
        codes = np.searchsorted(edges, np.where(missing, 0.0, x), side="right")
        rows = _range_rows(name, edges)
    else:
        codes, uniques = pd.factorize(series, sort=True, use_na_sentinel=True)
        rows = _category_rows(name, uniques)
    n_levels = len(rows)
    codes = np.asarray(codes, dtype=np.int64)
    if missing.any():
        codes = np.where(missing, n_levels, codes)
        rows.append(_missing_row(name, n_levels))
        n_levels += 1
    return codes, n_levels, rows


def _encode_features(frame: pd.DataFrame, names: Sequence[str], n_bins: int) -> _Encoded:
    columns, sizes, rows = [], [], []
    for name in names:
        codes, k, r = _encode_column(name, frame[name], n_bins)
        columns.append(codes)
        sizes.append(k)
        rows += r
    return _assemble(list(names), columns, sizes, rows)


def _assemble(names: list[str], columns: list | None, sizes: list[int], rows: list) -> _Encoded:
    """The encoding of the features with more than one level (``columns`` of codes per row, or
    None when the rows live elsewhere)."""
    keep = [i for i, k in enumerate(sizes) if k > 1]  # a one-level feature slices nothing
    names = [names[i] for i in keep]
    sizes = [sizes[i] for i in keep]
    rows = [r for r in rows if r[0] in set(names)]
    if not names:
        raise DataError("Every feature has a single value; there is nothing to slice on.")
    sizes_arr = np.asarray(sizes, dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes_arr)[:-1]]).astype(np.int64)
    bins = pd.DataFrame(rows, columns=["feature", "code", "label", "kind", "low", "high"])
    codes = None if columns is None else np.column_stack([columns[i] for i in keep])
    return _Encoded(list(names), codes, sizes_arr, offsets, bins)


def _reencode(bins: pd.DataFrame, frame: pd.DataFrame, feature: str) -> np.ndarray:
    """Codes of ``frame[feature]`` under the bins learned by a search (for masks on new data)."""
    part = bins[bins["feature"] == feature]
    series = frame[feature]
    missing = series.isna().to_numpy()
    codes = np.full(len(series), -1, dtype=np.int64)
    if (part["kind"] == "range").any():
        ranges = part[part["kind"] == "range"]
        edges = ranges["low"].to_numpy()[1:]
        x = series.to_numpy(dtype=float, na_value=np.nan)
        codes = np.searchsorted(edges, np.where(missing, 0.0, x), side="right").astype(np.int64)
    else:
        cats = part[part["kind"] == "category"]
        prefix = f"{feature} = "
        lookup = {
            label[len(prefix) :]: code
            for label, code in zip(cats["label"], cats["code"], strict=True)
        }
        # look up each distinct value once, not each row's text (a million rows of strings)
        row_codes, uniques = pd.factorize(series)
        known = pd.Series(pd.Index(uniques).astype(str)).map(lookup).fillna(-1)
        known = np.append(known.to_numpy(dtype=np.int64), -1)  # position -1: a missing value
        codes = known[row_codes]
    miss = part[part["kind"] == "missing"]
    codes = np.where(missing, int(miss["code"].iloc[0]) if len(miss) else -1, codes)
    return codes


# --------------------------------------------------------------------------- lattice machinery
def _keys(items: np.ndarray, base: int) -> np.ndarray:
    key = np.zeros(len(items), dtype=np.int64)
    for j in range(items.shape[1]):  # loop over predicate positions (at most max_features)
        key = key * base + items[:, j] + 1
    return key


def _join(items: np.ndarray, item_feature: np.ndarray, base: int):
    """Apriori join: children with L predicates whose L parents (all (L-1)-subsets) are in ``items``.

    ``items`` holds one sorted row of item ids per slice, rows sorted lexicographically. Returns the
    children and, for each, the row index of each of its parents.
    """
    s, width = items.shape
    if s < 2:
        return np.empty((0, width + 1), np.int64), np.empty((0, width + 1), np.int64)
    prefix = _keys(items[:, :-1], base) if width > 1 else np.zeros(s, np.int64)
    ends = np.searchsorted(prefix, prefix, side="right")
    counts = ends - np.arange(s) - 1
    total = int(counts.sum())
    left = np.repeat(np.arange(s), counts)
    start = np.repeat(np.cumsum(counts) - counts, counts)
    right = left + 1 + (np.arange(total) - start)
    ok = item_feature[items[left, -1]] != item_feature[items[right, -1]]
    left, right = left[ok], right[ok]
    children = np.column_stack([items[left], items[right, -1]])
    parents = np.empty((len(children), width + 1), dtype=np.int64)
    parents[:, width] = left  # child without its last item
    parents[:, width - 1] = right  # child without its second-to-last item
    keep = np.ones(len(children), dtype=bool)
    parent_keys = _keys(items, base)
    for p in range(width - 1):  # the other parents: drop one prefix item (loop over positions)
        sub = np.delete(children, p, axis=1)
        key = _keys(sub, base)
        pos = np.clip(np.searchsorted(parent_keys, key), 0, s - 1)
        found = parent_keys[pos] == key
        keep &= found
        parents[:, p] = pos
    return children[keep], parents[keep]


def _evaluate(items: np.ndarray, enc: _Encoded, weights: list[np.ndarray], want_max=None):
    """Size, weighted sums (and optionally the max of ``want_max``) of each slice in ``items``."""
    n_slices, width = items.shape
    size = np.zeros(n_slices)
    sums = [np.zeros(n_slices) for _ in weights]
    maxima = np.zeros(n_slices) if want_max is not None else None
    if n_slices == 0:
        return size, sums, maxima
    item_feature = enc.item_feature
    feats = item_feature[items]
    local = items - enc.offsets[feats]
    m = len(enc.names)
    combo = _keys(feats, m + 1)
    combos, first, inverse = np.unique(combo, return_index=True, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(combos) + 1))
    n = enc.codes.shape[0]
    for c in range(len(combos)):  # one pass per feature set (a lattice node), not per slice or row
        sel = order[bounds[c] : bounds[c + 1]]
        fs = feats[first[c]]
        strides = np.ones(width, dtype=np.int64)
        for j in range(width - 2, -1, -1):
            strides[j] = strides[j + 1] * enc.sizes[fs[j + 1]]
        n_cells = int(strides[0] * enc.sizes[fs[0]])
        row_code = enc.codes[:, fs] @ strides
        cand_code = local[sel] @ strides
        if n_cells <= 4 * n + 4096:
            size[sel] = np.bincount(row_code, minlength=n_cells)[cand_code]
            for out, w in zip(sums, weights, strict=True):
                out[sel] = np.bincount(row_code, weights=w, minlength=n_cells)[cand_code]
            if maxima is not None:
                mx = np.zeros(n_cells)
                np.maximum.at(mx, row_code, want_max)
                maxima[sel] = mx[cand_code]
        else:  # very many cells: compress the codes that occur
            uniq, inv = np.unique(row_code, return_inverse=True)
            pos = np.clip(np.searchsorted(uniq, cand_code), 0, len(uniq) - 1)
            hit = uniq[pos] == cand_code
            k = len(uniq)
            size[sel] = np.where(hit, np.bincount(inv, minlength=k)[pos], 0)
            for out, w in zip(sums, weights, strict=True):
                out[sel] = np.where(hit, np.bincount(inv, weights=w, minlength=k)[pos], 0)
            if maxima is not None:
                mx = np.zeros(k)
                np.maximum.at(mx, inv, want_max)
                maxima[sel] = np.where(hit, mx[pos], 0)
    return size, sums, maxima


class _RowStats:
    """The item statistics of a search from the rows in memory: per slice its size, loss sum,
    sum of squared losses and largest loss, by ``np.bincount`` over the codes of each feature set
    (:func:`_evaluate`). ``weights`` are frequency weights: sizes and sums are weighted.

    A lazy table has the same interface in :class:`raikit.evaluate._slices_sql.TableStats`
    (group-by queries where the rows live); the searches only see this interface.
    """

    def __init__(self, enc: _Encoded, e: np.ndarray, weights: np.ndarray | None) -> None:
        self.enc, self.e, self.weights = enc, e, weights
        w = np.ones(len(e)) if weights is None else weights
        self.n = float(w.sum())
        self.t1, self.t2 = float((w * e).sum()), float((w * e * e).sum())
        self.n_rows = len(e)
        self.mean_loss = float(np.average(e, weights=weights))

    def __enter__(self) -> _RowStats:
        return self

    def __exit__(self, *exc) -> None:
        return None

    def moments(self, items: np.ndarray):
        """Size, loss sum and squared-loss sum of each slice (rows of item ids)."""
        e, w = self.e, self.weights
        if w is None:
            size, (s1, s2), _ = _evaluate(items, self.enc, [e, e * e])
        else:
            _, (size, s1, s2), _ = _evaluate(items, self.enc, [w, w * e, w * e * e])
        return size, s1, s2

    def errors(self, items: np.ndarray):
        """Size, loss sum and largest loss of each slice (a zero-weight row is no row)."""
        e, w = self.e, self.weights
        if w is None:
            size, (s1,), top = _evaluate(items, self.enc, [e], want_max=e)
        else:
            _, (size, s1), top = _evaluate(
                items, self.enc, [w, w * e], want_max=np.where(w > 0, e, 0.0)
            )
        return size, s1, top

    def squares(self, items: np.ndarray) -> np.ndarray:
        """Squared-loss sum of each slice."""
        w = np.ones(len(self.e)) if self.weights is None else self.weights
        _, (s2,), _ = _evaluate(items, self.enc, [w * self.e * self.e])
        return s2


def _ranks(values: np.ndarray) -> np.ndarray:
    """Dense ascending ranks of ``values`` in which values equal to 12 significant digits tie, so
    that sums added in another order (by a SQL engine) rank the same slices as numpy's do; ties
    are then broken by the slices' order."""
    values = np.asarray(values, dtype=float)
    order = np.argsort(values, kind="stable")
    v = values[order]
    with np.errstate(invalid="ignore"):
        close = v[1:] - v[:-1] <= 1e-12 * np.maximum(np.abs(v[1:]), np.abs(v[:-1]))
        new = ~(close | (v[1:] == v[:-1]))
    rank = np.empty(len(v), dtype=np.int64)
    rank[order] = np.concatenate([[0], np.cumsum(new)])[: len(v)]
    return rank


def _descending(values: np.ndarray) -> np.ndarray:
    """Positions that sort ``values`` from largest to smallest, near-ties in their order."""
    return np.lexsort((np.arange(len(values)), -_ranks(values)))


def _welch(size, s1, s2, n, t1, t2):
    """Mean loss in and out of each slice, effect size, one-sided Welch t-test (slice worse)."""
    from scipy import stats

    with np.errstate(divide="ignore", invalid="ignore"):
        rest = n - size
        mean_s = s1 / size
        mean_r = (t1 - s1) / rest
        var_s = np.maximum(s2 - s1 * mean_s, 0) / (size - 1)
        var_r = np.maximum((t2 - s2) - (t1 - s1) * mean_r, 0) / (rest - 1)
        a, b = var_s / size, var_r / rest
        se2 = a + b
        diff = mean_s - mean_r
        t = np.where(se2 > 0, diff / np.sqrt(se2), np.where(diff > 0, np.inf, np.nan))
        df = np.where(se2 > 0, se2**2 / (a**2 / (size - 1) + b**2 / (rest - 1)), 1.0)
        p = np.where(np.isnan(t), 1.0, stats.t.sf(t, np.maximum(df, 1.0)))
        pooled = np.sqrt((var_s + var_r) / 2)
        effect = np.where(pooled > 0, diff / pooled, np.where(diff > 0, np.inf, 0.0))
    return mean_s, mean_r, var_s, effect, t, np.nan_to_num(p, nan=1.0)


class _AlphaInvesting:
    """Foster & Stine's alpha-investing: initial wealth alpha (1 - alpha), payout alpha on each
    discovery, and every test bids half the current wealth (it costs alpha_j / (1 - alpha_j))."""

    def __init__(self, alpha: float) -> None:
        self.alpha = alpha
        self.wealth = alpha * (1 - alpha)

    def test(self, p: float) -> tuple[bool, float]:
        bid = self.wealth / 2
        level = bid / (1 + bid)
        if p <= level:
            self.wealth += self.alpha
            return True, level
        self.wealth -= bid
        return False, level


def _benjamini_hochberg(p: np.ndarray, alpha: float) -> np.ndarray:
    m = len(p)
    if m == 0:
        return np.zeros(0, dtype=bool)
    order = np.argsort(p, kind="stable")
    passed = p[order] <= alpha * np.arange(1, m + 1) / m
    k = np.flatnonzero(passed).max() + 1 if passed.any() else 0
    out = np.zeros(m, dtype=bool)
    out[order[:k]] = True
    return out


# --------------------------------------------------------------------------- the result
@dataclass(frozen=True, eq=False)
class SliceResult(Result):
    """Slices of the data on which a model's loss is significantly (or, for SliceLine, most) worse.

    Attributes
    ----------
    slices : DataFrame
        One row per reported slice, best first: ``slice`` (text), ``n_predicates``, ``size``
        (rows; the sum of their weights when the Dataset has a weight role),
        ``mean_loss`` with ``lower``/``upper`` (normal interval at ``overall["ci"]``),
        ``rest_mean_loss``,
        ``effect_size``, ``t_statistic``, ``p_value``, ``test_level`` (the level it was tested at),
        ``score`` (SliceLine's score; NaN for the other methods).
    predicates : DataFrame
        Tidy: one row per (slice, predicate) with ``slice_id``, ``feature``, ``op`` (``==``,
        ``<=``, ``>``, ``!=`` on the bin code), ``code`` and ``label``.
    bins : DataFrame
        How each feature was binned: ``feature``, ``code``, ``label``, ``kind``, ``low``, ``high``.
    levels : DataFrame
        Search statistics per lattice level (candidates generated, evaluated, tested, found).
    method, loss : str
    overall : dict
        ``n_rows``, ``mean_loss``, the search parameters, ``ci`` and ``pos_label`` (the positive
        label the loss used; None when it needs none).
    findings : tuple of Finding

    See Also
    --------
    find_slices : computes it.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from raikit import Dataset
    >>> from raikit.evaluate import find_slices
    >>> rng = np.random.default_rng(0)
    >>> frame = pd.DataFrame({"colour": rng.choice(["red", "blue"], 1000)})
    >>> frame["y"] = rng.integers(0, 2, 1000)
    >>> frame["p"] = np.where(frame["colour"] == "red", 1 - frame["y"], frame["y"])
    >>> r = find_slices(None, Dataset(frame, target="y", sensitive="colour", prediction="p"),
    ...                 loss="zero_one", method="sliceline", k=1)
    >>> r.method, r.slices["slice"].iloc[0]
    ('sliceline', 'colour = red')
    """

    slices: pd.DataFrame
    predicates: pd.DataFrame
    bins: pd.DataFrame
    levels: pd.DataFrame
    method: str
    loss: str
    overall: dict = field(default_factory=dict)
    findings: tuple = field(default_factory=tuple)

    @property
    def summary(self) -> str:
        n = len(self.slices)
        head = f"{n} problematic slice(s) found by {self.method}"
        if self.overall.get("pos_label") is not None:
            head += f" (positive label {self.overall['pos_label']!r})"
        if n == 0:
            return head + f" (mean {self.loss} {self.overall.get('mean_loss', float('nan')):.4f})."
        top = self.slices.iloc[0]
        return (
            f"{head}; top: {top['slice']} ({int(top['size']):,} rows, mean {self.loss} "
            f"{top['mean_loss']:.4f} vs {self.overall['mean_loss']:.4f} overall, effect size "
            f"{top['effect_size']:.2f})."
        )

    def overlap(self, data) -> list[list[int]]:
        """Rows shared by each pair of reported slices on ``data`` (a k x k matrix of counts; the
        diagonal holds each slice's rows), computed where the rows live.

        Parameters
        ----------
        data : Dataset or DataFrame
            The data the slices were found on (or other data with the same columns). A lazy
            Dataset is counted by one SQL query (DuckDB or Spark); no row is loaded.

        Returns
        -------
        list of list of int

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from raikit import Dataset
        >>> rng = np.random.default_rng(0)
        >>> frame = pd.DataFrame({"colour": rng.choice(["red", "blue"], 1000),
        ...                       "size": rng.choice(["S", "L"], 1000)})
        >>> frame["y"] = rng.integers(0, 2, 1000)
        >>> bad = (frame["colour"] == "red") | (frame["size"] == "L")
        >>> frame["p"] = np.where(bad & (rng.random(1000) < 0.5), 1 - frame["y"], frame["y"])
        >>> ds = Dataset(frame, target="y", sensitive="colour", prediction="p")
        >>> r = find_slices(None, ds, loss="zero_one", method="sliceline", k=2, max_features=1)
        >>> shared = r.overlap(ds)
        >>> shared[0][1] == int((r.mask(ds, 0) & r.mask(ds, 1)).sum())
        True
        """
        if getattr(data, "is_lazy", False):
            from raikit.evaluate._slices_sql import lazy_overlap

            return lazy_overlap(self, data)
        masks = [self.mask(data, i) for i in range(len(self.slices))]  # k slices
        return [[int(np.count_nonzero(a & b)) for b in masks] for a in masks]

    def mask(self, data, i: int = 0) -> np.ndarray:
        """Boolean membership of each row of ``data`` (Dataset or DataFrame) in slice ``i``."""
        frame = data.frame if hasattr(data, "frame") else data
        if not 0 <= i < len(self.slices):
            raise ParameterError(
                f"SliceResult.mask(): slice index {i} is out of range: this result has "
                f"{len(self.slices)}."
            )
        rows = self.predicates[self.predicates["slice_id"] == i]
        out = np.ones(len(frame), dtype=bool)
        for feature, op, code in zip(rows["feature"], rows["op"], rows["code"], strict=True):
            if feature not in frame.columns:
                raise ColumnError(f"Column {feature!r} used by slice {i} is not in the data.")
            codes = _reencode(self.bins, frame, feature)
            out &= {"==": codes == code, "!=": codes != code, "<=": codes <= code}.get(
                op, codes > code
            )
        return out

    def figures(self) -> list:
        import plotly.graph_objects as go

        s = self.slices
        mean = self.overall.get("mean_loss", float("nan"))
        fig = go.Figure(
            go.Bar(
                x=s["mean_loss"],
                y=[f"{i + 1}. {t}" for i, t in enumerate(s["slice"])],
                orientation="h",
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": (s["upper"] - s["mean_loss"]).to_numpy(),
                    "arrayminus": (s["mean_loss"] - s["lower"]).to_numpy(),
                },
                customdata=np.column_stack([s["size"], s["effect_size"], s["p_value"]])
                if len(s)
                else None,
                hovertemplate="%{y}<br>mean loss %{x:.4f}<br>rows %{customdata[0]:,}"
                "<br>effect size %{customdata[1]:.2f}<br>p %{customdata[2]:.2g}<extra></extra>",
                name="slice",
            )
        )
        fig.add_vline(x=mean, line_dash="dash", annotation_text=f"overall {mean:.3f}")
        fig.update_layout(
            title=f"Mean {self.loss} on the top slices ({self.method}; 95% CI)",
            yaxis={"autorange": "reversed"},
            height=max(300, 28 * len(s) + 140),
            margin={"l": 10, "r": 10, "t": 50, "b": 30},
        )
        size_fig = go.Figure(
            go.Scatter(
                x=s["size"],
                y=s["effect_size"],
                mode="markers+text",
                text=[str(i + 1) for i in range(len(s))],
                textposition="top center",
                marker={"size": 12},
                error_y=None,
                hovertext=s["slice"],
                name="slice",
            )
        )
        size_fig.update_layout(
            title="Slice size vs effect size (one mark per reported slice)",
            xaxis_title="rows in slice",
            yaxis_title="effect size",
            xaxis_type="log",
        )
        return [fig, size_fig]


# --------------------------------------------------------------------------- search drivers
def _describe(items_rows: list[np.ndarray], enc: _Encoded):
    labels = enc.bins["label"].to_numpy()
    feature_of = enc.item_feature
    texts, preds = [], []
    for sid, items in enumerate(items_rows):  # loop over the k reported slices
        items = items[items >= 0]
        texts.append(" & ".join(labels[items]))  # predicates (age in [30, 40)), not a SliceKey
        for it in items:
            f = feature_of[it]
            preds.append((sid, enc.names[f], "==", int(it - enc.offsets[f]), labels[it]))
    return texts, preds


def _sliceline(enc, stats, *, k, max_level, min_size, weight, progress):
    """SliceLine's level-wise top-k over the item statistics ``stats`` (:class:`_RowStats`); with
    frequency weights a slice's size and error are its sums of weights and of weighted losses,
    so ``min_size`` is a sum of weights."""
    n = stats.n
    eavg = stats.t1 / n
    if eavg <= 0:
        return np.empty((0, max_level), np.int64), np.empty((0, 4)), []
    item_feature = enc.item_feature
    base = enc.n_items + 1
    sums = stats.errors

    def score(ss, se):
        with np.errstate(divide="ignore", invalid="ignore"):
            sc = weight * ((se / ss) / eavg - 1) - (1 - weight) * (n / ss - 1)
        return np.nan_to_num(sc, nan=-np.inf)

    def score_ub(ss, se, sm):
        with np.errstate(divide="ignore", invalid="ignore"):
            probes = np.column_stack(
                [np.full(len(ss), float(min_size)), np.maximum(se / sm, min_size), ss]
            )
            probes = np.minimum(probes, ss[:, None])
            err = np.minimum(probes * sm[:, None], se[:, None])
            sc = weight * ((err / probes) / eavg - 1) - (1 - weight) * (n / probes - 1)
        return np.nan_to_num(sc, nan=-np.inf).max(axis=1)

    top_items = np.empty((0, max_level), np.int64)
    top_stats = np.empty((0, 4))  # score, error sum, max error, size

    def merge(items, ss, se, sm):
        nonlocal top_items, top_stats
        sc = score(ss, se)
        ok = (ss >= min_size) & (se > 0) & (sc > 0)
        padded = np.full((int(ok.sum()), max_level), -1, np.int64)
        padded[:, : items.shape[1]] = items[ok]
        all_items = np.vstack([top_items, padded])
        all_stats = np.vstack([top_stats, np.column_stack([sc, se, sm, ss])[ok]])
        ranks = _ranks(all_stats[:, 0])
        order = np.lexsort((_keys(all_items, base + 1), -all_stats[:, 3], -ranks))[:k]
        top_items, top_stats = all_items[order], all_stats[order]

    def threshold():
        return top_stats[-1, 0] if len(top_stats) >= k else 0.0

    levels = []
    items = np.arange(enc.n_items, dtype=np.int64)[:, None]
    ss, se, sm = sums(items)
    levels.append((1, enc.n_items, enc.n_items))
    merge(items, ss, se, sm)
    valid = (ss >= min_size) & (se > 0)
    items, ss, se, sm = items[valid], ss[valid], se[valid], sm[valid]
    if progress:
        progress(1, max_level)
    for level in range(2, max_level + 1):
        if len(items) < 2:
            break
        children, parents = _join(items, item_feature, base)
        generated = len(children)
        ub_ss = ss[parents].min(axis=1)
        ub_se = se[parents].min(axis=1)
        ub_sm = sm[parents].min(axis=1)
        ub = score_ub(ub_ss, ub_se, ub_sm)
        keep = (ub_ss >= min_size) & (ub > threshold()) & (ub > 0)
        children = children[keep]
        ss, se, sm = sums(children)
        levels.append((level, generated, len(children)))
        merge(children, ss, se, sm)
        valid = (ss >= min_size) & (se > 0)
        items, ss, se, sm = children[valid], ss[valid], se[valid], sm[valid]
        if progress:
            progress(level, max_level)
    return top_items, top_stats, levels


def _lattice(enc, stats, *, k, max_level, min_size, effect_size, alpha, fdr, progress):
    """Slice Finder's lattice search over the item statistics ``stats`` (:class:`_RowStats`);
    with frequency weights a slice's size is its sum of weights, its mean and variance those of
    the duplicated rows."""
    n, t1, t2 = stats.n, stats.t1, stats.t2
    item_feature = enc.item_feature
    base = enc.n_items + 1
    investor = _AlphaInvesting(alpha) if fdr == "alpha_investing" else None
    found_items, found_rows, levels = [], [], []
    items = np.arange(enc.n_items, dtype=np.int64)[:, None]
    for level in range(1, max_level + 1):
        generated = len(items)
        size, s1, s2 = stats.moments(items)
        big = (size >= min_size) & (size < n)
        items, size, s1, s2 = items[big], size[big], s1[big], s2[big]
        mean_s, mean_r, var_s, eff, t, p = _welch(size, s1, s2, n, t1, t2)
        candidates = np.flatnonzero(eff >= effect_size)
        candidates = candidates[_descending(eff[candidates])]
        significant = np.zeros(len(items), dtype=bool)
        test_level = np.full(len(items), np.nan)
        if investor is not None:
            for c in candidates:  # alpha-investing is sequential by definition
                if len(found_items) + int(significant.sum()) >= k:
                    break
                significant[c], test_level[c] = investor.test(float(p[c]))
        else:
            share = alpha / max_level  # FDR of the union of levels <= sum of per-level FDRs
            passed = _benjamini_hochberg(p[candidates], share)
            significant[candidates[passed]] = True
            test_level[candidates] = share
        hits = np.flatnonzero(significant)
        hits = hits[_descending(eff[hits])][: k - len(found_items)]
        for h in hits:  # loop over the (at most k) discoveries
            padded = np.full(max_level, -1, np.int64)
            padded[:level] = items[h]
            found_items.append(padded)
            found_rows.append(
                (size[h], mean_s[h], var_s[h], mean_r[h], eff[h], t[h], p[h], test_level[h])
            )
        levels.append((level, generated, len(items), len(candidates), len(hits)))
        if progress:
            progress(level, max_level)
        if len(found_items) >= k or level == max_level:
            break
        expand = ~significant
        items = items[expand]
        items, _ = _join(items, item_feature, base)
    return found_items, found_rows, levels


def _tree(enc, e, *, k, max_level, min_size, effect_size, alpha, fdr, random_state, weights=None):
    """Slice Finder's decision-tree search: the nodes of a regression tree on the loss are the
    candidate slices, tested shallowest first; a slice inside a significant one is not reported.
    Returns the predicates of each reported slice, its statistics and counts per depth."""
    w = np.ones(len(e)) if weights is None else weights
    n, t1, t2 = float(w.sum()), float((w * e).sum()), float((w * e * e).sum())
    X, meta = _tree_design(enc)
    tr = _fit_tree(X, e, max_level, min_size, random_state, weights)
    parent, depth, cond = _tree_paths(tr, meta)
    size = tr.weighted_n_node_samples.astype(float)  # the row count without weights
    mean = tr.value[:, 0, 0]
    s1 = size * mean
    s2 = size * (tr.impurity + mean**2)
    mean_s, mean_r, var_s, eff, t, p = _welch(size, s1, s2, n, t1, t2)
    order = np.lexsort((-eff, depth))
    candidates = [i for i in order if i != 0 and eff[i] >= effect_size and min_size <= size[i] < n]
    significant, test_level = _tree_tests(candidates, p, parent, k=k, alpha=alpha, fdr=fdr)
    hits = [i for i in candidates if significant[i]][:k]
    rows = [
        (size[h], mean_s[h], var_s[h], mean_r[h], eff[h], t[h], p[h], test_level[h]) for h in hits
    ]
    conds = [cond[h] for h in hits]
    levels = [
        (
            d,
            int((depth == d).sum()),
            int((depth == d).sum()),
            sum(depth[c] == d for c in candidates),
            sum(depth[h] == d for h in hits),
        )
        for d in range(1, max_level + 1)
    ]
    return conds, rows, levels


def _tree_design(enc):
    """The tree's input: a numeric feature's bin code as one ordinal column, a categorical
    feature one-hot; ``meta`` holds ``(feature index, code, kind)`` for each column."""
    numeric = [(enc.bins[enc.bins["feature"] == f]["kind"] == "range").any() for f in enc.names]
    columns, meta = [], []
    for f, is_numeric in enumerate(numeric):  # loop over features
        codes = enc.codes[:, f]
        if is_numeric:
            columns.append(codes.astype(float))
            meta.append((f, -1, "ordinal"))
        else:
            onehot = (codes[:, None] == np.arange(enc.sizes[f])[None, :]).astype(float)
            columns.append(onehot)
            meta += [(f, c, "onehot") for c in range(enc.sizes[f])]
    return np.column_stack(columns), meta


def _fit_tree(X, e, max_level, min_size, random_state, weights):
    """The fitted ``tree_`` of a regression tree on the loss, its leaves at least ``min_size``."""
    from sklearn.tree import DecisionTreeRegressor

    if weights is None:
        tree = DecisionTreeRegressor(
            max_depth=max_level, min_samples_leaf=min_size, random_state=random_state
        ).fit(X, e)
    else:  # a leaf holds at least min_size of weight, as a leaf of duplicated rows would
        tree = DecisionTreeRegressor(
            max_depth=max_level,
            min_weight_fraction_leaf=_leaf_fraction(min_size, weights),
            random_state=random_state,
        ).fit(X, e, sample_weight=weights)
    return tree.tree_


def _tree_paths(tr, meta):
    """Parent, depth and the predicates ``(feature, code, op)`` leading to each tree node."""
    n_nodes = tr.node_count
    parent = np.full(n_nodes, -1)
    depth = np.zeros(n_nodes, dtype=int)
    cond: list[list[tuple]] = [[] for _ in range(n_nodes)]
    for node in range(n_nodes):  # loop over tree nodes (at most 2^(max_features+1))
        for child, side in ((tr.children_left[node], "<="), (tr.children_right[node], ">")):
            if child < 0:
                continue
            parent[child], depth[child] = node, depth[node] + 1
            f, code, kind = meta[tr.feature[node]]
            thr = tr.threshold[node]
            if kind == "ordinal":
                step = (math.floor(thr), side)
            else:
                step = (code, "!=" if side == "<=" else "==")
            cond[child] = [*cond[node], (f, *step)]
    return parent, depth, cond


def _tree_tests(candidates, p, parent, *, k, alpha, fdr):
    """Which candidate nodes are significant, and the level each was tested at. A node inside a
    significant ancestor is not tested (alpha-investing) or not kept (Benjamini–Hochberg)."""
    n_nodes = len(p)
    blocked = np.zeros(n_nodes, dtype=bool)
    significant = np.zeros(n_nodes, dtype=bool)
    test_level = np.full(n_nodes, np.nan)
    if fdr == "alpha_investing":
        investor = _AlphaInvesting(alpha)
        for i in candidates:  # sequential test over tree nodes
            if significant.sum() >= k:
                break
            anc = parent[i]
            while anc > 0 and not blocked[i]:
                blocked[i] = significant[anc]
                anc = parent[anc]
            if blocked[i]:
                continue
            significant[i], test_level[i] = investor.test(float(p[i]))
    else:
        idx = np.asarray(candidates, dtype=int)
        passed = _benjamini_hochberg(p[idx], alpha)
        significant[idx[passed]] = True
        test_level[idx] = alpha
        for i in idx[passed]:  # drop refinements of a significant node
            anc = parent[i]
            while anc > 0:
                if significant[anc]:
                    significant[i] = False
                anc = parent[anc]
    return significant, test_level


def _leaf_fraction(min_size: int, weights: np.ndarray) -> float:
    """The largest ``min_weight_fraction_leaf`` whose leaf weight (scikit-learn multiplies it by
    ``np.sum(weights)``) does not exceed ``min_size``; at most 0.5, scikit-learn's bound (the
    tree's candidates are filtered on ``min_size`` again)."""
    total = float(np.sum(weights))
    fraction = min(min_size / total, 0.5)
    while fraction * total > min_size:  # undo a rounding up of the division (one or two steps)
        fraction = float(np.nextafter(fraction, 0.0))
    return fraction


def _tree_describe(conds, enc):
    labels = enc.bins
    texts, preds = [], []
    for sid, steps in enumerate(conds):  # loop over the k reported slices
        parts = []
        for f, code, op in steps:
            name = enc.names[f]
            label = labels[(labels["feature"] == name) & (labels["code"] == code)]["label"].iloc[0]
            if op == "==":
                text = label
            elif op == "!=":
                text = f"not ({label})"
            elif op == "<=":
                text = f"{name} bin <= {code} ({label})"
            else:
                text = f"{name} bin > {code} (beyond {label})"
            parts.append(text)
            preds.append((sid, name, op, int(code), text))
        texts.append(" & ".join(parts))  # predicates (not (...), bin <=), not a SliceKey
    return texts, preds


def _inputs(model, data, target, features):
    from raikit.dataset import Dataset

    if model is not None and not hasattr(model, "predict"):
        raise ParameterError(
            f"find_slices(): model must be a fitted estimator with predict, got {model!r}."
        )
    if isinstance(data, Dataset):
        ds = data if model is None else data.for_model(model)
        names = (
            list(features)
            if features is not None
            else [
                *ds.feature_names,
                *[s for s in ds.sensitive_names if s not in ds.feature_names],
            ]
        )
    elif isinstance(data, pd.DataFrame):
        if target is None or target not in data.columns:
            raise ColumnError(
                f"target={target!r} is not a column of the DataFrame; pass target='column' "
                f"(or a raikit.Dataset)."
            )
        names = list(features) if features is not None else [c for c in data.columns if c != target]
        missing = [c for c in names if c not in data.columns]
        if missing:
            raise ColumnError(f"Feature {missing[0]!r} is not a column of the data.")
        # A stand-in sensitive column lets the Dataset validate the rest; it is never searched.
        frame = data.assign(__all_rows__="all")
        ds = Dataset(frame, target=target, sensitive="__all_rows__")
        if model is not None:
            ds = ds.for_model(model)
    else:
        raise ParameterError(
            f"find_slices(): data must be a raikit.Dataset or a pandas DataFrame, got "
            f"{type(data).__name__}."
        )
    for name in names:
        if name not in ds.columns:
            raise ColumnError(f"Feature {name!r} is not a column of the data.")
    return ds, names


@recorded("evaluate.find_slices")
@validate_params(
    loss=_is_loss,
    method=Options("lattice", "tree", "sliceline"),
    effect_size=Interval(float, 0, None),
    max_features=Interval(int, 1, None),
    min_size=[Interval(int, 2, None), None],
    alpha=ALPHA,
    k=Interval(int, 1, None),
    fdr=Options("alpha_investing", "bh"),
    n_bins=Interval(int, 2, None),
    error_weight=Interval(float, 0, 1, closed="right"),
    ci=CI,
    random_state=RANDOM_STATE,
)
def find_slices(
    model,
    data,
    *,
    loss: str | Callable = "log_loss",
    method: str = "lattice",
    effect_size: float = 0.4,
    max_features: int = 3,
    min_size: int | None = None,
    alpha: float = 0.05,
    k: int = 10,
    fdr: str = "alpha_investing",
    n_bins: int = 10,
    features: Sequence[str] | None = None,
    target: str | None = None,
    error_weight: float = 0.95,
    pos_label=None,
    ci: float = 0.95,
    random_state=None,
    progress: Callable[[int, int], None] | None = None,
    ledger=None,
) -> SliceResult:
    """Find the slices of the data on which a model's loss is worse than on the rest.

    Parameters
    ----------
    model : fitted estimator or None
        The model to debug. With ``None``, the Dataset's ``prediction``/``score`` columns are used.
    data : Dataset or DataFrame
        Labelled data. By default every feature *and* every sensitive column is searched (the point
        is to find groups nobody named); a DataFrame needs ``target=``. The Dataset's weight role
        is honoured by every method as frequency weights: a slice's ``size`` is its sum of
        weights, and so is ``min_size`` (the support a slice needs is counted in weight, so that
        integer weights give exactly the slices of the data with each row repeated that many
        times); its mean loss, variance, effect size and Welch test are those of the duplicated
        rows. SliceLine's score uses the weighted error sum, weighted size and weighted average
        error; the tree is fitted with ``sample_weight`` and its leaves hold at least
        ``min_size`` of weight. Numeric features are still binned at the unweighted quantiles
        of the rows. A lazy Dataset (Parquet/CSV files or a Spark DataFrame, with ``prediction``
        and/or ``score`` roles and ``model=None``) is searched where its rows live: the losses
        are SQL, the bins come from :meth:`raikit.Dataset.quantiles`, and each level's slice
        statistics are one ``GROUP BY GROUPING SETS`` query (per 64 feature sets), so the result
        is the in-memory one. A model, ``method="tree"`` and callable losses need the rows: the
        Dataset loads them (refused above ``raikit.dataset.MATERIALIZE_LIMIT`` rows, with advice
        to sample).
    loss : {"log_loss", "zero_one", "squared_error", "absolute_error"} or callable
        Per-row loss (see :func:`row_losses`).
    method : {"lattice", "tree", "sliceline"}
        Slice Finder's lattice search, its decision-tree search, or SliceLine's exact top-k.
    effect_size : float, default 0.4
        Smallest effect size ``(mean loss in slice - mean loss elsewhere) / sqrt((var_in +
        var_out) / 2)`` for a slice to be tested (lattice and tree).
    max_features : int, default 3
        Most predicates in a slice (lattice level, tree depth).
    min_size : int, optional
        Smallest slice, in rows (in sum of weights with a weight role). Default:
        ``max(30, n // 200)`` with ``n`` the number of rows (the sum of the weights).
    alpha : float, default 0.05
        Significance level; false discoveries are controlled at this level by ``fdr``.
    k : int, default 10
        Most slices reported.
    fdr : {"alpha_investing", "bh"}
        Alpha-investing (Foster & Stine; used by Slice Finder) or Benjamini–Hochberg (lattice: at
        ``alpha / max_features`` per level, so that the union is controlled at ``alpha``).
    n_bins : int, default 10
        Quantile bins per numeric feature (features with at most ``n_bins`` values keep them).
    features : list of str, optional
        Columns to search.
    target : str, optional
        Target column when ``data`` is a DataFrame.
    error_weight : float, default 0.95
        SliceLine's ``alpha`` (named apart from the Dataset's weight role and from significance
        levels): weight of the error term against the size term in its score.
    pos_label : optional
        The positive label, when the loss needs one (a binary score column, or a callable loss on
        a binary model's probabilities; see :func:`row_losses`). Reported in
        ``overall["pos_label"]``.
    ci : float, default 0.95
        Confidence level of the normal interval of each slice's mean loss.
    random_state : int, Generator or None, default None
        Seed of the tree; ``None`` draws a fresh seed, recorded in the ledger.
    progress : callable, optional
        ``progress(level, max_features)`` is called after each level.
    ledger : raikit.ledger.Ledger or path, optional
        Record the result as evidence (inside :func:`raikit.track` it is recorded anyway).

    Returns
    -------
    SliceResult

    Raises
    ------
    ParameterError
        An unknown ``loss``, ``method`` or ``fdr``; ``alpha``, ``ci``, ``error_weight``, ``k``,
        ``max_features``, ``n_bins`` or ``min_size`` out of range.
    ColumnError
        A feature or target that is not a column.
    DataError
        Losses that cannot be computed (no scores for ``log_loss``, missing target values).

    See Also
    --------
    raikit.evaluate.row_losses : the per-row losses it searches.
    raikit.evaluate.evaluate : metrics per sensitive group.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> frame = pd.DataFrame({"colour": rng.choice(["red", "blue"], 2000),
    ...                       "size": rng.choice(["S", "M", "L"], 2000)})
    >>> bad = (frame["colour"] == "red") & (frame["size"] == "L")
    >>> frame["y"] = rng.integers(0, 2, 2000)
    >>> frame["p"] = np.where(bad & (rng.random(2000) < 0.6), 1 - frame["y"], frame["y"])
    >>> from raikit import Dataset
    >>> ds = Dataset(frame, target="y", sensitive="colour", prediction="p")
    >>> r = find_slices(None, ds, loss="zero_one", method="sliceline", k=1)
    >>> r.slices["slice"].iloc[0]
    'size = L & colour = red'
    """
    started = time.perf_counter()
    ds, names = _inputs(model, data, target, features)
    if not names:
        raise DataError("There are no feature columns to search; pass features=[...].")
    from raikit.evaluate import _slices_sql

    lazy = ds.is_lazy and _slices_sql.searchable(model, loss, method)
    if lazy:  # the item statistics are group-by queries where the rows live
        losses = _slices_sql.lazy_losses(ds, loss, pos_label)
        n, positive = losses.n, losses.positive
    else:
        e, positive = _row_losses(model, ds, loss, pos_label)
        weights = ds.weights
        n = len(e) if weights is None else float(weights.sum())
    min_size = _min_size(min_size, n, ds.weight)
    if lazy:
        enc, codes = _slices_sql.lazy_encode(ds, names, n_bins)
    else:
        enc = _encode_features(ds.frame, names, n_bins)
    max_level = min(max_features, len(names))
    if (enc.n_items + 2) ** max_level >= 2**62:
        raise ParameterError(
            f"find_slices(): {enc.n_items} feature values at depth {max_level} are too many to "
            f"search; lower max_features or n_bins, or pass fewer features=."
        )
    if lazy:
        stats = _slices_sql.TableStats(ds, enc, codes, losses)
    else:
        stats = _RowStats(enc, e, weights)
    search = {"k": k, "max_level": max_level, "min_size": min_size}
    with stats:  # a lazy table's encoded rows are dropped at the end
        if method == "sliceline":
            found, scores, texts, preds, levels = _run_sliceline(
                enc, stats, search, error_weight, progress
            )
        else:
            tests = {"effect_size": effect_size, "alpha": alpha, "fdr": fdr}
            found, scores, texts, preds, levels = _run_finder(
                method, enc, stats, search | tests, random_state, progress
            )
    loss_name = loss if isinstance(loss, str) else getattr(loss, "__name__", "custom loss")
    table = _slice_table(found, scores, texts, preds, z_value(ci))
    overall = _overall(
        stats,
        ds,
        min_size=int(min_size),
        max_features=max_level,
        effect_size=effect_size,
        alpha=alpha,
        fdr=fdr,
        k=int(k),
        n_bins=n_bins,
        error_weight=error_weight,
        features=names,
        pos_label=positive,
        ci=float(ci),
        seconds=time.perf_counter() - started,
    )
    return SliceResult(
        slices=table,
        predicates=pd.DataFrame(preds, columns=["slice_id", "feature", "op", "code", "label"]),
        bins=enc.bins,
        levels=levels,
        method=method,
        loss=loss_name,
        overall=overall,
        findings=tuple(_slice_findings(table, loss_name, method, overall)),
    )


def _min_size(min_size, n: float, weight: str | None) -> int:
    """The smallest slice reported: as given, or 0.5% of the rows (at least 30); below ``n``."""
    if min_size is None:
        min_size = max(30, int(n) // 200)
        if min_size >= n:  # weights that sum to less than 30 are not frequencies
            raise ParameterError(
                f"find_slices(): the weights ({weight!r}) sum to {n:g}, below the default "
                f"min_size of {min_size}. Weights are read as frequency weights (a row of weight "
                f"2 counts as two rows): scale them to counts, or pass min_size= in units of "
                f"weight."
            )
    if min_size >= n:
        raise ParameterError(
            f"find_slices(): min_size must be below the number of rows ({n:g}, the sum of the "
            f"weights with a weight role); got {min_size}."
        )
    return min_size


def _overall(stats, ds, **settings) -> dict:
    """``SliceResult.overall``: the data's rows and mean loss, then the search's settings."""
    return {
        "n_rows": stats.n_rows,
        "mean_loss": stats.mean_loss,
        "weight_column": ds.weight,
        **settings,
    }


def _run_sliceline(enc, stats, search, weight, progress):
    """SliceLine's top-k, with the Welch statistics of each reported slice."""
    max_level = search["max_level"]
    items, top, levels = _sliceline(enc, stats, weight=weight, progress=progress, **search)
    size, s1, scores = top[:, 3], top[:, 1], top[:, 0]
    # second moments of the k reported slices, for their t-tests
    s2 = np.zeros(len(items))
    for width in range(1, max_level + 1):  # loop over slice widths (at most max_features)
        rows = np.flatnonzero((items >= 0).sum(axis=1) == width)
        if len(rows):
            s2[rows] = stats.squares(items[rows, :width])
    mean_s, mean_r, var_s, eff, t, p = _welch(size, s1, s2, stats.n, stats.t1, stats.t2)
    found = list(zip(size, mean_s, var_s, mean_r, eff, t, p, np.full(len(p), np.nan), strict=True))
    texts, preds = _describe(list(items), enc)
    levels = pd.DataFrame(levels, columns=["level", "generated", "evaluated"])
    return found, scores, texts, preds, levels


def _run_finder(method, enc, stats, options, random_state, progress):
    """Slice Finder's lattice or tree search (significant slices; no SliceLine score)."""
    if method == "lattice":
        items, found, levels = _lattice(enc, stats, progress=progress, **options)
        texts, preds = _describe(items, enc)
    else:  # the tree needs the rows (a lazy table has loaded them)
        # scikit-learn's tree takes an integer seed (an int is used as given)
        seed = (
            random_state
            if isinstance(random_state, int)
            else int(rng_from(random_state).integers(2**31))
        )
        conds, found, levels = _tree(
            enc, stats.e, random_state=seed, weights=stats.weights, **options
        )
        if progress:
            progress(options["max_level"], options["max_level"])
        texts, preds = _tree_describe(conds, enc)
    levels = pd.DataFrame(levels, columns=["level", "generated", "evaluated", "tested", "found"])
    return found, np.full(len(found), np.nan), texts, preds, levels


def _slice_table(found, scores, texts, preds, z: float) -> pd.DataFrame:
    """One row per reported slice, with the normal interval of its mean loss."""
    columns = [
        "size",
        "mean_loss",
        "var",
        "rest_mean_loss",
        "effect_size",
        "t_statistic",
        "p_value",
        "test_level",
    ]
    table = pd.DataFrame(found, columns=columns).astype(float)
    half = z * np.sqrt(table["var"] / table["size"])
    table.insert(0, "slice", texts)
    # counted from the predicates themselves: a value's text may hold " & " (e.g. "R & D")
    owners = np.asarray([p[0] for p in preds], dtype=np.int64)
    table.insert(1, "n_predicates", np.bincount(owners, minlength=len(texts)).astype("int64"))
    table.insert(4, "lower", table["mean_loss"] - half)
    table.insert(5, "upper", table["mean_loss"] + half)
    if (table["size"] == table["size"].round()).all():  # sums of fractional weights stay floats
        table["size"] = table["size"].astype("int64")
    table["score"] = np.asarray(scores, dtype=float)
    return table.drop(columns="var")


def _slice_findings(table: pd.DataFrame, loss_name: str, method: str, overall: dict) -> list:
    findings = []
    for row in table.itertuples(index=False):  # one finding per reported slice (at most k)
        findings.append(
            Finding(
                "warning",
                f"Model underperforms on {row.slice}",
                f"{row.size:,} rows: mean {loss_name} {row.mean_loss:.4f} vs "
                f"{row.rest_mean_loss:.4f} elsewhere (effect size {row.effect_size:.2f}, "
                f"Welch p = {row.p_value:.2g}).",
                slice=row.slice,
            )
        )
    if not findings:
        findings.append(
            Finding(
                "info",
                "No problematic slice found",
                f"No slice of at least {overall['min_size']} rows and up to "
                f"{overall['max_features']} predicates "
                + (
                    "scored above zero."
                    if method == "sliceline"
                    else f"reached effect size {overall['effect_size']} with significance at "
                    f"alpha={overall['alpha']}."
                ),
            )
        )
    return findings


def join_predicates(texts) -> str:
    """A slice's description from its conditions' texts, ``"age >= 30 & sex = F"``.

    Examples
    --------
    >>> join_predicates(["age >= 30", "sex = F"])
    'age >= 30 & sex = F'
    """
    return " & ".join(texts)  # predicates (conditions on features), not a SliceKey
