"""Confidential sandbox: data and models encrypted at rest, a signed hash-chained access log,
exports limited by policy to aggregates, and a signed deletion certificate at the end.

Software-level protection on one machine, not a hardware enclave: see ``docs/sandbox.md`` for
what it does and does not protect against.
"""

from raikit.sandbox._certificate import verify_certificate
from raikit.sandbox._common import IntegrityError, PolicyError, SandboxError
from raikit.sandbox._keys import (
    Attestor,
    EnvKey,
    FileKey,
    KeyProvider,
    LocalAttestor,
    generate_key,
)
from raikit.sandbox._log import verify_log
from raikit.sandbox._policy import ExportPolicy
from raikit.sandbox._session import Sandbox, open_sandbox

__all__ = [
    "Attestor",
    "EnvKey",
    "ExportPolicy",
    "FileKey",
    "IntegrityError",
    "KeyProvider",
    "LocalAttestor",
    "PolicyError",
    "Sandbox",
    "SandboxError",
    "generate_key",
    "open_sandbox",
    "verify_certificate",
    "verify_log",
]
