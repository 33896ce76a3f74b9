"""The metrics engine: metrics per group with confidence intervals, fairness criteria,
inequality and individual-fairness metrics, and the power of an audit to detect a disparity.

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
from raikit.metrics._inequality import (
    InequalityResult,
    average_odds_difference,
    between_group_generalized_entropy_index,
    between_group_theil_index,
    consistency,
    generalized_entropy_index,
    inequality_metrics,
    theil_index,
    within_group_generalized_entropy_index,
    within_group_theil_index,
)
from raikit.metrics._power import DETECTION_POWER, detectable_difference, required_group_size
from raikit.metrics._spark import local_session
from raikit.metrics._stats import MIN_GROUP_SIZE
from raikit.metrics._task import infer_task

__all__ = [
    "BINARY_METRICS",
    "DETECTION_POWER",
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
    "InequalityResult",
    "PredictiveParity",
    "TreatmentEquality",
    "average_odds_difference",
    "between_group_generalized_entropy_index",
    "between_group_theil_index",
    "consistency",
    "count_metric",
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "detectable_difference",
    "equal_opportunity_difference",
    "equalized_odds_difference",
    "equalized_odds_ratio",
    "evaluate_criteria",
    "generalized_entropy_index",
    "group_metrics",
    "group_metrics_of",
    "inequality_metrics",
    "infer_task",
    "local_session",
    "percentile_bounds",
    "required_group_size",
    "theil_index",
    "within_group_generalized_entropy_index",
    "within_group_theil_index",
]
