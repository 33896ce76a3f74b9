"""Sensitive groups as integer codes, and the Kamiran-Calders reweighing derived from them.

Shared by the data stage (MLClean reweighs the cleaned rows) and the training stage
(``ReweighingClassifier``, the fair estimators), so it lives below both.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from raikit._errors import DataError, ParameterError

__all__ = ["match_groups", "reweighing_weights", "sensitive_codes"]


def _encode(sensitive, n_rows: int, *, name: str):
    """The :class:`~raikit._grouping.GroupEncoding` of ``sensitive`` (one value per row, none
    missing: the one missing-value policy refuses them, as no group was named for them)."""
    from raikit._grouping import MISSING, encode_groups, to_sensitive_frame

    if sensitive is None:
        raise ParameterError(
            f"{name} is required (a keyword argument): pass one sensitive value per row, "
            f"e.g. {name}=df['sex']."
        )
    frame = to_sensitive_frame(sensitive)
    if len(frame) != n_rows:
        raise DataError(
            f"{name} has {len(frame)} rows but X has {n_rows}; pass one sensitive value per row."
        )
    if frame.isna().any().any():
        column = frame.columns[frame.isna().any()].tolist()
        raise DataError(
            f"{name} has missing values in {column}; fill them (e.g. with {MISSING!r}) first."
        )
    return encode_groups(frame)


def sensitive_codes(sensitive, n_rows: int, *, name: str = "sensitive_features"):
    """Integer group codes (the intersection of every attribute) and their labels.

    Returns ``(codes, labels)`` where ``codes`` is an ``int64`` array with one code per row and
    ``labels`` a list of strings, one per code: the values of the group's
    :class:`~raikit._grouping.SliceKey` (its ``label``, ``"F & A"``).
    """
    encoding = _encode(sensitive, n_rows, name=name)
    return np.asarray(encoding.intersection_codes, dtype=np.int64), encoding.labels()


def match_groups(sensitive, labels, n_rows: int, *, name: str = "sensitive_features"):
    """The index in ``labels`` (the groups :func:`sensitive_codes` gave at fit time) of every row.

    Encodes ``sensitive`` once and looks each of its groups up (one lookup per group, not per
    row). A group that is not in ``labels`` raises a :class:`DataError` naming it.
    """
    encoding = _encode(sensitive, n_rows, name=name)
    found = np.asarray(encoding.labels(), dtype=object)
    index = pd.Index(labels).get_indexer(found)
    if (index < 0).any():
        unseen = sorted(found[index < 0].tolist())
        raise DataError(
            f"{name} has groups {unseen[:5]} that were not in the training data; predict only "
            f"for the groups given to fit."
        )
    return index[encoding.intersection_codes].astype(np.int64)


def reweighing_weights(y, sensitive_features, *, sample_weight=None) -> np.ndarray:
    """Kamiran-Calders reweighing: ``w(y, z) = P(y) P(z) / P(y, z)`` for every row.

    Training with these weights makes the label statistically independent of the (possibly
    intersectional, many-valued) sensitive groups in the weighted data.

    Parameters
    ----------
    y : array-like
        Labels (any number of classes).
    sensitive_features : array-like, Series or DataFrame
        Values of the sensitive attribute(s), one per row; several columns are combined into
        intersections.
    sample_weight : array-like, optional
        Existing row weights: the probabilities are then weighted shares, and the returned
        weights (to be multiplied into ``sample_weight``) make the label independent of the
        groups in the data weighted by their product.

    Returns
    -------
    ndarray of float
        One weight per row; the weights sum to the number of rows (unweighted case).

    See Also
    --------
    raikit.train.ReweighingClassifier : fits a classifier on them.

    Examples
    --------
    >>> from raikit.train import reweighing_weights
    >>> w = reweighing_weights([1, 1, 1, 0, 1, 0, 0, 0], ["a"] * 4 + ["b"] * 4)
    >>> w.round(3).tolist()
    [0.667, 0.667, 0.667, 2.0, 2.0, 0.667, 0.667, 0.667]
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise DataError(f"y must be 1-D, got shape {y.shape}.")
    if len(y) == 0:
        raise DataError("y is empty; reweighing needs at least one row.")
    groups, _ = sensitive_codes(sensitive_features, len(y))
    _, y_codes = np.unique(y, return_inverse=True)
    n_groups = int(groups.max()) + 1
    n_classes = int(y_codes.max()) + 1
    cell = y_codes * n_groups + groups
    if sample_weight is None:
        base = np.ones(len(y))
    else:
        base = np.asarray(sample_weight, dtype=float)
        if base.shape != y.shape or not np.all(np.isfinite(base)) or np.any(base < 0):
            raise DataError(
                f"sample_weight must be finite, non-negative and have one value per row ({len(y)})."
            )
        if base.sum() <= 0:
            raise DataError("sample_weight sums to zero; nothing to reweigh.")
    counts = np.bincount(cell, base, minlength=n_classes * n_groups)
    joint = counts.reshape(n_classes, n_groups) / base.sum()
    p_y, p_z = joint.sum(axis=1), joint.sum(axis=0)
    expected = p_y[:, None] * p_z[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        table = np.where(joint > 0, expected / joint, 0.0)
    return table[y_codes, groups]
