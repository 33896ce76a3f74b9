"""``raikit explain``: SHAP importance (global, per group), one row's attributions and its
counterfactuals, on the command line."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from raikit._cli_utils import progress_bar, split_names, write_result

__all__ = ["register"]

console = Console()


def _print_importance(result) -> None:
    """The global importance table (at most 15 features), then the summary."""
    table = Table(title=f"Global importance (mean |SHAP|, {result.meta['units']})")
    for column in ("rank", "feature", "mean |SHAP|", "share", "permutation rank", "proxy of"):
        table.add_column(column, justify="left" if column in ("feature", "proxy of") else "right")
    for r in result.importance.head(15).itertuples(index=False):  # at most 15 features
        proxy = f"{r.proxy_for} (V={r.proxy_strength:.2f})" if r.proxy_strength >= 0.3 else ""
        table.add_row(
            str(r.rank),
            r.feature,
            f"{r.mean_abs:.4f}",
            f"{r.share:.1%}",
            str(getattr(r, "permutation_rank", "")),
            proxy,
        )
    console.print(table)
    console.print(result.summary)


def explain_command(
    data: Path = typer.Option(..., "--data", "-d", help="CSV or Parquet file of labelled data."),
    model: Path = typer.Option(..., "--model", "-m", help="Model file (.skops)."),
    target: str = typer.Option(..., "--target", "-t", help="Column of true labels."),
    sensitive: str = typer.Option(
        ..., "--sensitive", "-s", help="Sensitive columns, comma-separated."
    ),
    features: str | None = typer.Option(
        None, "--features", help="Model inputs, comma-separated (default: the model's own)."
    ),
    row: int | None = typer.Option(
        None, "--row", help="Explain this row (0-based position) and search its counterfactuals."
    ),
    n_counterfactuals: int = typer.Option(
        5, "--counterfactuals", help="Counterfactuals for --row (0: none)."
    ),
    immutable: str | None = typer.Option(
        None,
        "--immutable",
        help="Features counterfactuals must not change (default: the sensitive ones that are "
        "inputs).",
    ),
    method: str = typer.Option("auto", "--method", help="auto, tree, linear or permutation."),
    background: int = typer.Option(100, "--background", help="Background rows."),
    max_rows: int | None = typer.Option(
        None,
        "--max-rows",
        help="Rows explained: a larger file is sampled by group (every group keeps 30 rows) and reweighted.",
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the sampling."),
    pos_label: str | None = typer.Option(
        None,
        "--pos-label",
        help="The class explained (needed unless the labels are 0/1, true/false or -1/1).",
    ),
    glassbox: bool = typer.Option(
        False,
        "--glassbox",
        help="Also fit InterpretML's Explainable Boosting Machine and compare it with the model: "
        "is the complex model worth it? (per-group gap with paired intervals, term importances).",
    ),
    train: Path | None = typer.Option(
        None,
        "--train",
        help="With --glassbox: CSV or Parquet file the glass box is fitted on (default: 70% of "
        "--data, compared on the other 30%).",
    ),
    out: Path = typer.Option(Path("raikit-explain"), "--out", help="Folder for HTML and JSON."),
    trust_pickle: bool = typer.Option(
        False, "--trust-pickle", help="Allow a pickle model file you made yourself."
    ),
    trust: list[str] = typer.Option(
        [], "--trust", help="A type in the .skops file to trust (repeatable)."
    ),
) -> None:
    """Why the model decides as it does: SHAP importance overall and per group, proxies of the
    sensitive attributes, one row's attributions and its counterfactuals; with --glassbox, an
    interpretable Explainable Boosting Machine beside it."""
    from raikit._errors import ParameterError
    from raikit._models import load_model_for_cli
    from raikit.dataset import Dataset
    from raikit.explain import counterfactuals, explain

    fitted = load_model_for_cli(model, trust=trust, trust_pickle=trust_pickle)
    chosen = split_names(features) or None
    ds = Dataset(data, target=target, sensitive=split_names(sensitive), features=chosen)
    ds = ds.for_model(fitted)
    if train is not None and not glassbox:
        raise ParameterError("--train is the glass box's training data: add --glassbox.")
    if row is not None and not 0 <= row < ds.n_rows:
        raise ParameterError(f"--row must be a row position in 0..{ds.n_rows - 1}, got {row}.")
    with progress_bar(console) as progress:
        task = progress.add_task("Explaining rows", total=None)

        def explained(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        result = explain(
            fitted,
            ds,
            method=method,
            background=background,
            max_rows=max_rows,
            include=[row] if row is not None else (),
            pos_label=pos_label,
            random_state=seed,
            progress=explained,
        )
        cf = None
        if row is not None and n_counterfactuals > 0:
            progress.update(task, description=f"Counterfactuals of row {row}")
            fixed = split_names(immutable) or [
                c for c in ds.sensitive_names if c in ds.feature_names
            ]
            cf = counterfactuals(
                fitted,
                ds,
                rows=ds.X.iloc[[row]],
                immutable=fixed,
                n=n_counterfactuals,
                pos_label=pos_label,
            )
    _print_importance(result)
    colours = {"error": "red", "warning": "yellow", "info": "cyan"}
    for f in result.findings:
        console.print(f"[{colours[f.severity]}]{f.severity}[/]: {f.title} — {f.detail}")
    write_result(result, out, "explanation", f"Explanation: {data.name}", console)
    if row is not None:
        label = ds.X.index[row]
        local = result.local(label).head(10)
        table = Table(title=f"Row {row}: largest attributions ({result.meta['units']})")
        table.add_column("feature")
        table.add_column("value")
        table.add_column("SHAP", justify="right")
        for feature, value in local.items():  # at most 10 features
            table.add_row(feature, str(ds.X[feature].iloc[row]), f"{value:+.4f}")
        console.print(table)
    if cf is not None:
        console.print(cf.summary)
        for r in cf.changes.itertuples(index=False):  # a few changed cells
            console.print(f"  #{r.cf}: {r.feature}: {r.before} → {r.after}")
        write_result(
            cf, out, "counterfactuals", f"Counterfactuals of row {row}: {data.name}", console
        )
    if glassbox:
        chosen_train = None
        if train is not None:
            chosen_train = Dataset(
                train, target=target, sensitive=split_names(sensitive), features=chosen
            )
        _glassbox(fitted, ds, chosen_train, pos_label, seed, out, data.name)


def _glassbox(fitted, ds, train, pos_label, seed: int, out: Path, name: str) -> None:
    """``--glassbox``: the EBM beside the model, the gap per group and the top terms."""
    from raikit.explain import glassbox_baseline

    with progress_bar(console) as progress:
        progress.add_task("Fitting the glass box (InterpretML EBM)", total=None)
        if train is None:
            result = glassbox_baseline(fitted, ds, pos_label=pos_label, random_state=seed)
        else:
            result = glassbox_baseline(
                fitted, train, test=ds, pos_label=pos_label, random_state=seed
            )
    level = f"{result.meta['ci']:.0%}"
    table = Table(title=f"Is the complex model worth it? ({result.meta['metric']}, {level} CI)")
    for column in ("group", "n", "black box", "glass box", "gap", "interval", "verdict"):
        table.add_column(column, justify="left" if column in ("group", "verdict") else "right")
    for r in result.gap.itertuples(index=False):  # one row per group
        group = "overall" if r.attribute == "overall" else f"{r.attribute}={r.group}"
        table.add_row(
            group,
            f"{r.n:,}",
            f"{r.blackbox:.3f}",
            f"{r.glassbox:.3f}",
            f"{r.gap:+.3f}",
            f"[{r.lower:+.3f}, {r.upper:+.3f}]",
            r.verdict,
        )
    console.print(table)
    overall = result.importance[result.importance["attribute"] == "overall"].nsmallest(10, "rank")
    table = Table(title=f"Glass box terms (mean |contribution|, {result.meta['units']})")
    for column in ("rank", "term", "mean |contribution|", "interval"):
        table.add_column(column, justify="left" if column == "term" else "right")
    for r in overall.itertuples(index=False):  # the top 10 terms
        table.add_row(str(r.rank), r.term, f"{r.mean_abs:.4f}", f"[{r.lower:.4f}, {r.upper:.4f}]")
    console.print(table)
    console.print(result.summary)
    colours = {"error": "red", "warning": "yellow", "info": "cyan"}
    for f in result.findings:
        console.print(f"[{colours[f.severity]}]{f.severity}[/]: {f.title} — {f.detail}")
    write_result(result, out, "glassbox", f"Glass box vs black box: {name}", console)


def register(app: typer.Typer) -> None:
    """Add ``explain`` to the ``raikit`` command."""
    app.command("explain")(explain_command)
