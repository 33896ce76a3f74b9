"""Where the ledger keeps its tables and artifacts: SQLite + a folder (default) or PostgreSQL.

The ledger writes portable SQL with ``?`` parameter markers and ``INSERT OR IGNORE``; each backend turns
that into its own dialect. SQLite keeps artifacts as files; PostgreSQL keeps them in a table, so a
team that shares the database shares everything.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from raikit._errors import RaikitError

__all__ = ["PostgresBackend", "SQLiteBackend", "backend_for"]


class LedgerError(RaikitError):
    """The ledger cannot be read or written, or an artifact fails its hash check."""


class SQLiteBackend:
    """One SQLite file in WAL mode beside a folder of content-addressed files."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.db_path = self.root / "ledger.sqlite"
        self.artifact_root = self.root / "artifacts"
        try:
            self.artifact_root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise LedgerError(
                f"Cannot create the ledger folder {str(self.root)!r}: {error}."
            ) from error
        self._connection: sqlite3.Connection | None = None
        self._pid = os.getpid()
        self._depth = threading.local()  # open write blocks of this thread (nested ones join)

    @property
    def location(self) -> str:
        return str(self.root)

    def _conn(self) -> sqlite3.Connection:
        if self._connection is None or self._pid != os.getpid():
            try:
                conn = sqlite3.connect(
                    self.db_path, timeout=60, isolation_level=None, check_same_thread=False
                )
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("PRAGMA busy_timeout=60000")
                conn.execute("PRAGMA foreign_keys=ON")
            except sqlite3.DatabaseError as error:
                raise LedgerError(
                    f"Cannot open the ledger database {str(self.db_path)!r}: {error}. If the file is "
                    f"damaged, move it aside; artifacts in {str(self.artifact_root)!r} are kept."
                ) from error
            self._connection = conn
            self._pid = os.getpid()
        return self._connection

    def init_schema(self, schema: str) -> None:
        try:
            self._conn().executescript(schema)
        except sqlite3.DatabaseError as error:
            raise LedgerError(
                f"{str(self.db_path)!r} is not a readable ledger database ({error}). Move it aside "
                f"to start a new ledger; artifacts in {str(self.artifact_root)!r} are kept."
            ) from error

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        depth = getattr(self._depth, "n", 0)
        if depth:  # inside an open transaction of this thread: join it (it commits or rolls back)
            self._depth.n = depth + 1
            try:
                yield conn
            finally:
                self._depth.n = depth
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.DatabaseError as error:
            raise LedgerError(
                f"Cannot write to the ledger {str(self.db_path)!r}: {error}."
            ) from error
        self._depth.n = 1
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        finally:
            self._depth.n = 0
        conn.execute("COMMIT")

    def query(self, sql: str, params: tuple = ()) -> tuple[list[str], list[tuple]]:
        try:
            cursor = self._conn().execute(sql, params)
        except sqlite3.DatabaseError as error:
            raise LedgerError(f"Cannot read the ledger {str(self.db_path)!r}: {error}.") from error
        return [c[0] for c in cursor.description], cursor.fetchall()

    def artifact_path(self, digest: str) -> Path:
        return self.artifact_root / digest[:2] / digest

    def store_blob(self, digest: str, data: bytes) -> None:
        path = self.artifact_path(digest)
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)  # atomic: a reader sees the whole file or none
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def load_blob(self, digest: str) -> bytes | None:
        path = self.artifact_path(digest)
        return path.read_bytes() if path.exists() else None

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class _PostgresCursor:
    """Runs the ledger's portable SQL on a psycopg connection."""

    def __init__(self, conn) -> None:
        self._conn = conn

    def execute(self, sql: str, params: tuple = ()):
        return self._conn.execute(_postgres_sql(sql), params)

    def executemany(self, sql: str, rows) -> None:
        rows = list(rows)
        if rows:  # psycopg sends the batch in one pipeline
            self._conn.cursor().executemany(_postgres_sql(sql), rows)


def _postgres_sql(sql: str) -> str:
    text = sql.replace("%", "%%").replace("?", "%s")
    if text.lstrip().upper().startswith("INSERT OR IGNORE INTO"):
        text = text.replace("INSERT OR IGNORE INTO", "INSERT INTO", 1) + " ON CONFLICT DO NOTHING"
    return text


class PostgresBackend:
    """Tables and artifacts in one PostgreSQL database (``postgresql://user@host/db``)."""

    def __init__(self, uri: str) -> None:
        try:
            import psycopg
        except ImportError as error:
            raise LedgerError(
                'A PostgreSQL ledger needs psycopg: pip install "raikit[postgres]" '
                '(or pip install "psycopg[binary]").'
            ) from error
        self.uri = uri
        self._psycopg = psycopg
        self._connection = None
        self._pid = os.getpid()

    @property
    def location(self) -> str:
        return self.uri.split("@")[-1]  # never print a password

    def _conn(self):
        if self._connection is None or self._pid != os.getpid():
            try:
                self._connection = self._psycopg.connect(self.uri, autocommit=True)
            except self._psycopg.Error as error:
                raise LedgerError(
                    f"Cannot connect to the ledger database {self.location!r}: {error}".strip()
                ) from error
            self._pid = os.getpid()
        return self._connection

    def init_schema(self, schema: str) -> None:
        conn = self._conn()
        # Serialise concurrent first connections: CREATE ... IF NOT EXISTS is not race-free.
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(7263101)")
            for statement in schema.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(
                "CREATE TABLE IF NOT EXISTS artifact_data (hash TEXT PRIMARY KEY, "
                "data BYTEA NOT NULL)"
            )

    @contextmanager
    def write(self):
        conn = self._conn()
        try:
            with conn.transaction():
                yield _PostgresCursor(conn)
        except self._psycopg.Error as error:
            raise LedgerError(f"Cannot write to the ledger {self.location!r}: {error}") from error

    def query(self, sql: str, params: tuple = ()) -> tuple[list[str], list[tuple]]:
        try:
            cursor = self._conn().execute(_postgres_sql(sql), params)
        except self._psycopg.Error as error:
            raise LedgerError(f"Cannot read the ledger {self.location!r}: {error}") from error
        return [c.name for c in cursor.description], cursor.fetchall()

    def store_blob(self, digest: str, data: bytes) -> None:
        with self.write() as cur:
            cur.execute("INSERT OR IGNORE INTO artifact_data VALUES (?, ?)", (digest, data))

    def load_blob(self, digest: str) -> bytes | None:
        _, rows = self.query("SELECT data FROM artifact_data WHERE hash = ?", (digest,))
        return bytes(rows[0][0]) if rows else None

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def backend_for(uri) -> SQLiteBackend | PostgresBackend:
    text = str(uri)
    if text.startswith(("postgres://", "postgresql://")):
        return PostgresBackend(text)
    return SQLiteBackend(Path(uri))
