"""Fuzzing group_metrics: every failure is a RaikitError, and no non-finite number (inf) is ever
returned as a metric value or bound (NaN marks an undefined metric)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from raikit import RaikitError
from raikit.metrics import group_metrics

LABELS = st.one_of(
    st.integers(-3, 3),
    st.sampled_from([0, 1]),
    st.booleans(),
    st.sampled_from(["a", "b", "A", "yes", "Yes", "no"]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, 1e12, 1.5]),
    st.none(),
)


def _column(draw, n):
    kind = draw(st.sampled_from(["ints01", "ints", "floats", "strings", "mixed", "bools"]))
    if kind == "ints01":
        return draw(st.lists(st.sampled_from([0, 1]), min_size=n, max_size=n))
    if kind == "ints":
        return draw(st.lists(st.integers(-3, 5), min_size=n, max_size=n))
    if kind == "floats":
        return draw(
            st.lists(
                st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=n, max_size=n
            )
        )
    if kind == "strings":
        return draw(
            st.lists(st.sampled_from(["a", "b", "c", "Yes", "yes"]), min_size=n, max_size=n)
        )
    if kind == "bools":
        return draw(st.lists(st.booleans(), min_size=n, max_size=n))
    return draw(st.lists(LABELS, min_size=n, max_size=n))


@st.composite
def calls(draw):
    n = draw(st.integers(0, 12))
    y_true = _column(draw, n)
    y_pred = _column(draw, draw(st.sampled_from([n, n, n, max(n - 1, 0), n + 1])))
    size = draw(st.sampled_from([n, n, n, n + 1]))
    sensitive = draw(
        st.lists(
            st.one_of(
                st.sampled_from(["g", "h", "k"]), st.integers(0, 2), st.none(), st.just(math.nan)
            ),
            min_size=size,
            max_size=size,
        )
    )
    kwargs = {
        "sensitive_features": sensitive,
        "task": draw(st.sampled_from(["auto", "auto", "binary", "multiclass", "regression", "x"])),
        "pos_label": draw(st.sampled_from([None, None, 1, 0, "a", "yes", True])),
        "ci": draw(st.sampled_from([None, None, 0.9, 1.5])),
        "n_boot": 20,
        "random_state": 0,
    }
    if draw(st.booleans()):
        score = draw(
            st.lists(
                st.one_of(st.floats(-2, 2), st.sampled_from([math.nan, math.inf])),
                min_size=n,
                max_size=n,
            )
        )
        kwargs["score"] = score
    if draw(st.booleans()):
        kwargs["metrics"] = draw(
            st.lists(
                st.sampled_from(
                    [
                        "accuracy",
                        "selection_rate",
                        "tpr",
                        "mean_absolute_error",
                        "r2",
                        "roc_auc",
                        "brier_score",
                        "nonsense",
                    ]
                ),
                min_size=1,
                max_size=3,
                unique=True,
            )
        )
    return y_true, y_pred, kwargs


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(calls())
def test_group_metrics_fails_only_with_raikit_errors_and_never_returns_inf(call):
    y_true, y_pred, kwargs = call
    try:
        result = group_metrics(y_true, y_pred, **kwargs)
    except RaikitError:
        return
    for frame in (result.table, result.disparities):
        numbers = frame[["value", "lower", "upper"]].to_numpy(dtype=float)
        assert not np.isinf(numbers).any(), frame[np.isinf(numbers).any(axis=1)]
    assert "nan" not in {str(g) for g in result.table["group"]} - {
        str(v) for v in kwargs["sensitive_features"] if isinstance(v, str)
    }


@pytest.mark.parametrize(
    ("y_true", "y_pred", "kwargs", "match"),
    [
        ([1.0, math.inf, 2.0], [1.0, 2.0, 2.0], {"task": "regression"}, "infinite"),
        ([1.0, 2.0, 3.0], [1.0, -math.inf, 2.0], {"task": "regression"}, "infinite"),
        (["a", "b", "c"], ["a", "b", "c"], {"task": "regression"}, "numbers"),
        ([-2, 0, 3], [0, 0, 3], {"task": "binary"}, "labels"),
        ([0, 1, 0], [0, 1], {}, "rows"),
    ],
)
def test_bad_inputs_found_by_fuzzing_raise_data_errors(y_true, y_pred, kwargs, match):
    """Before: MAE = inf, raw ValueError/IndexError from deep inside the engine."""
    with pytest.raises(RaikitError, match=match):
        group_metrics(y_true, y_pred, sensitive_features=["g", "g", "h"], **kwargs)


def test_a_missing_value_in_a_sensitive_list_is_not_a_group_called_nan():
    """Before: sensitive_features=['a', nan, 'b'] made a group named "nan"."""
    with pytest.raises(RaikitError, match="missing"):
        group_metrics([0, 1, 1], [0, 1, 0], sensitive_features=["a", math.nan, "b"])
    r = group_metrics(
        [0, 1, 1], [0, 1, 0], sensitive_features=["a", math.nan, "b"], missing_group="(none)"
    )
    assert set(r.by_group.index.get_level_values("group")) == {"a", "b", "(none)"}
