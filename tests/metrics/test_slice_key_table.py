"""The group table carries each row's structured slice key: nothing parses "sex=F & race=A" back.

Group values are hostile on purpose: " & " and "=" (the separators of the text form), quotes and
HTML. A key goes from group_metrics' table and findings through JSON and the model card back to the
same SliceKey, and every HTML page escapes it.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from raikit import Result
from raikit._grouping import SliceKey
from raikit._result import Finding
from raikit.cards._cards import _slice_texts
from raikit.metrics import group_metrics

HOSTILE = ["A & B", "x=y", "q\"uo'te", "<script>alert(1)</script>"]


@pytest.fixture(scope="module")
def result():
    rng = np.random.default_rng(0)
    n = 400
    sex = rng.choice(["F & M", "sex=F"], size=n)
    race = rng.choice(HOSTILE, size=n)
    y = rng.integers(0, 2, size=n)
    p = np.where(rng.random(n) < 0.8, y, 1 - y)
    return group_metrics(
        y,
        p,
        sensitive_features=pd.DataFrame({"sex & race": sex, "race": race}),
        metrics=["accuracy", "selection_rate"],
        ci=None,
        min_group_size=40,
    )


def _expected_keys(result) -> set:
    frame = pd.DataFrame({"a": result.table["attribute"], "g": result.table["group"]})
    assert len(frame) > 0
    keys = {SliceKey()}
    for s in ("F & M", "sex=F"):
        keys.add(SliceKey({"sex & race": s}))
        for r in HOSTILE:
            keys.add(SliceKey({"sex & race": s, "race": r}))
    keys |= {SliceKey({"race": r}) for r in HOSTILE}
    return keys


def test_every_row_carries_its_structured_key(result):
    table = result.table
    assert all(isinstance(k, SliceKey) for k in table["slice"])
    assert set(table["slice"]) == _expected_keys(result)
    # the key agrees with the row's attribute and group (the texts a person reads)
    for key, attribute, group in zip(
        table["slice"], table["attribute"], table["group"], strict=True
    ):
        assert (key.attributes, key.label) == (attribute, group)
    # the text form is ambiguous with these values: parsing it back cannot give the key
    crossed = SliceKey({"sex & race": "F & M", "race": "A & B"})
    assert crossed in set(table["slice"])
    with pytest.raises(ValueError):
        SliceKey.from_table(crossed.attributes, crossed.label)


def test_the_key_survives_json(result):
    text = json.dumps(result.to_dict())
    back = Result.from_dict(json.loads(text))
    assert list(back.table["slice"]) == list(result.table["slice"])
    assert [f.key for f in back.findings] == [f.key for f in result.findings]


def test_findings_carry_the_key_not_only_its_text(result):
    small = [f for f in result.findings if f.title.startswith("Small group")]
    assert small, "the fixture has groups under min_group_size=40"
    for finding in small:
        assert isinstance(finding.key, SliceKey)
        assert finding.slice == finding.key.text
        assert finding.key in set(result.table["slice"])
    # a plain finding has no key, and a key given as pairs (JSON) becomes a SliceKey
    assert Finding("info", "t").key is None
    assert Finding("info", "t", key=[["race", "A & B"]]).key == SliceKey(race="A & B")


def test_the_model_card_reads_the_key_column(result):
    table = result.table[result.table["attribute"] != "overall"]
    assert _slice_texts(table) == [k.text for k in table["slice"]]
    # an old table without the column still gets its texts from (attribute, group)
    old = table.drop(columns="slice")
    one = old[old["attribute"] == "race"]
    assert _slice_texts(one) == [f"race={g}" for g in one["group"]]


def test_html_escapes_hostile_keys(result):
    page = result.to_html()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_two_intersections_with_one_text_stay_two_groups():
    """("A & B", "C") and ("A", "B & C") both read "A & B & C": the key keeps them apart in the
    wide tables and the findings (the pivot on the texts used to refuse the table)."""
    sensitive = {"a": ["A & B", "A"] * 20, "b": ["C", "B & C"] * 20}
    y = np.array([0, 1] * 20)
    p = np.array([0, 1, 1, 1] * 10)
    r = group_metrics(y, p, sensitive_features=sensitive, metrics=["accuracy"], ci=None)
    wide = r.by_group.loc["a & b"]
    assert list(wide.index) == ["A & B & C", "A & B & C"]
    # ("A & B", "C") rows are y=0 with p alternating 0/1: accuracy 0.5; the other group is exact
    assert sorted(wide["accuracy"]) == [0.5, 1.0]
    small = {f.key for f in r.findings if f.title.startswith("Small group")}
    assert {SliceKey(a="A & B", b="C"), SliceKey(a="A", b="B & C")} <= small
