"""``SelectiveClassifier``: predict when confident, abstain (route to a person) otherwise.

Thresholds on the model's confidence (the largest predicted class probability) are calibrated on
held-out data, per group when ``group_aware``:

``coverage=c`` (split-conformal)
    The threshold is the ``k``-th smallest calibration confidence with ``k = floor((n + 1)(1 - c))``.
    For a new row exchangeable with the ``n`` calibration rows of its group,
    ``P(confidence >= threshold) >= c``: at least a share ``c`` of rows is decided automatically
    (Mondrian conformal: the guarantee holds within every group).

``max_risk=r`` (risk control, Learn-then-Test)
    On a fixed grid of thresholds every hypothesis "the error rate among accepted rows exceeds
    ``r``" is tested with the exact binomial test (conditional on the number of accepted rows),
    Bonferroni-corrected over the grid, and the lowest rejected threshold is kept. With probability
    at least ``1 - delta`` the selective error rate of the chosen threshold is at most ``r``. When no
    threshold qualifies the group is always routed to review.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin

from raikit._errors import DataError, ParameterError, RaikitWarning
from raikit._grouping import MISSING, encode_groups, to_sensitive_frame
from raikit._recording import recorded
from raikit._result import Finding, Result
from raikit.metrics._group_metrics import resolve_pos_label
from raikit.metrics._stats import MIN_GROUP_SIZE

__all__ = ["SelectiveClassifier", "SelectiveResult", "group_keys"]

_GRID = np.round(np.linspace(0.0, 1.0, 201), 6)  # data-independent thresholds for risk control
OVERALL = "overall"


def group_keys(sensitive_features) -> pd.Series:
    """One label per row naming its (intersectional) group, e.g. ``"Female & Black"``.

    The label is the values of the row's :class:`~raikit._grouping.SliceKey` (its ``label``
    form); a missing value is the one missing label, ``"(missing)"``.

    Parameters
    ----------
    sensitive_features : DataFrame
        The sensitive attributes, one column each.

    Returns
    -------
    Series
        One label per row.

    See Also
    --------
    ReviewQueue : labels its items' groups this way.

    Examples
    --------
    >>> import pandas as pd
    >>> group_keys(pd.DataFrame({"sex": ["F", "M"], "race": ["A", None]})).tolist()
    ['F & A', 'M & (missing)']
    """
    encoding = encode_groups(to_sensitive_frame(sensitive_features), missing_group=MISSING)
    return pd.Series(encoding.row_labels(), dtype=object)


def _as_table(X):
    """A DataFrame as it is (its columns reach the estimator); anything else as a 2-D array."""
    if isinstance(X, pd.DataFrame):
        return X
    from sklearn.utils import check_array

    return check_array(X, accept_sparse=["csr", "csc"], dtype=None, ensure_all_finite=False)


def _strata(y: np.ndarray, calibration_size: float):
    """``y`` to stratify the training/calibration split by, when each part can hold every class
    (so the fitted estimator knows every label); ``None`` otherwise."""
    _, counts = np.unique(y, return_inverse=False, return_counts=True)
    n_cal = int(np.ceil(calibration_size * len(y)))
    if counts.min() >= 2 and min(n_cal, len(y) - n_cal) >= len(counts):
        return y
    return None


def _confidence(proba: np.ndarray) -> np.ndarray:
    proba = np.asarray(proba, dtype=float)
    if proba.ndim != 2 or proba.shape[1] < 2:
        raise DataError(
            f"The model's predict_proba must return (rows, classes) with 2+ classes, got shape "
            f"{proba.shape}."
        )
    return proba.max(axis=1)


def _codes(keys: pd.Series, labels: list[str]) -> np.ndarray:
    return pd.Index(labels).get_indexer(keys.to_numpy())


def _conformal_thresholds(conf, codes, n_groups, coverage):
    """k-th smallest confidence per group (vectorised); -inf when k == 0 (accept everything)."""
    order = np.lexsort((conf, codes))
    counts = np.bincount(codes, minlength=n_groups)
    starts = np.cumsum(counts) - counts
    k = np.floor((counts + 1) * (1.0 - coverage)).astype(np.int64)
    k = np.minimum(k, counts)
    thresholds = np.full(n_groups, -np.inf)
    ok = k >= 1
    thresholds[ok] = conf[order][starts[ok] + k[ok] - 1]
    return thresholds


def _risk_thresholds(conf, error, codes, n_groups, max_risk, delta):
    """Lowest grid threshold whose selective error is provably <= max_risk, per group."""
    from scipy.stats import binom

    m = len(_GRID)
    bucket = np.searchsorted(_GRID, conf, side="right") - 1  # conf >= _GRID[j] iff bucket >= j
    index = codes.astype(np.int64) * m + bucket
    n_at = np.bincount(index, minlength=n_groups * m).reshape(n_groups, m)
    e_at = np.bincount(index, weights=error, minlength=n_groups * m).reshape(n_groups, m)
    n_acc = np.cumsum(n_at[:, ::-1], axis=1)[:, ::-1]
    e_acc = np.cumsum(e_at[:, ::-1], axis=1)[:, ::-1]
    p_values = np.where(n_acc > 0, binom.cdf(e_acc, np.maximum(n_acc, 1), max_risk), 1.0)
    rejected = p_values <= delta / m
    first = np.where(rejected.any(axis=1), rejected.argmax(axis=1), -1)
    thresholds = np.where(first >= 0, _GRID[np.maximum(first, 0)], np.inf)
    return thresholds


def _column_state(values: pd.Series):
    """A column as a numpy array of numbers or booleans, or a list of Python objects."""
    if values.dtype.kind in "biuf":
        return values.to_numpy(copy=True)
    return values.astype(object).tolist()


def _series_state(series: pd.Series) -> dict:
    return {"index": series.index.tolist(), "values": _column_state(series), "name": series.name}


def _series_from_state(state: dict) -> pd.Series:
    return pd.Series(state["values"], index=state["index"], name=state["name"])


def _frame_state(frame: pd.DataFrame) -> dict:
    return {"columns": {str(c): _column_state(frame[c]) for c in frame.columns}}


def _frame_from_state(state: dict) -> pd.DataFrame:
    return pd.DataFrame(state["columns"])


class SelectiveClassifier(ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """A classifier that also says where it is unsure enough to abstain (route to a person).

    ``predict`` returns the wrapped estimator's label for every row; the abstention is a
    separate boolean mask from :meth:`predict_abstain` (``True`` = abstain, send the row to
    review), calibrated so that the automated share meets a coverage or risk target. A label is
    therefore always available — for the reviewer to see, or as the decision where the mask is
    ``False``.

    Parameters
    ----------
    estimator : classifier
        Anything with ``fit``, ``predict_proba`` and ``classes_`` (scikit-learn style). It is
        cloned and fitted by :meth:`fit` unless ``prefit=True``.
    coverage : float, optional
        Target share of rows decided automatically (split-conformal guarantee, see module doc).
    max_risk : float, optional
        Largest acceptable error rate among automated decisions (risk control with
        probability ``1 - delta``). Give exactly one of ``coverage`` and ``max_risk``.
    group_aware : bool, default True
        Calibrate one threshold per sensitive group (the guarantee then holds in every group).
    delta : float, default 0.1
        Allowed failure probability of the ``max_risk`` guarantee.
    min_group_size : int, default ``raikit.metrics.MIN_GROUP_SIZE`` (30)
        Groups with fewer calibration rows fall back to the overall threshold (with a finding).
    pos_label : optional
        For a binary model: the class whose probability :meth:`select` reports as ``score``
        (and the review queue shows). Inferred only for 0/1, False/True and -1/1 classes; for
        other classes without it, ``select`` reports no ``score`` column (never a guessed one).
    prefit : bool, default False
        ``True``: ``estimator`` is already fitted and every row given to :meth:`fit` calibrates
        the thresholds (they must be held out from its training). ``False``: :meth:`fit` holds
        out ``calibration_size`` of the rows for calibration and fits a clone of ``estimator``
        on the others (the guarantees need calibration rows the model was not trained on).
    calibration_size : float, default 0.3
        Share of the rows held out for calibration when ``prefit=False``.
    random_state : int, RandomState or None, default None
        Seed of the training/calibration split (``prefit=False``).

    Attributes
    ----------
    estimator_ : classifier
        The fitted estimator (``estimator`` itself when ``prefit=True``).
    thresholds_ : Series
        Confidence threshold per group label (and ``"overall"``).
    calibration_ : DataFrame
        Per group: calibration rows, threshold, accepted share and error rate among accepted.
    classes_ : ndarray
        The estimator's classes.
    n_features_in_ : int

    See Also
    --------
    raikit.review.ReviewQueue : where abstained rows go.

    Notes
    -----
    Without ``sensitive_features`` a ``group_aware`` classifier calibrates one overall threshold
    (with a :class:`~raikit.RaikitWarning`). Inside a ``Pipeline`` or a search, route them with
    scikit-learn's metadata routing (``set_fit_request(sensitive_features=True)``).

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from raikit.datasets import load_german_credit
    >>> ds = load_german_credit().replace(features=["duration_months", "credit_amount", "age"])
    >>> train, cal = ds.split(0.5, random_state=0)
    >>> model = LogisticRegression(max_iter=500).fit(train.X, train.y)
    >>> selective = SelectiveClassifier(model, coverage=0.8, prefit=True).fit(cal)
    >>> labels = selective.predict(cal.X)                # a label for every row
    >>> abstain = selective.predict_abstain(cal)         # True where a person should decide
    >>> len(labels) == len(abstain) == len(cal.X), bool(abstain.mean() <= 0.2 + 0.05)
    (True, True)

    Unfitted, it trains the estimator on part of the rows and calibrates on the rest:

    >>> selective = SelectiveClassifier(LogisticRegression(max_iter=500), coverage=0.8,
    ...                                 random_state=0).fit(train)
    >>> selective.predict_abstain(cal).shape == (len(cal.X),)
    True
    """

    def __init__(
        self,
        estimator,
        *,
        coverage: float | None = None,
        max_risk: float | None = None,
        group_aware: bool = True,
        delta: float = 0.1,
        min_group_size: int = MIN_GROUP_SIZE,
        pos_label=None,
        prefit: bool = False,
        calibration_size: float = 0.3,
        random_state=None,
    ) -> None:
        self.estimator = estimator
        self.coverage = coverage
        self.max_risk = max_risk
        self.group_aware = group_aware
        self.delta = delta
        self.min_group_size = min_group_size
        self.pos_label = pos_label
        self.prefit = prefit
        self.calibration_size = calibration_size
        self.random_state = random_state

    def __sklearn_tags__(self):
        from sklearn.utils import get_tags

        tags = super().__sklearn_tags__()
        try:
            inner = get_tags(self.estimator)
        except (AttributeError, TypeError):  # a fitted object outside scikit-learn's API
            return tags
        tags.input_tags.allow_nan = inner.input_tags.allow_nan
        tags.input_tags.sparse = inner.input_tags.sparse
        tags.input_tags.categorical = inner.input_tags.categorical
        tags.input_tags.string = inner.input_tags.string
        if inner.classifier_tags is not None:
            tags.classifier_tags.multi_class = inner.classifier_tags.multi_class
        return tags

    # ----------------------------------------------------------------- inputs
    def _features(self, X, model):
        """``(X, y, sensitive_features)`` from a Dataset (features for ``model``) or as given."""
        from raikit.dataset import Dataset

        if isinstance(X, Dataset):
            ds = X.for_model(model) if model is not None else X
            return ds.X, ds.y, ds.sensitive
        return X, None, None

    def _keys(self, sensitive_features, n: int, *, fitting: bool) -> pd.Series:
        """One group label per row (``"overall"`` for everyone when not group-aware)."""
        if not getattr(self, "group_aware_", self.group_aware) or (
            fitting and sensitive_features is None
        ):
            if fitting and self.group_aware and sensitive_features is None:
                import warnings

                warnings.warn(
                    "SelectiveClassifier.fit got no sensitive_features, so it calibrates one "
                    "threshold for everyone (the coverage or risk guarantee then holds overall, "
                    "not per group). Pass fit(X, y, sensitive_features=...) or a Dataset, or "
                    "group_aware=False to silence this.",
                    RaikitWarning,
                    stacklevel=3,
                )
            return pd.Series([OVERALL] * n)
        if sensitive_features is None:
            raise ParameterError(
                "SelectiveClassifier: this model has one threshold per group: pass "
                "sensitive_features=... (one value per row) or a Dataset with sensitive columns."
            )
        keys = group_keys(sensitive_features)
        if len(keys) != n:
            raise DataError(f"sensitive_features has {len(keys)} rows but X has {n}.")
        return keys

    def _check_params(self) -> None:
        if (self.coverage is None) == (self.max_risk is None):
            raise ParameterError(
                "Give exactly one of coverage=... or max_risk=..., got both or neither."
            )
        target = self.coverage if self.coverage is not None else self.max_risk
        if not 0.0 < float(target) < 1.0:
            raise ParameterError(
                f"coverage/max_risk must be strictly between 0 and 1, got {target!r}."
            )
        if not 0.0 < self.delta < 1.0:
            raise ParameterError(f"delta must be strictly between 0 and 1, got {self.delta!r}.")
        if not self.prefit and not 0.0 < float(self.calibration_size) < 1.0:
            raise ParameterError(
                f"calibration_size must be strictly between 0 and 1, got {self.calibration_size!r}."
            )
        if not hasattr(self.estimator, "predict_proba"):
            raise ParameterError(
                f"{type(self.estimator).__name__} has no predict_proba; a selective classifier "
                f"needs class probabilities."
            )

    def _proba(self, X) -> np.ndarray:
        return np.asarray(self.estimator_.predict_proba(X), dtype=float)

    # ----------------------------------------------------------------- fit
    def fit(self, X, y=None, *, sensitive_features=None) -> SelectiveClassifier:
        """Fit the estimator (unless ``prefit``) and calibrate the thresholds on held-out rows.

        Parameters
        ----------
        X : array-like, DataFrame or raikit.Dataset
            Features; a Dataset also gives ``y`` and ``sensitive_features``.
        y : array-like, optional
            True labels (required unless ``X`` is a Dataset).
        sensitive_features : array-like, Series or DataFrame, optional
            Values of the sensitive attribute(s), one per row (``group_aware``).

        Returns
        -------
        self
        """
        from sklearn.base import clone
        from sklearn.model_selection import train_test_split
        from sklearn.utils import _safe_indexing
        from sklearn.utils.validation import check_consistent_length, column_or_1d, validate_data

        self._check_params()
        self.group_aware_ = self.group_aware
        X, ds_y, ds_sensitive = self._features(X, self.estimator if self.prefit else None)
        y = ds_y if y is None else y
        sensitive_features = ds_sensitive if sensitive_features is None else sensitive_features
        if y is None:
            raise ValueError(
                "SelectiveClassifier requires y to be passed, but the target y is None "
                "(the true labels of the rows)."
            )
        X = _as_table(X)
        validate_data(self, X, skip_check_array=True)
        y = column_or_1d(y, warn=True)
        check_consistent_length(X, y)
        if pd.isna(pd.Series(y)).any():
            raise DataError("y contains missing labels; drop those rows first.")
        keys = self._keys(sensitive_features, len(y), fitting=True)
        self.group_aware_ = self.group_aware and sensitive_features is not None
        if self.prefit:
            self.estimator_ = self.estimator
            X_cal, y_cal, keys_cal = X, y, keys
        else:
            if len(y) < 2:
                raise ValueError(
                    f"SelectiveClassifier needs rows to train and to calibrate on, got "
                    f"n_samples = {len(y)}."
                )
            train, cal = train_test_split(
                np.arange(len(y)),
                test_size=self.calibration_size,
                random_state=self.random_state,
                stratify=_strata(y, self.calibration_size),
            )
            self.estimator_ = clone(self.estimator).fit(_safe_indexing(X, train), y[train])
            X_cal, y_cal = _safe_indexing(X, cal), y[cal]
            keys_cal = keys.iloc[cal].reset_index(drop=True)
        self.classes_ = np.asarray(self.estimator_.classes_)
        if self.pos_label is not None and len(self.classes_) == 2:
            resolve_pos_label(self.classes_, self.pos_label)  # refuse an unknown label now
        self._calibrate(self._proba(X_cal), y_cal, keys_cal)
        return self

    def _calibrate(self, proba: np.ndarray, y: np.ndarray, keys: pd.Series) -> None:
        conf = _confidence(proba)
        error = (self.classes_[proba.argmax(axis=1)] != y).astype(float)
        labels = sorted(pd.unique(keys).tolist()) if self.group_aware_ else []
        codes = _codes(keys, labels) if labels else np.zeros(len(keys), dtype=np.int64)
        # Group 0..G-1 and then the overall population as group G.
        n_groups = len(labels)
        all_codes = np.concatenate([codes, np.full(len(conf), n_groups)])
        all_conf = np.concatenate([conf, conf])
        all_error = np.concatenate([error, error])
        if self.coverage is not None:
            thresholds = _conformal_thresholds(all_conf, all_codes, n_groups + 1, self.coverage)
        else:
            thresholds = _risk_thresholds(
                all_conf, all_error, all_codes, n_groups + 1, self.max_risk, self.delta
            )
        counts = np.bincount(all_codes, minlength=n_groups + 1)
        small = counts < self.min_group_size
        small[-1] = False
        thresholds[small] = thresholds[-1]
        accepted = all_conf >= thresholds[all_codes]
        n_acc = np.bincount(all_codes, weights=accepted, minlength=n_groups + 1)
        e_acc = np.bincount(all_codes, weights=accepted * all_error, minlength=n_groups + 1)
        names = [*labels, OVERALL]
        with np.errstate(invalid="ignore", divide="ignore"):
            self.calibration_ = pd.DataFrame(
                {
                    "group": names,
                    "n": counts,
                    "threshold": thresholds,
                    "coverage": n_acc / counts,
                    "selective_risk": e_acc / n_acc,
                    "fallback": small,
                }
            )
        self.thresholds_ = pd.Series(thresholds, index=names, name="threshold")

    # ----------------------------------------------------------------- saving
    def __getstate__(self):
        """The state with the pandas tables as lists and arrays (so skops saves it safely)."""
        state = dict(super().__getstate__())  # a copy: object.__getstate__ returns __dict__
        if isinstance(state.get("thresholds_"), pd.Series):
            state["thresholds_"] = _series_state(state["thresholds_"])
        if isinstance(state.get("calibration_"), pd.DataFrame):
            state["calibration_"] = _frame_state(state["calibration_"])
        return state

    def __setstate__(self, state) -> None:
        state = dict(state)
        if isinstance(state.get("thresholds_"), dict):
            state["thresholds_"] = _series_from_state(state["thresholds_"])
        if isinstance(state.get("calibration_"), dict):
            state["calibration_"] = _frame_from_state(state["calibration_"])
        super().__setstate__(state)

    # ----------------------------------------------------------------- predict
    def _predict_inputs(self, X, sensitive_features):
        """``(X, keys, index)`` for prediction: features checked against fit, one key per row."""
        from sklearn.utils.validation import check_is_fitted, validate_data

        check_is_fitted(self, "thresholds_")
        X, _, ds_sensitive = self._features(X, self.estimator_)
        sensitive_features = ds_sensitive if sensitive_features is None else sensitive_features
        X = _as_table(X)
        validate_data(self, X, reset=False, skip_check_array=True)
        n = X.shape[0]
        keys = self._keys(sensitive_features, n, fitting=False)
        index = X.index if isinstance(X, pd.DataFrame) else pd.RangeIndex(n)
        return X, keys, index

    def predict(self, X) -> np.ndarray:
        """The estimator's label for every row (abstained rows included; see
        :meth:`predict_abstain` for which rows to route to a person)."""
        from sklearn.utils.validation import check_is_fitted, validate_data

        check_is_fitted(self, "thresholds_")
        X, _, _ = self._features(X, self.estimator_)
        X = _as_table(X)
        validate_data(self, X, reset=False, skip_check_array=True)
        return self.estimator_.predict(X)

    def predict_proba(self, X) -> np.ndarray:
        """The estimator's class probabilities, one column per entry of ``classes_``."""
        from sklearn.utils.validation import check_is_fitted, validate_data

        check_is_fitted(self, "thresholds_")
        X, _, _ = self._features(X, self.estimator_)
        X = _as_table(X)
        validate_data(self, X, reset=False, skip_check_array=True)
        return self._proba(X)

    def predict_abstain(self, X, *, sensitive_features=None) -> np.ndarray:
        """Boolean mask, one value per row: ``True`` where the classifier abstains.

        A row is abstained on when the estimator's confidence (its largest class probability)
        is below the calibrated threshold of the row's group (``sensitive_features`` are needed
        when the thresholds are per group; groups unseen at calibration use the overall one).
        """
        return self.select(X, sensitive_features=sensitive_features)["abstain"].to_numpy()

    def select(self, X, *, sensitive_features=None) -> pd.DataFrame:
        """Per row: ``prediction``, ``confidence``, ``threshold``, ``group`` and ``abstain``.

        For a binary model also ``score``: the probability of the positive label (``pos_label``).

        Groups unseen at calibration use the overall threshold.
        """
        X, keys, index = self._predict_inputs(X, sensitive_features)
        proba = self._proba(X)
        conf = _confidence(proba)
        codes = _codes(keys, list(self.thresholds_.index))
        overall = self.thresholds_[OVERALL]
        values = self.thresholds_.to_numpy()
        threshold = np.where(codes >= 0, values[np.maximum(codes, 0)], overall)
        frame = pd.DataFrame(
            {
                "prediction": self.classes_[proba.argmax(axis=1)],
                "confidence": conf,
                "threshold": threshold,
                "group": keys.to_numpy(),
                "abstain": conf < threshold,
            },
            index=index,
        )
        column = self._positive_column() if proba.shape[1] == 2 else None
        if column is not None:
            frame.insert(1, "score", proba[:, column])
        return frame

    def _positive_column(self) -> int | None:
        """Column of ``predict_proba`` holding the positive class; None when it is unknown."""
        if self.pos_label is None:
            try:
                positive = resolve_pos_label(self.classes_)
            except DataError:
                return None
        else:
            positive = resolve_pos_label(self.classes_, self.pos_label)
        return int(np.flatnonzero(self.classes_ == positive)[0])

    def route(self, X, queue, *, sensitive_features=None, ids=None, model_id: str | None = None):
        """Decide confident rows and send the others to a :class:`ReviewQueue`.

        Returns the :meth:`select` frame with the queue item id of each abstention
        (``review_id``, missing for automated rows).
        """
        frame = self.select(X, sensitive_features=sensitive_features)
        features, _, _ = self._features(X, self.estimator_)
        ids = frame.index.to_numpy() if ids is None else np.asarray(ids)
        if len(ids) != len(frame):
            raise DataError(f"ids has {len(ids)} values but there are {len(frame)} rows.")
        mask = frame["abstain"].to_numpy()
        chosen = frame[mask]
        review_ids = queue.add(
            features[mask],
            item_ids=ids[mask],
            prediction=chosen["prediction"].to_numpy(),
            score=chosen["score"].to_numpy() if "score" in chosen else None,
            confidence=chosen["confidence"].to_numpy(),
            threshold=chosen["threshold"].to_numpy(),
            group=chosen["group"].to_numpy(),
            reason="confidence below the calibrated threshold",
            model_id=model_id,
        )
        frame["review_id"] = pd.Series(pd.NA, index=frame.index, dtype="string")
        frame.loc[mask, "review_id"] = review_ids
        return frame

    @recorded("review.selective")
    def evaluate(
        self, X, y=None, *, sensitive_features=None, ci: float = 0.95, ledger=None
    ) -> SelectiveResult:
        """Coverage and selective error per group on labelled rows, against the targets, with
        Clopper-Pearson intervals at level ``ci``."""
        from raikit.metrics._stats import check_ci

        check_ci(ci)
        frame = self.select(X, sensitive_features=sensitive_features)
        _, ds_y, _ = self._features(X, self.estimator_)
        y = ds_y if y is None else y
        if y is None:
            raise ParameterError(
                "SelectiveClassifier.evaluate(): y is required (the true labels): pass y=... or a "
                "Dataset."
            )
        y = np.asarray(y)
        if len(y) != len(frame):
            raise DataError(f"y has {len(y)} values but X has {len(frame)} rows.")
        table = self._evaluation_table(frame, y, ci)
        findings = self._evaluation_findings(table, ci)
        result = SelectiveResult(
            table=table,
            calibration=self.calibration_.copy(),
            mode="coverage" if self.coverage is not None else "max_risk",
            target=float(self.coverage if self.coverage is not None else self.max_risk),
            delta=float(self.delta),
            ci=float(ci),
            findings=tuple(findings),
        )
        return result

    def _evaluation_table(self, frame: pd.DataFrame, y: np.ndarray, ci: float) -> pd.DataFrame:
        """Per group and overall: coverage, selective and full error with their intervals."""
        from raikit.metrics._stats import clopper_pearson_interval

        keys = pd.Series(frame["group"].to_numpy())
        accepted = ~frame["abstain"].to_numpy()
        error = (frame["prediction"].to_numpy() != y).astype(float)
        labels = [*self.thresholds_.index[:-1]]
        codes = _codes(keys, labels) if labels else np.zeros(len(keys), dtype=np.int64)
        known = codes >= 0
        g = len(labels)
        # each row counts in its group (if calibrated) and again in the overall row (code g)
        all_codes = np.concatenate([codes[known], np.full(len(y), g)])
        acc = np.concatenate([accepted[known], accepted]).astype(float)
        err = np.concatenate([error[known], error])
        n = np.bincount(all_codes, minlength=g + 1)
        n_acc = np.bincount(all_codes, weights=acc, minlength=g + 1)
        e_acc = np.bincount(all_codes, weights=acc * err, minlength=g + 1)

        cov_lo, cov_hi = clopper_pearson_interval(n_acc, n, ci=ci)
        risk_lo, risk_hi = clopper_pearson_interval(e_acc, n_acc, ci=ci)
        with np.errstate(invalid="ignore", divide="ignore"):
            table = pd.DataFrame(
                {
                    "group": [*labels, OVERALL],
                    "n": n,
                    "threshold": self.thresholds_.to_numpy(),
                    "coverage": n_acc / n,
                    "coverage_lower": cov_lo,
                    "coverage_upper": cov_hi,
                    "selective_risk": e_acc / n_acc,
                    "risk_lower": risk_lo,
                    "risk_upper": risk_hi,
                    "full_risk": np.bincount(all_codes, weights=err, minlength=g + 1) / n,
                }
            )
        return table

    def _evaluation_findings(self, table: pd.DataFrame, ci: float) -> list:
        """Groups off target (by their interval) and groups that fell back to the overall threshold."""
        findings = []
        if self.coverage is not None:
            low = table[table["coverage_upper"] < self.coverage]
            for row in low.itertuples(index=False):  # one finding per failing group (few)
                findings.append(
                    Finding(
                        "warning",
                        "Coverage below target",
                        f"{row.coverage:.3f} ({ci:.0%} CI upper {row.coverage_upper:.3f}) < "
                        f"{self.coverage} on {row.n} rows; recalibrate on recent data.",
                        slice=row.group,
                    )
                )
        else:
            high = table[table["risk_lower"] > self.max_risk]
            for row in high.itertuples(index=False):
                findings.append(
                    Finding(
                        "error",
                        "Selective error above max_risk",
                        f"{row.selective_risk:.3f} ({ci:.0%} CI lower {row.risk_lower:.3f}) > "
                        f"{self.max_risk}; recalibrate or lower coverage.",
                        slice=row.group,
                    )
                )
        for row in self.calibration_[self.calibration_["fallback"]].itertuples(index=False):
            findings.append(
                Finding(
                    "warning",
                    "Group too small to calibrate",
                    f"{row.n} calibration rows < min_group_size={self.min_group_size}; it uses "
                    f"the overall threshold.",
                    slice=row.group,
                )
            )
        return findings


@dataclass(frozen=True, eq=False)
class SelectiveResult(Result):
    """How a :class:`SelectiveClassifier` does on labelled rows, per group.

    Attributes
    ----------
    table : DataFrame
        Per group (and ``overall``): rows, threshold, coverage and selective error (error rate
        among automated decisions) with Clopper–Pearson intervals at level ``ci``, and the error
        rate without abstention (``full_risk``).
    calibration : DataFrame
        The calibration table (thresholds and calibration-set coverage and error).
    mode : str
        ``coverage`` or ``max_risk``.
    target : float
        The coverage or the largest error the user asked for.
    delta : float
        The allowed probability that the guarantee fails.
    ci : float
        Confidence level of the intervals.
    findings : tuple of Finding
        Groups whose abstention or error differs.

    See Also
    --------
    SelectiveClassifier.evaluate : computes it.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from raikit.datasets import make_fairness_synthetic
    >>> from raikit.review import SelectiveClassifier
    >>> train = make_fairness_synthetic(400, random_state=0)
    >>> cal = make_fairness_synthetic(400, random_state=1)
    >>> model = LogisticRegression().fit(train.X, train.y)
    >>> r = SelectiveClassifier(model, coverage=0.8, prefit=True).fit(cal).evaluate(cal)
    >>> type(r).__name__
    'SelectiveResult'
    """

    table: pd.DataFrame
    calibration: pd.DataFrame
    mode: str
    target: float
    delta: float = 0.1
    ci: float = 0.95
    findings: tuple = field(default_factory=tuple)

    @property
    def summary(self) -> str:
        row = self.table[self.table["group"] == OVERALL].iloc[0]
        return (
            f"Selective prediction ({self.mode}={self.target}): coverage {row['coverage']:.3f}, "
            f"error among automated {row['selective_risk']:.3f} vs {row['full_risk']:.3f} "
            f"without abstention; {len(self.findings)} finding(s)."
        )

    def figures(self) -> list:
        import plotly.graph_objects as go

        from raikit._plots import error_bars

        t = self.table
        fig = go.Figure()
        fig.add_bar(
            x=t["group"],
            y=t["coverage"],
            name="coverage",
            error_y=error_bars(t["coverage"], t["coverage_lower"], t["coverage_upper"]),
        )
        fig.add_bar(
            x=t["group"],
            y=t["selective_risk"],
            name="error among automated",
            error_y=error_bars(t["selective_risk"], t["risk_lower"], t["risk_upper"]),
        )
        fig.add_hline(y=self.target, line_dash="dash", annotation_text=f"{self.mode} target")
        fig.update_layout(
            title=f"Coverage and selective error per group ({self.ci:.0%} CI)", barmode="group"
        )
        return [fig]
