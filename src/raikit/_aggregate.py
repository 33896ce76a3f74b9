"""Aggregates of a Dataset over grouping sets: once with numpy/pandas, once as SQL for lazy tables.

:meth:`raikit.Dataset.aggregate`, :meth:`raikit.Dataset.histogram` and
:meth:`raikit.Dataset.quantiles` are where a check asks for per-group statistics (counts, sums,
means, variances, distinct counts, extremes, value-ordered histogram pieces, quantiles) without
caring where the rows live: in memory they are computed from integer codes of the key columns (the
finest combination once, coarser grouping sets rolled up from it); on files (DuckDB) or a Spark
DataFrame each is one ``GROUP BY GROUPING SETS`` query written through the one dialect of
:mod:`raikit._sql`.

What each backend can afford: in memory a numeric column is sorted once (kept on the Dataset for
the next request about the same column), so histogram pieces can hold one distinct value each and
quantiles and distinct counts are exact order statistics and runs; a lazy table gives one piece
per non-empty (group, cut, bin) with its smallest and largest value, so order statistics are known
within a piece's range (the bound ``histogram(..., quantiles=...)`` reports). A key column named
like an output column comes back under an alias listed in ``result.attrs["keys"]``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from raikit._errors import ColumnError, DataError, ParameterError

__all__ = ["OPS", "aggregate", "histogram", "quantiles"]

OPS = (
    "count",
    "sum",
    "sum_sq",
    "min",
    "max",
    "null_count",
    "distinct",
    "approx_distinct",
    "mean",
    "var",
)
_NUMERIC_OPS = ("sum", "sum_sq", "mean", "var")
_PIECES = ("bin", "rows", "n", "lo", "hi")


# --------------------------------------------------------------------------- requests
def _sets(by, caller: str = "Dataset.aggregate()") -> tuple[list[list[str]], bool]:
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
                f"{caller}: by holds the same grouping set twice ({by!r}); list each "
                f"set of columns once."
            )
        return sets, True
    if any(isinstance(b, list | tuple) for b in by):
        raise ParameterError(
            f"{caller}: by must be column names or a list of grouping sets (lists of "
            f"column names), not a mix: {by!r}."
        )
    return [[str(c) for c in by]], False


def _keys(ds, sets, caller: str) -> list[str]:
    keys = list(dict.fromkeys(c for s in sets for c in s))
    for column in keys:
        if column not in ds.columns:
            raise ColumnError(
                f"{caller}: cannot group by {column!r}: no such column. Available "
                f"columns: {list(ds.columns)[:20]}."
            )
    return keys


def _check_weight(ds, weight, caller: str) -> None:
    if weight is not None and weight not in ds.columns:
        raise ColumnError(
            f"{caller}: weight column {weight!r} is not in the Dataset. Available "
            f"columns: {list(ds.columns)[:20]}."
        )


def _dtypes(ds) -> pd.Series:
    """The pandas dtype of each column (from the first rows of a lazy table)."""
    return ds.table.dtypes if ds.table is not None else ds.frame.dtypes


def _is_number(dtype) -> bool:
    if isinstance(dtype, pd.CategoricalDtype):
        return False
    return pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype)


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


def _ordered(table: pd.DataFrame, keys, several: bool, extra=()) -> pd.DataFrame:
    """Rows by set, then by key values (missing last), then ``extra``; ``__set`` renamed."""
    try:
        table = table.sort_values(["__set", *keys, *extra], na_position="last", kind="stable")
    except TypeError:  # values without an order (mixed types, arrays): keep the sets in order
        table = table.sort_values(["__set", *extra], kind="stable")
    table = table.reset_index(drop=True)
    if several:
        return table.rename(columns={"__set": "grouping_set"})
    return table.drop(columns="__set")


def aggregate(ds, *, by=None, stats, weight=None) -> pd.DataFrame:
    """The work of :meth:`raikit.Dataset.aggregate` (see there)."""
    caller = "Dataset.aggregate()"
    sets, several = _sets(by, caller)
    keys = _keys(ds, sets, caller)
    checked = _stats(stats, ds.columns)
    _check_weight(ds, weight, caller)
    dtypes = _dtypes(ds)
    for name, (column, op) in checked.items():
        if op in _NUMERIC_OPS and not _is_number(dtypes[column]):
            raise ColumnError(
                f"{caller}: stats[{name!r}] asks for the {op} of column {column!r}, which holds "
                f"{dtypes[column]} values; sums need numbers (means and variances too)."
            )
    if ds.table is not None:
        table = _in_sql(ds.table, sets, keys, checked, weight)
    else:
        table = _in_memory(ds, sets, keys, checked, weight)
    names = _aliases(keys, {"grouping_set"} if several else set(), ds.columns)
    table = _ordered(table.rename(columns=names), [names[k] for k in keys], several)
    table.attrs["keys"] = names
    return table


# --------------------------------------------------------------------------- in memory
class _Cells:
    """Rows coded by the combination of their key values (missing is a value), and each grouping
    set's groups as codes over those combinations, numbered in the order of their key values."""

    def __init__(self, frame: pd.DataFrame, keys: list[str], factorized: dict) -> None:
        n = len(frame)
        self.uniques, codes = {}, {}
        combined, size = np.zeros(n, dtype=np.int64), 1
        for key in keys:
            if key not in factorized:
                factorized[key] = pd.factorize(frame[key], use_na_sentinel=False)
            code, uniques = factorized[key]
            self.uniques[key], codes[key] = uniques, code
            combined, size = _combine(combined, size, code, len(uniques))
        if keys:
            self.cell, self.n_cells = _dense(combined, size)
        else:
            self.cell, self.n_cells = np.zeros(n, dtype=np.int64), 1
        first = np.empty(self.n_cells, dtype=np.int64)
        first[self.cell[::-1]] = np.arange(n)[::-1]
        self.codes = {key: code[first] for key, code in codes.items()}  # per cell

    def groups(self, group_set: list[str]) -> tuple[np.ndarray, pd.DataFrame]:
        """The group of each cell in one grouping set, and the groups' key values."""
        group, codes = self.group_codes(group_set)
        labels = pd.DataFrame({key: self.uniques[key].take(codes[key]) for key in group_set})
        return group, labels if group_set else pd.DataFrame(index=range(1))

    def group_codes(self, group_set: list[str]) -> tuple[np.ndarray, dict]:
        """The group of each cell in one grouping set (groups numbered in the order of their
        key values, missing last) and each group's code into every key's uniques."""
        if not group_set:
            return np.zeros(self.n_cells, dtype=np.int64), {}
        combined, size = np.zeros(self.n_cells, dtype=np.int64), 1
        for key in group_set:
            combined, size = _combine(combined, size, self.codes[key], len(self.uniques[key]))
        group, n_groups = _dense(combined, size)
        first = np.empty(n_groups, dtype=np.int64)
        first[group[::-1]] = np.arange(self.n_cells)[::-1]
        codes = {key: self.codes[key][first] for key in group_set}
        labels = pd.DataFrame({key: self.uniques[key].take(codes[key]) for key in group_set})
        try:
            order = labels.sort_values(group_set, na_position="last", kind="stable").index
        except TypeError:  # keys without an order: first appearance
            order = labels.index
        order = order.to_numpy()
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        return rank[group], {key: code[order] for key, code in codes.items()}

    def key_values(self, key: str, codes: np.ndarray):
        """The values of ``key`` at ``codes`` (-1: missing), keeping the column's dtype."""
        uniques = self.uniques[key]
        if isinstance(uniques.dtype, pd.CategoricalDtype):  # take the small integer codes
            inner = np.append(uniques.codes, -1).astype(np.int64)
            return pd.Categorical.from_codes(inner[codes], dtype=uniques.dtype, validate=False)
        return pd.api.extensions.take(uniques.array, codes, allow_fill=True)


def _combine(combined: np.ndarray, size: int, code: np.ndarray, k: int):
    """Mixed-radix combination of codes, re-numbered densely before it could overflow."""
    k = max(k, 1)
    if size * k >= 1 << 62:
        combined, found = pd.factorize(combined)
        size = len(found)
    return combined * k + code, size * k


def _dense(combined: np.ndarray, size: int) -> tuple[np.ndarray, int]:
    """Combined codes renumbered 0..k-1 (a lookup table when their range is small)."""
    if size <= max(1 << 22, 4 * len(combined)):
        present = np.bincount(combined, minlength=size) > 0
        lookup = np.cumsum(present) - 1
        return lookup[combined], int(present.sum())
    dense, found = pd.factorize(combined)
    return dense, len(found)


def _cells(ds, keys: list[str]) -> _Cells:
    """The :class:`_Cells` of ``keys`` in an in-memory Dataset; the last few, and the codes of
    the sensitive columns (the keys of most requests), are kept on the Dataset."""
    cache = ds.__dict__.setdefault("_aggregate_cells", {})
    factorized = ds.__dict__.setdefault("_aggregate_keys", {})
    key = tuple(keys)
    if key not in cache:
        if len(cache) >= 4:
            cache.pop(next(iter(cache)))
        known = {k: v for k, v in factorized.items() if k in keys}
        cache[key] = _Cells(ds.frame, keys, known)
        factorized.update({k: known[k] for k in keys if k in ds.sensitive_names})
    return cache[key]


def _weights(frame: pd.DataFrame, weight) -> np.ndarray | None:
    if weight is None:
        return None
    from raikit.metrics._group_metrics import weight_array

    return weight_array(frame[weight], len(frame), name=f"weight {weight!r}")


def _numbers(series: pd.Series, caller: str = "Dataset.aggregate()") -> np.ndarray:
    """Floats of a numeric, boolean or datetime column (datetimes as nanoseconds), NaN missing."""
    dtype = series.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        if getattr(dtype, "tz", None) is not None:
            series = series.dt.tz_convert("UTC").dt.tz_localize(None)
        values = series.to_numpy("datetime64[ns]").view(np.int64).astype(float)
        values[series.isna().to_numpy()] = np.nan
        return values
    if _is_number(dtype):
        return series.to_numpy(dtype=float, na_value=np.nan)
    raise ColumnError(
        f"{caller}: column {series.name!r} holds {dtype} values; it needs numbers (or dates)."
    )


def _in_memory(ds, sets, keys, stats, weight) -> pd.DataFrame:
    from raikit._lazy import restore_dtypes

    frame = ds.frame
    cells = _cells(ds, keys)
    w = _weights(frame, weight)
    per_cell = _CellStats(frame, cells, w)
    parts = []
    for i, group_set in enumerate(sets):
        group, labels = cells.groups(group_set)
        columns = {key: labels[key] if key in group_set else None for key in keys}
        columns["__set"] = i
        for name, (column, op) in stats.items():
            if op in ("distinct", "approx_distinct") and _sortable(ds, column):
                columns[name] = _sorted_distinct(ds, column, keys, group_set)
                continue
            columns[name] = per_cell.rolled(column, op, group, len(labels))
        parts.append(pd.DataFrame(columns, index=labels.index))
    table = restore_dtypes(pd.concat(parts, ignore_index=True), frame.dtypes, keys)
    return _finish(table, keys, stats, weight)


class _CellStats:
    """Statistics per cell (finest key combination), rolled up to any grouping set."""

    def __init__(self, frame, cells: _Cells, w) -> None:
        self.frame, self.cells, self.w = frame, cells, w
        self._memo: dict = {}

    def _present(self, column):
        if column not in self._memo:
            values = self.frame[column]
            self._memo[column] = ~values.isna().to_numpy()
        return self._memo[column]

    def _sums(self, column, op):
        """Per cell: weighted count of present values (or of missing ones) or weighted sums."""
        key = (op, column)
        if key not in self._memo:
            self._memo[key] = self._compute_sums(column, op)
        return self._memo[key]

    def _compute_sums(self, column, op):
        cell, w, n = self.cells.cell, self.w, self.cells.n_cells
        if column is None:
            return np.bincount(cell, weights=w, minlength=n).astype(float)
        ok = self._present(column)
        if op == "null_count":
            return np.bincount(cell[~ok], weights=None if w is None else w[~ok], minlength=n)
        if op == "count":
            return np.bincount(cell[ok], weights=None if w is None else w[ok], minlength=n)
        x = _numbers(self.frame[column])[ok]
        x = x * x if op == "sum_sq" else x
        return np.bincount(cell[ok], weights=x if w is None else w[ok] * x, minlength=n)

    def _moments(self, column):
        """Per cell: (weighted) count, mean and sum of squared deviations from the mean (two
        passes)."""
        key = ("moments", column)
        if key not in self._memo:
            ok = self._present(column)
            cell, n = self.cells.cell[ok], self.cells.n_cells
            x = _numbers(self.frame[column])[ok]
            w = None if self.w is None else self.w[ok]
            count = np.bincount(cell, weights=w, minlength=n).astype(float)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = np.bincount(cell, weights=x if w is None else w * x, minlength=n) / count
            deviation = x - np.nan_to_num(mean)[cell]
            squares = deviation * deviation
            m2 = np.bincount(cell, weights=squares if w is None else w * squares, minlength=n)
            self._memo[key] = (count, np.where(count > 0, mean, 0.0), m2)
        return self._memo[key]

    def _extreme(self, column, op) -> pd.Series:
        key = (op, column)
        if key not in self._memo:
            values = self.frame[column]
            if isinstance(values.dtype, np.dtype) and values.dtype.kind == "f" and len(values):
                # floats: one reduction over the rows in cell order (every cell has a row)
                reduce = np.fmin if op == "min" else np.fmax  # NaN is missing
                order, starts = self._cell_order()
                found = pd.Series(reduce.reduceat(values.to_numpy()[order], starts))
            else:
                found = getattr(values.groupby(self.cells.cell, sort=False), op)()
            self._memo[key] = found.reindex(range(self.cells.n_cells))
        return self._memo[key]

    def _cell_order(self):
        """The rows in cell order (a radix sort of small codes) and where each cell starts."""
        if "cell_order" not in self._memo:
            cell, n = self.cells.cell, self.cells.n_cells
            order = np.argsort(small_codes(cell, n), kind="stable")
            sizes = np.bincount(cell, minlength=n)
            self._memo["cell_order"] = (order, np.cumsum(sizes) - sizes)
        return self._memo["cell_order"]

    def _distinct_pairs(self, column):
        key = ("distinct", column)
        if key not in self._memo:
            codes, uniques = pd.factorize(self.frame[column])
            ok = codes >= 0
            k = max(len(uniques), 1)
            pair = self.cells.cell[ok].astype(np.int64) * k + codes[ok]
            size = self.cells.n_cells * k
            if size <= max(1 << 22, 4 * len(pair)):  # a table of the pairs seen: no sort
                pairs = np.flatnonzero(np.bincount(pair, minlength=size))
            else:
                pairs = np.unique(pair)
            self._memo[key] = (pairs // k, pairs % k, k)
        return self._memo[key]

    def rolled(self, column, op, group: np.ndarray, n_groups: int):
        """``op`` of ``column`` for every group of a set (``group``: the group of each cell)."""
        if op in ("count", "null_count", "sum", "sum_sq"):
            return np.bincount(group, weights=self._sums(column, op), minlength=n_groups)
        if op == "mean":
            total = np.bincount(group, weights=self._sums(column, "sum"), minlength=n_groups)
            count = np.bincount(group, weights=self._sums(column, "count"), minlength=n_groups)
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.where(count > 0, total / count, np.nan)
        if op == "var":  # Chan et al.'s pairwise combination of the cells' moments
            count, mean, m2 = self._moments(column)
            n = np.bincount(group, weights=count, minlength=n_groups)
            with np.errstate(invalid="ignore", divide="ignore"):
                centre = np.bincount(group, weights=count * mean, minlength=n_groups) / n
                shift = count * (mean - np.nan_to_num(centre)[group]) ** 2
                total = np.bincount(group, weights=m2 + shift, minlength=n_groups)
                return np.where(n > 1, total / (n - 1), np.nan)
        if op in ("distinct", "approx_distinct"):  # in memory: exact
            cell, value, k = self._distinct_pairs(column)
            found = np.unique(group[cell] * k + value) // k
            return np.bincount(found, minlength=n_groups).astype(np.int64)
        extreme = self._extreme(column, op)
        found = getattr(extreme.groupby(group, sort=True), op)()
        return found.reindex(range(n_groups)).to_numpy()


def _finish(table, keys, stats, weight) -> pd.DataFrame:
    for name, (_column, op) in stats.items():
        if op in ("distinct", "approx_distinct") or (
            op in ("count", "null_count") and weight is None
        ):
            table[name] = table[name].fillna(0).astype(np.int64)
        elif op not in ("min", "max"):
            table[name] = table[name].astype(float)
    return table[[*keys, "__set", *stats]]


# --------------------------------------------------------------------------- SQL
def value_sql(dialect, name: str, dtype) -> str:
    """SQL for a numeric (or datetime: nanoseconds) column as DOUBLE, NaN read as missing."""
    column = dialect.ident(name)
    if pd.api.types.is_datetime64_any_dtype(dtype):
        if dialect.name == "spark":
            return f"(CAST(unix_micros({column}) AS DOUBLE) * 1000)"
        return f"CAST(epoch_ns({column}) AS DOUBLE)"
    value = f"CAST({column} AS DOUBLE)"
    if pd.api.types.is_float_dtype(dtype):
        return f"(CASE WHEN isnan({value}) THEN NULL ELSE {value} END)"
    return value


def _in_sql(table, sets, keys, stats, weight) -> pd.DataFrame:
    from raikit._lazy import restore_dtypes

    d = table.dialect
    dtypes = table.dtypes

    def value(column):  # NaN is missing, as in pandas
        if pd.api.types.is_float_dtype(dtypes.get(column)):
            return value_sql(d, column, dtypes.get(column))
        return d.ident(column)

    w = "1" if weight is None else f"CAST({d.ident(weight)} AS DOUBLE)"
    select = [d.ident(k) for k in keys]
    shifts = _var_shifts(table, stats, value) if weight is not None else {}
    for name, (column, op) in stats.items():
        alias = d.ident(name)
        if op in ("min", "max"):
            select.append(f"{op.upper()}({value(column)}) AS {alias}")
            continue
        present = "TRUE" if column is None else f"{value(column)} IS NOT NULL"
        x = None if column is None else f"CAST({value(column)} AS DOUBLE)"
        if op == "distinct":
            select.append(f"COUNT(DISTINCT {value(column)}) AS {alias}")
            continue
        if op == "approx_distinct":
            select.append(f"approx_count_distinct({value(column)}) AS {alias}")
            continue
        if op == "var" and weight is not None:  # sums about a shift: no cancellation
            dx = f"({x} - {d.double(shifts[column])})"
            for part, term in (("w", f"CASE WHEN {present} THEN {w} END"), ("s1", f"{w} * {dx}")):
                select.append(f"SUM({term}) AS {d.ident(f'__var_{part}_{name}')}")
            select.append(f"SUM({w} * {dx} * {dx}) AS {d.ident(f'__var_s2_{name}')}")
            continue
        if op == "var":
            select.append(f"VAR_SAMP({x}) AS {alias}")
            continue
        if op == "mean":
            weighted = f"SUM(CASE WHEN {present} THEN {w} END)"
            select.append(f"SUM({w} * {x}) / {weighted} AS {alias}")
            continue
        if op == "count":
            term = f"CASE WHEN {present} THEN {w} ELSE 0 END"
        elif op == "null_count":
            term = f"CASE WHEN {present} THEN 0 ELSE {w} END"
        else:
            term = f"{w} * {x}" + (f" * {x}" if op == "sum_sq" else "")
        select.append(f"SUM({term}) AS {alias}")
    if weight is not None:  # rows whose weight is unusable, counted in the same scan
        select += _weight_checks(d, weight)
    if len(sets) > 1:
        select += [f"GROUPING({d.ident(k)}) AS __g{i}" for i, k in enumerate(keys)]
        grouping = ", ".join("(" + ", ".join(d.ident(c) for c in s) + ")" for s in sets)
        group_by = f" GROUP BY GROUPING SETS ({grouping})"
    else:
        group_by = f" GROUP BY {', '.join(select[: len(keys)])}" if keys else ""
    result = table.query(f"SELECT {', '.join(select)} FROM {{table}}{group_by}")
    result["__set"] = _set_of_rows(result, sets, keys)
    if weight is not None:
        _refuse_bad_weights(result, weight, "Dataset.aggregate()")
    result = restore_dtypes(result, dtypes, keys)
    for name, (_column, op) in stats.items():
        if op == "var" and weight is not None:
            result[name] = _weighted_var(result, name)
        if op in ("sum", "sum_sq", "mean", "var") or (op == "count" and weight is not None):
            result[name] = pd.to_numeric(result[name], errors="coerce").astype(float)
    return _finish(result, keys, stats, weight)


def _var_shifts(table, stats, value) -> dict[str, float]:
    """Per column of a weighted ``var``, its overall mean (one scan): the weighted sums of
    squares are taken about it, so that a large mean does not swamp a small variance."""
    columns = list(dict.fromkeys(c for c, op in stats.values() if op == "var"))
    if not columns:
        return {}
    d = table.dialect
    select = ", ".join(
        f"AVG(CAST({value(c)} AS DOUBLE)) AS {d.ident(f'__shift{i}')}"
        for i, c in enumerate(columns)
    )
    found = table.query(f"SELECT {select} FROM {{table}}").iloc[0]
    shifts = pd.to_numeric(found, errors="coerce").fillna(0.0).to_numpy(float)
    return dict(zip(columns, shifts, strict=True))


def _weighted_var(result: pd.DataFrame, name: str) -> np.ndarray:
    """Frequency-weighted sample variance ``sum(w (x - mean)^2) / (sum(w) - 1)`` from the
    weighted sums about a shift (NaN where the weights sum to 1 or less)."""
    parts = [f"__var_{part}_{name}" for part in ("w", "s1", "s2")]
    total, s1, s2 = (pd.to_numeric(result.pop(p), errors="coerce").to_numpy(float) for p in parts)
    with np.errstate(invalid="ignore", divide="ignore"):
        m2 = np.maximum(s2 - s1 * s1 / total, 0.0)
        return np.where(total > 1, m2 / (total - 1), np.nan)


def _weight_checks(d, weight: str) -> list[str]:
    """The unusable-weight count and the weight sum of :func:`raikit._sql.weight_check_sql`."""
    from raikit._sql import weight_check_sql

    bad, total = weight_check_sql(d, weight)
    return [f"{bad} AS __bad_weight", f"{total} AS __weight_sum"]


def _refuse_bad_weights(result: pd.DataFrame, weight: str, caller: str) -> None:
    """DataError when a weight is missing, NaN, negative or infinite, counted over the rows of
    the first grouping set (which partition the table)."""
    from raikit._sql import unusable_weights

    first = result["__set"].to_numpy() == 0
    bad, total = result.pop("__bad_weight")[first], result.pop("__weight_sum")[first]
    many = unusable_weights(bad, total)
    if many:
        raise DataError(
            f"{caller}: weight column {weight!r} has {many} missing, infinite or "
            f"negative value(s); weights must be finite and non-negative."
        )


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


def _grouping(d, sets, keys, extra: list[str]) -> tuple[str, list[str]]:
    """The GROUP BY clause of ``sets`` (each with the ``extra`` columns) and the GROUPING flags."""
    if len(sets) == 1:
        columns = [d.ident(c) for c in sets[0]] + extra
        return f" GROUP BY {', '.join(columns)}" if columns else "", []
    grouping = ", ".join(
        "(" + ", ".join([*(d.ident(c) for c in s), *extra]) + ")" if s or extra else "()"
        for s in sets
    )
    flags = [f"GROUPING({d.ident(k)}) AS __g{i}" for i, k in enumerate(keys)]
    return f" GROUP BY GROUPING SETS ({grouping})", flags


def _aliases(keys, reserved, columns) -> dict[str, str]:
    """The output name of each key column: itself, or, when an output column has its name,
    the name with underscores prepended until it names no output or Dataset column (say which
    in ``result.attrs["keys"]``)."""
    taken = {*reserved, *columns, *keys}
    names = {}
    for key in keys:
        names[key] = key if key not in reserved else free_name("_" + key, taken)
        taken.add(names[key])
    return names


# --------------------------------------------------------------------------- histogram pieces
def _check_range(value_range, caller):
    if value_range is None:
        return None
    try:
        low, high = (float(v) for v in value_range)
    except (TypeError, ValueError):
        raise ParameterError(
            f"{caller}: range must be (low, high), two numbers; got {value_range!r}."
        ) from None
    if not (np.isfinite(low) and np.isfinite(high) and low <= high):
        raise ParameterError(
            f"{caller}: range must be finite with low <= high; got {value_range!r}."
        )
    return low, high


def _check_cuts(cuts, reserved, caller) -> dict[str, np.ndarray]:
    if cuts is None:
        return {}
    if not isinstance(cuts, dict):
        raise ParameterError(
            f"{caller}: cuts must map a name to increasing edges, e.g. "
            f"{{'decile': [1.0, 2.5, 4.0]}}; got {type(cuts).__name__}."
        )
    out = {}
    for name, edges in cuts.items():
        name = str(name)
        try:
            edges = np.asarray(edges, dtype=float).ravel()
        except (TypeError, ValueError):
            raise ParameterError(f"{caller}: cuts[{name!r}] must be numbers.") from None
        if not np.isfinite(edges).all() or (np.diff(edges) < 0).any():
            raise ParameterError(
                f"{caller}: cuts[{name!r}] must be finite and increasing; got "
                f"{edges.tolist()[:10]}."
            )
        if name in reserved:
            raise ParameterError(
                f"{caller}: cut name {name!r} is taken by an output or key column; pick another."
            )
        out[name] = edges
    return out


def _bin(values: np.ndarray, low: float, high: float, bins: int) -> np.ndarray:
    """``min(floor(((v - low) / (high - low)) * bins), bins - 1)``, in the SQL's float order."""
    if not high > low:
        return np.zeros(len(values), dtype=np.int64)
    span = high - low
    raw = np.floor(((values - low) / span) * float(bins))
    return np.clip(raw, 0, bins - 1).astype(np.int64)


def _bin_sql(d, v: str, low: float, high: float, bins: int) -> str:
    if not high > low:
        return "CAST(0 AS BIGINT)"
    span = high - low
    raw = f"CAST(FLOOR((({v} - {d.double(low)}) / {d.double(span)}) * {d.double(bins)}) AS BIGINT)"
    return f"LEAST(GREATEST({raw}, 0), {bins - 1})"


def histogram(
    ds,
    column,
    *,
    by=None,
    bins=2048,
    value_range=None,
    cuts=None,
    weight=None,
    pieces="auto",
    quantiles=None,
) -> pd.DataFrame:
    """The work of :meth:`raikit.Dataset.histogram` (see there)."""
    caller = "Dataset.histogram()"
    if column not in ds.columns:
        raise ColumnError(
            f"{caller}: no column {column!r}. Available columns: {list(ds.columns)[:20]}."
        )
    if isinstance(bins, bool) or not isinstance(bins, int | np.integer) or bins < 1:
        raise ParameterError(f"{caller}: bins must be a positive integer, got {bins!r}.")
    if pieces not in ("auto", "bins"):
        raise ParameterError(f"{caller}: pieces must be 'auto' or 'bins', got {pieces!r}.")
    qs = None if quantiles is None else _check_qs(quantiles, caller)
    sets, several = _sets(by, caller)
    keys = _keys(ds, sets, caller)
    _check_weight(ds, weight, caller)
    reserved = {*keys, *_PIECES, "grouping_set"}
    cuts = _check_cuts(cuts, reserved, caller)
    outputs = {*_PIECES, "grouping_set", "__set", "quantile", "value", "error", *cuts}
    names = _aliases(keys, outputs, ds.columns)
    value_range = _check_range(value_range, caller)
    dtype = _dtypes(ds)[column]
    if not (_is_number(dtype) or pd.api.types.is_datetime64_any_dtype(dtype)):
        raise ColumnError(
            f"{caller}: column {column!r} holds {dtype} values; a histogram needs numbers "
            f"or dates. Count categories with Dataset.aggregate(by=[..., {column!r}])."
        )
    request = (column, sets, keys, int(bins), value_range, cuts, weight)
    out_keys = [names[k] for k in keys]
    found = None
    if ds.table is not None:
        table, low, high = _histogram_sql(ds.table, *request, names=names)
        table = _ordered(table, out_keys, several, extra=["bin", "lo"])
        if qs is not None:
            out_sets = [[names[k] for k in s] for s in sets]
            found = _pieces_quantiles(table, out_keys, out_sets, qs, weighted=weight is not None)
    else:
        table, low, high = _histogram_memory(ds, *request, per_value=pieces == "auto", names=names)
        if qs is not None:
            found = _quantiles_memory(ds, column, qs, sets, keys, names=names, weight=weight)
            found = found.assign(error=0.0)
        table = table.drop(columns="__set") if not several else table
        table = table.rename(columns={"__set": "grouping_set"})
    table.attrs["exact"] = bool((table["lo"].to_numpy() == table["hi"].to_numpy()).all())
    table.attrs["pieces"] = "values" if ds.table is None and pieces == "auto" else "bins"
    table.attrs["range"] = (low, high)
    table.attrs["keys"] = names
    if found is not None:
        table.attrs["quantiles"] = _ordered(found, out_keys, several, extra=["quantile"])
        table.attrs["exact_quantiles"] = ds.table is None
    return table


class _Sorted:
    """The non-missing values of one numeric column sorted once (with the cell of each and the
    rank of its value among the distinct values); per grouping set, the stable order that sorts
    them by group, so values stay sorted within each group (a radix sort of small codes)."""

    def __init__(self, frame: pd.DataFrame, column: str, cells: _Cells) -> None:
        x = _numbers(frame[column], "Dataset.histogram()")
        self.ok = ~np.isnan(x)
        v = x[self.ok]
        self.order = _value_order(v)
        self.v = v[self.order]
        self.cell = cells.cell[self.ok][self.order]
        new_value = np.empty(len(self.v), dtype=bool)
        new_value[:1] = True
        np.not_equal(self.v[1:], self.v[:-1], out=new_value[1:])
        self.value_id = np.cumsum(new_value)
        self.cells = cells
        self._by_set: dict = {}

    def by_group(self, group_set: list[str]):
        """Per row in value order: the permutation to (group, value) order (None for one group),
        the group of each row in that order, the number of groups and their key codes."""
        key = tuple(group_set)
        if key not in self._by_set:
            group_of_cell, key_codes = self.cells.group_codes(group_set)
            n_groups = len(key_codes[group_set[0]]) if group_set else 1
            if n_groups > 1:
                group = small_codes(group_of_cell, n_groups)[self.cell]
                perm = np.argsort(group, kind="stable")
                found = (perm, group[perm], n_groups, key_codes)
            else:
                found = (None, None, n_groups, key_codes)
            self._by_set[key] = found
        return self._by_set[key]


def _value_order(v: np.ndarray) -> np.ndarray:
    """The order that sorts ``v`` (no NaN): a radix sort when the values are whole numbers
    spanning fewer than 2**16 (ages, hours, counts: several times faster), else quicksort (ties
    in any order: they fall in one piece)."""
    if v.size:
        low, high = v.min(), v.max()
        if np.isfinite(low) and np.isfinite(high) and high - low < 1 << 16:
            if (v == np.trunc(v)).all():
                return np.argsort((v - low).astype(np.uint16), kind="stable")
    return np.argsort(v)


def _sorted(ds, column: str, keys: list[str]) -> _Sorted:
    """The :class:`_Sorted` of ``column`` grouped by ``keys`` (the last one kept on the Dataset:
    a check asks its histogram, quantiles and distinct counts of one column in a row)."""
    cache = ds.__dict__.setdefault("_aggregate_sorted", {})
    key = (column, tuple(keys))
    if key not in cache:
        cache.clear()
        cache[key] = _Sorted(ds.frame, column, _cells(ds, keys))
    return cache[key]


def _sorted_distinct(ds, column: str, keys: list[str], group_set: list[str]) -> np.ndarray:
    """Distinct values of each group of a set: the starts of runs of one value in (group, value)
    order."""
    s = _sorted(ds, column, keys)
    perm, group, n_groups, _ = s.by_group(group_set)
    if perm is None:
        return np.array([int(s.value_id[-1]) if len(s.v) else 0])
    value_id = s.value_id[perm]
    start = np.empty(len(value_id), dtype=bool)
    start[:1] = True
    np.not_equal(value_id[1:], value_id[:-1], out=start[1:])
    start[1:] |= group[1:] != group[:-1]
    return np.bincount(group[start], minlength=n_groups)


def _sortable(ds, column) -> bool:
    """Whether distinct values of ``column`` can be counted on its float values (numbers that
    floats hold exactly: not datetimes, not integers beyond 2**53)."""
    dtype = ds.frame[column].dtype
    if pd.api.types.is_float_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        return True
    if pd.api.types.is_integer_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype):
        values = ds.frame[column]
        return len(values) == 0 or bool(values.abs().max() <= 1 << 53)
    return False


def _histogram_memory(ds, column, sets, keys, bins, value_range, cuts, weight, *, per_value, names):
    """From the column sorted once (its bins and cuts computed once, in that order): per set, the
    rows in (group, value) order, whose runs of one value (``per_value``) or of one (cut, bin)
    are the pieces."""
    frame = ds.frame
    s = _sorted(ds, column, keys)
    v = s.v
    w = _weights(frame, weight)
    mass = None if w is None else w[s.ok][s.order]
    low, high = value_range or ((float(v[0]), float(v[-1])) if v.size else (np.nan, np.nan))
    per_row = {name: np.searchsorted(edges, v, side="right") for name, edges in cuts.items()}
    per_row["bin"] = _bin(v, low, high, bins)
    if per_value:
        piece_id = s.value_id
    else:  # bins and cuts never decrease in value order: a new piece where one of them changes
        new_piece = np.zeros(len(v), dtype=bool)
        new_piece[:1] = True
        for values in per_row.values():
            new_piece[1:] |= values[1:] != values[:-1]
        piece_id = np.cumsum(new_piece)
    per_row["lo"] = v
    runs = []
    for group_set in sets:
        perm, group, _, key_codes = s.by_group(group_set)
        if perm is not None:
            gid, at, last, rows, n = _runs(group, piece_id[perm], _at(mass, perm))
            at, last = perm[at], perm[last]
        else:
            gid, at, last, rows, n = _runs(None, piece_id, mass)
        runs.append((group_set, key_codes, gid, at, last, rows, n))
    # one array per output column, filled set by set (no concatenation of millions of pieces)
    total = sum(len(run[2]) for run in runs)
    codes = {key: np.empty(total, dtype=np.int64) for key in keys}
    columns = {"__set": np.empty(total, dtype=np.int64)}
    columns.update((name, np.empty(total, dtype=per_row[name].dtype)) for name in per_row)
    columns["rows"] = np.empty(total, dtype=np.int64)
    columns["n"] = np.empty(total, dtype=float)
    columns["hi"] = np.empty(total, dtype=float)
    start = 0
    for i, (group_set, key_codes, gid, at, last, rows, n) in enumerate(runs):
        here = slice(start, start + len(gid))
        start += len(gid)
        for key in keys:  # -1: the set does not group by this key
            if key in group_set:
                np.take(key_codes[key], gid, out=codes[key][here], mode="clip")  # unbuffered
            else:
                codes[key][here] = -1
        columns["__set"][here] = i
        for name, values in per_row.items():
            np.take(values, at, out=columns[name][here], mode="clip")
        np.take(v, last, out=columns["hi"][here], mode="clip")
        columns["rows"][here] = rows
        columns["n"][here] = rows if n is None else n
    ordered = {names[key]: s.cells.key_values(key, codes[key]) for key in keys}
    ordered.update((name, columns[name]) for name in ["__set", *cuts, *_PIECES])
    # copy=False: no consolidation of millions of pieces into 2-D blocks (seconds per column)
    return pd.DataFrame(ordered, copy=False), low, high


def small_codes(codes: np.ndarray, n_groups: int) -> np.ndarray:
    """Codes in the narrowest unsigned type: numpy's stable argsort of those is a radix sort."""
    if n_groups <= 1 << 8:
        return codes.astype(np.uint8)
    if n_groups <= 1 << 16:
        return codes.astype(np.uint16)
    return codes


def _at(values, index):
    return None if values is None else values[index]


def _runs(group, value_id, mass):
    """Runs of equal (group, value) in rows sorted by group then value (``group`` None: one
    group): each run's group, the positions of its first and last rows, its rows and weight."""
    n = len(value_id)
    start = np.empty(n, dtype=bool)
    start[:1] = True
    np.not_equal(value_id[1:], value_id[:-1], out=start[1:])
    if group is not None:
        start[1:] |= group[1:] != group[:-1]
    at = np.flatnonzero(start)
    rows = np.diff(np.append(at, n))
    gid = np.zeros(len(at), dtype=np.int64) if group is None else group[at].astype(np.int64)
    weight = None if mass is None else np.add.reduceat(mass, at) if n else mass
    return gid, at, at + rows - 1, rows, weight


def free_name(name: str, taken) -> str:
    """``name``, prefixed with underscores until no column in ``taken`` has it."""
    while name in taken:
        name = "_" + name
    return name


def _histogram_sql(table, column, sets, keys, bins, value_range, cuts, weight, *, names):
    from raikit._lazy import restore_dtypes

    d = table.dialect
    v = value_sql(d, column, table.dtypes[column])
    taken = set(table.columns)
    alias = {
        n: free_name(f"__raikit_{n}", taken) for n in ("v", "w", "bin", "rows", "n", "lo", "hi")
    }
    cut_alias = {name: free_name(f"__raikit_cut{j}", taken) for j, name in enumerate(cuts)}
    if value_range is None:
        found = table.query(f"SELECT MIN({v}) AS lo, MAX({v}) AS hi FROM {{table}}").iloc[0]
        low, high = (float(found["lo"]), float(found["hi"])) if pd.notna(found["lo"]) else (0, 0)
    else:
        low, high = value_range
    a = {n: d.ident(x) for n, x in alias.items()}
    w = "1" if weight is None else f"CAST({d.ident(weight)} AS DOUBLE)"
    inner = ", ".join([*(d.ident(k) for k in keys), f"{v} AS {a['v']}", f"{w} AS {a['w']}"])
    derived = [f"{_bin_sql(d, a['v'], low, high, bins)} AS {a['bin']}"]
    for name, edges in cuts.items():
        terms = " + ".join(
            f"(CASE WHEN {a['v']} >= {d.double(e)} THEN 1 ELSE 0 END)" for e in edges
        )
        derived.append(f"CAST({terms or '0'} AS BIGINT) AS {d.ident(cut_alias[name])}")
    extra = [d.ident(cut_alias[name]) for name in cuts] + [a["bin"]]
    group_by, flags = _grouping(d, sets, keys, extra)
    select = [d.ident(k) for k in keys] + extra + flags
    select += [
        f"COUNT(*) AS {a['rows']}",
        f"SUM({a['w']}) AS {a['n']}",
        f"MIN({a['v']}) AS {a['lo']}",
        f"MAX({a['v']}) AS {a['hi']}",
    ]
    if weight is not None:
        select += _weight_checks(d, alias["w"])
    sql = (
        f"SELECT {', '.join(select)} FROM (SELECT *, {', '.join(derived)} FROM "
        f"(SELECT {inner} FROM {{table}}) AS t WHERE {a['v']} IS NOT NULL) AS p{group_by}"
    )
    result = table.query(sql)
    result["__set"] = _set_of_rows(result, sets, keys)
    if weight is not None:
        _refuse_bad_weights(result, weight, "Dataset.histogram()")
    raw = [*keys, "__set", *(cut_alias[c] for c in cuts), *(alias[n] for n in _PIECES)]
    result = restore_dtypes(result[raw], table.dtypes, keys)
    result.columns = [*(names[k] for k in keys), "__set", *cuts, *_PIECES]
    for name in [*cuts, "bin", "rows"]:
        result[name] = result[name].to_numpy(np.int64)
    for name in ("n", "lo", "hi"):
        result[name] = result[name].to_numpy(float)
    return result, low, high


# --------------------------------------------------------------------------- quantiles
def _check_qs(qs, caller) -> np.ndarray:
    try:
        qs = np.asarray(qs, dtype=float).ravel()
    except (TypeError, ValueError):
        raise ParameterError(f"{caller}: qs must be numbers in [0, 1], got {qs!r}.") from None
    if not qs.size or not ((qs >= 0) & (qs <= 1)).all():
        raise ParameterError(
            f"{caller}: qs must be one or more probabilities in [0, 1], got {qs.tolist()[:10]}."
        )
    return qs


def quantiles(ds, column, qs, *, by=None) -> pd.DataFrame:
    """The work of :meth:`raikit.Dataset.quantiles` (see there)."""
    caller = "Dataset.quantiles()"
    if column not in ds.columns:
        raise ColumnError(
            f"{caller}: no column {column!r}. Available columns: {list(ds.columns)[:20]}."
        )
    qs = _check_qs(qs, caller)
    sets, several = _sets(by, caller)
    keys = _keys(ds, sets, caller)
    if {"quantile", "value"} & set(keys):
        raise ColumnError(
            f"{caller}: a key column is named 'quantile' or 'value', as an output column; "
            f"rename it first."
        )
    dtype = _dtypes(ds)[column]
    if not (_is_number(dtype) or pd.api.types.is_datetime64_any_dtype(dtype)):
        raise ColumnError(f"{caller}: column {column!r} holds {dtype} values; it needs numbers.")
    if ds.table is not None:
        table = _quantiles_sql(ds.table, column, qs, sets, keys)
    else:
        table = _quantiles_memory(ds, column, qs, sets, keys)
    return _ordered(table, keys, several, extra=["quantile"])


def _lerp(a, b, t):
    """numpy's linear interpolation (``np.quantile``'s default method), in its float order."""
    diff = b - a
    return np.where(t >= 0.5, b - diff * (1 - t), a + diff * t)


def _quantiles_memory(ds, column, qs, sets, keys, names=None, weight=None) -> pd.DataFrame:
    """Order statistics by position in the column sorted once (per set, the stable order by
    group of :class:`_Sorted`), interpolated as ``np.quantile`` does; with ``weight``, positions
    are in cumulative weight (see :func:`_weighted_positions`)."""
    from raikit._lazy import restore_dtypes

    names = names or {key: key for key in keys}
    s = _sorted(ds, column, keys)
    mass = None if weight is None else _weights(ds.frame, weight)[s.ok][s.order]
    parts = []
    for i, group_set in enumerate(sets):
        perm, group, n_groups, key_codes = s.by_group(group_set)
        count = np.bincount(group, minlength=n_groups) if perm is not None else np.array([len(s.v)])
        if mass is None:
            at_below, at_above, frac, empty = _positions(count, qs)
        else:
            at_below, at_above, frac, empty = _weighted_positions(_at(mass, perm), count, qs)
        if perm is not None:
            at_below, at_above = perm[at_below], perm[at_above]
        if len(s.v):
            value = _lerp(s.v[at_below], s.v[at_above], frac)
        else:
            value = frac * np.nan
        value[empty] = np.nan
        labels = {
            names[key]: s.cells.key_values(key, np.repeat(key_codes[key], len(qs)))
            if key in group_set
            else s.cells.key_values(key, np.full(n_groups * len(qs), -1))
            for key in keys
        }
        part = pd.DataFrame(labels)
        part["__set"] = i
        part["quantile"] = np.tile(qs, n_groups)
        part["value"] = value.ravel()
        parts.append(part)
    out_keys = [names[k] for k in keys]
    dtypes = {names[k]: ds.frame.dtypes[k] for k in keys}
    table = restore_dtypes(pd.concat(parts, ignore_index=True), pd.Series(dtypes), out_keys)
    return table[[*out_keys, "__set", "quantile", "value"]]


def _positions(count: np.ndarray, qs: np.ndarray):
    """Per group (rows ``count`` in a row, in value order) and quantile: the rows below and above
    the quantile's position ``q (count - 1)``, the fraction between them, and the empty groups."""
    top = max(int(count.sum()) - 1, 0)
    starts = np.cumsum(count) - count
    below, above, frac = _straddle(np.maximum(count - 1, 0), qs)
    at_below = np.clip(starts[:, None] + below.astype(np.int64), 0, top)
    at_above = np.clip(starts[:, None] + above.astype(np.int64), 0, top)
    return at_below, at_above, frac, count == 0


def _straddle(span: np.ndarray, qs: np.ndarray):
    """Per group (last position ``span``) and quantile: the positions ``floor(q span)`` and the
    next one (at most ``span``) that a quantile interpolates between, and the fraction."""
    position = qs[None, :] * span[:, None]
    below = np.floor(position)
    return below, np.minimum(below + 1, span[:, None]), position - below


def _weighted_positions(mass: np.ndarray, count: np.ndarray, qs: np.ndarray):
    """As :func:`_positions` for frequency weights: each row stands for ``w`` rows, so the
    quantile's position is ``q (W - 1)`` in the group's cumulative weight ``W`` (integer weights
    give the quantiles of the rows repeated; weights of 1 those of :func:`_positions`). The row
    at position ``t`` is the first whose cumulative weight exceeds ``t``; rows of weight 0 are
    never chosen, and a group whose weights sum to 0 is empty."""
    top = max(int(count.sum()) - 1, 0)
    cum = np.append(np.cumsum(mass), 0.0)  # the extra 0 is read for an empty first group
    ends = np.cumsum(count)
    before = cum[ends - count - 1]
    after = np.where(count > 0, cum[ends - 1], before)
    total = after - before
    last = np.clip(np.searchsorted(cum[:-1], after, side="left"), 0, top)[:, None]
    below, above, frac = _straddle(np.maximum(total - 1, 0), qs)

    def row_at(t):
        return np.minimum(np.searchsorted(cum[:-1], before[:, None] + t, side="right"), last)

    return row_at(below), row_at(above), frac, total <= 0


def weighted_quantiles(values: np.ndarray, weights: np.ndarray, qs) -> np.ndarray:
    """Frequency-weighted quantiles of an array without NaN (those of
    :meth:`raikit.Dataset.histogram`'s ``quantiles=`` with ``weight=``: integer weights give
    ``np.quantile`` of the values repeated).

    Examples
    --------
    >>> weighted_quantiles(np.array([3.0, 1.0, 2.0]), np.array([1.0, 2.0, 0.0]), [0.0, 0.5, 1.0])
    array([1., 1., 3.])
    """
    order = np.argsort(values, kind="stable")
    v, qs = np.asarray(values, dtype=float)[order], np.asarray(qs, dtype=float)
    mass = np.asarray(weights, dtype=float)[order]
    below, above, frac, empty = _weighted_positions(mass, np.array([len(v)]), qs)
    if not len(v) or empty[0]:
        return np.full(len(qs), np.nan)
    return _lerp(v[below[0]], v[above[0]], frac[0])


def _pieces_quantiles(table: pd.DataFrame, keys, sets, qs, *, weighted=False) -> pd.DataFrame:
    """Per group, quantiles from value-ordered pieces with their guaranteed error bound."""
    set_of = table["grouping_set"].to_numpy() if "grouping_set" in table else None
    parts = []
    for i, group_set in enumerate(sets):
        part = table if set_of is None else table[set_of == i]
        combined = np.zeros(len(part), dtype=np.int64)
        for key in group_set:  # the pieces are sorted by set then keys: groups are runs
            code, found = pd.factorize(part[key], use_na_sentinel=False)
            combined = combined * max(len(found), 1) + code
        new_group = np.ones(len(part), dtype=bool)
        new_group[1:] = combined[1:] != combined[:-1]
        first = np.flatnonzero(new_group)
        rows = part["n" if weighted else "rows"].to_numpy(float if weighted else np.int64)
        counts = np.add.reduceat(rows, first) if len(first) else np.zeros(0, dtype=rows.dtype)
        find = weighted_piece_quantiles if weighted else piece_quantiles
        quant, error = find(rows, part["lo"], part["hi"], counts, qs)
        out = part.iloc[np.repeat(first, len(qs))][keys].reset_index(drop=True)
        out["__set"] = i
        out["quantile"] = np.tile(qs, len(first))
        out["value"] = quant.ravel()
        out["error"] = error.ravel()
        parts.append(out)
    return pd.concat(parts, ignore_index=True)


def piece_quantiles(n, lo, hi, counts: np.ndarray, qs: np.ndarray):
    """Quantiles (linear interpolation between order statistics, as ``np.quantile``) of every group
    from its value-ordered histogram pieces, with a guaranteed error bound.

    The pieces hold, per group in order, ``n`` values between ``lo`` and ``hi`` (the smallest and
    largest value in the piece); ``counts`` is the non-missing count of each group in the same
    order. An order statistic inside a piece is placed linearly between ``lo`` and ``hi``; its
    error is at most the piece's width (0 at either end of the piece).
    """
    n = np.asarray(n, dtype=np.int64)
    lo = np.asarray(lo, dtype=float)
    hi = np.asarray(hi, dtype=float)
    counts = np.asarray(counts, dtype=np.int64)
    cum = np.cumsum(n)
    starts = np.cumsum(counts) - counts
    k_lo, k_hi, frac = _straddle(np.maximum(counts - 1, 0), qs)
    k_lo, k_hi = k_lo.astype(np.int64), k_hi.astype(np.int64)

    def order_statistic(k):
        if not len(n):
            return np.full(k.shape, np.nan), np.full(k.shape, np.nan)
        target = starts[:, None] + k
        piece = np.clip(np.searchsorted(cum, target, side="right"), 0, len(n) - 1)
        rank = target - (cum[piece] - n[piece])
        size = n[piece]
        width = hi[piece] - lo[piece]
        with np.errstate(invalid="ignore", divide="ignore"):
            value = np.where(size > 1, lo[piece] + rank / (size - 1) * width, lo[piece])
        exact = (rank == 0) | (rank == size - 1) | (width == 0)
        value = np.where(rank == size - 1, hi[piece], value)
        value = np.where(rank == 0, lo[piece], value)
        return value, np.where(exact, 0.0, width)

    v_lo, e_lo = order_statistic(k_lo)
    v_hi, e_hi = order_statistic(k_hi)
    quant = v_lo + frac * (v_hi - v_lo)
    error = (1 - frac) * e_lo + frac * e_hi
    empty = counts == 0
    quant[empty] = np.nan
    error[empty] = np.nan
    return quant, error


def weighted_piece_quantiles(mass, lo, hi, totals: np.ndarray, qs: np.ndarray):
    """As :func:`piece_quantiles` with frequency weights (positions ``q (W - 1)`` in cumulative
    weight, as :func:`_weighted_positions`): pieces carry weight ``mass`` and groups ``totals``.
    Which row of a piece holds a position is unknown (weights vary), so a value inside a piece
    is placed linearly between ``lo`` and ``hi`` by weight, with the piece's width as its bound
    (0 for a one-value piece)."""
    mass = np.asarray(mass, dtype=float)
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    totals = np.asarray(totals, dtype=float)
    cum = np.cumsum(mass)
    before = np.cumsum(totals) - totals
    k_lo, k_hi, frac = _straddle(np.maximum(totals - 1, 0), qs)

    def at(k):
        if not len(mass):
            return np.full(k.shape, np.nan), np.full(k.shape, np.nan)
        target = before[:, None] + k
        piece = np.clip(np.searchsorted(cum, target, side="right"), 0, len(mass) - 1)
        start = cum[piece] - mass[piece]
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.clip((target - start) / mass[piece], 0.0, 1.0)
        width = hi[piece] - lo[piece]
        return lo[piece] + share * width, width

    v_lo, e_lo = at(k_lo)
    v_hi, e_hi = at(k_hi)
    quant = v_lo + frac * (v_hi - v_lo)
    error = np.maximum(e_lo, e_hi)
    empty = totals <= 0
    quant[empty] = np.nan
    error[empty] = np.nan
    return quant, error


def _quantiles_sql(table, column, qs, sets, keys) -> pd.DataFrame:
    from raikit._lazy import restore_dtypes

    d = table.dialect
    v = value_sql(d, column, table.dtypes[column])
    probabilities = ", ".join(repr(float(q)) for q in qs)
    if d.name == "spark":
        quantile = f"PERCENTILE({v}, array({probabilities}))"
    else:
        quantile = f"QUANTILE_CONT({v}, [{probabilities}])"
    group_by, flags = _grouping(d, sets, keys, [])
    select = [*(d.ident(k) for k in keys), *flags, f"{quantile} AS __raikit_qs"]
    result = table.query(f"SELECT {', '.join(select)} FROM {{table}}{group_by}")
    result["__set"] = _set_of_rows(result, sets, keys)
    found = [
        np.asarray(list(x), dtype=float)
        if isinstance(x, list | tuple | np.ndarray) and len(x)
        else np.full(len(qs), np.nan)
        for x in result.pop("__raikit_qs")
    ]
    result = result[[*keys, "__set"]]
    long = result.loc[result.index.repeat(len(qs))].reset_index(drop=True)
    long["quantile"] = np.tile(qs, len(result))
    long["value"] = np.concatenate(found) if found else np.zeros(0)
    return restore_dtypes(long, table.dtypes, keys)
