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

from raikit._errors import DataError
from raikit._result import Finding, Result
from raikit.data._common import encode_sensitive, families
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
        One row per (attribute, group): ``count``, ``share``, ``reference_share``,
        ``share_ratio`` (share / reference share), ``base_rate`` (share of positive labels) with its
        Wilson interval ``base_rate_lower``/``base_rate_upper``, ``base_rate_ratio`` and
        ``base_rate_difference`` (to the overall base rate), ``needed_n`` (rows needed to estimate
        the group's accuracy within ``ci_width``) and ``additional_needed``.
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
            f"; smallest {smallest['attribute']}={smallest['group']} ({smallest['count']:,} rows)"
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


def required_sample_size(ci_width: float, *, confidence: float = 0.95, p: float = 0.5) -> int:
    """Rows needed so that a proportion's normal-approximation CI is at most ``ci_width`` wide.

    ``n = z² p (1 - p) / (ci_width / 2)²`` with ``z`` the two-sided normal quantile; ``p = 0.5`` is
    the worst case.

    Examples
    --------
    >>> from raikit.data import required_sample_size
    >>> required_sample_size(0.1)  # ±0.05 at 95 %
    385
    >>> required_sample_size(0.1, p=0.9)
    139
    """
    if not 0 < ci_width < 1:
        raise DataError(f"ci_width must be in (0, 1), got {ci_width}.")
    if not 0 < confidence < 1:
        raise DataError(f"confidence must be in (0, 1), got {confidence}.")
    if not 0 <= p <= 1:
        raise DataError(f"p must be in [0, 1], got {p}.")
    z = z_value(confidence)
    return int(np.ceil(z * z * p * (1 - p) / (ci_width / 2) ** 2))


def _reference_shares(reference, attributes: list[str]) -> pd.DataFrame:
    """Normalise the accepted reference formats to (attribute, group, reference_share)."""
    from raikit.dataset import Dataset

    if isinstance(reference, Dataset):
        rows = []
        for name in attributes:
            if name not in reference.columns:
                raise DataError(f"The reference Dataset has no column {name!r}.")
            if reference.is_lazy:  # one GROUP BY where the data lives
                q = reference.table.q
                counts = reference.table.query(
                    f"SELECT {q(name)} AS value, COUNT(*) AS n FROM {{table}} "
                    f"WHERE {q(name)} IS NOT NULL GROUP BY {q(name)}"
                )
                shares = pd.Series(
                    counts["n"].to_numpy(float) / counts["n"].sum(), index=counts["value"]
                )
            else:
                shares = reference.frame[name].astype(object).value_counts(normalize=True)
            rows += [(name, str(g), float(s)) for g, s in shares.items()]
        frame = pd.DataFrame(rows, columns=["attribute", "group", "reference_share"])
    elif isinstance(reference, dict):
        rows = []
        for name, shares in reference.items():
            if not isinstance(shares, dict):
                raise DataError(
                    f"reference[{name!r}] must map each group to its share, e.g. "
                    f"{{'sex': {{'Female': 0.51, 'Male': 0.49}}}}; got {type(shares).__name__}."
                )
            rows += [(str(name), str(g), float(s)) for g, s in shares.items()]
        frame = pd.DataFrame(rows, columns=["attribute", "group", "reference_share"])
    elif isinstance(reference, pd.DataFrame):
        needed = {"attribute", "group", "share"}
        if not needed <= set(reference.columns):
            raise DataError(
                f"A reference DataFrame needs columns {sorted(needed)}; got {list(reference.columns)}."
            )
        frame = pd.DataFrame(
            {
                "attribute": reference["attribute"].astype(str),
                "group": reference["group"].astype(str),
                "reference_share": reference["share"].astype(float),
            }
        )
    else:
        raise DataError(
            f"reference must be a dict, a DataFrame (attribute, group, share) or a Dataset; got "
            f"{type(reference).__name__}."
        )
    unknown = sorted(set(frame["attribute"]) - set(attributes))
    if unknown:
        raise DataError(
            f"The reference names attribute(s) {unknown} that are not sensitive attributes of the "
            f"data ({attributes})."
        )
    if (frame["reference_share"] < 0).any() or frame["reference_share"].isna().any():
        raise DataError("Reference shares must be non-negative numbers.")
    totals = frame.groupby("attribute")["reference_share"].transform("sum")
    if (totals <= 0).any():
        raise DataError("Each attribute's reference shares must sum to more than 0.")
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


def _count_in_memory(ds, pos_label=None):
    """Rows and positive labels per group of every family, the overall base rate, the positive
    label (None: no base rates) and the two target values (None unless the target is binary)."""
    encoding = encode_sensitive(ds)
    y01 = None
    positive = binary_values = None
    if ds.target is not None:
        y = ds.y
        values = pd.unique(y.dropna())
        if len(values) == 2:
            if y.isna().any():
                raise DataError(
                    f"The target {ds.target!r} has {int(y.isna().sum())} missing value(s); drop "
                    f"or fill them before measuring base rates."
                )
            binary_values = list(values)
            positive = _positive_or_none(values, pos_label)
            if positive is not None:
                y01 = (y == positive).to_numpy(dtype=float)
    overall_rate = float(y01.mean()) if y01 is not None else np.nan
    counted = []
    for fam in families(encoding, ds.n_rows)[1:]:
        g = fam.n_groups
        count = np.bincount(fam.codes, minlength=g)
        positives = np.bincount(fam.codes, weights=y01, minlength=g) if y01 is not None else None
        counted.append((fam.attribute, fam.labels, count, positives))
    return counted, overall_rate, positive, binary_values


def representation(
    ds,
    *,
    reference=None,
    ci_width: float = 0.1,
    confidence: float = 0.95,
    expected_accuracy: float | None = None,
    min_share_ratio: float = 0.8,
    pos_label=None,
    ledger=None,
) -> RepresentationResult:
    """Share, base rate and sufficiency of every sensitive group and intersection.

    Parameters
    ----------
    ds : Dataset
        The data.
    reference : dict, DataFrame or Dataset, optional
        The population the data should represent: ``{"sex": {"Female": 0.51, "Male": 0.49}}``, a
        DataFrame with columns ``attribute, group, share``, or another Dataset. Shares are
        normalised per attribute.
    ci_width : float, default 0.1
        Full width of the confidence interval wanted for each group's accuracy (0.1 is ±0.05).
    confidence : float, default 0.95
        Confidence level of that interval and of the base-rate intervals.
    expected_accuracy : float, optional
        Accuracy you expect; default 0.5 (the worst case, most rows).
    min_share_ratio : float, default 0.8
        A group whose share is below this fraction of its reference share is under-represented;
        a base rate below this fraction of another group's is a label disparity (four-fifths rule).
    pos_label : optional
        The positive label of a binary target, whose share is the base rate. Inferred only for
        0/1, False/True and -1/1 labels; for other labels without it no base rates are computed
        (an info finding says so). Reported in ``meta["pos_label"]``.
    ledger : raikit.ledger.Ledger, optional
        Record the result as evidence.

    Returns
    -------
    RepresentationResult

    Examples
    --------
    >>> from raikit.data import representation
    >>> from raikit.datasets import load_adult
    >>> result = representation(load_adult(), reference={"sex": {"Female": 0.508, "Male": 0.492}})
    >>> g = result.groups.set_index(["attribute", "group"])
    >>> round(float(g.loc[("sex", "Female"), "share"]), 3)
    0.332
    >>> round(float(g.loc[("sex", "Female"), "share_ratio"]), 3)
    0.653
    >>> round(float(g.loc[("sex", "Female"), "base_rate"]), 3)
    0.109
    """
    from scipy.stats import chisquare

    from raikit.dataset import Dataset

    if not isinstance(ds, Dataset):
        raise DataError(f"representation() needs a raikit.Dataset, got {type(ds).__name__}.")
    accuracy = 0.5 if expected_accuracy is None else expected_accuracy
    needed = required_sample_size(ci_width, confidence=confidence, p=accuracy)
    n = ds.n_rows
    if ds.is_lazy:
        from raikit.data._scale import representation_counts

        counted, overall_rate, positive, binary_values = representation_counts(
            ds, choose_positive=lambda values: _positive_or_none(values, pos_label)
        )
        attribute_names = list(ds.sensitive_names)
    else:
        counted, overall_rate, positive, binary_values = _count_in_memory(ds, pos_label)
        attribute_names = list(encode_sensitive(ds).names)
    parts = []
    for attribute, labels, count, positives in counted:
        g = len(labels)
        if positives is None:
            positives = np.full(g, np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = positives / count
        low, high = wilson_interval(positives, count, ci=confidence)
        parts.append(
            pd.DataFrame(
                {
                    "attribute": attribute,
                    "group": [str(v) for v in labels],
                    "count": np.asarray(count).astype(np.int64),
                    "share": count / n,
                    "base_rate": rate,
                    "base_rate_lower": low,
                    "base_rate_upper": high,
                }
            )
        )
    groups = pd.concat(parts, ignore_index=True)
    groups["reference_share"] = np.nan
    findings: list[Finding] = []
    if reference is not None:
        ref = _reference_shares(reference, attribute_names)
        groups["_order"] = np.arange(len(groups), dtype=float)
        attribute_rank = {a: i for i, a in enumerate(groups["attribute"].drop_duplicates())}
        merged = groups.merge(ref, on=["attribute", "group"], how="outer", suffixes=("", "_r"))
        merged["reference_share"] = merged["reference_share_r"]
        merged = merged.drop(columns=["reference_share_r"])
        absent = merged["count"].isna()
        merged.loc[absent, ["count", "share"]] = 0
        for row in merged[absent].itertuples(index=False):
            findings.append(
                Finding(
                    "error",
                    f"{row.attribute}={row.group} is absent from the data",
                    f"The reference population has {row.reference_share:.1%} of "
                    f"{row.attribute}={row.group} but the data has no such row.",
                    slice=f"{row.attribute}={row.group}",
                )
            )
        # keep the data's order; groups only the reference has come last within their attribute
        merged["_rank"] = merged["attribute"].map(attribute_rank)
        merged["_order"] = merged["_order"].fillna(np.inf)
        groups = (
            merged.sort_values(["_rank", "_order"], kind="stable")
            .drop(columns=["_rank", "_order"])
            .astype({"count": np.int64})
            .reset_index(drop=True)
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        groups["share_ratio"] = groups["share"] / groups["reference_share"]
        groups["base_rate_ratio"] = groups["base_rate"] / overall_rate
    groups["base_rate_difference"] = groups["base_rate"] - overall_rate
    groups["needed_n"] = np.int64(needed)
    groups["additional_needed"] = np.maximum(needed - groups["count"], 0).astype(np.int64)
    groups = groups[
        [
            "attribute",
            "group",
            "count",
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
    ]
    balance_rows = []
    for attribute, part in groups.groupby("attribute", sort=False):
        counts = part["count"].to_numpy(dtype=float)
        p = counts / counts.sum()
        rates = part.loc[part["count"] >= MIN_GROUP_SIZE, "base_rate"]
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
        targets = [("uniform", np.full(len(p), 1 / len(p)))]
        if part["reference_share"].notna().any():
            q = part["reference_share"].fillna(0).to_numpy()
            targets.append(("reference", q / q.sum()))
        for against, q in targets:
            keep = q > 0
            stat, pvalue = chisquare(counts[keep], counts[keep].sum() * q[keep] / q[keep].sum())
            nonzero = p[p > 0]
            entropy = float(-(nonzero * np.log(nonzero)).sum())
            balance_rows.append(
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
    balance = pd.DataFrame(balance_rows)
    findings += _findings(groups, ci_width, min_share_ratio, overall_rate, confidence)
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
    result = RepresentationResult(
        groups=groups,
        balance=balance,
        overall_base_rate=overall_rate,
        n_rows=n,
        sensitive_names=attribute_names,
        findings=tuple(findings),
        meta={
            "ci_width": ci_width,
            "confidence": confidence,
            "expected_accuracy": accuracy,
            "min_share_ratio": min_share_ratio,
            "pos_label": positive,
            "has_reference": reference is not None,
        },
    )
    from raikit.ledger import record

    record(
        result,
        check="data.representation",
        ledger=ledger,
        dataset=ds,
        params={
            "ci_width": ci_width,
            "confidence": confidence,
            "expected_accuracy": accuracy,
            "min_share_ratio": min_share_ratio,
        },
    )
    return result


def _label_parity(part, attribute, min_share_ratio, confidence) -> Finding | None:
    """The four-fifths rule on base rates, with the package's verdict rule: a warning when the
    whole interval of the smallest base-rate ratio is below ``min_share_ratio``, a note when it
    straddles it; only groups of at least ``MIN_GROUP_SIZE`` rows are compared, and with fewer
    than two of them there is no verdict. The ratio's interval comes from simultaneous
    (Bonferroni) Wilson intervals of the groups' base rates."""
    rates = part[part["count"] >= MIN_GROUP_SIZE].dropna(subset=["base_rate"])
    if len(rates) < 2 or rates["base_rate"].max() <= 0:
        return None
    count = rates["count"].to_numpy(float)
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
                f"{r.group} ({r.count:,} rows, {r.additional_needed:,} more needed)"
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
