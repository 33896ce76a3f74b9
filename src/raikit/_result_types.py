"""Where each ``...Result`` type is defined: the one table of stage modules the bottom layer names.

A Result class registers itself under its class name when its module is imported
(``Result.__init_subclass__``). Reading evidence back (``Ledger.load_evidence``,
``Result.from_json``) in a process that has not imported that module yet looks the type up here
and imports just that module, so :mod:`raikit._result` never imports the stages wholesale.

A new Result class needs one line here; ``tests/test_result_types.py`` fails until it has it, and
a renamed or moved class keeps its old name as an entry so that older ledgers still load.
"""

from __future__ import annotations

__all__ = ["RESULT_MODULES"]

RESULT_MODULES: dict[str, str] = {
    # audit
    "AuditReport": "raikit.audit._audit",
    "ComparisonResult": "raikit.audit._compare",
    # cards
    "Card": "raikit.cards._cards",
    # data
    "DatasheetResult": "raikit.data._datasheet",
    "DriftResult": "raikit.data._drift",
    "LabelIssuesResult": "raikit.data._label_issues",
    "MLCleanResult": "raikit.data._mlclean",
    "ProfileResult": "raikit.data._profile",
    "RepresentationResult": "raikit.data._representation",
    "SliceTunerResult": "raikit.data._slice_tuner",
    "ValidationResult": "raikit.data._schema_check",
    # evaluate
    "CostResult": "raikit.evaluate._cost",
    "EvaluationResult": "raikit.evaluate._evaluate",
    "LearningCurveResult": "raikit.evaluate._learning_curve",
    "SliceResult": "raikit.evaluate._slices",
    "StressTestResult": "raikit.evaluate._robustness",
    # explain
    "CounterfactualResult": "raikit.explain._counterfactuals",
    "ExplanationResult": "raikit.explain._explain",
    "FlipTestResult": "raikit.explain._whatif",
    "GlassboxResult": "raikit.explain._glassbox",
    "PartialDependenceResult": "raikit.explain._pdp",
    "WhatIfResult": "raikit.explain._whatif",
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
