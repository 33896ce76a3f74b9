"""``estimate_performance``: accuracy, TPR, FPR and precision per group before labels arrive.

Confidence-based performance estimation (the idea behind NannyML's CBPE, written here per group):
when the scores are calibrated probabilities, a row predicted positive is a true positive with
probability ``p`` and a false positive with probability ``1 - p``, so the expected confusion cells
of a group are sums over its rows, ``E[TP] = sum p`` over predicted positives,
``E[FP] = sum (1 - p)`` over predicted positives, ``E[FN] = sum p`` over predicted negatives and
``E[TN] = sum (1 - p)`` over predicted negatives, and the metrics follow from the cells as the
metrics engine derives them from counted cells.

The scores are calibrated on a labelled reference when needed (isotonic regression or Platt
scaling). Intervals hold two sources of uncertainty at once: the calibrator (each replicate refits
it on a Poisson bootstrap of the reference rows; when ``calibrate="auto"`` keeps the raw scores,
each replicate draws every group's calibration correction from that bootstrap instead) and the
labels still to come (each replicate
draws every current row's label as ``Bernoulli(p)``, so a group's realised cells follow their
Poisson-binomial distribution). The interval is therefore meant to contain the value the labelled
data will show, on these rows.

The estimate rests on one assumption that no unlabelled data can check: that the calibration
learnt on the reference still holds for each group of the current data (``P(y | score, group)``
unchanged). Covariate shift and label shift that leave it intact are estimated well; a change in
the relation between score and outcome (concept shift) is not. The check measures what it can:
the calibration on the reference, overall and per group.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from raikit._cli_utils import spell
from raikit._errors import ColumnError, DataError, ParameterError
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
from raikit.metrics._stats import MIN_GROUP_SIZE

__all__ = ["PerformanceEstimateResult", "estimate_performance"]

ESTIMATED = ("accuracy", "true_positive_rate", "false_positive_rate", "precision")
"""Metrics that need labels, estimated from the expected confusion cells."""
METRICS = (*ESTIMATED, "selection_rate")
ECE_LIMIT = 0.05
"""Expected calibration error on the reference above which (and above its noise) a group warns."""
ECE_BINS = 10
_CLIP = 1e-6  # scores are clipped to [_CLIP, 1 - _CLIP] before Platt's logit
_MAX_CELLS = 1_000_000  # replicate x row cells drawn at once (8 MB per array)


# --------------------------------------------------------------------------- calibrators
def _logit(score: np.ndarray) -> np.ndarray:
    s = np.clip(score, _CLIP, 1 - _CLIP)
    return np.log(s / (1 - s))


def _platt_fit(z: np.ndarray, y: np.ndarray, w: np.ndarray, n_iter: int = 50) -> np.ndarray:
    """Platt scaling ``sigmoid(a z + b)`` fitted by Newton's method for every row of ``w`` at once.

    ``w`` holds the reference rows' weights, one replicate per row (shape ``(B, n)``); returns
    ``(B, 2)`` coefficients ``a, b``. A tiny ridge keeps separable data finite.
    """
    coef = np.zeros((w.shape[0], 2))
    coef[:, 0] = 1.0
    ridge = 1e-6 * np.maximum(w.sum(axis=1), 1.0)
    for _ in range(n_iter):  # Newton steps, vectorised over replicates
        eta = coef[:, :1] * z + coef[:, 1:]
        p = 1 / (1 + np.exp(-eta))
        r = w * (p - y)
        h = w * p * (1 - p)
        g = np.stack([(r * z).sum(1) + ridge * coef[:, 0], r.sum(1) + ridge * coef[:, 1]], 1)
        haa = (h * z * z).sum(1) + ridge
        hab = (h * z).sum(1)
        hbb = h.sum(1) + ridge
        det = haa * hbb - hab * hab
        step = np.stack([hbb * g[:, 0] - hab * g[:, 1], haa * g[:, 1] - hab * g[:, 0]], 1)
        coef -= step / det[:, None]
        if np.abs(step / det[:, None]).max() < 1e-10:
            break
    return coef


def _platt_apply(coef: np.ndarray, z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-(coef[:, :1] * z + coef[:, 1:])))


def _isotonic_fit(x_unique: np.ndarray, positives: np.ndarray, totals: np.ndarray):
    """The isotonic (pool-adjacent-violators) fit of weighted rates at the sorted ``x_unique``.

    Returns the knots and their fitted values (points without weight dropped); predictions
    interpolate linearly between knots and are flat beyond them, as scikit-learn's
    ``IsotonicRegression(out_of_bounds="clip")``.
    """
    from sklearn.isotonic import isotonic_regression

    keep = totals > 0
    x, n = x_unique[keep], totals[keep]
    fitted = isotonic_regression(positives[keep] / n, sample_weight=n, y_min=0.0, y_max=1.0)
    return x, fitted


@dataclass(frozen=True)
class _Calibrator:
    """How raw scores become probabilities: ``"none"``, ``"platt"`` or ``"isotonic"``, fitted on
    the reference (and refitted per bootstrap replicate)."""

    method: str
    score: np.ndarray | None = None  # reference scores
    y: np.ndarray | None = None  # reference labels, 0/1
    weight: np.ndarray | None = None  # reference row weights

    def predict(self, current: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """Calibrated probabilities of ``current``: one row per row of ``weights`` (replicates of
        the reference's row weights), or one row fitted on the reference's own weights."""
        if self.method == "none":
            return np.broadcast_to(current, (1 if weights is None else len(weights), len(current)))
        w = self.weight[None, :] if weights is None else weights * self.weight
        if self.method == "platt":
            coef = _platt_fit(_logit(self.score), self.y, w)
            return _platt_apply(coef, _logit(current))
        x_unique, inverse = np.unique(self.score, return_inverse=True)
        k = len(x_unique)
        out = np.empty((len(w), len(current)))
        for b, wb in enumerate(w):  # one pool-adjacent-violators fit per replicate
            totals = np.bincount(inverse, weights=wb, minlength=k)
            positives = np.bincount(inverse, weights=wb * self.y, minlength=k)
            x, fitted = _isotonic_fit(x_unique, positives, totals)
            out[b] = np.interp(current, x, fitted)
        return out


GROUP_BINS = 10
"""Score bins of the per-group calibration correction (equal width), per predicted class."""
GROUP_PRIOR_ROWS = 10.0
"""Pseudo-rows at zero correction in every cell of the per-group calibration correction: a cell
with few reference rows is corrected little (towards the raw scores ``calibrate="auto"`` kept)."""


@dataclass(frozen=True)
class _GroupCorrection:
    """The reference's per-group calibration correction of the raw scores, drawn per replicate.

    When ``calibrate="auto"`` keeps the raw scores (their calibration overall is within noise), a
    group's own calibration may still be off by as much as its noise allows. Each replicate
    draws a Poisson bootstrap of the reference and shifts every current row's score by the mean
    ``y - score`` of its cell on that bootstrap, a cell being (group, predicted class, tenth of
    the score), shrunk towards no correction by ``GROUP_PRIOR_ROWS`` pseudo-rows. The
    predicted class and the score bin are where the confusion cells are decided, so a group whose
    predicted positives are overconfident widens its precision's interval accordingly.
    """

    residual: np.ndarray  # y - score per reference row
    weight: np.ndarray  # reference row weights
    ref_cell: np.ndarray  # cell of each reference row
    cell: np.ndarray  # cell of each current row, -1 for a group the reference lacks
    n_cells: int

    @staticmethod
    def _cells(score, pred, codes) -> np.ndarray:
        bins = np.minimum((score * GROUP_BINS).astype(np.int64), GROUP_BINS - 1)
        return (codes * 2 + pred) * GROUP_BINS + bins

    @classmethod
    def fit(cls, ref, current):
        """Built from the reference and the current data (None when the two name different
        sensitive attributes)."""
        ref_enc, cur_enc = ref["dataset"].group_encoding, current["dataset"].group_encoding
        names = list(ref_enc.names)
        if names != list(cur_enc.names):
            return None
        known = pd.MultiIndex.from_frame(ref_enc.intersection_labels[names].astype(str))
        lookup = known.get_indexer(
            pd.MultiIndex.from_frame(cur_enc.intersection_labels[names].astype(str))
        )
        mapped = lookup[cur_enc.intersection_codes]
        cell = cls._cells(current["score"], current["pred"], np.maximum(mapped, 0))
        return cls(
            residual=ref["y"] - ref["score"],
            weight=ref["weight"],
            ref_cell=cls._cells(ref["score"], ref["pred"], ref_enc.intersection_codes),
            cell=np.where(mapped >= 0, cell, -1),
            n_cells=len(ref_enc.intersection_labels) * 2 * GROUP_BINS,
        )

    def predict(self, current: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Corrected probabilities of the current rows, one row per replicate of the reference's
        bootstrap weights (shape ``(replicates, reference rows)``)."""
        size = len(weights)
        w = weights * self.weight
        index = (np.arange(size)[:, None] * self.n_cells + self.ref_cell).ravel()
        total = np.bincount(index, weights=w.ravel(), minlength=size * self.n_cells)
        gap = np.bincount(index, weights=(w * self.residual).ravel(), minlength=total.size)
        shift = (gap / (total + GROUP_PRIOR_ROWS)).reshape(size, self.n_cells)
        shift = np.concatenate([shift, np.zeros((size, 1))], axis=1)  # cell -1: no correction
        return np.clip(current[None, :] + shift[:, self.cell], 0.0, 1.0)


def _ece(p: np.ndarray, y: np.ndarray, w: np.ndarray, codes: np.ndarray, slices):
    """Expected calibration error per slice (10 equal-width bins of ``p``) and its noise level
    (per group of ``codes`` when ``slices`` is None).

    The noise level is what a perfectly calibrated score would show on as many rows: the expected
    ``|sum (y - p)|`` of a bin is about ``sqrt(2 / pi * sum p (1 - p))``.
    """
    n_groups = int(codes.max()) + 1 if len(codes) else 0
    bins = np.minimum((p * ECE_BINS).astype(np.int64), ECE_BINS - 1)
    key = codes * ECE_BINS + bins
    size = n_groups * ECE_BINS

    def per_slice(values):
        sums = np.bincount(key, weights=values, minlength=size).reshape(n_groups, ECE_BINS)
        return sums if slices is None else slices.aggregate(sums)

    n = per_slice(w)
    gap = np.abs(per_slice(w * y) - per_slice(w * p)).sum(axis=1)
    spread = np.sqrt(2 / np.pi * per_slice(w * w * p * (1 - p))).sum(axis=1)
    total = n.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return gap / total, spread / total, total


# --------------------------------------------------------------------------- the result
@dataclass(frozen=True, eq=False)
class PerformanceEstimateResult(Result):
    """Performance per group estimated without labels, with intervals.

    Attributes
    ----------
    estimates : DataFrame
        Tidy: one row per (``attribute``, ``group``, ``metric``) with ``n`` (rows, or the sum of
        weights), ``estimate``, ``lower`` and ``upper``. ``overall`` first, then every sensitive
        attribute's groups and their intersections. ``accuracy``, ``true_positive_rate``,
        ``false_positive_rate`` and ``precision`` are estimated from calibrated scores;
        ``selection_rate`` needs no labels and is measured (its interval is a Bayesian bootstrap
        of the predictions with a Jeffreys prior, as the metrics engine draws rates).
        When ``data`` has a target, also ``realised`` (the value its labels show, which the
        estimate never sees) and ``covered`` (``realised`` within ``[lower, upper]``; False
        without an interval or a realised value).
    disparities : DataFrame
        Per attribute and metric, the largest between-group difference (``value``, ``lower``,
        ``upper``) among groups with at least ``min_group_size`` rows, and ``n_groups``.
    calibration : DataFrame
        The reference's calibration per (``attribute``, ``group``): ``n_reference``,
        ``ece_raw`` (the scores as given), ``ece`` (after calibration) and ``ece_noise`` (what
        a perfectly calibrated score would show on as many rows). Empty without a reference.
    calibrate : str
        The calibration used: ``"none"``, ``"platt"`` or ``"isotonic"``.
    backtest : DataFrame
        The estimator run on the labelled reference itself, per (``attribute``, ``group``,
        ``metric``): ``n_reference``, ``estimate``, ``realised`` and ``noise`` (the standard
        deviation of the realised value if the calibration held, from Bernoulli draws of the
        reference's labels). A gap well beyond the noise shows a group whose scores are
        miscalibrated where its metric lives (e.g. among its predicted positives, which a
        mass-weighted calibration error hides). Empty without a reference.
    ci : float or None
    findings : tuple of Finding
        Poor calibration on the reference, groups with few reference rows, disparities whose
        interval lies beyond ``tolerance``, and what ``calibrate="auto"`` decided; when ``data``
        has a target, the groups whose realised value falls outside its interval (or one info
        finding that every realised value is covered).
    meta : dict

    See Also
    --------
    estimate_performance : computes it.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from raikit.datasets import make_fairness_synthetic
    >>> from raikit.evaluate import estimate_performance
    >>> train = make_fairness_synthetic(400, random_state=0)
    >>> reference = make_fairness_synthetic(400, random_state=1)
    >>> current = make_fairness_synthetic(400, random_state=2).replace(target=None)
    >>> model = LogisticRegression().fit(train.X, train.y)
    >>> r = estimate_performance(model, current, reference=reference, n_boot=50, random_state=0)
    >>> bool((r.estimates["lower"] <= r.estimates["upper"]).all())
    True
    """

    estimates: pd.DataFrame
    disparities: pd.DataFrame
    calibration: pd.DataFrame
    calibrate: str
    ci: float | None
    findings: tuple = field(default_factory=tuple)
    meta: dict = field(default_factory=dict)
    backtest: pd.DataFrame = field(default_factory=pd.DataFrame)

    def by_group(self, column: str = "estimate") -> pd.DataFrame:
        """One column of ``estimates`` as a wide table: rows ``(attribute, group)``, one
        column per metric.

        Examples
        --------
        >>> import pandas as pd
        >>> from raikit import Dataset
        >>> frame = pd.DataFrame({"s": list("aabb"), "pred": [1, 0, 1, 1],
        ...                       "p": [0.9, 0.2, 0.6, 0.7]})
        >>> ds = Dataset(frame, target=None, sensitive="s", prediction="pred", score="p")
        >>> r = estimate_performance(None, ds, calibrate="none", ci=None)
        >>> round(float(r.by_group().loc[("s", "a"), "accuracy"]), 6)  # (0.9 + 0.8) / 2
        0.85
        """
        rows = self.estimates
        wide = rows.pivot(index=["attribute", "group"], columns="metric", values=column)
        order = pd.MultiIndex.from_frame(rows[["attribute", "group"]].drop_duplicates())
        wide = wide.reindex(order)[[m for m in METRICS if m in wide.columns]]
        wide.columns.name = None
        return wide

    @property
    def summary(self) -> str:
        overall = self.by_group().iloc[0]
        worst = ""
        if len(self.disparities):
            d = self.disparities.dropna(subset=["value"])
            if len(d):
                row = d.loc[d["value"].idxmax()]
                worst = (
                    f"; largest estimated gap: {row['metric'].replace('_', ' ')} across "
                    f"{row['attribute']} {row['value']:.3f}"
                )
        ci = f" ({self.ci:.0%} intervals)" if self.ci else ""
        sampled = ""
        if self.meta.get("sampling") is not None:  # the audit's sample of a lazy test set
            from raikit._sampling import sampling_note

            drawn = int(pd.DataFrame(self.meta["sampling"])["sampled"].sum())
            sampled = f" ({sampling_note(drawn, int(self.meta.get('n_rows_data', 0)))})"
        return (
            f"Estimated without labels on {int(self.meta.get('n_rows', 0)):,} rows{sampled} "
            f"(calibration: {self.calibrate}): accuracy {overall['accuracy']:.3f}, TPR "
            f"{overall['true_positive_rate']:.3f}, FPR {overall['false_positive_rate']:.3f}"
            f"{worst}{ci}; {len(self.findings)} finding(s)."
        )

    def tables(self) -> dict[str, pd.DataFrame]:
        return {
            "estimates by group": self.estimates,
            "disparities": self.disparities,
            "calibration on the reference": self.calibration,
            "estimated vs realised on the reference": self.backtest,
        }

    def figures(self) -> list:
        """Estimates per group with their intervals (one panel of bars per metric), and the
        between-group differences."""
        import plotly.graph_objects as go

        from raikit._plots import error_bars

        rows = self.estimates
        label = np.where(
            rows["attribute"] == "overall",
            "overall",
            rows["attribute"].astype(str) + "=" + rows["group"].astype(str),
        )
        fig = go.Figure()
        for metric in METRICS:  # five traces
            part = rows["metric"] == metric
            fig.add_bar(
                x=label[part.to_numpy()],
                y=rows.loc[part, "estimate"],
                error_y=error_bars(
                    rows.loc[part, "estimate"], rows.loc[part, "lower"], rows.loc[part, "upper"]
                ),
                name=metric.replace("_", " "),
            )
        ci = f", {self.ci:.0%} intervals" if self.ci else ""
        fig.update_layout(
            title=f"Performance per group estimated without labels ({self.calibrate}{ci})",
            barmode="group",
            yaxis={"range": [0, 1]},
        )
        figures = [fig]
        d = self.disparities
        if len(d):
            gap = go.Figure(
                go.Bar(
                    x=d["metric"].str.replace("_", " ") + " (" + d["attribute"] + ")",
                    y=d["value"],
                    error_y=error_bars(d["value"], d["lower"], d["upper"]),
                )
            )
            gap.update_layout(title="Estimated largest difference between groups")
            figures.append(gap)
        if "realised" in rows:  # labels were given: each estimate against what they show
            part = rows["metric"].isin(ESTIMATED).to_numpy()
            shown = rows[part]
            check = go.Figure(
                go.Scatter(
                    x=shown["realised"],
                    y=shown["estimate"],
                    error_y=error_bars(shown["estimate"], shown["lower"], shown["upper"]),
                    mode="markers",
                    marker={"color": np.where(shown["covered"], "#1f77b4", "#d62728")},
                    text=label[part] + ": " + shown["metric"].str.replace("_", " "),
                    hoverinfo="text+x+y",
                    showlegend=False,
                )
            )
            check.add_scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot"},
                              showlegend=False, hoverinfo="skip")  # fmt: skip
            check.update_layout(
                title="Estimated without labels against realised (red: outside its interval)",
                xaxis={"title": "realised (labels hidden from the estimate)", "range": [0, 1]},
                yaxis={"title": "estimated", "range": [0, 1]},
            )
            figures.append(check)
        return figures


# --------------------------------------------------------------------------- the check
@recorded("evaluate.estimate_performance")
@validate_params(
    calibrate=Options("auto", "none", "platt", "isotonic"),
    ci=[CI, None],
    n_boot=Interval(int, 2, None),
    random_state=RANDOM_STATE,
    tolerance=Interval(float, 0, None),
    min_group_size=Interval(int, 1, None),
)
def estimate_performance(
    model,
    data,
    *,
    reference=None,
    calibrate: str = "auto",
    ci: float | None = 0.95,
    n_boot: int = 1000,
    tolerance: float = 0.1,
    min_group_size: int = MIN_GROUP_SIZE,
    random_state=None,
    pos_label=None,
    ledger=None,
) -> PerformanceEstimateResult:
    """Estimate accuracy, TPR, FPR, precision and selection rate per group without labels.

    Confidence-based performance estimation, per group: from calibrated probabilities ``p``
    the expected confusion cells of each group are ``E[TP] = sum p`` and ``E[FP] = sum (1 - p)``
    over its predicted positives, ``E[FN] = sum p`` and ``E[TN] = sum (1 - p)`` over its
    predicted negatives; the metrics and their between-group differences follow from them.
    Groups are every sensitive attribute's groups and their intersections, as in
    :func:`raikit.metrics.group_metrics`.

    The estimate assumes the calibration learnt on the reference still holds in every group of
    ``data`` (covariate shift and label shift keep it; a changed relation between score and
    outcome does not), and no unlabelled data can test that. What can be checked is checked:
    the calibration on the reference, overall and per group.

    Parameters
    ----------
    model : fitted classifier or None
        A binary classifier with ``predict`` and ``predict_proba``. With ``None`` the Datasets'
        ``prediction`` and ``score`` columns are used (without a prediction column, a row is
        predicted positive when its score is at least 0.5).
    data : Dataset
        The unlabelled (or not yet labelled) rows, with sensitive attributes. Its weight role is
        honoured. A target column, if present, is never used to estimate: it only adds the
        realised values beside the estimates (``realised`` and ``covered`` columns) and findings
        where a realised value falls outside its interval, to test the estimate on labelled
        rows before trusting it on unlabelled ones.
    reference : Dataset, optional
        Labelled rows the model was validated on, scored the same way: the calibrator is fitted
        there and the calibration is checked there. Without it the scores are taken as
        calibrated probabilities, unchecked (a finding says so).
    calibrate : {"auto", "none", "platt", "isotonic"}, default "auto"
        How scores become probabilities. ``"auto"`` keeps the raw scores when their expected
        calibration error on the reference is within what sampling noise explains, and otherwise
        fits isotonic regression (1,000 reference rows or more) or Platt scaling (fewer); a
        finding says what it decided and why. When it keeps the raw scores, the intervals still
        draw each group's calibration on the reference (a group can be off by what its own noise
        allows, which the overall check cannot see): each replicate shifts a row's score by the
        mean ``y - score`` of its (group, predicted class, tenth of the score) cell on a
        bootstrap of the reference, shrunk towards no shift by 10 pseudo-rows. ``"none"`` takes
        the raw scores as exact.
    ci : float or None, default 0.95
        Confidence level of the intervals; ``None`` computes no intervals.
    n_boot : int, default 1000
        Bootstrap replicates: each refits the calibrator on a Poisson bootstrap of the reference
        (with ``"auto"`` keeping the raw scores: draws each group's calibration correction from
        it) and draws every current row's label from its calibrated probability.
    tolerance : float, default 0.1
        Largest acceptable between-group difference; a difference whose whole interval is beyond
        it is an error finding.
    min_group_size : int, default 30
        Fewest rows a group needs (in ``data`` and in the reference) to count in a disparity;
        smaller groups are reported, never judged, and flagged.
    random_state : int, Generator or None, default None
        Seed of the bootstrap; ``None`` draws a fresh seed, recorded in the ledger.
    pos_label : optional
        The positive label; needed unless the labels are 0/1, False/True or -1/1.
    ledger : raikit.ledger.Ledger or path, optional
        Record the result as evidence (inside :func:`raikit.track` it is recorded anyway).

    Returns
    -------
    PerformanceEstimateResult

    Raises
    ------
    ParameterError
        A bad argument (``calibrate``, ``ci``, ``n_boot``...), or ``calibrate`` other than
        ``"none"``/``"auto"`` without a reference.
    ColumnError
        ``data`` has no score (and no model gives one), or the reference has no target.
    DataError
        Scores outside [0, 1] or missing, or a reference with one class only.

    See Also
    --------
    raikit.monitor.Monitor : carries these estimates in every window.
    raikit.evaluate.evaluate : the same metrics with labels.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from raikit.datasets import load_german_credit
    >>> from raikit.evaluate import estimate_performance
    >>> ds = load_german_credit().replace(features=["duration_months", "credit_amount", "age"])
    >>> train, current = ds.split(0.5, random_state=0)
    >>> train, reference = train.split(0.5, random_state=0)
    >>> model = LogisticRegression(max_iter=1000).fit(train.X, train.y)
    >>> unlabelled = current.replace(target=None)
    >>> r = estimate_performance(model, unlabelled, reference=reference, n_boot=200,
    ...                          random_state=0)
    >>> r.calibrate in ("none", "platt", "isotonic")
    True
    >>> sorted(r.estimates["metric"].unique())[:2]
    ['accuracy', 'false_positive_rate']
    >>> bool((r.estimates["lower"] <= r.estimates["estimate"]).all())
    True
    """
    current, positive = _scored(model, data, pos_label, name="data")
    ref = None
    if reference is not None:
        ref, _ = _scored(model, reference, positive, name="reference")
    calibrator, decided, findings = _choose_calibrator(ref, positive, calibrate)
    w = current["weight"]
    slices, codes = _slices(current["dataset"])
    p_hat = calibrator.predict(current["score"])[0]
    cells = _expected_cells(p_hat, current["pred"], w, codes, slices)
    rng = rng_from(random_state)
    selected, selected_reps = _selection(current, codes, slices, ci, n_boot, rng)
    values = np.concatenate([_metric_values(cells), selected[:, None]], axis=1)
    replicates = None
    if ci is not None:
        groups = None
        if ref is not None and calibrate == "auto" and decided == "none":
            groups = _GroupCorrection.fit(ref, current)
        replicates = _replicates(calibrator, current, codes, slices, n_boot, rng, groups)
        replicates = np.concatenate([replicates, selected_reps[..., None]], axis=2)
    estimates, n_slice = _estimate_table(values, replicates, slices, cells, ci)
    if current["dataset"].target is not None:
        estimates = _with_realised(estimates, current, positive, codes, slices, selected)
        findings += _coverage_findings(estimates, ci, min_group_size)
    calibration = pd.DataFrame(
        columns=["attribute", "group", "n_reference", "ece_raw", "ece", "ece_noise"]
    )
    backtest = pd.DataFrame(columns=[*_BACKTEST_COLUMNS])
    if ref is not None:
        calibration = _reference_calibration(calibrator, ref, positive)
        findings += _calibration_findings(calibration, decided, min_group_size, slices)
        backtest = _backtest(calibrator, ref, n_boot, rng)
        findings += _backtest_findings(backtest, min_group_size)
    disparities = _disparities(values, replicates, slices, n_slice, calibration, ci, min_group_size)
    findings += _disparity_findings(disparities, ci, tolerance)
    return PerformanceEstimateResult(
        estimates=estimates,
        disparities=disparities,
        calibration=calibration,
        calibrate=decided,
        backtest=backtest,
        ci=ci,
        findings=tuple(findings),
        meta={
            "n_rows": len(p_hat),
            "n_reference": 0 if ref is None else len(ref["score"]),
            "positive_label": positive.item() if hasattr(positive, "item") else positive,
            "n_boot": n_boot,
            "random_state": random_state,
            "tolerance": tolerance,
        },
    )


# --------------------------------------------------------------------------- inputs
def _scored(model, data, pos_label, *, name: str) -> tuple[dict, object]:
    """Scores, predicted positives (0/1), weights and labels of ``data`` (the reference's
    labels as 0/1; ``None`` for the current data), and the positive label."""
    from raikit.metrics._group_metrics import resolve_pos_label

    need = ["target"] if name == "reference" else []
    ds = check_dataset(data, need=need, name=name, caller="estimate_performance")
    if model is not None:
        if not hasattr(model, "predict_proba"):
            raise ParameterError(
                f"estimate_performance(): model must be a fitted classifier with predict_proba, "
                f"got {type(model).__name__}; or pass model=None and Datasets with score= columns."
            )
        ds = ds.with_predictions(model, pos_label=pos_label)
    if ds.score is None:
        fix = spell(
            "name it with Dataset(..., score='column'), or pass a model with predict_proba",
            "name it with --score COLUMN, or pass --model FILE (a model with predict_proba)",
        )
        raise ColumnError(
            f"estimate_performance(): {name} has no score column (the probability of the positive "
            f"label); {fix}."
        )
    score = ds.y_score.to_numpy(dtype=float)
    if not np.isfinite(score).all() or score.min() < 0 or score.max() > 1:
        raise DataError(
            f"estimate_performance(): the score column {ds.score!r} of {name} must hold "
            f"probabilities in [0, 1] without missing values; found values in "
            f"[{np.nanmin(score):g}, {np.nanmax(score):g}]"
            + (" and missing values." if np.isnan(score).any() else ".")
        )
    labels = []
    if model is not None and getattr(model, "classes_", None) is not None:
        labels = list(model.classes_)
    elif ds.prediction is not None:
        labels = list(pd.unique(ds.y_pred.to_numpy()))
    if ds.target is not None and name == "reference":
        labels = list(dict.fromkeys([*labels, *pd.unique(ds.y.to_numpy())]))
    positive = pos_label
    if labels and (pos_label is None or model is not None):
        positive = resolve_pos_label(labels, pos_label)
    if ds.prediction is not None:
        pred = (ds.y_pred.to_numpy() == positive).astype(np.int64)
    else:
        pred = (score >= 0.5).astype(np.int64)
    out = {"dataset": ds, "score": score, "pred": pred, "weight": _weights(ds)}
    if name == "reference":
        y = ds.y.to_numpy()
        out["y"] = (y == positive).astype(float)
        if out["y"].min() == out["y"].max():
            raise DataError(
                f"estimate_performance(): the reference's target has one class only "
                f"({positive!r} is the positive label); a calibrator needs both outcomes."
            )
    return out, positive


def _weights(ds) -> np.ndarray:
    weights = ds.weights
    return np.ones(ds.n_rows) if weights is None else np.asarray(weights, dtype=float)


def _slices(ds):
    """The slices (overall, each attribute's groups, their intersections) and each row's
    intersection-group code, from the Dataset's one group encoding."""
    from raikit.metrics._engine import build_slices

    encoding = ds.group_encoding
    return build_slices(encoding), encoding.intersection_codes


def _choose_calibrator(ref, positive, calibrate: str):
    """The calibrator and what was decided, with the finding that says why."""
    if ref is None:
        if calibrate not in ("auto", "none"):
            fix = spell(
                "pass reference=Dataset(labelled rows, target=..., score=...)",
                "pass --reference FILE (labelled rows) with --target COLUMN",
            )
            raise ParameterError(
                f"estimate_performance(): calibrate={calibrate!r} needs labelled reference rows "
                f"to fit on; {fix}, or calibrate='none'."
            )
        return (
            _Calibrator("none"),
            "none",
            [
                Finding(
                    "warning",
                    "Scores taken as calibrated probabilities, unchecked",
                    "No labelled reference was given, so the calibration of the scores cannot be "
                    "checked or corrected; the estimates are only as good as the scores. Pass "
                    "reference= (labelled rows the model was validated on).",
                )
            ],
        )
    fitted = {"score": ref["score"], "y": ref["y"], "weight": ref["weight"]}
    if calibrate != "auto":
        return _Calibrator(calibrate, **fitted), calibrate, []
    one_group = np.zeros(len(ref["y"]), dtype=np.int64)
    ece, noise, _ = _ece(ref["score"], ref["y"], ref["weight"], one_group, None)
    limit = max(2 * noise[0], 0.01)
    if ece[0] <= limit:
        method = "none"
        why = f"kept the raw scores: their calibration error on the reference, {ece[0]:.3f}, is "
        why += f"within what sampling noise explains ({limit:.3f})"
    else:
        method = "isotonic" if len(ref["y"]) >= 1000 else "platt"
        why = (
            f"fitted {'isotonic regression' if method == 'isotonic' else 'Platt scaling'} on the "
            f"{len(ref['y']):,} reference rows: the raw scores' calibration error there, "
            f"{ece[0]:.3f}, is beyond sampling noise ({limit:.3f})"
        )
    finding = Finding("info", f"Calibration: {method}", f"calibrate='auto' {why}.")
    return _Calibrator(method, **fitted), method, [finding]


# --------------------------------------------------------------------------- estimates
def _expected_cells(p, pred, w, codes, slices) -> np.ndarray:
    """Expected ``tn, fp, fn, tp`` per slice, shape (slices, 4)."""
    n_groups = slices.membership.shape[1]
    index = codes * 4
    size = n_groups * 4
    cells = (
        np.bincount(index + pred, weights=w * (1 - p), minlength=size)  # tn (pred 0), fp (pred 1)
        + np.bincount(index + 2 + pred, weights=w * p, minlength=size)  # fn (pred 0), tp (pred 1)
    )
    return slices.aggregate(cells.reshape(n_groups, 4))


def _metric_values(cells: np.ndarray) -> np.ndarray:
    """The estimated metrics (last axis, in ``ESTIMATED`` order) of cells (..., 4)."""
    from raikit.metrics._definitions import BINARY_METRICS

    return np.stack([BINARY_METRICS[m](cells) for m in ESTIMATED], axis=-1)


def _replicates(calibrator, current, codes, slices, n_boot, rng, groups=None) -> np.ndarray:
    """Metric replicates (n_boot, slices, metrics): calibrator refitted on a Poisson bootstrap of
    the reference (or, with ``groups``, each group's calibration correction drawn from it), then
    every current row's label drawn from its calibrated probability."""
    n = len(current["score"])
    n_groups = slices.membership.shape[1]
    pred, w = current["pred"], current["weight"]
    n_ref = 0 if calibrator.score is None else len(calibrator.score)
    if groups is not None:
        n_ref = len(groups.weight)
    chunk = max(1, _MAX_CELLS // max(n, n_ref, 1))
    out = []
    for start in range(0, n_boot, chunk):  # chunks of replicates, each vectorised
        size = min(chunk, n_boot - start)
        if groups is not None:
            p = groups.predict(current["score"], rng.poisson(1.0, (size, n_ref)))
        else:
            ref_w = None if calibrator.method == "none" else rng.poisson(1.0, (size, n_ref))
            p = calibrator.predict(current["score"], ref_w)
        p = np.broadcast_to(p, (size, n))
        y = rng.random((size, n)) < p
        index = (np.arange(size)[:, None] * n_groups + codes) * 4 + y * 2 + pred
        cells = np.bincount(
            index.ravel(),
            weights=np.broadcast_to(w, (size, n)).ravel(),
            minlength=size * n_groups * 4,
        ).reshape(size, n_groups, 4)
        out.append(_metric_values(slices.aggregate(cells, axis=1)))
    return np.concatenate(out, axis=0)


def _estimate_table(values, replicates, slices, cells, ci):
    """The tidy table of the estimated metrics, and the rows per slice."""
    from raikit.metrics._stats import contain, percentile_bounds

    n_slices, n_metrics = values.shape
    lower = upper = np.full(values.shape, np.nan)
    if replicates is not None:
        lower, upper = contain(*percentile_bounds(replicates, ci), values)
        undefined = ~np.isfinite(values)
        lower, upper = np.where(undefined, np.nan, lower), np.where(undefined, np.nan, upper)
    n_slice = cells.sum(axis=1)
    table = pd.DataFrame(
        {
            "attribute": np.repeat(slices.attribute, n_metrics),
            "group": np.repeat(slices.group, n_metrics),
            "n": np.repeat(n_slice, n_metrics),
            "metric": np.tile(METRICS, n_slices),
            "estimate": values.ravel(),
            "lower": np.asarray(lower).ravel(),
            "upper": np.asarray(upper).ravel(),
        }
    )
    return table, n_slice


def _selection(current, codes, slices, ci, n_boot, rng) -> tuple[np.ndarray, np.ndarray | None]:
    """Selection rate per slice (it needs no labels: the predictions are observed) and its
    replicates, as the metrics engine draws a rate of counted cells: a Bayesian bootstrap of each
    intersection group's predicted-positive and predicted-negative cells (``Gamma(count)``) plus
    a Jeffreys ``Gamma(1/2)`` per slice cell, i.e. ``Beta(k + 1/2, n - k + 1/2)`` for one group.
    Weighted cells are drawn with their effective number of rows."""
    from raikit.metrics._engine import effective_rows

    n_groups = slices.membership.shape[1]
    w = current["weight"]
    index = codes * 2 + current["pred"]
    total = np.bincount(index, weights=w, minlength=n_groups * 2).reshape(n_groups, 2)
    squares = np.bincount(index, weights=w * w, minlength=n_groups * 2).reshape(n_groups, 2)
    cells = slices.aggregate(total)
    values = _rate(cells)
    if ci is None:
        return values, None
    n_eff = effective_rows(total, squares)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(n_eff > 0, total / np.where(n_eff > 0, n_eff, 1), 0.0)
    draws = rng.gamma(np.where(n_eff > 0, n_eff, 1.0), size=(n_boot, n_groups, 2))
    drawn = slices.aggregate(draws * scale, axis=1)
    filled = (cells.sum(axis=-1) > 0)[:, None]
    drawn = drawn + rng.gamma(0.5, size=drawn.shape) * filled
    return values, _rate(drawn)


def _rate(cells: np.ndarray) -> np.ndarray:
    """Share of the second cell (predicted positive) in cells (..., 2), NaN when empty."""
    total = cells.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, cells[..., 1] / np.where(total > 0, total, 1), np.nan)


def _disparities(values, replicates, slices, n_slice, calibration, ci, min_group_size):
    """Largest between-group difference per attribute and metric, among groups large enough in
    the current data and in the reference (NaN with fewer than two such groups)."""
    from raikit.metrics._group_metrics import _disparity_arrays, _disparity_bounds

    small = n_slice < min_group_size
    if len(calibration):
        small |= _reference_rows(calibration, slices) < min_group_size
    small[0] = False
    masked = np.where(small[:, None], np.nan, values)
    point = _disparity_arrays(masked, slices.families)
    bounds = {}
    if replicates is not None:
        bounds = _disparity_bounds(
            masked, np.where(small[None, :, None], np.nan, replicates), slices.families, ci
        )
    rows = []
    for name, members in slices.families.items():  # a few attributes
        n_groups = int((~small[members]).sum())
        key = (name, "between_groups", "difference")
        value = point[key]
        low, high = bounds.get(key, (np.full(len(METRICS), np.nan),) * 2)
        for j, metric in enumerate(METRICS):
            if n_groups < 2:
                rows.append((name, metric, np.nan, np.nan, np.nan, n_groups))
            else:
                rows.append((name, metric, value[j], low[j], high[j], n_groups))
    return pd.DataFrame(
        rows, columns=["attribute", "metric", "value", "lower", "upper", "n_groups"]
    )


# --------------------------------------------------------------------------- findings
def _reference_calibration(calibrator, ref, positive) -> pd.DataFrame:
    """Calibration error of the raw and the calibrated scores on the reference, per slice."""
    slices, codes = _slices(ref["dataset"])
    calibrated = calibrator.predict(ref["score"])[0]
    raw, _, n = _ece(ref["score"], ref["y"], ref["weight"], codes, slices)
    ece, noise, _ = _ece(calibrated, ref["y"], ref["weight"], codes, slices)
    return pd.DataFrame(
        {
            "attribute": slices.attribute,
            "group": slices.group,
            "n_reference": n,
            "ece_raw": raw,
            "ece": ece,
            "ece_noise": noise,
        }
    )


def _calibration_findings(calibration, decided, min_group_size, slices) -> list:
    """Warnings: poor calibration on the reference (overall or in a group), too few reference
    rows in a group, groups of the current data the reference lacks."""
    findings = []
    poor = calibration[
        (calibration["ece"] > ECE_LIMIT)
        & (calibration["ece"] > 2 * calibration["ece_noise"])
        & (calibration["n_reference"] >= min_group_size)
    ]
    for row in poor.itertuples(index=False):  # the few badly calibrated groups
        where = "overall" if row.attribute == "overall" else f"{row.attribute}={row.group}"
        findings.append(
            Finding(
                "warning",
                f"Poor calibration on the reference for {where}",
                f"After calibration ({decided}) the expected calibration error there is "
                f"{row.ece:.3f} (beyond {ECE_LIMIT} and twice its noise level "
                f"{row.ece_noise:.3f}, on {row.n_reference:,.0f} reference rows): estimates for "
                f"this group are biased. Calibrate per group, or wait for labels.",
                slice=where,
            )
        )
    few_rows = _reference_rows(calibration, slices) < min_group_size
    few = [(a, g) for a, g, f in zip(slices.attribute, slices.group, few_rows, strict=True) if f]
    if few:
        names = ", ".join(f"{a}={g}" for a, g in few[:8])
        findings.append(
            Finding(
                "warning",
                f"Too few reference rows in {len(few)} group(s)",
                f"{names}{' ...' if len(few) > 8 else ''} have fewer than {min_group_size} "
                f"labelled reference rows: their calibration cannot be checked, and they are left "
                f"out of the disparities.",
            )
        )
    return findings


_BACKTEST_COLUMNS = ("attribute", "group", "metric", "n_reference", "estimate", "realised", "noise")
BACKTEST_GAP = 0.02
"""Smallest gap between estimate and realised value on the reference worth a warning."""


def _backtest(calibrator, ref, n_boot: int, rng) -> pd.DataFrame:
    """Estimated and realised metrics per slice of the reference, and the noise of the realised
    value under the calibration (its labels drawn ``Bernoulli(p)``, ``p`` fixed)."""
    slices, codes = _slices(ref["dataset"])
    p = calibrator.predict(ref["score"])[0]
    pred, w = ref["pred"], ref["weight"]
    estimate = _metric_values(_expected_cells(p, pred, w, codes, slices))
    realised = _metric_values(_counted_cells(ref["y"], pred, w, codes, slices))
    fixed = _Calibrator("none")
    draws = _replicates(fixed, {"score": p, "pred": pred, "weight": w}, codes, slices,
                        min(n_boot, 200), rng)  # fmt: skip
    with warnings.catch_warnings():  # a metric undefined in every replicate (no positives): NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        noise = np.nanstd(draws, axis=0) if len(draws) > 1 else np.full(estimate.shape, np.nan)
    n_groups = slices.membership.shape[1]
    n_ref = slices.aggregate(np.bincount(codes, weights=w, minlength=n_groups))
    k = len(ESTIMATED)
    return pd.DataFrame(
        {
            "attribute": np.repeat(slices.attribute, k),
            "group": np.repeat(slices.group, k),
            "metric": np.tile(ESTIMATED, len(slices.attribute)),
            "n_reference": np.repeat(n_ref, k),
            "estimate": estimate.ravel(),
            "realised": realised.ravel(),
            "noise": noise.ravel(),
        }
    )


def _counted_cells(y, pred, w, codes, slices) -> np.ndarray:
    """Counted (weighted) ``tn, fp, fn, tp`` per slice from 0/1 labels, shape (slices, 4)."""
    n_groups = slices.membership.shape[1]
    index = codes * 4 + np.asarray(y, dtype=np.int64) * 2 + pred
    cells = np.bincount(index, weights=w, minlength=n_groups * 4)
    return slices.aggregate(cells.reshape(n_groups, 4))


def _with_realised(estimates, current, positive, codes, slices, selected) -> pd.DataFrame:
    """The estimates with the values the labels of ``data`` show (``realised``) and whether each
    lies within its interval (``covered``)."""
    y = (current["dataset"].y.to_numpy() == positive).astype(np.int64)
    cells = _counted_cells(y, current["pred"], current["weight"], codes, slices)
    realised = np.concatenate([_metric_values(cells), selected[:, None]], axis=1)
    out = estimates.assign(realised=realised.ravel())
    out["covered"] = (out["lower"] <= out["realised"]) & (out["realised"] <= out["upper"])
    return out


def _coverage_findings(estimates: pd.DataFrame, ci, min_group_size: int) -> list:
    """Warnings where a group's realised value falls outside its interval; one info finding when
    every interval holds its realised value."""
    if ci is None:
        return []
    judged = estimates[
        estimates["metric"].isin(ESTIMATED)
        & (estimates["n"] >= min_group_size)
        & estimates["realised"].notna()
        & estimates["lower"].notna()
    ]
    missed = judged[~judged["covered"]]
    findings = []
    for (attribute, group), rows in missed.groupby(["attribute", "group"], sort=False):  # few
        where = "overall" if attribute == "overall" else f"{attribute}={group}"
        parts = "; ".join(
            f"{r.metric.replace('_', ' ')} estimated {r.estimate:.3f} [{r.lower:.3f}, "
            f"{r.upper:.3f}], realised {r.realised:.3f}"
            for r in rows.itertuples(index=False)
        )
        findings.append(
            Finding(
                "warning",
                f"Label-free estimate not trustworthy for {where}",
                f"With its labels hidden, the realised value falls outside the {ci:.0%} "
                f"interval: {parts}. The calibration learnt on the reference does not hold for "
                f"this group: calibrate per group, or wait for labels before trusting its "
                f"estimates.",
                slice=where,
            )
        )
    if not findings and len(judged):
        findings.append(
            Finding(
                "info",
                "Label-free estimates hold on labelled rows",
                f"With their labels hidden, all {len(judged)} realised values (accuracy, TPR, "
                f"FPR and precision of every group of at least {min_group_size} rows) fall "
                f"within their {ci:.0%} intervals.",
            )
        )
    return findings


def _backtest_findings(backtest: pd.DataFrame, min_group_size: int) -> list:
    """Warnings where the estimate misses the reference's realised value beyond its noise."""
    gap = (backtest["estimate"] - backtest["realised"]).abs()
    off = backtest[
        (gap > BACKTEST_GAP)
        & (gap > 3 * backtest["noise"])
        & (backtest["n_reference"] >= min_group_size)
    ]
    findings = []
    for (attribute, group), rows in off.groupby(["attribute", "group"], sort=False):  # few
        where = "overall" if attribute == "overall" else f"{attribute}={group}"
        parts = "; ".join(
            f"{r.metric.replace('_', ' ')} estimated {r.estimate:.3f}, realised {r.realised:.3f}"
            for r in rows.itertuples(index=False)
        )
        findings.append(
            Finding(
                "warning",
                f"Estimates miss the labelled reference for {where}",
                f"Run on the labelled reference itself: {parts} (beyond 3 times the noise of "
                f"the realised value and {BACKTEST_GAP}). The scores are miscalibrated for this "
                f"group where these metrics are decided; its estimates are biased.",
                slice=where,
            )
        )
    return findings


def _reference_rows(calibration: pd.DataFrame, slices) -> np.ndarray:
    """Reference rows of each current slice (0 for a group the reference lacks)."""
    known = dict(
        zip(
            zip(calibration["attribute"], calibration["group"], strict=True),
            calibration["n_reference"],
            strict=True,
        )
    )
    keys = zip(slices.attribute, slices.group, strict=True)
    return np.array([known.get(key, 0.0) for key in keys], dtype=float)  # one lookup per slice


def _disparity_findings(disparities: pd.DataFrame, ci, tolerance: float) -> list:
    findings = []
    beyond = disparities[disparities["lower"] > tolerance]
    for row in beyond.itertuples(index=False):  # a few (attribute, metric) pairs
        what = "measured" if row.metric == "selection_rate" else "estimated without labels"
        findings.append(
            Finding(
                "error",
                f"{row.metric.replace('_', ' ').capitalize()} differs across {row.attribute} "
                f"({what})",
                f"Largest between-group difference {row.value:.3f} ({ci:.0%} CI {row.lower:.3f} "
                f"to {row.upper:.3f}) is beyond the tolerance {tolerance:g}.",
                slice=row.attribute,
            )
        )
    return findings
