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

    def __init__(self, *, scale: bool = True) -> None:
        self.scale = scale

    def fit(self, X) -> TabularEncoder:
        """Learn medians, scales and category levels from ``X``; returns ``self``."""
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
        with np.errstate(invalid="ignore"):
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-missing column
                medians = np.nanmedian(values, axis=0) if values.shape[1] else np.zeros(0)
        self.medians_ = np.nan_to_num(medians)
        filled = np.where(np.isnan(values), self.medians_, values)
        if getattr(self, "scale", True):
            self.means_ = filled.mean(axis=0) if len(filled) else np.zeros(filled.shape[1])
            scale = filled.std(axis=0) if len(filled) else np.ones(filled.shape[1])
            self.scales_ = np.where(scale > 0, scale, 1.0)
        else:
            self.means_, self.scales_ = np.zeros(filled.shape[1]), np.ones(filled.shape[1])
        self.onehot_ = None
        if self.other_:
            self.onehot_ = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
            self.onehot_.fit(self._categories(X))
        return self

    def _categories(self, X) -> np.ndarray:
        frame = X[self.other_].astype(object)
        return frame.where(frame.notna(), "__missing__").astype(str).to_numpy()

    def transform(self, X) -> np.ndarray:
        """The encoded float32 matrix: numeric columns first, then the one-hot levels."""
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
        return np.hstack(parts).astype(np.float32)
