"""The ``raikit`` command line."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from raikit import __version__
from raikit._cli_utils import progress_callback, split_names
from raikit._errors import RaikitError

app = typer.Typer(
    name="raikit",
    help="Responsible-ML checks for tabular models: fairness, robustness, explainability, privacy.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
datasets_app = typer.Typer(help="Bundled real datasets (they load offline).", no_args_is_help=True)
app.add_typer(datasets_app, name="datasets")
# Stage sub-commands: each stage keeps its commands in its own `_cli.py` and is registered here.
from raikit.data._cli import app as data_app  # noqa: E402

app.add_typer(data_app, name="data")
from raikit.evaluate._cli import register as _register_evaluate  # noqa: E402

_register_evaluate(app)
from raikit.privacy._cli import app as privacy_app  # noqa: E402

app.add_typer(privacy_app, name="privacy")
from raikit.monitor._cli import app as monitor_app  # noqa: E402
from raikit.review._cli import app as review_app  # noqa: E402

app.add_typer(review_app, name="review")
app.add_typer(monitor_app, name="monitor")
from raikit.server._cli import register as _register_ui  # noqa: E402

_register_ui(app)
from raikit.train._cli import register as _register_train  # noqa: E402

_register_train(app)
from raikit.explain._cli import register as _register_explain  # noqa: E402

_register_explain(app)
from raikit.audit._cli import register as _register_compare  # noqa: E402

_register_compare(app)
from raikit.gates._cli import register as _register_gates  # noqa: E402

_register_gates(app)  # raikit check: gates for CI
from raikit.metrics._cli import register as _register_power  # noqa: E402

_register_power(app)  # raikit power: rows per group for an audit, or the gap rows detect
from raikit.sandbox._cli import app as sandbox_app  # noqa: E402

app.add_typer(sandbox_app, name="sandbox")
from raikit.federated._cli import register as _register_federated  # noqa: E402

_register_federated(app)  # raikit federated simulate

console = Console()
error_console = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        console.print(f"raikit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """raikit: responsible machine learning for tabular data."""


def metrics_table(result, *, title: str, metrics: list[str] | None = None) -> Table:
    """A Rich table of a GroupMetricsResult: one row per group, value [lower, upper]."""
    names = metrics or [m for m in result.metric_names][:8]
    table = Table(title=title, show_lines=False)
    table.add_column("attribute", style="bold")
    table.add_column("group")
    for name in names:
        table.add_column(name.replace("_", " "), justify="right")
    by_group, low, high = result.by_group, result.by_group_lower, result.by_group_upper

    def cell(v, lo, hi, name):
        if v != v:  # NaN
            return "[dim]n/a[/dim]"
        if name == "count":
            return f"{int(v):,}"
        if lo == lo and hi == hi:
            return f"{v:.3f} [dim][{lo:.3f}, {hi:.3f}][/dim]"
        return f"{v:.3f}"

    overall = result.overall
    table.add_row("overall", "", *[cell(overall[n], float("nan"), float("nan"), n) for n in names])
    for (attribute, group), row in by_group.iterrows():
        table.add_row(
            attribute,
            str(group),
            *[
                cell(row[n], low.loc[(attribute, group), n], high.loc[(attribute, group), n], n)
                for n in names
            ],
        )
    return table


def print_findings(findings, *, to: Console | None = None) -> None:
    """Print findings, one line each, coloured by severity (their text is never read as markup:
    a column or model name such as ``[/bold]`` prints as itself)."""
    from rich.markup import escape

    colours = {"error": "red", "warning": "yellow", "info": "cyan"}
    for f in findings:
        (to or console).print(
            f"[{colours[f.severity]}]{f.severity}[/]: {escape(f.title)} — {escape(f.detail)}"
        )


@datasets_app.command("list")
def datasets_list() -> None:
    """List the bundled datasets with their provenance and licence."""
    from raikit.datasets import list_datasets

    frame = list_datasets()
    table = Table(title="raikit datasets (shipped inside the package; nothing is downloaded)")
    for column in frame.columns:
        table.add_column(str(column), overflow="fold")
    for row in frame.itertuples(index=False):
        table.add_row(*[f"{v:,}" if isinstance(v, int) else str(v) for v in row])
    console.print(table)


@app.command("metrics")
def metrics_command(
    files: list[Path] = typer.Argument(
        ...,
        help="CSV or Parquet file(s) or a quoted glob (e.g. 'data/*.parquet') with labels, "
        "predictions and sensitive attributes.",
    ),
    target: str = typer.Option(..., "--target", "-t", help="Column of true labels."),
    prediction: str = typer.Option(..., "--prediction", "-p", help="Column of predicted labels."),
    sensitive: str = typer.Option(
        ..., "--sensitive", "-s", help="Sensitive columns, comma-separated."
    ),
    score: str | None = typer.Option(None, "--score", help="Column of positive-class scores."),
    ci: float = typer.Option(0.95, "--ci", help="Confidence level of every interval."),
    no_ci: bool = typer.Option(False, "--no-ci", help="Point estimates only (no bootstrap)."),
    weight: str | None = typer.Option(
        None, "--weight", help="Column of non-negative row weights (every metric is weighted)."
    ),
    n_boot: int = typer.Option(1000, "--n-boot", help="Bootstrap replicates."),
    metrics: str | None = typer.Option(
        None, "--metrics", "-m", help="Metrics, comma-separated (default: all)."
    ),
    json_out: Path | None = typer.Option(None, "--json", help="Write the result as JSON here."),
    html_out: Path | None = typer.Option(None, "--html", help="Write an HTML page here."),
    seed: int | None = typer.Option(0, "--seed", help="Seed of the bootstrap."),
    backend: str = typer.Option(
        "numpy",
        "--backend",
        help="numpy (in memory, exact AUC), duckdb (files or globs larger than memory), spark "
        "(a Spark session reads the files) or auto (duckdb for files).",
    ),
    memory_limit: str = typer.Option("1GB", "--memory-limit", help="DuckDB memory limit."),
    spark_master: str | None = typer.Option(
        None,
        "--spark-master",
        help="Start a Spark session with this master, e.g. local[2] (no cluster needed) or "
        "spark://host:7077; implies --backend spark.",
    ),
    score_bins: int = typer.Option(
        1000, "--score-bins", help="duckdb/spark: score histogram bins behind the binned AUC."
    ),
    missing_group: str | None = typer.Option(
        None, "--missing-group", help="Label for missing sensitive values."
    ),
    pos_label: str | None = typer.Option(
        None,
        "--pos-label",
        help="The positive label (needed unless the labels are 0/1, true/false or -1/1).",
    ),
    inequality: bool = typer.Option(
        False,
        "--inequality",
        help="Also the inequality metrics (AIF360's): Theil and generalized entropy indices of "
        "the benefit y_pred - y_true + 1 with their between- and within-group parts, the average "
        "odds difference, and with --features the consistency of neighbours' predictions.",
    ),
    privileged: str | None = typer.Option(
        None,
        "--privileged",
        help="--inequality: the privileged group of the signed average odds difference (a value "
        "of a sensitive column); without it the largest difference between two groups.",
    ),
    features: str | None = typer.Option(
        None,
        "--features",
        help="--inequality: feature columns, comma-separated, for consistency (5 nearest rows by "
        "Euclidean distance; numbers as given, categories one-hot encoded).",
    ),
    order: float | None = typer.Option(
        None, "--order", help="--inequality: order of the generalized entropy index (default 2)."
    ),
    n_neighbors: int | None = typer.Option(
        None, "--n-neighbors", help="--inequality: neighbours per row for consistency (default 5)."
    ),
    inequality_json: Path | None = typer.Option(
        None, "--inequality-json", help="--inequality: write its result as JSON here."
    ),
    tolerance: float = typer.Option(
        0.1,
        "--tolerance",
        help="Largest acceptable between-group difference of the fairness criteria (their "
        "table shows each verdict and the smallest gap the groups could have detected).",
    ),
) -> None:
    """Metrics per group (with bootstrap CIs) from files of predictions, in memory or at scale."""
    from raikit.dataset import Dataset
    from raikit.metrics import group_metrics_of

    if spark_master is not None:
        backend = "spark"
    if backend not in ("numpy", "duckdb", "spark", "auto"):
        raise RaikitError(f"--backend must be numpy, duckdb, spark or auto, got {backend!r}.")
    inequality_settings = _inequality_settings(
        inequality, backend, privileged, features, order, n_neighbors, inequality_json
    )
    file = files[0]
    if backend == "numpy" and len(files) > 1:
        raise RaikitError(
            f"{len(files)} files given: the numpy backend reads one file; use --backend duckdb "
            f"(or quote the glob so that the shell does not expand it)."
        )
    settings = {
        "metrics": split_names(metrics) or None,
        "ci": None if no_ci else ci,
        "n_boot": n_boot,
        "random_state": seed,
        "pos_label": pos_label,
    }
    roles = {
        "target": target,
        "sensitive": split_names(sensitive),
        "prediction": prediction,
        "score": score,
        "weight": weight,
        "missing_group": missing_group,
    }
    if backend == "numpy":
        with console.status("Computing group metrics…"):
            ds = Dataset(file, **roles, lazy=False)
            result = group_metrics_of(ds, **settings)
    else:
        session, started = _spark_session(spark_master) if backend == "spark" else (None, False)
        try:
            with _progress() as progress:
                scan = progress.add_task(f"Scanning with {backend}", total=1.0)
                source = [str(f) for f in files] if len(files) > 1 else str(file)
                ds = Dataset(source, **roles, lazy=True)  # reduced where the rows live
                result = group_metrics_of(
                    ds,
                    **settings,
                    backend=backend,
                    memory_limit=memory_limit,
                    score_bins=score_bins,
                    progress=progress_callback(progress, scan),
                )
        finally:
            if started:
                session.stop()  # only a session this command started
    _print_group_metrics(result, file, json_out=json_out, html_out=html_out, tolerance=tolerance)
    if inequality_settings is not None:
        _print_inequality(ds, settings, **inequality_settings)


def _inequality_settings(inequality, backend, privileged, features, order, n_neighbors, out):
    """The --inequality options, or None without the flag (then none of them may be given)."""
    given = {
        "--privileged": privileged,
        "--features": features,
        "--order": order,
        "--n-neighbors": n_neighbors,
        "--inequality-json": out,
    }
    if not inequality:
        used = [flag for flag, value in given.items() if value is not None]
        if used:
            raise RaikitError(f"{', '.join(used)} only apply with --inequality; add it.")
        return None
    if backend != "numpy":
        raise RaikitError(
            f"--inequality reads the rows in memory: use --backend numpy (got {backend!r})."
        )
    return {
        "privileged": privileged,
        "features": split_names(features),
        "order": 2.0 if order is None else order,
        "n_neighbors": 5 if n_neighbors is None else n_neighbors,
        "out": out,
    }


def _print_inequality(ds, settings, *, privileged, features, order, n_neighbors, out) -> None:
    """The inequality table, summary and findings of the metrics command (--inequality)."""
    import pandas as pd

    from raikit.metrics import inequality_metrics

    X = None
    if features:
        unknown = [c for c in features if c not in ds.frame.columns]
        if unknown:
            raise RaikitError(
                f"--features: unknown column(s) {unknown}; the file has {list(ds.frame.columns)}."
            )
        X = pd.get_dummies(ds.frame[features], dtype=float)  # categories one-hot, numbers as given
    with console.status("Computing inequality metrics…"):
        result = inequality_metrics(
            ds.y,
            ds.y_pred,
            sensitive_features=ds.sensitive,
            X=X,
            privileged=privileged,
            order=order,
            n_neighbors=n_neighbors,
            sample_weight=ds.weights,
            pos_label=settings["pos_label"],
            ci=settings["ci"],
            n_boot=settings["n_boot"],
            random_state=settings["random_state"],
        )
    table = Table(title=f"Inequality and individual fairness (GE order {result.order:g})")
    for column in ("metric", "attribute", "value", "interval"):
        table.add_column(column, justify="right" if column in ("value", "interval") else "left")
    for row in result.table.itertuples():
        bounds = f"[{row.lower:.4f}, {row.upper:.4f}]" if row.lower == row.lower else ""
        table.add_row(row.metric.replace("_", " "), str(row.attribute), f"{row.value:.4f}", bounds)
    console.print(table)
    console.print(result.summary)
    print_findings(result.findings)
    if out is not None:
        result.to_json(out)
        console.print(f"Inequality JSON written to {out}")


def _spark_session(spark_master):
    """The active Spark session, or one started here (``True``: this command must stop it)."""
    from raikit.metrics import local_session

    try:
        from pyspark.sql import SparkSession
    except ImportError as error:
        raise RaikitError(
            'The spark backend needs pyspark and Java 17+: pip install "raikit[scale]".'
        ) from error
    session = SparkSession.getActiveSession()
    if session is not None:
        return session, False
    with console.status(f"Starting Spark ({spark_master or 'local[2]'})…"):
        session = local_session(spark_master or "local[2]")
        session.sparkContext.setLogLevel("ERROR")
    return session, True


def _print_group_metrics(result, file, *, json_out, html_out, tolerance) -> None:
    """The metrics command's tables, summary and findings, and the files asked for."""
    from raikit.metrics._cli import criteria_table

    shown = [
        m
        for m in (
            "count",
            "selection_rate",
            "accuracy",
            "true_positive_rate",
            "false_positive_rate",
            "precision",
            "roc_auc",
        )
        if m in result.metric_names
    ]
    title = f"Group metrics: {file.name}"
    if result.task == "binary":
        title += f" (positive label: {result.meta.get('pos_label')!r})"
    console.print(metrics_table(result, title=title, metrics=shown or None))
    criteria = criteria_table(result, tolerance=tolerance)
    if criteria is not None:
        console.print(criteria)
    console.print(result.summary)
    print_findings(result.findings)
    if json_out is not None:
        result.to_json(json_out)
        console.print(f"JSON written to {json_out}")
    if html_out is not None:
        result.to_html(html_out, title=f"Group metrics: {file.name}")
        console.print(f"HTML written to {html_out}")


def _progress():
    from raikit._cli_utils import progress_bar

    return progress_bar(console, transient=False)


@app.command("audit")
def audit_command(
    train: str = typer.Option(
        ...,
        "--train",
        help="Training data: a CSV or Parquet file, or a quoted glob such as 'train/*.parquet'.",
    ),
    test: str = typer.Option(
        ..., "--test", help="Test data: a CSV or Parquet file, or a quoted glob."
    ),
    model: Path = typer.Option(..., "--model", help="Fitted model (.skops)."),
    target: str = typer.Option(..., "--target", "-t", help="Column of true labels."),
    sensitive: str = typer.Option(
        ..., "--sensitive", "-s", help="Sensitive columns, comma-separated."
    ),
    out: Path = typer.Option(
        Path("raikit-audit"), "--out", help="Folder for the report and ledger."
    ),
    features: str | None = typer.Option(
        None,
        "--features",
        help="Model inputs, comma-separated (default: the model's own inputs, sensitive "
        "columns included when it was trained on them).",
    ),
    ci: float = typer.Option(0.95, "--ci", help="Confidence level of every interval."),
    n_boot: int = typer.Option(1000, "--n-boot", help="Bootstrap replicates."),
    tolerance: float = typer.Option(0.1, "--tolerance", help="Largest acceptable disparity."),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap."),
    trust_pickle: bool = typer.Option(
        False, "--trust-pickle", help="Allow a pickle model file you made yourself."
    ),
    trust: list[str] = typer.Option(
        [], "--trust", help="A type in the .skops file to trust (repeatable)."
    ),
    problem: Path | None = typer.Option(
        None, "--problem", help="Problem-definition YAML (see `raikit card template`)."
    ),
    pos_label: str | None = typer.Option(
        None,
        "--pos-label",
        help="The positive label (needed unless the labels are 0/1, true/false or -1/1).",
    ),
    task: str = typer.Option(
        "auto",
        "--task",
        help="auto | binary | multiclass | regression (auto: inferred from the target).",
    ),
    clients: str | None = typer.Option(
        None,
        "--clients",
        help="Column whose values are federated clients (region, hospital): adds the "
        "per-client section.",
    ),
    sections: str | None = typer.Option(
        None,
        "--sections",
        help="Sections to run, comma-separated (default: all; see raikit.audit.available_sections).",
    ),
    backend: str = typer.Option(
        "auto",
        "--backend",
        help="Where the rows live: numpy (loaded into memory), duckdb (files and globs read where "
        "they lie, predictions streamed in batches), spark (a Spark session reads the files) or "
        "auto (duckdb for a glob or a large file, else numpy).",
    ),
    spark_master: str | None = typer.Option(
        None,
        "--spark-master",
        help="Start a Spark session with this master for the command, e.g. local[2]; implies "
        "--backend spark.",
    ),
    predictions: Path | None = typer.Option(
        None,
        "--predictions",
        help="duckdb/spark: folder of the scored rows (train.parquet, test.parquet) "
        "[default: <out>/predictions].",
    ),
) -> None:
    """Audit a model on train and test data: scorecard, findings and a self-contained report."""
    from raikit._models import load_model_for_cli
    from raikit.audit import audit
    from raikit.ledger import Ledger

    if spark_master is not None:
        backend = "spark"
    if backend not in ("numpy", "duckdb", "spark", "auto"):
        raise RaikitError(f"--backend must be numpy, duckdb, spark or auto, got {backend!r}.")
    roles = {
        "target": target,
        "sensitive": split_names(sensitive),
        "features": split_names(features) or None,
    }
    fitted = load_model_for_cli(model, trust=trust, trust_pickle=trust_pickle)
    session, started = _spark_session(spark_master) if backend == "spark" else (None, False)
    try:
        train_ds = _audit_data(train, "--train", backend, roles)
        test_ds = _audit_data(test, "--test", backend, roles)
        out.mkdir(parents=True, exist_ok=True)
        ledger = Ledger(out / ".raikit")
        with _progress() as progress:
            bar = progress.add_task("Predicting", total=None)
            report = audit(
                fitted,
                train=train_ds,
                test=test_ds,
                ledger=ledger,
                sections=split_names(sections) or None,
                ci=ci,
                n_boot=n_boot,
                tolerance=tolerance,
                random_state=seed,
                progress=progress_callback(progress, bar),
                name=model.name,
                problem=problem,
                pos_label=pos_label,
                task=task,
                clients=clients,
                predictions_dir=(predictions or out / "predictions").resolve(),
            )
            progress.update(bar, description="Writing the report")
            html_path = out / "audit.html"
            report.to_html(html_path)
            report.to_json(out / "audit.json")
            _write_cards(report, out, problem)
    finally:
        if started:
            session.stop()  # only a session this command started
    _print_scorecard(report)
    used = report.meta.get("sensitive_inputs") or []
    if used:
        console.print(
            f"[yellow]note:[/yellow] the model uses sensitive attribute(s) {', '.join(used)} "
            f"as input."
        )
    console.print(f"Task: {report.meta['task']} ({report.meta['task_source']})")
    if report.meta["task"] == "binary":
        console.print(f"Positive label: {report.meta.get('pos_label')!r}")
    console.print(f"\n[bold]Report:[/bold] {html_path.resolve()}")
    console.print(
        f"[bold]Ledger:[/bold] {ledger.root.resolve()} (run {report.meta['run_id'][:12]})"
    )


def _audit_data(path: str, option: str, backend: str, roles: dict):
    """The Dataset of the audit command's ``--train``/``--test`` (a file or an unexpanded glob)
    on ``backend``; bad input raises an error that names the option."""
    from raikit.dataset import Dataset

    name = option.removeprefix("--")
    try:
        if backend == "spark":
            from raikit.metrics._spark import _read

            return Dataset(_read(path, merge_schema=False), name=name, lazy=True, **roles)
        lazy = {"numpy": False, "duckdb": True, "auto": None}[backend]
        return Dataset(path, name=name, lazy=lazy, **roles)
    except RaikitError as error:
        raise RaikitError(f"{option} {path!r}: {error}") from error


def _write_cards(report, out: Path, problem) -> list[Path]:
    """Model card and Annex IV view of an audit, as Markdown, HTML and JSON."""
    from raikit.cards import annex_iv, model_card

    written = []
    for card, stem in (
        (model_card(report, problem=problem), "model_card"),
        (annex_iv(report, problem=problem), "annex_iv"),
    ):
        card.save(out, stem)
        written.append(out / f"{stem}.md")
    return written


card_app = typer.Typer(help="Documentation rendered from evidence.", no_args_is_help=True)
app.add_typer(card_app, name="card")


@card_app.command("template")
def card_template(
    out: Path = typer.Argument(Path("problem.yaml"), help="Where to write it."),
) -> None:
    """Write the problem-definition questions as a YAML file to fill in."""
    from raikit.cards import problem_template

    problem_template(out)
    console.print(f"Problem-definition template written to {out}")


@card_app.command("model")
def card_model(
    run_id: str = typer.Argument(..., help="Id (or prefix) of a recorded audit run."),
    ledger: Path = typer.Option(Path(".raikit"), "--ledger", help="Ledger folder."),
    problem: Path | None = typer.Option(None, "--problem", help="Problem-definition YAML."),
    out: Path = typer.Option(Path("."), "--out", help="Folder for model_card.md/.html/.json."),
    mct_json: Path | None = typer.Option(
        None,
        "--mct-json",
        help="Also write the model card as Model Card Toolkit JSON (schema v0.0.2) to this file.",
    ),
) -> None:
    """Render the model card and the Annex IV view of an audit run from the ledger."""
    from raikit.cards import annex_iv, model_card

    store = _ledger(ledger)
    out.mkdir(parents=True, exist_ok=True)
    card = model_card(ledger=store, run=run_id, problem=problem)
    for built, stem in (
        (card, "model_card"),
        (annex_iv(ledger=store, run=run_id, problem=problem), "annex_iv"),
    ):
        built.save(out, stem)
        console.print(f"{built.summary} -> {out / stem}.md/.html/.json")
    if mct_json is not None:
        mct_json.parent.mkdir(parents=True, exist_ok=True)
        card.to_model_card_toolkit(mct_json)
        console.print(f"Model Card Toolkit JSON -> {mct_json}")


report_app = typer.Typer(help="Reports re-rendered from the ledger.", no_args_is_help=True)
app.add_typer(report_app, name="report")

_PDF_DOCUMENTS = ("audit", "model-card", "annex-iv")


@report_app.command("pdf")
def report_pdf(
    run_id: str = typer.Argument(..., help="Id (or prefix) of a recorded audit run."),
    ledger: Path = typer.Option(Path(".raikit"), "--ledger", help="Ledger folder."),
    what: str = typer.Option(
        "audit", "--what", help="The document: audit, model-card or annex-iv."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="The PDF file (default: audit.pdf, model_card.pdf or annex_iv.pdf)."
    ),
    problem: Path | None = typer.Option(
        None, "--problem", help="Problem-definition YAML (model-card and annex-iv)."
    ),
    figures: str = typer.Option(
        "omit",
        "--figures",
        help="omit: a note points at the HTML report for each interactive figure; static: draw "
        "them (needs Chrome or Chromium; slower).",
    ),
) -> None:
    """Print an audit run's report, model card or Annex IV view as a PDF (offline)."""
    import time

    from raikit._errors import DataError
    from raikit.cards import annex_iv, model_card
    from raikit.cards._cards import _report_from

    if what not in _PDF_DOCUMENTS:
        raise RaikitError(f"--what must be one of {', '.join(_PDF_DOCUMENTS)}; got {what!r}.")
    if figures not in ("omit", "static"):
        raise RaikitError(f"--figures must be omit or static; got {figures!r}.")
    if problem is not None and what == "audit":
        raise RaikitError(
            "--problem applies to --what model-card or annex-iv; the audit prints as recorded."
        )
    store = _ledger(ledger)
    try:
        report, _ = _report_from(ledger=store, run=run_id)
    except DataError as error:
        raise RaikitError(
            f"Run {run_id!r} holds no audit report: `raikit report pdf` prints a run that "
            f"`raikit audit` recorded; list the runs with `raikit runs list --ledger {ledger}`."
        ) from error
    document = {
        "audit": lambda: report,
        "model-card": lambda: model_card(report, problem=problem),
        "annex-iv": lambda: annex_iv(report, problem=problem),
    }[what]()
    out = out or Path(f"{what.replace('-', '_')}.pdf")
    out.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    pdf = document.to_pdf(out, figures=figures)
    console.print(
        f"{document.summary}\n[bold]PDF:[/bold] {out.resolve()} ({len(pdf) / 1024:,.0f} KB, "
        f"{time.perf_counter() - start:.1f} s)"
    )


def _print_scorecard(report) -> None:
    from rich.markup import escape

    colours = {"pass": "green", "warn": "yellow", "fail": "red", "not assessed": "dim"}
    table = Table(title=escape(report.summary))
    for column in ("principle", "status", "reason"):
        table.add_column(column, overflow="fold")
    for row in report.scorecard.itertuples(index=False):  # reasons name groups: data, not markup
        table.add_row(row.principle, f"[{colours[row.status]}]{row.status}[/]", escape(row.reason))
    console.print(table)


runs_app = typer.Typer(help="Runs recorded in the evidence ledger.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")


def _ledger(path: Path):
    """Open the ledger at a folder, or at a PostgreSQL URI."""
    from raikit.ledger import Ledger, LedgerError

    text = str(path)
    if text.startswith(("postgres:/", "postgresql:/")):  # Path() folds the double slash
        return Ledger(text.replace(":/", "://", 1) if "://" not in text else text)
    if not (path / "ledger.sqlite").exists():
        raise LedgerError(
            f"No ledger at {text!r}; pass --ledger DIR (e.g. raikit-audit/.raikit) or a "
            f"postgresql:// URI."
        )
    return Ledger(path)


@runs_app.command("list")
def runs_list(
    ledger: Path = typer.Option(Path(".raikit"), "--ledger", help="Ledger folder."),
) -> None:
    """List runs, newest first."""
    runs = _ledger(ledger).runs()
    table = Table(title=f"Runs in {ledger}")
    for column in ("id", "name", "kind", "status", "started_at", "n_evidence"):
        table.add_column(column)
    for row in runs.itertuples(index=False):
        table.add_row(
            row.id[:12], row.name, row.kind, row.status, row.started_at[:19], str(row.n_evidence)
        )
    console.print(table)


@runs_app.command("show")
def runs_show(
    run_id: str = typer.Argument(..., help="Run id (a unique prefix is enough)."),
    ledger: Path = typer.Option(Path(".raikit"), "--ledger", help="Ledger folder."),
) -> None:
    """Show one run: parameters, code version, environment and evidence."""
    info = _ledger(ledger).run(run_id)
    console.print(f"[bold]{info['name']}[/bold] ({info['id']}) — {info['status']}")
    console.print(f"started {info['started_at']}, ended {info['ended_at']}")
    console.print(f"params: {info['params']}  seeds: {info['seeds']}")
    console.print(f"code: {info['code']}")
    console.print(
        f"python {info['environment'].get('python')}, packages "
        f"{info['environment'].get('packages')}"
    )
    for row in info["evidence"].itertuples(index=False):
        console.print(f"  evidence {row.id[:12]}  {row.check_name}: {row.summary}")


@app.command("lineage")
def lineage_command(
    node: str = typer.Argument(..., help="Id (or prefix) of a run, model, dataset or evidence."),
    ledger: Path = typer.Option(Path(".raikit"), "--ledger", help="Ledger folder."),
    html_out: Path | None = typer.Option(None, "--html", help="Write the lineage graph here."),
) -> None:
    """Show where a model, run or piece of evidence came from, and what came from it."""
    from raikit.ledger import lineage_figure

    store = _ledger(ledger)
    edges = store.lineage(node)
    table = Table(title=f"Lineage of {node}")
    for column in ("from", "relation", "to"):
        table.add_column(column)
    for row in edges.itertuples(index=False):
        table.add_row(
            f"{row.src_kind} {row.src_id[:12]}", row.relation, f"{row.dst_kind} {row.dst_id[:12]}"
        )
    console.print(table)
    if html_out is not None:
        from raikit._html import figures_html, page_html

        figure = figures_html([lineage_figure(store, node)])
        Path(html_out).write_text(page_html(f"Lineage of {node}", [("Graph", figure)]), "utf-8")
        console.print(f"Lineage graph written to {html_out}")


export_app = typer.Typer(help="Export the ledger to other tools.", no_args_is_help=True)
app.add_typer(export_app, name="export")


@export_app.command("mlflow")
def export_mlflow_command(
    ledger: Path = typer.Option(Path(".raikit"), "--ledger", help="Ledger folder."),
    tracking_uri: str | None = typer.Option(None, "--tracking-uri", help="MLflow tracking URI."),
    experiment: str = typer.Option("raikit", "--experiment", help="MLflow experiment name."),
) -> None:
    """Copy every run, its parameters, metrics and evidence into MLflow (needs mlflow)."""
    from raikit.ledger import export_mlflow

    exported = export_mlflow(_ledger(ledger), tracking_uri=tracking_uri, experiment=experiment)
    console.print(f"Exported {len(exported)} run(s) to MLflow experiment {experiment!r}.")


@app.command("reproduce")
def reproduce_command(
    run_id: str = typer.Argument(..., help="Id (or prefix) of a recorded training run."),
    ledger: Path = typer.Option(Path(".raikit"), "--ledger", help="Ledger folder."),
    trust: list[str] = typer.Option(
        [], "--trust", help="A type in the recorded estimator to trust (repeatable)."
    ),
) -> None:
    """Re-run a recorded training from its recorded inputs and check the model matches."""
    outcome = _ledger(ledger).reproduce(run_id, trusted=trust, cli=True)
    if outcome["match"]:
        console.print(
            f"[green]reproduced[/green]: run {outcome['run_id'][:12]} gives a model that "
            f"predicts identically (fingerprint {outcome['new_fingerprint'][:12]})."
        )
        return
    console.print(
        f"[red]not reproduced[/red]: fingerprint {outcome['new_fingerprint'][:12]} != "
        f"recorded {outcome['recorded_fingerprint'][:12]}; metrics "
        f"{outcome['new_metrics']} vs recorded {outcome['recorded_metrics']}."
    )
    raise typer.Exit(1)


@app.command("demo")
def demo_command(
    out: Path = typer.Option(Path("raikit-demo"), "--out", help="Folder for the demo's outputs."),
    seed: int = typer.Option(0, "--seed", help="Seed for the split, model and bootstrap."),
) -> None:
    """UCI Adult end to end: train models, audit them into a ledger, write reports and cards."""
    from raikit._demo import run_demo

    run_demo(out=out, seed=seed, console=console)


# Errors from pandas, scikit-learn or the file system on bad input: one line too, not a traceback.
_USER_ERRORS = (ValueError, TypeError, KeyError, OSError, UnicodeError)


def _fail(message: str) -> None:
    """Print one error line in the words of the command line and exit with code 2: Python
    keywords the message suggests (``missing_group='x'``) become the running command's flags."""
    from rich.markup import escape

    from raikit._cli_utils import cli_words, command_options

    try:
        message = cli_words(message, command_options(app, sys.argv[1:]))
    except Exception:  # never let the rewording hide the error itself
        pass
    message = " ".join(message.split())  # one line, whatever the library's message held
    error_console.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
    sys.exit(2)


def main() -> None:
    """Entry point: run the app and turn bad input into one clear line and exit code 2.

    raikit's own errors print their message; errors that other libraries raise on bad input
    (``ValueError``, ``TypeError``, ``KeyError``, ``OSError``) print their type and message.
    Set ``RAIKIT_DEBUG=1`` to see the traceback instead.
    """
    import os

    import click

    try:  # recent typer vendors click: its usage errors do not derive from click's
        from typer._click.exceptions import ClickException as TyperClickException
    except ImportError:
        TyperClickException = click.exceptions.ClickException
    usage_errors = (click.exceptions.ClickException, TyperClickException)
    debug = bool(os.environ.get("RAIKIT_DEBUG"))
    try:
        # Without standalone mode click returns a command's exit code instead of exiting.
        code = app(standalone_mode=False)
    except typer.Exit as exit_:
        sys.exit(exit_.exit_code)
    except typer.Abort:
        error_console.print("Aborted.")
        sys.exit(1)
    except usage_errors as error:  # usage errors: a missing option, a value of the wrong type
        error.show()
        sys.exit(error.exit_code)
    except RaikitError as error:
        if debug:
            raise
        _fail(str(error))
    except _USER_ERRORS as error:
        if debug:
            raise
        _fail(f"{type(error).__name__}: {error} (set RAIKIT_DEBUG=1 to see the traceback)")
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
