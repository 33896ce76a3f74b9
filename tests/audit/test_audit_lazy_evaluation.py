"""The audit's evaluation, inequality, performance_estimate and federated sections on a lazy test
set (Adult as Parquet, read by DuckDB): no full load, and the in-memory numbers wherever the
section works from counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import raikit.dataset
from raikit import Dataset
from raikit.audit import _audit, audit

pytest.importorskip("duckdb")

SECTIONS = ["evaluation", "inequality", "performance_estimate", "federated"]
SETTINGS = dict(sections=SECTIONS, n_boot=50, random_state=0, clients="relationship")


@pytest.fixture(scope="module")
def adult(tmp_path_factory):
    """Adult's split in memory and as lazy Parquet Datasets, and a model fitted on the train."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    from raikit.datasets import load_adult

    ds = load_adult()
    train, test = ds.split(0.3, random_state=0)
    model = HistGradientBoostingClassifier(
        categorical_features="from_dtype", max_iter=30, random_state=0
    ).fit(train.X, train.y)
    folder = tmp_path_factory.mktemp("lazy_adult")
    roles = dict(target=ds.target, sensitive=ds.sensitive_names, features=ds.feature_names)
    lazy = {}
    for name, part in (("train", train), ("test", test)):
        part.frame.to_parquet(folder / f"{name}.parquet")
        lazy[name] = Dataset(str(folder / f"{name}.parquet"), name=name, lazy=True, **roles)
    return model, train, test, lazy


@pytest.fixture(scope="module")
def reports(adult):
    """The four sections in memory, and on the lazy files with any load of more than 1,000 rows
    refused (the small-data paths of consistency and estimation still load the 14,653 rows)."""
    model, train, test, lazy = adult
    memory = audit(model, train=train, test=test, **SETTINGS)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(raikit.dataset, "MATERIALIZE_LIMIT", 1000)
        on_files = audit(model, train=lazy["train"], test=lazy["test"], **SETTINGS)
    return memory, on_files


def test_evaluation_on_lazy_data_matches_memory(reports):
    memory, lazy = (r.results["evaluate.evaluate"] for r in reports)
    assert lazy.meta["backend"] == "duckdb" and "binning" in lazy.meta
    pd.testing.assert_frame_equal(memory.confusion, lazy.confusion)
    pd.testing.assert_frame_equal(memory.calibration, lazy.calibration, atol=1e-12)
    keys = ["threshold", "attribute", "group", "metric"]
    merged = memory.metrics.merge(lazy.metrics, on=keys, suffixes=("_m", "_l"))
    assert len(merged) == len(memory.metrics)
    gap = (merged["value_m"] - merged["value_l"]).abs()
    auc = merged["metric"] == "roc_auc"
    assert gap[~auc].max() < 1e-12
    overall = merged[auc & (merged["attribute"] == "overall")]
    assert gap[overall.index].max() <= lazy.meta["roc_auc_error_bound"]["overall"]
    assert len(lazy.roc) > 0 and lazy.findings  # curves and fairness findings, as in memory
    assert [f.title for f in memory.findings] == [f.title for f in lazy.findings]


def test_inequality_on_lazy_data_matches_memory(reports):
    memory, lazy = (r.results["metrics.inequality_metrics"] for r in reports)
    assert lazy.meta["backend"] == "duckdb"
    assert "consistency" in set(lazy.table["metric"])  # 14,653 rows: neighbours on every row
    columns = ["metric", "attribute", "value", "lower", "upper"]
    pd.testing.assert_frame_equal(memory.table[columns], lazy.table[columns], atol=1e-12)
    assert memory.summary == lazy.summary


def test_federated_on_lazy_data_matches_memory(reports):
    memory, lazy = (r.results["federated.group_metrics"] for r in reports)
    assert lazy.meta["n_clients"] == memory.meta["n_clients"] == 6
    pd.testing.assert_frame_equal(memory.table, lazy.table, atol=1e-12)
    pd.testing.assert_frame_equal(memory.clients, lazy.clients, atol=1e-12)
    assert memory.summary == lazy.summary


def test_performance_estimate_on_small_lazy_data_matches_memory(reports):
    memory, lazy = (r.results["evaluate.estimate_performance"] for r in reports)
    assert "sampling" not in lazy.meta  # 14,653 rows, under _ESTIMATE_ROWS: every row
    pd.testing.assert_frame_equal(memory.estimates, lazy.estimates, atol=1e-12)


def test_large_lazy_test_set_is_never_loaded(adult, reports, monkeypatch):
    """With the row limits of consistency and estimation below the test set's size, no step
    may load more than 1,000 rows: estimation runs on a stratified sample, consistency is left
    out with its reason, and the count-based numbers do not move."""
    model, _, test, lazy = adult
    loads = []
    original = raikit.dataset.Dataset.materialize

    def refuse(self, purpose=None, *, max_rows=None):
        if self.is_lazy and self._cache is None and self.n_rows > 1000:
            loads.append(purpose)
            raise AssertionError(f"loaded {self.n_rows} rows for {purpose}")
        return original(self, purpose, max_rows=max_rows)

    monkeypatch.setattr(raikit.dataset.Dataset, "materialize", refuse)
    monkeypatch.setattr(_audit, "_CONSISTENCY_ROWS", 1000)
    monkeypatch.setattr(_audit, "_ESTIMATE_ROWS", 4000)
    report = audit(model, train=lazy["train"], test=lazy["test"], **SETTINGS)
    assert not loads and not report.meta["skipped"]
    # estimation: on a sample stratified by group, reweighted, and said so
    estimate = report.results["evaluate.estimate_performance"]
    sampling = estimate.meta["sampling"]
    assert 4000 <= sampling["sampled"].sum() <= 4000 + 30 * len(sampling)
    assert (sampling["sampled"] >= np.minimum(sampling["population"], 30)).all()
    assert sampling["population"].sum() == test.n_rows
    assert f"on a sample of {int(sampling['sampled'].sum()):,} of {test.n_rows:,} rows" in (
        estimate.summary
    )
    full = reports[0].results["evaluate.estimate_performance"].by_group().iloc[0]
    sampled = estimate.by_group().iloc[0]
    assert abs(sampled["accuracy"] - full["accuracy"]) < 0.03  # sampling error of ~2,000 rows
    # consistency left out, with the reason; the indices are those of every row
    inequality = report.results["metrics.inequality_metrics"]
    assert "consistency" not in set(inequality.table["metric"])
    assert "more than 1,000" in inequality.meta["consistency"]
    assert "consistency left out: the test set has 14,653 rows" in inequality.summary
    before = reports[0].results["metrics.inequality_metrics"].table
    pd.testing.assert_frame_equal(
        before[before["metric"] != "consistency"].reset_index(drop=True), inequality.table
    )
