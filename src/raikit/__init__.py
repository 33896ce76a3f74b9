"""raikit: responsible machine learning for tabular data.

Fairness, robustness, explainability and privacy checks that record their evidence.
"""

from raikit import ledger
from raikit._errors import (
    ColumnError,
    DataError,
    FileFormatError,
    ParameterError,
    RaikitError,
    RaikitWarning,
)
from raikit._models import load_model, save_model
from raikit._result import Finding, Result
from raikit.dataset import Dataset
from raikit.ledger import track
from raikit.metrics import group_metrics, group_metrics_of

__version__ = "0.1.0"


def __getattr__(name: str):
    """``raikit.audit`` is imported on first use (it is callable: ``raikit.audit(model, ...)``)."""
    if name == "audit":
        import importlib

        return importlib.import_module("raikit.audit")
    raise AttributeError(f"module 'raikit' has no attribute {name!r}")


__all__ = [
    "ColumnError",
    "DataError",
    "Dataset",
    "FileFormatError",
    "Finding",
    "ParameterError",
    "RaikitError",
    "RaikitWarning",
    "Result",
    "__version__",
    "audit",
    "group_metrics",
    "group_metrics_of",
    "ledger",
    "load_model",
    "save_model",
    "track",
]
