"""``raikit monitor ingest|labels|history``: production monitoring on the command line."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from raikit._cli_utils import progress_bar, split_names

__all__ = ["app"]

console = Console()
app = typer.Typer(help="Monitor a deployed model: drift, fairness, alerts.", no_args_is_help=True)


def _table(path: Path):
    import pandas as pd

    from raikit._errors import FileFormatError

    if not path.exists():
        raise FileFormatError(f"File {str(path)!r} does not exist.")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except Exception as error:  # pandas raises many types for unreadable files
        raise FileFormatError(f"Cannot read {str(path)!r} as CSV or Parquet: {error}.") from error


def _read_labels(monitor, labels: Path, id_column: str | None, label_column: str | None) -> int:
    from raikit._errors import ColumnError

    if id_column is None or label_column is None:
        raise ColumnError("--labels needs --id and --label-column.")
    known = _table(labels)
    for column in (id_column, label_column):
        if column not in known.columns:
            raise ColumnError(f"Column {column!r} is not in {labels.name}.")
    return monitor.add_labels(known[id_column].to_numpy(), known[label_column].to_numpy())


def _write_last(results, out: Path | None, name: str) -> None:
    if out is not None and results:
        out.mkdir(parents=True, exist_ok=True)
        results[-1].to_html(out / "monitor_window.html", title=f"Monitor {name}")
        results[-1].to_json(out / "monitor_window.json")
        console.print(f"Last window written to {out / 'monitor_window.html'}")


@app.command("ingest")
def ingest_command(
    production: str = typer.Argument(
        ..., help="CSV/Parquet file (or a quoted glob of them) of production rows with predictions."
    ),
    reference: Path = typer.Option(..., "--reference", help="Reference data (CSV/Parquet)."),
    target: str = typer.Option(..., "--target", "-t", help="Label column of the reference."),
    sensitive: str = typer.Option(
        ..., "--sensitive", "-s", help="Sensitive columns, comma-separated."
    ),
    prediction: str = typer.Option(
        ...,
        "--prediction",
        "-p",
        help="Column of predicted labels in the production files. When the reference has no such "
        "column (e.g. it is the training data), predictions are compared with its --target.",
    ),
    pos_label: str | None = typer.Option(
        None,
        "--pos-label",
        help="The predicted label that is a positive decision (needed unless labels are 0/1, "
        "False/True or -1/1).",
    ),
    score: str | None = typer.Option(None, "--score", help="Column of scores."),
    features: str | None = typer.Option(
        None, "--features", help="Monitored features (default: all others but the id)."
    ),
    id_column: str | None = typer.Option(None, "--id", help="Row id column (to join labels)."),
    labels: Path | None = typer.Option(None, "--labels", help="CSV/Parquet of ids and labels."),
    label_column: str | None = typer.Option(
        None, "--label-column", help="Label column in --labels."
    ),
    window: int = typer.Option(10_000, "--window", help="Rows per window."),
    batch: int = typer.Option(100_000, "--batch", help="Rows read and ingested at a time."),
    name: str = typer.Option("monitor", "--name", help="Monitor name in the ledger."),
    ledger: Path = typer.Option(Path(".raikit"), "--ledger", help="Ledger folder."),
    out: Path | None = typer.Option(None, "--out", help="Folder for the last window's HTML/JSON."),
    keep_open: bool = typer.Option(
        False, "--keep-open", help="Leave the last, partial window open for the next run."
    ),
    multivariate: str | None = typer.Option(
        None,
        "--multivariate",
        help="Also test each window's features taken together: classifier, pca or both "
        "(comma-separated); the windows' feature values are then kept in the ledger.",
    ),
) -> None:
    """Stream production files through a Monitor in batches; store windows, logs and alerts.

    Files are read batch by batch (only the monitored columns), so they may exceed memory. Each
    batch is stored whole or not at all; rows whose --id is already stored are skipped, so the
    command can be re-run after a crash, or on a folder that grew, without counting a row twice.
    The last, partial window is closed at the end (unless --keep-open). Running it again with the
    same --name continues the monitor's window numbering in the ledger.
    """
    import glob

    from raikit._errors import FileFormatError
    from raikit.dataset import Dataset
    from raikit.ledger import Ledger
    from raikit.monitor import Monitor

    if not glob.glob(production):
        raise FileFormatError(f"File {production!r} does not exist (or the glob matches nothing).")
    table = _table(reference)
    # A training table has no predictions: they are then compared with its labels (--target).
    predicts = prediction in table.columns
    chosen = split_names(features) or None
    if chosen is None:  # every other column, but never the id
        skip = {target, prediction, score, id_column, *split_names(sensitive)}
        chosen = [c for c in table.columns if c not in skip]
    ref = Dataset(
        table,
        target=target,
        sensitive=split_names(sensitive),
        prediction=prediction if predicts else None,
        score=score,
        features=chosen,
        name=reference.name,
    )
    monitor = Monitor(
        ref,
        ledger=Ledger(ledger),
        windows=window,
        name=name,
        id_column=id_column,
        prediction=None if predicts else prediction,
        pos_label=pos_label,  # matched to the labels by text ("1" names the label 1)
        multivariate=split_names(multivariate) or None,
    )
    if labels is not None:
        _read_labels(monitor, labels, id_column, label_column)
    with progress_bar(console) as progress:
        task = progress.add_task("Ingesting rows", total=1)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        results = monitor.ingest_file(production, batch_size=batch, progress=advance)
        last = None if keep_open else monitor.flush()
        if last is not None:
            results.append(last)
    if monitor.n_skipped:
        console.print(f"{monitor.n_skipped:,} row(s) already stored were skipped.")
    if keep_open and monitor._n:
        console.print(f"{monitor._n:,} row(s) stay in the open window {monitor.windows_closed}.")
    _print_windows(results)
    _write_last(results, out, name)


@app.command("labels")
def labels_command(
    labels: Path = typer.Argument(..., help="CSV/Parquet of row ids and their true labels."),
    id_column: str = typer.Option(..., "--id", help="Row id column."),
    label_column: str = typer.Option(..., "--label-column", help="Label column."),
    name: str = typer.Option("monitor", "--name", help="Monitor name in the ledger."),
    ledger: Path = typer.Option(Path(".raikit"), "--ledger", help="Ledger folder."),
    out: Path | None = typer.Option(None, "--out", help="Folder for the last window's HTML/JSON."),
) -> None:
    """Add labels that arrived late and re-evaluate the closed windows they belong to."""
    from raikit.ledger import LedgerError
    from raikit.monitor import Monitor

    if not (ledger / "ledger.sqlite").exists():
        raise LedgerError(f"No ledger at {str(ledger)!r}; pass --ledger DIR.")
    monitor = Monitor.open(ledger, name=name)
    matched = _read_labels(monitor, labels, id_column, label_column)
    with progress_bar(console) as progress:
        task = progress.add_task("Re-evaluating windows", total=1)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        results = monitor.refresh_pending(progress=advance)
    console.print(
        f"{matched:,} label(s) matched ingested rows; {len(results)} window(s) re-evaluated."
    )
    if results:
        _print_windows(results)
    _write_last(results, out, name)


def _print_windows(results) -> None:
    if not results:
        console.print("No window closed.")
        return
    table = Table(title="Closed windows")
    for column in ("window", "rows", "labelled", "drifted", "alerts"):
        table.add_column(column)
    for r in results:
        whole = r.drift[r.drift["attribute"] == "overall"]
        drifted = ", ".join(whole.loc[whole["drifted"], "column"].tolist()[:4])
        table.add_row(
            str(r.window), f"{r.n_rows:,}", f"{r.n_labelled:,}", drifted, str(len(r.findings))
        )
    console.print(table)
    colours = {"error": "red", "warning": "yellow", "info": "cyan"}
    for r in results:
        for f in r.findings[:10]:
            console.print(
                f"[{colours[f.severity]}]{f.severity}[/] window {r.window}: {f.title} — {f.detail}"
            )


@app.command("history")
def history_command(
    ledger: Path = typer.Option(Path(".raikit"), "--ledger", help="Ledger folder."),
    name: str = typer.Option("monitor", "--name", help="Monitor name."),
) -> None:
    """Show a monitor's windows and alerts from the ledger."""
    from raikit.ledger import LedgerError
    from raikit.monitor import monitor_history

    if not (ledger / "ledger.sqlite").exists():
        raise LedgerError(f"No ledger at {str(ledger)!r}; pass --ledger DIR.")
    windows = monitor_history(ledger, name=name, table="windows")
    table = Table(title=f"Monitor {name!r}: {len(windows)} window(s)")
    for column in ("window", "rows", "labelled", "alerts", "worst", "evidence"):
        table.add_column(column)
    for row in windows.itertuples(index=False):
        table.add_row(
            str(row.window),
            f"{row.n_rows:,}",
            f"{row.n_labelled:,}",
            str(row.n_alerts),
            str(row.worst_severity or ""),
            str(row.evidence_id)[:12],
        )
    console.print(table)
    alerts = monitor_history(ledger, name=name, table="alerts")
    for row in alerts.itertuples(index=False):
        console.print(f"{row.severity} window {row.window}: {row.title} — {row.detail}")
