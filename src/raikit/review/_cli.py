"""``raikit review list|decide``: the review queue on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

__all__ = ["app"]

console = Console()
app = typer.Typer(help="Review queue: items the model abstained on.", no_args_is_help=True)


def _queue(ledger: Path, name: str):
    from raikit.ledger import LedgerError
    from raikit.review import ReviewQueue

    if not (ledger / "ledger.sqlite").exists():
        raise LedgerError(f"No ledger at {str(ledger)!r}; pass --ledger DIR.")
    return ReviewQueue(ledger, name=name)


@app.command("list")
def list_command(
    ledger: Path = typer.Option(Path(".raikit"), "--ledger", help="Ledger folder."),
    queue: str = typer.Option("default", "--queue", "-q", help="Queue name."),
    status: str | None = typer.Option(None, "--status", help="pending or decided (default: all)."),
    limit: int = typer.Option(50, "--limit", help="Rows to show."),
) -> None:
    """List review items, oldest first."""
    items = _queue(ledger, queue).items(status=status)
    table = Table(title=f"Review queue {queue!r}: {len(items)} item(s)")
    for column in ("id", "item", "group", "prediction", "confidence", "status", "decision", "by"):
        table.add_column(column)
    for row in items.head(limit).itertuples(index=False):
        conf = (
            ""
            if row.confidence is None or row.confidence != row.confidence
            else f"{row.confidence:.3f}"
        )
        table.add_row(
            row.id[:12],
            str(row.item_id),
            str(row.group or ""),
            json.dumps(row.prediction),
            conf,
            row.status,
            "" if row.decision is None else json.dumps(row.decision),
            row.reviewer or "",
        )
    console.print(table)


@app.command("decide")
def decide_command(
    item: str = typer.Argument(..., help="Review item id (a unique prefix is enough)."),
    decision: str = typer.Option(
        ..., "--decision", "-d", help='The decision (JSON, e.g. 1 or "approve").'
    ),
    reviewer: str = typer.Option(..., "--reviewer", "-r", help="Who decides."),
    note: str | None = typer.Option(None, "--note", help="Why."),
    ledger: Path = typer.Option(Path(".raikit"), "--ledger", help="Ledger folder."),
    queue: str = typer.Option("default", "--queue", "-q", help="Queue name."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an earlier decision."),
) -> None:
    """Record a reviewer's decision on an item."""
    try:
        value = json.loads(decision)
    except json.JSONDecodeError:
        value = decision  # plain words are taken as text
    row = _queue(ledger, queue).decide(
        item, value, reviewer=reviewer, note=note, overwrite=overwrite
    )
    console.print(
        f"[green]decided[/green] {row['id'][:12]} ({row['item_id']}): "
        f"{row['decision']!r} by {row['reviewer']}"
    )
