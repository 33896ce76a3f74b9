"""The data checks on a lazy Dataset: ``representation`` as aggregate SQL, and the guarantees
``profile`` keeps (it computes through :meth:`raikit.Dataset.aggregate` and
:meth:`raikit.Dataset.histogram`, which write the same kind of SQL; see :mod:`raikit._aggregate`).
``drift`` asks each side's Dataset for its aggregates and histogram pieces (see
:mod:`raikit.data._drift`, which states its own guarantees).

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
  (listed in ``meta["approximate_distinct"]``; per group NaN). In memory every distinct count is
  exact (a histogram piece there is one distinct value).
* associations and proxies need rows: they run on a uniform sample of ``association_sample`` rows
  drawn where the data lives (all rows when the table is no larger).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from raikit._errors import DataError
from raikit.data._common import Family

__all__ = ["QUANTILE_BINS", "Grouper", "representation_counts"]

QUANTILE_BINS = 2048  # histogram bins per numeric column for quantiles, KS and Wasserstein
# Up to this many rows the distinct count of a many-valued numeric column is exact; above, DuckDB's /
# Spark's HyperLogLog ``approx_count_distinct`` (relative standard error about 2 %) saves a hash set
# of every value (the costliest aggregate of a profile at scale).
EXACT_DISTINCT_ROWS = 2_000_000


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
