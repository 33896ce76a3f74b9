"""``raikit compare``: audits side by side on the command line."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

__all__ = ["register"]

console = Console()
_COLOURS = {"worse": "red", "better": "green", "not assessed": "dim"}


def _load(source: str, ledger: Path):
    """An AuditReport from ``audit.json``, a folder of ``raikit audit --out``, or a run id."""
    from raikit.audit._load import load_audit

    return load_audit(source, ledger=ledger)


def _named(sources: list[str], ledger: Path) -> tuple[dict, dict]:
    """Model name -> report (names made unique with their source), and source -> name."""
    reports: dict = {}
    names: dict = {}
    for source in sources:
        report = _load(source, ledger)
        name = str(report.meta.get("model") or source)
        if name in reports:
            name = f"{name} ({source})"
        reports[name] = report
        names[source] = name
    return reports, names


def compare_command(
    audits: list[str] = typer.Argument(
        ...,
        help="Audits to compare: audit.json files, folders written by `raikit audit --out`, "
        "or run ids in --ledger. The first is the baseline unless --baseline.",
    ),
    ledger: Path = typer.Option(
        Path(".raikit"), "--ledger", help="Ledger folder of the run ids (or postgresql:// URI)."
    ),
    attribute: str | None = typer.Option(
        None, "--attribute", help="Protected attribute whose gaps are compared (default: all)."
    ),
    baseline: str | None = typer.Option(
        None, "--baseline", help="The audit (as given, or its model name) to judge the others by."
    ),
    out: Path = typer.Option(
        Path("raikit-comparison"), "--out", help="Folder for comparison.html and .json."
    ),
) -> None:
    """Compare audits: what each model gained and cost against the baseline, with intervals."""
    from raikit.audit import compare_audits
    from raikit.cli import print_findings

    reports, names = _named(audits, ledger)
    result = compare_audits(reports, attribute=attribute, baseline=names.get(baseline, baseline))
    from raikit.audit._compare import _display

    table = Table(title=f"Against the baseline {escape(str(result.meta['baseline']))}")
    for column in ("model", "criterion", "baseline", "model value", "change", "verdict"):
        table.add_column(column, justify="left" if column in ("model", "criterion") else "right")
    shown = _display(result)
    for row in shown.itertuples(index=False):
        colour = _COLOURS.get(row.verdict, "")
        verdict = f"[{colour}]{row.verdict}[/{colour}]" if colour else row.verdict
        table.add_row(*(escape(str(v)) for v in row[:2]), *(escape(v) for v in row[3:6]), verdict)
    console.print(table)
    for row in shown[shown["verdict"] == "not assessed"].itertuples(index=False):
        console.print(
            f"[dim]not assessed: {escape(row.model)}, {escape(row.criterion)}: "
            f"{escape(row[-1])}[/dim]"
        )
    print_findings([f for f in result.findings if f.severity != "info"], to=console)
    out.mkdir(parents=True, exist_ok=True)
    result.to_html(out / "comparison.html", title="Audits compared")
    result.to_json(out / "comparison.json")
    console.print(
        f"[bold]Report:[/bold] {escape(str((out / 'comparison.html').resolve()))}\n"
        f"[bold]JSON:[/bold] {escape(str((out / 'comparison.json').resolve()))}"
    )


def register(app: typer.Typer) -> None:
    """Add ``raikit compare`` to the top-level app."""
    app.command("compare")(compare_command)
