"""The one home of raikit's interval statistics: z-values, proportion intervals, bootstrap bounds,
intervals of between-group disparities, verdicts against a tolerance, and the minimum group size.

Every confidence interval raikit reports is computed here (or from replicates bounded here), so
``ci`` means the same thing everywhere. The rules every interval follows:

* it contains its point estimate (a bootstrap percentile interval that misses it is widened to
  reach it);
* the interval of a rate never has zero width and stays valid at 0 of k and k of k (see
  :func:`jeffreys_interval`; the metrics engine draws the equivalent Bayesian bootstrap);
* a disparity between groups (largest difference, smallest ratio) gets an interval valid for that
  statistic, from simultaneous intervals of its parts (see :func:`range_bounds`).
"""

from __future__ import annotations

import numpy as np

from raikit._errors import ParameterError

__all__ = [
    "MIN_GROUP_SIZE",
    "PRIOR",
    "abs_max_bounds",
    "check_ci",
    "clopper_pearson_interval",
    "contain",
    "jeffreys_interval",
    "percentile_bounds",
    "range_bounds",
    "ratio_bounds",
    "verdict",
    "wilson_interval",
    "z_value",
]

MIN_GROUP_SIZE = 30
"""Fewest rows a group needs for its metrics to count towards a verdict (package-wide policy).

A group below it is flagged as small; a fairness verdict needs two groups at or above it, otherwise
it is "not assessable". Every check that takes ``min_group_size=`` defaults to this value.
"""

PRIOR = 0.5
"""Pseudo-count of every cell of a slice's 2 x 2 confusion table in the Bayesian bootstrap (the
Jeffreys prior of the four-cell multinomial)."""

VERDICTS = ("pass", "warn", "fail", "not assessable")


def check_ci(ci: float, *, name: str = "ci") -> float:
    """Validate a confidence level: a number strictly between 0 and 1.

    Examples
    --------
    >>> check_ci(0.9)
    0.9
    """
    try:
        ok = 0 < float(ci) < 1
    except (TypeError, ValueError):
        ok = False
    if not ok or isinstance(ci, bool):
        raise ParameterError(
            f"{name} must be a confidence level between 0 and 1 (e.g. 0.95), got {ci!r}."
        )
    return float(ci)


def z_value(ci: float = 0.95) -> float:
    """The two-sided standard-normal quantile of a confidence level: ``Phi^-1((1 + ci) / 2)``.

    Examples
    --------
    >>> round(z_value(0.95), 6)
    1.959964
    >>> round(z_value(0.5), 6)
    0.67449
    """
    from scipy.special import ndtri

    return float(ndtri(0.5 + check_ci(ci) / 2))


def t_value(ci: float, df):
    """The two-sided Student-t quantile of a confidence level with ``df`` degrees of freedom
    (vectorised over ``df``): the multiplier of a t interval of a mean.

    Examples
    --------
    >>> round(float(t_value(0.95, 4)), 6)
    2.776445
    """
    from scipy.stats import t

    return t.ppf(0.5 + check_ci(ci) / 2, df)


def clopper_pearson_interval(successes, n, *, ci: float = 0.95):
    """Clopper-Pearson (exact) interval of a proportion, vectorised: never below the level.

    Used where a guarantee must hold for every sample size (selective prediction's risk).

    Examples
    --------
    >>> lo, hi = clopper_pearson_interval([0, 5, 10], [10, 10, 10])
    >>> lo.round(4).tolist(), hi.round(4).tolist()
    ([0.0, 0.1871, 0.6915], [0.3085, 0.8129, 1.0])
    """
    from scipy.stats import beta

    tail = (1 - check_ci(ci)) / 2
    k = np.asarray(successes, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        lower = np.where(k > 0, beta.ppf(tail, k, n - k + 1), 0.0)
        upper = np.where(k < n, beta.ppf(1 - tail, k + 1, n - k), 1.0)
    return np.where(n > 0, lower, np.nan), np.where(n > 0, upper, np.nan)


def wilson_interval(successes, n, *, ci: float = 0.95):
    """Wilson score interval of a proportion, vectorised.

    Parameters
    ----------
    successes, n : array-like
        Successes and trials (any matching shapes; non-integer weighted counts are accepted).
    ci : float, default 0.95
        Confidence level.

    Returns
    -------
    lower, upper : ndarray
        NaN where ``n == 0``; otherwise within [0, 1], of positive width, containing ``k / n``.

    Examples
    --------
    >>> lo, hi = wilson_interval([0, 5, 10], [10, 10, 10])
    >>> lo.round(4).tolist(), hi.round(4).tolist()
    ([0.0, 0.2366, 0.7225], [0.2775, 0.7634, 1.0])
    """
    z = z_value(ci)
    k = np.asarray(successes, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z * np.sqrt(np.maximum(p * (1 - p), 0) / n + z * z / (4 * n * n)) / denom
        lower = np.clip(centre - half, 0.0, 1.0)
        upper = np.clip(centre + half, 0.0, 1.0)
        # rounding can push a bound past p at 0/n and n/n: the interval always contains p
        lower = np.where(n > 0, np.minimum(lower, p), np.nan)
        upper = np.where(n > 0, np.maximum(upper, p), np.nan)
    return lower, upper


def jeffreys_interval(successes, n, *, ci: float = 0.95):
    """Jeffreys interval of a proportion: the equal-tailed interval of ``Beta(k + 1/2, n - k + 1/2)``,
    with the lower bound 0 at ``k = 0`` and the upper bound 1 at ``k = n`` (Brown, Cai and DasGupta,
    2001). Its coverage is close to nominal even for small ``n``, and it never has zero width.

    The metrics engine's Bayesian bootstrap draws the same posterior for a rate of two cells of
    the confusion table (true positive rate: ``Gamma(tp + 1/2) / (Gamma(tp + 1/2) + Gamma(fn +
    1/2))`` is ``Beta(tp + 1/2, fn + 1/2)``); a rate of two pairs of cells (selection rate) gets
    ``Beta(k + 1, n - k + 1)``, the marginal of the Jeffreys prior on the four cells.

    Examples
    --------
    >>> lo, hi = jeffreys_interval([0, 3, 3], [3, 3, 10])
    >>> lo.round(4).tolist(), hi.round(4).tolist()
    ([0.0, 0.4644, 0.0927], [0.5356, 1.0, 0.6058])
    """
    from scipy.special import betaincinv

    alpha = 1 - check_ci(ci)
    k = np.asarray(successes, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        a, b = k + PRIOR, n - k + PRIOR
        lower = np.where(k > 0, betaincinv(a, b, alpha / 2), 0.0)
        upper = np.where(k < n, betaincinv(a, b, 1 - alpha / 2), 1.0)
    bad = ~(n > 0)
    return np.where(bad, np.nan, lower), np.where(bad, np.nan, upper)


_SORT_BELOW = 700  # replicates per column up to which a full sort beats np.partition


def percentile_bounds(replicates: np.ndarray, level):
    """Percentile interval over the replicate axis (0), ignoring NaN replicates.

    Parameters
    ----------
    replicates : ndarray
        Replicates on axis 0.
    level : float or ndarray
        Confidence level, one for all or one per column (broadcast to ``replicates.shape[1:]``):
        a column's bounds are its ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles, linearly
        interpolated as ``np.quantile`` does. One sort serves every column (no per-column loop).

    Returns
    -------
    lower, upper : ndarray
        Each shaped like one replicate; NaN where every replicate is NaN.

    See Also
    --------
    raikit.metrics.group_metrics : its intervals are percentile bounds of bootstrap replicates.

    Examples
    --------
    >>> import numpy as np
    >>> lo, hi = percentile_bounds(np.arange(101.0)[:, None], 0.9)
    >>> round(float(lo[0]), 6), round(float(hi[0]), 6)
    (5.0, 95.0)
    """
    replicates = np.asarray(replicates, dtype=float)
    shape = replicates.shape[1:]
    n_rep = replicates.shape[0]
    rows = np.ascontiguousarray(replicates.reshape(n_rep, -1).T)  # one row per column
    alpha = (1 - np.broadcast_to(np.asarray(level, dtype=float), shape).ravel()) / 2
    valid = (~np.isnan(rows)).sum(axis=1)
    last = np.maximum(valid - 1, 0)
    q = np.stack([alpha, 1 - alpha])  # (2, columns)
    position = q * last
    below = np.floor(position).astype(np.int64)
    above = np.minimum(below + 1, last)
    complete = valid == n_rep
    if n_rep <= _SORT_BELOW:  # numpy's multi-kth partition: slower on short rows
        ordered = np.sort(rows, axis=1)  # NaN sorts last
    elif complete.all():  # partial sorts around the few positions needed
        ordered = np.partition(rows, np.unique(np.concatenate([below, above], axis=None)), axis=1)
    else:
        ordered = np.empty_like(rows)
        if complete.any():
            kth = np.unique(np.concatenate([below[:, complete], above[:, complete]], axis=None))
            ordered[complete] = np.partition(rows[complete], kth, axis=1)
        ordered[~complete] = np.sort(rows[~complete], axis=1)  # NaN sorts last
    columns = np.arange(rows.shape[0])
    low, high = ordered[columns, below], ordered[columns, above]
    with np.errstate(invalid="ignore"):
        value = np.where(high == low, low, low + (position - below) * (high - low))
    value = np.where(valid > 0, value, np.nan)
    return value[0].reshape(shape), value[1].reshape(shape)


def contain(lower, upper, point):
    """Widen ``[lower, upper]`` to contain ``point`` wherever all three are finite.

    Examples
    --------
    >>> lo, hi = contain([0.016], [0.112], [0.014])
    >>> float(lo[0]), float(hi[0])
    (0.014, 0.112)
    """
    lower, upper, point = (np.asarray(a, dtype=float) for a in (lower, upper, point))
    with np.errstate(invalid="ignore"):
        lower = np.where(np.isfinite(point) & np.isfinite(lower), np.fmin(lower, point), lower)
        upper = np.where(np.isfinite(point) & np.isfinite(upper), np.fmax(upper, point), upper)
    return lower, upper


def _abs_bounds(lower, upper):
    """Bounds of ``|d|`` when ``d`` lies in ``[lower, upper]``."""
    straddle = (lower <= 0) & (upper >= 0)
    low = np.where(straddle, 0.0, np.fmin(np.abs(lower), np.abs(upper)))
    return low, np.fmax(np.abs(lower), np.abs(upper))


def range_bounds(group_lower, group_upper, axis: int = -1):
    """Bounds of ``max_g x_g - min_g x_g`` from simultaneous intervals ``[L_g, U_g]`` of every
    ``x_g``: ``[max(0, max_g L_g - min_g U_g), max_g U_g - min_g L_g]``.

    If the group intervals hold simultaneously with probability ``1 - a`` (e.g. each at level
    ``1 - a / G``, Bonferroni), the range lies in these bounds with probability at least
    ``1 - a``. They contain the range of the point estimates whenever each group's interval
    contains its estimate, and reach 0 when the group intervals overlap. NaN groups are skipped.

    Examples
    --------
    >>> lo, hi = range_bounds([[0.1, 0.3]], [[0.2, 0.5]])
    >>> round(float(lo[0]), 3), round(float(hi[0]), 3)
    (0.1, 0.4)
    """
    group_lower = np.asarray(group_lower, dtype=float)
    group_upper = np.asarray(group_upper, dtype=float)
    with np.errstate(invalid="ignore"):
        lower = np.fmax.reduce(group_lower, axis=axis, initial=np.nan) - np.fmin.reduce(
            group_upper, axis=axis, initial=np.nan
        )
        upper = np.fmax.reduce(group_upper, axis=axis, initial=np.nan) - np.fmin.reduce(
            group_lower, axis=axis, initial=np.nan
        )
    return np.fmax(lower, 0.0), upper


def ratio_bounds(group_lower, group_upper, axis: int = -1):
    """Bounds of ``min_g x_g / max_g x_g`` (non-negative ``x``) from simultaneous intervals of
    every ``x_g``: ``[min_g L_g / max_g U_g, min(1, min_g U_g / max_g L_g)]``.

    NaN where a group's lower bound is negative (a ratio of signed values has no such bounds).

    Examples
    --------
    >>> lo, hi = ratio_bounds([[0.2, 0.4]], [[0.3, 0.6]])
    >>> round(float(lo[0]), 3), round(float(hi[0]), 3)
    (0.333, 0.75)
    """
    group_lower = np.asarray(group_lower, dtype=float)
    group_upper = np.asarray(group_upper, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        low_min = np.fmin.reduce(group_lower, axis=axis, initial=np.nan)
        up_max = np.fmax.reduce(group_upper, axis=axis, initial=np.nan)
        up_min = np.fmin.reduce(group_upper, axis=axis, initial=np.nan)
        low_max = np.fmax.reduce(group_lower, axis=axis, initial=np.nan)
        lower = np.where(up_max > 0, low_min / up_max, np.nan)
        upper = np.where(low_max > 0, np.fmin(up_min / low_max, 1.0), 1.0)
        signed = low_min < 0
    return np.where(signed, np.nan, lower), np.where(signed, np.nan, upper)


def abs_max_bounds(lower, upper, axis: int = -1):
    """Bounds of ``max_g |d_g|`` from simultaneous intervals ``[lower_g, upper_g]`` of each ``d_g``.

    Examples
    --------
    >>> lo, hi = abs_max_bounds([[-0.1, 0.05]], [[0.2, 0.3]])
    >>> round(float(lo[0]), 3), round(float(hi[0]), 3)
    (0.05, 0.3)
    """
    low, high = _abs_bounds(np.asarray(lower, dtype=float), np.asarray(upper, dtype=float))
    return np.fmax.reduce(low, axis=axis, initial=np.nan), np.fmax.reduce(
        high, axis=axis, initial=np.nan
    )


def verdict(lower, upper, tolerance: float, *, assessable=True, higher_is_worse: bool = True):
    """Verdict of a disparity against a tolerance, from its confidence interval.

    ``fail`` only when the whole interval is beyond the tolerance, ``pass`` only when the whole
    interval is within it, ``warn`` when it straddles the tolerance, and ``not assessable`` when
    the data cannot support a verdict (``assessable`` False, or no interval).

    Parameters
    ----------
    lower, upper : float or array-like
        The interval.
    tolerance : float
        For a difference (``higher_is_worse``): the largest acceptable value. For a ratio
        (``higher_is_worse=False``, e.g. the four-fifths rule's 0.8): the smallest.
    assessable : bool or array-like of bool
        False where fewer than two groups have enough rows.

    Examples
    --------
    >>> verdict([0.02, 0.05, 0.15, 0.0], [0.08, 0.2, 0.3, 0.5], 0.1,
    ...         assessable=[True, True, True, False]).tolist()
    ['pass', 'warn', 'fail', 'not assessable']
    >>> verdict(0.58, 0.84, 0.8, higher_is_worse=False).tolist()
    'warn'
    """
    lower = np.asarray(lower, dtype=float)
    upper = np.asarray(upper, dtype=float)
    if higher_is_worse:
        beyond, within = lower > tolerance, upper <= tolerance
    else:
        beyond, within = upper < tolerance, lower >= tolerance
    ok = np.asarray(assessable, dtype=bool) & np.isfinite(lower) & np.isfinite(upper)
    out = np.where(beyond, "fail", np.where(within, "pass", "warn"))
    return np.where(ok, out, "not assessable").astype(object)
