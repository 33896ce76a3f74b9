"""``label_issues``: likely mislabelled rows (confident learning) and outliers, per group.

Label issues are found by confident learning (Northcutt, Jiang & Chuang, 2021) on out-of-fold
predicted probabilities, with cleanlab's default rule (``prune_by_noise_rate``): estimate the
confident joint of given and true labels, calibrate it, and for each (given, true) pair flag the rows
with the largest margin ``p(true) - p(given)``; rows whose prediction agrees with their label are never
flagged. The implementation is vectorised numpy and is checked against ``cleanlab`` in the tests (it
adds no dependency). Outliers come from an Isolation Forest. Both are then counted per sensitive group,
because label noise that concentrates in one group biases the model against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from raikit._errors import DataError, ParameterError
from raikit._recording import recorded
from raikit._result import Finding, Result
from raikit._validation import (
    ALPHA,
    RANDOM_STATE,
    Interval,
    Options,
    check_dataset,
    validate_params,
)
from raikit.data._common import encode_sensitive, families, model_frame, sklearn_seed

__all__ = ["LabelIssuesResult", "confident_learning", "label_issues"]

_FLOAT_TOLERANCE = 1e-6  # as cleanlab's FLOATING_POINT_COMPARISON


@dataclass(frozen=True, eq=False)
class LabelIssuesResult(Result):
    """Likely label errors and outliers, overall and per group.

    Attributes
    ----------
    issues : DataFrame
        One row per likely mislabelled row: ``row`` (position in the data), ``given_label``,
        ``suggested_label`` (the most probable other label), ``label_quality`` (out-of-fold
        probability of the given label) and ``margin`` (``p(suggested) - p(given)``), worst first.
    outliers : DataFrame
        One row per outlier: ``row`` and ``score`` (Isolation Forest anomaly score, higher is more
        anomalous), most anomalous first.
    by_group : DataFrame
        One row per (attribute, group) including ``overall``: ``count``, ``label_issues``,
        ``label_issue_rate``, ``label_issue_ratio`` (to the overall rate), ``label_issue_pvalue``
        (one-sided binomial test of an excess over the overall rate), and the same for outliers.
    confident_joint : DataFrame
        Calibrated counts of (given label, true label) estimated by confident learning.
    classes : list
        The labels, in the order of the probability columns.
    n_rows : int
        Rows checked.
    sensitive_names : list of str
        The sensitive attributes.
    findings : tuple of Finding
        Overall rates and groups where issues concentrate.
    meta : dict
        Estimator, folds and settings.

    See Also
    --------
    label_issues : computes it.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from raikit import Dataset
    >>> from raikit.data import label_issues
    >>> rng = np.random.default_rng(0)
    >>> frame = pd.DataFrame({"x": rng.normal(size=300), "s": rng.choice(["a", "b"], 300)})
    >>> frame["y"] = (frame["x"] > 0).astype(int)
    >>> frame.loc[:9, "y"] = 1 - frame.loc[:9, "y"]  # ten wrong labels
    >>> r = label_issues(Dataset(frame, target="y", sensitive="s"), cv=3, random_state=0)
    >>> r.classes, r.n_rows
    ([0, 1], 300)
    """

    issues: pd.DataFrame
    outliers: pd.DataFrame
    by_group: pd.DataFrame
    confident_joint: pd.DataFrame
    classes: list
    n_rows: int
    sensitive_names: list
    findings: tuple = field(default_factory=tuple)
    meta: dict = field(default_factory=dict)

    @property
    def issue_rows(self) -> np.ndarray:
        """Positions of the likely mislabelled rows (sorted)."""
        return np.sort(self.issues["row"].to_numpy())

    @property
    def outlier_rows(self) -> np.ndarray:
        """Positions of the outliers (sorted)."""
        return np.sort(self.outliers["row"].to_numpy())

    @property
    def summary(self) -> str:
        text = (
            f"{len(self.issues):,} likely label issue(s) ({len(self.issues) / self.n_rows:.2%}) "
            f"and {len(self.outliers):,} outlier(s) ({len(self.outliers) / self.n_rows:.2%}) in "
            f"{self.n_rows:,} rows"
        )
        groups = self.by_group[self.by_group["attribute"] != "overall"]
        if len(groups) and groups["label_issue_ratio"].notna().any():
            worst = groups.loc[groups["label_issue_ratio"].idxmax()]
            text += (
                f"; highest label-issue rate {worst['label_issue_rate']:.2%} for "
                f"{worst['attribute']}={worst['group']} ({worst['label_issue_ratio']:.2f}x overall)"
            )
        return text + f"; {len(self.findings)} finding(s)."

    def figures(self) -> list:
        from raikit.data._figures import label_issue_figures

        return label_issue_figures(self)


# --------------------------------------------------------------------------- confident learning
def _round_preserving_row_totals(matrix: np.ndarray) -> np.ndarray:
    """Round each row to integers keeping its (rounded) total: largest remainders round up."""
    floored = np.floor(matrix)
    remainder = matrix - floored
    missing = (np.round(matrix.sum(axis=1)) - floored.sum(axis=1)).astype(np.int64)
    rank = np.argsort(np.argsort(-remainder, axis=1, kind="stable"), axis=1, kind="stable")
    return (floored + (rank < missing[:, None])).astype(np.int64)


def calibrated_joint(labels: np.ndarray, probs: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Confident joint of (given label, likely true label), calibrated to the label counts.

    A row is confidently of class j when its probability of j reaches j's threshold; among
    several, the most probable. Each row of the joint is rescaled to its label's count.
    """
    k = probs.shape[1]
    counts = np.bincount(labels, minlength=k)
    confident = probs >= thresholds - _FLOAT_TOLERANCE
    n_confident = confident.sum(axis=1)
    guess = np.where(n_confident > 1, probs.argmax(axis=1), confident.argmax(axis=1))
    some = n_confident > 0
    joint = np.bincount(labels[some] * k + guess[some], minlength=k * k).reshape(k, k)
    np.fill_diagonal(joint, np.maximum(np.diagonal(joint), 1))
    return joint / np.maximum(joint.sum(axis=1, keepdims=True), 1e-12) * counts[:, None]


def confident_learning(labels, pred_probs) -> tuple[np.ndarray, np.ndarray]:
    """Label-issue mask and calibrated confident joint, as cleanlab's ``find_label_issues``
    with ``filter_by="prune_by_noise_rate"``.

    Parameters
    ----------
    labels : array of int
        Given labels, ``0 .. K-1``.
    pred_probs : array of shape (n, K)
        Out-of-fold predicted probabilities.

    Returns
    -------
    mask, confident_joint
        Boolean mask of likely label issues; (K, K) integer matrix of (given, true) counts.

    See Also
    --------
    raikit.data.label_issues : runs it per group on a Dataset.

    Examples
    --------
    >>> import numpy as np
    >>> from raikit.data import confident_learning
    >>> labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    >>> probs = np.array([[.9, .1], [.8, .2], [.9, .1], [.1, .9],
    ...                   [.2, .8], [.1, .9], [.3, .7], [.95, .05]])
    >>> mask, joint = confident_learning(labels, probs)
    >>> np.flatnonzero(mask).tolist()
    [3, 7]
    """
    labels = np.asarray(labels, dtype=np.int64)
    probs = np.asarray(pred_probs, dtype=float)
    if probs.ndim != 2 or len(probs) != len(labels):
        raise DataError(
            f"pred_probs must have shape (n_rows, n_classes) = ({len(labels)}, K); got "
            f"{probs.shape}."
        )
    n, k = probs.shape
    if labels.min() < 0 or labels.max() >= k:
        raise DataError(f"labels must be integers from 0 to {k - 1} (one per probability column).")
    counts = np.bincount(labels, minlength=k)
    one_hot = np.zeros((n, k))
    one_hot[np.arange(n), labels] = 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        thresholds = np.diagonal(one_hot.T @ probs) / counts
    calibrated = calibrated_joint(labels, probs, thresholds)
    calibrated = calibrated / max(calibrated.sum(), 1e-12) * counts.sum()
    joint = _round_preserving_row_totals(calibrated)
    # keep at least one example per class (cleanlab's min_examples_per_class=1)
    prune = joint.T.astype(float)
    diagonal = np.diagonal(prune).copy()
    new_diagonal = np.maximum(diagonal, 1)
    per_column = np.maximum(np.count_nonzero(prune, axis=0) - 1.0, 1.0)
    prune = prune - (new_diagonal - diagonal) / per_column
    prune[prune < 0] = 0
    np.fill_diagonal(prune, new_diagonal)
    prune = prune.astype(np.int64)
    mask = np.zeros(n, dtype=bool)
    for given in range(k):  # classes, not rows: K x K small selections
        rows = np.flatnonzero(labels == given)
        if rows.size <= 1:
            continue
        for true in range(k):
            number = int(prune[true, given])
            if true == given or number <= 0:
                continue
            margin = probs[rows, true] - probs[rows, given]
            top = np.argsort(-margin, kind="stable")[:number]
            mask[rows[top]] = True
    nudged = probs.copy()
    nudged[np.arange(n), labels] += _FLOAT_TOLERANCE
    mask &= nudged.argmax(axis=1) != labels
    return mask, joint


# --------------------------------------------------------------------------- outliers
def _outlier_matrix(X: pd.DataFrame) -> np.ndarray:
    """Numbers an Isolation Forest can split: numeric columns (median-imputed) and categories as
    their frequency (a rare category is easy to isolate)."""
    columns = []
    for name in X.columns:
        series = X[name]
        if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(
            series.dtype
        ):
            values = series.to_numpy(dtype=float, na_value=np.nan)
            fill = np.nanmedian(values) if np.isfinite(values).any() else 0.0
            columns.append(np.where(np.isnan(values), fill, values))
        else:
            codes, _ = pd.factorize(series.astype(object), use_na_sentinel=False)
            freq = np.bincount(codes) / len(codes)
            columns.append(freq[codes])
    return np.column_stack(columns) if columns else np.zeros((len(X), 0))


# --------------------------------------------------------------------------- per-group counts
def _group_table(encoding, n, issue_mask, outlier_mask) -> pd.DataFrame:
    from scipy.stats import binom

    parts = []
    rate_issue = issue_mask.mean()
    rate_outlier = outlier_mask.mean()
    for fam in families(encoding, n):
        g = fam.n_groups
        count = np.bincount(fam.codes, minlength=g)
        issues = np.bincount(fam.codes, weights=issue_mask, minlength=g).astype(np.int64)
        outliers = np.bincount(fam.codes, weights=outlier_mask, minlength=g).astype(np.int64)
        with np.errstate(invalid="ignore", divide="ignore"):
            parts.append(
                pd.DataFrame(
                    {
                        "attribute": fam.attribute,
                        "group": [str(v) for v in fam.labels],
                        "count": count.astype(np.int64),
                        "label_issues": issues,
                        "label_issue_rate": issues / count,
                        "label_issue_ratio": issues / count / rate_issue,
                        "label_issue_pvalue": binom.sf(issues - 1, count, rate_issue),
                        "outliers": outliers,
                        "outlier_rate": outliers / count,
                        "outlier_ratio": outliers / count / rate_outlier,
                        "outlier_pvalue": binom.sf(outliers - 1, count, rate_outlier),
                    }
                )
            )
    return pd.concat(parts, ignore_index=True)


def _findings(table: pd.DataFrame, alpha: float, min_ratio: float) -> list[Finding]:
    findings = []
    groups = table[table["attribute"] != "overall"]
    m = max(len(groups), 1)
    for kind, label in (("label_issue", "Label issues"), ("outlier", "Outliers")):
        hits = groups[
            (groups[f"{kind}_pvalue"] * m < alpha)
            & (groups[f"{kind}_ratio"] >= min_ratio)
            & (groups["count"] >= 30)
        ]
        for row in hits.itertuples(index=False):
            rate = getattr(row, f"{kind}_rate")
            ratio = getattr(row, f"{kind}_ratio")
            pvalue = getattr(row, f"{kind}_pvalue")
            findings.append(
                Finding(
                    "warning",
                    f"{label} concentrate in {row.attribute}={row.group}",
                    f"{rate:.2%} of its {row.count:,} rows ({ratio:.2f}x the overall rate; "
                    f"binomial p = {pvalue:.2g}, Bonferroni over {m} groups). Review these rows "
                    f"before training: a model fitted to them learns their errors.",
                    slice=f"{row.attribute}={row.group}",
                )
            )
    return findings


# --------------------------------------------------------------------------- entry point
def class_codes(ds, who: str) -> tuple[np.ndarray, list]:
    """Codes 0..K-1 of a Dataset's class labels (sorted) and the labels themselves.

    Raises a DataError naming ``who`` when a label is missing, the target looks continuous, or
    it has a single value.
    """
    y = ds.y
    if y.isna().any():
        raise DataError(
            f"The target {ds.target!r} has {int(y.isna().sum())} missing value(s); {who} needs a "
            f"label on every row. Drop or label those rows first."
        )
    if ds.task == "regression":
        raise DataError(f"{who} needs a classification target; {ds.target!r} looks continuous.")
    labels, classes = pd.factorize(y, sort=True)
    classes = [c.item() if isinstance(c, np.generic) else c for c in classes]
    if len(classes) < 2:
        raise DataError(
            f"The target {ds.target!r} has a single value {classes}; {who} has nothing to check."
        )
    return labels, classes


def _out_of_fold_probs(X, labels, classes, *, estimator, cv: int, seed):
    """Out-of-fold ``predict_proba`` of ``estimator`` (default: a gradient-boosted model)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    counts = np.bincount(labels, minlength=len(classes))
    if counts.min() < cv:
        rare = classes[int(np.argmin(counts))]
        raise DataError(
            f"Label {rare!r} has only {counts.min()} row(s), fewer than cv={cv} folds; merge "
            f"rare labels or lower cv."
        )
    model = estimator
    if model is None:
        model = HistGradientBoostingClassifier(
            categorical_features="from_dtype", max_iter=100, random_state=seed
        )
    folds = StratifiedKFold(n_splits=cv, shuffle=True, random_state=seed)
    try:
        return cross_val_predict(model, X, labels, cv=folds, method="predict_proba")
    except (ValueError, TypeError) as error:
        raise DataError(
            f"The estimator {type(model).__name__} could not fit the features: {error}. "
            f"Pass an estimator (or a Pipeline) that handles them, or pred_probs=."
        ) from error


def _given_probs(pred_probs, n: int, classes: list) -> np.ndarray:
    probs = np.asarray(pred_probs, dtype=float)
    if probs.shape != (n, len(classes)):
        raise ParameterError(
            f"label_issues(): pred_probs must have shape ({n}, {len(classes)}) (rows, labels "
            f"{classes}); got {probs.shape}."
        )
    if np.isnan(probs).any():
        raise ParameterError("label_issues(): pred_probs has missing values.")
    return probs


def _issue_table(labels, probs, mask, classes) -> pd.DataFrame:
    """Flagged rows with the label given, the label suggested, and the margin, worst first."""
    rows = np.flatnonzero(mask)
    given = labels[rows]
    masked = probs[rows].copy()
    masked[np.arange(rows.size), given] = -np.inf
    suggested = masked.argmax(axis=1)
    quality = probs[rows, given]
    margin = probs[rows, suggested] - quality
    order = np.argsort(-margin, kind="stable")
    classes_array = np.array(classes, dtype=object)
    return pd.DataFrame(
        {
            "row": rows[order].astype(np.int64),
            "given_label": classes_array[given[order]],
            "suggested_label": classes_array[suggested[order]],
            "label_quality": quality[order],
            "margin": margin[order],
        }
    )


def _outliers(X: pd.DataFrame, contamination, seed):
    """An Isolation Forest's flags and the flagged rows ranked by score."""
    from sklearn.ensemble import IsolationForest

    matrix = _outlier_matrix(X)
    # 300 trees (not 100): with 100 the ranking of extreme rows still depends on the seed
    forest = IsolationForest(n_estimators=300, contamination=contamination, random_state=seed)
    mask = forest.fit_predict(matrix) == -1
    score = -forest.score_samples(matrix)
    flagged = np.flatnonzero(mask)
    ranked = flagged[np.argsort(-score[flagged], kind="stable")]
    return mask, pd.DataFrame({"row": ranked.astype(np.int64), "score": score[ranked]})


@recorded("data.label_issues")
@validate_params(
    cv=Interval(int, 2, None),
    outliers=bool,
    contamination=[Interval(float, 0, 0.5, closed="right"), Options("auto")],
    alpha=ALPHA,
    min_ratio=Interval(float, 0, None),
    random_state=RANDOM_STATE,
)
def label_issues(
    data,
    *,
    estimator=None,
    pred_probs=None,
    cv: int = 5,
    outliers: bool = True,
    contamination=0.02,
    alpha: float = 0.05,
    min_ratio: float = 1.5,
    random_state=None,
    ledger=None,
) -> LabelIssuesResult:
    """Find likely mislabelled rows and outliers, and where they concentrate.

    Parameters
    ----------
    data : Dataset
        Labelled data (classification target).
    estimator : scikit-learn classifier, optional
        Unfitted model whose out-of-fold ``predict_proba`` feeds confident learning. Default: a
        ``HistGradientBoostingClassifier`` that reads categories and missing values directly.
    pred_probs : array of shape (n_rows, n_classes), optional
        Out-of-fold probabilities you already have (columns in sorted label order); skips fitting.
    cv : int, default 5
        Stratified folds for the out-of-fold probabilities (at least 2).
    outliers : bool, default True
        Also run an Isolation Forest on the features.
    contamination : float or "auto", default 0.02
        Share of rows the Isolation Forest flags (``"auto"`` uses the original paper's threshold,
        which flags far more rows on census-like data).
    alpha : float, default 0.05
        Significance level (Bonferroni over groups) of a concentration finding.
    min_ratio : float, default 1.5
        A group's rate must also be at least this multiple of the overall rate.
    random_state : int, Generator or None, default None
        Seed of the folds, the default model and the forest; ``None`` draws a fresh seed,
        recorded in the ledger.
    ledger : raikit.ledger.Ledger or path, optional
        Record the result as evidence (inside :func:`raikit.track` it is recorded anyway).

    Returns
    -------
    LabelIssuesResult

    Raises
    ------
    DataError
        The target is missing, continuous or constant, a label has fewer rows than folds, or the
        estimator cannot fit the features.
    ParameterError
        ``data`` is not a Dataset, a parameter is out of its range, or ``pred_probs`` has the
        wrong shape.

    See Also
    --------
    raikit.data.confident_learning : the rule on given labels and probabilities.
    raikit.data.clean : removes or reweighs the rows it flags.

    Examples
    --------
    >>> from raikit.data import label_issues
    >>> from raikit.datasets import load_german_credit
    >>> result = label_issues(load_german_credit(), cv=3, random_state=0)
    >>> int(result.by_group.loc[0, "count"]), result.classes
    (1000, [0, 1])
    >>> bool(0 < len(result.issues) < 300)
    True
    """
    ds = check_dataset(data, need=["target"], caller="label_issues")
    labels, classes = class_codes(ds, "label_issues()")
    n = ds.n_rows
    seed = sklearn_seed(random_state)
    X = model_frame(ds.X)
    if pred_probs is None:
        probs = _out_of_fold_probs(X, labels, classes, estimator=estimator, cv=cv, seed=seed)
        estimator_name = type(estimator).__name__ if estimator is not None else None
        estimator_name = estimator_name or "HistGradientBoostingClassifier"
    else:
        probs = _given_probs(pred_probs, n, classes)
        estimator_name = "pred_probs"
    mask, joint = confident_learning(labels, probs)
    outlier_mask = np.zeros(n, dtype=bool)
    outlier_table = pd.DataFrame({"row": np.array([], dtype=np.int64), "score": []})
    if outliers and X.shape[1]:
        outlier_mask, outlier_table = _outliers(X, contamination, seed)
    encoding = encode_sensitive(ds)
    by_group = _group_table(encoding, n, mask, outlier_mask)
    return LabelIssuesResult(
        issues=_issue_table(labels, probs, mask, classes),
        outliers=outlier_table,
        by_group=by_group,
        confident_joint=pd.DataFrame(
            joint,
            index=pd.Index([str(c) for c in classes], name="given"),
            columns=[str(c) for c in classes],
        ),
        classes=list(classes),
        n_rows=n,
        sensitive_names=list(encoding.names),
        findings=tuple(_findings(by_group, alpha, min_ratio)),
        meta={
            "estimator": estimator_name,
            "cv": cv,
            "contamination": contamination,
            "alpha": alpha,
            "min_ratio": min_ratio,
            "random_state": random_state,
        },
    )
