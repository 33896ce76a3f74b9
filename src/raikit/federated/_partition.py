"""Clients' partitions of a Dataset: one client per value of a column, or a seeded split of the
rows (independent, or non-IID by a Dirichlet draw over the label)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from raikit._errors import ColumnError, DataError, ParameterError
from raikit._validation import RANDOM_STATE, Interval, check_dataset, rng_from, validate_params

__all__ = ["Partition", "partition"]

_MAX_DRAWS = 100  # Dirichlet draws tried before giving up on every client getting rows


@dataclass(frozen=True, eq=False)
class Partition:
    """Which client holds which rows of a Dataset.

    Attributes
    ----------
    data : Dataset
        The whole table (in a simulation, the union of the clients' rows).
    client : ndarray of int or None
        The client of each row (``0 .. n_clients - 1``); ``None`` for a lazy Dataset
        partitioned by a column, whose rows are not read (``counts`` holds each client's rows).
    names : list of str
        The clients' names (the column's values, or ``"client 0"``, ``"client 1"``, ...).
    by : str or None
        The column the partition follows, if any.
    concentration : float or None
        The Dirichlet concentration of a label-skewed split, if any.
    counts : ndarray of int or None
        Rows per client of a lazy Dataset (from one aggregate), else None.

    See Also
    --------
    raikit.federated.partition : makes it.
    raikit.federated.federated_train : trains on the clients.
    raikit.federated.federated_group_metrics : evaluates a model from the clients' counts.

    Examples
    --------
    >>> import pandas as pd
    >>> from raikit import Dataset
    >>> from raikit.federated import partition
    >>> ds = Dataset(pd.DataFrame({"x": range(6), "y": [0, 1] * 3, "sex": list("FMFMFM"),
    ...                            "region": list("aabbbc")}), target="y", sensitive="sex")
    >>> p = partition(ds, by="region")
    >>> p.names, p.sizes().tolist()
    (['a', 'b', 'c'], [2, 3, 1])
    >>> [len(d) for d in p.datasets()]
    [2, 3, 1]
    """

    data: object
    client: np.ndarray | None
    names: list
    by: str | None = None
    concentration: float | None = None
    counts: np.ndarray | None = None  # rows per client of a lazy Dataset (``client`` is None)

    @property
    def n_clients(self) -> int:
        """How many clients hold rows."""
        return len(self.names)

    def sizes(self) -> pd.Series:
        """Rows per client, indexed by the clients' names."""
        if self.client is None:
            counts = self.counts
        else:
            counts = np.bincount(self.client, minlength=self.n_clients)
        return pd.Series(counts, index=pd.Index(self.names, name="client"), name="rows")

    def label_shares(self) -> pd.DataFrame:
        """Share of each label within each client (rows: clients, columns: labels)."""
        if self.client is None:  # a lazy Dataset: one aggregate by (client, label)
            target = self.data.target
            found = self.data.aggregate(by=[self.by, target], stats={"__n": (None, "count")})
            keys = found.attrs["keys"]
            table = found.assign(client=found[keys[self.by]].map(str)).pivot_table(
                index="client", columns=keys[target], values="__n", aggfunc="sum", fill_value=0
            )
            table = table.reindex(self.names).set_axis(
                pd.CategoricalIndex(self.names, categories=self.names), axis=0
            )
        else:
            table = pd.crosstab(
                pd.Categorical.from_codes(self.client, self.names), np.asarray(self.data.y)
            )
        return table.div(table.sum(axis=1), axis=0).rename_axis(index="client", columns="label")

    def datasets(self) -> list:
        """Each client's rows as a Dataset with the whole table's roles (a lazy Dataset's rows
        are loaded: :meth:`raikit.Dataset.materialize`)."""
        client = self.client
        if client is None:
            client = pd.factorize(self.data.frame[self.by], sort=True)[0].astype(np.int64)
        order = np.argsort(client, kind="stable")
        bounds = np.cumsum(np.bincount(client, minlength=self.n_clients))[:-1]
        return [self.data.subset(rows) for rows in np.split(order, bounds)]


def _by_column(data, by: str) -> tuple[np.ndarray, list]:
    if by not in data.columns:
        raise ColumnError(
            f"partition(): by={by!r} is not a column of the Dataset; available columns: "
            f"{list(data.columns)[:20]}."
        )
    values = data.frame[by]
    if values.isna().any():
        raise DataError(
            f"partition(): column {by!r} has {int(values.isna().sum())} missing value(s); every "
            f"row needs a client. Fill them (e.g. with 'unknown') or drop those rows."
        )
    codes, uniques = pd.factorize(values, sort=True)
    return codes.astype(np.int64), [str(u) for u in uniques]


def _lazy_by_column(data, by: str) -> tuple[np.ndarray, list]:
    """Rows per client and the clients' names of a lazy Dataset, from one aggregate."""
    if by not in data.columns:
        raise ColumnError(
            f"partition(): by={by!r} is not a column of the Dataset; available columns: "
            f"{list(data.columns)[:20]}."
        )
    found = data.aggregate(by=by, stats={"__n": (None, "count")})
    values = found[found.attrs["keys"][by]]
    if values.isna().any():
        missing = int(found.loc[values.isna(), "__n"].sum())
        raise DataError(
            f"partition(): column {by!r} has {missing} missing value(s); every row needs a "
            f"client. Fill them (e.g. with 'unknown') or drop those rows."
        )
    return found["__n"].to_numpy(np.int64), [str(v) for v in values]


def _dirichlet(labels: np.ndarray, n_clients: int, concentration: float, rng) -> np.ndarray:
    """Each label's rows split among clients in Dirichlet(concentration) proportions, redrawn until every
    client holds at least two rows."""
    codes = pd.factorize(labels, sort=True)[0]
    n_labels = codes.max() + 1
    order = np.argsort(codes, kind="stable")
    per_label = np.bincount(codes, minlength=n_labels)
    for _ in range(_MAX_DRAWS):
        shares = rng.dirichlet(
            np.full(n_clients, concentration), size=n_labels
        )  # (labels, clients)
        quota = np.floor(shares * per_label[:, None]).astype(np.int64)
        quota[:, -1] = per_label - quota[:, :-1].sum(axis=1)  # the rest to the last client
        if (quota.sum(axis=0) >= 2).all():
            break
    else:
        raise DataError(
            f"partition(): with concentration={concentration} and n_clients={n_clients}, "
            f"{_MAX_DRAWS} Dirichlet draws each left a client with fewer than two rows; raise "
            "concentration or lower n_clients."
        )
    # Rows of each label in a random order, handed out to the clients by their quotas.
    shuffled = order[np.lexsort((rng.random(len(codes)), codes[order]))]
    client_of_sorted = np.repeat(np.tile(np.arange(n_clients), n_labels), quota.ravel())
    client = np.empty(len(codes), dtype=np.int64)
    client[shuffled] = client_of_sorted
    return client


@validate_params(
    by=[str, None],
    n_clients=[Interval(int, 2, None), None],
    concentration=[Interval(float, 0, None, closed="neither"), None],
    random_state=RANDOM_STATE,
)
def partition(data, *, by=None, n_clients=None, concentration=None, random_state=None) -> Partition:
    """Split a Dataset's rows among federated clients.

    Parameters
    ----------
    data : Dataset
        The rows to split (with a ``target`` for a label-skewed split).
    by : str, optional
        A column whose values are the clients (a region, a hospital): one client per value. On
        a lazy Dataset the clients and their sizes come from one aggregate; no row is read.
    n_clients : int, optional
        Without ``by``: how many clients get rows. With ``concentration`` the split is non-IID by label;
        without, each row goes to a client uniformly at random.
    concentration : float, optional
        Concentration of the Dirichlet draw of each label's shares among clients (the usual
        non-IID benchmark split): small values (0.1) give clients few labels, large (100) an
        almost IID split.
    random_state : int, Generator or None
        Seed of the split.

    Returns
    -------
    Partition

    Raises
    ------
    ParameterError
        Neither or both of ``by`` and ``n_clients``; ``concentration`` with ``by``.
    ColumnError
        ``by`` is not a column.
    DataError
        ``by`` has missing values, or the draw cannot give every client two rows.

    See Also
    --------
    raikit.federated.Partition : the result: each row's client.
    raikit.federated.federated_train : trains on the clients.
    raikit.federated.federated_group_metrics : evaluates a model from the clients' counts.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from raikit import Dataset
    >>> from raikit.federated import partition
    >>> frame = pd.DataFrame({"x": np.arange(400), "y": np.repeat([0, 1], 200),
    ...                       "sex": np.tile(["F", "M"], 200)})
    >>> ds = Dataset(frame, target="y", sensitive="sex")
    >>> p = partition(ds, n_clients=4, concentration=0.3, random_state=0)
    >>> int(p.sizes().sum()), p.n_clients
    (400, 4)
    >>> bool((p.label_shares().max(axis=1) > 0.6).any())  # some client is skewed
    True
    """
    data = check_dataset(data, caller="partition")
    if (by is None) == (n_clients is None):
        raise ParameterError(
            "partition(): pass either by=<column> (one client per value) or n_clients=<int> "
            "(a seeded split), not both and not neither."
        )
    if by is not None:
        if concentration is not None:
            raise ParameterError(
                "partition(): concentration= (a Dirichlet label split) needs n_clients=, not by=; a "
                "column partition is fixed by the column's values."
            )
        if data.is_lazy:  # the clients are the column's values, counted where the rows live
            counts, names = _lazy_by_column(data, by)
            return Partition(data, None, names, by=by, counts=counts)
        client, names = _by_column(data, by)
        return Partition(data, client, names, by=by)
    n = data.n_rows
    if n < 2 * n_clients:
        raise DataError(
            f"partition(): {n} rows cannot give {n_clients} clients two rows each; lower n_clients."
        )
    rng = rng_from(random_state)
    if concentration is None:
        client = rng.permutation(np.arange(n) % n_clients)
    else:
        check_dataset(data, need=["target"], caller="partition")
        client = _dirichlet(np.asarray(data.y), n_clients, float(concentration), rng)
    return Partition(
        data, client, [f"client {i}" for i in range(n_clients)], concentration=concentration
    )
