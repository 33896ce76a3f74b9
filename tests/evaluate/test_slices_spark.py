"""find_slices on a Spark DataFrame (local mode) returns the in-memory search's slices: the item
statistics are Spark SQL GROUPING SETS queries, the bins Spark's exact percentiles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from raikit import Dataset
from raikit.evaluate import find_slices

pytest.importorskip("pyspark")

# pyspark's own notices about pandas 3 (createDataFrame); not about raikit.
pytestmark = [
    pytest.mark.filterwarnings("ignore:PySpark does not yet:FutureWarning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]


def test_spark_find_slices_equals_in_memory(spark):
    rng = np.random.default_rng(3)
    n = 3000
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 80, n).astype(float),
            "colour": rng.choice(["red", "o'range", "bl\\ue"], n),
            "flag": rng.random(n) < 0.4,
            "group": rng.choice(["a", "b"], n),
        }
    )
    frame.loc[rng.random(n) < 0.05, "age"] = np.nan
    planted = (frame["colour"] == "o'range") & frame["flag"]
    frame["y"] = rng.integers(0, 2, n)
    p = np.clip(np.where(frame["y"] == 1, 0.7, 0.3) + rng.normal(0, 0.1, n), 0.01, 0.99)
    frame["score"] = np.where(planted, 1 - p, p)
    roles = {"target": "y", "score": "score", "sensitive": ["group"]}
    memory = Dataset(frame, **roles)
    lazy = Dataset(spark.createDataFrame(frame), **roles)
    assert lazy.is_lazy
    # SliceLine asks for the same statistics (plus the largest loss): the lattice alone keeps the
    # number of Spark jobs small
    expected = find_slices(None, memory, loss="log_loss", method="lattice", k=5, min_size=50)
    got = find_slices(None, lazy, loss="log_loss", method="lattice", k=5, min_size=50)
    assert len(expected.slices) > 0
    assert got.slices["slice"].tolist() == expected.slices["slice"].tolist()
    np.testing.assert_array_equal(got.slices["size"], expected.slices["size"])
    for column in ("mean_loss", "rest_mean_loss", "effect_size", "t_statistic", "test_level"):
        np.testing.assert_allclose(got.slices[column], expected.slices[column], rtol=1e-9)
    np.testing.assert_allclose(
        got.slices["p_value"], expected.slices["p_value"], rtol=1e-7, atol=1e-15
    )
    pd.testing.assert_frame_equal(got.levels, expected.levels)
    edges = ["low", "high"]  # from Spark's exact percentiles
    pd.testing.assert_frame_equal(got.bins.drop(columns=edges), expected.bins.drop(columns=edges))
    np.testing.assert_allclose(got.bins[edges], expected.bins[edges], rtol=1e-12)
    assert got.slices["slice"].iloc[0].startswith("colour = o'range")
    assert got.overlap(lazy) == expected.overlap(memory)
