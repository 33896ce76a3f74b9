"""Where each ``...Result`` type is defined: the one table of stage modules the bottom layer names.

A Result class registers itself under its class name when its module is imported
(``Result.__init_subclass__``). Reading evidence back (``Ledger.load_evidence``,
``Result.from_json``) in a process that has not imported that module yet looks the type up here
and imports just that module, so :mod:`raikit._result` never imports the stages wholesale.

A new Result class needs one line here, and its title in plain words in :data:`RESULT_TITLES`
(notebooks and reports show it instead of the class name); ``tests/test_result_types.py`` fails
until it has both, and a renamed or moved class keeps its old name as an entry so that older
ledgers still load.
"""

from __future__ import annotations

import re

__all__ = ["RESULT_MODULES", "RESULT_TITLES", "result_title"]

RESULT_MODULES: dict[str, str] = {
    # audit
    "AuditReport": "raikit.audit._audit",
    "ComparisonResult": "raikit.audit._compare",
    # cards
    "Card": "raikit.cards._cards",
    # data
    "AugmentEvalResult": "raikit.data._augment",
    "DatasheetResult": "raikit.data._datasheet",
    "DriftResult": "raikit.data._drift",
    "LabelIssuesResult": "raikit.data._label_issues",
    "LeakageResult": "raikit.data._leakage",
    "PIIScanResult": "raikit.data._pii",
    "MLCleanResult": "raikit.data._mlclean",
    "MultivariateDriftResult": "raikit.data._multivariate",
    "ProfileResult": "raikit.data._profile",
    "RepresentationResult": "raikit.data._representation",
    "SliceTunerResult": "raikit.data._slice_tuner",
    "SourcePlanResult": "raikit.data._sources",
    "ValidationResult": "raikit.data._schema_check",
    # evaluate
    "ConstraintResult": "raikit.evaluate._constraints",
    "CostResult": "raikit.evaluate._cost",
    "EvaluationResult": "raikit.evaluate._evaluate",
    "EvasionResult": "raikit.evaluate._evasion",
    "LearningCurveResult": "raikit.evaluate._learning_curve",
    "PerformanceEstimateResult": "raikit.evaluate._labelfree",
    "SliceResult": "raikit.evaluate._slices",
    "StressTestResult": "raikit.evaluate._robustness",
    # explain
    "CounterfactualResult": "raikit.explain._counterfactuals",
    "ExplanationResult": "raikit.explain._explain",
    "FlipTestResult": "raikit.explain._whatif",
    "GlassboxResult": "raikit.explain._glassbox",
    "PartialDependenceResult": "raikit.explain._pdp",
    "WhatIfResult": "raikit.explain._whatif",
    # federated
    "FederatedMetricsResult": "raikit.federated._counts",
    # gates
    "GateResult": "raikit.gates._check",
    # metrics
    "GroupMetricsResult": "raikit.metrics._group_metrics",
    "InequalityResult": "raikit.metrics._inequality",
    # monitor
    "MonitorWindowResult": "raikit.monitor._monitor",
    # privacy
    "PrivacyReport": "raikit.privacy._membership",
    "PrivateAnswer": "raikit.privacy._table",
    "SynthesisResult": "raikit.privacy._synth",
    # review
    "ReviewMetricsResult": "raikit.review._metrics",
    "SelectiveResult": "raikit.review._selective",
    # train
    "MitigationResult": "raikit.train._compare",
}

# What each result is, in the words a reader uses (notebook cards and reports show these).
RESULT_TITLES: dict[str, str] = {
    "AuditReport": "Audit",
    "ComparisonResult": "Models compared",
    "Card": "Documentation card",
    "GateResult": "Policy gates (CI)",
    "InequalityResult": "Inequality and individual fairness",
    "AugmentEvalResult": "Synthetic rows for thin groups, measured",
    "DatasheetResult": "Datasheet",
    "DriftResult": "Data drift",
    "LabelIssuesResult": "Label issues",
    "LeakageResult": "Train/test leakage and integrity",
    "PIIScanResult": "Personal data and re-identification risk",
    "MLCleanResult": "Data cleaning (MLClean)",
    "MultivariateDriftResult": "Multivariate drift (reference vs current rows)",
    "ProfileResult": "Data profile",
    "RepresentationResult": "Representation of groups",
    "SliceTunerResult": "Data to acquire per slice (Slice Tuner)",
    "SourcePlanResult": "Data to acquire per slice and source (real pool, synthetic)",
    "ValidationResult": "Schema validation",
    "ConstraintResult": "Shape constraints verified",
    "CostResult": "Cost of errors",
    "EvaluationResult": "Evaluation by group",
    "EvasionResult": "Robustness to manipulation (evasion attack)",
    "LearningCurveResult": "Learning curve",
    "PerformanceEstimateResult": "Performance per group estimated without labels",
    "SliceResult": "Slices where the model does worse",
    "StressTestResult": "Robustness stress test",
    "CounterfactualResult": "Counterfactual explanations",
    "ExplanationResult": "Feature attributions",
    "FlipTestResult": "Flip test of the sensitive attribute",
    "GlassboxResult": "Interpretable model beside the black box",
    "PartialDependenceResult": "Partial dependence",
    "WhatIfResult": "What-if analysis",
    "GroupMetricsResult": "Metrics by group",
    "FederatedMetricsResult": "Metrics by group and by client, from client counts",
    "MonitorWindowResult": "Monitoring window",
    "PrivacyReport": "Membership-inference privacy test",
    "PrivateAnswer": "Differentially private answer",
    "SynthesisResult": "Differentially private synthetic data",
    "ReviewMetricsResult": "Human review: automated and reviewed shares",
    "SelectiveResult": "Selective prediction",
    "MitigationResult": "Mitigations compared",
}


def result_title(name: str) -> str:
    """What a result of type ``name`` is, in plain words.

    Examples
    --------
    >>> result_title("GroupMetricsResult")
    'Metrics by group'
    >>> result_title("MyOwnCheckResult")  # a type raikit does not know: its name, spelt out
    'My own check'
    """
    if name in RESULT_TITLES:
        return RESULT_TITLES[name]
    words = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+", name.removesuffix("Result")) or [name]
    return " ".join([words[0], *(w if w.isupper() else w.lower() for w in words[1:])])
