"""Column schema: kinds, nullability, ranges and category domains, inferred once and stored as JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["ColumnSchema", "Schema", "infer_column_schema"]

KINDS = ("numeric", "categorical", "boolean", "datetime", "identifier", "text")

# A text column with at most this many distinct values (or this share of rows) is categorical.
_MAX_CATEGORIES = 200
_MAX_DOMAIN = 1000


@dataclass(frozen=True)
class ColumnSchema:
    """What raikit knows about one column.

    Attributes
    ----------
    name : str
        Column name.
    kind : str
        One of ``numeric``, ``categorical``, ``boolean``, ``datetime``, ``identifier``, ``text``.
    dtype : str
        The pandas dtype it was read with.
    nullable : bool
        Whether any value is missing.
    n_missing : int
        Number of missing values.
    n_distinct : int
        Number of distinct non-missing values.
    min, max : float or str or None
        Range of numeric and datetime columns (datetimes as ISO text).
    categories : list or None
        Domain of categorical and boolean columns (at most 1,000 values).
    domain_truncated : bool
        True when the domain had more values than were stored.
    """

    name: str
    kind: str
    dtype: str
    nullable: bool
    n_missing: int
    n_distinct: int
    min: float | str | None = None
    max: float | str | None = None
    categories: list | None = None
    domain_truncated: bool = False


def _plain(value: Any) -> Any:
    """A JSON-native version of a category or bound: numpy scalars as Python numbers, bytes as
    text (undecodable bytes escaped), timestamps in ISO format, anything else exotic as its text.

    Examples
    --------
    >>> _plain(np.int64(3)), _plain(b"ab"), _plain(pd.Timestamp(2020, 1, 2))
    (3, 'ab', '2020-01-02T00:00:00')
    """
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    if isinstance(value, pd.Timestamp | np.datetime64) or hasattr(value, "isoformat"):
        return pd.Timestamp(value).isoformat() if not isinstance(value, str) else value
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def infer_column_schema(name: str, series: pd.Series) -> ColumnSchema:
    """Infer the :class:`ColumnSchema` of one column."""
    n_missing = int(series.isna().sum())
    non_null = series.dropna()
    dtype = series.dtype
    n_distinct = int(non_null.nunique())
    common = {
        "name": str(name),
        "dtype": str(dtype),
        "nullable": n_missing > 0,
        "n_missing": n_missing,
        "n_distinct": n_distinct,
    }
    if pd.api.types.is_bool_dtype(dtype):
        domain = sorted(bool(v) for v in non_null.unique())
        return ColumnSchema(kind="boolean", categories=domain, **common)
    if pd.api.types.is_datetime64_any_dtype(dtype):
        low = non_null.min() if len(non_null) else None
        high = non_null.max() if len(non_null) else None
        return ColumnSchema(
            kind="datetime",
            min=None if low is None else pd.Timestamp(low).isoformat(),
            max=None if high is None else pd.Timestamp(high).isoformat(),
            **common,
        )
    if isinstance(dtype, pd.CategoricalDtype):
        return _categorical(non_null.astype(object), common, declared=list(dtype.categories))
    if pd.api.types.is_numeric_dtype(dtype):
        if n_distinct <= 2 and set(non_null.unique().tolist()) <= {0, 1}:
            return ColumnSchema(
                kind="boolean", categories=sorted(int(v) for v in non_null.unique()), **common
            )
        low = _plain(non_null.min()) if len(non_null) else None
        high = _plain(non_null.max()) if len(non_null) else None
        return ColumnSchema(kind="numeric", min=low, max=high, **common)
    # Text-like columns: few distinct values -> categorical; mostly unique -> identifier or text.
    if n_distinct <= max(_MAX_CATEGORIES, 0) or n_distinct <= 0.05 * len(non_null):
        return _categorical(non_null, common)
    mean_length = float(non_null.astype(str).str.len().mean()) if len(non_null) else 0.0
    kind = "text" if mean_length > 40 else "identifier"
    return ColumnSchema(kind=kind, **common)


def _categorical(non_null: pd.Series, common: dict, declared: list | None = None) -> ColumnSchema:
    values = declared if declared is not None else non_null.unique().tolist()
    try:
        values = sorted(values)
    except TypeError:
        values = sorted(values, key=str)
    values = [_plain(v) for v in values]
    truncated = len(values) > _MAX_DOMAIN
    return ColumnSchema(
        kind="categorical", categories=values[:_MAX_DOMAIN], domain_truncated=truncated, **common
    )


@dataclass(frozen=True)
class Schema:
    """The schema of a table: one :class:`ColumnSchema` per column, plus the roles of columns.

    Examples
    --------
    >>> import pandas as pd
    >>> from raikit import Dataset
    >>> ds = Dataset(pd.DataFrame({"age": [30, 41, 25], "sex": ["F", "M", "F"], "y": [1, 0, 1]}),
    ...              target="y", sensitive="sex")
    >>> ds.schema["sex"].kind, ds.schema["age"].max
    ('categorical', 41)
    >>> Schema.from_json(ds.schema.to_json()) == ds.schema
    True
    """

    columns: tuple[ColumnSchema, ...]
    n_rows: int
    roles: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> ColumnSchema:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def to_dict(self) -> dict:
        return {
            "n_rows": self.n_rows,
            "roles": self.roles,
            "columns": [asdict(c) for c in self.columns],
        }

    @classmethod
    def from_dict(cls, data: dict) -> Schema:
        columns = tuple(ColumnSchema(**c) for c in data["columns"])
        return cls(columns=columns, n_rows=int(data["n_rows"]), roles=dict(data.get("roles", {})))

    def to_json(self, path=None, *, indent: int | None = 2) -> str:
        """Serialise to JSON text; also write it to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=indent)
        if path is not None:
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(text)
        return text

    @classmethod
    def from_json(cls, text_or_path: str) -> Schema:
        """Read a schema from JSON text or from a file path."""
        text = text_or_path
        if not text_or_path.lstrip().startswith("{"):
            with open(text_or_path, encoding="utf-8") as handle:
                text = handle.read()
        return cls.from_dict(json.loads(text))

    def to_frame(self) -> pd.DataFrame:
        """The schema as a table, one row per column."""
        return pd.DataFrame([asdict(c) for c in self.columns])
