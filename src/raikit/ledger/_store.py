"""The evidence ledger: runs, datasets, models, evidence and lineage in SQLite, artifacts by hash.

Layout of a ledger folder::

    .raikit/
      ledger.sqlite            runs, datasets, models, evidence, edges, artifacts (WAL mode)
      artifacts/ab/abcdef...   content-addressed files (sha256 of their bytes)

Every write is one short transaction (``BEGIN IMMEDIATE``), so a process killed at any moment leaves
what it committed readable, and several processes can write at once (they wait on a busy timeout).
Artifacts are written to a temporary file, flushed to disk and renamed into place, and checked against
their hash whenever they are read.
"""

from __future__ import annotations

import contextvars
import hashlib
import io
import json
import os
import pickle
import re
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from raikit._errors import ParameterError
from raikit._models import load_skops_bytes
from raikit._params import describe
from raikit._recording import inside_check, outermost, set_recorder
from raikit._result import Result, result_from_dict
from raikit.ledger._backends import LedgerError, SQLiteBackend, backend_for
from raikit.ledger._environment import capture_environment, code_version
from raikit.ledger._tables import Store, Table
from raikit.ledger._writers import this_writer, writer_is_gone

__all__ = [
    "Ledger",
    "LedgerError",
    "Run",
    "active_run",
    "fit_dataset",
    "paused",
    "record",
    "track",
]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL,
    started_at TEXT NOT NULL, ended_at TEXT, params TEXT, seeds TEXT, code TEXT, environment TEXT,
    error TEXT, writer TEXT
);
CREATE TABLE IF NOT EXISTS datasets (
    id TEXT PRIMARY KEY, name TEXT, n_rows INTEGER, n_columns INTEGER, schema TEXT, roles TEXT,
    data_artifact TEXT, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS models (
    id TEXT PRIMARY KEY, name TEXT, model_type TEXT, params TEXT, artifact TEXT NOT NULL,
    fingerprint TEXT, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS evidence (
    id TEXT PRIMARY KEY, run_id TEXT NOT NULL REFERENCES runs(id), check_name TEXT NOT NULL,
    result_type TEXT NOT NULL, summary TEXT, n_findings INTEGER, worst_severity TEXT,
    artifact TEXT NOT NULL, dataset_id TEXT, model_id TEXT, params TEXT, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS edges (
    src_kind TEXT NOT NULL, src_id TEXT NOT NULL, dst_kind TEXT NOT NULL, dst_id TEXT NOT NULL,
    relation TEXT NOT NULL, created_at TEXT NOT NULL,
    PRIMARY KEY (src_kind, src_id, dst_kind, dst_id, relation)
);
CREATE TABLE IF NOT EXISTS artifacts (
    hash TEXT PRIMARY KEY, size INTEGER NOT NULL, media_type TEXT, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS trainings (
    run_id TEXT PRIMARY KEY REFERENCES runs(id), estimator_artifact TEXT NOT NULL,
    dataset_id TEXT NOT NULL, model_id TEXT NOT NULL, fingerprint TEXT NOT NULL, metrics TEXT
);
CREATE INDEX IF NOT EXISTS evidence_run ON evidence(run_id);
CREATE INDEX IF NOT EXISTS edges_dst ON edges(dst_kind, dst_id);
"""

_OWN_TABLES = frozenset(re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", _SCHEMA)) | {
    "artifact_data"
}
_SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2}
_ARTIFACT_ID = re.compile(r"[0-9a-f]{64}")  # sha256, lower-case hex
_ID_PREFIX = re.compile(r"[0-9a-f]{1,64}")  # run, model, dataset and evidence ids are hex
_ACTIVE: contextvars.ContextVar[Run | None] = contextvars.ContextVar("raikit_run", default=None)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _json(value: Any) -> str:
    return json.dumps(value, default=_json_default, sort_keys=True)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    return repr(value)


def _serialise_model(model) -> tuple[bytes, str]:
    """skops bytes, or pickle bytes for models skops cannot save (they load only when trusted)."""
    import skops.io as sio

    try:
        return sio.dumps(model), "application/x-skops"
    except Exception:  # skops raises many types for unsupported objects
        return pickle.dumps(model), "application/x-pickle"


def dataset_hash(frame: pd.DataFrame) -> str:
    """Content hash of a table: its values, column names and dtypes (not its index).

    Parameters
    ----------
    frame : DataFrame
        The table.

    Returns
    -------
    str
        A SHA-256 hex digest.

    See Also
    --------
    model_fingerprint : the same idea for a model's behaviour.

    Examples
    --------
    >>> import pandas as pd
    >>> from raikit.ledger import dataset_hash
    >>> a = pd.DataFrame({"x": [1, 2]})
    >>> dataset_hash(a) == dataset_hash(a.set_index(pd.Index([7, 8])))  # the index does not count
    True
    >>> dataset_hash(a) == dataset_hash(a.rename(columns={"x": "z"}))
    False
    """
    digest = hashlib.sha256()
    digest.update(_json([[str(c), str(t)] for c, t in frame.dtypes.items()]).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def lazy_dataset_hash(ds) -> str:
    """Identity of a lazy Dataset without loading its rows into pandas.

    Files: sha256 over every matched file's bytes (streamed in 1 MiB blocks, in path order) and
    the column names and dtypes — a content hash, as for in-memory tables, though a different
    one (the same table in memory and in a file get two ids). A Spark DataFrame: its schema and
    Spark's semantic hash of the query plan (which identifies the query, not the data it reads).
    """
    table = ds._table
    digest = hashlib.sha256()
    digest.update(_json([[str(c), str(t)] for c, t in table.dtypes.items()]).encode())
    if table.format == "spark":
        frame = table.frame
        plan = frame.semanticHash() if hasattr(frame, "semanticHash") else frame._jdf.hashCode()
        digest.update(f"spark:{frame.schema.json()}:{plan}".encode())
        return digest.hexdigest()
    for path in table.files:
        digest.update(Path(path).name.encode())
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def fit_dataset(estimator, data, **fit_params):
    """Fit ``estimator`` on a Dataset's ``X`` and ``y``; estimators whose ``fit`` takes
    ``sensitive_features`` (raikit's and Fairlearn's fair learners) get the sensitive attributes.

    ``fit_params`` go to ``fit`` as they are. Returns what ``fit`` returns (the fitted estimator).

    Parameters
    ----------
    estimator : estimator
        An unfitted scikit-learn estimator (or a raikit or Fairlearn fair learner).
    data : Dataset
        The training data.
    **fit_params
        Passed to ``fit`` as they are.

    Returns
    -------
    object
        What ``fit`` returns (the fitted estimator).

    See Also
    --------
    Ledger.log_model : records the fitted model.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from raikit.datasets import load_german_credit
    >>> from raikit.ledger import fit_dataset
    >>> ds = load_german_credit().replace(features=["duration_months", "age"])
    >>> model = fit_dataset(LogisticRegression(max_iter=500), ds)
    >>> model.n_features_in_
    2
    """
    import inspect

    if "sensitive_features" in inspect.signature(estimator.fit).parameters:
        fit_params.setdefault("sensitive_features", data.sensitive)
    return estimator.fit(data.X, data.y, **fit_params)


def model_fingerprint(model, X: pd.DataFrame) -> str:
    """Hash of a model's behaviour: its (probability) predictions on ``X``, as float64 bytes.

    skops files embed object ids and timestamps, so two saves of one model differ byte for byte;
    what a model predicts does not.

    Parameters
    ----------
    model : estimator
        A fitted model with ``predict_proba`` or ``predict``.
    X : DataFrame
        The rows to predict.

    Returns
    -------
    str
        A SHA-256 hex digest of the predictions.

    See Also
    --------
    dataset_hash : the content hash of a table.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> from raikit.ledger import model_fingerprint
    >>> X = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]})
    >>> a = LogisticRegression().fit(X, [0, 0, 1, 1])
    >>> b = LogisticRegression().fit(X, [0, 0, 1, 1])
    >>> model_fingerprint(a, X) == model_fingerprint(b, X)  # same behaviour, same fingerprint
    True
    """
    output = model.predict_proba(X) if hasattr(model, "predict_proba") else model.predict(X)
    array = np.ascontiguousarray(np.asarray(output, dtype=float))
    return hashlib.sha256(array.tobytes()).hexdigest()


class Ledger:
    """Evidence store: what was checked, on which data, about which model, by which code.

    Parameters
    ----------
    uri : str or path, default ".raikit"
        Folder of the ledger (created when missing), or a ``postgresql://`` URI.

    See Also
    --------
    raikit.track : records a block as one run.
    raikit.ledger.Store : declared tables beside the ledger's.

    Notes
    -----
    One Ledger may be shared by threads (each thread gets its own database connection) and by
    processes. Opening a ledger marks ``interrupted`` the runs still ``running`` whose writer
    process, on this host, is gone (killed before it could close them), and removes the temporary
    files such writers left in the artifact folder.

    Examples
    --------
    >>> import tempfile
    >>> from raikit.ledger import Ledger
    >>> from raikit.metrics import group_metrics
    >>> ledger = Ledger(tempfile.mkdtemp())
    >>> result = group_metrics([1, 0, 1, 0], [1, 0, 0, 0], sensitive_features=["a", "a", "b", "b"])
    >>> evidence_id = ledger.log_evidence(result, check="metrics.group_metrics")
    >>> ledger.load_evidence(evidence_id).by_group["accuracy"].tolist()
    [1.0, 0.5]
    >>> ledger.runs()[["name", "status"]].values.tolist()
    [['metrics.group_metrics', 'finished']]
    """

    def __init__(self, uri: str | os.PathLike = ".raikit") -> None:
        self.uri = str(uri)
        self._backend = backend_for(uri)
        self._store = Store(self.uri, _backend=self._backend)
        self._seen_datasets: dict[int, tuple[Any, str]] = {}
        self._seen_models: dict[int, tuple[Any, str]] = {}
        self._backend.init_schema(_SCHEMA)
        self._backend.add_column("runs", "writer", "TEXT")  # ledgers made before it existed
        self._mark_interrupted_runs()

    def __repr__(self) -> str:
        return f"Ledger({self._backend.location!r})"

    @property
    def root(self) -> Path | str:
        """The ledger folder (SQLite) or the database location (PostgreSQL)."""
        backend = self._backend
        return backend.root if isinstance(backend, SQLiteBackend) else backend.location

    @property
    def db_path(self) -> Path:
        return self._backend.db_path

    # ------------------------------------------------------------------ connection
    def _write(self):
        return self._backend.write()

    def transaction(self):
        """A block whose writes are committed together when it ends, or not at all.

        Every ledger write inside the block (artifacts' rows, evidence, runs, tables of other
        stages) joins one transaction; an exception rolls all of them back. Artifact files written
        inside are content-addressed, so a rolled-back block leaves at most unreferenced files.
        On SQLite the block holds the database's write lock, so it also serialises writers.

        Examples
        --------
        >>> import tempfile
        >>> from raikit.metrics import group_metrics
        >>> ledger = Ledger(tempfile.mkdtemp())
        >>> result = group_metrics([1, 0], [1, 1], sensitive_features=["a", "b"])
        >>> try:
        ...     with ledger.transaction():
        ...         _ = ledger.log_evidence(result, check="example")
        ...         raise RuntimeError("crash before the block ends")
        ... except RuntimeError:
        ...     pass
        >>> len(ledger.evidence())
        0
        """
        return self._store.transaction()

    def table(
        self,
        name: str,
        columns: dict[str, str],
        *,
        primary_key: str | Sequence[str] = (),
        indexes: dict[str, Sequence[str]] | None = None,
        compact: bool = False,
    ) -> Table:
        """A table of another stage in the ledger's database, declared once (created when missing).

        The ledger owns the SQL: stages read and write rows through the returned
        :class:`~raikit.ledger.Table` (``insert``, ``upsert``, ``select``, ``update``, ``delete``,
        ``count``), and group writes to several tables with :meth:`transaction`. See
        :meth:`raikit.ledger.Store.table` for the parameters.

        Examples
        --------
        >>> import tempfile
        >>> ledger = Ledger(tempfile.mkdtemp())
        >>> seen = ledger.table("seen", {"id": "text not null"}, primary_key="id")
        >>> seen.insert([{"id": "x"}, {"id": "y"}]), seen.insert([{"id": "x"}], ignore=True)
        (2, 0)
        >>> seen.count()
        2
        """
        if name in _OWN_TABLES:
            raise ParameterError(
                f"{name!r} is one of the ledger's own tables, written only through the Ledger's "
                f"methods; give your stage's table a name of its own, e.g. 'mystage_{name}'."
            )
        return self._store.table(
            name, columns, primary_key=primary_key, indexes=indexes, compact=compact
        )

    def has_table(self, name: str) -> bool:
        """Whether the ledger's database holds a table ``name`` (without creating it)."""
        return self._store.has_table(name)

    def _query(self, sql: str, params: tuple = ()) -> pd.DataFrame:
        columns, rows = self._backend.query(sql, params)
        return pd.DataFrame(rows, columns=columns)

    def close(self) -> None:
        self._backend.close()

    # ------------------------------------------------------------------ artifacts
    def _artifact_path(self, digest: str) -> Path:
        return self._backend.artifact_path(digest)

    def put_artifact(self, data: bytes, *, media_type: str = "application/octet-stream") -> str:
        """Store bytes under their sha256 (once) and return the hash."""
        digest = hashlib.sha256(data).hexdigest()
        self._backend.store_blob(digest, data)
        with self._write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO artifacts VALUES (?, ?, ?, ?)",
                (digest, len(data), media_type, _now()),
            )
        return digest

    def get_artifact(self, digest: str) -> bytes:
        """The bytes of an artifact, verified against their hash."""
        if not isinstance(digest, str) or not _ARTIFACT_ID.fullmatch(digest):
            raise LedgerError(
                f"{str(digest)[:80]!r} is not an artifact id: artifact ids are the sha256 of their "
                f"content, 64 lower-case hexadecimal characters."
            )
        data = self._backend.load_blob(digest)
        if data is None:
            raise LedgerError(f"Artifact {digest[:12]} is missing from {self._backend.location!r}.")
        if hashlib.sha256(data).hexdigest() != digest:
            raise LedgerError(
                f"Artifact {digest[:12]} is corrupt: its content no longer matches its sha256 "
                f"(in {self._backend.location!r}). Restore it from a backup or re-run the check "
                f"that made it."
            )
        return data

    def verify(self) -> pd.DataFrame:
        """Check every artifact against its hash; one row per artifact with ``ok``."""
        rows = []
        for digest in self._query("SELECT hash FROM artifacts")["hash"]:
            try:
                self.get_artifact(digest)
                rows.append((digest, True, ""))
            except LedgerError as error:
                rows.append((digest, False, str(error)))
        return pd.DataFrame(rows, columns=["hash", "ok", "problem"])

    # ------------------------------------------------------------------ runs
    def start_run(
        self, name: str, *, kind: str = "run", params: dict | None = None, seeds: dict | None = None
    ) -> Run:
        """Open a run; close it with ``run.end()`` (or use :func:`track`)."""
        run_id = uuid.uuid4().hex
        with self._write() as conn:
            conn.execute(
                "INSERT INTO runs (id, name, kind, status, started_at, params, seeds, code, "
                "environment, writer) VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    name,
                    kind,
                    _now(),
                    _json(params or {}),
                    _json(seeds or {}),
                    _json(code_version()),
                    _json(capture_environment()),
                    _json(this_writer()),
                ),
            )
        return Run(self, run_id, name)

    def _mark_interrupted_runs(self) -> None:
        """Close the runs whose writer process (on this host) died with them still open."""
        running = self._query("SELECT id, writer FROM runs WHERE status = 'running'")
        for run_id, writer in running.itertuples(index=False):  # few rows: the open runs
            try:
                identity = json.loads(writer) if writer else None
            except ValueError:
                continue
            if writer_is_gone(identity):
                with self._write() as conn:
                    conn.execute(
                        "UPDATE runs SET status = 'interrupted', ended_at = ?, error = ? "
                        "WHERE id = ? AND status = 'running'",
                        (
                            _now(),
                            f"its writer (pid {identity['pid']} on {identity['host']}) ended "
                            f"without closing the run",
                            run_id,
                        ),
                    )

    def _end_run(self, run_id: str, status: str, error: str | None = None) -> None:
        with self._write() as conn:
            conn.execute(
                "UPDATE runs SET status = ?, ended_at = ?, error = ? WHERE id = ?",
                (status, _now(), error, run_id),
            )

    def _add_params(self, run_id: str, params: dict) -> None:
        with self._write() as conn:
            row = conn.execute("SELECT params FROM runs WHERE id = ?", (run_id,)).fetchone()
            merged = {**json.loads(row[0] or "{}"), **params}
            conn.execute("UPDATE runs SET params = ? WHERE id = ?", (_json(merged), run_id))

    def _edge(self, conn, src_kind, src_id, dst_kind, dst_id, relation) -> None:
        conn.execute(
            "INSERT OR IGNORE INTO edges VALUES (?, ?, ?, ?, ?, ?)",
            (src_kind, src_id, dst_kind, dst_id, relation, _now()),
        )

    # ------------------------------------------------------------------ datasets and models
    def log_dataset(self, data, *, store_data: bool = False, run: Run | None = None) -> str:
        """Record a :class:`raikit.Dataset` (content hash, schema, rows); with ``store_data`` keep
        its table as a Parquet artifact so a run can be reproduced. Returns the dataset id."""
        cached = self._seen_datasets.get(id(data))
        if cached is not None and cached[0] is data and not store_data:
            digest = cached[1]
        elif getattr(data, "is_lazy", False) and not store_data:
            digest = self._log_lazy_dataset(data)
            self._seen_datasets[id(data)] = (data, digest)
        else:
            digest = dataset_hash(data.frame)
            artifact = None
            if store_data:
                buffer = io.BytesIO()
                data.frame.to_parquet(buffer, index=False)
                artifact = self.put_artifact(buffer.getvalue(), media_type="application/parquet")
            with self._write() as conn:
                self._insert_dataset(
                    conn,
                    digest,
                    data,
                    data.frame.shape[1],
                    data.schema.to_json(indent=None),
                    artifact,
                )
                if artifact is not None:
                    conn.execute(
                        "UPDATE datasets SET data_artifact = ? WHERE id = ?", (artifact, digest)
                    )
            self._seen_datasets[id(data)] = (data, digest)
        run = run or _ACTIVE.get()
        if run is not None and run.ledger is self:
            with self._write() as conn:
                self._edge(conn, "dataset", digest, "run", run.id, "input")
        return digest

    def _log_lazy_dataset(self, ds) -> str:
        """Record a Dataset over files or Spark by its content hash and schema, rows untouched."""
        digest = lazy_dataset_hash(ds)
        table = ds._table
        schema = {
            "source": [str(f) for f in table.files] or "spark",
            "n_rows": ds.n_rows,
            "columns": [{"name": str(c), "dtype": str(t)} for c, t in table.dtypes.items()],
        }
        with self._write() as conn:
            self._insert_dataset(conn, digest, ds, len(table.columns), _json(schema), None)
        return digest

    @staticmethod
    def _insert_dataset(conn, digest, ds, n_columns, schema_json, artifact) -> None:
        conn.execute(
            "INSERT OR IGNORE INTO datasets VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (digest, ds.name, ds.n_rows, n_columns, schema_json, _json(ds.roles), artifact, _now()),
        )

    def read_dataset(self, dataset_id: str):
        """Rebuild a :class:`raikit.Dataset` stored with ``store_data=True``."""
        from raikit.dataset import Dataset

        row = self._one("datasets", dataset_id)
        if not row["data_artifact"]:
            raise LedgerError(
                f"Dataset {dataset_id[:12]} was recorded without its data (store_data=False); "
                f"only its hash and schema are in the ledger."
            )
        frame = pd.read_parquet(io.BytesIO(self.get_artifact(row["data_artifact"])))
        roles = json.loads(row["roles"])
        return Dataset(
            frame,
            target=roles["target"],
            sensitive=roles["sensitive"],
            features=roles["features"],
            prediction=roles["prediction"],
            score=roles["score"],
            name=row["name"],
        )

    def log_model(
        self,
        model,
        *,
        name: str | None = None,
        fingerprint: str | None = None,
        run: Run | None = None,
        relation: str = "input",
    ) -> str:
        """Record a fitted model as a skops artifact; returns the model id."""
        cached = self._seen_models.get(id(model))
        if cached is not None and cached[0] is model:
            model_id = cached[1]
        else:
            data, media_type = _serialise_model(model)
            artifact = self.put_artifact(data, media_type=media_type)
            model_id = artifact
            params = model.get_params(deep=False) if hasattr(model, "get_params") else {}
            with self._write() as conn:
                conn.execute(
                    "INSERT OR IGNORE INTO models VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        model_id,
                        name or type(model).__name__,
                        f"{type(model).__module__}.{type(model).__qualname__}",
                        _json(params),
                        artifact,
                        fingerprint,
                        _now(),
                    ),
                )
            self._seen_models[id(model)] = (model, model_id)
        run = run or _ACTIVE.get()
        if run is not None and run.ledger is self:
            with self._write() as conn:
                if relation == "output":
                    self._edge(conn, "run", run.id, "model", model_id, "produced")
                else:
                    self._edge(conn, "model", model_id, "run", run.id, "input")
        return model_id

    def load_model(self, model_id: str, *, trusted: bool | Sequence[str] = False):
        """Load a recorded model (its artifact is hash-checked first).

        skops models load as :func:`raikit.load_model` loads files: the types on raikit's
        allow-list by exact name, plus the exact names in ``trusted``. Models that skops cannot
        save are stored as pickles and load only with ``trusted=True``.
        """
        row = self._one("models", model_id)
        data = self.get_artifact(row["artifact"])
        media = self._query("SELECT media_type FROM artifacts WHERE hash = ?", (row["artifact"],))
        if media["media_type"].iloc[0] == "application/x-pickle":
            if trusted is not True:
                raise LedgerError(
                    f"Model {row['id'][:12]} is stored as a pickle (skops could not save it); "
                    f"loading it runs code from the file. Pass trusted=True if you made it."
                )
            return pickle.loads(data)  # the caller passed trusted=True
        return load_skops_bytes(
            data, trusted=trusted, source=f"Model {row['id'][:12]} in the ledger {self.uri!r}"
        )

    # ------------------------------------------------------------------ evidence
    def log_evidence(
        self,
        result: Result,
        *,
        check: str,
        dataset=None,
        model=None,
        params: dict | None = None,
        run: Run | None = None,
    ) -> str:
        """Record a ``...Result`` as evidence, with its lineage. Returns the evidence id.

        ``dataset`` and ``model`` may be objects (recorded on the fly) or ids already recorded.
        Outside a run, the evidence gets a run of its own named after ``check``.
        """
        if not isinstance(result, Result):
            raise LedgerError(f"Evidence must be a raikit Result, got {type(result).__name__}.")
        own_run = None
        run = run or _ACTIVE.get()
        if run is None or run.ledger is not self:
            own_run = run = self.start_run(check, kind="check", params=params)
        try:
            dataset_id = self._dataset_id(dataset, run)
            model_id = self._model_id(model, run)
            payload = json.dumps(result.to_dict(), allow_nan=False).encode()
            artifact = self.put_artifact(payload, media_type="application/json")
            findings = getattr(result, "findings", ())
            worst = max((f.severity for f in findings), key=_SEVERITY_RANK.get, default=None)
            evidence_id = uuid.uuid4().hex
            with self._write() as conn:
                conn.execute(
                    "INSERT INTO evidence VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        evidence_id,
                        run.id,
                        check,
                        type(result).__name__,
                        result.summary,
                        len(findings),
                        worst,
                        artifact,
                        dataset_id,
                        model_id,
                        _json(params or {}),
                        _now(),
                    ),
                )
                self._edge(conn, "run", run.id, "evidence", evidence_id, "produced")
                if dataset_id:
                    self._edge(conn, "dataset", dataset_id, "evidence", evidence_id, "evaluated")
                if model_id:
                    self._edge(conn, "model", model_id, "evidence", evidence_id, "evaluated")
        except BaseException as error:
            if own_run is not None:
                own_run.end("failed", error=repr(error))
            raise
        if own_run is not None:
            own_run.end("finished")
        return evidence_id

    def _dataset_id(self, dataset, run) -> str | None:
        if dataset is None or isinstance(dataset, str):
            return dataset
        return self.log_dataset(dataset, run=run)

    def _model_id(self, model, run) -> str | None:
        if model is None or isinstance(model, str):
            return model
        return self.log_model(model, run=run)

    def load_evidence(self, evidence_id: str) -> Result:
        """The ``...Result`` recorded as evidence ``evidence_id`` (a unique prefix is enough)."""
        row = self._one("evidence", evidence_id)
        return result_from_dict(json.loads(self.get_artifact(row["artifact"])))

    # ------------------------------------------------------------------ queries
    @staticmethod
    def _check_key(key) -> str:
        if not isinstance(key, str) or not _ID_PREFIX.fullmatch(key):
            raise LedgerError(
                f"{str(key)[:80]!r} is not a ledger id: ids are hexadecimal (a unique prefix of "
                f"one is enough); see `raikit runs list`."
            )
        return key

    def _one(self, table: str, key: str) -> dict:
        key = self._check_key(key)
        frame = self._query(f"SELECT * FROM {table} WHERE id LIKE ? || '%'", (key,))
        if len(frame) == 0:
            raise LedgerError(f"No {table[:-1]} with id {key!r} in {str(self.root)!r}.")
        if len(frame) > 1:
            raise LedgerError(
                f"Id prefix {key!r} matches {len(frame)} {table}; give more characters."
            )
        return frame.iloc[0].to_dict()

    def runs(self) -> pd.DataFrame:
        """Every run, newest first, with its number of evidence records."""
        return self._query(
            "SELECT r.id, r.name, r.kind, r.status, r.started_at, r.ended_at, "
            "COUNT(e.id) AS n_evidence FROM runs r LEFT JOIN evidence e ON e.run_id = r.id "
            "GROUP BY r.id ORDER BY r.started_at DESC"
        )

    def run(self, run_id: str) -> dict:
        """One run with its parameters, code version, environment and evidence."""
        row = self._one("runs", run_id)
        for key in ("params", "seeds", "code", "environment", "writer"):
            row[key] = json.loads(row[key]) if row[key] else {}
        row["evidence"] = self.evidence(run=row["id"])
        return row

    def evidence(self, *, run: str | None = None, check: str | None = None) -> pd.DataFrame:
        """Evidence records, optionally of one run or one check, oldest first.

        ``params`` holds each check's parameters as recorded (JSON text).
        """
        sql = (
            "SELECT id, run_id, check_name, result_type, summary, n_findings, worst_severity, "
            "dataset_id, model_id, created_at, params FROM evidence WHERE 1 = 1"
        )
        params: list = []
        if run is not None:
            sql += " AND run_id = ?"
            params.append(run)
        if check is not None:
            sql += " AND check_name = ?"
            params.append(check)
        return self._query(sql + " ORDER BY created_at", tuple(params))

    def datasets(self) -> pd.DataFrame:
        return self._query("SELECT id, name, n_rows, n_columns, created_at FROM datasets")

    def models(self) -> pd.DataFrame:
        return self._query("SELECT id, name, model_type, fingerprint, created_at FROM models")

    def edges(self) -> pd.DataFrame:
        return self._query("SELECT * FROM edges")

    def resolve(self, key: str) -> tuple[str, str]:
        """Find what an id (or unique prefix) names: ``(kind, full id)``."""
        key = self._check_key(key)
        matches = []
        for table, kind in (
            ("runs", "run"),
            ("models", "model"),
            ("datasets", "dataset"),
            ("evidence", "evidence"),
        ):
            found = self._query(f"SELECT id FROM {table} WHERE id LIKE ? || '%'", (key,))
            matches += [(kind, i) for i in found["id"]]
        if not matches:
            raise LedgerError(
                f"Nothing in {str(self.root)!r} has id {key!r}; see `raikit runs list`."
            )
        if len(matches) > 1:
            raise LedgerError(f"Id prefix {key!r} is ambiguous ({len(matches)} matches).")
        return matches[0]

    def lineage(self, key: str, *, depth: int = 3) -> pd.DataFrame:
        """Edges reachable from ``key`` in both directions (dataset -> run -> model -> evidence)."""
        kind, node_id = self.resolve(key)
        edges = self.edges()
        frontier = {(kind, node_id)}
        seen = set(frontier)
        keep = pd.Series(False, index=edges.index)
        for _ in range(depth):  # a few hops over a small edge table
            src = pd.Series(list(zip(edges["src_kind"], edges["src_id"], strict=True)))
            dst = pd.Series(list(zip(edges["dst_kind"], edges["dst_id"], strict=True)))
            touch = src.isin(frontier) | dst.isin(frontier)
            keep |= touch.to_numpy()
            reached = set(src[touch]) | set(dst[touch])
            frontier = reached - seen
            seen |= reached
            if not frontier:
                break
        return edges[keep.to_numpy()].reset_index(drop=True)

    # ------------------------------------------------------------------ training and reproduction
    def log_training(self, estimator, train, model, *, run: Run) -> None:
        """Record what :meth:`reproduce` needs: the unfitted estimator, the training data and the
        fitted model's fingerprint and training metrics."""
        import skops.io as sio
        from sklearn.base import clone

        dataset_id = self.log_dataset(train, store_data=True, run=run)
        fingerprint = model_fingerprint(model, train.X)
        model_id = self.log_model(model, fingerprint=fingerprint, run=run, relation="output")
        estimator_artifact = self.put_artifact(
            sio.dumps(clone(estimator)), media_type="application/x-skops"
        )
        metrics = {"train_accuracy": float(np.mean(model.predict(train.X) == train.y.to_numpy()))}
        with self._write() as conn:
            conn.execute("DELETE FROM trainings WHERE run_id = ?", (run.id,))
            conn.execute(
                "INSERT INTO trainings VALUES (?, ?, ?, ?, ?, ?)",
                (run.id, estimator_artifact, dataset_id, model_id, fingerprint, _json(metrics)),
            )
            conn.execute("UPDATE models SET fingerprint = ? WHERE id = ?", (fingerprint, model_id))
            self._edge(conn, "dataset", dataset_id, "model", model_id, "trained")

    def reproduce(self, run_id: str, *, trusted: Sequence[str] = (), cli: bool = False) -> dict:
        """Re-run a recorded training from its recorded inputs and compare the outcome.

        The recorded estimator loads as :func:`raikit.load_model` loads files: raikit's allow-list
        plus the exact type names in ``trusted`` (``cli`` words errors as ``--trust TYPE``).
        Returns a dict with ``match`` (the refitted model predicts identically), the recorded and
        new fingerprints, and the recorded and new training metrics.
        """

        run = self._one("runs", run_id)
        rows = self._query("SELECT * FROM trainings WHERE run_id = ?", (run["id"],))
        if len(rows) == 0:
            raise LedgerError(
                f"Run {run_id[:12]} recorded no training; only runs made with "
                f"raikit.ledger.train(...) can be reproduced."
            )
        row = rows.iloc[0]
        estimator = load_skops_bytes(
            self.get_artifact(row["estimator_artifact"]),
            trusted=trusted,
            source=f"The estimator recorded by run {run['id'][:12]}",
            cli=cli,
        )
        train = self.read_dataset(row["dataset_id"])
        model = fit_dataset(estimator, train)
        fingerprint = model_fingerprint(model, train.X)
        metrics = {"train_accuracy": float(np.mean(model.predict(train.X) == train.y.to_numpy()))}
        recorded = json.loads(row["metrics"])
        return {
            "run_id": run["id"],
            "match": fingerprint == row["fingerprint"],
            "recorded_fingerprint": row["fingerprint"],
            "new_fingerprint": fingerprint,
            "recorded_metrics": recorded,
            "new_metrics": metrics,
            "metrics_match": all(abs(metrics[k] - recorded[k]) <= 1e-12 for k in recorded),
        }


class Run:
    """A run in a :class:`Ledger`: evidence logged through it (or inside :func:`track`) is linked
    to it.

    Parameters
    ----------
    ledger : Ledger
        The ledger the run belongs to.
    run_id : str
        Its id.
    name : str
        Its name.

    See Also
    --------
    track : opens a run for a ``with`` block.
    Ledger.start_run : opens one to end by hand.

    Examples
    --------
    >>> import tempfile
    >>> from raikit.ledger import Ledger
    >>> ledger = Ledger(tempfile.mkdtemp())
    >>> run = ledger.start_run("nightly")
    >>> run.log_params(threshold=0.5)
    >>> run.end()
    >>> ledger.runs()[["name", "status"]].values.tolist()
    [['nightly', 'finished']]
    """

    def __init__(self, ledger: Ledger, run_id: str, name: str) -> None:
        self.ledger = ledger
        self.id = run_id
        self.name = name
        self._ended = False

    def __repr__(self) -> str:
        return f"Run(id={self.id[:12]!r}, name={self.name!r})"

    def log_params(self, **params) -> None:
        self.ledger._add_params(self.id, params)

    def log_evidence(self, result: Result, *, check: str, **kwargs) -> str:
        return self.ledger.log_evidence(result, check=check, run=self, **kwargs)

    def log_dataset(self, data, **kwargs) -> str:
        return self.ledger.log_dataset(data, run=self, **kwargs)

    def log_model(self, model, **kwargs) -> str:
        return self.ledger.log_model(model, run=self, **kwargs)

    def end(self, status: str = "finished", *, error: str | None = None) -> None:
        if not self._ended:
            self.ledger._end_run(self.id, status, error)
            self._ended = True


def active_run() -> Run | None:
    """The run opened by the innermost :func:`track` block, if any.

    Returns
    -------
    Run or None
        The run, or None outside any :func:`track` block.

    See Also
    --------
    track : opens the run.

    Examples
    --------
    >>> import tempfile
    >>> from raikit.ledger import Ledger, active_run, track
    >>> active_run() is None
    True
    >>> with track("nightly", ledger=Ledger(tempfile.mkdtemp())) as run:
    ...     active_run() is run
    True
    """
    return _ACTIVE.get()


@contextmanager
def track(
    name: str,
    *,
    ledger: Ledger | str | None = None,
    params: dict | None = None,
    seeds: dict | None = None,
) -> Iterator[Run]:
    """Record everything inside the block as one run.

    Checks called inside the block record their evidence in this run even without ``ledger=``.

    Parameters
    ----------
    name : str
        The run's name (shown by ``raikit ui`` and in cards).
    ledger : Ledger, str or None, default None
        The ledger, or its folder; None uses ``.raikit`` in the working directory.
    params : dict, optional
        Parameters recorded with the run.
    seeds : dict, optional
        The random seeds used, recorded so that the run can be reproduced.

    Yields
    ------
    Run
        The open run; it ends as "finished", or as "failed" when the block raises.

    See Also
    --------
    raikit.ledger.Ledger.start_run : opens a run without a ``with`` block.
    raikit.ledger.paused : records nothing inside a block.

    Examples
    --------
    >>> import tempfile
    >>> import raikit
    >>> from raikit.metrics import group_metrics
    >>> ledger = raikit.ledger.Ledger(tempfile.mkdtemp())
    >>> with raikit.track("nightly audit", ledger=ledger, seeds={"bootstrap": 0}) as run:
    ...     _ = group_metrics([1, 0, 1, 0], [1, 0, 0, 0], sensitive_features=["a", "a", "b", "b"])
    >>> ledger.evidence(run=run.id)["check_name"].tolist()
    ['metrics.group_metrics']
    """
    if not isinstance(ledger, Ledger):
        ledger = Ledger(ledger or ".raikit")
    run = ledger.start_run(name, params=params, seeds=seeds)
    token = _ACTIVE.set(run)
    try:
        yield run
    except BaseException as error:
        run.end("failed", error=repr(error))
        raise
    finally:
        _ACTIVE.reset(token)
    run.end("finished")


@contextmanager
def paused() -> Iterator[None]:
    """Suspend automatic recording (for callers that record explicitly, as the audit does).

    Checks called inside the block record nothing, even with ``ledger=``.

    Yields
    ------
    None
        Nothing: the block runs with recording off.

    See Also
    --------
    track : the block whose recording this suspends.

    Examples
    --------
    >>> import tempfile
    >>> from raikit.ledger import Ledger, paused, track
    >>> from raikit.metrics import group_metrics
    >>> ledger = Ledger(tempfile.mkdtemp())
    >>> with track("nightly", ledger=ledger), paused():
    ...     _ = group_metrics([1, 0, 1, 0], [1, 0, 0, 0], sensitive_features=["a", "a", "b", "b"])
    >>> len(ledger.evidence())
    0
    """
    token = _ACTIVE.set(None)
    try:
        with outermost():
            yield
    finally:
        _ACTIVE.reset(token)


_LINEAGE_DATA = (
    "data",
    "test",
    "current",
    "train",
    "reference",
)  # first Dataset found is the input
_NOT_PARAMS = {"ledger", "model", *_LINEAGE_DATA}


_SHORT_LIST = 20  # longer lists are data, not settings: recorded by length only
_ROW_ALIGNED = {  # arguments that hold one value per row: data, whatever their length
    "y_true",
    "y_pred",
    "score",
    "sensitive_features",
    "sample_weight",
    "rows",
    "pred_probs",
    "X",
    "y",
    "groups",
}


def _param_value(value: Any) -> Any:
    """A parameter as JSON: settings kept, data described by its shape only.

    Rows never reach the ledger through a parameter: tables, arrays, Series and long lists are
    recorded as their shape (a ledger is shared more widely than the data it describes).
    """
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.DataFrame):
        return f"DataFrame(rows={len(value)}, columns={value.shape[1]})"
    if isinstance(value, pd.Series | pd.Index | np.ndarray):
        return f"{type(value).__name__}(shape={tuple(value.shape)})"
    if isinstance(value, list | tuple):
        plain = all(v is None or isinstance(v, bool | int | float | str) for v in value)
        if plain and len(value) <= _SHORT_LIST:
            return list(value)
        return f"{type(value).__name__}(len={len(value)})"
    if isinstance(value, dict) and all(
        isinstance(k, str) and (v is None or isinstance(v, bool | int | float | str))
        for k, v in value.items()
    ):
        return dict(value)
    from raikit.dataset import Dataset

    if isinstance(value, Dataset):
        return f"Dataset(name={value.name!r}, rows={value.n_rows}, target={value.target!r})"
    return describe(value)


def _shape_of(value: Any) -> Any:
    """A row-aligned argument as its shape (``None`` stays ``None``)."""
    if value is None:
        return None
    shape = getattr(value, "shape", None)
    if shape is not None:
        return f"{type(value).__name__}(shape={tuple(shape)})"
    try:
        return f"{type(value).__name__}(len={len(value)})"
    except TypeError:
        return type(value).__name__


def _record_call(result: Any, *, check: str, arguments: dict) -> str | None:
    """The recorder behind :func:`raikit._recording.recorded`: one evidence row per outer call."""
    from raikit.dataset import Dataset

    ledger = arguments.get("ledger")
    if ledger is None and _ACTIVE.get() is None:
        return None
    if not isinstance(result, Result):
        return None
    if ledger is not None and not isinstance(ledger, Ledger):
        ledger = Ledger(ledger)
    dataset = next(
        (arguments[k] for k in _LINEAGE_DATA if isinstance(arguments.get(k), Dataset)), None
    )
    model = arguments.get("model")
    params = {
        k: _shape_of(v) if k in _ROW_ALIGNED else _param_value(v)
        for k, v in arguments.items()
        if k not in _NOT_PARAMS
    }
    for name in _LINEAGE_DATA:  # the other half of a pair, described (the first is linked)
        if isinstance(arguments.get(name), Dataset) and arguments[name] is not dataset:
            params[name] = _param_value(arguments[name])
    return record(
        result,
        check=check,
        ledger=ledger,
        dataset=dataset,
        model=model if model is not None and not isinstance(model, str) else None,
        params=params,
    )


set_recorder(_record_call)


def record(
    result: Result,
    *,
    check: str,
    ledger: Ledger | None = None,
    dataset=None,
    model=None,
    params: dict | None = None,
) -> str | None:
    """Record ``result`` in ``ledger``, or in the active :func:`track` run; otherwise do nothing.

    Checks decorated with :func:`raikit._recording.recorded` reach it through the ledger's
    recorder; called while another check runs, it records nothing (the outer call is the
    evidence).

    Parameters
    ----------
    result : Result
        What a check returned.
    check : str
        The check's name, such as ``"metrics.group_metrics"``.
    ledger : Ledger, optional
        Where to record; None records in the active :func:`track` run, or nowhere.
    dataset, model : object, optional
        The data and model the result is evidence about (lineage edges).
    params : dict, optional
        The check's parameters.

    Returns
    -------
    str or None
        The evidence id, or None when nothing was recorded.

    See Also
    --------
    track : opens the run that ``record`` writes to without ``ledger=``.

    Examples
    --------
    >>> import tempfile
    >>> from raikit.ledger import Ledger, record
    >>> from raikit.metrics import group_metrics
    >>> ledger = Ledger(tempfile.mkdtemp())
    >>> result = group_metrics([1, 0, 1, 0], [1, 0, 0, 0], sensitive_features=["a", "a", "b", "b"])
    >>> record(result, check="metrics.group_metrics") is None  # no ledger, no run: nothing
    True
    >>> evidence_id = record(result, check="metrics.group_metrics", ledger=ledger)
    >>> ledger.evidence()["check_name"].tolist()
    ['metrics.group_metrics']
    """
    run = _ACTIVE.get()
    if inside_check() or (ledger is None and run is None):
        return None  # inside another check, the outer call is the evidence
    target = ledger if ledger is not None else run.ledger
    return target.log_evidence(
        result,
        check=check,
        dataset=dataset,
        model=model,
        params=params,
        run=run if run is not None and run.ledger is target else None,
    )
