"""Documentation views rendered from ledger evidence: problem definition, model card, Annex IV.

Missing evidence is shown as a gap, never invented.
"""

from raikit.cards._cards import (
    PROBLEM_QUESTIONS,
    Card,
    annex_iv,
    load_problem,
    model_card,
    problem_template,
)

__all__ = [
    "PROBLEM_QUESTIONS",
    "Card",
    "annex_iv",
    "load_problem",
    "model_card",
    "problem_template",
]
