"""``representation``: who is in the data, in what share, with what labels — and who is too thin.

Share of each group and intersection (against a reference population when given), base rate per
group with Wilson intervals, label parity, distance from balance (the distribution-balance measures
of Data Balance Analysis), and for each group the sample size needed to estimate its accuracy within
a chosen confidence-interval width.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from raikit._errors import ColumnError, DataError, ParameterError
from raikit._recording import recorded
from raikit._result import Finding, Result
from raikit._validation import CI, Interval, check_dataset, validate_params
from raikit.metrics._stats import (
    MIN_GROUP_SIZE,
    contain,
    ratio_bounds,
    verdict,
    wilson_interval,
    z_value,
)

__all__ = ["RepresentationResult", "representation", "required_sample_size"]


@dataclass(frozen=True, eq=False)
class RepresentationResult(Result):
    """Representation of each sensitive group and intersection.

    Attributes
    ----------
    groups : DataFrame
        One row per (attribute, group): ``count``, ``effective_n``, ``share``, ``reference_share``,
        ``share_ratio`` (share / reference share), ``base_rate`` (share of positive labels) with its
        Wilson interval ``base_rate_lower``/``base_rate_upper``, ``base_rate_ratio`` and
        ``base_rate_difference`` (to the overall base rate), ``needed_n`` (rows needed to estimate
        the group's accuracy within ``ci_width``) and ``additional_needed``. With a weight role
        ``count`` is the group's sum of weights (shares and base rates are weighted) and
        ``effective_n`` its effective number of rows ``(sum w)^2 / sum w^2``, from which the
        intervals, ``additional_needed``, the chi-square test and the 30-row minimum are taken;
        without weights ``effective_n`` equals ``count``.
    balance : DataFrame
        One row per (attribute, against) with ``against`` ``uniform`` or ``reference``:
        ``total_variation``, ``js_distance``, ``kl_divergence``, ``linf``, ``chi2``,
        ``chi2_pvalue``, ``normalized_entropy`` and label parity (``base_rate_min``,
        ``base_rate_max``, ``base_rate_difference``, ``base_rate_ratio``) over the groups with at
        least 30 rows.
    overall_base_rate : float
        Share of positive labels in the whole data (NaN without a binary target).
    n_rows : int
        Rows.
    sensitive_names : list of str
        The sensitive attributes.
    findings : tuple of Finding
        Under-represented or absent groups, label disparities, groups too small to evaluate.
    meta : dict
        Settings.

    See Also
    --------
    representation : computes it.

    Examples
    --------
    >>> import pandas as pd
    >>> from raikit import Dataset
    >>> from raikit.data import representation
    >>> frame = pd.DataFrame({"s": ["a", "a", "a", "b"], "y": [1, 0, 1, 1]})
    >>> r = representation(Dataset(frame, target="y", sensitive="s"))
    >>> r.groups[["group", "share"]].values.tolist(), r.overall_base_rate
    ([['a', 0.75], ['b', 0.25]], 0.75)
    """

    groups: pd.DataFrame
    balance: pd.DataFrame
    overall_base_rate: float
    n_rows: int
    sensitive_names: list
    findings: tuple = field(default_factory=tuple)
    meta: dict = field(default_factory=dict)

    @property
    def summary(self) -> str:
        groups = self.groups
        text = f"{self.n_rows:,} rows in {len(groups)} groups"
        smallest = groups.loc[groups["count"].idxmin()]
        text += (
            f"; smallest {smallest['attribute']}={smallest['group']} "
            f"({_rows_text(smallest['count'])} rows)"
        )
        thin = int((groups["additional_needed"] > 0).sum())
        text += (
            f"; {thin} group(s) too small to estimate accuracy within "
            f"±{self.meta['ci_width'] / 2:g}"
        )
        if self.overall_base_rate == self.overall_base_rate:
            parity = self.balance[self.balance["against"] == "uniform"]
            worst = parity.loc[parity["base_rate_ratio"].idxmin()]
            text += (
                f"; base rate {self.overall_base_rate:.3f}, lowest ratio between groups "
                f"{worst['base_rate_ratio']:.3f} ({worst['attribute']})"
            )
        return text + f"; {len(self.findings)} finding(s)."

    def figures(self) -> list:
        from raikit.data._figures import representation_figures

        return representation_figures(self)


@validate_params(
    ci_width=Interval(float, 0, 1, closed="neither"),
    ci=CI,
    p=Interval(float, 0, 1),
)
def required_sample_size(ci_width: float, *, ci: float = 0.95, p: float = 0.5) -> int:
    """Rows needed so that a proportion's normal-approximation CI is at most ``ci_width`` wide.

    ``n = z² p (1 - p) / (ci_width / 2)²`` with ``z`` the two-sided normal quantile at
    confidence level ``ci``; ``p = 0.5`` is the worst case.

    Parameters
    ----------
    ci_width : float
        Full width of the interval, in (0, 1) (0.1 is ±0.05).
    ci : float, default 0.95
        Confidence level of the interval.
    p : float, default 0.5
        The proportion expected (0.5 needs the most rows).

    Returns
    -------
    int

    Raises
    ------
    ParameterError
        A parameter is out of its range.

    See Also
    --------
    raikit.data.fit_power_law : the curve it inverts.

    Examples
    --------
    >>> from raikit.data import required_sample_size
    >>> required_sample_size(0.1)  # ±0.05 at 95 %
    385
    >>> required_sample_size(0.1, p=0.9)
    139
    """
    z = z_value(ci)
    return int(np.ceil(z * z * p * (1 - p) / (ci_width / 2) ** 2))


def _shares_of_dataset(reference, attributes: list[str]) -> pd.DataFrame:
    """Each attribute's group shares in a reference Dataset, as (attribute, group, share)."""
    rows = []
    for name in attributes:
        if name not in reference.columns:
            raise ColumnError(
                f"representation(): the reference Dataset has no column {name!r} (a sensitive "
                f"attribute of data); both Datasets need it."
            )
        # one GROUP BY where the rows live (pandas, DuckDB or Spark)
        counts = reference.aggregate(by=[name], stats={"n": (None, "count")})
        counts = counts[counts[name].notna()]
        shares = pd.Series(counts["n"].to_numpy(float) / counts["n"].sum(), index=counts[name])
        rows += [(name, str(g), float(s)) for g, s in shares.items()]
    return pd.DataFrame(rows, columns=["attribute", "group", "reference_share"])


def _shares_given(expected_shares) -> pd.DataFrame:
    """``expected_shares`` (a dict of dicts or an attribute/group/share DataFrame) as a table."""
    if isinstance(expected_shares, dict):
        rows = []
        for name, shares in expected_shares.items():
            if not isinstance(shares, dict):
                raise ParameterError(
                    f"representation(): expected_shares[{name!r}] must map each group to its "
                    f"share, e.g. {{'sex': {{'Female': 0.51, 'Male': 0.49}}}}; got "
                    f"{type(shares).__name__}."
                )
            rows += [(str(name), str(g), float(s)) for g, s in shares.items()]
        return pd.DataFrame(rows, columns=["attribute", "group", "reference_share"])
    needed = {"attribute", "group", "share"}
    if not needed <= set(expected_shares.columns):
        raise ParameterError(
            f"representation(): an expected_shares DataFrame needs columns {sorted(needed)}; "
            f"got {list(expected_shares.columns)}."
        )
    return pd.DataFrame(
        {
            "attribute": expected_shares["attribute"].astype(str),
            "group": expected_shares["group"].astype(str),
            "reference_share": expected_shares["share"].astype(float),
        }
    )


def _target_shares(expected_shares, reference, attributes: list[str]) -> pd.DataFrame:
    """The shares the data should have, normalised per attribute: (attribute, group,
    reference_share), from ``expected_shares`` or from a ``reference`` Dataset."""
    if reference is not None:
        frame = _shares_of_dataset(reference, attributes)
    else:
        frame = _shares_given(expected_shares)
    unknown = sorted(set(frame["attribute"]) - set(attributes))
    if unknown:
        raise ParameterError(
            f"representation(): expected_shares names attribute(s) {unknown} that are not "
            f"sensitive attributes of the data ({attributes})."
        )
    if (frame["reference_share"] < 0).any() or frame["reference_share"].isna().any():
        raise ParameterError("representation(): expected shares must be non-negative numbers.")
    totals = frame.groupby("attribute")["reference_share"].transform("sum")
    if (totals <= 0).any():
        raise ParameterError(
            "representation(): each attribute's expected shares must sum to more than 0."
        )
    frame["reference_share"] = frame["reference_share"] / totals
    return frame


def _distances(p: np.ndarray, q: np.ndarray) -> dict:
    """Distances between observed shares ``p`` and target shares ``q`` (same order)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        mid = (p + q) / 2
        kl_pm = np.where(p > 0, p * np.log2(p / mid), 0).sum()
        kl_qm = np.where(q > 0, q * np.log2(q / mid), 0).sum()
        kl = np.where(p > 0, p * np.log(p / q), 0).sum()
    return {
        "total_variation": float(np.abs(p - q).sum() / 2),
        "js_distance": float(np.sqrt(max((kl_pm + kl_qm) / 2, 0.0))),
        "kl_divergence": float(kl),
        "linf": float(np.abs(p - q).max()),
    }


def _positive_or_none(values, pos_label):
    """The positive label of two target values, or None when it is neither given nor inferable
    (base rates are then not computed: a label is never taken as positive by its order)."""
    from raikit.metrics._group_metrics import resolve_pos_label

    if pos_label is not None:
        return resolve_pos_label(values, pos_label)
    try:
        return resolve_pos_label(values)
    except DataError:
        return None


def _count(ds, pos_label=None):
    """Rows and positive labels per group of every family, the overall base rate, the positive
    label (None: no base rates) and the two target values (None unless the target is binary).

    Everything comes from :meth:`raikit.Dataset.aggregate` (one grouped query where the rows
    live). With a weight role the counts are sums of the weights and each family also carries
    its groups' sums of squared weights (for the effective number of rows); otherwise None.
    """
    positive, binary_values, overall_rate = _target_counts(ds, pos_label)
    encoding = ds.group_encoding
    names = list(encoding.names)
    sets = [[name] for name in names] + ([names] if len(names) > 1 else [])
    labelled = [ds.target] if positive is not None else []
    stats = {"n": (None, "count")}
    if ds.weight is not None:  # a weighted sum of the weights is the sum of squared weights
        stats["w2"] = (ds.weight, "sum")
    table = ds.aggregate(by=[s + labelled for s in sets], stats=stats, weight=ds.weight)
    if "grouping_set" not in table:
        table["grouping_set"] = 0
    counted = []
    for f, group_set in enumerate(sets):
        rows = table[table["grouping_set"] == f]
        codes = encoding.codes_of(rows, group_set)
        if len(group_set) == 1:
            attribute, labels = group_set[0], encoding.labels(names.index(group_set[0]))
        else:
            attribute, labels = encoding.intersection_name, encoding.labels()
        n = rows["n"].to_numpy(float)
        count = np.bincount(codes, weights=n, minlength=len(labels))
        positives = None
        if positive is not None:
            is_positive = (rows[ds.target] == positive).to_numpy()
            positives = np.bincount(codes, weights=n * is_positive, minlength=len(labels))
        squares = None
        if ds.weight is not None:
            squares = np.bincount(codes, weights=rows["w2"].to_numpy(float), minlength=len(labels))
        counted.append((attribute, labels, count, positives, squares))
    return counted, overall_rate, positive, binary_values


def _target_counts(ds, pos_label):
    """The positive label (None: no base rates), the two target values (None unless binary) and
    the overall base rate of a Dataset, from one count of its target's values."""
    if ds.target is None:
        return None, None, np.nan
    table = ds.aggregate(by=[ds.target], stats={"n": (None, "count")}, weight=ds.weight)
    missing = table[ds.target].isna().to_numpy()
    present = table[~missing]
    if len(present) != 2:
        return None, None, np.nan
    if missing.any():
        rows = ds.aggregate(stats={"missing": (ds.target, "null_count")})["missing"].iloc[0]
        raise DataError(
            f"The target {ds.target!r} has {int(rows)} missing value(s); drop or fill them "
            f"before measuring base rates."
        )
    values = present[ds.target].tolist()
    positive = _positive_or_none(values, pos_label)
    if positive is None:
        return None, values, np.nan
    n = present["n"].to_numpy(float)
    rate = float(n[(present[ds.target] == positive).to_numpy()].sum() / n.sum())
    return positive, values, rate


def _group_table(counted, ci: float) -> pd.DataFrame:
    """Count, share and base rate (with its Wilson interval) of every group of every family.

    Weighted counts (a family with squared-weight sums) take their intervals from the effective
    number of rows ``(sum w)^2 / sum w^2`` of each group, which is the count when every weight is 1.
    """
    parts = []
    for attribute, labels, count, positives, squares in counted:
        if positives is None:
            positives = np.full(len(labels), np.nan)
        count = np.asarray(count, dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = positives / count
            effective = count if squares is None else np.where(squares > 0, count**2 / squares, 0)
        low, high = wilson_interval(rate * effective, effective, ci=ci)
        parts.append(
            pd.DataFrame(
                {
                    "attribute": attribute,
                    "group": [str(v) for v in labels],
                    "count": count.astype(np.int64) if squares is None else count,
                    "effective_n": effective,
                    "share": count / count.sum(),
                    "base_rate": rate,
                    "base_rate_lower": low,
                    "base_rate_upper": high,
                }
            )
        )
    groups = pd.concat(parts, ignore_index=True)
    groups["reference_share"] = np.nan
    return groups


def _join_targets(groups: pd.DataFrame, targets: pd.DataFrame, *, weighted: bool = False):
    """The groups with their target shares, plus an error finding per group the data lacks."""
    groups = groups.drop(columns=["reference_share"])
    groups["_order"] = np.arange(len(groups), dtype=float)
    attribute_rank = {a: i for i, a in enumerate(groups["attribute"].drop_duplicates())}
    merged = groups.merge(targets, on=["attribute", "group"], how="outer")
    absent = merged["count"].isna()
    merged.loc[absent, ["count", "effective_n", "share"]] = 0
    findings = [
        Finding(
            "error",
            f"{row.attribute}={row.group} is absent from the data",
            f"The reference population has {row.reference_share:.1%} of "
            f"{row.attribute}={row.group} but the data has no such row.",
            slice=f"{row.attribute}={row.group}",
        )
        for row in merged[absent].itertuples(index=False)
    ]
    # keep the data's order; groups only the reference has come last within their attribute
    merged["_rank"] = merged["attribute"].map(attribute_rank)
    merged["_order"] = merged["_order"].fillna(np.inf)
    joined = (
        merged.sort_values(["_rank", "_order"], kind="stable")
        .drop(columns=["_rank", "_order"])
        .reset_index(drop=True)
    )
    if not weighted:
        joined = joined.astype({"count": np.int64})
    return joined, findings


_GROUP_COLUMNS = [
    "attribute",
    "group",
    "count",
    "effective_n",
    "share",
    "reference_share",
    "share_ratio",
    "base_rate",
    "base_rate_lower",
    "base_rate_upper",
    "base_rate_ratio",
    "base_rate_difference",
    "needed_n",
    "additional_needed",
]


def _ratios(groups: pd.DataFrame, overall_rate: float, needed: int) -> pd.DataFrame:
    with np.errstate(invalid="ignore", divide="ignore"):
        groups["share_ratio"] = groups["share"] / groups["reference_share"]
        groups["base_rate_ratio"] = groups["base_rate"] / overall_rate
    groups["base_rate_difference"] = groups["base_rate"] - overall_rate
    groups["needed_n"] = np.int64(needed)
    short = np.ceil(needed - groups["effective_n"].to_numpy(float) - 1e-9)
    groups["additional_needed"] = np.maximum(short, 0).astype(np.int64)
    return groups[_GROUP_COLUMNS]


def _parity(part: pd.DataFrame) -> dict:
    """Smallest and largest base rate among groups large enough to compare, and their gap."""
    rates = part.loc[part["effective_n"] >= MIN_GROUP_SIZE, "base_rate"]
    parity = {
        "base_rate_min": float(rates.min()) if rates.notna().any() else np.nan,
        "base_rate_max": float(rates.max()) if rates.notna().any() else np.nan,
    }
    parity["base_rate_difference"] = parity["base_rate_max"] - parity["base_rate_min"]
    parity["base_rate_ratio"] = (
        parity["base_rate_min"] / parity["base_rate_max"]
        if parity["base_rate_max"] and parity["base_rate_max"] == parity["base_rate_max"]
        else np.nan
    )
    return parity


def _balance(groups: pd.DataFrame) -> pd.DataFrame:
    """Distance of each attribute's shares from uniform (and from the target shares, if any)."""
    from scipy.stats import chisquare

    rows = []
    for attribute, part in groups.groupby("attribute", sort=False):
        p = part["count"].to_numpy(dtype=float)
        p = p / p.sum()
        # the chi-square test counts effective rows: the raw counts without weights
        counts = p * part["effective_n"].sum()
        parity = _parity(part)
        targets = [("uniform", np.full(len(p), 1 / len(p)))]
        if part["reference_share"].notna().any():
            q = part["reference_share"].fillna(0).to_numpy()
            targets.append(("reference", q / q.sum()))
        nonzero = p[p > 0]
        entropy = float(-(nonzero * np.log(nonzero)).sum())
        for against, q in targets:
            keep = q > 0
            stat, pvalue = chisquare(counts[keep], counts[keep].sum() * q[keep] / q[keep].sum())
            rows.append(
                {
                    "attribute": attribute,
                    "against": against,
                    "n_groups": len(p),
                    **_distances(p, q),
                    "chi2": float(stat),
                    "chi2_pvalue": float(pvalue),
                    "normalized_entropy": entropy / np.log(len(p)) if len(p) > 1 else np.nan,
                    **parity,
                }
            )
    return pd.DataFrame(rows)


def _is_shares(value) -> bool:
    """a dict {attribute: {group: share}} or a DataFrame with attribute, group, share"""
    return isinstance(value, dict | pd.DataFrame)


def _is_dataset(value) -> bool:
    """a raikit Dataset"""
    from raikit.dataset import Dataset

    return isinstance(value, Dataset)


@recorded("data.representation")
@validate_params(
    expected_shares=[_is_shares, None],
    reference=[_is_dataset, None],
    ci_width=Interval(float, 0, 1, closed="neither"),
    ci=CI,
    expected_accuracy=[Interval(float, 0, 1), None],
    min_share_ratio=Interval(float, 0, None),
)
def representation(
    data,
    *,
    expected_shares=None,
    reference=None,
    ci_width: float = 0.1,
    ci: float = 0.95,
    expected_accuracy: float | None = None,
    min_share_ratio: float = 0.8,
    pos_label=None,
    ledger=None,
) -> RepresentationResult:
    """Share, base rate and sufficiency of every sensitive group and intersection.

    Parameters
    ----------
    data : Dataset
        The data. Its weight role is honoured: weighted shares and base rates (integer weights
        give the values of duplicated rows), intervals from each group's effective number of
        rows, on every backend (in memory, DuckDB, Spark).
    expected_shares : dict or DataFrame, optional
        The shares of the population the data should represent:
        ``{"sex": {"Female": 0.51, "Male": 0.49}}`` or a DataFrame with columns
        ``attribute, group, share``. Shares are normalised per attribute.
    reference : Dataset, optional
        Another Dataset whose group shares the data should have (instead of
        ``expected_shares``).
    ci_width : float, default 0.1
        Full width of the confidence interval wanted for each group's accuracy (0.1 is ±0.05).
    ci : float, default 0.95
        Confidence level of that interval and of the base-rate intervals.
    expected_accuracy : float, optional
        Accuracy you expect; default 0.5 (the worst case, most rows).
    min_share_ratio : float, default 0.8
        A group whose share is below this fraction of its expected share is under-represented;
        a base rate below this fraction of another group's is a label disparity (four-fifths rule).
    pos_label : optional
        The positive label of a binary target, whose share is the base rate. Inferred only for
        0/1, False/True and -1/1 labels; for other labels without it no base rates are computed
        (an info finding says so). Reported in ``meta["pos_label"]``.
    ledger : raikit.ledger.Ledger or path, optional
        Record the result as evidence (inside :func:`raikit.track` it is recorded anyway).

    Returns
    -------
    RepresentationResult
        The expected shares appear in the ``reference_share`` column of ``groups``.

    Raises
    ------
    DataError
        The binary target of ``data`` has missing labels.
    ColumnError
        The ``reference`` Dataset lacks a sensitive attribute of ``data``.
    ParameterError
        ``data`` is not a Dataset, both ``expected_shares`` and ``reference`` are given, the
        shares are malformed, or a parameter is out of its range.

    See Also
    --------
    raikit.data.profile : statistics per group and proxies.
    raikit.data.slice_tuner : how much data to acquire per group.

    Examples
    --------
    >>> from raikit.data import representation
    >>> from raikit.datasets import load_adult
    >>> shares = {"sex": {"Female": 0.508, "Male": 0.492}}
    >>> result = representation(load_adult(), expected_shares=shares)
    >>> g = result.groups.set_index(["attribute", "group"])
    >>> round(float(g.loc[("sex", "Female"), "share"]), 3)
    0.332
    >>> round(float(g.loc[("sex", "Female"), "share_ratio"]), 3)
    0.653
    >>> round(float(g.loc[("sex", "Female"), "base_rate"]), 3)
    0.109

    With a weight role the shares are weighted:

    >>> import pandas as pd
    >>> from raikit import Dataset
    >>> frame = pd.DataFrame({"s": ["a", "a", "b"], "y": [1, 0, 1], "w": [1.0, 1.0, 2.0]})
    >>> weighted = representation(Dataset(frame, target="y", sensitive=["s"], weight="w"))
    >>> weighted.groups[["group", "count", "share", "base_rate"]].values.tolist()
    [['a', 2.0, 0.5, 0.5], ['b', 2.0, 0.5, 1.0]]
    """
    ds = check_dataset(data, caller="representation")
    if expected_shares is not None and reference is not None:
        raise ParameterError(
            "representation(): pass expected_shares (the shares as numbers) or reference (a "
            "Dataset to take them from), not both."
        )
    accuracy = 0.5 if expected_accuracy is None else expected_accuracy
    needed = required_sample_size(ci_width, ci=ci, p=accuracy)
    counted, overall_rate, positive, binary_values = _count(ds, pos_label)
    attribute_names = list(ds.sensitive_names)
    groups = _group_table(counted, ci)
    findings: list[Finding] = []
    has_targets = expected_shares is not None or reference is not None
    if has_targets:
        targets = _target_shares(expected_shares, reference, attribute_names)
        weighted = any(family[4] is not None for family in counted)
        groups, absent = _join_targets(groups, targets, weighted=weighted)
        findings += absent
    groups = _ratios(groups, overall_rate, needed)
    findings += _findings(groups, ci_width, min_share_ratio, overall_rate, ci)
    if positive is None and binary_values is not None:
        findings.append(
            Finding(
                "info",
                "No base rates: which label is positive?",
                f"The target {ds.target!r} has labels {sorted(map(str, binary_values))}; "
                "raikit infers the positive label only for 0/1, False/True and -1/1. Pass "
                "pos_label=<label> (on the command line: --pos-label <label>) for base rates.",
            )
        )
    return RepresentationResult(
        groups=groups,
        balance=_balance(groups),
        overall_base_rate=overall_rate,
        n_rows=ds.n_rows,
        sensitive_names=attribute_names,
        findings=tuple(findings),
        meta={
            "ci_width": ci_width,
            "confidence": ci,
            "expected_accuracy": accuracy,
            "min_share_ratio": min_share_ratio,
            "pos_label": positive,
            "has_reference": has_targets,
            "weight": ds.weight,
        },
    )


def _label_parity(part, attribute, min_share_ratio, confidence) -> Finding | None:
    """The four-fifths rule on base rates, with the package's verdict rule: a warning when the
    whole interval of the smallest base-rate ratio is below ``min_share_ratio``, a note when it
    straddles it; only groups of at least ``MIN_GROUP_SIZE`` rows are compared, and with fewer
    than two of them there is no verdict. The ratio's interval comes from simultaneous
    (Bonferroni) Wilson intervals of the groups' base rates."""
    rates = part[part["effective_n"] >= MIN_GROUP_SIZE].dropna(subset=["base_rate"])
    if len(rates) < 2 or rates["base_rate"].max() <= 0:
        return None
    count = rates["effective_n"].to_numpy(float)
    level = 1 - (1 - confidence) / len(rates)
    lo, hi = wilson_interval(rates["base_rate"].to_numpy() * count, count, ci=level)
    low = rates.loc[rates["base_rate"].idxmin()]
    high = rates.loc[rates["base_rate"].idxmax()]
    ratio = low["base_rate"] / high["base_rate"]
    r_lo, r_hi = contain(*ratio_bounds(lo[None], hi[None]), [ratio])
    outcome = verdict(r_lo[0], r_hi[0], min_share_ratio, higher_is_worse=False)
    if outcome not in ("fail", "warn"):
        return None
    return Finding(
        "warning" if outcome == "fail" else "info",
        f"Base rates differ by {attribute}"
        if outcome == "fail"
        else f"Base rates may differ by {attribute}",
        f"{low['base_rate']:.3f} positive labels for {attribute}={low['group']} against "
        f"{high['base_rate']:.3f} for {high['group']} (ratio {ratio:.2f}, {confidence:.0%} CI "
        f"{r_lo[0]:.2f} to {r_hi[0]:.2f}; groups of at least {MIN_GROUP_SIZE} rows)."
        + (
            " A model that learns these labels will reproduce the gap."
            if outcome == "fail"
            else f" The interval includes {min_share_ratio:g}."
        ),
        slice=attribute,
    )


def _rows_text(count) -> str:
    """A row count, or a sum of weights with two decimals when it is fractional.

    >>> _rows_text(1234), _rows_text(12.345)
    ('1,234', '12.35')
    """
    count = float(count)
    return f"{count:,.0f}" if count.is_integer() else f"{count:,.2f}"


def _findings(groups, ci_width, min_share_ratio, overall_rate, confidence) -> list[Finding]:
    findings = []
    under = groups[(groups["share_ratio"] < min_share_ratio) & (groups["count"] > 0)]
    for row in under.itertuples(index=False):
        findings.append(
            Finding(
                "warning",
                f"{row.attribute}={row.group} is under-represented",
                f"{row.share:.1%} of the data against {row.reference_share:.1%} of the reference "
                f"population (ratio {row.share_ratio:.2f}).",
                slice=f"{row.attribute}={row.group}",
            )
        )
    for attribute, part in groups.groupby("attribute", sort=False):
        thin = part[(part["additional_needed"] > 0) & (part["count"] > 0)]
        if len(thin):
            listed = ", ".join(
                f"{r.group} ({_rows_text(r.count)} rows, {r.additional_needed:,} more needed)"
                for r in thin.head(6).itertuples(index=False)
            )
            findings.append(
                Finding(
                    "warning",
                    f"{len(thin)} {attribute} group(s) too small to evaluate",
                    f"Estimating accuracy within ±{ci_width / 2:g} needs "
                    f"{int(part['needed_n'].iloc[0]):,} rows per group: {listed}"
                    + (" …" if len(thin) > 6 else "")
                    + ".",
                    slice=attribute,
                )
            )
        if overall_rate == overall_rate:
            finding = _label_parity(part, attribute, min_share_ratio, confidence)
            if finding is not None:
                findings.append(finding)
    return findings
