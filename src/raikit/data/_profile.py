"""``profile``: who the data represents, where it is thin or dirty, and which features are proxies.

Per column (overall and per sensitive group): count, missing, distinct, numeric moments, quantiles and
histograms, top categories. Associations between features and with the target (Pearson, Spearman,
Cramér's V, correlation ratio). Proxies: how well each feature — and all features together — predicts
each sensitive attribute (mutual information and a cross-fitted AUC).

The per-column statistics take one path whatever holds the rows: the Dataset's aggregates over
the grouping sets of the families (everyone, each sensitive attribute, their intersection) for
counts, missing values, means, variances, extremes and distinct counts; one
:meth:`raikit.Dataset.histogram` per numeric column with ``pieces="bins"`` (one piece per group,
coarse bin and quantile bin) and ``quantiles=`` for histograms and quantiles;
``aggregate(by=[..., column])`` for category counts. In memory the Dataset computes quantiles from
the sorted values, so every number is exact; a lazy Dataset (DuckDB, Spark) computes them from its
2,048 bins per column, with the guaranteed bound of ``meta["quantile_error"]`` (see
:mod:`raikit.data._scale`). Associations and proxies need rows: those of an in-memory Dataset, or a
uniform sample of ``association_sample`` rows drawn where the data lives. Nothing loops over rows
or groups in Python.

A Dataset with a ``weight`` role is profiled as the population its weights stand for
(frequency or survey expansion weights: a row of weight 3 counts as three rows): counts,
missing rates, means, standard deviations, quantiles, histograms, category shares, associations
and proxies are weighted, so integer weights give the profile of the rows repeated. Distinct
counts, minima of the bins' range and the ``rows`` column describe the stored rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from raikit._aggregate import weighted_quantiles
from raikit._errors import ColumnError
from raikit._grouping import encode_groups
from raikit._recording import recorded
from raikit._result import Finding, Result
from raikit._validation import RANDOM_STATE, Interval, check_dataset, rng_from, validate_params
from raikit.data._common import (
    column_kind,
    encode_categories,
    encode_sensitive,
    families,
    model_frame,
    numeric_values,
)

__all__ = ["ProfileResult", "profile"]

QUANTILES = (0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0)
QUANTILE_NAMES = ("min", "p05", "p25", "median", "p75", "p95", "max")
_MAX_LEVELS = 64  # categories kept for associations and proxies; the rest are merged
_PROXY_BINS = 20  # quantile bins of a numeric feature when measuring it as a proxy
_DEFAULT_PROXY_AUC = 0.8  # AUC from which a feature is reported as a strong proxy
# Per-group distinct counts of a many-valued column whose histogram pieces hold several values
# are counted only where (distinct values) x (groups) stays under this (NaN elsewhere).
_DISTINCT_CELLS = 1 << 22


# --------------------------------------------------------------------------- the result
@dataclass(frozen=True, eq=False)
class ProfileResult(Result):
    """What the data holds, overall and per sensitive group.

    Attributes
    ----------
    stats : DataFrame
        Tidy: one row per (attribute, group, column) with ``role``, ``kind``, ``rows``,
        ``count`` (non-missing), ``missing``, ``missing_rate``, ``distinct`` (NaN for a numeric
        column per group when it has too many distinct values to count cheaply), ``mean``, ``std``
        and the quantiles ``min, p05, p25, median, p75, p95, max`` (numeric columns). The whole table
        has attribute and group ``"overall"``; intersections are named ``"sex & race"``. With a
        weight role, ``rows`` stays the stored rows, a ``weight`` column holds their weight
        sum, and ``count``, ``missing`` (floats), ``missing_rate``, ``mean``, ``std`` and the
        quantiles are weighted (frequency weights; ``std`` is NaN where the weights sum to 1 or
        less); ``distinct`` counts stored values.
    histograms : DataFrame
        Tidy: (column, attribute, group, bin, left, right, count, share) with the same bin edges
        for every group of a column (weighted counts with a weight role).
    categories : DataFrame
        Tidy: (column, attribute, group, category, count, share) for the ``top_k`` categories of
        each categorical column, the rest merged as ``"(other)"`` and missing values as
        ``"(missing)"`` (weighted counts with a weight role).
    associations : DataFrame
        Tidy: (left, right, method, value, n) between features and with the target:
        ``pearson`` and ``spearman`` for two numeric columns, ``cramers_v`` for two categorical
        ones, ``correlation_ratio`` for one of each.
    proxies : DataFrame
        Tidy: (attribute, feature, mutual_information, normalized_mi, auc, n) — how well each
        feature, and ``"(all features)"``, predicts each sensitive attribute. ``normalized_mi`` is
        the share of the attribute's entropy the feature explains; ``auc`` is cross-fitted
        (one-vs-rest macro average for attributes with more than two groups).
    roles : dict
        Role of each column: ``feature``, ``target``, ``sensitive``, ``prediction``, ``score``,
        ``weight`` or ``other``.
    n_rows : int
        Rows profiled.
    sensitive_names : list of str
        The sensitive attributes.
    findings : tuple of Finding
        Strong proxies, missing values (and missingness that differs by group), constant columns.
    meta : dict
        Settings (bins, top_k, sample sizes, random_state).

    See Also
    --------
    profile : computes it.

    Examples
    --------
    >>> from raikit.data import profile
    >>> from raikit.datasets import load_german_credit
    >>> r = profile(load_german_credit(), proxy_sample=0, random_state=0)
    >>> r.n_rows, r.sensitive_names
    (1000, ['sex', 'age_group'])
    """

    stats: pd.DataFrame
    histograms: pd.DataFrame
    categories: pd.DataFrame
    associations: pd.DataFrame
    proxies: pd.DataFrame
    roles: dict
    n_rows: int
    sensitive_names: list
    findings: tuple = field(default_factory=tuple)
    meta: dict = field(default_factory=dict)

    @property
    def strong_proxies(self) -> pd.DataFrame:
        """The rows of ``proxies`` whose AUC reaches the profile's ``proxy_auc`` threshold.

        Each of them is also a finding; read the numbers here rather than parsing the findings'
        text.

        Examples
        --------
        >>> from raikit.data import profile
        >>> from raikit.datasets import load_german_credit
        >>> result = profile(load_german_credit(), proxy_sample=0, random_state=0)
        >>> strong = result.strong_proxies
        >>> strong[["feature", "attribute"]].values.tolist()
        [['personal_status', 'sex'], ['age', 'age_group']]
        >>> bool((strong["auc"] >= result.meta["proxy_auc"]).all())
        True
        """
        return _strong_proxies(self.proxies, self.meta.get("proxy_auc", _DEFAULT_PROXY_AUC))

    @property
    def columns(self) -> pd.DataFrame:
        """Overall statistics, one row per column (indexed by column name)."""
        rows = self.stats[self.stats["attribute"] == "overall"]
        return rows.drop(columns=["attribute", "group"]).set_index("column")

    def by_group(self, column: str) -> pd.DataFrame:
        """Statistics of one column per group: index (attribute, group)."""
        if column not in self.roles:
            raise ColumnError(f"Unknown column {column!r}; profiled columns: {list(self.roles)}.")
        rows = self.stats[self.stats["column"] == column]
        return rows.drop(columns=["column"]).set_index(["attribute", "group"])

    @property
    def summary(self) -> str:
        overall = self.columns
        with_missing = overall[overall["missing"] > 0]
        text = f"{self.n_rows:,} rows x {len(overall)} columns"
        if len(with_missing):
            worst = with_missing["missing_rate"].idxmax()
            text += (
                f"; {len(with_missing)} column(s) with missing values "
                f"(most: {worst} {with_missing.loc[worst, 'missing_rate']:.1%})"
            )
        else:
            text += "; no missing values"
        single = self.proxies[self.proxies["feature"] != "(all features)"]
        if len(single) and single["auc"].notna().any():
            best = single.loc[single["auc"].idxmax()]
            text += (
                f"; strongest proxy {best['feature']} for {best['attribute']} "
                f"(AUC {best['auc']:.3f})"
            )
        together = self.proxies[self.proxies["feature"] == "(all features)"]
        if len(together) and together["auc"].notna().any():
            best = together.loc[together["auc"].idxmax()]
            text += f"; all features predict {best['attribute']} with AUC {best['auc']:.3f}"
        return text + f"; {len(self.findings)} finding(s)."

    def figures(self) -> list:
        from raikit.data._figures import profile_figures

        return profile_figures(self)


# --------------------------------------------------------------------------- per-column statistics
class _Families:
    """The groups of a Dataset as grouping sets (overall, each sensitive attribute, then their
    intersection: the order of :func:`raikit.data._common.families`), and the family group code
    of each row of an aggregate over those sets."""

    def __init__(self, ds) -> None:
        names = list(ds.sensitive_names)
        counts = ds.group_counts()
        self.encoding = encode_groups(counts[names], missing_group=ds.missing_group)
        self.missing_group = ds.missing_group
        self.families = families(self.encoding, len(counts))
        self.sets = [[], *([n] for n in names)] + ([names] if len(names) > 1 else [])
        membership = self.encoding.membership()
        self._intersection = pd.Series(
            np.arange(len(self.encoding.intersection_labels)),
            index=pd.MultiIndex.from_arrays(membership) if len(names) > 1 else membership[0],
        )

    def codes(self, part: pd.DataFrame, f: int, names=None) -> np.ndarray:
        """The group code (in family ``f``) of each row of ``part`` (rows of ``f``'s set);
        ``names``: the column of each key in ``part`` (a Dataset aggregate's ``attrs["keys"]``:
        keys named like an output column come back under an alias)."""
        keys = self.sets[f]
        column = {key: (names or {}).get(key, key) for key in keys}
        if not keys or not len(part):
            return np.zeros(len(part), dtype=np.int64)
        combined = np.zeros(len(part), dtype=np.int64)
        for key in keys:  # factorize first: the (slow) label lookup runs once per group
            code, uniques = pd.factorize(part[column[key]], use_na_sentinel=False)
            combined = combined * max(len(uniques), 1) + code
        row_group, found = pd.factorize(combined, sort=False)
        first = np.empty(len(found), dtype=np.int64)
        first[row_group[::-1]] = np.arange(len(part))[::-1]
        groups = part.iloc[first]
        per_attribute = [self._level_codes(groups[column[key]], key) for key in keys]
        if len(keys) == 1:
            return per_attribute[0][row_group]
        index = pd.MultiIndex.from_arrays(per_attribute)
        return self._intersection.reindex(index).fillna(-1).to_numpy(np.int64)[row_group]

    def _level_codes(self, values: pd.Series, name: str) -> np.ndarray:
        i = self.encoding.names.index(name)
        if self.missing_group is not None:
            values = values.astype(object).where(values.notna(), self.missing_group)
        levels = pd.Index(self.encoding.levels[i])
        found = levels.get_indexer(pd.Index(values))
        if (found < 0).any():  # numbers come back as float where a set rolled them up
            text = pd.Index([str(v) for v in levels])
            found = np.where(found < 0, text.get_indexer(values.astype(str)), found)
        return found

    def spread_wide(self, table, columns, width: int, names) -> dict[str, list[np.ndarray]]:
        """As :meth:`spread` for a table with ``width`` consecutive rows per group (e.g. one per
        quantile): per column, one ``(groups, width)`` array per family."""
        out = {column: [] for column in columns}
        for f, fam in enumerate(self.families):
            part = table[table["grouping_set"] == f]
            codes = self.codes(part.iloc[::width], f, names)
            for column in columns:
                values = np.full((fam.n_groups, width), np.nan)
                values[codes] = part[column].to_numpy(dtype=float).reshape(-1, width)
                out[column].append(values)
        return out

    def spread(self, table: pd.DataFrame, columns, fill=np.nan) -> dict[str, list[np.ndarray]]:
        """Per column, one array per family: the column's value in each group (``fill`` where
        no row came back)."""
        out = {column: [] for column in columns}
        names = table.attrs.get("keys")
        for f, fam in enumerate(self.families):
            part = table[table["grouping_set"] == f]
            codes = self.codes(part, f, names)
            for column in columns:
                values = np.full(fam.n_groups, fill, dtype=float)
                values[codes] = part[column].to_numpy(dtype=float)
                out[column].append(values)
        return out


def _prefix(columns) -> str:
    """A prefix for internal output names that no column of the Dataset starts with."""
    prefix = "__stat"
    while any(str(c).startswith(prefix) for c in columns):
        prefix = "_" + prefix
    return prefix


def _moments(ds, g: _Families, roles: dict, kinds: dict) -> tuple[dict, str]:
    """One aggregate over every family, weighted by the Dataset's weight role: rows, and per
    column the non-missing count (plus mean, variance, minimum and maximum of numeric columns);
    the stored rows (``{p}stored``) when weighted; and the distinct values overall of the
    non-numeric columns (to spot identifiers and free text)."""
    p = _prefix(ds.columns)
    stats = {f"{p}rows": (None, "count")}
    for i, name in enumerate(roles):
        stats[f"{p}c{i}"] = (name, "count")
        if kinds[name] == "numeric":
            for op, short in (("mean", "m"), ("var", "v"), ("min", "lo"), ("max", "hi")):
                stats[f"{p}{short}{i}"] = (name, op)
    table = ds.aggregate(by=g.sets, stats=stats, weight=ds.weight)
    others = {
        f"{p}d{i}": (name, "distinct") for i, name in enumerate(roles) if kinds[name] != "numeric"
    }
    overall = ds.aggregate(stats=others).iloc[0] if others else pd.Series(dtype=float)
    spread = g.spread(table, list(stats))
    spread.update({name: overall[name] for name in others})
    if ds.weight is not None:
        stored = ds.aggregate(by=g.sets, stats={f"{p}stored": (None, "count")})
        spread.update(g.spread(stored, [f"{p}stored"]))
    return spread, p


def _base_rows(g: _Families, moments: dict, p: str, i: int) -> list[dict]:
    """The first statistics of column ``i`` per family: ``rows`` (stored), and the (weighted)
    ``weight`` total, ``count`` and ``missing``."""
    weighted = f"{p}stored" in moments
    out = []
    for f, fam in enumerate(g.families):
        total, count = moments[f"{p}rows"][f], moments[f"{p}c{i}"][f]
        row = {"attribute": fam.attribute, "group": fam.labels}
        if weighted:
            row.update(rows=moments[f"{p}stored"][f].astype(np.int64), weight=total)
        else:
            row["rows"] = total.astype(np.int64)
        row.update(count=count, missing=total - count)
        out.append(row)
    return out


def _grouped_distinct(ds, g: _Families, name: str, d_all: float, approximate: bool):
    """Distinct values per group, where affordable: a distinct set per group is the one costly
    aggregate at scale, so only families with ``distinct values x groups <= 2**22`` are counted
    (the others NaN), and none when the overall count is an estimate."""
    out = [np.array([d_all])] + [np.full(fam.n_groups, np.nan) for fam in g.families[1:]]
    affordable = [
        f
        for f, fam in enumerate(g.families)
        if f and not approximate and d_all * fam.n_groups <= _DISTINCT_CELLS
    ]
    if affordable:
        p = _prefix(ds.columns)
        table = ds.aggregate(
            by=[g.sets[f] for f in affordable], stats={f"{p}d": (name, "distinct")}
        )
        for j, f in enumerate(affordable):
            part = table[table["grouping_set"] == j] if len(affordable) > 1 else table
            values = np.full(g.families[f].n_groups, np.nan)
            values[g.codes(part, f, table.attrs.get("keys"))] = part[f"{p}d"].to_numpy(float)
            out[f] = values
    return out


def _numeric_column(ds, g: _Families, name: str, i: int, moments: dict, p: str, bins: int):
    """Stats rows, histogram counts and quantile error bound of one numeric column: one
    :meth:`raikit.Dataset.histogram` of pieces per (group, coarse bin, quantile bin) with the
    quantiles computed in the same pass (exact in memory; bounded by the pieces' ranges
    elsewhere)."""
    from raikit.data import _scale

    count = moments[f"{p}c{i}"]
    low, high = float(moments[f"{p}lo{i}"][0][0]), float(moments[f"{p}hi{i}"][0][0])
    n_total = float(count[0][0])
    spread_ok = n_total > 0 and high > low
    n_bins = bins if spread_ok else 1
    edges = np.linspace(low, high, n_bins + 1) if spread_ok else np.array([low, high])
    coarse = _prefix([*ds.columns, "bin", "rows", "n", "lo", "hi"]) + "coarse"
    qs = np.asarray(QUANTILES)
    rows = _base_rows(g, moments, p, i)
    counted = np.float64 if ds.weight is not None else np.int64
    if not n_total > 0:  # every value missing (or weighing 0): nothing to count (NaN)
        for f, fam in enumerate(g.families):
            rows[f].update(
                distinct=np.full(fam.n_groups, np.nan),
                **{qn: np.full(fam.n_groups, np.nan) for qn in QUANTILE_NAMES},
            )
        hist = [(fam, np.zeros((fam.n_groups, n_bins), dtype=counted)) for fam in g.families]
        return rows, hist, edges, 0.0, False, True
    pieces = ds.histogram(
        name,
        by=g.sets,
        bins=_scale.QUANTILE_BINS,
        range=(low, high),
        cuts={coarse: edges[1:-1]},
        pieces="bins",
        quantiles=qs,
        weight=ds.weight,
    )
    found = pieces.attrs["quantiles"]
    exact_quantiles = pieces.attrs["exact_quantiles"]
    distinct, approximate = _numeric_distinct(ds, g, name, pieces, exact_quantiles, p)
    names = pieces.attrs["keys"]
    quant = g.spread_wide(found, ["value", "error"], len(qs), names)
    hist, errors = [], []
    for f, fam in enumerate(g.families):
        part = pieces[pieces["grouping_set"] == f]
        codes = g.codes(part, f, names)
        table = np.bincount(
            codes * n_bins + part[coarse].to_numpy(np.int64),
            weights=part["n"].to_numpy(float),
            minlength=fam.n_groups * n_bins,
        ).reshape(fam.n_groups, n_bins)
        hist.append((fam, table.astype(counted)))
        errors.append(quant["error"][f])
        gcount = count[f]
        std = np.sqrt(np.maximum(moments[f"{p}v{i}"][f], 0.0))
        if ds.weight is None:  # a weighted variance is already NaN where the weights sum to <= 1
            std[gcount < 2] = np.nan
        rows[f].update(
            distinct=distinct[f].astype(float),
            mean=np.where(gcount > 0, moments[f"{p}m{i}"][f], np.nan),
            std=std,
            **{qn: quant["value"][f][:, j] for j, qn in enumerate(QUANTILE_NAMES)},
        )
    bound = np.concatenate([e.ravel() for e in errors])
    error = float(np.nanmax(bound)) if bound.size and np.isfinite(bound).any() else 0.0
    return rows, hist, edges, error, approximate, exact_quantiles


def _numeric_distinct(ds, g: _Families, name: str, pieces, exact_quantiles: bool, p: str):
    """Distinct values per group of a numeric column, and whether the overall count is an
    estimate: the pieces per group when each holds one value; else the Dataset's distinct
    counts, over every family when it holds the sorted values (exact quantiles: in memory),
    otherwise only where affordable (see :func:`_grouped_distinct`)."""
    from raikit.data import _scale

    if pieces.attrs["exact"]:  # one value per piece: a group's pieces are its distinct values
        out = []
        for f, fam in enumerate(g.families):
            codes = g.codes(pieces[pieces["grouping_set"] == f], f, pieces.attrs["keys"])
            out.append(np.bincount(codes, minlength=fam.n_groups).astype(float))
        return out, False
    if exact_quantiles:
        table = ds.aggregate(by=g.sets, stats={f"{p}d": (name, "distinct")})
        return g.spread(table, [f"{p}d"])[f"{p}d"], False
    approximate = ds.n_rows > _scale.EXACT_DISTINCT_ROWS
    op = "approx_distinct" if approximate else "distinct"
    d_all = float(ds.aggregate(stats={f"{p}d": (name, op)})[f"{p}d"].iloc[0])
    return _grouped_distinct(ds, g, name, d_all, approximate), approximate


def _categorical_column(ds, g: _Families, name: str, rows: list[dict], top_k: int, dtype):
    """Category counts of one column in every group (one aggregate over the families' sets,
    each with the column added), the ``top_k`` kept and the rest merged as ``"(other)"``."""
    sets, set_of_family = [], []
    for group_set in g.sets:
        keys = list(dict.fromkeys([*group_set, name]))
        if sorted(keys) not in [sorted(s) for s in sets]:
            sets.append(keys)
        set_of_family.append([sorted(s) for s in sets].index(sorted(keys)))
    p = _prefix(ds.columns)
    stats = {f"{p}n": (None, "count")}
    if ds.weight is not None:  # the weight sum, and the stored rows for distinct values
        stats[f"{p}w"] = (ds.weight, "sum")
    counts = ds.aggregate(by=sets, stats=stats)
    keys = counts.attrs["keys"]  # a column named like an output column comes back aliased
    set_of_row = counts["grouping_set"].to_numpy() if len(sets) > 1 else np.zeros(len(counts))
    levels, value_codes = _category_levels(counts[keys[name]], dtype)
    k = len(levels)
    full, seen = [], []  # (weighted) counts per (group, level), and stored rows for distinct
    for f, fam in enumerate(g.families):
        mask = set_of_row == set_of_family[f]
        cell = g.codes(counts[mask], f, keys) * (k + 1) + value_codes[mask]  # last: missing

        def tally(stat, cell=cell, mask=mask, n=fam.n_groups):
            weights = counts.loc[mask, f"{p}{stat}"].to_numpy(float)
            return np.bincount(cell, weights=weights, minlength=n * (k + 1)).reshape(n, k + 1)

        seen.append(tally("n").astype(np.int64))
        full.append(tally("w") if ds.weight is not None else seen[-1])
    bucket_of_level, names = top_buckets(full[0][0, :k], levels, top_k)
    cats = []
    for f, fam in enumerate(g.families):
        tab = full[f]
        table = np.zeros((fam.n_groups, len(names)), dtype=tab.dtype)
        np.add.at(table.T, bucket_of_level, tab[:, :k].T)
        table[:, -1] = tab[:, k]
        rows[f]["distinct"] = (seen[f][:, :k] > 0).sum(axis=1).astype(float)
        cats.append((fam, table))
    return cats, names


def _column_parts(ds, roles: dict, bins: int, top_k: int):
    """Per-column statistics, histograms and top categories, overall and per group, from the
    Dataset's aggregates (in memory or where the rows live: the same code either way)."""
    from raikit.data import _scale

    g = _Families(ds)
    dtypes = ds.dtypes
    kinds = {name: column_kind(pd.Series([], dtype=dtypes[name])) for name in roles}
    moments, p = _moments(ds, g, roles, kinds)
    stat_parts, hist_parts, cat_parts = [], [], []
    quantile_error, approximate, every_exact = {}, [], True
    for i, (name, role) in enumerate(roles.items()):
        kind = kinds[name]
        count = moments[f"{p}c{i}"]
        rows = _base_rows(g, moments, p, i)
        if kind == "numeric":
            rows, hist, edges, error, estimated, exact_quantiles = _numeric_column(
                ds, g, name, i, moments, p, bins
            )
            hist_parts.extend(_hist_frames(name, hist, edges))
            quantile_error[name] = error
            every_exact &= exact_quantiles
            if estimated:
                approximate.append(name)
        elif kind == "datetime":  # counts, and distinct values overall only
            d_all = float(moments[f"{p}d{i}"])
            for f, fam in enumerate(g.families):
                rows[f]["distinct"] = np.full(fam.n_groups, d_all if f == 0 else np.nan)
        else:
            d_all = float(moments[f"{p}d{i}"])
            stored = moments.get(f"{p}stored", count)[0][0]  # rows, not weights
            if kind == "categorical" and d_all > 1000 and d_all > 0.5 * stored:
                kind = "text"  # identifiers and free text: counts only
                distinct = _grouped_distinct(ds, g, name, d_all, approximate=False)
                for f in range(len(g.families)):
                    rows[f]["distinct"] = distinct[f].astype(float)
            else:
                cats, names = _categorical_column(ds, g, name, rows, top_k, dtypes[name])
                cat_parts.extend(_cat_frames(name, cats, names))
        stat_parts.append(_stack(rows, name, role, kind))
        kinds[name] = kind
    meta = {
        # "exact": from the sorted values (in memory); "histogram": from bins, bounded
        "quantiles": "exact" if every_exact else "histogram",
        "quantile_bins": _scale.QUANTILE_BINS,
        "quantile_error": quantile_error,
        "approximate_distinct": approximate,
    }
    return stat_parts, hist_parts, cat_parts, kinds, meta


def _category_levels(values: pd.Series, dtype):
    """Levels of a categorical column (declared order for pandas categories, else sorted) and the
    level code of each value (``len(levels)`` for missing)."""
    present = values.dropna()
    if isinstance(dtype, pd.CategoricalDtype):
        known = list(dtype.categories)
        extra = sorted(set(present.astype(str)) - set(map(str, known)))
        levels = pd.Index(known + extra)
    else:
        try:
            levels = pd.Index(sorted(pd.unique(present)))
        except TypeError:
            levels = pd.Index(sorted(pd.unique(present.astype(str))))
    codes = levels.get_indexer(values)
    if (codes[values.notna().to_numpy()] < 0).any():
        codes = pd.Index(levels.astype(str)).get_indexer(values.astype(str))
    codes = np.where(values.isna().to_numpy(), len(levels), codes)
    return levels, codes.astype(np.int64)


def top_buckets(overall: np.ndarray, levels, top_k: int):
    """Bucket of each level (its rank among the ``top_k`` most frequent, or ``"(other)"``) and
    the bucket names, as the in-memory profile (ties keep the level order)."""
    k = len(levels)
    top = np.argsort(-overall, kind="stable")[:top_k]
    top = top[overall[top] > 0]
    bucket_of_level = np.full(k, len(top), dtype=np.int64)
    bucket_of_level[top] = np.arange(len(top))
    names = [str(levels[i]) for i in top] + ["(other)", "(missing)"]
    return bucket_of_level, names


# --------------------------------------------------------------------------- tidy tables
def _hist_frames(name: str, hist, edges) -> list[pd.DataFrame]:
    """Tidy histogram rows of one numeric column, one frame per family."""
    frames = []
    for fam, counts in hist:
        g, nb = counts.shape
        with np.errstate(invalid="ignore", divide="ignore"):
            share = counts / counts.sum(axis=1, keepdims=True)
        frames.append(
            pd.DataFrame(
                {
                    "column": name,
                    "attribute": fam.attribute,
                    "group": np.repeat(fam.labels, nb),
                    "bin": np.tile(np.arange(nb), g),
                    "left": np.tile(edges[:-1], g),
                    "right": np.tile(edges[1:], g),
                    "count": counts.ravel(),
                    "share": share.ravel(),
                }
            )
        )
    return frames


def _cat_frames(name: str, cats, names) -> list[pd.DataFrame]:
    """Tidy category rows of one categorical column (non-empty cells), one frame per family."""
    frames = []
    for fam, table in cats:
        g, nb = table.shape
        with np.errstate(invalid="ignore", divide="ignore"):
            share = table / table.sum(axis=1, keepdims=True)
        part = pd.DataFrame(
            {
                "column": name,
                "attribute": fam.attribute,
                "group": np.repeat(fam.labels, nb),
                "category": np.tile(np.array(names, dtype=object), g),
                "count": table.ravel(),
                "share": share.ravel(),
            }
        )
        frames.append(part[part["count"] > 0])
    return frames


def _stack(parts: list[dict], column: str, role: str, kind: str) -> pd.DataFrame:
    frame = pd.concat([pd.DataFrame(p) for p in parts], ignore_index=True)
    frame.insert(2, "column", column)
    frame.insert(3, "role", role)
    frame.insert(4, "kind", kind)
    return frame


# --------------------------------------------------------------------------- associations
def _ranks(values: np.ndarray) -> np.ndarray:
    """Average ranks of the non-missing values (NaN stays NaN), as scipy.stats.rankdata."""
    from scipy.stats import rankdata

    return rankdata(values, nan_policy="omit")


def _weighted_ranks(values: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Mid-ranks in cumulative weight (the weight before a value plus half its ties' weight): for
    integer weights, the average ranks of the rows repeated, less 1/2 (a shift: correlations of
    ranks do not change). NaN stays NaN."""
    out = np.full(len(values), np.nan)
    ok = ~np.isnan(values)
    unique, inverse = np.unique(values[ok], return_inverse=True)
    tie = np.bincount(inverse, weights=w[ok], minlength=len(unique))
    out[ok] = (np.cumsum(tie) - tie / 2)[inverse]
    return out


def _pairwise_corr(
    matrix: np.ndarray, w: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(Weighted) Pearson correlations over pairwise-complete rows of a (n, p) matrix with NaN,
    and the pairwise row counts — matrix products, no loop over pairs."""
    mask = ~np.isnan(matrix)
    x = np.where(mask, matrix, 0.0)
    m = mask.astype(float)
    rows = m.T @ m
    wm = m if w is None else m * w[:, None]
    n = wm.T @ m
    sx = (x * (1 if w is None else w[:, None])).T @ m  # weighted sum of i where j is present
    sxx = (x * x * (1 if w is None else w[:, None])).T @ m
    sxy = (x * (1 if w is None else w[:, None])).T @ x
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = n * sxy - sx * sx.T
        var_i = n * sxx - sx * sx
        var_j = var_i.T
        corr = cov / np.sqrt(var_i * var_j)
    return np.clip(corr, -1, 1), rows


def _cramers_v(a, ka: int, b, kb: int, w=None) -> tuple[float, int]:
    """Cramér's V of two coded columns (codes < 0: missing) from their (weighted) contingency
    table, and the rows both hold."""
    ok = (a >= 0) & (b >= 0)
    cell = a[ok] * kb + b[ok]
    table = np.bincount(cell, weights=None if w is None else w[ok], minlength=ka * kb)
    table = table.reshape(ka, kb).astype(float)
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    n = table.sum()
    r, c = table.shape
    if n == 0 or min(r, c) < 2:
        return np.nan, int(ok.sum())
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / n
    chi2 = float(((table - expected) ** 2 / expected).sum())
    return float(np.sqrt(chi2 / (n * (min(r, c) - 1)))), int(ok.sum())


def _correlation_ratio(codes, k: int, values, w=None) -> tuple[float, int]:
    """The (weighted) correlation ratio of a numeric column on a coded one, and the rows."""
    ok = (codes >= 0) & ~np.isnan(values)
    c, v = codes[ok], values[ok]
    weight = np.ones(v.size) if w is None else w[ok]
    if v.size < 2 or weight.sum() <= 0:
        return np.nan, int(v.size)
    count = np.bincount(c, weights=weight, minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(c, weights=weight * v, minlength=k) / count
    centre = np.average(v, weights=weight)
    between = float(np.nansum(count * (mean - centre) ** 2))
    total = float((weight * (v - centre) ** 2).sum())
    return (float(np.sqrt(between / total)) if total > 0 else np.nan), int(v.size)


def _cap_levels(codes: np.ndarray, k: int) -> tuple[np.ndarray, int]:
    """Keep the most frequent ``_MAX_LEVELS - 1`` levels and merge the rest."""
    if k <= _MAX_LEVELS:
        return codes, k
    counts = np.bincount(codes[codes >= 0], minlength=k)
    keep = np.argsort(-counts, kind="stable")[: _MAX_LEVELS - 1]
    lookup = np.full(k, _MAX_LEVELS - 1, dtype=np.int64)
    lookup[keep] = np.arange(_MAX_LEVELS - 1)
    return np.where(codes >= 0, lookup[np.maximum(codes, 0)], -1), _MAX_LEVELS


def _associations(frame: pd.DataFrame, kinds: dict, names: list[str], w=None) -> pd.DataFrame:
    """Associations between the ``names`` columns of ``frame`` (weighted by ``w``, the rows'
    weights, when given); ``n`` counts the rows both columns hold."""
    numeric, categorical = {}, {}
    for name in names:
        series = frame[name]
        if kinds[name] == "numeric":
            numeric[name] = numeric_values(series)
        if kinds[name] in ("categorical", "boolean") or (
            kinds[name] == "numeric" and series.nunique() <= 2
        ):
            codes, levels = encode_categories(series.astype("category"))
            categorical[name] = _cap_levels(codes, len(levels))
        if kinds[name] == "boolean":
            numeric[name] = numeric_values(series.astype(float))
    rows = []
    num_names = list(numeric)
    if len(num_names) >= 2:
        matrix = np.column_stack([numeric[c] for c in num_names])
        pearson, counts = _pairwise_corr(matrix, w)
        if w is None:
            ranked = np.column_stack([_ranks(numeric[c]) for c in num_names])
        else:
            ranked = np.column_stack([_weighted_ranks(numeric[c], w) for c in num_names])
        spearman, _ = _pairwise_corr(ranked, w)
        i, j = np.triu_indices(len(num_names), k=1)
        for method, values in (("pearson", pearson), ("spearman", spearman)):
            rows.append(
                pd.DataFrame(
                    {
                        "left": np.array(num_names, dtype=object)[i],
                        "right": np.array(num_names, dtype=object)[j],
                        "method": method,
                        "value": values[i, j],
                        "n": counts[i, j].astype(np.int64),
                    }
                )
            )
    pairs = []
    for ia, a in enumerate(names):
        for b in names[ia + 1 :]:
            if a in numeric and b in numeric:
                continue
            if a in categorical and b in categorical:
                v, n = _cramers_v(*categorical[a], *categorical[b], w)
                pairs.append((a, b, "cramers_v", v, n))
            elif a in categorical and b in numeric:
                v, n = _correlation_ratio(*categorical[a], numeric[b], w)
                pairs.append((a, b, "correlation_ratio", v, n))
            elif b in categorical and a in numeric:
                v, n = _correlation_ratio(*categorical[b], numeric[a], w)
                pairs.append((a, b, "correlation_ratio", v, n))
    if pairs:
        rows.append(pd.DataFrame(pairs, columns=["left", "right", "method", "value", "n"]))
    if not rows:
        return pd.DataFrame({"left": [], "right": [], "method": [], "value": [], "n": []}).astype(
            {"value": float, "n": np.int64}
        )
    out = pd.concat(rows, ignore_index=True)
    out["n"] = out["n"].astype(np.int64)
    return out


# --------------------------------------------------------------------------- proxies
def _proxy_codes(series: pd.Series, kind: str, w=None) -> tuple[np.ndarray, int]:
    """Bin a feature for proxy measures: (weighted) quantile bins (numeric) or capped categories;
    missing values get a bin of their own."""
    if kind == "numeric":
        values = numeric_values(series)
        ok = ~np.isnan(values)
        if not ok.any():
            return np.zeros(len(values), dtype=np.int64), 1
        inner = np.linspace(0, 1, _PROXY_BINS + 1)[1:-1]
        if w is None:
            edges = np.unique(np.quantile(values[ok], inner))
        else:
            edges = np.unique(weighted_quantiles(values[ok], w[ok], inner))
        codes = np.searchsorted(edges, values, side="right").astype(np.int64)
        k = len(edges) + 1
    else:
        codes, levels = encode_categories(series)
        codes, k = _cap_levels(codes, len(levels))
        ok = codes >= 0
    if (~ok).any():
        codes = np.where(ok, codes, k)
        k += 1
    return codes, k


def _mutual_information(table: np.ndarray) -> float:
    """Mutual information (nats) of a contingency table, as sklearn.metrics.mutual_info_score."""
    n = table.sum()
    if n == 0:
        return np.nan
    p = table / n
    outer = p.sum(axis=1, keepdims=True) * p.sum(axis=0, keepdims=True)
    nz = p > 0
    return float(max((p[nz] * np.log(p[nz] / outer[nz])).sum(), 0.0))


def _grouped_auc(score: np.ndarray, pos: np.ndarray, neg: np.ndarray) -> float:
    """Exact ROC AUC (ties count half) when rows come in cells sharing one score each."""
    n_pos, n_neg = pos.sum(), neg.sum()
    if n_pos == 0 or n_neg == 0:
        return np.nan
    unique, inverse = np.unique(score, return_inverse=True)
    p = np.bincount(inverse, weights=pos, minlength=unique.size)
    q = np.bincount(inverse, weights=neg, minlength=unique.size)
    below = np.cumsum(p) - p  # positives with a lower score
    # AUC = P(score_pos > score_neg) + 0.5 P(tie): sum over negatives of positives above them
    above = n_pos - below - p
    return float((q * (above + 0.5 * p)).sum() / (n_pos * n_neg))


def _feature_proxy(x_codes, kx, s_codes, ks, fold, w=None) -> tuple[float, float]:
    """Mutual information and cross-fitted one-vs-rest macro AUC of ``P(s | x bin)`` (rows
    weighted by ``w`` when given)."""
    index = (fold * kx + x_codes) * ks + s_codes
    counts = np.bincount(index, weights=w, minlength=2 * kx * ks).reshape(2, kx, ks).astype(float)
    mi = _mutual_information(counts.sum(axis=0))
    prior = counts.sum(axis=(0, 1)) / counts.sum()
    # score of rows in fold f comes from the other fold, smoothed toward the prior
    other = counts[::-1]
    score = (other + prior) / (other.sum(axis=2, keepdims=True) + 1.0)  # (2, kx, ks)
    total = counts.sum(axis=2)  # rows per (fold, bin)
    aucs = []
    present = prior > 0
    classes = np.flatnonzero(present)
    if classes.size < 2:
        return mi, np.nan
    if classes.size == 2:
        classes = classes[1:]
    for c in classes:  # a handful of groups, each on (2 x bins) cells
        pos = counts[:, :, c].ravel()
        aucs.append(_grouped_auc(score[:, :, c].ravel(), pos, total.ravel() - pos))
    return mi, float(np.nanmean(aucs))


def _entropy(codes: np.ndarray, k: int, w=None) -> float:
    counts = np.bincount(codes, weights=w, minlength=k)
    p = counts / counts.sum()
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def _all_features_auc(X: pd.DataFrame, s_codes: np.ndarray, random_state: int, w=None) -> float:
    """Held-out AUC of a small gradient-boosting model predicting the attribute from every
    feature (fitted and scored with the rows' weights ``w`` when given)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    w = np.ones(len(s_codes)) if w is None else np.asarray(w, dtype=float)
    present, s = np.unique(s_codes, return_inverse=True)
    counts = np.bincount(s)
    if present.size < 2 or counts.min() < 5:
        keep = np.isin(s, np.flatnonzero(counts >= 5))
        X, s, w = X[keep], s[keep], w[keep]
        present, s = np.unique(s, return_inverse=True)
        if present.size < 2:
            return np.nan
    X_train, X_test, s_train, s_test, w_train, w_test = train_test_split(
        X, s, w, test_size=0.3, stratify=s, random_state=random_state
    )
    model = HistGradientBoostingClassifier(
        categorical_features="from_dtype",
        max_iter=60,
        learning_rate=0.15,
        random_state=random_state,
    )
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="openmp"):  # a small model: threads do not pay off
        model.fit(X_train, s_train, sample_weight=w_train)
        proba = model.predict_proba(X_test)
    if proba.shape[1] == 2:
        return float(roc_auc_score(s_test, proba[:, 1], sample_weight=w_test))
    if len(np.unique(s_test)) < proba.shape[1]:
        return np.nan
    return float(
        roc_auc_score(s_test, proba, multi_class="ovr", average="macro", sample_weight=w_test)
    )


def _proxies(ds, kinds, features, encoding, rng, *, proxy_sample: int, random_state: int):
    frame = ds.frame
    n = len(frame)
    w = ds.weights
    fold = (rng.random(n) < 0.5).astype(np.int64)
    binned = {f: _proxy_codes(frame[f], kinds[f], w) for f in features if kinds[f] != "text"}
    rows = []
    for i, attribute in enumerate(encoding.names):
        s_codes, ks = encoding.codes[i], len(encoding.levels[i])
        h = _entropy(s_codes, ks, w)
        for feature, (x_codes, kx) in binned.items():
            mi, auc = _feature_proxy(x_codes, kx, s_codes, ks, fold, w)
            rows.append((attribute, feature, mi, mi / h if h > 0 else np.nan, auc, n))
        if binned and proxy_sample:
            take = (
                rng.choice(n, size=proxy_sample, replace=False)
                if n > proxy_sample
                else np.arange(n)
            )
            X = model_frame(frame.iloc[take][list(binned)])
            auc = _all_features_auc(X, s_codes[take], random_state, None if w is None else w[take])
            rows.append((attribute, "(all features)", np.nan, np.nan, auc, len(take)))
    columns = ["attribute", "feature", "mutual_information", "normalized_mi", "auc", "n"]
    out = pd.DataFrame(rows, columns=columns)
    return out.astype({"mutual_information": float, "normalized_mi": float, "auc": float})


# --------------------------------------------------------------------------- findings
def _strong_proxies(proxies: pd.DataFrame, proxy_auc: float) -> pd.DataFrame:
    """Rows of the proxy table with an AUC of at least ``proxy_auc`` (NaN AUCs excluded)."""
    return proxies[proxies["auc"].ge(proxy_auc)].reset_index(drop=True)


def proxy_title(row) -> str:
    """'<feature> is a strong proxy for <attribute>' for one row of the proxy table."""
    if row.feature == "(all features)":
        return f"The features together predict {row.attribute}"
    return f"{row.feature} is a strong proxy for {row.attribute}"


def proxy_measures(row) -> str:
    """'AUC 0.842, normalized mutual information 0.215' for one row of the proxy table."""
    if row.feature == "(all features)":
        return f"AUC {row.auc:.3f}"
    return f"AUC {row.auc:.3f}, normalized mutual information {row.normalized_mi:.3f}"


def _findings(stats: pd.DataFrame, proxies: pd.DataFrame, proxy_auc: float) -> list[Finding]:
    findings = []
    for row in _strong_proxies(proxies, proxy_auc).itertuples(index=False):
        findings.append(
            Finding(
                "warning",
                proxy_title(row),
                f"{proxy_measures(row)} for predicting {row.attribute}. Dropping the sensitive "
                f"attribute does not remove this information; check outcomes per group.",
                slice=row.attribute,
            )
        )
    overall = stats[stats["attribute"] == "overall"]
    for row in overall.itertuples(index=False):
        if row.missing > 0:
            rate = row.missing_rate
            of = f"{int(row.missing):,} of {int(row.rows):,} rows"
            if "weight" in stats.columns:
                of = f"{row.missing:,.1f} of {row.weight:,.1f} (weighted rows)"
            findings.append(
                Finding(
                    "warning" if rate >= 0.05 else "info",
                    f"{row.column} has missing values",
                    f"{of} ({rate:.2%}) are missing.",
                )
            )
        if row.count > 0 and row.distinct <= 1:
            findings.append(
                Finding("warning", f"{row.column} is constant", "It carries no information.")
            )
    grouped = stats[(stats["attribute"] != "overall") & (stats["rows"] >= 30)]
    if len(grouped):
        spread = grouped.groupby(["column", "attribute"], sort=False)["missing_rate"].agg(
            ["min", "max", "idxmax"]
        )
        spread["gap"] = spread["max"] - spread["min"]
        spread = spread[(spread["gap"] >= 0.05) & (spread["max"] >= 2 * spread["min"])]
        # one finding per column: the attribute (or intersection) with the widest gap
        worst_rows = spread.reset_index().sort_values("gap", ascending=False)
        for row in worst_rows.drop_duplicates("column").itertuples(index=False):
            worst = grouped.loc[row.idxmax, "group"]
            findings.append(
                Finding(
                    "warning",
                    f"Missingness of {row.column} differs by {row.attribute}",
                    f"{row.max:.1%} missing for {row.attribute}={worst} against "
                    f"{row.min:.1%} in the least affected group; imputation or dropping "
                    f"rows would hit groups unequally.",
                    slice=f"{row.attribute}={worst}",
                )
            )
    return findings


# --------------------------------------------------------------------------- entry point
def _roles(ds, columns) -> dict[str, str]:
    """Each profiled column's role in the Dataset; sensitive attributes are always kept."""
    roles = {}
    for name in ds.columns:
        if name in ds.sensitive_names:
            roles[name] = "sensitive"
        elif name == ds.target:
            roles[name] = "target"
        elif name == ds.prediction:
            roles[name] = "prediction"
        elif name == ds.score:
            roles[name] = "score"
        elif name in ds.feature_names:
            roles[name] = "feature"
        elif name == ds.weight:
            roles[name] = "weight"
        else:
            roles[name] = "other"
    if columns is None:
        return roles
    columns = [columns] if isinstance(columns, str) else list(columns)
    for c in columns:
        if c not in ds.columns:
            ds._check_column(c, "profile")
    return {c: r for c, r in roles.items() if c in columns or r == "sensitive"}


def _tables(stat_parts, hist_parts, cat_parts):
    """The stats, histogram and category tables from their per-column parts."""
    stats = pd.concat(stat_parts, ignore_index=True)
    for column in ("mean", "std", *QUANTILE_NAMES):
        if column not in stats.columns:
            stats[column] = np.nan
    weighted = "weight" in stats.columns
    counts = ("rows",) if weighted else ("rows", "count", "missing")
    stats = stats.astype({c: np.int64 for c in counts})
    stats["distinct"] = stats["distinct"].astype(float)
    total = stats["weight" if weighted else "rows"]
    with np.errstate(invalid="ignore", divide="ignore"):
        stats.insert(
            stats.columns.get_loc("missing") + 1,
            "missing_rate",
            stats["missing"] / total.where(total > 0),
        )
    histograms = (
        pd.concat(hist_parts, ignore_index=True)
        if hist_parts
        else pd.DataFrame(
            columns=["column", "attribute", "group", "bin", "left", "right", "count", "share"]
        )
    )
    categories = (
        pd.concat(cat_parts, ignore_index=True)
        if cat_parts
        else pd.DataFrame(columns=["column", "attribute", "group", "category", "count", "share"])
    )
    return stats, histograms, categories


def _empty_proxies() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "attribute": pd.Series([], dtype=object),
            "feature": pd.Series([], dtype=object),
            "mutual_information": pd.Series([], dtype=float),
            "normalized_mi": pd.Series([], dtype=float),
            "auc": pd.Series([], dtype=float),
            "n": pd.Series([], dtype=np.int64),
        }
    )


@recorded("data.profile")
@validate_params(
    bins=Interval(int, 1, None),
    top_k=Interval(int, 1, None),
    proxies=bool,
    proxy_auc=Interval(float, 0, 1),
    proxy_sample=Interval(int, 0, None),
    association_sample=Interval(int, 0, None),
    random_state=RANDOM_STATE,
)
def profile(
    data,
    *,
    bins: int = 20,
    top_k: int = 10,
    columns=None,
    proxies: bool = True,
    proxy_auc: float = _DEFAULT_PROXY_AUC,
    proxy_sample: int = 20_000,
    association_sample: int = 200_000,
    random_state=None,
    ledger=None,
) -> ProfileResult:
    """Profile a Dataset: per-column statistics overall and per group, associations and proxies.

    Parameters
    ----------
    data : Dataset
        The data (its sensitive attributes define the groups). With a ``weight`` role every
        count, share, moment, quantile, association and proxy is weighted (see
        :class:`ProfileResult`'s ``stats``).
    bins : int, default 20
        Equal-width histogram bins per numeric column (shared by all groups).
    top_k : int, default 10
        Categories listed per categorical column; the rest are merged as ``"(other)"``.
    columns : list of str, optional
        Columns to profile (default: every column). Sensitive attributes are always kept.
    proxies : bool, default True
        Measure how well each feature predicts each sensitive attribute.
    proxy_auc : float, default 0.8
        AUC from which a feature (or all features together) is reported as a strong proxy.
    proxy_sample : int, default 20000
        Rows used to fit the all-features proxy model (0 skips it).
    association_sample : int, default 200000
        Associations are computed on a random sample of at most this many rows (0 skips them).
    random_state : int, Generator or None, default None
        Seed for the samples and the cross-fitting folds; ``None`` draws a fresh seed, recorded
        in the ledger.
    ledger : raikit.ledger.Ledger or path, optional
        Record the result as evidence (inside :func:`raikit.track` it is recorded anyway).

    Returns
    -------
    ProfileResult

    Raises
    ------
    ColumnError
        A name in ``columns`` is not a column of ``data``.
    ParameterError
        ``data`` is not a Dataset, or a parameter is out of its range (``bins=0``,
        ``proxy_auc=2``...).

    See Also
    --------
    raikit.data.representation : group shares and base rates.

    Examples
    --------
    >>> from raikit.data import profile
    >>> from raikit.datasets import load_german_credit
    >>> result = profile(load_german_credit(), proxy_sample=0, random_state=0)
    >>> result.columns.loc["age", ["count", "missing", "min", "median", "max"]].tolist()
    [1000.0, 0.0, 19.0, 33.0, 75.0]
    >>> result.by_group("age").loc[("sex", "Female"), "count"]
    np.int64(310)
    >>> p = result.proxies.set_index(["attribute", "feature"])
    >>> bool(p.loc[("sex", "personal_status"), "auc"] > 0.99)
    True
    """
    ds = check_dataset(data, caller="profile")
    roles = _roles(ds, columns)
    stat_parts, hist_parts, cat_parts, kinds, scale_meta = _column_parts(ds, roles, bins, top_k)
    rows_needed = max(association_sample, proxy_sample if proxies else 0)
    rows_ds = ds._rows_for(rows_needed, "profile's associations and proxies", random_state)
    frame = rows_ds.frame
    encoding = encode_sensitive(rows_ds)
    stats, histograms, categories = _tables(stat_parts, hist_parts, cat_parts)
    rng = rng_from(random_state)
    features = [c for c, r in roles.items() if r == "feature"]
    assoc_names = [c for c in features if kinds[c] != "text"]
    if ds.target is not None and ds.target in roles:
        assoc_names.append(ds.target)
    sample = frame
    if len(frame) > association_sample:
        sample = frame.iloc[np.sort(rng.choice(len(frame), association_sample, replace=False))]
    weights = None if ds.weight is None else sample[ds.weight].to_numpy(dtype=float)
    associations = _associations(sample, kinds, assoc_names if association_sample else [], weights)
    proxy_table = _empty_proxies()
    if proxies and features:
        seed = int(rng.integers(2**31 - 1))
        proxy_table = _proxies(
            rows_ds, kinds, features, encoding, rng, proxy_sample=proxy_sample, random_state=seed
        )
    return ProfileResult(
        stats=stats,
        histograms=histograms,
        categories=categories,
        associations=associations,
        proxies=proxy_table,
        roles=roles,
        n_rows=ds.n_rows,
        sensitive_names=list(ds.sensitive_names),
        findings=tuple(_findings(stats, proxy_table, proxy_auc)),
        meta={
            "weight": ds.weight,
            "bins": bins,
            "top_k": top_k,
            "proxy_auc": proxy_auc,
            "proxy_sample": proxy_sample,
            "association_rows": len(sample),
            "random_state": random_state,
            "dataset": ds.name,
            "proxy_rows": len(frame),
            **scale_meta,
        },
    )
