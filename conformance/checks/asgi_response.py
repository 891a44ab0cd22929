"""ASGI response events as they reach the wire (asgi-www.rst "Response Start", "Response
Body"; asgi.rst "Error Handling"; RFC 9110 / RFC 9112 for what a response without a body is).

The probe app (``/probe/respond?case=...``, conformance/probes/asgi_respond.py) sends the
events; the client reads the bytes. Where a response could leave stray bytes behind, a
pipelined follow-up request on the same connection shows whether the server desynchronised.
"""

from __future__ import annotations

from conformance.catalogue import check
from conformance.context import CheckContext
from conformance.probes.asgi_respond import MARKER
from conformance.verdicts import Level
from conformance.wire import Connection, Response, request_bytes

ASGI = ("asgi",)
FOLLOW_UP_BODY = b"ready\n"


def _pipelined(ctx: CheckContext, method: str, target: str,
               rid: str) -> tuple[Connection, Response, Response | None]:
    """Send ``method target`` and a follow-up GET /probe/ready in one write; both responses
    (the second None when the server closed after the first, which is valid framing)."""
    first = request_bytes(method, target, ctx.base_headers(rid))
    follow = request_bytes("GET", "/probe/ready", [("Host", f"{ctx.host}:{ctx.port}"),
                                                   ("Connection", "close")])
    conn = ctx.connect()
    conn.send(first + follow)
    response = conn.read_response(method=method, timeout=5.0)
    second = None
    if response.complete and response.keeps_alive() and not conn.eof:
        second = conn.read_response(timeout=5.0)
    elif response.complete and not conn.eof:
        conn.read_until_close(timeout=2.0)
    return conn, response, second


def _follow_up_ok(ctx: CheckContext, label: str, conn: Connection, first: Response,
                  second: Response | None) -> None:
    ctx.expect(MARKER not in bytes(conn.received),
               f"{label}: bytes the app sent where none are allowed reached the client")
    if second is not None and not (second.status == 0 and not second.raw and conn.eof):
        # (A server may close instead of answering the pipelined request: no desync.)
        ctx.expect(second.status == 200 and second.body == FOLLOW_UP_BODY,
                   f"{label}: the pipelined follow-up request got a garbled response "
                   f"(status {second.status}, body {second.body[:60]!r}, "
                   f"problems {second.problems}): the connection desynchronised")


@check(
    id="asgi-http.app-transfer-encoding",
    title="an app-sent Transfer-Encoding is ignored; the response has exactly one valid framing",
    requirements=["ASGI-HTTP-06"],
    level=Level.MUST,
    interfaces=ASGI,
    section="asgi-www.rst 'Response Start - send event'; RFC 9112 6.1, 6.3",
)
def app_transfer_encoding(ctx: CheckContext) -> None:
    """asgi-www.rst, Response Start: "You may send a Transfer-Encoding header in this
    message, but the server must ignore it. Servers handle Transfer-Encoding themselves, and
    may opt to use Transfer-Encoding: chunked if the application presents a response that has
    no Content-Length set." The app sends ``transfer-encoding: chunked`` (once alone, once
    with a matching ``content-length``) and two plain body events; the response must carry one
    valid framing (RFC 9112 6.3: not Transfer-Encoding and Content-Length together, not
    chunked twice) whose decoded body is exactly the app's bytes, and a pipelined request
    after it must still be answered correctly."""
    for case, label in (("app-te", "Transfer-Encoding"),
                        ("app-te-cl", "Transfer-Encoding and Content-Length")):
        rid = ctx.new_rid()
        conn, response, second = _pipelined(ctx, "GET", f"/probe/respond?case={case}", rid)
        label = f"app sent {label}"
        ctx.expect(response.status == 200,
                   f"{label}: the server answered {response.status or 'nothing'}")
        ctx.expect(not response.problems,
                   f"{label}: the response is badly framed: {response.problems}")
        codings = [c.strip().lower() for v in response.header_all("transfer-encoding")
                   for c in v.split(b",")]
        ctx.expect(codings.count(b"chunked") <= 1,
                   f"{label}: Transfer-Encoding lists chunked more than once: {codings!r}")
        ctx.expect(response.body == b"part-one;part-two",
                   f"{label}: the decoded body is {response.body[:80]!r}, not the app's "
                   "b'part-one;part-two'")
        _follow_up_ok(ctx, f"after a response whose {label}", conn, response, second)


@check(
    id="asgi-http.nothing-after-final-body",
    title="a body sent after the final http.response.body never reaches the wire",
    requirements=["ASGI-HTTP-07"],
    level=Level.MUST,
    interfaces=ASGI,
    section="asgi-www.rst 'Response Body - send event' (more_body)",
)
def nothing_after_final_body(ctx: CheckContext) -> None:
    """asgi-www.rst, Response Body: with ``more_body`` False the "response will be taken as
    complete and closed, and any further messages on the channel will be ignored". The app
    sends a complete response and then one more body event; those bytes must not appear on
    the wire, and a pipelined follow-up request must get its own, intact response."""
    rid = ctx.new_rid()
    conn, response, second = _pipelined(ctx, "GET", "/probe/respond?case=after-final", rid)
    ctx.expect(response.status == 200 and response.body == b"final\n",
               f"the response is {response.status} {response.body[:60]!r}, not 200 b'final\\n'")
    ctx.observed(rid, "send-result")
    _follow_up_ok(ctx, "after a body sent past the final one", conn, response, second)


INVALID_WAIT = 2.0
INVALID_KINDS = ("unknown-type", "body-before-start", "start-twice", "str-header", "crlf-header")


@check(
    id="asgi-http.invalid-events",
    title="invalid send() events raise (or end the connection) and never reach the wire",
    requirements=["ASGI-HTTP-08"],
    level=Level.SHOULD,
    interfaces=ASGI,
    section="asgi.rst 'Error Handling'",
)
def invalid_events(ctx: CheckContext) -> None:
    """asgi.rst, Error Handling: "If a server receives an invalid event dictionary - for
    example, having an unknown type, missing keys an event type should have, or with wrong
    Python types for objects (e.g. Unicode strings for HTTP headers) - it should raise an
    exception out of the send awaitable back to the application." Five invalid events: an
    unknown type, a body before the start, a second start, a str header value, a header
    value with CR LF (RFC 9110 5.5: CR and LF are not allowed in a field value). Each must
    make send() raise (or the server end the connection), and its bytes must not reach the
    client. A should: a warn."""
    problems: list[str] = []
    for kind in INVALID_KINDS:
        rid = ctx.new_rid()
        conn = ctx.connect()
        conn.send(request_bytes("GET", f"/probe/respond?case=invalid&kind={kind}",
                                ctx.base_headers(rid) + [("Connection", "close")]))
        # Short bounds: a correct server answers (or aborts) at once; a server that leaves
        # the connection hanging must not cost more than a few seconds per case.
        response = conn.read_response(timeout=INVALID_WAIT)
        conn.read_until_close(timeout=INVALID_WAIT / 2)
        result = ctx.journal.wait_event(rid, "send-result", timeout=INVALID_WAIT)
        raised = bool(result and result["raised"])
        received = bytes(conn.received)
        if kind == "crlf-header" and (b"\n" + MARKER) in received:
            # A server may sanitise CR LF to spaces (the value then stays one field); a line
            # of its own is a header injected into the response.
            problems.append(f"{kind}: the CR LF reached the wire and injected a header line")
        elif kind != "crlf-header" and MARKER in received:
            problems.append(f"{kind}: the invalid event's bytes reached the client")
        if not raised and response.complete and response.status < 500:
            problems.append(f"{kind}: send() accepted the event and the response completed "
                            f"normally ({response.status})")
    if problems:
        ctx.fail("; ".join(problems))


@check(
    id="asgi-http.app-exception",
    title="an app exception never looks like success: 500 before start, abort after start",
    requirements=["ASGI-HTTP-09"],
    level=Level.MUST,
    interfaces=ASGI,
    section="asgi.rst 'Error Handling'",
)
def app_exception(ctx: CheckContext) -> None:
    """asgi.rst, Error Handling: "Servers are free to surface errors that bubble up out of
    application instances they are running however they wish ... but they must terminate the
    application instance and its associated connection if this happens." An app that raises
    before http.response.start must not get a successful response: a 5xx (the usual 500) or
    the connection closed with nothing (reported as info: the spec names no status). After
    the start the status is already on the wire: the server must not complete the response
    as if it succeeded (the body was promised 100 bytes and got 8) but abort the connection.
    An app that returns without sending any response is not covered by a spec sentence: a
    5xx passes, anything else is reported as info."""
    notes: list[str] = []
    exchange = ctx.request("GET", "/probe/respond?case=raise-before-start")
    status = exchange.response.status
    if status == 0 and exchange.connection.eof:
        notes.append("raise-before-start: the server closed the connection without a response")
    else:
        ctx.expect(500 <= status < 600,
                   f"raise-before-start: the server answered {status or 'nothing'}, not 5xx")
    rid = ctx.new_rid()
    conn = ctx.connect()
    conn.send(request_bytes("GET", "/probe/respond?case=raise-after-start", ctx.base_headers(rid)))
    ctx.expect(conn.read_until(b"partial", timeout=5.0), "the response never started")
    ctx.expect(conn.read_until_close(timeout=5.0),
               "after the app raised mid-response the server kept the connection open "
               "for 5 s instead of aborting it")
    response = conn.read_response(timeout=0.1)
    ctx.expect(not response.complete,
               "after the app raised mid-response the response arrived complete: the client "
               "cannot tell the failure from success")
    exchange = ctx.request("GET", "/probe/respond?case=no-response", timeout=3.0)
    status = exchange.response.status
    if not 500 <= status < 600:
        notes.append("no-response: the app returned without responding and the server "
                     + (f"answered {status}" if status else
                        "closed the connection without a response" if exchange.connection.eof
                        else "sent nothing within 3 s, leaving the connection open"))
    if notes:
        ctx.info("; ".join(notes))


@check(
    id="asgi-http.no-body-responses",
    title="HEAD, 204 and 304 responses carry no body even when the app sends one",
    requirements=["ASGI-HTTP-10"],
    level=Level.MUST,
    interfaces=ASGI,
    section="RFC 9110 9.3.2, 15.3.5, 15.4.5; RFC 9112 6.3; asgi-www.rst 'Response Body'",
)
def no_body_responses(ctx: CheckContext) -> None:
    """RFC 9110 9.3.2: "The server SHOULD send the same header fields in response to a HEAD
    request as it would have sent if the request method had been GET. However, a server MAY
    omit header fields for which a value is determined only while generating the content";
    the response to HEAD, and every 204 and 304 response, "cannot contain content" (RFC 9112
    6.3; RFC 9110 15.3.5, 15.4.5), and "A server MUST NOT send a Content-Length header field
    in any response with a status code of 1xx or 204" (RFC 9110 8.6), nor Transfer-Encoding
    (RFC 9112 6.1). The app sends a body anyway; the server must drop it, and a pipelined
    follow-up request shows any stray bytes as a desynchronised connection."""
    for method, status in (("HEAD", 200), ("GET", 204), ("GET", 304)):
        label = f"{method} answered {status}"
        rid = ctx.new_rid()
        conn, response, second = _pipelined(
            ctx, method, f"/probe/respond?case=with-body&status={status}", rid)
        ctx.expect(response.status == status,
                   f"{label}: the server answered {response.status or 'nothing'}")
        _follow_up_ok(ctx, label, conn, response, second)
        if status == 204:
            framing = [n for n, _ in response.headers
                       if n.lower() in (b"content-length", b"transfer-encoding")]
            ctx.expect(not framing, f"{label}: the 204 response carries {framing!r}")
