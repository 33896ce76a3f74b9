"""The audit's slices section on lazy train/test sets: the same slices and overlaps as on the same
rows in memory, with no full load of either table (MATERIALIZE_LIMIT harness)."""

from __future__ import annotations

import numpy as np
import pytest

import raikit.dataset
from raikit import Dataset
from raikit.audit import audit

pytest.importorskip("duckdb")


def test_slices_section_on_lazy_adult_equals_in_memory(tmp_path, monkeypatch):
    from sklearn.ensemble import HistGradientBoostingClassifier

    from raikit.datasets import load_adult

    train, test = load_adult(split="train"), load_adult(split="test")
    model = HistGradientBoostingClassifier(
        categorical_features="from_dtype", max_iter=30, random_state=0
    ).fit(train.X, train.y)
    options = {"sections": ["slices"], "n_boot": 20, "random_state": 0}
    memory = audit(model, train=train, test=test, **options)

    roles = {
        "target": test.target,
        "sensitive": test.sensitive_names,
        "features": test.feature_names,
    }
    for name, part in (("train", train), ("test", test)):
        part.frame.to_parquet(tmp_path / f"{name}.parquet")
    lazy_train = Dataset(str(tmp_path / "train.parquet"), lazy=True, **roles)
    lazy_test = Dataset(str(tmp_path / "test.parquet"), lazy=True, **roles)
    monkeypatch.setattr(raikit.dataset, "MATERIALIZE_LIMIT", 1000)
    lazy = audit(
        model, train=lazy_train, test=lazy_test, predictions_dir=tmp_path / "scored", **options
    )

    expected = memory.results["evaluate.find_slices"]
    got = lazy.results["evaluate.find_slices"]
    assert len(expected.slices) > 0
    assert got.slices["slice"].tolist() == expected.slices["slice"].tolist()
    np.testing.assert_array_equal(got.slices["size"], expected.slices["size"])
    for column in ("mean_loss", "rest_mean_loss", "effect_size", "t_statistic"):
        np.testing.assert_allclose(got.slices[column], expected.slices[column], rtol=1e-9)
    np.testing.assert_allclose(
        got.slices["p_value"], expected.slices["p_value"], rtol=1e-7, atol=1e-15
    )
    # the overlaps the report merges near-duplicate slices with: counted where the rows live
    assert lazy.meta["slice_overlap"] == memory.meta["slice_overlap"]
    shared = np.asarray(got.overlap(test))
    np.testing.assert_array_equal(np.diag(shared), expected.slices["size"].to_numpy())
    verdict = dict(zip(lazy.scorecard["principle"], lazy.scorecard["status"], strict=True))
    assert verdict == dict(
        zip(memory.scorecard["principle"], memory.scorecard["status"], strict=True)
    )
