"""``raikit federated simulate``: federated training and federated fairness on one machine."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from raikit._cli_utils import split_names

app = typer.Typer(
    help="Federated learning on Flower's simulation engine, and fairness from clients' counts.",
    no_args_is_help=True,
)
console = Console()

METHODS = ("fedavg", "fedprox", "fair")


def _load(data: str, target, sensitive):
    from raikit.dataset import Dataset
    from raikit.datasets import list_datasets, load_by_name

    if data in set(list_datasets()["name"]):
        return load_by_name(data, **({"split": "train"} if data == "adult" else {}))
    if target is None or sensitive is None:
        raise typer.BadParameter(
            f"{data!r} is not a bundled data set; a file needs --target and --sensitive."
        )
    return Dataset(Path(data), target=target, sensitive=split_names(sensitive))


def _partition(ds, partition_by: str, clients: int | None, concentration: float, seed: int):
    from raikit.federated import partition

    if partition_by == "label":
        return partition(ds, n_clients=clients or 5, concentration=concentration, random_state=seed)
    if partition_by == "random":
        return partition(ds, n_clients=clients or 5, random_state=seed)
    return partition(ds, by=partition_by)


@app.command("simulate")
def simulate_command(
    data: str = typer.Option("adult", "--data", help="A bundled data set or a CSV/Parquet file."),
    target: str | None = typer.Option(None, "--target", "-t", help="Label column (files)."),
    sensitive: str | None = typer.Option(
        None, "--sensitive", "-s", help="Sensitive columns, comma-separated (files)."
    ),
    partition_by: str = typer.Option(
        "label",
        "--partition-by",
        help="A column (one client per value), 'label' (Dirichlet split of the label, see "
        "--concentration) or 'random' (IID).",
    ),
    clients: int | None = typer.Option(
        None, "--clients", help="Clients for 'label' or 'random' (default 5)."
    ),
    concentration: float = typer.Option(
        0.5, "--concentration", help="Dirichlet concentration for 'label'."
    ),
    rounds: int = typer.Option(10, "--rounds", help="Federated rounds."),
    method: str = typer.Option(
        "fedavg", "--method", help="fedavg, fedprox or fair (FedAvg with eqopp reweighting)."
    ),
    network: str = typer.Option(
        "logistic", "--network", help="logistic, mlp (torch) or sgd (scikit-learn)."
    ),
    noise_multiplier: float | None = typer.Option(
        None, "--noise-multiplier", help="Client-level DP training (epsilon is reported)."
    ),
    max_rows: int | None = typer.Option(
        None, "--max-rows", help="Use a random sample of this many rows (faster)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the split, the weights and the bootstrap."),
    json_out: Path | None = typer.Option(None, "--json", help="Write the evaluation as JSON."),
) -> None:
    """Train with Flower on simulated clients, then evaluate fairness from their counts."""
    from raikit._cli_utils import progress_bar
    from raikit._errors import ParameterError
    from raikit.federated import federated_group_metrics, federated_train

    if method not in METHODS:
        raise ParameterError(f"--method must be one of {list(METHODS)}, got {method!r}.")
    ds = _load(data, target, sensitive)
    if max_rows is not None and max_rows < ds.n_rows:
        import numpy as np

        rows = np.random.default_rng(seed).choice(ds.n_rows, max_rows, replace=False)
        ds = ds.subset(np.sort(rows))
    parts = _partition(ds, partition_by, clients, concentration, seed)
    console.print(
        f"{parts.n_clients} clients ({partition_by}), sizes {parts.sizes().tolist()}; method "
        f"{method}, {rounds} rounds."
    )
    with progress_bar(console, transient=False) as bar:
        task = bar.add_task("Federated rounds", total=rounds)
        model = federated_train(
            parts,
            strategy="fedprox" if method == "fedprox" else "fedavg",
            fairness="eqopp" if method == "fair" else None,
            network=network,
            rounds=rounds,
            noise_multiplier=noise_multiplier,
            random_state=seed,
            progress=lambda done, total: bar.update(task, completed=done),
        )
    _print_history(model)
    result = federated_group_metrics(model, parts, random_state=seed, n_boot=500)
    _print_clients(result)
    console.print(result.summary)
    if json_out is not None:
        Path(json_out).write_text(result.to_json(), "utf-8")
        console.print(f"JSON written to {json_out}")


def _print_history(model) -> None:
    table = Table(title="Rounds (the global model each client received)")
    history = model.history_
    for column in history.columns:
        table.add_column(str(column), justify="right")
    for row in history.itertuples(index=False):
        table.add_row(*[f"{v:.4f}" if isinstance(v, float) else str(v) for v in row])
    console.print(table)
    if model.privacy_:
        p = model.privacy_
        console.print(
            f"Client-level DP: epsilon={p['epsilon']:.3g} at delta={p['delta']:g} "
            f"({p['accountant']}; noise multiplier {p['noise_multiplier']:g}, clip "
            f"{p['clipping_norm']:g})."
        )


def _print_clients(result) -> None:
    table = Table(title="Per client, from the clients' counts (their own rows)")
    for column in ("client", "rows", "accuracy", "true positive rate"):
        table.add_column(column, justify="right")
    wide = result.clients.pivot(index="client", columns="metric", values="value")
    lower = result.clients.pivot(index="client", columns="metric", values="lower")
    upper = result.clients.pivot(index="client", columns="metric", values="upper")
    rows = result.clients.groupby("client")["rows"].first()
    for client in wide.index:
        cells = [
            f"{wide.loc[client, m]:.3f} [{lower.loc[client, m]:.3f}, {upper.loc[client, m]:.3f}]"
            for m in ("accuracy", "true_positive_rate")
        ]
        table.add_row(str(client), str(rows[client]), *cells)
    console.print(table)


def register(root: typer.Typer) -> None:
    """Add ``federated`` to the ``raikit`` command."""
    root.add_typer(app, name="federated")
