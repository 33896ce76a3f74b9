"""find_slices on a lazy Dataset (DuckDB over Parquet) returns the in-memory search's slices: the
same slices, sizes, losses to 1e-9 and p-values, with no row loaded (MATERIALIZE_LIMIT harness)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import raikit.dataset
from raikit import DataError, Dataset
from raikit.evaluate import find_slices

pytest.importorskip("duckdb")

NUMBERS = ["size", "mean_loss", "lower", "upper", "rest_mean_loss", "effect_size", "t_statistic"]


def assert_same(memory, lazy) -> None:
    """The two results report the same slices with the same statistics."""
    a, b = memory.slices, lazy.slices
    assert len(a) > 0
    assert a["slice"].tolist() == b["slice"].tolist()
    assert a["n_predicates"].tolist() == b["n_predicates"].tolist()
    np.testing.assert_array_equal(a["size"].to_numpy(), b["size"].to_numpy())
    for column in [*NUMBERS, "score", "test_level"]:
        np.testing.assert_allclose(b[column], a[column], rtol=1e-9, atol=1e-12, equal_nan=True)
    # p-values: relative where they are far from 0, absolute below
    np.testing.assert_allclose(b["p_value"], a["p_value"], rtol=1e-7, atol=1e-15)
    pd.testing.assert_frame_equal(memory.predicates, lazy.predicates)
    pd.testing.assert_frame_equal(memory.levels, lazy.levels)
    bins_a, bins_b = memory.bins, lazy.bins
    pd.testing.assert_frame_equal(
        bins_a.drop(columns=["low", "high"]), bins_b.drop(columns=["low", "high"])
    )
    for column in ("low", "high"):
        np.testing.assert_allclose(bins_b[column], bins_a[column], rtol=1e-12, equal_nan=True)
    assert lazy.overall["n_rows"] == memory.overall["n_rows"]
    assert lazy.overall["mean_loss"] == pytest.approx(memory.overall["mean_loss"], rel=1e-12)
    assert lazy.overall["pos_label"] == memory.overall["pos_label"]


@pytest.fixture
def no_loading(monkeypatch):
    """Any full load of more than 1,000 rows raises."""
    monkeypatch.setattr(raikit.dataset, "MATERIALIZE_LIMIT", 1000)


@pytest.fixture(scope="module")
def adult_files(adult_scored, tmp_path_factory):
    """The scored Adult test split (16,281 rows) in memory, as read back, and its Parquet file."""
    path = tmp_path_factory.mktemp("slices") / "adult.parquet"
    adult_scored.frame.to_parquet(path)
    frame = pd.read_parquet(path)
    roles = {
        "target": adult_scored.target,
        "sensitive": list(adult_scored.sensitive_names),
        "prediction": adult_scored.prediction,
        "score": adult_scored.score,
    }
    return Dataset(frame, **roles), str(path), roles


@pytest.mark.parametrize(
    ("method", "loss", "options"),
    [
        ("lattice", "log_loss", {}),
        ("sliceline", "log_loss", {"k": 8}),
        ("lattice", "zero_one", {"fdr": "bh", "max_features": 2}),
    ],
)
def test_adult_lazy_equals_in_memory(adult_files, no_loading, method, loss, options):
    memory, path, roles = adult_files
    lazy = Dataset(path, lazy=True, **roles)
    expected = find_slices(None, memory, loss=loss, method=method, **options)
    got = find_slices(None, lazy, loss=loss, method=method, **options)
    assert_same(expected, got)
    # capital_gain is mostly 0: its bins are those of the values above the point mass
    assert (got.bins["feature"] == "capital_gain").sum() > 2
    # the encoded rows lived in a DuckDB temporary table, dropped at the end
    tables = lazy.table.connection.execute("SELECT table_name FROM duckdb_tables()").fetchall()
    assert not [t for t in tables if t[0].startswith("raikit_slices")]


def _synthetic(n: int, seed: int, *, task: str) -> pd.DataFrame:
    """Features with missing values (numeric and categorical), a point mass, a boolean, a few
    distinct floats, hostile names and values; a worse model on one planted slice."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            'it\'s "x"': rng.normal(size=n),
            "zeros": np.where(rng.random(n) < 0.7, 0.0, rng.exponential(size=n)),
            "colour": pd.Series(rng.choice(["red", "o'range", "bl\\ue", "g;reen"], n)),
            "flag": rng.random(n) < 0.3,
            "steps": rng.choice([0.5, 1.5, 2.25], n),
            "group": rng.choice(["a", "b"], n),
        }
    )
    frame.loc[rng.random(n) < 0.05, 'it\'s "x"'] = np.nan
    frame.loc[rng.random(n) < 0.05, "colour"] = None
    planted = (frame["colour"] == "o'range") & frame["flag"]
    if task == "multiclass":
        y = rng.integers(0, 3, n)
        wrong = rng.random(n) < np.where(planted, 0.6, 0.1)
        frame["y"] = np.array(["low", "mid", "high"])[y]
        frame["p"] = np.array(["low", "mid", "high"])[np.where(wrong, (y + 1) % 3, y)]
    else:
        frame["y"] = rng.normal(size=n) * 3
        frame["p"] = frame["y"] + rng.normal(size=n) * np.where(planted, 3.0, 1.0)
    frame["w"] = rng.integers(1, 4, n).astype(float)
    return frame


@pytest.mark.parametrize(
    ("task", "loss", "method", "weighted"),
    [
        ("multiclass", "zero_one", "lattice", False),
        ("multiclass", "zero_one", "sliceline", True),
        ("regression", "absolute_error", "lattice", True),
        ("regression", "squared_error", "sliceline", False),
    ],
)
def test_synthetic_lazy_equals_in_memory(tmp_path, no_loading, task, loss, method, weighted):
    frame = _synthetic(4000, 1, task=task)
    path = tmp_path / "data.parquet"
    frame.to_parquet(path)
    roles = {
        "target": "y",
        "prediction": "p",
        "sensitive": ["group"],
        "weight": "w" if weighted else None,
    }
    memory = Dataset(pd.read_parquet(path), **roles)
    lazy = Dataset(str(path), lazy=True, **roles)
    options = {"method": method, "loss": loss, "k": 6, "min_size": 60}
    expected = find_slices(None, memory, **options)
    got = find_slices(None, lazy, **options)
    assert_same(expected, got)
    # the missing values are items of their own, in both
    assert "colour is missing" in set(got.bins["label"])
    assert 'it\'s "x" is missing' in set(got.bins["label"])
    # the planted slice is on top (the lattice may stop at a significant first condition)
    top = set(got.slices["slice"].iloc[0].split(" & "))
    assert "colour = o'range" in top


def test_what_needs_rows_loads_them_within_the_limit(adult_files, tmp_path, monkeypatch):
    """A model, the tree and a callable loss need rows: the lazy Dataset loads them (refused
    above MATERIALIZE_LIMIT with advice to sample), and below the limit the result is the
    in-memory one."""
    _, path, roles = adult_files
    lazy = Dataset(path, lazy=True, **roles)
    monkeypatch.setattr(raikit.dataset, "MATERIALIZE_LIMIT", 1000)
    with pytest.raises(DataError, match="sample"):
        find_slices(None, lazy, method="tree")
    with pytest.raises(DataError, match="sample"):
        find_slices(None, lazy, loss=lambda y, p: np.abs(y - p))
    monkeypatch.undo()
    frame = _synthetic(1500, 2, task="regression")
    frame.to_parquet(tmp_path / "small.parquet")
    roles = {"target": "y", "prediction": "p", "sensitive": ["group"]}
    small = Dataset(str(tmp_path / "small.parquet"), lazy=True, **roles)
    options = {"method": "tree", "loss": "absolute_error", "random_state": 0, "min_size": 50}
    expected = find_slices(
        None, Dataset(pd.read_parquet(tmp_path / "small.parquet"), **roles), **options
    )
    pd.testing.assert_frame_equal(find_slices(None, small, **options).slices, expected.slices)


def test_lazy_data_errors_say_what_is_wrong(tmp_path, no_loading):
    frame = pd.DataFrame(
        {"a": list("xyzw") * 25, "s": list("st") * 50, "y": [0, 1] * 50, "q": [0.3] * 100}
    )
    frame.loc[3, "y"] = None
    frame.to_parquet(tmp_path / "gap.parquet")
    gap = Dataset(str(tmp_path / "gap.parquet"), lazy=True, target="y", sensitive="s", score="q")
    with pytest.raises(DataError, match="missing value"):
        find_slices(None, gap, min_size=10)
    frame["y"] = [0, 1] * 50
    frame.loc[5, "q"] = np.nan
    frame.to_parquet(tmp_path / "nan.parquet")
    bad = Dataset(str(tmp_path / "nan.parquet"), lazy=True, target="y", sensitive="s", score="q")
    with pytest.raises(DataError, match="NaN or infinite"):
        find_slices(None, bad, min_size=10)
    with pytest.raises(DataError, match="needs scores"):
        find_slices(
            None, Dataset(str(tmp_path / "nan.parquet"), lazy=True, target="y", sensitive="s")
        )
