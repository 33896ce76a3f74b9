"""``cost_analysis``: expected cost of a classifier's decisions, overall and per group.

One histogram of (group, score bin, label) counts gives every confusion matrix on a grid of
thresholds; bootstrap replicates redraw those counts (Poisson), so intervals cost no model calls.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from raikit._errors import DataError, ParameterError
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
from raikit.evaluate._evaluate import _binary_labels, _families, _histogram
from raikit.metrics._stats import percentile_bounds

__all__ = ["CostResult", "cost_analysis"]

CELLS = ("tn", "fp", "fn", "tp")


def _cost_vector(cost_matrix) -> np.ndarray:
    """Costs of (tn, fp, fn, tp) from a dict or a 2x2 matrix [[tn, fp], [fn, tp]]."""
    if isinstance(cost_matrix, Mapping):
        unknown = set(cost_matrix) - set(CELLS)
        if unknown:
            raise ParameterError(
                f"cost_analysis(): cost_matrix has unknown key(s) {sorted(unknown)}; use 'tn', "
                f"'fp', 'fn', 'tp'."
            )
        values = np.array([float(cost_matrix.get(c, 0.0)) for c in CELLS])
    else:
        array = np.asarray(cost_matrix, dtype=float)
        if array.shape != (2, 2):
            raise ParameterError(
                f"cost_analysis(): cost_matrix must be 2x2 [[cost TN, cost FP], [cost FN, cost "
                f"TP]] (rows: true label, columns: decision), got shape {array.shape}."
            )
        values = array.ravel()
    if not np.isfinite(values).all():
        raise ParameterError(
            f"cost_analysis(): cost_matrix must hold finite numbers, got {values.tolist()}."
        )
    return values


@dataclass(frozen=True, eq=False)
class CostResult(Result):
    """Expected cost per row against the decision threshold, overall and per group.

    Attributes
    ----------
    curve : DataFrame
        ``attribute``, ``group``, ``threshold``, ``expected_cost`` with bootstrap ``lower`` and
        ``upper``.
    optimum : DataFrame
        Per (attribute, group): the cost-minimising ``threshold`` (with its bootstrap interval),
        its ``expected_cost`` (with interval), and the cost at ``default_threshold``.
    per_group_thresholds : DataFrame
        Per attribute: overall expected cost when each group gets its own cost-minimising threshold,
        against one global threshold.
    cost_matrix : dict
        Cost of each cell: ``tn``, ``fp``, ``fn``, ``tp``.
    ci : float or None
    findings : tuple of Finding
    pos_label : object
        The positive label (decided when ``score >= threshold``; ``tp`` and ``fn`` are its rows).

    See Also
    --------
    cost_analysis : computes it.

    Examples
    --------
    >>> import pandas as pd
    >>> from raikit import Dataset
    >>> from raikit.evaluate import cost_analysis
    >>> frame = pd.DataFrame({"s": list("aabb"), "y": [1, 0, 1, 0], "p": [0.9, 0.6, 0.4, 0.1]})
    >>> ds = Dataset(frame, target="y", sensitive="s", score="p")
    >>> r = cost_analysis(None, ds, cost_matrix={"fp": 1, "fn": 5}, thresholds=[0.3, 0.7], ci=None)
    >>> r.cost_matrix["fn"], r.optimum["threshold"].tolist()
    (5.0, [0.3, 0.7, 0.3])
    """

    curve: pd.DataFrame
    optimum: pd.DataFrame
    per_group_thresholds: pd.DataFrame
    cost_matrix: dict
    ci: float | None
    findings: tuple = field(default_factory=tuple)
    pos_label: object = None

    @property
    def summary(self) -> str:
        row = self.optimum.iloc[0]
        return (
            f"Expected cost per row {row['expected_cost']:.4f} at the cost-minimising threshold "
            f"{row['threshold']:.2f} vs {row['default_cost']:.4f} at {row['default_threshold']:g} "
            f"(positive label {self.pos_label!r}); {len(self.optimum) - 1} group(s) analysed."
        )

    def figures(self) -> list:
        import plotly.graph_objects as go

        from raikit.evaluate._figures import error_bars

        curve_fig = go.Figure()
        for (attribute, group), part in self.curve.groupby(["attribute", "group"], sort=False):
            name = "overall" if attribute == "overall" else f"{attribute}: {group}"
            curve_fig.add_trace(
                go.Scatter(
                    x=part["threshold"],
                    y=part["expected_cost"],
                    mode="lines",
                    name=name,
                    legendgroup=attribute,
                    error_y={
                        **(error_bars(part["expected_cost"], part["lower"], part["upper"]) or {}),
                        "thickness": 0.6,
                        "width": 0,
                    }
                    if self.ci
                    else None,
                )
            )
        ci = f" ({self.ci:.0%} bootstrap CI)" if self.ci else ""
        curve_fig.update_layout(
            title=f"Expected cost per row against the threshold{ci}",
            xaxis_title="decision threshold on the score",
            yaxis_title="expected cost per row",
        )
        opt = self.optimum
        bar = go.Figure(
            go.Bar(
                x=opt["threshold"],
                y=opt["attribute"] + ": " + opt["group"].astype(str),
                orientation="h",
                error_x=error_bars(
                    opt["threshold"], opt["threshold_lower"], opt["threshold_upper"]
                ),
                name="cost-minimising threshold",
            )
        )
        bar.update_layout(
            title=f"Cost-minimising threshold per group{ci}",
            yaxis={"autorange": "reversed"},
            height=max(280, 24 * len(opt) + 120),
        )
        cost = go.Figure()
        cost.add_trace(
            go.Bar(
                x=opt["expected_cost"],
                y=opt["attribute"] + ": " + opt["group"].astype(str),
                orientation="h",
                name="at its optimum",
                error_x=error_bars(opt["expected_cost"], opt["lower"], opt["upper"]),
            )
        )
        cost.add_trace(
            go.Bar(
                x=opt["default_cost"],
                y=opt["attribute"] + ": " + opt["group"].astype(str),
                orientation="h",
                name="at the default threshold",
                error_x=error_bars(opt["default_cost"], opt["default_lower"], opt["default_upper"]),
            )
        )
        cost.update_layout(
            title=f"Expected cost per row by group{ci}",
            barmode="group",
            yaxis={"autorange": "reversed"},
            height=max(280, 40 * len(opt) + 120),
        )
        return [curve_fig, bar, cost]


@recorded("evaluate.cost_analysis")
@validate_params(
    default_threshold=Interval(float, 0, 1),
    ci=[CI, None],
    n_boot=Interval(int, 1, None),
    random_state=RANDOM_STATE,
)
def cost_analysis(
    model,
    data,
    *,
    cost_matrix,
    thresholds: Sequence[float] | None = None,
    default_threshold: float = 0.5,
    ci: float | None = 0.95,
    n_boot: int = 1000,
    random_state=None,
    pos_label=None,
    ledger=None,
) -> CostResult:
    """Expected cost of the decisions ``score >= threshold``, overall and per group.

    Parameters
    ----------
    model : fitted classifier with ``predict_proba``, or None
        With ``None`` the Dataset's ``score`` column is used.
    data : Dataset
        Labelled data with a binary target.
    cost_matrix : dict or 2x2 array
        ``{"fp": 1, "fn": 5}`` (missing cells cost 0), or ``[[tn, fp], [fn, tp]]`` with rows the
        true label and columns the decision, as in scikit-learn's ``confusion_matrix``.
    thresholds : list of float, optional
        Thresholds to scan (default: 0, 0.01, ..., 1).
    default_threshold : float, default 0.5
        The threshold to compare with.
    ci : float or None, default 0.95
        Confidence level of the bootstrap intervals; ``None`` computes no intervals.
    n_boot : int, default 1000
        Bootstrap replicates (Poisson redraws of the histogram: no model calls).
    random_state : int, Generator or None, default None
        Seed of the bootstrap; ``None`` draws a fresh seed, recorded in the ledger.
    pos_label : optional
        The positive label: the model's score is its probability, and ``tp``/``fn`` are its rows.
        Inferred only for 0/1, False/True and -1/1 labels; other labels need it.
    ledger : raikit.ledger.Ledger or path, optional
        Record the result as evidence (inside :func:`raikit.track` it is recorded anyway).

    Returns
    -------
    CostResult

    Raises
    ------
    ParameterError
        A bad ``cost_matrix``, ``thresholds``, ``default_threshold``, ``ci`` or ``n_boot``.
    DataError
        No scores (a model without ``predict_proba`` and no ``score`` column), missing scores.

    See Also
    --------
    raikit.evaluate.evaluate : metrics per threshold and group.

    Examples
    --------
    >>> import pandas as pd
    >>> from raikit import Dataset
    >>> frame = pd.DataFrame({"s": list("aabb"), "y": [1, 0, 1, 0], "p": [0.9, 0.6, 0.4, 0.1]})
    >>> ds = Dataset(frame, target="y", sensitive="s", score="p")
    >>> r = cost_analysis(None, ds, cost_matrix={"fp": 1, "fn": 1}, thresholds=[0.3, 0.7], ci=None)
    >>> r.optimum[["group", "threshold", "expected_cost"]]
         group  threshold  expected_cost
    0  overall        0.3           0.25
    1        a        0.7           0.00
    2        b        0.3           0.00
    """
    costs = _cost_vector(cost_matrix)
    ds = check_dataset(data, need=["target"], caller="cost_analysis")
    if model is not None and not hasattr(model, "predict_proba"):
        raise ParameterError(
            f"cost_analysis(): model needs predict_proba for scores, but "
            f"{type(model).__name__} has none; "
            f"pass a Dataset with score= and model=None."
        )
    y01, positive, _ = _binary_labels(ds, model, pos_label)
    if model is not None:
        ds = ds.with_predictions(model, pos_label=positive)
    if ds.score is None:
        raise DataError("cost_analysis needs scores: a model with predict_proba or score=column.")
    score = ds.y_score.to_numpy(dtype=float)
    if np.isnan(score).any():
        raise DataError(f"The score column {ds.score!r} has missing values.")
    grid = _threshold_grid(thresholds, default_threshold)
    slice_attr, slice_group, codes, n_slices = _families(ds)
    bins = np.searchsorted(grid, score, side="right")  # score >= t_j  <=>  bins >= j + 1
    counts = _histogram(codes, n_slices, bins, len(grid) + 1, y01)  # (S, T+1, 2)
    point = _cost_curves(counts, costs)  # (S, T)
    best = np.argmin(point, axis=1)
    default_j = int(np.searchsorted(grid, default_threshold))
    bands = _bootstrap(counts, costs, grid, ci, n_boot, random_state)
    n_rows = counts.sum(axis=(1, 2)).astype(np.int64)
    curve = pd.DataFrame(
        {
            "attribute": np.repeat(slice_attr, len(grid)),
            "group": np.repeat(slice_group, len(grid)),
            "threshold": np.tile(grid, n_slices),
            "expected_cost": point.ravel(),
            "lower": bands["lower"].ravel(),
            "upper": bands["upper"].ravel(),
        }
    )
    optimum = _optimum_table(
        slice_attr, slice_group, n_rows, grid, point, best, default_j, default_threshold, bands
    )
    return CostResult(
        curve=curve,
        optimum=optimum,
        per_group_thresholds=_per_group_savings(slice_attr, n_rows, grid, point, best),
        cost_matrix=dict(zip(CELLS, costs.tolist(), strict=True)),
        ci=ci,
        findings=tuple(_findings(optimum, grid, point, best, default_j, default_threshold, ci)),
        pos_label=positive,
    )


def _threshold_grid(thresholds, default_threshold: float) -> np.ndarray:
    """The sorted thresholds to scan, the default one included."""
    grid = np.linspace(0, 1, 101) if thresholds is None else np.asarray(thresholds, dtype=float)
    if grid.ndim != 1 or len(grid) == 0 or not np.isfinite(grid).all():
        raise ParameterError(
            f"cost_analysis(): thresholds must be a non-empty list of finite numbers; got "
            f"{thresholds!r}."
        )
    return np.unique(np.append(grid, default_threshold))


def _cost_curves(c: np.ndarray, costs: np.ndarray) -> np.ndarray:
    """Expected cost per row at every threshold, from (…, S, T+1, 2) score-bin counts."""
    above = c[..., ::-1, :].cumsum(axis=-2)[..., ::-1, :][..., 1:, :]  # (…, S, T, 2)
    total = c.sum(axis=-2, keepdims=True)  # (…, S, 1, 2)
    fp, tp = above[..., 0], above[..., 1]
    tn, fn = total[..., 0] - fp, total[..., 1] - tp
    n = total.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (costs[0] * tn + costs[1] * fp + costs[2] * fn + costs[3] * tp) / n


def _bootstrap(counts, costs, grid, ci, n_boot, random_state) -> dict:
    """Percentile bands of the cost curves and of each slice's optimum (threshold and cost).

    Replicates are Poisson redraws of the histogram, in chunks that bound the memory.
    """
    n_slices = counts.shape[0]
    nan_curve = np.full((n_slices, len(grid)), np.nan)
    nan_slice = np.full(n_slices, np.nan)
    if ci is None:
        return {
            "lower": nan_curve,
            "upper": nan_curve,
            "t_low": nan_slice,
            "t_high": nan_slice,
            "c_low": nan_slice,
            "c_high": nan_slice,
        }
    rng = rng_from(random_state)
    chunk = max(1, min(n_boot, 2_000_000 // counts.size))
    reps, best_t, best_c = [], [], []
    for start in range(0, n_boot, chunk):  # loop over replicate chunks
        b = min(chunk, n_boot - start)
        rep = _cost_curves(rng.poisson(counts, size=(b, *counts.shape)).astype(float), costs)
        reps.append(rep)
        arg = np.nanargmin(np.where(np.isnan(rep), np.inf, rep), axis=-1)
        best_t.append(grid[arg])
        best_c.append(np.take_along_axis(rep, arg[..., None], axis=-1)[..., 0])
    lower, upper = percentile_bounds(np.concatenate(reps), ci)
    t_low, t_high = percentile_bounds(np.concatenate(best_t), ci)
    c_low, c_high = percentile_bounds(np.concatenate(best_c), ci)
    return {
        "lower": lower,
        "upper": upper,
        "t_low": t_low,
        "t_high": t_high,
        "c_low": c_low,
        "c_high": c_high,
    }


def _optimum_table(
    slice_attr, slice_group, n_rows, grid, point, best, default_j, default_threshold, bands
) -> pd.DataFrame:
    rows = np.arange(len(n_rows))
    optimum = pd.DataFrame(
        {
            "attribute": slice_attr,
            "group": slice_group,
            "n": n_rows,
            "threshold": grid[best],
            "threshold_lower": bands["t_low"],
            "threshold_upper": bands["t_high"],
            "expected_cost": point[rows, best],
            "lower": bands["c_low"],
            "upper": bands["c_high"],
            "default_threshold": default_threshold,
            "default_cost": point[:, default_j],
            "default_lower": bands["lower"][:, default_j],
            "default_upper": bands["upper"][:, default_j],
        }
    )
    return optimum[optimum["n"] > 0].reset_index(drop=True)


def _per_group_savings(slice_attr, n_rows, grid, point, best) -> pd.DataFrame:
    """One global threshold vs one threshold per group, for each attribute."""
    per_group = []
    total_n = n_rows[0]
    global_cost = point[0, best[0]]
    for attribute in pd.unique(np.asarray(slice_attr[1:])):  # loop over attributes
        members = (np.asarray(slice_attr) == attribute) & (n_rows > 0)
        own = float(np.sum(point[members, best[members]] * n_rows[members]) / total_n)
        per_group.append(
            {
                "attribute": attribute,
                "global_threshold": grid[best[0]],
                "global_cost": global_cost,
                "per_group_cost": own,
                "saving": global_cost - own,
            }
        )
    return pd.DataFrame(per_group)


def _findings(optimum, grid, point, best, default_j, default_threshold, ci) -> list:
    findings = [
        Finding(
            "info",
            "Cost-minimising threshold",
            f"Threshold {grid[best[0]]:.2f} gives expected cost {point[0, best[0]]:.4f} per row, "
            f"against {point[0, default_j]:.4f} at {default_threshold:g}.",
        )
    ]
    if ci is None:
        return findings
    groups = optimum.iloc[1:]
    overall_t = grid[best[0]]
    off = groups[(groups["threshold_lower"] > overall_t) | (groups["threshold_upper"] < overall_t)]
    for row in off.itertuples(index=False):  # groups whose optimum differs (a few)
        findings.append(
            Finding(
                "warning",
                f"Different cost-minimising threshold for {row.attribute}={row.group}",
                f"{row.threshold:.2f} ({ci:.0%} CI {row.threshold_lower:.2f} to "
                f"{row.threshold_upper:.2f}) vs {overall_t:.2f} overall: one threshold for "
                f"everyone costs this group more.",
                slice=f"{row.attribute}={row.group}",
            )
        )
    return findings
