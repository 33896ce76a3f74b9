"""The Spark backend: the sufficient statistics as one ``groupBy().agg()`` on the user's cluster.

The reduction is the DuckDB backend's ``GROUP BY`` expressed with the DataFrame API: one row per
(sensitive values, true label, predicted label[, score bin]) with its count, score sums and, with a
weight column, the sums of the weights and of their squares (the score sums then weighted). Only that
small table travels to the driver; the shared code in :mod:`raikit.metrics._duckdb` turns it into
the engine's arrays, so counts, metrics and bootstrap intervals are those of the other backends.

pyspark is imported only when a Spark DataFrame (or ``backend="spark"``) is actually used.
"""

from __future__ import annotations

import os
import sys
import uuid
import warnings
from collections.abc import Callable
from urllib.parse import urlparse

from raikit._errors import ColumnError, DataError, FileFormatError
from raikit._sql import SPARK
from raikit.metrics._duckdb import (
    DEFAULT_SCORE_BINS,
    EPS,
    MISSING_BIN,
    OUT_OF_RANGE_BIN,
    AggregatedCounts,
    as_source,
    check_columns,
    counts_from_table,
    named_columns,
    run_with_progress,
)

__all__ = ["is_spark_frame", "local_session", "spark_counts"]


def is_spark_frame(obj) -> bool:
    """True for a ``pyspark.sql.DataFrame`` (classic or Spark Connect), without importing pyspark."""
    module = type(obj).__module__
    return module.startswith("pyspark.sql") and type(obj).__name__ == "DataFrame"


def _import_pyspark():
    try:
        import pyspark  # noqa: F401
    except ImportError as error:
        raise DataError(
            'The spark backend needs pyspark (and Java 17+): pip install "raikit[scale]".'
        ) from error


def local_session(master: str = "local[2]", *, shuffle_partitions: int = 8):
    """Start (or reuse) a local SparkSession for users without a cluster.

    Parameters
    ----------
    master : str, default "local[2]"
        Spark master URL, e.g. ``local[4]`` or ``spark://host:7077``.
    shuffle_partitions : int, default 8
        ``spark.sql.shuffle.partitions``; the aggregated table is small, so few partitions suffice.

    Returns
    -------
    pyspark.sql.SparkSession
        The session (its web UI off).

    Raises
    ------
    DataError
        When pyspark is not installed.

    See Also
    --------
    group_metrics_of : runs on Spark for a Dataset over a Spark DataFrame.

    Examples
    --------
    >>> from raikit.metrics import local_session
    >>> callable(local_session)  # starting Spark takes seconds: see the gallery's Spark example
    True
    """
    _import_pyspark()
    from pyspark.sql import SparkSession

    if master.startswith("local") and not os.environ.get("PYSPARK_PYTHON"):
        # Python workers (mapInPandas, pandas UDFs) must run this interpreter, whose packages
        # (pandas, the model's library) the work needs, not the first ``python3`` on the PATH;
        # pyspark reads the variable when the session starts.
        os.environ["PYSPARK_PYTHON"] = sys.executable
    builder = SparkSession.builder.master(master)
    with warnings.catch_warnings():
        # pyspark's notice about pandas 3 at start-up: raikit hands it plain dtypes only.
        warnings.filterwarnings("ignore", "PySpark does not yet", FutureWarning)
        return (
            builder.appName("raikit")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")  # raikit shows its own progress
            .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
            .getOrCreate()
        )


def _col(name: str):
    from pyspark.sql import functions as F

    return F.col(SPARK.ident(name))


def _is_local(path: str) -> bool:
    scheme = urlparse(path).scheme
    return scheme in ("", "file") or (len(scheme) == 1 and os.name == "nt")


def _read(path, *, merge_schema: bool):
    """A Spark DataFrame over a path, glob or list of them, with the active session."""
    _import_pyspark()
    from pyspark.sql import SparkSession

    spark = SparkSession.getActiveSession()
    if spark is None:
        raise DataError(
            "backend='spark' with a path needs an active SparkSession: create one first "
            "(SparkSession.builder.getOrCreate(), or raikit.metrics.local_session('local[2]')), "
            "or use backend='duckdb' on one machine."
        )
    paths = [path] if isinstance(path, str) else list(path)
    lower = paths[0].lower().rstrip("/")
    try:
        if lower.endswith((".csv", ".tsv", ".txt")):
            reader = spark.read.option("header", "true").option("inferSchema", "true")
            if lower.endswith(".tsv"):
                reader = reader.option("sep", "\t")
            frame = reader.csv(paths)
        else:
            # Remote files were not checked one by one: merge their schemas so that a column
            # missing from one file shows up as nulls (which the checks reject), never silently.
            merge = "true" if merge_schema else "false"
            frame = spark.read.option("mergeSchema", merge).parquet(*paths)
    except Exception as error:  # Spark's AnalysisException: no files, unreadable files
        raise FileFormatError(f"Spark cannot read {path!r}: {error}") from error
    return frame


def _local_files(path) -> str | list[str] | None:
    """The path(s) without ``file://`` when every one is local and duckdb can check them."""
    paths = [path] if isinstance(path, str) else list(path)
    if not all(_is_local(p) for p in paths):
        return None
    try:
        import duckdb  # noqa: F401
    except ImportError:  # no pre-check: Spark's mergeSchema and the null checks remain
        return None
    plain = [p.removeprefix("file://") for p in paths]
    return plain[0] if len(plain) == 1 else plain


def _check_schema(frame, named: list[tuple[str, str]]) -> None:
    from pyspark.sql import types as T

    fields = {f.name: f.dataType for f in frame.schema.fields}
    for role, column in named:
        if column not in fields:
            raise ColumnError(
                f"Unknown {role} column {column!r} in the Spark DataFrame. Available columns: "
                f"{list(fields)[:20]}."
            )
        kind = fields[column]
        if role in ("target", "prediction"):
            ok = isinstance(kind, T.NumericType | T.BooleanType | T.StringType)
            need = "numbers, booleans or strings (class labels)"
        elif role == "score":
            ok = isinstance(kind, T.NumericType)
            need = "numbers (probabilities of the positive class)"
        elif role == "weight":
            ok = isinstance(kind, T.NumericType)
            need = "numbers (non-negative row weights)"
        else:
            ok = not isinstance(kind, T.ArrayType | T.MapType | T.StructType | T.BinaryType)
            need = "plain values (strings, numbers, booleans, dates)"
        if not ok:
            raise DataError(
                f"The {role} column {column!r} has Spark type {kind.simpleString()}; it must hold "
                f"{need}. Cast it first, e.g. df.withColumn({column!r}, F.col({column!r}).cast(...))."
            )


def _progress_poll(spark, group: str):
    """A function returning the fraction of finished tasks of the job group (None if unknown)."""
    try:
        tracker = spark.sparkContext.statusTracker()
    except Exception:  # Spark Connect has no SparkContext on the client
        return lambda: None

    def poll():
        total = done = 0
        for job in tracker.getJobIdsForGroup(group):
            info = tracker.getJobInfo(job)
            for stage in info.stageIds if info else []:
                stage_info = tracker.getStageInfo(stage)
                if stage_info is not None:
                    total += stage_info.numTasks
                    done += stage_info.numCompletedTasks
        return done / total if total else None

    return poll


def _score_columns(score: str, score_bins: int, w=None) -> tuple:
    """The score-bin key and the per-stratum sums of :func:`raikit.metrics._duckdb.score_sql`
    as Spark columns (weighted by the column ``w`` when given)."""
    from pyspark.sql import functions as F

    s = _col(score).cast("double")
    clipped = F.greatest(F.least(s, F.lit(1 - EPS)), F.lit(EPS))
    binned = F.least(F.floor(s * F.lit(float(score_bins))).cast("bigint"), F.lit(score_bins - 1))
    bin_column = (
        F.when(s.isNull() | F.isnan(s), F.lit(MISSING_BIN))
        .when((s < 0) | (s > 1), F.lit(OUT_OF_RANGE_BIN))
        .otherwise(binned)
    )
    terms = {
        "__s1": s,
        "__s2": s * s,
        "__l1": -F.log(clipped),  # log-loss term of a positive
        "__l0": -F.log(F.lit(1.0) - clipped),  # of a negative
    }
    sums = [F.sum(term if w is None else w * term).alias(name) for name, term in terms.items()]
    return bin_column.alias("__b"), sums


def spark_counts(
    source,
    *,
    target: str,
    prediction: str,
    sensitive: list[str],
    score: str | None = None,
    score_bins: int = DEFAULT_SCORE_BINS,
    pos_label=None,
    missing_group: str | None = None,
    weight: str | None = None,
    progress: Callable[[float], None] | None = None,
) -> AggregatedCounts:
    """Reduce a Spark DataFrame (or a path read with the active session) with one ``groupBy().agg()``.

    Parameters
    ----------
    source : pyspark.sql.DataFrame, str or list of str
        The rows, or Parquet/CSV paths or globs (local, ``hdfs://``, ``s3a://`` ...).
    target, prediction, sensitive, score, score_bins, pos_label, missing_group, weight
        As for :func:`raikit.metrics._duckdb.duckdb_counts`.
    progress : callable, optional
        Called with the fraction of Spark tasks finished.
    """
    named = named_columns(target, prediction, sensitive, score, weight)
    if is_spark_frame(source):
        frame, name = source, "the Spark DataFrame"
    else:
        path = as_source(source)
        local = _local_files(path)
        if local is not None:
            check_columns(local, named)  # no match, or a column missing from one file: say so
        frame = _read(path, merge_schema=local is None)
        name = path
    _check_schema(frame, named)
    from pyspark.sql import functions as F

    keys = [_col(c) for c in sensitive]
    keys += [_col(target).alias("__y"), _col(prediction).alias("__p")]
    sums = [F.count(F.lit(1)).alias("__n")]
    w = None
    if weight is not None:
        w = _col(weight).cast("double")
        bad = w.isNull() | F.isnan(w) | (w < 0) | (w == F.lit(float("inf")))
        sums += [
            F.sum(w).alias("__w"),
            F.sum(w * w).alias("__w2"),
            F.sum(F.when(bad, 1).otherwise(0)).alias("__bad_w"),
        ]
    if score is not None:
        bin_column, score_sums = _score_columns(score, score_bins, w)
        keys.append(bin_column)
        sums += score_sums
    aggregated = frame.groupBy(*keys).agg(*sums)
    spark = frame.sparkSession
    group = f"raikit-{uuid.uuid4().hex[:12]}"

    def work():
        if progress is not None:  # work() then runs in its own thread: the group is thread-local
            try:
                spark.sparkContext.setJobGroup(group, "raikit group_metrics", False)
            except Exception:  # Spark Connect: no job groups, no progress
                pass
        try:
            with warnings.catch_warnings():
                # pyspark's notice about pandas 3: the aggregated table uses plain dtypes only.
                warnings.filterwarnings("ignore", "PySpark does not yet", FutureWarning)
                warnings.filterwarnings("ignore", "The copy keyword is deprecated")
                return aggregated.toPandas()
        except Exception as error:
            raise FileFormatError(f"Spark failed to aggregate {name}: {error}") from error

    table = run_with_progress(work, _progress_poll(spark, group), progress)
    return counts_from_table(
        table,
        source=name,
        target=target,
        prediction=prediction,
        sensitive=sensitive,
        score=score,
        score_bins=score_bins,
        pos_label=pos_label,
        missing_group=missing_group,
        backend="spark",
        weight=weight,
    )
