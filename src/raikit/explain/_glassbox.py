"""``glassbox_baseline``: InterpretML's Explainable Boosting Machine next to the black box, so a
user sees what explainability costs ("is the complex model worth it?") and what the glass box
relies on, overall and per group."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse

from raikit._recording import recorded
from raikit._result import Finding, Result
from raikit._validation import (
    CI,
    RANDOM_STATE,
    Interval,
    Options,
    check_dataset,
    rng_from,
    validate_params,
)
from raikit.explain._common import fitted_model

__all__ = ["GlassboxResult", "fit_glassbox", "glassbox_baseline", "glassbox_section"]

# Fast on Adult (34k rows, 12 features: about 3 s on one core, measured in
# bench/bench_glassbox.py) and as accurate there as interpret's defaults (14 outer bags,
# learning rate 0.015, up to 50,000 rounds), which take minutes.
_FAST = {"outer_bags": 1, "learning_rate": 0.1, "n_jobs": 1}
_INSTALL = 'pip install "raikit[glassbox]"'
_CELLS = 2_000_000  # bootstrap weights drawn at once (replicates x rows)
_SHAPE_POINTS = 10  # quantile bins of a numeric feature's aggregate shape curve
_SHAPE_CATEGORIES = 12  # most frequent categories shown per categorical shape curve
_AUDIT_ROWS = {"train": 10_000, "test": 4_000}  # the audit's samples (about 3 s on Adult)


@dataclass(frozen=True, eq=False)
class GlassboxResult(Result):
    """The black box against an Explainable Boosting Machine on the same held-out rows.

    Attributes
    ----------
    gap : DataFrame
        One row per slice (``attribute``, ``group``; ``"overall"`` first): ``n`` rows,
        ``metric`` (``accuracy`` for classification, ``mean_absolute_error`` for regression),
        ``blackbox`` and ``glassbox`` (each model's value, with ``*_lower``/``*_upper``), ``gap``
        (how much better the black box is: accuracy black − glass, MAE glass − black) with its
        paired bootstrap interval ``lower``/``upper``, and ``verdict`` (``"black box better"``,
        ``"glass box better"`` or ``"as good"`` when the interval contains 0).
    importance : DataFrame
        One row per (slice, term): ``n``, ``mean_abs`` (the mean absolute contribution of the
        term to the glass box's output, from its local explanations), ``lower``/``upper``
        (bootstrap over rows), ``share`` of the slice's total and ``rank`` within the slice.
    shapes : DataFrame
        Aggregate shape curves of the most important single-feature terms: per (``term``,
        ``output``, bin) the bin's ``value`` (its label), ``value_num`` (median of a numeric bin,
        else NaN), ``position``, ``n`` and the mean ``contribution`` of the rows in the bin.
    meta : dict
        ``glassbox``, ``glassbox_params``, ``blackbox``, ``task``, ``metric``, ``units`` (of the
        contributions), ``n_train``, ``n_test``, ``pos_label``, ``ci``, ``n_boot``; from the
        audit also ``sampled_from`` (the rows the samples were drawn from), ``sampling`` (per
        side, the per-stratum record of :meth:`raikit.Dataset.sample`, None for a side used
        whole) and ``figures``
        (``["gap"]``: the page draws the gap only; its ``shapes`` are left out).
    findings : tuple of Finding

    See Also
    --------
    glassbox_baseline : computes it.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from raikit.datasets import make_fairness_synthetic
    >>> from raikit.explain import glassbox_baseline
    >>> train = make_fairness_synthetic(600, random_state=0)
    >>> test = make_fairness_synthetic(400, random_state=1)
    >>> model = LogisticRegression().fit(train.X, train.y)
    >>> r = glassbox_baseline(model, train, test=test, max_rounds=100, n_boot=50, random_state=0)
    >>> r.gap["group"].iloc[0], r.gap["verdict"].iloc[0] in {"as good", "black box better",
    ...                                                      "glass box better"}
    ('overall', True)
    """

    gap: pd.DataFrame
    importance: pd.DataFrame
    shapes: pd.DataFrame
    meta: dict = field(default_factory=dict)
    findings: tuple = field(default_factory=tuple)

    @property
    def summary(self) -> str:
        row = self.gap.iloc[0]
        level = f"{self.meta.get('ci', 0.95):.0%}"
        verdict = {
            "as good": f"the glass box is as good within the {level} interval",
            "black box better": "the black box is better",
            "glass box better": "the glass box is better",
        }[row["verdict"]]
        sampled = self.meta.get("sampled_from")
        rows = f"{self.meta['n_test']:,} held-out rows"
        if sampled:
            rows += (
                f" (samples by group of {sampled['train']:,} training and {sampled['test']:,} "
                "test rows, reweighted)"
            )
        return (
            f"{self.meta['glassbox']} vs {self.meta['blackbox']} on {rows}: "
            f"{self.meta['metric']} {row['glassbox']:.3f} vs "
            f"{row['blackbox']:.3f}, gap {row['gap']:+.3f} [{row['lower']:+.3f}, "
            f"{row['upper']:+.3f}]: {verdict}."
        )

    def figures(self) -> list:
        import plotly.graph_objects as go

        from raikit._plots import error_bars

        level = f"{self.meta.get('ci', 0.95):.0%}"
        names = self.gap["attribute"].where(
            self.gap["attribute"] == "overall",
            self.gap["attribute"].astype(str) + "=" + self.gap["group"].astype(str),
        )
        gap_figure = go.Figure(
            go.Bar(
                x=names,
                y=self.gap["gap"],
                error_y=error_bars(self.gap["gap"], self.gap["lower"], self.gap["upper"]),
            )
        )
        gap_figure.update_layout(
            title=f"Is the complex model worth it? Black box's {self.meta['metric']} advantage "
            f"over the glass box, per group ({level} paired CI; 0 = as good)",
        )
        figures = [gap_figure]
        if self.meta.get("figures") == ["gap"]:
            return figures
        top = self.importance[self.importance["attribute"] == "overall"].nsmallest(8, "rank")
        part = self.importance[self.importance["term"].isin(top["term"])]
        importance_figure = go.Figure()
        for (attribute, group), rows in part.groupby(["attribute", "group"], sort=False):
            importance_figure.add_trace(
                go.Bar(
                    x=rows["term"],
                    y=rows["mean_abs"],
                    name="overall" if attribute == "overall" else f"{attribute}={group}",
                    error_y=error_bars(rows["mean_abs"], rows["lower"], rows["upper"]),
                )
            )
        importance_figure.update_layout(
            title=f"Glass box term importance per group (mean |contribution|, "
            f"{self.meta.get('units', '')}, {level} CI)",
            barmode="group",
        )
        figures.append(importance_figure)
        if len(self.shapes):
            from plotly.subplots import make_subplots

            terms = list(dict.fromkeys(self.shapes["term"]))
            shape_figure = make_subplots(
                rows=len(terms), cols=1, subplot_titles=terms, vertical_spacing=0.3 / len(terms)
            )
            for (term, output), rows in self.shapes.groupby(["term", "output"], sort=False):
                shape_figure.add_trace(
                    go.Scatter(
                        x=rows["value"].astype(str),
                        y=rows["contribution"],
                        mode="lines+markers",
                        name=f"{term} ({output})",
                    ),
                    row=terms.index(term) + 1,
                    col=1,
                )
            shape_figure.update_layout(
                title="Shape functions of the top terms (mean contribution per bin, "
                f"{self.meta.get('units', '')})",
                height=220 * len(terms) + 80,
                showlegend=False,
            )
            figures.append(shape_figure)
        return figures


def _interpret():
    """InterpretML's EBM classes, or an ImportError naming the extra to install."""
    try:
        from interpret.glassbox import (
            ExplainableBoostingClassifier,
            ExplainableBoostingRegressor,
        )
    except ImportError as error:  # pragma: no cover - interpret is installed in CI
        raise ImportError(
            f"glassbox_baseline needs InterpretML's Explainable Boosting Machine: {_INSTALL}"
        ) from error
    return ExplainableBoostingClassifier, ExplainableBoostingRegressor


def _seed(random_state) -> int:
    """An integer seed for scikit-learn, interpret and the split (an int is used as given)."""
    if isinstance(random_state, int | np.integer):
        return int(random_state)
    return int(rng_from(random_state).integers(2**31))


@validate_params(
    task=Options("auto", "binary", "multiclass", "regression"),
    interactions=Interval(int, 0, None),
    max_rounds=Interval(int, 1, None),
    random_state=RANDOM_STATE,
)
def fit_glassbox(
    data,
    *,
    task: str = "auto",
    interactions: int = 3,
    max_rounds: int = 1000,
    random_state=None,
):
    """Fit InterpretML's Explainable Boosting Machine on a Dataset, with raikit's fast settings.

    A classifier (``ExplainableBoostingClassifier``) for a binary or multiclass target, a
    regressor (``ExplainableBoostingRegressor``) for a numeric one, chosen by
    :func:`raikit.metrics.infer_task`. Settings: one outer bag, learning rate 0.1, one job,
    ``interactions`` pairwise terms and at most ``max_rounds`` boosting rounds (early stopping on
    interpret's validation split); every other setting is interpret's default. The Dataset's
    weights, if any, are the sample weights.

    Parameters
    ----------
    data : Dataset
        Training data with a target; the model sees ``data.X``.
    task : {"auto", "binary", "multiclass", "regression"}, default "auto"
        ``"auto"`` infers it from the target.
    interactions : int, default 3
        Pairwise interaction terms (0: a purely additive model, one shape function per feature).
    max_rounds : int, default 1000
        Most boosting rounds.
    random_state : int, Generator or None, default None
        Seed of interpret's bagging and validation split.

    Returns
    -------
    interpret.glassbox.ExplainableBoostingClassifier or ExplainableBoostingRegressor
        Fitted.

    Raises
    ------
    ParameterError
        A bad ``task``, ``interactions`` or ``max_rounds``; ``data`` is not a Dataset.
    DataError
        ``data`` has no target.
    ImportError
        InterpretML is missing (``pip install "raikit[glassbox]"``).

    See Also
    --------
    glassbox_baseline : the fitted glass box beside a model, per group.

    Examples
    --------
    >>> from raikit.datasets import load_german_credit
    >>> ebm = fit_glassbox(load_german_credit(), interactions=0, max_rounds=100, random_state=0)
    >>> type(ebm).__name__, len(ebm.term_names_)
    ('ExplainableBoostingClassifier', 20)
    """
    ds = check_dataset(data, need=["target"], caller="fit_glassbox")
    return _fit(ds, _task(ds.y, task), interactions, max_rounds, _seed(random_state))


def _task(y, task: str) -> str:
    from raikit.metrics import infer_task

    return infer_task(y)[0] if task == "auto" else task


def _fit(ds, task: str, interactions: int, max_rounds: int, seed: int):
    classifier, regressor = _interpret()
    learner = regressor if task == "regression" else classifier
    model = learner(interactions=interactions, max_rounds=max_rounds, random_state=seed, **_FAST)
    with warnings.catch_warnings():
        # interpret warns that its own plots hide missing values; raikit does not use them
        warnings.filterwarnings("ignore", message="Missing values detected", category=UserWarning)
        model.fit(ds.X, ds.y, sample_weight=ds.weights)
    return model


@recorded("explain.glassbox_baseline")
@validate_params(
    model=[fitted_model, None],
    test_size=Interval(float, 0, 1, closed="neither"),
    interactions=Interval(int, 0, None),
    max_rounds=Interval(int, 1, None),
    top_k=Interval(int, 1, None),
    ci=CI,
    n_boot=Interval(int, 1, None),
    random_state=RANDOM_STATE,
)
def glassbox_baseline(
    model,
    data,
    *,
    test=None,
    test_size: float = 0.3,
    interactions: int = 3,
    max_rounds: int = 1000,
    top_k: int = 5,
    ci: float = 0.95,
    n_boot: int = 1000,
    pos_label=None,
    random_state=None,
    ledger=None,
) -> GlassboxResult:
    """Is the complex model worth it? Fit InterpretML's Explainable Boosting Machine (a glass
    box whose every term can be read) and compare it with the black box on the same rows.

    The glass box (:func:`fit_glassbox`) is fitted on the training rows. On the held-out rows:

    * **the gap**: accuracy (classification) or mean absolute error (regression) of both
      models, overall and per group of each sensitive attribute, and the black box's advantage
      with a *paired* Bayesian bootstrap interval (both models on the same resampled rows; two
      pseudo-rows at the extremes of the per-row difference, half a row each, keep the interval
      from having zero width, as the Jeffreys prior does for rates);
    * **term importance**: the mean absolute contribution of each term, from the EBM's local
      explanations (``eval_terms``, vectorised over rows), overall and per group, with bootstrap
      intervals over rows;
    * **shape curves** of the ``top_k`` most important single-feature terms, aggregated to
      a few points (quantile bins of a numeric feature, the most frequent categories).

    Parameters
    ----------
    model : fitted estimator or None
        The black box. With ``None`` scikit-learn's HistGradientBoosting (classifier or
        regressor) is trained on the same rows.
    data : Dataset
        Training data with a target (binary, multiclass or numeric); split with ``test_size``
        when ``test`` is not given.
    test : Dataset, optional
        Held-out rows on which both models are compared.
    test_size : float, default 0.3
        Share of ``data`` held out when ``test`` is not given.
    interactions, max_rounds : int, default 3 and 1000
        The glass box's pairwise terms and most boosting rounds (see :func:`fit_glassbox`).
    top_k : int, default 5
        Terms whose shape curve is returned.
    ci : float, default 0.95
        Confidence level of every interval.
    n_boot : int, default 1000
        Bootstrap replicates (one set of row weights serves the gap and the importances).
    pos_label : optional
        Binary targets: the label whose log-odds the contributions and shapes are in. Inferred
        only for 0/1, False/True and -1/1 labels; other labels need it.
    random_state : int, Generator or None, default None
        Seed of the split, both models and the bootstrap; ``None`` draws a fresh seed, recorded
        in the ledger.
    ledger : raikit.ledger.Ledger or path, optional
        Record the result as evidence (inside :func:`raikit.track` it is recorded anyway).

    Returns
    -------
    GlassboxResult

    Raises
    ------
    ParameterError
        ``model`` is neither None nor fitted; a parameter out of range; ``data`` or ``test``
        is not a Dataset.
    DataError
        ``data`` has no target, or string labels without ``pos_label``.
    ImportError
        InterpretML is missing (``pip install "raikit[glassbox]"``).

    See Also
    --------
    raikit.explain.explain : attributions of the black box.

    Examples
    --------
    >>> from raikit.datasets import load_german_credit
    >>> r = glassbox_baseline(None, load_german_credit(), max_rounds=200, n_boot=100,
    ...                       random_state=0)
    >>> r.meta["glassbox"]
    'ExplainableBoostingClassifier (InterpretML)'
    >>> r.gap.loc[0, ["attribute", "metric"]].tolist()
    ['overall', 'accuracy']
    >>> bool(r.gap.loc[0, "lower"] <= r.gap.loc[0, "gap"] <= r.gap.loc[0, "upper"])
    True
    """
    train, test, task, positive = _inputs(model, data, test, test_size, pos_label, random_state)
    seed = _seed(random_state)
    if test is None:
        train, test = train.split(test_size, random_state=seed)
    glass = _fit(train, task, interactions, max_rounds, seed)
    model, black_name = _black_box(model, train, task, seed)
    contributions, units, outputs = _contributions(glass, test.X, task, positive)
    membership, slices = _membership(test)
    weights = np.ones(test.n_rows) if test.weights is None else test.weights
    per_row, bounds = _per_row(model, glass, test, task)
    magnitude = np.abs(contributions).mean(axis=2)  # rows x terms (mean over outputs)
    values = np.column_stack([per_row, magnitude])
    low = np.concatenate([bounds[0], np.zeros(magnitude.shape[1])])
    high = np.concatenate([bounds[1], _largest_contributions(glass, task)])
    point, lower, upper = _bootstrap(
        values, membership, weights, (low, high), ci, n_boot, rng_from(seed)
    )
    metric = "mean_absolute_error" if task == "regression" else "accuracy"
    slices["n"] = np.asarray(membership.sum(axis=0)).ravel().astype(int)
    gap = _gap_table(slices, metric, point[:, :3], lower[:, :3], upper[:, :3])
    terms = [str(t) for t in glass.term_names_]
    importance = _importance_table(slices, terms, point[:, 3:], lower[:, 3:], upper[:, 3:])
    shapes = _shapes(glass, test, contributions, outputs, importance, top_k, weights)
    meta = {
        "glassbox": f"{type(glass).__name__} (InterpretML)",
        "glassbox_params": {"interactions": interactions, "max_rounds": max_rounds, **_FAST},
        "blackbox": black_name,
        "task": task,
        "metric": metric,
        "units": units,
        "n_terms": len(terms),
        "n_train": int(train.n_rows),
        "n_test": int(test.n_rows),
        "pos_label": positive,
        "ci": float(ci),
        "n_boot": int(n_boot),
    }
    findings = _findings(gap, ci)
    return GlassboxResult(
        gap=gap, importance=importance, shapes=shapes, meta=meta, findings=findings
    )


def glassbox_section(ctx) -> dict:
    """The audit's "glassbox" section: :func:`glassbox_baseline` on samples stratified by group
    (10,000 training and 4,000 test rows at most, reweighted to the population; the summary says
    so, ``meta["sampling"]`` records them); a lazy Dataset is sampled where its rows live. To
    keep the audit page small it draws only the gap figure and leaves the shape curves out
    (``shapes`` is empty; :func:`glassbox_baseline` returns them).

    Parameters
    ----------
    ctx : AuditContext
        What the audit passes to every section.

    Returns
    -------
    dict
        ``{"explain.glassbox_baseline": GlassboxResult}``, or ``{}`` without a model.

    See Also
    --------
    raikit.audit.audit : runs it as the "glassbox" section.
    glassbox_baseline : the check it calls.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from raikit.audit import audit
    >>> from raikit.datasets import make_fairness_synthetic
    >>> train = make_fairness_synthetic(300, random_state=0)
    >>> test = make_fairness_synthetic(300, random_state=1)
    >>> model = LogisticRegression().fit(train.X, train.y)
    >>> report = audit(model, train=train, test=test, sections=["glassbox"], n_boot=20,
    ...                random_state=0)
    >>> list(report.results)
    ['explain.glassbox_baseline']
    """
    from dataclasses import replace

    model = getattr(ctx, "model", None)
    if model is None or not hasattr(model, "predict"):
        return {}
    seed = _seed(ctx.random_state)
    data, sampling = {}, {}
    for name in ("train", "test"):  # two samples, drawn where the rows live
        ds = getattr(ctx, name)
        added = [c for c in (ds.prediction, ds.score) if c is not None]
        rows = ds._rows_for(
            _AUDIT_ROWS[name], f"the glassbox section's {name} rows", seed, stratify="sensitive"
        )
        sampling[name] = rows.sampling if rows is not ds else None
        data[name] = rows.replace(rows.frame.drop(columns=added), prediction=None, score=None)
    result = glassbox_baseline(
        model,
        data["train"],
        test=data["test"],
        ci=ctx.ci,
        n_boot=ctx.n_boot,
        pos_label=getattr(ctx, "pos_label", None),
        random_state=seed,
    )
    meta = {**result.meta, "figures": ["gap"]}
    if ctx.train.n_rows > _AUDIT_ROWS["train"] or ctx.test.n_rows > _AUDIT_ROWS["test"]:
        meta["sampled_from"] = {"train": int(ctx.train.n_rows), "test": int(ctx.test.n_rows)}
        meta["sampling"] = sampling
    # the page stays small: the gap figure, the gap and importance tables; no shape curves
    # (glassbox_baseline returns them)
    shapes = result.shapes.iloc[0:0]
    return {"explain.glassbox_baseline": replace(result, shapes=shapes, meta=meta)}


# --------------------------------------------------------------------------- inputs and models
def _inputs(model, data, test, test_size, pos_label, random_state):
    """Checked Datasets (the model's inputs when a model is given), the task and positive label."""
    from raikit.metrics._group_metrics import resolve_pos_label

    ds = check_dataset(data, need=["target"], caller="glassbox_baseline")
    if test is not None:
        test = check_dataset(test, need=["target"], name="test", caller="glassbox_baseline")
    y = ds.y if test is None else pd.concat([ds.y, test.y], ignore_index=True)
    task = _task(y, "auto")
    positive = None
    if task == "binary":
        positive = resolve_pos_label(pd.unique(y.dropna()), pos_label)
    if model is not None:  # the glass box sees the same inputs as the model it is compared with
        ds = ds.for_model(model)
        test = None if test is None else test.for_model(model)
    return ds, test, task, positive


def _black_box(model, train, task: str, seed: int):
    if model is not None:
        return model, type(model).__name__
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    learner = (
        HistGradientBoostingRegressor if task == "regression" else HistGradientBoostingClassifier
    )
    fitted = learner(categorical_features="from_dtype", random_state=seed)
    fitted.fit(train.X, train.y, sample_weight=train.weights)
    return fitted, f"{learner.__name__} (trained here)"


def _contributions(glass, X, task: str, positive):
    """Local term contributions (rows x terms x outputs), their units and the outputs' names."""
    scores = np.asarray(glass.eval_terms(X), dtype=float)
    if task == "regression":
        return scores[:, :, None], "units of the target", ["prediction"]
    classes = list(glass.classes_)
    if scores.ndim == 2:  # binary: log-odds of classes_[1]
        sign = -1.0 if positive is not None and positive == classes[0] else 1.0
        label = positive if positive is not None else classes[1]
        return sign * scores[:, :, None], "log-odds", [str(label)]
    return scores, "logits", [str(c) for c in classes]


def _largest_contributions(glass, task: str) -> np.ndarray:
    """Per term, the largest |contribution| it can give any row (over all of its bins; the mean
    over classes for a multiclass model): the upper pseudo-row of its bootstrap. A term that is 0
    everywhere has a zero-width interval at 0, which is exact."""
    largest = []
    for scores in glass.term_scores_:  # one small array per term
        magnitude = np.abs(np.asarray(scores, dtype=float))
        if task == "multiclass":
            magnitude = magnitude.mean(axis=-1)
        largest.append(float(magnitude.max(initial=0.0)))
    return np.asarray(largest)


def _per_row(model, glass, test, task: str):
    """Per row: black-box advantage, black-box loss-or-score, glass-box loss-or-score, and the
    range each can take (for the bootstrap's pseudo-rows)."""
    y = test.y.to_numpy()
    black = np.asarray(model.predict(test.X))
    glassy = np.asarray(glass.predict(test.X))
    if task == "regression":
        y = y.astype(float)
        black_error, glass_error = np.abs(y - black.astype(float)), np.abs(y - glassy.astype(float))
        reach = float(np.max(np.abs(glass_error - black_error), initial=0.0))
        top = float(np.max(np.concatenate([black_error, glass_error]), initial=0.0))
        values = np.column_stack([glass_error - black_error, black_error, glass_error])
        return values, (np.array([-reach, 0.0, 0.0]), np.array([reach, top, top]))
    black_right = (black == y).astype(float)
    glass_right = (glassy == y).astype(float)
    values = np.column_stack([black_right - glass_right, black_right, glass_right])
    return values, (np.array([-1.0, 0.0, 0.0]), np.array([1.0, 1.0, 1.0]))


def _membership(test):
    """Rows x slices indicator (overall, then every group of every sensitive attribute) and the
    slices' (attribute, group) labels."""
    n = test.n_rows
    rows, columns = [np.arange(n)], [np.zeros(n, dtype=np.int64)]
    labels = [("overall", "overall")]
    for attribute in test.sensitive_names:  # one coding per attribute, vectorised over rows
        groups = test.groups(intersectional=False, attribute=attribute)
        names = groups.labels[attribute].astype(str).tolist()
        rows.append(np.arange(n))
        columns.append(len(labels) + np.asarray(groups.codes, dtype=np.int64))
        labels += [(attribute, name) for name in names]
    matrix = sparse.csr_matrix(
        (np.ones(n * len(rows)), (np.concatenate(rows), np.concatenate(columns))),
        shape=(n, len(labels)),
    )
    return matrix, pd.DataFrame(labels, columns=["attribute", "group"])


# --------------------------------------------------------------------------- bootstrap
def _bootstrap(values, membership, weights, bounds, ci, n_boot, rng):
    """Weighted means of ``values`` (rows x columns) per slice, and their Bayesian bootstrap
    percentile intervals.

    Each replicate weighs row ``i`` by ``w_i * E_i`` (``E_i`` standard exponential: the
    Bayesian bootstrap), the same draws for every column, so differences are paired. Every slice
    also gets two pseudo-rows at ``bounds`` (low, high per column), each of prior weight
    ``Gamma(1/2)`` times the slice's mean row weight: the interval never has zero width and
    stays valid when every row agrees. Returns ``(point, lower, upper)``, each slices x columns;
    NaN for a slice without rows.
    """
    from raikit.metrics._stats import contain, percentile_bounds

    n, m = values.shape
    n_slices = membership.shape[1]
    weighted = sparse.csr_matrix(membership.multiply(weights[:, None]))
    total = np.asarray(weighted.sum(axis=0)).ravel()
    counts = np.asarray(membership.sum(axis=0)).ravel()
    with np.errstate(invalid="ignore", divide="ignore"):
        point = (weighted.T @ values) / total[:, None]
        mean_weight = np.where(counts > 0, total / np.maximum(counts, 1), 0.0)
    # rows x (slice, column): each row's value in every slice it belongs to
    coo = weighted.tocoo()
    spread = sparse.csr_matrix(
        (
            (coo.data[:, None] * values[coo.row]).ravel(),
            (np.repeat(coo.row, m), (coo.col[:, None] * m + np.arange(m)).ravel()),
        ),
        shape=(n, n_slices * m),
    )
    if n * n_slices * m <= _CELLS:  # small enough: dense products are faster (BLAS)
        spread, weighted = spread.toarray(), weighted.toarray()
    low, high = (np.asarray(b, dtype=float) for b in bounds)
    replicates = np.empty((n_boot, n_slices, m))
    step = max(1, _CELLS // max(n, 1))
    for start in range(0, n_boot, step):  # chunks of replicates bound the memory
        b = min(step, n_boot - start)
        draws = rng.standard_exponential((b, n))
        sums = np.asarray(draws @ spread).reshape(b, n_slices, m)
        mass = np.asarray(draws @ weighted)
        pseudo_low, pseudo_high = (
            rng.standard_gamma(0.5, (b, n_slices)) * mean_weight for _ in "lh"
        )
        sums += pseudo_low[..., None] * low + pseudo_high[..., None] * high
        with np.errstate(invalid="ignore", divide="ignore"):
            replicates[start : start + b] = sums / (mass + pseudo_low + pseudo_high)[..., None]
    lower, upper = percentile_bounds(replicates, ci)
    lower, upper = contain(lower, upper, point)
    empty = counts == 0
    for array in (point, lower, upper):
        array[empty] = np.nan
    return point, lower, upper


# --------------------------------------------------------------------------- tables
def _gap_table(slices, metric, point, lower, upper) -> pd.DataFrame:
    # columns: 0 advantage (black - glass for accuracy; glass - black for MAE), 1 black, 2 glass
    table = slices.copy()
    table["metric"] = metric
    for j, name in ((1, "blackbox"), (2, "glassbox")):
        table[name] = point[:, j]
        table[f"{name}_lower"] = lower[:, j]
        table[f"{name}_upper"] = upper[:, j]
    table["gap"], table["lower"], table["upper"] = point[:, 0], lower[:, 0], upper[:, 0]
    table["verdict"] = np.select(
        [table["lower"] > 0, table["upper"] < 0],
        ["black box better", "glass box better"],
        "as good",
    )
    table.loc[table["gap"].isna(), "verdict"] = "not assessable"
    return table


def _importance_table(slices, terms, point, lower, upper) -> pd.DataFrame:
    k, t = point.shape
    with np.errstate(invalid="ignore", divide="ignore"):
        share = point / point.sum(axis=1, keepdims=True)
    rank = (-np.nan_to_num(point, nan=-1.0)).argsort(axis=1, kind="stable").argsort(axis=1) + 1
    return pd.DataFrame(
        {
            "attribute": np.repeat(slices["attribute"].to_numpy(), t),
            "group": np.repeat(slices["group"].to_numpy(), t),
            "n": np.repeat(slices["n"].to_numpy(), t),
            "term": np.tile(np.asarray(terms, dtype=object), k),
            "mean_abs": point.ravel(),
            "lower": lower.ravel(),
            "upper": upper.ravel(),
            "share": share.ravel(),
            "rank": rank.ravel(),
        }
    )


def _shapes(glass, test, contributions, outputs, importance, top_k, weights) -> pd.DataFrame:
    """Aggregate shape curves of the top single-feature terms: the weighted mean contribution of
    the held-out rows per bin of the feature (a few points each)."""
    overall = importance[importance["attribute"] == "overall"].sort_values("rank")
    singles = {i: glass.term_features_[i] for i in range(len(glass.term_features_))}
    index = {str(t): i for i, t in enumerate(glass.term_names_)}
    chosen = [t for t in overall["term"] if len(singles[index[t]]) == 1][:top_k]
    parts = []
    for term in chosen:  # a few terms; each vectorised over rows
        feature = glass.feature_names_in_[singles[index[term]][0]]
        codes, labels, medians = _bins(test.X[feature])
        n_bins = len(labels)
        mass = np.bincount(codes, weights=weights, minlength=n_bins)
        counts = np.bincount(codes, minlength=n_bins)
        for j, output in enumerate(outputs):
            sums = np.bincount(
                codes, weights=weights * contributions[:, index[term], j], minlength=n_bins
            )
            keep = counts > 0
            parts.append(
                pd.DataFrame(
                    {
                        "term": term,
                        "output": output,
                        "position": np.arange(n_bins)[keep],
                        "value": np.asarray(labels, dtype=object)[keep],
                        "value_num": medians[keep],
                        "n": counts[keep],
                        "contribution": sums[keep] / mass[keep],
                    }
                )
            )
    columns = ["term", "output", "position", "value", "value_num", "n", "contribution"]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


def _bins(column: pd.Series):
    """Bin codes per row, bin labels and numeric medians: quantile bins of a numeric column,
    the most frequent categories (the rest as "other") of any other; missing values last."""
    missing = column.isna().to_numpy()
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        x = column.to_numpy(dtype=float)
        edges = (
            np.unique(np.nanquantile(x, np.linspace(0, 1, _SHAPE_POINTS + 1)))
            if (~missing).any()
            else np.array([])
        )
        codes = (
            np.searchsorted(edges[1:-1], x, side="right") if len(edges) else np.zeros(len(x), int)
        )
        n_bins = max(len(edges) - 1, 1)
        codes = np.where(missing, n_bins, codes)
        filled = np.where(missing, 0.0, x)
        size = np.bincount(codes, minlength=n_bins + 1)
        medians = np.bincount(codes, weights=filled, minlength=n_bins + 1) / np.maximum(size, 1)
        labels = [f"{edges[i]:.4g}–{edges[i + 1]:.4g}" for i in range(len(edges) - 1)] or ["all"]
        medians[n_bins] = np.nan
        return codes, [*labels, "missing"], medians
    text = column.astype(object).where(~column.isna(), None)
    frequent = text.value_counts().index[:_SHAPE_CATEGORIES].tolist()
    labels = [str(v) for v in frequent] + ["other", "missing"]
    lookup = {v: i for i, v in enumerate(frequent)}
    codes = text.map(lookup).fillna(len(frequent)).to_numpy(dtype=np.int64)
    codes = np.where(missing, len(frequent) + 1, codes)
    return codes, labels, np.full(len(labels), np.nan)


# --------------------------------------------------------------------------- findings
def _findings(gap: pd.DataFrame, ci: float) -> tuple:
    from raikit.metrics._stats import MIN_GROUP_SIZE

    level = f"{ci:.0%}"
    overall = gap.iloc[0]
    metric = overall["metric"].replace("_", " ")
    numbers = (
        f"{metric} {overall['glassbox']:.3f} (glass box) vs {overall['blackbox']:.3f} (black "
        f"box) on {int(overall['n']):,} held-out rows; the black box's advantage is "
        f"{overall['gap']:+.3f} [{overall['lower']:+.3f}, {overall['upper']:+.3f}] ({level} "
        "paired bootstrap)"
    )
    if overall["verdict"] == "as good":
        head = Finding(
            "warning",
            "The complex model is not justified by accuracy",
            f"{numbers}: the interval contains 0, so the glass box, whose every term can be "
            "read, is as good. Prefer it unless another reason justifies the black box.",
        )
    elif overall["verdict"] == "black box better":
        head = Finding(
            "info",
            "The black box is clearly more accurate than the glass box",
            f"{numbers}. Weigh this against the need to explain each decision.",
        )
    else:
        head = Finding(
            "warning",
            "The glass box is clearly more accurate than the black box",
            f"{numbers}. The black box is not justified; prefer the glass box.",
        )
    findings = [head]
    groups = gap.iloc[1:]
    groups = groups[(groups["n"] >= MIN_GROUP_SIZE) & (groups["verdict"] != overall["verdict"])]
    for row in groups.itertuples(index=False):  # only the groups that differ from overall
        if row.verdict not in ("black box better", "glass box better"):
            continue
        worse = "glass box" if row.verdict == "black box better" else "black box"
        findings.append(
            Finding(
                "warning",
                f"For {row.attribute}={row.group} the {worse} is clearly worse",
                f"{metric} {row.glassbox:.3f} (glass box) vs {row.blackbox:.3f} (black box) on "
                f"{row.n:,} rows; advantage of the black box {row.gap:+.3f} [{row.lower:+.3f}, "
                f"{row.upper:+.3f}], unlike overall ({overall['verdict']}).",
                key=[[row.attribute, row.group]],
            )
        )
    return tuple(findings)
