"""``raikit power``: how many rows an audit needs per group, or what a number of rows detects.

(``raikit metrics FILE ...`` takes its files as arguments, so this is a command of its own rather
than a sub-command of ``metrics``, whose first argument it would read as a file.)
"""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

__all__ = ["register"]

console = Console()

_ALL = (
    "demographic_parity",
    "equal_opportunity",
    "equalized_odds",
    "predictive_parity",
    "accuracy_parity",
)
_DENOMINATORS = {
    "demographic_parity": "rows",
    "equal_opportunity": "positives",
    "equalized_odds": "positives and negatives",
    "predictive_parity": "predicted positives",
    "accuracy_parity": "rows",
}


def _criteria(criterion, base_rate, selection_rate) -> tuple[list[str], list[str]]:
    """The criteria to plan (one, or every one the given rates allow) and those left out."""
    if criterion is not None:
        return [criterion], []
    left_out = []
    if base_rate is None:
        left_out += ["equal_opportunity", "equalized_odds"]
    if selection_rate is None:
        left_out += ["predictive_parity"]
    return [c for c in _ALL if c not in left_out], left_out


def power_command(
    criterion: str | None = typer.Option(
        None,
        "--criterion",
        "-c",
        help="demographic_parity, equal_opportunity, equalized_odds, predictive_parity or "
        "accuracy_parity (default: every one the given rates allow).",
    ),
    difference: float | None = typer.Option(
        None, "--difference", "-d", help="The gap between two groups to detect: rows needed."
    ),
    group_size: int | None = typer.Option(
        None, "--group-size", "-n", help="Rows of the first group: the smallest gap they detect."
    ),
    rate: float | None = typer.Option(
        None, "--rate", help="The metric's value around which the groups differ (default 0.5)."
    ),
    base_rate: float | None = typer.Option(
        None, "--base-rate", help="Share of positive labels (equal opportunity, equalized odds)."
    ),
    selection_rate: float | None = typer.Option(
        None, "--selection-rate", help="Share predicted positive (predictive parity)."
    ),
    power: float = typer.Option(0.8, "--power", help="Probability of detecting the gap."),
    alpha: float = typer.Option(0.05, "--alpha", help="Significance level (over all pairs)."),
    ratio: float = typer.Option(
        1.0, "--ratio", help="Rows of the second group per row of the first."
    ),
    groups: int = typer.Option(
        2, "--groups", help="Groups compared: alpha is split over their pairs (Bonferroni)."
    ),
) -> None:
    """Power analysis of a fairness audit: rows per group to detect a gap (--difference), or the
    smallest gap a number of rows detects (--group-size); two-sided two-proportion test."""
    from raikit._errors import ParameterError
    from raikit.metrics import detectable_difference, required_group_size

    if (difference is None) == (group_size is None):
        raise ParameterError(
            "Give exactly one of --difference (rows needed to detect it) and --group-size (the "
            "gap that many rows detect)."
        )
    chosen, left_out = _criteria(criterion, base_rate, selection_rate)
    settings = {
        "rate": rate,
        "base_rate": base_rate,
        "selection_rate": selection_rate,
        "power": power,
        "alpha": alpha,
        "ratio": ratio,
        "groups": groups,
    }
    level = f"power {power:.0%}, level {alpha:g} over {groups * (groups - 1) // 2} pair(s)"
    if difference is not None:
        table = Table(title=f"Rows per group to detect a gap of {difference:g} ({level})")
        for column in ("criterion", "counted in", "first group", "second group"):
            table.add_column(column)
        for name in chosen:
            n = required_group_size(name, difference=difference, **settings)
            second = -(-n * ratio // 1)  # ceil without float noise for whole ratios
            table.add_row(name, _DENOMINATORS.get(name, ""), f"{n:,}", f"{int(second):,}")
    else:
        table = Table(title=f"Smallest gap groups of {group_size:,} rows detect ({level})")
        for column in ("criterion", "counted in", "detectable difference"):
            table.add_column(column)
        for name in chosen:
            gap = detectable_difference(name, group_size=group_size, **settings)
            table.add_row(name, _DENOMINATORS.get(name, ""), f"{gap:.4f}")
    console.print(table)
    if left_out:
        console.print(
            f"Left out {', '.join(left_out)}: give --base-rate (equal opportunity, equalized "
            f"odds) and --selection-rate (predictive parity)."
        )


def criteria_table(result, *, tolerance: float) -> Table | None:
    """The fairness criteria of a GroupMetricsResult as a Rich table: the difference with its
    interval, the verdict against ``tolerance`` and the smallest gap the groups could have
    detected (None when no criterion applies, e.g. regression)."""
    from rich.markup import escape

    from raikit.metrics import DETECTION_POWER

    if result.task != "binary":
        return None
    frame = result.fairness(tolerance=tolerance)
    if not len(frame):
        return None
    level = 1 - (result.ci or 0.95)
    table = Table(title=f"Fairness criteria (tolerance {tolerance:g})")
    for column in ("criterion", "attribute", "difference", "verdict"):
        table.add_column(column)
    table.add_column(f"detectable at power {DETECTION_POWER:.0%}, level {level:.2g}")
    for row in frame.itertuples(index=False):
        bounds = f" [dim][{row.lower:.3f}, {row.upper:.3f}][/dim]" if row.lower == row.lower else ""
        mdd = row.detectable_difference
        table.add_row(
            row.criterion,
            escape(str(row.attribute)),
            f"{row.difference:.3f}{bounds}",
            row.verdict,
            "[dim]n/a[/dim]" if mdd != mdd else f"{mdd:.3f}",
        )
    return table


def register(app: typer.Typer) -> None:
    """Add ``raikit power`` to the command line."""
    app.command("power")(power_command)
