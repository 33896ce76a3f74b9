"""``drift``: does current (serving, production, new) data still look like the reference data?

Per column the test fits the column: two-sample Kolmogorov–Smirnov with the Wasserstein distance for
numeric columns; chi-square homogeneity with Jensen–Shannon distance, PSI and TFDV's L-infinity
distance for categorical ones (and for numeric columns with few distinct values). The same tests run
within every sensitive group, because drift that hits one group only is invisible overall. p-values are
adjusted for multiple testing (Benjamini–Hochberg by default).

One path serves every pair of samples, in memory (pandas), on files (DuckDB) or on Spark, mixed
or not: each side's Dataset is asked for its own aggregates where its rows live, per grouping set
(everyone, each sensitive attribute, their intersection) and with its weight role applied: counts
and missing values (:meth:`~raikit.Dataset.aggregate`), category counts (``aggregate`` by the
groups and the column), and for numeric columns value-ordered histogram pieces
(:meth:`~raikit.Dataset.histogram` over the union's range, cut at the reference's deciles). One
piece of math then turns both sides' pieces into every group's statistics, without a Python loop:

* counts, missing shares and the chi-square / Jensen-Shannon / PSI / L-infinity statistics on
  categories: exact on every backend.
* KS statistic and Wasserstein distance: from the pieces of both sides merged in value order. In
  memory every piece holds one value, so both are exact (``meta["ks"] == "exact"``, bounds 0). A
  lazy side gives one piece per histogram bin (2,048 over the union's range) with its smallest and
  largest value: the KS statistic is then the exact supremum over piece boundaries, a lower bound
  of the true one, and ``meta["ks_error_bound"]`` bounds the gap; the Wasserstein distance uses the
  trapezoid rule inside pieces, within ``meta["wasserstein_error_bound"]``. Both bounds are
  guarantees, 0 when every piece holds one value (integer columns with a small range).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from raikit._aggregate import free_name
from raikit._errors import ColumnError, DataError, ParameterError
from raikit._grouping import encode_groups
from raikit._recording import recorded
from raikit._result import Finding, Result
from raikit._validation import ALPHA, Interval, Options, validate_params
from raikit.data._common import Family, column_kind, small_codes, untested_groups_finding
from raikit.metrics._stats import MIN_GROUP_SIZE

__all__ = ["DriftResult", "drift"]

CORRECTIONS = ("fdr_bh", "holm", "bonferroni", "none")
TESTS = ("auto", "ks", "chi2")
_FEW_LEVELS = 20  # numeric columns with at most this many distinct values are tested as categories
_PSI_BINS = 10
_MAX_CATEGORIES = 1000  # categorical columns with more levels (and > half the rows) are skipped
_PSI_EPS = 1e-4


# --------------------------------------------------------------------------- the result
@dataclass(frozen=True, eq=False)
class DriftResult(Result):
    """Drift per column, overall and within each sensitive group.

    Attributes
    ----------
    table : DataFrame
        Tidy: one row per (attribute, group, column). ``attribute``/``group`` are ``"overall"`` for
        the whole population. Columns: ``kind``, ``test`` (``ks`` or ``chi2``), ``statistic``,
        ``p_value``, ``p_adjusted``, ``effect`` and ``effect_name`` (the Wasserstein distance in
        reference standard deviations for ``ks``, the Jensen–Shannon distance for ``chi2``),
        ``wasserstein``, ``psi``, ``js_distance``, ``linf`` (largest change in a category's share),
        ``n_reference``, ``n_current``, ``missing_reference``, ``missing_current`` (shares) and
        ``drifted``.
    threshold : float
        Significance level applied to the adjusted p-values.
    correction : str
        ``fdr_bh``, ``holm``, ``bonferroni`` or ``none``. The overall tests form one family and
        the per-group tests another.
    sensitive_names : list of str
        The sensitive attributes used for groups.
    findings : tuple of Finding
        Drifting columns, drift confined to some groups, groups too small to test.
    meta : dict
        Settings.

    See Also
    --------
    drift : computes it.
    MultivariateDriftResult : drift of the columns taken together.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from raikit.data import drift
    >>> rng = np.random.default_rng(0)
    >>> ref = pd.DataFrame({"x": rng.normal(size=300), "s": rng.choice(["a", "b"], 300)})
    >>> cur = ref.assign(x=ref["x"] + 1)
    >>> r = drift(reference=ref, current=cur, by_group=False)
    >>> r.drifted_columns, r.correction
    (['x'], 'fdr_bh')
    """

    table: pd.DataFrame
    threshold: float
    correction: str
    sensitive_names: list
    findings: tuple = field(default_factory=tuple)
    meta: dict = field(default_factory=dict)

    @property
    def columns_table(self) -> pd.DataFrame:
        """Overall drift, one row per column."""
        rows = self.table[self.table["attribute"] == "overall"]
        return rows.drop(columns=["attribute", "group"]).reset_index(drop=True)

    @property
    def by_group(self) -> pd.DataFrame:
        """Drift within each sensitive group (and intersection)."""
        return self.table[self.table["attribute"] != "overall"].reset_index(drop=True)

    @property
    def drifted_columns(self) -> list[str]:
        """Columns whose overall distribution drifted."""
        table = self.columns_table
        return table.loc[table["drifted"], "column"].tolist()

    @property
    def drifted_groups(self) -> pd.DataFrame:
        """(attribute, group, column) rows that drifted within a group."""
        table = self.by_group
        return table.loc[
            table["drifted"], ["attribute", "group", "column", "test", "p_adjusted", "effect"]
        ].reset_index(drop=True)

    @property
    def summary(self) -> str:
        table = self.columns_table
        drifted = table[table["drifted"]].sort_values("effect", ascending=False)
        text = (
            f"{len(drifted)} of {len(table)} column(s) drift "
            f"({self.correction}-adjusted p < {self.threshold:g})"
        )
        if len(drifted):
            shown = ", ".join(
                f"{r.column} ({r.effect_name} {r.effect:.3f})" for r in drifted.head(4).itertuples()
            )
            text += f": {shown}"
        groups = self.drifted_groups
        if len(groups):
            text += f"; {len(groups)} (group, column) pair(s) drift within groups"
        return text + f"; {len(self.findings)} finding(s)."

    def figures(self) -> list:
        from raikit.data._figures import drift_figures

        return drift_figures(self)


# --------------------------------------------------------------------------- statistics
def adjust_pvalues(p: np.ndarray, method: str) -> np.ndarray:
    """Adjusted p-values (NaN kept): Benjamini–Hochberg, Holm, Bonferroni or none.

    Parameters
    ----------
    p : ndarray
        The p-values of one family of tests; NaN (a test not run) stays NaN.
    method : {"fdr_bh", "holm", "bonferroni", "none"}
        Benjamini-Hochberg (false discovery rate), Holm or Bonferroni (family-wise error), or none.

    Returns
    -------
    ndarray
        The adjusted p-values, in the order of ``p``.

    See Also
    --------
    drift : adjusts its column and group tests with it.

    Examples
    --------
    >>> from raikit.data._drift import adjust_pvalues
    >>> adjust_pvalues(np.array([0.01, 0.04, 0.03, np.nan]), "fdr_bh").round(3).tolist()
    [0.03, 0.04, 0.04, nan]
    """
    if method not in CORRECTIONS:
        raise ParameterError(
            f"adjust_pvalues(): method must be one of {CORRECTIONS}; got {method!r}."
        )
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if m == 0 or method == "none":
        out[ok] = p[ok]
        return out
    values = p[ok]
    if method == "bonferroni":
        out[ok] = np.minimum(values * m, 1.0)
        return out
    order = np.argsort(values, kind="stable")
    ranked = values[order]
    if method == "holm":
        adjusted = np.maximum.accumulate(ranked * (m - np.arange(m)))
    else:  # fdr_bh
        adjusted = np.minimum.accumulate((ranked * m / np.arange(1, m + 1))[::-1])[::-1]
    result = np.empty(m)
    result[order] = np.minimum(adjusted, 1.0)
    out[ok] = result
    return out


_KS_LIMIT_N = 100_000  # above this effective size, the Kolmogorov limit (scipy's kstwo is slow)


def ks_pvalue(ks: np.ndarray, n_ref: np.ndarray, n_cur: np.ndarray) -> np.ndarray:
    """Asymptotic two-sided p-value of the two-sample KS statistic, as
    ``scipy.stats.ks_2samp(method="asymp")``.

    For an effective size ``n m / (n + m)`` above 100,000, scipy's ``kstwo`` takes seconds per
    value; there the Kolmogorov limit with Stephens' correction,
    ``Q((sqrt(en) + 0.12 + 0.11 / sqrt(en)) D)``, is used instead (within 2e-4 of ``kstwo`` at
    100,000 and closer above).
    """
    from scipy.stats import kstwo, kstwobign

    with np.errstate(invalid="ignore", divide="ignore"):
        en = np.round(n_ref * n_cur / (n_ref + n_cur))
    out = np.full(ks.shape, np.nan)
    ok = ~np.isnan(ks) & (en > 0)
    small = ok & (en <= _KS_LIMIT_N)
    large = ok & (en > _KS_LIMIT_N)
    out[small] = np.clip(kstwo.sf(ks[small], en[small]), 0, 1)
    root = np.sqrt(en[large])
    out[large] = np.clip(kstwobign.sf((root + 0.12 + 0.11 / root) * ks[large]), 0, 1)
    return out


def distribution_distances(ref: np.ndarray, cur: np.ndarray):
    """Chi-square homogeneity test, JS distance (base 2), PSI and L-infinity per row of two
    (groups, categories) count tables.

    Parameters
    ----------
    ref, cur : ndarray of shape (groups, categories)
        Counts of each category per group, in the reference and the current sample.

    Returns
    -------
    tuple of ndarray
        ``(statistic, p_value, js_distance, psi, linf)``, one value per group (row).

    See Also
    --------
    drift : uses it for categorical columns.

    Examples
    --------
    >>> import numpy as np
    >>> from raikit.data import distribution_distances
    >>> ref = np.array([[50, 50]])
    >>> _, p_value, js, psi, linf = distribution_distances(ref, np.array([[80, 20]]))
    >>> round(float(linf[0]), 6), bool(p_value[0] < 0.001)
    (0.3, True)
    """
    from scipy.stats import chi2

    ref = ref.astype(float)
    cur = cur.astype(float)
    n_ref = ref.sum(axis=1, keepdims=True)
    n_cur = cur.sum(axis=1, keepdims=True)
    total = ref + cur
    n = n_ref + n_cur
    with np.errstate(invalid="ignore", divide="ignore"):
        e_ref = n_ref * total / n
        e_cur = n_cur * total / n
        terms = np.where(total > 0, (ref - e_ref) ** 2 / e_ref + (cur - e_cur) ** 2 / e_cur, 0.0)
        stat = terms.sum(axis=1)
        dof = (total > 0).sum(axis=1) - 1
        p = np.where(dof > 0, chi2.sf(stat, np.maximum(dof, 1)), 1.0)
        p_ref = ref / n_ref
        p_cur = cur / n_cur
        mid = (p_ref + p_cur) / 2
        kl_ref = np.where(p_ref > 0, p_ref * np.log2(p_ref / mid), 0.0).sum(axis=1)
        kl_cur = np.where(p_cur > 0, p_cur * np.log2(p_cur / mid), 0.0).sum(axis=1)
        js = np.sqrt(np.maximum((kl_ref + kl_cur) / 2, 0.0))
        a = np.maximum(p_ref, _PSI_EPS)
        b = np.maximum(p_cur, _PSI_EPS)
        psi = ((b - a) * np.log(b / a)).sum(axis=1)
        linf = np.abs(p_ref - p_cur).max(axis=1) if ref.shape[1] else np.zeros(len(ref))
    empty = (n_ref[:, 0] == 0) | (n_cur[:, 0] == 0)
    for array in (stat, p, js, psi, linf):
        array[empty] = np.nan
    return stat, p, js, psi, linf


def _categorical_rows(fam: Family, ref_t, cur_t) -> pd.DataFrame:
    """Chi-square drift rows of one family from its (groups, categories + missing) tables; the
    in-memory and the SQL paths both end here."""
    stat, p, js, psi, linf = distribution_distances(ref_t, cur_t)
    n_ref, n_cur = ref_t.sum(axis=1), cur_t.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        missing_ref = ref_t[:, -1] / n_ref
        missing_cur = cur_t[:, -1] / n_cur
    nothing = np.full(fam.n_groups, np.nan)
    return _rows(
        fam, "chi2", stat, p, js, "js_distance", nothing, psi, js, linf,
        n_ref, n_cur, missing_ref, missing_cur,
    )  # fmt: skip


def _numeric_rows(fam: Family, test, tables, ks, wasserstein, scale, n_ref, n_cur, missing):
    """Drift rows of one numeric column and family: KS with the Wasserstein distance in
    reference standard deviations as effect, or chi-square on the reference deciles with the JS
    distance; PSI, JS and L-infinity always from the decile tables. Both paths end here."""
    chi_stat, chi_p, js, psi, linf = distribution_distances(*tables)
    with np.errstate(invalid="ignore", divide="ignore"):
        if scale > 0:
            effect = wasserstein / scale
        else:
            effect = np.where(wasserstein > 0, np.inf, 0.0)
    if test == "ks":
        statistic, p_value, name = ks, ks_pvalue(ks, n_ref, n_cur), "wasserstein_std"
    else:
        statistic, p_value, name, effect = chi_stat, chi_p, "js_distance", js
    return _rows(
        fam, test, statistic, p_value, effect, name, wasserstein, psi, js, linf,
        n_ref, n_cur, *missing,
    )  # fmt: skip


def _rows(
    fam,
    test,
    statistic,
    p_value,
    effect,
    effect_name,
    wasserstein,
    psi,
    js,
    linf,
    n_ref,
    n_cur,
    missing_ref,
    missing_cur,
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "attribute": fam.attribute,
            "group": fam.labels,
            "test": test,
            "statistic": statistic,
            "p_value": p_value,
            "effect": effect,
            "effect_name": effect_name,
            "wasserstein": wasserstein,
            "psi": psi,
            "js_distance": js,
            "linf": linf,
            "n_reference": _as_counts(n_ref),
            "n_current": _as_counts(n_cur),
            "missing_reference": missing_ref,
            "missing_current": missing_cur,
        }
    )


def _as_counts(n) -> np.ndarray:
    """Row counts as integers; effective (weighted) numbers of rows stay floats."""
    n = np.asarray(n, dtype=float)
    whole = np.isfinite(n).all() and (n == np.round(n)).all()
    return n.astype(np.int64) if whole else n


# --------------------------------------------------------------------------- both sides
class _Sides:
    """The two samples and their groups.

    Every statistic is asked of each side's own Dataset where its rows live (pandas, DuckDB or
    Spark alike), per grouping set (everyone, each sensitive attribute, their intersection);
    :meth:`locate` maps each returned row to a group of the union of both sides' groups, labelled
    as :func:`raikit.data._common.families` labels them.
    """

    def __init__(self, reference, current, sensitive: list[str], missing_group):
        self.data = (reference, current)
        self.weights = (reference.weight, current.weight)
        self.n_rows = (reference.n_rows, current.n_rows)
        self.names = list(sensitive)
        self.missing_group = missing_group
        k = len(self.names)
        self.sets = [[], *([n] for n in self.names)] + ([list(self.names)] if k > 1 else [])
        self.taken = {*reference.columns, *current.columns}

    def count_rows(self, columns: list[str]) -> None:
        """Per side and group: the (weighted) number of rows, the sum of squared weights and the
        (weighted) number of missing values of each column; also fixes the groups."""
        rows, squares = free_name("rows", self.taken), free_name("squares", self.taken)
        missing = [free_name(f"missing{i}", self.taken) for i in range(len(columns))]
        tables = []
        for ds, weight in zip(self.data, self.weights, strict=True):
            stats = {rows: (None, "count")}
            if weight is not None:
                stats[squares] = (weight, "sum")  # weighted sum of the weights: sum of w^2
            stats.update({m: (c, "null_count") for m, c in zip(missing, columns, strict=True)})
            tables.append(ds.aggregate(by=self.sets, stats=stats, weight=weight))
        self._encode(tables)
        self.total, self.factor, self.missing = [], [], []
        for table, weight in zip(tables, self.weights, strict=True):
            gid = self.locate(table)
            total = self.spread(gid, table[rows])
            sq = self.spread(gid, table[squares]) if weight is not None else total
            with np.errstate(invalid="ignore", divide="ignore"):
                # effective rows per unit of weight, (sum w)^2 / sum w^2 / sum w: 1 unweighted
                factor = (
                    np.where(sq > 0, total / sq, 0.0) if weight is not None else np.ones_like(total)
                )
            self.total.append(total)
            self.factor.append(factor)
            self.missing.append([self.spread(gid, table[m]) for m in missing])

    def _encode(self, tables) -> None:
        """The groups: the union of both sides' combinations of sensitive values."""
        self.families = [Family("overall", np.zeros(0, dtype=np.int64), ["overall"])]
        if self.names:
            finest = len(self.sets) - 1
            combos = pd.concat(
                [t.loc[t["grouping_set"] == finest, self.names].astype(object) for t in tables],
                ignore_index=True,
            )
            encoding = encode_groups(combos, missing_group=self.missing_group)
            self._levels = [pd.Index(np.asarray(lv, dtype=object)) for lv in encoding.levels]
            self._combos = pd.MultiIndex.from_arrays(encoding.membership())
            empty = np.zeros(0, dtype=np.int64)
            for i, name in enumerate(self.names):
                self.families.append(Family(name, empty, encoding.labels(i)))
            if len(self.names) > 1:
                self.families.append(Family(encoding.intersection_name, empty, encoding.labels()))
        sizes = np.array([fam.n_groups for fam in self.families])
        self.offsets = np.concatenate([[0], np.cumsum(sizes)])
        self.n_groups = int(self.offsets[-1])
        # the group of every family that each group of the finest family belongs to
        finest = np.arange(sizes[-1])
        up = [np.zeros(sizes[-1], dtype=np.int64)]
        if self.names:
            up += [self.offsets[1 + j] + codes for j, codes in enumerate(encoding.membership())]
        if len(self.names) > 1:
            up.append(self.offsets[-2] + finest)
        self._up = np.stack(up).astype(np.int64)

    def finest_pieces(self, ds, name: str, weight, **options) -> pd.DataFrame:
        """Histogram pieces of one side per group of the finest family only (the coarser
        families are rolled up from them by :meth:`roll_up`: one sort, not one per family)."""
        finest = self.sets[-1]
        table = ds.histogram(name, by=[finest] if finest else None, weight=weight, **options)
        table["grouping_set"] = len(self.sets) - 1  # the finest family's index
        return table

    def roll_up(self, gid: np.ndarray, family: int) -> np.ndarray:
        """The group in ``family`` of each finest-family group ``gid``."""
        return self._up[family][gid - self.offsets[-2]]

    def locate(self, table: pd.DataFrame) -> np.ndarray:
        """The group (an index over every family's groups) of each row of an aggregate."""
        family = table["grouping_set"].to_numpy(np.int64)
        code = np.zeros(len(table), dtype=np.int64)
        found = []
        for i, name in enumerate(self.names):
            # each distinct value is looked up once (a table of pieces has millions of rows)
            codes, uniques = pd.factorize(table[name], use_na_sentinel=False)
            uniques = pd.Series(np.asarray(uniques, dtype=object))
            if self.missing_group is not None:
                uniques = uniques.where(uniques.notna(), self.missing_group)
            found.append(self._levels[i].get_indexer(uniques)[codes])
        for f, group_set in enumerate(self.sets):
            rows = family == f
            if len(group_set) == 1:
                code[rows] = found[self.names.index(group_set[0])][rows]
            elif group_set:
                keys = pd.MultiIndex.from_arrays([values[rows] for values in found])
                code[rows] = self._combos.get_indexer(keys)
        return self.offsets[family] + code

    def spread(self, gid: np.ndarray, values) -> np.ndarray:
        """Sum ``values`` per group (0 where a group has no row)."""
        return np.bincount(gid, weights=np.asarray(values, dtype=float), minlength=self.n_groups)

    def split(self, values: np.ndarray) -> list[np.ndarray]:
        """Per-group values (or rows of a table) cut into one piece per family."""
        return [values[a:b] for a, b in zip(self.offsets[:-1], self.offsets[1:], strict=True)]

    def category_tables(self, name: str):
        """Number of levels and the (groups, levels + missing) tables of both sides, weighted
        tables scaled to effective rows (the shares are the weighted ones)."""
        n = free_name("n", {*self.taken, name})
        found = []
        for ds, weight in zip(self.data, self.weights, strict=True):
            by = [[*group_set, name] for group_set in self.sets]
            table = ds.aggregate(by=by, stats={n: (None, "count")}, weight=weight)
            found.append((self.locate(table), table[name].astype(object), table[n]))
        present = [values[values.notna()] for _, values, _ in found]
        levels = pd.Index(pd.unique(pd.concat(present, ignore_index=True)))
        k = len(levels)
        tables = []
        for (gid, values, counts), factor in zip(found, self.factor, strict=True):
            codes = np.where(values.isna().to_numpy(), k, levels.get_indexer(values))
            cells = np.bincount(
                gid * (k + 1) + codes,
                weights=counts.to_numpy(float),
                minlength=self.n_groups * (k + 1),
            ).reshape(self.n_groups, k + 1)
            tables.append(cells * factor[:, None])
        return k, tables


def _column_facts(sides: _Sides, columns, kinds, dated) -> list[dict]:
    """Per side: distinct values of categorical columns, minimum and maximum of numeric ones (as
    floats; datetimes in nanoseconds); for the reference, the variance of numeric columns."""
    out = []
    for index, ds in enumerate(sides.data):
        stats = {}
        for i, name in enumerate(columns):
            if kinds[name] == "categorical":
                stats[f"d{i}"] = (name, "distinct")
            else:
                stats[f"lo{i}"], stats[f"hi{i}"] = (name, "min"), (name, "max")
                if index == 0 and name not in dated and sides.weights[0] is None:
                    stats[f"var{i}"] = (name, "var")
        row = ds.aggregate(stats=stats).iloc[0]
        facts = {}
        for key, value in row.items():
            if isinstance(value, pd.Timestamp | np.datetime64):
                value = float(pd.Timestamp(value).value)
            facts[key] = np.nan if value is None or pd.isna(value) else float(value)
        out.append(facts)
    return out


def _compare(sides: _Sides, columns, tests):
    """The drift rows of every column (before multiple-testing adjustment), the kinds, the
    skipped columns and the KS / Wasserstein error bounds."""
    kinds, dated = _kinds(sides.data, columns)
    sides.count_rows(columns)
    facts = _column_facts(sides, columns, kinds, dated)
    parts, skipped, bounds = [], [], {"ks": {}, "wasserstein": {}}
    for i, name in enumerate(columns):
        kind = kinds[name]
        test = tests.get(name, "auto") if isinstance(tests, dict) else tests
        if kind == "categorical":
            if isinstance(tests, dict) and tests.get(name) == "ks":
                raise ParameterError(
                    f"drift(): tests[{name!r}] is 'ks', but column {name!r} is categorical; the "
                    f"KS test needs numbers (use 'chi2' or 'auto')."
                )
            # identifiers and free text (more levels than half the rows): nothing to compare
            limit = max(_MAX_CATEGORIES, 0.5 * sum(sides.n_rows))
            distinct = max(f[f"d{i}"] for f in facts)
            counted = sides.category_tables(name) if distinct <= limit else None
            if counted is None or counted[0] > limit:
                skipped.append(name)
                continue
        else:
            prepared = _numeric_pieces(sides, name, facts, i)
            counted = _few_levels(sides, name, prepared) if test != "ks" else None
            if test == "auto":
                test = "chi2" if counted is not None else "ks"
            if test != "chi2":
                counted = None
        if counted is not None:  # categories (and numbers with few values): chi-square
            tables = [sides.split(t) for t in counted[1]]
            column_parts = [
                _categorical_rows(fam, ref, cur)
                for fam, ref, cur in zip(sides.families, *tables, strict=True)
            ]
        else:
            column_parts, ks_bound, w_bound = _numeric_parts(sides, test, prepared, i)
            bounds["ks"][name], bounds["wasserstein"][name] = ks_bound, w_bound
        for part in column_parts:
            part.insert(2, "column", name)
            part.insert(3, "kind", kind)
        parts.extend(column_parts)
    return parts, kinds, skipped, bounds


_DECILES = np.linspace(0, 1, _PSI_BINS + 1)[1:-1]


def _reference_deciles(reference, name: str, weight, span) -> np.ndarray:
    """The distinct deciles of the reference: linear interpolation unweighted (as
    ``np.quantile``); with weights, inverted-CDF quantiles (each an observed value; on lazy data
    at the resolution of the histogram bins)."""
    if weight is None:
        values = reference.quantiles(name, _DECILES)["value"].to_numpy(float)
    else:
        pieces = reference.histogram(name, range=span, weight=weight)
        cum = np.cumsum(pieces["n"].to_numpy(float))
        if not len(cum) or cum[-1] <= 0:
            return np.array([])
        at = np.minimum(np.searchsorted(cum / cum[-1], _DECILES, side="left"), len(cum) - 1)
        values = pieces["hi"].to_numpy(float)[at]
    return np.unique(values[~np.isnan(values)])


def _piece_std(pieces: pd.DataFrame) -> float:
    """Standard deviation (frequency weights, ``ddof=1``) from the overall pieces: exact when
    every piece holds one value, within the bin width otherwise."""
    n = pieces["n"].to_numpy(float)
    total = n.sum()
    if total <= 1:
        return np.nan
    mid = (pieces["lo"].to_numpy(float) + pieces["hi"].to_numpy(float)) / 2
    mean = (n * mid).sum() / total
    return float(np.sqrt((n * (mid - mean) ** 2).sum() / (total - 1)))


def _merge_pieces(sides: _Sides, pieces: list[pd.DataFrame], cut: str):
    """A function of a family's index giving that family's value-ordered pieces of both sides
    as one list per group: ``(group, decile, reference weight, current weight, lo, hi)``
    (groups numbered within the family), merged by value when both sides are exact (one value
    per piece), else by histogram bin and decile."""
    gid = np.concatenate([sides.locate(t) for t in pieces])
    decile = np.concatenate([t[cut].to_numpy(np.int64) for t in pieces])
    fine = np.concatenate([t["bin"].to_numpy(np.int64) for t in pieces])
    lo = np.concatenate([t["lo"].to_numpy(float) for t in pieces])
    hi = np.concatenate([t["hi"].to_numpy(float) for t in pieces])
    n = np.concatenate([t["n"].to_numpy(float) for t in pieces])
    current = np.concatenate([np.full(len(t), bool(s)) for s, t in enumerate(pieces)])
    ref_n, cur_n = np.where(current, 0.0, n), np.where(current, n, 0.0)
    exact = all(t.attrs.get("exact", False) for t in pieces)
    # one sort by value (or bin); per family, a radix sort of its group codes
    by_value = np.argsort(lo, kind="stable") if exact else np.lexsort((decile, fine))
    finest = gid[by_value]
    arrays = (ref_n, cur_n, lo, hi, fine, decile)

    def family(f: int) -> tuple:  # merged one family at a time: only one is held in memory
        group = sides.roll_up(finest, f) - sides.offsets[f]
        return _merge_family(group, by_value, exact, arrays, sides.families[f].n_groups)

    return family


def _merge_family(group, by_value, exact: bool, arrays, n_groups: int):
    """:func:`_merge_pieces` for one family: ``group`` is the family's group of each piece in
    value order."""
    ref_n, cur_n, lo, hi, fine, decile = arrays
    ordered = np.argsort(small_codes(group, n_groups), kind="stable")
    order = by_value[ordered]
    gid = group[ordered]
    value = lo[order]
    change = np.ones(len(order), dtype=bool)
    change[1:] = gid[1:] != gid[:-1]
    if exact:  # one value per piece: merge equal values
        change[1:] |= value[1:] != value[:-1]
    else:  # merge a bin and decile's pieces
        fine, decile_o = fine[order], decile[order]
        change[1:] |= (fine[1:] != fine[:-1]) | (decile_o[1:] != decile_o[:-1])
    starts = np.flatnonzero(change)
    if not len(starts):
        return gid, decile[order], ref_n[order], cur_n[order], value, value
    ref = np.add.reduceat(ref_n[order], starts)
    cur = np.add.reduceat(cur_n[order], starts)
    if exact:
        low = high = value[starts]
    else:
        low = np.minimum.reduceat(value, starts)
        high = np.maximum.reduceat(hi[order], starts)
    return gid[starts], decile[order[starts]], ref, cur, low, high


def _ks_from_pieces(gid, ref, cur, lo, hi, n_groups: int):
    """KS statistic, its upper bound, Wasserstein-1 distance and its error bound of every group
    from value-ordered pieces (sorted by group). With one value per piece all are exact (the
    bounds equal the statistics); a piece spanning values bounds what may happen inside it.

    Examples
    --------
    >>> gid = np.zeros(3, dtype=np.int64)
    >>> ks, upper, w, w_error = _ks_from_pieces(
    ...     gid, np.array([1.0, 1, 0]), np.array([0.0, 1, 1]), np.array([1.0, 2, 3]),
    ...     np.array([1.0, 2, 3]), 1)
    >>> float(ks[0]), float(w[0])  # as scipy.stats.ks_2samp / wasserstein_distance([1, 2], [2, 3])
    (0.5, 1.0)
    """
    n_ref = np.bincount(gid, weights=ref, minlength=n_groups)
    n_cur = np.bincount(gid, weights=cur, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        cum_ref, cum_cur = _cumsum_by(gid, ref), _cumsum_by(gid, cur)
        after = np.nan_to_num(cum_ref / n_ref[gid] - cum_cur / n_cur[gid])  # F_ref - F_cur
        before = np.nan_to_num((cum_ref - ref) / n_ref[gid] - (cum_cur - cur) / n_cur[gid])
        p_ref = np.nan_to_num(ref / n_ref[gid])
        p_cur = np.nan_to_num(cur / n_cur[gid])
    width = hi - lo
    ks, upper = np.zeros(n_groups), np.zeros(n_groups)
    same = np.zeros(len(gid), dtype=bool)
    same[:-1] = gid[1:] == gid[:-1]
    if len(gid):
        starts = np.flatnonzero(np.concatenate([[True], ~same[:-1]]))
        present = gid[starts]
        ks[present] = np.maximum.reduceat(np.abs(after), starts)
        # inside a piece spanning values, either side's rows may come first
        inside = np.where(
            width > 0, np.maximum(np.abs(before - p_cur), np.abs(before + p_ref)), 0.0
        )
        upper[present] = np.maximum(ks[present], np.maximum.reduceat(inside, starts))
    gap = np.zeros(len(gid))  # between pieces |F_ref - F_cur| is constant
    gap[:-1] = np.where(same[:-1], lo[1:] - hi[:-1], 0.0)
    wasserstein = np.bincount(
        gid,
        weights=np.abs(after) * gap + width * (np.abs(before) + np.abs(after)) / 2,
        minlength=n_groups,
    )
    w_error = np.bincount(gid, weights=width * (p_ref + p_cur), minlength=n_groups)
    empty = (n_ref <= 0) | (n_cur <= 0)
    for values in (ks, upper, wasserstein, w_error):
        values[empty] = np.nan
    return ks, upper, wasserstein, w_error


def _cumsum_by(group: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Running sum of ``values`` restarted at each new ``group`` (rows sorted by group)."""
    total = np.cumsum(values)
    if not len(values):
        return total
    start = np.ones(len(values), dtype=bool)
    start[1:] = group[1:] != group[:-1]
    first = np.maximum.accumulate(np.where(start, np.arange(len(values)), 0))
    return total - (total - values)[first]


def _numeric_pieces(sides: _Sides, name: str, facts, i: int) -> dict:
    """Both sides' histogram pieces of a numeric column over the union's range, cut at the
    reference's deciles and merged in value order; and the reference's standard deviation."""
    lows = [f[f"lo{i}"] for f in facts if not np.isnan(f[f"lo{i}"])]
    highs = [f[f"hi{i}"] for f in facts if not np.isnan(f[f"hi{i}"])]
    span = (min(lows), max(highs)) if lows else (0.0, 0.0)
    edges = _reference_deciles(sides.data[0], name, sides.weights[0], span)
    cut = free_name("decile", sides.taken)
    pieces = [
        sides.finest_pieces(ds, name, weight, range=span, cuts={cut: edges})
        for ds, weight in zip(sides.data, sides.weights, strict=True)
    ]
    if f"var{i}" in facts[0]:
        scale = float(np.sqrt(facts[0][f"var{i}"])) if facts[0][f"var{i}"] >= 0 else np.nan
    else:
        scale = _piece_std(pieces[0])
    return {
        "name": name,
        "edges": edges,
        "scale": scale,
        "exact": all(t.attrs.get("exact", False) for t in pieces),
        "merged": _merge_pieces(sides, pieces, cut),
    }


def _few_levels(sides: _Sides, name: str, prepared: dict):
    """The category tables of a numeric column with at most ``_FEW_LEVELS`` distinct values in
    both samples together (None when it has more). Merged exact pieces of the overall family
    are its distinct values; binned ones a lower bound of their number."""
    if len(prepared["merged"](0)[0]) > _FEW_LEVELS:  # the overall family's pieces
        return None
    if not prepared["exact"]:
        distinct = [ds.aggregate(stats={"d": (name, "distinct")})["d"].iloc[0] for ds in sides.data]
        if max(distinct) > _FEW_LEVELS:
            return None
    counted = sides.category_tables(name)
    return counted if counted[0] <= _FEW_LEVELS else None


def _numeric_parts(sides: _Sides, test: str, prepared: dict, i: int):
    """Drift rows of one numeric column: KS and Wasserstein from both sides' histogram pieces,
    chi-square / PSI / JS / L-infinity on the reference deciles; and the KS and Wasserstein
    error bounds (0 when every piece holds one value, as in memory)."""
    edges, scale = prepared["edges"], prepared["scale"]
    k = len(edges) + 1
    parts, ks_bound, w_bound = [], 0.0, 0.0
    for f, fam in enumerate(sides.families):
        gid, decile, ref, cur, lo, hi = prepared["merged"](f)
        g, at = fam.n_groups, slice(sides.offsets[f], sides.offsets[f + 1])
        ks, upper, wasserstein, w_error = _ks_from_pieces(gid, ref, cur, lo, hi, g)
        tables, sizes, missing = [], [], []
        for side, counts in enumerate((ref, cur)):
            factor = sides.factor[side][at]
            cells = np.bincount(gid * k + decile, weights=counts, minlength=g * k)
            tables.append(cells.reshape(g, k) * factor[:, None])
            sizes.append(np.bincount(gid, weights=counts, minlength=g) * factor)
            with np.errstate(invalid="ignore", divide="ignore"):
                missing.append(sides.missing[side][i][at] / sides.total[side][at])
        parts.append(_numeric_rows(fam, test, tables, ks, wasserstein, scale, *sizes, missing))
        tested = ~np.isnan(ks)
        if tested.any():
            ks_bound = max(ks_bound, float(np.max(upper[tested] - ks[tested])))
            w_bound = max(w_bound, float(np.max(w_error[tested])))
    return parts, ks_bound, w_bound


def _kinds(data, columns) -> tuple[dict, set]:
    """Kind of each column (datetime compared as numbers) and the datetime columns."""
    dtypes = [ds.dtypes for ds in data]
    kinds, dated = {}, set()
    for name in columns:
        kind = _kind(*(pd.Series([], dtype=d[name]) for d in dtypes), name)
        if kind == "datetime":
            dated.add(name)
            kind = "numeric"
        kinds[name] = kind
    return kinds, dated


# --------------------------------------------------------------------------- inputs
def _kind(ref: pd.Series, cur: pd.Series, name: str) -> str:
    kinds = {column_kind(ref), column_kind(cur)}
    if kinds <= {"numeric"}:
        return "numeric"
    if "datetime" in kinds:
        if kinds == {"datetime"}:
            return "datetime"
        raise DataError(f"Column {name!r} is a datetime in one table only; convert it first.")
    if "numeric" in kinds and not kinds <= {"numeric", "boolean"}:
        raise DataError(
            f"Column {name!r} is numeric in one table and {kinds - {'numeric'}} in the other; "
            f"the types must match to compare distributions (see raikit.data.validate)."
        )
    return "categorical"


# --------------------------------------------------------------------------- entry point
def _tests_named(tests) -> None:
    """A dict of tests names a known test for every column."""
    if isinstance(tests, dict):
        bad = {c: t for c, t in tests.items() if t not in ("ks", "chi2")}
        if bad:
            raise ParameterError(
                f"drift(): tests maps columns to 'ks' or 'chi2'; got unknown test(s) {bad}."
            )


@recorded("data.drift")
@validate_params(
    tests=[Options(*TESTS), dict],
    alpha=ALPHA,
    correction=Options(*CORRECTIONS),
    by_group=bool,
    min_group_size=Interval(int, 0, None),
    min_effect=[Interval(float, 0, None), None],
)
def drift(
    *,
    reference,
    current,
    tests="auto",
    alpha: float = 0.05,
    correction: str = "fdr_bh",
    columns=None,
    by_group: bool = True,
    min_group_size: int = MIN_GROUP_SIZE,
    min_effect: float | None = None,
    ledger=None,
) -> DriftResult:
    """Compare each column of ``current`` with ``reference``, overall and within each group.

    The same call serves train/serving skew (reference: training data; current: serving data) and
    drift over time (reference: an earlier window).

    Parameters
    ----------
    reference, current : Dataset or DataFrame
        The two samples (keyword-only). The sensitive attributes (the groups) and the default
        columns come from ``reference`` when it is a Dataset, else from ``current``; two
        DataFrames are compared overall only (wrap one in ``Dataset(frame, sensitive=[...])``
        for per-group tests). Either side may be in memory, on files (DuckDB) or a Spark
        DataFrame: each is aggregated where its rows live (see the module notes on what is
        exact). Each Dataset's weight role is honoured on every backend (a side without one
        weighs every row 1): shares, missing rates, PSI, JS and L-infinity are weighted; KS and
        Wasserstein compare the weighted empirical CDFs (as ``scipy.stats.wasserstein_distance``
        with ``u_weights``/``v_weights``); the reference's standard deviation and deciles are
        weighted (deciles as inverted-CDF quantiles, so PSI on numeric columns may differ
        slightly from duplicated rows). scipy has no weighted KS or chi-square test: their
        p-values count effective numbers of rows (reported as ``n_reference``/``n_current``),
        the weight of the rows compared times the group's ``sum(w) / sum(w^2)`` (Kish's
        effective size ``(sum w)^2 / sum w^2`` when no value is missing), an approximation.
    tests : "auto", "ks", "chi2" or dict
        ``auto``: KS for numeric columns with more than 20 distinct values, chi-square otherwise.
        ``"ks"``/``"chi2"`` force one test for every numeric column (chi-square then compares the
        shares in the reference deciles; categorical columns always use chi-square); a dict maps
        column names to a test.
    alpha : float, default 0.05
        Significance level of the adjusted p-values.
    correction : {"fdr_bh", "holm", "bonferroni", "none"}, default "fdr_bh"
        Multiple-testing control: across columns for the overall tests, and across columns and
        groups for the per-group tests.
    columns : list of str, optional
        Columns to compare (default: the reference's features and target).
    by_group : bool, default True
        Also test within each sensitive group and intersection.
    min_group_size : int, default ``raikit.metrics.MIN_GROUP_SIZE`` (30)
        Groups with fewer rows on either side are not tested (their p-value is NaN).
    min_effect : float, optional
        Also require this effect size (Wasserstein in reference standard deviations for KS, JS
        distance for chi-square) before calling a column drifted, so that huge samples do not
        flag negligible shifts.
    ledger : raikit.ledger.Ledger or path, optional
        Record the result as evidence (inside :func:`raikit.track` it is recorded anyway).

    Returns
    -------
    DriftResult

    Raises
    ------
    DataError
        A side is neither a Dataset nor a DataFrame, has no rows, or no column can be compared.
    ColumnError
        A named column or a sensitive attribute is missing from one side.
    ParameterError
        A parameter is out of its domain (``alpha=5``, ``tests="t-test"``...).

    See Also
    --------
    raikit.data.multivariate_drift : drift of the columns taken together.
    raikit.data.adjust_pvalues : the multiple-testing adjustment.

    Examples
    --------
    >>> from raikit.data import drift
    >>> from raikit.datasets import load_adult
    >>> train, test = load_adult(split="train"), load_adult(split="test")
    >>> shifted = test.frame.copy()
    >>> shifted["age"] = shifted["age"] + 5
    >>> result = drift(reference=train, current=test.replace(shifted), by_group=False)
    >>> result.drifted_columns
    ['age']

    Weighted samples compare weighted distributions:

    >>> import pandas as pd
    >>> from raikit import Dataset
    >>> ref = Dataset(pd.DataFrame({"x": [1.0, 2.0], "s": "g", "w": [3.0, 1.0]}),
    ...               target=None, sensitive="s", weight="w")
    >>> cur = Dataset(pd.DataFrame({"x": [1.0, 2.0], "s": "g", "w": [1.0, 3.0]}),
    ...               target=None, sensitive="s", weight="w")
    >>> table = drift(reference=ref, current=cur, columns=["x"], by_group=False).table
    >>> round(float(table["linf"].iloc[0]), 6)  # shares 3/4, 1/4 against 1/4, 3/4
    0.5
    """
    _tests_named(tests)
    reference, current = _as_table(reference, "reference"), _as_table(current, "current")
    columns, sensitive, missing_group, absent = _roles(reference, current, columns)
    sides = _Sides(
        _as_dataset(reference, sensitive, missing_group),
        _as_dataset(current, sensitive, missing_group),
        sensitive if by_group else [],
        missing_group,
    )
    parts, kinds, skipped, bounds = _compare(sides, columns, tests)
    if not parts:
        raise DataError(
            f"No column can be compared: {skipped} look like identifiers or free text (more "
            f"distinct values than half the rows). Name comparable columns (columns=[...], on "
            f"the command line --columns)."
        )
    exact = all(b == 0 for b in bounds["ks"].values())
    scale_meta = {
        "ks": "exact" if exact else "binned",
        "ks_error_bound": bounds["ks"],
        "wasserstein_error_bound": bounds["wasserstein"],
    }
    return _finish(
        pd.concat(parts, ignore_index=True),
        kinds,
        skipped,
        sides.n_rows[0],
        sides.n_rows[1],
        sensitive,
        scale_meta,
        absent=absent,
        tests=tests,
        alpha=alpha,
        correction=correction,
        by_group=by_group,
        min_group_size=min_group_size,
        min_effect=min_effect,
    )


def _as_table(data, label: str):
    """A Dataset or pandas DataFrame (polars converted); anything else is refused."""
    from raikit.dataset import Dataset

    if isinstance(data, Dataset | pd.DataFrame):
        return data
    if type(data).__module__.startswith("polars"):
        return data.to_pandas()
    raise ParameterError(
        f"drift(): {label} must be a raikit.Dataset or a DataFrame, got {type(data).__name__}."
    )


def _as_dataset(data, sensitive: list[str], missing_group):
    """The Dataset of one side; a DataFrame becomes one whose rows weigh 1. (A Dataset needs a
    sensitive attribute: the other side's, else a constant column that groups nothing.)"""
    from raikit.dataset import Dataset

    if isinstance(data, Dataset):
        return data
    if len(data) == 0:
        raise DataError("Drift needs rows on both sides; one side is an empty table.")
    frame = data.reset_index(drop=True)
    frame.columns = [str(c) for c in frame.columns]
    if sensitive:
        return Dataset(frame, target=None, sensitive=sensitive, missing_group=missing_group)
    everyone = free_name("__all_rows__", frame.columns)
    return Dataset(frame.assign(**{everyone: "all"}), target=None, sensitive=everyone)


def _roles(reference, current, columns):
    """Columns and sensitive attributes to compare, from column names only (no rows read).

    Also returns the columns of the default selection (``columns=None``) that one table lacks:
    they are not compared, and the result reports them (serving data often has no label column;
    a missing feature is itself a skew). Columns named by the caller, and the sensitive
    attributes, must be in both tables.
    """
    from raikit.dataset import Dataset

    names = {}
    for label, data in (("reference", reference), ("current", current)):
        if isinstance(data, Dataset):
            names[label] = list(data.columns)
        elif isinstance(data, pd.DataFrame):
            names[label] = [str(c) for c in data.columns]
        else:
            raise ParameterError(
                f"drift(): {label} must be a raikit.Dataset or a DataFrame, got "
                f"{type(data).__name__}."
            )
    ref_ds = reference if isinstance(reference, Dataset) else None
    roles_ds = ref_ds if ref_ds is not None else current if isinstance(current, Dataset) else None
    sensitive = list(roles_ds.sensitive_names) if roles_ds is not None else []
    missing_group = roles_ds.missing_group if roles_ds is not None else None
    absent: dict[str, list[str]] = {}
    if columns is None:
        if ref_ds is not None:
            columns = list(ref_ds.feature_names)
            if ref_ds.target is not None and ref_ds.target in names["current"]:
                columns.append(ref_ds.target)
        else:
            columns = [c for c in names["reference"] if c not in sensitive]
        for label, available in names.items():
            lacking = [c for c in columns if c not in available and c not in sensitive]
            if lacking:
                absent[label] = lacking
        dropped = {c for lacking in absent.values() for c in lacking}
        columns = [c for c in columns if c not in dropped]
    columns = [columns] if isinstance(columns, str) else list(columns)
    for label, available in names.items():
        lacking = [c for c in [*columns, *sensitive] if c not in available]
        if lacking:
            raise ColumnError(
                f"The {label} data lacks column(s) {lacking}; both tables need every compared "
                f"column and sensitive attribute. Pass columns=[...] to compare fewer, or add "
                f"them to the {label} data."
            )
    columns = [c for c in columns if c not in sensitive]
    if not columns:
        raise DataError(
            "No column to compare; name at least one column present in both tables "
            "(columns=[...], on the command line --columns)."
        )
    return columns, sensitive, missing_group, absent


def _finish(
    table,
    kinds,
    skipped,
    n_ref,
    n_cur,
    sensitive,
    scale_meta,
    *,
    absent,
    tests,
    alpha,
    correction,
    by_group,
    min_group_size,
    min_effect,
) -> DriftResult:
    small = (table["n_reference"] < min_group_size) | (table["n_current"] < min_group_size)
    grouped = table["attribute"] != "overall"
    table.loc[small & grouped, ["p_value"]] = np.nan
    table["p_adjusted"] = np.nan
    for mask in (~grouped, grouped):
        table.loc[mask, "p_adjusted"] = adjust_pvalues(
            table.loc[mask, "p_value"].to_numpy(), correction
        )
    drifted = table["p_adjusted"] < alpha
    if min_effect is not None:
        drifted &= table["effect"] >= min_effect
    table["drifted"] = drifted.to_numpy(dtype=bool)
    order = [
        "attribute",
        "group",
        "column",
        "kind",
        "test",
        "statistic",
        "p_value",
        "p_adjusted",
        "effect",
        "effect_name",
        "wasserstein",
        "psi",
        "js_distance",
        "linf",
        "n_reference",
        "n_current",
        "missing_reference",
        "missing_current",
        "drifted",
    ]
    table = table[order]
    findings = _findings(table, alpha, min_group_size)
    if skipped:
        findings.append(
            Finding(
                "info",
                f"{len(skipped)} column(s) not tested",
                f"{skipped} have more distinct values than half the rows (identifiers or free "
                f"text); their distributions cannot be compared.",
            )
        )
    for label, lacking in absent.items():
        other = "current" if label == "reference" else "reference"
        findings.append(
            Finding(
                "warning",
                f"{len(lacking)} column(s) of the {other} data missing from the {label} data",
                f"{lacking} are in the {other} data only, so they were not compared. A feature "
                f"the model needs that is missing at serving time is itself a train/serving "
                f"skew; a label column belongs in the target role (target=, on the command line "
                f"--target), which is compared only when both tables have it.",
            )
        )
    return DriftResult(
        table=table,
        threshold=alpha,
        correction=correction,
        sensitive_names=list(sensitive) if by_group else [],
        findings=tuple(findings),
        meta={
            "tests": tests,
            "min_group_size": min_group_size,
            "min_effect": min_effect,
            "n_reference": n_ref,
            "n_current": n_cur,
            "kinds": kinds,
            "skipped": skipped,
            "not_compared": {f"missing_from_{k}": v for k, v in absent.items()},
            **scale_meta,
        },
    )


def _findings(table: pd.DataFrame, threshold: float, min_group_size: int) -> list[Finding]:
    findings = []
    overall = table[table["attribute"] == "overall"].set_index("column")
    for row in overall[overall["drifted"]].itertuples():
        findings.append(
            Finding(
                "warning",
                f"{row.Index} drifted",
                f"{row.test} statistic {row.statistic:.4g}, adjusted p = {row.p_adjusted:.3g}; "
                f"{row.effect_name} {row.effect:.3f}, PSI {row.psi:.3f}, largest change in a "
                f"share {row.linf:.3f}.",
            )
        )
    grouped = table[table["attribute"] != "overall"]
    hits = grouped[grouped["drifted"]]
    for (attribute, column), part in hits.groupby(["attribute", "column"], sort=False):
        tested = grouped[(grouped["attribute"] == attribute) & (grouped["column"] == column)]
        n_tested = int(tested["p_value"].notna().sum())
        overall_drift = bool(overall.loc[column, "drifted"])
        if overall_drift and len(part) > n_tested / 2:
            continue  # drift in most groups: reported once for the column
        groups = ", ".join(f"{attribute}={g}" for g in part["group"])
        best = part.sort_values("p_adjusted").iloc[0]
        where = "but not overall" if not overall_drift else "and not in the other groups"
        findings.append(
            Finding(
                "warning",
                f"{column} drifted within {len(part)} of {n_tested} {attribute} group(s) only",
                f"Drift in {groups} {where}: for {attribute}={best['group']} adjusted p = "
                f"{best['p_adjusted']:.3g}, {best['effect_name']} {best['effect']:.3f}. Drift "
                f"confined to a group can change that group's error rates unnoticed.",
                slice=f"{attribute}={best['group']}",
            )
        )
    untested = untested_groups_finding(grouped, min_group_size, "drift")
    return findings + ([untested] if untested is not None else [])
