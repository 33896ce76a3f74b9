"""Power analysis of fairness criteria: how many rows an audit needs, and what it could detect.

An audit that finds "no significant disparity" has only looked as closely as its groups allow.
:func:`required_group_size` plans an audit (rows per group to detect a gap of ``difference`` with
probability ``power`` at level ``alpha``); :func:`detectable_difference` reads a plan backwards
(the smallest gap a given number of rows detects), and the criteria table of
:meth:`raikit.metrics.FairnessCriterion.evaluate` reports it for the groups an audit had.

The model is the two-sided test of two proportions with the normal approximation and unpooled
variance (the Wald test), which the engine's interval of a between-group difference approximates:
a gap ``d = p2 - p1`` is detected when ``|p2_hat - p1_hat| / SE > z``, with
``SE^2 = p1 (1 - p1) / n1 + p2 (1 - p2) / n2`` and ``z`` the normal quantile at ``1 - alpha / 2``.
Its power is ``Phi(d / SE - z) + Phi(-d / SE - z)`` (both tails). As the engine's intervals do,
``alpha`` is split over every pair of ``groups`` (Bonferroni). The proportion's denominator depends
on the criterion's metric: every row (selection rate, accuracy), the positives (true positive
rate), the negatives (false positive rate) or the predicted positives (precision).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from raikit._errors import ParameterError
from raikit._validation import ALPHA, Interval, validate_params
from raikit.metrics._fairness import FairnessCriterion
from raikit.metrics._stats import PRIOR

__all__ = ["DETECTION_POWER", "detectable_difference", "required_group_size"]

DETECTION_POWER = 0.8
"""The power at which an audit's detectable difference is reported (the conventional 80 %)."""

# metric -> the share of a group's rows that forms the metric's denominator
_DENOMINATOR = {
    "selection_rate": "rows",
    "accuracy": "rows",
    "true_positive_rate": "positives",
    "false_positive_rate": "negatives",
    "precision": "predicted positives",
}
_CRITERIA = {
    "demographic_parity": ("selection_rate",),
    "equal_opportunity": ("true_positive_rate",),
    "equalized_odds": ("true_positive_rate", "false_positive_rate"),
    "predictive_parity": ("precision",),
    "accuracy_parity": ("accuracy",),
}
_BISECTIONS = 80  # halvings of [0, 1] (or [0, t]): far below float resolution


def _z(alpha_per_test):
    from scipy.special import ndtri

    return ndtri(1 - np.asarray(alpha_per_test, dtype=float) / 2)


def _power_of(t, z):
    """Power of the two-sided z test when the gap is ``t`` standard errors: both tails."""
    from scipy.special import ndtr

    return ndtr(t - z) + ndtr(-t - z)


def _standard_errors_needed(power, z):
    """The ``t`` (gap over its standard error) at which the two-sided test reaches ``power``.

    Without the far tail ``t = z + Phi^-1(power)``; that tail only adds power, so the exact root
    lies in ``[0, z + Phi^-1(power)]``, where the power rises from ``alpha`` (found by bisection,
    vectorised).
    """
    from scipy.special import ndtri

    z = np.asarray(z, dtype=float)
    low, high = np.zeros_like(z), np.maximum(z + ndtri(power), 0.0)
    for _ in range(_BISECTIONS):
        middle = (low + high) / 2
        short = _power_of(middle, z) < power
        low, high = np.where(short, middle, low), np.where(short, high, middle)
    return high


def _rates(centre, gap):
    """The two groups' rates: ``gap`` apart around ``centre``, shifted to stay within [0, 1]."""
    low = np.minimum(np.maximum(centre - gap / 2, 0.0), 1.0 - gap)
    return low, low + gap


def _variance(centre, gap, n1, n2):
    """``SE^2`` of the difference; the larger of the two ways to give the groups the two rates
    (so the answer does not depend on which group is which)."""
    low, high = _rates(centre, gap)
    v_low, v_high = low * (1 - low), high * (1 - high)
    return np.maximum(v_low / n1 + v_high / n2, v_high / n1 + v_low / n2)


def smallest_gap(n1, n2, centre, *, alpha_per_test, power):
    """The smallest gap the test detects with ``power`` when the metric's denominators are
    ``n1`` and ``n2`` and the rates lie around ``centre`` (vectorised; NaN where a denominator
    is empty).

    Solves ``gap / SE(gap) = t`` for the gap by bisection on [0, 1]: the left side rises from 0
    (at no gap) to infinity (rates 0 and 1 have no variance).
    """
    n1, n2, centre = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (n1, n2, centre)))
    t = _standard_errors_needed(power, _z(alpha_per_test))
    ok = (n1 > 0) & (n2 > 0) & np.isfinite(centre)
    m1, m2, c = np.where(ok, n1, 1.0), np.where(ok, n2, 1.0), np.where(ok, centre, 0.5)
    low, high = np.zeros_like(c), np.ones_like(c)
    with np.errstate(divide="ignore", invalid="ignore"):
        for _ in range(_BISECTIONS):
            middle = (low + high) / 2
            short = middle * middle < t * t * _variance(c, middle, m1, m2)
            low, high = np.where(short, middle, low), np.where(short, high, middle)
    return np.where(ok, high, np.nan)


def _metrics_of(caller, criterion) -> tuple[str, tuple[str, ...]]:
    name = criterion.name if isinstance(criterion, FairnessCriterion) else str(criterion)
    metrics = criterion.metrics if isinstance(criterion, FairnessCriterion) else _CRITERIA.get(name)
    if metrics is None or any(m not in _DENOMINATOR for m in metrics):
        raise ParameterError(
            f"{caller}(): criterion must be one of {sorted(_CRITERIA)} (a criterion on "
            f"proportions), got {name!r}; treatment equality and calibration are not proportions."
        )
    return name, tuple(metrics)


def _shares(caller, name, metrics, base_rate, selection_rate) -> dict[str, float]:
    """The share of a group's rows in each metric's denominator."""
    needs = {
        "positives": "base_rate",
        "negatives": "base_rate",
        "predicted positives": "selection_rate",
    }
    given = {"base_rate": base_rate, "selection_rate": selection_rate}
    for metric in metrics:
        keyword = needs.get(_DENOMINATOR[metric])
        if keyword is not None and given[keyword] is None:
            raise ParameterError(
                f"{caller}(): {name} compares {metric.replace('_', ' ')}s, whose denominator is "
                f"the {_DENOMINATOR[metric]}; pass {keyword}= (the expected share of "
                f"{_DENOMINATOR[metric] if keyword == 'selection_rate' else 'positive labels'})."
            )
    shares = {"rows": 1.0, "predicted positives": selection_rate}
    if base_rate is not None:
        shares |= {"positives": base_rate, "negatives": 1.0 - base_rate}
    return {metric: shares[_DENOMINATOR[metric]] for metric in metrics}


def _alpha_per_test(caller: str, alpha: float, groups: int, power: float) -> float:
    per_test = alpha / (groups * (groups - 1) / 2)
    if power <= per_test:  # a test finds nothing at least this often: no rows are needed
        raise ParameterError(
            f"{caller}(): power must exceed the level of each test ({per_test:g}: alpha over "
            f"the pairs of groups), got {power!r}; 0.8 is usual."
        )
    return per_test


_COMMON = {
    "criterion": [str, FairnessCriterion],
    "rate": [Interval(float, 0, 1, closed="neither"), None],
    "base_rate": [Interval(float, 0, 1, closed="neither"), None],
    "selection_rate": [Interval(float, 0, 1, closed="neither"), None],
    "power": Interval(float, 0, 1, closed="neither"),
    "alpha": ALPHA,
    "ratio": Interval(float, 0, None, closed="neither"),
    "groups": Interval(int, 2, None),
}


@validate_params(difference=Interval(float, 0, 1, closed="neither"), **_COMMON)
def required_group_size(
    criterion,
    *,
    difference: float,
    rate: float | None = None,
    base_rate: float | None = None,
    selection_rate: float | None = None,
    power: float = DETECTION_POWER,
    alpha: float = 0.05,
    ratio: float = 1.0,
    groups: int = 2,
) -> int:
    """Rows a group needs for an audit to detect a gap of ``difference`` in a fairness criterion.

    The two-sided two-proportion test, normal approximation with unpooled variance (see
    :mod:`raikit.metrics._power`): the metric's denominator in the first group needs
    ``n = V t^2 / difference^2`` rows, with ``V = p1 (1 - p1) + p2 (1 - p2) / ratio`` (the larger
    of the two ways to give the groups the rates ``p1``, ``p2 = p1 + difference``) and ``t`` the
    gap in standard errors at which the test at level ``alpha / pairs`` has ``power``
    (``t = z_{1 - alpha / 2} + z_{power}`` up to the far tail, which is included). The group then
    needs ``n`` divided by the share of its rows in that denominator.

    Parameters
    ----------
    criterion : str or FairnessCriterion
        ``"demographic_parity"`` (selection rate; every row), ``"equal_opportunity"`` (true
        positive rate; the positives), ``"equalized_odds"`` (true and false positive rates: the
        positives and the negatives, the larger need), ``"predictive_parity"`` (precision; the
        predicted positives) or ``"accuracy_parity"`` (accuracy; every row), or the criterion.
    difference : float
        The gap between two groups' metric to detect, in (0, 1).
    rate : float, optional
        The metric's value around which the groups differ (their midpoint). Default: 0.5, the
        rate that needs the most rows.
    base_rate : float, optional
        Share of positive labels in a group; needed by equal opportunity and equalized odds.
    selection_rate : float, optional
        Share of rows predicted positive; needed by predictive parity.
    power : float, default 0.8
        Probability of detecting the gap when it is there (1 - beta).
    alpha : float, default 0.05
        Significance level of the whole comparison (familywise over the pairs of groups). To
        hold it over several criteria or attributes too, divide it by their number
        (Bonferroni); the audit's intervals, like the engine's, correct over pairs only.
    ratio : float, default 1.0
        Rows of the second group per row of the first (the allocation ratio).
    groups : int, default 2
        Groups compared: ``alpha`` is split over their ``groups (groups - 1) / 2`` pairs
        (Bonferroni), as the engine's intervals of between-group differences are.

    Returns
    -------
    int
        Rows of the first group (the second needs ``ratio`` times as many, rounded up).

    Raises
    ------
    ParameterError
        A value out of its range, a criterion that does not compare proportions, or a missing
        ``base_rate`` / ``selection_rate``.

    See Also
    --------
    detectable_difference : the same formula solved for the gap.
    raikit.data.required_sample_size : rows to estimate one group's proportion within a width.

    Examples
    --------
    >>> from raikit.metrics import required_group_size
    >>> required_group_size("demographic_parity", difference=0.1)  # rates 0.45 vs 0.55
    389
    >>> required_group_size("equal_opportunity", difference=0.1, base_rate=0.25)
    1555
    >>> required_group_size("demographic_parity", difference=0.1, groups=4)  # 6 pairs
    600
    """
    name, metrics = _metrics_of("required_group_size", criterion)
    shares = _shares("required_group_size", name, metrics, base_rate, selection_rate)
    centre = 0.5 if rate is None else rate
    t = _standard_errors_needed(
        power, _z(_alpha_per_test("required_group_size", alpha, groups, power))
    )
    need = 0
    for metric in metrics:  # one or two metrics
        denominator = _variance(centre, difference, 1.0, ratio) * t * t / difference**2
        # the 1e-9 keeps a float like 388.0000000001 from needing one more row
        need = max(need, int(np.ceil(denominator / shares[metric] - 1e-9)))
    return max(need, 1)


@validate_params(group_size=Interval(int, 1, None), **_COMMON)
def detectable_difference(
    criterion,
    *,
    group_size: int,
    rate: float | None = None,
    base_rate: float | None = None,
    selection_rate: float | None = None,
    power: float = DETECTION_POWER,
    alpha: float = 0.05,
    ratio: float = 1.0,
    groups: int = 2,
) -> float:
    """The smallest gap in a fairness criterion that groups of ``group_size`` rows detect.

    :func:`required_group_size` solved for the gap (numerically: the rates, hence the variance,
    depend on the gap): with ``group_size`` rows in the first group and ``ratio`` times as many in the
    second, a gap at least this large is detected with probability ``power`` at level ``alpha``;
    a smaller one can go unnoticed. Parameters as :func:`required_group_size`.

    Parameters
    ----------
    criterion : str or FairnessCriterion
        As :func:`required_group_size`.
    group_size : int
        Rows of the first group.
    rate, base_rate, selection_rate, power, alpha, ratio, groups
        As :func:`required_group_size`.

    Returns
    -------
    float
        The detectable difference, in (0, 1]; for equalized odds the larger of its two rates'.

    Raises
    ------
    ParameterError
        As :func:`required_group_size`.

    See Also
    --------
    raikit.metrics.required_group_size : rows per group to detect a given gap.

    Examples
    --------
    >>> from raikit.metrics import detectable_difference, required_group_size
    >>> d = detectable_difference("demographic_parity", group_size=389)
    >>> round(d, 4)
    0.0999
    >>> required_group_size("demographic_parity", difference=d)
    389
    >>> round(detectable_difference("equal_opportunity", group_size=1000, base_rate=0.1), 3)
    0.194
    """
    name, metrics = _metrics_of("detectable_difference", criterion)
    shares = _shares("detectable_difference", name, metrics, base_rate, selection_rate)
    n1 = np.array([group_size * shares[m] for m in metrics])
    gaps = smallest_gap(
        n1,
        n1 * ratio,
        0.5 if rate is None else rate,
        alpha_per_test=_alpha_per_test("detectable_difference", alpha, groups, power),
        power=power,
    )
    return float(gaps.max())


def criterion_detectable_differences(
    result, metrics, *, alpha: float, power: float = DETECTION_POWER, min_group_size: int
) -> pd.Series:
    """Per attribute: the largest, over the ``metrics`` and over the pairs of groups with at
    least ``min_group_size`` rows, of the gap the audit's test detects with ``power`` (NaN when
    a metric is not a proportion, its denominator is unknown, or fewer than two groups count).

    Each pair's denominators are the groups' rows times the share of them in the metric's
    denominator (with weights, the weighted share of the rows), and its rates lie around the
    pair's pooled rate (with the engine's half pseudo-count on either side, so that a rate of 0
    or 1 still has a variance). ``alpha`` is split over the pairs with a defined value, as the
    engine's intervals do. The largest gap over the pairs is the one every pair detects.
    """
    by_group = result.by_group
    sizes = result.group_sizes.reindex(by_group.index).to_numpy(float)
    shares = {
        "rows": np.ones(len(by_group)),
        "positives": by_group.get("base_rate"),
        "negatives": None if "base_rate" not in by_group else 1 - by_group["base_rate"],
        "predicted positives": by_group.get("selection_rate"),
    }
    attributes = by_group.index.get_level_values("attribute")
    out = {}
    for attribute in result.attributes:  # attributes, not groups
        rows = np.flatnonzero(attributes == attribute)
        worst = np.nan
        for metric in metrics:  # one or two
            share = shares.get(_DENOMINATOR.get(metric, ""))
            if share is None or metric not in by_group:
                worst = np.nan
                break
            value = by_group[metric].to_numpy(float)[rows]
            n = sizes[rows] * np.asarray(share, dtype=float)[rows]
            defined = np.isfinite(value) & np.isfinite(n)
            i, j = np.triu_indices(len(rows), 1)
            pairs = max(int((defined[i] & defined[j]).sum()), 1)
            keep = defined[i] & defined[j] & (sizes[rows][i] >= min_group_size)
            keep &= sizes[rows][j] >= min_group_size
            i, j = i[keep], j[keep]
            if not len(i):
                worst = np.nan
                break
            centre = (value[i] * n[i] + value[j] * n[j] + PRIOR) / (n[i] + n[j] + 2 * PRIOR)
            gaps = smallest_gap(n[i], n[j], centre, alpha_per_test=alpha / pairs, power=power)
            worst = np.fmax(worst, np.fmax.reduce(gaps, initial=np.nan))
        out[attribute] = worst
    return pd.Series(out, dtype=float)
