"""``compare_mitigations``: performance and disparity, with CIs, of every mitigation side by side,
for binary, multiclass and regression targets."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone

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
from raikit.metrics._task import infer_task
from raikit.train._base import (
    TabularClassifierMixin,
    TabularRegressorMixin,
    WrappedClassifierMixin,
)

__all__ = ["METHODS", "MitigationResult", "compare_mitigations", "make_mitigator"]

METHODS = (
    "none",
    "reweigh",
    "expgrad",
    "gridsearch",
    "threshold",
    "fairbatch",
    "frtrain",
    "remap",
)
TASKS = ("binary", "multiclass", "regression")
# The methods that handle each kind of target (the rest refuse it before any training).
SUPPORTED = {
    "binary": METHODS,
    "multiclass": ("none", "reweigh", "fairbatch", "remap"),
    "regression": ("none", "expgrad", "gridsearch"),
}
DEFAULT_METHODS = {
    "binary": ("none", "reweigh", "expgrad", "threshold", "fairbatch"),
    "multiclass": ("none", "reweigh", "remap"),
    "regression": ("none", "expgrad", "gridsearch"),
}
_DISPARITY_METRICS = {
    "eqopp": ("true_positive_rate",),
    "eqodds": ("true_positive_rate", "false_positive_rate"),
    "dp": ("selection_rate",),
    "bgl": ("mean_squared_error",),
}
_REGRESSION_METRICS = ("mean_squared_error", "mean_absolute_error", "r2")


@dataclass(frozen=True, eq=False)
class MitigationResult(Result):
    """Performance and disparity of each mitigation on held-out data.

    Attributes
    ----------
    table : DataFrame
        One row per method, with ``_lower``/``_upper`` bootstrap bounds on every number:
        classification: ``accuracy`` and ``disparity``; regression: ``mean_squared_error``,
        ``worst_group_error`` (the mean squared error of the worst group, named in
        ``worst_group``) and ``disparity``. Then ``train_seconds`` and ``pareto`` (on the
        frontier of performance and ``disparity``, or for regression of the overall and the
        worst group's error).
    constraint : str
        ``eqopp``, ``eqodds`` or ``dp`` (classification), ``bgl`` (bounded group loss,
        regression).
    disparity_definition : str
        How ``disparity`` is computed.
    ci : float or None
    findings : tuple of Finding
    meta : dict
        Rows of train and test, ``n_boot``, ``pos_label`` (binary) and how the task was chosen.
    task : str
        ``binary``, ``multiclass`` or ``regression``.
    groups : DataFrame
        The task's metrics per method, attribute and group with their intervals (tidy:
        ``method``, ``attribute``, ``group``, ``metric``, ``value``, ``lower``, ``upper``):
        accuracy and the constrained rates (per class for multiclass), or for regression the
        mean squared and absolute errors and R².

    See Also
    --------
    compare_mitigations : computes it.

    Examples
    --------
    >>> from raikit.datasets import make_fairness_synthetic
    >>> from raikit.train import compare_mitigations
    >>> r = compare_mitigations(train=make_fairness_synthetic(400, random_state=0),
    ...                         test=make_fairness_synthetic(300, random_state=1),
    ...                         methods=["none"], constraint="dp", ci=None)
    >>> r.constraint, r.table["method"].tolist()
    ('dp', ['none'])
    """

    table: pd.DataFrame
    constraint: str
    disparity_definition: str
    ci: float | None = None
    findings: tuple = field(default_factory=tuple)
    meta: dict = field(default_factory=dict)
    task: str = "binary"
    groups: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def performance(self) -> str:
        """The table's column of overall performance: ``accuracy`` or ``mean_squared_error``."""
        return "mean_squared_error" if self.task == "regression" else "accuracy"

    @property
    def summary(self) -> str:
        t = self.table.set_index("method")
        if self.task == "regression":
            parts = [
                f"{m}: MSE {r.mean_squared_error:.3g}, worst group {r.worst_group_error:.3g}"
                for m, r in t.iterrows()
            ]
        else:
            parts = [f"{m}: acc {r.accuracy:.3f}, disp {r.disparity:.3f}" for m, r in t.iterrows()]
        positive = self.meta.get("pos_label")
        label = f", positive label {positive!r}" if positive is not None else ""
        return (
            f"{len(t)} methods ({self.task}, {self.constraint}{label}); " + "; ".join(parts) + "."
        )

    def figures(self) -> list:
        import plotly.graph_objects as go

        t = self.table
        x_name, y_name = (
            ("worst_group_error", "mean_squared_error")
            if self.task == "regression"
            else ("disparity", "accuracy")
        )
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
                    x=rows[x_name],
                    y=rows[y_name],
                    mode="markers+text",
                    text=rows["method"],
                    textposition="top center",
                    name=name,
                    marker={"symbol": symbol, "size": 11},
                    error_x=error_bars(
                        rows[x_name], rows[f"{x_name}_lower"], rows[f"{x_name}_upper"]
                    ),
                    error_y=error_bars(
                        rows[y_name], rows[f"{y_name}_lower"], rows[f"{y_name}_upper"]
                    ),
                )
            )
        front = t[t["pareto"]].sort_values(x_name)
        fig.add_trace(
            go.Scatter(
                x=front[x_name],
                y=front[y_name],
                mode="lines",
                line={"dash": "dot"},
                showlegend=False,
                hoverinfo="skip",
            )
        )
        if self.task == "regression":
            fig.update_layout(
                title="Mean squared error: overall vs worst group (lower left is better)",
                xaxis_title="worst group's mean squared error",
                yaxis_title="mean squared error",
            )
        else:
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


def make_mitigator(
    method: str, constraint: str, *, task: str = "binary", random_state=None, **params
):
    """The estimator behind each method name of :func:`compare_mitigations` and the CLI.

    ``task="regression"`` gives the regressors (``none``: linear regression; ``expgrad`` and
    ``gridsearch``: :class:`FairlearnRegressor`, bounded group loss).
    """
    from sklearn.linear_model import LogisticRegression

    from raikit.train._fairbatch import FairBatchClassifier
    from raikit.train._frtrain import FRTrainClassifier
    from raikit.train._mitigation import (
        FairlearnClassifier,
        FairlearnRegressor,
        ReweighingClassifier,
    )
    from raikit.train._remap import RemapClassifier

    if task == "regression":
        if method == "none":
            return _BaselineRegressor()
        if method in ("expgrad", "gridsearch"):
            return FairlearnRegressor(method=method, random_state=random_state, **params)
        raise ParameterError(
            f"compare_mitigations(): method {method!r} does not support a regression target; "
            f"choose from {list(SUPPORTED['regression'])}."
        )
    if method == "none":
        return _Baseline(LogisticRegression(max_iter=1000))
    if method == "remap":
        return RemapClassifier(constraint=constraint, random_state=random_state, **params)
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
    'fairbatch', 'frtrain', 'remap'"""
    return value is None or (
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


class _BaselineRegressor(TabularRegressorMixin, RegressorMixin, BaseEstimator):
    """The unmitigated regressor: the same encoding, then linear regression (sensitive unused)."""

    def fit(self, X, y, *, sensitive_features=None, sample_weight=None):
        from sklearn.linear_model import LinearRegression

        X_enc, y_float, weights = self._prepare_fit(X, y, sample_weight)
        self.estimator_ = LinearRegression().fit(X_enc, y_float, sample_weight=weights)
        return self

    def predict(self, X):
        return np.asarray(self.estimator_.predict(self._encode_predict(X)), dtype=np.float64)


def _coded(ds, positive):
    """``ds`` with its target coded 1 for the positive label and 0 otherwise."""
    frame = ds.frame.copy()
    frame[ds.target] = (frame[ds.target] == positive).astype(np.int64)
    return ds.replace(frame)


@recorded("train.compare_mitigations")
@validate_params(
    methods=_method_names,
    task=Options("auto", *TASKS),
    constraint=[Options("eqopp", "eqodds", "dp", "bgl"), None],
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
    methods=None,
    task: str = "auto",
    constraint: str | None = None,
    params: dict | None = None,
    clean_validation=0.1,
    ci: float | None = 0.95,
    n_boot: int = 1000,
    random_state=None,
    pos_label=None,
    progress=None,
    ledger=None,
) -> MitigationResult:
    """Train every mitigation on ``train`` and measure performance and disparity on ``test``.

    Parameters
    ----------
    train, test : Dataset
        Labelled data with the same features and sensitive attributes.
    methods : sequence of str, optional
        Any of ``none`` (unmitigated logistic or linear regression), ``reweigh``, ``expgrad``,
        ``gridsearch``, ``threshold``, ``fairbatch``, ``frtrain`` and ``remap``
        (:class:`RemapClassifier`) that handle the task: every one for a binary target;
        ``none``, ``reweigh``, ``fairbatch`` (``eqodds`` only) and ``remap`` for a multiclass
        target; ``none``, ``expgrad`` and ``gridsearch`` (bounded group loss,
        :class:`FairlearnRegressor`) for a regression target. Default: ``none, reweigh,
        expgrad, threshold, fairbatch`` (binary), ``none, reweigh, remap`` (multiclass),
        ``none, expgrad, gridsearch`` (regression).
    task : {"auto", "binary", "multiclass", "regression"}, default "auto"
        What the target is. ``auto`` infers it from ``train``'s and ``test``'s target (see
        :func:`raikit.metrics.infer_task`) and says so in ``meta["task_source"]`` and the summary.
    constraint : {"eqopp", "eqodds", "dp", "bgl"}, optional
        The fairness criterion: ``eqodds`` by default for labels, ``bgl`` (bounded group loss:
        every group's mean loss under a bound) for regression, the only one regression takes.
        FR-Train has discriminators for ``dp`` and ``eqodds``; it uses ``eqodds`` for ``eqopp``.
    params : dict, optional
        Extra keyword arguments per method, e.g. ``{"fairbatch": {"epochs": 50}}`` or
        ``{"expgrad": {"upper_bound": 1.5}}``.
    clean_validation : Dataset or float, default 0.1
        FR-Train's small trusted set: a Dataset of rows whose labels are known to be clean
        (same features and sensitive attributes as ``train``), or a share of ``train`` held
        out (stratified by group and label) and trusted as clean. When a share is held out,
        FR-Train trains on the remaining rows and every other method on all of ``train``.
        Unused unless ``frtrain`` is among ``methods``.
    ci : float or None, default 0.95
        Level of the bootstrap intervals of every number.
    n_boot : int, default 1000
        Bootstrap replicates of the intervals.
    random_state : int, RandomState or None, default None
        Seed of training and of the bootstrap (``None``: fresh randomness; the ledger records
        the seeds drawn).
    pos_label : optional
        Binary targets: the positive label (the favourable decision the constraint
        equalises). Inferred only for 0/1, False/True and -1/1 labels; other labels need it.
        Every method is trained on the target coded 1 for ``pos_label`` and 0 otherwise.
    progress : callable, optional
        ``progress(done, total, description)`` after each method is trained and measured
        (``description`` names the method), e.g. to advance a progress bar.
    ledger : raikit.ledger.Ledger or path, optional
        Record the result as evidence.

    Returns
    -------
    MitigationResult

    Raises
    ------
    ParameterError
        A method or constraint that does not handle the task, or ``pos_label`` for a target
        that is not binary.

    See Also
    --------
    raikit.train.FairlearnClassifier, raikit.train.FairBatchClassifier : two of the methods compared.

    Notes
    -----
    ``disparity`` is the largest distance of a group's value from the overall value (the
    FairBatch paper's measure): of the true-positive rate (``eqopp``), of the larger of the
    true- and false-positive rates (``eqodds``; the interval is that of the larger one), or of
    the selection rate (``dp``), for multiclass targets the largest over the classes (one
    versus rest); for regression, of the mean squared error. With several sensitive
    attributes, the worst attribute or intersection.

    Examples
    --------
    >>> from raikit.datasets import make_fairness_synthetic
    >>> from raikit.train import compare_mitigations
    >>> train = make_fairness_synthetic(600, random_state=0)
    >>> test = make_fairness_synthetic(400, random_state=1)
    >>> r = compare_mitigations(train=train, test=test, methods=["none", "reweigh"],
    ...                         constraint="dp", ci=None)
    >>> r.table["method"].tolist(), r.task
    (['none', 'reweigh'], 'binary')
    """
    for name, ds in (("train", train), ("test", test)):
        check_dataset(ds, need=["target"], name=name, caller="compare_mitigations")
    if list(train.sensitive_names) != list(test.sensitive_names):
        raise DataError(
            f"train and test have different sensitive attributes: {train.sensitive_names} vs "
            f"{test.sensitive_names}."
        )
    task, task_source = _resolve_task(train, test, task)
    constraint = _resolve_constraint(task, constraint)
    methods = list(DEFAULT_METHODS[task] if methods is None else methods)
    _check_support(methods, task, constraint)
    train, test, clean_validation, positive = _prepare_targets(
        train, test, clean_validation, task, pos_label
    )
    fr_train = clean = None
    if "frtrain" in methods:
        fr_train, clean = _split_clean(train, clean_validation, random_state)
    rows, groups = [], []
    for done, method in enumerate(methods, start=1):  # one fit per method (a handful)
        model = make_mitigator(
            method,
            constraint,
            task=task,
            random_state=random_state,
            **(params or {}).get(method, {}),
        )
        pred, seconds = _fit_predict(model, method, train, test, fr_train, clean)
        measured, per_group = _measure(test, pred, task, constraint, ci, n_boot, random_state)
        rows.append({"method": method, **measured, "train_seconds": seconds})
        groups.append(per_group.assign(method=method))
        if progress is not None:
            progress(done, len(methods), method)
    table = pd.DataFrame(rows)
    table["pareto"] = _pareto_of(table, task)
    meta = {
        "n_train": int(train.n_rows),
        "n_test": int(test.n_rows),
        "n_boot": int(n_boot),
        "pos_label": positive,
        "task_source": task_source,
        **_frtrain_meta(fr_train, clean, clean_validation),
    }
    return MitigationResult(
        table=table,
        constraint=constraint,
        disparity_definition="largest |group value - overall value|",
        ci=ci,
        findings=tuple(_findings(table, task)),
        meta=meta,
        task=task,
        groups=pd.concat(groups, ignore_index=True)[["method", *_GROUP_COLUMNS]],
    )


_GROUP_COLUMNS = ["attribute", "group", "metric", "value", "lower", "upper"]


def _resolve_task(train, test, task: str) -> tuple[str, str]:
    """The task and how it was chosen (``"given"`` or the inference's reason)."""
    if task != "auto":
        return task, "given"
    both = pd.concat([train.y, test.y], ignore_index=True)
    return infer_task(both)


def _resolve_constraint(task: str, constraint: str | None) -> str:
    if constraint is None:
        return "bgl" if task == "regression" else "eqodds"
    if (task == "regression") != (constraint == "bgl"):
        wanted = "'bgl'" if task == "regression" else "'eqopp', 'eqodds' or 'dp'"
        raise ParameterError(
            f"compare_mitigations(): constraint={constraint!r} does not apply to a {task} target; "
            f"use {wanted} (or leave it out)."
        )
    return constraint


def _check_support(methods: list, task: str, constraint: str) -> None:
    """Refuse, before any training, a method that cannot handle the task or the constraint."""
    if not methods:
        raise ParameterError(
            f"compare_mitigations(): methods is empty; choose from {list(SUPPORTED[task])}."
        )
    unsupported = [m for m in methods if m not in SUPPORTED[task]]
    if unsupported:
        raise ParameterError(
            f"compare_mitigations(): method(s) {unsupported} do not support a {task} target; "
            f"for {task} choose from {list(SUPPORTED[task])} (pass task= if {task!r} is wrong)."
        )
    if task == "multiclass" and "fairbatch" in methods and constraint != "eqodds":
        raise ParameterError(
            f"compare_mitigations(): fairbatch equalises a multiclass target's rates only under "
            f"constraint='eqodds', got {constraint!r}."
        )


def _prepare_targets(train, test, clean_validation, task: str, pos_label):
    """Binary targets coded 1 for the positive label; others checked and kept as they are."""
    from raikit.dataset import Dataset
    from raikit.metrics._group_metrics import resolve_pos_label

    if task != "binary":
        if pos_label is not None:
            raise ParameterError(
                f"compare_mitigations(): pos_label is for binary targets; the target is {task}."
            )
        if task == "regression":
            for name, ds in (("train", train), ("test", test)):
                if ds.y.dtype.kind not in "iuf":
                    raise DataError(
                        f"compare_mitigations(): {name}'s target {ds.target!r} is not numeric "
                        f"({ds.y.dtype}); a regression target needs numbers."
                    )
        return train, test, clean_validation, None
    for ds in (train, test):
        ds.check_binary_target()
    labels = pd.unique(pd.concat([train.y, test.y], ignore_index=True).dropna())
    positive = resolve_pos_label(labels, pos_label)
    train, test = (_coded(ds, positive) for ds in (train, test))
    if isinstance(clean_validation, Dataset) and clean_validation.target is not None:
        clean_validation = _coded(clean_validation, positive)
    return train, test, clean_validation, positive


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
        if method in ("threshold", "remap"):  # per-group post-processing
            return model.predict(test.X, sensitive_features=test.sensitive), seconds
        return model.predict(test.X), seconds


def _measure(test, pred, task, constraint, ci, n_boot, random_state) -> tuple[dict, pd.DataFrame]:
    """The table's numbers for one method, and its metrics per group (with intervals)."""
    from raikit.metrics import group_metrics

    rates = _DISPARITY_METRICS[constraint]
    metrics = list(_REGRESSION_METRICS) if task == "regression" else ["accuracy", *rates]
    gm = group_metrics(
        np.asarray(test.y),
        np.asarray(pred),
        sensitive_features=test.sensitive,
        metrics=metrics,
        ci=ci,
        n_boot=n_boot,
        random_state=random_state,
        task=task,
    )
    per_group = gm.table[_GROUP_COLUMNS].copy()
    gaps = gm.difference("to_overall", bounds=True)
    # multiclass rates come per class ("true_positive_rate[2]"); the macro average is not a rate
    family = gaps["metric"].str.replace(r"\[.*\]$", "", regex=True)
    gaps = gaps[family.isin(rates) & ~gaps["metric"].str.endswith("_macro")]
    worst = gaps.loc[gaps["value"].idxmax()]
    main = "mean_squared_error" if task == "regression" else "accuracy"
    overall = gm.table[(gm.table["attribute"] == "overall") & (gm.table["metric"] == main)]
    row = {
        main: float(overall["value"].iloc[0]),
        f"{main}_lower": float(overall["lower"].iloc[0]),
        f"{main}_upper": float(overall["upper"].iloc[0]),
    }
    if task == "regression":
        errors = per_group[(per_group["attribute"] != "overall") & (per_group["metric"] == main)]
        top = errors.loc[errors["value"].idxmax()]
        row |= {
            "worst_group_error": float(top["value"]),
            "worst_group_error_lower": float(top["lower"]),
            "worst_group_error_upper": float(top["upper"]),
            "worst_group": f"{top['attribute']} = {top['group']}",
        }
    row |= {
        "disparity": float(worst["value"]),
        "disparity_lower": float(worst["lower"]),
        "disparity_upper": float(worst["upper"]),
        "disparity_metric": str(worst["metric"]),
        "disparity_attribute": str(worst["attribute"]),
    }
    return row, per_group


def _pareto_of(table: pd.DataFrame, task: str) -> np.ndarray:
    """The frontier: accuracy and disparity, or (regression) the overall and worst errors."""
    if task == "regression":
        return _pareto(
            -table["mean_squared_error"].to_numpy(), table["worst_group_error"].to_numpy()
        )
    return _pareto(table["accuracy"].to_numpy(), table["disparity"].to_numpy())


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


def _findings(table: pd.DataFrame, task: str = "binary") -> list[Finding]:
    findings = []
    front = table[table["pareto"]]["method"].tolist()
    axes = "overall and worst group's error" if task == "regression" else "accuracy and disparity"
    findings.append(Finding("info", "Pareto frontier", f"Not beaten on both {axes}: {front}."))
    if "none" not in table["method"].tolist():
        return findings
    base = table.set_index("method").loc["none"]
    for row in table[table["method"] != "none"].itertuples():
        if task == "regression":
            finding = _regression_finding(row, base)
        else:
            finding = _classification_finding(row, base)
        if finding is not None:
            findings.append(finding)
    return findings


def _classification_finding(row, base) -> Finding | None:
    cost = base["accuracy"] - row.accuracy
    if row.disparity > base["disparity"]:
        return Finding(
            "warning",
            f"{row.method} is less fair than the baseline",
            f"disparity {row.disparity:.3f} vs {base['disparity']:.3f} unmitigated.",
            slice=row.method,
        )
    if cost > 0.05:
        return Finding(
            "warning",
            f"{row.method} costs {cost:.1%} accuracy",
            f"accuracy {row.accuracy:.3f} vs {base['accuracy']:.3f} unmitigated.",
            slice=row.method,
        )
    return None


def _regression_finding(row, base) -> Finding | None:
    if row.worst_group_error > base["worst_group_error"]:
        return Finding(
            "warning",
            f"{row.method} leaves the worst group worse off than the baseline",
            f"worst group's mean squared error {row.worst_group_error:.4g} vs "
            f"{base['worst_group_error']:.4g} unmitigated.",
            slice=row.method,
        )
    cost = row.mean_squared_error / base["mean_squared_error"] - 1
    if cost > 0.05:
        return Finding(
            "warning",
            f"{row.method} raises the overall error by {cost:.1%}",
            f"mean squared error {row.mean_squared_error:.4g} vs "
            f"{base['mean_squared_error']:.4g} unmitigated.",
            slice=row.method,
        )
    return None
