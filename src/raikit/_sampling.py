"""The rows a check needs: a stratified sample drawn where the rows live.

:meth:`raikit.Dataset.sample` draws it (in memory, or in DuckDB / Spark for a lazy Dataset);
:func:`sample_rows` is where the checks that must know which rows they explain or attack (SHAP,
membership inference, evasion, shape constraints) get it, and :func:`sampling_note` is what
their summaries say about it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from raikit.metrics._stats import MIN_GROUP_SIZE

__all__ = ["sample_positions", "sample_rows", "sampling_note"]


def sample_positions(
    ds, n: int, *, random_state, min_per_group: int = MIN_GROUP_SIZE
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """``(positions, weights, sampling)`` of a sample of about ``n`` rows of ``ds`` stratified
    by the intersection of its sensitive attributes (:meth:`raikit.Dataset.sample`: every group
    keeps ``min(min_per_group, its size)`` rows).

    ``positions`` are sorted row positions in ``ds``; ``weights`` their stratum's weight
    (population / sampled; the Dataset's own ``weight`` role is left out); ``sampling`` the
    per-stratum record of :meth:`raikit.Dataset.sample`. No row is copied: the rows of an
    in-memory Dataset are only ranked.

    Examples
    --------
    >>> import pandas as pd
    >>> from raikit import Dataset
    >>> frame = pd.DataFrame({"x": range(100), "s": ["a"] * 98 + ["b"] * 2})
    >>> ds = Dataset(frame, target=None, sensitive="s")
    >>> rows, weights, sampling = sample_positions(ds, 10, random_state=0, min_per_group=2)
    >>> rows[-2:].tolist(), weights[-2:].tolist()
    ([98, 99], [1.0, 1.0])
    >>> sampling[["s", "population", "sampled"]].values.tolist()
    [['a', 98, 8], ['b', 2, 2]]
    """
    ds.materialize("a stratified sample's row positions")
    return ds._sample_positions(
        n, stratify="sensitive", min_per_group=min_per_group, random_state=random_state
    )


def sample_rows(
    ds, n: int, *, random_state, purpose: str, min_per_group: int = MIN_GROUP_SIZE
) -> tuple:
    """``(data, positions, weights, sampling)``: the rows of ``ds`` a check needs, as row
    positions in an in-memory Dataset ``data``.

    At most ``n`` rows (or ``n`` is None): every row, unweighted (``weights`` and ``sampling``
    are None); a lazy ``ds`` is loaded, whatever ``raikit.dataset.MATERIALIZE_LIMIT`` when ``n``
    bounds it. More rows: a sample of about ``n`` stratified by the intersection of the
    sensitive attributes. In memory ``data`` is ``ds`` and ``positions`` those of
    :func:`sample_positions`; a lazy ``ds`` is sampled where its rows live (no other row is
    loaded) and ``data`` is the sample (``positions`` all of its rows), with ``ds``'s roles
    (its own ``weight`` role included). ``weights`` are the strata's (population / sampled;
    the Dataset's own weights left out, as in :func:`sample_positions`).

    Examples
    --------
    >>> import pandas as pd
    >>> from raikit import Dataset
    >>> frame = pd.DataFrame({"x": range(100), "s": ["a"] * 98 + ["b"] * 2})
    >>> ds = Dataset(frame, target=None, sensitive="s")
    >>> data, rows, weights, sampling = sample_rows(ds, 10, random_state=0, purpose="a check",
    ...                                             min_per_group=2)
    >>> data is ds, rows[-2:].tolist(), weights[-2:].tolist()
    (True, [98, 99], [1.0, 1.0])
    >>> sample_rows(ds, 500, random_state=0, purpose="a check")[2:]
    (None, None)
    """
    if n is None or ds.n_rows <= n:
        ds.materialize(purpose, max_rows=None if n is None else 0)
        return ds, np.arange(ds.n_rows), None, None
    if ds._cache is not None:  # rows in memory (a lazy Dataset already loaded too)
        positions, weights, sampling = sample_positions(
            ds, n, random_state=random_state, min_per_group=min_per_group
        )
        return ds, positions, weights, sampling
    features = list(ds.feature_names)
    plain = ds if ds.weight is None else ds.replace(weight=None, features=features)
    sample = plain.sample(
        n, stratify="sensitive", min_per_group=min_per_group, random_state=random_state
    )
    weights, sampling = np.asarray(sample.weights, dtype=float), sample.sampling
    if ds.weight is not None:  # the rows keep their own weights as the weight role
        sample = sample.replace(weight=ds.weight, features=features)
    return sample, np.arange(sample.n_rows), weights, sampling


def sampling_note(sampled: int, population: int) -> str:
    """The clause a summary adds when a check ran on a stratified sample.

    Examples
    --------
    >>> sampling_note(2000, 1_000_000)
    'on a sample of 2,000 of 1,000,000 rows, stratified by group and reweighted'
    """
    return f"on a sample of {sampled:,} of {population:,} rows, stratified by group and reweighted"
