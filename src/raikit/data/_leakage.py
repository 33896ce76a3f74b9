"""``leakage``: does the test data leak into training, or a feature into the target?

Five integrity checks of a train/test split, each reported as a table and as findings:

1. **Exact duplicates.** Every row is keyed by its values in the compared columns (the Dataset's
   features unless ``columns=`` says otherwise; missing equals missing). A test row whose key
   occurs in the training data is a duplicate across the split. The keys are integer group ids
   built column by column from one joint factorisation of both tables, so there are no hash
   collisions and nothing loops over rows.
2. **Near duplicates.** Text and categories are normalised (stripped, case-folded) and must match,
   as must which numeric values are missing; numeric values must each differ by at most
   ``duplicate_tolerance`` training standard deviations (a Chebyshev radius, the rule of
   :func:`raikit.data.clean`). One KD-tree of the training rows answers a radius count for every
   test row (fast even with fifty numeric columns because the radius is tiny; a k-nearest-neighbour
   search would not be). The table counts the near duplicates that are not exact ones.
   Limits: the rule needs every categorical value to match exactly after normalisation (a typo is
   not caught) and uses one tolerance for every numeric column.
3. **Conflicting labels.** Identical rows (exact keys) with different targets: within the training
   data, within the test data, and test rows whose duplicate in the training data carries another
   label.
4. **Single features that predict the target almost perfectly.** Each feature is binned (20
   quantile bins, or its categories; missing values a bin of their own) and the target's
   distribution per bin, learned on the other folds, scores the held-out fold (``cv`` folds): the
   cross-fitted ROC AUC of this one-feature model (one-vs-rest macro average for a multiclass
   target; for a numeric target, telling rows above its median from those below). Its interval
   resamples the rows (a multinomial draw over the (fold, bin, label) cells, the predictions
   held fixed). Columns with a distinct value in every row (integers or text) are reported as
   identifiers apart.
5. **Train/test mismatch.** A classifier asked to tell test rows from training rows
   (the domain classifier of :func:`raikit.data.multivariate_drift`, whole population): an AUC
   near 0.5 means the two look alike; the columns that tell them apart are named.

Whether a duplicate share is more than chance is judged against the training data's own
repetition: the share of training rows with a twin among the other training rows (what a test row
drawn from the same rows would show). A share of test rows is flagged when its lower confidence
bound exceeds the baseline's upper bound, and exact copies whenever no training row has an exact
twin (identical rows then do not arise by chance; a coarse feature space, where they do, repeats
training rows too).

The counts (1-3) read every row; 4 and 5 read at most ``max_rows`` rows of each table (a uniform
sample beyond).

Cost: linear in rows. Every column is factorised once and the codes of a row are combined into
one integer (a mixed-radix number, re-densified only before it could overflow): one hash
factorisation of the rows, exact, with no collisions. The near-duplicate tree holds each distinct
training row once, and each distinct test row that is no exact duplicate asks it once. On a
million training and a million test rows (Adult resampled) the check takes seconds.

**Lazy Datasets** (Parquet/CSV files read by DuckDB, Spark DataFrames) are never loaded. Exact
duplicates, the chance baseline and conflicting labels are computed from every row where the
rows live: one SQL window over both tables partitioned by the compared columns (exact equality,
missing equals missing: no hash), then one ``GROUP BY`` per side and sensitive group. The same
counts as in memory. The parts that need rows run on a sample of ``max_rows`` rows of each side,
drawn where the rows live and stratified by the sensitive groups (:meth:`raikit.Dataset.sample`):
near duplicates are counted between the two samples (a test row counts when the training sample
holds a row within the tolerance: with a sample of the training rows this is a lower bound of
the full-data share, judged against the training sample's own twins), the one-feature models
weight each row by its stratum (intervals from the effective number of rows, Kish) and the
mismatch classifier samples as :func:`raikit.data.multivariate_drift` does. ``meta["sampling"]``
records the samples and the summary says so. ``examples`` is empty on a lazy table (row
positions are those of the files, which a sample does not keep).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from raikit._errors import ColumnError, DataError
from raikit._recording import recorded
from raikit._result import Finding, Result
from raikit._validation import CI, RANDOM_STATE, Interval, check_dataset, rng_from, validate_params
from raikit.data._common import column_kind, encode_sensitive, families

__all__ = ["LeakageResult", "leakage"]

_MAX_EXAMPLES = 10  # pairs of rows shown per kind of problem
_MIN_ID_ROWS = 20  # a column is called an identifier only with at least this many rows
_MISMATCH_WARN = 0.6  # lower bound of the mismatch AUC from which the split is a warning
_MISMATCH_ERROR = 0.8  # ... and an error
_ERROR_SHARE = 0.01  # duplicates of at least this share of the test rows (lower bound) are errors
_CONFLICT_SHARE = 0.01  # conflicting labels on at least this share of the rows are a warning


# --------------------------------------------------------------------------- the result
@dataclass(frozen=True, eq=False)
class LeakageResult(Result):
    """Leakage and integrity of a train/test split.

    Attributes
    ----------
    duplicates : DataFrame
        One row per (kind, attribute, group) of the test data: ``kind`` (``"exact"`` or
        ``"near"``: a near duplicate and no exact one), ``rows`` (test rows), ``duplicated``
        (test rows with such a duplicate in the training data), ``share`` with its Wilson interval
        ``lower``/``upper``, ``expected`` (the share of training rows with such a twin among
        the other training rows: what chance alone gives) and its upper bound
        ``expected_upper``. Attribute and group ``"overall"`` is the
        whole test set; then each sensitive attribute and their intersection.
    conflicts : DataFrame
        One row per scope (``"train"``, ``"test"``, ``"across"``): ``feature_rows`` (distinct
        rows whose copies carry different labels), ``rows`` (the rows involved: for
        ``"across"``, test rows whose duplicate in the training data has another label) and
        ``share`` of the scope's labelled rows.
    features : DataFrame
        One row per compared column: ``feature``, ``kind``, ``distinct`` (values in the
        training rows), ``id_like`` (a distinct value in every row), ``auc`` of the one-feature
        model with ``lower``/``upper``, ``normalized_mi`` (share of the target's entropy the
        binned feature explains) and ``n`` (rows used).
    mismatch : DataFrame
        One row: the cross-fitted ``auc`` of telling test rows from training rows, its
        ``lower``/``upper`` bounds (DeLong), its one-sided ``p_value``, the rows used from each
        side, and ``separating``: up to three columns whose shuffling costs the classifier
        most AUC (comma-separated; empty when none does).
    examples : DataFrame
        Up to ten pairs per kind (``exact``, ``near``, ``conflict``): ``test_row`` and
        ``train_row`` (0-based positions in each table) and the Chebyshev ``distance`` in
        training standard deviations. Positions only: no values of the rows.
    findings : tuple of Finding
    meta : dict
        Settings and the columns compared; ``sampling`` (lazy Datasets, else ``None``): which
        parts read a sample, and per side the rows ``sampled`` of the ``population`` with the
        per-stratum record of :meth:`raikit.Dataset.sample`.

    See Also
    --------
    leakage : computes it.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from raikit import Dataset
    >>> from raikit.data import leakage
    >>> rng = np.random.default_rng(0)
    >>> frame = pd.DataFrame({"x": rng.normal(size=200), "s": rng.choice(["a", "b"], 200)})
    >>> frame["y"] = (frame["x"] > 0).astype(int)
    >>> train = Dataset(frame.iloc[:150], target="y", sensitive="s")
    >>> test = Dataset(frame.iloc[140:], target="y", sensitive="s")  # ten rows in both
    >>> r = leakage(train=train, test=test, n_boot=50, random_state=0)
    >>> r.duplicates.query("kind == 'exact' and attribute == 'overall'")["duplicated"].item()
    10
    """

    duplicates: pd.DataFrame
    conflicts: pd.DataFrame
    features: pd.DataFrame
    mismatch: pd.DataFrame
    examples: pd.DataFrame
    findings: tuple = ()
    meta: dict = field(default_factory=dict)

    @property
    def summary(self) -> str:
        overall = self.duplicates[self.duplicates["attribute"] == "overall"].set_index("kind")
        parts = []
        if "exact" in overall.index:
            exact = overall.loc["exact"]
            parts.append(
                f"{int(exact['duplicated']):,} of {int(exact['rows']):,} test rows "
                f"({exact['share']:.1%}) duplicate a training row"
            )
        if "near" in overall.index:
            parts.append(f"{int(overall.loc['near', 'duplicated']):,} within the near tolerance")
        across = self.conflicts.set_index("scope")
        if "train" in across.index:
            parts.append(
                f"{int(across.loc['train', 'rows']):,} training rows with conflicting labels"
            )
        scored = self.features.dropna(subset=["auc"])
        if len(scored):
            best = scored.loc[scored["auc"].idxmax()]
            parts.append(f"best single feature {best['feature']} (AUC {best['auc']:.3f})")
        if len(self.mismatch) and np.isfinite(self.mismatch["auc"].iloc[0]):
            parts.append(f"train/test mismatch AUC {self.mismatch['auc'].iloc[0]:.3f}")
        sampling = self.meta.get("sampling")
        if sampling:
            from raikit._sampling import sampling_note

            train = sampling["train"]
            sampled = sampling["sampled"]
            what = ", ".join(sampled[:-1]) + (" and " if len(sampled) > 1 else "") + sampled[-1]
            parts.append(
                "exact duplicates and conflicts from every row; "
                + what
                + " "
                + sampling_note(train["sampled"], train["population"])
            )
        return "; ".join(parts) + f"; {len(self.findings)} finding(s)."

    def figures(self) -> list:
        import plotly.graph_objects as go

        scored = self.features.dropna(subset=["auc"]).sort_values("auc")
        if not len(scored):
            return []
        figure = go.Figure(
            go.Bar(
                x=scored["auc"],
                y=[str(f) for f in scored["feature"]],
                orientation="h",
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": scored["upper"] - scored["auc"],
                    "arrayminus": scored["auc"] - scored["lower"],
                },
            )
        )
        figure.add_vline(x=self.meta.get("leak_auc", 0.95), line_dash="dash")
        figure.update_layout(
            title="How well each feature alone predicts the target (cross-fitted AUC)",
            xaxis={"range": [0, 1], "title": "AUC"},
            height=200 + 20 * len(scored),
        )
        return [figure]


# --------------------------------------------------------------------------- row keys
_SPAN = 2**62  # the mixed-radix keys are re-densified before they could pass this


def _combine(keys: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Dense ids of the pairs (key, code); both dense, so the product stays far below 2**63."""
    return pd.factorize(keys * (int(codes.max()) + 2) + codes + 1)[0].astype(np.int64)


def _exact_codes(series: pd.Series) -> np.ndarray:
    """Codes equal exactly when the values are equal (missing values share the code -1)."""
    if column_kind(series) == "numeric" or isinstance(
        series.dtype, (pd.CategoricalDtype, pd.StringDtype)
    ):  # a category's codes are its values' (the categories are distinct)
        codes, _ = pd.factorize(series)
    else:
        codes, _ = pd.factorize(series.astype(object))
    return codes.astype(np.int64)


def _dense_keys(parts) -> np.ndarray:
    """One integer per row from per-column codes (each >= -1), equal exactly when every code is,
    numbered 0, 1, ... in the order of first appearance.
    A mixed-radix number of the codes, re-densified only when it would overflow: one hash
    factorisation of the rows, not one per column."""
    keys, span = None, 1
    for codes in parts:
        width = int(codes.max(initial=-1)) + 2
        if keys is None:
            keys, span = codes + 1, width
            continue
        if span * width >= _SPAN:
            keys = pd.factorize(keys)[0].astype(np.int64)
            span = int(keys.max(initial=0)) + 1
        keys = keys * width + (codes + 1)
        span *= width
    return pd.factorize(keys)[0].astype(np.int64)


def _normalised(series: pd.Series) -> np.ndarray:
    """Codes equal when the stripped, case-folded texts are (-1 missing): each distinct value is
    normalised once, not each row."""
    from raikit.data._mlclean import _normalised_codes  # stripped and case-folded, as clean()

    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        series = series.astype(str).where(series.notna())
    codes, uniques = pd.factorize(series)
    if not len(uniques):
        return codes.astype(np.int64)
    normal = _normalised_codes(pd.Series(np.asarray(uniques, dtype=object), dtype=object))
    return np.where(codes < 0, -1, normal[np.maximum(codes, 0)]).astype(np.int64)


def _is_numeric(series: pd.Series) -> bool:
    return column_kind(series) == "numeric"


# --------------------------------------------------------------------------- duplicates
def _share_rows(kind, fams, flags, twins, ci, *, counts=None) -> list[dict]:
    """Duplicated test rows per group, with the training rows' own twin share as the chance
    baseline (its upper bound too: a baseline from few rows is uncertain). ``twins`` is one
    flag per training row, or ``(rows with a twin, rows)``; ``counts``, when given, the rows
    of each entry of the families' codes (cells of a lazy table), ``flags`` then per cell."""
    from raikit.metrics._stats import wilson_interval

    twin_rows, train_rows = (
        (int(twins.sum()), twins.size) if isinstance(twins, np.ndarray) else twins
    )
    expected = twin_rows / train_rows if train_rows else np.nan
    expected_upper = float(wilson_interval(twin_rows, train_rows, ci=ci)[1])
    rows = []
    for fam in fams:
        n = np.bincount(fam.codes, weights=counts, minlength=fam.n_groups)
        k = np.bincount(fam.codes, weights=flags, minlength=fam.n_groups)
        lower, upper = wilson_interval(k, n, ci=ci)
        for g, label in enumerate(fam.labels):
            rows.append(
                {
                    "kind": kind,
                    "attribute": fam.attribute,
                    "group": label,
                    "rows": int(n[g]),
                    "duplicated": int(k[g]),
                    "share": k[g] / n[g] if n[g] else np.nan,
                    "lower": float(lower[g]),
                    "upper": float(upper[g]),
                    "expected": expected,
                    "expected_upper": expected_upper,
                }
            )
    return rows


def _exact(keys: np.ndarray, n_train: int):
    """Per test row, whether its key is in the training rows and the first such training row;
    per training row, whether another training row has its key."""
    k_train, k_test = keys[:n_train], keys[n_train:]
    size = int(keys.max()) + 1
    count = np.bincount(k_train, minlength=size)
    first = np.full(size, -1, dtype=np.int64)
    first[k_train[::-1]] = np.arange(n_train)[::-1]  # the last write wins: the first row
    return count[k_test] > 0, first[k_test], count[k_train] >= 2


def _joined(train: pd.Series, test: pd.Series) -> pd.Series:
    """One column of both tables, train first (categories with equal categories stay one)."""
    if (
        isinstance(train.dtype, pd.CategoricalDtype)
        and isinstance(test.dtype, pd.CategoricalDtype)
        and train.dtype == test.dtype
    ):
        codes = np.concatenate([train.cat.codes.to_numpy(), test.cat.codes.to_numpy()])
        return pd.Series(pd.Categorical.from_codes(codes, dtype=train.dtype), name=train.name)
    return pd.concat([train, test], ignore_index=True)


def _near_points(train_X, test_X, tolerance: float, train_rows, test_rows):
    """Standardised numeric values with one extra coordinate per block of equal (normalised)
    categories and missingness, spaced wider than the radius so blocks never meet; for the
    given rows of each table (standardised by every training row)."""
    n_train = len(train_rows)
    block_parts, z_parts = [], []
    for name in train_X.columns:
        if _is_numeric(train_X[name]) and _is_numeric(test_X[name]):
            reference = train_X[name].to_numpy(dtype=float, na_value=np.nan)
            reference = reference[np.isfinite(reference)]
            values = np.concatenate(
                [
                    train_X[name].to_numpy(dtype=float, na_value=np.nan)[train_rows],
                    test_X[name].to_numpy(dtype=float, na_value=np.nan)[test_rows],
                ]
            )
            finite = np.isfinite(values)
            block_parts.append((~finite).astype(np.int64))
            centre = reference.mean() if reference.size else 0.0
            scale = reference.std() if reference.size > 1 else 0.0
            z_parts.append(np.where(finite, (values - centre) / (scale or 1.0), 0.0))
        else:
            both = _joined(train_X[name].iloc[train_rows], test_X[name].iloc[test_rows])
            block_parts.append(_normalised(both))
    size = n_train + len(test_rows)
    blocks = _dense_keys(block_parts) if block_parts else np.zeros(size, dtype=np.int64)
    spacing = 2.0 * tolerance + 1.0
    points = np.column_stack([*z_parts, blocks.astype(float) * spacing])
    return points[:n_train], points[n_train:]


def _first_rows(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per distinct key (dense ids): its first row and its number of rows."""
    size = int(keys.max(initial=-1)) + 1
    first = np.full(size, -1, dtype=np.int64)
    first[keys[::-1]] = np.arange(keys.size)[::-1]  # the last write wins: the first row
    return first, np.bincount(keys, minlength=size)


def _near(train_X, test_X, tolerance: float, exact: np.ndarray, keys: np.ndarray):
    """Per test row, whether a training row is within the tolerance; per training row, whether
    another one is; and up to ten (test, train, distance) examples that are not ``exact``.

    A row's point is a function of its values, so rows with one exact key share a point: the
    tree holds each distinct training row once (with its number of copies), and each distinct
    test row that is no exact duplicate asks it once. Examples name the nearest training row
    (the first one among equally near)."""
    from sklearn.neighbors import KDTree

    n_train = len(train_X)
    k_train, k_test = keys[:n_train], keys[n_train:]
    first, copies = _first_rows(k_train)
    present = np.flatnonzero(copies)  # the keys of the training rows
    rows = first[present]
    t_first, _ = _first_rows(k_test)
    ask = t_first[t_first >= 0]
    ask = ask[~exact[ask]]  # one test row per distinct key that is no exact duplicate
    train_pts, test_pts = _near_points(train_X, test_X, tolerance, rows, ask)
    tree = KDTree(train_pts, metric="chebyshev")
    # a tiny radius keeps the search near one leaf, whatever the dimension
    alone = np.flatnonzero(copies[present] == 1)  # a key with 2+ rows is its own twin
    twin_of = copies >= 2
    if alone.size:
        near = tree.query_radius(train_pts[alone], r=tolerance, count_only=True)
        twin_of[present[alone]] = near > 1  # itself counts once
    twins = twin_of[k_train]
    hit_of = np.zeros(t_first.size, dtype=bool)
    slot = np.full(t_first.size, -1, dtype=np.int64)  # a test key's row of test_pts
    if ask.size:
        hit_of[k_test[ask]] = tree.query_radius(test_pts, r=tolerance, count_only=True) > 0
        slot[k_test[ask]] = np.arange(ask.size)
    hits = exact | hit_of[k_test]
    shown = np.flatnonzero(hits & ~exact)[:_MAX_EXAMPLES]  # the exact ones are shown apart
    pairs = []
    if shown.size:
        found, distances = tree.query_radius(
            test_pts[slot[k_test[shown]]], r=tolerance, return_distance=True
        )
        for t, index, distance in zip(shown, found, distances, strict=True):
            nearest = distance == distance.min()
            pairs.append((int(t), int(rows[index[nearest]].min()), float(distance.min())))
    return hits, twins, pairs


# --------------------------------------------------------------------------- lazy tables
# Exact duplicates and conflicting labels where the rows live: one window over both tables
# partitioned by the compared columns (exact equality, missing equals missing: no hashing), then
# one GROUP BY of the rows per (side, sensitive values). Labels conflict within a key when its
# smallest and largest label differ; a test row's label conflicts with its training copies when
# they hold a label other than its own (their smallest or largest differs from it).
_CELLS = """
WITH both_sides AS (
    SELECT 0 AS __side, {train_cols} FROM {train}
    UNION ALL
    SELECT 1 AS __side, {test_cols} FROM {test}
), keyed AS (
    SELECT __side, __y, {sens_out}
        SUM(CASE WHEN __side = 0 THEN 1 ELSE 0 END) OVER k AS n_tr,
        COUNT(CASE WHEN __side = 0 THEN __y END) OVER k AS lab_tr,
        MIN(CASE WHEN __side = 0 THEN __y END) OVER k AS min_tr,
        MAX(CASE WHEN __side = 0 THEN __y END) OVER k AS max_tr,
        COUNT(CASE WHEN __side = 1 THEN __y END) OVER k AS lab_te,
        MIN(CASE WHEN __side = 1 THEN __y END) OVER k AS min_te,
        MAX(CASE WHEN __side = 1 THEN __y END) OVER k AS max_te,
        ROW_NUMBER() OVER (PARTITION BY {keys} ORDER BY __side) AS rn
    FROM both_sides
    WINDOW k AS (PARTITION BY {keys})
)
SELECT __side, {sens_out}
    COUNT(*) AS n_rows,
    SUM(CASE WHEN n_tr > 0 THEN 1 ELSE 0 END) AS in_train,
    SUM(CASE WHEN n_tr >= 2 THEN 1 ELSE 0 END) AS twin,
    SUM(CASE WHEN __y IS NOT NULL THEN 1 ELSE 0 END) AS labelled,
    SUM(CASE WHEN __side = 0 AND __y IS NOT NULL AND min_tr <> max_tr THEN 1 ELSE 0 END)
        AS train_rows,
    SUM(CASE WHEN rn = 1 AND min_tr <> max_tr THEN 1 ELSE 0 END) AS train_keys,
    SUM(CASE WHEN __side = 1 AND __y IS NOT NULL AND min_te <> max_te THEN 1 ELSE 0 END)
        AS test_rows,
    SUM(CASE WHEN rn = 1 AND min_te <> max_te THEN 1 ELSE 0 END) AS test_keys,
    SUM(CASE WHEN __side = 1 AND __y IS NOT NULL AND lab_tr > 0
        AND (min_tr <> __y OR max_tr <> __y) THEN 1 ELSE 0 END) AS across_rows,
    SUM(CASE WHEN rn = 1 AND lab_tr > 0 AND lab_te > 0
        AND NOT (min_tr = max_tr AND min_te = max_te AND min_tr = min_te) THEN 1 ELSE 0 END)
        AS across_keys
FROM keyed
GROUP BY __side{sens_group}
"""


def _side_columns(ds, names, labels: bool, sens: list, q, own_sens: bool) -> str:
    """The SELECT list of one side: compared columns, label and sensitive values, aliased."""
    parts = [f"{q(c)} AS __f{i}" for i, c in enumerate(names)]
    parts.append(f"{q(ds.target)} AS __y" if labels and ds.target is not None else "NULL AS __y")
    parts += [f"{q(c) if own_sens else 'NULL'} AS __s{i}" for i, c in enumerate(sens)]
    return ", ".join(parts)


def _in_engine_frame(ds, columns) -> pd.DataFrame:
    """An in-memory side's columns, categories as plain values and missing as None (SQL NULL)."""
    frame = ds.frame[list(dict.fromkeys(columns))]
    out = {}
    for name in frame.columns:
        series = frame[name]
        if isinstance(series.dtype, pd.CategoricalDtype) or series.isna().any():
            series = series.astype(object).where(series.notna(), None)
        out[name] = series
    return pd.DataFrame(out)


def _run_cells(train, test, sql_for, columns: dict) -> pd.DataFrame:
    """Run the cells query where the lazy side's rows live; an in-memory side is handed to that
    engine (DuckDB reads the pandas frame in place, Spark gets a DataFrame of it)."""
    import uuid

    lazy = [ds for ds in (train, test) if ds.is_lazy]
    engines = {"spark" if ds.table.format == "spark" else "duckdb" for ds in lazy}
    if len(engines) > 1:
        raise DataError(
            "leakage(): one table is a Spark DataFrame and the other is read by DuckDB; put both "
            "where the rows can meet (both Spark DataFrames, or both Parquet/CSV files)."
        )
    if engines == {"spark"}:
        from raikit._sql import SPARK

        session = lazy[0].table.frame.sparkSession
        views = {}
        try:
            for ds, side in ((train, "train"), (test, "test")):
                frame = (
                    ds.table.frame
                    if ds.is_lazy
                    else session.createDataFrame(_in_engine_frame(ds, columns[side]))
                )
                views[side] = f"raikit_{uuid.uuid4().hex}"
                frame.createOrReplaceTempView(views[side])
            return session.sql(sql_for(SPARK.ident, views["train"], views["test"])).toPandas()
        except Exception as error:
            raise DataError(
                f"leakage(): Spark could not compare the tables: {type(error).__name__}: "
                f"{str(error).splitlines()[0]}."
            ) from error
        finally:
            for view in views.values():
                session.catalog.dropTempView(view)
    from raikit._sql import DUCKDB

    con = lazy[0].table.connection
    relations, registered = {}, []
    try:
        for ds, side in ((train, "train"), (test, "test")):
            if ds.is_lazy:
                relations[side] = ds.table.relation
            else:
                view = f"raikit_{uuid.uuid4().hex}"
                con.register(view, _in_engine_frame(ds, columns[side]))
                registered.append(view)
                relations[side] = DUCKDB.ident(view)
        return lazy[0].table.query(sql_for(DUCKDB.ident, relations["train"], relations["test"]))
    finally:
        for view in registered:
            con.unregister(view)


def _lazy_counts(train, test, names):
    """The exact-duplicate cells of the test data, the training rows' twin counts and the
    conflicts table, from one query where the rows live."""
    from raikit._grouping import encode_groups
    from raikit._lazy import restore_dtypes

    sens = list(test.sensitive_names)
    sens_out = "".join(f"__s{i}, " for i in range(len(sens)))
    sens_group = "".join(f", __s{i}" for i in range(len(sens)))
    keys = ", ".join(f"__f{i}" for i in range(len(names)))

    def sql_for(q, train_rel, test_rel):
        return _CELLS.format(
            train_cols=_side_columns(train, names, True, sens, q, own_sens=False),
            test_cols=_side_columns(test, names, True, sens, q, own_sens=True),
            train=train_rel,
            test=test_rel,
            sens_out=sens_out,
            sens_group=sens_group,
            keys=keys,
        )

    columns = {
        side: [*names, *([ds.target] if ds.target is not None else []), *ds.sensitive_names]
        for ds, side in ((train, "train"), (test, "test"))
    }
    cells = _run_cells(train, test, sql_for, columns)
    numbers = [c for c in cells.columns if c != "__side" and not c.startswith("__s")]
    cells[numbers] = cells[numbers].fillna(0).astype(np.int64)
    side = cells["__side"].to_numpy()
    trained, tested = cells[side == 0], cells[side == 1].reset_index(drop=True)
    total = cells[numbers].sum()
    twins = (int(trained["twin"].sum()), int(trained["n_rows"].sum()))
    if sens:
        groups = restore_dtypes(
            tested.rename(columns={f"__s{i}": c for i, c in enumerate(sens)})[sens],
            test.dtypes,
            sens,
        )
        encoding = encode_groups(groups, missing_group=test.missing_group)
    else:
        encoding = None
    fams = families(encoding, len(tested))
    rows = []
    labelled_train = int(trained["labelled"].sum())
    labelled_test = int(tested["labelled"].sum())
    if train.target is not None:
        rows.append(("train", total["train_keys"], total["train_rows"], labelled_train))
    if test.target is not None:
        rows.append(("test", total["test_keys"], total["test_rows"], labelled_test))
    if train.target is not None and test.target is not None:
        rows.append(("across", total["across_keys"], total["across_rows"], labelled_test))
    conflicts = pd.DataFrame(
        [(scope, int(k), int(r), r / n if n else np.nan) for scope, k, r, n in rows],
        columns=["scope", "feature_rows", "rows", "share"],
    ).astype({"feature_rows": np.int64, "rows": np.int64, "share": float})
    return tested, fams, twins, conflicts


def _sampling_record(sample) -> list[dict]:
    import json

    sampling = getattr(sample, "sampling", None)
    if sampling is None:
        return []
    return json.loads(sampling.to_json(orient="records"))


# --------------------------------------------------------------------------- conflicting labels
def _label_codes(train_y: pd.Series | None, test_y: pd.Series | None):
    parts = [y for y in (train_y, test_y) if y is not None]
    codes, _ = pd.factorize(pd.concat(parts, ignore_index=True).astype(object))
    n_train = 0 if train_y is None else len(train_y)
    return (codes[:n_train] if train_y is not None else None), codes[n_train:]


def _within(keys: np.ndarray, labels: np.ndarray) -> tuple[int, int, int]:
    """(distinct rows with several labels, rows involved, labelled rows) of one table."""
    keep = labels >= 0
    keys, labels = keys[keep], labels[keep]
    if not keys.size:
        return 0, 0, 0
    pair = _combine(keys, labels)  # dense ids of the (row, label) pairs present
    key_of_pair = np.zeros(int(pair.max()) + 1, dtype=np.int64)
    key_of_pair[pair] = keys
    distinct = np.bincount(key_of_pair, minlength=int(keys.max()) + 1)  # labels per row
    conflicted = distinct >= 2
    return int(conflicted.sum()), int(conflicted[keys].sum()), int(keys.size)


def _across(keys: np.ndarray, n_train: int, y_train: np.ndarray, y_test: np.ndarray):
    """Test rows (labelled) whose duplicate in the training data carries another label."""
    k_train, k_test = keys[:n_train], keys[n_train:]
    ok_train, ok_test = y_train >= 0, y_test >= 0
    size = int(keys.max()) + 1
    width = int(max(y_train.max(initial=0), y_test.max(initial=0))) + 1
    same = np.bincount(
        k_train[ok_train] * width + y_train[ok_train], minlength=size * width
    ).reshape(size, width)
    total = same.sum(axis=1)
    lab = np.maximum(y_test, 0)
    conflict = ok_test & (total[k_test] - same[k_test, lab] > 0)
    return conflict, int(np.unique(k_test[conflict]).size), int(ok_test.sum())


def _conflicts(keys, n_train, y_train, y_test) -> tuple[pd.DataFrame, list]:
    """The conflicts table per scope and up to ten (test row, training row) examples across."""
    if y_train is None and y_test is None:
        return _empty_conflicts(), []
    c_train, c_test = _label_codes(y_train, y_test)
    c_test = None if y_test is None else c_test
    rows, examples = [], []
    for scope, k, y in (("train", keys[:n_train], c_train), ("test", keys[n_train:], c_test)):
        if y is None:
            continue
        groups, involved, labelled = _within(k, y)
        rows.append((scope, groups, involved, involved / labelled if labelled else np.nan))
    if c_train is not None and c_test is not None:
        conflict, groups, labelled = _across(keys, n_train, c_train, c_test)
        share = conflict.sum() / labelled if labelled else np.nan
        rows.append(("across", groups, int(conflict.sum()), share))
        for t in np.flatnonzero(conflict)[:_MAX_EXAMPLES]:  # a training copy with another label
            other = (keys[:n_train] == keys[n_train + t]) & (c_train >= 0) & (c_train != c_test[t])
            examples.append(("conflict", int(t), int(np.flatnonzero(other)[0]), 0.0))
    frame = pd.DataFrame(rows, columns=["scope", "feature_rows", "rows", "share"])
    return frame.astype({"feature_rows": np.int64, "rows": np.int64, "share": float}), examples


# --------------------------------------------------------------------------- single features
def _target_codes(y: pd.Series, regression: bool) -> np.ndarray:
    """Integer classes of the target (-1 missing); a regression target is split at its median
    (above it or not)."""
    if regression:
        values = y.to_numpy(dtype=float, na_value=np.nan)
        return np.where(np.isnan(values), -1, values > np.nanmedian(values)).astype(np.int64)
    codes, _ = pd.factorize(y.astype(object))
    return codes.astype(np.int64)


def _cell_auc(counts: np.ndarray, score: np.ndarray) -> np.ndarray:
    """One-vs-rest macro AUC from label counts per cell (..., cells, classes) and each cell's
    score per class (cells, classes); ties (equal scores) count one half. Leading axes are kept
    (bootstrap replicates)."""
    from raikit.metrics._group_metrics import _binned_auc

    present = np.flatnonzero(counts.reshape(-1, counts.shape[-1]).sum(axis=0) > 0)
    classes = present[1:] if present.size == 2 else present
    aucs = []
    for c in classes:  # a few classes, each on (cells) counts
        unique, inverse = np.unique(score[:, c], return_inverse=True)
        merge = np.zeros((score.shape[0], unique.size))
        merge[np.arange(score.shape[0]), inverse.ravel()] = 1.0
        pos = counts[..., c] @ merge  # (..., scores), in increasing score
        neg = counts.sum(axis=-1) @ merge - pos
        lead = pos.shape[:-1]
        # _binned_auc takes (slices, bins, replicates): the scores on the middle axis
        flat_pos = pos.reshape(-1, unique.size).T[None]
        flat_neg = neg.reshape(-1, unique.size).T[None]
        aucs.append(_binned_auc(flat_neg, flat_pos)[0].reshape(lead))
    if not aucs:
        return np.full(counts.shape[:-2], np.nan)
    with warnings.catch_warnings():  # a replicate without both labels of a class: NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(np.stack(aucs), axis=0)


def _never_zero_width(lower, upper, auc: float, class_counts, ci: float):
    """The bootstrap interval, or, where every replicate gave the same AUC (a perfect or a
    useless separation), the Wilson interval of the AUC read as a share of ``m`` comparisons,
    ``m`` the smaller class: a conservative effective sample size for the pairs."""
    from raikit.metrics._stats import wilson_interval

    if not (np.isfinite(lower) and np.isfinite(upper)) or upper > lower:
        return lower, upper
    present = np.asarray(class_counts)[np.asarray(class_counts) > 0]
    m = float(present.min()) if present.size else 0.0
    wide = wilson_interval(auc * m, m, ci=ci)
    return float(np.fmin(lower, wide[0])), float(np.fmax(upper, wide[1]))


def _single_feature(x_codes, kx, y_codes, ky, fold, cv, n_boot, ci, rng, weights=None):
    """(AUC, lower, upper, normalised MI) of the one-feature model of a binned feature.

    ``weights`` (a stratified sample's): each row counts with its weight, scaled so the rows sum
    to their effective number ``(sum w)^2 / sum w^2`` (Kish), which the bootstrap draws."""
    from raikit.data._profile import _mutual_information
    from raikit.metrics._stats import contain, percentile_bounds

    if weights is not None:
        weights = weights * (weights.sum() / np.square(weights).sum())
    cells = np.bincount(
        (fold * kx + x_codes) * ky + y_codes, weights=weights, minlength=cv * kx * ky
    )
    counts = cells.reshape(cv, kx, ky).astype(float)
    prior = counts.sum(axis=(0, 1)) / counts.sum()
    other = counts.sum(axis=0, keepdims=True) - counts  # the other folds' counts per bin
    score = ((other + prior) / (other.sum(axis=2, keepdims=True) + 1.0)).reshape(-1, ky)
    flat = counts.reshape(-1, ky)
    auc = float(_cell_auc(flat, score))
    table = counts.sum(axis=0)
    entropy = -(prior[prior > 0] * np.log(prior[prior > 0])).sum()
    mi = _mutual_information(table) / entropy if entropy > 0 else np.nan
    if not np.isfinite(auc):
        return auc, np.nan, np.nan, mi
    n = int(np.round(flat.sum()))
    draws = rng.multinomial(n, flat.ravel() / flat.sum(), size=n_boot).reshape(n_boot, *flat.shape)
    lower, upper = percentile_bounds(_cell_auc(draws.astype(float), score), ci)
    lower, upper = _never_zero_width(*contain(lower, upper, auc), auc, flat.sum(axis=0), ci)
    return auc, float(lower), float(upper), mi


def _id_like(series: pd.Series) -> bool:
    """A distinct value in every row, and not a measurement with decimals."""
    values = series.dropna()
    if len(values) < _MIN_ID_ROWS or len(values) < len(series) or values.nunique() < len(values):
        return False
    if column_kind(series) == "numeric":
        numbers = values.to_numpy(dtype=float)
        return bool(np.all(numbers == np.round(numbers)))
    return column_kind(series) in ("categorical", "text")


def _features(train_X, y, regression: bool, *, cv, n_boot, ci, rng, weights=None) -> pd.DataFrame:
    from raikit.data._profile import _proxy_codes

    rows = []
    y_codes = None if y is None else _target_codes(y, regression)
    labelled = None if y_codes is None else y_codes >= 0
    fold = rng.integers(cv, size=len(train_X)) if y is not None else None
    for name in train_X.columns:
        series = train_X[name]
        kind = column_kind(series)
        row = {
            "feature": name,
            "kind": kind,
            "distinct": int(series.nunique()),
            "id_like": _id_like(series),
            "auc": np.nan,
            "lower": np.nan,
            "upper": np.nan,
            "normalized_mi": np.nan,
            "n": 0,
        }
        if y_codes is not None and labelled.any() and y_codes[labelled].max() >= 1:
            x_codes, kx = _proxy_codes(
                series[labelled], "numeric" if kind == "numeric" else "categorical"
            )
            yc = y_codes[labelled]
            found = _single_feature(
                x_codes,
                kx,
                yc,
                int(yc.max()) + 1,
                fold[labelled],
                cv,
                n_boot,
                ci,
                rng,
                None if weights is None else np.asarray(weights, dtype=float)[labelled],
            )
            row.update(
                auc=found[0],
                lower=found[1],
                upper=found[2],
                normalized_mi=found[3],
                n=int(labelled.sum()),
            )
        rows.append(row)
    columns = [
        "feature",
        "kind",
        "distinct",
        "id_like",
        "auc",
        "lower",
        "upper",
        "normalized_mi",
        "n",
    ]
    out = pd.DataFrame(rows, columns=columns)
    return out.astype({"auc": float, "lower": float, "upper": float, "normalized_mi": float})


# --------------------------------------------------------------------------- train/test mismatch
def _mismatch(train, test, names, *, cv, max_rows, ci, random_state) -> pd.DataFrame:
    """The domain classifier of :func:`~raikit.data.multivariate_drift` on the compared columns,
    whole population only: its AUC with interval, the rows used, and the columns that tell the
    two sides apart most (``separating``)."""
    from raikit.data._multivariate import _MIN_ROWS, multivariate_drift

    if min(train.n_rows, test.n_rows) < _MIN_ROWS or not names:  # too few rows to cross-fit
        nothing = {"auc": np.nan, "lower": np.nan, "upper": np.nan, "p_value": np.nan}
        sizes = {"train_rows": train.n_rows, "test_rows": test.n_rows, "separating": ""}
        return pd.DataFrame([nothing | sizes])
    if max_rows is None:  # every row of both sides (multivariate_drift always has a cap)
        max_rows = max(train.n_rows, test.n_rows, 100)
    result = multivariate_drift(
        reference=train,
        current=test,
        method="classifier",
        columns=names,
        by_group=False,
        ci=ci,
        cv=cv,
        max_rows=max_rows,
        random_state=random_state,
    )
    row = result.overall.iloc[0]
    top = result.features[result.features["auc_drop"] > 0].head(3)
    found = {"auc": row["value"], "lower": row["lower"], "upper": row["upper"]}
    return pd.DataFrame(
        [
            found
            | {
                "p_value": row["p_value"],
                "train_rows": int(row["n_reference"]),
                "test_rows": int(row["n_current"]),
                "separating": ", ".join(top["feature"].astype(str)),
            }
        ]
    )


# --------------------------------------------------------------------------- findings
def _beyond_chance(kind: str, row) -> bool:
    """More duplicated test rows than the training rows' own twins explain: beyond the baseline's
    upper bound, or (exact copies) any at all when no training row has an exact twin, since
    identical rows then do not arise by chance."""
    if row["share"] <= row["expected"]:
        return False
    if kind == "exact" and row["expected"] == 0:
        return True
    return row["lower"] > row["expected_upper"]


def _worst_group(duplicates: pd.DataFrame, kind: str) -> str:
    """The group of the test data with the largest duplicated share, as a sentence."""
    groups = duplicates[(duplicates["kind"] == kind) & (duplicates["attribute"] != "overall")]
    groups = groups[groups["rows"] > 0]
    if not len(groups):
        return ""
    worst = groups.loc[groups["share"].idxmax()]
    return (
        f" Most in the group {worst['group']} of {worst['attribute']}: "
        f"{int(worst['duplicated']):,} of "
        f"{int(worst['rows']):,} ({worst['share']:.2%})."
    )


def _duplicate_findings(duplicates: pd.DataFrame, tolerance) -> list[Finding]:
    out = []
    overall = duplicates[duplicates["attribute"] == "overall"].set_index("kind")
    for kind in overall.index:
        row = overall.loc[kind]
        if row["duplicated"] == 0:
            continue
        what = (
            "exact duplicates"
            if kind == "exact"
            else f"near (not exact) duplicates, within {tolerance} sd,"
        )
        numbers = (
            f"{int(row['duplicated']):,} of {int(row['rows']):,} test rows "
            f"({row['share']:.2%} [{row['lower']:.2%}, {row['upper']:.2%}]) have {what} in the "
            f"training data; by chance (the training rows' own twins) {row['expected']:.2%} "
            f"(up to {row['expected_upper']:.2%})."
        )
        if not _beyond_chance(kind, row):
            out.append(
                Finding(
                    "info",
                    f"Test rows with {what} in training, no more than chance explains",
                    numbers,
                )
            )
            continue
        numbers += _worst_group(duplicates, kind)
        severity = (
            "error"
            if min(row["lower"], row["share"] - row["expected"]) >= _ERROR_SHARE
            else "warning"
        )
        out.append(
            Finding(
                severity,
                f"Test rows with {what} in the training data",
                numbers + " The test score overstates performance on new rows: drop them from the "
                "test data (or split by entity, e.g. by person, so copies stay on one side).",
            )
        )
    return out


def _conflict_findings(conflicts: pd.DataFrame) -> list[Finding]:
    out = []
    where = {
        "train": "in the training data",
        "test": "in the test data",
        "across": "between the test data and its duplicates in training",
    }
    for row in conflicts.itertuples(index=False):
        if row.rows == 0:
            continue
        out.append(
            Finding(
                "warning" if row.share >= _CONFLICT_SHARE else "info",
                f"Identical rows with different labels {where[row.scope]}",
                f"{row.rows:,} rows ({row.share:.2%}) in {row.feature_rows:,} set(s) of identical "
                f"rows carry different labels: the features cannot tell them apart (label errors, "
                f"or a feature that decides the label is missing). A warning from "
                f"{_CONFLICT_SHARE:.0%} of the rows.",
            )
        )
    return out


def _feature_findings(features: pd.DataFrame, leak_auc: float) -> list[Finding]:
    out = []
    for row in features.itertuples(index=False):
        if row.id_like:
            out.append(
                Finding(
                    "warning",
                    f"Column {row.feature} has a distinct value in every row (an identifier?)",
                    f"{row.distinct:,} distinct values in as many training rows. An identifier "
                    f"is no feature: drop it, or it lets the model memorise rows; it also makes "
                    f"every row unique, so duplicates are found only without it (columns=).",
                )
            )
        if np.isfinite(row.auc) and row.auc >= leak_auc:
            certain = row.lower >= leak_auc
            out.append(
                Finding(
                    "error" if certain else "warning",
                    f"Feature {row.feature} alone predicts the target (AUC {row.auc:.3f})",
                    f"A model of {row.feature} alone reaches a cross-fitted AUC of {row.auc:.3f} "
                    f"[{row.lower:.3f}, {row.upper:.3f}] (threshold {leak_auc}). A feature this "
                    f"close to the target is often the target in disguise (recorded after the "
                    f"outcome): check how it is produced before training on it.",
                )
            )
    return out


def _separating(row) -> str:
    return (
        f"; the columns that tell them apart most: {row['separating']}" if row["separating"] else ""
    )


def _mismatch_findings(mismatch: pd.DataFrame) -> list[Finding]:
    row = mismatch.iloc[0]
    if not np.isfinite(row["lower"]) or row["lower"] <= _MISMATCH_WARN:
        return []
    return [
        Finding(
            "error" if row["lower"] > _MISMATCH_ERROR else "warning",
            f"A classifier tells test rows from training rows (AUC {row['auc']:.3f})",
            f"Cross-fitted AUC {row['auc']:.3f} [{row['lower']:.3f}, {row['upper']:.3f}] (0.5: "
            f"indistinguishable){_separating(row)}. The split is not random, or the test data "
            f"comes from another population or time: the test score may not describe the "
            f"training population.",
        )
    ]


# --------------------------------------------------------------------------- the check
def _compared(train, test, columns) -> list[str]:
    if columns is None:
        names = list(train.feature_names)
    else:
        names = [columns] if isinstance(columns, str) else list(columns)
        for name in names:
            train._check_column(name, "compared")
    roles = {train.target, train.prediction, train.score, train.weight} - {None}
    names = [c for c in names if c not in roles]
    missing = [c for c in names if c not in test.columns]
    if missing:
        raise ColumnError(
            f"leakage(): the test data lacks column(s) {missing} that the training data has; "
            f"compare the shared ones with columns=[...]."
        )
    if not names:
        raise DataError(
            "leakage(): no column to compare (the Dataset has no features); name them with "
            "columns=[...] or Dataset(..., features=[...])."
        )
    return names


def _sample(frame: pd.DataFrame, n: int | None, rng) -> pd.DataFrame:
    if n is None or len(frame) <= n:
        return frame
    return frame.iloc[np.sort(rng.choice(len(frame), n, replace=False))]


@recorded("data.leakage")
@validate_params(
    columns=[list, tuple, str, None],
    duplicate_tolerance=[Interval(float, 0, None), None],
    leak_auc=Interval(float, 0.5, 1, closed="both"),
    cv=Interval(int, 2, None),
    max_rows=[Interval(int, 10, None), None],
    ci=CI,
    n_boot=Interval(int, 1, None),
    random_state=RANDOM_STATE,
)
def leakage(
    *,
    train,
    test,
    columns=None,
    duplicate_tolerance: float | None = 0.01,
    leak_auc: float = 0.95,
    cv: int = 5,
    max_rows: int | None = 20_000,
    ci: float = 0.95,
    n_boot: int = 1000,
    random_state=None,
    ledger=None,
) -> LeakageResult:
    """Leakage and integrity of a train/test split: duplicates across it, conflicting labels,
    features that give the target away, and whether the two sides can be told apart.

    Parameters
    ----------
    train, test : Dataset
        The two halves of the split (keyword-only). Targets are optional: without them the
        label checks are left out (a test Dataset without a target skips the cross-split
        conflicts).
    columns : list of str, optional
        Columns to compare. Default: the training Dataset's features, so sensitive attributes
        count only when they are features (as in :func:`raikit.data.profile`); the target,
        predictions, scores and weights are never compared.
    duplicate_tolerance : float or None, default 0.01
        Largest difference, in training standard deviations, of every numeric value of two near
        duplicates (their categories must match after stripping and case-folding). ``None``
        skips near duplicates.
    leak_auc : float, default 0.95
        Cross-fitted AUC of a one-feature model from which that feature is reported as giving
        the target away (an error when the whole interval is above it).
    cv : int, default 5
        Folds of the one-feature models and of the mismatch classifier.
    max_rows : int or None, default 20000
        Rows of each table the one-feature models and the mismatch classifier read (a uniform
        sample beyond; ``None``: every row). Exact duplicates and conflicts always read every
        row. On a lazy Dataset the near duplicates too read a sample of this many rows of each
        side, stratified by group and drawn where the rows live (``None``: every row, loaded).
    ci : float, default 0.95
        Confidence level of every interval.
    n_boot : int, default 1000
        Bootstrap replicates of the AUC intervals.
    random_state : int, Generator or None, default None
        Seed of the samples, folds and bootstrap; ``None`` draws a fresh seed, recorded in the
        ledger.
    ledger : raikit.ledger.Ledger or path, optional
        Record the result as evidence (inside :func:`raikit.track` it is recorded anyway).

    Returns
    -------
    LeakageResult

    Raises
    ------
    ParameterError
        ``train`` or ``test`` is not a Dataset, or a parameter is outside its domain.
    ColumnError
        A compared column is missing from either table.

    See Also
    --------
    raikit.data.drift : differences between the two samples.

    Notes
    -----
    Duplicates are judged against chance: a coarse feature space repeats rows within the
    training data too, so test rows matching training rows at that rate are context (``info``),
    not leakage. Near duplicates need equal categories after stripping and case-folding (a typo
    is missed) and one tolerance for every numeric column. Conflicting labels compare exact
    rows. The one-feature models see one column at a time: a leak spread over two columns is
    not caught here (the mismatch classifier and :func:`raikit.data.profile`'s associations
    see more). See the module's documentation for each method.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from raikit import Dataset
    >>> from raikit.data import leakage
    >>> rng = np.random.default_rng(0)
    >>> frame = pd.DataFrame({"x": rng.normal(size=400), "z": rng.normal(size=400),
    ...                       "sex": rng.choice(["F", "M"], 400)})
    >>> frame["y"] = (frame["x"] + rng.normal(size=400) > 0).astype(int)
    >>> train = Dataset(frame.iloc[:300], target="y", sensitive="sex")
    >>> test = Dataset(pd.concat([frame.iloc[300:], frame.iloc[:5]]), target="y", sensitive="sex")
    >>> result = leakage(train=train, test=test, n_boot=200, random_state=0)
    >>> result.duplicates.query("kind == 'exact' and attribute == 'overall'")["duplicated"].item()
    5
    >>> [(f.severity, f.title) for f in result.findings][0]
    ('error', 'Test rows with exact duplicates in the training data')
    """
    train = check_dataset(train, name="train", caller="leakage")
    test = check_dataset(test, name="test", caller="leakage")
    names = _compared(train, test, columns)
    rng = rng_from(random_state)
    regression = train.target is not None and train.task == "regression"
    sampling = None
    if train.is_lazy or test.is_lazy:
        duplicates, conflicts, features, sampling = _where_they_live(
            train,
            test,
            names,
            tolerance=duplicate_tolerance,
            regression=regression,
            cv=cv,
            max_rows=max_rows,
            ci=ci,
            n_boot=n_boot,
            rng=rng,
        )
        examples = []
        n_train, n_test = train.n_rows, test.n_rows
    else:
        train_frame, test_frame = train.frame, test.frame
        train_X, test_X = train_frame[names], test_frame[names]
        keys = _dense_keys(_exact_codes(_joined(train_X[c], test_X[c])) for c in names)
        fams = families(encode_sensitive(test), len(test_X))
        duplicates, examples = _duplicates(keys, train_X, test_X, fams, duplicate_tolerance, ci)
        y_train = None if train.target is None else train_frame[train.target]
        y_test = None if test.target is None else test_frame[test.target]
        conflicts, pairs = _conflicts(keys, len(train_X), y_train, y_test)
        examples += pairs
        sample = _sample(train_frame, max_rows, rng)
        y_sample = None if y_train is None else sample[train.target]
        features = _features(
            sample[names], y_sample, regression, cv=cv, n_boot=n_boot, ci=ci, rng=rng
        )
        n_train, n_test = len(train_X), len(test_X)
    mismatch = _mismatch(
        train,
        test,
        names,
        cv=cv,
        max_rows=max_rows,
        ci=ci,
        random_state=int(rng.integers(2**31 - 1)),
    )
    findings = (
        _duplicate_findings(duplicates, duplicate_tolerance)
        + _conflict_findings(conflicts)
        + _feature_findings(features, leak_auc)
        + _mismatch_findings(mismatch)
    )
    return LeakageResult(
        duplicates=duplicates,
        conflicts=conflicts,
        features=features,
        mismatch=mismatch,
        examples=pd.DataFrame(examples, columns=["kind", "test_row", "train_row", "distance"]),
        findings=tuple(findings),
        meta={
            "columns": names,
            "duplicate_tolerance": duplicate_tolerance,
            "leak_auc": leak_auc,
            "cv": cv,
            "max_rows": max_rows,
            "ci": ci,
            "n_boot": n_boot,
            "random_state": random_state,
            "train": train.name,
            "test": test.name,
            "train_rows": n_train,
            "test_rows": n_test,
            "sampling": sampling,
        },
    )


def _duplicates(keys, train_X, test_X, fams, tolerance, ci) -> tuple[pd.DataFrame, list]:
    """The duplicates table (exact, then near but not exact) and up to ten examples of each."""
    is_dup, first, twins = _exact(keys, len(train_X))
    rows = _share_rows("exact", fams, is_dup.astype(float), twins, ci)
    shown = np.flatnonzero(is_dup)[:_MAX_EXAMPLES]
    examples = [("exact", int(t), int(first[t]), 0.0) for t in shown]
    if tolerance is not None:
        hits, near_twins, pairs = _near(train_X, test_X, float(tolerance), is_dup, keys)
        near_only = hits & ~is_dup  # near, and not already an exact duplicate
        rows += _share_rows("near", fams, near_only.astype(float), near_twins & ~twins, ci)
        examples += [("near", *p) for p in pairs]
    return pd.DataFrame(rows), examples


def _side_sample(ds, n: int, seed: int):
    """A lazy side's stratified sample of ``n`` rows drawn where its rows live (every row when it
    has no more), or an in-memory side as it is."""
    if not ds.is_lazy:
        return ds
    return ds.sample(n, stratify="sensitive", random_state=seed)


def _where_they_live(train, test, names, *, tolerance, regression, cv, max_rows, ci, n_boot, rng):
    """The checks on a lazy table: exact duplicates and conflicts from every row, where the rows
    live; near duplicates and the one-feature models on stratified samples of each side."""
    cells, fams, twins, conflicts = _lazy_counts(train, test, names)
    counts = cells["n_rows"].to_numpy(float)
    rows = _share_rows("exact", fams, cells["in_train"].to_numpy(float), twins, ci, counts=counts)
    n = max_rows if max_rows is not None else max(train.n_rows, test.n_rows)
    train_part = _side_sample(train, n, int(rng.integers(2**31 - 1)))
    test_part = _side_sample(test, n, int(rng.integers(2**31 - 1)))
    if not train.is_lazy:
        train_part = train.replace(_sample(train.frame, max_rows, rng))
    if not test.is_lazy:
        test_part = test.replace(_sample(test.frame, max_rows, rng))
    train_X, test_X = train_part.frame[names], test_part.frame[names]
    if tolerance is not None:  # both samples: a test row counts when the training sample holds
        keys = _dense_keys(_exact_codes(_joined(train_X[c], test_X[c])) for c in names)
        is_dup, _, exact_twins = _exact(keys, len(train_X))
        hits, near_twins, _ = _near(train_X, test_X, float(tolerance), is_dup, keys)
        near_fams = families(encode_sensitive(test_part), len(test_X))
        rows += _share_rows(
            "near", near_fams, (hits & ~is_dup).astype(float), near_twins & ~exact_twins, ci
        )
    y = None if train.target is None else train_part.frame[train.target]
    weights = getattr(train_part, "weights", None) if train.is_lazy else None
    features = _features(
        train_X, y, regression, cv=cv, n_boot=n_boot, ci=ci, rng=rng, weights=weights
    )
    sampling = {
        "exact": "every row of both tables, where they live",
        "sampled": (["near duplicates"] if tolerance is not None else [])
        + ["single features"]
        # the mismatch classifier draws its own sample beyond max_rows (multivariate_drift)
        + (["the train/test classifier"] if max(train.n_rows, test.n_rows) > n else []),
        "train": {
            "sampled": len(train_X),
            "population": int(train.n_rows),
            "strata": _sampling_record(train_part),
        },
        "test": {
            "sampled": len(test_X),
            "population": int(test.n_rows),
            "strata": _sampling_record(test_part),
        },
    }
    return pd.DataFrame(rows), conflicts, features, sampling


def _empty_conflicts() -> pd.DataFrame:
    return pd.DataFrame({"scope": [], "feature_rows": [], "rows": [], "share": []}).astype(
        {"feature_rows": np.int64, "rows": np.int64, "share": float}
    )
