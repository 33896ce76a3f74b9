"""``raikit evaluate`` and ``raikit slices``: the evaluation stage on the command line."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from raikit._cli_utils import progress_bar, split_names, weight_option, write_result

__all__ = ["register"]

console = Console()


def _floats(text: str | None, option: str) -> list[float] | None:
    from raikit._errors import ParameterError

    if not text:
        return None
    try:
        return [float(v) for v in split_names(text)]
    except ValueError as error:
        raise ParameterError(f"{option} must be comma-separated numbers, got {text!r}.") from error


def _progress():
    return progress_bar(console)


def _model(path: Path | None, trust_pickle: bool, trust: list[str]):
    if path is None:
        return None
    from raikit._models import load_model_for_cli

    return load_model_for_cli(path, trust=trust, trust_pickle=trust_pickle)


def _print_findings(findings, limit: int = 15) -> None:
    colours = {"error": "red", "warning": "yellow", "info": "cyan"}
    for f in list(findings)[:limit]:
        console.print(f"[{colours[f.severity]}]{f.severity}[/]: {f.title} — {f.detail}")
    if len(findings) > limit:
        console.print(f"… and {len(findings) - limit} more finding(s) in the HTML page.")


def evaluate_command(
    data: Path = typer.Option(..., "--data", "-d", help="CSV or Parquet file of labelled data."),
    model: Path | None = typer.Option(
        None,
        "--model",
        "-m",
        help="Model file (.skops). Without it, --prediction/--score are used.",
    ),
    target: str = typer.Option(..., "--target", "-t", help="Column of true labels."),
    sensitive: str = typer.Option(
        ..., "--sensitive", "-s", help="Sensitive columns, comma-separated."
    ),
    features: str | None = typer.Option(
        None,
        "--features",
        help="Model inputs, comma-separated (default: the model's own inputs).",
    ),
    prediction: str | None = typer.Option(None, "--prediction", help="Column of predictions."),
    score: str | None = typer.Option(None, "--score", help="Column of positive-class scores."),
    weight: str | None = weight_option(),
    thresholds: str | None = typer.Option(
        None, "--thresholds", help="Decision thresholds on the score, e.g. 0.3,0.5,0.7."
    ),
    ci: float = typer.Option(0.95, "--ci", help="Confidence level of every interval."),
    n_boot: int = typer.Option(1000, "--n-boot", help="Bootstrap replicates."),
    tolerance: float = typer.Option(0.1, "--tolerance", help="Largest acceptable disparity."),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap."),
    out: Path = typer.Option(Path("raikit-evaluate"), "--out", help="Folder for HTML and JSON."),
    trust_pickle: bool = typer.Option(
        False, "--trust-pickle", help="Allow a pickle model file you made yourself."
    ),
    trust: list[str] = typer.Option(
        [], "--trust", help="A type in the .skops file to trust (repeatable)."
    ),
    pos_label: str | None = typer.Option(
        None,
        "--pos-label",
        help="The positive label (needed unless the labels are 0/1, true/false or -1/1).",
    ),
) -> None:
    """Metrics overall and per group with CIs, fairness findings, ROC/PR/calibration curves."""
    from raikit.dataset import Dataset
    from raikit.evaluate import evaluate

    fitted = _model(model, trust_pickle, trust)
    ds = Dataset(
        data,
        target=target,
        sensitive=split_names(sensitive),
        features=split_names(features) or None,
        prediction=prediction,
        score=score,
        weight=weight,
    )
    with console.status("Evaluating (bootstrap intervals)…"):
        result = evaluate(
            fitted,
            ds,
            thresholds=_floats(thresholds, "--thresholds"),
            ci=ci,
            n_boot=n_boot,
            tolerance=tolerance,
            random_state=seed,
            pos_label=pos_label,
        )
    positive = result.meta.get("positive_label")
    table = Table(title=f"Evaluation of {data.name} (positive label: {positive!r})")
    first = result.at()
    shown = [
        m
        for m in (
            "count",
            "accuracy",
            "selection_rate",
            "true_positive_rate",
            "false_positive_rate",
            "roc_auc",
        )
        if m in first.columns
    ]
    table.add_column("attribute", style="bold")
    table.add_column("group")
    for name in shown:
        table.add_column(name.replace("_", " "), justify="right")
    for (attribute, group), row in first.iterrows():  # groups: a table row each
        table.add_row(
            str(attribute),
            str(group),
            *[f"{int(row[m]):,}" if m == "count" else f"{row[m]:.3f}" for m in shown],
        )
    console.print(table)
    console.print(result.summary)
    _print_findings(result.findings)
    write_result(result, out, "evaluation", f"Evaluation: {data.name}", console)


def slices_command(
    data: Path = typer.Option(..., "--data", "-d", help="CSV or Parquet file of labelled data."),
    model: Path | None = typer.Option(
        None,
        "--model",
        "-m",
        help="Model file (.skops). Without it, --prediction/--score are used.",
    ),
    target: str = typer.Option(..., "--target", "-t", help="Column of true labels."),
    sensitive: str | None = typer.Option(
        None, "--sensitive", "-s", help="Sensitive columns (optional: they are searched too)."
    ),
    features: str | None = typer.Option(
        None,
        "--features",
        help="Model inputs, comma-separated (default: the model's own inputs).",
    ),
    search: str | None = typer.Option(
        None, "--search", help="Columns to search (default: the features and sensitive columns)."
    ),
    prediction: str | None = typer.Option(None, "--prediction", help="Column of predictions."),
    score: str | None = typer.Option(None, "--score", help="Column of positive-class scores."),
    weight: str | None = weight_option(),
    method: str = typer.Option("lattice", "--method", help="lattice, tree or sliceline."),
    loss: str = typer.Option("log_loss", "--loss", help="log_loss, zero_one, squared_error…"),
    max_features: int = typer.Option(3, "--max-features", help="Most predicates per slice."),
    k: int = typer.Option(10, "--k", help="Most slices reported."),
    min_size: int | None = typer.Option(
        None, "--min-size", help="Smallest slice in rows (in weight with --weight)."
    ),
    effect_size: float = typer.Option(0.4, "--effect-size", help="Smallest effect size tested."),
    alpha: float = typer.Option(0.05, "--alpha", help="Significance level."),
    fdr: str = typer.Option("alpha_investing", "--fdr", help="alpha_investing or bh."),
    n_bins: int = typer.Option(10, "--n-bins", help="Quantile bins per numeric column."),
    seed: int = typer.Option(0, "--seed", help="Seed of the tree search."),
    out: Path = typer.Option(Path("raikit-slices"), "--out", help="Folder for HTML and JSON."),
    trust_pickle: bool = typer.Option(
        False, "--trust-pickle", help="Allow a pickle model file you made yourself."
    ),
    trust: list[str] = typer.Option(
        [], "--trust", help="A type in the .skops file to trust (repeatable)."
    ),
    pos_label: str | None = typer.Option(
        None,
        "--pos-label",
        help="The positive label of --score (needed unless the labels are 0/1, true/false, -1/1).",
    ),
) -> None:
    """Find the slices of the data where the model's loss is significantly worse (Slice Finder,
    SliceLine)."""
    from raikit.dataset import Dataset, read_table
    from raikit.evaluate import find_slices

    fitted = _model(model, trust_pickle, trust)
    names = split_names(sensitive)
    chosen = split_names(features) or None
    if names:
        ds = Dataset(
            data,
            target=target,
            sensitive=names,
            features=chosen,
            prediction=prediction,
            score=score,
            weight=weight,
        )
    else:  # no sensitive attribute named: search the data as it is
        frame = read_table(data)
        ds = Dataset(
            frame.assign(__all_rows__="all"),
            target=target,
            sensitive="__all_rows__",
            features=chosen,
            prediction=prediction,
            score=score,
            weight=weight,
            name=data.name.split(".")[0],
        )
    if fitted is not None:
        ds = ds.for_model(fitted)
    columns = split_names(search) or None
    if columns is None and not names:
        columns = list(ds.feature_names)
    with _progress() as progress:
        task = progress.add_task(f"Searching slices ({method})", total=max_features)

        def advance(level: int, total: int) -> None:
            progress.update(
                task,
                completed=level,
                total=total,
                description=f"Searching slices ({method}): level {level}",
            )

        result = find_slices(
            fitted,
            ds,
            loss=loss,
            method=method,
            effect_size=effect_size,
            max_features=max_features,
            min_size=min_size,
            alpha=alpha,
            k=k,
            fdr=fdr,
            n_bins=n_bins,
            features=columns,
            pos_label=pos_label,
            random_state=seed,
            progress=advance,
        )
    table = Table(title=f"Problematic slices ({method}, loss {result.loss})")
    for column in ("#", "slice", "rows", "mean loss", "elsewhere", "effect", "p"):
        table.add_column(column, justify="left" if column == "slice" else "right")
    for i, row in enumerate(result.slices.itertuples(index=False)):  # at most k rows
        table.add_row(
            str(i + 1),
            row.slice,
            f"{row.size:,}",
            f"{row.mean_loss:.4f}",
            f"{row.rest_mean_loss:.4f}",
            f"{row.effect_size:.2f}",
            f"{row.p_value:.2g}",
        )
    console.print(table)
    console.print(result.summary)
    write_result(result, out, "slices", f"Problematic slices: {data.name}", console)


def estimate_command(
    data: Path = typer.Option(
        ..., "--data", "-d", help="CSV or Parquet file of rows whose labels have not arrived."
    ),
    reference: Path | None = typer.Option(
        None,
        "--reference",
        "-r",
        help="Labelled CSV or Parquet file the calibration is fitted and checked on.",
    ),
    model: Path | None = typer.Option(
        None, "--model", "-m", help="Model file (.skops). Without it, --score (and --prediction)."
    ),
    target: str | None = typer.Option(
        None, "--target", "-t", help="Column of true labels in the reference."
    ),
    sensitive: str = typer.Option(
        ..., "--sensitive", "-s", help="Sensitive columns, comma-separated."
    ),
    features: str | None = typer.Option(
        None, "--features", help="Model inputs, comma-separated (default: the model's own)."
    ),
    prediction: str | None = typer.Option(None, "--prediction", help="Column of predictions."),
    score: str | None = typer.Option(None, "--score", help="Column of positive-class scores."),
    weight: str | None = weight_option(),
    calibrate: str = typer.Option(
        "auto", "--calibrate", help="auto, none, platt or isotonic (fitted on --reference)."
    ),
    ci: float = typer.Option(0.95, "--ci", help="Confidence level of every interval."),
    n_boot: int = typer.Option(1000, "--n-boot", help="Bootstrap replicates."),
    tolerance: float = typer.Option(0.1, "--tolerance", help="Largest acceptable disparity."),
    min_group_size: int = typer.Option(
        30, "--min-group-size", help="Fewest rows a group needs to count in a disparity."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap."),
    out: Path = typer.Option(Path("raikit-estimate"), "--out", help="Folder for HTML and JSON."),
    trust_pickle: bool = typer.Option(
        False, "--trust-pickle", help="Allow a pickle model file you made yourself."
    ),
    trust: list[str] = typer.Option(
        [], "--trust", help="A type in the .skops file to trust (repeatable)."
    ),
    pos_label: str | None = typer.Option(
        None,
        "--pos-label",
        help="The positive label (needed unless the labels are 0/1, true/false or -1/1).",
    ),
) -> None:
    """Accuracy, TPR, FPR, precision and selection rate per group estimated before labels
    arrive, from calibrated scores, with intervals."""
    from raikit._cli_utils import command_line_words
    from raikit._errors import ParameterError
    from raikit.dataset import Dataset
    from raikit.evaluate import estimate_performance

    if reference is not None and target is None:
        raise ParameterError(
            "--reference needs --target: the column of true labels in the reference file."
        )
    fitted = _model(model, trust_pickle, trust)
    roles = {
        "sensitive": split_names(sensitive),
        "features": split_names(features) or None,
        "prediction": prediction,
        "score": score,
        "weight": weight,
    }
    with command_line_words():
        current = Dataset(data, target=None, **roles)
        labelled = None if reference is None else Dataset(reference, target=target, **roles)
        with console.status("Estimating (bootstrap of the calibration)…"):
            result = estimate_performance(
                fitted,
                current,
                reference=labelled,
                calibrate=calibrate,
                ci=ci,
                n_boot=n_boot,
                tolerance=tolerance,
                min_group_size=min_group_size,
                random_state=seed,
                pos_label=pos_label,
            )
    _print_estimates(result, data.name)
    write_result(
        result, out, "estimate", f"Performance estimated without labels: {data.name}", console
    )


def _print_estimates(result, name: str) -> None:
    table = Table(
        title=f"Estimated without labels on {name} (calibration: {result.calibrate}; "
        f"{result.ci:.0%} intervals)"
    )
    table.add_column("attribute", style="bold")
    table.add_column("group")
    table.add_column("rows", justify="right")
    metrics = (
        "accuracy",
        "true_positive_rate",
        "false_positive_rate",
        "precision",
        "selection_rate",
    )
    for metric in metrics:
        table.add_column(metric.replace("_", " "), justify="right")
    value, lower, upper = (result.by_group(c) for c in ("estimate", "lower", "upper"))
    rows = result.estimates.drop_duplicates(["attribute", "group"])["n"].to_numpy()
    for i, ((attribute, group), row) in enumerate(value.iterrows()):  # groups: a row each
        cells = [f"{row[m]:.3f} [{lower.iloc[i][m]:.3f}, {upper.iloc[i][m]:.3f}]" for m in metrics]
        table.add_row(str(attribute), str(group), f"{rows[i]:,.0f}", *cells)
    console.print(table)
    console.print(result.summary)
    _print_findings(result.findings)


def evasion_command(
    data: Path = typer.Option(..., "--data", "-d", help="CSV or Parquet file of labelled rows."),
    model: Path = typer.Option(
        ..., "--model", "-m", help="Model file (.skops) with predict_proba (e.g. a Pipeline)."
    ),
    target: str = typer.Option(..., "--target", "-t", help="Column of true labels."),
    sensitive: str = typer.Option(
        ..., "--sensitive", "-s", help="Sensitive columns, comma-separated (never changed)."
    ),
    features: str | None = typer.Option(
        None, "--features", help="Model inputs, comma-separated (default: the model's own)."
    ),
    weight: str | None = weight_option(),
    budget: str = typer.Option(
        "0.05,0.1,0.2,0.5",
        "--budget",
        help="Largest move of each numeric feature, as shares of its standard deviation "
        "(comma-separated for several).",
    ),
    immutable: str | None = typer.Option(
        None, "--immutable", help="More features that must not change, comma-separated."
    ),
    max_switches: int = typer.Option(
        1, "--max-switches", help="Most categorical features one row may switch (0: none)."
    ),
    max_steps: int = typer.Option(10, "--max-steps", help="Greedy steps per row."),
    max_rows: int | None = typer.Option(
        None, "--max-rows", help="Attack a sample of this many rows, stratified by group."
    ),
    train: Path | None = typer.Option(
        None,
        "--train",
        help="Training CSV or Parquet for the mitigation: refit the model on it plus attacked "
        "rows (adversarial training), or learn from it which inputs are plausible (input "
        "validation); reports robust and clean accuracy before and after.",
    ),
    mitigation: str = typer.Option(
        "adversarial_training",
        "--mitigation",
        help="With --train: adversarial_training or input_validation.",
    ),
    ci: float = typer.Option(0.95, "--ci", help="Confidence level of every interval."),
    seed: int = typer.Option(0, "--seed", help="Seed of the sample and the random baseline."),
    out: Path = typer.Option(Path("raikit-evasion"), "--out", help="Folder for HTML and JSON."),
    trust_pickle: bool = typer.Option(
        False, "--trust-pickle", help="Allow a pickle model file you made yourself."
    ),
    trust: list[str] = typer.Option(
        [], "--trust", help="A type in the .skops file to trust (repeatable)."
    ),
) -> None:
    """Evasion attack: bounded, plausible input changes that flip correct decisions, per
    budget and group, beside random changes; optionally adversarial training and its cost."""
    from raikit._cli_utils import command_line_words
    from raikit.dataset import Dataset
    from raikit.evaluate import evasion_test

    fitted = _model(model, trust_pickle, trust)
    roles = {
        "target": target,
        "sensitive": split_names(sensitive),
        "features": split_names(features) or None,
        "weight": weight,
    }
    with command_line_words():
        ds = Dataset(data, **roles)
        train_ds = None if train is None else Dataset(train, **roles)
        with _progress() as progress:
            task = progress.add_task("Attacking (one budget at a time)", total=None)
            result = evasion_test(
                fitted,
                ds,
                budgets=_floats(budget, "--budget"),
                immutable=split_names(immutable),
                max_switches=max_switches,
                max_steps=max_steps,
                mitigation=None if train_ds is None else mitigation,
                train=train_ds,
                ci=ci,
                max_rows=max_rows,
                random_state=seed,
                progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
    _print_evasion(result, data.name)
    write_result(result, out, "evasion", f"Evasion attack: {data.name}", console)


def _print_evasion(result, name: str) -> None:
    table = Table(title=f"Evasion attack on {name} ({result.meta['attacked_rows']:,} rows)")
    for column in ("budget", "attribute", "group", "correct", "attack", "random", "robust acc."):
        table.add_column(column, justify="left" if column in ("attribute", "group") else "right")
    attack = result.attack
    mine, rand = attack[attack["method"] == "attack"], attack[attack["method"] == "random"]
    for a, r in zip(mine.itertuples(index=False), rand.itertuples(index=False), strict=True):
        table.add_row(  # budgets x groups: a few dozen rows
            f"{a.budget:g}",
            str(a.attribute),
            str(a.group),
            f"{a.n_correct:,}",
            f"{a.success_rate:.3f} [{a.success_lower:.3f}, {a.success_upper:.3f}]",
            f"{r.success_rate:.3f} [{r.success_lower:.3f}, {r.success_upper:.3f}]",
            f"{a.robust_accuracy:.3f} [{a.robust_lower:.3f}, {a.robust_upper:.3f}]",
        )
    console.print(table)
    versus = result.versus_random
    overall = versus[versus["attribute"] == "overall"]
    console.print(
        "Attack minus random, paired on the same rows: "
        + "; ".join(  # a few budgets
            f"budget {v.budget:g} {v.gain:+.3f} [{v.lower:+.3f}, {v.upper:+.3f}]"
            for v in overall.itertuples(index=False)
        ),
        markup=False,
    )
    console.print(result.summary)
    _print_findings(result.findings)


def register(app: typer.Typer) -> None:
    """Add ``evaluate``, ``estimate``, ``slices`` and ``evasion`` to the ``raikit`` command."""
    app.command("evaluate")(evaluate_command)
    app.command("estimate")(estimate_command)
    app.command("slices")(slices_command)
    app.command("evasion")(evasion_command)
