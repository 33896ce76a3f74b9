"""The data checks on a lazy Dataset: ``profile`` and ``representation`` as aggregate SQL.

(``drift`` asks each side's Dataset for its aggregates and histogram pieces: see
:mod:`raikit.data._drift`.)

Every statistic is reduced where the data lives (DuckDB over Parquet/CSV files, or Spark SQL) with
``GROUP BY GROUPING SETS`` — one grouping set per family of groups (everyone, each sensitive
attribute, their intersection) — so that a query returns every group's numbers at once and no row
reaches pandas. The small aggregated tables then go through the same code as the in-memory checks.

What is exact and what is not:

* counts, missing values, distinct counts, means, variances, category counts, base rates: exact
  (the same numbers as in memory up to floating-point summation order, ~1e-15 relative).
* quantiles (profile) come from a histogram of ``QUANTILE_BINS`` equal-width bins per column and
  group that also records the smallest and largest value in each bin. The first and last value of a
  bin are therefore exact, and any other order statistic lies in its bin's observed range: the
  reported error bound (``meta["quantile_error"]``, per column the largest over groups and
  quantiles) is a guarantee, not a probability. A column with at most ``QUANTILE_BINS`` distinct
  values per bin range (e.g. ages, counts) has bound 0 — the quantiles are exact.
* distinct counts: exact, except for numeric columns with more than one value per histogram bin in
  tables of more than ``EXACT_DISTINCT_ROWS`` rows, whose overall count is a HyperLogLog estimate
  (listed in ``meta["approximate_distinct"]``; per group NaN, as the in-memory profile gives for
  columns with that many values).
* associations and proxies need rows: they run on a uniform sample of ``association_sample`` rows
  drawn where the data lives (all rows when the table is no larger).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from raikit._errors import DataError
from raikit._sql import DUCKDB
from raikit.data._common import Family, column_kind

__all__ = ["QUANTILE_BINS", "Grouper", "profile_parts", "representation_counts"]

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


# --------------------------------------------------------------------------- histograms
def _piece_order(table: pd.DataFrame, extra: list[str]) -> pd.DataFrame:
    return table.sort_values(["__family", "__group", *extra], kind="stable").reset_index(drop=True)


def _histogram_quantiles(pieces: pd.DataFrame, counts: np.ndarray, qs: np.ndarray):
    """Quantiles (linear interpolation between order statistics, as ``np.quantile``) of every group
    from its value-ordered histogram pieces, with a guaranteed error bound.

    ``pieces`` holds, per group in order, ``n``, ``lo`` and ``hi`` (smallest and largest value in
    the piece); ``counts`` the non-missing count of each group in the same order.
    """
    n = pieces["n"].to_numpy(np.int64)
    lo = pieces["lo"].to_numpy(float)
    hi = pieces["hi"].to_numpy(float)
    cum = np.cumsum(n)
    starts = np.cumsum(counts) - counts
    last = np.maximum(counts - 1, 0)[:, None]
    position = qs[None, :] * last
    k_lo = np.floor(position).astype(np.int64)
    k_hi = np.minimum(k_lo + 1, last)
    frac = position - k_lo

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


# --------------------------------------------------------------------------- profile
def profile_parts(ds, roles: dict, *, bins: int, top_k: int, qs, quantile_names):
    """Per-column statistics of a lazy Dataset, in the shapes the in-memory profile builds.

    Returns ``(columns, kinds, notes, families)`` where ``columns`` maps each column to
    ``(kind, rows, extra)``: ``extra`` is ``(hist, edges)`` for numeric columns and
    ``(cats, names)`` for categorical ones; ``notes`` holds ``quantile_error`` (bound per column)
    and ``approximate_distinct`` (columns whose overall distinct count is a HyperLogLog estimate).
    """
    table = ds.table
    q = table.q
    g = grouper_for(ds)
    fams = g.families
    dtypes = table.dtypes
    kinds = {name: column_kind(table.head[name]) for name in roles}
    values = {name: _value_sql(q, name, dtypes[name]) for name in roles if kinds[name] == "numeric"}
    # Distinct values overall of the non-numeric columns (to spot identifiers and free text);
    # numeric columns get theirs from their histogram pieces when those hold one value each.
    exprs = {name: values.get(name, q(name)) for name in roles}
    others = [i for i, name in enumerate(roles) if name not in values]
    overall_distinct = (
        table.query(
            "SELECT "
            + ", ".join(f"COUNT(DISTINCT {q(list(roles)[i])}) AS d{i}" for i in others)
            + " FROM {table}"
        ).iloc[0]
        if others
        else pd.Series(dtype=float)
    )
    # Per group, distinct counts only where the in-memory profile counts them too (distinct values
    # x groups <= 2**22): a distinct set per group is the one costly aggregate at scale.
    limit = 1 << 22

    def grouped_distinct(expr: str, d_all: float) -> list[np.ndarray]:
        out = [np.full(fam.n_groups, np.nan) for fam in fams]
        out[0] = np.array([d_all])
        affordable = [f for f, fam in enumerate(fams) if f and d_all * fam.n_groups <= limit]
        if affordable:
            found = g.spread(g.query({}, f"COUNT(DISTINCT {expr}) AS d", only=affordable), "d")
            for f in affordable:
                out[f] = found[f]
        return out

    # One pass: rows, non-missing values and moments of numeric columns, per group.
    aggregates = ["COUNT(*) AS __rows"]
    for i, name in enumerate(roles):
        expr = exprs[name]
        aggregates.append(f"COUNT({expr}) AS c{i}")
        if name in values:
            aggregates += [
                f"AVG({expr}) AS m{i}",
                f"VAR_SAMP({expr}) AS v{i}",
                f"MIN({expr}) AS lo{i}",
                f"MAX({expr}) AS hi{i}",
            ]
    moments = g.query({}, ", ".join(aggregates))
    rows_per = g.spread(moments, "__rows")
    out, quantile_error, approximate = {}, {}, []
    for i, (name, _role) in enumerate(roles.items()):
        kind = kinds[name]
        count = g.spread(moments, f"c{i}")
        d_all = float(overall_distinct[f"d{i}"]) if f"d{i}" in overall_distinct.index else np.nan
        distinct = [np.full(fam.n_groups, np.nan) for fam in fams]
        distinct[0] = np.array([d_all])
        base = [
            {
                "attribute": fam.attribute,
                "group": fam.labels,
                "rows": rows_per[f].astype(np.int64),
                "count": count[f].astype(np.int64),
                "missing": (rows_per[f] - count[f]).astype(np.int64),
            }
            for f, fam in enumerate(fams)
        ]
        if kind == "numeric":
            mean = g.spread(moments, f"m{i}", np.nan)
            var = g.spread(moments, f"v{i}", np.nan)
            low = float(g.spread(moments, f"lo{i}", np.nan)[0][0])
            high = float(g.spread(moments, f"hi{i}", np.nan)[0][0])
            n_total = int(count[0][0])
            spread_ok = n_total > 0 and high > low
            n_bins = bins if spread_ok else 1
            edges = np.linspace(low, high, n_bins + 1) if spread_ok else np.array([low, high])
            hist, quants, errors = [], [], []
            if n_total:
                v = values[name]
                if spread_ok:
                    span = high - low
                    coarse = (
                        f"LEAST(CAST(FLOOR(({v} - {_double(low)}) / {_double(span)} * {n_bins}) "
                        f"AS BIGINT), {n_bins - 1})"
                    )
                    fine = (
                        f"LEAST(CAST(FLOOR(({v} - {_double(low)}) / {_double(span)} * "
                        f"{QUANTILE_BINS}) AS BIGINT), {QUANTILE_BINS - 1})"
                    )
                else:
                    coarse = fine = "0"
                pieces = g.query(
                    {"__fine": fine, "__coarse": coarse},
                    f"COUNT(*) AS n, MIN({v}) AS lo, MAX({v}) AS hi",
                    where=f"{v} IS NOT NULL",
                )
                pieces = _piece_order(pieces, ["__fine", "__coarse"])
                overall_pieces = pieces[pieces["__family"] == 0]
                if (overall_pieces["lo"] == overall_pieces["hi"]).all():
                    # one value per piece (so also within every group): count the pieces
                    distinct = [
                        np.bincount(
                            pieces.loc[pieces["__family"] == f, "__group"].to_numpy(np.int64),
                            minlength=fam.n_groups,
                        ).astype(float)
                        for f, fam in enumerate(fams)
                    ]
                else:
                    counter = "COUNT(DISTINCT "
                    if ds.n_rows > EXACT_DISTINCT_ROWS:
                        counter = "approx_count_distinct("
                        approximate.append(name)
                    d_all = float(
                        table.query(f"SELECT {counter}{v}) AS d FROM {{table}}")["d"].iloc[0]
                    )
                    if name in approximate:  # per group: NaN, as in memory for large columns
                        distinct = [np.array([d_all])]
                        distinct += [np.full(f.n_groups, np.nan) for f in fams[1:]]
                    else:
                        distinct = grouped_distinct(v, d_all)
            else:  # every value missing: nothing to count (NaN, as in memory)
                distinct = [np.full(fam.n_groups, np.nan) for fam in fams]
            for f, fam in enumerate(fams):
                gcount = count[f].astype(np.int64)
                if n_total:
                    part = pieces[pieces["__family"] == f]
                    quant, error = _histogram_quantiles(part, gcount, np.asarray(qs))
                    table_h = np.zeros((fam.n_groups, n_bins), dtype=np.int64)
                    np.add.at(
                        table_h,
                        (
                            part["__group"].to_numpy(np.int64),
                            part["__coarse"].to_numpy(np.int64),
                        ),
                        part["n"].to_numpy(np.int64),
                    )
                else:
                    quant = np.full((fam.n_groups, len(qs)), np.nan)
                    error = quant.copy()
                    table_h = np.zeros((fam.n_groups, n_bins), dtype=np.int64)
                hist.append((fam, table_h))
                errors.append(error)
                std = np.sqrt(np.maximum(var[f], 0.0))
                std[gcount < 2] = np.nan
                base[f].update(
                    distinct=distinct[f].astype(float),
                    mean=np.where(gcount > 0, mean[f], np.nan),
                    std=std,
                    **{qn: quant[:, j] for j, qn in enumerate(quantile_names)},
                )
                quants.append(quant)
            bound = np.concatenate([e.ravel() for e in errors]) if errors else np.array([])
            quantile_error[name] = (
                float(np.nanmax(bound)) if bound.size and np.isfinite(bound).any() else 0.0
            )
            out[name] = (kind, base, (hist, edges))
        elif kind in ("categorical", "boolean"):
            if kind == "categorical" and d_all > 1000 and d_all > 0.5 * count[0][0]:
                # identifiers and free text: counts only (per-group distinct where affordable)
                distinct = grouped_distinct(q(name), d_all)
                for f in range(len(fams)):
                    base[f]["distinct"] = distinct[f].astype(float)
                kinds[name] = "text"
                out[name] = ("text", base, None)
                continue
            counts = g.query({"__value": q(name)}, "COUNT(*) AS n")
            levels, value_codes = _category_levels(counts["__value"], dtypes[name])
            counts["__code"] = value_codes
            k = len(levels)
            full = []
            for f, fam in enumerate(fams):
                part = counts[counts["__family"] == f]
                tab = np.zeros((fam.n_groups, k + 1), dtype=np.int64)  # last: missing
                np.add.at(
                    tab,
                    (part["__group"].to_numpy(np.int64), part["__code"].to_numpy(np.int64)),
                    part["n"].to_numpy(np.int64),
                )
                full.append(tab)
            overall = full[0][0, :k]
            bucket_of_level, names = top_buckets(overall, levels, top_k)
            cats = []
            for f, fam in enumerate(fams):
                tab = full[f]
                n_b = len(names)
                table_c = np.zeros((fam.n_groups, n_b), dtype=np.int64)
                table_c[:, :-1] = np.stack(
                    [tab[:, :k][:, bucket_of_level == b].sum(axis=1) for b in range(n_b - 1)],
                    axis=1,
                )
                table_c[:, -1] = tab[:, k]
                base[f]["distinct"] = (tab[:, :k] > 0).sum(axis=1).astype(float)
                cats.append((fam, table_c))
            out[name] = (kind, base, (cats, names))
        else:  # datetime: counts, and distinct overall only (as in memory)
            for f, fam in enumerate(fams):
                base[f]["distinct"] = np.full(fam.n_groups, d_all if fam.n_groups == 1 else np.nan)
            out[name] = (kind, base, None)
    return out, kinds, {"quantile_error": quantile_error, "approximate_distinct": approximate}, fams


def _category_levels(values: pd.Series, dtype):
    """Levels of a categorical column (declared order for pandas categories, else sorted) and the
    level code of each value (``len(levels)`` for missing)."""
    present = values.dropna()
    if isinstance(dtype, pd.CategoricalDtype):
        known = list(dtype.categories)
        extra = sorted(set(present.astype(str)) - set(map(str, known)))
        levels = pd.Index(known + extra)
    else:
        try:
            levels = pd.Index(sorted(pd.unique(present)))
        except TypeError:
            levels = pd.Index(sorted(pd.unique(present.astype(str))))
    codes = levels.get_indexer(values)
    if (codes[values.notna().to_numpy()] < 0).any():
        codes = pd.Index(levels.astype(str)).get_indexer(values.astype(str))
    codes = np.where(values.isna().to_numpy(), len(levels), codes)
    return levels, codes.astype(np.int64)


# --------------------------------------------------------------------------- representation
def representation_counts(ds, *, choose_positive=None):
    """Rows and positive labels per group of every family (attributes, then the intersection),
    the overall base rate, the positive label and the two target values (None unless the
    target is binary) of a lazy Dataset, from one grouped query (plus two small ones on the
    target). ``choose_positive(values)`` picks the positive of the two values (None: no base
    rates)."""
    table = ds.table
    q = table.q
    g = grouper_for(ds)
    aggregates = "COUNT(*) AS n"
    binary = False
    values = None
    if ds.target is not None:
        y = q(ds.target)
        info = table.query(
            f"SELECT COUNT(DISTINCT {y}) AS k, COUNT(*) - COUNT({y}) AS missing FROM {{table}}"
        ).iloc[0]
        if int(info["k"]) == 2:
            if int(info["missing"]):
                raise DataError(
                    f"The target {ds.target!r} has {int(info['missing'])} missing value(s); drop "
                    f"or fill them before measuring base rates."
                )
            values = table.query(f"SELECT DISTINCT {y} AS v FROM {{table}}")["v"].tolist()
            positive = choose_positive(values) if choose_positive is not None else None
            binary = positive is not None
            if binary:
                literal = table.dialect.literal(positive)
                aggregates += f", SUM(CASE WHEN {y} = {literal} THEN 1 ELSE 0 END) AS pos"
    counts = g.query({}, aggregates)
    n = g.spread(counts, "n")
    pos = g.spread(counts, "pos") if binary else [None] * len(n)
    overall_rate = float(pos[0][0] / n[0][0]) if binary else np.nan
    fams = [(fam.attribute, fam.labels, n[f], pos[f]) for f, fam in enumerate(g.families) if f > 0]
    return fams, overall_rate, (positive if binary else None), values


def top_buckets(overall: np.ndarray, levels, top_k: int):
    """Bucket of each level (its rank among the ``top_k`` most frequent, or ``"(other)"``) and
    the bucket names, as the in-memory profile (ties keep the level order)."""
    k = len(levels)
    top = np.argsort(-overall, kind="stable")[:top_k]
    top = top[overall[top] > 0]
    bucket_of_level = np.full(k, len(top), dtype=np.int64)
    bucket_of_level[top] = np.arange(len(top))
    names = [str(levels[i]) for i in top] + ["(other)", "(missing)"]
    return bucket_of_level, names
