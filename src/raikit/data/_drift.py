"""``drift``: does current (serving, production, new) data still look like the reference data?

Per column the test fits the column: two-sample Kolmogorov–Smirnov with the Wasserstein distance for
numeric columns; chi-square homogeneity with Jensen–Shannon distance, PSI and TFDV's L-infinity
distance for categorical ones (and for numeric columns with few distinct values). The same tests run
within every sensitive group, because drift that hits one group only is invisible overall. p-values are
adjusted for multiple testing (Benjamini–Hochberg by default).

All groups of a column are tested at once: one sort per column, a radix sort of the group codes, and
cumulative counts give every group's KS statistic and Wasserstein distance without a Python loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from raikit._errors import ColumnError, DataError, ParameterError
from raikit._grouping import encode_groups
from raikit._recording import recorded
from raikit._result import Finding, Result
from raikit._validation import ALPHA, Interval, Options, validate_params
from raikit.data._common import (
    Family,
    column_kind,
    encode_categories,
    families,
    numeric_values,
    small_codes,
)
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


def _ks_wasserstein(values, is_current, codes, n_groups, weights=None):
    """Two-sample KS statistic and Wasserstein-1 distance of every group at once.

    ``values`` holds both samples (no NaN), ``is_current`` marks the current one, ``codes`` the
    group of each value. Returns ``(ks, wasserstein, n_reference, n_current)`` per group. With
    ``weights`` both come from the weighted empirical CDFs and the sizes are the effective
    numbers of rows ``(sum w)^2 / sum w^2``.
    """
    if weights is not None:
        return _weighted_ks_wasserstein(values, is_current, codes, n_groups, weights)
    order = np.argsort(values)
    small = small_codes(codes, n_groups)[order]
    if n_groups > 1:
        perm = np.argsort(small, kind="stable")
        order = order[perm]
        small = small[perm]
    v = values[order]
    cur = is_current[order].astype(np.int64)
    c = small.astype(np.int64)
    n = v.size
    n_all = np.bincount(c, minlength=n_groups)
    n_cur = np.bincount(c, weights=cur, minlength=n_groups).astype(np.int64)
    n_ref = n_all - n_cur
    starts = np.cumsum(n_all) - n_all
    cum_cur = np.cumsum(cur)
    before_cur = np.concatenate([[0], cum_cur])[starts]
    within_cur = cum_cur - before_cur[c]
    within_ref = (np.arange(1, n + 1) - starts[c]) - within_cur
    with np.errstate(invalid="ignore", divide="ignore"):
        gap = np.abs(within_ref / n_ref[c] - within_cur / n_cur[c])
    gap = np.nan_to_num(gap)
    last = np.ones(n, dtype=bool)  # last row of a run of tied values within a group
    same_group = c[1:] == c[:-1]
    last[:-1] = (v[1:] != v[:-1]) | ~same_group
    ks = np.zeros(n_groups)
    present = n_all > 0
    if n:
        ks[present] = np.maximum.reduceat(np.where(last, gap, 0.0), starts[present])
    step = np.zeros(n)
    step[:-1] = np.where(same_group, v[1:] - v[:-1], 0.0)
    wasserstein = np.bincount(c, weights=gap * step, minlength=n_groups)
    empty = (n_ref == 0) | (n_cur == 0)
    ks[empty] = np.nan
    wasserstein[empty] = np.nan
    return ks, wasserstein, n_ref, n_cur


def _weighted_ks_wasserstein(values, is_current, codes, n_groups, weights):
    """:func:`_ks_wasserstein` on weighted empirical CDFs (cumulative sums of the weights)."""
    order = np.argsort(values)
    small = small_codes(codes, n_groups)[order]
    if n_groups > 1:
        perm = np.argsort(small, kind="stable")
        order, small = order[perm], small[perm]
    v, c = values[order], small.astype(np.int64)
    w = weights[order]
    w_cur = np.where(is_current[order], w, 0.0)
    n_all = np.bincount(c, minlength=n_groups)
    starts = np.cumsum(n_all) - n_all
    sums_all = np.bincount(c, weights=w, minlength=n_groups)
    sums_cur = np.bincount(c, weights=w_cur, minlength=n_groups)
    sums_ref = sums_all - sums_cur

    def within(x):  # cumulative sum of x inside each group
        cum = np.cumsum(x)
        return cum - np.concatenate([[0.0], cum])[starts][c]

    cdf_cur, cdf_all = within(w_cur), within(w)
    with np.errstate(invalid="ignore", divide="ignore"):
        gap = np.abs((cdf_all - cdf_cur) / sums_ref[c] - cdf_cur / sums_cur[c])
    gap = np.nan_to_num(gap)
    n = v.size
    same_group = c[1:] == c[:-1]
    last = np.ones(n, dtype=bool)  # last row of a run of tied values within a group
    last[:-1] = (v[1:] != v[:-1]) | ~same_group
    ks = np.zeros(n_groups)
    present = n_all > 0
    if n:
        ks[present] = np.maximum.reduceat(np.where(last, gap, 0.0), starts[present])
    step = np.zeros(n)
    step[:-1] = np.where(same_group, v[1:] - v[:-1], 0.0)
    wasserstein = np.bincount(c, weights=gap * step, minlength=n_groups)
    squares = w * w
    sq_cur = np.bincount(c, weights=np.where(is_current[order], squares, 0.0), minlength=n_groups)
    sq_ref = np.bincount(c, weights=squares, minlength=n_groups) - sq_cur
    with np.errstate(invalid="ignore", divide="ignore"):
        eff_ref = np.where(sq_ref > 0, sums_ref**2 / sq_ref, 0.0)
        eff_cur = np.where(sq_cur > 0, sums_cur**2 / sq_cur, 0.0)
    empty = (sums_ref <= 0) | (sums_cur <= 0)
    ks[empty] = np.nan
    wasserstein[empty] = np.nan
    return ks, wasserstein, eff_ref, eff_cur


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
    (groups, categories) count tables."""
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


def _tables(codes, is_current, fam_codes, n_groups, k, weights=None):
    """(groups, k) count tables of the reference and current rows.

    With ``weights`` each row of a table holds the weighted shares scaled to the group's
    effective number of rows ``(sum w)^2 / sum w^2``: the shares (JS, PSI, L-infinity) are the
    weighted ones, and the chi-square test counts effective rows (a design-effect correction,
    exact for constant weights) instead of the sums of the weights.
    """
    index = fam_codes.astype(np.int64) * k + codes
    if weights is None:
        ref = np.bincount(index[~is_current], minlength=n_groups * k).reshape(n_groups, k)
        cur = np.bincount(index[is_current], minlength=n_groups * k).reshape(n_groups, k)
        return ref, cur
    tables = []
    for side in (~is_current, is_current):
        w = weights[side]
        sums = np.bincount(index[side], weights=w, minlength=n_groups * k).reshape(n_groups, k)
        squares = np.bincount(index[side], weights=w * w, minlength=n_groups * k)
        total, total_sq = sums.sum(axis=1), squares.reshape(n_groups, k).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            scale = np.where(total_sq > 0, total / total_sq, 0.0)
        tables.append(sums * scale[:, None])
    return tables[0], tables[1]


def _weighted_std(values, weights) -> float:
    """Standard deviation with frequency weights (``ddof=1`` on the duplicated rows)."""
    total = weights.sum()
    if total <= 1:
        return np.nan
    mean = np.average(values, weights=weights)
    return float(np.sqrt((weights * (values - mean) ** 2).sum() / (total - 1)))


# --------------------------------------------------------------------------- one column
def _numeric_column(values, is_current, fams: list[Family], test: str, weights=None):
    ok = ~np.isnan(values)
    v, cur = values[ok], is_current[ok]
    ref_values = v[~cur]
    w_ok = None if weights is None else weights[ok]
    deciles = np.linspace(0, 1, _PSI_BINS + 1)[1:-1]
    if w_ok is not None:
        w_ref = w_ok[~cur]
        scale = _weighted_std(ref_values, w_ref) if ref_values.size > 1 else np.nan
        edges = np.array([])
        if w_ref.sum() > 0:  # weighted deciles: each an observed value (inverted CDF)
            edges = np.quantile(ref_values, deciles, weights=w_ref, method="inverted_cdf")
            edges = np.unique(edges)
    else:
        scale = float(np.std(ref_values, ddof=1)) if ref_values.size > 1 else np.nan
        edges = np.unique(np.quantile(ref_values, deciles)) if ref_values.size else np.array([])
    bins = np.searchsorted(edges, v, side="right")
    rows = []
    for fam in fams:
        g = fam.n_groups
        codes = fam.codes[ok]
        ks, w, n_ref, n_cur = _ks_wasserstein(v, cur, codes, g, w_ok)
        tables = _tables(bins, cur, codes, g, len(edges) + 1, w_ok)
        missing = _missing_rates(ok, is_current, fam, weights)
        rows.append(_numeric_rows(fam, test, tables, ks, w, scale, n_ref, n_cur, missing))
    return rows


def _categorical_column(codes, k, is_current, fams: list[Family], weights=None):
    """Missing values count as a category of their own."""
    codes = np.where(codes < 0, k, codes)
    rows = []
    for fam in fams:
        tables = _tables(codes, is_current, fam.codes, fam.n_groups, k + 1, weights)
        rows.append(_categorical_rows(fam, *tables))
    return rows


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


def _missing_rates(ok, is_current, fam: Family, weights=None):
    """(Weighted) shares of missing values of each group on each side."""
    g = fam.n_groups

    def total(mask):
        w = None if weights is None else weights[mask]
        return np.bincount(fam.codes[mask], weights=w, minlength=g)

    ref_all, cur_all = total(~is_current), total(is_current)
    ref_miss, cur_miss = total(~is_current & ~ok), total(is_current & ~ok)
    with np.errstate(invalid="ignore", divide="ignore"):
        return ref_miss / ref_all, cur_miss / cur_all


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


# --------------------------------------------------------------------------- inputs
def _frames(reference, current, columns):
    from raikit.dataset import Dataset

    names = {"reference": reference, "current": current}
    frames = {}
    for label, data in names.items():
        if isinstance(data, Dataset):
            frames[label] = data.frame
        elif isinstance(data, pd.DataFrame):
            frames[label] = data.reset_index(drop=True)
        elif type(data).__module__.startswith("polars"):
            frames[label] = data.to_pandas()
        else:
            raise ParameterError(
                f"drift(): {label} must be a raikit.Dataset or a DataFrame, got "
                f"{type(data).__name__}."
            )
    columns, sensitive, missing_group, absent = _roles(
        reference if isinstance(reference, Dataset) else frames["reference"],
        current if isinstance(current, Dataset) else frames["current"],
        columns,
    )
    return frames["reference"], frames["current"], columns, sensitive, missing_group, absent


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
        for per-group tests). Each Dataset's weight role is honoured (a side without one weighs
        every row 1): shares, missing rates, PSI, JS and L-infinity are weighted; KS and
        Wasserstein compare the weighted empirical CDFs (as ``scipy.stats.wasserstein_distance``
        with ``u_weights``/``v_weights``); the reference's standard deviation and deciles are
        weighted (deciles as inverted-CDF quantiles, so PSI on numeric columns may differ
        slightly from duplicated rows). scipy has no weighted KS or chi-square test: their
        p-values count the effective numbers of rows ``(sum w)^2 / sum w^2`` (reported as
        ``n_reference``/``n_current``), an approximation. A lazy (DuckDB/Spark) Dataset is
        compared unweighted, with a warning finding.
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
    lazy = any(getattr(d, "is_lazy", False) for d in (reference, current))
    if lazy:
        from raikit.data._scale import drift_parts

        columns, sensitive, missing_group, absent = _roles(reference, current, columns)
        parts, kinds, skipped, n_ref, n_cur, bounds = drift_parts(
            reference,
            current,
            columns=columns,
            sensitive=sensitive,
            missing_group=missing_group,
            by_group=by_group,
            tests=tests,
        )
        scale_meta = {
            "ks": "binned",
            "ks_error_bound": bounds["ks"],
            "wasserstein_error_bound": bounds["wasserstein"],
        }
    else:
        parts, kinds, skipped, n_ref, n_cur, sensitive, absent = _in_memory_parts(
            reference, current, columns, tests, by_group
        )
        scale_meta = {"ks": "exact"}
    notes = _lazy_weight_findings(reference, current)
    if not parts:
        raise DataError(
            f"No column can be compared: {skipped} look like identifiers or free text (more "
            f"distinct values than half the rows). Name comparable columns (columns=[...], on "
            f"the command line --columns)."
        )
    table = pd.concat(parts, ignore_index=True)
    return _finish(
        table,
        kinds,
        skipped,
        n_ref,
        n_cur,
        sensitive,
        scale_meta,
        absent=absent,
        tests=tests,
        alpha=alpha,
        correction=correction,
        by_group=by_group,
        min_group_size=min_group_size,
        min_effect=min_effect,
        notes=notes,
    )


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


def _side_weights(reference, current, n_ref: int, n_cur: int):
    """The weight of every row of both sides (reference first), or None when neither side is a
    Dataset with a weight role; a side without one weighs each row 1."""
    from raikit.dataset import Dataset

    # a DataFrame's .weight could be a column named "weight": only a Dataset has the role
    sides = [d.weights if isinstance(d, Dataset) else None for d in (reference, current)]
    if sides[0] is None and sides[1] is None:
        return None
    ones = [np.ones(n_ref), np.ones(n_cur)]
    return np.concatenate([w if w is not None else o for w, o in zip(sides, ones, strict=True)])


def _lazy_weight_findings(reference, current) -> list[Finding]:
    """A warning for each lazy side whose weight role the SQL path does not apply."""
    from raikit.dataset import Dataset

    return [
        Finding(
            "warning",
            f"Weights of the {label} data ignored",
            f"drift() compares a lazy (DuckDB/Spark) Dataset unweighted; the {label} weight "
            f"column {data.weight!r} is not applied. Collect the data into memory (a pandas "
            "Dataset) for weighted shares, KS and Wasserstein distances.",
        )
        for label, data in (("reference", reference), ("current", current))
        if isinstance(data, Dataset) and data.is_lazy and data.weight is not None
    ]


def _in_memory_parts(reference, current, columns, tests, by_group):
    ref, cur, columns, sensitive, missing_group, absent = _frames(reference, current, columns)
    if len(ref) == 0 or len(cur) == 0:
        raise DataError(
            f"Drift needs rows on both sides; reference has {len(ref)}, current {len(cur)}."
        )
    n_ref = len(ref)
    weights = _side_weights(reference, current, n_ref, len(cur))
    is_current = np.zeros(n_ref + len(cur), dtype=bool)
    is_current[n_ref:] = True
    encoding = None
    if sensitive and by_group:
        both = pd.concat(
            [ref[sensitive].astype(object), cur[sensitive].astype(object)], ignore_index=True
        )
        encoding = encode_groups(both, missing_group=missing_group)
    fams = families(encoding, len(is_current))
    parts, kinds, skipped = [], {}, []
    for name in columns:
        a, b = ref[name], cur[name]
        kind = _kind(a, b, name)
        if kind == "datetime":
            kind = "numeric"
            a = a.astype("int64").astype(float).where(a.notna())
            b = b.astype("int64").astype(float).where(b.notna())
        if kind == "numeric":
            values = np.concatenate([numeric_values(a), numeric_values(b)])
            test = tests.get(name, "auto") if isinstance(tests, dict) else tests
            few_levels = pd.unique(values[~np.isnan(values)]).size <= _FEW_LEVELS
            if test == "auto":
                test = "chi2" if few_levels else "ks"
            if test == "chi2" and few_levels:  # each value is a category
                codes, levels = pd.factorize(values, sort=True)
                column_parts = _categorical_column(
                    codes.astype(np.int64), len(levels), is_current, fams, weights
                )
            else:  # KS, or chi-square on the reference deciles
                column_parts = _numeric_column(values, is_current, fams, test, weights)
        else:
            if isinstance(tests, dict) and tests.get(name) == "ks":
                raise DataError(f"Column {name!r} is categorical; the KS test needs numbers.")
            levels = pd.Index(
                pd.unique(pd.concat([a.dropna().astype(object), b.dropna().astype(object)]))
            )
            if len(levels) > max(_MAX_CATEGORIES, 0.5 * len(is_current)):
                skipped.append(name)  # identifiers or free text: no distribution to compare
                continue
            ca, _ = encode_categories(a.astype(object), levels)
            cb, _ = encode_categories(b.astype(object), levels)
            column_parts = _categorical_column(
                np.concatenate([ca, cb]), len(levels), is_current, fams, weights
            )
        kinds[name] = kind
        for part in column_parts:
            part.insert(2, "column", name)
            part.insert(3, "kind", kind)
        parts.extend(column_parts)
    return parts, kinds, skipped, n_ref, len(cur), sensitive, absent


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
    notes=(),
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
    findings = [*notes, *_findings(table, alpha, min_group_size)]
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
    untested = grouped[grouped["p_value"].isna()].drop_duplicates(["attribute", "group"])
    if len(untested):
        names = ", ".join(f"{r.attribute}={r.group}" for r in untested.head(8).itertuples())
        findings.append(
            Finding(
                "info",
                f"{len(untested)} group(s) too small to test for drift",
                f"Fewer than {min_group_size} rows on one side: {names}"
                + (" …" if len(untested) > 8 else "")
                + ".",
            )
        )
    return findings
