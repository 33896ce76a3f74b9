"""Evaluation: sliced metrics with confidence intervals, problematic slices (Slice Finder and
SliceLine), practical accuracy (costs, learning curves), robustness (stress tests, evasion
attacks), performance per group estimated before labels arrive (confidence-based estimation) and
verification of declared shape constraints."""

from raikit.evaluate._constraints import ConstraintResult, verify_constraints
from raikit.evaluate._cost import CostResult, cost_analysis
from raikit.evaluate._evaluate import EvaluationResult, evaluate
from raikit.evaluate._evasion import EvasionResult, evasion_test
from raikit.evaluate._labelfree import PerformanceEstimateResult, estimate_performance
from raikit.evaluate._learning_curve import LearningCurveResult, learning_curve
from raikit.evaluate._robustness import StressTestResult, stress_test
from raikit.evaluate._slices import SliceResult, find_slices, row_losses

__all__ = [
    "ConstraintResult",
    "CostResult",
    "EvaluationResult",
    "EvasionResult",
    "LearningCurveResult",
    "PerformanceEstimateResult",
    "SliceResult",
    "StressTestResult",
    "cost_analysis",
    "estimate_performance",
    "evaluate",
    "evasion_test",
    "find_slices",
    "learning_curve",
    "row_losses",
    "stress_test",
    "verify_constraints",
]
