"""The HTML sections of the dashboard's pages (runs, run, cohorts, slices, comparison).

Each function takes a ledger and the request's (already checked) parameters and returns
``[(heading, html), ...]`` for :func:`raikit._html.page_html`. Every text from the ledger goes
through :func:`raikit._html.escape` or :func:`raikit._html.table_html`; every link is a path of
the dashboard built from hexadecimal ids and passed through :func:`raikit._html.safe_href`.
"""

from __future__ import annotations

from urllib.parse import urlencode

import numpy as np
import pandas as pd

from raikit._errors import DataError
from raikit._html import escape, figures_html, findings_html, safe_href, table_html
from raikit.server._views import (
    GROUP_METRICS,
    SLICES,
    _hex,
    cohort_cells,
    cohort_metrics,
    compare_frames,
    interval_text,
    lattice_figure,
    matching_groups,
    runs_frame,
    slice_lattice,
)

__all__ = [
    "cohort_sections",
    "compare_sections",
    "lineage_table",
    "run_sections",
    "runs_sections",
    "slices_sections",
]

SLICE_SORTS = ("id", "size", "mean_loss", "effect_size", "p_value", "n_predicates")
_STATUS = {"pass": "status-pass", "warn": "status-warn", "fail": "status-fail"}


def _link(url: str, text: str) -> str:
    return f'<a href="{safe_href(url)}">{escape(text)}</a>'


def _count(value) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def runs_sections(ledger) -> list[tuple[str, str]]:
    """The runs table (links to each run's report, cards, cohorts and slices) and the form that
    picks two audits to compare."""
    runs = ledger.runs()
    if not len(runs):
        return [("Runs", "<p>No runs yet: record one with raikit.audit(..., ledger=...).</p>")]
    evidence = ledger.evidence()
    shown, links = runs_frame(runs, evidence)
    status = [_STATUS.get(str(s)) for s in shown["status"]]
    sections = [("Runs", table_html(shown, links=links, classes={"status": status}))]
    audits = _audit_runs(runs, evidence)
    if len(audits) >= 2:
        sections.append(("Compare two audits", _compare_form(audits, audits[1][0], audits[0][0])))
    return sections


def _audit_runs(runs: pd.DataFrame, evidence: pd.DataFrame) -> list[tuple[str, str]]:
    """(id, label) of each run holding an audit report, newest first."""
    audited = set(evidence.loc[evidence["check_name"] == "audit.report", "run_id"])
    return [
        (i, f"{name} ({str(started)[:19].replace('T', ' ')}, {i[:8]})")
        for i, name, started in zip(runs["id"], runs["name"], runs["started_at"], strict=True)
        if _hex(i) and i in audited
    ]


def _compare_form(audits, a: str | None, b: str | None) -> str:
    def select(name: str, chosen: str | None) -> str:
        options = "".join(
            f'<option value="{escape(i)}"{" selected" if i == chosen else ""}>{escape(label)}'
            "</option>"
            for i, label in audits
        )
        return f'<label>{name} <select name="{name.lower()}" id="pick-{name}">{options}</select></label>'

    return (
        f'<form method="get" action="{safe_href("/compare")}">{select("A", a)} '
        f'{select("B", b)} <button type="submit" id="compare">Compare</button></form>'
    )


def run_sections(ledger, run_id: str) -> tuple[str, list[tuple[str, str]]]:
    """One run: what it is, the pages built from its evidence, and its evidence list."""
    info = ledger.run(run_id)
    evidence = info["evidence"]
    types = set(evidence["result_type"])
    views = []
    reports = evidence.loc[evidence["check_name"] == "audit.report", "id"]
    if len(reports) and _hex(reports.iloc[-1]):
        views += [
            _link(f"/evidence/{reports.iloc[-1]}", "audit report"),
            _link(f"/cards/{info['id']}", "model card"),
            _link(f"/cards/{info['id']}/annex-iv", "Annex IV"),
        ]
    if GROUP_METRICS in types:
        views.append(_link(f"/cohorts/{info['id']}", "cohort explorer"))
    if SLICES in types:
        views.append(_link(f"/slices/{info['id']}", "slices"))
    views.append(_link(f"/lineage/{info['id']}", "lineage graph"))
    detail = (
        f"<p>{escape(info['name'])} — {escape(info['status'])}, started "
        f"{escape(info['started_at'])}</p><p>params: {escape(info['params'])}</p>"
        f"<p>{' · '.join(views)}</p>"
    )
    rows = "".join(
        f'<li><a href="{safe_href(f"/evidence/{e.id}")}">{escape(e.check_name)}</a>: '
        f"{escape(e.summary)}</li>"
        for e in evidence.itertuples(index=False)
        if _hex(e.id)
    )
    listed = f"<ul>{rows}</ul>" if rows else "<p>No evidence was recorded in this run.</p>"
    return f"Run {info['id'][:12]}", [("Run", detail), ("Evidence", listed)]


def lineage_table(edges: pd.DataFrame) -> str:
    """The lineage edges with short ids, each run and evidence id a link to its page."""
    if not len(edges):
        return "<p>No edges.</p>"
    pages = {"run": "/runs/", "evidence": "/evidence/"}
    shown = pd.DataFrame(
        {
            "from": edges["src_kind"].astype(str) + " " + edges["src_id"].astype(str).str[:12],
            "relation": edges["relation"],
            "to": edges["dst_kind"].astype(str) + " " + edges["dst_id"].astype(str).str[:12],
            "recorded": edges["created_at"].astype(str).str.replace("T", " ").str.slice(0, 19),
        }
    )
    links = {
        column: [
            pages[k] + i if k in pages and _hex(i) else None
            for k, i in zip(edges[f"{side}_kind"], edges[f"{side}_id"], strict=True)
        ]
        for column, side in (("from", "src"), ("to", "dst"))
    }
    return table_html(shown, links=links)


# --------------------------------------------------------------------------- cohorts
def _group_metrics_of(ledger, run_id: str, evidence_id: str | None):
    """(evidence id, result) of the run's group metrics: the one asked for, else the test set's."""
    records = ledger.evidence(run=ledger.run(run_id)["id"])
    records = records[records["result_type"] == GROUP_METRICS]
    if evidence_id is not None:
        records = records[records["id"] == evidence_id]
    if not len(records):
        raise DataError(
            f"Run {run_id[:12]} holds no group metrics{' with that evidence id' if evidence_id else ''}"
            "; run raikit.audit(..., ledger=) or metrics.group_metrics inside raikit.track()."
        )
    records = records.sort_values("check_name", key=lambda c: c != "metrics.group_metrics")
    chosen = records.iloc[0]
    return chosen["id"], chosen["check_name"], ledger.load_evidence(chosen["id"]), records


def cohort_sections(
    ledger,
    run_id: str,
    *,
    evidence_id: str | None,
    attribute: str | None,
    groups: list[str],
    where: dict | None = None,
) -> tuple[str, list]:
    """The cohort explorer of a run: pick an attribute and groups (or, for an intersection, a
    filter such as every race among women), see the cohort's metrics (and the rest's) with Wilson
    intervals from the recorded confusion cells."""
    evidence_id, check, result, records = _group_metrics_of(ledger, run_id, evidence_id)
    title = f"Cohorts of run {run_id[:12]}"
    cells = cohort_cells(result.table)
    source = f"<p>From {escape(check)} (evidence {_link(f'/evidence/{evidence_id}', evidence_id[:12])}).</p>"
    if cells is None:
        return title, [
            (
                "Cohort explorer",
                source + "<p>This run lacks the sufficient statistics a cohort needs (the "
                "per-group count, base rate, selection rate and accuracy of a binary task), so "
                "no cohort can be computed from it. Its recorded metrics are in the evidence "
                "page.</p>",
            )
        ]
    attributes = [a for a in dict.fromkeys(cells["attribute"]) if a != "overall"]
    if attribute not in attributes:
        attribute = attributes[0]
    known = list(cells.loc[cells["attribute"] == attribute, "group"].astype(str))
    unmatched = ""
    if where:
        groups = matching_groups(cells, attribute=attribute, where=where)
        if not groups:
            unmatched = (
                "<p><b>No recorded group matches the filter</b>; showing the first group.</p>"
            )
    groups = [g for g in groups if g in known] or known[:1]
    ci = result.ci or 0.95
    table = cohort_metrics(cells, attribute=attribute, groups=groups, ci=ci)
    form = _cohort_form(run_id, evidence_id, records, attributes, attribute, known, groups)
    form += _filter_form(run_id, evidence_id, cells, attribute, where or {})
    weighted = not np.allclose(cells["n"], np.round(cells["n"]))
    note = (
        f"<p>Rates with {ci:.0%} Wilson intervals, computed from each group's confusion cells "
        "as recorded in the ledger (never from rows): a cohort's cells are the sum of its "
        "groups' cells; the rest is the whole population minus the cohort."
        + (" The counts are weighted sums; the intervals treat them as counts." if weighted else "")
        + "</p>"
    )
    return title, lambda: [
        ("Choose a cohort", source + form + unmatched),
        ("Cohort metrics", note + _cohort_table(table)),
        ("Cohort against the rest", figures_html([_cohort_figure(table)])),
    ]


def _cohort_form(run_id, evidence_id, records, attributes, attribute, known, groups) -> str:
    options = "".join(
        f'<option value="{escape(e.id)}"{" selected" if e.id == evidence_id else ""}>'
        f"{escape(e.check_name)}</option>"
        for e in records.itertuples(index=False)
        if _hex(e.id)
    )
    attrs = "".join(
        f'<option{" selected" if a == attribute else ""} value="{escape(a)}">{escape(a)}</option>'
        for a in attributes
    )
    boxes = "".join(
        f'<label><input type="checkbox" name="group" value="{escape(g)}"'
        f"{' checked' if g in groups else ''}> {escape(g)}</label> "
        for g in known
    )
    return (
        f'<form method="get" action="{safe_href(f"/cohorts/{run_id}")}" id="cohort-form">'
        f'<p><label>evidence <select name="evidence">{options}</select></label> '
        f'<label>attribute <select name="attribute" id="attribute">{attrs}</select></label> '
        '<button type="submit" name="pick" value="attribute">Show its groups</button></p>'
        f"<p>groups of {escape(attribute)} in the cohort: {boxes}</p>"
        '<p><button type="submit" id="cohort-submit">Compute the cohort</button></p></form>'
    )


def _filter_form(run_id, evidence_id, cells, attribute, where: dict) -> str:
    """For an intersection: one choice per member attribute ("any" or a value) that selects the
    recorded groups matching all of them."""
    keys = cells.loc[cells["attribute"] == attribute, "key"] if "key" in cells else []
    members: dict[str, list[str]] = {}
    for key in keys:
        for name, value in key.items():
            members.setdefault(name, [])
            if value not in members[name]:
                members[name].append(value)
    if len(members) < 2:
        return ""
    selects = "".join(
        f'<input type="hidden" name="fa" value="{escape(name)}"><label>{escape(name)} '
        f'<select name="fv"><option value="">any</option>'
        + "".join(
            f'<option value="{escape(v)}"{" selected" if where.get(name) == v else ""}>'
            f"{escape(v)}</option>"
            for v in values
        )
        + "</select></label> "
        for name, values in members.items()
    )
    return (
        f'<form method="get" action="{safe_href(f"/cohorts/{run_id}")}" id="filter-form">'
        f'<input type="hidden" name="evidence" value="{escape(evidence_id)}">'
        f'<input type="hidden" name="attribute" value="{escape(attribute)}">'
        f"<p>or filter the groups of {escape(attribute)}: {selects}"
        '<button type="submit" id="filter-submit">Filter</button></p></form>'
    )


def _cohort_table(table: pd.DataFrame) -> str:
    shown = table.assign(
        text=[
            interval_text(v, lo, hi)
            for v, lo, hi in zip(table["value"], table["lower"], table["upper"], strict=True)
        ]
    )
    wide = shown.pivot_table(
        index="row", columns="metric", values="text", aggfunc="first", sort=False
    )
    n = shown.groupby("row", sort=False)["n"].first()
    wide.insert(0, "rows", [_count(v) for v in n.reindex(wide.index)])
    wide = wide.reset_index().rename(columns={"row": "cohort / group"})
    return table_html(wide)


def _cohort_figure(table: pd.DataFrame):
    import plotly.graph_objects as go

    fig = go.Figure()
    for row, colour in (("cohort", "#c62828"), ("rest", "#1565c0"), ("overall", "#555")):
        part = table[table["row"] == row]
        fig.add_scatter(
            x=part["metric"].str.replace("_", " "),
            y=part["value"],
            mode="markers",
            marker={"size": 11, "color": colour},
            name=row,
            error_y={
                "type": "data",
                "symmetric": False,
                "array": (part["upper"] - part["value"]).clip(lower=0).fillna(0),
                "arrayminus": (part["value"] - part["lower"]).clip(lower=0).fillna(0),
            },
        )
    fig.update_layout(
        title="Cohort, rest and whole population (Wilson intervals)",
        yaxis={"title": "rate", "range": [0, 1.02]},
        scattermode="group",
        height=420,
    )
    return fig


# --------------------------------------------------------------------------- slices
def slices_sections(ledger, run_id: str, *, sort: str, descending: bool) -> tuple[str, list]:
    """The slices ``find_slices`` recorded in a run: a sortable table, the lattice as nested
    lists (parent -> child adds one condition) and as a scatter."""
    records = ledger.evidence(run=ledger.run(run_id)["id"])
    records = records[records["result_type"] == SLICES]
    if not len(records):
        raise DataError(
            f"Run {run_id[:12]} holds no slices (no evaluate.find_slices evidence); run "
            "raikit.audit(..., ledger=) with the slices section."
        )
    result = ledger.load_evidence(records["id"].iloc[-1])
    slices, nodes, edges = slice_lattice(result)
    overall = result.overall
    title = f"Slices of run {run_id[:12]}"
    head = (
        f"<p>{escape(result.summary)}</p><p>All rows: {overall.get('n_rows', 0):,} rows, mean "
        f"{escape(result.loss)} {overall.get('mean_loss', float('nan')):.4f}. Slices are "
        f"conjunctions of conditions with at least {escape(overall.get('min_size'))} rows whose "
        f"mean loss is significantly higher ({escape(result.method)} search; intervals at "
        f"{float(overall.get('ci') or 0.95):.0%}).</p>"
    )
    if not len(slices):
        return title, [("Slices", head + findings_html(result.findings))]
    table = _slice_table(run_id, slices, sort, descending)
    tree = _slice_tree(slices, nodes, edges, overall, result.loss)
    figure = lattice_figure(
        slices, overall=float(overall.get("mean_loss", np.nan)), loss=result.loss
    )
    return title, lambda: [
        ("Slices", head + table),
        ("Lattice", tree),
        ("Size against loss", figures_html([figure])),
    ]


def _slice_table(run_id: str, slices: pd.DataFrame, sort: str, descending: bool) -> str:
    ordered = slices.sort_values(sort, ascending=not descending, kind="stable")
    shown = pd.DataFrame(
        {
            "id": ordered["id"] + 1,
            "slice": ordered["slice"].astype(str),
            "n_predicates": ordered["n_predicates"],
            "size": [_count(v) for v in ordered["size"]],
            "mean_loss": [
                interval_text(v, lo, hi)
                for v, lo, hi in zip(
                    ordered["mean_loss"], ordered["lower"], ordered["upper"], strict=True
                )
            ],
            "rest_mean_loss": ordered["rest_mean_loss"].map("{:.3f}".format),
            "effect_size": ordered["effect_size"].map("{:.2f}".format),
            "p_value": ordered["p_value"].map("{:.2g}".format),
        }
    )
    html = table_html(shown)
    for column in SLICE_SORTS:  # header links re-sort the table (the same page, other order)
        flip = "asc" if column == sort and descending else "desc"
        query = urlencode({"sort": column, "order": flip})
        arrow = (" ▼" if descending else " ▲") if column == sort else ""
        html = html.replace(
            f"<th>{column}</th>",
            f'<th><a href="{safe_href(f"/slices/{run_id}?{query}")}" id="sort-{column}">'
            f"{column}{arrow}</a></th>",
            1,
        )
    return html.replace(
        '<table class="dataframe">', '<table class="dataframe" id="slice-table">', 1
    )


def _slice_tree(slices: pd.DataFrame, nodes: pd.DataFrame, edges, overall: dict, loss: str) -> str:
    """Nested lists from all rows down: each slice under every slice it refines by one condition
    (so a slice of two conditions appears twice); parents that were not significant on their
    own are listed without statistics."""
    children: dict[int, list[int]] = {}
    for parent, child in edges:
        children.setdefault(parent, []).append(child)

    def item(n: int, depth: int) -> str:
        below = "".join(item(c, depth + 1) for c in children.get(n, []) if depth < 6)
        below = f"<ul>{below}</ul>" if below else ""
        text, sid = nodes["text"].iloc[n], int(nodes["slice"].iloc[n])
        if n == 0:
            stats = (
                f"{overall.get('n_rows', 0):,} rows, mean {escape(loss)} "
                f"{overall.get('mean_loss', float('nan')):.3f}"
            )
            return f"<li>All rows — {stats}{below}</li>"
        if sid < 0:
            return f"<li>{escape(text)} — <i>not significant on its own</i>{below}</li>"
        row = slices.iloc[sid]
        return (
            f'<li data-slice="{sid + 1}"><b>{sid + 1}.</b> {escape(text)} — '
            f"{_count(row['size'])} rows, mean {escape(loss)} "
            f"{interval_text(row['mean_loss'], row['lower'], row['upper'])}{below}</li>"
        )

    return (
        "<p>From all rows down, each slice sits under every slice it refines by one condition. "
        "Slice Finder does not refine a slice once it is significant, so most parents of a "
        "recorded slice were not significant on their own.</p>"
        f'<ul id="slice-tree">{item(0, 0)}</ul>'
    )


# --------------------------------------------------------------------------- comparison
def _audit_of(ledger, run_id: str):
    records = ledger.evidence(run=ledger.run(run_id)["id"])
    reports = records[records["check_name"] == "audit.report"]
    if not len(reports):
        raise DataError(f"Run {run_id[:12]} holds no audit report; pick an audit run to compare.")
    metrics = records[records["check_name"] == "metrics.group_metrics"]
    report = ledger.load_evidence(reports["id"].iloc[-1])
    return report, ledger.load_evidence(metrics["id"].iloc[-1]) if len(metrics) else None


def compare_sections(ledger, a: str | None, b: str | None) -> tuple[str, list]:
    """Two audit runs side by side: scorecards, headline metrics with intervals and B - A."""
    audits = _audit_runs(ledger.runs(), ledger.evidence())
    if len(audits) < 2 and (a is None or b is None):
        return "Compare two audits", [
            ("Compare", "<p>Comparing needs two audit runs in this ledger.</p>")
        ]
    a = a or audits[1][0]
    b = b or audits[0][0]
    full_a, full_b = ledger.run(a)["id"], ledger.run(b)["id"]
    (report_a, metrics_a), (report_b, metrics_b) = _audit_of(ledger, a), _audit_of(ledger, b)
    scores, headline = compare_frames(report_a, report_b, metrics_a, metrics_b)
    names = (
        f"<p>A: {_link(f'/runs/{full_a}', str(report_a.meta.get('model', full_a[:12])))} "
        f"({escape(full_a[:12])}) · B: "
        f"{_link(f'/runs/{full_b}', str(report_b.meta.get('model', full_b[:12])))} "
        f"({escape(full_b[:12])})</p>"
    )
    classes = {c: [_STATUS.get(str(s)) for s in scores[c]] for c in ("status A", "status B")}
    note = (
        "<p>Each run's estimate with its own interval; B − A is the difference of the point "
        "estimates (the runs may share test rows, so no interval of the difference is "
        "claimed). A largest gap is the largest difference between groups of the attribute.</p>"
    )
    figure = _compare_figure(metrics_a, metrics_b)
    return "Compare two audits", lambda: [
        ("Runs", _compare_form(audits, full_a, full_b) + names),
        ("Scorecards", table_html(scores, classes=classes)),
        ("Headline metrics", note + table_html(headline)),
        *([("Side by side", figures_html([figure]))] if figure is not None else []),
    ]


def _compare_figure(metrics_a, metrics_b):
    import plotly.graph_objects as go

    from raikit.server._views import HEADLINE

    fig = go.Figure()
    for name, result in (("A", metrics_a), ("B", metrics_b)):
        if result is None:
            continue
        t = result.table
        part = t[(t["attribute"] == "overall") & t["metric"].isin(HEADLINE)]
        fig.add_scatter(
            x=part["metric"].str.replace("_", " "),
            y=part["value"],
            mode="markers",
            marker={"size": 11},
            name=name,
            error_y={
                "type": "data",
                "symmetric": False,
                "array": (part["upper"] - part["value"]).clip(lower=0).fillna(0),
                "arrayminus": (part["value"] - part["lower"]).clip(lower=0).fillna(0),
            },
        )
    if not fig.data:
        return None
    fig.update_layout(
        title="Overall metrics of A and B (with intervals)",
        scattermode="group",
        yaxis={"range": [0, 1.02]},
        height=400,
    )
    return fig
