"""``raikit data ...``: profile, schema, validate, drift, leakage, representation, label-issues,
datasheet, scan (personal data; a pre-commit or CI gate).

Every command reads CSV/TSV/Parquet files, prints a summary and the findings, and writes the result
as JSON (lossless evidence) and as a self-contained HTML page.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from raikit._cli_utils import progress_bar, progress_callback, split_names, weight_option
from raikit._errors import ColumnError, DataError, ParameterError
from raikit.metrics._stats import MIN_GROUP_SIZE

app = typer.Typer(
    help="Data checks before training: profile, schema, drift, leakage, representation, label "
    "issues, datasheet, personal-data scan.",
    no_args_is_help=True,
)
console = Console()

_TARGET = typer.Option(None, "--target", "-t", help="Label column.")
_SENSITIVE = typer.Option(..., "--sensitive", "-s", help="Sensitive columns, comma-separated.")
_OUT = typer.Option(
    Path("raikit-data"), "--out", help="Folder for <command>.json and <command>.html."
)
_JSON = typer.Option(None, "--json", help="Write the result as JSON here (overrides --out).")
_HTML = typer.Option(None, "--html", help="Write the HTML page here (overrides --out).")
_MISSING = typer.Option(None, "--missing-group", help="Label for missing sensitive values.")


@contextmanager
def _progress(description: str) -> Iterator[None]:
    """A spinner for the checks that are single vectorised passes (no countable steps)."""
    with progress_bar(console) as progress:
        progress.add_task(description, total=None)
        yield


def _bar():
    """The progress bar (with ETA) of the commands whose work has countable steps."""
    return progress_bar(console)


def _dataset(
    file: Path,
    target: str | None,
    sensitive: str,
    missing_group: str | None,
    weight: str | None = None,
):
    from raikit.dataset import Dataset

    names = split_names(sensitive)
    if not names:
        raise ParameterError("--sensitive needs at least one column name (comma-separated).")
    return Dataset(file, target=target, sensitive=names, missing_group=missing_group, weight=weight)


def _report(
    result, command: str, out: Path, json_out: Path | None, html_out: Path | None, title: str
) -> None:
    console.print(result.summary)
    colours = {"error": "red", "warning": "yellow", "info": "cyan"}
    for f in result.findings:
        console.print(f"[{colours[f.severity]}]{f.severity}[/]: {f.title} — {f.detail}")
    if json_out is None or html_out is None:
        out.mkdir(parents=True, exist_ok=True)
    json_path = json_out or out / f"{command}.json"
    html_path = html_out or out / f"{command}.html"
    result.to_json(json_path)
    result.to_html(html_path, title=title)
    console.print(f"JSON written to {json_path}")
    console.print(f"HTML written to {html_path}")


@app.command("profile")
def profile_command(
    file: Path = typer.Argument(..., help="CSV, TSV or Parquet file."),
    target: str | None = _TARGET,
    sensitive: str = _SENSITIVE,
    bins: int = typer.Option(20, "--bins", help="Histogram bins per numeric column."),
    top_k: int = typer.Option(10, "--top-k", help="Categories listed per categorical column."),
    no_proxies: bool = typer.Option(False, "--no-proxies", help="Skip the proxy measures."),
    seed: int = typer.Option(0, "--seed", help="Seed of the samples and folds."),
    missing_group: str | None = _MISSING,
    weight: str | None = weight_option(),
    out: Path = _OUT,
    json_out: Path | None = _JSON,
    html_out: Path | None = _HTML,
) -> None:
    """Per-column statistics overall and per group, associations and proxies."""
    from raikit.data import profile

    ds = _dataset(file, target, sensitive, missing_group, weight)
    with _progress(f"Profiling {ds.n_rows:,} rows…"):
        result = profile(ds, bins=bins, top_k=top_k, proxies=not no_proxies, random_state=seed)
    proxies = result.proxies.sort_values("auc", ascending=False).head(8)
    if len(proxies):
        table = Table(title="Strongest proxies of the sensitive attributes")
        for column in ("attribute", "feature", "normalized MI", "AUC"):
            table.add_column(column)
        for row in proxies.itertuples(index=False):
            mi = "" if row.normalized_mi != row.normalized_mi else f"{row.normalized_mi:.3f}"
            table.add_row(row.attribute, row.feature, mi, f"{row.auc:.3f}")
        console.print(table)
    _report(result, "profile", out, json_out, html_out, f"Profile: {file.name}")


@app.command("schema")
def schema_command(
    file: Path = typer.Argument(..., help="Reference data (CSV, TSV or Parquet)."),
    output: Path = typer.Option(Path("schema.json"), "--output", "-o", help="Schema JSON file."),
    target: str | None = _TARGET,
    sensitive: str | None = typer.Option(
        None, "--sensitive", "-s", help="Sensitive columns (recorded as roles)."
    ),
) -> None:
    """Infer a schema (kinds, ranges, domains, missing rates) and save it as JSON."""
    from raikit.data import infer_schema
    from raikit.dataset import read_table

    data = _dataset(file, target, sensitive, None) if sensitive else read_table(file)
    schema = infer_schema(data)
    schema.to_json(output)
    table = Table(title=f"Schema of {file.name} ({schema.n_rows:,} rows)")
    for column in ("column", "kind", "missing", "range / domain"):
        table.add_column(column)
    for column in schema.columns:
        if column.categories is not None:
            shown = ", ".join(map(str, column.categories[:6]))
            domain = shown + (" …" if len(column.categories) > 6 else "")
        elif column.min is not None:
            domain = f"[{column.min}, {column.max}]"
        else:
            domain = ""
        table.add_row(column.name, column.kind, f"{column.n_missing:,}", domain)
    console.print(table)
    console.print(f"Schema written to {output}")


@app.command("validate")
def validate_command(
    file: Path = typer.Argument(..., help="New data (CSV, TSV or Parquet)."),
    schema: Path = typer.Option(..., "--schema", help="Schema JSON from `raikit data schema`."),
    missing_tolerance: float = typer.Option(
        0.02, "--missing-tolerance", help="Allowed increase of a column's missing rate."
    ),
    value_tolerance: float = typer.Option(
        0.01, "--value-tolerance", help="Share of bad values above which an anomaly is an error."
    ),
    out: Path = _OUT,
    json_out: Path | None = _JSON,
    html_out: Path | None = _HTML,
) -> None:
    """Anomalies of new data against a schema. Exit code 1 when any anomaly is an error."""
    from raikit.data import validate
    from raikit.dataset import read_table

    frame = read_table(file)
    result = validate(
        frame, schema, missing_tolerance=missing_tolerance, value_tolerance=value_tolerance
    )
    if len(result.anomalies):
        table = Table(title="Anomalies")
        for column in ("column", "anomaly", "severity", "rows", "expected", "found", "examples"):
            table.add_column(column, overflow="fold")
        for row in result.anomalies.itertuples(index=False):
            table.add_row(
                row.column,
                row.anomaly,
                row.severity,
                f"{row.count:,}",
                row.expected,
                row.found,
                row.examples,
            )
        console.print(table)
    _report(result, "validate", out, json_out, html_out, f"Validation: {file.name}")
    if not result.valid:
        raise SystemExit(1)  # typer.Exit would be swallowed by raikit.cli.main's standalone_mode


@app.command("drift")
def drift_command(
    reference: Path = typer.Argument(..., help="Reference data (e.g. training)."),
    current: Path = typer.Argument(..., help="Current data (e.g. serving)."),
    sensitive: str = _SENSITIVE,
    target: str | None = _TARGET,
    columns: str | None = typer.Option(None, "--columns", help="Columns to compare."),
    alpha: float = typer.Option(
        0.05, "--alpha", "--threshold", help="Significance level (--threshold: older name)."
    ),
    correction: str = typer.Option(
        "fdr_bh", "--correction", help="fdr_bh, holm, bonferroni or none."
    ),
    min_effect: float | None = typer.Option(
        None, "--min-effect", help="Also require this effect size."
    ),
    min_group_size: int = typer.Option(
        MIN_GROUP_SIZE, "--min-group-size", help="Smallest group tested."
    ),
    missing_group: str | None = _MISSING,
    weight: str | None = weight_option(),
    multivariate: bool = typer.Option(
        False,
        "--multivariate",
        help="Also test the columns together (domain classifier and PCA reconstruction error); "
        "writes multivariate-drift.json and .html beside drift.json.",
    ),
    methods: str = typer.Option(
        "classifier,pca", "--methods", help="Multivariate tests: classifier, pca or both."
    ),
    max_rows: int = typer.Option(
        20_000, "--max-rows", help="Rows sampled from each side for the multivariate tests."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the multivariate tests."),
    out: Path = _OUT,
    json_out: Path | None = _JSON,
    html_out: Path | None = _HTML,
) -> None:
    """Drift (or train/serving skew) per column, overall and within each group; with
    --multivariate also of the columns taken together."""
    from raikit.data import drift
    from raikit.dataset import Dataset

    ref = _dataset(reference, target, sensitive, missing_group, weight)
    # each side is read where it lives (a large file or a glob lazily, a small file in memory);
    # drift compares any pair the same way; --weight names the weight column of both files
    names = split_names(sensitive)
    cur = Dataset(current, target=None, sensitive=names, missing_group=missing_group, weight=weight)
    with _progress("Testing for drift…"):
        result = drift(
            reference=ref,
            current=cur,
            columns=split_names(columns) or None,
            alpha=alpha,
            correction=correction,
            min_effect=min_effect,
            min_group_size=min_group_size,
        )
    table = Table(title="Drift per column")
    for column in ("column", "test", "adjusted p", "effect", "PSI", "drifted"):
        table.add_column(column)
    for row in result.columns_table.itertuples(index=False):
        table.add_row(
            row.column,
            row.test,
            f"{row.p_adjusted:.3g}",
            f"{row.effect_name} {row.effect:.3f}",
            f"{row.psi:.3f}",
            "[red]yes[/red]" if row.drifted else "no",
        )
    console.print(table)
    _report(result, "drift", out, json_out, html_out, f"Drift: {current.name} vs {reference.name}")
    if multivariate:
        _multivariate(ref, cur, columns, methods, alpha, min_group_size, max_rows, seed, out)


def _multivariate(ref, cur, columns, methods, alpha, min_group_size, max_rows, seed, out) -> None:
    """``raikit data drift --multivariate``: the joint tests, printed and written to ``out``."""
    from raikit.data import multivariate_drift

    with _progress("Testing the columns together…"):
        result = multivariate_drift(
            reference=ref,
            current=cur,
            method=split_names(methods),
            columns=split_names(columns) or None,
            alpha=alpha,
            min_group_size=min_group_size,
            max_rows=max_rows,
            random_state=seed,
        )
    table = Table(title="Multivariate drift")
    for column in ("test", "statistic", "value", "interval", "p", "drifted"):
        table.add_column(column)
    for row in result.overall.itertuples(index=False):
        table.add_row(
            row.method,
            row.statistic,
            f"{row.value:.3f}",
            f"{row.lower:.3f} to {row.upper:.3f}",
            f"{row.p_value:.3g}",
            "[red]yes[/red]" if row.drifted else "no",
        )
    console.print(table)
    title = f"Multivariate drift: {cur.name} vs {ref.name}"
    _report(result, "multivariate-drift", out, None, None, title)


@app.command("leakage")
def leakage_command(
    train: Path = typer.Option(..., "--train", help="Training data (CSV, TSV or Parquet)."),
    test: Path = typer.Option(..., "--test", help="Test data (CSV, TSV or Parquet)."),
    target: str | None = _TARGET,
    sensitive: str = _SENSITIVE,
    columns: str | None = typer.Option(
        None, "--columns", help="Columns to compare (default: every feature)."
    ),
    duplicate_tolerance: float = typer.Option(
        0.01, "--duplicate-tolerance", help="Largest numeric difference of near duplicates, in sd."
    ),
    no_near: bool = typer.Option(False, "--no-near", help="Skip near duplicates."),
    leak_auc: float = typer.Option(
        0.95, "--leak-auc", help="AUC from which one feature alone gives the target away."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the samples, folds and bootstrap."),
    missing_group: str | None = _MISSING,
    out: Path = _OUT,
    json_out: Path | None = _JSON,
    html_out: Path | None = _HTML,
) -> None:
    """Duplicates across a train/test split, conflicting labels, features that give the target
    away, and whether test rows can be told from training rows. Exit code 1 on an error finding."""
    from raikit.data import leakage

    train_ds = _dataset(train, target, sensitive, missing_group)
    test_ds = _dataset(test, None, sensitive, missing_group)
    if target is not None and target in test_ds.columns:  # unlabelled test data is fine too
        test_ds = test_ds.replace(target=target)
    with _progress("Checking the split for leakage…"):
        result = leakage(
            train=train_ds,
            test=test_ds,
            columns=split_names(columns) or None,
            duplicate_tolerance=None if no_near else duplicate_tolerance,
            leak_auc=leak_auc,
            random_state=seed,
        )
    table = Table(title="Test rows duplicated in the training data")
    for column in ("kind", "rows", "duplicated", "share", "by chance"):
        table.add_column(column)
    overall = result.duplicates[result.duplicates["attribute"] == "overall"]
    for row in overall.itertuples(index=False):
        table.add_row(
            row.kind,
            f"{row.rows:,}",
            f"{row.duplicated:,}",
            f"{row.share:.2%}",
            f"{row.expected:.2%}",
        )
    console.print(table)
    _report(result, "leakage", out, json_out, html_out, f"Leakage: {test.name} vs {train.name}")
    if any(f.severity == "error" for f in result.findings):
        raise SystemExit(1)  # typer.Exit would be swallowed by raikit.cli.main's standalone_mode


@app.command("representation")
def representation_command(
    file: Path = typer.Argument(..., help="CSV, TSV or Parquet file."),
    target: str | None = _TARGET,
    sensitive: str = _SENSITIVE,
    expected_shares: Path | None = typer.Option(
        None,
        "--reference",
        "--expected-shares",
        help='JSON of expected (population) shares: {"sex": {"Female": 0.51, ...}}.',
    ),
    ci_width: float = typer.Option(0.1, "--ci-width", help="Wanted CI width of group accuracy."),
    missing_group: str | None = _MISSING,
    weight: str | None = weight_option(),
    out: Path = _OUT,
    json_out: Path | None = _JSON,
    html_out: Path | None = _HTML,
    pos_label: str | None = typer.Option(
        None,
        "--pos-label",
        help="The positive label of the base rates (needed unless the labels are 0/1, "
        "true/false or -1/1).",
    ),
) -> None:
    """Share, base rate and sample sufficiency of every group and intersection."""
    from raikit.data import representation
    from raikit.data._representation import _rows_text

    ds = _dataset(file, target, sensitive, missing_group, weight)
    shares = None
    if expected_shares is not None:
        try:
            shares = json.loads(expected_shares.read_text(encoding="utf-8"))
        except FileNotFoundError as error:
            raise DataError(f"Reference file not found: {str(expected_shares)!r}.") from error
        except json.JSONDecodeError as error:
            raise DataError(
                f"Reference file {str(expected_shares)!r} is not valid JSON: {error}."
            ) from error
    result = representation(ds, expected_shares=shares, ci_width=ci_width, pos_label=pos_label)
    positive = result.meta.get("pos_label")
    table = Table(
        title="Groups" + (f" (positive label {positive!r})" if positive is not None else "")
    )
    for column in ("attribute", "group", "rows", "share", "reference", "base rate", "more needed"):
        table.add_column(column)
    for row in result.groups.itertuples(index=False):
        table.add_row(
            row.attribute,
            row.group,
            _rows_text(row.count),
            f"{row.share:.3f}",
            "" if row.reference_share != row.reference_share else f"{row.reference_share:.3f}",
            "" if row.base_rate != row.base_rate else f"{row.base_rate:.3f}",
            f"{row.additional_needed:,}",
        )
    console.print(table)
    _report(result, "representation", out, json_out, html_out, f"Representation: {file.name}")


@app.command("label-issues")
def label_issues_command(
    file: Path = typer.Argument(..., help="CSV, TSV or Parquet file."),
    target: str = typer.Option(..., "--target", "-t", help="Label column."),
    sensitive: str = _SENSITIVE,
    cv: int = typer.Option(5, "--cv", help="Folds for out-of-fold probabilities."),
    contamination: float = typer.Option(0.02, "--contamination", help="Share of outliers."),
    seed: int = typer.Option(0, "--seed", help="Seed of the folds, model and forest."),
    rows_csv: Path | None = typer.Option(
        None, "--rows", help="Also write the flagged rows (positions and labels) as CSV here."
    ),
    missing_group: str | None = _MISSING,
    out: Path = _OUT,
    json_out: Path | None = _JSON,
    html_out: Path | None = _HTML,
) -> None:
    """Likely mislabelled rows (confident learning) and outliers, per group."""
    from raikit.data import label_issues

    ds = _dataset(file, target, sensitive, missing_group)
    with _progress(f"Cross-fitting {cv} folds on {ds.n_rows:,} rows…"):
        result = label_issues(ds, cv=cv, contamination=contamination, random_state=seed)
    if rows_csv is not None:
        result.issues.to_csv(rows_csv, index=False)
        console.print(f"Flagged rows written to {rows_csv}")
    _report(result, "label-issues", out, json_out, html_out, f"Label issues: {file.name}")


@app.command("datasheet")
def datasheet_command(
    file: Path | None = typer.Argument(None, help="CSV, TSV or Parquet file."),
    target: str | None = _TARGET,
    sensitive: str | None = typer.Option(
        None, "--sensitive", "-s", help="Sensitive columns, comma-separated."
    ),
    answers: Path | None = typer.Option(
        None, "--answers", help="YAML or JSON answers (see --template)."
    ),
    template: Path | None = typer.Option(
        None, "--template", help="Write a YAML template of every question here and stop."
    ),
    markdown: Path | None = typer.Option(None, "--markdown", help="Write the datasheet here."),
    missing_group: str | None = _MISSING,
    out: Path = _OUT,
    json_out: Path | None = _JSON,
    html_out: Path | None = _HTML,
) -> None:
    """Datasheet for Datasets: evidence from the data, answers from a YAML file."""
    from raikit.data import datasheet, datasheet_template

    if template is not None:
        datasheet_template(template, name=file.stem.split(".")[0] if file else "dataset")
        console.print(f"Template written to {template}; fill it in and pass it with --answers.")
        return
    if file is None or not sensitive:
        raise ParameterError("datasheet needs FILE and --sensitive (or --template PATH alone).")
    ds = _dataset(file, target, sensitive, missing_group)
    with _progress("Gathering evidence…"):
        result = datasheet(ds, answers=answers)
    md_path = markdown or (out / "datasheet.md")
    md_path.parent.mkdir(parents=True, exist_ok=True)
    result.to_markdown(md_path)
    console.print(f"Markdown written to {md_path}")
    _report(result, "datasheet", out, json_out, html_out, f"Datasheet: {file.name}")


_SCAN_HELP = """Find personal data (e-mails, phones, IBANs, cards, national ids, IP addresses,
dates of birth, postcodes, names) column by column, and measure the re-identification risk over
the quasi-identifiers. Values found are never printed, only masked examples.

Exit codes: 0 no direct identifier found; 1 direct identifiers found (use it as a pre-commit or
CI gate); 2 bad input (an unreadable file, an unknown column, a bad option)."""


@app.command("scan", help=_SCAN_HELP)
def scan_command(
    file: Path = typer.Argument(..., help="CSV, TSV or Parquet file."),
    quasi_identifiers: str | None = typer.Option(
        None,
        "--quasi-identifiers",
        "-q",
        help="Columns an attacker could know (comma-separated); default: those whose names "
        "suggest one (age, sex, zip...), as the output says. '' measures no risk.",
    ),
    confidential: str | None = typer.Option(
        None, "--confidential", help="Columns whose l-diversity is measured (comma-separated)."
    ),
    min_share: float = typer.Option(
        0.3, "--min-share", help="Share of a column's values that flags it."
    ),
    k: int = typer.Option(5, "--k", help="k of k-anonymity: smaller classes are at risk."),
    l_diversity: int = typer.Option(2, "--l", help="l of l-diversity."),
    seed: int = typer.Option(0, "--seed", help="Seed of the per-column samples."),
    out: Path = _OUT,
    json_out: Path | None = _JSON,
    html_out: Path | None = _HTML,
) -> None:
    from raikit.data import scan_pii
    from raikit.dataset import read_table

    frame = read_table(file)
    names = {"--quasi-identifiers": quasi_identifiers, "--confidential": confidential}
    lists = {flag: None if v is None else split_names(v) for flag, v in names.items()}
    for flag, listed in lists.items():
        unknown = [c for c in listed or [] if c not in frame.columns]
        if unknown:
            raise ColumnError(
                f"{flag} names column(s) {unknown} that {file.name} does not have; its columns "
                f"are {', '.join(map(str, frame.columns[:30]))}."
            )
    with _progress(f"Scanning {len(frame):,} rows × {frame.shape[1]} columns…"):
        result = scan_pii(
            frame,
            quasi_identifiers=lists["--quasi-identifiers"],
            confidential=lists["--confidential"],
            min_share=min_share,
            k_anonymity=k,
            l_diversity=l_diversity,
            random_state=seed,
        )
    _scan_tables(result)
    _report(result, "scan", out, json_out, html_out, f"Personal data scan: {file.name}")
    if result.direct_identifiers:
        raise SystemExit(1)  # typer.Exit would be swallowed by raikit.cli.main's standalone_mode


def _scan_tables(result) -> None:
    """The flagged columns (masked examples only) and the re-identification risk."""
    flagged = result.columns[result.columns["flagged"]]
    if len(flagged):
        table = Table(title="Personal data found")
        for column in ("column", "kind", "category", "found by", "share", "masked examples"):
            table.add_column(column)
        for row in flagged.itertuples(index=False):
            table.add_row(
                row.column, row.kind, row.category, row.via, f"{row.share:.0%}", row.examples
            )
        console.print(table)
    if len(result.risk):
        table = Table(
            title="Re-identification risk over " + ", ".join(result.meta["quasi_identifiers"])
        )
        for column in ("measure", "attribute", "value", "threshold", "rows at risk", "share"):
            table.add_column(column)
        for row in result.risk.itertuples(index=False):
            table.add_row(
                row.measure,
                row.attribute,
                f"{row.value:g}",
                f"{row.threshold:g}",
                f"{row.rows_at_risk:,}",
                f"{row.share_at_risk:.1%}",
            )
        console.print(table)


@app.command("clean")
def clean_command(
    file: Path = typer.Argument(..., help="Training data (CSV, TSV or Parquet)."),
    target: str = typer.Option(..., "--target", "-t", help="Label column."),
    sensitive: str = _SENSITIVE,
    contamination: str = typer.Option(
        "auto", "--contamination", help='Share removed per (group, label) cell, or "auto".'
    ),
    duplicate_tolerance: float = typer.Option(
        0.01, "--duplicate-tolerance", help="Largest numeric difference of duplicates, in sd."
    ),
    no_duplicates: bool = typer.Option(False, "--no-duplicates", help="Skip duplicates."),
    sanitize: str = typer.Option(
        "loss", "--sanitize", help="loss, loss+distance, distance or none."
    ),
    global_scoring: bool = typer.Option(
        False, "--global-scoring", help="Score within label cells only, ignoring groups."
    ),
    no_reweigh: bool = typer.Option(False, "--no-reweigh", help="Keep every weight at 1."),
    cv: int = typer.Option(5, "--cv", help="Folds of the out-of-fold probabilities."),
    seed: int = typer.Option(0, "--seed", help="Seed of the folds and the model."),
    file_format: str = typer.Option(
        "csv", "--format", help="Format of cleaned and changes files: csv or parquet."
    ),
    missing_group: str | None = _MISSING,
    out: Path = typer.Option(
        Path("raikit-clean"),
        "--out",
        help="Folder for cleaned.<format>, changes.<format>, clean.json and clean.html.",
    ),
) -> None:
    """MLClean: merge near-duplicates, remove likely poisoned rows per group, reweigh."""
    from raikit.data import clean

    if file_format not in ("csv", "parquet"):
        raise ParameterError(f"--format must be csv or parquet, got {file_format!r}.")
    share: float | str = contamination.strip()
    if share != "auto":
        try:
            share = float(share)
        except ValueError as error:
            raise ParameterError(
                f'--contamination must be a number in [0, 0.5) or "auto", got {contamination!r}.'
            ) from error
    ds = _dataset(file, target, sensitive, missing_group)
    with _bar() as progress:
        task = progress.add_task(f"Cleaning {ds.n_rows:,} rows…", total=None)
        result = clean(
            ds,
            duplicate_tolerance=None if no_duplicates else duplicate_tolerance,
            contamination=share,
            sanitize=sanitize,
            per_group=not global_scoring,
            reweigh=not no_reweigh,
            cv=cv,
            random_state=seed,
            progress=progress_callback(progress, task),
        )
    table = Table(title="Changes per group")
    for column in ("group", "rows in", "merged", "removed", "rows out", "base rate in → out"):
        table.add_column(column)
    for row in result.by_group.itertuples(index=False):
        table.add_row(
            row.group,
            f"{row.rows_in:,}",
            f"{row.merged:,}",
            f"{row.removed:,}",
            f"{row.rows_out:,}",
            f"{row.base_rate_in:.3f} → {row.base_rate_weighted:.3f}",
        )
    console.print(table)
    out.mkdir(parents=True, exist_ok=True)
    cleaned_path = result.write_cleaned(out / f"cleaned.{file_format}")
    changes_path = result.write_changes(out / f"changes.{file_format}")
    console.print(
        f"Cleaned data (weight column {result.meta['weight_column']!r}) written to {cleaned_path}"
    )
    console.print(f"Change log written to {changes_path}")
    _report(result, "clean", out, None, None, f"MLClean: {file.name}")


def _parse_costs(text: str | None) -> dict | None:
    """``"White & Male=1, Black & Female=2.5"`` -> ``{"White & Male": 1.0, ...}``."""
    if not text:
        return None
    costs = {}
    for part in split_names(text):
        label, sep, value = part.rpartition("=")
        try:
            costs[label.strip()] = float(value)
        except ValueError:
            label = ""
        if not sep or not label.strip():
            raise ParameterError(
                f"--cost expects SLICE=COST pairs separated by commas (e.g. "
                f"'White & Male=1,Black & Female=2'), got {part!r}."
            )
    return costs


@app.command("acquire-plan")
def acquire_plan_command(
    file: Path = typer.Argument(..., help="Training data (CSV, TSV or Parquet)."),
    target: str = typer.Option(..., "--target", "-t", help="Label column."),
    attributes: str = typer.Option(
        ...,
        "--slices",
        "--attributes",
        help="Columns whose combinations are the slices, comma-separated.",
    ),
    budget: float = typer.Option(..., "--budget", help="Total acquisition cost to spend."),
    cost: str | None = typer.Option(
        None,
        "--cost",
        help="Cost of one example per slice, e.g. 'White & Male=1,Black & Female=2' (slice "
        "labels join the column values with ' & '; unnamed slices cost 1).",
    ),
    lam: float = typer.Option(1.0, "--lam", help="Weight of the unfairness term."),
    pool: Path | None = typer.Option(
        None,
        "--pool",
        help="Rows to acquire from (same columns). With the target column, they are acquired "
        "and the loss after is measured; without it, the plan stays within the rows the pool holds "
        "and the rows to label are written to <out>/to-label.csv. Without --pool only the plan is "
        "printed.",
    ),
    validation: Path | None = typer.Option(
        None,
        "--validation",
        help="Rows to measure losses on; default: 30% of each slice is held out.",
    ),
    method: str = typer.Option(
        "one-shot", "--method", help="one-shot, iterative, uniform or proportional."
    ),
    limit: float = typer.Option(
        1.0, "--T", help="Iterative: largest imbalance-ratio change in the first round."
    ),
    repeats: int = typer.Option(3, "--repeats", help="Subsamples per learning-curve point."),
    seed: int = typer.Option(0, "--seed", help="Seed of the subsamples, split and pool draws."),
    synthetic_cost: float | None = typer.Option(
        None,
        "--synthetic-cost",
        help="Also plan a DP synthetic generator as a second source at this cost per row: the "
        "budget is split between real rows (the pool's, or unlimited) and synthetic rows, with "
        "the expected gain per slice and source.",
    ),
    synthetic_worth: float = typer.Option(
        0.5,
        "--synthetic-worth",
        help="How many real rows one synthetic row is worth, in (0, 1]: measure it with "
        "'raikit data augment-eval'.",
    ),
    out: Path = _OUT,
    json_out: Path | None = _JSON,
    html_out: Path | None = _HTML,
) -> None:
    """Slice Tuner: how many examples to acquire per slice (and, with --pool, acquire them).

    The model is logistic regression on standardised numeric and one-hot categorical columns
    (every column except the target and the slice columns). Learning curves per slice are fitted
    to validation log losses; the plan minimises loss plus lam x unfairness within the budget.
    """
    from raikit.data import PoolAcquirer, slice_tuner
    from raikit.dataset import Dataset, read_table

    names = split_names(attributes)
    if not names:
        raise ParameterError("--slices needs at least one column name (comma-separated).")
    frame = read_table(file)
    unknown = [name for name in names if name not in frame.columns]
    if unknown:
        raise ColumnError(
            f"--slices names column(s) {unknown} that {file.name} does not have; its columns "
            f"are {list(frame.columns)[:20]}."
        )
    train = Dataset(frame, target=target, sensitive=names)
    valid = read_table(validation) if validation is not None else None
    settings = {
        "budget": budget,
        "cost": _parse_costs(cost),
        "lam": lam,
        "method": method,
        "T": limit,
        "n_repeats": repeats,
        "validation": valid,
        "random_state": seed,
    }
    acquire = to_label = supply = None
    with _bar() as progress:
        task = progress.add_task("Fitting learning curves…", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        if pool is None:
            result = slice_tuner(train, **settings, progress=advance)
        else:
            acquire = PoolAcquirer(read_table(pool), names, random_state=seed)
            supply = acquire.remaining()  # before any row is drawn
            if target in acquire.pool.columns and acquire.pool[target].notna().any():
                result = slice_tuner(train, **settings, acquire=acquire, progress=advance)
            else:  # unlabelled pool: plan within what it holds, pick the rows to label
                result = slice_tuner(
                    train, **settings, available=acquire.remaining(), progress=advance
                )
                to_label = acquire.draw(result.allocation)
    table = Table(title=f"Acquisition plan ({method}, budget {budget:g}, lam {lam:g})")
    columns = ["slice", "rows", "curve b·n^-a", "cost", "acquire", "loss now"]
    if result.acquired:
        columns += ["loss after"]
    for column in columns:
        table.add_column(column)
    for row in result.slices.itertuples(index=False):
        cells = [
            row.slice,
            f"{row.n_before:,}",
            f"{row.b:.3g}·n^-{row.a:.3f} (±{row.a_se:.3f})",
            f"{row.cost:g}",
            f"{int(row.allocation):,}",
            f"{row.loss_before:.3f}",
        ]
        if result.acquired:
            cells.append(f"{row.loss_after:.3f}")
        table.add_row(*cells)
    console.print(table)
    if result.acquired:
        out.mkdir(parents=True, exist_ok=True)
        acquired_path = out / "acquired.csv"
        acquire.drawn.to_csv(acquired_path, index=False)
        console.print(f"{len(acquire.drawn):,} acquired rows written to {acquired_path}")
    if to_label is not None:
        out.mkdir(parents=True, exist_ok=True)
        label_path = out / "to-label.csv"
        to_label.to_csv(label_path, index=False)
        console.print(
            f"The pool has no labels in {target!r}: {len(to_label):,} rows to label written to "
            f"{label_path}; label them and pass them to --pool to measure the loss after."
        )
    _report(result, "acquire-plan", out, json_out, html_out, f"Slice Tuner: {file.name}")
    if synthetic_cost is not None:
        _two_sources(result, budget, cost, supply, synthetic_cost, synthetic_worth, out)


def _two_sources(result, budget, cost, supply, synthetic_cost, worth, out: Path) -> None:
    """The budget split between real rows and a synthetic generator, printed and written."""
    from raikit.data import plan_sources

    real = {"cost": _parse_costs(cost) or 1.0}
    if supply is not None:
        real["available"] = supply
    plan = plan_sources(
        result,
        budget=budget,
        sources={"real": real, "synthetic": {"cost": synthetic_cost, "worth": worth}},
    )
    table = Table(title=f"Real and synthetic rows (synthetic worth {worth:g} real row)")
    for column in ["slice", "source", "rows", "cost", "expected gain", "gain per cost"]:
        table.add_column(column)
    for row in plan.plan.itertuples(index=False):
        table.add_row(
            row.slice,
            row.source,
            f"{row.rows:,}",
            f"{row.cost:.4g}",
            f"{row.expected_gain:.4f}",
            f"{row.gain_per_cost:.2e}",
        )
    console.print(table)
    out.mkdir(parents=True, exist_ok=True)
    plan.to_json(out / "sources-plan.json")
    console.print(plan.summary)
    console.print(f"Two-source plan written to {out / 'sources-plan.json'}")


def _groups(items: list[str], sensitive: list[str]):
    """``--group race=Black,sex=Female`` (repeatable) -> a list of dicts."""
    groups = []
    for item in items:
        group = {}
        for part in split_names(item):
            name, sep, value = part.partition("=")
            if not sep or not name.strip() or not value.strip():
                raise ParameterError(
                    f"--group expects COLUMN=VALUE pairs separated by commas (e.g. "
                    f"'race=Black,sex=Female'), got {item!r}."
                )
            if name.strip() not in sensitive:
                raise ParameterError(
                    f"--group names {name.strip()!r}, which is not in --sensitive {sensitive}."
                )
            group[name.strip()] = value.strip()
        groups.append(group)
    return groups or None


@app.command("augment-eval")
def augment_eval_command(
    train: Path = typer.Argument(..., help="Real training rows (CSV, TSV or Parquet)."),
    test: Path = typer.Argument(..., help="Real held-out test rows (same columns)."),
    target: str = typer.Option(..., "--target", "-t", help="Label column (binary)."),
    sensitive: str = _SENSITIVE,
    source: str = typer.Option(..., "--source", help="The registered data source of TRAIN."),
    epsilon: float = typer.Option(..., "--epsilon", help="Privacy loss of the synthetic release."),
    group: list[str] = typer.Option(
        [],
        "--group",
        help="A group to add synthetic rows of, e.g. 'race=Black,sex=Female' (repeatable). "
        "Default: every group whose noisy count is below --thin-below of the largest.",
    ),
    n_rows: int | None = typer.Option(
        None, "--n-rows", help="Synthetic rows per group (default: its noisy count)."
    ),
    thin_below: float = typer.Option(0.25, "--thin-below", help="Share defining a thin group."),
    features: str | None = typer.Option(None, "--features", help="Feature columns."),
    bounds: list[str] = typer.Option([], "--bounds", help="Numeric bounds, NAME=LOWER:UPPER."),
    domain: list[str] = typer.Option(
        [], "--domain", help="Public values of a non-numeric column, NAME=a,b,c."
    ),
    bins: int = typer.Option(10, "--bins", help="Bins per numeric column."),
    pos_label: str | None = typer.Option(None, "--pos-label", help="The positive label."),
    n_boot: int = typer.Option(1000, "--n-boot", help="Bootstrap replicates."),
    ci: float = typer.Option(0.95, "--ci", help="Confidence level of the intervals."),
    no_membership: bool = typer.Option(
        False, "--no-membership", help="Skip the membership-inference attack."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the draws, fits and bootstrap."),
    out: Path = _OUT,
    json_out: Path | None = _JSON,
    html_out: Path | None = _HTML,
) -> None:
    """Does adding DP synthetic rows of the thin groups help? Measured on real test rows.

    Trains logistic regression (standardised numbers, one-hot categories) on TRAIN and on TRAIN
    plus synthetic rows of the thin groups drawn from one DP release charged to --source, and
    compares them per group on TEST with paired bootstrap intervals.
    """
    from raikit._cli_utils import command_line_words
    from raikit.data import augment_eval
    from raikit.data._slice_tuner import _default_estimator
    from raikit.dataset import Dataset, read_table
    from raikit.privacy._cli import _bounds, _domains
    from raikit.privacy._source import check_epsilon

    names = split_names(sensitive)
    roles = {"target": target, "sensitive": names, "features": split_names(features) or None}
    with command_line_words():
        epsilon = check_epsilon(epsilon, "--epsilon")
        frame = read_table(train)
        train_ds = Dataset(frame, name=train.stem, **roles)
        test_ds = Dataset(read_table(test), name=test.stem, **roles)
        with _progress("Releasing, training twice and bootstrapping…"):
            result = augment_eval(
                _default_estimator(),
                train=train_ds,
                test=test_ds,
                source=source,
                epsilon=epsilon,
                groups=_groups(group, names),
                n_rows=n_rows,
                thin_below=thin_below,
                domains=_domains(frame, domain),
                bounds=_bounds(bounds),
                bins=bins,
                pos_label=pos_label,
                membership=not no_membership,
                ci=ci,
                n_boot=n_boot,
                random_state=seed,
            )
    table = Table(title="Accuracy and log loss per group, before -> after (real test rows)")
    for column in [
        "group",
        "thin",
        "test rows",
        "metric",
        "before",
        "after",
        "difference",
        "verdict",
    ]:
        table.add_column(column)
    shown = result.groups[result.groups["metric"].isin(["accuracy", "log_loss"])]
    for row in shown.itertuples(index=False):
        table.add_row(
            row.group,
            "yes" if row.thin else "",
            f"{row.n_test:,}",
            row.metric,
            f"{row.before:.3f}",
            f"{row.after:.3f}",
            f"{row.difference:+.3f} [{row.difference_lower:+.3f}, {row.difference_upper:+.3f}]",
            row.verdict,
        )
    console.print(table)
    _report(result, "augment-eval", out, json_out, html_out, f"Augmentation: {train.name}")
