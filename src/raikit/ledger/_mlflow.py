"""Export ledger runs to MLflow, for teams whose tracking already lives there."""

from __future__ import annotations

import json
from datetime import datetime

from raikit._errors import RaikitError

__all__ = ["export_mlflow"]


def _millis(timestamp: str | None) -> int | None:
    return None if not timestamp else int(datetime.fromisoformat(timestamp).timestamp() * 1000)


def export_mlflow(ledger, *, tracking_uri: str | None = None, experiment: str = "raikit") -> dict:
    """Copy every run of ``ledger`` into MLflow: parameters, tags (code version, environment),
    overall metrics of each piece of evidence, and each result's JSON as an artifact.

    Parameters
    ----------
    ledger : raikit.ledger.Ledger
    tracking_uri : str, optional
        MLflow tracking URI (default: MLflow's own default or ``MLFLOW_TRACKING_URI``).
    experiment : str, default "raikit"

    Returns
    -------
    dict
        raikit run id -> MLflow run id.
    """
    try:
        import mlflow
    except ImportError as error:
        raise RaikitError(
            "Exporting to MLflow needs mlflow: pip install mlflow (or mlflow-skinny)."
        ) from error
    if tracking_uri is not None:
        mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(experiment)
    client = mlflow.tracking.MlflowClient()
    experiment_id = mlflow.get_experiment_by_name(experiment).experiment_id
    exported = {}
    for run_id in ledger.runs()["id"]:
        info = ledger.run(run_id)
        tags = {
            "raikit.run_id": info["id"],
            "raikit.kind": info["kind"],
            "raikit.status": info["status"],
            "mlflow.runName": info["name"],
            "raikit.git_commit": str(info["code"].get("git_commit")),
            "raikit.git_dirty": str(info["code"].get("git_dirty")),
            "raikit.python": str(info["environment"].get("python")),
        }
        run = client.create_run(experiment_id, start_time=_millis(info["started_at"]), tags=tags)
        mlflow_id = run.info.run_id
        for key, value in {**info["params"], **info["seeds"]}.items():
            client.log_param(
                mlflow_id, key, json.dumps(value) if not isinstance(value, str) else value
            )
        for row in info["evidence"].itertuples(index=False):
            result = ledger.load_evidence(row.id)
            overall = getattr(result, "overall", None)
            if overall is not None:
                for metric, value in overall.items():
                    if value == value:  # skip NaN: undefined, not zero
                        client.log_metric(mlflow_id, f"{row.check_name}.{metric}", float(value))
            client.log_dict(
                mlflow_id, result.to_dict(), f"evidence/{row.check_name}-{row.id[:12]}.json"
            )
        status = {"finished": "FINISHED", "failed": "FAILED"}.get(info["status"], "RUNNING")
        client.set_terminated(mlflow_id, status=status, end_time=_millis(info["ended_at"]))
        exported[info["id"]] = mlflow_id
    return exported
