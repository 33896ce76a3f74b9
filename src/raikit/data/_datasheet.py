"""``datasheet``: the questions of *Datasheets for Datasets* (Gebru et al., 2021), answered honestly.

Composition questions that the data itself can answer (how many rows, which label, what is missing,
which subpopulations, which errors and proxies) are answered from evidence computed by this stage.
Every other question is answered by people, in a YAML (or JSON) file; :func:`datasheet_template`
writes one to fill in. A question nobody answered is listed as unanswered — never invented.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from raikit._errors import DataError, FileFormatError, ParameterError
from raikit._recording import recorded
from raikit._result import Finding, Result
from raikit._validation import RANDOM_STATE, check_dataset, validate_params
from raikit.data._label_issues import LabelIssuesResult
from raikit.data._pii import PIIScanResult
from raikit.data._profile import ProfileResult, proxy_measures, proxy_title
from raikit.data._representation import RepresentationResult

__all__ = ["QUESTIONS", "DatasheetResult", "datasheet", "datasheet_template"]

SECTIONS = (
    "motivation",
    "composition",
    "collection",
    "preprocessing",
    "uses",
    "distribution",
    "maintenance",
)

# (section, id, question) — the questions of Gebru et al., "Datasheets for Datasets" (CACM 2021).
QUESTIONS: tuple[tuple[str, str, str], ...] = (
    (
        "motivation",
        "purpose",
        "For what purpose was the dataset created? Was there a specific task "
        "in mind? Was there a specific gap that needed to be filled?",
    ),
    (
        "motivation",
        "creators",
        "Who created the dataset (e.g., which team, research group) and on "
        "behalf of which entity (e.g., company, institution, organization)?",
    ),
    (
        "motivation",
        "funding",
        "Who funded the creation of the dataset? If there is an associated "
        "grant, please provide the name of the grantor and the grant name and number.",
    ),
    ("motivation", "comments", "Any other comments?"),
    (
        "composition",
        "instances",
        "What do the instances that comprise the dataset represent (e.g., "
        "documents, photos, people, countries)?",
    ),
    (
        "composition",
        "count",
        "How many instances are there in total (of each type, if appropriate)?",
    ),
    (
        "composition",
        "sample",
        "Does the dataset contain all possible instances or is it a sample "
        "(not necessarily random) of instances from a larger set? If a sample, is it representative "
        "of the larger set?",
    ),
    ("composition", "instance_data", "What data does each instance consist of?"),
    ("composition", "label", "Is there a label or target associated with each instance?"),
    (
        "composition",
        "missing",
        "Is any information missing from individual instances? If so, "
        "please provide a description.",
    ),
    (
        "composition",
        "relationships",
        "Are relationships between individual instances made "
        "explicit (e.g., users' movie ratings, social network links)?",
    ),
    (
        "composition",
        "splits",
        "Are there recommended data splits (e.g., training, development/validation, testing)?",
    ),
    (
        "composition",
        "errors",
        "Are there any errors, sources of noise, or redundancies in the dataset?",
    ),
    (
        "composition",
        "external",
        "Is the dataset self-contained, or does it link to or otherwise "
        "rely on external resources (e.g., websites, other datasets)?",
    ),
    (
        "composition",
        "confidential",
        "Does the dataset contain data that might be considered "
        "confidential (e.g., data protected by legal privilege or doctor-patient confidentiality)?",
    ),
    (
        "composition",
        "offensive",
        "Does the dataset contain data that, if viewed directly, might be "
        "offensive, insulting, threatening, or might otherwise cause anxiety?",
    ),
    (
        "composition",
        "subpopulations",
        "Does the dataset identify any subpopulations (e.g., by age, "
        "gender)? If so, how are they identified and what are their respective distributions?",
    ),
    (
        "composition",
        "identifiable",
        "Is it possible to identify individuals, either directly or "
        "indirectly (i.e., in combination with other data) from the dataset?",
    ),
    (
        "composition",
        "sensitive",
        "Does the dataset contain data that might be considered sensitive "
        "in any way (e.g., data that reveals race or ethnic origins, sexual orientations, religious "
        "beliefs, political opinions, union memberships, locations, financial or health data, "
        "biometric or genetic data, government identification, criminal history)?",
    ),
    (
        "collection",
        "acquisition",
        "How was the data associated with each instance acquired (directly "
        "observable, reported by subjects, or indirectly inferred/derived)? Was it validated?",
    ),
    (
        "collection",
        "mechanisms",
        "What mechanisms or procedures were used to collect the data (e.g., "
        "hardware, manual curation, software, APIs)? How were they validated?",
    ),
    (
        "collection",
        "sampling",
        "If the dataset is a sample from a larger set, what was the sampling "
        "strategy (e.g., deterministic, probabilistic with specific sampling probabilities)?",
    ),
    (
        "collection",
        "collectors",
        "Who was involved in the data collection process (e.g., students, "
        "crowdworkers, contractors) and how were they compensated?",
    ),
    (
        "collection",
        "timeframe",
        "Over what timeframe was the data collected? Does it match the "
        "creation timeframe of the data associated with the instances?",
    ),
    (
        "collection",
        "ethical_review",
        "Were any ethical review processes conducted (e.g., by an institutional review board)?",
    ),
    (
        "collection",
        "source",
        "Did you collect the data from the individuals in question directly, "
        "or obtain it via third parties or other sources (e.g., websites)?",
    ),
    (
        "collection",
        "notification",
        "Were the individuals in question notified about the data collection?",
    ),
    (
        "collection",
        "consent",
        "Did the individuals in question consent to the collection and use of "
        "their data? Were they given a mechanism to revoke their consent?",
    ),
    (
        "collection",
        "impact_analysis",
        "Has an analysis of the potential impact of the dataset and its "
        "use on data subjects (e.g., a data protection impact analysis) been conducted?",
    ),
    (
        "preprocessing",
        "cleaning",
        "Was any preprocessing/cleaning/labeling of the data done (e.g., "
        "discretization, tokenization, removal of instances, processing of missing values)?",
    ),
    (
        "preprocessing",
        "raw_data",
        "Was the raw data saved in addition to the preprocessed/cleaned/"
        "labeled data (e.g., to support unanticipated future uses)?",
    ),
    (
        "preprocessing",
        "software",
        "Is the software that was used to preprocess/clean/label the data available?",
    ),
    ("uses", "used_for", "Has the dataset been used for any tasks already?"),
    (
        "uses",
        "repository",
        "Is there a repository that links to any or all papers or systems that use the dataset?",
    ),
    ("uses", "other_tasks", "What (other) tasks could the dataset be used for?"),
    (
        "uses",
        "risks",
        "Is there anything about the composition of the dataset or the way it was "
        "collected and preprocessed/cleaned/labeled that might impact future uses (e.g., unfair "
        "treatment of individuals or groups, financial harms, legal risks)?",
    ),
    ("uses", "avoid", "Are there tasks for which the dataset should not be used?"),
    (
        "distribution",
        "third_parties",
        "Will the dataset be distributed to third parties outside of "
        "the entity on behalf of which the dataset was created?",
    ),
    (
        "distribution",
        "how",
        "How will the dataset be distributed (e.g., tarball on website, API, "
        "GitHub)? Does the dataset have a digital object identifier (DOI)?",
    ),
    ("distribution", "when", "When will the dataset be distributed?"),
    (
        "distribution",
        "license",
        "Will the dataset be distributed under a copyright or other "
        "intellectual property (IP) license, and/or under applicable terms of use (ToU)?",
    ),
    (
        "distribution",
        "third_party_ip",
        "Have any third parties imposed IP-based or other "
        "restrictions on the data associated with the instances?",
    ),
    (
        "distribution",
        "export_controls",
        "Do any export controls or other regulatory restrictions "
        "apply to the dataset or to individual instances?",
    ),
    ("maintenance", "maintainer", "Who will be supporting/hosting/maintaining the dataset?"),
    (
        "maintenance",
        "contact",
        "How can the owner/curator/manager of the dataset be contacted (e.g., email address)?",
    ),
    ("maintenance", "erratum", "Is there an erratum?"),
    (
        "maintenance",
        "updates",
        "Will the dataset be updated (e.g., to correct labeling errors, add "
        "new instances, delete instances)? How often, by whom, and how will updates be communicated?",
    ),
    (
        "maintenance",
        "retention",
        "If the dataset relates to people, are there applicable limits on "
        "the retention of the data associated with the instances?",
    ),
    (
        "maintenance",
        "versioning",
        "Will older versions of the dataset continue to be supported/hosted/maintained?",
    ),
    (
        "maintenance",
        "contributions",
        "If others want to extend/augment/build on/contribute to the "
        "dataset, is there a mechanism for them to do so?",
    ),
)

_IDS = [f"{section}.{qid}" for section, qid, _ in QUESTIONS]


@dataclass(frozen=True, eq=False)
class DatasheetResult(Result):
    """A datasheet: every question, its answer (from people), and evidence (from the data).

    Attributes
    ----------
    questions : DataFrame
        One row per question: ``section``, ``id`` (``"composition.count"``), ``question``,
        ``answer`` (from the answers file, empty when none), ``evidence`` (computed from the
        data, empty when the data cannot answer) and ``source`` (``answer``, ``evidence``,
        ``answer+evidence`` or ``unanswered``).
    name : str
        The dataset's name.
    findings : tuple of Finding
        How many questions remain unanswered.
    meta : dict
        Rows, columns and the evidence used.

    See Also
    --------
    datasheet : computes it.

    Examples
    --------
    >>> from raikit.data import datasheet
    >>> from raikit.datasets import load_german_credit
    >>> sheet = datasheet(load_german_credit(), random_state=0)
    >>> type(sheet).__name__, "motivation.purpose" in sheet.unanswered
    ('DatasheetResult', True)
    """

    questions: pd.DataFrame
    name: str
    findings: tuple = field(default_factory=tuple)
    meta: dict = field(default_factory=dict)

    @property
    def unanswered(self) -> list[str]:
        """Ids of the questions with neither an answer nor evidence."""
        return self.questions.loc[self.questions["source"] == "unanswered", "id"].tolist()

    @property
    def summary(self) -> str:
        counts = self.questions["source"].value_counts()
        total = len(self.questions)
        return (
            f"Datasheet for {self.name}: {total - int(counts.get('unanswered', 0))} of {total} "
            f"questions answered ({int(counts.get('evidence', 0) + counts.get('answer+evidence', 0))}"
            f" from evidence), {int(counts.get('unanswered', 0))} unanswered."
        )

    def to_markdown(self, path=None) -> str:
        """The datasheet as Markdown (unanswered questions are marked, not filled in)."""
        lines = [f"# Datasheet: {self.name}", "", f"_{self.summary}_", ""]
        for section in SECTIONS:
            part = self.questions[self.questions["section"] == section]
            lines += [f"## {section.capitalize()}", ""]
            for row in part.itertuples(index=False):
                lines.append(f"**{row.question}**")
                lines.append("")
                if row.answer:
                    lines += [row.answer, ""]
                if row.evidence:
                    lines += ["_From the data (raikit):_ " + row.evidence, ""]
                if row.source == "unanswered":
                    lines += ["_Unanswered._", ""]
        text = "\n".join(lines)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def figures(self) -> list:
        import plotly.graph_objects as go

        table = self.questions.assign(answered=self.questions["source"] != "unanswered")
        counts = table.groupby(["section", "answered"], sort=False).size().unstack(fill_value=0)
        counts = counts.reindex(SECTIONS).fillna(0)
        fig = go.Figure()
        for flag, name in ((True, "answered"), (False, "unanswered")):
            if flag in counts.columns:
                fig.add_trace(go.Bar(x=list(counts.index), y=counts[flag], name=name))
        fig.update_layout(title="Datasheet questions per section", barmode="stack")
        return [fig]


def datasheet_template(path=None, *, name: str = "dataset") -> str:
    """A YAML file with every datasheet question as a comment and an empty answer to fill in.

    Parameters
    ----------
    path : str or path, optional
        Also write the template there.
    name : str, default "dataset"
        The dataset's name in the template.

    Returns
    -------
    str
        The YAML text.

    See Also
    --------
    datasheet : answers the questions it can from the data, and takes the rest from this file.

    Examples
    --------
    >>> from raikit.data import datasheet_template
    >>> text = datasheet_template(name="adult")
    >>> "  purpose: ''" in text and "composition:" in text
    True
    """
    lines = [
        f"# Datasheet answers for {name} (Gebru et al., Datasheets for Datasets).",
        "# Fill in what you know; leave '' for what you do not. raikit answers some composition",
        "# questions from the data itself and lists unanswered questions as unanswered.",
    ]
    for section in SECTIONS:
        lines += ["", f"{section}:"]
        for s, qid, question in QUESTIONS:
            if s == section:
                lines.append(f"  # {question}")
                lines.append(f"  {qid}: ''")
    text = "\n".join(lines) + "\n"
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text


def _read_answers(answers) -> dict[str, str]:
    if answers is None:
        return {}
    if isinstance(answers, str | os.PathLike):
        path = Path(answers)
        if not path.exists():
            raise FileFormatError(f"Answers file not found: {str(path)!r}.")
        text = path.read_text(encoding="utf-8")
        if path.suffix.lower() == ".json":
            try:
                answers = json.loads(text)
            except json.JSONDecodeError as error:
                raise FileFormatError(
                    f"Answers file {str(path)!r} is not valid JSON: {error}."
                ) from error
        else:
            try:
                import yaml
            except ImportError as error:  # pragma: no cover - pyyaml ships with the dev extra
                raise DataError(
                    'Reading YAML answers needs PyYAML: pip install "raikit[dev]" (or pyyaml), '
                    "or pass a .json file or a dict."
                ) from error
            try:
                answers = yaml.safe_load(text) or {}
            except yaml.YAMLError as error:
                raise FileFormatError(
                    f"Answers file {str(path)!r} is not valid YAML: {error}."
                ) from error
    if not isinstance(answers, dict):
        raise ParameterError(
            f"datasheet(): answers must be a dict (section -> {{question id -> text}}) or a "
            f"YAML/JSON file; got {type(answers).__name__}."
        )
    flat: dict[str, str] = {}
    for key, value in answers.items():
        if isinstance(value, dict):
            for sub, text in value.items():
                flat[f"{key}.{sub}"] = text
        else:
            flat[str(key)] = value
    unknown = sorted(set(flat) - set(_IDS))
    if unknown:
        import difflib

        hints = {u: difflib.get_close_matches(u, _IDS, n=1) for u in unknown}
        shown = ", ".join(
            f"{u!r}" + (f" (did you mean {h[0]!r}?)" if h else "") for u, h in hints.items()
        )
        raise ParameterError(
            f"datasheet(): unknown question id(s) in answers: {shown}. Generate the list with "
            f"datasheet_template()."
        )
    return {k: ("" if v is None else str(v).strip()) for k, v in flat.items()}


def _fmt_share(value: float) -> str:
    return f"{value:.1%}"


def _evidence(ds, prof, rep, issues) -> dict[str, str]:
    """Answers the data can give, each with the numbers behind it."""
    frame = ds.frame
    out: dict[str, str] = {}
    roles = {"features": len(ds.feature_names), "sensitive": len(ds.sensitive_names)}
    out["composition.count"] = (
        f"{len(frame):,} rows and {frame.shape[1]} columns ({roles['features']} features, "
        f"{roles['sensitive']} sensitive attribute(s)"
        + (f", target {ds.target!r}" if ds.target else "")
        + ")."
    )
    columns = prof.columns
    kinds = ", ".join(f"{name} ({row['kind']})" for name, row in columns.iterrows())
    out["composition.instance_data"] = f"Columns: {kinds}."
    if ds.target is not None:
        counts = ds.y.value_counts(dropna=False)
        shown = ", ".join(
            f"{k!r}: {v:,} ({v / len(frame):.1%})" for k, v in counts.head(10).items()
        )
        out["composition.label"] = f"Yes: column {ds.target!r} with values {shown}."
    missing = columns[columns["missing"] > 0].sort_values("missing_rate", ascending=False)
    if len(missing):
        listed = ", ".join(
            f"{name} {int(row['missing']):,} ({_fmt_share(row['missing_rate'])})"
            for name, row in missing.iterrows()
        )
        differ = [
            f"{f.title}: {f.detail}" for f in prof.findings if f.title.startswith("Missingness of")
        ]
        out["composition.missing"] = f"Missing values in {len(missing)} column(s): {listed}." + (
            " " + " ".join(differ) if differ else ""
        )
    else:
        out["composition.missing"] = "No missing values in any column."
    # one attribute at a time: the rows of the Dataset's own sensitive attributes, not intersections
    groups = rep.groups[rep.groups["attribute"].isin(list(ds.sensitive_names))]
    parts = []
    for attribute, part in groups.groupby("attribute", sort=False):
        shares = ", ".join(
            f"{r.group} {r.count:,} ({_fmt_share(r.share)}"
            + (f", base rate {r.base_rate:.3f}" if r.base_rate == r.base_rate else "")
            + ")"
            for r in part.itertuples(index=False)
        )
        parts.append(f"{attribute}: {shares}")
    thin = [f.detail for f in rep.findings if "too small" in f.title]
    out["composition.subpopulations"] = (
        "Yes, by the sensitive attribute(s) "
        + ", ".join(repr(s) for s in ds.sensitive_names)
        + ". "
        + "; ".join(parts)
        + "."
        + (" " + " ".join(thin) if thin else "")
    )
    duplicates = int(frame.duplicated().sum())
    errors = [f"{duplicates:,} duplicated row(s) ({duplicates / len(frame):.2%})."]
    constant = [f.title for f in prof.findings if f.title.endswith("is constant")]
    if constant:
        errors.append("; ".join(constant) + ".")
    if issues is not None:
        errors.append(
            f"Confident learning flags {len(issues.issues):,} row(s) "
            f"({len(issues.issues) / issues.n_rows:.2%}) as likely mislabelled and an Isolation "
            f"Forest {len(issues.outliers):,} as outliers."
        )
        errors += [f.title + "." for f in issues.findings]
    out["composition.errors"] = " ".join(errors)
    # From the profile's numbers, not from the findings' prose (whose decimals contain '.').
    proxies = [
        f"{proxy_title(row)} ({proxy_measures(row)})"
        for row in prof.strong_proxies.itertuples(index=False)
    ]
    out["composition.sensitive"] = (
        "The data holds the sensitive attribute(s) "
        + ", ".join(repr(s) for s in ds.sensitive_names)
        + "."
        + (" Proxies: " + "; ".join(proxies) + "." if proxies else " No strong proxy was found.")
    )
    return out


def _identifiable(scan: PIIScanResult) -> str:
    """The scan's answer to "can individuals be identified?": direct identifiers by column
    (masked examples only), then the re-identification risk over the quasi-identifiers."""
    flagged = scan.columns[scan.columns["flagged"]]
    direct = flagged[flagged["category"] == "direct"]
    quasi = flagged[flagged["category"] == "quasi"]
    parts = [
        "Directly: "
        + (
            "; ".join(
                f"{r.column} ({r.kind}, {r.share:.0%} of values)" for r in direct.itertuples()
            )
            if len(direct)
            else "no column of e-mails, phone numbers, IBANs, cards, national ids, IP addresses, "
            "names or addresses was found"
        )
        + "."
    ]
    if len(quasi):
        parts.append(
            "Quasi-identifier columns found: "
            + ", ".join(f"{r.column} ({r.kind})" for r in quasi.itertuples())
            + "."
        )
    if len(scan.risk):
        risk = scan.risk.set_index("measure")
        k = risk.loc["k_anonymity"]
        parts.append(
            f"Indirectly, over {', '.join(scan.meta['quasi_identifiers'])} "
            f"({scan.meta['quasi_source']}): {risk.loc['uniqueness', 'share_at_risk']:.1%} of "
            f"rows are unique, the smallest class holds {int(k['value'])} row(s) and "
            f"{k['share_at_risk']:.1%} of rows are in classes of fewer than "
            f"{int(k['threshold'])}."
        )
    return " ".join(parts)


def _question_table(given: dict, evidence: dict) -> pd.DataFrame:
    """Every question with its answer, its evidence, and where the text came from."""
    rows = []
    for section, qid, question in QUESTIONS:
        key = f"{section}.{qid}"
        answer = given.get(key, "")
        found = evidence.get(key, "")
        if answer and found:
            source = "answer+evidence"
        elif answer or found:
            source = "answer" if answer else "evidence"
        else:
            source = "unanswered"
        rows.append((section, key, question, answer, found, source))
    return pd.DataFrame(rows, columns=["section", "id", "question", "answer", "evidence", "source"])


def _open_questions(table: pd.DataFrame) -> list[Finding]:
    n_open = int((table["source"] == "unanswered").sum())
    if not n_open:
        return []
    open_sections = table.loc[table["source"] == "unanswered", "section"].unique()
    return [
        Finding(
            "info" if n_open < len(table) / 2 else "warning",
            f"{n_open} of {len(table)} datasheet questions are unanswered",
            "Sections with open questions: " + ", ".join(open_sections) + ". Fill in the "
            "template (raikit data datasheet --template answers.yaml) and pass it as answers.",
        )
    ]


@recorded("data.datasheet")
@validate_params(
    profile=[ProfileResult, None],
    representation=[RepresentationResult, None],
    label_issues=[LabelIssuesResult, None],
    pii=[PIIScanResult, None],
    random_state=RANDOM_STATE,
)
def datasheet(
    data,
    *,
    answers=None,
    profile=None,
    representation=None,
    label_issues=None,
    pii=None,
    random_state=None,
    ledger=None,
) -> DatasheetResult:
    """Build a datasheet: evidence for the composition questions, people's answers for the rest.

    Parameters
    ----------
    data : Dataset
        The data.
    answers : dict, or path to a YAML or JSON file, optional
        ``{section: {question_id: text}}`` (or flat ``{"section.id": text}``); see
        :func:`datasheet_template`. Unknown ids are an error (catches typos).
    profile, representation, label_issues : results, optional
        Evidence already computed (:func:`profile`, :func:`representation`,
        :func:`label_issues`); the first two are computed when not given, label issues are only
        reported when given.
    pii : PIIScanResult, optional
        The personal-data scan (:func:`scan_pii`), computed when not given: it answers whether
        individuals can be identified, and its errors and warnings become the datasheet's.
    random_state : int, Generator or None, default None
        Seed of the profile computed when ``profile`` is not given (its samples and proxy
        folds); ``None`` draws a fresh seed, recorded in the ledger.
    ledger : raikit.ledger.Ledger or path, optional
        Record the result as evidence (inside :func:`raikit.track` it is recorded anyway).

    Returns
    -------
    DatasheetResult

    Raises
    ------
    FileFormatError
        The answers file is missing or not valid YAML/JSON.
    ParameterError
        ``data`` is not a Dataset, ``answers`` is not a mapping or names an unknown question,
        or an evidence argument is not the Result it should be.

    See Also
    --------
    raikit.data.datasheet_template : the questions as a file to fill in.
    raikit.cards.model_card : the model's card.

    Examples
    --------
    >>> from raikit.data import datasheet
    >>> from raikit.datasets import load_german_credit
    >>> sheet = datasheet(load_german_credit(),
    ...                   answers={"motivation": {"purpose": "Credit scoring research."}},
    ...                   random_state=0)
    >>> q = sheet.questions.set_index("id")
    >>> q.loc["motivation.purpose", "source"], q.loc["composition.count", "source"]
    ('answer', 'evidence')
    >>> q.loc["composition.count", "evidence"]
    "1,000 rows and 23 columns (20 features, 2 sensitive attribute(s), target 'credit')."
    >>> "maintenance.contact" in sheet.unanswered
    True
    """
    from raikit.data._pii import scan_pii
    from raikit.data._profile import profile as run_profile
    from raikit.data._representation import representation as run_representation

    ds = check_dataset(data, caller="datasheet")
    given = _read_answers(answers)
    if profile is None:
        profile = run_profile(ds, proxy_sample=5_000, random_state=random_state)
    rep = representation if representation is not None else run_representation(ds)
    scan = pii if pii is not None else scan_pii(ds, random_state=random_state)
    evidence = _evidence(ds, profile, rep, label_issues)
    evidence["composition.identifiable"] = _identifiable(scan)
    table = _question_table(given, evidence)
    flagged = [f for f in scan.findings if f.severity != "info"]
    return DatasheetResult(
        questions=table,
        name=ds.name,
        findings=tuple(_open_questions(table) + flagged),
        meta={
            "n_rows": ds.n_rows,
            "n_columns": int(ds.frame.shape[1]),
            "evidence": ["profile", "representation", "scan_pii"]
            + (["label_issues"] if label_issues else []),
        },
    )
