"""``raikit ui``: a local web dashboard over one ledger (FastAPI).

Pages: runs (with links to each run's report, model card, Annex IV view, cohorts and slices), one
run with its evidence, an evidence report, the lineage graph, the cards of an audit run, the cohort
explorer (metrics of chosen groups with intervals, from the recorded confusion cells), the slices
``find_slices`` recorded (sortable table and lattice), two audits side by side, monitoring time
series over real time with alerts, and the review queue (decide items in the browser).

Security defaults:

- binds 127.0.0.1, and answers only requests whose ``Host`` is a loopback name (``127.0.0.1``,
  ``localhost``, ``[::1]``) with the bound port: a page on another site cannot reach it through
  DNS rebinding (421 otherwise);
- every request needs the token printed at start-up (as the ``raikit_token`` cookie set by
  ``/login?token=...``, or an ``Authorization: Bearer`` header), compared in constant time; forms
  carry the token too (no cross-site posts);
- ids in URLs must be hexadecimal (no paths at all, so no path traversal);
- request bodies over :data:`MAX_BODY` are refused with 413 while they stream in (a declared
  ``Content-Length`` is refused before any byte is read; a chunked body is cut off at the limit);
- every response carries a strict Content-Security-Policy (scripts only from the dashboard itself
  or with the response's nonce), ``X-Frame-Options: DENY``, ``X-Content-Type-Options: nosniff``,
  ``Cache-Control: no-store`` and ``Referrer-Policy: no-referrer``; every name from the ledger is
  escaped (:mod:`raikit._html`). The one exception to ``no-store`` is the plotly.js bundle at its
  content-hashed URL (``/static/plotly-<12 hex digits of its SHA-256>.min.js``): it is public,
  vendored code whose URL changes whenever its bytes do, so it is cached for a year as
  ``immutable`` and a browser downloads it (1.2 MB) once instead of with every page;
- each worker thread reads the ledger through its own connection. Only the ledger it was started
  on is served.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
from functools import cache
from urllib.parse import parse_qs, quote

from fastapi import FastAPI, Request  # the [ui] extra; raikit.server imports this module lazily
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

__all__ = ["MAX_BODY", "create_app", "serve"]

from raikit.server import MAX_BODY

_ID = re.compile(r"[0-9a-f]{4,64}")  # always used with fullmatch: no trailing newline slips in
_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
_COOKIE = "raikit_token"
_MAX_TEXT = 200  # longest attribute or group name read from a query
_MAX_GROUPS = 500  # most groups read from one query
_PLOTLY_URL = "/static/plotly.js"  # uncached; pages load the content-hashed URL instead
_LOOPBACK = ("127.0.0.1", "localhost", "[::1]")
_HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
_CACHE = b"cache-control"
_NO_STORE = b"no-store"
_IMMUTABLE = b"public, max-age=31536000, immutable"
_REPLACED = frozenset({name for name, _ in _HEADERS} | {_CACHE})  # the app cannot set these
# Responses that are not pages (text, redirects, plotly.js) may load nothing at all.
_NO_CONTENT_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


def page_csp(nonce: str) -> str:
    """The Content-Security-Policy of a dashboard page whose scripts carry ``nonce``.

    Scripts run only from the dashboard itself (its plotly.js bundle) or with the nonce; no
    ``unsafe-inline`` and no ``unsafe-eval`` for scripts; no plugins, frames, or foreign forms.

    Examples
    --------
    >>> policy = page_csp("abcdefgh12345678")
    >>> "script-src 'self' 'nonce-abcdefgh12345678';" in policy and "unsafe-eval" not in policy
    True
    """
    return (
        f"default-src 'none'; script-src 'self' 'nonce-{nonce}'; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "object-src 'none'"
    )


def _allowed_hosts(host: str, port: int | None) -> frozenset[str] | None:
    """``Host`` header values the dashboard answers (None: any loopback name with any port)."""
    names = set(_LOOPBACK)
    if host not in ("0.0.0.0", "::", ""):  # an explicit address chosen with --host
        names.add(f"[{host}]" if ":" in host and not host.startswith("[") else host)
    if port is None:
        return None
    return frozenset({f"{n}:{port}" for n in names} | (names if port == 80 else set()))


def _host_ok(value: str, allowed: frozenset[str] | None) -> bool:
    value = value.strip().lower()
    if allowed is not None:
        return value in allowed
    name, _, port = value.rpartition(":") if not value.endswith("]") else (value, "", "")
    if not name:
        name, port = value, ""
    return name in _LOOPBACK and (port == "" or port.isdigit())


@cache
def _plotly_asset() -> tuple[str, bytes]:
    """The content-hashed URL of the plotly.js bundle pages load, and the bundle's bytes.

    The URL names the first 12 hex digits of the bundle's SHA-256: a new bundle gets a new URL,
    so browsers may keep the old one forever (``immutable``) without ever running a stale copy.
    """
    from raikit._html import plotly_js  # the partial bundle pages are drawn with

    body = plotly_js().encode("utf-8")
    return f"/static/plotly-{hashlib.sha256(body).hexdigest()[:12]}.min.js", body


class _Guard:
    """ASGI middleware: Host check, token, streamed body limit and security headers.

    Every response is ``no-store`` except a successful answer at ``immutable_path`` (the
    content-hashed plotly.js), which browsers keep for a year.
    """

    def __init__(
        self, app, *, token: str, allowed: frozenset[str] | None, immutable_path: str
    ) -> None:
        self.app, self.token, self.allowed = app, token, allowed
        self.immutable_path = immutable_path

    def _authorised(self, headers: dict[bytes, bytes]) -> bool:
        given = ""
        for part in headers.get(b"cookie", b"").decode("latin-1").split(";"):
            key, _, value = part.strip().partition("=")
            if key == _COOKIE:
                given = value
        header = headers.get(b"authorization", b"").decode("latin-1")
        if header.lower().startswith("bearer "):
            given = header[7:]
        return bool(given) and secrets.compare_digest(given.encode(), self.token.encode())

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def secure_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                if started:
                    return
                started = True
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() not in _REPLACED
                ]
                if not any(k.lower() == b"content-security-policy" for k, _ in headers):
                    headers.append((b"content-security-policy", _NO_CONTENT_CSP.encode()))
                immutable = scope["path"] == self.immutable_path and message["status"] == 200
                headers += [*_HEADERS, (_CACHE, _IMMUTABLE if immutable else _NO_STORE)]
                message = {**message, "headers": headers}
            elif message["type"] == "http.response.body" and refused:
                return
            await send(message)

        async def reply(status: int, text: str) -> None:
            response = PlainTextResponse(text, status_code=status)
            await response(scope, receive, secure_send)

        refused = False
        headers = dict(scope.get("headers", []))
        if not _host_ok(headers.get(b"host", b"").decode("latin-1"), self.allowed):
            return await reply(421, "Misdirected request: open the dashboard at 127.0.0.1.")
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            return await reply(413, "Request too large.")
        if scope["path"] != "/login" and not self._authorised(headers):
            return await reply(
                401, "Unauthorised: open the URL with the token printed by `raikit ui`."
            )
        received = 0

        async def limited_receive():
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > MAX_BODY:
                    await reply(413, "Request too large.")
                    refused = True
                    return {"type": "http.disconnect"}
            return message

        try:
            await self.app(scope, limited_receive, secure_send)
        except Exception:
            if refused:  # the app gave up because the body was cut off: 413 already sent
                return
            if not started:
                await reply(500, "Internal error; the server log has the details.")
            raise


class _BadRequest(Exception):
    """A malformed id or name in a URL: answered with 400."""


def _check_id(value: str) -> str:
    if not _ID.fullmatch(value):
        raise _BadRequest(f"Not an id: {value!r}.")
    return value


def _check_name(value: str, what: str) -> str:
    if not _NAME.fullmatch(value):
        raise _BadRequest(f"Not a {what} name: {value!r}.")
    return value


class _Pages:
    """What every route needs: this thread's ledger connection and the page renderer."""

    def __init__(self, root) -> None:
        self.root = root
        self._local = threading.local()

    def store(self):
        """This thread's connection to the ledger (one SQLite connection is not shared)."""
        from raikit.ledger import Ledger

        if getattr(self._local, "ledger", None) is None:
            self._local.ledger = Ledger(self.root.uri)
        return self._local.ledger

    @staticmethod
    def html(build) -> HTMLResponse:
        """Render ``build()`` with a fresh script nonce and send it under the page's CSP."""
        from raikit._html import serving

        nonce = secrets.token_urlsafe(18)
        with serving(nonce, plotly_url=_plotly_asset()[0]):
            text = build()
        return HTMLResponse(text, headers={"Content-Security-Policy": page_csp(nonce)})

    def page(self, title: str, sections) -> HTMLResponse:
        """A dashboard page; ``sections`` (or the function that builds them) render in the nonce's
        scope, so figures built there carry it."""
        from raikit._html import page_html

        nav = (
            '<p><a href="/">Runs</a> · <a href="/compare">Compare</a> · '
            '<a href="/monitor">Monitoring</a> · <a href="/review">Review queue</a></p>'
        )
        build = sections if callable(sections) else lambda: sections
        return self.html(lambda: page_html(title, [("raikit", nav), *build()]))


def create_app(ledger, *, token: str, port: int | None = None, host: str = "127.0.0.1"):
    """The dashboard as a FastAPI app serving ``ledger``; requests must carry ``token``.

    ``port`` (and ``host``) are where it is bound: requests must name them in their ``Host``
    header; with ``port=None`` any loopback name with any port is accepted.
    """
    from raikit._errors import DataError
    from raikit.ledger import Ledger, LedgerError

    pages = _Pages(ledger if isinstance(ledger, Ledger) else Ledger(ledger))
    app = FastAPI(title="raikit", docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(_BadRequest)
    async def bad_request(request, error):
        return PlainTextResponse(str(error), status_code=400)

    @app.exception_handler(LedgerError)
    async def not_found(request, error):
        return PlainTextResponse(str(error), status_code=404)

    @app.exception_handler(DataError)
    async def no_such_view(request, error):  # e.g. the model card of a run without an audit
        return PlainTextResponse(str(error), status_code=404)

    _login_routes(app, token)
    _ledger_routes(app, pages)
    _view_routes(app, pages)
    _monitor_routes(app, pages)
    _review_routes(app, pages, token)
    app.add_middleware(
        _Guard, token=token, allowed=_allowed_hosts(host, port), immutable_path=_plotly_asset()[0]
    )
    return app


def _login_routes(app, token: str) -> None:
    """The token login (sets the cookie) and the bundled plotly.js, at its content-hashed URL
    (cached for good: see :class:`_Guard`) and at the uncached ``/static/plotly.js``."""

    @app.get("/login")
    def login(request: Request):
        given = request.query_params.get("token", "")
        if not given or not secrets.compare_digest(given.encode(), token.encode()):
            return PlainTextResponse("Wrong or missing token.", status_code=401)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(_COOKIE, token, httponly=True, samesite="strict")
        return response

    @app.get(_PLOTLY_URL)
    def plotly_js():
        from raikit._html import plotly_js as bundle  # the partial bundle pages are drawn with

        return Response(bundle(), media_type="text/javascript; charset=utf-8")

    url, body = _plotly_asset()

    @app.get(url)  # any other digest is no route: 404
    def plotly_js_hashed():
        return Response(body, media_type="text/javascript; charset=utf-8")


def _ledger_routes(app, pages: _Pages) -> None:
    """Runs, one run, one piece of evidence, the lineage graph and an audit run's cards."""
    from raikit._html import figures_html
    from raikit.server._pages import lineage_table, run_sections, runs_sections

    @app.get("/", response_class=HTMLResponse)
    def runs():
        ledger = pages.store()
        return pages.page(f"Runs in {ledger.root}", lambda: runs_sections(ledger))

    @app.get("/favicon.ico")
    def favicon():  # browsers ask for it; an empty answer keeps their consoles clean
        return Response(status_code=204)

    @app.get("/runs/{run_id}", response_class=HTMLResponse)
    def run(run_id: str):
        title, sections = run_sections(pages.store(), _check_id(run_id))
        return pages.page(title, sections)

    @app.get("/evidence/{evidence_id}", response_class=HTMLResponse)
    def evidence(evidence_id: str):
        result = pages.store().load_evidence(_check_id(evidence_id))
        return pages.html(lambda: result.to_html(title=f"Evidence {evidence_id[:12]}"))

    @app.get("/lineage/{node}", response_class=HTMLResponse)
    def lineage(node: str):
        from raikit.ledger import lineage_figure

        ledger = pages.store()
        figure = lineage_figure(ledger, _check_id(node))
        edges = ledger.lineage(node)
        return pages.page(
            f"Lineage of {node[:12]}",
            lambda: [("Graph", figures_html([figure])), ("Edges", lineage_table(edges))],
        )

    @app.get("/cards/{run_id}", response_class=HTMLResponse)
    def card(run_id: str):
        from raikit.cards import model_card

        built = model_card(ledger=pages.store(), run=_check_id(run_id))
        return pages.html(built.to_html)

    @app.get("/cards/{run_id}/annex-iv", response_class=HTMLResponse)
    def annex(run_id: str):
        from raikit.cards import annex_iv

        built = annex_iv(ledger=pages.store(), run=_check_id(run_id))
        return pages.html(built.to_html)


def _view_routes(app, pages: _Pages) -> None:
    """The cohort explorer, the slices of an audit and the comparison of two audits."""
    from raikit.server._pages import (
        SLICE_SORTS,
        cohort_sections,
        compare_sections,
        slices_sections,
    )

    @app.get("/cohorts/{run_id}", response_class=HTMLResponse)
    def cohorts(run_id: str, request: Request):
        query = request.query_params
        evidence = query.get("evidence")
        groups = [g[:_MAX_TEXT] for g in query.getlist("group")[:_MAX_GROUPS]]
        title, sections = cohort_sections(
            pages.store(),
            _check_id(run_id),
            evidence_id=None if evidence is None else _check_id(evidence),
            attribute=(query.get("attribute") or "")[:_MAX_TEXT] or None,
            groups=[] if query.get("pick") == "attribute" else groups,
            where={
                a[:_MAX_TEXT]: v[:_MAX_TEXT]
                for a, v in zip(query.getlist("fa"), query.getlist("fv"), strict=False)
                if v
            },
        )
        return pages.page(title, sections)

    @app.get("/slices/{run_id}", response_class=HTMLResponse)
    def slices(run_id: str, sort: str = "id", order: str = "asc"):
        if sort not in SLICE_SORTS or order not in ("asc", "desc"):
            raise _BadRequest(f"Sort by one of {', '.join(SLICE_SORTS)}, order asc or desc.")
        title, sections = slices_sections(
            pages.store(), _check_id(run_id), sort=sort, descending=order == "desc"
        )
        return pages.page(title, sections)

    @app.get("/compare", response_class=HTMLResponse)
    def compare(a: str | None = None, b: str | None = None):
        a, b = (None if x is None else _check_id(x) for x in (a, b))
        title, sections = compare_sections(pages.store(), a, b)
        return pages.page(title, sections)


def _monitor_routes(app, pages: _Pages) -> None:
    """Monitoring time series (drift and per-group metrics over time) with their alerts."""
    from raikit._html import figures_html, table_html

    @app.get("/monitor", response_class=HTMLResponse)
    def monitor(name: str = "monitor"):
        from raikit.monitor import monitor_history
        from raikit.server._views import alerts_frame, monitor_figures

        _check_name(name, "monitor")
        ledger = pages.store()
        series = monitor_history(ledger, name=name, latest=True)
        alerts = monitor_history(ledger, name=name, table="alerts", latest=True)
        if series.empty:
            return pages.page(f"Monitor {name}", [("Time series", "<p>No windows stored yet.</p>")])
        windows = monitor_history(ledger, name=name, table="windows")
        figures = monitor_figures(series, windows)
        shown = alerts_frame(alerts, windows)
        classes = {"severity": [f"finding-{s}" for s in shown["severity"]]}
        table = table_html(shown, classes=classes) if len(shown) else "<p>No alerts.</p>"
        return pages.page(
            f"Monitor {name}",
            lambda: [("Time series", figures_html(figures)), ("Alerts", table)],
        )


def _review_routes(app, pages: _Pages, token: str) -> None:
    """The review queue: its items, and a form per pending item to decide it."""

    def queue_for(name: str):
        from raikit.review import ReviewQueue

        return ReviewQueue(pages.store(), name=_check_name(name, "queue"))

    @app.get("/review", response_class=HTMLResponse)
    def review(queue: str = "default"):
        items = queue_for(queue).items()
        if items.empty:
            return pages.page(
                f"Review queue {queue}", [("0 item(s)", "<p>No items to review.</p>")]
            )
        table = _review_table(items, queue, token)
        return pages.page(f"Review queue {queue}", [(f"{len(items)} item(s)", table)])

    @app.post("/review/{review_id}/decide")
    async def decide(review_id: str, request: Request, queue: str = "default"):
        from starlette.concurrency import run_in_threadpool

        from raikit.review import ReviewError

        _check_id(review_id)
        body = await request.body()  # the guard cuts off bodies over MAX_BODY while streaming
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        if not secrets.compare_digest(form.get("token", "").encode(), token.encode()):
            return PlainTextResponse("Form token missing or wrong.", status_code=403)
        text = form.get("decision", "")
        try:
            decision = json.loads(text)
        except json.JSONDecodeError:
            decision = text

        def record():
            queue_for(queue).decide(review_id, decision, reviewer=form.get("reviewer", ""))

        try:
            await run_in_threadpool(record)
        except ReviewError as error:
            return PlainTextResponse(str(error), status_code=409)
        return RedirectResponse(f"/review?queue={quote(queue)}", status_code=303)


def _review_table(items, queue: str, token: str) -> str:
    """The first 500 items as an HTML table; every value from the ledger is escaped."""
    import pandas as pd

    from raikit._html import escape

    confidence = pd.to_numeric(items["confidence"], errors="coerce")
    shown = [f"{c:.3f}" if pd.notna(c) else "" for c in confidence]
    rows = []
    for item, conf in zip(items.head(500).itertuples(index=False), shown, strict=False):
        if not _ID.fullmatch(str(item.id)):
            continue
        if item.status == "pending":
            action = (
                f'<form method="post" action="/review/{item.id}/decide?queue={quote(queue)}" '
                f'class="decide"><input type="hidden" name="token" value="{escape(token)}">'
                f'<label>decision <input name="decision" required></label> '
                f'<label>reviewer <input name="reviewer" required></label> '
                f'<button type="submit" id="decide-{item.id}">Decide</button></form>'
            )
        else:
            action = f"decided <b>{escape(item.decision)}</b> by {escape(item.reviewer)}"
        rows.append(
            f'<tr id="item-{item.id}"><td>{escape(item.item_id)}</td>'
            f"<td>{escape(item.group)}</td><td>{escape(item.prediction)}</td>"
            f"<td>{conf}</td><td>{escape(item.status)}</td><td>{action}</td></tr>"
        )
    return (
        "<table><tr><th>item</th><th>group</th><th>prediction</th><th>confidence</th>"
        "<th>status</th><th>decision</th></tr>" + "".join(rows) + "</table>"
    )


def serve(
    ledger, *, host: str = "127.0.0.1", port: int = 8765, token: str | None = None, echo=print
):
    """Run the dashboard until interrupted; prints the URL with a fresh token."""
    import uvicorn

    token = token or secrets.token_urlsafe(24)
    app = create_app(ledger, token=token, port=port, host=host)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # a name the Host check allows
    shown = f"[{shown}]" if ":" in shown else shown
    echo(f"raikit ui: open http://{shown}:{port}/login?token={token}")
    uvicorn.run(app, host=host, port=port, log_level="warning")
