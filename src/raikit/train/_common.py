"""Shared helpers of the training stage: torch import, constraints, sensitive codes, encoding."""

from __future__ import annotations

import numpy as np
import pandas as pd

from raikit._errors import DataError, ParameterError, RaikitError, RaikitWarning
from raikit._fair_groups import sensitive_codes
from raikit._grouping import MISSING

__all__ = [
    "CONSTRAINTS",
    "TabularEncoder",
    "check_constraint",
    "fit_groups",
    "import_torch",
    "sensitive_codes",
]

CONSTRAINTS = ("eqopp", "eqodds", "dp")


def import_torch():
    """Import PyTorch or raise an error that names the extra to install."""
    try:
        import torch
    except ImportError as error:  # pragma: no cover - torch is installed in the dev env
        raise RaikitError(
            'This needs PyTorch, which is not installed. Install it with pip install "raikit[torch]".'
        ) from error
    return torch


def check_constraint(constraint: str) -> str:
    if not isinstance(constraint, str) or constraint not in CONSTRAINTS:
        raise ParameterError(
            f"constraint must be one of {list(CONSTRAINTS)} (equal opportunity, equalized odds, "
            f"demographic parity), got {constraint!r}."
        )
    return constraint


def fit_groups(sensitive_features, n_rows: int, *, owner: str):
    """``(codes, labels)`` of the sensitive groups given to ``owner.fit``.

    Without ``sensitive_features`` every row is in one group ``"all"``: no fairness constraint
    can act, so the estimator trains as its unconstrained counterpart, and a
    :class:`~raikit.RaikitWarning` says so (the documented fallback that lets scikit-learn's
    tools, which know nothing of sensitive features, fit it).
    """
    if sensitive_features is None:
        import warnings

        warnings.warn(
            f"{owner}.fit got no sensitive_features, so it trains without a fairness constraint "
            f"(every row in one group). Pass fit(X, y, sensitive_features=...); inside a Pipeline "
            f"or GridSearchCV, enable metadata routing (sklearn.set_config("
            f"enable_metadata_routing=True)) and call {owner}(...).set_fit_request("
            f"sensitive_features=True).",
            RaikitWarning,
            stacklevel=3,
        )
        return np.zeros(n_rows, dtype=np.int64), ["all"]
    return sensitive_codes(sensitive_features, n_rows)


def _string_columns(X: pd.DataFrame) -> pd.DataFrame:
    """``X`` with its column labels as strings (integer labels such as ``0, 1, 2`` included)."""
    names = [str(c) for c in X.columns]
    if len(set(names)) != len(names):
        duplicated = sorted({n for n in names if names.count(n) > 1})
        raise DataError(
            f"X has duplicated column names {duplicated} (after converting them to strings); "
            f"rename the columns so that each name is unique."
        )
    if all(isinstance(c, str) for c in X.columns):
        return X
    return X.set_axis(names, axis=1)


def _medians(values: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    """Per-column median ignoring NaN (weighted: the lowest value holding half the weight)."""
    if values.shape[1] == 0 or len(values) == 0:
        return np.full(values.shape[1], np.nan)
    if weights is None:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-missing column
            return np.nanmedian(values, axis=0)
    w = np.where(np.isnan(values), 0.0, weights[:, None])
    order = np.argsort(values, axis=0, kind="stable")  # NaN sort last
    sorted_values = np.take_along_axis(values, order, axis=0)
    cumulative = np.cumsum(np.take_along_axis(w, order, axis=0), axis=0)
    total = cumulative[-1]
    first = np.minimum((cumulative < total / 2).sum(axis=0), len(values) - 1)
    medians = sorted_values[first, np.arange(values.shape[1])]
    return np.where(total > 0, medians, np.nan)


class TabularEncoder:
    """Fit-once encoding of a table to a float matrix: one-hot categoricals, scaled numerics.

    Numeric and boolean columns are imputed with their median and (by default) standardised;
    categorical and object columns are one-hot encoded with missing values as their own level and
    unseen levels ignored. Column labels may be strings or integers (they are compared as strings).
    Fitted state is numpy arrays and a scikit-learn ``OneHotEncoder``, so skops saves it without
    extra trusted types.

    Parameters
    ----------
    scale : bool, default True
        Standardise numeric columns with their mean and standard deviation. ``False`` passes them
        through unchanged (for differentially private training, whose guarantee does not cover
        statistics of the private data).
    dtype : {"float32", "float64"}, default "float32"
        Type of the encoded matrix (float32 for torch networks, float64 for scikit-learn
        learners whose solvers need the precision).

    See Also
    --------
    raikit.train.FairBatchClassifier : encodes its inputs with it.

    Examples
    --------
    >>> import pandas as pd
    >>> from raikit.train import TabularEncoder
    >>> frame = pd.DataFrame({"a": [1.0, None, 3.0], "b": ["x", "y", None]})
    >>> TabularEncoder().fit(frame).transform(frame).astype(float).round(3).tolist()
    [[-1.225, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0], [1.225, 1.0, 0.0, 0.0]]
    >>> TabularEncoder(scale=False).fit(frame).transform(frame).astype(float).tolist()
    [[1.0, 0.0, 1.0, 0.0], [2.0, 0.0, 0.0, 1.0], [3.0, 1.0, 0.0, 0.0]]
    """

    def __init__(self, *, scale: bool = True, dtype: str = "float32") -> None:
        self.scale = scale
        self.dtype = dtype

    def fit(self, X, sample_weight=None) -> TabularEncoder:
        """Learn medians, scales and category levels from ``X``; returns ``self``.

        With ``sample_weight`` the medians, means and standard deviations are weighted (a
        weight of ``k`` counts a row ``k`` times).
        """
        from sklearn.preprocessing import OneHotEncoder

        if isinstance(X, pd.DataFrame):
            X = _string_columns(X)
            self.numeric_ = [c for c in X.columns if X[c].dtype.kind in "fiub"]
            self.other_ = [c for c in X.columns if c not in set(self.numeric_)]
            self.columns_ = list(X.columns)
            values = (
                X[self.numeric_].to_numpy(dtype=np.float64, na_value=np.nan)
                if self.numeric_
                else np.empty((len(X), 0))
            )
        else:
            self.numeric_, self.other_, self.columns_ = None, [], None
            values = np.asarray(X, dtype=np.float64)
        weights = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        self.medians_ = np.nan_to_num(_medians(values, weights))
        filled = np.where(np.isnan(values), self.medians_, values)
        if getattr(self, "scale", True) and len(filled):
            w = np.ones(len(filled)) if weights is None else weights
            self.means_ = np.average(filled, axis=0, weights=w) if filled.shape[1] else np.zeros(0)
            variance = np.average((filled - self.means_) ** 2, axis=0, weights=w)
            scale = np.sqrt(variance) if filled.shape[1] else np.ones(0)
            self.scales_ = np.where(scale > 1e-12 * np.maximum(np.abs(self.means_), 1), scale, 1.0)
        else:
            self.means_, self.scales_ = np.zeros(filled.shape[1]), np.ones(filled.shape[1])
        self.onehot_ = None
        if self.other_:
            self.onehot_ = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
            self.onehot_.fit(self._categories(X))
        return self

    def _categories(self, X) -> np.ndarray:
        frame = X[self.other_].astype(object)
        return frame.where(frame.notna(), MISSING).astype(str).to_numpy()

    def transform(self, X) -> np.ndarray:
        """The encoded matrix (of ``dtype``): numeric columns first, then the one-hot levels."""
        if self.columns_ is not None:
            if not isinstance(X, pd.DataFrame):
                X = pd.DataFrame(np.asarray(X), columns=self.columns_)
            X = _string_columns(X)
            missing = [c for c in self.columns_ if c not in X.columns]
            if missing:
                raise DataError(
                    f"X is missing the column(s) {missing} the encoder was fitted on; pass a "
                    f"table with the training columns."
                )
            values = (
                X[self.numeric_].to_numpy(dtype=np.float64, na_value=np.nan)
                if self.numeric_
                else np.empty((len(X), 0))
            )
        else:
            values = np.asarray(X, dtype=np.float64)
        filled = np.where(np.isnan(values), self.medians_, values)
        parts = [(filled - self.means_) / self.scales_]
        if self.onehot_ is not None:
            parts.append(self.onehot_.transform(self._categories(X)))
        return np.hstack(parts).astype(getattr(self, "dtype", "float32"))
