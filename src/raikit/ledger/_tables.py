"""Tables of other stages in a ledger's database: declared once, read and written without SQL.

A stage (the monitor, the review queue, the privacy registry) declares a table with its columns and
primary key; :class:`Store` creates it when missing (and adds columns a newer raikit declares to a
table an older one made). :class:`Table` inserts, upserts, selects, updates, deletes and counts rows.
Table and column names are checked identifiers (lower-case letters, digits and ``_``) and always
quoted; values are always bound as parameters, never written into the SQL text. The same calls run
on SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from raikit._errors import ParameterError
from raikit.ledger._backends import LedgerError, SQLiteDatabase, backend_for

__all__ = ["Store", "Table"]

_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_KIND = re.compile(r"(text|integer|real|blob|serial)( not null)?")
_TYPES = {
    "sqlite": {"text": "TEXT", "integer": "INTEGER", "real": "REAL", "blob": "BLOB"},
    "postgresql": {
        "text": "TEXT",
        "integer": "BIGINT",
        "real": "DOUBLE PRECISION",
        "blob": "BYTEA",
    },
}
_SERIAL = {"sqlite": "INTEGER PRIMARY KEY", "postgresql": "BIGSERIAL PRIMARY KEY"}
_IN_CHUNK = 20_000  # values per "IN (...)" (SQLite binds at most 32,766 parameters)


def _name(name, what: str = "table") -> str:
    """``name`` quoted for SQL, once checked to be a plain identifier."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ParameterError(
            f"{str(name)[:80]!r} is not a valid {what} name: use 1 to 63 lower-case letters, "
            f"digits and '_', starting with a letter or '_' (e.g. 'monitor_ids')."
        )
    if what == "table" and name.startswith(("sqlite_", "pg_")):
        raise ParameterError(
            f"{name!r} is not a valid table name: names starting with 'sqlite_' or 'pg_' belong "
            f"to the database itself."
        )
    return f'"{name}"'


def _value(value: Any) -> Any:
    """A value the database drivers bind: numpy scalars as Python ones, NaN and NA as NULL."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and value != value:
        return None
    return value


def _column_values(column: pd.Series) -> list:
    """A column's values as Python objects the drivers bind (missing ones as None)."""
    values = column.to_numpy(dtype=object, copy=True)  # numpy numbers become Python numbers
    values[pd.isna(values)] = None
    if column.dtype == object and pd.api.types.infer_dtype(values, skipna=True) not in (
        "string",
        "bytes",
        "empty",
    ):  # numpy scalars or NA objects held in an object column
        return [_value(v) for v in values.tolist()]
    return values.tolist()


class Table:
    """One declared table of a :class:`Store` (get it with :meth:`Store.table`).

    Every write is one transaction (it joins an open :meth:`Store.transaction`); reads return
    pandas DataFrames with the columns asked for, in that order.

    Attributes
    ----------
    name : str
    columns : dict
        Column name -> kind (``"text"``, ``"integer"``, ``"real"``, ``"blob"`` or ``"serial"``,
        optionally followed by ``" not null"``).
    primary_key : tuple of str
    store : Store
        The database the table lives in.

    See Also
    --------
    raikit.ledger.Store : the database the table lives in.

    Examples
    --------
    >>> import tempfile
    >>> from raikit.ledger import Ledger
    >>> ledger = Ledger(tempfile.mkdtemp())
    >>> notes = ledger.table(
    ...     "notes", {"id": "text not null", "body": "text", "stars": "integer"}, primary_key="id"
    ... )
    >>> notes.insert([{"id": "a", "body": "fine", "stars": 4}, {"id": "b", "body": None, "stars": 3}])
    2
    >>> notes.insert([{"id": "a", "body": "again", "stars": 1}], ignore=True)  # already there
    0
    >>> notes.update({"stars": 2}, where={"id": "b"})
    1
    >>> notes.select(["id", "stars"], order_by="id").values.tolist()
    [['a', 4], ['b', 2]]
    """

    def __init__(self, store: Store, name: str, columns: dict, primary_key: tuple) -> None:
        self.store = store
        self.name = name
        self.columns = columns
        self.primary_key = primary_key
        self._sql_name = _name(name)

    def __repr__(self) -> str:
        return f"Table({self.name!r}, columns={list(self.columns)})"

    # ------------------------------------------------------------------ helpers
    def _column(self, column) -> str:
        quoted = _name(column, "column")
        if column not in self.columns:
            raise ParameterError(
                f"Table {self.name!r} has no column {column!r}; its columns are "
                f"{list(self.columns)}."
            )
        return quoted

    def _rows(self, rows) -> tuple[list[str], list[tuple]]:
        """Column names and value tuples of ``rows`` (a DataFrame or mappings of one shape)."""
        if isinstance(rows, pd.DataFrame):
            names = [str(c) for c in rows.columns]
            for name in names:
                self._column(name)
            columns = [_column_values(rows.iloc[:, i]) for i in range(len(names))]
            return names, list(zip(*columns, strict=True))
        rows = list(rows) if not isinstance(rows, Mapping) else [rows]
        if not rows:
            return [], []
        names = list(rows[0])
        for name in names:
            self._column(name)
        out = []
        for i, row in enumerate(rows):
            if not isinstance(row, Mapping) or row.keys() != set(names):
                raise ParameterError(
                    f"Row {i} of the rows for table {self.name!r} has the columns "
                    f"{list(row) if isinstance(row, Mapping) else type(row).__name__}, not "
                    f"{names} as the first row; give every row the same columns."
                )
            out.append(tuple(_value(row[name]) for name in names))
        return names, out

    def _where(self, where: Mapping | None) -> tuple[list[str], list, tuple[str, list] | None]:
        """SQL conditions and parameters of an equality filter; a list value (``IN``) is
        returned apart, to be sent in chunks."""
        clauses, params, listed = [], [], None
        for column, value in (where or {}).items():
            quoted = self._column(column)
            if isinstance(
                value, list | tuple | set | frozenset | np.ndarray | pd.Index | pd.Series
            ):
                if listed is not None:
                    raise ParameterError(
                        f"Filter at most one column of {self.name!r} by a list of values; "
                        f"{listed[0]!r} and {column!r} both have lists."
                    )
                values = list(value) if isinstance(value, set | frozenset) else value
                listed = (column, _column_values(pd.Series(values)))
            elif _value(value) is None:
                clauses.append(f"{quoted} IS NULL")
            else:
                clauses.append(f"{quoted} = ?")
                params.append(_value(value))
        return clauses, params, listed

    def _chunks(self, where: Mapping | None):
        """(WHERE text, parameters) per chunk of the filter's list of values (one without)."""
        clauses, params, listed = self._where(where)
        if listed is None:
            yield (" WHERE " + " AND ".join(clauses) if clauses else ""), tuple(params)
            return
        column, values = listed
        for start in range(0, len(values), _IN_CHUNK):
            part = values[start : start + _IN_CHUNK]
            condition = f"{_name(column)} IN ({', '.join('?' * len(part))})"
            yield " WHERE " + " AND ".join([*clauses, condition]), (*params, *part)

    def index(self, name: str, columns: Sequence[str], *, unique: bool = False) -> None:
        """Create an index on the table (a no-op when it exists).

        ``unique=True`` makes the database refuse a second row with the same values; creating it
        fails (:class:`LedgerError`) when stored rows already repeat them.
        """
        quoted = _name(name, "index")
        indexed = ", ".join(self._column(c) for c in columns)
        kind = "UNIQUE INDEX" if unique else "INDEX"
        with self.store.transaction() as cur:
            cur.execute(f"CREATE {kind} IF NOT EXISTS {quoted} ON {self._sql_name} ({indexed})")

    # ------------------------------------------------------------------ writing
    def insert(self, rows, *, ignore: bool = False) -> int:
        """Insert rows (a DataFrame, or mappings column -> value) in one transaction.

        A row whose primary key is stored already is an error (nothing of the batch is kept),
        or, with ``ignore=True``, skipped: re-running the same insert then stores nothing twice.
        NaN and missing values are stored as NULL.

        Returns
        -------
        int
            The number of rows stored.
        """
        names, values = self._rows(rows)
        if not values:
            return 0
        sql = (
            f"INSERT INTO {self._sql_name} ({', '.join(_name(n) for n in names)}) "
            f"VALUES ({', '.join('?' * len(names))})"
        )
        if ignore:
            sql += " ON CONFLICT DO NOTHING"
        with self.store.transaction() as cur:
            return cur.executemany(sql, values).rowcount

    def add(self, row: Mapping) -> int:
        """Insert one row and return the number the database gave its ``serial`` column."""
        serial = [c for c, kind in self.columns.items() if kind.startswith("serial")]
        if not serial:
            raise ParameterError(f"Table {self.name!r} has no serial column to number rows by.")
        names, values = self._rows([row])
        sql = (
            f"INSERT INTO {self._sql_name} ({', '.join(_name(n) for n in names)}) "
            f"VALUES ({', '.join('?' * len(names))}) RETURNING {_name(serial[0])}"
        )
        with self.store.transaction() as cur:
            return int(cur.execute(sql, values[0]).fetchone()[0])

    def upsert(self, rows) -> int:
        """Insert rows, replacing the other columns of rows whose primary key is stored already.

        Returns
        -------
        int
            The number of rows written (inserted or replaced).
        """
        if not self.primary_key:
            raise ParameterError(f"Table {self.name!r} has no primary key to upsert by.")
        names, values = self._rows(rows)
        if not values:
            return 0
        missing = [k for k in self.primary_key if k not in names]
        if missing:
            raise ParameterError(
                f"Rows for {self.name!r} lack the primary-key column(s) {missing}."
            )
        rest = [n for n in names if n not in self.primary_key]
        action = (
            "DO UPDATE SET " + ", ".join(f"{_name(n)} = excluded.{_name(n)}" for n in rest)
            if rest
            else "DO NOTHING"
        )
        sql = (
            f"INSERT INTO {self._sql_name} ({', '.join(_name(n) for n in names)}) "
            f"VALUES ({', '.join('?' * len(names))}) "
            f"ON CONFLICT ({', '.join(_name(k) for k in self.primary_key)}) {action}"
        )
        with self.store.transaction() as cur:
            return cur.executemany(sql, values).rowcount

    def update(self, values: Mapping, *, where: Mapping) -> int:
        """Set columns to ``values`` in the rows matching ``where``; returns how many changed.

        ``where`` maps columns to a value (equality), ``None`` (is NULL) or a list (one of);
        ``where={}`` updates every row.
        """
        if not values:
            raise ParameterError(f"Give the columns of {self.name!r} to update, e.g. {{'a': 1}}.")
        names, (row,) = self._rows([dict(values)])
        assignments = ", ".join(f"{_name(n)} = ?" for n in names)
        changed = 0
        with self.store.transaction() as cur:
            for condition, params in self._chunks(where):
                sql = f"UPDATE {self._sql_name} SET {assignments}{condition}"
                changed += cur.execute(sql, (*row, *params)).rowcount
        return changed

    def delete(self, *, where: Mapping) -> int:
        """Delete the rows matching ``where`` (``where={}``: every row); returns how many."""
        deleted = 0
        with self.store.transaction() as cur:
            for condition, params in self._chunks(where):
                deleted += cur.execute(f"DELETE FROM {self._sql_name}{condition}", params).rowcount
        return deleted

    # ------------------------------------------------------------------ reading
    def select(
        self,
        columns: Sequence[str] | None = None,
        *,
        where: Mapping | None = None,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
        lock: bool = False,
        raw: bool = False,
    ) -> pd.DataFrame:
        """Rows matching ``where`` as a DataFrame.

        Parameters
        ----------
        columns : list of str, optional
            The columns to read (default: all, in declared order).
        where : dict, optional
            Column -> value (equality), ``None`` (is NULL) or a list of values (one of).
        order_by : str or list of str, optional
            Columns to sort by; a leading ``-`` sorts that column in descending order.
        limit : int, optional
            At most this many rows.
        lock : bool, default False
            Inside :meth:`Store.transaction`, keep the rows read from other writers until it
            ends (PostgreSQL locks them; SQLite's transaction holds the whole database already).
        raw : bool, default False
            Return a list of tuples of Python values instead (no DataFrame: faster for a lookup).
        """
        columns = list(self.columns) if columns is None else list(columns)
        selected = ", ".join(self._column(c) for c in columns)
        order = ""
        if order_by is not None:
            keys = [order_by] if isinstance(order_by, str | bytes | int) else list(order_by)
            if not all(isinstance(key, str) for key in keys):
                raise ParameterError(
                    f"order_by takes column names (a leading '-' sorts descending), got "
                    f"{order_by!r}."
                )
            parts = [
                self._column(k[1:]) + " DESC" if k.startswith("-") else self._column(k)
                for k in keys
            ]
            order = " ORDER BY " + ", ".join(parts)
        if limit is not None:
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
                raise ParameterError(f"limit must be a non-negative integer, got {limit!r}.")
            order += f" LIMIT {int(limit)}"
        suffix = " FOR UPDATE" if lock and self.store.dialect == "postgresql" else ""
        chunks = list(self._chunks(where))
        if len(chunks) > 1 and (order_by is not None or limit is not None):
            raise ParameterError(
                f"Sorting or limiting a filter of more than {_IN_CHUNK:,} values is not supported; "
                f"sort the result in pandas."
            )
        rows: list = []
        for condition, params in chunks:
            sql = f"SELECT {selected} FROM {self._sql_name}{condition}{order}{suffix}"
            rows += self.store._backend.query(sql, params)[1]
        return rows if raw else pd.DataFrame(rows, columns=columns)

    def get(
        self, columns: Sequence[str] | None = None, *, where: Mapping, lock: bool = False
    ) -> dict | None:
        """The first row matching ``where`` as a dict of Python values, or None when none does.

        ``lock`` as in :meth:`select`.
        """
        columns = list(self.columns) if columns is None else list(columns)
        rows = self.select(columns, where=where, limit=1, lock=lock, raw=True)
        return dict(zip(columns, rows[0], strict=True)) if rows else None

    def count(self, *, where: Mapping | None = None) -> int:
        """How many rows match ``where`` (all rows without it)."""
        total = 0
        for condition, params in self._chunks(where):
            sql = f"SELECT COUNT(*) FROM {self._sql_name}{condition}"
            total += int(self.store._backend.query(sql, params)[1][0][0])
        return total


class Store:
    """A database of declared tables: a ledger's (``Ledger.table``) or a file of its own.

    Parameters
    ----------
    uri : str or path
        A SQLite file (created with its folder when missing) or a ``postgresql://`` URI.
    wal : bool, default False
        SQLite only: write-ahead logging. Leave it off for a file on a network drive.

    See Also
    --------
    raikit.ledger.Ledger : the evidence store built on it.

    Examples
    --------
    >>> import os, tempfile
    >>> from raikit.ledger import Store
    >>> store = Store(os.path.join(tempfile.mkdtemp(), "counts.sqlite"))
    >>> hits = store.table("hits", {"page": "text not null", "n": "integer"}, primary_key="page")
    >>> with store.transaction():  # both writes, or neither
    ...     _ = hits.upsert([{"page": "home", "n": 1}])
    ...     _ = hits.upsert([{"page": "home", "n": 2}, {"page": "faq", "n": 1}])
    >>> hits.select(order_by="-n").values.tolist()
    [['home', 2], ['faq', 1]]
    >>> store.close()
    """

    def __init__(self, uri: str | os.PathLike, *, wal: bool = False, _backend=None) -> None:
        if _backend is None:
            text = str(uri)
            if text.startswith(("postgres://", "postgresql://")):
                _backend = backend_for(text)
            else:
                _backend = SQLiteDatabase(os.fspath(uri), wal=wal)
        self._backend = _backend
        self.dialect = _backend.dialect
        self._tables: dict[str, Table] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Store({self._backend.location!r})"

    def transaction(self):
        """A block whose writes (to any of the store's tables) commit together, or not at all.

        Blocks nest: an inner block joins the outer one. On SQLite the block holds the database's
        write lock, so writers are serialised.
        """
        return self._backend.write()

    def has_table(self, name: str) -> bool:
        """Whether the database holds a table ``name`` (without creating it)."""
        _name(name)
        return bool(self._backend.columns(name))

    def table(
        self,
        name: str,
        columns: Mapping[str, str],
        *,
        primary_key: str | Sequence[str] = (),
        indexes: Mapping[str, Sequence[str]] | None = None,
        compact: bool = False,
    ) -> Table:
        """Declare a table (created when missing) and return it.

        Parameters
        ----------
        name : str
            Lower-case letters, digits and ``_``.
        columns : dict
            Column name -> ``"text"``, ``"integer"``, ``"real"``, ``"blob"`` or ``"serial"`` (an
            integer the database numbers, the primary key), each optionally ``" not null"``.
        primary_key : str or list of str, optional
            The columns that identify a row; inserting a stored key again is refused (or skipped).
        indexes : dict, optional
            Index name -> its columns, for the filters used often.
        compact : bool, default False
            SQLite only: keep the rows inside the primary key's B-tree (``WITHOUT ROWID``), for
            tables of small rows looked up by their key.

        A table made earlier with fewer columns gets the missing ones (they must allow NULL).
        Declaring the same name again with other columns or another key is refused.
        """
        quoted = _name(name)
        columns = dict(columns)
        if not columns:
            raise ParameterError(f"Table {name!r} needs at least one column.")
        for column, kind in columns.items():
            _name(column, "column")
            if not isinstance(kind, str) or not _KIND.fullmatch(kind):
                raise ParameterError(
                    f"Column {column!r} of table {name!r} has the kind {kind!r}; use 'text', "
                    f"'integer', 'real', 'blob' or 'serial', optionally with ' not null'."
                )
        key = (primary_key,) if isinstance(primary_key, str) else tuple(primary_key)
        serial = [c for c, kind in columns.items() if kind.startswith("serial")]
        if (serial and key not in ((), tuple(serial[:1]))) or len(serial) > 1:
            raise ParameterError(f"A serial column is the whole primary key of {name!r}.")
        key = tuple(serial) or key
        for column in key:
            if column not in columns:
                raise ParameterError(f"Primary key column {column!r} is not a column of {name!r}.")
        with self._lock:
            known = self._tables.get(name)
        if known is not None:
            if known.columns != columns or known.primary_key != key:
                raise ParameterError(
                    f"Table {name!r} is declared already with other columns or another key."
                )
            return known
        self._create(name, quoted, columns, key, compact)
        table = Table(self, name, columns, key)
        for index, indexed in (indexes or {}).items():
            table.index(index, indexed)
        with self._lock:
            self._tables[name] = table
        return table

    def _create(self, name, quoted, columns, key, compact) -> None:
        types = _TYPES[self.dialect]
        parts = []
        for column, kind in columns.items():
            base, _, null = kind.partition(" ")
            sql = _SERIAL[self.dialect] if base == "serial" else types[base]
            parts.append(f"{_name(column)} {sql}{' NOT NULL' if null else ''}")
        if key and not any(columns[c].startswith("serial") for c in key):
            parts.append(f"PRIMARY KEY ({', '.join(_name(c) for c in key)})")
        rowid = " WITHOUT ROWID" if compact and key and self.dialect == "sqlite" else ""
        with self.transaction() as cur:
            if self.dialect == "postgresql":  # CREATE ... IF NOT EXISTS is not race-free there
                cur.execute("SELECT pg_advisory_xact_lock(7263101)")
            have = self._backend.columns(name)
            if not have:
                cur.execute(f"CREATE TABLE IF NOT EXISTS {quoted} ({', '.join(parts)}){rowid}")
                return
            for column, kind in columns.items():  # a table made by an older raikit
                if column in have:
                    continue
                base, _, null = kind.partition(" ")
                if null or base == "serial":
                    raise LedgerError(
                        f"Table {name!r} in {self._backend.location!r} was made without column "
                        f"{column!r}, which cannot be added to stored rows (it may not be NULL)."
                    )
                cur.execute(f"ALTER TABLE {quoted} ADD COLUMN {_name(column)} {types[base]}")

    def close(self) -> None:
        """Close the store's database connections (of every thread)."""
        self._backend.close()
