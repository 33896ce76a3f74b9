"""``infer_schema`` and ``validate``: anomalies of new data against a stored schema, as TFDV does.

A schema (``raikit._schema.Schema``: kinds, nullability, ranges, category domains, roles) is inferred
from reference data and saved as JSON. New data is then checked against it: columns that appeared
or disappeared, a changed type, new categories, values out of range, more missing values than
before. Every anomaly has a severity, and every column gets the worst severity of its anomalies.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from raikit._errors import FileFormatError, ParameterError
from raikit._recording import recorded
from raikit._result import Finding, Result
from raikit._schema import Schema, infer_column_schema
from raikit._validation import Interval, validate_params

__all__ = ["ValidationResult", "infer_schema", "validate"]

_RANK = {"ok": 0, "info": 1, "warning": 2, "error": 3}
_EXAMPLES = 5


@dataclass(frozen=True, eq=False)
class ValidationResult(Result):
    """Anomalies of a table against a schema.

    Attributes
    ----------
    anomalies : DataFrame
        One row per anomaly: ``column``, ``anomaly`` (``missing_column``, ``unknown_column``,
        ``type_change``, ``new_category``, ``out_of_range``, ``unexpected_missing``,
        ``missing_rate_increase``, ``dtype_change``), ``severity``, ``count`` (rows affected),
        ``share`` (of rows), ``expected``, ``found`` and ``examples`` (a few offending values).
    columns : DataFrame
        One row per column of the schema or the data, with its ``status`` (``ok``, ``info``,
        ``warning`` or ``error``: the worst of its anomalies) and number of anomalies.
    n_rows : int
        Rows validated.
    findings : tuple of Finding
        One per warning or error anomaly.
    meta : dict
        Tolerances used.

    See Also
    --------
    validate : computes it.
    infer_schema : the schema it checks against.

    Examples
    --------
    >>> import pandas as pd
    >>> from raikit.data import infer_schema, validate
    >>> schema = infer_schema(pd.DataFrame({"age": [20, 30, 40]}))
    >>> r = validate(pd.DataFrame({"age": [25, 35]}), schema)
    >>> r.n_rows, len(r.anomalies)
    (2, 0)
    """

    anomalies: pd.DataFrame
    columns: pd.DataFrame
    n_rows: int
    findings: tuple = field(default_factory=tuple)
    meta: dict = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        """True when no anomaly is an error."""
        return not (self.anomalies["severity"] == "error").any()

    @property
    def summary(self) -> str:
        counts = self.anomalies["severity"].value_counts()
        if self.anomalies.empty:
            return f"{self.n_rows:,} rows match the schema: no anomaly."
        bad = self.columns[self.columns["status"].isin(["warning", "error"])]
        return (
            f"{len(self.anomalies)} anomaly(ies) in {self.n_rows:,} rows: "
            f"{int(counts.get('error', 0))} error(s), {int(counts.get('warning', 0))} warning(s), "
            f"{int(counts.get('info', 0))} info; columns affected: "
            + (", ".join(bad["column"].astype(str).head(8)) or "none")
            + "."
        )

    def figures(self) -> list:
        import plotly.graph_objects as go

        if self.anomalies.empty:
            return []
        counts = (
            self.anomalies.groupby(["column", "severity"], sort=False).size().unstack(fill_value=0)
        )
        fig = go.Figure()
        colours = {"error": "#b00020", "warning": "#e0a000", "info": "#4c78a8"}
        for severity in ("error", "warning", "info"):
            if severity in counts.columns:
                fig.add_trace(
                    go.Bar(
                        x=counts.index.astype(str),
                        y=counts[severity],
                        name=severity,
                        marker_color=colours[severity],
                    )
                )
        fig.update_layout(title="Anomalies per column", barmode="stack", yaxis_title="anomalies")
        return [fig]


def infer_schema(data) -> Schema:
    """Infer the schema of a Dataset (or DataFrame): kinds, nullability, ranges, domains, roles.

    Save it with ``schema.to_json(path)`` and read it back with ``Schema.from_json(path)``.

    Parameters
    ----------
    data : Dataset or DataFrame
        The reference data.

    Returns
    -------
    raikit._schema.Schema

    Raises
    ------
    DataError
        ``data`` is neither a Dataset nor a DataFrame.

    See Also
    --------
    raikit.data.validate : checks new data against the schema.

    Examples
    --------
    >>> from raikit.data import infer_schema
    >>> from raikit.datasets import load_compas
    >>> schema = infer_schema(load_compas())
    >>> schema["race"].categories[:3], schema["priors_count"].kind, schema["priors_count"].min
    (['African-American', 'Asian', 'Caucasian'], 'numeric', 0)
    """
    from raikit.dataset import Dataset

    if isinstance(data, Dataset):
        return data.schema
    if isinstance(data, pd.DataFrame):
        frame = data.reset_index(drop=True)
        columns = tuple(infer_column_schema(str(c), frame[c]) for c in frame.columns)
        return Schema(columns=columns, n_rows=len(frame), roles={})
    raise ParameterError(
        f"infer_schema(): data must be a raikit Dataset or a DataFrame, got {type(data).__name__}."
    )


def _load_schema(schema) -> Schema:
    if isinstance(schema, Schema):
        return schema
    if isinstance(schema, dict):
        return Schema.from_dict(schema)
    try:
        return Schema.from_json(str(schema))
    except FileNotFoundError as error:
        raise FileFormatError(f"Schema file not found: {str(schema)!r}.") from error
    except (ValueError, KeyError, TypeError) as error:
        raise FileFormatError(
            f"Cannot read the schema {str(schema)[:80]!r}: {type(error).__name__}: {error}. "
            f"Write it with infer_schema(ds).to_json(path)."
        ) from error


def _examples(values) -> str:
    shown = [str(v) for v in list(values)[:_EXAMPLES]]
    return ", ".join(shown)


def _role_of(schema: Schema, name: str) -> str | None:
    roles = schema.roles or {}
    if name == roles.get("target"):
        return "target"
    if name in (roles.get("sensitive") or []):
        return "sensitive"
    if name in (roles.get("features") or []):
        return "feature"
    return None


class _Anomalies:
    """The anomaly rows of one validation; shares are of the ``n`` rows validated."""

    COLUMNS = ("column", "anomaly", "severity", "count", "share", "expected", "found", "examples")

    def __init__(self, n: int, value_tolerance: float) -> None:
        self.n = n
        self.value_tolerance = value_tolerance
        self.rows: list[tuple] = []

    def add(self, column, anomaly, severity, count=0, expected="", found="", examples="") -> None:
        share = count / self.n if self.n else np.nan
        self.rows.append(
            (column, anomaly, severity, int(count), share, str(expected), str(found), examples)
        )

    def by_share(self, count: int) -> str:
        """Errors above the value tolerance, warnings below it."""
        return "error" if count / self.n > self.value_tolerance else "warning"

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=list(self.COLUMNS)).astype(
            {"count": np.int64, "share": float}
        )


def _check_domain(column, non_null: pd.Series, found: _Anomalies) -> None:
    """Categories outside the schema's domain (unless the domain was truncated)."""
    if column.domain_truncated:
        return
    domain = pd.Index(column.categories)
    values = non_null.astype(object) if len(non_null) else non_null
    outside = ~pd.Index(values).isin(domain) if len(values) else np.array([], bool)
    if column.kind == "boolean" and len(values):
        as_number = pd.to_numeric(values, errors="coerce").astype(float)
        outside = ~pd.Index(as_number).isin(pd.Index([float(c) for c in column.categories]))
    count = int(np.asarray(outside).sum())
    if count:
        unseen = pd.unique(np.asarray(values)[np.asarray(outside)])
        found.add(
            column.name,
            "new_category",
            found.by_share(count),
            count,
            expected=f"{len(domain)} known categories",
            found=f"{len(unseen)} new",
            examples=_examples(unseen),
        )


def _check_range(column, non_null: pd.Series, found: _Anomalies) -> None:
    """Numbers below the schema's minimum or above its maximum."""
    values = pd.to_numeric(non_null, errors="coerce").to_numpy(dtype=float)
    low = values < float(column.min)
    high = values > float(column.max)
    count = int(low.sum() + high.sum())
    if count:
        offending = np.concatenate([values[low], values[high]])
        found.add(
            column.name,
            "out_of_range",
            found.by_share(count),
            count,
            expected=f"[{column.min}, {column.max}]",
            found=f"[{values.min():g}, {values.max():g}]",
            examples=_examples(np.unique(offending)),
        )


def _check_dates(column, non_null: pd.Series, found: _Anomalies) -> None:
    """Dates outside the schema's range."""
    values = pd.to_datetime(non_null, errors="coerce")
    outside = (values < pd.Timestamp(column.min)) | (values > pd.Timestamp(column.max))
    count = int(outside.sum())
    if count:
        found.add(
            column.name,
            "out_of_range",
            found.by_share(count),
            count,
            expected=f"[{column.min}, {column.max}]",
            found="",
            examples=_examples(values[outside].unique()),
        )


def _check_missing(column, missing: int, schema: Schema, tolerance: float, found) -> None:
    """Missing values in a column that had none, or more than before beyond ``tolerance``."""
    n = found.n
    old_rate = column.n_missing / schema.n_rows if schema.n_rows else 0.0
    new_rate = missing / n if n else 0.0
    if missing and not column.nullable:
        found.add(
            column.name,
            "unexpected_missing",
            "error" if new_rate > tolerance else "warning",
            missing,
            expected="no missing values",
            found=f"{new_rate:.2%} missing",
        )
    elif missing and new_rate > old_rate + tolerance:
        found.add(
            column.name,
            "missing_rate_increase",
            "warning",
            missing,
            expected=f"{old_rate:.2%} missing",
            found=f"{new_rate:.2%} missing",
        )


def _check_column(column, series: pd.Series, schema: Schema, tolerance: float, found) -> None:
    """Every anomaly of one column present in both the schema and the data."""
    name, n = column.name, found.n
    new = infer_column_schema(name, series)
    missing = int(series.isna().sum())
    if not _compatible(column.kind, new.kind, series):
        found.add(
            name,
            "type_change",
            "error",
            n - missing,
            expected=column.kind,
            found=new.kind,
            examples=_examples(series.dropna().unique()),
        )
        return
    if new.dtype != column.dtype and not (
        isinstance(series.dtype, pd.CategoricalDtype) or column.dtype == "category"
    ):
        found.add(name, "dtype_change", "info", 0, expected=column.dtype, found=new.dtype)
    non_null = series.dropna()
    if column.kind in ("categorical", "boolean") and column.categories is not None:
        _check_domain(column, non_null, found)
    elif column.kind == "numeric" and column.min is not None and len(non_null):
        _check_range(column, non_null, found)
    elif column.kind == "datetime" and column.min is not None and len(non_null):
        _check_dates(column, non_null, found)
    _check_missing(column, missing, schema, tolerance, found)


def _column_status(anomalies: pd.DataFrame, schema: Schema, frame: pd.DataFrame) -> pd.DataFrame:
    """One row per column of the schema or the data: its kind, worst severity, anomaly count."""
    known = set(schema.names)
    names = list(dict.fromkeys([*schema.names, *frame.columns]))
    worst = {}
    n_anomalies = anomalies.groupby("column").size().to_dict() if len(anomalies) else {}
    for row in anomalies.itertuples(index=False):
        if _RANK[row.severity] > _RANK[worst.get(row.column, "ok")]:
            worst[row.column] = row.severity
    return pd.DataFrame(
        {
            "column": names,
            "kind": [schema[c].kind if c in known else "" for c in names],
            "status": [worst.get(c, "ok") for c in names],
            "anomalies": [int(n_anomalies.get(c, 0)) for c in names],
        }
    )


def _frame_of(data) -> pd.DataFrame:
    from raikit.dataset import Dataset

    if isinstance(data, Dataset):
        return data.frame
    if isinstance(data, pd.DataFrame):
        frame = data.reset_index(drop=True)
        frame.columns = [str(c) for c in frame.columns]
        return frame
    if type(data).__module__.startswith("polars"):
        return data.to_pandas()
    raise ParameterError(
        f"validate(): data must be a raikit Dataset or a DataFrame, got {type(data).__name__}."
    )


@recorded("data.validate")
@validate_params(
    missing_tolerance=Interval(float, 0, 1),
    value_tolerance=Interval(float, 0, 1),
)
def validate(
    data,
    schema,
    *,
    missing_tolerance: float = 0.02,
    value_tolerance: float = 0.01,
    ledger=None,
) -> ValidationResult:
    """Check new data against a schema and report anomalies with their severity.

    Parameters
    ----------
    data : Dataset or DataFrame
        The new data (e.g. a serving batch; it need not have the target).
    schema : Schema, dict, JSON text or path
        What :func:`infer_schema` produced from the reference data.
    missing_tolerance : float, default 0.02
        A column's missing rate may grow by this much (absolute) before it is a warning.
    value_tolerance : float, default 0.01
        New categories or out-of-range values in more than this share of rows are errors;
        fewer are warnings.
    ledger : raikit.ledger.Ledger or path, optional
        Record the result as evidence (inside :func:`raikit.track` it is recorded anyway).

    Returns
    -------
    ValidationResult

    Raises
    ------
    DataError
        ``data`` is neither a Dataset nor a DataFrame.
    FileFormatError
        The schema file is missing or unreadable.
    ParameterError
        A tolerance is not a share between 0 and 1.

    See Also
    --------
    raikit.data.infer_schema : learns the schema.

    Examples
    --------
    >>> from raikit.data import infer_schema, validate
    >>> from raikit.datasets import load_compas
    >>> ds = load_compas()
    >>> schema = infer_schema(ds)
    >>> new = ds.frame.head(100).copy()
    >>> new["priors_count"] = new["priors_count"].astype(float)
    >>> new.loc[0, "priors_count"] = 99
    >>> new["race"] = new["race"].astype(object)
    >>> new.loc[1, "race"] = "Martian"
    >>> result = validate(new, schema)
    >>> for row in result.anomalies[["column", "anomaly", "severity"]].values.tolist():
    ...     print(row)
    ['race', 'new_category', 'warning']
    ['priors_count', 'dtype_change', 'info']
    ['priors_count', 'out_of_range', 'warning']
    """
    schema = _load_schema(schema)
    frame = _frame_of(data)
    found = _Anomalies(len(frame), value_tolerance)
    for column in schema.columns:
        if column.name in frame.columns:
            _check_column(column, frame[column.name], schema, missing_tolerance, found)
            continue
        role = _role_of(schema, column.name)
        found.add(
            column.name,
            "missing_column",
            "error" if role in ("feature", "sensitive") else "warning",
            found.n,
            expected=f"present ({role or 'column'})",
            found="absent",
        )
    known = set(schema.names)
    for name in frame.columns:
        if name not in known:
            found.add(
                name,
                "unknown_column",
                "warning",
                found.n,
                expected="absent",
                found=str(frame[name].dtype),
            )
    anomalies = found.frame()
    findings = [
        Finding(
            row.severity,
            f"{row.column}: {row.anomaly.replace('_', ' ')}",
            f"expected {row.expected}, found {row.found}"
            + (f" ({row.count:,} rows, {row.share:.2%})" if row.count else "")
            + (f"; e.g. {row.examples}" if row.examples else "")
            + ".",
        )
        for row in anomalies.itertuples(index=False)
        if row.severity != "info"
    ]
    return ValidationResult(
        anomalies=anomalies,
        columns=_column_status(anomalies, schema, frame),
        n_rows=found.n,
        findings=tuple(findings),
        meta={"missing_tolerance": missing_tolerance, "value_tolerance": value_tolerance},
    )


def _compatible(expected: str, found: str, series: pd.Series) -> bool:
    """Whether data of kind ``found`` can be checked against a schema kind ``expected``."""
    if expected == found:
        return True
    if series.notna().sum() == 0:
        return True  # an all-missing column is reported as missing values, not as a type change
    numeric_like = {"numeric", "boolean"}
    if expected in numeric_like and found in numeric_like:
        return pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(
            series.dtype
        )
    text_like = {"categorical", "identifier", "text"}
    if expected in text_like and found in text_like:
        return True
    if expected == "categorical" and found in numeric_like:
        return False
    return False
