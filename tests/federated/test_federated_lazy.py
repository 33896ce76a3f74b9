"""Federated metrics of a lazy Dataset (Parquet through DuckDB): the clients are counted and their
counts taken where the rows live, by one aggregate grouped by client, and every number equals the
in-memory partition's."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import raikit.dataset
from raikit import DataError, Dataset
from raikit.federated import federated_group_metrics, partition

pytest.importorskip("duckdb")


@pytest.fixture
def pair(tmp_path, monkeypatch):
    rng = np.random.default_rng(5)
    n = 4000
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "sex": rng.choice(["F", "M"], n),
            "race": rng.choice(["a", "b", "c"], n, p=[0.7, 0.2, 0.1]),
            "site": rng.choice([3, 1, 2], n),  # numbers: the clients are named by their text
        }
    )
    frame["y"] = (rng.random(n) < 1 / (1 + np.exp(-frame["x"]))).astype(int)
    frame["p"] = np.where(rng.random(n) < 0.85, frame["y"], 1 - frame["y"])
    path = tmp_path / "rows.parquet"
    frame.to_parquet(path)
    roles = dict(target="y", prediction="p", sensitive=["sex", "race"], features=["x", "site"])
    monkeypatch.setattr(raikit.dataset, "MATERIALIZE_LIMIT", 1000)
    return Dataset(frame, **roles), Dataset(str(path), lazy=True, **roles)


def test_lazy_partition_counts_clients_without_loading(pair):
    memory, lazy = pair
    a, b = partition(memory, by="site"), partition(lazy, by="site")
    assert b.client is None and b.names == a.names == ["1", "2", "3"]
    pd.testing.assert_series_equal(a.sizes(), b.sizes())
    pd.testing.assert_frame_equal(a.label_shares(), b.label_shares(), check_names=False)
    with pytest.raises(DataError, match="more than 1,000"):  # splitting the rows loads them
        b.datasets()


def test_lazy_federated_metrics_equal_the_in_memory_ones(pair):
    memory, lazy = pair
    a = federated_group_metrics(None, partition(memory, by="site"), n_boot=200, random_state=4)
    b = federated_group_metrics(None, partition(lazy, by="site"), n_boot=200, random_state=4)
    pd.testing.assert_frame_equal(a.table, b.table)
    pd.testing.assert_frame_equal(a.disparities, b.disparities)
    pd.testing.assert_frame_equal(a.clients, b.clients)
    assert a.worst_client() == b.worst_client()


def test_lazy_noisy_release_is_one_per_client(pair):
    _, lazy = pair
    domains = {"sex": ["F", "M"], "race": ["a", "b", "c"], "y": [0, 1]}
    noisy = federated_group_metrics(
        None, partition(lazy, by="site"), epsilon=1.0, domains=domains, n_boot=100,
        random_state=0,
    )  # fmt: skip
    assert noisy.meta["n_clients"] == 3 and noisy.meta["epsilon"] == 1.0
    assert sorted(noisy.clients["client"].unique()) == ["1", "2", "3"]
    # counts of 4,000 rows with noise of scale 1: the accuracy stays near the exact one
    exact = federated_group_metrics(None, partition(lazy, by="site"), n_boot=100, random_state=0)
    gap = noisy.by_group["accuracy"] - exact.by_group["accuracy"]
    assert np.abs(gap.to_numpy()).max() < 0.05


def test_lazy_partition_refuses_a_missing_client(tmp_path):
    frame = pd.DataFrame({"y": [0, 1] * 10, "p": [0, 1] * 10, "s": list("ab") * 10})
    frame["site"] = ["n"] * 19 + [None]
    path = tmp_path / "gap.parquet"
    frame.to_parquet(path)
    lazy = Dataset(str(path), target="y", prediction="p", sensitive="s", lazy=True)
    with pytest.raises(DataError, match="1 missing value"):
        partition(lazy, by="site")
