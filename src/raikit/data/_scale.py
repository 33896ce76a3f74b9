"""The data checks on a lazy Dataset: ``drift`` and ``representation`` as aggregate SQL, and the
guarantees ``profile`` keeps (it computes through :meth:`raikit.Dataset.aggregate` and
:meth:`raikit.Dataset.histogram`, which write the same kind of SQL; see :mod:`raikit._aggregate`).

Every statistic is reduced where the data lives (DuckDB over Parquet/CSV files, or Spark SQL) with
``GROUP BY GROUPING SETS`` — one grouping set per family of groups (everyone, each sensitive
attribute, their intersection) — so that a query returns every group's numbers at once and no row
reaches pandas. The small aggregated tables then go through the same code as the in-memory checks.

What is exact and what is not:

* counts, missing values, distinct counts, means, variances, category counts, base rates, the
  chi-square / Jensen-Shannon / PSI / L-infinity drift statistics: exact (the same numbers as in
  memory up to floating-point summation order, ~1e-15 relative).
* quantiles (profile) come from a histogram of ``QUANTILE_BINS`` equal-width bins per column and
  group that also records the smallest and largest value in each bin. The first and last value of a
  bin are therefore exact, and any other order statistic lies in its bin's observed range: the
  reported error bound (``meta["quantile_error"]``, per column the largest over groups and
  quantiles) is a guarantee, not a probability. A column with at most ``QUANTILE_BINS`` distinct
  values per bin range (e.g. ages, counts) has bound 0 — the quantiles are exact.
* the KS statistic and Wasserstein distance (drift) come from the same kind of histogram of both
  samples. The reported KS statistic is the exact supremum over bin boundaries, a lower bound of the
  true one; ``meta["ks_error_bound"]`` bounds the gap (0 when every non-empty bin holds one distinct
  value, as for integer columns with a small range). The Wasserstein distance uses the trapezoid
  rule inside bins, with the bound ``meta["wasserstein_error_bound"]``.
* distinct counts: exact, except for numeric columns with more than one value per histogram bin in
  tables of more than ``EXACT_DISTINCT_ROWS`` rows, whose overall count is a HyperLogLog estimate
  (listed in ``meta["approximate_distinct"]``; per group NaN). In memory every distinct count is
  exact (a histogram piece there is one distinct value).
* associations and proxies need rows: they run on a uniform sample of ``association_sample`` rows
  drawn where the data lives (all rows when the table is no larger).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from raikit._errors import DataError
from raikit._grouping import encode_groups
from raikit._sql import DUCKDB
from raikit.data._common import Family

__all__ = ["QUANTILE_BINS", "Grouper", "drift_parts"]

QUANTILE_BINS = 2048  # histogram bins per numeric column for quantiles, KS and Wasserstein
# Up to this many rows the distinct count of a many-valued numeric column is exact; above, DuckDB's /
# Spark's HyperLogLog ``approx_count_distinct`` (relative standard error about 2 %) saves a hash set
# of every value (the costliest aggregate of a profile at scale).
EXACT_DISTINCT_ROWS = 2_000_000


_double = DUCKDB.double  # the same CAST('<repr>' AS DOUBLE) text in DuckDB and Spark SQL


def _value_sql(q, name: str, dtype) -> str:
    """SQL for a numeric column as DOUBLE, with NaN read as missing (pandas' convention)."""
    column = q(name)
    if pd.api.types.is_datetime64_any_dtype(dtype):
        if column.startswith("`"):  # Spark SQL
            return f"CAST(unix_micros({column}) AS DOUBLE) * 1000"
        return f"CAST(epoch_ns({column}) AS DOUBLE)"
    value = f"CAST({column} AS DOUBLE)"
    if pd.api.types.is_float_dtype(dtype):
        return f"(CASE WHEN isnan({value}) THEN NULL ELSE {value} END)"
    return value


class Grouper:
    """Runs grouped queries over a relation and maps each result row to (family, group code).

    Families are ``overall``, each sensitive attribute, then (with two or more) their
    intersection — the order of :func:`raikit.data._common.families`.
    """

    def __init__(self, query, q, sensitive: list[str], encoding, missing_group):
        self._query = query
        self.q = q
        self.names = list(sensitive) if encoding is not None else []
        self.encoding = encoding
        self.missing_group = missing_group
        k = len(self.names)
        full = (1 << k) - 1
        self.families = [Family("overall", np.zeros(0, dtype=np.int64), ["overall"])]
        self.gids = [full]
        self.sets: list[list[str]] = [[]]
        for i, name in enumerate(self.names):
            self.families.append(Family(name, np.zeros(0, dtype=np.int64), encoding.labels(i)))
            self.gids.append(full & ~(1 << (k - 1 - i)))
            self.sets.append([name])
        if k > 1:
            self.families.append(
                Family(encoding.intersection_name, np.zeros(0, dtype=np.int64), encoding.labels())
            )
            self.gids.append(0)
            self.sets.append(list(self.names))
        if encoding is not None:
            membership = encoding.membership()
            self._intersection = pd.Series(
                np.arange(len(encoding.intersection_labels)),
                index=pd.MultiIndex.from_arrays(membership) if k > 1 else membership[0],
            )

    def query(
        self,
        keys: dict[str, str],
        aggregates: str,
        where: str | None = None,
        *,
        only: list[int] | None = None,
    ):
        """``SELECT`` the aggregates per family, group and ``keys`` (alias -> SQL expression).

        Returns the result with ``__family`` (index into :attr:`families`) and ``__group``
        (code within the family) columns. ``only`` restricts the query to those families.
        """
        q = self.q
        inner_keys = "".join(f", {expr} AS {alias}" for alias, expr in keys.items())
        condition = f" WHERE {where}" if where else ""
        aliases = list(keys)
        chosen = [self.sets[f] for f in (range(len(self.sets)) if only is None else only)]
        sets = ", ".join(
            "(" + ", ".join([*(q(s) for s in group_set), *aliases]) + ")" for group_set in chosen
        )
        sensitive = ", ".join(q(s) for s in self.names)
        k = len(self.names)
        # GROUPING(col) per column: DuckDB and Spark SQL agree on it (GROUPING_ID does not)
        grouping = (
            " + ".join(f"GROUPING({q(s)}) * {1 << (k - 1 - i)}" for i, s in enumerate(self.names))
            if self.names
            else "0"
        )
        select_sensitive = (sensitive + ", ") if self.names else ""
        sql = (
            f"SELECT {select_sensitive}{', '.join(aliases) + ', ' if aliases else ''}"
            f"{grouping} AS __gid, {aggregates} "
            f"FROM (SELECT *{inner_keys} FROM {{table}}{condition}) "
            f"GROUP BY GROUPING SETS ({sets})"
        )
        table = self._query(sql)
        family = pd.Series(range(len(self.gids)), index=self.gids)
        table["__family"] = family.reindex(table["__gid"].to_numpy()).to_numpy()
        table["__group"] = self._codes(table)
        return table

    def _codes(self, table: pd.DataFrame) -> np.ndarray:
        codes = np.zeros(len(table), dtype=np.int64)
        if not self.names:
            return codes
        per_attribute = []
        for i, name in enumerate(self.names):
            values = table[name]
            if self.missing_group is not None:
                values = values.astype(object).where(values.notna(), self.missing_group)
            levels = self.encoding.levels[i]
            found = pd.Index(levels).get_indexer(pd.Index(values))
            if (found < 0).any():  # numbers come back as float when a group is NULL
                text = pd.Index([str(v) for v in levels])
                found = np.where(found < 0, text.get_indexer(values.astype(str)), found)
            per_attribute.append(found)
        k = len(self.names)
        for f, group_set in enumerate(self.sets):
            rows = (table["__family"] == f).to_numpy()
            if not rows.any() or not group_set:
                continue
            if len(group_set) == 1:
                codes[rows] = per_attribute[self.names.index(group_set[0])][rows]
            else:
                index = (
                    pd.MultiIndex.from_arrays([p[rows] for p in per_attribute])
                    if k > 1
                    else pd.Index(per_attribute[0][rows])
                )
                codes[rows] = self._intersection.reindex(index).fillna(-1).to_numpy(np.int64)
        return codes

    def spread(self, table: pd.DataFrame, column: str, fill=0.0) -> list[np.ndarray]:
        """One array per family: ``column`` per group code (``fill`` where no row came back)."""
        out = []
        for f, fam in enumerate(self.families):
            rows = table[table["__family"] == f]
            values = np.full(fam.n_groups, fill, dtype=float)
            values[rows["__group"].to_numpy(np.int64)] = rows[column].to_numpy(dtype=float)
            out.append(values)
        return out


def grouper_for(ds) -> Grouper:
    """The :class:`Grouper` of a lazy Dataset (sensitive groups as in memory)."""
    ds.group_counts()
    return Grouper(
        ds.table.query, ds.table.q, ds.sensitive_names, ds._lazy_encoding, ds.missing_group
    )




# --------------------------------------------------------------------------- drift
class _SparkUnion:
    """Reference and current rows in one Spark DataFrame (``__cur`` marks the current side); an
    in-memory side is sent to the Spark side's session."""

    spark = True

    def __init__(self, reference, current, columns, sensitive, kinds):
        from pyspark.sql import functions as F

        from raikit._lazy import SparkTable

        session = next(
            d.table.frame.sparkSession
            for d in (reference, current)
            if getattr(d, "is_lazy", False) and isinstance(d.table, SparkTable)
        )
        frames = []
        for index, data in enumerate((reference, current)):
            table = data.table if getattr(data, "is_lazy", False) else None
            if isinstance(table, SparkTable):
                frame, head = table.frame, table.head
            elif table is not None:
                raise DataError(
                    "drift between a Spark DataFrame and files needs one engine: write the "
                    "Spark side to Parquet (df.write.parquet(path)) and pass Dataset(path)."
                )
            else:
                local = data.frame if hasattr(data, "frame") else data
                local = local[[*columns, *sensitive]]
                local = local.astype(
                    {
                        c: object
                        for c in local.columns
                        if isinstance(local[c].dtype, pd.CategoricalDtype)
                    }
                )
                frame, head = session.createDataFrame(local), local.head(1000)
            parts = []
            for column in [*columns, *sensitive]:
                dtype = head[column].dtype
                value = F.col(f"`{column}`")
                if column in sensitive or kinds.get(column, "categorical") == "categorical":
                    numeric = pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(
                        dtype
                    )
                    value = value if numeric else value.cast("string")
                elif pd.api.types.is_datetime64_any_dtype(dtype):
                    value = F.unix_micros(value).cast("double") * 1000
                else:
                    value = value.cast("double")
                    value = F.when(F.isnan(value), None).otherwise(value)
                parts.append(value.alias(column))
            frames.append(frame.select(*parts, F.lit(bool(index)).alias("__cur")))
        self.table = SparkTable(frames[0].unionByName(frames[1]))
        self.q = self.table.q

    def query(self, sql: str) -> pd.DataFrame:
        return self.table.query(sql)


class _Union:
    """Reference and current rows in one relation (``__cur`` marks the current side)."""

    spark = False

    def __init__(self, reference, current, columns, sensitive, kinds):
        from raikit._lazy import DuckDBTable, _duckdb

        sides = []
        for data in (reference, current):
            table = getattr(data, "table", None) if hasattr(data, "is_lazy") else None
            sides.append(table)
        duckdb = _duckdb()
        self.con = duckdb.connect()
        self.con.execute("SET enable_progress_bar = false")
        memory = next((t.memory_limit for t in sides if isinstance(t, DuckDBTable)), None)
        if memory:
            self.con.execute(f"SET memory_limit = '{memory}'")
        self._duckdb = duckdb
        self.q = DuckDBTable.q
        selects = []
        self.heads = []
        for index, (data, table) in enumerate(zip((reference, current), sides, strict=True)):
            if table is not None:
                relation = table.relation
                head = table.head
            else:
                frame = data.frame if hasattr(data, "frame") else data
                name = f"__raikit_side{index}"
                self.con.register(name, frame)
                relation = name
                head = frame.head(1000)
            self.heads.append(head)
            parts = []
            for column in [*columns, *sensitive]:
                kind = kinds.get(column, "categorical")
                dtype = head[column].dtype
                if column in sensitive or kind == "categorical":
                    expr = f"CAST({self.q(column)} AS VARCHAR)"
                    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
                        expr = self.q(column)
                else:
                    expr = _value_sql(self.q, column, dtype)
                parts.append(f"{expr} AS {self.q(column)}")
            flag = "TRUE" if index else "FALSE"
            selects.append(f"SELECT {', '.join(parts)}, {flag} AS __cur FROM {relation}")
        self.relation = "(" + " UNION ALL ".join(selects) + ")"

    def query(self, sql: str) -> pd.DataFrame:
        try:
            return self.con.execute(sql.replace("{table}", self.relation)).df()
        except self._duckdb.Error as error:
            raise DataError(f"DuckDB could not compare the two datasets: {error}") from error


def drift_parts(reference, current, *, columns, sensitive, missing_group, by_group, tests):
    """The per-column drift rows of a comparison where at least one side is lazy.

    Returns ``(parts, kinds, skipped, n_reference, n_current, bounds)``; ``parts`` are the same
    frames the in-memory drift builds before multiple-testing adjustment.
    """
    from raikit.data._drift import (
        _FEW_LEVELS,
        _MAX_CATEGORIES,
        _PSI_BINS,
        _categorical_rows,
        _kind,
        _numeric_rows,
    )

    heads = []
    for data in (reference, current):
        if hasattr(data, "is_lazy") and data.is_lazy:
            heads.append(data.table.head)
        else:
            frame = data.frame if hasattr(data, "frame") else data
            heads.append(frame.head(1000))
    kinds = {}
    for name in columns:
        kind = _kind(heads[0][name], heads[1][name], name)
        kinds[name] = "numeric" if kind == "datetime" else kind
    from raikit._lazy import SparkTable

    on_spark = any(
        getattr(d, "is_lazy", False) and isinstance(d.table, SparkTable)
        for d in (reference, current)
    )
    union = (_SparkUnion if on_spark else _Union)(reference, current, columns, sensitive, kinds)
    q = union.q
    encoding = None
    if sensitive and by_group:
        keys = ", ".join(q(s) for s in sensitive)
        combos = union.query(f"SELECT DISTINCT {keys} FROM {{table}}")
        encoding = encode_groups(combos[sensitive].astype(object), missing_group=missing_group)
    g = Grouper(union.query, q, sensitive if encoding is not None else [], encoding, missing_group)
    fams = g.families
    aggregates = ["COUNT(*) AS __rows"]
    overall = ["COUNT(*) AS __rows"]
    for i, name in enumerate(columns):
        aggregates.append(f"COUNT({q(name)}) AS c{i}")
        overall.append(f"approx_count_distinct({q(name)}) AS d{i}")
        if kinds[name] == "numeric":
            overall += [f"MIN({q(name)}) AS lo{i}", f"MAX({q(name)}) AS hi{i}"]
    per_side = g.query({"__side": "__cur"}, ", ".join(aggregates))
    both = union.query(f"SELECT {', '.join(overall)} FROM {{table}}").iloc[0]
    # Distinct counts decide the test (at most 20 values: categories) and skip identifiers (more
    # than max(1000, half the rows)); a HyperLogLog estimate settles the clear cases and an exact
    # count the rest, which have few values and cost little.
    total = float(both["__rows"])
    unclear = [
        i
        for i in range(len(columns))
        if float(both[f"d{i}"]) <= 2_000
        or abs(float(both[f"d{i}"]) - max(1_000, 0.5 * total)) <= 0.1 * max(1_000, 0.5 * total)
    ]
    if unclear:
        exact = union.query(
            "SELECT "
            + ", ".join(f"COUNT(DISTINCT {q(columns[i])}) AS d{i}" for i in unclear)
            + " FROM {table}"
        ).iloc[0]
        for i in unclear:
            both[f"d{i}"] = exact[f"d{i}"]
    n_reference = int(
        per_side.loc[(per_side["__family"] == 0) & ~per_side["__side"], "__rows"].sum()
    )
    n_current = int(per_side.loc[(per_side["__family"] == 0) & per_side["__side"], "__rows"].sum())
    ref_rows = g.spread(per_side[~per_side["__side"].astype(bool)], "__rows")
    cur_rows = g.spread(per_side[per_side["__side"].astype(bool)], "__rows")
    parts, skipped, bounds = [], [], {"ks": {}, "wasserstein": {}}
    for i, name in enumerate(columns):
        kind = kinds[name]
        ref_count = g.spread(per_side[~per_side["__side"].astype(bool)], f"c{i}")
        cur_count = g.spread(per_side[per_side["__side"].astype(bool)], f"c{i}")
        distinct = float(both[f"d{i}"])
        test = tests.get(name, "auto") if isinstance(tests, dict) else tests
        if kind == "categorical":
            if isinstance(tests, dict) and tests.get(name) == "ks":
                raise DataError(f"Column {name!r} is categorical; the KS test needs numbers.")
            if distinct > max(_MAX_CATEGORIES, 0.5 * (n_reference + n_current)):
                skipped.append(name)
                continue
        few_levels = kind == "numeric" and distinct <= _FEW_LEVELS
        if kind == "numeric" and test == "auto":
            test = "chi2" if few_levels else "ks"
        if kind == "categorical" or (test == "chi2" and few_levels):
            column_parts = _categorical_drift(g, q(name), fams, _categorical_rows)
        else:
            column_parts, ks_bound, w_bound = _numeric_drift(
                g,
                union,
                name,
                i,
                both,
                fams,
                test,
                _PSI_BINS,
                (ref_rows, cur_rows, ref_count, cur_count),
                _numeric_rows,
            )
            bounds["ks"][name] = ks_bound
            bounds["wasserstein"][name] = w_bound
        for part in column_parts:
            part.insert(2, "column", name)
            part.insert(3, "kind", kind)
        parts.extend(column_parts)
    return parts, kinds, skipped, n_reference, n_current, bounds


def _tables(table: pd.DataFrame, fams, k: int, code_column: str):
    """(groups, k) reference and current count tables of every family."""
    out = []
    for f, fam in enumerate(fams):
        part = table[table["__family"] == f]
        tabs = []
        for side in (False, True):
            rows = part[part["__side"].astype(bool) == side]
            tab = np.zeros((fam.n_groups, k), dtype=np.int64)
            np.add.at(
                tab,
                (rows["__group"].to_numpy(np.int64), rows[code_column].to_numpy(np.int64)),
                rows["n"].to_numpy(np.int64),
            )
            tabs.append(tab)
        out.append(tabs)
    return out


def _categorical_drift(g: Grouper, column_sql: str, fams, categorical_rows):
    counts = g.query({"__side": "__cur", "__value": column_sql}, "COUNT(*) AS n")
    values = counts["__value"]
    levels = pd.Index(pd.unique(values.dropna()))
    codes = levels.get_indexer(values)
    k = len(levels)
    counts["__code"] = np.where(values.isna().to_numpy(), k, codes)
    tables = _tables(counts, fams, k + 1, "__code")
    return [categorical_rows(fam, *pair) for fam, pair in zip(fams, tables, strict=True)]


def _numeric_drift(g, union, name, i, both, fams, test, psi_bins, sizes, numeric_rows):
    """KS (binned, with its bound), Wasserstein (binned, with its bound), and the chi-square /
    PSI / JS / L-infinity on the reference's deciles (exact)."""
    ref_rows, cur_rows, ref_count, cur_count = sizes
    q = union.q
    v = q(name)
    probabilities = ", ".join(repr(float(x)) for x in np.linspace(0, 1, psi_bins + 1)[1:-1])
    # exact quantiles with linear interpolation (np.quantile's default) in either engine
    quantile = (
        f"PERCENTILE({v}, array({probabilities}))"
        if union.spark
        else f"QUANTILE_CONT({v}, [{probabilities}])"
    )
    stats = union.query(
        f"SELECT STDDEV_SAMP({v}) AS sd, {quantile} AS qs "
        f"FROM {{table}} WHERE NOT __cur AND {v} IS NOT NULL"
    ).iloc[0]
    scale = float(stats["sd"]) if stats["sd"] is not None and stats["sd"] == stats["sd"] else np.nan
    quantiles = stats["qs"]
    edges = (
        np.unique(np.asarray(list(quantiles), dtype=float))
        if quantiles is not None
        else np.array([])
    )
    low = float(both[f"lo{i}"])
    high = float(both[f"hi{i}"])
    if high > low:
        fine = (
            f"LEAST(CAST(FLOOR(({v} - {_double(low)}) / {_double(high - low)} * {QUANTILE_BINS}) "
            f"AS BIGINT), {QUANTILE_BINS - 1})"
        )
    else:
        fine = "0"
    decile = " + ".join(f"(CASE WHEN {v} >= {_double(e)} THEN 1 ELSE 0 END)" for e in edges) or "0"
    pieces = g.query(
        {"__side": "__cur", "__fine": fine, "__dec": decile},
        f"COUNT(*) AS n, MIN({v}) AS lo, MAX({v}) AS hi",
        where=f"{v} IS NOT NULL",
    )
    decile_tables = _tables(pieces, fams, len(edges) + 1, "__dec")
    # KS and Wasserstein from value-ordered pieces holding both sides.
    pieces["__ref"] = np.where(pieces["__side"].astype(bool), 0, pieces["n"])
    pieces["__curn"] = np.where(pieces["__side"].astype(bool), pieces["n"], 0)
    merged = (
        pieces.groupby(["__family", "__group", "__fine", "__dec"], sort=True)
        .agg(ref=("__ref", "sum"), cur=("__curn", "sum"), lo=("lo", "min"), hi=("hi", "max"))
        .reset_index()
    )
    parts, ks_bound, w_bound = [], 0.0, 0.0
    for f, fam in enumerate(fams):
        part = merged[merged["__family"] == f]
        n_groups = fam.n_groups
        group = part["__group"].to_numpy(np.int64)
        ref = part["ref"].to_numpy(float)
        cur = part["cur"].to_numpy(float)
        n_ref = np.bincount(group, weights=ref, minlength=n_groups)
        n_cur = np.bincount(group, weights=cur, minlength=n_groups)
        with np.errstate(invalid="ignore", divide="ignore"):
            p_ref = ref / n_ref[group]
            p_cur = cur / n_cur[group]
        p_ref = np.nan_to_num(p_ref)
        p_cur = np.nan_to_num(p_cur)
        after = _cumsum_by(group, p_ref - p_cur)  # F_ref - F_cur after each piece
        before = after - (p_ref - p_cur)
        lo = part["lo"].to_numpy(float)
        hi = part["hi"].to_numpy(float)
        width = hi - lo
        ks = np.zeros(n_groups)
        np.maximum.at(ks, group, np.abs(after))
        inside = np.where(
            width > 0, np.maximum(np.abs(before - p_cur), np.abs(before + p_ref)), 0.0
        )
        upper = ks.copy()
        np.maximum.at(upper, group, inside)
        # gaps between pieces: |F_ref - F_cur| is constant there
        next_lo = np.empty_like(lo)
        same = np.zeros(len(lo), dtype=bool)
        if len(lo):
            next_lo[:-1] = lo[1:]
            same[:-1] = group[1:] == group[:-1]
        gap = np.where(same, next_lo - hi, 0.0)
        wasserstein = np.bincount(
            group,
            weights=np.abs(after) * gap + width * (np.abs(before) + np.abs(after)) / 2,
            minlength=n_groups,
        )
        w_error = np.bincount(group, weights=width * (p_ref + p_cur), minlength=n_groups)
        empty = (n_ref == 0) | (n_cur == 0)
        ks[empty] = np.nan
        upper[empty] = np.nan
        wasserstein[empty] = np.nan
        w_error[empty] = np.nan
        if (~empty).any():
            ks_bound = max(ks_bound, float(np.nanmax(upper - ks)))
            w_bound = max(w_bound, float(np.nanmax(w_error)))
        with np.errstate(invalid="ignore", divide="ignore"):
            missing_ref = (ref_rows[f] - ref_count[f]) / ref_rows[f]
            missing_cur = (cur_rows[f] - cur_count[f]) / cur_rows[f]
        parts.append(
            numeric_rows(
                fam,
                test,
                decile_tables[f],
                ks,
                wasserstein,
                scale,
                n_ref.astype(np.int64),
                n_cur.astype(np.int64),
                (missing_ref, missing_cur),
            )
        )
    return parts, ks_bound, w_bound


def _cumsum_by(group: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Running sum of ``values`` restarted at each new ``group`` (rows sorted by group)."""
    total = np.cumsum(values)
    if not len(values):
        return total
    start = np.ones(len(values), dtype=bool)
    start[1:] = group[1:] != group[:-1]
    first = np.maximum.accumulate(np.where(start, np.arange(len(values)), 0))
    return total - (total - values)[first]
