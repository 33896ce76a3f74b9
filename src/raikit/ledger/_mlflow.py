"""Export ledger runs to MLflow, for teams whose tracking already lives there.

Each raikit run becomes one MLflow run tagged ``raikit.run_id``; exporting again finds it by that
tag and updates it, so nothing is duplicated. Finite numbers become metrics; every other value
(strings such as ``'alpha_investing'``, booleans, NaN, lists) becomes a parameter, cut to MLflow's
length limits, and each piece of evidence and the full parameters are kept whole as JSON
artifacts. Every run the export touches is ended, whatever happens.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
import re
from datetime import datetime

import pandas as pd

from raikit._errors import RaikitError

__all__ = ["export_mlflow"]

# MLflow's limits (mlflow.utils.validation): key length, parameter value length, batch sizes.
_MAX_KEY = 250
_MAX_PARAM = 6000
_MAX_TAG = 8000
_PARAMS_PER_BATCH = 100
_METRICS_PER_BATCH = 1000
_STATUS = {"finished": "FINISHED", "failed": "FAILED", "interrupted": "KILLED"}
_BAD_KEY_CHARACTERS = re.compile(r"[^\w.\- ]")  # what MLflow accepts on every OS, without "/"


def _millis(timestamp: str | None) -> int | None:
    return None if not timestamp else int(datetime.fromisoformat(timestamp).timestamp() * 1000)


def _key(name: str) -> str:
    """A valid MLflow metric or parameter key for ``name`` (unique: a hash marks any change)."""
    key = _BAD_KEY_CHARACTERS.sub("_", str(name)).strip(" ")
    if key != str(name) or len(key) > _MAX_KEY or key in ("", ".", ".."):
        digest = hashlib.sha256(str(name).encode()).hexdigest()[:8]
        key = f"{key[: _MAX_KEY - 9]}-{digest}" if key.strip(".") else f"key-{digest}"
    return key


def _text(value, limit: int) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _is_metric(value) -> bool:
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def _flat_values(overall, prefix: str) -> dict:
    """``{name: value}`` of a result's ``overall`` (a dict, a Series or a small DataFrame)."""
    if isinstance(overall, pd.DataFrame):
        stacked = overall.stack(future_stack=True)
        return {f"{prefix}.{'.'.join(map(str, key))}": v for key, v in stacked.items()}
    if hasattr(overall, "items"):
        return {f"{prefix}.{key}": value for key, value in overall.items()}
    return {}


def _content(ledger, info: dict) -> tuple[dict, dict, dict]:
    """``(metrics, params, artifacts)`` of one ledger run."""
    metrics, params, artifacts = {}, {}, {}
    run_params = {**info["params"], **info["seeds"]}
    for key, value in run_params.items():
        params[_key(key)] = value
    for row in info["evidence"].itertuples(index=False):
        result = ledger.load_evidence(row.id)
        for name, value in _flat_values(getattr(result, "overall", None), row.check_name).items():
            value = value.item() if hasattr(value, "item") else value
            if _is_metric(value):
                metrics[_key(name)] = float(value)
            else:  # strings, booleans, NaN and infinities: recorded, never coerced to a number
                params[_key(name)] = value
        artifacts[f"evidence/{row.check_name}-{row.id[:12]}.json"] = result.to_dict()
    artifacts["raikit/params.json"] = run_params
    return metrics, params, artifacts


def _existing_runs(client, experiment_id: str) -> dict:
    """raikit run id -> MLflow run, for the runs of the experiment already exported."""
    found, token = {}, None
    while True:
        page = client.search_runs(
            [experiment_id],
            filter_string="tags.`raikit.run_id` LIKE '%'",
            max_results=1000,
            page_token=token,
        )
        for run in page:
            found.setdefault(run.data.tags["raikit.run_id"], run)
        token = page.token
        if not token:
            return found


def export_mlflow(ledger, *, tracking_uri: str | None = None, experiment: str = "raikit") -> dict:
    """Copy every run of ``ledger`` into MLflow; exporting again updates, never duplicates.

    Each MLflow run is tagged ``raikit.run_id`` (and the run's kind, status, code version and
    Python version). Finite numbers of each evidence's ``overall`` become metrics named
    ``<check>.<metric>``; run parameters and every non-finite or non-numeric value become
    parameters (cut to MLflow's 6,000 characters; ``raikit/params.json`` keeps them whole); each
    result is an artifact ``evidence/<check>-<id>.json``. Runs end FINISHED, FAILED or KILLED as
    in the ledger (a raikit run still open stays RUNNING); a run whose export fails ends FAILED.

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

    See Also
    --------
    raikit.ledger.Ledger : the ledger it exports.

    Examples
    --------
    >>> import os, tempfile, pathlib
    >>> from raikit.ledger import Ledger, export_mlflow
    >>> from raikit.metrics import group_metrics
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> ledger = Ledger(folder / "ledger")
    >>> _ = ledger.log_evidence(
    ...     group_metrics([1, 0, 1, 0], [1, 0, 0, 0], sensitive_features=["a", "a", "b", "b"]),
    ...     check="metrics.group_metrics",
    ... )
    >>> os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"  # MLflow 3 needs this for a file store
    >>> uri = (folder / "mlruns").as_uri()
    >>> first = export_mlflow(ledger, tracking_uri=uri)
    >>> export_mlflow(ledger, tracking_uri=uri) == first  # the same MLflow runs, updated
    True
    >>> del os.environ["MLFLOW_ALLOW_FILE_STORE"]
    """
    try:
        from mlflow.exceptions import MlflowException
    except ImportError as error:
        raise RaikitError(
            "Exporting to MLflow needs mlflow: pip install mlflow (or mlflow-skinny)."
        ) from error
    try:
        return _export(ledger, tracking_uri, experiment)
    except MlflowException as error:  # the store refused before any run was touched
        raise RaikitError(
            f"MLflow refused the export to {tracking_uri or 'the default tracking URI'!r}: "
            f"{error.message}"
        ) from error


def _export(ledger, tracking_uri: str | None, experiment: str) -> dict:
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    found = client.get_experiment_by_name(experiment)
    experiment_id = (
        found.experiment_id if found is not None else client.create_experiment(experiment)
    )
    existing = _existing_runs(client, experiment_id)
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
        tags = {key: _text(value, _MAX_TAG) for key, value in tags.items()}
        previous = existing.get(info["id"])
        if previous is None:
            run = client.create_run(
                experiment_id, start_time=_millis(info["started_at"]), tags=tags
            )
            logged_params, logged_metrics = {}, {}
        else:
            run = previous
            logged_params, logged_metrics = run.data.params, run.data.metrics
        mlflow_id = run.info.run_id
        status = _STATUS.get(info["status"], "RUNNING")
        try:
            metrics, params, artifacts = _content(ledger, info)
            now = _millis(info["ended_at"] or info["started_at"])
            new_params = [
                Param(key, _text(value, _MAX_PARAM))
                for key, value in params.items()
                if key not in logged_params  # MLflow parameters cannot change once logged
            ]
            new_metrics = [
                Metric(key, value, now, 0)
                for key, value in metrics.items()
                if logged_metrics.get(key) != value  # same value: no second history entry
            ]
            client.log_batch(mlflow_id, tags=[RunTag(k, v) for k, v in tags.items()])
            for start in range(0, len(new_params), _PARAMS_PER_BATCH):
                client.log_batch(mlflow_id, params=new_params[start : start + _PARAMS_PER_BATCH])
            for start in range(0, len(new_metrics), _METRICS_PER_BATCH):
                batch = new_metrics[start : start + _METRICS_PER_BATCH]
                client.log_batch(mlflow_id, metrics=batch)
            for path, content in artifacts.items():
                client.log_dict(mlflow_id, content, path)
        except BaseException as error:
            status = "FAILED"
            client.set_tag(mlflow_id, "raikit.export_error", _text(repr(error), _MAX_TAG))
            if isinstance(error, Exception) and not isinstance(error, RaikitError):
                raise RaikitError(
                    f"Exporting run {info['id'][:12]} ({info['name']!r}) to MLflow failed: "
                    f"{type(error).__name__}: {error}. The MLflow run {mlflow_id} is marked "
                    f"FAILED; export again to complete it (runs already exported are updated)."
                ) from error
            raise
        finally:
            if status == "RUNNING":  # open in raikit: leave it open, but say so
                client.update_run(mlflow_id, status="RUNNING")
            else:
                client.set_terminated(mlflow_id, status=status, end_time=_millis(info["ended_at"]))
        exported[info["id"]] = mlflow_id
    return exported
