"""What-if analysis: ``what_if`` (change some inputs, see the prediction move) and ``flip_test``
(change only the sensitive attribute, count the decisions that change, per group)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from raikit._errors import ColumnError, DataError, ParameterError
from raikit._recording import recorded
from raikit._result import Finding, Result
from raikit._validation import CI, check_dataset, validate_params
from raikit.explain._common import as_frame, fitted_model, positive_class, positive_score
from raikit.metrics._stats import wilson_interval

__all__ = ["FlipTestResult", "WhatIfResult", "flip_test", "what_if"]


def _rate_interval(k: np.ndarray, n: np.ndarray, ci: float):
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
    lower, upper = wilson_interval(k, n, ci=ci)
    return p, lower, upper


@dataclass(frozen=True, eq=False)
class WhatIfResult(Result):
    """Predictions before and after changing some inputs.

    Attributes
    ----------
    table : DataFrame
        One row per input row: ``prediction_before``, ``prediction_after``, ``changed`` (the
        decision changed), and for binary classifiers ``score_before``, ``score_after`` and
        ``score_change``.
    changes : dict
        The changes applied, column -> new value.
    findings : tuple of Finding

    See Also
    --------
    what_if : computes it.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from raikit.datasets import make_fairness_synthetic
    >>> from raikit.explain import what_if
    >>> ds = make_fairness_synthetic(300, random_state=0)
    >>> model = LogisticRegression().fit(ds.X, ds.y)
    >>> r = what_if(model, ds.X.iloc[[0]], changes={"x1": 0.0})
    >>> sorted(r.changes)
    ['x1']
    """

    table: pd.DataFrame
    changes: dict = field(default_factory=dict)
    findings: tuple = field(default_factory=tuple)

    @property
    def summary(self) -> str:
        t = self.table
        text = f"Setting {self.changes} changes {int(t['changed'].sum())} of {len(t)} decision(s)"
        if "score_change" in t.columns:
            text += f"; mean score change {t['score_change'].mean():+.3f}"
        return text + "."


def _change_dict(value) -> bool:
    """a non-empty dict of column -> new value"""
    return isinstance(value, dict) and len(value) > 0


@recorded("explain.what_if")
@validate_params(model=fitted_model, changes=_change_dict)
def what_if(model, data, *, changes: dict, pos_label=None, ledger=None) -> WhatIfResult:
    """The model's prediction for the row(s) in ``data`` before and after applying ``changes``.

    Parameters
    ----------
    model : fitted estimator
    data : DataFrame, Series, dict or Dataset
        One row (or several) of model inputs.
    changes : dict
        Column -> new value, applied to every row.
    pos_label : optional
        For a binary classifier with ``predict_proba``: the class whose probability is reported
        as the score. Inferred only for 0/1, False/True and -1/1 classes; other classes need it.
    ledger : raikit.ledger.Ledger or path, optional
        Record the result as evidence (inside :func:`raikit.track` it is recorded anyway).

    Returns
    -------
    WhatIfResult

    Raises
    ------
    ParameterError
        ``model`` without ``predict``, or ``changes`` not a non-empty dict.
    ColumnError
        ``changes`` names a column that is not an input of the rows.
    DataError
        A new value that is not a category of its column; a model that cannot predict the rows.

    See Also
    --------
    raikit.explain.counterfactuals : the smallest change that flips a decision.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from raikit.datasets import load_german_credit
    >>> ds = load_german_credit()
    >>> ds = ds.replace(features=["duration_months", "credit_amount", "age"])
    >>> model = LogisticRegression(max_iter=1000).fit(ds.X, ds.y)
    >>> r = what_if(model, ds.X.iloc[[0]], changes={"duration_months": 72})
    >>> bool(r.table["score_after"].iloc[0] < r.table["score_before"].iloc[0])
    True
    """
    X = as_frame(data, name="data")
    after = _apply_changes(X, changes)
    try:
        before_pred = np.asarray(model.predict(X))
        after_pred = np.asarray(model.predict(after))
    except Exception as error:
        raise DataError(
            f"The model could not predict the changed row(s): {type(error).__name__}: {error}"
        ) from error
    table = pd.DataFrame(
        {"prediction_before": before_pred, "prediction_after": after_pred}, index=X.index
    )
    table["changed"] = table["prediction_before"] != table["prediction_after"]
    before_score = positive_score(model, X, pos_label)
    if before_score is not None:
        after_score = positive_score(model, after, pos_label)
        table["score_before"] = before_score
        table["score_after"] = after_score
        table["score_change"] = after_score - before_score
    return WhatIfResult(table=table, changes={str(k): _plain(v) for k, v in changes.items()})


def _apply_changes(X: pd.DataFrame, changes: dict) -> pd.DataFrame:
    """``X`` with each changed column set to its new value (categories checked)."""
    unknown = [c for c in changes if c not in X.columns]
    if unknown:
        raise ColumnError(
            f"changes name column(s) {unknown} that are not inputs of the row; inputs are "
            f"{list(X.columns)}."
        )
    after = X.copy()
    for column, value in changes.items():  # a few columns
        dtype = X[column].dtype
        if isinstance(dtype, pd.CategoricalDtype):
            if value is not None and value not in dtype.categories:
                raise ParameterError(
                    f"what_if(): changes[{column!r}] = {value!r} is not a category of {column!r}; "
                    f"choose one of "
                    f"{list(dtype.categories)[:20]}."
                )
            after[column] = pd.Categorical([value] * len(X), dtype=dtype)
        else:
            after[column] = value
    return after


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


@dataclass(frozen=True, eq=False)
class FlipTestResult(Result):
    """Share of decisions that change when only the sensitive attribute changes.

    Attributes
    ----------
    by_group : DataFrame
        One row per original group of ``attribute`` (and ``overall``): ``n``, ``flipped`` (rows
        whose decision changes for at least one other value), ``flip_rate`` with a Wilson
        ``lower``/``upper`` at the confidence level ``meta["ci"]``, and ``mean_score_change``
        (largest absolute score change, averaged).
    pairs : DataFrame
        One row per (from, to) pair of values: ``n``, ``flip_rate``, ``lower``, ``upper``,
        ``to_positive`` and ``to_negative`` (shares of rows whose decision flips that way).
    meta : dict
    findings : tuple of Finding

    See Also
    --------
    flip_test : computes it.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from raikit.datasets import load_german_credit
    >>> from raikit.explain import flip_test
    >>> ds = load_german_credit().replace(features=["duration_months", "age"])
    >>> model = LogisticRegression(max_iter=500).fit(ds.X, ds.y)
    >>> r = flip_test(model, ds, attribute="sex")  # sex is not an input: nothing flips
    >>> float(r.by_group["flip_rate"].max())
    0.0
    """

    by_group: pd.DataFrame
    pairs: pd.DataFrame
    meta: dict = field(default_factory=dict)
    findings: tuple = field(default_factory=tuple)

    @property
    def summary(self) -> str:
        overall = self.by_group[self.by_group["group"] == "overall"].iloc[0]
        return (
            f"Changing only {self.meta['attribute']} flips {overall['flip_rate']:.2%} of decisions "
            f"({self.meta.get('ci', 0.95):.0%} CI {overall['lower']:.2%} to "
            f"{overall['upper']:.2%}) on {int(overall['n']):,} "
            "rows."
        )

    def figures(self) -> list:
        import plotly.graph_objects as go

        from raikit._plots import cell_grid, error_bars

        g = self.by_group
        fig = go.Figure(
            go.Bar(
                x=g["group"].astype(str),
                y=g["flip_rate"],
                error_y=error_bars(g["flip_rate"], g["lower"], g["upper"]),
            )
        )
        fig.update_layout(
            title=(
                f"Decisions that change when only {self.meta['attribute']} changes "
                f"({self.meta.get('ci', 0.95):.0%} CI)"
            ),
            yaxis_title="flip rate",
            yaxis_tickformat=".1%",
        )
        p = self.pairs
        grid = p.pivot(index="from", columns="to", values="flip_rate")
        heat = cell_grid(grid.columns, grid.index, z=grid.to_numpy(), hover_name="flip rate")
        heat.update_layout(
            title=f"Flip rate from one {self.meta['attribute']} value (rows) to another (columns)",
            xaxis_title="changed to",
            yaxis_title="original",
        )
        return [fig, heat]


@recorded("explain.flip_test")
@validate_params(model=fitted_model, attribute=str, ci=CI)
def flip_test(
    model, data, *, attribute: str, ci: float = 0.95, pos_label=None, ledger=None
) -> FlipTestResult:
    """Change only ``attribute`` (to each of its other values) and count the changed decisions.

    The attribute must be a model input (listed in the Dataset's ``features``); if it is not,
    decisions cannot depend on it directly and every flip rate is 0 (an info finding says so, and
    proxies are the thing to check with :func:`explain`).

    Parameters
    ----------
    model : fitted estimator
    data : Dataset
    attribute : str
        A sensitive attribute of ``data``.
    ci : float, default 0.95
        Confidence level of the Wilson intervals of the flip rates.
    pos_label : optional
        For a binary classifier: the positive class (flips "to positive" are to it, the score
        change is of its probability). Inferred only for 0/1, False/True and -1/1 classes; other
        classes need it.
    ledger : raikit.ledger.Ledger or path, optional
        Record the result as evidence (inside :func:`raikit.track` it is recorded anyway).

    Returns
    -------
    FlipTestResult

    Raises
    ------
    ParameterError
        ``model`` without ``predict``, a bad ``ci``.
    ColumnError
        ``attribute`` is not a sensitive attribute of ``data``.

    See Also
    --------
    raikit.explain.what_if : any change, not only the sensitive attribute.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from raikit.datasets import load_german_credit
    >>> ds = load_german_credit()
    >>> ds = ds.replace(features=["duration_months", "credit_amount", "age"])
    >>> model = LogisticRegression(max_iter=1000).fit(ds.X, ds.y)
    >>> float(flip_test(model, ds, attribute="sex").by_group["flip_rate"].max())
    0.0
    """
    ds = check_dataset(data, caller="flip_test")
    if attribute not in ds.sensitive_names:
        raise ColumnError(
            f"flip_test(): attribute={attribute!r} is not a sensitive attribute of this dataset; "
            f"choose one of {list(ds.sensitive_names)}."
        )
    ds = ds.for_model(model)
    source = ds.frame[attribute]
    values = pd.unique(source.dropna())
    if len(values) < 2:
        raise DataError(f"{attribute!r} has fewer than two values; nothing to flip to.")
    column, positive = positive_class(model, pos_label)
    flips = _flips(model, ds.X, attribute, source.to_numpy(dtype=object), values, column)
    is_input = attribute in ds.X.columns
    findings = []
    if not is_input:
        findings.append(
            Finding(
                "info",
                f"{attribute} is not a model input",
                f"Changing {attribute} alone cannot change a decision, so every flip rate is 0. "
                "The model may still use proxies of it: see raikit.explain.explain().",
            )
        )
    by_group = _flip_by_group(flips, values, ci)
    pairs = _flip_pairs(flips, values, positive, ci)
    overall = by_group.iloc[-1]
    if is_input and overall["lower"] > 0.01:
        findings.append(
            Finding(
                "warning",
                f"Decisions depend on {attribute} directly",
                f"{overall['flip_rate']:.2%} of decisions change when only {attribute} changes "
                f"({ci:.0%} CI {overall['lower']:.2%} to {overall['upper']:.2%}).",
                slice=attribute,
            )
        )
    return FlipTestResult(
        by_group=by_group,
        pairs=pairs,
        meta={"attribute": attribute, "is_input": is_input, "n_rows": len(ds.X), "ci": ci},
        findings=tuple(findings),
    )


def _flips(model, X, attribute, original, values, column) -> dict:
    """Every row repeated once per other value of ``attribute``; one batched predict."""
    n, k = len(X), len(values)
    base = np.asarray(model.predict(X))
    base_score = None if column is None else np.asarray(model.predict_proba(X))[:, column]
    rep_rows = np.repeat(np.arange(n), k)
    alt_values = np.tile(np.asarray(values, dtype=object), n)
    keep = alt_values != original[rep_rows]
    rep_rows, alt_values = rep_rows[keep], alt_values[keep]
    if attribute in X.columns:
        stacked = X.iloc[rep_rows].reset_index(drop=True)
        dtype = X[attribute].dtype
        if isinstance(dtype, pd.CategoricalDtype):
            stacked[attribute] = pd.Categorical(alt_values, dtype=dtype)
        else:
            stacked[attribute] = pd.Series(alt_values).astype(dtype).to_numpy()
        new = np.asarray(model.predict(stacked))
        new_score = None if column is None else np.asarray(model.predict_proba(stacked))[:, column]
    else:
        new = base[rep_rows]
        new_score = None if base_score is None else base_score[rep_rows]
    flip = (new != base[rep_rows]).astype(float)
    row_delta = np.full(n, np.nan)
    if base_score is not None:
        row_delta = np.zeros(n)
        np.maximum.at(row_delta, rep_rows, np.abs(new_score - base_score[rep_rows]))
    return {
        "n": n,
        "base": base,
        "new": new,
        "rep_rows": rep_rows,
        "alt_values": alt_values,
        "flip": flip,
        "row_flip": np.bincount(rep_rows, weights=flip, minlength=n) > 0,
        "row_delta": row_delta,
        "from_code": pd.Index(values).get_indexer(original),
    }


def _flip_by_group(f: dict, values, ci: float) -> pd.DataFrame:
    """Share of rows of each original value (and overall) whose decision flips."""
    k = len(values)
    from_code, row_flip, row_delta = f["from_code"], f["row_flip"], f["row_delta"]
    valid = from_code >= 0
    counts = np.bincount(from_code[valid], minlength=k).astype(float)
    flipped = np.bincount(from_code[valid], weights=row_flip[valid], minlength=k)
    delta_sum = np.bincount(from_code[valid], weights=row_delta[valid], minlength=k)
    all_n, all_flipped = np.array([valid.sum()], float), np.array([row_flip[valid].sum()])
    p, lo, hi = _rate_interval(
        np.concatenate([flipped, all_flipped]), np.concatenate([counts, all_n]), ci
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_delta = np.concatenate([delta_sum / counts, [row_delta[valid].mean()]])
    return pd.DataFrame(
        {
            "group": [str(v) for v in values] + ["overall"],
            "n": np.concatenate([counts, all_n]).astype(int),
            "flipped": np.concatenate([flipped, all_flipped]).astype(int),
            "flip_rate": p,
            "lower": lo,
            "upper": hi,
            "mean_score_change": mean_delta,
        }
    )


def _flip_pairs(f: dict, values, positive, ci: float) -> pd.DataFrame:
    """Flip rate from each value to each other one, split into flips to and from ``positive``."""
    k = len(values)
    rep_rows, flip, new, base = f["rep_rows"], f["flip"], f["new"], f["base"]
    from_code = f["from_code"][rep_rows]
    to_code = pd.Index(values).get_indexer(f["alt_values"])
    pair = from_code * k + to_code
    ok = from_code >= 0
    pair_n = np.bincount(pair[ok], minlength=k * k).astype(float)
    pair_flip = np.bincount(pair[ok], weights=flip[ok], minlength=k * k)
    up = (new == positive) & (base[rep_rows] != positive) if positive is not None else flip > 0
    pair_up = np.bincount(pair[ok], weights=up[ok].astype(float), minlength=k * k)
    pp, plo, phi = _rate_interval(pair_flip, pair_n, ci)
    pairs = pd.DataFrame(
        {
            "from": np.repeat([str(v) for v in values], k),
            "to": np.tile([str(v) for v in values], k),
            "n": pair_n.astype(int),
            "flip_rate": pp,
            "lower": plo,
            "upper": phi,
        }
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        pairs["to_positive"] = pair_up / pair_n
    pairs["to_negative"] = pairs["flip_rate"] - pairs["to_positive"]
    return pairs[pairs["from"] != pairs["to"]].reset_index(drop=True)
