"""Row positions of a stratified sample: :meth:`raikit.Dataset.sample` for checks that must
know which rows of their data they explain or attack (SHAP, membership inference)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from raikit.metrics._stats import MIN_GROUP_SIZE

__all__ = ["sample_positions", "sampling_note"]


def sample_positions(
    ds, n: int, *, random_state, min_per_group: int = MIN_GROUP_SIZE
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """``(positions, weights, sampling)`` of a sample of about ``n`` rows of ``ds`` stratified
    by the intersection of its sensitive attributes (:meth:`raikit.Dataset.sample`: every group
    keeps ``min(min_per_group, its size)`` rows).

    ``positions`` are sorted row positions in ``ds``; ``weights`` their stratum's weight
    (population / sampled; the Dataset's own ``weight`` role is left out); ``sampling`` the
    per-stratum record of :meth:`raikit.Dataset.sample`.

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
    column = ds._free_name("row_position", None)
    marked = ds.replace(
        ds.frame.assign(**{column: np.arange(ds.n_rows)}),
        features=list(ds.feature_names),
        weight=None,
    )
    sample = marked.sample(
        n, stratify="sensitive", min_per_group=min_per_group, random_state=random_state
    )
    positions = sample.frame[column].to_numpy(np.int64)
    order = np.argsort(positions, kind="stable")
    return positions[order], np.asarray(sample.weights, dtype=float)[order], sample.sampling


def sampling_note(sampled: int, population: int) -> str:
    """The clause a summary adds when a check ran on a stratified sample.

    Examples
    --------
    >>> sampling_note(2000, 1_000_000)
    'on a sample of 2,000 of 1,000,000 rows, stratified by group and reweighted'
    """
    return f"on a sample of {sampled:,} of {population:,} rows, stratified by group and reweighted"
