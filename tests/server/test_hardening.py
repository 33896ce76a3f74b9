"""Dashboard hardening against a live uvicorn on 127.0.0.1: security headers and CSP on every
response, Host checks (DNS rebinding), a streamed body limit, 4xx for bad states, exact id
matching, and a bounded load test with 20 concurrent clients."""

from __future__ import annotations

import http.client
import re
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from raikit.ledger import Ledger
from raikit.metrics import group_metrics
from raikit.review import ReviewQueue

TOKEN = "hardening-token-abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    import uvicorn

    from raikit.server import create_app

    ledger = Ledger(tmp_path_factory.mktemp("hardening") / "ledger")
    result = group_metrics(
        [1, 0, 1, 0, 1, 1, 0, 0],
        [1, 0, 0, 0, 1, 1, 1, 0],
        sensitive_features=list("aabbaabb"),
        n_boot=20,
    )
    evidence = ledger.log_evidence(result, check="metrics.group_metrics")
    run_id = ledger.runs()["id"].iloc[0]
    # A queue whose items have no confidence at all (the dashboard answered 500 here).
    ReviewQueue(ledger, name="noconf").add([{"x": 1}, {"x": 2}], prediction=[1, 0])
    ReviewQueue(ledger).add([{"x": 3}], prediction=[1], confidence=[0.7])
    port = _free_port()
    config = uvicorn.Config(
        create_app(ledger, token=TOKEN, port=port),
        host="127.0.0.1",
        port=port,
        log_level="warning",
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(200):
        if srv.started:
            break
        time.sleep(0.05)
    yield {"port": port, "ledger": ledger, "evidence": evidence, "run": run_id}
    srv.should_exit = True
    thread.join(timeout=10)


def _request(server, method, path, *, headers=None, body=None, host=None):
    connection = http.client.HTTPConnection("127.0.0.1", server["port"], timeout=60)
    try:
        connection.putrequest(method, path, skip_host=True)
        connection.putheader("Host", f"127.0.0.1:{server['port']}" if host is None else host)
        for key, value in (headers or {}).items():
            connection.putheader(key, value)
        if body is not None:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode()
    finally:
        connection.close()


SECURITY = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
}


def _assert_secure(headers, where):
    lower = {k.lower(): v for k, v in headers.items()}
    for key, value in SECURITY.items():
        assert lower.get(key.lower()) == value, (where, key)
    csp = lower.get("content-security-policy", "")
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp, where
    assert "unsafe-inline" not in csp.split("script-src")[-1].split(";")[0], where
    assert "unsafe-eval" not in csp, where


def test_every_response_carries_the_security_headers(server):
    cases = [
        ("GET", "/", AUTH, 200),
        ("GET", f"/runs/{server['run']}", AUTH, 200),
        ("GET", f"/evidence/{server['evidence']}", AUTH, 200),
        ("GET", f"/lineage/{server['run']}", AUTH, 200),
        ("GET", "/monitor", AUTH, 200),
        ("GET", "/review", AUTH, 200),
        ("GET", "/static/plotly.js", AUTH, 200),
        ("GET", "/", {}, 401),
        ("GET", "/login?token=wrong", {}, 401),
        ("GET", f"/login?token={TOKEN}", {}, 303),
        ("GET", "/runs/zz", AUTH, 400),
        ("GET", "/runs/abcdef12", AUTH, 404),
        ("GET", "/no-such-page", AUTH, 404),
        ("POST", f"/review/{'a' * 32}/decide", AUTH, 403),
    ]
    for method, path, headers, expected in cases:
        status, got, _ = _request(server, method, path, headers=headers, body=b"")
        assert status == expected, (method, path, status)
        _assert_secure(got, path)
    status, got, _ = _request(server, "GET", "/", headers=AUTH, host="evil.example")
    assert status == 421
    _assert_secure(got, "421")


def test_pages_run_only_scripts_with_the_response_nonce(server):
    status, headers, page = _request(server, "GET", f"/evidence/{server['evidence']}", headers=AUTH)
    assert status == 200
    nonce = re.search(r"'nonce-([^']+)'", headers["content-security-policy"]).group(1)
    scripts = re.findall(r"<script([^>]*)>", page)
    assert len(scripts) >= 2  # plotly.js from the dashboard and at least one figure
    assert all(f'nonce="{nonce}"' in attrs for attrs in scripts)
    # plotly.js at its content-hashed URL (cached for good; see tests/server/test_dashboard.py)
    assert re.search(
        rf'<script nonce="{nonce}" src="/static/plotly-[0-9a-f]{{12}}\.min\.js">', page
    )
    assert len(page) < 200_000  # plotly.js (4.8 MB) is no longer inlined into every page
    _, again, _ = _request(server, "GET", f"/evidence/{server['evidence']}", headers=AUTH)
    assert nonce not in again["content-security-policy"]  # a fresh nonce per response
    status, headers, script = _request(server, "GET", "/static/plotly.js", headers=AUTH)
    assert headers["content-type"].startswith("text/javascript") and "plotly" in script[:500]
    assert _request(server, "GET", "/static/plotly.js")[0] == 401  # the token guards it too


@pytest.mark.parametrize(
    "host,expected",
    [
        ("127.0.0.1:{port}", 200),
        ("localhost:{port}", 200),
        ("LOCALHOST:{port}", 200),
        ("[::1]:{port}", 200),
        ("evil.example:{port}", 421),  # DNS rebinding: the attacker's name resolves to 127.0.0.1
        ("evil.example", 421),
        ("127.0.0.1", 421),  # the bound port must be named
        ("127.0.0.1:1", 421),
        ("localhost.evil.example:{port}", 421),
        ("", 421),
    ],
)
def test_host_header_must_name_the_loopback_address_and_port(server, host, expected):
    status, _, _ = _request(server, "GET", "/", headers=AUTH, host=host.format(port=server["port"]))
    assert status == expected


def test_a_chunked_body_is_cut_off_while_it_streams(server):
    """60 MiB sent chunked: the server answers 413 after about MAX_BODY, without reading it all."""
    from raikit.server import MAX_BODY

    total = 60 * 1024 * 1024
    chunk = b"x" * (64 * 1024)
    sent = 0
    response = b""
    with socket.create_connection(("127.0.0.1", server["port"]), timeout=30) as sock:
        sock.sendall(
            (
                f"POST /review/{'a' * 32}/decide HTTP/1.1\r\nHost: 127.0.0.1:{server['port']}\r\n"
                f"Authorization: Bearer {TOKEN}\r\nTransfer-Encoding: chunked\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n\r\n"
            ).encode()
        )
        sock.setblocking(False)
        try:
            while sent < total:
                try:
                    response += sock.recv(65536)
                except BlockingIOError:
                    pass
                if response:
                    break
                try:
                    sock.send(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    sent += len(chunk)
                except BlockingIOError:
                    time.sleep(0.001)
        except (BrokenPipeError, ConnectionResetError):
            pass
        sock.setblocking(True)
        deadline = time.monotonic() + 10
        while b"\r\n\r\n" not in response and time.monotonic() < deadline:
            try:
                more = sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not more:
                break
            response += more
    assert response.startswith(b"HTTP/1.1 413"), response[:200]
    # Cut off early: far less than the 60 MiB was ever sent (socket buffers hold a few MiB).
    assert sent < total / 4, sent
    assert sent >= MAX_BODY  # it did read up to the limit before refusing


def test_a_declared_oversized_body_is_refused_before_reading(server):
    status, headers, _ = _request(
        server,
        "POST",
        f"/review/{'a' * 32}/decide",
        headers={**AUTH, "Content-Length": str(60 * 1024 * 1024)},
    )
    assert status == 413
    _assert_secure(headers, "413")


def test_review_without_confidences_and_empty_queues_are_not_errors(server):
    status, _, page = _request(server, "GET", "/review?queue=noconf", headers=AUTH)
    assert status == 200 and "2 item(s)" in page
    status, _, page = _request(server, "GET", "/review?queue=empty", headers=AUTH)
    assert status == 200 and "No items to review" in page
    status, _, page = _request(server, "GET", "/review", headers=AUTH)
    assert status == 200 and "0.700" in page


@pytest.mark.parametrize(
    "path",
    [
        "/runs/{run}%0A",
        "/evidence/{evidence}%0A",
        "/lineage/{run}%0A",
        "/cards/{run}%0A",
        "/monitor?name=monitor%0A",
        "/review?queue=default%0A",
    ],
)
def test_ids_and_names_with_a_trailing_newline_are_refused(server, path):
    status, _, _ = _request(server, "GET", path.format(**server), headers=AUTH)
    assert status == 400


@pytest.mark.slow
def test_twenty_clients_two_thousand_requests_zero_errors(server):
    """Load: 20 threads x 100 requests (pages over the real ledger) on loopback, all 200."""
    paths = ["/", "/review", f"/runs/{server['run']}", "/review?queue=noconf"]
    port = server["port"]

    def client(index: int) -> list:
        failures = []
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        try:
            for i in range(100):
                path = paths[(index + i) % len(paths)]
                try:
                    connection.request("GET", path, headers=AUTH)
                    response = connection.getresponse()
                    response.read()
                    if response.status != 200:
                        failures.append((path, response.status))
                except (OSError, http.client.HTTPException) as error:
                    failures.append((path, repr(error)))
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        finally:
            connection.close()
        return failures

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=20) as pool:
        failures = [f for result in pool.map(client, range(20)) for f in result]
    elapsed = time.perf_counter() - started
    assert failures == [], failures[:5]
    assert elapsed < 600


def test_allowed_host_names_follow_the_bound_address():
    from raikit.server._app import _allowed_hosts, _host_ok

    local = _allowed_hosts("127.0.0.1", 8765)
    assert _host_ok("localhost:8765", local) and _host_ok("[::1]:8765", local)
    assert not _host_ok("192.168.1.5:8765", local) and not _host_ok("localhost:8766", local)
    lan = _allowed_hosts("192.168.1.5", 8765)  # an address chosen with --host is allowed too
    assert _host_ok("192.168.1.5:8765", lan) and _host_ok("127.0.0.1:8765", lan)
    assert not _host_ok("evil.example:8765", lan)
    wildcard = _allowed_hosts("0.0.0.0", 8765)  # binding everywhere adds no name
    assert not _host_ok("0.0.0.0:8765", wildcard) and _host_ok("127.0.0.1:8765", wildcard)
    v6 = _allowed_hosts("::1", 8765)
    assert _host_ok("[::1]:8765", v6) and not _host_ok("::1:8765", v6)
    anyport = _allowed_hosts("127.0.0.1", None)  # create_app without a port: loopback names only
    assert _host_ok("localhost:5000", anyport) and _host_ok("127.0.0.1", anyport)
    assert not _host_ok("evil.example:5000", anyport) and not _host_ok("localhost:x", anyport)
