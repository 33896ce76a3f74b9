"""``raikit.audit``: every check that applies to a model, a scorecard, and one report."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from raikit._errors import DataError, ParameterError, RaikitError
from raikit._result import Result
from raikit._validation import (
    CALLABLE,
    CI,
    RANDOM_STATE,
    Interval,
    Options,
    check_dataset,
    validate_params,
)

__all__ = [
    "PRINCIPLES",
    "AuditContext",
    "AuditReport",
    "SectionSkipped",
    "audit",
    "bias_criteria",
    "register_section",
    "skip",
]

PRINCIPLES = (
    "bias",
    "practical_accuracy",
    "explainability",
    "privacy",
    "robustness",
    "reproducibility",
    "documentation",
)
STATUSES = ("pass", "warn", "fail", "not assessed")


@dataclass
class AuditContext:
    """What every audit section sees.

    Attributes
    ----------
    model : estimator
        The fitted model under audit.
    train, test : Dataset
        The training and test data, each with the model's predictions (and scores) as roles.
    ci : float
        Confidence level of every interval.
    n_boot : int
        Bootstrap replicates.
    random_state : int or None
        The seed every section uses.
    tolerance : float
        The largest gap between groups that passes.
    ledger : Ledger or None
        Where the audit records its evidence.
    problem : dict or None
        The problem definition's answers.
    min_group_size : int
        The fewest rows a group needs to count towards a verdict.
    pos_label : object
        The positive label.
    task : str
        ``"binary"``, ``"multiclass"`` or ``"regression"``.
    task_reason : str
        How the task was chosen: ``"given"`` or the inference's reason.
    results : dict
        The results of the sections that ran so far, by check name.
    sources : dict
        Check name -> the section that produced it.
    constraints : ShapeConstraints or None
        The declared shape constraints (``audit(constraints=...)`` or the problem definition's
        ``shape_constraints``), read by the ``shape_constraints`` section.
    clients : str or None
        The column of ``test`` whose values are federated clients (``audit(clients=...)``),
        read by the ``federated`` section.
    skipped : dict
        Section -> why it did not run.
    not_requested : set of str
        Opt-in sections the user did not ask for (left out with ``skip(...,
        requested=False)``): their reasons stay in ``skipped`` but out of the scorecard.

    See Also
    --------
    raikit.audit.register_section : a section receives it.
    raikit.audit.skip : leaves a section out with a reason.

    Examples
    --------
    A section reads the model and data from it:

    >>> from sklearn.linear_model import LogisticRegression
    >>> from raikit.audit import AuditContext
    >>> from raikit.datasets import make_fairness_synthetic
    >>> train = make_fairness_synthetic(100, random_state=0)
    >>> model = LogisticRegression().fit(train.X, train.y)
    >>> ctx = AuditContext(model=model, train=train, test=train, ci=0.95, n_boot=100,
    ...                    random_state=0, tolerance=0.1, ledger=None)
    >>> ctx.task, ctx.min_group_size
    ('binary', 30)
    """

    model: object
    train: object  # raikit.Dataset with predictions
    test: object  # raikit.Dataset with predictions
    ci: float
    n_boot: int
    random_state: int | None
    tolerance: float
    ledger: object | None
    problem: dict | None = None
    min_group_size: int = 30  # replaced by audit(min_group_size=...), MIN_GROUP_SIZE by default
    pos_label: object = None  # the positive label; inferred only for 0/1, False/True, -1/1
    task: str = "binary"  # "binary", "multiclass" or "regression" (raikit.metrics.infer_task)
    task_reason: str = "given"  # how the task was chosen: "given" or the inference's reason
    constraints: object = None  # declared shape constraints (raikit.train.ShapeConstraints)
    clients: str | None = None  # audit(clients=...): the column whose values are the clients
    results: dict = field(default_factory=dict)
    sources: dict = field(default_factory=dict)  # check name -> section that produced it
    skipped: dict = field(default_factory=dict)  # section -> why it did not run
    not_requested: set = field(default_factory=set)  # opt-in sections the user did not ask for


class SectionSkipped(Exception):
    """Raised by an audit section that does not apply to this model or task: the audit records
    the reason (``report.meta["skipped"]``) and the scorecard cites it instead of passing.

    ``requested=False`` marks an opt-in section the user did not ask for (no constraints
    declared, no client column named): its reason is recorded but kept out of the scorecard,
    which would otherwise list every option not taken. Raise it with :func:`skip`.

    Parameters
    ----------
    reason : str
        Why the section does not apply, in words the report shows.
    requested : bool, default True
        False for an opt-in section the user did not ask for.

    See Also
    --------
    raikit.audit.skip : raises it.
    raikit.audit.register_section : the sections that raise it.

    Examples
    --------
    >>> from raikit.audit import SectionSkipped, skip
    >>> try:
    ...     skip("No client column was named.", requested=False)
    ... except SectionSkipped as skipped:
    ...     print(str(skipped), skipped.requested)
    No client column was named. False
    """

    def __init__(self, reason: str, *, requested: bool = True) -> None:
        super().__init__(reason)
        self.requested = requested


def skip(reason: str, *, requested: bool = True):
    """Leave the running audit section out, saying why (see :class:`SectionSkipped`).

    Call it from a section registered with :func:`register_section`; it never returns.

    Parameters
    ----------
    reason : str
        Why the section does not apply to this model, task or data: recorded in
        ``report.meta["skipped"]`` and cited by the scorecard.
    requested : bool, default True
        False for an opt-in section the user did not ask for (no constraints declared, no
        client column named): the reason is recorded but kept out of the scorecard.

    Raises
    ------
    SectionSkipped
        Always; the audit catches it.

    See Also
    --------
    raikit.audit.SectionSkipped : what it raises.
    raikit.audit.register_section : registers a section.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from raikit.audit import audit, register_section, skip
    >>> from raikit.datasets import make_fairness_synthetic
    >>> @register_section("per_site", principle="bias", description="A per-site view")
    ... def per_site(ctx):
    ...     if ctx.clients is None:
    ...         skip("No client column was named: pass audit(..., clients=...).",
    ...              requested=False)
    ...     return {}
    >>> train = make_fairness_synthetic(200, random_state=0)
    >>> model = LogisticRegression().fit(train.X, train.y)
    >>> report = audit(model, train=train, test=train, sections=["per_site"], n_boot=20)
    >>> report.meta["skipped"]
    {'per_site': 'No client column was named: pass audit(..., clients=...).'}
    >>> from raikit.audit import _audit
    >>> _ = _audit._SECTIONS.pop("per_site")  # unregister (the example's clean-up)
    """
    raise SectionSkipped(reason, requested=requested)


@dataclass(frozen=True)
class _Section:
    name: str
    principle: str
    run: Callable[[AuditContext], dict]
    description: str


_SECTIONS: dict[str, _Section] = {}


def register_section(name: str, *, principle: str, description: str = ""):
    """Register a function ``f(context) -> {check_name: Result}`` as an audit section.

    Stages plug into the audit this way as they land.

    Parameters
    ----------
    name : str
        The section's name, as ``audit(sections=[...])`` spells it.
    principle : str
        The principle its evidence informs (one of ``raikit.audit.PRINCIPLES``).
    description : str, optional
        One line for the report (default: the function's docstring).

    Returns
    -------
    callable
        A decorator that registers the function and returns it unchanged.

    Raises
    ------
    ParameterError
        When ``principle`` is not one of ``raikit.audit.PRINCIPLES``.

    See Also
    --------
    AuditContext : what the section receives.
    skip : leaves the section out with a reason.

    Examples
    --------
    A section that profiles the training data's representation:

    >>> from sklearn.linear_model import LogisticRegression
    >>> from raikit.audit import audit, register_section
    >>> from raikit.data import representation
    >>> from raikit.datasets import make_fairness_synthetic
    >>> @register_section("train_balance", principle="bias", description="Groups in training")
    ... def train_balance(ctx):
    ...     return {"data.train_balance": representation(ctx.train)}
    >>> train = make_fairness_synthetic(300, random_state=0)
    >>> model = LogisticRegression().fit(train.X, train.y)
    >>> report = audit(model, train=train, test=train, sections=["train_balance"], n_boot=20)
    >>> list(report.results)
    ['data.train_balance']
    >>> from raikit.audit import _audit
    >>> _ = _audit._SECTIONS.pop("train_balance")  # unregister (the example's clean-up)
    """
    if principle not in PRINCIPLES:
        raise ParameterError(
            f"register_section(): principle must be one of {PRINCIPLES}, got {principle!r}."
        )

    def wrap(func):
        _SECTIONS[name] = _Section(name, principle, func, description or (func.__doc__ or ""))
        return func

    return wrap


@register_section("bias", principle="bias", description="Group metrics and fairness criteria")
def _bias(ctx: AuditContext) -> dict:
    """Every metric per group and intersection on the test set, with bootstrap CIs."""
    from raikit.metrics import group_metrics_of

    result = group_metrics_of(
        ctx.test,
        ci=ctx.ci,
        n_boot=ctx.n_boot,
        random_state=ctx.random_state,
        min_group_size=ctx.min_group_size,
        pos_label=ctx.pos_label,
        task=ctx.task,
    )
    return {"metrics.group_metrics": result}


@register_section(
    "accuracy",
    principle="practical_accuracy",
    description="Accuracy on train and test, against the majority-class baseline",
)
def _accuracy(ctx: AuditContext) -> dict:
    """Overall metrics on the training data, for the train/test gap (overfitting)."""
    from raikit.metrics import group_metrics_of

    metrics = _TRAIN_METRICS[ctx.task]
    if ctx.task == "binary" and ctx.train.score is not None:
        metrics = [*metrics, "roc_auc"]
    train = group_metrics_of(
        ctx.train,
        metrics=metrics,
        ci=ctx.ci,
        n_boot=ctx.n_boot,
        random_state=ctx.random_state,
        pos_label=ctx.pos_label,
        task=ctx.task,
    )
    return {"metrics.group_metrics.train": train}


# the metrics of the training data the practical-accuracy verdict compares with the test's
_TRAIN_METRICS = {
    "binary": ["accuracy", "balanced_accuracy", "base_rate", "selection_rate"],
    "multiclass": ["accuracy", "balanced_accuracy", "base_rate", "selection_rate"],
    "regression": ["mean_absolute_error", "mean_squared_error", "r2", "mean_target"],
}


def _binary_only(ctx: AuditContext, what: str) -> None:
    """Skip the section unless the target is binary."""
    if ctx.task != "binary":
        skip(f"{what} are defined for a binary target; this is a {ctx.task} task.")


def _need_scores(ctx: AuditContext, what: str) -> None:
    """Skip the section unless the test rows have scores (the positive class's probability)."""
    _binary_only(ctx, what)
    if ctx.test.score is None:
        skip(
            f"{what} need scores: the model has no predict_proba, or the positive label is "
            f"unknown (pass pos_label=)."
        )


@register_section(
    "evaluation",
    principle="bias",
    description="ROC, precision-recall and calibration curves per group",
)
def _evaluation(ctx: AuditContext) -> dict:
    """Curves and confusion matrices per group from the recorded predictions (any model)."""
    from raikit.evaluate import evaluate

    _need_scores(ctx, "ROC, precision-recall and calibration curves")
    result = evaluate(
        None,
        ctx.test,
        ci=ctx.ci,
        n_boot=ctx.n_boot,
        tolerance=ctx.tolerance,
        random_state=ctx.random_state,
        pos_label=ctx.pos_label,
    )
    return {"evaluate.evaluate": result}


# consistency compares each row with its nearest neighbours: above this many test rows the
# audit leaves it out (the indices, which need only counts, always run)
_CONSISTENCY_ROWS = 20_000


@register_section(
    "inequality",
    principle="bias",
    description="Benefit inequality within and between groups (Theil, generalized entropy), "
    "average odds difference and consistency",
)
def _inequality(ctx: AuditContext) -> dict:
    """AIF360's inequality and individual-fairness measures on the test set (binary labels).

    The indices and the average odds difference need only the counts per (group, label,
    prediction): on a lazy test set they come from one aggregate where the rows live, with the
    same values and intervals. Consistency compares each row with its nearest neighbours: it
    runs on at most ``_CONSISTENCY_ROWS`` test rows (all of them), and is left out above, with
    the reason in the result's ``meta["consistency"]``."""
    import pandas as pd

    from raikit.metrics import inequality_metrics

    test = ctx.test
    _binary_only(ctx, "Benefit inequality indices (Theil, generalized entropy) and average odds")
    small = test.n_rows <= _CONSISTENCY_ROWS
    left_out = None
    if not small:
        left_out = (
            f"left out: the test set has {test.n_rows:,} rows, more than {_CONSISTENCY_ROWS:,}; "
            f"nearest neighbours among a sample would not be the population's neighbours"
        )
    elif not test.feature_names:
        left_out = "left out: the test set has no feature columns to find neighbours in"
    if test.is_lazy:
        result = _lazy_inequality(ctx, left_out)
    else:
        if test.y.nunique() != 2:
            skip(f"The test target has {test.y.nunique()} distinct value(s); the indices need two.")
        X = None
        if left_out is None:
            X = pd.get_dummies(test.frame[test.feature_names], dtype=float).fillna(0.0)
        result = inequality_metrics(
            test.y,
            test.frame[test.prediction],
            sensitive_features=test.frame[test.sensitive_names],
            X=X,
            pos_label=ctx.pos_label,
            ci=ctx.ci,
            n_boot=ctx.n_boot,
            random_state=ctx.random_state,
        )
    if left_out is not None:
        result = replace(result, meta={**result.meta, "consistency": left_out})
    return {"metrics.inequality_metrics": result}


def _lazy_inequality(ctx: AuditContext, left_out: str | None):
    """The inequality measures of a lazy test set: the indices from one aggregate of (group,
    label, prediction) counts; consistency on its rows when there are few enough to load."""
    import pandas as pd

    from raikit.metrics._inequality import (
        _consistency_inputs,
        _neighbour_graph,
        counted_from_table,
        inequality_from_counts,
    )

    test = ctx.test
    names = list(test.sensitive_names)
    table = test.aggregate(
        by=[*names, test.target, test.prediction], stats={"__n": (None, "count")}
    )
    keys = table.attrs["keys"]
    table = table.rename(columns={keys[test.target]: "__y", keys[test.prediction]: "__p"})
    if table["__y"].nunique() != 2:
        skip(
            f"The test target has {table['__y'].nunique()} distinct value(s); the indices need two."
        )
    counted = counted_from_table(
        table, names, pos_label=ctx.pos_label, missing_group=test.missing_group
    )
    neighbours = None
    if left_out is None:  # at most _CONSISTENCY_ROWS rows: load them, as in memory
        rows = test._rows_for(_CONSISTENCY_ROWS, "consistency (nearest neighbours)").frame
        X = pd.get_dummies(rows[test.feature_names], dtype=float).fillna(0.0)
        features, y01 = _consistency_inputs(X, rows[test.prediction], 5, ctx.pos_label)
        neighbours = (*_neighbour_graph(features, 5), y01)
    return inequality_from_counts(
        counted,
        dict(counted.slices.families),
        privileged=None,
        order=2.0,
        neighbours=neighbours,
        n_neighbors=5,
        ci=ctx.ci,
        n_boot=ctx.n_boot,
        random_state=ctx.random_state,
        meta={"backend": "spark" if test.table.format == "spark" else "duckdb"},
    )


@register_section(
    "slices",
    principle="practical_accuracy",
    description="Slice Finder: where the model fails, without naming groups",
)
def _slices(ctx: AuditContext) -> dict:
    """Conjunctions of feature values on which the loss is significantly worse (lattice search):
    the log loss of the scores (binary), the error rate (multiclass), the absolute error
    (regression)."""
    from raikit.evaluate import find_slices

    loss = _SLICE_LOSS[ctx.task]
    if ctx.task == "binary" and ctx.test.score is None:
        skip(
            "Slice Finder's log loss needs scores: the model has no predict_proba, or the "
            "positive label is unknown (pass pos_label=)."
        )
    result = find_slices(
        None,
        ctx.test,
        loss=loss,
        method="lattice",
        k=10,
        pos_label=ctx.pos_label,
        random_state=ctx.random_state,
    )
    return {"evaluate.find_slices": result}


_SLICE_LOSS = {"binary": "log_loss", "multiclass": "zero_one", "regression": "absolute_error"}


# label-free estimation fits its calibrator on the test rows (and refits it per replicate): a
# lazy test set larger than this is sampled, stratified by group and reweighted
_ESTIMATE_ROWS = 50_000


@register_section(
    "performance_estimate",
    principle="practical_accuracy",
    description="Can performance per group be monitored without labels after deployment?",
)
def _performance_estimate(ctx: AuditContext) -> dict:
    """Label-free estimation tried on the test set: half of it (stratified by group and label)
    is the labelled reference, the other half has its labels hidden; each estimate is compared
    with the value those hidden labels show. A lazy test set of more than ``_ESTIMATE_ROWS``
    rows is sampled where it lives (stratified by group, reweighted: ``meta["sampling"]``)."""
    from raikit.evaluate import estimate_performance

    test = ctx.test
    _need_scores(ctx, "Label-free performance estimates (from calibrated scores)")
    sampling = None
    if test.is_lazy and test.n_rows > _ESTIMATE_ROWS:  # the calibrator is fitted on rows
        seed = ctx.random_state if isinstance(ctx.random_state, int | np.integer) else None
        test = test.sample(_ESTIMATE_ROWS, stratify="sensitive", random_state=seed)
        sampling = test.sampling
    elif test.is_lazy:
        test = test._rows_for(_ESTIMATE_ROWS, "Label-free performance estimation")
    if test.y.nunique() != 2 or test.y.value_counts().min() < 2:  # each half needs both outcomes
        skip("Each half of the test set needs both outcomes; one has fewer than two test rows.")
    current, reference = test.split(0.5, random_state=ctx.random_state)
    # 200 replicates at most: the intervals only need to be about right to judge coverage, and
    # each replicate refits the calibrator and draws every row's label (Adult: 0.35 s)
    result = estimate_performance(
        None,
        current,
        reference=reference,
        ci=ctx.ci,
        n_boot=min(ctx.n_boot, 200),
        tolerance=ctx.tolerance,
        min_group_size=ctx.min_group_size,
        random_state=ctx.random_state,
        pos_label=ctx.pos_label,
    )
    # the gaps between groups are measured with labels by the bias section; here they would be
    # the same gaps estimated on half the rows
    kept = tuple(f for f in result.findings if " differs across " not in f.title)
    meta = result.meta
    if sampling is not None:
        meta = {**meta, "sampling": sampling, "n_rows_data": ctx.test.n_rows}
    return {"evaluate.estimate_performance": replace(result, findings=kept, meta=meta)}


# the stress test predicts every row once per perturbation (nine by default): above this many
# test rows it perturbs a sample stratified by group, reweighted, with wider intervals
_STRESS_ROWS = 50_000


@register_section(
    "robustness",
    principle="robustness",
    description="Stress test: noise, category swaps and missing values",
)
def _robustness(ctx: AuditContext) -> dict:
    """Flip rate and accuracy drop under small perturbations of the test inputs."""
    import inspect

    from raikit.evaluate import stress_test

    if ctx.task == "regression":
        skip(
            "The stress test measures the share of predictions that flip; a regression "
            "prediction moves under any perturbation, so a flip rate does not measure its "
            "robustness (the size of the change is not measured yet)."
        )
    if "sensitive_features" in inspect.signature(ctx.model.predict).parameters:
        skip("The model's predict needs the sensitive features (post-processing).")
    try:
        result = stress_test(
            ctx.model,
            ctx.test,
            n_boot=min(ctx.n_boot, 500),
            max_rows=_STRESS_ROWS,
            random_state=ctx.random_state,
        )
    except TypeError as error:  # predict needs more than X (e.g. Fairlearn post-processing)
        skip(f"The model could not predict on perturbed inputs ({error}).")
    return {"evaluate.stress_test": result}


def _unscored(ds):
    """The Dataset without the prediction and score columns the audit added (a lazy one keeps
    its file, whose two extra columns are left out of its features)."""
    added = [c for c in (ds.prediction, ds.score) if c is not None]
    if ds.is_lazy:
        features = [c for c in ds.feature_names if c not in added]
        return ds.replace(prediction=None, score=None, features=features)
    return ds.replace(ds.frame.drop(columns=added), prediction=None, score=None)


@register_section(
    "data_profile",
    principle="bias",
    description="Profile of the training data, with proxies of sensitive attributes",
)
def _data_profile(ctx: AuditContext) -> dict:
    """Who the training data represents, where it is thin or dirty, and which features are proxies."""
    from raikit.data import profile

    return {"data.profile": profile(_unscored(ctx.train), random_state=ctx.random_state)}


@register_section(
    "data_representation",
    principle="bias",
    description="Representation of each group and intersection",
)
def _data_representation(ctx: AuditContext) -> dict:
    """Group shares, base rates and the rows each small group still needs."""
    from raikit.data import representation

    return {"data.representation": representation(_unscored(ctx.train), pos_label=ctx.pos_label)}


@register_section(
    "data_drift", principle="robustness", description="Train/test skew per column and per group"
)
def _data_drift(ctx: AuditContext) -> dict:
    """Whether the test data (or serving data) still looks like the training data."""
    from raikit.data import drift

    return {"data.drift": drift(reference=_unscored(ctx.train), current=_unscored(ctx.test))}


# the domain classifier and the PCA read at most this many rows of each split (sampled beyond)
_MULTIVARIATE_ROWS = 10_000


@register_section(
    "multivariate_drift",
    principle="robustness",
    description="Train/test mismatch of the columns taken together (domain classifier, PCA "
    "reconstruction error), overall and per group",
)
def _multivariate_drift(ctx: AuditContext) -> dict:
    """Whether test rows can be told apart from training rows, which per-column tests miss when
    only the relations between columns changed."""
    from raikit.data import multivariate_drift

    result = multivariate_drift(
        reference=_unscored(ctx.train),
        current=_unscored(ctx.test),
        ci=ctx.ci,
        max_rows=_MULTIVARIATE_ROWS,
        min_group_size=ctx.min_group_size,
        random_state=ctx.random_state,
    )
    return {"data.multivariate_drift": result}


@register_section(
    "data_leakage",
    principle="practical_accuracy",
    description="Leakage across the split: duplicates, conflicting labels, features that give "
    "the target away, a train/test mismatch classifier",
)
def _data_leakage(ctx: AuditContext) -> dict:
    """Whether the test score can be trusted: test rows copied from training, labels that
    contradict each other, a feature that is the target in disguise, a split that is not random."""
    from raikit.data import leakage

    result = leakage(
        train=_unscored(ctx.train),
        test=_unscored(ctx.test),
        max_rows=10_000,
        ci=ctx.ci,
        n_boot=ctx.n_boot,
        random_state=ctx.random_state,
    )
    return {"data.leakage": result}


# members (and as many non-members) attacked: a stratified sample of a larger side, drawn where
# its rows live for a lazy one
_PRIVACY_ROWS = 10_000


@register_section(
    "privacy",
    principle="privacy",
    description="Membership inference: does the model leak its training rows?",
)
def _privacy(ctx: AuditContext) -> dict:
    """Loss-threshold membership-inference attack, training rows against test rows."""
    from raikit.privacy import membership_inference

    if not hasattr(ctx.model, "predict_proba"):
        skip(
            "The loss-threshold attack reads class probabilities; the model has no "
            "predict_proba" + (" (a regressor)." if ctx.task == "regression" else ".")
        )
    result = membership_inference(
        ctx.model,
        train=_unscored(ctx.train),
        test=_unscored(ctx.test),
        attacks=("threshold",),
        max_rows=_PRIVACY_ROWS,
        n_boot=min(ctx.n_boot, 500),
        random_state=ctx.random_state,
    )
    return {"privacy.membership_inference": result}


@register_section(
    "explainability",
    principle="explainability",
    description="SHAP attributions overall and per group, checked by permutation",
)
def _explainability(ctx: AuditContext) -> dict:
    """Which features drive the model, for whom; a warning when a sensitive attribute or a
    strong proxy ranks high."""
    from raikit.explain import explain_section

    if ctx.task == "multiclass" and ctx.pos_label is None:
        skip(
            "SHAP attributions of a multiclass model explain one class at a time and the audit "
            "does not pick one: run raikit.explain.explain(model, data, pos_label=<class>)."
        )
    try:
        return explain_section(ctx)
    except ImportError as error:
        skip(f'SHAP is not installed ({error}): pip install "raikit[explain]".')
    except (RaikitError, ValueError, TypeError) as error:  # an unsupported model, say: say why
        skip(f"SHAP could not explain the model: {type(error).__name__}: {error}")


@register_section(
    "glassbox",
    principle="explainability",
    description="Is the complex model worth it? InterpretML's Explainable Boosting Machine "
    "beside the model, per group with paired intervals",
)
def _glassbox(ctx: AuditContext) -> dict:
    """The model's accuracy (or MAE) advantage over a glass box whose every term can be read,
    per group; the glass box's term importances per group."""
    import inspect

    try:
        import interpret.glassbox  # noqa: F401
    except ImportError:
        skip('InterpretML is not installed: pip install "raikit[glassbox]".')
    if "sensitive_features" in inspect.signature(ctx.model.predict).parameters:
        skip("The model's predict needs the sensitive features (post-processing).")
    from raikit.explain import glassbox_section

    return glassbox_section(ctx)


@register_section(
    "shape_constraints",
    principle="explainability",
    description="Declared shape constraints (monotone, concave/convex, must not use) checked "
    "along each row's ICE curve",
)
def _shape_constraints(ctx: AuditContext) -> dict:
    """Whether the model keeps the shapes declared for it (more income never lowers the score,
    a feature it must not use changes nothing): the explanation people rely on, checked."""
    import inspect

    from raikit.evaluate import verify_constraints

    if ctx.constraints is None:
        skip(
            "No shape constraints were declared: pass audit(..., constraints={...}) or add "
            "shape_constraints: to the problem definition.",
            requested=False,
        )
    if ctx.task == "multiclass" and ctx.pos_label is None:
        skip("A multiclass model's constraints hold per class: pass pos_label= to pick one.")
    if "sensitive_features" in inspect.signature(ctx.model.predict).parameters:
        skip("The model's predict needs the sensitive features (post-processing).")
    result = verify_constraints(
        ctx.model,
        _unscored(ctx.test),
        constraints=ctx.constraints,
        max_rows=1000,
        pos_label=ctx.pos_label,
        ci=ctx.ci,
        random_state=ctx.random_state,
    )
    return {"evaluate.verify_constraints": result}


@register_section(
    "sensitive_data",
    principle="privacy",
    description="Personal data in the training and test tables, and their re-identification risk",
)
def _sensitive_data(ctx: AuditContext) -> dict:
    """Direct identifiers (e-mails, card numbers, national ids...) that should not be in a
    training table, and the k-anonymity / l-diversity of the quasi-identifiers its column names
    suggest (the result names them)."""
    from raikit.data import scan_pii

    def scan(ds):
        # a lazy Dataset keeps the audit's prediction and score columns in its file: not scanned
        added = {ds.prediction, ds.score} - {None}
        columns = [c for c in ds.columns if c not in added] if ds.is_lazy else None
        return scan_pii(_unscored(ds), columns=columns, random_state=ctx.random_state)

    return {"data.scan_pii": scan(ctx.train), "data.scan_pii.test": scan(ctx.test)}


@register_section(
    "federated",
    principle="bias",
    description="Per client (region, hospital, site): which client the model serves worst, "
    "from each client's counts",
)
def _federated(ctx: AuditContext) -> dict:
    """The model on each client's test rows, from the clients' counts (no rows pooled)."""
    from raikit.federated import federated_group_metrics, partition

    if ctx.clients is None:
        skip(
            "No client column was named: pass audit(..., clients='region') (the column whose "
            "values are the clients, e.g. region or hospital) to see the model per client.",
            requested=False,
        )
    if ctx.task == "regression":
        skip("The per-client view compares confusion counts; a regressor has none.")
    result = federated_group_metrics(
        None,
        partition(ctx.test, by=ctx.clients),
        ci=ctx.ci,
        n_boot=ctx.n_boot,
        random_state=ctx.random_state,
        pos_label=ctx.pos_label,
        min_group_size=ctx.min_group_size,
    )
    return {"federated.group_metrics": result}


# the evasion attack and its random baseline query predict_proba about 100 times per attacked row
# (0.7 s for Adult's 300 rows on one thread): it attacks a sample stratified by group (every group
# keeps its rows, weighted), at one budget, in a few steps
_EVASION_ROWS = 300


@register_section(
    "evasion",
    principle="robustness",
    description="Robustness to manipulation: bounded, plausible input changes that flip "
    "decisions (black-box evasion attack), per group, beside random changes",
)
def _evasion(ctx: AuditContext) -> dict:
    """How often a small, plausible change of a row's inputs flips a correct decision, and
    whether one group is easier to flip."""
    import inspect

    from raikit.evaluate import evasion_test

    if not hasattr(ctx.model, "predict_proba") or ctx.task == "regression":
        skip(
            "The evasion attack reads class probabilities (black box); the model has no "
            "predict_proba" + (" (a regressor)." if ctx.task == "regression" else ".")
        )
    if "sensitive_features" in inspect.signature(ctx.model.predict_proba).parameters:
        skip("The model's predict_proba needs the sensitive features (post-processing).")
    result = evasion_test(
        ctx.model,
        _unscored(ctx.test),
        budgets=(0.1,),
        max_steps=3,
        ci=ctx.ci,
        max_rows=_EVASION_ROWS,
        random_state=ctx.random_state,
    )
    return {"evaluate.evasion_test": result}


# --------------------------------------------------------------------------- the report
@dataclass(frozen=True, eq=False)
class AuditReport(Result):
    """The outcome of :func:`audit`: results of every check, and a scorecard per principle.

    Attributes
    ----------
    scorecard : DataFrame
        One row per principle: ``status`` (pass / warn / fail / not assessed), ``reason`` and the
        checks (``evidence``) behind the mark.
    results : dict
        Check name -> its ``...Result``.
    findings : tuple of Finding
        Every finding of every check, prefixed by its check.
    meta : dict
        Model, datasets, timings and (when recorded) ledger ids.

    See Also
    --------
    audit : computes it.
    compare_audits : compares two of them.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from raikit.audit import audit
    >>> from raikit.datasets import make_fairness_synthetic
    >>> train = make_fairness_synthetic(300, random_state=0)
    >>> test = make_fairness_synthetic(300, random_state=1)
    >>> model = LogisticRegression().fit(train.X, train.y)
    >>> report = audit(model, train=train, test=test, sections=["bias"], n_boot=50)
    >>> list(report.results)
    ['metrics.group_metrics']
    """

    scorecard: pd.DataFrame
    results: dict
    findings: tuple = ()
    meta: dict = field(default_factory=dict)

    def _repr_html_(self) -> str:
        """The audit in a notebook: the verdict per principle with the numbers behind it, the
        findings that matter most and where the full report is; built from the report's data
        (nothing recomputed, no figure drawn), every text escaped.

        Examples
        --------
        >>> import pandas as pd
        >>> card = AuditReport(
        ...     scorecard=pd.DataFrame({"principle": ["bias"], "status": ["fail"],
        ...                             "reason": ["gap 0.31 [0.25, 0.37]"], "evidence": [""]}),
        ...     results={}, meta={"model": "<m>"})._repr_html_()
        >>> "Audit of &lt;m&gt;" in card, "gap 0.31 [0.25, 0.37]" in card
        (True, True)
        """
        return _audit_card(self)

    @property
    def summary(self) -> str:
        counts = self.scorecard["status"].value_counts()
        parts = [f"{counts.get(s, 0)} {s}" for s in STATUSES if counts.get(s, 0)]
        task = self.meta.get("task")
        return (
            f"Audit of {self.meta.get('model', 'the model')}"
            + (f" ({task} task, {self.meta.get('task_source', 'given')})" if task else "")
            + ": "
            + ", ".join(parts)
            + f" over {len(self.scorecard)} principles; {len(self.results)} checks."
        )

    def figures(self) -> list:
        """The figures the report page draws, in its order (each check's, a repeat of a figure
        drawn under the same question left out)."""
        from raikit.audit._render import drawn_figures

        return drawn_figures(self)

    def summary_html(self) -> str:
        """The report's first screen as an HTML fragment: the verdict per principle with the
        number behind it and its interval, the three findings that matter most, and what to do
        next (every text escaped).

        Examples
        --------
        >>> from sklearn.linear_model import LogisticRegression
        >>> from raikit.datasets import load_german_credit
        >>> ds = load_german_credit().replace(features=["duration_months", "age"])
        >>> train, test = ds.split(0.3, random_state=0)
        >>> model = LogisticRegression().fit(train.X, train.y)
        >>> report = audit(model, train=train, test=test, sections=["bias"], n_boot=50,
        ...                random_state=0)
        >>> "What to do next" in report.summary_html()
        True
        """
        from raikit.audit._render import summary_html

        return summary_html(self)

    def to_html(self, path=None, *, title: str | None = None) -> str:
        """One self-contained page that reads top-down.

        First one screen of summary (:meth:`summary_html`), then one section per question a
        reviewer asks (Is it fair? Where does it fail? Why does it decide? Does it leak? Is it
        robust? Can it be reproduced? What is undocumented?), each with its verdict, its
        findings (grouped and de-duplicated), and the checks that answer it: their figures and
        formatted tables, the long ones folded. plotly.js is inlined once (no CDN).
        """
        from raikit.audit._render import render_report

        page = render_report(
            self, title=title or f"raikit audit: {self.meta.get('model', 'model')}"
        )
        if path is not None:
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(page)
        return page


# --------------------------------------------------------------------------- scorecard
def _mark(principle, status, reason, evidence=()) -> dict:
    return {
        "principle": principle,
        "status": status,
        "reason": reason,
        "evidence": ", ".join(evidence),
    }


def bias_criteria(result, *, tolerance: float, min_group_size: int | None = None) -> pd.DataFrame:
    """The criteria the audit's bias verdict rests on, one row per (criterion, attribute), with
    the columns of :meth:`raikit.metrics.FairnessCriterion.evaluate`.

    - binary: demographic parity (selection rate) and equalized odds (TPR and FPR);
    - multiclass: the same, per class (``selection_rate[c]``, ``true_positive_rate[c]``,
      ``false_positive_rate[c]`` of every class ``c``; a criterion takes its worst class);
    - regression: the error gap, ``1 - (smallest group MAE / largest group MAE)``: the share by
      which the best-served group's mean absolute error is below the worst-served group's
      (0: every group has the same error; 0.25: one group's error is a quarter lower), with the
      bootstrap interval of that ratio. A scale-free number, judged against ``tolerance``.

    Every verdict follows the interval: fail only when it lies wholly beyond the tolerance,
    pass only when wholly within, "not assessable" with fewer than two groups of
    ``min_group_size`` rows.

    Parameters
    ----------
    result : GroupMetricsResult
        The audit's group metrics.
    tolerance : float
        The largest gap that passes.
    min_group_size : int, optional
        The fewest rows a group needs to count (default: the result's).

    Returns
    -------
    DataFrame
        One row per (criterion, attribute).

    See Also
    --------
    raikit.metrics.evaluate_criteria : judges any criteria.

    Examples
    --------
    >>> import numpy as np
    >>> from raikit.metrics import group_metrics
    >>> rng = np.random.default_rng(0)
    >>> group = np.repeat(["a", "b"], 500)
    >>> y = rng.normal(size=1000)
    >>> pred = y + rng.normal(size=1000) * np.where(group == "a", 0.5, 1.5)  # b: 3x the error
    >>> r = group_metrics(y, pred, sensitive_features=group, n_boot=200, random_state=0)
    >>> row = bias_criteria(r, tolerance=0.1).iloc[0]
    >>> row["criterion"], round(float(row["difference"]), 2), row["verdict"]
    ('error_gap', 0.67, 'fail')
    """
    task = getattr(result, "task", "binary")
    if task == "regression":
        return _error_gap(result, tolerance=tolerance, min_group_size=min_group_size)
    if task == "multiclass":
        from raikit.metrics import FairnessCriterion, evaluate_criteria

        def per_class(*bases):
            return tuple(m for m in result.metric_names for b in bases if m.startswith(b + "["))

        criteria = [
            FairnessCriterion("demographic_parity", per_class("selection_rate")),
            FairnessCriterion(
                "equalized_odds", per_class("true_positive_rate", "false_positive_rate")
            ),
        ]
        criteria = [c for c in criteria if c.metrics]
        return evaluate_criteria(
            result, criteria, tolerance=tolerance, min_group_size=min_group_size
        )
    fairness = result.fairness(tolerance=tolerance, min_group_size=min_group_size)
    if not len(fairness):
        return fairness
    return fairness[fairness["criterion"].isin(["demographic_parity", "equalized_odds"])]


def _error_gap(result, *, tolerance: float, min_group_size: int | None) -> pd.DataFrame:
    """The regression rows of :func:`bias_criteria`: the error gap of every attribute."""
    from raikit.metrics._group_metrics import assessable_groups
    from raikit.metrics._stats import verdict

    min_size = result.min_group_size if min_group_size is None else int(min_group_size)
    ratios = result.ratio(bounds=True)
    mae = ratios[ratios["metric"] == "mean_absolute_error"].reset_index(drop=True)
    sizes = result.group_sizes
    n_ok = np.array([assessable_groups(sizes, a, min_size) for a in mae["attribute"]], dtype=int)
    gap = 1 - mae["value"].to_numpy(float)
    lower = 1 - mae["upper"].to_numpy(float)
    upper = 1 - mae["lower"].to_numpy(float)
    return pd.DataFrame(
        {
            "criterion": "error_gap",
            "attribute": mae["attribute"],
            "metric": "mean_absolute_error",
            "difference": gap,
            "lower": lower,
            "upper": upper,
            "ratio": mae["value"],
            "tolerance": tolerance,
            "detectable_difference": np.nan,
            "groups_assessable": n_ok,
            "min_group_size": min_size,
            "verdict": np.asarray(verdict(lower, upper, tolerance, assessable=n_ok >= 2), object),
            "violated": gap > tolerance,
        }
    )


def _group_errors(result, attribute: str) -> str:
    """The groups with the largest and smallest mean absolute error, and their rows: the two
    groups the error gap of ``attribute`` compares."""
    table = result.table
    rows = table[(table["attribute"] == attribute) & (table["metric"] == "mean_absolute_error")]
    rows = rows[np.isfinite(rows["value"].to_numpy(float))]
    if not len(rows):
        return ""
    sizes = result.group_sizes
    low, high = rows.loc[rows["value"].idxmin()], rows.loc[rows["value"].idxmax()]

    def one(row) -> str:
        n = sizes.get((attribute, row["group"]))
        return f"{row['value']:.3g} for {row['group']}" + (f" ({int(n)} rows)" if n else "")

    return f" (mean absolute error {one(high)} vs {one(low)})"


_PASS_TEXT = {
    "binary": "Demographic parity and equalized odds differences are within {tol} over their "
    "whole CI for every attribute",
    "multiclass": "Per-class selection rates (demographic parity) and per-class TPR and FPR "
    "(equalized odds) differ by at most {tol} over their whole CI for every attribute",
    "regression": "The error gap (1 - smallest/largest group mean absolute error) is within "
    "{tol} over its whole CI for every attribute",
}


def _score_bias(ctx: AuditContext) -> dict:
    """Bias verdict from the criteria's intervals (:func:`bias_criteria`): fail only when an
    interval is entirely beyond the tolerance, pass only when every one is entirely within it,
    and never pass when an attribute has fewer than two groups of ``min_group_size`` rows."""
    result = ctx.results.get("metrics.group_metrics")
    if result is None:
        return _mark("bias", "not assessed", "The bias section was not run.")
    min_size = ctx.min_group_size
    main = bias_criteria(result, tolerance=ctx.tolerance, min_group_size=min_size)
    evidence = ["metrics.group_metrics"]
    policy = f"(groups of at least {min_size} rows count; min_group_size={min_size})"
    if not len(main):
        return _mark("bias", "not assessed", "No fairness criterion could be computed.", evidence)
    failed = main[main["verdict"] == "fail"]
    warned = main[main["verdict"] == "warn"]
    unassessable = main[main["verdict"] == "not assessable"]
    lacking = ", ".join(pd.unique(unassessable["attribute"]))
    for status, rows in (("fail", failed), ("warn", warned)):
        if len(rows):
            worst = rows.loc[rows["difference"].idxmax()]
            how = "exceed" if status == "fail" else "have a CI that straddles"
            extra = f"; not assessable for {lacking}" if lacking and status == "warn" else ""
            detail = {  # the number's source: the groups' errors, or the class
                "regression": _group_errors(result, worst["attribute"]),
                "multiclass": f" ({worst['metric']})",
            }.get(ctx.task, "")
            return _mark(
                "bias",
                status,
                f"{len(rows)} criterion/attribute pair(s) {how} the tolerance {ctx.tolerance}"
                f"{' over their whole CI' if status == 'fail' else ''}; worst: "
                f"{worst['criterion']} on {worst['attribute']} = {worst['difference']:.3f} "
                f"[{worst['lower']:.3f}, {worst['upper']:.3f}]"
                f"{detail}{extra} {policy}.",
                evidence,
            )
    if len(unassessable) == len(main):
        return _mark(
            "bias",
            "not assessed",
            f"Not assessable: no attribute has two groups of at least {min_size} rows "
            f"({lacking}); min_group_size={min_size}.",
            evidence,
        )
    if len(unassessable):
        return _mark(
            "bias",
            "warn",
            f"Within the tolerance {ctx.tolerance} where assessable, but not assessable for "
            f"{lacking}: fewer than two groups of at least {min_size} rows "
            f"(min_group_size={min_size}).",
            evidence,
        )
    return _mark(
        "bias",
        "pass",
        _PASS_TEXT[ctx.task].format(tol=ctx.tolerance)
        + f" {policy}"
        + _detectable_text(main, ctx)
        + ".",
        evidence,
    )


def _detectable_text(main: pd.DataFrame, ctx: AuditContext) -> str:
    """Beside a pass: the smallest gap the audit could have detected (its least sensitive
    criterion and attribute), so that "no disparity found" is read at the audit's resolution."""
    from raikit.metrics import DETECTION_POWER

    known = main[np.isfinite(main["detectable_difference"].to_numpy(float))]
    if not len(known) and ctx.task != "binary":
        return (
            f"; the smallest gap this audit could detect (power analysis) is computed for "
            f"binary criteria only, not for the {ctx.task} criteria: the intervals show how "
            f"closely it looked"
        )
    if not len(known):
        return ""
    worst = known.loc[known["detectable_difference"].idxmax()]
    return (
        f"; this audit could only have detected a difference of "
        f"{worst['detectable_difference']:.3f} or larger ({worst['criterion']} on "
        f"{worst['attribute']}; power {DETECTION_POWER:.0%} at level {1 - ctx.ci:.2g})"
    )


def _power_findings(ctx: AuditContext) -> tuple:
    """A warning for each criterion the bias verdict rests on whose groups were too small to
    detect a gap of the tolerance: its verdict says what the interval shows, this says how
    closely the audit could look (a gap of the tolerance could have gone unnoticed)."""
    from raikit._result import Finding
    from raikit.metrics import DETECTION_POWER

    result = ctx.results.get("metrics.group_metrics")
    if result is None:
        return ()
    main = bias_criteria(result, tolerance=ctx.tolerance, min_group_size=ctx.min_group_size)
    if not len(main):
        return ()
    # a criterion that fails was detected: how small a gap it could have missed does not matter
    under = main[
        (main["detectable_difference"].to_numpy(float) > ctx.tolerance)
        & (main["verdict"] != "fail")
    ]
    return tuple(
        Finding(
            "warning",
            f"[metrics.group_metrics] Underpowered: {row.criterion} on {row.attribute} could "
            f"only detect a gap of {row.detectable_difference:.3f} or larger, above the "
            f"tolerance {ctx.tolerance:g}",
            f"With these groups a gap of {ctx.tolerance:g} is detected with less than "
            f"{DETECTION_POWER:.0%} power at level {1 - ctx.ci:.2g} (verdict: {row.verdict}); "
            f"about {(row.detectable_difference / ctx.tolerance) ** 2:.1f} times the rows in "
            f"the smallest groups compared would detect it (raikit.metrics."
            f"required_group_size plans it).",
        )
        for row in under.itertuples(index=False)
    )


def _score_accuracy(ctx: AuditContext) -> dict:
    """Practical accuracy: the test metric against a baseline that ignores the inputs (the
    majority class for labels, the mean for regression: R2 <= 0), then the train/test gap and
    (binary) the calibration error."""
    test = ctx.results.get("metrics.group_metrics")
    train = ctx.results.get("metrics.group_metrics.train")
    if test is None:
        return _mark("practical_accuracy", "not assessed", "No test metrics were computed.")
    overall = test.table[test.table["attribute"] == "overall"].set_index("metric")
    evidence = ["metrics.group_metrics"]
    if ctx.task == "regression":
        metric, worse = "r2", "always predicting the mean of the target (R2 = 0)"
        base, label = 0.0, "Test R2"
        mae = overall.loc["mean_absolute_error", "value"]
        reason_base = f"the mean-predictor baseline's R2 of 0 (test mean absolute error {mae:.4g})"
    else:
        metric, label = "accuracy", "Test accuracy"
        rates = overall[overall.index.str.match(r"^base_rate(\[|$)")]["value"].to_numpy(float)
        top = float(rates.max()) if len(rates) else np.nan  # the largest class's share
        base = top if ctx.task == "multiclass" else max(top, 1 - top)
        worse = f"always predicting the majority class ({base:.3f})"
        reason_base = f"majority-class baseline {base:.3f}"
    value = overall.loc[metric]
    measured = f"{label} {value['value']:.3f} [{value['lower']:.3f}, {value['upper']:.3f}]"
    if np.isfinite(value["upper"]) and value["upper"] <= base:
        return _mark(
            "practical_accuracy", "fail", f"{measured} is no better than {worse}.", evidence
        )
    reason = f"{measured} vs {reason_base}"
    if train is not None:
        evidence.append("metrics.group_metrics.train")
        gap = train.overall[metric] - value["value"]
        reason += f"; train-test gap {gap:+.3f}"
        if gap > 0.05:
            return _mark("practical_accuracy", "warn", reason + " (overfitting?).", evidence)
    if "expected_calibration_error" in overall.index:
        ece = overall.loc["expected_calibration_error", "value"]
        reason += f"; calibration error {ece:.3f}"
        if ece > 0.1:
            return _mark("practical_accuracy", "warn", reason + " (poorly calibrated).", evidence)
    return _mark("practical_accuracy", "pass", reason + ".", evidence)


def _score_reproducibility(ctx: AuditContext, run_info: dict | None) -> dict:
    if run_info is None:
        return _mark(
            "reproducibility",
            "warn",
            "Not recorded in a ledger: pass ledger= (or --out on the CLI) to record data "
            "hashes, code version, environment and seeds.",
        )
    code = run_info["code"]
    reasons = [f"run {run_info['id'][:12]} recorded with data hashes and package versions"]
    status = "pass"
    if code.get("git_commit") is None:
        status = "warn"
        reasons.append("code version unknown (not a git checkout)")
    elif code.get("git_dirty"):
        status = "warn"
        reasons.append(f"uncommitted changes on top of {code['git_commit'][:10]}")
    else:
        reasons.append(f"code at commit {code['git_commit'][:10]}")
    if isinstance(ctx.random_state, int):
        reasons.append(f"seed {ctx.random_state}")
    else:
        status = "warn"
        reasons.append("the seed is a numpy Generator, which cannot be recorded: pass an integer")
    return _mark("reproducibility", status, "; ".join(reasons) + ".", ["ledger"])


_RANK = {"not assessed": -1, "pass": 0, "warn": 1, "fail": 2}


def _with_other_sections(ctx: AuditContext, mark: dict, scored: tuple[str, ...]) -> dict:
    """A dedicated mark, made worse (never better) by the findings of the principle's other
    sections."""
    other = _score_from_findings(ctx, mark["principle"], exclude=scored)
    if other["status"] == "not assessed":
        return mark
    evidence = ", ".join(filter(None, [mark["evidence"], other["evidence"]]))
    if _RANK[other["status"]] <= _RANK[mark["status"]]:
        return {**mark, "evidence": evidence}
    return {**other, "reason": f"{mark['reason']} Also: {other['reason']}", "evidence": evidence}


def _score_from_findings(ctx: AuditContext, principle: str, *, exclude: tuple = ()) -> dict:
    """Mark a principle from the findings of the sections that inform it: any error finding fails
    it, any warning warns; no section run means not assessed."""
    checks = [
        check
        for check, section in ctx.sources.items()
        if _SECTIONS[section].principle == principle and check not in exclude
    ]
    if not checks:  # then even the options not taken explain the empty mark
        skipped = _skipped_text(ctx, principle, every=True)
        return _not_assessed(
            principle,
            skipped
            or f"No {principle} check ran (none is available for this model and data, or the "
            f"section was not selected).",
        )
    findings = [(check, f) for check in checks for f in getattr(ctx.results[check], "findings", ())]
    errors = [f"{c}: {f.title}" for c, f in findings if f.severity == "error"]
    warnings = [f"{c}: {f.title}" for c, f in findings if f.severity == "warning"]
    if errors:
        return _mark(
            principle, "fail", f"{len(errors)} error finding(s): " + "; ".join(errors[:3]), checks
        )
    if warnings:
        return _mark(
            principle, "warn", f"{len(warnings)} warning(s): " + "; ".join(warnings[:3]), checks
        )
    return _mark(principle, "pass", f"No warnings from {', '.join(checks)}.", checks)


def _skipped_text(ctx: AuditContext, principle: str, *, every: bool = False) -> str:
    """The sections of ``principle`` the audit left out, each with its reason (the opt-in
    sections nobody asked for only when ``every``)."""
    reasons = [
        f"{name}: {why}"
        for name, why in ctx.skipped.items()
        if _SECTIONS[name].principle == principle and (every or name not in ctx.not_requested)
    ]
    return ("Not run: " + " ".join(reasons)) if reasons else ""


def _with_skipped(ctx: AuditContext, mark: dict) -> dict:
    """A mark that also says which of its principle's sections did not run, and why."""
    skipped = _skipped_text(ctx, mark["principle"])
    if not skipped or skipped in mark["reason"]:
        return mark
    return {**mark, "reason": f"{mark['reason'].rstrip('. ')}. {skipped}"}


def _not_assessed(principle: str, why: str) -> dict:
    return _mark(principle, "not assessed", why)


# --------------------------------------------------------------------------- the entry point
def _predictions(model, ds, pos_label=None, *, name: str, folder=None, progress=None):
    """``ds`` with the model's predictions; a lazy one streamed to ``folder/<name>.parquet``."""
    ds = check_dataset(ds, need=["target"], name=name, caller="audit")
    if ds.prediction is not None:
        return ds
    lazy = {}
    if ds.is_lazy:
        from raikit._predict import predictions_folder

        lazy["out"] = predictions_folder(folder) / f"{name}.parquet"
        if progress is not None:
            lazy["progress"] = lambda done, total: progress(
                done, total, f"Predicting {name} ({done:,} of {total:,} rows)"
            )
    try:
        return ds.with_predictions(model, pos_label=pos_label, **lazy)
    except RaikitError:
        raise
    except Exception as error:
        raise DataError(
            f"The model could not predict on {ds.name!r}: {type(error).__name__}: {error}. Check that "
            f"the Dataset's features {ds.feature_names[:8]} are the columns the model was trained on."
        ) from error


@validate_params(
    sections=[list, tuple, None],
    ci=CI,
    n_boot=Interval(int, 1, None),
    tolerance=Interval(float, 0, None),
    random_state=RANDOM_STATE,
    progress=[CALLABLE, None],
    name=[str, None],
    min_group_size=[Interval(int, 1, None), None],
    task=Options("auto", "binary", "multiclass", "regression"),
)
def audit(
    model,
    *,
    train,
    test,
    ledger=None,
    sections: list[str] | None = None,
    ci: float = 0.95,
    n_boot: int = 1000,
    tolerance: float = 0.1,
    random_state=None,
    progress: Callable[[int, int, str | None], None] | None = None,
    name: str | None = None,
    problem=None,
    min_group_size: int | None = None,
    pos_label=None,
    task: str = "auto",
    constraints=None,
    clients: str | None = None,
    predictions_dir=None,
) -> AuditReport:
    """Run every check that applies to a fitted model and mark each principle pass/warn/fail.

    Also callable as ``raikit.audit(model, train=..., test=...)``.

    Parameters
    ----------
    model : fitted estimator
        Anything with ``predict`` (and ``predict_proba`` for score metrics).
    train, test : raikit.Dataset
        Training and test data with target and sensitive attributes (keyword-only).
    ledger : raikit.ledger.Ledger or path, optional
        Record the datasets, the model and every result, in one run named ``audit: <name>``.
        Without it, inside :func:`raikit.track` they are recorded in the active run. Either
        way each check is one evidence row, under the check name of ``report.results``, plus
        the report itself as ``audit.report``; the checks record nothing on their own.
    sections : list of str, optional
        Which sections to run (default: all registered; see ``raikit.audit.available_sections()``).
    ci : float, default 0.95
        Confidence level of every interval.
    n_boot : int, default 1000
        Bootstrap replicates of every interval (the privacy and robustness sections use at
        most 500: each of their replicates refits or re-predicts).
    tolerance : float, default 0.1
        Largest acceptable between-group difference for the fairness criteria.
    random_state : int, Generator or None, default None
        Seed of every section; ``None`` draws a fresh integer seed, recorded with the run (and
        in ``report.meta["random_state"]``) so the audit can be repeated.
    progress : callable, optional
        ``progress(done, total, description)`` before each section (sections done, sections in
        all, the section starting) and once at the end with ``description=None``; before that,
        while a lazy Dataset's rows stream through the model, after each batch (rows done, rows
        in all, "Predicting test (... of ... rows)").
    name : str, optional
        Name of the model in the report.
    problem : dict, YAML text or path, optional
        Answers to the problem-definition questions (``raikit.cards.problem_template()``); what
        is not answered is reported as a documentation gap.
    min_group_size : int, optional
        Fewest rows a group needs to count towards the bias verdict (default
        ``raikit.metrics.MIN_GROUP_SIZE``, 30): with fewer than two such groups the bias
        principle is "not assessed", never "pass". Shown in the report.
    pos_label : optional
        The positive label of the target; needed unless the labels are 0/1, False/True or
        -1/1 (it is never inferred from the labels' order). Shown in the report.
    task : {"auto", "binary", "multiclass", "regression"}, default "auto"
        The kind of target. ``"auto"`` infers it from the train and test targets by the one
        rule of :func:`raikit.metrics.infer_task` (regression: numbers with fractional values or
        more than 20 distinct values); the task and how it was chosen are in
        ``report.meta["task"]``/``["task_source"]`` and the summary. The sections follow it:
        bias compares per-class rates (multiclass) or the error gap between groups
        (regression, see :func:`bias_criteria`); accuracy compares with the majority class or
        the mean predictor. Sections defined only for binary targets (curves, inequality
        indices, label-free estimates, Slice Finder's log loss) are skipped with their reason
        in ``report.meta["skipped"]`` and the scorecard.
    constraints : ShapeConstraints or dict, optional
        Declared shape constraints (feature -> "increasing", "decreasing", "concave", "convex"
        or "must_not_use"; see :class:`raikit.train.ShapeConstraints`), checked by the
        ``shape_constraints`` section. Default: the problem definition's
        ``shape_constraints``; without either the section is skipped.
    clients : str, optional
        A column of ``test`` whose values are federated clients or sites (region, hospital):
        the ``federated`` section then reports the model per client from each client's counts
        (:func:`raikit.federated.federated_group_metrics`) and which client it serves worst;
        without it that section is skipped with its reason.
    predictions_dir : str or Path, optional
        Where the predictions of a lazy ``train``/``test`` (Parquet files or a glob read by
        DuckDB, a Spark DataFrame) are written: ``train.parquet`` and ``test.parquet``, every
        column plus the prediction and the score, streamed through the model 100,000 rows at a
        time (:meth:`raikit.Dataset.with_predictions`). Default: a temporary folder removed when
        Python exits. The aggregate sections then read those files where they lie; the sections
        that need rows in memory run on a stratified sample and say so. In-memory Datasets are
        predicted in memory and write nothing.

    Returns
    -------
    AuditReport

    Raises
    ------
    ParameterError
        An unknown section, or a parameter outside its domain.
    DataError
        ``train`` or ``test`` is not a labelled Dataset, or the model cannot predict on it.

    See Also
    --------
    raikit.audit.available_sections : the sections it runs.
    raikit.gates.check : judges the report against a policy.
    raikit.cards.model_card : a card from the report.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from raikit.datasets import load_german_credit
    >>> ds = load_german_credit().replace(features=["duration_months", "credit_amount", "age"])
    >>> train, test = ds.split(0.3, random_state=0)
    >>> model = LogisticRegression(max_iter=1000).fit(train.X, train.y)
    >>> report = audit(model, train=train, test=test, sections=["bias"], n_boot=50,
    ...                random_state=0)
    >>> report.scorecard["principle"].tolist()[:2]
    ['bias', 'practical_accuracy']
    """
    from raikit._recording import fresh_seed, outermost
    from raikit.ledger import Ledger, active_run, track

    chosen = list(_SECTIONS) if sections is None else list(sections)
    unknown = [s for s in chosen if s not in _SECTIONS]
    if unknown:
        raise ParameterError(
            f"audit(): unknown section(s) {unknown}; choose from {list(_SECTIONS)}."
        )
    if random_state is None:
        random_state = fresh_seed()  # recorded with the run: the audit can be repeated
    started = time.perf_counter()
    answers = _load_problem(problem)
    ctx = _context(
        model,
        train,
        test,
        pos_label,
        task,
        ci=ci,
        n_boot=n_boot,
        random_state=random_state,
        tolerance=tolerance,
        ledger=ledger,
        problem=answers,
        min_group_size=_min_group_size(min_group_size),
        constraints=_declared_constraints(constraints, answers),
        clients=clients,
        predictions_dir=predictions_dir,
        progress=progress,
    )
    if ctx.constraints is not None:  # a misspelt column fails now, not after the other sections
        ctx.constraints.check_columns(ctx.test.columns, where="the test data")
    model_name = name or type(model).__name__
    timings: dict[str, float] = {}
    if ledger is None and active_run() is None:
        with outermost():  # no ledger, no run: the checks inside record nothing either
            _run_sections(ctx, chosen, timings, progress)
        return _report(ctx, model_name, timings, started, run_info=None)
    if ledger is None:  # inside the user's track(): the audit's evidence joins that run
        return _audit_into(active_run(), ctx, chosen, model_name, timings, progress, started)
    ledger = ledger if isinstance(ledger, Ledger) else Ledger(ledger)
    with track(
        f"audit: {model_name}",
        ledger=ledger,
        params={"ci": ci, "n_boot": n_boot, "tolerance": tolerance, "sections": chosen},
        seeds={"bootstrap": random_state if isinstance(random_state, int) else None},
    ) as run:
        return _audit_into(run, ctx, chosen, model_name, timings, progress, started)


def _context(model, train, test, pos_label, task, **settings) -> AuditContext:
    """The section's shared state: both Datasets with the model's predictions and scores, and
    the task (given, or inferred from both targets by :func:`raikit.metrics.infer_task`)."""
    from raikit.metrics import infer_task

    folder, progress = settings.pop("predictions_dir"), settings.pop("progress")
    train = _predictions(model, train, pos_label, name="train", folder=folder, progress=progress)
    test = _predictions(model, test, pos_label, name="test", folder=folder, progress=progress)
    reason = "given"
    if task == "auto":
        task, reason = infer_task(pd.concat([train.target_values(), test.target_values()]))
    return AuditContext(
        model, train, test, pos_label=pos_label, task=task, task_reason=reason, **settings
    )


def _data_meta(ds) -> dict:
    """Name, rows and where the rows live (``backend``: numpy, duckdb or spark; a lazy
    Dataset's scored ``predictions`` file)."""
    meta = {"name": ds.name, "rows": ds.n_rows, "backend": "numpy"}
    if ds.is_lazy:
        meta["backend"] = "spark" if ds.table.format == "spark" else "duckdb"
        if isinstance(ds.source, str):
            meta["predictions"] = ds.source
    return meta


def _load_problem(problem):
    from raikit.cards import load_problem

    return load_problem(problem)


def _declared_constraints(constraints, answers: dict):
    """The shape constraints given to the audit, else those of the problem definition."""
    from raikit._shape import as_constraints

    if constraints is None:
        constraints = answers.get("shape_constraints")
    return as_constraints(constraints, name="audit(): constraints")


def _min_group_size(min_group_size) -> int:
    from raikit.metrics._stats import MIN_GROUP_SIZE

    return MIN_GROUP_SIZE if min_group_size is None else int(min_group_size)


def _audit_into(run, ctx, chosen, model_name, timings, progress, started) -> AuditReport:
    """Run the sections with recording paused, then record each check once in ``run``: the
    model, both datasets, one evidence row per check and the report as ``audit.report``."""
    from raikit.ledger import paused

    run.log_model(ctx.model, name=model_name)
    run.log_dataset(ctx.train)
    run.log_dataset(ctx.test)
    with paused():  # the checks record nothing themselves; each is logged once, below
        _run_sections(ctx, chosen, timings, progress)
    for check, result in ctx.results.items():
        dataset = ctx.train if check.endswith(".train") else ctx.test
        run.log_evidence(result, check=check, dataset=dataset, model=ctx.model)
    report = _report(ctx, model_name, timings, started, run_info=run.ledger.run(run.id))
    # The report itself is evidence: cards are rendered from it, not typed by hand.
    run.log_evidence(report, check="audit.report", dataset=ctx.test, model=ctx.model)
    return report


def _report(
    ctx: AuditContext, model_name: str, timings: dict, started: float, *, run_info: dict | None
) -> AuditReport:
    rows = [
        _with_other_sections(ctx, _score_bias(ctx), ("metrics.group_metrics",)),
        _with_other_sections(
            ctx, _score_accuracy(ctx), ("metrics.group_metrics", "metrics.group_metrics.train")
        ),
        _score_from_findings(ctx, "explainability"),
        _score_from_findings(ctx, "privacy"),
        _score_from_findings(ctx, "robustness"),
        _score_reproducibility(ctx, run_info),
        _not_assessed(
            "documentation",
            "Generate the model card and datasheet with raikit.cards "
            "(raikit audit --out does it) to assess documentation gaps.",
        ),
    ]
    rows = [_with_skipped(ctx, row) for row in rows]
    from raikit._features import sensitive_input_finding

    uses_sensitive = sensitive_input_finding(ctx.test)
    findings = (
        (() if uses_sensitive is None else (uses_sensitive,))
        + _power_findings(ctx)
        + tuple(
            replace(f, title=f"[{check}] {f.title}")  # its slice and key kept
            for check, result in ctx.results.items()
            for f in getattr(result, "findings", ())
        )
    )
    meta = {
        "model": model_name,
        "model_type": f"{type(ctx.model).__module__}.{type(ctx.model).__qualname__}",
        "model_params": _plain_params(ctx.model),
        "train": _data_meta(ctx.train),
        "test": _data_meta(ctx.test),
        "sensitive": ctx.test.sensitive_names,
        "target": ctx.test.target,
        "features": ctx.test.feature_names,
        "sensitive_inputs": ctx.test.sensitive_inputs,
        "seconds": timings | {"total": time.perf_counter() - started},
        "run_id": None if run_info is None else run_info["id"],
        "code": None if run_info is None else run_info["code"],
        "environment": None if run_info is None else run_info["environment"],
        "tolerance": ctx.tolerance,
        "ci": ctx.ci,
        "min_group_size": ctx.min_group_size,
        "pos_label": _positive_label(ctx),
        "task": ctx.task,
        "task_source": ctx.task_reason,
        "skipped": dict(ctx.skipped),
        "random_state": ctx.random_state if isinstance(ctx.random_state, int) else None,
        "shape_constraints": None if ctx.constraints is None else ctx.constraints.to_dict(),
    }
    meta["sections"] = dict(ctx.sources)  # check -> the section (and principle) behind it
    meta["slice_overlap"] = _slice_overlaps(ctx)
    draft = AuditReport(
        scorecard=pd.DataFrame(rows), results=dict(ctx.results), findings=findings, meta=meta
    )
    gaps = _documentation_gaps(draft, ctx.problem)
    meta["documentation_gaps"] = gaps
    rows[-1] = _score_documentation(gaps)
    return AuditReport(
        scorecard=pd.DataFrame(rows), results=dict(ctx.results), findings=findings, meta=meta
    )


def _positive_label(ctx: AuditContext):
    """The positive label the metrics used (JSON-safe)."""
    result = ctx.results.get("metrics.group_metrics")
    label = result.meta.get("pos_label") if result is not None else ctx.pos_label
    return label.item() if hasattr(label, "item") else label


def _documentation_gaps(draft: AuditReport, problem) -> dict:
    """Card kind -> the questions its model card and Annex IV view leave unanswered."""
    from raikit.cards import annex_iv, model_card

    cards = (model_card(draft, problem=problem), annex_iv(draft, problem=problem))
    return {card.kind: [str(f) for f in card.gaps["field"]] for card in cards}


def _slice_overlaps(ctx: AuditContext) -> dict:
    """Check -> rows shared by each pair of its slices on the test data (a k x k matrix of
    counts), so the report can merge slices whose rows mostly coincide."""
    from raikit.evaluate import SliceResult

    out = {}
    for check, result in ctx.results.items():
        if isinstance(result, SliceResult) and len(result.slices):
            out[check] = result.overlap(ctx.test)  # where the test rows live
    return out


def _score_documentation(gaps: dict) -> dict:
    total = sum(len(g) for g in gaps.values())
    if total == 0:
        return _mark(
            "documentation",
            "pass",
            "The model card and the Annex IV view have no gaps.",
            ["audit.report"],
        )
    listed = "; ".join(f"{kind}: {', '.join(g[:6])}" for kind, g in gaps.items() if len(g))
    return _mark(
        "documentation",
        "warn",
        f"{total} documentation gap(s) remain ({listed}). Answer them in a problem "
        f"definition (raikit.cards.problem_template()).",
        ["audit.report"],
    )


def _plain_params(model) -> dict:
    from raikit._params import plain_params

    return plain_params(model)  # readable text for estimators and objects, never an address


def _run_sections(ctx, chosen, timings, progress) -> None:
    for done, name in enumerate(chosen):
        section = _SECTIONS[name]
        if progress is not None:  # sections done so far, and the one starting now
            progress(done, len(chosen), section.description or name)
        start = time.perf_counter()
        try:
            produced = section.run(ctx)
        except SectionSkipped as skipped:
            produced = {}
            ctx.skipped[name] = str(skipped)
            if not skipped.requested:
                ctx.not_requested.add(name)
        if not produced and name not in ctx.skipped:
            ctx.skipped[name] = f"It gave no result for this model and data ({ctx.task} task)."
        ctx.results.update(produced)
        ctx.sources.update(dict.fromkeys(produced, name))
        timings[name] = time.perf_counter() - start
    if progress is not None:
        progress(len(chosen), len(chosen), None)


def available_sections() -> pd.DataFrame:
    """The registered audit sections and the principle each informs.

    Returns
    -------
    DataFrame
        ``section``, ``principle`` and ``description``, one row per section.

    See Also
    --------
    register_section : adds a section.
    audit : runs them (``sections=`` picks some).

    Examples
    --------
    >>> from raikit.audit import available_sections
    >>> sections = available_sections()
    >>> list(sections.columns), "bias" in set(sections["section"])
    (['section', 'principle', 'description'], True)
    """
    return pd.DataFrame(
        [(s.name, s.principle, s.description) for s in _SECTIONS.values()],
        columns=["section", "principle", "description"],
    )


# --------------------------------------------------------------------------- notebook view
_TOP_FINDINGS = 5


def _audit_card(report: AuditReport) -> str:
    """The notebook card of an audit (see :meth:`AuditReport._repr_html_`)."""
    from raikit._html import escape, notebook_card, notebook_findings_html, notebook_verdicts_html
    from raikit._result import _guarded, _written_html

    meta = report.meta
    parts = [
        _guarded(lambda: f"<p>{escape(report.summary)}</p>", "The summary could not be written"),
        _guarded(lambda: _audit_data_line(meta), "The data could not be described"),
        _guarded(
            lambda: notebook_verdicts_html(_verdicts(report.scorecard), verdict="verdict"),
            "The scorecard could not be shown",
        ),
        "<div><b>Findings that matter most</b></div>",
        _guarded(
            lambda: notebook_findings_html(_top_findings(report.findings), limit=_TOP_FINDINGS),
            "The findings could not be listed",
        ),
        _written_html(report) or _how_to_write(),
    ]
    if meta.get("run_id"):
        parts.append(
            f"<p>Recorded in the ledger as run <code>{escape(str(meta['run_id'])[:12])}</code> "
            "(browse it with <code>raikit ui</code>).</p>"
        )
    return notebook_card(
        f"Audit of {meta.get('model', 'the model')}", parts, kind=type(report).__name__
    )


def _top_findings(findings) -> list:
    """Distinct findings, most severe first and, within a severity, one from each check before a
    second from any: the first lines then cover the problems of every check. A finding repeated
    (the same severity and title, e.g. per level or per group) is one line saying how often."""
    rank = {"error": 0, "warning": 1, "info": 2}
    distinct: dict[tuple, list] = {}
    for finding in findings:
        distinct.setdefault((finding.severity, finding.title), []).append(finding)
    merged = []
    for copies in distinct.values():
        first = copies[0]
        if len(copies) > 1:
            same_slice = len({f.slice for f in copies}) == 1
            first = replace(
                first,
                title=f"{first.title} ({len(copies)} times)",
                slice=first.slice if same_slice else None,
                key=first.key if same_slice else None,
            )
        merged.append(first)
    # "[check] title" is how _report names a finding's check
    checks = [f.title.split("]", 1)[0] if f.title.startswith("[") else "" for f in merged]
    seen: dict[tuple, int] = {}
    order = []
    for position, (finding, check) in enumerate(zip(merged, checks, strict=True)):
        turn = seen[(finding.severity, check)] = seen.get((finding.severity, check), -1) + 1
        order.append((rank.get(finding.severity, 3), turn, position))
    return [merged[i] for *_, i in sorted(order)]


def _verdicts(scorecard: pd.DataFrame) -> pd.DataFrame:
    """The scorecard as a reader reads it: principle in words, verdict, the numbers behind it."""
    return pd.DataFrame(
        {
            "principle": [str(p).replace("_", " ").capitalize() for p in scorecard["principle"]],
            "verdict": scorecard["status"].astype(str).to_numpy(),
            "why (the numbers behind the verdict)": scorecard["reason"].to_numpy(),
        }
    )


def _audit_data_line(meta: dict) -> str:
    from raikit._html import escape

    test, train = meta.get("test") or {}, meta.get("train") or {}
    if not test:
        return ""
    sizes = f"test {test.get('rows', 0):,} rows"
    if train:
        sizes = f"train {train.get('rows', 0):,} rows, " + sizes
    sensitive = ", ".join(str(s) for s in meta.get("sensitive") or []) or "none"
    seconds = (meta.get("seconds") or {}).get("total")
    took = f"; took {seconds:.1f} s" if isinstance(seconds, int | float) else ""
    return (
        '<p style="color: #888;">'
        + escape(f"{sizes}; sensitive attributes: {sensitive}; target: {meta.get('target')}{took}.")
        + "</p>"
    )


def _how_to_write() -> str:
    return (
        '<p style="color: #888;">The full report (every check, its figures and tables): '
        '<code>report.to_html("audit.html")</code>.</p>'
    )
