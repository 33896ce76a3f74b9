"""``raikit train``, ``raikit mitigations`` and ``raikit constraints``: the training stage on the
command line."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from raikit._cli_utils import progress_bar, progress_callback, split_names

__all__ = ["register"]

console = Console()
_METHODS = (
    "fairbatch",
    "frtrain",
    "expgrad",
    "gridsearch",
    "threshold",
    "reweigh",
    "remap",
    "none",
)
_PER_GROUP = ("threshold", "remap")  # post-processing that predicts with the sensitive features


def _progress():
    return progress_bar(console)


def train_command(
    data: Path = typer.Option(..., "--data", "-d", help="Training data (CSV or Parquet)."),
    target: str = typer.Option(..., "--target", "-t", help="Column of true labels (binary)."),
    sensitive: str = typer.Option(
        ..., "--sensitive", "-s", help="Sensitive columns, comma-separated (not used as inputs)."
    ),
    method: str = typer.Option(
        "fairbatch",
        "--method",
        help="fairbatch | frtrain | expgrad | gridsearch | threshold | reweigh | remap | none "
        "(remap also takes a multiclass target).",
    ),
    constraint: str = typer.Option("eqopp", "--constraint", help="eqopp | eqodds | dp"),
    features: str | None = typer.Option(
        None, "--features", help="Model inputs, comma-separated (default: all other columns)."
    ),
    test: Path | None = typer.Option(
        None, "--test", help="Held-out data to evaluate on (default: the training data)."
    ),
    clean: Path | None = typer.Option(
        None,
        "--clean",
        help="Small trusted labelled file for frtrain's robustness discriminator (required).",
    ),
    epochs: str = typer.Option(
        "auto",
        "--epochs",
        help="fairbatch: 'auto' (until the training fairness gap and loss settle) or a number; "
        "frtrain: full-batch steps ('auto': 2000; the paper uses 10000).",
    ),
    learning_rate: float | None = typer.Option(
        None, "--learning-rate", help="Adam's step (default: 1e-3, the estimators' default)."
    ),
    network: str = typer.Option(
        "logistic", "--network", help="Network architecture: logistic | mlp (fairbatch, frtrain)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed: the same seed gives the same model."),
    out: Path = typer.Option(Path("model.skops"), "--out", "-o", help="Model file (.skops)."),
    ledger: Path = typer.Option(
        Path(".raikit"),
        "--ledger",
        help="Record the training here (data, estimator, fingerprint) so that `raikit reproduce "
        "RUN_ID` can refit it.",
    ),
    no_ledger: bool = typer.Option(False, "--no-ledger", help="Do not record the training."),
) -> None:
    """Train a fair model, save it with skops, record the training in a ledger, and write its
    group metrics (HTML and JSON)."""

    from raikit import save_model
    from raikit._errors import ParameterError
    from raikit.dataset import Dataset
    from raikit.train._common import check_constraint

    if method not in _METHODS:
        raise ParameterError(f"--method must be one of {list(_METHODS)}, got {method!r}.")
    check_constraint(constraint)
    if out.suffix != ".skops":
        raise ParameterError(f"--out must be a .skops file, got {str(out)!r}.")
    names = split_names(sensitive)
    ds = Dataset(data, target=target, sensitive=names, features=split_names(features) or None)
    if method != "remap":
        ds.check_binary_target()
    params = {}
    if method == "fairbatch":
        params = {"epochs": _epochs(epochs, auto="auto"), "network": network}
        if learning_rate is not None:
            params["learning_rate"] = learning_rate
    if method == "frtrain":
        fitted = _fit_frtrain(
            ds,
            clean,
            target=target,
            names=names,
            constraint=constraint,
            network=network,
            epochs=epochs,
            learning_rate=learning_rate,
            seed=seed,
        )
    else:
        fitted = _fit_mitigator(
            ds, method, constraint, params=params, seed=seed, ledger=ledger, no_ledger=no_ledger
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    save_model(fitted, out)
    console.print(f"Model written to {out}")

    _evaluate_training(
        fitted,
        ds,
        test=test,
        target=target,
        names=names,
        method=method,
        constraint=constraint,
        seed=seed,
        out=out,
    )


def _fit_frtrain(ds, clean, *, target, names, constraint, network, epochs, learning_rate, seed):
    """Fit FR-Train with the trusted --clean file as its robustness discriminator's data."""
    from raikit._errors import ParameterError
    from raikit.dataset import Dataset
    from raikit.train import FRTrainClassifier
    from raikit.train._compare import frtrain_constraint

    if clean is None:
        raise ParameterError("--method frtrain needs --clean: a small trusted labelled file.")
    clean_ds = Dataset(clean, target=target, sensitive=names, features=ds.feature_names)
    epochs = _epochs(epochs, auto=2000)
    estimator = FRTrainClassifier(
        network=network,
        constraint=frtrain_constraint(constraint),
        epochs=epochs,
        # the authors pre-train 500 of 10,000 epochs: keep that share for any length
        pretrain_epochs=min(500, epochs // 20),
        learning_rate=learning_rate or 1e-3,
        random_state=seed,
    )
    with _progress() as progress:
        task = progress.add_task("FR-Train", total=epochs)
        fitted = estimator.fit(
            ds.X,
            ds.y,
            sensitive_features=ds.sensitive,
            clean_validation=(clean_ds.X, clean_ds.y, clean_ds.sensitive),
            callback=lambda done, total: progress.update(task, completed=done),
        )
    return fitted


def _fit_mitigator(ds, method, constraint, *, params, seed, ledger, no_ledger):
    """Fit a scikit-learn-style mitigator, recorded in the ledger unless it cannot be."""
    from raikit.ledger import Ledger, fit_dataset
    from raikit.ledger import train as recorded_training
    from raikit.train._compare import make_mitigator

    estimator = make_mitigator(method, constraint, random_state=seed, **params)
    # threshold and remap post-processing predict with the sensitive attributes, which a
    # training fingerprint does not see: they are saved but not recorded for `raikit reproduce`.
    record = not no_ledger and method not in _PER_GROUP
    with _progress() as progress:
        if method == "fairbatch":
            # under epochs='auto' the total is the cap until training settles
            task = progress.add_task(f"FairBatch ({constraint})", total=None)

            def report(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            fit_params = {"callback": report}
        else:
            progress.add_task(f"Training ({method}, {constraint})", total=None)
            fit_params = {}
        if record:
            fitted, run = recorded_training(
                estimator,
                ds,
                ledger=Ledger(ledger),
                name=f"train: {method} ({constraint})",
                params={"method": method, "constraint": constraint, **params},
                fit_params=fit_params,
            )
        else:
            fitted = fit_dataset(estimator, ds, **fit_params)
    if record:
        console.print(
            f"Training recorded in {ledger} as run {run.id[:12]}; check it with "
            f"`raikit reproduce {run.id[:12]} --ledger {ledger}`."
        )
    return fitted


def _evaluate_training(fitted, ds, *, test, target, names, method, constraint, seed, out):
    """Group metrics of the fitted model on --test (or the training data), written and shown."""
    import numpy as np

    from raikit.dataset import Dataset
    from raikit.metrics import group_metrics

    evaluation = (
        Dataset(test, target=target, sensitive=names, features=ds.feature_names) if test else ds
    )
    if method in _PER_GROUP:
        pred = fitted.predict(evaluation.X, sensitive_features=evaluation.sensitive)
    else:
        pred = fitted.predict(evaluation.X)
    with console.status("Evaluating with bootstrap intervals…"):
        result = group_metrics(
            np.asarray(evaluation.y),
            np.asarray(pred),
            sensitive_features=evaluation.sensitive,
            metrics=["accuracy", "selection_rate", "true_positive_rate", "false_positive_rate"],
            ci=0.95,
            n_boot=500,
            random_state=seed,
        )
    stem = out.with_suffix("")
    result.to_html(f"{stem}.html", title=f"{method} ({constraint}) on {evaluation.name or 'data'}")
    result.to_json(f"{stem}.json")
    table = Table(title=f"{method} / {constraint} on {'test' if test else 'training'} data")
    table.add_column("metric")
    table.add_column("overall", justify="right")
    table.add_column("largest gap to overall", justify="right")
    gaps = result.difference("to_overall")
    for metric in result.metric_names:
        table.add_row(metric, f"{result.overall[metric]:.3f}", f"{gaps[metric].max():.3f}")
    console.print(table)
    console.print(f"HTML written to {stem}.html\nJSON written to {stem}.json")


def mitigations_command(
    train: Path = typer.Option(..., "--train", help="Training data (CSV or Parquet)."),
    test: Path = typer.Option(..., "--test", help="Held-out data (CSV or Parquet)."),
    target: str = typer.Option(
        ..., "--target", "-t", help="Column of true labels (binary or multiclass) or values."
    ),
    sensitive: str = typer.Option(..., "--sensitive", "-s", help="Sensitive columns."),
    methods: str | None = typer.Option(
        None,
        "--methods",
        help="Comma-separated: none, reweigh, expgrad, gridsearch, threshold, fairbatch, frtrain, "
        "remap (default per task: binary none,reweigh,expgrad,threshold,fairbatch; multiclass "
        "none,reweigh,remap; regression none,expgrad,gridsearch).",
    ),
    features: str | None = typer.Option(
        None, "--features", help="Model inputs, comma-separated (default: all other columns)."
    ),
    task: str = typer.Option(
        "auto", "--task", help="auto | binary | multiclass | regression (auto: from the target)."
    ),
    constraint: str | None = typer.Option(
        None,
        "--constraint",
        help="eqopp | eqodds | dp | bgl (default: eqodds for labels, bgl for regression).",
    ),
    epochs: str = typer.Option(
        "auto", "--epochs", help="Epochs of fairbatch: 'auto' (until it settles) or a number."
    ),
    frtrain_epochs: int = typer.Option(
        2000, "--frtrain-epochs", help="Full-batch epochs of frtrain (the paper uses 10000)."
    ),
    clean: Path | None = typer.Option(
        None,
        "--clean",
        help="Trusted labelled file for frtrain (default: hold out --clean-share of --train).",
    ),
    clean_share: float = typer.Option(
        0.1, "--clean-share", help="Share of --train held out as frtrain's trusted set."
    ),
    seed: int = typer.Option(0, "--seed"),
    out: Path = typer.Option(Path("raikit-mitigations"), "--out", help="Folder for HTML and JSON."),
    pos_label: str | None = typer.Option(
        None,
        "--pos-label",
        help="The positive label (needed unless the labels are 0/1, true/false or -1/1).",
    ),
) -> None:
    """Compare mitigations: performance and disparity with CIs (per group too), training time,
    Pareto chart; for binary, multiclass and regression targets."""
    from raikit.dataset import Dataset
    from raikit.train import compare_mitigations

    names = split_names(sensitive)
    train_ds = Dataset(
        train,
        target=target,
        sensitive=names,
        features=split_names(features) or None,
        name="train",
    )
    test_ds = Dataset(
        test, target=target, sensitive=names, features=train_ds.feature_names, name="test"
    )
    chosen = split_names(methods) or None
    clean_validation = clean_share
    if clean is not None:
        clean_validation = Dataset(
            clean, target=target, sensitive=names, features=train_ds.feature_names, name="clean"
        )
    frtrain_params = {
        "epochs": frtrain_epochs,
        "pretrain_epochs": min(500, frtrain_epochs // 20),
    }
    with _progress() as progress:
        bar = progress.add_task("Training", total=len(chosen) if chosen else None)
        result = compare_mitigations(
            train=train_ds,
            test=test_ds,
            methods=chosen,
            task=task,
            constraint=constraint,
            params={
                "fairbatch": {"epochs": _epochs(epochs, auto="auto")},
                "frtrain": frtrain_params,
            },
            clean_validation=clean_validation,
            random_state=seed,
            pos_label=pos_label,
            progress=progress_callback(progress, bar, prefix="Trained "),
        )
    console.print(f"Task: {result.task} ({result.meta.get('task_source', 'given')})")
    console.print(_mitigations_table(result))
    out.mkdir(parents=True, exist_ok=True)
    result.to_html(out / "mitigations.html", title="Mitigations compared")
    result.to_json(out / "mitigations.json")
    console.print(
        f"HTML written to {out / 'mitigations.html'}\nJSON written to {out / 'mitigations.json'}"
    )


def _mitigations_table(result) -> Table:
    """The comparison as a terminal table: the task's numbers with their intervals."""
    positive = result.meta.get("pos_label")
    label = f"; positive label {positive!r}" if positive is not None else ""
    table = Table(title=f"Mitigations ({result.constraint}{label})")
    columns = (
        ["mean_squared_error", "worst_group_error", "disparity"]
        if result.task == "regression"
        else ["accuracy", "disparity"]
    )
    for column in ("method", *columns, "seconds", "Pareto"):
        table.add_column(column, justify="left" if column == "method" else "right")
    for row in result.table.to_dict("records"):
        table.add_row(
            row["method"],
            *(f"{row[c]:.3f} [{row[c + '_lower']:.3f}, {row[c + '_upper']:.3f}]" for c in columns),
            f"{row['train_seconds']:.1f}",
            "yes" if row["pareto"] else "",
        )
    return table


constraints_app = typer.Typer(
    help="Shape constraints: train a model that keeps them, or verify any saved model.",
    no_args_is_help=True,
)
_ESTIMATORS = ("hgb", "lightgbm", "ebm")


def _shape_option(shape: str):
    return typer.Option(
        None, f"--{shape.replace('_', '-')}", help=f"Columns declared {shape}, comma-separated."
    )


def _declared(file, **shapes) -> dict:
    """The constraints of ``--constraints FILE`` (a problem definition with a
    ``shape_constraints:`` entry, or that mapping alone) and of the per-shape options."""
    from raikit._errors import FileFormatError, ParameterError

    spec = {}
    if file is not None:
        import yaml

        if not file.exists():
            raise FileFormatError(f"--constraints: {str(file)!r} not found.")
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as error:
            raise FileFormatError(f"--constraints: not valid YAML: {error}") from error
        if isinstance(data, dict) and "shape_constraints" in data:
            from raikit.cards import load_problem

            data = load_problem(data).get("shape_constraints") or {}
        if not isinstance(data, dict):
            raise FileFormatError(
                "--constraints must be a YAML mapping of column: shape (or a problem definition "
                "with a shape_constraints: entry)."
            )
        spec.update(data)
    for shape, names in shapes.items():
        for name in split_names(names):
            if name in spec and spec[name] != shape:
                raise ParameterError(
                    f"Column {name!r} is declared both {spec[name]} and {shape}; give it one shape."
                )
            spec[name] = shape
    if not spec:
        raise ParameterError(
            "Declare at least one constraint: --increasing COLS, --decreasing, --concave, "
            "--convex, --must-not-use, or --constraints FILE."
        )
    return spec


@constraints_app.command("verify")
def constraints_verify_command(
    model: Path = typer.Option(..., "--model", "-m", help="Fitted model (.skops)."),
    data: Path = typer.Option(..., "--data", "-d", help="Rows to check (CSV or Parquet)."),
    constraints: Path | None = typer.Option(
        None, "--constraints", help="YAML: column: shape, or a problem definition."
    ),
    increasing: str | None = _shape_option("increasing"),
    decreasing: str | None = _shape_option("decreasing"),
    concave: str | None = _shape_option("concave"),
    convex: str | None = _shape_option("convex"),
    must_not_use: str | None = _shape_option("must_not_use"),
    target: str | None = typer.Option(None, "--target", "-t", help="Column of labels (ignored)."),
    sensitive: str = typer.Option(
        ..., "--sensitive", "-s", help="Sensitive columns (the row sample keeps every group)."
    ),
    max_rows: int = typer.Option(1000, "--max-rows", help="Rows checked (a stratified sample)."),
    pos_label: str | None = typer.Option(None, "--pos-label", help="The class checked."),
    seed: int = typer.Option(0, "--seed", help="Seed of the row sample."),
    out: Path = typer.Option(Path("raikit-constraints"), "--out", help="Folder for HTML/JSON."),
    trust_pickle: bool = typer.Option(
        False, "--trust-pickle", help="Allow a pickle model file you made yourself."
    ),
    trust: list[str] = typer.Option(
        [], "--trust", help="A type in the .skops file to trust (repeatable)."
    ),
) -> None:
    """Verify a saved model against declared shape constraints; exit 1 when one is violated."""
    from raikit._cli_utils import write_result
    from raikit._models import load_model_for_cli
    from raikit.dataset import Dataset
    from raikit.evaluate import verify_constraints

    spec = _declared(
        constraints,
        increasing=increasing,
        decreasing=decreasing,
        concave=concave,
        convex=convex,
        must_not_use=must_not_use,
    )
    fitted = load_model_for_cli(model, trust=trust, trust_pickle=trust_pickle)
    ds = Dataset(data, target=target, sensitive=split_names(sensitive))
    result = verify_constraints(
        fitted, ds, constraints=spec, max_rows=max_rows, pos_label=pos_label, random_state=seed
    )
    table = Table(title=result.summary)
    for column in ("feature", "constraint", "status", "share of rows", "worst example"):
        table.add_column(column)
    for r in result.table.itertuples(index=False):
        share = "" if r.share != r.share else f"{r.share:.1%} [{r.lower:.1%}, {r.upper:.1%}]"
        worst = (
            f"row {r.worst_row}: {r.value_from} -> {r.value_to} gives "
            f"{r.prediction_from:.4f} -> {r.prediction_to:.4f}"
            if r.status == "violated"
            else ""
        )
        table.add_row(r.feature, r.constraint, r.status, share, worst)
    console.print(table)
    write_result(result, out, "constraints", "Shape constraints verified", console)
    if (result.table["status"] == "violated").any():
        raise typer.Exit(1)


@constraints_app.command("fit")
def constraints_fit_command(
    data: Path = typer.Option(..., "--data", "-d", help="Training data (CSV or Parquet)."),
    target: str = typer.Option(..., "--target", "-t", help="Column of true labels."),
    sensitive: str = typer.Option(
        ..., "--sensitive", "-s", help="Sensitive columns, comma-separated (not used as inputs)."
    ),
    features: str | None = typer.Option(
        None, "--features", help="Model inputs, comma-separated (default: all other columns)."
    ),
    estimator: str = typer.Option("hgb", "--estimator", help="hgb | lightgbm | ebm."),
    constraints: Path | None = typer.Option(
        None, "--constraints", help="YAML: column: shape, or a problem definition."
    ),
    increasing: str | None = _shape_option("increasing"),
    decreasing: str | None = _shape_option("decreasing"),
    must_not_use: str | None = _shape_option("must_not_use"),
    seed: int = typer.Option(0, "--seed", help="Seed: the same seed gives the same model."),
    out: Path = typer.Option(Path("model.skops"), "--out", "-o", help="Model file (.skops)."),
) -> None:
    """Train a model that keeps declared shape constraints (HGB, LightGBM or EBM), verify it, save it.

    The mechanism: scikit-learn's monotonic_cst, LightGBM's monotone_constraints, or InterpretML's
    monotonize; must-not-use columns are left out of the inputs.
    """
    from raikit import save_model
    from raikit._errors import ParameterError
    from raikit.dataset import Dataset
    from raikit.evaluate import verify_constraints
    from raikit.train import fit_constrained

    if estimator not in _ESTIMATORS:
        raise ParameterError(f"--estimator must be one of {list(_ESTIMATORS)}, got {estimator!r}.")
    if out.suffix != ".skops":
        raise ParameterError(f"--out must be a .skops file, got {str(out)!r}.")
    spec = _declared(
        constraints, increasing=increasing, decreasing=decreasing, must_not_use=must_not_use
    )
    ds = Dataset(
        data,
        target=target,
        sensitive=split_names(sensitive),
        features=split_names(features) or None,
    )
    fitted = fit_constrained(_estimator(estimator), ds, constraints=spec, random_state=seed)
    result = verify_constraints(fitted, ds, constraints=spec, random_state=seed)
    console.print(result.summary)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_model(fitted, out)
    console.print(f"Model written to {out}")


def _estimator(name: str):
    from raikit._errors import ParameterError

    if name == "hgb":
        from sklearn.ensemble import HistGradientBoostingClassifier

        return HistGradientBoostingClassifier()
    extra = "boosting" if name == "lightgbm" else "glassbox"
    try:
        if name == "lightgbm":
            from lightgbm import LGBMClassifier

            return LGBMClassifier(verbose=-1)
        from interpret.glassbox import ExplainableBoostingClassifier

        return ExplainableBoostingClassifier()
    except ImportError as error:
        raise ParameterError(
            f'--estimator {name} needs an optional package: pip install "raikit[{extra}]" '
            f"({error})."
        ) from error


def register(app: typer.Typer) -> None:
    """Add ``raikit train``, ``raikit mitigations`` and ``raikit constraints`` to the app."""
    app.command("train")(train_command)
    app.command("mitigations")(mitigations_command)
    app.add_typer(constraints_app, name="constraints")


def _epochs(value: str, *, auto: int | str) -> int | str:
    """``--epochs``: 'auto' (the method's own rule, or ``auto`` steps) or a positive number."""
    from raikit._errors import ParameterError

    if value.strip().lower() == "auto":
        return auto
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise ParameterError(f"--epochs must be 'auto' or a positive whole number, got {value!r}.")
    return number
