"""Fairness criteria as small objects, and Fairlearn-style one-number functions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from raikit._errors import DataError, ParameterError
from raikit._recording import outermost
from raikit._validation import Options, validate_params
from raikit.metrics._stats import verdict

__all__ = [
    "AccuracyParity",
    "CalibrationWithinGroups",
    "DemographicParity",
    "EqualOpportunity",
    "EqualizedOdds",
    "FairnessCriterion",
    "PredictiveParity",
    "TreatmentEquality",
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equal_opportunity_difference",
    "equalized_odds_difference",
    "equalized_odds_ratio",
    "evaluate_criteria",
]


_RANK = {"pass": 0, "not assessable": 1, "warn": 2, "fail": 3}  # a criterion takes the worst


@dataclass(frozen=True)
class FairnessCriterion:
    """A fairness criterion: groups should have equal values of ``metrics``.

    The criterion's disparity on an attribute is the largest between-group difference over its
    metrics (and the smallest ratio), with the bootstrap interval of the metric that attains it.

    Parameters
    ----------
    name : str
        The criterion's name (``demographic_parity``).
    metrics : tuple of str
        The metrics that should be equal across groups.
    description : str, optional
        One line for reports.

    See Also
    --------
    DemographicParity, EqualizedOdds, EqualOpportunity : the criteria raikit defines.
    evaluate_criteria : judges several criteria at once.

    Examples
    --------
    A criterion of your own, judged on a result's intervals:

    >>> from raikit.metrics import FairnessCriterion, group_metrics
    >>> fnr_parity = FairnessCriterion("fnr_parity", ("false_negative_rate",), "Equal miss rates")
    >>> y = [1, 0] * 60
    >>> result = group_metrics(y, y, sensitive_features=["a"] * 60 + ["b"] * 60, random_state=0)
    >>> fnr_parity.evaluate(result, tolerance=0.1)[["criterion", "verdict"]].values.tolist()
    [['fnr_parity', 'pass']]
    """

    name: str
    metrics: tuple[str, ...]
    description: str = ""

    def evaluate(
        self,
        result,
        *,
        tolerance: float = 0.1,
        method: str = "between_groups",
        min_group_size: int | None = None,
    ) -> pd.DataFrame:
        """One row per attribute: the difference, its CI, the ratio, and a verdict.

        The verdict follows the interval, not the estimate: ``fail`` only when the whole
        interval of the difference is above ``tolerance``, ``pass`` only when it is entirely
        within, ``warn`` when it straddles the tolerance, and ``not assessable`` (never pass)
        when fewer than two groups of the attribute have ``min_group_size`` rows. Without
        intervals (``ci=None``) the point estimate stands for the interval, and an estimate
        within the tolerance is a pass only if the groups could have shown a gap of
        ``tolerance`` (``detectable_difference <= tolerance``); otherwise it is
        ``not assessable``.

        ``detectable_difference`` is the smallest gap this audit detects with power 0.8 at level
        ``1 - ci`` (0.05 without intervals) between any two groups of at least
        ``min_group_size`` rows, from their counts (see
        :func:`~raikit.metrics.detectable_difference`): beside a pass it says how small a gap
        could have gone unnoticed. NaN for a metric that is not a proportion (treatment equality, calibration)
        or whose denominator the result lacks (``base_rate`` for TPR/FPR, ``selection_rate``
        for precision).

        Parameters
        ----------
        result : GroupMetricsResult
        tolerance : float, default 0.1
            Largest acceptable difference.
        method : {"between_groups", "to_overall"}
        min_group_size : int, optional
            Default: the result's (``raikit.metrics.MIN_GROUP_SIZE`` unless set).

        Returns
        -------
        DataFrame
            ``criterion, attribute, metric, difference, lower, upper, ratio, tolerance,
            detectable_difference, groups_assessable, min_group_size, verdict, violated``
            (``violated``: the point estimate exceeds the tolerance).

        Examples
        --------
        >>> from raikit.metrics import group_metrics
        >>> r = group_metrics([1, 1, 0, 0, 1, 1, 0, 0] * 10, [1, 1, 0, 0, 1, 0, 0, 0] * 10,
        ...                   sensitive_features=(["a"] * 4 + ["b"] * 4) * 10, random_state=0)
        >>> EqualOpportunity().evaluate(r, tolerance=0.2)[["attribute", "difference", "verdict"]]
           attribute  difference verdict
        0  sensitive         0.5    fail
        >>> EqualOpportunity().evaluate(r, tolerance=0.2, min_group_size=50)["verdict"].iloc[0]
        'not assessable'
        """
        from raikit.metrics._group_metrics import assessable_groups
        from raikit.metrics._power import criterion_detectable_differences

        missing = [m for m in self.metrics if m not in result.metric_names]
        if missing:
            raise DataError(
                f"{self.name} needs the metrics {missing}, which this result does not have; "
                f"compute them with group_metrics(..., metrics={list(self.metrics)})."
            )
        min_size = result.min_group_size if min_group_size is None else int(min_group_size)
        if min_size < 1:
            raise ParameterError(
                f"{self.name}.evaluate(): min_group_size must be at least 1, got {min_group_size}."
            )
        sizes = result.group_sizes
        diffs = result.difference(method, bounds=True)
        ratios = result.ratio(method, bounds=True)
        detectable = criterion_detectable_differences(
            result, self.metrics, alpha=1 - (result.ci or 0.95), min_group_size=min_size
        )
        rows = []
        for attribute in result.attributes:  # attributes, not groups
            d = diffs[(diffs["attribute"] == attribute) & diffs["metric"].isin(self.metrics)]
            q = ratios[(ratios["attribute"] == attribute) & ratios["metric"].isin(self.metrics)]
            n_ok = assessable_groups(sizes, attribute, min_size)
            # one verdict per metric (without intervals the estimate stands for them); the
            # criterion takes the worst: fail if any fails, pass only if every one passes
            no_ci = ~(np.isfinite(d["lower"]) & np.isfinite(d["upper"]))
            lower = d["lower"].where(~no_ci, d["value"]).to_numpy(float)
            upper = d["upper"].where(~no_ci, d["value"]).to_numpy(float)
            verdicts = verdict(lower, upper, tolerance, assessable=n_ok >= 2)
            rank = np.array([_RANK[v] for v in verdicts]) * 10.0 + np.nan_to_num(
                d["value"].to_numpy(float), nan=-1.0
            ) / (1 + np.nanmax(np.abs(d["value"].to_numpy(float)), initial=0.0))
            worst = d.iloc[int(np.argmax(rank))]
            chosen = verdicts[int(np.argmax(rank))]
            mdd = float(detectable.get(attribute, np.nan))
            if no_ci.all() and chosen == "pass" and mdd > tolerance:
                chosen = "not assessable"  # an estimate the groups could not tell from the gap
            rows.append(
                {
                    "criterion": self.name,
                    "attribute": attribute,
                    "metric": worst["metric"],
                    "difference": worst["value"],
                    "lower": worst["lower"],
                    "upper": worst["upper"],
                    "ratio": q["value"].min(),
                    "tolerance": tolerance,
                    "detectable_difference": mdd,
                    "groups_assessable": n_ok,
                    "min_group_size": min_size,
                    "verdict": chosen,
                    "violated": bool(worst["value"] > tolerance),
                }
            )
        return pd.DataFrame(rows)


def DemographicParity() -> FairnessCriterion:
    """Equal selection rates across groups.

    Returns
    -------
    FairnessCriterion
        The criterion, to pass to :func:`raikit.metrics.evaluate_criteria` or ``result.fairness``.

    See Also
    --------
    demographic_parity_difference : the same gap as a number.

    Examples
    --------
    >>> from raikit.metrics import DemographicParity
    >>> DemographicParity().metrics
    ('selection_rate',)
    """
    return FairnessCriterion("demographic_parity", ("selection_rate",), "equal selection rates")


def EqualizedOdds() -> FairnessCriterion:
    """Equal true positive and false positive rates across groups.

    Returns
    -------
    FairnessCriterion
        The criterion, to pass to :func:`raikit.metrics.evaluate_criteria` or ``result.fairness``.

    See Also
    --------
    equalized_odds_difference : the same gap as a number.

    Examples
    --------
    >>> from raikit.metrics import EqualizedOdds
    >>> EqualizedOdds().metrics
    ('true_positive_rate', 'false_positive_rate')
    """
    return FairnessCriterion(
        "equalized_odds", ("true_positive_rate", "false_positive_rate"), "equal TPR and FPR"
    )


def EqualOpportunity() -> FairnessCriterion:
    """Equal true positive rates across groups.

    Returns
    -------
    FairnessCriterion
        The criterion, to pass to :func:`raikit.metrics.evaluate_criteria` or ``result.fairness``.

    See Also
    --------
    equal_opportunity_difference : the same gap as a number.

    Examples
    --------
    >>> from raikit.metrics import EqualOpportunity
    >>> EqualOpportunity().metrics
    ('true_positive_rate',)
    """
    return FairnessCriterion("equal_opportunity", ("true_positive_rate",), "equal TPR")


def PredictiveParity() -> FairnessCriterion:
    """Equal precision (positive predictive value) across groups.

    Returns
    -------
    FairnessCriterion
        The criterion, to pass to :func:`raikit.metrics.evaluate_criteria` or ``result.fairness``.

    See Also
    --------
    EqualizedOdds : equal error rates instead of equal precision.

    Examples
    --------
    >>> from raikit.metrics import PredictiveParity
    >>> PredictiveParity().metrics
    ('precision',)
    """
    return FairnessCriterion("predictive_parity", ("precision",), "equal precision")


def AccuracyParity() -> FairnessCriterion:
    """Equal accuracy across groups.

    Returns
    -------
    FairnessCriterion
        The criterion, to pass to :func:`raikit.metrics.evaluate_criteria` or ``result.fairness``.

    See Also
    --------
    EqualizedOdds : equal error rates of each kind.

    Examples
    --------
    >>> from raikit.metrics import AccuracyParity
    >>> AccuracyParity().metrics
    ('accuracy',)
    """
    return FairnessCriterion("accuracy_parity", ("accuracy",), "equal accuracy")


def TreatmentEquality() -> FairnessCriterion:
    """Equal ratio of false negatives to false positives across groups.

    Returns
    -------
    FairnessCriterion
        The criterion, to pass to :func:`raikit.metrics.evaluate_criteria` or ``result.fairness``.

    See Also
    --------
    EqualizedOdds : equal error rates of each kind.

    Examples
    --------
    >>> from raikit.metrics import TreatmentEquality
    >>> TreatmentEquality().metrics
    ('fn_fp_ratio',)
    """
    return FairnessCriterion("treatment_equality", ("fn_fp_ratio",), "equal FN/FP ratio")


def CalibrationWithinGroups() -> FairnessCriterion:
    """Scores calibrated in every group: equal (and small) expected calibration error.

    Returns
    -------
    FairnessCriterion
        The criterion, to pass to :func:`raikit.metrics.evaluate_criteria` or ``result.fairness``.

    See Also
    --------
    group_metrics : computes ``expected_calibration_error`` per group from a ``score``.

    Examples
    --------
    >>> from raikit.metrics import CalibrationWithinGroups
    >>> CalibrationWithinGroups().metrics
    ('expected_calibration_error',)
    """
    return FairnessCriterion(
        "calibration_within_groups", ("expected_calibration_error",), "equal calibration error"
    )


ALL_CRITERIA = (
    DemographicParity,
    EqualizedOdds,
    EqualOpportunity,
    PredictiveParity,
    AccuracyParity,
    TreatmentEquality,
    CalibrationWithinGroups,
)


def evaluate_criteria(
    result, criteria=None, *, tolerance: float = 0.1, min_group_size: int | None = None
) -> pd.DataFrame:
    """Evaluate several criteria (default: every one whose metrics the result has).

    See :meth:`FairnessCriterion.evaluate` for the verdict rule.

    Parameters
    ----------
    result : GroupMetricsResult
        What :func:`group_metrics` returned.
    criteria : list of FairnessCriterion, optional
        The criteria to judge; None judges every one whose metrics the result has.
    tolerance : float, default 0.1
        The largest difference between groups that still passes.
    min_group_size : int, optional
        The fewest rows a group needs to count (default: the result's).

    Returns
    -------
    DataFrame
        One row per (criterion, attribute) with ``difference``, ``lower``, ``upper``, ``ratio``,
        ``detectable_difference``, ``groups_assessable`` and ``verdict``.

    See Also
    --------
    GroupMetricsResult.fairness : the same, as a method.

    Examples
    --------
    Three rows per group are too few to judge: never a pass.

    >>> from raikit.metrics import EqualizedOdds, evaluate_criteria, group_metrics
    >>> r = group_metrics([1, 0, 1, 0, 1, 0], [1, 0, 0, 0, 1, 1], sensitive_features=list("aaabbb"))
    >>> evaluate_criteria(r, [EqualizedOdds()])[["criterion", "verdict"]].values.tolist()
    [['equalized_odds', 'not assessable']]
    """
    if criteria is None:
        criteria = [c() for c in ALL_CRITERIA]
        criteria = [c for c in criteria if all(m in result.metric_names for m in c.metrics)]
    frames = [
        c.evaluate(result, tolerance=tolerance, min_group_size=min_group_size) for c in criteria
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _one_number(criterion, kind, y_true, y_pred, sensitive_features, method, sample_weight):
    from raikit.metrics._group_metrics import group_metrics

    with outermost():  # a number, not evidence: the group_metrics inside records nothing
        result = group_metrics(
            y_true,
            y_pred,
            sensitive_features=sensitive_features,
            sample_weight=sample_weight,
            metrics=list(criterion.metrics),
            ci=None,
        )
    # Several sensitive columns are compared as their intersection, as Fairlearn does.
    attribute = result.attributes[-1]
    if kind == "difference":
        return float(np.nanmax(result.difference(method, attribute=attribute).to_numpy()))
    return float(np.nanmin(result.ratio(method, attribute=attribute).to_numpy()))


_METHOD = Options("between_groups", "to_overall")


@validate_params(method=_METHOD)
def demographic_parity_difference(
    y_true, y_pred, *, sensitive_features, method="between_groups", sample_weight=None
) -> float:
    """Largest difference in selection rate between groups (Fairlearn's call and value).

    Parameters
    ----------
    y_true, y_pred : array-like
        True and predicted labels.
    sensitive_features : array-like, Series, DataFrame or dict
        Values of the protected attribute(s); several are compared as their intersection.
    method : {"between_groups", "to_overall"}
        Largest gap between two groups, or between a group and the whole population.
    sample_weight : array-like, optional
        Row weights.

    Returns
    -------
    float

    See Also
    --------
    raikit.metrics.demographic_parity_ratio : the ratio instead of the difference.
    raikit.metrics.DemographicParity : the criterion, judged on intervals.

    Examples
    --------
    >>> demographic_parity_difference([0, 1, 0, 1], [1, 1, 0, 1],
    ...                               sensitive_features=["a", "a", "b", "b"])
    0.5
    """
    return _one_number(
        DemographicParity(), "difference", y_true, y_pred, sensitive_features, method, sample_weight
    )


@validate_params(method=_METHOD)
def demographic_parity_ratio(
    y_true, y_pred, *, sensitive_features, method="between_groups", sample_weight=None
) -> float:
    """Smallest ratio of selection rates between groups (the four-fifths rule asks >= 0.8).

    Parameters as :func:`demographic_parity_difference`.

    Parameters
    ----------
    y_true, y_pred, sensitive_features, method, sample_weight
        As :func:`demographic_parity_difference`.

    Returns
    -------
    float
        The ratio, between 0 and 1.

    See Also
    --------
    demographic_parity_difference : the difference instead of the ratio.

    Examples
    --------
    >>> demographic_parity_ratio([0, 1, 0, 1], [1, 1, 0, 1], sensitive_features=["a", "a", "b", "b"])
    0.5
    """
    return _one_number(
        DemographicParity(), "ratio", y_true, y_pred, sensitive_features, method, sample_weight
    )


@validate_params(method=_METHOD)
def equalized_odds_difference(
    y_true, y_pred, *, sensitive_features, method="between_groups", sample_weight=None
) -> float:
    """The larger of the TPR difference and the FPR difference between groups.

    Parameters as :func:`demographic_parity_difference`.

    Parameters
    ----------
    y_true, y_pred, sensitive_features, method, sample_weight
        As :func:`demographic_parity_difference`.

    Returns
    -------
    float
        The difference, between 0 and 1.

    See Also
    --------
    equalized_odds_ratio : the ratio instead of the difference.

    Examples
    --------
    >>> equalized_odds_difference([1, 0, 1, 0], [1, 1, 0, 0], sensitive_features=["a", "a", "b", "b"])
    1.0
    """
    return _one_number(
        EqualizedOdds(), "difference", y_true, y_pred, sensitive_features, method, sample_weight
    )


@validate_params(method=_METHOD)
def equalized_odds_ratio(
    y_true, y_pred, *, sensitive_features, method="between_groups", sample_weight=None
) -> float:
    """The smaller of the TPR ratio and the FPR ratio between groups.

    Parameters as :func:`demographic_parity_difference`.

    Parameters
    ----------
    y_true, y_pred, sensitive_features, method, sample_weight
        As :func:`demographic_parity_difference`.

    Returns
    -------
    float
        The ratio, between 0 and 1.

    See Also
    --------
    equalized_odds_difference : the difference instead of the ratio.

    Examples
    --------
    >>> equalized_odds_ratio([1, 0, 1, 0], [1, 1, 1, 0], sensitive_features=["a", "a", "b", "b"])
    0.0
    """
    return _one_number(
        EqualizedOdds(), "ratio", y_true, y_pred, sensitive_features, method, sample_weight
    )


@validate_params(method=_METHOD)
def equal_opportunity_difference(
    y_true, y_pred, *, sensitive_features, method="between_groups", sample_weight=None
) -> float:
    """Largest difference in true positive rate between groups.

    Parameters as :func:`demographic_parity_difference`.

    Parameters
    ----------
    y_true, y_pred, sensitive_features, method, sample_weight
        As :func:`demographic_parity_difference`.

    Returns
    -------
    float
        The difference, between 0 and 1.

    See Also
    --------
    equalized_odds_difference : adds the false positive rate.

    Examples
    --------
    >>> equal_opportunity_difference([1, 1, 1, 1], [1, 1, 1, 0],
    ...                              sensitive_features=["a", "a", "b", "b"])
    0.5
    """
    return _one_number(
        EqualOpportunity(), "difference", y_true, y_pred, sensitive_features, method, sample_weight
    )
