"""Export to MLflow: every run arrives with its parameters, metrics and evidence."""

from __future__ import annotations

import json

import pytest

import raikit
from raikit.ledger import Ledger, export_mlflow
from raikit.metrics import group_metrics

mlflow = pytest.importorskip("mlflow")


def test_runs_metrics_and_evidence_reach_mlflow(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    ledger = Ledger(tmp_path / "ledger")
    with raikit.track("audit", ledger=ledger, params={"tolerance": 0.1}):
        result = group_metrics(
            [1, 0, 1, 0, 1, 1], [1, 0, 0, 0, 1, 0], sensitive=["a", "a", "b", "b", "a", "b"]
        )
    exported = export_mlflow(ledger, tracking_uri=(tmp_path / "mlruns").as_uri())
    assert len(exported) == 1
    client = mlflow.tracking.MlflowClient()
    run = client.get_run(next(iter(exported.values())))
    assert run.data.params["tolerance"] == "0.1"
    assert run.data.metrics["metrics.group_metrics.accuracy"] == pytest.approx(
        result.overall["accuracy"]
    )
    assert run.data.tags["mlflow.runName"] == "audit" and run.info.status == "FINISHED"
    artifacts = client.list_artifacts(run.info.run_id, "evidence")
    assert len(artifacts) == 1
    local = client.download_artifacts(run.info.run_id, artifacts[0].path, str(tmp_path))
    with open(local) as handle:
        assert json.load(handle)["type"] == "GroupMetricsResult"
