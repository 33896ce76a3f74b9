"""``raikit sandbox ...``: a confidential session from the command line."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from raikit._cli_utils import split_names

app = typer.Typer(
    help="Confidential sandbox: encrypted data, a signed access log, aggregate-only exports and "
    "a signed deletion certificate.",
    no_args_is_help=True,
)
console = Console()

_CHECKS = ("group-metrics", "evaluate")


def _key_option():
    return typer.Option(
        ...,
        "--key",
        "-k",
        help="The data owner's key: a key file (mode 0600, from `raikit sandbox keygen`) or "
        "env:NAME for an environment variable.",
    )


def _signing_option():
    return typer.Option(
        None,
        "--signing-key",
        help="Ed25519 signing key file of the attestor (made on first use; default "
        "~/.raikit/sandbox/signing_key.pem).",
    )


def _public_key(text: str | None) -> bytes | None:
    from raikit.sandbox._common import unb64

    return None if text is None else unb64(text, "--public-key")


def _box(folder: Path, key: str, signing_key: Path | None, actor: str | None = None):
    from raikit.sandbox import Sandbox

    return Sandbox(folder, key=key, attestor=signing_key, actor=actor)


@app.command("keygen")
def keygen_command(
    path: Path = typer.Argument(..., help="The new key file (never overwritten)."),
) -> None:
    """Make a data owner's key file: 32 random bytes, readable by you only (0600)."""
    from raikit.sandbox import generate_key

    console.print(f"Key written to {escape(str(generate_key(path)))} (mode 0600). Keep it safe.")


@app.command("open")
def open_command(
    folder: Path = typer.Argument(..., help="The session's folder (made if missing)."),
    key: str = _key_option(),
    policy: Path | None = typer.Option(
        None, "--policy", help="Export policy (YAML): min_group_size, allow_raw_rows, max_rows, dp."
    ),
    signing_key: Path | None = _signing_option(),
    actor: str | None = typer.Option(None, "--actor", help="Who acts (default: login name)."),
) -> None:
    """Open a new sandbox session (or check that an existing one opens with this key)."""
    from raikit.sandbox import open_sandbox

    box = open_sandbox(folder, key=key, policy=policy, attestor=signing_key, actor=actor)
    console.print(f"Sandbox session {box.session} open in {escape(str(box.folder))}.")
    console.print(f"Policy: {box.policy.to_dict()}")


@app.command("import")
def import_command(
    folder: Path = typer.Argument(..., help="The session's folder."),
    file: Path = typer.Argument(..., help="Data (CSV, Parquet) or model (.skops) file."),
    key: str = _key_option(),
    name: str | None = typer.Option(None, "--name", help="Artifact name (default: file name)."),
    signing_key: Path | None = _signing_option(),
    actor: str | None = typer.Option(None, "--actor", help="Who acts (default: login name)."),
) -> None:
    """Encrypt a file into the sandbox's store (the original is left for you to delete)."""
    box = _box(folder, key, signing_key, actor)
    stored = box.add(file, name=name)
    console.print(f"Imported {escape(stored)} (sha256 {box.artifacts[stored][:16]}…), encrypted.")


@app.command("run")
def run_command(
    folder: Path = typer.Argument(..., help="The session's folder."),
    check: str = typer.Argument(..., help="The check: group-metrics or evaluate."),
    key: str = _key_option(),
    data: str = typer.Option(..., "--data", "-d", help="Imported table (artifact name)."),
    target: str = typer.Option(..., "--target", "-t", help="Column of true labels."),
    sensitive: str = typer.Option(
        ..., "--sensitive", "-s", help="Sensitive columns, comma-separated."
    ),
    model: str | None = typer.Option(None, "--model", "-m", help="Imported .skops model."),
    prediction: str | None = typer.Option(None, "--prediction", help="Column of predictions."),
    score: str | None = typer.Option(None, "--score", help="Column of positive-class scores."),
    n_boot: int = typer.Option(1000, "--n-boot", help="Bootstrap replicates."),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap."),
    name: str = typer.Option(..., "--name", help="Name to keep the (encrypted) result under."),
    signing_key: Path | None = _signing_option(),
    actor: str | None = typer.Option(None, "--actor", help="Who acts (default: login name)."),
) -> None:
    """Run a check inside the sandbox; its result stays encrypted until exported."""
    from raikit._errors import ParameterError
    from raikit.evaluate import evaluate
    from raikit.metrics import group_metrics_of

    if check not in _CHECKS:
        raise ParameterError(f"Unknown check {check!r}; choose one of {', '.join(_CHECKS)}.")
    box = _box(folder, key, signing_key, actor)
    fitted = box.model(model) if model else None
    roles = {"target": target, "sensitive": split_names(sensitive), "score": score}
    if fitted is None:
        roles["prediction"] = prediction
    ds = box.dataset(data, **roles)
    if check == "group-metrics":
        if fitted is not None:
            ds = ds.with_predictions(fitted)
        box.run(group_metrics_of, ds, n_boot=n_boot, random_state=seed, name=name)
    else:
        box.run(evaluate, fitted, ds, n_boot=n_boot, random_state=seed, name=name)
    console.print(
        f"{check} ran on {escape(data)}; its result is kept encrypted as {escape(name)}. "
        f"Export it with `raikit sandbox export {escape(str(folder))} {escape(name)} --key ...`."
    )


@app.command("export")
def export_command(
    folder: Path = typer.Argument(..., help="The session's folder."),
    result: str = typer.Argument(..., help="A result kept by `raikit sandbox run --name`."),
    key: str = _key_option(),
    as_name: str | None = typer.Option(None, "--as", help="Exported file name (default: RESULT)."),
    signing_key: Path | None = _signing_option(),
    actor: str | None = typer.Option(None, "--actor", help="Who acts (default: login name)."),
) -> None:
    """Export a result if the session's policy allows it (refusals say which rule and why)."""
    box = _box(folder, key, signing_key, actor)
    path = box.export(result, name=as_name or result)
    console.print(f"Exported to {escape(str(path))}.")


@app.command("log")
def log_command(
    folder: Path = typer.Argument(..., help="The session's folder."),
    verify: bool = typer.Option(False, "--verify", help="Check the chain and signatures."),
    public_key: str | None = typer.Option(
        None, "--public-key", help="Pin the attestor's public key (base64, as in the log)."
    ),
) -> None:
    """Show the access log; with --verify, exit non-zero if any entry was tampered with."""
    from raikit.sandbox import verify_log

    entries = verify_log(folder, public_key=_public_key(public_key))
    table = Table(title=f"Access log of {escape(str(folder))}")
    for column in ("seq", "time", "actor", "action", "object", "sha256"):
        table.add_column(column)
    for e in entries:
        digest = e["hashes"].get("sha256") or e["hashes"].get("result") or ""
        table.add_row(
            str(e["seq"]),
            e["time"],
            escape(str(e["actor"])),
            e["action"],
            escape(str(e["object"])),
            digest[:16],
        )
    if not verify:
        console.print(table)
    console.print(
        f"Log verified: {len(entries)} entries, head {entries[-1]['hash'][:16]}…, chain and "
        "signatures intact."
        if verify
        else f"{len(entries)} entries (chain intact)."
    )


@app.command("close")
def close_command(
    folder: Path = typer.Argument(..., help="The session's folder."),
    key: str = _key_option(),
    signing_key: Path | None = _signing_option(),
    actor: str | None = typer.Option(None, "--actor", help="Who acts (default: login name)."),
) -> None:
    """Delete the working data, the store and the session key; write the signed certificate."""
    box = _box(folder, key, signing_key, actor)
    certificate = box.close()["certificate"]
    console.print(
        f"Session {certificate['session']} closed: {len(certificate['deleted'])} item(s) "
        f"deleted, {len(certificate['exported'])} export(s). Certificate: "
        f"{escape(str(box.folder / 'certificate.json'))}"
    )


@app.command("verify")
def verify_command(
    certificate: Path = typer.Argument(..., help="certificate.json of a closed session."),
    log: Path | None = typer.Option(
        None, "--log", help="The session's folder (default: the certificate's)."
    ),
    public_key: str | None = typer.Option(
        None, "--public-key", help="Pin the attestor's public key (base64)."
    ),
) -> None:
    """Check a deletion certificate: signature, log chain, and that it states what the log holds."""
    from raikit.sandbox import verify_certificate

    statement = verify_certificate(certificate, log=log, public_key=_public_key(public_key))
    console.print(
        f"Certificate valid: session {statement['session']}, {len(statement['processed'])} "
        f"artifact(s) processed, {len(statement['exported'])} exported, deleted at "
        f"{statement['deleted_at']}, log head {statement['log']['head'][:16]}…"
    )


__all__ = ["app"]
