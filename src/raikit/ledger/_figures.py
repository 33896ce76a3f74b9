"""The lineage graph as a Plotly figure: datasets -> runs -> models -> evidence, left to right."""

from __future__ import annotations

__all__ = ["lineage_figure"]

_COLUMNS = {"dataset": 0, "run": 1, "model": 2, "evidence": 3}
_COLOURS = {"dataset": "#1565c0", "run": "#6a1b9a", "model": "#2e7d32", "evidence": "#ef6c00"}


def lineage_figure(ledger, key: str, *, depth: int = 3):
    """A layered graph of everything linked to ``key`` (one marker per node, not per row)."""
    import plotly.graph_objects as go

    edges = ledger.lineage(key, depth=depth)
    nodes: dict[tuple[str, str], tuple[float, float]] = {}
    for kind, column in _COLUMNS.items():
        ids = sorted(
            {i for k, i in zip(edges["src_kind"], edges["src_id"], strict=True) if k == kind}
            | {i for k, i in zip(edges["dst_kind"], edges["dst_id"], strict=True) if k == kind}
        )
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
                marker={"size": 16, "color": _COLOURS[kind]},
                name=kind,
                text=[n[1][:8] for n, _ in members],
                textposition="top center",
                hovertext=[f"{kind} {n[1]}" for n, _ in members],
                hoverinfo="text",
            )
        )
    fig.update_layout(
        title=f"Lineage of {key}", xaxis={"visible": False}, yaxis={"visible": False}, height=420
    )
    return fig
