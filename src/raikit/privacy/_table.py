"""Differentially private aggregates over a registered data source, on OpenDP.

Every mechanism and every privacy-loss figure comes from OpenDP: a query is an OpenDP measurement
(column selection, clamping, counting or summing, then Laplace noise); its noise scale is the
smallest one whose OpenDP privacy map, at the distance one person can move the table, stays within
the epsilon asked for. The spend is charged to the odometer of the table's
:class:`~raikit.privacy.PrivacySource` and committed before the measurement runs.

All queries are pure epsilon-DP; the source's ``delta`` is spent only by approximate-DP releases.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from raikit._errors import ColumnError, DataError, ParameterError, RaikitError
from raikit._recording import recorded
from raikit._result import Result
from raikit._validation import CI, Interval, Options, validate_params
from raikit.privacy._source import (
    BudgetExceededError,
    PrivacySource,
    check_epsilon,
    hint,
)

__all__ = ["BudgetExceededError", "PrivateAnswer", "PrivateTable"]

_TOL = 1e-9


def _opendp():
    try:
        import opendp.prelude as dp
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RaikitError(
            'Differentially private queries need OpenDP: pip install "raikit[privacy]".'
        ) from exc
    dp.enable_features("contrib", "honest-but-curious")
    return dp


def _check_epsilon(epsilon, what: str = "epsilon") -> float:
    return check_epsilon(epsilon, what, caller="PrivateTable.sql")


def _fit_scale(build, epsilon: float, d_in: int = 1):
    """Smallest noise scale whose OpenDP privacy map at ``d_in`` stays within ``epsilon``.

    Laplace losses fall as ``1 / scale``, so one evaluation gives the scale; it is then nudged up
    until OpenDP's own map certifies it (float rounding), with a binary search as a fallback.
    """
    dp = _opendp()
    scale = float(build(1.0).map(d_in)) / epsilon
    for step in range(30):
        measurement = build(scale)
        if measurement.map(d_in) <= epsilon:
            return scale, measurement
        scale *= 1 + 1e-12 * 4**step
    scale = dp.binary_search_param(build, d_in=d_in, d_out=epsilon)
    return scale, build(scale)


def _frame_of(data) -> pd.DataFrame:
    frame = getattr(data, "frame", data)
    if hasattr(frame, "to_pandas") and not isinstance(frame, pd.DataFrame):
        frame = frame.to_pandas()
    if not isinstance(frame, pd.DataFrame):
        raise ParameterError(
            f"PrivateTable(): data must be a DataFrame or raikit.Dataset, got {type(data).__name__}."
        )
    return frame


def _check_domain(name, values, series: pd.Series) -> list:
    """A declared public domain as a list of distinct values of the column's kind."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise ParameterError(
            f"domains[{name!r}] must be a list of values, got {values!r}; e.g. "
            f"{hint('domains', name)}."
        )
    levels = list(values)
    if not levels:
        raise ParameterError(f"domains[{name!r}] is empty; list its possible values.")
    if len(set(map(repr, levels))) != len(levels):
        raise ParameterError(f"domains[{name!r}] lists a value twice; list each value once.")
    dtype = (
        series.cat.categories.dtype
        if isinstance(series.dtype, pd.CategoricalDtype)
        else series.dtype
    )
    numeric_column = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    numeric_levels = all(
        isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
        for v in levels
    )
    if numeric_column != numeric_levels:
        kind = "numbers" if numeric_column else "non-numeric values"
        raise ParameterError(
            f"domains[{name!r}]: column {name!r} holds {kind} (dtype {series.dtype}) but its domain starts "
            f"{levels[:5]!r}; declare the values as they appear in the column."
        )
    return levels


def open_source(source, *, epsilon=None, delta=None, privacy_unit=None, budget_path=None):
    """The registered :class:`PrivacySource` named (or given) by ``source``, checked."""
    if source is None:
        raise ParameterError(
            "source= is required: the registered data source whose budget pays for the release, "
            "e.g. PrivacySource.register('survey', epsilon=1.0) once, then source='survey'."
        )
    name = source.name if isinstance(source, PrivacySource) else source
    return PrivacySource.open(
        name, epsilon=epsilon, delta=delta, privacy_unit=privacy_unit, budget_path=budget_path
    )


@dataclass(frozen=True, eq=False)
class PrivateAnswer(Result):
    """One differentially private answer with its noise scale and confidence interval.

    Attributes
    ----------
    query : str
        What was asked, e.g. ``"mean(age)"``.
    table : DataFrame
        One row per released number: any group/bin columns, then ``value``, ``lower``, ``upper``
        (the ``ci`` interval for the noise, per row) and ``noise_scale`` (Laplace scale ``b``).
    epsilon : float
        Privacy loss of this query, as OpenDP's privacy map reports it.
    ci : float
        Confidence level of ``lower``/``upper``.
    mechanism : str
        The OpenDP mechanism used.
    source : str
        The registered data source whose budget paid for the answer.
    findings : tuple of Finding
        What the reader should know about the noise (for example a small count).

    See Also
    --------
    PrivateTable : answers queries with a budget.

    Examples
    --------
    >>> import os, tempfile, pandas as pd
    >>> home, os.environ["HOME"] = os.environ["HOME"], tempfile.mkdtemp()  # a private registry
    >>> from raikit.privacy import PrivacySource, PrivateTable
    >>> _ = PrivacySource.register("answers", epsilon=1.0)
    >>> table = PrivateTable(pd.DataFrame({"age": [30, 40] * 50}), source="answers")
    >>> answer = table.count(epsilon=0.5)
    >>> answer.epsilon, answer.source
    (0.5, 'answers')
    >>> os.environ["HOME"] = home
    """

    query: str
    table: pd.DataFrame
    epsilon: float
    ci: float
    mechanism: str
    findings: tuple = ()
    source: str = ""

    @property
    def value(self):
        """The released number (a scalar for one row, else a Series)."""
        return float(self.table["value"].iloc[0]) if len(self.table) == 1 else self.table["value"]

    @property
    def summary(self) -> str:
        if len(self.table) == 1:
            row = self.table.iloc[0]
            body = f"{row['value']:.4g} [{row['lower']:.4g}, {row['upper']:.4g}]"
        else:
            body = f"{len(self.table)} values"
        return (
            f"{self.query} = {body} ({self.ci:.0%} CI), epsilon={self.epsilon:.4g}, "
            f"{self.mechanism}"
        )

    def figures(self) -> list:
        import plotly.graph_objects as go

        from raikit._plots import error_bars

        keys = [c for c in self.table.columns if c not in _VALUE_COLUMNS]
        labels = (
            self.table[keys].astype(str).agg(" | ".join, axis=1)
            if keys
            else pd.Series([self.query] * len(self.table))
        )
        figure = go.Figure(
            go.Bar(
                x=labels.tolist(),
                y=self.table["value"].tolist(),
                error_y=error_bars(self.table["value"], self.table["lower"], self.table["upper"]),
            )
        )
        figure.update_layout(title=f"{self.query} (epsilon={self.epsilon:.3g}, {self.ci:.0%} CI)")
        return [figure]


_VALUE_COLUMNS = ("value", "lower", "upper", "noise_scale")


class PrivateTable:
    """Differentially private aggregates over a table, charged to its data source's budget.

    Parameters
    ----------
    data : DataFrame, polars DataFrame or raikit.Dataset
        The private table. It is copied: changing the caller's frame later changes no answer.
    source : PrivacySource or str
        The registered data source the table comes from (see :class:`PrivacySource`). Its
        odometer pays for every query, whatever the table's row order, columns or dtypes.
    epsilon, delta : float, optional
        The source's total budget, if given: it must match the registration (a check, never a
        new budget).
    privacy_unit : str, optional
        Must match the source's privacy unit if given.
    bounds : dict, optional
        ``{column: (lower, upper)}`` for numeric columns. Values are clamped to them. Choose them
        from domain knowledge, never from the data.
    domains : dict, optional
        ``{column: [values...]}``: the public list of values of every group-by key (booleans
        excepted). Groups are never read off the data, pandas categories included.
    ci : float, default 0.95
        Confidence level of every answer's interval.
    budget_path : str or Path, optional
        The odometer's location, if given: it must be the one the source was registered with.
    ledger : raikit.ledger.Ledger, optional
        Every answer is recorded there (or in the active ``raikit.track`` run) as one
        ``privacy.query`` evidence row per query call (a SQL query with several aggregates is
        one row); kept as the ``ledger`` attribute.

    Raises
    ------
    ParameterError
        ``ci`` outside (0, 1), or ``bounds``/``domains`` not of the documented form.

    See Also
    --------
    raikit.privacy.PrivacySource : the registered source and its budget.
    raikit.privacy.synthesize : DP synthetic data from the same budget.

    Examples
    --------
    >>> import os, tempfile, pandas as pd
    >>> home, os.environ["HOME"] = os.environ["HOME"], tempfile.mkdtemp()  # a private registry
    >>> from raikit.privacy import PrivacySource, PrivateTable
    >>> _ = PrivacySource.register("people", epsilon=1.0, privacy_unit="row")
    >>> frame = pd.DataFrame({"age": [23, 45, 31, 60] * 50, "sex": ["F", "M"] * 100})
    >>> table = PrivateTable(frame, source="people", bounds={"age": (18, 90)},
    ...                      domains={"sex": ["F", "M"]})
    >>> answer = table.count(epsilon=0.5)
    >>> float(answer.table["noise_scale"].iloc[0])
    2.0
    >>> round(table.remaining, 6)
    0.5

    The same people in another order, with another column, still have only what is left:

    >>> shuffled = frame.sample(frac=1, random_state=0).assign(extra=1)
    >>> PrivateTable(shuffled, source="people").spent
    0.5
    >>> os.environ["HOME"] = home
    """

    def __init__(
        self,
        data,
        *,
        source,
        epsilon: float | None = None,
        delta: float | None = None,
        privacy_unit: str | None = None,
        bounds: dict | None = None,
        domains: dict | None = None,
        ci: float = 0.95,
        budget_path=None,
        ledger=None,
    ) -> None:
        self.ledger = ledger
        if not CI.accepts(ci):
            raise ParameterError(f"PrivateTable(): ci must be {CI.describe()}; got {ci!r}.")
        self.ci = float(ci)
        frame = _frame_of(data)
        self.source = open_source(
            source,
            epsilon=epsilon,
            delta=delta,
            privacy_unit=privacy_unit,
            budget_path=budget_path,
        )
        self._frame = self.source.prepare(frame)
        self.bounds = {}
        for name, pair in (bounds or {}).items():
            self._column(name)
            try:
                lo, hi = (float(pair[0]), float(pair[1]))
            except (TypeError, ValueError, IndexError):
                raise ParameterError(
                    f"PrivateTable(): bounds[{name!r}] must be (lower, upper); got {pair!r}."
                ) from None
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                raise ParameterError(
                    f"PrivateTable(): bounds[{name!r}] must be finite with lower < upper; got "
                    f"{pair}."
                )
            self.bounds[name] = (lo, hi)
        self.domains = {}
        for name, values in (domains or {}).items():
            self._column(name)
            self.domains[name] = _check_domain(name, values, self._frame[name])
        dp = _opendp()
        self._frame_domain = dp.user_domain(
            "RaikitPrivateFrame", lambda value: isinstance(value, pd.DataFrame)
        )
        self._metric = dp.symmetric_distance()

    # ----------------------------------------------------------------- budget
    @property
    def epsilon(self) -> float:
        """Total epsilon budget of the data source."""
        return self.source.epsilon

    @property
    def delta(self) -> float:
        """Total delta budget of the data source."""
        return self.source.delta

    @property
    def privacy_unit(self) -> str:
        """What one protected person is: ``"row"`` or the source's id column."""
        return self.source.privacy_unit

    @property
    def spent(self) -> float:
        """Epsilon spent so far on the data source, over every session and release."""
        return self.source.spent

    @property
    def remaining(self) -> float:
        """Epsilon still available."""
        return self.source.remaining

    @property
    def odometer(self) -> pd.DataFrame:
        """Every release from the data source: time, query, epsilon, delta, noise, mechanism."""
        return self.source.odometer

    # ----------------------------------------------------------------- building blocks
    def _column(self, name: str) -> pd.Series:
        if name not in self._frame.columns:
            raise ColumnError(
                f"Column {name!r} is not in the table; columns are {list(self._frame.columns)}."
            )
        return self._frame[name]

    def _bounds_of(self, name: str) -> tuple[float, float]:
        series = self._column(name)
        if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            raise DataError(f"Column {name!r} is not numeric (dtype {series.dtype}).")
        if name not in self.bounds:
            raise ParameterError(
                f"Numeric column {name!r} has no bounds. Pass {hint('bounds', name)}, chosen "
                "from domain knowledge (not from the data); values outside are clamped."
            )
        return self.bounds[name]

    def _domain_of(self, name: str) -> list:
        series = self._column(name)
        if name in self.domains:
            return self.domains[name]
        if pd.api.types.is_bool_dtype(series):
            return [False, True]
        raise ParameterError(
            f"Group-by key {name!r} has no declared public domain: reading its values off the "
            "data would reveal who is in it (a value held by one person). Pass "
            f"{hint('domains', name)} with the list of values known without looking at the data."
        )

    def _select(self, function, output_domain, output_metric=None, stability=None):
        dp = _opendp()
        return dp.t.make_user_transformation(
            self._frame_domain,
            self._metric,
            output_domain,
            output_metric or self._metric,
            function,
            stability or (lambda d_in: d_in),
        )

    def _numeric(self, name: str):
        dp = _opendp()
        lo, hi = self._bounds_of(name)
        column = self._select(
            lambda frame: frame[name].dropna().to_numpy(dtype=float, copy=True),
            dp.vector_domain(dp.atom_domain(T=float, nan=False)),
        )
        return column >> dp.t.then_clamp((lo, hi)), lo, hi

    def _rows(self, name: str | None = None):
        dp = _opendp()
        if name is None:
            function = lambda frame: np.zeros(len(frame), dtype=np.int64)  # noqa: E731
        else:
            self._column(name)
            function = lambda frame: np.zeros(int(frame[name].notna().sum()), dtype=np.int64)  # noqa: E731
        return self._select(function, dp.vector_domain(dp.atom_domain(T=dp.i64)))

    def _keys(self, by):
        dp = _opendp()
        names = [by] if isinstance(by, str) else list(by)
        if not names:
            raise ParameterError("group_by(): by needs at least one key column.")
        domains = [self._domain_of(name) for name in names]
        index = pd.MultiIndex.from_product(domains, names=names)
        n_cells = len(index)

        def codes(frame: pd.DataFrame) -> np.ndarray:
            code = np.zeros(len(frame), dtype=np.int64)
            valid = np.ones(len(frame), dtype=bool)
            for name, domain in zip(names, domains, strict=True):
                part = pd.Categorical(frame[name], categories=domain).codes.astype(np.int64)
                valid &= part >= 0
                code = code * len(domain) + part
            return np.where(valid, code, -1)

        return names, index.to_frame(index=False), n_cells, codes, dp

    def _release(self, query: str, build, epsilon, *, mechanism: str):
        dp = _opendp()
        epsilon = check_epsilon(
            epsilon, hint("epsilon"), caller=f"PrivateTable.{query.split('(')[0].strip()}"
        )
        d_in = self.source.d_in
        scale, measurement = _fit_scale(build, epsilon, d_in)
        cost = float(measurement.map(d_in))
        # Committed before the measurement runs; never refunded (whether a release fails can
        # depend on the data).
        self.source.spend(query, epsilon=cost, noise_scale=float(scale), mechanism=mechanism)
        try:
            released = measurement(self._frame)
        except dp.OpenDPException as exc:
            raise RaikitError(f"OpenDP could not answer {query!r}: {exc}") from None
        return released, float(scale), cost

    def _alpha(self, parts: int = 1) -> float:
        return (1 - self.ci) / parts

    def _answer(self, query, table, cost, mechanism) -> PrivateAnswer:
        return PrivateAnswer(
            query=query,
            table=table,
            epsilon=cost,
            ci=self.ci,
            mechanism=mechanism,
            source=self.source.name,
        )

    # ----------------------------------------------------------------- queries
    # Each public query is recorded once, as ``privacy.query``, in the table's ledger (or the
    # active track run); a query made inside another (``sql``) records nothing of its own.
    @recorded("privacy.query")
    def count(self, column: str | None = None, *, epsilon: float) -> PrivateAnswer:
        """Noisy number of rows (or of non-missing values of ``column``).

        Examples
        --------
        >>> import os, tempfile, pandas as pd
        >>> home, os.environ["HOME"] = os.environ["HOME"], tempfile.mkdtemp()  # a private registry
        >>> _ = PrivacySource.register("counts", epsilon=1)
        >>> table = PrivateTable(pd.DataFrame({"x": range(500)}), source="counts")
        >>> bool(abs(table.count(epsilon=1).value - 500) < 40)
        True
        >>> os.environ["HOME"] = home
        """
        dp = _opendp()
        rows = self._rows(column)
        query = f"count({column or '*'})"

        def build(scale):
            return rows >> dp.t.then_count() >> dp.m.then_laplace(scale)

        released, scale, cost = self._release(query, build, epsilon, mechanism="discrete laplace")
        half = float(dp.discrete_laplacian_scale_to_accuracy(scale, self._alpha()))
        table = pd.DataFrame(
            {"value": [float(released)], "lower": [released - half], "upper": [released + half]}
        )
        table["noise_scale"] = scale
        return self._answer(query, table, cost, "discrete laplace")

    @recorded("privacy.query")
    def sum(self, column: str, *, epsilon: float) -> PrivateAnswer:
        """Noisy sum of ``column`` clamped to its bounds."""
        dp = _opendp()
        clamped, _, _ = self._numeric(column)
        query = f"sum({column})"

        def build(scale):
            return clamped >> dp.t.then_sum() >> dp.m.then_laplace(scale)

        released, scale, cost = self._release(query, build, epsilon, mechanism="laplace")
        half = float(dp.laplacian_scale_to_accuracy(scale, self._alpha()))
        table = pd.DataFrame(
            {"value": [released], "lower": [released - half], "upper": [released + half]}
        )
        table["noise_scale"] = scale
        return self._answer(query, table, cost, "laplace")

    def _sum_count(self, column, epsilon, query, extra_square: bool = False):
        """Noisy (sum, count[, sum of squares]) composed in one OpenDP measurement."""
        dp = _opendp()
        clamped, lo, hi = self._numeric(column)
        width = max(abs(lo), abs(hi))
        counter = self._rows(column) >> dp.t.then_count()
        summer = clamped >> dp.t.then_sum()
        sq_hi = width**2
        squares = None
        if extra_square:
            squares = (
                self._select(
                    lambda frame: np.square(
                        np.clip(frame[column].dropna().to_numpy(dtype=float), lo, hi)
                    ),
                    dp.vector_domain(dp.atom_domain(T=float, nan=False)),
                )
                >> dp.t.then_clamp((0.0, sq_hi))
                >> dp.t.then_sum()
            )

        def build(scale):
            parts = [
                summer >> dp.m.then_laplace(scale * width),
                counter >> dp.m.then_laplace(scale),
            ]
            if squares is not None:
                parts.append(squares >> dp.m.then_laplace(scale * sq_hi))
            return dp.c.make_composition(parts)

        released, scale, cost = self._release(query, build, epsilon, mechanism="laplace")
        parts = 3 if extra_square else 2
        scales = [scale * width, scale] + ([scale * sq_hi] if extra_square else [])
        halves = [
            float(dp.laplacian_scale_to_accuracy(scales[0], self._alpha(parts))),
            float(dp.discrete_laplacian_scale_to_accuracy(scales[1], self._alpha(parts))),
        ]
        if extra_square:
            halves.append(float(dp.laplacian_scale_to_accuracy(scales[2], self._alpha(parts))))
        return [float(v) for v in released], halves, scales, cost, (lo, hi)

    @recorded("privacy.query")
    def mean(self, column: str, *, epsilon: float) -> PrivateAnswer:
        """Noisy mean: a noisy clamped sum over a noisy count, each half of ``epsilon``.

        The interval is the ratio's range over the sum's and count's intervals (each at
        ``(1 - ci) / 2``), clipped to the bounds: conservative.
        """
        query = f"mean({column})"
        (s, n), (hs, hn), scales, cost, (lo, hi) = self._sum_count(column, epsilon, query)
        n_lo = max(n - hn, 1.0)
        corners = np.array(
            [(s - hs) / n_lo, (s + hs) / n_lo, (s - hs) / (n + hn), (s + hs) / (n + hn)]
        )
        value = float(np.clip(s / max(n, 1.0), lo, hi))
        table = pd.DataFrame(
            {
                "value": [value],
                "lower": [float(np.clip(corners.min(), lo, hi))],
                "upper": [float(np.clip(corners.max(), lo, hi))],
                "noise_scale": [scales[0] / max(n, 1.0)],
            }
        )
        return self._answer(query, table, cost, "laplace (sum / count)")

    @recorded("privacy.query")
    def variance(self, column: str, *, epsilon: float) -> PrivateAnswer:
        """Noisy variance from noisy count, sum and sum of squares (a third of epsilon each)."""
        query = f"variance({column})"
        (s, n, q), (hs, hn, hq), scales, cost, (lo, hi) = self._sum_count(
            column, epsilon, query, extra_square=True
        )
        top = ((hi - lo) / 2) ** 2
        n_safe = max(n, 2.0)
        value = float(np.clip(q / n_safe - (s / n_safe) ** 2, 0, top))
        grid = np.array(
            [
                qq / nn - (ss / nn) ** 2
                for qq in (q - hq, q + hq)
                for nn in (max(n - hn, 1.0), n + hn)
                for ss in (s - hs, s + hs, 0.0 if (s - hs) < 0 < (s + hs) else s)
            ]
        )
        table = pd.DataFrame(
            {
                "value": [value],
                "lower": [float(np.clip(grid.min(), 0, top))],
                "upper": [float(np.clip(grid.max(), 0, top))],
                "noise_scale": [scales[2] / n_safe],
            }
        )
        return self._answer(query, table, cost, "laplace (moments)")

    def _bin_counts(self, column, bins, epsilon, query):
        dp = _opendp()
        clamped, lo, hi = self._numeric(column)
        edges = np.linspace(lo, hi, int(bins) + 1)
        binned = (
            clamped
            >> dp.t.then_find_bin(edges=edges[1:-1].tolist())
            >> dp.t.then_count_by_categories(categories=list(range(int(bins))), null_category=False)
        )

        def build(scale):
            return binned >> dp.m.then_laplace(scale)

        released, scale, cost = self._release(query, build, epsilon, mechanism="discrete laplace")
        return np.asarray(released, dtype=float), edges, scale, cost

    @recorded("privacy.query")
    @validate_params(bins=Interval(int, 2, None))
    def histogram(self, column: str, *, epsilon: float, bins: int = 10) -> PrivateAnswer:
        """Noisy counts per category (categorical/boolean) or per equal-width bin within bounds."""
        dp = _opendp()
        series = self._column(column)
        query = f"histogram({column})"
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            counts, edges, scale, cost = self._bin_counts(column, bins, epsilon, query)
            keys = pd.DataFrame({"bin_lower": edges[:-1], "bin_upper": edges[1:]})
        else:
            return self.group_by(column, epsilon=epsilon)
        half = float(dp.discrete_laplacian_scale_to_accuracy(scale, self._alpha()))
        table = keys.assign(value=counts, lower=counts - half, upper=counts + half)
        table["noise_scale"] = scale
        return self._answer(query, table, cost, "discrete laplace")

    @recorded("privacy.query")
    @validate_params(q=Interval(float, 0, 1), bins=Interval(int, 2, None))
    def quantile(
        self, column: str, q: float = 0.5, *, epsilon: float, bins: int = 200
    ) -> PrivateAnswer:
        """Noisy ``q``-quantile read off a noisy histogram of ``bins`` bins within the bounds.

        The interval is conservative: every bin's noise is bounded jointly (union bound), and the
        cumulative error of the first ``j`` bins by ``j`` times that.
        """
        dp = _opendp()
        query = f"quantile({column}, {q:g})"
        counts, edges, scale, cost = self._bin_counts(column, bins, epsilon, query)
        k = len(counts)
        a = float(dp.discrete_laplacian_scale_to_accuracy(scale, self._alpha(k)))
        cum = np.cumsum(np.clip(counts, 0, None))
        total = cum[-1]
        err = a * np.arange(1, k + 1)

        def first(mask):
            hits = np.flatnonzero(mask)
            return edges[hits[0] + 1] if len(hits) else edges[-1]

        value = first(cum >= q * total)
        lower = min(first(cum + err >= q * max(cum[-1] - k * a, 0)), value)
        upper = max(first(cum - err >= q * (cum[-1] + k * a)), value)
        table = pd.DataFrame(
            {"value": [value], "lower": [lower], "upper": [upper], "noise_scale": [scale]}
        )
        return self._answer(query, table, cost, "discrete laplace histogram")

    @recorded("privacy.query")
    @validate_params(agg=Options("count", "sum", "mean"), column=[str, None])
    def group_by(
        self, by, *, epsilon: float, column: str | None = None, agg: str = "count"
    ) -> PrivateAnswer:
        """Noisy count (or ``agg="mean"``/``"sum"`` of ``column``) per group of ``by``.

        Groups come from each key's declared public domain (``domains=``; never from the data),
        so empty groups are released too and the presence of a group reveals nothing. A row is in
        one group (parallel composition). Intervals are per group, not simultaneous.
        """
        dp = _opendp()
        if agg != "count" and column is None:
            raise ParameterError(f"group_by(): agg={agg!r} needs column=.")
        names, keys, n_cells, codes, _ = self._keys(by)
        query = f"{agg}({column or '*'}) by {', '.join(names)}"
        if agg != "count":
            return self._grouped_sum(query, keys, n_cells, codes, column, agg, epsilon)
        cell_domain = dp.vector_domain(dp.atom_domain(T=dp.i64))
        coded = self._select(lambda frame: codes(frame), cell_domain)
        counter = coded >> dp.t.then_count_by_categories(
            categories=list(range(n_cells)), null_category=False
        )

        def build(scale):
            return counter >> dp.m.then_laplace(scale)

        released, scale, cost = self._release(query, build, epsilon, mechanism="discrete laplace")
        counts = np.asarray(released, dtype=float)
        half = float(dp.discrete_laplacian_scale_to_accuracy(scale, self._alpha()))
        table = keys.assign(value=counts, lower=counts - half, upper=counts + half)
        table["noise_scale"] = scale
        return self._answer(query, table, cost, "discrete laplace")

    def _grouped_sum(self, query, keys, n_cells, codes, column, agg, epsilon) -> PrivateAnswer:
        """Noisy clamped sum per group (and, for a mean, a noisy count per group beside it)."""
        dp = _opendp()
        lo, hi = self._bounds_of(column)
        width = max(abs(lo), abs(hi))
        cell_domain = dp.vector_domain(dp.atom_domain(T=dp.i64))

        def sums(frame: pd.DataFrame) -> np.ndarray:
            code = codes(frame)
            values = frame[column].to_numpy(dtype=float, na_value=np.nan)
            keep = (code >= 0) & ~np.isnan(values)
            return np.bincount(
                code[keep], weights=np.clip(values[keep], lo, hi), minlength=n_cells
            ).astype(float)

        summer = self._select(
            sums,
            dp.vector_domain(dp.atom_domain(T=float, nan=False), size=n_cells),
            dp.l1_distance(T=float),
            lambda d_in: float(d_in) * width,
        )
        present = self._select(
            lambda frame: codes(frame)[frame[column].notna().to_numpy()], cell_domain
        ) >> dp.t.then_count_by_categories(categories=list(range(n_cells)), null_category=False)

        def build(scale):
            parts = [summer >> dp.m.then_laplace(scale * width)]
            if agg == "mean":
                parts.append(present >> dp.m.then_laplace(scale))
            return dp.c.make_composition(parts)

        released, scale, cost = self._release(query, build, epsilon, mechanism="laplace")
        s = np.asarray(released[0], dtype=float)
        parts = 2 if agg == "mean" else 1
        hs = float(dp.laplacian_scale_to_accuracy(scale * width, self._alpha(parts)))
        if agg == "sum":
            table = keys.assign(value=s, lower=s - hs, upper=s + hs, noise_scale=scale * width)
            return self._answer(query, table, cost, "laplace")
        n = np.asarray(released[1], dtype=float)
        hn = float(dp.discrete_laplacian_scale_to_accuracy(scale, self._alpha(parts)))
        n_lo = np.maximum(n - hn, 1.0)
        corners = np.stack(
            [(s - hs) / n_lo, (s + hs) / n_lo, (s - hs) / (n + hn), (s + hs) / (n + hn)]
        )
        table = keys.assign(
            value=np.clip(s / np.maximum(n, 1.0), lo, hi),
            lower=np.clip(corners.min(axis=0), lo, hi),
            upper=np.clip(corners.max(axis=0), lo, hi),
            noise_scale=scale * width / np.maximum(n, 1.0),
        )
        return self._answer(query, table, cost, "laplace (sum / count)")

    @recorded("privacy.query")
    @validate_params(query=str)
    def sql(self, query: str, *, epsilon: float) -> PrivateAnswer:
        """Answer an aggregate SQL query; ``epsilon`` is split evenly between its aggregates.

        Supported: ``SELECT [keys,] AGG(col)[, ...] FROM t [GROUP BY keys]`` with ``COUNT``,
        ``SUM``, ``AVG`` (grouped or not), ``VARIANCE``, ``MEDIAN`` and ``QUANTILE(col, q)``.

        Examples
        --------
        >>> import os, tempfile, pandas as pd
        >>> home, os.environ["HOME"] = os.environ["HOME"], tempfile.mkdtemp()  # a private registry
        >>> _ = PrivacySource.register("ages", epsilon=2)
        >>> frame = pd.DataFrame({"sex": ["F", "M"] * 200, "age": [30, 50] * 200})
        >>> table = PrivateTable(frame, source="ages", bounds={"age": (0, 100)},
        ...                      domains={"sex": ["F", "M"]})
        >>> answer = table.sql("SELECT sex, COUNT(*), AVG(age) FROM t GROUP BY sex", epsilon=1)
        >>> answer.table[["sex", "aggregate"]].values.tolist()
        [['F', 'COUNT(*)'], ['M', 'COUNT(*)'], ['F', 'AVG(age)'], ['M', 'AVG(age)']]
        >>> os.environ["HOME"] = home
        """
        from raikit.privacy._sql import run_sql

        return run_sql(self, query, epsilon=epsilon)

    def __repr__(self) -> str:
        return (
            f"PrivateTable({len(self._frame.columns)} columns, epsilon={self.epsilon:g}, "
            f"spent={self.spent:.4g})"
        )
