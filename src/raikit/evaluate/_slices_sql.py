"""The item statistics of a slice search computed where a lazy Dataset's rows live.

:func:`raikit.evaluate.find_slices` on a lazy :class:`raikit.Dataset` (Parquet/CSV files read by
DuckDB, or a Spark DataFrame) runs the same lattice and SliceLine searches as in memory; only the
numbers they ask for come from SQL instead of ``np.bincount``:

* the per-row loss is a SQL expression of the target and the ``prediction``/``score`` columns
  (log loss of the clipped score, zero-one, absolute or squared error), checked (missing targets,
  NaN losses) and summed in one scan;
* numeric features are cut at the same quantile bins as in memory (:meth:`raikit.Dataset.quantiles`
  where the rows live), categorical ones keep their sorted values, so the items are the same;
* each lattice level is one ``GROUP BY GROUPING SETS`` query over the feature sets of its
  candidates, giving per slice the count (sum of weights), the loss sum, the squared-loss sum and
  the largest loss. No row reaches Python.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from raikit._errors import DataError, ParameterError

__all__ = ["TableStats", "lazy_encode", "lazy_losses", "lazy_overlap", "searchable"]

_SQL_LOSSES = ("log_loss", "zero_one", "squared_error", "absolute_error")
_SETS_PER_QUERY = 64  # grouping sets per query: each holds a hash table (DuckDB memory limit)


def searchable(model, loss, method) -> bool:
    """Whether a search runs where a lazy Dataset's rows live: the losses of the ``prediction``
    and ``score`` columns (no model to call), a loss SQL can express, and a method of item
    statistics (the tree is fitted on rows)."""
    return model is None and isinstance(loss, str) and loss in _SQL_LOSSES and method != "tree"


# --------------------------------------------------------------------------- losses
@dataclass
class LazyLosses:
    """The per-row loss as SQL and its totals over the table."""

    expression: str  # the loss of one row (DOUBLE)
    weight: str | None  # the weight of one row (DOUBLE), or None
    positive: object  # the positive label the loss used, or None
    n_rows: int
    n: float  # rows, or the sum of the weights
    t1: float  # sum of (weighted) losses
    t2: float  # sum of (weighted) squared losses


def _value(ds, name: str) -> str:
    from raikit._aggregate import value_sql

    return value_sql(ds.table.dialect, name, ds.dtypes[name])


def _positive(ds, pos_label):
    """The positive label of a binary target, from its distinct values (where the rows live)."""
    from raikit._lazy import restore_dtypes
    from raikit.metrics._group_metrics import resolve_pos_label

    d = ds.table.dialect
    y = d.ident(ds.target)
    found = ds.table.query(f"SELECT DISTINCT {y} AS {d.ident('y')} FROM {{table}} LIMIT 3")
    found = restore_dtypes(found.rename(columns={"y": ds.target}), ds.dtypes, [ds.target])
    classes = found[ds.target].dropna().to_numpy()
    if len(classes) > 2:
        raise DataError("A score column only gives log loss for a binary target.")
    return resolve_pos_label(classes, pos_label)


def _loss_sql(ds, loss: str, positive) -> str:
    from raikit.evaluate._slices import _EPS

    d = ds.table.dialect
    if loss == "log_loss":
        p = _value(ds, ds.score)
        clipped = d.clip(p, _EPS, 1 - _EPS)
        hit = f"{d.ident(ds.target)} = {d.literal(positive)}"
        return f"(-(CASE WHEN {hit} THEN LN({clipped}) ELSE LN(1 - {clipped}) END))"
    if loss == "zero_one":
        same = f"{d.ident(ds.prediction)} = {d.ident(ds.target)}"
        return f"(CASE WHEN {same} THEN CAST(0 AS DOUBLE) ELSE CAST(1 AS DOUBLE) END)"
    diff = f"({_value(ds, ds.prediction)} - {_value(ds, ds.target)})"
    return f"({diff} * {diff})" if loss == "squared_error" else f"ABS({diff})"


def lazy_losses(ds, loss: str, pos_label) -> LazyLosses:
    """The loss expression of ``ds`` and its totals, with the in-memory path's checks, in one
    scan (plus one ``SELECT DISTINCT`` of the target for a log loss)."""
    from raikit._sql import unusable_weights, weight_check_sql

    d = ds.table.dialect
    if loss == "log_loss" and ds.score is None:
        raise DataError(
            "loss='log_loss' needs scores: pass a Dataset with score='column' (e.g. "
            "data.with_predictions(model, out=...)), or use loss='zero_one'."
        )
    if loss != "log_loss" and ds.prediction is None:
        raise DataError(
            f"loss={loss!r} needs predictions: pass a Dataset with prediction='column' (e.g. "
            f"data.with_predictions(model, out=...))."
        )
    positive = _positive(ds, pos_label) if loss == "log_loss" else None
    e = "__raikit_e"
    w = None if ds.weight is None else f"CAST({d.ident(ds.weight)} AS DOUBLE)"
    ww = "1" if w is None else w
    bad_loss = f"{e} IS NULL OR isnan({e}) OR ABS({e}) = {d.double(np.inf)}"
    select = [
        "COUNT(*) AS n_rows",
        f"SUM(CASE WHEN {d.ident(ds.target)} IS NULL THEN 1 ELSE 0 END) AS missing_target",
        f"SUM(CASE WHEN {bad_loss} THEN 1 ELSE 0 END) AS bad_loss",
        f"SUM({ww}) AS n",
        f"SUM({ww} * {e}) AS t1",
        f"SUM({ww} * {e} * {e}) AS t2",
    ]
    if ds.weight is not None:
        bad, total = weight_check_sql(d, ds.weight)
        select += [f"{bad} AS bad_weight", f"{total} AS weight_sum"]
    inner = f"SELECT *, {_loss_sql(ds, loss, positive)} AS {e} FROM {{table}}"
    row = ds.table.query(f"SELECT {', '.join(select)} FROM ({inner}) AS t").iloc[0]
    missing = int(_number(row["missing_target"]))
    if missing:
        raise DataError(
            f"The target {ds.target!r} has {missing} missing value(s); drop those rows before "
            f"computing losses."
        )
    if int(_number(row["bad_loss"])):
        raise DataError("The loss has NaN or infinite values; check the model's outputs.")
    if ds.weight is not None:
        many = unusable_weights(np.array([row["bad_weight"]]), np.array([row["weight_sum"]]))
        if many:
            raise DataError(
                f"find_slices(): weight column {ds.weight!r} has {many} missing, infinite or "
                f"negative value(s); weights must be finite and non-negative."
            )
    return LazyLosses(
        expression=_loss_sql(ds, loss, positive),
        weight=w,
        positive=positive,
        n_rows=int(row["n_rows"]),
        n=float(_number(row["n"])) if w is not None else int(row["n_rows"]),
        t1=float(_number(row["t1"])),
        t2=float(_number(row["t2"])),
    )


def _number(value) -> float:
    return 0.0 if value is None or pd.isna(value) else float(value)


# --------------------------------------------------------------------------- features
def lazy_encode(ds, names: list[str], n_bins: int):
    """The features' encoding (:class:`raikit.evaluate._slices._Encoded` without row codes) and,
    per kept feature, the SQL expression of its code: the same bins and codes as in memory."""
    from raikit.evaluate._slices import (
        _assemble,
        _category_rows,
        _cut_points,
        _is_binnable,
        _missing_row,
        _range_rows,
    )

    d = ds.table.dialect
    dtypes = ds.dtypes
    numeric = [name for name in names if _is_binnable(dtypes[name])]
    stats = {f"m{i}": (name, "null_count") for i, name in enumerate(names)}
    stats |= {f"a{i}": (name, "approx_distinct") for i, name in enumerate(numeric)}
    stats |= {f"lo{i}": (name, "min") for i, name in enumerate(numeric)}
    first = ds.aggregate(stats=stats).iloc[0]
    # a column of many values (by HyperLogLog, ~2 % error) is binned; the others are counted
    many = {name for i, name in enumerate(numeric) if first[f"a{i}"] > 4 * n_bins + 100}
    listed = [name for name in names if name not in many]
    values = _distinct_values(ds, listed)
    qs = np.linspace(0, 1, n_bins + 1)[1:-1]
    sizes, rows, codes = [], [], []
    for i, name in enumerate(names):  # loop over features (the queries are per column)
        column_rows = []
        binned = name in many or (name in numeric and len(values[name]) > n_bins)
        if binned:
            low = float(first[f"lo{numeric.index(name)}"])
            found = ds.quantiles(name, qs)["value"].to_numpy(dtype=float)
            edges = _cut_points(found, low, lambda n=name, lo=low: _above(ds, n, lo, n_bins))
            column_rows += _range_rows(name, edges)
            code = _bin_sql(d, _value(ds, name), edges)
        else:
            column_rows += _category_rows(name, values[name])
            code = _level_sql(ds, name, values[name])
        n_levels = len(column_rows)
        if int(first[f"m{i}"]):
            column_rows.append(_missing_row(name, n_levels))
            code = f"COALESCE({code}, {n_levels})"
            n_levels += 1
        sizes.append(n_levels)
        rows += column_rows
        codes.append(code)
    enc = _assemble(list(names), None, sizes, rows)
    return enc, [codes[names.index(name)] for name in enc.names]


def _distinct_values(ds, names: list[str]) -> dict:
    """Each column's distinct non-missing values in the order ``pd.factorize(sort=True)`` gives
    them in memory (one scan: a grouping set per column)."""
    if not names:
        return {}
    table = ds.aggregate(by=[[name] for name in names], stats={"__n": (None, "count")})
    sets = table["grouping_set"].to_numpy() if "grouping_set" in table else np.zeros(len(table))
    out = {}
    for i, name in enumerate(names):  # loop over columns
        present = table[name][sets == i].dropna()
        dtype = ds.dtypes[name]
        if isinstance(dtype, pd.CategoricalDtype) and present.isin(dtype.categories).all():
            present = present.astype(dtype)  # sorted in the categories' order, as in memory
        out[name] = pd.factorize(present, sort=True)[1]
    return out


def _above(ds, name: str, low: float, n_bins: int):
    """The smallest value above ``low`` and the quantiles at ``linspace(0, 1, n_bins)[1:-1]`` of
    the values above it (the bins of a column with a point mass at its minimum)."""
    d = ds.table.dialect
    v = _value(ds, name)
    probabilities = ", ".join(repr(float(q)) for q in np.linspace(0, 1, n_bins)[1:-1])
    if d.name == "spark":
        quantile = f"PERCENTILE({v}, array({probabilities}))"
    else:
        quantile = f"QUANTILE_CONT({v}, [{probabilities}])"
    row = ds.table.query(
        f"SELECT MIN({v}) AS lo, {quantile} AS qs FROM {{table}} WHERE {v} > {d.double(low)}"
    ).iloc[0]
    return float(row["lo"]), np.asarray(list(row["qs"]), dtype=float)


def _bin_sql(d, v: str, edges: np.ndarray) -> str:
    """The bin code of a numeric value, as ``np.searchsorted(edges, v, side="right")``."""
    steps = " ".join(f"WHEN {v} < {d.double(e)} THEN {i}" for i, e in enumerate(edges))
    return f"(CASE WHEN {v} IS NULL THEN NULL {steps} ELSE {len(edges)} END)"


def _level_sql(ds, name: str, uniques) -> str:
    """The code of a column's value among its sorted distinct values (NULL when missing)."""
    d = ds.table.dialect
    dtype = ds.dtypes[name]
    if _is_float(dtype):
        column = _value(ds, name)
        literal = [d.double(v) for v in uniques]
    else:
        column = d.ident(name)
        literal = [d.literal(_plain(v)) for v in uniques]
    steps = " ".join(f"WHEN {column} = {lit} THEN {i}" for i, lit in enumerate(literal))
    return f"(CASE {steps} ELSE NULL END)"


def _is_float(dtype) -> bool:
    return pd.api.types.is_float_dtype(dtype)


def _plain(value):
    """A numpy scalar as the Python value a SQL literal is written from."""
    return value.item() if isinstance(value, np.generic) else value


# --------------------------------------------------------------------------- statistics
class TableStats:
    """The item statistics of a search (the interface of
    :class:`raikit.evaluate._slices._RowStats`) from group-by queries on a lazy table.

    The rows are encoded once where they live: on DuckDB into a temporary table of one small
    integer code per feature, the loss and the weight (DuckDB keeps it within its memory limit,
    spilling to disk; nothing reaches Python), so that each query groups integers instead of
    re-reading and re-binning the files; on Spark each query reads the DataFrame through the
    same expressions. A request for the statistics of some slices is a ``GROUP BY GROUPING
    SETS`` query, one grouping set per feature set of the slices (several scans when there are
    more than ``_SETS_PER_QUERY`` sets: each set holds its own hash table), returning per
    non-empty cell its size, loss sum, squared-loss sum and largest loss. Use it as a context
    manager: leaving it drops the temporary table.
    """

    def __init__(self, ds, enc, codes: list[str], losses: LazyLosses) -> None:
        self.ds, self.enc, self.losses = ds, enc, losses
        self.n, self.t1, self.t2 = losses.n, losses.t1, losses.t2
        self.n_rows = losses.n_rows
        self.mean_loss = losses.t1 / losses.n if losses.n else float("nan")
        self._squares: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._temp = None
        columns = [f"{code} AS c{f}" for f, code in enumerate(codes)]
        columns.append(f"{losses.expression} AS __raikit_e")
        if losses.weight is not None:
            columns.append(f"{losses.weight} AS __raikit_w")
        encoded = f"SELECT {', '.join(columns)} FROM {{table}}"
        if ds.table.format == "spark":
            self._source = f"({encoded}) AS t"
            return
        import uuid

        self._temp = f"raikit_slices_{uuid.uuid4().hex}"
        small = int(enc.sizes.max()) <= 255
        cast = ", ".join(
            f"CAST(c{f} AS {'UTINYINT' if small else 'INTEGER'}) AS c{f}" for f in range(len(codes))
        )
        rest = "__raikit_e" + (", __raikit_w" if losses.weight is not None else "")
        ds.table.query(
            f"CREATE TEMPORARY TABLE {self._temp} AS SELECT {cast}, {rest} FROM ({encoded}) AS t"
        )
        self._source = self._temp

    def __enter__(self) -> TableStats:
        return self

    def __exit__(self, *exc) -> None:
        if self._temp is not None:
            self.ds.table.connection.execute(f"DROP TABLE IF EXISTS {self._temp}")
            self._temp = None

    def moments(self, items: np.ndarray):
        size, s1, s2, _ = self._query(items)
        return size, s1, s2

    def errors(self, items: np.ndarray):
        size, s1, _, top = self._query(items)
        return size, s1, top

    def squares(self, items: np.ndarray) -> np.ndarray:
        """Squared-loss sums, from the queries already run when they covered these slices."""
        from raikit.evaluate._slices import _keys

        keys, s2 = self._squares.get(items.shape[1], (np.zeros(0, np.int64), np.zeros(0)))
        want = _keys(items, self.enc.n_items + 1)
        pos = np.clip(np.searchsorted(keys, want), 0, max(len(keys) - 1, 0))
        if len(keys) and (keys[pos] == want).all():
            return s2[pos]
        return self._query(items)[2]

    def _query(self, items: np.ndarray):
        """Size, loss sum, squared-loss sum and largest loss of each slice in ``items`` (rows of
        sorted item ids, all of one width)."""
        from raikit.evaluate._slices import _keys

        n_slices, width = items.shape
        if n_slices == 0:
            return [np.zeros(0) for _ in range(4)]
        enc = self.enc
        combos = np.unique(enc.item_feature[items], axis=0)
        found = [
            self._cells(combos[start : start + _SETS_PER_QUERY], width)
            for start in range(0, len(combos), _SETS_PER_QUERY)  # one scan per batch of sets
        ]
        keys = np.concatenate([k for k, _ in found])
        stats = np.concatenate([v for _, v in found])
        sorter = np.argsort(keys)
        keys, stats = keys[sorter], stats[sorter]
        self._squares[width] = (keys, stats[:, 2])  # for the t-tests of SliceLine's top k
        want = _keys(items, enc.n_items + 1)
        if not len(keys):
            return [np.zeros(n_slices) for _ in range(4)]
        pos = np.clip(np.searchsorted(keys, want), 0, len(keys) - 1)
        hit = keys[pos] == want
        # size, s1, s2, max; a slice without rows has zeros, as np.bincount gives
        return [np.where(hit, stats[pos, j], 0.0) for j in range(4)]

    def _cells(self, combos: np.ndarray, width: int):
        """One query: the item keys and ``(size, s1, s2, max)`` of every non-empty cell of the
        feature sets ``combos``."""
        from raikit.evaluate._slices import _keys

        enc = self.enc
        used = np.unique(combos)
        names = [f"c{int(f)}" for f in used]
        e = "__raikit_e"
        if self.losses.weight is not None:
            size, term = "SUM(__raikit_w)", "__raikit_w * "
            top = f"MAX(CASE WHEN __raikit_w > 0 THEN {e} ELSE 0 END)"
        else:
            size, term, top = "COUNT(*)", "", f"MAX({e})"
        select = [
            *names,
            f"{size} AS n",
            f"SUM({term}{e}) AS s1",
            f"SUM({term}{e} * {e}) AS s2",
            f"{top} AS mx",
        ]
        sets = ", ".join("(" + ", ".join(f"c{int(f)}" for f in combo) + ")" for combo in combos)
        group_by = f"GROUPING SETS ({sets})" if len(combos) > 1 else sets[1:-1]
        result = self.ds.table.query(
            f"SELECT {', '.join(select)} FROM {self._source} GROUP BY {group_by}"
        )
        codes = result[names].to_numpy(dtype=float)  # NULL (NaN): not in the row's set
        present = ~np.isnan(codes)
        ids = np.where(present, codes, 0).astype(np.int64) + enc.offsets[used][None, :]
        items = ids[present].reshape(-1, width)  # each row has its set's features, in order
        stats = result[["n", "s1", "s2", "mx"]].to_numpy(dtype=float)
        return _keys(items, enc.n_items + 1), stats


# --------------------------------------------------------------------------- overlaps
def lazy_overlap(result, ds) -> list[list[int]]:
    """:meth:`raikit.evaluate.SliceResult.overlap` on a lazy Dataset: one scan counting the rows
    of every pair of slices (each slice a SQL condition built from its predicates and bins)."""
    from raikit._errors import ColumnError

    k = len(result.slices)
    if k == 0:
        return []
    conditions = []
    for i in range(k):  # loop over the k reported slices
        rows = result.predicates[result.predicates["slice_id"] == i]
        parts = []
        for feature, op, code in zip(rows["feature"], rows["op"], rows["code"], strict=True):
            if feature not in ds.columns:
                raise ColumnError(f"Column {feature!r} used by slice {i} is not in the data.")
            if op != "==":
                raise ParameterError(
                    f"SliceResult.overlap(): slice {i} holds a {op!r} condition (a tree's); on a "
                    f"lazy Dataset only '==' conditions are counted where the rows live."
                )
            parts.append(_condition(ds, result.bins, feature, int(code)))
        conditions.append("(" + " AND ".join(parts) + ")")
    pairs = [(i, j) for i in range(k) for j in range(i, k)]
    select = ", ".join(
        f"SUM(CASE WHEN {conditions[i]} AND {conditions[j]} THEN 1 ELSE 0 END) AS o{n}"
        for n, (i, j) in enumerate(pairs)
    )
    row = ds.table.query(f"SELECT {select} FROM {{table}}").iloc[0]
    out = [[0] * k for _ in range(k)]
    for n, (i, j) in enumerate(pairs):  # k (k + 1) / 2 counts
        out[i][j] = out[j][i] = int(_number(row[f"o{n}"]))
    return out


def _condition(ds, bins: pd.DataFrame, feature: str, code: int) -> str:
    """SQL for ``feature``'s code being ``code`` under the search's bins (what
    :meth:`raikit.evaluate.SliceResult.mask` tests in memory)."""
    d = ds.table.dialect
    part = bins[bins["feature"] == feature]
    row = part[part["code"] == code]
    if not len(row):
        return "FALSE"
    kind, label = row["kind"].iloc[0], str(row["label"].iloc[0])
    dtype = ds.dtypes[feature]
    if kind == "missing":
        value = _value(ds, feature) if _is_float(dtype) else d.ident(feature)
        return f"({value} IS NULL)"
    if kind == "range":
        v = _value(ds, feature)
        low, high = float(row["low"].iloc[0]), float(row["high"].iloc[0])
        checks = [f"{v} IS NOT NULL"]
        if np.isfinite(low):
            checks.append(f"{v} >= {d.double(low)}")
        if np.isfinite(high):
            checks.append(f"{v} < {d.double(high)}")
        return "(" + " AND ".join(checks) + ")"
    text = label[len(f"{feature} = ") :]
    if pd.api.types.is_bool_dtype(dtype):
        return f"({d.ident(feature)} = {d.literal(text == 'True')})"
    if _is_float(dtype):
        return f"({_value(ds, feature)} = {d.double(float(text))})"
    if pd.api.types.is_integer_dtype(dtype):
        return f"({d.ident(feature)} = {d.literal(int(text))})"
    return f"(CAST({d.ident(feature)} AS {'STRING' if d.name == 'spark' else 'VARCHAR'}) = {d.string(text)})"
