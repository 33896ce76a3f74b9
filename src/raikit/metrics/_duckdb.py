"""The DuckDB backend: the same sufficient statistics, computed by one SQL ``GROUP BY`` over files.

A Parquet or CSV file (or a glob of them) larger than memory is reduced where it lives to one row per
(sensitive values, true label, predicted label) with its count — and, when a score column is named,
per equal-width score bin with the sums behind Brier score, log loss and calibration. Everything above
these statistics — metrics, disparities, the Poisson bootstrap, findings, figures — is the numpy
engine's own code, shared with the Spark backend (:mod:`raikit.metrics._spark`), so every backend
returns the same numbers.

Binned ROC AUC
--------------
A backend never sorts rows: AUC comes from per-group histograms of the score over ``score_bins``
equal-width bins on [0, 1] (1,000 by default), with a positive and a negative in the same bin
counted as half a concordant pair. Pairs in different bins are ordered exactly as by the raw scores,
so the only error comes from same-bin pairs, which the exact AUC counts as 1, 1/2 or 0 instead of
1/2. Hence ``|AUC_binned - AUC_exact| <= 0.5 * P(positive and negative share a bin)``, a bound the
result reports per slice (``meta["roc_auc_error_bound"]``), computed from the same histograms.

Weights
-------
With a weight column every row of the ``GROUP BY`` also carries ``SUM(w)``, ``SUM(w * w)`` and a
count of unusable (missing, negative, infinite) weights, and its score sums are weighted sums
(``SUM(w * s)``, ...). Confusion cells and score bins then count weight instead of rows: the
weighted rates, Brier score, log loss and calibration error of the numpy engine, and the weighted
ROC AUC (scikit-learn's ``sample_weight``) within the same bound, with pairs weighted by
``w_positive * w_negative``. The sums of squared weights give the effective rows of each cell and
stratum for the bootstrap.
"""

from __future__ import annotations

import glob as globbing
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from raikit._errors import ColumnError, DataError, FileFormatError, ParameterError
from raikit._grouping import GroupEncoding, encode_groups
from raikit._sql import DUCKDB, Dialect, unusable_weights, weight_check_sql

__all__ = ["DEFAULT_SCORE_BINS", "AggregatedCounts", "duckdb_counts"]

DEFAULT_SCORE_BINS = 1000  # equal-width score bins on [0, 1] behind the binned ROC AUC
EPS = float(np.finfo(np.float64).eps)  # log-loss clipping, as the numpy engine does
MISSING_BIN, OUT_OF_RANGE_BIN = -1, -2  # bin codes the SQL gives to scores it cannot bin


@dataclass(frozen=True, eq=False)
class AggregatedCounts:
    """Confusion counts per intersection group, computed outside Python (a backend's output)."""

    encoding: GroupEncoding
    counts: np.ndarray  # (groups, classes * classes), cell = true * K + predicted
    classes: np.ndarray
    n_rows: int
    backend: str = "duckdb"
    score_strata: np.ndarray | None = None  # (groups, 2, bins, 4): n, sum s, sum s^2, log-loss sum
    score_bins: int = 0
    # With a weight column: per group and cell, the sum of the weights and of their squares (the
    # effective rows of the weighted bootstrap); ``counts`` then stay the rows.
    weighted: np.ndarray | None = None
    weighted_sq: np.ndarray | None = None
    # With a weight column and a score: ``score_strata`` holds sums of the weights and weighted
    # sums, and this each (group, label, bin)'s sum of squared weights.
    score_strata_sq: np.ndarray | None = None


def as_source(source) -> str | list[str]:
    """A path or glob as a string, or several of them (e.g. a shell-expanded glob) as a list."""
    if isinstance(source, list | tuple):
        return [str(s) for s in source] if len(source) != 1 else str(source[0])
    return str(source)


def _files(source: str | list[str]) -> list[str]:
    files = []
    for pattern in [source] if isinstance(source, str) else source:
        matched = sorted(globbing.glob(pattern)) if any(c in pattern for c in "*?[") else [pattern]
        if not matched or not all(os.path.exists(f) for f in matched):
            raise FileFormatError(
                f"No file matches {pattern!r}. Check the path or the glob pattern "
                f"(e.g. data/*.parquet)."
            )
        files += matched
    return files


def _sql_literal(source: str | list[str]) -> str:
    if isinstance(source, str):
        return DUCKDB.string(source)
    return "[" + ", ".join(_sql_literal(s) for s in source) + "]"


def _kind(files: list[str], source: str) -> str:
    suffixes = {Path(f).suffixes[0].lower() if Path(f).suffixes else "" for f in files}
    if suffixes <= {".parquet", ".pq"}:
        return "parquet"
    if suffixes <= {".csv", ".tsv", ".txt"}:
        return "csv"
    raise FileFormatError(
        f"The duckdb and spark backends read Parquet or CSV files; {source!r} matches "
        f"{sorted(suffixes)}."
    )


def _relation(source: str | list[str]) -> str:
    kind = _kind(_files(source), source)
    if kind == "parquet":
        return f"read_parquet({_sql_literal(source)}, union_by_name=false)"
    return f"read_csv_auto({_sql_literal(source)})"


def named_columns(target, prediction, sensitive, score=None, weight=None) -> list[tuple[str, str]]:
    """(role, column) pairs of the columns a backend reads."""
    named = [("target", target), ("prediction", prediction)]
    named += [("sensitive", s) for s in sensitive]
    named += [("score", score)] if score is not None else []
    return named + ([("weight", weight)] if weight is not None else [])


def check_columns(source: str | list[str], columns: list[tuple[str, str]], con=None) -> list[str]:
    """Check that every file of ``source`` has every named column; return the columns.

    ``columns`` holds (role, column) pairs, roles such as "target" or "sensitive". Parquet schemas are read
    from the file footers only (no rows); a CSV file's header from its first lines. A column missing
    from one file of a glob names that file, instead of an engine's schema-mismatch message.
    """
    import duckdb

    files = _files(source)
    kind = _kind(files, source)
    own = con is None
    con = con or duckdb.connect()
    try:
        per_file: dict[str, list[str]] = {}
        try:
            if kind == "parquet":
                rows = con.execute(
                    f"SELECT file_name, name FROM parquet_schema({_sql_literal(source)}) "
                    "WHERE name <> 'schema'"
                ).fetchall()
                for file_name, name in rows:
                    per_file.setdefault(os.path.normpath(file_name), []).append(name)
            else:
                for f in files:  # one header read per CSV file
                    described = con.execute(
                        f"DESCRIBE SELECT * FROM read_csv_auto({DUCKDB.string(f)})"
                    ).fetchall()
                    per_file[os.path.normpath(f)] = [row[0] for row in described]
        except duckdb.Error as error:
            raise FileFormatError(f"DuckDB cannot read {source!r}: {error}") from error
    finally:
        if own:
            con.close()
    first = per_file.get(os.path.normpath(files[0]), next(iter(per_file.values()), []))
    for role, column in columns:
        lacking = [f for f in files if column not in per_file.get(os.path.normpath(f), [])]
        if len(lacking) == len(files):
            raise ColumnError(
                f"Unknown {role} column {column!r} in {source!r}. Available columns: {first[:20]}."
            )
        if lacking:
            raise ColumnError(
                f"The {role} column {column!r} is missing from {len(lacking)} of {len(files)} "
                f"files matching {source!r}, e.g. {lacking[0]!r}. Every file needs the same "
                f"columns: rewrite those files or narrow the glob."
            )
    return first


def run_with_progress(work: Callable[[], object], poll: Callable[[], float | None], progress):
    """Run ``work()`` in a thread while reporting ``poll()`` (a fraction in [0, 1]) to ``progress``
    as ``progress(fraction, 1.0)`` (the one progress protocol: done, total).

    The engines (DuckDB, Spark) do the heavy lifting in native code and release the GIL, so polling
    their progress from this thread costs nothing measurable.
    """
    if progress is None:
        return work()
    box: dict = {}

    def target():
        try:
            box["value"] = work()
        except BaseException as error:  # re-raised in the caller's thread
            box["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    shown = 0.0
    while thread.is_alive():
        thread.join(0.2)
        try:
            fraction = poll()
        except Exception:  # progress is best effort; the query's own errors surface below
            fraction = None
        if fraction is not None and fraction > shown:
            # Engines add stages as they go, so a raw fraction can fall back; never show that.
            shown = min(float(fraction), 0.99)
            progress(shown, 1.0)
    if "error" in box:
        raise box["error"]
    progress(1.0, 1.0)
    return box["value"]


def score_sql(
    score: str, bins: int, dialect: Dialect = DUCKDB, *, weight: str | None = None
) -> tuple[str, list[str]]:
    """SQL of the score bin and of the per-row terms summed per stratum.

    With ``weight`` every term is multiplied by the row's weight (the stratum's count is then
    the ``SUM(w)`` of :func:`weight_sql`).
    """
    s = f"CAST({dialect.ident(score)} AS DOUBLE)"
    clipped = dialect.clip(s, EPS, 1 - EPS)
    bin_sql = (
        f"CASE WHEN {s} IS NULL OR isnan({s}) THEN {dialect.literal(MISSING_BIN)} "
        f"WHEN {s} < 0 OR {s} > 1 THEN {dialect.literal(OUT_OF_RANGE_BIN)} "
        f"ELSE LEAST(CAST(FLOOR({s} * {dialect.literal(bins)}) AS BIGINT), "
        f"{dialect.literal(bins - 1)}) END"
    )
    w = "" if weight is None else f"CAST({dialect.ident(weight)} AS DOUBLE) * "
    sums = [
        f"SUM({w}{s}) AS __s1",
        f"SUM({w}{s} * {s}) AS __s2",
        f"SUM({w}-LN({clipped})) AS __l1",  # log-loss term of a positive
        f"SUM({w}-LN(1 - {clipped})) AS __l0",  # of a negative
    ]
    return bin_sql, sums


def duckdb_counts(
    source: str | os.PathLike | list,
    *,
    target: str,
    prediction: str,
    sensitive: list[str],
    score: str | None = None,
    score_bins: int = DEFAULT_SCORE_BINS,
    pos_label=None,
    missing_group: str | None = None,
    weight: str | None = None,
    memory_limit: str | None = "1GB",
    threads: int | None = None,
    progress: Callable[[float], None] | None = None,
) -> AggregatedCounts:
    """Reduce a file (or glob) to confusion counts per intersection group with one SQL pass.

    Parameters
    ----------
    source : str, path or list of them
        A Parquet or CSV file, a glob such as ``"data/*.parquet"``, or a list of files.
    target, prediction : str
        Columns of true and predicted labels.
    sensitive : list of str
        Sensitive columns.
    score : str, optional
        Column of positive-class probabilities: adds per-group score histograms and sums (binary
        labels only).
    score_bins : int, default 1000
        Equal-width score bins on [0, 1] behind the binned ROC AUC.
    weight : str, optional
        Column of non-negative row weights: adds each cell's (and score bin's) sum of weights and
        of squared weights, and weights the score sums.
    memory_limit : str, default "1GB"
        DuckDB's memory limit; larger-than-memory files spill to disk instead of failing.
    progress : callable, optional
        Called with the fraction of the scan done (DuckDB's own query progress).
    """
    try:
        import duckdb
    except ImportError as error:
        raise DataError('The duckdb backend needs duckdb: pip install "raikit[scale]".') from error
    source = as_source(source)
    relation = _relation(source)
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        if progress is not None:
            con.execute("SET enable_progress_bar_print = false")
            con.execute("SET enable_progress_bar = true")  # needed for query_progress()
        if memory_limit:
            try:  # one string literal, never SQL: "1GB'; COPY ..." is a bad size, not a statement
                con.execute(f"SET memory_limit = {DUCKDB.string(memory_limit)}")
            except duckdb.Error as error:
                raise ParameterError(
                    f"group_metrics_of(): memory_limit={memory_limit!r} is not a memory size "
                    f"DuckDB understands ({error}); e.g. '1GB' or '512MB'."
                ) from error
        if threads:
            con.execute(f"SET threads = {DUCKDB.literal(int(threads))}")
        check_columns(source, named_columns(target, prediction, sensitive, score, weight), con)
        _check_numbers(con, relation, source, [("score", score), ("weight", weight)])
        sql = count_sql(relation, target, prediction, sensitive, score, score_bins, weight=weight)

        def work():
            return con.execute(sql).df()  # query_progress() is read from the caller's thread

        def poll():
            done = con.query_progress()
            return done / 100.0 if done is not None and done >= 0 else None

        try:
            table = run_with_progress(work, poll, progress)
        except duckdb.ConversionException as error:
            if score is not None and "value nan" in str(error):
                # a NaN score that a Parquet file's statistics (which skip NaN) hid from isnan()
                # reaches the bin's cast to BIGINT
                raise DataError(
                    f"score {score!r} has NaN value(s) in {source!r}. The duckdb backend bins "
                    f"probabilities of the positive class on [0, 1]: drop or impute them."
                ) from error
            raise FileFormatError(f"DuckDB failed on {source!r}: {error}") from error
        except duckdb.Error as error:
            raise FileFormatError(f"DuckDB failed on {source!r}: {error}") from error
    finally:
        con.close()
    return counts_from_table(
        table,
        source=source,
        target=target,
        prediction=prediction,
        sensitive=sensitive,
        score=score,
        score_bins=score_bins,
        pos_label=pos_label,
        missing_group=missing_group,
        backend="duckdb",
        weight=weight,
    )


_NUMBER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE")
_NUMBER_TYPES += ("DECIMAL", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT")


def _check_numbers(con, relation: str, source, named: list[tuple[str, str | None]]) -> None:
    """Refuse a score or weight column that DuckDB does not read as numbers (as the Spark
    backend's schema check does), instead of a cast error in the middle of the scan."""
    named = [(role, column) for role, column in named if column is not None]
    if not named:
        return
    columns = ", ".join(DUCKDB.ident(column) for _, column in named)
    described = con.execute(f"DESCRIBE SELECT {columns} FROM {relation}").fetchall()
    for (role, column), row in zip(named, described, strict=True):
        if not str(row[1]).upper().startswith(_NUMBER_TYPES):
            need = "probabilities of the positive class" if role == "score" else "row weights"
            raise DataError(
                f"The {role} column {column!r} of {source!r} has DuckDB type {row[1]}; it must "
                f"hold numbers ({need}). Rewrite the files with a numeric column, or drop the "
                f"{role} role."
            )


def weight_sql(weight: str, dialect=DUCKDB) -> list[str]:
    """Per-cell sums of a weight column and of its square, and the count of unusable weights."""
    w = f"CAST({dialect.ident(weight)} AS DOUBLE)"
    bad, total = weight_check_sql(dialect, weight)
    return [f"{total} AS __w", f"SUM({w} * {w}) AS __w2", f"{bad} AS __bad_w"]


def count_sql(
    relation, target, prediction, sensitive, score, score_bins, dialect=DUCKDB, *, weight=None
) -> str:
    """The one ``GROUP BY`` of the backends (DuckDB runs it; Spark gets the same aggregation)."""
    q = dialect.ident
    keys = ", ".join(q(c) for c in sensitive)
    select = f"SELECT {keys}, {q(target)} AS __y, {q(prediction)} AS __p, COUNT(*) AS __n"
    if weight is not None:
        select += ", " + ", ".join(weight_sql(weight, dialect))
    if score is None:
        return f"{select} FROM {relation} GROUP BY ALL"
    bin_sql, sums = score_sql(score, score_bins, dialect, weight=weight)
    return f"{select}, {bin_sql} AS __b, {', '.join(sums)} FROM {relation} GROUP BY ALL"


def _kind_of(values: np.ndarray) -> str:
    if values.dtype.kind in "iufb":
        return "number"
    present = [v for v in values if v is not None and v == v]
    if all(isinstance(v, bool | np.bool_) for v in present):
        return "number"
    if all(isinstance(v, int | float | np.integer | np.floating) for v in present):
        return "number"
    return "text"


def counts_from_table(
    table: pd.DataFrame,
    *,
    source: str,
    target: str,
    prediction: str,
    sensitive: list[str],
    score: str | None,
    score_bins: int,
    pos_label,
    missing_group: str | None,
    backend: str,
    weight: str | None = None,
) -> AggregatedCounts:
    """Turn a backend's aggregated rows into the engine's count (and score-strata) arrays.

    ``table`` has the sensitive columns, ``__y``, ``__p``, ``__n``; with a score, ``__b``
    (bin), ``__s1``, ``__s2``, ``__l1``, ``__l0``; with a weight, ``__w``, ``__w2``, ``__bad_w``
    (and the score sums are weighted): one row per distinct combination.
    """
    if table.empty:
        raise DataError(f"{source!r} has no rows; group metrics need at least one.")
    n = table["__n"].to_numpy(np.int64)
    for column, name in (("__y", target), ("__p", prediction)):
        if table[column].isna().any():
            missing = int(n[table[column].isna().to_numpy()].sum())
            raise DataError(f"{name} has {missing} missing value(s); drop or impute them first.")
    y_raw, p_raw = table["__y"].to_numpy(), table["__p"].to_numpy()
    kinds = {target: _kind_of(y_raw), prediction: _kind_of(p_raw)}
    if len(set(kinds.values())) > 1:
        raise DataError(
            f"The target {target!r} holds {kinds[target]} and the prediction {prediction!r} holds "
            f"{kinds[prediction]} values in {source!r} (e.g. {y_raw[0]!r} vs {p_raw[0]!r}); cast "
            f"both columns to the same type (e.g. 0/1 integers) before computing metrics."
        )
    # Labels: the same codes the numpy engine gives (0/1, or sorted classes with pos_label last).
    from raikit.metrics._group_metrics import _encode_labels

    y_codes, p_codes, classes = _encode_labels(y_raw, p_raw, pos_label)
    encoding = encode_groups(table[sensitive], missing_group=missing_group)
    n_classes = max(len(classes), 2)
    cells = y_codes * n_classes + p_codes
    n_groups = len(encoding.intersection_labels)
    groups = encoding.intersection_codes
    counts = np.zeros((n_groups, n_classes * n_classes), dtype=np.int64)
    np.add.at(counts, (groups, cells), n)
    weighted = weighted_sq = None
    if weight is not None:
        weighted, weighted_sq = _weighted_cells(
            table, weight, source, (groups, cells), counts.shape
        )
    strata = strata_sq = None
    if score is not None:
        strata, strata_sq = _score_strata(
            table,
            (groups, y_codes, n, n_groups),
            classes,
            source,
            backend,
            score,
            score_bins,
            weight=weight,
            target=target,
        )
    return AggregatedCounts(
        encoding,
        counts,
        np.asarray(classes),
        int(n.sum()),
        backend=backend,
        score_strata=strata,
        score_bins=score_bins if score is not None else 0,
        weighted=weighted,
        weighted_sq=weighted_sq,
        score_strata_sq=strata_sq,
    )


def _score_strata(table, rows, classes, source, backend, score, score_bins, *, weight, target):
    """The score strata (group x label x bin x [count, sum, sum of squares, log-loss sum]) and,
    with a weight, each stratum's sum of squared weights."""
    groups, y_codes, n, n_groups = rows
    if len(classes) > 2:
        raise DataError(
            f"Score metrics need binary labels; {target!r} has {len(classes)} values "
            f"{list(classes)[:10]}. Drop the score or map the labels to 0/1."
        )
    bins = table["__b"].to_numpy()
    for code, what in ((MISSING_BIN, "missing"), (OUT_OF_RANGE_BIN, "outside [0, 1]")):
        bad = bins == code
        if bad.any():
            raise DataError(
                f"score {score!r} has {int(n[bad].sum())} value(s) {what} in {source!r}. The "
                f"{backend} backend bins probabilities of the positive class on [0, 1]: pass "
                f"predict_proba(X)[:, 1], or drop the score."
            )
    bins = bins.astype(np.int64)
    log_sum = np.where(y_codes == 1, table["__l1"].to_numpy(float), table["__l0"].to_numpy(float))
    values = np.stack(
        [n.astype(float), table["__s1"].to_numpy(float), table["__s2"].to_numpy(float), log_sum],
        axis=-1,
    )
    strata_sq = None
    if weight is not None:  # each stratum's "count" is the sum of its weights
        values[:, 0] = table["__w"].to_numpy(float)
        strata_sq = np.zeros((n_groups, 2, score_bins))
        np.add.at(strata_sq, (groups, y_codes, bins), table["__w2"].to_numpy(float))
    strata = np.zeros((n_groups, 2, score_bins, 4))
    np.add.at(strata, (groups, y_codes, bins), values)
    return strata, strata_sq


def _weighted_cells(table, weight, source, where, shape) -> tuple[np.ndarray, np.ndarray]:
    """Sums of the weights and of their squares per (group, cell), after checking the weights
    as :func:`raikit.metrics._group_metrics.weight_array` does for rows in memory."""
    sums = table["__w"].to_numpy(float)
    many = unusable_weights(table["__bad_w"], sums)
    if many:
        raise DataError(
            f"weight column {weight!r} has {many} missing, infinite or negative weight(s) in "
            f"{source!r}; weights must be finite and >= 0."
        )
    weighted, weighted_sq = np.zeros(shape), np.zeros(shape)
    np.add.at(weighted, where, sums)
    np.add.at(weighted_sq, where, table["__w2"].to_numpy(float))
    if not weighted.sum() > 0:
        raise DataError(
            f"weight column {weight!r} sums to 0 in {source!r}; at least one row needs a "
            f"positive weight."
        )
    return weighted, weighted_sq
