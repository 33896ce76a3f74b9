"""What the dashboard's pages compute from the ledger: the runs table with its links, the cohort
explorer, the slice lattice, the side-by-side comparison of two audits and the monitor's time axes.

Every view reads aggregates the ledger already holds (never row data) and returns frames and
Plotly figures; :mod:`raikit.server._app` turns them into pages. Names from the ledger are hostile:
they are shown escaped and never become part of a link (links carry hexadecimal ids only, through
:func:`raikit._html.safe_href`).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from raikit.evaluate._slices import join_predicates

__all__ = [
    "alerts_frame",
    "cohort_cells",
    "cohort_metrics",
    "compare_frames",
    "matching_groups",
    "monitor_figures",
    "runs_frame",
    "slice_lattice",
]

_ID = re.compile(r"[0-9a-f]{4,64}")
GROUP_METRICS = "GroupMetricsResult"  # the result type the cohort explorer reads
SLICES = "SliceResult"  # the result type the slices view reads
# A cohort metric: (name, successes, trials) as sums of the confusion cells.
_RATES = (
    ("selection_rate", ("tp", "fp"), ("tp", "fp", "fn", "tn")),
    ("base_rate", ("tp", "fn"), ("tp", "fp", "fn", "tn")),
    ("accuracy", ("tp", "tn"), ("tp", "fp", "fn", "tn")),
    ("true_positive_rate", ("tp",), ("tp", "fn")),
    ("false_positive_rate", ("fp",), ("fp", "tn")),
    ("precision", ("tp",), ("tp", "fp")),
)
_NEEDED = ("count", "base_rate", "selection_rate", "accuracy")
HEADLINE = ("accuracy", "selection_rate", "true_positive_rate", "false_positive_rate", "roc_auc")


def _hex(value) -> str | None:
    """``value`` if it is a ledger id (hexadecimal), else None: only ids ever become links."""
    text = str(value)
    return text if _ID.fullmatch(text) else None


# --------------------------------------------------------------------------- runs
def runs_frame(runs: pd.DataFrame, evidence: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """The runs table and, per column, the link of each row (None: no link).

    A run gets a link to its report (its ``audit.report`` evidence), its model card and Annex IV
    view (where it holds an audit report), its cohort explorer (where it holds group metrics) and
    its slices (where it holds a ``find_slices`` result), whatever check name they were recorded
    under. Links are built from hexadecimal ids
    only; a run whose id is not one is listed without links.

    Examples
    --------
    >>> runs = pd.DataFrame({"id": ["ab12cd34", "../x"], "name": ["<b>a</b>", "b"],
    ...     "kind": "run", "status": "finished", "started_at": "2026", "n_evidence": [2, 0]})
    >>> evidence = pd.DataFrame({"id": ["ee01", "ee02"], "run_id": ["ab12cd34"] * 2,
    ...     "check_name": ["metrics.group_metrics", "audit.report"],
    ...     "result_type": ["GroupMetricsResult", "AuditReport"]})
    >>> shown, links = runs_frame(runs, evidence)
    >>> links["report"], links["cohorts"][0], links["slices"][0]
    (['/evidence/ee02', None], '/cohorts/ab12cd34', None)
    """
    ids = [_hex(i) for i in runs["id"]]
    types = evidence.groupby("run_id")["result_type"].agg(set).to_dict() if len(evidence) else {}
    latest = (
        evidence[evidence["check_name"] == "audit.report"].groupby("run_id")["id"].last().to_dict()
        if len(evidence)
        else {}
    )
    has = {
        name: [bool(i) and wanted in types.get(i, set()) for i in ids]
        for name, wanted in (("cohorts", GROUP_METRICS), ("slices", SLICES))
    }
    has["audit"] = [bool(r) for r in (latest.get(i) if i else None for i in ids)]
    reports = [_hex(latest.get(i)) if i else None for i in ids]
    shown = pd.DataFrame(
        {
            "run": runs["name"].astype(str),
            "id": [str(i)[:12] for i in runs["id"]],
            "kind": runs["kind"],
            "status": runs["status"],
            "started": runs["started_at"].astype(str).str.replace("T", " ").str.slice(0, 19),
            "evidence": runs["n_evidence"],
            "report": ["report" if r else "" for r in reports],
            "model card": ["model card" if a else "" for a in has["audit"]],
            "Annex IV": ["Annex IV" if a else "" for a in has["audit"]],
            "cohorts": ["cohorts" if c else "" for c in has["cohorts"]],
            "slices": ["slices" if s else "" for s in has["slices"]],
            "lineage": ["graph" if i else "" for i in ids],
        }
    )
    links = {
        "run": [i and f"/runs/{i}" for i in ids],
        "report": [r and f"/evidence/{r}" for r in reports],
        "model card": [i if a else None for i, a in zip(ids, has["audit"], strict=True)],
        "Annex IV": [i if a else None for i, a in zip(ids, has["audit"], strict=True)],
        "cohorts": [i if c else None for i, c in zip(ids, has["cohorts"], strict=True)],
        "slices": [i if s else None for i, s in zip(ids, has["slices"], strict=True)],
        "lineage": [i and f"/lineage/{i}" for i in ids],
    }
    links["model card"] = [i and f"/cards/{i}" for i in links["model card"]]
    links["Annex IV"] = [i and f"/cards/{i}/annex-iv" for i in links["Annex IV"]]
    links["cohorts"] = [i and f"/cohorts/{i}" for i in links["cohorts"]]
    links["slices"] = [i and f"/slices/{i}" for i in links["slices"]]
    return shown, links


# --------------------------------------------------------------------------- cohorts
def cohort_cells(table: pd.DataFrame) -> pd.DataFrame | None:
    """The confusion cells of every recorded group, recovered from a group-metrics table.

    A binary :class:`~raikit.metrics.GroupMetricsResult` stores, per group, its size ``n`` and
    the rates ``base_rate = (tp + fn) / n``, ``selection_rate = (tp + fp) / n`` and
    ``accuracy = (tp + tn) / n``: together they are the group's 2 x 2 confusion table, since
    ``tp = (n * selection_rate + n * base_rate + n * accuracy - n) / 2``. Counts that come out
    within 1e-6 of whole numbers are rounded (unweighted data); weighted sums are kept as they are.

    Returns None when the table lacks those statistics (regression, multiclass, or a run recorded
    without them).

    Examples
    --------
    >>> from raikit.metrics import group_metrics
    >>> result = group_metrics([1, 1, 0, 0, 1, 0], [1, 0, 0, 1, 1, 1],
    ...     sensitive_features=list("aaabbb"), ci=None)
    >>> cohort_cells(result.table)[["attribute", "group", "tp", "fp", "fn", "tn"]].values.tolist()
    [['overall', 'overall', 2.0, 2.0, 1.0, 1.0], ['sensitive', 'a', 1.0, 0.0, 1.0, 1.0], \
['sensitive', 'b', 1.0, 2.0, 0.0, 0.0]]
    """
    if not set(_NEEDED) <= set(table["metric"]):
        return None
    rows = table[table["metric"].isin(_NEEDED)]
    order = list(dict.fromkeys(zip(rows["attribute"], rows["group"], strict=True)))
    wide = rows.set_index(["attribute", "group", "metric"])["value"].unstack("metric")
    wide = wide.reindex(pd.MultiIndex.from_tuples(order, names=["attribute", "group"]))
    wide = wide[list(_NEEDED)].reset_index()
    n = wide["count"].to_numpy(float)
    positives = n * wide["base_rate"].to_numpy(float)
    predicted = n * wide["selection_rate"].to_numpy(float)
    right = n * wide["accuracy"].to_numpy(float)
    tp = (predicted + positives + right - n) / 2
    cells = np.column_stack([tp, predicted - tp, positives - tp, right - tp])
    cells = np.where(n[:, None] == 0, 0.0, cells)  # an empty group's rates are NaN
    if np.isnan(cells).any():
        return None
    whole = np.abs(cells - np.round(cells)).max(initial=0) < 1e-6
    cells = np.round(cells) if whole else cells
    out = wide[["attribute", "group"]].copy()
    if "slice" in rows.columns:  # each group's structured key (attribute -> value)
        keys = rows.drop_duplicates(["attribute", "group"]).set_index(["attribute", "group"])
        out["key"] = [dict(keys["slice"].get(pair, {}) or {}) for pair in order]
    out["n"] = np.round(n) if whole else n
    out[["tp", "fp", "fn", "tn"]] = np.clip(cells, 0, None)
    return out


def matching_groups(cells: pd.DataFrame, *, attribute: str, where: dict) -> list[str]:
    """The groups of ``attribute`` whose recorded key holds every ``attribute -> value`` of
    ``where`` (a filter on the recorded group table, e.g. every race among women).

    Examples
    --------
    >>> cells = pd.DataFrame({"attribute": ["sex & race"] * 3,
    ...     "group": ["F & A", "F & B", "M & A"],
    ...     "key": [{"sex": "F", "race": "A"}, {"sex": "F", "race": "B"}, {"sex": "M", "race": "A"}]})
    >>> matching_groups(cells, attribute="sex & race", where={"sex": "F"})
    ['F & A', 'F & B']
    """
    part = cells[cells["attribute"] == attribute]
    if "key" not in part.columns:
        return []
    keep = [all(key.get(a) == v for a, v in where.items()) for key in part["key"]]
    return list(part.loc[keep, "group"].astype(str))


def cohort_metrics(
    cells: pd.DataFrame, *, attribute: str, groups, ci: float = 0.95
) -> pd.DataFrame:
    """Each chosen group, the cohort they make together, the rest of the population and the whole,
    with their rates and Wilson intervals, from the groups' confusion cells.

    Groups of one attribute are disjoint, so a cohort's cells are the sum of its groups' cells and
    the rest's are the overall cells minus the cohort's.

    Parameters
    ----------
    cells : DataFrame
        From :func:`cohort_cells`.
    attribute : str
        The attribute (or intersection, e.g. ``"sex & race"``) whose groups are pooled.
    groups : sequence of str
        Groups of ``attribute`` in the cohort (unknown names are ignored).
    ci : float, default 0.95
        Confidence level of the Wilson intervals.

    Returns
    -------
    DataFrame
        One row per (row, metric): ``row`` (a group, ``"cohort"``, ``"rest"`` or
        ``"overall"``), ``n``, ``metric``, ``successes``, ``trials``, ``value``, ``lower``,
        ``upper``.

    Examples
    --------
    >>> cells = pd.DataFrame({"attribute": ["overall", "g", "g", "g"],
    ...     "group": ["overall", "a", "b", "c"], "n": [60, 20, 20, 20],
    ...     "tp": [15, 5, 5, 5], "fp": [15, 5, 5, 5], "fn": [15, 5, 5, 5], "tn": [15, 5, 5, 5]})
    >>> out = cohort_metrics(cells, attribute="g", groups=["a", "b"])
    >>> acc = out[out["metric"] == "accuracy"].set_index("row")
    >>> acc.loc[["cohort", "rest"], ["successes", "trials", "value"]].values.tolist()
    [[20.0, 40.0, 0.5], [10.0, 20.0, 0.5]]
    """
    from raikit.metrics._stats import wilson_interval

    cell_names = ["tp", "fp", "fn", "tn"]
    chosen = cells[(cells["attribute"] == attribute) & cells["group"].isin(list(groups))]
    overall = cells.loc[cells["attribute"] == "overall", cell_names].to_numpy(float)[:1]
    cohort = chosen[cell_names].to_numpy(float).sum(axis=0, keepdims=True)
    rows = pd.DataFrame(
        np.vstack([chosen[cell_names].to_numpy(float), cohort, overall - cohort, overall]),
        columns=cell_names,
    )
    rows.insert(0, "row", [*chosen["group"].astype(str), "cohort", "rest", "overall"])
    rows["n"] = rows[cell_names].sum(axis=1)
    parts = []
    for metric, top, bottom in _RATES:
        k = rows[list(top)].sum(axis=1).to_numpy()
        trials = rows[list(bottom)].sum(axis=1).to_numpy()
        lower, upper = wilson_interval(k, trials, ci=ci)
        with np.errstate(invalid="ignore", divide="ignore"):
            value = np.where(trials > 0, k / trials, np.nan)
        parts.append(
            pd.DataFrame(
                {
                    "row": rows["row"],
                    "n": rows["n"],
                    "metric": metric,
                    "successes": k,
                    "trials": trials,
                    "value": value,
                    "lower": lower,
                    "upper": upper,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


# --------------------------------------------------------------------------- slices
def slice_lattice(result) -> tuple[pd.DataFrame, pd.DataFrame, list[tuple[int, int]]]:
    """The slices of a :class:`~raikit.evaluate.SliceResult` as a lattice: parent -> child adds
    one condition.

    Slice Finder does not refine a slice once it is significant, so a recorded slice's parents
    are mostly slices that were *not* significant on their own (``age >= 58`` for ``age >= 58 &
    education_num >= 13``); they are nodes of the lattice too, without statistics.

    Returns
    -------
    slices : DataFrame
        The slice table with an ``id`` column (its row).
    nodes : DataFrame
        ``node`` (0 is all rows), ``text``, ``slice`` (the row in ``slices``, -1 for a node that
        was not recorded) and ``n_conditions``.
    edges : list of (int, int)
        ``(parent node, child node)``: the child adds exactly one condition to the parent.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> predicates = pd.DataFrame({"slice_id": [0, 1, 1], "feature": ["a", "c", "b"],
    ...     "op": "==", "code": [1, 0, 2], "label": ["a = 1", "c = 0", "b = 2"]})
    >>> slices = pd.DataFrame({"slice": ["a = 1", "c = 0 & b = 2"], "size": [50, 20]})
    >>> _, nodes, edges = slice_lattice(SimpleNamespace(slices=slices, predicates=predicates))
    >>> nodes[["text", "slice"]].values.tolist()
    [['all rows', -1], ['a = 1', 0], ['c = 0 & b = 2', 1], ['b = 2', -1], ['c = 0', -1]]
    >>> edges
    [(0, 1), (0, 3), (0, 4), (3, 2), (4, 2)]
    """
    slices = result.slices.reset_index(drop=True).copy()
    slices.insert(0, "id", np.arange(len(slices)))
    conditions: dict[int, tuple] = {
        int(sid): tuple(zip(part["feature"], part["op"], part["code"], part["label"], strict=True))
        for sid, part in result.predicates.groupby("slice_id", sort=False)
    }
    index: dict[frozenset, int] = {frozenset(): 0}
    rows: list[tuple[str, int, int]] = [("all rows", -1, 0)]
    edges: set[tuple[int, int]] = set()

    def node(conds: tuple, recorded: int = -1) -> int:
        key = frozenset(c[:3] for c in conds)
        if key in index:
            if recorded >= 0:  # recorded after being met as an intermediate
                text, _, level = rows[index[key]]
                rows[index[key]] = (text, recorded, level)
            return index[key]
        index[key] = len(rows)
        rows.append((join_predicates(str(c[3]) for c in conds), recorded, len(conds)))
        here = index[key]
        for drop in range(len(conds)):  # its parents: one condition fewer (a few per slice)
            edges.add((node(conds[:drop] + conds[drop + 1 :]), here))
        return here

    for sid in range(len(slices)):
        node(conditions.get(sid, ()), sid)
    nodes = pd.DataFrame(rows, columns=["text", "slice", "n_conditions"])
    nodes.insert(0, "node", np.arange(len(nodes)))
    return slices, nodes, sorted(edges)


def lattice_figure(slices: pd.DataFrame, *, overall: float, loss: str):
    """Each slice at (rows, mean loss) with its interval and its number from the table, one colour
    per number of conditions (scatter traces only).

    Examples
    --------
    >>> slices = pd.DataFrame({"id": [0, 1], "slice": ["a = 1", "a = 1 & b = 2"],
    ...     "n_predicates": [1, 2], "size": [120, 40], "mean_loss": [0.6, 0.8],
    ...     "lower": [0.5, 0.6], "upper": [0.7, 1.0]})
    >>> [t.name for t in lattice_figure(slices, overall=0.4, loss="log_loss").data]
    ['1 condition(s)', '2 condition(s)']
    """
    import plotly.graph_objects as go

    fig = go.Figure()
    for level, part in slices.groupby("n_predicates", sort=True):
        fig.add_scatter(
            x=part["size"],
            y=part["mean_loss"],
            mode="markers+text",
            marker={"size": 11},
            name=f"{level} condition(s)",
            text=(part["id"] + 1).astype(str),
            textposition="top center",
            hovertext=part["slice"].astype(str),
            error_y={
                "type": "data",
                "symmetric": False,
                "array": (part["upper"] - part["mean_loss"]).clip(lower=0).fillna(0),
                "arrayminus": (part["mean_loss"] - part["lower"]).clip(lower=0).fillna(0),
            },
        )
    fig.add_hline(y=overall, line_dash="dash", annotation_text=f"all rows {overall:.3f}")
    fig.update_layout(
        title=f"Slices: rows against mean {loss} (numbers as in the table; interval per slice)",
        xaxis={"title": "rows in slice", "type": "log"},
        yaxis_title=f"mean {loss}",
        height=460,
    )
    return fig


# --------------------------------------------------------------------------- comparison
def compare_frames(report_a, report_b, metrics_a, metrics_b) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two audits side by side: their scorecards, and their headline metrics with the difference.

    ``metrics_a``/``metrics_b`` are the runs' test-set group-metrics results (or None). The
    difference is B - A of the point estimates; each run's own interval is shown, since the two
    runs' estimates need not be independent (the same test rows), so no interval of the
    difference is claimed.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> card = lambda s: SimpleNamespace(scorecard=pd.DataFrame(
    ...     {"principle": ["bias"], "status": [s], "reason": ["r"]}))
    >>> scores, _ = compare_frames(card("pass"), card("fail"), None, None)
    >>> scores.values.tolist()
    [['bias', 'pass', 'fail', 'r', 'r']]
    """
    keep = ["principle", "status", "reason"]
    scores = report_a.scorecard[keep].merge(
        report_b.scorecard[keep], on="principle", how="outer", suffixes=(" A", " B"), sort=False
    )
    scores = scores[["principle", "status A", "status B", "reason A", "reason B"]]
    rows = []
    for name, result in (("A", metrics_a), ("B", metrics_b)):
        if result is None:
            continue
        table = result.table
        part = table[(table["attribute"] == "overall") & table["metric"].isin(HEADLINE)]
        rows.append(part.assign(run=name, what="overall")[["run", "what", "metric", *_VLU]])
        gaps = result.disparities
        gaps = gaps[
            (gaps["method"] == "between_groups")
            & (gaps["kind"] == "difference")
            & gaps["metric"].isin(HEADLINE)
        ]
        rows.append(
            gaps.assign(run=name, what="largest gap: " + gaps["attribute"].astype(str))[
                ["run", "what", "metric", *_VLU]
            ]
        )
    if not rows:
        return scores, pd.DataFrame(columns=["what", "metric", "A", "B", "B - A"])
    long = pd.concat(rows, ignore_index=True)
    long["shown"] = [
        interval_text(v, lo, hi)
        for v, lo, hi in zip(long["value"], long["lower"], long["upper"], strict=True)
    ]
    wide = long.pivot_table(
        index=["what", "metric"],
        columns="run",
        values=["value", "shown"],
        aggfunc="first",
        sort=False,
    )
    out = pd.DataFrame(
        {"what": wide.index.get_level_values(0), "metric": wide.index.get_level_values(1)}
    )
    for name in ("A", "B"):
        out[name] = wide[("shown", name)].to_numpy() if ("shown", name) in wide else ""
    diff = (
        wide[("value", "B")].astype(float) - wide[("value", "A")].astype(float)
        if ("value", "A") in wide and ("value", "B") in wide
        else pd.Series(np.nan, index=wide.index)
    )
    out["B - A"] = [f"{d:+.3f}" if pd.notna(d) else "" for d in diff]
    return scores, out


_VLU = ["value", "lower", "upper"]


def interval_text(value, lower, upper) -> str:
    """``value [lower, upper]`` to three decimals (``—`` when the value was not computed)."""
    if pd.isna(value):
        return "—"
    if pd.isna(lower) or pd.isna(upper):
        return f"{value:.3f}"
    return f"{value:.3f} [{lower:.3f}, {upper:.3f}]"


# --------------------------------------------------------------------------- monitor
def window_times(windows: pd.DataFrame) -> tuple[pd.Series, str]:
    """Each window's time (indexed by window number) and the axis title.

    Time windows start at a timestamp (``window_start``); windows of a fixed number of rows have
    none, so they are placed at the time they closed (their first evaluation).

    Examples
    --------
    >>> windows = pd.DataFrame({"window": [0, 1], "window_start": ["0", "1000"],
    ...     "created_at": ["2026-03-01T10:00:00+00:00", "2026-03-01T11:30:00+00:00"]})
    >>> times, axis = window_times(windows)
    >>> axis, times.dt.strftime("%H:%M").tolist()
    ('window closed at', ['10:00', '11:30'])
    >>> by_day = windows.assign(window_start=["2026-03-01T00:00:00", "2026-03-02T00:00:00"])
    >>> window_times(by_day)[1]
    'window start'
    """
    first = windows.sort_values("created_at").groupby("window", sort=True).first()
    starts = pd.to_datetime(first["window_start"], errors="coerce", utc=True, format="ISO8601")
    numeric = pd.to_numeric(first["window_start"], errors="coerce")
    if starts.notna().all() and numeric.isna().all():
        return starts, "window start"
    closed = pd.to_datetime(first["created_at"], errors="coerce", utc=True, format="ISO8601")
    return closed, "window closed at"


def alerts_frame(alerts: pd.DataFrame, windows: pd.DataFrame) -> pd.DataFrame:
    """The alerts to show: each with its window's time (as on the plots), severity and text.

    Examples
    --------
    >>> windows = pd.DataFrame({"window": [0], "window_start": ["2026-03-01T00:00:00"],
    ...     "created_at": ["2026-03-02T00:00:00+00:00"]})
    >>> alerts = pd.DataFrame({"window": [0], "severity": ["error"], "title": ["t"],
    ...     "detail": ["d"], "slice": ["sex"], "created_at": ["x"], "monitor": ["m"]})
    >>> alerts_frame(alerts, windows).values.tolist()
    [['2026-03-01 00:00', 'error', 't', 'd', 'sex']]
    """
    if alerts.empty:
        return pd.DataFrame(columns=["window start", "severity", "title", "detail", "slice"])
    times, axis = window_times(windows)
    when = alerts["window"].map(times).dt.strftime("%Y-%m-%d %H:%M")
    shown = alerts[["severity", "title", "detail", "slice"]].copy()
    shown.insert(0, axis, when.fillna(alerts["window"].astype(str)))
    return shown.reset_index(drop=True)


def _intersection_of(names: set[str]):
    """Whether an attribute name is the intersection of others in ``names`` ("sex & race")."""
    from raikit._grouping import join_attributes

    prefixes = [join_attributes([name, ""]) for name in names]
    return lambda name: any(name.startswith(prefix) for prefix in prefixes)


def monitor_figures(series: pd.DataFrame, windows: pd.DataFrame) -> list:
    """PSI per column over time, then each rate per group over time (with its interval).

    ``series`` and ``windows`` are :func:`raikit.monitor.monitor_history`'s tables; the x axis is
    a date axis at :func:`window_times`.

    Examples
    --------
    >>> windows = pd.DataFrame({"window": [0, 1], "window_start": ["2026-03-01", "2026-03-02"],
    ...     "created_at": ["2026-03-03T00:00:00+00:00"] * 2})
    >>> series = pd.DataFrame({"window": [0, 1], "kind": "psi", "name": "age",
    ...     "group": "overall=overall", "value": [0.01, 0.3], "lower": None, "upper": None})
    >>> fig = monitor_figures(series, windows)[0]
    >>> fig.layout.xaxis.type, [str(x)[:10] for x in fig.data[0].x]
    ('date', ['2026-03-01', '2026-03-02'])
    """
    import plotly.graph_objects as go

    times, axis = window_times(windows)
    series = series.assign(time=series["window"].map(times))
    psi = series[(series["kind"] == "psi") & (series["group"] == "overall=overall")]
    fig = go.Figure()
    for column, rows in psi.groupby("name", sort=False):  # one line per column
        fig.add_scatter(x=rows["time"], y=rows["value"], mode="lines+markers", name=str(column))
    fig.update_layout(title="Drift (PSI) per window", xaxis={"title": axis, "type": "date"})
    figures = [fig]
    for kind in ("selection_rate", "true_positive_rate", "accuracy"):
        # one line per group of each attribute; intersections stay in the alerts and the ledger
        rows = series[(series["kind"] == kind) & (series["name"] != "overall")]
        rows = rows[~rows["name"].astype(str).map(_intersection_of(set(rows["name"].astype(str))))]
        if rows.empty:
            continue
        fig = go.Figure()
        for (attribute, group), part in rows.groupby(["name", "group"], sort=False):
            error = None
            if part["lower"].notna().any():
                error = {
                    "type": "data",
                    "symmetric": False,
                    "array": (part["upper"] - part["value"]).clip(lower=0).fillna(0),
                    "arrayminus": (part["value"] - part["lower"]).clip(lower=0).fillna(0),
                }
            fig.add_scatter(
                x=part["time"],
                y=part["value"],
                error_y=error,
                mode="lines+markers",
                name=f"{attribute}={group}",
            )
        fig.update_layout(
            title=f"{kind.replace('_', ' ')} per group", xaxis={"title": axis, "type": "date"}
        )
        figures.append(fig)
    return figures
