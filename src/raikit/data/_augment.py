"""Measure, don't assume: do DP synthetic rows of thin groups help a model, and whom do they hurt?

:func:`augment_eval` releases DP marginals of the training data once (charged to the data
source's budget, :func:`raikit.privacy.synthesize`), draws synthetic rows of the thin groups from
that release, trains the same estimator on the real rows and on the real rows plus the synthetic
ones, and compares the two models on a REAL held-out test set, per group, with paired bootstrap
intervals: accuracy, log loss, the rates every fairness criterion is built from (selection rate,
true and false positive rates) and the criteria themselves, plus how much each model exposes its
real training rows to a membership-inference attack.

Synthetic data inherits the biases of the data it was made from, and its rows for a small group
are mostly noise at a small epsilon: the result says plainly when augmentation did not help a
group or hurt one. The evaluation itself (test-set metrics, the attack) is the data owner's, as
any evaluation is: only the synthetic rows are a DP release.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from raikit._errors import DataError, ParameterError
from raikit._grouping import SliceKey
from raikit._recording import recorded
from raikit._result import Finding, Result
from raikit._validation import (
    CI,
    RANDOM_STATE,
    Interval,
    check_dataset,
    rng_from,
    validate_params,
)
from raikit.data._slice_tuner import _is_classifier, _seeded
from raikit.metrics._stats import MIN_GROUP_SIZE, percentile_bounds
from raikit.privacy._conditional import MISSING_LEVEL

__all__ = ["AugmentEvalResult", "augment_eval"]

_EPS = 1e-15
# per-row columns summed per group: what every metric below is a ratio of
_ONES, _POS, _NEG = 0, 1, 2
_PER_MODEL = ("correct", "loss", "selected", "selected_pos", "selected_neg")
_METRICS = {  # metric -> (numerator column, denominator column, after is better when)
    "accuracy": ("correct", _ONES, "higher"),
    "log_loss": ("loss", _ONES, "lower"),
    "selection_rate": ("selected", _ONES, None),
    "tpr": ("selected_pos", _POS, None),
    "fpr": ("selected_neg", _NEG, None),
}
_CRITERIA = {  # criterion -> the rate whose largest gap between groups it is
    "demographic_parity_difference": ("selection_rate",),
    "equal_opportunity_difference": ("tpr",),
    "fpr_difference": ("fpr",),
    "equalized_odds_difference": ("tpr", "fpr"),
    "accuracy_difference": ("accuracy",),
}
_STAT_COLUMNS = [
    "before",
    "before_lower",
    "before_upper",
    "after",
    "after_lower",
    "after_upper",
    "difference",
    "difference_lower",
    "difference_upper",
]


@dataclass(frozen=True, eq=False)
class AugmentEvalResult(Result):
    """The same estimator trained without and with synthetic rows of the thin groups, compared on
    real held-out rows.

    Attributes
    ----------
    groups : DataFrame
        One row per (test group, metric): ``group`` (``"race=Black & sex=Female"``), ``thin``
        (synthetic rows were added for it), ``n_test``, ``n_synthetic``, ``metric``
        (``accuracy``, ``log_loss``, ``selection_rate``, ``tpr``, ``fpr``), ``before`` /
        ``after`` with their ``_lower`` / ``_upper`` bounds, ``difference`` (after - before) with
        paired bootstrap bounds, and ``verdict``: ``"helped"``, ``"hurt"`` or ``"no measurable
        change"`` (accuracy and log loss; empty for the rates, which have no better direction).
    criteria : DataFrame
        One row per fairness criterion (the largest gap of a rate between the groups with at
        least 30 test rows): the same columns as ``groups`` without the group ones; ``verdict``
        is ``"narrowed"``, ``"widened"`` or ``"no measurable change"``.
    exposure : DataFrame
        Membership-inference (threshold attack) AUC of each model on its real training rows
        against the test rows: ``model`` (``before`` / ``after``), ``auc``, ``auc_lower``,
        ``auc_upper``, ``verdict``. Empty with ``membership=False``.
    plan : DataFrame
        The synthetic rows per requested group: the group's sensitive values, ``noisy_count``
        (its count in the DP release) and ``n_rows``.
    synthetic : DataFrame
        The synthetic rows added (a DP release: post-processing of the noisy marginals).
    epsilon : float
        Privacy loss spent from ``source`` for the release.
    source : str
    findings : tuple of Finding
    meta : dict
        ``ci``, ``n_boot``, ``estimator``, ``pos_label``, ``n_train``, ``n_test``, ``thin_below``.

    See Also
    --------
    raikit.data.augment_eval : computes it.
    raikit.privacy.synthesize : the DP release the synthetic rows come from.
    raikit.privacy.membership_inference : the attack behind ``exposure``.

    Examples
    --------
    >>> import os, tempfile
    >>> home, os.environ["HOME"] = os.environ["HOME"], tempfile.mkdtemp()  # a private registry
    >>> import numpy as np, pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> from raikit import Dataset
    >>> from raikit.data import augment_eval
    >>> from raikit.privacy import PrivacySource
    >>> rng = np.random.default_rng(1)
    >>> frame = pd.DataFrame({"x": rng.normal(0, 1, 1500),
    ...                       "g": rng.choice(["big", "small"], 1500, p=[0.85, 0.15])})
    >>> frame["y"] = (frame["x"] + rng.normal(0, 1, 1500) > 0).astype(int)
    >>> ds = Dataset(frame, target="y", sensitive=["g"], features=["x"])
    >>> _ = PrivacySource.register("toy-augment-result", epsilon=1.0)
    >>> result = augment_eval(LogisticRegression(), train=ds.subset(np.arange(1000)),
    ...                       test=ds.subset(np.arange(1000, 1500)), source="toy-augment-result",
    ...                       epsilon=1.0, domains={"g": ["big", "small"]},
    ...                       bounds={"x": (-4, 4)}, membership=False, n_boot=100,
    ...                       random_state=0)
    >>> result.epsilon, result.source
    (1.0, 'toy-augment-result')
    >>> result.groups.query("metric == 'accuracy'")[["group", "thin"]].values.tolist()
    [['g=big', False], ['g=small', True]]
    >>> result.exposure.empty  # membership=False
    True
    >>> os.environ["HOME"] = home
    """

    groups: pd.DataFrame
    criteria: pd.DataFrame
    exposure: pd.DataFrame
    plan: pd.DataFrame
    synthetic: pd.DataFrame
    epsilon: float
    source: str
    findings: tuple = ()
    meta: dict = field(default_factory=dict)

    @property
    def summary(self) -> str:
        acc = self.groups[self.groups["metric"] == "accuracy"]
        counts = acc["verdict"].value_counts()
        thin = acc[acc["thin"]]
        return (
            f"Added {len(self.synthetic):,} DP synthetic rows (epsilon={self.epsilon:.3g} from "
            f"{self.source!r}) for {int(thin['group'].nunique())} thin group(s); on "
            f"{int(self.meta.get('n_test', 0)):,} real test rows, accuracy: "
            f"{int(counts.get('helped', 0))} group(s) helped, {int(counts.get('hurt', 0))} hurt, "
            f"{int(counts.get('no measurable change', 0))} no measurable change."
        )

    def figures(self) -> list:
        import plotly.graph_objects as go

        acc = self.groups[self.groups["metric"] == "accuracy"]
        figure = go.Figure(
            go.Bar(
                x=acc["group"].tolist(),
                y=acc["difference"].tolist(),
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": (acc["difference_upper"] - acc["difference"]).tolist(),
                    "arrayminus": (acc["difference"] - acc["difference_lower"]).tolist(),
                },
                marker_color=["#d62728" if t else "#1f77b4" for t in acc["thin"]],
            )
        )
        figure.update_layout(
            title="Accuracy after - before augmentation per group (red: thin, augmented)",
            yaxis_title="difference",
        )
        return [figure]


@recorded("data.augment_eval")
@validate_params(
    estimator=_is_classifier,
    groups=[dict, list, pd.DataFrame, None],
    n_rows=[Interval(int, 1, None), None],
    thin_below=Interval(float, 0, 1, closed="neither"),
    domains=[dict, None],
    bounds=[dict, None],
    bins=Interval(int, 2, None),
    membership=bool,
    ci=CI,
    n_boot=Interval(int, 100, None),
    random_state=RANDOM_STATE,
)
def augment_eval(
    estimator,
    *,
    train,
    test,
    source,
    epsilon: float,
    groups=None,
    n_rows: int | None = None,
    thin_below: float = 0.25,
    domains: dict | None = None,
    bounds: dict | None = None,
    bins: int = 10,
    pos_label=None,
    membership: bool = True,
    ci: float = 0.95,
    n_boot: int = 1000,
    random_state=None,
    ledger=None,
) -> AugmentEvalResult:
    """Train with and without DP synthetic rows of the thin groups; compare on real test rows.

    One DP release of the training data's marginals is charged to ``source``
    (:func:`raikit.privacy.synthesize`); the synthetic rows of every thin group are drawn from it
    as complete rows (no missing value).
    ``estimator`` is cloned and fitted on the real training rows (*before*) and on the real rows
    plus the synthetic ones (*after*); both are scored on the real ``test`` rows, per
    intersection of the sensitive attributes.

    Parameters
    ----------
    estimator : unfitted scikit-learn classifier
        With ``fit`` and ``predict_proba``, fitted on ``train.X`` (a DataFrame of the features).
        Every ``random_state`` parameter it has (a pipeline's included) is set from
        ``random_state``, the same for both fits.
    train : raikit.Dataset
        The real training rows (binary target, sensitive attributes declared).
    test : raikit.Dataset
        Real held-out rows, never synthesised nor trained on.
    source : PrivacySource or str
        The registered data source of ``train``; pays ``epsilon``.
    epsilon : float
        Privacy loss of the release the synthetic rows are drawn from.
    groups : dict, list of dict or DataFrame, optional
        The groups to add rows of (values of sensitive attributes, e.g.
        ``{"race": "Black", "sex": "Female"}``); a DataFrame may hold an ``n_rows`` column.
        Default: every intersection whose noisy count in the release is below ``thin_below``
        times the largest one's (chosen from the DP release, not from the real counts).
    n_rows : int, optional
        Synthetic rows per group; default the group's noisy count (about doubling it).
    thin_below : float, default 0.25
        Without ``groups``: the share of the largest group's noisy count under which a group is
        thin.
    domains, bounds, bins
        The public discretisation, as for :func:`raikit.privacy.synthesize`.
    pos_label : label, optional
        The positive label (inferred only for 0/1, False/True, -1/1).
    membership : bool, default True
        Also attack both models (threshold membership inference on the real training rows).
    ci : float, default 0.95
        Confidence level of every interval.
    n_boot : int, default 1000
        Poisson bootstrap replicates of the test rows (at least 100), shared by both models so
        before/after differences are paired.
    random_state : int, Generator or None, default None
        Seed of the synthetic draws, the estimators, the bootstrap and the attack.
    ledger : raikit.ledger.Ledger or path, optional
        Record the result as evidence (inside :func:`raikit.track` it is recorded anyway).

    Returns
    -------
    AugmentEvalResult

    Raises
    ------
    ParameterError
        A parameter outside its domain; a group names a column that is not a sensitive attribute
        or a value outside its domain; ``train`` or ``test`` is not a Dataset.
    DataError
        The target is not binary; the data has no sensitive attribute; no group is thin.
    BudgetExceededError
        The source's remaining budget is smaller than ``epsilon``.

    See Also
    --------
    raikit.data.AugmentEvalResult : the result, per group, criterion and model.
    raikit.privacy.synthesize : the DP synthetic data alone.
    raikit.data.plan_sources : buys rows from real and synthetic sources, using the worth
        this comparison measures.
    raikit.data.representation : which groups are thin.

    Notes
    -----
    A bootstrap interval that collapses (every replicate equal: e.g. both models predict the
    same on every row of a group) is widened to the exact zero-event bound
    ``1 - ((1 - ci) / 2) ** (1 / n)`` on each side (times the mean loss for log loss): a finite
    test set never proves a difference is exactly zero.

    Examples
    --------
    >>> import os, tempfile
    >>> home, os.environ["HOME"] = os.environ["HOME"], tempfile.mkdtemp()  # a private registry
    >>> import numpy as np, pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> from raikit import Dataset
    >>> from raikit.data import augment_eval
    >>> from raikit.privacy import PrivacySource
    >>> rng = np.random.default_rng(0)
    >>> frame = pd.DataFrame({"x": rng.normal(0, 1, 3000),
    ...                       "g": rng.choice(["big", "small"], 3000, p=[0.9, 0.1])})
    >>> frame["y"] = (frame["x"] + rng.normal(0, 1, 3000) > 0).astype(int)
    >>> ds = Dataset(frame, target="y", sensitive=["g"], features=["x"])
    >>> _ = PrivacySource.register("toy-augment", epsilon=2.0)
    >>> result = augment_eval(LogisticRegression(), train=ds.subset(np.arange(2000)),
    ...                       test=ds.subset(np.arange(2000, 3000)), source="toy-augment",
    ...                       epsilon=2.0, domains={"g": ["big", "small"]},
    ...                       bounds={"x": (-4, 4)}, n_boot=200, random_state=0)
    >>> result.plan["g"].tolist()
    ['small']
    >>> sorted(result.groups["metric"].unique())
    ['accuracy', 'fpr', 'log_loss', 'selection_rate', 'tpr']
    >>> os.environ["HOME"] = home
    """
    from raikit.privacy import synthesize

    tr = check_dataset(train, need=["target"], name="train", caller="augment_eval")
    te = check_dataset(test, need=["target"], name="test", caller="augment_eval")
    for ds in (tr, te):
        ds.check_binary_target()
    if not tr.sensitive_names:
        raise DataError(
            "augment_eval needs sensitive attributes to know the groups: declare them with "
            "Dataset(..., sensitive=[...])."
        )
    requested = None if groups is None else _requested(groups, tr.sensitive_names)
    rng = rng_from(random_state)
    seeds = rng.integers(2**31, size=4)
    release = synthesize(
        tr,
        source=source,
        epsilon=epsilon,
        domains=domains,
        bounds=bounds,
        bins=bins,
        n_rows=1,  # the rows are drawn below, per group, from the same release
        condition=requested,  # checked before anything is spent
        random_state=int(seeds[0]),
    )
    plan = _plan(release, tr.sensitive_names, requested, n_rows, thin_below)
    synthetic = release.sample(
        condition=plan.drop(columns="noisy_count"), complete=True, random_state=seeds[1]
    )
    models = _fit_both(estimator, tr, synthetic, int(seeds[2]))
    values, codes, labels, positive = _per_row(models, te, pos_label)
    thin = _thin_groups(labels, plan, tr.sensitive_names)
    n_synthetic = _synthetic_per_group(synthetic, labels, tr.sensitive_names)
    table, criteria = _compare(values, codes, labels, thin, n_synthetic, ci, n_boot, rng)
    exposure = _exposure(models, tr, te, ci, n_boot, int(seeds[3])) if membership else None
    return AugmentEvalResult(
        groups=table,
        criteria=criteria,
        exposure=exposure if exposure is not None else pd.DataFrame(),
        plan=plan,
        synthetic=synthetic,
        epsilon=float(release.epsilon),
        source=release.source,
        findings=(*release.findings, *_findings(table, criteria, exposure)),
        meta={
            "ci": ci,
            "n_boot": int(n_boot),
            "estimator": type(estimator).__name__,
            "pos_label": positive,
            "n_train": int(tr.n_rows),
            "n_test": int(te.n_rows),
            "thin_below": float(thin_below),
        },
    )


def _requested(groups, sensitive: list) -> pd.DataFrame:
    """``groups`` as a DataFrame of sensitive values (and maybe ``n_rows``)."""
    if isinstance(groups, dict):
        groups = [groups]
    if isinstance(groups, list):
        if not groups or not all(isinstance(g, dict) for g in groups):
            raise ParameterError(
                "augment_eval(): groups must be a dict, a non-empty list of dicts such as "
                "[{'race': 'Black', 'sex': 'Female'}], or a DataFrame."
            )
        groups = pd.DataFrame(groups)
    named = [c for c in groups.columns if c != "n_rows"]
    unknown = [c for c in named if c not in sensitive]
    if unknown:
        raise ParameterError(
            f"augment_eval(): groups names {unknown}, which are not sensitive attributes; the "
            f"groups are values of {sensitive}."
        )
    ordered = [c for c in sensitive if c in named] + (["n_rows"] if "n_rows" in groups else [])
    return groups[ordered].reset_index(drop=True)  # named in the Dataset's attribute order


def _plan(release, sensitive: list, requested, n_rows, thin_below: float) -> pd.DataFrame:
    """Rows to draw per group, from the release's noisy counts (never the real ones)."""
    noisy = release.released.groupby(sensitive, observed=True, sort=False)["count"].sum()
    noisy = noisy.clip(lower=0)
    if isinstance(noisy.index, pd.MultiIndex):  # rows whose sensitive value is missing: no group
        real = ~noisy.index.to_frame().isin([MISSING_LEVEL]).any(axis=1).to_numpy()
    else:
        real = noisy.index.to_numpy() != MISSING_LEVEL
    noisy = noisy[real]
    if requested is None:
        thin = noisy[noisy < thin_below * noisy.max()]
        if not len(thin):
            raise DataError(
                f"No group's noisy count is below thin_below={thin_below:g} times the largest "
                f"group's ({noisy.max():.0f}); pass groups=[...] to choose the groups to augment."
            )
        plan = thin.index.to_frame(index=False)
    else:
        plan = requested.drop(columns="n_rows", errors="ignore")
    keys = [c for c in sensitive if c in plan.columns]  # the Dataset's order names the groups
    plan = plan[keys].copy()
    by = noisy.groupby(level=keys, observed=True).sum() if keys else noisy
    plan["noisy_count"] = [
        float(by.get(tuple(r) if len(r) > 1 else r[0], 0.0))
        for r in plan[keys].itertuples(index=False, name=None)
    ]
    if requested is not None and "n_rows" in requested.columns:
        plan["n_rows"] = requested["n_rows"].to_numpy()
    elif n_rows is not None:
        plan["n_rows"] = int(n_rows)
    else:
        plan["n_rows"] = np.maximum(plan["noisy_count"].round().astype(int), 1)
    return plan


def _fit_both(estimator, tr, synthetic: pd.DataFrame, seed: int) -> dict:
    """The estimator fitted on the real rows and on the real plus synthetic rows."""
    frame = tr.frame
    extra = synthetic.reindex(columns=frame.columns)
    for column in frame.columns:
        dtype = frame[column].dtype
        if isinstance(dtype, pd.CategoricalDtype):
            extra[column] = pd.Categorical(extra[column], categories=dtype.categories)
        else:
            try:
                extra[column] = extra[column].astype(dtype)
            except (TypeError, ValueError):
                pass  # a column the release does not hold stays missing
    augmented = tr.replace(pd.concat([frame, extra], ignore_index=True))
    models = {}
    for name, ds in (("before", tr), ("after", augmented)):
        models[name] = _seeded(estimator, seed).fit(ds.X, ds.y)
    return models


def _per_row(models, te, pos_label):
    """Per test row, for both models: correct, log loss, selected and its split by true label;
    with the group code of every row, the group labels and the positive label."""
    from raikit.metrics._group_metrics import positive_column, resolve_pos_label

    y_raw = te.y.to_numpy()
    positive = resolve_pos_label(pd.unique(y_raw).tolist(), pos_label)
    y = (y_raw == positive).astype(float)
    columns = [np.ones_like(y), y, 1 - y]
    for name in ("before", "after"):
        model = models[name]
        column = positive_column(list(model.classes_), positive)
        p = np.clip(model.predict_proba(te.X)[:, column], _EPS, 1 - _EPS)
        selected = (np.asarray(model.predict(te.X)) == model.classes_[column]).astype(float)
        columns += [
            (selected == y).astype(float),
            -(y * np.log(p) + (1 - y) * np.log(1 - p)),
            selected,
            selected * y,
            selected * (1 - y),
        ]
    grouping = te.groups()
    labels = grouping.labels
    text = pd.Series(
        [str(SliceKey(row)) for row in labels.astype(str).to_dict("records")], index=labels.index
    )
    return np.column_stack(columns), np.asarray(grouping.codes), (labels, text), positive


def _thin_groups(labels, plan: pd.DataFrame, sensitive: list) -> np.ndarray:
    """Whether each test group matches a planned (augmented) group."""
    frame, _ = labels
    keys = [c for c in plan.columns if c in sensitive]
    thin = np.zeros(len(frame), dtype=bool)
    for row in plan[keys].itertuples(index=False, name=None):
        match = np.ones(len(frame), dtype=bool)
        for key, value in zip(keys, row, strict=True):
            match &= frame[key].astype(str).to_numpy() == str(value)
        thin |= match
    return thin


def _synthetic_per_group(synthetic: pd.DataFrame, labels, sensitive: list) -> np.ndarray:
    frame, _ = labels
    counts = synthetic[sensitive].astype(str).value_counts()
    keys = frame[sensitive].astype(str).itertuples(index=False, name=None)
    return np.array([int(counts.get(k, 0)) for k in keys], dtype=np.int64)


def _col(name: str, model: str) -> int:
    return 3 + _PER_MODEL.index(name) + (0 if model == "before" else len(_PER_MODEL))


def _sums(values, codes, n_groups, rng, n_boot):
    """Per-group sums of every per-row column: the point (groups x columns) and Poisson
    bootstrap replicates (n_boot x groups x columns), paired across the two models."""
    order = np.argsort(codes, kind="stable")
    sorted_values, sorted_codes = values[order], codes[order]
    starts = np.searchsorted(sorted_codes, np.arange(n_groups))
    present = np.bincount(codes, minlength=n_groups) > 0

    def by_group(weighted):  # (b x rows x cols) summed per group -> (b x groups x cols)
        out = np.add.reduceat(weighted, np.minimum(starts, len(codes) - 1), axis=1)
        out[:, ~present] = 0.0
        return out

    point = by_group(sorted_values[None])[0]
    chunk = max(1, 4_000_000 // max(values.size, 1))
    parts = []
    for first in range(0, n_boot, chunk):
        weights = rng.poisson(1.0, size=(min(chunk, n_boot - first), len(codes))).astype(float)
        parts.append(by_group(weights[:, :, None] * sorted_values[None]))
    return point, np.concatenate(parts)


def _rates(sums, metric: str, model: str):
    numerator, denominator, _ = _METRICS[metric]
    top = sums[..., _col(numerator, model)]
    bottom = sums[..., denominator]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(bottom > 0, top / np.where(bottom > 0, bottom, 1), np.nan)


def _floor(point, lower, upper, n, scale, ci):
    """Widen collapsed intervals to the zero-event bound (see augment_eval's notes)."""
    half = (1 - ((1 - ci) / 2) ** (1 / np.maximum(n, 1))) * scale
    collapsed = ~(upper - lower > 1e-12) & np.isfinite(point)
    return np.where(collapsed, point - half, lower), np.where(collapsed, point + half, upper)


def _compare(values, codes, labels, thin, n_synthetic, ci, n_boot, rng):
    """The per-group and criteria tables."""
    frame, text = labels
    point, reps = _sums(values, codes, len(frame), rng, n_boot)
    n_test = point[:, _ONES]
    rows, rates = [], {}
    for metric, (_, denominator, better) in _METRICS.items():
        stats = {}
        for model in ("before", "after"):
            stats[model] = (_rates(point, metric, model), _rates(reps, metric, model))
        stats["difference"] = tuple(
            a - b for a, b in zip(stats["after"], stats["before"], strict=True)
        )
        rates[metric] = stats
        scale = np.nan_to_num(stats["before"][0], nan=1.0) if metric == "log_loss" else 1.0
        block = {"metric": metric}
        for key in ("before", "after", "difference"):
            value, replicates = stats[key]
            lower, upper = percentile_bounds(replicates, ci)
            lower, upper = _floor(value, lower, upper, point[:, denominator], scale, ci)
            block |= {key: value, f"{key}_lower": lower, f"{key}_upper": upper}
        block["verdict"] = _verdict(block, better)
        rows.append(
            pd.DataFrame(block).assign(
                group=text.to_numpy(), thin=thin, n_test=n_test.astype(int), n_synthetic=n_synthetic
            )
        )
    table = pd.concat(rows, ignore_index=True)
    table = table[["group", "thin", "n_test", "n_synthetic", "metric", *_STAT_COLUMNS, "verdict"]]
    return table, _criteria(rates, n_test, ci)


def _verdict(block: dict, better) -> np.ndarray:
    lower, upper = block["difference_lower"], block["difference_upper"]
    if better is None:
        return np.full(len(lower), "", dtype=object)
    sign = 1 if better == "higher" else -1
    good = (lower > 0) if sign > 0 else (upper < 0)
    bad = (upper < 0) if sign > 0 else (lower > 0)
    return np.where(good, "helped", np.where(bad, "hurt", "no measurable change")).astype(object)


def _criteria(rates: dict, n_test: np.ndarray, ci: float) -> pd.DataFrame:
    """The largest gap of each rate between the groups with enough test rows."""
    keep = n_test >= MIN_GROUP_SIZE
    rows = []
    for criterion, metrics in _CRITERIA.items():
        stats = {}
        for model in ("before", "after"):
            gaps = []
            for metric in metrics:
                value, replicates = rates[metric][model]
                gaps.append((_gap(value[None, keep])[0], _gap(replicates[:, keep])))
            stats[model] = (max(g[0] for g in gaps), np.max([g[1] for g in gaps], axis=0))
        stats["difference"] = tuple(
            a - b for a, b in zip(stats["after"], stats["before"], strict=True)
        )
        row = {"criterion": criterion}
        smallest = float(n_test[keep].min()) if keep.any() else 1.0
        for key in ("before", "after", "difference"):
            value, replicates = stats[key]
            lower, upper = percentile_bounds(replicates[:, None], ci)
            lower, upper = _floor(np.array([value]), lower, upper, smallest, 1.0, ci)
            row |= {key: value, f"{key}_lower": float(lower[0]), f"{key}_upper": float(upper[0])}
        row["verdict"] = (
            "widened"
            if row["difference_lower"] > 0
            else "narrowed"
            if row["difference_upper"] < 0
            else "no measurable change"
        )
        rows.append(row)
    return pd.DataFrame(rows, columns=["criterion", *_STAT_COLUMNS, "verdict"])


def _gap(values: np.ndarray) -> np.ndarray:
    import warnings

    with warnings.catch_warnings():  # a replicate where no group has the rate: NaN, not noise
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmax(values, axis=1) - np.nanmin(values, axis=1)


def _exposure(models, tr, te, ci, n_boot, seed) -> pd.DataFrame:
    """Threshold membership-inference AUC of both models on the real training rows."""
    from raikit.privacy import membership_inference

    rows = []
    for name, model in models.items():
        report = membership_inference(
            model,
            train=tr,
            test=te,
            attacks=["threshold"],
            ci=ci,
            n_boot=n_boot,
            random_state=seed,
        )
        attack = report.attacks.iloc[0]
        rows.append(
            (
                name,
                float(attack["auc"]),
                float(attack["auc_lower"]),
                float(attack["auc_upper"]),
                report.verdict,
            )
        )
    return pd.DataFrame(rows, columns=["model", "auc", "auc_lower", "auc_upper", "verdict"])


def _describe(row) -> str:
    return (
        f"{row.metric} {row.before:.3f} -> {row.after:.3f} (difference {row.difference:+.3f}, "
        f"interval [{row.difference_lower:+.3f}, {row.difference_upper:+.3f}])"
    )


def _findings(table: pd.DataFrame, criteria: pd.DataFrame, exposure) -> list[Finding]:
    findings = []
    judged = table[table["metric"].isin(["accuracy", "log_loss"])]
    for group, rows in judged.groupby("group", sort=False):
        verdicts = set(rows["verdict"])
        thin = bool(rows["thin"].iloc[0])
        detail = "; ".join(_describe(r) for r in rows.itertuples(index=False))
        if "hurt" in verdicts:
            findings.append(
                Finding(
                    "warning",
                    f"Augmentation hurt {group}",
                    f"Adding the synthetic rows made the model worse for {group}: {detail}. Do "
                    "not use these synthetic rows for this group.",
                    slice=group,
                )
            )
        elif "helped" in verdicts:
            findings.append(
                Finding("info", f"Augmentation helped {group}", detail + ".", slice=group)
            )
        elif thin:
            findings.append(
                Finding(
                    "warning",
                    f"Augmentation did not measurably help {group}",
                    f"The synthetic rows changed nothing measurable for {group}: {detail}. "
                    "Synthetic rows are not a substitute for real ones; collect real rows of "
                    "this group (raikit.data.slice_tuner plans how many).",
                    slice=group,
                )
            )
    for row in criteria[criteria["verdict"] == "widened"].itertuples(index=False):
        findings.append(
            Finding(
                "warning",
                f"Augmentation widened the {row.criterion.replace('_', ' ')}",
                f"{row.before:.3f} -> {row.after:.3f} (difference {row.difference:+.3f}, "
                f"interval [{row.difference_lower:+.3f}, {row.difference_upper:+.3f}]).",
            )
        )
    if exposure is not None and len(exposure) == 2:
        before, after = exposure.iloc[0], exposure.iloc[1]
        if after["auc_lower"] > before["auc_upper"]:
            findings.append(
                Finding(
                    "warning",
                    "The augmented model exposes its training rows more",
                    f"Membership-inference AUC {before['auc']:.3f} -> {after['auc']:.3f} "
                    f"(intervals [{before['auc_lower']:.3f}, {before['auc_upper']:.3f}] and "
                    f"[{after['auc_lower']:.3f}, {after['auc_upper']:.3f}]).",
                )
            )
    return findings
