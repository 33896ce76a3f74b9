"""Privacy: how much a model gives away about the people it was trained on."""

from raikit.privacy._dp_training import DPClassifier
from raikit.privacy._membership import PrivacyReport, membership_inference
from raikit.privacy._source import BudgetExceededError, PrivacySource, PrivacySourceError
from raikit.privacy._synth import SynthesisResult, synthesis_utility, synthesize
from raikit.privacy._table import PrivateAnswer, PrivateTable

__all__ = [
    "BudgetExceededError",
    "DPClassifier",
    "PrivacyReport",
    "PrivacySource",
    "PrivacySourceError",
    "PrivateAnswer",
    "PrivateTable",
    "SynthesisResult",
    "membership_inference",
    "synthesis_utility",
    "synthesize",
]
