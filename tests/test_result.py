"""Lossless JSON of results: every value type that results hold comes back bit for bit."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest

from raikit import Finding, RaikitError, Result
from raikit._result import result_from_dict


@dataclass(frozen=True, eq=False)
class _ToyResult(Result):
    frame: pd.DataFrame
    series: pd.Series
    array: np.ndarray
    numbers: dict
    pair: tuple
    findings: tuple = field(default_factory=tuple)


def test_round_trip_of_every_supported_type():
    index = pd.MultiIndex.from_tuples(
        [("sex", "F"), ("sex", "M"), ("race", "B")], names=["attribute", "group"]
    )
    frame = pd.DataFrame(
        {
            "value": [0.1 + 0.2, np.nan, -np.inf],
            "n": [1, 2, 3],
            "label": pd.Categorical(["a", "b", "a"], categories=["b", "a"], ordered=True),
            "when": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]),
        },
        index=index,
    )
    toy = _ToyResult(
        frame=frame,
        series=pd.Series([1e-300, 2.5], index=["x", "y"], name="s"),
        array=np.array([[1, 2], [3, 4]], dtype=np.int32),
        numbers={("a", 1): float("nan"), "b": [1, 2.0, None]},
        pair=(1, "two"),
        findings=(Finding("error", "Bad", "detail", slice="sex=F"),),
    )
    text = toy.to_json()
    json.loads(text)  # strict JSON: no bare NaN or Infinity
    assert "NaN" not in text and "Infinity" not in text
    back = Result.from_json(text)
    assert isinstance(back, _ToyResult)
    pd.testing.assert_frame_equal(back.frame, frame, check_exact=True)
    pd.testing.assert_series_equal(back.series, toy.series, check_exact=True)
    np.testing.assert_array_equal(back.array, toy.array)
    assert back.array.dtype == np.int32
    assert np.isnan(back.numbers[("a", 1)]) and back.numbers["b"] == [1, 2.0, None]
    assert back.pair == (1, "two") and back.findings == toy.findings
    assert result_from_dict(toy.to_dict()).frame.index.names == ["attribute", "group"]


def test_bad_severity_and_unknown_type_are_clear_errors():
    with pytest.raises(RaikitError, match="severity must be one of"):
        Finding("fatal", "x")
    with pytest.raises(RaikitError, match="Unknown result type 'NoSuchResult'"):
        result_from_dict({"type": "NoSuchResult", "fields": {}})
