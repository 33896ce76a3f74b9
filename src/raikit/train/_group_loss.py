"""Fairlearn's ``BoundedGroupLoss`` with its per-row weights computed in one vectorised lookup.

Fairlearn computes the signed weights of every row with ``DataFrame.apply`` (a Python call per
row and per iteration: 60% of exponentiated gradient's time on a few thousand rows). This
subclass returns the same numbers, as a lookup of each row's group in the multipliers.
Imported only when Fairlearn is (it is a dependency of raikit).
"""

from __future__ import annotations

import pandas as pd
from fairlearn.reductions import BoundedGroupLoss
from fairlearn.reductions._moments.moment import _GROUP_ID

__all__ = ["FastBoundedGroupLoss"]


class FastBoundedGroupLoss(BoundedGroupLoss):
    """``BoundedGroupLoss`` whose ``signed_weights`` are vectorised (same values)."""

    def signed_weights(self, lambda_vec: pd.Series | None = None) -> pd.Series:
        """Each row's weight: its group's multiplier over the group's share of the rows."""
        if lambda_vec is None:
            adjust = pd.Series(1.0, index=self.index)
        else:
            adjust = lambda_vec / self.prob_attr
        groups = self.tags[_GROUP_ID]
        return pd.Series(adjust.loc[groups].to_numpy(), index=self.tags.index, dtype="float64")
