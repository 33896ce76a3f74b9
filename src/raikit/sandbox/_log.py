"""The append-only, hash-chained and signed access log of a sandbox session.

One JSON object per line. Each entry holds its sequence number, time, actor, action, object,
the content hashes it touched, the hash of the previous entry and its own hash (SHA-256 of its
canonical JSON without ``hash`` and ``signature``), signed by the session's attestor. A separate
signed *head* (``head.json``) names the last entry, so dropping entries from the end is caught too.

Editing, removing, reordering or inserting an entry breaks the chain; an entry forged with a
recomputed chain fails its signature; a whole log rewritten under another key fails against the
public key recorded when the session opened (or the one the verifier pins).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from raikit.sandbox._common import IntegrityError, b64, canonical, now, sha256, unb64
from raikit.sandbox._keys import verify_signature

__all__ = ["append_entry", "genesis", "replace_file", "verify_log"]

LOG_FILE, HEAD_FILE = "log.jsonl", "head.json"


def genesis(session: str) -> str:
    """The ``prev`` of a session's first entry: ties the chain to the session id."""
    return sha256(f"raikit-sandbox-log/v1|{session}".encode())


def _entry_hash(entry: dict) -> str:
    return sha256(canonical({k: v for k, v in entry.items() if k not in ("hash", "signature")}))


def _head_message(session: str, seq: int, head: str) -> bytes:
    return canonical({"head": head, "seq": seq, "session": session})


def _append_line(path: Path, line: bytes) -> None:
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o600)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_file(path: Path, data: bytes) -> None:
    """Replace ``path`` atomically with ``data`` (mode 0600): readers see the old or the new."""
    tmp = path.with_name(path.name + ".tmp")
    if os.path.lexists(tmp):
        os.unlink(tmp)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def append_entry(
    folder: Path,
    *,
    session: str,
    attestor,
    actor: str,
    action: str,
    obj: str = "",
    hashes: dict | None = None,
    detail: dict | None = None,
    prev: str,
    seq: int,
) -> dict:
    """Append one signed entry after ``prev`` (entry ``seq``) and move the signed head to it."""
    entry = {
        "seq": seq,
        "time": now(),
        "session": session,
        "actor": actor,
        "action": action,
        "object": obj,
        "hashes": dict(hashes or {}),
        "detail": dict(detail or {}),
        "prev": prev,
    }
    entry["hash"] = _entry_hash(entry)
    entry["signature"] = b64(attestor.sign(entry["hash"].encode("ascii")))
    _append_line(folder / LOG_FILE, canonical(entry) + b"\n")
    head = {
        "seq": seq,
        "hash": entry["hash"],
        "signature": b64(attestor.sign(_head_message(session, seq, entry["hash"]))),
    }
    replace_file(folder / HEAD_FILE, canonical(head) + b"\n")
    return entry


def _read_entries(path: Path) -> list[dict]:
    try:
        lines = path.read_bytes().splitlines()
    except FileNotFoundError:
        raise IntegrityError(f"Access log {str(path)!r} is missing.") from None
    entries = []
    for number, line in enumerate(lines, start=1):
        try:
            entry = json.loads(line)
        except ValueError:
            raise IntegrityError(
                f"Access log line {number} is not JSON: the log was edited."
            ) from None
        if not isinstance(entry, dict):
            raise IntegrityError(f"Access log line {number} is not an entry: the log was edited.")
        entries.append(entry)
    if not entries:
        raise IntegrityError(f"Access log {str(path)!r} is empty: its entries were removed.")
    return entries


def _check_entry(entry: dict, *, line: int, session: str, prev: str, public_key: bytes) -> None:
    where = f"Access log line {line} ({entry.get('action', '?')!r})"
    if entry.get("seq") != line - 1 or entry.get("session") != session:
        raise IntegrityError(
            f"{where}: expected entry {line - 1} of session {session!r}, found entry "
            f"{entry.get('seq')!r} of {entry.get('session')!r}: entries were removed, reordered, "
            "inserted or copied from another session."
        )
    if entry.get("prev") != prev:
        raise IntegrityError(
            f"{where} does not follow the entry before it (previous-hash mismatch): an entry was "
            "removed, reordered or inserted."
        )
    if _entry_hash(entry) != entry.get("hash"):
        raise IntegrityError(f"{where} was edited: its content does not match its hash.")
    signature = unb64(str(entry.get("signature", "")), f"{where}'s signature")
    verify_signature(
        public_key, entry["hash"].encode("ascii"), signature, what=f"{where}'s signature"
    )


def verify_log(folder, *, public_key: bytes | None = None) -> list[dict]:
    """Check a session's access log end to end and return its entries.

    Parameters
    ----------
    folder : str or Path
        The sandbox folder (holding ``log.jsonl`` and ``head.json``).
    public_key : bytes, optional
        The attestor's raw Ed25519 public key, pinned by the verifier. Default: the key the
        log's first (``open``) entry records; pin it to catch a log rewritten under another key.

    Returns
    -------
    list of dict

    Raises
    ------
    IntegrityError
        The first entry that was edited, removed, reordered, inserted or forged, or a head that
        does not name the last entry (entries dropped from the end).

    See Also
    --------
    raikit.sandbox.verify_certificate : also checks the certificate against the log.
    raikit.sandbox.Sandbox : writes the log.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from raikit.sandbox import generate_key, open_sandbox
    >>> home = pathlib.Path(tempfile.mkdtemp())
    >>> box = open_sandbox(home / "box", key=generate_key(home / "k"), attestor=home / "s.pem")
    >>> [entry["action"] for entry in verify_log(home / "box")]
    ['open']
    >>> log = home / "box" / "log.jsonl"
    >>> _ = log.write_text(log.read_text().replace('"actor":"', '"actor":"x'))
    >>> verify_log(home / "box")
    Traceback (most recent call last):
    ...
    raikit.sandbox._common.IntegrityError: Access log line 1 ('open') was edited: ...
    """
    folder = Path(folder)
    entries = _read_entries(folder / LOG_FILE)
    first = entries[0]
    session = str(first.get("session"))
    recorded = first.get("detail", {}).get("public_key") if first.get("action") == "open" else None
    if recorded is None:
        raise IntegrityError(
            "Access log line 1 is not the session's 'open' entry: the log was cut."
        )
    key = unb64(str(recorded), "The public key in the log's 'open' entry")
    if public_key is not None and key != public_key:
        raise IntegrityError(
            "The access log was signed by another key than the one you pinned: it was rewritten "
            "or belongs to another attestor."
        )
    prev = genesis(session)
    for line, entry in enumerate(entries, start=1):
        _check_entry(entry, line=line, session=session, prev=prev, public_key=key)
        prev = entry["hash"]
    _check_head(folder, session, entries[-1], key)
    return entries


def _check_head(folder: Path, session: str, last: dict, key: bytes) -> None:
    try:
        head = json.loads((folder / HEAD_FILE).read_bytes())
        seq, value, signature = head["seq"], head["hash"], head["signature"]
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        raise IntegrityError(
            f"The log head {str(folder / HEAD_FILE)!r} is missing or damaged."
        ) from None
    verify_signature(
        key,
        _head_message(session, seq, value),
        unb64(str(signature), "The log head's signature"),
        what="The log head's signature",
    )
    if seq != last["seq"] or value != last["hash"]:
        raise IntegrityError(
            f"The signed log head names entry {seq} but the log ends at entry {last['seq']}: "
            "entries were removed from the end (or added without the attestor)."
        )
