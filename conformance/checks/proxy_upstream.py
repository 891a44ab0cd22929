"""The server behind a real nginx: upstream protocol, disconnects, the keep-alive pool, request
bodies and Expect (REQUIREMENTS.md PROXY-01, 03, 06, 07, 10; nginx variants in proxy.py).

Each check talks to nginx (via "nginx") and reads the server's side through the probe journal
or, for the server's own framing towards nginx, through a recording relay (proxy.py).
"""

from __future__ import annotations

import hashlib
import random

from conformance.catalogue import check
from conformance.checks.wsgi_response import DISCONNECT_CLOSE_BOUND, ENDLESS_PATH, ENDLESS_SECONDS
from conformance.context import CheckContext
from conformance.proxy import Nginx, RecordingRelay
from conformance.verdicts import Level
from conformance.wire import Response, escape_bytes, parse_response, request_bytes

BOTH = ("wsgi", "asgi")
NGINX = ("nginx",)
RESPONSE_TIMEOUT = 8.0
# ASGI: the event loop sees the closed upstream socket at once; WSGI: the server notices on its
# next write (the app writes every 10 ms). The bounds of asgi_http / wsgi_response, for the
# same reasons, plus nginx's own reaction to the client's reset.
ASGI_DISCONNECT_BOUND = 5.0
LARGE_BODY = 4 * 1024 * 1024
CHUNKED_BODY = 2 * 1024 * 1024
CHUNK = 64 * 1024
BODY_TIMEOUT = 5.0  # for the app's body summary once the response is in
FIRST_TIMEOUT = 2.5  # for the response to the request that may leave bytes behind
STREAM_WAIT = 4.0  # seconds the app waits for block n before producing n+1 (as streaming.py)
NGINX_UPSTREAM_ERRORS = ("upstream sent invalid", "upstream prematurely closed",
                         "upstream sent no valid", "upstream sent more data")


def _send(ctx: CheckContext, nginx: Nginx, data: bytes, method: str = "GET",
          timeout: float = RESPONSE_TIMEOUT) -> Response:
    conn = ctx.connect(host=nginx.host, port=nginx.port, timeout=timeout)
    conn.send(data)
    response = conn.read_response(method=method, timeout=timeout)
    conn.close()
    return response


def _nginx_errors(nginx: Nginx) -> list[str]:
    return [line for line in nginx.error_log().splitlines()
            if any(marker in line for marker in NGINX_UPSTREAM_ERRORS)]


@check(
    id="proxy.upstream-http10",
    title="behind nginx's default HTTP/1.0 upstream the server never answers with chunked framing",
    requirements=["PROXY-01"],
    level=Level.MUST,
    interfaces=BOTH,
    via=NGINX,
    section="RFC 9112 section 6.1 (Transfer-Encoding only to HTTP/1.1 requests)",
)
def upstream_http10(ctx: CheckContext) -> None:
    """RFC 9112 section 6.1: "A server MUST NOT send a response containing Transfer-Encoding
    unless the corresponding request indicates HTTP/1.1 (or later minor revisions)." nginx as
    installed speaks HTTP/1.0 upstream (proxy_http_version 1.0, buffering on). A sized
    response (echo) and an unsized streamed one (/probe/stream) go through it; a recording
    relay between nginx and the server sees the server's own bytes: no Transfer-Encoding,
    a Content-Length or close-delimited body, and the client gets both responses whole."""
    server = ctx.server
    relay = RecordingRelay(server.host, server.port)
    try:
        nginx = ctx.nginx_in_front(f"{relay.host}:{relay.port}", "http10")
        cases = [("/probe/stream?blocks=3&wait=0", b"block-3\n"), ("/upstream/http10", b"echo\n")]
        for target, tail in cases:
            rid = ctx.new_rid()
            response = _send(ctx, nginx, request_bytes("GET", target, ctx.base_headers(rid)))
            ctx.expect(response.status == 200 and response.complete and tail in response.body,
                       f"GET {target} through nginx (HTTP/1.0 upstream): the client got status "
                       f"{response.status}, complete={response.complete}, "
                       f"{len(response.body)} body bytes, problems {response.problems}",
                       nginx_errors=_nginx_errors(nginx))
        upstream = relay.upstream_bytes()
    finally:
        relay.stop()
    for data in upstream:
        response, _ = parse_response(data, eof=True)
        if response is None or not response.status:
            continue
        ctx.expect(response.header("transfer-encoding") is None,
                   "the server answered nginx's HTTP/1.0 request with Transfer-Encoding: "
                   f"{response.header('transfer-encoding')!r}",
                   upstream_response=escape_bytes(data[:4096]))
    errors = _nginx_errors(nginx)
    ctx.expect(not errors, f"nginx reported a bad upstream response: {errors[:3]}")


@check(
    id="proxy.stream-http10-unbuffered",
    title="with nginx's HTTP/1.0 upstream and buffering off, each block still streams through",
    requirements=["PROXY-01", "PROXY-02"],
    level=Level.MUST,
    interfaces=BOTH,
    via=NGINX,
    section="RFC 9112 section 6.3 item 8 (close-delimited body); PEP 3333 'Buffering and "
            "Streaming'; asgi-www.rst 'Response Body'",
)
def stream_http10_unbuffered(ctx: CheckContext) -> None:
    """RFC 9112 section 6.3: without Content-Length or chunked coding the body "is determined
    by the number of octets received prior to the server closing the connection", which is
    how an unsized response must reach an HTTP/1.0 upstream client; PEP 3333 ("must not
    delay the transmission of any block") and asgi-www.rst (flush before send() returns)
    still apply. nginx speaks HTTP/1.0 upstream with proxy_buffering off; the gated stream of
    checks/streaming.py must arrive block by block (no gate timeout in the journal)."""
    nginx = ctx.nginx("unbuffered")
    rid = ctx.new_rid()
    conn = ctx.connect(host=nginx.host, port=nginx.port, timeout=STREAM_WAIT + 5)
    conn.send(request_bytes("GET", f"/probe/stream?blocks=3&wait={STREAM_WAIT:g}",
                            ctx.base_headers(rid)))
    for number in (1, 2, 3):
        ctx.expect(conn.read_until(f"block-{number}\n".encode(), timeout=STREAM_WAIT + 3),
                   f"block {number} never reached the client through nginx's HTTP/1.0 upstream "
                   f"({len(conn.received)} bytes received)")
        if number < 3:
            ctx.journal.open_gate(rid, number)
    timeouts = [e["block"] for e in ctx.journal.for_rid(rid) if e["event"] == "gate-timeout"]
    ctx.expect(not timeouts, f"block(s) {timeouts} did not reach the client within "
                             f"{STREAM_WAIT:g}s while the app waited: the response was buffered")


@check(
    id="proxy.disconnect",
    title="a client abort through nginx reaches the app (http.disconnect / close())",
    requirements=["PROXY-03"],
    level=Level.MUST,
    interfaces=BOTH,
    via=NGINX,
    section="asgi-www.rst 'Disconnect - receive event'; PEP 3333 'Specification Details' (close())",
)
def disconnect(ctx: CheckContext) -> None:
    """asgi-www.rst, Disconnect: http.disconnect is "sent to the application if receive is
    called ... after the HTTP connection has been closed"; PEP 3333: close() is called when
    a request ends through "an early disconnect of the browser". Through nginx (buffering
    off), the client resets its connection mid-response; nginx closes the upstream connection
    and the app must hear of it: ASGI within 5 s; WSGI close() at the latest when the app's
    stream ends by itself, plus wsgi_response.CLOSE_BOUND."""
    rid = ctx.new_rid()
    asgi = ctx.target.interface == "asgi"
    target = "/probe/wait-disconnect" if asgi else ENDLESS_PATH
    conn = ctx.connect()
    conn.send(request_bytes("GET", target, ctx.base_headers(rid)))
    ctx.expect(conn.read_until(b"started", timeout=5.0),
               "the response never started through nginx: nothing to disconnect from")
    conn.abort()
    if asgi:
        seen = ctx.journal.wait_for(
            lambda evs: any(e["event"] == "receive" and e.get("type") == "http.disconnect"
                            for e in evs), rid=rid, timeout=ASGI_DISCONNECT_BOUND)
        ctx.expect(seen is not None, f"no http.disconnect within {ASGI_DISCONNECT_BOUND:g}s "
                                     "after the client reset its connection to nginx")
    else:
        seen = ctx.journal.wait_for(lambda evs: any(e["event"] == "close" for e in evs),
                                    rid=rid, timeout=DISCONNECT_CLOSE_BOUND)
        ctx.expect(seen is not None, f"close() was not called within "
                                     f"{DISCONNECT_CLOSE_BOUND:g}s after the client reset its "
                                     "connection to nginx (the app's stream ends by itself "
                                     f"after {ENDLESS_SECONDS:g}s)")


def _desync_cases(ctx: CheckContext) -> list[tuple[str, str, str, list[tuple[str, str]], bytes]]:
    """(name, method, target, extra headers, body): requests that could leave bytes behind."""
    mid_error = "/probe/error?after_start=1" if ctx.target.interface == "asgi" else (
        "/probe/raise-in-iter")
    small, large = b"u" * 10, b"L" * (256 * 1024)
    return [
        ("unread small body", "POST", "/probe/whoami", [("Content-Length", "10")], small),
        ("early response, unread large body", "POST", "/probe/whoami",
         [("Content-Length", str(len(large)))], large),
        ("HEAD", "HEAD", "/probe/whoami", [], b""),
        ("204", "GET", "/probe/status?code=204", [], b""),
        ("304", "GET", "/probe/status?code=304", [], b""),
        ("app error before the response", "GET", "/probe/error", [], b""),
        ("app error mid-response", "GET", mid_error, [], b""),
    ]


@check(
    id="proxy.pooled-desync",
    title="nginx's pooled upstream connection never carries one request's leftovers into the next",
    requirements=["PROXY-06"],
    level=Level.MUST,
    interfaces=BOTH,
    via=NGINX,
    section="RFC 9112 section 9.3 (persistence) and 6.3 (message body length)",
)
def pooled_desync(ctx: CheckContext) -> None:
    """RFC 9112 section 9.3: a connection is reused only if "all messages on a connection"
    are framed so that each is read completely; section 6.3: HEAD, 204 and 304 responses end
    at the header section. Behind nginx with a one-connection keep-alive pool, each request
    whose handling could leave bytes behind (an unread body, an early response, HEAD, 204,
    304, an app error before or during the response) is followed, from another client
    connection, by GET /probe/whoami; that client must get its own answer ("rid=<its id>"),
    never the first request's tail nor an error caused by it."""
    nginx = ctx.nginx("pool")
    for name, method, target, headers, body in _desync_cases(ctx):
        first = ctx.new_rid()
        # Its own response is not judged; a server that leaves it unfinished (daphne after an
        # app error mid-response) costs a short bound, not the full one.
        _send(ctx, nginx, request_bytes(method, target, ctx.base_headers(first) + headers, body),
              method=method, timeout=FIRST_TIMEOUT)
        second = ctx.new_rid()
        response = _send(ctx, nginx, request_bytes("GET", "/probe/whoami",
                                                   ctx.base_headers(second)))
        own = f"rid={second}\n".encode()
        ctx.expect(response.status == 200 and response.body == own,
                   f"after a request with {name} ({method} {target}), the next request from "
                   f"another client got status {response.status} and body "
                   f"{response.body[:120]!r}, not its own answer {own!r}",
                   nginx_errors=_nginx_errors(nginx)[-5:])


def _body(size: int) -> bytes:
    return random.Random(size).randbytes(size)  # fixed seed: the same bytes every run


def _digest_verdict(ctx: CheckContext, rid: str, response: Response, body: bytes,
                    what: str) -> None:
    summary = ctx.journal.wait_event(rid, "body-summary", timeout=BODY_TIMEOUT)
    if summary is not None and summary.get("how") == "none":
        # Whatever nginx made of the unread body (a 502 when the server closed on it).
        ctx.unsupported(f"{what}: the server gave the WSGI app neither CONTENT_LENGTH nor "
                        "wsgi.input_terminated, so the app has no way to read the body "
                        f"(the client got status {response.status})")
    ctx.expect(response.status == 200, f"{what}: the client got status {response.status} "
                                       f"({response.problems or 'no framing problem'})")
    ctx.expect(summary is not None, f"{what}: the app never finished reading the body")
    assert summary is not None
    ctx.expect(summary["size"] == len(body) and summary["sha256"] == hashlib.sha256(body)
               .hexdigest(), f"{what}: the app read {summary['size']} bytes (sha256 "
               f"{summary['sha256'][:16]}...), the client sent {len(body)}")


@check(
    id="proxy.large-body-unbuffered",
    title="a 4 MiB request body streamed by nginx (request buffering off) arrives intact",
    requirements=["PROXY-07"],
    level=Level.MUST,
    interfaces=BOTH,
    via=NGINX,
    section="RFC 9112 section 6.2 (Content-Length); PEP 3333 'Input and Error Streams'",
)
def large_body_unbuffered(ctx: CheckContext) -> None:
    """RFC 9112 section 6.2: Content-Length "indicates ... the number of octets for the
    content"; PEP 3333: the app reads wsgi.input up to CONTENT_LENGTH (ASGI: the http.request
    bodies concatenate to the body). nginx with proxy_request_buffering off passes a 4 MiB
    body upstream as it arrives; the app's sha256 of what it read must match."""
    nginx = ctx.nginx("no-request-buffering")
    body, rid = _body(LARGE_BODY), ctx.new_rid()
    head = ctx.base_headers(rid) + [("Content-Length", str(len(body)))]
    response = _send(ctx, nginx, request_bytes("POST", "/probe/digest", head, body), "POST",
                     timeout=20.0)
    _digest_verdict(ctx, rid, response, body, "a 4 MiB Content-Length body")


@check(
    id="proxy.chunked-body-unbuffered",
    title="a chunked request body streamed by nginx (request buffering off) arrives intact",
    requirements=["PROXY-07"],
    level=Level.MUST,
    interfaces=BOTH,
    via=NGINX,
    section="RFC 9112 section 7.1 (chunked transfer coding)",
)
def chunked_body_unbuffered(ctx: CheckContext) -> None:
    """RFC 9112 section 7.1: "A recipient MUST be able to parse and decode the chunked
    transfer coding." nginx with proxy_request_buffering off (HTTP/1.1 upstream) forwards a
    2 MiB chunked request body as chunked. The app must read exactly the body (ASGI: the
    http.request events; WSGI: wsgi.input to EOF when the server sets wsgi.input_terminated,
    or CONTENT_LENGTH when it de-chunks first). A WSGI server offering neither is
    unsupported; a 411 (Length Required, RFC 9112 section 6.3 lets a server refuse) too."""
    nginx = ctx.nginx("no-request-buffering")
    body, rid = _body(CHUNKED_BODY), ctx.new_rid()
    framed = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + CHUNK]), body[i:i + CHUNK])
                      for i in range(0, len(body), CHUNK)) + b"0\r\n\r\n"
    head = ctx.base_headers(rid) + [("Transfer-Encoding", "chunked")]
    response = _send(ctx, nginx, request_bytes("POST", "/probe/digest", head, framed), "POST",
                     timeout=20.0)
    if response.status == 411:
        ctx.unsupported("the server refuses chunked request bodies with 411 Length Required")
    _digest_verdict(ctx, rid, response, body, "a 2 MiB chunked body")


@check(
    id="proxy.expect-continue",
    title="Expect: 100-continue through nginx completes",
    requirements=["PROXY-10"],
    level=Level.MUST,
    interfaces=BOTH,
    via=NGINX,
    section="RFC 9110 section 10.1.1 (Expect); PEP 3333 'HTTP 1.1 Expect/Continue'",
)
def expect_continue(ctx: CheckContext) -> None:
    """RFC 9110 section 10.1.1: a client that sent Expect: 100-continue waits for a 100
    (Continue) or a final status (and MAY send the content after a while without either);
    PEP 3333, HTTP 1.1 Expect/Continue: servers must handle it. Through nginx with request
    buffering on and off, the client sends the head, waits up to 3 s for the 100, sends a
    64 KiB body, and must get 200 with the body read intact by the app."""
    body = _body(64 * 1024)
    for variant in ("default", "no-request-buffering"):
        nginx = ctx.nginx(variant)
        rid = ctx.new_rid()
        head = ctx.base_headers(rid) + [("Expect", "100-continue"),
                                        ("Content-Length", str(len(body)))]
        conn = ctx.connect(host=nginx.host, port=nginx.port, timeout=RESPONSE_TIMEOUT)
        conn.send(request_bytes("POST", "/probe/digest", head))
        conn.read_until(b"100 Continue", timeout=3.0)  # a bounded wait, as the RFC allows
        conn.send(body)
        response = conn.read_response(method="POST", timeout=RESPONSE_TIMEOUT)
        conn.close()
        _digest_verdict(ctx, rid, response, body, f"Expect: 100-continue (nginx {variant})")
