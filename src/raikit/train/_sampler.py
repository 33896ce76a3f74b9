"""``FairBatchSampler``: the torch ``Sampler`` that makes a PyTorch training loop fair."""

from __future__ import annotations

import numpy as np
import torch.utils.data

from raikit.train._common import check_constraint, sensitive_codes
from raikit.train._fairbatch import FairBatchState

__all__ = ["FairBatchSampler"]


class FairBatchSampler(torch.utils.data.Sampler):
    """A batch sampler that adapts each minibatch's mix of (label, group) cells (FairBatch).

    Swap it into any training loop as ``DataLoader(dataset, batch_sampler=sampler)`` and, once
    per epoch, give it the model's probabilities on the training rows with :meth:`update`: the
    share of each group within each label's part of a batch then moves by ``step_size`` (the
    paper's alpha) towards the groups with the higher loss (Roh et al., ICLR 2021).

    Parameters
    ----------
    labels : array-like
        Training labels (binary for ``eqopp``/``dp``; any number of classes for ``eqodds``).
    sensitive_features : array-like, Series or DataFrame
        Values of the sensitive attribute(s), one per row; several columns are combined into
        intersectional groups.
    constraint : {"eqopp", "eqodds", "dp"}, default "eqopp"
    step_size : float, default 0.005
        Step of the mixing-weight update (the paper's alpha).
    batch_size : int, default 100
    sample_weight : array-like, optional
        Rows are drawn within their cell in proportion to their weight.
    pos_label : default 1
        The positive label (``eqopp`` and ``dp``); default the larger label.
    random_state : int, numpy Generator or None

    Attributes
    ----------
    mixing_weights : ndarray of shape (n_classes, n_groups)
    history : list of ndarray
        The mixing weights after each update.

    See Also
    --------
    raikit.train.FairBatchClassifier : the same algorithm behind ``fit``/``predict``.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from raikit.train import FairBatchSampler
    >>> y = np.array([0, 1] * 50); z = np.repeat(["a", "b"], 50)
    >>> sampler = FairBatchSampler(y, z, batch_size=20, random_state=0)
    >>> len(sampler), len(next(iter(sampler)))
    (5, 20)
    >>> proba = np.where(z == "a", 0.9, 0.6)   # the model serves group b's positives worse
    >>> _ = sampler.update(proba)
    >>> sampler.mixing_weights[1].round(3).tolist()   # more of b's positives in each batch
    [0.495, 0.505]
    """

    def __init__(
        self,
        labels,
        sensitive_features,
        *,
        constraint="eqopp",
        step_size=0.005,
        batch_size=100,
        sample_weight=None,
        pos_label=1,
        random_state=None,
    ):
        check_constraint(constraint)
        labels = labels.detach().cpu().numpy() if hasattr(labels, "detach") else labels
        labels = np.asarray(labels).ravel()
        if hasattr(sensitive_features, "detach"):
            sensitive_features = sensitive_features.detach().cpu().numpy()
        groups, self.group_labels = sensitive_codes(sensitive_features, len(labels))
        rng = (
            random_state
            if isinstance(random_state, np.random.Generator)
            else np.random.default_rng(random_state)
        )
        self._state = FairBatchState(
            labels,
            groups,
            constraint=constraint,
            step_size=step_size,
            batch_size=batch_size,
            sample_weight=sample_weight,
            pos_label=pos_label,
            rng=rng,
        )

    @property
    def mixing_weights(self) -> np.ndarray:
        return self._state.lambdas

    @property
    def history(self) -> list:
        return self._state.history

    def update(self, proba) -> np.ndarray:
        """Update the mixing weights; returns the mean loss per (label, group) cell.

        Parameters
        ----------
        proba : array-like or tensor
            The model's probability of the positive class per training row (binary), or one
            column per class, in the order of the sorted labels.
        """
        return self._state.update(proba)

    def __iter__(self):
        yield from (batch.tolist() for batch in self._state.draw_epoch())

    def __len__(self) -> int:
        return self._state.n_batches
