"""The lineage graph as a Plotly figure: datasets -> runs -> models -> evidence, left to right."""

from __future__ import annotations

__all__ = ["lineage_figure"]

_COLUMNS = {"dataset": 0, "run": 1, "model": 2, "evidence": 3}
_COLOURS = {"dataset": "#1565c0", "run": "#6a1b9a", "model": "#2e7d32", "evidence": "#ef6c00"}
ROW_PX = 34  # vertical pixels per node of the tallest column: a marker and a label line
LABEL_CHARS = 30  # longest label drawn beside a node (the hover shows the whole name and id)
_MARGIN = {"l": 10, "r": 10, "t": 60, "b": 20}


def _names(ledger) -> dict[tuple[str, str], str]:
    """A readable name per node: the run's name, the check, the model, the dataset and its rows."""
    names: dict[tuple[str, str], str] = {}
    runs = ledger.runs()
    names.update({("run", i): str(n) for i, n in zip(runs["id"], runs["name"], strict=True)})
    evidence = ledger.evidence()
    names.update(
        {
            ("evidence", i): str(c)
            for i, c in zip(evidence["id"], evidence["check_name"], strict=True)
        }
    )
    models = ledger.models()
    names.update({("model", i): str(n) for i, n in zip(models["id"], models["name"], strict=True)})
    data = ledger.datasets()
    names.update(
        {
            ("dataset", i): f"{n} ({r:,} rows)" if r == r else str(n)
            for i, n, r in zip(data["id"], data["name"], data["n_rows"], strict=True)
        }
    )
    return names


def _label(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def lineage_figure(ledger, key: str, *, depth: int = 3):
    """A layered graph of everything linked to ``key`` (one marker per node, not per row).

    Each node is labelled with its name (the run's name, the check, the model, the dataset with
    its rows) to the right of its marker; the figure is tall enough that labels in one column
    never overlap (``ROW_PX`` pixels per node of the tallest column), and each column is wide
    enough for a label of ``LABEL_CHARS`` characters (longer names end in "…"; the hover
    shows the whole name and the id).

    Parameters
    ----------
    ledger : Ledger
        The ledger.
    key : str
        The id (or a unique prefix) of a run, evidence, model or dataset.
    depth : int, default 3
        How many edges away from ``key`` to follow.

    Returns
    -------
    plotly.graph_objects.Figure
        The graph.

    See Also
    --------
    Ledger.lineage : the same links as a table.

    Examples
    --------
    >>> import tempfile
    >>> from raikit.ledger import Ledger
    >>> from raikit.metrics import group_metrics
    >>> ledger = Ledger(tempfile.mkdtemp())
    >>> result = group_metrics([1, 0, 1, 0], [1, 0, 0, 0], sensitive_features=list("aabb"))
    >>> evidence = ledger.log_evidence(result, check="metrics.group_metrics")
    >>> fig = lineage_figure(ledger, evidence)
    >>> [trace.name for trace in fig.data[1:]], list(fig.data[-1].text)
    (['run', 'evidence'], ['metrics.group_metrics'])
    """
    import plotly.graph_objects as go

    edges = ledger.lineage(key, depth=depth)
    names = _names(ledger)
    nodes: dict[tuple[str, str], tuple[float, float]] = {}
    tallest = 1
    for kind, column in _COLUMNS.items():
        ids = sorted(
            {i for k, i in zip(edges["src_kind"], edges["src_id"], strict=True) if k == kind}
            | {i for k, i in zip(edges["dst_kind"], edges["dst_id"], strict=True) if k == kind},
            key=lambda i, kind=kind: (names.get((kind, i), ""), i),
        )
        tallest = max(tallest, len(ids))
        for rank, node_id in enumerate(ids):
            nodes[(kind, node_id)] = (column, -(rank - (len(ids) - 1) / 2))
    xs, ys = [], []
    for row in edges.itertuples(index=False):
        x0, y0 = nodes[(row.src_kind, row.src_id)]
        x1, y1 = nodes[(row.dst_kind, row.dst_id)]
        xs += [x0, x1, None]
        ys += [y0, y1, None]
    fig = go.Figure(
        go.Scatter(
            x=xs, y=ys, mode="lines", line={"color": "#bbb"}, hoverinfo="skip", showlegend=False
        )
    )
    for kind in _COLUMNS:
        members = [(n, p) for n, p in nodes.items() if n[0] == kind]
        if not members:
            continue
        fig.add_trace(
            go.Scatter(
                x=[p[0] for _, p in members],
                y=[p[1] for _, p in members],
                mode="markers+text",
                marker={"size": 14, "color": _COLOURS[kind]},
                name=kind,
                text=[_label(names.get(n, n[1][:12])) for n, _ in members],
                textposition="middle right",
                textfont={"size": 12},
                hovertext=[f"{kind} {names.get(n, '')} ({n[1]})" for n, _ in members],
                hoverinfo="text",
            )
        )
    half = (tallest - 1) / 2 + 0.5
    fig.update_layout(
        title=f"Lineage of {key}",
        xaxis={"visible": False, "range": [-0.1, len(_COLUMNS) - 0.05], "fixedrange": True},
        yaxis={"visible": False, "range": [-half, half]},
        height=ROW_PX * tallest + _MARGIN["t"] + _MARGIN["b"],
        margin=_MARGIN,
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 1, "xanchor": "right"},
    )
    return fig
