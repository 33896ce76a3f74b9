"""``Monitor``: production inputs and predictions in windows — drift, prediction drift, selection
rates and demographic parity at ingest, and (once labels arrive) performance and equalized odds with
confidence intervals per group; alerts; all in the ledger.

Ingestion keeps only sufficient statistics: every monitored column is bucketed with bins fixed on
the reference (deciles for numbers, the reference categories plus "other" and "missing" for
categories) and counted with ``np.bincount``; drift tests (chi-square, PSI, Jensen–Shannon,
L-infinity) are computed from those counts when a window closes. Only the id, sensitive attributes,
prediction and score of each row are kept, to join labels and compute group metrics.

Every batch is one ledger transaction: the whole batch is validated first, then its rows (the part
that fills the open window as a *chunk*), the windows it closes (their logs, counts and
evaluations), its ids and the monitor's cursor are committed together, or nothing is. The
transaction holds the ledger's write lock, so concurrent writers get unique window numbers, and an
id already stored is skipped, so re-running an ingest counts nothing twice.

Ledger tables (created next to the ledger's own, in its database): ``monitor_windows`` (one row per
evaluation of a closed window with its evidence id), ``monitor_series`` (tidy time series: drift
PSI per column, selection rate and metrics per group with their intervals, demographic parity),
``monitor_alerts``, ``monitor_logs`` (per closed window: its prediction log as a Parquet artifact
and its bucket counts as an ``.npz`` artifact, so that a later session can join late labels and
re-evaluate it), ``monitor_chunks`` (the same for the rows of the open window, batch by batch),
``monitor_state`` (the cursor: next window, rows seen, open period, id type, a version),
``monitor_ids`` (every ingested id and its window), ``monitor_batches`` (content hashes of the
batches of a monitor without ids), ``monitor_labels`` (every label received, by id, as JSON text)
and ``monitor_config`` (a fingerprint of the reference bins, so that a monitor is never continued
with a different reference).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from raikit._errors import ColumnError, DataError, ParameterError
from raikit._grouping import MISSING
from raikit._result import Finding, Result
from raikit.metrics._group_metrics import resolve_pos_label
from raikit.metrics._stats import MIN_GROUP_SIZE

__all__ = ["Monitor", "MonitorWindowResult", "monitor_history"]

_NAMES = {"monitor": "text not null"}
_WINDOW = {**_NAMES, "window": "integer not null"}
# Ledger tables: (columns, primary key, extra options of Ledger.table)
_TABLES = {
    "windows": (
        {
            **_WINDOW,
            "window_start": "text",
            "window_end": "text",
            "n_rows": "integer",
            "n_late": "integer",
            "n_labelled": "integer",
            "n_alerts": "integer",
            "worst_severity": "text",
            "evidence_id": "text",
            "created_at": "text not null",
        },
        (),
        {},
    ),
    "series": (
        {
            **_WINDOW,
            "kind": "text not null",
            "name": "text not null",
            "grp": "text",
            "value": "real",
            "lower": "real",
            "upper": "real",
            "created_at": "text not null",
        },
        (),
        {},
    ),
    "alerts": (
        {
            **_WINDOW,
            "severity": "text",
            "title": "text",
            "detail": "text",
            "slice": "text",
            "created_at": "text not null",
        },
        (),
        {},
    ),
    "logs": (
        {
            **_WINDOW,
            "log_artifact": "text not null",
            "counts_artifact": "text not null",
            "window_start": "text",
            "window_end": "text",
            "n_rows": "integer",
            "n_late": "integer",
            "created_at": "text not null",
        },
        (),
        {},
    ),
    "labels": (
        {**_NAMES, "id": "text not null", "label": "text not null", "created_at": "text not null"},
        (),
        {"indexes": {"monitor_labels_id": ("monitor", "id")}},
    ),
    "config": (
        {
            **_NAMES,
            "fingerprint": "text not null",
            "reference_id": "text not null",
            "params": "text not null",
            "created_at": "text not null",
        },
        ("monitor",),
        {},
    ),
    "state": (
        {
            **_NAMES,
            "version": "integer not null",
            "next_window": "integer not null",
            "rows_seen": "integer not null",
            "period": "integer",
            "id_kind": "text",
            "updated_at": "text not null",
        },
        ("monitor",),
        {},
    ),
    "chunks": (
        {
            **_WINDOW,
            "seq": "integer not null",
            "log_artifact": "text not null",
            "counts_artifact": "text not null",
            "n_rows": "integer not null",
            "n_late": "integer not null",
            "created_at": "text not null",
        },
        ("monitor", "seq"),
        {},
    ),
    # one B-tree on SQLite (half the work of inserting an id)
    "ids": ({**_WINDOW, "id": "text not null"}, ("monitor", "id"), {"compact": True}),
    "batches": (
        {**_NAMES, "digest": "text not null", "created_at": "text not null"},
        ("monitor", "digest"),
        {},
    ),
}


def _table(ledger, kind: str):
    """The ledger table ``monitor_<kind>`` (declared: created when missing)."""
    columns, key, options = _TABLES[kind]
    return ledger.table(f"monitor_{kind}", columns, primary_key=key, **options)


_METRICS = ["count", "accuracy", "true_positive_rate", "false_positive_rate"]
_FAIRNESS = ("true_positive_rate", "false_positive_rate")  # equalized odds, once labels arrive
_FOUR_FIFTHS = 0.8
_MAX_CLASSES = 100


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _plain(value):
    """A numpy scalar as the Python value JSON can store."""
    return value.item() if isinstance(value, np.generic) else value


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


def _window_frequency(windows, time_column):
    """The pandas offset of time windows (None for windows of a number of rows), checked."""
    if isinstance(windows, str):
        try:
            freq = pd.tseries.frequencies.to_offset(windows)
        except ValueError as error:
            raise ParameterError(
                f"Monitor(): windows={windows!r} is not a pandas frequency (e.g. '1h', '1D', '7D')."
            ) from error
        if time_column is None:
            raise ParameterError(
                f"Monitor(): time windows ({windows!r}) need time_column=... of the batches."
            )
        return freq
    if not isinstance(windows, int | np.integer) or isinstance(windows, bool) or windows < 1:
        raise ParameterError(
            f"Monitor(): windows must be a positive number of rows or a pandas frequency, got "
            f"{windows!r}."
        )
    return None


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
        Per sensitive attribute and group (``overall`` and intersections included): rows,
        reference and window selection rate, and the window rate's interval (``lower``,
        ``upper``). Computed from the predictions at ingest, no labels needed.
    metrics : DataFrame
        :func:`raikit.metrics.group_metrics` table of the labelled rows (empty without labels).
    disparities : DataFrame
        Its disparities (between groups) with intervals.
    parity : DataFrame
        Demographic parity per sensitive attribute, from the predictions at ingest (no labels):
        ``kind`` (``difference``/``ratio`` of selection rates between groups), ``value``,
        ``lower``, ``upper``, ``n_groups`` (groups with at least ``min_group_size`` rows, the
        ones compared) and ``assessable`` (at least two such groups).
    estimates : DataFrame
        Accuracy, TPR, FPR, precision and selection rate per group estimated without labels
        (:func:`raikit.evaluate.estimate_performance`, calibrated on the reference) with
        ``estimate``, ``lower``, ``upper``, and beside them ``realised``: the value on the
        window's labelled rows once labels arrive (NaN before; ``n_labelled`` says how many).
        Empty when the reference has no score or no target.
    estimated_disparities : DataFrame
        Their largest between-group differences per attribute, with intervals.
    start, end : str
        Time span of a time window (ISO 8601), or the first and last row number of a count window.
    n_late : int
        Rows whose timestamp belonged to an already closed window (counted in this one).
    multivariate : DataFrame
        With ``Monitor(multivariate=...)``: the table of
        :func:`raikit.data.multivariate_drift` of the window's features against the reference's
        (method, attribute, group, AUC or reconstruction-error increase with its interval,
        p-values, ``drifted``); empty otherwise.
    findings : tuple of Finding
        The alerts.
    monitor : str
        The monitor's name.
    window : int
        The window's number, from 0.
    n_rows : int
        Rows in the window.
    n_labelled : int
        Rows whose label has arrived.

    See Also
    --------
    Monitor : produces one per closed window.
    monitor_history : the stored series of every window.

    Examples
    --------
    >>> import tempfile
    >>> from raikit.datasets import load_german_credit
    >>> from raikit.ledger import Ledger
    >>> from raikit.monitor import Monitor
    >>> ds = load_german_credit()
    >>> ds = ds.replace(frame=ds.frame.assign(pred=ds.frame["credit"]), prediction="pred")
    >>> monitor = Monitor(ds, ledger=Ledger(tempfile.mkdtemp()), windows=500, n_boot=20)
    >>> window = monitor.ingest(ds.frame)[0]
    >>> window.window, window.n_rows
    (0, 500)
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
    parity: pd.DataFrame = field(default_factory=pd.DataFrame)
    estimates: pd.DataFrame = field(default_factory=pd.DataFrame)
    estimated_disparities: pd.DataFrame = field(default_factory=pd.DataFrame)
    multivariate: pd.DataFrame = field(default_factory=pd.DataFrame)

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
        bars = error_bars(s["window_rate"], s["lower"], s["upper"]) if "lower" in s else None
        sel.add_bar(x=x, y=s["window_rate"], name=f"window {self.window}", error_y=bars)
        sel.update_layout(title="Selection rate per group (window with CI)", barmode="group")
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
        if len(self.estimates):
            figures.append(self._estimates_figure())
        return figures

    def _estimates_figure(self):
        """Label-free TPR and FPR per group with intervals, and the realised values beside."""
        import plotly.graph_objects as go

        from raikit._plots import error_bars

        rows = self.estimates[self.estimates["metric"].isin(_FAIRNESS)]
        x = rows["metric"].str.replace("_", " ") + ": " + rows["attribute"] + "="
        x = x + rows["group"].astype(str)
        fig = go.Figure(
            go.Bar(
                x=x,
                y=rows["estimate"],
                error_y=error_bars(rows["estimate"], rows["lower"], rows["upper"]),
                name="estimated without labels",
            )
        )
        fig.add_scatter(x=x, y=rows["realised"], mode="markers", name="realised (labelled rows)")
        fig.update_layout(
            title=f"TPR and FPR per group estimated before labels, window {self.window}"
        )
        return fig


def _joint_methods(multivariate) -> list[str] | None:
    """``Monitor(multivariate=...)`` as a list of test names (None: off)."""
    if multivariate is None or multivariate is False:
        return None
    chosen = [multivariate] if isinstance(multivariate, str) else multivariate
    allowed = ("classifier", "pca")
    if (
        not isinstance(chosen, list | tuple)
        or not chosen
        or any(not isinstance(m, str) or m not in allowed for m in chosen)
    ):
        raise ParameterError(
            f"Monitor(): multivariate must be None, 'classifier', 'pca' or a list of them, got "
            f"{multivariate!r}."
        )
    return list(dict.fromkeys(chosen))


def _is_number_kind(values: pd.Series) -> bool:
    """Whether a column holds numbers (or booleans) only, without looking at rows in Python."""
    if pd.api.types.is_bool_dtype(values.dtype) or pd.api.types.is_numeric_dtype(values.dtype):
        return True
    kind = pd.api.types.infer_dtype(values, skipna=True)
    return kind in ("integer", "floating", "mixed-integer-float", "boolean", "decimal", "empty")


def _is_text(values: pd.Series) -> np.ndarray:
    """Which values are strings (used only to point at the first bad row of a refused batch)."""
    return values.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)


def _id_text(ids: pd.Series) -> np.ndarray:
    """Ids as Python strings in an object array (fast hashing; ``7`` and ``"7"`` are one id)."""
    return ids.astype(str).to_numpy(dtype=object)


def _where(position: int, ids: np.ndarray | None) -> str:
    """``row 17 (id 'a-17')``: where a bad value sits in a batch."""
    return f"row {position}" + (f" (id {_plain(ids[position])!r})" if ids is not None else "")


def _as_text(values: pd.Series) -> pd.Series:
    """Group values as text, missing kept missing (``None``), never the string ``"nan"``."""
    missing = values.isna().to_numpy()
    text = values.astype(str).astype(object)
    text[missing] = None
    return text.reset_index(drop=True)


@dataclass
class _Batch:
    """A validated batch: its prediction log, per-row bucket codes and (time windows) period keys."""

    log: pd.DataFrame
    codes: list
    group_codes: list
    keys: np.ndarray | None
    digest: str | None
    id_kind: str | None

    def __len__(self) -> int:
        return len(self.log)

    def take(self, where) -> _Batch:
        return _Batch(
            self.log.iloc[where].reset_index(drop=True),
            [c[where] for c in self.codes],
            [g[where] for g in self.group_codes],
            None if self.keys is None else self.keys[where],
            self.digest,
            self.id_kind,
        )


class Monitor:
    """Watch a deployed model: data drift, prediction drift, performance and fairness per window.

    Ingestion is crash-safe and idempotent: every batch is validated whole, then stored in one
    ledger transaction (its rows, the windows it closes with their evaluations, its ids), or not
    at all. Rows whose id is already stored are skipped (``n_skipped`` counts them), so running
    the same ingest twice, or again after a crash, counts every row once; without ``id_column`` a
    batch identical to one already stored is skipped. The open window lives in the ledger too, so
    a later session (or a concurrent process) continues it.

    Label-free criteria are computed at ingest for every window: selection rate per group, the
    demographic parity difference and ratio between groups with their intervals, and prediction
    drift; they alert at once. Label-dependent ones (accuracy, true and false positive rates,
    equalized odds) follow when labels arrive (:meth:`add_labels`, :meth:`refresh_pending`).
    Until then, when the reference has a ``score`` and a target, each window also carries them
    estimated without labels (:func:`raikit.evaluate.estimate_performance`: calibrated on the
    reference, per group, with intervals), so that a gap in TPR or FPR between groups alerts
    before the labels arrive; once they do, the realised value stands beside each estimate.

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
        Column of row ids in ingested batches (integers or text, one type for the life of the
        monitor), used to join labels that arrive later and to skip rows already ingested. It is
        never monitored as a feature.
    prediction : str, optional
        Column of predicted labels in the batches when the reference has no ``prediction`` role
        (e.g. the training data): prediction drift and selection rates are then compared with the
        reference's labels (its target), and no reference accuracy is known.
    labels : sequence, optional
        The labels the model predicts (default: the values of the reference's target and
        prediction). Predictions and labels outside this set, missing or non-finite are refused;
        text such as ``"1"`` is accepted only when the labels are text.
    pos_label : optional
        The label that means a positive decision (selection rate). Inferred only for 0/1,
        False/True and -1/1; other labels need it.
    bins : int, default 10
        Quantile bins of numeric columns, fixed on the reference.
    alpha : float, default 0.01
        Adjusted p-value below which a column may be called drifted (with ``psi_threshold``).
    psi_threshold : float, default 0.2
        PSI at or above which a column is drifted (both conditions must hold).
    fairness_tolerance : float, default 0.1
        A between-group difference of selection rate (demographic parity), TPR or FPR is an
        error when its lower confidence bound is above this; a selection-rate difference whose
        estimate is above it but whose interval is not is a warning. A selection-rate ratio
        below 0.8 (four-fifths rule) is an error when its upper bound is below 0.8, else a
        warning.
    min_group_size : int, default ``raikit.metrics.MIN_GROUP_SIZE`` (30)
        Smallest group (in the reference and in a window) whose drift is tested and whose
        selection rate is compared in demographic parity.
    max_accuracy_drop : float, default 0.05
        Alert when a window's accuracy upper bound falls this far below the reference accuracy.
    ci, n_boot, random_state
        Bootstrap intervals of the window's metrics.
    multivariate : None, "classifier", "pca" or a list of them
        Also test each window's features taken together against the reference's with
        :func:`raikit.data.multivariate_drift` (a domain classifier, the PCA reconstruction
        error, or both), overall and per group, at level ``alpha``: drift in how the columns
        move together passes every per-column test. The feature values of each window are then
        kept in its stored prediction log (the ledger holds them), so that a window closed or
        re-evaluated in a later session is tested on all its rows. ``None`` (default): off.

    Attributes
    ----------
    windows_closed : int
        Number of the next window to close (windows closed so far, in every session).
    n_skipped : int
        Rows this object skipped because they were already stored (same id, or same batch).

    See Also
    --------
    raikit.monitor.monitor_history : reads the stored series.
    raikit.evaluate.estimate_performance : the label-free estimates.

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
    >>> monitor.ingest(ds.frame)  # the same rows again: skipped, nothing counted twice
    []
    >>> monitor.n_skipped
    1000
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
        prediction: str | None = None,
        labels=None,
        pos_label=None,
        bins: int = 10,
        alpha: float = 0.01,
        psi_threshold: float = 0.2,
        fairness_tolerance: float = 0.1,
        min_group_size: int = MIN_GROUP_SIZE,
        max_accuracy_drop: float = 0.05,
        ci: float = 0.95,
        n_boot: int = 200,
        random_state=0,
        multivariate=None,
    ) -> None:
        from raikit.dataset import Dataset
        from raikit.ledger import Ledger, LedgerError

        if not isinstance(reference, Dataset):
            raise ParameterError(
                f"Monitor(): reference must be a raikit.Dataset, got {type(reference).__name__}; wrap your "
                f"table with raikit.Dataset(frame, target=..., sensitive=[...], prediction=...)."
            )
        self._freq = _window_frequency(windows, time_column)
        if prediction is not None and reference.prediction not in (None, prediction):
            raise ParameterError(
                f"Monitor(): prediction={prediction!r} differs from the reference's prediction role "
                f"{reference.prediction!r}; pass one of them."
            )
        self._params = {
            "windows": windows if isinstance(windows, str) else int(windows),
            "time_column": time_column,
            "id_column": id_column,
            "prediction": prediction if reference.prediction is None else None,
            "labels": None if labels is None else [_plain(v) for v in labels],
            "pos_label": _plain(pos_label),
            "bins": bins,
            "alpha": alpha,
            "psi_threshold": psi_threshold,
            "fairness_tolerance": fairness_tolerance,
            "min_group_size": min_group_size,
            "max_accuracy_drop": max_accuracy_drop,
            "ci": ci,
            "n_boot": n_boot,
            "random_state": random_state if isinstance(random_state, int | None) else None,
            "multivariate": _joint_methods(multivariate),
        }
        self.windows = windows
        self.time_column = time_column
        self.ledger = ledger if isinstance(ledger, Ledger) else Ledger(ledger)
        self.reference = reference
        self.window = int(windows) if self._freq is None else None
        self.name = name
        self.id_column = id_column
        self.alpha, self.psi_threshold = alpha, psi_threshold
        self.fairness_tolerance, self.max_accuracy_drop = fairness_tolerance, max_accuracy_drop
        self.ci, self.n_boot, self.random_state = ci, n_boot, random_state
        self.min_group_size = min_group_size
        self.multivariate = self._params["multivariate"]
        self._joint_reference: pd.DataFrame | None = None  # built on the first window tested
        self.n_skipped = 0
        frame = reference.frame
        self.sensitive_names = list(reference.sensitive_names)
        self.prediction = reference.prediction or prediction
        self.score = reference.score
        # Without predictions in the reference, its labels stand for them (a model's predicted
        # label distribution is compared with the distribution of the truth it was trained on).
        self._reference_predicts = reference.prediction is not None
        if self.prediction is not None and not self._reference_predicts:
            if reference.target is None:
                raise DataError(
                    f"The reference has neither the prediction column {self.prediction!r} nor a "
                    f"target; give it one of them so that predictions can be compared."
                )
            frame = frame.assign(**{self.prediction: reference.y.to_numpy()})
        self.classes_ = self._declared_labels(frame, labels)
        self.pos_label = self._positive_label(pos_label)
        self._fit_reference(reference, frame, bins=bins, skip={id_column, time_column})
        self._labels: pd.Series | None = None  # id (text) -> label; read from the ledger on use
        self._version: int | None = None  # version of monitor_state the open window reflects
        self._reset()
        self._reset_part()
        self._db = {kind: _table(self.ledger, kind) for kind in _TABLES}
        try:  # one closed window per number: refused by the database even if two writers raced
            self._db["logs"].index("monitor_logs_window", ("monitor", "window"), unique=True)
        except LedgerError:  # a ledger written by an older raikit may hold duplicates
            pass  # the write lock of every batch still keeps new window numbers unique
        self._check_config()
        with self.ledger.transaction():
            self._sync()
        self._evaluate_unevaluated()

    def _fit_reference(self, reference, frame: pd.DataFrame, *, bins: int, skip: set) -> None:
        """Bins, groups, count tables and rates of the reference that every window is compared to."""
        monitored = [c for c in reference.feature_names if c not in skip]
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
        self.reference_counts = self._count_tables(frame)
        # label-free estimates need calibrated scores: a scored, labelled reference
        self._estimable = (
            self.prediction is not None
            and self.score is not None
            and reference.target is not None
            and reference.score is not None
        )
        self.reference_selection = None
        self.reference_accuracy = None
        if self.prediction is not None:
            reference_log = self._log_frame(frame, ids=None)
            self.reference_selection = self._selection(reference_log, ci=None)[
                ["attribute", "group", "rate"]
            ]
            if self._reference_predicts and reference.target is not None:
                self.reference_accuracy = float(
                    np.mean(reference_log[self.prediction].to_numpy() == reference.y.to_numpy())
                )

    # ----------------------------------------------------------------- labels
    def _declared_labels(self, frame: pd.DataFrame, labels) -> np.ndarray | None:
        """The label set predictions and labels must belong to, typed like the labels."""
        if labels is not None:
            values = pd.Series(list(labels), dtype=object)
            if len(values) == 0 or values.isna().any():
                raise ParameterError(
                    f"Monitor(): labels={list(labels)!r} must be known labels, not empty."
                )
        else:
            parts = [frame[c] for c in (self.reference.target, self.prediction) if c in frame]
            if not parts:
                return None
            values = pd.concat(parts, ignore_index=True).dropna()
            if values.nunique() > _MAX_CLASSES:
                if self.prediction is None:
                    return None
                raise DataError(
                    f"The monitor watches classifiers, but the reference's labels have "
                    f"{values.nunique():,} distinct values; declare the predicted labels with "
                    f"labels=[...]."
                )
        if _is_number_kind(values):
            numbers = pd.unique(values.astype(float).to_numpy())
            if not np.isfinite(numbers).all():
                raise DataError("The reference's labels include non-finite numbers.")
            if pd.api.types.is_bool_dtype(values.dtype):
                return np.array(sorted(bool(v) for v in numbers))
            numbers = np.sort(numbers)
            return (
                numbers.astype(np.int64) if np.array_equal(numbers, np.round(numbers)) else numbers
            )
        if pd.api.types.infer_dtype(values, skipna=True) != "string":
            raise DataError(
                f"The labels mix text and numbers ({sorted(map(repr, pd.unique(values)))[:6]}); "
                f"give the target and prediction one type, or declare labels=[...]."
            )
        text = np.array(sorted(pd.unique(values.astype(str))), dtype=object)
        lowered = pd.Index(text).str.lower()
        if lowered.duplicated().any():
            raise DataError(
                f"Labels {text.tolist()} differ only in letter case; make them consistent."
            )
        return text

    def _positive_label(self, pos_label):
        if self.prediction is None or self.classes_ is None:
            return pos_label
        return resolve_pos_label(self.classes_, pos_label)

    def _to_labels(self, values, what: str, ids: np.ndarray | None) -> np.ndarray:
        """Validate values against the declared labels and return them typed like the labels."""
        values = pd.Series(values).reset_index(drop=True)
        missing = values.isna().to_numpy()
        if missing.any():
            raise DataError(
                f"{what} is missing at {_where(int(np.argmax(missing)), ids)}; every row needs a "
                f"known label."
            )
        classes = self.classes_
        if classes is None:
            return values.to_numpy()
        if classes.dtype.kind in "biuf":
            if not _is_number_kind(values):
                text = _is_text(values)  # error path only
                first = int(np.argmax(text)) if text.any() else 0
                raise DataError(
                    f"{what} holds text ({_plain(values.iloc[first])!r} at {_where(first, ids)}) but the "
                    f"declared labels are numbers {classes.tolist()}; write the predictions as "
                    f"numbers (or declare text labels)."
                )
            numbers = values.to_numpy(dtype=float)
            bad = ~np.isfinite(numbers)
            if bad.any():
                first = int(np.argmax(bad))
                raise DataError(
                    f"{what} holds the non-finite value {numbers[first]} at {_where(first, ids)}."
                )
            where = pd.Index(classes.astype(float)).get_indexer(numbers)
        else:
            if pd.api.types.infer_dtype(values, skipna=True) != "string":
                other = ~_is_text(values)  # error path only
                first = int(np.argmax(other))
                raise DataError(
                    f"{what} holds {_plain(values.iloc[first])!r} at {_where(first, ids)}, not text, but "
                    f"the declared labels are text {classes.tolist()}; send labels as text."
                )
            where = pd.Index(classes).get_indexer(values.astype(str).to_numpy())
        if (where < 0).any():
            first = int(np.argmax(where < 0))
            raise DataError(
                f"{what} holds {_plain(values.iloc[first])!r} at {_where(first, ids)}, which is not one of "
                f"the declared labels {classes.tolist()}; fix the value or pass labels=[...]."
            )
        return classes[where]

    # ----------------------------------------------------------------- sessions
    @classmethod
    def open(cls, ledger, name: str = "monitor") -> Monitor:
        """Resume a monitor stored in ``ledger``: same reference, windows and thresholds.

        Use it in a later session, e.g. to add labels that arrived after its windows closed and
        re-evaluate them with :meth:`refresh_pending`. The open window (rows stored but not yet
        in a closed window) is continued, and any closed window without an evaluation (e.g. from
        a ledger written by an older raikit) is evaluated.

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
            _table(ledger, "config").get(["reference_id", "params"], where={"monitor": name})
            if ledger.has_table("monitor_config")
            else None
        )
        if config is None:
            raise DataError(
                f"No monitor named {name!r} in the ledger {ledger.root}; create it with "
                f"Monitor(reference, ledger=..., name={name!r}) first."
            )
        reference = ledger.read_dataset(config["reference_id"])
        params = json.loads(config["params"])
        roles = params.pop("reference_roles", None)  # absent in monitors of older raikit
        if roles is not None:
            reference = reference.replace(**roles)
        return cls(reference, ledger=ledger, name=name, **params)

    def __enter__(self) -> Monitor:
        return self

    def __exit__(self, kind, *exc) -> None:
        if kind is None:
            self.flush()  # the block ended normally: close the partly filled window

    def _fingerprint(self, *, legacy: bool = False) -> str:
        """What must not change between sessions of one monitor: its buckets and roles.

        ``legacy``: the fingerprint raikit stored before ids and labels were part of it, so
        that a monitor created then can be continued (its fingerprint is then updated).
        """
        spec = {
            "buckets": {b.name: b.labels for b in self.binners},
            "groups": {g.name: g.labels for g in self.group_binners},
            "prediction": self.prediction,
            "score": self.score,
            "windows": str(self.windows),
        }
        if not legacy:
            spec["id"] = self.id_column
            spec["labels"] = None if self.classes_ is None else [_plain(v) for v in self.classes_]
        return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()

    def _check_config(self) -> None:
        fingerprint = self._fingerprint()
        config = self._db["config"]
        known = config.get(["fingerprint"], where={"monitor": self.name})
        if known is None:
            # The reference is stored with its data so that Monitor.open can resume the monitor.
            reference_id = self.ledger.log_dataset(self.reference, store_data=True)
            # The ledger keys a dataset by its content, so the same table logged earlier with
            # other roles (e.g. as training data) shares its id: keep this monitor's roles here.
            stored = {**self._params, "reference_roles": self.reference.roles}
            row = {
                "monitor": self.name,
                "fingerprint": fingerprint,
                "reference_id": reference_id,
                "params": json.dumps(stored),
                "created_at": _now(),
            }
            config.insert([row], ignore=True)
            known = config.get(["fingerprint"], where={"monitor": self.name})
        if known["fingerprint"] == self._fingerprint(legacy=True):
            config.update({"fingerprint": fingerprint}, where={"monitor": self.name})
        elif known["fingerprint"] != fingerprint:
            raise DataError(
                f"The ledger already holds a monitor named {self.name!r} built on a different "
                f"reference, window size, id column or label set (its bins, groups or prediction "
                f"columns differ), so its windows cannot be continued. Pass the same reference "
                f"and windows, or another name=."
            )

    def _reset(self) -> None:
        """Empty open window (in memory)."""
        self._counts = [
            np.zeros((len(self.group_rows), b.n_buckets), dtype=np.int64) for b in self.binners
        ]
        self._log: list[pd.DataFrame] = []
        self._n = 0
        self._late = 0

    def _reset_part(self) -> None:
        """Empty share of the current batch in the open window (stored as a chunk)."""
        self._part_counts = [
            np.zeros((len(self.group_rows), b.n_buckets), dtype=np.int64) for b in self.binners
        ]
        self._part_log: list[pd.DataFrame] = []
        self._part_n = 0
        self._part_late = 0

    # ----------------------------------------------------------------- the stored cursor
    def _state(self) -> dict | None:
        """Inside a transaction: the stored cursor, locked until the transaction ends."""
        return self._db["state"].get(
            ["version", "next_window", "rows_seen", "period", "id_kind"],
            where={"monitor": self.name},
            lock=True,
        )

    def _sync(self) -> None:
        """Inside a transaction: make the in-memory open window that of the ledger."""
        row = self._state()
        if row is None:  # first use (or a monitor stored by an older raikit)
            stored = self._db["logs"].select(["window", "n_rows"], where={"monitor": self.name})
            first = {
                "monitor": self.name,
                "version": 0,
                "next_window": int(stored["window"].max()) + 1 if len(stored) else 0,
                "rows_seen": int(stored["n_rows"].sum()) if len(stored) else 0,
                "period": None,
                "id_kind": None,
                "updated_at": _now(),
            }
            self._db["state"].insert([first], ignore=True)
            self._backfill_ids()
            row = self._state()
        if self._version is not None and int(row["version"]) == self._version:
            return
        self.windows_closed = int(row["next_window"])
        self._rows_seen = int(row["rows_seen"])
        self._period = None if row["period"] is None else int(row["period"])
        self._id_kind = None if row["id_kind"] is None else str(row["id_kind"])
        self._reset()
        chunks = self._db["chunks"].select(
            ["log_artifact", "counts_artifact", "n_late"],
            where={"monitor": self.name},
            order_by="seq",
        )
        for chunk in chunks.itertuples(index=False):  # the open window's batches
            self._log.append(pd.read_parquet(io.BytesIO(self.ledger.get_artifact(chunk[0]))))
            for total, part in zip(self._counts, self._load_counts(chunk[1]), strict=True):
                total += part
            self._late += int(chunk[2])
        self._n = sum(len(part) for part in self._log)
        self._labels = None  # labels may have arrived from another process
        self._version = int(row["version"])

    def _backfill_ids(self) -> None:
        """Ids of windows stored by an older raikit (before ``monitor_ids``), so they count once."""
        if self.id_column is None:
            return
        for _, stored in self._stored_windows().iterrows():  # once per monitor, at first use
            keys = _id_text(self._read_log(stored)[self.id_column])
            rows = pd.DataFrame({"monitor": self.name, "id": keys, "window": int(stored["window"])})
            self._db["ids"].insert(rows, ignore=True)

    def _commit_state(self) -> None:
        """Inside the batch's transaction: store the open window's new rows and the cursor."""
        if self._part_n:
            log = pd.concat(self._part_log, ignore_index=True)
            log_digest, counts_digest = self._put_log(log, self._part_counts, self.windows_closed)
            # the open window's chunks: a few rows (one per batch since the window opened)
            seqs = self._db["chunks"].select(["seq"], where={"monitor": self.name})["seq"]
            chunk = {
                "monitor": self.name,
                "window": self.windows_closed,
                "seq": int(seqs.max()) + 1 if len(seqs) else 0,
                "log_artifact": log_digest,
                "counts_artifact": counts_digest,
                "n_rows": len(log),
                "n_late": int(self._part_late),
                "created_at": _now(),
            }
            self._db["chunks"].insert([chunk])
        version = (self._version or 0) + 1
        self._db["state"].update(
            {
                "version": version,
                "next_window": self.windows_closed,
                "rows_seen": self._rows_seen,
                "period": self._period,
                "id_kind": self._id_kind,
                "updated_at": _now(),
            },
            where={"monitor": self.name},
        )
        self._version = version
        self._reset_part()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One batch: sync, work, store the cursor; on any error forget the in-memory state."""
        try:
            with self.ledger.transaction():
                self._sync()
                self._reset_part()
                yield
                self._commit_state()
        except BaseException as error:
            self._version = None  # rolled back: the open window is reloaded from the ledger
            if isinstance(error, Exception):
                self._resync()
            raise

    def _resync(self) -> None:
        """After a rolled-back batch: show the stored state again (windows_closed, open rows)."""
        try:
            with self.ledger.transaction():
                self._sync()
        except Exception:  # the ledger itself failed: the next batch reloads (version is None)
            self._version = None

    # ----------------------------------------------------------------- label-free criteria
    def _selection(self, log: pd.DataFrame, *, ci: float | None) -> pd.DataFrame:
        """Selection rate per group (overall and intersections too) with its interval."""
        from raikit.metrics import group_metrics

        hit = (log[self.prediction].to_numpy() == self.pos_label).astype(np.int64)
        result = group_metrics(
            hit,
            hit,
            sensitive_features=log[self.sensitive_names] if self.sensitive_names else None,
            metrics=["count", "selection_rate"],
            ci=ci,
            n_boot=self.n_boot,
            random_state=self.random_state,
            missing_group=MISSING,
        )
        table = result.table.pivot_table(
            index=["attribute", "group"], columns="metric", values=["value", "lower", "upper"],
            sort=False,
        )  # fmt: skip
        return pd.DataFrame(
            {
                "attribute": [a for a, _ in table.index],
                "group": [g for _, g in table.index],
                "n": table[("value", "count")].round().astype(np.int64).to_numpy(),
                "rate": table[("value", "selection_rate")].to_numpy(),
                "lower": table[("lower", "selection_rate")].to_numpy() if ci else np.nan,
                "upper": table[("upper", "selection_rate")].to_numpy() if ci else np.nan,
            }
        )

    def _parity(self, log: pd.DataFrame) -> pd.DataFrame:
        """Demographic parity per attribute among the groups with ``min_group_size`` rows."""
        from raikit.metrics import group_metrics

        hit = (log[self.prediction].to_numpy() == self.pos_label).astype(np.int64)
        rows = []
        for attribute in self.sensitive_names:  # a few attributes; groups are vectorised
            groups = log[attribute].fillna(MISSING)
            sizes = groups.value_counts()
            large = groups.isin(sizes.index[sizes >= self.min_group_size]).to_numpy()
            n_groups = int((sizes >= self.min_group_size).sum())
            values = {"difference": (np.nan,) * 3, "ratio": (np.nan,) * 3}
            if n_groups >= 2:
                result = group_metrics(
                    hit[large],
                    hit[large],
                    sensitive_features={attribute: groups.to_numpy()[large]},
                    metrics=["selection_rate"],
                    ci=self.ci,
                    n_boot=self.n_boot,
                    random_state=self.random_state,
                )
                d = result.disparities
                d = d[(d["method"] == "between_groups") & (d["metric"] == "selection_rate")]
                for kind in values:
                    row = d[d["kind"] == kind].iloc[0]
                    values[kind] = (row["value"], row["lower"], row["upper"])
            for kind, (value, lower, upper) in values.items():
                rows.append((attribute, kind, value, lower, upper, n_groups, n_groups >= 2))
        return pd.DataFrame(
            rows,
            columns=["attribute", "kind", "value", "lower", "upper", "n_groups", "assessable"],
        )

    def _parity_findings(self, parity: pd.DataFrame) -> list[Finding]:
        findings = []
        tol = self.fairness_tolerance
        for attribute, rows in parity[parity["assessable"]].groupby("attribute", sort=False):
            d = rows[rows["kind"] == "difference"].iloc[0]
            q = rows[rows["kind"] == "ratio"].iloc[0]
            if d["lower"] > tol or q["upper"] < _FOUR_FIFTHS:
                severity = "error"
            elif d["value"] > tol or q["value"] < _FOUR_FIFTHS:
                severity = "warning"
            else:
                continue
            findings.append(
                Finding(
                    severity,
                    f"Selection rates differ across {attribute} (demographic parity)",
                    f"difference {d['value']:.3f} (CI {d['lower']:.3f}-{d['upper']:.3f}) vs "
                    f"tolerance {tol}; ratio {q['value']:.3f} (CI {q['lower']:.3f}-"
                    f"{q['upper']:.3f}) vs {_FOUR_FIFTHS}; from the predictions of every row, no "
                    f"labels needed"
                    + ("." if severity == "error" else "; the interval includes the limit."),
                    slice=attribute,
                )
            )
        return findings

    # ----------------------------------------------------------------- ingestion
    def _check_batch(self, batch: pd.DataFrame) -> None:
        if not isinstance(batch, pd.DataFrame):
            raise ParameterError(
                f"Monitor.ingest(): batch must be a pandas DataFrame, got {type(batch).__name__}."
            )
        missing = [c for c in self._needed() if c not in batch.columns]
        if missing:
            raise ColumnError(
                f"Batch lacks column(s) {missing} that the monitor needs (features, sensitive "
                f"attributes, prediction/score and id); send them with every batch."
            )

    def _needed(self) -> list[str]:
        needed = [b.name for b in self.binners] + self.sensitive_names
        needed += [c for c in (self.id_column, self.time_column) if c]
        return list(dict.fromkeys(needed))  # a column may play two roles; read it once

    def _ids(self, values: pd.Series) -> tuple[pd.Series, str]:
        """Ids as int64 or text, and their kind; missing or mixed ids are refused."""
        name = self.id_column
        missing = values.isna().to_numpy()
        if missing.any():
            raise DataError(
                f"Column {name!r} (the id) is missing at row {int(np.argmax(missing))}; every "
                f"production row needs an id."
            )
        values = values.reset_index(drop=True)
        if pd.api.types.is_bool_dtype(values.dtype):
            raise DataError(f"Column {name!r} (the id) holds booleans; ids are integers or text.")
        if pd.api.types.is_integer_dtype(values.dtype):
            return values.astype(np.int64), "integer"
        kind = pd.api.types.infer_dtype(values, skipna=True)
        if kind in ("floating", "integer", "mixed-integer-float"):
            numbers = values.to_numpy(dtype=float)
            if np.array_equal(numbers, np.round(numbers)) and np.isfinite(numbers).all():
                return pd.Series(numbers.astype(np.int64)), "integer"
            raise DataError(
                f"Column {name!r} (the id) holds fractional numbers; ids are integers or text."
            )
        if kind == "string":
            return values.astype(str).astype(object), "text"
        raise DataError(
            f"Column {name!r} (the id) mixes types ({kind}); give every id one type, integers "
            f"or text (e.g. df[{name!r}].astype(str))."
        )

    def _log_frame(self, batch: pd.DataFrame, *, ids) -> pd.DataFrame:
        """The kept columns of a batch, validated and typed: id, sensitive, prediction, score."""
        log = {}
        if ids is not None:
            log[self.id_column] = ids
        shown = None if ids is None else ids.to_numpy()
        for name in self.sensitive_names:
            log[name] = _as_text(batch[name])
        if self.prediction is not None:
            log[self.prediction] = self._to_labels(
                batch[self.prediction], f"Column {self.prediction!r} (the prediction)", shown
            )
        if self.score is not None:
            score = batch[self.score].reset_index(drop=True)
            what = f"Column {self.score!r} (the score)"
            if not _is_number_kind(score):
                text = _is_text(score)  # error path only
                first = int(np.argmax(text)) if text.any() else 0
                raise DataError(
                    f"{what} holds {_plain(score.iloc[first])!r} at {_where(first, shown)}; scores are "
                    f"numbers."
                )
            numbers = score.to_numpy(dtype=float, na_value=np.nan)
            bad = ~np.isfinite(numbers)
            if bad.any():
                first = int(np.argmax(bad))
                raise DataError(
                    f"{what} holds {numbers[first]} at {_where(first, shown)}; every score must "
                    f"be a finite number."
                )
            log[self.score] = numbers
        if self.multivariate:  # the joint tests need the window's rows, not only their buckets
            for name in self._joint_features():
                log.setdefault(name, batch[name].reset_index(drop=True))
        return pd.DataFrame(log)

    def _joint_features(self) -> list[str]:
        """The monitored feature columns (not the prediction or score)."""
        return [name for name, kind in self.kinds.items() if kind == "data"]

    def _joint_drift(self, log: pd.DataFrame) -> tuple[pd.DataFrame, list]:
        """The multivariate drift of the window's features against the reference's."""
        from raikit.data import multivariate_drift
        from raikit.dataset import Dataset

        features = [name for name in self._joint_features() if name in log]
        if not self.multivariate or not features or len(log) < 20:
            return pd.DataFrame(), []
        keep = [*features, *self.sensitive_names]
        if self._joint_reference is None:
            frame = self.reference.frame[keep].reset_index(drop=True)
            for name in self.sensitive_names:  # the log holds group labels as text
                frame[name] = _as_text(frame[name])
            self._joint_reference = frame

        def side(frame):
            if not self.sensitive_names:
                return frame
            return Dataset(
                frame, target=None, sensitive=self.sensitive_names,
                missing_group=self.reference.missing_group,
            )  # fmt: skip

        result = multivariate_drift(
            reference=side(self._joint_reference),
            current=side(log[keep].reset_index(drop=True)),
            method=self.multivariate,
            alpha=self.alpha,
            ci=self.ci,
            min_group_size=self.min_group_size,
            random_state=self.random_state,
        )
        return result.table, [f for f in result.findings if f.severity != "info"]

    def _prepare(self, batch: pd.DataFrame) -> _Batch:
        """Validate a whole batch (nothing is stored yet) and reduce it to codes and a log."""
        self._check_batch(batch)
        batch = batch[self._needed()].reset_index(drop=True)
        ids, id_kind = (None, None) if self.id_column is None else self._ids(batch[self.id_column])
        log = self._log_frame(batch, ids=ids)
        codes, group_codes = self._codes(batch)
        keys = None
        if self._freq is not None:
            try:
                stamps = pd.to_datetime(batch[self.time_column])
            except (TypeError, ValueError) as error:
                raise DataError(
                    f"Column {self.time_column!r} holds values that are not timestamps: {error}."
                ) from error
            if stamps.isna().any():
                raise DataError(
                    f"Column {self.time_column!r} has {int(stamps.isna().sum())} missing "
                    f"timestamp(s); every production row needs one."
                )
            if stamps.dt.tz is not None:
                stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
            keys = stamps.dt.floor(self._freq).dt.as_unit("ns").to_numpy().view(np.int64)
        digest = None
        if self.id_column is None:  # no ids: a batch is recognised by its content
            digest = hashlib.sha256(
                pd.util.hash_pandas_object(batch, index=False).to_numpy().tobytes()
            ).hexdigest()
        prepared = _Batch(log, codes, group_codes, keys, digest, id_kind)
        if keys is not None and len(keys) > 1 and (np.diff(keys) < 0).any():
            prepared = prepared.take(np.argsort(keys, kind="stable"))
        return prepared

    def _fresh(self, batch: _Batch) -> _Batch:
        """Inside the transaction: drop rows (or the batch) already stored."""
        if batch.digest is not None:
            row = {"monitor": self.name, "digest": batch.digest, "created_at": _now()}
            if self._db["batches"].insert([row], ignore=True) == 0:  # stored by an earlier run
                self.n_skipped += len(batch)
                return batch.take(slice(0, 0))
            return batch
        if self.id_column is None:
            return batch
        if self._id_kind is not None and batch.id_kind != self._id_kind:
            raise DataError(
                f"Column {self.id_column!r} holds {batch.id_kind} ids in this batch, but monitor "
                f"{self.name!r} stored {self._id_kind} ids before; send ids of one type (e.g. "
                f"cast the column). Nothing of this batch was stored."
            )
        keys = pd.Series(_id_text(batch.log[self.id_column]), dtype=object)
        fresh = ~keys.duplicated().to_numpy()
        stored = self._stored_ids(keys[fresh].to_numpy())
        if len(stored):
            fresh &= ~keys.isin(stored).to_numpy()
        self.n_skipped += int(len(batch) - fresh.sum())
        return batch if fresh.all() else batch.take(np.flatnonzero(fresh))

    def _stored_ids(self, keys: np.ndarray) -> pd.Index:
        """Which of these ids (as text) are already stored for this monitor."""
        # a few queries per batch (the table API sends long lists in chunks), not one per row
        rows = self._db["ids"].select(
            ["id"], where={"monitor": self.name, "id": keys.tolist()}, raw=True
        )
        return pd.Index([row[0] for row in rows], dtype=object)

    def ingest(self, batch: pd.DataFrame) -> list[MonitorWindowResult]:
        """Add a batch of production rows; returns the windows it closed (often none).

        The batch is validated whole before anything is stored (ids, predictions, scores,
        features and timestamps), then stored in one transaction: its rows, the windows it
        closes with their evaluations, and its ids. Rows whose id is already stored are skipped.
        """
        prepared = self._prepare(batch)
        with self._transaction():
            prepared = self._fresh(prepared)
            if self.id_column is not None and len(prepared):
                self._id_kind = prepared.id_kind
            closed = self._ingest_time(prepared) if self._freq is not None else []
            if self._freq is None:
                start, n = 0, len(prepared)
                while start < n:  # one pass per window the batch touches
                    stop = min(n, start + self.window - self._n)
                    self._add(prepared, slice(start, stop))
                    start = stop
                    if self._n >= self.window:
                        closed.append(self._close())
        return closed

    def _ingest_time(self, batch: _Batch) -> list[MonitorWindowResult]:
        keys = batch.keys
        bounds = np.flatnonzero(np.diff(keys)) + 1
        closed = []
        for lo, hi in zip([0, *bounds], [*bounds, len(keys)], strict=True):  # one per period
            if lo == hi:
                continue
            key = int(keys[lo])
            late = 0
            if self._period is None:
                self._period = key
            elif key > self._period:
                if self._n:
                    closed.append(self._close())
                self._period = key
            elif key < self._period:
                late = hi - lo
            self._add(batch, slice(lo, hi), late=late)
        return closed

    def _add(self, batch: _Batch, rows: slice, *, late: int = 0) -> None:
        tables = self._tables([c[rows] for c in batch.codes], [g[rows] for g in batch.group_codes])
        for counts, part, table in zip(self._counts, self._part_counts, tables, strict=True):
            counts += table
            part += table
        chunk = batch.log.iloc[rows]
        self._log.append(chunk)
        self._part_log.append(chunk)
        self._n += len(chunk)
        self._part_n += len(chunk)
        self._late += late
        self._part_late += late
        if self.id_column is not None and len(chunk):
            keys = _id_text(chunk[self.id_column])
            rows = pd.DataFrame({"monitor": self.name, "id": keys, "window": self.windows_closed})
            self._db["ids"].insert(rows)

    def _codes(self, frame: pd.DataFrame) -> tuple[list, list]:
        """Bucket code of every row in every monitored column and sensitive attribute."""
        group_codes = [g.codes(frame[g.name].astype(object)) for g in self.group_binners]
        return [b.codes(frame[b.name]) for b in self.binners], group_codes

    def _tables(self, codes: list, group_codes: list) -> list[np.ndarray]:
        """(1 + groups, buckets) counts of every monitored column: np.bincount, no row loop."""
        tables = []
        for binner, column in zip(self.binners, codes, strict=True):
            nb = binner.n_buckets
            parts = [np.bincount(column, minlength=nb)[None, :]]
            for g, gc in zip(self.group_binners, group_codes, strict=True):
                flat = np.bincount(gc * nb + column, minlength=g.n_buckets * nb)
                parts.append(flat.reshape(g.n_buckets, nb))
            tables.append(np.vstack(parts))
        return tables

    def _count_tables(self, frame: pd.DataFrame) -> list[np.ndarray]:
        return self._tables(*self._codes(frame))

    def add_labels(self, ids, labels) -> int:
        """Record true outcomes by row id (they may arrive long after the predictions).

        Labels are stored in the ledger, so a later session (a new ``Monitor`` with the same
        ``name`` and ledger) can join them to windows closed earlier; see :meth:`refresh_pending`.
        Ids are compared as text (``7`` and ``"7"`` are the same row). A later label for the same
        id replaces the earlier one. Labels must be declared labels of the monitor (see
        ``labels=``); nothing is stored when one is not.

        Returns
        -------
        int
            How many of the ids match a row already ingested (in any session).
        """
        if self.id_column is None:
            raise ParameterError(
                "Monitor.add_labels(): labels are joined by id: create the Monitor with id_column=..."
            )
        ids = np.asarray(ids)
        labels = np.asarray(labels)
        if ids.shape != labels.shape:
            raise DataError(f"ids ({ids.size}) and labels ({labels.size}) differ in length.")
        if pd.isna(labels).any():
            raise DataError("labels contain missing values; send only known outcomes.")
        if pd.isna(ids).any():
            raise DataError("ids contain missing values; every label needs the id of its row.")
        keys = pd.Index(ids).astype(str)
        typed = self._to_labels(labels, "labels", ids)
        new = pd.Series([_plain(v) for v in typed.tolist()], index=keys, dtype=object)
        new = new[~new.index.duplicated(keep="last")]
        now = _now()
        with self._transaction():
            rows = [
                {"monitor": self.name, "id": k, "label": json.dumps(v), "created_at": now}
                for k, v in new.items()
            ]
            self._db["labels"].insert(rows)
            known = self._label_map()
            known = pd.concat([known, new])
            labels_now = known[~known.index.duplicated(keep="last")]
        self._labels = labels_now
        stored = self._stored_ids(pd.unique(keys.to_numpy()))
        return int(keys.isin(stored).sum())

    def _label_map(self) -> pd.Series:
        """Every label of this monitor (id as text -> label), the latest per id."""
        if self._labels is None:
            rows = self._db["labels"].select(
                ["id", "label"], where={"monitor": self.name}, order_by="created_at"
            )
            values = [json.loads(v) for v in rows["label"]]
            labels = pd.Series(values, index=pd.Index(rows["id"].astype(str)), dtype=object)
            self._labels = labels[~labels.index.duplicated(keep="last")]
        return self._labels

    def flush(self) -> MonitorWindowResult | None:
        """Close the current, partly filled window (if it has rows).

        The open window is stored batch by batch, so nothing is lost without it; call it (or use
        the monitor as a context manager) to evaluate the rows of a window that will not fill up.
        """
        with self._transaction():
            return self._close() if self._n else None

    def _stored_windows(self) -> pd.DataFrame:
        columns = ["window", "log_artifact", "counts_artifact", "window_start", "window_end"]
        return self._db["logs"].select(
            [*columns, "n_late"], where={"monitor": self.name}, order_by="window"
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
            raise ParameterError(
                f"Monitor: window {window} is not a closed window of monitor {self.name!r} ({have})."
            )
        return row.iloc[0]

    def _read_log(self, stored: pd.Series) -> pd.DataFrame:
        """The prediction log of a stored window (a row of :meth:`_stored_windows`)."""
        return pd.read_parquet(io.BytesIO(self.ledger.get_artifact(stored["log_artifact"])))

    def _load_counts(self, digest: str) -> list[np.ndarray]:
        with np.load(io.BytesIO(self.ledger.get_artifact(digest))) as arrays:
            return [arrays[f"c{i}"] for i in range(len(self.binners))]

    def _reevaluate(self, stored: pd.Series, log: pd.DataFrame) -> MonitorWindowResult:
        counts = self._load_counts(stored["counts_artifact"])
        span = (stored["window_start"], stored["window_end"])
        return self._evaluate(int(stored["window"]), log, counts, span, int(stored["n_late"]))

    def refresh(self, window: int) -> MonitorWindowResult:
        """Re-evaluate a closed window (of this or an earlier session) with the labels known now.

        The new evaluation is stored like the first one; :func:`monitor_history` lists both.
        """
        stored = self._stored(window)
        return self._reevaluate(stored, self._read_log(stored))

    def refresh_pending(self, *, progress=None) -> list[MonitorWindowResult]:
        """Re-evaluate every closed window for which more labels are known than at its last
        evaluation (e.g. labels that arrived in a later session). Returns the new evaluations.

        ``progress(windows_done, windows_total)`` is called after each stored window.
        """
        if self.id_column is None or self.prediction is None:
            return []
        labels = self._label_map()
        evaluated = monitor_history(self.ledger, name=self.name, table="windows")
        last = evaluated.groupby("window")["n_labelled"].last().to_dict() if len(evaluated) else {}
        results = []
        stored_windows = self._stored_windows()
        for done, (_, stored) in enumerate(stored_windows.iterrows(), 1):  # each log read once
            log = self._read_log(stored)
            known = int(pd.Index(_id_text(log[self.id_column])).isin(labels.index).sum())
            if known > int(last.get(int(stored["window"]), 0) or 0):
                results.append(self._reevaluate(stored, log))
            if progress is not None:
                progress(done, len(stored_windows))
        return results

    def _evaluate_unevaluated(self) -> list[MonitorWindowResult]:
        """Evaluate closed windows that have no evaluation (stored by an interrupted writer)."""

        def missing() -> list[int]:
            where = {"monitor": self.name}
            stored = self._db["logs"].select(["window"], where=where)["window"]
            evaluated = self._db["windows"].select(["window"], where=where)["window"]
            return sorted(set(stored.astype(int)) - set(evaluated.astype(int)))

        if not missing():
            return []
        with self.ledger.transaction():  # under the write lock: no other process evaluates them
            return [self.refresh(window) for window in missing()]

    def ingest_file(self, path, *, batch_size: int = 100_000, progress=None) -> list:
        """Stream a Parquet or CSV file (or a glob of them) through :meth:`ingest`.

        Only the columns the monitor needs are read, ``batch_size`` rows at a time (with pyarrow),
        so a file larger than memory can be monitored. Each batch is one transaction; after a
        crash, running the same call again stores the rows that were missing and skips the rest
        (by id; without ids, by the content of each batch, so keep ``batch_size``).

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

        from raikit._errors import RaikitError
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
        needed = self._needed()
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
                try:
                    closed += self.ingest(batch.to_pandas())
                except RaikitError as error:
                    raise type(error)(
                        f"In rows {done:,}-{done + batch.num_rows - 1:,} of {text!r} (rows "
                        f"before them are stored; this batch is not): {error}"
                    ) from error
                done += batch.num_rows
                if progress is not None:
                    progress(done, total)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as error:
            raise DataError(f"Cannot read {text!r} as {fmt}: {error}") from error
        return closed

    # ----------------------------------------------------------------- closing
    def _close(self) -> MonitorWindowResult:
        """Inside a transaction: store the full open window, evaluate it, open the next one."""
        log = pd.concat(self._log, ignore_index=True) if len(self._log) > 1 else self._log[0]
        log = log.reset_index(drop=True)
        counts, late = self._counts, self._late
        if self._freq is None:
            span = (str(self._rows_seen), str(self._rows_seen + self._n - 1))
        else:
            begin = pd.Timestamp(self._period)
            span = (begin.isoformat(), (begin + self._freq).isoformat())
        window = self.windows_closed
        log_digest, counts_digest = self._put_log(log, counts, window)
        stored = {
            "monitor": self.name,
            "window": window,
            "log_artifact": log_digest,
            "counts_artifact": counts_digest,
            "window_start": span[0],
            "window_end": span[1],
            "n_rows": len(log),
            "n_late": int(late),
            "created_at": _now(),
        }
        with self.ledger.transaction():
            self._db["logs"].insert([stored])
            self._db["chunks"].delete(where={"monitor": self.name})
        self._rows_seen += self._n
        self.windows_closed += 1
        self._reset()
        self._reset_part()  # the batch's rows so far are in the closed window, not a chunk
        return self._evaluate(window, log, counts, span, late)

    def _put_log(self, log: pd.DataFrame, counts, window: int) -> tuple[str, str]:
        """Store a prediction log (Parquet) and its bucket counts (npz) as artifacts."""
        buffer = io.BytesIO()
        try:
            log.to_parquet(buffer, index=False)
        except (TypeError, ValueError, ImportError) as error:
            raise DataError(
                f"The prediction log of window {window} cannot be stored as Parquet ({error})."
            ) from error
        log_digest = self.ledger.put_artifact(
            buffer.getvalue(), media_type="application/vnd.apache.parquet"
        )
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **{f"c{i}": c for i, c in enumerate(counts)})
        counts_digest = self.ledger.put_artifact(buffer.getvalue(), media_type="application/x-npz")
        return log_digest, counts_digest

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
        joint, findings = self._joint_drift(log)
        findings += self._drift_findings(drift)
        selection = pd.DataFrame(
            columns=["attribute", "group", "n", "reference_rate", "window_rate", "lower", "upper"]
        )
        parity = pd.DataFrame(
            columns=["attribute", "kind", "value", "lower", "upper", "n_groups", "assessable"]
        )
        if self.prediction is not None:  # label-free criteria: every row, at ingest
            cur = self._selection(log, ci=self.ci)
            selection = cur.merge(
                self.reference_selection, on=["attribute", "group"], how="left",
                suffixes=("", "_ref"),
            ).rename(columns={"rate": "window_rate", "rate_ref": "reference_rate"})  # fmt: skip
            selection = selection[
                ["attribute", "group", "n", "reference_rate", "window_rate", "lower", "upper"]
            ]
            parity = self._parity(log)
            findings += self._parity_findings(parity)
        metrics = pd.DataFrame(columns=["attribute", "group", "metric", "value", "lower", "upper"])
        disparities = pd.DataFrame(columns=["attribute", "metric", "value", "lower", "upper"])
        n_labelled = 0
        labels = (
            self._label_map()
            if self.id_column is not None and self.prediction is not None
            else pd.Series(dtype=object)
        )
        if len(labels):
            where = labels.index.get_indexer(_id_text(log[self.id_column]))
            known = where >= 0
            n_labelled = int(known.sum())
            if n_labelled >= 2:
                y = np.asarray(labels.to_numpy()[where[known]].tolist())
                metrics, disparities, extra = self._labelled(log[known], y)
                findings += extra
        estimates, estimated_disparities = self._estimates(log, metrics)
        if n_labelled < len(log):  # labels missing: the estimate speaks for the window
            findings += self._estimate_findings(estimated_disparities)
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
            parity=parity,
            estimates=estimates,
            estimated_disparities=estimated_disparities,
            multivariate=joint,
        )
        self._store(result)
        return result

    def _drift_findings(self, drift: pd.DataFrame) -> list[Finding]:
        """A finding per drifted column, and per column that drifted in one group only."""
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
        return findings

    def _estimates(self, log: pd.DataFrame, metrics: pd.DataFrame):
        """Label-free estimates per group for the whole window, with the realised values of its
        labelled rows beside them (empty tables when the reference cannot calibrate)."""
        from raikit.dataset import Dataset
        from raikit.evaluate import estimate_performance

        if not self._estimable:
            return pd.DataFrame(), pd.DataFrame()
        columns = [*self.sensitive_names, self.prediction, self.score]
        window = Dataset(
            log[columns].reset_index(drop=True),
            target=None,
            sensitive=self.sensitive_names,
            prediction=self.prediction,
            score=self.score,
            missing_group=MISSING,
        )
        result = estimate_performance(
            None,
            window,
            reference=self.reference,
            ci=self.ci,
            n_boot=self.n_boot,
            tolerance=self.fairness_tolerance,
            min_group_size=self.min_group_size,
            random_state=self.random_state,
            pos_label=self.pos_label,
        )
        realised = metrics[["attribute", "group", "metric", "value"]].rename(
            columns={"value": "realised"}
        )
        realised = realised.astype({"group": str, "attribute": str})
        estimates = result.estimates.astype({"group": str}).merge(
            realised, on=["attribute", "group", "metric"], how="left"
        )
        return estimates, result.disparities

    def _estimate_findings(self, disparities: pd.DataFrame) -> list[Finding]:
        """Errors for estimated TPR/FPR gaps whose whole interval is beyond the tolerance."""
        findings = []
        if not len(disparities):
            return findings
        tol = self.fairness_tolerance
        beyond = disparities[disparities["metric"].isin(_FAIRNESS) & (disparities["lower"] > tol)]
        for row in beyond.itertuples(index=False):  # few (attribute, metric) pairs
            findings.append(
                Finding(
                    "error",
                    f"Unfair {row.metric.replace('_', ' ')} across {row.attribute} (estimated "
                    f"without labels)",
                    f"between-group difference estimated at {row.value:.3f} (CI {row.lower:.3f}-"
                    f"{row.upper:.3f}) > tolerance {tol}, from calibrated scores before the labels "
                    f"arrived; it holds while the reference's calibration holds in every group.",
                    slice=row.attribute,
                )
            )
        return findings

    def _labelled(self, log: pd.DataFrame, y: np.ndarray):
        from raikit.metrics import group_metrics

        result = group_metrics(
            y,
            log[self.prediction].to_numpy(),
            sensitive_features=log[self.sensitive_names].reset_index(drop=True),
            metrics=_METRICS,
            pos_label=self.pos_label,
            ci=self.ci,
            n_boot=self.n_boot,
            random_state=self.random_state,
        )
        metrics = result.table[["attribute", "group", "metric", "value", "lower", "upper"]]
        d = result.disparities
        d = d[(d["kind"] == "difference") & (d["method"] == "between_groups")]
        disparities = d[["attribute", "metric", "value", "lower", "upper"]].reset_index(drop=True)
        # Equalized odds per attribute: the larger of the TPR and FPR differences, with its CI.
        odds = disparities[disparities["metric"].isin(_FAIRNESS)].dropna(subset=["value"])
        if len(odds):
            worst = odds.loc[odds.groupby("attribute", sort=False)["value"].idxmax()]
            disparities = pd.concat(
                [disparities, worst.assign(metric="equalized_odds")], ignore_index=True
            )
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
        with self.ledger.transaction():  # the evaluation is stored whole, or not at all
            self._store_rows(result)

    def _store_rows(self, result: MonitorWindowResult) -> None:
        evidence_id = self.ledger.log_evidence(
            result,
            check="monitor.window",
            params={"monitor": self.name, "window": result.window, "windows": str(self.windows)},
        )
        now = _now()
        series = self._series_rows(result, now)
        worst = max(
            (f.severity for f in result.findings),
            key={"info": 0, "warning": 1, "error": 2}.get,
            default=None,
        )
        window = {
            "monitor": self.name,
            "window": result.window,
            "window_start": result.start,
            "window_end": result.end,
            "n_rows": result.n_rows,
            "n_late": result.n_late,
            "n_labelled": result.n_labelled,
            "n_alerts": len(result.findings),
            "worst_severity": worst,
            "evidence_id": evidence_id,
            "created_at": now,
        }
        alerts = [
            {
                "monitor": self.name,
                "window": result.window,
                "severity": f.severity,
                "title": f.title,
                "detail": f.detail,
                "slice": f.slice,
                "created_at": now,
            }
            for f in result.findings
        ]
        with self.ledger.transaction():
            self._db["windows"].insert([window])
            self._db["series"].insert(series)
            self._db["alerts"].insert(alerts)

    def _series_rows(self, result: MonitorWindowResult, now) -> pd.DataFrame:
        """One row of the ``series`` table per statistic of the window (drift, rates, gaps)."""

        def rows(table, kind, name, group, value, bounds=True) -> list[tuple]:
            if not len(table):  # an empty table may lack its columns
                return []
            n = len(table)
            kinds = table[kind[1:]] if kind.startswith("@") else [kind] * n
            groups = [None] * n if group is None else group(table)
            lower, upper = (table["lower"], table["upper"]) if bounds else ([None] * n,) * 2
            columns = zip(kinds, table[name], groups, table[value], lower, upper, strict=True)
            return [(self.name, result.window, *row, now) for row in columns]

        def labelled(table):  # the selection rate of every row is already in the series
            return table[table["metric"] != "selection_rate"] if len(table) else table

        def pair(t):
            return [f"{a}={g}" for a, g in zip(t["attribute"], t["group"], strict=True)]

        def group(t):
            return t["group"].astype(str).tolist()

        parity = result.parity
        if len(parity):
            parity = parity.assign(kind="demographic_parity_" + parity["kind"])
        odds = result.disparities
        odds = odds[odds["metric"] == "equalized_odds"] if len(odds) else odds
        estimates = labelled(result.estimates)
        if len(estimates):
            estimates = estimates.assign(metric="estimated_" + estimates["metric"])
        series = (
            rows(result.drift, "psi", "column", pair, "psi", bounds=False)
            + rows(result.selection, "selection_rate", "attribute", group, "window_rate")
            + rows(parity, "@kind", "attribute", None, "value")
            + rows(odds, "equalized_odds_difference", "attribute", None, "value")
            + rows(labelled(result.metrics), "@metric", "attribute", group, "value")
            + rows(estimates, "@metric", "attribute", group, "estimate")
        )
        return pd.DataFrame(series, columns=list(_TABLES["series"][0]))  # NaN is stored as NULL

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

    Parameters
    ----------
    ledger : Ledger or str
        The ledger the monitor writes to, or its folder.
    name : str, default "monitor"
        The monitor's name.
    table : {"series", "windows", "alerts"}, default "series"
        Which table to read.
    latest : bool, default False
        Keep only each window's latest evaluation.

    Returns
    -------
    DataFrame
        The rows of that table, oldest first.

    See Also
    --------
    Monitor : writes these tables.

    Examples
    --------
    >>> import tempfile
    >>> from raikit.datasets import load_german_credit
    >>> from raikit.ledger import Ledger
    >>> from raikit.monitor import Monitor, monitor_history
    >>> ds = load_german_credit()
    >>> ds = ds.replace(frame=ds.frame.assign(pred=ds.frame["credit"]), prediction="pred")
    >>> ledger = Ledger(tempfile.mkdtemp())
    >>> _ = Monitor(ds, ledger=ledger, windows=500, n_boot=20).ingest(ds.frame)
    >>> len(monitor_history(ledger, table="windows"))
    2
    """
    from raikit.ledger import Ledger

    if table not in ("series", "windows", "alerts"):
        raise ParameterError(
            f"monitor_history(): table must be 'series', 'windows' or 'alerts', got {table!r}."
        )
    ledger = ledger if isinstance(ledger, Ledger) else Ledger(ledger)
    if not ledger.has_table(f"monitor_{table}"):
        return pd.DataFrame()
    frame = _table(ledger, table).select(where={"monitor": name}, order_by=["window", "created_at"])
    if latest and len(frame):
        newest = frame.groupby("window")["created_at"].transform("max")
        frame = frame[frame["created_at"] == newest].reset_index(drop=True)
    return frame.rename(columns={"grp": "group"})
