"""``ReviewQueue``: items routed to a person, stored in the ledger's database.

The queue is one table, ``review_items``, declared through the ledger's table API in the same SQLite
file (or PostgreSQL database) as the ledger, so it travels with the evidence. Each row holds the item
(its features as JSON), the model's output, why it was routed, and the reviewer's decision with
timestamps. Writes are short transactions through the ledger, so several processes may share a queue.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from raikit._errors import DataError, ParameterError, RaikitError

__all__ = ["ReviewError", "ReviewQueue"]

_ITEMS = {
    "id": "text not null",
    "queue": "text not null",
    "item_id": "text",
    "payload": "text",
    "prediction": "text",
    "score": "real",
    "confidence": "real",
    "threshold": "real",
    "grp": "text",
    "reason": "text",
    "model_id": "text",
    "status": "text not null",
    "decision": "text",
    "reviewer": "text",
    "note": "text",
    "created_at": "text not null",
    "decided_at": "text",
    "seq": "integer",
}
_COLUMNS = [c for c in _ITEMS if c != "seq"]


class ReviewError(RaikitError, ValueError):
    """A review item does not exist, is already decided, or a decision is invalid.

    See Also
    --------
    ReviewQueue : the queue whose items it is about.

    Examples
    --------
    >>> import tempfile
    >>> from raikit.ledger import Ledger
    >>> from raikit.review import ReviewError, ReviewQueue
    >>> queue = ReviewQueue(Ledger(tempfile.mkdtemp()))
    >>> try:
    ...     queue.decide("no-such-item", 1, reviewer="ana")
    ... except ReviewError:
    ...     print("no such item")
    no such item
    """


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    return value


def _missing(value) -> bool:
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def _floats(values, n: int, name: str):
    if values is None:
        return [None] * n
    array = np.asarray(values, dtype=float)
    if array.shape != (n,):
        raise DataError(f"{name} has {array.size} values but {n} items are added.")
    return [None if np.isnan(v) else float(v) for v in array]


class ReviewQueue:
    """A queue of items for people to decide, kept in a :class:`raikit.ledger.Ledger`.

    Parameters
    ----------
    ledger : Ledger or path
        The ledger (or its folder) whose database holds the ``review_items`` table.
    name : str, default "default"
        Several queues can share a ledger.

    See Also
    --------
    raikit.review.SelectiveClassifier : decides which rows to route.
    raikit.review.review_metrics : measures the model and its reviewers.

    Examples
    --------
    >>> import tempfile
    >>> import pandas as pd
    >>> from raikit.ledger import Ledger
    >>> queue = ReviewQueue(Ledger(tempfile.mkdtemp()))
    >>> ids = queue.add(pd.DataFrame({"age": [31]}), prediction=[1], confidence=[0.55])
    >>> queue.decide(ids[0], 0, reviewer="ana", note="income proof missing")["status"]
    'decided'
    >>> queue.items()[["status", "decision", "reviewer"]].values.tolist()
    [['decided', 0, 'ana']]
    """

    def __init__(self, ledger, *, name: str = "default") -> None:
        from raikit.ledger import Ledger

        self.ledger = ledger if isinstance(ledger, Ledger) else Ledger(ledger)
        self.name = name
        self._items = self.ledger.table(
            "review_items",
            _ITEMS,
            primary_key="id",
            indexes={"review_items_queue": ("queue", "status")},
        )

    def __repr__(self) -> str:
        return f"ReviewQueue({self.ledger!r}, name={self.name!r})"

    def __len__(self) -> int:
        return self._items.count(where={"queue": self.name})

    def add(
        self,
        items,
        *,
        prediction,
        item_ids=None,
        score=None,
        confidence=None,
        threshold=None,
        group=None,
        reason: str = "routed for review",
        model_id: str | None = None,
    ) -> list[str]:
        """Add items (one row each of ``items``) with the model's output; returns their ids."""
        frame = items if isinstance(items, pd.DataFrame) else pd.DataFrame(items)
        n = len(frame)
        prediction = np.asarray(prediction, dtype=object)
        if prediction.shape != (n,):
            raise DataError(f"prediction has {prediction.size} values but {n} items are added.")
        item_ids = frame.index.to_numpy() if item_ids is None else np.asarray(item_ids)
        groups = [None] * n if group is None else [_plain(g) for g in np.asarray(group, object)]
        if len(item_ids) != n or len(groups) != n:
            raise DataError(f"item_ids and group must have one value per item ({n}).")
        payloads = frame.to_json(orient="records", lines=True, date_format="iso").splitlines()
        if n == 0:
            return []
        ids = [uuid.uuid4().hex for _ in range(n)]
        now = _now()
        rows = pd.DataFrame(
            {
                "id": ids,
                "queue": self.name,
                "item_id": [str(_plain(i)) for i in item_ids],
                "payload": payloads,
                "prediction": [json.dumps(_plain(p)) for p in prediction],
                "score": _floats(score, n, "score"),
                "confidence": _floats(confidence, n, "confidence"),
                "threshold": _floats(threshold, n, "threshold"),
                "grp": [None if g is None else str(g) for g in groups],
                "reason": reason,
                "model_id": model_id,
                "status": "pending",
                "created_at": now,
                "seq": range(n),
            }
        )
        self._items.insert(rows)
        return ids

    def items(self, *, status: str | None = None) -> pd.DataFrame:
        """The queue's items, oldest first (``status``: ``pending`` or ``decided``).

        ``prediction`` and ``decision`` are decoded from JSON; ``payload`` stays JSON text.
        """
        if status not in (None, "pending", "decided"):
            raise ParameterError(
                f"ReviewQueue.items(): status must be 'pending', 'decided' or None, got {status!r}."
            )
        where = {"queue": self.name} if status is None else {"queue": self.name, "status": status}
        frame = self._items.select(_COLUMNS, where=where, order_by=["created_at", "seq"])
        frame = frame.rename(columns={"grp": "group"})
        for column in ("prediction", "decision"):
            decoded = [None if _missing(v) else json.loads(v) for v in frame[column]]
            frame[column] = pd.Series(decoded, index=frame.index, dtype=object)
        return frame

    def pending(self) -> pd.DataFrame:
        """Items waiting for a decision."""
        return self.items(status="pending")

    def get(self, review_id: str) -> dict:
        """One item (a unique id prefix is enough)."""
        if not review_id:
            raise ReviewError("Give a review item id (see `raikit review list`).")
        ids = self._items.select(["id"], where={"queue": self.name})["id"]
        matches = ids[ids.str.startswith(str(review_id))].tolist()
        frame = self._items.select(_COLUMNS, where={"id": matches})
        if len(frame) == 0:
            raise ReviewError(
                f"No review item {review_id!r} in queue {self.name!r}; see `raikit review list`."
            )
        if len(frame) > 1:
            raise ReviewError(f"Id prefix {review_id!r} matches {len(frame)} items; give more.")
        row = frame.iloc[0].to_dict()
        row["group"] = row.pop("grp")
        for key in ("prediction", "decision"):
            row[key] = None if _missing(row[key]) else json.loads(row[key])
        row["payload"] = json.loads(row["payload"]) if row["payload"] else {}
        return row

    def decide(
        self,
        review_id: str,
        decision,
        *,
        reviewer: str,
        note: str | None = None,
        overwrite: bool = False,
    ) -> dict:
        """Record a person's decision on an item; returns the updated item.

        A decided item is not changed again unless ``overwrite=True`` (the earlier decision is then
        replaced, with a new timestamp).
        """
        if not reviewer or not str(reviewer).strip():
            raise ReviewError("reviewer is required: name who made the decision.")
        item = self.get(review_id)
        if item["status"] == "decided" and not overwrite:
            raise ReviewError(
                f"Item {item['id'][:12]} was already decided ({item['decision']!r} by "
                f"{item['reviewer']}); pass overwrite=True (--overwrite) to change it."
            )
        try:
            text = json.dumps(_plain(decision))
        except TypeError as error:
            raise ReviewError(f"decision must be a JSON value, got {decision!r}.") from error
        self._items.update(
            {
                "status": "decided",
                "decision": text,
                "reviewer": str(reviewer),
                "note": note,
                "decided_at": _now(),
            },
            where={"id": item["id"]},
        )
        return self.get(item["id"])

    def decisions(self) -> pd.DataFrame:
        """Decided items as ``item_id``, ``prediction``, ``decision``, ``group``, ``reviewer``."""
        frame = self.items(status="decided")
        return frame[["id", "item_id", "prediction", "decision", "group", "reviewer", "decided_at"]]
