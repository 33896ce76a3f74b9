"""The one SQL dialect of raikit's lazy backends: identifiers and literals for DuckDB and Spark SQL.

Every SQL text raikit writes (the group-metric counts, profile/drift/representation aggregates, the
aggregate API of a lazy :class:`raikit.Dataset`) quotes column names and writes values through a
:class:`Dialect`, so that a hostile column name or value (quotes, backticks, semicolons, backslashes,
newlines, unicode) is always one identifier or one literal, never SQL.

DuckDB quotes identifiers with double quotes and reads ``'...'`` strings verbatim (``''`` is a
quote). Spark SQL quotes identifiers with backticks, reads a double-quoted name as a *string*, and
unescapes backslashes inside ``'...'`` (depending on ``spark.sql.parser.escapedStringLiterals``), so
Spark strings are written as ``decode(unhex('<utf-8 hex>'), 'UTF-8')``: the same value whatever the
session's parser settings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["DUCKDB", "SPARK", "Dialect", "unusable_weights", "weight_check_sql"]


@dataclass(frozen=True)
class Dialect:
    """How one SQL engine spells identifiers and literals.

    Parameters
    ----------
    name : {"duckdb", "spark"}
        The engine.

    Examples
    --------
    >>> from raikit._sql import DUCKDB, SPARK
    >>> DUCKDB.ident('a"b')
    '"a""b"'
    >>> SPARK.ident("a`b")
    '`a``b`'
    >>> DUCKDB.literal("it's")
    "'it''s'"
    >>> SPARK.literal("ok")
    "decode(unhex('6F6B'), 'UTF-8')"
    >>> DUCKDB.literal(2.5), DUCKDB.literal(True), SPARK.literal(None)
    ("CAST('2.5' AS DOUBLE)", 'TRUE', 'NULL')
    """

    name: str

    def ident(self, name) -> str:
        """``name`` as one quoted SQL identifier (a column name or alias)."""
        text = str(name)
        if self.name == "spark":
            return "`" + text.replace("`", "``") + "`"
        return '"' + text.replace('"', '""') + '"'

    def string(self, value) -> str:
        """``value`` (as text) as one SQL string literal."""
        text = str(value)
        if self.name == "spark":
            return f"decode(unhex('{text.encode('utf-8').hex().upper()}'), 'UTF-8')"
        return "'" + text.replace("'", "''") + "'"

    def double(self, value: float) -> str:
        """A float as an exact SQL DOUBLE (a bare ``17.0`` would be a DECIMAL in DuckDB)."""
        value = float(value)
        if math.isnan(value):
            return "CAST('NaN' AS DOUBLE)"
        if math.isinf(value):
            return f"CAST('{'-' if value < 0 else ''}Infinity' AS DOUBLE)"
        return f"CAST('{value!r}' AS DOUBLE)"

    def clip(self, expr: str, low: float, high: float) -> str:
        """SQL of ``expr`` clipped to ``[low, high]`` (a missing value stays missing; NaN, the
        greatest value in both engines, becomes ``high``).

        Examples
        --------
        >>> from raikit._sql import DUCKDB
        >>> import duckdb
        >>> rows = "(VALUES (-1.0), (0.5), (2.0), ('NaN'::DOUBLE), (NULL)) AS t(x)"
        >>> duckdb.sql(f"SELECT {DUCKDB.clip('x', 0.1, 0.9)} FROM {rows}").fetchall()
        [(0.1,), (0.5,), (0.9,), (0.9,), (None,)]
        """
        low_sql, high_sql = self.double(low), self.double(high)
        return (
            f"(CASE WHEN {expr} < {low_sql} THEN {low_sql} "
            f"WHEN {expr} > {high_sql} THEN {high_sql} ELSE {expr} END)"
        )

    def literal(self, value) -> str:
        """A Python/numpy value (None, bool, int, float or anything as text) as a SQL literal."""
        if value is None:
            return "NULL"
        if isinstance(value, bool | np.bool_):
            return "TRUE" if value else "FALSE"
        if isinstance(value, int | np.integer):
            return str(int(value))
        if isinstance(value, float | np.floating):
            return self.double(value)
        return self.string(value)


DUCKDB = Dialect("duckdb")
SPARK = Dialect("spark")


def weight_check_sql(dialect: Dialect, weight: str) -> tuple[str, str]:
    """Two aggregates that check a weight column in the same scan: the count of unusable weights
    (missing, NaN, negative, infinite) and the sum of the weights.

    Both are needed: DuckDB folds ``isnan(w)`` to FALSE when a Parquet file's statistics (which
    pyarrow writes skipping NaN) say the column holds none, so a NaN weight may show only as a NaN
    sum. Read the two with :func:`unusable_weights`.

    Examples
    --------
    >>> from raikit._sql import DUCKDB, weight_check_sql
    >>> bad, total = weight_check_sql(DUCKDB, "w")
    >>> total
    'SUM(CAST("w" AS DOUBLE))'
    """
    w = f"CAST({dialect.ident(weight)} AS DOUBLE)"
    bad = f"{w} IS NULL OR isnan({w}) OR {w} < 0 OR {w} = {dialect.double(np.inf)}"
    return f"SUM(CASE WHEN {bad} THEN 1 ELSE 0 END)", f"SUM({w})"


def unusable_weights(bad, sums) -> str | None:
    """How many weights are unusable, from the two aggregates of :func:`weight_check_sql` over
    rows that partition the table: their count as text, ``"some"`` when only a NaN sum shows them,
    None when every weight is usable.

    Examples
    --------
    >>> from raikit._sql import unusable_weights
    >>> unusable_weights([0, 2], [1.0, 3.0]), unusable_weights([0, 0], [1.0, float("nan")])
    ('2', 'some')
    >>> print(unusable_weights([0], [4.0]))
    None
    """
    count = int(np.nan_to_num(np.asarray(bad, dtype=float)).sum())
    if count:
        return str(count)
    if np.isnan(np.asarray(sums, dtype=float)).any():
        return "some"
    return None
