"""``group_metrics``: every metric for every group, with bootstrap confidence intervals."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse

from raikit._errors import DataError, ParameterError
from raikit._grouping import encode_groups, to_sensitive_frame
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
from raikit.metrics import _engine as engine
from raikit.metrics._definitions import CountMetric, resolve_metric_names
from raikit.metrics._stats import (
    MIN_GROUP_SIZE,
    PRIOR,
    abs_max_bounds,
    contain,
    percentile_bounds,
    range_bounds,
    ratio_bounds,
    verdict,
)

__all__ = ["GroupMetricsResult", "group_metrics", "group_metrics_of", "percentile_bounds"]

BACKENDS = ("auto", "numpy", "duckdb", "spark")
TASKS = ("auto", "binary", "multiclass", "regression")


FOUR_FIFTHS = 0.8


# --------------------------------------------------------------------------- input handling
def _as_1d(values, name: str) -> np.ndarray:
    if values is None:
        raise ParameterError(f"{name} is required.")
    if type(values).__module__.startswith("polars"):
        values = values.to_numpy()
    if isinstance(values, pd.DataFrame):
        if values.shape[1] != 1:
            raise DataError(f"{name} must be one column, got a DataFrame with {values.shape[1]}.")
        values = values.iloc[:, 0]
    array = values.to_numpy() if isinstance(values, pd.Series | pd.Index) else np.asarray(values)
    if array.ndim == 2 and 1 in array.shape:
        array = array.ravel()
    if array.ndim != 1:
        raise DataError(
            f"{name} must be 1-D (one value per row), got shape {array.shape}. For predicted "
            f"probabilities of a binary model pass the positive column, e.g. proba[:, 1]."
        )
    return array


def _has_missing(array: np.ndarray) -> np.ndarray:
    if array.dtype.kind in "fc":
        return np.isnan(array)
    if array.dtype.kind in "iub":
        return np.zeros(len(array), dtype=bool)
    return pd.isna(array)


def _label_list(labels) -> list:
    return [v.item() if hasattr(v, "item") else v for v in labels]


def check_case_variants(labels) -> None:
    """Refuse string labels that differ only by case or surrounding spaces (``Yes``/``yes``)."""
    seen: dict[str, object] = {}
    for label in _label_list(labels):  # distinct labels, a handful
        if not isinstance(label, str):
            continue
        key = label.strip().casefold()
        if key in seen and seen[key] != label:
            raise DataError(
                f"The labels {seen[key]!r} and {label!r} differ only by case or spaces, so they "
                f"would count as different classes. Map them to one spelling first (e.g. "
                f"y.str.strip().str.lower())."
            )
        seen[key] = label


def _is_numeric_label(label) -> bool:
    return isinstance(label, bool | int | float | np.bool_ | np.integer | np.floating)


def resolve_pos_label(labels, pos_label=None):
    """The positive label of binary labels, never guessed from their order.

    Inferred only as scikit-learn does: labels within {0, 1} (or {False, True}) or {-1, 1}
    have the positive label 1 (True). Otherwise ``pos_label`` is required; it must be one of
    the labels (a string such as ``"1"`` from the command line matches the label ``1``).

    Examples
    --------
    >>> resolve_pos_label([0, 1])
    1
    >>> resolve_pos_label(["approved", "denied"], "approved")
    'approved'
    >>> resolve_pos_label(["approved", "denied"])
    Traceback (most recent call last):
    ...
    raikit._errors.DataError: Which label is positive? ...
    """
    values = _label_list(labels)
    check_case_variants(values)
    if pos_label is not None:
        if hasattr(pos_label, "item"):
            pos_label = pos_label.item()
        exact = [v for v in values if v == pos_label]
        if exact:
            return exact[0]
        by_text = [v for v in values if str(v) == str(pos_label)]
        if len(by_text) == 1:
            return by_text[0]
        if len(values) >= 2:
            raise ParameterError(
                f"pos_label={pos_label!r} is not one of the labels {values}; pass one of them "
                f"(--pos-label on the command line)."
            )
        if values and _is_numeric_label(values[0]) != _is_numeric_label(pos_label):
            raise ParameterError(
                f"pos_label={pos_label!r} is not of the labels' type (they are {values}); pass "
                f"one of them (--pos-label on the command line)."
            )
        return pos_label  # one label seen: the positive one may simply not occur
    if values and all(_is_numeric_label(v) for v in values):
        numbers = {float(v) for v in values}
        if numbers <= {0.0, 1.0} or numbers <= {-1.0, 1.0}:
            return True if all(isinstance(v, bool | np.bool_) for v in values) else 1
    raise DataError(
        f"Which label is positive? The labels are {values[:10]}; raikit infers the positive "
        f"label only for 0/1, False/True and -1/1, never from the labels' order. Pass "
        f"pos_label=<label> (on the command line: --pos-label <label>)."
    )


def positive_column(classes, pos_label=None) -> int:
    """Column of a binary classifier's ``predict_proba`` that holds the positive label.

    scikit-learn orders ``predict_proba``'s columns as ``classes_``; the positive label is
    ``pos_label`` or inferred by :func:`resolve_pos_label` (never "column 1" by habit).

    Examples
    --------
    >>> positive_column([0, 1])
    1
    >>> positive_column(["approved", "denied"], "approved")
    0
    """
    values = _label_list(classes)
    positive = resolve_pos_label(values, pos_label)
    matches = [i for i, v in enumerate(values) if v == positive]
    if not matches:
        raise ParameterError(
            f"pos_label={pos_label!r} is not one of the model's classes {values}; pass one of "
            f"them (--pos-label on the command line)."
        )
    return matches[0]


def _encode_labels(y_true: np.ndarray, y_pred: np.ndarray, pos_label, task: str = "auto"):
    """Map classification labels to 0..K-1 codes consistent between y_true and y_pred.

    Binary labels (two or fewer, unless ``task="multiclass"``) are ordered negative, positive
    with the positive label from :func:`resolve_pos_label`; more labels are sorted.
    """
    fast = all(a.dtype.kind in "iub" for a in (y_true, y_pred))
    if fast and y_true.size and y_pred.size and task != "multiclass":
        low = min(int(y_true.min()), int(y_pred.min()))
        high = max(int(y_true.max()), int(y_pred.max()))
        if low >= 0 and high <= 1:
            boolean = y_true.dtype.kind == "b" and y_pred.dtype.kind == "b"
            seen = sorted({int(v) for v in (low, high)})
            seen = [bool(v) for v in seen] if boolean else seen
            positive = resolve_pos_label(seen, pos_label)
            if positive not in (0, 1):
                raise ParameterError(f"pos_label={pos_label!r} is not one of the labels [0, 1].")
            if int(positive) == 1:
                classes = np.array([False, True]) if boolean else np.array([0, 1])
                return y_true.astype(np.int64), y_pred.astype(np.int64), classes
            classes = np.array([True, False]) if boolean else np.array([1, 0])
            return 1 - y_true.astype(np.int64), 1 - y_pred.astype(np.int64), classes
    try:
        classes = pd.unique(np.concatenate([pd.unique(y_true), pd.unique(y_pred)]))
    except TypeError as error:  # unhashable labels (lists, dicts)
        raise DataError(
            f"Labels must be numbers, strings or booleans, got {type(y_true[0]).__name__} values."
        ) from error
    check_case_variants(classes)
    kinds = {
        "bool"
        if isinstance(v, bool | np.bool_)
        else "number"
        if _is_numeric_label(v)
        else type(v).__name__
        for v in _label_list(classes)
    }
    if len(kinds) > 1:
        raise DataError(
            f"The labels mix types ({sorted(kinds)}): {_label_list(classes)[:10]}. Cast y_true "
            f"and y_pred to one type (e.g. all strings or all integers)."
        )
    try:
        classes = np.sort(classes)
    except TypeError:
        classes = np.array(sorted(classes, key=str), dtype=object)
    if len(classes) <= 2 and task != "multiclass":
        positive = resolve_pos_label(classes, pos_label)
        others = [c for c in _label_list(classes) if c != positive]
        # one label seen: the other class is absent (None stands for it)
        ordered = [others[0] if others else None, positive]
        classes = np.array(ordered, dtype=object)
        lookup = pd.Index(ordered, dtype=object)
    else:
        if len(classes) < 2:
            raise DataError(
                f"task='multiclass' needs at least two labels, got {_label_list(classes)}."
            )
        lookup = pd.Index(classes)
    y_codes = lookup.get_indexer(y_true).astype(np.int64)
    p_codes = lookup.get_indexer(y_pred).astype(np.int64)
    if (y_codes < 0).any() or (p_codes < 0).any():  # labels equal but not alike (1 vs 1.0)
        raise DataError(
            f"Some labels could not be matched between y_true and y_pred "
            f"({_label_list(classes)[:10]}); cast both to one type first."
        )
    return y_codes, p_codes, classes


def _regression_values(values: np.ndarray, name: str) -> np.ndarray:
    """Targets or predictions as finite floats, or a DataError naming the problem."""
    try:
        out = values.astype(float)
    except (TypeError, ValueError) as error:
        raise DataError(
            f"task='regression' needs numbers, but {name} holds {values[0]!r}-like values; pass "
            f"numeric values or use task='binary'/'multiclass' for labels."
        ) from error
    infinite = np.isinf(out)
    if infinite.any():
        raise DataError(
            f"{name} has {int(infinite.sum())} infinite value(s) (first at row "
            f"{int(np.argmax(infinite))}); regression metrics need finite values."
        )
    return out


def _infer_task(y_true: np.ndarray, y_pred: np.ndarray) -> str:
    """The task of a pair of label arrays, by the one rule (:func:`raikit.metrics.infer_task`)
    applied to both together."""
    from raikit.metrics._task import infer_task

    if y_true.dtype.kind == "f" or y_pred.dtype.kind == "f":
        try:
            both = np.concatenate([y_true, y_pred]).astype(float)
        except (TypeError, ValueError) as error:
            raise DataError(
                "y_true and y_pred mix numbers and other values (e.g. strings); cast both to one "
                "type: numbers for regression, or labels of one type for classification."
            ) from error
    else:
        both = np.concatenate([y_true, y_pred])
    return infer_task(both)[0]


# --------------------------------------------------------------------------- the result
@dataclass(frozen=True, eq=False)
class GroupMetricsResult(Result):
    """Metrics overall and per group, disparities between groups, and their confidence intervals.

    Attributes
    ----------
    table : DataFrame
        Tidy: one row per (attribute, group, metric) with ``value``, ``lower``, ``upper``. The
        overall population has attribute and group ``"overall"``; intersections are named
        ``"sex & race"`` / ``"Female & Black"``. Those are texts to read; the ``slice`` column
        holds each row's :class:`~raikit._grouping.SliceKey` (attribute -> value, the empty key
        for the overall population) to select or join on, since a value may itself contain
        ``" & "`` or ``"="``.
    disparities : DataFrame
        Tidy: one row per (attribute, metric, method, kind) — ``method`` is ``between_groups`` or
        ``to_overall``, ``kind`` is ``difference`` or ``ratio`` — with ``value``, ``lower``, ``upper``.
    task : str
        ``binary``, ``multiclass`` or ``regression``.
    sensitive_names : list of str
        The sensitive attributes.
    ci : float or None
        Confidence level of the intervals (``None``: no intervals).
    n_boot : int
        Bootstrap replicates behind the intervals.
    findings : tuple of Finding
        Empty or tiny groups, undefined metrics, and the four-fifths rule.
    meta : dict
        Labels, positive label and engine settings.

    See Also
    --------
    group_metrics, group_metrics_of : compute it.

    Examples
    --------
    >>> from raikit.metrics import group_metrics
    >>> r = group_metrics([1, 0, 1, 0, 1, 1], [1, 0, 1, 0, 1, 0], sensitive_features=list("aaabbb"),
    ...                   metrics=["accuracy"], random_state=0)
    >>> r.by_group["accuracy"].round(3).tolist()
    [1.0, 0.667]
    >>> float(r.difference().loc["sensitive", "accuracy"].round(3))
    0.333
    """

    table: pd.DataFrame
    disparities: pd.DataFrame
    task: str
    sensitive_names: list
    ci: float | None = None
    n_boot: int = 0
    findings: tuple = field(default_factory=tuple)
    meta: dict = field(default_factory=dict)

    # ----------------------------------------------------------------- tidy accessors
    @property
    def metric_names(self) -> list[str]:
        return list(pd.unique(self.table["metric"]))

    @property
    def attributes(self) -> list[str]:
        """Slice families: each sensitive attribute and, with two or more, their intersection."""
        names = pd.unique(self.table["attribute"])
        return [a for a in names if a != "overall"]

    def _wide(self, column: str, rows: pd.DataFrame) -> pd.DataFrame:
        if "slice" not in rows.columns:  # a result saved before the key column
            wide = rows.pivot(index=["attribute", "group"], columns="metric", values=column)
            order = pd.MultiIndex.from_frame(rows[["attribute", "group"]].drop_duplicates())
            wide = wide.reindex(order)[self.metric_names]
            wide.columns.name = None
            return wide
        # pivot on the key: two intersections can share a text ("A & B" x "C", "A" x "B & C")
        codes, keys = pd.factorize(rows["slice"])
        first = rows.drop_duplicates("slice")
        metric = pd.Index(self.metric_names).get_indexer(rows["metric"])
        values = np.full((len(keys), len(self.metric_names)), np.nan)
        values[codes, metric] = rows[column].to_numpy(dtype=float)
        index = pd.MultiIndex.from_frame(first[["attribute", "group"]])
        return pd.DataFrame(values, index=index, columns=list(self.metric_names))

    @property
    def overall(self) -> pd.Series:
        """Each metric on the whole population."""
        rows = self.table[self.table["attribute"] == "overall"]
        return pd.Series(rows["value"].to_numpy(), index=rows["metric"].to_numpy(), name="overall")

    @property
    def by_group(self) -> pd.DataFrame:
        """Each metric per group: index (attribute, group), one column per metric."""
        return self._wide("value", self.table[self.table["attribute"] != "overall"])

    @property
    def by_group_lower(self) -> pd.DataFrame:
        """Lower confidence bounds, shaped like :attr:`by_group` (NaN without ``ci``)."""
        return self._wide("lower", self.table[self.table["attribute"] != "overall"])

    @property
    def by_group_upper(self) -> pd.DataFrame:
        """Upper confidence bounds, shaped like :attr:`by_group` (NaN without ``ci``)."""
        return self._wide("upper", self.table[self.table["attribute"] != "overall"])

    def _disparity(self, kind: str, method: str, attribute: str | None, bounds: bool):
        if method not in ("between_groups", "to_overall"):
            raise ParameterError(
                f"GroupMetricsResult: method must be 'between_groups' or 'to_overall', got "
                f"{method!r}."
            )
        rows = self.disparities[
            (self.disparities["kind"] == kind) & (self.disparities["method"] == method)
        ]
        if attribute is not None:
            if attribute not in self.attributes:
                raise ParameterError(
                    f"GroupMetricsResult: attribute {attribute!r} is unknown; choose from "
                    f"{self.attributes}."
                )
            rows = rows[rows["attribute"] == attribute]
        if bounds:
            return rows[["attribute", "metric", "value", "lower", "upper"]].reset_index(drop=True)
        wide = rows.pivot(index="attribute", columns="metric", values="value")
        wide = wide.reindex(
            index=pd.unique(rows["attribute"]),
            columns=[m for m in self.metric_names if m in wide.columns],
        )
        wide.columns.name = None
        return wide.iloc[0] if attribute is not None else wide

    def difference(
        self, method: str = "between_groups", *, attribute: str | None = None, bounds: bool = False
    ):
        """Largest difference of each metric between groups (or from the overall value).

        Parameters
        ----------
        method : {"between_groups", "to_overall"}
            ``between_groups``: max - min over groups. ``to_overall``: the largest
            ``|group - overall|``. Both as in Fairlearn's ``MetricFrame.difference``.
        attribute : str, optional
            Restrict to one attribute (or intersection); then a Series is returned.
        bounds : bool, default False
            Return a tidy frame with ``value``, ``lower`` and ``upper`` instead.
        """
        return self._disparity("difference", method, attribute, bounds)

    def ratio(
        self, method: str = "between_groups", *, attribute: str | None = None, bounds: bool = False
    ):
        """Smallest ratio of each metric between groups (min / max), or to the overall value
        (the smallest of ``group / overall`` and ``overall / group``); see :meth:`difference`."""
        return self._disparity("ratio", method, attribute, bounds)

    def group_min(self, *, attribute: str | None = None) -> pd.DataFrame | pd.Series:
        """Smallest value of each metric over the groups of each attribute."""
        return self._extreme("min", attribute)

    def group_max(self, *, attribute: str | None = None) -> pd.DataFrame | pd.Series:
        """Largest value of each metric over the groups of each attribute."""
        return self._extreme("max", attribute)

    def _extreme(self, how: str, attribute: str | None):
        frame = self.by_group.groupby(level="attribute", sort=False)
        out = frame.min() if how == "min" else frame.max()
        return out.loc[attribute] if attribute is not None else out

    @property
    def summary(self) -> str:
        n = int(self.overall.get("count", np.nan)) if "count" in self.overall else None
        groups = int((self.table["attribute"] != "overall").sum() / max(len(self.metric_names), 1))
        worst = ""
        if "selection_rate" in self.metric_names:
            ratios = self.ratio()["selection_rate"]
            worst = f"; lowest selection-rate ratio {ratios.min():.3f} ({ratios.idxmin()})"
        ci = f" with {self.ci:.0%} CIs" if self.ci else ""
        errors = sum(f.severity == "error" for f in self.findings)
        positive = ""
        if self.task == "binary" and self.meta.get("pos_label") is not None:
            positive = f"; positive label {self.meta['pos_label']!r}"
        return (
            f"{len(self.metric_names)} metrics over {groups} groups"
            + (f" and {n:,} rows" if n is not None else "")
            + ci
            + positive
            + worst
            + f"; {errors} violation(s), {len(self.findings)} finding(s)."
        )

    @property
    def group_sizes(self) -> pd.Series:
        """Rows per slice, indexed by (attribute, group) (``overall`` included)."""
        return _slice_sizes(self.meta, self.table)

    @property
    def min_group_size(self) -> int:
        """Fewest rows a group needs to count towards a verdict (see :func:`group_metrics`)."""
        return int(self.meta.get("min_group_size", MIN_GROUP_SIZE))

    def fairness(
        self, criteria=None, *, tolerance: float = 0.1, min_group_size: int | None = None
    ) -> pd.DataFrame:
        """Evaluate fairness criteria (default: every one the computed metrics allow).

        Returns one row per (criterion, attribute) with the difference, its CI, the ratio and a
        ``verdict`` (pass / warn / fail / not assessable); see
        :meth:`raikit.metrics.FairnessCriterion.evaluate`. ``min_group_size`` defaults to the
        one this result was computed with.
        """
        from raikit.metrics._fairness import evaluate_criteria

        return evaluate_criteria(self, criteria, tolerance=tolerance, min_group_size=min_group_size)

    def figures(self) -> list:
        from raikit.metrics._figures import disparity_figure, metric_figures

        return [*metric_figures(self), disparity_figure(self)]

    def _main_figure(self):
        # the first of figures(), without drawing the others (a notebook card shows just one)
        from raikit.metrics._figures import disparity_figure, metric_figures

        return next(iter(metric_figures(self, limit=1)), None) or disparity_figure(self)

    def to_html(self, path=None, *, title: str = "Group metrics") -> str:
        """A self-contained HTML page with the tables, findings and figures (works offline)."""
        from raikit.metrics._figures import result_html

        html = result_html(self, title=title)
        if path is not None:
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(html)
        return html


# --------------------------------------------------------------------------- computation
def _disparity_arrays(values: np.ndarray, families: dict[str, np.ndarray]):
    """Differences and ratios per family for arrays of shape (..., slices, metrics)."""
    overall = values[..., 0:1, :]
    out = {}
    with np.errstate(invalid="ignore", divide="ignore"), _quiet():
        for name, rows in families.items():
            part = values[..., rows, :]
            # fmax/fmin skip NaN like nanmax/nanmin (all-NaN gives NaN) without their copies
            high = np.fmax.reduce(part, axis=-2, initial=np.nan)
            low = np.fmin.reduce(part, axis=-2, initial=np.nan)
            out[(name, "between_groups", "difference")] = high - low
            out[(name, "to_overall", "difference")] = np.fmax.reduce(
                np.abs(part - overall), axis=-2
            )
            out[(name, "between_groups", "ratio")] = np.where(high != 0, low / high, np.nan)
            to_overall = np.minimum(part / overall, overall / part)
            out[(name, "to_overall", "ratio")] = np.fmin.reduce(to_overall, axis=-2, initial=np.nan)
    return out


PAIRWISE_MAX = 20  # up to this many groups, between-group intervals come from every pair


def _pair_bounds(rep, point, n_tests, alpha):
    """Percentile bounds at the Bonferroni level ``1 - alpha / n_tests`` per column, widened to
    contain the point estimate; NaN where the point is undefined."""
    level = 1 - alpha / np.maximum(n_tests, 1)
    lower, upper = contain(*percentile_bounds(rep, level), point)
    undefined = ~np.isfinite(point)
    return np.where(undefined, np.nan, lower), np.where(undefined, np.nan, upper)


def _fold_ratio_bounds(lower, upper, axis=0):
    """Bounds of ``min_i min(r_i, 1 / r_i)`` from intervals of positive ratios ``r_i``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        f_low, f_high = np.fmin(lower, 1 / lower), np.fmin(upper, 1 / upper)
        low = np.fmin(f_low, f_high)
        high = np.where((lower <= 1) & (upper >= 1), 1.0, np.fmax(f_low, f_high))
        signed = (lower < 0).any(axis=axis)
    low, high = (
        np.fmin.reduce(low, axis=axis, initial=np.nan),
        np.fmin.reduce(high, axis=axis, initial=np.nan),
    )
    return np.where(signed, np.nan, low), np.where(signed, np.nan, high)


def _disparity_bounds(values, replicates, families, ci):
    """Intervals of the between-group and to-overall differences and ratios.

    A largest difference is a maximum over pairs, so the bootstrap distribution of the maximum
    itself is biased upward (it can exclude its own estimate). Instead every part gets a
    percentile interval at the Bonferroni level ``1 - (1 - ci) / m`` (``m`` parts with a defined
    value), so that all hold at once with probability at least ``ci``, and the disparity's bounds
    follow from them: for ``max_ij |d_ij|`` the largest lower and upper bounds of ``|d_ij|``; for
    ``min_ij min(r_ij, 1 / r_ij)`` the smallest. The parts are every pair of groups (up to
    ``PAIRWISE_MAX`` groups; beyond, each group's interval, see ``range_bounds``) or each group
    against the overall value. Every bound contains its point estimate.
    """
    alpha = 1 - ci
    overall, rep_overall = values[0], replicates[:, 0]
    out = {}
    with np.errstate(invalid="ignore", divide="ignore"), _quiet():
        for name, rows in families.items():  # attribute families (a handful), not groups
            part, rep = values[rows], replicates[:, rows]
            n_defined = np.isfinite(part).sum(axis=0)  # per metric
            # to the overall value: one part per group
            lo, hi = _pair_bounds(rep - rep_overall[:, None], part - overall, n_defined, alpha)
            out[(name, "to_overall", "difference")] = abs_max_bounds(lo, hi, axis=0)
            lo, hi = _pair_bounds(rep / rep_overall[:, None], part / overall, n_defined, alpha)
            out[(name, "to_overall", "ratio")] = _fold_ratio_bounds(lo, hi)
            # between groups
            g = len(rows)
            if g > PAIRWISE_MAX:
                lo, hi = _pair_bounds(rep, part, n_defined, alpha)
                out[(name, "between_groups", "difference")] = range_bounds(lo, hi, axis=0)
                out[(name, "between_groups", "ratio")] = ratio_bounds(lo, hi, axis=0)
                continue
            i, j = np.triu_indices(g, 1)
            n_pairs = (np.isfinite(part[i]) & np.isfinite(part[j])).sum(axis=0)
            lo, hi = _pair_bounds(rep[:, i] - rep[:, j], part[i] - part[j], n_pairs, alpha)
            out[(name, "between_groups", "difference")] = abs_max_bounds(lo, hi, axis=0)
            # each pair's ratio is taken smaller estimate over larger, so its estimate is finite
            swap = part[i] > part[j]
            num, den = (
                np.where(swap, j[:, None], i[:, None]),
                np.where(swap, i[:, None], j[:, None]),
            )
            metric = np.arange(part.shape[1])
            ratio = rep[:, num, metric] / rep[:, den, metric]
            lo, hi = _pair_bounds(ratio, part[num, metric] / part[den, metric], n_pairs, alpha)
            out[(name, "between_groups", "ratio")] = _fold_ratio_bounds(lo, hi)
    return out


class _quiet:
    """Silence numpy's all-NaN-slice warnings: an all-NaN slice is reported as a finding."""

    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        self._ctx.__exit__(*exc)


@recorded("metrics.group_metrics")
@validate_params(
    ci=[CI, None],
    n_boot=Interval(int, 2, None),
    random_state=RANDOM_STATE,
    task=Options(*TASKS),
    missing_group=[str, None],
    min_group_size=Interval(int, 1, None),
)
def group_metrics(
    y_true,
    y_pred,
    *,
    sensitive_features,
    score=None,
    sample_weight=None,
    metrics: Sequence | None = None,
    ci: float | None = 0.95,
    n_boot: int = 1000,
    random_state=None,
    pos_label=None,
    task: str = "auto",
    missing_group: str | None = None,
    min_group_size: int = MIN_GROUP_SIZE,
    ledger=None,
) -> GroupMetricsResult:
    """Compute metrics overall, per group and per intersection, with bootstrap CIs.

    The arrays of a model's labels, predictions and the protected attributes, in Fairlearn's
    spelling (``MetricFrame(y_true=, y_pred=, sensitive_features=)``). A
    :class:`raikit.Dataset` (in memory, over files larger than memory, or on Spark) reaches the
    same engine through :func:`group_metrics_of`.

    Parameters
    ----------
    y_true : array-like
        True labels (or targets for regression), one per row.
    y_pred : array-like
        Predicted labels (or values).
    sensitive_features : array-like, Series, DataFrame or dict
        The values of one or more protected attributes, one per row (several attributes: one
        column each; their intersection is reported too).
    score : array-like, optional
        Score of the positive class (binary only): enables ROC AUC, Brier score, log loss and
        expected calibration error.
    sample_weight : array-like, optional
        Non-negative weight of each row, honoured by every metric (a weighted count, rate, mean
        or AUC, as scikit-learn's ``sample_weight``) and by the intervals, whose bootstrap uses
        the effective number of rows ``(sum w)^2 / sum w^2`` of each cell. Integer weights give
        the point estimates of duplicated rows; ``count`` is the sum of the weights, while group
        sizes (``min_group_size``, the findings) count rows.
    metrics : list, optional
        Metric names (aliases such as ``"tpr"`` work), :func:`~raikit.metrics.count_metric`
        objects (fast path), or plain ``f(y_true, y_pred)`` callables (slow path: evaluated
        group by group in Python; they receive ``sample_weight=`` when weights are given).
        Default: every count metric, plus the score metrics when ``score`` is given.
    ci : float or None, default 0.95
        Confidence level of the intervals on every number (``None``: none, the fastest). Rates of
        the confusion table: a Bayesian bootstrap with the Jeffreys prior (valid at 0 of k and k
        of k, never of zero width); score and regression metrics: a Poisson bootstrap.
        Differences and ratios between groups: bounds from simultaneous (Bonferroni) intervals of
        every pairwise difference or ratio. Every interval contains its point estimate. See
        :mod:`raikit.metrics._engine`.
    n_boot : int, default 1000
        Bootstrap replicates (at least 2).
    random_state : int, Generator or None
        Seed of the bootstrap.
    pos_label : optional
        The positive label of binary labels. Inferred only as scikit-learn does (1 for 0/1 and
        -1/1, True for booleans); any other labels (e.g. ``"approved"``/``"denied"``) need it,
        and are never ordered alphabetically. It is reported in ``meta["pos_label"]`` and the
        summary. Labels that differ only by case (``"Yes"``/``"yes"``) are refused.
    task : {"auto", "binary", "multiclass", "regression"}
        What the labels are; inferred by default.
    missing_group : str, optional
        Keep missing sensitive values as a group with this label instead of raising.
    min_group_size : int, default ``raikit.metrics.MIN_GROUP_SIZE`` (30)
        Fewest rows a group needs to count towards a verdict: smaller groups are flagged, and a
        fairness verdict (:meth:`~raikit.metrics.GroupMetricsResult.fairness`, the four-fifths
        rule) needs two groups at least this large, otherwise it is "not assessable".
    ledger : raikit.ledger.Ledger or path, optional
        Record the result as evidence (also done inside a ``raikit.track`` block).

    Returns
    -------
    GroupMetricsResult

    Raises
    ------
    ParameterError
        A parameter outside its domain (``ci``, ``n_boot``, ``task``...).
    DataError
        Inputs of different lengths, missing labels or sensitive values, labels of mixed types.

    See Also
    --------
    raikit.metrics.group_metrics_of : the same engine on a Dataset, in memory, on DuckDB or on Spark.
    raikit.metrics.evaluate_criteria : verdicts of the fairness criteria.

    Examples
    --------
    >>> from raikit.metrics import group_metrics
    >>> r = group_metrics([1, 0, 1, 1, 0, 0], [1, 0, 0, 1, 1, 0],
    ...                   sensitive_features=["a", "a", "a", "b", "b", "b"],
    ...                   metrics=["selection_rate", "tpr"], ci=None)
    >>> r.by_group.round(3)
                     selection_rate  true_positive_rate
    attribute group
    sensitive a               0.333                 0.5
              b               0.667                 1.0
    >>> float(r.difference()["selection_rate"].iloc[0].round(3))
    0.333
    >>> weighted = group_metrics([1, 0, 1, 1], [1, 0, 0, 1], sensitive_features=["a", "a", "b", "b"],
    ...                          sample_weight=[1, 3, 1, 1], metrics=["selection_rate"], ci=None)
    >>> weighted.by_group["selection_rate"].round(3).tolist()
    [0.25, 0.5]
    """
    data = _prepare(y_true, y_pred, sensitive_features, score, sample_weight, missing_group)
    if task == "auto":
        task = _infer_task(data.y_true, data.y_pred)
    rng = rng_from(random_state)
    findings: list[Finding] = []
    meta: dict = {
        "n_rows": data.n,
        "n_groups": data.n_groups,
        "random_state": random_state,
        "slice_rows": data.slices.aggregate(
            np.bincount(data.codes, minlength=data.n_groups)
        ).tolist(),
        "weighted": data.weights is not None,
    }
    if task == "regression":
        parts = _regression_part(data, metrics, rng, meta)
    else:
        parts = _classification_parts(data, metrics, task, pos_label, rng, meta, findings)
    return _assemble(
        *parts,
        data.slices,
        data.encoding,
        findings,
        meta,
        task=task,
        ci=ci,
        n_boot=n_boot,
        min_group_size=min_group_size,
    )


@dataclass(frozen=True, eq=False)
class _Rows:
    """Validated per-row inputs and the groups they fall in (what every part of the engine reads)."""

    y_true: np.ndarray
    y_pred: np.ndarray
    score: np.ndarray | None
    weights: np.ndarray | None
    encoding: object
    slices: engine.Slices

    @property
    def n(self) -> int:
        return len(self.y_true)

    @property
    def codes(self) -> np.ndarray:
        return self.encoding.intersection_codes

    @property
    def n_groups(self) -> int:
        return len(self.encoding.intersection_labels)


def _prepare(y_true, y_pred, sensitive_features, score, sample_weight, missing_group) -> _Rows:
    """Check the per-row inputs once (lengths, missing values) and encode the groups."""
    y_true = _as_1d(y_true, "y_true")
    y_pred = _as_1d(y_pred, "y_pred")
    n = len(y_true)
    if n == 0:
        raise DataError("y_true is empty; group metrics need at least one row.")
    if len(y_pred) != n:
        raise DataError(
            f"y_true has {n} rows but y_pred has {len(y_pred)}; they must have one value per row."
        )
    for name, array in (("y_true", y_true), ("y_pred", y_pred)):
        missing = _has_missing(array)
        if missing.any():
            raise DataError(
                f"{name} has {int(missing.sum())} missing value(s) (first at row "
                f"{int(np.argmax(missing))}). Drop or impute those rows first."
            )
    frame = to_sensitive_frame(sensitive_features, n_rows=n)
    encoding = encode_groups(frame, missing_group=missing_group)
    return _Rows(
        y_true,
        y_pred,
        None if score is None else _score_array(score, n),
        None if sample_weight is None else weight_array(sample_weight, n),
        encoding,
        engine.build_slices(encoding),
    )


def _score_array(score, n: int) -> np.ndarray:
    score = _as_1d(score, "score").astype(float)
    if len(score) != n:
        raise DataError(f"score has {len(score)} rows but y_true has {n}.")
    if np.isnan(score).any():
        raise DataError(
            f"score has {int(np.isnan(score).sum())} missing value(s); scores must be complete."
        )
    if np.isinf(score).any():
        raise DataError(
            f"score has {int(np.isinf(score).sum())} infinite value(s) (first at row "
            f"{int(np.argmax(np.isinf(score)))}); scores must be finite."
        )
    return score


def weight_array(sample_weight, n: int, *, name: str = "sample_weight") -> np.ndarray:
    """Row weights as finite, non-negative floats with a positive total, or a DataError.

    Examples
    --------
    >>> weight_array([1, 2.5, 0], 3).tolist()
    [1.0, 2.5, 0.0]
    """
    try:
        weights = _as_1d(sample_weight, name).astype(float)
    except (TypeError, ValueError) as error:
        raise DataError(f"{name} must hold numbers (one weight per row).") from error
    if len(weights) != n:
        raise DataError(f"{name} has {len(weights)} rows but y_true has {n}; one weight per row.")
    bad = ~np.isfinite(weights) | (weights < 0)
    if bad.any():
        raise DataError(
            f"{name} has {int(bad.sum())} missing, infinite or negative weight(s) (first at row "
            f"{int(np.argmax(bad))}); weights must be finite and >= 0."
        )
    if not weights.sum() > 0:
        raise DataError(f"{name} sums to 0; at least one row needs a positive weight.")
    return weights


def _regression_part(data: _Rows, metrics, rng, meta):
    """Columns, values and the replicate function of the regression metrics."""
    _, _, names, _ = resolve_metric_names(metrics, task="regression", has_score=False)
    y_t = _regression_values(data.y_true, "y_true")
    y_p = _regression_values(data.y_pred, "y_pred")
    slices = data.slices
    stats = engine.regression_stats(data.codes, y_t, y_p, data.n_groups, weights=data.weights)
    sums = slices.aggregate(stats.sums)
    centred = engine.combine_centred(stats.sums, slices)
    value = engine.regression_metrics(*sums[:, :5].T, centred, names, shift=stats.shift)

    def regression_replicates(b: int) -> np.ndarray:
        rep = engine.poisson_scale(rng, stats.strata, b, n_eff=stats.strata_n_eff)
        parts = engine.regression_replicates(rep, slices)
        return engine.regression_metrics(*parts, names, shift=stats.shift)

    meta["classes"] = None
    return list(names), [value], [regression_replicates]


def _classification_parts(data: _Rows, metrics, task, pos_label, rng, meta, findings):
    """Columns, values and replicate functions of the count, score and custom metrics."""
    score = data.score
    count_metrics, score_names, _, slow = resolve_metric_names(
        metrics, task=task, has_score=score is not None
    )
    if score_names:
        score_names = _probability_check(score, score_names, metrics, findings)
    y_codes, p_codes, classes = _encode_labels(data.y_true, data.y_pred, pos_label, task)
    if task == "binary" and len(classes) > 2:
        raise DataError(
            f"task='binary' but the labels have {len(classes)} values: "
            f"{classes.tolist()[:10]}. Use task='multiclass' or map labels to 0/1."
        )
    meta["classes"] = _label_list(classes)
    meta["pos_label"] = meta["classes"][-1] if task == "binary" else None
    n_classes = max(len(classes), 2)
    counts, counts_sq = engine.confusion_counts(
        data.codes, y_codes, p_codes, data.n_groups, n_classes, weights=data.weights
    )
    columns, values, replicates = [], [], []
    if count_metrics:
        names, value, replicate = _count_part(
            counts, count_metrics, task, meta["classes"], data.slices, rng, counts_sq=counts_sq
        )
        columns += names
        values.append(value)
        replicates.append(replicate)
    if score_names:
        value, replicate = _score_part(data, y_codes, counts, score_names, rng)
        columns += score_names
        values.append(value)
        replicates.append(replicate)
        meta["score_bins"] = engine.SCORE_BINS
    if slow:
        slow_values, slow_reps = _slow_metrics(slow, data, rng)
        columns += [getattr(f, "__name__", f"metric_{i}") for i, f in enumerate(slow)]
        values.append(slow_values)
        replicates.append(slow_reps)
    return columns, values, replicates


def _probability_check(score, score_names, metrics, findings) -> list[str]:
    """Scores outside [0, 1] allow ROC AUC only: refuse asked-for probability metrics, else note."""
    if not ((score < 0) | (score > 1)).any():
        return score_names
    prob = [m for m in score_names if m != "roc_auc"]
    if prob and metrics is not None:
        raise DataError(
            f"{prob} need probabilities in [0, 1] but score ranges from {score.min():.3g} to "
            f"{score.max():.3g}. Pass predict_proba(X)[:, 1], or ask only for 'roc_auc'."
        )
    findings.append(
        Finding(
            "info",
            "Scores are not probabilities",
            "Only ROC AUC was computed from the scores; Brier score, log loss "
            "and calibration need scores in [0, 1].",
        )
    )
    return ["roc_auc"]


def _score_part(data: _Rows, y_codes, counts, score_names, rng):
    """Exact score metrics per slice, and binned replicates centred on them."""
    slices, y01 = data.slices, y_codes.astype(float)
    sstats = engine.score_stats(data.codes, y01, data.score, data.n_groups, weights=data.weights)
    value = _score_point_values(data, sstats, slices.aggregate(counts), y01, score_names)
    binned = engine.score_metrics_from_strata(
        slices.aggregate(sstats.strata), sstats.stratum_ece_bin, score_names
    )
    shift = value - binned  # bias-correct binned replicates

    def score_replicates(b: int) -> np.ndarray:
        # the replicated strata (groups x labels x score bins) are large: draw them a few
        # replicates at a time (the same draws in the same order as all at once)
        step = max(1, _STRATA_VALUES // max(sstats.strata.size, 1))
        out = []
        for size in np.diff(np.r_[0:b:step, b]):
            rep = engine.poisson_scale(rng, sstats.strata, int(size), n_eff=sstats.strata_n_eff)
            agg = slices.aggregate(rep, axis=1)
            out.append(engine.score_metrics_from_strata(agg, sstats.stratum_ece_bin, score_names))
        return np.concatenate(out) + shift

    return value, score_replicates


def _count_part(counts, count_metrics, task, classes, slices, rng, *, counts_sq=None):
    """Column names, per-slice values and the replicate function of the count metrics.

    ``counts_sq`` (weighted counts only) holds each cell's sum of squared weights: a cell's
    Bayesian-bootstrap weight ``sum_i w_i Gamma_i(1)`` is then drawn as the Gamma with its mean
    ``sum w`` and variance ``sum w^2`` (shape: the effective rows ``(sum w)^2 / sum w^2``), which
    is ``Gamma(count)`` exactly when every weight is 1.
    """
    n_classes = max(len(classes), 2)

    def count_values(c: np.ndarray) -> np.ndarray:
        if task == "binary":
            return np.stack([m(c) for m in count_metrics], axis=-1)
        return _multiclass_values(c, count_metrics, n_classes)

    if task == "binary":
        names = [m.name for m in count_metrics]
    else:
        names = _multiclass_columns(count_metrics, classes)

    # Bayesian bootstrap with a Jeffreys prior (see the module docstring): each intersection
    # group's cell gets Gamma(count) (0 for an empty cell), and each slice's cell an extra
    # Gamma(prior); sums of Gammas are Gammas, so a slice's cell is Gamma(its count + prior).
    k2 = counts.shape[-1]
    prior = PRIOR * 4 / k2  # 1/2 per cell of a 2x2 table; the same total mass for K classes
    shape, scale, unit = counts.astype(float), 1.0, 1.0
    if counts_sq is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            shape = np.where(counts_sq > 0, counts**2 / counts_sq, 0.0)
            scale = np.where(counts > 0, counts_sq / counts, 0.0)
        unit = counts.sum() / max(shape.sum(), 1e-300)  # the prior in weight units (mean weight)

    def count_replicates(b: int) -> tuple[np.ndarray, np.ndarray]:
        draws = rng.gamma(shape, size=(b, *counts.shape))
        if counts_sq is not None:  # unweighted counts skip two passes over the draws
            draws *= scale
        cells = slices.aggregate(draws, axis=1)
        extra = rng.gamma(prior, size=cells.shape)
        if counts_sq is not None:
            extra *= unit
        with_prior = count_values(cells + extra)
        with _quiet():
            without = count_values(cells)
        if "count" in names:  # a slice's size: Gamma(n), the prior is for rates only
            with_prior[..., names.index("count")] = cells.sum(axis=-1)
        return with_prior, without

    return names, count_values(slices.aggregate(counts)), count_replicates


def _assemble(
    columns,
    values_parts,
    replicate_parts,
    slices,
    encoding,
    findings,
    meta,
    *,
    task,
    ci,
    n_boot,
    min_group_size=MIN_GROUP_SIZE,
) -> GroupMetricsResult:
    """Values, bootstrap bounds, disparities, tidy tables and findings: the same for every
    backend once the sufficient statistics exist."""
    values = np.concatenate(values_parts, axis=-1)
    overflow = np.isinf(values)
    if overflow.any():  # e.g. squared errors of values near 1e300: never report inf as a number
        names = sorted({columns[j] for j in np.flatnonzero(overflow.any(axis=0))})
        values = np.where(overflow, np.nan, values)
        findings.append(
            Finding(
                "warning",
                "Metrics overflowed",
                f"{', '.join(names)}: the values are too large to compute in floating point; "
                f"they are reported as NaN. Rescale the target (e.g. to thousands).",
            )
        )
    lower = np.full_like(values, np.nan)
    upper = np.full_like(values, np.nan)
    disparities = _disparity_arrays(values, slices.families)
    disparity_bounds: dict = {}
    if ci is not None:
        both = _draw_replicates(replicate_parts, n_boot, slices.n_slices, len(columns))
        # the union of the intervals with and without the prior (see _count_part)
        (lo_a, hi_a), (lo_b, hi_b) = (percentile_bounds(rep, ci) for rep in both)
        lower, upper = contain(np.fmin(lo_a, lo_b), np.fmax(hi_a, hi_b), values)
        lower = np.where(np.isinf(lower) | overflow, np.nan, lower)
        upper = np.where(np.isinf(upper) | overflow, np.nan, upper)
        with_prior = _disparity_bounds(values, both[0], slices.families, ci)
        without = _disparity_bounds(values, both[1], slices.families, ci)
        disparity_bounds = {
            key: (np.fmin(low, without[key][0]), np.fmax(high, without[key][1]))
            for key, (low, high) in with_prior.items()
        }
        meta["bootstrap"] = "bayesian (Jeffreys prior) for counts, poisson for sums"
        meta["disparity_intervals"] = (
            "simultaneous (Bonferroni) percentile intervals of pairwise differences/ratios"
        )

    table = pd.DataFrame(
        {
            "attribute": np.repeat(slices.attribute, len(columns)),
            "group": np.repeat(slices.group, len(columns)),
            # the structured key of each row: (attribute, group) are texts to read, not to parse
            "slice": np.repeat(_object_array(slices.keys), len(columns)),
            "metric": np.tile(columns, slices.n_slices),
            "value": values.ravel(),
            "lower": lower.ravel(),
            "upper": upper.ravel(),
        }
    )
    rows = []
    for (attribute, method, kind), value in disparities.items():
        low, high = disparity_bounds.get(
            (attribute, method, kind), (np.full(len(columns), np.nan),) * 2
        )
        low, high = contain(low, high, value)
        value, low, high = (np.where(np.isinf(a), np.nan, a) for a in (value, low, high))
        for j, metric in enumerate(columns):
            rows.append((attribute, metric, method, kind, value[j], low[j], high[j]))
    disparity_table = pd.DataFrame(
        rows, columns=["attribute", "metric", "method", "kind", "value", "lower", "upper"]
    )
    meta["min_group_size"] = int(min_group_size)
    findings += _findings(table, disparity_table, columns, ci, meta)
    return GroupMetricsResult(
        table=table,
        disparities=disparity_table,
        task=task,
        sensitive_names=list(encoding.names),
        ci=ci,
        n_boot=n_boot if ci is not None else 0,
        findings=tuple(findings),
        meta=meta,
    )


@recorded("metrics.group_metrics")
@validate_params(
    ci=[CI, None],
    n_boot=Interval(int, 2, None),
    random_state=RANDOM_STATE,
    task=Options(*TASKS),
    min_group_size=Interval(int, 1, None),
    backend=Options(*BACKENDS),
    memory_limit=[str, None],
    score_bins=Interval(int, 10, None),
)
def group_metrics_of(
    data,
    *,
    metrics: Sequence | None = None,
    ci: float | None = 0.95,
    n_boot: int = 1000,
    random_state=None,
    pos_label=None,
    task: str = "auto",
    min_group_size: int = MIN_GROUP_SIZE,
    backend: str = "auto",
    memory_limit: str | None = "1GB",
    score_bins: int = 1000,
    progress: Callable[[float, float], None] | None = None,
    ledger=None,
) -> GroupMetricsResult:
    """:func:`group_metrics` of a :class:`raikit.Dataset`, computed where its rows live.

    The Dataset names the columns: ``target``, ``prediction``, ``sensitive`` (the protected
    attributes), and optionally ``score`` and ``weight``; its ``missing_group`` applies. An
    in-memory Dataset goes to the numpy engine; a lazy one (files larger than memory, a glob, a
    Spark DataFrame) is reduced to sufficient statistics by DuckDB or Spark, and everything above
    the statistics (metrics, intervals, findings) is the numpy engine's own code, so the numbers
    agree.

    Parameters
    ----------
    data : Dataset
        With a ``target`` and a ``prediction`` column (add a model's with
        :meth:`raikit.Dataset.with_predictions`).
    metrics, ci, n_boot, random_state, pos_label, task, min_group_size, ledger
        As for :func:`group_metrics`.
    backend : {"auto", "numpy", "duckdb", "spark"}
        Where the sufficient statistics are computed. ``auto``: DuckDB for a lazy Dataset over
        files, Spark for one over a Spark DataFrame, numpy otherwise. ``duckdb`` runs one SQL
        ``GROUP BY`` over the Dataset's files (also when it was loaded eagerly from a path);
        ``spark`` one ``groupBy().agg()`` on its Spark DataFrame (or on its files, read with the
        active SparkSession); ``numpy`` loads the rows (see :meth:`raikit.Dataset.materialize`).
        The DuckDB and Spark backends compute the count metrics and, with a score, ROC AUC from
        per-group score histograms (see ``score_bins``), Brier score, log loss and calibration
        error. With a ``weight`` role they weight every metric: confusion cells and score bins
        hold sums of the weights and of their squares (the count metrics get the same values
        and intervals as ``numpy``; the score metrics its weighted Brier score, log loss and
        calibration error, and the weighted ROC AUC within the bound below). Regression and
        custom callables need ``numpy``.
    memory_limit : str, default "1GB"
        DuckDB's memory limit (it spills to disk beyond it).
    score_bins : int, default 1000
        DuckDB and Spark: equal-width score bins on [0, 1] (a multiple of 10). ROC AUC is
        computed from them with same-bin pairs counted as ties, so
        ``|AUC_binned - AUC_exact| <= 0.5 * P(a positive and a negative share a bin)`` (pairs
        weighted by the product of their weights with a ``weight`` role); the result's
        ``meta["roc_auc_error_bound"]`` gives that bound per slice.
    progress : callable, optional
        DuckDB and Spark: ``progress(done, total)`` with the share of the scan done (``total``
        is 1.0).

    Returns
    -------
    GroupMetricsResult

    Raises
    ------
    ParameterError
        A parameter outside its domain, or a backend that cannot reach the Dataset's rows.
    ColumnError
        The Dataset has no target or no prediction column.

    See Also
    --------
    raikit.metrics.group_metrics : the same engine on arrays.

    Examples
    --------
    >>> import pandas as pd
    >>> from raikit import Dataset
    >>> from raikit.metrics import group_metrics_of
    >>> frame = pd.DataFrame({"y": [1, 0, 1, 1, 0, 0], "p": [1, 0, 0, 1, 1, 0],
    ...                       "sex": ["F", "F", "F", "M", "M", "M"]})
    >>> ds = Dataset(frame, target="y", prediction="p", sensitive="sex")
    >>> r = group_metrics_of(ds, metrics=["selection_rate"], ci=None)
    >>> r.by_group["selection_rate"].round(3).tolist()
    [0.333, 0.667]

    The same rows in a Parquet file, with scores and weights, reduced by DuckDB (the weighted
    ROC AUC, as scikit-learn's ``roc_auc_score(..., sample_weight=w)``):

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "scored.parquet")
    >>> frame.assign(s=[0.9, 0.5, 0.4, 0.8, 0.85, 0.1], w=[1, 2, 1, 1, 1, 3]).to_parquet(path)
    >>> lazy = Dataset(path, target="y", prediction="p", sensitive="sex", score="s", weight="w",
    ...                lazy=True)
    >>> r = group_metrics_of(lazy, metrics=["roc_auc"], ci=None)
    >>> r.meta["backend"], r.by_group["roc_auc"].round(3).tolist()
    ('duckdb', [0.5, 0.75])
    """
    data = check_dataset(data, need=["target", "prediction"], caller="group_metrics_of")
    backend = _choose_backend(data, backend)
    settings = {"ci": ci, "n_boot": n_boot, "random_state": random_state, "task": task}
    settings["min_group_size"] = min_group_size
    if backend == "numpy":
        return group_metrics(
            data.y,
            data.y_pred,
            sensitive_features=data.sensitive,
            score=data.y_score,
            sample_weight=data.weights,
            metrics=metrics,
            pos_label=pos_label,
            missing_group=data.missing_group,
            **settings,
        )
    if task == "regression" or any(callable(m) for m in metrics or []):
        raise ParameterError(
            f"group_metrics_of(): the {backend} backend computes classification metrics from "
            f"counts and score histograms (no regression or custom callables); use "
            f"backend='numpy' on a sample (Dataset.sample) for those."
        )
    if data.score is not None and score_bins % 10:
        raise ParameterError(
            f"group_metrics_of(): score_bins must be a multiple of 10 (the calibration bins are "
            f"tenths), got {score_bins}; e.g. 1000 or 10000."
        )
    columns = {
        "target": data.target,
        "prediction": data.prediction,
        "sensitive": list(data.sensitive_names),
        "score": data.score,
        "score_bins": score_bins,
        "pos_label": pos_label,
        "missing_group": data.missing_group,
        "weight": data.weight,
        "progress": progress,
    }
    if backend == "duckdb":
        from raikit.metrics._duckdb import duckdb_counts

        aggregated = duckdb_counts(data.source, memory_limit=memory_limit, **columns)
    else:
        from raikit.metrics._spark import spark_counts

        aggregated = spark_counts(data.source, **columns)
    return _from_counts(aggregated, metrics=metrics, **settings)


def _choose_backend(data, backend: str) -> str:
    """The backend that reaches the Dataset's rows: ``auto`` follows where they live."""
    from raikit.metrics._spark import is_spark_frame

    on_spark = is_spark_frame(data.source)
    on_files = isinstance(data.source, str | os.PathLike | list)
    if backend == "auto":
        if not data.is_lazy:
            return "numpy"
        return "spark" if on_spark else "duckdb"
    if backend == "duckdb" and not on_files:
        raise ParameterError(
            "group_metrics_of(): backend='duckdb' reads files; this Dataset was not made from a "
            "path or glob. Use backend='numpy' (or 'spark' for a Spark DataFrame)."
        )
    if backend == "spark" and not (on_spark or on_files):
        raise ParameterError(
            "group_metrics_of(): backend='spark' needs a Dataset over a Spark DataFrame or over "
            "files; this one is an in-memory table. Use backend='numpy'."
        )
    if backend != "spark" and on_spark and data.is_lazy:
        raise ParameterError(
            f"group_metrics_of(): a Spark DataFrame is reduced by Spark: use backend='spark' (or "
            f"'auto'), not {backend!r}; or bring a sample to pandas with "
            f"Dataset.sample(n, stratify='sensitive')."
        )
    return backend


def _from_counts(
    aggregated, *, metrics, ci, n_boot, random_state, task, min_group_size
) -> GroupMetricsResult:
    """Group metrics from counts (and score histograms) a backend computed: no rows in memory."""
    classes = aggregated.classes
    if task == "auto":
        task = "binary" if len(classes) <= 2 else "multiclass"
    strata = aggregated.score_strata
    has_score = strata is not None and task == "binary"
    count_metrics, score_names, _, _ = resolve_metric_names(metrics, task=task, has_score=has_score)
    if task == "binary" and len(classes) > 2:
        raise DataError(f"task='binary' but the labels have {len(classes)} values.")
    encoding = aggregated.encoding
    slices = engine.build_slices(encoding)
    rng = rng_from(random_state)
    labels = _label_list(classes)
    meta = {
        "n_rows": aggregated.n_rows,
        "n_groups": len(encoding.intersection_labels),
        "random_state": random_state,
        "classes": labels,
        "pos_label": labels[-1] if task == "binary" else None,
        "backend": aggregated.backend,
        "slice_rows": slices.aggregate(aggregated.counts.sum(axis=-1)).tolist(),
        "weighted": aggregated.weighted is not None,
    }
    columns, values_parts, replicate_parts = [], [], []
    if count_metrics:
        weighted = aggregated.weighted is not None
        names, value, replicate = _count_part(
            aggregated.weighted if weighted else aggregated.counts,
            count_metrics,
            task,
            labels,
            slices,
            rng,
            counts_sq=aggregated.weighted_sq,
        )
        columns += names
        values_parts.append(value)
        replicate_parts.append(replicate)
    if score_names:
        value, replicate = _histogram_score_part(
            strata, score_names, slices, rng, meta, strata_sq=aggregated.score_strata_sq
        )
        columns += score_names
        values_parts.append(value)
        replicate_parts.append(replicate)
    return _assemble(
        columns,
        values_parts,
        replicate_parts,
        slices,
        encoding,
        [],
        meta,
        task=task,
        ci=ci,
        n_boot=n_boot,
        min_group_size=min_group_size,
    )


def _binned_auc(n_neg: np.ndarray, n_pos: np.ndarray) -> np.ndarray:
    """AUC from bin counts shaped (slices, bins, replicates); same-bin pairs count one half."""
    below = np.cumsum(n_neg, axis=1) - n_neg
    concordant = (n_pos * (below + 0.5 * n_neg)).sum(axis=1)
    pairs = n_pos.sum(axis=1) * n_neg.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(pairs > 0, concordant / pairs, np.nan)


def _histogram_score_part(strata, score_names, slices, rng, meta, *, strata_sq=None):
    """Score metrics from per-group histograms of equal-width score bins.

    ``strata`` is (groups, label, bin, [n, sum s, sum s^2, sum log-loss term]); with weights, ``n``
    is the sum of the weights, the sums are weighted and ``strata_sq`` (groups, label, bin) holds
    the sums of squared weights. Brier score and log loss are exact (sums); ROC AUC counts
    same-bin pairs as ties; the calibration error uses the tenths of [0, 1] (unions of whole
    bins). See :func:`_histogram_replicates` for the bootstrap.
    """
    n_bins = strata.shape[2]
    ece_bin = (np.arange(n_bins) * engine.ECE_BINS) // n_bins
    per_slice = slices.aggregate(strata)
    value = engine.score_metrics_from_strata(per_slice, ece_bin, score_names)
    meta["score_bins"] = n_bins
    meta["roc_auc"] = "binned"
    if "roc_auc" in score_names:
        n_neg, n_pos = per_slice[:, 0, :, 0], per_slice[:, 1, :, 0]
        with np.errstate(invalid="ignore", divide="ignore"):
            bound = 0.5 * (n_pos * n_neg).sum(axis=-1) / (n_pos.sum(-1) * n_neg.sum(-1))
        meta["roc_auc_error_bound"] = {
            key.text: (float(b) if np.isfinite(b) else None)
            for key, b in zip(slices.keys, bound, strict=True)
        }
    replicates = _histogram_replicates(
        strata, strata_sq, ece_bin, score_names, slices, rng, meta, value=value
    )
    return value, replicates


def _histogram_replicates(strata, strata_sq, ece_bin, score_names, slices, rng, meta, *, value):
    """The replicate function of the histogram score metrics (a Poisson bootstrap).

    Adjacent bins merge into about 256 strata of equal mass (within tenths, so the calibration
    bins stay exact), as the numpy engine stratifies; each non-empty (group, label, stratum)
    draws ``Poisson(m)`` with ``m`` its rows, or its effective rows ``(sum w)^2 / sum w^2`` when
    weighted, and its count and sums are scaled by ``Poisson(m) / m``. Replicates are centred on
    the fine-binned ``value``. Exact Poisson draws cost ~0.1 us each; the merging keeps them at
    groups x 2 x ~256 per replicate.
    """
    mass = strata[..., 0].sum(axis=(0, 1))
    before = np.cumsum(mass) - mass
    quantile = np.minimum(
        (before / max(mass.sum(), 1e-300) * engine.SCORE_BINS).astype(np.int64),
        engine.SCORE_BINS - 1,
    )
    key = ece_bin * engine.SCORE_BINS + quantile  # non-decreasing along the bins
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    strata = np.add.reduceat(strata, starts, axis=2)
    ece_bin, n_bins = ece_bin[starts], len(starts)
    merged_value = engine.score_metrics_from_strata(slices.aggregate(strata), ece_bin, score_names)
    shift = value - merged_value  # the fine bins' AUC minus the strata's: replicates are centred
    meta["bootstrap_score_strata"] = n_bins
    # Only non-empty (group, label, stratum) cells are drawn. Sparse matrices send each into the
    # cells of the slices its group belongs to: (slice, label, stratum) counts for the AUC, and
    # (slice, label, tenth) sums for the other metrics, which need no finer bins.
    flat = strata.reshape(-1, 4)
    nonzero = np.flatnonzero(flat[:, 0] > 0)
    sums = flat[nonzero]
    draws = sums[:, 0]  # Poisson means: rows, or the effective rows of weighted strata
    if strata_sq is not None:
        squares = np.add.reduceat(strata_sq, starts, axis=2).reshape(-1)[nonzero]
        draws = engine.effective_rows(draws, squares)
    group, label_bin = np.divmod(nonzero, 2 * n_bins)
    label, bin_ = np.divmod(label_bin, n_bins)
    member = slices.membership.tocsc()
    per = np.diff(member.indptr)[group]  # slices of each stratum's group
    first = np.repeat(member.indptr[group], per)
    offset = np.arange(per.sum()) - np.repeat(np.cumsum(per) - per, per)
    slice_of = member.indices[first + offset]
    column = np.repeat(np.arange(len(nonzero)), per)
    n_slices, n_tenths = slices.n_slices, engine.ECE_BINS

    def spread(cells, n_cells, stat):
        # A stratum's drawn count times its statistic per draw (stat / m) is the Poisson(m) / m
        # scaling of that statistic, applied inside the sparse product.
        values = np.repeat(stat / draws, per)
        return sparse.csr_matrix((values, (cells, column)), shape=(n_cells, len(nonzero)))

    to_bins = spread(
        slice_of * (2 * n_bins) + np.repeat(label_bin, per), n_slices * 2 * n_bins, sums[:, 0]
    )
    tenth_cells = (slice_of * 2 + np.repeat(label, per)) * n_tenths + np.repeat(ece_bin[bin_], per)
    to_tenths = [spread(tenth_cells, n_slices * 2 * n_tenths, sums[:, i]) for i in range(4)]
    others = [m for m in score_names if m != "roc_auc"]
    per_chunk = max(1, 4_000_000 // (n_slices * 2 * n_bins))  # ~32 MB of bin counts per chunk

    def score_replicates(b: int) -> np.ndarray:
        out = []
        for start in range(0, b, per_chunk):
            k = min(per_chunk, b - start)
            drawn = rng.poisson(draws[:, None], size=(len(draws), k)).astype(float)
            parts = {}
            if "roc_auc" in score_names:
                counts = np.asarray(to_bins @ drawn).reshape(n_slices, 2, n_bins, k)
                parts["roc_auc"] = _binned_auc(counts[:, 0], counts[:, 1]).T[..., None]
            if others:
                tenths = np.stack([np.asarray(m @ drawn) for m in to_tenths], axis=-1)
                tenths = tenths.reshape(n_slices, 2, n_tenths, k, 4).transpose(3, 0, 1, 2, 4)
                values = engine.score_metrics_from_strata(tenths, np.arange(n_tenths), others)
                parts.update({m: values[..., [i]] for i, m in enumerate(others)})
            out.append(np.concatenate([parts[m] for m in score_names], axis=-1))
        return np.concatenate(out) + shift

    return score_replicates


# float64 values a bootstrap step may hold at once (8 MB): bounds the replicated score strata
_STRATA_VALUES = 1_000_000


def _draw_replicates(parts, n_boot: int, n_slices: int, n_metrics: int) -> np.ndarray:
    """All bootstrap replicates, in chunks so that memory stays bounded.

    Shape ``(2, n_boot, slices, metrics)``: a part returns either one array, or a pair (the count
    part: replicates with the Jeffreys prior, and the same draws without it); a single array
    fills both.
    """
    chunk = max(1, min(n_boot, 2_000_000 // max(n_slices * n_metrics * 64, 1)))
    out = np.empty((2, n_boot, n_slices, n_metrics))
    for start in range(0, n_boot, chunk):  # loop over replicate chunks, not rows or groups
        b = min(chunk, n_boot - start)
        drawn = [part(b) for part in parts]
        for k in range(2):
            out[k, start : start + b] = np.concatenate(
                [d[k] if isinstance(d, tuple) else d for d in drawn], axis=-1
            )
    return out


def _multiclass_columns(count_metrics: list[CountMetric], classes: list) -> list[str]:
    columns = []
    for m in count_metrics:
        if m.name in ("count", "accuracy"):
            columns.append(m.name)
        else:
            columns += [f"{m.name}[{c}]" for c in classes] + [f"{m.name}_macro"]
    return columns


def _multiclass_values(
    counts: np.ndarray, count_metrics: list[CountMetric], n_classes: int
) -> np.ndarray:
    ovr = engine.one_vs_rest(counts, n_classes)  # (..., K, 4)
    total = counts.sum(axis=-1).astype(float)
    diagonal = counts[..., :: n_classes + 1].sum(axis=-1)
    out = []
    with np.errstate(invalid="ignore", divide="ignore"), _quiet():
        for m in count_metrics:
            if m.name == "count":
                out.append(total[..., None])
            elif m.name == "accuracy":
                out.append(np.where(total > 0, diagonal / total, np.nan)[..., None])
            else:
                per_class = m(ovr)  # (..., K)
                out += [per_class, np.nanmean(per_class, axis=-1, keepdims=True)]
    return np.concatenate(out, axis=-1)


def _score_point_values(data: _Rows, sstats, slice_counts, y01, names):
    """Exact score metrics per slice: AUC by sorting, the rest from additive per-group sums."""
    encoding, slices, score = data.encoding, data.slices, data.score
    n = slice_counts.sum(axis=-1).astype(float)
    out = []
    with np.errstate(invalid="ignore", divide="ignore"):
        for name in names:
            if name == "roc_auc":
                family_codes = [np.zeros(len(score), dtype=np.int64), *encoding.codes]
                sizes = [1, *[len(lv) for lv in encoding.levels]]
                if len(encoding.names) > 1:
                    family_codes.append(encoding.intersection_codes)
                    sizes.append(len(encoding.intersection_labels))
                auc = engine.exact_auc(family_codes, sizes, score, y01, weights=data.weights)
                out.append(np.concatenate(auc))
            elif name == "brier_score":
                out.append(np.where(n > 0, slices.aggregate(sstats.brier_sum) / n, np.nan))
            elif name == "log_loss":
                out.append(np.where(n > 0, slices.aggregate(sstats.log_loss_sum) / n, np.nan))
            else:
                ece = slices.aggregate(sstats.ece)  # (R, bins, 3)
                gap = np.abs(ece[..., 1] - ece[..., 2]).sum(axis=-1)
                out.append(np.where(n > 0, gap / n, np.nan))
    return np.stack(out, axis=-1)


def _slow_metrics(funcs, data: _Rows, rng):
    """Arbitrary ``f(y_true, y_pred)`` metrics: one call per slice (and per replicate)."""
    encoding, slices = data.encoding, data.slices
    y_true, y_pred, weights = data.y_true, data.y_pred, data.weights
    order = np.argsort(encoding.intersection_codes, kind="stable")
    bounds = np.searchsorted(
        encoding.intersection_codes[order], np.arange(len(encoding.intersection_labels) + 1)
    )
    membership = slices.membership.tolil()
    rows_of_slice = []
    for r in range(slices.n_slices):  # slow path by design: documented as such
        groups = membership.rows[r]
        rows_of_slice.append(
            np.concatenate([order[bounds[g] : bounds[g + 1]] for g in groups])
            if groups
            else np.array([], dtype=np.int64)
        )

    def evaluate(draws=None):
        out = np.full((slices.n_slices, len(funcs)), np.nan)
        for r, rows in enumerate(rows_of_slice):
            if draws is not None:
                rows = np.repeat(rows, draws[rows])
            if len(rows) == 0:
                continue
            extra = {} if weights is None else {"sample_weight": weights[rows]}
            for j, f in enumerate(funcs):
                out[r, j] = float(f(y_true[rows], y_pred[rows], **extra))
        return out

    def replicates(b: int) -> np.ndarray:
        return np.stack([evaluate(rng.poisson(1.0, size=len(y_true))) for _ in range(b)])

    return evaluate(), replicates


def _object_array(items: list) -> np.ndarray:
    """A 1-D object array of ``items`` as they are (numpy would unpack a Mapping or a tuple)."""
    out = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):  # one per slice, not per row
        out[i] = item
    return out


def _findings(table, disparities, columns, ci, meta) -> list[Finding]:
    """Empty, small and undefined groups, and the four-fifths rule; each finding carries its
    group's key (:class:`raikit._grouping.SliceKey`) from the table's ``slice`` column."""
    findings: list[Finding] = []
    min_size = meta["min_group_size"]
    groups = table[table["attribute"] != "overall"]
    sizes = _slice_sizes(meta, table)
    keys = table.drop_duplicates("slice")["slice"].tolist()  # aligned with sizes
    for where, rows in zip(keys, sizes.to_numpy(), strict=True):  # groups, not rows
        if not where:  # the whole population
            continue
        if rows == 0:
            findings.append(
                Finding(
                    "warning",
                    f"Empty group {where}",
                    "No rows belong to this group; its metrics are undefined.",
                    key=where,
                )
            )
        elif rows < min_size:
            findings.append(
                Finding(
                    "warning",
                    f"Small group {where}",
                    f"Only {int(rows)} rows (fewer than min_group_size={min_size}): its metrics "
                    "are unreliable and it does not count towards a verdict"
                    + (" (see the wide intervals)." if ci else "; compute intervals with ci=0.95."),
                    key=where,
                )
            )
    undefined = groups[groups["value"].isna()]
    rows_of = dict(zip(keys, sizes.to_numpy(), strict=True))
    codes, undefined_keys = pd.factorize(undefined["slice"])
    metric_names = undefined["metric"].to_numpy()
    for i, where in enumerate(undefined_keys):  # the few groups with an undefined metric
        if rows_of.get(where, 1) == 0:
            continue
        names = ", ".join(metric_names[codes == i].tolist())
        findings.append(
            Finding(
                "warning",
                f"Undefined metrics for {where}",
                f"{names}: zero denominator (e.g. no positive labels or no positive predictions "
                f"in this group). They are reported as NaN, not 0.",
                key=where,
            )
        )
    if "selection_rate" in columns:
        findings += _four_fifths(groups, disparities, sizes, ci, min_size)
    return findings


def _slice_sizes(meta: dict, table: pd.DataFrame) -> pd.Series:
    """Rows per slice, indexed by (attribute, group), from the result's meta (one entry per
    slice key: two intersections may share a text)."""
    slices = table.drop_duplicates("slice" if "slice" in table.columns else ["attribute", "group"])
    index = pd.MultiIndex.from_frame(slices[["attribute", "group"]])
    rows = meta.get("slice_rows")
    if rows is None or len(rows) != len(index):  # results saved before slice_rows existed
        counts = table[table["metric"] == "count"]
        if len(counts) == len(index):
            rows = counts["value"].to_numpy()
        else:
            rows = np.full(len(index), np.nan)
    return pd.Series(np.asarray(rows, dtype=float), index=index, name="rows")


def assessable_groups(sizes: pd.Series, attribute: str, min_group_size: int) -> int:
    """How many groups of ``attribute`` have at least ``min_group_size`` rows."""
    part = sizes[sizes.index.get_level_values("attribute") == attribute]
    return int((part >= min_group_size).sum())


def _four_fifths(groups, disparities, sizes, ci, min_size) -> list[Finding]:
    """The four-fifths rule on the selection-rate ratio, with the same verdict rule as every
    criterion: an error only when the whole interval is below 0.8, a warning when it straddles
    0.8, and "not assessable" when fewer than two groups have ``min_group_size`` rows."""
    findings = []
    rule = disparities[
        (disparities["metric"] == "selection_rate")
        & (disparities["method"] == "between_groups")
        & (disparities["kind"] == "ratio")
    ]
    for row in rule.itertuples(index=False):  # one per attribute
        if not np.isfinite(row.value):
            continue
        n_ok = assessable_groups(sizes, row.attribute, min_size)
        has_interval = bool(ci) and np.isfinite(row.lower) and np.isfinite(row.upper)
        low_b, high_b = (row.lower, row.upper) if has_interval else (row.value, row.value)
        outcome = verdict(low_b, high_b, FOUR_FIFTHS, assessable=n_ok >= 2, higher_is_worse=False)
        if outcome == "pass":
            continue
        if outcome == "not assessable":
            findings.append(
                Finding(
                    "info",
                    f"Four-fifths rule not assessable for {row.attribute}",
                    f"{n_ok} group(s) of {row.attribute} have at least min_group_size="
                    f"{min_size} rows; the rule needs two.",
                    slice=row.attribute,
                )
            )
            continue
        rates = groups[
            (groups["attribute"] == row.attribute) & (groups["metric"] == "selection_rate")
        ].dropna(subset=["value"])
        low = rates.loc[rates["value"].idxmin()]
        high = rates.loc[rates["value"].idxmax()]
        interval = f" ({ci:.0%} CI {row.lower:.3f} to {row.upper:.3f})" if has_interval else ""
        if outcome == "fail":
            title = f"Four-fifths rule violated for {row.attribute}"
            tail = f" < {FOUR_FIFTHS}" + (", even at the upper bound." if has_interval else ".")
        else:
            title = f"Four-fifths rule possibly violated for {row.attribute}"
            tail = f"; the interval includes {FOUR_FIFTHS}."
        findings.append(
            Finding(
                "error" if outcome == "fail" else "warning",
                title,
                f"Selection rate of {low['group']} is {low['value']:.3f} vs "
                f"{high['value']:.3f} for {high['group']}: ratio {row.value:.3f}{interval}{tail}",
                key=low["slice"],
            )
        )
    return findings
