"""Keys and signatures: who holds the data key (a :class:`KeyProvider`) and who signs (an
:class:`Attestor`), plus the one authenticated cipher of the sandbox (AES-256-GCM).

Both are small protocols so that a key service in a trusted execution environment (TEE) or a
cloud KMS can take the place of the local implementations: the sandbox only ever asks a provider
to *wrap* and *unwrap* the session's data key, and an attestor to *sign* bytes and show its
public key.
"""

from __future__ import annotations

import os
import stat
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Protocol, runtime_checkable

from raikit._errors import RaikitError
from raikit.sandbox._common import IntegrityError, SandboxError, b64, unb64

__all__ = [
    "Attestor",
    "EnvKey",
    "FileKey",
    "KeyProvider",
    "LocalAttestor",
    "generate_key",
    "verify_signature",
]

NONCE_BYTES = 12  # 96-bit random nonces, as NIST SP 800-38D recommends for GCM
KEY_BYTES = 32  # AES-256


def _crypto():
    try:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RaikitError(
            'The confidential sandbox needs the cryptography package: pip install "raikit[sandbox]".'
        ) from exc
    return AESGCM


def encrypt(key: bytes, plaintext: bytes, *, context: bytes) -> bytes:
    """``nonce || ciphertext || tag`` of ``plaintext`` under ``key``, bound to ``context``.

    ``context`` is authenticated but not encrypted (GCM's associated data): a ciphertext moved to
    another name or session no longer decrypts.
    """
    nonce = os.urandom(NONCE_BYTES)
    return nonce + _crypto()(key).encrypt(nonce, plaintext, context)


def decrypt(key: bytes, blob: bytes, *, context: bytes, what: str) -> bytes:
    """The plaintext of :func:`encrypt`'s ``blob``; an :class:`IntegrityError` naming ``what`` when
    the key is wrong, the bytes were changed or the context does not match."""
    from cryptography.exceptions import InvalidTag

    if len(blob) < NONCE_BYTES + 16:
        raise IntegrityError(
            f"{what} is truncated ({len(blob)} bytes): it was damaged or replaced."
        )
    try:
        return _crypto()(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], context)
    except InvalidTag:
        raise IntegrityError(
            f"{what} does not decrypt: the key is not the one the sandbox was opened with, or the "
            "encrypted bytes were changed or moved. Use the data owner's key; if it is the right "
            "key, the store was tampered with."
        ) from None


@runtime_checkable
class KeyProvider(Protocol):
    """Holds the data owner's key-encryption key and wraps the session's data keys with it.

    The sandbox never sees the owner's key: it asks :meth:`wrap` to protect a fresh random data
    key when a session opens and :meth:`unwrap` to recover it while the session runs. A provider
    backed by a TEE or a KMS implements the same two methods and a ``key_id``.

    See Also
    --------
    raikit.sandbox.FileKey : the key in a file only its owner can read.
    raikit.sandbox.EnvKey : the key in an environment variable.
    raikit.sandbox.open_sandbox : takes a provider as ``key=``.

    Examples
    --------
    >>> from raikit.sandbox import EnvKey, KeyProvider
    >>> isinstance(EnvKey("RAIKIT_SANDBOX_KEY"), KeyProvider)
    True
    """

    @property
    def key_id(self) -> str:
        """Where the key lives, e.g. ``"file:/home/owner/sandbox.key"`` (never the key itself)."""
        ...

    def wrap(self, data_key: bytes, *, context: bytes) -> bytes:
        """``data_key`` encrypted under the owner's key, bound to ``context``."""
        ...

    def unwrap(self, blob: bytes, *, context: bytes) -> bytes:
        """The data key :meth:`wrap` protected; an :class:`IntegrityError` for a wrong key."""
        ...


class _LocalKey(ABC):
    """Wrap and unwrap with AES-256-GCM under a key read when needed (never kept)."""

    @abstractmethod
    def _key(self) -> bytes:
        """The owner's key, read from where it lives (each subclass knows where)."""

    def wrap(self, data_key: bytes, *, context: bytes) -> bytes:
        return encrypt(self._key(), data_key, context=context)

    def unwrap(self, blob: bytes, *, context: bytes) -> bytes:
        return decrypt(self._key(), blob, context=context, what=f"The data key ({self.key_id})")


def _parse_key(text: bytes, where: str) -> bytes:
    key = unb64(text.strip().decode("ascii", "replace"), where)
    if len(key) != KEY_BYTES:
        raise SandboxError(
            f"{where} does not hold a {KEY_BYTES}-byte key (found {len(key)} bytes); make one "
            "with raikit.sandbox.generate_key(path) or `raikit sandbox keygen PATH`."
        )
    return key


class FileKey(_LocalKey):
    """The data owner's key in a file only its owner can read (permissions 0600).

    Parameters
    ----------
    path : str or Path
        A file made by :func:`generate_key`: 32 random bytes as URL-safe base64 text.

    Raises
    ------
    SandboxError
        When the key is used: the file is missing, a symbolic link, readable by the group or
        others (``chmod 600 PATH``), or does not hold a 32-byte key.

    See Also
    --------
    raikit.sandbox.generate_key : writes such a file.
    raikit.sandbox.EnvKey : the key in an environment variable instead.
    raikit.sandbox.KeyProvider : the protocol a key service implements.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from raikit.sandbox import FileKey, generate_key
    >>> path = generate_key(pathlib.Path(tempfile.mkdtemp()) / "owner.key")
    >>> FileKey(path).key_id.startswith("file:")
    True
    """

    def __init__(self, path) -> None:
        self.path = Path(path).expanduser().absolute()

    @property
    def key_id(self) -> str:
        return f"file:{self.path}"

    def _key(self) -> bytes:
        where = f"Key file {str(self.path)!r}"
        try:
            info = os.lstat(self.path)
        except FileNotFoundError:
            raise SandboxError(
                f"{where} does not exist; make one with `raikit sandbox keygen PATH`."
            ) from None
        if stat.S_ISLNK(info.st_mode) or not stat.S_ISREG(info.st_mode):
            raise SandboxError(f"{where} is not a regular file (a link?); give the file itself.")
        if info.st_mode & 0o077:
            raise SandboxError(
                f"{where} can be read by others (mode {stat.S_IMODE(info.st_mode):o}); restrict "
                f"it with `chmod 600 {self.path}`."
            )
        return _parse_key(self.path.read_bytes(), where)

    def __repr__(self) -> str:
        return f"FileKey({str(self.path)!r})"


class EnvKey(_LocalKey):
    """The data owner's key in an environment variable (URL-safe base64 of 32 bytes).

    Parameters
    ----------
    name : str, default "RAIKIT_SANDBOX_KEY"
        The variable's name.

    Raises
    ------
    SandboxError
        When the key is used: the variable is not set or does not hold a 32-byte key.

    See Also
    --------
    raikit.sandbox.FileKey : the key in a file instead.
    raikit.sandbox.KeyProvider : the protocol a key service implements.

    Examples
    --------
    >>> from raikit.sandbox import EnvKey
    >>> EnvKey().key_id
    'env:RAIKIT_SANDBOX_KEY'

    ``open_sandbox(folder, key="env:RAIKIT_SANDBOX_KEY")`` makes one from its ``key=``.
    """

    def __init__(self, name: str = "RAIKIT_SANDBOX_KEY") -> None:
        self.name = name

    @property
    def key_id(self) -> str:
        return f"env:{self.name}"

    def _key(self) -> bytes:
        value = os.environ.get(self.name)
        if not value:
            raise SandboxError(
                f"Environment variable {self.name} is not set; set it to the data owner's key "
                "(URL-safe base64 of 32 random bytes, e.g. the content of a generate_key() file)."
            )
        return _parse_key(value.encode("ascii", "replace"), f"Environment variable {self.name}")

    def __repr__(self) -> str:
        return f"EnvKey({self.name!r})"


def _write_private(path: Path, data: bytes) -> None:
    """Create ``path`` with mode 0600, refusing to overwrite or to follow a link."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise SandboxError(
            f"{str(path)!r} already exists; a key file is never overwritten. Choose another path."
        ) from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def generate_key(path) -> Path:
    """Write a new random 256-bit key to ``path`` (mode 0600) for :class:`FileKey`.

    Parameters
    ----------
    path : str or Path
        A file that does not exist yet.

    Returns
    -------
    Path

    Raises
    ------
    SandboxError
        The file already exists (a key file is never overwritten).

    See Also
    --------
    raikit.sandbox.FileKey : reads the key from the file.
    raikit.sandbox.open_sandbox : opens a session with it.

    Examples
    --------
    >>> import tempfile, pathlib, stat
    >>> from raikit.sandbox import generate_key
    >>> path = generate_key(pathlib.Path(tempfile.mkdtemp()) / "owner.key")
    >>> oct(stat.S_IMODE(path.stat().st_mode))
    '0o600'
    """
    path = Path(path).expanduser()
    _write_private(path, b64(os.urandom(KEY_BYTES)).encode("ascii") + b"\n")
    return path


@runtime_checkable
class Attestor(Protocol):
    """Signs the access log and the deletion certificate, and shows the key that verifies them.

    A TEE-backed attestor would sign inside the enclave with a key bound to its attestation
    report; the local one (:class:`LocalAttestor`) signs with an Ed25519 key in a file.

    See Also
    --------
    raikit.sandbox.LocalAttestor : the local implementation.
    raikit.sandbox.verify_log : checks the signatures it made on the log.
    raikit.sandbox.verify_certificate : checks the certificate it signed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from raikit.sandbox import Attestor, LocalAttestor
    >>> isinstance(LocalAttestor(pathlib.Path(tempfile.mkdtemp()) / "sign.pem"), Attestor)
    True
    """

    @property
    def kind(self) -> str:
        """What signs, e.g. ``"local-ed25519"``."""
        ...

    def public_key(self) -> bytes:
        """The raw 32-byte Ed25519 public key."""
        ...

    def sign(self, message: bytes) -> bytes:
        """The Ed25519 signature of ``message``."""
        ...


class LocalAttestor:
    """An Ed25519 signing key in a file (PEM, mode 0600), made on first use.

    Parameters
    ----------
    path : str or Path, optional
        The private key file. Default: ``~/.raikit/sandbox/signing_key.pem``.

    Raises
    ------
    SandboxError
        When it signs: the key file is a link, readable by others, or not an Ed25519 PEM key.

    See Also
    --------
    raikit.sandbox.Attestor : the protocol a TEE-backed signer implements.
    raikit.sandbox.verify_certificate : checks what it signed, given its public key.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from raikit.sandbox import LocalAttestor
    >>> attestor = LocalAttestor(pathlib.Path(tempfile.mkdtemp()) / "sign.pem")
    >>> len(attestor.sign(b"closed")), len(attestor.public_key())
    (64, 32)
    >>> oct(attestor.path.stat().st_mode & 0o777)  # made on first use, owner-only
    '0o600'
    """

    kind = "local-ed25519"

    def __init__(self, path=None) -> None:
        self.path = Path(path or Path.home() / ".raikit" / "sandbox" / "signing_key.pem")
        self.path = self.path.expanduser().absolute()

    def _private(self):
        _crypto()  # a clear error naming the extra when cryptography is missing
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        if not os.path.lexists(self.path):
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            key = Ed25519PrivateKey.generate()
            _write_private(
                self.path,
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                ),
            )
            return key
        info = os.lstat(self.path)
        if stat.S_ISLNK(info.st_mode) or info.st_mode & 0o077:
            raise SandboxError(
                f"Signing key {str(self.path)!r} is a link or readable by others; keep it a plain "
                f"file with `chmod 600 {self.path}`."
            )
        try:
            key = serialization.load_pem_private_key(self.path.read_bytes(), password=None)
        except ValueError as exc:
            raise SandboxError(f"Signing key {str(self.path)!r} is not a PEM key: {exc}") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise SandboxError(f"Signing key {str(self.path)!r} is not an Ed25519 key.")
        return key

    def public_key(self) -> bytes:
        from cryptography.hazmat.primitives import serialization

        return (
            self._private()
            .public_key()
            .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        )

    def sign(self, message: bytes) -> bytes:
        return self._private().sign(message)

    def __repr__(self) -> str:
        return f"LocalAttestor({str(self.path)!r})"


def verify_signature(public_key: bytes, message: bytes, signature: bytes, *, what="The signature"):
    """Check an Ed25519 signature; an :class:`IntegrityError` naming ``what`` if it is wrong.

    Examples
    --------
    >>> verify_signature(b"0" * 32, b"m", b"0" * 64, what="The certificate's signature")
    Traceback (most recent call last):
    ...
    raikit.sandbox._common.IntegrityError: The certificate's signature does not verify: ...
    """
    _crypto()
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        raise IntegrityError(
            f"{what} does not verify: the signed bytes were changed, or the public key is not the "
            "one that signed them."
        ) from None


def public_key_text(public_key: bytes) -> str:
    """The text form of a public key in logs and certificates (URL-safe base64)."""
    return b64(public_key)
