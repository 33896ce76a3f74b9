"""Privacy: how much a model gives away about the people it was trained on."""

from raikit.privacy._membership import PrivacyReport, membership_inference

__all__ = ["PrivacyReport", "membership_inference"]
