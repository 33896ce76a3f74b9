"""``Monitor``: production inputs and predictions in windows — drift, prediction drift, and (once
labels arrive) performance and fairness with confidence intervals per group; alerts; all in the ledger.

Ingestion keeps only sufficient statistics: every monitored column is bucketed with bins fixed on
the reference (deciles for numbers, the reference categories plus "other" and "missing" for
categories) and counted with ``np.bincount``; drift tests (chi-square, PSI, Jensen–Shannon,
L-infinity) are computed from those counts when a window closes. Only the id, sensitive attributes,
prediction and score of each row are kept, to join labels and compute group metrics.

Ledger tables (created next to the ledger's own, in its database): ``monitor_windows`` (one row per
closed window with its evidence id), ``monitor_series`` (tidy time series: drift PSI per column,
selection rate and metrics per group with their intervals) and ``monitor_alerts``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from raikit._errors import ColumnError, DataError
from raikit._result import Finding, Result

__all__ = ["Monitor", "MonitorWindowResult", "monitor_history"]

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS monitor_windows (monitor TEXT NOT NULL, window INTEGER NOT NULL, "
    "window_start TEXT, window_end TEXT, n_rows INTEGER, n_late INTEGER, n_labelled INTEGER, "
    "n_alerts INTEGER, worst_severity TEXT, evidence_id TEXT, created_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS monitor_series (monitor TEXT NOT NULL, window INTEGER NOT NULL, "
    "kind TEXT NOT NULL, name TEXT NOT NULL, grp TEXT, value REAL, lower REAL, upper REAL, "
    "created_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS monitor_alerts (monitor TEXT NOT NULL, window INTEGER NOT NULL, "
    "severity TEXT, title TEXT, detail TEXT, slice TEXT, created_at TEXT NOT NULL)",
)
_METRICS = ["count", "accuracy", "selection_rate", "true_positive_rate", "false_positive_rate"]
_FAIRNESS = ("selection_rate", "true_positive_rate", "false_positive_rate")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class _Binner:
    """Bucket one column into bins fixed on the reference; last two buckets: other, missing."""

    def __init__(self, name: str, reference: pd.Series, bins: int) -> None:
        self.name = name
        numeric = pd.api.types.is_numeric_dtype(reference.dtype) and not pd.api.types.is_bool_dtype(
            reference.dtype
        )
        values = reference.to_numpy(dtype=float) if numeric else None
        if numeric and len(np.unique(values[~np.isnan(values)])) > bins:
            qs = np.nanquantile(values, np.linspace(0, 1, bins + 1)[1:-1])
            self.edges = np.unique(qs)
            self.kind = "numeric"
            self.labels = (
                [f"< {self.edges[0]:.4g}"]
                + [
                    f"[{a:.4g}, {b:.4g})"
                    for a, b in zip(self.edges[:-1], self.edges[1:], strict=True)
                ]
                + [f">= {self.edges[-1]:.4g}"]
            )
            self.k = len(self.edges) + 1
        else:
            self.kind = "categorical"
            levels = pd.unique(reference.dropna())
            self.categories = pd.Index(levels)
            self.labels = [str(v) for v in levels]
            self.k = len(levels)
        self.labels = [*self.labels, "(other)", "(missing)"]
        self.n_buckets = self.k + 2

    def codes(self, series: pd.Series) -> np.ndarray:
        if self.kind == "numeric":
            try:
                values = series.to_numpy(dtype=float, na_value=np.nan)
            except (TypeError, ValueError) as error:
                raise DataError(
                    f"Column {self.name!r} was numeric in the reference but holds non-numbers now."
                ) from error
            out = np.searchsorted(self.edges, values, side="right")
            out[np.isnan(values)] = self.k + 1
            return out
        if isinstance(series.dtype, pd.CategoricalDtype):
            lookup = self.categories.get_indexer(series.cat.categories)
            lookup = np.where(lookup < 0, self.k, lookup)
            raw = series.cat.codes.to_numpy()
            out = np.append(lookup, self.k + 1)[raw]  # code -1 (missing) picks the last entry
            return out
        out = self.categories.get_indexer(series.to_numpy())
        missing = series.isna().to_numpy()
        out = np.where(out < 0, self.k, out)
        out[missing] = self.k + 1
        return out

    def count(self, series: pd.Series) -> np.ndarray:
        return np.bincount(self.codes(series), minlength=self.n_buckets)


@dataclass(frozen=True, eq=False)
class MonitorWindowResult(Result):
    """One closed window of a :class:`Monitor`.

    Attributes
    ----------
    drift : DataFrame
        Per monitored column (features, ``prediction``, ``score``) and per slice (``attribute`` /
        ``group``: the whole window is ``overall``/``overall``, then every sensitive group):
        ``kind`` (``data`` or ``prediction``), rows, chi-square statistic and Benjamini–Hochberg
        adjusted p-value, PSI, JS distance, L-infinity distance and ``drifted``. Groups with fewer
        than ``min_group_size`` rows are not tested (NaN).
    histograms : DataFrame
        Tidy bucket shares: ``column``, ``bucket``, ``reference``, ``window``.
    selection : DataFrame
        Per sensitive attribute and group: rows, reference and window selection rate.
    metrics : DataFrame
        :func:`raikit.metrics.group_metrics` table of the labelled rows (empty without labels).
    disparities : DataFrame
        Its disparities (between groups) with intervals.
    start, end : str
        Time span of a time window (ISO 8601), or the first and last row number of a count window.
    n_late : int
        Rows whose timestamp belonged to an already closed window (counted in this one).
    findings : tuple of Finding
        The alerts.
    """

    monitor: str
    window: int
    n_rows: int
    n_labelled: int
    start: str
    end: str
    n_late: int
    drift: pd.DataFrame
    histograms: pd.DataFrame
    selection: pd.DataFrame
    metrics: pd.DataFrame
    disparities: pd.DataFrame
    findings: tuple = field(default_factory=tuple)

    @property
    def summary(self) -> str:
        whole = self.drift[self.drift["attribute"] == "overall"]
        drifted = whole.loc[whole["drifted"], "column"].tolist()
        return (
            f"Window {self.window} of {self.monitor!r}: {self.n_rows:,} rows, {self.n_labelled:,} "
            f"labelled; {len(drifted)} drifted column(s){': ' + ', '.join(drifted[:5]) if drifted else ''}"
            f"; {len(self.findings)} alert(s)."
        )

    def figures(self) -> list:
        import plotly.graph_objects as go

        from raikit._plots import error_bars

        d = self.drift[self.drift["attribute"] == "overall"].sort_values("psi", ascending=False)
        fig = go.Figure(go.Bar(x=d["column"], y=d["psi"], name="PSI"))
        fig.add_hline(y=0.2, line_dash="dash", annotation_text="PSI 0.2")
        fig.update_layout(title=f"Drift per column (PSI), window {self.window}")
        figures = [fig]
        s = self.selection
        sel = go.Figure()
        x = s["attribute"] + "=" + s["group"].astype(str)
        sel.add_bar(x=x, y=s["reference_rate"], name="reference")
        sel.add_bar(x=x, y=s["window_rate"], name=f"window {self.window}")
        sel.update_layout(title="Selection rate per group", barmode="group")
        figures.append(sel)
        if len(self.metrics):
            rows = self.metrics[
                (self.metrics["metric"] == "true_positive_rate")
                & (self.metrics["attribute"] != "overall")
            ]
            tpr = go.Figure(
                go.Bar(
                    x=rows["attribute"] + "=" + rows["group"].astype(str),
                    y=rows["value"],
                    error_y=error_bars(rows["value"], rows["lower"], rows["upper"]),
                )
            )
            tpr.update_layout(title="True positive rate per group (with CI)")
            figures.append(tpr)
        return figures


class Monitor:
    """Watch a deployed model: data drift, prediction drift, performance and fairness per window.

    Parameters
    ----------
    reference : Dataset
        What the model was validated on; its feature columns, ``prediction`` and ``score`` roles
        (when set) and sensitive attributes define what is monitored.
    ledger : Ledger or path
        Where windows, time series and alerts are stored.
    windows : int or str, default 10_000
        Rows per window (a window closes, and is stored, as soon as it is full), or a pandas
        frequency such as ``"1h"`` or ``"1D"`` for time windows over ``time_column`` (a window
        closes when a row of a later period arrives; rows of an already closed period are counted
        in the open window and reported as ``n_late``).
    time_column : str, optional
        Timestamp column of the batches; required for time windows.
    name : str, default "monitor"
        Name of this monitor in the ledger.
    id_column : str, optional
        Column of row ids in ingested batches, used to join labels that arrive later.
    bins : int, default 10
        Quantile bins of numeric columns, fixed on the reference.
    alpha : float, default 0.01
        Adjusted p-value below which a column may be called drifted (with ``psi_threshold``).
    psi_threshold : float, default 0.2
        PSI at or above which a column is drifted (both conditions must hold).
    fairness_tolerance : float, default 0.1
        Alert when a between-group difference of selection rate, TPR or FPR has its lower
        confidence bound above this.
    min_group_size : int, default 100
        Smallest group (in the reference and in a window) whose drift is tested.
    max_accuracy_drop : float, default 0.05
        Alert when a window's accuracy upper bound falls this far below the reference accuracy.
    ci, n_boot, random_state
        Bootstrap intervals of the labelled metrics.

    Examples
    --------
    >>> import tempfile
    >>> from raikit.datasets import load_german_credit
    >>> from raikit.ledger import Ledger
    >>> ds = load_german_credit()
    >>> ds = ds.replace(frame=ds.frame.assign(pred=ds.frame["credit"]), prediction="pred")
    >>> monitor = Monitor(ds, ledger=Ledger(tempfile.mkdtemp()), windows=500, n_boot=50)
    >>> results = monitor.ingest(ds.frame)
    >>> [r.n_rows for r in results]
    [500, 500]
    >>> bool(results[0].drift["drifted"].any())
    False
    """

    def __init__(
        self,
        reference,
        *,
        ledger,
        windows: int | str = 10_000,
        time_column: str | None = None,
        name: str = "monitor",
        id_column: str | None = None,
        bins: int = 10,
        alpha: float = 0.01,
        psi_threshold: float = 0.2,
        fairness_tolerance: float = 0.1,
        min_group_size: int = 100,
        max_accuracy_drop: float = 0.05,
        ci: float = 0.95,
        n_boot: int = 200,
        random_state=0,
    ) -> None:
        from raikit.dataset import Dataset
        from raikit.ledger import Ledger

        if not isinstance(reference, Dataset):
            raise DataError(
                f"reference must be a raikit.Dataset, got {type(reference).__name__}; wrap your "
                f"table with raikit.Dataset(frame, target=..., sensitive=[...], prediction=...)."
            )
        self._freq = None
        if isinstance(windows, str):
            try:
                self._freq = pd.tseries.frequencies.to_offset(windows)
            except ValueError as error:
                raise DataError(
                    f"windows={windows!r} is not a pandas frequency (e.g. '1h', '1D', '7D')."
                ) from error
            if time_column is None:
                raise DataError(f"Time windows ({windows!r}) need time_column=... of the batches.")
        elif not isinstance(windows, int | np.integer) or isinstance(windows, bool) or windows < 1:
            raise DataError(
                f"windows must be a positive number of rows or a pandas frequency, got {windows!r}."
            )
        self.windows = windows
        self.time_column = time_column
        self.ledger = ledger if isinstance(ledger, Ledger) else Ledger(ledger)
        self.reference = reference
        self.window = int(windows) if self._freq is None else None
        self._period = None  # start of the open time window (ns since epoch)
        self._rows_seen = 0
        self.name = name
        self.id_column = id_column
        self.alpha, self.psi_threshold = alpha, psi_threshold
        self.fairness_tolerance, self.max_accuracy_drop = fairness_tolerance, max_accuracy_drop
        self.ci, self.n_boot, self.random_state = ci, n_boot, random_state
        frame = reference.frame
        self.sensitive_names = list(reference.sensitive_names)
        self.prediction = reference.prediction
        self.score = reference.score
        monitored = list(reference.feature_names)
        self.kinds = dict.fromkeys(monitored, "data")
        for column in (self.prediction, self.score):
            if column is not None:
                monitored.append(column)
                self.kinds[column] = "prediction"
        self.binners = [_Binner(c, frame[c], bins) for c in monitored]
        # Groups of every sensitive attribute, fixed on the reference: row 0 of each count table
        # is the whole window, then one row per (attribute, group) incl. "(other)"/"(missing)".
        self.group_binners = [_Binner(a, frame[a].astype(object), 0) for a in self.sensitive_names]
        self.group_rows = [("overall", "overall")] + [
            (g.name, label) for g in self.group_binners for label in g.labels
        ]
        self.min_group_size = min_group_size
        self.reference_counts = self._count_tables(frame)
        self.reference_selection = self._selection(frame) if self.prediction else None
        self.reference_accuracy = None
        if self.prediction is not None:
            self.reference_accuracy = float(
                np.mean(frame[self.prediction].to_numpy() == reference.y.to_numpy())
            )
        self._labels = pd.Series(dtype=object)
        self._closed: list[pd.DataFrame] = []
        self._stored_counts: list = []
        self._reset()
        with self.ledger._write() as conn:
            for statement in _SCHEMA:
                conn.execute(statement)
        self.windows_closed = len(
            self.ledger._query(
                "SELECT DISTINCT window FROM monitor_windows WHERE monitor = ?", (name,)
            )
        )

    def _reset(self) -> None:
        self._counts = [
            np.zeros((len(self.group_rows), b.n_buckets), dtype=np.int64) for b in self.binners
        ]
        self._log: list[pd.DataFrame] = []
        self._n = 0
        self._late = 0

    def _positive(self):
        values = pd.unique(self.reference.frame[self.prediction].dropna())
        try:
            return np.sort(values)[-1]
        except TypeError:
            return sorted(values, key=str)[-1]

    def _selection(self, frame: pd.DataFrame) -> pd.DataFrame:
        positive = self._positive()
        hit = (frame[self.prediction].to_numpy() == positive).astype(float)
        parts = []
        for attribute in self.sensitive_names:  # a few attributes, each grouped once
            grouped = pd.Series(hit).groupby(frame[attribute].astype(str).to_numpy())
            parts.append(
                pd.DataFrame({"attribute": attribute, "n": grouped.size(), "rate": grouped.mean()})
                .rename_axis("group")
                .reset_index()
            )
        parts.append(
            pd.DataFrame(
                {
                    "attribute": ["overall"],
                    "group": ["overall"],
                    "n": [len(hit)],
                    "rate": [hit.mean()],
                }
            )
        )
        return pd.concat(parts, ignore_index=True)

    # ----------------------------------------------------------------- ingestion
    def _check_batch(self, batch: pd.DataFrame) -> None:
        if not isinstance(batch, pd.DataFrame):
            raise DataError(f"A batch must be a pandas DataFrame, got {type(batch).__name__}.")
        needed = [b.name for b in self.binners] + self.sensitive_names
        needed += [c for c in (self.id_column, self.time_column) if c]
        missing = [c for c in needed if c not in batch.columns]
        if missing:
            raise ColumnError(
                f"Batch lacks column(s) {missing} that the monitor needs (features, sensitive "
                f"attributes, prediction/score and id); send them with every batch."
            )

    def ingest(self, batch: pd.DataFrame) -> list[MonitorWindowResult]:
        """Add a batch of production rows; returns the windows it closed (often none)."""
        self._check_batch(batch)
        if self._freq is not None:
            return self._ingest_time(batch)
        closed = []
        start = 0
        n = len(batch)
        while start < n:  # one pass per window the batch touches
            stop = min(n, start + self.window - self._n)
            self._add(batch.iloc[start:stop] if start or stop < n else batch)
            start = stop
            if self._n >= self.window:
                closed.append(self._close())
        return closed

    def _ingest_time(self, batch: pd.DataFrame) -> list[MonitorWindowResult]:
        try:
            stamps = pd.to_datetime(batch[self.time_column])
        except (TypeError, ValueError) as error:
            raise DataError(
                f"Column {self.time_column!r} holds values that are not timestamps: {error}."
            ) from error
        if stamps.isna().any():
            raise DataError(
                f"Column {self.time_column!r} has {int(stamps.isna().sum())} missing timestamp(s); "
                f"every production row needs one."
            )
        if stamps.dt.tz is not None:
            stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
        keys = stamps.dt.floor(self._freq).dt.as_unit("ns").to_numpy().view(np.int64)
        if len(keys) > 1 and (np.diff(keys) < 0).any():
            order = np.argsort(keys, kind="stable")
            batch, keys = batch.iloc[order], keys[order]
        bounds = np.flatnonzero(np.diff(keys)) + 1
        closed = []
        for lo, hi in zip([0, *bounds], [*bounds, len(keys)], strict=True):  # one per period
            key = int(keys[lo])
            if self._period is None:
                self._period = key
            elif key > self._period:
                if self._n:
                    closed.append(self._close())
                self._period = key
            elif key < self._period:
                self._late += hi - lo
            self._add(batch.iloc[lo:hi])
        return closed

    def _add(self, chunk: pd.DataFrame) -> None:
        keep = [
            c for c in (self.id_column, *self.sensitive_names, self.prediction, self.score) if c
        ]
        for counts, table in zip(self._counts, self._count_tables(chunk), strict=True):
            counts += table
        self._log.append(chunk[keep])
        self._n += len(chunk)

    def _count_tables(self, chunk: pd.DataFrame) -> list[np.ndarray]:
        """(1 + groups, buckets) counts of every monitored column: np.bincount, no row loop."""
        group_codes = [g.codes(chunk[g.name].astype(object)) for g in self.group_binners]
        tables = []
        for binner in self.binners:
            codes = binner.codes(chunk[binner.name])
            nb = binner.n_buckets
            parts = [np.bincount(codes, minlength=nb)[None, :]]
            for g, gc in zip(self.group_binners, group_codes, strict=True):
                flat = np.bincount(gc * nb + codes, minlength=g.n_buckets * nb)
                parts.append(flat.reshape(g.n_buckets, nb))
            tables.append(np.vstack(parts))
        return tables

    def add_labels(self, ids, labels) -> int:
        """Record true outcomes by row id (they may arrive long after the predictions).

        Returns how many of them match a row already ingested.
        """
        if self.id_column is None:
            raise DataError("Labels are joined by id: create the Monitor with id_column=...")
        ids = np.asarray(ids)
        labels = np.asarray(labels)
        if ids.shape != labels.shape:
            raise DataError(f"ids ({ids.size}) and labels ({labels.size}) differ in length.")
        if pd.isna(labels).any():
            raise DataError("labels contain missing values; send only known outcomes.")
        new = pd.Series(labels, index=ids)
        self._labels = new if self._labels.empty else pd.concat([self._labels, new])
        self._labels = self._labels[~self._labels.index.duplicated(keep="last")]
        seen = [log[self.id_column] for log in self._closed] + [
            part[self.id_column] for part in self._log
        ]
        if not seen:
            return 0
        return int(pd.Index(ids).isin(pd.concat(seen).to_numpy()).sum())

    def flush(self) -> MonitorWindowResult | None:
        """Close the current, partly filled window (if it has rows)."""
        return self._close() if self._n else None

    def refresh(self, window: int) -> MonitorWindowResult:
        """Re-evaluate a closed window of this session with the labels known now."""
        first = self.windows_closed - len(self._closed)
        if not first <= window < self.windows_closed:
            raise DataError(
                f"Window {window} is not a closed window of this session (windows {first}.."
                f"{self.windows_closed - 1})."
            )
        log = self._closed[window - first]
        counts, span, late = self._stored_counts[window - first]
        return self._evaluate(window, log, counts, span, late)

    # ----------------------------------------------------------------- closing
    def _close(self) -> MonitorWindowResult:
        log = pd.concat(self._log, ignore_index=True) if len(self._log) > 1 else self._log[0]
        counts, late = self._counts, self._late
        if self._freq is None:
            span = (str(self._rows_seen), str(self._rows_seen + self._n - 1))
        else:
            begin = pd.Timestamp(self._period)
            span = (begin.isoformat(), (begin + self._freq).isoformat())
        self._rows_seen += self._n
        window = self.windows_closed
        self._closed.append(log.reset_index(drop=True))
        self._stored_counts.append((counts, span, late))
        self.windows_closed += 1
        self._reset()
        return self._evaluate(window, log.reset_index(drop=True), counts, span, late)

    def _drift(self, counts) -> tuple[pd.DataFrame, pd.DataFrame]:
        from raikit.data import adjust_pvalues, distribution_distances

        frames, hist = [], []
        attributes = [a for a, _ in self.group_rows]
        groups = [g for _, g in self.group_rows]
        for binner, ref, cur in zip(self.binners, self.reference_counts, counts, strict=True):
            stat, p, js, psi, linf = distribution_distances(ref, cur)
            n_ref, n_cur = ref.sum(axis=1), cur.sum(axis=1)
            small = (n_ref < self.min_group_size) | (n_cur < self.min_group_size)
            small[0] = False  # the whole window is always tested
            for array in (stat, p, js, psi, linf):
                array[small] = np.nan
            frames.append(
                pd.DataFrame(
                    {
                        "column": binner.name,
                        "kind": self.kinds[binner.name],
                        "type": binner.kind,
                        "attribute": attributes,
                        "group": groups,
                        "n_reference": n_ref,
                        "n_window": n_cur,
                        "chi2": stat,
                        "p_value": p,
                        "psi": psi,
                        "js": js,
                        "linf": linf,
                    }
                )
            )
            hist.append(
                pd.DataFrame(
                    {
                        "column": binner.name,
                        "bucket": binner.labels,
                        "reference": ref[0] / max(ref[0].sum(), 1),
                        "window": cur[0] / max(cur[0].sum(), 1),
                    }
                )
            )
        drift = pd.concat(frames, ignore_index=True)
        drift = drift[(drift["n_reference"] > 0) | (drift["n_window"] > 0)].reset_index(drop=True)
        drift["p_adjusted"] = adjust_pvalues(drift["p_value"].to_numpy(), "fdr_bh")
        drift["drifted"] = (drift["p_adjusted"] < self.alpha) & (drift["psi"] >= self.psi_threshold)
        return drift, pd.concat(hist, ignore_index=True)

    def _evaluate(self, window: int, log, counts, span, late) -> MonitorWindowResult:
        drift, hist = self._drift(counts)
        findings = []
        whole = drift["attribute"] == "overall"
        overall_drifted = set(drift.loc[whole & drift["drifted"], "column"])
        hidden = drift[~whole & drift["drifted"] & ~drift["column"].isin(overall_drifted)]
        for row in drift[whole & drift["drifted"]].itertuples(index=False):  # drifted columns
            what = "Prediction drift" if row.kind == "prediction" else "Data drift"
            findings.append(
                Finding(
                    "error" if row.kind == "prediction" else "warning",
                    f"{what} in {row.column}",
                    f"PSI {row.psi:.3f} >= {self.psi_threshold}, adjusted p {row.p_adjusted:.2g} "
                    f"< {self.alpha}; compare the histograms and consider retraining.",
                    slice=row.column,
                )
            )
        for row in hidden.itertuples(index=False):  # drift that only one group shows
            what = "Prediction drift" if row.kind == "prediction" else "Data drift"
            findings.append(
                Finding(
                    "error" if row.kind == "prediction" else "warning",
                    f"{what} in {row.column} for {row.attribute}={row.group} only",
                    f"PSI {row.psi:.3f} in this group ({row.n_window:,} rows), adjusted p "
                    f"{row.p_adjusted:.2g}; invisible in the whole window.",
                    slice=f"{row.attribute}={row.group}",
                )
            )
        selection = pd.DataFrame(
            columns=["attribute", "group", "n", "reference_rate", "window_rate"]
        )
        if self.prediction is not None:
            cur = self._selection(log)
            selection = cur.merge(
                self.reference_selection[["attribute", "group", "rate"]],
                on=["attribute", "group"],
                how="left",
                suffixes=("", "_ref"),
            ).rename(columns={"rate": "window_rate", "rate_ref": "reference_rate"})
            selection = selection[["attribute", "group", "n", "reference_rate", "window_rate"]]
        metrics = pd.DataFrame(columns=["attribute", "group", "metric", "value", "lower", "upper"])
        disparities = pd.DataFrame(columns=["attribute", "metric", "value", "lower", "upper"])
        n_labelled = 0
        if self.id_column is not None and self.prediction is not None and len(self._labels):
            where = self._labels.index.get_indexer(log[self.id_column].to_numpy())
            known = where >= 0
            n_labelled = int(known.sum())
            if n_labelled >= 2:
                metrics, disparities, extra = self._labelled(
                    log[known], self._labels.to_numpy()[where[known]]
                )
                findings += extra
        result = MonitorWindowResult(
            monitor=self.name,
            window=window,
            n_rows=len(log),
            n_labelled=n_labelled,
            start=span[0],
            end=span[1],
            n_late=int(late),
            drift=drift,
            histograms=hist,
            selection=selection.reset_index(drop=True),
            metrics=metrics,
            disparities=disparities,
            findings=tuple(findings),
        )
        self._store(result)
        return result

    def _labelled(self, log: pd.DataFrame, y: np.ndarray):
        from raikit.metrics import group_metrics

        result = group_metrics(
            y,
            log[self.prediction].to_numpy(),
            sensitive=log[self.sensitive_names].reset_index(drop=True),
            metrics=_METRICS,
            ci=self.ci,
            n_boot=self.n_boot,
            random_state=self.random_state,
        )
        metrics = result.table[["attribute", "group", "metric", "value", "lower", "upper"]]
        d = result.disparities
        d = d[(d["kind"] == "difference") & (d["method"] == "between_groups")]
        disparities = d[["attribute", "metric", "value", "lower", "upper"]].reset_index(drop=True)
        findings = []
        unfair = disparities[
            disparities["metric"].isin(_FAIRNESS) & (disparities["lower"] > self.fairness_tolerance)
        ]
        for row in unfair.itertuples(index=False):  # few (attribute, metric) pairs
            findings.append(
                Finding(
                    "error",
                    f"Unfair {row.metric.replace('_', ' ')} across {row.attribute}",
                    f"between-group difference {row.value:.3f} (CI {row.lower:.3f}-{row.upper:.3f}) "
                    f"> tolerance {self.fairness_tolerance}.",
                    slice=row.attribute,
                )
            )
        overall = metrics[(metrics["attribute"] == "overall") & (metrics["metric"] == "accuracy")]
        if self.reference_accuracy is not None and len(overall):
            upper = float(overall["upper"].iloc[0])
            if upper < self.reference_accuracy - self.max_accuracy_drop:
                findings.append(
                    Finding(
                        "error",
                        "Accuracy dropped",
                        f"window accuracy {overall['value'].iloc[0]:.3f} (upper {upper:.3f}) vs "
                        f"reference {self.reference_accuracy:.3f}; retrain or roll back.",
                    )
                )
        return metrics.reset_index(drop=True), disparities, findings

    def _store(self, result: MonitorWindowResult) -> None:
        evidence_id = self.ledger.log_evidence(
            result,
            check="monitor.window",
            params={"monitor": self.name, "window": result.window, "windows": str(self.windows)},
        )
        now = _now()
        series = [
            (
                self.name,
                result.window,
                "psi",
                r.column,
                f"{r.attribute}={r.group}",
                r.psi,
                None,
                None,
                now,
            )
            for r in result.drift.itertuples(index=False)
        ]
        series += [
            (
                self.name,
                result.window,
                "selection_rate",
                r.attribute,
                str(r.group),
                r.window_rate,
                None,
                None,
                now,
            )
            for r in result.selection.itertuples(index=False)
        ]
        series += [
            (
                self.name,
                result.window,
                r.metric,
                r.attribute,
                str(r.group),
                r.value,
                r.lower,
                r.upper,
                now,
            )
            for r in result.metrics.itertuples(index=False)
        ]
        series = [
            tuple(None if isinstance(v, float) and np.isnan(v) else v for v in row)
            for row in series
        ]
        worst = max(
            (f.severity for f in result.findings),
            key={"info": 0, "warning": 1, "error": 2}.get,
            default=None,
        )
        with self.ledger._write() as conn:
            conn.execute(
                "INSERT INTO monitor_windows VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    self.name,
                    result.window,
                    result.start,
                    result.end,
                    result.n_rows,
                    result.n_late,
                    result.n_labelled,
                    len(result.findings),
                    worst,
                    evidence_id,
                    now,
                ),
            )
            conn.executemany(
                "INSERT INTO monitor_series VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", series
            )
            conn.executemany(
                "INSERT INTO monitor_alerts VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (self.name, result.window, f.severity, f.title, f.detail, f.slice, now)
                    for f in result.findings
                ],
            )

    # ----------------------------------------------------------------- reading back
    def history(self) -> pd.DataFrame:
        """This monitor's time series (see :func:`monitor_history`)."""
        return monitor_history(self.ledger, name=self.name)

    def alerts(self) -> pd.DataFrame:
        """Every alert this monitor raised, oldest first."""
        return monitor_history(self.ledger, name=self.name, table="alerts")


def monitor_history(ledger, *, name: str = "monitor", table: str = "series") -> pd.DataFrame:
    """Read a monitor's stored ``series`` (tidy time series), ``windows`` or ``alerts``.

    A window re-evaluated with :meth:`Monitor.refresh` appears once per evaluation; the latest
    evaluation comes last.
    """
    from raikit.ledger import Ledger

    if table not in ("series", "windows", "alerts"):
        raise DataError(f"table must be 'series', 'windows' or 'alerts', got {table!r}.")
    ledger = ledger if isinstance(ledger, Ledger) else Ledger(ledger)
    exists = (
        ledger._query(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?",
            (f"monitor_{table}",),
        )
        if not str(ledger.root).startswith("postgres")
        else pd.DataFrame({"name": [1]})
    )
    if len(exists) == 0:
        return pd.DataFrame()
    frame = ledger._query(
        f"SELECT * FROM monitor_{table} WHERE monitor = ? ORDER BY window, created_at", (name,)
    )
    return frame.rename(columns={"grp": "group"})
