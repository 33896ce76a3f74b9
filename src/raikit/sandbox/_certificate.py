"""The deletion certificate: a signed statement of what a closed session processed, released and
deleted, tied to the head of its access log."""

from __future__ import annotations

import json
from pathlib import Path

from raikit.sandbox._common import IntegrityError, SandboxError, b64, canonical, unb64
from raikit.sandbox._keys import public_key_text, verify_signature
from raikit.sandbox._log import verify_log

__all__ = ["issue_certificate", "verify_certificate"]

_FORMAT = "raikit-sandbox-certificate/v1"


def _statement(entries: list[dict]) -> dict:
    """What the certificate states, derived from the log alone (so a verifier can recompute it)."""
    opened, closed = entries[0], entries[-1]
    if closed["action"] != "close":
        raise SandboxError("The session is not closed: only a closed session has a certificate.")
    return {
        "format": _FORMAT,
        "session": opened["session"],
        "opened": opened["time"],
        "closed": closed["time"],
        "attestor": opened["detail"]["attestor"],
        "public_key": opened["detail"]["public_key"],
        "policy_sha256": opened["hashes"]["policy"],
        "policy": opened["detail"]["policy"],
        "processed": [
            {"name": e["object"], "sha256": e["hashes"]["sha256"], "bytes": e["hashes"]["bytes"]}
            for e in entries
            if e["action"] == "import"
        ],
        "checks": [
            {"check": e["object"], "result_sha256": e["hashes"]["result"]}
            for e in entries
            if e["action"] == "check"
        ],
        "exported": [
            {"name": e["object"], "sha256": e["hashes"]["sha256"]}
            for e in entries
            if e["action"] == "export"
        ],
        "refused_exports": sum(e["action"] == "export-refused" for e in entries),
        "deleted": closed["detail"]["deleted"],
        "deleted_at": closed["time"],
        "log": {"entries": len(entries), "head": closed["hash"]},
    }


def issue_certificate(entries: list[dict], attestor) -> dict:
    """The signed certificate of a closed session's log ``entries``."""
    statement = _statement(entries)
    if statement["public_key"] != public_key_text(attestor.public_key()):
        raise IntegrityError("The attestor is not the one that signed this session's log.")
    return {"certificate": statement, "signature": b64(attestor.sign(canonical(statement)))}


def verify_certificate(path, *, log=None, public_key: bytes | None = None) -> dict:
    """Check a deletion certificate: its bytes, its signature, the log chain and their match.

    Parameters
    ----------
    path : str or Path
        The ``certificate.json`` a closed session wrote.
    log : str or Path, optional
        The session's folder (holding ``log.jsonl``). Default: the certificate's folder.
    public_key : bytes, optional
        The attestor's raw Ed25519 public key, if the verifier knows it: pins the signer, so a
        certificate and log re-signed as a whole by another key fail too.

    Returns
    -------
    dict
        The certified statement (``processed``, ``exported``, ``deleted``, ``log``, ...).

    Raises
    ------
    IntegrityError
        Any changed byte, a wrong or swapped public key, a broken log, or a certificate that
        does not state what the log records.

    See Also
    --------
    raikit.sandbox.Sandbox.close : issues the certificate.
    raikit.sandbox.verify_log : checks the log alone.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from raikit.sandbox import LocalAttestor, generate_key, open_sandbox, verify_certificate
    >>> home = pathlib.Path(tempfile.mkdtemp())
    >>> box = open_sandbox(home / "box", key=generate_key(home / "k"), attestor=home / "s.pem")
    >>> _ = box.close()
    >>> signer = LocalAttestor(home / "s.pem").public_key()
    >>> statement = verify_certificate(home / "box" / "certificate.json", public_key=signer)
    >>> statement["log"]["entries"], statement["deleted"][-1]["path"]
    (2, 'session.json#wrapped_key')
    >>> verify_certificate("missing-certificate.json")
    Traceback (most recent call last):
    ...
    raikit.sandbox._common.IntegrityError: Certificate 'missing-certificate.json' cannot be read: ...
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
        document = json.loads(raw)
        statement, signature = document["certificate"], document["signature"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IntegrityError(
            f"Certificate {str(path)!r} cannot be read: {type(exc).__name__}. Give the "
            "certificate.json a closed sandbox wrote, unchanged."
        ) from None
    if raw != canonical(document) + b"\n":
        raise IntegrityError(
            f"Certificate {str(path)!r} is not byte for byte as issued (its JSON was re-formatted "
            "or edited)."
        )
    key = unb64(str(statement.get("public_key", "")), "The certificate's public key")
    if public_key is not None and key != public_key:
        raise IntegrityError("The certificate was signed by another key than the one you pinned.")
    verify_signature(
        key,
        canonical(statement),
        unb64(str(signature), "The certificate's signature"),
        what="The certificate's signature",
    )
    entries = verify_log(Path(log) if log is not None else path.parent, public_key=key)
    try:
        expected = _statement(entries)
    except (SandboxError, KeyError) as exc:
        raise IntegrityError(f"The access log does not end with a close: {exc}") from None
    if expected != statement:
        differing = sorted(
            k for k in set(expected) | set(statement) if expected.get(k) != statement.get(k)
        )
        raise IntegrityError(
            f"The certificate does not match the access log (fields {differing} differ): it was "
            "issued for another session or the log was changed after it."
        )
    return statement
