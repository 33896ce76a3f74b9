"""Compare audited models side by side: accuracy against disparity, with confidence intervals."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from raikit._plots import error_bars
from raikit._result import Finding, Result

__all__ = ["ComparisonResult", "compare_audits"]

_COLUMNS = ("accuracy", "selection_rate", "true_positive_rate", "false_positive_rate")


@dataclass(frozen=True, eq=False)
class ComparisonResult(Result):
    """Several audits side by side.

    Attributes
    ----------
    table : DataFrame
        One row per (model, quantity): overall accuracy and the between-group differences of
        selection rate, TPR and FPR (per attribute), each with ``value``, ``lower``, ``upper``.
    scorecards : DataFrame
        Principle x model status.
    """

    table: pd.DataFrame
    scorecards: pd.DataFrame
    findings: tuple = ()
    meta: dict = field(default_factory=dict)

    @property
    def summary(self) -> str:
        acc = self.table[self.table["quantity"] == "accuracy"].set_index("model")["value"]
        dp = self.table[
            (self.table["quantity"] == "selection_rate difference")
            & (self.table["attribute"] == self.meta.get("attribute"))
        ]
        dp = dp.set_index("model")["value"]
        parts = [
            f"{m}: accuracy {acc[m]:.3f}, demographic-parity difference {dp.get(m, float('nan')):.3f}"
            for m in acc.index
        ]
        return "; ".join(parts) + "."

    def figures(self) -> list:
        import plotly.graph_objects as go

        attribute = self.meta.get("attribute")
        acc = self.table[self.table["quantity"] == "accuracy"].set_index("model")
        fig = go.Figure()
        for quantity, symbol in (
            ("selection_rate difference", "circle"),
            ("true_positive_rate difference", "diamond"),
        ):
            part = self.table[
                (self.table["quantity"] == quantity) & (self.table["attribute"] == attribute)
            ].set_index("model")
            models = [m for m in acc.index if m in part.index]
            fig.add_trace(
                go.Scatter(
                    x=part.loc[models, "value"],
                    y=acc.loc[models, "value"],
                    mode="markers+text",
                    text=models,
                    textposition="top center",
                    marker={"size": 12, "symbol": symbol},
                    name=quantity.replace("_", " ") + f" ({attribute})",
                    error_x=error_bars(
                        part.loc[models, "value"],
                        part.loc[models, "lower"],
                        part.loc[models, "upper"],
                    ),
                    error_y=error_bars(
                        acc.loc[models, "value"], acc.loc[models, "lower"], acc.loc[models, "upper"]
                    ),
                )
            )
        fig.update_layout(
            title=f"Accuracy vs disparity on {attribute} (with CIs): up and left is better",
            xaxis_title="difference between groups",
            yaxis_title="test accuracy",
        )
        return [fig]


def compare_audits(reports: dict, *, attribute: str | None = None) -> ComparisonResult:
    """Put several :class:`AuditReport` side by side (same test data expected)."""
    rows = []
    cards = {}
    first = next(iter(reports.values()))
    attribute = attribute or first.meta["sensitive"][0]
    for name, report in reports.items():
        metrics = report.results["metrics.group_metrics"]
        overall = metrics.table[metrics.table["attribute"] == "overall"].set_index("metric")
        rows.append(
            (name, "accuracy", "overall", *overall.loc["accuracy", ["value", "lower", "upper"]])
        )
        diffs = metrics.difference(bounds=True)
        for metric in _COLUMNS[1:]:
            for row in diffs[diffs["metric"] == metric].itertuples(index=False):
                rows.append(
                    (name, f"{metric} difference", row.attribute, row.value, row.lower, row.upper)
                )
        cards[name] = report.scorecard.set_index("principle")["status"]
    table = pd.DataFrame(
        rows, columns=["model", "quantity", "attribute", "value", "lower", "upper"]
    )
    findings = []
    best = table[table["quantity"] == "accuracy"].sort_values("value", ascending=False)
    findings.append(
        Finding(
            "info", "Most accurate model", f"{best['model'].iloc[0]} ({best['value'].iloc[0]:.3f})"
        )
    )
    return ComparisonResult(
        table=table,
        scorecards=pd.DataFrame(cards),
        findings=tuple(findings),
        meta={"attribute": attribute, "models": list(reports)},
    )
