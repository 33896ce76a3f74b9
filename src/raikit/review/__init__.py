"""Human augmentation after deployment: abstain where the model is unsure and route to people.

- :class:`SelectiveClassifier` calibrates confidence thresholds (split-conformal coverage or
  risk control, per group) on held-out data and abstains below them.
- :class:`ReviewQueue` keeps the routed items and the reviewers' decisions in the ledger.
- :func:`review_metrics` compares the automated and the reviewed share per group and gates any
  widening of automation on the targets the user set.
"""

from __future__ import annotations

from raikit.review._metrics import ReviewMetricsResult, review_metrics
from raikit.review._queue import ReviewError, ReviewQueue
from raikit.review._selective import SelectiveClassifier, SelectiveResult, group_keys

__all__ = [
    "ReviewError",
    "ReviewMetricsResult",
    "ReviewQueue",
    "SelectiveClassifier",
    "SelectiveResult",
    "group_keys",
    "review_metrics",
]
