"""``raikit privacy ...``: privacy checks from the command line."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from raikit._cli_utils import split_names

app = typer.Typer(help="Privacy checks: does a model leak its training data?", no_args_is_help=True)
console = Console()


@app.command("report")
def report_command(
    train: Path = typer.Option(..., "--train", help="The model's training data (members)."),
    holdout: Path = typer.Option(..., "--holdout", help="Data the model never saw (non-members)."),
    model: Path = typer.Option(..., "--model", help="Fitted model (.skops)."),
    target: str = typer.Option(..., "--target", "-t", help="Column of true labels."),
    sensitive: str = typer.Option(
        ..., "--sensitive", "-s", help="Sensitive columns, comma-separated."
    ),
    features: str | None = typer.Option(
        None, "--features", help="Model inputs, comma-separated (default: the model's own)."
    ),
    attacks: str = typer.Option("threshold,shadow", "--attacks", help="threshold and/or shadow."),
    max_rows: int = typer.Option(20_000, "--max-rows", help="Members (and non-members) attacked."),
    seed: int = typer.Option(0, "--seed", help="Seed of the sampling, shadow model and bootstrap."),
    out: Path = typer.Option(Path("raikit-privacy"), "--out", help="Folder for HTML and JSON."),
    trust: list[str] = typer.Option([], "--trust", help="A type in the .skops file to trust."),
) -> None:
    """Membership-inference attacks on a trained model: AUC, advantage, TPR at low FPR, per group."""
    from raikit import load_model
    from raikit.dataset import Dataset
    from raikit.privacy import membership_inference

    fitted = load_model(model, trusted=list(trust))
    roles = {
        "target": target,
        "sensitive": split_names(sensitive),
        "features": split_names(features) or None,
    }
    members = Dataset(train, name="train", **roles)
    outsiders = Dataset(holdout, name="holdout", **roles)
    with console.status("Attacking the model…"):
        result = membership_inference(
            fitted,
            members,
            outsiders,
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
    from raikit._errors import DataError

    pairs = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise DataError(f"{option} expects NAME=VALUE, got {item!r}.")
        pairs[name.strip()] = value.strip()
    return pairs


def _bounds(items: list[str]) -> dict[str, tuple[float, float]]:
    from raikit._errors import DataError

    bounds = {}
    for name, value in _pairs(items, "--bounds").items():
        low, sep, high = value.partition(":")
        try:
            bounds[name] = (float(low), float(high))
        except ValueError:
            raise DataError(
                f"--bounds {name}={value!r}: expected LOWER:UPPER, e.g. 17:90."
            ) from None
        if not sep:
            raise DataError(f"--bounds {name}={value!r}: expected LOWER:UPPER, e.g. 17:90.")
    return bounds


def _with_domains(frame, items: list[str]):
    """Declare public domains (``col=a|b|c``) as pandas categories."""
    import pandas as pd

    from raikit._errors import ColumnError

    for name, value in _pairs(items, "--domain").items():
        if name not in frame.columns:
            raise ColumnError(f"--domain names column {name!r}, which is not in the data.")
        levels = [level for level in value.split("|") if level]
        if pd.api.types.is_numeric_dtype(frame[name]):
            levels = pd.to_numeric(pd.Series(levels)).tolist()
        frame[name] = pd.Categorical(frame[name], categories=levels)
    return frame


@app.command("query")
def query_command(
    data: Path = typer.Argument(..., help="The private table (CSV or Parquet)."),
    sql: str = typer.Option(..., "--sql", help='e.g. "SELECT sex, COUNT(*) FROM t GROUP BY sex"'),
    epsilon: float = typer.Option(..., "--epsilon", help="Privacy loss of this query."),
    budget: float = typer.Option(..., "--budget", help="Total epsilon budget of this data."),
    bounds: list[str] = typer.Option([], "--bounds", help="Numeric bounds, NAME=LOWER:UPPER."),
    domain: list[str] = typer.Option([], "--domain", help="Public group-by domain, NAME=a|b|c."),
    budget_file: Path | None = typer.Option(None, "--budget-file", help="Odometer SQLite file."),
    out: Path = typer.Option(Path("raikit-privacy"), "--out", help="Folder for HTML and JSON."),
) -> None:
    """Answer an aggregate SQL query with differential privacy, charged to the data's budget."""
    from raikit.dataset import read_table
    from raikit.privacy import PrivateTable

    frame = _with_domains(read_table(data), domain)
    table = PrivateTable(frame, epsilon=budget, bounds=_bounds(bounds), budget_path=budget_file)
    answer = table.sql(sql, epsilon=epsilon)
    console.print(answer.table.to_string(index=False))
    console.print(answer.summary)
    console.print(
        f"Budget: spent {table.spent:.4g} of {table.epsilon:g}, {table.remaining:.4g} left."
    )
    out.mkdir(parents=True, exist_ok=True)
    answer.to_html(out / "query.html", title="Differentially private query")
    answer.to_json(out / "query.json")
    table.odometer.to_csv(out / "odometer.csv", index=False)
    console.print(f"HTML, JSON and odometer written to {out}")


@app.command("synth")
def synth_command(
    data: Path = typer.Argument(..., help="The private table (CSV or Parquet)."),
    target: str = typer.Option(..., "--target", "-t", help="Column of true labels."),
    sensitive: str = typer.Option(
        ..., "--sensitive", "-s", help="Sensitive columns, comma-separated."
    ),
    epsilon: float = typer.Option(..., "--epsilon", help="Privacy loss of the release."),
    features: str | None = typer.Option(None, "--features", help="Columns to synthesise."),
    bounds: list[str] = typer.Option([], "--bounds", help="Numeric bounds, NAME=LOWER:UPPER."),
    domain: list[str] = typer.Option([], "--domain", help="Public domain, NAME=a|b|c."),
    bins: int = typer.Option(10, "--bins", help="Bins per numeric column."),
    test: Path | None = typer.Option(None, "--test", help="Real holdout for train-on-synthetic."),
    seed: int = typer.Option(0, "--seed", help="Seed of the sampling."),
    out: Path = typer.Option(Path("raikit-privacy"), "--out", help="Folder for the outputs."),
) -> None:
    """DP synthetic data (noisy marginals on OpenDP) with a fidelity report per group."""
    from raikit.dataset import Dataset, read_table
    from raikit.privacy import synthesize

    roles = {
        "target": target,
        "sensitive": split_names(sensitive),
        "features": split_names(features) or None,
    }
    ds = Dataset(_with_domains(read_table(data), domain), name=data.stem, **roles)
    holdout = (
        Dataset(_with_domains(read_table(test), domain), name=test.stem, **roles) if test else None
    )
    with console.status("Releasing noisy marginals and sampling…"):
        result = synthesize(
            ds, epsilon=epsilon, bounds=_bounds(bounds), bins=bins, test=holdout, random_state=seed
        )
    console.print(result.summary)
    out.mkdir(parents=True, exist_ok=True)
    result.data.to_csv(out / "synthetic.csv", index=False)
    result.to_html(out / "synth.html", title=f"DP synthetic data: {data.name}")
    result.to_json(out / "synth.json")
    console.print(f"Synthetic CSV, HTML and JSON written to {out}")
