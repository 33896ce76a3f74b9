"""The metrics engine: metrics per group with confidence intervals, and fairness criteria.

Every number is derived from per-slice sufficient statistics computed in one vectorised pass;
see :mod:`raikit.metrics._engine`.
"""

from raikit.metrics._definitions import BINARY_METRICS, SCORE_METRICS, CountMetric, count_metric
from raikit.metrics._fairness import (
    AccuracyParity,
    CalibrationWithinGroups,
    DemographicParity,
    EqualizedOdds,
    EqualOpportunity,
    FairnessCriterion,
    PredictiveParity,
    TreatmentEquality,
    demographic_parity_difference,
    demographic_parity_ratio,
    equal_opportunity_difference,
    equalized_odds_difference,
    equalized_odds_ratio,
    evaluate_criteria,
)
from raikit.metrics._group_metrics import (
    GroupMetricsResult,
    group_metrics,
    group_metrics_of,
    percentile_bounds,
)
from raikit.metrics._spark import local_session
from raikit.metrics._stats import MIN_GROUP_SIZE

__all__ = [
    "BINARY_METRICS",
    "MIN_GROUP_SIZE",
    "SCORE_METRICS",
    "AccuracyParity",
    "CalibrationWithinGroups",
    "CountMetric",
    "DemographicParity",
    "EqualOpportunity",
    "EqualizedOdds",
    "FairnessCriterion",
    "GroupMetricsResult",
    "PredictiveParity",
    "TreatmentEquality",
    "count_metric",
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equal_opportunity_difference",
    "equalized_odds_difference",
    "equalized_odds_ratio",
    "evaluate_criteria",
    "group_metrics",
    "group_metrics_of",
    "local_session",
    "percentile_bounds",
]
