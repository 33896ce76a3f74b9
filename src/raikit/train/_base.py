"""The scikit-learn side shared by raikit's torch-backed classifiers."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from raikit._errors import DataError, ParameterError
from raikit.train._common import TabularEncoder, _string_columns
from raikit.train._torch_models import forward_numpy, forward_torch

__all__ = [
    "TabularClassifierMixin",
    "TabularRegressorMixin",
    "TorchClassifierBase",
    "combined_weights",
]


def _is_tabular(X) -> bool:
    """A DataFrame that needs encoding: non-numeric columns or missing values."""
    if not isinstance(X, pd.DataFrame):
        return False
    numeric = all(dtype.kind in "fiu" for dtype in X.dtypes)
    return not numeric or bool(X.isna().to_numpy().any())


def combined_weights(y_codes: np.ndarray, n_classes: int, sample_weight, class_weight):
    """Per-row weights: ``sample_weight`` times the class weight of the row's label."""
    n = len(y_codes)
    weights = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    if weights.shape != (n,):
        raise DataError(f"sample_weight must have one value per row ({n}), got {weights.shape}.")
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise DataError("sample_weight must be finite and non-negative.")
    if not weights.sum() > 0:
        raise DataError(
            "sample_weight is zero for every row; give at least one row a positive weight."
        )
    if class_weight is None:
        return weights
    if class_weight == "balanced":
        counts = np.bincount(y_codes, minlength=n_classes).astype(float)
        per_class = n / (n_classes * np.maximum(counts, 1))
    else:
        raise ParameterError(
            f"class_weight must be None, 'balanced' or a dict, got {class_weight!r}."
        )
    return weights * per_class[y_codes]


class TabularClassifierMixin:
    """Input validation and encoding shared by raikit's classifiers on tables.

    A numeric array (or an all-numeric DataFrame without missing values) goes through
    scikit-learn's ``validate_data`` (no NaN, no infinity, no sparse or complex input); a
    DataFrame with categorical, text or missing values is encoded by :class:`TabularEncoder`
    (numerics median-imputed and standardised, the rest one-hot). The encoder's statistics are
    weighted by ``sample_weight``, so a weight of ``k`` acts as ``k`` copies of a row.
    """

    def _binary_only(self) -> bool:
        """Whether this configuration refuses a label with more than two classes."""
        return False

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False  # NaN only in a DataFrame, which is encoded
        tags.classifier_tags.multi_class = not self._binary_only()
        return tags

    def _prepare_fit(self, X, y, sample_weight, *, dtype: str = "float32"):
        """``(X_enc, y_codes, weights)``; sets ``classes_``, ``n_features_in_``, ``encoder_``."""
        X, y = self._check_rows(X, y)
        check_classification_targets(y)
        if pd.isna(pd.Series(y)).any():
            raise DataError("y has missing values; drop or fill those rows before fitting.")
        self.classes_, y_codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"The target y has only one class ({self.classes_[0]!r}); a classifier needs at "
                f"least 2 classes."
            )
        if self._binary_only() and len(self.classes_) > 2:
            raise DataError(
                f"Only binary classification is supported by {type(self).__name__}; y has "
                f"{len(self.classes_)} classes. Merge the labels into two classes first."
            )
        weights = self._weights(y_codes, sample_weight)
        self.encoder_ = TabularEncoder(dtype=dtype).fit(X, sample_weight=weights)
        X_enc = self.encoder_.transform(X)
        return X_enc, y_codes.astype(np.int64), weights

    def _check_rows(self, X, y, *, y_numeric: bool = False):
        """``(X, y)`` checked as scikit-learn does (sets ``tabular_`` and ``n_features_in_``);
        a DataFrame that needs encoding is kept as it is for :class:`TabularEncoder`."""
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        self.tabular_ = _is_tabular(X)
        if self.tabular_:
            y = column_or_1d(y, warn=True)
            if len(X) != len(y):
                raise DataError(f"X has {len(X)} rows but y has {len(y)}; they must match.")
            self.n_features_in_ = X.shape[1]
            self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        else:
            X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=y_numeric)
        if len(y) < 2:
            raise ValueError(f"Need at least 2 samples to fit, got n_samples = {len(y)}.")
        return X, y

    def _weights(self, y_codes, sample_weight):
        n_classes = len(self.classes_)
        cw = getattr(self, "class_weight", None)
        if isinstance(cw, dict):
            unknown = [k for k in cw if k not in self.classes_.tolist()]
            if unknown:
                raise ParameterError(
                    f"class_weight names labels {unknown} that are not in y "
                    f"({self.classes_.tolist()})."
                )
            per_class = np.array([float(cw.get(c, 1.0)) for c in self.classes_.tolist()])
            base = combined_weights(y_codes, n_classes, sample_weight, None)
            return base * per_class[y_codes]
        return combined_weights(y_codes, n_classes, sample_weight, cw)

    def _encode_predict(self, X) -> np.ndarray:
        check_is_fitted(self, "encoder_")
        if self.tabular_:
            if not isinstance(X, pd.DataFrame):
                raise DataError(
                    f"This model was fitted on a DataFrame with columns "
                    f"{self.feature_names_in_.tolist()}; pass a DataFrame with those columns."
                )
            X = _string_columns(X)
            missing = [c for c in self.feature_names_in_ if c not in X.columns]
            if missing:
                raise DataError(f"X is missing the column(s) {missing} the model was fitted on.")
            X = X[list(self.feature_names_in_)]
        else:
            X = validate_data(self, X, reset=False, dtype=np.float64)
        return self.encoder_.transform(X)


class TabularRegressorMixin(TabularClassifierMixin):
    """Input validation and encoding of raikit's regressors: the classifiers' encoding of tables,
    with a numeric, finite target instead of class labels."""

    def __sklearn_tags__(self):
        tags = super(TabularClassifierMixin, self).__sklearn_tags__()
        tags.input_tags.allow_nan = False  # NaN only in a DataFrame, which is encoded
        return tags

    def _prepare_fit(self, X, y, sample_weight, *, dtype: str = "float64"):
        """``(X_enc, y_float, weights)``; sets ``n_features_in_`` and ``encoder_``."""
        X, y = self._check_rows(X, y, y_numeric=True)
        try:
            y = np.asarray(y, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise DataError(
                f"{type(self).__name__} needs a numeric target; y holds {y[0]!r}-like values."
            ) from error
        if not np.isfinite(y).all():
            raise DataError(
                f"y has {int((~np.isfinite(y)).sum())} missing or infinite value(s); drop or "
                f"fill those rows before fitting."
            )
        weights = combined_weights(np.zeros(len(y), dtype=np.int64), 1, sample_weight, None)
        self.encoder_ = TabularEncoder(dtype=dtype).fit(X, sample_weight=weights)
        return self.encoder_.transform(X), y, weights


class WrappedClassifierMixin:
    """Prediction of estimators that fit a scikit-learn ``estimator_`` on encoded rows and coded
    labels (``0 .. n_classes - 1``): Reweighing and the comparison's baseline."""

    def predict(self, X):
        """Predicted labels."""
        X_enc = self._encode_predict(X)
        return self.classes_[np.asarray(self.estimator_.predict(X_enc)).astype(int)]

    def predict_proba(self, X):
        """Class probabilities, one column per entry of ``classes_``."""
        X_enc = self._encode_predict(X)
        proba = np.asarray(self.estimator_.predict_proba(X_enc))
        out = np.zeros((len(X_enc), len(self.classes_)))
        out[:, np.asarray(self.estimator_.classes_).astype(int)] = proba
        return out


class TorchClassifierBase(TabularClassifierMixin, ClassifierMixin, BaseEstimator):
    """Validation, encoding and numpy prediction shared by FairBatch and FR-Train."""

    def decision_function(self, X) -> np.ndarray:
        """Raw scores: the logit of the positive class (binary) or one logit per class."""
        logits = self._logits(self._encode_predict(X))
        return logits[:, 0] if logits.shape[1] == 1 else logits

    def _logits(self, X_enc: np.ndarray) -> np.ndarray:
        if isinstance(self.network, str):
            return forward_numpy(self.coefs_, self.intercepts_, X_enc)
        n_out = 1 if len(self.classes_) == 2 else len(self.classes_)
        return forward_torch(self.network, self.state_, X_enc, X_enc.shape[1], n_out)

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, one column per entry of ``classes_``."""
        return _proba(self._logits(self._encode_predict(X)))

    def predict(self, X) -> np.ndarray:
        """Predicted class labels."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


def _proba(logits: np.ndarray) -> np.ndarray:
    if logits.shape[1] == 1:
        from scipy.special import expit

        p1 = expit(logits[:, 0])
        return np.column_stack([1 - p1, p1])
    from scipy.special import softmax

    return softmax(logits, axis=1)
