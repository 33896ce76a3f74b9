"""Federated training on Flower's simulation engine: FedAvg, FedProx, a fairness-aware
reweighting, and client-level differential privacy.

Each simulated client (a Flower ``ClientApp`` on a virtual SuperNode, run by the Ray backend)
holds its partition's rows; each round the server (a ``ServerApp`` running Flower's ``FedAvg`` or
``FedProx`` strategy) sends the global weights, every client takes ``local_epochs`` full-batch
gradient steps on its rows and returns its weights and its sufficient statistics (loss sums and
counts per group x label cell, of the global model it received), and the server averages.

``fairness="eqopp"`` reweights the positive-label rows of each group from those aggregated
statistics, FairBatch-style: after a round, the weight of a group's positive rows is multiplied by
``exp(fair_step * (its loss - the mean loss of positives over groups))`` and renormalised (the
group whose positives the model misses most gains weight), so the server steers every client's
loss toward equal true positive rates without seeing a row.

``noise_multiplier`` wraps the strategy in Flower's ``DifferentialPrivacyServerSideFixedClipping``:
each client's update is clipped to ``clipping_norm`` and the uniform average gets Gaussian noise
of standard deviation ``noise_multiplier * clipping_norm / n_clients``: client-level DP (the
neighbouring datasets differ by one client's data). The epsilon at ``delta`` is computed by
Opacus's RDP accountant (Rényi DP of the Gaussian mechanism composed over the rounds, every
client taking part in every round, so no sampling amplification). Flower's own accountant needs
the ``dp-accounting`` package, whose install would change an installed package's version.
"""

from __future__ import annotations

import logging
import os

import numpy as np
import pandas as pd
from sklearn.base import ClassifierMixin

from raikit._errors import DataError, ParameterError
from raikit._validation import RANDOM_STATE, Interval, Options, rng_from, validate_params
from raikit.train._base import TorchClassifierBase
from raikit.train._common import TabularEncoder, import_torch
from raikit.train._torch_models import (
    build_module,
    forward_numpy,
    load_arrays,
    module_to_arrays,
)

__all__ = ["FederatedClassifier", "federated_train"]

STRATEGIES = ("fedavg", "fedprox")


class FederatedClassifier(TorchClassifierBase, ClassifierMixin):
    """A classifier trained by :func:`federated_train` (its weights are the server's final ones).

    Predicts as raikit's torch classifiers do (numpy forward pass of ``coefs_`` and
    ``intercepts_`` on the rows encoded by ``encoder_``).

    Parameters
    ----------
    network : {"logistic", "mlp", "sgd"}, default "logistic"
        The network the weights belong to (see :func:`federated_train`).
    hidden_layer_sizes : tuple of int, default (64,)
        Widths of the hidden layers of ``"mlp"``.

    Attributes
    ----------
    classes_ : ndarray
    encoder_ : TabularEncoder
        Built from the clients' aggregate statistics (means, variances and category levels).
    coefs_, intercepts_ : list of ndarray
    history_ : DataFrame
        One row per round (see :func:`federated_train`).
    privacy_ : dict
        ``epsilon``, ``delta``, ``noise_multiplier``, ``clipping_norm`` and the accountant (empty
        without DP).

    Raises
    ------
    ParameterError
        From ``fit``: a federated model is trained by :func:`federated_train`, never on pooled
        rows.

    See Also
    --------
    raikit.federated.federated_train : trains it.
    raikit.federated.federated_group_metrics : its group metrics from the clients' counts.

    Examples
    --------
    >>> from raikit.federated import FederatedClassifier
    >>> FederatedClassifier(network="logistic").network
    'logistic'
    >>> FederatedClassifier().fit([[0.0]], [1])
    Traceback (most recent call last):
    ...
    raikit._errors.ParameterError: FederatedClassifier is trained by ... it has no fit(X, y).
    """

    def __init__(self, *, network: str = "logistic", hidden_layer_sizes=(64,)) -> None:
        self.network = network
        self.hidden_layer_sizes = hidden_layer_sizes

    def _binary_only(self) -> bool:
        return True

    def fit(self, X, y):
        """Not available: a federated model is trained by :func:`federated_train`.

        Parameters
        ----------
        X, y
            Ignored.

        Raises
        ------
        ParameterError
            Always: pooled rows are what federated training avoids.
        """
        raise ParameterError(
            "FederatedClassifier is trained by raikit.federated.federated_train(partition, ...), "
            "which keeps each client's rows on its client; it has no fit(X, y)."
        )


# --------------------------------------------------------------------------- encoding
def federated_encoder(datasets) -> TabularEncoder:
    """A :class:`TabularEncoder` from the clients' additive statistics, no rows pooled.

    Numeric columns: each client sends its count, sum and sum of squares of the present values;
    the server's means impute missing values (a federated median would need order statistics)
    and its standard deviations scale. Other columns: the union of the clients' levels.
    """
    from sklearn.preprocessing import OneHotEncoder

    first = datasets[0].X
    numeric = [c for c in first.columns if first[c].dtype.kind in "fiub"]
    other = [c for c in first.columns if c not in set(numeric)]
    n = s = s2 = np.zeros(len(numeric))
    levels = [set() for _ in other]
    for ds in datasets:  # what each client sends
        values = ds.X[numeric].to_numpy(dtype=np.float64, na_value=np.nan)
        present = ~np.isnan(values)
        n = n + present.sum(axis=0)
        s = s + np.nansum(values, axis=0)
        s2 = s2 + np.nansum(values**2, axis=0)
        for i, column in enumerate(other):
            levels[i] |= set(_levels(ds.X[column]))
    encoder = TabularEncoder()
    encoder.numeric_, encoder.other_, encoder.columns_ = numeric, other, list(first.columns)
    means = np.divide(s, n, out=np.zeros_like(s), where=n > 0)
    variance = np.divide(s2, n, out=np.zeros_like(s), where=n > 0) - means**2
    scale = np.sqrt(np.maximum(variance, 0.0))
    encoder.medians_ = means
    encoder.means_ = means
    encoder.scales_ = np.where(scale > 1e-12 * np.maximum(np.abs(means), 1), scale, 1.0)
    encoder.onehot_ = None
    if other:
        categories = [sorted(level) for level in levels]
        encoder.onehot_ = OneHotEncoder(
            categories=categories, handle_unknown="ignore", sparse_output=False
        )
        width = max(len(c) for c in categories)
        sample = np.array([[c[min(i, len(c) - 1)] for c in categories] for i in range(width)])
        encoder.onehot_.fit(sample)
    return encoder


def _levels(series: pd.Series) -> list[str]:
    from raikit._grouping import MISSING

    values = series.astype(object)
    return values.where(values.notna(), MISSING).astype(str).unique().tolist()


# --------------------------------------------------------------------------- the client side
def _local_training(state, arrays, config):
    """One client's round: statistics of the global model on its rows, then local steps."""
    X, y, g, network, hidden, seed = state
    weights = np.asarray(config["cell-weights"], dtype=np.float64)
    cell = g * 2 + y
    coefs, intercepts = _split(arrays, network)
    logits = forward_numpy(coefs, intercepts, X)[:, 0]
    losses = np.logaddexp(0.0, logits) - y * logits  # the logistic loss of each row
    metrics = {
        "num-examples": len(y),
        "unit": 1,
        "loss": float(losses.mean()),
        "correct": float(((logits > 0) == (y == 1)).sum()),
        "cell-loss": np.bincount(cell, weights=losses, minlength=len(weights)).tolist(),
        "cell-n": np.bincount(cell, minlength=len(weights)).astype(float).tolist(),
    }
    row_weights = weights[cell]
    if network == "sgd":
        return _sgd_steps(X, y, row_weights, coefs, intercepts, config, seed), metrics
    return _torch_steps(X, y, row_weights, arrays, config, (network, hidden, seed)), metrics


def _sgd_steps(X, y, row_weights, coefs, intercepts, config, seed) -> list[np.ndarray]:
    """scikit-learn's SGDClassifier (logistic loss) warm-started at the global weights."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import SGDClassifier

    model = SGDClassifier(
        loss="log_loss",
        penalty=None,
        learning_rate="constant",
        eta0=float(config["learning-rate"]) / 100,  # per-row steps: 1/100 of a full-batch step
        max_iter=int(config["local-epochs"]),
        tol=None,
        random_state=seed,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a fixed number of epochs, as asked
        model.fit(
            X,
            y,
            coef_init=coefs[0].T,
            intercept_init=intercepts[0],
            sample_weight=row_weights,
        )
    return [model.coef_.T.copy(), model.intercept_.copy()]


def _torch_steps(X, y, row_weights, arrays, config, spec) -> list[np.ndarray]:
    """Full-batch gradient steps of raikit's torch network (FedProx's proximal term if asked)."""
    torch = import_torch()
    torch.set_num_threads(1)
    network, hidden, seed = spec
    module = build_module(network, X.shape[1], 1, hidden_layer_sizes=hidden, seed=seed)
    load_arrays(network, module, *_split(arrays, network), None)
    Xt, yt = torch.from_numpy(X.astype(np.float32)), torch.from_numpy(y.astype(np.float32))
    wt = torch.from_numpy(row_weights.astype(np.float32))
    loss_fn = torch.nn.BCEWithLogitsLoss(reduction="none")
    start = [p.detach().clone() for p in module.parameters()]
    optimizer = torch.optim.SGD(module.parameters(), lr=float(config["learning-rate"]))
    mu = float(config.get("proximal-mu", 0.0))
    for _ in range(int(config["local-epochs"])):
        optimizer.zero_grad()
        loss = (loss_fn(module(Xt)[:, 0], yt) * wt).sum() / wt.sum()
        if mu > 0:  # FedProx: stay near the global weights
            loss = loss + mu / 2 * sum(
                ((p - p0) ** 2).sum() for p, p0 in zip(module.parameters(), start, strict=True)
            )
        loss.backward()
        optimizer.step()
    coefs, intercepts, _ = module_to_arrays(network, module)
    return _join(coefs, intercepts)


def _join(coefs, intercepts) -> list[np.ndarray]:
    return [a for pair in zip(coefs, intercepts, strict=True) for a in pair]


def _split(arrays, network):
    return list(arrays[0::2]), list(arrays[1::2])


def _client_app(parts, network, hidden_layer_sizes, seed):
    from flwr.app import ArrayRecord, Message, MetricRecord, RecordDict
    from flwr.clientapp import ClientApp

    app = ClientApp()

    @app.train()
    def train(msg, context):  # runs on a simulated client: only its own partition
        pid = int(context.node_config["partition-id"])
        X, y, g = parts[pid]
        arrays = msg.content["arrays"].to_numpy_ndarrays()
        state = (X.astype(np.float64), y, g, network, hidden_layer_sizes, seed)
        new, metrics = _local_training(state, arrays, msg.content["config"])
        content = RecordDict({"arrays": ArrayRecord(new), "metrics": MetricRecord(metrics)})
        return Message(content, reply_to=msg)

    return app


# --------------------------------------------------------------------------- the server side
class _Rounds:
    """The server's per-round record: aggregated client statistics, and the fair cell weights."""

    def __init__(self, n_groups: int, fairness, fair_step: float, progress, rounds: int):
        self.weights = np.ones(2 * n_groups)
        self.fairness, self.fair_step = fairness, fair_step
        self.progress, self.rounds = progress, rounds
        self.history: list[dict] = []

    def aggregate(self, records, weighting_key):
        """Flower's ``train_metrics_aggr_fn``: sum the clients' additive statistics."""
        from flwr.app import MetricRecord

        metrics = [next(iter(r.metric_records.values())) for r in records]
        cell_loss = np.sum([m["cell-loss"] for m in metrics], axis=0)
        cell_n = np.sum([m["cell-n"] for m in metrics], axis=0)
        n = float(cell_n.sum())
        row = {
            "round": len(self.history) + 1,
            "clients": len(metrics),
            "loss": float(cell_loss.sum() / n),
            "accuracy": float(sum(m["correct"] for m in metrics) / n),
        }
        positives = cell_loss[1::2] / np.maximum(cell_n[1::2], 1)
        row["worst_group_positive_loss"] = float(positives[cell_n[1::2] > 0].max())
        if self.fairness == "eqopp":
            self._reweight(positives, cell_n[1::2])
            row["max_weight"] = float(self.weights[1::2].max())
        self.history.append(row)
        return MetricRecord({"loss": row["loss"], "accuracy": row["accuracy"]})

    def _reweight(self, positive_loss: np.ndarray, positives: np.ndarray) -> None:
        """FairBatch-style step: more weight to the positives of groups the model misses."""
        present = positives > 0
        centre = positive_loss[present].mean()
        lam = self.weights[1::2] * np.exp(self.fair_step * (positive_loss - centre) * present)
        lam *= positives.sum() / max(float((lam * positives).sum()), 1e-12)
        self.weights[1::2] = lam

    def evaluate(self, server_round, arrays):
        """Flower's ``evaluate_fn`` (after every round): advance the progress callback."""
        if self.progress is not None and server_round > 0:
            self.progress(server_round, self.rounds)


def _strategy(kind, n_clients, proximal_mu, dp, record: _Rounds):
    from flwr.serverapp.strategy import FedAvg, FedProx

    base = FedProx if kind == "fedprox" else FedAvg

    class Strategy(base):
        def configure_train(self, server_round, arrays, config, grid):
            config["cell-weights"] = record.weights.tolist()  # the fair method's current weights
            return super().configure_train(server_round, arrays, config, grid)

    kwargs = {
        "fraction_train": 1.0,
        "fraction_evaluate": 0.0,
        "min_train_nodes": n_clients,
        "min_available_nodes": n_clients,
        # DP: a uniform average, so one client's clipped update moves it by clip / n_clients
        "weighted_by_key": "unit" if dp is not None else "num-examples",
        "train_metrics_aggr_fn": record.aggregate,
    }
    if kind == "fedprox":
        kwargs["proximal_mu"] = proximal_mu
    strategy = Strategy(**kwargs)
    if dp is None:
        return strategy
    from flwr.serverapp.strategy import DifferentialPrivacyServerSideFixedClipping

    return DifferentialPrivacyServerSideFixedClipping(
        strategy, dp["noise_multiplier"], dp["clipping_norm"], n_clients
    )


def _epsilon(noise_multiplier: float, rounds: int, delta: float) -> float:
    """Client-level epsilon of ``rounds`` Gaussian releases (Opacus's RDP accountant)."""
    from opacus.accountants import RDPAccountant

    accountant = RDPAccountant()
    for _ in range(rounds):
        accountant.step(noise_multiplier=noise_multiplier, sample_rate=1.0)
    return float(accountant.get_epsilon(delta))


def _simulate(server_app, client_app, n_clients: int) -> None:
    """Flower's simulation engine (Ray backend) on one CPU, quietly."""
    os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    os.environ.setdefault("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", "0")
    from flwr.simulation import run_simulation

    logging.getLogger("flwr").setLevel(logging.ERROR)
    backend = {
        "client_resources": {"num_cpus": 1, "num_gpus": 0.0},
        "init_args": {
            "num_cpus": 1,
            "include_dashboard": False,
            "log_to_driver": False,
            "logging_level": logging.ERROR,
        },
    }
    run_simulation(server_app, client_app, num_supernodes=n_clients, backend_config=backend)


def _client_rows(datasets, encoder, attribute, pos_label):
    """Each client's encoded features, 0/1 labels and group codes (over the groups' levels)."""
    levels = sorted({v for d in datasets for v in _levels(d.frame[attribute])})
    parts = []
    for ds in datasets:
        y = np.asarray(ds.y)
        group = pd.Categorical(_levels_of(ds.frame[attribute]), categories=levels).codes
        parts.append((encoder.transform(ds.X), (y == pos_label).astype(np.int64), group))
    return parts, levels


def _levels_of(series: pd.Series) -> np.ndarray:
    from raikit._grouping import MISSING

    values = series.astype(object)
    return values.where(values.notna(), MISSING).astype(str).to_numpy()


@validate_params(
    network=Options("logistic", "mlp", "sgd"),
    strategy=Options(*STRATEGIES),
    rounds=Interval(int, 1, None),
    local_epochs=Interval(int, 1, None),
    learning_rate=Interval(float, 0, None, closed="neither"),
    proximal_mu=Interval(float, 0, None),
    fairness=[Options("eqopp"), None],
    attribute=[str, None],
    fair_step=Interval(float, 0, None),
    noise_multiplier=[Interval(float, 0, None, closed="neither"), None],
    clipping_norm=Interval(float, 0, None, closed="neither"),
    delta=Interval(float, 0, 1, closed="neither"),
    random_state=RANDOM_STATE,
)
def federated_train(
    clients,
    *,
    network: str = "logistic",
    strategy: str = "fedavg",
    rounds: int = 10,
    local_epochs: int = 5,
    learning_rate: float = 0.5,
    proximal_mu: float = 0.1,
    fairness: str | None = None,
    attribute: str | None = None,
    fair_step: float = 2.0,
    noise_multiplier: float | None = None,
    clipping_norm: float = 1.0,
    delta: float = 1e-5,
    hidden_layer_sizes=(64,),
    pos_label=None,
    random_state=None,
    progress=None,
) -> FederatedClassifier:
    """Train a binary classifier on federated clients with Flower's simulation engine.

    Parameters
    ----------
    clients : Partition
        The clients' rows (:func:`raikit.federated.partition`); the Dataset needs a binary
        ``target`` and, for ``fairness``, a ``sensitive`` attribute.
    network : {"logistic", "mlp", "sgd"}, default "logistic"
        raikit's torch networks (:mod:`raikit.train`): logistic regression, or a ReLU network
        of ``hidden_layer_sizes``, trained by full-batch gradient steps; or ``"sgd"``:
        scikit-learn's ``SGDClassifier`` (logistic loss) warm-started at the global weights
        each round (``local_epochs`` passes over the rows, step ``learning_rate / 100`` per row;
        FedAvg only).
    strategy : {"fedavg", "fedprox"}, default "fedavg"
        Flower's ``FedAvg`` (average weighted by rows) or ``FedProx`` (each client's loss gets
        ``proximal_mu / 2 * ||w - w_global||^2``).
    rounds : int, default 10
    local_epochs : int, default 5
        Full-batch gradient steps each client takes per round.
    learning_rate : float, default 0.5
    proximal_mu : float, default 0.1
        FedProx's proximal weight.
    fairness : {"eqopp"}, optional
        Reweight each group's positive rows toward equal opportunity from the aggregated
        per-cell losses (module notes).
    attribute : str, optional
        The sensitive attribute the fairness weights and the history's worst group follow
        (default: the first).
    fair_step : float, default 2.0
        Step of the multiplicative reweighting.
    noise_multiplier : float, optional
        Client-level DP with Flower's server-side fixed clipping (module notes); the epsilon is
        in ``privacy_``.
    clipping_norm : float, default 1.0
        The clip of each client's update (with ``noise_multiplier``).
    delta : float, default 1e-5
        The delta at which epsilon is reported.
    hidden_layer_sizes : tuple of int, default (64,)
    pos_label : label, optional
        The positive label (default: inferred for 0/1, False/True, -1/1).
    random_state : int, Generator or None
        Seed of the initial weights.
    progress : callable, optional
        ``progress(round, rounds)`` after every round.

    Returns
    -------
    FederatedClassifier
        Fitted; ``history_`` has one row per round: ``clients``, the rows' mean ``loss`` and
        ``accuracy`` of the global model each client received that round, the
        ``worst_group_positive_loss`` and, with ``fairness``, the largest cell weight.

    Raises
    ------
    ParameterError
        A parameter outside its domain, ``clients`` not a Partition, or an unknown attribute.
    DataError
        A target that is not binary.

    See Also
    --------
    raikit.federated.partition : splits a Dataset's rows among the clients.
    raikit.federated.FederatedClassifier : the trained model.
    raikit.federated.federated_group_metrics : evaluates it per group and per client from the
        clients' counts.
    raikit.train.FairBatchClassifier : the centralised reweighting ``fairness="eqopp"`` follows.

    Examples
    --------
    Flower's simulation starts Ray (ten seconds or more), so the training lines are skipped
    under doctest; the partition and the checks made before the simulation run:

    >>> from raikit.datasets import load_german_credit
    >>> from raikit.federated import federated_train, partition
    >>> clients = partition(load_german_credit(), n_clients=3, concentration=0.5, random_state=0)
    >>> model = federated_train(clients, rounds=5, fairness="eqopp",
    ...                         random_state=0)  # doctest: +SKIP
    >>> model.history_.columns.tolist()  # doctest: +SKIP
    ['round', 'clients', 'loss', 'accuracy', 'worst_group_positive_loss', 'max_weight']
    >>> federated_train(clients, network="sgd", strategy="fedprox")
    Traceback (most recent call last):
    ...
    raikit._errors.ParameterError: federated_train(): network='sgd' ... has no proximal term; ...
    """
    from raikit.federated._partition import Partition
    from raikit.metrics._group_metrics import resolve_pos_label

    if network == "sgd" and strategy == "fedprox":
        raise ParameterError(
            "federated_train(): network='sgd' (scikit-learn's SGDClassifier) has no proximal "
            "term; use strategy='fedavg', or network='logistic' for FedProx."
        )
    if not isinstance(clients, Partition):
        raise ParameterError(
            f"federated_train(): clients must be a Partition (raikit.federated.partition(data, "
            f"...)), got {type(clients).__name__}."
        )
    data = clients.data
    labels = pd.unique(np.asarray(data.y))
    if len(labels) != 2:
        raise DataError(
            f"federated_train(): the target {data.target!r} has {len(labels)} values; federated "
            f"training here is binary. Map the labels to two classes."
        )
    pos = resolve_pos_label(labels, pos_label)
    attribute = _attribute(data, attribute)
    datasets = clients.datasets()
    encoder = federated_encoder(datasets)
    parts, levels = _client_rows(datasets, encoder, attribute, pos)
    seed = int(rng_from(random_state).integers(0, 2**31 - 1))
    initial = _initial(network, parts[0][0].shape[1], hidden_layer_sizes, seed)
    record = _Rounds(len(levels), fairness, fair_step, progress, rounds)
    dp = None
    if noise_multiplier is not None:
        dp = {"noise_multiplier": float(noise_multiplier), "clipping_norm": float(clipping_norm)}
    final = _run(
        clients.n_clients,
        parts,
        initial,
        record,
        (network, hidden_layer_sizes, seed),
        {
            "strategy": strategy,
            "proximal_mu": proximal_mu,
            "dp": dp,
            "rounds": rounds,
            "local_epochs": local_epochs,
            "learning_rate": learning_rate,
        },
    )
    model = FederatedClassifier(network=network, hidden_layer_sizes=hidden_layer_sizes)
    negative = next(v for v in labels if v != pos)
    model.classes_ = np.array([negative, pos])
    model.encoder_, model.tabular_ = encoder, True
    model.n_features_in_ = len(encoder.columns_)
    model.feature_names_in_ = np.asarray(encoder.columns_, dtype=object)
    model.coefs_, model.intercepts_ = _split(final, network)
    model.history_ = pd.DataFrame(record.history)
    model.privacy_ = {}
    if dp is not None:
        model.privacy_ = {
            **dp,
            "epsilon": _epsilon(dp["noise_multiplier"], rounds, delta),
            "delta": delta,
            "accountant": "Opacus RDP, client-level, no sampling amplification",
        }
    return model


def _initial(network, n_features, hidden_layer_sizes, seed) -> list[np.ndarray]:
    """The global model's first weights (zeros for scikit-learn's SGD, as its own start)."""
    if network == "sgd":
        return [np.zeros((n_features, 1)), np.zeros(1)]
    module = build_module(network, n_features, 1, hidden_layer_sizes=hidden_layer_sizes, seed=seed)
    return _join(*module_to_arrays(network, module)[:2])


def _attribute(data, attribute):
    names = list(data.sensitive_names)
    if attribute is None:
        return names[0]
    if attribute not in names:
        raise ParameterError(
            f"federated_train(): attribute={attribute!r} is not a sensitive attribute of the "
            f"Dataset; choose from {names}."
        )
    return attribute


def _run(n_clients, parts, initial, record, model_spec, settings) -> list[np.ndarray]:
    """One Flower simulation; the server's final weights."""
    from flwr.app import ArrayRecord, ConfigRecord
    from flwr.serverapp import ServerApp

    network, hidden, seed = model_spec
    logging.getLogger("flwr").setLevel(logging.ERROR)  # Flower's INFO per round, its deprecations
    strategy = _strategy(
        settings["strategy"], n_clients, settings["proximal_mu"], settings["dp"], record
    )
    server, out = ServerApp(), {}

    @server.main()
    def main(grid, context):
        config = ConfigRecord(
            {"local-epochs": settings["local_epochs"], "learning-rate": settings["learning_rate"]}
        )
        out["result"] = strategy.start(
            grid=grid,
            initial_arrays=ArrayRecord(initial),
            num_rounds=settings["rounds"],
            train_config=config,
            evaluate_fn=record.evaluate,
        )

    _simulate(server, _client_app(parts, network, hidden, seed), n_clients)
    if "result" not in out or len(record.history) < settings["rounds"]:
        raise DataError(
            "federated_train(): Flower's simulation ended before every round finished (see "
            "the log above); a client failed."
        )
    return out["result"].arrays.to_numpy_ndarrays()
