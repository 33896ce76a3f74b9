"""ReviewQueue in the ledger's SQLite file: routing, decisions, persistence and errors."""

from __future__ import annotations

import sqlite3

import pytest

from raikit.ledger import Ledger
from raikit.review import ReviewError, ReviewQueue, SelectiveClassifier


def test_route_decide_and_persist(tmp_path, scored_frame, score_model):
    ledger = Ledger(tmp_path / "ledger")
    frame = scored_frame.iloc[:2000]
    X = frame[["score"]]
    sel = SelectiveClassifier(score_model, coverage=0.9, prefit=True).fit(
        X, frame["y"], sensitive_features=frame["sex"]
    )
    queue = ReviewQueue(ledger, name="loans")
    out = sel.route(
        X, queue, sensitive_features=frame["sex"], ids=[f"app-{i}" for i in range(2000)]
    )
    n_abstain = int(out["abstain"].sum())
    assert 0 < n_abstain == len(queue) == out["review_id"].notna().sum()
    pending = queue.pending()
    assert pending["item_id"].tolist() == [f"app-{i}" for i in out.index[out["abstain"]]]
    assert (pending["confidence"] < pending["threshold"]).all()
    first = pending["id"].iloc[0]
    item = queue.decide(first[:10], 1, reviewer="ana", note="checked payslip")
    assert item["status"] == "decided" and item["decision"] == 1 and item["decided_at"]
    # A fresh process sees the decision: open the table with plain sqlite3.
    with sqlite3.connect(ledger.root / "ledger.sqlite") as conn:
        row = conn.execute(
            "SELECT status, decision, reviewer FROM review_items WHERE id = ?", (first,)
        ).fetchone()
    assert row == ("decided", "1", "ana")
    again = ReviewQueue(tmp_path / "ledger", name="loans")
    assert len(again.pending()) == n_abstain - 1
    assert again.decisions()["item_id"].tolist() == [pending["item_id"].iloc[0]]
    assert len(ReviewQueue(ledger, name="other")) == 0  # queues are separate


def test_decide_errors(tmp_path):
    queue = ReviewQueue(Ledger(tmp_path))
    ids = queue.add([{"a": 1}, {"a": 2}], prediction=[0, 1])
    with pytest.raises(ReviewError, match="No review item"):
        queue.decide("nope", 1, reviewer="x")
    with pytest.raises(ReviewError, match="reviewer"):
        queue.decide(ids[0], 1, reviewer=" ")
    queue.decide(ids[0], 1, reviewer="x")
    with pytest.raises(ReviewError, match="already decided"):
        queue.decide(ids[0], 0, reviewer="y")
    assert queue.decide(ids[0], 0, reviewer="y", overwrite=True)["decision"] == 0
    with pytest.raises(ReviewError, match="Give a review item id"):
        queue.get("")
    with pytest.raises(ReviewError, match="No review item"):
        queue.get("%")  # not a SQL wildcard
    with pytest.raises(ValueError, match="prediction has 1"):
        queue.add([{"a": 1}, {"a": 2}], prediction=[0])
    with pytest.raises(ValueError, match="status"):
        queue.items(status="open")


def test_items_with_some_decided(tmp_path):
    queue = ReviewQueue(Ledger(tmp_path))
    ids = queue.add([{"a": i} for i in range(3)], prediction=[0, 1, 1])
    queue.decide(ids[1], "approve", reviewer="ana")
    items = queue.items()
    assert items["decision"].tolist() == [None, "approve", None]
    assert items["status"].tolist() == ["pending", "decided", "pending"]
