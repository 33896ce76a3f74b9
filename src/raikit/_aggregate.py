"""Aggregates of a Dataset over grouping sets: once with pandas, once as SQL for lazy tables.

:meth:`raikit.Dataset.aggregate` is the one place a check asks for per-group statistics (counts,
sums, sums of squares, minima, maxima, missing counts, optionally weighted) without caring where
the rows live: in memory it is a pandas group-by, on files (DuckDB) or a Spark DataFrame it is one
``GROUP BY GROUPING SETS`` query written through the one dialect of :mod:`raikit._sql`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from raikit._errors import ColumnError, DataError, ParameterError

__all__ = ["OPS", "aggregate"]

OPS = ("count", "sum", "sum_sq", "min", "max", "null_count")


def _sets(by) -> tuple[list[list[str]], bool]:
    """``by`` as a list of grouping sets, and whether the caller passed several sets."""
    if by is None:
        return [[]], False
    if isinstance(by, str):
        return [[by]], False
    by = list(by)
    if by and all(isinstance(b, list | tuple) for b in by):
        sets = [[str(c) for c in b] for b in by]
        seen = [tuple(sorted(s)) for s in sets]
        if len(set(seen)) != len(seen):
            raise ParameterError(
                f"Dataset.aggregate(): by holds the same grouping set twice ({by!r}); list each "
                f"set of columns once."
            )
        return sets, True
    if any(isinstance(b, list | tuple) for b in by):
        raise ParameterError(
            f"Dataset.aggregate(): by must be column names or a list of grouping sets (lists of "
            f"column names), not a mix: {by!r}."
        )
    return [[str(c) for c in by]], False


def _stats(stats, columns) -> dict[str, tuple[str | None, str]]:
    if not isinstance(stats, dict) or not stats:
        raise ParameterError(
            "Dataset.aggregate(): stats must map output names to (column, statistic), e.g. "
            "{'n': (None, 'count'), 'total': ('income', 'sum')}."
        )
    checked = {}
    for name, spec in stats.items():
        if not (isinstance(spec, tuple | list) and len(spec) == 2):
            raise ParameterError(
                f"Dataset.aggregate(): stats[{name!r}] must be (column, statistic), got {spec!r}."
            )
        column, op = spec
        if op not in OPS:
            raise ParameterError(
                f"Dataset.aggregate(): stats[{name!r}] asks for {op!r}; the statistics are "
                f"{list(OPS)}."
            )
        if column is None and op != "count":
            raise ParameterError(
                f"Dataset.aggregate(): stats[{name!r}]: {op!r} needs a column; only 'count' "
                f"counts rows with column None."
            )
        if column is not None and column not in columns:
            raise ColumnError(
                f"Dataset.aggregate(): stats[{name!r}] names column {column!r}, which the "
                f"Dataset does not have. Available columns: {list(columns)[:20]}."
            )
        checked[str(name)] = (column, op)
    return checked


def aggregate(ds, *, by=None, stats, weight=None) -> pd.DataFrame:
    """The work of :meth:`raikit.Dataset.aggregate` (see there)."""
    sets, several = _sets(by)
    keys = list(dict.fromkeys(c for s in sets for c in s))
    for column in keys:
        if column not in ds.columns:
            raise ColumnError(
                f"Dataset.aggregate(): cannot group by {column!r}: no such column. Available "
                f"columns: {list(ds.columns)[:20]}."
            )
    checked = _stats(stats, ds.columns)
    if weight is not None and weight not in ds.columns:
        raise ColumnError(
            f"Dataset.aggregate(): weight column {weight!r} is not in the Dataset. Available "
            f"columns: {list(ds.columns)[:20]}."
        )
    if ds.is_lazy:
        table = _in_sql(ds.table, sets, keys, checked, weight)
    else:
        table = _in_memory(ds.frame, sets, keys, checked, weight)
    try:
        table = table.sort_values(["__set", *keys], na_position="last", kind="stable")
    except TypeError:  # values without an order (mixed types, arrays): keep the sets in order
        table = table.sort_values("__set", kind="stable")
    table = table.reset_index(drop=True)
    if several:
        table = table.rename(columns={"__set": "grouping_set"})
    else:
        table = table.drop(columns="__set")
    return table


# --------------------------------------------------------------------------- pandas
def _numbers(frame: pd.DataFrame, column: str) -> np.ndarray:
    values = frame[column]
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        return values.to_numpy(dtype=float, na_value=np.nan)
    raise ColumnError(
        f"Dataset.aggregate(): column {column!r} holds {values.dtype} values; sums need numbers."
    )


def _in_memory(frame, sets, keys, stats, weight) -> pd.DataFrame:
    from raikit.metrics._group_metrics import weight_array

    n = len(frame)
    w = np.ones(n) if weight is None else weight_array(frame[weight], n, name=f"weight {weight!r}")
    terms = pd.DataFrame(index=frame.index)
    how = {}
    for name, (column, op) in stats.items():
        if op in ("min", "max"):
            terms[name], how[name] = frame[column], op
            continue
        missing = np.zeros(n, bool) if column is None else frame[column].isna().to_numpy()
        if op == "count":
            terms[name] = np.where(missing, 0.0, w)
        elif op == "null_count":
            terms[name] = np.where(missing, w, 0.0)
        else:
            x = np.nan_to_num(_numbers(frame, column))
            terms[name] = w * x * (x if op == "sum_sq" else 1.0)
        how[name] = "sum"
    parts = []
    for i, group_set in enumerate(sets):
        if group_set:
            grouped = pd.concat([frame[group_set], terms], axis=1).groupby(
                group_set, dropna=False, observed=True, sort=False
            )
            part = grouped.agg(how).reset_index()
        else:
            part = terms.agg(how).to_frame().T if n else pd.DataFrame({k: [0.0] for k in how})
        for column in keys:
            if column not in group_set:
                part[column] = None
        part["__set"] = i
        parts.append(part)
    from raikit._lazy import restore_dtypes

    table = restore_dtypes(pd.concat(parts, ignore_index=True), frame.dtypes, keys)
    return _finish(table, keys, stats, weight)


def _finish(table, keys, stats, weight) -> pd.DataFrame:
    for name, (_column, op) in stats.items():
        if op in ("count", "null_count") and weight is None:
            table[name] = table[name].fillna(0).astype(np.int64)
        elif op not in ("min", "max"):
            table[name] = table[name].astype(float)
    return table[[*keys, "__set", *stats]]


# --------------------------------------------------------------------------- SQL
def _in_sql(table, sets, keys, stats, weight) -> pd.DataFrame:
    from raikit._lazy import restore_dtypes

    d = table.dialect
    dtypes = table.dtypes

    def value(column):  # NaN is missing, as in pandas
        if pd.api.types.is_float_dtype(dtypes.get(column)):
            x = f"CAST({d.ident(column)} AS DOUBLE)"
            return f"(CASE WHEN isnan({x}) THEN NULL ELSE {x} END)"
        return d.ident(column)

    w = "1" if weight is None else f"CAST({d.ident(weight)} AS DOUBLE)"
    select = [d.ident(k) for k in keys]
    for name, (column, op) in stats.items():
        alias = d.ident(name)
        if op in ("min", "max"):
            select.append(f"{op.upper()}({value(column)}) AS {alias}")
            continue
        present = "TRUE" if column is None else f"{value(column)} IS NOT NULL"
        if op == "count":
            term = f"CASE WHEN {present} THEN {w} ELSE 0 END"
        elif op == "null_count":
            term = f"CASE WHEN {present} THEN 0 ELSE {w} END"
        else:
            x = f"CAST({value(column)} AS DOUBLE)"
            term = f"{w} * {x}" + (f" * {x}" if op == "sum_sq" else "")
        select.append(f"SUM({term}) AS {alias}")
    if weight is not None:  # rows whose weight is unusable, counted in the same scan
        bad = f"{w} IS NULL OR isnan({w}) OR {w} < 0 OR {w} = {d.double(np.inf)}"
        select.append(f"SUM(CASE WHEN {bad} THEN 1 ELSE 0 END) AS __bad_weight")
    if len(sets) > 1:
        select += [f"GROUPING({d.ident(k)}) AS __g{i}" for i, k in enumerate(keys)]
        grouping = ", ".join("(" + ", ".join(d.ident(c) for c in s) + ")" for s in sets)
        group_by = f" GROUP BY GROUPING SETS ({grouping})"
    else:
        group_by = f" GROUP BY {', '.join(select[: len(keys)])}" if keys else ""
    result = table.query(f"SELECT {', '.join(select)} FROM {{table}}{group_by}")
    if weight is not None:
        bad = int(np.nan_to_num(result["__bad_weight"].to_numpy(float)).max(initial=0))
        if bad:
            raise DataError(
                f"Dataset.aggregate(): weight column {weight!r} has {bad} missing, infinite or "
                f"negative value(s); weights must be finite and non-negative."
            )
    result["__set"] = _set_of_rows(result, sets, keys)
    result = restore_dtypes(result, dtypes, keys)
    if weight is None:
        for name, (_column, op) in stats.items():
            if op == "sum" or op == "sum_sq":
                result[name] = result[name].astype(float)
    return _finish(result, keys, stats, weight)


def _set_of_rows(result: pd.DataFrame, sets, keys) -> np.ndarray:
    """Which grouping set each result row belongs to (from the GROUPING() flags)."""
    if len(sets) == 1:
        return np.zeros(len(result), dtype=np.int64)
    flags = np.stack([result[f"__g{i}"].to_numpy(np.int64) for i in range(len(keys))], axis=1)
    codes = np.full(len(result), -1, dtype=np.int64)
    for i, group_set in enumerate(sets):
        rolled = np.array([k not in group_set for k in keys], dtype=np.int64)
        codes[(flags == rolled).all(axis=1)] = i
    return codes
