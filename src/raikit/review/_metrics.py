"""``review_metrics``: how good are automated decisions compared with reviewed ones, per group,
and may automation be widened?"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from raikit._errors import DataError, ParameterError
from raikit._recording import recorded
from raikit._result import Finding, Result
from raikit._validation import CI, RANDOM_STATE, Interval, validate_params

__all__ = ["ReviewMetricsResult", "review_metrics"]

_METRICS = ["count", "precision", "true_positive_rate", "accuracy"]
_RENAME = {"true_positive_rate": "recall"}
_TARGETS = ("precision", "recall", "accuracy")


@dataclass(frozen=True, eq=False)
class ReviewMetricsResult(Result):
    """Precision and recall of the automated share and of the reviewed share, per group.

    Attributes
    ----------
    table : DataFrame
        Tidy: ``share`` (``automated`` or ``reviewed``), ``attribute``, ``group``, ``metric``
        (count, precision, recall, accuracy), ``value``, ``lower``, ``upper`` (bootstrap CI).
    automation : DataFrame
        Per group: rows and the share decided automatically.
    gate : DataFrame
        Per group and target metric of the automated share: ``target``, ``value``, ``lower`` and
        ``meets`` (the lower confidence bound reaches the target).
    recommendation : str
        ``widen`` when every group's automated share meets every target, else ``hold``.
    targets : dict
        The targets the user set.
    pos_label : object
        The label counted as positive by precision and recall.
    ci : float
        Confidence level of the intervals.
    findings : tuple of Finding
        Targets missed, groups that need a wider review.

    See Also
    --------
    review_metrics : computes it.

    Examples
    --------
    >>> import numpy as np
    >>> from raikit.review import review_metrics
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 200)
    >>> r = review_metrics(y, y, reviewed=rng.random(200) < 0.3,
    ...                    sensitive_features=rng.choice(["F", "M"], 200), n_boot=20,
    ...                    random_state=0)
    >>> type(r).__name__, r.ci
    ('ReviewMetricsResult', 0.95)
    """

    table: pd.DataFrame
    automation: pd.DataFrame
    gate: pd.DataFrame
    recommendation: str
    targets: dict
    ci: float = 0.95
    pos_label: object = None
    findings: tuple = field(default_factory=tuple)

    @property
    def summary(self) -> str:
        overall = self.automation[self.automation["attribute"] == "overall"].iloc[0]
        failing = int((~self.gate["meets"].astype(bool)).sum()) if len(self.gate) else 0
        return (
            f"Review period: {overall['automated_share']:.1%} of {int(overall['n']):,} rows "
            f"automated; positive label {self.pos_label!r}; recommendation: "
            f"{self.recommendation} ({failing} target check(s) not met)."
        )

    def figures(self) -> list:
        import plotly.graph_objects as go

        from raikit._plots import error_bars

        figures = []
        for metric in ("precision", "recall"):
            fig = go.Figure()
            for share in ("automated", "reviewed"):
                rows = self.table[(self.table["share"] == share) & (self.table["metric"] == metric)]
                fig.add_bar(
                    x=rows["attribute"] + "=" + rows["group"].astype(str),
                    y=rows["value"],
                    name=share,
                    error_y=error_bars(rows["value"], rows["lower"], rows["upper"]),
                )
            if metric in self.targets:
                fig.add_hline(y=self.targets[metric], line_dash="dash", annotation_text="target")
            fig.update_layout(
                title=f"{metric.capitalize()}: automated vs reviewed", barmode="group"
            )
            figures.append(fig)
        return figures


def _tidy(result, share: str) -> pd.DataFrame:
    table = result.table.copy()
    table["metric"] = table["metric"].replace(_RENAME)
    table.insert(0, "share", share)
    return table[["share", "attribute", "group", "metric", "value", "lower", "upper"]]


@recorded("review.metrics")
@validate_params(
    targets=[dict, None],
    ci=CI,
    n_boot=Interval(int, 1, None),
    random_state=RANDOM_STATE,
)
def review_metrics(
    y_true,
    y_pred,
    *,
    reviewed,
    sensitive_features,
    targets: dict | None = None,
    ci: float = 0.95,
    pos_label=None,
    n_boot: int = 1000,
    random_state=None,
    ledger=None,
) -> ReviewMetricsResult:
    """Precision/recall of the automated vs the reviewed share per group, and an automation gate.

    Parameters
    ----------
    y_true : array-like
        True outcomes of the period (binary).
    y_pred : array-like
        Final decisions: the model's for automated rows, the reviewer's for reviewed rows.
    reviewed : array-like of bool
        True where a person decided the row.
    sensitive_features : array-like, Series or DataFrame
        Values of the sensitive attributes, one per row (a DataFrame for several attributes).
    targets : dict, optional
        Minimum ``precision``, ``recall`` and/or ``accuracy`` the automated share must reach in
        every group (its lower confidence bound must) before automation is widened.
    ci : float, default 0.95
        Confidence level of the bootstrap intervals.
    pos_label : optional
        The positive label of precision and recall. Inferred only for 0/1, False/True and -1/1
        labels; other labels (e.g. ``"approved"``/``"denied"``) need it.
    n_boot : int, default 1000
        Bootstrap replicates of the intervals.
    random_state : int, Generator or None, default None
        Seed of the bootstrap; ``None`` draws a fresh seed, recorded in the ledger.
    ledger : raikit.ledger.Ledger or path, optional
        Record the result as evidence (inside :func:`raikit.track` it is recorded anyway).

    Returns
    -------
    ReviewMetricsResult

    Raises
    ------
    ParameterError
        ``targets`` names an unknown metric or a value outside [0, 1]; ``ci`` or ``n_boot`` out
        of range.
    DataError
        Arrays of different lengths, ``reviewed`` not boolean, or a period without automated
        or without reviewed rows.

    See Also
    --------
    raikit.review.SelectiveClassifier : routes rows to review.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 400)
    >>> reviewed = rng.random(400) < 0.3
    >>> sex = np.where(rng.random(400) < 0.5, "F", "M")
    >>> result = review_metrics(y, y, reviewed=reviewed, sensitive_features=sex,
    ...                         targets={"precision": 0.9}, n_boot=50, random_state=0)
    >>> result.recommendation
    'widen'
    """
    targets = _check_targets(targets)
    y_true, y_pred, mask, sensitive, pos_label = _period(
        y_true, y_pred, reviewed, sensitive_features, pos_label
    )
    table, findings = _share_tables(
        y_true,
        y_pred,
        mask,
        sensitive,
        ci=ci,
        n_boot=n_boot,
        random_state=random_state,
        pos_label=pos_label,
    )
    gate = _gate(table, targets)
    recommendation = "widen" if targets and bool(gate["meets"].all()) else "hold"
    for row in gate[~gate["meets"]].itertuples(index=False):  # failing checks only (few)
        findings.append(
            Finding(
                "warning",
                f"Automated {row.metric} below target",
                f"{row.value:.3f} (lower bound {row.lower:.3f}) < target {row.target}; keep "
                f"routing this group's uncertain rows to review.",
                slice=f"{row.attribute}={row.group}",
            )
        )
    if not targets:
        findings.append(
            Finding("info", "No targets set", "Pass targets={...} to get a widen/hold gate.")
        )
    return ReviewMetricsResult(
        table=table,
        automation=_automation(table),
        gate=gate,
        recommendation=recommendation,
        targets=targets,
        ci=float(ci),
        pos_label=pos_label,
        findings=tuple(findings),
    )


def _check_targets(targets) -> dict:
    targets = dict(targets or {})
    unknown = sorted(set(targets) - set(_TARGETS))
    if unknown:
        raise ParameterError(
            f"review_metrics(): targets names unknown metric(s) {unknown}; choose from "
            f"{list(_TARGETS)}."
        )
    for name, value in targets.items():
        if not Interval(float, 0, 1).accepts(value):
            raise ParameterError(
                f"review_metrics(): targets[{name!r}] must be a number in [0, 1]; got {value!r}."
            )
    return {k: float(v) for k, v in targets.items()}


def _period(y_true, y_pred, reviewed, sensitive_features, pos_label):
    """The period's arrays checked for length and kind; the positive label resolved."""
    from raikit.metrics._group_metrics import resolve_pos_label

    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    mask = np.asarray(reviewed)
    if mask.dtype != bool:
        if pd.isna(mask).any() or not np.isin(mask, [0, 1]).all():
            raise DataError("reviewed must be True/False (or 1/0) per row, without missing values.")
        mask = mask.astype(bool)
    n = len(y_true)
    if len(y_pred) != n or len(mask) != n:
        raise DataError(
            f"y_true ({n}), y_pred ({len(y_pred)}) and reviewed ({len(mask)}) differ in length."
        )
    if isinstance(sensitive_features, pd.DataFrame | pd.Series):
        sensitive = sensitive_features.reset_index(drop=True)
    else:
        sensitive = pd.Series(np.asarray(sensitive_features, dtype=object), name="group")
    if len(sensitive) != n:
        raise DataError(f"sensitive_features has {len(sensitive)} rows but y_true has {n}.")
    labels = pd.unique(np.concatenate([y_true, y_pred]).astype(object))
    pos_label = resolve_pos_label(labels[pd.notna(labels)], pos_label)
    if mask.all() or not mask.any():
        raise DataError(
            "A review period needs both automated and reviewed rows; got "
            f"{int(mask.sum())} reviewed of {n}."
        )
    return y_true, y_pred, mask, sensitive, pos_label


def _share_tables(y_true, y_pred, mask, sensitive, **options):
    """The metrics of the automated and of the reviewed share (tidy), and their warnings."""
    from raikit.metrics import group_metrics

    tables, findings = [], []
    for share, rows in (("automated", ~mask), ("reviewed", mask)):
        result = group_metrics(
            y_true[rows],
            y_pred[rows],
            sensitive_features=sensitive[rows],
            metrics=_METRICS,
            **options,
        )
        tables.append(_tidy(result, share))
        findings += [
            replace(f, title=f"{share}: {f.title}")  # its slice and key kept
            for f in result.findings
            if f.severity == "warning"
        ]
    return pd.concat(tables, ignore_index=True), findings


def _automation(table: pd.DataFrame) -> pd.DataFrame:
    """Rows and automated share per group."""
    counts = table[table["metric"] == "count"].pivot_table(
        index=["attribute", "group"], columns="share", values="value", sort=False, observed=True
    )
    counts = counts.reindex(columns=["automated", "reviewed"]).fillna(0)
    total = counts["automated"] + counts["reviewed"]
    return pd.DataFrame(
        {
            "attribute": counts.index.get_level_values(0),
            "group": counts.index.get_level_values(1),
            "n": total.astype(int).to_numpy(),
            "automated_share": (counts["automated"] / total).to_numpy(),
        }
    )


def _gate(table: pd.DataFrame, targets: dict) -> pd.DataFrame:
    """Per group and target: does the automated share's lower bound reach the target?"""
    auto = table[(table["share"] == "automated") & table["metric"].isin(list(targets))].copy()
    auto["target"] = auto["metric"].map(targets).astype(float)
    auto["meets"] = auto["lower"].fillna(-np.inf) >= auto["target"]
    gate = auto[["attribute", "group", "metric", "target", "value", "lower", "meets"]]
    return gate.reset_index(drop=True)
