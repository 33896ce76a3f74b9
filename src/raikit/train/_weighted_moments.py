"""Fairlearn's reduction moments with row weights.

Fairlearn's ``ExponentiatedGradient`` and ``GridSearch`` pass every keyword of ``fit`` to the
moments' ``load_data``, which takes no weights, so ``sample_weight`` cannot reach them. These
subclasses carry the weights themselves and evaluate every expectation of the reduction (the
error, the parity constraints and the signed costs handed to the base learner) under the
weighted empirical distribution. An integer weight ``k`` is then exactly a row repeated ``k``
times, and a zero weight a row left out.

This module imports Fairlearn when it is imported; ``_mitigation`` imports it only in ``fit``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from fairlearn.reductions import (
    DemographicParity,
    EqualizedOdds,
    ErrorRate,
    TruePositiveRateParity,
)

from raikit._errors import DataError

__all__ = ["weighted_error_rate", "weighted_parity"]

# Column names of Fairlearn's ``Moment.tags`` frame (fairlearn.reductions._moments.moment).
_EVENT, _GROUP_ID, _LABEL = "event", "group_id", "label"


class _Weights:
    """The row weights of a moment; ``total_samples`` becomes their sum."""

    def _set_weights(self, sample_weight) -> None:
        self.sample_weight = np.asarray(sample_weight, dtype=np.float64)

    @property
    def total_samples(self) -> float:
        return float(self.sample_weight.sum())

    def _check_rows(self, n_rows: int) -> None:
        if self.sample_weight.shape != (n_rows,):
            raise DataError(
                f"sample_weight must have one value per row ({n_rows}), got shape "
                f"{self.sample_weight.shape}."
            )


class _WeightedErrorRate(_Weights, ErrorRate):
    def load_data(self, X, y, **kwargs) -> None:
        super().load_data(X, y, **kwargs)
        self._check_rows(len(self.tags))

    def gamma(self, predictor) -> pd.Series:
        y_pred = np.squeeze(np.asarray(predictor(self.X), dtype=np.float64))
        signed = self.tags[_LABEL].to_numpy(dtype=np.float64) - y_pred
        cost = np.where(signed > 0, signed * self.fn_cost, -signed * self.fp_cost)
        error = pd.Series(float(cost @ self.sample_weight) / self.total_samples, index=self.index)
        self._gamma_descr = str(error)
        return error

    def signed_weights(self, lambda_vec=None) -> pd.Series:
        return super().signed_weights(lambda_vec) * self.sample_weight


class _WeightedParity(_Weights):
    """Parity moments whose event and group probabilities are weighted shares."""

    def load_data(self, X, y, **kwargs) -> None:
        super().load_data(X, y, **kwargs)
        self._check_rows(len(self.tags))
        weights = pd.Series(self.sample_weight, index=self.tags.index)
        event, group = self.tags[_EVENT], self.tags[_GROUP_ID]
        total = self.total_samples
        self.prob_event = weights.groupby(event).sum() / total
        self.prob_group_event = weights.groupby([event, group]).sum() / total
        empty = self.prob_group_event[self.prob_group_event <= 0]
        if len(empty):
            cells = [f"group {g!r}" + ("" if e == "all" else f" ({e})") for e, g in empty.index]
            raise DataError(
                f"sample_weight is zero for every row of {cells}; the fairness constraint needs "
                f"a positive weight in every group. Drop those groups or give them weight."
            )
        # U[i, (sign, e, g)]: the row's coefficient in the constraint on (e, g) (Agarwal et al.
        # 2018, above Theorem 1), built with the weighted probabilities, one column at a time.
        columns = {}
        for e, g in self.prob_group_event.index:  # a loop over constraints, not rows
            in_event = (event == e).to_numpy(dtype=np.float64)
            in_cell = in_event * (group == g).to_numpy(dtype=np.float64)
            p_event, p_cell = self.prob_event[e], self.prob_group_event[e, g]
            columns["+", e, g] = in_event / p_event - self.ratio * in_cell / p_cell
            columns["-", e, g] = -self.ratio * in_event / p_event + in_cell / p_cell
        self.U = pd.DataFrame(columns, index=self.tags.index)[self.index]

    def default_objective(self) -> ErrorRate:
        return weighted_error_rate(self.sample_weight)

    def gamma(self, predictor) -> pd.Series:
        predictions = np.squeeze(np.asarray(predictor(self.X), dtype=np.float64))
        utility = self.utility_diff * predictions + self.utilities[:, 0]
        g_signed = -self.U.T.dot(utility * self.sample_weight) / self.total_samples
        self._gamma_descr = str(g_signed)
        return g_signed

    def signed_weights(self, lambda_vec: pd.Series) -> pd.Series:
        return self.utility_diff * self.sample_weight * self.U.dot(lambda_vec)


class _WeightedDemographicParity(_WeightedParity, DemographicParity):
    pass


class _WeightedTruePositiveRateParity(_WeightedParity, TruePositiveRateParity):
    pass


class _WeightedEqualizedOdds(_WeightedParity, EqualizedOdds):
    pass


_PARITY = {
    "dp": _WeightedDemographicParity,
    "eqopp": _WeightedTruePositiveRateParity,
    "eqodds": _WeightedEqualizedOdds,
}


def weighted_parity(constraint: str, sample_weight, **kwargs):
    """The Fairlearn parity moment of ``constraint`` evaluated under row weights."""
    moment = _PARITY[constraint](**kwargs)
    moment._set_weights(sample_weight)
    return moment


def weighted_error_rate(sample_weight) -> ErrorRate:
    """Fairlearn's ``ErrorRate`` evaluated under row weights."""
    moment = _WeightedErrorRate()
    moment._set_weights(sample_weight)
    return moment
