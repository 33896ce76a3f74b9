"""``explain``: SHAP attributions per row, global and per-group importance, a permutation
cross-check, and findings when a sensitive attribute or a strong proxy drives the decisions."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from raikit._errors import DataError, ParameterError, RaikitError
from raikit._recording import recorded
from raikit._result import Finding, Result
from raikit._sampling import sample_rows, sampling_note
from raikit._validation import (
    CI,
    RANDOM_STATE,
    Interval,
    Options,
    check_dataset,
    rng_from,
    validate_params,
)
from raikit.explain._common import FrameCodec, fitted_model
from raikit.explain._permutation import permutation_shap
from raikit.metrics._stats import z_value

__all__ = ["ExplanationResult", "explain", "explain_section"]

TOP_K = 3  # a feature ranked this high (or above HIGH_SHARE of the importance) "ranks high"
HIGH_SHARE = 0.10
PROXY_STRENGTH = 0.5  # Cramér's V above which a feature is a strong proxy of an attribute
AGNOSTIC_ROWS = 2000  # rows explained by the (slow) model-agnostic explainer when max_rows=None
_PROXY_ROWS = 20_000  # rows of the proxies' Cramér's V (and a lazy Dataset's background pool)
SMALL_GROUP = 30

_TREE_TYPES = (
    "sklearn.ensemble.RandomForestClassifier",
    "sklearn.ensemble.RandomForestRegressor",
    "sklearn.ensemble.ExtraTreesClassifier",
    "sklearn.ensemble.ExtraTreesRegressor",
    "sklearn.ensemble.GradientBoostingClassifier",
    "sklearn.ensemble.GradientBoostingRegressor",
    "sklearn.ensemble.HistGradientBoostingClassifier",
    "sklearn.ensemble.HistGradientBoostingRegressor",
    "sklearn.tree.DecisionTreeClassifier",
    "sklearn.tree.DecisionTreeRegressor",
    "lightgbm.LGBMClassifier",
    "lightgbm.LGBMRegressor",
    "xgboost.XGBClassifier",
    "xgboost.XGBRegressor",
)
_LINEAR_TYPES = (
    "sklearn.linear_model.LogisticRegression",
    "sklearn.linear_model.LinearRegression",
    "sklearn.linear_model.Ridge",
    "sklearn.linear_model.Lasso",
    "sklearn.linear_model.ElasticNet",
)


def _import_shap():
    try:
        import shap
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise RaikitError(
            'raikit.explain needs the shap library: pip install "raikit[explain]"'
        ) from error
    return shap


def _type_name(model) -> str:
    cls = type(model)
    module = cls.__module__.split(".")[0]
    public = {"sklearn": ("sklearn.ensemble", "sklearn.tree", "sklearn.linear_model")}
    for prefix in public.get(module, ()):
        name = f"{prefix}.{cls.__name__}"
        if name in _TREE_TYPES + _LINEAR_TYPES:
            return name
    return f"{module}.{cls.__name__}"


def _all_numeric(X: pd.DataFrame) -> bool:
    return all(
        pd.api.types.is_numeric_dtype(d) and not isinstance(d, pd.CategoricalDtype)
        for d in X.dtypes
    )


def choose_method(model, X: pd.DataFrame) -> str:
    """``tree``, ``linear`` or ``permutation`` (model-agnostic) for ``model`` on ``X``.

    Tree ensembles of scikit-learn, LightGBM and XGBoost get shap's TreeExplainer when every input
    is numeric (scikit-learn's categorical splits are bitsets that TreeExplainer cannot read);
    LightGBM and XGBoost read pandas categoricals themselves. Linear models on numeric inputs get
    LinearExplainer; everything else (pipelines included) the model-agnostic permutation explainer.
    """
    name = _type_name(model)
    if name in _TREE_TYPES:
        if name.startswith(("lightgbm", "xgboost")) or _all_numeric(X):
            return "tree"
        return "permutation"
    if name in _LINEAR_TYPES and _all_numeric(X):
        return "linear"
    return "permutation"


@dataclass(frozen=True, eq=False)
class ExplanationResult(Result):
    """SHAP attributions, global and per-group importance, and the permutation cross-check.

    Attributes
    ----------
    attributions : DataFrame
        One row per explained row (index: the row's label in the data), one column per feature:
        its SHAP value. A row's values plus ``meta["base_value"]`` add up to the model output in
        ``meta["units"]``.
    importance : DataFrame
        One row per feature, by rank: ``mean_abs`` (mean ``|SHAP|``) with a normal interval (level
        ``meta["ci"]``) ``lower``/``upper``, ``share`` of the total, ``rank``; on a sample
        (``meta["sampling"]``), the rows are weighted to the population and the interval uses
        their effective number (Kish); permutation importance
        ``permutation_mean`` / ``permutation_lower`` / ``permutation_upper`` / ``permutation_rank``;
        ``sensitive`` (the feature is a sensitive attribute), ``proxy_for`` and ``proxy_strength``
        (largest Cramér's V with a sensitive attribute).
    group_importance : DataFrame
        One row per (attribute, group, feature): ``n`` (explained rows of the group),
        ``mean_abs``, ``lower``, ``upper``, ``share`` and ``rank`` within the group (weighted
        like ``importance`` on a sample).
    distribution : DataFrame
        The beeswarm as aggregates: per (feature, SHAP bin) the ``count`` of rows and the mean
        ``feature_level`` (feature value scaled to [0, 1]; NaN for categorical features).
    agreement : dict
        ``spearman`` rank correlation of mean ``|SHAP|`` and permutation importance, its ``p_value``,
        ``top_k_overlap`` of the two top-``k`` sets and ``k``.
    meta : dict
        ``method``, ``explainer``, ``units``, ``base_value``, ``n_rows`` (rows explained),
        ``n_rows_data`` (rows of the data), ``sampling`` (None when every row is explained, else
        :meth:`raikit.Dataset.sample`'s record: population, sampled and weight per stratum),
        ``background``, ``model``, ``ci``.
    findings : tuple of Finding

    See Also
    --------
    explain : computes it.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from raikit.datasets import make_fairness_synthetic
    >>> from raikit.explain import explain
    >>> ds = make_fairness_synthetic(300, random_state=0)
    >>> model = LogisticRegression().fit(ds.X, ds.y)
    >>> r = explain(model, ds, max_rows=100, random_state=0)
    >>> sorted(r.importance["feature"]) == sorted(ds.feature_names)
    True
    """

    attributions: pd.DataFrame
    importance: pd.DataFrame
    group_importance: pd.DataFrame
    distribution: pd.DataFrame
    agreement: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    findings: tuple = field(default_factory=tuple)

    @property
    def summary(self) -> str:
        top = self.importance.head(3)
        names = ", ".join(f"{r.feature} ({r.share:.0%})" for r in top.itertuples())
        text = f"{self.meta.get('n_rows', 0):,} rows explained with {self.meta.get('explainer')}"
        if self.meta.get("sampling") is not None:
            sampled = int(self.meta["sampling"]["sampled"].sum())
            text += f" ({sampling_note(sampled, self.meta.get('n_rows_data', 0))})"
        text += f"; top features {names}"
        if self.agreement.get("spearman") is not None:
            text += f"; permutation importance agrees (Spearman {self.agreement['spearman']:.2f})"
        warnings = sum(f.severity == "warning" for f in self.findings)
        return text + f"; {warnings} warning(s)."

    def local(self, row) -> pd.Series:
        """The attributions of one explained row (by its label), largest magnitude first."""
        if row not in self.attributions.index:
            raise ParameterError(
                f"ExplanationResult.local(): row {row!r} was not explained; explained rows are in "
                ".attributions."
            )
        values = self.attributions.loc[row]
        return values.reindex(values.abs().sort_values(ascending=False).index)

    def figures(self) -> list:
        from raikit.explain._figures import explanation_figures

        return explanation_figures(self)


# --------------------------------------------------------------------------- shap calls
def _shap_values(model, X, method, *, background, population, rng, column, progress=None):
    """SHAP values (n, F) and base value through the chosen shap explainer.

    The ``background`` rows ("feature absent") are drawn uniformly from ``population`` (all the
    data's rows, or a uniform sample of a lazy Dataset's), not from ``X``: a sample stratified
    by group over-represents small groups.

    ``column`` is the class explained (its column in ``predict_proba`` and ``classes_``; None
    for a regressor). Single-output explainers of a binary classifier (tree boosting, linear)
    explain the log-odds of ``classes_[1]``: for ``column == 0`` the values change sign.
    """
    shap = _import_shap()

    n_bg = min(background, len(population))
    bg = population.iloc[np.sort(rng.choice(len(population), size=n_bg, replace=False))]
    bg = bg[list(X.columns)]
    if method == "tree":
        explainer = shap.TreeExplainer(model)
        with warnings.catch_warnings():  # shap's notice about LightGBM's output format
            warnings.filterwarnings("ignore", message="LightGBM binary classifier")
            values = explainer.shap_values(X, check_additivity=False)
        base = explainer.expected_value
        name = "shap.TreeExplainer (tree_path_dependent)"
        classifier = hasattr(model, "predict_proba")
        units = (
            "log-odds"
            if classifier
            and not _type_name(model).endswith(
                ("RandomForestClassifier", "ExtraTreesClassifier", "DecisionTreeClassifier")
            )
            else ("probability" if classifier else "prediction")
        )
    elif method == "linear":
        masker = shap.maskers.Independent(bg, max_samples=n_bg)
        explainer = shap.LinearExplainer(model, masker)
        values = explainer.shap_values(X)
        base = explainer.expected_value
        name = "shap.LinearExplainer (interventional)"
        units = "log-odds" if hasattr(model, "predict_proba") else "prediction"
    elif method == "permutation":
        codec = FrameCodec(pd.concat([X, bg]))  # every category of the rows and background
        if hasattr(model, "predict_proba") and column is not None:

            def f(Z):
                return np.asarray(model.predict_proba(codec.decode(Z)))[:, column]

            units = "probability"
        else:

            def f(Z):
                return np.asarray(model.predict(codec.decode(Z)), dtype=float)

            units = "prediction"
        values, base = permutation_shap(
            f, codec.encode(X), codec.encode(bg), rng=rng, progress=progress
        )
        name = "raikit permutation SHAP (model-agnostic, interventional, vectorised)"
    values, base = _class_output(values, base, column, single_output=method != "permutation")
    base_value = float(np.mean(base))
    if progress is not None:
        progress(len(X), len(X))
    return values, base_value, name, units


def _class_output(values, base, column, *, single_output: bool):
    """The SHAP values and base value(s) of the class ``column`` (None: the only output)."""
    if isinstance(values, list):  # older shap: one array per class
        values = values[column if column is not None else -1]
        base = np.asarray(base, dtype=float).ravel()
        base = base[[column if column is not None else -1]] if base.size > 1 else base
    values = np.asarray(values, dtype=float)
    base = np.asarray(base, dtype=float).ravel()
    if values.ndim == 3:  # (n, F, classes): keep the class explained
        n_classes = values.shape[2]
        pick = column if column is not None else -1
        values = values[:, :, pick]
        if base.size == n_classes:
            base = base[[pick]]
        elif base.size == len(values) * n_classes:
            base = base.reshape(len(values), n_classes)[:, pick]
    elif single_output and column == 0:
        # one margin for classes_[1]; the log-odds of classes_[0] are its negative
        values, base = -values, -base
    return values, base


def _explained_class(model, pos_label):
    """``(column, label)`` of the class explained; ``(None, None)`` for a regressor."""
    from raikit.metrics._group_metrics import _label_list, positive_column

    classes = getattr(model, "classes_", None)
    if classes is None or not hasattr(model, "predict_proba"):
        return None, None
    labels = _label_list(classes)
    if len(labels) == 2:
        column = positive_column(labels, pos_label)
        return column, labels[column]
    matches = [i for i, v in enumerate(labels) if pos_label is not None and v == pos_label]
    if not matches:
        raise ParameterError(
            f"explain(): the model has {len(labels)} classes {labels[:10]}; name the class to "
            f"explain with pos_label= (got {pos_label!r})."
        )
    return matches[0], labels[matches[0]]


# --------------------------------------------------------------------------- aggregates
def _weighted_mean_abs(values: np.ndarray, codes: np.ndarray, k: int, w: np.ndarray, z: float):
    """Per code: the weighted mean |SHAP| of each feature and the half-width of its normal
    interval at Kish's effective number of rows ``(sum w)^2 / sum w^2`` (the rows themselves
    when every weight is 1)."""
    absolute = np.abs(values)
    total = np.bincount(codes, weights=w, minlength=k)[:, None]
    total_sq = np.bincount(codes, weights=w * w, minlength=k)[:, None]
    sums = np.zeros((k, values.shape[1]))
    squares = np.zeros_like(sums)
    np.add.at(sums, codes, w[:, None] * absolute)
    np.add.at(squares, codes, w[:, None] * absolute**2)
    with np.errstate(divide="ignore", invalid="ignore"):
        n_eff = total**2 / total_sq
        mean = sums / total
        var = np.maximum(squares / total - mean**2, 0) * n_eff / (n_eff - 1)
        half = z * np.sqrt(var / n_eff)
    return mean, np.where(n_eff > 1, half, np.nan)


def _importance(values: np.ndarray, features: list[str], z: float, weights) -> pd.DataFrame:
    w = np.ones(len(values)) if weights is None else weights
    mean, half = _weighted_mean_abs(values, np.zeros(len(values), dtype=np.int64), 1, w, z)
    mean, half = mean[0], half[0]
    total = mean.sum()
    frame = pd.DataFrame(
        {
            "feature": features,
            "mean_abs": mean,
            "lower": np.maximum(mean - half, 0),
            "upper": mean + half,
            "share": mean / total if total > 0 else np.zeros(len(mean)),
        }
    )
    frame["rank"] = frame["mean_abs"].rank(ascending=False, method="min").astype(int)
    return frame


def _group_importance(values, features, codes_by_attribute, z: float, weights) -> pd.DataFrame:
    w = np.ones(len(values)) if weights is None else weights
    parts = []
    for attribute, (codes, labels) in codes_by_attribute.items():  # one pass per attribute
        k = len(labels)
        n = np.bincount(codes, weights=(w > 0).astype(float), minlength=k)
        mean, half = _weighted_mean_abs(values, codes, k, w, z)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = mean / mean.sum(axis=1, keepdims=True)
        rank = (-mean).argsort(axis=1).argsort(axis=1) + 1
        parts.append(
            pd.DataFrame(
                {
                    "attribute": attribute,
                    "group": np.repeat(np.asarray(labels, dtype=object), len(features)),
                    "feature": np.tile(features, k),
                    "n": np.repeat(n, len(features)).astype(int),
                    "mean_abs": mean.ravel(),
                    "lower": np.maximum(mean - half, 0).ravel(),
                    "upper": (mean + half).ravel(),
                    "share": share.ravel(),
                    "rank": rank.ravel(),
                }
            )
        )
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _distribution(values, X: pd.DataFrame, features, n_bins: int = 30) -> pd.DataFrame:
    parts = []
    for j, feature in enumerate(features):  # loop over features, vectorised over rows
        v = values[:, j]
        low, high = float(v.min()), float(v.max())
        if high <= low:
            high = low + 1e-12
        edges = np.linspace(low, high, n_bins + 1)
        bins = np.clip(np.searchsorted(edges, v, side="right") - 1, 0, n_bins - 1)
        count = np.bincount(bins, minlength=n_bins)
        column = X[feature]
        if pd.api.types.is_numeric_dtype(column.dtype) and not isinstance(
            column.dtype, pd.CategoricalDtype
        ):
            x = column.to_numpy(dtype=float, na_value=np.nan)
            lo, hi = (
                np.nanmin(x) if np.isfinite(x).any() else 0,
                np.nanmax(x) if np.isfinite(x).any() else 1,
            )
            scaled = (x - lo) / (hi - lo) if hi > lo else np.zeros(len(x))
            ok = ~np.isnan(scaled)
            sums = np.bincount(bins[ok], weights=scaled[ok], minlength=n_bins)
            counted = np.bincount(bins[ok], minlength=n_bins)
            with np.errstate(invalid="ignore", divide="ignore"):
                level = sums / counted
        else:
            level = np.full(n_bins, np.nan)
        keep = count > 0
        parts.append(
            pd.DataFrame(
                {
                    "feature": feature,
                    "shap": ((edges[:-1] + edges[1:]) / 2)[keep],
                    "count": count[keep],
                    "feature_level": level[keep],
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def _proxies(frame: pd.DataFrame, features, sensitive: list[str], rng) -> pd.DataFrame:
    """Largest Cramér's V of each feature with any sensitive attribute (on ≤ 20,000 rows)."""
    from scipy.stats.contingency import association

    if len(frame) > _PROXY_ROWS:
        frame = frame.iloc[np.sort(rng.choice(len(frame), _PROXY_ROWS, replace=False))]
    rows = []
    for feature in features:  # loop over columns
        column = frame[feature]
        if pd.api.types.is_numeric_dtype(column.dtype) and column.nunique() > 10:
            column = pd.qcut(column.rank(method="first"), 10, labels=False)
        best, best_attr = 0.0, None
        for attribute in sensitive:
            if attribute == feature:
                continue
            table = pd.crosstab(column, frame[attribute]).to_numpy()
            table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
            if min(table.shape) < 2:
                continue
            v = float(association(table, method="cramer"))
            if v > best:
                best, best_attr = v, attribute
        rows.append((feature, best_attr, best))
    return pd.DataFrame(rows, columns=["feature", "proxy_for", "proxy_strength"])


def _permutation(model, X, y, *, n_repeats, rng, z, weights=None):
    from sklearn.inspection import permutation_importance

    scoring = None
    if hasattr(model, "predict_proba") and pd.Series(y).nunique() == 2:
        scoring = "neg_log_loss"
    result = permutation_importance(
        model,
        X,
        y,
        scoring=scoring,
        n_repeats=n_repeats,
        random_state=int(rng.integers(2**31)),
        n_jobs=1,
        sample_weight=weights,
    )
    half = z * result.importances_std / np.sqrt(n_repeats)
    return result.importances_mean, half, scoring or "score"


# --------------------------------------------------------------------------- the check
@recorded("explain.explain")
@validate_params(
    model=fitted_model,
    method=Options("auto", "tree", "linear", "permutation"),
    background=Interval(int, 1, None),
    max_rows=[Interval(int, 2, None), None],
    permutation=bool,
    n_repeats=Interval(int, 1, None),
    ci=CI,
    random_state=RANDOM_STATE,
)
def explain(
    model,
    data,
    *,
    method: str = "auto",
    background: int = 100,
    max_rows: int | None = None,
    permutation: bool = True,
    n_repeats: int = 5,
    pos_label=None,
    include: Sequence[int] = (),
    ci: float = 0.95,
    random_state=None,
    ledger=None,
    progress: Callable[[int, int], None] | None = None,
) -> ExplanationResult:
    """Explain a model's decisions with SHAP: per row, globally, and per group.

    Parameters
    ----------
    model : fitted estimator
        A classifier (the output for ``pos_label`` is explained) or a regressor.
    data : Dataset
        Data with sensitive attributes; the model sees ``data.X``.
    method : {"auto", "tree", "linear", "permutation"}, default "auto"
        ``auto``: shap's TreeExplainer (path-dependent, exact) for tree ensembles of
        scikit-learn, LightGBM and XGBoost on numeric inputs, LinearExplainer for linear models,
        else the model-agnostic permutation estimator (one random order of the features and its
        reverse per row, as shap's PermutationExplainer with ``max_evals=2F+1``, vectorised
        over rows: :mod:`raikit.explain._permutation`) on a numeric encoding of the inputs (used
        for scikit-learn models with categorical splits, e.g. HistGradientBoosting with
        ``categorical_features="from_dtype"``, and for pipelines).
    background : int, default 100
        Rows of ``data`` (drawn at random from all its rows, also when ``max_rows`` samples)
        that stand for "feature absent" in the linear and model-agnostic explainers.
    max_rows : int, optional
        Explain about this many rows: a larger ``data`` is replaced by a sample stratified by
        the intersection of the sensitive attributes that keeps at least 30 rows of every group
        (all of a smaller group, so more rows when the minimums need more;
        :meth:`raikit.Dataset.sample`). Each explained row then counts
        with its stratum's weight (population / sampled), so the overall and per-group mean
        ``|SHAP|`` and the permutation importance estimate the whole data's, and the intervals use
        the weighted rows' effective number (Kish), so they widen with the sampling.
        ``meta["sampling"]`` and the summary say so. By default every row, except that the
        model-agnostic explainer explains at most 2,000 (an info finding says so). A lazy
        Dataset (files, Spark) is sampled where its rows live and only the sample is loaded (all
        of it when it has at most ``max_rows`` rows); its background and proxies then come from
        a uniform sample of 20,000 rows drawn where they live, and ``attributions`` is indexed
        by position in the sample.
    permutation : bool, default True
        Cross-check with scikit-learn's permutation importance (needs ``data``'s target).
    n_repeats : int, default 5
        Shuffles per feature in the permutation importance.
    pos_label : optional
        The class whose output is explained: for a binary classifier the positive label
        (inferred only for 0/1, False/True and -1/1 classes, never from the classes' order;
        for a single-output explainer the log-odds of ``classes_[1]`` change sign when
        ``pos_label`` is ``classes_[0]``); for a multi-class model, required. Reported in
        ``meta["pos_label"]``.
    include : list of int
        Row positions always explained, even when ``max_rows`` samples (rows outside the sample
        get weight 0: they have attributions but leave the aggregates to the sample).
    ci : float, default 0.95
        Confidence level of the normal intervals of mean ``|SHAP|`` (overall and per group) and of
        the permutation importance.
    random_state : int, Generator or None, default None
        Seed of the row sample, the background and the permutations; ``None`` draws a fresh
        seed, recorded in the ledger.
    ledger : raikit.ledger.Ledger or path, optional
        Record the result as evidence (inside :func:`raikit.track` it is recorded anyway).
    progress : callable, optional
        Called as ``progress(rows_done, rows_total)`` while rows are explained (the CLI draws a
        progress bar with it); the model-agnostic explainer reports every few rows.

    Returns
    -------
    ExplanationResult

    Raises
    ------
    ParameterError
        ``model`` without ``predict``; an unknown ``method``; ``background``, ``max_rows``,
        ``n_repeats``, ``ci`` or ``include`` out of range; a multi-class model without
        ``pos_label``; ``data`` is not a Dataset.
    DataError
        Labels need ``pos_label``, or shap cannot explain the model.

    See Also
    --------
    raikit.explain.partial_dependence : how the prediction moves with one feature.
    raikit.data.profile : the proxies its findings cite.

    Examples
    --------
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> from raikit.datasets import load_german_credit
    >>> ds = load_german_credit()
    >>> ds = ds.replace(features=["duration_months", "credit_amount", "age"])
    >>> model = RandomForestClassifier(n_estimators=20, max_depth=4, random_state=0)
    >>> model = model.fit(ds.X, ds.y)
    >>> r = explain(model, ds, max_rows=200, random_state=0)
    >>> r.meta["explainer"]
    'shap.TreeExplainer (tree_path_dependent)'
    >>> list(r.importance["feature"])[0]
    'duration_months'
    """
    ds = check_dataset(data, caller="explain").for_model(model)
    z = z_value(ci)
    rng = rng_from(random_state)
    column, explained = _explained_class(model, pos_label)
    chosen = choose_method(model, _no_rows(ds)) if method == "auto" else method
    explained_rows, rows, weights, sampling, findings = _rows_to_explain(
        ds, chosen, max_rows, include, rng
    )
    X = explained_rows.frame.iloc[rows][list(ds.feature_names)]
    # every row of an in-memory ds; of a lazy one sampled, a uniform sample drawn where they live
    # (the background and the proxies' rows: a stratified sample over-represents small groups)
    population = (
        ds.frame
        if explained_rows is ds
        else ds._rows_for(_PROXY_ROWS, "explain()'s background", int(rng.integers(2**31))).frame
    )
    features = [str(c) for c in X.columns]
    try:
        values, base_value, explainer_name, units = _shap_values(
            model,
            X,
            chosen,
            background=background,
            population=population,
            rng=rng,
            column=column,
            progress=progress,
        )
    except RaikitError:
        raise
    except Exception as error:
        raise DataError(
            f"shap could not explain {type(model).__name__} with method={chosen!r}: "
            f"{type(error).__name__}: {error}. Try method='permutation'."
        ) from error
    importance = _importance(values, features, z, weights)
    sensitive = list(ds.sensitive_names)
    importance["sensitive"] = importance["feature"].isin(sensitive)
    proxies = _proxies(population, features, sensitive, rng)
    importance = importance.merge(proxies, on="feature", how="left")
    agreement: dict = {}
    if permutation and ds.target is not None:
        y = explained_rows.frame[ds.target].iloc[rows].to_numpy()
        importance, agreement = _cross_check(model, X, y, importance, n_repeats, rng, z, weights)
        findings += _agreement_findings(agreement)
    importance = importance.sort_values("rank", kind="stable").reset_index(drop=True)
    codes_by_attribute = {}
    for attribute in sensitive:  # one group coding per attribute
        groups = explained_rows.groups(intersectional=False, attribute=attribute)
        codes = np.asarray(groups.codes)[rows]
        codes_by_attribute[attribute] = (codes, groups.labels[attribute].astype(str).tolist())
    group_importance = _group_importance(values, features, codes_by_attribute, z, weights)
    findings += _feature_findings(importance, len(features))
    findings += _group_findings(group_importance)
    attributions = pd.DataFrame(values, columns=features, index=X.index.copy())
    attributions.index.name = "row"
    return ExplanationResult(
        attributions=attributions,
        importance=importance,
        group_importance=group_importance,
        distribution=_distribution(values, X, features),
        agreement=agreement,
        meta={
            "method": chosen,
            "explainer": explainer_name,
            "units": units,
            "base_value": base_value,
            "n_rows": len(X),
            "n_rows_data": ds.n_rows,
            "sampling": sampling,
            "background": int(min(background, len(population))),
            "model": type(model).__name__,
            "pos_label": explained,
            "ci": float(ci),
        },
        findings=tuple(findings),
    )


def _rows_to_explain(ds, chosen: str, max_rows, include, rng):
    """``(data, rows, weights, sampling, findings)``: the rows explained as positions in
    ``data`` (``ds``, or a lazy ``ds``'s sample drawn where its rows live), their weights and
    the sampling record (``None, None`` when every row is explained), and the finding that says
    a sample was taken.

    Above the limit (``max_rows``, or :data:`AGNOSTIC_ROWS` for the slow explainer) the rows are
    a sample stratified by group (:func:`raikit._sampling.sample_rows`); ``include`` adds
    rows at weight 0.
    """
    n_rows = ds.n_rows
    findings = []
    limit = max_rows
    if limit is None and chosen == "permutation" and n_rows > AGNOSTIC_ROWS:
        limit = AGNOSTIC_ROWS
        findings.append(
            Finding(
                "info",
                f"Explained a sample of {AGNOSTIC_ROWS:,} of {n_rows:,} rows, stratified by group",
                "The model-agnostic explainer costs about (2 × features + 1) × background model "
                "evaluations per row; pass max_rows= to explain more.",
            )
        )
    include = np.asarray(list(include), dtype=np.int64)
    if include.size and (include.min() < 0 or include.max() >= n_rows):
        raise ParameterError(
            f"explain(): include has row positions outside 0..{n_rows - 1}: {include.tolist()}."
        )
    data, rows, weights, sampling = sample_rows(ds, limit, random_state=rng, purpose="explain()")
    if sampling is None:
        return data, np.union1d(rows, include), None, None, findings
    if include.size and data is not ds:
        raise ParameterError(
            "explain(): include= names row positions, which a lazy Dataset sampled where its "
            "rows live does not keep; explain those rows from an in-memory Dataset "
            "(ds.subset(rows) after ds.materialize()), or leave include out."
        )
    extra = np.setdiff1d(include, rows)
    if extra.size:
        order = np.argsort(np.r_[rows, extra], kind="stable")
        rows = np.r_[rows, extra][order]
        weights = np.r_[weights, np.zeros(extra.size)][order]
    return data, rows, weights, sampling, findings


def _no_rows(ds) -> pd.DataFrame:
    """The inputs' columns with their dtypes and no row (what :func:`choose_method` reads)."""
    dtypes = ds.dtypes
    return pd.DataFrame({c: pd.Series(dtype=dtypes[c]) for c in ds.feature_names})


def _cross_check(model, X, y, importance, n_repeats, rng, z, weights=None):
    """Permutation importance next to mean |SHAP|, and how well their rankings agree."""
    from scipy.stats import spearmanr

    mean, half, scoring = _permutation(
        model, X, y, n_repeats=n_repeats, rng=rng, z=z, weights=weights
    )
    importance = importance.copy()
    importance["permutation_mean"] = mean
    importance["permutation_lower"] = mean - half
    importance["permutation_upper"] = mean + half
    importance["permutation_rank"] = (
        importance["permutation_mean"].rank(ascending=False, method="min").astype(int)
    )
    k = min(5, len(importance))
    test = spearmanr(importance["mean_abs"], importance["permutation_mean"])
    top_shap = set(importance.nsmallest(k, "rank")["feature"])
    top_perm = set(importance.nsmallest(k, "permutation_rank")["feature"])
    agreement = {
        "spearman": float(test.statistic) if np.isfinite(test.statistic) else None,
        "p_value": float(test.pvalue) if np.isfinite(test.pvalue) else None,
        "top_k_overlap": len(top_shap & top_perm) / k,
        "k": k,
        "scoring": scoring,
    }
    return importance, agreement


def _agreement_findings(agreement: dict) -> list:
    if agreement["spearman"] is None or agreement["spearman"] >= 0.5:
        return []
    return [
        Finding(
            "warning",
            "SHAP and permutation importance disagree",
            f"Spearman rank correlation {agreement['spearman']:.2f} (top-{agreement['k']} "
            f"overlap {agreement['top_k_overlap']:.0%}). Correlated features share credit "
            "differently under the two methods; read single-feature claims with care.",
        )
    ]


def _feature_findings(importance: pd.DataFrame, n_features: int) -> list:
    """Sensitive attributes among the inputs, and strong proxies that rank high."""
    findings = []
    for row in importance.itertuples(index=False):  # features (a handful)
        high = row.rank <= TOP_K or row.share >= HIGH_SHARE
        where = f"rank {row.rank} of {n_features}, {row.share:.1%} of mean |SHAP|"
        if row.sensitive:
            findings.append(
                Finding(
                    "warning" if high else "info",
                    f"Sensitive attribute {row.feature} is a model input"
                    + (" and ranks high" if high else ""),
                    f"{row.feature}: {where}. Decisions depend directly on it; check that this "
                    "is lawful and intended, or drop it and re-evaluate fairness.",
                    slice=row.feature,
                )
            )
        elif high and row.proxy_strength >= PROXY_STRENGTH:
            findings.append(
                Finding(
                    "warning",
                    f"{row.feature} is a strong proxy of {row.proxy_for} and ranks high",
                    f"{row.feature}: {where}; Cramér's V with {row.proxy_for} is "
                    f"{row.proxy_strength:.2f}. The model can reach {row.proxy_for} through it.",
                    slice=row.feature,
                )
            )
    return findings


def _group_findings(group_importance: pd.DataFrame) -> list:
    """The feature whose share of the importance differs most between groups, per attribute."""
    findings = []
    for attribute, part in group_importance.groupby("attribute", sort=False):  # attributes
        part = part[part["n"] >= SMALL_GROUP]
        if part["group"].nunique() < 2:
            continue
        spread = part.groupby("feature")["share"].agg(["max", "min", "idxmax", "idxmin"])
        spread["gap"] = spread["max"] - spread["min"]
        top = spread.sort_values("gap", ascending=False).iloc[0]
        if top["gap"] >= 0.05:
            hi, lo = part.loc[top["idxmax"]], part.loc[top["idxmin"]]
            findings.append(
                Finding(
                    "info",
                    f"{top.name} drives decisions differently across {attribute}",
                    f"{top.name} carries {hi['share']:.1%} of the importance for "
                    f"{attribute}={hi['group']} (rank {hi['rank']}) but {lo['share']:.1%} for "
                    f"{attribute}={lo['group']} (rank {lo['rank']}).",
                    slice=f"{attribute}={hi['group']}",
                )
            )
    return findings


def explain_section(ctx) -> dict:
    """The audit's "explainability" section: :func:`explain` on about 2,000 test rows (500 with
    the slower model-agnostic explainer), a sample stratified by group and reweighted when the
    test set is larger (``meta["sampling"]``).

    Returns ``{"explain.explain": ExplanationResult}``, or ``{}`` when there is no model. A
    model it cannot explain (shap missing, an unsupported model) raises the error, which the
    audit reports as the section's reason for not running. A lazy test set is sampled where its
    rows live.

    Parameters
    ----------
    ctx : AuditContext
        What the audit passes to every section.

    Returns
    -------
    dict
        ``{"explain.explain": ExplanationResult}``, or ``{}`` without a model.

    Raises
    ------
    ImportError
        shap is not installed.
    RaikitError
        shap cannot explain the model (:class:`raikit.DataError`), or a bad setting.

    See Also
    --------
    raikit.audit.audit : runs it as the "explainability" section.
    explain : the check it calls.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from raikit.audit import audit
    >>> from raikit.datasets import make_fairness_synthetic
    >>> train = make_fairness_synthetic(300, random_state=0)
    >>> test = make_fairness_synthetic(300, random_state=1)
    >>> model = LogisticRegression().fit(train.X, train.y)
    >>> report = audit(model, train=train, test=test, sections=["explainability"], n_boot=20,
    ...                random_state=0)
    >>> list(report.results)
    ['explain.explain']
    """
    model = getattr(ctx, "model", None)
    if model is None or not hasattr(model, "predict"):
        return {}
    test = ctx.test.for_model(model)
    agnostic = choose_method(model, _no_rows(test)) == "permutation"
    result = explain(
        model,
        test,
        background=50,
        max_rows=min(500 if agnostic else 2000, test.n_rows) if test.n_rows >= 2 else None,
        pos_label=getattr(ctx, "pos_label", None),
        random_state=ctx.random_state,
    )
    return {"explain.explain": result}
