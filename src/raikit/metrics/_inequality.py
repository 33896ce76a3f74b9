"""Inequality and individual-fairness metrics: average odds difference, the benefit-based
generalized entropy indices with their between- and within-group decomposition (Speicher et al.,
2018), and consistency (Zemel et al., 2013), each equal to AIF360's value on the same predictions.

Benefit indices
---------------
Every row gets the benefit ``b_i = y_pred_i - y_true_i + 1`` (labels coded 0/1 with the positive
label as 1): 0 for a false negative, 1 for a correct decision, 2 for a false positive. The
generalized entropy index of order ``a`` over benefits with mean ``mu`` is

    GE(a) = 1 / (n a (a - 1)) * sum_i ((b_i / mu)^a - 1)     a not 0 or 1
    GE(1) = 1 / n * sum_i (b_i / mu) ln(b_i / mu)            the Theil index (0 ln 0 = 0)
    GE(0) = -1 / n * sum_i ln(b_i / mu)                      the mean log deviation

(AIF360's ``generalized_entropy_index``; ``order`` is AIF360's ``alpha``, renamed because raikit
keeps ``alpha`` for significance levels). One difference: for order 0 AIF360's code divides the
mean log deviation by ``mu`` as well, unlike its documented formula; raikit computes the formula
(so that the decomposition below holds). Both are infinite as soon as one row is a false
negative, the usual case. It decomposes exactly into a between-group part, the
index with every row's benefit replaced by its group's mean, and a within-group part,
``sum_g (n_g / n) (mu_g / mu)^a GE_g(a)``.

Since a benefit is 0, 1 or 2, every index is a function of a table of (group, benefit) counts;
the bootstrap draws that small table (a Bayesian bootstrap: ``Gamma(count)`` per cell, with the
Jeffreys prior of the confusion table, 1/2 on the false-negative and false-positive cells and 1 on
the correct cell), so its cost grows with groups x replicates, never rows x replicates. As in the
metrics engine (:mod:`raikit.metrics._engine`), the reported interval is the union of the
percentile intervals with and without the prior, widened to contain the estimate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from numbers import Real

import numpy as np
import pandas as pd

from raikit._errors import DataError, ParameterError
from raikit._recording import recorded
from raikit._result import Finding, Result
from raikit._validation import CI, RANDOM_STATE, Interval, rng_from, validate_params
from raikit.metrics import _engine as engine
from raikit.metrics._stats import PRIOR, abs_max_bounds, contain, percentile_bounds, verdict

__all__ = [
    "InequalityResult",
    "average_odds_difference",
    "between_group_generalized_entropy_index",
    "between_group_theil_index",
    "consistency",
    "generalized_entropy_index",
    "inequality_metrics",
    "theil_index",
    "within_group_generalized_entropy_index",
    "within_group_theil_index",
]


class _Order:
    """A finite real number (0: mean log deviation, 1: Theil index, 2: half the squared
    coefficient of variation)."""

    def accepts(self, value) -> bool:
        return (
            isinstance(value, Real)
            and not isinstance(value, bool | np.bool_)
            and bool(np.isfinite(value))
        )

    def describe(self) -> str:
        return "a finite number (e.g. 0, 1 or 2)"


ORDER = _Order()
N_NEIGHBORS = Interval(int, 1, None)
CELL_PRIOR = np.array(
    [PRIOR, 2 * PRIOR, PRIOR]
)  # FN | TP + TN | FP cells of the 2x2 Jeffreys prior
TOLERANCE = 0.1  # the fairness criteria's default tolerance, for the average odds finding


# --------------------------------------------------------------------------- inputs
@dataclass(frozen=True, eq=False)
class _Labelled:
    """Binary labels coded 0/1 (positive 1), the groups they fall in and the row weights."""

    y: np.ndarray
    p: np.ndarray
    weights: np.ndarray | None
    codes: np.ndarray
    n_groups: int
    slices: engine.Slices
    pos_label: object


def _binary(y_true, y_pred, sensitive_features, sample_weight, pos_label, caller) -> _Labelled:
    from raikit.metrics._group_metrics import _as_1d, _encode_labels, _label_list, _prepare

    if sensitive_features is None:  # one group: the indices over the whole population
        sensitive_features = np.zeros(len(_as_1d(y_true, "y_true")), dtype=np.int64)
    data = _prepare(y_true, y_pred, sensitive_features, None, sample_weight, None)
    y, p, classes = _encode_labels(data.y_true, data.y_pred, pos_label, "binary")
    if len(classes) > 2:
        raise DataError(
            f"{caller}() needs binary labels, but y_true and y_pred hold "
            f"{len(classes)} labels ({_label_list(classes)[:10]}). Binarise them first, e.g. "
            f"y_true == positive_label."
        )
    return _Labelled(
        y,
        p,
        data.weights,
        data.codes,
        data.n_groups,
        data.slices,
        _label_list(classes)[-1],
    )


def _benefit_cells(data: _Labelled) -> tuple[np.ndarray, np.ndarray | None]:
    """Weighted counts per (intersection group, benefit 0/1/2), and their squared weights."""
    index = data.codes * 3 + (data.p - data.y + 1)
    size = data.n_groups * 3
    if data.weights is None:
        return np.bincount(index, minlength=size).reshape(-1, 3).astype(float), None
    counts = np.bincount(index, weights=data.weights, minlength=size).reshape(-1, 3)
    squares = np.bincount(index, weights=data.weights**2, minlength=size).reshape(-1, 3)
    return counts, squares


# --------------------------------------------------------------------------- the indices
_BENEFIT = np.array([0.0, 1.0, 2.0])


def _shape_function(x: np.ndarray, order: float) -> np.ndarray:
    """``f(x)`` whose mean over rows is the index: ``(x^a - 1) / (a (a - 1))``, ``x ln x``, ``-ln x``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if order == 1:
            return np.where(x > 0, x * np.log(np.where(x > 0, x, 1.0)), 0.0)
        if order == 0:
            return -np.log(x)
        return (x**order - 1) / (order * (order - 1))


def _index(cells: np.ndarray, order: float) -> np.ndarray:
    """GE(order) of benefit tables ``cells`` (..., 3); NaN where the mean benefit is 0."""
    total = cells.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        mu = (cells @ _BENEFIT) / total
        ratio = _BENEFIT / mu[..., None]
        terms = _shape_function(ratio, order)
        terms = np.where(cells > 0, terms, 0.0)  # an empty cell adds nothing (inf * 0)
        value = (cells * terms).sum(axis=-1) / total
    return np.where((mu > 0) & (total > 0), value, np.nan)


def _decomposition(cells: np.ndarray, order: float) -> tuple[np.ndarray, np.ndarray]:
    """Between- and within-group GE(order) of group benefit tables ``cells`` (..., groups, 3)."""
    n_g = cells.sum(axis=-1)
    n = n_g.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        mu_g = (cells @ _BENEFIT) / n_g
        mu = (cells @ _BENEFIT).sum(axis=-1) / n
        ratio = mu_g / mu[..., None]
        between_terms = np.where(n_g > 0, _shape_function(ratio, order), 0.0)
        between = (n_g * between_terms).sum(axis=-1) / n
        share = np.where(n_g > 0, n_g / n[..., None] * ratio**order, 0.0)
        within_g = _index(cells, order)
        # a group whose benefits are all 0 has share 0 (order > 0): it adds nothing
        within = np.where(share > 0, share * within_g, np.where(share == 0, 0.0, np.nan))
        within = within.sum(axis=-1)
    ok = (mu > 0) & (n > 0)
    return np.where(ok, between, np.nan), np.where(ok, within, np.nan)


# --------------------------------------------------------------------------- one-number functions
_DOC_ARGS = """
    Parameters
    ----------
    y_true, y_pred : array-like
        True and predicted binary labels, one per row.{groups}
    order : float, default {order}
        The index's parameter (AIF360's ``alpha``): 0 the mean log deviation, 1 the Theil index,
        2 half the squared coefficient of variation; larger values weigh the rows with the most
        benefit more. With order <= 0 a false negative (benefit 0) makes the index infinite.
        Order 0 is the textbook mean log deviation (AIF360's code divides it by the mean
        benefit too); every other order is AIF360's value.
    pos_label : optional
        The positive label; inferred only for 0/1, False/True and -1/1.
    sample_weight : array-like, optional
        Row weights: every mean (the benefits', the groups') is weighted. Without weights the
        value is AIF360's.

    Returns
    -------
    float
        NaN when the mean benefit is 0 (every row a false negative).
"""

_GROUPS = """
    sensitive_features : array-like, Series, DataFrame or dict
        Values of the protected attribute(s); several are taken as their intersection."""


def _family(data: _Labelled) -> np.ndarray:
    """Slice rows of the finest family: the one attribute, or the intersection of several."""
    return list(data.slices.families.values())[-1]


def _group_cells(data: _Labelled) -> np.ndarray:
    cells, _ = _benefit_cells(data)
    return data.slices.aggregate(cells)


@validate_params(order=ORDER)
def generalized_entropy_index(
    y_true, y_pred, *, order: float = 2, pos_label=None, sample_weight=None
) -> float:
    """Generalized entropy index of the benefits ``b = y_pred - y_true + 1`` (Speicher et al.).

    Inequality of the benefit a classifier gives individuals: 0 when every row gets the same
    benefit. AIF360's ``ClassificationMetric.generalized_entropy_index(alpha=order)``.
    {args}
    See Also
    --------
    raikit.metrics.theil_index : the index of order 1.
    raikit.metrics.inequality_metrics : every index with intervals.

    Examples
    --------
    >>> y_true, y_pred = [1, 1, 0, 0, 1, 0], [1, 0, 0, 1, 1, 0]
    >>> round(generalized_entropy_index(y_true, y_pred), 6)
    0.166667
    >>> round(generalized_entropy_index(y_true, y_pred, order=1), 6)
    0.231049
    """
    data = _binary(y_true, y_pred, None, sample_weight, pos_label, "generalized_entropy_index")
    return float(_index(_group_cells(data)[0], float(order)))


def theil_index(y_true, y_pred, *, pos_label=None, sample_weight=None) -> float:
    """Theil index of the benefits: :func:`generalized_entropy_index` with ``order=1``.

    AIF360's ``ClassificationMetric.theil_index()``.

    Parameters
    ----------
    y_true, y_pred, pos_label, sample_weight
        As :func:`generalized_entropy_index`.

    Returns
    -------
    float
        The index (0 when every benefit is equal).

    See Also
    --------
    between_group_theil_index, within_group_theil_index : its two parts.

    Examples
    --------
    >>> round(theil_index([1, 1, 0, 0, 1, 0], [1, 0, 0, 1, 1, 0]), 6)
    0.231049
    """
    return generalized_entropy_index(
        y_true, y_pred, order=1, pos_label=pos_label, sample_weight=sample_weight
    )


@validate_params(order=ORDER)
def _parts(y_true, y_pred, sensitive_features, sample_weight, pos_label, order, caller):
    """The between- and within-group parts of the generalized entropy index of ``order``."""
    data = _binary(y_true, y_pred, sensitive_features, sample_weight, pos_label, caller)
    between, within = _decomposition(_group_cells(data)[_family(data)], float(order))[:2]
    return float(between), float(within)


def between_group_generalized_entropy_index(
    y_true, y_pred, *, sensitive_features, order: float = 2, pos_label=None, sample_weight=None
) -> float:
    """Between-group generalized entropy index: every benefit replaced by its group's mean.

    The group-fairness part of :func:`generalized_entropy_index`; with
    :func:`within_group_generalized_entropy_index` it adds up to the whole index. The groups are
    every value of the attribute (every observed combination of several), as AIF360's
    ``between_group_generalized_entropy_error(prot_attr=...)``; with two groups it equals
    ``ClassificationMetric.between_group_generalized_entropy_index``.
    {args}
    See Also
    --------
    raikit.metrics.generalized_entropy_index : the whole index.
    raikit.metrics.within_group_generalized_entropy_index : the other part.

    Examples
    --------
    >>> y_true, y_pred = [1, 1, 0, 0, 1, 0], [1, 0, 0, 1, 1, 0]
    >>> group = ["a", "a", "a", "b", "b", "b"]
    >>> round(between_group_generalized_entropy_index(y_true, y_pred,
    ...                                               sensitive_features=group), 6)
    0.055556
    """
    parts = _parts(
        y_true,
        y_pred,
        sensitive_features,
        sample_weight,
        pos_label,
        order,
        "between_group_generalized_entropy_index",
    )
    return parts[0]


@validate_params(order=ORDER)
def within_group_generalized_entropy_index(
    y_true, y_pred, *, sensitive_features, order: float = 2, pos_label=None, sample_weight=None
) -> float:
    """Within-group generalized entropy index: ``sum_g (n_g / n) (mu_g / mu)^order GE_g``.

    The individual-fairness part of :func:`generalized_entropy_index` left once the groups'
    mean benefits are equalised; the whole index minus
    :func:`between_group_generalized_entropy_index`.
    {args}
    See Also
    --------
    raikit.metrics.generalized_entropy_index : the whole index.
    raikit.metrics.between_group_generalized_entropy_index : the other part.

    Examples
    --------
    >>> y_true, y_pred = [1, 1, 0, 0, 1, 0], [1, 0, 0, 1, 1, 0]
    >>> group = ["a", "a", "a", "b", "b", "b"]
    >>> round(within_group_generalized_entropy_index(y_true, y_pred,
    ...                                              sensitive_features=group), 6)
    0.111111
    """
    parts = _parts(
        y_true,
        y_pred,
        sensitive_features,
        sample_weight,
        pos_label,
        order,
        "within_group_generalized_entropy_index",
    )
    return parts[1]


def between_group_theil_index(
    y_true, y_pred, *, sensitive_features, pos_label=None, sample_weight=None
) -> float:
    """Between-group Theil index: :func:`between_group_generalized_entropy_index` with order 1.

    AIF360's ``ClassificationMetric.between_group_theil_index()`` (two groups).

    Parameters
    ----------
    y_true, y_pred, sensitive_features, pos_label, sample_weight
        As :func:`between_group_generalized_entropy_index`.

    Returns
    -------
    float
        The between-group part of the Theil index.

    See Also
    --------
    theil_index : the whole index.

    Examples
    --------
    >>> round(between_group_theil_index([1, 1, 0, 0, 1, 0], [1, 0, 0, 1, 1, 0],
    ...                                 sensitive_features=["a", "a", "a", "b", "b", "b"]), 6)
    0.056633
    """
    return between_group_generalized_entropy_index(
        y_true,
        y_pred,
        sensitive_features=sensitive_features,
        order=1,
        pos_label=pos_label,
        sample_weight=sample_weight,
    )


def within_group_theil_index(
    y_true, y_pred, *, sensitive_features, pos_label=None, sample_weight=None
) -> float:
    """Within-group Theil index: :func:`within_group_generalized_entropy_index` with order 1.

    Parameters
    ----------
    y_true, y_pred, sensitive_features, pos_label, sample_weight
        As :func:`within_group_generalized_entropy_index`.

    Returns
    -------
    float
        The within-group part of the Theil index.

    See Also
    --------
    theil_index : the whole index.

    Examples
    --------
    >>> round(within_group_theil_index([1, 1, 0, 0, 1, 0], [1, 0, 0, 1, 1, 0],
    ...                                sensitive_features=["a", "a", "a", "b", "b", "b"]), 6)
    0.174416
    """
    return within_group_generalized_entropy_index(
        y_true,
        y_pred,
        sensitive_features=sensitive_features,
        order=1,
        pos_label=pos_label,
        sample_weight=sample_weight,
    )


for _f in (
    generalized_entropy_index,
    between_group_generalized_entropy_index,
    within_group_generalized_entropy_index,
):
    _f.__doc__ = _f.__doc__.replace(
        "{args}",
        _DOC_ARGS.format(
            groups="" if _f is generalized_entropy_index else _GROUPS, order=2
        ).rstrip()
        + "\n",
    )
    if hasattr(_f, "__wrapped__"):
        _f.__wrapped__.__doc__ = _f.__doc__


# --------------------------------------------------------------------------- average odds
def _family_names(data: _Labelled, name: str) -> list[str]:
    """The attributes a family's groups are keyed by: one, or all of them for the intersection."""
    names = list(data.slices.encoding.names)
    return [name] if name in names else names


def _privileged_row(
    data: _Labelled, name: str, family: np.ndarray, privileged, caller="average_odds_difference"
) -> int:
    """The slice row of the privileged group in the family ``name``, or a ParameterError."""
    from raikit._grouping import SliceKey

    names = _family_names(data, name)
    if isinstance(privileged, dict):
        if sorted(privileged) != sorted(names):
            raise ParameterError(
                f"{caller}(): privileged must give one value for each of the "
                f"sensitive attributes {names}, got the keys {list(privileged)}."
            )
        values = [privileged[n] for n in names]
    else:
        values = list(privileged) if isinstance(privileged, tuple) else [privileged]
    if len(values) != len(names):
        example = ", ".join(f"{n!r}: ..." for n in names)
        raise ParameterError(
            f"{caller}(): there are {len(names)} sensitive attributes {names}, "
            f"so privileged must name a value of each: privileged={{{example}}}."
        )
    wanted = SliceKey(
        zip(names, [v.item() if hasattr(v, "item") else v for v in values], strict=True)
    )
    keys = data.slices.keys
    for row in family:  # the family's groups, a handful
        if keys[row] == wanted:
            return int(row)
    groups = [data.slices.group[r] for r in family]
    raise ParameterError(
        f"{caller}(): privileged {privileged!r} is not one of the groups of "
        f"{name} {groups[:20]}; pass one of them."
    )


def _odds_parts(counts: np.ndarray) -> np.ndarray:
    """``(TPR + FPR) / 2`` of confusion tables ``tn, fp, fn, tp`` (..., 4)."""
    tn, fp, fn, tp = np.moveaxis(counts, -1, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (tp / (tp + fn) + fp / (fp + tn)) / 2


def average_odds_difference(
    y_true,
    y_pred,
    *,
    sensitive_features,
    privileged=None,
    pos_label=None,
    sample_weight=None,
) -> float:
    """Average of the FPR difference and the TPR difference between groups (AIF360's).

    With ``privileged`` given, AIF360's signed value
    ``((FPR_u - FPR_p) + (TPR_u - TPR_p)) / 2``, the unprivileged group ``u`` being every row
    outside the privileged group (as AIF360's ``average_odds_difference(priv_group=...)``):
    negative when the unprivileged rows get fewer positive decisions at equal truth. Without it,
    the largest such value over every ordered pair of groups, ``(max_g m_g - min_g m_g)``
    with ``m_g = (TPR_g + FPR_g) / 2``: never negative, equal to AIF360's absolute value for two
    groups, and defined for any number of groups. Several attributes are taken as their
    intersection.

    Parameters
    ----------
    y_true, y_pred : array-like
        True and predicted binary labels.
    sensitive_features : array-like, Series, DataFrame or dict
        Values of the protected attribute(s).
    privileged : optional
        The privileged group: a value of the attribute, or with several attributes a dict
        ``{attribute: value}`` (or a tuple in the attributes' order).
    pos_label : optional
        The positive label; inferred only for 0/1, False/True and -1/1.
    sample_weight : array-like, optional
        Row weights.

    Returns
    -------
    float
        NaN when a compared group has no positive or no negative rows (a rate is undefined).

    Raises
    ------
    ParameterError
        ``privileged`` is not one of the groups, or does not name a value of every attribute.

    See Also
    --------
    raikit.metrics.equalized_odds_difference : the larger of the two gaps instead of their mean.

    Examples
    --------
    >>> y_true = [1, 1, 0, 0, 1, 1, 0, 0]
    >>> y_pred = [1, 1, 1, 0, 1, 0, 0, 0]
    >>> sex = ["m", "m", "m", "m", "f", "f", "f", "f"]
    >>> average_odds_difference(y_true, y_pred, sensitive_features=sex, privileged="m")
    -0.5
    >>> average_odds_difference(y_true, y_pred, sensitive_features=sex)
    0.5
    """
    data = _binary(
        y_true, y_pred, sensitive_features, sample_weight, pos_label, "average_odds_difference"
    )
    counts, _ = engine.confusion_counts(
        data.codes, data.y, data.p, data.n_groups, weights=data.weights
    )
    counts = data.slices.aggregate(counts)
    name, family = list(data.slices.families.items())[-1]
    if privileged is None:
        return float(_largest_pairwise(_odds_parts(counts[family])))
    return float(_privileged_odds(counts, family, _privileged_row(data, name, family, privileged)))


def _largest_pairwise(parts: np.ndarray) -> np.ndarray:
    """``max_g - min_g`` over the group axis (-1), NaN groups skipped."""
    return np.fmax.reduce(parts, axis=-1, initial=np.nan) - np.fmin.reduce(
        parts, axis=-1, initial=np.nan
    )


def _privileged_odds(counts: np.ndarray, family: np.ndarray, row: int) -> np.ndarray:
    """AIF360's signed value: every other group of the family pooled, minus the privileged one.

    ``counts`` holds confusion tables per slice on axis -2 (replicates may lead).
    """
    privileged = counts[..., row, :]
    rest = counts[..., family, :].sum(axis=-2) - privileged
    return _odds_parts(rest) - _odds_parts(privileged)


# --------------------------------------------------------------------------- consistency
def _features(X, n_rows: int) -> np.ndarray:
    if type(X).__module__.startswith("polars"):
        X = X.to_pandas()
    if isinstance(X, pd.DataFrame):
        bad = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
        if bad:
            raise DataError(
                f"consistency(): X has non-numeric column(s) {[str(c) for c in bad][:10]}; "
                f"encode them first (e.g. pd.get_dummies(X)), since neighbours are found by "
                f"Euclidean distance."
            )
        X = X.to_numpy(dtype=float)
    try:
        X = np.asarray(X, dtype=float)
    except (TypeError, ValueError) as error:
        raise DataError(
            "consistency(): X must hold numbers (one row per prediction, one column per feature)."
        ) from error
    if X.ndim == 1:
        X = X.reshape(-1, 1)
    if X.ndim != 2:
        raise DataError(f"consistency(): X must be 2-D (rows x features), got shape {X.shape}.")
    if X.shape[0] != n_rows:
        raise DataError(
            f"consistency(): X has {X.shape[0]} rows but y_pred has {n_rows}; one prediction "
            f"per row of X."
        )
    bad = ~np.isfinite(X).all(axis=1)
    if bad.any():
        raise DataError(
            f"consistency(): X has {int(bad.sum())} row(s) with missing or infinite values "
            f"(first at row {int(np.argmax(bad))}); impute or drop them first."
        )
    return X


def _consistency_inputs(X, y_pred, n_neighbors: int, pos_label) -> tuple[np.ndarray, np.ndarray]:
    """The features as a float matrix and the predictions coded 0/1, checked against each other."""
    from raikit.metrics._group_metrics import _as_1d

    p = _as_1d(y_pred, "y_pred")
    if len(p) == 0:
        raise DataError("consistency(): y_pred is empty; it needs at least one row.")
    data = _binary(p, p, None, None, pos_label, "consistency")
    X = _features(X, len(p))
    if n_neighbors > len(p):
        raise ParameterError(
            f"consistency(): n_neighbors must be at most the number of rows ({len(p)}), got "
            f"{n_neighbors}."
        )
    return X, data.p.astype(float)


def _neighbour_graph(X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray | None]:
    """AIF360's ``k`` neighbours of every row and the next nearest (None when ``k`` = rows).

    One ball-tree query of ``k + 1`` neighbours serves both: its first ``k`` are the set of the
    ``k``-query unless the ``k``-th and ``(k + 1)``-th distances tie, and only those rows are
    queried again with ``k`` (a query row's answer does not depend on the other query rows).
    """
    from sklearn.neighbors import NearestNeighbors

    n = len(X)
    tree = NearestNeighbors(n_neighbors=k, algorithm="ball_tree").fit(X)
    if k + 1 > n:
        return tree.kneighbors(X, return_distance=False), None
    distance, wide = tree.kneighbors(X, n_neighbors=k + 1)
    near, following = wide[:, :k].copy(), wide[:, k].copy()
    tied = np.flatnonzero(distance[:, k - 1] == distance[:, k])
    if tied.size:
        near[tied] = tree.kneighbors(X[tied], n_neighbors=k, return_distance=False)
        # the next nearest is the one of the k + 1 that AIF360's k left out, where it is one
        outside = ~(wide[tied][:, :, None] == near[tied][:, None, :]).any(axis=-1)
        single = outside.sum(axis=1) == 1
        following[tied[single]] = wide[tied[single]][outside[single]]
    return near, following


def _consistency_terms(near: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per row ``|y_i - mean of y over its nearest rows (itself included)|``."""
    return np.abs(y - y[near].mean(axis=1))


def _consistency_influence(near: np.ndarray, following, y: np.ndarray) -> np.ndarray:
    """Jackknife influence of each row on consistency, the neighbour graph recomputed.

    Leaving row ``j`` out removes its own term and, in every neighbourhood that holds it, puts
    the next nearest row (``following``) in its place (vectorised, no loop over rows). Returns
    ``(n - 1) (C_(.) - C_(-j))``, whose mean square over ``n (n - 1)`` is the jackknife
    variance.
    """
    n, k = near.shape
    if n < 2:
        return np.zeros(n)
    total = y[near].sum(axis=1)
    terms = np.abs(y - total / k)
    if following is not None:  # the next nearest row takes the place of the one left out
        alternative = np.abs(y[:, None] - (total[:, None] - y[near] + y[following, None]) / k)
    elif k > 1:  # every row is a neighbour already: the neighbourhood shrinks by one
        alternative = np.abs(y[:, None] - (total[:, None] - y[near]) / (k - 1))
    else:
        alternative = np.repeat(terms[:, None], k, axis=1)
    change = alternative - terms[:, None]
    change[near == np.arange(n)[:, None]] = 0.0  # a row left out loses its own term instead
    moved = np.bincount(near.ravel(), weights=change.ravel(), minlength=n)
    left_out = 1 - (terms.sum() - terms + moved) / (n - 1)
    return (n - 1) * (left_out.mean() - left_out)


@validate_params(n_neighbors=N_NEIGHBORS)
def consistency(X, y_pred, *, n_neighbors: int = 5, pos_label=None) -> float:
    """Consistency of predictions between similar rows (individual fairness, Zemel et al. 2013).

    ``1 - mean_i |y_pred_i - mean of y_pred over the n_neighbors nearest rows of x_i|``: 1 when
    every row gets the decision of its neighbours. AIF360's convention exactly: neighbours by
    Euclidean distance on the features as given (not standardised: scale them first if their
    units differ), found with a ball tree, and a row counts among its own ``n_neighbors``.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_rows, n_features)
        Numeric features (encode categorical columns first).
    y_pred : array-like
        Predicted binary labels, one per row of ``X``.
    n_neighbors : int, default 5
        Neighbours per row, the row itself included.
    pos_label : optional
        The positive label; inferred only for 0/1, False/True and -1/1.

    Returns
    -------
    float

    See Also
    --------
    raikit.metrics.inequality_metrics : computes it with the inequality indices.

    Examples
    --------
    >>> X = [[0.0], [0.1], [0.2], [5.0], [5.1], [5.2]]
    >>> consistency(X, [1, 1, 1, 0, 0, 0], n_neighbors=3)
    1.0
    >>> round(consistency(X, [1, 0, 1, 0, 0, 0], n_neighbors=3), 6)
    0.777778
    """
    from sklearn.neighbors import NearestNeighbors

    X, y = _consistency_inputs(X, y_pred, n_neighbors, pos_label)
    # AIF360's call exactly: a ball tree on the features as given, queried with the same rows
    tree = NearestNeighbors(n_neighbors=n_neighbors, algorithm="ball_tree").fit(X)
    near = tree.kneighbors(X, return_distance=False)
    return float(1 - _consistency_terms(near, y).mean())


# --------------------------------------------------------------------------- the result
@dataclass(frozen=True, eq=False)
class InequalityResult(Result):
    """Inequality and individual-fairness metrics with bootstrap confidence intervals.

    Attributes
    ----------
    table : DataFrame
        Tidy: one row per (metric, attribute) with ``value``, ``lower``, ``upper``. The overall
        indices and consistency have attribute ``"overall"``; the between- and within-group
        indices and the average odds difference have one row per sensitive attribute (and their
        intersection when there are several).
    order : float
        Order of the generalized entropy rows.
    ci : float or None
        Confidence level (``None``: no intervals).
    n_boot : int
        Bootstrap replicates.
    findings : tuple of Finding
    meta : dict
        Rows, positive label, privileged group, neighbours and seed.

    See Also
    --------
    inequality_metrics : computes it.

    Examples
    --------
    >>> from raikit.metrics import inequality_metrics
    >>> r = inequality_metrics([1, 1, 0, 0, 1, 0], [1, 0, 0, 1, 1, 0],
    ...                        sensitive_features=list("aaabbb"), ci=None)
    >>> type(r).__name__, r.order
    ('InequalityResult', 2.0)
    """

    table: pd.DataFrame
    order: float = 2.0
    ci: float | None = 0.95
    n_boot: int = 0
    findings: tuple = field(default_factory=tuple)
    meta: dict = field(default_factory=dict)

    def value(self, metric: str, attribute: str = "overall") -> float:
        """One number of the table.

        Examples
        --------
        >>> r = inequality_metrics([1, 0, 1, 0], [1, 1, 0, 0], sensitive_features=list("aabb"),
        ...                        ci=None)
        >>> round(r.value("theil_index"), 6)
        0.346574
        """
        rows = self.table[(self.table["metric"] == metric) & (self.table["attribute"] == attribute)]
        if rows.empty:
            pairs = zip(self.table["metric"], self.table["attribute"], strict=True)
            raise ParameterError(
                f"InequalityResult.value(): no {metric!r} for attribute {attribute!r}; the "
                f"table has {sorted(set(pairs))}."
            )
        return float(rows["value"].iloc[0])

    @property
    def summary(self) -> str:
        def part(metric, attribute="overall", label=None):
            rows = self.table[
                (self.table["metric"] == metric) & (self.table["attribute"] == attribute)
            ]
            if rows.empty:
                return None
            row = rows.iloc[0]
            ci = (
                f" [{row['lower']:.4f}, {row['upper']:.4f}]"
                if np.isfinite(row["lower"]) and np.isfinite(row["upper"])
                else ""
            )
            return f"{label or metric.replace('_', ' ')} {row['value']:.4f}{ci}"

        parts = [
            part("theil_index", label="Theil index"),
            part("generalized_entropy_index", label=f"GE({self.order:g})"),
        ]
        for attribute in self.attributes:
            parts.append(
                part("between_group_theil_index", attribute, f"between-group Theil ({attribute})")
            )
            parts.append(
                part("average_odds_difference", attribute, f"average odds difference ({attribute})")
            )
        parts.append(part("consistency", label=f"consistency (k={self.meta.get('n_neighbors')})"))
        if self.meta.get("consistency"):  # why consistency was left out (the audit says)
            parts.append(f"consistency {self.meta['consistency']}")
        text = "; ".join(p for p in parts if p)
        ci = f" ({self.ci:.0%} CIs)" if self.ci else ""
        return f"{text}{ci}; {len(self.findings)} finding(s)."

    @property
    def attributes(self) -> list[str]:
        """The sensitive attributes (and their intersection) the group rows are about."""
        return [a for a in pd.unique(self.table["attribute"]) if a != "overall"]

    def figures(self) -> list:
        """One bar chart: every metric (per attribute), with its interval as error bars."""
        import plotly.graph_objects as go

        from raikit._plots import error_bars

        table = self.table
        labels = [
            m.replace("_", " ") + ("" if a == "overall" else f" ({a})")
            for m, a in zip(table["metric"], table["attribute"], strict=True)
        ]
        fig = go.Figure(
            go.Bar(
                x=table["value"].to_numpy(),
                y=labels,
                orientation="h",
                error_x=error_bars(table["value"], table["lower"], table["upper"]),
                hovertemplate="%{y} = %{x:.4f}<extra></extra>",
                name="value",
            )
        )
        ci = f", {self.ci:.0%} intervals" if self.ci else ""
        fig.update_layout(
            title=f"Inequality and individual fairness (GE order {self.order:g}{ci})",
            xaxis_title="value",
            yaxis={"autorange": "reversed"},
            height=max(300, 40 * len(labels) + 120),
            margin={"l": 320},
        )
        return [fig]


# --------------------------------------------------------------------------- bootstrap
def _draw(rng, counts: np.ndarray, squares: np.ndarray | None, b: int) -> np.ndarray:
    """Bayesian-bootstrap draws of cell totals, shape (b, *counts.shape): ``Gamma(count)``.

    Weighted cells are drawn as the Gamma with mean ``sum w`` and variance ``sum w^2``, as the
    engine's count bootstrap does.
    """
    if squares is None:
        return rng.gamma(counts, size=(b, *counts.shape))
    with np.errstate(invalid="ignore", divide="ignore"):
        shape = np.where(squares > 0, counts**2 / squares, 0.0)
        scale = np.where(counts > 0, squares / counts, 0.0)
    return rng.gamma(shape, size=(b, *counts.shape)) * scale


def _prior(rng, prior: np.ndarray, shape: tuple, counts, squares) -> np.ndarray:
    """Independent ``Gamma(prior)`` per slice cell, in units of the mean weight."""
    unit = 1.0
    if squares is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            n_eff = np.where(squares > 0, counts**2 / squares, 0.0).sum()
        unit = float(counts.sum() / max(n_eff, 1e-300))
    return rng.gamma(np.broadcast_to(prior, shape)) * unit


def _interval(point, without, with_prior, ci):
    """Union of the percentile intervals without and with the prior, containing the point."""
    lo1, hi1 = percentile_bounds(without, ci)
    lo2, hi2 = percentile_bounds(with_prior, ci)
    lower, upper = contain(np.fmin(lo1, lo2), np.fmax(hi1, hi2), point)
    undefined = ~np.isfinite(point)
    return np.where(undefined, np.nan, lower), np.where(undefined, np.nan, upper)


def _chunks(n_boot: int, width: int):
    chunk = max(1, min(n_boot, 2_000_000 // max(width, 1)))
    for start in range(0, n_boot, chunk):  # chunks of replicates, never rows or groups
        yield min(chunk, n_boot - start)


def _statistics(cells, conf, families, privileged_rows, order) -> dict:
    """Every statistic of the table from slice benefit tables ``cells`` (..., slices, 3) and
    confusion tables ``conf`` (..., slices, 4); replicates may lead. Keyed (metric, attribute);
    the pairwise average odds differences are left to their own bounds (``odds_parts``)."""
    out = {
        ("generalized_entropy_index", "overall"): _index(cells[..., 0, :], order),
        ("theil_index", "overall"): _index(cells[..., 0, :], 1.0),
    }
    for name, family in families.items():  # attributes, a handful
        part = cells[..., family, :]
        between, within = _decomposition(part, order)
        t_between, t_within = _decomposition(part, 1.0)
        out[("between_group_generalized_entropy_index", name)] = between
        out[("within_group_generalized_entropy_index", name)] = within
        out[("between_group_theil_index", name)] = t_between
        out[("within_group_theil_index", name)] = t_within
        if name in privileged_rows:
            out[("average_odds_difference", name)] = _privileged_odds(
                conf, family, privileged_rows[name]
            )
        else:
            out[("average_odds_difference", name)] = _largest_pairwise(
                _odds_parts(conf[..., family, :])
            )
    return out


# --------------------------------------------------------------------------- inequality_metrics
@recorded("metrics.inequality_metrics")
@validate_params(
    order=ORDER,
    ci=[CI, None],
    n_boot=Interval(int, 2, None),
    random_state=RANDOM_STATE,
    n_neighbors=N_NEIGHBORS,
)
def inequality_metrics(
    y_true,
    y_pred,
    *,
    sensitive_features=None,
    X=None,
    privileged=None,
    order: float = 2,
    n_neighbors: int = 5,
    sample_weight=None,
    pos_label=None,
    ci: float | None = 0.95,
    n_boot: int = 1000,
    random_state=None,
    ledger=None,
) -> InequalityResult:
    """Every inequality and individual-fairness metric, with bootstrap confidence intervals.

    The generalized entropy index (of ``order``) and the Theil index of the benefits
    ``y_pred - y_true + 1``; per sensitive attribute (and their intersection) their between-
    and within-group parts and the average odds difference; with ``X``, the consistency of the
    predictions between nearest neighbours. Each value equals the one-number function of the
    same name (:func:`generalized_entropy_index`, :func:`average_odds_difference`,
    :func:`consistency`, ...), which equal AIF360's.

    Parameters
    ----------
    y_true, y_pred : array-like
        True and predicted binary labels.
    sensitive_features : array-like, Series, DataFrame or dict, optional
        Values of the protected attribute(s); without them only the overall indices.
    X : array-like or DataFrame, optional
        Numeric features for :func:`consistency` (as given, not standardised).
    privileged : optional
        The privileged group of the average odds difference (see
        :func:`average_odds_difference`): a value, used for the attribute that has it (every
        other attribute gets the largest pairwise value), or a dict naming a value of some
        attributes, or of all of them for their intersection.
    order : float, default 2
        Order of the generalized entropy index (AIF360's ``alpha``).
    n_neighbors : int, default 5
        Neighbours per row for consistency (the row itself included).
    sample_weight : array-like, optional
        Row weights of the indices and the average odds difference (consistency is unweighted,
        as AIF360's).
    pos_label : optional
        The positive label; inferred only for 0/1, False/True and -1/1.
    ci : float or None, default 0.95
        Confidence level. The indices and the signed average odds difference: a Bayesian
        bootstrap of the (group, benefit) and (group, confusion cell) counts, the interval being
        the union of those with and without the Jeffreys prior (as :func:`group_metrics`); the
        largest pairwise average odds difference: simultaneous (Bonferroni) intervals of every
        pair of groups, as :func:`group_metrics`' differences; consistency: a Bayesian
        bootstrap of the rows' terms with the neighbour graph fixed. Every interval contains its
        estimate.
    n_boot : int, default 1000
        Bootstrap replicates (at least 2).
    random_state : int, Generator or None
        Seed of the bootstrap.
    ledger : raikit.ledger.Ledger or path, optional
        Record the result as evidence.

    Returns
    -------
    InequalityResult

    Raises
    ------
    ParameterError
        ``privileged`` is in no attribute's groups; a parameter outside its domain.
    DataError
        Labels that are not binary, inputs of different lengths, missing values.

    See Also
    --------
    raikit.metrics.generalized_entropy_index : one index without intervals.
    raikit.metrics.group_metrics : metrics per group.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y_true = rng.integers(0, 2, 400)
    >>> y_pred = np.where(rng.random(400) < 0.8, y_true, 1 - y_true)
    >>> group = np.where(rng.random(400) < 0.5, "a", "b")
    >>> r = inequality_metrics(y_true, y_pred, sensitive_features=group, random_state=0)
    >>> r.value("theil_index") == theil_index(y_true, y_pred)
    True
    >>> row = r.table.query("metric == 'theil_index'").iloc[0]
    >>> bool(row["lower"] < row["value"] < row["upper"])
    True
    """
    data = _binary(
        y_true, y_pred, sensitive_features, sample_weight, pos_label, "inequality_metrics"
    )
    conf, conf_sq = engine.confusion_counts(
        data.codes, data.y, data.p, data.n_groups, weights=data.weights
    )
    counted = _Counted(
        data.slices, data.pos_label, len(data.y), _benefit_cells(data), (conf, conf_sq)
    )
    neighbours = None
    if X is not None:
        features, y01 = _consistency_inputs(X, y_pred, n_neighbors, pos_label)
        near, following = _neighbour_graph(features, n_neighbors)
        neighbours = (near, following, y01)
    families = dict(data.slices.families) if sensitive_features is not None else {}
    settings = {"ci": ci, "n_boot": n_boot, "random_state": random_state}
    return inequality_from_counts(
        counted,
        families,
        privileged=privileged,
        order=float(order),
        neighbours=neighbours,
        n_neighbors=n_neighbors,
        **settings,
    )


@dataclass(frozen=True, eq=False)
class _Counted:
    """What every statistic but consistency needs: the slices, the positive label, the rows,
    the (group, benefit) cells and the (group, confusion cell) counts, each with its sums of
    squared weights (None without weights)."""

    slices: engine.Slices
    pos_label: object
    n_rows: int
    benefit: tuple
    confusion: tuple


def inequality_from_counts(
    counted: _Counted,
    families: dict,
    *,
    privileged,
    order: float,
    neighbours,
    n_neighbors: int,
    ci,
    n_boot: int,
    random_state,
    meta: dict | None = None,
) -> InequalityResult:
    """:func:`inequality_metrics` from the counts (and, for consistency, the neighbour graph
    ``(near, following, y01)`` of the rows at hand, or None)."""
    slices = counted.slices
    privileged_rows = _privileged_rows(counted, families, privileged)
    (cells, squares), (conf, conf_sq) = counted.benefit, counted.confusion
    points = _statistics(
        slices.aggregate(cells), slices.aggregate(conf), families, privileged_rows, order
    )
    terms = None
    if neighbours is not None:
        near, following, y01 = neighbours
        terms = _consistency_terms(near, y01)
        points[("consistency", "overall")] = np.asarray(1 - terms.mean())
    table = pd.DataFrame(
        [(metric, attribute, float(value)) for (metric, attribute), value in points.items()],
        columns=["metric", "attribute", "value"],
    )
    table["lower"] = np.nan
    table["upper"] = np.nan
    if ci is not None:
        rng = rng_from(random_state)
        bounds = _bootstrap(
            counted,
            (cells, squares),
            (conf, conf_sq),
            families,
            privileged_rows,
            order,
            ci,
            n_boot,
            rng,
            points,
        )
        if terms is not None:
            influence = _consistency_influence(near, following, y01)
            bounds[("consistency", "overall")] = _consistency_bounds(
                terms, influence, ci, n_boot, rng
            )
        table["lower"] = [bounds[key][0] for key in points]
        table["upper"] = [bounds[key][1] for key in points]
    return InequalityResult(
        table=table,
        order=order,
        ci=ci,
        n_boot=n_boot if ci is not None else 0,
        findings=tuple(_findings(table, ci)),
        meta={
            "n_rows": counted.n_rows,
            "pos_label": counted.pos_label,
            "privileged": {name: slices.group[row] for name, row in privileged_rows.items()},
            "n_neighbors": n_neighbors if neighbours is not None else None,
            "random_state": random_state,
            "weighted": squares is not None,
            **(meta or {}),
        },
    )


def counted_from_table(table: pd.DataFrame, names, *, pos_label, missing_group) -> _Counted:
    """The counts of :func:`inequality_from_counts` from aggregated rows: the ``names``
    columns, ``__y``, ``__p``, ``__n`` (rows) and, with weights, ``__w`` and ``__w2`` (each
    cell's sums of weights and of squared weights), as :meth:`raikit.Dataset.aggregate` or a
    client's counts give them."""
    from raikit._grouping import encode_groups
    from raikit.metrics._group_metrics import _encode_labels, _label_list

    if table.empty:
        raise DataError("The table has no rows; the inequality indices need at least one.")
    for column in ("__y", "__p"):
        if table[column].isna().any():
            what = "target" if column == "__y" else "prediction"
            raise DataError(f"The {what} has missing values; drop or impute them first.")
    y, p, classes = _encode_labels(table["__y"].to_numpy(), table["__p"].to_numpy(), pos_label)
    if len(classes) > 2:
        raise DataError(
            f"inequality_metrics() needs binary labels, but the target and prediction hold "
            f"{len(classes)} labels ({_label_list(classes)[:10]}). Binarise them first."
        )
    encoding = encode_groups(table[list(names)], missing_group=missing_group)
    slices = engine.build_slices(encoding)
    codes, n_groups = encoding.intersection_codes, len(encoding.intersection_labels)
    weighted = "__w" in table
    mass = table["__w" if weighted else "__n"].to_numpy(float)
    benefit = codes * 3 + (p - y + 1)
    cell = codes * 4 + y * 2 + p
    cells = np.bincount(benefit, weights=mass, minlength=n_groups * 3).reshape(-1, 3)
    conf = np.bincount(cell, weights=mass, minlength=n_groups * 4).reshape(-1, 4)
    squares = conf_sq = None
    if weighted:
        w2 = table["__w2"].to_numpy(float)
        squares = np.bincount(benefit, weights=w2, minlength=n_groups * 3).reshape(-1, 3)
        conf_sq = np.bincount(cell, weights=w2, minlength=n_groups * 4).reshape(-1, 4)
    n_rows = int(table["__n"].sum())
    return _Counted(slices, _label_list(classes)[-1], n_rows, (cells, squares), (conf, conf_sq))


def _privileged_rows(data, families: dict, privileged) -> dict[str, int]:
    """The privileged group's slice row in each family that has it; an error if none has."""
    if privileged is None or not families:
        return {}
    names = list(data.slices.encoding.names)
    rows, first_error = {}, None
    for name, family in families.items():  # attributes, a handful
        if isinstance(privileged, dict) and sorted(privileged) != sorted(_family_names(data, name)):
            continue
        if not isinstance(privileged, dict | tuple) and name not in names:
            continue  # a single value belongs to one attribute, not to the intersection
        try:
            rows[name] = _privileged_row(data, name, family, privileged, "inequality_metrics")
        except ParameterError as error:
            first_error = first_error or error
    if not rows:
        if first_error is not None:
            raise first_error
        raise ParameterError(
            f"inequality_metrics(): privileged={privileged!r} names no group of the sensitive "
            f"attributes {names}; pass a value of one of them, or a dict {{attribute: value}}."
        )
    return rows


def _bootstrap(data, benefit, confusion, families, privileged_rows, order, ci, n_boot, rng, points):
    """Bounds of every statistic in ``points`` but consistency, keyed as ``points``."""
    from raikit.metrics._group_metrics import _disparity_bounds

    slices = data.slices
    (cells, squares), (conf, conf_sq) = benefit, confusion
    keys = [key for key in points if key[0] != "consistency"]
    reps: dict = {key: ([], []) for key in keys}
    odds: tuple[list, list] = ([], [])  # (b, slices) of (TPR + FPR) / 2 for the pairwise bounds
    for b in _chunks(n_boot, slices.n_slices * 8):
        group_cells = slices.aggregate(_draw(rng, cells, squares, b), axis=1)
        group_conf = slices.aggregate(_draw(rng, conf, conf_sq, b), axis=1)
        # the prior is added per slice, as the engine does: a slice's cell is Gamma(count + prior)
        with_prior = (
            group_cells + _prior(rng, CELL_PRIOR, group_cells.shape, cells, squares),
            group_conf + _prior(rng, np.full(4, PRIOR), group_conf.shape, conf, conf_sq),
        )
        for k, (c, f) in enumerate(((group_cells, group_conf), with_prior)):
            drawn = _statistics(c, f, families, privileged_rows, order)
            for key in keys:
                reps[key][k].append(drawn[key])
            odds[k].append(_odds_parts(f))
    out = {}
    for key in keys:
        without, with_prior = (np.concatenate(r) for r in reps[key])
        lower, upper = _interval(points[key], without, with_prior, ci)
        out[key] = (float(lower), float(upper))
    point_odds = _odds_parts(slices.aggregate(conf))[:, None]
    for name, family in families.items():
        if name in privileged_rows:
            continue
        # the largest pairwise value: simultaneous intervals of every pair (group_metrics' rule)
        found = [
            _disparity_bounds(point_odds, np.concatenate(o)[..., None], {name: family}, ci)[
                (name, "between_groups", "difference")
            ]
            for o in odds
        ]
        lower = float(np.fmin(found[0][0][0], found[1][0][0]))
        upper = float(np.fmax(found[0][1][0], found[1][1][0]))
        out[("average_odds_difference", name)] = (lower, upper)
    return out


def _consistency_bounds(terms, influence, ci: float, n_boot: int, rng) -> tuple[float, float]:
    """Bayesian bootstrap of consistency over rows.

    A row's prediction enters its own term and its neighbours' terms, so the terms are not
    independent and a bootstrap of the terms alone is too narrow (it covered 69% at a nominal
    90% in ``tests/metrics/test_inequality.py``'s simulation). Each replicate therefore
    reweights the rows' jackknife influences (:func:`_consistency_influence`, which re-forms
    the neighbourhoods a row leaves): ``C + sum_j (u_j - 1 / n) influence_j`` with Dirichlet
    weights ``u``. The interval is the union of that with a bootstrap of the terms with half a
    pseudo-row at 0 and at 1 (the Jeffreys prior of a mean in [0, 1]), so it never has zero
    width, and it stays within [0, 1].
    """
    n = len(terms)
    point = 1 - terms.mean()
    values, counts = np.unique(terms, return_counts=True)
    linear, with_prior = [], []
    centred = influence - influence.mean()
    for b in _chunks(n_boot, n):  # chunks of replicates
        u = rng.gamma(1.0, size=(b, n))
        linear.append(point + (u @ centred) / u.sum(axis=1))
        w = rng.gamma(counts.astype(float), size=(b, len(values)))
        edges = rng.gamma(np.full(2, PRIOR), size=(b, 2))
        mean_prior = (w @ values + edges[:, 1]) / (w.sum(axis=1) + edges.sum(axis=1))
        with_prior.append(1 - mean_prior)
    lower, upper = _interval(
        np.asarray(point), np.concatenate(linear), np.concatenate(with_prior), ci
    )
    return float(max(lower, 0.0)), float(min(upper, 1.0))


def _findings(table: pd.DataFrame, ci) -> list[Finding]:
    """The average odds differences beyond the default tolerance, and the between-group share."""
    found = []
    for row in table[table["metric"] == "average_odds_difference"].itertuples():  # attributes
        lower, upper = (row.lower, row.upper) if ci is not None else (row.value, row.value)
        low, high = abs_max_bounds(np.array([[lower]]), np.array([[upper]]))
        state = verdict(low, high, TOLERANCE)[0]
        if state in ("fail", "warn"):
            found.append(
                Finding(
                    "error" if state == "fail" else "warning",
                    f"Average odds difference {row.value:+.3f} for {row.attribute}",
                    f"The groups' average of TPR and FPR differs by {abs(row.value):.3f} "
                    f"(interval [{lower:.3f}, {upper:.3f}]) against a tolerance of "
                    f"{TOLERANCE}: "
                    + (
                        "beyond it over the whole interval."
                        if state == "fail"
                        else "the interval straddles it."
                    ),
                    slice=str(row.attribute),
                )
            )
    total = table[table["metric"] == "generalized_entropy_index"]["value"]
    for row in table[table["metric"] == "between_group_generalized_entropy_index"].itertuples():
        if len(total) and total.iloc[0] > 0 and np.isfinite(row.value):
            share = row.value / total.iloc[0]
            found.append(
                Finding(
                    "info",
                    f"{share:.2%} of the benefit inequality lies between {row.attribute} groups",
                    f"Between-group GE {row.value:.4f} of {total.iloc[0]:.4f} overall; the rest "
                    f"is inequality between individuals within the groups.",
                    slice=str(row.attribute),
                )
            )
    return found
