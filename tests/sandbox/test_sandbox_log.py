"""Every attack on the access log is caught: edit, removal, reordering, insertion, forgery,
truncation and a rewrite under another key."""

from __future__ import annotations

import itertools
import json

import pytest

from raikit.metrics import group_metrics_of
from raikit.sandbox import IntegrityError, LocalAttestor, verify_log
from raikit.sandbox._common import b64, canonical, sha256
from raikit.sandbox._log import HEAD_FILE, LOG_FILE


@pytest.fixture
def logged(box, table):
    """A session with seven entries: open, import, read, check, export, and two more reads."""
    box.add(table)
    data = box.dataset("people.csv", target="y", sensitive=["sex"], prediction="pred")
    box.export(box.run(group_metrics_of, data, n_boot=20, random_state=0), name="m")
    box.path("people.csv")
    box.path("people.csv")
    assert len(verify_log(box.folder)) == 7
    return box


def _lines(box):
    return (box.folder / LOG_FILE).read_bytes().splitlines(keepends=True)


def _write(box, lines):
    (box.folder / LOG_FILE).write_bytes(b"".join(lines))


def _rehash(entry, attestor=None):
    body = {k: v for k, v in entry.items() if k not in ("hash", "signature")}
    entry["hash"] = sha256(canonical(body))
    if attestor is not None:
        entry["signature"] = b64(attestor.sign(entry["hash"].encode()))
    return entry


def test_untouched_log_verifies(logged):
    entries = verify_log(logged.folder)
    assert [e["action"] for e in entries][:5] == ["open", "import", "read", "check", "export"]
    assert all(e["prev"] == p["hash"] for p, e in itertools.pairwise(entries))


def test_edited_entry_fails(logged):
    lines = _lines(logged)
    lines[2] = lines[2].replace(b'"actor":"', b'"actor":"mallory-')
    _write(logged, lines)
    with pytest.raises(IntegrityError, match=r"line 3 .* was edited"):
        verify_log(logged.folder)


def test_removed_entry_fails(logged):
    lines = _lines(logged)
    del lines[2]
    _write(logged, lines)
    with pytest.raises(IntegrityError, match=r"line 3 .*removed, reordered"):
        verify_log(logged.folder)


def test_reordered_entries_fail(logged):
    lines = _lines(logged)
    lines[2], lines[3] = lines[3], lines[2]
    _write(logged, lines)
    with pytest.raises(IntegrityError, match="line 3"):
        verify_log(logged.folder)


def test_inserted_entry_with_a_recomputed_chain_fails_its_signature(logged):
    lines = _lines(logged)
    entries = [json.loads(line) for line in lines]
    forged = dict(entries[2], action="read", object="nothing-to-see", detail={})
    entries.insert(3, forged)
    for seq, entry in enumerate(entries):  # the attacker repairs seq, prev and hash downstream
        entry["seq"] = seq
        if seq:
            entry["prev"] = entries[seq - 1]["hash"]
        _rehash(entry)
    _write(logged, [canonical(e) + b"\n" for e in entries])
    with pytest.raises(IntegrityError, match=r"line 4 .*signature does not verify"):
        verify_log(logged.folder)


def test_forged_entry_signed_by_another_key_fails(tmp_path, logged):
    mallory = LocalAttestor(tmp_path / "mallory.pem")
    entries = [json.loads(line) for line in _lines(logged)]
    extra = dict(entries[-1], seq=len(entries), action="export", prev=entries[-1]["hash"])
    entries.append(_rehash(extra, mallory))
    _write(logged, [canonical(e) + b"\n" for e in entries])
    with pytest.raises(IntegrityError, match=r"line 8 .*signature does not verify"):
        verify_log(logged.folder)


def test_entries_cut_from_the_end_fail_against_the_signed_head(logged):
    _write(logged, _lines(logged)[:-2])
    with pytest.raises(IntegrityError, match="names entry 6 but the log ends at entry 4"):
        verify_log(logged.folder)


def test_edited_head_fails(logged):
    head = json.loads((logged.folder / HEAD_FILE).read_text())
    head["seq"] = 4
    (logged.folder / HEAD_FILE).write_text(json.dumps(head))
    with pytest.raises(IntegrityError, match="log head's signature does not verify"):
        verify_log(logged.folder)


def test_log_rewritten_under_another_key_fails_against_the_pinned_key(tmp_path, logged, owner):
    mallory = LocalAttestor(tmp_path / "mallory.pem")
    entries = [json.loads(line) for line in _lines(logged)]
    entries[0]["detail"]["public_key"] = b64(mallory.public_key())
    for seq, entry in enumerate(entries):
        if seq:
            entry["prev"] = entries[seq - 1]["hash"]
        _rehash(entry, mallory)
    _write(logged, [canonical(e) + b"\n" for e in entries])
    honest = LocalAttestor(owner[1]).public_key()
    with pytest.raises(IntegrityError, match="another key than the one you pinned"):
        verify_log(logged.folder, public_key=honest)
    with pytest.raises(IntegrityError):  # and the session will not resume on it
        type(logged)(logged.folder, key=owner[0], attestor=owner[1])


def test_log_line_that_is_not_json_fails(logged):
    lines = _lines(logged)
    lines[1] = b"{not json\n"
    _write(logged, lines)
    with pytest.raises(IntegrityError, match="line 2 is not JSON"):
        verify_log(logged.folder)


def test_refused_exports_are_logged_too(logged):
    data = logged.dataset("people.csv", target="y", sensitive=["sex"], prediction="pred")
    with pytest.raises(Exception, match="no raw rows"):
        logged.export(data.frame, name="rows")  # type: ignore[arg-type]
    last = verify_log(logged.folder)[-1]
    assert last["action"] == "export-refused" and "no raw rows" in last["detail"]["reason"]


def test_two_handles_on_one_session_keep_one_chain(box, table, owner):
    """Two commands on the same session (two processes) append in turn: the chain stays whole."""
    from raikit.sandbox import open_sandbox

    other = open_sandbox(box.folder, key=owner[0], attestor=owner[1])
    box.add(table)
    other.path("people.csv")  # `other` has not seen the import entry: it must catch up first
    box.path("people.csv")
    actions = [e["action"] for e in verify_log(box.folder)]
    assert actions == ["open", "import", "read", "read"]
