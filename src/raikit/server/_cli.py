"""``raikit ui``: start the local dashboard over a ledger."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

__all__ = ["register"]

console = Console()


def ui_command(
    ledger: Path = typer.Option(Path(".raikit"), "--ledger", help="Ledger folder to serve."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (default: local only)."),
    port: int = typer.Option(8765, "--port", help="Port."),
) -> None:
    """Web dashboard: runs with their reports and cards, cohorts, slices, two audits side by side,
    lineage, monitoring over time and the review queue."""
    from raikit.ledger import LedgerError
    from raikit.server import serve

    if not (ledger / "ledger.sqlite").exists():
        raise LedgerError(f"No ledger at {str(ledger)!r}; pass --ledger DIR.")
    if host not in ("127.0.0.1", "localhost", "::1"):
        console.print(
            f"[yellow]warning[/yellow]: binding {host} exposes the dashboard beyond this machine "
            "(requests must still name 127.0.0.1, localhost, [::1] or the --host address)."
        )
    serve(ledger, host=host, port=port, echo=lambda text: print(text, flush=True))


def register(app: typer.Typer) -> None:
    """Add ``raikit ui`` to the top-level app."""
    app.command("ui")(ui_command)
