"""Slice Tuner: how many new examples to acquire for each slice of the data.

After Tae & Whang, "Slice Tuner: A Selective Data Acquisition Framework for Accurate and Fair
Machine Learning Models" (SIGMOD 2021). Bias often comes from too little data about some people.
Slice Tuner estimates, for every slice (e.g. every race x sex intersection), a learning curve
``loss_s(n) = b_s * n ** -a_s`` from models trained on subsamples of the slice, then chooses how many
examples ``d_s`` to acquire per slice within a budget by solving the convex problem

    minimise    sum_s L_s(n_s + d_s)  +  lam * sum_s max(0, L_s(n_s + d_s) / A - 1)
    subject to  sum_s c_s d_s = budget,   d_s >= 0

where ``A`` is the mean of the slices' current estimated losses (a constant, which keeps the problem
convex) and ``c_s`` the cost of one example of slice ``s``. The second term is the paper's
unfairness penalty: it charges every slice whose loss is above the average. Results are reported
with the paper's measures: the (unweighted) mean of the slices' validation log losses, and the
*average loss disparity* ``mean_s |L_s - mean_t L_t|``.

The iterative mode acquires in rounds, refits the curves after each round, and limits how much one
round may change the imbalance ratio (largest / smallest slice size) by ``T``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from raikit._errors import ColumnError, DataError, ParameterError, RaikitError
from raikit._grouping import MISSING, encode_groups
from raikit._recording import recorded
from raikit._result import Finding, Result
from raikit._validation import (
    CALLABLE,
    CI,
    RANDOM_STATE,
    Interval,
    Options,
    check_dataset,
    rng_from,
    validate_params,
)

__all__ = [
    "PoolAcquirer",
    "SliceTunerResult",
    "allocate_budget",
    "fit_power_law",
    "slice_tuner",
]

_METHODS = ("one-shot", "iterative", "uniform", "proportional")
_MIN_SLICE_ROWS = 20  # fewer training rows than this cannot carry a learning curve
_MIN_SUBSAMPLE = 5  # the smallest subsample of a slice used for a curve point
_EPS = 1e-15  # probabilities are clipped to [eps, 1 - eps] before the log


# --------------------------------------------------------------------------- learning curves
def fit_power_law(sizes, losses, *, weights=None) -> dict:
    """Fit ``loss = b * n ** -a`` by weighted least squares in log space.

    ``log(loss) = log(b) - a * log(n)`` is a straight line; each point's squared residual is weighted
    by ``weights`` (by default the size ``n`` itself, so that larger subsets, whose losses are less
    noisy and closer to the sizes we extrapolate to, count more).

    Parameters
    ----------
    sizes : array-like of float
        Training sizes ``n`` (positive; at least two distinct values).
    losses : array-like of float
        Losses at those sizes (positive).
    weights : array-like of float, optional
        Weight of each point (default ``sizes``).

    Returns
    -------
    dict
        ``a`` and ``b``; their standard errors ``a_se`` and ``b_se`` (NaN with only two sizes;
        ``b_se`` by the delta method); ``r2`` (weighted, in log space); ``clipped`` (True when the
        fitted exponent was negative - loss growing with data, i.e. noise - and was set to 0).

    See Also
    --------
    raikit.data.allocate_budget : allocates a budget from fitted curves.

    Examples
    --------
    >>> n = [100, 200, 400, 800]
    >>> fit = fit_power_law(n, [2.0 * x ** -0.3 for x in n])
    >>> round(fit["a"], 6), round(fit["b"], 6)
    (0.3, 2.0)
    """
    n = np.asarray(sizes, dtype=float)
    loss = np.asarray(losses, dtype=float)
    w = n.copy() if weights is None else np.asarray(weights, dtype=float)
    if n.shape != loss.shape or n.shape != w.shape or n.ndim != 1:
        raise DataError(
            f"sizes, losses and weights must be 1-D arrays of one length, got shapes "
            f"{n.shape}, {loss.shape} and {w.shape}."
        )
    if not (np.isfinite(n).all() and np.isfinite(loss).all() and np.isfinite(w).all()):
        raise DataError("sizes, losses and weights must be finite numbers.")
    if (n <= 0).any() or (loss <= 0).any() or (w <= 0).any():
        raise DataError(
            "A power law needs positive sizes, losses and weights; got a value <= 0 "
            f"(sizes {n.tolist()}, losses {loss.tolist()})."
        )
    if np.unique(n).size < 2:
        raise DataError(
            f"A learning curve needs at least two distinct training sizes, got {np.unique(n)}."
        )
    x, y = np.log(n), np.log(loss)
    design = np.column_stack([np.ones_like(x), x])
    gram = design.T @ (design * w[:, None])
    coef = np.linalg.solve(gram, design.T @ (w * y))
    clipped = bool(coef[1] > 0)
    if clipped:  # loss rising with data is noise: a flat curve (no gain from more data)
        coef = np.array([np.sum(w * y) / np.sum(w), 0.0])
    residual = y - design @ coef
    dof = len(n) - (1 if clipped else 2)
    if dof > 0:
        sigma2 = float(np.sum(w * residual**2) / dof)
        cov = sigma2 * np.linalg.inv(gram)
        a_se = 0.0 if clipped else float(np.sqrt(cov[1, 1]))
        intercept_se = float(np.sqrt(cov[0, 0]))
    else:
        a_se = intercept_se = float("nan")
    y_mean = np.sum(w * y) / np.sum(w)
    total = float(np.sum(w * (y - y_mean) ** 2))
    r2 = 1.0 - float(np.sum(w * residual**2)) / total if total > 0 else float("nan")
    b = float(np.exp(coef[0]))
    return {
        "a": float(-coef[1]) + 0.0,  # + 0.0 turns -0.0 into 0.0
        "b": b,
        "a_se": a_se,
        "b_se": b * intercept_se,
        "r2": r2,
        "clipped": clipped,
    }


# --------------------------------------------------------------------------- the allocation
def _validate_allocation_inputs(a, b, n, budget, cost):
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    n = np.asarray(n, dtype=float)
    k = a.size
    if a.ndim != 1 or b.shape != a.shape or n.shape != a.shape or k == 0:
        raise DataError(
            f"a, b and n must be 1-D arrays with one value per slice, got shapes "
            f"{a.shape}, {b.shape} and {n.shape}."
        )
    cost = np.ones(k) if cost is None else np.asarray(cost, dtype=float)
    if cost.shape != a.shape:
        raise ParameterError(
            f"allocate_budget(): cost needs one value per slice ({k}), got shape {cost.shape}."
        )
    if not np.isfinite(cost).all() or (cost <= 0).any():
        raise ParameterError(
            f"allocate_budget(): cost must be a positive number for every slice, got {cost.tolist()}."
        )
    if (a < 0).any() or (b <= 0).any() or (n <= 0).any():
        raise DataError("Power laws need a >= 0, b > 0 and current sizes n > 0.")
    budget = float(budget)
    if not np.isfinite(budget) or budget <= 0:
        raise ParameterError(f"allocate_budget(): budget must be a positive number, got {budget}.")
    return a, b, n, cost, budget


def _check_available(available, k: int) -> np.ndarray:
    """Most examples each slice can supply (``inf``: unlimited), as a float array."""
    if available is None:
        return np.full(k, np.inf)
    cap = np.asarray(available, dtype=float)
    if cap.shape != (k,) or np.isnan(cap).any() or (cap < 0).any():
        raise ParameterError(
            f"allocate_budget(): available needs one non-negative number (or inf) per slice ({k}), got "
            f"{np.asarray(available).tolist()}."
        )
    return np.floor(cap)


def _fill(weights: np.ndarray, cost: np.ndarray, cap: np.ndarray, budget: float) -> np.ndarray:
    """``min(cap, t * weights)`` with the level ``t`` that spends ``budget`` (water-filling).

    When even every available example costs less than the budget, returns ``cap``.
    """
    if np.isinf(cap).all():
        return weights * (budget / float(np.dot(cost, weights)))
    if float(np.dot(cost, np.where(weights > 0, cap, 0.0))) <= budget:
        return np.where(weights > 0, cap, 0.0)
    low, high = 0.0, budget / float(np.dot(cost, weights))
    while float(np.dot(cost, np.minimum(cap, high * weights))) < budget:
        low, high = high, 2.0 * high
    for _ in range(200):  # bisection on the level; the spend is monotone in it
        middle = (low + high) / 2
        if float(np.dot(cost, np.minimum(cap, middle * weights))) < budget:
            low = middle
        else:
            high = middle
    return np.minimum(cap, high * weights)


def _objective(d, a, b, n, lam, reference):
    loss = b * (n + d) ** -a
    return float(np.sum(loss) + lam * np.sum(np.maximum(0.0, loss / reference - 1.0)))


@validate_params(
    budget=Interval(float, 0, None, closed="neither"),
    lam=Interval(float, 0, None),
    integer=bool,
)
def allocate_budget(
    a,
    b,
    *,
    n,
    budget: float,
    cost=None,
    lam: float = 1.0,
    integer: bool = True,
    available=None,
) -> np.ndarray:
    """How many examples to acquire per slice: Slice Tuner's convex allocation.

    Minimises ``sum_s L_s + lam * sum_s max(0, L_s / A - 1)`` with ``L_s = b_s (n_s + d_s) ** -a_s``
    and ``A`` the mean of the current losses ``b_s n_s ** -a_s``, subject to
    ``sum_s cost_s d_s = budget`` and ``0 <= d_s <= available_s`` (spending the whole budget, as in
    the paper; the losses never rise with data, so nothing is lost by spending it). Solved with
    SLSQP on the smooth reformulation with one slack variable per ``max`` term. When the available
    examples cost less than the budget in total, all of them are taken.

    Parameters
    ----------
    a, b : array-like of float
        Power-law exponent (>= 0) and scale (> 0) of each slice's learning curve.
    n : array-like of float
        Current number of training examples of each slice (> 0).
    budget : float
        Total cost that may be spent (> 0).
    cost : array-like of float, optional
        Cost of one example of each slice (default 1 each).
    lam : float, default 1.0
        Weight of the unfairness term (0: minimise the total loss only).
    integer : bool, default True
        Round to whole examples: floor the continuous solution, then hand the leftover budget out one
        example at a time to the slice with the largest objective decrease per unit of cost, while
        an example still fits in the budget (and the slice has examples left).
    available : array-like of float, optional
        Most examples each slice can supply, e.g. the rows of each slice left in a pool (default:
        unlimited; ``inf`` marks an unlimited slice).

    Returns
    -------
    ndarray
        ``d_s`` per slice (``int64`` when ``integer``, else float).

    See Also
    --------
    raikit.data.slice_tuner : fits the curves and allocates in rounds.
    raikit.data.fit_power_law : fits one slice's curve.

    Examples
    --------
    Two slices with the same curve but one has fewer examples: it gets most of the budget.

    >>> allocate_budget([0.5, 0.5], [1.0, 1.0], n=[100, 400], budget=300, lam=0.0).tolist()
    [300, 0]

    If only 120 examples of it can be had, the rest of the budget goes to the other slice.

    >>> allocate_budget(
    ...     [0.5, 0.5], [1.0, 1.0], n=[100, 400], budget=300, lam=0.0, available=[120, 1000]
    ... ).tolist()
    [120, 180]
    """
    from scipy.optimize import minimize

    a, b, n, cost, budget = _validate_allocation_inputs(a, b, n, budget, cost)
    lam = float(lam)
    k = a.size
    cap = _check_available(available, k)
    if float(np.dot(cost, cap)) <= budget:  # every available example fits: take them all
        return cap.astype(np.int64) if integer else cap.copy()
    reference = float(np.mean(b * n**-a))
    scale = budget / cost  # x_s = d_s / scale_s lies in [0, 1]
    upper = np.minimum(1.0, cap / scale)

    def loss_of(x):
        return b * (n + scale * x) ** -a

    def fun(v):
        return float(np.sum(loss_of(v[:k])) + lam * np.sum(v[k:]))

    def jac(v):
        x = v[:k]
        grad = np.empty(2 * k)
        grad[:k] = -a * b * scale * (n + scale * x) ** (-a - 1.0)
        grad[k:] = lam
        return grad

    def slack_gap(v):  # t_s - (L_s / A - 1) >= 0
        return v[k:] - (loss_of(v[:k]) / reference - 1.0)

    def slack_jac(v):
        x = v[:k]
        jacobian = np.zeros((k, 2 * k))
        dloss = -a * b * scale * (n + scale * x) ** (-a - 1.0)
        jacobian[:, :k] = np.diag(-dloss / reference)
        jacobian[:, k:] = np.eye(k)
        return jacobian

    constraints = [
        # sum_s cost_s * scale_s * x_s = budget  <=>  sum_s x_s = 1
        {
            "type": "eq",
            "fun": lambda v: np.sum(v[:k]) - 1.0,
            "jac": lambda v: np.r_[np.ones(k), np.zeros(k)],
        },
        {"type": "ineq", "fun": slack_gap, "jac": slack_jac},
    ]
    bounds = [(0.0, float(u)) for u in upper] + [(0.0, None)] * k
    best = None
    # Feasible starts: the budget spread evenly, and poured into the worst slice first.
    worst_first = np.zeros(k)
    for s in np.argsort(-(b * n**-a), kind="stable"):
        worst_first[s] = min(upper[s], 1.0 - worst_first.sum())
    for start in (_fill(np.ones(k), np.ones(k), upper, 1.0), worst_first):
        v0 = np.r_[start, np.maximum(0.0, loss_of(start) / reference - 1.0)]
        solution = minimize(
            fun,
            v0,
            jac=jac,
            method="SLSQP",
            bounds=bounds,
            constraints=constraints,
            options={"maxiter": 500, "ftol": 1e-12},
        )
        feasible = abs(np.sum(np.clip(solution.x[:k], 0, 1)) - 1.0) < 1e-6
        if feasible and (best is None or solution.fun < best.fun):
            best = solution
    if best is None:
        raise RaikitError(
            "The allocation problem did not converge (SLSQP). Check that the learning curves are "
            "sensible (finite a >= 0, b > 0) and the costs are of similar magnitude."
        )
    x = np.clip(best.x[:k], 0.0, upper)
    x = x / x.sum()
    continuous = np.minimum(scale * x, cap)
    if not integer:
        return continuous
    return _round_allocation(continuous, a, b, n, cost, budget, lam, reference, cap)


def _round_allocation(continuous, a, b, n, cost, budget, lam, reference, cap) -> np.ndarray:
    d = np.minimum(np.floor(continuous + 1e-9), cap).astype(np.int64)
    while np.dot(cost, d) > budget + 1e-9:  # guard against float round-up
        d[int(np.argmax(d * cost))] -= 1
    remaining = budget - float(np.dot(cost, d))
    base = _objective(d, a, b, n, lam, reference)
    # At most about k * max(cost) / min(cost) steps: the floors left less than sum(cost) over.
    while True:
        fits = np.flatnonzero((cost <= remaining + 1e-9) & (d < cap))
        if fits.size == 0:
            return d
        gains = np.array(
            [
                (base - _objective(d + np.eye(len(d), dtype=np.int64)[s], a, b, n, lam, reference))
                / cost[s]
                for s in fits
            ]
        )
        s = int(fits[int(np.argmax(gains))])
        d[s] += 1
        remaining -= cost[s]
        base = _objective(d, a, b, n, lam, reference)


def _baseline_allocation(kind, n, cost, budget, available=None) -> np.ndarray:
    """Uniform (same number of examples per slice) or proportional (to current sizes).

    A slice with fewer ``available`` examples than its share gets all of them and the others share
    the rest of the budget in the same proportions.
    """
    share = np.ones_like(n) if kind == "uniform" else n / n.sum()
    cap = _check_available(available, share.size)
    # the largest level of the shares that fits the budget, then the leftover one by one
    target = _fill(share, cost, cap, budget)
    d = np.minimum(np.floor(target + 1e-9), cap).astype(np.int64)
    remaining = budget - float(np.dot(cost, d))
    while True:
        fits = np.flatnonzero((cost <= remaining + 1e-9) & (d < cap))
        if fits.size == 0:
            return d
        s = int(fits[int(np.argmax((target - d)[fits]))])
        d[s] += 1
        remaining -= cost[s]


def imbalance_ratio(sizes) -> float:
    """Largest slice size over the smallest."""
    sizes = np.asarray(sizes, dtype=float)
    return float(sizes.max() / sizes.min())


def _round_limit(T: float, growth: str, round_: int) -> float:
    """The imbalance-change limit of round ``round_`` (0-based)."""
    if growth == "constant":
        return T
    if growth == "linear":
        return T * (round_ + 1)
    return T * 2.0**round_


def _limit_imbalance(n, d, limit):
    """Scale ``d`` down so that the imbalance ratio changes by at most ``limit``.

    Returns the largest ``floor(x * d)`` (``x`` in [0, 1], found by bisection) whose change of
    ``max(n + d) / min(n + d)`` stays within ``limit``.
    """
    before = imbalance_ratio(n)

    def change(x):
        return abs(imbalance_ratio(n + np.floor(x * d)) - before)

    if change(1.0) <= limit:
        return d.copy()
    low, high = 0.0, 1.0
    for _ in range(60):
        middle = (low + high) / 2
        if change(middle) <= limit:
            low = middle
        else:
            high = middle
    return np.floor(low * d).astype(np.int64)


# --------------------------------------------------------------------------- acquisition
class PoolAcquirer:
    """Acquire examples by drawing (without replacement) from a held-back pool of rows.

    The built-in ``acquire(slice, n)`` callback for experiments and tests: the pool plays the part of
    the crowd workers or data vendors who would supply new examples.

    Parameters
    ----------
    pool : DataFrame or Dataset
        Rows that can be acquired; must hold the slice columns and the training columns.
    attributes : str or list of str
        The column(s) whose values (joined with ``" & "``) name a row's slice, as in
        :func:`slice_tuner`.
    random_state : int, Generator or None, default None
        Seed of the draws.

    Attributes
    ----------
    drawn : DataFrame
        Every row handed out so far, in the order drawn (after :func:`slice_tuner` with
        ``acquire=``: the rows acquired).

    See Also
    --------
    raikit.data.slice_tuner : acquires rows from it.

    Examples
    --------
    >>> import pandas as pd
    >>> pool = pd.DataFrame({"g": ["a", "a", "b"], "x": [1, 2, 3], "y": [0, 1, 1]})
    >>> acquire = PoolAcquirer(pool, "g", random_state=0)
    >>> acquire("b", 1)["x"].tolist()
    [3]
    >>> acquire.remaining().to_dict()
    {'a': 2, 'b': 0}
    """

    def __init__(self, pool, attributes, *, random_state=None) -> None:
        frame = pool.frame if hasattr(pool, "frame") and hasattr(pool, "target") else pool
        if not isinstance(frame, pd.DataFrame):
            raise ParameterError(
                f"PoolAcquirer(): pool must be a pandas DataFrame or a Dataset, got "
                f"{type(pool).__name__}."
            )
        columns = [attributes] if isinstance(attributes, str) else list(attributes)
        labels = _labels_from_columns(frame, columns, what="pool")
        self.pool = frame.reset_index(drop=True)
        self.attributes = columns
        self._labels = labels.reset_index(drop=True)
        self._used = np.zeros(len(frame), dtype=bool)
        self._order: list[np.ndarray] = []
        self._rng = rng_from(random_state)

    @property
    def drawn(self) -> pd.DataFrame:
        """Every row handed out so far, in the order drawn."""
        order = np.concatenate(self._order) if self._order else np.array([], dtype=np.int64)
        return self.pool.iloc[order].reset_index(drop=True)

    def remaining(self) -> pd.Series:
        """Rows still available, per slice."""
        return (
            self._labels[~self._used]
            .value_counts()
            .reindex(pd.unique(self._labels), fill_value=0)
            .rename("remaining")
            .rename_axis("slice")
        )

    def __call__(self, slice_label: str, n: int) -> pd.DataFrame:
        n = int(n)
        if n < 0:
            raise ParameterError(f"PoolAcquirer: cannot acquire a negative number of rows ({n}).")
        available = np.flatnonzero((self._labels.to_numpy() == slice_label) & ~self._used)
        if n > available.size:
            raise DataError(
                f"The pool has only {available.size} row(s) left of slice {slice_label!r} but "
                f"{n} were asked for. Use a larger pool or a smaller budget (or a higher cost for "
                f"this slice)."
            )
        chosen = np.sort(self._rng.choice(available, size=n, replace=False))
        self._used[chosen] = True
        self._order.append(chosen)
        return self.pool.iloc[chosen].reset_index(drop=True)

    def draw(self, allocation) -> pd.DataFrame:
        """Draw the rows of a whole allocation: ``allocation[slice]`` rows of every slice.

        With an unlabelled pool, these are the rows to send for labelling after
        ``slice_tuner(..., available=acquirer.remaining())``.

        Parameters
        ----------
        allocation : dict or Series
            Rows to draw per slice label (e.g. ``SliceTunerResult.allocation``).

        Returns
        -------
        DataFrame
            The drawn rows, slice by slice in the order of ``allocation``.

        Examples
        --------
        >>> import pandas as pd
        >>> pool = pd.DataFrame({"g": ["a", "a", "b"], "x": [1, 2, 3]})
        >>> acquire = PoolAcquirer(pool, "g", random_state=0)
        >>> acquire.draw({"a": 2, "b": 0})["x"].tolist()
        [1, 2]
        """
        parts = [self(str(name), int(n)) for name, n in dict(allocation).items() if int(n) > 0]
        return pd.concat(parts, ignore_index=True) if parts else self.pool.iloc[:0].copy()


# --------------------------------------------------------------------------- the result
@dataclass(frozen=True, eq=False)
class SliceTunerResult(Result):
    """Learning curves per slice, the acquisition plan, and (after acquisition) before/after.

    Attributes
    ----------
    slices : DataFrame
        One row per slice: ``slice`` (its values, ``"F & A"``: the name ``cost``, ``budget``
        and ``acquire`` use), ``key`` (the slice's one text form, ``"sex=F & race=A"``, which
        findings name it by); ``n_before`` (training rows), ``n_validation``; the first
        round's power law ``a``, ``b`` with standard errors ``a_se``, ``b_se`` and ``r2``; ``cost``;
        ``allocation`` (examples to acquire; for the iterative mode, the total over rounds);
        ``acquired`` (examples actually received; NaN for a plan); ``n_after``;
        ``predicted_loss_before`` / ``predicted_loss_after`` (from the curve); measured validation
        ``loss_before`` / ``loss_after`` (log loss) and ``accuracy_before`` / ``accuracy_after``.
    curve_points : DataFrame
        The points the curves were fitted to: ``round``, ``slice``, ``n`` (slice training rows),
        ``mean_loss``, ``std``, ``lower`` / ``upper`` (t interval over repeats at the confidence
        level ``meta["ci"]``), ``n_repeats``.
    curves : DataFrame
        The fitted power law of every slice in every round: ``round``, ``slice``, ``a``, ``b``,
        ``a_se``, ``b_se``, ``r2``, ``clipped``.
    rounds : DataFrame
        One row per (round, slice): ``round``, ``slice``, ``n_start``, ``planned`` (the unrestricted
        allocation of the remaining budget), ``allocation`` (after the round's imbalance limit),
        ``acquired``, ``imbalance_before`` / ``imbalance_after`` and ``limit`` (NaN outside the
        iterative mode).
    overall : dict
        ``loss_before`` / ``loss_after`` (mean of the slices' validation log losses, the paper's
        loss), ``disparity_before`` / ``disparity_after`` (average loss disparity,
        ``mean_s |L_s - mean L|``), ``max_disparity_before`` / ``max_disparity_after``,
        ``accuracy_before`` / ``accuracy_after`` (on all validation rows), ``budget``, ``spent``.
        The ``_after`` values are NaN for a plan (nothing acquired).
    method : str
    acquired : bool
        Whether examples were acquired (``acquire=`` given) or only planned.
    findings : tuple of Finding
    meta : dict
        Settings: ``lam``, ``T``, ``cost``, ``sizes``, ``n_repeats``, ``estimator``, ``slice_by``,
        and ``left_out``: the slices too small to plan for, with their training and validation
        rows.

    See Also
    --------
    slice_tuner : computes it.
    allocate_budget : the allocation alone, from fitted curves.

    Examples
    --------
    >>> from raikit.data import slice_tuner
    >>> from raikit.datasets import make_fairness_synthetic
    >>> ds = make_fairness_synthetic(600, random_state=0)
    >>> r = slice_tuner(ds, budget=100, sizes=(0.5, 1.0), n_repeats=1, random_state=0)
    >>> type(r).__name__, int(r.allocation.sum())
    ('SliceTunerResult', 100)
    """

    slices: pd.DataFrame
    curve_points: pd.DataFrame
    curves: pd.DataFrame
    rounds: pd.DataFrame
    overall: dict
    method: str
    acquired: bool
    findings: tuple = field(default_factory=tuple)
    meta: dict = field(default_factory=dict)

    @property
    def allocation(self) -> pd.Series:
        """Examples per slice label: acquired (after acquisition) or planned (a plan)."""
        column = "acquired" if self.acquired else "allocation"
        values = self.slices[column].to_numpy()
        return pd.Series(values.astype(np.int64), index=list(self.slices["slice"]), name=column)

    @property
    def summary(self) -> str:
        o = self.overall
        plan = ", ".join(
            f"{row.slice}: {int(row.allocation)}" for row in self.slices.itertuples(index=False)
        )
        text = f"Slice Tuner ({self.method}) plan for a budget of {o['budget']:g}: {plan}"
        if not self.acquired:
            return (
                text + f". Current loss {o['loss_before']:.3f}, average loss disparity "
                f"{o['disparity_before']:.3f}."
            )
        return (
            text + f". Loss {o['loss_before']:.3f} -> {o['loss_after']:.3f}, average loss "
            f"disparity {o['disparity_before']:.3f} -> {o['disparity_after']:.3f}, accuracy "
            f"{o['accuracy_before']:.3f} -> {o['accuracy_after']:.3f}."
        )

    def figures(self) -> list:
        from raikit.data._slice_tuner_figures import slice_tuner_figures

        return slice_tuner_figures(self)


# --------------------------------------------------------------------------- data handling
def _encode_slices(frame: pd.DataFrame, columns: list[str], *, what: str):
    """The :class:`~raikit._grouping.GroupEncoding` of the slice columns (none missing)."""
    if not columns:
        raise ColumnError("attributes must name at least one column.")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ColumnError(
            f"Slice attribute {missing[0]!r} is not in the {what} data; its columns are "
            f"{list(frame.columns)[:20]}. Pass attributes= with existing column names."
        )
    for column in columns:
        values = frame[column]
        if values.isna().any():
            raise DataError(
                f"Slice attribute {column!r} of the {what} data has {int(values.isna().sum())} "
                f"missing value(s); fill them (e.g. with {MISSING!r}) or drop those rows."
            )
    return encode_groups(frame[columns])


def _labels_from_columns(frame: pd.DataFrame, columns: list[str], *, what: str) -> pd.Series:
    """Slice name of every row: the ``label`` of its :class:`~raikit._grouping.SliceKey`
    (the values of ``columns``, ``"F & A"``)."""
    encoding = _encode_slices(frame, columns, what=what)
    return pd.Series(encoding.row_labels(), index=frame.index, name="slice", dtype=object)


def _slice_keys(frame: pd.DataFrame, columns: list[str]) -> dict[str, str]:
    """Slice name -> the slice's one text form (``"sex=F & race=A"``), for tables and findings."""
    encoding = _encode_slices(frame, columns, what="training")
    return {key.label: key.text for key in encoding.keys()}


def _default_estimator():
    """Logistic regression on standardised numbers and one-hot categories."""
    from sklearn.compose import ColumnTransformer, make_column_selector
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    columns = ColumnTransformer(
        [
            ("numbers", StandardScaler(), make_column_selector(dtype_include=np.number)),
            (
                "categories",
                OneHotEncoder(handle_unknown="ignore"),
                make_column_selector(dtype_exclude=np.number),
            ),
        ]
    )
    return make_pipeline(columns, LogisticRegression(max_iter=2000))


def _seeded(estimator, seed: int):
    """An unfitted clone with every ``random_state`` parameter set to ``seed``."""
    from sklearn.base import clone

    model = clone(estimator)
    keys = [k for k in model.get_params(deep=True) if k.split("__")[-1] == "random_state"]
    if keys:
        model.set_params(**dict.fromkeys(keys, seed))
    return model


@dataclass
class _Data:
    """Training rows as the tuner sees them: features, labels, slice codes."""

    frame: pd.DataFrame  # every column (what the acquirer returns is appended to it)
    codes: np.ndarray  # slice code per row (-1: outside every slice)


# --------------------------------------------------------------------------- inputs
def _is_sizes(value) -> bool:
    """a sequence of at least two distinct shares in (0, 1]"""
    try:
        shares = sorted({float(s) for s in value})
    except (TypeError, ValueError):
        return False
    return len(shares) >= 2 and shares[0] > 0 and shares[-1] <= 1


def _is_classifier(value) -> bool:
    """an unfitted scikit-learn classifier with fit and predict_proba"""
    return hasattr(value, "fit") and hasattr(value, "predict_proba")


def _is_dataset(value) -> bool:
    """a raikit Dataset"""
    from raikit.dataset import Dataset

    return isinstance(value, Dataset)


def _frame_of(data, what: str) -> pd.DataFrame:
    from raikit.dataset import Dataset

    frame = data.frame if isinstance(data, Dataset) else data
    if not isinstance(frame, pd.DataFrame):
        raise ParameterError(
            f"slice_tuner(): {what} must be a raikit Dataset or a pandas DataFrame, got "
            f"{type(data).__name__}."
        )
    return frame.reset_index(drop=True)


def _resolve(ds, attributes, validation):
    """Frame, target, feature columns, slice columns and slice labels of the training rows, and
    the validation frame and labels (None when the validation rows are to be held out)."""
    frame, target = ds.frame.reset_index(drop=True), ds.target
    if frame[target].isna().any():
        raise DataError(
            f"Target {target!r} has {int(frame[target].isna().sum())} missing value(s); drop "
            f"those rows first."
        )
    if attributes is None:
        attributes = list(ds.sensitive_names)
    columns = [attributes] if isinstance(attributes, str) else list(attributes)
    labels = _labels_from_columns(frame, columns, what="training")
    if target in columns:
        raise ColumnError(f"The target {target!r} cannot also be a slice attribute.")
    features = list(ds.feature_names)
    if not features:
        raise DataError("No feature columns are left after removing the target and slices.")
    if validation is None:
        return frame, target, features, columns, labels, None, None
    vframe = _frame_of(validation, "validation")
    absent = [c for c in [*features, target] if c not in vframe.columns]
    if absent:
        raise ColumnError(
            f"Column {absent[0]!r} is missing from the validation data; it needs the "
            f"training columns."
        )
    return (
        frame,
        target,
        features,
        columns,
        labels,
        vframe,
        _labels_from_columns(vframe, columns, what="validation"),
    )


def _hold_out(frame, labels, target, validation_size: float, rng):
    """Hold out ``validation_size`` of every slice (stratified by slice and label)."""
    from sklearn.model_selection import train_test_split

    strata = labels.astype(str) + "|" + frame[target].astype(str)
    if strata.value_counts().min() < 2:
        strata = labels
    seed = int(rng.integers(2**31))
    if strata.value_counts().min() < 2:
        # A slice with a single row cannot be split; it is too small to plan for anyway:
        # pool such rows into one stratum so that the others stay stratified.
        rare = strata.map(strata.value_counts()) < 2
        strata = strata.where(~rare, "(rare)") if rare.sum() >= 2 else None
    try:
        train_idx, valid_idx = train_test_split(
            np.arange(len(frame)), test_size=validation_size, stratify=strata, random_state=seed
        )
    except ValueError as error:
        raise DataError(
            f"Cannot hold out validation rows from every slice: {error}. Pass validation= "
            f"or use more rows per slice."
        ) from error
    train_idx, valid_idx = np.sort(train_idx), np.sort(valid_idx)
    return (
        frame.iloc[train_idx].reset_index(drop=True),
        labels.iloc[train_idx].reset_index(drop=True),
        frame.iloc[valid_idx].reset_index(drop=True),
        labels.iloc[valid_idx].reset_index(drop=True),
    )


def _costs(cost, slice_names: list[str]) -> np.ndarray:
    if cost is None:
        return np.ones(len(slice_names))
    if not isinstance(cost, dict):
        return np.full(len(slice_names), float(cost))
    unknown = [str(key) for key in cost if str(key) not in slice_names]
    if unknown:
        raise ParameterError(
            f"slice_tuner(): cost names slice(s) {unknown} that are not in the data; the "
            f"slices are {slice_names}."
        )
    lookup = {str(key): value for key, value in cost.items()}
    try:
        values = np.array([float(lookup.get(name, 1.0)) for name in slice_names])
    except (TypeError, ValueError) as error:
        raise ParameterError(f"slice_tuner(): every cost must be a number, got {cost}.") from error
    if not np.isfinite(values).all() or (values <= 0).any():
        raise ParameterError(
            f"slice_tuner(): every cost must be a positive number, got {values.tolist()}."
        )
    return values


def _supply(available, acquire, slice_names: list[str]) -> np.ndarray:
    """Examples that can still be had per slice: ``available=``, the acquirer's
    ``remaining()``, or unlimited."""
    if available is None and acquire is not None and callable(getattr(acquire, "remaining", None)):
        available = acquire.remaining()
    if available is None:
        return np.full(len(slice_names), np.inf)
    lookup = {str(key): value for key, value in dict(available).items()}
    try:
        counts = np.array([lookup.get(name, 0) for name in slice_names], dtype=float)
    except (TypeError, ValueError) as error:
        raise ParameterError(
            f"slice_tuner(): available counts must be numbers, got {lookup}."
        ) from error
    if np.isnan(counts).any() or (counts < 0).any():
        raise ParameterError(
            f"slice_tuner(): available counts must be non-negative numbers, got {lookup}."
        )
    return np.floor(counts)


@dataclass
class _Slices:
    """The planned slices: names, codes of the training and validation rows, sizes, costs."""

    names: list
    codes: np.ndarray  # per training row (-1: outside every planned slice)
    vcodes: np.ndarray  # per validation row
    counts: np.ndarray
    vcounts: np.ndarray
    cost: np.ndarray
    left_out: dict
    described: str
    need: int

    @property
    def k(self) -> int:
        return len(self.names)


def _planned_slices(labels, vlabels, cost, sizes) -> _Slices:
    """Code the slices; leave out those too small for a learning curve (or without a validation
    row to measure their loss) unless fewer than two would remain."""
    names = sorted(pd.unique(labels))  # a fixed order, whatever the row order
    index = {name: i for i, name in enumerate(names)}
    codes = labels.map(index).to_numpy(dtype=np.int64)
    vcodes = vlabels.map(index).fillna(-1).to_numpy(dtype=np.int64)
    k = len(names)
    if k < 2:
        raise DataError(
            f"Slice Tuner needs at least two slices, got {names}; slice by an attribute with "
            f"more values."
        )
    counts = np.bincount(codes, minlength=k)
    vcounts = np.bincount(vcodes[vcodes >= 0], minlength=k)
    costs = _costs(cost, names)  # checks the cost names against every slice
    need = max(_MIN_SLICE_ROWS, int(np.ceil(_MIN_SUBSAMPLE / sizes[0])))
    small = np.flatnonzero((counts < need) | (vcounts < 1))
    left_out = {
        names[s]: {"training_rows": int(counts[s]), "validation_rows": int(vcounts[s])}
        for s in small
    }
    described = ", ".join(
        f"{name!r} ({rows['training_rows']} training, {rows['validation_rows']} validation row(s))"
        for name, rows in left_out.items()
    )
    if k - small.size < 2:
        raise DataError(
            f"Slice Tuner needs at least two slices with {need} training rows and a validation "
            f"row each; too small: {described}. Add rows, merge small slices (slice by fewer "
            f"attributes), or pass validation rows."
        )
    if small.size:
        kept = np.setdiff1d(np.arange(k), small)
        remap = np.full(k, -1, dtype=np.int64)
        remap[kept] = np.arange(kept.size)
        codes = remap[codes]  # -1: outside every planned slice (the rows still train)
        vcodes = np.where(vcodes >= 0, remap[np.maximum(vcodes, 0)], -1)
        names = [names[s] for s in kept]
        counts, vcounts, costs = counts[kept], vcounts[kept], costs[kept]
    return _Slices(names, codes, vcodes, counts, vcounts, costs, left_out, described, need)


def _check_labels(frame, vframe, target) -> None:
    classes = np.unique(frame[target].to_numpy())
    if classes.size < 2:
        raise DataError(f"Target {target!r} has a single class in the training rows.")
    if vframe[target].isna().any():
        raise DataError(
            f"The validation data has {int(vframe[target].isna().sum())} row(s) without a "
            f"label in {target!r}; drop them first."
        )
    unseen = ~np.isin(vframe[target].to_numpy(), classes)
    if unseen.any():
        raise DataError(
            f"The validation data has label(s) {sorted(map(str, set(vframe[target][unseen])))} "
            f"never seen in training; log loss is undefined for them."
        )


# --------------------------------------------------------------------------- acquisition rounds
def _acquire(acquire, alloc, slice_names, all_columns, columns, target, features, findings):
    """Call ``acquire`` for every slice with a positive allocation and check what it returns."""
    parts, got = [], np.zeros(len(slice_names), dtype=np.int64)
    needed = [*features, target]
    for s, name in enumerate(slice_names):
        if alloc[s] <= 0:
            continue
        asked = f"acquire({name!r}, {int(alloc[s])})"
        rows = acquire(name, int(alloc[s]))
        if not isinstance(rows, pd.DataFrame):
            raise DataError(
                f"{asked} returned {type(rows).__name__}; it must return a DataFrame with the "
                f"training columns."
            )
        absent = [c for c in needed if c not in rows.columns]
        if absent:
            raise ColumnError(
                f"{asked} returned rows without column {absent[0]!r}; new rows need the "
                f"training columns {needed}."
            )
        if len(rows) > alloc[s]:
            raise DataError(f"{asked} returned {len(rows)} rows, more than asked for.")
        if rows[target].isna().any():
            raise DataError(
                f"{asked} returned {int(rows[target].isna().sum())} row(s) without a label in "
                f"{target!r}; every acquired row needs its label."
            )
        got_labels = _labels_from_columns(rows, columns, what="acquired")
        wrong = got_labels[got_labels != name]
        if len(wrong):
            raise DataError(
                f"{asked} returned {len(wrong)} row(s) of another slice (e.g. {wrong.iloc[0]!r})."
            )
        if len(rows) < alloc[s]:
            findings.append(
                Finding(
                    "warning",
                    f"Fewer examples than planned for {name}",
                    f"{len(rows)} of the {int(alloc[s])} examples asked for arrived.",
                    slice=name,
                )
            )
        keep = [c for c in all_columns if c in rows.columns]
        parts.append(rows[keep].reset_index(drop=True))
        got[s] = len(rows)
    new_rows = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    return new_rows, got


@dataclass
class _Settings:
    """The allocation settings of one tuning run (validated at the boundary)."""

    budget: float
    lam: float
    method: str
    T: float
    T_growth: str
    max_rounds: int


@dataclass
class _Progress:
    """What the acquisition rounds have done so far."""

    remaining: float
    supply: np.ndarray
    total_alloc: np.ndarray
    received: np.ndarray
    rounds: list = field(default_factory=list)
    point_frames: list = field(default_factory=list)
    curve_frames: list = field(default_factory=list)
    short_of_supply: bool = False
    first_fit: pd.DataFrame | None = None
    before: dict | None = None


def _this_round(s: _Settings, state: _Progress, fits, n_now, cost, *, limited, round_):
    """The round's unrestricted plan, and the allocation within the imbalance limit."""
    if s.method in ("uniform", "proportional"):
        planned = _baseline_allocation(s.method, n_now, cost, state.remaining, state.supply)
    else:
        a, b = fits["a"].to_numpy(), fits["b"].to_numpy()
        planned = allocate_budget(
            a, b, n=n_now, budget=state.remaining, cost=cost, lam=s.lam, available=state.supply
        )
    if not limited:  # a plan shows the whole unrestricted budget
        return planned, planned.copy(), float("nan")
    limit = _round_limit(s.T, s.T_growth, round_)
    return planned, _limit_imbalance(n_now, planned, limit), limit


def _run_rounds(s: _Settings, context, train: _Data, sl: _Slices, acquire, frame_columns, how):
    """Fit the curves, allocate and (with ``acquire``) acquire, round after round.

    ``how`` holds the slice columns, target and features the acquired rows are checked against.
    Returns the rounds' progress, the training rows at the end and the findings.
    """
    k, cost = sl.k, sl.cost
    iterative = s.method == "iterative"
    state = _Progress(
        remaining=s.budget,
        supply=_supply(how["available"], acquire, sl.names),
        total_alloc=np.zeros(k, dtype=np.int64),
        received=np.zeros(k, dtype=np.int64),
    )
    findings: list[Finding] = []
    acquired: list[pd.DataFrame] = []
    for round_ in range(s.max_rounds if iterative and acquire is not None else 1):
        n_now = np.bincount(train.codes[train.codes >= 0], minlength=k).astype(float)
        full = context.evaluate(train)
        if state.before is None:
            state.before = full
        points, fits = context.curves(train, sl.names, round_, full)
        state.point_frames.append(points)
        state.curve_frames.append(fits)
        state.first_fit = fits if state.first_fit is None else state.first_fit
        if float(np.dot(cost, state.supply)) < state.remaining - 1e-9:
            state.short_of_supply = True
        if not ((state.supply > 0) & (cost <= state.remaining + 1e-9)).any():
            break  # nothing left that the budget can buy
        planned, alloc, limit = _this_round(
            s, state, fits, n_now, cost, limited=iterative and acquire is not None, round_=round_
        )
        if limit == limit and alloc.sum() == 0:
            findings.append(
                Finding(
                    "warning",
                    "Imbalance limit stopped the acquisition",
                    f"Round {round_ + 1}: not even one example fits within the imbalance "
                    f"limit T={limit:g}; {state.remaining:g} of the budget is left. Raise T.",
                )
            )
            break
        got = np.zeros(k, dtype=np.int64)
        if acquire is not None:
            new_rows, got = _acquire(
                acquire, alloc, sl.names, frame_columns, *how["checked"], findings
            )
            if len(new_rows):
                acquired.append(new_rows)
                train = _Data(
                    pd.concat([train.frame, new_rows], ignore_index=True),
                    np.r_[train.codes, np.repeat(np.arange(k), got)],
                )
        state.rounds += [
            {
                "round": round_,
                "slice": name,
                "n_start": int(n_now[i]),
                "planned": int(planned[i]),
                "allocation": int(alloc[i]),
                "acquired": int(got[i]) if acquire is not None else np.nan,
                "imbalance_before": imbalance_ratio(n_now),
                "imbalance_after": imbalance_ratio(n_now + alloc),
                "limit": limit,
            }
            for i, name in enumerate(sl.names)
        ]
        state.total_alloc += alloc
        state.received += got
        state.supply = np.maximum(state.supply - got, 0.0)
        state.remaining -= float(np.dot(cost, got if acquire is not None else alloc))
        if not iterative or state.remaining < cost.min() - 1e-9:
            break
        if acquire is not None and got.sum() == 0:
            break  # nothing arrived: the curves would not change
    return state, train, findings


def _budget_findings(s: _Settings, state: _Progress, cost, k: int, acquired: bool) -> list:
    if state.short_of_supply:
        spent = np.dot(cost, state.received if acquired else state.total_alloc)
        return [
            Finding(
                "warning",
                "Not enough examples available to spend the budget",
                f"The slices had too few examples left to spend the budget {s.budget:g}; "
                f"{spent:g} was {'acquired' if acquired else 'planned'}. Every slice was asked "
                f"for at most what it had left; add rows to the pool (or lower the budget).",
            )
        ]
    if s.method == "iterative" and acquired and state.remaining >= cost.min() - 1e-9:
        return [
            Finding(
                "warning",
                "Budget left after the last round",
                f"{state.remaining:g} of the budget {s.budget:g} was not spent after "
                f"{len(state.rounds) // k} round(s); raise max_rounds or T.",
            )
        ]
    return []


# --------------------------------------------------------------------------- the check
@recorded("data.slice_tuner")
@validate_params(
    budget=Interval(float, 0, None, closed="neither"),
    attributes=[str, list, tuple, None],
    estimator=[_is_classifier, None],
    validation=[pd.DataFrame, _is_dataset, None],
    acquire=[CALLABLE, None],
    available=[dict, pd.Series, None],
    cost=[Interval(float, 0, None, closed="neither"), dict, None],
    lam=Interval(float, 0, None),
    method=Options(*_METHODS),
    T=Interval(float, 0, None, closed="neither"),
    T_growth=Options("linear", "constant", "double"),
    sizes=_is_sizes,
    n_repeats=Interval(int, 1, None),
    validation_size=Interval(float, 0, 1, closed="neither"),
    max_rounds=Interval(int, 1, None),
    ci=CI,
    progress=[CALLABLE, None],
    random_state=RANDOM_STATE,
)
def slice_tuner(
    data,
    *,
    budget: float,
    attributes=None,
    estimator=None,
    validation=None,
    acquire: Callable[[str, int], pd.DataFrame] | None = None,
    available=None,
    cost: dict | float | None = None,
    lam: float = 1.0,
    method: str = "one-shot",
    T: float = 1.0,
    T_growth: str = "linear",
    sizes: Sequence[float] = (0.3, 0.475, 0.65, 0.825, 1.0),
    n_repeats: int = 3,
    validation_size: float = 0.3,
    max_rounds: int = 10,
    ci: float = 0.95,
    progress: Callable[[int, int], None] | None = None,
    random_state=None,
    ledger=None,
) -> SliceTunerResult:
    """Slice Tuner: how many examples to acquire per slice (and, with ``acquire``, acquire them).

    Fits a learning curve per slice, then allocates the budget by the convex problem of the
    module docstring. Without ``acquire`` the result is the plan; with it, the examples are
    acquired (in rounds for ``method="iterative"``), the model is retrained and the losses
    before and after are reported.

    Parameters
    ----------
    data : Dataset
        Labelled training rows (classification target); the model sees its features.
    budget : float
        Total acquisition cost to spend (> 0).
    attributes : str or list of str, optional
        The column(s) whose value combinations are the slices (labels join the values with
        ``" & "``). Default: the intersection of the Dataset's sensitive attributes. A slice with
        fewer than 20 training rows (after the validation hold-out) or no validation row cannot
        carry a learning curve: it is left out of the plan and reported (its rows still train
        the model); at least two slices must remain.
    estimator : unfitted scikit-learn classifier, optional
        Must have ``predict_proba``; cloned for every fit and given the feature columns as a
        DataFrame. Default: logistic regression on standardised numeric and one-hot categorical
        features (``max_iter=2000``).
    validation : Dataset or DataFrame, optional
        Rows on which losses are measured (same columns). Default: ``validation_size`` of each
        slice's rows are held out from ``data``.
    acquire : callable, optional
        ``acquire(slice_label, n) -> DataFrame`` returning ``n`` new labelled rows of that slice
        with the training columns (e.g. a :class:`PoolAcquirer`, whose ``drawn`` holds every row
        it handed out). Fewer rows are accepted (and reported); more, or rows of another slice,
        are an error. When it also has a ``remaining()`` method (as :class:`PoolAcquirer` has),
        no slice is asked for more than it has left. Default: plan only.
    available : dict or Series, optional
        Most examples that can be acquired per slice label, e.g. the rows of each slice in an
        unlabelled pool (``PoolAcquirer(pool, attributes).remaining()``); slices not named have
        none. The plan never asks a slice for more, and reports budget it cannot spend.
        Default: unlimited (or ``acquire.remaining()``).
    cost : dict or float, optional
        Cost of one example, per slice label (``{"Female & Black": 2, ...}``; missing slices
        cost 1) or one number for all. Default 1.
    lam : float, default 1.0
        Weight of the unfairness term of the objective (see the module docstring).
    method : {"one-shot", "iterative", "uniform", "proportional"}, default "one-shot"
        ``one-shot`` fits the curves once and allocates the whole budget; ``iterative`` acquires
        in rounds, refitting the curves after each, each round changing the imbalance ratio by
        at most ``T`` (without ``acquire``, its plan is the first round's unrestricted
        allocation). ``uniform`` (same number per slice) and ``proportional`` (to current slice
        sizes) are the paper's baselines, reported the same way.
    T : float, default 1.0
        Iterative mode: the largest change of the imbalance ratio (largest / smallest slice
        size) allowed in the first round.
    T_growth : {"linear", "constant", "double"}, default "linear"
        How the limit grows over rounds: ``T * (r + 1)`` in round ``r`` (the paper's "moderate"
        strategy), ``T`` throughout ("conservative") or ``T * 2 ** r`` ("aggressive").
    sizes : sequence of float, default (0.3, 0.475, 0.65, 0.825, 1.0)
        Shares of each slice's training rows used for the curve points (the other slices keep
        all their rows).
    n_repeats : int, default 3
        Subsamples per size (and seeds per before/after fit of a randomised estimator): the
        curve points are their means, with intervals at confidence level ``ci``.
    validation_size : float, default 0.3
        When no validation data is given, the share of each slice's rows held out.
    max_rounds : int, default 10
        Iterative mode: most rounds.
    ci : float, default 0.95
        Confidence level of the curve points' t intervals over the ``n_repeats`` subsamples.
    progress : callable, optional
        ``progress(done, total)`` after every model fit.
    random_state : int, Generator or None, default None
        Seed of the subsamples, the held-out split and the estimators' own seeds; ``None``
        draws a fresh seed, recorded in the ledger.
    ledger : raikit.ledger.Ledger or path, optional
        Record the result as evidence (inside :func:`raikit.track` it is recorded anyway).

    Returns
    -------
    SliceTunerResult
        ``result.allocation`` is the plan (or what was acquired) per slice.

    Raises
    ------
    DataError
        A slice attribute or the target has missing values; fewer
        than two slices can be planned for; ``acquire`` returned unusable rows.
    ColumnError
        ``data`` has no target, or a slice attribute is missing.
    ParameterError
        ``data`` is not a Dataset, or a parameter is out of its domain (``budget=0``,
        ``method="greedy"``, a cost naming an unknown slice, a budget below the cheapest
        example...).

    See Also
    --------
    raikit.data.allocate_budget : the allocation alone.
    raikit.evaluate.learning_curve : learning curves per group.

    Examples
    --------
    >>> from raikit.data import slice_tuner
    >>> from raikit.datasets import load_adult
    >>> adult = load_adult()
    >>> frame = adult.frame[adult.frame["race"].isin(["White", "Black"])]
    >>> frame = frame.groupby(["race", "sex"], observed=True).sample(200, random_state=0)
    >>> result = slice_tuner(adult.replace(frame.reset_index(drop=True)), budget=100,
    ...                      attributes=["race", "sex"], sizes=(0.5, 0.75, 1.0), n_repeats=2,
    ...                      random_state=0)
    >>> int(result.allocation.sum())
    100
    """
    from threadpoolctl import threadpool_limits

    ds = check_dataset(data, need=["target"], caller="slice_tuner")
    settings = _Settings(float(budget), float(lam), method, float(T), T_growth, int(max_rounds))
    sizes = sorted({float(s) for s in sizes})
    # Many small fits: one BLAS thread each is several times faster than threads that
    # busy-wait for one another on small matrices.
    with threadpool_limits(limits=1, user_api="blas"):
        return _tune(
            ds,
            settings,
            attributes=attributes,
            estimator=_default_estimator() if estimator is None else estimator,
            validation=validation,
            acquire=acquire,
            available=available,
            cost=cost,
            sizes=sizes,
            n_repeats=int(n_repeats),
            validation_size=float(validation_size),
            ci=ci,
            progress=progress,
            rng=rng_from(random_state),
        )


def _tune(
    ds,
    s: _Settings,
    *,
    attributes,
    estimator,
    validation,
    acquire,
    available,
    cost,
    sizes,
    n_repeats,
    validation_size,
    ci,
    progress,
    rng,
) -> SliceTunerResult:
    frame, target, features, columns, labels, vframe, vlabels = _resolve(ds, attributes, validation)
    keys = _slice_keys(frame, columns)
    if vframe is None:
        frame, labels, vframe, vlabels = _hold_out(frame, labels, target, validation_size, rng)
    sl = _planned_slices(labels, vlabels, cost, sizes)
    if s.budget < sl.cost.min():
        raise ParameterError(
            f"slice_tuner(): the budget ({s.budget:g}) is smaller than the cheapest example "
            f"({sl.cost.min():g}); nothing can be acquired. Raise the budget."
        )
    _check_labels(frame, vframe, target)
    context = _Context(
        estimator=estimator,
        features=features,
        target=target,
        vX=vframe[features],
        vy=vframe[target].to_numpy(),
        vcodes=sl.vcodes,
        k=sl.k,
        sizes=sizes,
        n_repeats=n_repeats,
        rng=rng,
        progress=progress,
        randomised=_has_random_state(estimator),
        ci=ci,
    )
    findings: list[Finding] = []
    if sl.left_out:
        findings.append(
            Finding(
                "warning",
                f"{len(sl.left_out)} slice(s) too small to plan for",
                f"{sl.described}: a learning curve needs at least {sl.need} training rows and a "
                f"validation row, so these slices are left out of the plan (their rows still "
                f"train the model). Acquire rows of them first, then plan again.",
            )
        )
    how = {"available": available, "checked": (columns, target, features)}
    state, train, round_findings = _run_rounds(
        s, context, _Data(frame, sl.codes), sl, acquire, frame.columns, how
    )
    findings += round_findings
    findings += _budget_findings(s, state, sl.cost, sl.k, acquire is not None)
    return _result(
        s,
        sl,
        state,
        after=context.evaluate(train) if acquire is not None else None,
        acquired=acquire is not None,
        settings={
            "sizes": sizes,
            "n_repeats": n_repeats,
            "columns": columns,
            "ci": ci,
            "keys": keys,
        },
        estimator=estimator,
        findings=findings,
    )


def _overall(before: dict, after: dict | None, budget: float, spent: float) -> dict:
    """The paper's measures before and after: mean loss, average and largest loss disparity."""

    def measures(values):
        mean = float(np.mean(values))
        gaps = np.abs(values - mean)
        return mean, float(gaps.mean()), float(gaps.max())

    loss_b, disp_b, max_b = measures(before["loss"])
    if after is not None:
        loss_a, disp_a, max_a = measures(after["loss"])
        acc_a = after["overall_accuracy"]
    else:
        loss_a = disp_a = max_a = acc_a = float("nan")
    return {
        "loss_before": loss_b,
        "loss_after": loss_a,
        "disparity_before": disp_b,
        "disparity_after": disp_a,
        "max_disparity_before": max_b,
        "max_disparity_after": max_a,
        "accuracy_before": before["overall_accuracy"],
        "accuracy_after": acc_a,
        "budget": budget,
        "spent": spent,
    }


def _curve_findings(first_fit: pd.DataFrame) -> list[Finding]:
    findings = []
    for row in first_fit.itertuples(index=False):
        if row.clipped:
            findings.append(
                Finding(
                    "warning",
                    f"Flat learning curve for {row.slice}",
                    "The validation loss did not fall with more rows of this slice (the fitted "
                    "exponent was negative and was set to 0), so the plan expects no gain from "
                    "acquiring its examples. More repeats (n_repeats) or validation rows give a "
                    "steadier curve.",
                    slice=row.slice,
                )
            )
        elif row.r2 == row.r2 and row.r2 < 0.5:
            findings.append(
                Finding(
                    "warning",
                    f"Noisy learning curve for {row.slice}",
                    f"The power law explains only {row.r2:.0%} of the (log) loss variation "
                    f"(a = {row.a:.3f} ± {row.a_se:.3f}); treat its allocation with care.",
                    slice=row.slice,
                )
            )
    return findings


def _outcome_findings(overall: dict) -> list[Finding]:
    findings = []
    if overall["disparity_after"] > overall["disparity_before"]:
        findings.append(
            Finding(
                "warning",
                "Loss disparity rose",
                f"Average loss disparity {overall['disparity_before']:.3f} -> "
                f"{overall['disparity_after']:.3f} after acquisition; a larger lam weights "
                f"fairness more.",
            )
        )
    if overall["accuracy_after"] < overall["accuracy_before"] - 0.01:
        findings.append(
            Finding(
                "warning",
                "Accuracy fell",
                f"Validation accuracy {overall['accuracy_before']:.3f} -> "
                f"{overall['accuracy_after']:.3f}.",
            )
        )
    return findings


def _result(s, sl, state, *, after, acquired, settings, estimator, findings) -> SliceTunerResult:
    first_fit, before = state.first_fit, state.before
    a, b = first_fit["a"].to_numpy(), first_fit["b"].to_numpy()
    n_before = sl.counts.astype(float)
    n_after = n_before + (state.received if acquired else state.total_alloc)
    nan = np.full(sl.k, np.nan)
    table = pd.DataFrame(
        {
            "slice": sl.names,
            "key": [settings["keys"][name] for name in sl.names],  # per slice, not per row
            "n_before": n_before.astype(np.int64),
            "n_validation": sl.vcounts.astype(np.int64),
            "a": a,
            "b": b,
            "a_se": first_fit["a_se"].to_numpy(),
            "b_se": first_fit["b_se"].to_numpy(),
            "r2": first_fit["r2"].to_numpy(),
            "cost": sl.cost,
            "allocation": state.total_alloc.astype(np.int64),
            "acquired": state.received.astype(float) if acquired else nan,
            "n_after": n_after.astype(np.int64),
            "predicted_loss_before": b * n_before**-a,
            "predicted_loss_after": b * n_after**-a,
            "loss_before": before["loss"],
            "loss_after": after["loss"] if after is not None else nan,
            "accuracy_before": before["accuracy"],
            "accuracy_after": after["accuracy"] if after is not None else nan,
        }
    )
    overall = _overall(before, after, s.budget, s.budget - state.remaining)
    worst = int(np.argmax(before["loss"]))
    findings = [
        *findings,
        Finding(
            "info",
            f"Highest loss: {sl.names[worst]}",
            f"Validation log loss {before['loss'][worst]:.3f} against a mean of "
            f"{overall['loss_before']:.3f} over slices; {int(state.total_alloc[worst])} new "
            f"example(s) planned for it.",
            slice=sl.names[worst],
        ),
        *_curve_findings(first_fit),
        *(_outcome_findings(overall) if after is not None else []),
    ]
    # a finding names its slice by the one text form, as every other check's findings do
    findings = [
        dataclasses.replace(f, slice=settings["keys"][f.slice])
        if f.slice in settings["keys"]
        else f
        for f in findings
    ]
    rounds = pd.DataFrame(state.rounds)
    meta = {
        "lam": s.lam,
        "T": s.T,
        "T_growth": s.T_growth,
        "sizes": settings["sizes"],
        "n_repeats": settings["n_repeats"],
        "ci": settings["ci"],
        "estimator": repr(estimator),
        "slice_by": list(settings["columns"]),
        "left_out": sl.left_out,
        "rounds": int(rounds["round"].max()) + 1 if len(rounds) else 0,
    }
    return SliceTunerResult(
        slices=table,
        curve_points=pd.concat(state.point_frames, ignore_index=True),
        curves=pd.concat(state.curve_frames, ignore_index=True),
        rounds=rounds,
        overall=overall,
        method=s.method,
        acquired=acquired,
        findings=tuple(findings),
        meta=meta,
    )


def _has_random_state(estimator) -> bool:
    try:
        params = estimator.get_params(deep=True)
    except Exception:  # not a scikit-learn estimator: treat it as deterministic
        return False
    return any(k.split("__")[-1] == "random_state" for k in params)


@dataclass
class _Context:
    """What every model fit of one tuning run shares: the estimator and the validation rows."""

    estimator: object
    features: list
    target: str
    vX: pd.DataFrame
    vy: np.ndarray
    vcodes: np.ndarray
    k: int
    sizes: list
    n_repeats: int
    rng: np.random.Generator
    progress: Callable | None
    randomised: bool
    ci: float = 0.95
    done: int = 0
    total: int = 0

    def _fit_losses(self, frame: pd.DataFrame, seed: int):
        """Fit on ``frame``; per-slice validation log loss and accuracy, and overall accuracy."""
        model = _seeded(self.estimator, seed) if self.randomised else _seeded(self.estimator, 0)
        y = frame[self.target].to_numpy()
        if np.unique(y).size < 2:
            raise DataError(
                "A training subsample has a single class; use larger sizes= or more rows."
            )
        model.fit(frame[self.features], y)
        proba = np.asarray(model.predict_proba(self.vX), dtype=float)
        classes = list(model.classes_)
        position = pd.Index(classes).get_indexer(self.vy)
        valid = position >= 0  # a label the subsample never saw gets probability eps
        p_true = np.full(len(self.vy), _EPS)
        p_true[valid] = proba[np.flatnonzero(valid), position[valid]]
        nll = -np.log(np.clip(p_true, _EPS, 1.0))
        correct = (np.asarray(classes, dtype=object)[proba.argmax(axis=1)] == self.vy).astype(float)
        inside = self.vcodes >= 0
        n = np.bincount(self.vcodes[inside], minlength=self.k)
        loss = np.bincount(self.vcodes[inside], weights=nll[inside], minlength=self.k) / n
        accuracy = np.bincount(self.vcodes[inside], weights=correct[inside], minlength=self.k) / n
        self.done += 1
        if self.progress:
            self.progress(self.done, max(self.total, self.done))
        return loss, accuracy, float(correct.mean())

    def curves(self, train: _Data, slice_names, round_, full: dict):
        """Learning-curve points of every slice and their power-law fits.

        ``full`` holds the fits on all of ``train`` (see :meth:`evaluate`): they are every slice's
        point at its full size, so that size costs no extra fit.
        """
        from raikit.metrics._stats import t_value

        self.total += self.k * (len(self.sizes) - 1) * self.n_repeats
        counts = np.bincount(train.codes[train.codes >= 0], minlength=self.k)
        rows_of = [np.flatnonzero(train.codes == s) for s in range(self.k)]
        others_of = [np.flatnonzero(train.codes != s) for s in range(self.k)]
        point_rows, fit_rows = [], []
        for s, name in enumerate(slice_names):  # a model fit per (slice, size, repeat)
            losses = np.empty((len(self.sizes), self.n_repeats))
            n_sub = np.maximum(np.round(np.asarray(self.sizes) * counts[s]).astype(int), 1)
            for i, size in enumerate(n_sub):
                if size >= counts[s]:  # the whole slice: the full fits (repeated if identical)
                    repeats = full["losses"][:, s]
                    losses[i] = np.resize(repeats, self.n_repeats)
                    continue
                for r in range(self.n_repeats):
                    chosen = self.rng.choice(rows_of[s], size=size, replace=False)
                    part = np.sort(np.r_[others_of[s], chosen])
                    seed = int(self.rng.integers(2**31))
                    loss, _, _ = self._fit_losses(train.frame.iloc[part], seed)
                    losses[i, r] = loss[s]
            mean = losses.mean(axis=1)
            std = losses.std(axis=1, ddof=1) if self.n_repeats > 1 else np.full(len(mean), np.nan)
            half = (
                t_value(self.ci, self.n_repeats - 1) * std / np.sqrt(self.n_repeats)
                if self.n_repeats > 1
                else np.full(len(mean), np.nan)
            )
            for i in range(len(n_sub)):
                point_rows.append(
                    {
                        "round": round_,
                        "slice": name,
                        "n": int(n_sub[i]),
                        "mean_loss": float(mean[i]),
                        "std": float(std[i]),
                        "lower": float(mean[i] - half[i]),
                        "upper": float(mean[i] + half[i]),
                        "n_repeats": self.n_repeats,
                    }
                )
            try:
                fit = fit_power_law(n_sub, np.maximum(mean, _EPS))
            except DataError as error:
                raise DataError(
                    f"Cannot fit a learning curve for slice {name!r} ({counts[s]} rows): {error}"
                ) from error
            fit_rows.append({"round": round_, "slice": name, **fit})
        return pd.DataFrame(point_rows), pd.DataFrame(fit_rows)

    def evaluate(self, train: _Data) -> dict:
        """Validation losses and accuracies of the estimator trained on all of ``train``."""
        repeats = self.n_repeats if self.randomised else 1
        self.total += repeats
        outs = [
            self._fit_losses(train.frame, int(self.rng.integers(2**31))) for _ in range(repeats)
        ]
        return {
            "losses": np.array([o[0] for o in outs]),
            "loss": np.mean([o[0] for o in outs], axis=0),
            "accuracy": np.mean([o[1] for o in outs], axis=0),
            "overall_accuracy": float(np.mean([o[2] for o in outs])),
        }
