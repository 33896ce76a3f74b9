"""The ledger under threads, killed writers and hostile ids.

- one Ledger shared by threads (and by the dashboard's request threads) stores every record;
- a run whose writer process was SIGKILLed is marked ``interrupted`` on the next open, a run whose
  writer still runs is not; temporary files of killed writers are removed, others are kept;
- artifact ids are checked to be sha256 hex before any path is built, so ``get_artifact`` says
  nothing about files outside the ledger.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from raikit.ledger import Ledger, LedgerError, record
from raikit.metrics import group_metrics


@pytest.fixture(scope="module")
def result():
    return group_metrics([1, 0, 1, 0], [1, 0, 0, 0], sensitive_features=["a", "a", "b", "b"])


def test_four_threads_recording_on_one_ledger_store_every_record(tmp_path, result):
    ledger = Ledger(tmp_path / "ledger")
    barrier = threading.Barrier(4)

    def work(thread: int) -> int:
        barrier.wait()  # start together, to collide
        for i in range(50):
            record(result, check=f"thread{thread}.{i}", ledger=ledger)
        return thread

    with ThreadPoolExecutor(4) as pool:
        assert sorted(pool.map(work, range(4))) == [0, 1, 2, 3]  # no thread raised
    evidence = ledger.evidence()
    assert len(evidence) == 200 and evidence["check_name"].nunique() == 200
    runs = ledger.runs()
    assert len(runs) == 200 and set(runs["status"]) == {"finished"}
    assert (runs["n_evidence"] == 1).all()
    assert ledger.verify()["ok"].all()


def test_close_then_use_again_from_every_thread(tmp_path, result):
    ledger = Ledger(tmp_path / "ledger")
    with ThreadPoolExecutor(3) as pool:
        list(pool.map(lambda i: record(result, check=f"a{i}", ledger=ledger), range(6)))
        ledger.close()  # closes every thread's connection; each reconnects when used again
        list(pool.map(lambda i: record(result, check=f"b{i}", ledger=ledger), range(6)))
    assert len(ledger.evidence()) == 12


@pytest.mark.slow
def test_dashboard_serves_concurrent_requests_while_a_writer_records(tmp_path, result):
    import socket
    import time
    import urllib.error
    import urllib.request

    import uvicorn

    from raikit.server import create_app

    ledger = Ledger(tmp_path / "ledger")
    record(result, check="seed", ledger=ledger)
    run_id = ledger.runs()["id"].iloc[0]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(ledger, token="t0ken"), host="127.0.0.1", port=port, log_level="error"
        )
    )
    serving = threading.Thread(target=server.run, daemon=True)
    serving.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    stop = threading.Event()

    def writer() -> None:
        for _ in range(40):
            if stop.is_set():
                return
            record(result, check="while-serving", ledger=ledger)

    def get(i: int) -> int:
        path = ("/review", f"/runs/{run_id}", "/review", "/")[i % 4]
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}{path}", headers={"Authorization": "Bearer t0ken"}
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    background = threading.Thread(target=writer)
    background.start()
    try:
        with ThreadPoolExecutor(16) as pool:
            statuses = list(pool.map(get, range(160)))
    finally:
        stop.set()
        background.join()
        server.should_exit = True
        serving.join(timeout=10)
    assert statuses == [200] * 160
    assert (ledger.runs()["status"] == "finished").all()


CHILD = """
import os, sys, time
from raikit.ledger import Ledger
ledger = Ledger(sys.argv[1])
run = ledger.start_run("child")
if sys.argv[2] == "in-artifact":
    real_fsync = os.fsync
    def stall(fd):
        print("ready", flush=True)
        time.sleep(600)
    os.fsync = stall
    ledger.put_artifact(b"half-written artifact " * 1000)
print("ready", flush=True)
time.sleep(600)
"""


def _child(folder, mode: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(CHILD), str(folder), mode],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdout.readline().strip() == "ready"
    return child


def test_a_sigkilled_writer_leaves_an_interrupted_run_and_no_temporary_file(tmp_path):
    folder = tmp_path / "ledger"
    Ledger(folder).close()
    killed = _child(folder, "in-artifact")  # killed in the middle of writing an artifact
    alive = _child(folder, "idle")  # still running when the ledger is opened again
    try:
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=30)
        temporaries = list((folder / "artifacts").glob("*/.tmp-*"))
        assert len(temporaries) == 1  # the killed writer's half-written file
        unnamed = temporaries[0].parent / ".tmp-k3x9q"  # named as before writers were named
        unnamed.write_bytes(b"x")
        ledger = Ledger(folder)
        assert sorted(ledger.runs()["status"]) == ["interrupted", "running"]
        interrupted = ledger.runs().query("status == 'interrupted'")
        assert len(interrupted) == 1
        info = ledger.run(interrupted["id"].iloc[0])
        assert info["writer"]["pid"] == killed.pid and info["ended_at"]
        assert f"pid {killed.pid}" in info["error"]
        assert not temporaries[0].exists() and not unnamed.exists()
        running = ledger.runs().query("status == 'running'")
        assert ledger.run(running["id"].iloc[0])["writer"]["pid"] == alive.pid
    finally:
        alive.kill()
        alive.wait(timeout=30)
    assert set(Ledger(folder).runs()["status"]) == {"interrupted"}  # now both writers are gone


def test_a_recycled_pid_does_not_keep_a_run_open(tmp_path):
    from raikit.ledger._writers import this_writer, writer_is_gone

    me = this_writer()
    assert not writer_is_gone(me)
    if me["start"] is not None:  # Linux: the start time tells a recycled pid apart
        assert writer_is_gone({**me, "start": str(int(me["start"]) + 1)})
    assert not writer_is_gone({**me, "host": "another-host"})  # cannot check: never "gone"
    assert not writer_is_gone(None)


@pytest.mark.parametrize(
    "key", ["../secret", "../../outside/secret", "/etc/passwd", "ab/../../x", "A" * 64, ""]
)
def test_artifact_ids_are_hashes_before_any_path_is_built(tmp_path, key):
    ledger = Ledger(tmp_path / "ledger")
    (tmp_path / "secret").write_bytes(b"outside the ledger")
    (tmp_path / "ledger" / "artifacts" / "ab").mkdir()
    with pytest.raises(LedgerError, match="not an artifact id") as info:
        ledger.get_artifact(key)
    assert "missing" not in str(info.value) and "corrupt" not in str(info.value)


def test_existing_and_missing_outside_files_give_the_same_error(tmp_path):
    ledger = Ledger(tmp_path / "ledger")
    (tmp_path / "exists").write_bytes(b"x")
    messages = []
    for name in ("exists", "does-not-exist"):
        with pytest.raises(LedgerError) as info:
            ledger.get_artifact(f"../../{name}")
        messages.append(str(info.value).replace(name, "NAME"))
    assert messages[0] == messages[1]
    with pytest.raises(LedgerError, match="missing"):
        ledger.get_artifact("0" * 64)  # a well-formed id that is not stored


@pytest.mark.parametrize("key", ["%", "_", "' OR 1=1 --", "../x"])
def test_id_lookups_take_hex_prefixes_only(tmp_path, result, key):
    ledger = Ledger(tmp_path / "ledger")
    evidence_id = record(result, check="one", ledger=ledger)
    with pytest.raises(LedgerError, match="not a ledger id"):
        ledger.load_evidence(key)
    with pytest.raises(LedgerError, match="not a ledger id"):
        ledger.resolve(key)
    assert ledger.resolve(evidence_id[:8]) == ("evidence", evidence_id)


def test_an_older_ledger_gains_the_writer_column_and_keeps_unknown_runs_open(tmp_path):
    import sqlite3

    folder = tmp_path / "ledger"
    folder.mkdir()
    with sqlite3.connect(folder / "ledger.sqlite") as conn:  # the runs table before `writer`
        conn.execute(
            "CREATE TABLE runs (id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, "
            "status TEXT NOT NULL, started_at TEXT NOT NULL, ended_at TEXT, params TEXT, "
            "seeds TEXT, code TEXT, environment TEXT, error TEXT)"
        )
        conn.execute(
            "INSERT INTO runs VALUES ('ab12', 'old', 'run', 'running', '2026-01-01T00:00:00', "
            "NULL, '{}', '{}', '{}', '{}', NULL)"
        )
    ledger = Ledger(folder)
    assert ledger.run("ab12")["status"] == "running"  # its writer is unknown: not guessed dead
    run = ledger.start_run("new")
    assert ledger.run(run.id)["writer"]["pid"] == os.getpid()


def test_a_live_writers_temporary_file_is_kept(tmp_path):
    from raikit.ledger._writers import host_tag, this_writer

    folder = tmp_path / "ledger"
    Ledger(folder).close()
    me = this_writer()
    (folder / "artifacts" / "ab").mkdir()
    live = folder / "artifacts" / "ab" / f".tmp-{host_tag()}-{me['pid']}-{me['start'] or 'x'}-zz"
    live.write_bytes(b"being written")
    elsewhere = live.with_name(".tmp-00000000-1-x-zz")  # another host's writer, written just now
    elsewhere.write_bytes(b"being written elsewhere")
    Ledger(folder)
    assert live.exists() and elsewhere.exists()


class _Busy:
    """A connection whose switch to WAL is refused ``times`` times as SQLite refuses it when two
    new ledgers open at once ("database is locked", at once, without the busy timeout)."""

    def __init__(self, times: int, message: str = "database is locked") -> None:
        self.left, self.message, self.mode = times, message, "delete"

    def execute(self, sql: str):
        import sqlite3

        if sql == "PRAGMA journal_mode=WAL":
            if self.left:
                self.left -= 1
                raise sqlite3.OperationalError(self.message)
            self.mode = "wal"
        return self

    def fetchone(self):
        return (self.mode,)


def test_switching_to_wal_retries_while_the_file_is_locked():
    # the fresh clone's two-process monitor test once failed here: "database is locked"
    import sqlite3

    from raikit.ledger._backends import set_wal

    busy = _Busy(times=3)
    set_wal(busy)
    assert busy.mode == "wal" and busy.left == 0
    with pytest.raises(sqlite3.OperationalError, match="locked"):  # not forever
        set_wal(_Busy(times=10**9), patience=0.2)
    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):  # other errors at once
        set_wal(_Busy(times=1, message="disk I/O error"))
