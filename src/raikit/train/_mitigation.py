"""Fairlearn's reductions and post-processing behind raikit's API, and Kamiran-Calders reweighing.

``FairlearnClassifier`` and ``FairlearnRegressor`` (bounded group loss) wrap Fairlearn;
``ReweighingClassifier`` reweighs the rows.

Fairlearn does the optimisation (``ExponentiatedGradient``, ``GridSearch``, ``ThresholdOptimizer``);
these adapters add what raikit needs around it: DataFrames with categoricals and missing values,
constraints named like the rest of raikit (``"eqopp"``, ``"eqodds"``, ``"dp"``), several sensitive
attributes (combined into intersectional groups), and scikit-learn's fit/predict contract.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.utils.metaestimators import available_if

from raikit._errors import ParameterError, RaikitError
from raikit._fair_groups import reweighing_weights
from raikit.train._base import (
    TabularClassifierMixin,
    TabularRegressorMixin,
    WrappedClassifierMixin,
)
from raikit.train._common import check_constraint, fit_groups

__all__ = [
    "FairlearnClassifier",
    "FairlearnRegressor",
    "ReweighingClassifier",
    "reweighing_weights",
]

_METHODS = ("expgrad", "gridsearch", "threshold")
_LOSSES = {"square": "SquareLoss", "absolute": "AbsoluteLoss"}
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


def _default_estimator():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=1000)


def _has_proba(estimator) -> bool:
    """``threshold`` gives labels only, so ``hasattr(clf, "predict_proba")`` is False for it
    (callers such as :meth:`raikit.Dataset.with_predictions` then use ``predict`` alone)."""
    if estimator.method == "threshold":
        raise AttributeError(
            "FairlearnClassifier(method='threshold') gives labels only; use predict()."
        )
    return True


class FairlearnClassifier(TabularClassifierMixin, ClassifierMixin, BaseEstimator):
    """Fairlearn's ExponentiatedGradient, GridSearch or ThresholdOptimizer, raikit-style.

    Parameters
    ----------
    method : {"expgrad", "gridsearch", "threshold"}, default "expgrad"
        Reduction (Agarwal et al. 2018) by exponentiated gradient or grid search, or threshold
        post-processing (Hardt et al. 2016).
    estimator : scikit-learn classifier, optional
        The unfitted base learner, cloned before fitting (default
        ``LogisticRegression(max_iter=1000)``).
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

    See Also
    --------
    raikit.train.FairlearnRegressor : bounded group loss for regression.
    raikit.train.RemapClassifier : post-processing for many classes.

    Notes
    -----
    Only binary classification is supported. ``threshold`` needs the sensitive features at
    prediction time too (``predict(X, sensitive_features=...)``): it picks a threshold per group.
    Without ``sensitive_features`` in ``fit`` every row is in one group, no constraint can act,
    and the model is the unconstrained ``estimator`` (with a :class:`~raikit.RaikitWarning`).
    In a ``Pipeline`` or ``GridSearchCV``, route them with scikit-learn's metadata routing
    (``set_fit_request(sensitive_features=True)``, and for ``threshold``
    ``set_predict_request(sensitive_features=True)``).

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

    def _binary_only(self) -> bool:
        return True  # Fairlearn's reductions and thresholds are for binary labels

    def fit(self, X, y, *, sensitive_features=None, sample_weight=None):
        """Fit the mitigated model.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            A binary label.
        sensitive_features : array-like, Series or DataFrame, optional
            Values of the sensitive attribute(s), one per row (several columns are combined into
            intersectional groups). Without them every row is in one group, no constraint can
            act and the model is the unconstrained estimator (with a ``RaikitWarning``).
        sample_weight : array-like, optional
            One non-negative value per row. It weights the error and the fairness constraints
            of ``expgrad`` and ``gridsearch`` (a weight of ``k`` counts a row ``k`` times);
            ``threshold`` passes it to the estimator's ``fit`` and picks its thresholds on the
            unweighted rows.

        Returns
        -------
        self
        """
        _import_fairlearn()
        import fairlearn.reductions as reductions
        from fairlearn.postprocessing import ThresholdOptimizer

        if self.method not in _METHODS:
            raise ParameterError(f"method must be one of {list(_METHODS)}, got {self.method!r}.")
        check_constraint(self.constraint)
        X_enc, y01, row_weight = self._prepare_fit(X, y, sample_weight, dtype="float64")
        groups, self.group_labels_ = fit_groups(
            sensitive_features, len(y01), owner=type(self).__name__
        )
        base = clone(self.estimator) if self.estimator is not None else _default_estimator()
        weights = None if sample_weight is None else row_weight
        if self.method != "threshold" and len(self.group_labels_) == 1:
            # One group: every constraint holds already, the reduction's answer is the
            # unconstrained learner (fitted directly; Fairlearn's grid search divides by zero).
            fitted = base.fit(X_enc, y01, **({} if weights is None else {"sample_weight": weights}))
            if self.method == "expgrad":
                self.predictors_, self.predictor_weights_ = [fitted], np.ones(1)
            else:
                self.best_estimator_ = fitted
            return self
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
                raise ParameterError(
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
        """Predicted labels (``threshold`` needs ``sensitive_features`` if it was fitted with
        them)."""
        X_enc = self._encode_predict(X)
        if self.method == "threshold":
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
        X_enc = self._encode_predict(X)
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

    def _groups(self, sensitive_features, n: int) -> np.ndarray:
        """The training group code of every row (vectorised; unseen groups are refused)."""
        if sensitive_features is None:
            if self.group_labels_ == ["all"]:
                return np.zeros(n, dtype=np.int64)  # fitted without groups: one threshold
            raise ParameterError(
                "FairlearnClassifier.predict(): method='threshold' picks a threshold per group: pass "
                "predict(X, sensitive_features=...) with the attribute(s) given to fit."
            )
        from raikit._fair_groups import match_groups

        return match_groups(sensitive_features, self.group_labels_, n)


class ReweighingClassifier(
    WrappedClassifierMixin, TabularClassifierMixin, ClassifierMixin, BaseEstimator
):
    """Kamiran-Calders reweighing, then any scikit-learn classifier fitted on the weighted rows.

    Parameters
    ----------
    estimator : scikit-learn classifier, optional
        The unfitted learner; it must accept ``sample_weight`` in ``fit`` (default
        ``LogisticRegression(max_iter=1000)``). It is cloned, never modified.

    Attributes
    ----------
    classes_ : ndarray
        The labels (any number of classes).
    weights_ : ndarray
        The reweighing weight of each training row (times nothing: ``sample_weight`` is
        multiplied in when fitting ``estimator_``).
    estimator_ : estimator
        The fitted learner (on the encoded features and the label codes ``0..K-1``).
    encoder_ : TabularEncoder
        The feature encoding.

    See Also
    --------
    raikit.train.reweighing_weights : the weights alone.

    Notes
    -----
    Without ``sensitive_features`` every weight is 1 and the model is the plain estimator
    (with a ``RaikitWarning``).

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

    def fit(self, X, y, *, sensitive_features=None, sample_weight=None):
        """Fit the estimator with reweighing weights (times ``sample_weight`` if given).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sensitive_features : array-like, Series or DataFrame, optional
            Values of the sensitive attribute(s), one per row.
        sample_weight : array-like, optional

        Returns
        -------
        self
        """
        X_enc, y_codes, row_weight = self._prepare_fit(X, y, sample_weight, dtype="float64")
        groups, self.group_labels_ = fit_groups(
            sensitive_features, len(y_codes), owner=type(self).__name__
        )
        self.weights_ = reweighing_weights(
            y_codes, groups, sample_weight=None if sample_weight is None else row_weight
        )
        self.estimator_ = clone(self.estimator) if self.estimator is not None else None
        if self.estimator_ is None:
            self.estimator_ = _default_estimator()
        self.estimator_.fit(X_enc, y_codes, sample_weight=self.weights_ * row_weight)
        return self


class FairlearnRegressor(TabularRegressorMixin, RegressorMixin, BaseEstimator):
    """Bounded group loss (Agarwal et al. 2019) by Fairlearn's ExponentiatedGradient or GridSearch.

    A regressor whose mean loss in every sensitive group is held under ``upper_bound``: the
    reduction reweighs the rows of the groups whose loss is over the bound and refits the
    ``estimator``, so the worst-off group's error falls, at some cost to the others.

    Parameters
    ----------
    method : {"expgrad", "gridsearch"}, default "expgrad"
        Exponentiated gradient (a randomised mixture of refitted regressors, with the guarantee)
        or a grid search over the groups' multipliers (one regressor).
    estimator : scikit-learn regressor, optional
        The unfitted base learner; its ``fit`` must accept ``sample_weight`` (default
        ``LinearRegression()``). It is cloned, never modified.
    loss : {"square", "absolute"}, default "square"
        The loss bounded in every group (Fairlearn's ``SquareLoss``/``AbsoluteLoss``, with the
        target and the predictions clipped to the training target's range).
    upper_bound : float, optional
        The largest mean loss allowed in any group. By default, the mean loss over all training
        rows of the unconstrained ``estimator`` (every group asked to do no worse than the
        population does without mitigation); the value used is ``upper_bound_``.
    eps : float, default 0.01
        ``ExponentiatedGradient``'s ``eps`` (bound of the multipliers ``1 / eps`` and the
        convergence tolerance).
    grid_size : int, default 10
        Models tried by ``gridsearch``.
    randomized : bool, default True
        ``expgrad``: draw each row's prediction from the mixture (Fairlearn's ``predict``, the
        predictor the guarantee is about). ``False`` predicts the mixture's weighted mean: for
        the convex square and absolute losses its loss in every group is at most the
        randomised predictor's expected loss (Jensen's inequality), and it is deterministic.
    random_state : int or None
        Seed of the randomised ``expgrad`` predictions (as Fairlearn's
        ``predict(X, random_state=...)``).

    Attributes
    ----------
    upper_bound_ : float
        The bound used.
    predictors_, predictor_weights_ : list of estimators, ndarray
        ``expgrad``: the fitted regressors of the mixture and their weights.
    best_estimator_ : estimator
        ``gridsearch``: the regressor the grid search chose.
    group_labels_ : list
        The sensitive groups seen in ``fit``.
    mitigator_ : fairlearn object
        Fairlearn's fitted object, in memory only (not saved).

    See Also
    --------
    raikit.train.FairlearnClassifier : the classifier counterpart.

    Notes
    -----
    Without ``sensitive_features`` every row is in one group and the model is the unconstrained
    ``estimator`` (with a :class:`~raikit.RaikitWarning`). ``fit`` takes no ``sample_weight``:
    Fairlearn's bounded group loss has no row weights.

    Examples
    --------
    >>> import numpy as np
    >>> from raikit.train import FairlearnRegressor
    >>> rng = np.random.default_rng(0)
    >>> group = rng.integers(0, 2, 400)
    >>> X = rng.normal(size=(400, 2))
    >>> y = X[:, 0] + group * 2 * X[:, 1] + rng.normal(scale=0.3, size=400)
    >>> reg = FairlearnRegressor(method="gridsearch").fit(X, y, sensitive_features=group)
    >>> reg.predict(X).shape
    (400,)
    """

    def __init__(
        self,
        *,
        method="expgrad",
        estimator=None,
        loss="square",
        upper_bound=None,
        eps=0.01,
        grid_size=10,
        randomized=True,
        random_state=None,
    ):
        self.method = method
        self.estimator = estimator
        self.loss = loss
        self.upper_bound = upper_bound
        self.eps = eps
        self.grid_size = grid_size
        self.randomized = randomized
        self.random_state = random_state

    def _check_params(self) -> None:
        owner = type(self).__name__
        if self.method not in ("expgrad", "gridsearch"):
            raise ParameterError(
                f"{owner}: method must be 'expgrad' or 'gridsearch', got {self.method!r}."
            )
        if self.loss not in _LOSSES:
            raise ParameterError(
                f"{owner}: loss must be one of {list(_LOSSES)}, got {self.loss!r}."
            )
        bound = self.upper_bound
        if bound is not None and not (
            isinstance(bound, int | float) and np.isfinite(bound) and bound > 0
        ):
            raise ParameterError(
                f"{owner}: upper_bound must be a positive number (a mean loss), got {bound!r}."
            )

    def fit(self, X, y, *, sensitive_features=None):
        """Fit the regressor under the bounded group loss constraint.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            A numeric target.
        sensitive_features : array-like, Series or DataFrame, optional
            Values of the sensitive attribute(s), one per row (several columns are combined into
            intersectional groups).

        Returns
        -------
        self

        Raises
        ------
        ParameterError
            For a bad parameter.
        """
        _import_fairlearn()
        import fairlearn.reductions as reductions

        self._check_params()
        X_enc, y_float, _ = self._prepare_fit(X, y, None)
        groups, self.group_labels_ = fit_groups(
            sensitive_features, len(y_float), owner=type(self).__name__
        )
        base = clone(self.estimator) if self.estimator is not None else _default_regressor()
        loss = getattr(reductions, _LOSSES[self.loss])(float(y_float.min()), float(y_float.max()))
        self.upper_bound_ = (
            float(self.upper_bound)
            if self.upper_bound is not None
            else float(np.mean(loss.eval(y_float, clone(base).fit(X_enc, y_float).predict(X_enc))))
        )
        if len(self.group_labels_) == 1:  # one group: the constraint is the plain mean loss
            fitted = base.fit(X_enc, y_float)
            self.predictors_, self.predictor_weights_ = [fitted], np.ones(1)
            self.best_estimator_ = fitted
            return self
        from raikit.train._group_loss import FastBoundedGroupLoss

        moment = FastBoundedGroupLoss(loss, upper_bound=self.upper_bound_)  # Fairlearn's, faster
        if self.method == "expgrad":
            self.mitigator_ = reductions.ExponentiatedGradient(base, moment, eps=self.eps)
        else:
            self.mitigator_ = reductions.GridSearch(base, moment, grid_size=int(self.grid_size))
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # fairlearn vs pandas 3 deprecations
            warnings.filterwarnings("ignore", message=".*deprecated.*")
            self.mitigator_.fit(X_enc, y_float, sensitive_features=groups)
        if self.method == "expgrad":
            weights = self.mitigator_.weights_
            self.predictors_ = [self.mitigator_.predictors_[index] for index in weights.index]
            self.predictor_weights_ = weights.to_numpy(dtype=np.float64, copy=True)
        else:
            self.best_estimator_ = self.mitigator_.predictors_[self.mitigator_.best_idx_]
        return self

    def predict(self, X):
        """Predicted values (``expgrad``: randomised per row unless ``randomized=False``)."""
        X_enc = self._encode_predict(X)
        if self.method == "gridsearch":
            return np.asarray(self.best_estimator_.predict(X_enc), dtype=np.float64)
        weights = self.predictor_weights_
        columns = np.column_stack(
            [
                np.asarray(predictor.predict(X_enc), dtype=np.float64)
                if weight != 0
                else np.zeros(len(X_enc))
                for predictor, weight in zip(self.predictors_, weights, strict=True)
            ]  # one column per predictor of the mixture (a handful), not per row
        )
        if not self.randomized:
            return columns @ weights
        from sklearn.utils import check_random_state

        # Fairlearn draws one uniform per row and picks the predictor whose cumulative weight
        # passes it (numpy's choice(p=weights)); the same draws, vectorised.
        cdf = np.cumsum(weights)
        draws = check_random_state(self.random_state).random_sample(len(X_enc))
        picked = np.minimum(np.searchsorted(cdf / cdf[-1], draws, side="right"), len(cdf) - 1)
        return columns[np.arange(len(X_enc)), picked]

    def __getstate__(self):
        """Fitted state without fairlearn's ``mitigator_`` (it is not needed to predict)."""
        state = dict(super().__getstate__())
        state.pop("mitigator_", None)
        return state


def _default_regressor():
    from sklearn.linear_model import LinearRegression

    return LinearRegression()
