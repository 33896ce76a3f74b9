"""Fair post-processing for any number of classes: a per-group randomised remapping of the
predicted class, chosen by a linear program on out-of-fold predictions.

The per-group confusion matrices ``P(predicted i | true k, group g)`` of the base classifier are
counted on its cross-validated (out-of-fold) predictions, so every training row counts and none
is judged by a model that saw it; the remapping
``M[g, i, j] = P(final j | predicted i, group g)`` turns them into the final classifier's
confusion matrices, which are linear in ``M``. The linear program maximises the expected accuracy
subject to equal rates across the groups (Hardt et al. 2016's derived predictor, extended to K
classes as in Putzel and Lee 2022, "Blackbox post-processing for multiclass fairness").
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.validation import check_is_fitted

from raikit._errors import ParameterError, RaikitError
from raikit.train._base import TabularClassifierMixin
from raikit.train._common import check_constraint, fit_groups

__all__ = ["RemapClassifier"]

_TIE_BREAK = 1e-6  # a tiny preference for keeping the base prediction (unseen rows of M)


class RemapClassifier(TabularClassifierMixin, ClassifierMixin, BaseEstimator):
    """Equal per-class rates across groups for binary and multiclass labels, by post-processing.

    The base ``estimator``'s confusion matrices per group are counted on its out-of-fold
    predictions (``cv`` folds stratified by group and label); a linear program picks for every
    group a randomised remapping of the predicted class (a row-stochastic ``K x K`` matrix) that
    maximises the expected accuracy while the groups' rates are equal (up to ``tolerance``);
    the base model is then refitted on every row:

    - ``"eqopp"``: the true-positive rate of every class, ``P(final k | true k, group)``;
    - ``"eqodds"``: every entry of the confusion matrix, ``P(final j | true k, group)``;
    - ``"dp"``: the selection rate of every class, ``P(final j | group)``.

    The rates are equal on the out-of-fold predictions; on new rows from the same population
    they are equal in expectation, up to the sampling noise of the counts (small groups and rare
    classes are noisy) and the difference between the fold models and the refitted one.

    Parameters
    ----------
    estimator : scikit-learn classifier, optional
        The unfitted base learner (default ``LogisticRegression(max_iter=1000)``); cloned. Its
        ``fit`` needs to accept ``sample_weight`` only when ``fit`` is given one.
    constraint : {"eqopp", "eqodds", "dp"}, default "eqopp"
    tolerance : float, default 0.0
        The largest allowed difference between two groups' rates on the out-of-fold predictions
        (0: equal). Larger values give up less accuracy for less fairness.
    cv : int, default 5
        Folds of the cross-validated predictions the confusion matrices are counted on.
    random_state : int or None
        Seed of the folds and of the randomised predictions.

    Attributes
    ----------
    classes_ : ndarray
        The labels.
    estimator_ : estimator
        The base classifier, fitted on every row (encoded features, label codes ``0..K-1``).
    remap_ : ndarray of shape (n_groups, n_classes, n_classes)
        ``remap_[g, i, j]``: probability of answering class ``j`` when the base model predicts
        class ``i`` for a row of group ``g``.
    group_labels_ : list
        The sensitive groups seen in ``fit`` (rows of ``remap_``).
    calibration_accuracy_ : float
        The expected accuracy of the remapping on the out-of-fold predictions.

    See Also
    --------
    raikit.train.FairlearnClassifier : threshold post-processing for two classes.

    Notes
    -----
    Predictions need the sensitive features (``predict(X, sensitive_features=...)``): the
    remapping is per group. A class absent from a group's calibration rows puts no constraint on
    that group's rate for it. The predictions are randomised; ``predict_proba`` gives their
    probabilities.

    Examples
    --------
    >>> import numpy as np
    >>> from raikit.train import RemapClassifier
    >>> rng = np.random.default_rng(0)
    >>> group = rng.integers(0, 2, 900)
    >>> X = rng.normal(size=(900, 2))
    >>> y = np.digitize(X[:, 0] + rng.normal(scale=0.5 + group, size=900), [-0.5, 0.5])
    >>> clf = RemapClassifier(random_state=0).fit(X, y, sensitive_features=group)
    >>> clf.remap_.shape
    (2, 3, 3)
    >>> bool(np.allclose(clf.remap_.sum(axis=2), 1))
    True
    """

    def __init__(
        self,
        estimator=None,
        *,
        constraint="eqopp",
        tolerance=0.0,
        cv=5,
        random_state=None,
    ):
        self.estimator = estimator
        self.constraint = constraint
        self.tolerance = tolerance
        self.cv = cv
        self.random_state = random_state

    def _check_params(self) -> None:
        owner = type(self).__name__
        check_constraint(self.constraint)
        if not (isinstance(self.tolerance, int | float) and 0 <= self.tolerance < 1):
            raise ParameterError(
                f"{owner}: tolerance must be a number in [0, 1), got {self.tolerance!r}."
            )
        cv = self.cv
        if not (isinstance(cv, int | np.integer) and not isinstance(cv, bool) and cv >= 2):
            raise ParameterError(f"{owner}: cv must be a whole number of folds >= 2, got {cv!r}.")

    def fit(self, X, y, *, sensitive_features=None, sample_weight=None):
        """Solve the per-group remapping on out-of-fold predictions, then fit the base model.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Labels (two or more classes).
        sensitive_features : array-like, Series or DataFrame, optional
            Values of the sensitive attribute(s), one per row.
        sample_weight : array-like, optional
            Non-negative row weights, for the base fits and the confusion counts.

        Returns
        -------
        self
        """
        self._check_params()
        X_enc, y_codes, weights = self._prepare_fit(X, y, sample_weight, dtype="float64")
        groups, self.group_labels_ = fit_groups(
            sensitive_features, len(y_codes), owner=type(self).__name__
        )
        given = None if sample_weight is None else weights  # estimators without sample_weight
        predicted = self._out_of_fold(X_enc, y_codes, groups, given)
        n_groups, n_classes = len(self.group_labels_), len(self.classes_)
        cell = (groups * n_classes + y_codes) * n_classes + predicted
        counts = np.bincount(
            cell, weights=weights, minlength=n_groups * n_classes * n_classes
        ).reshape(n_groups, n_classes, n_classes)  # [group, true, predicted]
        self.estimator_ = _fit(self._base(), X_enc, y_codes, given)
        self.remap_, self.calibration_accuracy_ = _solve_remap(
            counts, self.constraint, float(self.tolerance)
        )
        return self

    def _base(self):
        return clone(self.estimator) if self.estimator is not None else _default_estimator()

    def _out_of_fold(self, X_enc, y_codes, groups, weights) -> np.ndarray:
        """Each row's class code predicted by a base model fitted on the other folds."""
        import warnings

        from sklearn.model_selection import KFold, StratifiedKFold

        n_folds = int(min(self.cv, len(y_codes)))
        strata = groups * len(self.classes_) + y_codes
        # cells with fewer rows than folds cannot be spread over every fold: pool them
        strata = np.where(np.bincount(strata)[strata] < n_folds, -1, strata)
        if np.bincount(strata + 1).max() < n_folds:  # too few rows to stratify at all
            folds = KFold(n_folds, shuffle=True, random_state=self.random_state)
        else:
            folds = StratifiedKFold(n_folds, shuffle=True, random_state=self.random_state)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the pooled cell may be small
            splits = list(folds.split(X_enc, strata))
        predicted = np.empty(len(y_codes), dtype=np.int64)
        for fit_rows, held_out in splits:  # a handful of folds
            part = None if weights is None else weights[fit_rows]
            model = _fit(self._base(), X_enc[fit_rows], y_codes[fit_rows], part)
            predicted[held_out] = _codes(model, X_enc[held_out])
        return predicted

    def predict_proba(self, X, *, sensitive_features=None) -> np.ndarray:
        """Probabilities of the randomised answer, one column per entry of ``classes_``."""
        check_is_fitted(self, "remap_")
        X_enc = self._encode_predict(X)
        groups = self._groups(sensitive_features, len(X_enc))
        return self.remap_[groups, _codes(self.estimator_, X_enc)]

    def predict(self, X, *, sensitive_features=None) -> np.ndarray:
        """Randomised labels drawn from :meth:`predict_proba` (seeded by ``random_state``)."""
        from sklearn.utils import check_random_state

        proba = self.predict_proba(X, sensitive_features=sensitive_features)
        draws = check_random_state(self.random_state).random_sample(len(proba))
        cumulative = np.cumsum(proba, axis=1)
        codes = np.minimum((cumulative < draws[:, None]).sum(axis=1), proba.shape[1] - 1)
        return self.classes_[codes]

    def _groups(self, sensitive_features, n: int) -> np.ndarray:
        if sensitive_features is None:
            if self.group_labels_ == ["all"]:
                return np.zeros(n, dtype=np.int64)
            raise ParameterError(
                f"{type(self).__name__}.predict(): the remapping is per group: pass "
                f"predict(X, sensitive_features=...) with the attribute(s) given to fit."
            )
        from raikit._fair_groups import match_groups

        return match_groups(sensitive_features, self.group_labels_, n)


def _fit(model, X_enc, y_codes, weights):
    """``model`` fitted, with ``sample_weight`` only when weights were given."""
    return model.fit(X_enc, y_codes, **({} if weights is None else {"sample_weight": weights}))


def _codes(model, X_enc: np.ndarray) -> np.ndarray:
    """A base model's predicted class codes (``0..K-1``; it was fitted on the codes)."""
    return np.asarray(model.predict(X_enc)).astype(np.int64)


def _default_estimator():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=1000)


def _solve_remap(counts: np.ndarray, constraint: str, tolerance: float):
    """``(remap, accuracy)``: the linear program over the per-group remapping matrices.

    ``counts[g, k, i]`` is the weight of the calibration rows of group ``g`` with true class
    ``k`` and base prediction ``i``. Variables: ``M[g, i, j]`` (flattened ``(g*K + i)*K + j``)
    then one common rate per constrained cell.
    """
    from scipy.optimize import linprog

    n_groups, n_classes, _ = counts.shape
    total = counts.sum()
    n_vars = n_groups * n_classes * n_classes
    index = np.arange(n_vars).reshape(n_groups, n_classes, n_classes)
    # objective: minus the expected accuracy, sum_{g,k,i} counts[g,k,i] M[g,i,k] / total
    keep = np.broadcast_to(np.eye(n_classes), (n_groups, n_classes, n_classes)).reshape(-1)
    cost = -np.einsum("gki->gik", counts).reshape(-1) / total - _TIE_BREAK * keep
    rates, pairs, present = _rate_rows(counts, constraint)
    # fairness rows: sum_i rates[g, k, i] M[g, i, j] - target[pair] for every present (g, pair)
    g_idx, p_idx = np.nonzero(present)
    n_rows, n_targets = len(g_idx), len(pairs)
    k_of, j_of = pairs[p_idx, 0], pairs[p_idx, 1]
    row = np.repeat(np.arange(n_rows), n_classes)
    col = index[g_idx[:, None], np.arange(n_classes)[None], j_of[:, None]].reshape(-1)
    val = rates[g_idx[:, None], k_of[:, None], np.arange(n_classes)[None]].reshape(-1)
    fair = sparse.coo_matrix(
        (
            np.concatenate([val, -np.ones(n_rows)]),
            (np.concatenate([row, np.arange(n_rows)]), np.concatenate([col, n_vars + p_idx])),
        ),
        shape=(n_rows, n_vars + n_targets),
    ).tocsr()
    # every row of every M sums to one
    stochastic = sparse.coo_matrix(
        (np.ones(n_vars), (np.arange(n_vars) // n_classes, np.arange(n_vars))),
        shape=(n_groups * n_classes, n_vars + n_targets),
    ).tocsr()
    c = np.concatenate([cost, np.zeros(n_targets)])
    if tolerance == 0:
        a_eq = sparse.vstack([stochastic, fair])
        b_eq = np.concatenate([np.ones(n_groups * n_classes), np.zeros(n_rows)])
        a_ub = b_ub = None
    else:
        a_eq, b_eq = stochastic, np.ones(n_groups * n_classes)
        a_ub = sparse.vstack([fair, -fair])
        b_ub = np.full(2 * n_rows, tolerance / 2)  # within tol/2 of a common rate: pairwise tol
    solution = linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=(0, 1), method="highs")
    if solution.status != 0:  # pragma: no cover - the constant remapping is always feasible
        raise RaikitError(f"The remapping's linear program failed: {solution.message}")
    remap = np.clip(solution.x[:n_vars].reshape(n_groups, n_classes, n_classes), 0, 1)
    remap /= remap.sum(axis=2, keepdims=True)
    accuracy = float(np.einsum("gki,gik->", counts, remap) / total)
    return remap, accuracy


def _rate_rows(counts: np.ndarray, constraint: str):
    """``(rates, pairs, present)`` of the constrained rates.

    ``rates[g, k, i]``: the share of predicted ``i`` among the rows of group ``g`` in condition
    ``k`` (true class ``k``; for ``dp`` one condition, all rows). ``pairs``: ``(condition, final
    class)`` of each constrained rate. ``present[g, p]``: the group has rows in that condition.
    """
    n_classes = counts.shape[1]
    if constraint == "dp":
        conditioned = counts.sum(axis=1, keepdims=True)  # [g, 1, i]
        pairs = np.column_stack([np.zeros(n_classes, dtype=np.int64), np.arange(n_classes)])
    else:
        conditioned = counts
        if constraint == "eqopp":
            pairs = np.column_stack([np.arange(n_classes), np.arange(n_classes)])
        else:
            k, j = np.meshgrid(np.arange(n_classes), np.arange(n_classes), indexing="ij")
            pairs = np.column_stack([k.ravel(), j.ravel()])
    size = conditioned.sum(axis=2)  # [g, condition]
    rates = np.divide(
        conditioned, size[..., None], out=np.zeros_like(conditioned), where=size[..., None] > 0
    )
    present = size[:, pairs[:, 0]] > 0
    return rates, pairs, present
