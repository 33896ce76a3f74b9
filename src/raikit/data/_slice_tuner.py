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

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from raikit._errors import ColumnError, DataError, RaikitError
from raikit._result import Finding, Result

__all__ = [
    "PoolAcquirer",
    "SliceTuner",
    "SliceTunerResult",
    "allocate_budget",
    "fit_power_law",
]

_METHODS = ("one-shot", "iterative", "uniform", "proportional")
_MIN_SLICE_ROWS = 20  # fewer training rows than this cannot carry a learning curve
_MIN_SUBSAMPLE = 5  # the smallest subsample of a slice used for a curve point
_EPS = 1e-15  # probabilities are clipped to [eps, 1 - eps] before the log


# --------------------------------------------------------------------------- learning curves
def fit_power_law(sizes, losses, weights=None) -> dict:
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
        raise DataError(f"cost needs one value per slice ({k}), got shape {cost.shape}.")
    if not np.isfinite(cost).all() or (cost <= 0).any():
        raise DataError(f"Every slice's cost must be a positive number, got {cost.tolist()}.")
    if (a < 0).any() or (b <= 0).any() or (n <= 0).any():
        raise DataError("Power laws need a >= 0, b > 0 and current sizes n > 0.")
    budget = float(budget)
    if not np.isfinite(budget) or budget <= 0:
        raise DataError(f"budget must be a positive number, got {budget}.")
    return a, b, n, cost, budget


def _check_available(available, k: int) -> np.ndarray:
    """Most examples each slice can supply (``inf``: unlimited), as a float array."""
    if available is None:
        return np.full(k, np.inf)
    cap = np.asarray(available, dtype=float)
    if cap.shape != (k,) or np.isnan(cap).any() or (cap < 0).any():
        raise DataError(
            f"available needs one non-negative number (or inf) per slice ({k}), got "
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


def allocate_budget(
    a,
    b,
    n,
    *,
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

    Examples
    --------
    Two slices with the same curve but one has fewer examples: it gets most of the budget.

    >>> allocate_budget([0.5, 0.5], [1.0, 1.0], [100, 400], budget=300, lam=0.0).tolist()
    [300, 0]

    If only 120 examples of it can be had, the rest of the budget goes to the other slice.

    >>> allocate_budget(
    ...     [0.5, 0.5], [1.0, 1.0], [100, 400], budget=300, lam=0.0, available=[120, 1000]
    ... ).tolist()
    [120, 180]
    """
    from scipy.optimize import minimize

    a, b, n, cost, budget = _validate_allocation_inputs(a, b, n, budget, cost)
    lam = float(lam)
    if not np.isfinite(lam) or lam < 0:
        raise DataError(f"lam must be a non-negative number, got {lam}.")
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
    slices : str or list of str
        The column(s) whose values (joined with ``" & "``) name a row's slice, as in
        :class:`SliceTuner`.
    random_state : int or numpy Generator, optional
        Seed of the draws.

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

    def __init__(self, pool, slices, random_state=None) -> None:
        frame = pool.frame if hasattr(pool, "frame") and hasattr(pool, "target") else pool
        if not isinstance(frame, pd.DataFrame):
            raise DataError(
                f"pool must be a pandas DataFrame or a Dataset, got {type(pool).__name__}."
            )
        columns = [slices] if isinstance(slices, str) else list(slices)
        labels = _labels_from_columns(frame, columns, what="pool")
        self.pool = frame.reset_index(drop=True)
        self.slice_columns = columns
        self._labels = labels.reset_index(drop=True)
        self._used = np.zeros(len(frame), dtype=bool)
        self._rng = np.random.default_rng(random_state)

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
            raise DataError(f"Cannot acquire a negative number of rows ({n}).")
        available = np.flatnonzero((self._labels.to_numpy() == slice_label) & ~self._used)
        if n > available.size:
            raise DataError(
                f"The pool has only {available.size} row(s) left of slice {slice_label!r} but "
                f"{n} were asked for. Use a larger pool or a smaller budget (or a higher cost for "
                f"this slice)."
            )
        chosen = np.sort(self._rng.choice(available, size=n, replace=False))
        self._used[chosen] = True
        return self.pool.iloc[chosen].reset_index(drop=True)

    def draw(self, allocation) -> pd.DataFrame:
        """Draw the rows of a whole allocation: ``allocation[slice]`` rows of every slice.

        With an unlabelled pool, these are the rows to send for labelling after
        ``SliceTuner.plan(..., available=acquirer.remaining())``.

        Parameters
        ----------
        allocation : dict or Series
            Rows to draw per slice label (e.g. ``SliceTuner.allocation_``).

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
        One row per slice: ``slice``; ``n_before`` (training rows), ``n_validation``; the first
        round's power law ``a``, ``b`` with standard errors ``a_se``, ``b_se`` and ``r2``; ``cost``;
        ``allocation`` (examples to acquire; for the iterative mode, the total over rounds);
        ``acquired`` (examples actually received; NaN for a plan); ``n_after``;
        ``predicted_loss_before`` / ``predicted_loss_after`` (from the curve); measured validation
        ``loss_before`` / ``loss_after`` (log loss) and ``accuracy_before`` / ``accuracy_after``.
    curve_points : DataFrame
        The points the curves were fitted to: ``round``, ``slice``, ``n`` (slice training rows),
        ``mean_loss``, ``std``, ``lower`` / ``upper`` (95% t interval over repeats), ``n_repeats``.
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
        Whether examples were acquired (``run``) or only planned (``plan``).
    findings : tuple of Finding
    meta : dict
        Settings: ``lam``, ``T``, ``cost``, ``sizes``, ``n_repeats``, ``estimator``, ``slice_by``,
        and ``left_out``: the slices too small to plan for, with their training and validation
        rows.
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
def _labels_from_columns(frame: pd.DataFrame, columns: list[str], *, what: str) -> pd.Series:
    """Slice label of every row: the values of ``columns`` joined with ``" & "``."""
    if not columns:
        raise ColumnError("slices must name at least one column.")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ColumnError(
            f"Slice column {missing[0]!r} is not in the {what} data; its columns are "
            f"{list(frame.columns)[:20]}. Pass slices= with existing column names."
        )
    parts = []
    for column in columns:
        values = frame[column]
        if values.isna().any():
            raise DataError(
                f"Slice column {column!r} of the {what} data has {int(values.isna().sum())} "
                f"missing value(s); fill them (e.g. with '(missing)') or drop those rows."
            )
        parts.append(values.astype(str).to_numpy(dtype=object))
    joined = parts[0]
    for part in parts[1:]:
        joined = joined + " & " + part
    return pd.Series(joined, index=frame.index, name="slice", dtype=object)


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


class SliceTuner:
    """Selective data acquisition for accurate and fair models (Slice Tuner).

    Parameters
    ----------
    estimator : unfitted scikit-learn classifier, optional
        Must have ``predict_proba``; cloned for every fit and given the feature columns as a
        DataFrame. Default: logistic regression on standardised numeric and one-hot categorical
        features (``max_iter=2000``).
    slices : str, list of str, Series or None
        What cuts the rows into slices: a column, several columns (their intersection), or a Series
        of slice labels aligned with the training rows. ``None`` with a Dataset: the intersection of
        its sensitive attributes. A slice with fewer than 20 training rows (after the validation
        hold-out) or no validation row cannot carry a learning curve: it is left out of the plan
        and reported (its rows still train the model); at least two slices must remain.
    budget : float
        Total acquisition cost to spend (> 0).
    cost : dict or float, optional
        Cost of one example, per slice label (``{"Female & Black": 2, ...}``; missing slices cost 1)
        or one number for all. Default 1.
    lam : float, default 1.0
        Weight of the unfairness term of the objective (see the module docstring).
    method : {"one-shot", "iterative", "uniform", "proportional"}, default "one-shot"
        ``one-shot`` fits the curves once and allocates the whole budget; ``iterative`` acquires in
        rounds, refitting the curves after each, each round changing the imbalance ratio by at most
        ``T``. ``uniform`` (same number per slice) and ``proportional`` (to current slice sizes) are
        the paper's baselines, reported the same way.
    T : float, default 1.0
        Iterative mode: the largest change of the imbalance ratio (largest / smallest slice size)
        allowed in the first round.
    T_growth : {"linear", "constant", "double"}, default "linear"
        How the limit grows over rounds: ``T * (r + 1)`` in round ``r`` (the paper's "moderate"
        strategy), ``T`` throughout ("conservative") or ``T * 2 ** r`` ("aggressive").
    sizes : sequence of float, default (0.3, 0.475, 0.65, 0.825, 1.0)
        Shares of each slice's training rows used for the curve points (the other slices keep all
        their rows).
    n_repeats : int, default 3
        Subsamples per size (and seeds per before/after fit of a randomised estimator): the curve
        points are their means, with 95% intervals.
    validation_size : float, default 0.3
        When no validation data is given, the share of each slice's rows held out to measure
        losses.
    max_rounds : int, default 10
        Iterative mode: most rounds.
    random_state : int, optional
        Seed of the subsamples, the held-out split and the estimators' own seeds.

    Attributes
    ----------
    result_ : SliceTunerResult
        The last :meth:`plan` or :meth:`run` result.
    allocation_ : Series
        Examples to acquire per slice (the last plan, or the total acquired by :meth:`run`).
    acquired_ : DataFrame
        The rows received by :meth:`run` (empty after :meth:`plan`).
    train_after_ : DataFrame
        The training rows after :meth:`run` (the original ones plus ``acquired_``).

    Examples
    --------
    >>> from raikit.datasets import load_adult
    >>> frame = load_adult().frame
    >>> frame = frame[frame["race"].isin(["White", "Black"])]
    >>> frame = frame.groupby(["race", "sex"], observed=True).sample(200, random_state=0)
    >>> tuner = SliceTuner(slices=["race", "sex"], budget=100, sizes=(0.5, 0.75, 1.0),
    ...                    n_repeats=2, random_state=0)
    >>> result = tuner.plan(frame.drop(columns="split"), target="income")
    >>> int(result.slices["allocation"].sum())
    100
    """

    def __init__(
        self,
        estimator=None,
        *,
        slices=None,
        budget: float,
        cost: dict | float | None = None,
        lam: float = 1.0,
        method: str = "one-shot",
        T: float = 1.0,
        T_growth: str = "linear",
        sizes: Sequence[float] = (0.3, 0.475, 0.65, 0.825, 1.0),
        n_repeats: int = 3,
        validation_size: float = 0.3,
        max_rounds: int = 10,
        random_state: int | None = None,
    ) -> None:
        self.estimator = estimator
        self.slices = slices
        self.budget = budget
        self.cost = cost
        self.lam = lam
        self.method = method
        self.T = T
        self.T_growth = T_growth
        self.sizes = sizes
        self.n_repeats = n_repeats
        self.validation_size = validation_size
        self.max_rounds = max_rounds
        self.random_state = random_state

    # ------------------------------------------------------------------ public entry points
    def plan(
        self,
        data,
        *,
        target: str | None = None,
        validation=None,
        available=None,
        progress: Callable[[int, int], None] | None = None,
        ledger=None,
    ) -> SliceTunerResult:
        """Fit the learning curves and compute the allocation, without acquiring anything.

        For ``method="iterative"`` the plan is the first round's unrestricted allocation of the
        whole budget (later rounds depend on the data acquired).

        Parameters
        ----------
        data : Dataset or DataFrame
            Labelled training rows.
        target : str, optional
            Label column (needed with a DataFrame; a Dataset knows its own).
        validation : Dataset or DataFrame, optional
            Rows on which losses are measured (same columns). Default: ``validation_size`` of each
            slice's rows are held out from ``data``.
        available : dict or Series, optional
            Most examples that can be acquired per slice label, e.g. the rows of each slice in an
            unlabelled pool (``PoolAcquirer(pool, slices).remaining()``); slices not named have
            none. The plan never asks a slice for more, and reports budget it cannot spend.
            Default: unlimited.
        progress : callable, optional
            ``progress(done, total)`` after every model fit.
        ledger : raikit.ledger.Ledger, optional
            Record the result there (or in the active ``raikit.track`` run).

        Returns
        -------
        SliceTunerResult
        """
        return self._execute(data, None, target, validation, progress, ledger, available)

    def run(
        self,
        data,
        acquire: Callable[[str, int], pd.DataFrame],
        *,
        target: str | None = None,
        validation=None,
        progress: Callable[[int, int], None] | None = None,
        ledger=None,
    ) -> SliceTunerResult:
        """Plan, acquire the examples through ``acquire``, retrain and report before/after.

        Parameters
        ----------
        data : Dataset or DataFrame
            Labelled training rows.
        acquire : callable
            ``acquire(slice_label, n) -> DataFrame`` returning ``n`` new labelled rows of that slice
            with the training columns (e.g. a :class:`PoolAcquirer`). Fewer rows are accepted (and
            reported); more, or rows of another slice, are an error. When ``acquire`` also has a
            ``remaining()`` method (as :class:`PoolAcquirer` has) returning the rows left per
            slice, no slice is asked for more than it has left.
        target, validation, progress, ledger
            As in :meth:`plan`.

        Returns
        -------
        SliceTunerResult
        """
        if not callable(acquire):
            raise RaikitError(
                f"acquire must be a callable acquire(slice, n) -> DataFrame (e.g. a PoolAcquirer), "
                f"got {type(acquire).__name__}."
            )
        return self._execute(data, acquire, target, validation, progress, ledger)

    # ------------------------------------------------------------------ validation of inputs
    def _check_params(self):
        if self.method not in _METHODS:
            raise RaikitError(f"method must be one of {_METHODS}, got {self.method!r}.")
        try:
            budget = float(self.budget)
        except (TypeError, ValueError) as error:
            raise DataError(f"budget must be a positive number, got {self.budget!r}.") from error
        if not np.isfinite(budget) or budget <= 0:
            raise DataError(
                f"budget must be a positive number (the total cost to spend), got {self.budget!r}."
            )
        lam = float(self.lam)
        if not np.isfinite(lam) or lam < 0:
            raise DataError(f"lam must be a non-negative number, got {self.lam!r}.")
        if not float(self.T) > 0:
            raise DataError(f"T must be a positive change of the imbalance ratio, got {self.T!r}.")
        if self.T_growth not in ("linear", "constant", "double"):
            raise RaikitError(
                f"T_growth must be 'linear', 'constant' or 'double', got {self.T_growth!r}."
            )
        sizes = sorted({float(s) for s in self.sizes})
        if len(sizes) < 2 or sizes[0] <= 0 or sizes[-1] > 1:
            raise DataError(
                f"sizes must hold at least two distinct shares in (0, 1], got {list(self.sizes)}."
            )
        if int(self.n_repeats) < 1:
            raise DataError(f"n_repeats must be at least 1, got {self.n_repeats}.")
        if not 0 < float(self.validation_size) < 1:
            raise DataError(
                f"validation_size must be a share in (0, 1), got {self.validation_size}."
            )
        if int(self.max_rounds) < 1:
            raise DataError(f"max_rounds must be at least 1, got {self.max_rounds}.")
        return budget, lam, sizes

    def _resolve(self, data, target, validation):
        """Frames, target, feature columns, slice labels of the training and validation rows."""
        from raikit.dataset import Dataset

        slices = self.slices
        if isinstance(data, Dataset):
            frame, target = data.frame, data.target
            features = list(data.feature_names)
            if slices is None:
                slices = list(data.sensitive_names)
        elif isinstance(data, pd.DataFrame):
            frame = data.reset_index(drop=True)
            features = None
        else:
            raise DataError(
                f"data must be a raikit Dataset or a pandas DataFrame, got {type(data).__name__}."
            )
        if target is None:
            raise DataError("The training data needs labels: pass target='column' (or a Dataset).")
        if target not in frame.columns:
            raise ColumnError(f"Target column {target!r} is not in the training data.")
        if frame[target].isna().any():
            raise DataError(
                f"Target {target!r} has {int(frame[target].isna().sum())} missing value(s); drop "
                f"those rows first."
            )
        if slices is None:
            raise DataError(
                "slices is required with a DataFrame: a column name, a list of columns or a "
                "Series of slice labels."
            )
        if isinstance(slices, pd.Series):
            if len(slices) != len(frame):
                raise DataError(
                    f"The slices Series has {len(slices)} labels but the data has {len(frame)} "
                    f"rows; give one label per row."
                )
            if slices.isna().any():
                raise DataError("The slices Series has missing labels; label every row.")
            labels = pd.Series(slices.astype(str).to_numpy(dtype=object), name="slice")
            columns: list[str] = []
            if validation is not None:
                raise DataError(
                    "validation= needs slice columns to label its rows; with a Series of slice "
                    "labels, add them to both frames as a column and pass slices='column'."
                )
        else:
            columns = [slices] if isinstance(slices, str) else list(slices)
            labels = _labels_from_columns(frame, columns, what="training")
        if target in columns:
            raise ColumnError(f"The target {target!r} cannot also be a slice column.")
        if features is None:
            features = [c for c in frame.columns if c != target and c not in columns]
        if not features:
            raise DataError("No feature columns are left after removing the target and slices.")
        if validation is not None:
            vframe = validation.frame if isinstance(validation, Dataset) else validation
            if not isinstance(vframe, pd.DataFrame):
                raise DataError(
                    f"validation must be a Dataset or a DataFrame, got {type(validation).__name__}."
                )
            vframe = vframe.reset_index(drop=True)
            absent = [c for c in [*features, target] if c not in vframe.columns]
            if absent:
                raise ColumnError(
                    f"Column {absent[0]!r} is missing from the validation data; it needs the "
                    f"training columns."
                )
            vlabels = _labels_from_columns(vframe, columns, what="validation")
        else:
            vframe = vlabels = None
        return frame, target, features, columns, labels, vframe, vlabels

    # ------------------------------------------------------------------ the work
    def _execute(
        self, data, acquire, target, validation, progress, ledger, available=None
    ) -> SliceTunerResult:
        from threadpoolctl import threadpool_limits

        # Many small fits: one BLAS thread each is several times faster than threads that
        # busy-wait for one another on small matrices.
        with threadpool_limits(limits=1, user_api="blas"):
            return self._execute_limited(
                data, acquire, target, validation, progress, ledger, available
            )

    @staticmethod
    def _available(available, acquire, slice_names: list[str]) -> np.ndarray:
        """Examples that can still be had per slice: ``available=``, the acquirer's
        ``remaining()``, or unlimited."""
        if (
            available is None
            and acquire is not None
            and callable(getattr(acquire, "remaining", None))
        ):
            available = acquire.remaining()
        if available is None:
            return np.full(len(slice_names), np.inf)
        if not isinstance(available, dict | pd.Series):
            raise DataError(
                f"available must map slice labels to counts (a dict or Series), got "
                f"{type(available).__name__}."
            )
        lookup = {str(key): value for key, value in dict(available).items()}
        try:
            counts = np.array([lookup.get(name, 0) for name in slice_names], dtype=float)
        except (TypeError, ValueError) as error:
            raise DataError(f"available counts must be numbers, got {lookup}.") from error
        if np.isnan(counts).any() or (counts < 0).any():
            raise DataError(f"available counts must be non-negative numbers, got {lookup}.")
        return np.floor(counts)

    def _execute_limited(self, data, acquire, target, validation, progress, ledger, available):
        budget, lam, sizes = self._check_params()
        frame, target, features, columns, labels, vframe, vlabels = self._resolve(
            data, target, validation
        )
        rng = np.random.default_rng(self.random_state)
        estimator = _default_estimator() if self.estimator is None else self.estimator
        if not hasattr(estimator, "fit") or not hasattr(estimator, "predict_proba"):
            raise RaikitError(
                f"estimator must be an unfitted scikit-learn classifier with predict_proba, got "
                f"{estimator!r}."
            )
        slice_names = sorted(pd.unique(labels))  # a fixed order, whatever the row order
        if vframe is None:  # hold out a share of every slice (stratified by slice and label)
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
                    np.arange(len(frame)),
                    test_size=float(self.validation_size),
                    stratify=strata,
                    random_state=seed,
                )
            except ValueError as error:
                raise DataError(
                    f"Cannot hold out validation rows from every slice: {error}. Pass validation= "
                    f"or use more rows per slice."
                ) from error
            train_idx, valid_idx = np.sort(train_idx), np.sort(valid_idx)
            vframe = frame.iloc[valid_idx].reset_index(drop=True)
            vlabels = labels.iloc[valid_idx].reset_index(drop=True)
            frame = frame.iloc[train_idx].reset_index(drop=True)
            labels = labels.iloc[train_idx].reset_index(drop=True)
        index = {name: i for i, name in enumerate(slice_names)}
        codes = labels.map(index).to_numpy(dtype=np.int64)
        vcodes = vlabels.map(index).fillna(-1).to_numpy(dtype=np.int64)
        k = len(slice_names)
        if k < 2:
            raise DataError(
                f"Slice Tuner needs at least two slices, got {slice_names}; slice by a column with "
                f"more values."
            )
        counts = np.bincount(codes, minlength=k)
        vcounts = np.bincount(vcodes[vcodes >= 0], minlength=k)
        cost = self._costs(slice_names)  # checks the cost names against every slice
        # A slice too small for a learning curve (or without a validation row to measure its
        # loss) cannot be planned for: it is left out, and reported, unless fewer than two remain.
        need = max(_MIN_SLICE_ROWS, int(np.ceil(_MIN_SUBSAMPLE / sizes[0])))
        small = np.flatnonzero((counts < need) | (vcounts < 1))
        left_out = {
            slice_names[s]: {"training_rows": int(counts[s]), "validation_rows": int(vcounts[s])}
            for s in small
        }
        described = ", ".join(
            f"{name!r} ({rows['training_rows']} training, {rows['validation_rows']} validation "
            f"row(s))"
            for name, rows in left_out.items()
        )
        if k - small.size < 2:
            raise DataError(
                f"Slice Tuner needs at least two slices with {need} training rows and a validation "
                f"row each; too small: {described}. Add rows, merge small slices (slice by fewer "
                f"columns), or pass validation rows."
            )
        if small.size:
            kept = np.setdiff1d(np.arange(k), small)
            remap = np.full(k, -1, dtype=np.int64)
            remap[kept] = np.arange(kept.size)
            codes = remap[codes]  # -1: outside every planned slice (the rows still train)
            vcodes = np.where(vcodes >= 0, remap[np.maximum(vcodes, 0)], -1)
            slice_names = [slice_names[s] for s in kept]
            counts, vcounts, cost, k = counts[kept], vcounts[kept], cost[kept], kept.size
        if budget < cost.min():
            raise DataError(
                f"The budget ({budget:g}) is smaller than the cheapest example ({cost.min():g}); "
                f"nothing can be acquired. Raise the budget."
            )
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
        context = _Context(
            estimator=estimator,
            features=features,
            target=target,
            vX=vframe[features],
            vy=vframe[target].to_numpy(),
            vcodes=vcodes,
            k=k,
            sizes=sizes,
            n_repeats=int(self.n_repeats),
            rng=rng,
            progress=progress,
            randomised=_has_random_state(estimator),
        )
        train = _Data(frame, codes)
        findings: list[Finding] = []
        if left_out:
            findings.append(
                Finding(
                    "warning",
                    f"{len(left_out)} slice(s) too small to plan for",
                    f"{described}: a learning curve needs at least {need} training rows and a "
                    f"validation row, so these slices are left out of the plan (their rows still "
                    f"train the model). Acquire rows of them first, then plan again.",
                )
            )
        rounds_rows, point_frames, curve_frames = [], [], []
        acquired_frames: list[pd.DataFrame] = []
        total_alloc = np.zeros(k, dtype=np.int64)
        received = np.zeros(k, dtype=np.int64)
        remaining = budget
        n_before = counts.astype(float)
        supply = self._available(available, acquire, slice_names)
        short_of_supply = False
        limit = float("nan")
        iterative = self.method == "iterative"
        max_rounds = int(self.max_rounds) if iterative and acquire is not None else 1
        first_fit = before = None
        for round_ in range(max_rounds):
            n_now = np.bincount(train.codes[train.codes >= 0], minlength=k).astype(float)
            full = context.evaluate(train)
            if before is None:
                before = full
            points, fits = context.curves(train, slice_names, round_, full)
            point_frames.append(points)
            curve_frames.append(fits)
            if first_fit is None:
                first_fit = fits
            a, b = fits["a"].to_numpy(), fits["b"].to_numpy()
            if float(np.dot(cost, supply)) < remaining - 1e-9:
                short_of_supply = True
            if not ((supply > 0) & (cost <= remaining + 1e-9)).any():
                break  # nothing left that the budget can buy
            if self.method in ("uniform", "proportional"):
                planned = _baseline_allocation(self.method, n_now, cost, remaining, supply)
            else:
                planned = allocate_budget(
                    a, b, n_now, budget=remaining, cost=cost, lam=lam, available=supply
                )
            alloc = planned.copy()
            if iterative and acquire is not None:  # a plan shows the whole unrestricted budget
                limit = _round_limit(float(self.T), self.T_growth, round_)
                alloc = _limit_imbalance(n_now, planned, limit)
                if alloc.sum() == 0:
                    findings.append(
                        Finding(
                            "warning",
                            "Imbalance limit stopped the acquisition",
                            f"Round {round_ + 1}: not even one example fits within the imbalance "
                            f"limit T={limit:g}; {remaining:g} of the budget is left. Raise T.",
                        )
                    )
                    break
            got = np.zeros(k, dtype=np.int64)
            if acquire is not None:
                new_rows, got = self._acquire(
                    acquire, alloc, slice_names, frame.columns, columns, target, features, findings
                )
                if len(new_rows):
                    acquired_frames.append(new_rows)
                    train = _Data(
                        pd.concat([train.frame, new_rows], ignore_index=True),
                        np.r_[train.codes, np.repeat(np.arange(k), got)],
                    )
            for s, name in enumerate(slice_names):
                rounds_rows.append(
                    {
                        "round": round_,
                        "slice": name,
                        "n_start": int(n_now[s]),
                        "planned": int(planned[s]),
                        "allocation": int(alloc[s]),
                        "acquired": int(got[s]) if acquire is not None else np.nan,
                        "imbalance_before": imbalance_ratio(n_now),
                        "imbalance_after": imbalance_ratio(n_now + alloc),
                        "limit": limit,
                    }
                )
            total_alloc += alloc
            received += got
            supply = np.maximum(supply - got, 0.0)
            remaining -= float(np.dot(cost, got if acquire is not None else alloc))
            if not iterative or remaining < cost.min() - 1e-9:
                break
            if acquire is not None and got.sum() == 0:
                break  # nothing arrived: the curves would not change
        if short_of_supply:
            spendable = "acquired" if acquire is not None else "planned"
            findings.append(
                Finding(
                    "warning",
                    "Not enough examples available to spend the budget",
                    f"The slices had too few examples left to spend the budget {budget:g}; "
                    f"{np.dot(cost, received if acquire is not None else total_alloc):g} was "
                    f"{spendable}. Every slice was asked for at most what it had left; add rows "
                    f"to the pool (or lower the budget).",
                )
            )
        elif iterative and acquire is not None and remaining >= cost.min() - 1e-9:
            findings.append(
                Finding(
                    "warning",
                    "Budget left after the last round",
                    f"{remaining:g} of the budget {budget:g} was not spent after "
                    f"{len(rounds_rows) // k} round(s); raise max_rounds or T.",
                )
            )
        spent_total = budget - remaining
        # ---- before / after
        after = context.evaluate(train) if acquire is not None else None
        result = self._result(
            slice_names=slice_names,
            n_before=n_before,
            vcounts=vcounts,
            first_fit=first_fit,
            cost=cost,
            total_alloc=total_alloc,
            received=received if acquire is not None else None,
            before=before,
            after=after,
            points=pd.concat(point_frames, ignore_index=True),
            curves=pd.concat(curve_frames, ignore_index=True),
            rounds=pd.DataFrame(rounds_rows),
            budget=budget,
            spent=spent_total,
            lam=lam,
            columns=columns,
            estimator=estimator,
            findings=findings,
            left_out=left_out,
        )
        self.result_ = result
        self.allocation_ = pd.Series(
            (received if acquire is not None else total_alloc), index=slice_names, name="allocation"
        )
        self.acquired_ = (
            pd.concat(acquired_frames, ignore_index=True)
            if acquired_frames
            else frame.iloc[:0].copy()
        )
        self.train_after_ = train.frame
        from raikit.dataset import Dataset
        from raikit.ledger import record

        record(
            result,
            check="data.slice_tuner",
            ledger=ledger,
            dataset=data if isinstance(data, Dataset) else None,
            params={
                "budget": budget,
                "lam": lam,
                "method": self.method,
                "T": float(self.T),
                "T_growth": self.T_growth,
                "sizes": sizes,
                "n_repeats": int(self.n_repeats),
                "random_state": self.random_state,
            },
        )
        return result

    def _costs(self, slice_names: list[str]) -> np.ndarray:
        cost = self.cost
        if cost is None:
            return np.ones(len(slice_names))
        if isinstance(cost, int | float):
            values = np.full(len(slice_names), float(cost))
        elif isinstance(cost, dict):
            unknown = [str(key) for key in cost if str(key) not in slice_names]
            if unknown:
                raise DataError(
                    f"cost names slice(s) {unknown} that are not in the data; the slices are "
                    f"{slice_names}."
                )
            lookup = {str(key): value for key, value in cost.items()}
            values = np.array([float(lookup.get(name, 1.0)) for name in slice_names])
        else:
            raise DataError(
                f"cost must be a number or a dict of slice label -> cost, got "
                f"{type(cost).__name__}."
            )
        if not np.isfinite(values).all() or (values <= 0).any():
            raise DataError(f"Every cost must be a positive number, got {values.tolist()}.")
        return values

    def _acquire(
        self, acquire, alloc, slice_names, all_columns, columns, target, features, findings
    ):
        """Call ``acquire`` for every slice with a positive allocation and check what it returns."""
        parts, got = [], np.zeros(len(slice_names), dtype=np.int64)
        needed = [*features, target]
        for s, name in enumerate(slice_names):
            if alloc[s] <= 0:
                continue
            rows = acquire(name, int(alloc[s]))
            if not isinstance(rows, pd.DataFrame):
                raise DataError(
                    f"acquire({name!r}, {int(alloc[s])}) returned {type(rows).__name__}; it must "
                    f"return a DataFrame with the training columns."
                )
            absent = [c for c in needed if c not in rows.columns]
            if absent:
                raise ColumnError(
                    f"acquire({name!r}, {int(alloc[s])}) returned rows without column "
                    f"{absent[0]!r}; new rows need the training columns {needed}."
                )
            if len(rows) > alloc[s]:
                raise DataError(
                    f"acquire({name!r}, {int(alloc[s])}) returned {len(rows)} rows, more than "
                    f"asked for."
                )
            if rows[target].isna().any():
                raise DataError(
                    f"acquire({name!r}, {int(alloc[s])}) returned {int(rows[target].isna().sum())} "
                    f"row(s) without a label in {target!r}; every acquired row needs its label."
                )
            if columns:
                got_labels = _labels_from_columns(rows, columns, what="acquired")
                wrong = got_labels[got_labels != name]
                if len(wrong):
                    raise DataError(
                        f"acquire({name!r}, {int(alloc[s])}) returned {len(wrong)} row(s) of "
                        f"another slice (e.g. {wrong.iloc[0]!r})."
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

    def _result(
        self,
        *,
        slice_names,
        n_before,
        vcounts,
        first_fit,
        cost,
        total_alloc,
        received,
        before,
        after,
        points,
        curves,
        rounds,
        budget,
        spent,
        lam,
        columns,
        estimator,
        findings,
        left_out,
    ) -> SliceTunerResult:
        a, b = first_fit["a"].to_numpy(), first_fit["b"].to_numpy()
        n_after = n_before + (received if received is not None else total_alloc)
        nan = np.full(len(slice_names), np.nan)
        table = pd.DataFrame(
            {
                "slice": slice_names,
                "n_before": n_before.astype(np.int64),
                "n_validation": vcounts.astype(np.int64),
                "a": a,
                "b": b,
                "a_se": first_fit["a_se"].to_numpy(),
                "b_se": first_fit["b_se"].to_numpy(),
                "r2": first_fit["r2"].to_numpy(),
                "cost": cost,
                "allocation": total_alloc.astype(np.int64),
                "acquired": received.astype(float) if received is not None else nan,
                "n_after": n_after.astype(np.int64),
                "predicted_loss_before": b * n_before**-a,
                "predicted_loss_after": b * n_after**-a,
                "loss_before": before["loss"],
                "loss_after": after["loss"] if after is not None else nan,
                "accuracy_before": before["accuracy"],
                "accuracy_after": after["accuracy"] if after is not None else nan,
            }
        )

        def summary(values):
            mean = float(np.mean(values))
            gaps = np.abs(values - mean)
            return mean, float(gaps.mean()), float(gaps.max())

        loss_b, disp_b, max_b = summary(before["loss"])
        if after is not None:
            loss_a, disp_a, max_a = summary(after["loss"])
            acc_a = after["overall_accuracy"]
        else:
            loss_a = disp_a = max_a = acc_a = float("nan")
        overall = {
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
        findings = list(findings)
        worst = int(np.argmax(before["loss"]))
        findings.append(
            Finding(
                "info",
                f"Highest loss: {slice_names[worst]}",
                f"Validation log loss {before['loss'][worst]:.3f} against a mean of {loss_b:.3f} "
                f"over slices; {int(total_alloc[worst])} new example(s) planned for it.",
                slice=slice_names[worst],
            )
        )
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
        if after is not None:
            if disp_a > disp_b:
                findings.append(
                    Finding(
                        "warning",
                        "Loss disparity rose",
                        f"Average loss disparity {disp_b:.3f} -> {disp_a:.3f} after acquisition; a "
                        f"larger lam weights fairness more.",
                    )
                )
            if acc_a < overall["accuracy_before"] - 0.01:
                findings.append(
                    Finding(
                        "warning",
                        "Accuracy fell",
                        f"Validation accuracy {overall['accuracy_before']:.3f} -> {acc_a:.3f}.",
                    )
                )
        meta = {
            "lam": lam,
            "T": float(self.T),
            "T_growth": self.T_growth,
            "sizes": [float(s) for s in sorted({float(s) for s in self.sizes})],
            "n_repeats": int(self.n_repeats),
            "estimator": repr(estimator),
            "slice_by": list(columns),
            "left_out": left_out,
            "rounds": int(rounds["round"].max()) + 1 if len(rounds) else 0,
        }
        return SliceTunerResult(
            slices=table,
            curve_points=points,
            curves=curves,
            rounds=rounds,
            overall=overall,
            method=self.method,
            acquired=received is not None,
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
                t_value(0.95, self.n_repeats - 1) * std / np.sqrt(self.n_repeats)
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
