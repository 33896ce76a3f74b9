"""Data checks on lazy Datasets (DuckDB over Parquet/CSV): the same numbers as in memory where the
statistic is exact, within the stated bound where it is approximate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import raikit.dataset as dataset_module
from raikit import Dataset
from raikit._errors import ColumnError, DataError, FileFormatError, ParameterError
from raikit.data import drift, profile, representation
from raikit.datasets import load_adult, load_compas

# pyspark's own notices about pandas 3 (createDataFrame, toPandas); not about raikit.
pytestmark = [
    pytest.mark.filterwarnings("ignore:PySpark does not yet:FutureWarning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]

EXACT_STATS = ["rows", "count", "missing", "missing_rate", "distinct", "mean", "std", "min", "max"]
QUANTILES = ["p05", "p25", "median", "p75", "p95"]
KEY = ["attribute", "group", "column"]


def _lazy(path, ds, **kwargs):
    return Dataset(
        path,
        target=ds.target,
        sensitive=ds.sensitive_names,
        features=ds.feature_names,
        lazy=True,
        **kwargs,
    )


@pytest.fixture(scope="module")
def adult_pair(tmp_path_factory):
    ds = load_adult()
    folder = tmp_path_factory.mktemp("adult")
    frame = ds.frame
    # two files: a glob over parts, as a real out-of-core table would be
    frame.iloc[:20_000].to_parquet(folder / "part-0.parquet", index=False)
    frame.iloc[20_000:].to_parquet(folder / "part-1.parquet", index=False)
    return ds, _lazy(str(folder / "*.parquet"), ds)


@pytest.fixture(scope="module")
def compas_pair(tmp_path_factory):
    ds = load_compas()
    path = tmp_path_factory.mktemp("compas") / "compas.parquet"
    ds.frame.to_parquet(path, index=False)
    return ds, _lazy(path, ds)


# --------------------------------------------------------------------------- the lazy Dataset
def test_lazy_dataset_reads_no_rows(adult_pair):
    ds, lazy = adult_pair
    assert lazy.is_lazy and not ds.is_lazy
    assert lazy.n_rows == len(lazy) == ds.n_rows == 48_842
    assert lazy.columns == list(ds.frame.columns)
    assert isinstance(lazy.source, str) and lazy.source.endswith("*.parquet")
    assert ds.source is None
    assert lazy._cache is None  # nothing loaded by construction
    counts = lazy.group_counts()
    expected = ds.frame.groupby(["sex", "race"], observed=True).size()
    got = counts.set_index(["sex", "race"])["count"]
    assert got.sort_index().tolist() == expected.sort_index().tolist()
    assert lazy._cache is None
    assert "lazy=True" in repr(lazy)


def test_materialise_on_first_access_gives_the_same_table(compas_pair):
    ds, _ = compas_pair
    lazy = _lazy(_lazy_path(compas_pair), ds)
    pd.testing.assert_frame_equal(lazy.frame, ds.frame)
    assert lazy.frame is lazy.frame  # cached
    pd.testing.assert_frame_equal(lazy.X, ds.X)
    assert lazy.y.tolist() == ds.y.tolist()


def _lazy_path(pair):
    return pair[1].source


def test_small_file_is_eager_by_default_unless_large(tmp_path, monkeypatch):
    frame = pd.DataFrame({"x": range(10), "s": list("ab") * 5, "y": [0, 1] * 5})
    path = tmp_path / "t.parquet"
    frame.to_parquet(path, index=False)
    assert not Dataset(path, target="y", sensitive="s").is_lazy
    monkeypatch.setattr(dataset_module, "EAGER_FILE_BYTES", 0)
    assert Dataset(path, target="y", sensitive="s").is_lazy
    assert not Dataset(path, target="y", sensitive="s", lazy=False).is_lazy
    with pytest.raises(ParameterError, match="lazy=True needs a path"):
        Dataset(frame, target="y", sensitive="s", lazy=True)


def test_replace_keeps_a_lazy_dataset_lazy(adult_pair):
    _, lazy = adult_pair
    other = lazy.replace(sensitive=["race"])
    assert other.is_lazy and other.sensitive_names == ["race"] and other._cache is None


def test_bad_inputs_give_raikit_errors(tmp_path):
    with pytest.raises(FileFormatError, match="No file matches"):
        Dataset(str(tmp_path / "nothing-*.parquet"), target="y", sensitive="s")
    pd.DataFrame({"x": [1, 2], "s": ["a", "b"], "y": [0, 1]}).to_parquet(
        tmp_path / "a-1.parquet", index=False
    )
    pd.DataFrame({"x": [1, 2], "y": [0, 1]}).to_parquet(tmp_path / "a-2.parquet", index=False)
    with pytest.raises(ColumnError, match=r"a-2.parquet.*lacks \['s'\]"):
        Dataset(str(tmp_path / "a-*.parquet"), target="y", sensitive="s")
    (tmp_path / "b-1.parquet").write_bytes(b"PAR1 not really parquet")
    with pytest.raises(FileFormatError, match="corrupt"):
        Dataset(str(tmp_path / "b-*.parquet"), target="y", sensitive="s")
    pd.DataFrame({"x": [1, 2, 3], "s": ["a", None, "b"], "y": [0, 1, 1]}).to_parquet(
        tmp_path / "c-1.parquet", index=False
    )
    with pytest.raises(DataError, match="'s' has 1 missing value"):
        Dataset(str(tmp_path / "c-*.parquet"), target="y", sensitive="s")
    with pytest.raises(ColumnError, match="Unknown target column 'income'"):
        Dataset(str(tmp_path / "c-*.parquet"), target="income", sensitive="s")
    ok = Dataset(str(tmp_path / "c-*.parquet"), target="y", sensitive="s", missing_group="(none)")
    assert dict(zip(ok.group_counts()["s"], ok.group_counts()["count"], strict=True)) == {
        "(none)": 1,
        "a": 1,
        "b": 1,
    }


@pytest.mark.parametrize("suffix", ["parquet", "csv"])
def test_files_with_columns_in_another_order_are_read_by_name(tmp_path, suffix):
    first = pd.DataFrame({"x": [1, 2], "s": ["a", "b"], "y": [0, 1]})
    second = pd.DataFrame({"y": [1, 1], "s": ["b", "b"], "x": [5, 6]})
    for name, part in (("a", first), ("b", second)):
        path = tmp_path / f"{name}.{suffix}"
        part.to_parquet(path, index=False) if suffix == "parquet" else part.to_csv(
            path, index=False
        )
    lazy = Dataset(str(tmp_path / f"*.{suffix}"), target="y", sensitive="s")
    groups = representation(lazy).groups.set_index("group")
    assert groups["count"].to_dict() == {"a": 1, "b": 3}
    assert groups["base_rate"].to_dict() == {"a": 0.0, "b": 1.0}
    assert lazy.frame["x"].tolist() == [1, 2, 5, 6]


def test_large_lazy_dataset_refuses_to_load_and_suggests_sampling(adult_pair, monkeypatch):
    ds, _ = adult_pair
    monkeypatch.setattr(dataset_module, "MATERIALIZE_LIMIT", 10_000)
    lazy = _lazy(adult_pair[1].source, ds)
    for access in (lambda d: d.frame, lambda d: d.X, lambda d: d.split(0.2)):
        with pytest.raises(DataError, match=r"ds.sample\(1_000_000, stratify='sensitive'\)"):
            access(lazy)
    # a stage that needs rows (label issues fits models) refuses through the same guard
    from raikit.data import label_issues

    with pytest.raises(DataError, match="stratify='sensitive'"):
        label_issues(lazy)
    # the aggregate checks still run on it, and an explicit materialize overrides the limit
    assert representation(lazy).n_rows == 48_842
    assert len(lazy.materialize(max_rows=0)) == 48_842


# --------------------------------------------------------------------------- sample
@pytest.mark.parametrize("where", ["memory", "lazy"])
def test_sample_keeps_every_group_and_records_weights(adult_pair, where):
    ds = adult_pair[0] if where == "memory" else adult_pair[1]
    sample = ds.sample(2_000, stratify="sensitive", min_per_group=50, random_state=7)
    assert not sample.is_lazy and len(sample) == 2_000
    strata = sample.sampling
    population = (
        ds.frame.groupby(["sex", "race"], observed=True).size() if where == "memory" else None
    )
    assert strata["population"].sum() == 48_842
    # every intersection keeps min(50, its size) rows; the rest is proportional
    assert (strata["sampled"] >= np.minimum(50, strata["population"])).all()
    drawn = sample.frame.groupby(["sex", "race"], observed=True).size()
    assert (
        drawn.sort_index().tolist()
        == strata.set_index(["sex", "race"])["sampled"].sort_index().tolist()
    )
    np.testing.assert_allclose(strata["weight"], strata["population"] / strata["sampled"])
    assert sample.weights.sum() == pytest.approx(48_842, rel=1e-12)
    if population is not None:
        assert strata.set_index(["sex", "race"])["population"].sort_index().tolist() == (
            population.sort_index().tolist()
        )
    again = ds.sample(2_000, stratify="sensitive", min_per_group=50, random_state=7)
    pd.testing.assert_frame_equal(again.frame, sample.frame)
    other = ds.sample(2_000, stratify="sensitive", min_per_group=50, random_state=8)
    assert not other.frame.equals(sample.frame)


def test_lazy_sample_draws_real_rows_uniformly(tmp_path):
    rng = np.random.default_rng(0)
    n = 40_000
    frame = pd.DataFrame(
        {
            "row": np.arange(n),
            "s": np.where(rng.random(n) < 0.01, "rare", "common"),
            "y": rng.integers(0, 2, n),
        }
    )
    frame.to_parquet(tmp_path / "p-0.parquet", index=False)
    lazy = Dataset(str(tmp_path / "p-*.parquet"), target="y", sensitive="s")
    sample = lazy.sample(4_000, stratify="sensitive", min_per_group=300, random_state=1)
    rows = sample.frame["row"].to_numpy()
    assert len(np.unique(rows)) == len(rows) == 4_000
    assert (frame.loc[rows, "s"].to_numpy() == sample.frame["s"].to_numpy()).all()
    counts = sample.frame["s"].value_counts()
    wanted = sample.sampling.set_index("s")["sampled"]
    assert counts["rare"] == wanted["rare"] >= 300  # the minimum plus its proportional share
    assert counts["common"] == wanted["common"]
    # uniform within a stratum: the mean row index of the common rows is near the middle
    common = rows[sample.frame["s"].to_numpy() == "common"]
    assert abs(common.mean() / n - 0.5) < 4 * np.sqrt(1 / 12 / len(common))
    plain = lazy.sample(1_000, random_state=2)
    assert len(plain) == 1_000 and plain.sampling["weight"].iloc[0] == pytest.approx(40.0)


def test_lazy_sample_draws_copies_of_a_row_independently(tmp_path, monkeypatch):
    """100 distinct rows, each stored 100 times: keyed by their values, every copy of a row
    was in the sample or out of it together (a cluster sample: ~5 distinct rows in 500, and a
    stratum that fell short was then scanned whole). Keyed by position, copies are independent."""
    import raikit.dataset

    frame = _copies()
    frame.iloc[: len(frame) // 2].to_parquet(tmp_path / "p-0.parquet", index=False)
    frame.iloc[len(frame) // 2 :].to_parquet(tmp_path / "p-1.parquet", index=False)
    monkeypatch.setattr(raikit.dataset, "MATERIALIZE_LIMIT", 1_000)
    _check_copies_drawn_independently(
        Dataset(str(tmp_path / "p-*.parquet"), target="y", sensitive="s")
    )


def _copies(rows: int = 100, times: int = 100) -> pd.DataFrame:
    """``rows`` distinct rows (half in group a, half in b), each stored ``times`` times."""
    distinct = pd.DataFrame({"x": np.arange(rows), "s": np.repeat(["a", "b"], rows // 2), "y": 1})
    return pd.concat([distinct] * times, ignore_index=True)


def _check_copies_drawn_independently(lazy):
    sample = lazy.sample(500, stratify="sensitive", random_state=0)
    assert len(sample) == 500
    assert (sample.frame["s"].value_counts() == 250).all()
    # P(a row has no copy among 500 of 10,000) = 0.95^100 < 0.6%: nearly all 100 rows appear
    assert sample.frame["x"].nunique() >= 95
    again = lazy.sample(500, stratify="sensitive", random_state=0)
    pd.testing.assert_frame_equal(sample.frame, again.frame)  # a seed draws the same rows
    other = lazy.sample(500, stratify="sensitive", random_state=1)
    assert (
        not other.frame["x"]
        .sort_values()
        .reset_index(drop=True)
        .equals(sample.frame["x"].sort_values().reset_index(drop=True))
    )


def test_a_csv_sample_draws_copies_of_a_row_independently(tmp_path, monkeypatch):
    """CSV rows have no position DuckDB can read: they are keyed by their values and their
    number among their copies (keyed by values alone, copies were drawn together)."""
    import raikit.dataset

    _copies().to_csv(tmp_path / "rows.csv", index=False)
    monkeypatch.setattr(raikit.dataset, "MATERIALIZE_LIMIT", 1_000)
    _check_copies_drawn_independently(
        Dataset(str(tmp_path / "rows.csv"), target="y", sensitive="s", lazy=True)
    )


def test_a_spark_sample_draws_copies_independently_whatever_the_partitions(spark, monkeypatch):
    import raikit.dataset

    monkeypatch.setattr(raikit.dataset, "MATERIALIZE_LIMIT", 1_000)
    frame = spark.createDataFrame(_copies())
    lazy = Dataset(frame, target="y", sensitive="s")
    _check_copies_drawn_independently(lazy)
    # the same rows read in another order and partitioning: the same sample
    shuffled = Dataset(frame.orderBy("x").repartition(3), target="y", sensitive="s")
    a = lazy.sample(500, stratify="sensitive", random_state=0).frame
    b = shuffled.sample(500, stratify="sensitive", random_state=0).frame
    key = ["s", "x"]
    pd.testing.assert_frame_equal(
        a.sort_values(key).reset_index(drop=True), b.sort_values(key).reset_index(drop=True)
    )


def test_a_spark_file_source_is_sampled_by_file_and_position(spark, tmp_path, monkeypatch):
    """Rows Spark reads from files are keyed by ``_metadata`` (file, row), without a shuffle;
    a DataFrame without a file source (or with a column of that name) falls back to values."""
    import raikit.dataset
    from raikit._lazy import _spark_positions

    frame = _copies()
    frame.iloc[:5000].to_parquet(tmp_path / "p-0.parquet", index=False)
    frame.iloc[5000:].to_parquet(tmp_path / "p-1.parquet", index=False)
    files = spark.read.parquet(str(tmp_path))
    positioned = _spark_positions(files)
    assert positioned is not None
    rows = positioned.select("__raikit_file", "__raikit_row").toPandas()
    assert len(rows.drop_duplicates()) == 10_000 and rows["__raikit_row"].max() == 4999
    assert _spark_positions(spark.createDataFrame(frame)) is None
    assert _spark_positions(files.withColumnRenamed("x", "_metadata")) is None
    monkeypatch.setattr(raikit.dataset, "MATERIALIZE_LIMIT", 1_000)
    _check_copies_drawn_independently(Dataset(files, target="y", sensitive="s"))


def test_sample_rejects_bad_arguments(compas_pair):
    ds, _ = compas_pair
    with pytest.raises(ParameterError, match="positive number of rows"):
        ds.sample(0)
    with pytest.raises(ColumnError, match="Unknown stratify column"):
        ds.sample(10, stratify=["nope"])


# --------------------------------------------------------------------------- profile
def _compare_profiles(memory, lazy):
    a, b = memory.stats, lazy.stats
    assert a[KEY].equals(b[KEY])
    for column in EXACT_STATS:
        # The in-memory std uses a shifted one-pass formula whose cancellation leaves ~1e-9 where
        # a group's values are all equal; DuckDB's VAR_SAMP gives the exact 0 there.
        atol = 1e-8 if column == "std" else 0.0
        np.testing.assert_allclose(
            b[column].to_numpy(float),
            a[column].to_numpy(float),
            rtol=1e-12,
            atol=atol,
            err_msg=column,
        )
    assert (a["kind"] == b["kind"]).all() and (a["role"] == b["role"]).all()
    bound = lazy.meta["quantile_error"]
    assert lazy.meta["quantiles"] == "histogram" and memory.meta["quantiles"] == "exact"
    numeric = a["kind"] == "numeric"
    for name in QUANTILES:
        error = (b.loc[numeric, name] - a.loc[numeric, name]).abs()
        allowed = a.loc[numeric, "column"].map(bound)
        assert (error <= allowed + 1e-9 * a.loc[numeric, name].abs()).all(), name
    exact_columns = [c for c, e in bound.items() if e == 0]
    rows = a["column"].isin(exact_columns)
    np.testing.assert_allclose(b.loc[rows, QUANTILES], a.loc[rows, QUANTILES], rtol=1e-12)
    pd.testing.assert_frame_equal(memory.histograms, lazy.histograms, rtol=1e-12)
    pd.testing.assert_frame_equal(memory.categories, lazy.categories, rtol=1e-12)
    pd.testing.assert_frame_equal(memory.associations, lazy.associations, rtol=1e-12)
    pd.testing.assert_frame_equal(memory.proxies, lazy.proxies, rtol=1e-12)


@pytest.mark.parametrize("pair", ["adult_pair", "compas_pair"])
def test_lazy_profile_matches_in_memory(pair, request):
    ds, lazy = request.getfixturevalue(pair)
    memory = profile(ds, proxy_sample=2_000, random_state=0)
    result = profile(lazy, proxy_sample=2_000, random_state=0)
    _compare_profiles(memory, result)
    assert result.n_rows == ds.n_rows
    assert result.summary == memory.summary


def test_lazy_profile_bounds_are_tight_where_values_are_integers(adult_pair):
    _, lazy = adult_pair
    result = profile(lazy, proxies=False, association_sample=0, columns=["age", "fnlwgt"])
    bound = result.meta["quantile_error"]
    assert bound["age"] == 0.0  # 73 distinct ages in 2,048 bins: one value per bin, exact
    span = 1_490_400 - 12_285  # fnlwgt range: the bound is at most one bin's width
    assert 0 < bound["fnlwgt"] <= span / 2_048


def test_lazy_profile_estimates_distinct_counts_of_large_tables(adult_pair, monkeypatch):
    import raikit.data._scale as scale

    ds, lazy = adult_pair
    monkeypatch.setattr(scale, "EXACT_DISTINCT_ROWS", 10_000)
    result = profile(lazy, proxies=False, association_sample=0, columns=["age", "fnlwgt"])
    assert result.meta["approximate_distinct"] == ["fnlwgt"]  # age: one value per bin, exact
    got = result.columns["distinct"]
    assert got["age"] == ds.frame["age"].nunique()
    assert got["fnlwgt"] == pytest.approx(ds.frame["fnlwgt"].nunique(), rel=0.1)
    assert result.by_group("fnlwgt")["distinct"].iloc[1:].isna().all()


def test_lazy_profile_on_csv_glob(tmp_path):
    ds = load_compas()
    ds.frame.iloc[:3_000].to_csv(tmp_path / "c-0.csv", index=False)
    ds.frame.iloc[3_000:].to_csv(tmp_path / "c-1.csv", index=False)
    lazy = Dataset(str(tmp_path / "c-*.csv"), target=ds.target, sensitive=ds.sensitive_names)
    assert lazy.is_lazy and lazy.n_rows == 6_172
    result = profile(lazy, proxies=False, association_sample=0)
    memory = profile(ds.replace(ds.frame.astype({c: object for c in ds.sensitive_names})))
    got = result.stats.set_index(KEY)
    expected = memory.stats.set_index(KEY).loc[got.index]
    np.testing.assert_array_equal(got["count"], expected["count"])
    np.testing.assert_allclose(got["mean"], expected["mean"], rtol=1e-12)


# --------------------------------------------------------------------------- representation
@pytest.mark.parametrize("pair", ["adult_pair", "compas_pair"])
def test_lazy_representation_matches_in_memory(pair, request):
    ds, shared = request.getfixturevalue(pair)
    lazy = _lazy(shared.source, ds)  # fresh: profile loads small tables for its proxies
    reference = {"sex": {"Female": 0.508, "Male": 0.492}}
    memory = representation(ds, expected_shares=reference)
    result = representation(lazy, expected_shares=reference)
    pd.testing.assert_frame_equal(memory.groups, result.groups, rtol=1e-12)
    pd.testing.assert_frame_equal(memory.balance, result.balance, rtol=1e-12)
    assert memory.findings == result.findings
    assert lazy._cache is None


def test_lazy_representation_uses_pos_label(tmp_path):
    frame = pd.DataFrame(
        {
            "s": ["a"] * 40 + ["b"] * 10,
            "x": np.arange(50),
            "y": ["approved"] * 10 + ["denied"] * 30 + ["approved"] * 6 + ["denied"] * 4,
        }
    )
    frame.to_parquet(tmp_path / "t.parquet", index=False)
    ds = Dataset(frame, target="y", sensitive="s")
    lazy = _lazy(tmp_path / "t.parquet", ds)
    assert representation(lazy).groups["base_rate"].isna().all()
    memory = representation(ds, pos_label="approved")
    result = representation(lazy, pos_label="approved")
    pd.testing.assert_frame_equal(memory.groups, result.groups, rtol=1e-12)
    assert result.meta["pos_label"] == "approved"
    assert result.groups.set_index("group")["base_rate"]["b"] == pytest.approx(0.6)


# --------------------------------------------------------------------------- drift
@pytest.fixture(scope="module")
def drift_pair(tmp_path_factory):
    train, test = load_adult(split="train"), load_adult(split="test")
    shifted = test.frame.copy()
    shifted["age"] = shifted["age"] + 3
    shifted.loc[::5, "hours_per_week"] = np.nan
    current = test.replace(shifted)
    folder = tmp_path_factory.mktemp("drift")
    train.frame.to_parquet(folder / "train.parquet", index=False)
    shifted.to_parquet(folder / "current.parquet", index=False)
    return (
        train,
        current,
        _lazy(folder / "train.parquet", train),
        _lazy(folder / "current.parquet", train),
    )


def test_lazy_drift_matches_in_memory(drift_pair):
    train, current, lazy_train, lazy_current = drift_pair
    memory = drift(reference=train, current=current)
    result = drift(reference=lazy_train, current=lazy_current)
    a, b = memory.table, result.table
    assert a[KEY].equals(b[KEY])
    exact = ["psi", "js_distance", "linf", "n_reference", "n_current"]
    exact += ["missing_reference", "missing_current"]
    for column in exact:
        np.testing.assert_allclose(b[column], a[column], rtol=1e-12, err_msg=column)
    ks_bound = result.meta["ks_error_bound"]
    w_bound = result.meta["wasserstein_error_bound"]
    assert ks_bound["age"] == 0.0 and ks_bound["hours_per_week"] == 0.0
    chi2 = a["test"] == "chi2"
    np.testing.assert_allclose(b.loc[chi2, "statistic"], a.loc[chi2, "statistic"], rtol=1e-12)
    np.testing.assert_allclose(b.loc[chi2, "p_value"], a.loc[chi2, "p_value"], rtol=1e-9)
    ks = a["test"] == "ks"
    error = (b.loc[ks, "statistic"] - a.loc[ks, "statistic"]).abs()
    assert (error <= a.loc[ks, "column"].map(ks_bound) + 1e-12).all()
    assert (b.loc[ks, "statistic"] <= a.loc[ks, "statistic"] + 1e-12).all()  # a lower bound
    w_error = (b.loc[ks, "wasserstein"] - a.loc[ks, "wasserstein"]).abs()
    assert (w_error <= a.loc[ks, "column"].map(w_bound) * (1 + 1e-9) + 1e-9).all()
    exact_ks = ks & a["column"].isin(["age", "hours_per_week"])
    for column in ("statistic", "p_value", "wasserstein", "effect"):
        np.testing.assert_allclose(
            b.loc[exact_ks, column], a.loc[exact_ks, column], rtol=1e-9, err_msg=column
        )
    assert set(result.drifted_columns) >= {"age"}
    assert result.meta["ks"] == "binned" and memory.meta["ks"] == "exact"
    assert lazy_train._cache is None and lazy_current._cache is None


def test_lazy_drift_against_an_in_memory_side(drift_pair):
    train, current, lazy_train, _ = drift_pair
    columns = ["age", "workclass", "education_num"]
    memory = drift(reference=train, current=current, columns=columns)
    mixed = drift(reference=lazy_train, current=current.frame, columns=columns)
    np.testing.assert_allclose(mixed.table["statistic"], memory.table["statistic"], rtol=1e-12)
    np.testing.assert_allclose(mixed.table["p_value"], memory.table["p_value"], rtol=1e-9)


def test_lazy_drift_missing_column_is_reported_or_refused(drift_pair):
    _, current, lazy_train, _ = drift_pair
    # By default a column missing from one table is left out and reported (as in memory) ...
    lacking = drift(
        reference=lazy_train, current=current.frame.drop(columns=["age"]), by_group=False
    )
    assert "age" not in set(lacking.table["column"])
    assert lacking.meta["not_compared"] == {"missing_from_current": ["age"]}
    # ... and a column the caller names must be in both tables.
    with pytest.raises(ColumnError, match="current data lacks"):
        drift(reference=lazy_train, current=current.frame.drop(columns=["age"]), columns=["age"])


# --------------------------------------------------------------------------- command line
@pytest.mark.slow
def test_cli_runs_the_data_checks_on_a_glob(adult_pair, tmp_path):
    import json
    import subprocess
    import sys

    from raikit.data import DriftResult, ProfileResult

    ds, lazy = adult_pair
    current = tmp_path / "current.parquet"
    ds.frame.iloc[:5_000].to_parquet(current, index=False)

    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "raikit.cli", "data", *args],
            capture_output=True,
            text=True,
            timeout=300,
            # the raikit under test (a worktree's src/), not whichever one the venv installed
            env={
                "COLUMNS": "200",
                "PATH": "",
                "OMP_NUM_THREADS": "1",
                "PYTHONPATH": str(Path(dataset_module.__file__).parents[1]),
            },
        )

    common = ["--target", "income", "-s", "sex,race", "--out", str(tmp_path)]
    done = run("profile", lazy.source, "--no-proxies", *common)
    assert done.returncode == 0, done.stderr
    result = ProfileResult.from_json((tmp_path / "profile.json").read_text())
    assert result.n_rows == 48_842 and result.meta["quantiles"] == "histogram"
    done = run("drift", lazy.source, str(current), "--columns", "age,workclass", *common)
    assert done.returncode == 0, done.stderr
    result = DriftResult.from_json((tmp_path / "drift.json").read_text())
    assert result.meta["n_current"] == 5_000
    # the lazy side's pieces of the integer column age hold one value each: KS is exact
    assert result.meta["ks"] == "exact" and result.meta["ks_error_bound"] == {"age": 0.0}
    done = run("representation", lazy.source, *common)
    assert done.returncode == 0, done.stderr
    groups = json.loads((tmp_path / "representation.json").read_text())
    assert groups["type"] == "RepresentationResult"


# --------------------------------------------------------------------------- Spark
@pytest.fixture(scope="module")
def compas_spark(spark):
    ds = load_compas()
    # Spark has no pandas categories: compare with the same table holding plain strings
    plain = ds.frame.astype({c: str for c in ds.frame.select_dtypes("category").columns})
    memory = ds.replace(plain)
    frame = spark.createDataFrame(plain)
    lazy = Dataset(frame, target=ds.target, sensitive=ds.sensitive_names, features=ds.feature_names)
    return memory, lazy


def test_spark_dataset_is_lazy_and_its_checks_match(compas_spark):
    memory, lazy = compas_spark
    assert lazy.is_lazy and lazy.n_rows == 6_172 and lazy._cache is None
    assert type(lazy.source).__name__ == "DataFrame"  # the metrics stage dispatches on it
    expected = memory.group_counts().set_index(memory.sensitive_names)["count"]
    got = lazy.group_counts().set_index(lazy.sensitive_names)["count"]
    assert got.sort_index().tolist() == expected.sort_index().tolist()
    reference = {"sex": {"Female": 0.5, "Male": 0.5}}
    a, b = (
        representation(memory, expected_shares=reference),
        representation(lazy, expected_shares=reference),
    )
    pd.testing.assert_frame_equal(a.groups, b.groups, rtol=1e-12)
    pd.testing.assert_frame_equal(a.balance, b.balance, rtol=1e-12)
    sample = lazy.sample(500, stratify="sensitive", min_per_group=20, random_state=3)
    assert len(sample) == 500
    assert (sample.sampling["sampled"] >= np.minimum(20, sample.sampling["population"])).all()
    again = lazy.sample(500, stratify="sensitive", min_per_group=20, random_state=3)
    pd.testing.assert_frame_equal(sample.frame, again.frame)
    shifted = memory.frame.copy()
    shifted["age"] = shifted["age"] + 2
    shifted.loc[::9, "priors_count"] = np.nan
    expected = drift(reference=memory, current=shifted)
    result = drift(reference=lazy, current=shifted)  # the in-memory side goes to the Spark session
    a, b = expected.table, result.table
    assert a[KEY].equals(b[KEY])
    # integer columns: one value per bin, so even the binned KS is exact
    assert all(bound == 0 for bound in result.meta["ks_error_bound"].values())
    for column in ("statistic", "p_value", "wasserstein", "psi", "js_distance", "n_current"):
        np.testing.assert_allclose(b[column], a[column], rtol=1e-9, atol=1e-12, err_msg=column)
    assert result.drifted_columns == expected.drifted_columns
    assert lazy._cache is None
    pd.testing.assert_frame_equal(lazy.frame, memory.frame, check_dtype=False)


@pytest.mark.slow
def test_spark_profile_matches_in_memory(compas_spark):
    memory, lazy = compas_spark
    a = profile(memory, proxies=False, association_sample=0)
    b = profile(lazy, proxies=False, association_sample=0)
    assert a.stats[KEY].equals(b.stats[KEY])
    for column in [*EXACT_STATS, "median", "p95"]:  # integer columns: exact quantiles too
        np.testing.assert_allclose(
            b.stats[column].to_numpy(float), a.stats[column].to_numpy(float), rtol=1e-12, atol=1e-8
        )
    pd.testing.assert_frame_equal(a.histograms, b.histograms, rtol=1e-12)
    pd.testing.assert_frame_equal(
        a.categories.reset_index(drop=True), b.categories.reset_index(drop=True), rtol=1e-12
    )


def test_ks_pvalue_uses_the_corrected_kolmogorov_limit_for_large_samples():
    from scipy.stats import kstwo

    from raikit.data._drift import ks_pvalue

    d = np.array([0.001, 0.003, 0.005, 0.01, np.nan])
    n = np.full(5, 200_000.0)  # effective size 100,000: scipy's kstwo (slow) as reference
    small = ks_pvalue(d, n, n)
    np.testing.assert_allclose(small[:4], kstwo.sf(d[:4], 100_000), rtol=0, atol=1e-12)
    large = ks_pvalue(d, n + 2, n + 2)  # just above: the limit with Stephens' correction
    np.testing.assert_allclose(large[:4], kstwo.sf(d[:4], 100_001), rtol=0.02, atol=2.5e-4)
    assert np.isnan(small[4]) and np.isnan(large[4])
