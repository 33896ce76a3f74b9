"""Federated fairness evaluation: each client sends its counts, the server computes the metrics.

Every count metric raikit reports (accuracy, rates, their disparities) is a function of the
confusion counts per group, which are additive over disjoint sets of rows. A client reduces its
rows to one count per (sensitive values, label, prediction) with :meth:`raikit.Dataset.aggregate`;
the server sums the clients' tables and hands them to the same code the DuckDB and Spark backends
use (``counts_from_table`` then the engine's ``_from_counts``): no row is pooled, and with the
noise off every value and interval equals :func:`raikit.metrics.group_metrics` on the pooled rows
(same counts, same bootstrap).

With ``epsilon`` each client adds discrete Laplace noise (OpenDP, scale ``1 / epsilon``) to every
cell of a fixed domain (the sensitive attributes' levels x labels x labels, zeros included, so
the released cells say nothing about which combinations occur). One row changes one cell by one:
each client's release is ``epsilon``-DP for its rows, and the clients' rows are disjoint, so the
whole release is ``epsilon``-DP (parallel composition). The server's intervals account for the
noise: a cell's bootstrap draw is a Gamma with mean the noisy count (clipped at 0) and variance
the count plus the noise variance of the clients' contributions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import numpy as np
import pandas as pd

from raikit._errors import ParameterError
from raikit._recording import recorded
from raikit._validation import CI, RANDOM_STATE, Interval, validate_params
from raikit.metrics import GroupMetricsResult

__all__ = ["FederatedMetricsResult", "client_counts", "federated_group_metrics"]

_Y, _P, _N, _CLIENT = "__y", "__p", "__n", "__client"


@dataclass(frozen=True, eq=False)
class FederatedMetricsResult(GroupMetricsResult):
    """Group metrics computed from clients' counts, and the same metrics per client.

    Everything of :class:`raikit.metrics.GroupMetricsResult` (``table``, ``disparities``,
    ``by_group``, ``difference()``...) over the union of the clients' rows, plus the same
    metrics per client.

    Attributes
    ----------
    table : DataFrame
        Tidy: one row per (attribute, group, metric) with ``value``, ``lower``, ``upper``, over
        the union of the clients' rows (as :class:`raikit.metrics.GroupMetricsResult`).
    disparities : DataFrame
        Tidy: one row per (attribute, metric, method, kind) with ``value``, ``lower``,
        ``upper``.
    task : str
        ``binary``, ``multiclass`` or ``regression``.
    sensitive_names : list of str
        The sensitive attributes.
    ci : float or None
        Confidence level of the intervals (``None``: no intervals).
    n_boot : int
        Bootstrap replicates behind the intervals (drawn from the summed counts).
    findings : tuple of Finding
        Empty or tiny groups, undefined metrics, and the four-fifths rule.
    meta : dict
        The engine's settings plus ``n_clients``, ``epsilon``, ``noise`` (the mechanism, or
        ``None``) and ``partition`` (the column, or the split's description).
    clients : DataFrame
        Tidy: one row per (client, metric) with ``value``, ``lower``, ``upper`` and ``rows``.
    client_disparities : DataFrame
        Differences and ratios of each metric between clients (as ``disparities``).

    See Also
    --------
    raikit.federated.federated_group_metrics : computes it.
    raikit.metrics.GroupMetricsResult : the same result from pooled rows.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from raikit import Dataset
    >>> from raikit.federated import federated_group_metrics, partition
    >>> frame = pd.DataFrame({"y": [1, 0, 1, 0] * 10, "p": [1, 0, 0, 0] * 10,
    ...                       "sex": list("FFMM") * 10, "site": ["a"] * 20 + ["b"] * 20})
    >>> frame.loc[20:, "p"] = frame.loc[20:, "y"]  # site b is always right
    >>> ds = Dataset(frame, target="y", prediction="p", sensitive="sex")
    >>> r = federated_group_metrics(None, partition(ds, by="site"), metrics=["accuracy"],
    ...                             n_boot=100, random_state=0)
    >>> r.clients[["client", "value", "rows"]].values.tolist()
    [['a', 0.75, 20], ['b', 1.0, 20]]
    >>> r.worst_client("accuracy")
    'a'
    >>> r.by_group["accuracy"].tolist()  # F always right; M wrong on site a's positives
    [1.0, 0.75]
    """

    clients: pd.DataFrame = field(default_factory=pd.DataFrame)
    client_disparities: pd.DataFrame = field(default_factory=pd.DataFrame)

    def worst_client(self, metric: str = "accuracy") -> str:
        """The client where ``metric`` is lowest (the client the model serves worst).

        Parameters
        ----------
        metric : str, default "accuracy"
            A metric of ``clients`` where higher is better.

        Returns
        -------
        str
            The client's name.

        Raises
        ------
        ParameterError
            ``metric`` is not one of the result's metrics.

        Examples
        --------
        See the class example.
        """
        rows = self.clients[self.clients["metric"] == metric]
        if rows.empty:
            raise ParameterError(
                f"FederatedMetricsResult.worst_client(): no metric {metric!r}; the metrics are "
                f"{list(pd.unique(self.clients['metric']))}."
            )
        return str(rows.loc[rows["value"].idxmin(), "client"])

    @property
    def summary(self) -> str:
        eps = self.meta.get("epsilon")
        noise = f", counts released with epsilon={eps:g} DP" if eps else ", exact counts"
        worst = ""
        if "accuracy" in set(self.clients.get("metric", [])):
            acc = self.clients[self.clients["metric"] == "accuracy"]
            low = acc.loc[acc["value"].idxmin()]
            worst = f"; lowest accuracy at client {low['client']} ({low['value']:.3f})"
        return (
            f"Federated group metrics from {self.meta.get('n_clients', 0)} clients' counts"
            f"{noise}{worst}."
        )


def _client_table(data, names, target, prediction) -> pd.DataFrame:
    """One client's counts per (sensitive values, label, prediction), from Dataset.aggregate."""
    table = data.aggregate(by=[*names, target, prediction], stats={_N: (None, "count")})
    keys = table.attrs["keys"]
    return table.rename(columns={keys[target]: _Y, keys[prediction]: _P})


def _noisy(table: pd.DataFrame, domain: pd.MultiIndex, epsilon: float) -> pd.DataFrame:
    """The client's counts on the whole domain with discrete Laplace noise (OpenDP)."""
    import opendp.prelude as dp

    dp.enable_features("contrib")
    exact = table.set_index(list(domain.names))[_N].reindex(domain, fill_value=0)
    scale = 1.0 / epsilon
    mechanism = dp.m.make_laplace(
        dp.vector_domain(dp.atom_domain(T=int)), dp.l1_distance(T=int), scale=scale
    )
    released = mechanism([int(v) for v in exact.to_numpy()])
    return exact.set_axis(domain).to_frame(_N).assign(**{_N: released}).reset_index()


def noise_variance(epsilon: float) -> float:
    """Variance of one discrete Laplace draw of scale ``1 / epsilon``."""
    q = math.exp(-epsilon)
    return 2 * q / (1 - q) ** 2


@validate_params(epsilon=[Interval(float, 0, None, closed="neither"), None])
def client_counts(data, *, epsilon=None, domain=None) -> pd.DataFrame:
    """What one client sends: its counts per (sensitive values, label, prediction).

    Parameters
    ----------
    data : Dataset
        The client's rows, with ``target``, ``prediction`` and ``sensitive`` roles.
    epsilon : float, optional
        Add discrete Laplace noise of scale ``1 / epsilon`` to every cell of ``domain``
        (``epsilon``-DP for the client's rows).
    domain : MultiIndex, optional
        The cells to release with noise (needed with ``epsilon``): every combination of the
        sensitive levels, labels and predictions, known to all parties.

    Returns
    -------
    DataFrame
        The sensitive columns, ``__y`` (label), ``__p`` (prediction) and ``__n`` (count).

    Raises
    ------
    ParameterError
        ``epsilon`` without ``domain``, or ``epsilon`` not positive.

    See Also
    --------
    raikit.federated.federated_group_metrics : the server side: sums every client's counts.
    raikit.Dataset.aggregate : the group-by that makes the counts.

    Examples
    --------
    >>> import pandas as pd
    >>> from raikit import Dataset
    >>> from raikit.federated import client_counts
    >>> frame = pd.DataFrame({"y": [1, 0, 1, 1], "p": [1, 0, 0, 1], "sex": list("FFMM")})
    >>> ds = Dataset(frame, target="y", prediction="p", sensitive="sex")
    >>> client_counts(ds).to_dict("records")[:2]
    [{'sex': 'F', '__y': 0, '__p': 0, '__n': 1}, {'sex': 'F', '__y': 1, '__p': 1, '__n': 1}]
    """
    names = list(data.sensitive_names)
    table = _client_table(data, names, data.target, data.prediction)
    if epsilon is None:
        return table
    if domain is None:
        raise ParameterError(
            "client_counts(): epsilon= needs domain= (every cell to release), or the cells "
            "present would reveal which combinations occur."
        )
    return _noisy(table, domain, float(epsilon))


def _reduce(tables: pd.DataFrame, keys: list[str], variance: float | None) -> pd.DataFrame:
    """The server's sum of the clients' counts per key; with noise, the weight columns that
    carry each cell's noisy count and its variance into the engine's bootstrap."""
    grouped = tables.groupby([*keys, _Y, _P], dropna=False, sort=False)[_N]
    summed = grouped.agg(["sum", "size"]).reset_index()
    if variance is None:
        return summed.rename(columns={"sum": _N}).drop(columns="size")
    noisy = summed["sum"].to_numpy(float)
    clipped = np.maximum(noisy, 0.0)
    return summed.drop(columns=["sum", "size"]).assign(
        **{
            _N: np.rint(clipped).astype(np.int64),
            "__w": clipped,
            "__w2": np.where(clipped > 0, clipped + summed["size"].to_numpy() * variance, 0.0),
            "__bad_w": 0,
        }
    )


def _metrics_from(tables, keys, columns, variance, settings) -> GroupMetricsResult:
    """The engine's group metrics from the summed counts (the DuckDB and Spark backends' path)."""
    from raikit.metrics._duckdb import counts_from_table
    from raikit.metrics._group_metrics import _from_counts

    aggregated = counts_from_table(
        _reduce(tables, keys, variance),
        source="the clients' counts",
        sensitive=keys,
        score=None,
        score_bins=0,
        backend="federated",
        weight=None if variance is None else "DP noise",
        **columns,
    )
    return _from_counts(aggregated, **settings)


def _client_view(result: GroupMetricsResult) -> tuple[pd.DataFrame, pd.DataFrame]:
    table = result.table[result.table["attribute"] == _CLIENT]
    sizes = result.group_sizes
    rows = (
        sizes.xs(_CLIENT, level="attribute")
        if _CLIENT in sizes.index.get_level_values(0)
        else sizes
    )
    clients = table[["group", "metric", "value", "lower", "upper"]].rename(
        columns={"group": "client"}
    )
    clients = clients.assign(rows=clients["client"].map(rows).astype("int64")).reset_index(
        drop=True
    )
    disparities = result.disparities[result.disparities["attribute"] == _CLIENT]
    return clients, disparities.assign(attribute="client").reset_index(drop=True)


@recorded("federated.group_metrics")
@validate_params(
    epsilon=[Interval(float, 0, None, closed="neither"), None],
    ci=[CI, None],
    n_boot=Interval(int, 1, None),
    random_state=RANDOM_STATE,
    min_group_size=Interval(int, 1, None),
)
def federated_group_metrics(
    model,
    clients,
    *,
    metrics=None,
    epsilon=None,
    domains=None,
    ci=0.95,
    n_boot=1000,
    random_state=None,
    pos_label=None,
    min_group_size=30,
    ledger=None,
) -> FederatedMetricsResult:
    """Group metrics of a model over federated clients, computed from their counts only.

    Each client predicts its own rows and sends its counts per (sensitive values, label,
    prediction) (:func:`client_counts`); the server sums them and derives every count metric
    and disparity with bootstrap intervals, overall, per group and per client. With
    ``epsilon=None`` the values and intervals equal :func:`raikit.metrics.group_metrics` on the
    pooled rows with the same ``random_state``.

    Parameters
    ----------
    model : estimator or None
        A fitted classifier each client applies to its rows; ``None`` uses the Dataset's
        ``prediction`` column.
    clients : Partition
        The clients' rows (:func:`raikit.federated.partition`); the Dataset needs ``target`` and
        ``sensitive`` roles. A lazy Dataset partitioned by a column is never loaded: every
        client's counts come from one aggregate grouped by client, where the rows live.
    metrics : list of str, optional
        Count metrics (default: all of them).
    epsilon : float, optional
        Differential privacy of the released counts: each client adds discrete Laplace noise of
        scale ``1 / epsilon`` to every cell (see the module notes); the intervals widen to
        account for it. The noise is OpenDP's (not seeded: a recorded seed would let anyone
        subtract it).
    domains : dict, optional
        With ``epsilon`` (required then): the possible values of every sensitive attribute and
        of the target, declared without looking at the data (``{"sex": ["F", "M"], "y": [0,
        1]}``). Every combination is released, zeros included; a row outside the domain is not
        counted.
    ci : float or None, default 0.95
        Confidence level of the intervals.
    n_boot : int, default 1000
        Bootstrap replicates (drawn from the counts, cheap).
    random_state : int, Generator or None
        Seed of the bootstrap.
    pos_label : label, optional
        The positive label.
    min_group_size : int, default 30
        Groups smaller than this are flagged.
    ledger : Ledger, optional
        Record the result as evidence.

    Returns
    -------
    FederatedMetricsResult

    Raises
    ------
    ParameterError
        A parameter outside its domain, ``clients`` is not a Partition, ``model=None`` with no
        prediction column, or ``epsilon`` without ``domains``.

    See Also
    --------
    raikit.federated.FederatedMetricsResult : the result, per group and per client.
    raikit.federated.client_counts : what each client sends.
    raikit.federated.partition : the clients.
    raikit.metrics.group_metrics : the same metrics on pooled rows.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from raikit import Dataset
    >>> from raikit.federated import federated_group_metrics, partition
    >>> rng = np.random.default_rng(0)
    >>> frame = pd.DataFrame({"y": rng.integers(0, 2, 600), "sex": rng.choice(["F", "M"], 600),
    ...                       "region": rng.choice(["north", "south", "west"], 600)})
    >>> frame["p"] = np.where(rng.random(600) < 0.8, frame["y"], 1 - frame["y"])
    >>> ds = Dataset(frame, target="y", prediction="p", sensitive="sex")
    >>> r = federated_group_metrics(None, partition(ds, by="region"), metrics=["accuracy"],
    ...                             n_boot=200, random_state=0)
    >>> from raikit.metrics import group_metrics
    >>> pooled = group_metrics(frame["y"], frame["p"], sensitive_features=frame["sex"],
    ...                        metrics=["accuracy"], n_boot=200, random_state=0)
    >>> bool(np.allclose(r.by_group["accuracy"], pooled.by_group["accuracy"]))
    True
    >>> sorted(r.clients["client"])
    ['north', 'south', 'west']
    """
    from raikit.federated._partition import Partition

    if not isinstance(clients, Partition):
        raise ParameterError(
            f"federated_group_metrics(): clients must be a Partition (raikit.federated.partition"
            f"(data, by=...)), got {type(clients).__name__}."
        )
    data = clients.data
    if model is None and data.prediction is None:
        raise ParameterError(
            "federated_group_metrics(): model=None needs a Dataset with a prediction column; "
            "pass a fitted model or Dataset(..., prediction=...)."
        )
    names = list(data.sensitive_names)
    _check_domains(domains, epsilon, [*names, data.target])
    tables, target, prediction = _released_tables(
        model, clients, names, epsilon, pos_label, domains
    )
    variance = None if epsilon is None else noise_variance(float(epsilon))
    settings = {"metrics": metrics, "ci": ci, "n_boot": n_boot, "task": "auto"}
    settings["random_state"] = random_state
    columns = {"target": target, "prediction": prediction, "pos_label": pos_label}
    columns["missing_group"] = data.missing_group
    groups = _metrics_from(
        tables, names, columns, variance, {**settings, "min_group_size": min_group_size}
    )
    by_client = _metrics_from(
        tables, [_CLIENT], columns, variance, {**settings, "min_group_size": 1}
    )
    client_table, client_disparities = _client_view(by_client)
    meta = {
        **groups.meta,
        "n_clients": clients.n_clients,
        "epsilon": epsilon,
        "noise": "discrete Laplace (OpenDP), scale 1/epsilon per cell" if epsilon else None,
        "partition": clients.by
        or f"{clients.n_clients} clients, concentration={clients.concentration}",
    }
    values = {f.name: getattr(groups, f.name) for f in fields(groups)}
    values["meta"] = meta
    return FederatedMetricsResult(
        **values, clients=client_table, client_disparities=client_disparities
    )


def _check_domains(domains, epsilon, columns) -> None:
    if epsilon is None:
        return
    missing = [c for c in columns if not isinstance(domains, dict) or c not in domains]
    if missing:
        raise ParameterError(
            f"federated_group_metrics(): epsilon= needs domains= declaring the possible values "
            f"of {missing} (e.g. domains={{{missing[0]!r}: [...]}}); reading them off the rows "
            f"would reveal which values occur."
        )


def _released_tables(model, clients, names, epsilon, pos_label, domains):
    """Every client's release (its counts, noisy with ``epsilon``) tagged with its name, and the
    label and prediction columns' names."""
    if clients.client is None:  # a lazy Dataset: one aggregate grouped by client
        return _lazy_released(model, clients, names, epsilon, pos_label, domains)
    datasets = clients.datasets()
    if model is not None:
        datasets = [d.with_predictions(model, score=None, pos_label=pos_label) for d in datasets]
    target, prediction = datasets[0].target, datasets[0].prediction
    domain = None
    if epsilon is not None:  # the declared domain: reading it off the rows would leak them
        levels = [list(domains[n]) for n in names] + [list(domains[target])] * 2
        domain = pd.MultiIndex.from_product(levels, names=[*names, _Y, _P])
    released = []
    for name, ds in zip(clients.names, datasets, strict=True):  # one release per client
        table = client_counts(ds, epsilon=epsilon, domain=domain)
        released.append(table.assign(**{_CLIENT: name}))
    return pd.concat(released, ignore_index=True), target, prediction


def _lazy_released(model, clients, names, epsilon, pos_label, domains):
    """:func:`_released_tables` of a lazy Dataset partitioned by a column: every client's counts
    from one aggregate grouped by (client, sensitive values, label, prediction), computed where
    the rows live (a model's predictions are streamed through it first)."""
    data = clients.data
    if model is not None:
        data = data.with_predictions(model, score=None, pos_label=pos_label)
    target, prediction = data.target, data.prediction
    table = data.aggregate(
        by=list(dict.fromkeys([clients.by, *names, target, prediction])),
        stats={_N: (None, "count")},
    )
    keys = table.attrs["keys"]
    client = table[keys[clients.by]].map(str)
    table = table.rename(columns={keys[target]: _Y, keys[prediction]: _P})
    table = table[[*(keys[n] for n in names), _Y, _P, _N]].set_axis([*names, _Y, _P, _N], axis=1)
    table[_CLIENT] = client.to_numpy()
    if epsilon is not None:
        levels = [list(domains[n]) for n in names] + [list(domains[target])] * 2
        domain = pd.MultiIndex.from_product(levels, names=[*names, _Y, _P])
        released = [  # one noisy release per client (a handful), as each client would send
            _noisy(part.drop(columns=_CLIENT), domain, float(epsilon)).assign(**{_CLIENT: name})
            for name, part in table.groupby(_CLIENT, sort=False)
        ]
        table = pd.concat(released, ignore_index=True)
    return table, target, prediction
