"""``compare_mitigations``: accuracy and disparity, with CIs, of every mitigation side by side."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone

from raikit._errors import DataError, ParameterError
from raikit._plots import error_bars
from raikit._recording import recorded
from raikit._result import Finding, Result
from raikit._validation import (
    CALLABLE,
    CI,
    RANDOM_STATE,
    Interval,
    Options,
    check_dataset,
    validate_params,
)
from raikit.train._base import TabularClassifierMixin, WrappedClassifierMixin

__all__ = ["METHODS", "MitigationResult", "compare_mitigations", "make_mitigator"]

METHODS = ("none", "reweigh", "expgrad", "gridsearch", "threshold", "fairbatch", "frtrain")
_DISPARITY_METRICS = {
    "eqopp": ("true_positive_rate",),
    "eqodds": ("true_positive_rate", "false_positive_rate"),
    "dp": ("selection_rate",),
}


@dataclass(frozen=True, eq=False)
class MitigationResult(Result):
    """Accuracy and disparity of each mitigation on held-out data.

    Attributes
    ----------
    table : DataFrame
        One row per method: ``accuracy`` and ``disparity`` with ``_lower``/``_upper`` bootstrap
        bounds, ``train_seconds`` and ``pareto`` (on the accuracy-disparity frontier).
    constraint : str
        ``eqopp``, ``eqodds`` or ``dp``.
    disparity_definition : str
        How ``disparity`` is computed.
    ci : float or None
    findings : tuple of Finding
    meta : dict
        Rows of train and test, ``n_boot`` and ``pos_label`` (the positive label).
    """

    table: pd.DataFrame
    constraint: str
    disparity_definition: str
    ci: float | None = None
    findings: tuple = field(default_factory=tuple)
    meta: dict = field(default_factory=dict)

    @property
    def summary(self) -> str:
        t = self.table.set_index("method")
        parts = [f"{m}: acc {r.accuracy:.3f}, disp {r.disparity:.3f}" for m, r in t.iterrows()]
        positive = self.meta.get("pos_label")
        label = f", positive label {positive!r}" if positive is not None else ""
        return f"{len(t)} methods ({self.constraint}{label}); " + "; ".join(parts) + "."

    def figures(self) -> list:
        import plotly.graph_objects as go

        t = self.table
        fig = go.Figure()
        for on_front, name, symbol in (
            (True, "Pareto frontier", "diamond"),
            (False, "dominated", "circle"),
        ):
            rows = t[t["pareto"] == on_front]
            if rows.empty:
                continue
            fig.add_trace(
                go.Scatter(
                    x=rows["disparity"],
                    y=rows["accuracy"],
                    mode="markers+text",
                    text=rows["method"],
                    textposition="top center",
                    name=name,
                    marker={"symbol": symbol, "size": 11},
                    error_x=error_bars(
                        rows["disparity"], rows["disparity_lower"], rows["disparity_upper"]
                    ),
                    error_y=error_bars(
                        rows["accuracy"], rows["accuracy_lower"], rows["accuracy_upper"]
                    ),
                )
            )
        front = t[t["pareto"]].sort_values("disparity")
        fig.add_trace(
            go.Scatter(
                x=front["disparity"],
                y=front["accuracy"],
                mode="lines",
                line={"dash": "dot"},
                showlegend=False,
                hoverinfo="skip",
            )
        )
        fig.update_layout(
            title=f"Accuracy vs {self.constraint} disparity (lower right is better)",
            xaxis_title=f"disparity ({self.disparity_definition})",
            yaxis_title="accuracy",
        )
        times = go.Figure(go.Bar(x=t["method"], y=t["train_seconds"]))
        times.update_layout(title="Training time", yaxis_title="seconds")
        return [fig, times]


def _pareto(accuracy: np.ndarray, disparity: np.ndarray) -> np.ndarray:
    """True where no other method is at least as accurate and as fair, and better in one."""
    better_acc = accuracy[None, :] >= accuracy[:, None]
    better_disp = disparity[None, :] <= disparity[:, None]
    strictly = (accuracy[None, :] > accuracy[:, None]) | (disparity[None, :] < disparity[:, None])
    dominated = (better_acc & better_disp & strictly).any(axis=1)
    return ~dominated


def make_mitigator(method: str, constraint: str, *, random_state=None, **params):
    """The estimator behind each method name of :func:`compare_mitigations` and the CLI."""
    from sklearn.linear_model import LogisticRegression

    from raikit.train._fairbatch import FairBatchClassifier
    from raikit.train._frtrain import FRTrainClassifier
    from raikit.train._mitigation import FairlearnClassifier, ReweighingClassifier

    if method == "none":
        return _Baseline(LogisticRegression(max_iter=1000))
    if method == "reweigh":
        return ReweighingClassifier(**params)
    if method in ("expgrad", "gridsearch", "threshold"):
        return FairlearnClassifier(
            method=method, constraint=constraint, random_state=random_state, **params
        )
    if method == "fairbatch":
        return FairBatchClassifier(constraint=constraint, random_state=random_state, **params)
    if method == "frtrain":
        return FRTrainClassifier(
            constraint=frtrain_constraint(constraint), random_state=random_state, **params
        )
    raise ParameterError(
        f"compare_mitigations(): method {method!r} is unknown; choose from {list(METHODS)}."
    )


def frtrain_constraint(constraint: str) -> str:
    """FR-Train's discriminator for a constraint: ``dp``, or ``eqodds`` for eqopp and eqodds.

    FR-Train's fairness discriminator sees the prediction (``dp``) or the prediction and the
    true label (``eqodds``); equal opportunity is a part of equalized odds, so ``eqopp`` uses
    the ``eqodds`` discriminator.
    """
    return "dp" if constraint == "dp" else "eqodds"


def _method_names(value) -> bool:
    """a list of method names among 'none', 'reweigh', 'expgrad', 'gridsearch', 'threshold',
    'fairbatch', 'frtrain'"""
    return (
        not isinstance(value, str)
        and hasattr(value, "__len__")  # a sequence: a generator would be consumed here
        and all(isinstance(m, str) and m in METHODS for m in value)
    )


def _is_dataset(value) -> bool:
    """a raikit Dataset of trusted rows"""
    from raikit.dataset import Dataset

    return isinstance(value, Dataset)


def _split_clean(train, clean_validation, random_state):
    """``(train rows for FR-Train, trusted Dataset)`` from a Dataset or a share of ``train``."""
    from raikit.dataset import Dataset

    if isinstance(clean_validation, Dataset):
        clean_validation.check_binary_target()
        if list(clean_validation.sensitive_names) != list(train.sensitive_names):
            raise DataError(
                f"clean_validation has sensitive attributes {clean_validation.sensitive_names}, "
                f"train has {train.sensitive_names}; they must match."
            )
        missing = [c for c in train.feature_names if c not in clean_validation.frame.columns]
        if missing:
            raise DataError(f"clean_validation is missing the feature column(s) {missing}.")
        return train, clean_validation
    share = float(clean_validation)  # a share in (0, 0.5], declared on compare_mitigations
    rest, clean = train.split(share, random_state=random_state)
    return rest, clean


class _Baseline(WrappedClassifierMixin, TabularClassifierMixin, ClassifierMixin, BaseEstimator):
    """The unmitigated model: the same encoding, then a plain classifier (sensitive unused)."""

    def __init__(self, estimator=None):
        self.estimator = estimator

    def fit(self, X, y, *, sensitive_features=None, sample_weight=None):
        X_enc, y_codes, weights = self._prepare_fit(X, y, sample_weight, dtype="float64")
        if self.estimator is None:
            from sklearn.linear_model import LogisticRegression

            self.estimator_ = LogisticRegression(max_iter=1000)
        else:
            self.estimator_ = clone(self.estimator)
        self.estimator_.fit(X_enc, y_codes, sample_weight=weights)
        return self


def _coded(ds, positive):
    """``ds`` with its target coded 1 for the positive label and 0 otherwise."""
    frame = ds.frame.copy()
    frame[ds.target] = (frame[ds.target] == positive).astype(np.int64)
    return ds.replace(frame)


@recorded("train.compare_mitigations")
@validate_params(
    methods=_method_names,
    constraint=Options("eqopp", "eqodds", "dp"),
    clean_validation=[_is_dataset, Interval(float, 0, 0.5, closed="right")],
    ci=[CI, None],
    n_boot=Interval(int, 1, None),
    random_state=RANDOM_STATE,
    progress=[CALLABLE, None],
)
def compare_mitigations(
    *,
    train,
    test,
    methods=("none", "reweigh", "expgrad", "threshold", "fairbatch"),
    constraint: str = "eqodds",
    params: dict | None = None,
    clean_validation=0.1,
    ci: float | None = 0.95,
    n_boot: int = 1000,
    random_state=None,
    pos_label=None,
    progress=None,
    ledger=None,
) -> MitigationResult:
    """Train every mitigation on ``train`` and measure accuracy and disparity on ``test``.

    Parameters
    ----------
    train, test : Dataset
        Labelled data with the same features and sensitive attributes (binary target).
    methods : sequence of str
        Any of ``none`` (unmitigated logistic regression), ``reweigh``, ``expgrad``,
        ``gridsearch``, ``threshold``, ``fairbatch`` and ``frtrain``.
    constraint : {"eqopp", "eqodds", "dp"}, default "eqodds"
        FR-Train has discriminators for ``dp`` and ``eqodds``; it uses ``eqodds`` for
        ``eqopp``.
    params : dict, optional
        Extra keyword arguments per method, e.g. ``{"fairbatch": {"epochs": 50}}``.
    clean_validation : Dataset or float, default 0.1
        FR-Train's small trusted set: a Dataset of rows whose labels are known to be clean
        (same features and sensitive attributes as ``train``), or a share of ``train`` held
        out (stratified by group and label) and trusted as clean. When a share is held out,
        FR-Train trains on the remaining rows and every other method on all of ``train``.
        Unused unless ``frtrain`` is among ``methods``.
    ci : float or None, default 0.95
        Level of the bootstrap intervals of accuracy and disparity.
    n_boot : int, default 1000
        Bootstrap replicates of the intervals.
    random_state : int, RandomState or None, default None
        Seed of training and of the bootstrap (``None``: fresh randomness; the ledger records
        the seeds drawn).
    pos_label : optional
        The positive label of the target (the favourable decision the constraint equalises).
        Inferred only for 0/1, False/True and -1/1 labels; other labels need it. Every method
        is trained on the target coded 1 for ``pos_label`` and 0 otherwise.
    progress : callable, optional
        ``progress(done, total, description)`` after each method is trained and measured
        (``description`` names the method), e.g. to advance a progress bar.
    ledger : raikit.ledger.Ledger or path, optional
        Record the result as evidence.

    Returns
    -------
    MitigationResult

    Notes
    -----
    ``disparity`` is the largest distance of a group's rate from the overall rate (the FairBatch
    paper's measure): of the true-positive rate (``eqopp``), of the larger of the true- and
    false-positive rates (``eqodds``; the interval is that of the larger one), or of the
    selection rate (``dp``); with several sensitive attributes, the worst attribute or
    intersection.

    Examples
    --------
    >>> from raikit.datasets import make_fairness_synthetic
    >>> from raikit.train import compare_mitigations
    >>> train = make_fairness_synthetic(600, random_state=0)
    >>> test = make_fairness_synthetic(400, random_state=1)
    >>> r = compare_mitigations(train=train, test=test, methods=["none", "reweigh"],
    ...                         constraint="dp", ci=None)
    >>> r.table["method"].tolist()
    ['none', 'reweigh']
    """
    from raikit.dataset import Dataset
    from raikit.metrics._group_metrics import resolve_pos_label

    for name, ds in (("train", train), ("test", test)):
        check_dataset(ds, need=["target"], name=name, caller="compare_mitigations")
        ds.check_binary_target()
    methods = list(methods)
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise ParameterError(
            f"compare_mitigations(): unknown method(s) {unknown}; choose from {list(METHODS)}."
        )
    if list(train.sensitive_names) != list(test.sensitive_names):
        raise DataError(
            f"train and test have different sensitive attributes: {train.sensitive_names} vs "
            f"{test.sensitive_names}."
        )
    labels = pd.unique(pd.concat([train.y, test.y], ignore_index=True).dropna())
    positive = resolve_pos_label(labels, pos_label)
    train, test = (_coded(ds, positive) for ds in (train, test))
    if isinstance(clean_validation, Dataset) and clean_validation.target is not None:
        clean_validation = _coded(clean_validation, positive)
    fr_train = clean = None
    if "frtrain" in methods:
        fr_train, clean = _split_clean(train, clean_validation, random_state)
    rows = []
    for done, method in enumerate(methods, start=1):  # one fit per method (a handful)
        model = make_mitigator(
            method, constraint, random_state=random_state, **(params or {}).get(method, {})
        )
        pred, seconds = _fit_predict(model, method, train, test, fr_train, clean)
        rows.append(
            {"method": method, **_measure(test, pred, constraint, ci, n_boot, random_state)}
        )
        rows[-1]["train_seconds"] = seconds
        if progress is not None:
            progress(done, len(methods), method)
    table = pd.DataFrame(rows)
    table["pareto"] = _pareto(table["accuracy"].to_numpy(), table["disparity"].to_numpy())
    meta = {
        "n_train": int(train.n_rows),
        "n_test": int(test.n_rows),
        "n_boot": int(n_boot),
        "pos_label": positive,
        **_frtrain_meta(fr_train, clean, clean_validation),
    }
    return MitigationResult(
        table=table,
        constraint=constraint,
        disparity_definition="largest |group rate - overall rate|",
        ci=ci,
        findings=tuple(_findings(table)),
        meta=meta,
    )


def _fit_predict(model, method, train, test, fr_train, clean):
    """Fit one mitigation (FR-Train on its own rows, with the trusted clean set) and predict."""
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fairlearn's pandas deprecation warnings
        if method == "frtrain":
            model.fit(
                fr_train.X,
                fr_train.y,
                sensitive_features=fr_train.sensitive,
                clean_validation=(
                    clean.frame[list(train.feature_names)],
                    clean.y,
                    clean.sensitive,
                ),
            )
        else:
            model.fit(train.X, train.y, sensitive_features=train.sensitive)
        seconds = time.perf_counter() - start
        if method == "threshold":
            return model.predict(test.X, sensitive_features=test.sensitive), seconds
        return model.predict(test.X), seconds


def _measure(test, pred, constraint, ci, n_boot, random_state) -> dict:
    """Accuracy and the worst disparity (to the overall rate) of one method, with intervals."""
    from raikit.metrics import group_metrics

    gm = group_metrics(
        np.asarray(test.y),
        np.asarray(pred),
        sensitive_features=test.sensitive,
        metrics=["accuracy", *_DISPARITY_METRICS[constraint]],
        ci=ci,
        n_boot=n_boot,
        random_state=random_state,
    )
    table = gm.difference("to_overall", bounds=True)
    table = table[table["metric"].isin(_DISPARITY_METRICS[constraint])]
    worst = table.loc[table["value"].idxmax()]
    overall = gm.table[(gm.table["attribute"] == "overall") & (gm.table["metric"] == "accuracy")]
    acc = overall.iloc[0]
    return {
        "accuracy": float(acc["value"]),
        "accuracy_lower": float(acc["lower"]),
        "accuracy_upper": float(acc["upper"]),
        "disparity": float(worst["value"]),
        "disparity_lower": float(worst["lower"]),
        "disparity_upper": float(worst["upper"]),
        "disparity_metric": str(worst["metric"]),
        "disparity_attribute": str(worst["attribute"]),
    }


def _frtrain_meta(fr_train, clean, clean_validation) -> dict:
    if fr_train is None:
        return {}
    return {
        "frtrain_n_train": int(fr_train.n_rows),
        "frtrain_n_clean": int(clean.n_rows),
        "frtrain_clean_source": "dataset"
        if not isinstance(clean_validation, int | float)
        else f"{float(clean_validation):g} of train held out",
    }


def _findings(table: pd.DataFrame) -> list[Finding]:
    findings = []
    front = table[table["pareto"]]["method"].tolist()
    findings.append(
        Finding("info", "Pareto frontier", f"Not beaten on both accuracy and disparity: {front}.")
    )
    if "none" in table["method"].tolist():
        base = table.set_index("method").loc["none"]
        for row in table[table["method"] != "none"].itertuples():
            cost = base["accuracy"] - row.accuracy
            if row.disparity > base["disparity"]:
                findings.append(
                    Finding(
                        "warning",
                        f"{row.method} is less fair than the baseline",
                        f"disparity {row.disparity:.3f} vs {base['disparity']:.3f} unmitigated.",
                        slice=row.method,
                    )
                )
            elif cost > 0.05:
                findings.append(
                    Finding(
                        "warning",
                        f"{row.method} costs {cost:.1%} accuracy",
                        f"accuracy {row.accuracy:.3f} vs {base['accuracy']:.3f} unmitigated.",
                        slice=row.method,
                    )
                )
    return findings
