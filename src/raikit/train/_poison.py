"""``flip_labels``: label-flipping poisoning attacks, to stress-test robust training.

Three attacks flip the labels of a share of the training rows of a binary task:

* ``"paudice"`` — the greedy attack of Paudice, Muñoz-González and Lupu (2018), which the
  FR-Train paper uses: repeatedly flip the label whose flip most increases the attacker's
  validation loss of a logistic regression retrained on the poisoned data. Retraining once per
  candidate is quadratic in the rows, so the loss increase of every candidate is estimated with
  the influence function of the regularised logistic regression (one Newton step from the
  current fit) and the best candidates are flipped in batches, refitting between batches.
* ``"confident"`` — flip the rows a logistic regression fitted on the clean labels classifies
  correctly with the largest margin (a fast, strong heuristic).
* ``"random"`` — flip a uniformly random subset (label noise, not an attack).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from raikit._errors import DataError, ParameterError
from raikit._validation import RANDOM_STATE, Interval, Options, validate_params

__all__ = ["FLIP_METHODS", "LabelFlips", "flip_labels"]

FLIP_METHODS = ("paudice", "confident", "random")


class LabelFlips(NamedTuple):
    """The poisoned labels and which rows were flipped.

    Attributes
    ----------
    y : ndarray or Series
        The labels after the attack, of the same type, index and labels as the input ``y``.
    flipped : ndarray of int
        Sorted positions (0-based) of the flipped rows.

    See Also
    --------
    flip_labels : returns it.

    Examples
    --------
    >>> from raikit.train import flip_labels
    >>> import numpy as np
    >>> X = np.arange(10.0).reshape(-1, 1)
    >>> flips = flip_labels(X, [0, 1, 0, 1, 0, 1, 0, 1, 0, 1], share=0.2, random_state=0)
    >>> len(flips.flipped), type(flips).__name__
    (2, 'LabelFlips')
    """

    y: np.ndarray | pd.Series
    flipped: np.ndarray


def _fit_logistic(X1: np.ndarray, y01: np.ndarray, C: float) -> np.ndarray:
    """Weights (last entry the intercept) of an L2 logistic regression, as scikit-learn fits it."""
    from sklearn.linear_model import LogisticRegression

    if len(np.unique(y01)) < 2:  # every label flipped to one class: a constant model
        p = np.clip(y01.mean(), 1e-6, 1 - 1e-6)
        return np.r_[np.zeros(X1.shape[1] - 1), np.log(p / (1 - p))]
    model = LogisticRegression(C=C, max_iter=1000).fit(X1[:, :-1], y01)
    return np.r_[model.coef_[0], model.intercept_[0]]


def _sigmoid(t: np.ndarray) -> np.ndarray:
    from scipy.special import expit

    return expit(t)


def _influence_scores(X1, y01, theta, Xv1, yv01, C) -> np.ndarray:
    """First-order increase of the validation loss from flipping each training label.

    The fit minimises ``C * sum_i loss_i(theta) + ||w||^2 / 2``. Flipping row ``i`` adds
    ``C (2 y_i - 1) x_i`` to the gradient, so the optimum moves by
    ``-H^{-1} C (2 y_i - 1) x_i`` and the mean validation loss by the dot product of that move
    with the validation gradient ``g``.
    """
    p = _sigmoid(X1 @ theta)
    curvature = p * (1 - p)
    hessian = C * (X1 * curvature[:, None]).T @ X1
    ridge = np.ones(X1.shape[1])
    ridge[-1] = 1e-8  # the intercept is not penalised
    hessian[np.diag_indices_from(hessian)] += ridge
    pv = _sigmoid(Xv1 @ theta)
    grad_val = Xv1.T @ (pv - yv01) / len(yv01)
    direction = np.linalg.solve(hessian, grad_val)
    return -C * (2 * y01 - 1) * (X1 @ direction)


@validate_params(
    share=Interval(float, 0, 0.5),
    method=Options(*FLIP_METHODS),
    n_rounds=Interval(int, 1, None),
    C=Interval(float, 0, None, closed="neither"),
    random_state=RANDOM_STATE,
)
def flip_labels(
    X,
    y,
    *,
    share: float = 0.1,
    method: str = "paudice",
    validation=None,
    n_rounds: int = 20,
    C: float = 1.0,
    random_state=None,
) -> LabelFlips:
    """Flip the labels of ``share`` of the rows: an adversarial (or random) poisoning attack.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_samples, n_features)
        Features the attacker sees (categorical columns are one-hot encoded, numerics scaled).
        Include the sensitive attribute here if the attacked model uses it.
    y : array-like or Series of shape (n_samples,)
        Clean binary labels.
    share : float, default 0.1
        Share of rows to flip, in [0, 0.5]; exactly ``round(share * n_samples)`` labels flip.
    method : {"paudice", "confident", "random"}, default "paudice"
        ``"paudice"``: the greedy attack of Paudice et al. (2018) that flips the labels that
        most increase the validation loss of a retrained logistic regression (influence-function
        estimate, batched, see Notes). ``"confident"``: the rows a clean logistic regression gets
        right with the largest margin. ``"random"``: uniform random rows.
    validation : tuple (X_val, y_val), optional
        The attacker's clean validation set for ``"paudice"``; default ``(X, y)`` itself.
    n_rounds : int, default 20
        Refits of ``"paudice"``: each round flips ``1 / n_rounds`` of the budget.
    C : float, default 1.0
        Inverse L2 strength of the attacker's logistic regression (as in scikit-learn).
    random_state : int, Generator or None
        Seed of ``"random"`` (and of tie-breaking in the others).

    Returns
    -------
    LabelFlips
        ``(y, flipped)``: the poisoned labels (same type and labels as ``y``) and the sorted
        positions of the flipped rows.

    See Also
    --------
    raikit.evaluate.stress_test : retrains under these attacks.

    Notes
    -----
    Paudice et al. flip one label at a time, each time choosing, among all not yet flipped
    rows, the one whose flip gives the highest validation loss after retraining — one refit
    per candidate per step. Here each round fits the logistic regression once on the current
    poisoned labels, scores every unflipped row by the first-order (influence-function) change
    of the mean validation log-loss its flip would cause, flips the best
    ``ceil(budget / n_rounds)`` rows, and refits. With ``n_rounds`` equal to the budget this is
    the one-at-a-time greedy attack with its inner retraining replaced by one Newton step.

    References
    ----------
    .. [1] Paudice, A., Muñoz-González, L. & Lupu, E. C. (2018). Label Sanitization against
       Label Flipping Poisoning Attacks. ECML PKDD 2018 Workshops.

    Examples
    --------
    >>> from raikit.datasets import make_fairness_synthetic
    >>> from raikit.train import flip_labels
    >>> frame = make_fairness_synthetic(500, random_state=0, as_frame=True)
    >>> poisoned, flipped = flip_labels(frame[["x1", "x2", "z"]], frame["y"], share=0.1)
    >>> len(flipped), int((poisoned != frame["y"]).sum())
    (50, 50)
    """
    from raikit.train._common import TabularEncoder

    share = float(share)  # at most 0.5: flipping more than half just renames the classes
    y_values = np.asarray(y)
    n = len(y_values)
    if len(X) != n:
        raise DataError(f"X has {len(X)} rows but y has {n}; they must match.")
    if pd.isna(pd.Series(y_values)).any():
        raise DataError("y has missing values; drop or fill those rows before flipping labels.")
    classes, y01 = np.unique(y_values, return_inverse=True)
    if len(classes) != 2:
        raise DataError(
            f"flip_labels needs a binary label, got {len(classes)} classes {classes.tolist()}."
        )
    rng = (
        random_state
        if isinstance(random_state, np.random.Generator)
        else np.random.default_rng(random_state)
    )
    budget = round(share * n)
    flipped = np.zeros(n, dtype=bool)
    if budget and method == "random":
        flipped[rng.choice(n, budget, replace=False)] = True
    elif budget:
        encoder = TabularEncoder().fit(X)
        X1 = np.column_stack([encoder.transform(X).astype(np.float64), np.ones(n)])
        # a tiny random tie-breaker, so equal scores do not favour the first rows
        jitter = rng.random(n) * 1e-12
        if method == "confident":
            theta = _fit_logistic(X1, y01, C)
            margin = (2 * y01 - 1) * (X1 @ theta)  # positive: classified correctly
            flipped[np.argsort(-(margin + jitter), kind="stable")[:budget]] = True
        else:
            if validation is None:
                Xv1, yv01 = X1, y01.astype(np.float64)
            else:
                if not isinstance(validation, tuple | list) or len(validation) != 2:
                    raise ParameterError(
                        "flip_labels(): validation must be a tuple (X_val, y_val)."
                    )
                X_val, y_val = validation
                if len(X_val) != len(y_val) or len(y_val) == 0:
                    raise DataError("validation's X_val and y_val must be non-empty and match.")
                unknown = set(np.unique(np.asarray(y_val)).tolist()) - set(classes.tolist())
                if unknown:
                    raise DataError(f"validation's y_val has labels {sorted(unknown)} not in y.")
                Xv1 = np.column_stack(
                    [encoder.transform(X_val).astype(np.float64), np.ones(len(y_val))]
                )
                yv01 = (np.asarray(y_val) == classes[1]).astype(np.float64)
            step = -(-budget // int(n_rounds))
            current = y01.astype(np.float64)
            while flipped.sum() < budget:
                theta = _fit_logistic(X1, current, C)
                scores = _influence_scores(X1, current, theta, Xv1, yv01, C) + jitter
                scores[flipped] = -np.inf
                take = min(step, budget - int(flipped.sum()))
                chosen = np.argsort(-scores, kind="stable")[:take]
                flipped[chosen] = True
                current[chosen] = 1 - current[chosen]
    positions = np.flatnonzero(flipped)
    new_codes = np.where(flipped, 1 - y01, y01)
    poisoned = classes[new_codes]
    if isinstance(y, pd.Series):
        poisoned = pd.Series(poisoned, index=y.index, name=y.name).astype(y.dtype)
    return LabelFlips(poisoned, positions)
