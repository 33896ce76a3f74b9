"""Gates: an audit checked against a policy, one verdict per gate, an exit code for CI."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from raikit._errors import ParameterError
from raikit._grouping import SliceKey
from raikit._result import Finding, Result
from raikit.audit._load import load_audit
from raikit.gates._policy import SEVERITY_ORDER, STATUS_ORDER, Gate, Policy, load_policy

__all__ = ["VERDICTS", "GateResult", "check", "judge", "load_audit"]

VERDICTS = ("pass", "warn", "fail")
COLUMNS = [
    "gate", "kind", "name", "attribute", "group", "metric", "value", "lower", "upper",
    "observed", "threshold", "when", "assessed", "verdict", "why",
]  # fmt: skip


# --------------------------------------------------------------------------- the rule
def judge(value, *, lower, upper, bound: str, threshold: float, when: str = "interval"):
    """Verdicts of numbers against a threshold, by the estimate or by its interval.

    ``interval``: ``fail`` only when the whole interval is beyond the threshold, ``warn`` when the
    estimate is beyond but the interval reaches back over it, ``pass`` otherwise. ``estimate``:
    ``fail`` when the estimate is beyond. ``strict``: ``pass`` only when the whole interval is
    within. A missing interval (NaN bounds) is replaced by the estimate.

    Parameters
    ----------
    value, lower, upper : array-like
        Estimates and their confidence bounds.
    bound : {"max", "min"}
        ``max``: values above ``threshold`` are beyond it; ``min``: values below.
    threshold : float
    when : {"interval", "estimate", "strict"}

    Returns
    -------
    ndarray of str

    See Also
    --------
    raikit.gates.check : judges an audit against a policy.

    Examples
    --------
    >>> judge([0.12, 0.12, 0.05], lower=[0.06, 0.11, 0.0], upper=[0.30, 0.2, 0.09],
    ...       bound="max",
    ...       threshold=0.1).tolist()
    ['warn', 'fail', 'pass']
    >>> judge([0.12, 0.05], lower=[0.06, 0.0], upper=[0.30, 0.12], bound="max", threshold=0.1,
    ...       when="estimate").tolist()
    ['fail', 'pass']
    >>> judge([0.85], lower=[0.78], upper=[0.9], bound="min", threshold=0.8, when="strict").tolist()
    ['fail']
    """
    value = np.asarray(value, dtype=float)
    lower = np.where(np.isfinite(lower), np.asarray(lower, dtype=float), value)
    upper = np.where(np.isfinite(upper), np.asarray(upper, dtype=float), value)
    if bound == "max":
        beyond, all_beyond, all_within = value > threshold, lower > threshold, upper <= threshold
    else:
        beyond, all_beyond, all_within = value < threshold, upper < threshold, lower >= threshold
    if when == "estimate":
        out = np.where(beyond, "fail", "pass")
    elif when == "strict":
        out = np.where(all_within, "pass", "fail")
    else:
        out = np.where(all_beyond, "fail", np.where(beyond, "warn", "pass"))
    return out.astype(object)


def _why(verdict: str, bound: str, threshold: float, when: str, has_interval: bool) -> str:
    side = "above" if bound == "max" else "below"
    inside = "at most" if bound == "max" else "at least"
    if when == "estimate":
        return (
            f"the estimate is {side} {threshold:g}"
            if verdict == "fail"
            else f"the estimate is {inside} {threshold:g}"
        )
    noun = "interval" if has_interval else "estimate (no interval)"
    if verdict == "fail":
        if when == "strict":
            return f"the {noun} is not wholly {inside} {threshold:g} (when: strict)"
        return f"the whole {noun} is {side} {threshold:g}"
    if verdict == "warn":
        return (
            f"the estimate is {side} {threshold:g} but the interval reaches back over it: "
            f"not failed (when: interval; `when: estimate` would fail it)"
        )
    if when == "strict":
        return f"the whole {noun} is {inside} {threshold:g}"
    return f"the estimate is {inside} {threshold:g}"


def _observed(value: float, lower: float, upper: float) -> str:
    if not np.isfinite(value):
        return "n/a"
    if np.isfinite(lower) and np.isfinite(upper):
        return f"{value:.3f} [{lower:.3f}, {upper:.3f}]"
    return f"{value:.3f}"


def _row(gate: Gate, **values) -> dict:
    row = dict.fromkeys(COLUMNS)
    row.update(
        gate=gate.path or gate.name,
        kind=gate.kind,
        name=gate.name,
        threshold=_threshold_text(gate),
        when=gate.when,
        assessed=True,
        value=np.nan,
        lower=np.nan,
        upper=np.nan,
    )
    row.update(values)
    return row


def _threshold_text(gate: Gate) -> str:
    if gate.kind == "principle":
        return f"status at least {gate.threshold}"
    if gate.kind == "findings":
        return f"severity at most {gate.threshold}"
    return f"{gate.bound} {gate.threshold:g}"


def _not_assessed(gate: Gate, why: str, **values) -> dict:
    values = {"observed": "not assessed"} | values
    return _row(
        gate,
        assessed=False,
        verdict=gate.on_not_assessed,
        why=f"not assessed: {why} (on_not_assessed: {gate.on_not_assessed})",
        **values,
    )


def _judged(gate: Gate, frame: pd.DataFrame) -> list[dict]:
    """Rows of ``attribute, group, metric, value, lower, upper`` judged against the gate."""
    verdicts = judge(
        frame["value"],
        lower=frame["lower"],
        upper=frame["upper"],
        bound=gate.bound,
        threshold=gate.threshold,
        when=gate.when,
    )
    rows = []
    for (_, item), verdict in zip(frame.iterrows(), verdicts, strict=True):
        has_interval = bool(np.isfinite(item["lower"]) and np.isfinite(item["upper"]))
        rows.append(
            _row(
                gate,
                attribute=item["attribute"],
                group=item.get("group"),
                metric=item["metric"],
                value=item["value"],
                lower=item["lower"],
                upper=item["upper"],
                observed=_observed(item["value"], item["lower"], item["upper"]),
                verdict=verdict,
                why=_why(verdict, gate.bound, gate.threshold, gate.when, has_interval),
            )
        )
    return rows


# --------------------------------------------------------------------------- each kind of gate
def _group_metrics(report, gate: Gate):
    result = report.results.get(gate.check)
    if result is None or not hasattr(result, "disparities"):
        return None
    return result


def _criterion_rows(report, gate: Gate) -> list[dict]:
    result = _group_metrics(report, gate)
    if result is None:
        return [_not_assessed(gate, f"the audit has no {gate.check} result (run its bias section)")]
    return criterion_rows(result, gate)


def criterion_rows(result, gate: Gate) -> list[dict]:
    """One row per attribute: a criterion's disparity in a GroupMetricsResult, judged."""
    from raikit.gates._policy import _criteria
    from raikit.metrics._group_metrics import assessable_groups

    kind, metrics = _criteria()[gate.name]
    missing = [m for m in metrics if m not in result.metric_names]
    if missing:
        return [_not_assessed(gate, f"the audit did not compute {', '.join(missing)}")]
    attributes = list(gate.attributes or result.attributes)
    rows = []
    unknown = [a for a in attributes if a not in result.attributes]
    rows += [_not_assessed(gate, f"the audit has no attribute {a!r}", attribute=a) for a in unknown]
    table = result.disparities
    table = table[
        (table["kind"] == kind)
        & (table["method"] == gate.method)
        & table["metric"].isin(metrics)
        & table["attribute"].isin(attributes)
    ].copy()
    sizes, min_size = result.group_sizes, result.min_group_size
    enough = {a: assessable_groups(sizes, a, min_size) >= 2 for a in attributes}
    sized = table["attribute"].isin([a for a, ok in enough.items() if ok]).to_numpy(bool)
    table["ok"] = sized & np.isfinite(table["value"].to_numpy(dtype=float))
    for attribute in [a for a in attributes if a not in unknown]:
        part = table[table["attribute"] == attribute]
        if not part["ok"].any():
            why = f"fewer than two groups of {attribute} have {min_size} rows (min_group_size)"
            if enough.get(attribute):
                why = f"{', '.join(metrics)} undefined on {attribute}"
            rows.append(_not_assessed(gate, why, attribute=attribute))
            continue
        judged = _judged(gate, part[part["ok"]])
        rows.append(_worst(judged, gate.bound))
    return rows


def _worst(rows: list[dict], bound: str) -> dict:
    """The deciding row of a criterion over its metrics: the worst verdict, then the value
    farthest beyond the threshold."""
    rank = {"pass": 0, "warn": 1, "fail": 2}
    sign = 1.0 if bound == "max" else -1.0
    return max(rows, key=lambda r: (rank[r["verdict"]], sign * r["value"]))


def _metric_rows(report, gate: Gate) -> list[dict]:
    result = _group_metrics(report, gate)
    if result is None:
        return [_not_assessed(gate, f"the audit has no {gate.check} result (run its bias section)")]
    if gate.name not in result.metric_names:
        return [_not_assessed(gate, f"the audit did not compute {gate.name}")]
    table = result.table[result.table["metric"] == gate.name]
    if gate.scope == "overall":
        return _judged(gate, table[table["attribute"] == "overall"])
    table = table[table["attribute"] != "overall"]
    rows = []
    if gate.groups is not None:
        if "slice" not in table.columns:  # a result saved before the key column: parse the texts
            pairs = zip(table["attribute"], table["group"], strict=True)
            table = table.assign(slice=[SliceKey.from_table(a, g) for a, g in pairs])
        keys = list(table["slice"])
        for wanted in gate.groups:
            if wanted not in keys:
                rows.append(
                    _not_assessed(gate, f"the audit has no group {wanted.text}", group=wanted.text)
                )
        table = table[table["slice"].isin(gate.groups)]
    if gate.attributes is not None:
        absent = [a for a in gate.attributes if a not in set(table["attribute"])]
        rows += [
            _not_assessed(gate, f"the audit has no attribute {a!r}", attribute=a) for a in absent
        ]
        table = table[table["attribute"].isin(gate.attributes)]
    sizes = result.group_sizes.reindex(pd.MultiIndex.from_frame(table[["attribute", "group"]]))
    small = sizes.to_numpy() < result.min_group_size
    undefined = ~np.isfinite(table["value"].to_numpy(dtype=float))
    for item, is_small in zip(
        table[small | undefined].itertuples(), small[small | undefined], strict=True
    ):
        why = (
            f"{item.attribute}={item.group} has fewer than {result.min_group_size} rows "
            f"(min_group_size)"
            if is_small
            else f"{gate.name} is undefined on {item.group}"
        )
        rows.append(
            _not_assessed(gate, why, attribute=item.attribute, group=item.group, metric=gate.name)
        )
    return rows + _judged(gate, table[~(small | undefined)])


def _principle_rows(report, gate: Gate) -> list[dict]:
    card = report.scorecard.set_index("principle")
    if gate.name not in card.index or card.loc[gate.name, "status"] == "not assessed":
        reason = (
            card.loc[gate.name, "reason"] if gate.name in card.index else "not in the scorecard"
        )
        return [_not_assessed(gate, f"{gate.name}: {reason}")]
    status = card.loc[gate.name, "status"]
    bad = STATUS_ORDER.index(status) > STATUS_ORDER.index(gate.threshold)
    verdict = "fail" if bad else "pass"
    worse = "worse than" if bad else "no worse than"
    why = f"{gate.name} is {status}, {worse} {gate.threshold}: {card.loc[gate.name, 'reason']}"
    return [_row(gate, observed=status, verdict=verdict, why=why)]


def _findings_rows(report, gate: Gate) -> list[dict]:
    if gate.checks is None:
        findings = list(report.findings)
    else:
        absent = [c for c in gate.checks if c not in report.results]
        if absent:
            return [_not_assessed(gate, f"the audit ran no check {', '.join(absent)}")]
        findings = [f for c in gate.checks for f in getattr(report.results[c], "findings", ())]
    limit = SEVERITY_ORDER.index(gate.threshold)
    over = [f for f in findings if SEVERITY_ORDER.index(f.severity) > limit]
    counts = pd.Series([f.severity for f in findings], dtype=object).value_counts()
    observed = ", ".join(f"{s}: {counts[s]}" for s in reversed(SEVERITY_ORDER) if s in counts)
    if over:
        titles = "; ".join(f.title for f in over[:3]) + ("; ..." if len(over) > 3 else "")
        why = f"{len(over)} finding(s) worse than {gate.threshold}: {titles}"
        return [_row(gate, observed=observed, verdict="fail", why=why)]
    why = f"no finding worse than {gate.threshold} ({len(findings)} finding(s) in all)"
    return [_row(gate, observed=observed or "no findings", verdict="pass", why=why)]


_KINDS = {
    "criterion": _criterion_rows,
    "metric": _metric_rows,
    "principle": _principle_rows,
    "findings": _findings_rows,
}


# --------------------------------------------------------------------------- the result
@dataclass(frozen=True, eq=False)
class GateResult(Result):
    """An audit checked against a gate policy.

    Attributes
    ----------
    table : DataFrame
        One row per gate and attribute or group: ``gate`` (its path in the policy), ``kind``,
        ``name``, ``attribute``, ``group``, ``metric``, ``value``, ``lower``, ``upper``,
        ``observed`` (the value with its interval, or a status), ``threshold``, ``when``,
        ``assessed``, ``verdict`` (pass / warn / fail) and ``why``.
    findings : tuple of Finding
        An error per failed gate and a warning per warned one.
    meta : dict
        The policy file and its SHA-256, the audit's model and ledger run.

    See Also
    --------
    check : computes it.
    load_policy : reads the policy it checks against.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from raikit.audit import audit
    >>> from raikit.datasets import make_fairness_synthetic
    >>> from raikit.gates import check
    >>> train = make_fairness_synthetic(300, random_state=0)
    >>> test = make_fairness_synthetic(300, random_state=1)
    >>> model = LogisticRegression().fit(train.X, train.y)
    >>> report = audit(model, train=train, test=test, sections=["bias"], n_boot=50)
    >>> result = check(report, {"criteria": {"demographic_parity_difference": {"max": 0.9}}})
    >>> result.table["verdict"].tolist()
    ['pass']
    """

    table: pd.DataFrame
    findings: tuple = ()
    meta: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """True when no gate failed (warnings do not fail a build)."""
        return not (self.table["verdict"] == "fail").any()

    @property
    def exit_code(self) -> int:
        """0 when every gate passed or warned, 1 when one failed (``raikit check``'s code)."""
        return 0 if self.passed else 1

    @property
    def summary(self) -> str:
        counts = self.table["verdict"].value_counts()
        parts = ", ".join(f"{counts.get(v, 0)} {v}" for v in VERDICTS)
        unmeasured = int((~self.table["assessed"].astype(bool)).sum())
        return (
            f"{len(self.table)} gate(s): {parts}"
            + (f" ({unmeasured} not assessed)" if unmeasured else "")
            + ("; passed." if self.passed else "; FAILED.")
        )

    def to_junit(self, path=None) -> str:
        """JUnit XML for CI systems: one testcase per row, ``failure`` for a failed gate,
        ``skipped`` for one not assessed (unless ``on_not_assessed: fail``).

        Examples
        --------
        >>> table = pd.DataFrame([{"gate": "g", "kind": "metric", "name": "accuracy",
        ...     "attribute": "overall", "group": "<b>", "observed": "0.7", "threshold": "min 0.8",
        ...     "assessed": True, "verdict": "fail", "why": "below"}])
        >>> xml = GateResult(table=table).to_junit()
        >>> '<failure message="below"' in xml and "&lt;b&gt;" in xml
        True
        """
        from raikit.gates._junit import junit_xml

        text = junit_xml(self.table, meta=self.meta)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text


def gate_result(rows: list[dict], meta: dict) -> GateResult:
    """A GateResult from gate rows (the table's column types fixed)."""
    table = pd.DataFrame(rows, columns=COLUMNS)
    table["assessed"] = table["assessed"].astype(bool)
    for column in ("value", "lower", "upper"):
        table[column] = table[column].astype(float)
    return GateResult(table=table, findings=_findings(table), meta=meta)


def _findings(table: pd.DataFrame) -> tuple[Finding, ...]:
    out = []
    for row in table[table["verdict"] != "pass"].itertuples(index=False):
        where = " ".join(str(v) for v in (row.attribute, row.group) if isinstance(v, str))
        title = f"Gate {row.verdict}: {row.gate}" + (f" on {where}" if where else "")
        severity = "error" if row.verdict == "fail" else "warning"
        out.append(Finding(severity, title, f"{row.observed} vs {row.threshold}: {row.why}."))
    return tuple(out)


# --------------------------------------------------------------------------- the entry point
def check(audit, policy, *, ledger=None) -> GateResult:
    """Check an audit against a gate policy.

    Parameters
    ----------
    audit : AuditReport, str or Path
        The report, an ``audit.json`` file, a ``raikit audit --out`` folder, or (with
        ``ledger=``) the id of a recorded audit run.
    policy : Policy, dict, str or Path
        A policy file (see :func:`raikit.gates.load_policy`), its mapping, or a Policy.
    ledger : raikit.ledger.Ledger or path, optional
        Where to find a run id.

    Returns
    -------
    GateResult
        ``passed`` / ``exit_code`` and one row per gate in ``table``.

    Raises
    ------
    ParameterError
        A malformed policy (the message names the key path).
    FileFormatError
        The audit cannot be found or read.

    See Also
    --------
    raikit.gates.load_policy : reads a policy file.
    raikit.testing.assert_fair : the same idea inside a pytest suite.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from raikit.audit import audit
    >>> from raikit.datasets import load_german_credit
    >>> ds = load_german_credit().replace(features=["duration_months", "credit_amount", "age"])
    >>> train, test = ds.split(0.3, random_state=0)
    >>> model = LogisticRegression(max_iter=1000).fit(train.X, train.y)
    >>> report = audit(model, train=train, test=test, sections=["bias"], n_boot=100,
    ...                random_state=0)
    >>> result = check(report, {"metrics": {"accuracy": {"min": 0.99}},
    ...                         "criteria": {"demographic_parity_difference": {"max": 0.5,
    ...                                                                      "attributes": ["sex"]}}})
    >>> result.table[["gate", "attribute", "verdict"]]
                                    gate attribute verdict
    0  criteria.demographic_parity_difference       sex    pass
    1                   metrics.accuracy   overall    fail
    >>> result.exit_code
    1
    """
    report = load_audit(audit, ledger=ledger)
    policy = _policy(policy)
    rows = [row for gate in policy.gates for row in _KINDS[gate.kind](report, gate)]
    meta = {
        "policy": policy.source,
        "policy_sha256": policy.digest,
        "model": report.meta.get("model"),
        "run_id": report.meta.get("run_id"),
        "audit_ci": report.meta.get("ci"),
    }
    return gate_result(rows, meta)


def _policy(policy) -> Policy:
    if isinstance(policy, Policy):
        return policy
    if isinstance(policy, dict):
        return Policy.from_dict(policy)
    if isinstance(policy, str | Path):
        return load_policy(policy)
    raise ParameterError(
        f"check(): policy must be a Policy, a mapping or a path to a YAML file, got "
        f"{type(policy).__name__}."
    )
