"""A confidential sandbox session: an encrypted store, a working folder, the access log, the
export policy, and the deletion certificate issued when the session closes."""

from __future__ import annotations

import getpass
import io
import json
import os
import shutil
import stat
import uuid
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from raikit._errors import ParameterError
from raikit._recording import outermost
from raikit._result import Result, result_from_dict
from raikit.sandbox._common import (
    IntegrityError,
    PolicyError,
    SandboxError,
    b64,
    canonical,
    check_name,
    now,
    sha256,
    unb64,
)
from raikit.sandbox._keys import (
    KEY_BYTES,
    EnvKey,
    FileKey,
    KeyProvider,
    LocalAttestor,
    decrypt,
    encrypt,
    public_key_text,
)
from raikit.sandbox._log import HEAD_FILE, append_entry, genesis, replace_file, verify_log
from raikit.sandbox._policy import ExportPolicy

__all__ = ["Sandbox", "open_sandbox"]

SESSION_FILE, CERTIFICATE_FILE = "session.json", "certificate.json"
STORE, WORK, EXPORTS = "store", "work", "exports"
_FORMAT = "raikit-sandbox/v1"
_RESULT_SUFFIX = ".result.json"


def key_provider(key) -> KeyProvider:
    """A :class:`KeyProvider` from a provider, ``"env:NAME"`` or a key file's path."""
    if isinstance(key, KeyProvider):
        return key
    if isinstance(key, str) and key.startswith("env:"):
        return EnvKey(key[4:])
    if isinstance(key, (str, os.PathLike)):
        return FileKey(key)
    raise ParameterError(
        "open_sandbox(): key must be a key file's path, 'env:NAME' or a KeyProvider; got "
        f"{type(key).__name__}."
    )


def _plain_folder(path: Path, what: str, *, create: bool) -> Path:
    """``path`` as a real folder of this user (never a link), made with mode 0700 if asked."""
    if create and not os.path.lexists(path):
        path.mkdir(mode=0o700)
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise SandboxError(
            f"The sandbox's {what} {str(path)!r} is not a plain folder (a symbolic link?): "
            "refusing to read or write through it. Remove it and open the sandbox again."
        )
    return path


def _write_new(path: Path, data: bytes) -> None:
    """Write a new file (mode 0600) without following a link or replacing a file."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        kind = "a symbolic link" if os.path.islink(path) else "a file"
        raise SandboxError(
            f"{str(path)!r} already exists as {kind}; the sandbox never writes through or over "
            "it. Remove it, or choose another name."
        ) from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


class Sandbox:
    """A confidential session over data and models encrypted at rest.

    Made by :func:`open_sandbox` (which opens a new session or resumes one). Artifacts are kept
    AES-256-GCM encrypted in ``store/`` under a random data key that only the data owner's
    :class:`KeyProvider` can unwrap; decrypted copies exist only in ``work/``, which
    :meth:`close` removes. Every import, read, check and export is appended to the signed,
    hash-chained access log, and every export passes the :class:`ExportPolicy`.

    Parameters
    ----------
    folder : str or Path
        A folder that holds a session (:func:`open_sandbox` makes one).
    key : KeyProvider, str or Path
        The data owner's key, as for :func:`open_sandbox`.
    attestor : Attestor, str or Path, optional
        The session's signer, as for :func:`open_sandbox`; it must be the one that signed the
        log.
    actor : str, optional
        Who acts, as written in the log (default: the login name).

    Attributes
    ----------
    folder : Path
        The session's folder.
    session : str
        The session's id.
    policy : ExportPolicy
        The rules exports must pass (fixed when the session opened).
    entries : list of dict
        The access log's entries, verified.
    closed : bool
        Whether the session was closed (its data and key deleted).

    Raises
    ------
    SandboxError
        The folder is a link or holds no session.
    IntegrityError
        The log or the session file was changed, or the attestor is not the session's.

    See Also
    --------
    raikit.sandbox.open_sandbox : opens or resumes a session (use it rather than the class).
    raikit.sandbox.ExportPolicy : the rules exports pass.
    raikit.sandbox.verify_certificate : checks the certificate :meth:`close` issues.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from raikit.datasets import load_german_credit
    >>> from raikit.metrics import group_metrics_of
    >>> from raikit.sandbox import generate_key, open_sandbox, verify_certificate
    >>> home = pathlib.Path(tempfile.mkdtemp())
    >>> key = generate_key(home / "owner.key")
    >>> frame = load_german_credit(as_frame=True)
    >>> frame["prediction"] = (frame["duration_months"] < 24).astype(int)
    >>> frame.to_csv(home / "credit.csv", index=False)
    >>> sandbox = open_sandbox(home / "box", key=key, policy={"min_group_size": 20},
    ...                        attestor=home / "sign.pem")
    >>> sandbox.add(home / "credit.csv")
    'credit.csv'
    >>> data = sandbox.dataset("credit.csv", target="credit", sensitive=["sex"],
    ...                        prediction="prediction")
    >>> result = sandbox.run(group_metrics_of, data, n_boot=20, random_state=0)
    >>> exported = sandbox.export(result, name="credit_metrics")
    >>> certificate = sandbox.close()
    >>> (home / "box" / "work").exists()
    False
    >>> verify_certificate(home / "box" / "certificate.json")["exported"][0]["name"]
    'credit_metrics.json'
    """

    def __init__(self, folder, *, key, attestor=None, actor: str | None = None) -> None:
        self.folder = _plain_folder(Path(folder).absolute(), "folder", create=False)
        self._provider = key_provider(key)
        self._attestor = _attestor(attestor)
        self.actor = actor or getpass.getuser()
        self._data_key: bytearray | None = None
        self._load()

    # ----------------------------------------------------------------- state
    def _load(self) -> None:
        path = self.folder / SESSION_FILE
        if os.path.islink(path) or not path.is_file():
            raise SandboxError(
                f"{str(self.folder)!r} holds no sandbox session; open one with "
                "open_sandbox(folder, key=...)."
            )
        raw = path.read_bytes()
        try:
            info = json.loads(raw)
        except ValueError:
            raise IntegrityError(f"{str(path)!r} is not JSON: it was damaged.") from None
        self.entries = verify_log(self.folder, public_key=self._attestor.public_key())
        expected = [
            e["hashes"]["session.json"] for e in self.entries if "session.json" in e["hashes"]
        ]
        self.session, self._info = info["session"], info
        self.closed = any(e["action"] == "close" for e in self.entries)
        # a close interrupted after the wrapped key was deleted: only close() may run again
        interrupted = not self.closed and "wrapped_key" not in info
        keyless = self.entries[0]["hashes"].get("session.json#without_key")
        if expected[-1] != sha256(raw) and not (interrupted and keyless == sha256(raw)):
            raise IntegrityError(
                f"{str(path)!r} was changed after the session opened (its hash is not the one the "
                "log recorded): the policy or the wrapped key may have been swapped."
            )
        self.policy = ExportPolicy.load(info["policy"])

    def _refresh(self) -> None:
        """Catch up with entries another process (another command on this session) appended."""
        if self.entries[-1]["hash"] != _head_hash(self.folder):
            self.entries = verify_log(self.folder, public_key=self._attestor.public_key())
            self.closed = any(e["action"] == "close" for e in self.entries)

    def _key(self) -> bytes:
        self._refresh()
        if self.closed:
            raise SandboxError(
                f"Sandbox session {self.session} is closed: its data and keys were deleted."
            )
        if "wrapped_key" not in self._info:
            raise SandboxError(
                f"Closing sandbox session {self.session} was interrupted after its key was "
                "deleted; run close() (`raikit sandbox close`) again to finish it."
            )
        if self._data_key is None:
            blob = unb64(self._info["wrapped_key"], "The wrapped data key")
            self._data_key = bytearray(
                self._provider.unwrap(blob, context=f"{_FORMAT}|key|{self.session}".encode())
            )
        return bytes(self._data_key)

    def _log(self, action: str, obj: str = "", *, hashes=None, detail=None) -> dict:
        with _locked(self.folder):
            self._refresh()
            last = self.entries[-1]
            entry = append_entry(
                self.folder,
                session=self.session,
                attestor=self._attestor,
                actor=self.actor,
                action=action,
                obj=obj,
                hashes=hashes,
                detail=detail,
                prev=last["hash"],
                seq=last["seq"] + 1,
            )
        self.entries.append(entry)
        return entry

    def _context(self, name: str) -> bytes:
        return f"{_FORMAT}|{self.session}|{name}".encode()

    def _dir(self, part: str) -> Path:
        return _plain_folder(self.folder / part, part + " folder", create=True)

    @property
    def artifacts(self) -> dict[str, str]:
        """The imported artifacts (and stored results): name -> SHA-256 of their content."""
        return {
            e["object"]: e["hashes"]["sha256"]
            for e in self.entries
            if e["action"] in ("import", "store-result")
        }

    # ----------------------------------------------------------------- in
    def add(self, source, *, name: str | None = None) -> str:
        """Encrypt a file (data or model) into the store and log its content hash.

        Parameters
        ----------
        source : str, Path or DataFrame
            A file to import (CSV, Parquet, a ``.skops`` model, ...) or a DataFrame (stored as
            Parquet).
        name : str, optional
            The artifact's name (default: the file's name). One plain file name: no folders.

        Returns
        -------
        str
            The name.

        Raises
        ------
        SandboxError
            An unsafe or already used name, or a closed session.

        Examples
        --------
        >>> import tempfile, pathlib, pandas as pd
        >>> from raikit.sandbox import generate_key, open_sandbox
        >>> home = pathlib.Path(tempfile.mkdtemp())
        >>> box = open_sandbox(home / "box", key=generate_key(home / "k"), attestor=home / "s.pem")
        >>> box.add(pd.DataFrame({"age": [30, 41, 52]}), name="ages.parquet")
        'ages.parquet'
        >>> box.artifacts["ages.parquet"] == box.entries[-1]["hashes"]["sha256"]
        True
        """
        if isinstance(source, pd.DataFrame):
            if name is None:
                raise ParameterError("Sandbox.add(): name= is required for a DataFrame.")
            buffer = io.BytesIO()
            source.to_parquet(buffer)
            data = buffer.getvalue()
        else:
            path = Path(source)
            name = path.name if name is None else name
            data = path.read_bytes()
        return self._store(check_name(name), data, action="import")

    def _store(self, name: str, data: bytes, *, action: str, detail=None) -> str:
        key = self._key()
        if name in self.artifacts:
            raise SandboxError(f"Artifact {name!r} is already in the sandbox; choose another name.")
        blob = encrypt(key, data, context=self._context(name))
        _write_new(self._dir(STORE) / (name + ".enc"), blob)
        hashes = {"sha256": sha256(data), "ciphertext": sha256(blob), "bytes": len(data)}
        self._log(action, name, hashes=hashes, detail=detail)
        return name

    def _plain(self, name: str) -> bytes:
        check_name(name)
        key, known = self._key(), self.artifacts
        if name not in known:
            raise SandboxError(
                f"No artifact {name!r} in the sandbox; it holds {sorted(known)}. Import it with "
                "Sandbox.add (`raikit sandbox import`)."
            )
        store = self._dir(STORE) / (name + ".enc")
        if os.path.islink(store):
            raise SandboxError(f"{str(store)!r} is a symbolic link; the store was tampered with.")
        data = decrypt(
            key, store.read_bytes(), context=self._context(name), what=f"Artifact {name!r}"
        )
        if sha256(data) != known[name]:  # pragma: no cover - GCM already authenticates
            raise IntegrityError(f"Artifact {name!r} does not match the hash logged at import.")
        return data

    # ----------------------------------------------------------------- reads
    def path(self, name: str) -> Path:
        """Decrypt an artifact into the working folder and return its path (logged as a read).

        Raises
        ------
        SandboxError
            Unknown or unsafe name, or a symbolic link planted in the working folder.
        IntegrityError
            A wrong key or a tampered ciphertext.

        Examples
        --------
        >>> import tempfile, pathlib, pandas as pd
        >>> from raikit.sandbox import generate_key, open_sandbox
        >>> home = pathlib.Path(tempfile.mkdtemp())
        >>> box = open_sandbox(home / "box", key=generate_key(home / "k"), attestor=home / "s.pem")
        >>> _ = box.add(pd.DataFrame({"age": [30, 41]}), name="ages.parquet")
        >>> box.path("ages.parquet").parent.name
        'work'
        """
        target, digest = self._to_work(name)
        self._log("read", name, hashes={"sha256": digest}, detail={"to": "work"})
        return target

    def _to_work(self, name: str) -> tuple[Path, str]:
        data = self._plain(name)
        digest, target = sha256(data), self._dir(WORK) / name
        if os.path.lexists(target):
            if (
                os.path.islink(target)
                or not target.is_file()
                or sha256(target.read_bytes()) != digest
            ):
                raise SandboxError(
                    f"The working folder holds a symbolic link or a changed file at {name!r}; "
                    "refusing to use it. Remove it and read the artifact again."
                )
        else:
            _write_new(target, data)
        return target, digest

    def table(self, name: str) -> pd.DataFrame:
        """An imported CSV or Parquet table as a DataFrame (logged as a read, with its rows).

        Examples
        --------
        >>> import tempfile, pathlib, pandas as pd
        >>> from raikit.sandbox import generate_key, open_sandbox
        >>> home = pathlib.Path(tempfile.mkdtemp())
        >>> box = open_sandbox(home / "box", key=generate_key(home / "k"), attestor=home / "s.pem")
        >>> _ = box.add(pd.DataFrame({"age": [30, 41]}), name="ages.parquet")
        >>> box.table("ages.parquet")["age"].tolist()
        [30, 41]
        """
        from raikit.dataset import read_table

        target, digest = self._to_work(name)
        frame = read_table(target)
        detail = {"to": "work", "rows": len(frame)}
        self._log("read", name, hashes={"sha256": digest}, detail=detail)
        return frame

    def dataset(self, name: str, **roles):
        """A :class:`raikit.Dataset` of an imported table (logged as a read, with its rows).

        Parameters
        ----------
        name : str
            The artifact.
        **roles
            ``target=``, ``sensitive=``, ``prediction=``, ... as for :class:`raikit.Dataset`.

        Returns
        -------
        Dataset

        Examples
        --------
        >>> import tempfile, pathlib, pandas as pd
        >>> from raikit.sandbox import generate_key, open_sandbox
        >>> home = pathlib.Path(tempfile.mkdtemp())
        >>> box = open_sandbox(home / "box", key=generate_key(home / "k"), attestor=home / "s.pem")
        >>> frame = pd.DataFrame({"y": [0, 1] * 20, "p": [0, 1, 1, 0] * 10, "sex": ["F", "M"] * 20})
        >>> _ = box.add(frame, name="t.parquet")
        >>> box.dataset("t.parquet", target="y", sensitive=["sex"], prediction="p").n_rows
        40
        """
        from raikit.dataset import Dataset

        target, digest = self._to_work(name)
        data = Dataset(target, **roles)
        rows = len(data.frame)
        self._log("read", name, hashes={"sha256": digest}, detail={"to": "work", "rows": rows})
        return data

    @property
    def _rows(self) -> list[int]:
        """Row counts of the tables read and of the data given to checks in this session (from
        the log, so every process's reads count)."""
        counts = (e["detail"].get("rows") for e in self.entries)
        return [n for c in counts if c is not None for n in (c if isinstance(c, list) else [c])]

    def model(self, name: str, *, trusted=()):
        """Load an imported ``.skops`` model in memory (never written out; logged as a read).

        ``trusted`` is as for :func:`raikit.load_model`.

        Examples
        --------
        >>> import tempfile, pathlib, pandas as pd
        >>> from raikit.sandbox import generate_key, open_sandbox
        >>> home = pathlib.Path(tempfile.mkdtemp())
        >>> box = open_sandbox(home / "box", key=generate_key(home / "k"), attestor=home / "s.pem")
        >>> from sklearn.linear_model import LogisticRegression
        >>> from raikit import save_model
        >>> fitted = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
        >>> _ = box.add(save_model(fitted, home / "m.skops"))
        >>> type(box.model("m.skops")).__name__
        'LogisticRegression'
        """
        from raikit._models import load_skops_bytes

        data = self._plain(name)
        model = load_skops_bytes(data, trusted=trusted, source=f"Model {name!r}")
        self._log("read", name, hashes={"sha256": sha256(data)}, detail={"to": "memory"})
        return model

    def private_table(self, name: str, *, source, **options):
        """A :class:`raikit.privacy.PrivateTable` over an imported table, charged to ``source``.

        Its answers are differentially private releases that a policy with a ``dp`` rule lets
        leave. ``options`` are those of :class:`~raikit.privacy.PrivateTable`.

        Examples
        --------
        >>> import tempfile, pathlib, pandas as pd
        >>> from raikit.sandbox import generate_key, open_sandbox
        >>> home = pathlib.Path(tempfile.mkdtemp())
        >>> box = open_sandbox(home / "box", key=generate_key(home / "k"), attestor=home / "s.pem")
        >>> import os
        >>> saved, os.environ["HOME"] = os.environ["HOME"], str(home)  # a private registry
        >>> from raikit.privacy import PrivacySource
        >>> _ = PrivacySource.register("people", epsilon=1.0)
        >>> _ = box.add(pd.DataFrame({"sex": ["F", "M"] * 50}), name="t.parquet")
        >>> private = box.private_table("t.parquet", source="people", domains={"sex": ["F", "M"]})
        >>> private.group_by("sex", epsilon=0.5).epsilon
        0.5
        >>> os.environ["HOME"] = saved
        """
        from raikit.privacy import PrivateTable

        return PrivateTable(self.table(name), source=source, **options)

    # ----------------------------------------------------------------- checks and exports
    def run(self, check, *args, name: str | None = None, **kwargs) -> Result:
        """Run a raikit check inside the sandbox and log it.

        The check records nothing in a ledger (its raw Result has not passed the policy); the
        access log gets a ``check`` entry with the check's name and the Result's hash.

        Parameters
        ----------
        check : callable
            A raikit check, e.g. :func:`raikit.metrics.group_metrics_of`.
        *args, **kwargs
            Its arguments.
        name : str, optional
            Also keep the Result, encrypted, as an artifact of that name (for a later
            :meth:`export`, e.g. from the command line).

        Returns
        -------
        Result

        Examples
        --------
        >>> import tempfile, pathlib, pandas as pd
        >>> from raikit.sandbox import generate_key, open_sandbox
        >>> home = pathlib.Path(tempfile.mkdtemp())
        >>> box = open_sandbox(home / "box", key=generate_key(home / "k"), attestor=home / "s.pem")
        >>> from raikit.metrics import group_metrics_of
        >>> frame = pd.DataFrame({"y": [0, 1] * 20, "p": [0, 1, 1, 0] * 10, "sex": ["F", "M"] * 20})
        >>> _ = box.add(frame, name="t.parquet")
        >>> data = box.dataset("t.parquet", target="y", sensitive=["sex"], prediction="p")
        >>> result = box.run(group_metrics_of, data, n_boot=20, random_state=0, name="gm")
        >>> box.entries[-2]["action"], box.entries[-1]["object"]
        ('check', 'gm.result.json')
        """
        self._key()
        with outermost():
            result = check(*args, **kwargs)
        if not isinstance(result, Result):
            raise SandboxError(
                f"{getattr(check, '__name__', check)!r} returned a {type(result).__name__}, not "
                "a raikit Result; only checks run in the sandbox."
            )
        data = canonical(result.to_dict())
        label = f"{getattr(check, '__module__', '')}.{getattr(check, '__qualname__', check)}"
        rows = sorted({n for n in map(_length, (*args, *kwargs.values())) if n is not None})
        detail = {"type": type(result).__name__, "rows": rows}
        self._log("check", label, hashes={"result": sha256(data)}, detail=detail)
        if name is not None:
            self._store(
                check_name(name + _RESULT_SUFFIX, "result name"), data, action="store-result"
            )
        return result

    def stored_result(self, name: str) -> Result:
        """A Result kept by :meth:`run` with ``name=`` (logged as a read).

        Examples
        --------
        >>> import tempfile, pathlib, pandas as pd
        >>> from raikit.sandbox import generate_key, open_sandbox
        >>> home = pathlib.Path(tempfile.mkdtemp())
        >>> box = open_sandbox(home / "box", key=generate_key(home / "k"), attestor=home / "s.pem")
        >>> from raikit.metrics import group_metrics_of
        >>> frame = pd.DataFrame({"y": [0, 1] * 20, "p": [0, 1, 1, 0] * 10, "sex": ["F", "M"] * 20})
        >>> _ = box.add(frame, name="t.parquet")
        >>> data = box.dataset("t.parquet", target="y", sensitive=["sex"], prediction="p")
        >>> _ = box.run(group_metrics_of, data, n_boot=20, random_state=0, name="gm")
        >>> type(box.stored_result("gm")).__name__
        'GroupMetricsResult'
        """
        stored = check_name(name + _RESULT_SUFFIX, "result name")
        data = self._plain(stored)
        self._log("read", stored, hashes={"sha256": sha256(data)}, detail={"to": "memory"})
        return result_from_dict(json.loads(data))

    def export(self, result, *, name: str) -> Path:
        """Let a Result leave the sandbox if the policy allows it; log the attempt either way.

        Parameters
        ----------
        result : Result or str
            The Result of a check, or the name of one kept by :meth:`run`.
        name : str
            The file name in ``exports/`` (``.json`` is added).

        Returns
        -------
        Path
            The exported JSON file.

        Raises
        ------
        PolicyError
            The rule the export breaks and how to comply.

        Examples
        --------
        >>> import tempfile, pathlib, pandas as pd
        >>> from raikit.sandbox import generate_key, open_sandbox
        >>> home = pathlib.Path(tempfile.mkdtemp())
        >>> box = open_sandbox(home / "box", key=generate_key(home / "k"), attestor=home / "s.pem")
        >>> box.export(pd.DataFrame({"age": [30]}), name="rows")
        Traceback (most recent call last):
        ...
        raikit.sandbox._common.PolicyError: Export refused by rule 'no raw rows': ...
        >>> box.entries[-1]["action"]
        'export-refused'
        """
        self._key()
        name = check_name(name if name.endswith(".json") else name + ".json", "export name")
        if isinstance(result, str):
            result = self.stored_result(result)
        try:
            self.policy.check(result, data_rows=self._rows)
        except PolicyError as refusal:
            self._log("export-refused", name, detail={"reason": str(refusal)})
            raise
        data = result.to_json().encode("utf-8")
        _write_new(self._dir(EXPORTS) / name, data)
        self._log(
            "export", name, hashes={"sha256": sha256(data)}, detail={"type": type(result).__name__}
        )
        return self.folder / EXPORTS / name

    # ----------------------------------------------------------------- the end
    def close(self) -> dict:
        """Delete the decrypted working data, the encrypted store and the session's data key,
        log it, and issue the signed deletion certificate (``certificate.json``).

        Returns
        -------
        dict
            The certificate (see :func:`raikit.sandbox.verify_certificate`).

        Examples
        --------
        >>> import tempfile, pathlib, pandas as pd
        >>> from raikit.sandbox import generate_key, open_sandbox
        >>> home = pathlib.Path(tempfile.mkdtemp())
        >>> box = open_sandbox(home / "box", key=generate_key(home / "k"), attestor=home / "s.pem")
        >>> certificate = box.close()
        >>> sorted(p.name for p in box.folder.iterdir())
        ['.lock', 'certificate.json', 'head.json', 'log.jsonl', 'session.json']
        >>> certificate["certificate"]["deleted"][-1]["path"]
        'session.json#wrapped_key'
        """
        from raikit.sandbox._certificate import issue_certificate

        self._refresh()
        if self.closed:
            raise SandboxError(f"Sandbox session {self.session} is already closed.")
        deleted = []
        for part in (WORK, STORE):
            folder = self._dir(part)
            for item in sorted(os.scandir(folder), key=lambda e: e.name):
                plain = item.is_file(follow_symlinks=False)
                kind = "file" if plain else "link" if item.is_symlink() else "other"
                digest = sha256(Path(item.path).read_bytes()) if plain else None
                deleted.append({"path": f"{part}/{item.name}", "kind": kind, "sha256": digest})
            shutil.rmtree(folder)  # removes links themselves, never what they point at
        info = {k: v for k, v in self._info.items() if k != "wrapped_key"}
        text = canonical(info) + b"\n"
        replace_file(self.folder / SESSION_FILE, text)  # atomic: old or new, never half
        if self._data_key is not None:
            self._data_key[:] = bytes(len(self._data_key))
            self._data_key = None
        deleted.append({"path": "session.json#wrapped_key", "kind": "key", "sha256": None})
        self._log("close", "", hashes={"session.json": sha256(text)}, detail={"deleted": deleted})
        self.closed = True
        certificate = issue_certificate(self.entries, self._attestor)
        _write_new(self.folder / CERTIFICATE_FILE, canonical(certificate) + b"\n")
        return certificate

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc) -> None:
        if not self.closed:
            self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"Sandbox({str(self.folder)!r}, session={self.session!r}, {state})"


@contextmanager
def _locked(folder: Path):
    """An exclusive lock on the session while one entry is appended (POSIX; elsewhere none)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _head_hash(folder: Path) -> str | None:
    try:
        return json.loads((folder / HEAD_FILE).read_bytes())["hash"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _length(value) -> int | None:
    """Rows of a Dataset or DataFrame given to a check (None for anything else)."""
    from raikit.dataset import Dataset

    if isinstance(value, Dataset):
        return int(value.n_rows)
    return len(value) if isinstance(value, pd.DataFrame) else None


def _attestor(attestor):
    if attestor is None or isinstance(attestor, (str, os.PathLike)):
        return LocalAttestor(attestor)
    return attestor


def open_sandbox(folder, *, key, policy=None, attestor=None, actor: str | None = None) -> Sandbox:
    """Open a new sandbox session in ``folder``, or resume the one it holds.

    Parameters
    ----------
    folder : str or Path
        The session's folder (made if missing).
    key : KeyProvider, str or Path
        The data owner's key: a :class:`KeyProvider`, a key file's path (:class:`FileKey`,
        mode 0600) or ``"env:NAME"`` (:class:`EnvKey`).
    policy : ExportPolicy, dict, str or Path, optional
        The export rules of a new session (defaults: :class:`ExportPolicy`). Resuming, it must be
        omitted or equal the session's.
    attestor : Attestor, str or Path, optional
        Who signs the log and the certificate (default: :class:`LocalAttestor` at its default
        path; a path means a :class:`LocalAttestor` there).
    actor : str, optional
        Who acts, as written in the log (default: the login name).

    Returns
    -------
    Sandbox

    Raises
    ------
    SandboxError
        The folder is a link or a closed session.
    IntegrityError
        A wrong key, or a tampered log or session file.

    See Also
    --------
    raikit.sandbox.Sandbox : the session and its methods.
    raikit.sandbox.generate_key : a key file for the data owner.
    raikit.sandbox.ExportPolicy : the export rules.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from raikit.sandbox import generate_key, open_sandbox
    >>> home = pathlib.Path(tempfile.mkdtemp())
    >>> key = generate_key(home / "owner.key")
    >>> box = open_sandbox(home / "box", key=key, attestor=home / "sign.pem")
    >>> box.policy.min_group_size, box.closed
    (10, False)
    """
    folder = Path(folder).absolute()
    if os.path.lexists(folder / SESSION_FILE) or os.path.islink(folder):
        box = Sandbox(folder, key=key, attestor=attestor, actor=actor)
        if policy is not None and ExportPolicy.load(policy) != box.policy:
            raise SandboxError(
                f"Sandbox session {box.session} was opened with another policy; a session's "
                "policy never changes. Open a new session for new rules."
            )
        box._key()  # a wrong key fails here, not at the first read
        return box
    rules = ExportPolicy.load(policy)
    provider, signer = key_provider(key), _attestor(attestor)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    _plain_folder(folder, "folder", create=False)
    if any(folder.iterdir()):
        raise SandboxError(f"{str(folder)!r} is not empty and holds no session; use a new folder.")
    session, public_key = uuid.uuid4().hex, public_key_text(signer.public_key())
    data_key = os.urandom(KEY_BYTES)
    info = {
        "format": _FORMAT,
        "session": session,
        "opened": now(),
        "key_provider": provider.key_id,
        "wrapped_key": b64(provider.wrap(data_key, context=f"{_FORMAT}|key|{session}".encode())),
        "policy": rules.to_dict(),
        "attestor": signer.kind,
    }
    text = canonical(info) + b"\n"
    keyless = {k: v for k, v in info.items() if k != "wrapped_key"}
    _write_new(folder / SESSION_FILE, text)
    append_entry(
        folder,
        session=session,
        attestor=signer,
        actor=actor or getpass.getuser(),
        action="open",
        hashes={
            "session.json": sha256(text),
            "session.json#without_key": sha256(canonical(keyless) + b"\n"),
            "policy": sha256(canonical(rules.to_dict())),
        },
        detail={
            "public_key": public_key,
            "attestor": signer.kind,
            "policy": rules.to_dict(),
        },
        prev=genesis(session),
        seq=0,
    )
    return Sandbox(folder, key=provider, attestor=signer, actor=actor)
