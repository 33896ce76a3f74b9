"""The ledger's table API (``Ledger.table``, ``Store``): the same behaviour on SQLite and PostgreSQL,
hostile names refused, hostile values stored as data, whole batches or nothing, re-runs counted once,
and no module outside ``raikit.ledger`` reaching into the ledger's private methods."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from raikit._errors import ParameterError, RaikitError
from raikit.ledger import Ledger, LedgerError, Store

SRC = Path(__file__).resolve().parents[2] / "src"
_NOTES = {"id": "text not null", "body": "text", "stars": "integer", "score": "real"}


@pytest.fixture(params=["sqlite", "postgres"])
def uri(request, tmp_path):
    if request.param == "sqlite":
        return str(tmp_path / "ledger")
    import psycopg

    server = request.getfixturevalue("postgres_uri")  # skips when PostgreSQL is absent
    name = f"t{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return server.replace("/postgres?", f"/{name}?")


@pytest.fixture
def ledger(uri):
    opened = Ledger(uri)
    yield opened
    opened.close()


def _notes(ledger):
    return ledger.table("notes", _NOTES, primary_key="id", indexes={"notes_stars": ["stars"]})


def test_rows_round_trip_with_filters_order_and_nulls(ledger):
    notes = _notes(ledger)
    rows = pd.DataFrame(
        {
            "id": ["a", "b", "c", "d"],
            "body": ["x", None, "z", "w"],
            "stars": np.array([3, 1, 3, 5], dtype=np.int64),
            "score": [0.5, np.nan, 1.25, -2.0],
        }
    )
    assert notes.insert(rows) == 4
    assert notes.count() == 4 and notes.count(where={"stars": 3}) == 2
    picked = notes.select(["id", "score"], where={"stars": 3}, order_by="-id")
    assert picked.values.tolist() == [["c", 1.25], ["a", 0.5]]
    assert notes.select(["id"], where={"body": None})["id"].tolist() == ["b"]  # NaN/None -> NULL
    assert notes.select(["id"], where={"id": ["d", "a", "zz"]}, order_by="id")["id"].tolist() == [
        "a",
        "d",
    ]
    assert notes.select(["id"], order_by=["stars", "-id"], limit=2)["id"].tolist() == ["b", "c"]
    assert notes.get(where={"id": "b"}) == {"id": "b", "body": None, "stars": 1, "score": None}
    assert notes.get(where={"id": "nope"}) is None
    assert notes.update({"body": "y", "stars": 2}, where={"id": "b"}) == 1
    assert notes.upsert([{"id": "a", "stars": 4}, {"id": "e", "stars": 0}]) == 2
    assert notes.get(["body", "stars"], where={"id": "a"}) == {"body": "x", "stars": 4}
    assert notes.delete(where={"stars": [0, 5]}) == 2
    assert sorted(notes.select(["id"])["id"]) == ["a", "b", "c"]
    assert notes.select(["id"], where={"id": []}).empty and notes.count(where={"id": []}) == 0


def test_a_long_list_filter_is_sent_in_chunks(ledger):
    ids = ledger.table("ids", {"id": "integer not null"}, primary_key="id", compact=True)
    assert ids.insert(pd.DataFrame({"id": np.arange(45_000)})) == 45_000
    wanted = np.arange(-10, 45_010, 2)  # more values than one statement may bind on SQLite
    found = ids.select(["id"], where={"id": wanted}, raw=True)
    assert sorted(row[0] for row in found) == list(range(0, 45_000, 2))
    assert ids.count(where={"id": wanted}) == 22_500


def test_serial_numbers_rows_and_the_same_declaration_is_reused(ledger):
    log = ledger.table("log", {"id": "serial", "what": "text not null"})
    assert [log.add({"what": w}) for w in ("a", "b", "c")] == [1, 2, 3]
    assert ledger.table("log", {"id": "serial", "what": "text not null"}) is log
    with pytest.raises(ParameterError, match="declared already"):
        ledger.table("log", {"id": "serial", "what": "text"})


def test_reinserting_a_batch_counts_nothing_twice(ledger):
    notes = _notes(ledger)
    batch = [{"id": f"n{i}", "body": "b", "stars": i, "score": 0.0} for i in range(50)]
    assert notes.insert(batch, ignore=True) == 50
    assert notes.insert(batch, ignore=True) == 0
    again = [*batch[40:], {"id": "new", "body": None, "stars": 1, "score": 1.0}]
    assert notes.insert(again, ignore=True) == 1
    assert notes.count() == 51


def test_a_batch_with_one_bad_row_stores_nothing(ledger):
    notes = _notes(ledger)
    notes.insert([{"id": "a"}])
    batch = [{"id": "b"}, {"id": "c"}, {"id": "a"}, {"id": "d"}]  # "a" is stored already
    with pytest.raises(LedgerError):
        notes.insert(batch)
    assert notes.select(["id"])["id"].tolist() == ["a"]
    with pytest.raises(LedgerError):
        notes.insert([{"id": "e"}, {"id": None}])  # NOT NULL
    assert notes.count() == 1


def test_a_transaction_spans_tables_and_rolls_back_together(ledger):
    notes = _notes(ledger)
    tags = ledger.table("tags", {"note": "text not null", "tag": "text not null"})
    with pytest.raises(RuntimeError):
        with ledger.transaction():
            notes.insert([{"id": "a"}])
            tags.insert([{"note": "a", "tag": "t"}])
            notes.update({"stars": 9}, where={})
            raise RuntimeError("crash before the block ends")
    assert notes.count() == 0 and tags.count() == 0
    with ledger.transaction():
        notes.insert([{"id": "a"}])
        tags.insert([{"note": "a", "tag": "t"}])
    assert notes.count() == 1 and tags.count() == 1


@pytest.mark.parametrize(
    "name",
    [
        "notes; DROP TABLE runs",
        'notes" (id TEXT); DROP TABLE runs; --',
        "Runs",
        "a b",
        "",
        "1table",
        "x" * 64,
        "naïve",
        None,
        42,
    ],
)
def test_hostile_table_and_column_names_are_refused(ledger, name):
    with pytest.raises(ParameterError, match="not a valid table name"):
        ledger.table(name, {"id": "text"})
    with pytest.raises(ParameterError, match="not a valid column name"):
        ledger.table("fine", {name: "text"})
    notes = _notes(ledger)
    for call in (
        lambda: notes.insert([{name: 1}]),
        lambda: notes.select([name]),
        lambda: notes.select(where={name: 1}),
        lambda: notes.select(order_by=name if name is not None else [None]),
        lambda: notes.update({name: 1}, where={}),
        lambda: notes.delete(where={name: 1}),
        lambda: notes.index(name, ["id"]),
    ):
        with pytest.raises(ParameterError):
            call()
    with pytest.raises(ParameterError, match="kind"):
        ledger.table("fine", {"id": "text); DROP TABLE runs; --"})
    assert ledger.has_table("runs") and not ledger.has_table("fine")
    assert len(ledger.runs()) == 0  # the ledger's own tables are intact


@pytest.mark.parametrize("name", ["runs", "evidence", "artifacts", "artifact_data"])
def test_the_ledgers_own_tables_are_not_handed_out(ledger, name):
    with pytest.raises(ParameterError, match="one of the ledger's own tables"):
        ledger.table(name, {"id": "text", "extra": "text"})
    with pytest.raises(ParameterError, match="belong to the database"):
        ledger.table("sqlite_master", {"name": "text"})
    assert "extra" not in ledger.run(ledger.start_run("x").id)


def test_an_unknown_column_is_named_in_the_error(ledger):
    notes = _notes(ledger)
    with pytest.raises(ParameterError, match=r"no column 'stras'.*\['id', 'body', 'stars'"):
        notes.select(where={"stras": 1})


@pytest.mark.parametrize(
    "value",
    [
        "'); DROP TABLE notes; --",
        '" OR 1=1 --',
        "100% of ? and %s and %(x)s",
        "line\nbreak\ttab\r",
        "ünïcödé 🚀",
    ],
)
def test_sql_in_values_is_stored_as_data(ledger, value):
    notes = _notes(ledger)
    notes.insert([{"id": value, "body": value}, {"id": "other", "body": "x"}])
    assert notes.get(["body"], where={"id": value}) == {"body": value}
    assert notes.count(where={"body": value}) == 1
    assert notes.update({"stars": 1}, where={"body": value}) == 1
    assert notes.delete(where={"id": value}) == 1
    assert notes.select(["id"])["id"].tolist() == ["other"]


def test_a_nul_character_is_stored_or_refused_cleanly(ledger):
    notes = _notes(ledger)
    try:
        notes.insert([{"id": "a\x00b"}])
    except LedgerError as error:  # PostgreSQL text cannot hold NUL: one clear error, nothing kept
        assert "NUL" in str(error) and notes.count() == 0
    else:
        assert notes.select(["id"])["id"].tolist() == ["a\x00b"]


def test_a_table_made_by_an_older_version_gains_new_columns(ledger):
    ledger.table("old", {"id": "text not null"}, primary_key="id").insert([{"id": "a"}])
    again = Ledger(ledger.uri)  # a newer raikit declares one more column
    table = again.table("old", {"id": "text not null", "extra": "real"}, primary_key="id")
    assert table.select().to_dict("records") == [{"id": "a", "extra": None}]
    newer = Ledger(ledger.uri)
    with pytest.raises(LedgerError, match="may not be NULL"):
        newer.table("old", {"id": "text not null", "extra": "real", "must": "text not null"})
    again.close()
    newer.close()


_KILLED_BATCH = textwrap.dedent(
    """
    import os, signal, sys
    sys.path.insert(0, {src!r})
    from raikit.ledger import Ledger

    ledger = Ledger({uri!r})
    rows = ledger.table("rows", {{"id": "integer not null", "batch": "text"}}, primary_key="id")
    with ledger.transaction():
        for start in range(0, 1000, 100):
            rows.insert([{{"id": i, "batch": "b"}} for i in range(start, start + 100)],
                        ignore=True)
            if {kill} and start == 500:
                os.kill(os.getpid(), signal.SIGKILL)
    """
)


def test_sigkill_in_the_middle_of_a_batch_leaves_none_of_it(uri, tmp_path):
    ledger = Ledger(uri)
    rows = ledger.table("rows", {"id": "integer not null", "batch": "text"}, primary_key="id")
    rows.insert([{"id": -1, "batch": "before"}])

    def run(kill: bool) -> int:
        script = tmp_path / f"batch_{kill}.py"
        script.write_text(_KILLED_BATCH.format(src=str(SRC), uri=uri, kill=kill))
        return subprocess.run([sys.executable, str(script)], capture_output=True, timeout=120)

    assert run(kill=True).returncode == -9
    assert rows.select(["id"])["id"].tolist() == [-1]  # 600 rows were inserted, none committed
    assert run(kill=False).returncode == 0
    assert run(kill=False).returncode == 0  # the same batch again: counted once
    assert rows.count() == 1001 and rows.count(where={"batch": "b"}) == 1000
    ledger.close()


_SAME_BATCH = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {src!r})
    from raikit.ledger import Ledger

    ledger = Ledger({uri!r})
    rows = ledger.table("rows", {{"id": "integer not null", "batch": "text"}}, primary_key="id")
    stored = 0
    for start in range(0, 2000, 250):
        stored += rows.insert([{{"id": i, "batch": "b"}} for i in range(start, start + 250)],
                              ignore=True)
    print(stored)
    """
)


def test_two_processes_sending_the_same_batches_store_each_row_once(uri, tmp_path):
    script = tmp_path / "same.py"
    script.write_text(_SAME_BATCH.format(src=str(SRC), uri=uri))
    workers = [
        subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    stored = [int(worker.communicate(timeout=120)[0]) for worker in workers]
    assert all(worker.returncode == 0 for worker in workers)
    assert sum(stored) == 2000  # each row counted by exactly one writer
    ledger = Ledger(uri)
    rows = ledger.table("rows", {"id": "integer not null", "batch": "text"}, primary_key="id")
    assert rows.count() == 2000
    ledger.close()


def test_a_store_on_its_own_file(tmp_path):
    path = tmp_path / "nested" / "own.sqlite"
    store = Store(path)
    counts = store.table("counts", {"k": "text not null", "n": "integer"}, primary_key="k")
    counts.upsert([{"k": "a", "n": 1}])
    counts.upsert([{"k": "a", "n": 2}])
    store.close()
    with sqlite3.connect(path) as conn:  # a plain SQLite file, in rollback-journal mode
        assert conn.execute("SELECT k, n FROM counts").fetchall() == [("a", 2)]
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    path.write_bytes(b"not a database" * 100)
    with pytest.raises(LedgerError, match=r"own\.sqlite"):
        Store(path).table("counts", {"k": "text"})


# ------------------------------------------------------------------ nothing else touches the SQL
_PRIVATE = [
    re.compile(r"\bledger\._\w+"),  # a Ledger's private methods (ledger._query, self.ledger._write)
    re.compile(r"raikit\.ledger\._\w+"),  # the ledger's private modules
    re.compile(r"\b_backend\.(query|write)\b"),
    re.compile(r"from raikit\.ledger import .*\b_\w+"),
]


def test_no_module_outside_the_ledger_reaches_into_it():
    root = SRC / "raikit"
    offending = []
    for path in sorted(root.rglob("*.py")):
        if path.is_relative_to(root / "ledger"):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if any(pattern.search(line) for pattern in _PRIVATE):
                offending.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    assert offending == [], "use the ledger's public table API instead:\n" + "\n".join(offending)


def test_the_check_finds_private_access():
    lines = [
        "with self.ledger._write() as conn:",
        "from raikit.ledger._store import fit_dataset",
        "ledger._backend.query(sql)",
    ]
    assert all(any(p.search(line) for p in _PRIVATE) for line in lines)
    assert not any(p.search("ledger.table('x', {})") for p in _PRIVATE)


def test_errors_are_raikit_errors():
    assert issubclass(LedgerError, RaikitError) and issubclass(ParameterError, RaikitError)
