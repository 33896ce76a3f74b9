"""``glassbox_baseline``: an interpretable model next to the black box, so a user sees what
explainability costs."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from raikit._recording import recorded
from raikit._result import Finding, Result
from raikit._validation import CI, RANDOM_STATE, Interval, check_dataset, rng_from, validate_params
from raikit.explain._common import fitted_model

__all__ = ["GlassboxResult", "glassbox_baseline"]

_METRICS = ["accuracy", "balanced_accuracy", "roc_auc", "selection_rate", "true_positive_rate"]


@dataclass(frozen=True, eq=False)
class GlassboxResult(Result):
    """Accuracy of an interpretable model next to the black box's, overall and per group.

    Attributes
    ----------
    comparison : DataFrame
        One row per (model, attribute, group, metric): ``value``, ``lower``, ``upper`` (bootstrap
        95% intervals from :func:`raikit.metrics.group_metrics`) on the same test rows.
    cost : DataFrame
        Overall per metric: ``blackbox``, ``glassbox`` and ``difference`` (black box − glass box).
    shapes : DataFrame
        The glass box's shape functions: per (feature, value) its centred ``contribution`` to the
        predicted probability (exact for an additive model, up to the link).
    meta : dict
        ``glassbox`` (the interpretable model used), ``blackbox``, ``n_train``, ``n_test``,
        ``pos_label`` (the positive label).
    findings : tuple of Finding

    See Also
    --------
    glassbox_baseline : computes it.

    Examples
    --------
    >>> from raikit.datasets import make_fairness_synthetic
    >>> from raikit.explain import glassbox_baseline
    >>> r = glassbox_baseline(None, make_fairness_synthetic(400, random_state=0), n_boot=20,
    ...                       random_state=0)
    >>> sorted(r.comparison["model"].unique())
    ['black box', 'glass box']
    """

    comparison: pd.DataFrame
    cost: pd.DataFrame
    shapes: pd.DataFrame
    meta: dict = field(default_factory=dict)
    findings: tuple = field(default_factory=tuple)

    @property
    def summary(self) -> str:
        c = self.cost.set_index("metric")
        parts = [
            f"{m} {c.loc[m, 'blackbox']:.3f} (black box) vs {c.loc[m, 'glassbox']:.3f} (glass box)"
            for m in ("accuracy", "roc_auc")
            if m in c.index
        ]
        positive = self.meta.get("pos_label")
        label = f" (positive label {positive!r})" if positive is not None else ""
        return f"{self.meta['glassbox']}{label}: " + "; ".join(parts) + "."

    def figures(self) -> list:
        import plotly.graph_objects as go

        from raikit._plots import error_bars

        overall = self.comparison[self.comparison["attribute"] == "overall"]
        fig = go.Figure()
        for model, part in overall.groupby("model", sort=False):
            fig.add_trace(
                go.Bar(
                    x=part["metric"],
                    y=part["value"],
                    name=model,
                    error_y=error_bars(part["value"], part["lower"], part["upper"]),
                )
            )
        fig.update_layout(title="Black box vs interpretable glass box (95% CI)", barmode="group")
        figures = [fig]
        acc = self.comparison[
            (self.comparison["attribute"] != "overall") & (self.comparison["metric"] == "accuracy")
        ]
        if len(acc):
            fig = go.Figure()
            for model, part in acc.groupby("model", sort=False):
                fig.add_trace(
                    go.Bar(
                        x=part["attribute"] + "=" + part["group"].astype(str),
                        y=part["value"],
                        name=model,
                        error_y=error_bars(part["value"], part["lower"], part["upper"]),
                    )
                )
            fig.update_layout(title="Accuracy per group (95% CI)", barmode="group")
            figures.append(fig)
        return figures


def _glassbox(random_state):
    try:
        from interpret.glassbox import ExplainableBoostingClassifier
    except ImportError:
        from sklearn.ensemble import HistGradientBoostingClassifier

        # A boosted GAM: every tree uses a single feature, so the model is a sum of shape
        # functions, one per feature (EBM without pairwise terms).
        model = HistGradientBoostingClassifier(
            categorical_features="from_dtype",
            interaction_cst="no_interactions",
            max_iter=300,
            learning_rate=0.1,
            random_state=random_state,
        )
        return model, "boosted GAM (HistGradientBoosting, interaction_cst='no_interactions')"
    return (
        ExplainableBoostingClassifier(interactions=0, random_state=random_state),
        "ExplainableBoostingClassifier (InterpretML)",
    )


@recorded("explain.glassbox_baseline")
@validate_params(
    model=[fitted_model, None],
    test_size=Interval(float, 0, 1, closed="neither"),
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
    ci: float = 0.95,
    n_boot: int = 1000,
    pos_label=None,
    random_state=None,
    ledger=None,
) -> GlassboxResult:
    """Train an interpretable model and compare its accuracy with the black box's.

    The glass box is InterpretML's Explainable Boosting Machine when ``interpret`` is installed,
    else a boosted generalised additive model (scikit-learn's HistGradientBoosting with
    ``interaction_cst="no_interactions"``: a sum of one shape function per feature, read off
    exactly as partial dependence).

    Parameters
    ----------
    model : fitted classifier or None
        The black box. With ``None`` a HistGradientBoosting classifier with interactions is
        trained on the same rows.
    data : Dataset
        Training data (binary target); split with ``test_size`` when ``test`` is not given.
    test : Dataset, optional
        Held-out rows on which both models are compared.
    test_size : float, default 0.3
        Share of ``data`` held out when ``test`` is not given.
    ci : float, default 0.95
        Confidence level of the bootstrap intervals of the compared metrics.
    n_boot : int, default 1000
        Bootstrap replicates of the intervals.
    pos_label : optional
        The positive label of the target (scores are its probability). Inferred only for 0/1,
        False/True and -1/1 labels; other labels need it. Reported in ``meta["pos_label"]``.
    random_state : int, Generator or None, default None
        Seed of the split, the models and the bootstrap; ``None`` draws a fresh seed, recorded
        in the ledger.
    ledger : raikit.ledger.Ledger or path, optional
        Record the result as evidence (inside :func:`raikit.track` it is recorded anyway).

    Returns
    -------
    GlassboxResult

    Raises
    ------
    ParameterError
        ``model`` is neither None nor fitted; ``test_size``, ``ci`` or ``n_boot`` out of range;
        ``data`` is not a Dataset.
    DataError
        ``data`` has no binary target.

    See Also
    --------
    raikit.explain.explain : attributions of the black box.

    Examples
    --------
    >>> from raikit.datasets import load_german_credit
    >>> r = glassbox_baseline(None, load_german_credit(), n_boot=50, random_state=0)
    >>> sorted(r.comparison["model"].unique())
    ['black box', 'glass box']
    """
    from raikit.metrics._group_metrics import resolve_pos_label

    ds = check_dataset(data, need=["target"], caller="glassbox_baseline")
    if test is not None:
        test = check_dataset(test, need=["target"], name="test", caller="glassbox_baseline")
    ds.check_binary_target()
    seen = pd.unique(ds.y.dropna())
    if test is not None:
        seen = pd.unique(np.concatenate([seen, pd.unique(test.y.dropna())]).astype(object))
    positive = resolve_pos_label(seen, pos_label)
    if model is not None:  # the glass box sees the same inputs as the model it is compared with
        ds = ds.for_model(model)
        test = None if test is None else test.for_model(model)
    # scikit-learn and the split take integer seeds (an int is used as given)
    seed = (
        random_state
        if isinstance(random_state, int)
        else int(rng_from(random_state).integers(2**31))
    )
    train, test = ds.split(test_size, random_state=seed) if test is None else (ds, test)
    glass, glass_name = _glassbox(seed)
    glass.fit(train.X, train.y)
    if model is None:
        from sklearn.ensemble import HistGradientBoostingClassifier

        model = HistGradientBoostingClassifier(
            categorical_features="from_dtype", random_state=seed
        ).fit(train.X, train.y)
        black_name = "HistGradientBoostingClassifier (trained here)"
    else:
        black_name = type(model).__name__
    comparison = _comparison(model, glass, test, positive, ci, n_boot, seed)
    overall = comparison[comparison["attribute"] == "overall"]
    wide = overall.pivot_table(index="metric", columns="model", values="value", sort=False)
    cost = pd.DataFrame(
        {
            "metric": wide.index,
            "blackbox": wide["black box"].to_numpy(),
            "glassbox": wide["glass box"].to_numpy(),
        }
    )
    cost["difference"] = cost["blackbox"] - cost["glassbox"]
    return GlassboxResult(
        comparison=comparison,
        cost=cost,
        shapes=_shapes(glass, test, positive, seed),
        meta={
            "glassbox": glass_name,
            "blackbox": black_name,
            "n_train": int(train.n_rows),
            "n_test": int(test.n_rows),
            "pos_label": positive,
        },
        findings=tuple(_findings(cost, test.n_rows)),
    )


def _comparison(model, glass, test, positive, ci, n_boot, seed) -> pd.DataFrame:
    """Both models' metrics per group on the held-out rows, with bootstrap intervals."""
    from raikit.metrics import group_metrics
    from raikit.metrics._group_metrics import positive_column

    tables = []
    for label, fitted in (("black box", model), ("glass box", glass)):
        score = None
        if hasattr(fitted, "predict_proba"):
            column = positive_column(fitted.classes_, positive)
            score = np.asarray(fitted.predict_proba(test.X))[:, column]
        gm = group_metrics(
            test.y.to_numpy(),
            np.asarray(fitted.predict(test.X)),
            sensitive_features=test.sensitive,
            score=score,
            metrics=_METRICS if score is not None else _METRICS[:2] + _METRICS[3:],
            ci=ci,
            n_boot=n_boot,
            random_state=seed,
            pos_label=positive,
        )
        table = gm.table[gm.table["metric"] != "count"].copy()
        table.insert(0, "model", label)
        tables.append(table)
    return pd.concat(tables, ignore_index=True)


def _shapes(glass, test, positive, seed) -> pd.DataFrame:
    """The glass box's shape function per feature: its centred partial dependence."""
    from raikit.explain._pdp import partial_dependence

    pd_result = partial_dependence(glass, test, max_rows=500, pos_label=positive, random_state=seed)
    shapes = pd_result.curves[pd_result.curves["attribute"] == "overall"][
        ["feature", "position", "value", "value_num", "mean"]
    ].copy()
    shapes["contribution"] = shapes["mean"] - shapes.groupby("feature")["mean"].transform("mean")
    return shapes.drop(columns="mean").reset_index(drop=True)


def _findings(cost: pd.DataFrame, n_test: int) -> list:
    acc = cost.set_index("metric")["difference"]
    if "accuracy" not in acc.index:
        return []
    gap = float(acc["accuracy"])
    return [
        Finding(
            "info",
            "What explainability costs" if gap > 0 else "The glass box is as accurate",
            f"The interpretable model's accuracy is {abs(gap):.3f} "
            f"{'below' if gap > 0 else 'above'} the black box's on {n_test:,} held-out rows"
            + (
                "; consider deploying the glass box."
                if gap <= 0.01
                else "; weigh this against the need to explain each decision."
            ),
        )
    ]
