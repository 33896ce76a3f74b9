"""FairBatch (Roh et al., ICLR 2021): fair training by adapting the minibatch mix of each cell.

Every (label, group) cell gets a share of each minibatch. Once per epoch the model's loss per cell
is measured on the training data and the within-label group shares ``lambda[y, z]`` take one step
of size ``step_size`` (the paper's alpha) towards the groups the model currently serves worst,
clipped to [0, 1] — the bilevel update of the paper. With two groups this is exactly the
reference implementation's ``lb1``/``lb2`` update; with more groups the step is spread over the
groups in proportion to how far each group's loss is from the mean loss of its label (the
largest moves by ``step_size``).

By default training stops when the fairness gap and the loss on the training rows stop
improving and the mixing weights have settled (see ``FairBatchClassifier``'s ``epochs``).
"""

from __future__ import annotations

import time

import numpy as np

from raikit._errors import DataError, ParameterError
from raikit.train._base import TorchClassifierBase
from raikit.train._common import check_constraint, fit_groups, import_torch

__all__ = ["FairBatchClassifier", "FairBatchState"]


def _as_numpy(values) -> np.ndarray:
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    return np.asarray(values)


class FairBatchState:
    """The numpy core of :class:`FairBatchSampler`: cells, mixing weights, update and draws.

    Parameters
    ----------
    labels : array-like of int
        Class codes ``0..K-1`` per training row.
    groups : array-like of int
        Group codes ``0..G-1`` per training row (any number of groups).
    constraint : {"eqopp", "eqodds", "dp"}
    step_size : float
        Step size of the mixing-weight update (the paper's alpha).
    batch_size : int
    sample_weight : array-like, optional
        Rows are drawn within their cell in proportion to their weight, and cell losses and
        label shares are weighted.
    pos_label : int, default 1
        Code of the positive class (``eqopp`` and ``dp``).
    rng : numpy Generator
    """

    def __init__(
        self,
        labels,
        groups,
        *,
        constraint="eqopp",
        step_size=0.005,
        batch_size=100,
        sample_weight=None,
        pos_label=1,
        rng=None,
    ):
        labels = np.asarray(labels)
        groups = np.asarray(groups)
        if labels.ndim != 1 or groups.shape != labels.shape:
            raise DataError(
                f"labels and sensitive must be 1-D with one value per row, got shapes "
                f"{labels.shape} and {groups.shape}."
            )
        if len(labels) == 0:
            raise DataError("FairBatch needs at least one training row, got 0.")
        self.constraint = check_constraint(constraint)
        if (
            isinstance(step_size, bool)
            or not isinstance(step_size, int | float | np.number)
            or not np.isfinite(step_size)
            or step_size < 0
        ):
            raise ParameterError(f"step_size must be a non-negative number, got {step_size!r}.")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer):
            raise ParameterError(f"batch_size must be a positive integer, got {batch_size!r}.")
        if batch_size < 1:
            raise ParameterError(f"batch_size must be a positive integer, got {batch_size!r}.")
        self.step_size = float(step_size)
        self.batch_size = int(batch_size)
        self.y_levels, self.y = np.unique(labels, return_inverse=True)
        self.z_levels, self.z = np.unique(groups, return_inverse=True)
        self.n_classes, self.n_groups = len(self.y_levels), len(self.z_levels)
        if self.constraint in ("eqopp", "dp") and self.n_classes != 2:
            raise DataError(
                f"constraint={self.constraint!r} needs a binary label, got {self.n_classes} "
                f"classes; use constraint='eqodds' for multiclass labels."
            )
        matches = np.flatnonzero(self.y_levels == pos_label)
        self.pos = int(matches[0]) if len(matches) else self.n_classes - 1
        n = len(self.y)
        self.weight = np.ones(n) if sample_weight is None else np.asarray(sample_weight, float)
        if self.weight.shape != (n,):
            raise DataError(f"sample_weight must have one value per row ({n}).")
        self.cell = self.y * self.n_groups + self.z
        n_cells = self.n_classes * self.n_groups
        self.cell_weight = np.bincount(self.cell, self.weight, minlength=n_cells).reshape(
            self.n_classes, self.n_groups
        )
        if self.cell_weight.sum() <= 0:
            raise DataError("sample_weight sums to zero; nothing to train on.")
        self.present = self.cell_weight > 0
        label_weight = self.cell_weight.sum(axis=1)
        self.label_share = label_weight / label_weight.sum()
        with np.errstate(invalid="ignore", divide="ignore"):
            self.lambdas = np.nan_to_num(self.cell_weight / label_weight[:, None])
        self.group_weight = self.cell_weight.sum(axis=0)
        self.rng = rng if rng is not None else np.random.default_rng()
        order = np.argsort(self.cell, kind="stable")
        bounds = np.searchsorted(self.cell[order], np.arange(n_cells + 1))
        self.members = [order[bounds[k] : bounds[k + 1]] for k in range(n_cells)]
        self.n_batches = max(1, n // self.batch_size)
        self.history = [self.lambdas.copy()]

    # ------------------------------------------------------------------ losses per cell
    def _probabilities(self, proba) -> tuple[np.ndarray, np.ndarray | None]:
        """``(p_true, p_pos)``: probability of each row's label and of the positive label."""
        proba = _as_numpy(proba).astype(np.float64)
        n = len(self.y)
        if proba.shape[0] != n:
            raise DataError(f"proba has {proba.shape[0]} rows but the sampler has {n}.")
        if proba.ndim == 2 and proba.shape[1] == 1:
            proba = proba[:, 0]
        if proba.ndim == 1:
            if self.n_classes != 2:
                raise DataError("Pass one probability column per class for a multiclass label.")
            p_pos = proba
            p_true = np.where(self.y == self.pos, p_pos, 1 - p_pos)
        else:
            if proba.shape[1] != self.n_classes:
                raise DataError(
                    f"proba has {proba.shape[1]} columns but there are {self.n_classes} classes."
                )
            p_true = proba[np.arange(n), self.y]
            p_pos = proba[:, self.pos] if self.n_classes == 2 else None
        return p_true, p_pos

    def cell_losses(self, proba) -> np.ndarray:
        """Mean loss per (label, group) cell from predicted probabilities of every row."""
        eps = 1e-12
        p_true, p_pos = self._probabilities(proba)
        if self.constraint == "dp":
            loss = -np.log(np.clip(p_pos, eps, 1))  # loss against the positive label
        else:
            loss = -np.log(np.clip(p_true, eps, 1))
        n_cells = self.n_classes * self.n_groups
        sums = np.bincount(self.cell, self.weight * loss, minlength=n_cells).reshape(
            self.n_classes, self.n_groups
        )
        # dp normalises by group size (as the reference code), the others by cell size.
        denom = self.group_weight[None, :] if self.constraint == "dp" else self.cell_weight
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.present, sums / denom, np.nan)

    def fairness_gap(self, proba) -> float:
        """The constraint's gap on the training rows, from predicted probabilities.

        The rates are expected (soft) rates: the mean probability of the true label among each
        group's rows of a label (``eqopp``: the positives; ``eqodds``: every label), or of the
        positive label among each group's rows (``dp``). The gap is the largest difference
        between two groups, weighted by ``sample_weight``.
        """
        p_true, p_pos = self._probabilities(proba)
        n_cells = self.n_classes * self.n_groups
        if self.constraint == "dp":
            sums = np.bincount(self.z, self.weight * p_pos, minlength=self.n_groups)
            with np.errstate(invalid="ignore", divide="ignore"):
                rates = (sums / self.group_weight)[None, :]
            present = (self.group_weight > 0)[None, :]
        else:
            sums = np.bincount(self.cell, self.weight * p_true, minlength=n_cells).reshape(
                self.n_classes, self.n_groups
            )
            with np.errstate(invalid="ignore", divide="ignore"):
                rates = sums / self.cell_weight
            present = self.present
            if self.constraint == "eqopp":
                rates, present = rates[[self.pos]], present[[self.pos]]
        high = np.where(present, rates, -np.inf).max(axis=1)
        low = np.where(present, rates, np.inf).min(axis=1)
        spread = np.where(present.sum(axis=1) >= 2, high - low, 0.0)
        return float(spread.max())

    def mean_loss(self, proba) -> float:
        """Weighted mean log-loss of the true labels on the training rows."""
        p_true, _ = self._probabilities(proba)
        loss = -np.log(np.clip(p_true, 1e-12, 1))
        return float(loss @ self.weight / self.weight.sum())

    def update(self, proba) -> np.ndarray:
        """One step of the mixing weights from the model's probabilities on the training rows."""
        losses = self.cell_losses(proba)
        filled_high = np.where(self.present, losses, -np.inf)
        filled_low = np.where(self.present, losses, np.inf)
        with np.errstate(invalid="ignore"):
            spread = filled_high.max(axis=1) - filled_low.min(axis=1)
        spread = np.where(np.isfinite(spread), spread, -1.0)
        if self.constraint == "eqopp":
            label, sign = self.pos, 1.0
        elif self.constraint == "eqodds":
            label, sign = int(np.argmax(spread)), 1.0
        else:  # dp: positives of a poorly served group up, its negatives down
            neg = 1 - self.pos
            label = self.pos if spread[self.pos] > spread[neg] else neg
            sign = 1.0 if label == self.pos else -1.0
        row = losses[label]
        present = self.present[label]
        if present.sum() >= 2:
            centred = np.where(present, row - np.nanmean(row[present]), 0.0)
            scale = np.abs(centred).max()
            if scale > 0:
                new = self.lambdas[label] + sign * self.step_size * centred / scale
                new = np.clip(new, 0.0, 1.0) * present
                total = new.sum()
                self.lambdas[label] = new / total if total > 0 else self.lambdas[label]
        self.history.append(self.lambdas.copy())
        return losses

    # ------------------------------------------------------------------ draws
    def batch_counts(self) -> np.ndarray:
        """Rows of each cell in every minibatch (label share x group share x batch size)."""
        return np.round(self.batch_size * self.label_share[:, None] * self.lambdas).astype(int)

    def draw_epoch(self) -> np.ndarray:
        """Indices of one epoch's minibatches, shape ``(n_batches, rows per batch)``."""
        counts = self.batch_counts().ravel()
        parts = []
        for k in np.flatnonzero(counts):  # one vectorised draw per cell (cells are few)
            members = self.members[k]
            need = self.n_batches * counts[k]
            if len(members) == 0:
                continue
            w = self.weight[members]
            if not np.allclose(w, w[0]):
                picks = self.rng.choice(members, size=need, replace=True, p=w / w.sum())
            else:  # shuffled passes through the cell, as the reference implementation
                reps = -(-need // len(members))
                perms = self.rng.random((reps, len(members))).argsort(axis=1)
                picks = members[perms.ravel()[:need]]
            parts.append(picks.reshape(self.n_batches, counts[k]))
        if not parts:
            raise DataError("The mixing weights leave every minibatch empty; raise batch_size.")
        return self.rng.permuted(np.hstack(parts), axis=1)


class _Plateau:
    """Stop when neither the training fairness gap nor the training loss is still improving.

    After every epoch the gap and the loss on the training rows are recorded. With ``patience``
    = P, training stops at the first epoch where the mean gap of the last P epochs is not lower
    than the mean of the P epochs before them by more than ``tol``, and neither is the mean
    loss. Means over windows, not the best single value, because FairBatch's gap is not
    monotone: an unconverged model can be fair by accident early on, the gap then widens while
    the model learns and narrows again as the mixing weights move.
    """

    def __init__(self, state: FairBatchState, *, patience: int, tol: float) -> None:
        self.state, self.patience, self.tol = state, patience, tol
        self.gaps: list[float] = []
        self.losses: list[float] = []

    def _improving(self, values: list[float]) -> bool:
        p = self.patience
        recent, before = np.mean(values[-p:]), np.mean(values[-2 * p : -p])
        return bool(recent < before - self.tol)

    def __call__(self, proba) -> bool:
        self.gaps.append(self.state.fairness_gap(proba))
        self.losses.append(self.state.mean_loss(proba))
        if len(self.gaps) < 2 * self.patience:
            return False
        if self._improving(self.gaps) or self._improving(self.losses):
            return False
        # ... and the mixing weights have settled: in each of the last two windows of P epochs
        # they moved (net) at most half the way a steady drift would (P * step_size), so they
        # oscillate about a value instead of still travelling or turning round.
        history, p = self.state.history, self.patience
        if len(history) <= 2 * p:
            return False
        limit = p * self.state.step_size / 2
        recent = np.abs(history[-1] - history[-1 - p]).max()
        before = np.abs(history[-1 - p] - history[-1 - 2 * p]).max()
        return bool(recent <= limit and before <= limit)


class FairBatchClassifier(TorchClassifierBase):
    """A fair classifier trained with FairBatch (Roh et al., ICLR 2021), scikit-learn style.

    A logistic regression, an MLP or any ``torch.nn.Module`` is trained with Adam on minibatches
    whose mix of (label, group) cells is adapted every epoch by :class:`FairBatchSampler`, so that
    the model's loss — and so its error rates — even out across groups.

    Parameters
    ----------
    network : {"logistic", "mlp"} or torch.nn.Module, default "logistic"
        The network architecture. A module must map a float tensor ``(n, n_features)`` (after encoding) to
        logits ``(n, 1)`` for a binary label or ``(n, n_classes)``.
    constraint : {"eqopp", "eqodds", "dp"}, default "eqopp"
        Equal opportunity, equalized odds or demographic parity.
    step_size : float, default 0.005
        Step of the mixing-weight update per epoch: the paper's alpha (Roh et al. 2021, Alg. 1),
        with the paper's default.
    batch_size : int, default 100
    epochs : int or "auto", default "auto"
        A number trains exactly that many epochs. ``"auto"`` trains until training has settled:
        it stops at the first epoch where, over the last ``n_iter_no_change`` epochs, neither
        the fairness gap of the constraint on the training rows nor the training loss has
        improved (window mean vs the previous window's mean) by more than ``tol``, and the
        mixing weights have stopped travelling (in each of the last two windows their net move
        is at most half of ``n_iter_no_change * step_size``) — or after ``max_epochs``. On the
        synthetic data of Zafar et al. (2,000 training rows) this takes 220-360 epochs, as many
        as the authors' 300-450, and halves the held-out gap of every constraint (see
        ``bench/bench_fairbatch.py``).
    max_epochs : int, default 1000
        Most epochs of ``epochs="auto"``.
    n_iter_no_change : int, default 20
        Window (in epochs) of the stopping rule of ``epochs="auto"``.
    tol : float, default 1e-3
        Smallest improvement of the window mean of the gap or of the loss that counts.
    learning_rate : float, default 1e-3
        Adam's learning rate. The authors' model outputs ``(tanh(l) + 1) / 2 = sigmoid(2 l)``,
        so their 5e-4 follows the same path as 1e-3 on this class's ``sigmoid(l)`` model.
    hidden_layer_sizes : tuple of int, default (64,)
        Hidden layers of ``network="mlp"``.
    class_weight : dict, "balanced" or None
        Weights per class, multiplied into ``sample_weight``.
    random_state : int, RandomState or None
        Seed of initialisation and batch draws: the same seed gives the same model.
    verbose : bool, default False
        Print the mixing weights every 10 epochs.

    Attributes
    ----------
    classes_ : ndarray
    coefs_, intercepts_ : list of ndarray
        The trained weights (``network="logistic"`` or ``"mlp"``), shaped as in ``MLPClassifier``.
    state_ : dict of ndarray or None
        The state dict of a user-supplied module.
    group_labels_ : list of str
        The sensitive groups (intersections when several attributes are given).
    mixing_weights_ : ndarray of shape (n_classes, n_groups)
        Final share of each group within each label's part of a batch.
    mixing_history_ : ndarray of shape ``(n_epochs_, n_classes, n_groups)``
    n_epochs_ : int
        Epochs trained.
    gap_history_, loss_history_ : ndarray
        With ``epochs="auto"``: the fairness gap (largest difference between two groups of the
        constraint's expected rate) and the mean log-loss on the training rows before each
        epoch and at the stop; empty otherwise.
    fit_time_ : float
        Seconds spent training.

    See Also
    --------
    raikit.train.FairBatchSampler : the same algorithm as a PyTorch sampler.
    raikit.train.compare_mitigations : compares it with other mitigations.

    Notes
    -----
    ``X`` may be a numeric array or a DataFrame; a DataFrame with categorical, text or missing
    values is encoded internally (numerics median-imputed and standardised, the rest one-hot
    with missing values as a level). ``constraint="eqopp"`` and ``"dp"`` need a binary label;
    ``"eqodds"`` accepts any number of classes. Without ``sensitive_features`` there is a single
    group and FairBatch reduces to stratified minibatch training (no fairness constraint), with a
    :class:`~raikit.RaikitWarning`. In a ``Pipeline`` or ``GridSearchCV``, route the sensitive
    features with scikit-learn's metadata routing::

        sklearn.set_config(enable_metadata_routing=True)
        clf = FairBatchClassifier().set_fit_request(sensitive_features=True)
        GridSearchCV(clf, {"step_size": [0.001, 0.005]}).fit(X, y, sensitive_features=s)

    Probabilities come from numpy; torch is needed only to fit (and to predict with a custom
    module).

    References
    ----------
    .. [1] Roh, Y., Lee, K., Whang, S. E. & Suh, C. (2021). FairBatch: Batch Selection for Model
       Fairness. ICLR 2021. The mixing weights are the paper's lambda, ``step_size`` its alpha.

    Examples
    --------
    >>> from raikit.datasets import make_fairness_synthetic
    >>> from raikit.train import FairBatchClassifier
    >>> ds = make_fairness_synthetic(600, random_state=0)
    >>> clf = FairBatchClassifier(epochs=5, learning_rate=0.01, random_state=0)
    >>> clf = clf.fit(ds.X, ds.y, sensitive_features=ds.sensitive["z"])
    >>> bool(clf.score(ds.X, ds.y) > 0.7), clf.mixing_weights_.shape
    (True, (2, 2))

    By default it trains until the fairness gap, the loss and the mixing weights settle:

    >>> clf = FairBatchClassifier(random_state=0).fit(ds.X, ds.y, sensitive_features=ds.sensitive)
    >>> bool(40 <= clf.n_epochs_ < clf.max_epochs), len(clf.gap_history_) == clf.n_epochs_ + 1
    (True, True)
    """

    def __init__(
        self,
        *,
        network="logistic",
        constraint="eqopp",
        step_size=0.005,
        batch_size=100,
        epochs="auto",
        max_epochs=1000,
        n_iter_no_change=20,
        tol=1e-3,
        learning_rate=1e-3,
        hidden_layer_sizes=(64,),
        class_weight=None,
        random_state=None,
        verbose=False,
    ):
        self.network = network
        self.constraint = constraint
        self.step_size = step_size
        self.batch_size = batch_size
        self.epochs = epochs
        self.max_epochs = max_epochs
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.learning_rate = learning_rate
        self.hidden_layer_sizes = hidden_layer_sizes
        self.class_weight = class_weight
        self.random_state = random_state
        self.verbose = verbose

    def fit(self, X, y, *, sensitive_features=None, sample_weight=None, callback=None):
        """Train with FairBatch.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sensitive_features : array-like, Series or DataFrame, optional
            One or more sensitive attributes (one value per row); several columns are combined
            into intersectional groups. Never a column of ``X`` by accident: pass it here.
        sample_weight : array-like, optional
        callback : callable, optional
            ``callback(epoch, n_epochs)`` after each epoch (e.g. to drive a progress bar);
            with ``epochs="auto"``, ``n_epochs`` is ``max_epochs`` and training may end sooner.

        Returns
        -------
        self
        """
        torch = import_torch()
        from raikit.train._torch_models import build_module, module_to_arrays, torch_seed

        check_constraint(self.constraint)
        n_epochs, stopping = self._epoch_rule()
        X_enc, y_codes, weights = self._prepare_fit(X, y, sample_weight)
        n = len(y_codes)
        groups, self.group_labels_ = fit_groups(sensitive_features, n, owner=type(self).__name__)
        seed = torch_seed(self.random_state)
        # One group: no constraint can act, and eqodds is the rule that accepts any labels.
        constraint = self.constraint if sensitive_features is not None else "eqodds"
        state = FairBatchState(
            y_codes,
            groups,
            constraint=constraint,
            step_size=self.step_size,
            batch_size=self.batch_size,
            sample_weight=weights,
            pos_label=1,
            rng=np.random.default_rng(seed),
        )
        n_out = 1 if len(self.classes_) == 2 else len(self.classes_)
        module = build_module(
            self.network,
            X_enc.shape[1],
            n_out,
            hidden_layer_sizes=self.hidden_layer_sizes,
            seed=seed,
        )
        plateau = _Plateau(state, **stopping) if stopping else None
        start = time.perf_counter()
        self.n_epochs_ = train_loop(
            module,
            torch.from_numpy(X_enc),
            torch.from_numpy(y_codes),
            n_out,
            epochs=n_epochs,
            learning_rate=self.learning_rate,
            before_epoch=state.update,
            draw_epoch=state.draw_epoch,
            callback=callback,
            verbose=self.verbose,
            seed=seed,
            stop=plateau,
        )
        self.fit_time_ = time.perf_counter() - start
        self.coefs_, self.intercepts_, self.state_ = module_to_arrays(self.network, module)
        self.mixing_weights_ = state.lambdas.copy()
        self.mixing_history_ = np.stack(state.history[1:] or state.history)
        self.gap_history_ = np.asarray(plateau.gaps if plateau else [], dtype=np.float64)
        self.loss_history_ = np.asarray(plateau.losses if plateau else [], dtype=np.float64)
        return self

    def _binary_only(self) -> bool:
        return self.constraint in ("eqopp", "dp")  # rates of "the positive label"

    def _epoch_rule(self) -> tuple[int, dict]:
        """``(most epochs, stopping options)``; no options when ``epochs`` is a number."""

        def positive_int(name):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise ParameterError(f"{name} must be a positive integer, got {value!r}.")
            return int(value)

        if isinstance(self.epochs, str) and self.epochs == "auto":
            tol = self.tol
            if isinstance(tol, bool) or not isinstance(tol, int | float) or not tol >= 0:
                raise ParameterError(f"tol must be a non-negative number, got {tol!r}.")
            patience = positive_int("n_iter_no_change")
            return positive_int("max_epochs"), {"patience": patience, "tol": float(tol)}
        if isinstance(self.epochs, str):
            raise ParameterError(
                f"epochs must be 'auto' or a positive integer, got {self.epochs!r}."
            )
        return positive_int("epochs"), {}


def train_loop(
    module,
    X_t,
    y_t,
    n_out,
    *,
    epochs,
    learning_rate,
    before_epoch,
    draw_epoch,
    callback=None,
    verbose=False,
    seed=0,
    row_weight=None,
    stop=None,
):
    """Adam over minibatches drawn each epoch by ``draw_epoch`` after ``before_epoch(proba)``.

    ``row_weight`` (a tensor, optional) weights each row's loss inside a batch. ``stop(proba)``
    (optional) is asked before each epoch, with the current model's probabilities on the
    training rows, whether to end training there. Returns the number of epochs trained.

    Training runs on one CPU thread (torch's setting is restored afterwards): minibatches of a
    small network are far too small for intra-op parallelism to pay, and on a busy machine
    several threads per step made training many times slower.
    """
    torch = import_torch()
    optimizer = torch.optim.Adam(module.parameters(), lr=float(learning_rate))
    if n_out == 1:
        loss_fn = torch.nn.BCEWithLogitsLoss(reduction="none")
        target = y_t.to(torch.float32)
    else:
        loss_fn = torch.nn.CrossEntropyLoss(reduction="none")
        target = y_t
    threads = torch.get_num_threads()
    trained = 0
    try:
        torch.set_num_threads(1)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)  # dropout and other stochastic layers of a custom module
            trained = _epochs(
                module,
                X_t,
                target,
                n_out,
                optimizer,
                loss_fn,
                epochs=epochs,
                before_epoch=before_epoch,
                draw_epoch=draw_epoch,
                callback=callback,
                verbose=verbose,
                row_weight=row_weight,
                stop=stop,
            )
    finally:
        torch.set_num_threads(threads)
    module.eval()
    return trained


def _epochs(
    module,
    X_t,
    target,
    n_out,
    optimizer,
    loss_fn,
    *,
    epochs,
    before_epoch,
    draw_epoch,
    callback,
    verbose,
    row_weight,
    stop,
):
    torch = import_torch()
    for epoch in range(epochs):
        if before_epoch is not None or stop is not None:
            module.eval()
            with torch.no_grad():
                logits = module(X_t)
                proba = (torch.sigmoid(logits[:, 0]) if n_out == 1 else logits.softmax(1)).numpy()
            if stop is not None and stop(proba):
                return epoch
            if before_epoch is not None:
                before_epoch(proba)
        module.train()
        batches = torch.from_numpy(draw_epoch())
        for idx in batches:
            optimizer.zero_grad()
            logits = module(X_t[idx])
            out = logits[:, 0] if n_out == 1 else logits
            losses = loss_fn(out, target[idx])
            if row_weight is not None:
                w = row_weight[idx]
                loss = (losses * w).sum() / w.sum().clamp_min(1e-12)
            else:
                loss = losses.mean()
            loss.backward()
            optimizer.step()
        if verbose and (epoch % 10 == 0 or epoch == epochs - 1):
            print(f"epoch {epoch + 1}/{epochs}: loss {float(loss):.4f}")
        if callback is not None:
            callback(epoch + 1, epochs)
    return epochs
