"""Export to MLflow, read back with MLflow's own client from a real local file store: values,
statuses, string-valued results, MLflow's limits, failures that still end the run, and a second
export that updates instead of duplicating."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

import raikit
from raikit.dataset import Dataset
from raikit.evaluate import find_slices
from raikit.ledger import Ledger, export_mlflow
from raikit.metrics import group_metrics

mlflow = pytest.importorskip("mlflow")


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    uri = (tmp_path / "mlruns").as_uri()
    return uri, mlflow.tracking.MlflowClient(tracking_uri=uri)


def _runs(client, experiment="raikit"):
    found = client.get_experiment_by_name(experiment)
    return client.search_runs([found.experiment_id]) if found else []


def test_runs_metrics_and_evidence_reach_mlflow(tmp_path, store):
    uri, client = store
    ledger = Ledger(tmp_path / "ledger")
    with raikit.track("audit", ledger=ledger, params={"tolerance": 0.1}):
        result = group_metrics(
            [1, 0, 1, 0, 1, 1],
            [1, 0, 0, 0, 1, 0],
            sensitive_features=["a", "a", "b", "b", "a", "b"],
        )
    exported = export_mlflow(ledger, tracking_uri=uri)
    assert len(exported) == 1
    run = client.get_run(next(iter(exported.values())))
    assert run.data.params["tolerance"] == "0.1"
    assert run.data.metrics["metrics.group_metrics.accuracy"] == pytest.approx(
        result.overall["accuracy"]
    )
    assert run.data.tags["mlflow.runName"] == "audit" and run.info.status == "FINISHED"
    assert run.data.tags["raikit.run_id"] == next(iter(exported))
    artifacts = client.list_artifacts(run.info.run_id, "evidence")
    assert len(artifacts) == 1
    local = client.download_artifacts(run.info.run_id, artifacts[0].path, str(tmp_path))
    with open(local) as handle:
        assert json.load(handle)["type"] == "GroupMetricsResult"


@pytest.fixture
def demo_like_ledger(tmp_path):
    """What the demo's ledger holds: slice findings whose ``overall`` has strings, lists and None
    (``fdr='alpha_investing'``), long and odd parameters, and finished, failed and killed runs."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "colour": rng.choice(["red", "blue"], 400),
            "size": rng.normal(size=400),
            "y": rng.integers(0, 2, 400),
        }
    )
    frame["p"] = np.where(
        (frame["colour"] == "red") & (rng.random(400) < 0.5), 1 - frame["y"], frame["y"]
    )
    ds = Dataset(frame, target="y", sensitive=["colour"], prediction="p")
    ledger = Ledger(tmp_path / "ledger")
    params = {"fdr": "alpha_investing", "long": "x" * 7000, "flag": True, "odd key/..": [1, 2]}
    with raikit.track("slices", ledger=ledger, params=params):
        slices = find_slices(None, ds, loss="zero_one", min_size=50, fdr="alpha_investing")
    with pytest.raises(ZeroDivisionError), raikit.track("broken", ledger=ledger):
        1 / 0  # noqa: B018
    killed = ledger.start_run("killed")
    ledger._end_run(killed.id, "interrupted", "writer gone")
    return ledger, slices


def test_string_valued_results_export_as_params_and_runs_end(demo_like_ledger, store):
    ledger, slices = demo_like_ledger
    uri, client = store
    exported = export_mlflow(ledger, tracking_uri=uri)  # crashed on 'alpha_investing' before
    names = dict(zip(ledger.runs()["id"], ledger.runs()["name"], strict=True))
    runs = {names[r.data.tags["raikit.run_id"]]: r for r in _runs(client)}
    assert set(runs) == {"slices", "broken", "killed"} and len(exported) == 3
    assert {name: r.info.status for name, r in runs.items()} == {
        "slices": "FINISHED",
        "broken": "FAILED",
        "killed": "KILLED",
    }
    data = runs["slices"].data
    assert data.params["fdr"] == "alpha_investing"
    assert data.params["evaluate.find_slices.fdr"] == "alpha_investing"
    assert data.params["flag"] == "true"
    assert len(data.params["long"]) == 6000 and data.params["long"].endswith("…")
    odd = [key for key in data.params if key.startswith("odd key_..")]
    assert len(odd) == 1 and data.params[odd[0]] == "[1, 2]"
    overall = slices.overall
    for name, value in overall.items():
        key = f"evaluate.find_slices.{name}"
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        if is_number and math.isfinite(value):
            assert data.metrics[key] == pytest.approx(float(value)), name
        else:
            assert key in data.params and key not in data.metrics, name
    local = client.download_artifacts(runs["slices"].info.run_id, "raikit/params.json")
    with open(local) as handle:
        assert json.load(handle)["long"] == "x" * 7000  # whole in the artifact


def test_exporting_twice_updates_instead_of_duplicating(demo_like_ledger, store):
    ledger, _ = demo_like_ledger
    uri, client = store
    first = export_mlflow(ledger, tracking_uri=uri)
    with raikit.track("later", ledger=ledger, params={"alpha": 0.05}):
        group_metrics([1, 0, 1, 0], [1, 0, 0, 0], sensitive_features=["a", "a", "b", "b"])
    second = export_mlflow(ledger, tracking_uri=uri)
    assert {k: second[k] for k in first} == first  # the same MLflow runs
    runs = _runs(client)
    assert len(runs) == 4 == len(second)
    assert len({r.data.tags["raikit.run_id"] for r in runs}) == 4
    for run in runs:  # no metric logged twice
        for key in run.data.metrics:
            assert len(client.get_metric_history(run.info.run_id, key)) == 1
    assert {r.info.status for r in runs} == {"FINISHED", "FAILED", "KILLED"}


def test_a_failing_export_still_ends_the_run(demo_like_ledger, store, monkeypatch):
    ledger, _ = demo_like_ledger
    uri, client = store

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(mlflow.tracking.MlflowClient, "log_dict", broken)
    with pytest.raises(raikit.RaikitError, match="disk full"):
        export_mlflow(ledger, tracking_uri=uri)
    (run,) = _runs(client)
    assert run.info.status == "FAILED" and "disk full" in run.data.tags["raikit.export_error"]
    monkeypatch.undo()
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    export_mlflow(ledger, tracking_uri=uri)  # a later export repairs it, still one run each
    runs = _runs(client)
    assert len(runs) == 3
    assert {r.data.tags["raikit.status"]: r.info.status for r in runs} == {
        "finished": "FINISHED",
        "failed": "FAILED",
        "interrupted": "KILLED",
    }


def test_a_slice_finding_alone_exports(demo_like_ledger, store, tmp_path):
    # The demo's crash: "could not convert string to float: 'alpha_investing'", run left RUNNING.
    _, slices = demo_like_ledger
    uri, client = store
    ledger = Ledger(tmp_path / "plain")
    ledger.log_evidence(slices, check="evaluate.find_slices")
    export_mlflow(ledger, tracking_uri=uri)
    (run,) = _runs(client)
    assert run.info.status == "FINISHED"
    assert run.data.params["evaluate.find_slices.fdr"] == "alpha_investing"
    assert run.data.metrics["evaluate.find_slices.n_rows"] == 400


def test_a_store_that_refuses_gives_a_raikit_error(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
    ledger = Ledger(tmp_path / "ledger")
    ledger.log_evidence(
        group_metrics([1, 0, 1, 0], [1, 0, 0, 0], sensitive_features=["a", "a", "b", "b"]),
        check="m",
    )
    with pytest.raises(raikit.RaikitError, match="MLflow refused the export"):
        export_mlflow(ledger, tracking_uri=(tmp_path / "mlruns").as_uri())
