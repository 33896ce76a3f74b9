"""``partial_dependence``: partial dependence and ICE curves, overall and per group."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from raikit._errors import ColumnError
from raikit._recording import recorded
from raikit._result import Result
from raikit._validation import CI, RANDOM_STATE, Interval, check_dataset, rng_from, validate_params
from raikit.explain._common import fitted_model, positive_class, predict_along
from raikit.metrics._stats import z_value

__all__ = ["PartialDependenceResult", "partial_dependence"]


@dataclass(frozen=True, eq=False)
class PartialDependenceResult(Result):
    """Partial dependence (mean ICE) per feature value, overall and per group, with ICE spread.

    Attributes
    ----------
    curves : DataFrame
        One row per (feature, position on the grid, attribute, group): ``value`` (as text),
        ``value_num`` (numeric grid value, NaN for categorical), ``n`` (rows), ``mean`` (the partial
        dependence) with a normal interval ``lower``/``upper`` (level ``meta["ci"]``); overall
        rows (``attribute`` = "overall") also give the 10th, 50th and 90th percentile of the ICE
        curves (``ice_q10``, ``ice_q50``, ``ice_q90``).
    meta : dict
        ``output`` (probability of the positive label, or prediction), ``pos_label``, ``n_rows``,
        ``features``, ``ci``.
    findings : tuple of Finding

    See Also
    --------
    partial_dependence : computes it.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from raikit.datasets import make_fairness_synthetic
    >>> from raikit.explain import partial_dependence
    >>> ds = make_fairness_synthetic(300, random_state=0)
    >>> model = LogisticRegression().fit(ds.X, ds.y)
    >>> r = partial_dependence(model, ds, features=["x1"], grid_resolution=5, random_state=0)
    >>> sorted(r.curves["feature"].unique())
    ['x1']
    """

    curves: pd.DataFrame
    meta: dict = field(default_factory=dict)
    findings: tuple = field(default_factory=tuple)

    @property
    def summary(self) -> str:
        overall = self.curves[self.curves["attribute"] == "overall"]
        span = overall.groupby("feature")["mean"].agg(lambda s: s.max() - s.min())
        span = span.sort_values(ascending=False)
        return (
            f"Partial dependence of {len(span)} feature(s) on {self.meta['n_rows']:,} rows; "
            f"largest effect {span.index[0]} (PD range {span.iloc[0]:.3f} {self.meta['output']})."
        )

    def figures(self) -> list:
        import plotly.graph_objects as go

        from raikit._plots import error_bars

        figures = []
        for feature, part in self.curves.groupby("feature", sort=False):  # one per feature
            fig = go.Figure()
            overall = part[part["attribute"] == "overall"]
            x_all = overall["value_num"] if overall["value_num"].notna().all() else overall["value"]
            fig.add_trace(
                go.Scatter(
                    x=list(x_all) + list(x_all)[::-1],
                    y=list(overall["ice_q90"]) + list(overall["ice_q10"])[::-1],
                    fill="toself",
                    fillcolor="rgba(120,120,120,0.15)",
                    line={"width": 0},
                    name="ICE 10th–90th percentile",
                    hoverinfo="skip",
                )
            )
            for (attribute, group), g in part.groupby(["attribute", "group"], sort=False):
                x = g["value_num"] if g["value_num"].notna().all() else g["value"]
                fig.add_trace(
                    go.Scatter(
                        x=x,
                        y=g["mean"],
                        mode="lines+markers",
                        name="overall" if attribute == "overall" else f"{attribute}={group}",
                        line={"width": 3 if attribute == "overall" else 1.5},
                        error_y=error_bars(g["mean"], g["lower"], g["upper"]),
                    )
                )
            fig.update_layout(
                title=(
                    f"Partial dependence on {feature}, overall and per group "
                    f"({self.meta.get('ci', 0.95):.0%} CI; band: ICE)"
                ),
                xaxis_title=feature,
                yaxis_title=self.meta["output"],
            )
            figures.append(fig)
        return figures


def _grid(column: pd.Series, resolution: int):
    if isinstance(column.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(
        column.dtype
    ):
        counts = column.value_counts(dropna=True)
        values = list(counts.index[:resolution])
        if isinstance(column.dtype, pd.CategoricalDtype):
            order = {c: i for i, c in enumerate(column.dtype.categories)}
            values.sort(key=lambda v: order[v])
        return values, False
    x = column.dropna().to_numpy(dtype=float)
    if len(x) == 0:
        return [], True
    unique = np.unique(x)
    if len(unique) <= resolution:
        return unique.tolist(), True
    grid = np.quantile(x, np.linspace(0.05, 0.95, resolution))
    if pd.api.types.is_integer_dtype(column.dtype):  # stay on the column's integer values
        grid = np.round(grid)
    return np.unique(grid).tolist(), True


@recorded("explain.partial_dependence")
@validate_params(
    model=fitted_model,
    grid_resolution=Interval(int, 2, None),
    max_rows=[Interval(int, 1, None), None],
    ci=CI,
    random_state=RANDOM_STATE,
)
def partial_dependence(
    model,
    data,
    *,
    features: Sequence[str] | None = None,
    grid_resolution: int = 20,
    max_rows: int | None = 1000,
    pos_label=None,
    ci: float = 0.95,
    random_state=None,
    ledger=None,
) -> PartialDependenceResult:
    """Partial dependence and ICE curves of ``model`` on ``data``, overall and per sensitive group.

    For each feature and grid value every sampled row is predicted with the feature set to that
    value (one batched call per feature). The ICE curve of a row is its predictions along the
    grid; the partial dependence is their mean, overall and within each group, with a normal
    interval of the mean at level ``ci``.

    Parameters
    ----------
    model : fitted estimator
        The probability of the positive class is used for binary classifiers, else ``predict``.
    data : Dataset
        Data with sensitive attributes (the target is not needed).
    features : list of str, optional
        Features to vary (default: every model input).
    grid_resolution : int, default 20
        Grid points per numeric feature (quantiles 5%..95%); most frequent categories otherwise.
    max_rows : int, optional, default 1000
        Rows sampled for the curves (None: all).
    pos_label : optional
        For a binary classifier: the class whose probability is plotted (its column in
        ``model.classes_``). Inferred only for 0/1, False/True and -1/1 classes; other classes
        need it.
    ci : float, default 0.95
        Confidence level of the intervals of the partial dependence.
    random_state : int, Generator or None, default None
        Seed of the row sample; ``None`` draws a fresh seed, recorded in the ledger.
    ledger : raikit.ledger.Ledger or path, optional
        Record the result as evidence (inside :func:`raikit.track` it is recorded anyway).

    Returns
    -------
    PartialDependenceResult

    Raises
    ------
    ParameterError
        ``model`` without ``predict``; ``grid_resolution``, ``max_rows``, ``ci`` out of range.
    ColumnError
        A feature that is not a model input.

    See Also
    --------
    raikit.explain.explain : attributions per row.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from raikit.datasets import load_german_credit
    >>> ds = load_german_credit()
    >>> ds = ds.replace(features=["duration_months", "credit_amount", "age"])
    >>> model = LogisticRegression(max_iter=1000).fit(ds.X, ds.y)
    >>> r = partial_dependence(model, ds, features=["duration_months"], grid_resolution=5,
    ...                        random_state=0)
    >>> curve = r.curves[r.curves["attribute"] == "overall"]["mean"]
    >>> bool(curve.is_monotonic_decreasing)
    True
    """
    ds = check_dataset(data, caller="partial_dependence").for_model(model)
    X_all = ds.X
    features = list(features) if features is not None else [str(c) for c in X_all.columns]
    unknown = [f for f in features if f not in X_all.columns]
    if unknown:
        raise ColumnError(f"{unknown} are not model inputs; inputs are {list(X_all.columns)}.")
    rng = rng_from(random_state)
    rows = np.arange(len(X_all))
    if max_rows is not None and max_rows < len(X_all):
        rows = np.sort(rng.choice(len(X_all), size=max_rows, replace=False))
    X = X_all.iloc[rows].reset_index(drop=True)
    column, positive = (
        positive_class(model, pos_label) if hasattr(model, "predict_proba") else (None, None)
    )
    output = "prediction" if column is None else f"probability of {positive!r}"

    def predict(frame):
        if column is not None:
            return np.asarray(model.predict_proba(frame))[:, column]
        return np.asarray(model.predict(frame), dtype=float)

    group_codes = []
    for attribute in ds.sensitive_names:  # one coding per attribute
        groups = ds.groups(intersectional=False, attribute=attribute)
        group_codes.append(
            (attribute, np.asarray(groups.codes)[rows], groups.labels[attribute].astype(str))
        )
    z = z_value(ci)
    parts = []
    for feature in features:  # one batched predict per feature
        grid, is_numeric = _grid(X_all[feature], grid_resolution)
        if len(grid) == 0:
            continue
        ice = predict_along(predict, X, feature, grid, caller="partial_dependence()")
        text = [str(v) for v in grid]
        numbers = np.asarray(grid, dtype=float) if is_numeric else np.full(len(grid), np.nan)
        axis = {"feature": feature, "value": text, "value_num": numbers}
        parts.append(_overall_curve(ice, axis, z))
        for attribute, codes, labels in group_codes:  # per attribute: bincount over groups
            parts.append(_group_curves(ice, codes, labels, attribute, axis, z))
    return PartialDependenceResult(
        curves=pd.concat(parts, ignore_index=True),
        meta={
            "output": output,
            "pos_label": positive,
            "n_rows": len(X),
            "features": features,
            "ci": float(ci),
        },
    )


def _overall_curve(ice: np.ndarray, axis: dict, z: float) -> pd.DataFrame:
    n, g = ice.shape
    mean = ice.mean(axis=0)
    half = z * ice.std(axis=0, ddof=1) / np.sqrt(n) if n > 1 else np.full(g, np.nan)
    q10, q50, q90 = np.quantile(ice, [0.1, 0.5, 0.9], axis=0)
    return pd.DataFrame(
        {
            "feature": axis["feature"],
            "position": np.arange(g),
            "value": axis["value"],
            "value_num": axis["value_num"],
            "attribute": "overall",
            "group": "overall",
            "n": n,
            "mean": mean,
            "lower": mean - half,
            "upper": mean + half,
            "ice_q10": q10,
            "ice_q50": q50,
            "ice_q90": q90,
        }
    )


def _group_curves(ice, codes, labels, attribute, axis, z) -> pd.DataFrame:
    """Mean ICE per group of one attribute, from per-group sums (no loop over groups)."""
    g = ice.shape[1]
    k = len(labels)
    count = np.bincount(codes, minlength=k).astype(float)
    sums = np.zeros((k, g))
    squares = np.zeros((k, g))
    np.add.at(sums, codes, ice)
    np.add.at(squares, codes, ice**2)
    with np.errstate(divide="ignore", invalid="ignore"):
        gm = sums / count[:, None]
        var = (squares / count[:, None] - gm**2) * count[:, None] / (count[:, None] - 1)
        gh = z * np.sqrt(np.maximum(var, 0) / count[:, None])
    present = count > 0
    kk = int(present.sum())
    return pd.DataFrame(
        {
            "feature": axis["feature"],
            "position": np.tile(np.arange(g), kk),
            "value": np.tile(axis["value"], kk),
            "value_num": np.tile(axis["value_num"], kk),
            "attribute": attribute,
            "group": np.repeat(np.asarray(labels)[present], g),
            "n": np.repeat(count[present], g).astype(int),
            "mean": gm[present].ravel(),
            "lower": (gm - gh)[present].ravel(),
            "upper": (gm + gh)[present].ravel(),
            "ice_q10": np.nan,
            "ice_q50": np.nan,
            "ice_q90": np.nan,
        }
    )
