"""`raikit review list|decide` in a subprocess."""

from __future__ import annotations

import subprocess
import sys

import pytest

from raikit.ledger import Ledger
from raikit.review import ReviewQueue


def _run(*args):
    return subprocess.run(
        [sys.executable, "-m", "raikit.cli", *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.slow
def test_review_list_and_decide(tmp_path):
    queue = ReviewQueue(Ledger(tmp_path / "l"))
    ids = queue.add(
        [{"age": 30}, {"age": 40}],
        prediction=[1, 0],
        confidence=[0.52, 0.55],
        item_ids=["a-1", "a-2"],
    )
    out = _run("review", "list", "--ledger", str(tmp_path / "l"))
    assert out.returncode == 0, out.stderr
    assert "a-1" in out.stdout and "pending" in out.stdout
    out = _run(
        "review",
        "decide",
        ids[1][:8],
        "--decision",
        "1",
        "--reviewer",
        "ana",
        "--ledger",
        str(tmp_path / "l"),
    )
    assert out.returncode == 0, out.stderr
    assert queue.get(ids[1])["decision"] == 1
    again = _run(
        "review",
        "decide",
        ids[1][:8],
        "--decision",
        "0",
        "--reviewer",
        "bo",
        "--ledger",
        str(tmp_path / "l"),
    )
    assert again.returncode == 2 and "already decided" in again.stderr
    missing = _run("review", "list", "--ledger", str(tmp_path / "none"))
    assert missing.returncode == 2 and "No ledger" in missing.stderr
