"""What every part of the sandbox shares: its errors, artifact names, hashes and canonical JSON."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import UTC, datetime

from raikit._errors import RaikitError

__all__ = [
    "IntegrityError",
    "PolicyError",
    "SandboxError",
    "canonical",
    "check_name",
    "now",
    "sha256",
]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


class SandboxError(RaikitError, ValueError):
    """The sandbox cannot do what was asked (closed session, unknown artifact, unsafe path).

    The parent of :class:`IntegrityError` and :class:`PolicyError`, so one ``except
    SandboxError`` catches every refusal of the sandbox; it is also a ``ValueError``.

    See Also
    --------
    raikit.sandbox.IntegrityError : something was tampered with or the key is wrong.
    raikit.sandbox.PolicyError : an export the policy refuses.
    raikit.RaikitError : the base of every raikit error.

    Examples
    --------
    An artifact name is one file inside the sandbox, never a path:

    >>> import tempfile, pathlib, pandas as pd
    >>> from raikit.sandbox import SandboxError, generate_key, open_sandbox
    >>> home = pathlib.Path(tempfile.mkdtemp())
    >>> box = open_sandbox(home / "box", key=generate_key(home / "k"), attestor=home / "s.pem")
    >>> try:
    ...     box.add(pd.DataFrame({"age": [30]}), name="../escape.parquet")
    ... except SandboxError as error:
    ...     print(str(error)[:40])
    Unsafe artifact name '../escape.parquet'
    """


class IntegrityError(SandboxError):
    """Something was tampered with or does not match: a ciphertext, the access log, a certificate
    or the key (a wrong key cannot be told apart from a tampered store, by design).

    See Also
    --------
    raikit.sandbox.verify_log : checks the access log and names the first bad entry.
    raikit.sandbox.verify_certificate : checks a deletion certificate.
    raikit.sandbox.SandboxError : its parent.

    Examples
    --------
    Resuming a session with another key than the data owner's:

    >>> import tempfile, pathlib
    >>> from raikit.sandbox import IntegrityError, generate_key, open_sandbox
    >>> home = pathlib.Path(tempfile.mkdtemp())
    >>> _ = open_sandbox(home / "box", key=generate_key(home / "k"), attestor=home / "s.pem")
    >>> try:
    ...     open_sandbox(home / "box", key=generate_key(home / "other"), attestor=home / "s.pem")
    ... except IntegrityError as error:
    ...     print("does not decrypt" in str(error))
    True
    """


class PolicyError(SandboxError):
    """An export was refused by the session's policy; the message names the rule and the fix.

    The refusal is written to the access log (``export-refused``) before it is raised.

    See Also
    --------
    raikit.sandbox.ExportPolicy : the rules.
    raikit.sandbox.Sandbox.export : where exports are checked.

    Examples
    --------
    >>> import pandas as pd
    >>> from raikit.sandbox import ExportPolicy, PolicyError
    >>> try:
    ...     ExportPolicy().check(pd.DataFrame({"age": [31, 45]}))
    ... except PolicyError as error:
    ...     print(str(error)[:40])
    Export refused by rule 'no raw rows': a
    """


def check_name(name, what: str = "artifact name") -> str:
    """An artifact name that is safe as one file name: no folders, no ``..``, no hidden files.

    Examples
    --------
    >>> check_name("adult.csv")
    'adult.csv'
    >>> check_name("../etc/passwd")
    Traceback (most recent call last):
    ...
    raikit.sandbox._common.SandboxError: Unsafe artifact name '../etc/passwd': ...
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name) or ".." in name:
        raise SandboxError(
            f"Unsafe {what} {name!r}: use 1 to 128 letters, digits, '.', '_' or '-', starting with "
            "a letter or digit and without '..' (a name is one file inside the sandbox, never a "
            "path)."
        )
    return name


def sha256(data: bytes) -> str:
    """The hex SHA-256 of ``data``.

    Examples
    --------
    >>> sha256(b"")[:16]
    'e3b0c44298fc1c14'
    """
    return hashlib.sha256(data).hexdigest()


def canonical(value) -> bytes:
    """The one byte form of a JSON value that is hashed and signed: sorted keys, no spaces, UTF-8.

    Examples
    --------
    >>> canonical({"b": 1, "a": [1, 2]})
    b'{"a":[1,2],"b":1}'
    """
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def b64(data: bytes) -> str:
    """URL-safe base64 text of ``data``."""
    return base64.urlsafe_b64encode(data).decode("ascii")


def unb64(text: str, what: str) -> bytes:
    """Bytes of URL-safe base64 ``text``; an :class:`IntegrityError` naming ``what`` if it is not."""
    try:
        return base64.urlsafe_b64decode(text.encode("ascii"))
    except (ValueError, AttributeError, UnicodeEncodeError):
        raise IntegrityError(f"{what} is not valid base64 text.") from None


def now() -> str:
    """The current UTC time in ISO 8601 with microseconds."""
    return datetime.now(UTC).isoformat(timespec="microseconds")
