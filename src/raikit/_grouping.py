"""Encode sensitive attributes as integer group codes, fast and without a Python loop over rows.

The metrics engine and :class:`raikit.Dataset` share this code: every slice (one attribute alone, or the
intersection of several) becomes an ``int64`` code per row plus a table of labels, so that per-slice
statistics are one ``np.bincount`` away.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from raikit._errors import DataError, ParameterError

__all__ = [
    "MISSING",
    "GroupEncoding",
    "SliceKey",
    "encode_groups",
    "factorize",
    "fill_missing",
    "join_attributes",
    "to_sensitive_frame",
]

MISSING = "(missing)"
"""The label of missing sensitive values wherever they are grouped rather than refused.

The one missing-value policy: :func:`encode_groups` refuses a missing sensitive value unless the
caller names the group it joins (``missing_group=``, a Dataset's ``missing_group``); code that
must group every row (stratified sampling and splitting) names this label.
"""

_AND = " & "
"""What joins the parts of an intersection: ``sex & race``, ``Female & Black``, ``sex=F & race=A``."""


def join_attributes(names) -> str:
    """The ``attribute`` of an intersection in tables: its attributes' names, ``"sex & race"``.

    Examples
    --------
    >>> join_attributes(["sex", "race"])
    'sex & race'
    """
    return _AND.join(str(name) for name in names)


# Above this many combinations the intersection is compressed with np.unique instead of a dense table.
_DENSE_LIMIT = 1 << 24


def _as_column(values):
    """An array of a list's values that keeps missing values missing: ``np.asarray(["a", nan])``
    would turn NaN into the string ``"nan"`` (a group of its own)."""
    if isinstance(values, list | tuple) and not any(isinstance(v, list | tuple) for v in values):
        return pd.Series(list(values), dtype=object).infer_objects().to_numpy()
    return np.asarray(values)


def to_sensitive_frame(sensitive, n_rows: int | None = None) -> pd.DataFrame:
    """Turn what a user passes as ``sensitive`` into a DataFrame with one column per attribute.

    Accepts a DataFrame, a Series, a dict of arrays, a 1-D array (one attribute named ``"sensitive"``)
    or a 2-D array (columns ``sensitive_0``, ``sensitive_1``, ...).
    """
    if sensitive is None:
        raise ParameterError(
            "No sensitive attribute was given. Pass sensitive_features=<array, Series or "
            "DataFrame> with one value per row, e.g. sensitive_features=df['sex']."
        )
    if type(sensitive).__module__.startswith("polars"):
        sensitive = sensitive.to_pandas()
    if isinstance(sensitive, pd.DataFrame):
        frame = sensitive
    elif isinstance(sensitive, pd.Series):
        frame = sensitive.to_frame(
            name=sensitive.name if sensitive.name is not None else "sensitive"
        )
    elif isinstance(sensitive, Mapping):
        frame = pd.DataFrame({str(k): _as_column(v) for k, v in sensitive.items()})
    else:
        array = _as_column(sensitive)
        if array.ndim == 1:
            frame = pd.DataFrame({"sensitive": array})
        elif array.ndim == 2:
            frame = pd.DataFrame(array, columns=[f"sensitive_{i}" for i in range(array.shape[1])])
        else:
            raise DataError(
                f"sensitive_features must be 1-D or 2-D, got an array with {array.ndim} dimensions."
            )
    if frame.shape[1] == 0:
        raise DataError("sensitive_features has no columns; pass at least one sensitive attribute.")
    if n_rows is not None and len(frame) != n_rows:
        raise DataError(
            f"sensitive_features has {len(frame)} rows but y_true has {n_rows}; pass one value "
            f"per row."
        )
    frame = frame.reset_index(drop=True)
    frame.columns = [str(c) for c in frame.columns]
    return frame


def fill_missing(series: pd.Series, label: str) -> pd.Series:
    """Replace missing values of a column by ``label`` (adding it as a category when needed)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        if label not in series.cat.categories:
            series = series.cat.add_categories([label])
        return series.fillna(label)
    return series.astype(object).where(series.notna(), label)


def factorize(values: pd.Series, *, name: str, missing_group: str | None = None):
    """Integer codes (0..k-1) and the sorted levels of one column.

    Categorical columns keep their declared category order (so a declared but empty group stays
    visible); other columns are sorted. Missing values raise a :class:`DataError` unless
    ``missing_group`` names the label they should be grouped under.
    """
    series = pd.Series(values).reset_index(drop=True)
    missing = series.isna().to_numpy()
    if missing.any():
        if missing_group is None:
            raise DataError(
                f"Sensitive attribute {name!r} has {int(missing.sum())} missing value(s) "
                f"(first at row {int(np.argmax(missing))}). Fill them, drop those rows, or pass "
                f"missing_group='(missing)' to keep them as a group of their own."
            )
        series = fill_missing(series, missing_group)
    if isinstance(series.dtype, pd.CategoricalDtype):
        codes = series.cat.codes.to_numpy().astype(np.int64)
        levels = pd.Index(series.cat.categories)
        return codes, levels
    array = series.to_numpy()
    if array.dtype.kind in "iub" and array.size:
        # Small-range integers: codes by offset, no hashing (several times faster than factorize).
        low, high = int(array.min()), int(array.max())
        if high - low < 1 << 20:
            shifted = array.astype(np.int64) - low
            present = np.bincount(shifted, minlength=high - low + 1) > 0
            lookup = np.cumsum(present) - 1
            levels = pd.Index(np.flatnonzero(present) + low)
            if array.dtype.kind == "b":
                levels = pd.Index(levels.astype(bool))
            return lookup[shifted], levels
    try:
        codes, levels = pd.factorize(series, sort=True)
    except TypeError:  # mixed types that do not sort (e.g. bytes and numbers): by their text
        try:
            codes, uniques = pd.factorize(series, sort=False)
        except TypeError as error:  # unhashable values: arrays, lists, dicts
            raise DataError(
                f"Sensitive attribute {name!r} holds values that are not labels (e.g. "
                f"{type(series.iloc[0]).__name__}: arrays, lists or maps); a group is one value. "
                f"Flatten the column to strings or numbers first."
            ) from error
        text = [
            v.decode("utf-8", "backslashreplace") if isinstance(v, bytes) else str(v)
            for v in uniques
        ]
        order = np.argsort(np.asarray(text, dtype=object), kind="stable")  # over levels, not rows
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        codes, levels = rank[codes], pd.Index(np.asarray(uniques, dtype=object)[order])
    return codes.astype(np.int64), pd.Index(levels)


class SliceKey(Mapping):
    """One slice of the data as attribute -> value, in the attributes' order (frozen, hashable).

    Its one text form, used by findings and tables, is ``"sex=Female & race=Black"``; the whole
    population is the empty key, ``"overall"``.

    Examples
    --------
    >>> key = SliceKey({"sex": "Female", "race": "Black"})
    >>> str(key), key["race"], key.label
    ('sex=Female & race=Black', 'Black', 'Female & Black')
    >>> str(SliceKey()), SliceKey(sex="F") == SliceKey({"sex": "F"})
    ('overall', True)
    """

    __slots__ = ("_items",)

    def __init__(self, items=(), /, **values) -> None:
        pairs = list(items.items() if isinstance(items, Mapping) else items) + list(values.items())
        object.__setattr__(self, "_items", tuple((str(a), str(v)) for a, v in pairs))

    def __getitem__(self, attribute: str) -> str:
        for name, value in self._items:
            if name == attribute:
                return value
        raise KeyError(attribute)

    def __iter__(self):
        return (name for name, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(self._items)

    def __eq__(self, other) -> bool:
        return isinstance(other, SliceKey) and self._items == other._items

    def __setattr__(self, name, value):
        raise AttributeError("SliceKey is immutable.")

    def __reduce__(self):  # copy, deepcopy and pickle rebuild it from its pairs
        return (SliceKey, (list(self._items),))

    @property
    def pairs(self) -> list[list[str]]:
        """``[[attribute, value], ...]`` in order: the lossless JSON form (``SliceKey(pairs)``).

        Examples
        --------
        >>> key = SliceKey(dept="R & D", sex="F")
        >>> key.pairs, SliceKey(key.pairs) == key
        ([['dept', 'R & D'], ['sex', 'F']], True)
        """
        return [[name, value] for name, value in self._items]

    @classmethod
    def from_table(cls, attribute: str, group: str) -> SliceKey:
        """The key of a table row's ``(attribute, group)`` texts, for tables without a key.

        ``group_metrics`` tables carry each row's key in their ``slice`` column: read it there.
        This parses the texts of older tables: the intersection's attribute is
        :func:`join_attributes` of its names and its group the :attr:`label` of its values; one
        attribute keeps its value whole (``" & "`` included). ``("overall", "overall")`` is the
        empty key.

        Raises
        ------
        DataError
            If an intersection's group does not have one value per attribute (a value with
            ``" & "`` in it makes the row ambiguous).

        Examples
        --------
        >>> SliceKey.from_table("sex & race", "F & A").text
        'sex=F & race=A'
        >>> SliceKey.from_table("band", "low & mid").text, SliceKey.from_table("overall", "overall")
        ('band=low & mid', SliceKey({}))
        """
        attribute, group = str(attribute), str(group)
        if attribute == "overall" and group == "overall":
            return cls()
        names = attribute.split(_AND)
        if len(names) == 1:
            return cls({attribute: group})
        values = group.split(_AND)
        if len(values) != len(names):
            raise DataError(
                f"Group {group!r} of the intersection {attribute!r} does not have one value per "
                f"attribute ({len(names)}): a value contains {_AND!r}. Rename those values."
            )
        return cls(zip(names, values, strict=True))

    @property
    def attributes(self) -> str:
        """The attributes' names as tables write them, ``"sex & race"`` (see :func:`join_attributes`)."""
        return join_attributes(self) if self._items else "overall"

    @property
    def text(self) -> str:
        """``"sex=Female & race=Black"`` (``"overall"`` for the whole population)."""
        if not self._items:
            return "overall"
        return _AND.join(f"{name}={value}" for name, value in self._items)

    @property
    def label(self) -> str:
        """The values alone, ``"Female & Black"``: a group's name within its attribute."""
        return _AND.join(value for _, value in self._items) or "overall"

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"SliceKey({dict(self._items)!r})"


@dataclass(frozen=True, eq=False)
class GroupEncoding:
    """Group codes of each sensitive attribute and of their intersection.

    Attributes
    ----------
    names : list of str
        The sensitive attributes, in order.
    codes : list of ndarray
        One ``int64`` code array per attribute.
    levels : list of Index
        The labels of each attribute's codes.
    intersection_codes : ndarray
        Code of the combination of all attributes, per row (only observed combinations get a code).
    intersection_labels : DataFrame
        One row per intersection code, one column per attribute.
    missing_label : str, optional
        The label missing values were grouped under (the ``missing_group``), if any.
    """

    names: list[str]
    codes: list[np.ndarray]
    levels: list[pd.Index]
    intersection_codes: np.ndarray
    intersection_labels: pd.DataFrame
    missing_label: str | None = None

    @property
    def n_rows(self) -> int:
        return len(self.intersection_codes)

    @property
    def intersection_name(self) -> str:
        """The ``attribute`` of the intersection in tables, ``"sex & race"``."""
        return join_attributes(self.names)

    def membership(self) -> list[np.ndarray]:
        """For each attribute, the attribute's code of every intersection group."""
        table = self.intersection_labels
        return [table[f"__code_{i}"].to_numpy() for i in range(len(self.names))]

    def keys(self, attribute: int | None = None) -> list[SliceKey]:
        """The :class:`SliceKey` of each level of one attribute, or of each intersection group."""
        if attribute is not None:
            name = self.names[attribute]
            return [SliceKey({name: value}) for value in self.levels[attribute].tolist()]
        columns = [self.intersection_labels[name].to_numpy().tolist() for name in self.names]
        return [
            SliceKey(zip(self.names, values, strict=True)) for values in zip(*columns, strict=True)
        ]

    def labels(self, attribute: int | None = None) -> list[str]:
        """Readable labels: ``"Female"`` for one attribute, ``"Female & Black"`` for intersections."""
        if attribute is not None:
            return [str(v) for v in self.levels[attribute]]
        parts = [self.intersection_labels[name].astype(str) for name in self.names]
        joined = parts[0]
        for part in parts[1:]:
            joined = joined + _AND + part
        return joined.tolist()

    def codes_of(self, table: pd.DataFrame, names: Sequence[str]) -> np.ndarray:
        """The group code of each row of an aggregated ``table`` (-1 for an unseen group).

        ``table`` holds the values of the attributes ``names``: one attribute (codes into its
        levels) or all of them in order (codes of the intersection). Missing values are the
        ``missing_group`` label, as in the encoding; numbers a SQL engine returned as floats
        match their labels by text.

        Examples
        --------
        >>> import pandas as pd
        >>> from raikit._grouping import encode_groups
        >>> enc = encode_groups(pd.DataFrame({"sex": ["F", "M", "F"], "race": ["A", "A", "B"]}))
        >>> table = pd.DataFrame({"sex": ["M", "F", "X"], "race": ["A", "B", "A"]})
        >>> enc.codes_of(table, ["sex"]).tolist(), enc.codes_of(table, ["sex", "race"]).tolist()
        ([1, 0, -1], [2, 1, -1])
        """
        names = list(names)
        per_attribute = [self._level_codes(table[name], self.names.index(name)) for name in names]
        if len(names) == 1:
            return per_attribute[0]
        if names != self.names:
            raise ValueError(f"codes_of() takes one attribute or all of {self.names}, got {names}.")
        lookup = pd.Series(
            np.arange(len(self.intersection_labels), dtype=np.int64),
            index=pd.MultiIndex.from_arrays(self.membership()),
        )
        found = lookup.reindex(pd.MultiIndex.from_arrays(per_attribute))
        return found.fillna(-1).to_numpy(np.int64)

    def _level_codes(self, values: pd.Series, i: int) -> np.ndarray:
        values = pd.Series(values).reset_index(drop=True)
        missing = values.isna().to_numpy()
        levels = pd.Index(self.levels[i])
        found = levels.get_indexer(pd.Index(values.astype(object).where(~missing, None)))
        if (found[~missing] < 0).any():  # 3.0 back from SQL for the label 3: match by text
            text = pd.Index([_label_text(v) for v in levels])
            by_text = text.get_indexer(pd.Index([_label_text(v) for v in values]))
            found = np.where(found < 0, by_text, found)
        if missing.any():
            label = self.missing_label
            found[missing] = levels.get_loc(label) if label in levels else -1
        return found.astype(np.int64)

    def row_labels(self) -> np.ndarray:
        """The :meth:`labels` of every row's intersection group (one lookup per group, not per row)."""
        return np.asarray(self.labels(), dtype=object)[self.intersection_codes]


def _label_text(value) -> str:
    """A label as text, with whole floats written as integers (``3.0`` is the label ``3``)."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def encode_groups(
    sensitive: pd.DataFrame | Sequence, *, missing_group: str | None = None
) -> GroupEncoding:
    """Encode the sensitive attributes of ``sensitive`` (one column each) as integer codes."""
    frame = to_sensitive_frame(sensitive)
    names = list(frame.columns)
    codes, levels = [], []
    for name in names:
        c, lv = factorize(frame[name], name=name, missing_group=missing_group)
        codes.append(c)
        levels.append(lv)
    sizes = [max(len(lv), 1) for lv in levels]
    n_combinations = int(np.prod(np.array(sizes, dtype=float)))
    combined = np.zeros(len(frame), dtype=np.int64)
    for c, size in zip(codes, sizes, strict=True):
        combined = combined * size + c
    if n_combinations <= _DENSE_LIMIT:
        present = np.bincount(combined, minlength=n_combinations) > 0
        observed = np.flatnonzero(present)
        lookup = np.full(n_combinations, -1, dtype=np.int64)
        lookup[observed] = np.arange(observed.size)
        intersection = lookup[combined]
    else:
        observed, intersection = np.unique(combined, return_inverse=True)
        intersection = intersection.astype(np.int64)
    per_attribute = np.unravel_index(observed, sizes) if len(sizes) > 1 else (observed,)
    table = {}
    for i, name in enumerate(names):
        table[name] = np.asarray(levels[i])[per_attribute[i]] if len(levels[i]) else []
    for i in range(len(names)):
        table[f"__code_{i}"] = per_attribute[i].astype(np.int64)
    labels = pd.DataFrame(table)
    return GroupEncoding(names, codes, levels, intersection, labels, missing_group)
