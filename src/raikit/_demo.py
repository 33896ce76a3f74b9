"""``raikit demo``: the main job on real data, end to end, recorded in a ledger."""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

__all__ = ["run_demo"]

PROBLEM = {
    "name": "Adult income screening (demonstration)",
    "intended_use": "Demonstration only: predict whether a person's income exceeds $50K from census "
    "attributes, to show how raikit audits a model.",
    "intended_users": "Data scientists evaluating raikit.",
    "out_of_scope_uses": "Any decision about a real person (credit, hiring, benefits).",
}


# What the data's own documentation says (UCI's adult.names); everything else stays unanswered.
DATASHEET_ANSWERS = {
    "motivation": {
        "purpose": "Extracted from the 1994 US Census database by Barry Becker to study whether a "
        "person's income exceeds $50K a year.",
    },
}


def _models(train, seed: int) -> dict:
    """A baseline, FairBatch (equal opportunity, in-training) and a Fairlearn post-processed model
    (demographic parity), the three kinds of mitigation side by side.

    The post-processed model is raikit's :class:`~raikit.train.FairlearnClassifier` (Fairlearn's
    ThresholdOptimizer on the same kind of model), which the ledger stores as skops: every model
    of the demo reloads with the default trust, none as a pickle.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier

    from raikit.train import FairBatchClassifier, FairlearnClassifier

    baseline = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=seed)
    baseline.fit(train.X, train.y)
    fairbatch = FairBatchClassifier(constraint="eqopp", epochs=20, random_state=seed)
    fairbatch.fit(train.X, train.y, sensitive_features=train.sensitive["sex"])
    post = FairlearnClassifier(
        method="threshold",
        constraint="dp",
        estimator=HistGradientBoostingClassifier(random_state=seed),
        random_state=seed,
    )
    post.fit(train.X, train.y, sensitive_features=train.sensitive)
    return {"baseline": baseline, "fairbatch": fairbatch, "threshold_optimizer": post}


def run_demo(
    *,
    out: Path = Path("raikit-demo"),
    seed: int = 0,
    n_boot: int = 1000,
    console: Console | None = None,
) -> dict:
    """Train models on UCI Adult, audit each into a ledger, and write reports and cards.

    Writes, under ``out``: ``comparison.html``, and per model ``<model>/audit.html``,
    ``model_card.md/.html/.json`` and ``annex_iv.*``; the ledger lives in ``out/.raikit``.
    Returns the paths and results.
    """
    from raikit.audit import audit, compare_audits
    from raikit.cards import annex_iv, model_card
    from raikit.data import datasheet
    from raikit.datasets import load_adult
    from raikit.ledger import Ledger

    console = console or Console()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    ledger = Ledger(out / ".raikit")
    columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn()]
    reports = {}
    paths: dict = {"ledger": ledger.root}
    with Progress(*columns, console=console) as progress:
        step = progress.add_task("Loading UCI Adult (bundled, offline)", total=7)
        train, test = load_adult(split="train"), load_adult(split="test")
        progress.update(
            step, advance=1, description="Training a baseline, FairBatch and a post-processed model"
        )
        models = _models(train, seed)
        progress.update(step, advance=1)
        for name, model in models.items():
            progress.update(step, description=f"Auditing {name} (1,000-replicate bootstrap CIs)")
            report = audit(
                model,
                train=train,
                test=test,
                ledger=ledger,
                n_boot=n_boot,
                random_state=seed,
                name=name,
                problem=PROBLEM,
            )
            folder = out / name
            folder.mkdir(exist_ok=True)
            report.to_html(
                folder / "audit.html", title=f"raikit demo: audit of {name} on UCI Adult"
            )
            for card, stem in (
                (
                    model_card(ledger=ledger, run=report.meta["run_id"], problem=PROBLEM),
                    "model_card",
                ),
                (annex_iv(report, problem=PROBLEM), "annex_iv"),
            ):
                card.save(folder, stem)
            reports[name] = report
            paths[name] = folder
            progress.update(step, advance=1)
        progress.update(step, description="Writing the datasheet and the comparison report")
        sheet = datasheet(
            train,
            answers=DATASHEET_ANSWERS,
            profile=reports["baseline"].results.get("data.profile"),
            representation=reports["baseline"].results.get("data.representation"),
            pii=reports["baseline"].results.get("data.scan_pii"),
            ledger=ledger,
        )
        sheet.to_markdown(out / "datasheet.md")
        sheet.to_json(out / "datasheet.json")
        sheet.to_html(out / "datasheet.html", title="Datasheet: UCI Adult (training split)")
        paths["datasheet"] = out / "datasheet.md"
        comparison = compare_audits(reports, attribute="sex")
        comparison.to_html(out / "comparison.html", title="raikit demo: models compared on Adult")
        comparison.to_json(out / "comparison.json")
        paths["comparison"] = out / "comparison.html"
        progress.update(step, advance=2, description="Done")
    _print_summary(console, reports, comparison, paths=paths, ledger=ledger)
    console.print(f"Finished in {time.perf_counter() - started:.1f} s.")
    return {"paths": paths, "reports": reports, "comparison": comparison}


def _print_summary(console, reports: dict, comparison, *, paths: dict, ledger) -> None:
    """The baseline's group metrics, the scorecards and where every file was written."""
    from raikit.cli import metrics_table, print_findings

    baseline = reports["baseline"].results["metrics.group_metrics"]
    shown = [
        "count",
        "selection_rate",
        "accuracy",
        "true_positive_rate",
        "false_positive_rate",
        "roc_auc",
    ]
    console.print(
        metrics_table(
            baseline,
            title="Adult test set: baseline gradient boosting, by group (95% CIs)",
            metrics=shown,
        )
    )
    print_findings([f for f in baseline.findings if f.severity == "error"], to=console)
    table = Table(title="Scorecards")
    table.add_column("principle")
    for name in reports:
        table.add_column(name)
    for principle, row in comparison.scorecards.iterrows():
        table.add_row(principle, *[str(v) for v in row])
    console.print(table)
    console.print(comparison.summary)
    print_findings([f for f in comparison.findings if f.severity == "warning"], to=console)
    console.print(f"\n[bold]Comparison report:[/bold] {paths['comparison'].resolve()}")
    for name in reports:
        console.print(
            f"[bold]{name}:[/bold] {(paths[name] / 'audit.html').resolve()} "
            f"(+ model_card.md, annex_iv.md)"
        )
    console.print(f"[bold]Datasheet:[/bold] {paths['datasheet'].resolve()}")
    console.print(
        f"[bold]Ledger:[/bold] {ledger.root.resolve()}  (try: raikit runs list "
        f"--ledger {ledger.root})"
    )
