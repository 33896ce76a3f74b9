"""The sliced-metrics engine: per-slice sufficient statistics in one vectorised pass.

Rows are reduced once, at the finest level (the intersection of all sensitive attributes), to a small
table of statistics per group: confusion counts, score sums and histograms, residual sums. Every other
slice (each attribute alone, the whole population) is a sum of intersection groups, computed with one
sparse matrix product. Metrics, disparities and bootstrap replicates are then functions of these small
tables, so their cost grows with groups x replicates, never with rows x replicates.

Bootstrap
---------
Count metrics (rates of the confusion table) use a Bayesian bootstrap with the Jeffreys prior:
each non-empty (intersection group, true label, predicted label) cell of ``c`` rows gets a
``Gamma(c)`` weight, and every slice's cell an extra independent ``Gamma(1/2)`` (``2 / K**2`` for
``K`` classes), so a slice's cell is ``Gamma(count + 1/2)`` and a rate of two cells, such as
the true positive rate, is drawn from ``Beta(tp + 1/2, fn + 1/2)``: the Jeffreys interval, valid
at 0 of k and k of k and never of zero width. The reported interval is the union of the
percentile intervals with and without the prior (the latter, the plain Bayesian bootstrap, keeps
the coverage near 0 for tiny groups, where the Jeffreys interval alone dips to 0.87 at n=3,
p=0.05); ``tests/metrics/test_intervals.py`` checks coverage by simulation.

Score and regression metrics follow the Poisson bootstrap: each row gets a weight ``Poisson(1)``,
so a stratum of ``n`` rows gets ``Poisson(n)``. Strata are (group, label, score quantile bin) or
(group, target bin, residual bin), and a replicate scales each stratum's sums by
``Poisson(n) / n``. This ignores the spread within a stratum, which is small with 256 strata per
group; ``tests/metrics/test_bootstrap.py`` checks the resulting intervals against a row-level
bootstrap.

Every interval is widened, if needed, to contain its point estimate. Disparities between groups
(largest difference, smallest ratio) get intervals from simultaneous intervals of their parts;
see ``raikit.metrics._group_metrics._disparity_bounds``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import sparse

from raikit._grouping import GroupEncoding, SliceKey
from raikit._validation import rng_from

__all__ = ["Slices", "build_slices", "effective_rows", "rng_from"]

SCORE_BINS = 256  # quantile strata of the score used by the bootstrap of score metrics
ECE_BINS = 10  # equal-width calibration bins of the expected calibration error
REGRESSION_BINS = 16  # quantile bins of the target and of the residual (16 x 16 strata)


@dataclass(frozen=True, eq=False)
class Slices:
    """The rows of every result table and how each is made of intersection groups.

    ``attribute[r]`` and ``group[r]`` label slice ``r``; row 0 is the whole population;
    ``membership`` (slices x intersection groups, 0/1) sums intersection statistics into slices.
    """

    attribute: list[str]
    group: list[str]
    membership: sparse.csr_matrix
    families: dict[str, np.ndarray]  # attribute name -> the slice rows of its groups
    encoding: GroupEncoding | None = None

    @cached_property
    def keys(self) -> list[SliceKey]:
        """The structured key (attribute -> value) of each slice, built on first use."""
        encoding = self.encoding
        keys = [SliceKey()]
        for i in range(len(encoding.names)):
            keys += encoding.keys(i)
        if len(encoding.names) > 1:
            keys += encoding.keys()
        return keys

    @property
    def n_slices(self) -> int:
        return len(self.attribute)

    def aggregate(self, stats: np.ndarray, axis: int = 0) -> np.ndarray:
        """Sum intersection-level statistics (group axis ``axis``) into every slice."""
        moved = np.moveaxis(np.asarray(stats, dtype=float), axis, 0)
        shape = moved.shape
        flat = moved.reshape(shape[0], -1)
        out = np.asarray(self.membership @ flat)
        return np.moveaxis(out.reshape((self.n_slices, *shape[1:])), 0, axis)


def build_slices(encoding: GroupEncoding) -> Slices:
    """Slices for the whole population, each attribute alone, and (with 2+ attributes) their
    intersection."""
    n_groups = len(encoding.intersection_labels)
    attribute = ["overall"]
    group = ["overall"]
    rows = [np.zeros(n_groups, dtype=np.int64)]
    cols = [np.arange(n_groups)]
    families: dict[str, np.ndarray] = {}
    next_row = 1
    members = encoding.membership()
    for i, name in enumerate(encoding.names):
        n_levels = len(encoding.levels[i])
        attribute += [name] * n_levels
        group += encoding.labels(i)
        rows.append(next_row + members[i])
        cols.append(np.arange(n_groups))
        families[name] = np.arange(next_row, next_row + n_levels)
        next_row += n_levels
    if len(encoding.names) > 1:
        name = encoding.intersection_name
        attribute += [name] * n_groups
        group += encoding.labels()
        rows.append(next_row + np.arange(n_groups))
        cols.append(np.arange(n_groups))
        families[name] = np.arange(next_row, next_row + n_groups)
        next_row += n_groups
    data = np.ones(sum(len(r) for r in rows))
    membership = sparse.csr_matrix(
        (data, (np.concatenate(rows), np.concatenate(cols))), shape=(next_row, n_groups)
    )
    return Slices(attribute, group, membership, families, encoding)


# --------------------------------------------------------------------------- classification
def confusion_counts(
    codes: np.ndarray,
    y: np.ndarray,
    y_hat: np.ndarray,
    n_groups: int,
    n_classes: int = 2,
    *,
    weights: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Confusion counts per group: shape (groups, classes * classes), cell ``true * K + pred``.

    For binary labels the cells are ``tn, fp, fn, tp``. With ``weights`` the counts are sums of
    weights and the second array holds each cell's sum of squared weights (for the bootstrap);
    without, it is ``None``.

    Examples
    --------
    >>> counts, squares = confusion_counts(np.array([0, 0, 1]), np.array([1, 0, 1]),
    ...                                    np.array([1, 1, 0]), 2, weights=np.array([2., 1., 3.]))
    >>> counts.tolist(), squares.tolist()
    ([[0.0, 1.0, 0.0, 2.0], [0.0, 0.0, 3.0, 0.0]], [[0.0, 1.0, 0.0, 4.0], [0.0, 0.0, 9.0, 0.0]])
    """
    k2 = n_classes * n_classes
    index = codes * k2 + (y * n_classes + y_hat)
    size = n_groups * k2
    if weights is None:
        return np.bincount(index, minlength=size).reshape(n_groups, k2), None
    counts = np.bincount(index, weights=weights, minlength=size).reshape(n_groups, k2)
    squares = np.bincount(index, weights=weights * weights, minlength=size)
    return counts, squares.reshape(n_groups, k2)


def effective_rows(total: np.ndarray, squares: np.ndarray | None) -> np.ndarray:
    """Kish's effective number of rows ``(sum w)^2 / sum w^2`` (0 for an empty cell); the row
    count itself without weights (``squares`` None).

    Examples
    --------
    >>> effective_rows(np.array([4.0, 0.0]), np.array([8.0, 0.0])).tolist()
    [2.0, 0.0]
    """
    if squares is None:
        return total
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(squares > 0, total * total / np.where(squares > 0, squares, 1), 0.0)


def one_vs_rest(counts: np.ndarray, n_classes: int) -> np.ndarray:
    """Turn (..., K*K) multiclass counts into (..., K, 4) one-vs-rest ``tn, fp, fn, tp``."""
    matrix = counts.reshape((*counts.shape[:-1], n_classes, n_classes))
    tp = np.diagonal(matrix, axis1=-2, axis2=-1)
    fp = matrix.sum(axis=-2) - tp
    fn = matrix.sum(axis=-1) - tp
    total = matrix.sum(axis=(-2, -1))[..., None]
    tn = total - tp - fp - fn
    return np.stack([tn, fp, fn, tp], axis=-1)


def exact_auc(
    family_codes: list[np.ndarray],
    n_per_family: list[int],
    score: np.ndarray,
    y: np.ndarray,
    *,
    weights: np.ndarray | None = None,
) -> list[np.ndarray]:
    """ROC AUC per group for several groupings, with ties counted as half (as scikit-learn does).

    One argsort by score is shared; each grouping then needs one stable sort of small integer
    codes (a radix sort). AUC is the Mann-Whitney statistic from mid-ranks within each group;
    with ``weights``, the weighted statistic (each positive's weight times the weight of the
    negatives below it plus half of those tied), as scikit-learn's ``sample_weight``.
    """
    by_score = np.argsort(score, kind="stable")
    if weights is not None:
        return [
            _weighted_auc(codes, n_groups, by_score, score, y, weights)
            for codes, n_groups in zip(family_codes, n_per_family, strict=True)
        ]
    out = []
    for codes, n_groups in zip(family_codes, n_per_family, strict=True):
        small = codes.astype(np.int16 if n_groups < 2**15 else np.int64)
        order = by_score[np.argsort(small[by_score], kind="stable")]
        c, s, t = codes[order], score[order], y[order].astype(float)
        n = len(c)
        new_group = np.empty(n, dtype=bool)
        new_group[0] = True
        new_group[1:] = c[1:] != c[:-1]
        new_block = new_group.copy()
        new_block[1:] |= s[1:] != s[:-1]
        starts = np.flatnonzero(new_block)
        ends = np.append(starts[1:], n)
        group_first = np.flatnonzero(new_group)
        first_of_block = group_first[np.cumsum(new_group)[starts] - 1]
        mid_rank = (starts + ends - 1) / 2.0 - first_of_block + 1.0
        block_of_row = np.cumsum(new_block) - 1
        rank_sum = np.bincount(c, weights=mid_rank[block_of_row] * t, minlength=n_groups)
        n_pos = np.bincount(c, weights=t, minlength=n_groups)
        n_all = np.bincount(c, minlength=n_groups).astype(float)
        n_neg = n_all - n_pos
        with np.errstate(divide="ignore", invalid="ignore"):
            auc = (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)
        out.append(np.where((n_pos > 0) & (n_neg > 0), auc, np.nan))
    return out


def _weighted_auc(codes, n_groups, by_score, score, y, weights) -> np.ndarray:
    """Weighted ROC AUC per group (see :func:`exact_auc`), vectorised over rows and groups."""
    small = codes.astype(np.int16 if n_groups < 2**15 else np.int64)
    order = by_score[np.argsort(small[by_score], kind="stable")]
    c, s, t, w = codes[order], score[order], y[order].astype(float), weights[order]
    new_group = np.r_[True, c[1:] != c[:-1]]
    new_block = new_group | np.r_[True, s[1:] != s[:-1]]
    block = np.cumsum(new_block) - 1  # tie blocks: equal scores within a group
    negative = w * (1 - t)
    in_block = np.bincount(block, weights=negative)  # negative weight of each tie block
    before = np.cumsum(in_block) - in_block  # negative weight of all earlier blocks
    group_of_block = c[np.flatnonzero(new_block)]
    first_block = np.full(n_groups, 0, dtype=np.int64)
    first_block[c[np.flatnonzero(new_group)]] = block[np.flatnonzero(new_group)]
    below = before - before[first_block[group_of_block]]  # earlier blocks of the same group
    concordant = np.bincount(
        c, weights=w * t * (below[block] + 0.5 * in_block[block]), minlength=n_groups
    )
    w_pos = np.bincount(c, weights=w * t, minlength=n_groups)
    w_neg = np.bincount(c, weights=negative, minlength=n_groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = concordant / (w_pos * w_neg)
    return np.where((w_pos > 0) & (w_neg > 0), auc, np.nan)


@dataclass(frozen=True, eq=False)
class ScoreStats:
    """Sums per intersection group for the score metrics, and the strata for their bootstrap."""

    brier_sum: np.ndarray  # (G,)
    log_loss_sum: np.ndarray  # (G,)
    ece: np.ndarray  # (G, ECE_BINS, 3): count, sum of labels, sum of scores
    strata: np.ndarray  # (G, 2, SCORE_BINS, 4): count, sum s, sum s^2, sum log-loss term
    stratum_ece_bin: np.ndarray  # (SCORE_BINS,) the ECE bin of each score stratum (by its mean)
    strata_n_eff: np.ndarray | None = None  # (G, 2, SCORE_BINS) effective rows (weighted only)


def score_stats(
    codes: np.ndarray,
    y: np.ndarray,
    score: np.ndarray,
    n_groups: int,
    *,
    weights: np.ndarray | None = None,
) -> ScoreStats:
    """Per-group sums behind Brier score, log loss and calibration error, plus bootstrap strata.

    With ``weights`` every count is a sum of weights and every sum a weighted sum.
    """
    eps = np.finfo(np.float64).eps
    w = np.ones(len(score)) if weights is None else weights
    clipped = np.clip(score, eps, 1 - eps)
    log_term = -(y * np.log(clipped) + (1 - y) * np.log1p(-clipped))
    brier = np.bincount(codes, weights=w * (score - y) ** 2, minlength=n_groups)
    log_loss = np.bincount(codes, weights=w * log_term, minlength=n_groups)
    # Clipped so that scores outside [0, 1] (a decision function, for AUC only) stay in range.
    ece_bin = np.clip((score * ECE_BINS).astype(np.int64), 0, ECE_BINS - 1)
    ece_index = codes * ECE_BINS + ece_bin
    size = n_groups * ECE_BINS
    ece = np.stack(
        [
            np.bincount(ece_index, weights=w, minlength=size),
            np.bincount(ece_index, weights=w * y, minlength=size),
            np.bincount(ece_index, weights=w * score, minlength=size),
        ],
        axis=-1,
    ).reshape(n_groups, ECE_BINS, 3)
    edges = np.unique(np.quantile(score, np.linspace(0, 1, SCORE_BINS + 1)[1:-1]))
    stratum = np.searchsorted(edges, score, side="right")
    index = (codes * 2 + y.astype(np.int64)) * SCORE_BINS + stratum
    size = n_groups * 2 * SCORE_BINS
    strata = np.stack(
        [
            np.bincount(index, weights=w, minlength=size),
            np.bincount(index, weights=w * score, minlength=size),
            np.bincount(index, weights=w * score * score, minlength=size),
            np.bincount(index, weights=w * log_term, minlength=size),
        ],
        axis=-1,
    ).reshape(n_groups, 2, SCORE_BINS, 4)
    n_eff = None
    if weights is not None:
        squares = np.bincount(index, weights=w * w, minlength=size).reshape(strata.shape[:-1])
        n_eff = effective_rows(strata[..., 0], squares)
    per_stratum = strata.sum(axis=(0, 1))
    with np.errstate(invalid="ignore"):
        mean_score = per_stratum[:, 1] / per_stratum[:, 0]
    stratum_ece_bin = np.clip(
        (np.nan_to_num(mean_score) * ECE_BINS).astype(np.int64), 0, ECE_BINS - 1
    )
    return ScoreStats(brier, log_loss, ece, strata, stratum_ece_bin, n_eff)


def score_metrics_from_strata(
    strata: np.ndarray, stratum_ece_bin: np.ndarray, names: list[str]
) -> np.ndarray:
    """Score metrics of (..., 2, SCORE_BINS, 4) strata sums (bootstrap replicates)."""
    count = strata[..., 0]
    n_neg = count[..., 0, :]
    n_pos = count[..., 1, :]
    total = count.sum(axis=(-2, -1))
    out = []
    with np.errstate(divide="ignore", invalid="ignore"):
        for name in names:
            if name == "roc_auc":
                below = np.cumsum(n_neg, axis=-1) - n_neg
                u = (n_pos * (below + 0.5 * n_neg)).sum(axis=-1)
                p, q = n_pos.sum(axis=-1), n_neg.sum(axis=-1)
                value = np.where((p > 0) & (q > 0), u / (p * q), np.nan)
            elif name == "brier_score":
                s1, s2 = strata[..., 1], strata[..., 2]
                sse = s2.sum(axis=(-2, -1)) - 2 * s1[..., 1, :].sum(axis=-1) + n_pos.sum(axis=-1)
                value = np.where(total > 0, sse / total, np.nan)
            elif name == "log_loss":
                value = np.where(total > 0, strata[..., 3].sum(axis=(-2, -1)) / total, np.nan)
            else:  # expected_calibration_error
                labels = n_pos  # sum of labels per stratum
                scores = strata[..., 1].sum(axis=-2)
                counts = count.sum(axis=-2)
                shape = (*counts.shape[:-1], ECE_BINS)
                gap_y = np.zeros(shape)
                gap_s = np.zeros(shape)
                n_bin = np.zeros(shape)
                for b in range(ECE_BINS):  # 10 calibration bins, not groups or rows
                    mask = stratum_ece_bin == b
                    gap_y[..., b] = labels[..., mask].sum(axis=-1)
                    gap_s[..., b] = scores[..., mask].sum(axis=-1)
                    n_bin[..., b] = counts[..., mask].sum(axis=-1)
                value = np.where(total > 0, np.abs(gap_y - gap_s).sum(axis=-1) / total, np.nan)
            out.append(value)
    return np.stack(out, axis=-1)


# --------------------------------------------------------------------------- regression
@dataclass(frozen=True, eq=False)
class RegressionStats:
    """Per-group sums for regression metrics, in coordinates shifted by ``shift``.

    ``sums`` (G, 6): n, sum of (y - shift), sum of (y_hat - shift), sum |e|, sum e^2, centred
    sum of squares of y. ``strata`` (G, S, 6): the same per (target bin x residual bin) stratum,
    with the centred sum of squares within the stratum. Shifting by a typical target value and
    combining centred sums (never ``sum y^2 - (sum y)^2 / n``) keeps R² exact to rounding even
    when the target's mean is 1e12 times its spread.
    """

    sums: np.ndarray
    strata: np.ndarray
    shift: float
    strata_n_eff: np.ndarray | None = None  # (G, S) effective rows per stratum (weighted only)


def _scatter(values: np.ndarray, rows: np.ndarray, n_out: int) -> np.ndarray:
    """Sum ``values[..., k]`` into ``out[..., rows[k]]`` (leading axes kept)."""
    k = values.shape[-1]
    matrix = sparse.csr_matrix((np.ones(k), (rows, np.arange(k))), shape=(n_out, k))
    flat = values.reshape(-1, k)
    return np.asarray(matrix @ flat.T).T.reshape((*values.shape[:-1], n_out))


def combine_moments(
    n: np.ndarray, total: np.ndarray, m2: np.ndarray, rows: np.ndarray, cols: np.ndarray, n_out
):
    """Combine parts' (count, sum, centred sum of squares) into wholes (Chan et al.'s parallel
    update, in its two-pass form): whole ``rows[k]`` contains part ``cols[k]``, and

    ``M2_whole = sum_parts M2_part + n_part * (mean_part - mean_whole) ** 2``.

    Parts are on the last axis; leading axes (bootstrap replicates) are kept. No difference of
    large sums is ever taken, so the result is exact to rounding whatever the mean.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        n_part = n[..., cols]
        whole_n = _scatter(n_part, rows, n_out)
        whole_total = _scatter(total[..., cols], rows, n_out)
        mean_part = np.where(n > 0, total / np.where(n > 0, n, 1), 0.0)[..., cols]
        mean_whole = np.where(whole_n > 0, whole_total / np.where(whole_n > 0, whole_n, 1), 0.0)
        deviation = n_part * (mean_part - mean_whole[..., rows]) ** 2
    whole_m2 = _scatter(m2[..., cols] + deviation, rows, n_out)
    return whole_n, whole_total, whole_m2


def regression_stats(
    codes: np.ndarray,
    y: np.ndarray,
    y_hat: np.ndarray,
    n_groups: int,
    *,
    weights: np.ndarray | None = None,
) -> RegressionStats:
    """Per-group sums for regression metrics (shifted, two passes) and the (target bin x
    residual bin) strata of the bootstrap; with ``weights``, weighted sums (``n`` is the sum of
    the weights, as scikit-learn's weighted MAE, MSE and R² use it)."""
    error = y - y_hat
    w = np.ones(len(y)) if weights is None else weights
    shift = float(np.median(y[:: max(1, len(y) // 1000)])) if len(y) else 0.0
    d = y - shift  # exact for values within a factor 2 of the shift (Sterbenz)
    n = np.bincount(codes, weights=w, minlength=n_groups)
    sum_d = np.bincount(codes, weights=w * d, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_d = np.where(n > 0, sum_d / np.where(n > 0, n, 1), 0.0)
    centred = np.bincount(codes, weights=w * (d - mean_d[codes]) ** 2, minlength=n_groups)
    sums = np.stack(
        [
            n,
            sum_d,
            np.bincount(codes, weights=w * (y_hat - shift), minlength=n_groups),
            np.bincount(codes, weights=w * np.abs(error), minlength=n_groups),
            np.bincount(codes, weights=w * error * error, minlength=n_groups),
            centred,
        ],
        axis=-1,
    )
    probabilities = np.linspace(0, 1, REGRESSION_BINS + 1)[1:-1]
    y_bin = np.searchsorted(np.unique(np.quantile(y, probabilities)), y, side="right")
    e_bin = np.searchsorted(np.unique(np.quantile(error, probabilities)), error, side="right")
    n_strata = REGRESSION_BINS * REGRESSION_BINS
    index = codes * n_strata + y_bin * REGRESSION_BINS + e_bin
    size = n_groups * n_strata
    count = np.bincount(index, weights=w, minlength=size)
    stratum_sum = np.bincount(index, weights=w * d, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        stratum_mean = np.where(count > 0, stratum_sum / np.where(count > 0, count, 1), 0.0)
    strata = np.stack(
        [
            count,
            stratum_sum,
            np.bincount(index, weights=w * (d - stratum_mean[index]) ** 2, minlength=size),
            np.bincount(index, weights=w * (y_hat - shift), minlength=size),
            np.bincount(index, weights=w * np.abs(error), minlength=size),
            np.bincount(index, weights=w * error * error, minlength=size),
        ],
        axis=-1,
    ).reshape(n_groups, n_strata, 6)
    n_eff = None
    if weights is not None:
        squares = np.bincount(index, weights=w * w, minlength=size)
        n_eff = effective_rows(count, squares).reshape(n_groups, n_strata)
    return RegressionStats(sums, strata, shift, n_eff)


def combine_centred(sums_by_group: np.ndarray, slices: Slices) -> np.ndarray:
    """Centred sum of squares of y per slice from per-group ones (:func:`combine_moments`)."""
    coo = slices.membership.tocoo()
    _, _, m2 = combine_moments(
        sums_by_group[:, 0],
        sums_by_group[:, 1],
        sums_by_group[:, 5],
        coo.row,
        coo.col,
        slices.n_slices,
    )
    return m2


def regression_replicates(strata_replicates: np.ndarray, slices: Slices) -> tuple[np.ndarray, ...]:
    """Per-slice (n, sum, sum y_hat, sum |e|, sum e^2, centred SS) of replicated strata shaped
    (b, G, S, 6): strata combine into groups, groups into slices, both with
    :func:`combine_moments`."""
    b, n_groups, n_strata, _ = strata_replicates.shape
    flat = strata_replicates.reshape(b, n_groups * n_strata, 6)
    parts = np.arange(n_groups * n_strata)
    g_n, g_sum, g_m2 = combine_moments(
        flat[..., 0], flat[..., 1], flat[..., 2], parts // n_strata, parts, n_groups
    )
    coo = slices.membership.tocoo()
    n, total, m2 = combine_moments(g_n, g_sum, g_m2, coo.row, coo.col, slices.n_slices)
    other = slices.aggregate(flat[..., 3:].reshape(b, n_groups, n_strata, 3).sum(axis=2), axis=1)
    return n, total, other[..., 0], other[..., 1], other[..., 2], m2


def regression_metrics(
    n, sum_y, sum_y_hat, sum_abs, sum_sq, centred, names, shift: float = 0.0
) -> np.ndarray:
    """Regression metrics from per-slice sums (arrays of any shape); ``sum_y`` and ``sum_y_hat``
    are sums of values minus ``shift``."""
    out = []
    with np.errstate(divide="ignore", invalid="ignore"):
        ok = n > 0
        for name in names:
            if name == "count":
                value = n.astype(float)
            elif name == "mean_absolute_error":
                value = np.where(ok, sum_abs / n, np.nan)
            elif name == "mean_squared_error":
                value = np.where(ok, sum_sq / n, np.nan)
            elif name == "root_mean_squared_error":
                value = np.where(ok, np.sqrt(sum_sq / n), np.nan)
            elif name == "r2":
                value = np.where(ok & (centred > 0), 1.0 - sum_sq / centred, np.nan)
            elif name == "mean_prediction":
                value = np.where(ok, shift + sum_y_hat / n, np.nan)
            else:  # mean_target
                value = np.where(ok, shift + sum_y / n, np.nan)
            out.append(value)
    return np.stack(out, axis=-1)


def poisson_scale(
    rng: np.random.Generator,
    strata: np.ndarray,
    n_boot: int,
    *,
    n_eff: np.ndarray | None = None,
) -> np.ndarray:
    """Bootstrap replicates of stratum sums: shape (n_boot, *strata.shape).

    ``strata[..., 0]`` is the stratum's row count; every sum of the stratum is scaled by
    ``Poisson(n) / n``. With weighted strata, ``n_eff`` (the effective rows of each stratum,
    :func:`effective_rows`) takes the place of ``n``.
    """
    counts = strata[..., 0] if n_eff is None else n_eff
    draws = rng.poisson(counts, size=(n_boot, *counts.shape)).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        factor = np.where(counts > 0, draws / counts, 0.0)
    return strata[None] * factor[..., None]


def to_frame_labels(slices: Slices) -> pd.MultiIndex:
    """The (attribute, group) index of every slice but the overall one."""
    return pd.MultiIndex.from_arrays(
        [slices.attribute[1:], slices.group[1:]], names=["attribute", "group"]
    )
