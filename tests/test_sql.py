"""The one SQL dialect (raikit._sql): hostile column names and values stay one identifier / one
literal in DuckDB and in Spark SQL, and the lazy checks give the in-memory numbers on such data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from raikit import Dataset
from raikit._sql import DUCKDB, SPARK
from raikit.data import representation
from raikit.metrics import group_metrics_of

HOSTILE = [
    'a"b',
    "a`b",
    "it's",
    "x; DROP TABLE t; --",
    "back\\slash",
    "new\nline",
    "émoji ✓ 名前",
    "'; SELECT 1; --",
    "dot.name",
    "`\"'",
]

pytestmark = [
    pytest.mark.filterwarnings("ignore:PySpark does not yet:FutureWarning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]


def _round_trip_sql(dialect, names):
    """SELECT every hostile value as a literal under a hostile alias, then read the alias back."""
    parts = [f"{dialect.literal(v)} AS {dialect.ident(v)}" for v in names]
    return "SELECT " + ", ".join(parts)


def test_duckdb_round_trips_hostile_names_and_values():
    duckdb = pytest.importorskip("duckdb")
    frame = duckdb.connect().execute(_round_trip_sql(DUCKDB, HOSTILE)).df()
    assert list(frame.columns) == HOSTILE
    assert frame.iloc[0].tolist() == HOSTILE


def test_dialect_numbers_and_null():
    duckdb = pytest.importorskip("duckdb")
    values = [None, True, False, 3, np.int64(-7), 0.1, float("inf"), float("-inf")]
    row = duckdb.connect().execute("SELECT " + ", ".join(DUCKDB.literal(v) for v in values))
    got = row.fetchone()
    assert got == (None, True, False, 3, -7, 0.1, float("inf"), float("-inf"))
    assert np.isnan(duckdb.connect().execute(f"SELECT {DUCKDB.double(np.nan)}").fetchone()[0])


CLIP_VALUES = [-1.0, 0.0, 1e-300, 0.25, 1.0, 3.0, float("nan"), None]


def _clip_sql(dialect):
    """SELECT the clip to [1e-15, 1 - 1e-15] of every CLIP_VALUES value (NaN as a DOUBLE)."""
    cells = [
        f"{dialect.clip(dialect.literal(v) if v is None else dialect.double(v), 1e-15, 1 - 1e-15)}"
        f" AS c{i}"
        for i, v in enumerate(CLIP_VALUES)
    ]
    return "SELECT " + ", ".join(cells)


def _clip_expected():
    """numpy's clip, except that a missing value stays missing (None)."""
    return [
        None
        if v is None
        else float(np.clip(np.float64(v), 1e-15, 1 - 1e-15))
        if v == v
        else 1 - 1e-15  # NaN is the greatest value in both engines
        for v in CLIP_VALUES
    ]


def test_clip_is_numpys_clip_with_missing_kept():
    duckdb = pytest.importorskip("duckdb")
    got = list(duckdb.connect().execute(_clip_sql(DUCKDB)).fetchone())
    assert got == _clip_expected()


def test_clip_is_the_same_on_spark(spark):
    got = [None if v is None else float(v) for v in spark.sql(_clip_sql(SPARK)).first()]
    assert got == _clip_expected()


def _frame(name_a, name_y, name_p, rng):
    n = 400
    group = rng.choice(["g'1", 'g"2', "g`3;"], n)
    y = rng.integers(0, 2, n)
    p = np.where(rng.random(n) < 0.8, y, 1 - y)
    return pd.DataFrame({name_a: group, name_y: y, name_p: p})


@pytest.mark.parametrize("name", HOSTILE)
def test_group_metrics_on_duckdb_with_hostile_column_names(tmp_path, name):
    frame = _frame(name, name + "_y", name + "_p", np.random.default_rng(0))
    path = tmp_path / "data.parquet"
    frame.to_parquet(path)
    roles = dict(target=name + "_y", prediction=name + "_p", sensitive=[name])
    lazy = group_metrics_of(Dataset(str(path), lazy=True, **roles), ci=None)
    eager = group_metrics_of(Dataset(frame, **roles), ci=None)
    pd.testing.assert_series_equal(
        lazy.by_group["accuracy"].sort_index(), eager.by_group["accuracy"].sort_index()
    )


def test_spark_round_trips_hostile_names_and_values(spark):
    for escaped in ("false", "true"):  # the literal does not depend on the parser's setting
        spark.conf.set("spark.sql.parser.escapedStringLiterals", escaped)
        try:
            frame = spark.sql(_round_trip_sql(SPARK, HOSTILE)).toPandas()
        finally:
            spark.conf.unset("spark.sql.parser.escapedStringLiterals")
        assert list(frame.columns) == HOSTILE
        assert frame.iloc[0].tolist() == HOSTILE


def test_spark_checks_with_hostile_names_and_labels(spark):
    """Hostile column names through group metrics, and a hostile positive label through the
    base rates of representation (a literal in the SQL), equal the in-memory numbers."""
    rng = np.random.default_rng(1)
    name = "x`; DROP 'it' \"n\" ✓"
    frame = _frame(name, "y'`", 'p"', rng)
    frame["y'`"] = np.where(frame["y'`"] == 1, "ye's\\", "no")
    frame['p"'] = np.where(frame['p"'] == 1, "ye's\\", "no")
    roles = dict(target="y'`", prediction='p"', sensitive=[name])
    lazy = Dataset(spark.createDataFrame(frame), lazy=True, **roles)
    eager = Dataset(frame, **roles)
    got = group_metrics_of(lazy, ci=None, pos_label="ye's\\").by_group["accuracy"]
    want = group_metrics_of(eager, ci=None, pos_label="ye's\\").by_group["accuracy"]
    pd.testing.assert_series_equal(got.sort_index(), want.sort_index())
    rep_lazy = representation(lazy, pos_label="ye's\\").groups
    rep_eager = representation(eager, pos_label="ye's\\").groups
    key = ["attribute", "group"]
    rep_lazy, rep_eager = (t.sort_values(key).reset_index(drop=True) for t in (rep_lazy, rep_eager))
    assert rep_lazy["count"].tolist() == rep_eager["count"].tolist()
    np.testing.assert_allclose(rep_lazy["base_rate"], rep_eager["base_rate"])
    assert rep_eager["base_rate"].notna().all()


def test_a_lazy_tables_memory_limit_is_one_literal(tmp_path):
    # "1GB'; COPY ..." used to end the SET statement and run the COPY: now it is one bad size
    import duckdb

    from raikit._lazy import DuckDBTable

    pd.DataFrame({"x": [1, 2]}).to_parquet(tmp_path / "t.parquet", index=False)
    target = tmp_path / "leak.csv"
    table = DuckDBTable(
        str(tmp_path / "t.parquet"),
        memory_limit=f"1GB'; COPY (SELECT 1) TO '{target.as_posix()}'; SELECT '",
    )
    with pytest.raises(duckdb.Error):
        _ = table.connection
    assert not target.exists()
    fine = DuckDBTable(str(tmp_path / "t.parquet"), memory_limit="256MB")
    assert fine.query("SELECT COUNT(*) AS n FROM {table}")["n"].iloc[0] == 2
