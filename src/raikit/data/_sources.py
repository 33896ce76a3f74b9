"""Slice Tuner with more than one source of rows: a real pool, a DP synthetic generator, or both.

:func:`plan_sources` reads the learning curves :func:`~raikit.data.slice_tuner` fitted
(``loss_s(n) = b_s * n ** -a_s`` per slice) and splits a budget over (slice, source) pairs. A
source has a cost per row (one number, or one per slice), an optional number of rows it can
supply per slice, and a *worth*: how many real rows one of its rows is worth to the model
(1 for real rows; for synthetic rows, a number you measured, e.g. with
:func:`~raikit.data.augment_eval`, never one you assumed). The budget goes, in small steps, to the
pair whose next step lowers Slice Tuner's objective (the sum of the slices' predicted losses plus
``lam`` times the unfairness term) the most per unit of cost: the objective is convex and separable
per slice, so this greedy split is optimal up to the step size.

:class:`SyntheticAcquirer` draws rows of a slice from a DP release (no budget spent per draw), so a
plan's synthetic rows can be drawn like a pool's (:meth:`PoolAcquirer.draw`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from raikit._errors import ParameterError
from raikit._recording import recorded
from raikit._result import Result
from raikit._validation import Interval, rng_from, validate_params

__all__ = ["SourcePlanResult", "SyntheticAcquirer", "plan_sources"]

_STEPS = 500  # budget steps of the greedy split


@dataclass(frozen=True, eq=False)
class SourcePlanResult(Result):
    """How many rows to take from each source for each slice, and what each is expected to gain.

    Attributes
    ----------
    plan : DataFrame
        One row per (slice, source): ``slice``, ``source``, ``rows`` (to acquire), ``cost``
        (their total cost), ``worth``, ``effective_rows`` (``rows * worth``),
        ``expected_gain`` (the slice's predicted log-loss reduction, shared between its sources
        in proportion to their effective rows) and ``gain_per_cost`` (the predicted loss
        reduction per unit of cost of this source's first row in this slice: how the sources
        compare before anything is bought).
    slices : DataFrame
        One row per slice: ``slice``, ``n_before``, ``predicted_loss_before``,
        ``predicted_loss_after``, ``expected_gain``.
    budget : float
    spent : float
    lam : float
        Weight of the unfairness term the plan was made with.
    findings : tuple of Finding
    meta : dict
        The sources as given and the reference loss of the unfairness term.

    See Also
    --------
    raikit.data.plan_sources : computes it.
    raikit.data.PoolAcquirer : draws a plan's real rows from a pool.
    raikit.data.SyntheticAcquirer : draws a plan's synthetic rows from a DP release.

    Examples
    --------
    >>> import pandas as pd
    >>> from raikit.data import SliceTunerResult, plan_sources
    >>> curves = pd.DataFrame({"slice": ["big", "small"], "n_before": [1000, 50],
    ...                        "a": [0.3, 0.3], "b": [2.0, 2.0]})
    >>> tuned = SliceTunerResult(curves, pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), {},
    ...                          "one-shot", False, meta={"lam": 1.0})
    >>> plan = plan_sources(tuned, budget=40, sources={"pool": {"cost": 1.0}})
    >>> plan.plan[["slice", "rows"]].values.tolist()
    [['big', 0], ['small', 40]]
    >>> plan.spent
    40.0
    """

    plan: pd.DataFrame
    slices: pd.DataFrame
    budget: float
    spent: float
    lam: float
    findings: tuple = ()
    meta: dict = field(default_factory=dict)

    def allocation(self, source: str) -> pd.Series:
        """Rows to acquire per slice from ``source`` (for ``acquirer.draw(...)``).

        Examples
        --------
        >>> plan = SourcePlanResult(pd.DataFrame({"slice": ["a"], "source": ["pool"],
        ...                                       "rows": [3]}), pd.DataFrame(), 3.0, 3.0, 1.0)
        >>> plan.allocation("pool").to_dict()
        {'a': 3}
        """
        rows = self.plan[self.plan["source"] == source]
        return pd.Series(rows["rows"].to_numpy(np.int64), index=rows["slice"].tolist(), name=source)

    @property
    def summary(self) -> str:
        by_source = self.plan.groupby("source", sort=False)[["rows", "cost"]].sum()
        parts = ", ".join(
            f"{name}: {int(row.rows):,} rows for {row.cost:.4g}"
            for name, row in by_source.iterrows()
        )
        gain = float(self.slices["expected_gain"].sum()) if len(self.slices) else 0.0
        return (
            f"Plan for a budget of {self.budget:g} ({self.spent:.4g} spent): {parts}; expected "
            f"reduction of the summed slice log losses {gain:.4f}."
        )

    def figures(self) -> list:
        import plotly.graph_objects as go

        figure = go.Figure()
        for source, rows in self.plan.groupby("source", sort=False):
            figure.add_bar(x=rows["slice"].tolist(), y=rows["expected_gain"].tolist(), name=source)
        figure.update_layout(
            barmode="stack", title="Expected log-loss reduction per slice, by source"
        )
        return [figure]


def _per_slice(value, names: list, what: str, default: float, *, strict=True) -> np.ndarray:
    """One number per slice from a number or a ``{slice: number}`` dict (``strict``: a slice
    the plan does not have is an error; else it is ignored)."""
    if value is None:
        return np.full(len(names), default)
    if isinstance(value, dict | pd.Series):
        lookup = {str(k): v for k, v in dict(value).items()}
        unknown = [k for k in lookup if k not in names]
        if unknown and strict:
            raise ParameterError(
                f"plan_sources(): {what} names slice(s) {unknown} that the plan does not have; "
                f"the slices are {names}."
            )
        try:
            return np.array([float(lookup.get(n, default)) for n in names])
        except (TypeError, ValueError):
            raise ParameterError(
                f"plan_sources(): {what} must hold numbers, got {lookup}."
            ) from None
    try:
        return np.full(len(names), float(value))
    except (TypeError, ValueError):
        raise ParameterError(f"plan_sources(): {what} must be a number, got {value!r}.") from None


def _sources(sources: dict, names: list):
    """Costs, worths and supplies as (slices x sources) arrays."""
    if not sources:
        raise ParameterError(
            "plan_sources(): sources must name at least one source, e.g. "
            "{'pool': {'cost': 1.0}, 'synthetic': {'cost': 0.1, 'worth': 0.3}}."
        )
    cost, worth, supply = [], [], []
    for name, spec in sources.items():
        if not isinstance(spec, dict) or set(spec) - {"cost", "worth", "available"}:
            raise ParameterError(
                f"plan_sources(): source {name!r} must be a dict with keys 'cost', 'worth' and "
                f"'available' (all optional), got {spec!r}."
            )
        c = _per_slice(spec.get("cost"), names, f"sources[{name!r}]['cost']", 1.0)
        w = float(spec.get("worth", 1.0))
        # a pool holds rows of slices left out of the plan: those are simply not drawn
        a = _per_slice(
            spec.get("available"), names, f"sources[{name!r}]['available']", np.inf, strict=False
        )
        if spec.get("available") is not None and isinstance(spec["available"], dict | pd.Series):
            a = np.where(np.isin(names, [str(k) for k in dict(spec["available"])]), a, 0.0)
        if not (np.isfinite(c).all() and (c > 0).all()):
            raise ParameterError(f"plan_sources(): source {name!r} needs positive costs, got {c}.")
        if not 0 < w <= 1:
            raise ParameterError(
                f"plan_sources(): source {name!r} has worth={w:g}; a row is worth more than 0 "
                "and at most 1 real row."
            )
        if (np.isnan(a) | (a < 0)).any():
            raise ParameterError(f"plan_sources(): source {name!r} has negative availability.")
        cost.append(c)
        worth.append(w)
        supply.append(np.floor(a))
    return np.column_stack(cost), np.array(worth), np.column_stack(supply)


def _slice_objective(x, a, b, lam, reference):
    """Each slice's term of Slice Tuner's objective at ``x`` training rows (broadcasts)."""
    loss = b * x**-a
    return loss + lam * np.maximum(0.0, loss / reference - 1.0)


def _greedy(a, b, n, cost, worth, supply, budget, lam):
    """Rows per (slice, source): the budget in steps, each to the pair with the largest
    objective decrease per unit of cost."""
    reference = float(np.mean(b * n**-a))
    rows = np.zeros_like(cost)
    left, step = float(budget), float(budget) / _STEPS
    while left > 1e-9 * budget:
        effective = n + (rows * worth).sum(axis=1)
        spend = min(step, left)
        extra = np.minimum(spend / cost, supply - rows)  # rows one step buys, within supply
        now = _slice_objective(effective, a, b, lam, reference)[:, None]
        after = _slice_objective(
            effective[:, None] + extra * worth, a[:, None], b[:, None], lam, reference
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            value = np.where(extra > 1e-12, (now - after) / (extra * cost), -np.inf)
        best = np.unravel_index(np.argmax(value), value.shape)
        if not np.isfinite(value[best]):
            break  # every source is exhausted
        rows[best] += extra[best]
        left -= extra[best] * cost[best]
    return np.floor(rows + 1e-9), reference


@recorded("data.plan_sources")
@validate_params(
    budget=Interval(float, 0, None, closed="neither"),
    sources=dict,
    lam=[Interval(float, 0, None), None],
)
def plan_sources(
    result, *, budget: float, sources: dict, lam: float | None = None, ledger=None
) -> SourcePlanResult:
    """Split an acquisition budget between sources of rows (real pool, synthetic, ...) per slice.

    Parameters
    ----------
    result : SliceTunerResult
        What :func:`raikit.data.slice_tuner` returned: its learning curves per slice.
    budget : float
        Total cost to spend (> 0).
    sources : dict
        ``{name: {"cost": ..., "worth": ..., "available": ...}}``. ``cost``: cost of one row
        (a number, or ``{slice: cost}``; default 1). ``worth``: how many real rows one row of
        the source is worth to the model, in (0, 1] (default 1: real rows; for synthetic rows,
        measure it, e.g. with :func:`raikit.data.augment_eval`). ``available``: most rows per
        slice (``{slice: n}``, slices not named have none, slices the plan does not have are
        ignored; e.g. ``PoolAcquirer.remaining()``); default unlimited (a generator).
    lam : float, optional
        Weight of the unfairness term; default the one ``result`` was planned with.
    ledger : raikit.ledger.Ledger or path, optional
        Record the result as evidence (inside :func:`raikit.track` it is recorded anyway).

    Returns
    -------
    SourcePlanResult
        ``result.allocation("pool")`` is the rows to draw per slice from one source.

    Raises
    ------
    ParameterError
        ``result`` is not a SliceTunerResult; a budget, cost, worth or availability outside its
        domain; a source names an unknown slice.

    See Also
    --------
    raikit.data.slice_tuner : fits the learning curves this plan reads.
    raikit.data.augment_eval : measures what synthetic rows are worth.
    raikit.data.SourcePlanResult : the plan, per slice and source.
    raikit.data.SyntheticAcquirer : draws the planned synthetic rows.

    Examples
    --------
    >>> import pandas as pd
    >>> from raikit.data import SliceTunerResult, plan_sources
    >>> curves = pd.DataFrame({"slice": ["big", "small"], "n_before": [1000, 50],
    ...                        "a": [0.3, 0.3], "b": [2.0, 2.0]})
    >>> tuned = SliceTunerResult(curves, pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), {},
    ...                          "one-shot", False, meta={"lam": 1.0})
    >>> plan = plan_sources(tuned, budget=100, sources={
    ...     "pool": {"cost": 1.0, "available": {"small": 20}},
    ...     "synthetic": {"cost": 0.5, "worth": 0.2}})
    >>> plan.allocation("pool").to_dict()
    {'big': 0, 'small': 20}
    >>> bool(plan.allocation("synthetic")["small"] > 0)
    True
    """
    from raikit.data._slice_tuner import SliceTunerResult

    if not isinstance(result, SliceTunerResult):
        raise ParameterError(
            f"plan_sources(): result must be what slice_tuner() returned, got "
            f"{type(result).__name__}."
        )
    table = result.slices
    names = [str(s) for s in table["slice"]]
    a, b = table["a"].to_numpy(float), table["b"].to_numpy(float)
    n = np.maximum(table["n_before"].to_numpy(float), 1.0)
    cost, worth, supply = _sources(sources, names)
    lam = float(result.meta.get("lam", 1.0) if lam is None else lam)
    rows, reference = _greedy(a, b, n, cost, worth, supply, float(budget), lam)
    effective = rows * worth
    before = b * n**-a
    after = b * (n + effective.sum(axis=1)) ** -a
    gain = before - after
    total = effective.sum(axis=1, keepdims=True)
    share = np.divide(effective, total, out=np.zeros_like(effective), where=total > 0)
    first = (before[:, None] - b[:, None] * (n[:, None] + worth) ** -a[:, None]) / cost
    plan = pd.DataFrame(
        {
            "slice": np.repeat(names, len(sources)),
            "source": np.tile(list(sources), len(names)),
            "rows": rows.ravel().astype(np.int64),
            "cost": (rows * cost).ravel(),
            "worth": np.tile(worth, len(names)),
            "effective_rows": effective.ravel(),
            "expected_gain": (share * gain[:, None]).ravel(),
            "gain_per_cost": first.ravel(),
        }
    )
    slices = pd.DataFrame(
        {
            "slice": names,
            "n_before": n.astype(np.int64),
            "predicted_loss_before": before,
            "predicted_loss_after": after,
            "expected_gain": gain,
        }
    )
    spent = float((rows * cost).sum())
    return SourcePlanResult(
        plan=plan,
        slices=slices,
        budget=float(budget),
        spent=spent,
        lam=lam,
        meta={"sources": {k: dict(v) for k, v in sources.items()}, "reference": reference},
    )


class SyntheticAcquirer:
    """Acquire rows of a slice from a DP synthetic release (no privacy budget per draw).

    Parameters
    ----------
    release : SynthesisResult
        What :func:`raikit.privacy.synthesize` returned (its release is re-sampled; nothing
        more is spent).
    attributes : str or list of str
        The sensitive column(s) whose values (joined with ``" & "``) name a slice, as in
        :func:`raikit.data.slice_tuner`.
    complete : bool, default True
        Draw complete rows only (no missing value), as training rows must usually be.
    random_state : int, Generator or None, default None
        Seed of the draws.

    Attributes
    ----------
    drawn : DataFrame
        Every row handed out so far.

    Raises
    ------
    ParameterError
        When called: a slice that does not name one value of each attribute, an attribute the
        release does not have, or a value outside its domain.

    See Also
    --------
    raikit.data.PoolAcquirer : the same interface over a pool of real rows.
    raikit.data.plan_sources : how many rows to draw per slice and source.
    raikit.privacy.synthesize : makes the release.

    Examples
    --------
    >>> import os, tempfile
    >>> home, os.environ["HOME"] = os.environ["HOME"], tempfile.mkdtemp()
    >>> import numpy as np, pandas as pd
    >>> from raikit.data import SyntheticAcquirer
    >>> from raikit.dataset import Dataset
    >>> from raikit.privacy import PrivacySource, synthesize
    >>> rng = np.random.default_rng(0)
    >>> frame = pd.DataFrame({"x": rng.normal(5, 2, 500), "g": rng.choice(["u", "v"], 500)})
    >>> frame["y"] = (frame["x"] > 5).astype(int)
    >>> ds = Dataset(frame, target="y", sensitive=["g"], features=["x"])
    >>> _ = PrivacySource.register("toy-acquire", epsilon=1.0)
    >>> release = synthesize(ds, source="toy-acquire", epsilon=1.0, domains={"g": ["u", "v"]},
    ...                      bounds={"x": (-5, 15)}, random_state=0)
    >>> acquire = SyntheticAcquirer(release, "g", random_state=0)
    >>> acquire("v", 5)["g"].tolist()
    ['v', 'v', 'v', 'v', 'v']
    >>> acquire.draw({"u": 2, "v": 1})["g"].tolist()
    ['u', 'u', 'v']
    >>> len(acquire.drawn)
    8
    >>> os.environ["HOME"] = home
    """

    def __init__(self, release, attributes, *, complete: bool = True, random_state=None) -> None:
        self.release = release
        self.complete = complete
        self.attributes = [attributes] if isinstance(attributes, str) else list(attributes)
        self._rng = rng_from(random_state)
        self._drawn: list[pd.DataFrame] = []

    @property
    def drawn(self) -> pd.DataFrame:
        """Every row handed out so far, in the order drawn."""
        if not self._drawn:
            return self.release.data.iloc[:0].copy()
        return pd.concat(self._drawn, ignore_index=True)

    def _condition(self, slice_label: str) -> dict:
        values = str(slice_label).split(" & ")
        if len(values) != len(self.attributes):
            raise ParameterError(
                f"SyntheticAcquirer: slice {slice_label!r} does not name one value of each of "
                f"{self.attributes} (joined with ' & ')."
            )
        condition = {}
        levels = self.release.released
        for column, text in zip(self.attributes, values, strict=True):
            if column not in levels.columns:
                raise ParameterError(
                    f"SyntheticAcquirer: {column!r} is not a sensitive attribute of the release."
                )
            matches = [v for v in pd.unique(levels[column]) if str(v) == text]
            if not matches:
                raise ParameterError(
                    f"SyntheticAcquirer: {text!r} is not a value of {column!r} in the release."
                )
            condition[column] = matches[0]
        return condition

    def __call__(self, slice_label: str, n: int) -> pd.DataFrame:
        n = int(n)
        if n < 1:
            return self.release.data.iloc[:0].copy()
        rows = self.release.sample(
            condition=self._condition(slice_label),
            n_rows=n,
            complete=self.complete,
            random_state=self._rng,
        )
        self._drawn.append(rows)
        return rows

    def draw(self, allocation) -> pd.DataFrame:
        """Draw ``allocation[slice]`` rows of every slice (e.g. ``plan.allocation("synthetic")``);
        see the class example."""
        parts = [self(str(k), int(v)) for k, v in dict(allocation).items() if int(v) > 0]
        return pd.concat(parts, ignore_index=True) if parts else self.release.data.iloc[:0].copy()
