"""Privacy: how much a model gives away about the people it was trained on."""

from raikit.privacy._dp_training import DPClassifier
from raikit.privacy._membership import PrivacyReport, membership_inference
from raikit.privacy._synth import SynthesisResult, synthesize
from raikit.privacy._table import BudgetExceededError, PrivateAnswer, PrivateTable

__all__ = [
    "BudgetExceededError",
    "DPClassifier",
    "PrivacyReport",
    "PrivateAnswer",
    "PrivateTable",
    "SynthesisResult",
    "membership_inference",
    "synthesize",
]
