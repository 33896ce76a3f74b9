"""The one input object: a table and the roles of its columns."""

from __future__ import annotations

import difflib
import os
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from raikit._errors import ColumnError, DataError, FileFormatError
from raikit._grouping import GroupEncoding, encode_groups, fill_missing
from raikit._schema import Schema, infer_column_schema

__all__ = ["Dataset", "Groups", "read_table"]

_READERS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}


class Groups(NamedTuple):
    """Integer group code per row and the labels of each code."""

    codes: np.ndarray
    labels: pd.DataFrame


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a CSV, TSV or Parquet file (optionally ``.gz`` compressed) into a DataFrame.

    Raises
    ------
    FileFormatError
        When the file is missing, empty, corrupt, or of a format raikit does not read.
    """
    path = Path(path)
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in {".gz", ".bz2", ".zip", ".xz", ".zst"}:
        suffixes = suffixes[:-1]
    kind = _READERS.get(suffixes[-1] if suffixes else "")
    if kind is None:
        raise FileFormatError(
            f"Cannot read {str(path)!r}: unsupported file type {path.suffix or '(none)'!r}. "
            f"raikit reads .csv, .tsv and .parquet files (optionally .gz compressed); "
            f"convert the file or load it with pandas and pass the DataFrame."
        )
    if not path.exists():
        raise FileFormatError(f"File not found: {str(path)!r}. Check the path and try again.")
    try:
        if kind == "parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, sep="\t" if kind == "tsv" else ",", low_memory=False)
    except pd.errors.EmptyDataError as error:
        raise FileFormatError(
            f"File {str(path)!r} is empty: it has no header and no rows."
        ) from error
    except Exception as error:
        raise FileFormatError(
            f"Cannot read {str(path)!r} as {kind}: {type(error).__name__}: {error}. "
            f"The file may be corrupt or not really {kind}; open it to check."
        ) from error


def _as_list(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


class Dataset:
    """A table and the roles of its columns: target, sensitive attributes, features, predictions.

    Parameters
    ----------
    data : DataFrame, polars DataFrame, str or path
        The table, or a path to a CSV, TSV or Parquet file.
    target : str or None
        Name of the label column. ``None`` is allowed for unlabelled data (e.g. production inputs).
    sensitive : str or list of str
        Names of the protected attributes (e.g. ``["sex", "race"]``).
    features : list of str, optional
        Model inputs. By default every column that is not the target, a sensitive attribute, the
        prediction or the score: sensitive attributes enter ``X`` only when listed here explicitly.
    prediction : str, optional
        Column holding a model's predicted labels.
    score : str, optional
        Column holding a model's scores (probability of the positive class).
    name : str, optional
        A name used in reports and the ledger.
    missing_group : str, optional
        Label for missing values in sensitive columns (e.g. ``"(missing)"``). By default a missing
        sensitive value is an error.

    Examples
    --------
    >>> import pandas as pd
    >>> from raikit import Dataset
    >>> frame = pd.DataFrame({"age": [25, 47, 33, 51], "sex": ["F", "M", "F", "M"],
    ...                       "race": ["A", "A", "B", "B"], "hired": [1, 0, 0, 1]})
    >>> ds = Dataset(frame, target="hired", sensitive=["sex", "race"])
    >>> list(ds.X.columns), ds.y.tolist()
    (['age'], [1, 0, 0, 1])
    >>> codes, labels = ds.groups()
    >>> codes.tolist()
    [0, 2, 1, 3]
    >>> labels["sex"].tolist(), labels["race"].tolist()
    (['F', 'F', 'M', 'M'], ['A', 'B', 'A', 'B'])
    """

    def __init__(
        self,
        data,
        *,
        target: str | None,
        sensitive: str | Sequence[str],
        features: Sequence[str] | None = None,
        prediction: str | None = None,
        score: str | None = None,
        name: str | None = None,
        missing_group: str | None = None,
    ) -> None:
        source = None
        if isinstance(data, str | os.PathLike):
            source = str(data)
            frame = read_table(data)
            name = name or Path(source).name.split(".")[0]
        elif type(data).__module__.startswith("polars"):
            frame = data.to_pandas()
        elif isinstance(data, pd.DataFrame):
            frame = data
        else:
            raise DataError(
                f"data must be a pandas or polars DataFrame or a path to a CSV/Parquet file, "
                f"got {type(data).__name__}."
            )
        if frame.shape[1] == 0 or len(frame) == 0:
            raise DataError(
                f"The table is empty ({len(frame)} rows, {frame.shape[1]} columns); "
                f"raikit needs at least one row and the columns you name."
            )
        frame = frame.reset_index(drop=True)
        frame.columns = [str(c) for c in frame.columns]
        if frame.columns.duplicated().any():
            dupes = sorted(set(frame.columns[frame.columns.duplicated()]))
            raise DataError(f"Column names must be unique; duplicated: {dupes}. Rename them.")
        self._frame = frame
        self.source = source
        self.name = name or "dataset"
        self.target = target
        self.sensitive_names = _as_list(sensitive)
        self.prediction = prediction
        self.score = score
        self.missing_group = missing_group
        if not self.sensitive_names:
            raise DataError(
                "No sensitive attribute was named. Pass sensitive='col' or sensitive=['a', 'b'] "
                "with the protected attributes whose groups raikit should compare."
            )
        for role, columns in (
            ("target", _as_list(target)),
            ("sensitive", self.sensitive_names),
            ("prediction", _as_list(prediction)),
            ("score", _as_list(score)),
            ("features", _as_list(features)),
        ):
            for column in columns:
                self._check_column(column, role)
        if target is not None and target in self.sensitive_names:
            raise ColumnError(
                f"The target {target!r} is also listed as sensitive; a column has one role. "
                f"Remove it from sensitive=."
            )
        reserved = {c for c in (target, prediction, score) if c is not None}
        if features is None:
            excluded = reserved | set(self.sensitive_names)
            self.feature_names = [c for c in frame.columns if c not in excluded]
        else:
            self.feature_names = _as_list(features)
            clash = [c for c in self.feature_names if c in reserved]
            if clash:
                raise ColumnError(
                    f"Column {clash[0]!r} is listed as a feature but is the target, prediction or "
                    f"score; a model must not see it. Remove it from features=."
                )
        # Validate sensitive columns now so that bad data fails at construction, not deep in a check.
        _ = self._encoding

    # ------------------------------------------------------------------ validation
    def _check_column(self, column: str, role: str) -> None:
        if column in self._frame.columns:
            return
        close = difflib.get_close_matches(column, list(self._frame.columns), n=3)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        available = list(self._frame.columns)
        shown = available[:20] + (["..."] if len(available) > 20 else [])
        raise ColumnError(f"Unknown {role} column {column!r}.{hint} Available columns: {shown}.")

    # ------------------------------------------------------------------ data access
    @property
    def frame(self) -> pd.DataFrame:
        """The whole table."""
        return self._frame

    @property
    def n_rows(self) -> int:
        """Number of rows."""
        return len(self._frame)

    def __len__(self) -> int:
        return len(self._frame)

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, rows={self.n_rows}, target={self.target!r}, "
            f"sensitive={self.sensitive_names}, features={len(self.feature_names)})"
        )

    @property
    def X(self) -> pd.DataFrame:
        """The feature columns."""
        return self._frame[self.feature_names]

    @property
    def y(self) -> pd.Series:
        """The target column."""
        if self.target is None:
            raise DataError(
                f"Dataset {self.name!r} has no target; pass target='column' to use labels."
            )
        return self._frame[self.target]

    @property
    def sensitive(self) -> pd.DataFrame:
        """The sensitive attributes, one column each (missing values replaced by ``missing_group``)."""
        frame = self._frame[self.sensitive_names]
        if self.missing_group is not None and frame.isna().any().any():
            frame = frame.apply(fill_missing, label=self.missing_group)
        return frame

    @property
    def y_pred(self) -> pd.Series:
        """The prediction column."""
        if self.prediction is None:
            raise DataError(
                f"Dataset {self.name!r} has no prediction column; pass prediction='column' "
                f"or add a model's predictions with ds.with_predictions(model)."
            )
        return self._frame[self.prediction]

    @property
    def y_score(self) -> pd.Series | None:
        """The score column, or ``None``."""
        return None if self.score is None else self._frame[self.score]

    @cached_property
    def schema(self) -> Schema:
        """The inferred :class:`~raikit._schema.Schema` of every column (computed once)."""
        columns = tuple(infer_column_schema(c, self._frame[c]) for c in self._frame.columns)
        roles = {
            "target": self.target,
            "sensitive": self.sensitive_names,
            "features": self.feature_names,
            "prediction": self.prediction,
            "score": self.score,
        }
        return Schema(columns=columns, n_rows=self.n_rows, roles=roles)

    @cached_property
    def _encoding(self) -> GroupEncoding:
        return encode_groups(self._frame[self.sensitive_names], missing_group=self.missing_group)

    @property
    def task(self) -> str:
        """``"binary"``, ``"multiclass"`` or ``"regression"``, inferred from the target."""
        y = self.y
        if pd.api.types.is_float_dtype(y.dtype) and y.nunique() > 2:
            if not np.allclose(y.dropna(), np.round(y.dropna())) or y.nunique() > 50:
                return "regression"
        n = y.nunique()
        return "binary" if n <= 2 else "multiclass"

    def check_binary_target(self) -> None:
        """Raise a :class:`DataError` unless the target has exactly two values."""
        values = self.y.dropna().unique()
        if len(values) != 2:
            shown = sorted(map(str, values))[:10]
            raise DataError(
                f"This check needs a binary target but {self.target!r} has {len(values)} distinct "
                f"value(s): {shown}. Map it to 0/1 first (e.g. df[col] = (df[col] == 'yes'))."
            )

    def groups(self, intersectional: bool = True, *, attribute: str | None = None) -> Groups:
        """Integer group code per row, and the table of group labels.

        Parameters
        ----------
        intersectional : bool, default True
            Code the intersection of every sensitive attribute (``sex & race``). With ``False``, code
            one attribute: the only one, or the one named by ``attribute``.
        attribute : str, optional
            The sensitive attribute to code alone.

        Returns
        -------
        Groups
            ``codes`` (``int64`` array, one per row) and ``labels`` (DataFrame indexed by code).
        """
        encoding = self._encoding
        if attribute is None and intersectional:
            labels = encoding.intersection_labels[encoding.names].copy()
            labels.index.name = "group"
            return Groups(encoding.intersection_codes, labels)
        if attribute is None:
            if len(encoding.names) > 1:
                raise DataError(
                    f"intersectional=False needs one attribute; this dataset has "
                    f"{encoding.names}. Pass attribute='{encoding.names[0]}'."
                )
            attribute = encoding.names[0]
        if attribute not in encoding.names:
            raise ColumnError(
                f"{attribute!r} is not a sensitive attribute of this dataset; "
                f"choose one of {encoding.names}."
            )
        i = encoding.names.index(attribute)
        labels = pd.DataFrame({attribute: encoding.levels[i]})
        labels.index.name = "group"
        return Groups(encoding.codes[i], labels)

    # ------------------------------------------------------------------ derived datasets
    def replace(self, frame: pd.DataFrame | None = None, **changes) -> Dataset:
        """A new Dataset with another table and/or other roles (``target``, ``sensitive``,
        ``features``, ``prediction``, ``score``, ``name``, ``missing_group``).

        Examples
        --------
        >>> from raikit.datasets import load_german_credit
        >>> ds = load_german_credit().replace(features=["duration_months", "age"])
        >>> list(ds.X.columns)
        ['duration_months', 'age']
        """
        params = {
            "target": self.target,
            "sensitive": self.sensitive_names,
            "features": self.feature_names,
            "prediction": self.prediction,
            "score": self.score,
            "name": self.name,
            "missing_group": self.missing_group,
        }
        params.update(changes)
        return Dataset(self._frame if frame is None else frame, **params)

    def subset(self, rows) -> Dataset:
        """A new Dataset with the rows selected by a boolean mask or integer positions."""
        return self.replace(
            self._frame.iloc[np.asarray(rows)]
            if np.asarray(rows).dtype != bool
            else self._frame.loc[np.asarray(rows)]
        )

    def with_predictions(
        self, model, *, prediction: str = "prediction", score: str | None = "score"
    ) -> Dataset:
        """A new Dataset with a fitted model's predictions (and scores, when it has
        ``predict_proba`` and the target is binary) added as columns.

        Models whose ``predict`` takes ``sensitive_features`` (Fairlearn's post-processing) get the
        sensitive attributes; randomised ones get ``random_state=0`` so the result is repeatable.
        """
        import inspect

        frame = self._frame.copy()
        X = self.X
        extra: dict = {}
        parameters = inspect.signature(model.predict).parameters
        if "sensitive_features" in parameters:
            sensitive = self.sensitive
            extra["sensitive_features"] = (
                sensitive.iloc[:, 0] if sensitive.shape[1] == 1 else sensitive
            )
        if "random_state" in parameters:
            extra["random_state"] = 0
        frame[prediction] = model.predict(X, **extra)
        if score is not None and hasattr(model, "predict_proba"):
            proba = model.predict_proba(X)
            if proba.ndim == 2 and proba.shape[1] == 2:
                frame[score] = proba[:, 1]
            else:
                score = None
        else:
            score = None
        return self.replace(frame, prediction=prediction, score=score)

    def split(
        self,
        test_size: float = 0.25,
        *,
        stratify: bool | str | Sequence[str] = True,
        random_state: int | None = None,
    ) -> tuple[Dataset, Dataset]:
        """Split into train and test Datasets, stratified by target and sensitive attributes.

        Parameters
        ----------
        test_size : float, default 0.25
            Share of rows in the test set.
        stratify : bool, str or list of str, default True
            ``True``: keep the share of every (sensitive group x label) cell; a column name or
            list of names: stratify by those columns; ``False``: a plain random split.
        random_state : int, optional
            Seed.

        Strata that are too small to appear on both sides (fewer than 2 rows) are merged into one
        stratum so that the split never fails on a rare group.

        Examples
        --------
        >>> import pandas as pd
        >>> from raikit import Dataset
        >>> frame = pd.DataFrame({"x": range(100), "s": ["a", "b"] * 50, "y": [0, 0, 1, 1] * 25})
        >>> train, test = Dataset(frame, target="y", sensitive="s").split(0.2, random_state=0)
        >>> len(train), len(test), test.frame.groupby(["s", "y"]).size().tolist()
        (80, 20, [5, 5, 5, 5])
        """
        from sklearn.model_selection import train_test_split

        if not 0 < test_size < 1:
            raise DataError(f"test_size must be between 0 and 1, got {test_size}.")
        strata = codes = None
        if stratify is True:
            codes = self._encoding.intersection_codes
            if self.target is not None:
                y_codes = pd.factorize(self.y)[0]
                codes = codes * (y_codes.max() + 2) + y_codes + 1
        elif stratify:
            columns = _as_list(stratify)
            for column in columns:
                self._check_column(column, "stratify")
            codes = encode_groups(
                self._frame[columns], missing_group="(missing)"
            ).intersection_codes
        if codes is not None:
            dense = pd.factorize(codes)[0]
            rare = np.bincount(dense)[dense] < 2
            strata = np.where(rare, -1, codes)
            if (strata == -1).sum() == 1:  # a lone rare row cannot be its own stratum
                strata[strata == -1] = strata[strata != -1][0] if (strata != -1).any() else -1
        train_idx, test_idx = train_test_split(
            np.arange(self.n_rows), test_size=test_size, stratify=strata, random_state=random_state
        )
        return (
            self.replace(self._frame.iloc[np.sort(train_idx)]),
            self.replace(self._frame.iloc[np.sort(test_idx)]),
        )
