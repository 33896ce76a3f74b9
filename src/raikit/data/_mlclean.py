"""``clean``: merge near-duplicates, sanitise poisoned or mislabelled rows, reweigh for fairness.

After Tae, Roh, Oh, Kim & Whang, "Data Cleaning for Accurate, Fair, and Robust Models: A Big Data -
AI Integration Approach" (DEEM 2019). The paper's point is that entity resolution, data sanitisation
and unfairness mitigation must run together because each changes what the others see: duplicates
inflate a group's weight and its share of the reweighing statistics, a sanitiser that scores every row
against the majority removes a small group as "noise", and reweighing computed before cleaning weighs
rows that are later dropped. No code was published; this is our reading of the paper.

The three stages share one pass of statistics. The rows are encoded once (numeric columns
standardised, categories one-hot) and the per-(group, label) counts and feature sums are computed
once; merging and removing rows subtract their contributions, so the centroids the sanitiser uses are
those of the de-duplicated data and the counts the reweighing uses are those of the cleaned data,
without a second pass over the table.

1. **Near-duplicates.** Text and categories are normalised (stripped, case-folded); rows are blocked
   on every categorical value and on which numeric values are missing, and within a block two rows
   match when every standardised numeric value differs by at most ``duplicate_tolerance`` standard
   deviations (a Chebyshev radius search in a KD-tree; blocks are kept apart by an extra coordinate,
   so the whole table is one vectorised query). Matches are closed transitively (single linkage);
   each cluster keeps one representative with the majority label and the others are recorded as
   merged into it.
2. **Sanitisation.** Rows are scored within their (group, label) cell, so that a small group is
   compared with itself and not with the majority: a *loss* score (log loss of the given label under
   out-of-fold predicted probabilities) and a *distance* score (distance to the cell's centroid minus
   the distance to the nearest centroid of another label in the same group, in the standardised
   space). ``"loss+distance"`` averages their within-cell percentile ranks. The top
   ``contamination`` share of every cell is removed (or, with ``contamination="auto"``, as many rows
   per cell as confident learning estimates to be mislabelled within that group, with each label's
   confidence threshold re-estimated on the rows a first pass of confident learning kept: the
   errors pull a label's mean self-confidence down, and under heavy one-sided noise the plain
   estimate counts many correct but hard rows of the other label as errors, which is how cleaning
   lost accuracy to gradient boosting on targeted flips; see ``bench/bench_mlclean.py``).
3. **Reweighing.** Kamiran-Calders weights ``w(g, y) = P(g) P(y) / P(g, y)`` on the cleaned rows
   (:func:`raikit.train.reweighing_weights`, shared with the training stage).

Nothing is dropped silently: ``MLCleanResult.changes`` lists every merged, removed and reweighed row
with the reason, its group and its score.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

from raikit._errors import ColumnError, DataError, FileFormatError, ParameterError
from raikit._grouping import SliceKey
from raikit._recording import recorded
from raikit._result import Finding, Result
from raikit.data._common import model_frame
from raikit.data._label_issues import calibrated_joint, class_codes, confident_learning

__all__ = ["MLCleanResult", "clean"]

SANITIZERS = ("loss+distance", "loss", "distance", "none")
ACTIONS = ("merged", "removed", "reweighed")
_MAX_ONE_HOT = 50  # levels one-hot encoded per column; rarer levels share one "other" column
_HIST_BINS = 20
_AUTO_MIN_ROWS = 50  # smallest group whose own confident-learning thresholds are used
_MANY_REMOVED = 0.15  # share of rows removed above which a finding asks for a review


# --------------------------------------------------------------------------- result
@dataclass(frozen=True, eq=False)
class MLCleanResult(Result):
    """What MLClean merged, removed and reweighed, per group, and the cleaned data.

    Attributes
    ----------
    cleaned : DataFrame
        The kept rows (original index and columns) with a weight column (``meta["weight_column"]``).
    changes : DataFrame
        One row per change: ``row`` (position in the input), ``action`` (``merged``, ``removed``
        or ``reweighed``), ``reason``, ``group``, ``label``, ``score`` (merged: largest numeric
        difference to the kept row in standard deviations; removed: the sanitisation score, a
        within-cell percentile for ``loss+distance``; reweighed: the weight), ``weight`` (the row's
        weight in ``cleaned``, 0 when it left) and ``merged_into`` (the kept row, -1 otherwise).
    by_group : DataFrame
        One row per (intersectional) group: rows in, merged, removed, rows out, shares of the data
        before and after, base rates before, after, and after weighting, removal rate.
    by_cell : DataFrame
        One row per (group, label) cell: rows in, merged, removed, rows out and the weight given.
    score_histograms : DataFrame
        Histograms of the sanitisation scores per group, kept vs removed rows (aggregates only).
    n_rows_in, n_rows_out, n_merged, n_removed, n_reweighed : int
        Counts; ``n_rows_in == n_rows_out + n_merged + n_removed``.
    target : str
        The label column.
    sensitive_names, feature_names : list of str
        Roles of the columns.
    classes : list
        The labels.
    findings : tuple of Finding
    meta : dict
        Settings, estimator and weight column.

    See Also
    --------
    clean : computes it.

    Examples
    --------
    >>> from raikit.data import clean
    >>> from raikit.datasets import load_german_credit
    >>> r = clean(load_german_credit(), contamination=0.05, cv=3, random_state=0)
    >>> r.n_rows_in, r.n_rows_in == r.n_rows_out + r.n_merged + r.n_removed
    (1000, True)
    """

    cleaned: pd.DataFrame
    changes: pd.DataFrame
    by_group: pd.DataFrame
    by_cell: pd.DataFrame
    score_histograms: pd.DataFrame
    n_rows_in: int
    n_rows_out: int
    n_merged: int
    n_removed: int
    n_reweighed: int
    target: str
    sensitive_names: list
    feature_names: list
    classes: list
    findings: tuple = field(default_factory=tuple)
    meta: dict = field(default_factory=dict)

    @property
    def sample_weight(self) -> np.ndarray:
        """The weight of every kept row (pass it to ``fit(..., sample_weight=...)``)."""
        return self.cleaned[self.meta["weight_column"]].to_numpy(dtype=float)

    @property
    def dataset(self):
        """The cleaned rows as a :class:`raikit.Dataset` with the input's roles and the weight
        column as its weight role, so that every check (group metrics, evaluate, drift,
        representation) measures the cleaned and reweighed population."""
        from raikit.dataset import Dataset

        return Dataset(
            self.cleaned,
            target=self.target,
            sensitive=list(self.sensitive_names),
            features=list(self.feature_names),
            weight=self.meta["weight_column"],
            missing_group=self.meta.get("missing_group"),
            name=self.meta.get("name"),
        )

    @property
    def summary(self) -> str:
        text = (
            f"{self.n_rows_in:,} rows in, {self.n_rows_out:,} out: {self.n_merged:,} merged as "
            f"duplicates, {self.n_removed:,} removed by sanitisation ({self.meta['sanitize']}), "
            f"{self.n_reweighed:,} reweighed"
        )
        weights = self.by_cell["weight"]
        if self.meta["reweigh"] and len(weights):
            text += f" (weights {weights.min():.3g} to {weights.max():.3g})"
        return text + f"; {len(self.findings)} finding(s)."

    def changes_summary(self) -> pd.DataFrame:
        """Number of rows per action and group."""
        table = self.changes.groupby(["action", "group"], sort=True).size()
        return table.rename("rows").reset_index()

    def tables(self) -> dict[str, pd.DataFrame]:
        # Per-row tables (the cleaned data and the change log) stay out of reports: they are in
        # the JSON evidence and in write_changes(); reports show aggregates only.
        return {
            "by_group": self.by_group,
            "by_cell": self.by_cell,
            "changes_summary": self.changes_summary(),
        }

    def write_changes(self, path) -> Path:
        """Write ``changes`` to a CSV (``.csv``, ``.csv.gz``) or Parquet (``.parquet``) file."""
        return _write_frame(self.changes, path)

    def write_cleaned(self, path) -> Path:
        """Write ``cleaned`` (with its weight column) to a CSV or Parquet file."""
        return _write_frame(self.cleaned, path, index=False)

    def figures(self) -> list:
        return _figures(self)


def _write_frame(frame: pd.DataFrame, path, *, index: bool = False) -> Path:
    path = Path(path)
    name = path.name.lower()
    if name.endswith(".parquet"):
        frame.to_parquet(path, index=index)
    elif name.endswith((".csv", ".csv.gz")):
        frame.to_csv(path, index=index)
    else:
        raise FileFormatError(
            f"Cannot write {str(path)!r}: use a .csv, .csv.gz or .parquet file name."
        )
    return path


# --------------------------------------------------------------------------- figures
def _figures(result: MLCleanResult) -> list:
    """Changes per group (stacked bars) and score histograms per group, kept vs removed."""
    import plotly.graph_objects as go

    margin = {"l": 10, "r": 10, "t": 50, "b": 40}
    table = result.by_group
    fig = go.Figure()
    for column, name in (("merged", "merged"), ("removed", "removed")):
        fig.add_trace(go.Bar(x=table["group"], y=table[column] / table["rows_in"], name=name))
    fig.update_layout(
        title="Rows merged and removed, share of each group",
        barmode="stack",
        yaxis_title="share of the group's rows",
        margin=margin,
    )
    figures = [fig]
    cells = result.by_cell
    if result.meta["reweigh"] and len(cells):
        fig = go.Figure()
        for label, part in cells.groupby("label", sort=True):
            fig.add_trace(go.Bar(x=part["group"], y=part["weight"], name=f"label {label}"))
        fig.add_hline(y=1.0, line_dash="dot")
        fig.update_layout(
            title="Reweighing: weight per group and label",
            barmode="group",
            yaxis_title="weight",
            margin=margin,
        )
        figures.append(fig)
    hist = result.score_histograms
    for (score, group), part in hist.groupby(["score", "group"], sort=False):
        centres = (part["bin_left"] + part["bin_right"]) / 2
        fig = go.Figure()
        fig.add_trace(go.Bar(x=centres, y=part["kept"], name="kept"))
        fig.add_trace(go.Bar(x=centres, y=part["removed"], name="removed"))
        fig.update_layout(
            title=f"{score} score, {group}",
            barmode="stack",
            bargap=0,
            xaxis_title=score,
            yaxis_title="rows",
            margin=margin,
        )
        figures.append(fig)
        if len(figures) >= 10:
            break
    return figures


# --------------------------------------------------------------------------- encoding
@dataclass
class _Encoded:
    """One pass over the table: normalised categorical codes, standardised numerics, features."""

    block_codes: np.ndarray  # (n, c) int codes of categorical values and numeric missingness
    numeric: np.ndarray  # (n, m) standardised numeric values, missing as 0
    numeric_names: list
    features: np.ndarray  # (n, d) standardised numerics + one-hot categories of the features


def _normalised_codes(series: pd.Series) -> np.ndarray:
    """Codes of a categorical-like column after stripping and case-folding text (-1 missing)."""
    values = series.astype(object)
    missing = values.isna().to_numpy()
    text = values.where(~missing, "").astype(str).str.strip().str.casefold()
    codes, _ = pd.factorize(text, sort=False)
    return np.where(missing, -1, codes).astype(np.int64)


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series.dtype) and not (
        pd.api.types.is_bool_dtype(series.dtype) or isinstance(series.dtype, pd.CategoricalDtype)
    )


def _encode(frame: pd.DataFrame, compare: list, features: list) -> _Encoded:
    n = len(frame)
    blocks, numeric, numeric_names, feature_parts = [], [], [], []
    feature_set = set(features)
    for name in compare:
        series = frame[name]
        if _is_numeric(series):
            values = series.to_numpy(dtype=float, na_value=np.nan)
            finite = np.isfinite(values)
            if not finite.any():
                blocks.append(np.zeros(n, dtype=np.int64))
                continue
            mean = values[finite].mean()
            std = values[finite].std()
            z = np.where(finite, (values - mean) / (std if std > 0 else 1.0), 0.0)
            numeric.append(z)
            numeric_names.append(name)
            blocks.append((~finite).astype(np.int64))
            if name in feature_set:
                feature_parts.append(z[:, None])
        else:
            if pd.api.types.is_datetime64_any_dtype(series.dtype):
                series = series.astype(str)
            codes = _normalised_codes(series)
            blocks.append(codes)
            if name in feature_set:
                k = int(codes.max()) + 2  # + missing
                shifted = codes + 1
                if k > _MAX_ONE_HOT:
                    counts = np.bincount(shifted, minlength=k)
                    keep = np.argsort(-counts, kind="stable")[: _MAX_ONE_HOT - 1]
                    lookup = np.full(k, _MAX_ONE_HOT - 1)
                    lookup[keep] = np.arange(keep.size)
                    shifted, k = lookup[shifted], _MAX_ONE_HOT
                one_hot = np.zeros((n, k))
                one_hot[np.arange(n), shifted] = 1.0
                feature_parts.append(one_hot[:, one_hot.any(axis=0)])
    return _Encoded(
        block_codes=np.column_stack(blocks) if blocks else np.zeros((n, 0), dtype=np.int64),
        numeric=np.column_stack(numeric) if numeric else np.zeros((n, 0)),
        numeric_names=numeric_names,
        features=np.hstack(feature_parts) if feature_parts else np.zeros((n, 0)),
    )


# --------------------------------------------------------------------------- duplicates
def _duplicate_clusters(enc: _Encoded, tolerance: float) -> np.ndarray:
    """Cluster id of every row (connected components of the match graph)."""
    from scipy.sparse.csgraph import connected_components
    from sklearn.neighbors import NearestNeighbors

    n = len(enc.numeric)
    if enc.block_codes.shape[1]:
        _, block = np.unique(enc.block_codes, axis=0, return_inverse=True)
        block = block.ravel()
    else:
        block = np.zeros(n, dtype=np.int64)
    if enc.numeric.shape[1] == 0:
        return block  # rows match exactly on every (categorical) column
    # One coordinate per block, spaced wider than the radius: rows of different blocks never match.
    spacing = 2.0 * tolerance + 1.0
    points = np.column_stack([enc.numeric, block.astype(float) * spacing])
    index = NearestNeighbors(radius=tolerance, metric="chebyshev", algorithm="kd_tree")
    graph = index.fit(points).radius_neighbors_graph(points, mode="connectivity")
    _, labels = connected_components(graph, directed=False)
    return labels.astype(np.int64)


# --------------------------------------------------------------------------- scores
def _out_of_fold(X, labels, k, *, estimator, cv, random_state, step):
    """Out-of-fold predicted probabilities (n, k), one fit per fold."""
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold

    if estimator is None:
        from sklearn.ensemble import HistGradientBoostingClassifier

        estimator = HistGradientBoostingClassifier(
            categorical_features="from_dtype", max_iter=100, random_state=random_state
        )
    probs = np.zeros((len(labels), k))
    folds = StratifiedKFold(n_splits=cv, shuffle=True, random_state=random_state)
    for i, (train, test) in enumerate(folds.split(np.zeros(len(labels)), labels)):
        model = clone(estimator)
        try:
            model.fit(X.iloc[train], labels[train])
            fold_probs = model.predict_proba(X.iloc[test])
        except (ValueError, TypeError) as error:
            raise DataError(
                f"The estimator {type(estimator).__name__} could not fit the features: {error}. "
                f"Pass an estimator (or a Pipeline) that handles them, or sanitize='distance'."
            ) from error
        probs[np.ix_(test, np.asarray(model.classes_, dtype=np.int64))] = fold_probs
        step(f"fold {i + 1} of {cv}")
    return probs, type(estimator).__name__


def _within_cell_percentile(score: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """Percentile rank (0, 1] of every score within its cell (average rank for ties)."""
    return pd.Series(score).groupby(cell).rank(method="average", pct=True).to_numpy()


def _distance_margin(Z, labels, grouping, sums, counts, k):
    """Distance to the own (grouping, label) centroid minus the distance to the nearest centroid of
    another label in the same grouping (the overall centroid of that label when the grouping has
    none). Centroids come from the shared sums and counts."""
    with np.errstate(invalid="ignore", divide="ignore"):
        centroids = sums / counts[:, :, None]  # (groups, k, d)
    overall = sums.sum(axis=0) / np.maximum(counts.sum(axis=0), 1)[:, None]  # (k, d)
    empty = counts == 0
    centroids = np.where(empty[:, :, None], overall[None, :, :], centroids)
    distances = np.empty((len(labels), k))
    for c in range(k):  # labels, not rows
        distances[:, c] = np.linalg.norm(Z - centroids[grouping, c], axis=1)
    own = distances[np.arange(len(labels)), labels]
    others = distances.copy()
    others[np.arange(len(labels)), labels] = np.inf
    nearest_other = others.min(axis=1)
    return own - nearest_other, own


def _top_per_cell(score: np.ndarray, cell: np.ndarray, quota: np.ndarray) -> np.ndarray:
    """Mask of the ``quota[cell]`` highest scores of every cell (ties broken by position)."""
    order = np.lexsort((np.arange(len(score)), -score, cell))
    sorted_cells = cell[order]
    starts = np.searchsorted(sorted_cells, sorted_cells, side="left")
    rank = np.arange(len(order)) - starts
    mask = np.zeros(len(score), dtype=bool)
    mask[order[rank < quota[sorted_cells]]] = True
    return mask


def _cell_stats(codes: np.ndarray, Z: np.ndarray, n_cells: int):
    """Row counts and feature sums per cell (one pass)."""
    counts = np.bincount(codes, minlength=n_cells).astype(float)
    sums = np.zeros((n_cells, Z.shape[1]))
    np.add.at(sums, codes, Z)
    return counts, sums


def _histograms(scores: dict, group_names, group_of, removed) -> pd.DataFrame:
    parts = []
    for score_name, values in scores.items():
        finite = np.isfinite(values)
        if not finite.any():
            continue
        edges = np.histogram_bin_edges(values[finite], bins=_HIST_BINS)
        bins = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, _HIST_BINS - 1)
        n_groups = len(group_names)
        cell = group_of * _HIST_BINS + bins
        kept = np.bincount(cell[finite & ~removed], minlength=n_groups * _HIST_BINS)
        gone = np.bincount(cell[finite & removed], minlength=n_groups * _HIST_BINS)
        parts.append(
            pd.DataFrame(
                {
                    "score": score_name,
                    "group": np.repeat(np.asarray(group_names, dtype=object), _HIST_BINS),
                    "bin_left": np.tile(edges[:-1], n_groups),
                    "bin_right": np.tile(edges[1:], n_groups),
                    "kept": kept.astype(np.int64),
                    "removed": gone.astype(np.int64),
                }
            )
        )
    if not parts:
        return pd.DataFrame(
            {
                "score": pd.Series(dtype=object),
                "group": pd.Series(dtype=object),
                "bin_left": pd.Series(dtype=float),
                "bin_right": pd.Series(dtype=float),
                "kept": pd.Series(dtype=np.int64),
                "removed": pd.Series(dtype=np.int64),
            }
        )
    return pd.concat(parts, ignore_index=True)


def _error_counts(labels, probs, k: int) -> np.ndarray:
    """Likely label errors per given label, by confident learning (cleanlab's
    ``prune_by_noise_rate`` count: the calibrated confident joint off its diagonal) with the
    per-label thresholds (a label's mean self-confidence) re-estimated on the rows a first pass
    kept. The first pass's thresholds are pulled down by the very errors it looks for (a
    mislabelled row has a low probability of its given label), so under heavy one-sided noise it
    counts correct rows of the other label as errors."""

    first, _ = confident_learning(labels, probs)
    thresholds = np.ones(k)
    for j in range(k):  # labels, not rows
        own = labels == j
        clean = own & ~first
        rows = clean if clean.any() else own
        if rows.any():
            thresholds[j] = probs[rows, j].mean()
    calibrated = calibrated_joint(labels, probs, thresholds)
    off = calibrated.sum(axis=1) - np.diagonal(calibrated)
    return np.floor(off + 0.5).astype(np.int64)


def _auto_quota(probs, labels, grouping, n_grouping: int, k: int) -> np.ndarray:
    """Rows to remove per (grouping, label) cell: the likely label errors confident learning finds
    within each grouping, so that a group's own confidence levels set its thresholds. Groupings
    smaller than ``_AUTO_MIN_ROWS`` (or with one label) take the whole population's rate of
    issues per label instead: a handful of rows cannot calibrate thresholds."""
    label_counts = np.bincount(labels, minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        overall_rate = _error_counts(labels, probs, k) / np.maximum(label_counts, 1)
    cells = grouping * k + labels
    cell_counts = np.bincount(cells, minlength=n_grouping * k)
    quota = np.floor(
        cell_counts.reshape(n_grouping, k) * overall_rate[None, :] + 0.5 + 1e-9
    ).astype(np.int64)
    sizes = np.bincount(grouping, minlength=n_grouping)
    for g in np.flatnonzero(sizes >= _AUTO_MIN_ROWS):  # groups, not rows
        rows = np.flatnonzero(grouping == g)
        if np.unique(labels[rows]).size < 2:
            continue
        quota[g] = _error_counts(labels[rows], probs[rows], k)
    return quota.ravel()


class _Steps:
    """Reports ``progress(done, total, description)`` after each step of the pipeline."""

    def __init__(self, progress, total: int) -> None:
        self.progress, self.total, self.done = progress, total, 0

    def __call__(self, description: str) -> None:
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, max(self.total, self.done), description)


# the change log's columns and their types (also of an empty log)
_CHANGE_COLUMNS = {
    "row": np.int64,
    "action": object,
    "reason": object,
    "group": object,
    "label": object,
    "score": float,
    "weight": float,
    "merged_into": np.int64,
}


def _text(values) -> np.ndarray:
    """Values as an object array of str, for elementwise string concatenation."""
    return np.asarray(values).astype(str).astype(object)


# --------------------------------------------------------------------------- the pipeline
@recorded("data.mlclean")
def clean(
    data,
    *,
    duplicate_tolerance: float | None = 0.01,
    contamination: float | str = "auto",
    sanitize: str = "loss",
    per_group: bool = True,
    reweigh: bool = True,
    estimator=None,
    cv: int = 5,
    weight_column: str = "weight",
    random_state=None,
    progress: Callable[[int, int, str], None] | None = None,
    ledger=None,
) -> MLCleanResult:
    """Merge near-duplicates, remove likely poisoned or mislabelled rows per group, and reweigh.

    One pipeline after Tae et al. (DEEM 2019); see the module documentation for each stage.

    A function, not an estimator: what it learns (which rows are duplicates or look poisoned,
    and the weights) describes the rows of this one table, and there is nothing to apply to new
    rows, so there is no ``transform``. The result holds the cleaned Dataset and the change log.

    Parameters
    ----------
    data : Dataset
        Labelled training data, its sensitive columns named in the Dataset
        (``Dataset(frame, target=..., sensitive=[...])``).
    duplicate_tolerance : float or None, default 0.01
        Two rows with the same (normalised) categorical values are duplicates when every numeric
        value differs by at most this many standard deviations of its column. ``0`` finds only
        exact duplicates (after normalising text); ``None`` skips duplicate detection.
    contamination : "auto" or float, default "auto"
        A float is the share of every (group, label) cell removed by sanitisation (the paper's
        fixed budget); ``0`` removes nothing. ``"auto"`` removes, per cell, as many rows as
        confident learning (run within each group on the out-of-fold probabilities, thresholds
        re-estimated on the rows a first pass kept) estimates to be mislabelled; groups under 50
        rows take the population's rate per label; it needs a loss score. No cell loses more
        than half of its rows.
    sanitize : {"loss", "loss+distance", "distance", "none"}, default "loss"
        Score used to rank rows within their cell: out-of-fold log loss of the given label, the
        mean of the within-cell percentile ranks of the loss and the centroid distance margin, or
        the margin alone. On Adult with poisoned labels the loss alone ranks flips better than
        with the margin added (``bench/bench_mlclean.py``).
    per_group : bool, default True
        Score and threshold within (group, label) cells. ``False`` uses (label) cells over the
        whole population (what a sanitiser unaware of groups does; kept for comparison).
    reweigh : bool, default True
        Give the cleaned rows Kamiran-Calders weights; otherwise every weight is 1.
    estimator : scikit-learn classifier, optional
        Model of the loss score, cross-fitted on the features. Default: a
        ``HistGradientBoostingClassifier`` that reads categories and missing values directly.
    cv : int, default 5
        Folds of the out-of-fold probabilities.
    weight_column : str, default "weight"
        Name of the weight column added to the cleaned data.
    random_state : int, RandomState or None, default None
        Seed of the folds and the default model.
    progress : callable, optional
        ``progress(done, total, description)`` after each step (folds included), the
        description naming the step.
    ledger : raikit.ledger.Ledger, optional
        Record the result as evidence.

    Returns
    -------
    MLCleanResult

    See Also
    --------
    raikit.data.label_issues : the label check it builds on.
    raikit.data.leakage : duplicates across a split.

    Examples
    --------
    >>> from raikit.data import clean
    >>> from raikit.datasets import load_german_credit
    >>> ds = load_german_credit()
    >>> result = clean(ds, contamination=0.05, cv=3, random_state=0)
    >>> result.n_rows_in == result.n_rows_out + result.n_merged + result.n_removed
    True
    >>> sorted(result.changes["action"].unique())
    ['removed', 'reweighed']
    >>> bool(abs(result.sample_weight.sum() - result.n_rows_out) < 1e-6)
    True
    """
    cleaner = _Cleaner(
        duplicate_tolerance=duplicate_tolerance,
        contamination=contamination,
        sanitize=sanitize,
        per_group=per_group,
        reweigh=reweigh,
        estimator=estimator,
        cv=cv,
        weight_column=weight_column,
        random_state=random_state,
    )
    return cleaner.run(data, progress=progress, ledger=ledger)


class _Cleaner:
    """The parameters and stages of :func:`clean` (see there)."""

    def __init__(  # no defaults: clean() holds them, once
        self,
        *,
        duplicate_tolerance: float | None,
        contamination: float | str,
        sanitize: str,
        per_group: bool,
        reweigh: bool,
        estimator,
        cv: int,
        weight_column: str,
        random_state,
    ) -> None:
        self.duplicate_tolerance = duplicate_tolerance
        self.contamination = contamination
        self.sanitize = sanitize
        self.per_group = per_group
        self.reweigh = reweigh
        self.estimator = estimator
        self.cv = cv
        self.weight_column = weight_column
        self.random_state = random_state

    # ------------------------------------------------------------------ validation
    def _check_params(self) -> None:
        tol = self.duplicate_tolerance
        if tol is not None and (
            isinstance(tol, bool) or not isinstance(tol, int | float) or not tol >= 0
        ):
            raise ParameterError(
                f"duplicate_tolerance must be a number >= 0 (standard deviations) or None to skip "
                f"duplicates, got {tol!r}."
            )
        c = self.contamination
        if isinstance(c, str):
            if c != "auto":
                raise ParameterError(
                    f'contamination must be a share in [0, 0.5) or "auto", got {c!r}.'
                )
            if self.sanitize == "distance":
                raise ParameterError(
                    f'contamination="auto" estimates noise from the model\'s probabilities; it '
                    f"needs sanitize='loss' or 'loss+distance', got sanitize={self.sanitize!r}. "
                    f"Pass a share instead, e.g. contamination=0.1."
                )
        elif isinstance(c, bool) or not isinstance(c, int | float) or not 0 <= c < 0.5:
            raise ParameterError(f'contamination must be a share in [0, 0.5) or "auto", got {c!r}.')
        if self.sanitize not in SANITIZERS:
            raise ParameterError(
                f"sanitize must be one of {list(SANITIZERS)}, got {self.sanitize!r}."
            )
        if isinstance(self.cv, bool) or not isinstance(self.cv, int) or self.cv < 2:
            raise ParameterError(f"cv must be an integer of at least 2, got {self.cv!r}.")
        if not isinstance(self.weight_column, str) or not self.weight_column:
            raise ParameterError(
                f"weight_column must be a non-empty string, got {self.weight_column!r}."
            )

    def run(self, data, *, progress=None, ledger=None) -> MLCleanResult:
        """Clean the Dataset ``data`` (see :func:`clean`)."""
        self._check_params()
        s = self._prepare(data)
        folds = self.cv if "loss" in self.sanitize and self.contamination != 0 else 0
        step = _Steps(progress, 4 + folds)

        # ---- one pass of shared statistics; the stages update counts and sums in place
        s.enc = _encode(s.frame, s.compare, s.features)
        s.Z = s.enc.features
        s.n_cells = s.n_groups * s.k
        s.cell = s.groups * s.k + s.labels
        s.counts_in = np.bincount(s.cell, minlength=s.n_cells)
        s.counts, s.sums = _cell_stats(s.cell, s.Z, s.n_cells)
        step("encoded rows and cell statistics")

        self._merge_duplicates(s)
        step("merged duplicates")
        self._sanitise(s, step)
        step("sanitised")
        self._reweigh(s)
        step("reweighed")

        result = self._result(s)
        self.result_ = result
        return result

    # ------------------------------------------------------------------ stages
    def _prepare(self, data) -> SimpleNamespace:
        """Check the Dataset and derive the per-row codes every stage shares."""
        from raikit.dataset import Dataset

        if not isinstance(data, Dataset):
            raise ParameterError(
                f"clean(): data must be a raikit.Dataset with a target and sensitive columns, got "
                f"{type(data).__name__}; wrap a table as Dataset(frame, target='label', "
                f"sensitive=['sex', ...])."
            )
        ds, index = data, data.frame.index
        if ds.target is None:
            raise DataError(
                "clean() needs labels: the Dataset has no target; build it with "
                "Dataset(frame, target='label', sensitive=[...])."
            )
        frame = ds.frame
        if self.weight_column in frame.columns:
            raise ColumnError(
                f"The data already has a column {self.weight_column!r}; pass another "
                f"weight_column= for the weights MLClean adds."
            )
        labels, classes = class_codes(ds, "MLClean")
        n = ds.n_rows
        if index is None or len(index) != n:
            index = pd.RangeIndex(n)
        features = list(ds.feature_names)
        codes, group_table = ds.groups()
        group_names = np.array(  # one slice key per group (a handful), not per row
            [
                SliceKey(zip(group_table.columns, row, strict=True)).text
                for row in group_table.itertuples(index=False)
            ],
            dtype=object,
        )
        return SimpleNamespace(
            ds=ds,
            index=index,
            frame=frame,
            labels=labels,
            classes=classes,
            k=len(classes),
            n=n,
            features=features,
            # duplicates are judged on what describes a person: features and sensitive
            # attributes (not the label, predictions, or columns outside the roles such as ids)
            compare=features + [c for c in ds.sensitive_names if c not in features],
            group_names=group_names,
            n_groups=len(group_names),
            groups=np.asarray(codes, dtype=np.int64),
        )

    def _merge_duplicates(self, s: SimpleNamespace) -> None:
        """Stage 1: merge each near-duplicate cluster into one representative row."""
        n, k, labels = s.n, s.k, s.labels
        s.alive = np.ones(n, dtype=bool)
        s.merged_into = np.full(n, -1, dtype=np.int64)
        s.dup_distance = np.full(n, np.nan)
        s.conflict = np.zeros(n, dtype=bool)
        s.cluster_counts = None
        s.cluster = np.arange(n)
        if self.duplicate_tolerance is None:
            return
        cluster = _duplicate_clusters(s.enc, float(self.duplicate_tolerance))
        _, cluster = np.unique(cluster, return_inverse=True)
        n_clusters = int(cluster.max()) + 1
        cluster_counts = np.bincount(cluster * k + labels, minlength=n_clusters * k).reshape(
            n_clusters, k
        )
        size = cluster_counts.sum(axis=1)
        first = np.full(n_clusters, n, dtype=np.int64)
        np.minimum.at(first, cluster, np.arange(n))
        top = cluster_counts.max(axis=1)
        tied = (cluster_counts == top[:, None]).sum(axis=1) > 1
        # majority label; a tie keeps the label of the cluster's first row
        keep_label = np.where(tied, labels[first], cluster_counts.argmax(axis=1))
        candidate = np.where(labels == keep_label[cluster], np.arange(n), n)
        representative = np.full(n_clusters, n, dtype=np.int64)
        np.minimum.at(representative, cluster, candidate)
        rep = representative[cluster]
        is_merged = (size[cluster] > 1) & (rep != np.arange(n))
        s.merged_into[is_merged] = rep[is_merged]
        if s.enc.numeric.shape[1]:
            diff = np.abs(s.enc.numeric - s.enc.numeric[rep]).max(axis=1)
        else:
            diff = np.zeros(n)
        s.dup_distance[is_merged] = diff[is_merged]
        s.conflict = (cluster_counts > 0).sum(axis=1)[cluster] > 1
        s.cluster, s.cluster_counts = cluster, cluster_counts
        s.alive &= ~is_merged
        self._drop_from_cells(s, np.flatnonzero(is_merged))

    @staticmethod
    def _drop_from_cells(s: SimpleNamespace, gone: np.ndarray) -> None:
        # keep the shared cell counts and feature sums equal to those of the surviving rows
        s.counts -= np.bincount(s.cell[gone], minlength=s.n_cells)
        np.subtract.at(s.sums, s.cell[gone], s.Z[gone])

    def _sanitise(self, s: SimpleNamespace, step) -> None:
        """Stage 2: score the de-duplicated rows and remove the worst of each cell."""
        n, k = s.n, s.k
        s.removed = np.zeros(n, dtype=bool)
        s.score = np.full(n, np.nan)
        s.loss = np.full(n, np.nan)
        s.margin = np.full(n, np.nan)
        s.p_given = np.full(n, np.nan)
        s.estimator_name = None
        s.quota = None
        s.sanitizing = self.sanitize != "none" and self.contamination != 0
        s.grouping = s.groups if self.per_group else np.zeros(n, dtype=np.int64)
        n_grouping = s.n_groups if self.per_group else 1
        s.san_cell = s.grouping * k + s.labels
        if not s.sanitizing:
            return
        live = np.flatnonzero(s.alive)
        probs = self._loss_scores(s, live, step) if "loss" in self.sanitize else None
        if "distance" in self.sanitize:
            self._margin_scores(s, live)
        live_cells = s.san_cell[live]
        if self.sanitize == "loss":
            s.score[live] = s.loss[live]
        elif self.sanitize == "distance":
            s.score[live] = s.margin[live]
        else:
            s.score[live] = (
                _within_cell_percentile(s.loss[live], live_cells)
                + _within_cell_percentile(s.margin[live], live_cells)
            ) / 2
        live_cell_counts = np.bincount(live_cells, minlength=n_grouping * k)
        if self.contamination == "auto":
            quota = _auto_quota(probs, s.labels[live], s.grouping[live], n_grouping, k)
        else:
            quota = np.floor(live_cell_counts * float(self.contamination) + 0.5 + 1e-9).astype(
                np.int64
            )
        # never empty a cell: at most half of its rows go
        s.quota = np.minimum(quota, live_cell_counts // 2)
        flagged = _top_per_cell(s.score[live], live_cells, s.quota)
        s.removed[live[flagged]] = True
        self._drop_from_cells(s, live[flagged])
        s.alive &= ~s.removed

    def _loss_scores(self, s: SimpleNamespace, live: np.ndarray, step) -> np.ndarray:
        """Out-of-fold log loss of each live row's label; returns the live rows' probabilities."""
        live_labels = s.labels[live]
        live_counts = np.bincount(live_labels, minlength=s.k)
        if live_counts.min() < self.cv:
            rare = s.classes[int(np.argmin(live_counts))]
            raise DataError(
                f"Label {rare!r} has only {live_counts.min()} row(s) after merging "
                f"duplicates, fewer than cv={self.cv} folds; lower cv or use "
                f"sanitize='distance'."
            )
        X = model_frame(s.ds.X.iloc[live])
        probs, s.estimator_name = _out_of_fold(
            X,
            live_labels,
            s.k,
            estimator=self.estimator,
            cv=self.cv,
            random_state=self.random_state,
            step=step,
        )
        given = probs[np.arange(live.size), live_labels]
        s.p_given[live] = given
        s.loss[live] = -np.log(np.clip(given, 1e-12, 1.0))
        return probs

    def _margin_scores(self, s: SimpleNamespace, live: np.ndarray) -> None:
        """Centroid distance margin of each live row, centroids from the de-duplicated rows."""
        k = s.k
        if self.per_group:
            g_counts = s.counts.reshape(s.n_groups, k)
            g_sums = s.sums.reshape(s.n_groups, k, -1)
        else:
            g_counts = s.counts.reshape(s.n_groups, k).sum(axis=0, keepdims=True)
            g_sums = s.sums.reshape(s.n_groups, k, -1).sum(axis=0, keepdims=True)
        m_live, _ = _distance_margin(
            s.Z[live], s.labels[live], s.grouping[live], g_sums, g_counts, k
        )
        s.margin[live] = m_live

    def _reweigh(self, s: SimpleNamespace) -> None:
        """Stage 3: weights of the cleaned rows (0 for merged and removed ones)."""
        s.kept = np.flatnonzero(s.alive)
        s.weights = np.zeros(s.n)
        if self.reweigh:
            from raikit._fair_groups import reweighing_weights

            s.weights[s.kept] = reweighing_weights(s.labels[s.kept], s.groups[s.kept])
        else:
            s.weights[s.kept] = 1.0

    def _result(self, s: SimpleNamespace) -> MLCleanResult:
        """Assemble the change log, tables, histograms and findings into the result."""
        changes = self._changes(
            n=s.n,
            labels=s.labels,
            classes=s.classes,
            groups=s.groups,
            group_names=s.group_names,
            merged_into=s.merged_into,
            dup_distance=s.dup_distance,
            conflict=s.conflict,
            cluster=s.cluster,
            cluster_counts=s.cluster_counts,
            removed=s.removed,
            score=s.score,
            loss=s.loss,
            margin=s.margin,
            p_given=s.p_given,
            san_cell=s.san_cell,
            live_quota=s.quota,
            kept=s.kept,
            weights=s.weights,
            counts=s.counts,
            n_groups=s.n_groups,
            k=s.k,
        )
        by_cell, by_group = self._tables(
            counts_in=s.counts_in,
            counts_out=s.counts.astype(np.int64),
            cell=s.cell,
            merged=s.merged_into >= 0,
            removed=s.removed,
            weights=s.weights,
            group_names=s.group_names,
            classes=s.classes,
            n_groups=s.n_groups,
            k=s.k,
            labels=s.labels,
        )
        n_merged = int((s.merged_into >= 0).sum())
        n_removed = int(s.removed.sum())
        findings = self._findings(
            by_group=by_group,
            by_cell=by_cell,
            n=s.n,
            n_merged=n_merged,
            n_removed=n_removed,
            conflict_clusters=(
                int(((s.cluster_counts > 0).sum(axis=1) > 1).sum())
                if s.cluster_counts is not None
                else 0
            ),
            sanitizing=s.sanitizing,
        )
        return MLCleanResult(
            cleaned=self._cleaned(s),
            changes=changes,
            by_group=by_group,
            by_cell=by_cell,
            score_histograms=self._score_histograms(s),
            n_rows_in=s.n,
            n_rows_out=int(s.kept.size),
            n_merged=n_merged,
            n_removed=n_removed,
            n_reweighed=int((changes["action"] == "reweighed").sum()),
            target=s.ds.target,
            sensitive_names=list(s.ds.sensitive_names),
            feature_names=s.features,
            classes=list(s.classes),
            findings=tuple(findings),
            meta=self._meta(s),
        )

    def _score_histograms(self, s: SimpleNamespace) -> pd.DataFrame:
        # only the scores sanitisation actually computed
        hist_scores = {}
        if s.sanitizing:
            if "loss" in self.sanitize:
                hist_scores["loss"] = s.loss
            if "distance" in self.sanitize:
                hist_scores["distance margin"] = s.margin
        return _histograms(hist_scores, s.group_names, s.groups, s.removed)

    def _cleaned(self, s: SimpleNamespace) -> pd.DataFrame:
        cleaned = s.frame.iloc[s.kept].copy()
        cleaned.index = s.index[s.kept]
        cleaned[self.weight_column] = s.weights[s.kept]
        return cleaned

    def _meta(self, s: SimpleNamespace) -> dict:
        return {
            "duplicate_tolerance": self.duplicate_tolerance,
            "contamination": self.contamination,
            "sanitize": self.sanitize,
            "per_group": bool(self.per_group),
            "reweigh": bool(self.reweigh),
            "estimator": s.estimator_name,
            "cv": self.cv,
            "random_state": self.random_state,
            "weight_column": self.weight_column,
            "missing_group": s.ds.missing_group,
            "name": s.ds.name,
        }

    # ------------------------------------------------------------------ reporting
    def _changes(self, **v) -> pd.DataFrame:
        """The change log. Reasons are built with object-array string arithmetic (elementwise,
        no Python loop over rows) except for the few rows of conflicting duplicate clusters."""
        v["label_values"] = np.asarray(v["classes"], dtype=object)
        v["label_text"] = np.asarray([str(c) for c in v["classes"]], dtype=object)
        parts = [
            part
            for part in (
                self._merged_changes(v),
                self._removed_changes(v),
                self._reweighed_changes(v),
            )
            if part is not None
        ]
        if not parts:
            return pd.DataFrame({c: pd.Series(dtype=t) for c, t in _CHANGE_COLUMNS.items()})
        return pd.concat(parts, ignore_index=True).astype(_CHANGE_COLUMNS)

    @staticmethod
    def _merged_changes(v: dict) -> pd.DataFrame | None:
        labels, classes, label_text = v["labels"], v["classes"], v["label_text"]
        merged = np.flatnonzero(v["merged_into"] >= 0)
        if not merged.size:
            return None
        into = v["merged_into"][merged]
        dist = v["dup_distance"][merged]
        exact = dist == 0
        reason = np.where(exact, "exact duplicate of row ", "near duplicate of row ").astype(
            object
        ) + _text(into)
        rounded = _text(np.round(dist, 4))
        reason = np.where(
            exact, reason, reason + " (largest numeric difference " + rounded + " sd)"
        )
        conflicted = v["conflict"][merged]
        if conflicted.any():
            # a Python loop, but only over the rows of clusters whose labels disagree
            counts = v["cluster_counts"][v["cluster"][merged[conflicted]]]
            tally = np.asarray(
                [", ".join(f"{classes[j]}: {c}" for j, c in enumerate(r) if c) for r in counts],
                dtype=object,
            )
            reason[conflicted] = (
                reason[conflicted]
                + "; labels conflict in this cluster ("
                + tally
                + "), kept label "
                + label_text[labels[into[conflicted]]]
                + ", this row had "
                + label_text[labels[merged[conflicted]]]
            )
        return pd.DataFrame(
            {
                "row": merged,
                "action": "merged",
                "reason": reason,
                "group": v["group_names"][v["groups"][merged]],
                "label": v["label_values"][labels[merged]],
                "score": dist,
                "weight": 0.0,
                "merged_into": into,
            }
        )

    def _removed_changes(self, v: dict) -> pd.DataFrame | None:
        labels, group_names, groups = v["labels"], v["group_names"], v["groups"]
        removed = np.flatnonzero(v["removed"])
        if not removed.size:
            return None
        quota = v["live_quota"][v["san_cell"][removed]]
        scope = group_names[groups[removed]] if self.per_group else "all groups"
        reason = (
            "likely mislabelled or poisoned: among the "
            + _text(quota)
            + " highest "
            + self.sanitize
            + " scores of label "
            + v["label_text"][labels[removed]]
            + " rows in "
            + scope
        )
        if "loss" in self.sanitize:
            reason = reason + "; model p(label) = " + _text(np.round(v["p_given"][removed], 4))
        if "distance" in self.sanitize:
            reason = (
                reason
                + "; distance to own centroid minus nearest other label's = "
                + _text(np.round(v["margin"][removed], 3))
                + " (standardised units)"
            )
        return pd.DataFrame(
            {
                "row": removed,
                "action": "removed",
                "reason": reason,
                "group": group_names[groups[removed]],
                "label": v["label_values"][labels[removed]],
                "score": v["score"][removed],
                "weight": 0.0,
                "merged_into": -1,
            }
        )

    def _reweighed_changes(self, v: dict) -> pd.DataFrame | None:
        kept, weights = v["kept"], v["weights"]
        if not (self.reweigh and kept.size):
            return None
        changed = kept[np.abs(weights[kept] - 1.0) > 1e-12]
        counts = v["counts"].reshape(v["n_groups"], v["k"]).astype(np.int64)
        n_g, n_y = counts.sum(axis=1), counts.sum(axis=0)
        # one reason per (group, label) cell, then looked up by row
        cell_reason = (
            "Kamiran-Calders weight P(group) P(label) / P(group, label) = "
            + _text(n_g)[:, None]
            + " x "
            + _text(n_y)[None, :]
            + " / ("
            + str(int(counts.sum()))
            + " x "
            + _text(counts)
            + "): label "
            + v["label_text"][None, :]
            + " is "
        )
        g, y = v["groups"][changed], v["labels"][changed]
        direction = np.where(weights[changed] > 1, "under", "over").astype(object)
        reason = cell_reason[g, y] + direction + "-represented in its group"
        return pd.DataFrame(
            {
                "row": changed,
                "action": "reweighed",
                "reason": reason,
                "group": v["group_names"][g],
                "label": v["label_values"][y],
                "score": weights[changed],
                "weight": weights[changed],
                "merged_into": -1,
            }
        )

    @staticmethod
    def _tables(**v):
        n_groups, k = v["n_groups"], v["k"]
        n_cells = n_groups * k
        cell = v["cell"]
        merged = np.bincount(cell, weights=v["merged"], minlength=n_cells).astype(np.int64)
        removed = np.bincount(cell, weights=v["removed"], minlength=n_cells).astype(np.int64)
        counts_in, counts_out = v["counts_in"], v["counts_out"]
        weight_sum = np.bincount(cell, weights=v["weights"], minlength=n_cells)
        with np.errstate(invalid="ignore", divide="ignore"):
            cell_weight = np.where(counts_out > 0, weight_sum / counts_out, np.nan)
        labels_out = np.asarray(v["classes"], dtype=object)
        by_cell = pd.DataFrame(
            {
                "group": np.repeat(v["group_names"], k),
                "label": np.tile(labels_out, n_groups),
                "rows_in": counts_in.astype(np.int64),
                "merged": merged,
                "removed": removed,
                "rows_out": counts_out,
                "weight": cell_weight,
            }
        )
        # base rates: share of the last label (the positive class of a binary target)
        g_in = counts_in.reshape(n_groups, k)
        g_out = counts_out.reshape(n_groups, k)
        g_w = weight_sum.reshape(n_groups, k)
        g_merged = merged.reshape(n_groups, k).sum(axis=1)
        g_removed = removed.reshape(n_groups, k).sum(axis=1)
        rows_in, rows_out = g_in.sum(axis=1), g_out.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            by_group = pd.DataFrame(
                {
                    "group": v["group_names"],
                    "rows_in": rows_in.astype(np.int64),
                    "merged": g_merged,
                    "removed": g_removed,
                    "rows_out": rows_out.astype(np.int64),
                    "share_in": rows_in / rows_in.sum(),
                    "share_out": rows_out / max(rows_out.sum(), 1),
                    "base_rate_in": g_in[:, -1] / rows_in,
                    "base_rate_out": g_out[:, -1] / rows_out,
                    "base_rate_weighted": g_w[:, -1] / g_w.sum(axis=1),
                    "merge_rate": g_merged / rows_in,
                    "removal_rate": g_removed / (rows_in - g_merged),
                }
            )
        return by_cell, by_group

    def _findings(
        self, *, by_group, by_cell, n, n_merged, n_removed, conflict_clusters, sanitizing
    ):
        findings = []
        if n_merged:
            findings.append(
                Finding(
                    "info",
                    f"{n_merged:,} duplicate row(s) merged",
                    f"{n_merged / n:.2%} of {n:,} rows were exact or near copies of a kept row "
                    f"(tolerance {self.duplicate_tolerance} sd); copies inflate their group's "
                    f"weight in training and in the fairness statistics.",
                )
            )
        if conflict_clusters:
            findings.append(
                Finding(
                    "warning",
                    f"{conflict_clusters:,} duplicate cluster(s) with conflicting labels",
                    "Copies of the same record carry different labels; the majority label was "
                    "kept (ties: the first row's). Review them in the change log: conflicting "
                    "duplicates are a sign of label noise or poisoning.",
                )
            )
        findings += self._group_findings(by_group, n=n, n_merged=n_merged, sanitizing=sanitizing)
        if sanitizing and n_removed > _MANY_REMOVED * (n - n_merged):
            findings.append(
                Finding(
                    "warning",
                    f"Sanitisation removed {n_removed / (n - n_merged):.1%} of the rows",
                    "Where the model predicts the label poorly, the loss score cannot tell label "
                    "errors from hard but correct rows. Review a sample of the removed rows, or "
                    "set a fixed contamination.",
                )
            )
        if sanitizing:
            findings.append(
                Finding(
                    "info",
                    f"{n_removed:,} row(s) removed as likely mislabelled or poisoned",
                    f"{self.sanitize} scores ranked within "
                    f"{'(group, label)' if self.per_group else 'label'} cells, contamination "
                    f"{self.contamination}. The change log gives each row's score and reason.",
                )
            )
        if self.reweigh:
            findings += self._reweigh_findings(by_cell)
        return findings

    @staticmethod
    def _group_findings(by_group, *, n, n_merged, sanitizing) -> list:
        """Groups (of at least 30 rows) whose merge or removal rate stands out."""
        findings = []
        overall_merge = n_merged / n
        overall_removal = by_group["removed"].sum() / max(n - n_merged, 1)
        for row in by_group.itertuples(index=False):
            if row.rows_in < 30:
                continue
            if n_merged and row.merge_rate >= max(1.5 * overall_merge, overall_merge + 0.01):
                findings.append(
                    Finding(
                        "warning",
                        f"Duplicates concentrate in {row.group}",
                        f"{row.merge_rate:.2%} of its {row.rows_in:,} rows were duplicates "
                        f"({row.merge_rate / overall_merge:.2f}x the overall rate); left in, "
                        f"they would over-weight this group.",
                        slice=row.group,
                    )
                )
            if (
                sanitizing
                and overall_removal > 0
                and row.removal_rate >= max(1.5 * overall_removal, overall_removal + 0.01)
            ):
                findings.append(
                    Finding(
                        "warning",
                        f"Sanitisation removed more of {row.group}",
                        f"{row.removal_rate:.2%} of its rows ({row.removed:,}) vs "
                        f"{overall_removal:.2%} overall. Check that these are label errors and "
                        f"not a pattern particular to the group.",
                        slice=row.group,
                    )
                )
        return findings

    @staticmethod
    def _reweigh_findings(by_cell) -> list:
        """Reweighing cells too small for a stable weight, or empty."""
        findings = []
        small = by_cell[(by_cell["rows_out"] > 0) & (by_cell["rows_out"] < 10)]
        if len(small):
            listed = "; ".join(
                f"{r.group}, label {r.label}: {r.rows_out} row(s) at weight {r.weight:.3g}"
                for r in small.itertuples(index=False)
            )
            findings.append(
                Finding(
                    "warning",
                    f"{len(small)} reweighing weight(s) rest on fewer than 10 rows",
                    f"{listed}. Such weights are noisy and a model may over-fit those rows; "
                    f"consider merging small groups.",
                )
            )
        empty = by_cell[by_cell["rows_out"] == 0]
        if len(empty):
            listed = "; ".join(f"{r.group}, label {r.label}" for r in empty.itertuples(index=False))
            findings.append(
                Finding(
                    "warning",
                    f"{len(empty)} (group, label) cell(s) have no rows",
                    f"{listed}. Reweighing cannot make the label independent of the group "
                    f"when a cell is empty; collect data for it.",
                )
            )
        return findings
