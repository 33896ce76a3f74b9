"""The public packages the API reference documents, one list for the tests that walk them
(``docs/conf.py``'s ``API_PACKAGES`` names the same packages, with a line about each)."""

API_PACKAGES = (
    "raikit",
    "raikit.metrics",
    "raikit.data",
    "raikit.evaluate",
    "raikit.train",
    "raikit.explain",
    "raikit.privacy",
    "raikit.federated",
    "raikit.sandbox",
    "raikit.review",
    "raikit.monitor",
    "raikit.ledger",
    "raikit.cards",
    "raikit.audit",
    "raikit.gates",
    "raikit.testing",
    "raikit.datasets",
)
