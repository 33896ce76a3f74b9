"""The deletion certificate: signed, byte-exact, tied to the log, and verified by the CLI."""

from __future__ import annotations

import json

import pytest

from raikit.metrics import group_metrics_of
from raikit.sandbox import IntegrityError, LocalAttestor, verify_certificate
from raikit.sandbox._common import b64, canonical, sha256


@pytest.fixture
def closed(box, table):
    box.add(table)
    data = box.dataset("people.csv", target="y", sensitive=["sex"], prediction="pred")
    exported = box.export(box.run(group_metrics_of, data, n_boot=20, random_state=0), name="m")
    box.close()
    return box, exported


def test_certificate_states_what_was_processed_exported_and_deleted(closed, table):
    box, exported = closed
    statement = verify_certificate(box.folder / "certificate.json")
    assert statement["processed"] == [
        {"name": "people.csv", "sha256": sha256(table.read_bytes()), "bytes": table.stat().st_size}
    ]
    assert statement["exported"] == [{"name": "m.json", "sha256": sha256(exported.read_bytes())}]
    assert statement["log"]["entries"] == 6  # open, import, read, check, export, close
    assert statement["public_key"] == b64(box._attestor.public_key())


def test_one_changed_byte_anywhere_fails(closed):
    box, _ = closed
    path = box.folder / "certificate.json"
    original = path.read_bytes()
    for index in range(len(original)):
        changed = bytearray(original)
        changed[index] ^= 0x01
        path.write_bytes(bytes(changed))
        with pytest.raises(IntegrityError):
            verify_certificate(path)
    path.write_bytes(original)
    verify_certificate(path)


def test_swapped_public_key_fails(tmp_path, closed):
    box, _ = closed
    path = box.folder / "certificate.json"
    document = json.loads(path.read_bytes())
    mallory = LocalAttestor(tmp_path / "mallory.pem")
    document["certificate"]["public_key"] = b64(mallory.public_key())
    path.write_bytes(canonical(document) + b"\n")
    with pytest.raises(IntegrityError, match="signature does not verify"):
        verify_certificate(path)  # swapped key, original signature
    document["signature"] = b64(mallory.sign(canonical(document["certificate"])))
    path.write_bytes(canonical(document) + b"\n")
    with pytest.raises(IntegrityError, match="another key than the one you pinned"):
        verify_certificate(path)  # re-signed by mallory: the log was signed by the honest key


def test_certificate_claiming_less_than_the_log_fails_even_when_re_signed(closed, owner):
    box, _ = closed
    path = box.folder / "certificate.json"
    document = json.loads(path.read_bytes())
    document["certificate"]["exported"] = []  # hide the export
    document["signature"] = b64(LocalAttestor(owner[1]).sign(canonical(document["certificate"])))
    path.write_bytes(canonical(document) + b"\n")
    with pytest.raises(
        IntegrityError, match=r"does not match the access log \(fields \['exported'\]"
    ):
        verify_certificate(path)


def test_log_changed_after_the_certificate_fails(closed):
    box, _ = closed
    log = box.folder / "log.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines[:-1]))
    with pytest.raises(IntegrityError):
        verify_certificate(box.folder / "certificate.json")


def test_pinned_key_of_the_honest_attestor_verifies(closed, owner):
    box, _ = closed
    honest = LocalAttestor(owner[1]).public_key()
    assert verify_certificate(box.folder / "certificate.json", public_key=honest)["session"]


def test_annex_iv_cites_a_verified_certificate_and_refuses_a_tampered_one(closed):
    from sklearn.linear_model import LogisticRegression

    from raikit.audit import audit
    from raikit.cards import annex_iv
    from raikit.datasets import load_german_credit

    box, _ = closed
    path = box.folder / "certificate.json"
    ds = load_german_credit().replace(features=["duration_months", "age"])
    train, test = ds.split(0.3, random_state=0)
    model = LogisticRegression().fit(train.X, train.y)
    report = audit(model, train=train, test=test, n_boot=20, sections=["bias"])
    fields = annex_iv(report, sandbox_certificate=path).fields_table.set_index("field")
    row = fields.loc["Confidential processing"]
    assert box.session in row["answer"] and "not a hardware TEE" in row["answer"]
    assert "'min_group_size': 5" in row["answer"] and row["source"].endswith("(verified)")
    assert "Confidential processing" not in set(annex_iv(report).fields_table["field"])
    path.write_bytes(path.read_bytes().replace(b'"entries":6', b'"entries":5'))
    with pytest.raises(IntegrityError):
        annex_iv(report, sandbox_certificate=path)
