"""Compare audited models: what each mitigation gained and what it cost, criterion by criterion.

Every model is set against a baseline on every criterion the audits computed (accuracy,
balanced accuracy, ROC AUC and the between-group gaps behind each fairness criterion), with the
change and an interval for the change. A criterion that moved is "better" or "worse" only when
the interval of the change excludes zero; a cell that cannot be judged is "not assessed", and
says why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd

from raikit._errors import ParameterError
from raikit._plots import error_bars
from raikit._result import Finding, Result
from raikit._validation import validate_params

__all__ = ["CRITERIA", "ComparisonResult", "compare_audits"]


class _Criterion(NamedTuple):
    name: str  # how a person reads it
    metric: str  # the group metric behind it
    kind: str  # "overall": the metric on everyone; "gap": largest difference between groups
    higher_is_better: bool
    about: str  # the fairness criteria it measures (gaps) or what it is (overall)


CRITERIA = (
    _Criterion("accuracy", "accuracy", "overall", True, "share of correct predictions"),
    _Criterion("balanced accuracy", "balanced_accuracy", "overall", True, "mean of TPR and TNR"),
    _Criterion("ROC AUC", "roc_auc", "overall", True, "ranking quality of the scores"),
    _Criterion("selection-rate gap", "selection_rate", "gap", False, "demographic parity"),
    _Criterion("TPR gap", "true_positive_rate", "gap", False, "equal opportunity, equalized odds"),
    _Criterion("FPR gap", "false_positive_rate", "gap", False, "equalized odds"),
    _Criterion("precision gap", "precision", "gap", False, "predictive parity"),
    _Criterion("accuracy gap", "accuracy", "gap", False, "accuracy parity"),
    _Criterion("FN/FP-ratio gap", "fn_fp_ratio", "gap", False, "treatment equality"),
    _Criterion(
        "calibration-error gap",
        "expected_calibration_error",
        "gap",
        False,
        "calibration within groups",
    ),
)
"""Every criterion a comparison can judge, with its direction (``higher_is_better``)."""

_SCORE_METRICS = {"roc_auc", "expected_calibration_error", "brier_score", "log_loss"}
# What a metric divides by: a group without any of these leaves it undefined.
_DENOMINATOR = {
    "true_positive_rate": "positive labels",
    "false_positive_rate": "negative labels",
    "precision": "predicted positives",
    "fn_fp_ratio": "false positives",
    "balanced_accuracy": "rows of both labels",
    "roc_auc": "rows of both labels",
}
_CHECK = "metrics.group_metrics"
_VERDICTS = ("better", "worse", "no clear change", "not assessed")


@dataclass(frozen=True, eq=False)
class ComparisonResult(Result):
    """Several audits side by side, each model judged against a baseline.

    Attributes
    ----------
    changes : DataFrame
        One row per (model, attribute, criterion) for every model but the baseline:
        ``measures`` (the fairness criteria a gap measures), ``baseline_value/_lower/_upper``,
        ``value/lower/upper``, ``change`` (model - baseline) with ``change_lower`` /
        ``change_upper``, ``higher_is_better``, ``verdict`` ("better", "worse", "no clear
        change", "not assessed") and ``reason`` (why a cell is not assessed).
    table : DataFrame
        One row per (model, attribute, criterion), baseline included: ``quantity`` (``accuracy``,
        ``<metric> difference``...), ``value``, ``lower``, ``upper`` and ``reason`` (why the
        value is missing).
    scorecards : DataFrame
        Principle x model status of each audit's scorecard.
    scorecard_reasons : DataFrame
        Principle x model: the reason behind each status (why "not assessed", why "warn").
    findings : tuple of Finding
        Per model, the criteria it made clearly worse (warning) and clearly better (info); the
        most accurate and the fairest model.
    meta : dict
        ``baseline``, ``attributes``, ``models``, ``ci`` and how the interval of a change is
        computed (``change_interval``).

    See Also
    --------
    compare_audits : computes it.

    Examples
    --------
    >>> from sklearn.dummy import DummyClassifier
    >>> from sklearn.linear_model import LogisticRegression
    >>> from raikit.audit import audit, compare_audits
    >>> from raikit.datasets import load_german_credit
    >>> ds = load_german_credit().replace(features=["duration_months", "credit_amount", "age"])
    >>> train, test = ds.split(0.3, random_state=0)
    >>> reports = {
    ...     name: audit(model.fit(train.X, train.y), train=train, test=test, sections=["bias"],
    ...                 n_boot=30, random_state=0)
    ...     for name, model in (("logistic", LogisticRegression(max_iter=1000)),
    ...                         ("constant", DummyClassifier(strategy="most_frequent")))
    ... }
    >>> result = compare_audits(reports, attribute="sex")
    >>> result.changes.loc[result.changes["criterion"] == "selection-rate gap", "value"].item()
    0.0
    >>> result.summary.startswith("Against logistic: constant:")
    True
    """

    changes: pd.DataFrame
    table: pd.DataFrame
    scorecards: pd.DataFrame
    scorecard_reasons: pd.DataFrame = field(default_factory=pd.DataFrame)
    findings: tuple = ()
    meta: dict = field(default_factory=dict)

    @property
    def summary(self) -> str:
        baseline = self.meta.get("baseline")
        parts = []
        for model in self.meta.get("models", []):
            if model == baseline:
                continue
            rows = self.changes[self.changes["model"] == model]
            counts = rows["verdict"].value_counts()
            worse = ", ".join(_label(r) for r in rows[rows["verdict"] == "worse"].itertuples())
            parts.append(
                f"{model}: {counts.get('worse', 0)} worse"
                + (f" ({worse})" if worse else "")
                + f", {counts.get('better', 0)} better, "
                f"{counts.get('no clear change', 0)} no clear change, "
                f"{counts.get('not assessed', 0)} not assessed"
            )
        return f"Against {baseline}: " + "; ".join(parts) + "."

    def figures(self) -> list:
        """One panel per criterion: each model's value with its interval (one mark per model)."""
        import plotly.graph_objects as go
        from plotly.subplots import make_subplots

        table = self.table[np.isfinite(self.table["value"].to_numpy(float))]
        panels = list(dict.fromkeys(zip(table["attribute"], table["criterion"], strict=True)))
        if not panels:
            return []
        models = [str(m) for m in self.meta.get("models", [])]
        baseline = str(self.meta.get("baseline"))
        directions = {c.name: c.higher_is_better for c in CRITERIA}
        titles = [
            f"{c} ({a}): {'higher' if directions.get(c, True) else 'lower'} is better"
            if a != "overall"
            else f"{c}: {'higher' if directions.get(c, True) else 'lower'} is better"
            for a, c in panels
        ]
        rows = (len(panels) + 1) // 2
        fig = make_subplots(rows=rows, cols=2, subplot_titles=titles, vertical_spacing=0.3 / rows)
        for i, (attribute, criterion) in enumerate(panels):
            part = table[(table["attribute"] == attribute) & (table["criterion"] == criterion)]
            part = part.set_index(part["model"].astype(str)).reindex(models).dropna(subset="value")
            fig.add_trace(
                go.Scatter(
                    x=list(part.index),
                    y=part["value"],
                    mode="markers",
                    marker={
                        "size": 11,
                        "color": ["#555" if m == baseline else "#1565c0" for m in part.index],
                    },
                    error_y=error_bars(part["value"], part["lower"], part["upper"]),
                    name=titles[i],
                    showlegend=False,
                ),
                row=i // 2 + 1,
                col=i % 2 + 1,
            )
        fig.update_layout(
            title=f"Each criterion per model, with {_level(self.meta.get('ci'))} intervals "
            f"(grey mark: the baseline, {baseline})",
            height=260 * rows + 120,
            margin={"l": 50, "r": 20, "t": 90, "b": 40},
        )
        fig.update_annotations(font_size=12)
        return [fig]

    def to_html(self, path=None, *, title: str | None = None) -> str:
        """One page: the gains and costs table first, the findings, a figure per criterion, the
        scorecards with the reasons behind them, and the tidy tables folded away."""
        from raikit._html import (
            escape,
            figures_html,
            findings_html,
            frame_html,
            page_html,
            table_html,
        )

        shown = _display(self)
        classes = {"verdict": [f"verdict-{v.replace(' ', '-')}" for v in self.changes["verdict"]]}
        classes |= {c: ["number"] * len(shown) for c in shown.columns[4:7]}
        intro = (
            f"<p>{escape(self.summary)}</p><p>Each model against the baseline "
            f"<b>{escape(self.meta.get('baseline'))}</b>; change = model − baseline. "
            f"{escape(self.meta.get('change_interval', ''))} A criterion is <b>better</b> or "
            "<b>worse</b> only when the interval of its change excludes 0; <b>no clear "
            "change</b> when it contains 0; <b>not assessed</b> cells say why.</p>"
        )
        details = (
            "<details><summary>All numbers (tidy tables, as in the JSON)</summary>"
            "<h3>Changes against the baseline</h3>"
            + frame_html(self.changes.drop(columns=["higher_is_better"]))
            + "<h3>Every model's values</h3>"
            + frame_html(self.table)
            + "</details>"
        )
        sections = [
            (
                "What each model gained and cost",
                intro + table_html(shown, classes=classes),
            ),
            ("Findings", findings_html(self.findings)),
            ("Each criterion per model", figures_html(self.figures())),
            ("Scorecards", _scorecards_html(self, table_html)),
            ("Details", details),
        ]
        page = page_html(title or "Audits compared", sections)
        page = page.replace(
            "</style>",
            ".verdict-worse { color: #c62828; font-weight: bold; } "
            ".verdict-better { color: #2e7d32; font-weight: bold; } "
            ".verdict-not-assessed { color: #777; } .number { white-space: nowrap; }\n</style>",
            1,
        )
        if path is not None:
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(page)
        return page


# --------------------------------------------------------------------------- formatting
def _level(ci) -> str:
    return f"{ci:.0%}" if isinstance(ci, float) and np.isfinite(ci) else "confidence"


def _label(row) -> str:
    """``TPR gap on sex`` / ``accuracy``."""
    return row.criterion if row.attribute == "overall" else f"{row.criterion} on {row.attribute}"


def _number(value, *, signed: bool = False) -> str:
    """Three decimals; a value that would round to zero but is not keeps its sign and size.

    >>> _number(0.0543), _number(0.00012, signed=True), _number(0.0, signed=True)
    ('0.054', '+1.2e-04', '+0.000')
    """
    if value is None or not np.isfinite(value):
        return "—"
    sign = "+" if signed else ""
    if 0 < abs(value) < 0.0005:
        return f"{value:{sign}.1e}"
    return f"{value:{sign}.3f}"


def _with_interval(value, lower, upper, *, signed: bool = False) -> str:
    text = _number(value, signed=signed)
    if text == "—" or not (np.isfinite(lower) and np.isfinite(upper)):
        return text
    return f"{text} [{_number(lower, signed=signed)}, {_number(upper, signed=signed)}]"


def _display(result: ComparisonResult) -> pd.DataFrame:
    """The gains-and-costs table as a person reads it: rounded numbers with their intervals."""
    c = result.changes
    return pd.DataFrame(
        {
            "model": c["model"].astype(str),
            "criterion": [_label(r) for r in c.itertuples()],
            "fairness criterion": np.where(c["attribute"] == "overall", "", c["measures"]),
            "better when": np.where(c["higher_is_better"], "higher", "lower"),
            f"baseline: {result.meta.get('baseline')}": [
                _with_interval(*v)
                for v in zip(
                    c["baseline_value"], c["baseline_lower"], c["baseline_upper"], strict=True
                )
            ],
            "model value": [
                _with_interval(*v) for v in zip(c["value"], c["lower"], c["upper"], strict=True)
            ],
            "change": [
                _with_interval(*v, signed=True)
                for v in zip(c["change"], c["change_lower"], c["change_upper"], strict=True)
            ],
            "verdict": c["verdict"],
            "why not assessed": c["reason"],
        }
    )


def _scorecards_html(result: ComparisonResult, table_html) -> str:
    from raikit._html import escape

    cards = result.scorecards
    if cards.empty:
        return "<p>No scorecards.</p>"
    frame = cards.reset_index().rename(columns={"index": "principle"})
    frame.columns = [str(c) for c in frame.columns]
    classes = {str(m): [f"status-{s}".replace(" ", "-") for s in cards[m]] for m in cards.columns}
    reasons = result.scorecard_reasons

    def notes(statuses) -> str:
        items = [
            f"<li><b>{escape(model)}</b>, {escape(principle)} ({escape(status)}): "
            f"{escape(reasons.at[principle, model])}</li>"
            for model in cards.columns
            if model in reasons.columns
            for principle, status in cards[model].items()
            if status in statuses
        ]
        return f"<ul>{''.join(items)}</ul>" if items else ""

    unassessed = notes(("not assessed",))
    return (
        table_html(frame, classes=classes)
        + (f"<p><b>Why not assessed</b></p>{unassessed}" if unassessed else "")
        + "<details><summary>Why each mark (every audit's reasons)</summary>"
        + notes(("pass", "warn", "fail", "not assessed"))
        + "</details>"
    )


# --------------------------------------------------------------------------- computation
def _computed(reports: dict) -> list[_Criterion]:
    """The criteria whose metric at least one audit computed (accuracy when none did: its
    cells then say why nothing was assessed)."""
    computed = set()
    for report in reports.values():
        result = report.results.get(_CHECK)
        computed |= set(result.metric_names) if result is not None else set()
    return [c for c in CRITERIA if c.metric in computed] or [CRITERIA[0]]


def _values(name, report, attributes: list[str], criteria: list[_Criterion]) -> pd.DataFrame:
    """One row per (attribute, criterion) of one audit: value, interval, and why it is missing."""
    result = report.results.get(_CHECK)
    pairs = [("overall", c) for c in criteria if c.kind == "overall"]
    pairs += [(a, c) for a in attributes for c in criteria if c.kind == "gap"]
    overall = gaps = by_group = None
    if result is not None:
        overall = result.table[result.table["attribute"] == "overall"].set_index("metric")
        gaps = result.difference(bounds=True).set_index(["attribute", "metric"])
        by_group = result.by_group
    rows = []
    for attribute, criterion in pairs:
        value = lower = upper = np.nan
        reason = _missing(name, result, attribute, criterion)
        if not reason:
            source = overall.loc[criterion.metric] if attribute == "overall" else None
            if source is None:
                source = gaps.loc[(attribute, criterion.metric)]
            value, lower, upper = (float(source[k]) for k in ("value", "lower", "upper"))
            reason = _unjudged(name, result, attribute, criterion, (value, lower, upper), by_group)
        rows.append(
            (name, attribute, criterion.name, criterion.metric, criterion.kind,
             criterion.about, criterion.higher_is_better, value, lower, upper, reason)
        )  # fmt: skip
    return pd.DataFrame(
        rows,
        columns=[
            "model", "attribute", "criterion", "metric", "kind", "measures", "higher_is_better",
            "value", "lower", "upper", "reason",
        ],
    )  # fmt: skip


def _missing(name, result, attribute: str, criterion: _Criterion) -> str:
    """Why an audit has no number for a criterion ("" when it has one)."""
    if result is None:
        return f"the bias section did not run in the audit of {name} (no group metrics)"
    if criterion.metric not in result.metric_names:
        if criterion.metric in _SCORE_METRICS:
            return (
                f"the audit of {name} has no score column (the model gives no probabilities), "
                f"which {criterion.name} needs"
            )
        return f"{criterion.metric} was not computed in the audit of {name}"
    if attribute != "overall" and attribute not in result.attributes:
        return f"{attribute} is not a sensitive attribute of the audit of {name}"
    return ""


def _unjudged(name, result, attribute, criterion, numbers, by_group) -> str:
    """Why a number cannot be judged: too few groups, undefined in groups, no interval."""
    from raikit.metrics._group_metrics import assessable_groups

    value, lower, upper = numbers
    metric = criterion.metric
    lacking = f" (no {_DENOMINATOR[metric]})" if metric in _DENOMINATOR else ""
    if attribute != "overall":
        min_size = result.min_group_size
        if assessable_groups(result.group_sizes, attribute, min_size) < 2:
            return (
                f"fewer than two {attribute} groups have at least {min_size} rows in the "
                f"test data of {name} (min_group_size={min_size})"
            )
        per_group = by_group.xs(attribute, level="attribute")[metric]
        if per_group.notna().sum() < 2:
            undefined = ", ".join(str(g) for g in per_group.index[per_group.isna()][:5])
            return (
                f"{metric} is undefined in {attribute} group(s) {undefined} of {name}{lacking}: "
                "fewer than two groups are left to compare"
            )
    if not np.isfinite(value):
        return f"{metric} is undefined for {name}{lacking}"
    if not (np.isfinite(lower) and np.isfinite(upper)):
        return f"the audit of {name} has no confidence interval for {criterion.name}"
    return ""


def _changes(values: pd.DataFrame, baseline, cis: dict) -> pd.DataFrame:
    """Every model against the baseline, with the interval of the change and a verdict."""
    keys = ["attribute", "criterion"]
    base = values[values["model"] == baseline]
    base = base[[*keys, "value", "lower", "upper", "reason"]].add_prefix("baseline_")
    base = base.rename(columns={f"baseline_{k}": k for k in keys})
    rows = values[values["model"] != baseline].merge(base, on=keys, how="left")
    b, bl, bu = (rows[f"baseline_{c}"].to_numpy(float) for c in ("value", "lower", "upper"))
    m, ml, mu = (rows[c].to_numpy(float) for c in ("value", "lower", "upper"))
    change = m - b
    # MOVER (Newcombe 1998; Zou & Donner 2008): each side of the change combines the distances
    # to the two bounds that push it that way, as independent errors add.
    low = change - np.sqrt((m - ml) ** 2 + (bu - b) ** 2)
    high = change + np.sqrt((mu - m) ** 2 + (b - bl) ** 2)
    reason = rows["reason"].where(rows["reason"] != "", rows["baseline_reason"]).fillna("")
    base_ci = cis.get(baseline)
    other_ci = rows["model"].map(cis)
    differs = (other_ci != base_ci).to_numpy() & (reason == "").to_numpy()
    reason = reason.mask(
        differs,
        "the audits used different confidence levels ("
        + other_ci.astype(str)
        + f" and {base_ci}); re-run them with the same ci",
    )
    assessed = (reason == "").to_numpy() & np.isfinite(low) & np.isfinite(high)
    up = np.where(rows["higher_is_better"].to_numpy(bool), "better", "worse")
    down = np.where(rows["higher_is_better"].to_numpy(bool), "worse", "better")
    verdict = np.select(
        [~assessed, low > 0, high < 0], ["not assessed", up, down], default="no clear change"
    )
    out = rows.assign(
        change=change,
        change_lower=np.where(assessed, low, np.nan),
        change_upper=np.where(assessed, high, np.nan),
        verdict=verdict,
        reason=reason,
    )
    order = [
        "model", "attribute", "criterion", "metric", "measures", "higher_is_better",
        "baseline_value", "baseline_lower", "baseline_upper", "value", "lower", "upper",
        "change", "change_lower", "change_upper", "verdict", "reason",
    ]  # fmt: skip
    return out[order].reset_index(drop=True)


def _moved(row, baseline) -> str:
    """``raised the TPR gap between sex groups from 0.054 [..] to 0.323 [..] (change ...)``."""
    verb = "raised" if row.change > 0 else "lowered"
    what = (
        row.criterion
        if row.attribute == "overall"
        else f"the {row.criterion} between {row.attribute} groups"
    )
    return (
        f"{verb} {what} from {_with_interval(row.baseline_value, row.baseline_lower, row.baseline_upper)}"
        f" ({baseline}) to {_with_interval(row.value, row.lower, row.upper)}; change "
        f"{_with_interval(row.change, row.change_lower, row.change_upper, signed=True)}"
    )


def _findings(changes: pd.DataFrame, values: pd.DataFrame, baseline, models) -> list[Finding]:
    findings = []
    for model in models:
        if model == baseline:
            continue
        rows = changes[changes["model"] == model]
        for verdict, severity, word in (("worse", "warning", "cost"), ("better", "info", "gain")):
            moved = rows[rows["verdict"] == verdict]
            if not len(moved):
                continue
            labels = ", ".join(_label(r) for r in moved.itertuples())
            findings.append(
                Finding(
                    severity,
                    f"{model} made {len(moved)} criterion(s) {verdict} than {baseline}: {labels}",
                    f"{model} "
                    + "; ".join(_moved(r, baseline) for r in moved.itertuples())
                    + f". The interval of each change excludes 0 (a clear {word}).",
                )
            )
    findings += _best(values, "accuracy", "overall", "Most accurate model", largest=True)
    gaps = values[
        (values["kind"] == "gap")
        & values["metric"].isin(["selection_rate", "true_positive_rate", "false_positive_rate"])
    ]
    for attribute in pd.unique(gaps["attribute"]):
        findings += _fairest(gaps[gaps["attribute"] == attribute], attribute)
    return findings


def _best(values, criterion, attribute, title, *, largest) -> list[Finding]:
    rows = values[(values["criterion"] == criterion) & (values["attribute"] == attribute)].dropna(
        subset="value"
    )
    if not len(rows):
        return []
    best = rows.loc[rows["value"].idxmax() if largest else rows["value"].idxmin()]
    others = "; ".join(
        f"{r.model} {_with_interval(r.value, r.lower, r.upper)}" for r in rows.itertuples()
    )
    return [Finding("info", f"{title}: {best['model']}", f"Test {criterion}: {others}.")]


def _fairest(gaps: pd.DataFrame, attribute) -> list[Finding]:
    """The model whose largest selection-rate, TPR or FPR gap is the smallest."""
    usable = gaps[gaps["reason"] == ""]
    if not len(usable) or usable["model"].nunique() < gaps["model"].nunique():
        return []
    worst = usable.loc[usable.groupby("model", sort=False)["value"].idxmax()]
    best = worst.loc[worst["value"].idxmin()]
    listed = "; ".join(
        f"{r.model} {r.criterion} {_with_interval(r.value, r.lower, r.upper)}"
        for r in worst.itertuples()
    )
    return [
        Finding(
            "info",
            f"Fairest model on {attribute}: {best['model']}",
            f"Smallest largest gap (selection rate, TPR, FPR) between {attribute} groups; each "
            f"model's largest: {listed}.",
        )
    ]


def _same_test_data(reports: dict) -> list[Finding]:
    """A warning when the audits were not run on the same test data (rows or name differ)."""
    tests = {name: report.meta.get("test") or {} for name, report in reports.items()}
    seen = {(t.get("name"), t.get("rows")) for t in tests.values()}
    if len(seen) < 2:
        return []
    listed = "; ".join(
        f"{name}: {t.get('name')!r} ({t.get('rows')} rows)" for name, t in tests.items()
    )
    return [
        Finding(
            "warning",
            "The audits were run on different test data",
            f"{listed}. A change then mixes the model's effect with the data's; audit every "
            "model on the same test set.",
        )
    ]


def _check_reports(reports) -> None:
    if not isinstance(reports, Mapping) or len(reports) < 2:
        raise ParameterError(
            "compare_audits(): reports must be a dict of at least two AuditReports "
            f"(model name -> report); got {type(reports).__name__}"
            + (f" with {len(reports)} entry" if isinstance(reports, Mapping) else "")
            + ". Pass {'baseline': audit(...), 'mitigated': audit(...)}."
        )
    from raikit.audit._audit import AuditReport

    wrong = [str(k) for k, v in reports.items() if not isinstance(v, AuditReport)]
    if wrong:
        raise ParameterError(
            f"compare_audits(): reports[{wrong[0]!r}] is not an AuditReport; pass the result "
            "of raikit.audit.audit() (or AuditReport.from_json()) for every model."
        )


def _attributes(reports: dict, baseline, attribute) -> list[str]:
    known = []
    for report in reports.values():
        result = report.results.get(_CHECK)
        names = result.attributes if result is not None else report.meta.get("sensitive", [])
        known += [a for a in names if a not in known]
    if attribute is None:
        first = reports[baseline].results.get(_CHECK)
        return list(first.attributes) if first is not None else known
    if attribute not in known:
        raise ParameterError(
            f"compare_audits(): attribute {attribute!r} was not audited; choose from {known}."
        )
    return [attribute]


@validate_params(attribute=[str, None])
def compare_audits(
    reports: dict, *, attribute: str | None = None, baseline=None
) -> ComparisonResult:
    """Judge every model against a baseline on every criterion the audits computed.

    For each model but the baseline and each criterion of ``raikit.audit._compare.CRITERIA`` (accuracy,
    balanced accuracy, ROC AUC, and the gap between groups of ``attribute`` behind each
    fairness criterion: selection rate for demographic parity, TPR and FPR for equalized odds,
    precision, accuracy, calibration error...), the result holds the baseline's value and the
    model's value with their intervals, the change with an interval, and a verdict.

    The interval of a change combines the two audits' own intervals by the MOVER method
    (Newcombe 1998; Zou & Donner 2008): with baseline ``b`` in ``[bl, bu]`` and model ``m`` in
    ``[ml, mu]``, the change ``m - b`` runs from ``(m - b) - sqrt((m - ml)^2 + (bu - b)^2)`` to
    ``(m - b) + sqrt((mu - m)^2 + (b - bl)^2)``. That is right for independent estimates; two
    audits on the same test rows are positively correlated, for which it is wider than needed
    (conservative). A change is "better" or "worse" (by the criterion's direction: accuracy
    higher, gaps lower) only when that interval excludes 0, "no clear change" when it contains
    0, and "not assessed" when it cannot be judged; the ``reason`` column says why (the bias
    section did not run, no score column, fewer than two groups of ``min_group_size`` rows, a
    metric undefined in a group, no interval, different confidence levels).

    Parameters
    ----------
    reports : dict
        Model name -> :class:`AuditReport` (at least two), audited on the same test data.
    attribute : str, optional
        The protected attribute (or intersection, e.g. ``"sex & race"``) whose gaps are
        compared; default: every attribute the baseline's audit has.
    baseline : optional
        The name (a key of ``reports``) every other model is judged against; default: the
        first.

    Returns
    -------
    ComparisonResult

    Raises
    ------
    ParameterError
        Fewer than two reports, a value that is not an AuditReport, an unknown ``baseline`` or
        an ``attribute`` no audit has.

    See Also
    --------
    raikit.audit.audit : produces the reports it compares.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from raikit.audit import audit
    >>> from raikit.datasets import load_german_credit
    >>> ds = load_german_credit().replace(features=["duration_months", "credit_amount", "age"])
    >>> train, test = ds.split(0.3, random_state=0)
    >>> reports = {
    ...     name: audit(LogisticRegression(C=c, max_iter=1000).fit(train.X, train.y),
    ...                 train=train, test=test, sections=["bias"], n_boot=50, random_state=0)
    ...     for name, c in (("strong", 1.0), ("weak", 1e-6))
    ... }
    >>> result = compare_audits(reports, attribute="sex")
    >>> changes = result.changes.set_index("criterion")
    >>> changes.loc[["accuracy", "ROC AUC"], ["model", "verdict"]]
              model          verdict
    criterion
    accuracy   weak  no clear change
    ROC AUC    weak            worse
    """
    _check_reports(reports)
    names = list(reports)
    if baseline is None:
        baseline = names[0]
    elif baseline not in reports:
        raise ParameterError(
            f"compare_audits(): baseline {baseline!r} is not one of the reports; choose from "
            f"{[str(n) for n in names]}."
        )
    attributes = _attributes(reports, baseline, attribute)
    criteria = _computed(reports)
    values = pd.concat(
        [_values(name, report, attributes, criteria) for name, report in reports.items()],
        ignore_index=True,
    )
    cis = {name: report.meta.get("ci") for name, report in reports.items()}
    changes = _changes(values, baseline, cis)
    table = values.assign(
        quantity=np.where(
            values["kind"] == "gap", values["metric"] + " difference", values["metric"]
        )
    )[["model", "quantity", "attribute", "criterion", "value", "lower", "upper", "reason"]]
    scorecards = pd.DataFrame(
        {n: r.scorecard.set_index("principle")["status"] for n, r in reports.items()}
    )
    reasons = pd.DataFrame(
        {n: r.scorecard.set_index("principle")["reason"] for n, r in reports.items()}
    )
    return ComparisonResult(
        changes=changes,
        table=table,
        scorecards=scorecards,
        scorecard_reasons=reasons,
        findings=tuple(_same_test_data(reports) + _findings(changes, values, baseline, names)),
        meta={
            "attribute": attribute,
            "attributes": attributes,
            "baseline": baseline,
            "models": names,
            "ci": cis[baseline],
            "change_interval": (
                "The interval of a change combines the two audits' intervals by the MOVER "
                "method (square root of the summed squared distances to the bounds): exact "
                "for independent estimates, conservative for audits on the same test rows."
            ),
        },
    )
