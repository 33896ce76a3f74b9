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
        ds.aggregate(stats={"n": ("x", "median")})
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


def test_spark_matches_in_memory(spark):
    frame = _frame(seed=2)
    lazy = Dataset(spark.createDataFrame(frame), target=None, sensitive="s", lazy=True)
    for weight in (None, "w"):
        _check(lazy.aggregate(by=SETS, stats=STATS, weight=weight), frame, weight)
    moments = {"v": ("x", "var"), "m": ("x", "mean")}
    eager = Dataset(frame, target=None, sensitive="s").aggregate(by=SETS, stats=moments, weight="w")
    got = lazy.aggregate(by=SETS, stats=moments, weight="w")
    np.testing.assert_allclose(got[["v", "m"]], eager[["v", "m"]], rtol=1e-9)


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


# --------------------------------------------------------------------------- mean, var, distinct
MOMENTS = {"m": ("x", "mean"), "v": ("x", "var"), "d": ("x", "distinct"), "ds": ("s", "distinct")}


def _moments_by_hand(frame, keys):
    rows = []
    groups = frame.groupby(keys, sort=True) if keys else [((), frame)]
    for key, part in groups:
        x = part["x"].dropna().to_numpy()
        rows.append(
            [
                *(key if isinstance(key, tuple) else (key,)),
                x.mean() if x.size else np.nan,
                x.var(ddof=1) if x.size > 1 else np.nan,
                len(np.unique(x)),
                part["s"].nunique(),
            ]
        )
    return pd.DataFrame(rows, columns=[*keys, *MOMENTS])


def _rounded(frame, seed):
    """Values with repeats (so distinct counts are not just counts) and NaN as missing."""
    return frame.assign(x=np.round(frame["x"] * 2) / 2)


@pytest.mark.parametrize("where", ["memory", "duckdb"])
def test_mean_var_distinct_match_numpy_on_every_grouping_set(tmp_path, where):
    frame = _rounded(_frame(seed=5), 5)
    ds = _dataset(frame, where, tmp_path)
    table = ds.aggregate(by=SETS, stats=MOMENTS)
    for i, keys in enumerate(SETS):
        got = table[table["grouping_set"] == i].reset_index(drop=True)
        want = _moments_by_hand(frame, keys)
        assert got[keys].astype(str).values.tolist() == want[keys].astype(str).values.tolist()
        np.testing.assert_allclose(got["m"], want["m"], rtol=1e-12)
        np.testing.assert_allclose(got["v"], want["v"], rtol=1e-10)
        assert got["d"].tolist() == want["d"].tolist() and got["d"].dtype == np.int64
        assert got["ds"].tolist() == want["ds"].tolist()


@pytest.mark.parametrize("where", ["memory", "duckdb"])
def test_weighted_mean_equals_the_mean_of_repeated_rows(tmp_path, where):
    frame = _frame(n=80, seed=6).assign(w=lambda f: np.arange(len(f)) % 4)
    repeated = frame.loc[frame.index.repeat(frame["w"])]
    got = _dataset(frame, where, tmp_path).aggregate(
        by="s", stats={"m": ("x", "mean"), "n": ("x", "count")}, weight="w"
    )
    want = repeated.groupby("s")["x"].agg(["mean", "count"])
    np.testing.assert_allclose(got["m"], want["mean"], rtol=1e-12)
    np.testing.assert_allclose(got["n"], want["count"], rtol=1e-12)


def test_variance_is_stable_far_from_zero(tmp_path):
    """A sum-of-squares formula loses every digit at 1e9 + small noise (x**2 ~ 1e18 has an
    ulp of 128); two passes and VAR_SAMP keep the variance (~4e-6) to 1e-4."""
    frame = pd.DataFrame({"s": ["a", "b"] * 50, "x": 1e9 + np.arange(100) % 7 * 1e-3})
    shifted = frame.assign(x=frame["x"] - 1e9)  # exact: the reference without cancellation
    want = shifted.groupby("s")["x"].var().to_numpy()
    for where in ("memory", "duckdb"):
        got = _dataset(frame, where, tmp_path).aggregate(by=[["s"], []], stats={"v": ("x", "var")})
        np.testing.assert_allclose(got["v"].iloc[:2], want, rtol=1e-4, err_msg=where)
        np.testing.assert_allclose(got["v"].iloc[2], shifted["x"].var(), rtol=1e-4)


@pytest.mark.parametrize("where", ["memory", "duckdb"])
def test_weighted_var_equals_the_var_of_repeated_rows(tmp_path, where):
    """Frequency weights: integer weights give the sample variance of the table with each row
    repeated; far from zero (1e9 + noise) the shifted sums keep the digits."""
    frame = _frame(n=120, seed=8).assign(w=lambda f: np.arange(len(f)) % 4)
    frame["x"] = 1e9 + frame["x"]
    repeated = frame.loc[frame.index.repeat(frame["w"])]
    got = _dataset(frame, where, tmp_path).aggregate(
        by=[["s"], []], stats={"v": ("x", "var")}, weight="w"
    )
    want = [*repeated.groupby("s")["x"].var(), repeated["x"].var()]
    np.testing.assert_allclose(got["v"], want, rtol=1e-6)


def test_weighted_var_is_nan_where_weights_sum_to_one_or_less(tmp_path):
    frame = pd.DataFrame({"s": ["a", "a", "b", "b"], "x": [1.0, 3.0, 2.0, 5.0]})
    frame["w"] = [0.25, 0.25, 2.0, 2.0]
    for where in ("memory", "duckdb"):
        got = _dataset(frame, where, tmp_path).aggregate(
            by="s", stats={"v": ("x", "var")}, weight="w"
        )
        # b: mean 3.5, sum w (x - mean)^2 = 2 * 2.25 * 2 = 9, over 4 - 1
        np.testing.assert_allclose(got["v"], [np.nan, 3.0], err_msg=where)


def test_means_need_numbers():
    ds = Dataset(_frame(n=20), target=None, sensitive="s")
    with pytest.raises(ColumnError, match=r"'s'.*need numbers"):
        ds.aggregate(stats={"m": ("s", "mean")})


# --------------------------------------------------------------------------- histogram pieces
def _dataset(frame, where, tmp_path, **roles):
    roles = {"target": None, "sensitive": "s", **roles}
    if where == "memory":
        return Dataset(frame, **roles)
    path = tmp_path / f"{where}-{len(frame)}-{abs(hash(tuple(frame.columns)))}.parquet"
    frame.to_parquet(path, index=False)
    return Dataset(str(path), lazy=True, **roles)


def _pieces_frame(n=400, seed=7):
    rng = np.random.default_rng(seed)
    x = np.round(rng.normal(size=n) * 3, 1)  # repeats: several rows per value
    x[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame(
        {
            "s": rng.choice(["a", "b", "c"], n),
            "t": rng.choice(["u", "v"], n),
            "x": x,
            "w": rng.integers(0, 4, n).astype(float),
        }
    )


def test_in_memory_pieces_are_the_distinct_values_of_every_group():
    frame = _pieces_frame()
    table = Dataset(frame, target=None, sensitive="s").histogram("x", by=SETS, weight="w")
    assert table.attrs["exact"] and (table["lo"] == table["hi"]).all()
    for i, keys in enumerate(SETS):
        got = table[table["grouping_set"] == i]
        present = frame.dropna(subset=["x"])
        want = (
            present.groupby([*keys, "x"], sort=True)
            .agg(rows=("w", "size"), n=("w", "sum"))
            .reset_index()
        )
        assert got[keys].values.tolist() == want[keys].values.tolist()
        np.testing.assert_array_equal(got["lo"], want["x"])
        assert got["rows"].tolist() == want["rows"].tolist()
        np.testing.assert_allclose(got["n"], want["n"], rtol=1e-12)
        assert got["rows"].sum() == frame["x"].notna().sum()


def _rebinned(exact: pd.DataFrame, keys):
    """Exact pieces merged to one per (set, group, cut, bin): what a lazy table returns."""
    return (
        exact.groupby(["grouping_set", *keys, "half", "bin"], dropna=False, sort=True)
        .agg(rows=("rows", "sum"), n=("n", "sum"), lo=("lo", "min"), hi=("hi", "max"))
        .reset_index()
    )


@pytest.mark.parametrize("weight", [None, "w"])
def test_duckdb_pieces_hold_the_right_rows_and_true_extremes(tmp_path, weight):
    frame = _pieces_frame(seed=8)
    memory = _dataset(frame, "memory", tmp_path)
    lazy = _dataset(frame, "duckdb", tmp_path)
    cuts = {"half": [-1.0, 0.0, 2.5]}
    exact = memory.histogram("x", by=SETS, bins=16, cuts=cuts, weight=weight)
    pieces = lazy.histogram("x", by=SETS, bins=16, cuts=cuts, weight=weight)
    assert not pieces.attrs["exact"] and pieces.attrs["range"] == exact.attrs["range"]
    assert pieces.attrs["range"] == (np.nanmin(frame["x"]), np.nanmax(frame["x"]))
    want = _rebinned(exact, ["s", "t"])
    assert list(pieces.columns) == list(exact.columns)
    assert pieces["s"].astype(str).tolist() == want["s"].astype(str).tolist()
    assert pieces["t"].astype(str).tolist() == want["t"].astype(str).tolist()
    for column in ("grouping_set", "half", "bin", "rows"):
        assert pieces[column].tolist() == want[column].tolist(), column
    for column in ("n", "lo", "hi"):
        np.testing.assert_allclose(pieces[column], want[column], rtol=1e-12)
    overall = pieces[pieces["grouping_set"] == 2]
    assert overall["rows"].sum() == frame["x"].notna().sum()
    if weight:
        assert overall["n"].sum() == pytest.approx(frame.loc[frame["x"].notna(), "w"].sum())


def test_bin_is_the_same_in_numpy_and_duckdb_on_boundary_values(tmp_path):
    low, high, bins = 0.1, 0.7, 7
    edges = low + (high - low) * np.arange(bins + 1) / bins
    values = np.concatenate([edges, np.nextafter(edges, -np.inf), np.nextafter(edges, np.inf)])
    values = np.clip(values, low, high)
    frame = pd.DataFrame({"s": [f"r{i:03d}" for i in range(len(values))], "x": values})
    span = high - low
    want = np.minimum(np.floor(((values - low) / span) * bins), bins - 1).astype(int)
    for where in ("memory", "duckdb"):
        ds = _dataset(frame, where, tmp_path)
        got = ds.histogram("x", by="s", bins=bins, range=(low, high))
        assert got["s"].tolist() == frame["s"].tolist()
        np.testing.assert_array_equal(got["bin"], want, err_msg=where)


@pytest.mark.parametrize("where", ["memory", "duckdb"])
def test_cuts_count_the_edges_at_or_below_each_value(tmp_path, where):
    frame = pd.DataFrame({"s": ["a"] * 6, "x": [0.5, 1.0, 1.5, 2.0, 3.0, np.nan]})
    got = _dataset(frame, where, tmp_path).histogram("x", bins=1, cuts={"c": [1.0, 2.0]})
    if where == "memory":  # one piece per value
        assert got["lo"].tolist() == [0.5, 1.0, 1.5, 2.0, 3.0]
        assert got["c"].tolist() == [0, 1, 1, 2, 2]
    else:  # one piece per cut (one bin): the edge value opens its piece
        assert got["lo"].tolist() == [0.5, 1.0, 2.0] and got["hi"].tolist() == [0.5, 1.5, 3.0]
        assert got["c"].tolist() == [0, 1, 2] and got["rows"].tolist() == [1, 2, 2]
    assert got["c"].tolist() == np.searchsorted([1.0, 2.0], got["lo"], side="right").tolist()


@pytest.mark.parametrize("where", ["memory", "duckdb"])
def test_range_wider_or_narrower_than_the_values(tmp_path, where):
    frame = pd.DataFrame({"s": ["a"] * 4, "x": [-5.0, 0.0, 5.0, 50.0]})
    got = _dataset(frame, where, tmp_path).histogram("x", bins=10, range=(0.0, 10.0))
    assert got.groupby("bin")["rows"].sum().to_dict() == {0: 2, 5: 1, 9: 1}
    assert got.attrs["range"] == (0.0, 10.0)


@pytest.mark.parametrize("where", ["memory", "duckdb"])
def test_nan_is_missing_and_an_empty_group_has_no_piece(tmp_path, where):
    frame = pd.DataFrame(
        {"s": ["a", "a", "b", "b", "c", "c"], "x": [1.0, np.nan, 2.0, 2.0, np.nan, np.nan]}
    )
    ds = _dataset(frame, where, tmp_path)
    pieces = ds.histogram("x", by="s", bins=4)
    assert pieces["s"].tolist() == ["a", "b"] and pieces["rows"].tolist() == [1, 2]
    stats = ds.aggregate(
        by="s",
        stats={
            "n": ("x", "count"),
            "m": ("x", "mean"),
            "v": ("x", "var"),
            "d": ("x", "distinct"),
            "lo": ("x", "min"),
        },
    )
    assert stats["n"].tolist() == [1, 2, 0] and stats["d"].tolist() == [1, 1, 0]
    assert stats["m"].iloc[2] != stats["m"].iloc[2] and stats["lo"].iloc[2] != stats["lo"].iloc[2]
    assert np.isnan(stats["v"].iloc[0]) and stats["v"].iloc[1] == 0.0
    q = ds.quantiles("x", [0.5], by="s")
    assert q["value"].tolist()[:2] == [1.0, 2.0] and np.isnan(q["value"].iloc[2])


def test_hostile_names_in_histogram_and_quantiles(tmp_path):
    names = {"s": 'k"; DROP TABLE x; --', "x": "v`'x\\", "w": "__raikit_v"}
    frame = _pieces_frame(n=120, seed=9).drop(columns="t").rename(columns=names)
    memory = _dataset(frame, "memory", tmp_path, sensitive=names["s"])
    lazy = _dataset(frame, "duckdb", tmp_path, sensitive=names["s"])
    exact = memory.histogram(names["x"], by=names["s"], bins=4, weight=names["w"])
    pieces = lazy.histogram(names["x"], by=names["s"], bins=4, weight=names["w"])
    merged = exact.groupby([names["s"], "bin"]).agg(rows=("rows", "sum"), n=("n", "sum"))
    assert pieces["rows"].tolist() == merged["rows"].tolist()
    np.testing.assert_allclose(pieces["n"], merged["n"], rtol=1e-12)
    a = memory.quantiles(names["x"], [0.1, 0.5], by=names["s"])
    b = lazy.quantiles(names["x"], [0.1, 0.5], by=names["s"])
    pd.testing.assert_frame_equal(a, b, rtol=1e-12)
    # a key named like an output column comes back under an alias named in attrs["keys"]
    clash = frame.rename(columns={names["s"]: "bin"})
    aliased = Dataset(clash, target=None, sensitive="bin").histogram(names["x"], by="bin")
    assert aliased.attrs["keys"] == {"bin": "_bin"}
    plain = memory.histogram(names["x"], by=names["s"])
    pd.testing.assert_frame_equal(
        aliased.rename(columns={"_bin": names["s"]}), plain, check_dtype=False
    )


# --------------------------------------------------------------------------- quantiles
@pytest.mark.parametrize("where", ["memory", "duckdb"])
def test_quantiles_match_numpy_on_every_grouping_set(tmp_path, where):
    frame = _pieces_frame(seed=10)
    qs = [0.0, 0.05, 0.25, 0.5, 0.9, 1.0]
    got = _dataset(frame, where, tmp_path).quantiles("x", qs, by=SETS)
    for i, keys in enumerate(SETS):
        part = got[got["grouping_set"] == i]
        groups = frame.groupby(keys, sort=True) if keys else [((), frame)]
        want = np.concatenate([np.quantile(p["x"].dropna(), qs) for _, p in groups])
        np.testing.assert_allclose(part["value"], want, rtol=1e-12, atol=1e-15)
        assert part["quantile"].tolist() == qs * (len(part) // len(qs))


def test_datetime_pieces_and_quantiles_agree(tmp_path):
    stamps = pd.to_datetime("2024-01-01") + pd.to_timedelta(np.arange(50) % 9, unit="h")
    frame = pd.DataFrame({"s": ["a", "b"] * 25, "when": stamps})
    memory = _dataset(frame, "memory", tmp_path)
    lazy = _dataset(frame, "duckdb", tmp_path)
    a, b = memory.histogram("when", by="s"), lazy.histogram("when", by="s")  # 9 values, 2048 bins
    assert a["bin"].tolist() == b["bin"].tolist() and a["rows"].tolist() == b["rows"].tolist()
    np.testing.assert_array_equal(a["lo"], b["lo"])
    assert a["lo"].iloc[0] == float(stamps.min().value)
    pd.testing.assert_frame_equal(
        memory.quantiles("when", [0.5], by="s"), lazy.quantiles("when", [0.5], by="s")
    )


def test_bad_histogram_and_quantile_requests():
    ds = Dataset(_pieces_frame(n=30), target=None, sensitive="s")
    with pytest.raises(ParameterError, match="bins must be a positive integer"):
        ds.histogram("x", bins=0)
    with pytest.raises(ParameterError, match="low <= high"):
        ds.histogram("x", range=(2.0, 1.0))
    with pytest.raises(ParameterError, match="finite and increasing"):
        ds.histogram("x", cuts={"c": [2.0, 1.0]})
    with pytest.raises(ParameterError, match="taken"):
        ds.histogram("x", cuts={"rows": [1.0]})
    with pytest.raises(ColumnError, match="needs numbers or dates"):
        ds.histogram("s")
    with pytest.raises(ColumnError, match="no column 'nope'"):
        ds.histogram("nope")
    with pytest.raises(ParameterError, match=r"probabilities in \[0, 1\]"):
        ds.quantiles("x", [1.5])


def test_spark_histogram_quantiles_and_moments_match_in_memory(spark):
    frame = _pieces_frame(n=200, seed=11)
    memory = Dataset(frame, target=None, sensitive="s")
    lazy = Dataset(spark.createDataFrame(frame), target=None, sensitive="s", lazy=True)
    cuts = {"half": [0.0]}
    want = _rebinned(memory.histogram("x", by=SETS, bins=8, cuts=cuts, weight="w"), ["s", "t"])
    got = lazy.histogram("x", by=SETS, bins=8, cuts=cuts, weight="w")
    for column in ("grouping_set", "half", "bin", "rows"):
        assert got[column].tolist() == want[column].tolist(), column
    np.testing.assert_allclose(got[["n", "lo", "hi"]], want[["n", "lo", "hi"]], rtol=1e-12)
    pd.testing.assert_frame_equal(
        lazy.quantiles("x", [0.1, 0.5], by=SETS),
        memory.quantiles("x", [0.1, 0.5], by=SETS),
        check_dtype=False,
        rtol=1e-12,
    )
    a = lazy.aggregate(by=SETS, stats=MOMENTS)
    b = memory.aggregate(by=SETS, stats=MOMENTS)
    pd.testing.assert_frame_equal(a, b, check_dtype=False, rtol=1e-10)


def test_a_nan_weight_in_a_pyarrow_parquet_file_is_refused(tmp_path):
    # pyarrow's column statistics skip NaN, so DuckDB folds isnan(w) to FALSE: the NaN shows
    # only in SUM(w), which must make aggregate and histogram refuse the weights, not return NaN
    import pyarrow as pa
    import pyarrow.parquet as pq

    w = np.array([1.0, 2.0, np.nan, 1.5, 0.5, 1.0])
    table = pa.table(
        {
            "s": ["a", "b", "a", "b", "a", "b"],
            "x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            "w": pa.array(w, type=pa.float64(), from_pandas=False),  # a real NaN, not a null
        }
    )
    assert table.column("w").null_count == 0
    path = tmp_path / "nan_weights.parquet"
    pq.write_table(table, path)
    ds = Dataset(str(path), lazy=True, target=None, sensitive="s")
    with pytest.raises(DataError, match=r"Dataset.aggregate\(\): weight column 'w'.*non-negative"):
        ds.aggregate(by="s", stats={"n": (None, "count")}, weight="w")
    with pytest.raises(DataError, match=r"weight column 'w'"):
        ds.aggregate(by=[["s"], []], stats={"t": ("x", "sum")}, weight="w")
    with pytest.raises(DataError, match=r"Dataset.histogram\(\): weight column 'w'"):
        ds.histogram("x", by="s", weight="w")
    # the same file without the NaN is accepted, with the right weighted counts
    pq.write_table(table.set_column(2, "w", pa.array(np.nan_to_num(w))), path)
    ok = Dataset(str(path), lazy=True, target=None, sensitive="s")
    got = ok.aggregate(by="s", stats={"n": (None, "count")}, weight="w")
    assert got["n"].tolist() == [1.5, 4.5]


@pytest.mark.parametrize("where", ["memory", "duckdb"])
def test_bin_pieces_and_quantiles_in_one_pass(tmp_path, where):
    """pieces="bins": one piece per (group, cut, bin) on every backend, equal to the value
    pieces merged per bin; quantiles= with integer weights: exact in memory (np.quantile of the
    rows repeated per group), and on DuckDB within the reported error of the exact ones."""
    rng = np.random.default_rng(3)
    frame = _pieces_frame(n=600)
    frame["x"] = np.where(frame["x"].isna(), np.nan, rng.normal(size=600))  # all distinct
    frame["w"] = rng.integers(0, 4, size=600).astype(float)
    qs = [0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0]
    ds = _dataset(frame, where, tmp_path)
    got = ds.histogram(
        "x", by=SETS, bins=16, cuts={"half": [0.0]}, pieces="bins", quantiles=qs, weight="w"
    )
    values = Dataset(frame, target=None, sensitive="s").histogram(
        "x", by=SETS, bins=16, cuts={"half": [0.0]}, weight="w"
    )
    want = _rebinned(values, ["s", "t"])
    assert got.attrs["pieces"] == "bins" and not got.attrs["exact"]
    assert (
        got[["rows", "bin", "half"]].values.tolist()
        == want[["rows", "bin", "half"]].values.tolist()
    )
    np.testing.assert_array_equal(got[["lo", "hi"]], want[["lo", "hi"]])
    np.testing.assert_allclose(got["n"], want["n"], rtol=1e-12)
    found = got.attrs["quantiles"]
    assert got.attrs["exact_quantiles"] == (where == "memory")
    for i, keys in enumerate(SETS):
        part = found[found["grouping_set"] == i]
        present = frame.dropna(subset=["x"])
        present = present.loc[present.index.repeat(present["w"].astype(int))]
        groups = present.groupby(keys, sort=True)["x"] if keys else [((), present["x"])]
        exact = np.concatenate([np.quantile(x.to_numpy(), qs) for _, x in groups])
        if where == "memory":
            np.testing.assert_allclose(part["value"], exact, rtol=1e-13, atol=1e-15)
            assert (part["error"] == 0).all()
        else:
            assert (np.abs(part["value"].to_numpy() - exact) <= part["error"] + 1e-12).all()
            assert (part["error"] > 0).any()


@pytest.mark.parametrize("where", ["memory", "duckdb"])
def test_weighted_quantiles_are_those_of_repeated_rows(tmp_path, where):
    """Frequency weights: integer weights (zeros included) give np.quantile of the rows
    repeated; weights of 1 give the unweighted quantiles; a group whose weights are all 0 has
    no quantile."""
    rng = np.random.default_rng(11)
    frame = _pieces_frame(n=300, seed=12)
    frame["w"] = rng.integers(0, 5, size=300).astype(float)
    frame.loc[frame["s"] == "c", "w"] = np.where(frame.loc[frame["s"] == "c", "t"] == "u", 0, 2)
    qs = np.linspace(0, 1, 21)
    ds = _dataset(frame, where, tmp_path)
    found = ds.histogram("x", by=[["s", "t"]], quantiles=qs, weight="w").attrs["quantiles"]
    present = frame.dropna(subset=["x"])
    repeated = present.loc[present.index.repeat(present["w"].astype(int))]
    for (s, t), part in found.groupby(["s", "t"]):
        x = repeated[(repeated["s"] == s) & (repeated["t"] == t)]["x"].to_numpy()
        if not x.size:
            assert part["value"].isna().all(), (s, t)
            continue
        want = np.quantile(x, qs)
        got, error = part["value"].to_numpy(), part["error"].to_numpy()
        assert (np.abs(got - want) <= error + 1e-12).all(), (s, t)
        if where == "memory":
            assert (error == 0).all()
    ones = ds.histogram("x", by="s", quantiles=qs, weight=None).attrs["quantiles"]
    unit = _dataset(frame.assign(w=1.0), where, tmp_path).histogram(
        "x", by="s", quantiles=qs, weight="w"
    )
    np.testing.assert_allclose(unit.attrs["quantiles"]["value"], ones["value"], rtol=1e-12)


def test_in_memory_distinct_counts_of_numbers_are_exact():
    """Distinct counts of numeric columns come from the sorted values: NaN is missing, and
    integers that floats cannot hold apart are still counted apart."""
    big = 2**60
    frame = pd.DataFrame(
        {
            "s": ["a", "a", "a", "b", "b", "b"],
            "x": [1.0, 1.0, np.nan, 2.0, -0.5, 2.0],
            "i": [big, big + 1, big + 2, 3, 3, 4],
        }
    )
    ds = Dataset(frame, target=None, sensitive="s")
    got = ds.aggregate(by=[["s"], []], stats={"x": ("x", "distinct"), "i": ("i", "distinct")})
    assert got["x"].tolist() == [1, 2, 3]
    assert got["i"].tolist() == [3, 2, 5]


@pytest.mark.parametrize("where", ["memory", "duckdb"])
def test_keys_named_like_output_columns_are_aliased(tmp_path, where):
    """Keys named bin, rows, n, lo, hi, grouping_set or value get an alias (attrs["keys"]);
    the numbers are those of the same data under ordinary names."""
    frame = _pieces_frame(n=300, seed=4)
    plain = Dataset(frame, target=None, sensitive=["s", "t"])
    hostile = frame.rename(columns={"s": "n", "t": "grouping_set"})
    ds = _dataset(hostile, where, tmp_path, sensitive=["n", "grouping_set"])
    sets = [["n"], ["n", "grouping_set"], []]
    got = ds.histogram("x", by=sets, bins=8, pieces="bins", quantiles=[0.5])
    want = plain.histogram("x", by=[["s"], ["s", "t"], []], bins=8, pieces="bins", quantiles=[0.5])
    assert got.attrs["keys"] == {"n": "_n", "grouping_set": "_grouping_set"}
    renamed = {"_n": "s", "_grouping_set": "t"}
    pd.testing.assert_frame_equal(got.rename(columns=renamed), want, check_dtype=False)
    np.testing.assert_allclose(
        got.attrs["quantiles"]["value"],
        want.attrs["quantiles"]["value"],
        atol=float(got.attrs["quantiles"]["error"].max()),
    )
    table = ds.aggregate(by=sets, stats={"rows": (None, "count")})
    expected = plain.aggregate(by=[["s"], ["s", "t"], []], stats={"rows": (None, "count")})
    assert table.attrs["keys"] == {"n": "n", "grouping_set": "_grouping_set"}
    assert table["rows"].tolist() == expected["rows"].tolist()
    assert table["n"].tolist() == expected["s"].tolist()


def test_in_memory_float_extremes_skip_nan_and_leave_an_all_missing_group_missing():
    frame = pd.DataFrame(
        {
            "s": ["a", "b", "a", "c", "b", "c", "a"],
            "x": [2.5, np.nan, -1.0, np.nan, 7.0, np.nan, np.inf],
        }
    )
    got = Dataset(frame, target=None, sensitive="s").aggregate(
        by=[["s"], []], stats={"lo": ("x", "min"), "hi": ("x", "max")}
    )
    want = frame.groupby("s")["x"].agg(["min", "max"])
    np.testing.assert_array_equal(got["lo"][:3], want["min"])
    np.testing.assert_array_equal(got["hi"][:3], want["max"])
    assert got["lo"].iloc[3] == -1.0 and got["hi"].iloc[3] == np.inf
