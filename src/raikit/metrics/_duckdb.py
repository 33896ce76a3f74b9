"""The DuckDB backend: the same sufficient statistics, computed by one SQL ``GROUP BY`` over files.

A Parquet or CSV file (or a glob of them) larger than memory is reduced where it lives to one row per
(sensitive values, true label, predicted label) with its count. Everything above the counts — metrics,
disparities, the Poisson bootstrap, findings, figures — is the numpy engine's own code, so both
backends return the same numbers.
"""

from __future__ import annotations

import glob as globbing
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from raikit._errors import ColumnError, DataError, FileFormatError
from raikit._grouping import GroupEncoding, encode_groups

__all__ = ["AggregatedCounts", "duckdb_counts"]


@dataclass(frozen=True, eq=False)
class AggregatedCounts:
    """Confusion counts per intersection group, computed outside Python (a backend's output)."""

    encoding: GroupEncoding
    counts: np.ndarray  # (groups, classes * classes), cell = true * K + predicted
    classes: np.ndarray
    n_rows: int


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _relation(source: str) -> str:
    files = sorted(globbing.glob(source)) if any(c in source for c in "*?[") else [source]
    if not files or not all(os.path.exists(f) for f in files):
        raise FileFormatError(
            f"No file matches {source!r}. Check the path or the glob pattern (e.g. data/*.parquet)."
        )
    suffixes = {Path(f).suffixes[0].lower() if Path(f).suffixes else "" for f in files}
    literal = source.replace("'", "''")
    if suffixes <= {".parquet", ".pq"}:
        return f"read_parquet('{literal}', union_by_name=false)"
    if suffixes <= {".csv", ".tsv", ".txt"}:
        return f"read_csv_auto('{literal}')"
    raise FileFormatError(
        f"The duckdb backend reads Parquet or CSV files; {source!r} matches {sorted(suffixes)}."
    )


def duckdb_counts(
    source: str | os.PathLike,
    *,
    target: str,
    prediction: str,
    sensitive: list[str],
    pos_label=None,
    missing_group: str | None = None,
    memory_limit: str | None = "1GB",
    threads: int | None = None,
) -> AggregatedCounts:
    """Reduce a file (or glob) to confusion counts per intersection group with one SQL pass.

    Parameters
    ----------
    source : str or path
        A Parquet or CSV file, or a glob such as ``"data/*.parquet"``.
    target, prediction : str
        Columns of true and predicted labels.
    sensitive : list of str
        Sensitive columns.
    memory_limit : str, default "1GB"
        DuckDB's memory limit; larger-than-memory files spill to disk instead of failing.
    """
    try:
        import duckdb
    except ImportError as error:
        raise DataError('The duckdb backend needs duckdb: pip install "raikit[scale]".') from error
    relation = _relation(str(source))
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        if memory_limit:
            con.execute(f"SET memory_limit = '{memory_limit}'")
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        try:
            available = [
                row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
            ]
        except duckdb.Error as error:
            raise FileFormatError(f"DuckDB cannot read {str(source)!r}: {error}") from error
        for role, column in [("target", target), ("prediction", prediction)] + [
            ("sensitive", s) for s in sensitive
        ]:
            if column not in available:
                raise ColumnError(
                    f"Unknown {role} column {column!r} in {str(source)!r}. Available columns: "
                    f"{available[:20]}."
                )
        keys = ", ".join(_quote(c) for c in sensitive)
        sql = (
            f"SELECT {keys}, {_quote(target)} AS __y, {_quote(prediction)} AS __p, "
            f"COUNT(*) AS __n FROM {relation} GROUP BY ALL"
        )
        try:
            table = con.execute(sql).df()
        except duckdb.Error as error:
            raise FileFormatError(f"DuckDB failed on {str(source)!r}: {error}") from error
    finally:
        con.close()
    if table.empty:
        raise DataError(f"{str(source)!r} has no rows; group metrics need at least one.")
    for column, name in (("__y", target), ("__p", prediction)):
        if table[column].isna().any():
            missing = int(table.loc[table[column].isna(), "__n"].sum())
            raise DataError(f"{name} has {missing} missing value(s); drop or impute them first.")
    # Labels: the same codes the numpy engine gives (0/1, or sorted classes with pos_label last).
    from raikit.metrics._group_metrics import _encode_labels

    y_codes, p_codes, classes = _encode_labels(
        table["__y"].to_numpy(), table["__p"].to_numpy(), pos_label
    )
    encoding = encode_groups(table[sensitive], missing_group=missing_group)
    n_classes = max(len(classes), 2)
    cells = y_codes * n_classes + p_codes
    n_groups = len(encoding.intersection_labels)
    counts = np.zeros((n_groups, n_classes * n_classes), dtype=np.int64)
    np.add.at(counts, (encoding.intersection_codes, cells), table["__n"].to_numpy(np.int64))
    return AggregatedCounts(encoding, counts, np.asarray(classes), int(table["__n"].sum()))
