"""Tables that stay where they live: Parquet/CSV files (read by DuckDB) and Spark DataFrames.

A :class:`raikit.Dataset` built on a path, a glob or a Spark DataFrame holds one of these instead of a
pandas table. They answer what a Dataset needs without loading rows: the column names and their
pandas dtypes (from file metadata plus the first rows), the row count (Parquet footers or one
``COUNT(*)``), and aggregate SQL queries. ``to_pandas`` loads the whole table, with the same dtypes
pandas would give when reading the files directly.
"""

from __future__ import annotations

import contextlib
import glob as globbing
import os
import warnings
import weakref
from pathlib import Path

import pandas as pd

from raikit._errors import ColumnError, DataError, FileFormatError
from raikit._sql import DUCKDB, SPARK, Dialect

__all__ = ["DuckDBTable", "SparkTable", "is_glob", "quote"]

_PARQUET = {".parquet", ".pq"}
_CSV = {".csv", ".tsv", ".txt"}
_HEAD_ROWS = 1_000  # rows read to learn pandas dtypes (categories, booleans, datetimes)


quote = DUCKDB.ident  # a DuckDB identifier for a column name (the one dialect: raikit._sql)


def is_glob(source: str) -> bool:
    """Whether a path holds glob wildcards."""
    return any(c in source for c in "*?[")


def _kind_of(path: str) -> str:
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] in {".gz", ".zst"}:
        suffixes = suffixes[:-1]
    suffix = suffixes[-1] if suffixes else ""
    if suffix in _PARQUET:
        return "parquet"
    if suffix in _CSV:
        return "tsv" if suffix == ".tsv" else "csv"
    raise FileFormatError(
        f"Cannot read {path!r} lazily: unsupported file type {suffix or '(none)'!r}. raikit reads "
        f".parquet and .csv/.tsv files; convert the file or load it with pandas."
    )


def _duckdb():
    try:
        import duckdb
    except ImportError as error:  # pragma: no cover - duckdb is a core dependency of scale use
        raise DataError(
            'Lazy datasets over files need duckdb: pip install "raikit[scale]".'
        ) from error
    return duckdb


_DATABASES: dict = {}  # (process id, memory limit) -> the in-memory DuckDB database


def _database(memory_limit: str | None):
    """The process's in-memory DuckDB database with ``memory_limit`` (opened once; a forked
    child opens its own, as DuckDB must not be used across a fork)."""
    key = (os.getpid(), memory_limit)
    base = _DATABASES.get(key)
    if base is None:
        duckdb = _duckdb()
        base = duckdb.connect()
        if memory_limit:
            base.execute(f"SET memory_limit = {DUCKDB.string(memory_limit)}")
        _DATABASES[key] = base
    return base


class _Table:
    """What the two lazy tables share: the first rows (``head``) and the SQL ``dialect``."""

    head: pd.DataFrame
    dialect: Dialect

    @property
    def dtypes(self) -> pd.Series:
        """pandas dtype of each column, as a full read would give (learned from the first rows)."""
        return self.head.dtypes

    def q(self, name: str) -> str:
        """``name`` quoted as one column name of this table's SQL."""
        return self.dialect.ident(name)


class DuckDBTable(_Table):
    """One Parquet/CSV file or a glob of them, queried with DuckDB.

    Parameters
    ----------
    source : str
        A path or a glob such as ``"data/*.parquet"``; every matching file must have the same
        format and the same columns.
    memory_limit : str, default "1GB"
        DuckDB's memory limit; larger-than-memory aggregations spill to disk.

    Raises
    ------
    FileFormatError
        No file matches, the files mix formats, or one cannot be read (corrupt, not Parquet).
    ColumnError
        A column is missing from some of the files.
    """

    def __init__(self, source, *, memory_limit: str | None = "1GB") -> None:
        several = isinstance(source, list | tuple)
        self.source = [str(s) for s in source] if several else str(source)
        self.memory_limit = memory_limit
        files = []
        for pattern in self.source if several else [self.source]:
            if is_glob(pattern):
                matched = sorted(globbing.glob(pattern))
                if not matched:
                    raise FileFormatError(
                        f"No file matches {pattern!r}. Check the directory and the pattern "
                        f"(e.g. 'data/*.parquet')."
                    )
                files += matched
            elif not os.path.exists(pattern):
                raise FileFormatError(f"File not found: {pattern!r}. Check the path.")
            else:
                files.append(pattern)
        kinds = {_kind_of(f) for f in files}
        if len(kinds) > 1:
            raise FileFormatError(
                f"{self.source!r} matches files of several formats ({sorted(kinds)}); a glob must "
                f"match files of one format."
            )
        self.files = files
        self.format = kinds.pop()
        self._con = None
        self.columns, self.head = self._read_schema()

    # ------------------------------------------------------------------ schema
    def _read_schema(self) -> tuple[list[str], pd.DataFrame]:
        if self.format == "parquet":
            import pyarrow.parquet as pq

            names = None
            for path in self.files:
                try:
                    schema = pq.read_schema(path)
                except Exception as error:
                    raise FileFormatError(
                        f"Cannot read {path!r} as Parquet: {type(error).__name__}: {error}. The "
                        f"file may be corrupt or not Parquet."
                    ) from error
                here = [n for n in schema.names if n != "__index_level_0__"]
                if names is None:
                    names, first = here, path
                elif set(here) != set(names):
                    absent = [c for c in names if c not in here]
                    extra = [c for c in here if c not in names]
                    raise ColumnError(
                        f"The files of {self.source!r} do not have the same columns: {path!r} "
                        f"lacks {absent} and has {extra} that {first!r} does not. Rewrite the "
                        f"files with one schema, or point raikit at the files that share it."
                    )
            try:
                batch = next(
                    pq.ParquetFile(self.files[0]).iter_batches(
                        batch_size=_HEAD_ROWS, columns=names
                    ),
                    None,
                )
            except Exception as error:
                raise FileFormatError(
                    f"Cannot read rows of {self.files[0]!r}: {type(error).__name__}: {error}."
                ) from error
            if batch is None:
                import pyarrow.parquet as pq

                head = pq.read_schema(self.files[0]).empty_table().to_pandas()[names]
            else:
                head = batch.to_pandas()
            return list(names), head.reset_index(drop=True)
        names = None
        for path in self.files:
            here = self._csv_head(path, 0).columns.tolist()
            if names is None:
                names, first = here, path
            elif set(here) != set(names):
                absent = [c for c in names if c not in here]
                extra = [c for c in here if c not in names]
                raise ColumnError(
                    f"The files of {self.source!r} do not have the same columns: {path!r} lacks "
                    f"{absent} and has {extra} that {first!r} does not."
                )
        return list(names), self._csv_head(self.files[0], _HEAD_ROWS)

    def _csv_head(self, path: str, rows: int) -> pd.DataFrame:
        try:
            return pd.read_csv(path, sep="\t" if self.format == "tsv" else ",", nrows=rows)
        except pd.errors.EmptyDataError as error:
            raise FileFormatError(f"File {path!r} is empty: it has no header.") from error
        except Exception as error:
            raise FileFormatError(
                f"Cannot read {path!r} as CSV: {type(error).__name__}: {error}."
            ) from error

    dialect = DUCKDB

    # ------------------------------------------------------------------ queries
    @property
    def relation(self) -> str:
        """The SQL table expression of the files."""
        literal = "[" + ", ".join(DUCKDB.string(f) for f in self.files) + "]"
        # by name: the files were checked to hold the same columns, maybe in another order
        if self.format == "parquet":
            return f"read_parquet({literal}, union_by_name=true)"
        delim = "\\t" if self.format == "tsv" else ","
        return f"read_csv({literal}, delim='{delim}', header=true, union_by_name=true)"

    @property
    def connection(self):
        """A cursor of the process's one in-memory DuckDB database for this memory limit: its
        views and temporary tables are its own, the memory limit is shared, so tables opened
        side by side (an audit's train, test and predictions files) stay within one limit."""
        if self._con is None:
            con = _database(self.memory_limit).cursor()
            con.execute("SET enable_progress_bar = false")
            self._con = con
        return self._con

    def query(self, sql: str) -> pd.DataFrame:
        """Run ``sql`` (with ``{table}`` standing for the files) and return the result."""
        duckdb = _duckdb()
        try:
            return self.connection.execute(sql.replace("{table}", self.relation)).df()
        except duckdb.Error as error:
            raise FileFormatError(
                f"DuckDB could not aggregate {self.source!r}: {type(error).__name__}: {error}"
            ) from error

    def count(self) -> int:
        """Number of rows (from the Parquet footers, or one ``COUNT(*)`` for CSV)."""
        if self.format == "parquet":
            import pyarrow.parquet as pq

            return int(sum(pq.ParquetFile(f).metadata.num_rows for f in self.files))
        return int(self.query("SELECT COUNT(*) AS n FROM {table}")["n"].iloc[0])

    def to_pandas(self) -> pd.DataFrame:
        """Load every row into pandas, as ``pd.read_parquet`` / ``pd.read_csv`` would."""
        from raikit.dataset import read_table

        if self.format == "parquet":
            try:
                frame = pd.read_parquet(self.files if len(self.files) > 1 else self.files[0])
            except Exception as error:
                raise FileFormatError(
                    f"Cannot read {self.source!r}: {type(error).__name__}: {error}."
                ) from error
            frame = frame[self.columns]
        else:
            frames = [read_table(f) for f in self.files]
            frame = pd.concat([f[self.columns] for f in frames], ignore_index=True)
        return frame.reset_index(drop=True)

    def sql_type(self) -> dict[str, str]:
        """DuckDB's type of each column."""
        rows = self.connection.execute(f"DESCRIBE SELECT * FROM {self.relation}").fetchall()
        return {row[0]: row[1] for row in rows}

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_con"] = None  # a DuckDB connection does not pickle; a new one opens on demand
        return state


@contextlib.contextmanager
def _quiet_pyspark():
    """Silence pyspark's notice that it does not yet fully support pandas 3 (on every
    ``toPandas``): raikit hands it and takes back plain dtypes only."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "PySpark does not yet", FutureWarning)
        yield


# What Spark told about a DataFrame (its first rows, its row count), kept as long as the
# DataFrame lives: a DataFrame is immutable, and every Dataset over it (``replace``, a section's
# roles) would otherwise run the same two Spark jobs again (~1 s each).
_SPARK_KNOWN: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class SparkTable(_Table):
    """A ``pyspark.sql.DataFrame``: schema from ``df.schema``, counts from Spark."""

    def __init__(self, frame) -> None:
        self.frame = frame
        self.source = frame
        self.format = "spark"
        self.files: list[str] = []
        self.columns = [str(c) for c in frame.columns]
        known = _SPARK_KNOWN.setdefault(frame, {})
        if "head" not in known:
            with _quiet_pyspark():
                known["head"] = frame.limit(_HEAD_ROWS).toPandas()
        self.head = known["head"].copy()
        self._known = known

    dialect = SPARK

    def count(self) -> int:
        if "count" not in self._known:
            self._known["count"] = int(self.frame.count())
        return self._known["count"]

    def to_pandas(self) -> pd.DataFrame:
        with _quiet_pyspark():
            return self.frame.toPandas().reset_index(drop=True)

    def query(self, sql: str, *, frame=None) -> pd.DataFrame:
        """Run Spark SQL with ``{table}`` standing for this DataFrame (a temporary view), or
        for ``frame``, a DataFrame derived from it."""
        import uuid

        frame = self.frame if frame is None else frame
        view = f"raikit_{uuid.uuid4().hex}"
        frame.createOrReplaceTempView(view)
        try:
            with _quiet_pyspark():
                return frame.sparkSession.sql(sql.replace("{table}", view)).toPandas()
        except Exception as error:  # AnalysisException and friends: say what failed
            raise DataError(
                f"Spark could not aggregate the DataFrame: {type(error).__name__}: "
                f"{str(error).splitlines()[0]}. Check the column types, or write the table to "
                f"Parquet and use Dataset(path) to run the check with DuckDB."
            ) from error
        finally:
            frame.sparkSession.catalog.dropTempView(view)


def restore_dtypes(frame: pd.DataFrame, dtypes: pd.Series, names=None) -> pd.DataFrame:
    """Give columns aggregated or fetched by SQL the pandas dtype a full read would have
    (declared category order, booleans, integers without missing values)."""
    frame = frame.copy()
    for name in frame.columns if names is None else names:
        dtype = dtypes.get(name)
        if dtype is None or name not in frame.columns or frame[name].dtype == dtype:
            continue
        values = frame[name]
        if isinstance(dtype, pd.CategoricalDtype):
            known = list(dtype.categories)
            # the distinct values first: a column of millions of rows has few of them
            present = pd.unique(values.dropna().to_numpy(dtype=object))
            extra = sorted({str(v) for v in present} - set(map(str, known)))
            frame[name] = pd.Categorical(values, categories=known + extra, ordered=dtype.ordered)
        elif values.notna().all() or not (
            pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
        ):
            try:
                frame[name] = values.astype(dtype)
            except (TypeError, ValueError):
                pass  # keep what SQL gave (e.g. a mixed column) rather than guess
    return frame


_MAX_KEY = 2**64 - 1


def sample_table(table, columns: list[str], n: int, *, min_per_group: int, seed: int):
    """Stratified sample of a lazy table without loading the other rows.

    Every row gets a seeded 64-bit hash (:func:`_row_key`); a stratum that needs ``k`` of its
    ``N`` rows keeps those whose hash is below a threshold a little above ``k / N`` of the range
    (one scan), then the ``k`` smallest hashes are kept in memory. The result is the same as
    ranking every row of the stratum by its hash: reproducible for a seed, uniform over rows.

    Returns the sampled rows (with a ``__stratum`` column) and the strata table
    (strata columns, ``__stratum``, ``population``, ``sampled``).
    """
    import numpy as np

    from raikit.dataset import allocate_sample

    spark = isinstance(table, SparkTable)
    if columns:
        hash_function = "xxhash64" if spark else "hash"
        counts, strata, code_of_row, population = _strata(table, columns, hash_function)
    else:
        counts = pd.DataFrame({"__h": [0], "__n": [table.count()]})
        strata = pd.DataFrame(index=[0])
        code_of_row = np.zeros(1, dtype=np.int64)
        population = counts["__n"].to_numpy(np.int64)
    wanted = allocate_sample(population, n, min_per_group)
    select = _spark_select if spark else _duckdb_select
    kept = _below_thresholds(
        select(table, columns, counts, code_of_row, int(seed)), wanted, population
    )
    kept = kept.sort_values(["__stratum", "__key"], kind="stable")
    rank = kept.groupby("__stratum", sort=False).cumcount().to_numpy()
    kept = kept[rank < wanted[kept["__stratum"].to_numpy(np.int64)]]
    frame = restore_dtypes(kept.drop(columns=["__key"]), table.dtypes)
    frame = frame[[*table.columns, "__stratum"]].reset_index(drop=True)
    strata = strata.assign(__stratum=np.arange(len(strata)), population=population, sampled=wanted)
    return frame, strata


def _below_thresholds(query, wanted, population) -> pd.DataFrame:
    """The rows whose key is below their stratum's threshold, with ``__stratum`` and ``__key``.

    ``query(fraction)`` gives the rows whose key lies in the lowest ``fraction`` (per stratum)
    of the 64-bit range. The first fractions have a margin of ~5 standard deviations, so one
    scan almost always suffices; a stratum that still falls short is then read whole.
    """
    import numpy as np

    need = wanted.astype(float)
    fraction = np.minimum(1.0, (need + 5 * np.sqrt(need) + 20) / np.maximum(population, 1))
    rows = query(fraction)
    got = np.bincount(rows["__stratum"].to_numpy(np.int64), minlength=len(population))
    short = got < wanted
    if not short.any():
        return rows
    return query(np.where(short, 1.0, fraction))  # a whole stratum cannot fall short


def _duckdb_select(table, columns, counts, code_of_row, seed):
    """``query(fraction)`` of :func:`_below_thresholds` in DuckDB: strata and their thresholds
    joined from a registered table (unsigned keys)."""
    import numpy as np

    source, row_key, added = _row_key(table, seed, "hash")
    extra = "".join(f", {c}" for c in added)  # the added columns, left out by EXCLUDE
    keys = ", ".join(table.q(c) for c in columns)

    def query(fraction):
        limit = np.where(fraction >= 1, _MAX_KEY, np.floor(fraction * 2.0**64).astype(np.float64))
        limit = np.array([min(int(v), _MAX_KEY) for v in limit], dtype=np.uint64)
        if not columns:
            return table.query(
                f"SELECT * EXCLUDE (__dummy{extra}), 0 AS __stratum FROM (SELECT *, 0 AS "
                f"__dummy, {row_key} AS __key FROM {source}) WHERE __key <= "
                f"{int(limit[0])}::UBIGINT"
            )
        alloc = pd.DataFrame(
            {
                "__h": counts["__h"].to_numpy(np.uint64),
                "__stratum": code_of_row,
                "__limit": limit[code_of_row],
            }
        )
        table.connection.register("__raikit_alloc", alloc)
        return table.query(
            f"SELECT t.* EXCLUDE (__h{extra}), a.__stratum FROM (SELECT *, {row_key} AS "
            f"__key, hash({keys}) AS __h FROM {source}) t JOIN __raikit_alloc a "
            f"ON t.__h = a.__h WHERE t.__key <= a.__limit"
        )

    return query


def _spark_select(table, columns, counts, code_of_row, seed):
    """``query(fraction)`` of :func:`_below_thresholds` in Spark SQL: strata and thresholds as
    ``CASE`` expressions (signed keys). There is no window over a stratum's rows: its one
    partition would hold most of the table."""
    import numpy as np

    frame = _spark_positions(table.frame)
    if frame is not None:  # a file source: rows keyed by file and position, as in DuckDB
        source, extra = "{table}", ["__raikit_file", "__raikit_row"]
        row_key = f"xxhash64(concat('{seed}:', __raikit_file, ':', CAST(__raikit_row AS STRING)))"
    else:
        source, row_key, extra = _row_key(table, seed, "xxhash64")
    if columns:
        hashes = counts["__h"].to_numpy(np.int64)
        keys = ", ".join(table.q(c) for c in columns)
        cases = " ".join(
            f"WHEN {int(h)} THEN {int(c)}" for h, c in zip(hashes, code_of_row, strict=True)
        )
        stratum = f"CASE xxhash64({keys}) {cases} END"
    else:
        stratum, code_of_row = "0", np.zeros(1, dtype=np.int64)

    def query(fraction):
        # the lowest `fraction` of the signed range: keys up to -2^63 + fraction * 2^64
        limit = [_MAX_KEY >> 1 if f >= 1 else int(np.floor(f * 2.0**64)) - 2**63 for f in fraction]
        limits = " ".join(f"WHEN {int(c)} THEN {limit[c]}" for c in np.unique(code_of_row))
        rows = table.query(
            f"SELECT * FROM (SELECT *, {stratum} AS __stratum, {row_key} AS __key FROM {source}) "
            f"WHERE __key <= CASE __stratum {limits} END",
            frame=frame,
        )
        return rows.drop(columns=extra)

    return query


def _spark_positions(frame):
    """``frame`` with each row's file (``__raikit_file``) and position in it
    (``__raikit_row``), from Spark's ``_metadata`` of a file source; None where Spark has no
    such columns (a DataFrame built in memory, a join) or their names are taken."""
    import logging

    from pyspark.sql import functions as F

    if {"_metadata", "__raikit_file", "__raikit_row"} & set(frame.columns):
        return None
    logger = logging.getLogger("DataFrameQueryContextLogger")  # pyspark logs every miss
    disabled, logger.disabled = logger.disabled, True
    try:
        return frame.select(
            "*",
            F.col("_metadata.file_path").alias("__raikit_file"),
            F.col("_metadata.row_index").alias("__raikit_row"),
        )
    except Exception:  # AnalysisException: no file source under this DataFrame
        return None
    finally:
        logger.disabled = disabled


def _row_key(table, seed: int, hash_function: str) -> tuple[str, str, list[str]]:
    """``(source, key, added)``: the rows with a seeded hash unique to each row, for sampling.

    Rows are keyed so that equal rows (common: resampled or duplicated records) are drawn
    independently; keyed by their values alone, every copy of a row would be in the sample or
    out of it together, which is a cluster sample with the wrong variance (and, one stratum
    short, a scan of all its rows). Parquet rows read by DuckDB are keyed by their file and
    position in it (as are a Spark file source's rows, :func:`_spark_positions`); other rows
    (CSV, Spark DataFrames built otherwise) by their values and their number among their
    copies, which does not depend on the order the engine reads them in. ``added`` names the
    columns the source adds to the table's.
    """
    reserved = {"file_row_number", "__raikit_file"}
    everything = ", ".join(table.q(c) for c in table.columns)
    if hash_function == "hash" and table.format == "parquet" and not reserved & set(table.columns):
        source = table.relation[:-1] + ", file_row_number=true, filename='__raikit_file')"
        return (
            source,
            # one string per row, hashed whole: neighbouring row numbers give unrelated keys
            f"hash(concat('{seed}:', __raikit_file, ':', file_row_number))",
            sorted(reserved),
        )
    copy = "__raikit_copy"
    while copy in table.columns:
        copy += "_"
    numbered = (
        f"(SELECT *, ROW_NUMBER() OVER (PARTITION BY {everything} "
        f"ORDER BY {table.q(table.columns[0])}) AS {copy} FROM {{table}})"
    )
    key = f"{hash_function}({seed}, {everything}, {copy})"
    return numbered, key, [copy]


def _strata(table, columns: list[str], hash_function: str):
    """One GROUP BY over the strata columns: the combinations with their hash and row count,
    the strata (intersection labels, as in memory), each combination's stratum and the
    population of every stratum."""
    import numpy as np

    from raikit._grouping import MISSING, encode_groups

    keys = ", ".join(table.q(c) for c in columns)
    counts = table.query(
        f"SELECT {keys}, {hash_function}({keys}) AS __h, COUNT(*) AS __n FROM {{table}} "
        f"GROUP BY {keys}"
    )
    typed = restore_dtypes(counts, table.dtypes, columns)
    encoding = encode_groups(typed[columns], missing_group=MISSING)
    strata = encoding.intersection_labels[columns].reset_index(drop=True)
    code_of_row = encoding.intersection_codes
    population = np.bincount(
        code_of_row, weights=counts["__n"].to_numpy(float), minlength=len(strata)
    ).astype(np.int64)
    return counts, strata, code_of_row, population
