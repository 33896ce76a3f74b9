"""Shared helpers of the training stage: torch import, constraints, sensitive codes, encoding."""

from __future__ import annotations

import numpy as np
import pandas as pd

from raikit._errors import DataError, RaikitError

__all__ = ["CONSTRAINTS", "TabularEncoder", "check_constraint", "import_torch", "sensitive_codes"]

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
    if constraint not in CONSTRAINTS:
        raise DataError(
            f"constraint must be one of {list(CONSTRAINTS)} (equal opportunity, equalized odds, "
            f"demographic parity), got {constraint!r}."
        )
    return constraint


def sensitive_codes(sensitive, n_rows: int, *, name: str = "sensitive_features"):
    """Integer group codes (the intersection of every attribute) and their labels.

    Returns ``(codes, labels)`` where ``codes`` is an ``int64`` array with one code per row and
    ``labels`` a list of strings, one per code.
    """
    from raikit._grouping import encode_groups, to_sensitive_frame

    if sensitive is None:
        raise DataError(
            f"{name} is required: pass one sensitive value per row, e.g. {name}=df['sex']."
        )
    frame = to_sensitive_frame(sensitive)
    if len(frame) != n_rows:
        raise DataError(
            f"{name} has {len(frame)} rows but X has {n_rows}; pass one sensitive value per row."
        )
    if frame.isna().any().any():
        column = frame.columns[frame.isna().any()].tolist()
        raise DataError(
            f"{name} has missing values in {column}; fill them (e.g. with 'missing') first."
        )
    encoding = encode_groups(frame)
    labels = [
        " & ".join(str(v) for v in row)
        for row in encoding.intersection_labels[list(encoding.names)].itertuples(index=False)
    ]
    return np.asarray(encoding.intersection_codes, dtype=np.int64), labels


class TabularEncoder:
    """Fit-once encoding of a table to a float matrix: one-hot categoricals, scaled numerics.

    Numeric columns are imputed with their median and standardised; categorical, boolean and
    object columns are one-hot encoded with missing values as their own level and unseen levels
    ignored. Fitted state is numpy arrays and a scikit-learn ``OneHotEncoder``, so skops saves it
    without extra trusted types.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"a": [1.0, None, 3.0], "b": ["x", "y", None]})
    >>> TabularEncoder().fit(frame).transform(frame).astype(float).round(3).tolist()
    [[-1.225, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0], [1.225, 1.0, 0.0, 0.0]]
    """

    def fit(self, X) -> TabularEncoder:
        from sklearn.preprocessing import OneHotEncoder

        if isinstance(X, pd.DataFrame):
            self.numeric_ = [str(c) for c in X.columns if X[c].dtype.kind in "fiub"]
            self.other_ = [str(c) for c in X.columns if str(c) not in self.numeric_]
            self.columns_ = [str(c) for c in X.columns]
            values = (
                X[self.numeric_].to_numpy(dtype=np.float64, na_value=np.nan)
                if self.numeric_
                else np.empty((len(X), 0))
            )
        else:
            self.numeric_, self.other_, self.columns_ = None, [], None
            values = np.asarray(X, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-missing column
                medians = np.nanmedian(values, axis=0) if values.shape[1] else np.zeros(0)
        self.medians_ = np.nan_to_num(medians)
        filled = np.where(np.isnan(values), self.medians_, values)
        self.means_ = filled.mean(axis=0) if len(filled) else np.zeros(filled.shape[1])
        scale = filled.std(axis=0) if len(filled) else np.ones(filled.shape[1])
        self.scales_ = np.where(scale > 0, scale, 1.0)
        self.onehot_ = None
        if self.other_:
            self.onehot_ = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
            self.onehot_.fit(self._categories(X))
        return self

    def _categories(self, X) -> np.ndarray:
        frame = X[self.other_].astype(object)
        return frame.where(frame.notna(), "__missing__").astype(str).to_numpy()

    def transform(self, X) -> np.ndarray:
        if self.columns_ is not None:
            if not isinstance(X, pd.DataFrame):
                X = pd.DataFrame(np.asarray(X), columns=self.columns_)
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
        return np.hstack(parts).astype(np.float32)
