"""Where the ledger keeps its tables and artifacts: SQLite + a folder (default) or PostgreSQL.

The ledger writes portable SQL with ``?`` parameter markers and ``INSERT OR IGNORE``; each backend turns
that into its own dialect. SQLite keeps artifacts as files; PostgreSQL keeps them in a table, so a
team that shares the database shares everything.
"""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import tempfile
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from raikit._errors import RaikitError
from raikit.ledger._writers import host_tag, this_writer, writer_is_gone

__all__ = ["PostgresBackend", "SQLiteBackend", "SQLiteDatabase", "backend_for"]

# A temporary artifact file is named after its writer (host tag, pid, process start time), so that
# a later open can tell a file whose writer was killed (removed) from one being written right now
# (kept). Temporary files not named this way come from older versions and are removed.
_TMP_NAME = re.compile(r"\.tmp-([0-9a-f]{8})-(\d+)-(\d+|x)-")
_STALE_SECONDS = 24 * 3600  # a temporary file of another host, untouched this long, is stale


class LedgerError(RaikitError):
    """The ledger cannot be read or written, or an artifact fails its hash check.

    See Also
    --------
    Ledger.verify : checks every artifact's hash.

    Examples
    --------
    >>> import raikit
    >>> from raikit.ledger import LedgerError
    >>> issubclass(LedgerError, raikit.RaikitError)
    True
    """


class _PerThread(ABC):
    """One database connection per thread (and per process): a connection is never shared, so
    threads never interleave their transactions. ``close`` closes every thread's connection."""

    def _init_connections(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: dict[int, object] = {}  # thread ident -> connection
        self._generation = 0
        self._pid = os.getpid()

    @abstractmethod
    def _connect(self):
        """A new connection to the backend's database."""

    def _conn(self):
        if self._pid != os.getpid():  # forked: the parent's connections are not ours to use
            self._init_connections()
        held = getattr(self._local, "held", None)
        if held is not None and held[0] == self._generation:
            return held[1]
        conn = self._connect()
        with self._lock:
            alive = {thread.ident for thread in threading.enumerate()}
            for ident in [i for i in self._connections if i not in alive]:
                _close_quietly(self._connections.pop(ident))  # its thread has ended
            self._connections[threading.get_ident()] = conn
            self._local.held = (self._generation, conn)
        return conn

    def close(self) -> None:
        with self._lock:
            self._generation += 1
            connections, self._connections = list(self._connections.values()), {}
        for conn in connections:
            _close_quietly(conn)


def _close_quietly(conn) -> None:
    try:
        conn.close()
    except Exception:  # closing a connection whose thread is gone: nothing left to do
        pass


def set_wal(conn, *, patience: float = 60.0) -> None:
    """Put the database in write-ahead-log mode, retrying while another process holds it.

    Two processes opening a new ledger at once can deadlock on the switch (each holds a shared
    lock the other's switch must upgrade past); SQLite then answers "database is locked" at once,
    without waiting for its busy timeout. Each attempt is its own statement, so a failed one
    releases its locks and the next finds the file switched or free. WAL persists in the file:
    a database already in WAL mode takes no lock at all.

    Examples
    --------
    >>> import sqlite3, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "x.sqlite"
    >>> conn = sqlite3.connect(path, isolation_level=None)
    >>> set_wal(conn)
    >>> conn.execute("PRAGMA journal_mode").fetchone()[0]
    'wal'
    """
    deadline = time.monotonic() + patience
    while True:
        try:
            if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class SQLiteDatabase(_PerThread):
    """One SQLite file: the ledger's database, or a file of its own (the privacy registry).

    ``wal``: write-ahead logging (readers never wait for a writer); off for a file that may live
    on a network drive, where SQLite's shared-memory index does not work.
    """

    dialect = "sqlite"

    def __init__(self, db_path: Path, *, wal: bool = True) -> None:
        self.db_path = Path(db_path)
        self._wal = wal
        self._init_connections()
        self._depth = threading.local()  # open write blocks of this thread (nested ones join)

    @property
    def location(self) -> str:
        return str(self.db_path)

    def _connect(self) -> sqlite3.Connection:
        try:
            self.db_path.parent.mkdir(parents=True, exist_ok=True)
            # check_same_thread=False only so that close() may close another thread's connection
            conn = sqlite3.connect(
                self.db_path, timeout=60, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA busy_timeout=60000")
            if self._wal:
                set_wal(conn)
                conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
        except (OSError, sqlite3.DatabaseError) as error:
            raise LedgerError(
                f"Cannot open the database {str(self.db_path)!r}: {error}. If the file is "
                f"damaged, move it aside."
            ) from error
        return conn

    def init_schema(self, schema: str) -> None:
        try:
            self._conn().executescript(schema)
        except sqlite3.DatabaseError as error:
            raise LedgerError(
                f"{str(self.db_path)!r} is not a readable database ({error}). Move it aside to "
                f"start a new one."
            ) from error

    def columns(self, table: str) -> list[str]:
        """The columns of ``table`` in file order (empty when there is no such table)."""
        _, rows = self.query("SELECT name FROM pragma_table_info(?)", (table,))
        return [row[0] for row in rows]

    def add_column(self, table: str, column: str, kind: str) -> None:
        """Add a column to a table of an older ledger (no-op when it exists)."""
        if column not in self.columns(table):
            with self.write() as conn:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")

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
            raise LedgerError(f"Cannot write to {str(self.db_path)!r}: {error}.") from error
        self._depth.n = 1
        try:
            yield conn
        except sqlite3.DatabaseError as error:
            conn.execute("ROLLBACK")
            raise LedgerError(f"Cannot write to {str(self.db_path)!r}: {error}.") from error
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        finally:
            self._depth.n = 0
        try:
            conn.execute("COMMIT")
        except sqlite3.DatabaseError as error:
            conn.execute("ROLLBACK")
            raise LedgerError(f"Cannot write to {str(self.db_path)!r}: {error}.") from error

    def query(self, sql: str, params: tuple = ()) -> tuple[list[str], list[tuple]]:
        try:
            cursor = self._conn().execute(sql, params)
        except sqlite3.DatabaseError as error:
            raise LedgerError(f"Cannot read {str(self.db_path)!r}: {error}.") from error
        return [c[0] for c in cursor.description], cursor.fetchall()


class SQLiteBackend(SQLiteDatabase):
    """One SQLite file in WAL mode beside a folder of content-addressed files."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.artifact_root = self.root / "artifacts"
        try:
            self.artifact_root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise LedgerError(
                f"Cannot create the ledger folder {str(self.root)!r}: {error}."
            ) from error
        super().__init__(self.root / "ledger.sqlite")

    @property
    def location(self) -> str:
        return str(self.root)

    def init_schema(self, schema: str) -> None:
        super().init_schema(schema)
        self._remove_stale_temporaries()

    def _remove_stale_temporaries(self) -> None:
        """Delete the temporary files of artifact writers that died before renaming them."""
        now = time.time()
        for path in self.artifact_root.glob("*/.tmp-*"):
            match = _TMP_NAME.match(path.name)
            try:
                if match and match[1] == host_tag():
                    start = None if match[3] == "x" else match[3]
                    gone = writer_is_gone(
                        {"host": socket.gethostname(), "pid": int(match[2]), "start": start}
                    )
                elif match:  # another host's writer: cannot be checked, stale when long untouched
                    gone = now - path.stat().st_mtime > _STALE_SECONDS
                else:  # not named by a writer (left by raikit before writers were named)
                    gone = True
                if gone:
                    path.unlink()
            except OSError:  # removed meanwhile, or not ours to remove
                continue

    def artifact_path(self, digest: str) -> Path:
        return self.artifact_root / digest[:2] / digest

    def store_blob(self, digest: str, data: bytes) -> None:
        path = self.artifact_path(digest)
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = this_writer()
        prefix = f".tmp-{host_tag()}-{writer['pid']}-{writer['start'] or 'x'}-"
        handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=prefix)
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


class _PostgresCursor:
    """Runs the ledger's portable SQL on a psycopg connection."""

    def __init__(self, conn) -> None:
        self._conn = conn

    def execute(self, sql: str, params: tuple = ()):
        return self._conn.execute(_postgres_sql(sql), params)

    def executemany(self, sql: str, rows):
        cursor = self._conn.cursor()
        rows = list(rows)
        if rows:  # psycopg sends the batch in one pipeline
            cursor.executemany(_postgres_sql(sql), rows)
        return cursor


def _postgres_sql(sql: str) -> str:
    text = sql.replace("%", "%%").replace("?", "%s")
    if text.lstrip().upper().startswith("INSERT OR IGNORE INTO"):
        text = text.replace("INSERT OR IGNORE INTO", "INSERT INTO", 1) + " ON CONFLICT DO NOTHING"
    return text


class PostgresBackend(_PerThread):
    """Tables and artifacts in one PostgreSQL database (``postgresql://user@host/db``)."""

    dialect = "postgresql"

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
        self._init_connections()

    @property
    def location(self) -> str:
        return self.uri.split("@")[-1]  # never print a password

    def _connect(self):
        try:
            return self._psycopg.connect(self.uri, autocommit=True)
        except self._psycopg.Error as error:
            raise LedgerError(
                f"Cannot connect to the ledger database {self.location!r}: {error}".strip()
            ) from error

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

    def columns(self, table: str) -> list[str]:
        """The columns of ``table`` in table order (empty when there is no such table)."""
        _, rows = self.query(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
            "AND table_schema = current_schema() ORDER BY ordinal_position",
            (table,),
        )
        return [row[0] for row in rows]

    def add_column(self, table: str, column: str, kind: str) -> None:
        """Add a column to a table of an older ledger (no-op when it exists)."""
        with self.write() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(7263101)")  # as init_schema: one at a time
            cur.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {kind}")


def backend_for(uri) -> SQLiteBackend | PostgresBackend:
    text = str(uri)
    if text.startswith(("postgres://", "postgresql://")):
        return PostgresBackend(text)
    return SQLiteBackend(Path(uri))
