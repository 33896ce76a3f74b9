"""``raikit privacy ...``: privacy checks from the command line."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from raikit._cli_utils import command_line_words, split_names

app = typer.Typer(
    help="Privacy: membership-inference tests, DP queries and DP synthetic data on budgeted sources.",
    no_args_is_help=True,
)
console = Console()


@app.command("report")
def report_command(
    train: Path = typer.Option(..., "--train", help="The model's training data (members)."),
    test: Path = typer.Option(
        ..., "--test", "--holdout", help="Data the model never saw (non-members)."
    ),
    model: Path = typer.Option(..., "--model", help="Fitted model (.skops)."),
    target: str = typer.Option(..., "--target", "-t", help="Column of true labels."),
    sensitive: str = typer.Option(
        ..., "--sensitive", "-s", help="Sensitive columns, comma-separated."
    ),
    features: str | None = typer.Option(
        None, "--features", help="Model inputs, comma-separated (default: the model's own)."
    ),
    attacks: str = typer.Option("threshold,shadow", "--attacks", help="threshold and/or shadow."),
    max_rows: int = typer.Option(
        20_000,
        "--max-rows",
        help="Members (and non-members) attacked: a larger side is sampled by group and reweighted.",
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the sampling, shadow model and bootstrap."),
    out: Path = typer.Option(Path("raikit-privacy"), "--out", help="Folder for HTML and JSON."),
    trust: list[str] = typer.Option(
        [], "--trust", help="A type in the .skops file to trust (repeatable)."
    ),
    trust_pickle: bool = typer.Option(
        False, "--trust-pickle", help="Allow a pickle model file you made yourself."
    ),
) -> None:
    """Membership-inference attacks on a trained model: AUC, advantage, TPR at low FPR, per group."""
    from raikit._models import load_model_for_cli
    from raikit.dataset import Dataset
    from raikit.privacy import membership_inference

    fitted = load_model_for_cli(model, trust=trust, trust_pickle=trust_pickle)
    roles = {
        "target": target,
        "sensitive": split_names(sensitive),
        "features": split_names(features) or None,
    }
    members = Dataset(train, name="train", **roles)
    outsiders = Dataset(test, name="test", **roles)
    with console.status("Attacking the model…"):
        result = membership_inference(
            fitted,
            train=members,
            test=outsiders,
            attacks=tuple(split_names(attacks)),
            max_rows=max_rows,
            random_state=seed,
        )
    console.print(result.attacks.round(4).to_string(index=False))
    console.print(result.summary)
    out.mkdir(parents=True, exist_ok=True)
    result.to_html(out / "privacy.html", title=f"Membership inference: {model.name}")
    result.to_json(out / "privacy.json")
    console.print(f"HTML and JSON written to {out}")


def _pairs(items: list[str], option: str) -> dict[str, str]:
    from raikit._errors import ParameterError

    pairs = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ParameterError(f"{option} expects NAME=VALUE, got {item!r}.")
        pairs[name.strip()] = value.strip()
    return pairs


def _bounds(items: list[str]) -> dict[str, tuple[float, float]]:
    from raikit._errors import ParameterError

    bounds = {}
    for name, value in _pairs(items, "--bounds").items():
        low, sep, high = value.partition(":")
        try:
            bounds[name] = (float(low), float(high))
        except ValueError:
            raise ParameterError(
                f"--bounds {name}={value!r}: expected LOWER:UPPER, e.g. 17:90."
            ) from None
        if not sep:
            raise ParameterError(f"--bounds {name}={value!r}: expected LOWER:UPPER, e.g. 17:90.")
    return bounds


def _domains(frame, items: list[str]) -> dict[str, list]:
    """Public domains declared as ``--domain col=a,b,c`` (or ``a|b|c`` when values hold commas).

    Values are typed like the column (numbers for a numeric column); nothing is read off the data.
    """
    import pandas as pd

    from raikit._errors import ColumnError, ParameterError

    domains = {}
    for name, value in _pairs(items, "--domain").items():
        if name not in frame.columns:
            raise ColumnError(f"--domain names column {name!r}, which is not in the data.")
        levels = [level.strip() for level in value.split("|" if "|" in value else ",")]
        levels = [level for level in levels if level]
        if not levels:
            raise ParameterError(f"--domain {name}= lists no values; e.g. --domain {name}=a,b,c.")
        column = frame[name]
        if pd.api.types.is_bool_dtype(column):
            truth = {"true": True, "false": False, "1": True, "0": False}
            if any(level.lower() not in truth for level in levels):
                raise ParameterError(f"--domain {name}: a boolean column's values are true,false.")
            levels = [truth[level.lower()] for level in levels]
        elif pd.api.types.is_numeric_dtype(column):
            try:
                levels = pd.to_numeric(pd.Series(levels)).tolist()
            except ValueError:
                raise ParameterError(
                    f"--domain {name}={value!r}: column {name!r} holds numbers; list numbers."
                ) from None
        domains[name] = levels
    return domains


def _conditions(frame, items: list[str]):
    """``--condition race=Black,sex=Female`` (repeatable) -> a DataFrame of groups (or None).

    Values are typed like their column (numbers for a numeric column, e.g. a 0/1 target).
    """
    import pandas as pd

    from raikit._errors import ColumnError, ParameterError

    groups = []
    for item in items:
        group = {}
        for name, value in _pairs(split_names(item), "--condition").items():
            if name not in frame.columns:
                raise ColumnError(f"--condition names column {name!r}, which is not in the data.")
            if pd.api.types.is_numeric_dtype(frame[name]) and not pd.api.types.is_bool_dtype(
                frame[name]
            ):
                try:
                    value = pd.to_numeric(value)
                except ValueError:
                    raise ParameterError(
                        f"--condition {name}={value!r}: column {name!r} holds numbers."
                    ) from None
            group[name] = value
        groups.append(group)
    if len({tuple(g) for g in groups}) > 1:
        raise ParameterError(
            "Every --condition must name the same columns (e.g. each 'race=...,sex=...')."
        )
    return pd.DataFrame(groups) if groups else None


def _epsilon(value: float, flag: str) -> float:
    from raikit.privacy._source import check_epsilon

    return check_epsilon(value, flag)


@app.command("register")
def register_command(
    name: str = typer.Argument(..., help="Stable name of the data source, e.g. clinic-2024."),
    budget: float = typer.Option(..., "--budget", help="Total epsilon of every release, ever."),
    delta: float = typer.Option(1e-6, "--delta", help="Total delta (approximate-DP releases)."),
    unit: str = typer.Option(
        "row", "--unit", help="Privacy unit: 'row' (a row is a person) or the person-id column."
    ),
    rows_per_unit: int = typer.Option(
        1, "--rows-per-unit", help="With an id column: most rows one person contributes."
    ),
    owner: str | None = typer.Option(None, "--owner", help="Who is responsible for the budget."),
    budget_file: Path | None = typer.Option(
        None, "--budget-file", help="Where the odometer lives (default: the registry)."
    ),
) -> None:
    """Register a data source and its total privacy budget (the owner does this once)."""
    from raikit.privacy._source import PrivacySource, registry_path

    with command_line_words():
        source = PrivacySource.register(
            name,
            epsilon=_epsilon(budget, "--budget"),
            delta=delta,
            privacy_unit=unit,
            rows_per_unit=rows_per_unit,
            owner=owner,
            budget_path=budget_file,
        )
    console.print(
        f"Data source {source.name!r}: budget epsilon={source.epsilon:g}, "
        f"delta={source.delta:g}, unit {source.privacy_unit!r}; spent {source.spent:.4g}. "
        f"Odometer {source.budget_path} (registry {registry_path()})."
    )


@app.command("reset")
def reset_command(
    name: str = typer.Argument(..., help="The registered data source."),
    reason: str = typer.Option(..., "--reason", help="Why the budget changes (stored)."),
    budget: float | None = typer.Option(None, "--budget", help="New total epsilon."),
    delta: float | None = typer.Option(None, "--delta", help="New total delta."),
    budget_file: Path | None = typer.Option(None, "--budget-file", help="Move the odometer here."),
    forget_spent: bool = typer.Option(
        False, "--forget-spent", help="Start the spent total at 0 (the log is kept)."
    ),
) -> None:
    """The owner changes a source's budget size or odometer location, with a logged reason."""
    from raikit.privacy._source import PrivacySource

    with command_line_words():
        source = PrivacySource.open(name).reset(
            reason=reason,
            epsilon=_epsilon(budget, "--budget") if budget is not None else None,
            delta=delta,
            budget_path=budget_file,
            forget_spent=forget_spent,
        )
    console.print(
        f"Data source {source.name!r}: budget epsilon={source.epsilon:g}, spent "
        f"{source.spent:.4g}, odometer {source.budget_path}. Reason logged."
    )


@app.command("budget")
def budget_command(
    name: str = typer.Argument(..., help="The registered data source."),
) -> None:
    """Show a source's budget, what was spent, and its last releases."""
    from raikit.privacy._source import PrivacySource

    with command_line_words():
        source = PrivacySource.open(name)
        odometer = source.odometer
    console.print(odometer.tail(20).to_string(index=False) if len(odometer) else "No releases.")
    console.print(
        f"Data source {source.name!r}: spent {source.spent:.4g} of epsilon={source.epsilon:g}, "
        f"{source.remaining:.4g} left ({len(odometer)} releases, {len(source.resets)} resets)."
    )


@app.command("query")
def query_command(
    data: Path = typer.Argument(..., help="The private table (CSV or Parquet)."),
    source: str = typer.Option(..., "--source", help="The registered data source it comes from."),
    sql: str = typer.Option(..., "--sql", help='e.g. "SELECT sex, COUNT(*) FROM t GROUP BY sex"'),
    epsilon: float = typer.Option(..., "--epsilon", help="Privacy loss of this query."),
    budget: float | None = typer.Option(
        None, "--budget", help="The source's total budget (checked against its registration)."
    ),
    bounds: list[str] = typer.Option([], "--bounds", help="Numeric bounds, NAME=LOWER:UPPER."),
    domain: list[str] = typer.Option(
        [], "--domain", help="Public values of a group-by key, NAME=a,b,c."
    ),
    budget_file: Path | None = typer.Option(
        None, "--budget-file", help="The source's odometer (must be the registered one)."
    ),
    out: Path = typer.Option(Path("raikit-privacy"), "--out", help="Folder for HTML and JSON."),
) -> None:
    """Answer an aggregate SQL query with differential privacy, charged to the source's budget."""
    from raikit.dataset import read_table
    from raikit.privacy import PrivateTable

    with command_line_words():
        epsilon = _epsilon(epsilon, "--epsilon")
        frame = read_table(data)
        table = PrivateTable(
            frame,
            source=source,
            epsilon=_epsilon(budget, "--budget") if budget is not None else None,
            bounds=_bounds(bounds),
            domains=_domains(frame, domain),
            budget_path=budget_file,
        )
        answer = table.sql(sql, epsilon=epsilon)
    console.print(answer.table.to_string(index=False))
    console.print(answer.summary)
    console.print(
        f"Budget of {source!r}: spent {table.spent:.4g} of {table.epsilon:g}, "
        f"{table.remaining:.4g} left."
    )
    out.mkdir(parents=True, exist_ok=True)
    answer.to_html(out / "query.html", title="Differentially private query")
    answer.to_json(out / "query.json")
    table.odometer.to_csv(out / "odometer.csv", index=False)
    console.print(f"HTML, JSON and odometer written to {out}")


@app.command("synth")
def synth_command(
    data: Path = typer.Argument(..., help="The private table (CSV or Parquet)."),
    source: str = typer.Option(..., "--source", help="The registered data source it comes from."),
    target: str = typer.Option(..., "--target", "-t", help="Column of true labels."),
    sensitive: str = typer.Option(
        ..., "--sensitive", "-s", help="Sensitive columns, comma-separated."
    ),
    epsilon: float = typer.Option(..., "--epsilon", help="Privacy loss of the release."),
    features: str | None = typer.Option(None, "--features", help="Columns to synthesise."),
    bounds: list[str] = typer.Option([], "--bounds", help="Numeric bounds, NAME=LOWER:UPPER."),
    domain: list[str] = typer.Option(
        [], "--domain", help="Public values of a non-numeric column, NAME=a,b,c."
    ),
    bins: int = typer.Option(10, "--bins", help="Bins per numeric column."),
    condition: list[str] = typer.Option(
        [],
        "--condition",
        help="Only rows of this group, e.g. 'race=Black,sex=Female' (repeatable: one group "
        "each); columns are sensitive attributes or the target.",
    ),
    n_rows: int | None = typer.Option(
        None, "--n-rows", help="Rows to draw (per --condition group); default the noisy count."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the sampling."),
    out: Path = typer.Option(Path("raikit-privacy"), "--out", help="Folder for the outputs."),
) -> None:
    """DP synthetic data (noisy marginals on OpenDP), charged to the source's budget.

    Everything written (synthetic CSV, HTML, JSON) is computed from the DP release only. With
    --condition, the rows are drawn from the same release for the named groups only.
    """
    from raikit.dataset import Dataset, read_table
    from raikit.privacy import synthesize

    roles = {
        "target": target,
        "sensitive": split_names(sensitive),
        "features": split_names(features) or None,
    }
    with command_line_words():
        epsilon = _epsilon(epsilon, "--epsilon")
        frame = read_table(data)
        domains = _domains(frame, domain)
        ds = Dataset(frame, name=data.stem, **roles)
        with console.status("Releasing noisy marginals and sampling…"):
            result = synthesize(
                ds,
                source=source,
                epsilon=epsilon,
                domains=domains,
                bounds=_bounds(bounds),
                bins=bins,
                n_rows=n_rows,
                condition=_conditions(frame, condition),
                random_state=seed,
            )
    console.print(result.summary)
    out.mkdir(parents=True, exist_ok=True)
    result.data.to_csv(out / "synthetic.csv", index=False)
    result.to_html(out / "synth.html", title=f"DP synthetic data: {data.name}")
    result.to_json(out / "synth.json")
    console.print(f"Synthetic CSV, HTML and JSON written to {out}")
