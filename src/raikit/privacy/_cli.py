"""``raikit privacy ...``: privacy checks from the command line."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

app = typer.Typer(help="Privacy checks: does a model leak its training data?", no_args_is_help=True)
console = Console()


def _names(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


@app.command("report")
def report_command(
    train: Path = typer.Option(..., "--train", help="The model's training data (members)."),
    holdout: Path = typer.Option(..., "--holdout", help="Data the model never saw (non-members)."),
    model: Path = typer.Option(..., "--model", help="Fitted model (.skops)."),
    target: str = typer.Option(..., "--target", "-t", help="Column of true labels."),
    sensitive: str = typer.Option(
        ..., "--sensitive", "-s", help="Sensitive columns, comma-separated."
    ),
    features: str | None = typer.Option(None, "--features", help="Model inputs, comma-separated."),
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
    roles = {"target": target, "sensitive": _names(sensitive), "features": _names(features) or None}
    members = Dataset(train, name="train", **roles)
    outsiders = Dataset(holdout, name="holdout", **roles)
    with console.status("Attacking the model…"):
        result = membership_inference(
            fitted,
            members,
            outsiders,
            attacks=tuple(_names(attacks)),
            max_rows=max_rows,
            random_state=seed,
        )
    console.print(result.attacks.round(4).to_string(index=False))
    console.print(result.summary)
    out.mkdir(parents=True, exist_ok=True)
    result.to_html(out / "privacy.html", title=f"Membership inference: {model.name}")
    result.to_json(out / "privacy.json")
    console.print(f"HTML and JSON written to {out}")
