"""Fair and robust training: FairBatch, FR-Train, Fairlearn reductions and post-processing
(bounded group loss for regression), multiclass remapping, reweighing, label-flipping attacks,
a side-by-side comparison of mitigations, and training under
shape constraints (monotone features, features the model must not use)."""

from __future__ import annotations

from raikit._shape import ShapeConstraints
from raikit.train._common import TabularEncoder
from raikit.train._compare import MitigationResult, compare_mitigations
from raikit.train._constraints import fit_constrained
from raikit.train._fairbatch import FairBatchClassifier
from raikit.train._frtrain import FRTrainClassifier
from raikit.train._mitigation import (
    FairlearnClassifier,
    FairlearnRegressor,
    ReweighingClassifier,
    reweighing_weights,
)
from raikit.train._poison import LabelFlips, flip_labels
from raikit.train._remap import RemapClassifier

__all__ = [
    "FRTrainClassifier",
    "FairBatchClassifier",
    "FairBatchSampler",
    "FairlearnClassifier",
    "FairlearnRegressor",
    "LabelFlips",
    "MitigationResult",
    "RemapClassifier",
    "ReweighingClassifier",
    "ShapeConstraints",
    "TabularEncoder",
    "compare_mitigations",
    "fit_constrained",
    "flip_labels",
    "reweighing_weights",
]


def __getattr__(name: str):
    if name == "FairBatchSampler":  # a torch Sampler subclass: import torch only when asked
        from raikit.train._common import import_torch

        import_torch()
        from raikit.train._sampler import FairBatchSampler

        return FairBatchSampler
    raise AttributeError(f"module 'raikit.train' has no attribute {name!r}")
