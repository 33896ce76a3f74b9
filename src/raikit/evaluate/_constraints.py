"""``verify_constraints``: does a fitted model keep its declared shape constraints?

Along each sampled row's ICE curve (the row with only the constrained feature changed), find the
pairs of values that break the declared order, refine between grid points where the curve comes
closest to breaking it, and report the share of rows that violate with the worst example.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from raikit._errors import ParameterError
from raikit._recording import recorded
from raikit._result import Finding, Result
from raikit._shape import MONOTONE, ShapeConstraints, as_constraints
from raikit._validation import CI, RANDOM_STATE, Interval, check_dataset, validate_params
from raikit.explain._common import predict_along
from raikit.metrics._stats import MIN_GROUP_SIZE, wilson_interval

__all__ = ["ConstraintResult", "verify_constraints"]

_COLUMNS = [
    "feature",
    "constraint",
    "status",
    "n_rows",
    "n_violating",
    "share",
    "lower",
    "upper",
    "worst_violation",
    "worst_row",
    "value_from",
    "value_to",
    "value_mid",
    "prediction_from",
    "prediction_to",
    "prediction_mid",
    "evaluations",
]


@dataclass(frozen=True, eq=False)
class ConstraintResult(Result):
    """Declared shape constraints checked against a fitted model's predictions.

    Attributes
    ----------
    table : DataFrame
        One row per constrained feature: ``constraint``; ``status`` ("satisfied", "violated",
        "not assessable" or "not an input"); ``n_rows`` checked, ``n_violating`` and the
        (sample-weighted) ``share`` of rows whose curve breaks the constraint, with a Wilson
        interval ``lower``/``upper`` at level ``meta["ci"]``; ``worst_violation`` (the largest
        break, in units of the output: a drop for "increasing", a rise for "decreasing", the
        gap to the chord for concave/convex, the change for "must_not_use"); the worst example:
        ``worst_row`` (the row's index label in the data), ``value_from``/``value_to`` (the
        two values of the feature; ``value_mid`` the middle one for curvature) and the
        predictions there; ``evaluations`` (predictions made for the feature).
    meta : dict
        ``output``, ``constraints``, ``n_rows`` (checked), ``population``, ``sampling`` (the
        per-stratum record of :meth:`raikit.Dataset.sample` when the rows checked are a sample,
        else None), ``atol``, ``grid_resolution``, ``refine``, ``ci``.
    findings : tuple of Finding
        An error per violated constraint (with its worst example), a warning per constraint
        that could not be assessed.

    See Also
    --------
    raikit.evaluate.verify_constraints : computes it.
    raikit.train.fit_constrained : trains a model that keeps the constraints.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sklearn.linear_model import LinearRegression
    >>> from raikit import Dataset
    >>> from raikit.evaluate import verify_constraints
    >>> rng = np.random.default_rng(0)
    >>> frame = pd.DataFrame({"income": rng.uniform(0, 10, 100), "age": rng.uniform(20, 70, 100),
    ...                       "sex": rng.choice(["F", "M"], 100)})
    >>> frame["y"] = frame["income"] - 0.1 * frame["age"]
    >>> model = LinearRegression().fit(frame[["income", "age"]], frame["y"])
    >>> ds = Dataset(frame, target="y", sensitive=["sex"], features=["income", "age"])
    >>> result = verify_constraints(model, ds, random_state=0,
    ...                             constraints={"income": "increasing", "age": "increasing"})
    >>> result.table[["feature", "status", "n_violating"]].values.tolist()
    [['income', 'satisfied', 0], ['age', 'violated', 100]]
    """

    table: pd.DataFrame
    meta: dict = field(default_factory=dict)
    findings: tuple = ()

    @property
    def summary(self) -> str:
        t = self.table
        violated = t[t["status"] == "violated"]
        clause = (
            "no violation found"
            if violated.empty
            else f"{len(violated)} violated ("
            + ", ".join(
                f"{r.feature} {r.constraint}: {r.share:.1%} of rows" for r in violated.itertuples()
            )
            + ")"
        )
        open_ = int((t["status"] == "not assessable").sum())
        note = ""
        if self.meta.get("sampling") is not None:
            from raikit._sampling import sampling_note

            note = f" ({sampling_note(self.meta['n_rows'], self.meta['population'])})"
        return (
            f"Shape constraints on {len(t)} feature(s), checked along ICE curves of "
            f"{self.meta['n_rows']:,} rows{note}: {clause}"
            + (f"; {open_} not assessable" if open_ else "")
            + "."
        )

    def figures(self) -> list:
        import plotly.graph_objects as go

        from raikit._plots import error_bars

        t = self.table[self.table["share"].notna()]
        fig = go.Figure(
            go.Bar(
                x=t["feature"] + " (" + t["constraint"].str.replace("_", " ") + ")",
                y=t["share"],
                error_y=error_bars(t["share"], t["lower"], t["upper"]),
            )
        )
        fig.update_layout(
            title=f"Share of rows that break each shape constraint ({self.meta['ci']:.0%} CI)",
            yaxis_title="share of rows",
        )
        return [fig]


def _predictor(model, pos_label):
    """``(predict(frame) -> 1-D array, output name)``: the positive-class probability of a
    classifier (``pos_label`` needed unless 0/1, False/True, -1/1), else ``predict``."""
    from raikit.metrics._group_metrics import _label_list, positive_column

    classes = getattr(model, "classes_", None)
    if hasattr(model, "predict_proba") and classes is not None and len(classes) >= 2:
        if len(classes) > 2 and pos_label is None:
            raise ParameterError(
                "verify_constraints(): the model has more than two classes; pass pos_label= "
                "to name the class whose probability must keep the constraints."
            )
        column = positive_column(classes, pos_label)
        label = _label_list(classes)[column]
        return (
            lambda frame: np.asarray(model.predict_proba(frame))[:, column],
            f"probability of {label!r}",
        )
    return lambda frame: np.asarray(model.predict(frame), dtype=float), "prediction"


def _grid(column: pd.Series, resolution: int):
    """Values to vary a feature over: quantiles from minimum to maximum of a numeric column
    (integers stay integers), the most frequent values of any other."""
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column):
        x = column.dropna().to_numpy(dtype=float)
        if len(x) == 0:
            return np.array([])
        grid = np.quantile(x, np.linspace(0, 1, resolution))
        if pd.api.types.is_integer_dtype(column.dtype):
            grid = np.round(grid)
        return np.unique(grid)
    return np.asarray(column.value_counts(dropna=True).index[:resolution], dtype=object)


def _curves(predict, X: pd.DataFrame, feature: str, values) -> np.ndarray:
    """Each row's predictions along ``values`` (see :func:`raikit.explain._common.predict_along`)."""
    return predict_along(predict, X, feature, values, caller="verify_constraints()")


def _monotone(predict, X, feature, grid, sign: int, refine: int):
    """``(values, predictions)`` along each row's curve, refined inside the segment where the
    curve falls most against ``sign`` (or rises least), sorted by value."""
    P = _curves(predict, X, feature, grid)
    if refine == 0 or len(grid) < 2:
        return np.broadcast_to(grid, P.shape), P
    segment = np.argmin(np.diff(sign * P, axis=1), axis=1)
    t = np.linspace(0, 1, refine + 2)[1:-1]
    low, high = grid[segment][:, None], grid[segment + 1][:, None]
    inner = low + t[None, :] * (high - low)
    if pd.api.types.is_integer_dtype(X[feature].dtype):
        inner = np.round(inner)
    values = np.concatenate([np.broadcast_to(grid, P.shape), inner], axis=1)
    predictions = np.concatenate([P, _curves(predict, X, feature, inner)], axis=1)
    order = np.argsort(values, axis=1, kind="stable")
    return np.take_along_axis(values, order, 1), np.take_along_axis(predictions, order, 1)


def _worst_drop(values, predictions, sign: int):
    """Per row: the largest fall of ``sign * prediction`` from an earlier (smaller) value to a
    later one, and the positions ``(i, j)`` of that pair."""
    S = sign * predictions
    drop = np.maximum.accumulate(S, axis=1) - S
    j = np.argmax(drop, axis=1)
    later = np.arange(S.shape[1])[None, :] > j[:, None]
    i = np.argmax(np.where(later, -np.inf, S), axis=1)
    return drop[np.arange(len(S)), j], i, j


def _chord_gap(grid, P, shape: str):
    """Per row: the largest distance by which the curve passes on the wrong side of the chord
    between two neighbouring grid points, and the position of its middle point."""
    if len(grid) < 3:
        return np.zeros(len(P)), np.ones(len(P), dtype=int)
    w = (grid[1:-1] - grid[:-2]) / (grid[2:] - grid[:-2])
    chord = P[:, :-2] + (P[:, 2:] - P[:, :-2]) * w[None, :]
    gap = chord - P[:, 1:-1] if shape == "concave" else P[:, 1:-1] - chord
    k = np.argmax(gap, axis=1)
    return gap[np.arange(len(P)), k], k + 1


def _feature_row(
    feature, shape, size, pairs, values, predictions, weights, index, tol, ci, mid=None
):
    """One row of the table from each sampled row's worst violation ``size`` and pair positions."""
    n = len(size)
    violating = size > tol
    n_eff = weights.sum() ** 2 / (weights**2).sum()
    share = float(weights[violating].sum() / weights.sum())
    lower, upper = wilson_interval(share * n_eff, n_eff, ci=ci)
    worst = int(np.argmax(size))
    i, j = pairs[0][worst], pairs[1][worst]
    row = dict.fromkeys(_COLUMNS)
    row.update(
        feature=feature,
        constraint=shape,
        status="not assessable"
        if n < MIN_GROUP_SIZE
        else ("violated" if violating.any() else "satisfied"),
        n_rows=n,
        n_violating=int(violating.sum()),
        share=share,
        lower=float(lower),
        upper=float(upper),
        worst_violation=float(max(size[worst], 0.0)),
        evaluations=int(predictions.size),
    )
    if violating.any():
        row.update(
            worst_row=str(index[worst]),
            value_from=_plain(values[worst, i]),
            value_to=_plain(values[worst, j]),
            prediction_from=float(predictions[worst, i]),
            prediction_to=float(predictions[worst, j]),
        )
        if mid is not None:
            row.update(
                value_mid=_plain(values[worst, mid[worst]]),
                prediction_mid=float(predictions[worst, mid[worst]]),
            )
    return row


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def _ones(weights, X) -> np.ndarray:
    return np.ones(len(X)) if weights is None else weights


def _check_feature(predict, X, ds, feature, shape, weights, settings) -> dict:
    """The table row of one constrained feature (its grid spans every row of ``ds``)."""
    tol, ci, index = settings["atol"], settings["ci"], settings["index"]
    dtype = ds.dtypes[feature]
    numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    if shape != "must_not_use" and not numeric:
        raise ParameterError(
            f"verify_constraints(): {feature!r} is categorical; only a numeric feature can be "
            f"declared {shape} (a category has no order)."
        )
    if feature not in X.columns:
        row = dict.fromkeys(_COLUMNS)
        row.update(
            feature=feature,
            constraint=shape,
            status="not an input",
            n_rows=len(X),
            n_violating=0,
            worst_violation=0.0,
            evaluations=0,
        )
        return row
    grid = _feature_grid(ds, feature, settings["grid_resolution"])
    if shape in MONOTONE:
        values, P = _monotone(predict, X, feature, grid, MONOTONE[shape], settings["refine"])
        size, i, j = _worst_drop(values, P, MONOTONE[shape])
        return _feature_row(feature, shape, size, (i, j), values, P, weights, index, tol, ci)
    P = _curves(predict, X, feature, grid)
    values = np.broadcast_to(grid, P.shape)
    if shape == "must_not_use":
        i, j = np.argmin(P, axis=1), np.argmax(P, axis=1)
        size = P.max(axis=1) - P.min(axis=1)
        return _feature_row(feature, shape, size, (i, j), values, P, weights, index, tol, ci)
    size, mid = _chord_gap(grid, P, shape)
    return _feature_row(
        feature, shape, size, (mid - 1, mid + 1), values, P, weights, index, tol, ci, mid=mid
    )


def _input_names(model, ds) -> list[str]:
    """The model's inputs among ``ds``'s columns: its own input columns when it names them (a
    model trained without a must-not-use feature is checked on data that still has it)."""
    from raikit._features import model_feature_names

    names = model_feature_names(model)
    if names is not None and set(names) <= set(map(str, ds.columns)):
        return list(names)
    return list(ds.for_model(model).feature_names)


def _feature_grid(ds, feature: str, resolution: int):
    """The grid of :func:`_grid` over every row of ``ds``: from the column in memory, else from
    exact quantiles (or value counts) computed where the rows live."""
    if ds._cache is not None:
        return _grid(ds.frame[feature], resolution)
    dtype = ds.dtypes[feature]
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        values = ds.quantiles(feature, np.linspace(0, 1, resolution))["value"].to_numpy(float)
        if np.isnan(values).all():
            return np.array([])
        if pd.api.types.is_integer_dtype(dtype):
            values = np.round(values)
        return np.unique(values)
    counts = ds.aggregate(by=feature, stats={"__n": (None, "count")})
    key = counts.attrs["keys"][feature]
    counts = counts[counts[key].notna()].sort_values("__n", ascending=False, kind="stable")
    return np.asarray(counts[key].iloc[:resolution], dtype=object)


def _findings(table: pd.DataFrame, output: str) -> tuple:
    found = []
    for r in table.itertuples(index=False):
        what = f"{r.feature} ({r.constraint.replace('_', ' ')})"
        if r.status == "not assessable":
            found.append(
                Finding(
                    "warning",
                    f"Shape constraint not assessable: {what}",
                    f"only {r.n_rows} row(s) could be checked (fewer than {MIN_GROUP_SIZE}); "
                    "pass more data.",
                )
            )
        elif r.status == "violated":
            mid = (
                f" through {r.feature}={r.value_mid} ({r.prediction_mid:.4f})"
                if pd.notna(r.value_mid)
                else ""
            )
            found.append(
                Finding(
                    "error",
                    f"Shape constraint violated: {what}",
                    f"{r.n_violating} of {r.n_rows} rows ({r.share:.1%}, CI {r.lower:.1%} to "
                    f"{r.upper:.1%}) break it. Worst: row {r.worst_row}, {r.feature} from "
                    f"{r.value_from} to {r.value_to}{mid} moves the {output} from "
                    f"{r.prediction_from:.4f} to {r.prediction_to:.4f} "
                    f"(violation {r.worst_violation:.4f}).",
                )
            )
    return tuple(found)


@recorded("evaluate.verify_constraints")
@validate_params(
    constraints=[ShapeConstraints, dict],
    grid_resolution=Interval(int, 3, None),
    refine=Interval(int, 0, None),
    max_rows=[Interval(int, 1, None), None],
    atol=Interval(float, 0, None),
    ci=CI,
    random_state=RANDOM_STATE,
)
def verify_constraints(
    model,
    data,
    *,
    constraints,
    grid_resolution: int = 20,
    refine: int = 8,
    max_rows: int | None = 1000,
    atol: float = 1e-6,
    pos_label=None,
    ci: float = 0.95,
    random_state=None,
    ledger=None,
) -> ConstraintResult:
    """Check a fitted model (constrained in training or not) against declared shape constraints.

    For each constrained feature, every checked row is predicted with only that feature changed,
    along a grid from the feature's minimum to its maximum in ``data`` (one stacked prediction
    call per feature): the row's ICE curve. A row violates

    - ``increasing``/``decreasing``: when a larger value of the feature gives a lower (higher)
      prediction than a smaller one, by more than ``atol``; the targeted search then adds
      ``refine`` values inside the grid segment where each row's curve falls most (or rises
      least), where a dip between grid points would hide;
    - ``concave``/``convex``: when the curve passes below (above) the chord of two neighbouring
      grid points at the point between them, by more than ``atol`` (on the grid);
    - ``must_not_use``: when changing the feature changes the prediction by more than
      ``atol`` (a feature the model does not take as input cannot: "not an input").

    Parameters
    ----------
    model : fitted estimator
        A binary classifier's probability of the positive label is checked, a regressor's
        prediction; a multiclass classifier needs ``pos_label`` (the class checked).
    data : Dataset
        Rows to check (no target needed) and the range of each feature.
    constraints : ShapeConstraints or dict
        Feature -> ``"increasing"``, ``"decreasing"``, ``"concave"``, ``"convex"`` or
        ``"must_not_use"`` (see :class:`raikit.train.ShapeConstraints`).
    grid_resolution : int, default 20
        Quantiles of each numeric feature on the grid (minimum and maximum included).
    refine : int, default 8
        Extra values per row in its worst grid segment (monotone constraints; 0: none).
    max_rows : int or None, default 1000
        Rows checked: a sample stratified by sensitive group and reweighted (None: all),
        recorded in ``meta["sampling"]`` and said in the summary. A lazy Dataset (files, Spark)
        is sampled where its rows live and only the sample is loaded; the grid still spans
        every row (exact quantiles computed where they live), and ``worst_row`` is then the
        row's position in the sample.
    atol : float, default 1e-6
        Changes of the output up to this size are not violations (rounding).
    pos_label : optional
        The class whose probability is checked (needed unless 0/1, False/True, -1/1).
    ci : float, default 0.95
        Level of the Wilson interval of the share of violating rows.
    random_state : int, Generator or None, default None
        Seed of the row sample; ``None`` draws a fresh seed, recorded in the ledger.
    ledger : raikit.ledger.Ledger or path, optional
        Record the result as evidence (inside :func:`raikit.track` it is recorded anyway).

    Returns
    -------
    ConstraintResult
        Per feature: the share of rows that violate, with its interval, and the worst example.
        With fewer than 30 rows checked a constraint is "not assessable", never "satisfied".

    Raises
    ------
    ParameterError
        A bad shape or argument; a categorical feature declared monotone, concave or convex.
    ColumnError
        A constrained feature that is not a column of ``data`` (the message lists them).

    See Also
    --------
    raikit.evaluate.ConstraintResult : the result, one row per constrained feature.
    raikit.train.ShapeConstraints : the declared shapes.
    raikit.train.fit_constrained : trains a model that keeps them.
    raikit.explain.partial_dependence : the averaged curves behind the ICE curves checked here.

    Examples
    --------
    >>> from sklearn.ensemble import HistGradientBoostingClassifier
    >>> from raikit.evaluate import verify_constraints
    >>> from raikit.datasets import load_german_credit
    >>> ds = load_german_credit().replace(features=["duration_months", "credit_amount", "age"])
    >>> free = HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(ds.X, ds.y)
    >>> r = verify_constraints(free, ds, constraints={"duration_months": "decreasing"},
    ...                        max_rows=200, random_state=0)
    >>> r.table.loc[0, "status"]
    'violated'
    >>> kept = HistGradientBoostingClassifier(max_iter=30, random_state=0,
    ...                                       monotonic_cst={"duration_months": -1})
    >>> kept = kept.fit(ds.X, ds.y)
    >>> verify_constraints(kept, ds, constraints={"duration_months": "decreasing"},
    ...                    max_rows=200, random_state=0).table.loc[0, "n_violating"]
    np.int64(0)
    """
    from raikit._sampling import sample_rows

    ds = check_dataset(data, caller="verify_constraints")
    spec = as_constraints(constraints)
    spec.check_columns(ds.columns)
    inputs = _input_names(model, ds)
    predict, output = _predictor(model, pos_label)
    checked, positions, weights, sampling = sample_rows(
        ds, max_rows, random_state=random_state, purpose="verify_constraints()"
    )
    frame = checked.frame.iloc[positions]  # the checked rows only
    X = frame[inputs].reset_index(drop=True)
    settings = {
        "atol": float(atol),
        "ci": float(ci),
        "grid_resolution": grid_resolution,
        "refine": refine,
        "index": np.asarray(frame.index),
    }
    rows = [
        _check_feature(predict, X, ds, feature, shape, _ones(weights, X), settings)
        for feature, shape in spec.shapes.items()  # one stacked prediction call per feature
    ]
    table = pd.DataFrame(rows, columns=_COLUMNS)
    return ConstraintResult(
        table=table,
        meta={
            "output": output,
            "constraints": spec.to_dict(),
            "n_rows": len(X),
            "population": ds.n_rows,
            "sampling": sampling,
            "atol": float(atol),
            "grid_resolution": grid_resolution,
            "refine": refine,
            "ci": float(ci),
        },
        findings=_findings(table, output),
    )
