"""The one input object: a table and the roles of its columns."""

from __future__ import annotations

import difflib
import os
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from raikit._errors import ColumnError, DataError, FileFormatError, ParameterError
from raikit._grouping import MISSING, GroupEncoding, encode_groups, fill_missing
from raikit._schema import Schema, infer_column_schema

__all__ = ["EAGER_FILE_BYTES", "MATERIALIZE_LIMIT", "Dataset", "Groups", "read_table"]

# A lazy Dataset holding more rows than this refuses to load them into pandas (see materialize).
MATERIALIZE_LIMIT = 5_000_000
# A single file at most this large loads eagerly by default; larger files and globs stay lazy.
EAGER_FILE_BYTES = 64 * 1024 * 1024

_READERS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}


class Groups(NamedTuple):
    """Integer group code per row and the labels of each code."""

    codes: np.ndarray
    labels: pd.DataFrame


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a CSV, TSV or Parquet file (optionally ``.gz`` compressed) into a DataFrame.

    Raises
    ------
    FileFormatError
        When the file is missing, empty, corrupt, or of a format raikit does not read.
    """
    path = Path(path)
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in {".gz", ".bz2", ".zip", ".xz", ".zst"}:
        suffixes = suffixes[:-1]
    kind = _READERS.get(suffixes[-1] if suffixes else "")
    if kind is None:
        raise FileFormatError(
            f"Cannot read {str(path)!r}: unsupported file type {path.suffix or '(none)'!r}. "
            f"raikit reads .csv, .tsv and .parquet files (optionally .gz compressed); "
            f"convert the file or load it with pandas and pass the DataFrame."
        )
    if not path.exists():
        raise FileFormatError(f"File not found: {str(path)!r}. Check the path and try again.")
    try:
        if kind == "parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, sep="\t" if kind == "tsv" else ",", low_memory=False)
    except pd.errors.EmptyDataError as error:
        raise FileFormatError(
            f"File {str(path)!r} is empty: it has no header and no rows."
        ) from error
    except Exception as error:
        raise FileFormatError(
            f"Cannot read {str(path)!r} as {kind}: {type(error).__name__}: {error}. "
            f"The file may be corrupt or not really {kind}; open it to check."
        ) from error


def _is_spark_frame(data) -> bool:
    module = type(data).__module__
    return module.startswith("pyspark.sql") and type(data).__name__ == "DataFrame"


def _is_path_list(data) -> bool:
    """A non-empty list or tuple of paths (strings or ``Path`` objects)."""
    return (
        isinstance(data, list | tuple)
        and len(data) > 0
        and all(isinstance(d, str | os.PathLike) for d in data)
    )


def _check_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Validate and normalise an in-memory table (non-empty, string column names, unique)."""
    if frame.shape[1] == 0 or len(frame) == 0:
        raise DataError(
            f"The table is empty ({len(frame)} rows, {frame.shape[1]} columns); "
            f"raikit needs at least one row and the columns you name."
        )
    frame = frame.reset_index(drop=True)
    frame.columns = [str(c) for c in frame.columns]
    if frame.columns.duplicated().any():
        dupes = sorted(set(frame.columns[frame.columns.duplicated()]))
        raise DataError(f"Column names must be unique; duplicated: {dupes}. Rename them.")
    return frame


def _with_weights(strata: pd.DataFrame) -> pd.DataFrame:
    """The strata of a sample with each one's ``fraction`` (sampled / population) and ``weight``
    (population / sampled)."""
    strata = strata.copy()
    strata["fraction"] = strata["sampled"] / strata["population"]
    with np.errstate(divide="ignore"):
        strata["weight"] = strata["population"] / strata["sampled"]
    return strata


def allocate_sample(counts, n: int, min_per_group: int) -> np.ndarray:
    """Rows to draw from each stratum: ``min(min_per_group, size)`` each, the rest of ``n``
    shared in proportion to what each stratum has left (largest remainders), never more than
    a stratum holds.

    Examples
    --------
    >>> from raikit.dataset import allocate_sample
    >>> allocate_sample([9000, 900, 90, 10], 1000, min_per_group=50).tolist()
    [814, 123, 53, 10]
    """
    counts = np.asarray(counts, dtype=np.int64)
    base = np.minimum(counts, max(int(min_per_group), 0))
    room = counts - base
    rest = max(int(n) - int(base.sum()), 0)
    extra = np.zeros_like(counts)
    if rest and room.sum():
        if rest >= room.sum():
            extra = room
        else:
            share = rest * room / room.sum()
            extra = np.floor(share).astype(np.int64)
            left = rest - int(extra.sum())
            order = np.argsort(-(share - extra), kind="stable")[:left]
            extra[order] += 1
    return base + extra


def _is_name(value) -> bool:
    return isinstance(value, str | int | np.integer) and not isinstance(value, bool | np.bool_)


def _as_list(value: str | Sequence[str] | None, role: str = "columns") -> list[str]:
    """Column names from a name, a list of names or None (integers name columns ``"0"``...);
    anything else, or a name listed twice, is a :class:`ColumnError` that says what was given."""
    if value is None:
        return []
    if _is_name(value):
        return [str(value)]
    if isinstance(value, list | tuple | pd.Index | np.ndarray | pd.Series):
        items = list(value)
        if all(_is_name(v) for v in items):
            names = [str(v) for v in items]
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                raise ColumnError(f"{role} lists column(s) {twice} more than once; name each once.")
            return names
        bad = next(v for v in items if not _is_name(v))
        raise ColumnError(
            f"{role} must be column names (strings); it contains {bad!r} ({type(bad).__name__})."
        )
    raise ColumnError(
        f"{role} must be a column name or a list of column names, got {value!r} "
        f"({type(value).__name__})."
    )


def _as_name(value, role: str) -> str | None:
    if value is None:
        return None
    if not _is_name(value):
        raise ColumnError(
            f"{role} must be one column name, got {value!r} ({type(value).__name__})."
        )
    return str(value)


def _load(data, *, lazy: bool | None, name: str | None):
    """``(source, frame, table, name)`` of what a Dataset is made from: an in-memory ``frame``
    or a lazy ``table`` (DuckDB over files, Spark), never both."""
    from raikit._lazy import DuckDBTable, SparkTable, is_glob

    source = None
    frame = table = None
    if _is_path_list(data):  # several files (e.g. a glob the shell expanded): lazy
        if lazy is False:
            raise ParameterError(
                "Dataset(): several files are read lazily; drop lazy=False, or concatenate them first."
            )
        source = [str(p) for p in data]
        table = DuckDBTable(source)
        name = name or Path(source[0]).parent.name or "dataset"
    elif isinstance(data, str | os.PathLike):
        source = str(data)
        glob = is_glob(source)
        if lazy is None:
            lazy = glob or (os.path.isfile(source) and os.path.getsize(source) > EAGER_FILE_BYTES)
        if lazy:
            table = DuckDBTable(source)
        else:
            frame = DuckDBTable(source).to_pandas() if glob else read_table(data)
        stem = Path(source).name.split(".")[0]
        name = name or (Path(source).parent.name if glob else stem) or "dataset"
    elif _is_spark_frame(data):
        source = data
        table = SparkTable(data)
        if lazy is False:
            frame, table = table.to_pandas(), None
        name = name or "spark"
    elif lazy:
        raise ParameterError(
            "Dataset(): lazy=True needs a path, a glob or a Spark DataFrame; an in-memory DataFrame is "
            "already loaded. Drop lazy=True, or write the table to Parquet first."
        )
    elif type(data).__module__.startswith("polars"):
        frame = data.to_pandas()
    elif isinstance(data, pd.DataFrame):
        frame = data
    else:
        raise ParameterError(
            f"Dataset(): data must be a pandas or polars DataFrame or a path to a CSV/Parquet file (or a "
            f"glob of them), or a Spark DataFrame; got {type(data).__name__}."
        )
    return source, frame, table, name


class Dataset:
    """A table and the roles of its columns: target, sensitive attributes, features, predictions.

    Parameters
    ----------
    data : DataFrame, polars DataFrame, str, path or list of paths
        The table, or a path to a CSV, TSV or Parquet file (or a glob, or a list of files of
        one format, read lazily), or a Spark DataFrame.
    target : str or None
        Name of the label column. ``None`` is allowed for unlabelled data (e.g. production inputs).
    sensitive : str or list of str
        Names of the protected attributes (e.g. ``["sex", "race"]``).
    features : list of str, optional
        Model inputs. By default every column that is not the target, a sensitive attribute, the
        prediction or the score. Checks that predict with a fitted model use the model's own
        inputs instead (its ``feature_names_in_``; see :meth:`for_model`), sensitive attributes
        included when the model was trained on them; features named here take precedence and
        must then match the model's inputs.
    prediction : str, optional
        Column holding a model's predicted labels.
    score : str, optional
        Column holding a model's scores (probability of the positive class).
    weight : str, optional
        Column holding a non-negative weight per row (survey or sampling weights, MLClean's
        reweighing). Every aggregate honours it (:func:`raikit.metrics.group_metrics_of` passes
        it as ``sample_weight``); :meth:`replace`, :meth:`split`, :meth:`subset` and
        :meth:`sample` keep it (a sample multiplies it by its inverse sampling fraction).
    name : str, optional
        A name used in reports and the ledger.
    missing_group : str, optional
        Label for missing values in sensitive columns (e.g. ``"(missing)"``). By default a missing
        sensitive value is an error.
    lazy : bool, optional
        Keep the rows where they live instead of loading them into pandas. By default a glob
        (``"data/*.parquet"``), a Spark DataFrame and a single file larger than
        ``raikit.dataset.EAGER_FILE_BYTES`` (64 MB) are lazy; a smaller single file and in-memory frames are
        not. A lazy Dataset reads its schema from file metadata and the first 1,000 rows, counts
        its rows from Parquet footers (or one ``COUNT(*)``), and validates the sensitive columns
        with one aggregate query. ``profile``, ``drift`` and ``representation`` run on it as
        aggregate SQL; every other step loads the table on first use of :attr:`frame` (see
        :meth:`materialize`), or refuses above ``raikit.dataset.MATERIALIZE_LIMIT`` rows and suggests
        :meth:`sample`.

    See Also
    --------
    raikit.metrics.group_metrics_of : every metric per group of a Dataset.
    raikit.audit.audit : every check on a train and a test Dataset.

    Examples
    --------
    >>> import pandas as pd
    >>> from raikit import Dataset
    >>> frame = pd.DataFrame({"age": [25, 47, 33, 51], "sex": ["F", "M", "F", "M"],
    ...                       "race": ["A", "A", "B", "B"], "hired": [1, 0, 0, 1]})
    >>> ds = Dataset(frame, target="hired", sensitive=["sex", "race"])
    >>> list(ds.X.columns), ds.y.tolist()
    (['age'], [1, 0, 0, 1])
    >>> codes, labels = ds.groups()
    >>> codes.tolist()
    [0, 2, 1, 3]
    >>> labels["sex"].tolist(), labels["race"].tolist()
    (['F', 'F', 'M', 'M'], ['A', 'B', 'A', 'B'])
    """

    def __init__(
        self,
        data,
        *,
        target: str | None,
        sensitive: str | Sequence[str],
        features: Sequence[str] | None = None,
        prediction: str | None = None,
        score: str | None = None,
        weight: str | None = None,
        name: str | None = None,
        missing_group: str | None = None,
        lazy: bool | None = None,
    ) -> None:
        source, frame, table, name = _load(data, lazy=lazy, name=name)
        self._table = table
        self._cache: pd.DataFrame | None = None
        self.sampling: pd.DataFrame | None = None
        self._init_rows(frame, table, source)
        self.source = source
        if name is not None and not isinstance(name, str):
            raise ParameterError(
                f"Dataset(): name must be a string, got {name!r} ({type(name).__name__})."
            )
        if missing_group is not None and not isinstance(missing_group, str):
            raise ParameterError(
                f"Dataset(): missing_group must be a label (a string such as '(missing)'), got "
                f"{missing_group!r} ({type(missing_group).__name__})."
            )
        self.name = name or "dataset"
        target = _as_name(target, "target")
        prediction = _as_name(prediction, "prediction")
        score = _as_name(score, "score")
        weight = _as_name(weight, "weight")
        self.weight = weight
        self.target = target
        self.sensitive_names = _as_list(sensitive, "sensitive")
        self.prediction = prediction
        self.score = score
        self.missing_group = missing_group
        if not self.sensitive_names:
            raise ParameterError(
                "Dataset(): sensitive names no attribute. Pass sensitive='col' or sensitive=['a', 'b'] "
                "with the protected attributes whose groups raikit should compare."
            )
        for role, columns in (
            ("target", _as_list(target)),
            ("sensitive", self.sensitive_names),
            ("prediction", _as_list(prediction)),
            ("score", _as_list(score)),
            ("weight", _as_list(weight)),
            ("features", _as_list(features, "features")),
        ):
            for column in columns:
                self._check_column(column, role)
        if target is not None and target in self.sensitive_names:
            raise ColumnError(
                f"The target {target!r} is also listed as sensitive; a column has one role. "
                f"Remove it from sensitive=."
            )
        reserved = {c for c in (target, prediction, score, weight) if c is not None}
        if weight is not None and weight in (target, prediction, score, *self.sensitive_names):
            raise ColumnError(
                f"The weight column {weight!r} also has another role; a column has one role."
            )
        self.features_explicit = features is not None
        if features is None:
            excluded = reserved | set(self.sensitive_names)
            self.feature_names = [c for c in self.columns if c not in excluded]
        else:
            self.feature_names = _as_list(features, "features")
            named = (("target", target), ("prediction", prediction), ("score", score))
            for role, column in (*named, ("weight", weight)):
                if column is not None and column in self.feature_names:
                    raise ColumnError(
                        f"Column {column!r} is listed as a feature but was named as the {role}; "
                        f"a model must not see its own {role}. Remove it from the features."
                    )
        # Validate sensitive columns now so that bad data fails at construction, not deep in a check:
        # in memory by encoding them, lazily by one GROUP BY of the sensitive columns.
        if table is None:
            _ = self._encoding
            _ = self.weights
        else:
            _ = self.group_counts()

    def _init_rows(self, frame, table, source) -> None:
        """Row count and column names, from the frame or (lazily) from the table's metadata."""
        if table is None:
            frame = _check_frame(frame)
            self._cache = frame
            self._n_rows = len(frame)
            self.columns = list(frame.columns)
        else:
            self.columns = [str(c) for c in table.columns]
            if len(set(self.columns)) != len(self.columns):
                dupes = sorted({c for c in self.columns if self.columns.count(c) > 1})
                raise DataError(f"Column names must be unique; duplicated: {dupes}. Rename them.")
            self._n_rows = table.count()
            if self._n_rows == 0 or not self.columns:
                raise DataError(
                    f"The table {source if isinstance(source, str) else ''!s} is empty "
                    f"({self._n_rows} rows, {len(self.columns)} columns); raikit needs at "
                    f"least one row and the columns you name."
                )

    # ------------------------------------------------------------------ validation
    def _check_column(self, column: str, role: str) -> None:
        if column in self.columns:
            return
        close = difflib.get_close_matches(column, list(self.columns), n=3)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        available = list(self.columns)
        shown = available[:20] + (["..."] if len(available) > 20 else [])
        raise ColumnError(f"Unknown {role} column {column!r}.{hint} Available columns: {shown}.")

    # ------------------------------------------------------------------ data access
    @property
    def is_lazy(self) -> bool:
        """Whether the rows live in files or Spark rather than in a pandas DataFrame."""
        return self._table is not None

    @property
    def frame(self) -> pd.DataFrame:
        """The whole table (a lazy Dataset loads it on first access: see :meth:`materialize`)."""
        return self.materialize()

    @property
    def _frame(self) -> pd.DataFrame:
        return self.materialize()

    def materialize(
        self, purpose: str | None = None, *, max_rows: int | None = None
    ) -> pd.DataFrame:
        """The table as a pandas DataFrame, loaded once and cached.

        Every step that needs rows in memory (training, explanations, label issues, sliced
        evaluation, ...) goes through here via :attr:`frame`. A lazy Dataset larger than
        ``max_rows`` (default ``raikit.dataset.MATERIALIZE_LIMIT``, 5,000,000 rows) is refused with a
        :class:`DataError` that suggests :meth:`sample`.

        Parameters
        ----------
        purpose : str, optional
            What needs the rows, for the error message.
        max_rows : int, optional
            Raise the limit for this call (``0`` or a negative value: no limit).
        """
        if self._cache is not None:
            return self._cache
        limit = MATERIALIZE_LIMIT if max_rows is None else max_rows
        if limit > 0 and self._n_rows > limit:
            what = purpose or "This step"
            raise DataError(
                f"{what} needs the rows in memory, but the lazy dataset {self.name!r} has "
                f"{self._n_rows:,} rows (more than {limit:,}). Run it on a stratified sample "
                f"that keeps every group: ds.sample(1_000_000, stratify='sensitive'); or load "
                f"everything anyway with ds.materialize(max_rows=0). profile, drift and "
                f"representation run on the full lazy dataset without loading it."
            )
        frame = _check_frame(self._table.to_pandas())
        self._cache = frame
        return frame

    @property
    def n_rows(self) -> int:
        """Number of rows (from file metadata or a count for a lazy Dataset)."""
        return self._n_rows

    def __len__(self) -> int:
        return self._n_rows

    def __repr__(self) -> str:
        lazy = ", lazy=True" if self.is_lazy else ""
        return (
            f"Dataset(name={self.name!r}, rows={self.n_rows}, target={self.target!r}, "
            f"sensitive={self.sensitive_names}, features={len(self.feature_names)}{lazy})"
        )

    @property
    def dtypes(self) -> pd.Series:
        """The pandas dtype of each column (a lazy Dataset learns them from its first rows).

        Examples
        --------
        >>> import pandas as pd
        >>> from raikit import Dataset
        >>> frame = pd.DataFrame({"x": [1.5, 2.0], "s": ["a", "b"]})
        >>> Dataset(frame, target=None, sensitive="s").dtypes["x"]
        dtype('float64')
        """
        return self._table.dtypes if self._table is not None else self._frame.dtypes

    def _rows_for(
        self, n: int, purpose: str, random_state=None, *, stratify: str | None = None
    ) -> Dataset:
        """A Dataset whose rows are in memory, for a step that needs at most ``n`` of them.

        This one when there are at most ``n`` rows (a lazy one is loaded whatever
        ``MATERIALIZE_LIMIT``: the step needs them all). Above ``n``, without ``stratify``: this
        one when its rows are already loaded, else a uniform sample of ``n`` rows drawn where
        they live. With ``stratify="sensitive"``: always :meth:`sample` (in memory or where the
        rows live; ``random_state`` may be a Generator), so the sample, its ``weight`` role and
        its ``sampling`` record do not depend on where the rows live.
        """
        if self._n_rows <= n or (self._cache is not None and stratify is None):
            self.materialize(purpose, max_rows=0)
            return self
        if stratify is not None:
            return self.sample(n, stratify=stratify, random_state=random_state)
        if n <= 0:  # nothing will use the rows
            return self.replace(self._table.head)
        seed = random_state if isinstance(random_state, int | np.integer) else None
        return self.replace(self.sample(n, random_state=seed).frame)

    @property
    def table(self):
        """The lazy table (:class:`raikit._lazy.DuckDBTable` or ``SparkTable``), or ``None``."""
        return self._table

    def aggregate(self, *, by=None, stats: dict, weight: str | None = None) -> pd.DataFrame:
        """Statistics per group, computed where the rows live (pandas, DuckDB or Spark).

        Parameters
        ----------
        by : str, list of str or list of lists of str, optional
            The columns to group by; a list of lists gives several grouping sets at once (one
            scan of a lazy table), e.g. ``[["sex"], ["race"], []]`` (``[]``: all rows). None: one
            row for the whole table.
        stats : dict
            Output name -> ``(column, statistic)``; statistics are ``"count"`` (non-missing
            values; rows with column None), ``"sum"``, ``"sum_sq"`` (sum of squares), ``"mean"``,
            ``"var"`` (sample variance, ``ddof=1``, computed stably: two passes in memory,
            ``VAR_SAMP`` in SQL), ``"min"``, ``"max"``, ``"null_count"``, ``"distinct"``
            (distinct non-missing values, exact) and ``"approx_distinct"`` (the same, estimated
            by HyperLogLog on a lazy table, about 2 % relative error; exact in memory).
            Missing values (NaN too) are skipped; a group without values has count 0 and a
            NaN mean, variance, minimum and maximum.
        weight : str, optional
            A column of non-negative row weights: counts become sums of weights, sums weighted
            sums and ``mean`` the weighted mean ``sum(w * x) / sum(w)`` (integer weights give
            the numbers of the table with each row repeated that many times). ``var`` becomes
            the frequency-weighted sample variance ``sum(w (x - mean)^2) / (sum(w) - 1)`` (NaN
            where the weights sum to 1 or less: weights count rows, as survey expansion
            weights do). ``min``, ``max`` and ``distinct`` stay unweighted.
            The Dataset's ``weight`` role is not applied implicitly: pass ``weight=ds.weight``.

        Returns
        -------
        pandas.DataFrame
            One row per group: the ``by`` columns (missing in a row of a set without them), a
            ``grouping_set`` column (the index into ``by``) when ``by`` holds several sets, then
            the statistics. Rows are ordered by set, then by the group values.

        Raises
        ------
        ParameterError
            ``by`` or ``stats`` is malformed or names an unknown statistic.
        ColumnError
            A named column is not in the Dataset, or a sum asks for a non-numeric column.
        DataError
            The weight column holds missing, infinite or negative values.

        Examples
        --------
        >>> import pandas as pd
        >>> from raikit import Dataset
        >>> frame = pd.DataFrame({"s": ["a", "a", "b"], "x": [1.0, 3.0, None], "w": [1, 2, 1]})
        >>> ds = Dataset(frame, target=None, sensitive="s")
        >>> ds.aggregate(by=["s"], stats={"n": (None, "count"), "sx": ("x", "sum")})
           s  n   sx
        0  a  2  4.0
        1  b  1  0.0
        >>> ds.aggregate(by=[["s"], []], stats={"n": (None, "count")}, weight="w")
             s  grouping_set    n
        0    a             0  3.0
        1    b             0  1.0
        2  NaN             1  4.0
        >>> ds.aggregate(by="s", stats={"m": ("x", "mean"), "v": ("x", "var"),
        ...                             "d": ("x", "distinct")})
           s    m    v  d
        0  a  2.0  2.0  2
        1  b  NaN  NaN  0
        """
        from raikit._aggregate import aggregate

        return aggregate(self, by=by, stats=stats, weight=weight)

    def histogram(
        self,
        column: str,
        *,
        by=None,
        bins: int = 2048,
        range: tuple[float, float] | None = None,
        cuts: dict | None = None,
        weight: str | None = None,
        pieces: str = "auto",
        quantiles=None,
    ) -> pd.DataFrame:
        """Value-ordered pieces of a numeric column's non-missing values, per group.

        A piece is a run of values of one group that never straddles a bin or cut boundary,
        with its row count, weight and smallest and largest value. In memory every piece holds
        one distinct value (``lo == hi``), so everything computed from pieces (quantiles,
        distinct counts, KS, Wasserstein) is exact. A lazy Dataset (DuckDB, Spark) returns one
        piece per non-empty (group, cut, bin) from one ``GROUP BY GROUPING SETS`` query; an
        order statistic is then known within its piece's ``[lo, hi]``.
        ``result.attrs["exact"]`` says whether every piece holds one value,
        ``result.attrs["pieces"]`` how they were cut (``"values"``: one per distinct value;
        ``"bins"``: one per bin and cut) and ``result.attrs["range"]`` the ``(low, high)`` the
        bins span. With ``quantiles=``, ``result.attrs["quantiles"]`` holds per-group quantiles
        computed in the same pass, exact where the rows are at hand (in memory:
        ``attrs["exact_quantiles"]`` is True) and otherwise from the pieces, each with a
        guaranteed error bound.

        Parameters
        ----------
        column : str
            A numeric, boolean or datetime column (datetimes as nanoseconds, as floats).
        by : str, list of str or list of lists of str, optional
            Grouping sets, exactly as in :meth:`aggregate`.
        bins : int, default 2048
            Equal-width bins over ``range``: ``bin = min(floor(((v - low) / (high - low)) *
            bins), bins - 1)`` (0 when ``high == low``), evaluated in this float order by numpy
            and SQL alike, so both give the same bin to every value. Values outside ``range``
            fall in the first or last bin.
        range : (float, float), optional
            ``(low, high)`` spanned by the bins (e.g. the union of two samples, so that their
            bins coincide). Default: the column's minimum and maximum in this Dataset.
        cuts : dict, optional
            Name -> non-decreasing edges; each adds an integer column holding the number
            of edges ``<= value`` (``np.searchsorted(edges, value, side="right")``).
        weight : str, optional
            A column of non-negative row weights summed into ``n`` and applied to
            ``quantiles`` (the Dataset's ``weight`` role is not applied implicitly: pass
            ``weight=ds.weight``).
        pieces : {"auto", "bins"}, default "auto"
            ``"auto"``: the finest pieces the Dataset affords (one per distinct value in memory,
            one per bin and cut on a lazy table). ``"bins"``: one piece per non-empty (group,
            cut, bin) everywhere (a coarse histogram without millions of one-value pieces).
        quantiles : sequence of float, optional
            Probabilities in [0, 1] whose quantiles (linear interpolation as ``np.quantile``;
            with ``weight``, frequency-weighted: the position ``q (W - 1)`` in cumulative
            weight, so integer weights give the quantiles of the rows repeated that many
            times) are also computed per group, into ``result.attrs["quantiles"]``:
            the ``by`` columns, ``grouping_set`` (with several sets), ``quantile``, ``value`` and
            ``error``. In memory they are exact (``error`` 0) whatever ``pieces``; on a lazy
            table they come from the pieces, and the true quantile lies within ``error`` of
            ``value``.

        Returns
        -------
        pandas.DataFrame
            The ``by`` columns, ``grouping_set`` (with several sets), one column per cut,
            ``bin``, ``rows`` (int), ``n`` (weight sum; ``rows`` without weights), ``lo`` and
            ``hi``; sorted by set, group, bin and value. Groups without values have no piece.

        Raises
        ------
        ColumnError
            An unknown column or a column that holds no numbers. (A key column named like an
            output column, e.g. ``n`` or ``bin``, comes back under an alias, prefixed with
            underscores: ``result.attrs["keys"]`` maps each key to its column.)
        ParameterError
            ``bins``, ``range``, ``cuts`` or ``by`` is malformed.
        DataError
            The weight column holds missing, infinite or negative values.

        Examples
        --------
        >>> import pandas as pd
        >>> from raikit import Dataset
        >>> frame = pd.DataFrame({"s": ["a", "a", "a", "b"], "x": [1.0, 1.0, 4.0, 2.0]})
        >>> ds = Dataset(frame, target=None, sensitive="s")
        >>> ds.histogram("x", by="s", bins=3, cuts={"half": [2.5]})
           s  half  bin  rows    n   lo   hi
        0  a     0    0     2  2.0  1.0  1.0
        1  a     1    2     1  1.0  4.0  4.0
        2  b     0    1     1  1.0  2.0  2.0
        >>> ds.histogram("x", bins=3).attrs["exact"], ds.histogram("x").attrs["range"]
        (True, (1.0, 4.0))
        >>> coarse = ds.histogram("x", by="s", bins=1, pieces="bins", quantiles=[0.5])
        >>> coarse
           s  bin  rows    n   lo   hi
        0  a    0     3  3.0  1.0  4.0
        1  b    0     1  1.0  2.0  2.0
        >>> coarse.attrs["quantiles"]
           s  quantile  value  error
        0  a       0.5    1.0    0.0
        1  b       0.5    2.0    0.0
        """
        from raikit._aggregate import histogram

        return histogram(
            self,
            column,
            by=by,
            bins=bins,
            value_range=range,
            cuts=cuts,
            weight=weight,
            pieces=pieces,
            quantiles=quantiles,
        )

    def quantiles(self, column: str, qs, *, by=None) -> pd.DataFrame:
        """Exact quantiles of a numeric column per group, computed where the rows live.

        Linear interpolation between order statistics (numpy's default method): numpy in
        memory, ``QUANTILE_CONT`` in DuckDB, ``PERCENTILE`` in Spark. Unweighted; missing
        values (NaN too) are skipped.

        Parameters
        ----------
        column : str
            A numeric, boolean or datetime column (datetimes as nanoseconds, as floats).
        qs : float or sequence of float
            Probabilities in ``[0, 1]``.
        by : str, list of str or list of lists of str, optional
            Grouping sets, exactly as in :meth:`aggregate`.

        Returns
        -------
        pandas.DataFrame
            The ``by`` columns, ``grouping_set`` (with several sets), ``quantile`` (the
            probability) and ``value`` (NaN for a group without values); one row per group and
            probability.

        Raises
        ------
        ColumnError
            An unknown column or one that holds no numbers.
        ParameterError
            A probability outside ``[0, 1]`` or a malformed ``by``.

        Examples
        --------
        >>> import pandas as pd
        >>> from raikit import Dataset
        >>> frame = pd.DataFrame({"s": ["a", "a", "a", "b"], "x": [1.0, 2.0, 4.0, 2.0]})
        >>> ds = Dataset(frame, target=None, sensitive="s")
        >>> ds.quantiles("x", [0.5, 0.75], by="s")
           s  quantile  value
        0  a      0.50    2.0
        1  a      0.75    3.0
        2  b      0.50    2.0
        3  b      0.75    2.0
        """
        from raikit._aggregate import quantiles

        return quantiles(self, column, qs, by=by)

    def group_counts(self) -> pd.DataFrame:
        """Rows per observed combination of the sensitive attributes (one aggregate query for a
        lazy Dataset): columns = the sensitive attributes and ``count``.

        Missing sensitive values raise a :class:`DataError` unless ``missing_group`` is set, as
        at construction of an in-memory Dataset.
        """
        cached = getattr(self, "_group_counts", None)
        if cached is not None:
            return cached
        names = self.sensitive_names
        if self._table is None:
            encoding = self._encoding
            labels = encoding.intersection_labels[names].reset_index(drop=True)
            labels["count"] = np.bincount(
                encoding.intersection_codes, minlength=len(labels)
            ).astype(np.int64)
            self._group_counts = labels
            return labels
        table = self.aggregate(by=names, stats={"count": (None, "count")})
        for column in names:
            missing = table[column].isna()
            if missing.any() and self.missing_group is None:
                n = int(table.loc[missing, "count"].sum())
                raise DataError(
                    f"Sensitive attribute {column!r} has {n} missing value(s). Fill them, drop "
                    f"those rows, or pass missing_group='(missing)' to keep them as a group of "
                    f"their own."
                )
        encoding = encode_groups(table[names], missing_group=self.missing_group)
        counts = np.bincount(
            encoding.intersection_codes,
            weights=table["count"].to_numpy(float),
            minlength=len(encoding.intersection_labels),
        )
        labels = encoding.intersection_labels[names].reset_index(drop=True)
        labels["count"] = counts.astype(np.int64)
        self._lazy_encoding = encoding
        self._group_counts = labels
        return labels

    @property
    def X(self) -> pd.DataFrame:
        """The feature columns."""
        return self._frame[self.feature_names]

    @property
    def y(self) -> pd.Series:
        """The target column."""
        if self.target is None:
            raise DataError(
                f"Dataset {self.name!r} has no target; pass target='column' to use labels."
            )
        return self._frame[self.target]

    @property
    def sensitive(self) -> pd.DataFrame:
        """The sensitive attributes, one column each (missing values replaced by ``missing_group``)."""
        frame = self._frame[self.sensitive_names]
        if self.missing_group is not None and frame.isna().any().any():
            frame = frame.apply(fill_missing, label=self.missing_group)
        return frame

    @property
    def y_pred(self) -> pd.Series:
        """The prediction column."""
        if self.prediction is None:
            raise DataError(
                f"Dataset {self.name!r} has no prediction column; pass prediction='column' "
                f"or add a model's predictions with ds.with_predictions(model)."
            )
        return self._frame[self.prediction]

    @property
    def weights(self) -> np.ndarray | None:
        """The weight of each row as floats (``None`` without a ``weight`` column).

        Raises
        ------
        DataError
            When the column holds non-numbers, missing, infinite or negative values.

        Examples
        --------
        >>> import pandas as pd
        >>> from raikit import Dataset
        >>> frame = pd.DataFrame({"x": [1, 2], "s": ["a", "b"], "w": [0.5, 2]})
        >>> Dataset(frame, target=None, sensitive="s", weight="w").weights.tolist()
        [0.5, 2.0]
        """
        if self.weight is None:
            return None
        from raikit.metrics._group_metrics import weight_array

        try:
            return weight_array(
                self._frame[self.weight], self.n_rows, name=f"weight column {self.weight!r}"
            )
        except DataError as error:
            raise DataError(f"Dataset {self.name!r}: {error}") from None

    @property
    def y_score(self) -> pd.Series | None:
        """The score column, or ``None``."""
        return None if self.score is None else self._frame[self.score]

    @cached_property
    def schema(self) -> Schema:
        """The inferred :class:`~raikit._schema.Schema` of every column (computed once)."""
        columns = tuple(infer_column_schema(c, self._frame[c]) for c in self._frame.columns)
        return Schema(columns=columns, n_rows=self.n_rows, roles=self.roles)

    @property
    def roles(self) -> dict:
        """The columns of each role: target, sensitive, features, prediction, score (no rows read).

        Examples
        --------
        >>> import pandas as pd
        >>> from raikit import Dataset
        >>> frame = pd.DataFrame({"x": [1, 2], "s": ["a", "b"], "y": [0, 1]})
        >>> Dataset(frame, target="y", sensitive="s").roles["features"]
        ['x']
        """
        return {
            "target": self.target,
            "sensitive": self.sensitive_names,
            "features": self.feature_names,
            "prediction": self.prediction,
            "score": self.score,
            "weight": self.weight,
        }

    @property
    def group_encoding(self) -> GroupEncoding:
        """The groups of the sensitive attributes: each attribute's levels and the observed
        intersections, wherever the rows live.

        In memory its codes are per row; for a lazy Dataset it comes from one aggregate query
        (:meth:`group_counts`) and its codes are per observed combination. Either way
        ``labels()`` and ``codes_of()`` map aggregated tables to groups.

        Examples
        --------
        >>> import pandas as pd
        >>> from raikit import Dataset
        >>> frame = pd.DataFrame({"sex": ["F", "M", "F"], "y": [1, 0, 1]})
        >>> Dataset(frame, target="y", sensitive="sex").group_encoding.labels(0)
        ['F', 'M']
        """
        if self._table is None:
            return self._encoding
        self.group_counts()
        return self._lazy_encoding

    @cached_property
    def _encoding(self) -> GroupEncoding:
        return encode_groups(self._frame[self.sensitive_names], missing_group=self.missing_group)

    @property
    def task(self) -> str:
        """``"binary"``, ``"multiclass"`` or ``"regression"``, inferred from the target by the one
        rule of :func:`raikit.metrics.infer_task` (regression: numbers with fractional values or
        more than 20 distinct values).

        Examples
        --------
        >>> import pandas as pd
        >>> from raikit import Dataset
        >>> Dataset(pd.DataFrame({"y": [0.5, 1.5, 2.25], "s": list("abb")}), target="y",
        ...         sensitive="s").task
        'regression'
        """
        from raikit.metrics._task import infer_task

        return infer_task(self.target_values())[0]

    def target_values(self) -> pd.Series:
        """The target's values, as many as :func:`raikit.metrics.infer_task` needs: every row in
        memory; of a lazy Dataset its distinct values, at most 21, read where the rows live (more
        than 20 distinct numbers already make a regression target).

        Examples
        --------
        >>> import pandas as pd
        >>> from raikit import Dataset
        >>> Dataset(pd.DataFrame({"y": [1, 0, 1], "s": list("abb")}), target="y",
        ...         sensitive="s").target_values().tolist()
        [1, 0, 1]
        """
        if self.target is None:
            raise DataError(f"The dataset {self.name!r} has no target; pass target=.")
        if not self.is_lazy:
            return self.y.reset_index(drop=True)
        name = self._table.q(self.target)
        values = self._table.query(f"SELECT DISTINCT {name} AS v FROM {{table}} LIMIT 21")["v"]
        return values.reset_index(drop=True)

    def check_binary_target(self) -> None:
        """Raise a :class:`DataError` unless the target has exactly two values."""
        values = self.y.dropna().unique()
        if len(values) != 2:
            shown = sorted(map(str, values))[:10]
            raise DataError(
                f"This check needs a binary target but {self.target!r} has {len(values)} distinct "
                f"value(s): {shown}. Map it to 0/1 first (e.g. df[col] = (df[col] == 'yes'))."
            )

    def groups(self, intersectional: bool = True, *, attribute: str | None = None) -> Groups:
        """Integer group code per row, and the table of group labels.

        Parameters
        ----------
        intersectional : bool, default True
            Code the intersection of every sensitive attribute (``sex & race``). With ``False``, code
            one attribute: the only one, or the one named by ``attribute``.
        attribute : str, optional
            The sensitive attribute to code alone.

        Returns
        -------
        Groups
            ``codes`` (``int64`` array, one per row) and ``labels`` (DataFrame indexed by code).
        """
        encoding = self._encoding
        if attribute is None and intersectional:
            labels = encoding.intersection_labels[encoding.names].copy()
            labels.index.name = "group"
            return Groups(encoding.intersection_codes, labels)
        if attribute is None:
            if len(encoding.names) > 1:
                raise ParameterError(
                    f"Dataset.groups(): intersectional=False needs one attribute; this dataset has "
                    f"{encoding.names}. Pass attribute='{encoding.names[0]}'."
                )
            attribute = encoding.names[0]
        if attribute not in encoding.names:
            raise ColumnError(
                f"{attribute!r} is not a sensitive attribute of this dataset; "
                f"choose one of {encoding.names}."
            )
        i = encoding.names.index(attribute)
        labels = pd.DataFrame({attribute: encoding.levels[i]})
        labels.index.name = "group"
        return Groups(encoding.codes[i], labels)

    # ------------------------------------------------------------------ derived datasets
    def replace(self, frame: pd.DataFrame | None = None, **changes) -> Dataset:
        """A new Dataset with another table and/or other roles (``target``, ``sensitive``,
        ``features``, ``prediction``, ``score``, ``name``, ``missing_group``).

        Without ``frame``, a lazy Dataset stays lazy (the same files or Spark DataFrame).

        Examples
        --------
        >>> from raikit.datasets import load_german_credit
        >>> ds = load_german_credit().replace(features=["duration_months", "age"])
        >>> list(ds.X.columns)
        ['duration_months', 'age']
        """
        params = {
            **self.roles,
            "name": self.name,
            "missing_group": self.missing_group,
        }
        if not self.features_explicit:  # default features follow the new frame and roles
            params["features"] = None
        params.update(changes)
        if frame is None and self.is_lazy:  # new roles over the same files: still lazy
            return Dataset(self.source, lazy=True, **params)
        return Dataset(self._frame if frame is None else frame, **params)

    def subset(self, rows) -> Dataset:
        """A new Dataset with the rows selected by a boolean mask or integer positions."""
        return self.replace(
            self._frame.iloc[np.asarray(rows)]
            if np.asarray(rows).dtype != bool
            else self._frame.loc[np.asarray(rows)]
        )

    def sample(
        self,
        n: int,
        *,
        stratify: str | Sequence[str] | None = None,
        min_per_group: int = 30,
        random_state: int | None = None,
    ) -> Dataset:
        """An in-memory Dataset of about ``n`` rows that keeps every small group.

        Each stratum (a combination of the ``stratify`` columns) gets at least
        ``min(min_per_group, its size)`` rows; the rest of ``n`` is shared in proportion to the
        strata's remaining sizes (see ``raikit.dataset.allocate_sample``). The sample has more than ``n``
        rows only when the minimums alone need more. Rows within a stratum are drawn uniformly
        without replacement. A lazy Dataset is sampled where it lives (DuckDB: one scan that keeps
        the rows whose seeded hash falls under a per-stratum threshold; no row outside the sample
        is loaded).

        The returned Dataset records how it was drawn: ``sampling`` (one row per stratum:
        ``population``, ``sampled``, ``fraction`` and ``weight`` = population / sampled), and its
        ``weight`` role holds each row's weight (its stratum's ``weight``, times the row's own
        weight when this Dataset has one), so every aggregate is re-weighted to the population.

        Parameters
        ----------
        n : int
            Rows wanted.
        stratify : None, "sensitive", str or list of str
            ``None``: a plain uniform sample; ``"sensitive"``: the intersection of the sensitive
            attributes; column names: those columns (missing values form their own stratum).
        min_per_group : int, default 30
            Rows kept from every stratum (all of them when it is smaller); ignored without
            ``stratify``.
        random_state : int, optional
            Seed; the same seed on the same data draws the same rows.

        Examples
        --------
        >>> from raikit.datasets import load_compas
        >>> ds = load_compas()
        >>> small = ds.sample(300, stratify="sensitive", min_per_group=10, random_state=0)
        >>> len(small), int(small.sampling["sampled"].min())
        (300, 2)
        >>> asian = small.sampling[small.sampling["race"] == "Asian"]
        >>> asian[["sex", "population", "sampled", "weight"]].values.tolist()
        [['Female', 2, 2, 1.0], ['Male', 29, 11, 2.6363636363636362]]
        """
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
            raise ParameterError(
                f"Dataset.sample(): n must be a positive number of rows, got {n!r}."
            )
        columns, min_per_group, seed = self._sample_strata(stratify, min_per_group, random_state)
        if self.is_lazy:
            from raikit._lazy import sample_table

            frame, strata = sample_table(
                self._table, columns, n, min_per_group=min_per_group, seed=seed
            )
        else:
            keep, codes, strata = self._sampled_positions(columns, n, min_per_group, seed)
            frame = self._frame.iloc[keep].copy()
            frame["__stratum"] = codes
        strata = _with_weights(strata)
        codes = frame.pop("__stratum").to_numpy()
        frame = frame.reset_index(drop=True)
        row_weight = strata["weight"].to_numpy()[codes]
        if self.weight is not None:
            column = self.weight
            row_weight = row_weight * frame[column].to_numpy(float)
        else:
            column = self._free_name("sample_weight", None)
        frame[column] = row_weight
        out = self.replace(frame, weight=column)
        out.sampling = strata.drop(columns=["__stratum"]).reset_index(drop=True)
        return out

    def _sample_strata(self, stratify, min_per_group, random_state) -> tuple[list, int, int]:
        """``(columns, min_per_group, seed)`` of :meth:`sample` (``stratify`` and
        ``random_state`` as it takes them), validated."""
        if isinstance(min_per_group, bool) or not isinstance(min_per_group, int | np.integer):
            raise ParameterError(
                f"Dataset.sample(): min_per_group must be an integer, got {min_per_group!r}."
            )
        if stratify is None:
            columns: list[str] = []
        elif isinstance(stratify, str) and stratify == "sensitive":
            columns = list(self.sensitive_names)
        else:
            columns = _as_list(stratify)
            for column in columns:
                self._check_column(column, "stratify")
        if not columns:
            min_per_group = 0  # one stratum: a minimum would only inflate n
        seed = (
            int(np.random.default_rng(random_state).integers(2**31 - 1))
            if random_state is None or not isinstance(random_state, int | np.integer)
            else int(random_state)
        )
        return columns, min_per_group, seed

    def _sample_positions(
        self, n: int, *, stratify, min_per_group: int = 30, random_state=None
    ) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
        """The rows :meth:`sample` draws from an in-memory Dataset, without copying them:
        ``(positions, stratum weight of each, sampling record)`` (positions sorted; the same
        rows, weights and record as ``sample(...)`` with the same arguments, the Dataset's own
        weights left out)."""
        columns, min_per_group, seed = self._sample_strata(stratify, min_per_group, random_state)
        keep, codes, strata = self._sampled_positions(columns, n, min_per_group, seed)
        strata = _with_weights(strata)
        weights = strata["weight"].to_numpy(dtype=float)[codes]
        return keep, weights, strata.drop(columns=["__stratum"]).reset_index(drop=True)

    def _sampled_positions(self, columns, n, min_per_group, seed):
        """Sorted positions of the sampled rows, each one's stratum, and the strata."""
        frame = self._frame
        if columns:
            encoding = encode_groups(frame[columns], missing_group=self.missing_group or MISSING)
            codes = encoding.intersection_codes
            strata = encoding.intersection_labels[columns].reset_index(drop=True)
        else:
            codes = np.zeros(len(frame), dtype=np.int64)
            strata = pd.DataFrame(index=[0])
        population = np.bincount(codes, minlength=len(strata))
        wanted = allocate_sample(population, n, min_per_group)
        keys = np.random.default_rng(seed).random(len(frame))
        order = np.lexsort((keys, codes))  # by stratum, then random key
        starts = np.cumsum(population) - population
        rank = np.empty(len(frame), dtype=np.int64)
        rank[order] = np.arange(len(frame)) - starts[codes[order]]
        keep = np.flatnonzero(rank < wanted[codes])
        strata = strata.assign(
            __stratum=np.arange(len(strata)), population=population, sampled=wanted
        )
        return keep, codes[keep], strata

    def for_model(self, model) -> Dataset:
        """This Dataset with the fitted ``model``'s inputs as its features.

        The features are, in order of precedence: those named explicitly (``features=``), the
        model's ``feature_names_in_`` (also through a Pipeline's first step), else every column
        without a role. Sensitive attributes are inputs when the model was trained on them (see
        :attr:`sensitive_inputs`). Every check that predicts with a model goes through here.

        Raises
        ------
        ColumnError
            When the model needs columns the data lacks, when the features named explicitly are
            not the model's inputs, or when a model input is the target, prediction or score.

        Examples
        --------
        >>> import pandas as pd
        >>> from sklearn.linear_model import LogisticRegression
        >>> from raikit import Dataset
        >>> frame = pd.DataFrame({"age": [25, 47, 33, 51], "sex": [0, 1, 0, 1], "y": [1, 0, 0, 1]})
        >>> model = LogisticRegression().fit(frame[["age", "sex"]], frame["y"])
        >>> ds = Dataset(frame, target="y", sensitive="sex")
        >>> list(ds.X.columns), list(ds.for_model(model).X.columns)
        (['age'], ['age', 'sex'])
        >>> ds.for_model(model).sensitive_inputs
        ['sex']
        """
        import copy

        from raikit._features import resolve_features

        names = resolve_features(model, self)
        if names == self.feature_names:
            return self
        out = copy.copy(self)
        out.feature_names = names
        out.features_explicit = True
        out.__dict__.pop("schema", None)  # its roles changed
        return out

    @property
    def sensitive_inputs(self) -> list[str]:
        """The sensitive attributes that are also features (model inputs).

        Examples
        --------
        >>> import pandas as pd
        >>> from raikit import Dataset
        >>> frame = pd.DataFrame({"x": [1, 2], "s": ["a", "b"], "y": [0, 1]})
        >>> Dataset(frame, target="y", sensitive="s", features=["x", "s"]).sensitive_inputs
        ['s']
        """
        return [c for c in self.sensitive_names if c in self.feature_names]

    def _free_name(self, name: str, role: str | None) -> str:
        """``name`` if no column holds it (or it is this Dataset's column of the same role), else
        ``name_1``, ``name_2``, ...: a column added by raikit never overwrites one of the user's."""
        taken = set(self.columns) - {role}
        candidate, i = name, 0
        while candidate in taken:
            i += 1
            candidate = f"{name}_{i}"
        return candidate

    def with_predictions(
        self,
        model,
        *,
        prediction: str = "prediction",
        score: str | None = "score",
        pos_label=None,
        out=None,
        progress=None,
    ) -> Dataset:
        """A new Dataset with a fitted model's predictions (and scores, when it has
        ``predict_proba`` and the target is binary) added as columns.

        The score is the probability of the positive label: ``pos_label``, or inferred for
        0/1, False/True and -1/1 classes. When it is neither given nor inferable, no score column
        is added (the probability of an arbitrary class is never taken as the score).

        The model gets its own inputs (:meth:`for_model`); the returned Dataset keeps them as its
        features. The new columns are named ``prediction`` and ``score``, or ``prediction_1``,
        ``score_1``... when the table already has a column of that name that is not its
        prediction (or score): a model input called ``score`` is never overwritten.
        Models whose ``predict`` takes ``sensitive_features`` (Fairlearn's post-processing) get the
        sensitive attributes; randomised ones get ``random_state=0`` so the result is repeatable.
        Inputs the model learned as pandas categories (LightGBM, HistGradientBoosting with
        ``categorical_features="from_dtype"``) that arrive as strings (CSV files, Spark) are
        given back those categories first.

        The model is called on at most ``raikit._predict.BATCH_ROWS`` (100,000) rows at a time. A
        lazy Dataset is never loaded: its rows stream through the model batch by batch (Spark:
        ``mapInPandas`` on each partition) and are written, with the two new columns, to the
        Parquet file ``out``; the returned Dataset is lazy over that file.

        Parameters
        ----------
        model : fitted estimator
            Anything with ``predict`` (and ``predict_proba`` for the score).
        prediction, score : str
            Names of the new columns (``score=None``: no score).
        pos_label : optional
            The positive label, whose probability is the score.
        out : str or Path, optional
            Lazy Datasets only: the Parquet file (a folder for Spark) the scored rows are
            written to, under a temporary name renamed when every row is scored; default a
            temporary file removed when Python exits. A model that fails on a batch raises a
            :class:`DataError` naming the rows and leaves ``out`` as it was.
        progress : callable, optional
            Lazy Datasets only: ``progress(rows_done, rows_total)`` after each batch.

        Returns
        -------
        Dataset

        Examples
        --------
        >>> import pandas as pd
        >>> from sklearn.linear_model import LogisticRegression
        >>> from raikit import Dataset
        >>> frame = pd.DataFrame({"score": [300, 700, 350, 720], "sex": ["F", "M", "M", "F"],
        ...                       "y": [0, 1, 0, 1]})
        >>> model = LogisticRegression().fit(frame[["score"]], frame["y"])
        >>> scored = Dataset(frame, target="y", sensitive="sex").with_predictions(model)
        >>> scored.prediction, scored.score, scored.feature_names
        ('prediction', 'score_1', ['score'])
        >>> scored.y_pred.tolist()
        [0, 1, 0, 1]
        """
        from raikit._predict import model_outputs, positive_index

        base = self.for_model(model)
        prediction = base._free_name(prediction, base.prediction)
        if score is not None:
            score = base._free_name(score, base.score)
        column = None if score is None else positive_index(model, pos_label)
        if base.is_lazy:
            return base._predicted_lazy(model, prediction, score, column, out, progress)
        # a shallow copy: the two new columns are the copy's alone, the rest is shared
        frame = base._frame.copy(deep=False)
        predicted, scores = model_outputs(model, base.X, base.sensitive, column=column)
        frame[prediction] = predicted
        if scores is not None:
            frame[score] = scores
        else:
            score = None
        return base.replace(frame, prediction=prediction, score=score, features=base.feature_names)

    def _predicted_lazy(self, model, prediction, score, column, out, progress) -> Dataset:
        """:meth:`with_predictions` of a lazy Dataset: streamed to Parquet, returned lazy."""
        from raikit._predict import predict_lazy, predictions_folder

        if out is None:
            out = predictions_folder() / f"{self.name}.parquet"
        else:
            Path(out).parent.mkdir(parents=True, exist_ok=True)
        source, score = predict_lazy(
            self,
            model,
            prediction=prediction,
            score=score,
            column=column,
            path=out,
            progress=progress,
        )
        params = {**self.roles, "name": self.name, "missing_group": self.missing_group}
        params.update(prediction=prediction, score=score, features=self.feature_names)
        return Dataset(source, lazy=True, **params)

    def split(
        self,
        test_size: float = 0.25,
        *,
        stratify: bool | str | Sequence[str] = True,
        random_state: int | None = None,
    ) -> tuple[Dataset, Dataset]:
        """Split into train and test Datasets, stratified by target and sensitive attributes.

        Parameters
        ----------
        test_size : float, default 0.25
            Share of rows in the test set.
        stratify : bool, str or list of str, default True
            ``True``: keep the share of every (sensitive group x label) cell; a column name or
            list of names: stratify by those columns; ``False``: a plain random split.
        random_state : int, optional
            Seed.

        Strata that are too small to appear on both sides (fewer than 2 rows) are merged into one
        stratum so that the split never fails on a rare group.

        Examples
        --------
        >>> import pandas as pd
        >>> from raikit import Dataset
        >>> frame = pd.DataFrame({"x": range(100), "s": ["a", "b"] * 50, "y": [0, 0, 1, 1] * 25})
        >>> train, test = Dataset(frame, target="y", sensitive="s").split(0.2, random_state=0)
        >>> len(train), len(test), test.frame.groupby(["s", "y"]).size().tolist()
        (80, 20, [5, 5, 5, 5])
        """
        from sklearn.model_selection import train_test_split

        if not 0 < test_size < 1:
            raise ParameterError(
                f"Dataset.split(): test_size must be between 0 and 1, got {test_size}."
            )
        strata = codes = None
        if stratify is True:
            codes = self._encoding.intersection_codes
            if self.target is not None:
                y_codes = pd.factorize(self.y)[0]
                codes = codes * (y_codes.max() + 2) + y_codes + 1
        elif stratify:
            columns = _as_list(stratify)
            for column in columns:
                self._check_column(column, "stratify")
            codes = encode_groups(self._frame[columns], missing_group=MISSING).intersection_codes
        if codes is not None:
            dense = pd.factorize(codes)[0]
            rare = np.bincount(dense)[dense] < 2
            strata = np.where(rare, -1, codes)
            if (strata == -1).sum() == 1:  # a lone rare row cannot be its own stratum
                strata[strata == -1] = strata[strata != -1][0] if (strata != -1).any() else -1
        train_idx, test_idx = train_test_split(
            np.arange(self.n_rows), test_size=test_size, stratify=strata, random_state=random_state
        )
        return (
            self.replace(self._frame.iloc[np.sort(train_idx)]),
            self.replace(self._frame.iloc[np.sort(test_idx)]),
        )
