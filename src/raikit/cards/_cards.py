"""Problem definition, model card and EU AI Act Annex IV views, rendered from recorded evidence.

A card is a list of sections; each field holds an answer and where it came from (an evidence record
of the ledger, or the user's problem-definition YAML). A field nobody answered is a *gap*: it is shown
as such and never filled in with invented text.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from raikit._errors import DataError, FileFormatError, ParameterError
from raikit._result import Finding, Result

__all__ = [
    "PROBLEM_QUESTIONS",
    "Card",
    "annex_iv",
    "load_problem",
    "model_card",
    "problem_template",
]

GAP = "Not documented: no evidence or answer was recorded."

# The problem definition: questions only people can answer (Institute for Ethical ML, TF RAI).
PROBLEM_QUESTIONS = {
    "name": "Name of the system.",
    "provider": "Who provides the system (organisation, contact)?",
    "version": "Version of the system being documented.",
    "intended_use": "What is the system for? Which decision does it support?",
    "intended_users": "Who uses its outputs?",
    "out_of_scope_uses": "Uses the system must not be put to.",
    "consequences_of_failure": "What happens to people when the system is wrong (false positives, "
    "false negatives)?",
    "human_oversight": "How do people oversee, override or stop the system?",
    "worker_impact": "Whose tasks does it automate, and what is planned for those workers?",
    "ethical_considerations": "Risks to people's rights, and how they are mitigated.",
    "risk_management": "The risk-management measures in place (EU AI Act Art. 9).",
    "standards": "Harmonised standards or specifications applied.",
    "post_market_monitoring": "How the system is monitored after deployment.",
    "shape_constraints": "Shapes the model must keep, one feature a line: increasing, decreasing, "
    "concave, convex or must_not_use (checked by the audit's shape_constraints section).",
}
# answers that are a mapping, not a line of text
_SHAPE_EXAMPLE = ["#   hours_per_week: increasing", "#   race: must_not_use"]


def problem_template(path: str | Path | None = None) -> str:
    """The problem-definition questions as a YAML template to fill in (also written to ``path``).

    Parameters
    ----------
    path : str or path, optional
        Also write the template there.

    Returns
    -------
    str
        The YAML text.

    See Also
    --------
    load_problem : reads the filled-in file.

    Examples
    --------
    >>> text = problem_template()
    >>> "intended_use:" in text and "consequences_of_failure:" in text
    True
    """
    lines = [
        "# raikit problem definition: answer what you can; unanswered questions stay gaps.",
        "",
    ]
    for key, question in PROBLEM_QUESTIONS.items():
        example = _SHAPE_EXAMPLE if key == "shape_constraints" else []
        lines += [f"# {question}", f"{key}:", *example, ""]
    text = "\n".join(lines)
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text


def load_problem(source) -> dict:
    """Read a problem definition from a dict, YAML text or a YAML file; unknown keys are an error.

    Answers are text, except ``shape_constraints``: a mapping of feature to shape, validated
    (see :class:`raikit.train.ShapeConstraints`) and returned as a plain dict.

    Parameters
    ----------
    source : dict, str or path
        The answers: a dict, YAML text, or the path of a YAML file (see :func:`problem_template`).

    Returns
    -------
    dict
        The answers, by question key.

    Raises
    ------
    DataError
        When a key is not a problem-definition question.

    See Also
    --------
    problem_template : the questions to answer.
    model_card : takes the answers as ``problem=``.

    Examples
    --------
    >>> from raikit.cards import load_problem
    >>> load_problem("intended_use: Pre-screen loan applications.")
    {'intended_use': 'Pre-screen loan applications.'}
    >>> load_problem({"name": "Credit screen", "shape_constraints": {"income": "Increasing"}})
    {'name': 'Credit screen', 'shape_constraints': {'income': 'increasing'}}
    """
    if source is None:
        return {}
    if isinstance(source, dict):
        data = source
    else:
        import yaml

        text = str(source)
        path = Path(text)
        if "\n" not in text and path.suffix in (".yaml", ".yml"):
            if not path.exists():
                raise FileFormatError(f"Problem definition {text!r} not found.")
            text = path.read_text(encoding="utf-8")
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as error:
            raise FileFormatError(f"The problem definition is not valid YAML: {error}") from error
    if not isinstance(data, dict):
        raise FileFormatError("The problem definition must be a YAML mapping of question: answer.")
    unknown = sorted(set(data) - set(PROBLEM_QUESTIONS))
    if unknown:
        raise DataError(
            f"Unknown problem-definition key(s) {unknown}; use the keys of problem_template()."
        )
    answers = {
        k: (str(v).strip() if v is not None and str(v).strip() else None) for k, v in data.items()
    }
    if data.get("shape_constraints") is not None:
        answers["shape_constraints"] = _shape_answer(data["shape_constraints"])
    return answers


def _shape_answer(value) -> dict:
    from raikit._shape import ShapeConstraints

    if not isinstance(value, dict):
        raise FileFormatError(
            "The problem definition's shape_constraints must be a mapping, one feature a line "
            f"(e.g. 'income: increasing'), got {type(value).__name__} {value!r}."
        )
    try:
        return ShapeConstraints(value).to_dict()
    except ParameterError as error:
        raise ParameterError(f"The problem definition's {error}") from error


@dataclass(frozen=True, eq=False)
class Card(Result):
    """A documentation view: sections of fields, each answered from evidence or marked as a gap.

    Attributes
    ----------
    kind : str
        ``model_card``, ``annex_iv`` or ``datasheet``.
    title : str
        Title of the document.
    fields_table : DataFrame
        One row per field: ``section``, ``field``, ``question``, ``answer`` (None = gap), ``source``.
    quantitative : dict
        Name -> DataFrame of quantitative evidence (per-group metrics with CIs, criteria).
    findings : tuple of Finding
        One ``info`` finding per gap.

    See Also
    --------
    model_card, annex_iv : build one from an audit or a ledger.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from raikit.audit import audit
    >>> from raikit.cards import model_card
    >>> from raikit.datasets import make_fairness_synthetic
    >>> train = make_fairness_synthetic(300, random_state=0)
    >>> test = make_fairness_synthetic(300, random_state=1)
    >>> model = LogisticRegression().fit(train.X, train.y)
    >>> card = model_card(audit(model, train=train, test=test, sections=["bias"], n_boot=50))
    >>> card.kind, "Intended use" in set(card.gaps["field"])
    ('model_card', True)
    """

    kind: str
    title: str
    fields_table: pd.DataFrame
    quantitative: dict = field(default_factory=dict)
    findings: tuple = ()

    @property
    def gaps(self) -> pd.DataFrame:
        """The fields nobody answered."""
        return self.fields_table[self.fields_table["answer"].isna()]

    @property
    def summary(self) -> str:
        total = len(self.fields_table)
        return (
            f"{self.title}: {total - len(self.gaps)} of {total} fields answered from evidence "
            f"or the problem definition; {len(self.gaps)} gap(s)."
        )

    def tables(self) -> dict[str, pd.DataFrame]:
        return dict(self.quantitative)

    def to_markdown(self, path=None) -> str:
        """The card as Markdown (gaps are marked, never filled in; text from data is escaped)."""
        from raikit._html import escape_markdown as md

        lines = [f"# {md(self.title)}", "", f"_{md(self.summary)}_", ""]
        for section, part in self.fields_table.groupby("section", sort=False):
            lines += [f"## {md(section)}", ""]
            for row in part.itertuples(index=False):
                answer = md(row.answer) if row.answer is not None else f"**Gap.** {GAP}"
                source = f" _(source: {md(row.source)})_" if isinstance(row.source, str) else ""
                lines += [f"**{md(row.field)}** — {md(row.question)}", "", f"{answer}{source}", ""]
        for name, frame in self.quantitative.items():
            lines += [f"## {md(name)}", "", _markdown_table(frame), ""]
        text = "\n".join(lines)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def to_html(self, path=None, *, title: str | None = None) -> str:
        from raikit._html import frame_html, page_html

        sections = [("Summary", f"<p>{html.escape(self.summary)}</p>")]
        for section, part in self.fields_table.groupby("section", sort=False):
            items = []
            for row in part.itertuples(index=False):
                if row.answer is None:
                    answer = f'<span class="finding-warning"><b>Gap.</b> {html.escape(GAP)}</span>'
                else:
                    answer = html.escape(str(row.answer))
                source = (
                    f" <small>(source: {html.escape(row.source)})</small>"
                    if isinstance(row.source, str)
                    else ""
                )
                items.append(
                    f"<dt><b>{html.escape(row.field)}</b> — {html.escape(row.question)}"
                    f"</dt><dd>{answer}{source}</dd>"
                )
            sections.append((section, "<dl>" + "".join(items) + "</dl>"))
        sections += [(name, frame_html(frame)) for name, frame in self.quantitative.items()]
        page = page_html(title or self.title, sections)
        if path is not None:
            Path(path).write_text(page, encoding="utf-8")
        return page

    def save(self, folder, stem: str | None = None) -> list[Path]:
        """Write the card as ``<stem>.md``, ``<stem>.html`` and ``<stem>.json`` into ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        stem = stem or self.kind
        paths = [folder / f"{stem}.{ext}" for ext in ("md", "html", "json")]
        self.to_markdown(paths[0])
        self.to_html(paths[1])
        self.to_json(paths[2])
        return paths

    def to_model_card_toolkit(self, path=None) -> dict:
        """The card in the Model Card Toolkit's JSON layout (schema v0.0.2); also written to ``path``.

        Only what the card answers is included: a gap is left out, never sent as ``null``.
        Metrics are numbers (non-finite ones are left out), datasets a list, and the per-group
        metrics keep their confidence intervals.

        Parameters
        ----------
        path : str or path, optional
            Where to write the JSON.

        Returns
        -------
        dict
            ``model_details``, ``model_parameters``, ``quantitative_analysis`` and
            ``considerations``, as the Model Card Toolkit reads them.

        Examples
        --------
        >>> from sklearn.linear_model import LogisticRegression
        >>> from raikit.audit import audit
        >>> from raikit.datasets import load_german_credit
        >>> ds = load_german_credit().replace(features=["duration_months", "age"])
        >>> train, test = ds.split(0.3, random_state=0)
        >>> model = LogisticRegression().fit(train.X, train.y)
        >>> report = audit(model, train=train, test=test, n_boot=20, sections=["bias"])
        >>> mct = model_card(report, problem={"name": "Credit screen"}).to_model_card_toolkit()
        >>> mct["model_details"]["name"], [d["name"] for d in mct["model_parameters"]["data"]]
        ('Credit screen', ['german_credit (700 rows)', 'german_credit (300 rows)'])
        >>> "overview" in mct["model_details"]  # a gap is left out, not null
        False
        """
        if self.kind != "model_card":
            raise DataError(
                f"Only a model card has a Model Card Toolkit layout; this card is {self.kind!r}."
            )
        answers = dict(zip(self.fields_table["field"], self.fields_table["answer"], strict=True))

        def get(name: str) -> str | None:
            value = answers.get(name)
            return value if isinstance(value, str) and value.strip() else None

        def entries(key: str, *names: str) -> list[dict]:
            return [{key: get(n)} for n in names if get(n)]

        details: dict = {"name": get("Name") or self.title}
        if get("Intended use"):
            details["overview"] = get("Intended use")
        if get("Version"):
            details["version"] = {"name": get("Version")}
        if get("Provider"):
            details["owners"] = [{"name": get("Provider")}]
        parameters: dict = {}
        if get("Model type"):
            parameters["model_architecture"] = get("Model type")
        parameters["data"] = [
            {"name": get(label), "description": description}
            for label, description in (
                ("Training data", "Dataset the model was trained on."),
                ("Evaluation data", "Dataset of the quantitative analyses."),
            )
            if get(label)
        ]
        performance = []
        per_group = self.quantitative.get("Quantitative analysis per group")
        if per_group is not None and len(per_group):
            values = pd.to_numeric(per_group["value"], errors="coerce").to_numpy(dtype=float)
            lower = pd.to_numeric(per_group["lower"], errors="coerce").to_numpy(dtype=float)
            upper = pd.to_numeric(per_group["upper"], errors="coerce").to_numpy(dtype=float)
            slices = _slice_texts(per_group)
            for metric, value, lo, hi, where in zip(
                per_group["metric"].astype(str), values, lower, upper, slices, strict=True
            ):
                if not np.isfinite(value):
                    continue
                entry = {"type": metric, "value": float(value), "slice": where}
                if np.isfinite(lo) and np.isfinite(hi):
                    entry["confidence_interval"] = {
                        "lower_bound": float(lo),
                        "upper_bound": float(hi),
                    }
                performance.append(entry)
        document = {
            "schema_version": "0.0.2",
            "model_details": details,
            "model_parameters": parameters,
            "quantitative_analysis": {"performance_metrics": performance},
            "considerations": {
                "users": entries("description", "Intended users"),
                "use_cases": entries("description", "Intended use"),
                "limitations": entries("description", "Out-of-scope uses", "Caveats"),
                "ethical_considerations": entries(
                    "name", "Ethical considerations", "Consequences of failure"
                ),
            },
        }
        if path is not None:
            Path(path).write_text(json.dumps(document, indent=2, allow_nan=False), "utf-8")
        return document


def _params_text(params: dict | None) -> str | None:
    """Recorded hyper-parameters as ``name=value, ...`` (addresses of old records removed).

    Strings are shown as recorded: the audit records objects as readable text
    (:func:`raikit._params.plain_params`).

    Examples
    --------
    >>> _params_text({"C": 0.5, "penalty": "l2", "scorer": "<my.Scorer object at 0x7f3a2c>"})
    'C=0.5, penalty=l2, scorer=my.Scorer'
    >>> _params_text({}) is None
    True
    """
    from raikit._params import describe, without_addresses

    if not params:
        return None
    text = ", ".join(f"{k}={v if isinstance(v, str) else describe(v)}" for k, v in params.items())
    return without_addresses(text)


def _markdown_table(frame: pd.DataFrame) -> str:
    from raikit._html import escape_markdown

    columns = [escape_markdown(c, cell=True) for c in frame.columns]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in frame.itertuples(index=False):
        cells = [f"{v:.4g}" if isinstance(v, float) else escape_markdown(v, cell=True) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- building cards
class _Builder:
    def __init__(self) -> None:
        self.rows: list[dict] = []

    def add(self, section: str, name: str, question: str, answer, source: str | None) -> None:
        if answer is None or (isinstance(answer, str) and not answer.strip()):
            answer, source = None, None
        self.rows.append(
            {
                "section": section,
                "field": name,
                "question": question,
                "answer": None if answer is None else str(answer),
                "source": source,
            }
        )

    def card(self, kind: str, title: str, quantitative: dict) -> Card:
        table = pd.DataFrame(
            self.rows, columns=["section", "field", "question", "answer", "source"]
        )
        for column in ("answer", "source"):  # None, not NaN, marks a gap
            table[column] = table[column].astype(object).where(table[column].notna(), None)
        gaps = tuple(
            Finding("info", f"Gap: {r['section']} / {r['field']}", r["question"])
            for r in self.rows
            if r["answer"] is None
        )
        return Card(
            kind=kind, title=title, fields_table=table, quantitative=quantitative, findings=gaps
        )


def _report_from(report=None, *, ledger=None, run: str | None = None):
    """The audit report: given directly, or read back from the ledger's evidence."""
    if report is not None:
        return report, report.meta.get("run_id")
    if ledger is None or run is None:
        raise ParameterError(
            "model_card()/annex_iv(): pass an AuditReport as report, or ledger= and run= of a "
            "recorded audit."
        )
    from raikit.audit._load import recorded_audit
    from raikit.ledger import Ledger

    ledger = ledger if isinstance(ledger, Ledger) else Ledger(ledger)
    report, evidence_id = recorded_audit(ledger, run)
    return report, f"{ledger.run(run)['id']} (evidence {evidence_id[:12]})"


def _slice_texts(table: pd.DataFrame) -> list[str]:
    """The one text form (``"sex=F & race=A"``) of each row's slice, from the table's ``slice``
    column of :class:`~raikit._grouping.SliceKey` (nothing parsed back); tables saved before that
    column get one key per distinct (attribute, group), not per row."""
    from raikit._grouping import SliceKey

    if "slice" in table.columns:
        return [SliceKey(key).text for key in table["slice"]]
    pairs = list(zip(table["attribute"].astype(str), table["group"].astype(str), strict=True))
    text = {pair: SliceKey.from_table(*pair).text for pair in dict.fromkeys(pairs)}
    return [text[pair] for pair in pairs]


def _per_group_table(report) -> pd.DataFrame | None:
    result = report.results.get("metrics.group_metrics")
    if result is None:
        return None
    wanted = [
        "count",
        "accuracy",
        "selection_rate",
        "true_positive_rate",
        "false_positive_rate",
        "precision",
        "roc_auc",
    ]
    table = result.table[result.table["metric"].isin(wanted)]
    keys = ["slice"] if "slice" in table.columns else []  # results saved before the key column
    columns = ["attribute", "group", *keys, "metric", "value", "lower", "upper"]
    return table[columns].reset_index(drop=True)


def model_card(report=None, *, ledger=None, run: str | None = None, problem=None) -> Card:
    """A model card (Mitchell et al., 2019) from an audit's evidence and the problem definition.

    Parameters
    ----------
    report : AuditReport, optional
        The audit to document. Alternatively ``ledger`` and ``run`` of a recorded audit.
    ledger : raikit.ledger.Ledger or path, optional
        The ledger holding the audit run (with ``run``).
    run : str, optional
        Id of a run holding an ``audit.report`` evidence row.
    problem : dict, YAML text or path, optional
        Answers to the problem-definition questions (see :func:`problem_template`).

    Returns
    -------
    Card
        Every field with its answer and source; unanswered questions are ``gaps``.

    See Also
    --------
    raikit.cards.annex_iv : the EU AI Act documentation from the same evidence.
    raikit.data.datasheet : the data's documentation.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from raikit.audit import audit
    >>> from raikit.datasets import load_german_credit
    >>> ds = load_german_credit().replace(features=["duration_months", "age"])
    >>> train, test = ds.split(0.3, random_state=0)
    >>> model = LogisticRegression().fit(train.X, train.y)
    >>> report = audit(model, train=train, test=test, n_boot=20, sections=["bias"])
    >>> card = model_card(report, problem={"name": "Credit screen"})
    >>> card.title
    'Model card: Credit screen'
    >>> "Intended use" in set(card.gaps["field"])  # not answered: a gap, never invented
    True
    """
    report, source_run = _report_from(report, ledger=ledger, run=run)
    answers = load_problem(problem)
    evidence = f"audit run {source_run}" if source_run else "audit report"
    b = _Builder()
    _model_details(b, answers, report.meta, evidence)
    _use_factors_and_data(b, report, answers, evidence)
    _quantitative_analyses(b, report, evidence)
    _shape_constraints(b, report, answers, evidence)
    _ethics_and_caveats(b, report, answers, evidence)
    meta = report.meta
    quantitative = {}
    per_group = _per_group_table(report)
    if per_group is not None:
        quantitative["Quantitative analysis per group"] = per_group
        quantitative["Fairness criteria"] = report.results["metrics.group_metrics"].fairness(
            tolerance=meta.get("tolerance", 0.1)
        )
    glassbox = report.results.get("explain.glassbox_baseline")
    if glassbox is not None:
        quantitative["Glass box gap per group"] = glassbox.gap
    quantitative["Scorecard"] = report.scorecard
    name = answers.get("name") or meta.get("model") or "model"
    return b.card("model_card", f"Model card: {name}", quantitative)


_FROM_PROBLEM = "problem definition"  # the source of an answer given in the problem definition


def _model_details(b: _Builder, answers: dict, meta: dict, evidence: str) -> None:
    """Name, version, provider, type, parameters and code version of the model."""
    p = _FROM_PROBLEM
    b.add(
        "Model details",
        "Name",
        "Name of the model.",
        answers.get("name") or meta.get("model"),
        p if answers.get("name") else evidence,
    )
    b.add("Model details", "Version", "Version.", answers.get("version"), p)
    b.add("Model details", "Provider", "Who provides the model?", answers.get("provider"), p)
    b.add(
        "Model details",
        "Model type",
        "Algorithm and implementation.",
        meta.get("model_type"),
        evidence,
    )
    b.add(
        "Model details",
        "Parameters",
        "Hyper-parameters.",
        _params_text(meta.get("model_params")),
        evidence,
    )
    code = meta.get("code") or {}
    b.add(
        "Model details",
        "Code version",
        "Commit of the code that produced the evidence.",
        None
        if not code.get("git_commit")
        else f"{code['git_commit']}{' (uncommitted changes)' if code.get('git_dirty') else ''}",
        evidence,
    )


def _use_factors_and_data(b: _Builder, report, answers: dict, evidence: str) -> None:
    """Intended use, the groups reported on, the metrics and the datasets."""
    p, meta = _FROM_PROBLEM, report.meta
    for key, label in (
        ("intended_use", "Intended use"),
        ("intended_users", "Intended users"),
        ("out_of_scope_uses", "Out-of-scope uses"),
    ):
        b.add("Intended use", label, PROBLEM_QUESTIONS[key], answers.get(key), p)
    b.add(
        "Factors",
        "Groups",
        "Groups across which performance is reported.",
        ", ".join(meta.get("sensitive", [])) + " (each alone and intersections)"
        if meta.get("sensitive")
        else None,
        evidence,
    )
    b.add(
        "Metrics",
        "Performance measures",
        "Metrics, decision threshold and how uncertainty is reported.",
        f"Accuracy, selection rate, TPR, FPR, precision, ROC AUC per group; "
        f"{meta.get('ci', 0.95):.0%} bootstrap confidence intervals (rates: a Bayesian bootstrap "
        f"with the Jeffreys prior; score metrics: a Poisson bootstrap); fairness tolerance "
        f"{meta.get('tolerance')}."
        if "metrics.group_metrics" in report.results
        else None,
        evidence,
    )
    b.add(
        "Evaluation data",
        "Evaluation data",
        "Dataset used for the quantitative analyses.",
        f"{meta['test']['name']} ({meta['test']['rows']:,} rows)" if meta.get("test") else None,
        evidence,
    )
    b.add(
        "Training data",
        "Training data",
        "Dataset the model was trained on.",
        f"{meta['train']['name']} ({meta['train']['rows']:,} rows)" if meta.get("train") else None,
        evidence,
    )


def _quantitative_analyses(b: _Builder, report, evidence: str) -> None:
    """The fairness and practical-accuracy marks of the audit's scorecard."""
    scorecard = report.scorecard.set_index("principle")
    b.add(
        "Quantitative analyses",
        "Fairness",
        "Disparities between groups, with confidence intervals.",
        f"{scorecard.loc['bias', 'status']}: {scorecard.loc['bias', 'reason']}"
        if "bias" in scorecard.index and scorecard.loc["bias", "status"] != "not assessed"
        else None,
        evidence,
    )
    b.add(
        "Quantitative analyses",
        "Practical accuracy",
        "Accuracy against a trivial baseline.",
        f"{scorecard.loc['practical_accuracy', 'status']}: "
        f"{scorecard.loc['practical_accuracy', 'reason']}"
        if "practical_accuracy" in scorecard.index
        and scorecard.loc["practical_accuracy", "status"] != "not assessed"
        else None,
        evidence,
    )
    glassbox = report.results.get("explain.glassbox_baseline")
    b.add(
        "Quantitative analyses",
        "Interpretable alternative",
        "Is the complex model worth it? Its accuracy against a glass box (InterpretML's "
        "Explainable Boosting Machine) on the same rows, per group, with paired intervals.",
        " ".join([glassbox.summary, *(f"{f.title}." for f in glassbox.findings)])
        if glassbox is not None
        else None,
        evidence,
    )


def _shape_constraints(b: _Builder, report, answers: dict, evidence: str) -> None:
    """The declared shape constraints and what their verification found (only when declared)."""
    declared = report.meta.get("shape_constraints") or answers.get("shape_constraints")
    result = report.results.get("evaluate.verify_constraints")
    if not declared and result is None:
        return
    if result is not None:
        declared = result.meta.get("constraints") or declared
    text = "; ".join(f"{f}: {s.replace('_', ' ')}" for f, s in declared.items())
    if result is None:
        found = "not verified (the audit's shape_constraints section did not run)"
        source = _FROM_PROBLEM
    else:
        t = result.table
        bad = t[t["status"] == "violated"]
        found = (
            f"verified on {result.meta['n_rows']:,} rows: "
            + (
                "no violation found"
                if bad.empty
                else "violations found for "
                + ", ".join(f"{r.feature} ({r.share:.1%} of rows)" for r in bad.itertuples())
            )
            + (
                f"; not assessable: {', '.join(t.loc[t['status'] == 'not assessable', 'feature'])}"
                if (t["status"] == "not assessable").any()
                else ""
            )
        )
        source = f"{evidence} (evaluate.verify_constraints)"
    b.add(
        "Quantitative analyses",
        "Shape constraints",
        PROBLEM_QUESTIONS["shape_constraints"],
        f"Declared: {text}. {found[0].upper()}{found[1:]}.",
        source,
    )


def _ethics_and_caveats(b: _Builder, report, answers: dict, evidence: str) -> None:
    """Ethical considerations (with the audit's violations), oversight, impact and caveats."""
    p = _FROM_PROBLEM
    violations = [f for f in report.findings if f.severity == "error"]
    ethical = answers.get("ethical_considerations")
    if violations:
        found = "; ".join(f"{f.title}: {f.detail}" for f in violations[:5])
        ethical = (ethical + " " if ethical else "") + f"Evidence: {found}"
    b.add(
        "Ethical considerations",
        "Ethical considerations",
        PROBLEM_QUESTIONS["ethical_considerations"],
        ethical,
        "problem definition + audit findings" if violations else p,
    )
    b.add(
        "Ethical considerations",
        "Consequences of failure",
        PROBLEM_QUESTIONS["consequences_of_failure"],
        answers.get("consequences_of_failure"),
        p,
    )
    b.add(
        "Ethical considerations",
        "Human oversight",
        PROBLEM_QUESTIONS["human_oversight"],
        answers.get("human_oversight"),
        p,
    )
    b.add(
        "Ethical considerations",
        "Impact on workers",
        PROBLEM_QUESTIONS["worker_impact"],
        answers.get("worker_impact"),
        p,
    )
    caveats = [
        f"{r.principle}: {r.status} — {r.reason}"
        for r in report.scorecard.itertuples(index=False)
        if r.status != "pass"
    ]
    b.add(
        "Caveats and recommendations",
        "Caveats",
        "Known limitations and unassessed principles.",
        " | ".join(caveats) if caveats else None,
        evidence,
    )


def annex_iv(
    report=None, *, ledger=None, run: str | None = None, problem=None, sandbox_certificate=None
) -> Card:
    """The EU AI Act Annex IV technical documentation, section by section, from evidence.

    Only what the evidence or the problem definition supports is filled in; the rest (declaration
    of conformity, standards, ...) is listed as gaps for the provider to complete.

    Parameters
    ----------
    report, ledger, run, problem
        As for :func:`model_card`.
    sandbox_certificate : str or Path, optional
        The ``certificate.json`` of a closed :mod:`raikit.sandbox` session the data was processed
        in. It is verified (signature, access log) and cited under data governance; a certificate
        that fails raises :class:`raikit.sandbox.IntegrityError`.

    Returns
    -------
    Card

    See Also
    --------
    raikit.cards.model_card : the model card from the same evidence.
    raikit.cards.problem_template : the questions only a person can answer.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from raikit.audit import audit
    >>> from raikit.datasets import load_german_credit
    >>> ds = load_german_credit().replace(features=["duration_months", "age"])
    >>> train, test = ds.split(0.3, random_state=0)
    >>> model = LogisticRegression().fit(train.X, train.y)
    >>> report = audit(model, train=train, test=test, n_boot=20, sections=["bias"])
    >>> card = annex_iv(report)
    >>> "Declaration" in set(card.gaps["field"])  # only the provider can give it
    True
    """
    report, source_run = _report_from(report, ledger=ledger, run=run)
    answers = load_problem(problem)
    meta = report.meta
    evidence = f"audit run {source_run}" if source_run else "audit report"
    b = _Builder()
    _annex_general(b, answers)
    _annex_development(b, report, answers, evidence)
    if sandbox_certificate is not None:
        from raikit.sandbox import verify_certificate

        cert = verify_certificate(sandbox_certificate)
        b.add(
            "2. Elements of the system and its development",
            "Confidential processing",
            "Data governance: where the data was processed and that it was deleted (2(d), Art. 10).",
            f"Processed in sandbox session {cert['session']} (software-level protection on one "
            f"machine, not a hardware TEE): {len(cert['processed'])} artifact(s) encrypted at "
            f"rest; {len(cert['exported'])} aggregate export(s) under policy {cert['policy']}; "
            f"working data and session key deleted at {cert['deleted_at']}; access log head "
            f"{cert['log']['head']} ({cert['log']['entries']} entries), signed by Ed25519 key "
            f"{cert['public_key']}.",
            f"sandbox certificate {Path(sandbox_certificate).name} (verified)",
        )
    _annex_operation(b, report, answers, evidence)
    quantitative = {"Scorecard": report.scorecard}
    per_group = _per_group_table(report)
    if per_group is not None:
        quantitative["Accuracy for specific groups"] = per_group
    name = answers.get("name") or meta.get("model") or "model"
    return b.card("annex_iv", f"EU AI Act Annex IV technical documentation: {name}", quantitative)


def _annex_general(b: _Builder, answers: dict) -> None:
    """Section 1: purpose, provider, version and instructions for use."""
    p = _FROM_PROBLEM
    s1 = "1. General description of the AI system"
    b.add(
        s1,
        "Intended purpose",
        "Intended purpose, provider and version (Annex IV 1(a)).",
        answers.get("intended_use"),
        p,
    )
    b.add(s1, "Provider", "Name of the provider.", answers.get("provider"), p)
    b.add(s1, "Version", "Version of the system.", answers.get("version"), p)
    b.add(
        s1,
        "Instructions for use",
        "Instructions for use and intended users (1(h)).",
        answers.get("intended_users"),
        p,
    )


def _annex_development(b: _Builder, report, answers: dict, evidence: str) -> None:
    """Section 2: design, data, human oversight, validation and testing."""
    p, meta = _FROM_PROBLEM, report.meta
    s2 = "2. Elements of the system and its development"
    b.add(
        s2,
        "Design and architecture",
        "General logic, algorithms and key design choices (2(b)).",
        f"{meta.get('model_type')} with parameters {_params_text(meta.get('model_params'))}"
        if meta.get("model_type")
        else None,
        evidence,
    )
    b.add(
        s2,
        "Data requirements",
        "Training data: provenance, scope and characteristics (2(d)).",
        f"Training data {meta['train']['name']} ({meta['train']['rows']:,} rows), target "
        f"{meta.get('target')!r}, features {meta.get('features')}"
        if meta.get("train")
        else None,
        evidence,
    )
    b.add(
        s2,
        "Human oversight measures",
        "Human oversight measures (2(e), Art. 14).",
        answers.get("human_oversight"),
        p,
    )
    b.add(
        s2,
        "Validation and testing",
        "Validation and testing procedures, metrics, test logs (2(g)).",
        f"Evaluated on {meta['test']['name']} ({meta['test']['rows']:,} rows); checks "
        f"{sorted(report.results)}; recorded as ledger {evidence}."
        if meta.get("test")
        else None,
        evidence,
    )


def _annex_operation(b: _Builder, report, answers: dict, evidence: str) -> None:
    """Sections 3 to 9: performance, risks, metrics, risk management, changes, standards,
    conformity and post-market monitoring."""
    p, meta = _FROM_PROBLEM, report.meta
    s3 = "3. Monitoring, functioning and control"
    b.add(
        s3,
        "Performance and limitations",
        "Capabilities and limitations, accuracy for specific groups (3).",
        "; ".join(
            f"{r.principle}: {r.status} — {r.reason}"
            for r in report.scorecard.itertuples(index=False)
            if r.principle in ("bias", "practical_accuracy")
        ),
        evidence,
    )
    b.add(
        s3,
        "Foreseeable unintended outcomes",
        "Foreseeable risks to health, safety and rights.",
        answers.get("consequences_of_failure"),
        p,
    )
    b.add(
        "4. Appropriateness of the performance metrics",
        "Metrics",
        "Why the metrics are appropriate for this system.",
        answers.get("ethical_considerations"),
        p,
    )
    b.add(
        "5. Risk management system",
        "Risk management",
        PROBLEM_QUESTIONS["risk_management"],
        answers.get("risk_management"),
        p,
    )
    b.add(
        "6. Changes through the lifecycle",
        "Recorded runs",
        "Relevant changes made to the system through its lifecycle.",
        f"Code version {meta['code']}" if meta.get("code") else None,
        evidence,
    )
    b.add(
        "7. Standards applied",
        "Standards",
        PROBLEM_QUESTIONS["standards"],
        answers.get("standards"),
        p,
    )
    b.add(
        "8. EU declaration of conformity",
        "Declaration",
        "A copy of the EU declaration of conformity (Art. 47).",
        None,
        None,
    )
    b.add(
        "9. Post-market monitoring",
        "Monitoring plan",
        PROBLEM_QUESTIONS["post_market_monitoring"],
        answers.get("post_market_monitoring"),
        p,
    )
