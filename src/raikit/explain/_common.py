"""Shared helpers of the explain stage: inputs, predictions and a numeric encoding of mixed frames."""

from __future__ import annotations

import numpy as np
import pandas as pd

from raikit._errors import ColumnError, DataError, ParameterError

__all__ = [
    "FrameCodec",
    "as_frame",
    "fitted_model",
    "positive_class",
    "positive_score",
    "predict_labels",
]


def fitted_model(value) -> bool:
    """a fitted estimator with a predict method (fit it first or load it with
    raikit.load_model(path))"""
    return value is not None and hasattr(value, "predict") and not isinstance(value, str | type)


def positive_class(model, pos_label=None):
    """``(column, label)`` of the positive class of a binary classifier.

    ``label`` is resolved by :func:`raikit.metrics.resolve_pos_label` from ``model.classes_``:
    ``pos_label``, or inferred only for 0/1, False/True and -1/1 classes (never "the last class"
    by habit). ``column`` is its column in ``predict_proba`` (None without ``predict_proba``).
    ``(None, None)`` for a model with other than two classes.

    Examples
    --------
    >>> from sklearn.dummy import DummyClassifier
    >>> model = DummyClassifier().fit([[0], [1]], ["yes", "no"])
    >>> positive_class(model, "yes")
    (1, 'yes')
    """
    from raikit.metrics._group_metrics import _label_list, positive_column

    classes = getattr(model, "classes_", None)
    if classes is None or len(classes) != 2:
        return None, None
    column = positive_column(classes, pos_label)
    label = _label_list(classes)[column]
    return (column if hasattr(model, "predict_proba") else None), label


def as_frame(data, *, name: str = "data", model=None) -> pd.DataFrame:
    """Model inputs as a DataFrame: a Dataset's ``X`` (the ``model``'s inputs when it is given,
    see :meth:`raikit.Dataset.for_model`), a DataFrame, a Series (one row) or a dict."""
    from raikit.dataset import Dataset

    if isinstance(data, Dataset):
        return data.X if model is None else data.for_model(model).X
    if type(data).__module__.startswith("polars"):
        data = data.to_pandas()
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, pd.Series):
        return data.to_frame().T.infer_objects()
    if isinstance(data, dict):
        return pd.DataFrame({k: [v] for k, v in data.items()})
    raise ParameterError(
        f"{name} must be a raikit Dataset, a DataFrame, a Series or a dict, got "
        f"{type(data).__name__}."
    )


def align_columns(frame: pd.DataFrame, reference: pd.DataFrame, *, name: str) -> pd.DataFrame:
    """``frame`` with ``reference``'s columns, in order, and the same categorical dtypes."""
    missing = [c for c in reference.columns if c not in frame.columns]
    if missing:
        raise ColumnError(
            f"{name} lacks the model input column(s) {missing}; pass every feature of the data."
        )
    out = frame[list(reference.columns)].copy()
    for c in reference.columns:
        dtype = reference[c].dtype
        if isinstance(dtype, pd.CategoricalDtype) and out[c].dtype != dtype:
            unknown = set(pd.unique(out[c].dropna())) - set(dtype.categories)
            if unknown:
                raise DataError(
                    f"{name}: column {c!r} has value(s) {sorted(map(str, unknown))} that are not "
                    f"categories of the data ({list(dtype.categories)[:10]}…)."
                )
            out[c] = out[c].astype(dtype)
    return out


def predict_labels(model, X: pd.DataFrame) -> np.ndarray:
    return np.asarray(model.predict(X))


def positive_score(model, X: pd.DataFrame, pos_label=None) -> np.ndarray | None:
    """Probability of the positive class (see :func:`positive_class`) for binary classifiers,
    None otherwise."""
    if not hasattr(model, "predict_proba"):
        return None
    column, _ = positive_class(model, pos_label)
    if column is None:
        return None
    return np.asarray(model.predict_proba(X))[:, column]


class FrameCodec:
    """A mixed DataFrame as a float matrix (categories as their codes, missing as NaN), and back.

    Model-agnostic explainers and the counterfactual search work on the matrix; ``decode`` gives
    the model a frame with the original dtypes.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"a": [1, 2], "c": pd.Categorical(["x", "y"])})
    >>> codec = FrameCodec(X)
    >>> codec.encode(X).tolist()
    [[1.0, 0.0], [2.0, 1.0]]
    >>> codec.decode(codec.encode(X)).equals(X)
    True
    """

    def __init__(self, reference: pd.DataFrame) -> None:
        self.columns = list(reference.columns)
        self.dtypes = reference.dtypes.to_dict()
        self.categorical = {
            c: d
            for c, d in self.dtypes.items()
            if isinstance(d, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(d)
        }
        self.categories = {}
        for c in self.categorical:
            d = self.dtypes[c]
            if isinstance(d, pd.CategoricalDtype):
                self.categories[c] = pd.CategoricalDtype(d.categories, ordered=d.ordered)
            else:  # strings or booleans stored as objects: their observed values
                values = pd.unique(reference[c].dropna())
                try:
                    values = np.sort(values)
                except TypeError:
                    values = np.array(sorted(values, key=str), dtype=object)
                self.categories[c] = pd.CategoricalDtype(values)

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        out = np.empty((len(frame), len(self.columns)), dtype=float)
        for j, c in enumerate(self.columns):  # loop over columns, vectorised over rows
            if c in self.categorical:
                codes = pd.Categorical(frame[c], dtype=self.categories[c]).codes.astype(float)
                codes[codes < 0] = np.nan
                out[:, j] = codes
            else:
                out[:, j] = pd.to_numeric(frame[c], errors="coerce").to_numpy(
                    dtype=float, na_value=np.nan
                )
        return out

    def decode(self, Z: np.ndarray) -> pd.DataFrame:
        Z = np.asarray(Z, dtype=float)
        data = {}
        for j, c in enumerate(self.columns):
            z = Z[:, j]
            dtype = self.dtypes[c]
            if c in self.categorical:
                codes = np.where(np.isnan(z), -1, z).astype(np.int64)
                column = pd.Categorical.from_codes(codes, dtype=self.categories[c])
                if not isinstance(dtype, pd.CategoricalDtype):
                    column = pd.Series(column).astype(object).to_numpy()
                data[c] = column
            elif pd.api.types.is_integer_dtype(dtype) and not np.isnan(z).any():
                data[c] = np.round(z).astype(dtype)
            elif pd.api.types.is_bool_dtype(dtype) and not np.isnan(z).any():
                data[c] = z.astype(bool)
            else:
                data[c] = z
        return pd.DataFrame(data, columns=self.columns)

    def is_numeric(self, column: str) -> bool:
        return column not in self.categorical


def predict_along(predict, X: pd.DataFrame, feature: str, values, *, caller: str) -> np.ndarray:
    """Predictions ``(rows, k)`` of each row of ``X`` with ``feature`` set to ``values`` (a grid
    shared by every row, or a ``(rows, k)`` matrix of each row's own values): one stacked call.

    Individual conditional expectation curves (ICE: partial dependence, shape constraints) all
    come from here. An integer column gets rounded values, a categorical one keeps its dtype.

    Parameters
    ----------
    predict : callable
        Maps a frame like ``X`` to one output per row.
    X : DataFrame
        The rows.
    feature : str
        The column that varies.
    values : array-like of shape (k,) or (rows, k)
        The values it takes.
    caller : str
        Named in the error, e.g. ``"partial_dependence()"``.

    Returns
    -------
    ndarray of shape (rows, k)

    Raises
    ------
    DataError
        When the model cannot predict on the varied rows.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"a": [1, 2], "b": [10, 20]})
    >>> predict_along(lambda F: (F["a"] * F["b"]).to_numpy(), X, "a", [0, 3], caller="f()")
    array([[ 0., 30.],
           [ 0., 60.]])
    """
    n = len(X)
    values = (
        np.broadcast_to(np.asarray(values)[None, :], (n, len(values)))
        if np.ndim(values) == 1
        else np.asarray(values)
    )
    k = values.shape[1]
    stacked = X.iloc[np.tile(np.arange(n), k)].reset_index(drop=True)
    flat = values.T.ravel()  # block j holds every row's j-th value
    dtype = X[feature].dtype
    if isinstance(dtype, pd.CategoricalDtype):
        stacked[feature] = pd.Categorical(flat, dtype=dtype)
    elif pd.api.types.is_integer_dtype(dtype):
        stacked[feature] = np.round(flat.astype(float)).astype(dtype)
    else:
        stacked[feature] = pd.Series(flat).astype(dtype).to_numpy()
    try:
        return np.asarray(predict(stacked), dtype=float).reshape(k, n).T
    except Exception as error:
        raise DataError(
            f"{caller}: the model could not predict with {feature!r} varied: "
            f"{type(error).__name__}: {error}"
        ) from error
