"""HTTP/1.1 connection management at the server (RFC 9112 9, RFC 9110 9.3.2, 10.1.1, 15):
bodiless responses, HTTP/1.0 framing, 100-continue, persistence, pipelining, Connection:
close, Date, and invalid-then-valid pipelines. Every case pipelines a follow-up request in the
same write, so a response that leaks bytes or a body parsed as a request shows up."""

from __future__ import annotations

import contextlib
import email.utils
import time

from conformance.catalogue import check
from conformance.checks.http_headers import get
from conformance.context import CheckContext
from conformance.desync import (
    MARKER_PATH,
    MAY,
    SHOULD_NOT,
    Case,
    Parts,
    request_line,
    run_cases,
)
from conformance.verdicts import Level
from conformance.wire import Connection, Response, WireTimeout, escape_bytes, parse_responses

BOTH = ("wsgi", "asgi")
DIRECT = ("direct",)
READ = 3.0  # seconds for pipelined answers (or the close) on a correct server


def _pipeline(ctx: CheckContext, first: bytes, method: str, *,
              follow: bool = True) -> tuple[Connection, list[Response], str]:
    """Send ``first`` and (optionally) a marker request in one write; read both answers or
    until the server closes. Returns the connection, the parsed responses, the marker id."""
    marker_rid = ctx.new_rid()
    host = f"{ctx.host}:{ctx.port}".encode()
    data = first + (request_line(b"GET", MARKER_PATH, host, marker_rid) if follow else b"")
    conn = ctx.connect(timeout=READ + 1)
    conn.send(data)
    wanted = 2 if follow else 1
    deadline = time.monotonic() + READ
    methods = [method, "GET"]
    while not conn.eof and time.monotonic() < deadline:
        finals = [r for r in parse_responses(bytes(conn.received), methods, eof=False)
                  if r.status >= 200 and r.complete]
        if len(finals) >= wanted:
            break
        if finals and not finals[0].keeps_alive():
            # It announced the close: read to the close (bounded) to catch leaked bytes.
            with contextlib.suppress(OSError):
                conn.read_until_close(timeout=1.0)
            break
        with contextlib.suppress(WireTimeout, OSError):
            conn.recv_some(deadline - time.monotonic())
    responses = parse_responses(bytes(conn.received), methods, eof=conn.eof)
    return conn, responses, marker_rid


def _request(ctx: CheckContext, method: str, target: str, rid: str, *,
             version: str = "HTTP/1.1", extra: bytes = b"") -> bytes:
    host = f"{ctx.host}:{ctx.port}"
    return (f"{method} {target} {version}\r\nHost: {host}\r\nX-Probe-Id: {rid}\r\n".encode()
            + extra + b"\r\n")


def _leak(conn: Connection, responses: list[Response]) -> str | None:
    """Bytes after the first response that are not a well-formed response: a leaked body."""
    for resp in responses[1:]:
        if resp.status == 0 or resp.problems:
            return f"after the first response came {escape_bytes(resp.raw[:200])!r}"
    return None


@check(id="http-connection.bodiless-responses", title="HEAD, 204 and 304 responses carry no "
       "body (and 204 no framing); a pipelined follow-up stays in sync",
       requirements=["HTTP-10"], level=Level.MUST, interfaces=BOTH, via=DIRECT,
       section="RFC 9110 9.3.2, 15.3.5, 15.4.5, 8.6; RFC 9112 6.1, 6.3")
def bodiless_responses(ctx: CheckContext) -> None:
    """RFC 9110 9.3.2: "The server SHOULD send the same header fields in response to a HEAD
    request as it would have sent if the request method had been GET" but no content; 15.3.5
    and 15.4.5: a 204/304 response cannot contain content; 8.6: "A server MUST NOT send a
    Content-Length header field in any response with a status code of 1xx (Informational) or
    204 (No Content)"; RFC 9112 6.1: nor Transfer-Encoding. The echo app writes a body for the
    HEAD request; the server must drop it. A pipelined marker request catches leaked bytes."""
    cases = [("HEAD", "/desync/head", 200), ("GET", "/probe/framing-status?code=204", 204),
             ("GET", "/probe/framing-status?code=304", 304)]
    for method, target, status in cases:
        rid = ctx.new_rid()
        conn, responses, _ = _pipeline(ctx, _request(ctx, method, target, rid), method)
        conn.close()  # gunicorn's sync worker lingers on an open client before the next one
        label = f"{method} {target}"
        ctx.expect(bool(responses) and responses[0].status == status,
                   f"{label}: expected {status}, got "
                   f"{responses[0].status if responses else 'nothing'}")
        first = responses[0]
        leak = _leak(conn, responses)
        ctx.expect(leak is None, f"{label}: the response carried body bytes: {leak}")
        if first.keeps_alive() and len(responses) < 2 and not conn.eof:
            ctx.fail(f"{label}: the pipelined request after it was never answered (the "
                     "server is waiting for a body that a bodiless response does not have?)")
        if status == 204:
            framing = [n for n, _ in first.headers
                       if n.lower() in (b"content-length", b"transfer-encoding")]
            ctx.expect(not framing, f"{label}: the 204 response has framing headers {framing}")
        if status == 304:
            ctx.expect(first.header("transfer-encoding") is None,
                       f"{label}: the 304 response has Transfer-Encoding")


@check(id="http-connection.http10-no-chunked", title="no chunked response to an HTTP/1.0 "
       "request", requirements=["HTTP-11"], level=Level.MUST, interfaces=BOTH, via=DIRECT,
       section="RFC 9112 6.1")
def http10_no_chunked(ctx: CheckContext) -> None:
    """RFC 9112 6.1: "A server MUST NOT send a response containing Transfer-Encoding unless the
    corresponding request indicates HTTP/1.1 (or later minor revisions)." The app streams a
    response without Content-Length, which an HTTP/1.1 server would chunk."""
    rid = ctx.new_rid()
    conn = ctx.connect(timeout=8)
    conn.send(_request(ctx, "GET", "/probe/stream?blocks=2&wait=0.05", rid, version="HTTP/1.0"))
    conn.read_until_close(timeout=6)
    response = conn.read_response(timeout=0.1)
    conn.close()
    ctx.expect(response.status == 200, f"expected 200, got {response.status}")
    ctx.expect(response.header("transfer-encoding") is None,
               f"the response to an HTTP/1.0 request has Transfer-Encoding: "
               f"{response.header('transfer-encoding')!r}")
    ctx.expect(b"block-2" in response.body, "the streamed body did not arrive whole "
               "(close-delimited)")


def _read_interim(conn: Connection, wait: float) -> None:
    """Read what the server sends before the body within ``wait`` (a bounded gate)."""
    deadline = time.monotonic() + wait
    while not conn.eof and b"\r\n\r\n" not in conn.received and time.monotonic() < deadline:
        with contextlib.suppress(WireTimeout, OSError):
            conn.recv_some(deadline - time.monotonic())


@check(id="http-connection.expect-continue", title="Expect: 100-continue gets at most one "
       "clean 100; ignored for HTTP/1.0", requirements=["HTTP-12"], level=Level.MUST,
       interfaces=BOTH, via=DIRECT, section="RFC 9110 10.1.1, 15.2.1, 8.6")
def expect_continue(ctx: CheckContext) -> None:
    """RFC 9110 10.1.1: a server that sends a 100 (Continue) "MUST ultimately send a final
    status code"; "A server that receives a 100-continue expectation in an HTTP/1.0 request
    MUST ignore that expectation." 8.6: no Content-Length in a 1xx; RFC 9112 6.1: no
    Transfer-Encoding in a 1xx. The client waits up to 1 s for the 100 (a gate, not a verdict:
    a server may also wait for the body), then sends the body."""
    for version in ("HTTP/1.1", "HTTP/1.0"):
        rid = ctx.new_rid()
        conn = ctx.connect(timeout=6)
        conn.send(_request(ctx, "POST", "/desync/continue", rid, version=version,
                           extra=b"Expect: 100-continue\r\nContent-Length: 5\r\n"))
        # HTTP/1.0: nothing should come, so the gate is kept short.
        _read_interim(conn, 1.0 if version == "HTTP/1.1" else 0.5)
        with contextlib.suppress(OSError):
            conn.send(b"hello")
        conn.read_response(method="POST", timeout=5, skip_interim=False)
        with contextlib.suppress(WireTimeout, OSError):
            conn.read_until_close(timeout=0.3)
        responses = parse_responses(bytes(conn.received), ["POST"], eof=conn.eof)
        conn.close()
        interim = [r for r in responses if 100 <= r.status < 200]
        finals = [r for r in responses if r.status >= 200]
        ctx.expect(bool(finals) and finals[0].status == 200,
                   f"{version} with Expect: 100-continue: no 200 final response "
                   f"({escape_bytes(bytes(conn.received[:300]))!r})")
        if version == "HTTP/1.0":
            ctx.expect(not interim, "a 100 (Continue) was sent to an HTTP/1.0 request (MUST "
                                    "ignore the expectation)")
            continue
        ctx.expect(len(interim) <= 1, f"{len(interim)} interim 100 responses were sent")
        for resp in interim:
            framing = [n for n, _ in resp.headers
                       if n.lower() in (b"content-length", b"transfer-encoding")]
            ctx.expect(not framing, f"the 100 (Continue) carries framing headers {framing}")
        body = [e.get("body") for e in ctx.journal.for_rid(rid) if e["event"] == "body"]
        ctx.expect(body == [b"hello"], f"the app read {body!r}, not the body b'hello'")


def _unread_body(parts: Parts) -> bytes:
    return (b"POST /probe/no-read HTTP/1.1\r\n" + parts.base
            + b"Content-Length: %d\r\n\r\n" % len(parts.smuggle) + parts.smuggle)


def _unread_continue(parts: Parts) -> bytes:
    return (b"POST /probe/no-read HTTP/1.1\r\n" + parts.base + b"Expect: 100-continue\r\n"
            + b"Content-Length: %d\r\n\r\n" % len(parts.smuggle) + parts.smuggle)


# The body is a complete request: a server that neither drains nor closes serves it.
UNREAD_SECTION = "RFC 9112 9.3, 6.3 (the body is framed by Content-Length whether read or not)"
UNREAD_CASES = [
    Case("body the app never read", _unread_body, UNREAD_SECTION, accept=MAY, keep_open=MAY),
    Case("unread body after Expect: 100-continue", _unread_continue, UNREAD_SECTION,
         accept=MAY, keep_open=MAY),
]


@check(id="http-connection.persistence", title="HTTP/1.1 persists by default, 1.0 only with "
       "keep-alive; an unread body is drained or the connection closed",
       requirements=["HTTP-13", "HTTP-12"], level=Level.MUST, interfaces=BOTH, via=DIRECT,
       section="RFC 9112 9.3, 9.6")
def persistence(ctx: CheckContext) -> None:
    """RFC 9112 9.3: HTTP/1.1 connections persist unless "close" is signalled; an HTTP/1.0
    connection persists only with "keep-alive". A body the app did not read is still framed
    by its Content-Length: it must be discarded or the connection closed, never parsed as the
    next request (the unread body here is itself a request: serving it is a desync)."""
    run_cases(ctx, UNREAD_CASES)
    rid = ctx.new_rid()
    conn, responses, marker = _pipeline(ctx, _request(ctx, "GET", "/desync/keep", rid), "GET")
    ctx.expect(bool(responses) and responses[0].status == 200, "GET was not answered 200")
    if responses[0].keeps_alive():
        conn.close()
        ctx.expect(len(responses) >= 2 and responses[1].status == 200,
                   "an HTTP/1.1 response without Connection: close, but the next pipelined "
                   "request was not answered (RFC 9112 9.6: a server that does not support "
                   "persistent connections MUST send the close option in every response)")
    elif not conn.read_until_close(timeout=READ):
        ctx.fail(f"the response said the connection closes, but it stayed open {READ:g}s")
    conn.close()
    rid = ctx.new_rid()
    conn, responses, marker = _pipeline(ctx, _request(ctx, "GET", "/desync/keep10", rid,
                                                      version="HTTP/1.0"), "GET")
    conn.close()
    if ctx.journal.for_rid(marker) and responses and not responses[0].keeps_alive():
        ctx.fail("after an HTTP/1.0 request without keep-alive the server served the next "
                 "request on the same connection without announcing keep-alive")


@check(id="http-connection.pipelining-order", title="pipelined requests are answered in order",
       requirements=["HTTP-14"], level=Level.MUST, interfaces=BOTH, via=DIRECT,
       section="RFC 9112 9.3.2")
def pipelining_order(ctx: CheckContext) -> None:
    """RFC 9112 9.3.2: "A server MAY process a sequence of pipelined requests in parallel if
    they all have safe methods, but it MUST send the corresponding responses in the same order
    that the requests were received." Three requests in one write ask for 201, 202, 203."""
    data = b"".join(_request(ctx, "GET", f"/probe/framing-status?code={code}", ctx.new_rid())
                    for code in (201, 202, 203))
    conn = ctx.connect(timeout=READ + 1)
    conn.send(data)
    deadline = time.monotonic() + READ
    while not conn.eof and time.monotonic() < deadline:
        if len(parse_responses(bytes(conn.received), ["GET"] * 3, eof=False)) >= 3:
            break
        with contextlib.suppress(WireTimeout, OSError):
            conn.recv_some(deadline - time.monotonic())
    statuses = [r.status for r in parse_responses(bytes(conn.received), ["GET"] * 3,
                                                  eof=conn.eof)]
    conn.close()
    ctx.expect(bool(statuses) and statuses == [201, 202, 203][: len(statuses)],
               f"pipelined requests for 201, 202, 203 were answered {statuses}")
    if len(statuses) < 3 and not conn.eof:
        ctx.fail(f"only {len(statuses)} of 3 pipelined requests answered and the connection "
                 "was left open")


@check(id="http-connection.close", title="Connection: close is answered, then the connection "
       "closes and later requests are not processed", requirements=["HTTP-15"],
       level=Level.MUST, interfaces=BOTH, via=DIRECT, section="RFC 9112 9.6")
def connection_close(ctx: CheckContext) -> None:
    """RFC 9112 9.6: "A server that receives a "close" connection option MUST initiate closure
    of the connection after it sends the final response to the request that contained the
    "close" connection option. The server SHOULD send a "close" connection option in its final
    response on that connection. The server MUST NOT process any further requests received on
    that connection." """
    rid = ctx.new_rid()
    conn, responses, marker = _pipeline(
        ctx, _request(ctx, "GET", "/desync/close", rid, extra=b"Connection: close\r\n"), "GET")
    with contextlib.suppress(WireTimeout, OSError):
        conn.read_until_close(timeout=READ)
    # Pipelining after "close" breaks the client's own MUST NOT (9.6), so any answer to the
    # first request is acceptable; only what happens to the second is judged.
    ctx.expect(not ctx.journal.for_rid(marker),
               "the request pipelined after Connection: close was processed by the app")
    ctx.expect(len(responses) < 2, "the request after Connection: close was answered")
    ctx.expect(conn.eof, f"the server did not close the connection within {READ:g}s")
    tokens = b",".join(responses[0].header_all("connection")).lower() if responses else b""
    if responses and b"close" not in tokens and responses[0].version == "HTTP/1.1":
        ctx.warn("the final response did not carry Connection: close (RFC 9112 9.6 SHOULD)")


@check(id="http-connection.date", title="responses carry a valid Date header",
       requirements=["HTTP-17"], level=Level.SHOULD, interfaces=BOTH, via=DIRECT,
       section="RFC 9110 6.6.1")
def date_header(ctx: CheckContext) -> None:
    """RFC 9110 6.6.1: "An origin server with a clock (as defined in Section 5.6.7) MUST
    generate a Date header field in all 2xx (Successful), 3xx (Redirection), and 4xx (Client
    Error) responses". The catalogue rates this SHOULD (the WSGI/ASGI app, not only the server,
    is the origin), so its absence warns; the value must be an IMF-fixdate."""
    response = ctx.request("GET", "/desync/date").response
    values = response.header_all("date")
    ctx.expect(len(values) == 1, f"the 200 response has {len(values)} Date field(s)")
    ctx.expect(email.utils.parsedate_to_datetime(values[0].decode("latin-1")) is not None
               and values[0].endswith(b" GMT"), f"Date {values[0]!r} is not an IMF-fixdate")


# The framing of the invalid request is intact (its head ended), so keeping the connection open
# after a 400 breaks only RFC 9112 2.2's SHOULD; serving the bad request is the same SHOULD.
INVALID_SECTION = "RFC 9112 2.2 (SHOULD respond with 400 and close the connection)"
_INVALID = {"accept": SHOULD_NOT, "keep_open": MAY, "reject_keep_open": SHOULD_NOT}
INVALID_CASES = [
    Case("field line without a colon", get(b"NoColonHere\r\n"), INVALID_SECTION, **_INVALID),
    Case("request-line with an extra word",
         lambda p: b"GET /probe/read-all?case=invalid HTTP/1.1 extra\r\n" + p.base + b"\r\n",
         INVALID_SECTION, **_INVALID),
    Case("lower-case protocol name",
         lambda p: b"GET /desync/invalid http/1.1\r\n" + p.base + b"\r\n", INVALID_SECTION,
         **_INVALID),
    Case("method with a control character", get(b"", method=b"G\x01T"), INVALID_SECTION,
         **_INVALID),
]


@check(id="http-connection.invalid-then-valid", title="after rejecting an invalid request the "
       "pipelined valid one is not served", requirements=["HTTP-18"], level=Level.SHOULD,
       interfaces=BOTH, via=DIRECT, section="RFC 9112 2.2")
def invalid_then_valid(ctx: CheckContext) -> None:
    """RFC 9112 2.2: "When a server listening only for HTTP request messages ... receives a
    sequence of octets that does not match the HTTP-message grammar aside from the robustness
    exceptions listed above, the server SHOULD respond with a 400 (Bad Request) response and
    close the connection." A pipelined valid request after the invalid one must not be served.
    """
    run_cases(ctx, INVALID_CASES)
