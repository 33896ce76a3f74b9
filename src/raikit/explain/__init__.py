"""Explainability and what-if analysis: SHAP attributions (global, local, per group), a permutation
cross-check, partial dependence and ICE per group, what-if and flip tests, counterfactuals, and an
interpretable glass-box baseline (InterpretML's Explainable Boosting Machine)."""

from raikit.explain._counterfactuals import CounterfactualResult, counterfactuals
from raikit.explain._explain import ExplanationResult, explain, explain_section
from raikit.explain._glassbox import (
    GlassboxResult,
    fit_glassbox,
    glassbox_baseline,
    glassbox_section,
)
from raikit.explain._pdp import PartialDependenceResult, partial_dependence
from raikit.explain._whatif import FlipTestResult, WhatIfResult, flip_test, what_if

__all__ = [
    "CounterfactualResult",
    "ExplanationResult",
    "FlipTestResult",
    "GlassboxResult",
    "PartialDependenceResult",
    "WhatIfResult",
    "counterfactuals",
    "explain",
    "explain_section",
    "fit_glassbox",
    "flip_test",
    "glassbox_baseline",
    "glassbox_section",
    "partial_dependence",
    "what_if",
]
