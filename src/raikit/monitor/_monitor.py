"""``Monitor``: production inputs and predictions in windows — drift, prediction drift, and (once
labels arrive) performance and fairness with confidence intervals per group; alerts; all in the ledger.

Ingestion keeps only sufficient statistics: every monitored column is bucketed with bins fixed on
the reference (deciles for numbers, the reference categories plus "other" and "missing" for
categories) and counted with ``np.bincount``; drift tests (chi-square, PSI, Jensen–Shannon,
L-infinity) are computed from those counts when a window closes. Only the id, sensitive attributes,
prediction and score of each row are kept, to join labels and compute group metrics.

Ledger tables (created next to the ledger's own, in its database): ``monitor_windows`` (one row per
evaluation of a closed window with its evidence id), ``monitor_series`` (tidy time series: drift
PSI per column, selection rate and metrics per group with their intervals), ``monitor_alerts``,
``monitor_logs`` (per closed window: its prediction log as a Parquet artifact and its bucket counts
as an ``.npz`` artifact, so that a later session can join late labels and re-evaluate it),
``monitor_labels`` (every label received, by id, as JSON text) and ``monitor_config`` (a fingerprint
of the reference bins, so that a monitor is never continued with a different reference).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from raikit._errors import ColumnError, DataError
from raikit._result import Finding, Result

__all__ = ["Monitor", "MonitorWindowResult", "monitor_history"]

_SCHEMA = (
    'CREATE TABLE IF NOT EXISTS monitor_windows (monitor TEXT NOT NULL, "window" INTEGER NOT NULL, '
    "window_start TEXT, window_end TEXT, n_rows INTEGER, n_late INTEGER, n_labelled INTEGER, "
    "n_alerts INTEGER, worst_severity TEXT, evidence_id TEXT, created_at TEXT NOT NULL)",
    'CREATE TABLE IF NOT EXISTS monitor_series (monitor TEXT NOT NULL, "window" INTEGER NOT NULL, '
    "kind TEXT NOT NULL, name TEXT NOT NULL, grp TEXT, value REAL, lower REAL, upper REAL, "
    "created_at TEXT NOT NULL)",
    'CREATE TABLE IF NOT EXISTS monitor_alerts (monitor TEXT NOT NULL, "window" INTEGER NOT NULL, '
    "severity TEXT, title TEXT, detail TEXT, slice TEXT, created_at TEXT NOT NULL)",
    'CREATE TABLE IF NOT EXISTS monitor_logs (monitor TEXT NOT NULL, "window" INTEGER NOT NULL, '
    "log_artifact TEXT NOT NULL, counts_artifact TEXT NOT NULL, window_start TEXT, window_end TEXT, "
    "n_rows INTEGER, n_late INTEGER, created_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS monitor_labels (monitor TEXT NOT NULL, id TEXT NOT NULL, "
    "label TEXT NOT NULL, created_at TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS monitor_labels_id ON monitor_labels (monitor, id)",
    "CREATE TABLE IF NOT EXISTS monitor_config (monitor TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, "
    "reference_id TEXT NOT NULL, params TEXT NOT NULL, created_at TEXT NOT NULL)",
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
        self._params = {
            "windows": windows if isinstance(windows, str) else int(windows),
            "time_column": time_column,
            "id_column": id_column,
            "bins": bins,
            "alpha": alpha,
            "psi_threshold": psi_threshold,
            "fairness_tolerance": fairness_tolerance,
            "min_group_size": min_group_size,
            "max_accuracy_drop": max_accuracy_drop,
            "ci": ci,
            "n_boot": n_boot,
            "random_state": random_state if isinstance(random_state, int | None) else None,
        }
        self.windows = windows
        self.time_column = time_column
        self.ledger = ledger if isinstance(ledger, Ledger) else Ledger(ledger)
        self.reference = reference
        self.window = int(windows) if self._freq is None else None
        self._period = None  # start of the open time window (ns since epoch)
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
        self._labels: pd.Series | None = None  # id (text) -> label; read from the ledger on use
        self._seen_ids: pd.Index | None = None  # ids of the stored windows; read on use
        self._reset()
        with self.ledger._write() as conn:
            for statement in _SCHEMA:
                conn.execute(statement)
        self._check_config()
        stored = self.ledger._query(
            'SELECT "window", window_end, n_rows FROM monitor_logs WHERE monitor = ? '
            'ORDER BY "window"',
            (name,),
        )
        # A monitor continues where the last session stopped: window numbers and row spans.
        self.windows_closed = int(stored["window"].max()) + 1 if len(stored) else 0
        self._rows_seen = int(stored["n_rows"].sum()) if len(stored) else 0

    @classmethod
    def open(cls, ledger, name: str = "monitor") -> Monitor:
        """Resume a monitor stored in ``ledger``: same reference, windows and thresholds.

        Use it in a later session, e.g. to add labels that arrived after its windows closed and
        re-evaluate them with :meth:`refresh_pending`.

        Examples
        --------
        >>> import tempfile
        >>> from raikit.datasets import load_german_credit
        >>> ds = load_german_credit()
        >>> frame = ds.frame.assign(pred=ds.frame["credit"], id=range(len(ds.frame)))
        >>> ref = ds.replace(frame=frame, prediction="pred", features=["age"])
        >>> folder = tempfile.mkdtemp()
        >>> with Monitor(ref, ledger=folder, windows=500, id_column="id", n_boot=20) as m:
        ...     _ = m.ingest(frame)
        >>> later = Monitor.open(folder)  # e.g. the next day, in another process
        >>> later.add_labels(frame["id"][:100], frame["credit"][:100])
        100
        >>> [(r.window, r.n_labelled) for r in later.refresh_pending()]
        [(0, 100)]
        """
        from raikit.ledger import Ledger

        ledger = ledger if isinstance(ledger, Ledger) else Ledger(ledger)
        config = (
            ledger._query(
                "SELECT reference_id, params FROM monitor_config WHERE monitor = ?", (name,)
            )
            if _table_exists(ledger, "monitor_config")
            else pd.DataFrame()
        )
        if len(config) == 0:
            raise DataError(
                f"No monitor named {name!r} in the ledger {ledger.root}; create it with "
                f"Monitor(reference, ledger=..., name={name!r}) first."
            )
        reference = ledger.read_dataset(config["reference_id"].iloc[0])
        params = json.loads(config["params"].iloc[0])
        return cls(reference, ledger=ledger, name=name, **params)

    def __enter__(self) -> Monitor:
        return self

    def __exit__(self, *exc) -> None:
        self.flush()  # the open window is stored, not lost, when the block ends

    def _fingerprint(self) -> str:
        """What must not change between sessions of one monitor: its buckets and roles."""
        spec = {
            "buckets": {b.name: b.labels for b in self.binners},
            "groups": {g.name: g.labels for g in self.group_binners},
            "prediction": self.prediction,
            "score": self.score,
            "windows": str(self.windows),
        }
        return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()

    def _check_config(self) -> None:
        fingerprint = self._fingerprint()
        known = self.ledger._query(
            "SELECT fingerprint FROM monitor_config WHERE monitor = ?", (self.name,)
        )
        if len(known) == 0:
            # The reference is stored with its data so that Monitor.open can resume the monitor.
            reference_id = self.ledger.log_dataset(self.reference, store_data=True)
            with self.ledger._write() as conn:
                conn.execute(
                    "INSERT OR IGNORE INTO monitor_config VALUES (?, ?, ?, ?, ?)",
                    (self.name, fingerprint, reference_id, json.dumps(self._params), _now()),
                )
        elif known["fingerprint"].iloc[0] != fingerprint:
            raise DataError(
                f"The ledger already holds a monitor named {self.name!r} built on a different "
                f"reference or window size (its bins, groups or prediction columns differ), so its "
                f"windows cannot be continued. Pass the same reference and windows, or another name=."
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

        Labels are stored in the ledger, so a later session (a new ``Monitor`` with the same
        ``name`` and ledger) can join them to windows closed earlier; see :meth:`refresh_pending`.
        Ids are compared as text (``7`` and ``"7"`` are the same row). A later label for the same
        id replaces the earlier one.

        Returns
        -------
        int
            How many of the ids match a row already ingested (in any session).
        """
        if self.id_column is None:
            raise DataError("Labels are joined by id: create the Monitor with id_column=...")
        ids = np.asarray(ids)
        labels = np.asarray(labels)
        if ids.shape != labels.shape:
            raise DataError(f"ids ({ids.size}) and labels ({labels.size}) differ in length.")
        if pd.isna(labels).any():
            raise DataError("labels contain missing values; send only known outcomes.")
        if pd.isna(ids).any():
            raise DataError("ids contain missing values; every label needs the id of its row.")
        keys = pd.Index(ids).astype(str)
        new = pd.Series(list(labels.tolist()), index=keys, dtype=object)
        new = new[~new.index.duplicated(keep="last")]
        now = _now()
        with self.ledger._write() as conn:
            conn.executemany(
                "INSERT INTO monitor_labels VALUES (?, ?, ?, ?)",
                [(self.name, k, json.dumps(v), now) for k, v in new.items()],
            )
        known = self._label_map()
        known = pd.concat([known, new])
        self._labels = known[~known.index.duplicated(keep="last")]
        seen = self._ingested_ids()
        return int(keys.isin(seen).sum())

    def _label_map(self) -> pd.Series:
        """Every label of this monitor (id as text -> label), the latest per id."""
        if self._labels is None:
            rows = self.ledger._query(
                "SELECT id, label FROM monitor_labels WHERE monitor = ? ORDER BY created_at",
                (self.name,),
            )
            values = [json.loads(v) for v in rows["label"]]
            labels = pd.Series(values, index=pd.Index(rows["id"].astype(str)), dtype=object)
            self._labels = labels[~labels.index.duplicated(keep="last")]
        return self._labels

    def _ingested_ids(self) -> pd.Index:
        """Ids of every row ingested so far: stored windows (read once) and the open one."""
        if self._seen_ids is None:
            parts = [
                self._read_log(stored)[self.id_column].astype(str)
                for _, stored in self._stored_windows().iterrows()
            ]
            self._seen_ids = pd.Index(pd.concat(parts).to_numpy() if parts else [], dtype=object)
        open_ids = [part[self.id_column].astype(str).to_numpy() for part in self._log]
        if open_ids:
            return self._seen_ids.append(pd.Index(np.concatenate(open_ids), dtype=object))
        return self._seen_ids

    def flush(self) -> MonitorWindowResult | None:
        """Close the current, partly filled window (if it has rows).

        Call it before a session ends (or use the monitor as a context manager): rows of a window
        that was never closed are not stored.
        """
        return self._close() if self._n else None

    def _stored_windows(self) -> pd.DataFrame:
        return self.ledger._query(
            'SELECT "window", log_artifact, counts_artifact, window_start, window_end, n_late '
            'FROM monitor_logs WHERE monitor = ? ORDER BY "window"',
            (self.name,),
        )

    def _stored(self, window: int) -> pd.Series:
        stored = self._stored_windows()
        row = stored[stored["window"] == window]
        if len(row) == 0:
            have = (
                f"windows {int(stored['window'].min())}..{int(stored['window'].max())}"
                if len(stored)
                else "no windows yet"
            )
            raise DataError(
                f"Window {window} is not a closed window of monitor {self.name!r} ({have})."
            )
        return row.iloc[0]

    def _read_log(self, stored: pd.Series) -> pd.DataFrame:
        """The prediction log of a stored window (a row of :meth:`_stored_windows`)."""
        return pd.read_parquet(io.BytesIO(self.ledger.get_artifact(stored["log_artifact"])))

    def _reevaluate(self, stored: pd.Series, log: pd.DataFrame) -> MonitorWindowResult:
        with np.load(io.BytesIO(self.ledger.get_artifact(stored["counts_artifact"]))) as arrays:
            counts = [arrays[f"c{i}"] for i in range(len(self.binners))]
        span = (stored["window_start"], stored["window_end"])
        return self._evaluate(int(stored["window"]), log, counts, span, int(stored["n_late"]))

    def refresh(self, window: int) -> MonitorWindowResult:
        """Re-evaluate a closed window (of this or an earlier session) with the labels known now.

        The new evaluation is stored like the first one; :func:`monitor_history` lists both.
        """
        stored = self._stored(window)
        return self._reevaluate(stored, self._read_log(stored))

    def refresh_pending(self) -> list[MonitorWindowResult]:
        """Re-evaluate every closed window for which more labels are known than at its last
        evaluation (e.g. labels that arrived in a later session). Returns the new evaluations."""
        if self.id_column is None or self.prediction is None:
            return []
        labels = self._label_map()
        evaluated = monitor_history(self.ledger, name=self.name, table="windows")
        last = evaluated.groupby("window")["n_labelled"].last().to_dict() if len(evaluated) else {}
        results = []
        for _, stored in self._stored_windows().iterrows():  # windows, each log read once
            log = self._read_log(stored)
            known = int(log[self.id_column].astype(str).isin(labels.index).sum())
            if known > int(last.get(int(stored["window"]), 0) or 0):
                results.append(self._reevaluate(stored, log))
        return results

    def ingest_file(self, path, *, batch_size: int = 100_000, progress=None) -> list:
        """Stream a Parquet or CSV file (or a glob of them) through :meth:`ingest`.

        Only the columns the monitor needs are read, ``batch_size`` rows at a time (with pyarrow),
        so a file larger than memory can be monitored.

        Parameters
        ----------
        path : str or path
            A ``.parquet``/``.csv`` file, a folder of them, or a glob such as ``"logs/*.parquet"``.
        batch_size : int, default 100_000
        progress : callable, optional
            ``progress(rows_done, rows_total)`` after each batch.

        Returns
        -------
        list of MonitorWindowResult
            The windows the file closed (the last, partial window stays open: :meth:`flush`).
        """
        import glob

        import pyarrow as pa
        import pyarrow.dataset as pads

        from raikit._lazy import is_glob

        text = os.fspath(path)
        files = sorted(glob.glob(text)) if is_glob(text) else [text]
        if not files:
            raise DataError(f"No file matches {text!r}; check the path or the glob pattern.")
        if len(files) == 1 and os.path.isdir(files[0]):
            files = sorted(glob.glob(os.path.join(files[0], "*.parquet")))
        missing = [f for f in files if not os.path.exists(f)]
        if missing or not files:
            raise DataError(f"File {(missing or [text])[0]!r} does not exist.")
        suffixes = {os.path.splitext(f)[1].lower() for f in files}
        if suffixes - {".parquet", ".pq", ".csv"} or len(suffixes) > 1:
            raise DataError(
                f"ingest_file reads Parquet or CSV files of one kind; got {sorted(suffixes)}."
            )
        fmt = "csv" if suffixes == {".csv"} else "parquet"
        needed = [b.name for b in self.binners] + self.sensitive_names
        needed += [c for c in (self.id_column, self.time_column) if c]
        needed = list(dict.fromkeys(needed))  # a column may play two roles; read it once
        try:
            dataset = pads.dataset(files, format=fmt)
            absent = [c for c in needed if c not in dataset.schema.names]
            if absent:
                raise ColumnError(
                    f"{text!r} lacks column(s) {absent} that the monitor needs (features, "
                    f"sensitive attributes, prediction/score and id)."
                )
            total = dataset.count_rows()
            closed, done = [], 0
            for batch in dataset.to_batches(columns=needed, batch_size=batch_size):
                if batch.num_rows == 0:
                    continue
                closed += self.ingest(batch.to_pandas())
                done += batch.num_rows
                if progress is not None:
                    progress(done, total)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as error:
            raise DataError(f"Cannot read {text!r} as {fmt}: {error}") from error
        return closed

    # ----------------------------------------------------------------- closing
    def _close(self) -> MonitorWindowResult:
        log = pd.concat(self._log, ignore_index=True) if len(self._log) > 1 else self._log[0]
        log = log.reset_index(drop=True)
        counts, late = self._counts, self._late
        if self._freq is None:
            span = (str(self._rows_seen), str(self._rows_seen + self._n - 1))
        else:
            begin = pd.Timestamp(self._period)
            span = (begin.isoformat(), (begin + self._freq).isoformat())
        window = self.windows_closed
        self._persist(window, log, counts, span, late)
        self._rows_seen += self._n
        if self._seen_ids is not None and self.id_column is not None:
            self._seen_ids = self._seen_ids.append(
                pd.Index(log[self.id_column].astype(str).to_numpy(), dtype=object)
            )
        self.windows_closed += 1
        self._reset()
        return self._evaluate(window, log, counts, span, late)

    def _persist(self, window: int, log: pd.DataFrame, counts, span, late) -> None:
        """Store the window's prediction log (Parquet) and bucket counts (npz) as artifacts."""
        buffer = io.BytesIO()
        try:
            log.to_parquet(buffer, index=False)
        except (TypeError, ValueError, ImportError) as error:
            raise DataError(
                f"The prediction log of window {window} cannot be stored as Parquet ({error}); "
                f"give id, sensitive and prediction columns one type each."
            ) from error
        log_digest = self.ledger.put_artifact(
            buffer.getvalue(), media_type="application/vnd.apache.parquet"
        )
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **{f"c{i}": c for i, c in enumerate(counts)})
        counts_digest = self.ledger.put_artifact(buffer.getvalue(), media_type="application/x-npz")
        with self.ledger._write() as conn:
            conn.execute(
                "INSERT INTO monitor_logs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    self.name,
                    window,
                    log_digest,
                    counts_digest,
                    span[0],
                    span[1],
                    len(log),
                    int(late),
                    _now(),
                ),
            )

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
        labels = (
            self._label_map()
            if self.id_column is not None and self.prediction is not None
            else pd.Series(dtype=object)
        )
        if len(labels):
            where = labels.index.get_indexer(log[self.id_column].astype(str).to_numpy())
            known = where >= 0
            n_labelled = int(known.sum())
            if n_labelled >= 2:
                y = np.asarray(labels.to_numpy()[where[known]].tolist())
                metrics, disparities, extra = self._labelled(log[known], y)
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
            # the selection rate of every row is already in the series; not that of labelled rows
            if r.metric != "selection_rate"
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


def monitor_history(
    ledger, *, name: str = "monitor", table: str = "series", latest: bool = False
) -> pd.DataFrame:
    """Read a monitor's stored ``series`` (tidy time series), ``windows`` or ``alerts``.

    A window re-evaluated with :meth:`Monitor.refresh` appears once per evaluation; the latest
    evaluation comes last. With ``latest=True`` only each window's latest evaluation is returned
    (what a time-series chart should draw).
    """
    from raikit.ledger import Ledger

    if table not in ("series", "windows", "alerts"):
        raise DataError(f"table must be 'series', 'windows' or 'alerts', got {table!r}.")
    ledger = ledger if isinstance(ledger, Ledger) else Ledger(ledger)
    if not _table_exists(ledger, f"monitor_{table}"):
        return pd.DataFrame()
    frame = ledger._query(
        f'SELECT * FROM monitor_{table} WHERE monitor = ? ORDER BY "window", created_at', (name,)
    )
    if latest and len(frame):
        newest = frame.groupby("window")["created_at"].transform("max")
        frame = frame[frame["created_at"] == newest].reset_index(drop=True)
    return frame.rename(columns={"grp": "group"})


def _table_exists(ledger, table: str) -> bool:
    from raikit.ledger._backends import SQLiteBackend

    if isinstance(ledger._backend, SQLiteBackend):
        sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?"
    else:
        sql = "SELECT table_name FROM information_schema.tables WHERE table_name = ?"
    return len(ledger._query(sql, (table,))) > 0
