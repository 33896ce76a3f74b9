"""The one core of shared group pieces: SliceKey's text forms, one encoder for every stage, and a
guard that the hand-made copies (``"__missing__"``, ``" & ".join`` of values) do not come back."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator, ClassifierMixin

from raikit import Dataset
from raikit._errors import DataError
from raikit._fair_groups import match_groups, sensitive_codes
from raikit._grouping import MISSING, SliceKey, encode_groups, join_attributes
from raikit.cards._cards import _slice_texts
from raikit.data import slice_tuner
from raikit.evaluate import find_slices
from raikit.metrics import group_metrics
from raikit.review import group_keys
from raikit.train._common import TabularEncoder

SRC = Path(__file__).resolve().parents[1] / "src" / "raikit"


# --------------------------------------------------------------------------- (a) SliceKey
def test_slice_key_text_forms_and_round_trip():
    key = SliceKey({"sex": "F", "race": "A"})
    assert key.text == str(key) == "sex=F & race=A"
    assert key.label == "F & A"
    assert key.attributes == "sex & race" == join_attributes(["sex", "race"])
    assert SliceKey.from_table(key.attributes, key.label) == key
    assert hash(SliceKey(sex="F", race="A")) == hash(key)
    assert SliceKey(race="A", sex="F") != key  # the attributes' order is part of the key
    assert dict(key) == {"sex": "F", "race": "A"}
    assert SliceKey.from_table("overall", "overall") == SliceKey()
    assert SliceKey().text == SliceKey().label == SliceKey().attributes == "overall"
    # one attribute keeps its value whole, " & " included
    assert SliceKey.from_table("dept", "R & D").text == "dept=R & D"
    with pytest.raises(AttributeError):
        key._items = ()


def test_from_table_refuses_an_ambiguous_intersection():
    with pytest.raises(DataError, match="one value per attribute"):
        SliceKey.from_table("dept & sex", "R & D & F")


_value = st.text(alphabet="abcXYZ019 -_.", min_size=1, max_size=6).filter(
    lambda v: " & " not in v and v.strip() == v and v != ""
)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(_value, _value), min_size=1, max_size=30))
def test_every_encoder_names_a_group_alike(rows):
    """sensitive_codes (training), group_keys (review), the encoding's keys and the table form
    give one name per group, and predict-time matching finds every training group again."""
    frame = pd.DataFrame(rows, columns=["sex", "race"])
    encoding = encode_groups(frame)
    keys = encoding.keys()
    codes, labels = sensitive_codes(frame, len(frame))
    assert labels == [k.label for k in keys] == encoding.labels()
    assert group_keys(frame).tolist() == [labels[c] for c in codes]
    expected = [f"sex={s} & race={r}" for s, r in rows]
    assert [keys[c].text for c in codes] == expected
    assert [SliceKey.from_table(encoding.intersection_name, labels[c]).text for c in codes] == (
        expected
    )
    np.testing.assert_array_equal(match_groups(frame.iloc[::-1], labels, len(frame)), codes[::-1])


# --------------------------------------------------------------------------- (b) one key everywhere
def _groups_frame(seed: int = 0, n_per: int = 80) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parts = []
    for sex in ("F", "M"):
        for race in ("A", "B"):
            x = rng.normal(size=(n_per, 2))
            y = (rng.random(n_per) < 1 / (1 + np.exp(-(2 * x[:, 0] - x[:, 1])))).astype(int)
            parts.append(
                pd.DataFrame({"x0": x[:, 0], "x1": x[:, 1], "sex": sex, "race": race}).assign(y=y)
            )
    return pd.concat(parts, ignore_index=True)


def test_finding_table_card_and_slice_tuner_agree_on_the_key():
    frame = _groups_frame()
    result = group_metrics(
        frame["y"],
        (frame["x0"] > 0).astype(int),
        sensitive_features=frame[["sex", "race"]],
        ci=None,
        min_group_size=200,  # every group is "small": one finding per slice
    )
    finding_slices = {f.slice for f in result.findings if f.title.startswith("Small group")}
    assert "sex=F & race=A" in finding_slices
    table = result.table
    card_slices = set(_slice_texts(table[table["attribute"] != "overall"]))
    assert finding_slices <= card_slices
    assert "sex=F & race=A" in card_slices and "sex=F" in card_slices
    tuned = slice_tuner(
        Dataset(frame, target="y", sensitive=["sex", "race"]),
        budget=40,
        n_repeats=1,
        random_state=0,
    )
    assert set(tuned.slices["key"]) == {
        f"sex={s} & race={r}" for s in ("F", "M") for r in ("A", "B")
    }
    assert "F & A" in set(tuned.slices["slice"])  # the name cost= and acquire use is the label
    named = {f.slice for f in tuned.findings if f.slice is not None}
    assert named and named <= set(tuned.slices["key"]) <= card_slices


def test_predict_time_matching_refuses_unseen_and_missing_groups():
    _, labels = sensitive_codes(pd.DataFrame({"sex": ["F", "M"], "race": ["A", "B"]}), 2)
    with pytest.raises(DataError, match=r"\['F & B'\].*not in the training data"):
        match_groups(pd.DataFrame({"sex": ["F", "F"], "race": ["A", "B"]}), labels, 2)
    with pytest.raises(DataError, match="missing values"):
        match_groups(pd.DataFrame({"sex": ["F", None], "race": ["A", "B"]}), labels, 2)


def test_tabular_encoder_groups_missing_categories_under_the_one_label():
    X = pd.DataFrame({"x": [1.0, 2.0, 3.0], "c": ["a", None, "a"]})
    encoder = TabularEncoder().fit(X)
    assert MISSING in encoder.onehot_.categories_[0].tolist()
    onehot = encoder.transform(X)[:, 1:]
    np.testing.assert_array_equal(onehot, [[0, 1], [1, 0], [0, 1]])


class _Constant(ClassifierMixin, BaseEstimator):
    def fit(self, X, y):
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):
        return np.tile([0.1, 0.9], (len(X), 1))

    def predict(self, X):
        return np.ones(len(X), dtype=int)


def test_find_slices_counts_predicates_not_ampersands():
    """A value "R & D" is one predicate (splitting the text on " & " counted two)."""
    rng = np.random.default_rng(0)
    n = 2000
    dept = np.where(rng.random(n) < 0.3, "R & D", "Sales")
    y = np.where(dept == "R & D", (rng.random(n) < 0.3).astype(int), 1)
    frame = pd.DataFrame({"dept": dept, "x": rng.normal(size=n), "g": rng.choice(["a", "b"], n)})
    frame["y"] = y
    model = _Constant().fit(frame[["dept", "x"]], y)
    found = find_slices(model, Dataset(frame, target="y", sensitive="g"), random_state=0)
    row = found.slices[found.slices["slice"] == "dept = R & D"]
    assert row["n_predicates"].tolist() == [1]


# --------------------------------------------------------------------------- (c) no copies return
_COPIES = [
    re.compile(r"__missing__"),
    re.compile(r"""["'] & ["']\s*\.join\("""),  # " & ".join(values)
    re.compile(r"""sep=["'] & ["']"""),  # Series.str.cat(..., sep=" & ")
    re.compile(r"""\+ ["'] & ["'] \+"""),  # a + " & " + b
    re.compile(r"""["'] & ["'] in |\.str\.contains\(["'] & """),  # intersections found in text
]
# Slice *predicates* ("age in [30, 40)", "not (...)") are conditions, not attribute -> value keys:
# find_slices joins them into its slice text, which is not a SliceKey.
_ALLOWED = {("evaluate/_slices.py", "predicates")}


def test_no_hand_made_group_labels_outside_grouping():
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC).as_posix()
        if relative == "_grouping.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not any(p.search(line) for p in _COPIES):
                continue
            if any(relative == f and why in line for f, why in _ALLOWED):
                continue
            offenders.append(f"{relative}:{number}: {line.strip()}")
    assert offenders == [], (
        "use raikit._grouping (SliceKey, encode_groups, MISSING):\n" + "\n".join(offenders)
    )


def test_the_guard_catches_a_copy():
    assert any(p.search('labels = " & ".join(str(v) for v in row)') for p in _COPIES)
    assert any(p.search('frame.where(frame.notna(), "__missing__")') for p in _COPIES)
    assert any(p.search('key.str.cat(part, sep=" & ")') for p in _COPIES)


def test_codes_of_maps_aggregated_rows_back_to_groups():
    # a SQL engine hands back 3.0 for the label 3 and NULL for the missing group; values with
    # " & " and "=" are matched by column, never by parsing joined text
    frame = pd.DataFrame(
        {"age": [3, 5, None, 3], "tag": ["a & b=c", "x", "x", "<script>"]}, dtype=object
    )
    enc = encode_groups(frame, missing_group="(missing)")
    table = pd.DataFrame(
        {"age": [5.0, None, 3.0, 7.0], "tag": ["x", "x", "a & b=c", "x"]}, dtype=object
    )
    age = enc.codes_of(table, ["age"])
    assert [enc.labels(0)[c] for c in age[:3]] == ["5", "(missing)", "3"]
    assert age[3] == -1  # a level the encoding never saw
    both = enc.codes_of(table, ["age", "tag"])
    labels = enc.labels()
    assert [labels[c] for c in both[:3]] == ["5 & x", "(missing) & x", "3 & a & b=c"]
    assert both[3] == -1
