"""The audit report as a page that reads top-down.

First one screen of summary (the verdict per principle with the number behind it and its
interval, the findings that matter most, what to do next), then one section per question a
reviewer asks, each holding the checks that answer it. Findings are grouped by principle and
severity and de-duplicated (one line per problem, naming the groups, levels and datasets it
covers); near-duplicate slices are merged into the stronger one. Every text from data is escaped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from raikit._grouping import join_attributes
from raikit._html import escape, figures_html, format_number, page_html, readable_frame, table_html

__all__ = [
    "FindingLine",
    "advice",
    "group_findings",
    "merge_slices",
    "render_report",
    "summary_html",
]

# principle -> (anchor, the question a reviewer asks, the principle in plain words)
QUESTIONS = {
    "bias": ("fair", "Is it fair?", "Fairness"),
    "practical_accuracy": ("fail", "Where does it fail?", "Accuracy"),
    "explainability": ("why", "Why does it decide?", "Explainability"),
    "privacy": ("leak", "Does it leak?", "Privacy"),
    "robustness": ("robust", "Is it robust?", "Robustness"),
    "reproducibility": ("reproduce", "Can it be reproduced?", "Reproducibility"),
    "documentation": ("undocumented", "What is undocumented?", "Documentation"),
}
CHECK_TITLES = {
    "federated.group_metrics": "Per client: the model on each client's rows, from their counts",
    "metrics.group_metrics": "Metrics per group on the test data",
    "evaluate.evaluate": "Error rates, curves and calibration per group",
    "evaluate.find_slices": "Slices of the data where the model does worse",
    "metrics.group_metrics.train": "The same metrics on the training data (overfitting)",
    "evaluate.estimate_performance": "Can performance per group be monitored without labels?",
    "evaluate.stress_test": "Predictions under noise, swapped categories and missing values",
    "evaluate.evasion_test": "Can small, plausible changes of the inputs flip decisions?",
    "data.profile": "Who the training data represents, and proxies of sensitive attributes",
    "data.representation": "How many rows, and which base rate, each group has",
    "data.drift": "Does the test data look like the training data?",
    "data.multivariate_drift": "Can test rows be told apart from training rows (columns "
    "taken together)?",
    "data.leakage": "Does the test data leak into training, or a feature into the target?",
    "privacy.membership_inference": "Can an attacker tell the training rows from others?",
    "explain.explain": "Which features drive the decisions, and for whom",
    "evaluate.verify_constraints": "Does the model keep the shapes declared for it?",
    "data.scan_pii": "Personal data in the training table, and its re-identification risk",
    "data.scan_pii.test": "Personal data in the test table, and its re-identification risk",
    "explain.glassbox_baseline": "Is the complex model worth it? The model against a glass box",
}
ADVICE = {
    "bias": "Mitigate the gaps between groups (raikit.train: FairBatchClassifier, "
    "ReweighingClassifier, FairlearnClassifier for reductions or threshold post-processing), then "
    "compare the audits (raikit.audit.compare_audits): a mitigation can cost accuracy or worsen "
    "another criterion.",
    "practical_accuracy": "Look at the slices where the model does worse: collect more rows "
    "there (raikit.data.slice_tuner plans how many) or add features that tell them apart, and "
    "check the train/test gap.",
    "explainability": "Decide whether the features that stand in for a sensitive attribute are "
    "legitimate for this decision; drop or constrain them if not.",
    "privacy": "Drop or pseudonymise the direct identifiers and generalise the quasi-identifiers "
    "the scan names (raikit data scan); if the membership attack succeeds, the model remembers its "
    "training rows: regularise it more or train it with differential privacy "
    "(raikit.privacy.DPClassifier) before it is shared.",
    "robustness": "Validate inputs at serving time against the training schema "
    "(raikit.data.validate) and train on the perturbations that flip predictions.",
    "reproducibility": "Record the audit in a ledger (ledger=, or --out on the CLI) from a "
    "committed checkout with an integer seed.",
    "documentation": "Answer the open documentation questions in a problem definition "
    "(raikit.cards.problem_template()) and re-run the audit with problem=.",
}
# what to do next where the task changes the remedy (task -> principle -> advice)
TASK_ADVICE = {
    "regression": {
        "bias": "Bound every group's error: raikit.train.FairlearnRegressor (bounded group loss, "
        "constraint='bgl') keeps each group's mean loss under a bound; compare it with the "
        "model on the same split (raikit.train.compare_mitigations with task='regression'; on "
        "the command line raikit mitigations --task regression), then compare the audits "
        "(raikit.audit.compare_audits): a bound can cost overall error.",
    },
    "multiclass": {
        "bias": "Equalise the per-class rates between groups: raikit.train.RemapClassifier "
        "post-processes any classifier's predictions (constraint='eqopp', 'eqodds' or 'dp', "
        "per class), raikit.train.FairBatchClassifier trains for equalized odds per class; "
        "compare them on the same split (raikit.train.compare_mitigations with "
        "task='multiclass'; on the command line raikit mitigations --task multiclass), then "
        "compare the audits (raikit.audit.compare_audits).",
    },
}
_SEVERITIES = ("error", "warning", "info")
# a group is thin: where real rows cannot be had, measure synthetic ones before trusting them
THIN_ADVICE = (
    "Some groups have too few training rows. Collect real rows of them "
    "(raikit.data.slice_tuner plans how many); where you cannot, measure whether DP synthetic "
    "rows of those groups help before using them: raikit.data.augment_eval (on the command line "
    "raikit data augment-eval) trains with and without them and says, per group on real test "
    "rows, whether they helped or hurt."
)
_THIN_TITLES = ("too small to evaluate", "is under-represented")


def thin_groups(report) -> bool:
    """Whether the audit found a group with too few training rows (the representation check).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from raikit._result import Finding
    >>> title = "[data.representation] 2 race group(s) too small to evaluate"
    >>> thin_groups(SimpleNamespace(findings=[Finding("warning", title)]))
    True
    """
    return any(
        _split(f.title)[0].startswith("data.representation")
        and any(words in f.title for words in _THIN_TITLES)
        for f in report.findings
    )


def advice(principle: str, task: str | None = None) -> str | None:
    """What to do next about ``principle`` for a model of ``task`` (None: nothing to advise).

    Examples
    --------
    >>> "FairlearnRegressor" in advice("bias", "regression"), "ReweighingClassifier" in advice("bias")
    (True, True)
    """
    return TASK_ADVICE.get(task or "binary", {}).get(principle, ADVICE.get(principle))


_STATUS_ORDER = {"fail": 0, "warn": 1, "not assessed": 2, "pass": 3}
_PREFIX = re.compile(r"^\[([^\]]+)\] ")
_LEVEL = re.compile(r"\s*\bat level (-?[0-9][0-9.eE+-]*)")
MAX_ROWS = 20  # rows of a table shown in the page; the JSON evidence has them all
# A table longer than this is row-level evidence (histogram bins, curve points, every
# metric x group pair): the page shows a preview of PREVIEW_ROWS and the JSON has the rest.
LONG_TABLE = 60
PREVIEW_ROWS = 8
OPEN_ROWS = 12  # longer tables are folded behind a <details>
MAX_COVERS = 8


# --------------------------------------------------------------------------- findings
@dataclass
class FindingLine:
    """One problem: the findings that differ only in their group, level or dataset.

    ``title`` has ``…`` where the group goes when it covers more than one; ``covers`` maps each
    group (``""`` when none) to the datasets and levels it was found at.
    """

    severity: str
    check: str
    title: str
    detail: str
    covers: dict = field(default_factory=dict)
    n: int = 0

    def text(self) -> str:
        """The title with the groups, datasets and levels it covers (plain text, not escaped)."""
        datasets = {d for seen in self.covers.values() for d in seen["datasets"]}

        def extras(seen: dict) -> str:
            parts = [" and ".join(seen["datasets"])] if len(datasets) > 1 else []
            if seen["levels"]:
                word = "level" if len(seen["levels"]) == 1 else "levels"
                parts.append(f"{word} {', '.join(seen['levels'])}")
            return "; ".join(parts)

        groups = [g for g in self.covers if g]
        if len(groups) <= 1:
            title = self.title.replace("…", groups[0], 1) if groups else self.title
            extra = "; ".join(filter(None, map(extras, self.covers.values())))
            return f"{title} ({extra})" if extra else title
        shown = [
            f"{group} ({extras(seen)})" if extras(seen) else group
            for group, seen in list(self.covers.items())[:MAX_COVERS]
        ]
        more = len(self.covers) - MAX_COVERS
        return f"{self.title}: " + "; ".join(shown) + (f"; and {more} more" if more > 0 else "")


def _split(title: str) -> tuple[str, str]:
    match = _PREFIX.match(title)
    return (match.group(1), title[match.end() :]) if match else ("", title)


def _attributes(finding) -> list[str]:
    """How the finding's group may be named in its title, longest first."""
    names = []
    if finding.key is not None:
        names.append(join_attributes(finding.key))
    text = finding.slice or ""
    if "=" in text:  # a finding without a key: its first attribute
        names.append(text.split("=")[0].strip())
    return sorted({n for n in names if n}, key=len, reverse=True)


def _template(title: str, finding) -> str:
    """The title with the finding's group replaced by ``…`` and its level removed."""
    title = _LEVEL.sub("", title)
    group = finding.slice
    if not group:
        return title
    if group in title:
        return title.replace(group, "…", 1)
    for name in _attributes(finding):
        pattern = re.compile(rf"(?<![\w=]){re.escape(name)}(?![\w=])")
        if pattern.search(title):
            return pattern.sub("…", title, count=1)
    return title


def group_findings(findings, *, absorbed=frozenset()) -> list[FindingLine]:
    """One line per problem: findings that differ only in group, level or dataset, merged.

    A finding's check is the ``[check]`` prefix of its title; ``check.train`` and ``check`` are
    the same check on two datasets (train and test). ``absorbed`` holds ``(check, slice)`` pairs
    of near-duplicate slices (see :func:`merge_slices`): their findings are left out. Lines come
    error first, in the order the findings came.

    Examples
    --------
    >>> from raikit._result import Finding
    >>> lines = group_findings([
    ...     Finding("warning", "[stress] sex=Male is more fragile under noise",
    ...             "Flip rate 4% at level 0.01.", slice="sex=Male"),
    ...     Finding("warning", "[stress] sex=Male is more fragile under noise",
    ...             "Flip rate 9% at level 0.05.", slice="sex=Male"),
    ...     Finding("error", "[gm] Four-fifths rule violated for sex", slice="sex=Female"),
    ...     Finding("error", "[gm.train] Four-fifths rule violated for sex", slice="sex=Female"),
    ... ])
    >>> [line.text() for line in lines]  # doctest: +NORMALIZE_WHITESPACE
    ['Four-fifths rule violated for sex=Female (test and train)',
     'sex=Male is more fragile under noise (levels 0.01, 0.05)']
    """
    lines: dict[tuple, FindingLine] = {}
    for finding in findings:
        check, title = _split(finding.title)
        if finding.slice is not None and (check, finding.slice) in absorbed:
            continue
        base, dataset = (check[:-6], "train") if check.endswith(".train") else (check, "test")
        template = _template(title, finding)
        key = (finding.severity, base, template)
        line = lines.get(key)
        if line is None:
            line = lines[key] = FindingLine(finding.severity, base, template, finding.detail)
        level = _LEVEL.search(title) or _LEVEL.search(finding.detail or "")
        seen = line.covers.setdefault(finding.slice or "", {"datasets": [], "levels": []})
        if dataset not in seen["datasets"]:
            seen["datasets"].append(dataset)
        if level is not None and level.group(1).rstrip(".") not in seen["levels"]:
            seen["levels"].append(level.group(1).rstrip("."))
        line.n += 1
    return sorted(lines.values(), key=lambda line: _SEVERITIES.index(line.severity))


# --------------------------------------------------------------------------- slices
def merge_slices(slices: pd.DataFrame, predicates: pd.DataFrame, overlap=None, *, threshold=0.8):
    """Merge each slice into a stronger one (listed before it) that it nearly duplicates.

    A slice is a near-duplicate of a stronger one when its description contains the stronger
    one's (all of its conditions, and more), or when their rows mostly coincide: with
    ``overlap`` (rows shared by slices i and j), a Jaccard index of at least ``threshold``;
    without it, the same size and the same mean loss.

    Returns the kept slices with an ``also`` column (the slices merged into each) and the
    texts of the merged ones.

    Examples
    --------
    >>> slices = pd.DataFrame({"slice": ["a = 1", "a = 1 & b = 2", "c = 3", "d = 4"],
    ...                        "size": [100, 40, 90, 50], "mean_loss": [0.5, 0.6, 0.4, 0.3]})
    >>> predicates = pd.DataFrame({"slice_id": [0, 1, 1, 2, 3], "feature": list("aabcd"),
    ...                            "op": ["=="] * 5, "code": [1, 1, 2, 3, 4]})
    >>> overlap = [[100, 40, 85, 0], [40, 40, 30, 0], [85, 30, 90, 0], [0, 0, 0, 50]]
    >>> kept, merged = merge_slices(slices, predicates, overlap)
    >>> kept["slice"].tolist(), kept["also"].tolist(), merged
    (['a = 1', 'd = 4'], ['a = 1 & b = 2; c = 3', ''], ['a = 1 & b = 2', 'c = 3'])
    """
    n = len(slices)
    conditions = [
        frozenset(
            map(
                tuple, predicates.loc[predicates["slice_id"] == i, ["feature", "op", "code"]].values
            )
        )
        for i in range(n)
    ]
    size = slices["size"].to_numpy(dtype=float)
    loss = slices["mean_loss"].to_numpy(dtype=float)
    owner = list(range(n))
    for j in range(n):  # at most k slices: a handful
        for i in range(j):
            if owner[i] != i:
                continue
            if overlap is not None:
                shared = float(overlap[i][j])
                same = shared / max(size[i] + size[j] - shared, 1.0) >= threshold
            else:
                same = size[i] == size[j] and np.isclose(loss[i], loss[j])
            if conditions[i] <= conditions[j] or same:
                owner[j] = i
                break
    texts = slices["slice"].astype(str).tolist()
    positions = [i for i in range(n) if owner[i] == i]
    kept = slices.iloc[positions].copy()
    kept["also"] = ["; ".join(texts[j] for j in range(n) if owner[j] == i != j) for i in positions]
    return kept.reset_index(drop=True), [texts[j] for j in range(n) if owner[j] != j]


def _absorbed(report) -> set[tuple[str, str]]:
    from raikit.evaluate import SliceResult

    out = set()
    overlaps = report.meta.get("slice_overlap") or {}
    for check, result in report.results.items():
        if isinstance(result, SliceResult) and len(result.slices):
            _, merged = merge_slices(result.slices, result.predicates, overlaps.get(check))
            out |= {(check, text) for text in merged}
    return out


# --------------------------------------------------------------------------- headline numbers
def _interval(lower, upper) -> str:
    if lower is None or upper is None or not (np.isfinite(lower) and np.isfinite(upper)):
        return ""
    return f"[{format_number(lower)}, {format_number(upper)}]"


def _bias_number(report):
    result = report.results.get("metrics.group_metrics")
    if result is None:
        return None
    from raikit.audit._audit import bias_criteria

    main = bias_criteria(
        result,
        tolerance=report.meta.get("tolerance", 0.1),
        min_group_size=report.meta.get("min_group_size"),
    )
    if not len(main):
        return None
    for verdict in ("fail", "warn", "pass"):  # the pair behind the verdict, as the scorecard
        behind = main[main["verdict"] == verdict]
        if len(behind):
            break
    else:
        return None
    worst = behind.loc[behind["difference"].idxmax()]
    what = f"largest gap: {worst['criterion'].replace('_', ' ')}, {worst['attribute']}"
    detectable = behind["detectable_difference"].to_numpy(float)  # absent in older evidence
    if verdict == "pass" and np.isfinite(detectable).any():
        # a pass is read at the audit's resolution: the smallest gap it could have detected
        what += f" (could only have detected {format_number(np.nanmax(detectable))} or larger)"
    return what, worst["difference"], worst["lower"], worst["upper"]


def _accuracy_number(report):
    result = report.results.get("metrics.group_metrics")
    if result is None:
        return None
    table = result.table
    metric = "r2" if getattr(result, "task", "binary") == "regression" else "accuracy"
    row = table[(table["attribute"] == "overall") & (table["metric"] == metric)]
    if not len(row):
        return None
    row = row.iloc[0]
    return f"test {'R2' if metric == 'r2' else metric}", row["value"], row["lower"], row["upper"]


def _explainability_number(report):
    result = report.results.get("explain.explain")
    importance = getattr(result, "importance", None)
    if importance is None or not len(importance):
        return None
    named = [f.slice for f in getattr(result, "findings", ()) if f.severity != "info"]
    flagged = importance[importance["feature"].isin(named)]
    row = (flagged if len(flagged) else importance).sort_values("rank").iloc[0]
    what = f"mean |SHAP| of {row['feature']} (rank {int(row['rank'])} of {len(importance)})"
    return what, row["mean_abs"], row["lower"], row["upper"]


def _privacy_number(report):
    result = report.results.get("privacy.membership_inference")
    attacks = getattr(result, "attacks", None)
    if attacks is None or not len(attacks):
        return None
    row = attacks.loc[attacks["auc"].idxmax()]
    return (
        f"membership attack AUC ({row['attack']})",
        row["auc"],
        row["auc_lower"],
        row["auc_upper"],
    )


def _robustness_number(report):
    result = report.results.get("evaluate.stress_test")
    table = getattr(result, "perturbations", None)
    if table is None or not len(table):
        return None
    overall = table[table["attribute"] == "overall"]
    if not len(overall):
        return None
    row = overall.loc[overall["flip_rate"].idxmax()]
    what = f"worst flip rate: {row['perturbation']} at level {row['level']:g}"
    return what, row["flip_rate"], row["flip_lower"], row["flip_upper"]


def _documentation_number(report):
    gaps = report.meta.get("documentation_gaps")
    if gaps is None:
        return None
    return "open documentation questions", sum(len(g) for g in gaps.values()), None, None


def _reproducibility_number(report):
    run = report.meta.get("run_id")
    return ("recorded run", run[:12], None, None) if run else None


_NUMBERS = {
    "bias": _bias_number,
    "practical_accuracy": _accuracy_number,
    "explainability": _explainability_number,
    "privacy": _privacy_number,
    "robustness": _robustness_number,
    "reproducibility": _reproducibility_number,
    "documentation": _documentation_number,
}


def headline(report, principle: str) -> tuple[str, str, str]:
    """What the verdict of ``principle`` rests on, its value and its interval (as text)."""
    try:
        found = _NUMBERS.get(principle, lambda r: None)(report)
    except (KeyError, ValueError, TypeError):  # evidence from another version: no number
        found = None
    if found is None:
        return "", "", ""
    what, value, lower, upper = found
    value = value if isinstance(value, str) else format_number(value)
    return what, value, _interval(lower, upper)


# --------------------------------------------------------------------------- the page
def check_principles(report) -> dict[str, str | None]:
    """The principle each check informs: the audit section that produced it (recorded in
    ``meta["sections"]``), else the first scorecard row that cites it as evidence."""
    from raikit.audit._audit import _SECTIONS

    sections = report.meta.get("sections") or {}
    cited = {}
    for principle, evidence in zip(
        report.scorecard["principle"], report.scorecard["evidence"], strict=True
    ):
        for check in str(evidence).split(","):
            cited.setdefault(check.strip(), principle)
    out = {}
    for check in report.results:
        section = _SECTIONS.get(sections.get(check))
        out[check] = section.principle if section is not None else cited.get(check)
    return out


def _finding_principles(report, principles: dict) -> dict[str, list]:
    """Findings by the principle of their check (a finding without a check is about fairness)."""
    by_principle: dict[str, list] = {}
    for finding in report.findings:
        check, _ = _split(finding.title)
        base = check.removesuffix(".train")  # the same check on the training data
        principle = principles.get(base if base in principles else check, "bias")
        by_principle.setdefault(principle or "other", []).append(finding)
    return by_principle


def _line_html(line: FindingLine, *, with_detail: bool = True) -> str:
    detail = f' <span class="muted">{escape(line.detail)}</span>' if with_detail else ""
    check = f' <span class="muted">[{escape(line.check)}]</span>' if line.check else ""
    return (
        f'<li class="finding-{line.severity}"><b>{escape(line.severity)}</b>: '
        f"{escape(line.text())}{check}{detail}</li>"
    )


def _lines_html(lines: list[FindingLine]) -> str:
    if not lines:
        return "<p>No findings.</p>"
    main = [line for line in lines if line.severity != "info"]
    info = [line for line in lines if line.severity == "info"]
    out = f"<ul>{''.join(map(_line_html, main))}</ul>" if main else ""
    if info:
        out += (
            f"<details><summary>{len(info)} note(s)</summary>"
            f"<ul>{''.join(map(_line_html, info))}</ul></details>"
        )
    return out


def _verdict_table(report) -> str:
    rows, classes, links = [], [], []
    ci = report.meta.get("ci", 0.95)
    for row in report.scorecard.itertuples(index=False):
        anchor, _, name = QUESTIONS.get(row.principle, (None, None, row.principle))
        what, value, interval = headline(report, row.principle)
        reason = str(row.reason)
        short = reason if len(reason) <= 140 else reason[:137].rsplit(" ", 1)[0] + " …"
        rows.append([name, row.status, what, value, interval, short])
        classes.append(f"status-{row.status}")
        links.append(f"#{anchor}" if anchor else None)
    frame = pd.DataFrame(
        rows,
        columns=["principle", "verdict", "measured", "value", f"{ci:.0%} interval", "why"],
    )
    return (
        '<div class="scroll">'
        + table_html(
            frame,
            classes={"verdict": classes, frame.columns[4]: ["nowrap"] * len(frame)},
            links={"principle": links},
        )
        + "</div>"
    )


def summary_html(report) -> str:
    """The first screen: verdicts with their numbers, the three findings that matter most, and
    what to do next (escaped HTML, no page around it)."""
    meta = report.meta
    counts = report.scorecard["status"].value_counts()
    tally = ", ".join(f"{counts[s]} {s}" for s in _STATUS_ORDER if counts.get(s, 0))
    rows = ""
    if isinstance(meta.get("test"), dict) and isinstance(meta.get("train"), dict):
        rows = (
            f" on {format_number(meta['test'].get('rows'))} test rows "
            f"(trained on {format_number(meta['train'].get('rows'))})"
        )
    task = f" ({meta['task']} task)" if meta.get("task") else ""
    lead = f"Audit of {meta.get('model', 'the model')}{task}{rows}: {tally}."
    principles = check_principles(report)
    status = dict(zip(report.scorecard["principle"], report.scorecard["status"], strict=True))
    lines = []
    for principle, findings in _finding_principles(report, principles).items():
        for line in group_findings(findings, absorbed=_absorbed(report)):
            if line.severity != "info":
                lines.append((_STATUS_ORDER.get(status.get(principle), 4), line))
    lines.sort(key=lambda pair: (_SEVERITIES.index(pair[1].severity), pair[0]))
    top = "".join(_line_html(line, with_detail=False) for _, line in lines[:3])
    task = meta.get("task")
    steps = [
        f"<li><b>{escape(QUESTIONS[p][2])}</b>: {escape(advice(p, task))}</li>"
        for p in sorted(status, key=lambda p: _STATUS_ORDER.get(status[p], 4))
        if status[p] in ("fail", "warn") and advice(p, task) and p in QUESTIONS
    ]
    if thin_groups(report):
        steps.append(f"<li><b>Thin groups</b>: {escape(THIN_ADVICE)}</li>")
    nav = " · ".join(
        f'<a href="#{anchor}">{escape(question)}</a>' for anchor, question, _ in QUESTIONS.values()
    )
    return (
        f'<p class="lead">{escape(lead)}</p>'
        + _verdict_table(report)
        + "<h3>What matters most</h3>"
        + (f"<ol>{top}</ol>" if top else "<p>No warnings.</p>")
        + "<h3>What to do next</h3>"
        + (f"<ul>{''.join(steps)}</ul>" if steps else "<p>Nothing: every principle passes.</p>")
        + f"<p>{nav}</p>"
    )


_ROW_TABLES = frozenset({"attributions", "exposed", "adversarial_examples"})  # rows: not shown


def _table_block(name: str, frame: pd.DataFrame) -> str:
    label = f"{name.replace('_', ' ').capitalize()} ({len(frame):,} rows)"
    shown = PREVIEW_ROWS if len(frame) > LONG_TABLE else MAX_ROWS
    note = (
        f'<p class="muted">The first {shown} of {len(frame):,} rows; the JSON evidence '
        "(report.to_json()) has them all.</p>"
        if len(frame) > shown
        else ""
    )
    table = f'<div class="scroll">{table_html(readable_frame(frame.head(shown)))}</div>{note}'
    if len(frame) > OPEN_ROWS:
        return f"<details><summary>{escape(label)}</summary>{table}</details>"
    return f"<h4>{escape(label)}</h4>{table}"


def _slices_block(check: str, result, overlap) -> str:
    kept, merged = merge_slices(result.slices, result.predicates, overlap)
    frame = pd.DataFrame(
        {
            "slice": kept["slice"],
            "rows": kept["size"],
            f"mean {result.loss}": kept["mean_loss"],
            "interval": [
                _interval(lo, hi) for lo, hi in zip(kept["lower"], kept["upper"], strict=True)
            ],
            f"{result.loss} elsewhere": kept["rest_mean_loss"],
            "effect size": kept["effect_size"],
            "near-duplicates merged in": kept["also"],
        }
    )
    note = (
        f'<p class="muted">{len(merged)} near-duplicate slice(s) merged into a stronger one '
        "(the same rows, or its conditions and more).</p>"
        if merged
        else ""
    )
    return f'<div class="scroll">{table_html(readable_frame(frame))}</div>{note}'


def _new_figures(figures: list, drawn: set) -> tuple[list, int]:
    """The figures whose title is not yet in ``drawn`` (then added), and how many were repeats:
    under one question the same title is the same quantity (e.g. the evaluation's bars per group
    repeat the group metrics'), drawn once."""
    kept = []
    for figure in figures:  # a handful per check
        title = figure.layout.title.text or ""
        if title and title in drawn:
            continue
        drawn.add(title)
        kept.append(figure)
    return kept, len(figures) - len(kept)


def _check_html(report, check: str, result, drawn: set | None = None) -> str:
    from raikit.audit._audit import _SECTIONS
    from raikit.evaluate import SliceResult

    section = _SECTIONS.get((report.meta.get("sections") or {}).get(check))
    title = CHECK_TITLES.get(check) or (section.description if section else "") or check
    parts = [
        f'<h3>{escape(title)} <span class="muted">({escape(check)})</span></h3>',
        f"<p>{escape(result.summary)}</p>",
    ]
    if isinstance(result, SliceResult) and len(result.slices):
        overlap = (report.meta.get("slice_overlap") or {}).get(check)
        parts.append(_slices_block(check, result, overlap))
    figures, repeated = _new_figures(result.figures(), set() if drawn is None else drawn)
    parts.append(figures_html(figures))
    if repeated:
        parts.append(
            f'<p class="muted">{repeated} figure(s) of this check repeat one drawn above under '
            "the same title and are not drawn again.</p>"
        )
    tables = result.tables()
    parts += [_table_block(n, f) for n, f in tables.items() if len(f) and n not in _ROW_TABLES]
    left_out = [n for n, f in tables.items() if len(f) and n in _ROW_TABLES]
    if left_out:
        parts.append(
            f'<p class="muted">Per-row table(s) {escape(", ".join(left_out))} are left out of '
            "the page (reports show aggregates); the JSON evidence has them.</p>"
        )
    return "\n".join(parts)


def _reproduce_html(report) -> str:
    meta = report.meta
    code, env = meta.get("code") or {}, meta.get("environment") or {}
    items = [
        ("run", meta.get("run_id")),
        ("seed (random_state)", meta.get("random_state")),
        ("code commit", code.get("git_commit")),
        ("uncommitted changes", code.get("git_dirty")),
        ("python", env.get("python")),
        ("platform", env.get("platform")),
        ("model", meta.get("model_type")),
        ("training data", (meta.get("train") or {}).get("name")),
        ("test data", (meta.get("test") or {}).get("name")),
        ("rows read by", _backends(meta)),
        ("scored test rows", (meta.get("test") or {}).get("predictions")),
        ("target", meta.get("target")),
        ("sensitive attributes", ", ".join(map(str, meta.get("sensitive") or []))),
        ("positive label", meta.get("pos_label")),
        ("confidence level", meta.get("ci")),
        ("fairness tolerance", meta.get("tolerance")),
        ("smallest group counted", meta.get("min_group_size")),
    ]
    rows = [(k, str(v)) for k, v in items if v is not None and v != ""]
    return table_html(pd.DataFrame(rows, columns=["what", "value"]))


def _backends(meta) -> str | None:
    """Where the rows were read: "numpy (in memory)", "duckdb (out of core)", "spark"."""
    words = {"numpy": "numpy (in memory)", "duckdb": "DuckDB (out of core)", "spark": "Spark"}
    found = [(meta.get(side) or {}).get("backend") for side in ("train", "test")]
    if not any(found):
        return None
    train, test = (words.get(b, b) for b in found)
    return train if train == test else f"train: {train}; test: {test}"


def _undocumented_html(report) -> str:
    gaps = report.meta.get("documentation_gaps")
    if not gaps:
        return ""
    items = "".join(
        f"<li><b>{escape(kind.replace('_', ' '))}</b>: {escape(', '.join(fields))}</li>"
        for kind, fields in gaps.items()
        if fields
    )
    return f"<ul>{items}</ul>" if items else "<p>No open questions.</p>"


def _question_html(report, principle: str, checks: list[str], findings: list) -> str:
    anchor = QUESTIONS.get(principle, ("other",))[0]
    parts = [f'<a id="{anchor}"></a>']
    rows = report.scorecard[report.scorecard["principle"] == principle]
    for row in rows.itertuples(index=False):
        status = str(row.status)
        parts.append(
            f'<p>Verdict: <span class="status-{status.replace(" ", "-")}">{escape(status)}</span>'
            f" — {escape(row.reason)}</p>"
        )
    if findings or checks:
        parts.append(_lines_html(group_findings(findings, absorbed=_absorbed(report))))
    if principle == "reproducibility":
        parts.append(_reproduce_html(report))
    if principle == "documentation":
        parts.append(_undocumented_html(report))
    drawn: set[str] = set()  # figure titles already on this question's part of the page
    parts += [_check_html(report, check, report.results[check], drawn) for check in checks]
    return "\n".join(parts)


def _question_checks(principles: dict, principle: str) -> list[str]:
    """The checks under one question, in the order of :data:`CHECK_TITLES`."""
    return sorted(
        (c for c, p in principles.items() if p == principle),
        key=lambda c: list(CHECK_TITLES).index(c) if c in CHECK_TITLES else len(CHECK_TITLES),
    )


def drawn_figures(report) -> list:
    """The figures the report page draws, in its order: each question's checks, a figure whose
    title is already drawn under that question left out (see :func:`_new_figures`)."""
    principles = check_principles(report)
    groups = [_question_checks(principles, p) for p in QUESTIONS]
    groups.append([c for c, p in principles.items() if p not in QUESTIONS])
    figures = []
    for checks in groups:  # one per question
        drawn: set[str] = set()
        for check in checks:
            figures += _new_figures(report.results[check].figures(), drawn)[0]
    return figures


def render_report(report, *, title: str) -> str:
    """The audit report page: the summary, then one section per question."""
    principles = check_principles(report)
    findings = _finding_principles(report, principles)
    sections = [("Summary", '<a id="summary"></a>' + summary_html(report))]
    for principle, (_, question, _) in QUESTIONS.items():
        checks = _question_checks(principles, principle)
        sections.append(
            (question, _question_html(report, principle, checks, findings.get(principle, [])))
        )
    others = [c for c, p in principles.items() if p not in QUESTIONS]
    if others or findings.get("other"):
        sections.append(
            ("Other checks", _question_html(report, "other", others, findings.get("other", [])))
        )
    return page_html(title, sections)
