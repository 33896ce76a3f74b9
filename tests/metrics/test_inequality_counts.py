"""The inequality measures from aggregated counts (what a lazy Dataset's aggregate gives) equal
``inequality_metrics`` on the rows: values and bootstrap intervals, with and without weights."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from raikit import DataError
from raikit.metrics import inequality_metrics
from raikit.metrics._inequality import counted_from_table, inequality_from_counts


def _rows(n=2000, seed=2):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "sex": rng.choice(["F", "M"], n),
            "race": rng.choice(["a", "b", "c"], n, p=[0.6, 0.3, 0.1]),
            "y": rng.integers(0, 2, n),
            "w": rng.integers(1, 5, n).astype(float),
        }
    )
    frame["p"] = np.where(rng.random(n) < 0.75, frame["y"], 1 - frame["y"])
    return frame


@pytest.mark.parametrize("weighted", [False, True])
def test_counts_give_the_rows_values_and_intervals(weighted):
    frame = _rows()
    names = ["sex", "race"]
    table = (
        frame.assign(w2=frame["w"] ** 2)
        .groupby([*names, "y", "p"])
        .agg(__n=("w", "size"), __w=("w", "sum"), __w2=("w2", "sum"))
        .reset_index()
        .rename(columns={"y": "__y", "p": "__p"})
    )
    if not weighted:
        table = table.drop(columns=["__w", "__w2"])
    counted = counted_from_table(table, names, pos_label=None, missing_group=None)
    settings = dict(ci=0.9, n_boot=300, random_state=11)
    from_counts = inequality_from_counts(
        counted,
        dict(counted.slices.families),
        privileged=None,
        order=2.0,
        neighbours=None,
        n_neighbors=5,
        **settings,
    )
    on_rows = inequality_metrics(
        frame["y"],
        frame["p"],
        sensitive_features=frame[names],
        sample_weight=frame["w"] if weighted else None,
        **settings,
    )
    pd.testing.assert_frame_equal(from_counts.table, on_rows.table, atol=1e-12)
    assert from_counts.meta["weighted"] is weighted
    assert from_counts.meta["n_rows"] == len(frame)


def test_counts_refuse_missing_and_multiclass_labels():
    table = pd.DataFrame(
        {"s": ["a", "b", "a"], "__y": [0, 1, 2], "__p": [0, 1, 1], "__n": [3, 4, 5]}
    )
    with pytest.raises(DataError, match="binary labels"):
        counted_from_table(table, ["s"], pos_label=None, missing_group=None)
    with pytest.raises(DataError, match="missing values"):
        counted_from_table(
            table.assign(__y=[0, 1, None]), ["s"], pos_label=None, missing_group=None
        )
