"""``multivariate_drift``: has the joint distribution of the columns changed?

Per-column tests (:func:`raikit.data.drift`) compare one column at a time; a change in how the
columns move together (a correlation that appears, a combination of values that becomes common)
leaves every marginal intact and passes them all. Two tests look at the rows whole:

* **Domain classifier.** A gradient-boosted classifier learns to tell reference rows from current
  rows. It is cross-fitted: the rows are cut into ``cv`` folds and each fold is scored by a model
  trained on the others, so every row gets an out-of-fold score. Its AUC is 0.5 when the two
  samples come from one distribution, and grows with any difference the classifier can find. The
  features whose shuffling costs the most AUC are the ones that separate the samples.
* **PCA reconstruction error** (the idea of NannyML's data reconstruction drift). Scaling and a PCA
  keeping 65% of the variance are fitted on half of the reference; every other row is projected
  onto the components and back, and its reconstruction error is its distance to that
  reconstruction. Rows whose columns no longer move as in the reference reconstruct worse, so the
  current mean error rises above that of the reference's other half.

Both run overall and within every sensitive group and intersection (groups from
:mod:`raikit._grouping`, as in ``drift``).

Scale: both tests need rows in memory. A side with more than ``max_rows`` rows is sampled where
its rows live (:meth:`raikit.Dataset.sample`; on files a DuckDB scan that loads only the sample),
stratified by the sensitive groups with proportional allocation so that group shares are kept;
the result says so in ``meta["sampled"]``. The reconstruction error is a nonlinear function of a
whole row (imputation, one-hot encoding, scaling, projection), which the aggregates of a lazy
Dataset do not express, so it is computed on the same samples.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from raikit._errors import DataError, ParameterError
from raikit._grouping import encode_groups
from raikit._recording import recorded
from raikit._result import Finding, Result
from raikit._validation import ALPHA, CI, RANDOM_STATE, Interval, rng_from, validate_params
from raikit.data._common import untested_groups_finding
from raikit.metrics._stats import MIN_GROUP_SIZE

__all__ = ["MultivariateDriftResult", "multivariate_drift"]

METHODS = ("classifier", "pca")
_PCA_VARIANCE = 0.65  # share of the reference's variance the components keep (NannyML's default)
_PCA_LEVELS = 20  # most frequent categories of a column one-hot encoded for the PCA
_MIN_ROWS = 20  # fewest rows a side needs
_IMPORTANCE_ROWS = 10_000  # held-out rows scored again with each column shuffled
_THREADED_ROWS = 50_000  # fewer rows than this: the classifier is fitted on one thread


# --------------------------------------------------------------------------- the result
@dataclass(frozen=True, eq=False)
class MultivariateDriftResult(Result):
    """Multivariate drift, overall and within each sensitive group.

    Attributes
    ----------
    table : DataFrame
        One row per (method, attribute, group); ``attribute``/``group`` are ``"overall"`` for the
        whole population. ``method`` is ``classifier`` or ``pca``. ``statistic`` names
        ``value``: ``auc`` (the domain classifier's out-of-fold AUC, 0.5 without drift) or
        ``error_increase`` (current minus reference mean reconstruction error, 0 without drift).
        ``lower``/``upper`` bound ``value`` at the level ``ci``; ``baseline`` is its value
        without drift (0.5, or the reference's mean error). ``p_value`` (one-sided: drift makes
        the statistic larger), ``p_adjusted`` (Benjamini-Hochberg across the groups of a method;
        equal to ``p_value`` overall), ``n_reference``, ``n_current`` (rows compared) and
        ``drifted`` (``p_adjusted < threshold``). Groups with fewer than ``min_group_size`` rows
        on either side are not tested (NaN).
    features : DataFrame
        The evidence of the classifier: per input column, ``auc_drop`` (the overall AUC lost
        when that column is shuffled in the held-out folds, measured on at most 10,000 of the
        held-out rows), largest first.
    threshold : float
        Significance level of the adjusted p-values (``alpha``).
    sensitive_names : list of str
        The sensitive attributes used for groups.
    findings : tuple of Finding
        Drift overall, drift confined to some groups, groups too small to test.
    meta : dict
        Settings, the columns compared, how each side was sampled, the PCA's components.

    See Also
    --------
    multivariate_drift : computes it.
    DriftResult : drift column by column.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from raikit.data import multivariate_drift
    >>> rng = np.random.default_rng(0)
    >>> ref = pd.DataFrame(rng.normal(size=(300, 2)), columns=["a", "b"])
    >>> r = multivariate_drift(reference=ref, current=ref.copy(), random_state=0)
    >>> r.overall["drifted"].tolist()  # the same rows: no drift
    [False, False]
    """

    table: pd.DataFrame
    features: pd.DataFrame
    threshold: float
    sensitive_names: list
    findings: tuple = field(default_factory=tuple)
    meta: dict = field(default_factory=dict)

    @property
    def overall(self) -> pd.DataFrame:
        """One row per method for the whole population."""
        rows = self.table[self.table["attribute"] == "overall"]
        return rows.drop(columns=["attribute", "group"]).reset_index(drop=True)

    @property
    def by_group(self) -> pd.DataFrame:
        """The rows of each sensitive group and intersection."""
        return self.table[self.table["attribute"] != "overall"].reset_index(drop=True)

    @property
    def drifted(self) -> bool:
        """Whether any method finds drift in the whole population."""
        return bool(self.overall["drifted"].any())

    @property
    def drifted_groups(self) -> pd.DataFrame:
        """(method, attribute, group) rows that drifted."""
        table = self.by_group
        return table.loc[
            table["drifted"], ["method", "attribute", "group", "value", "p_adjusted"]
        ].reset_index(drop=True)

    @property
    def summary(self) -> str:
        parts = []
        for row in self.overall.itertuples():
            what = "AUC" if row.statistic == "auc" else "reconstruction error +"
            verdict = "drift" if row.drifted else "no drift"
            parts.append(
                f"{row.method}: {verdict} ({what}{row.value:.3f}, "
                f"{self.meta.get('ci', 0.95):.0%} CI {row.lower:.3f} to {row.upper:.3f}, "
                f"p = {row.p_value:.2g})"
            )
        text = "; ".join(parts)
        top = self.features.head(3)
        if self.drifted and len(top):
            text += "; separated most by " + ", ".join(top["feature"].astype(str))
        groups = self.drifted_groups
        if len(groups):
            text += f"; {len(groups)} (method, group) pair(s) drift within groups"
        return text + f"; {len(self.findings)} finding(s)."

    def figures(self) -> list:
        import plotly.graph_objects as go

        from raikit._plots import error_bars

        figures = []
        for method, part in self.table.groupby("method", sort=False):
            label = part["attribute"].where(
                part["attribute"] == "overall", part["attribute"] + "=" + part["group"].astype(str)
            )
            fig = go.Figure(
                go.Bar(
                    x=label,
                    y=part["value"],
                    error_y=error_bars(part["value"], part["lower"], part["upper"]),
                )
            )
            if method == "classifier":
                fig.add_hline(y=0.5, line_dash="dash", annotation_text="no drift (AUC 0.5)")
                title, axis = "Domain classifier AUC per group", "AUC (reference vs current)"
            else:
                fig.add_hline(y=0.0, line_dash="dash", annotation_text="no drift")
                title, axis = "PCA reconstruction error increase per group", "error increase"
            fig.update_layout(title=title, yaxis_title=axis)
            figures.append(fig)
        if len(self.features):
            top = self.features.head(15)
            fig = go.Figure(go.Bar(x=top["auc_drop"], y=top["feature"], orientation="h"))
            fig.update_layout(
                title="Columns that separate reference from current (AUC lost when shuffled)",
                yaxis={"autorange": "reversed"},
                xaxis_title="AUC drop",
            )
            figures.append(fig)
        return figures


# --------------------------------------------------------------------------- ranks and AUCs
def _midranks(block: np.ndarray, values: np.ndarray, n_blocks: int):
    """1-based mid-ranks of ``values`` within each block, and each block's tie term
    ``sum(t^3 - t)`` over its runs of equal values (one sort, no loop over blocks)."""
    order = np.lexsort((values, block))
    b, v = block[order], values[order]
    n = len(v)
    pos = np.arange(n)
    new_block = np.r_[True, b[1:] != b[:-1]] if n else np.zeros(0, dtype=bool)
    new_run = new_block | np.r_[True, v[1:] != v[:-1]] if n else new_block
    run = np.cumsum(new_run) - 1
    starts = pos[new_run]
    lengths = np.diff(np.r_[starts, n])
    block_start = np.maximum.accumulate(np.where(new_block, pos, 0))
    ranks = np.empty(n)
    ranks[order] = starts[run] + (lengths[run] - 1) / 2 - block_start + 1
    ties = np.bincount(b[new_run], weights=lengths**3.0 - lengths, minlength=n_blocks)
    return ranks, ties


def block_auc(block: np.ndarray, label: np.ndarray, score: np.ndarray, n_blocks: int) -> dict:
    """Per block: the AUC of ``score`` for ``label`` 1 against 0, its DeLong variance, and the
    one-sided Mann-Whitney p-value of AUC > 0.5 (normal approximation with tie and continuity
    corrections).

    Examples
    --------
    >>> from sklearn.metrics import roc_auc_score
    >>> y, s = np.array([0, 0, 1, 1, 0, 1]), np.array([0.1, 0.4, 0.35, 0.8, 0.5, 0.5])
    >>> out = block_auc(np.zeros(6, dtype=int), y, s, 1)
    >>> bool(np.isclose(out["auc"][0], roc_auc_score(y, s)))
    True
    """
    from scipy.stats import norm

    label = label.astype(np.int64)
    n1 = np.bincount(block, weights=label, minlength=n_blocks)
    n0 = np.bincount(block, minlength=n_blocks) - n1
    every, ties = _midranks(block, score, n_blocks)
    own, _ = _midranks(block * 2 + label, score, 2 * n_blocks)
    with np.errstate(invalid="ignore", divide="ignore"):
        # placements: share of the other side's rows below a positive / above a negative
        place = np.where(label == 1, (every - own) / n0[block], 1 - (every - own) / n1[block])
        pos = label == 1
        sums = [
            np.bincount(block[m], weights=place[m] ** k, minlength=n_blocks)
            for m in (pos, ~pos)
            for k in (1, 2)
        ]
        auc = sums[0] / n1
        var10 = (sums[1] - sums[0] ** 2 / n1) / (n1 - 1)
        var01 = (sums[3] - sums[2] ** 2 / n0) / (n0 - 1)
        variance = var10 / n1 + var01 / n0
        n = n0 + n1
        u = auc * n0 * n1
        null_var = n0 * n1 / 12 * ((n + 1) - ties / (n * (n - 1)))
        z = (u - n0 * n1 / 2 - 0.5) / np.sqrt(null_var)
        p = np.where(null_var > 0, norm.sf(z), 1.0)
    empty = (n0 == 0) | (n1 == 0)
    return {
        "auc": np.where(empty, np.nan, auc),
        "variance": np.where((n0 < 2) | (n1 < 2), np.nan, variance),
        "p": np.where(empty, np.nan, p),
        "n0": n0.astype(np.int64),
        "n1": n1.astype(np.int64),
    }


# --------------------------------------------------------------------------- the samples
def _sides(reference, current, columns, by_group: bool, max_rows: int, seed: int):
    """Both sides as in-memory frames (sampled beyond ``max_rows``), the columns, the groups."""
    from raikit.data._drift import _as_dataset, _roles
    from raikit.dataset import Dataset

    for label, data in (("reference", reference), ("current", current)):
        if type(data).__module__.startswith("polars"):
            data = data.to_pandas()
        if not isinstance(data, Dataset | pd.DataFrame):
            raise ParameterError(
                f"multivariate_drift(): {label} must be a raikit.Dataset or a DataFrame, got "
                f"{type(data).__name__}."
            )
        if label == "reference":
            reference = data
        else:
            current = data
    columns, sensitive, missing_group, _ = _roles(reference, current, columns)
    grouped = sensitive if by_group else []
    frames, sampled = [], {}
    for label, data in (("reference", reference), ("current", current)):
        ds = _as_dataset(data, sensitive, missing_group)
        population = ds.n_rows
        if population > max_rows:
            stratify = "sensitive" if grouped else None
            ds = ds.sample(max_rows, stratify=stratify, min_per_group=0, random_state=seed)
            sampled[label] = {"population": int(population), "sampled": ds.n_rows}
        frame = ds.frame
        if len(frame) < _MIN_ROWS:
            raise DataError(
                f"multivariate_drift() needs at least {_MIN_ROWS} rows on each side; the "
                f"{label} data has {len(frame)}."
            )
        frames.append(frame[[*columns, *grouped]].reset_index(drop=True))
    return frames, columns, grouped, missing_group, sampled


def _inputs(frame: pd.DataFrame, reference: pd.DataFrame, columns: list[str]):
    """The classifier's inputs; text columns with more distinct values than half the reference's
    rows (identifiers, free text) are left out, as ``drift`` leaves them out."""
    from raikit.data._common import column_kind, model_frame

    skipped = [
        c
        for c in columns
        if column_kind(reference[c]) == "categorical"
        and reference[c].nunique() > len(reference) / 2
    ]
    kept = [c for c in columns if c not in skipped]
    return model_frame(frame[kept]), skipped


def _matrix(X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The classifier's inputs as floats (categories as their codes, missing as NaN) and which
    columns are categorical: encoded once here, not again by every fit and prediction."""
    categorical = np.array([isinstance(X[c].dtype, pd.CategoricalDtype) for c in X.columns])
    columns = []
    for name, is_category in zip(X.columns, categorical, strict=True):
        if is_category:
            codes = X[name].cat.codes.to_numpy().astype(float)
            columns.append(np.where(codes < 0, np.nan, codes))
        else:
            columns.append(X[name].to_numpy(dtype=float, na_value=np.nan))
    return np.column_stack(columns), categorical


def _families(sensitive: pd.DataFrame | None, n: int, missing_group):
    """Group codes per family: overall, each attribute, their intersection."""
    from raikit.data._common import families

    encoding = None
    if sensitive is not None and sensitive.shape[1]:
        encoding = encode_groups(sensitive, missing_group=missing_group)
    return families(encoding, n), encoding


# --------------------------------------------------------------------------- the classifier
def _folds(label: np.ndarray, strata: np.ndarray, cv: int, seed: int) -> np.ndarray:
    """A fold per row, stratified by side and group (a group with fewer than ``cv`` rows on a
    side joins that side's rows of the first group)."""
    from sklearn.model_selection import StratifiedKFold

    key = strata * 2 + label
    counts = np.bincount(key)
    key = np.where(counts[key] >= cv, key, label)
    fold = np.empty(len(label), dtype=np.int64)
    splitter = StratifiedKFold(n_splits=cv, shuffle=True, random_state=seed)
    for k, (_, held) in enumerate(splitter.split(np.zeros(len(label)), key)):
        fold[held] = k
    return fold


def _cross_fit(X: np.ndarray, categorical, label, fold, cv: int, seed: int):
    """Out-of-fold scores, and per column the out-of-fold scores with that column shuffled
    within each held-out fold (the permutation importance of held-out rows), on at most
    ``_IMPORTANCE_ROWS`` rows (``scored``): one prediction per column and fold is the cost."""
    from contextlib import nullcontext

    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(seed)
    score = np.empty(len(label))
    scored = np.zeros(len(label), dtype=bool)
    scored[rng.permutation(len(label))[:_IMPORTANCE_ROWS]] = True
    shuffled = np.full((X.shape[1], len(label)), np.nan)
    # small fits: OpenMP threads cost more than they save (and far more on a busy machine)
    small = len(label) < _THREADED_ROWS
    with threadpool_limits(limits=1, user_api="openmp") if small else nullcontext():
        for k in range(cv):
            _fit_fold(X, categorical, label, fold == k, scored, seed, rng, score, shuffled)
    return score, shuffled, scored


def _fit_fold(X, categorical, label, held, scored, seed: int, rng, score, shuffled) -> None:
    """Fit on the other folds; score the held-out rows, as they are and column by column shuffled."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    model = HistGradientBoostingClassifier(
        max_iter=100, learning_rate=0.1, max_leaf_nodes=15, early_stopping=False,
        categorical_features=categorical if categorical.any() else None, random_state=seed,
    )  # fmt: skip
    model.fit(X[~held], label[~held])
    part = X[held]
    score[held] = model.predict_proba(part)[:, 1]
    held = held & scored
    part = X[held]
    for j in range(X.shape[1]):  # one prediction per column: columns, not rows
        mixed = part.copy()
        mixed[:, j] = part[rng.permutation(len(part)), j]
        shuffled[j, held] = model.predict_proba(mixed)[:, 1]


def _classifier(frames, columns, fams, cv: int, seed: int, ci: float, min_group_size: int):
    from raikit.metrics._stats import z_value

    both = pd.concat([frames[0][columns], frames[1][columns]], ignore_index=True)
    X, skipped = _inputs(both, frames[0], columns)
    if X.shape[1] == 0:
        raise DataError(
            f"No column can feed the domain classifier: {skipped} look like identifiers or free "
            f"text. Name comparable columns (columns=[...])."
        )
    label = np.r_[np.zeros(len(frames[0]), dtype=np.int64), np.ones(len(frames[1]), dtype=np.int64)]
    fold = _folds(label, fams[-1].codes, cv, seed)
    matrix, categorical = _matrix(X)
    score, shuffled, scored = _cross_fit(matrix, categorical, label, fold, cv, seed)
    z = z_value(ci)
    rows = []
    for fam in fams:
        stats = block_auc(fam.codes, label, score, fam.n_groups)
        # the p-value: per (group, fold) held-out Mann-Whitney tests, merged as twice the median
        per_fold = block_auc(fam.codes * cv + fold, label, score, fam.n_groups * cv)
        p_folds = per_fold["p"].reshape(fam.n_groups, cv)
        p = np.minimum(1.0, 2 * _nanmedian(p_folds))
        lower, upper = _auc_interval(stats, z, ci)
        rows.append(
            _rows(
                fam,
                "classifier",
                "auc",
                stats["auc"],
                lower,
                upper,
                np.full(fam.n_groups, 0.5),
                p,
                stats["n0"],
                stats["n1"],
                min_group_size,
                clip=(0.0, 1.0),
            )
        )
    blocks, y = np.zeros(int(scored.sum()), dtype=np.int64), label[scored]
    base = block_auc(blocks, y, score[scored], 1)["auc"][0]
    drops = [base - block_auc(blocks, y, s[scored], 1)["auc"][0] for s in shuffled]
    features = pd.DataFrame({"feature": list(X.columns), "auc_drop": drops})
    features = features.sort_values("auc_drop", ascending=False, kind="stable")
    return pd.concat(rows, ignore_index=True), features.reset_index(drop=True), skipped


def _auc_interval(stats: dict, z: float, ci: float) -> tuple[np.ndarray, np.ndarray]:
    """DeLong's interval; where it has no width (every placement equal: the samples are
    perfectly separated, or not at all), Clopper-Pearson's for ``AUC * m`` successes in
    ``m = min(n_reference, n_current)`` pairs, so that no interval has zero width."""
    from raikit.metrics._stats import clopper_pearson_interval

    auc, sd = stats["auc"], np.sqrt(stats["variance"])
    lower, upper = auc - z * sd, auc + z * sd
    flat = ~(sd > 0) & ~np.isnan(auc)
    if flat.any():
        m = np.minimum(stats["n0"], stats["n1"])[flat]
        low, high = clopper_pearson_interval(auc[flat] * m, m, ci=ci)
        lower[flat], upper[flat] = low, high
    return lower, upper


def _nanmedian(values: np.ndarray) -> np.ndarray:
    """Row medians ignoring NaN; NaN for an all-NaN row (without numpy's warning)."""
    ok = ~np.isnan(values).all(axis=1)
    out = np.full(values.shape[0], np.nan)
    if ok.any():
        out[ok] = np.nanmedian(values[ok], axis=1)
    return out


def _rows(
    fam, method, statistic, value, lower, upper, baseline, p, n_ref, n_cur, min_size, clip=None
) -> pd.DataFrame:
    """The table rows of one family of groups (groups too small for ``min_size``: NaN)."""
    small = (n_ref < min_size) | (n_cur < min_size)
    if fam.attribute == "overall":
        small = np.zeros_like(small)
    if clip is not None:
        lower, upper = np.clip(lower, *clip), np.clip(upper, *clip)
    nan = np.where(small, np.nan, 1.0)
    return pd.DataFrame(
        {
            "method": method,
            "attribute": fam.attribute,
            "group": fam.labels,
            "statistic": statistic,
            "value": value * nan,
            "lower": lower * nan,
            "upper": upper * nan,
            "baseline": baseline * nan,
            "p_value": p * nan,
            "n_reference": np.asarray(n_ref, dtype=np.int64),
            "n_current": np.asarray(n_cur, dtype=np.int64),
        }
    )


# --------------------------------------------------------------------------- the PCA
def _pca_design(fit: pd.DataFrame, columns: list[str]):
    """A function turning a frame into the standardized matrix the PCA reads, learnt on ``fit``:
    numbers (medians for missing values), one-hot top categories, all scaled by ``fit``."""
    from raikit.data._common import column_kind

    numeric, levels = [], {}
    for c in columns:
        kind = column_kind(fit[c])
        if kind in ("numeric", "boolean", "datetime"):
            numeric.append(c)
        else:
            counts = fit[c].astype(object).value_counts()
            if len(counts) <= len(fit) / 2:  # identifiers and free text are left out
                levels[c] = pd.Index(counts.index[:_PCA_LEVELS])

    def raw(frame: pd.DataFrame) -> np.ndarray:
        parts = []
        for c in numeric:
            series = frame[c]
            if pd.api.types.is_datetime64_any_dtype(series.dtype):
                series = series.astype("int64").astype(float).where(frame[c].notna())
            parts.append(series.to_numpy(dtype=float, na_value=np.nan)[:, None])
        for c, lv in levels.items():
            codes = lv.get_indexer(frame[c].astype(object))
            parts.append((codes[:, None] == np.arange(len(lv))[None, :]).astype(float))
        return np.hstack(parts) if parts else np.zeros((len(frame), 0))

    base = raw(fit)
    with np.errstate(all="ignore"):
        centre = np.nan_to_num(np.nanmedian(base, axis=0)) if base.size else np.zeros(0)
    filled = np.where(np.isnan(base), centre, base)
    mean, std = filled.mean(axis=0), filled.std(axis=0)
    std = np.where(std > 0, std, 1.0)

    def design(frame: pd.DataFrame) -> np.ndarray:
        values = raw(frame)
        return (np.where(np.isnan(values), centre, values) - mean) / std

    return design, filled.shape[1]


def _pca(frames, columns, fams, rng, ci: float, min_group_size: int):
    """Reconstruction errors of the reference's second half and of the current rows under a
    PCA fitted on the reference's first half; per group the increase of the mean error."""
    from scipy.stats import norm
    from sklearn.decomposition import PCA

    from raikit.metrics._stats import z_value

    reference = frames[0]
    half = rng.permutation(len(reference)) < len(reference) // 2
    design, width = _pca_design(reference[half], columns)
    if width < 2:
        return None, {"pca": "needs two or more usable columns"}
    fit = design(reference[half])
    share = np.cumsum(PCA(svd_solver="full").fit(fit).explained_variance_ratio_)
    # the components that keep 65% of the variance, and never all of them (no error left)
    k = min(int(np.searchsorted(share, _PCA_VARIANCE - 1e-12)) + 1, width - 1)
    pca = PCA(n_components=k, svd_solver="full").fit(fit)

    def errors(frame):
        x = design(frame)
        return np.linalg.norm(x - pca.inverse_transform(pca.transform(x)), axis=1)

    error = np.r_[errors(reference[~half]), errors(frames[1])]
    side = np.r_[np.zeros(int((~half).sum()), dtype=np.int64), np.ones(len(frames[1]), np.int64)]
    keep = np.r_[~half, np.ones(len(frames[1]), dtype=bool)]
    z = z_value(ci)
    rows = []
    for fam in fams:
        block = fam.codes[keep] * 2 + side
        m = 2 * fam.n_groups
        n = np.bincount(block, minlength=m).reshape(-1, 2)
        s1 = np.bincount(block, weights=error, minlength=m).reshape(-1, 2)
        s2 = np.bincount(block, weights=error**2, minlength=m).reshape(-1, 2)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = s1 / n
            var = (s2 - s1**2 / n) / (n - 1)
            diff = mean[:, 1] - mean[:, 0]
            se = np.sqrt(var[:, 0] / n[:, 0] + var[:, 1] / n[:, 1])
            # two-sided: rows that reconstruct better are no more the reference's than worse ones
            p = np.where(se > 0, 2 * norm.sf(np.abs(diff) / se), np.where(diff != 0, 0.0, 1.0))
        rows.append(
            _rows(
                fam,
                "pca",
                "error_increase",
                diff,
                diff - z * se,
                diff + z * se,
                mean[:, 0],
                p,
                n[:, 0],
                n[:, 1],
                min_group_size,
            )
        )
    meta = {
        "pca_components": int(pca.n_components_),
        "pca_inputs": int(width),
        "pca_variance": float(pca.explained_variance_ratio_.sum()),
        "pca_fit_rows": int(half.sum()),
    }
    return pd.concat(rows, ignore_index=True), meta


# --------------------------------------------------------------------------- the check
def _methods(method) -> tuple[str, ...]:
    chosen = (method,) if isinstance(method, str) else tuple(method)
    unknown = [m for m in chosen if m not in METHODS]
    if not chosen or unknown:
        raise ParameterError(
            f"multivariate_drift(): method must be one or more of {list(METHODS)}; got {method!r}."
        )
    return tuple(dict.fromkeys(chosen))


@recorded("data.multivariate_drift")
@validate_params(
    method=[str, list, tuple],
    by_group=bool,
    alpha=ALPHA,
    ci=CI,
    cv=Interval(int, 2, 20),
    max_rows=Interval(int, 100, None),
    min_group_size=Interval(int, 0, None),
    random_state=RANDOM_STATE,
)
def multivariate_drift(
    *,
    reference,
    current,
    method=METHODS,
    columns=None,
    by_group: bool = True,
    alpha: float = 0.05,
    ci: float = 0.95,
    cv: int = 5,
    max_rows: int = 20_000,
    min_group_size: int = MIN_GROUP_SIZE,
    random_state=None,
    ledger=None,
) -> MultivariateDriftResult:
    """Test whether the rows of ``current`` come from the distribution of ``reference``, taking
    the columns together, overall and within each sensitive group.

    Two tests (see the module notes): a cross-fitted domain classifier (scikit-learn's
    ``HistGradientBoostingClassifier``) whose out-of-fold AUC says how well reference and current
    rows can be told apart, with the columns that tell them apart; and the PCA reconstruction
    error, whose mean rises when the columns stop moving together as in the reference. Both
    catch a change in correlation that leaves every column's distribution (and so every test of
    :func:`~raikit.data.drift`) unchanged.

    The classifier's interval is DeLong's (the variance of the AUC as a two-sample U-statistic,
    from the placements of the out-of-fold scores; it treats the fitted models as given). Its
    p-value is not a permutation of the out-of-fold scores (they come from models that saw the
    labels of the other folds, so permuting them is not a valid null) nor a refit per
    permutation (a fit per replicate is too costly): within each held-out fold the model was
    trained without those rows, so under exchangeability of the two samples the fold's scores
    are independent of its labels and its AUC has the Mann-Whitney null distribution. The
    folds' one-sided p-values are merged as twice their median, a merge valid whatever the
    dependence between folds (Rüschendorf 1982; Meng 1993), and therefore conservative.

    The PCA's interval is the normal (Welch) interval of the difference of mean errors between
    the current rows and the held-out half of the reference, with its one-sided p-value: errors
    are averaged over at least ``min_group_size`` rows, where the central limit theorem applies.
    Both intervals are analytic, so the check takes no ``n_boot``. Where DeLong's interval has
    no width (perfectly separated samples), the AUC's interval is Clopper-Pearson's for
    ``AUC * m`` successes in ``m = min(n_reference, n_current)`` pairs.

    Parameters
    ----------
    reference, current : Dataset or DataFrame
        The two samples (keyword-only). The groups and the default columns come from
        ``reference`` when it is a Dataset, else from ``current`` (as in ``drift``). Either side
        may be lazy (files through DuckDB, Spark): beyond ``max_rows`` rows it is sampled where
        it lives. The weight role is not used: rows are compared as sampled.
    method : str or sequence of {"classifier", "pca"}, default both
        The tests to run.
    columns : list of str, optional
        Columns to compare (default: the reference's features and target present in both).
    by_group : bool, default True
        Also test within each sensitive group and intersection.
    alpha : float, default 0.05
        Significance level of the adjusted p-values.
    ci : float, default 0.95
        Confidence level of the intervals.
    cv : int, default 5
        Folds of the cross-fitted classifier.
    max_rows : int, default 20_000
        Most rows read from each side; a larger side is sampled, stratified by the sensitive
        groups with proportional allocation (``meta["sampled"]`` says how many of how many).
    min_group_size : int, default ``raikit.metrics.MIN_GROUP_SIZE`` (30)
        Groups with fewer rows on either side are not tested (NaN).
    random_state : None, int or numpy Generator
        Seed of the sampling, the folds, the classifier, the shuffles and the PCA split.
    ledger : raikit.ledger.Ledger or path, optional
        Record the result as evidence (inside :func:`raikit.track` it is recorded anyway).

    Returns
    -------
    MultivariateDriftResult

    Raises
    ------
    ParameterError
        A parameter is out of its domain (``method="mmd"``, ``cv=1``...).
    DataError
        A side has fewer than 20 rows, or no column can be compared.
    ColumnError
        A named column or a sensitive attribute is missing from one side.

    See Also
    --------
    raikit.data.drift : drift column by column.

    Examples
    --------
    Two samples with the same marginals, the second with correlated columns:

    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> ref = pd.DataFrame(rng.normal(size=(600, 2)), columns=["a", "b"])
    >>> cur = pd.DataFrame(rng.multivariate_normal([0, 0], [[1, 0.9], [0.9, 1]], 600),
    ...                    columns=["a", "b"])
    >>> result = multivariate_drift(reference=ref, current=cur, random_state=0)
    >>> result.overall[["method", "drifted"]].values.tolist()
    [['classifier', True], ['pca', True]]
    >>> bool(result.overall["value"].iloc[0] > 0.6)  # the classifier's AUC
    True
    """
    methods = _methods(method)
    rng = rng_from(random_state)
    seed = int(rng.integers(2**31 - 1))
    frames, columns, grouped, missing_group, sampled = _sides(
        reference, current, columns, by_group, max_rows, seed
    )
    sensitive = (
        pd.concat([frames[0][grouped], frames[1][grouped]], ignore_index=True) if grouped else None
    )
    fams, _ = _families(sensitive, len(frames[0]) + len(frames[1]), missing_group)
    parts, meta = [], {"ci": ci, "cv": cv, "max_rows": max_rows, "columns": columns}
    features = pd.DataFrame(
        {"feature": pd.Series(dtype=object), "auc_drop": pd.Series(dtype=float)}
    )
    if "classifier" in methods:
        table, features, skipped = _classifier(frames, columns, fams, cv, seed, ci, min_group_size)
        parts.append(table)
        meta["skipped"] = skipped
    if "pca" in methods:
        table, pca_meta = _pca(frames, columns, fams, rng, ci, min_group_size)
        meta.update(pca_meta)
        if table is not None:
            parts.append(table)
    if not parts:
        raise DataError(
            "The PCA test needs two or more usable columns; name more columns or add "
            "method='classifier'."
        )
    table = _judge(pd.concat(parts, ignore_index=True), alpha)
    meta["sampled"] = sampled
    meta["methods"] = list(methods)
    return MultivariateDriftResult(
        table=table,
        features=features,
        threshold=alpha,
        sensitive_names=list(grouped),
        findings=tuple(_findings(table, features, min_group_size)),
        meta=meta,
    )


def _judge(table: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """Adjusted p-values (Benjamini-Hochberg over each method's groups) and the verdicts."""
    from raikit.data._drift import adjust_pvalues

    table = table.copy()
    table["p_adjusted"] = table["p_value"]
    grouped = table["attribute"] != "overall"
    for method in table["method"].unique():  # one family per method: at most two
        rows = grouped & (table["method"] == method)
        table.loc[rows, "p_adjusted"] = adjust_pvalues(
            table.loc[rows, "p_value"].to_numpy(), "fdr_bh"
        )
    table["drifted"] = (table["p_adjusted"] < alpha).to_numpy(bool)
    return table


def _findings(table: pd.DataFrame, features: pd.DataFrame, min_group_size: int) -> list[Finding]:
    findings = []
    overall = table[table["attribute"] == "overall"]
    top = ", ".join(f"{r.feature} ({r.auc_drop:.3f})" for r in features.head(3).itertuples())
    for row in overall[overall["drifted"]].itertuples():
        if row.method == "classifier":
            title = "Reference and current rows can be told apart (multivariate drift)"
            detail = (
                f"Domain classifier AUC {row.value:.3f} (interval {row.lower:.3f} to "
                f"{row.upper:.3f}), p = {row.p_value:.2g}."
                + (
                    f" Columns that separate them most (AUC lost when shuffled): {top}."
                    if top
                    else ""
                )
            )
        else:
            title = "Current rows no longer fit the reference's correlations (PCA reconstruction)"
            detail = (
                f"Mean reconstruction error up by {row.value:.3f} (interval {row.lower:.3f} to "
                f"{row.upper:.3f}) from {row.baseline:.3f}, p = {row.p_value:.2g}."
            )
        findings.append(Finding("warning", title, detail))
    grouped = table[table["attribute"] != "overall"]
    drifted_overall = set(overall.loc[overall["drifted"], "method"])
    for row in grouped[grouped["drifted"]].itertuples():
        where = "and overall" if row.method in drifted_overall else "but not overall"
        what = "AUC" if row.method == "classifier" else "error increase"
        findings.append(
            Finding(
                "warning",
                f"Multivariate drift within {row.attribute}={row.group} ({row.method})",
                f"{what} {row.value:.3f} (interval {row.lower:.3f} to {row.upper:.3f}), adjusted "
                f"p = {row.p_adjusted:.2g}, in this group {where}.",
                slice=f"{row.attribute}={row.group}",
            )
        )
    untested = untested_groups_finding(grouped, min_group_size, "multivariate drift")
    return findings + ([untested] if untested is not None else [])
