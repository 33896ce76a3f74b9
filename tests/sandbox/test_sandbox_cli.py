"""``raikit sandbox`` end to end on the bundled Adult data, as a user runs it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from raikit.datasets import load_adult
from raikit.metrics import group_metrics_of
from raikit.sandbox import generate_key, open_sandbox

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/_cli.py, the CLI runner
from _cli import run

pytestmark = pytest.mark.slow  # subprocesses: a few seconds each


@pytest.fixture(scope="module")
def adult_csv(tmp_path_factory):
    folder = tmp_path_factory.mktemp("adult")
    frame = load_adult(as_frame=True)
    frame["prediction"] = ((frame["education_num"] >= 13) | (frame["capital_gain"] > 5000)).astype(
        int
    )
    frame.to_csv(folder / "adult.csv", index=False)
    return folder / "adult.csv"


def test_open_import_run_export_close_verify_on_adult(tmp_path, adult_csv):
    key, sign, box = tmp_path / "owner.key", tmp_path / "sign.pem", tmp_path / "box"
    keys = ("--key", str(key), "--signing-key", str(sign))
    generate_key(key)
    (tmp_path / "policy.yaml").write_text("min_group_size: 100\n")
    steps = [
        ("open", str(box), "--policy", str(tmp_path / "policy.yaml")),
        ("import", str(box), str(adult_csv)),
        ("run", str(box), "group-metrics", "--data", "adult.csv", "--target", "income",
         "--sensitive", "sex", "--prediction", "prediction", "--n-boot", "30", "--name", "gm"),
        ("export", str(box), "gm"),
    ]  # fmt: skip
    for step in steps:
        done = run("sandbox", *step, *keys)
        assert done.returncode == 0, (step, done.stdout, done.stderr)
    exported = json.loads((box / "exports" / "gm.json").read_text())
    assert exported["type"] == "GroupMetricsResult"
    verified = run("sandbox", "log", str(box), "--verify")
    assert verified.returncode == 0 and "Log verified: 7 entries" in verified.stdout
    closed = run("sandbox", "close", str(box), *keys)
    assert closed.returncode == 0, closed.stderr
    assert not (box / "work").exists() and not (box / "store").exists()
    done = run("sandbox", "verify", str(box / "certificate.json"))
    assert done.returncode == 0 and "Certificate valid" in done.stdout, done.stderr
    certificate = json.loads((box / "certificate.json").read_text())["certificate"]
    assert [e["name"] for e in certificate["exported"]] == ["gm.json"]
    assert certificate["processed"][0]["bytes"] == adult_csv.stat().st_size


def test_cli_refuses_small_groups_wrong_keys_and_a_tampered_log(tmp_path, table, owner):
    key, sign = owner
    box = open_sandbox(tmp_path / "box", key=key, attestor=sign, policy={"min_group_size": 50})
    box.add(table)
    data = box.dataset("people.csv", target="y", sensitive=["region"], prediction="pred")
    box.run(group_metrics_of, data, n_boot=20, random_state=0, name="by_region")
    refused = run("sandbox", "export", str(box.folder), "by_region", "--key", str(key),
                  "--signing-key", str(sign))  # fmt: skip
    assert refused.returncode == 2
    assert "rule 'min_group_size' (k=50)" in refused.stderr and "group=tiny" in refused.stderr
    other = generate_key(tmp_path / "other.key")
    wrong = run("sandbox", "open", str(box.folder), "--key", str(other), "--signing-key", str(sign))
    assert wrong.returncode == 2 and "the key is not the one the sandbox was opened" in wrong.stderr
    log = box.folder / "log.jsonl"
    log.write_text(log.read_text().replace('"action":"import"', '"action":"imported"'))
    broken = run("sandbox", "log", str(box.folder), "--verify")
    assert broken.returncode == 2 and "line 2 ('imported') was edited" in broken.stderr
