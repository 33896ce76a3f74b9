"""``raikit check``: an audit against a gate policy, for CI (exit codes 0 / 1 / 2)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

__all__ = ["register"]

_COLOURS = {"pass": "green", "warn": "yellow", "fail": "red"}


def check_command(
    audit: str = typer.Argument(
        ...,
        metavar="AUDIT",
        help="An audit.json, the folder `raikit audit --out` wrote, or an audit run id "
        "(looked up in --ledger).",
    ),
    policy: Path = typer.Option(..., "--policy", help="Gate policy (YAML)."),
    ledger: Path | None = typer.Option(
        None,
        "--ledger",
        help="Ledger folder in which to look up a run id (default: .raikit).",
    ),
    junit: Path | None = typer.Option(
        None, "--junit", help="Also write JUnit XML here (one testcase per gate)."
    ),
    json_out: Path | None = typer.Option(None, "--json", help="Write the gate result as JSON."),
) -> None:
    """Check an audit against a policy: exit 0 when every gate passes (or warns), 1 when one
    fails, 2 on a bad policy or a missing audit."""
    from raikit.gates import check, load_policy

    rules = load_policy(policy)  # a bad policy is exit 2 before the audit is read
    place = Path(audit)
    store = ledger
    if store is None and not place.exists():
        store = Path(".raikit")
    result = check(audit, rules, ledger=store)
    console = Console()  # made per call: it reads the terminal's width (COLUMNS) now
    console.print(gate_table(result))
    console.print(Text(result.summary, style="bold " + ("green" if result.passed else "red")))
    if junit is not None:
        junit.parent.mkdir(parents=True, exist_ok=True)
        result.to_junit(junit)
        console.print(f"JUnit XML written to {junit}")
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        result.to_json(json_out)
        console.print(f"JSON written to {json_out}")
    if not result.passed:
        raise typer.Exit(1)


def gate_table(result) -> Table:
    """A Rich table of a GateResult: every cell from the data is plain text, never markup."""
    table = Table(title=f"Gates: {result.meta.get('policy')}", show_lines=False)
    for column in ("gate", "attribute / group", "value [CI]", "threshold", "verdict", "why"):
        table.add_column(column, overflow="fold")
    for row in result.table.itertuples(index=False):
        where = " / ".join(str(v) for v in (row.attribute, row.group) if isinstance(v, str))
        where = "overall" if row.attribute == "overall" else where
        verdict = row.verdict if row.assessed else f"{row.verdict} (not assessed)"
        table.add_row(
            Text(str(row.gate)),
            Text(where),
            Text(str(row.observed)),
            Text(
                f"{row.threshold} ({row.when})"
                if row.kind in ("criterion", "metric")
                else row.threshold
            ),
            Text(verdict, style=_COLOURS.get(row.verdict, "")),
            Text(str(row.why)),
        )
    return table


def register(app: typer.Typer) -> None:
    """Add ``raikit check`` to the top-level app."""
    app.command("check")(check_command)
