"""``learning_curve``: how a metric grows with the training-set size, overall and per group, with
error bars over cross-validation folds."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from raikit._errors import DataError, ParameterError
from raikit._recording import recorded
from raikit._result import Finding, Result
from raikit._validation import CI, RANDOM_STATE, Interval, check_dataset, rng_from, validate_params

__all__ = ["LearningCurveResult", "learning_curve"]


@dataclass(frozen=True, eq=False)
class LearningCurveResult(Result):
    """A metric on held-out folds against the number of training rows, overall and per group.

    Attributes
    ----------
    scores : DataFrame
        Tidy, one row per (size, fold, attribute, group): ``train_size`` (rows), ``fraction``,
        ``fold``, ``value``.
    curve : DataFrame
        One row per (size, attribute, group): ``mean``, ``std``, ``lower``/``upper`` (t interval of
        the mean over folds at level ``ci``), ``n_folds``.
    metric : str
    findings : tuple of Finding
    ci : float
    pos_label : object
        The positive label of a binary target (None for other targets).

    See Also
    --------
    learning_curve : computes it.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from raikit.datasets import make_fairness_synthetic
    >>> from raikit.evaluate import learning_curve
    >>> r = learning_curve(LogisticRegression(), make_fairness_synthetic(300, random_state=0),
    ...                    sizes=[0.5, 1.0], cv=3, random_state=0)
    >>> r.metric, [int(n) for n in sorted(r.curve["train_size"].unique())]
    ('accuracy', [100, 200])
    """

    scores: pd.DataFrame
    curve: pd.DataFrame
    metric: str
    findings: tuple = field(default_factory=tuple)
    ci: float = 0.95
    pos_label: object = None

    @property
    def summary(self) -> str:
        overall = self.curve[self.curve["attribute"] == "overall"]
        first, last = overall.iloc[0], overall.iloc[-1]
        positive = f" (positive label {self.pos_label!r})" if self.pos_label is not None else ""
        return (
            f"{self.metric}{positive} {first['mean']:.3f} with {int(first['train_size']):,} "
            f"training rows and "
            f"{last['mean']:.3f} with {int(last['train_size']):,} (mean over "
            f"{int(last['n_folds'])} folds)."
        )

    def figures(self) -> list:
        import plotly.graph_objects as go

        from raikit.evaluate._figures import error_bars

        figures = []
        for attribute in pd.unique(self.curve["attribute"]):  # one figure per attribute
            fig = go.Figure()
            parts = self.curve[self.curve["attribute"].isin(["overall", attribute])]
            for (attr, group), part in parts.groupby(["attribute", "group"], sort=False):
                fig.add_trace(
                    go.Scatter(
                        x=part["train_size"],
                        y=part["mean"],
                        mode="lines+markers",
                        name="overall" if attr == "overall" else str(group),
                        error_y=error_bars(part["mean"], part["lower"], part["upper"]),
                    )
                )
            if attribute == "overall" and self.curve["attribute"].nunique() > 1:
                continue
            fig.update_layout(
                title=(
                    f"Learning curve: {self.metric} by {attribute} ({self.ci:.0%} CI over folds)"
                ),
                xaxis_title="training rows",
                yaxis_title=self.metric,
            )
            figures.append(fig)
        return figures


def unfitted_estimator(value) -> bool:
    """an unfitted scikit-learn estimator (with fit)"""
    return hasattr(value, "fit") and not isinstance(value, str | type)


@recorded("evaluate.learning_curve")
@validate_params(
    estimator=unfitted_estimator,
    cv=Interval(int, 2, None),
    metric=str,
    ci=CI,
    random_state=RANDOM_STATE,
)
def learning_curve(
    estimator,
    data,
    *,
    sizes: Sequence[float] = (0.1, 0.25, 0.5, 0.75, 1.0),
    cv: int = 5,
    metric: str = "accuracy",
    pos_label=None,
    ci: float = 0.95,
    random_state=None,
    progress: Callable[[int, int], None] | None = None,
    ledger=None,
) -> LearningCurveResult:
    """Fit ``estimator`` on growing shares of each training fold and score the held-out fold.

    Parameters
    ----------
    estimator : unfitted scikit-learn estimator
        Cloned for every fit.
    data : Dataset
        Labelled data.
    sizes : list of float or int, default (0.1, 0.25, 0.5, 0.75, 1.0)
        Shares (in (0, 1]) or numbers of rows of each training fold.
    cv : int, default 5
        Number of (stratified, for classification) folds.
    metric : str, default "accuracy"
        Any metric of :func:`raikit.metrics.group_metrics` (``roc_auc`` uses ``predict_proba``:
        the column of the positive label in the model's ``classes_``).
    pos_label : optional
        The positive label of a binary target. Inferred only for 0/1, False/True and -1/1
        labels; other labels need it.
    ci : float, default 0.95
        Confidence level of the t interval of the mean over folds.
    random_state : int, Generator or None, default None
        Seed of the folds and subsamples; ``None`` draws a fresh seed, recorded in the ledger.
    progress : callable, optional
        ``progress(done, total)`` after each fit.
    ledger : raikit.ledger.Ledger or path, optional
        Record the result as evidence (inside :func:`raikit.track` it is recorded anyway).

    Returns
    -------
    LearningCurveResult

    Raises
    ------
    ParameterError
        ``estimator`` is not an estimator; bad ``sizes``, ``cv``, ``ci`` or ``random_state``.
    DataError
        The data cannot be split into ``cv`` folds, or a subsample has one class only.

    See Also
    --------
    raikit.data.slice_tuner : acquires data where the curves say it helps.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from raikit.datasets import load_german_credit
    >>> ds = load_german_credit()
    >>> ds = ds.replace(features=["duration_months", "credit_amount", "age"])
    >>> r = learning_curve(LogisticRegression(max_iter=1000), ds, sizes=[0.5, 1.0], cv=3,
    ...                    random_state=0)
    >>> r.curve[r.curve["attribute"] == "overall"]["train_size"].tolist()
    [334, 667]
    """
    from raikit.metrics._group_metrics import resolve_pos_label

    ds = check_dataset(data, need=["target"], caller="learning_curve")
    sizes = list(sizes)
    if not sizes or any(
        not isinstance(s, int | float) or isinstance(s, bool) or s <= 0 for s in sizes
    ):
        raise ParameterError(
            f"learning_curve(): sizes must be positive shares or row counts; got {sizes}."
        )
    y = ds.y.to_numpy()
    classification = ds.task != "regression"
    labels = pd.unique(y[pd.notna(y)]) if classification else []
    positive = resolve_pos_label(labels, pos_label) if len(labels) == 2 else None
    # one integer seed for the folds and the subsamples (an int seed is used as given)
    seed = (
        int(random_state)
        if isinstance(random_state, int)
        else int(rng_from(random_state).integers(2**31))
    )
    scores = _fold_scores(
        estimator, ds, sizes, cv, metric, positive, classification, seed, progress
    )
    curve = _curve(scores, ci)
    return LearningCurveResult(
        scores=scores,
        curve=curve,
        metric=metric,
        findings=tuple(_findings(curve, metric)),
        ci=float(ci),
        pos_label=positive,
    )


def _fold_scores(estimator, ds, sizes, cv, metric, positive, classification, seed, progress):
    """The metric per (size, fold, attribute, group): one fit per fold and size."""
    from sklearn.base import clone
    from sklearn.model_selection import KFold, StratifiedKFold

    from raikit.metrics import group_metrics
    from raikit.metrics._group_metrics import positive_column

    y = ds.y.to_numpy()
    splitter = (StratifiedKFold if classification else KFold)(
        n_splits=int(cv), shuffle=True, random_state=seed
    )
    rng = np.random.default_rng(seed)
    X = ds.X
    needs_score = metric in ("roc_auc", "brier_score", "log_loss", "expected_calibration_error")
    rows = []
    total = int(cv) * len(sizes)
    done = 0
    try:
        folds = list(splitter.split(np.zeros(len(y)), y))
    except ValueError as error:
        raise DataError(f"Cannot split the data into {cv} folds: {error}") from error
    for fold, (train_idx, test_idx) in enumerate(folds):  # loop over folds x sizes (model fits)
        order = rng.permutation(train_idx)
        for size in sizes:
            n_train = round(size * len(train_idx)) if size <= 1 else int(size)
            if n_train > len(train_idx):
                raise ParameterError(
                    f"learning_curve(): size {size} asks for {n_train} rows but a training fold "
                    f"has {len(train_idx)}; use shares in (0, 1]."
                )
            part = np.sort(order[:n_train])
            if classification and len(np.unique(y[part])) < 2:
                raise DataError(
                    f"A training subsample of {n_train} rows has one class only; use larger sizes."
                )
            model = clone(estimator).fit(X.iloc[part], y[part])
            X_test = X.iloc[test_idx]
            score = None
            if needs_score:
                if not hasattr(model, "predict_proba"):
                    raise ParameterError(
                        f"learning_curve(): metric={metric!r} needs predict_proba, which "
                        f"{type(model).__name__} does not have."
                    )
                column = positive_column(model.classes_, positive) if positive is not None else 1
                score = model.predict_proba(X_test)[:, column]
            gm = group_metrics(
                y[test_idx],
                model.predict(X_test),
                sensitive_features=ds.sensitive.iloc[test_idx].reset_index(drop=True),
                score=score,
                metrics=[metric],
                pos_label=positive,
                ci=None,
            )
            table = gm.table[gm.table["metric"] == gm.metric_names[-1]]
            for r in table.itertuples(index=False):  # one row per group
                rows.append((n_train, size, fold, r.attribute, r.group, r.value))
            done += 1
            if progress:
                progress(done, total)
    return pd.DataFrame(
        rows, columns=["train_size", "fraction", "fold", "attribute", "group", "value"]
    )


def _curve(scores: pd.DataFrame, ci: float) -> pd.DataFrame:
    """Mean, spread and t interval over folds per (size, attribute, group)."""
    from raikit.metrics._stats import t_value

    grouped = scores.groupby(["fraction", "attribute", "group"], sort=False)["value"]
    curve = grouped.agg(["mean", "std", "count"]).reset_index()
    curve["train_size"] = (
        scores.groupby(["fraction", "attribute", "group"], sort=False)["train_size"]
        .mean()
        .round()
        .astype("int64")
        .to_numpy()
    )
    half = t_value(ci, np.maximum(curve["count"] - 1, 1)) * curve["std"] / np.sqrt(curve["count"])
    curve["lower"] = curve["mean"] - half
    curve["upper"] = curve["mean"] + half
    curve = curve.rename(columns={"count": "n_folds"})
    curve = curve[
        ["attribute", "group", "fraction", "train_size", "mean", "std", "lower", "upper", "n_folds"]
    ]
    curve = curve.sort_values(["attribute", "group", "train_size"], kind="stable")
    order = {a: i for i, a in enumerate(pd.unique(scores["attribute"]))}
    curve = curve.sort_values("attribute", key=lambda s: s.map(order), kind="stable")
    return curve.reset_index(drop=True)


def _findings(curve: pd.DataFrame, metric: str) -> list:
    """Groups whose metric still rises by more than its spread over the last size step."""
    findings = []
    last = curve.groupby(["attribute", "group"], sort=False).tail(2)
    for (attribute, group), part in last.groupby(["attribute", "group"], sort=False):
        if len(part) == 2 and attribute != "overall":
            gain = part["mean"].iloc[1] - part["mean"].iloc[0]
            if gain > part["std"].iloc[1]:
                findings.append(
                    Finding(
                        "info",
                        f"{attribute}={group} still improving",
                        f"{metric} rose by {gain:.3f} over the last size step, more than its "
                        f"spread over folds: more data for this group should help.",
                        slice=f"{attribute}={group}",
                    )
                )
    return findings
