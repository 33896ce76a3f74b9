"""Differentially private aggregates over a table, with a persistent budget odometer.

Every mechanism and every privacy-loss figure comes from OpenDP: a query is an OpenDP measurement
(column selection, clamping, counting or summing, then Laplace noise); its noise scale is found with
``opendp.binary_search_param`` so that its OpenDP privacy map stays within the epsilon asked for; it
is run through an OpenDP privacy filter over a fully adaptive composition, which refuses any query
that would overspend. The spend is also kept in a small SQLite file keyed by a hash of the data's
content, so reopening the same data (in a new process, a week later) continues the same budget.

The privacy unit is one row (add/remove neighbouring tables); all queries are pure epsilon-DP, so
``delta`` is reserved in the budget but not spent.
"""

from __future__ import annotations

import hashlib
import math
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from raikit._errors import ColumnError, DataError, RaikitError
from raikit._result import Result

__all__ = ["BudgetExceededError", "PrivateAnswer", "PrivateTable"]

_TOL = 1e-9


class BudgetExceededError(RaikitError, ValueError):
    """A differentially private query would spend more than the remaining privacy budget."""


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
    try:
        value = float(epsilon)
    except (TypeError, ValueError):
        raise DataError(f"{what} must be a positive number, got {epsilon!r}.") from None
    if not math.isfinite(value) or value <= 0:
        raise DataError(
            f"{what} must be a positive, finite number, got {epsilon!r}. Smaller is more private; "
            "0.1 to 10 is the usual range."
        )
    return value


def _data_hash(frame: pd.DataFrame, privacy_unit: str) -> str:
    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    digest = hashlib.sha256(hashed.tobytes())
    digest.update("\x1f".join(map(str, frame.columns)).encode())
    digest.update(privacy_unit.encode())
    return digest.hexdigest()


def _default_budget_path() -> Path:
    env = os.environ.get("RAIKIT_PRIVACY_BUDGET")
    return Path(env) if env else Path.home() / ".raikit" / "privacy_budget.sqlite"


def _fit_scale(build, epsilon: float):
    """Smallest noise scale whose OpenDP privacy map stays within ``epsilon``.

    Laplace losses fall as ``1 / scale``, so one evaluation gives the scale; it is then nudged up
    until OpenDP's own map certifies it (float rounding), with a binary search as a fallback.
    """
    dp = _opendp()
    scale = float(build(1.0).map(1)) / epsilon
    for step in range(30):
        measurement = build(scale)
        if measurement.map(1) <= epsilon:
            return scale, measurement
        scale *= 1 + 1e-12 * 4**step
    scale = dp.binary_search_param(build, d_in=1, d_out=epsilon)
    return scale, build(scale)


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
    """

    query: str
    table: pd.DataFrame
    epsilon: float
    ci: float
    mechanism: str
    findings: tuple = ()

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
    """Differentially private aggregates over a table, with an enforced, persistent budget.

    Parameters
    ----------
    data : DataFrame, polars DataFrame or raikit.Dataset
        The private table. Its content is hashed to key the budget.
    epsilon : float
        Total privacy budget over every query ever asked of this data.
    delta : float, default 1e-6
        Total delta budget (reserved; the Laplace queries here are pure DP and spend none).
    bounds : dict, optional
        ``{column: (lower, upper)}`` for numeric columns. Values are clamped to them. Choose them
        from domain knowledge, never from the data.
    privacy_unit : {"row"}
        What is protected: one row.
    domains : dict, optional
        ``{column: [values...]}`` public domain of a group-by key that is not categorical/boolean.
    ci : float, default 0.95
        Confidence level of every answer's interval.
    budget_path : str or Path, optional
        SQLite file of the odometer. Default ``$RAIKIT_PRIVACY_BUDGET`` or
        ``~/.raikit/privacy_budget.sqlite``.
    ledger : raikit.ledger.Ledger, optional
        Every answer is recorded there (or in the active ``raikit.track`` run) as
        ``privacy.query`` evidence.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> from raikit.privacy import PrivateTable
    >>> frame = pd.DataFrame({"age": [23, 45, 31, 60] * 50, "sex": ["F", "M"] * 100})
    >>> path = tempfile.mkdtemp() + "/budget.sqlite"
    >>> table = PrivateTable(frame, epsilon=1.0, bounds={"age": (18, 90)}, budget_path=path)
    >>> answer = table.count(epsilon=0.5)
    >>> float(answer.table["noise_scale"].iloc[0])
    2.0
    >>> round(table.remaining, 6)
    0.5
    >>> PrivateTable(frame, epsilon=1.0, bounds={"age": (18, 90)}, budget_path=path).spent
    0.5
    """

    def __init__(
        self,
        data,
        *,
        epsilon: float,
        delta: float = 1e-6,
        bounds: dict | None = None,
        privacy_unit: str = "row",
        domains: dict | None = None,
        ci: float = 0.95,
        budget_path=None,
        ledger=None,
    ) -> None:
        self._ledger = ledger
        self.epsilon = _check_epsilon(epsilon)
        if not (0 <= float(delta) < 1):
            raise DataError(f"delta must be in [0, 1), got {delta!r}.")
        self.delta = float(delta)
        if privacy_unit != "row":
            raise DataError(
                f"privacy_unit={privacy_unit!r} is not supported; only 'row' (each person is one "
                "row) is. Aggregate to one row per person first."
            )
        if not (0 < ci < 1):
            raise DataError(f"ci must be in (0, 1), got {ci!r}.")
        self.privacy_unit = privacy_unit
        self.ci = float(ci)
        frame = getattr(data, "frame", data)
        if hasattr(frame, "to_pandas") and not isinstance(frame, pd.DataFrame):
            frame = frame.to_pandas()
        if not isinstance(frame, pd.DataFrame):
            raise DataError(
                f"PrivateTable needs a DataFrame or raikit.Dataset, got {type(data).__name__}."
            )
        self._frame = frame
        self.bounds = {}
        for name, pair in (bounds or {}).items():
            self._column(name)
            try:
                lo, hi = (float(pair[0]), float(pair[1]))
            except (TypeError, ValueError, IndexError):
                raise DataError(f"bounds[{name!r}] must be (lower, upper), got {pair!r}.") from None
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                raise DataError(f"bounds[{name!r}] must be finite with lower < upper, got {pair}.")
            self.bounds[name] = (lo, hi)
        self.domains = {name: list(values) for name, values in (domains or {}).items()}
        self.data_hash = _data_hash(frame, privacy_unit)
        self.budget_path = Path(budget_path) if budget_path else _default_budget_path()
        self.budget_path.parent.mkdir(parents=True, exist_ok=True)
        self._open_store()
        dp = _opendp()
        self._frame_domain = dp.user_domain(
            "RaikitPrivateFrame", lambda value: isinstance(value, pd.DataFrame)
        )
        self._metric = dp.symmetric_distance()
        odometer = dp.c.make_fully_adaptive_composition(
            self._frame_domain, self._metric, dp.max_divergence()
        )
        self._session_budget = max(self.remaining, 0.0)
        self._queryable = (
            dp.c.make_privacy_filter(odometer, d_in=1, d_out=self._session_budget)(self._frame)
            if self._session_budget > 0
            else None
        )

    # ----------------------------------------------------------------- budget store
    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.budget_path, timeout=30, isolation_level=None)

    def _open_store(self) -> None:
        with self._connect() as con:
            con.execute(
                "CREATE TABLE IF NOT EXISTS budgets (data_hash TEXT PRIMARY KEY, epsilon REAL, "
                "delta REAL, created REAL)"
            )
            con.execute(
                "CREATE TABLE IF NOT EXISTS queries (id INTEGER PRIMARY KEY, data_hash TEXT, "
                "created REAL, query TEXT, epsilon REAL, delta REAL, noise_scale REAL, "
                "mechanism TEXT)"
            )
            row = con.execute(
                "SELECT epsilon, delta FROM budgets WHERE data_hash = ?", (self.data_hash,)
            ).fetchone()
            if row is None:
                con.execute(
                    "INSERT INTO budgets VALUES (?, ?, ?, ?)",
                    (self.data_hash, self.epsilon, self.delta, time.time()),
                )
            elif abs(row[0] - self.epsilon) > _TOL or abs(row[1] - self.delta) > _TOL:
                raise BudgetExceededError(
                    f"This data already has a privacy budget of epsilon={row[0]}, delta={row[1]} "
                    f"in {self.budget_path}; a budget cannot be changed once set. Pass "
                    f"epsilon={row[0]}, delta={row[1]}."
                )
        con.close()

    @property
    def spent(self) -> float:
        """Epsilon spent so far on this data, over every session."""
        con = self._connect()
        try:
            (value,) = con.execute(
                "SELECT COALESCE(SUM(epsilon), 0) FROM queries WHERE data_hash = ?",
                (self.data_hash,),
            ).fetchone()
        finally:
            con.close()
        return float(value)

    @property
    def remaining(self) -> float:
        """Epsilon still available."""
        return max(self.epsilon - self.spent, 0.0)

    @property
    def odometer(self) -> pd.DataFrame:
        """Every query asked of this data: time, query, epsilon, delta, noise scale, mechanism."""
        con = self._connect()
        try:
            frame = pd.read_sql_query(
                "SELECT created, query, epsilon, delta, noise_scale, mechanism FROM queries "
                "WHERE data_hash = ? ORDER BY id",
                con,
                params=(self.data_hash,),
            )
        finally:
            con.close()
        frame["created"] = pd.to_datetime(frame["created"], unit="s")
        frame["cumulative_epsilon"] = frame["epsilon"].cumsum()
        return frame

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
            raise DataError(
                f"Numeric column {name!r} has no bounds. Pass bounds={{{name!r}: (lower, upper)}} "
                "to PrivateTable, chosen from domain knowledge (not from the data); values outside "
                "are clamped."
            )
        return self.bounds[name]

    def _domain_of(self, name: str) -> list:
        series = self._column(name)
        if name in self.domains:
            return self.domains[name]
        if isinstance(series.dtype, pd.CategoricalDtype):
            return list(series.cat.categories)
        if pd.api.types.is_bool_dtype(series):
            return [False, True]
        raise DataError(
            f"Group-by key {name!r} has an unbounded domain (dtype {series.dtype}): listing its "
            "values would reveal who is in the data. Pass domains={"
            f"{name!r}: [...]}} with the public list of values, or make it a pandas 'category'."
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
            raise DataError("group_by needs at least one key column.")
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
        epsilon = _check_epsilon(epsilon, "query epsilon")
        remaining = self.remaining
        if epsilon > remaining + _TOL or self._queryable is None:
            raise BudgetExceededError(
                f"Query {query!r} needs epsilon={epsilon:g} but only {remaining:.6g} of the "
                f"budget {self.epsilon:g} remains for this data (spent {self.spent:.6g}). Ask fewer "
                "or cheaper queries; the budget cannot be reset."
            )
        scale, measurement = _fit_scale(build, epsilon)
        cost = float(measurement.map(1))
        con = self._connect()
        try:
            con.execute("BEGIN IMMEDIATE")
            (spent,) = con.execute(
                "SELECT COALESCE(SUM(epsilon), 0) FROM queries WHERE data_hash = ?",
                (self.data_hash,),
            ).fetchone()
            if spent + cost > self.epsilon + _TOL:
                con.execute("ROLLBACK")
                raise BudgetExceededError(
                    f"Query {query!r} needs epsilon={cost:.6g} but only "
                    f"{self.epsilon - spent:.6g} remains of the budget {self.epsilon:g}."
                )
            cursor = con.execute(
                "INSERT INTO queries (data_hash, created, query, epsilon, delta, noise_scale, "
                "mechanism) VALUES (?, ?, ?, ?, 0, ?, ?)",
                (self.data_hash, time.time(), query, cost, float(scale), mechanism),
            )
            con.execute("COMMIT")
            row_id = cursor.lastrowid
        finally:
            con.close()
        try:
            released = self._queryable(measurement)
        except dp.OpenDPException as exc:
            con = self._connect()
            con.execute("DELETE FROM queries WHERE id = ?", (row_id,))
            con.close()
            if "exhausted" in str(exc) or "exceed" in str(exc):
                raise BudgetExceededError(
                    f"Query {query!r} (epsilon={cost:.6g}) was refused by the OpenDP privacy "
                    f"filter: it would exceed the remaining budget of this session."
                ) from None
            raise RaikitError(f"OpenDP could not answer {query!r}: {exc}") from None
        return released, float(scale), cost

    def _alpha(self, parts: int = 1) -> float:
        return (1 - self.ci) / parts

    def _answer(self, query, table, cost, mechanism) -> PrivateAnswer:
        from raikit.ledger import record

        answer = PrivateAnswer(
            query=query, table=table, epsilon=cost, ci=self.ci, mechanism=mechanism
        )
        record(
            answer,
            check="privacy.query",
            ledger=self._ledger,
            params={
                "query": query,
                "epsilon": cost,
                "budget": self.epsilon,
                "data_hash": self.data_hash,
            },
        )
        return answer

    # ----------------------------------------------------------------- queries
    def count(self, column: str | None = None, *, epsilon: float) -> PrivateAnswer:
        """Noisy number of rows (or of non-missing values of ``column``).

        Examples
        --------
        >>> import tempfile, pandas as pd
        >>> table = PrivateTable(pd.DataFrame({"x": range(500)}), epsilon=1,
        ...                      budget_path=tempfile.mkdtemp() + "/b.sqlite")
        >>> bool(abs(table.count(epsilon=1).value - 500) < 40)
        True
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
        if int(bins) < 2:
            raise DataError(f"bins must be at least 2, got {bins!r}.")
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

    def quantile(
        self, column: str, q: float = 0.5, *, epsilon: float, bins: int = 200
    ) -> PrivateAnswer:
        """Noisy ``q``-quantile read off a noisy histogram of ``bins`` bins within the bounds.

        The interval is conservative: every bin's noise is bounded jointly (union bound), and the
        cumulative error of the first ``j`` bins by ``j`` times that.
        """
        dp = _opendp()
        if not 0 <= float(q) <= 1:
            raise DataError(f"q must be in [0, 1], got {q!r}.")
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

    def group_by(
        self, by, *, epsilon: float, column: str | None = None, agg: str = "count"
    ) -> PrivateAnswer:
        """Noisy count (or ``agg="mean"``/``"sum"`` of ``column``) per group of ``by``.

        Groups come from each key's public domain (its categories), so empty groups are released
        too and the presence of a group reveals nothing. One person is in one group (parallel
        composition). Intervals are per group, not simultaneous.
        """
        dp = _opendp()
        if agg not in ("count", "sum", "mean"):
            raise DataError(f"agg must be 'count', 'sum' or 'mean', got {agg!r}.")
        if agg != "count" and column is None:
            raise DataError(f"agg={agg!r} needs column=.")
        names, keys, n_cells, codes, _ = self._keys(by)
        label = ", ".join(names)
        query = f"{agg}({column or '*'}) by {label}"
        cell_domain = dp.vector_domain(dp.atom_domain(T=dp.i64))
        coded = self._select(lambda frame: codes(frame), cell_domain)
        counter = coded >> dp.t.then_count_by_categories(
            categories=list(range(n_cells)), null_category=False
        )
        if agg == "count":

            def build(scale):
                return counter >> dp.m.then_laplace(scale)

            released, scale, cost = self._release(
                query, build, epsilon, mechanism="discrete laplace"
            )
            counts = np.asarray(released, dtype=float)
            half = float(dp.discrete_laplacian_scale_to_accuracy(scale, self._alpha()))
            table = keys.assign(value=counts, lower=counts - half, upper=counts + half)
            table["noise_scale"] = scale
            return self._answer(query, table, cost, "discrete laplace")

        lo, hi = self._bounds_of(column)
        width = max(abs(lo), abs(hi))

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

    def sql(self, query: str, *, epsilon: float) -> PrivateAnswer:
        """Answer an aggregate SQL query; ``epsilon`` is split evenly between its aggregates.

        Supported: ``SELECT [keys,] AGG(col)[, ...] FROM t [GROUP BY keys]`` with ``COUNT``,
        ``SUM``, ``AVG`` (grouped or not), ``VARIANCE``, ``MEDIAN`` and ``QUANTILE(col, q)``.

        Examples
        --------
        >>> import tempfile, pandas as pd
        >>> frame = pd.DataFrame({"sex": pd.Categorical(["F", "M"] * 200), "age": [30, 50] * 200})
        >>> table = PrivateTable(frame, epsilon=2, bounds={"age": (0, 100)},
        ...                      budget_path=tempfile.mkdtemp() + "/b.sqlite")
        >>> answer = table.sql("SELECT sex, COUNT(*), AVG(age) FROM t GROUP BY sex", epsilon=1)
        >>> answer.table[["sex", "aggregate"]].values.tolist()
        [['F', 'COUNT(*)'], ['M', 'COUNT(*)'], ['F', 'AVG(age)'], ['M', 'AVG(age)']]
        """
        from raikit.privacy._sql import run_sql

        return run_sql(self, query, epsilon=epsilon)

    def __repr__(self) -> str:
        return (
            f"PrivateTable({len(self._frame.columns)} columns, epsilon={self.epsilon:g}, "
            f"spent={self.spent:.4g})"
        )
