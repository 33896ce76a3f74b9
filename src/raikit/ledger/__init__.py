"""The evidence ledger: every check's result, with the data, model, code and environment behind it.

Reports and cards are views of the ledger, never typed by hand.
"""

from __future__ import annotations

from raikit.ledger._figures import lineage_figure
from raikit.ledger._mlflow import export_mlflow
from raikit.ledger._store import (
    Ledger,
    LedgerError,
    Run,
    active_run,
    dataset_hash,
    fit_dataset,
    model_fingerprint,
    paused,
    record,
    track,
)
from raikit.ledger._tables import Store, Table

__all__ = [
    "Ledger",
    "LedgerError",
    "Run",
    "Store",
    "Table",
    "active_run",
    "dataset_hash",
    "export_mlflow",
    "fit_dataset",
    "lineage_figure",
    "model_fingerprint",
    "paused",
    "record",
    "track",
    "train",
]


def train(
    estimator,
    data,
    *,
    ledger: Ledger | str | None = None,
    name: str = "train",
    params: dict | None = None,
    fit_params: dict | None = None,
):
    """Fit a clone of ``estimator`` on a Dataset inside a recorded run that can be reproduced.

    Estimators whose ``fit`` takes ``sensitive_features`` get the Dataset's sensitive attributes
    (here and when the run is reproduced); ``fit_params`` (e.g. a progress callback) are passed to
    this fit only, so they must not change the model.

    Records the unfitted estimator, the training data (as a Parquet artifact), the fitted model and
    its prediction fingerprint, so ``raikit reproduce RUN`` can refit and compare.

    Parameters
    ----------
    estimator : unfitted scikit-learn estimator
        Cloned before fitting; the original is left untouched.
    data : Dataset
        The training data, with its target and sensitive attributes.
    ledger : Ledger or path, optional
        Where the run is recorded (default ``.raikit``).
    name : str, default "train"
        The run's name.
    params : dict, optional
        Extra run parameters to record.
    fit_params : dict, optional
        Passed to ``fit`` only (not recorded; must not change the model).

    Returns
    -------
    model, run
        The fitted model and the :class:`Run` that recorded it.

    See Also
    --------
    raikit.ledger.fit_dataset : the fitting step alone.

    Examples
    --------
    >>> import tempfile
    >>> from sklearn.linear_model import LogisticRegression
    >>> from raikit.datasets import load_german_credit
    >>> from raikit.ledger import Ledger, train
    >>> ledger = Ledger(tempfile.mkdtemp())
    >>> ds = load_german_credit()
    >>> numeric = ds.replace(features=["duration_months", "credit_amount", "age"])
    >>> model, run = train(LogisticRegression(max_iter=500), numeric, ledger=ledger)
    >>> ledger.reproduce(run.id)["match"]
    True
    """
    from sklearn.base import clone

    seeds = (
        {"random_state": estimator.get_params().get("random_state")}
        if hasattr(estimator, "get_params")
        else {}
    )
    with track(name, ledger=ledger, params=params, seeds=seeds) as run:
        model = fit_dataset(clone(estimator), data, **(fit_params or {}))
        run.ledger.log_training(estimator, data, model, run=run)
    return model, run
