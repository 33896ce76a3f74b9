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
    """The sandbox cannot do what was asked (closed session, unknown artifact, unsafe path)."""


class IntegrityError(SandboxError):
    """Something was tampered with or does not match: a ciphertext, the access log, a certificate
    or the key (a wrong key cannot be told apart from a tampered store, by design)."""


class PolicyError(SandboxError):
    """An export was refused by the session's policy; the message names the rule and the fix."""


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
