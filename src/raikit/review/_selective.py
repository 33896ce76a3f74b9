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
from sklearn.base import BaseEstimator

from raikit._errors import DataError
from raikit._result import Finding, Result
from raikit.metrics._group_metrics import resolve_pos_label
from raikit.metrics._stats import MIN_GROUP_SIZE

__all__ = ["SelectiveClassifier", "SelectiveResult", "group_keys"]

_GRID = np.round(np.linspace(0.0, 1.0, 201), 6)  # data-independent thresholds for risk control
OVERALL = "overall"


def group_keys(sensitive) -> pd.Series:
    """One label per row naming its (intersectional) group, e.g. ``"Female & Black"``.

    Examples
    --------
    >>> import pandas as pd
    >>> group_keys(pd.DataFrame({"sex": ["F", "M"], "race": ["A", None]})).tolist()
    ['F & A', 'M & missing']
    """
    if isinstance(sensitive, pd.Series):
        frame = sensitive.to_frame()
    elif isinstance(sensitive, pd.DataFrame):
        frame = sensitive
    elif isinstance(sensitive, dict):
        frame = pd.DataFrame(sensitive)
    else:
        array = np.asarray(sensitive, dtype=object)
        frame = pd.DataFrame(array.reshape(len(array), -1))
    if frame.shape[1] == 0:
        raise DataError("sensitive has no columns; pass at least one sensitive attribute.")
    parts = [
        frame.iloc[:, i].astype(object).where(frame.iloc[:, i].notna(), "missing")
        for i in range(frame.shape[1])
    ]
    key = parts[0].astype(str)
    for part in parts[1:]:
        key = key.str.cat(part.astype(str), sep=" & ")
    return key.reset_index(drop=True)


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


class SelectiveClassifier(BaseEstimator):
    """Wrap a fitted classifier so that it abstains where it is unsure.

    Parameters
    ----------
    model : fitted classifier
        Anything with ``predict_proba`` and ``classes_`` (scikit-learn style).
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

    Attributes
    ----------
    thresholds_ : Series
        Confidence threshold per group label (and ``"overall"``).
    calibration_ : DataFrame
        Per group: calibration rows, threshold, accepted share and error rate among accepted.
    classes_ : ndarray
        The wrapped model's classes.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from raikit.datasets import load_german_credit
    >>> ds = load_german_credit().replace(features=["duration_months", "credit_amount", "age"])
    >>> train, cal = ds.split(0.5, random_state=0)
    >>> model = LogisticRegression(max_iter=500).fit(train.X, train.y)
    >>> selective = SelectiveClassifier(model, coverage=0.8).fit(cal)
    >>> decided = selective.select(cal)
    >>> bool(decided["abstain"].mean() <= 0.2 + 0.05)
    True
    """

    def __init__(
        self,
        model,
        *,
        coverage: float | None = None,
        max_risk: float | None = None,
        group_aware: bool = True,
        delta: float = 0.1,
        min_group_size: int = MIN_GROUP_SIZE,
        pos_label=None,
    ) -> None:
        self.model = model
        self.coverage = coverage
        self.max_risk = max_risk
        self.group_aware = group_aware
        self.delta = delta
        self.min_group_size = min_group_size
        self.pos_label = pos_label

    # ----------------------------------------------------------------- inputs
    def _inputs(self, X, y=None, sensitive=None, *, need_y: bool):
        from raikit.dataset import Dataset

        if isinstance(X, Dataset):
            ds = X.for_model(self.model)
            X = ds.X
            y = ds.y if y is None else y
            sensitive = ds.sensitive if sensitive is None else sensitive
        if not hasattr(X, "shape") or len(X.shape) != 2:
            raise DataError(f"X must be a 2-D table of features, got {type(X).__name__}.")
        n = X.shape[0]
        if n == 0:
            raise DataError("X has no rows; calibrate and predict on at least one row.")
        if need_y:
            if y is None:
                raise DataError("y (true labels of the calibration rows) is required to fit.")
            y = np.asarray(y)
            if y.shape[0] != n:
                raise DataError(f"y has {y.shape[0]} values but X has {n} rows.")
            if pd.isna(y).any():
                raise DataError("y contains missing labels; drop those calibration rows first.")
        if self.group_aware:
            if sensitive is None:
                raise DataError(
                    "group_aware=True needs sensitive=... (or a Dataset); pass "
                    "group_aware=False for one threshold for everyone."
                )
            keys = group_keys(sensitive)
            if len(keys) != n:
                raise DataError(f"sensitive has {len(keys)} rows but X has {n}.")
        else:
            keys = pd.Series([OVERALL] * n)
        return X, y, keys

    def _proba(self, X) -> np.ndarray:
        if not hasattr(self.model, "predict_proba"):
            raise DataError(
                f"{type(self.model).__name__} has no predict_proba; a selective classifier needs "
                f"class probabilities."
            )
        return np.asarray(self.model.predict_proba(X), dtype=float)

    # ----------------------------------------------------------------- fit
    def fit(self, X, y=None, *, sensitive=None) -> SelectiveClassifier:
        """Calibrate the thresholds on held-out rows (not the model's training rows).

        ``X`` may be a :class:`raikit.Dataset` (then ``y`` and ``sensitive`` come from it).
        """
        if (self.coverage is None) == (self.max_risk is None):
            raise DataError(
                "Give exactly one of coverage=... or max_risk=..., got both or neither."
            )
        target = self.coverage if self.coverage is not None else self.max_risk
        if not 0.0 < float(target) < 1.0:
            raise DataError(f"coverage/max_risk must be strictly between 0 and 1, got {target!r}.")
        if not 0.0 < self.delta < 1.0:
            raise DataError(f"delta must be strictly between 0 and 1, got {self.delta!r}.")
        X, y, keys = self._inputs(X, y, sensitive, need_y=True)
        proba = self._proba(X)
        self.classes_ = np.asarray(self.model.classes_)
        if self.pos_label is not None and len(self.classes_) == 2:
            resolve_pos_label(self.classes_, self.pos_label)  # refuse an unknown label now
        conf = _confidence(proba)
        error = (self.classes_[proba.argmax(axis=1)] != y).astype(float)
        labels = sorted(pd.unique(keys).tolist()) if self.group_aware else []
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
        self.n_features_in_ = X.shape[1]
        return self

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

    def _check_fitted(self) -> None:
        if not hasattr(self, "thresholds_"):
            raise DataError("This SelectiveClassifier is not calibrated yet; call fit(...) first.")

    # ----------------------------------------------------------------- predict
    def select(self, X, *, sensitive=None) -> pd.DataFrame:
        """Per row: ``prediction``, ``confidence``, ``threshold``, ``group`` and ``abstain``.

        For a binary model also ``score``: the probability of the positive label (``pos_label``).

        Groups unseen at calibration use the overall threshold.
        """
        self._check_fitted()
        X, _, keys = self._inputs(X, None, sensitive, need_y=False)
        proba = self._proba(X)
        conf = _confidence(proba)
        codes = _codes(keys, list(self.thresholds_.index))
        overall = self.thresholds_[OVERALL]
        values = self.thresholds_.to_numpy()
        threshold = np.where(codes >= 0, values[np.maximum(codes, 0)], overall)
        index = X.index if isinstance(X, pd.DataFrame) else pd.RangeIndex(len(conf))
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

    def predict(self, X, *, sensitive=None) -> np.ndarray:
        """The model's labels, with ``None`` where the classifier abstains."""
        frame = self.select(X, sensitive=sensitive)
        out = frame["prediction"].to_numpy(dtype=object)
        out[frame["abstain"].to_numpy()] = None
        return out

    def route(self, X, queue, *, sensitive=None, ids=None, model_id: str | None = None):
        """Decide confident rows and send the others to a :class:`ReviewQueue`.

        Returns the :meth:`select` frame with the queue item id of each abstention
        (``review_id``, missing for automated rows).
        """
        frame = self.select(X, sensitive=sensitive)
        features = X.for_model(self.model).X if hasattr(X, "check_binary_target") else X
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

    def evaluate(
        self, X, y=None, *, sensitive=None, ci: float = 0.95, ledger=None
    ) -> SelectiveResult:
        """Coverage and selective error per group on labelled rows, against the targets, with
        Clopper-Pearson intervals at level ``ci``."""
        from raikit.metrics._stats import check_ci, clopper_pearson_interval

        check_ci(ci)
        self._check_fitted()
        frame = self.select(X, sensitive=sensitive)
        _, y, keys = self._inputs(X, y, sensitive, need_y=True)
        accepted = ~frame["abstain"].to_numpy()
        error = (frame["prediction"].to_numpy() != y).astype(float)
        labels = [*self.thresholds_.index[:-1]]
        codes = _codes(keys, labels) if labels else np.zeros(len(keys), dtype=np.int64)
        known = codes >= 0
        g = len(labels)
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
        result = SelectiveResult(
            table=table,
            calibration=self.calibration_.copy(),
            mode="coverage" if self.coverage is not None else "max_risk",
            target=float(self.coverage if self.coverage is not None else self.max_risk),
            delta=float(self.delta),
            ci=float(ci),
            findings=tuple(findings),
        )
        from raikit.ledger import record

        record(
            result,
            check="review.selective",
            ledger=ledger,
            model=self.model,
            params={"mode": result.mode, "target": result.target, "delta": self.delta, "ci": ci},
        )
        return result


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
