"""Dataset.aggregate: the same table from pandas, DuckDB and Spark, checked against numbers
computed by hand with numpy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from raikit import ColumnError, DataError, Dataset, ParameterError

pytestmark = [
    pytest.mark.filterwarnings("ignore:PySpark does not yet:FutureWarning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]

STATS = {
    "rows": (None, "count"),
    "n_x": ("x", "count"),
    "sum_x": ("x", "sum"),
    "sq_x": ("x", "sum_sq"),
    "lo": ("x", "min"),
    "hi": ("x", "max"),
    "nulls": ("x", "null_count"),
}
SETS = [["s"], ["s", "t"], []]


def _frame(n=300, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    x[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame(
        {
            "s": rng.choice(["a'", 'b"', "c`;"], n),
            "t": rng.choice(["u", "v"], n),
            "x": x,
            "w": rng.uniform(0, 3, n),
        }
    )


def _by_hand(frame, keys, weight):
    rows = []
    groups = frame.groupby(keys, sort=True) if keys else [((), frame)]
    for key, part in groups:
        x = part["x"].to_numpy()
        w = part["w"].to_numpy() if weight else np.ones(len(part))
        ok = ~np.isnan(x)
        rows.append(
            [
                *(key if isinstance(key, tuple) else (key,)),
                w.sum(),
                w[ok].sum(),
                (w[ok] * x[ok]).sum(),
                (w[ok] * x[ok] ** 2).sum(),
                x[ok].min(),
                x[ok].max(),
                w[~ok].sum(),
            ]
        )
    return pd.DataFrame(rows, columns=[*keys, *STATS])


def _check(table, frame, weight):
    for i, keys in enumerate(SETS):
        got = table[table["grouping_set"] == i].reset_index(drop=True)
        want = _by_hand(frame, keys, weight)
        assert len(got) == len(want)
        for column in keys:
            assert got[column].astype(str).tolist() == want[column].astype(str).tolist()
        for name in STATS:
            np.testing.assert_allclose(got[name].to_numpy(float), want[name], rtol=1e-12)
        for name in ("s", "t"):
            if name not in keys:
                assert got[name].isna().all()


@pytest.mark.parametrize("weight", [None, "w"])
def test_in_memory_matches_numpy(weight):
    frame = _frame()
    table = Dataset(frame, target=None, sensitive="s").aggregate(
        by=SETS, stats=STATS, weight=weight
    )
    _check(table, frame, weight)
    if weight is None:
        assert table["rows"].dtype == np.int64


@pytest.mark.parametrize("weight", [None, "w"])
def test_duckdb_matches_in_memory(tmp_path, weight):
    pytest.importorskip("duckdb")
    frame = _frame(seed=1)
    frame.to_parquet(tmp_path / "d.parquet")
    lazy = Dataset(str(tmp_path / "d.parquet"), target=None, sensitive="s", lazy=True)
    table = lazy.aggregate(by=SETS, stats=STATS, weight=weight)
    _check(table, frame, weight)
    eager = Dataset(frame, target=None, sensitive="s").aggregate(
        by=SETS, stats=STATS, weight=weight
    )
    pd.testing.assert_frame_equal(table, eager, check_dtype=False, rtol=1e-12)


def test_one_set_and_no_set():
    frame = _frame(n=50)
    ds = Dataset(frame, target=None, sensitive="s")
    one = ds.aggregate(by="t", stats={"n": (None, "count")})
    assert list(one.columns) == ["t", "n"]
    assert one["n"].tolist() == frame["t"].value_counts().sort_index().tolist()
    whole = ds.aggregate(stats={"n": (None, "count"), "m": ("x", "max")})
    assert whole["n"].tolist() == [50] and whole["m"].iloc[0] == np.nanmax(frame["x"])


def test_bad_requests_raise_raikit_errors(tmp_path):
    frame = _frame(n=20)
    ds = Dataset(frame, target=None, sensitive="s")
    with pytest.raises(ParameterError, match="statistics are"):
        ds.aggregate(stats={"n": ("x", "mean")})
    with pytest.raises(ParameterError, match="twice"):
        ds.aggregate(by=[["s"], ["s"]], stats={"n": (None, "count")})
    with pytest.raises(ColumnError, match="nope"):
        ds.aggregate(by=["nope"], stats={"n": (None, "count")})
    with pytest.raises(ColumnError, match="sums need numbers"):
        ds.aggregate(stats={"n": ("s", "sum")})
    bad = frame.assign(w=np.where(np.arange(20) == 3, -1.0, frame["w"]))
    with pytest.raises(DataError, match="negative"):
        Dataset(bad, target=None, sensitive="s").aggregate(stats={"n": (None, "count")}, weight="w")
    bad.to_parquet(tmp_path / "bad.parquet")
    lazy = Dataset(str(tmp_path / "bad.parquet"), target=None, sensitive="s", lazy=True)
    with pytest.raises(DataError, match="1 missing, infinite or negative"):
        lazy.aggregate(stats={"n": (None, "count")}, weight="w")


def test_spark_matches_in_memory():
    pytest.importorskip("pyspark")
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[1]")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    frame = _frame(seed=2)
    lazy = Dataset(spark.createDataFrame(frame), target=None, sensitive="s", lazy=True)
    for weight in (None, "w"):
        _check(lazy.aggregate(by=SETS, stats=STATS, weight=weight), frame, weight)


def test_keys_without_an_order_still_group():
    """Mixed-type keys (an int and a string) cannot be sorted; the groups are still right."""
    frame = pd.DataFrame({"s": [1, "a", 1, "a", "a", None], "x": [1.0, 2, 3, 4, 5, 6]})
    table = Dataset(frame, target=None, sensitive="s", missing_group="?").aggregate(
        by="s", stats={"n": (None, "count"), "sx": ("x", "sum")}
    )
    got = {str(k): (n, sx) for k, n, sx in table.itertuples(index=False)}
    assert got == {"1": (2, 4.0), "a": (3, 11.0), "nan": (1, 6.0)}


def test_hostile_column_and_stat_names_on_duckdb(tmp_path):
    pytest.importorskip("duckdb")
    frame = _frame(n=120, seed=4)
    names = {"s": 'k"; DROP', "x": "v`'x", "w": "w'); --", "t": "é ✓"}
    hostile = frame.rename(columns=names)
    hostile.to_parquet(tmp_path / "h.parquet")
    stats = {'n"1': (None, "count"), "s'x": (names["x"], "sum")}
    for data in (
        Dataset(str(tmp_path / "h.parquet"), target=None, sensitive=[names["s"]], lazy=True),
        Dataset(hostile, target=None, sensitive=[names["s"]]),
    ):
        got = data.aggregate(by=[names["s"]], stats=stats, weight=names["w"])
        want = _by_hand(frame, ["s"], "w")
        assert got[names["s"]].tolist() == want["s"].tolist()
        np.testing.assert_allclose(got['n"1'], want["rows"], rtol=1e-12)
        np.testing.assert_allclose(got["s'x"], want["sum_x"], rtol=1e-12)
