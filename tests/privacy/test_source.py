"""Tests of PrivacySource: a budget that belongs to a registered data source, not to its bytes.

Each attack below gave a fresh, full budget when the odometer was keyed by a hash of the table.
"""

from __future__ import annotations

import multiprocessing
import re
import sqlite3
import time

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("opendp")

from raikit._errors import ColumnError, FileFormatError, ParameterError, RaikitError
from raikit.ledger import _backends
from raikit.privacy import (
    BudgetExceededError,
    PrivacySource,
    PrivacySourceError,
    PrivateTable,
    _source,
)


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    """A private home folder, so the registry ``~/.raikit/privacy/sources.sqlite`` is the test's."""
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("HOME", str(folder))
    monkeypatch.delenv("RAIKIT_PRIVACY_BUDGET", raising=False)
    return folder


@pytest.fixture
def frame():
    rng = np.random.default_rng(0)
    n = 400
    return pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "sex": rng.choice(["F", "M"], n),
            "income": rng.normal(50, 10, n),
        }
    )


def spent_out(frame, epsilon=1.0):
    """Register ``people`` with ``epsilon`` and spend all of it on one count."""
    PrivacySource.register("people", epsilon=epsilon)
    table = PrivateTable(frame, source="people", bounds={"age": (18, 90)})
    table.count(epsilon=epsilon)
    assert table.remaining == pytest.approx(0, abs=1e-9)
    return table


# ---------------------------------------------------------------------------- the attacks
REARRANGEMENTS = {
    "shuffled rows": lambda f: f.sample(frac=1, random_state=1),
    "added column": lambda f: f.assign(extra=1),
    "renamed column": lambda f: f.rename(columns={"income": "salary"}),
    "reordered columns": lambda f: f[f.columns[::-1]],
    "changed dtype": lambda f: f.astype({"age": float, "sex": "category"}),
    "one row dropped": lambda f: f.iloc[1:],
    "one row appended": lambda f: pd.concat([f, f.iloc[:1]], ignore_index=True),
    "index reset to strings": lambda f: f.set_axis([f"r{i}" for i in range(len(f))]),
}


@pytest.mark.parametrize("attack", list(REARRANGEMENTS))
def test_rearranged_table_gets_no_fresh_budget(frame, attack):
    spent_out(frame)
    again = PrivateTable(REARRANGEMENTS[attack](frame), source="people", bounds={"age": (18, 90)})
    assert again.spent == pytest.approx(1.0)
    with pytest.raises(BudgetExceededError, match="remains of data source 'people'"):
        again.count(epsilon=0.01)
    assert len(again.odometer) == 1


def test_other_budget_location_is_refused(frame, tmp_path, monkeypatch):
    spent_out(frame)
    other = tmp_path / "elsewhere.sqlite"
    with pytest.raises(PrivacySourceError, match="cannot be forked"):
        PrivateTable(frame, source="people", budget_path=other)
    with pytest.raises(PrivacySourceError, match="already registered with its odometer"):
        PrivacySource.register("people", epsilon=1.0, budget_path=other)
    monkeypatch.setenv("RAIKIT_PRIVACY_BUDGET", str(other))
    with pytest.raises(PrivacySourceError, match="RAIKIT_PRIVACY_BUDGET"):
        PrivateTable(frame, source="people")
    assert not other.exists()
    # Naming the registered location is fine, and still finds the spent budget.
    monkeypatch.setenv("RAIKIT_PRIVACY_BUDGET", str(_source.registry_path()))
    assert PrivateTable(frame, source="people").remaining == pytest.approx(0, abs=1e-9)


def test_bigger_budget_is_refused(frame):
    spent_out(frame)
    with pytest.raises(PrivacySourceError, match="cannot change by reopening"):
        PrivateTable(frame, source="people", epsilon=100)
    with pytest.raises(PrivacySourceError, match=r"already registered .* epsilon=1\.0"):
        PrivacySource.register("people", epsilon=100)
    with pytest.raises(PrivacySourceError, match="privacy_unit"):
        PrivacySource.register("people", epsilon=1.0, privacy_unit="id")
    # Registering again with the same settings is harmless and changes nothing.
    assert PrivacySource.register("people", epsilon=1.0).spent == pytest.approx(1.0)


def test_owner_reset_is_logged(frame, tmp_path):
    spent_out(frame)
    source = PrivacySource.open("people")
    with pytest.raises(ParameterError, match="reason"):
        source.reset(reason="", epsilon=2.0)
    grown = source.reset(reason="second data release approved by the board", epsilon=2.0)
    assert (grown.epsilon, grown.spent) == (2.0, pytest.approx(1.0))
    log = grown.resets
    assert log["reason"].tolist() == ["second data release approved by the board"]
    assert (log["old_epsilon"][0], log["new_epsilon"][0], log["spent_before"][0]) == (
        1.0,
        2.0,
        pytest.approx(1.0),
    )
    # Moving the odometer carries the spend along; the old location is then refused.
    moved = grown.reset(reason="move to the team drive", budget_path=tmp_path / "team.sqlite")
    assert moved.budget_path == (tmp_path / "team.sqlite").resolve()
    assert moved.spent == pytest.approx(1.0) and len(moved.resets) == 2
    table = PrivateTable(frame, source="people", budget_path=tmp_path / "team.sqlite")
    table.count(epsilon=0.5)
    with pytest.raises(PrivacySourceError, match="cannot be forked"):
        PrivateTable(frame, source="people", budget_path=_source.registry_path())
    fresh = moved.reset(reason="new collection period", forget_spent=True)
    assert fresh.spent == 0 and len(fresh.odometer) == 2  # the log is kept


# ---------------------------------------------------------------------------- the data
def test_table_is_copied(frame):
    PrivacySource.register("people", epsilon=100)
    table = PrivateTable(frame, source="people", bounds={"age": (0, 200)})
    truth = frame["age"].mean()
    frame["age"] = 200  # the caller's frame changes after construction
    frame.loc[frame.index[:200], "age"] = 0
    answer = table.mean("age", epsilon=50)
    assert answer.value == pytest.approx(truth, abs=1.0)


def test_person_id_unit_bounds_each_persons_rows():
    PrivacySource.register("visits", epsilon=4.0, privacy_unit="patient", rows_per_unit=2)
    visits = pd.DataFrame(
        {"patient": [1] * 50 + list(range(2, 202)), "cost": [100.0] * 50 + [10.0] * 200}
    )
    table = PrivateTable(visits, source="visits", bounds={"cost": (0, 100)})
    answer = table.count(epsilon=1.0)
    # One person moves the table by 2 rows: the count's noise scale is 2 / epsilon.
    assert answer.table["noise_scale"][0] == pytest.approx(2.0)
    assert answer.value == pytest.approx(202, abs=30)  # patient 1 truncated to 2 rows
    with pytest.raises(ColumnError, match="patient"):
        table.count("patient", epsilon=0.1)  # the id is never released
    with pytest.raises(ColumnError, match="column 'patient'"):
        PrivateTable(visits.drop(columns="patient"), source="visits")
    with pytest.raises(ParameterError, match="rows_per_unit applies to an id column"):
        PrivacySource.register("rows", epsilon=1.0, rows_per_unit=3)


def test_group_keys_only_from_a_declared_domain(frame):
    PrivacySource.register("people", epsilon=5)
    categorical = frame.astype({"sex": "category"})
    table = PrivateTable(categorical, source="people")
    with pytest.raises(ParameterError, match="no declared public domain") as error:
        table.group_by("sex", epsilon=0.5)
    assert "category" not in str(error.value)
    declared = PrivateTable(categorical, source="people", domains={"sex": ["F", "M", "X"]})
    answer = declared.group_by("sex", epsilon=0.5)
    assert answer.table["sex"].tolist() == ["F", "M", "X"]  # "X" released though nobody has it
    with pytest.raises(ParameterError, match=r"domains\[.age.\]: column .age. holds numbers"):
        PrivateTable(frame, source="people", domains={"age": ["young", "old"]})
    with pytest.raises(ParameterError, match=r"domains\[.sex.\] must be a list of values"):
        PrivateTable(frame, source="people", domains={"sex": "FM"})
    assert declared.spent == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("epsilon", "match"),
    [
        ("0.5", "must be a number"),
        (True, "must be a number"),
        (None, "must be a number"),
        (1e-300, "between 1e-06 and 100"),
        (5e-324, "between 1e-06 and 100"),
        (0.0, "between"),
        (-1.0, "between"),
        (1e9, "between"),
        (float("nan"), "between"),
        (float("inf"), "between"),
    ],
)
def test_bad_epsilon_is_one_clear_error(frame, epsilon, match):
    PrivacySource.register("people", epsilon=1.0)
    table = PrivateTable(frame, source="people", bounds={"age": (18, 90)})
    for caller, call in (
        ("PrivateTable.count", lambda: table.count(epsilon=epsilon)),
        ("PrivateTable.sum", lambda: table.sum("age", epsilon=epsilon)),
        ("PrivateTable.sql", lambda: table.sql("SELECT COUNT(*) FROM t", epsilon=epsilon)),
        ("PrivacySource.register", lambda: PrivacySource.register("other", epsilon=epsilon)),
    ):
        # a bad argument, not bad data: the message names the method and the keyword
        with pytest.raises(ParameterError, match=rf"^{caller}\(\): epsilon .*{match}"):
            call()
    assert table.spent == 0


def test_smallest_epsilon_releases_a_finite_noisy_answer(frame):
    PrivacySource.register("people", epsilon=1.0)
    table = PrivateTable(frame, source="people", bounds={"age": (18, 90)})
    answer = table.sum("age", epsilon=1e-6)
    assert np.isfinite(answer.value) and answer.table["noise_scale"][0] == pytest.approx(9e7)
    count = table.count(epsilon=1e-6).value
    assert np.isfinite(count) and count != -2147483648


@pytest.mark.parametrize("which", ["registry", "odometer"])
def test_corrupt_budget_file_is_one_clear_error(frame, tmp_path, which):
    odometer = tmp_path / "odometer.sqlite"
    PrivacySource.register("people", epsilon=1.0, budget_path=odometer)
    broken = _source.registry_path() if which == "registry" else odometer
    broken.write_bytes(b"this is not a database" * 100)
    with pytest.raises(FileFormatError, match="corrupt or not a raikit budget file"):
        PrivateTable(frame, source="people").count(epsilon=0.1)
    with pytest.raises(FileFormatError, match="will not start a new budget"):
        PrivacySource.register("people", epsilon=1.0, budget_path=odometer)


def test_deleted_odometer_is_not_a_fresh_budget(frame, tmp_path):
    odometer = tmp_path / "odometer.sqlite"
    PrivacySource.register("people", epsilon=1.0, budget_path=odometer)
    PrivateTable(frame, source="people").count(epsilon=1.0)
    odometer.unlink()
    with pytest.raises(FileFormatError, match="will not start a new budget"):
        PrivateTable(frame, source="people")
    with pytest.raises(FileFormatError, match="restore the file from a backup"):
        PrivacySource.register("people", epsilon=1.0, budget_path=odometer)


def test_delta_is_budgeted():
    source = PrivacySource.register("people", epsilon=1.0, delta=1e-5)
    source.spend("dp-sgd", epsilon=0.1, delta=8e-6)
    with pytest.raises(BudgetExceededError, match="delta"):
        source.spend("dp-sgd", epsilon=0.1, delta=8e-6)
    assert source.spent == pytest.approx(0.1)
    with pytest.raises(ParameterError, match="delta"):
        PrivacySource.register("other", epsilon=1.0, delta="1e-5")


# ---------------------------------------------------------------------------- concurrency
def _first_use(args):
    names, barrier = args
    barrier.wait()
    accepted = 0
    for name in names:
        source = PrivacySource.register(name, epsilon=1.0)
        for _ in range(2):
            try:
                source.spend("count(*)", epsilon=0.3)
                accepted += 1
            except BudgetExceededError:
                pass
    return accepted


def test_concurrent_first_use_by_processes_is_safe():
    context = multiprocessing.get_context("fork")
    names = [f"source-{i}" for i in range(25)]
    n_workers = 4
    with context.Manager() as manager:
        barrier = manager.Barrier(n_workers)
        with context.Pool(n_workers) as pool:
            accepted = pool.map(_first_use, [(names, barrier)] * n_workers, chunksize=1)
    # Every name registered once and charged exactly three spends of 0.3 out of eight attempts.
    assert sum(accepted) == 3 * len(names)
    for name in names:
        source = PrivacySource.open(name)
        assert source.spent == pytest.approx(0.9)
        assert len(source.odometer) == 3
    with sqlite3.connect(_source.registry_path()) as con:
        assert con.execute("SELECT COUNT(*) FROM locations").fetchone()[0] == len(names)


# ---------------------------------------------------------------------------- cost per query
def _traced_session(frame, monkeypatch, n_queries):
    statements = []
    connect = sqlite3.connect

    def traced(*args, **kwargs):
        con = connect(*args, **kwargs)
        con.set_trace_callback(statements.append)
        return con

    monkeypatch.setattr(_backends.sqlite3, "connect", traced)
    PrivacySource.register("people", epsilon=100)
    table = PrivateTable(frame, source="people", domains={"sex": ["F", "M"]})
    durations, per_query = [], []
    for _ in range(n_queries):
        before = len(statements)
        start = time.perf_counter()
        table.group_by("sex", epsilon=0.01)
        durations.append(time.perf_counter() - start)
        per_query.append(statements[before:])
    return durations, per_query


def test_each_query_does_constant_work(frame, monkeypatch):
    _, per_query = _traced_session(frame, monkeypatch, 30)
    # O(1) by construction: each query runs the same few statements; the budget check reads the
    # source's running total, never the log of past releases.
    shapes = [[re.sub(r"'[^']*'|[-+0-9.e]+", "?", s) for s in q] for q in per_query]
    assert all(shape == shapes[0] for shape in shapes) and len(shapes[0]) <= 12
    assert not any(re.search(r'FROM "?spends', s) for q in per_query for s in q)


@pytest.mark.slow
def test_query_time_is_flat_within_a_session(frame, monkeypatch):
    durations, _ = _traced_session(frame, monkeypatch, 200)
    # The last 50 queries cost about what the first 50 did (with OpenDP's session odometer they
    # grew linearly: 7x after 400 queries).
    first, last = np.median(durations[:50]), np.median(durations[-50:])
    assert last < 2.5 * first


def test_dp_training_spends_from_the_source(frame):
    pytest.importorskip("opacus")
    from raikit.privacy import DPClassifier

    PrivacySource.register("people", epsilon=1.5, delta=1e-4)
    X = frame[["age", "income"]].to_numpy(dtype=float) / 100
    y = (frame["sex"] == "F").to_numpy().astype(int)
    options = {"epochs": 1, "batch_size": 200, "random_state": 0, "source": "people"}
    DPClassifier(target_epsilon=1.0, target_delta=1e-5, **options).fit(X, y)
    source = PrivacySource.open("people")
    assert source.spent == pytest.approx(1.0)
    assert source.odometer["mechanism"].tolist() == ["DP-SGD"]
    with pytest.raises(BudgetExceededError, match="remains of data source 'people'"):
        DPClassifier(target_epsilon=1.0, target_delta=1e-5, **options).fit(X[::-1], y[::-1])
    with pytest.raises(ParameterError, match="target_epsilon"):
        DPClassifier(target_epsilon=float("inf"), **options).fit(X, y)
    assert source.spent == pytest.approx(1.0)


def test_spend_is_committed_before_the_answer_is_computed(frame):
    PrivacySource.register("people", epsilon=1.0)
    table = PrivateTable(frame, source="people")
    table._frame = None  # the measurement fails while computing, after the spend
    with pytest.raises(RaikitError, match="OpenDP could not answer"):
        table.count(epsilon=0.4)
    # No answer was released, yet the spend stays (whether a release fails may depend on data).
    assert PrivacySource.open("people").spent == pytest.approx(0.4)


# ---------------------------------------------------------------------------- older files
_OLD_SCHEMA = (  # the registry as raikit wrote it with its own SQLite code
    "CREATE TABLE locations (name TEXT PRIMARY KEY, store TEXT NOT NULL, created REAL NOT NULL)",
    "CREATE TABLE budgets (name TEXT PRIMARY KEY, privacy_unit TEXT NOT NULL, "
    "rows_per_unit INTEGER NOT NULL, epsilon REAL NOT NULL, delta REAL NOT NULL, "
    "spent REAL NOT NULL, spent_delta REAL NOT NULL, owner TEXT, created REAL NOT NULL)",
    "CREATE TABLE spends (id INTEGER PRIMARY KEY, name TEXT NOT NULL, created REAL NOT NULL, "
    "query TEXT, epsilon REAL NOT NULL, delta REAL NOT NULL, noise_scale REAL, mechanism TEXT)",
    "CREATE INDEX spends_by_name ON spends (name, id)",
    "CREATE TABLE resets (id INTEGER PRIMARY KEY, name TEXT NOT NULL, created REAL NOT NULL, "
    "reason TEXT NOT NULL, by TEXT, old_epsilon REAL, new_epsilon REAL, old_delta REAL, "
    "new_delta REAL, old_store TEXT, new_store TEXT, spent_before REAL, spent_after REAL)",
)


def test_a_registry_written_by_the_older_code_keeps_its_budget(frame):
    path = _source.registry_path()
    path.parent.mkdir(parents=True)
    with sqlite3.connect(path) as con:
        for statement in _OLD_SCHEMA:
            con.execute(statement)
        con.execute("INSERT INTO locations VALUES ('people', ?, 0)", (str(path.resolve()),))
        con.execute("INSERT INTO budgets VALUES ('people', 'row', 1, 1.0, 1e-6, 0.7, 0, 'ana', 0)")
        con.executemany(
            "INSERT INTO spends (name, created, query, epsilon, delta) VALUES (?, 0, ?, ?, 0)",
            [("people", "count(*)", 0.4), ("people", "sum(age)", 0.3)],
        )
    source = PrivacySource.open("people", epsilon=1.0)
    assert source.spent == pytest.approx(0.7) and source.owner == "ana"
    assert source.spend("count(*)", epsilon=0.2) == 3  # numbered after the stored releases
    with pytest.raises(BudgetExceededError, match="remains of data source 'people'"):
        PrivateTable(frame, source="people").count(epsilon=0.2)
    assert source.odometer["epsilon"].tolist() == pytest.approx([0.4, 0.3, 0.2])
    with sqlite3.connect(path) as con:  # still the same file format, now holding the new spend
        assert con.execute("SELECT COUNT(*), SUM(epsilon) FROM spends").fetchone() == (
            3,
            pytest.approx(0.9),
        )
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "delete"


def test_a_registry_replaced_while_open_is_read_anew():
    PrivacySource.register("people", epsilon=1.0).spend("count(*)", epsilon=0.5)
    path = _source.registry_path()
    backup = path.read_bytes()
    PrivacySource.open("people").spend("count(*)", epsilon=0.25)
    replaced = path.with_suffix(".new")
    replaced.write_bytes(backup)
    replaced.replace(path)  # another file at the same path (a restored backup)
    assert PrivacySource.open("people").spent == pytest.approx(0.5)
