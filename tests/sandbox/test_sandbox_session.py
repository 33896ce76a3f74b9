"""Encryption at rest, keys, deletion and hostile inputs of raikit.sandbox.Sandbox."""

from __future__ import annotations

import base64
import json
import os

import pandas as pd
import pytest

import raikit
from raikit.ledger import Ledger
from raikit.metrics import group_metrics_of
from raikit.sandbox import (
    EnvKey,
    FileKey,
    IntegrityError,
    KeyProvider,
    SandboxError,
    generate_key,
    open_sandbox,
    verify_certificate,
)


def _files(folder):
    return [p for p in folder.rglob("*") if p.is_file()]


def test_round_trip_keeps_bytes_and_stores_only_ciphertext(box, table):
    box.add(table)
    stored = (box.folder / "store" / "people.csv.enc").read_bytes()
    plain = table.read_bytes()
    assert plain[:40] not in stored and len(stored) == len(plain) + 12 + 16  # nonce + tag
    assert box.path("people.csv").read_bytes() == plain
    frame = box.dataset("people.csv", target="y", sensitive=["sex"], prediction="pred").frame
    pd.testing.assert_frame_equal(frame, pd.read_csv(table), check_dtype=False)


def test_same_bytes_twice_give_different_ciphertexts(box, table):
    box.add(table, name="a.csv")
    box.add(table, name="b.csv")
    a = (box.folder / "store" / "a.csv.enc").read_bytes()
    b = (box.folder / "store" / "b.csv.enc").read_bytes()
    assert a[:12] != b[:12] and a[12:] != b[12:]  # a fresh random 96-bit nonce per file


def test_wrong_key_fails_clearly(tmp_path, box, table, owner):
    box.add(table)
    other = generate_key(tmp_path / "other.key")
    with pytest.raises(IntegrityError, match="does not decrypt: the key is not the one"):
        open_sandbox(box.folder, key=other, attestor=owner[1])


def test_tampered_ciphertext_fails(box, table):
    box.add(table)
    path = box.folder / "store" / "people.csv.enc"
    blob = bytearray(path.read_bytes())
    blob[100] ^= 0x01
    path.write_bytes(bytes(blob))
    with pytest.raises(IntegrityError, match=r"Artifact 'people.csv' does not decrypt"):
        box.path("people.csv")


def test_ciphertext_moved_to_another_name_fails(box, table):
    box.add(table, name="a.csv")
    box.add(table, name="b.csv")
    store = box.folder / "store"
    (store / "b.csv.enc").write_bytes((store / "a.csv.enc").read_bytes())
    with pytest.raises(IntegrityError, match=r"'b.csv' does not decrypt"):
        box.path("b.csv")  # the name is associated data: a swapped file does not open


def test_key_file_readable_by_others_is_refused(tmp_path, owner):
    key, sign = owner
    os.chmod(key, 0o644)
    with pytest.raises(SandboxError, match="chmod 600"):
        open_sandbox(tmp_path / "box", key=key, attestor=sign)


def test_environment_key_works_and_is_checked(tmp_path, monkeypatch, table, owner):
    monkeypatch.setenv("OWNER_KEY", owner[0].read_text().strip())
    box = open_sandbox(tmp_path / "box", key="env:OWNER_KEY", attestor=owner[1])
    box.add(table)
    assert box.path("people.csv").read_bytes() == table.read_bytes()
    monkeypatch.setenv("OWNER_KEY", base64.urlsafe_b64encode(b"x" * 32).decode())
    with pytest.raises(IntegrityError, match=r"data key \(env:OWNER_KEY\) does not decrypt"):
        open_sandbox(box.folder, key=EnvKey("OWNER_KEY"), attestor=owner[1])
    monkeypatch.delenv("OWNER_KEY")
    with pytest.raises(SandboxError, match="OWNER_KEY is not set"):
        open_sandbox(box.folder, key=EnvKey("OWNER_KEY"), attestor=owner[1])


class _KeyService:
    """A stand-in for a remote key service (KMS, TEE): the key never leaves it."""

    key_id = "kms:test/owner"

    def __init__(self) -> None:
        self.calls = []

    def wrap(self, data_key, *, context):
        self.calls.append(("wrap", context))
        return data_key[::-1] + context  # not crypto: proves only that the protocol is honoured

    def unwrap(self, blob, *, context):
        self.calls.append(("unwrap", context))
        if not blob.endswith(context):
            raise IntegrityError("the key service refused the context")
        return blob[: -len(context)][::-1]


def test_any_key_provider_plugs_in(tmp_path, table, owner):
    service = _KeyService()
    assert isinstance(service, KeyProvider)
    box = open_sandbox(tmp_path / "box", key=service, attestor=owner[1])
    box.add(table)
    assert box.path("people.csv").read_bytes() == table.read_bytes()
    assert [c[0] for c in service.calls] == ["wrap", "unwrap"]
    assert service.calls[0][1] == f"raikit-sandbox/v1|key|{box.session}".encode()
    assert json.loads((box.folder / "session.json").read_text())["key_provider"] == "kms:test/owner"


def test_run_accepts_only_checks_that_return_a_result(box, table):
    box.add(table)
    frame = box.table("people.csv")
    with pytest.raises(SandboxError, match="returned a DataFrame, not a raikit Result"):
        box.run(lambda data: data.head(), frame)


def test_keys_never_reach_log_session_exports_certificate_or_ledger(tmp_path, box, table, owner):
    key_text = owner[0].read_text().strip()
    key_bytes = base64.urlsafe_b64decode(key_text)
    box.add(table)
    data_key = box._key()  # the session's data key, as the provider unwrapped it
    ledger = Ledger(tmp_path / "ledger")
    with raikit.track("inside the sandbox", ledger=ledger):
        data = box.dataset("people.csv", target="y", sensitive=["sex"], prediction="pred")
        box.export(box.run(group_metrics_of, data, n_boot=20, random_state=0), name="m")
    assert len(ledger.evidence()) == 0  # a raw result never reaches the ledger from the sandbox
    box.close()
    secrets = [
        s
        for k in (key_bytes, data_key)
        for s in (k, k.hex().encode(), base64.urlsafe_b64encode(k), base64.b64encode(k))
    ] + [key_text.encode()]
    for path in _files(box.folder) + _files(tmp_path / "ledger"):
        content = path.read_bytes()
        assert not any(secret in content for secret in secrets), path


def test_close_deletes_working_data_store_and_wrapped_key(box, table, owner):
    box.add(table)
    work = box.path("people.csv")
    store = box.folder / "store" / "people.csv.enc"
    certificate = box.close()
    assert not work.exists() and not store.exists()
    assert not (box.folder / "work").exists() and not (box.folder / "store").exists()
    session = json.loads((box.folder / "session.json").read_text())
    assert "wrapped_key" not in session  # crypto-shredded: the owner's key opens nothing now
    deleted = {d["path"] for d in certificate["certificate"]["deleted"]}
    assert {"work/people.csv", "store/people.csv.enc", "session.json#wrapped_key"} <= deleted
    with pytest.raises(SandboxError, match="is closed"):
        open_sandbox(box.folder, key=owner[0], attestor=owner[1])
    assert verify_certificate(box.folder / "certificate.json")["processed"][0]["name"] == (
        "people.csv"
    )


@pytest.mark.parametrize("name", ["../escape.csv", "a/b.csv", ".hidden", "..", "", "x" * 200])
def test_path_traversal_in_artifact_name_is_refused(box, table, name):
    with pytest.raises(SandboxError, match="Unsafe artifact name"):
        box.add(table, name=name)
    assert not (box.folder.parent / "escape.csv").exists()


def test_symlink_planted_in_working_folder_is_refused_and_its_target_survives(tmp_path, box, table):
    box.add(table)
    secret = tmp_path / "outside.txt"
    secret.write_text("not the sandbox's")
    (box.folder / "work").mkdir(exist_ok=True)
    (box.folder / "work" / "people.csv").symlink_to(secret)
    with pytest.raises(SandboxError, match="symbolic link"):
        box.path("people.csv")
    assert secret.read_text() == "not the sandbox's"  # never written through
    box.close()
    assert secret.read_text() == "not the sandbox's"  # close removed the link, not its target


def test_working_folder_replaced_by_a_link_is_refused(tmp_path, box, table):
    box.add(table)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (box.folder / "work").symlink_to(outside, target_is_directory=True)
    with pytest.raises(SandboxError, match="not a plain folder"):
        box.path("people.csv")
    assert list(outside.iterdir()) == []


def test_policy_swapped_in_session_file_is_caught(box, owner):
    path = box.folder / "session.json"
    info = json.loads(path.read_text())
    info["policy"]["min_group_size"] = 1
    path.write_text(json.dumps(info))
    with pytest.raises(IntegrityError, match="changed after the session opened"):
        open_sandbox(box.folder, key=owner[0], attestor=owner[1])


def test_resuming_with_another_policy_is_refused(box, owner):
    with pytest.raises(SandboxError, match="policy never changes"):
        open_sandbox(box.folder, key=owner[0], attestor=owner[1], policy={"min_group_size": 2})


def test_key_file_that_is_a_link_or_not_a_key_is_refused(tmp_path, owner):
    link = tmp_path / "link.key"
    link.symlink_to(owner[0])
    with pytest.raises(SandboxError, match="not a regular file"):
        open_sandbox(tmp_path / "a", key=FileKey(link), attestor=owner[1])
    short = tmp_path / "short.key"
    short.write_text(base64.urlsafe_b64encode(b"k" * 16).decode())
    short.chmod(0o600)
    with pytest.raises(SandboxError, match="does not hold a 32-byte key"):
        open_sandbox(tmp_path / "b", key=short, attestor=owner[1])
    with pytest.raises(SandboxError, match="already exists"):
        generate_key(owner[0])  # a key file is never overwritten


def test_a_close_interrupted_before_its_log_entry_can_be_finished(box, table, owner, monkeypatch):
    from raikit.sandbox import Sandbox

    box.add(table)
    box.path("people.csv")
    real_log = Sandbox._log

    def crash(self, action, *args, **kwargs):
        if action == "close":
            raise KeyboardInterrupt  # killed between the deletions and the log entry
        return real_log(self, action, *args, **kwargs)

    monkeypatch.setattr(Sandbox, "_log", crash)
    with pytest.raises(KeyboardInterrupt):
        box.close()
    monkeypatch.setattr(Sandbox, "_log", real_log)
    assert not (box.folder / "work").exists() and not (box.folder / "store").exists()
    resumed = Sandbox(box.folder, key=owner[0], attestor=owner[1])
    with pytest.raises(SandboxError, match="was interrupted after its key was deleted"):
        resumed.path("people.csv")
    resumed.close()
    statement = verify_certificate(box.folder / "certificate.json")
    assert statement["deleted"][-1]["path"] == "session.json#wrapped_key"
    with pytest.raises(SandboxError, match="already closed"):
        resumed.close()


def test_a_fifo_planted_in_the_working_folder_does_not_hang_close(box, table):
    box.add(table)
    (box.folder / "work").mkdir(exist_ok=True)
    os.mkfifo(box.folder / "work" / "pipe")
    deleted = {d["path"]: d["kind"] for d in box.close()["certificate"]["deleted"]}
    assert deleted["work/pipe"] == "other" and not (box.folder / "work").exists()
