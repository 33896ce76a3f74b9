"""Fairness criteria as small objects, and Fairlearn-style one-number functions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from raikit._errors import DataError

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


@dataclass(frozen=True)
class FairnessCriterion:
    """A fairness criterion: groups should have equal values of ``metrics``.

    The criterion's disparity on an attribute is the largest between-group difference over its
    metrics (and the smallest ratio), with the bootstrap interval of the metric that attains it.
    """

    name: str
    metrics: tuple[str, ...]
    description: str = ""

    def evaluate(
        self, result, *, tolerance: float = 0.1, method: str = "between_groups"
    ) -> pd.DataFrame:
        """One row per attribute: difference, its CI, ratio, and whether it exceeds ``tolerance``.

        Examples
        --------
        >>> from raikit.metrics import group_metrics
        >>> r = group_metrics([1, 1, 0, 0, 1, 1, 0, 0], [1, 1, 0, 0, 1, 0, 0, 0],
        ...                   sensitive=["a"] * 4 + ["b"] * 4)
        >>> EqualOpportunity().evaluate(r, tolerance=0.2)[["attribute", "difference", "violated"]]
           attribute  difference  violated
        0  sensitive         0.5      True
        """
        missing = [m for m in self.metrics if m not in result.metric_names]
        if missing:
            raise DataError(
                f"{self.name} needs the metrics {missing}, which this result does not have; "
                f"compute them with group_metrics(..., metrics={list(self.metrics)})."
            )
        diffs = result.difference(method, bounds=True)
        ratios = result.ratio(method, bounds=True)
        rows = []
        for attribute in result.attributes:
            d = diffs[(diffs["attribute"] == attribute) & diffs["metric"].isin(self.metrics)]
            q = ratios[(ratios["attribute"] == attribute) & ratios["metric"].isin(self.metrics)]
            worst = d.loc[d["value"].idxmax()] if d["value"].notna().any() else d.iloc[0]
            low_ratio = q["value"].min()
            rows.append(
                {
                    "criterion": self.name,
                    "attribute": attribute,
                    "metric": worst["metric"],
                    "difference": worst["value"],
                    "lower": worst["lower"],
                    "upper": worst["upper"],
                    "ratio": low_ratio,
                    "tolerance": tolerance,
                    "violated": bool(worst["value"] > tolerance),
                }
            )
        return pd.DataFrame(rows)


def DemographicParity() -> FairnessCriterion:
    """Equal selection rates across groups."""
    return FairnessCriterion("demographic_parity", ("selection_rate",), "equal selection rates")


def EqualizedOdds() -> FairnessCriterion:
    """Equal true positive and false positive rates across groups."""
    return FairnessCriterion(
        "equalized_odds", ("true_positive_rate", "false_positive_rate"), "equal TPR and FPR"
    )


def EqualOpportunity() -> FairnessCriterion:
    """Equal true positive rates across groups."""
    return FairnessCriterion("equal_opportunity", ("true_positive_rate",), "equal TPR")


def PredictiveParity() -> FairnessCriterion:
    """Equal precision (positive predictive value) across groups."""
    return FairnessCriterion("predictive_parity", ("precision",), "equal precision")


def AccuracyParity() -> FairnessCriterion:
    """Equal accuracy across groups."""
    return FairnessCriterion("accuracy_parity", ("accuracy",), "equal accuracy")


def TreatmentEquality() -> FairnessCriterion:
    """Equal ratio of false negatives to false positives across groups."""
    return FairnessCriterion("treatment_equality", ("fn_fp_ratio",), "equal FN/FP ratio")


def CalibrationWithinGroups() -> FairnessCriterion:
    """Scores calibrated in every group: equal (and small) expected calibration error."""
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


def evaluate_criteria(result, criteria=None, *, tolerance: float = 0.1) -> pd.DataFrame:
    """Evaluate several criteria (default: every one whose metrics the result has)."""
    if criteria is None:
        criteria = [c() for c in ALL_CRITERIA]
        criteria = [c for c in criteria if all(m in result.metric_names for m in c.metrics)]
    frames = [c.evaluate(result, tolerance=tolerance) for c in criteria]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _one_number(
    criterion: FairnessCriterion, kind: str, y_true, y_pred, sensitive, method: str
) -> float:
    from raikit.metrics._group_metrics import group_metrics

    result = group_metrics(y_true, y_pred, sensitive=sensitive, metrics=list(criterion.metrics))
    # Several sensitive columns are compared as their intersection, as Fairlearn does.
    attribute = result.attributes[-1]
    if kind == "difference":
        return float(np.nanmax(result.difference(method, attribute=attribute).to_numpy()))
    return float(np.nanmin(result.ratio(method, attribute=attribute).to_numpy()))


def demographic_parity_difference(y_true, y_pred, *, sensitive, method="between_groups") -> float:
    """Largest difference in selection rate between groups.

    Examples
    --------
    >>> demographic_parity_difference([0, 1, 0, 1], [1, 1, 0, 1], sensitive=["a", "a", "b", "b"])
    0.5
    """
    return _one_number(DemographicParity(), "difference", y_true, y_pred, sensitive, method)


def demographic_parity_ratio(y_true, y_pred, *, sensitive, method="between_groups") -> float:
    """Smallest ratio of selection rates between groups (the four-fifths rule asks >= 0.8)."""
    return _one_number(DemographicParity(), "ratio", y_true, y_pred, sensitive, method)


def equalized_odds_difference(y_true, y_pred, *, sensitive, method="between_groups") -> float:
    """The larger of the TPR difference and the FPR difference between groups."""
    return _one_number(EqualizedOdds(), "difference", y_true, y_pred, sensitive, method)


def equalized_odds_ratio(y_true, y_pred, *, sensitive, method="between_groups") -> float:
    """The smaller of the TPR ratio and the FPR ratio between groups."""
    return _one_number(EqualizedOdds(), "ratio", y_true, y_pred, sensitive, method)


def equal_opportunity_difference(y_true, y_pred, *, sensitive, method="between_groups") -> float:
    """Largest difference in true positive rate between groups."""
    return _one_number(EqualOpportunity(), "difference", y_true, y_pred, sensitive, method)
