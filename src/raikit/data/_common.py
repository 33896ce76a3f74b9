"""Shared machinery of the data stage: column encodings, group families, grouped statistics.

Everything here works on whole columns at once: per-group statistics come from ``np.bincount`` on
integer group codes, per-group quantiles from one sort, never from a Python loop over rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from raikit._aggregate import small_codes
from raikit._errors import DataError
from raikit._grouping import GroupEncoding, encode_groups

__all__ = [
    "Family",
    "column_kind",
    "encode_categories",
    "encode_sensitive",
    "families",
    "model_frame",
    "numeric_values",
    "sklearn_seed",
    "small_codes",
]


@dataclass(frozen=True)
class Family:
    """One way of cutting the rows into groups: the whole population, one attribute, or the
    intersection of all attributes."""

    attribute: str
    codes: np.ndarray  # int64 group code per row
    labels: list[str]  # label of each code

    @property
    def n_groups(self) -> int:
        return len(self.labels)

    @property
    def small_codes(self) -> np.ndarray:
        """The codes in the narrowest unsigned type: a stable argsort of them is a radix sort."""
        return small_codes(self.codes, self.n_groups)


def families(
    encoding: GroupEncoding | None, n_rows: int, *, intersection: bool = True
) -> list[Family]:
    """``overall`` first, then each sensitive attribute, then (with 2+) their intersection."""
    out = [Family("overall", np.zeros(n_rows, dtype=np.int64), ["overall"])]
    if encoding is None:
        return out
    for i, name in enumerate(encoding.names):
        out.append(Family(name, encoding.codes[i], encoding.labels(i)))
    if intersection and len(encoding.names) > 1:
        out.append(
            Family(encoding.intersection_name, encoding.intersection_codes, encoding.labels())
        )
    return out


def column_kind(series: pd.Series) -> str:
    """A cheap kind: numeric, boolean, categorical, datetime or text (no full scan of values
    except for object columns)."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if isinstance(dtype, pd.CategoricalDtype):
        return "categorical"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    return "categorical"  # strings: treated as categories (high-cardinality ones are trimmed)


def numeric_values(series: pd.Series) -> np.ndarray:
    """Float values of a numeric column, missing values as NaN."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        raise DataError(f"Column {series.name!r} is categorical, not numeric.")
    try:
        return series.to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError) as error:
        raise DataError(
            f"Column {series.name!r} cannot be read as numbers ({error}); declare it as a "
            f"category or convert it with pd.to_numeric."
        ) from error


def encode_categories(series: pd.Series, levels: pd.Index | None = None):
    """Integer codes (-1 for missing) and the levels of a categorical-like column.

    With ``levels`` given, values outside them get code ``len(levels)`` (an "unseen" bucket).
    """
    if levels is None:
        if isinstance(series.dtype, pd.CategoricalDtype):
            return series.cat.codes.to_numpy().astype(np.int64), pd.Index(series.cat.categories)
        codes, uniques = pd.factorize(series, sort=False)
        return codes.astype(np.int64), pd.Index(uniques)
    if isinstance(series.dtype, pd.CategoricalDtype):
        own = pd.Index(series.cat.categories)
        lookup = levels.get_indexer(own)
        lookup = np.where(lookup < 0, len(levels), lookup)
        raw = series.cat.codes.to_numpy().astype(np.int64)
        return np.where(raw < 0, -1, lookup[np.maximum(raw, 0)]), levels
    codes = levels.get_indexer(series)
    missing = series.isna().to_numpy()
    codes = np.where(codes < 0, len(levels), codes)
    return np.where(missing, -1, codes).astype(np.int64), levels


def encode_sensitive(ds) -> GroupEncoding:
    """The group encoding of a Dataset's sensitive attributes."""
    return encode_groups(ds.sensitive, missing_group=ds.missing_group)


def model_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Features a histogram gradient-boosting model can read: text columns become categories,
    all-missing columns are dropped."""
    out = {}
    for name in frame.columns:
        series = frame[name]
        if series.notna().sum() == 0:
            continue  # an all-missing column carries nothing (and breaks histogram binning)
        if isinstance(series.dtype, pd.CategoricalDtype):
            if len(series.cat.categories) > 250:
                series = series.cat.codes.astype(float).where(series.notna())
            out[name] = series
        elif pd.api.types.is_bool_dtype(series.dtype):
            out[name] = series.astype(float)
        elif pd.api.types.is_numeric_dtype(series.dtype):
            out[name] = series
        elif pd.api.types.is_datetime64_any_dtype(series.dtype):
            out[name] = series.astype("int64").astype(float).where(series.notna())
        else:
            codes, uniques = pd.factorize(series)
            if len(uniques) > 250:
                out[name] = pd.Series(np.where(codes < 0, np.nan, codes), index=series.index)
            else:
                out[name] = pd.Series(
                    pd.Categorical.from_codes(codes, categories=pd.Index(uniques).astype(str)),
                    index=series.index,
                )
    return pd.DataFrame(out, index=frame.index)


def sklearn_seed(random_state) -> int | None:
    """The integer seed (or None) to hand scikit-learn for a raikit ``random_state``.

    Integers and None pass through (so a seed keeps giving the results it gave before); a numpy
    Generator or RandomState yields one integer drawn from it (scikit-learn takes no Generator).

    Examples
    --------
    >>> sklearn_seed(3), sklearn_seed(None)
    (3, None)
    >>> isinstance(sklearn_seed(np.random.default_rng(0)), int)
    True
    """
    if random_state is None or isinstance(random_state, int | np.integer):
        return None if random_state is None else int(random_state)
    from raikit._validation import rng_from

    return int(rng_from(random_state).integers(2**31 - 1))


def untested_groups_finding(grouped: pd.DataFrame, min_group_size: int, test: str):
    """An info finding naming the groups (rows of ``grouped`` with a NaN ``p_value``) too small
    to test for ``test`` (e.g. "drift"), or None when every group was tested."""
    from raikit._result import Finding

    untested = grouped[grouped["p_value"].isna()].drop_duplicates(["attribute", "group"])
    if not len(untested):
        return None
    names = ", ".join(f"{r.attribute}={r.group}" for r in untested.head(8).itertuples())
    return Finding(
        "info",
        f"{len(untested)} group(s) too small to test for {test}",
        f"Fewer than {min_group_size} rows on one side: {names}"
        + (" …" if len(untested) > 8 else "")
        + ".",
    )
