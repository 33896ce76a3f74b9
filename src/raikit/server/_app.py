"""``raikit ui``: a local web dashboard over one ledger (FastAPI).

Pages: runs, one run with its evidence, an evidence report, the lineage graph, the model card of an
audit run, monitoring time series with alerts, and the review queue (decide items in the browser).

Security defaults: binds 127.0.0.1; every request needs the token printed at start-up (as the
``raikit_token`` cookie set by ``/login?token=...``, or an ``Authorization: Bearer`` header); forms
carry the token too (no cross-site posts); ids in URLs must be hexadecimal (no paths at all, so no
path traversal); request bodies over 64 KiB are refused (413). Only the ledger it was started on is
served.
"""

from __future__ import annotations

import html
import re
import secrets
from urllib.parse import parse_qs, quote

from fastapi import FastAPI, Request  # the [ui] extra; raikit.server imports this module lazily
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse

__all__ = ["MAX_BODY", "create_app", "serve"]

from raikit.server import MAX_BODY

_ID = re.compile(r"^[0-9a-f]{4,64}$")
_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
_COOKIE = "raikit_token"


def create_app(ledger, *, token: str):
    """The dashboard as a FastAPI app serving ``ledger``; requests must carry ``token``."""
    from raikit._html import figures_html, frame_html, page_html
    from raikit.ledger import Ledger, LedgerError

    ledger = ledger if isinstance(ledger, Ledger) else Ledger(ledger)
    app = FastAPI(title="raikit", docs_url=None, redoc_url=None, openapi_url=None)

    def authorised(request: Request) -> bool:
        given = request.cookies.get(_COOKIE, "")
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            given = header[7:]
        return bool(given) and secrets.compare_digest(given.encode(), token.encode())

    @app.middleware("http")
    async def guard(request: Request, call_next):
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            return PlainTextResponse("Request too large.", status_code=413)
        if request.url.path != "/login" and not authorised(request):
            return PlainTextResponse(
                "Unauthorised: open the URL with the token printed by `raikit ui`.", status_code=401
            )
        return await call_next(request)

    def page(title: str, sections) -> HTMLResponse:
        nav = (
            '<p><a href="/">Runs</a> · <a href="/monitor">Monitoring</a> · '
            '<a href="/review">Review queue</a></p>'
        )
        return HTMLResponse(page_html(title, [("raikit", nav), *sections]))

    def check_id(value: str) -> str:
        if not _ID.match(value):
            raise _BadRequest(f"Not an id: {value!r}.")
        return value

    class _BadRequest(Exception):
        pass

    @app.exception_handler(_BadRequest)
    async def bad_request(request, error):
        return PlainTextResponse(str(error), status_code=400)

    @app.exception_handler(LedgerError)
    async def not_found(request, error):
        return PlainTextResponse(str(error), status_code=404)

    @app.get("/login")
    def login(request: Request):
        given = request.query_params.get("token", "")
        if not given or not secrets.compare_digest(given.encode(), token.encode()):
            return PlainTextResponse("Wrong or missing token.", status_code=401)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(_COOKIE, token, httponly=True, samesite="strict")
        return response

    @app.get("/", response_class=HTMLResponse)
    def runs():
        frame = ledger.runs()
        links = frame.assign(
            id=[f'<a href="/runs/{i}">{i[:12]}</a>' for i in frame["id"]],
            lineage=[f'<a href="/lineage/{i}">graph</a>' for i in frame["id"]],
            card=[
                f'<a href="/cards/{i}">model card</a>' if k == "audit" else ""
                for i, k in zip(frame["id"], frame["kind"], strict=True)
            ],
        )
        table = links.to_html(escape=False, index=False) if len(frame) else "<p>No runs yet.</p>"
        return page(f"Runs in {ledger.root}", [("Runs", table)])

    @app.get("/runs/{run_id}", response_class=HTMLResponse)
    def run(run_id: str):
        info = ledger.run(check_id(run_id))
        evidence = info["evidence"]
        rows = "".join(
            f'<li><a href="/evidence/{e.id}">{html.escape(e.check_name)}</a>: '
            f"{html.escape(str(e.summary))}</li>"
            for e in evidence.itertuples(index=False)
        )
        detail = (
            f"<p>{html.escape(info['name'])} — {html.escape(info['status'])}, started "
            f"{html.escape(info['started_at'])}</p><p>params: {html.escape(str(info['params']))}</p>"
        )
        return page(f"Run {info['id'][:12]}", [("Run", detail), ("Evidence", f"<ul>{rows}</ul>")])

    @app.get("/evidence/{evidence_id}", response_class=HTMLResponse)
    def evidence(evidence_id: str):
        result = ledger.load_evidence(check_id(evidence_id))
        return HTMLResponse(result.to_html(title=f"Evidence {evidence_id[:12]}"))

    @app.get("/lineage/{node}", response_class=HTMLResponse)
    def lineage(node: str):
        from raikit.ledger import lineage_figure

        figure = lineage_figure(ledger, check_id(node))
        edges = ledger.lineage(node)
        return page(
            f"Lineage of {node[:12]}",
            [("Graph", figures_html([figure])), ("Edges", frame_html(edges))],
        )

    @app.get("/cards/{run_id}", response_class=HTMLResponse)
    def card(run_id: str):
        from raikit.cards import model_card

        return HTMLResponse(model_card(ledger=ledger, run=check_id(run_id)).to_html())

    @app.get("/monitor", response_class=HTMLResponse)
    def monitor(name: str = "monitor"):
        import plotly.graph_objects as go

        from raikit.monitor import monitor_history

        if not _NAME.match(name):
            raise _BadRequest(f"Not a monitor name: {name!r}.")
        series = monitor_history(ledger, name=name, latest=True)
        alerts = monitor_history(ledger, name=name, table="alerts", latest=True)
        if series.empty:
            return page(f"Monitor {name}", [("Time series", "<p>No windows stored yet.</p>")])
        figures = []
        psi = series[(series["kind"] == "psi") & (series["group"] == "overall=overall")]
        fig = go.Figure()
        for column, rows in psi.groupby("name", sort=False):  # one line per column
            fig.add_scatter(x=rows["window"], y=rows["value"], mode="lines+markers", name=column)
        fig.update_layout(title="Drift (PSI) per window", xaxis_title="window")
        figures.append(fig)
        for kind in ("selection_rate", "true_positive_rate", "accuracy"):
            rows = series[(series["kind"] == kind) & (series["name"] != "overall")]
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
                    x=part["window"], y=part["value"], error_y=error, name=f"{attribute}={group}"
                )
            fig.update_layout(title=f"{kind.replace('_', ' ')} per group", xaxis_title="window")
            figures.append(fig)
        return page(
            f"Monitor {name}",
            [("Time series", figures_html(figures)), ("Alerts", frame_html(alerts))],
        )

    def queue_for(name: str):
        from raikit.review import ReviewQueue

        if not _NAME.match(name):
            raise _BadRequest(f"Not a queue name: {name!r}.")
        return ReviewQueue(ledger, name=name)

    @app.get("/review", response_class=HTMLResponse)
    def review(queue: str = "default"):
        items = queue_for(queue).items()
        rows = []
        for item in items.itertuples(index=False):  # one form per item shown (a page of items)
            if item.status == "pending":
                action = (
                    f'<form method="post" action="/review/{item.id}/decide?queue={quote(queue)}" '
                    f'class="decide"><input type="hidden" name="token" value="{html.escape(token)}">'
                    f'<label>decision <input name="decision" required></label> '
                    f'<label>reviewer <input name="reviewer" required></label> '
                    f'<button type="submit" id="decide-{item.id}">Decide</button></form>'
                )
            else:
                action = (
                    f"decided <b>{html.escape(str(item.decision))}</b> by "
                    f"{html.escape(str(item.reviewer))}"
                )
            rows.append(
                f'<tr id="item-{item.id}"><td>{html.escape(str(item.item_id))}</td>'
                f"<td>{html.escape(str(item.group))}</td>"
                f"<td>{html.escape(str(item.prediction))}</td>"
                f"<td>{'' if item.confidence != item.confidence else f'{item.confidence:.3f}'}</td>"
                f"<td>{html.escape(item.status)}</td><td>{action}</td></tr>"
            )
        table = (
            "<table><tr><th>item</th><th>group</th><th>prediction</th><th>confidence</th>"
            "<th>status</th><th>decision</th></tr>" + "".join(rows[:500]) + "</table>"
        )
        return page(f"Review queue {queue}", [(f"{len(items)} item(s)", table)])

    @app.post("/review/{review_id}/decide")
    async def decide(review_id: str, request: Request, queue: str = "default"):
        import json

        from raikit.review import ReviewError

        check_id(review_id)
        body = await request.body()
        if len(body) > MAX_BODY:
            return PlainTextResponse("Request too large.", status_code=413)
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        if not secrets.compare_digest(form.get("token", "").encode(), token.encode()):
            return PlainTextResponse("Form token missing or wrong.", status_code=403)
        text = form.get("decision", "")
        try:
            decision = json.loads(text)
        except json.JSONDecodeError:
            decision = text
        try:
            queue_for(queue).decide(review_id, decision, reviewer=form.get("reviewer", ""))
        except ReviewError as error:
            return PlainTextResponse(str(error), status_code=409)
        return RedirectResponse(f"/review?queue={quote(queue)}", status_code=303)

    return app


def serve(
    ledger, *, host: str = "127.0.0.1", port: int = 8765, token: str | None = None, echo=print
):
    """Run the dashboard until interrupted; prints the URL with a fresh token."""
    import uvicorn

    token = token or secrets.token_urlsafe(24)
    app = create_app(ledger, token=token)
    echo(f"raikit ui: open http://{host}:{port}/login?token={token}")
    uvicorn.run(app, host=host, port=port, log_level="warning")
