"""Fairlearn's reductions and post-processing behind raikit's API, and Kamiran-Calders reweighing.

Fairlearn does the optimisation (``ExponentiatedGradient``, ``GridSearch``, ``ThresholdOptimizer``);
these adapters add what raikit needs around it: DataFrames with categoricals and missing values,
constraints named like the rest of raikit (``"eqopp"``, ``"eqodds"``, ``"dp"``), several sensitive
attributes (combined into intersectional groups), and scikit-learn's fit/predict contract.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from raikit._errors import DataError, RaikitError
from raikit.train._common import TabularEncoder, check_constraint, sensitive_codes

__all__ = ["FairlearnClassifier", "ReweighingClassifier", "reweighing_weights"]

_METHODS = ("expgrad", "gridsearch", "threshold")
_MOMENTS = {"eqopp": "TruePositiveRateParity", "eqodds": "EqualizedOdds", "dp": "DemographicParity"}
_THRESHOLD = {
    "eqopp": "true_positive_rate_parity",
    "eqodds": "equalized_odds",
    "dp": "demographic_parity",
}


def _import_fairlearn():
    try:
        import fairlearn  # noqa: F401
    except ImportError as error:  # pragma: no cover
        raise RaikitError(
            "This needs Fairlearn, which is not installed (it is a dependency of raikit): "
            "pip install fairlearn"
        ) from error


def reweighing_weights(y, sensitive, *, sample_weight=None) -> np.ndarray:
    """Kamiran-Calders reweighing: ``w(y, z) = P(y) P(z) / P(y, z)`` for every row.

    Training with these weights makes the label statistically independent of the (possibly
    intersectional, many-valued) sensitive groups in the weighted data.

    Parameters
    ----------
    y : array-like
        Labels (any number of classes).
    sensitive : array-like, Series or DataFrame
        Sensitive attribute(s); several columns are combined into intersections.
    sample_weight : array-like, optional
        Existing row weights: the probabilities are then weighted shares, and the returned
        weights (to be multiplied into ``sample_weight``) make the label independent of the
        groups in the data weighted by their product.

    Returns
    -------
    ndarray of float
        One weight per row; the weights sum to the number of rows (unweighted case).

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
    groups, _ = sensitive_codes(sensitive, len(y), name="sensitive")
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


def _check_weights(sample_weight, n_rows: int):
    """``sample_weight`` as a float array (or None), refused unless finite, >= 0, one per row."""
    if sample_weight is None:
        return None
    weights = np.asarray(sample_weight, dtype=np.float64)
    if weights.shape != (n_rows,):
        raise DataError(
            f"sample_weight must have one value per row ({n_rows}), got shape {weights.shape}."
        )
    if not np.all(np.isfinite(weights)) or np.any(weights < 0) or weights.sum() <= 0:
        raise DataError("sample_weight must be finite and non-negative, with a positive sum.")
    return weights


def _default_estimator():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=1000)


def _as_table(X):
    """A DataFrame as it is; anything else (lists of rows included) as a 2-D array."""
    import pandas as pd

    if isinstance(X, pd.DataFrame):
        return X
    array = np.asarray(X)
    if array.ndim != 2:
        raise DataError(
            f"X must be a table (a DataFrame or a 2-D array of rows), got {array.ndim} "
            f"dimension(s); reshape one feature with X.reshape(-1, 1)."
        )
    return array


class _EncodedMixin:
    def _encode_fit(self, X, y):
        X = _as_table(X)
        y = np.asarray(y)
        if y.ndim != 1:
            raise DataError(f"y must be one label per row (1-D), got shape {y.shape}.")
        if len(X) != len(y):
            raise DataError(f"X has {len(X)} rows but y has {len(y)}; they must match.")
        self.classes_ = np.unique(y)
        if len(self.classes_) != 2:
            raise DataError(
                f"{type(self).__name__} needs a binary label, got {len(self.classes_)} classes."
            )
        self.encoder_ = TabularEncoder().fit(X)
        self.n_features_in_ = X.shape[1]
        return self.encoder_.transform(X), y


def _has_proba(estimator) -> bool:
    """``threshold`` gives labels only, so ``hasattr(clf, "predict_proba")`` is False for it
    (callers such as :meth:`raikit.Dataset.with_predictions` then use ``predict`` alone)."""
    if estimator.method == "threshold":
        raise AttributeError(
            "FairlearnClassifier(method='threshold') gives labels only; use predict()."
        )
    return True


class FairlearnClassifier(_EncodedMixin, ClassifierMixin, BaseEstimator):
    """Fairlearn's ExponentiatedGradient, GridSearch or ThresholdOptimizer, raikit-style.

    Parameters
    ----------
    method : {"expgrad", "gridsearch", "threshold"}, default "expgrad"
        Reduction (Agarwal et al. 2018) by exponentiated gradient or grid search, or threshold
        post-processing (Hardt et al. 2016).
    estimator : scikit-learn classifier, optional
        The base learner (default ``LogisticRegression(max_iter=1000)``).
    constraint : {"eqopp", "eqodds", "dp"}, default "eqodds"
    eps : float, default 0.01
        ``ExponentiatedGradient``'s ``eps``: it bounds the Lagrange multipliers (at ``1 / eps``) and
        sets the convergence tolerance; it is not the fairness level (see ``difference_bound``).
    difference_bound : float, optional
        The fairness level of the reductions: the largest allowed difference between a group's
        rate and the overall rate (Fairlearn's ``difference_bound``; its default is 0.01). Sweep it
        to trace an accuracy-fairness trade-off.
    grid_size : int, default 10
        Models tried by ``gridsearch``.
    random_state : int or None
        Seed of the randomised predictions of ``expgrad`` and ``threshold``.

    Attributes
    ----------
    predictors_, predictor_weights_ : list of estimators, ndarray
        ``expgrad``: the fitted best responses and their mixture weights (the randomised
        classifier picks ``predictors_[i]`` with probability ``predictor_weights_[i]``).
    best_estimator_ : estimator
        ``gridsearch``: the model the grid search chose.
    threshold_table_, threshold_estimator_ : ndarray, estimator
        ``threshold``: the per-group interpolated thresholds and the scored estimator.
    mitigator_ : fairlearn object
        Fairlearn's fitted ``expgrad``/``gridsearch`` object with its diagnostics; in memory only
        (a model saved with :func:`raikit.save_model` predicts from the attributes above).

    Notes
    -----
    ``threshold`` needs the sensitive features at prediction time too
    (``predict(X, sensitive_features=...)``): it picks a threshold per group.

    Examples
    --------
    >>> from raikit.datasets import make_fairness_synthetic
    >>> from raikit.train import FairlearnClassifier
    >>> ds = make_fairness_synthetic(400, random_state=0)
    >>> clf = FairlearnClassifier(method="expgrad", constraint="dp", random_state=0)
    >>> clf = clf.fit(ds.X, ds.y, sensitive_features=ds.sensitive["z"])
    >>> clf.predict(ds.X).shape
    (400,)
    """

    def __init__(
        self,
        *,
        method="expgrad",
        estimator=None,
        constraint="eqodds",
        eps=0.01,
        difference_bound=None,
        grid_size=10,
        random_state=None,
    ):
        self.method = method
        self.estimator = estimator
        self.constraint = constraint
        self.eps = eps
        self.difference_bound = difference_bound
        self.grid_size = grid_size
        self.random_state = random_state

    def fit(self, X, y, *, sensitive_features, sample_weight=None):
        """Fit the mitigated model (sensitive features by keyword, one value per row).

        ``sample_weight`` (one non-negative value per row) weights the error and the fairness
        constraints of ``expgrad`` and ``gridsearch`` (a weight of ``k`` counts a row ``k``
        times); ``threshold`` passes it to the estimator's ``fit`` and picks its thresholds on
        the unweighted rows.
        """
        _import_fairlearn()
        import fairlearn.reductions as reductions
        from fairlearn.postprocessing import ThresholdOptimizer

        if self.method not in _METHODS:
            raise DataError(f"method must be one of {list(_METHODS)}, got {self.method!r}.")
        check_constraint(self.constraint)
        X_enc, y = self._encode_fit(X, y)
        groups, self.group_labels_ = sensitive_codes(sensitive_features, len(y))
        y01 = (y == self.classes_[1]).astype(int)
        base = clone(self.estimator) if self.estimator is not None else _default_estimator()
        weights = _check_weights(sample_weight, len(y))
        if self.method == "threshold":
            # ThresholdOptimizer hands fit's keywords to the estimator; its thresholds are
            # chosen on the unweighted rows.
            kwargs = {} if weights is None else {"sample_weight": weights}
            self.mitigator_ = ThresholdOptimizer(
                estimator=base,
                constraints=_THRESHOLD[self.constraint],
                predict_method="predict_proba",
                prefit=False,
            )
        else:
            kwargs = {}
            bound = (
                {} if self.difference_bound is None else {"difference_bound": self.difference_bound}
            )
            if bound and not 0 < float(self.difference_bound) < 1:
                raise DataError(
                    f"difference_bound must be between 0 and 1, got {self.difference_bound!r}."
                )
            if weights is None:
                moment = getattr(reductions, _MOMENTS[self.constraint])(**bound)
                objective = None
            else:
                # Fairlearn's moments take no weights: these evaluate the error and the
                # constraints under the weighted rows (an integer weight k = k copies of a row).
                from raikit.train._weighted_moments import weighted_error_rate, weighted_parity

                moment = weighted_parity(self.constraint, weights, **bound)
                objective = weighted_error_rate(weights)
            if self.method == "expgrad":
                self.mitigator_ = reductions.ExponentiatedGradient(
                    base, moment, objective=objective, eps=self.eps
                )
            else:
                self.mitigator_ = reductions.GridSearch(base, moment, grid_size=int(self.grid_size))
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # fairlearn vs pandas 3 deprecations
            warnings.filterwarnings("ignore", message=".*deprecated.*")
            self.mitigator_.fit(X_enc, y01, sensitive_features=groups, **kwargs)
        if self.method == "threshold":
            self._freeze_thresholds()
        else:
            self._freeze_reduction()
        return self

    def predict(self, X, *, sensitive_features=None):
        """Predicted labels (``threshold`` needs ``sensitive_features``)."""
        check_is_fitted(self, "encoder_")
        X_enc = self.encoder_.transform(_as_table(X))
        if self.method == "threshold":
            if sensitive_features is None:
                raise DataError(
                    "method='threshold' picks a threshold per group: pass "
                    "predict(X, sensitive_features=...)."
                )
            groups = self._groups(sensitive_features, len(X_enc))
            positive = self._threshold_pmf(X_enc, groups)
            from sklearn.utils import check_random_state

            draws = check_random_state(self.random_state).rand(len(positive))
            pred = (positive >= draws).astype(int)  # as fairlearn's InterpolatedThresholder
        elif self.method == "expgrad":
            from sklearn.utils import check_random_state

            positive = self._expgrad_positive(X_enc)
            draws = check_random_state(self.random_state).rand(len(positive))
            pred = (positive >= draws).astype(int)  # as fairlearn's ExponentiatedGradient
        else:
            pred = self.best_estimator_.predict(X_enc)
        return self.classes_[np.asarray(pred).astype(int)]

    @available_if(_has_proba)
    def predict_proba(self, X, *, sensitive_features=None):
        """Probabilities (``expgrad``: of its randomised classifier; ``gridsearch``: of the
        chosen model). ``threshold`` gives labels only: it has no ``predict_proba``."""
        check_is_fitted(self, "encoder_")
        X_enc = self.encoder_.transform(_as_table(X))
        if self.method == "expgrad":
            positive = self._expgrad_positive(X_enc)
            return np.column_stack([1 - positive, positive])
        return self.best_estimator_.predict_proba(X_enc)

    def _freeze_reduction(self) -> None:
        """Keep what the reductions predict with as fitted scikit-learn estimators and arrays.

        ``expgrad``: ``predictors_`` (the best responses, in the order of
        ``predictor_weights_``, fairlearn's mixture weights); ``gridsearch``: ``best_estimator_``.
        Fairlearn's own fitted object (``mitigator_``, with its diagnostics) stays in memory but
        is not saved: skops cannot save its pandas internals, and prediction does not need it.
        """
        mitigator = self.mitigator_
        if self.method == "expgrad":
            weights = mitigator.weights_
            self.predictors_ = [mitigator.predictors_[index] for index in weights.index]
            self.predictor_weights_ = weights.to_numpy(dtype=np.float64, copy=True)
        else:
            self.best_estimator_ = mitigator.predictors_[mitigator.best_idx_]

    def _expgrad_positive(self, X_enc) -> np.ndarray:
        """P(predict 1) per row of the randomised ``expgrad`` classifier (fairlearn's formula)."""
        weights = self.predictor_weights_
        columns = [
            np.asarray(predictor.predict(X_enc), dtype=np.float64)
            if weight != 0
            else np.zeros(len(X_enc))
            for predictor, weight in zip(self.predictors_, weights, strict=True)
        ]  # one column per predictor of the mixture (a handful), not per row
        return np.column_stack(columns) @ weights

    def __getstate__(self):
        """Fitted state without fairlearn's ``mitigator_`` (see :meth:`_freeze_reduction`)."""
        state = dict(super().__getstate__())  # a copy: object.__getstate__ returns __dict__
        state.pop("mitigator_", None)
        return state

    def _freeze_thresholds(self) -> None:
        """Keep fairlearn's fitted per-group interpolation as a plain array (skops-friendly).

        Columns: p0, greater0, threshold0, p1, greater1, threshold1, p_ignore, constant. The
        thresholds are fairlearn's; only their application at prediction time is done here, with
        the same formula (fairlearn 0.15's ``_pmf_predict`` also fails under pandas 3).
        """
        thresholder = self.mitigator_.interpolated_thresholder_
        table = np.zeros((len(self.group_labels_), 8))
        for group, interp in thresholder.interpolation_dict.items():
            table[int(group)] = [
                interp.p0,
                interp.operation0.operator == ">",
                interp.operation0.threshold,
                interp.p1,
                interp.operation1.operator == ">",
                interp.operation1.threshold,
                interp.get("p_ignore", 0.0),
                interp.get("prediction_constant", 0.0),
            ]
        self.threshold_table_ = table
        self.threshold_estimator_ = thresholder.estimator_
        del self.mitigator_

    def _threshold_pmf(self, X_enc, groups) -> np.ndarray:
        """P(predict 1) per row from the frozen interpolation (vectorised over rows and groups)."""
        scores = np.asarray(self.threshold_estimator_.predict_proba(X_enc))[:, 1]
        t = self.threshold_table_[groups]
        op0 = np.where(t[:, 1] > 0, scores > t[:, 2], scores < t[:, 2])
        op1 = np.where(t[:, 4] > 0, scores > t[:, 5], scores < t[:, 5])
        p = t[:, 0] * op0 + t[:, 3] * op1
        return t[:, 6] * t[:, 7] + (1 - t[:, 6]) * p

    def _groups(self, sensitive, n):
        from raikit._grouping import to_sensitive_frame

        frame = to_sensitive_frame(sensitive, n)
        labels = [" & ".join(str(v) for v in row) for row in frame.itertuples(index=False)]
        known = set(self.group_labels_)
        unseen = sorted(set(labels) - known)
        if unseen:
            raise DataError(
                f"sensitive_features has groups {unseen[:5]} that were not in the training data."
            )
        lookup = {label: i for i, label in enumerate(self.group_labels_)}
        return np.array([lookup[label] for label in labels])


class ReweighingClassifier(_EncodedMixin, ClassifierMixin, BaseEstimator):
    """Kamiran-Calders reweighing, then any scikit-learn classifier fitted on the weighted rows.

    Parameters
    ----------
    estimator : scikit-learn classifier, optional
        Must accept ``sample_weight`` in ``fit`` (default ``LogisticRegression(max_iter=1000)``).

    Examples
    --------
    >>> from raikit.datasets import make_fairness_synthetic
    >>> from raikit.train import ReweighingClassifier
    >>> ds = make_fairness_synthetic(400, random_state=0)
    >>> clf = ReweighingClassifier().fit(ds.X, ds.y, sensitive_features=ds.sensitive["z"])
    >>> round(float(clf.weights_.sum()), 6) == 400
    True
    """

    def __init__(self, estimator=None):
        self.estimator = estimator

    def fit(self, X, y, *, sensitive_features, sample_weight=None):
        """Fit the estimator with reweighing weights (times ``sample_weight`` if given)."""
        X_enc, y = self._encode_fit(X, y)
        self.weights_ = reweighing_weights(y, sensitive_features, sample_weight=sample_weight)
        weights = self.weights_ if sample_weight is None else self.weights_ * sample_weight
        self.estimator_ = clone(self.estimator) if self.estimator is not None else None
        if self.estimator_ is None:
            self.estimator_ = _default_estimator()
        self.estimator_.fit(X_enc, y, sample_weight=weights)
        return self

    def predict(self, X):
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict(self.encoder_.transform(_as_table(X)))

    def predict_proba(self, X):
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict_proba(self.encoder_.transform(_as_table(X)))
