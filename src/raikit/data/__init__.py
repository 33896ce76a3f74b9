"""The data stage: profile, schema validation, drift (per column and multivariate), leakage,
representation, label issues, sensitive-data scan and re-identification risk, datasheets.

Before a model is trained its builder must know who the data represents, where it is thin or dirty,
and whether serving data still looks like training data.
"""

from __future__ import annotations

from raikit.data._augment import AugmentEvalResult, augment_eval
from raikit.data._datasheet import QUESTIONS, DatasheetResult, datasheet, datasheet_template
from raikit.data._drift import DriftResult, adjust_pvalues, distribution_distances, drift
from raikit.data._label_issues import LabelIssuesResult, confident_learning, label_issues
from raikit.data._leakage import LeakageResult, leakage
from raikit.data._mlclean import MLCleanResult, clean
from raikit.data._multivariate import MultivariateDriftResult, multivariate_drift
from raikit.data._pii import (
    PIIScanResult,
    reidentification_risk,
    scan_pii,
    suggest_quasi_identifiers,
)
from raikit.data._profile import ProfileResult, profile
from raikit.data._representation import (
    RepresentationResult,
    representation,
    required_sample_size,
)
from raikit.data._schema_check import ValidationResult, infer_schema, validate
from raikit.data._slice_tuner import (
    PoolAcquirer,
    SliceTunerResult,
    allocate_budget,
    fit_power_law,
    slice_tuner,
)
from raikit.data._sources import SourcePlanResult, SyntheticAcquirer, plan_sources

__all__ = [
    "QUESTIONS",
    "AugmentEvalResult",
    "DatasheetResult",
    "DriftResult",
    "LabelIssuesResult",
    "LeakageResult",
    "MLCleanResult",
    "MultivariateDriftResult",
    "PIIScanResult",
    "PoolAcquirer",
    "ProfileResult",
    "RepresentationResult",
    "SliceTunerResult",
    "SourcePlanResult",
    "SyntheticAcquirer",
    "ValidationResult",
    "adjust_pvalues",
    "allocate_budget",
    "augment_eval",
    "clean",
    "confident_learning",
    "datasheet",
    "datasheet_template",
    "distribution_distances",
    "drift",
    "fit_power_law",
    "infer_schema",
    "label_issues",
    "leakage",
    "multivariate_drift",
    "plan_sources",
    "profile",
    "reidentification_risk",
    "representation",
    "required_sample_size",
    "scan_pii",
    "slice_tuner",
    "suggest_quasi_identifiers",
    "validate",
]
